/* src/core/timer.c: the timer min-heap shared by user timers and the
 * internal deadlines of TCP (connect, idle) and DNS, and the public
 * wasio_timer_* API.
 *
 * Implementation notes
 * - The heap holds node pointers ordered by (due, seq). seq is a per-loop
 *   counter taken at every arm, so timers due at the same time run in the
 *   order they were started, and each node knows its heap_idx, which makes
 *   disarming O(log n) instead of a scan.
 * - The array grows by doubling and never shrinks, so arming allocates only
 *   while the number of armed timers reaches a new maximum: a steady-state
 *   turn allocates nothing.
 * - Phase 1 runs the nodes due at the turn's cached time that were armed
 *   before the phase started (seq below the phase's first seq). A timer
 *   re-armed with 0 from its own callback is due "now" again but carries a
 *   newer seq, so it waits for the next turn instead of spinning here.
 */
#include "internal.h"

/* First capacity of the heap array; it doubles from there. */
#define WASIO__TIMER_HEAP_MIN_CAP 16

struct wasio_timer {
  wasio__handle_t h; /* must be first */
  wasio__timer_node_t node;
  wasio_timer_cb cb;
  uint64_t repeat_ns;
};

static bool wasio__node_less(const wasio__timer_node_t *a, const wasio__timer_node_t *b) {
  if (a->due != b->due) return a->due < b->due;
  return a->seq < b->seq;
}

static void wasio__heap_set(wasio_loop_t *loop, size_t i, wasio__timer_node_t *n) {
  loop->heap[i] = n;
  n->heap_idx = i;
}

static void wasio__heap_up(wasio_loop_t *loop, size_t i) {
  wasio__timer_node_t *n = loop->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!wasio__node_less(n, loop->heap[parent])) break;
    wasio__heap_set(loop, i, loop->heap[parent]);
    i = parent;
  }
  wasio__heap_set(loop, i, n);
}

static void wasio__heap_down(wasio_loop_t *loop, size_t i) {
  wasio__timer_node_t *n = loop->heap[i];
  size_t len = loop->heap_len;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= len) break;
    if (child + 1 < len && wasio__node_less(loop->heap[child + 1], loop->heap[child])) child++;
    if (!wasio__node_less(loop->heap[child], n)) break;
    wasio__heap_set(loop, i, loop->heap[child]);
    i = child;
  }
  wasio__heap_set(loop, i, n);
}

static void wasio__heap_remove(wasio_loop_t *loop, wasio__timer_node_t *node) {
  size_t i = node->heap_idx;
  node->heap_idx = WASIO__NOT_IN_HEAP;
  loop->heap_len--;
  if (i == loop->heap_len) return; /* it was the last slot */
  /* Move the last node into the hole; it may need to go either way. */
  wasio__timer_node_t *moved = loop->heap[loop->heap_len];
  wasio__heap_set(loop, i, moved);
  wasio__heap_up(loop, i);
  wasio__heap_down(loop, moved->heap_idx);
}

void wasio__timer_node_init(wasio__timer_node_t *node, wasio__timer_kind_t kind) {
  node->due = 0;
  node->seq = 0;
  node->heap_idx = WASIO__NOT_IN_HEAP;
  node->kind = (uint8_t)kind;
}

int wasio__timer_node_arm(wasio_loop_t *loop, wasio__timer_node_t *node, uint64_t due) {
  if (wasio__timer_node_armed(node)) wasio__heap_remove(loop, node);
  if (loop->heap_len == loop->heap_cap) {
    size_t cap = loop->heap_cap ? loop->heap_cap * 2 : WASIO__TIMER_HEAP_MIN_CAP;
    if (cap > SIZE_MAX / sizeof *loop->heap) return WASIO_ENOMEM;
    wasio__timer_node_t **heap = wasio__realloc(loop->heap, cap * sizeof *heap);
    if (heap == NULL) return WASIO_ENOMEM;
    loop->heap = heap;
    loop->heap_cap = cap;
  }
  node->due = due;
  node->seq = loop->timer_seq++;
  size_t i = loop->heap_len++;
  wasio__heap_set(loop, i, node);
  wasio__heap_up(loop, i);
  return 0;
}

void wasio__timer_node_disarm(wasio_loop_t *loop, wasio__timer_node_t *node) {
  if (wasio__timer_node_armed(node)) wasio__heap_remove(loop, node);
}

/* A due time that saturates instead of wrapping for huge timeouts. */
static uint64_t wasio__due_after(const wasio_loop_t *loop, uint64_t delta) {
  return delta > UINT64_MAX - loop->now ? UINT64_MAX : loop->now + delta;
}

/* The user timer's part of phase 1. */
static void wasio__timer_fire(wasio_timer_t *t) {
  wasio_loop_t *loop = t->h.loop;
  /* Re-arm before the callback so the callback can stop or re-start it. */
  bool rearmed = t->repeat_ns > 0 &&
                 wasio__timer_node_arm(loop, &t->node, wasio__due_after(loop, t->repeat_ns)) == 0;
  if (!rearmed) wasio__handle_set_active(&t->h, false);
  t->cb(t);
}

/* Phase 1 (called by loop.c). Returns true if any node fired. */
bool wasio__timers_run(wasio_loop_t *loop) {
  uint64_t first_new_seq = loop->timer_seq;
  bool fired = false;
  while (loop->heap_len > 0) {
    wasio__timer_node_t *node = loop->heap[0];
    if (node->due > loop->now || node->seq >= first_new_seq) break;
    wasio__heap_remove(loop, node);
    fired = true;
    switch ((wasio__timer_kind_t)node->kind) {
      case WASIO__TIMER_USER:
        wasio__timer_fire(WASIO__CONTAINER_OF(node, wasio_timer_t, node));
        break;
      case WASIO__TIMER_TCP: wasio__tcp_on_timer(node); break;
      case WASIO__TIMER_DNS: wasio__dns_on_timer(node); break;
    }
  }
  return fired;
}

/* Releases the heap array when the loop is freed (called by loop.c). */
void wasio__timers_free(wasio_loop_t *loop) {
  wasio__free(loop->heap);
  loop->heap = NULL;
  loop->heap_len = loop->heap_cap = 0;
}

/* ---- the public timer API ------------------------------------------------ */

int wasio_timer_new(wasio_loop_t *loop, wasio_timer_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_timer_t *t = wasio__malloc(sizeof *t);
  if (t == NULL) return WASIO_ENOMEM;
  wasio__handle_init(loop, &t->h, WASIO_KIND_TIMER);
  wasio__timer_node_init(&t->node, WASIO__TIMER_USER);
  t->cb = NULL;
  t->repeat_ns = 0;
  *out = t;
  return 0;
}

int wasio_timer_start(wasio_timer_t *timer, wasio_timer_cb cb, uint64_t timeout_ns,
                      uint64_t repeat_ns) {
  if (timer == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__handle_closing(&timer->h)) return WASIO_ECLOSING;
  wasio_loop_t *loop = timer->h.loop;
  int rc = wasio__timer_node_arm(loop, &timer->node, wasio__due_after(loop, timeout_ns));
  if (rc != 0) {
    /* A failed re-arm leaves the timer stopped, never half-armed. */
    wasio__handle_set_active(&timer->h, false);
    return rc;
  }
  timer->cb = cb;
  timer->repeat_ns = repeat_ns;
  wasio__handle_set_active(&timer->h, true);
  return 0;
}

int wasio_timer_stop(wasio_timer_t *timer) {
  wasio__timer_node_disarm(timer->h.loop, &timer->node);
  wasio__handle_set_active(&timer->h, false);
  return 0;
}

bool wasio_timer_active(const wasio_timer_t *timer) {
  return wasio__timer_node_armed(&timer->node);
}

uint64_t wasio_timer_due(const wasio_timer_t *timer) {
  return wasio__timer_node_armed(&timer->node) ? timer->node.due : 0;
}

void wasio_timer_set_data(wasio_timer_t *timer, void *data) { timer->h.data = data; }
void *wasio_timer_data(const wasio_timer_t *timer) { return timer->h.data; }
wasio_loop_t *wasio_timer_loop(const wasio_timer_t *timer) { return timer->h.loop; }

void wasio_timer_close(wasio_timer_t *timer, wasio_timer_close_cb cb) {
  if (wasio__handle_closing(&timer->h)) return;
  wasio_timer_stop(timer);
  wasio__handle_close(&timer->h, (void (*)(void *))cb);
}
