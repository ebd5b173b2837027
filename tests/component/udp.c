// wasio-test: net
// wasio-test: helper tests/helpers/udp_echo.py --lifetime 300
// wasio-test: timeout 60
/* tests/component/udp.c: UDP (wasio/udp.h) against tests/helpers/udp_echo.py
 * (port), which sends every datagram back unchanged and answers "?addr"
 * with the sender's address as it saw it. Loopback only. */
#include "testlib.h"

#define ECHO_PORT helper_port("port")
#define MAX_RECV 16

typedef struct urecv {
  int count, error;
  size_t len[MAX_RECV];
  uint8_t *data[MAX_RECV];
  wasio_addr_t from[MAX_RECV];
} urecv_t;

static urecv_t rx;
static int sends_done, send_errors, last_send_status, udp_closed;

static void recv_cb(wasio_udp_t *udp, ptrdiff_t nread, const void *data, const wasio_addr_t *from) {
  if (nread < 0) {
    rx.error = (int)nread;
    return;
  }
  ASSERT_LT_INT(rx.count, MAX_RECV);
  ASSERT_TRUE(from != NULL);
  int i = rx.count++;
  rx.len[i] = (size_t)nread;
  rx.data[i] = malloc((size_t)nread + 1);
  ASSERT_TRUE(rx.data[i] != NULL);
  if (nread) memcpy(rx.data[i], data, (size_t)nread);
  rx.data[i][nread] = 0;
  rx.from[i] = *from;
}

static void rx_reset(void) {
  for (int i = 0; i < rx.count; i++) free(rx.data[i]);
  memset(&rx, 0, sizeof rx);
  sends_done = send_errors = last_send_status = 0;
}

static void send_cb(wasio_udp_send_t *req, int status) {
  sends_done++;
  last_send_status = status;
  if (status) send_errors++;
}

static void udp_close_cb(wasio_udp_t *udp) { udp_closed++; }

static wasio_udp_t *udp_bound(wasio_loop_t *loop, wasio_family_t family) {
  wasio_udp_t *u;
  ASSERT_OK(wasio_udp_new(loop, &u));
  wasio_addr_t a = loopback(family, 0), local;
  ASSERT_OK(wasio_udp_bind(u, &a));
  ASSERT_OK(wasio_udp_local_addr(u, &local));
  ASSERT_EQ_INT(local.family, family);
  ASSERT_NE_INT(local.port, 0);
  return u;
}

static void udp_close_wait(wasio_loop_t *loop, wasio_udp_t *u) {
  udp_closed = 0;
  wasio_udp_close(u, udp_close_cb);
  wasio_udp_close(u, udp_close_cb); /* idempotent */
  WAIT_UNTIL(loop, udp_closed >= 1);
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT) >= 0, 1);
  ASSERT_EQ_INT(udp_closed, 1);
}

/* Sizes sent back to back, each must come back as one datagram of exactly
 * that size and content, in order: 0 (an empty datagram is a datagram), 1,
 * typical, above a 1500-byte MTU, and the largest wasio allows. */
static const size_t sizes[] = {0, 1, 100, 1472, 9000, WASIO_UDP_MAX_DATAGRAM};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void echo_sizes(wasio_family_t family) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  rx_reset();
  wasio_udp_t *u = udp_bound(loop, family);
  ASSERT_OK(wasio_udp_recv_start(u, recv_cb));
  wasio_addr_t to = loopback(family, ECHO_PORT);
  static uint8_t payload[NSIZES][WASIO_UDP_MAX_DATAGRAM];
  static wasio_udp_send_t req[NSIZES];
  for (size_t i = 0; i < NSIZES; i++) {
    tl_rng_t rng = {i + 1};
    tl_rng_fill(&rng, payload[i], sizes[i]);
    ASSERT_OK(wasio_udp_send(u, &req[i], payload[i], sizes[i], &to, send_cb));
  }
  ASSERT_EQ_INT(sends_done, 0); /* never from inside the call */
  WAIT_UNTIL(loop, rx.count == (int)NSIZES || rx.error != 0);
  ASSERT_WASIO(0, rx.error);
  ASSERT_EQ_INT(sends_done, NSIZES);
  ASSERT_EQ_INT(send_errors, 0);
  for (size_t i = 0; i < NSIZES; i++) {
    ASSERT_EQ_U64(rx.len[i], sizes[i]);
    ASSERT_EQ_MEM(rx.data[i], payload[i], sizes[i]);
    ASSERT_EQ_ADDR(&rx.from[i], &to);
  }
  ASSERT_OK(wasio_udp_recv_stop(u));
  udp_close_wait(loop, u);
  rx_reset();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(echo_sizes_ipv4) { echo_sizes(WASIO_AF_INET); }

TEST(echo_sizes_ipv6) { echo_sizes(WASIO_AF_INET6); }

/* The helper reports the address it saw: it must be ours, and the echo
 * comes from the helper's address. */
TEST(source_address) {
  const wasio_family_t fams[2] = {WASIO_AF_INET, WASIO_AF_INET6};
  for (int f = 0; f < 2; f++) {
    wasio_loop_t *loop = new_loop();
    wasio_timer_t *wd = watchdog_start(loop, 20000);
    rx_reset();
    wasio_udp_t *u = udp_bound(loop, fams[f]);
    wasio_addr_t local, to = loopback(fams[f], ECHO_PORT);
    ASSERT_OK(wasio_udp_local_addr(u, &local));
    ASSERT_OK(wasio_udp_recv_start(u, recv_cb));
    wasio_udp_send_t req;
    ASSERT_OK(wasio_udp_send(u, &req, "?addr", 5, &to, send_cb));
    WAIT_UNTIL(loop, rx.count == 1 || rx.error != 0);
    ASSERT_WASIO(0, rx.error);
    char ip[WASIO_ADDR_STRLEN], want[96];
    ASSERT_GT_INT(wasio_addr_format_ip(&local, ip, sizeof ip), 0);
    snprintf(want, sizeof want, "addr %s %u", ip, local.port);
    ASSERT_EQ_STR((const char *)rx.data[0], want);
    ASSERT_EQ_ADDR(&rx.from[0], &to);
    udp_close_wait(loop, u);
    rx_reset();
    watchdog_stop(wd);
    ASSERT_LOOP_CLOSED(loop);
  }
}

/* Connected mode: sends without an address go to the peer, and the peer's
 * datagrams arrive; a datagram from anyone else does not. */
TEST(connected_mode) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  rx_reset();
  wasio_udp_t *u, *other;
  ASSERT_OK(wasio_udp_new(loop, &u));
  wasio_addr_t peer = loopback(WASIO_AF_INET, ECHO_PORT), local;
  ASSERT_OK(wasio_udp_connect(u, &peer)); /* binds first */
  ASSERT_OK(wasio_udp_local_addr(u, &local));
  ASSERT_NE_INT(local.port, 0);
  ASSERT_OK(wasio_udp_recv_start(u, recv_cb));
  /* A stranger sends to our port first: connected mode filters it out. */
  other = udp_bound(loop, WASIO_AF_INET);
  wasio_udp_send_t sreq, req1, req2;
  wasio_addr_t us = loopback(WASIO_AF_INET, local.port);
  ASSERT_OK(wasio_udp_send(other, &sreq, "stranger", 8, &us, send_cb));
  WAIT_UNTIL(loop, sends_done == 1);
  ASSERT_WASIO(0, last_send_status);
  ASSERT_OK(wasio_udp_send(u, &req1, "one", 3, NULL, send_cb));
  ASSERT_OK(wasio_udp_send(u, &req2, "two", 3, NULL, send_cb));
  WAIT_UNTIL(loop, rx.count == 2 || rx.error != 0);
  ASSERT_WASIO(0, rx.error);
  ASSERT_EQ_STR((const char *)rx.data[0], "one");
  ASSERT_EQ_STR((const char *)rx.data[1], "two");
  ASSERT_EQ_ADDR(&rx.from[0], &peer);
  ASSERT_EQ_ADDR(&rx.from[1], &peer);
  ASSERT_EQ_INT(send_errors, 0);
  udp_close_wait(loop, other);
  udp_close_wait(loop, u);
  rx_reset();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A send on an unbound socket binds it (to the unspecified address, some
 * port), and the reply to that port arrives. */
TEST(send_binds_implicitly) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  rx_reset();
  wasio_udp_t *u;
  ASSERT_OK(wasio_udp_new(loop, &u));
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT), local;
  wasio_udp_send_t req;
  ASSERT_OK(wasio_udp_send(u, &req, "ping", 4, &to, send_cb));
  WAIT_UNTIL(loop, sends_done == 1);
  ASSERT_WASIO(0, last_send_status);
  ASSERT_OK(wasio_udp_local_addr(u, &local));
  ASSERT_EQ_INT(local.family, WASIO_AF_INET);
  ASSERT_NE_INT(local.port, 0);
  ASSERT_OK(wasio_udp_recv_start(u, recv_cb));
  WAIT_UNTIL(loop, rx.count == 1 || rx.error != 0);
  ASSERT_WASIO(0, rx.error);
  ASSERT_EQ_STR((const char *)rx.data[0], "ping");
  udp_close_wait(loop, u);
  rx_reset();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Errors that must come back at once, without calling the callback. */
TEST(send_errors) {
  wasio_loop_t *loop = new_loop();
  rx_reset();
  wasio_udp_t *u = udp_bound(loop, WASIO_AF_INET);
  static uint8_t big[WASIO_UDP_MAX_DATAGRAM + 1];
  wasio_udp_send_t req;
  wasio_addr_t to4 = loopback(WASIO_AF_INET, ECHO_PORT), to6 = loopback(WASIO_AF_INET6, ECHO_PORT);
  ASSERT_WASIO(WASIO_EMSGSIZE, wasio_udp_send(u, &req, big, sizeof big, &to4, send_cb));
  ASSERT_WASIO(WASIO_EINVAL, wasio_udp_send(u, &req, "x", 1, NULL, send_cb)); /* not connected */
  ASSERT_WASIO(WASIO_EINVAL, wasio_udp_send(u, &req, "x", 1, &to6, send_cb)); /* other family */
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  ASSERT_OK(wasio_udp_send(u, &req, "x", 1, &to4, send_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_udp_send(u, &req, "x", 1, &to4, send_cb));
  WAIT_UNTIL(loop, sends_done == 1);
  ASSERT_EQ_INT(send_errors, 0);
  udp_closed = 0;
  wasio_udp_close(u, udp_close_cb);
  ASSERT_WASIO(WASIO_ECLOSING, wasio_udp_send(u, &req, "x", 1, &to4, send_cb));
  WAIT_UNTIL(loop, udp_closed == 1);
  ASSERT_EQ_INT(sends_done, 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Closing with sends queued: every send callback runs exactly once, with 0
 * (it went out before the close) or ECANCELED, never after the close
 * callback; receiving stops without an error callback. */
static int canceled_sends, ok_sends, sends_after_close;
static void count_send_cb(wasio_udp_send_t *req, int status) {
  sends_done++;
  if (udp_closed) sends_after_close++;
  if (status == 0) ok_sends++;
  else if (status == WASIO_ECANCELED) canceled_sends++;
  else harness_fail(__FILE__, __LINE__, "send status %s", harness_err_name(status));
}

TEST(close_with_sends_queued) {
  wasio_loop_t *loop = new_loop();
  rx_reset();
  canceled_sends = ok_sends = sends_after_close = 0;
  wasio_udp_t *u = udp_bound(loop, WASIO_AF_INET);
  ASSERT_OK(wasio_udp_recv_start(u, recv_cb));
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  enum { K = 32 };
  static wasio_udp_send_t req[K];
  for (int i = 0; i < K; i++) ASSERT_OK(wasio_udp_send(u, &req[i], "q", 1, &to, count_send_cb));
  udp_closed = 0;
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_udp_close(u, udp_close_cb);
  WAIT_UNTIL(loop, udp_closed == 1);
  watchdog_stop(wd);
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(udp_closed, 1);
  ASSERT_EQ_INT(sends_done, K);
  ASSERT_EQ_INT(ok_sends + canceled_sends, K);
  ASSERT_EQ_INT(sends_after_close, 0);
  ASSERT_EQ_INT(rx.error, 0);
  rx_reset();
  ASSERT_LOOP_CLOSED(loop);
}

/* recv_stop: nothing is delivered while stopped; the datagram waits in the
 * socket and comes with the next recv_start. */
TEST(recv_stop_keeps_datagrams) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  rx_reset();
  wasio_udp_t *u = udp_bound(loop, WASIO_AF_INET);
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  wasio_udp_send_t r1, r2;
  ASSERT_OK(wasio_udp_recv_start(u, recv_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_udp_recv_start(u, recv_cb));
  ASSERT_OK(wasio_udp_send(u, &r1, "first", 5, &to, send_cb));
  WAIT_UNTIL(loop, rx.count == 1 || rx.error != 0);
  ASSERT_EQ_STR((const char *)rx.data[0], "first");
  ASSERT_OK(wasio_udp_recv_stop(u));
  ASSERT_OK(wasio_udp_recv_stop(u));
  ASSERT_OK(wasio_udp_send(u, &r2, "second", 6, &to, send_cb));
  WAIT_UNTIL(loop, sends_done == 2);
  uint64_t t0 = wasio_monotonic_ns();
  while (elapsed_ms_since(t0) < 200) ASSERT_GE_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 0);
  ASSERT_EQ_INT(rx.count, 1);
  ASSERT_OK(wasio_udp_recv_start(u, recv_cb));
  WAIT_UNTIL(loop, rx.count == 2 || rx.error != 0);
  ASSERT_WASIO(0, rx.error);
  ASSERT_EQ_STR((const char *)rx.data[1], "second");
  udp_close_wait(loop, u);
  rx_reset();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
