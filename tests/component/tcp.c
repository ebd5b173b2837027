// wasio-test: net
// wasio-test: helper tests/helpers/echo_server.py --lifetime 600
// wasio-test: helper tests/helpers/tcp_ctl.py --lifetime 600 --idle 120
// wasio-test: helper tests/helpers/tcp_blackhole.py --lifetime 600
// wasio-test: timeout 300
/* tests/component/tcp.c: TCP (wasio/tcp.h) against native helper servers,
 * over loopback only.
 *   port  = tests/helpers/echo_server.py (echo, 127.0.0.1 and ::1)
 *   port2 = tests/helpers/tcp_ctl.py     (up/down/reset/hold/connect)
 *   port3 = tests/helpers/tcp_blackhole.py (connects hang: SYNs dropped)
 */
#include "testlib.h"

#define ECHO_PORT helper_port("port")
#define CTL_PORT helper_port("port2")
#define BLACKHOLE_PORT helper_port("port3")
#define CONNECT_TIMEOUT (10 * WASIO_NS_PER_S)

/* Sends `len` test bytes and expects exactly them back, then closes. */
static void echo_exchange(wasio_loop_t *loop, tconn_t *c, size_t len, uint64_t seed) {
  uint8_t *out = malloc(len);
  ASSERT_TRUE(out != NULL);
  tl_rng_t rng = {seed};
  tl_rng_fill(&rng, out, len);
  memcpy(out, "hello wasio\n", len < 12 ? len : 12);
  tconn_read_start(c);
  tconn_write_ref(c, out, len);
  WAIT_UNTIL(loop, c->in_total >= len || c->read_status != 0);
  ASSERT_WASIO(0, c->read_status);
  ASSERT_EQ_U64(c->in_total, len);
  ASSERT_EQ_MEM(c->in, out, len);
  WAIT_UNTIL(loop, c->writes_pending == 0);
  ASSERT_EQ_INT(c->write_errors, 0);
  ASSERT_EQ_U64(wasio_tcp_write_queue_size(c->tcp), 0);
  tconn_close(loop, c);
  free(out);
}

static void echo_family(wasio_family_t family) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 300000);
  wasio_addr_t to = loopback(family, ECHO_PORT), peer, local;
  tconn_connect_ok(loop, &c, &to);
  ASSERT_OK(wasio_tcp_peer_addr(c.tcp, &peer));
  ASSERT_EQ_ADDR(&peer, &to);
  ASSERT_OK(wasio_tcp_local_addr(c.tcp, &local));
  ASSERT_EQ_INT(local.family, family);
  ASSERT_NE_INT(local.port, 0);
  wasio_addr_t lo = loopback(family, local.port);
  ASSERT_EQ_ADDR(&local, &lo);
  echo_exchange(loop, &c, 256 * 1024 + 7, 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(echo_ipv4) { echo_family(WASIO_AF_INET); }

TEST(echo_ipv6) { echo_family(WASIO_AF_INET6); }

/* connect_host resolves "localhost" through the loop and connects to one of
 * its (loopback) addresses. */
TEST(echo_by_name) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 70000);
  ASSERT_OK(wasio_tcp_connect_host(c.tcp, "localhost", ECHO_PORT, CONNECT_TIMEOUT, tconn_connect_cb));
  WAIT_UNTIL(loop, c.connected);
  ASSERT_WASIO(0, c.connect_status);
  wasio_addr_t peer, v4 = loopback(WASIO_AF_INET, ECHO_PORT), v6 = loopback(WASIO_AF_INET6, ECHO_PORT);
  ASSERT_OK(wasio_tcp_peer_addr(c.tcp, &peer));
  char s[WASIO_ADDR_STRLEN];
  if (!wasio_addr_equal(&peer, &v4) && !wasio_addr_equal(&peer, &v6))
    harness_fail(__FILE__, __LINE__, "localhost connected to %s", addr_str(&peer, s));
  echo_exchange(loop, &c, 65536, 2);

  /* A numeric host goes through the same call without a lookup. */
  tconn_new(loop, &c, 70000);
  ASSERT_OK(wasio_tcp_connect_host(c.tcp, "::1", ECHO_PORT, CONNECT_TIMEOUT, tconn_connect_cb));
  WAIT_UNTIL(loop, c.connected);
  ASSERT_WASIO(0, c.connect_status);
  ASSERT_OK(wasio_tcp_peer_addr(c.tcp, &peer));
  ASSERT_EQ_ADDR(&peer, &v6);
  echo_exchange(loop, &c, 1000, 3);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

enum { N = 200, LEN = 1500 };
static int count_connected(const tconn_t *c, int count) {
  int n = 0;
  for (int i = 0; i < count; i++) n += c[i].connected;
  return n;
}
static int count_echoed(const tconn_t *c) {
  int n = 0;
  for (int i = 0; i < N; i++) n += c[i].in_total >= LEN || c[i].read_status != 0;
  return n;
}
static int count_closed(const tconn_t *c) {
  int n = 0;
  for (int i = 0; i < N; i++) n += c[i].close_calls;
  return n;
}

/* 200 connections at once in one instance, each with its own bytes. */
TEST(echo_200_concurrent) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  static tconn_t c[N];
  static uint8_t out[N][LEN];
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  for (int i = 0; i < N; i++) {
    tl_rng_t rng = {(uint64_t)i + 100};
    tl_rng_fill(&rng, out[i], LEN);
    snprintf((char *)out[i], 16, "conn %03d:", i);
    tconn_new(loop, &c[i], LEN + 1);
    ASSERT_OK(wasio_tcp_connect(c[i].tcp, &to, CONNECT_TIMEOUT, tconn_connect_cb));
  }
  WAIT_UNTIL(loop, count_connected(c, N) == N);
  for (int i = 0; i < N; i++) {
    ASSERT_WASIO(0, c[i].connect_status);
    tconn_read_start(&c[i]);
    tconn_write_ref(&c[i], out[i], LEN);
  }
  WAIT_UNTIL(loop, count_echoed(c) == N);
  for (int i = 0; i < N; i++) {
    ASSERT_WASIO(0, c[i].read_status);
    ASSERT_EQ_U64(c[i].in_total, LEN);
    ASSERT_EQ_MEM(c[i].in, out[i], LEN);
  }
  for (int i = 0; i < N; i++) wasio_tcp_close(c[i].tcp, tconn_close_cb);
  WAIT_UNTIL(loop, count_closed(c) == N);
  for (int i = 0; i < N; i++) {
    ASSERT_EQ_INT(c[i].close_calls, 1);
    ASSERT_EQ_INT(c[i].writes_done, 1);
    free(c[i].in);
  }
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A port with nothing listening: bind a socket to get a free port, close it,
 * then connect there. */
static uint16_t closed_port(wasio_loop_t *loop, wasio_family_t family) {
  tconn_t b;
  tconn_new(loop, &b, 0);
  wasio_addr_t any = loopback(family, 0), local;
  ASSERT_OK(wasio_tcp_bind(b.tcp, &any));
  ASSERT_OK(wasio_tcp_local_addr(b.tcp, &local));
  ASSERT_NE_INT(local.port, 0);
  tconn_close(loop, &b);
  return local.port;
}

TEST(connect_refused) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  const wasio_family_t fams[2] = {WASIO_AF_INET, WASIO_AF_INET6};
  for (int f = 0; f < 2; f++) {
    wasio_addr_t to = loopback(fams[f], closed_port(loop, fams[f]));
    tconn_t c;
    tconn_new(loop, &c, 0);
    uint64_t t0 = wasio_monotonic_ns();
    ASSERT_OK(wasio_tcp_connect(c.tcp, &to, CONNECT_TIMEOUT, tconn_connect_cb));
    ASSERT_EQ_INT(c.connected, 0); /* never from inside the call */
    WAIT_UNTIL(loop, c.connected);
    ASSERT_WASIO(WASIO_ECONNREFUSED, c.connect_status);
    ASSERT_LT_INT(elapsed_ms_since(t0), 5000); /* refused at once, not timed out */
    ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_read_start(c.tcp, NULL, tconn_read_cb));
    tconn_close(loop, &c);
  }
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* tcp_blackhole.py drops our SYNs: the connect times out at its deadline. */
TEST(connect_timeout) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  wasio_addr_t to = loopback(WASIO_AF_INET, BLACKHOLE_PORT);
  uint64_t t0 = wasio_monotonic_ns();
  ASSERT_OK(wasio_tcp_connect(c.tcp, &to, 300 * MS, tconn_connect_cb));
  WAIT_UNTIL(loop, c.connected);
  uint64_t ms = elapsed_ms_since(t0);
  ASSERT_WASIO(WASIO_ETIMEDOUT, c.connect_status);
  ASSERT_GE_U64(ms, 299); /* not before the deadline (1 ms of clock rounding) */
  ASSERT_LT_INT(ms, 5000);
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Closing a handle with a connect in flight: the connect callback gets
 * ECANCELED, exactly once, before the close callback. */
TEST(connect_canceled_by_close) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  wasio_addr_t to = loopback(WASIO_AF_INET, BLACKHOLE_PORT);
  ASSERT_OK(wasio_tcp_connect(c.tcp, &to, WASIO_NO_TIMEOUT, tconn_connect_cb));
  ASSERT_WASIO(WASIO_ESTATE, wasio_tcp_connect(c.tcp, &to, WASIO_NO_TIMEOUT, tconn_connect_cb));
  /* let it really be in flight */
  uint64_t t0 = wasio_monotonic_ns();
  while (elapsed_ms_since(t0) < 100) ASSERT_GE_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 0);
  ASSERT_EQ_INT(c.connected, 0);
  wasio_tcp_close(c.tcp, tconn_close_cb);
  WAIT_UNTIL(loop, c.close_calls == 1);
  ASSERT_EQ_INT(c.connected, 1);
  ASSERT_WASIO(WASIO_ECANCELED, c.connect_status);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Calls in the wrong state fail at once and never call their callback. */
TEST(state_errors) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  wasio_write_t req;
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_read_start(c.tcp, NULL, tconn_read_cb));
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_write(c.tcp, &req, "x", 1, tconn_write_cb));
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_shutdown(c.tcp, NULL));
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  ASSERT_WASIO(WASIO_EINVAL, wasio_tcp_connect(c.tcp, &to, CONNECT_TIMEOUT, NULL));
  /* the echo helper listens on this address: binding it fails */
  tconn_t b;
  tconn_new(loop, &b, 0);
  ASSERT_WASIO(WASIO_EADDRINUSE, wasio_tcp_bind(b.tcp, &to));
  tconn_close(loop, &b);
  ASSERT_OK(wasio_tcp_keepalive(c.tcp, true, 30 * WASIO_NS_PER_S));
  tconn_connect_ok(loop, &c, &to);
  ASSERT_WASIO(WASIO_ESTATE, wasio_tcp_connect(c.tcp, &to, CONNECT_TIMEOUT, tconn_connect_cb));
  tconn_read_start(&c);
  ASSERT_WASIO(WASIO_EBUSY, wasio_tcp_read_start(c.tcp, NULL, tconn_read_cb));
  ASSERT_OK(wasio_tcp_read_stop(c.tcp));
  ASSERT_OK(wasio_tcp_read_stop(c.tcp));
  wasio_tcp_close(c.tcp, tconn_close_cb);
  ASSERT_WASIO(WASIO_ECLOSING, wasio_tcp_write(c.tcp, &req, "x", 1, tconn_write_cb));
  ASSERT_WASIO(WASIO_ECLOSING, wasio_tcp_read_start(c.tcp, NULL, tconn_read_cb));
  wasio_tcp_close(c.tcp, tconn_close_cb); /* idempotent */
  WAIT_UNTIL(loop, c.close_calls >= 1);
  ASSERT_EQ_INT(c.writes_done, 0);
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT) >= 0, 1);
  ASSERT_EQ_INT(c.close_calls, 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* The peer sends 1000 bytes, reads our "ack", then resets: we get all the
 * bytes, then ECONNRESET (not EOF). */
TEST(peer_reset) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 2000);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_read_start(&c);
  tconn_write_str(&c, "reset 1000\n");
  WAIT_UNTIL(loop, c.in_total >= 1000 || c.read_status != 0);
  ASSERT_WASIO(0, c.read_status);
  ASSERT_EQ_U64(c.in_total, 1000);
  for (int i = 0; i < 1000; i++) ASSERT_EQ_INT(c.in[i], 'r');
  tconn_write_str(&c, "ack\n");
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_ECONNRESET, c.read_status);
  ASSERT_EQ_U64(c.in_total, 1000);
  WAIT_UNTIL(loop, c.writes_pending == 0);
  ASSERT_EQ_INT(c.write_errors, 0); /* both writes were accepted before the reset */
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A write the test expects never to be queued: its callback must not run. */
static int late_calls;
static void late_write_cb(wasio_write_t *req, int status) { late_calls++; }

static int probe_calls, probe_status;
static void probe_write_cb(wasio_write_t *req, int status) {
  probe_calls++;
  probe_status = status;
}

/* Writes after the peer's reset before one fails: on wasip2 the host may
 * take a write or two before it reports the reset (natively the first
 * fails). */
#define PROBE_WRITES_MAX 200

/* A write on a stream that already failed (tcp.h): wasio_tcp_write returns
 * that same error at once and queues nothing, so its callback never runs,
 * not even when the handle closes. The peer resets the connection; the test
 * writes until the stream fails (through a write's callback, or, when the
 * failure came from bytes the backend held back, already in wasio_tcp_write),
 * then writes again. */
TEST(write_after_failure_returns_its_error) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 100);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_read_start(&c);
  tconn_write_str(&c, "reset 10\n");
  WAIT_UNTIL(loop, c.in_total >= 10 || c.read_status != 0);
  tconn_write_str(&c, "ack\n");
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_ECONNRESET, c.read_status);
  WAIT_UNTIL(loop, c.writes_pending == 0);
  int failed = c.write_errors ? c.last_write_status : 0, n = 0;
  const char *how = "in a write callback";
  static uint8_t probe[1024];
  wasio_write_t req;
  probe_calls = 0;
  while (failed == 0 && n < PROBE_WRITES_MAX) {
    int calls = probe_calls;
    int rc = wasio_tcp_write(c.tcp, &req, probe, sizeof probe, probe_write_cb);
    n++;
    ASSERT_EQ_INT(probe_calls, calls); /* never from inside the call */
    if (rc < 0) {
      failed = rc;
      how = "from wasio_tcp_write";
      break;
    }
    WAIT_UNTIL(loop, probe_calls == calls + 1);
    failed = probe_status;
    if (failed == 0) sleep_ms(loop, 10);
  }
  printf("# write %d after the reset: %s %s\n", n, how, harness_err_name(failed));
  ASSERT_LT_INT(failed, 0);
  int probe_calls_at_failure = probe_calls;
  late_calls = 0;
  wasio_write_t late;
  ASSERT_WASIO(failed, wasio_tcp_write(c.tcp, &late, "x", 1, late_write_cb));
  ASSERT_WASIO(failed, wasio_tcp_write(c.tcp, &late, "", 0, late_write_cb));
  ASSERT_EQ_U64(wasio_tcp_write_queue_size(c.tcp), 0);
  sleep_ms(loop, 50);
  ASSERT_EQ_INT(late_calls, 0);
  tconn_close(loop, &c);
  ASSERT_EQ_INT(late_calls, 0);
  ASSERT_EQ_INT(probe_calls, probe_calls_at_failure);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Half-close: after our shutdown the peer reads EOF, still answers, and we
 * read its answer, then EOF. */
TEST(half_close) {
  /* known answers of the CRC the helpers also compute (zlib.crc32) */
  ASSERT_EQ_U64(tl_crc32(0, "123456789", 9), 0xCBF43926u);
  ASSERT_EQ_U64(tl_crc32(tl_crc32(0, "hel", 3), "lo", 2), 0x3610A686u);
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 100);
  wasio_addr_t to = loopback(WASIO_AF_INET6, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_read_start(&c);
  tconn_write_str(&c, "up\n");
  tconn_write_str(&c, "hello");
  ASSERT_OK(wasio_tcp_shutdown(c.tcp, tconn_shutdown_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_tcp_shutdown(c.tcp, tconn_shutdown_cb));
  wasio_write_t late;
  ASSERT_WASIO(WASIO_EPIPE, wasio_tcp_write(c.tcp, &late, "x", 1, tconn_write_cb));
  ASSERT_EQ_INT(c.shutdown_done, 0); /* never from inside the call */
  WAIT_UNTIL(loop, c.shutdown_done);
  ASSERT_WASIO(0, c.shutdown_status);
  ASSERT_EQ_INT(c.writes_pending, 0); /* queued writes finish before the shutdown */
  ASSERT_EQ_INT(c.write_errors, 0);
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status);
  ASSERT_EQ_STR(tconn_text(&c), "5 3610a686\n");
  ASSERT_WASIO(WASIO_EOF, wasio_tcp_read_start(c.tcp, NULL, tconn_read_cb));
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- 64 MiB each way ----------------------------------------------------------- */

#define BIG (64ull << 20)
#define CHUNK (256u << 10)
#define NCHUNKS 8

typedef struct streamer {
  wasio_tcp_t *tcp;
  tl_rng_t rng;
  uint64_t left;
  uint32_t crc;
  int inflight, status;
  size_t max_queue;
  uint8_t *buf[NCHUNKS];
  wasio_write_t req[NCHUNKS];
} streamer_t;

static void streamer_cb(wasio_write_t *req, int status);

static void streamer_push(streamer_t *s, int i) {
  size_t n = s->left < CHUNK ? (size_t)s->left : CHUNK;
  tl_rng_fill(&s->rng, s->buf[i], n);
  s->crc = tl_crc32(s->crc, s->buf[i], n);
  s->req[i].data = s;
  ASSERT_OK(wasio_tcp_write(s->tcp, &s->req[i], s->buf[i], n, streamer_cb));
  s->inflight++;
  s->left -= n;
  size_t q = wasio_tcp_write_queue_size(s->tcp);
  if (q > s->max_queue) s->max_queue = q;
}

static void streamer_cb(wasio_write_t *req, int status) {
  streamer_t *s = req->data;
  s->inflight--;
  if (status != 0) {
    if (s->status == 0) s->status = status;
    return;
  }
  if (s->left && s->status == 0) streamer_push(s, (int)(req - s->req));
}

/* 64 MiB up: the helper answers with the count and CRC-32 of what it got. */
TEST(transfer_64mib_up) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 240000);
  tconn_t c;
  tconn_new(loop, &c, 100);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_read_start(&c);
  tconn_write_str(&c, "up\n");
  static streamer_t s;
  memset(&s, 0, sizeof s);
  s.tcp = c.tcp;
  s.rng.s = 0x9E3779B97F4A7C15ull;
  s.left = BIG;
  for (int i = 0; i < NCHUNKS; i++) ASSERT_TRUE((s.buf[i] = malloc(CHUNK)) != NULL);
  for (int i = 0; i < NCHUNKS; i++) streamer_push(&s, i);
  WAIT_UNTIL(loop, (s.left == 0 && s.inflight == 0) || s.status != 0 || c.read_status != 0);
  ASSERT_WASIO(0, s.status);
  ASSERT_WASIO(0, c.read_status);
  ASSERT_LE_U64(s.max_queue, (uint64_t)NCHUNKS * CHUNK + 3); /* never more than we queued */
  ASSERT_OK(wasio_tcp_shutdown(c.tcp, tconn_shutdown_cb));
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status);
  char want[64];
  snprintf(want, sizeof want, "%llu %08x\n", (unsigned long long)BIG, (unsigned)s.crc);
  ASSERT_EQ_STR(tconn_text(&c), want);
  WAIT_UNTIL(loop, c.shutdown_done);
  ASSERT_WASIO(0, c.shutdown_status);
  tconn_close(loop, &c);
  for (int i = 0; i < NCHUNKS; i++) free(s.buf[i]);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* 64 MiB down: the helper sends random bytes then their CRC-32 as text. */
TEST(transfer_64mib_down) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 240000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  c.crc_limit = BIG;
  wasio_addr_t to = loopback(WASIO_AF_INET6, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_read_start(&c);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "down %llu\n", (unsigned long long)BIG);
  tconn_write_str(&c, cmd);
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status);
  ASSERT_EQ_U64(c.in_total, BIG + 9);
  char want[16], got[16] = "";
  snprintf(want, sizeof want, "%08x\n", (unsigned)c.in_crc);
  ASSERT_GE_INT(c.tail_len, 9);
  memcpy(got, c.tail + c.tail_len - 9, 9);
  ASSERT_EQ_STR(got, want);
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- backpressure ----------------------------------------------------------------- */

#define HOLD_BYTES (32u << 20)
#define SAMPLE_MAX 4096

static wasio_tcp_t *sampled;
static size_t samples[SAMPLE_MAX];
static int nsamples;
static void sample_cb(wasio_timer_t *t) {
  if (nsamples < SAMPLE_MAX) samples[nsamples++] = wasio_tcp_write_queue_size(sampled);
}

/* True once the last `n` samples are equal (the queue stopped moving). */
static bool stalled(int n) {
  if (nsamples < n) return false;
  for (int i = nsamples - n; i < nsamples; i++)
    if (samples[i] != samples[nsamples - 1]) return false;
  return true;
}

/* Opens "hold ID" and queues 32 MiB the helper does not read yet; returns
 * once the write queue stopped moving, asserting that it is not empty. */
static uint8_t *hold_and_fill(wasio_loop_t *loop, tconn_t *c, const char *id, wasio_timer_t *sampler,
                              size_t *queued_at_stall) {
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, c, &to);
  tconn_read_start(c);
  char cmd[32];
  snprintf(cmd, sizeof cmd, "hold %s\n", id);
  tconn_write_str(c, cmd);
  uint8_t *big = malloc(HOLD_BYTES);
  ASSERT_TRUE(big != NULL);
  tl_rng_t rng = {7};
  tl_rng_fill(&rng, big, HOLD_BYTES);
  tconn_write_ref(c, big, HOLD_BYTES);
  /* Queued and not yet accepted: the queue has grown. */
  ASSERT_GT_INT(wasio_tcp_write_queue_size(c->tcp), 0);
  sampled = c->tcp;
  nsamples = 0;
  ASSERT_OK(wasio_timer_start(sampler, sample_cb, 20 * MS, 20 * MS));
  WAIT_UNTIL(loop, stalled(10) || c->writes_pending == 0);
  ASSERT_OK(wasio_timer_stop(sampler));
  /* The peer reads nothing: the stream must not have taken all 32 MiB, so
   * the big write (the last one queued; writes complete in order) is still
   * pending. */
  ASSERT_GT_INT(c->writes_pending, 0);
  *queued_at_stall = wasio_tcp_write_queue_size(c->tcp);
  printf("# the peer holds: %zu of %u bytes still queued in wasio\n", *queued_at_stall, HOLD_BYTES);
  ASSERT_GT_INT(*queued_at_stall, 0);
  ASSERT_LE_U64(*queued_at_stall, HOLD_BYTES);
  return big;
}

/* write_queue_size grows while the peer does not read, then drains to 0
 * once it reads; the bytes arrive intact. */
TEST(write_backpressure) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_timer_t *sampler;
  ASSERT_OK(wasio_timer_new(loop, &sampler));
  tconn_t c, r;
  tconn_new(loop, &c, 100);
  size_t stall;
  uint8_t *big = hold_and_fill(loop, &c, "bp", sampler, &stall);
  /* release the hold through a second connection */
  tconn_new(loop, &r, 100);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &r, &to);
  tconn_read_start(&r);
  tconn_write_str(&r, "release bp\n");
  WAIT_UNTIL(loop, r.read_status != 0);
  ASSERT_EQ_STR(tconn_text(&r), "ok\n");
  tconn_close(loop, &r);
  /* now it drains: never above the stalled size again, down to 0 */
  nsamples = 0;
  ASSERT_OK(wasio_timer_start(sampler, sample_cb, 5 * MS, 5 * MS));
  WAIT_UNTIL(loop, c.writes_pending == 0);
  ASSERT_EQ_INT(c.write_errors, 0);
  ASSERT_EQ_U64(wasio_tcp_write_queue_size(c.tcp), 0);
  for (int i = 0; i < nsamples; i++) ASSERT_LE_U64(samples[i], stall);
  for (int i = 1; i < nsamples; i++) ASSERT_LE_U64(samples[i], samples[i - 1]);
  wasio_timer_close(sampler, NULL);
  ASSERT_OK(wasio_tcp_shutdown(c.tcp, NULL));
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status);
  char want[64];
  snprintf(want, sizeof want, "%u %08x\n", HOLD_BYTES, (unsigned)tl_crc32(0, big, HOLD_BYTES));
  ASSERT_EQ_STR(tconn_text(&c), want);
  tconn_close(loop, &c);
  free(big);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Closing with writes queued: each write callback gets ECANCELED, exactly
 * once, before the close callback. */
TEST(close_cancels_writes) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_timer_t *sampler;
  ASSERT_OK(wasio_timer_new(loop, &sampler));
  tconn_t c, r;
  tconn_new(loop, &c, 100);
  size_t stall;
  uint8_t *big = hold_and_fill(loop, &c, "cc", sampler, &stall);
  tconn_write_str(&c, "and one more");
  int pending = c.writes_pending;
  ASSERT_GE_INT(pending, 2);
  int done_before = c.writes_done;
  /* Closing must not wait for the peer: the helper holds for 30 s. */
  uint64_t t0 = wasio_monotonic_ns();
  wasio_tcp_close(c.tcp, tconn_close_cb);
  uint64_t close_ms = elapsed_ms_since(t0);
  WAIT_UNTIL(loop, c.close_calls == 1);
  if (close_ms > 2000 || elapsed_ms_since(t0) > 2000)
    harness_fail(__FILE__, __LINE__, "closing blocked: wasio_tcp_close() took %llu ms, its callback came after %llu ms",
                 (unsigned long long)close_ms, (unsigned long long)elapsed_ms_since(t0));
  ASSERT_EQ_INT(c.writes_pending, 0);
  ASSERT_EQ_INT(c.writes_done - done_before, pending);
  ASSERT_EQ_INT(c.write_errors, pending);
  ASSERT_WASIO(WASIO_ECANCELED, c.last_write_status);
  free(c.in);
  free(big);
  /* let the helper's hold thread go */
  tconn_new(loop, &r, 100);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &r, &to);
  tconn_read_start(&r);
  tconn_write_str(&r, "release cc\n");
  WAIT_UNTIL(loop, r.read_status != 0);
  tconn_close(loop, &r);
  wasio_timer_close(sampler, NULL);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* An idle timeout ends a read nobody answers with ETIMEDOUT. */
TEST(idle_timeout) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 100);
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  tconn_connect_ok(loop, &c, &to);
  ASSERT_OK(wasio_tcp_set_idle_timeout(c.tcp, 150 * MS));
  uint64_t t0 = wasio_monotonic_ns();
  tconn_read_start(&c);
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_ETIMEDOUT, c.read_status);
  ASSERT_GE_U64(elapsed_ms_since(t0), 149);
  ASSERT_LT_INT(elapsed_ms_since(t0), 5000);
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- wasio as a server -------------------------------------------------------------- */

#define MAX_ACCEPTED 4
static tconn_t accepted[MAX_ACCEPTED];
static int naccepted, accept_errors;
static size_t accept_in_max;

static void on_connection(wasio_tcp_t *server, wasio_tcp_t *client, int status) {
  if (status != 0) {
    accept_errors++;
    ASSERT_TRUE(client == NULL);
    return;
  }
  ASSERT_LT_INT(naccepted, MAX_ACCEPTED);
  tconn_adopt(&accepted[naccepted++], client, accept_in_max);
}

static wasio_tcp_t *listen_on(wasio_loop_t *loop, wasio_family_t family, wasio_addr_t *bound) {
  wasio_tcp_t *srv;
  ASSERT_OK(wasio_tcp_new(loop, &srv));
  wasio_addr_t a = loopback(family, 0);
  ASSERT_OK(wasio_tcp_bind(srv, &a));
  ASSERT_OK(wasio_tcp_listen(srv, 16, on_connection));
  ASSERT_OK(wasio_tcp_local_addr(srv, bound));
  ASSERT_EQ_INT(bound->family, family);
  ASSERT_NE_INT(bound->port, 0);
  naccepted = accept_errors = 0;
  return srv;
}

static int listener_closed;
static void listener_close_cb(wasio_tcp_t *t) { listener_closed++; }

/* A wasio listener and a wasio client in the same loop, both families. */
TEST(client_server_same_loop) {
  const wasio_family_t fams[2] = {WASIO_AF_INET, WASIO_AF_INET6};
  for (int f = 0; f < 2; f++) {
    wasio_loop_t *loop = new_loop();
    wasio_timer_t *wd = watchdog_start(loop, 20000);
    wasio_addr_t bound;
    accept_in_max = 1000;
    wasio_tcp_t *srv = listen_on(loop, fams[f], &bound);
    tconn_t c;
    tconn_new(loop, &c, 1000);
    tconn_connect_ok(loop, &c, &bound);
    WAIT_UNTIL(loop, naccepted == 1);
    tconn_t *s = &accepted[0];
    /* the two ends agree on who is who */
    wasio_addr_t c_local, c_peer, s_local, s_peer;
    ASSERT_OK(wasio_tcp_local_addr(c.tcp, &c_local));
    ASSERT_OK(wasio_tcp_peer_addr(c.tcp, &c_peer));
    ASSERT_OK(wasio_tcp_local_addr(s->tcp, &s_local));
    ASSERT_OK(wasio_tcp_peer_addr(s->tcp, &s_peer));
    ASSERT_EQ_ADDR(&c_peer, &bound);
    ASSERT_EQ_ADDR(&s_local, &bound);
    ASSERT_EQ_ADDR(&s_peer, &c_local);
    /* client -> server, half-close, server answers, both see EOF */
    tconn_read_start(s);
    tconn_read_start(&c);
    tconn_write_str(&c, "ping from the client\n");
    ASSERT_OK(wasio_tcp_shutdown(c.tcp, NULL));
    WAIT_UNTIL(loop, s->read_status != 0);
    ASSERT_WASIO(WASIO_EOF, s->read_status);
    ASSERT_EQ_STR(tconn_text(s), "ping from the client\n");
    tconn_write_str(s, "pong from the server\n");
    ASSERT_OK(wasio_tcp_shutdown(s->tcp, tconn_shutdown_cb));
    WAIT_UNTIL(loop, c.read_status != 0);
    ASSERT_WASIO(WASIO_EOF, c.read_status);
    ASSERT_EQ_STR(tconn_text(&c), "pong from the server\n");
    WAIT_UNTIL(loop, s->shutdown_done);
    ASSERT_WASIO(0, s->shutdown_status);
    tconn_close(loop, &c);
    tconn_close(loop, s);
    listener_closed = 0;
    wasio_tcp_close(srv, listener_close_cb);
    WAIT_UNTIL(loop, listener_closed == 1);
    ASSERT_EQ_INT(accept_errors, 0);
    watchdog_stop(wd);
    ASSERT_LOOP_CLOSED(loop);
  }
}

#define CLIENT_HELLO "hello from a native client\n"

/* A wasio server driven by a native client: tcp_ctl.py connects to our
 * port, sends CLIENT_HELLO, reads our answer to EOF, and reports its count
 * and CRC-32 on the control connection. */
TEST(server_native_client) {
  const wasio_family_t fams[2] = {WASIO_AF_INET, WASIO_AF_INET6};
  for (int f = 0; f < 2; f++) {
    wasio_loop_t *loop = new_loop();
    wasio_timer_t *wd = watchdog_start(loop, 30000);
    wasio_addr_t bound;
    accept_in_max = 1000;
    wasio_tcp_t *srv = listen_on(loop, fams[f], &bound);
    char ip[WASIO_ADDR_STRLEN], cmd[128];
    ASSERT_GT_INT(wasio_addr_format_ip(&bound, ip, sizeof ip), 0);
    snprintf(cmd, sizeof cmd, "connect %u %s\n", bound.port, ip);
    tconn_t ctl;
    tconn_new(loop, &ctl, 200);
    wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
    tconn_connect_ok(loop, &ctl, &to);
    tconn_read_start(&ctl);
    tconn_write_str(&ctl, cmd);
    WAIT_UNTIL(loop, naccepted == 1 || ctl.read_status != 0);
    ASSERT_EQ_INT(naccepted, 1);
    tconn_t *s = &accepted[0];
    tconn_read_start(s);
    WAIT_UNTIL(loop, s->read_status != 0);
    ASSERT_WASIO(WASIO_EOF, s->read_status);
    ASSERT_EQ_STR(tconn_text(s), CLIENT_HELLO);
    /* answer with 1 MiB and a last line, then half-close */
    enum { ANSWER = 1 << 20 };
    uint8_t *answer = malloc(ANSWER);
    ASSERT_TRUE(answer != NULL);
    tl_rng_t rng = {11};
    tl_rng_fill(&rng, answer, ANSWER);
    tconn_write_ref(s, answer, ANSWER);
    tconn_write_str(s, "bye\n");
    ASSERT_OK(wasio_tcp_shutdown(s->tcp, tconn_shutdown_cb));
    WAIT_UNTIL(loop, ctl.read_status != 0);
    ASSERT_WASIO(WASIO_EOF, ctl.read_status);
    char want[64];
    snprintf(want, sizeof want, "ok %u %08x\n", ANSWER + 4, (unsigned)tl_crc32(tl_crc32(0, answer, ANSWER), "bye\n", 4));
    ASSERT_EQ_STR(tconn_text(&ctl), want);
    WAIT_UNTIL(loop, s->shutdown_done);
    ASSERT_WASIO(0, s->shutdown_status);
    ASSERT_EQ_INT(s->write_errors, 0);
    tconn_close(loop, s);
    tconn_close(loop, &ctl);
    free(answer);
    listener_closed = 0;
    wasio_tcp_close(srv, listener_close_cb);
    WAIT_UNTIL(loop, listener_closed == 1);
    watchdog_stop(wd);
    ASSERT_LOOP_CLOSED(loop);
  }
}

/* The loop time after a long wait that I/O ended (issue 9, defect 1): a
 * listener waits, idle, for IDLE_WAIT_MS until tcp_ctl.py connects. In the
 * accept callback the loop's cached time must be the time of the event,
 * not of the turn's start (it was IDLE_WAIT_MS old on wasip2), and a timer
 * started there must wait its whole timeout (it fired at once). The idle
 * wait is longer than the timer, so the old code fails both checks. */
#define IDLE_WAIT_MS 1500
#define AFTER_IDLE_TIMER_MS 1000
static wasio_loop_t *idle_loop;
static uint64_t idle_stale_ns, idle_timer_started_ns, idle_timer_fired_ns;
static wasio_timer_t *idle_timer;
static void idle_timer_cb(wasio_timer_t *t) { idle_timer_fired_ns = wasio_monotonic_ns(); }
static void idle_on_connection(wasio_tcp_t *server, wasio_tcp_t *client, int status) {
  ASSERT_WASIO(0, status);
  uint64_t mono = wasio_monotonic_ns(), cached = wasio_loop_now(idle_loop);
  idle_stale_ns = mono > cached ? mono - cached : 0;
  idle_timer_started_ns = mono;
  ASSERT_OK(wasio_timer_start(idle_timer, idle_timer_cb, AFTER_IDLE_TIMER_MS * MS, 0));
  ASSERT_LT_INT(naccepted, MAX_ACCEPTED);
  tconn_adopt(&accepted[naccepted++], client, 1000);
}

TEST(loop_time_after_idle_wait) {
  wasio_loop_t *loop = idle_loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  ASSERT_OK(wasio_timer_new(loop, &idle_timer));
  idle_timer_fired_ns = 0;
  wasio_tcp_t *srv;
  ASSERT_OK(wasio_tcp_new(loop, &srv));
  wasio_addr_t a = loopback(WASIO_AF_INET, 0), bound;
  ASSERT_OK(wasio_tcp_bind(srv, &a));
  ASSERT_OK(wasio_tcp_listen(srv, 16, idle_on_connection));
  ASSERT_OK(wasio_tcp_local_addr(srv, &bound));
  naccepted = accept_errors = 0;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "connect %u 127.0.0.1 %d\n", bound.port, IDLE_WAIT_MS);
  tconn_t ctl;
  tconn_new(loop, &ctl, 200);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &ctl, &to);
  tconn_read_start(&ctl);
  tconn_write_str(&ctl, cmd);
  uint64_t t0 = wasio_monotonic_ns();
  WAIT_UNTIL(loop, naccepted == 1 || ctl.read_status != 0);
  ASSERT_EQ_INT(naccepted, 1);
  uint64_t waited_ms = elapsed_ms_since(t0);
  printf("# idle %llu ms; loop time %llu us old in the accept callback\n",
         (unsigned long long)waited_ms, (unsigned long long)(idle_stale_ns / 1000));
  ASSERT_GE_U64(waited_ms, IDLE_WAIT_MS - 100);
  ASSERT_LT_U64(idle_stale_ns / MS, 250);
  WAIT_UNTIL(loop, idle_timer_fired_ns != 0);
  uint64_t timer_ms = (idle_timer_fired_ns - idle_timer_started_ns) / MS;
  printf("# a %d ms timer started in the callback fired after %llu ms\n", AFTER_IDLE_TIMER_MS,
         (unsigned long long)timer_ms);
  ASSERT_GE_U64(timer_ms + 250, AFTER_IDLE_TIMER_MS);
  tconn_t *s = &accepted[0];
  tconn_read_start(s);
  WAIT_UNTIL(loop, s->read_status != 0);
  ASSERT_EQ_STR(tconn_text(s), CLIENT_HELLO);
  ASSERT_OK(wasio_tcp_shutdown(s->tcp, tconn_shutdown_cb));
  WAIT_UNTIL(loop, ctl.read_status != 0);
  ASSERT_EQ_STR(tconn_text(&ctl), "ok 0 00000000\n");
  tconn_close(loop, s);
  tconn_close(loop, &ctl);
  wasio_timer_close(idle_timer, NULL);
  listener_closed = 0;
  wasio_tcp_close(srv, listener_close_cb);
  WAIT_UNTIL(loop, listener_closed == 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- reading: stop/start, custom buffers, close from a callback, fairness ---- */

/* read_stop leaves data in the socket; read_start later gets all of it. */
TEST(read_stop_keeps_data) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 4096);
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_write_str(&c, "kept while not reading\n");
  WAIT_UNTIL(loop, c.writes_pending == 0);
  /* the echo comes back while we do not read: nothing may be delivered */
  uint64_t t0 = wasio_monotonic_ns();
  while (elapsed_ms_since(t0) < 200) ASSERT_GE_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 0);
  ASSERT_EQ_U64(c.in_total, 0);
  tconn_read_start(&c);
  WAIT_UNTIL(loop, tconn_has_line(&c) || c.read_status != 0);
  ASSERT_EQ_STR(tconn_text(&c), "kept while not reading\n");
  /* stop and start again on a live stream */
  ASSERT_OK(wasio_tcp_read_stop(c.tcp));
  c.reading = false;
  c.in_len = 0;
  tconn_write_str(&c, "second\n");
  t0 = wasio_monotonic_ns();
  while (elapsed_ms_since(t0) < 100) ASSERT_GE_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 0);
  ASSERT_EQ_U64(c.in_len, 0);
  tconn_read_start(&c);
  WAIT_UNTIL(loop, tconn_has_line(&c) || c.read_status != 0);
  ASSERT_EQ_STR(tconn_text(&c), "second\n");
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* An alloc callback chooses where reads land; a NULL buffer fails that read
 * with ENOMEM and stops reading. */
static uint8_t user_buf[100];
static int allocs, alloc_null_after;
static size_t alloc_suggested;
static void user_alloc(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  allocs++;
  alloc_suggested = suggested;
  if (allocs > alloc_null_after) {
    buf->base = NULL;
    buf->len = 0;
    return;
  }
  buf->base = user_buf;
  buf->len = sizeof user_buf;
}
static void user_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  tconn_t *c = wasio_tcp_data(tcp);
  if (nread > 0) ASSERT_TRUE(buf->base == user_buf); /* our buffer, not the loop's */
  ASSERT_LE_INT(nread, (ptrdiff_t)sizeof user_buf);
  c->reading = true;
  tconn_read_cb(tcp, nread, buf);
}

TEST(alloc_callback) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 1000);
  wasio_addr_t to = loopback(WASIO_AF_INET, ECHO_PORT);
  tconn_connect_ok(loop, &c, &to);
  allocs = 0;
  alloc_null_after = 1000000;
  ASSERT_OK(wasio_tcp_read_start(c.tcp, user_alloc, user_read_cb));
  c.reading = true;
  uint8_t msg[250];
  for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)('a' + i % 26);
  tconn_write(&c, msg, sizeof msg);
  WAIT_UNTIL(loop, c.in_total >= sizeof msg || c.read_status != 0);
  ASSERT_WASIO(0, c.read_status);
  ASSERT_EQ_MEM(c.in, msg, sizeof msg);
  ASSERT_GE_INT(allocs, 3); /* 250 bytes through a 100-byte buffer */
  ASSERT_EQ_U64(alloc_suggested, WASIO_READ_BUF_SIZE);
  /* now refuse a buffer: the next read fails with ENOMEM and reading stops */
  alloc_null_after = allocs;
  tconn_write_str(&c, "more");
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_ENOMEM, c.read_status);
  tconn_close(loop, &c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Closing from inside a read callback: no read callback after it, and the
 * close callback runs once. */
static int reads_after_close;
static void close_in_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  tconn_t *c = wasio_tcp_data(tcp);
  if (c->close_calls || c->reading == false) reads_after_close++;
  c->reading = false; /* marks "closed from here" */
  wasio_tcp_close(tcp, tconn_close_cb);
}

TEST(close_inside_read_callback) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  reads_after_close = 0;
  c.reading = true;
  ASSERT_OK(wasio_tcp_read_start(c.tcp, NULL, close_in_read_cb));
  /* 4 MiB arrive, far more than one read: the first read callback closes */
  tconn_write_str(&c, "down 4194304\n");
  WAIT_UNTIL(loop, c.close_calls == 1);
  ASSERT_EQ_INT(reads_after_close, 0);
  ASSERT_EQ_INT(c.reading, 0); /* a read callback did run */
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* wasio.h's rule for close: the callbacks it owes (a pending connect,
 * writes) run in phase 4, before the close callback, never from inside
 * wasio_tcp_close. Writes the stream took before the close complete with
 * 0, the rest with WASIO_ECANCELED. The peer is a listener of the same loop
 * that never reads, so a large write cannot complete. */
static int cc_order, cc_connect_at, cc_close_at, cc_write_at[3], cc_write_status[3];
static bool cc_connected;
static void cc_connect_cb(wasio_tcp_t *tcp, int status) {
  ASSERT_WASIO(WASIO_ECANCELED, status);
  cc_connect_at = ++cc_order;
}
static void cc_connected_cb(wasio_tcp_t *tcp, int status) {
  ASSERT_OK(status);
  cc_connected = true;
}
static void cc_close_cb(wasio_tcp_t *tcp) { cc_close_at = ++cc_order; }
static void cc_write_cb(wasio_write_t *req, int status) {
  int i = (int)(intptr_t)req->data;
  cc_write_at[i] = ++cc_order;
  cc_write_status[i] = status;
}

TEST(close_runs_cancellations_in_phase_4) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_addr_t bound;
  accept_in_max = 0;
  wasio_tcp_t *srv = listen_on(loop, WASIO_AF_INET, &bound);
  /* A connect in flight. */
  wasio_tcp_t *a;
  ASSERT_OK(wasio_tcp_new(loop, &a));
  ASSERT_OK(wasio_tcp_connect(a, &bound, CONNECT_TIMEOUT, cc_connect_cb));
  cc_order = cc_connect_at = cc_close_at = 0;
  wasio_tcp_close(a, cc_close_cb);
  ASSERT_EQ_INT(cc_order, 0);
  WAIT_UNTIL(loop, cc_close_at != 0);
  ASSERT_EQ_INT(cc_connect_at, 1);
  ASSERT_EQ_INT(cc_close_at, 2);
  /* Writes queued, then the close: a small one the stream takes, one too
   * large for what it buffers, one after it. */
  wasio_tcp_t *b;
  ASSERT_OK(wasio_tcp_new(loop, &b));
  cc_connected = false;
  ASSERT_OK(wasio_tcp_connect(b, &bound, CONNECT_TIMEOUT, cc_connected_cb));
  WAIT_UNTIL(loop, cc_connected);
  enum { BIG_CC = 32 << 20 };
  uint8_t *big = calloc(1, BIG_CC);
  ASSERT_TRUE(big != NULL);
  static wasio_write_t reqs[3];
  const size_t lens[3] = {1, BIG_CC, 1};
  for (int i = 0; i < 3; i++) {
    reqs[i].data = (void *)(intptr_t)i;
    ASSERT_OK(wasio_tcp_write(b, &reqs[i], big, lens[i], cc_write_cb));
  }
  cc_order = cc_close_at = 0;
  wasio_tcp_close(b, cc_close_cb);
  ASSERT_EQ_INT(cc_order, 0);
  WAIT_UNTIL(loop, cc_close_at != 0);
  ASSERT_EQ_INT(cc_write_at[0], 1);
  ASSERT_EQ_INT(cc_write_at[1], 2);
  ASSERT_EQ_INT(cc_write_at[2], 3);
  ASSERT_EQ_INT(cc_close_at, 4);
  ASSERT_OK(cc_write_status[0]);
  ASSERT_WASIO(WASIO_ECANCELED, cc_write_status[1]);
  ASSERT_WASIO(WASIO_ECANCELED, cc_write_status[2]);
  free(big);
  for (int i = 0; i < naccepted; i++) tconn_close(loop, &accepted[i]);
  listener_closed = 0;
  wasio_tcp_close(srv, listener_close_cb);
  WAIT_UNTIL(loop, listener_closed == 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Writes complete in order, a 0-byte write after the ones before it. */
static int order_log[8], order_len;
static void order_write_cb(wasio_write_t *req, int status) {
  ASSERT_WASIO(0, status);
  order_log[order_len++] = (int)(intptr_t)req->data;
}

TEST(writes_complete_in_order) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_read_start(&c);
  static wasio_write_t req[5];
  enum { BIG_W = 3 << 20 };
  uint8_t *big = calloc(1, BIG_W);
  ASSERT_TRUE(big != NULL);
  const void *base[5] = {"up\n", big, "", "tail", ""};
  size_t len[5] = {3, BIG_W, 0, 4, 0};
  order_len = 0;
  for (int i = 0; i < 5; i++) {
    req[i].data = (void *)(intptr_t)i;
    ASSERT_OK(wasio_tcp_write(c.tcp, &req[i], base[i], len[i], order_write_cb));
  }
  ASSERT_WASIO(WASIO_EBUSY, wasio_tcp_write(c.tcp, &req[1], big, 1, order_write_cb));
  ASSERT_EQ_INT(order_len, 0); /* never from inside the call */
  WAIT_UNTIL(loop, order_len == 5);
  for (int i = 0; i < 5; i++) ASSERT_EQ_INT(order_log[i], i);
  ASSERT_OK(wasio_tcp_shutdown(c.tcp, NULL));
  c.in = malloc(64);
  c.in_max = 64;
  WAIT_UNTIL(loop, c.read_status != 0);
  char want[64];
  snprintf(want, sizeof want, "%u %08x\n", BIG_W + 4, (unsigned)tl_crc32(tl_crc32(0, big, BIG_W), "tail", 4));
  ASSERT_EQ_STR(tconn_text(&c), want);
  tconn_close(loop, &c);
  free(big);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A busy stream gets at most WASIO_IO_CALLBACKS_PER_TURN read callbacks per
 * turn, and an echo ping-pong on another connection keeps being served. */
static uint64_t fair_turn;
static int fair_in_turn, fair_max_in_turn;
static void fair_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  wasio_loop_stats_t st;
  wasio_loop_stats(wasio_tcp_loop(tcp), &st);
  if (st.turns != fair_turn) {
    fair_turn = st.turns;
    fair_in_turn = 0;
  }
  if (++fair_in_turn > fair_max_in_turn) fair_max_in_turn = fair_in_turn;
  tconn_read_cb(tcp, nread, buf);
}

TEST(io_fairness) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 120000);
  tconn_t bulk, ping;
  tconn_new(loop, &bulk, 0);
  tconn_new(loop, &ping, 64);
  wasio_addr_t ctl = loopback(WASIO_AF_INET, CTL_PORT), echo = loopback(WASIO_AF_INET, ECHO_PORT);
  tconn_connect_ok(loop, &bulk, &ctl);
  tconn_connect_ok(loop, &ping, &echo);
  fair_turn = UINT64_MAX;
  fair_in_turn = fair_max_in_turn = 0;
  bulk.reading = true;
  ASSERT_OK(wasio_tcp_read_start(bulk.tcp, NULL, fair_read_cb));
  tconn_read_start(&ping);
  tconn_write_str(&bulk, "down 67108864\n");
  /* ping-pong while the bulk stream runs */
  int rtts = 0;
  while (bulk.read_status == 0 && rtts < 1000000) {
    ping.in_len = 0;
    tconn_write_str(&ping, "p\n");
    WAIT_UNTIL(loop, tconn_has_line(&ping) || ping.read_status != 0 || bulk.read_status != 0);
    if (tconn_has_line(&ping)) rtts++;
  }
  WAIT_UNTIL(loop, bulk.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, bulk.read_status);
  ASSERT_EQ_U64(bulk.in_total, (64u << 20) + 9);
  ASSERT_LE_INT(fair_max_in_turn, WASIO_IO_CALLBACKS_PER_TURN);
  ASSERT_GE_INT(rtts, 2); /* served during the 64 MiB */
  printf("# fairness: at most %d bulk reads in one turn; %d echo round trips during 64 MiB\n",
         fair_max_in_turn, rtts);
  tconn_close(loop, &bulk);
  tconn_close(loop, &ping);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* connect_host with a name that does not resolve: the callback (not the
 * call) reports the lookup's error. */
TEST(connect_host_unknown) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 40000);
  tconn_t c;
  tconn_new(loop, &c, 0);
  ASSERT_OK(wasio_tcp_connect_host(c.tcp, "nonexistent.invalid", 80, 30 * WASIO_NS_PER_S, tconn_connect_cb));
  ASSERT_EQ_INT(c.connected, 0);
  WAIT_UNTIL(loop, c.connected);
  ASSERT_WASIO(WASIO_ENAMENOTFOUND, c.connect_status);
  tconn_close(loop, &c);
  /* the name's length is checked at once */
  tconn_new(loop, &c, 0);
  char longname[WASIO_DNS_MAX_NAME + 2];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_tcp_connect_host(c.tcp, longname, 80, 0, tconn_connect_cb));
  tconn_close(loop, &c);
  ASSERT_EQ_INT(c.connected, 0);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* The idle timeout covers writes too: with the peer not reading, the queued
 * write fails with ETIMEDOUT, and so does the pending read, first (tcp.h's
 * order: the read callback, then each queued write). The stream has then
 * failed: a later write returns ETIMEDOUT at once and queues nothing. */
TEST(idle_timeout_write) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_timer_t *sampler;
  ASSERT_OK(wasio_timer_new(loop, &sampler));
  tconn_t c, r;
  tconn_new(loop, &c, 100);
  size_t stall;
  uint8_t *big = hold_and_fill(loop, &c, "it", sampler, &stall);
  ASSERT_OK(wasio_tcp_set_idle_timeout(c.tcp, 200 * MS));
  uint64_t t0 = wasio_monotonic_ns();
  WAIT_UNTIL(loop, c.writes_pending == 0);
  ASSERT_GE_U64(elapsed_ms_since(t0), 150); /* the timer may have started before the stall ended */
  ASSERT_WASIO(WASIO_ETIMEDOUT, c.last_write_status);
  ASSERT_WASIO(WASIO_ETIMEDOUT, c.read_status);
  ASSERT_GT_INT(c.read_end_at, 0);
  ASSERT_LT_INT(c.read_end_at, c.first_write_error_at);
  ASSERT_EQ_INT(c.events, c.writes_done + 1); /* one read end, every write */
  wasio_write_t late;
  late_calls = 0;
  ASSERT_WASIO(WASIO_ETIMEDOUT, wasio_tcp_write(c.tcp, &late, "x", 1, late_write_cb));
  ASSERT_EQ_U64(wasio_tcp_write_queue_size(c.tcp), 0);
  tconn_close(loop, &c);
  ASSERT_EQ_INT(late_calls, 0);
  free(big);
  tconn_new(loop, &r, 100);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &r, &to);
  tconn_read_start(&r);
  tconn_write_str(&r, "release it\n");
  WAIT_UNTIL(loop, r.read_status != 0);
  tconn_close(loop, &r);
  wasio_timer_close(sampler, NULL);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A burst of 64 wasio clients against a wasio listener in the same loop:
 * every connection is accepted once and gets its own bytes back. */
enum { BURST = 64 };
static tconn_t burst_srv[BURST];
static int burst_accepted;
static void burst_echo_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  tconn_t *s = wasio_tcp_data(tcp);
  if (nread < 0) {
    s->read_status = (int)nread;
    if (nread == WASIO_EOF) ASSERT_OK(wasio_tcp_shutdown(tcp, NULL));
    return;
  }
  tconn_write(s, buf->base, (size_t)nread);
}
static void burst_on_connection(wasio_tcp_t *server, wasio_tcp_t *client, int status) {
  ASSERT_WASIO(0, status);
  ASSERT_LT_INT(burst_accepted, BURST);
  tconn_t *s = &burst_srv[burst_accepted++];
  tconn_adopt(s, client, 0);
  ASSERT_OK(wasio_tcp_read_start(client, NULL, burst_echo_cb));
}
static int count_done(const tconn_t *c, int n) {
  int k = 0;
  for (int i = 0; i < n; i++) k += c[i].read_status != 0;
  return k;
}

TEST(server_accepts_burst) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_tcp_t *srv;
  ASSERT_OK(wasio_tcp_new(loop, &srv));
  wasio_addr_t a = loopback(WASIO_AF_INET, 0), bound;
  ASSERT_OK(wasio_tcp_bind(srv, &a));
  ASSERT_OK(wasio_tcp_listen(srv, BURST * 2, burst_on_connection));
  ASSERT_OK(wasio_tcp_local_addr(srv, &bound));
  burst_accepted = 0;
  static tconn_t cli[BURST];
  char msg[BURST][32];
  for (int i = 0; i < BURST; i++) {
    tconn_new(loop, &cli[i], 64);
    ASSERT_OK(wasio_tcp_connect(cli[i].tcp, &bound, CONNECT_TIMEOUT, tconn_connect_cb));
    snprintf(msg[i], sizeof msg[i], "client %d of the burst\n", i);
  }
  WAIT_UNTIL(loop, count_connected(cli, BURST) == BURST && burst_accepted == BURST);
  for (int i = 0; i < BURST; i++) {
    WAIT_UNTIL(loop, cli[i].connected);
    ASSERT_WASIO(0, cli[i].connect_status);
    tconn_read_start(&cli[i]);
    tconn_write_str(&cli[i], msg[i]);
    ASSERT_OK(wasio_tcp_shutdown(cli[i].tcp, NULL));
  }
  WAIT_UNTIL(loop, count_done(cli, BURST) == BURST);
  for (int i = 0; i < BURST; i++) {
    ASSERT_WASIO(WASIO_EOF, cli[i].read_status);
    ASSERT_EQ_STR(tconn_text(&cli[i]), msg[i]);
  }
  for (int i = 0; i < BURST; i++) {
    tconn_close(loop, &cli[i]);
    tconn_close(loop, &burst_srv[i]);
  }
  listener_closed = 0;
  wasio_tcp_close(srv, listener_close_cb);
  WAIT_UNTIL(loop, listener_closed == 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- many small writes (gathered by the wasip2 backend) ---------------------------- */

#define TRAIN_WRITES 700
static wasio_write_t train_req[TRAIN_WRITES];
static int train_calls[TRAIN_WRITES], train_status[TRAIN_WRITES];
static int train_next, train_order_errors, train_done, train_close_at;
static wasio_tcp_t *train_tcp;
static int train_close_calls;

static void train_close_cb(wasio_tcp_t *tcp) {
  (void)tcp;
  train_close_calls++;
}

static void train_write_cb(wasio_write_t *req, int status) {
  int i = (int)(req - train_req);
  ASSERT_TRUE(i >= 0 && i < TRAIN_WRITES);
  ASSERT_EQ_INT(train_close_calls, 0); /* never after the close callback */
  train_calls[i]++;
  train_status[i] = status;
  if (i != train_next) train_order_errors++;
  train_next = i + 1;
  train_done++;
  if (i == train_close_at) wasio_tcp_close(train_tcp, train_close_cb);
}

static void train_reset(wasio_tcp_t *tcp, int close_at) {
  memset(train_calls, 0, sizeof train_calls);
  memset(train_status, 0, sizeof train_status);
  train_next = train_order_errors = train_done = train_close_calls = 0;
  train_close_at = close_at;
  train_tcp = tcp;
}

/* Hundreds of writes queued in one turn, mostly small (0 and 1 byte, sizes
 * around the backend's gathering threshold) with large ones between them,
 * arrive whole and in order, and each callback runs once, in order, none
 * from inside wasio_tcp_write. The writes are consecutive slices of one
 * buffer, so the peer's CRC-32 covers their order too. */
TEST(many_small_writes_in_order) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  tconn_t c;
  tconn_new(loop, &c, 64);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  tconn_read_start(&c);
  enum { CAP = 8 << 20 };
  uint8_t *data = malloc(CAP);
  ASSERT_TRUE(data != NULL);
  tl_rng_t rng = {20261126};
  tl_rng_fill(&rng, data, CAP);
  memcpy(data, "up\n", 3);
  static const size_t sizes[] = {0, 1, 2, 3, 5, 7, 13, 64, 100, 511, 1023, 1024, 1025, 1500, 4000};
  train_reset(c.tcp, -1);
  size_t off = 0;
  for (int i = 0; i < TRAIN_WRITES; i++) {
    size_t len;
    if (i == 0)
      len = 3; /* the command line */
    else if (i % 97 == 50)
      len = 65536 + (size_t)(i * 131) % 300000; /* large, written in place */
    else
      len = sizes[(size_t)(i * 7 + i / 13) % (sizeof sizes / sizeof sizes[0])];
    ASSERT_LE_U64(off + len, CAP);
    ASSERT_OK(wasio_tcp_write(c.tcp, &train_req[i], data + off, len, train_write_cb));
    off += len;
  }
  ASSERT_EQ_INT(train_done, 0); /* never from inside the call */
  ASSERT_LE_U64(wasio_tcp_write_queue_size(c.tcp), off); /* posix may send some at once */
  WAIT_UNTIL(loop, train_done == TRAIN_WRITES);
  ASSERT_EQ_INT(train_order_errors, 0);
  for (int i = 0; i < TRAIN_WRITES; i++) {
    ASSERT_EQ_INT(train_calls[i], 1);
    ASSERT_WASIO(0, train_status[i]);
  }
  ASSERT_EQ_U64(wasio_tcp_write_queue_size(c.tcp), 0);
  ASSERT_OK(wasio_tcp_shutdown(c.tcp, NULL));
  WAIT_UNTIL(loop, c.read_status != 0);
  char want[64];
  snprintf(want, sizeof want, "%zu %08x\n", off - 3, (unsigned)tl_crc32(0, data + 3, off - 3));
  ASSERT_EQ_STR(tconn_text(&c), want);
  for (int i = 0; i < TRAIN_WRITES; i++) ASSERT_EQ_INT(train_calls[i], 1); /* no late second call */
  tconn_close(loop, &c);
  free(data);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A close from the callback of one of many small writes queued together
 * (their bytes wait in the staging buffer on wasip2, or behind MSG_MORE
 * natively, and the close sends them) cancels the later ones that the
 * stream had not taken: each callback runs exactly once, in order, before
 * the close callback; the earlier ones with 0, the later ones with 0 while
 * they had been taken (the whole train leaves in one gathered send, the
 * same way on every backend), then ECANCELED. */
TEST(close_cancels_gathered_writes) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tconn_t c;
  tconn_new(loop, &c, 64);
  wasio_addr_t to = loopback(WASIO_AF_INET, CTL_PORT);
  tconn_connect_ok(loop, &c, &to);
  static char bytes[TRAIN_WRITES * 8];
  memset(bytes, 'x', sizeof bytes);
  enum { CLOSE_AT = 123 };
  train_reset(c.tcp, CLOSE_AT);
  ASSERT_OK(wasio_tcp_write(c.tcp, &train_req[0], "up\n", 3, train_write_cb));
  for (int i = 1; i < TRAIN_WRITES; i++)
    ASSERT_OK(wasio_tcp_write(c.tcp, &train_req[i], bytes + 8 * i, (size_t)(i % 9), train_write_cb));
  ASSERT_EQ_INT(train_done, 0);
  WAIT_UNTIL(loop, train_close_calls == 1);
  ASSERT_EQ_INT(train_done, TRAIN_WRITES);
  ASSERT_EQ_INT(train_order_errors, 0);
  bool canceled = false;
  int n_canceled = 0;
  for (int i = 0; i < TRAIN_WRITES; i++) {
    ASSERT_EQ_INT(train_calls[i], 1);
    if (i <= CLOSE_AT || !canceled) {
      if (train_status[i] == WASIO_ECANCELED && i > CLOSE_AT) canceled = true;
      else ASSERT_WASIO(0, train_status[i]);
    } else {
      ASSERT_WASIO(WASIO_ECANCELED, train_status[i]);
    }
    n_canceled += train_status[i] == WASIO_ECANCELED;
  }
  printf("# %d of %d writes canceled by the close\n", n_canceled, TRAIN_WRITES);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
  free(c.in);
}

/* ---- a train of small writes chained from a read callback ---------------------------- */

/* The shape of a chunked HTTP response streamed from its handler: the
 * first write is queued from the read callback that got the request, each
 * next one from the previous one's write callback, alternating 6 and 17
 * bytes (chunk header, chunk data). */
#define RELAY_WRITES 40
#define RELAY_BYTES ((RELAY_WRITES / 2) * (6 + 17))
static wasio_write_t relay_req[RELAY_WRITES];
static uint8_t relay_data[RELAY_BYTES];
static int relay_next, relay_done, relay_errors;
static bool relay_in_write, relay_close_at_end;

static void relay_write_cb(wasio_write_t *req, int status);

static void relay_write(wasio_tcp_t *tcp) {
  int i = relay_next++;
  size_t off = (size_t)(i / 2) * (6 + 17) + (i % 2 ? 6 : 0), len = i % 2 ? 17 : 6;
  relay_req[i].data = tcp;
  relay_in_write = true;
  int rc = wasio_tcp_write(tcp, &relay_req[i], relay_data + off, len, relay_write_cb);
  relay_in_write = false;
  ASSERT_OK(rc);
}

static void relay_write_cb(wasio_write_t *req, int status) {
  wasio_tcp_t *tcp = req->data;
  ASSERT_TRUE(!relay_in_write); /* never from inside wasio_tcp_write */
  if (req != &relay_req[relay_done] || status != 0) relay_errors++;
  relay_done++;
  if (relay_next < RELAY_WRITES)
    relay_write(tcp);
  else if (relay_close_at_end)
    wasio_tcp_close(tcp, tconn_close_cb);
}

/* Records like tconn_read_cb; a line starts the next train. */
static void relay_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  tconn_read_cb(tcp, nread, buf);
  if (nread > 0 && memchr(buf->base, '\n', (size_t)nread) != NULL) {
    ASSERT_EQ_INT(relay_next, 0);
    relay_write(tcp);
  }
}

/* A train of small writes chained through callbacks from a read callback
 * arrives whole and in order, each callback once and in order, none from
 * inside wasio_tcp_write; the backends join such trains into few segments
 * (posix: MSG_MORE, then a push at the end of the dispatch; wasip2: the
 * staging buffer). The first train is followed by silence, the second
 * one's last callback closes the connection: every byte still arrives,
 * then EOF. (Bytes held by MSG_MORE and never pushed would still arrive,
 * about 200 ms late: that is the benchmark's business, not asserted.) */
TEST(write_train_from_read_callback) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  tl_rng_t rng = {20261127};
  tl_rng_fill(&rng, relay_data, sizeof relay_data);
  wasio_addr_t bound;
  accept_in_max = 64;
  wasio_tcp_t *srv = listen_on(loop, WASIO_AF_INET, &bound);
  tconn_t c;
  tconn_new(loop, &c, 2 * RELAY_BYTES + 16);
  tconn_connect_ok(loop, &c, &bound);
  WAIT_UNTIL(loop, naccepted == 1);
  tconn_t *s = &accepted[0];
  s->reading = true;
  ASSERT_OK(wasio_tcp_read_start(s->tcp, NULL, relay_read_cb));
  tconn_read_start(&c);
  for (int round = 0; round < 2; round++) {
    relay_next = relay_done = relay_errors = 0;
    relay_close_at_end = round == 1;
    tconn_write_str(&c, "go\n");
    uint64_t want = (uint64_t)(round + 1) * RELAY_BYTES;
    WAIT_UNTIL(loop, c.in_total >= want || c.read_status != 0);
    printf("# train %d: %llu of %llu bytes, %d of %d callbacks\n", round + 1,
           (unsigned long long)c.in_total, (unsigned long long)want, relay_done, RELAY_WRITES);
    ASSERT_EQ_U64(c.in_total, want);
    if (round == 0) ASSERT_WASIO(0, c.read_status); /* the second may have seen EOF too */
    ASSERT_EQ_MEM(c.in + round * RELAY_BYTES, relay_data, RELAY_BYTES);
    WAIT_UNTIL(loop, relay_done == RELAY_WRITES);
    ASSERT_EQ_INT(relay_errors, 0);
  }
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status);
  ASSERT_EQ_U64(c.in_total, 2 * RELAY_BYTES);
  WAIT_UNTIL(loop, s->close_calls == 1);
  free(s->in);
  s->in = NULL;
  ASSERT_EQ_INT(c.writes_pending, 0);
  ASSERT_EQ_INT(c.write_errors, 0);
  tconn_close(loop, &c);
  listener_closed = 0;
  wasio_tcp_close(srv, listener_close_cb);
  WAIT_UNTIL(loop, listener_closed == 1);
  ASSERT_EQ_INT(accept_errors, 0);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
