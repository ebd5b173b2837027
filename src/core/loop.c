/* src/core/loop.c: the event loop: turns and their phases, the deferred
 * queue, handle bookkeeping and the closing queue.
 *
 * Implementation notes
 * - One turn is the four phases documented in wasio/loop.h. Each phase works
 *   on a snapshot of its queue taken when the phase starts, so work queued by
 *   a callback (a deferred request queued from a deferred callback, a handle
 *   closed from a close callback) always waits for the next turn and a
 *   callback can never keep one phase spinning forever.
 * - The loop is "alive" while a handle is active (something pending), a
 *   wait of no handle is held (wasio__loop_hold: HTTP through the host), a
 *   deferred request is queued, or a close callback is pending. The backend
 *   is asked to wait without a deadline only when a handle is active (or a
 *   wait held) and no timer is armed; with nothing alive it is never asked
 *   to wait at all.
 * - Nothing here allocates after wasio_loop_new: the queues are intrusive
 *   and the read buffer is allocated once with the loop.
 */
#include <string.h>

#include "internal.h"

/* Deferred requests: wasio__queued is one of these. */
enum {
  WASIO__DEFER_IDLE = 0,
  WASIO__DEFER_QUEUED = 1,
  WASIO__DEFER_CANCELED = 2 /* still queued; runs with WASIO_ECANCELED */
};

/* Implemented in timer.c: phase 1, and releasing the heap with the loop. */
bool wasio__timers_run(wasio_loop_t *loop);
void wasio__timers_free(wasio_loop_t *loop);

int wasio_loop_new(wasio_loop_t **out) {
  if (out == NULL) return WASIO_EINVAL;
  wasio_loop_t *loop = wasio__calloc(1, sizeof *loop);
  if (loop == NULL) return WASIO_ENOMEM;
  loop->read_buf = wasio__malloc(WASIO_READ_BUF_SIZE);
  if (loop->read_buf == NULL) {
    wasio__free(loop);
    return WASIO_ENOMEM;
  }
  loop->handles.prev = loop->handles.next = &loop->handles;
  loop->pending.prev = loop->pending.next = &loop->pending;
  int rc = wasio__backend_init(loop);
  if (rc != 0) {
    wasio__free(loop->read_buf);
    wasio__free(loop);
    return rc;
  }
  loop->now = wasio__backend_monotonic_ns();
  /* Until read, stats.allocations holds the process-wide count at creation:
   * wasio_loop_stats reports the difference. */
  loop->stats.allocations = wasio__alloc_count;
  *out = loop;
  return 0;
}

bool wasio__loop_alive(const wasio_loop_t *loop) {
  return loop->active_handles > 0 || loop->held > 0 || loop->defer_head != NULL || loop->closing_head != NULL;
}

/* Phase 2: runs the requests queued before the phase started. Returns true
 * if it ran any. */
static bool wasio__defer_run(wasio_loop_t *loop) {
  wasio_defer_t *last = loop->defer_tail;
  if (last == NULL) return false;
  for (;;) {
    wasio_defer_t *req = loop->defer_head;
    loop->defer_head = req->wasio__next;
    if (loop->defer_head == NULL) loop->defer_tail = NULL;
    req->wasio__next = NULL;
    int status = req->wasio__queued == WASIO__DEFER_CANCELED ? WASIO_ECANCELED : 0;
    req->wasio__queued = WASIO__DEFER_IDLE;
    /* `req` may be re-queued or freed by its callback: decide first. */
    bool was_last = req == last;
    req->wasio__cb(req, status);
    if (was_last) break;
  }
  return true;
}

/* Phase 4: for each handle closed before the phase started, the callbacks
 * its close canceled, its close callback, the kind's own release, then the
 * memory. */
static void wasio__closing_run(wasio_loop_t *loop) {
  wasio__handle_t *h = loop->closing_head;
  loop->closing_head = loop->closing_tail = NULL;
  while (h != NULL) {
    wasio__handle_t *next = h->close_next;
    /* close_cb holds the user's typed callback cast to a generic type; it is
     * cast back before the call, since calling through a different function
     * type is undefined (and trapped by UBSan's -fsanitize=function). */
    switch ((wasio_handle_kind_t)h->kind) {
      case WASIO_KIND_TIMER:
        if (h->close_cb != NULL) ((wasio_timer_close_cb)h->close_cb)((wasio_timer_t *)h);
        break;
      case WASIO_KIND_TCP:
        wasio__tcp_closed((wasio_tcp_t *)h);
        if (h->close_cb != NULL) ((wasio_tcp_close_cb)h->close_cb)((wasio_tcp_t *)h);
        wasio__tcp_free((wasio_tcp_t *)h);
        break;
      case WASIO_KIND_UDP:
        wasio__udp_closed((wasio_udp_t *)h);
        if (h->close_cb != NULL) ((wasio_udp_close_cb)h->close_cb)((wasio_udp_t *)h);
        wasio__udp_free((wasio_udp_t *)h);
        break;
      case WASIO_KIND_POLL:
        /* The backend let go of the descriptor when the close was called
         * (wasio/poll.h: the caller may close it at once). */
        if (h->close_cb != NULL) ((wasio_poll_close_cb)h->close_cb)((wasio_poll_t *)h);
        break;
      case WASIO_KIND_DNS:
        /* A lookup has no close callback of its own: its result callback is
         * its last word. */
        wasio__dns_free((wasio_dns_t *)h);
        break;
    }
    wasio__handle_set_active(h, false);
    h->prev->next = h->next;
    h->next->prev = h->prev;
    loop->open_handles--;
    wasio__free(h);
    h = next;
  }
}

/* The deadline for phase 3: 0 (do not wait), a loop time, or UINT64_MAX. */
static uint64_t wasio__poll_deadline(const wasio_loop_t *loop, wasio_run_mode_t mode) {
  if (mode == WASIO_RUN_NOWAIT || loop->stop_flag || loop->defer_head != NULL ||
      loop->closing_head != NULL)
    return 0;
  if (loop->heap_len > 0) return loop->heap[0]->due;
  return loop->active_handles > 0 || loop->held > 0 ? UINT64_MAX : 0;
}

int wasio_loop_run(wasio_loop_t *loop, wasio_run_mode_t mode) {
  if (loop->running) return WASIO_EBUSY;
  loop->running = 1;
  bool alive = wasio__loop_alive(loop);
  bool yielded = false;
  loop->yield_deadline = 0; /* set by a turn that yields */
  if (!alive) wasio_loop_update_time(loop);
  while (alive && !loop->stop_flag) {
    wasio_loop_update_time(loop);
    bool ran = wasio__timers_run(loop);
    ran |= wasio__defer_run(loop);
    /* A RUN_ONCE turn whose timers or deferred callbacks already ran has
     * made progress: it polls without blocking, so a caller driving the
     * loop turn by turn sees that progress now, not after the next timer. */
    uint64_t deadline = mode == WASIO_RUN_ONCE && ran ? 0 : wasio__poll_deadline(loop, mode);
    /* Phase 3. Work queued in phases 1-2 first; if it ran callbacks, the
     * deadline is stale (they may have completed what the caller waits for,
     * stopped the loop, closed handles): do not block. */
    if (wasio__pending_drain(loop)) deadline = 0;
    /* Between the requests of a server bound to the host: this turn looks
     * at what is ready without waiting, then the run ends (the host runs
     * the component again with its next request). */
    if (loop->yield_idle && deadline != 0) {
      loop->yield_deadline = deadline;
      deadline = 0;
      yielded = true;
    }
    if (wasio__backend_wait(loop, deadline)) wasio_loop_update_time(loop);
    wasio__backend_dispatch(loop);
    wasio__pending_drain(loop);
    wasio__closing_run(loop);
    loop->stats.turns++;
    alive = wasio__loop_alive(loop);
    if (mode != WASIO_RUN_DEFAULT || yielded) break;
  }
  loop->stop_flag = 0;
  loop->running = 0;
  return alive && !yielded ? 1 : 0;
}

void wasio__loop_set_yield(wasio_loop_t *loop, bool on) { loop->yield_idle = on; }

uint64_t wasio__loop_yield_deadline(const wasio_loop_t *loop) { return loop->yield_deadline; }

void wasio_loop_stop(wasio_loop_t *loop) { loop->stop_flag = 1; }

int wasio_loop_close(wasio_loop_t *loop) {
  if (loop == NULL) return 0;
  if (loop->running || loop->open_handles > 0 || loop->held > 0 || loop->closing_head != NULL ||
      loop->defer_head != NULL)
    return WASIO_EBUSY;
  wasio__backend_free(loop);
  wasio__timers_free(loop);
  wasio__free(loop->read_buf);
  wasio__free(loop);
  return 0;
}

size_t wasio_loop_open_handles(const wasio_loop_t *loop) { return loop->open_handles; }

void wasio_loop_walk(wasio_loop_t *loop,
                     void (*fn)(wasio_handle_kind_t kind, void *handle, void *arg), void *arg) {
  wasio__handle_t *h = loop->handles.next;
  while (h != &loop->handles) {
    /* Fetch the successor first: fn may close (never free) the handle. */
    wasio__handle_t *next = h->next;
    fn((wasio_handle_kind_t)h->kind, h, arg);
    h = next;
  }
}

const char *wasio_kind_name(wasio_handle_kind_t kind) {
  switch (kind) {
    case WASIO_KIND_TIMER: return "timer";
    case WASIO_KIND_TCP: return "tcp";
    case WASIO_KIND_UDP: return "udp";
    case WASIO_KIND_DNS: return "dns";
    case WASIO_KIND_POLL: return "poll";
  }
  return "unknown";
}

uint64_t wasio_loop_now(const wasio_loop_t *loop) { return loop->now; }

uint64_t wasio_loop_update_time(wasio_loop_t *loop) {
  uint64_t t = wasio__backend_monotonic_ns();
  /* The cache never goes backwards, whatever the clock source does. */
  if (t > loop->now) loop->now = t;
  return loop->now;
}

void wasio_loop_stats(const wasio_loop_t *loop, wasio_loop_stats_t *out) {
  *out = loop->stats;
  out->allocations = wasio__alloc_count - loop->stats.allocations;
}

/* ---- deferred callbacks ---------------------------------------------------- */

/* True if req is in loop's queue. The scan runs only when the request's
 * private fields already claim so: a request the caller never zeroed may
 * hold anything there, and must not be refused on the strength of garbage. */
static bool wasio__defer_queued(const wasio_loop_t *loop, const wasio_defer_t *req) {
  if (req->wasio__queued == WASIO__DEFER_IDLE || req->wasio__loop != loop) return false;
  for (const wasio_defer_t *d = loop->defer_head; d != NULL; d = d->wasio__next)
    if (d == req) return true;
  return false;
}

int wasio_defer(wasio_loop_t *loop, wasio_defer_t *req, wasio_defer_cb cb) {
  if (loop == NULL || req == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__defer_queued(loop, req)) return WASIO_EBUSY;
  req->wasio__next = NULL;
  req->wasio__loop = loop;
  req->wasio__cb = cb;
  req->wasio__queued = WASIO__DEFER_QUEUED;
  if (loop->defer_tail != NULL)
    loop->defer_tail->wasio__next = req;
  else
    loop->defer_head = req;
  loop->defer_tail = req;
  return 0;
}

int wasio_defer_cancel(wasio_defer_t *req) {
  if (req == NULL || req->wasio__queued == WASIO__DEFER_IDLE) return WASIO_EINVAL;
  /* The request keeps its place in the queue: every request's callback runs
   * exactly once, and a canceled one simply learns it was canceled. */
  req->wasio__queued = WASIO__DEFER_CANCELED;
  return 0;
}

/* ---- the pending list and the budget ------------------------------------------ */

void wasio__pending_init(wasio__pending_t *p, wasio__pending_kind_t kind) {
  p->prev = p->next = NULL;
  p->kind = (uint8_t)kind;
}

void wasio__pending_add(wasio_loop_t *loop, wasio__pending_t *p) {
  wasio__pending_t *head = &loop->pending;
  if (p->next != NULL) return;
  p->prev = head->prev;
  p->next = head;
  head->prev->next = p;
  head->prev = p;
}

void wasio__pending_remove(wasio__pending_t *p) {
  if (p->next == NULL) return;
  p->prev->next = p->next;
  p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

bool wasio__pending_drain(wasio_loop_t *loop) {
  wasio__pending_t *head = &loop->pending;
  wasio__pending_t batch;
  if (head->next == head) return false;
  /* Move the whole list onto a local sentinel: work queued by the callbacks
   * below lands on the loop's (now empty) list and waits for the next drain.
   * Removal (on close) works the same on either list. */
  batch.next = head->next;
  batch.prev = head->prev;
  batch.next->prev = &batch;
  batch.prev->next = &batch;
  head->next = head->prev = head;
  while (batch.next != &batch) {
    wasio__pending_t *p = batch.next;
    wasio__pending_remove(p);
    switch ((wasio__pending_kind_t)p->kind) {
      case WASIO__PENDING_TCP: wasio__tcp_on_pending(WASIO__CONTAINER_OF(p, wasio_tcp_t, pending)); break;
      case WASIO__PENDING_UDP: wasio__udp_on_pending(WASIO__CONTAINER_OF(p, wasio_udp_t, pending)); break;
      case WASIO__PENDING_DNS: wasio__dns_on_pending(WASIO__CONTAINER_OF(p, wasio_dns_t, pending)); break;
    }
  }
  return true;
}

bool wasio__budget_take(wasio_loop_t *loop, wasio__budget_t *b) {
  if (b->turn != loop->stats.turns + 1) {
    /* +1: a zeroed budget must not look like turn 0's. */
    b->turn = loop->stats.turns + 1;
    b->used = 0;
  }
  if (b->used >= WASIO_IO_CALLBACKS_PER_TURN) return false;
  b->used++;
  return true;
}

/* ---- handles ---------------------------------------------------------------- */

void wasio__handle_init(wasio_loop_t *loop, wasio__handle_t *h, wasio_handle_kind_t kind) {
  h->loop = loop;
  h->data = NULL;
  h->close_cb = NULL;
  h->close_next = NULL;
  h->kind = (uint8_t)kind;
  h->flags = 0;
  h->prev = loop->handles.prev;
  h->next = &loop->handles;
  loop->handles.prev->next = h;
  loop->handles.prev = h;
  loop->open_handles++;
}

void wasio__handle_set_active(wasio__handle_t *h, bool active) {
  bool was = (h->flags & WASIO__F_ACTIVE) != 0;
  if (was == active) return;
  if (active) {
    h->flags |= WASIO__F_ACTIVE;
    h->loop->active_handles++;
  } else {
    h->flags &= (uint8_t)~WASIO__F_ACTIVE;
    h->loop->active_handles--;
  }
}

bool wasio__handle_close(wasio__handle_t *h, void (*cb)(void *handle)) {
  if (h->flags & WASIO__F_CLOSING) return false;
  h->flags |= WASIO__F_CLOSING;
  h->close_cb = cb;
  h->close_next = NULL;
  wasio_loop_t *loop = h->loop;
  if (loop->closing_tail != NULL)
    loop->closing_tail->close_next = h;
  else
    loop->closing_head = h;
  loop->closing_tail = h;
  return true;
}
