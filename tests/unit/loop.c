/* tests/unit/loop.c: the loop's phases, timers, deferred callbacks,
 * handle bookkeeping and the zero-allocation steady state. */
#include "harness.h"
#include "wasio.h"
#include "internal.h" /* wasio__loop_set_yield: the host-bound server's loop rule */

/* ---- timers ---------------------------------------------------------------- */

#define MANY_TIMERS 1000

static int fired_order[MANY_TIMERS];
static int fired_count;

static void record_cb(wasio_timer_t *t) {
  fired_order[fired_count++] = (int)(intptr_t)wasio_timer_data(t);
}

static void close_all(wasio_timer_t **timers, int n) {
  for (int i = 0; i < n; i++) wasio_timer_close(timers[i], NULL);
}

TEST(timer_heap_orders_many) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  static wasio_timer_t *timers[MANY_TIMERS];
  fired_count = 0;
  /* Due times in a scrambled order (a permutation of 0..999 ms / 50). */
  for (int i = 0; i < MANY_TIMERS; i++) {
    ASSERT_OK(wasio_timer_new(loop, &timers[i]));
    int slot = (i * 7919) % MANY_TIMERS;
    wasio_timer_set_data(timers[i], (void *)(intptr_t)slot);
    ASSERT_OK(wasio_timer_start(timers[i], record_cb, (uint64_t)(slot / 50) * WASIO_NS_PER_MS, 0));
  }
  /* Stop every third timer: removal from the middle of the heap. */
  int stopped = 0;
  for (int i = 0; i < MANY_TIMERS; i += 3) {
    ASSERT_OK(wasio_timer_stop(timers[i]));
    ASSERT_TRUE(!wasio_timer_active(timers[i]));
    ASSERT_EQ_U64(wasio_timer_due(timers[i]), 0);
    stopped++;
  }
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(fired_count, MANY_TIMERS - stopped);
  /* Non-decreasing due times; equal due times in start order. */
  for (int i = 1; i < fired_count; i++) ASSERT_LE_INT(fired_order[i - 1] / 50, fired_order[i] / 50);
  close_all(timers, MANY_TIMERS);
  ASSERT_LOOP_CLOSED(loop);
}

static int order_seq[8];
static int order_n;
static void order_cb(wasio_timer_t *t) { order_seq[order_n++] = (int)(intptr_t)wasio_timer_data(t); }

TEST(timer_same_due_runs_in_start_order) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *t[5];
  order_n = 0;
  for (int i = 0; i < 5; i++) {
    ASSERT_OK(wasio_timer_new(loop, &t[i]));
    wasio_timer_set_data(t[i], (void *)(intptr_t)i);
  }
  /* Started 4,3,2,1,0; then 2 is re-started, which moves it last. */
  for (int i = 4; i >= 0; i--) ASSERT_OK(wasio_timer_start(t[i], order_cb, 0, 0));
  ASSERT_OK(wasio_timer_start(t[2], order_cb, 0, 0));
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(order_n, 5);
  int want[5] = {4, 3, 1, 0, 2};
  for (int i = 0; i < 5; i++) ASSERT_EQ_INT(order_seq[i], want[i]);
  close_all(t, 5);
  ASSERT_LOOP_CLOSED(loop);
}

static uint64_t rearm_turns[4];
static int rearm_n;
static void rearm_zero_cb(wasio_timer_t *t) {
  wasio_loop_stats_t st;
  wasio_loop_stats(wasio_timer_loop(t), &st);
  rearm_turns[rearm_n++] = st.turns;
  if (rearm_n < 4) ASSERT_OK(wasio_timer_start(t, rearm_zero_cb, 0, 0));
}

TEST(timer_rearm_zero_runs_next_turn) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  rearm_n = 0;
  ASSERT_OK(wasio_timer_start(t, rearm_zero_cb, 0, 0));
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(rearm_n, 4);
  for (int i = 1; i < 4; i++) ASSERT_EQ_U64(rearm_turns[i], rearm_turns[i - 1] + 1);
  wasio_timer_close(t, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

static int repeat_count;
static void repeat_cb(wasio_timer_t *t) {
  if (++repeat_count == 5) ASSERT_OK(wasio_timer_stop(t));
}

TEST(timer_repeat_and_stop_from_callback) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  repeat_count = 0;
  uint64_t t0 = wasio_monotonic_ns();
  ASSERT_OK(wasio_timer_start(t, repeat_cb, 1 * WASIO_NS_PER_MS, 2 * WASIO_NS_PER_MS));
  ASSERT_TRUE(wasio_timer_active(t));
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(repeat_count, 5);
  ASSERT_TRUE(!wasio_timer_active(t));
  /* 1 ms + 4 repeats of 2 ms: at least 9 ms went by. */
  ASSERT_GE_U64(wasio_monotonic_ns() - t0, 9 * WASIO_NS_PER_MS);
  wasio_timer_close(t, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

static int close_cb_count;
static void timer_close_cb(wasio_timer_t *t) { close_cb_count++; }
static void never_cb(wasio_timer_t *t) { harness_fail(__FILE__, __LINE__, "stopped timer fired"); }

TEST(timer_close_idempotent_once) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  ASSERT_OK(wasio_timer_start(t, never_cb, 0, 0));
  close_cb_count = 0;
  wasio_timer_close(t, timer_close_cb);
  wasio_timer_close(t, timer_close_cb);
  ASSERT_WASIO(WASIO_ECLOSING, wasio_timer_start(t, never_cb, 0, 0));
  ASSERT_WASIO(WASIO_EBUSY, wasio_loop_close(loop));
  ASSERT_EQ_INT(close_cb_count, 0); /* phase 4, not from inside close */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(close_cb_count, 1);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(timer_invalid_args) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  ASSERT_WASIO(WASIO_EINVAL, wasio_timer_start(t, NULL, 0, 0));
  ASSERT_TRUE(!wasio_timer_active(t));
  ASSERT_OK(wasio_timer_stop(t)); /* stopping a stopped timer is fine */
  int x;
  wasio_timer_set_data(t, &x);
  ASSERT_TRUE(wasio_timer_data(t) == &x);
  ASSERT_TRUE(wasio_timer_loop(t) == loop);
  wasio_timer_close(t, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- deferred callbacks ----------------------------------------------------- */

static int defer_status[4];
static int defer_n;
static void defer_cb(wasio_defer_t *req, int status) { defer_status[defer_n++] = status; }

TEST(defer_runs_and_cancels) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_defer_t a = {0}, b = {0};
  defer_n = 0;
  ASSERT_OK(wasio_defer(loop, &a, defer_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_defer(loop, &a, defer_cb));
  ASSERT_OK(wasio_defer(loop, &b, defer_cb));
  ASSERT_OK(wasio_defer_cancel(&b));
  ASSERT_EQ_INT(defer_n, 0);
  ASSERT_WASIO(WASIO_EBUSY, wasio_loop_close(loop)); /* callbacks still owed */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(defer_n, 2);
  ASSERT_EQ_INT(defer_status[0], 0);
  ASSERT_WASIO(WASIO_ECANCELED, defer_status[1]);
  ASSERT_WASIO(WASIO_EINVAL, wasio_defer_cancel(&a));
  ASSERT_WASIO(WASIO_EINVAL, wasio_defer(loop, &a, NULL));
  ASSERT_LOOP_CLOSED(loop);
}

static uint64_t requeue_turn[3];
static int requeue_n;
static void requeue_cb(wasio_defer_t *req, int status) {
  wasio_loop_stats_t st;
  wasio_loop_stats(req->data, &st);
  requeue_turn[requeue_n++] = st.turns;
  /* Queued from phase 2: runs in the next turn, not this one. */
  if (requeue_n < 3) ASSERT_OK(wasio_defer(req->data, req, requeue_cb));
}

TEST(defer_requeue_waits_a_turn) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_defer_t d = {0};
  d.data = loop;
  requeue_n = 0;
  ASSERT_OK(wasio_defer(loop, &d, requeue_cb));
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(requeue_n, 3);
  ASSERT_EQ_U64(requeue_turn[1], requeue_turn[0] + 1);
  ASSERT_EQ_U64(requeue_turn[2], requeue_turn[1] + 1);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- the loop ---------------------------------------------------------------- */

static void count_kind(wasio_handle_kind_t kind, void *handle, void *arg) {
  int *counts = arg;
  counts[kind]++;
}

TEST(loop_close_reports_open_handles) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *t1, *t2;
  wasio_tcp_t *tcp;
  ASSERT_OK(wasio_timer_new(loop, &t1));
  ASSERT_OK(wasio_timer_new(loop, &t2));
  ASSERT_OK(wasio_tcp_new(loop, &tcp));
  ASSERT_EQ_INT(wasio_loop_open_handles(loop), 3);
  /* Nothing active: run returns at once, never waits forever. */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_WASIO(WASIO_EBUSY, wasio_loop_close(loop));
  int counts[8] = {0};
  wasio_loop_walk(loop, count_kind, counts);
  ASSERT_EQ_INT(counts[WASIO_KIND_TIMER], 2);
  ASSERT_EQ_INT(counts[WASIO_KIND_TCP], 1);
  ASSERT_EQ_STR(wasio_kind_name(WASIO_KIND_TIMER), "timer");
  ASSERT_EQ_STR(wasio_kind_name(WASIO_KIND_TCP), "tcp");
  ASSERT_EQ_STR(wasio_kind_name(WASIO_KIND_UDP), "udp");
  ASSERT_EQ_STR(wasio_kind_name(WASIO_KIND_DNS), "dns");
  ASSERT_EQ_STR(wasio_kind_name(WASIO_KIND_POLL), "poll");
  wasio_timer_close(t1, NULL);
  wasio_timer_close(t2, NULL);
  wasio_tcp_close(tcp, NULL);
  ASSERT_EQ_INT(wasio_loop_open_handles(loop), 3); /* until phase 4 */
  ASSERT_LOOP_CLOSED(loop);
  ASSERT_OK(wasio_loop_close(NULL));
}

static int reentry_rc;
static void reentry_cb(wasio_timer_t *t) { reentry_rc = wasio_loop_run(wasio_timer_loop(t), WASIO_RUN_NOWAIT); }

TEST(loop_refuses_reentry) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  ASSERT_OK(wasio_timer_start(t, reentry_cb, 0, 0));
  reentry_rc = 0;
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_WASIO(WASIO_EBUSY, reentry_rc);
  wasio_timer_close(t, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

static void stop_cb(wasio_timer_t *t) { wasio_loop_stop(wasio_timer_loop(t)); }
static void idle_cb(wasio_timer_t *t) {}

TEST(loop_stop_and_modes) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *stopper, *longer;
  ASSERT_OK(wasio_timer_new(loop, &stopper));
  ASSERT_OK(wasio_timer_new(loop, &longer));
  ASSERT_OK(wasio_timer_start(stopper, stop_cb, 0, 0));
  ASSERT_OK(wasio_timer_start(longer, idle_cb, 60 * WASIO_NS_PER_S, 0));
  /* The stop ends the run after the turn; work remains. */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 1);
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 1);
  uint64_t before = wasio_loop_now(loop);
  ASSERT_GE_U64(wasio_loop_update_time(loop), before);
  wasio_loop_stats_t st;
  wasio_loop_stats(loop, &st);
  ASSERT_EQ_U64(st.turns, 2);
  ASSERT_GE_U64(st.polls, 2);
  wasio_timer_close(stopper, NULL);
  wasio_timer_close(longer, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* A server bound to the host's incoming-handler sets the loop's yield
 * (src/http/server_host.c): a run then returns 0 as soon as it would wait,
 * without waiting, while due work still runs; unset, the same run waits
 * for its timer again. */
static int yield_ticks;
static void yield_tick(wasio_timer_t *t) { yield_ticks++; }

TEST(loop_yield_returns_instead_of_waiting) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *now, *later;
  ASSERT_OK(wasio_timer_new(loop, &now));
  ASSERT_OK(wasio_timer_new(loop, &later));
  ASSERT_OK(wasio_timer_start(now, yield_tick, 0, 0));
  ASSERT_OK(wasio_timer_start(later, yield_tick, 60 * WASIO_NS_PER_S, 60 * WASIO_NS_PER_S));
  yield_ticks = 0;
  wasio__loop_set_yield(loop, true);
  uint64_t t0 = wasio_monotonic_ns();
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0); /* a repeating timer is left, yet it returns */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_ONCE), 0);
  ASSERT_LT_U64(wasio_monotonic_ns() - t0, 30 * WASIO_NS_PER_S); /* it did not wait for the 60 s timer */
  ASSERT_EQ_INT(yield_ticks, 1);                              /* the due timer ran */
  ASSERT_TRUE(wasio_timer_active(later));
  wasio__loop_set_yield(loop, false);
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 1);   /* work remains */
  wasio_timer_close(now, NULL);
  wasio_timer_close(later, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- zero allocations per steady-state turn ------------------------------------ */

#define STEADY_TURNS 50
static int steady_ticks;
static void steady_cb(wasio_timer_t *t) {
  if (++steady_ticks == STEADY_TURNS) wasio_loop_stop(wasio_timer_loop(t));
}

static void noop_conn_cb(wasio_tcp_t *server, wasio_tcp_t *client, int status) {
  if (client != NULL) wasio_tcp_close(client, NULL);
}

TEST(loop_no_allocations_in_steady_state) {
  wasio_loop_t *loop;
  ASSERT_OK(wasio_loop_new(&loop));
  /* An idle listener and an idle bound UDP socket stay open all along. */
  wasio_tcp_t *server;
  wasio_udp_t *udp;
  wasio_addr_t any;
  wasio_addr_loopback(WASIO_AF_INET, 0, &any);
  ASSERT_OK(wasio_tcp_new(loop, &server));
  ASSERT_OK(wasio_tcp_bind(server, &any));
  ASSERT_OK(wasio_tcp_listen(server, 0, noop_conn_cb));
  ASSERT_OK(wasio_udp_new(loop, &udp));
  ASSERT_OK(wasio_udp_bind(udp, &any));
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  steady_ticks = 0;
  ASSERT_OK(wasio_timer_start(t, steady_cb, 0, 1 * WASIO_NS_PER_MS));
  /* Warm-up: the first turns may grow the timer heap. */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_ONCE), 1);
  wasio_loop_stats_t before, after;
  wasio_loop_stats(loop, &before);
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 1);
  wasio_loop_stats(loop, &after);
  ASSERT_GE_U64(after.turns - before.turns, STEADY_TURNS - 1);
  ASSERT_EQ_U64(after.allocations, before.allocations);
  wasio_timer_close(t, NULL);
  wasio_tcp_close(server, NULL);
  wasio_udp_close(udp, NULL);
  ASSERT_LOOP_CLOSED(loop);
}
