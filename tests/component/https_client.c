// wasio-test: net
// wasio-test: helper tests/helpers/nginx_server.py --tls --lifetime 900 --big-mib 12
// wasio-test: timeout 600
/* tests/component/https_client.c: https:// in the HTTP client (wasio/http.h
 * over wasio/tls.h) against a real nginx, over loopback only.
 *
 * tests/helpers/nginx_server.py --tls makes a private CA with the openssl
 * CLI and serves HTTPS on one TLS 1.2 port per suite, and on ports that
 * offer TLS 1.3 only, TLS 1.2 only or both, each with an ECDSA P-256 or an
 * RSA-2048 certificate. A component has no
 * files, so the test learns the CA (/tls/ca.pem) and the ports
 * (/tls/ports.txt) over the plain HTTP port first, with the blocking
 * wasio_http_fetch. nginx adds X-Connection, X-Connection-Requests,
 * X-Session-Reused ("r" or "."), X-Cipher (OpenSSL's suite name) and
 * X-Protocol ("TLSv1.3" or "TLSv1.2") to every response, which is how the
 * test sees reuse, resumption, the suite and the version, as the server saw
 * them (the HTTP client does not expose its connection's wasio_tls_info).
 * The helper's "py" port is a Python ssl peer that ends a connection-
 * delimited body with or without close_notify, and counts every request it
 * received in /tls/py-requests.txt.
 */
#include "testlib.h"

#define NGINX_PORT helper_port("port")
#define BIG_BYTES (12ull * 1024 * 1024)
#define FETCH_TIMEOUT (10 * WASIO_NS_PER_S)
#define SMALL_MAX (64u * 1024u)
#define WATCHDOG_MS 30000
#define BIG_WATCHDOG_MS 300000
#define PAUSE_TURNS 50
#define PAST_SHORT_KEEPALIVE_MS 1800  /* the helper's "short" port idles out after 1 s */
#define PY_BODY "a body that only the end of the connection delimits\n"

/* ---- what the helper serves ---------------------------------------------------- */

static char *plain_get(const char *path, size_t *len_out) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)NGINX_PORT, path);
  int code = 0;
  char *body = NULL;
  size_t len = 0;
  ASSERT_OK(wasio_http_fetch(url, FETCH_TIMEOUT, SMALL_MAX, &code, &body, &len));
  ASSERT_EQ_INT(code, 200);
  if (len_out) *len_out = len;
  return body;
}

/* The HTTPS port named `name` in the helper's /tls/ports.txt (ecdsa-gcm,
 * tls13-rsa, py, ...). */
static uint16_t tls_port(const char *name) {
  char *ports = plain_get("/tls/ports.txt", NULL);
  char key[32];
  snprintf(key, sizeof key, "%s=", name);
  char *p = strstr(ports, key);
  ASSERT_TRUE(p != NULL);
  long port = strtol(p + strlen(key), NULL, 10);
  free(ports);
  ASSERT_TRUE(port > 0 && port < 65536);
  return (uint16_t)port;
}

/* A client config trusting the CA at `path` (only it: the Mozilla roots are
 * off, so a success proves the PEM was used). */
static wasio_tls_config_t *config_with_ca(const char *path) {
  size_t len = 0;
  char *pem = plain_get(path, &len);
  wasio_tls_config_t *cfg = NULL;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  ASSERT_OK(wasio_tls_config_system_roots(cfg, false));
  ASSERT_TRUE(wasio_tls_config_add_ca_pem(cfg, pem, len) >= 1);
  free(pem);
  return cfg;
}

/* ---- one call ------------------------------------------------------------------- */

/* result_t and its callbacks: tests/testlib.h. */

/* The result of get() (large: kept out of the stack). */
static result_t r_static;

/* Starts a GET of https://host:port/path; `r` records it (the call copies
 * the URL and headers). */
static wasio_http_call_t *start_get(wasio_http_client_t *client, const char *host, uint16_t port,
                                    const char *path, bool close_conn, result_t *r) {
  char url[256];
  snprintf(url, sizeof url, "https://%s:%u%s", host, (unsigned)port, path);
  wasio_http_header_t close_hdr[] = {{WASIO_HTTP_STR("Connection"), WASIO_HTTP_STR("close")}};
  wasio_http_call_opts_t o = {.url = url, .data = r, .on_response = result_on_response, .on_body = result_on_body,
                              .on_done = result_on_done, .headers = close_conn ? close_hdr : NULL,
                              .num_headers = close_conn ? 1 : 0};
  if (strcmp(path, "/big.bin") == 0) {
    r->hash = true;
    sha256_init(&r->sha);
  }
  wasio_http_call_t *call = NULL;
  ASSERT_OK(wasio_http_call_start(client, &o, &call));
  return call;
}

static result_t *get(wasio_loop_t *loop, wasio_http_client_t *client, const char *host, uint16_t port,
                     const char *path, bool close_conn) {
  memset(&r_static, 0, sizeof r_static);
  start_get(client, host, port, path, close_conn, &r_static);
  WAIT_UNTIL(loop, r_static.dones == 1);
  return &r_static;
}

static wasio_http_client_t *new_client(wasio_loop_t *loop, wasio_tls_config_t *cfg) {
  wasio_http_client_t *c = NULL;
  wasio_http_client_opts_t o = {.tls = cfg};
  ASSERT_OK(wasio_http_client_new(loop, &o, &c));
  return c;
}

/* ---- versions and suites: TLS 1.3 and 1.2, ECDSA and RSA ----------------------------- */

/* Each version port offers one version only, with nginx's default suites; the
 * client's order picks the suite (docs/TLS.md): ChaCha20-Poly1305 first in
 * a component, AES-128-GCM first natively on a CPU with AES instructions.
 * A client that negotiated the other version fails the X-Protocol assert;
 * one that cannot speak the port's version fails the handshake. The TLS 1.2
 * suite names the key type (ECDSA or RSA) the server signed with. */
static void version_key(const char *name, const char *protocol, const char *chacha, const char *aes) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  result_t *r = get(loop, client, "localhost", tls_port(name), "/small.txt", false);
  ASSERT_WASIO(0, r->done_status);
  ASSERT_EQ_INT(r->status, 200);
  ASSERT_EQ_STR(r->body, "hello from nginx\n");
  ASSERT_EQ_STR(r->protocol, protocol);
#ifdef __wasm__
  (void)aes;
  ASSERT_EQ_STR(r->cipher, chacha);
#else
  if (strcmp(r->cipher, aes) != 0) ASSERT_EQ_STR(r->cipher, chacha);
#endif
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* The TLS 1.2 ports of one suite each (nginx's X-Cipher is exact there). */
static void suite(const char *name, const char *openssl_cipher) {
  version_key(name, "TLSv1.2", openssl_cipher, openssl_cipher);
}

TEST(ecdhe_ecdsa_aes_gcm) { suite("ecdsa-gcm", "ECDHE-ECDSA-AES128-GCM-SHA256"); }
TEST(ecdhe_ecdsa_chacha20) { suite("ecdsa-chacha", "ECDHE-ECDSA-CHACHA20-POLY1305"); }
TEST(ecdhe_rsa_aes_gcm) { suite("rsa-gcm", "ECDHE-RSA-AES256-GCM-SHA384"); }
TEST(ecdhe_rsa_chacha20) { suite("rsa-chacha", "ECDHE-RSA-CHACHA20-POLY1305"); }

#define TLS13_CHACHA "TLS_CHACHA20_POLY1305_SHA256"
#define TLS13_AES "TLS_AES_128_GCM_SHA256"

TEST(tls13_ecdsa) { version_key("tls13-ecdsa", "TLSv1.3", TLS13_CHACHA, TLS13_AES); }
TEST(tls13_rsa) { version_key("tls13-rsa", "TLSv1.3", TLS13_CHACHA, TLS13_AES); }
TEST(tls12_ecdsa) {
  version_key("tls12-ecdsa", "TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256");
}
TEST(tls12_rsa) { version_key("tls12-rsa", "TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-GCM-SHA256"); }

/* Offered both, the client chooses TLS 1.3. */
TEST(tls13_preferred_ecdsa) { version_key("both-ecdsa", "TLSv1.3", TLS13_CHACHA, TLS13_AES); }
TEST(tls13_preferred_rsa) { version_key("both-rsa", "TLSv1.3", TLS13_CHACHA, TLS13_AES); }

/* ---- pooling and resumption ------------------------------------------------------- */

TEST(keepalive_reuse_and_resumption) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  uint16_t port = tls_port("ecdsa-gcm");
  result_t *r = get(loop, client, "localhost", port, "/small.txt", false);
  ASSERT_WASIO(0, r->done_status);
  long first = r->conn_id;
  ASSERT_EQ_INT(r->conn_requests, 1);
  /* The pooled TLS connection carries the next requests. */
  for (long i = 2; i <= 3; i++) {
    r = get(loop, client, "localhost", port, "/small.txt", i == 3);
    ASSERT_WASIO(0, r->done_status);
    ASSERT_EQ_INT(r->conn_id, first);
    ASSERT_EQ_INT(r->conn_requests, i);
  }
  /* That one asked to close: a new connection resumes the session. */
  r = get(loop, client, "localhost", port, "/small.txt", false);
  ASSERT_WASIO(0, r->done_status);
  ASSERT_TRUE(r->conn_id != first);
  ASSERT_EQ_STR(r->reused, "r");
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(server_closes_idle_tls_connection) {
  /* nginx ends the pooled connection (close_notify, then TCP) while it is
   * idle: the pool drops it, and the next call connects afresh. */
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  uint16_t port = tls_port("short");
  result_t *r = get(loop, client, "localhost", port, "/small.txt", false);
  ASSERT_WASIO(0, r->done_status);
  long first = r->conn_id;
  sleep_ms(loop, PAST_SHORT_KEEPALIVE_MS);
  r = get(loop, client, "localhost", port, "/small.txt", false);
  ASSERT_WASIO(0, r->done_status);
  ASSERT_TRUE(r->conn_id != first);
  ASSERT_EQ_INT(r->conn_requests, 1);
  ASSERT_EQ_STR(r->reused, "r");
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(big_body_sha256) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, BIG_WATCHDOG_MS);
  char *want = plain_get("/big.bin.sha256", NULL);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  /* Paused mid-body: the TLS stream may hold decrypted bytes then; none is
   * delivered before the resume, and none is lost. */
  result_t *r = &r_static;
  memset(r, 0, sizeof *r);
  r->pause_after = BIG_BYTES / 3;
  wasio_http_call_t *call = start_get(client, "127.0.0.1", tls_port("rsa-chacha"), "/big.bin", false, r);
  WAIT_UNTIL(loop, r->paused);
  for (int i = 0; i < PAUSE_TURNS; i++) wasio_loop_run(loop, WASIO_RUN_NOWAIT);
  ASSERT_EQ_INT(r->bodies_while_paused, 0);
  r->paused = false;
  ASSERT_OK(wasio_http_call_pause(call, false));
  ASSERT_EQ_INT(r->dones, 0); /* resuming delivers from the next turn */
  WAIT_UNTIL(loop, r->dones == 1);
  ASSERT_WASIO(0, r->done_status);
  ASSERT_EQ_U64(r->body_total, BIG_BYTES);
  char hex[65];
  sha256_hex(&r->sha, hex);
  ASSERT_TRUE(strncmp(want, hex, 64) == 0);
  free(want);
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- verification ------------------------------------------------------------------ */

TEST(default_roots_reject_private_ca) {
  /* No config: the client's default one (Mozilla roots) must refuse. */
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_http_client_t *client = new_client(loop, NULL);
  result_t *r = get(loop, client, "localhost", tls_port("ecdsa-gcm"), "/small.txt", false);
  ASSERT_WASIO(WASIO_ETLS_CERT_UNTRUSTED, r->done_status);
  ASSERT_EQ_INT(r->responses, 0);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

static long py_requests(void) {
  char *text = plain_get("/tls/py-requests.txt", NULL);
  long n = strtol(text, NULL, 10);
  free(text);
  return n;
}

TEST(wrong_ca_exact_error) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/other-ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  const char *suites[] = {"ecdsa-gcm", "rsa-gcm", "py"};
  long before = py_requests();
  for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
    result_t *r = get(loop, client, "localhost", tls_port(suites[i]), "/small.txt", false);
    ASSERT_WASIO(WASIO_ETLS_CERT_UNTRUSTED, r->done_status);
    ASSERT_EQ_INT(r->responses, 0);
  }
  /* Not a byte of the request reached the peer. */
  ASSERT_EQ_INT(py_requests(), before);
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(insecure_accepts_unknown_ca) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = NULL;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  ASSERT_OK(wasio_tls_config_insecure(cfg, true));
  wasio_http_client_t *client = new_client(loop, cfg);
  result_t *r = get(loop, client, "localhost", tls_port("rsa-gcm"), "/small.txt", false);
  ASSERT_WASIO(0, r->done_status);
  ASSERT_EQ_STR(r->body, "hello from nginx\n");
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(redirect_from_http_to_https) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  static result_t p;
  memset(&p, 0, sizeof p);
  char url[128], want[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/redirect/to-https", (unsigned)NGINX_PORT);
  snprintf(want, sizeof want, "https://localhost:%u/small.txt", (unsigned)tls_port("ecdsa-gcm"));
  wasio_http_call_opts_t o = {.url = url, .data = &p, .on_response = result_on_response, .on_body = result_on_body,
                              .on_done = result_on_done, .max_redirects = -1};
  ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  WAIT_UNTIL(loop, p.dones == 1);
  ASSERT_WASIO(0, p.done_status);
  ASSERT_EQ_INT(p.status, 200);
  ASSERT_EQ_STR(p.body, "hello from nginx\n");
  ASSERT_EQ_STR(p.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256");
  ASSERT_EQ_STR(p.final_url, want);
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(plain_http_on_tls_client_unchanged) {
  /* A client that did https keeps doing http on the same pool. */
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  result_t *r = get(loop, client, "localhost", tls_port("ecdsa-chacha"), "/small.txt", false);
  ASSERT_WASIO(0, r->done_status);
  static result_t p;
  memset(&p, 0, sizeof p);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/small.txt", (unsigned)NGINX_PORT);
  wasio_http_call_opts_t o = {.url = url, .data = &p, .on_response = result_on_response, .on_body = result_on_body,
                              .on_done = result_on_done};
  ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  WAIT_UNTIL(loop, p.dones == 1);
  ASSERT_WASIO(0, p.done_status);
  ASSERT_EQ_STR(p.body, "hello from nginx\n");
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- the end of a connection-delimited body ---------------------------------------- */

TEST(close_delimited_body_needs_close_notify) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  uint16_t port = tls_port("py");
  /* close_notify, then TCP's end: the body is whole. */
  result_t *r = get(loop, client, "localhost", port, "/clean", false);
  ASSERT_WASIO(0, r->done_status);
  ASSERT_EQ_INT(r->status, 200);
  ASSERT_EQ_STR(r->body, PY_BODY);
  /* TCP's end alone: it may have been cut short by anyone on the path. */
  r = get(loop, client, "localhost", port, "/truncate", false);
  ASSERT_WASIO(WASIO_ETLS_TRUNCATED, r->done_status);
  ASSERT_EQ_INT(r->responses, 1);
  /* The pool keeps working for the origin. */
  r = get(loop, client, "localhost", port, "/clean", false);
  ASSERT_WASIO(0, r->done_status);
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A TLS stream that ends while nobody reads it (the call is paused; the
 * stream goes on reading TCP for its records, meets the end without
 * close_notify and fails) refuses the reader when the call resumes. The
 * call must learn that as its result after the bytes it has, not get the
 * error from wasio_http_call_pause() and then wait forever. (This was
 * covered by the transport's old deferred TLS read start, which turned the
 * refusal into a read result one turn later.) */
TEST(truncated_while_paused_fails_the_call_on_resume) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  wasio_tls_config_t *cfg = config_with_ca("/tls/ca.pem");
  wasio_http_client_t *client = new_client(loop, cfg);
  static result_t p;
  memset(&p, 0, sizeof p);
  p.pause_after = 1;
  wasio_http_call_t *call = start_get(client, "localhost", tls_port("py"), "/truncate", false, &p);
  WAIT_UNTIL(loop, p.paused);
  /* The peer closes TCP 100 ms after the body: give the stream time to
   * meet that end while paused. (A slower machine only makes this a test
   * of an ordinary resume: the result must be the same.) */
  sleep_ms(loop, 500);
  ASSERT_EQ_INT(p.dones, 0);
  ASSERT_EQ_INT(p.bodies_while_paused, 0);
  p.paused = false;
  ASSERT_OK(wasio_http_call_pause(call, false));
  WAIT_UNTIL(loop, p.dones == 1);
  ASSERT_WASIO(WASIO_ETLS_TRUNCATED, p.done_status);
  ASSERT_EQ_INT(p.status, 200);
  ASSERT_EQ_STR(p.body, PY_BODY);
  http_client_close_wait(loop, client);
  ASSERT_OK(wasio_tls_config_free(cfg));
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
