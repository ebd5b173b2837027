/* tests/component/host_tls.c: the host TLS backend (wasio/tls_host.h) and
 * the guest/host/auto choice.
 *
 * Built twice from this one source (the hosttls line below):
 * - against libwasio.a (and natively), run by tests/run.py on native,
 *   wasmtime and jco: the backend is absent there, so AUTO means GUEST,
 *   HOST is WASIO_ENOTSUP and a connected tcp handed to
 *   wasio_tls_host_connect() is refused and left usable;
 * - with `wasio-cc --host-tls` (libwasio-hosttls.a,
 *   build/wasm32/tests-hosttls/host_tls.wasm), run on two hosts that have
 *   wasi:tls, each telling the test what it trusts:
 *     wasmtime-tls  `wasmtime run -S tls`, trust=webpki: rustls with the
 *                   Mozilla roots compiled into wasmtime, so every chain
 *                   under tls_peer.py's private root is refused, with the
 *                   code rustls's words prove;
 *     tlshost       tools/wasio-tls-host (the same wasmtime-wasi-tls host
 *                   code, OpenSSL provider), trust=private: SSL_CERT_FILE
 *                   is tls_peer.py's root, so the good chains complete and
 *                   the bad ones are refused by OpenSSL.
 *   The expectations are written per trust, never "either".
 *
 * Refusals start the peer in plain mode, where `leaked PORT` counts the
 * marker line it received: 0 proves no application byte went out.
 */
// wasio-test: net
// wasio-test: hosttls
// wasio-test: helper tests/helpers/tls_peer.py
// wasio-test: timeout 120
#include "testlib.h"
#include "wasio/tls_host.h"

#define IN_MAX 16384
#define MARKER_LINE "WASIO-APP-DATA hello\n"
#define SERVER_NAME "wasio.test"
#define WATCHDOG_MS 60000
#define LONG_LINE_BYTES 3000 /* below s_server's 16 KiB line buffer */
#define HTTPS_BODY_PREFIX "wasio https peer: " /* tls_peer.py's "https" scenario */
#define HTTPS_PATH "/WASIO-APP-DATA/host"

typedef enum trust { TRUST_NONE, TRUST_WEBPKI, TRUST_PRIVATE } trust_t;

/* What the host trusts, as the driver says (trust=webpki|private); the
 * default build has no host TLS and takes no trust= at all. */
static trust_t trust(void) {
  const char *t = harness_param("trust", NULL);
  if (!wasio_tls_host_available()) {
    if (t != NULL) harness_fail(__FILE__, __LINE__, "trust=%s given to a build without host TLS", t);
    return TRUST_NONE;
  }
  if (t == NULL) harness_fail(__FILE__, __LINE__, "the --host-tls build needs trust=webpki or trust=private");
  if (strcmp(t, "webpki") == 0) return TRUST_WEBPKI;
  if (strcmp(t, "private") == 0) return TRUST_PRIVATE;
  harness_fail(__FILE__, __LINE__, "unknown trust=%s", t);
}

/* ---- the choice ------------------------------------------------------------------ */

TEST(backend_choice) {
  trust();
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
  ASSERT_TRUE(h->done); /* a handshake callback always runs before the close callback */
  h->closes++;
}

/* What a refusal must look like: the code, words of the host's message
 * (printed with "# ..." lines), and the fatal alert the peer received from
 * the host ("none": the peer ended the handshake itself). */
typedef struct verdict {
  int code;
  const char *words;
  const char *alert;
} verdict_t;

/* rustls (wasmtime -S tls) on a chain under tls_peer.py's root. */
static const verdict_t RUSTLS_UNKNOWN_ISSUER = {WASIO_ETLS_CERT_UNTRUSTED, "UnknownIssuer", "unknown ca"};
/* OpenSSL (tlshost) when verification fails: its text says only
 * "certificate verify failed", not why, so the code can say no more than
 * WASIO_ETLS_CERT_INVALID; the alert it sent the peer says why. */
#define OPENSSL_VERIFY_FAILED(alert_) {WASIO_ETLS_CERT_INVALID, ":certificate verify failed:", alert_}

static char *peer_alert(wasio_loop_t *loop, uint16_t port) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "alert %u\n", port);
  char *r = helper_ask(loop, cmd);
  char *nl = strchr(r, '\n');
  if (nl != NULL) *nl = '\0';
  return r;
}

/* One client connection to a scenario, and the host's handshake on it. */
typedef struct session {
  wasio_loop_t *loop;
  wasio_timer_t *watchdog;
  uint16_t port;
  tconn_t c;
  wasio_tls_host_t *tls;
  hs_t h;
  int connect_rc;
} session_t;

/* Connects to scenario `name` and hands the tcp to the host for `server_name`.
 * Returns with the handshake finished, or with connect_rc != 0 (no host TLS). */
static void session_start(session_t *s, const char *name, bool plain, const char *server_name) {
  memset(s, 0, sizeof *s);
  s->loop = new_loop();
  s->watchdog = watchdog_start(s->loop, WATCHDOG_MS);
  s->port = tls_peer_start(s->loop, name, plain, NULL);
  tconn_new(s->loop, &s->c, IN_MAX);
  wasio_addr_t a = loopback(WASIO_AF_INET, s->port);
  tconn_connect_ok(s->loop, &s->c, &a);
  s->connect_rc = wasio_tls_host_connect(s->c.tcp, server_name, hs_cb, &s->tls);
  if (s->connect_rc != 0) {
    ASSERT_TRUE(s->tls == NULL);
    return;
  }
  wasio_tls_host_set_data(s->tls, &s->h);
  /* The host holds the streams: nothing may be written or read meanwhile. */
  wasio_write_t w;
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_write(s->c.tcp, &w, MARKER_LINE, strlen(MARKER_LINE), tconn_write_cb));
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_read_start(s->c.tcp, NULL, tconn_read_cb));
  WAIT_UNTIL(s->loop, s->h.done);
  printf("# %s for %s: %s, host: \"%s\"\n", name, server_name, harness_err_name(s->h.status),
         wasio_tls_host_error_message(s->tls));
}

/* The build without host TLS: refused, and the tcp is left as it was: a
 * plain write still goes through. */
static void session_assert_untouched(session_t *s) {
  ASSERT_WASIO(WASIO_ENOTSUP, s->connect_rc);
  tconn_write_str(&s->c, MARKER_LINE);
  WAIT_UNTIL(s->loop, s->c.writes_pending == 0);
  ASSERT_EQ_INT(0, s->c.write_errors);
  tconn_close(s->loop, &s->c);
  watchdog_stop(s->watchdog);
  ASSERT_LOOP_CLOSED(s->loop);
}

/* After a failed handshake: the tcp is only good for closing, close is
 * idempotent and runs its callback once, and the peer got no marker. */
static void session_assert_refused(session_t *s, verdict_t want) {
  const char *msg = wasio_tls_host_error_message(s->tls);
  ASSERT_WASIO(want.code, s->h.status);
  if (strstr(msg, want.words) == NULL)
    harness_fail(__FILE__, __LINE__, "host message \"%s\" lacks \"%s\"", msg, want.words);
  wasio_write_t w;
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_write(s->c.tcp, &w, MARKER_LINE, strlen(MARKER_LINE), tconn_write_cb));
  wasio_tls_host_close(s->tls, hs_close_cb);
  wasio_tls_host_close(s->tls, hs_close_cb); /* idempotent */
  WAIT_UNTIL(s->loop, s->h.closes == 1);
  ASSERT_EQ_INT(0, tls_peer_leaked(s->loop, s->port));
  if (want.alert != NULL) {
    char *alert = peer_alert(s->loop, s->port);
    ASSERT_EQ_STR(want.alert, alert);
    free(alert);
  }
  free(s->c.in);
  watchdog_stop(s->watchdog);
  ASSERT_LOOP_CLOSED(s->loop);
}

/* Starts scenario `name` and its handshake for SERVER_NAME. Under
 * trust=private it must succeed: returns true with the session ready. Under
 * the other trusts checks what they must give (no host TLS: the tcp left
 * untouched; webpki: the refusal `webpki`) and returns false: the test ends. */
static bool session_start_private(session_t *s, const char *name, verdict_t webpki) {
  trust_t t = trust();
  session_start(s, name, false, SERVER_NAME);
  if (t == TRUST_NONE) {
    session_assert_untouched(s);
    return false;
  }
  if (t == TRUST_WEBPKI) {
    session_assert_refused(s, webpki);
    return false;
  }
  ASSERT_OK(s->h.status);
  return true;
}

TEST(private_ca_refused) {
  trust_t t = trust();
  if (t == TRUST_PRIVATE) harness_skip("trust=private: this root is trusted here (echo_* prove it)");
  session_t s;
  session_start(&s, "ecdsa", true, SERVER_NAME);
  if (t == TRUST_NONE) {
    session_assert_untouched(&s);
    return;
  }
  session_assert_refused(&s, RUSTLS_UNKNOWN_ISSUER);
}

/* A good chain under the private root, -rev (each line comes back
 * reversed): under trust=private the handshake completes and the same
 * wasio_tcp_t carries plaintext both ways, twice, until the peer's orderly
 * close ("CLOSE" makes s_server send close_notify) reads as EOF. */
static void echo(const char *name, verdict_t rustls) {
  session_t s;
  if (!session_start_private(&s, name, rustls)) return;
  ASSERT_EQ_STR("", wasio_tls_host_error_message(s.tls));
  ASSERT_TRUE(wasio_tls_host_tcp(s.tls) == s.c.tcp);
  ASSERT_TRUE(wasio_tcp_data(s.c.tcp) == &s.c); /* the user's data survives */
  tconn_read_start(&s.c);
  tconn_write_str(&s.c, "hello wasio\n");
  WAIT_UNTIL(s.loop, tconn_has_line(&s.c));
  ASSERT_EQ_STR("oisaw olleh\n", tconn_text(&s.c));
  ASSERT_EQ_INT(0, s.c.write_errors);

  /* A longer line, in two writes, through the same stream. */
  static char line[LONG_LINE_BYTES + 1], want[LONG_LINE_BYTES + 1];
  for (size_t i = 0; i < LONG_LINE_BYTES - 1; i++) line[i] = (char)('a' + i % 26);
  line[LONG_LINE_BYTES - 1] = '\n';
  for (size_t i = 0; i < LONG_LINE_BYTES - 1; i++) want[i] = line[LONG_LINE_BYTES - 2 - i];
  want[LONG_LINE_BYTES - 1] = '\n';
  s.c.in_len = 0;
  tconn_write(&s.c, line, LONG_LINE_BYTES / 2);
  tconn_write(&s.c, line + LONG_LINE_BYTES / 2, LONG_LINE_BYTES - LONG_LINE_BYTES / 2);
  WAIT_UNTIL(s.loop, tconn_has_line(&s.c));
  WAIT_UNTIL(s.loop, s.c.in_len >= LONG_LINE_BYTES || s.c.read_status != 0);
  ASSERT_EQ_INT(LONG_LINE_BYTES, s.c.in_len);
  ASSERT_EQ_MEM(want, s.c.in, LONG_LINE_BYTES);
  ASSERT_EQ_INT(0, s.c.write_errors);

  /* The peer's close_notify ends the plaintext stream cleanly. */
  s.c.in_len = 0;
  tconn_write_str(&s.c, "CLOSE\n");
  WAIT_UNTIL(s.loop, s.c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, s.c.read_status);
  ASSERT_EQ_INT(0, s.c.in_len);
  ASSERT_EQ_INT(0, s.c.write_errors);
  wasio_tls_host_close(s.tls, hs_close_cb);
  WAIT_UNTIL(s.loop, s.h.closes == 1);
  ASSERT_EQ_INT(0, s.c.close_calls); /* the tcp's own close callback is the host handle's */
  free(s.c.in);
  watchdog_stop(s.watchdog);
  ASSERT_LOOP_CLOSED(s.loop);
}

TEST(echo_ecdsa) { echo("ecdsa", RUSTLS_UNKNOWN_ISSUER); }
TEST(echo_rsa_gcm) { echo("rsa-gcm", RUSTLS_UNKNOWN_ISSUER); }
TEST(echo_rsa_chacha) { echo("rsa-chacha", RUSTLS_UNKNOWN_ISSUER); }
/* TLS 1.3 through the host's TLS. Under TLS 1.3 the
 * alert rustls queues on refusing never reaches the peer (wasmtime drops
 * the connection first): the peer reads end of input. */
TEST(echo_tls13) { echo("tls13", (verdict_t){WASIO_ETLS_CERT_UNTRUSTED, "UnknownIssuer", "none"}); }

/* wasio_tcp_shutdown on the host stream ends the sending side as TLS
 * should: the queued bytes, then close_notify (the draft's close-output),
 * then the TCP FIN; its callback runs, with 0, once the host has finished.
 * Against s_server (-rev): the peer takes it as an orderly end and answers
 * with its own close_notify, which the read reports as WASIO_EOF (a bare
 * FIN, as before close-output was used, made s_server answer with a fatal
 * alert, read as WASIO_ECONNRESET), and it received no alert. */
TEST(shutdown_after_echo) {
  session_t s;
  if (!session_start_private(&s, "ecdsa", RUSTLS_UNKNOWN_ISSUER)) return;
  tconn_read_start(&s.c);
  tconn_write_str(&s.c, "abc\n");
  WAIT_UNTIL(s.loop, tconn_has_line(&s.c));
  ASSERT_EQ_STR("cba\n", tconn_text(&s.c));
  ASSERT_OK(wasio_tcp_shutdown(s.c.tcp, tconn_shutdown_cb));
  WAIT_UNTIL(s.loop, s.c.shutdown_done);
  ASSERT_OK(s.c.shutdown_status);
  /* After the shutdown nothing more may be written. */
  wasio_write_t w;
  ASSERT_WASIO(WASIO_EPIPE, wasio_tcp_write(s.c.tcp, &w, "x\n", 2, tconn_write_cb));
  WAIT_UNTIL(s.loop, s.c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, s.c.read_status);
  ASSERT_EQ_INT(strlen("cba\n"), s.c.in_len); /* nothing more arrived */
  char *alert = peer_alert(s.loop, s.port);
  ASSERT_EQ_STR("none", alert);
  free(alert);
  wasio_tls_host_close(s.tls, hs_close_cb);
  WAIT_UNTIL(s.loop, s.h.closes == 1);
  free(s.c.in);
  watchdog_stop(s.watchdog);
  ASSERT_LOOP_CLOSED(s.loop);
}

/* How tls_peer.py's ending peer on `port` saw the client end ("end PORT"). */
static char *peer_end(wasio_loop_t *loop, uint16_t port) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "end %u\n", port);
  char *r = helper_ask(loop, cmd);
  char *nl = strchr(r, '\n');
  if (nl != NULL) *nl = '\0';
  return r;
}

/* The same against a peer that reports exactly what it saw (Python's ssl,
 * where a TCP end without close_notify is an error, not an end): a line
 * written and the shutdown requested in the same turn, so the line must go
 * out before close_notify. The peer reverses the line, reads close_notify,
 * answers with its own (read here as WASIO_EOF, after the line) and then
 * sees the TCP FIN: "close_notify fin". Asked before the tls handle is
 * closed, so the FIN can only have come from the shutdown. */
static void shutdown_ending(const char *name) {
  /* Refused under webpki: a Python peer, no s_server log to read an alert from. */
  session_t s;
  if (!session_start_private(&s, name, (verdict_t){WASIO_ETLS_CERT_UNTRUSTED, "UnknownIssuer", NULL})) return;
  tconn_read_start(&s.c);
  tconn_write_str(&s.c, "last line\n");
  ASSERT_OK(wasio_tcp_shutdown(s.c.tcp, tconn_shutdown_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_tcp_shutdown(s.c.tcp, tconn_shutdown_cb));
  WAIT_UNTIL(s.loop, s.c.shutdown_done);
  ASSERT_OK(s.c.shutdown_status);
  ASSERT_EQ_INT(0, s.c.write_errors);
  WAIT_UNTIL(s.loop, s.c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, s.c.read_status);
  ASSERT_EQ_STR("enil tsal\n", tconn_text(&s.c));
  char *end = peer_end(s.loop, s.port);
  ASSERT_EQ_STR("close_notify fin", end);
  free(end);
  wasio_tls_host_close(s.tls, hs_close_cb);
  WAIT_UNTIL(s.loop, s.h.closes == 1);
  ASSERT_EQ_INT(1, s.h.closes);
  free(s.c.in);
  watchdog_stop(s.watchdog);
  ASSERT_LOOP_CLOSED(s.loop);
}

TEST(shutdown_close_notify_tls12) { shutdown_ending("ending"); }
TEST(shutdown_close_notify_tls13) { shutdown_ending("ending13"); }

/* Closing the tls handle while its shutdown is pending: the shutdown
 * callback gets WASIO_ECANCELED (as wasio_tcp_close gives it: in phase 4,
 * not from inside the close), then the close callback runs once, and
 * everything is released. */
TEST(close_during_shutdown) {
  session_t s;
  if (!session_start_private(&s, "ecdsa", RUSTLS_UNKNOWN_ISSUER)) return;
  tconn_write_str(&s.c, "abc\n");
  ASSERT_OK(wasio_tcp_shutdown(s.c.tcp, tconn_shutdown_cb));
  wasio_tls_host_close(s.tls, hs_close_cb);
  ASSERT_TRUE(!s.c.shutdown_done);
  WAIT_UNTIL(s.loop, s.h.closes == 1);
  ASSERT_TRUE(s.c.shutdown_done);
  ASSERT_WASIO(WASIO_ECANCELED, s.c.shutdown_status);
  free(s.c.in);
  watchdog_stop(s.watchdog);
  ASSERT_LOOP_CLOSED(s.loop);
}

/* Closing with a read pending and bytes in flight: the read ends, nothing
 * is reported after close, everything is freed. */
TEST(close_while_reading) {
  session_t s;
  if (!session_start_private(&s, "ecdsa", RUSTLS_UNKNOWN_ISSUER)) return;
  tconn_read_start(&s.c);
  tconn_write_str(&s.c, "ping\n");
  WAIT_UNTIL(s.loop, tconn_has_line(&s.c));
  ASSERT_EQ_STR("gnip\n", tconn_text(&s.c));
  tconn_write_str(&s.c, "in flight\n");
  wasio_tls_host_close(s.tls, hs_close_cb);
  WAIT_UNTIL(s.loop, s.h.closes == 1);
  ASSERT_EQ_INT(1, s.h.closes);
  free(s.c.in);
  watchdog_stop(s.watchdog);
  ASSERT_LOOP_CLOSED(s.loop);
}

/* One defect each, under both trusts: what the host's words prove. */
static void refused(const char *name, const char *server_name, verdict_t rustls, verdict_t openssl) {
  trust_t t = trust();
  session_t s;
  session_start(&s, name, true, server_name);
  if (t == TRUST_NONE) {
    session_assert_untouched(&s);
    return;
  }
  session_assert_refused(&s, t == TRUST_WEBPKI ? rustls : openssl);
}

/* A good chain, the wrong name asked for: rustls looks at the issuer first. */
TEST(refused_wrong_name) {
  refused("ecdsa", "other.test", RUSTLS_UNKNOWN_ISSUER, (verdict_t)OPENSSL_VERIFY_FAILED("bad certificate"));
}
/* The leaf names another host. */
TEST(refused_wronghost) {
  refused("wronghost", SERVER_NAME, RUSTLS_UNKNOWN_ISSUER, (verdict_t)OPENSSL_VERIFY_FAILED("bad certificate"));
}
/* rustls checks the dates before the issuer and says so in words. */
TEST(refused_expired) {
  refused("expired", SERVER_NAME,
          (verdict_t){WASIO_ETLS_CERT_EXPIRED, "certificate expired", "certificate expired"},
          (verdict_t)OPENSSL_VERIFY_FAILED("certificate expired"));
}
TEST(refused_notyet) {
  refused("notyet", SERVER_NAME,
          (verdict_t){WASIO_ETLS_CERT_NOT_YET_VALID, "certificate not valid yet", "certificate expired"},
          (verdict_t)OPENSSL_VERIFY_FAILED("bad certificate"));
}
/* The self-signed leaf is a CA certificate (CA:TRUE): rustls says that, not
 * "self-signed", so the code is only INVALID. */
TEST(refused_selfsigned) {
  refused("selfsigned", SERVER_NAME,
          (verdict_t){WASIO_ETLS_CERT_INVALID, "CaUsedAsEndEntity", "certificate unknown"},
          (verdict_t)OPENSSL_VERIFY_FAILED("unknown ca"));
}
TEST(refused_unknownca) {
  refused("unknownca", SERVER_NAME, RUSTLS_UNKNOWN_ISSUER, (verdict_t)OPENSSL_VERIFY_FAILED("unknown ca"));
}
/* A TLS 1.0-only peer: rustls offers no TLS 1.0 and the peer refuses with
 * an alert; OpenSSL gets as far as the key exchange and refuses its legacy
 * signature (neither says "version" in words wasio could map). */
TEST(refused_tls10) {
  refused("tls10", SERVER_NAME, (verdict_t){WASIO_ETLS_ALERT, "received fatal alert: ProtocolVersion", "none"},
          (verdict_t){WASIO_ETLS, "legacy sigalg disallowed", "internal error"});
}
/* The peer demands a client certificate (the draft has no way to give
 * one): its fatal alert reaches the guest as WASIO_ETLS_ALERT. */
TEST(refused_client_cert_required) {
  refused("clientcert", SERVER_NAME, RUSTLS_UNKNOWN_ISSUER,
          (verdict_t){WASIO_ETLS_ALERT, ":sslv3 alert handshake failure:", "none"});
}

/* Closed while the host still works on the handshake: the callback it
 * owes runs with WASIO_ECANCELED (phase 4), then the close callback. */
TEST(closed_during_handshake) {
  trust_t t = trust();
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  uint16_t port = tls_peer_start(loop, "ecdsa", false, NULL);
  tconn_t c;
  tconn_new(loop, &c, IN_MAX);
  wasio_addr_t a = loopback(WASIO_AF_INET, port);
  tconn_connect_ok(loop, &c, &a);
  wasio_tls_host_t *tls = NULL;
  int rc = wasio_tls_host_connect(c.tcp, SERVER_NAME, hs_cb, &tls);
  if (t == TRUST_NONE) {
    ASSERT_WASIO(WASIO_ENOTSUP, rc);
    tconn_close(loop, &c);
    watchdog_stop(wd);
    ASSERT_LOOP_CLOSED(loop);
    return;
  }
  ASSERT_OK(rc);
  hs_t h = { 0 };
  wasio_tls_host_set_data(tls, &h);
  wasio_tls_host_close(tls, hs_close_cb);
  /* Nothing from inside the close; then the handshake's callback, once,
   * with WASIO_ECANCELED, before the close callback (wasio.h). */
  ASSERT_TRUE(!h.done && h.closes == 0);
  WAIT_UNTIL(loop, h.closes == 1);
  ASSERT_TRUE(h.done);
  ASSERT_WASIO(WASIO_ECANCELED, h.status);
  free(c.in);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(argument_and_state_errors) {
  trust();
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
    ASSERT_WASIO(WASIO_ESTATE, wasio_tls_host_connect(tcp, SERVER_NAME, hs_cb, &tls));
  } else {
    ASSERT_WASIO(WASIO_ENOTSUP, wasio_tls_host_connect(tcp, SERVER_NAME, hs_cb, &tls));
  }
  wasio_tcp_close(tcp, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- the HTTP client ------------------------------------------------------------ */

typedef struct fetch {
  int dones, status, responses, code;
  char body[IN_MAX];
  size_t body_len;
} fetch_t;

static void fetch_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  fetch_t *f = wasio_http_call_data(call);
  f->responses++;
  f->code = res->status;
}

static void fetch_body(wasio_http_call_t *call, const void *data, size_t len) {
  fetch_t *f = wasio_http_call_data(call);
  ASSERT_TRUE(f->body_len + len < sizeof f->body);
  memcpy(f->body + f->body_len, data, len);
  f->body_len += len;
  f->body[f->body_len] = '\0';
}

static void fetch_done(wasio_http_call_t *call, int status) {
  fetch_t *f = wasio_http_call_data(call);
  f->dones++;
  f->status = status;
}

/* The client has no data pointer: its close is counted here. */
static int client_closes;
static void fetch_client_closed(wasio_http_client_t *c) {
  (void)c;
  client_closes++;
}

/* GET https://127.0.0.1:PORT/HTTPS_PATH from tls_peer.py's "https" peer
 * (the leaf names IP 127.0.0.1) with the given backend. */
static void https_get(wasio_loop_t *loop, wasio_tls_backend_t backend, uint16_t port, fetch_t *f) {
  memset(f, 0, sizeof *f);
  wasio_http_client_t *client = NULL;
  wasio_http_client_opts_t o = {.tls_backend = backend};
  ASSERT_OK(wasio_http_client_new(loop, &o, &client));
  char url[96];
  snprintf(url, sizeof url, "https://127.0.0.1:%u%s", port, HTTPS_PATH);
  wasio_http_call_opts_t co = {
      .url = url, .data = f, .on_response = fetch_response, .on_body = fetch_body, .on_done = fetch_done};
  wasio_http_call_t *call = NULL;
  ASSERT_OK(wasio_http_call_start(client, &co, &call));
  WAIT_UNTIL(loop, f->dones == 1);
  client_closes = 0;
  wasio_http_client_close(client, fetch_client_closed);
  WAIT_UNTIL(loop, client_closes == 1);
}

static void assert_fetched(wasio_loop_t *loop, uint16_t port, const fetch_t *f) {
  ASSERT_OK(f->status);
  ASSERT_EQ_INT(1, f->responses);
  ASSERT_EQ_INT(200, f->code);
  ASSERT_EQ_STR(HTTPS_BODY_PREFIX HTTPS_PATH "\n", f->body);
  ASSERT_EQ_INT(1, tls_peer_leaked(loop, port)); /* the request reached the peer, once */
}

/* One GET through `backend` on a fresh loop: the body when `fetches`, else
 * the guest's (mbedTLS) or rustls's refusal of the private root before any request
 * byte (nothing reached the peer). */
static void https_client_case(wasio_tls_backend_t backend, bool fetches) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, WATCHDOG_MS);
  uint16_t port = tls_peer_start(loop, "https", false, NULL);
  fetch_t f;
  https_get(loop, backend, port, &f);
  printf("# %s: %s\n", wasio_tls_backend_name(backend), harness_err_name(f.status));
  if (fetches) {
    assert_fetched(loop, port, &f);
  } else {
    ASSERT_WASIO(WASIO_ETLS_CERT_UNTRUSTED, f.status);
    ASSERT_EQ_INT(0, f.responses);
    ASSERT_EQ_INT(0, tls_peer_leaked(loop, port));
  }
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* AUTO with no config of the caller's: the host in the --host-tls build,
 * the guest's (mbedTLS) otherwise. The guest (Mozilla roots only, no config) and rustls
 * refuse the private root before any request byte; the OpenSSL host trusts
 * it, so a body here can only have come through the host. */
TEST(https_client_auto) {
  trust_t t = trust();
  https_client_case(WASIO_TLS_BACKEND_AUTO, t == TRUST_PRIVATE);
}

/* HOST explicitly: the body under trust=private, the host's refusal under
 * webpki, WASIO_ENOTSUP from wasio_http_client_new without host TLS. */
TEST(https_client_host) {
  trust_t t = trust();
  if (t == TRUST_NONE) {
    wasio_loop_t *loop = new_loop();
    wasio_http_client_t *client = NULL;
    wasio_http_client_opts_t o = {.tls_backend = WASIO_TLS_BACKEND_HOST};
    ASSERT_WASIO(WASIO_ENOTSUP, wasio_http_client_new(loop, &o, &client));
    ASSERT_LOOP_CLOSED(loop);
    return;
  }
  https_client_case(WASIO_TLS_BACKEND_HOST, t == TRUST_PRIVATE);
}

/* GUEST explicitly in every build: mbedTLS, which does not trust the
 * private root without a config, whatever the host trusts. */
TEST(https_client_guest_refuses_private_ca) {
  trust();
  https_client_case(WASIO_TLS_BACKEND_GUEST, false);
}

TEST(https_client_explicit_backends) {
  trust();
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
