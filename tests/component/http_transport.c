// wasio-test: net
// wasio-test: wasihttp
// wasio-test: helper tests/helpers/nginx_server.py --lifetime 900
// wasio-test: helper tests/helpers/http_stall.py --lifetime 900
// wasio-test: helper tests/helpers/tcp_blackhole.py --lifetime 900
// wasio-test: timeout 300
/* tests/component/http_transport.c: the HTTP client (wasio/http.h) over
 * its AUTO transport, the same source in every build:
 *   - natively and as the default component (wasmtime, jco): SOCKETS;
 *   - the --http build (build/wasm32/tests-http, hosts wasmtime-http and
 *     jco-http: tests/run.py): HOST, every call through the host's
 *     wasi:http/outgoing-handler, and on wasmtime-http without any socket
 *     permission (sockets=denied: sockets_denied proves it);
 *   - the --p3 --http build (build/wasm32/tests-p3-http, hosts
 *     wasmtime-p3-http and jco-p3-http): HOST, through wasi:http 0.3's
 *     client.send.
 * The misbehaving peers' expectations are tests/testlib.c's table
 * (tl_http_cases), which tests/component/http_client.c runs over sockets
 * too: one set of error codes for both transports, the differences named
 * in the table with their reasons.
 *   port  = tests/helpers/nginx_server.py (1 MiB /big.bin and its hash,
 *           redirects, WebDAV /upload/)
 *   port2 = tests/helpers/http_stall.py   (/silent, /truncated, /reset,
 *           /trailers, ...)
 *   port3 = tests/helpers/tcp_blackhole.py (connects hang)
 */
#include "testlib.h"

#define NGINX_PORT helper_port("port")
#define STALL_PORT helper_port("port2")
#define BIG_BYTES (1024u * 1024u)

/* The transport AUTO gives in this build. */
static bool over_host(void) { return wasio_http_transport_resolve(WASIO_HTTP_TRANSPORT_AUTO) == WASIO_HTTP_TRANSPORT_HOST; }

/* jco-http, preview2-shim's wasi:http (tests/run.py passes sockets=granted
 * there and on jco-p3-http only, with jco=p3 on the latter). */
static bool on_jco_http(void) {
  return over_host() && strcmp(harness_param("sockets", ""), "granted") == 0 &&
         strcmp(harness_param("jco", ""), "p3") != 0;
}

/* tl_http_opts (tests/testlib.h) with the client's default redirect limit. */
static wasio_http_call_opts_t opts_for(const char *url, result_t *r) {
  wasio_http_call_opts_t o = tl_http_opts(url, r);
  o.max_redirects = -1;
  return o;
}

static wasio_http_client_t *new_client(wasio_loop_t *loop) {
  wasio_http_client_t *c = NULL;
  ASSERT_OK(wasio_http_client_new(loop, NULL, &c));
  ASSERT_EQ_INT(wasio_http_client_transport(c), over_host() ? WASIO_HTTP_TRANSPORT_HOST : WASIO_HTTP_TRANSPORT_SOCKETS);
  return c;
}

/* ---- the choice --------------------------------------------------------------- */

TEST(transport_choice) {
  ASSERT_EQ_INT(over_host(), wasio_http_host_available());
  ASSERT_EQ_STR(wasio_http_transport_name(WASIO_HTTP_TRANSPORT_AUTO), "auto");
  ASSERT_EQ_STR(wasio_http_transport_name(WASIO_HTTP_TRANSPORT_SOCKETS), "sockets");
  ASSERT_EQ_STR(wasio_http_transport_name(WASIO_HTTP_TRANSPORT_HOST), "host");
  ASSERT_TRUE(wasio_http_transport_name((wasio_http_transport_t)7) == NULL);
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_transport_resolve((wasio_http_transport_t)7));
  ASSERT_EQ_INT(wasio_http_transport_resolve(WASIO_HTTP_TRANSPORT_SOCKETS), WASIO_HTTP_TRANSPORT_SOCKETS);
  wasio_loop_t *loop = new_loop();
  wasio_http_client_t *c = NULL;
  wasio_http_client_opts_t o = {.transport = WASIO_HTTP_TRANSPORT_HOST};
  if (!over_host()) {
    /* No wasi:http in this build: HOST is refused, clearly. */
    ASSERT_WASIO(WASIO_ENOTSUP, wasio_http_transport_resolve(WASIO_HTTP_TRANSPORT_HOST));
    ASSERT_WASIO(WASIO_ENOTSUP, wasio_http_client_new(loop, &o, &c));
  } else {
    /* The guest's TLS options cannot apply to the host's TLS: refused,
     * not ignored; AUTO means HOST here, so the same holds for it. */
    wasio_tls_config_t *cfg = NULL;
    ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
    o.tls = cfg;
    ASSERT_WASIO(WASIO_EINVAL, wasio_http_client_new(loop, &o, &c));
    o.transport = WASIO_HTTP_TRANSPORT_AUTO;
    ASSERT_WASIO(WASIO_EINVAL, wasio_http_client_new(loop, &o, &c));
    o.tls = NULL;
    o.tls_backend = WASIO_TLS_BACKEND_GUEST;
    ASSERT_WASIO(WASIO_EINVAL, wasio_http_client_new(loop, &o, &c));
    /* SOCKETS stays possible, with the guest's TLS. */
    o.transport = WASIO_HTTP_TRANSPORT_SOCKETS;
    o.tls = cfg;
    ASSERT_OK(wasio_http_client_new(loop, &o, &c));
    ASSERT_EQ_INT(wasio_http_client_transport(c), WASIO_HTTP_TRANSPORT_SOCKETS);
    http_client_close_wait(loop, c);
    ASSERT_OK(wasio_tls_config_free(cfg));
  }
  o = (wasio_http_client_opts_t){.transport = (wasio_http_transport_t)7};
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_client_new(loop, &o, &c));
  ASSERT_LOOP_CLOSED(loop);
}

static int connect_status;
static bool connected;
static void on_connect(wasio_tcp_t *tcp, int status) {
  (void)tcp;
  connect_status = status;
  connected = true;
}

/* On wasmtime-http the component has wasi:http and no socket permission:
 * a TCP connect to the very server the HTTP tests reach is refused, and
 * the socket transport with it. */
TEST(sockets_denied) {
  if (strcmp(harness_param("sockets", ""), "denied") != 0)
    harness_skip("the host grants sockets here (only wasmtime-http runs without: sockets=denied)");
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 10000);
  wasio_tcp_t *tcp = NULL;
  ASSERT_OK(wasio_tcp_new(loop, &tcp));
  wasio_addr_t a = loopback(WASIO_AF_INET, NGINX_PORT);
  connected = false;
  int rc = wasio_tcp_connect(tcp, &a, 5 * WASIO_NS_PER_S, on_connect);
  if (rc == 0) {
    WAIT_UNTIL(loop, connected);
    rc = connect_status;
  }
  ASSERT_WASIO(WASIO_EACCES, rc);
  wasio_tcp_close(tcp, NULL);
  /* The HTTP client over sockets fails the same way; over the host it works. */
  wasio_http_client_t *c = NULL;
  wasio_http_client_opts_t o = {.transport = WASIO_HTTP_TRANSPORT_SOCKETS};
  ASSERT_OK(wasio_http_client_new(loop, &o, &c));
  char url[128];
  result_t r;
  wasio_http_call_opts_t co = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
  tl_http_run(loop, c, &co, &r);
  ASSERT_WASIO(WASIO_EACCES, r.done_status);
  http_client_close_wait(loop, c);
  c = new_client(loop);
  co = opts_for(url, &r);
  tl_http_run(loop, c, &co, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  http_client_close_wait(loop, c);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- answers -------------------------------------------------------------------- */

TEST(get_small_and_head) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_INT(r.framing, WASIO_HTTP_BODY_LENGTH);
  ASSERT_TRUE(r.has_content_length);
  ASSERT_EQ_U64(r.content_length, 17);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  ASSERT_TRUE(r.conn_id > 0); /* nginx's own fields come through */
  /* The request head shows what the socket transport writes. */
  o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/big.bin"), &r);
  o.method = "HEAD";
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_INT(r.framing, WASIO_HTTP_BODY_NONE);
  ASSERT_TRUE(r.has_content_length);
  ASSERT_EQ_U64(r.content_length, BIG_BYTES);
  ASSERT_EQ_U64(r.body_total, 0);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* nginx sends /chunked.txt chunked. The socket transport decodes it and
 * says so; over HOST the host decoded it, and says so only where it keeps
 * the Transfer-Encoding field (jco's Node does, wasmtime's hyper drops
 * it: then the body is framed by the end, CLOSE). */
TEST(chunked) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/chunked.txt"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "line one\nGET\nline three\n");
  ASSERT_TRUE(r.framing == WASIO_HTTP_BODY_CHUNKED || (over_host() && r.framing == WASIO_HTTP_BODY_CLOSE));
  ASSERT_EQ_INT(r.num_trailers, 0);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(big_1mib_sha256) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_http_client_t *client = new_client(loop);
  tl_http_big_sha256(loop, client, NGINX_PORT, BIG_BYTES,
                     over_host() ? "big_1mib_sha256 over host" : "big_1mib_sha256 over sockets");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* jco-p3-http: preview3-shim's wasi:http (tests/run.py: jco=p3). */
static bool on_jco_p3_http(void) { return over_host() && strcmp(harness_param("jco", ""), "p3") == 0; }

/* The cases that kill jco-p3-http's host (their own test, below). */
static const char *const JCO_P3_FATAL[] = {"timeout_between_bytes", "truncated", "reset_mid_body",
                                           "chunk_ext_noname"};

static bool jco_p3_fatal(const char *name) {
  if (!on_jco_p3_http()) return false;
  for (size_t i = 0; i < sizeof JCO_P3_FATAL / sizeof JCO_P3_FATAL[0]; i++)
    if (strcmp(name, JCO_P3_FATAL[i]) == 0) return true;
  return false;
}

/* Every case of the shared table (tests/testlib.c). */
TEST(misbehaving_peers) {
  for (size_t i = 0; i < tl_http_num_cases; i++)
    if (!jco_p3_fatal(tl_http_cases[i].name)) tl_http_case_run(&tl_http_cases[i], WASIO_HTTP_TRANSPORT_AUTO, over_host());
}

/* The cases whose response body fails midway, alone, where the host
 * cannot survive them: preview3-shim 0.7.0 (workers/http-worker.js) ends
 * such a body with an error (res.destroy with its between-bytes timer,
 * Node's "aborted" for a truncation or a reset, its parser's error for a
 * malformed chunk) that Node then throws from an event listener: the
 * process dies (measured on Node 24.19). */
TEST(misbehaving_peers_body_fails) {
  if (on_jco_p3_http())
    harness_skip("preview3-shim 0.7.0 lets a response body that fails midway (its between-bytes timer, a "
                 "truncation, a reset, a malformed chunk) throw from a Node event listener, which kills the host");
  for (size_t i = 0; i < sizeof JCO_P3_FATAL / sizeof JCO_P3_FATAL[0]; i++)
    tl_http_case_run(tl_http_case(JCO_P3_FATAL[i]), WASIO_HTTP_TRANSPORT_AUTO, over_host());
}

/* ---- redirects: the client's one rule, never the host's ---------------------------- */

TEST(redirects) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_http_client_t *client = new_client(loop);
  tl_http_redirect_kinds(loop, client, NGINX_PORT);
  char url[128], want_url[128];
  result_t r;
  /* max_redirects 0: the 3xx itself is the answer. */
  wasio_http_call_opts_t o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect/302"), &r);
  o.max_redirects = 0;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 302);
  /* A relative Location, then another origin (localhost: a new name). */
  o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect/relative"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "hello from nginx\n");
  o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/redirect/other-origin"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  snprintf(want_url, sizeof want_url, "http://localhost:%u/small.txt", (unsigned)NGINX_PORT);
  ASSERT_EQ_STR(r.final_url, want_url);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- uploads ------------------------------------------------------------------------ */

/* PUTs a streamed body to nginx and reads it back (tests/testlib.h). */
static void upload_and_check(wasio_loop_t *loop, wasio_http_client_t *client, const char *path, int64_t body_length,
                             uint64_t total, int eagain_every, const wasio_http_header_t *trailers, size_t ntr,
                             int want) {
  char url[128];
  tl_upload_t u = {.url = tl_http_url(url, sizeof url, NGINX_PORT, path), .body_length = body_length, .total = total,
                   .eagain_every = eagain_every, .trailers = trailers, .num_trailers = ntr, .want = want};
  tl_upload_and_check(loop, client, &u);
}

TEST(uploads) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_http_client_t *client = new_client(loop);
  /* chunked (length unknown), with pauses of the producer */
  upload_and_check(loop, client, "/upload/chunked.bin", -1, BIG_BYTES + 11, 5, NULL, 0, 0);
  /* exact length, streamed */
  upload_and_check(loop, client, "/upload/sized.bin", BIG_BYTES + 3, BIG_BYTES + 3, 0, NULL, 0, 0);
  /* empty chunked body */
  upload_and_check(loop, client, "/upload/empty.bin", -1, 0, 0, NULL, 0, 0);
  /* a buffer body, 1 MiB, read back by CRC */
  tl_http_upload_buffer(loop, client, NGINX_PORT, BIG_BYTES);
  /* A producer that stops short of its announced length: the call fails
   * with the client's own verdict, before the host could. */
  upload_and_check(loop, client, "/upload/short.bin", 5000, 1000, 0, NULL, 0, WASIO_EINVAL);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- trailers, both ways ------------------------------------------------------------- */

TEST(trailers_received) {
  if (on_jco_http())
    harness_skip("jco's preview2-shim (0.26, FutureTrailers.get in lib nodejs/http.js) answers every "
                 "incoming body's trailers with an empty field list");
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = opts_for(tl_http_url(url, sizeof url, STALL_PORT, "/trailers"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_STR(r.body, "hello");
  ASSERT_EQ_INT(r.num_trailers, 2);
  ASSERT_EQ_STR(r.trailers, "x-checksum=5;x-note=end;");
  /* Outside on_done they are not known. */
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Sent after a chunked body: nginx takes the body whole (its framing with
 * the trailer section is right); jco's shim cannot send them, and says so. */
TEST(trailers_sent) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop);
  static const wasio_http_header_t tr[] = {{WASIO_HTTP_STR("X-Checksum"), WASIO_HTTP_STR("abc")},
                                           {WASIO_HTTP_STR("X-Note"), WASIO_HTTP_STR("end")}};
  upload_and_check(loop, client, "/upload/trailers.bin", -1, 20000, 0, tr, 2, on_jco_http() ? WASIO_ENOTSUP : 0);
  /* Trailers need a streamed chunked body, and no framing field. */
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/upload/x.bin"), &r);
  o.method = "PUT";
  o.body = "x";
  o.body_len = 1;
  o.trailers = tr;
  o.num_trailers = 1;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_start(client, &o, NULL));
  static const wasio_http_header_t framing[] = {{WASIO_HTTP_STR("Content-Length"), WASIO_HTTP_STR("1")}};
  o.body = NULL;
  o.body_len = 0;
  o.body_read = tl_upload_body_read;
  o.body_length = -1;
  o.trailers = framing;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_start(client, &o, NULL));
  static const wasio_http_header_t bad[] = {{WASIO_HTTP_STR("X-A"), WASIO_HTTP_STR("1\r\nX-B: 2")}};
  o.trailers = bad;
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, wasio_http_call_start(client, &o, NULL));
  ASSERT_EQ_INT(r.dones, 0);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- fields the host reserves --------------------------------------------------------- */

TEST(reserved_fields) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = new_client(loop);
  char url[128];
  result_t r;
  static const char *const names[] = {"Host", "Connection", "Keep-Alive", "Proxy-Connection", "Upgrade",
                                      "HTTP2-Settings"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    wasio_http_header_t h = {{names[i], strlen(names[i])}, WASIO_HTTP_STR("x")};
    wasio_http_call_opts_t o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
    o.headers = &h;
    o.num_headers = 1;
    wasio_http_call_t *call = NULL;
    int rc = wasio_http_call_start(client, &o, &call);
    if (over_host()) {
      ASSERT_WASIO(WASIO_EHTTP_FORBIDDEN_HEADER, rc);
    } else {
      /* The socket transport writes them (the caller's Host replaces its own). */
      ASSERT_OK(rc);
      ASSERT_OK(wasio_http_call_cancel(call));
      WAIT_UNTIL(loop, r.dones == 1);
    }
  }
  /* Other fields reach the server, on both. */
  wasio_http_header_t h = {WASIO_HTTP_STR("X-Anything"), WASIO_HTTP_STR("yes")};
  wasio_http_call_opts_t o = opts_for(tl_http_url(url, sizeof url, NGINX_PORT, "/small.txt"), &r);
  o.headers = &h;
  o.num_headers = 1;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_CONTAINS(r.body, "hello");
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- pause, cancel, close, many at once ------------------------------------------------ */

TEST(pause_resume_cancel) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_http_client_t *client = new_client(loop);
  char url[128];
  result_t r;
  uint64_t at_pause = 0;
  (void)tl_http_pause_resume(loop, client, tl_http_url(url, sizeof url, NGINX_PORT, "/big.bin"), &r, &at_pause);
  WAIT_UNTIL(loop, r.dones == 1);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_U64(r.body_total, BIG_BYTES);
  /* Canceled mid-body from on_body, and before it ever ran. */
  tl_http_cancel_early(loop, client, url, BIG_BYTES);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(concurrent_and_close) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_http_client_t *client = new_client(loop);
  static result_t rs[24];
  char small[128], chunked[128];
  tl_http_url(small, sizeof small, NGINX_PORT, "/small.txt");
  tl_http_url(chunked, sizeof chunked, NGINX_PORT, "/chunked.txt");
  for (int i = 0; i < 24; i++) {
    wasio_http_call_opts_t o = opts_for(i % 2 ? chunked : small, &rs[i]);
    ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  }
  tl_waiting_for = "24 calls";
  for (int done = 0; done < 24;) {
    ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_ONCE) > 0);
    done = 0;
    for (int i = 0; i < 24; i++) done += rs[i].dones;
  }
  for (int i = 0; i < 24; i++) {
    ASSERT_WASIO(0, rs[i].done_status);
    ASSERT_EQ_STR(rs[i].body, i % 2 ? "line one\nGET\nline three\n" : "hello from nginx\n");
  }
  /* Closing the client cancels what runs (the silent peer never answers). */
  char silent[128];
  tl_http_url(silent, sizeof silent, STALL_PORT, "/silent");
  for (int i = 0; i < 3; i++) {
    wasio_http_call_opts_t o = opts_for(silent, &rs[i]);
    ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  }
  for (int i = 0; i < 5; i++) ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_NOWAIT) >= 0);
  http_client_close_wait(loop, client);
  for (int i = 0; i < 3; i++) ASSERT_WASIO(WASIO_ECANCELED, rs[i].done_status);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* wasio_http_fetch takes the AUTO transport too. */
TEST(fetch_blocking) { tl_http_fetch_checks(NGINX_PORT, STALL_PORT); }
