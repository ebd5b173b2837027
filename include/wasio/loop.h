/* wasio/loop.h: the event loop, timers and deferred callbacks.
 *
 * One loop drives every handle of a component instance (or of a native
 * thread). It is single-threaded: call wasio functions only from the thread
 * that runs the loop, including from inside callbacks.
 *
 * Lifetime rule (the same for every handle kind): a handle is created by
 * wasio_*_new(), stays valid until its close callback has returned, and is
 * freed by the library right after that, so never touch it afterwards.
 *
 * One turn of wasio_loop_run(), in this order:
 *   1. update the cached time; run every timer due at that time (a timer that
 *      re-arms itself with 0 runs in the next turn, not this one);
 *   2. run the deferred callbacks queued before this phase started;
 *   3. run work queued without I/O (writes queued by the phases before, a
 *      result known when an operation started); wait for I/O (not at all if
 *      anything ran or deferred work is queued, until the earliest timer
 *      otherwise); update the cached time again; run the I/O callbacks that
 *      are ready, then the work they queued,
 *      each handle at most WASIO_IO_CALLBACKS_PER_TURN times per turn so a
 *      busy socket cannot starve the others;
 *   4. run close callbacks.
 */
#ifndef WASIO_LOOP_H
#define WASIO_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasio_loop wasio_loop_t;
typedef struct wasio_timer wasio_timer_t;
typedef struct wasio_defer wasio_defer_t;

/* Time values are nanoseconds on the monotonic clock. */
#define WASIO_NS_PER_MS 1000000ull
#define WASIO_NS_PER_S 1000000000ull
/* Pass as a timeout to mean "no timeout". */
#define WASIO_NO_TIMEOUT 0ull
/* Most I/O callbacks one handle gets in one turn (see the phases above). */
#define WASIO_IO_CALLBACKS_PER_TURN 16

typedef enum wasio_run_mode {
  WASIO_RUN_DEFAULT = 0, /* until no work is left or wasio_loop_stop() */
  WASIO_RUN_ONCE,        /* one turn; it waits for I/O (until the earliest
                            timer) only if no timer or deferred callback
                            ran in it, so each call makes progress */
  WASIO_RUN_NOWAIT       /* one turn, never waiting */
} wasio_run_mode_t;

typedef enum wasio_handle_kind {
  WASIO_KIND_TIMER = 1,
  WASIO_KIND_TCP,
  WASIO_KIND_UDP,
  WASIO_KIND_DNS,
  WASIO_KIND_POLL          /* a watcher on a descriptor (wasio/poll.h) */
} wasio_handle_kind_t;

/* Counters since wasio_loop_new(), for tests and benchmarks. */
typedef struct wasio_loop_stats {
  uint64_t turns;          /* completed turns of wasio_loop_run */
  uint64_t polls;          /* waits on the backend (wasi:io/poll or epoll) */
  uint64_t allocations;    /* heap allocations made by wasio, including the
                              canonical ABI's cabi_realloc calls that could
                              not be served from wasio's reused buffers */
  uint64_t pollables;      /* wasip2: pollables passed to poll(), summed */
} wasio_loop_stats_t;

/* Creates a loop. Returns 0 and sets *out, or WASIO_ENOMEM. */
int wasio_loop_new(wasio_loop_t **out);

/* Runs the loop in `mode`. Returns 1 if work remains (a stop, or the ONCE and
 * NOWAIT modes), 0 when no work is left, or WASIO_EBUSY if called from inside
 * a callback of the same loop (re-entry is refused, never nested). */
int wasio_loop_run(wasio_loop_t *loop, wasio_run_mode_t mode);

/* Makes wasio_loop_run return after the current turn. */
void wasio_loop_stop(wasio_loop_t *loop);

/* Frees the loop. Returns 0, or WASIO_EBUSY (and frees nothing) while
 * handles are open, close callbacks are pending, or an HTTP call through
 * the host (wasio/http.h's HOST transport) still waits; wasio_loop_walk()
 * lists the handles. NULL is a no-op returning 0. */
int wasio_loop_close(wasio_loop_t *loop);

/* Handles and requests that are open (not yet fully closed). */
size_t wasio_loop_open_handles(const wasio_loop_t *loop);

/* Calls fn once per open handle or request, with its kind and pointer. */
void wasio_loop_walk(wasio_loop_t *loop,
                     void (*fn)(wasio_handle_kind_t kind, void *handle, void *arg),
                     void *arg);

/* A static name for a kind ("timer", "tcp", ...). */
const char *wasio_kind_name(wasio_handle_kind_t kind);

/* The loop's cached time, in ns: read from the monotonic clock at the
 * start of each turn and again right after each wait for I/O, so that
 * callbacks see the time of their event, however long the wait was. */
uint64_t wasio_loop_now(const wasio_loop_t *loop);

/* Reads the monotonic clock into the cache and returns it. */
uint64_t wasio_loop_update_time(wasio_loop_t *loop);

/* Fills *out with the loop's counters (wasio_loop_stats_t). `allocations`
 * counts every allocation wasio made on this thread since the loop was
 * created, for any loop of the thread. Never fails. */
void wasio_loop_stats(const wasio_loop_t *loop, wasio_loop_stats_t *out);

/* ---- deferred callbacks ------------------------------------------------- */

typedef void (*wasio_defer_cb)(wasio_defer_t *req, int status);

/* A caller-owned request: keep it alive until its callback has run. Only
 * `data` is yours; the other fields are private. */
struct wasio_defer {
  void *data;
  wasio_defer_t *wasio__next;
  wasio_loop_t *wasio__loop;
  wasio_defer_cb wasio__cb;
  int wasio__queued;
};

/* Queues cb to run in phase 2 of the next turn with status 0. Returns 0, or
 * WASIO_EBUSY if `req` is already queued, WASIO_EINVAL for NULL cb. */
int wasio_defer(wasio_loop_t *loop, wasio_defer_t *req, wasio_defer_cb cb);

/* Cancels a queued request: its callback runs in the next turn with
 * WASIO_ECANCELED instead. Returns 0, or WASIO_EINVAL if it is not queued. */
int wasio_defer_cancel(wasio_defer_t *req);

/* ---- timers ------------------------------------------------------------ */

typedef void (*wasio_timer_cb)(wasio_timer_t *timer);
typedef void (*wasio_timer_close_cb)(wasio_timer_t *timer);

/* Creates a stopped timer. Returns 0 and sets *out, or WASIO_ENOMEM. */
int wasio_timer_new(wasio_loop_t *loop, wasio_timer_t **out);

/* (Re-)arms the timer: cb runs `timeout_ns` after the loop's time
 * (wasio_loop_now(): taken when the turn began and again after each wait
 * for I/O, so within one batch of callbacks it may lag the clock by the
 * time they took; call wasio_loop_update_time() first to count from the
 * clock itself), then every
 * `repeat_ns` if repeat_ns > 0. Starting an active timer re-arms it. Timers
 * due at the same time run in the order they were started. Returns 0, or
 * WASIO_EINVAL (NULL cb), WASIO_ECLOSING, WASIO_ENOMEM. */
int wasio_timer_start(wasio_timer_t *timer, wasio_timer_cb cb,
                      uint64_t timeout_ns, uint64_t repeat_ns);

/* Stops the timer; idempotent. Returns 0. */
int wasio_timer_stop(wasio_timer_t *timer);

/* True while the timer is started and not yet due for the last time (a
 * one-shot timer is no longer active when its callback runs; a repeating
 * one stays active until stopped or closed). */
bool wasio_timer_active(const wasio_timer_t *timer);
/* When the timer fires next (loop time, ns); 0 when stopped. */
uint64_t wasio_timer_due(const wasio_timer_t *timer);

/* The user's pointer of the handle (wasio_timer_set_data() sets it,
 * wasio_timer_data() returns it, NULL until set) and the handle's loop
 * (wasio_timer_loop()). wasio never reads the pointer. */
void wasio_timer_set_data(wasio_timer_t *timer, void *data);
void *wasio_timer_data(const wasio_timer_t *timer);
wasio_loop_t *wasio_timer_loop(const wasio_timer_t *timer);

/* Stops and closes; cb (may be NULL) runs once, in phase 4. Idempotent:
 * a second call does nothing. */
void wasio_timer_close(wasio_timer_t *timer, wasio_timer_close_cb cb);

/* ---- system services ---------------------------------------------------- */

/* Monotonic clock, ns (wasi:clocks/monotonic-clock, or CLOCK_MONOTONIC). */
uint64_t wasio_monotonic_ns(void);

/* Wall clock (wasi:clocks/wall-clock, or CLOCK_REALTIME). */
void wasio_wall_clock(uint64_t *seconds, uint32_t *nanoseconds);

/* Fills buf with cryptographically secure random bytes
 * (wasi:random/random, or getrandom(2)). Returns 0 or WASIO_EIO. */
int wasio_random_bytes(void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
