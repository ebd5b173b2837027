// wasio-test: net
// wasio-test: helper tests/helpers/echo_server.py --lifetime 300
// wasio-test: timeout 60
/* tests/component/dns.c: name resolution (wasio/dns.h). The echo helper
 * (port) proves the loop keeps serving I/O while lookups are pending. */
#include "testlib.h"

#define ECHO_PORT helper_port("port")

typedef struct lookup {
  bool done;
  int status;
  size_t count;
  wasio_addr_t addrs[WASIO_DNS_MAX_ADDRS];
  int calls;
} lookup_t;

static void lookup_cb(wasio_dns_t *req, int status, const wasio_addr_t *addrs, size_t count) {
  lookup_t *l = wasio_dns_data(req);
  ASSERT_TRUE(l != NULL);
  l->calls++;
  ASSERT_EQ_INT(l->calls, 1); /* exactly once */
  l->done = true;
  l->status = status;
  l->count = count;
  if (status == 0) {
    ASSERT_GE_INT(count, 1);
    ASSERT_LE_INT(count, WASIO_DNS_MAX_ADDRS);
    memcpy(l->addrs, addrs, count * sizeof *addrs);
  } else {
    ASSERT_EQ_INT(count, 0);
  }
}

static void list_addrs(const lookup_t *l, char *out, size_t size) {
  out[0] = 0;
  for (size_t i = 0; i < l->count; i++) {
    char s[WASIO_ADDR_STRLEN];
    if (wasio_addr_format_ip(&l->addrs[i], s, sizeof s) < 0) snprintf(s, sizeof s, "(bad)");
    snprintf(out + strlen(out), size - strlen(out), " %s", s);
  }
}

/* "localhost" gives loopback addresses only (127.0.0.1 and/or ::1), each
 * once, with port 0. */
TEST(resolve_localhost) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  lookup_t l = {0};
  wasio_dns_t *req = NULL;
  ASSERT_OK(wasio_dns_resolve(loop, "localhost", 10 * WASIO_NS_PER_S, lookup_cb, &l, &req));
  ASSERT_TRUE(req != NULL);
  ASSERT_TRUE(wasio_dns_loop(req) == loop);
  ASSERT_EQ_INT(l.done, 0); /* never from inside the call */
  WAIT_UNTIL(loop, l.done);
  ASSERT_WASIO(0, l.status);
  char got[512];
  list_addrs(&l, got, sizeof got);
  wasio_addr_t v4 = loopback(WASIO_AF_INET, 0), v6 = loopback(WASIO_AF_INET6, 0);
  for (size_t i = 0; i < l.count; i++) {
    if (!wasio_addr_equal(&l.addrs[i], &v4) && !wasio_addr_equal(&l.addrs[i], &v6))
      harness_fail(__FILE__, __LINE__, "localhost resolved to a non-loopback address:%s", got);
    for (size_t j = 0; j < i; j++)
      if (wasio_addr_equal(&l.addrs[i], &l.addrs[j]))
        harness_fail(__FILE__, __LINE__, "duplicate address in:%s", got);
  }
  ASSERT_GE_INT(l.count, 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A numeric name is the address itself: it completes in the very next turn
 * (no lookup to wait for), with exactly that one address. */
static void numeric(const char *name, const char *want_ip) {
  wasio_loop_t *loop = new_loop();
  lookup_t l = {0};
  ASSERT_OK(wasio_dns_resolve(loop, name, 10 * WASIO_NS_PER_S, lookup_cb, &l, NULL));
  ASSERT_EQ_INT(l.done, 0);
  ASSERT_GE_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 0);
  if (!l.done) harness_fail(__FILE__, __LINE__, "numeric name %s not done after one turn", name);
  ASSERT_WASIO(0, l.status);
  ASSERT_EQ_INT(l.count, 1);
  wasio_addr_t want;
  ASSERT_OK(wasio_addr_parse(want_ip, 0, &want));
  ASSERT_EQ_ADDR(&l.addrs[0], &want);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(resolve_numeric) {
  numeric("127.0.0.1", "127.0.0.1");
  numeric("::1", "::1");
  /* Documentation addresses: parsed, never contacted. */
  numeric("192.0.2.7", "192.0.2.7");
  numeric("2001:db8::42", "2001:db8::42");
}

/* Errors come back at once and never call the callback. */
TEST(resolve_errors) {
  wasio_loop_t *loop = new_loop();
  lookup_t l = {0};
  ASSERT_WASIO(WASIO_EINVAL, wasio_dns_resolve(loop, "", 0, lookup_cb, &l, NULL));
  ASSERT_WASIO(WASIO_EINVAL, wasio_dns_resolve(loop, "localhost", 0, NULL, &l, NULL));
  char longname[WASIO_DNS_MAX_NAME + 2];
  for (int i = 0; i < WASIO_DNS_MAX_NAME + 1; i++) longname[i] = (i % 2) ? '.' : 'a';
  longname[WASIO_DNS_MAX_NAME] = 'a'; /* 254 characters, not ending in a dot */
  longname[WASIO_DNS_MAX_NAME + 1] = 0;
  ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_dns_resolve(loop, longname, 0, lookup_cb, &l, NULL));
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(l.calls, 0);
  ASSERT_EQ_STR(wasio_strerror(WASIO_ENAMENOTFOUND), "name does not resolve");
  ASSERT_EQ_STR(wasio_err_name(WASIO_ENAMENOTFOUND), "WASIO_ENAMENOTFOUND");
  ASSERT_LOOP_CLOSED(loop);
}

/* Cancel: the callback runs once, in a later turn, with ECANCELED. */
TEST(resolve_cancel) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  const char *names[2] = {"localhost", "127.0.0.1"};
  for (int i = 0; i < 2; i++) {
    lookup_t l = {0};
    wasio_dns_t *req = NULL;
    ASSERT_OK(wasio_dns_resolve(loop, names[i], 10 * WASIO_NS_PER_S, lookup_cb, &l, &req));
    ASSERT_OK(wasio_dns_cancel(req));
    ASSERT_EQ_INT(l.done, 0); /* not from inside cancel */
    WAIT_UNTIL(loop, l.done);
    ASSERT_WASIO(WASIO_ECANCELED, l.status);
    ASSERT_EQ_INT(l.count, 0);
  }
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A deadline shorter than any lookup: timers run in phase 1 of a turn,
 * before the I/O that could complete the lookup, so it times out. */
TEST(resolve_timeout) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  lookup_t l = {0};
  ASSERT_OK(wasio_dns_resolve(loop, "localhost", 1, lookup_cb, &l, NULL));
  WAIT_UNTIL(loop, l.done);
  ASSERT_WASIO(WASIO_ETIMEDOUT, l.status);
  ASSERT_EQ_INT(l.count, 0);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- an unknown name, while the loop serves echo and a timer ---------------- */

#define ROUNDS 10
#define PARALLEL 8
#define PING_LEN 8

static lookup_t unknown[ROUNDS][PARALLEL];
static int pending_lookups;
static int events_now;       /* ticks + echo round trips in the current round */
static int events_max_round; /* most events seen during one round's lookups */
static int events_min_round; /* fewest */
static int ticks_total, rtts_total;
static size_t pong_got;

static void unknown_cb(wasio_dns_t *req, int status, const wasio_addr_t *addrs, size_t count) {
  lookup_cb(req, status, addrs, count);
  if (--pending_lookups == 0) {
    if (events_now > events_max_round) events_max_round = events_now;
    if (events_now < events_min_round) events_min_round = events_now;
  }
}

static void tick_cb(wasio_timer_t *t) {
  ticks_total++;
  if (pending_lookups) events_now++;
}

static void ping(tconn_t *c) { tconn_write(c, "ping0000", PING_LEN); }

static void pong_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  ASSERT_GT_INT(nread, 0);
  pong_got += (size_t)nread;
  ASSERT_LE_U64(pong_got, PING_LEN);
  if (pong_got == PING_LEN) {
    pong_got = 0;
    rtts_total++;
    if (pending_lookups) events_now++;
    if (wasio_tcp_data(tcp)) ping(wasio_tcp_data(tcp)); /* data == NULL: stop pinging */
  }
}

/* While lookups of a name that does not exist are pending, the same loop
 * keeps running a 1 ms timer and an echo ping-pong. A resolver that blocked
 * the loop would let at most one I/O phase pass between the resolve calls
 * and their callbacks; we require at least 3 events inside one round. */
TEST(resolve_unknown_loop_not_blocked) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 40000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  tconn_connect_ok(loop, &c, &to);
  ASSERT_OK(wasio_tcp_read_start(c.tcp, NULL, pong_cb));
  ping(&c);
  wasio_timer_t *tick;
  ASSERT_OK(wasio_timer_new(loop, &tick));
  ASSERT_OK(wasio_timer_start(tick, tick_cb, 1 * MS, 1 * MS));
  WAIT_UNTIL(loop, rtts_total >= 3); /* the ping-pong runs */
  events_max_round = 0;
  events_min_round = 1 << 30;
  uint64_t t0 = wasio_monotonic_ns();
  for (int r = 0; r < ROUNDS; r++) {
    events_now = 0;
    for (int i = 0; i < PARALLEL; i++) {
      char name[64];
      snprintf(name, sizeof name, "r%d-%d.nonexistent.invalid", r, i);
      memset(&unknown[r][i], 0, sizeof unknown[r][i]);
      ASSERT_OK(wasio_dns_resolve(loop, name, 20 * WASIO_NS_PER_S, unknown_cb, &unknown[r][i], NULL));
      pending_lookups++;
    }
    WAIT_UNTIL(loop, pending_lookups == 0);
    for (int i = 0; i < PARALLEL; i++) {
      /* The name does not exist: the resolver says so (ENAMENOTFOUND), or,
       * when the machine's name server does not answer in time (seen here
       * under load: a 5 s resolver timeout, then EAI_AGAIN), the lookup is
       * a temporary failure (EDNSTEMP). Never addresses, never another
       * error. */
      int st = unknown[r][i].status;
      if (st != WASIO_ENAMENOTFOUND) ASSERT_WASIO(WASIO_EDNSTEMP, st);
      ASSERT_EQ_INT(unknown[r][i].count, 0);
    }
  }
  uint64_t ms = elapsed_ms_since(t0);
  printf("# %d rounds of %d lookups: %llu ms; timer/echo events in one round: %d to %d\n", ROUNDS, PARALLEL,
         (unsigned long long)ms, events_min_round, events_max_round);
  if (events_max_round < 3)
    harness_fail(__FILE__, __LINE__,
                 "loop looked blocked: at most %d timer/echo events during one round of %d lookups "
                 "(%d rounds, %llu ms, %d ticks, %d round trips in all)",
                 events_max_round, PARALLEL, ROUNDS, (unsigned long long)ms, ticks_total, rtts_total);
  /* stop: let the last ping come back, then close */
  wasio_tcp_set_data(c.tcp, NULL);
  int rtts = rtts_total;
  WAIT_UNTIL(loop, rtts_total > rtts);
  wasio_timer_close(tick, NULL);
  wasio_tcp_set_data(c.tcp, &c);
  WAIT_UNTIL(loop, c.writes_pending == 0);
  ASSERT_EQ_INT(c.write_errors, 0);
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
