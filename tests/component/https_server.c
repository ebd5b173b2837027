// wasio-test: net
// wasio-test: helper tests/helpers/https_ctl.py --lifetime 900 --idle 300
// wasio-test: timeout 400
/* tests/component/https_server.c: the HTTP server with TLS (opts.tls)
 * driven by real native clients over loopback: curl (verifying with a
 * private CA), openssl s_client (ECDSA and RSA certificates) and wrk.
 *
 * The helper tests/helpers/https_ctl.py (port = its port) makes the PKI
 * with the openssl CLI at start, hands the component its certificate chain
 * and key ({"file": ...}), and runs the clients when asked, as
 * tests/helpers/http_ctl.py does for tests/component/http_server.c. While
 * the test waits for the helper's answer, the loop serves the client.
 */
#include "testlib.h"

#define CTL_PORT helper_port("port")
#define CTL_IN_MAX (4u << 20)
/* The head timeout of the handshake_timeout server: it also bounds a
 * handshake (the others keep the default). */
#define TEST_HEAD_TIMEOUT_MS 700
/* The idle (keep-alive) timeout of the close_notify_idle_and_shutdown
 * server. */
#define TEST_IDLE_TIMEOUT_MS 500
/* The leaf certificates name wasio.test and 127.0.0.1. */
#define LEAF_HOST "wasio.test"

/* ---- the server under test ----------------------------------------------------
 * Routes:
 *   /hello   200 "hello\n"
 *   /echo    the request body back, chunked, written as it arrives
 *   /id/X    200 "X\n" (pipelining order)
 *   else     404
 */

typedef struct server_state {
  wasio_loop_t *loop;
  wasio_http_server_t *srv;
  wasio_tls_config_t *tls;
  uint16_t port;
  int handled, completed_ok, completed_err;
  int shutdown_done;
} server_state_t;

static server_state_t S;

static void count_complete(wasio_http_exchange_t *ex, int status) {
  (void)ex;
  if (status == 0)
    S.completed_ok++;
  else
    S.completed_err++;
}

/* /echo: one body piece in flight at a time (respond_write allows one):
 * the exchange pauses while it is written. */
typedef struct echo_state {
  bool ended, writing;
  size_t len;
  uint8_t buf[16384];
} echo_state_t;

static void echo_complete(wasio_http_exchange_t *ex, int status) {
  count_complete(ex, status);
  free(wasio_http_exchange_data(ex));
}

static void echo_written(wasio_http_exchange_t *ex, int status) {
  echo_state_t *st = wasio_http_exchange_data(ex);
  st->writing = false;
  if (status != 0) return;
  if (st->ended) {
    ASSERT_OK(wasio_http_respond_end(ex));
    return;
  }
  ASSERT_OK(wasio_http_exchange_pause(ex, false));
}

static void echo_on_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  echo_state_t *st = wasio_http_exchange_data(ex);
  ASSERT_TRUE(!st->writing && len <= sizeof st->buf);
  memcpy(st->buf, data, len); /* the view is valid only during this call */
  st->len = len;
  st->writing = true;
  ASSERT_OK(wasio_http_exchange_pause(ex, true));
  ASSERT_OK(wasio_http_respond_write(ex, st->buf, st->len, echo_written));
}

static void echo_on_end(wasio_http_exchange_t *ex, int status) {
  echo_state_t *st = wasio_http_exchange_data(ex);
  ASSERT_WASIO(0, status);
  st->ended = true;
  if (!st->writing) ASSERT_OK(wasio_http_respond_end(ex));
}

typedef struct id_state {
  size_t len;
  char text[32];
} id_state_t;

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  S.handled++;
  wasio_http_exchange_on_complete(ex, count_complete);
  if (str_is(req->target, "/hello")) {
    ASSERT_OK(wasio_http_respond(ex, 200, NULL, 0, "hello\n", 6));
  } else if (req->target.len > 4 && memcmp(req->target.ptr, "/id/", 4) == 0) {
    /* The target stays in the connection's buffer only during this call:
     * copy the id into the exchange's own storage. */
    id_state_t *st = calloc(1, sizeof *st);
    ASSERT_TRUE(st != NULL && req->target.len - 4 < sizeof st->text - 1);
    st->len = req->target.len - 4;
    memcpy(st->text, req->target.ptr + 4, st->len);
    st->text[st->len++] = '\n';
    wasio_http_exchange_set_data(ex, st);
    wasio_http_exchange_on_complete(ex, echo_complete); /* counts, frees */
    ASSERT_OK(wasio_http_respond(ex, 200, NULL, 0, st->text, st->len));
  } else if (str_is(req->target, "/echo")) {
    echo_state_t *st = calloc(1, sizeof *st);
    ASSERT_TRUE(st != NULL);
    wasio_http_exchange_set_data(ex, st);
    wasio_http_exchange_on_complete(ex, echo_complete);
    ASSERT_OK(wasio_http_respond_start(ex, 200, NULL, 0, -1));
    ASSERT_OK(wasio_http_exchange_read_body(ex, echo_on_data, echo_on_end));
  } else {
    ASSERT_OK(wasio_http_respond(ex, 404, NULL, 0, "not found\n", 10));
  }
}

/* ---- talking to the helper ------------------------------------------------------- */

/* The helper's JSON protocol: ctl_t and its functions (tests/testlib.h). */

/* Runs a program through the helper; args end with NULL. gen > 0 makes a
 * test file of that many bytes ("{FILE}"; its CRC is x->info); "{CA}" is
 * the root certificate's path; stdin_text may be NULL. */
static void ctl_run_argv(ctl_t *x, const char *prog, size_t gen, const char *stdin_text,
                         const char *const *args) {
  char json[8192];
  snprintf(json, sizeof json, "{\"run\": \"%s\", ", prog);
  if (gen > 0) snprintf(json + strlen(json), sizeof json - strlen(json), "\"gen\": %zu, \"seed\": 7, ", gen);
  if (stdin_text != NULL) {
    strcat(json, "\"stdin\": ");
    json_str(json, sizeof json, stdin_text);
    strcat(json, ", ");
  }
  strcat(json, "\"args\": [");
  for (size_t i = 0; args[i] != NULL; i++) {
    if (i) strcat(json, ", ");
    json_str(json, sizeof json, args[i]);
  }
  strcat(json, "]}");
  ctl_start(x, S.loop, CTL_PORT, json, CTL_IN_MAX);
  ctl_finish(x);
}
#define CTL_RUN(x, prog, gen, stdin_text, ...)                          \
  do {                                                                  \
    const char *const _a[] = {__VA_ARGS__, NULL};                       \
    ctl_run_argv((x), (prog), (gen), (stdin_text), _a);                 \
  } while (0)

/* A raw TCP client that connects and says nothing, reading until EOF or
 * read_ms of silence; x->rc: 0 EOF, 1 silence, 2 reset; x->info: ms. */
static void ctl_raw_silent(ctl_t *x, unsigned read_ms) {
  char json[256];
  snprintf(json, sizeof json, "{\"raw\": %u, \"send\": [], \"read_ms\": %u}", (unsigned)S.port, read_ms);
  ctl_start(x, S.loop, CTL_PORT, json, CTL_IN_MAX);
  ctl_finish(x);
}

/* A PKI file from the helper, as a malloc'd copy. */
static char *ctl_file(const char *name, size_t *len) {
  char json[128];
  snprintf(json, sizeof json, "{\"file\": \"%s\"}", name);
  ctl_t x;
  ctl_start(&x, S.loop, CTL_PORT, json, CTL_IN_MAX);
  ctl_finish(&x);
  ASSERT_EQ_INT(x.rc, 0);
  char *copy = malloc(x.out_len + 1);
  ASSERT_TRUE(copy != NULL);
  memcpy(copy, x.out, x.out_len + 1);
  *len = x.out_len;
  ctl_free(&x);
  return copy;
}

/* ---- server start and stop -------------------------------------------------------- */

/* Starts an HTTPS server with leaf `leaf` ("leaf-ec" or "leaf-rsa") and the
 * intermediate as its chain. The helper is asked over the same loop, so the
 * loop exists first. */
static uint64_t server_idle_ns; /* the next server's idle timeout (0: default) */

static void server_start_opts(const char *leaf, uint64_t head_timeout_ns) {
  memset(&S, 0, sizeof S);
  ASSERT_OK(wasio_loop_new(&S.loop));
  char name[64];
  size_t leaf_len, inter_len, key_len;
  snprintf(name, sizeof name, "%s.pem", leaf);
  char *leaf_pem = ctl_file(name, &leaf_len);
  char *inter_pem = ctl_file("inter.pem", &inter_len);
  snprintf(name, sizeof name, "%s.key", leaf);
  char *key_pem = ctl_file(name, &key_len);
  char *chain = malloc(leaf_len + inter_len);
  ASSERT_TRUE(chain != NULL);
  memcpy(chain, leaf_pem, leaf_len); /* end-entity first */
  memcpy(chain + leaf_len, inter_pem, inter_len);
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_SERVER, &S.tls));
  ASSERT_OK(wasio_tls_config_cert_pem(S.tls, chain, leaf_len + inter_len, key_pem, key_len));
  free(chain);
  free(leaf_pem);
  free(inter_pem);
  free(key_pem);

  wasio_http_server_opts_t opts = {0};
  opts.tls = S.tls;
  opts.head_timeout_ns = head_timeout_ns;
  opts.idle_timeout_ns = server_idle_ns;
  ASSERT_OK(wasio_http_server_new(S.loop, &opts, handler, &S, &S.srv));
  wasio_addr_t a = loopback(WASIO_AF_INET, 0), bound;
  ASSERT_OK(wasio_http_server_listen(S.srv, &a, 0));
  ASSERT_OK(wasio_http_server_local_addr(S.srv, &bound));
  S.port = bound.port;
}

static void server_start(const char *leaf) { server_start_opts(leaf, 0); }

static void shutdown_cb(wasio_http_server_t *srv) {
  ASSERT_TRUE(srv == S.srv);
  S.shutdown_done++;
}

/* Graceful shutdown, the config freed after it, then the handle-leak check. */
static void server_stop(wasio_timer_t *wd) {
  wasio_http_server_shutdown(S.srv, 5 * WASIO_NS_PER_S, shutdown_cb);
  WAIT_UNTIL(S.loop, S.shutdown_done == 1);
  ASSERT_OK(wasio_tls_config_free(S.tls)); /* no engine left: not EBUSY */
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(S.loop);
}

static void url(char *buf, size_t cap, const char *path) {
  snprintf(buf, cap, "https://127.0.0.1:%u%s", (unsigned)S.port, path);
}

/* ---- tests ----------------------------------------------------------------------- */

/* A config that cannot serve is refused when the server is made. */
TEST(config_checked) {
  wasio_loop_t *loop = NULL;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_tls_config_t *client = NULL, *nocert = NULL;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &client));
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_SERVER, &nocert));
  wasio_http_server_opts_t opts = {0};
  wasio_http_server_t *srv = NULL;
  opts.tls = client;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_server_new(loop, &opts, handler, NULL, &srv));
  opts.tls = nocert;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_server_new(loop, &opts, handler, NULL, &srv));
  ASSERT_TRUE(srv == NULL);
  ASSERT_OK(wasio_tls_config_free(client));
  ASSERT_OK(wasio_tls_config_free(nocert));
  ASSERT_LOOP_CLOSED(loop);
}

/* curl verifies the chain against the private root: three GETs on one
 * connection (ALPN http/1.1), HEAD, a 404. */
TEST(curl_keepalive_head) {
  server_start("leaf-ec");
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  char u[128], m[128];
  url(u, sizeof u, "/hello");
  url(m, sizeof m, "/missing");
  ctl_t x;
  CTL_RUN(&x, "curl", 0, NULL, "-sS", "-v", "-m", "20", "--cacert", "{CA}", "-w", "%{http_code} %{num_connects}\n", u,
          u, u);
  ASSERT_EQ_INT(x.rc, 0);
  ASSERT_EQ_STR(x.out, "hello\n200 1\nhello\n200 0\nhello\n200 0\n");
  ASSERT_CONTAINS(x.err, "ALPN: server accepted http/1.1");
  ASSERT_CONTAINS(x.err, "TLSv1.3");
  ASSERT_EQ_INT(S.handled, 3);
  ctl_free(&x);
  CTL_RUN(&x, "curl", 0, NULL, "-sS", "-m", "20", "--cacert", "{CA}", "-I", u);
  ASSERT_EQ_INT(x.rc, 0);
  ASSERT_CONTAINS(x.out, "HTTP/1.1 200 OK\r\n");
  ASSERT_CONTAINS(x.out, "Content-Length: 6\r\n");
  ASSERT_NOT_CONTAINS(x.out, "hello");
  ctl_free(&x);
  CTL_RUN(&x, "curl", 0, NULL, "-sS", "-m", "20", "--cacert", "{CA}", "-o", "/dev/null", "-w", "%{http_code}", m);
  ASSERT_EQ_STR(x.out, "404");
  ctl_free(&x);
  WAIT_UNTIL(S.loop, S.completed_ok == 5);
  ASSERT_EQ_INT(S.completed_err, 0);
  server_stop(wd);
}

/* A chunked upload of 300 kB comes back whole (streamed both ways). */
TEST(chunked_upload_echoed) {
  server_start("leaf-ec");
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  char u[128];
  url(u, sizeof u, "/echo");
  ctl_t x;
  CTL_RUN(&x, "curl", 300000, NULL, "-sS", "-m", "30", "--cacert", "{CA}", "-H", "Transfer-Encoding: chunked",
          "--data-binary", "@{FILE}", u);
  ASSERT_EQ_INT(x.rc, 0);
  ASSERT_EQ_U64(x.out_len, 300000);
  char crc[16];
  snprintf(crc, sizeof crc, "%08x", (unsigned)tl_crc32(0, x.out, x.out_len));
  ASSERT_EQ_STR(crc, x.info);
  ctl_free(&x);
  WAIT_UNTIL(S.loop, S.completed_ok == 1);
  server_stop(wd);
}

/* Failed handshakes end their connection without reaching the handler,
 * and the next client is served: curl refusing the certificate for
 * another name, a plain-HTTP client. */
TEST(failed_handshakes) {
  server_start("leaf-ec");
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  char u[128], wrong[160], plain[128], resolve[96];
  url(u, sizeof u, "/hello");
  snprintf(wrong, sizeof wrong, "https://other.test:%u/hello", (unsigned)S.port);
  snprintf(resolve, sizeof resolve, "other.test:%u:127.0.0.1", (unsigned)S.port);
  snprintf(plain, sizeof plain, "http://127.0.0.1:%u/hello", (unsigned)S.port);
  ctl_t x;
  CTL_RUN(&x, "curl", 0, NULL, "-sS", "-m", "20", "--cacert", "{CA}", "--resolve", resolve, wrong);
  ASSERT_EQ_INT(x.rc, 60); /* curl: peer certificate cannot be authenticated */
  ctl_free(&x);
  CTL_RUN(&x, "curl", 0, NULL, "-sS", "-m", "20", plain);
  ASSERT_TRUE(x.rc == 52 || x.rc == 56); /* empty reply / receive failure */
  ctl_free(&x);
  ASSERT_EQ_INT(S.handled, 0);
  CTL_RUN(&x, "curl", 0, NULL, "-sS", "-m", "20", "--cacert", "{CA}", u);
  ASSERT_EQ_INT(x.rc, 0);
  ASSERT_EQ_STR(x.out, "hello\n");
  ctl_free(&x);
  ASSERT_EQ_INT(S.handled, 1);
  server_stop(wd);
}

/* The head timeout covers the handshake: a client that connects and says
 * nothing is closed after it (a server of its own with a short timeout,
 * so that no slow but honest client meets it). */
TEST(handshake_timeout) {
  server_start_opts("leaf-ec", TEST_HEAD_TIMEOUT_MS * MS);
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  ctl_t x;
  uint64_t t0 = wasio_monotonic_ns();
  ctl_raw_silent(&x, 10000);
  ASSERT_EQ_INT(x.rc, 0); /* the server closed */
  ASSERT_GE_U64(elapsed_ms_since(t0), TEST_HEAD_TIMEOUT_MS - 100);
  ctl_free(&x);
  ASSERT_EQ_INT(S.handled, 0);
  server_stop(wd);
}

/* openssl s_client verifies an ECDSA and an RSA server (TLS 1.2, the
 * suite, ALPN), sends a request and gets the answer and close_notify. */
static void s_client_case(const char *leaf, const char *cipher) {
  server_start(leaf);
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  char connect[64];
  snprintf(connect, sizeof connect, "127.0.0.1:%u", (unsigned)S.port);
  ctl_t x;
  CTL_RUN(&x, "openssl", 0, "GET /hello HTTP/1.1\r\nHost: " LEAF_HOST "\r\nConnection: close\r\n\r\n", "s_client",
          "-connect", connect, "-tls1_2", "-cipher", cipher, "-servername", LEAF_HOST, "-CAfile", "{CA}",
          "-verify_return_error", "-verify_hostname", LEAF_HOST, "-alpn", "http/1.1", "-ign_eof");
  ASSERT_EQ_INT(x.rc, 0);
  ASSERT_CONTAINS(x.out, "Verify return code: 0 (ok)");
  ASSERT_CONTAINS(x.out, cipher);
  ASSERT_CONTAINS(x.out, "ALPN protocol: http/1.1");
  ASSERT_CONTAINS(x.out, "HTTP/1.1 200 OK\r\n");
  ASSERT_CONTAINS(x.out, "\r\n\r\nhello\n");
  ctl_free(&x);
  ASSERT_EQ_INT(S.handled, 1);
  WAIT_UNTIL(S.loop, S.completed_ok == 1);
  server_stop(wd);
}

/* Pipelining over TLS: 40 requests written at once (more than the server
 * reads ahead, so it stops and restarts reading with plaintext waiting in
 * the TLS engine) come back in order; the last one closes. */
TEST(pipelined_in_order) {
  server_start("leaf-ec");
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  enum { N = 40 };
  static char reqs[N * 64];
  size_t r = 0;
  for (int i = 0; i < N; i++) {
    r += (size_t)snprintf(reqs + r, sizeof reqs - r, "GET /id/%d HTTP/1.1\r\nHost: x%s\r\n\r\n", i,
                          i == N - 1 ? "\r\nConnection: close" : "");
  }
  char connect[64];
  snprintf(connect, sizeof connect, "127.0.0.1:%u", (unsigned)S.port);
  ctl_t x;
  CTL_RUN(&x, "openssl", 0, reqs, "s_client", "-connect", connect, "-CAfile", "{CA}", "-verify_return_error",
          "-quiet", "-ign_eof");
  ASSERT_EQ_INT(x.rc, 0);
  /* Each body, in request order. */
  const char *p = x.out;
  for (int i = 0; i < N; i++) {
    char one[16];
    snprintf(one, sizeof one, "\r\n\r\n%d\n", i);
    const char *q = strstr(p, one);
    if (q == NULL) harness_fail(__FILE__, __LINE__, "response %d missing or out of order:\n%.2000s", i, x.out);
    p = q + strlen(one);
  }
  ctl_free(&x);
  ASSERT_EQ_INT(S.handled, N);
  WAIT_UNTIL(S.loop, S.completed_ok == N);
  server_stop(wd);
}

/* A Python ssl client (strict about truncation) over the helper; x->rc:
 * 0 close_notify seen, 1 TCP ended without it, 2 another error. */
static void ctl_tls_start(ctl_t *x, const char *text, bool unwrap) {
  char json[1024];
  snprintf(json, sizeof json, "{\"tls\": %u, \"unwrap\": %s, \"send\": ", (unsigned)S.port,
           unwrap ? "true" : "false");
  json_str(json, sizeof json, text);
  strcat(json, "}");
  ctl_start(x, S.loop, CTL_PORT, json, CTL_IN_MAX);
}

static void ctl_tls(ctl_t *x, const char *text, bool unwrap) {
  ctl_tls_start(x, text, unwrap);
  ctl_finish(x);
}

/* A graceful end carries close_notify: after a "Connection: close"
 * response, after an HTTP/1.0 one, and in answer to the client's. */
TEST(close_notify) {
  server_start("leaf-ec");
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  ctl_t x;
  ctl_tls(&x, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false);
  ASSERT_EQ_INT(x.rc, 0);
  ASSERT_CONTAINS(x.out, "\r\n\r\nhello\n");
  ctl_free(&x);
  ctl_tls(&x, "GET /hello HTTP/1.0\r\n\r\n", false);
  ASSERT_EQ_INT(x.rc, 0);
  ASSERT_CONTAINS(x.out, "\r\n\r\nhello\n");
  ctl_free(&x);
  ctl_tls(&x, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", true);
  ASSERT_EQ_INT(x.rc, 0);
  ctl_free(&x);
  ASSERT_EQ_INT(S.handled, 3);
  server_stop(wd);
}

/* Closes the server makes on its own end with close_notify too: an idle
 * keep-alive connection after the idle timeout, and one closed by a
 * graceful shutdown. */
TEST(close_notify_idle_and_shutdown) {
  server_idle_ns = TEST_IDLE_TIMEOUT_MS * MS;
  server_start("leaf-ec");
  server_idle_ns = 0;
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  ctl_t x;
  uint64_t t0 = wasio_monotonic_ns();
  ctl_tls(&x, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", false);
  ASSERT_EQ_INT(x.rc, 0); /* close_notify, not a bare FIN */
  ASSERT_CONTAINS(x.out, "\r\n\r\nhello\n");
  ASSERT_GE_U64(elapsed_ms_since(t0), TEST_IDLE_TIMEOUT_MS - 100);
  ctl_free(&x);
  server_stop(wd);

  /* Graceful shutdown with one idle keep-alive connection. */
  server_start("leaf-ec");
  wd = watchdog_start(S.loop, 60000);
  ctl_tls_start(&x, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", false);
  WAIT_UNTIL(S.loop, S.completed_ok == 1);
  wasio_http_server_shutdown(S.srv, 5 * WASIO_NS_PER_S, shutdown_cb);
  ctl_finish(&x);
  ASSERT_EQ_INT(x.rc, 0); /* close_notify, not a bare FIN */
  ASSERT_CONTAINS(x.out, "\r\n\r\nhello\n");
  ctl_free(&x);
  WAIT_UNTIL(S.loop, S.shutdown_done == 1);
  ASSERT_OK(wasio_tls_config_free(S.tls));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(S.loop);
}

TEST(s_client_ecdsa) { s_client_case("leaf-ec", "ECDHE-ECDSA-AES128-GCM-SHA256"); }
TEST(s_client_rsa) { s_client_case("leaf-rsa", "ECDHE-RSA-CHACHA20-POLY1305"); }

/* wrk over HTTPS, bounded: 2 s on 8 connections, no error. */
TEST(wrk_https) {
  server_start("leaf-ec");
  wasio_timer_t *wd = watchdog_start(S.loop, 60000);
  char u[128];
  url(u, sizeof u, "/hello");
  ctl_t x;
  CTL_RUN(&x, "wrk", 0, NULL, "-t1", "-c8", "-d2s", "--timeout", "5s", u);
  ASSERT_EQ_INT(x.rc, 0);
  printf("wrk: %s", x.out);
  ASSERT_NOT_CONTAINS(x.out, "Socket errors");
  ASSERT_NOT_CONTAINS(x.out, "Non-2xx");
  const char *p = strstr(x.out, " requests in ");
  ASSERT_TRUE(p != NULL);
  while (p > x.out && p[-1] >= '0' && p[-1] <= '9') p--;
  long n = atol(p);
  ASSERT_GT_INT(n, 20);
  ASSERT_GE_INT(S.handled, n);
  ctl_free(&x);
  server_stop(wd);
}
