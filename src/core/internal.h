/* src/core/internal.h: the contract between the core (loop, timers, handle
 * bookkeeping, the backend-independent halves of TCP/UDP/DNS) and a backend
 * (src/backend/wasip2, src/backend/posix).
 *
 * Implementation notes
 * - Exactly one backend is compiled into a library. It provides "backend.h"
 *   (found through -Isrc/backend/<name>) defining the per-loop state
 *   wasio__backend_loop_t and the per-handle state wasio__backend_tcp_t,
 *   wasio__backend_udp_t, wasio__backend_dns_t, embedded below, so the core
 *   never allocates for a backend.
 * - Handles are library-allocated. The common header wasio__handle_t comes
 *   first in every handle, so a handle pointer converts to it.
 * - A handle is "active" while it has something pending (a running timer, a
 *   connect, a read, queued writes, a listener, a DNS lookup). The loop is
 *   alive while any handle is active or deferred/close callbacks are queued.
 * - Timeouts of connect, idle and DNS are timer nodes in the same min-heap as
 *   user timers; the node's kind selects the callback with a switch.
 * - All heap memory goes through wasio__malloc/wasio__free so the loop can
 *   count allocations (the benchmarks assert zero per steady-state turn).
 */
#ifndef WASIO_CORE_INTERNAL_H
#define WASIO_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "wasio.h"

#define WASIO__CONTAINER_OF(ptr, type, member) \
  ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- allocation (counted) ------------------------------------------------ */
void *wasio__malloc(size_t n);
void *wasio__calloc(size_t n, size_t size);
void *wasio__realloc(void *p, size_t n);
void wasio__free(void *p);
/* Count of wasio__malloc/calloc/realloc calls and canonical-ABI heap
 * allocations made by the calling thread; the loop's stats report the
 * difference since the loop's creation. Per thread, because each loop runs
 * on one thread and loops on other threads must neither race on it nor
 * show up in this loop's figures. */
extern _Thread_local uint64_t wasio__alloc_count;

/* ---- timers -------------------------------------------------------------- */
typedef enum wasio__timer_kind {
  WASIO__TIMER_USER = 1,  /* a wasio_timer_t */
  WASIO__TIMER_TCP,       /* a TCP connect deadline or idle timeout */
  WASIO__TIMER_DNS        /* a DNS lookup deadline */
} wasio__timer_kind_t;

typedef struct wasio__timer_node {
  uint64_t due;       /* loop time, ns */
  uint64_t seq;       /* start order: ties run first-started first */
  size_t heap_idx;    /* WASIO__NOT_IN_HEAP when stopped */
  uint8_t kind;       /* wasio__timer_kind_t */
} wasio__timer_node_t;
#define WASIO__NOT_IN_HEAP ((size_t)-1)

void wasio__timer_node_init(wasio__timer_node_t *node, wasio__timer_kind_t kind);
/* Arms the node to fire at `due` (re-arms if armed). Returns 0 or ENOMEM. */
int wasio__timer_node_arm(wasio_loop_t *loop, wasio__timer_node_t *node, uint64_t due);
void wasio__timer_node_disarm(wasio_loop_t *loop, wasio__timer_node_t *node);
static inline bool wasio__timer_node_armed(const wasio__timer_node_t *n) {
  return n->heap_idx != WASIO__NOT_IN_HEAP;
}

/* ---- handles ------------------------------------------------------------- */
enum {
  WASIO__F_CLOSING = 1 << 0, /* close called; close callback pending */
  WASIO__F_ACTIVE = 1 << 1   /* counted in loop->active_handles */
};

typedef struct wasio__handle {
  struct wasio__handle *prev, *next; /* loop->handles (open handles) */
  struct wasio__handle *close_next;  /* loop closing queue */
  wasio_loop_t *loop;
  void *data;
  /* The user's typed close callback, cast; phase 4 casts it back by kind
   * before calling it (a call through another function type is undefined).
   * DNS handles have no close callback: the core ignores it for them. */
  void (*close_cb)(void *handle);
  uint8_t kind;                      /* wasio_handle_kind_t */
  uint8_t flags;
} wasio__handle_t;

void wasio__handle_init(wasio_loop_t *loop, wasio__handle_t *h, wasio_handle_kind_t kind);
void wasio__handle_set_active(wasio__handle_t *h, bool active);
static inline bool wasio__handle_closing(const wasio__handle_t *h) {
  return (h->flags & WASIO__F_CLOSING) != 0;
}
/* Marks closing and queues the close callback for phase 4, where the core
 * calls cb, then the kind's free function (wasio__tcp_free, ...), then
 * wasio__free. Idempotent: returns false if already closing. */
bool wasio__handle_close(wasio__handle_t *h, void (*cb)(void *handle));

/* ---- the loop ------------------------------------------------------------ */
#include "backend.h"

struct wasio_loop {
  uint64_t now;
  /* timer min-heap, keyed (due, seq) */
  wasio__timer_node_t **heap;
  size_t heap_len, heap_cap;
  uint64_t timer_seq;
  /* deferred callbacks (FIFO) */
  wasio_defer_t *defer_head, *defer_tail;
  /* handles */
  wasio__handle_t handles;           /* sentinel of a circular list */
  size_t open_handles;
  size_t active_handles;
  wasio__handle_t *closing_head, *closing_tail;
  int stop_flag;
  int running;
  wasio_loop_stats_t stats;
  uint8_t *read_buf;                 /* WASIO_READ_BUF_SIZE bytes */
  wasio__backend_loop_t backend;
};

/* ---- what each backend implements ----------------------------------------- */
int wasio__backend_init(wasio_loop_t *loop);
void wasio__backend_free(wasio_loop_t *loop);
/* Phase 3 is two calls, so that the core, not each backend, refreshes the
 * loop time between the wait and the callbacks (libuv does the same after
 * its poll): an I/O callback that runs after a long idle wait sees the time
 * of its event, and timers or timeouts it starts are not already expired.
 *
 * wasio__backend_wait waits until `deadline` (loop time, ns; 0 = do not
 * wait; UINT64_MAX = no deadline) and records what is ready, running no
 * callback of the ready set yet. It may first run work queued before the
 * wait (completions that need no I/O); if that ran callbacks it does not
 * block. The core asks for UINT64_MAX only when some handle is active.
 * Returns true if the call may have blocked (so the loop time is stale),
 * false if it certainly returned at once. Increments loop->stats.polls per
 * wait.
 *
 * wasio__backend_dispatch then runs the I/O callbacks of what the wait
 * found ready (and work they queued that must not wait a turn). */
bool wasio__backend_wait(wasio_loop_t *loop, uint64_t deadline);
void wasio__backend_dispatch(wasio_loop_t *loop);
uint64_t wasio__backend_monotonic_ns(void);

/* Free functions the core calls in phase 4 after the close callback,
 * before freeing the handle memory. */
void wasio__tcp_free(wasio_tcp_t *tcp);
void wasio__udp_free(wasio_udp_t *udp);
void wasio__dns_free(wasio_dns_t *dns);
/* Timer dispatch for internal timer kinds. */
void wasio__tcp_on_timer(wasio__timer_node_t *node);
void wasio__dns_on_timer(wasio__timer_node_t *node);

/* ---- TCP: the part every backend's struct wasio_tcp starts with ---------- */
struct wasio__connect_host;
typedef struct wasio__tcp_common {
  wasio__handle_t h;                /* must be first */
  struct wasio__connect_host *ch;   /* non-NULL during wasio_tcp_connect_host */
} wasio__tcp_common_t;

/* wasio_tcp_connect_host is implemented once, in the core
 * (src/core/connect_host.c), on top of wasio_dns_resolve and
 * wasio_tcp_connect. Backend contract that makes this work:
 * - after a connect fails (callback status < 0, other than ECANCELED from
 *   close), the handle is back in its unconnected state and
 *   wasio_tcp_connect may be called again on it, even from inside the
 *   failing connect's callback;
 * - wasio_tcp_close calls wasio__connect_host_cancel(tcp) first when
 *   common.ch is set, which ends the lookup/attempt and reports
 *   WASIO_ECANCELED to the user's callback. */
void wasio__connect_host_cancel(wasio_tcp_t *tcp);
/* Returns 0 if wasio_tcp_connect could start on `tcp` now, else the error it
 * would return (WASIO_ESTATE when connecting, connected or listening;
 * WASIO_ECLOSING). connect_host asks before a lookup so that a handle in the
 * wrong state fails synchronously, as wasio_tcp_connect does. */
int wasio__tcp_connect_check(const wasio_tcp_t *tcp);

/* ---- accepting under resource exhaustion -------------------------------------- */
/* An accept that fails for lack of descriptors or memory fails again at
 * once: a listener that stayed ready would spin a core (issue 9). Every
 * backend therefore pauses a listener whose accept failed (it stops waiting
 * on it), reports the error once to the connection callback, and resumes
 * after WASIO_TCP_ACCEPT_PAUSE_NS (wasio/tcp.h), by which time connections
 * may have closed. The pause uses the listener's own timer node, which a
 * listener has no other use for. Only a failure that concerns one
 * connection (it was aborted or reset before it was accepted) does not
 * pause: the next connection may be fine. Any other failure pauses, since
 * hosts do not all name exhaustion: wasmtime 49 reports an accept that
 * failed with EMFILE as `unknown` (WASIO_EIO). */
static inline bool wasio__accept_error_pauses(int status) {
  return status != WASIO_ECONNABORTED && status != WASIO_ECONNRESET;
}

/* ---- helpers shared by backends -------------------------------------------- */
/* Loop's read buffer for reads without an alloc callback. */
static inline uint8_t *wasio__read_buf(wasio_loop_t *loop) { return loop->read_buf; }

#endif
