// wasio-test: net
// wasio-test: helper tests/helpers/nginx_server.py --lifetime 1200 --big-mib 100
// wasio-test: helper tests/helpers/http_stall.py --lifetime 1200
// wasio-test: helper tests/helpers/tcp_blackhole.py --lifetime 1200
// wasio-test: timeout 900
/* tests/component/http_client.c: the HTTP client (wasio/http.h) against a
 * real nginx, over loopback only.
 *   port  = tests/helpers/nginx_server.py (100 MiB /big.bin, redirects,
 *           WebDAV /upload/, X-Connection on every response)
 *   port2 = tests/helpers/http_stall.py   (/silent, /stall-body)
 *   port3 = tests/helpers/tcp_blackhole.py (connects hang)
 * Each call's callbacks only record into a `result_t`; the test body drives
 * the loop with WAIT_UNTIL and asserts afterwards. Every test closes its
 * client and ends with the handle-leak check.
 */
#include "testlib.h"

#define NGINX_PORT helper_port("port")
#define STALL_PORT helper_port("port2")
#define BLACKHOLE_PORT helper_port("port3")
#define BIG_BYTES (100ull * 1024 * 1024)
#define MAX_CALLS 64

/* result_t and its callbacks: tests/testlib.h. */

/* The calls' URLs, options and runs: tl_http_url, tl_http_opts (no
 * redirect followed unless a test sets max_redirects), tl_http_run
 * (tests/testlib.h). */

static wasio_http_client_t *new_client(wasio_loop_t *loop, size_t max_conns) {
  wasio_http_client_t *c = NULL;
  wasio_http_client_opts_t o = {.max_conns_per_origin = max_conns};
  ASSERT_OK(wasio_http_client_new(loop, &o, &c));
  return c;
}

/* ---- basics ----------------------------------------------------------------- */

TEST(get_small) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.responses, 1);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_INT(r.framing, WASIO_HTTP_BODY_LENGTH);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(get_by_name_localhost) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  snprintf(url, sizeof url, "http://localhost:%u/small.txt", (unsigned)NGINX_PORT);
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  /* and an IPv6 literal */
  snprintf(url, sizeof url, "http://[::1]:%u/small.txt", (unsigned)NGINX_PORT);
  o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(keepalive_reuse) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt");
  long first = -1;
  for (int i = 1; i <= 5; i++) {
    result_t r;
    wasio_http_call_opts_t o = tl_http_opts(url, &r);
    tl_http_run(loop, client, &o, &r);
    ASSERT_WASIO(0, r.done_status);
    ASSERT_EQ_INT(r.status, 200);
    if (i == 1) first = r.conn_id;
    /* One TCP connection served all five, in order. */
    ASSERT_EQ_INT(r.conn_id, first);
    ASSERT_EQ_INT(r.conn_requests, i);
  }
  /* A call on a warm connection allocates once: the call with its copies
   * of the URL, method and fields and its request head in one block; the
   * total-timeout timer is one the client kept from an earlier call (the
   * first call here makes it). */
  wasio_http_header_t accept_h = {WASIO_HTTP_STR("Accept"), WASIO_HTTP_STR("*/*")};
  wasio_loop_stats_t st0, st1;
  for (int i = 0; i <= 10; i++) {
    if (i == 1) wasio_loop_stats(loop, &st0);
    result_t rr;
    wasio_http_call_opts_t oo = tl_http_opts(url, &rr);
    oo.headers = &accept_h;
    oo.num_headers = 1;
    oo.timeouts.total_ns = 10 * WASIO_NS_PER_S;
    tl_http_run(loop, client, &oo, &rr);
    ASSERT_WASIO(0, rr.done_status);
    ASSERT_EQ_INT(rr.conn_id, first);
  }
  wasio_loop_stats(loop, &st1);
  uint64_t allocs = st1.allocations - st0.allocations;
  fprintf(stderr, "keepalive_reuse: %llu allocations in 10 calls on a warm connection\n",
          (unsigned long long)allocs);
  ASSERT_EQ_U64(allocs, 10);
  /* "Connection: close" from the caller: the connection is not kept. */
  wasio_http_header_t close_h = {WASIO_HTTP_STR("Connection"), WASIO_HTTP_STR("close")};
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(url, &r);
  o.headers = &close_h;
  o.num_headers = 1;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.conn_requests, 17);
  o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_NE_INT(r.conn_id, first);
  ASSERT_EQ_INT(r.conn_requests, 1);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Idle connections beyond max_idle_per_origin are closed, and an idle one
 * is retired after idle_timeout_ns: nginx's connection numbers show which
 * connection served each call. */
TEST(pool_idle_limit_and_timeout) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = NULL;
  wasio_http_client_opts_t co = {.max_conns_per_origin = 3, .max_idle_per_origin = 1,
                                 .idle_timeout_ns = 300 * MS};
  ASSERT_OK(wasio_http_client_new(loop, &co, &client));
  char url[128];
  tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt");
  /* Three at once over three connections... */
  static result_t rs[3];
  for (int i = 0; i < 3; i++) {
    wasio_http_call_opts_t o = tl_http_opts(url, &rs[i]);
    ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  }
  WAIT_UNTIL(loop, rs[0].dones + rs[1].dones + rs[2].dones == 3);
  ASSERT_TRUE(rs[0].conn_id != rs[1].conn_id && rs[1].conn_id != rs[2].conn_id &&
              rs[0].conn_id != rs[2].conn_id);
  /* ...then one at a time: only one of them was kept. */
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  long kept = r.conn_id;
  ASSERT_TRUE(kept == rs[0].conn_id || kept == rs[1].conn_id || kept == rs[2].conn_id);
  o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_EQ_INT(r.conn_id, kept);
  /* After the idle timeout the kept one is gone too (its socket's idle
   * timeout retires it: the loop then has only our timers left). */
  sleep_ms(loop, 600);
  o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_NE_INT(r.conn_id, kept);
  ASSERT_EQ_INT(r.conn_requests, 1);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Memory per pooled idle connection (issue 9, defect 5: each one held an
 * input buffer, 86,060 bytes in all natively; BENCHMARKS.md has 952 bytes
 * now). A warm call makes what the client keeps for all connections (its
 * landing buffer, the response head views); then IDLE_CALLS calls at once
 * open IDLE_CALLS - 1 new connections (nginx's connection numbers prove
 * it), and once all are done every connection is idle in the pool. The
 * heap the test program holds (tl_heap_bytes) must grow by at most
 * TL_IDLE_CONN_BYTES_MAX per new connection. Natively only: the measure is
 * (under ASan, ASan's count of bytes allocated; glibc's mallinfo2 reads 0
 * there), and a component skips (testlib.h says why). */
#define IDLE_CALLS 201
static int results_done(const result_t *r, int n) {
  int done = 0;
  for (int i = 0; i < n; i++) done += r[i].dones;
  return done;
}

TEST(idle_pooled_memory) {
#if !TL_HEAP_MEASURED
  harness_skip("the heap in use is measured natively only (tests/testlib.h: tl_heap_bytes)");
#else
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 120000);
  wasio_http_client_t *client = NULL;
  wasio_http_client_opts_t co = {.max_conns_per_origin = IDLE_CALLS, .max_idle_per_origin = IDLE_CALLS,
                                 .idle_timeout_ns = 120 * WASIO_NS_PER_S};
  ASSERT_OK(wasio_http_client_new(loop, &co, &client));
  char url[128];
  tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt");
  static result_t warm, rs[IDLE_CALLS];
  wasio_http_call_opts_t o = tl_http_opts(url, &warm);
  tl_http_run(loop, client, &o, &warm);
  ASSERT_WASIO(0, warm.done_status);
  uint64_t m0 = tl_heap_bytes();
  for (int i = 0; i < IDLE_CALLS; i++) {
    o = tl_http_opts(url, &rs[i]);
    ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  }
  WAIT_UNTIL(loop, results_done(rs, IDLE_CALLS) == IDLE_CALLS);
  uint64_t m1 = tl_heap_bytes();
  int fresh = 0, reused = 0;
  for (int i = 0; i < IDLE_CALLS; i++) {
    ASSERT_WASIO(0, rs[i].done_status);
    ASSERT_EQ_INT(rs[i].status, 200);
    fresh += rs[i].conn_requests == 1;
    reused += rs[i].conn_id == warm.conn_id;
  }
  ASSERT_EQ_INT(fresh, IDLE_CALLS - 1);
  ASSERT_EQ_INT(reused, 1);
  int64_t per_conn = ((int64_t)m1 - (int64_t)m0) / (IDLE_CALLS - 1);
  printf("# %d pooled idle connections: %lld bytes each (%s)\n", IDLE_CALLS - 1, (long long)per_conn, tl_heap_kind);
  ASSERT_GT_INT(per_conn, 0); /* the measure sees them: one that cannot move would pass any bound */
  ASSERT_LE_INT(per_conn, TL_IDLE_CONN_BYTES_MAX);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
#endif
}

TEST(chunked) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  tl_http_url(url, sizeof url, NGINX_PORT, "/chunked.txt");
  long conn = -1;
  for (int i = 0; i < 3; i++) {
    result_t r;
    wasio_http_call_opts_t o = tl_http_opts(url, &r);
    tl_http_run(loop, client, &o, &r);
    ASSERT_WASIO(0, r.done_status);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_INT(r.framing, WASIO_HTTP_BODY_CHUNKED);
    ASSERT_EQ_STR(r.body, "line one\nGET\nline three\n");
    /* A chunked body read to its last chunk leaves the connection reusable. */
    if (i == 0) conn = r.conn_id;
    ASSERT_EQ_INT(r.conn_id, conn);
  }
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(big_100mib_sha256) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 600000);
  wasio_http_client_t *client = new_client(loop, 0);
  tl_http_big_sha256(loop, client, NGINX_PORT, BIG_BYTES, "big_100mib_sha256");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(sha256_known_answers) {
  /* FIPS 180-4 examples, so the download check above checks something. */
  sha256_t s;
  char hex[65];
  sha256_init(&s);
  sha256_hex(&s, hex);
  ASSERT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  sha256_init(&s);
  sha256_update(&s, "abc", 3);
  sha256_hex(&s, hex);
  ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  sha256_init(&s);
  for (size_t i = 0; i < strlen(two); i++) sha256_update(&s, two + i, 1); /* split everywhere */
  sha256_hex(&s, hex);
  ASSERT_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(not_found) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/no/such/file"), &r);
  tl_http_run(loop, client, &o, &r);
  /* An HTTP error status is a whole response: on_done gets 0. */
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 404);
  ASSERT_TRUE(strstr(r.body, "404") != NULL);
  long conn = r.conn_id;
  o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_EQ_INT(r.status, 404);
  ASSERT_EQ_INT(r.conn_id, conn); /* kept alive after a 404 */
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(head) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/big.bin"), &r);
  o.method = "HEAD";
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_TRUE(r.has_content_length);
  ASSERT_EQ_U64(r.content_length, BIG_BYTES);
  ASSERT_EQ_U64(r.body_total, 0);
  long conn = r.conn_id;
  /* The 100 MiB Content-Length framed nothing: the connection is reused. */
  o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  ASSERT_EQ_INT(r.conn_id, conn);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- redirects ---------------------------------------------------------------- */

TEST(redirects_each_kind) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_http_client_t *client = new_client(loop, 0);
  tl_http_redirect_kinds(loop, client, NGINX_PORT);
  /* HEAD stays HEAD through a 303. */
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect-echo/303"), &r);
  o.method = "HEAD";
  o.max_redirects = -1;
  wasio_http_call_t *call = NULL;
  ASSERT_OK(wasio_http_call_start(client, &o, &call));
  WAIT_UNTIL(loop, r.dones == 1);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_U64(r.body_total, 0);
  /* A streamed body cannot be repeated: a 307 is returned as is. */
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

static char url_seen[256];
static size_t url_len_seen;
static int redirects_seen;
static void on_done_note_url(wasio_http_call_t *call, int status) {
  snprintf(url_seen, sizeof url_seen, "%s", wasio_http_call_url(call));
  url_len_seen = strlen(wasio_http_call_url(call));
  redirects_seen = wasio_http_call_redirects(call);
  result_on_done(call, status);
}

TEST(redirect_url_and_count) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128], want[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect/308"), &r);
  o.max_redirects = -1;
  o.on_done = on_done_note_url;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(url_seen, tl_http_url(want, sizeof want, NGINX_PORT, "/small.txt"));
  ASSERT_EQ_INT(redirects_seen, 1);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(redirect_relative_and_other_origin) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128], want[128];
  result_t r;
  /* "../a/./b/../../small.txt?x=1" against /redirect/relative (RFC 3986
   * section 5.2: merge, then remove dot segments). */
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect/relative"), &r);
  o.max_redirects = -1;
  o.on_done = on_done_note_url;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(url_seen, tl_http_url(want, sizeof want, NGINX_PORT, "/small.txt?x=1"));
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  /* To http://localhost:PORT/: a new origin of the pool, resolved by name;
   * an Authorization header is not carried over (not visible to nginx, but
   * the call must still succeed without it). */
  wasio_http_header_t auth = {WASIO_HTTP_STR("Authorization"), WASIO_HTTP_STR("Bearer secret")};
  o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect/other-origin"), &r);
  o.max_redirects = -1;
  o.headers = &auth;
  o.num_headers = 1;
  o.on_done = on_done_note_url;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  snprintf(want, sizeof want, "http://localhost:%u/small.txt", (unsigned)NGINX_PORT);
  ASSERT_EQ_STR(url_seen, want);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(redirect_loop_limit) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect/loop"), &r);
  o.max_redirects = -1;
  o.on_done = on_done_note_url;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(WASIO_ELIMIT, r.done_status);
  ASSERT_EQ_INT(r.responses, 0);
  ASSERT_EQ_INT(redirects_seen, WASIO_HTTP_MAX_REDIRECTS);
  o = tl_http_opts(url, &r);
  o.max_redirects = 3;
  o.on_done = on_done_note_url;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(WASIO_ELIMIT, r.done_status);
  ASSERT_EQ_INT(redirects_seen, 3);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Each hop of the stall helper's /grow/N adds 1500 bytes to the URL, so a
 * redirect's request head outgrows the room the call was allocated with
 * (and is allocated on its own, then replaced by the next hop's); the 302s
 * turn the POST into a GET. */
TEST(redirect_to_longer_urls) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, STALL_PORT, "/grow/2?q"), &r);
  o.method = "POST";
  o.body = "abc";
  o.body_len = 3;
  o.max_redirects = -1;
  o.on_done = on_done_note_url;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(redirects_seen, 2);
  ASSERT_EQ_U64(url_len_seen, strlen(url) + 3000);
  ASSERT_EQ_STR(r.body, "GET\n");
  /* With a fixed limit of one redirect the second hop ends the call. */
  o = tl_http_opts(url, &r);
  o.max_redirects = 1;
  o.on_done = on_done_note_url;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(WASIO_ELIMIT, r.done_status);
  ASSERT_EQ_INT(redirects_seen, 1);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- uploads ---------------------------------------------------------------- */

/* PUTs a streamed body to nginx and reads it back (tests/testlib.h). */
static void upload_and_check(wasio_loop_t *loop, wasio_http_client_t *client, const char *path,
                             int64_t body_length, uint64_t total, int eagain_every) {
  char url[128];
  tl_upload_t u = {.url = tl_http_url(url, sizeof url, NGINX_PORT, path), .body_length = body_length, .total = total,
                   .eagain_every = eagain_every};
  tl_upload_and_check(loop, client, &u);
}

TEST(upload_streamed) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_http_client_t *client = new_client(loop, 0);
  /* chunked (length unknown), with pauses of the producer */
  upload_and_check(loop, client, "/upload/chunked.bin", -1, 3 * 1024 * 1024 + 11, 5);
  /* exact length, streamed */
  upload_and_check(loop, client, "/upload/sized.bin", 1024 * 1024 + 3, 1024 * 1024 + 3, 0);
  /* empty chunked body */
  upload_and_check(loop, client, "/upload/empty.bin", -1, 0, 0);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(upload_buffer) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_http_client_t *client = new_client(loop, 0);
  tl_http_upload_buffer(loop, client, NGINX_PORT, 2 * 1024 * 1024 + 5);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- misbehaving peers: the expectations both transports share ---------------------
 * tests/testlib.c's table (tl_http_cases), also run over the host's wasi:http
 * by tests/component/http_transport.c. */

TEST(timeout_first_byte) { tl_http_case_run(tl_http_case("timeout_first_byte"), WASIO_HTTP_TRANSPORT_SOCKETS, false); }

TEST(timeout_between_bytes) {
  tl_http_case_run(tl_http_case("timeout_between_bytes"), WASIO_HTTP_TRANSPORT_SOCKETS, false);
}

TEST(timeout_total) { tl_http_case_run(tl_http_case("timeout_total"), WASIO_HTTP_TRANSPORT_SOCKETS, false); }

TEST(timeout_connect) { tl_http_case_run(tl_http_case("timeout_connect"), WASIO_HTTP_TRANSPORT_SOCKETS, false); }

TEST(connect_refused) { tl_http_case_run(tl_http_case("connect_refused"), WASIO_HTTP_TRANSPORT_SOCKETS, false); }

/* The server closes a kept-alive connection just as it is reused (the
 * helper reads the next request and closes): an idempotent request is sent
 * again on a fresh connection, a POST is not (it may have been acted on). */
TEST(stale_connection_retry) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128], other[128];
  tl_http_url(url, sizeof url, STALL_PORT, "/drop-next");
  tl_http_url(other, sizeof other, STALL_PORT, "/other");
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "ok\n");
  o = tl_http_opts(other, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.responses, 1);
  ASSERT_EQ_STR(r.body, "ok\n");
  /* The same race with a POST: reported, not repeated. */
  o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  o = tl_http_opts(other, &r);
  o.method = "POST";
  o.body = "x";
  o.body_len = 1;
  tl_http_run(loop, client, &o, &r);
  ASSERT_TRUE(r.done_status == WASIO_EHTTP_TRUNCATED || r.done_status == WASIO_ECONNRESET);
  ASSERT_EQ_INT(r.responses, 0);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Bodies that end at the server's close, and answers that break off or are
 * not HTTP (the shared table's cases), one after the other on one client:
 * each ends the call with the codec's verdict, never hangs, and the pool
 * still serves the origin after them. */
TEST(close_delimited_and_broken_answers) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  static const char *const cases[] = {"close_delimited", "truncated", "reset_mid_body", "garbage", "chunk_ext_noname"};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) tl_http_case_check(loop, client, tl_http_case(cases[i]), false);
  /* The other broken extension (a quoted string never closed) fails the
   * same way, after the head, before any body byte. */
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, STALL_PORT, "/chunk-ext-unclosed"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(WASIO_EHTTP_BAD_CHUNK_EXT, r.done_status);
  ASSERT_EQ_INT(r.responses, 1);
  ASSERT_EQ_U64(r.body_total, 0);
  /* The pool still serves the origin. */
  o = tl_http_opts(tl_http_url(url, sizeof url, STALL_PORT, "/fine"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "ok\n");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- cancel, pause, close -------------------------------------------------- */

TEST(cancel) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  tl_http_url(url, sizeof url, NGINX_PORT, "/big.bin");
  tl_http_cancel_early(loop, client, url, BIG_BYTES);
  /* while connecting (the blackhole never answers) */
  char hole[128];
  result_t r;
  wasio_http_call_t *call = NULL;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(hole, sizeof hole, BLACKHOLE_PORT, "/"), &r);
  ASSERT_OK(wasio_http_call_start(client, &o, &call));
  for (int i = 0; i < 3; i++) ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_NOWAIT) >= 0);
  ASSERT_OK(wasio_http_call_cancel(call));
  WAIT_UNTIL(loop, r.dones == 1);
  ASSERT_WASIO(WASIO_ECANCELED, r.done_status);
  /* The pool still works after all that. */
  o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(pause_resume) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  uint64_t at_pause = 0;
  (void)tl_http_pause_resume(loop, client, tl_http_url(url, sizeof url, NGINX_PORT, "/big.bin"), &r, &at_pause);
  r.cancel_after = at_pause + 4 * 1024 * 1024;
  WAIT_UNTIL(loop, r.dones == 1);
  ASSERT_WASIO(WASIO_ECANCELED, r.done_status);
  ASSERT_GE_U64(r.body_total, at_pause + 4 * 1024 * 1024);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Paused inside the first chunk's on_body: the rest of the chunked body
 * (and its last chunk) waits in the buffer and completes the call from the
 * resume, in a later turn. */
TEST(pause_then_finish_from_buffer) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/chunked.txt"), &r);
  r.pause_after = 1;
  wasio_http_call_t *call = NULL;
  ASSERT_OK(wasio_http_call_start(client, &o, &call));
  WAIT_UNTIL(loop, r.paused || r.dones);
  if (r.dones == 0) {
    for (int i = 0; i < 5; i++) ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_NOWAIT) >= 0);
    ASSERT_EQ_INT(r.dones, 0);
    r.paused = false;
    ASSERT_OK(wasio_http_call_pause(call, false));
  }
  WAIT_UNTIL(loop, r.dones == 1);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "line one\nGET\nline three\n");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

static int failing_reads;
static ptrdiff_t body_read_fails(wasio_http_call_t *call, void *buf, size_t cap) {
  (void)call;
  if (failing_reads++ == 0) {
    memset(buf, 'x', cap < 100 ? cap : 100);
    return cap < 100 ? (ptrdiff_t)cap : 100;
  }
  return WASIO_EIO;
}

/* body_read's error ends the call with it; the connection is not reused. */
TEST(upload_error_ends_call) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/upload/broken.bin"), &r);
  o.method = "PUT";
  o.body_read = body_read_fails;
  o.body_length = -1;
  failing_reads = 0;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(WASIO_EIO, r.done_status);
  ASSERT_EQ_INT(failing_reads, 2);
  /* and a fixed length that the producer does not meet */
  o = tl_http_opts(url, &r);
  o.method = "PUT";
  o.body_read = body_read_fails;
  o.body_length = 1000;
  failing_reads = 0;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(WASIO_EIO, r.done_status);
  o = tl_http_opts(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

static bool closed_flag;
static void client_closed(wasio_http_client_t *c) {
  (void)c;
  ASSERT_TRUE(!closed_flag);
  closed_flag = true;
}

TEST(client_close_cancels_calls) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop, 2);
  char url[128];
  tl_http_url(url, sizeof url, NGINX_PORT, "/big.bin");
  static result_t rs[4];
  for (int i = 0; i < 4; i++) {
    wasio_http_call_opts_t o = tl_http_opts(url, &rs[i]);
    ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  }
  WAIT_UNTIL(loop, rs[0].body_total > 0);
  closed_flag = false;
  wasio_http_client_close(client, client_closed);
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(url, &r);
  ASSERT_WASIO(WASIO_ECLOSING, wasio_http_call_start(client, &o, NULL));
  WAIT_UNTIL(loop, closed_flag);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ_INT(rs[i].dones, 1);
    ASSERT_WASIO(WASIO_ECANCELED, rs[i].done_status);
  }
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- concurrency --------------------------------------------------------------- */

TEST(concurrent_60_calls_4_connections) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_http_client_t *client = new_client(loop, 4);
  static result_t rs[60];
  char small[128], chunked[128], missing[128];
  tl_http_url(small, sizeof small, NGINX_PORT, "/small.txt");
  tl_http_url(chunked, sizeof chunked, NGINX_PORT, "/chunked.txt");
  tl_http_url(missing, sizeof missing, NGINX_PORT, "/missing");
  for (int i = 0; i < 60; i++) {
    const char *u = i % 3 == 0 ? small : i % 3 == 1 ? chunked : missing;
    wasio_http_call_opts_t o = tl_http_opts(u, &rs[i]);
    ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  }
  int done = 0;
  tl_waiting_for = "60 calls";
  while (done < 60) {
    ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_ONCE) > 0);
    done = 0;
    for (int i = 0; i < 60; i++) done += rs[i].dones;
  }
  long ids[60];
  int distinct = 0;
  for (int i = 0; i < 60; i++) {
    ASSERT_EQ_INT(rs[i].dones, 1);
    ASSERT_WASIO(0, rs[i].done_status);
    ASSERT_EQ_INT(rs[i].status, i % 3 == 2 ? 404 : 200);
    if (i % 3 == 0) ASSERT_EQ_STR(rs[i].body, "hello from nginx\n");
    if (i % 3 == 1) ASSERT_EQ_STR(rs[i].body, "line one\nGET\nline three\n");
    bool seen = false;
    for (int k = 0; k < distinct; k++) seen |= ids[k] == rs[i].conn_id;
    if (!seen) ids[distinct++] = rs[i].conn_id;
  }
  /* Never more than the per-origin limit of TCP connections. */
  ASSERT_LE_INT(distinct, 4);
  ASSERT_GE_INT(distinct, 1);
  fprintf(stderr, "concurrent: 60 calls over %d connections\n", distinct);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- synchronous errors --------------------------------------------------------- */

TEST(start_errors_never_call_back) {
  wasio_loop_t *loop = new_loop();
  wasio_http_client_t *client = new_client(loop, 0);
  char url[128];
  tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt");
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(url, &r);
  wasio_http_header_t inject[] = {{WASIO_HTTP_STR("X-A"), WASIO_HTTP_STR("1\r\nX-Evil: 2")}};
  o.headers = inject;
  o.num_headers = 1;
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, wasio_http_call_start(client, &o, NULL));
  wasio_http_header_t bad_name[] = {{WASIO_HTTP_STR("X A"), WASIO_HTTP_STR("1")}};
  o.headers = bad_name;
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_NAME, wasio_http_call_start(client, &o, NULL));
  wasio_http_header_t lf_name[] = {{WASIO_HTTP_STR("X\nA"), WASIO_HTTP_STR("1")}};
  o.headers = lf_name;
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_NAME, wasio_http_call_start(client, &o, NULL));
  wasio_http_header_t framing[] = {{WASIO_HTTP_STR("Content-Length"), WASIO_HTTP_STR("5")}};
  o.headers = framing;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts(url, &r);
  o.num_headers = WASIO_HTTP_MAX_REQUEST_HEADERS + 1;
  o.headers = inject;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts(url, &r);
  o.method = "GE T";
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts("ftp://127.0.0.1/", &r);
  ASSERT_WASIO(WASIO_EURL_SCHEME, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts("http://user@127.0.0.1/", &r);
  ASSERT_WASIO(WASIO_EURL_USERINFO, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts("http://127.0.0.1:99999/", &r);
  ASSERT_WASIO(WASIO_EURL_PORT, wasio_http_call_start(client, &o, NULL));
  /* A head over 32 KiB, from a method or a field; a method that long is
   * reported after the URL's and the fields' errors, as before. */
  static char big[40000];
  memset(big, 'A', sizeof big - 1);
  o = tl_http_opts(url, &r);
  o.method = big;
  ASSERT_WASIO(WASIO_ELIMIT, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts("ftp://127.0.0.1/", &r);
  o.method = big;
  ASSERT_WASIO(WASIO_EURL_SCHEME, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts(url, &r);
  o.method = big;
  o.headers = framing;
  o.num_headers = 1;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_start(client, &o, NULL));
  wasio_http_header_t huge[] = {{WASIO_HTTP_STR("X-Big"), {big, sizeof big - 1}}};
  o = tl_http_opts(url, &r);
  o.headers = huge;
  o.num_headers = 1;
  ASSERT_WASIO(WASIO_ELIMIT, wasio_http_call_start(client, &o, NULL));
  o = tl_http_opts(url, &r);
  o.on_done = NULL;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_start(client, &o, NULL));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_client_new(NULL, NULL, &client));
  while (wasio_loop_run(loop, WASIO_RUN_NOWAIT) > 0) {
  }
  ASSERT_EQ_INT(r.dones, 0);
  http_client_close_wait(loop, client);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- the blocking convenience ---------------------------------------------------- */

TEST(fetch_blocking) { tl_http_fetch_checks(NGINX_PORT, STALL_PORT); }
