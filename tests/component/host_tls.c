/* tests/component/host_tls.c: the host TLS backend (wasio/tls_host.h) and
 * the guest/host/auto choice.
 *
 * Built twice from this one source:
 * - by `make` against libwasio.a (and natively), run by tests/run.py on
 *   every host: the backend is absent there, so AUTO means GUEST, HOST is
 *   WASIO_ENOTSUP and a connected tcp handed to wasio_tls_host_connect() is
 *   refused and left usable;
 * - by `make test-hosttls` with `wasio-cc --host-tls` (libwasio-hosttls.a),
 *   run on wasmtime with -S tls: a real handshake through the host.
 *
 * What a handshake can prove here: wasmtime's wasi:tls is rustls with the
 * Mozilla roots compiled into wasmtime (the webpki-roots crate), not read
 * from any file or directory at run time, and the draft WIT has no way to
 * add a CA. So no local server can be trusted by it, and the only honest
 * local handshake test is a refusal: tls_peer.py's chain under its private
 * root must fail with WASIO_ETLS_CERT_UNTRUSTED and the host's own words
 * (rustls's UnknownIssuer), with no application byte sent (the tcp refuses
 * writes while the host holds its streams, and the peer counts markers).
 * The HTTP client's default (AUTO) takes the same path in the --host-tls
 * build and BearSSL in the default one; both must refuse before the request.
 */
// wasio-test: net
// wasio-test: helper tests/helpers/tls_peer.py
// wasio-test: timeout 60
#include "testlib.h"
#include "wasio/tls_host.h"

#define CTL_MAX 16384
#define MARKER_LINE "WASIO-APP-DATA hello\n"

static wasio_loop_t *new_loop(void) {
  wasio_loop_t *loop = NULL;
  ASSERT_OK(wasio_loop_new(&loop));
  return loop;
}

/* One command to tls_peer.py; the whole reply (it closes after it). */
static char *ctl(wasio_loop_t *loop, const char *cmd) {
  tconn_t c;
  tconn_new(loop, &c, CTL_MAX);
  wasio_addr_t a = loopback(WASIO_AF_INET, helper_port("port"));
  tconn_connect_ok(loop, &c, &a);
  tconn_write_str(&c, cmd);
  tconn_read_start(&c);
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status);
  char *reply = strdup(tconn_text(&c));
  tconn_close(loop, &c);
  if (strncmp(reply, "error", 5) == 0) harness_fail(__FILE__, __LINE__, "helper: %s", reply);
  return reply;
}

/* Starts scenario `name` in plain mode (so `leaked` can count); its port. */
static uint16_t scenario(wasio_loop_t *loop, const char *name) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "start %s plain\n", name);
  char *r = ctl(loop, cmd);
  long port = strtol(r, NULL, 10);
  free(r);
  ASSERT_TRUE(port > 0 && port < 65536);
  return (uint16_t)port;
}

static int leaked(wasio_loop_t *loop, uint16_t port) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "leaked %u\n", port);
  char *r = ctl(loop, cmd);
  int n = atoi(r);
  free(r);
  return n;
}

/* ---- the choice ------------------------------------------------------------------ */

TEST(backend_choice) {
  ASSERT_EQ_STR("auto", wasio_tls_backend_name(WASIO_TLS_BACKEND_AUTO));
  ASSERT_EQ_STR("guest", wasio_tls_backend_name(WASIO_TLS_BACKEND_GUEST));
  ASSERT_EQ_STR("host", wasio_tls_backend_name(WASIO_TLS_BACKEND_HOST));
  ASSERT_TRUE(wasio_tls_backend_name((wasio_tls_backend_t)7) == NULL);
  ASSERT_WASIO(WASIO_EINVAL, wasio_tls_backend_resolve((wasio_tls_backend_t)7));
  ASSERT_EQ_INT(WASIO_TLS_BACKEND_GUEST, wasio_tls_backend_resolve(WASIO_TLS_BACKEND_GUEST));
  if (wasio_tls_host_available()) {
    ASSERT_EQ_INT(WASIO_TLS_BACKEND_HOST, wasio_tls_backend_resolve(WASIO_TLS_BACKEND_AUTO));
    ASSERT_EQ_INT(WASIO_TLS_BACKEND_HOST, wasio_tls_backend_resolve(WASIO_TLS_BACKEND_HOST));
  } else {
    ASSERT_EQ_INT(WASIO_TLS_BACKEND_GUEST, wasio_tls_backend_resolve(WASIO_TLS_BACKEND_AUTO));
    ASSERT_WASIO(WASIO_ENOTSUP, wasio_tls_backend_resolve(WASIO_TLS_BACKEND_HOST));
  }
}

/* ---- a handshake against tls_peer.py's private PKI --------------------------------- */

typedef struct hs {
  bool done;
  int status;
  int closes;
} hs_t;

static void hs_cb(wasio_tls_host_t *tls, int status) {
  hs_t *h = wasio_tls_host_data(tls);
  ASSERT_TRUE(!h->done); /* exactly once */
  h->done = true;
  h->status = status;
}

static void hs_close_cb(wasio_tls_host_t *tls) {
  hs_t *h = wasio_tls_host_data(tls);
  h->closes++;
}

TEST(private_ca_refused) {
  wasio_loop_t *loop = new_loop();
  uint16_t port = scenario(loop, "ecdsa");
  tconn_t c;
  tconn_new(loop, &c, 4096);
  wasio_addr_t a = loopback(WASIO_AF_INET, port);
  tconn_connect_ok(loop, &c, &a);

  wasio_tls_host_t *tls = NULL;
  int rc = wasio_tls_host_connect(c.tcp, "wasio.test", hs_cb, &tls);
  if (!wasio_tls_host_available()) {
    /* Refused without touching the tcp: it still carries plain bytes. */
    ASSERT_WASIO(WASIO_ENOTSUP, rc);
    ASSERT_TRUE(tls == NULL);
    tconn_close(loop, &c);
    ASSERT_LOOP_CLOSED(loop);
    return;
  }
  ASSERT_OK(rc);
  hs_t h = { 0 };
  wasio_tls_host_set_data(tls, &h);
  /* The host holds the streams: nothing may be written or read meanwhile. */
  wasio_write_t w;
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_write(c.tcp, &w, MARKER_LINE, strlen(MARKER_LINE), tconn_write_cb));
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_read_start(c.tcp, NULL, tconn_read_cb));
  WAIT_UNTIL(loop, h.done);
  const char *msg = wasio_tls_host_error_message(tls);
  printf("# host: %s\n", msg);
  ASSERT_WASIO(WASIO_ETLS_CERT_UNTRUSTED, h.status);
  ASSERT_TRUE(strstr(msg, "UnknownIssuer") != NULL);
  /* After a failure the tcp is only good for closing. */
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_write(c.tcp, &w, MARKER_LINE, strlen(MARKER_LINE), tconn_write_cb));
  wasio_tls_host_close(tls, hs_close_cb);
  wasio_tls_host_close(tls, hs_close_cb); /* idempotent */
  WAIT_UNTIL(loop, h.closes == 1);
  ASSERT_EQ_INT(0, leaked(loop, port));
  free(c.in);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(closed_during_handshake) {
  if (!wasio_tls_host_available()) harness_skip("no host TLS in this build");
  wasio_loop_t *loop = new_loop();
  uint16_t port = scenario(loop, "ecdsa");
  tconn_t c;
  tconn_new(loop, &c, 4096);
  wasio_addr_t a = loopback(WASIO_AF_INET, port);
  tconn_connect_ok(loop, &c, &a);
  wasio_tls_host_t *tls = NULL;
  ASSERT_OK(wasio_tls_host_connect(c.tcp, "wasio.test", hs_cb, &tls));
  hs_t h = { 0 };
  wasio_tls_host_set_data(tls, &h);
  wasio_tls_host_close(tls, hs_close_cb);
  WAIT_UNTIL(loop, h.closes == 1);
  ASSERT_TRUE(!h.done); /* an abandoned handshake reports nothing */
  free(c.in);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(argument_and_state_errors) {
  wasio_loop_t *loop = new_loop();
  wasio_tls_host_t *tls = (wasio_tls_host_t *)1;
  bool host = wasio_tls_host_available();
  ASSERT_WASIO(host ? WASIO_EINVAL : WASIO_ENOTSUP, wasio_tls_host_connect(NULL, "x", hs_cb, &tls));
  ASSERT_TRUE(tls == NULL);
  wasio_tcp_t *tcp = NULL;
  ASSERT_OK(wasio_tcp_new(loop, &tcp));
  if (host) {
    char longname[WASIO_TLS_HOST_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_tls_host_connect(tcp, longname, hs_cb, &tls));
    ASSERT_WASIO(WASIO_EINVAL, wasio_tls_host_connect(tcp, "", hs_cb, &tls));
    /* Not connected. */
    ASSERT_WASIO(WASIO_ESTATE, wasio_tls_host_connect(tcp, "wasio.test", hs_cb, &tls));
  } else {
    ASSERT_WASIO(WASIO_ENOTSUP, wasio_tls_host_connect(tcp, "wasio.test", hs_cb, &tls));
  }
  wasio_tcp_close(tcp, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- the HTTP client's choice ------------------------------------------------------ */

static int http_dones, http_status, client_closes;

static void http_done(wasio_http_call_t *call, int status) {
  (void)call;
  http_dones++;
  http_status = status;
}

static void http_client_closed(wasio_http_client_t *c) {
  (void)c;
  client_closes++;
}

/* AUTO with no config of the caller's: the host in the --host-tls build,
 * BearSSL otherwise. Both refuse the private CA before any request byte, so
 * the expectation is the same; what differs is who said it. */
TEST(https_client_auto_refuses_private_ca) {
  wasio_loop_t *loop = new_loop();
  uint16_t port = scenario(loop, "ecdsa");
  wasio_http_client_t *client = NULL;
  wasio_http_client_opts_t o = {.tls_backend = WASIO_TLS_BACKEND_AUTO};
  ASSERT_OK(wasio_http_client_new(loop, &o, &client));
  char url[96];
  snprintf(url, sizeof url, "https://127.0.0.1:%u/WASIO-APP-DATA", port);
  wasio_http_call_opts_t co = {.url = url, .on_done = http_done};
  wasio_http_call_t *call = NULL;
  http_dones = 0;
  ASSERT_OK(wasio_http_call_start(client, &co, &call));
  WAIT_UNTIL(loop, http_dones == 1);
  ASSERT_WASIO(WASIO_ETLS_CERT_UNTRUSTED, http_status);
  client_closes = 0;
  wasio_http_client_close(client, http_client_closed);
  WAIT_UNTIL(loop, client_closes == 1);
  ASSERT_EQ_INT(0, leaked(loop, port));
  ASSERT_LOOP_CLOSED(loop);
}

TEST(https_client_explicit_backends) {
  wasio_loop_t *loop = new_loop();
  wasio_http_client_t *client = NULL;
  wasio_http_client_opts_t o = {.tls_backend = WASIO_TLS_BACKEND_HOST};
  if (wasio_tls_host_available()) {
    ASSERT_OK(wasio_http_client_new(loop, &o, &client));
    wasio_http_client_close(client, NULL);
    /* The host cannot honour a config of the caller's. */
    wasio_tls_config_t *cfg = NULL;
    ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
    o.tls = cfg;
    ASSERT_WASIO(WASIO_EINVAL, wasio_http_client_new(loop, &o, &client));
    ASSERT_OK(wasio_tls_config_free(cfg));
  } else {
    ASSERT_WASIO(WASIO_ENOTSUP, wasio_http_client_new(loop, &o, &client));
  }
  o.tls = NULL;
  o.tls_backend = WASIO_TLS_BACKEND_GUEST;
  ASSERT_OK(wasio_http_client_new(loop, &o, &client));
  wasio_http_client_close(client, NULL);
  o.tls_backend = (wasio_tls_backend_t)9;
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_client_new(loop, &o, &client));
  ASSERT_LOOP_CLOSED(loop);
}
