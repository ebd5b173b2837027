/* src/core/internal.h: the contract between the core (loop, timers, handle
 * bookkeeping, the backend-independent halves of TCP/UDP/DNS) and a backend
 * (src/backend/wasip2, src/backend/posix).
 *
 * Implementation notes
 * - Exactly one backend is compiled into a library. It provides "backend.h"
 *   (found through -Isrc/backend/<name>) defining the per-loop state
 *   wasio__backend_loop_t and the backend's part of each handle,
 *   wasio__backend_tcp_t, _udp_t, _dns_t, embedded below as ->b, so the
 *   core never allocates for a backend. The handles and everything a user
 *   can observe of them are the core's (src/core/tcp.c, udp.c, dns.c); the
 *   backend implements the wasio__bk_* functions declared here.
 * - Handles are library-allocated. The common header wasio__handle_t comes
 *   first in every handle, so a handle pointer converts to it.
 * - A handle is "active" while it has something pending (a running timer, a
 *   connect, a read, queued writes, a listener, a DNS lookup). The loop is
 *   alive while any handle is active or deferred/close callbacks are queued.
 * - Timeouts of connect, idle and DNS are timer nodes in the same min-heap as
 *   user timers; the node's kind selects the callback with a switch.
 * - All heap memory goes through wasio__malloc/wasio__free so the loop can
 *   count allocations (the benchmarks assert zero per steady-state turn)
 *   and the native test build can make any one of them fail (the
 *   allocation-failure tests, tests/unit/alloc_fail.c).
 */
#ifndef WASIO_CORE_INTERNAL_H
#define WASIO_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "wasio.h"

#define WASIO__CONTAINER_OF(ptr, type, member) \
  ((type *)((char *)(ptr) - offsetof(type, member)))

/* ---- checkable state --------------------------------------------------------- */
/* WASIO_ASSERT(cond): an invariant. Compiled in with -DWASIO_DEBUG (the
 * native test build, under the sanitizers), where a false one prints the
 * condition and its place and aborts; nothing at all otherwise. */
#ifdef WASIO_DEBUG
__attribute__((noreturn)) void wasio__assert_fail(const char *cond, const char *file, int line);
#define WASIO_ASSERT(cond) ((cond) ? (void)0 : wasio__assert_fail(#cond, __FILE__, __LINE__))
#else
#define WASIO_ASSERT(cond) ((void)0)
#endif
/* WASIO__TRACE(handle, fmt, ...): one line per state change on stderr,
 * "wasio: KIND@ADDRESS: ...", with -DWASIO_TRACE (a build for following a
 * handle through its life); compiled out otherwise, arguments included. */
#ifdef WASIO_TRACE
void wasio__trace(const void *handle, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define WASIO__TRACE(h, kind, ...) wasio__trace((h), (kind), __VA_ARGS__)
#else
#define WASIO__TRACE(h, kind, ...) ((void)0)
#endif

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
#ifdef WASIO_DEBUG
/* Fault injection, for the allocation-failure tests only (the WASIO_DEBUG
 * build: the native tests): the `n`th counted allocation of the calling
 * thread from now on (1: the next one) returns NULL, and with `and_after`
 * every one after it too (memory has run out for good); without, the
 * ones after it succeed again. n = 0 cancels failures still to come. */
void wasio__alloc_fail_nth(uint64_t n, bool and_after);
#endif

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

/* ---- the pending list and the per-turn budget ------------------------------ */
/* A handle with work that needs no waiting (a write queued outside phase
 * 3, an outcome known when an operation started, callbacks over the turn's
 * budget) joins the loop's pending list; phase 3 drains it before the wait
 * (which then does not block) and after the dispatch. A drain handles what
 * was queued when it began, so work queued meanwhile waits for the next. */
typedef enum wasio__pending_kind {
  WASIO__PENDING_TCP = 1,
  WASIO__PENDING_UDP,
  WASIO__PENDING_DNS
} wasio__pending_kind_t;

typedef struct wasio__pending {
  struct wasio__pending *prev, *next; /* NULL when not queued */
  uint8_t kind;                       /* wasio__pending_kind_t */
} wasio__pending_t;

/* The I/O callbacks one handle has had this turn (at most
 * WASIO_IO_CALLBACKS_PER_TURN: wasio/loop.h). */
typedef struct wasio__budget {
  uint64_t turn;
  uint32_t used;
} wasio__budget_t;

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
  /* A protocol bound to the host serves requests on this loop and no
   * request is in progress (src/http/server_host.c): a run hands control
   * back to the host instead of waiting (wasio__loop_set_yield). */
  bool yield_idle;
  uint64_t yield_deadline; /* what the last yielding turn would have waited for */
  wasio_loop_stats_t stats;
  uint8_t *read_buf;                 /* WASIO_READ_BUF_SIZE bytes */
  wasio__pending_t pending;          /* sentinel of the pending list */
  /* Waits the backend keeps for no handle (HTTP through the host:
   * src/core/http_host.h): each keeps the loop alive as an active handle
   * does (wasio__loop_hold). */
  size_t held;
  wasio__backend_loop_t backend;
};

/* While `on`, wasio_loop_run returns 0 instead of waiting for I/O: the
 * host, not the loop, decides when the component runs again (a server
 * bound to the host's incoming-handler, between its requests; wasio/http.h
 * documents what a program sees). */
void wasio__loop_set_yield(wasio_loop_t *loop, bool on);
/* Whether the loop has work left (what wasio_loop_run's result says when
 * it does not yield). */
bool wasio__loop_alive(const wasio_loop_t *loop);
/* The deadline the last turn that yielded would have waited for (0: none
 * earlier than forever); a backend that hands the wait to the host arms
 * it (src/backend/wasip3/http_incoming.c). */
uint64_t wasio__loop_yield_deadline(const wasio_loop_t *loop);

/* A wait that belongs to no handle starts (+1) or ends (-1): while any is
 * held the loop is alive and phase 3 may block for it. */
static inline void wasio__loop_hold(wasio_loop_t *loop, int delta) {
  loop->held = (size_t)((ptrdiff_t)loop->held + delta);
}

void wasio__pending_init(wasio__pending_t *p, wasio__pending_kind_t kind);
/* Queues p (no-op if queued). */
void wasio__pending_add(wasio_loop_t *loop, wasio__pending_t *p);
/* Unqueues p (no-op if not queued); safe from any phase. */
void wasio__pending_remove(wasio__pending_t *p);
/* Runs what was queued when it began; returns true if there was any. */
bool wasio__pending_drain(wasio_loop_t *loop);
/* True while `b` may run one more I/O callback this turn (and counts it). */
bool wasio__budget_take(wasio_loop_t *loop, wasio__budget_t *b);

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
 * callback. The core drains the pending list before it (and then does not
 * wait) and after the dispatch. It asks for UINT64_MAX only when some
 * handle is active.
 * Returns true if the call may have blocked (so the loop time is stale),
 * false if it certainly returned at once. Increments loop->stats.polls per
 * wait.
 *
 * wasio__backend_dispatch then runs the I/O callbacks of what the wait
 * found ready (and work they queued that must not wait a turn). */
bool wasio__backend_wait(wasio_loop_t *loop, uint64_t deadline);
void wasio__backend_dispatch(wasio_loop_t *loop);
uint64_t wasio__backend_monotonic_ns(void);

/* Phase 4 of a closed handle: the callbacks its close canceled (a connect,
 * writes, a shutdown, sends), each once, before the handle's close callback
 * (wasio.h: cancellations are never run from inside the close call). */
void wasio__tcp_closed(wasio_tcp_t *tcp);
void wasio__udp_closed(wasio_udp_t *udp);
/* Free functions the core calls in phase 4 after the close callback,
 * before freeing the handle memory. */
void wasio__tcp_free(wasio_tcp_t *tcp);
void wasio__udp_free(wasio_udp_t *udp);
void wasio__dns_free(wasio_dns_t *dns);
/* Timer dispatch for internal timer kinds. */
void wasio__tcp_on_timer(wasio__timer_node_t *node);
void wasio__dns_on_timer(wasio__timer_node_t *node);

/* ---- TCP: the handle (the core's policy) and the backend's narrow part -----
 *
 * src/core/tcp.c implements all of wasio/tcp.h once: argument and state
 * checks, the write queue and its completion, reading into the caller's
 * buffers, shutdown ordering, the connect deadline, the idle timeout, the
 * accept pause, the per-turn callback budget and the cancellations on
 * close. A backend only moves bytes and waits, through the wasio__bk_tcp_*
 * functions below, and reports readiness with wasio__tcp_ready(). Its
 * per-handle state is wasio__backend_tcp_t (its backend.h), embedded as
 * tcp->b. */
typedef enum wasio__tcp_state {
  WASIO__TCP_NEW = 0,    /* no socket, or one that is only created */
  WASIO__TCP_BOUND,      /* bound, not listening */
  WASIO__TCP_CONNECTING,
  WASIO__TCP_CONNECTED,
  WASIO__TCP_LISTENING,
  WASIO__TCP_UPGRADING,  /* the host's TLS has the streams: its handshake runs
                            (wasio_tls_host_connect; below) */
  WASIO__TCP_CLOSED      /* wasio_tcp_close ran: everything released */
} wasio__tcp_state_t;

/* What a handle waits for (wasio__bk_tcp_want) and what is ready
 * (wasio__tcp_ready). CONN is the socket itself: a connect finishing, or a
 * connection to accept. */
enum {
  WASIO__IO_READ = 1 << 0,
  WASIO__IO_WRITE = 1 << 1,
  WASIO__IO_CONN = 1 << 2
};

/* One piece of a gathered write. */
typedef struct wasio__iov {
  const uint8_t *base;
  size_t len;
} wasio__iov_t;

struct wasio__connect_host;
struct wasio_tcp {
  wasio__handle_t h;                /* must be first */
  struct wasio__connect_host *ch;   /* non-NULL during wasio_tcp_connect_host */
  wasio__pending_t pending;
  wasio__budget_t budget;
  uint8_t state;                    /* wasio__tcp_state_t */
  uint8_t family;                   /* wasio_family_t of the socket; 0 without one */
  uint16_t flags;                   /* WASIO__TCPF_* (tcp.c) */
  int write_err;                    /* sticky: the stream failed; later writes fail with it */
  int connect_status;               /* an outcome known when the connect started */
  wasio_connect_cb connect_cb;
  wasio_connection_cb connection_cb;
  wasio_alloc_cb alloc_cb;
  wasio_read_cb read_cb;
  wasio_buf_t spare;                /* an alloc_cb buffer a read returned unused */
  wasio_shutdown_cb shutdown_cb;
  /* Writes not yet wholly taken by the backend, then writes taken (or
   * failed) whose callbacks are still to run; both in order. */
  wasio_write_t *wq_head, *wq_tail;
  wasio_write_t *done_head, *done_tail;
  size_t wq_bytes;                  /* bytes of wq not yet taken */
  /* One timer node: the connect deadline while connecting; the idle
   * timeout and a slow shutdown's deadline while connected; the accept
   * pause of a listener. */
  wasio__timer_node_t timer;
  uint64_t idle_ns;
  uint64_t last_active;             /* when the last byte moved or a wait began */
  uint64_t shutdown_due;            /* while a shutdown waits on the backend */
  uint64_t keepalive_idle_ns;
  struct wasio_tcp *spare_client;   /* a listener's memory for its next accept */
  wasio_connect_cb cancel_connect_cb; /* closed while connecting: owed ECANCELED in phase 4 */
#ifdef WASIO__BK_HOST_TLS
  struct wasio_tls_host *host_tls;  /* the host TLS handle that owns this one, or NULL */
#endif
  wasio__backend_tcp_t b;
};

/* ---- write requests: the FIFO that TCP and the TLS stream both keep ---------- */
/* Fills the caller's request for a write of base[0..len); `owner` is the
 * TCP handle it is queued on (NULL: another stream's queue). */
static inline void wasio__write_init(wasio_write_t *req, wasio_tcp_t *owner, const void *base, size_t len,
                                     wasio_write_cb cb) {
  req->wasio__next = NULL;
  req->wasio__tcp = owner;
  req->wasio__base = base;
  req->wasio__len = len;
  req->wasio__done = 0;
  req->wasio__cb = cb;
}
/* Whether req is in the list from head (a request is queued once). */
static inline bool wasio__write_listed(const wasio_write_t *head, const wasio_write_t *req) {
  for (const wasio_write_t *w = head; w != NULL; w = w->wasio__next)
    if (w == req) return true;
  return false;
}
static inline void wasio__write_append(wasio_write_t **head, wasio_write_t **tail, wasio_write_t *req) {
  req->wasio__next = NULL;
  if (*tail != NULL) (*tail)->wasio__next = req;
  else *head = req;
  *tail = req;
}
/* Takes the first request off the list (which is not empty). */
static inline wasio_write_t *wasio__write_shift(wasio_write_t **head, wasio_write_t **tail) {
  wasio_write_t *req = *head;
  *head = req->wasio__next;
  if (*head == NULL) *tail = NULL;
  req->wasio__next = NULL;
  return req;
}

/* Flags the backend reads (the rest are tcp.c's). */
enum {
  WASIO__TCPF_KA_SET = 1 << 0,      /* the user chose keep-alive options */
  WASIO__TCPF_KA_ON = 1 << 1        /* ... and turned it on (keepalive_idle_ns) */
};

/* What each backend implements for TCP. Unless said otherwise they return
 * 0 or a WASIO_E* code, never call a user callback, and are called only on
 * a handle that is not closing. */
/* Initializes tcp->b of fresh (zeroed) memory: no socket. */
void wasio__bk_tcp_init(wasio_tcp_t *tcp);
/* Creates the socket for `family` (the core creates one per handle, when
 * first needed) and applies the keep-alive options. */
int wasio__bk_tcp_socket(wasio_tcp_t *tcp, uint8_t family);
int wasio__bk_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr);
int wasio__bk_tcp_listen(wasio_tcp_t *tcp, int backlog);
/* Starts connecting: 0 when the outcome comes later (the core waits for
 * WASIO__IO_CONN, then asks wasio__bk_tcp_connect_result), 1 when already
 * connected, or the failure, known at once (the core reports it through
 * the callback all the same: never from inside wasio_tcp_connect). */
int wasio__bk_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr);
/* After WASIO__IO_CONN: 0 connected, WASIO_EAGAIN not yet, or the failure. */
int wasio__bk_tcp_connect_result(wasio_tcp_t *tcp);
/* Accepts one connection into `client` (initialized with
 * wasio__bk_tcp_init, its handle not yet): 0, WASIO_EAGAIN (none waiting)
 * or the failure. */
int wasio__bk_tcp_accept(wasio_tcp_t *server, wasio_tcp_t *client);
/* Reads at most len bytes into buf: > 0 bytes read, 0 nothing now,
 * WASIO_EOF, or the failure. */
ptrdiff_t wasio__bk_tcp_read(wasio_tcp_t *tcp, void *buf, size_t len);
/* Whether a read that returned fewer bytes than asked is worth following
 * with another at once (true where the host's readiness stays set until a
 * read comes back empty: see the wasip2 backend). */
bool wasio__bk_tcp_read_on(const wasio_tcp_t *tcp);
/* Hands the stream what it takes of iov[0..n), in order: the byte count
 * taken (0 when it takes nothing now: the core then waits for
 * WASIO__IO_WRITE), or the failure. `more`: the core is inside this
 * handle's dispatch and may send more before wasio__bk_tcp_push, so the
 * backend may hold small pieces back (MSG_MORE, a staging buffer); bytes
 * it holds count as taken. */
ptrdiff_t wasio__bk_tcp_send(wasio_tcp_t *tcp, const wasio__iov_t *iov, size_t n, bool more);
/* Sends what send held back. A failure loses those bytes (their requests
 * completed); the core then fails what is still queued. */
int wasio__bk_tcp_push(wasio_tcp_t *tcp);
/* Ends the sending side (after every write was taken and pushed): 0 done,
 * WASIO_EAGAIN in progress (the core waits for WASIO__IO_WRITE, then calls
 * again, at most until WASIO_TCP_SHUTDOWN_TIMEOUT_NS of wasio/tcp.h), or
 * the failure. */
int wasio__bk_tcp_shutdown(wasio_tcp_t *tcp);
/* Makes the backend wait for exactly `what` (WASIO__IO_* bits) on this
 * handle. Fails only for lack of memory (the old interest then stays). */
int wasio__bk_tcp_want(wasio_tcp_t *tcp, unsigned what);
/* Releases the socket and everything of it. `linger`: a connected handle
 * closing; bytes the stream took still reach the peer where the host needs
 * the backend to wait for that (never blocking). */
void wasio__bk_tcp_release(wasio_tcp_t *tcp, bool linger);
/* Applies tcp->flags' keep-alive choice to the socket, if there is one. */
int wasio__bk_tcp_keepalive(wasio_tcp_t *tcp);
/* The local (peer false) or remote address. */
int wasio__bk_tcp_addr(const wasio_tcp_t *tcp, bool peer, wasio_addr_t *out);

/* Called by the backend in phase 3 with what is ready (WASIO__IO_*). */
void wasio__tcp_ready(wasio_tcp_t *tcp, unsigned what);
/* The pending-list entries of each kind (the drain calls them). */
void wasio__tcp_on_pending(wasio_tcp_t *tcp);
void wasio__udp_on_pending(wasio_udp_t *udp);
void wasio__dns_on_pending(wasio_dns_t *dns);

/* ---- TCP upgraded to TLS by the host (wasio/tls_host.h) ----------------------
 * src/core/tls_host.c implements wasio/tls_host.h once. A backend whose
 * host can do TLS (the wasip2 backend with wasi:tls: the hosttls build)
 * defines WASIO__BK_HOST_TLS in its backend.h and implements the two
 * functions below; elsewhere the API reports WASIO_ENOTSUP.
 *
 * wasio_tls_host_connect() hands the streams of a connected, idle handle
 * to the host: the handle is UPGRADING (every wasio_tcp_* call but close
 * fails) until the handshake ends, CONNECTED again over the plaintext
 * streams the host gives back (reads, writes and the shutdown, whose
 * close_notify the backend sends, go through them as before), or NEW
 * without a socket after a failure. wasio__bk_tcp_release drops the TLS
 * resources (children first) with the socket, without lingering: the host
 * says nothing about when its bytes reached the peer. */
#ifdef WASIO__BK_HOST_TLS
/* Hands tcp's streams to the host's TLS for `name` (len bytes, checked)
 * and waits for the handshake: 0, then wasio__tcp_tls_ready() comes from
 * phase 3; or the failure (no memory to wait: the streams are gone, the
 * core releases the socket). */
int wasio__bk_tcp_tls_start(wasio_tcp_t *tcp, const char *name, size_t len);
/* After wasio__tcp_tls_ready(): WASIO_EAGAIN (not over yet), 0 (the
 * plaintext streams are the handle's own now), or the failure (a
 * WASIO_ETLS_* code; the host's words for it, NUL-terminated, in
 * msg[0..cap)). */
int wasio__bk_tcp_tls_result(wasio_tcp_t *tcp, char *msg, size_t cap);
/* Called by the backend in phase 3: the handshake may have ended. */
void wasio__tcp_tls_ready(wasio_tcp_t *tcp);
/* tcp.c: the moves into and out of UPGRADING (checks as
 * wasio_tls_host_connect documents; `status` is the handshake's). */
int wasio__tcp_upgrade_start(wasio_tcp_t *tcp, const char *name, size_t len);
void wasio__tcp_upgrade_end(wasio_tcp_t *tcp, int status);
#endif

/* wasio_tcp_connect_host is implemented once, in the core
 * (src/core/connect_host.c), on top of wasio_dns_resolve and
 * wasio_tcp_connect. What makes this work (src/core/tcp.c):
 * - after a connect fails (callback status < 0, other than ECANCELED from
 *   close), the handle is back in its unconnected state and
 *   wasio_tcp_connect may be called again on it, even from inside the
 *   failing connect's callback;
 * - wasio_tcp_close calls wasio__connect_host_cancel(tcp) first when
 *   tcp->ch is set, which ends the lookup/attempt and returns the user's
 *   callback, which close then owes WASIO_ECANCELED (in phase 4). */
wasio_connect_cb wasio__connect_host_cancel(wasio_tcp_t *tcp);
/* Returns 0 if wasio_tcp_connect could start on `tcp` now, else the error it
 * would return (WASIO_ESTATE when connecting, connected or listening;
 * WASIO_ECLOSING). connect_host asks before a lookup so that a handle in the
 * wrong state fails synchronously, as wasio_tcp_connect does. */
int wasio__tcp_connect_check(const wasio_tcp_t *tcp);

/* ---- UDP: the handle (src/core/udp.c) and the backend's part ----------------- */
struct wasio_udp {
  wasio__handle_t h;          /* must be first */
  wasio__pending_t pending;
  wasio__budget_t budget;
  uint8_t family;             /* of the socket; 0 before it exists */
  uint8_t flags;              /* WASIO__UDPF_* (udp.c) */
  wasio_addr_t peer;          /* connected mode */
  wasio_udp_recv_cb recv_cb;
  /* Sends not yet taken, then sends taken or refused whose callbacks are
   * due (the status travels in wasio__has_to, unused once sent). */
  wasio_udp_send_t *sq_head, *sq_tail;
  wasio_udp_send_t *done_head, *done_tail;
  size_t sq_len;              /* requests in both lists */
  wasio__backend_udp_t b;
};

void wasio__bk_udp_init(wasio_udp_t *udp);
/* Creates the socket for addr's family and binds it. On failure nothing
 * is left (the handle has no socket). */
int wasio__bk_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr);
/* Sends go to `peer` and only its datagrams are received (bound first). */
int wasio__bk_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer);
/* Hands the stream datagrams from req[0..n) in order: the count it took
 * (0 when none now: the core waits for WASIO__IO_WRITE), or the failure
 * of req[0] alone (the core fails that one and goes on). */
ptrdiff_t wasio__bk_udp_send(wasio_udp_t *udp, wasio_udp_send_t *const *req, size_t n);
/* One datagram into buf[0..cap) (cap holds the largest): its length, 0
 * for an empty one, WASIO_EAGAIN for none now, or the failure. */
ptrdiff_t wasio__bk_udp_recv(wasio_udp_t *udp, uint8_t *buf, size_t cap, wasio_addr_t *from);
int wasio__bk_udp_want(wasio_udp_t *udp, unsigned what);
void wasio__bk_udp_release(wasio_udp_t *udp);
int wasio__bk_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out);
/* Called by the backend in phase 3 with what is ready (WASIO__IO_*). */
void wasio__udp_ready(wasio_udp_t *udp, unsigned what);

/* ---- DNS: the request (src/core/dns.c) and the backend's lookup -------------- */
typedef enum wasio__dns_state {
  WASIO__DNS_RUNNING = 1, /* the backend is looking it up */
  WASIO__DNS_QUEUED,      /* the result is known and queued as pending */
  WASIO__DNS_FINISHED     /* the callback ran */
} wasio__dns_state_t;

struct wasio_dns {
  wasio__handle_t h;          /* must be first; h.data is the user's data */
  wasio__pending_t pending;
  wasio__timer_node_t timer;
  uint8_t state;              /* wasio__dns_state_t */
  int status;                 /* the result, once known */
  wasio_dns_cb cb;
  size_t count;               /* addresses found (the backend appends) */
  wasio_addr_t addrs[WASIO_DNS_MAX_ADDRS];
  wasio__backend_dns_t b;
};

void wasio__bk_dns_init(wasio_dns_t *dns);
/* Starts looking `name` up (never a numeric address: the core answers
 * those): 0, and wasio__dns_done() comes later, or the failure, known at
 * once (the core reports it through the callback all the same). */
int wasio__bk_dns_start(wasio_dns_t *dns, const char *name, size_t len);
/* Stops a lookup whose result is no longer wanted (canceled, timed out);
 * wasio__dns_done() must not come after it. */
void wasio__bk_dns_stop(wasio_dns_t *dns);
/* Called by the backend in phase 3: the lookup ended with `status`, its
 * addresses appended to dns->addrs (at most WASIO_DNS_MAX_ADDRS). */
void wasio__dns_done(wasio_dns_t *dns, int status);

/* ---- watchers on the C library's descriptors (src/core/poll.c) --------------
 * src/core/poll.c implements wasio/poll.h once: argument and state checks,
 * one open watcher per descriptor, the active count, the callback with the
 * ready subset and close. A backend only waits: the posix backend puts the
 * descriptor in its epoll set; the wasip2 backend asks the wasip2 libc for
 * the descriptor's pollables each turn and adds them to the loop's one
 * wasi:io/poll call. Either reports with wasio__poll_ready() from phase 3,
 * at most once per watcher and turn. */
struct wasio_poll {
  wasio__handle_t h;          /* must be first */
  int fd;
  uint8_t events;             /* WASIO_POLL_* started for; 0 when stopped */
  wasio_poll_cb cb;
  wasio__backend_poll_t b;
};

/* Whether `fd` is an open socket descriptor a watcher can wait on: 0,
 * WASIO_EINVAL (not open) or WASIO_ENOTSUP (not a socket, or one the
 * backend cannot wait on). */
int wasio__bk_poll_check(wasio_loop_t *loop, int fd);
/* Initializes p->b of fresh memory (p->fd and p->h are set). */
void wasio__bk_poll_init(wasio_poll_t *p);
/* Makes the backend wait for exactly `events` (WASIO_POLL_* bits; 0: for
 * nothing, which never fails, and after which the backend no longer
 * touches the descriptor). Returns 0 or the failure (the old interest then
 * stays). */
int wasio__bk_poll_want(wasio_poll_t *p, unsigned events);
/* Called by the backend in phase 3: the descriptor is ready for `events`
 * (WASIO_POLL_* bits; an error or a hang-up already turned into the
 * started events), or waiting on it failed (status < 0: the watcher stops). */
void wasio__poll_ready(wasio_poll_t *p, int status, unsigned events);

/* ---- accepting under resource exhaustion -------------------------------------- */
/* An accept that fails for lack of descriptors or memory fails again at
 * once: a listener that stayed ready would spin a core (issue 9). Every
 * listener whose accept failed pauses (it stops waiting), reports the error
 * once to the connection callback, and resumes after
 * WASIO_TCP_ACCEPT_PAUSE_NS (wasio/tcp.h), by which time connections may
 * have closed (src/core/tcp.c, on the listener's own timer node). Only a failure that concerns one
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
