/* tests/component/tls.c: wasio_tls_t (mbedTLS) against real TLS peers.
 *
 * tests/helpers/tls_peer.py makes a private PKI with the openssl CLI at test
 * time and starts one openssl s_server (or a Python ssl peer) per scenario
 * on request; the test asks for it over a plain TCP control connection, gets
 * its port and the root CA to trust, and connects with the name wasio.test
 * (or the address 127.0.0.1). Each rejection test checks the exact error,
 * that the queued request never left (its write fails with the same error)
 * and that the peer received no application byte (the helper counts the
 * marker line).
 */
// wasio-test: net
// wasio-test: helper tests/helpers/tls_peer.py
// wasio-test: timeout 120
#include "testlib.h"

#define CONNECT_TIMEOUT (10 * WASIO_NS_PER_S)
#define TLS_IN_MAX 4096
#define MARKER_LINE "WASIO-APP-DATA hello\n"

/* ---- a TLS client connection ---------------------------------------------------- */

typedef struct tlsc {
  wasio_tls_t *tls;
  bool hs_done;
  int hs_status;
  bool reading;
  int read_status;
  char in[TLS_IN_MAX];
  size_t in_len;
  int writes_done, write_status;
  bool sd_done;
  int sd_status;
  int close_calls;
  bool bulk;           /* count and CRC the input instead of keeping it */
  uint64_t total;
  uint32_t crc;
  bool echo;           /* server side: answer the first line, then close_notify */
  bool echoed;
  char reply[TLS_IN_MAX];
} tlsc_t;

static void tlsc_hs_cb(wasio_tls_t *tls, int status) {
  tlsc_t *c = wasio_tls_data(tls);
  ASSERT_TRUE(!c->hs_done); /* exactly once */
  c->hs_done = true;
  c->hs_status = status;
}

static void tlsc_read_cb(wasio_tls_t *tls, ptrdiff_t nread, const wasio_buf_t *buf) {
  tlsc_t *c = wasio_tls_data(tls);
  ASSERT_TRUE(nread != 0);
  if (nread < 0) {
    c->reading = false;
    c->read_status = (int)nread;
    return;
  }
  if (c->bulk) {
    c->total += (uint64_t)nread;
    c->crc = tl_crc32(c->crc, buf->base, (size_t)nread);
    return;
  }
  ASSERT_TRUE(c->in_len + (size_t)nread < sizeof c->in);
  memcpy(c->in + c->in_len, buf->base, (size_t)nread);
  c->in_len += (size_t)nread;
  c->in[c->in_len] = 0;
}

static void tlsc_write_cb(wasio_write_t *req, int status) {
  tlsc_t *c = req->data;
  c->writes_done++;
  c->write_status = status;
  free(req);
}

static void tlsc_write(tlsc_t *c, const char *s) {
  wasio_write_t *req = calloc(1, sizeof *req);
  ASSERT_TRUE(req != NULL);
  req->data = c;
  ASSERT_OK(wasio_tls_write(c->tls, req, s, strlen(s), tlsc_write_cb));
}

static void tlsc_sd_cb(wasio_tls_t *tls, int status) {
  tlsc_t *c = wasio_tls_data(tls);
  c->sd_done = true;
  c->sd_status = status;
}

static void tlsc_close_cb(wasio_tls_t *tls) {
  tlsc_t *c = wasio_tls_data(tls);
  c->close_calls++;
}

/* TCP connect to 127.0.0.1:port, then TLS as `host`; the handshake runs,
 * the marker line is queued at once and reading starts. */
static void tlsc_open(wasio_loop_t *loop, tlsc_t *c, wasio_tls_config_t *cfg, uint16_t port,
                      const char *host) {
  memset(c, 0, sizeof *c);
  tconn_t t;
  tconn_new(loop, &t, 0);
  wasio_addr_t a = loopback(WASIO_AF_INET, port);
  tconn_connect_ok(loop, &t, &a);
  ASSERT_OK(wasio_tls_new(t.tcp, cfg, host, port, &c->tls));
  wasio_tls_set_data(c->tls, c);
  ASSERT_OK(wasio_tls_handshake(c->tls, tlsc_hs_cb));
  tlsc_write(c, MARKER_LINE);
  c->reading = true;
  ASSERT_OK(wasio_tls_read_start(c->tls, NULL, tlsc_read_cb));
}

static void tlsc_close(wasio_loop_t *loop, tlsc_t *c) {
  wasio_tls_close(c->tls, tlsc_close_cb);
  WAIT_UNTIL(loop, c->close_calls == 1);
}

static wasio_tls_config_t *client_cfg(const char *ca) {
  wasio_tls_config_t *cfg = NULL;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  ASSERT_EQ_INT(wasio_tls_config_add_ca_pem(cfg, ca, strlen(ca)), 1);
  return cfg;
}

/* ---- good handshakes ----------------------------------------------------------------- */

/* Handshake, one echoed line (s_server -rev reverses it), close_notify both
 * ways; the peer's port is returned (for questions to the helper about it). */
static uint16_t good_v(const char *name, const char *host, uint16_t want_version, uint16_t want_suite, bool alpn) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, name, false, &ca);
  wasio_tls_config_t *cfg = client_cfg(ca);
  const char *protos[] = {"http/1.1"};
  if (alpn) ASSERT_OK(wasio_tls_config_alpn(cfg, protos, 1));
  tlsc_t c;
  tlsc_open(loop, &c, cfg, port, host);
  WAIT_UNTIL(loop, c.hs_done);
  ASSERT_WASIO(0, c.hs_status);
  wasio_tls_info_t info;
  wasio_tls_info(c.tls, &info);
  ASSERT_TRUE(info.handshake_done);
  ASSERT_EQ_INT(info.version, want_version);
  ASSERT_EQ_INT(info.cipher_suite, want_suite);
  if (alpn) ASSERT_EQ_STR(info.alpn, "http/1.1");
  WAIT_UNTIL(loop, strchr(c.in, '\n') != NULL);
  ASSERT_EQ_STR(c.in, "olleh ATAD-PPA-OISAW\n");
  WAIT_UNTIL(loop, c.writes_done == 1); /* its callback may come after the echo */
  ASSERT_WASIO(0, c.write_status);
  ASSERT_OK(wasio_tls_shutdown(c.tls, tlsc_sd_cb));
  WAIT_UNTIL(loop, c.sd_done && c.read_status != 0);
  ASSERT_WASIO(0, c.sd_status);
  ASSERT_WASIO(WASIO_EOF, c.read_status); /* the peer's close_notify */
  tlsc_close(loop, &c);
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
  return port;
}

/* The same over TLS 1.2. */
static void good(const char *name, const char *host, uint16_t want_suite, bool alpn) {
  good_v(name, host, 0x0303, want_suite, alpn);
}

/* No callback runs from inside the call that asked for it (as with
 * wasio_tcp_*): a zero-length write whose predecessors' ciphertext is
 * already out completes in a later turn, not inside wasio_tls_write. And the
 * config may be freed from the stream's close callback (the engine that
 * used it is gone by then). */
static wasio_tls_config_t *cfg_freed_in_close;
static int cfg_free_rc = 1;
static void close_frees_cfg_cb(wasio_tls_t *tls) {
  tlsc_t *c = wasio_tls_data(tls);
  c->close_calls++;
  cfg_free_rc = wasio_tls_config_free(cfg_freed_in_close);
}

TEST(no_callback_inside_calls) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, "ecdsa", false, &ca);
  cfg_freed_in_close = client_cfg(ca);
  tlsc_t c;
  tlsc_open(loop, &c, cfg_freed_in_close, port, "wasio.test");
  ASSERT_TRUE(!c.hs_done); /* queued, not run inside wasio_tls_handshake */
  WAIT_UNTIL(loop, c.hs_done && c.writes_done == 1 && strchr(c.in, '\n') != NULL);
  ASSERT_WASIO(0, c.hs_status);
  wasio_write_t *req = calloc(1, sizeof *req);
  ASSERT_TRUE(req != NULL);
  req->data = &c;
  ASSERT_OK(wasio_tls_write(c.tls, req, "", 0, tlsc_write_cb));
  ASSERT_EQ_INT(c.writes_done, 1); /* not from inside the call */
  WAIT_UNTIL(loop, c.writes_done == 2);
  ASSERT_WASIO(0, c.write_status);
  cfg_free_rc = 1;
  wasio_tls_close(c.tls, close_frees_cfg_cb);
  WAIT_UNTIL(loop, c.close_calls == 1);
  ASSERT_WASIO(0, cfg_free_rc);
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(ecdsa_aes128gcm_alpn) { good("ecdsa", "wasio.test", 0xC02B, true); }
TEST(rsa_aes256gcm) { good("rsa-gcm", "wasio.test", 0xC030, false); }
TEST(rsa_chacha20) { good("rsa-chacha", "wasio.test", 0xCCA8, false); }
/* The client's suite order: AES-GCM first only where the CPU has AES
 * instructions (read here from /proc/cpuinfo, independently of the
 * engine's own probe); ChaCha20-Poly1305 first in a component, which has
 * none. */
static bool cpu_has_aes(void) {
#ifdef __wasm__
  return false;
#else
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f == NULL) return false;
  char line[4096];
  bool aes = false;
  while (!aes && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "flags", 5) == 0 && strstr(line, " aes") != NULL) aes = true;
  fclose(f);
  return aes;
#endif
}
TEST(suite_order_follows_aes_hardware) { good("anysuite", "wasio.test", cpu_has_aes() ? 0xC02B : 0xCCA9, false); }

/* An IP address is checked against the iPAddress SAN. */
TEST(ip_address_san) { good("ecdsa", "127.0.0.1", 0xC02B, false); }

/* Three connections to scenario `name`: the second resumes the first's
 * session, the third not (its trust changed). */
static void resumption(const char *name, uint16_t want_version) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, name, false, &ca);
  wasio_tls_config_t *cfg = client_cfg(ca);
  for (int round = 0; round < 3; round++) {
    /* Round 2: changing what is trusted forgets the sessions (a resumed
     * session skips verification). */
    if (round == 2) ASSERT_EQ_INT(wasio_tls_config_add_ca_pem(cfg, ca, strlen(ca)), 1);
    tlsc_t c;
    tlsc_open(loop, &c, cfg, port, "wasio.test");
    WAIT_UNTIL(loop, c.hs_done);
    ASSERT_WASIO(0, c.hs_status);
    wasio_tls_info_t info;
    wasio_tls_info(c.tls, &info);
    ASSERT_EQ_INT(info.version, want_version);
    ASSERT_EQ_INT(info.resumed, round == 1);
    WAIT_UNTIL(loop, strchr(c.in, '\n') != NULL);
    ASSERT_OK(wasio_tls_shutdown(c.tls, tlsc_sd_cb));
    WAIT_UNTIL(loop, c.sd_done && c.read_status != 0);
    ASSERT_WASIO(WASIO_EOF, c.read_status);
    tlsc_close(loop, &c);
  }
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* TLS 1.2 with a session ticket (RFC 5077), and by session ID alone. */
TEST(resumption) { resumption("resume", 0x0303); }
TEST(resumption_by_session_id) { resumption("resume-id", 0x0303); }

/* A peer that sends one line and ends the connection its own way: the line
 * arrives, then the read ends with `want_end`. */
static void peer_ending(const char *name, const char *want_in, int want_end) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, name, false, &ca);
  wasio_tls_config_t *cfg = client_cfg(ca);
  tlsc_t c;
  tlsc_open(loop, &c, cfg, port, "wasio.test");
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(0, c.hs_status);
  ASSERT_EQ_STR(c.in, want_in);
  ASSERT_WASIO(want_end, c.read_status);
  tlsc_close(loop, &c);
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* The peer closes with close_notify: WASIO_EOF after its data. */
TEST(close_notify_from_peer) { peer_ending("clean", "bye\n", WASIO_EOF); }

/* TCP ends without close_notify: the data before it arrives, then the
 * truncation is an error, never a clean EOF. */
TEST(truncation_without_close_notify) { peer_ending("truncate", "partial\n", WASIO_ETLS_TRUNCATED); }

/* ---- TLS 1.3 --------------------------------------------------------------------------- */

/* The client's TLS 1.3 suite order, as for 1.2: AES-GCM first only with AES
 * instructions. */
#define SUITE13_FIRST (cpu_has_aes() ? 0x1301 : 0x1303)

TEST(tls13_only_peer_alpn) {
  good_v("tls13", "wasio.test", 0x0304, SUITE13_FIRST, true);
}

TEST(tls13_suite_order) {
  good_v("anysuite13", "wasio.test", 0x0304, SUITE13_FIRST, false);
}

/* Resumption by TLS 1.3 ticket (with a fresh key exchange). */
TEST(tls13_resumption_by_ticket) {
  resumption("resume13", 0x0304);
}

/* The peer takes only P-256; the client's key share is X25519: the server
 * asks again (HelloRetryRequest), the client sends a second ClientHello
 * with a P-256 share, and the handshake completes. */
TEST(tls13_hello_retry_request) {
  uint16_t port = good_v("hrr", "wasio.test", 0x0304, SUITE13_FIRST, false);
  wasio_loop_t *loop = new_loop();
  char cmd[64];
  snprintf(cmd, sizeof cmd, "hellos %u\n", port);
  char *r = helper_ask(loop, cmd);
  ASSERT_EQ_STR(r, "2\n");
  free(r);
  ASSERT_LOOP_CLOSED(loop);
}

/* close_notify and truncation as in TLS 1.2 (the tests below). */
static void peer_ending(const char *name, const char *want_in, int want_end);
TEST(tls13_close_notify_from_peer) {
  peer_ending("clean13", "bye\n", WASIO_EOF);
}
TEST(tls13_truncation_without_close_notify) {
  peer_ending("truncate13", "partial\n", WASIO_ETLS_TRUNCATED);
}

/* The peer updates its keys (TLS 1.3 KeyUpdate, RFC 8446 4.6.3) and then
 * sends a line. mbedTLS 3.6 cannot follow (it has no KeyUpdate): the
 * connection ends with WASIO_ETLS_KEY_UPDATE, its own code, and no byte of
 * the line is taken as plaintext. This test pins that limit down, so that
 * an mbedTLS that learns KeyUpdate shows here (the line then arrives). */
TEST(tls13_key_update_from_peer) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, "keyupdate", true, &ca);
  wasio_tls_config_t *cfg = client_cfg(ca);
  tlsc_t c;
  tlsc_open(loop, &c, cfg, port, "wasio.test");
  WAIT_UNTIL(loop, c.hs_done && c.writes_done == 1);
  ASSERT_WASIO(0, c.hs_status);
  ASSERT_WASIO(0, c.write_status);
  /* The peer has our line, so its handshake is over too: now the update. */
  WAIT_UNTIL(loop, tls_peer_leaked(loop, port) == 1);
  char cmd[64];
  snprintf(cmd, sizeof cmd, "stdin %u k\n", port);
  free(helper_ask(loop, cmd));
  snprintf(cmd, sizeof cmd, "stdin %u after-update\n", port);
  free(helper_ask(loop, cmd));
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_ETLS_KEY_UPDATE, c.read_status);
  ASSERT_EQ_INT(c.in_len, 0);
  tlsc_close(loop, &c);
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- close: what it owes, when (wasio.h, wasio/tls.h) ------------------------------------ */

/* The order callbacks ran in: h (handshake), w (write), s (shutdown), c
 * (close), each followed by its status as "0" or "C" (WASIO_ECANCELED). */
static char close_log[32];
static void close_log_add(char what, int status) {
  size_t n = strlen(close_log);
  ASSERT_TRUE(n + 2 < sizeof close_log);
  close_log[n] = what;
  close_log[n + 1] = status == 0 ? '0' : status == WASIO_ECANCELED ? 'C' : '?';
}
static void close_hs_cb(wasio_tls_t *tls, int status) { (void)tls; close_log_add('h', status); }
static void close_write_cb(wasio_write_t *req, int status) { (void)req; close_log_add('w', status); }
static void close_sd_cb(wasio_tls_t *tls, int status) { (void)tls; close_log_add('s', status); }
static void close_close_cb(wasio_tls_t *tls) { (void)tls; close_log_add('c', 0); }

/* A TLS stream over a connected TCP handle to scenario "ecdsa". */
static wasio_tls_t *close_stream(wasio_loop_t *loop, wasio_tls_config_t *cfg, uint16_t port) {
  tconn_t t;
  tconn_new(loop, &t, 0);
  wasio_addr_t a = loopback(WASIO_AF_INET, port);
  tconn_connect_ok(loop, &t, &a);
  wasio_tls_t *tls = NULL;
  ASSERT_OK(wasio_tls_new(t.tcp, cfg, "wasio.test", port, &tls));
  return tls;
}

/* Closed with a handshake, a write and a shutdown pending: nothing runs
 * inside wasio_tls_close; in phase 4 each gets WASIO_ECANCELED once, in
 * that order, then the close callback. */
TEST(close_cancels_in_phase_4) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, "ecdsa", false, &ca);
  wasio_tls_config_t *cfg = client_cfg(ca);
  wasio_tls_t *tls = close_stream(loop, cfg, port);
  memset(close_log, 0, sizeof close_log);
  wasio_write_t w;
  ASSERT_OK(wasio_tls_handshake(tls, close_hs_cb));
  ASSERT_OK(wasio_tls_write(tls, &w, MARKER_LINE, strlen(MARKER_LINE), close_write_cb));
  ASSERT_OK(wasio_tls_shutdown(tls, close_sd_cb));
  wasio_tls_close(tls, close_close_cb);
  wasio_tls_close(tls, close_close_cb); /* idempotent */
  ASSERT_EQ_STR("", close_log);         /* nothing from inside the calls */
  WAIT_UNTIL(loop, strchr(close_log, 'c') != NULL);
  ASSERT_EQ_STR("hCwCsCc0", close_log);
  ASSERT_EQ_INT(0, tls_peer_leaked(loop, port)); /* nothing reached the peer */
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Closed after the handshake, from a deferred callback queued right after
 * a write: by then the stream's pump (deferred first) has handed the
 * write's ciphertext to TCP, whose close takes it; so the write is done
 * (0, not WASIO_ECANCELED), in phase 4, before the close callback, and the
 * peer receives it. Another write queued behind it, not yet in the engine,
 * is canceled. */
static wasio_tls_t *close_later_tls;
static void close_later_cb(wasio_defer_t *d, int status) {
  (void)d;
  (void)status;
  static wasio_write_t w2;
  ASSERT_OK(wasio_tls_write(close_later_tls, &w2, "late\n", 5, close_write_cb));
  wasio_tls_close(close_later_tls, close_close_cb);
  ASSERT_EQ_STR("h0", close_log);
}
TEST(close_completes_taken_writes) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, "ecdsa", true, &ca);
  wasio_tls_config_t *cfg = client_cfg(ca);
  wasio_tls_t *tls = close_stream(loop, cfg, port);
  memset(close_log, 0, sizeof close_log);
  ASSERT_OK(wasio_tls_handshake(tls, close_hs_cb));
  WAIT_UNTIL(loop, close_log[0] == 'h');
  ASSERT_EQ_STR("h0", close_log);
  wasio_write_t w;
  ASSERT_OK(wasio_tls_write(tls, &w, MARKER_LINE, strlen(MARKER_LINE), close_write_cb));
  wasio_defer_t d;
  close_later_tls = tls;
  ASSERT_OK(wasio_defer(loop, &d, close_later_cb));
  WAIT_UNTIL(loop, strchr(close_log, 'c') != NULL);
  ASSERT_EQ_STR("h0w0wCc0", close_log);
  /* The peer's log is complete once it has exited (its `alert` waits for
   * that); then the marker line is in it once. */
  char cmd[64];
  snprintf(cmd, sizeof cmd, "alert %u\n", port);
  free(helper_ask(loop, cmd));
  ASSERT_EQ_INT(1, tls_peer_leaked(loop, port));
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- rejections ----------------------------------------------------------------------- */


/* The leaf's real pins from the helper: kind 0 SPKI, 1 certificate. */
static void real_pin(wasio_loop_t *loop, int which, uint8_t out[32]) {
  char *r = helper_ask(loop, "pins leaf-ec\n");
  const char *hex = r + (which ? 65 : 0);
  ASSERT_TRUE(strlen(r) >= 129);
  for (int i = 0; i < 32; i++) {
    unsigned v;
    ASSERT_EQ_INT(sscanf(hex + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
  free(r);
}

typedef enum { CFG_DEFAULT, CFG_NO_CA, CFG_BAD_PIN, CFG_INSECURE, CFG_PIN_SPKI, CFG_PIN_CERT } cfg_kind_t;

/* Connects to scenario `name` and expects the handshake to end in `want`
 * (0: success), the queued marker never sent. */
static void reject(const char *name, const char *host, cfg_kind_t kind, int want) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  char *ca;
  uint16_t port = tls_peer_start(loop, name, true, &ca);
  wasio_tls_config_t *cfg = NULL;
  if (kind == CFG_NO_CA) ASSERT_OK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg));
  else cfg = client_cfg(ca);
  if (kind == CFG_BAD_PIN) {
    uint8_t pin[32];
    memset(pin, 0xA5, sizeof pin);
    ASSERT_OK(wasio_tls_config_pin_sha256(cfg, WASIO_TLS_PIN_SPKI, pin));
  }
  if (kind == CFG_INSECURE) ASSERT_OK(wasio_tls_config_insecure(cfg, true));
  if (kind == CFG_PIN_SPKI || kind == CFG_PIN_CERT) {
    uint8_t pin[32], wrong[32];
    memset(wrong, 0x5A, sizeof wrong);
    real_pin(loop, kind == CFG_PIN_CERT, pin);
    /* Any one pin matching is enough. */
    ASSERT_OK(wasio_tls_config_pin_sha256(cfg, WASIO_TLS_PIN_SPKI, wrong));
    ASSERT_OK(wasio_tls_config_pin_sha256(cfg, kind == CFG_PIN_CERT ? WASIO_TLS_PIN_CERT : WASIO_TLS_PIN_SPKI, pin));
  }
  tlsc_t c;
  tlsc_open(loop, &c, cfg, port, host);
  WAIT_UNTIL(loop, c.hs_done);
  ASSERT_WASIO(want, c.hs_status);
  if (want != 0) {
    WAIT_UNTIL(loop, c.writes_done == 1 && c.read_status != 0);
    ASSERT_WASIO(want, c.write_status); /* the request never left */
    ASSERT_WASIO(want, c.read_status);
    ASSERT_EQ_INT(c.in_len, 0);
  } else {
    WAIT_UNTIL(loop, c.writes_done == 1);
    ASSERT_WASIO(0, c.write_status);
  }
  tlsc_close(loop, &c);
  ASSERT_EQ_INT(tls_peer_leaked(loop, port), want == 0 ? 1 : 0);
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(reject_expired) { reject("expired", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_EXPIRED); }
TEST(reject_not_yet_valid) { reject("notyet", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_NOT_YET_VALID); }
TEST(reject_wrong_host) { reject("wronghost", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_NAME); }
TEST(reject_wrong_host_name_given) { reject("ecdsa", "other.test", CFG_DEFAULT, WASIO_ETLS_CERT_NAME); }
TEST(reject_ip_not_in_san) { reject("ip-only-dns", "127.0.0.1", CFG_DEFAULT, WASIO_ETLS_CERT_NAME); }
/* "*." covers exactly one whole first label. */
TEST(wildcard_one_label) { good("wildcard", "api.wasio.test", cpu_has_aes() ? 0xC02B : 0xCCA9, false); }
TEST(reject_wildcard_two_labels) { reject("wildcard", "a.b.wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_NAME); }
TEST(reject_wildcard_bare_domain) { reject("wildcard", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_NAME); }
TEST(reject_self_signed) { reject("selfsigned", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_SELF_SIGNED); }
TEST(reject_unknown_ca) { reject("unknownca", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_UNTRUSTED); }
TEST(reject_private_ca_not_given) { reject("ecdsa", "wasio.test", CFG_NO_CA, WASIO_ETLS_CERT_UNTRUSTED); }
/* An HTTP server answering the ClientHello with a 400: not TLS at all. */
TEST(reject_plain_http_peer) { reject("plainhttp", "wasio.test", CFG_DEFAULT, WASIO_ETLS_NOT_TLS); }
TEST(reject_missing_intermediate) { reject("nointer", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_UNTRUSTED); }
TEST(reject_sha1_signature) { reject("sha1", "wasio.test", CFG_DEFAULT, WASIO_ETLS_CERT_ALGORITHM); }
TEST(reject_tls10_only_server) { reject("tls10", "wasio.test", CFG_DEFAULT, WASIO_ETLS_VERSION); }
TEST(reject_pin_mismatch) { reject("ecdsa", "wasio.test", CFG_BAD_PIN, WASIO_ETLS_CERT_PIN); }
TEST(pin_spki_matches) { reject("ecdsa", "wasio.test", CFG_PIN_SPKI, 0); }
TEST(pin_cert_matches) { reject("ecdsa", "wasio.test", CFG_PIN_CERT, 0); }
/* The escape hatch works (and is the only way past a self-signed peer). */
TEST(insecure_accepts_self_signed) { reject("selfsigned", "wasio.test", CFG_INSECURE, 0); }

/* ---- the verification policy, one rule each (wasio/tls.h, "Verification") --------------
 * Each refusal has its own code, is decided before any application byte
 * leaves (reject() checks the peer got none), and -k lets each through. */
static void rule(const char *name, const char *host, int want) {
  reject(name, host, CFG_DEFAULT, want);
  reject(name, host, CFG_INSECURE, 0);
}
/* The server's name only from subjectAltName, never from the subject CN
 * (CA/Browser Forum Baseline Requirements, RFC 9525). */
TEST(rule_name_only_from_san) { rule("nosan", "wasio.test", WASIO_ETLS_CERT_NO_SAN); }
/* "*" only as the whole left-most label, of a name with two labels or more
 * after it. */
TEST(rule_wildcard_partial_label) { rule("badwild", "www.wasio.test", WASIO_ETLS_CERT_WILDCARD); }
TEST(rule_wildcard_too_wide) { rule("widewild", "wasio.test", WASIO_ETLS_CERT_WILDCARD); }
/* An address only from an iPAddress entry: not from a DNS name that reads
 * like it, nor under a wildcard. */
TEST(rule_ip_not_from_dns_name) { rule("ipdns", "127.0.0.1", WASIO_ETLS_CERT_IP); }
TEST(rule_ip_not_from_wildcard) { rule("ipwild", "127.0.0.1", WASIO_ETLS_CERT_IP); }
/* An extendedKeyUsage without serverAuth. */
TEST(rule_eku_without_server_auth) { rule("clientauth", "wasio.test", WASIO_ETLS_CERT_USAGE); }
/* RSA keys under 2048 bits (SHA-1 signatures: reject_sha1_signature). */
TEST(rule_rsa_under_2048) { rule("rsa1024", "wasio.test", WASIO_ETLS_CERT_WEAK_KEY); }
/* basicConstraints and keyUsage on every issuer. */
TEST(rule_issuer_not_ca) { rule("noca", "wasio.test", WASIO_ETLS_CERT_ISSUER); }
TEST(rule_issuer_without_cert_sign) { rule("nosign", "wasio.test", WASIO_ETLS_CERT_ISSUER); }
/* Validity of every certificate against the wall clock: an intermediate
 * out of its period. */
TEST(rule_intermediate_expired) { rule("interexp", "wasio.test", WASIO_ETLS_CERT_EXPIRED); }

/* ---- wasio as the TLS server -------------------------------------------------------- */

#define BULK_BYTES (1u << 20)

static char *pki_file(wasio_loop_t *loop, const char *name) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "file %s\n", name);
  char *r = helper_ask(loop, cmd);
  char *end = strstr(r, "END\n");
  ASSERT_TRUE(end != NULL);
  *end = 0;
  return r;
}

static wasio_tls_config_t *server_cfg(wasio_loop_t *loop, const char *leaf) {
  char name[64];
  snprintf(name, sizeof name, "%s.pem", leaf);
  char *cert = pki_file(loop, name);
  char *inter = pki_file(loop, "inter.pem");
  snprintf(name, sizeof name, "%s.key", leaf);
  char *key = pki_file(loop, name);
  size_t n = strlen(cert) + strlen(inter) + 1;
  char *chain = malloc(n);
  ASSERT_TRUE(chain != NULL);
  snprintf(chain, n, "%s%s", cert, inter);
  wasio_tls_config_t *cfg = NULL;
  ASSERT_OK(wasio_tls_config_new(WASIO_TLS_SERVER, &cfg));
  ASSERT_OK(wasio_tls_config_cert_pem(cfg, chain, strlen(chain), key, strlen(key)));
  const char *protos[] = {"http/1.1"};
  ASSERT_OK(wasio_tls_config_alpn(cfg, protos, 1));
  free(cert);
  free(inter);
  free(key);
  free(chain);
  return cfg;
}

typedef struct srv {
  wasio_tcp_t *listener;
  wasio_tls_config_t *cfg;
  tlsc_t conn;
  int accepted;
  bool echo;
} srv_t;

static void srv_read_cb(wasio_tls_t *tls, ptrdiff_t nread, const wasio_buf_t *buf) {
  tlsc_t *c = wasio_tls_data(tls);
  tlsc_read_cb(tls, nread, buf);
  if (c->echo && !c->echoed && strchr(c->in, '\n')) {
    c->echoed = true;
    snprintf(c->reply, sizeof c->reply, "echo: %s", c->in);
    tlsc_write(c, c->reply);
    ASSERT_OK(wasio_tls_shutdown(tls, tlsc_sd_cb));
  }
}

static void srv_connection_cb(wasio_tcp_t *server, wasio_tcp_t *client, int status) {
  srv_t *s = wasio_tcp_data(server);
  ASSERT_WASIO(0, status);
  ASSERT_EQ_INT(s->accepted, 0);
  s->accepted++;
  tlsc_t *c = &s->conn;
  memset(c, 0, sizeof *c);
  c->echo = s->echo;
  ASSERT_OK(wasio_tls_new(client, s->cfg, NULL, 0, &c->tls));
  wasio_tls_set_data(c->tls, c);
  ASSERT_OK(wasio_tls_handshake(c->tls, tlsc_hs_cb));
  c->reading = true;
  ASSERT_OK(wasio_tls_read_start(c->tls, NULL, srv_read_cb));
}

static uint16_t srv_listen(wasio_loop_t *loop, srv_t *s) {
  ASSERT_OK(wasio_tcp_new(loop, &s->listener));
  wasio_tcp_set_data(s->listener, s);
  wasio_addr_t a = loopback(WASIO_AF_INET, 0);
  ASSERT_OK(wasio_tcp_bind(s->listener, &a));
  ASSERT_OK(wasio_tcp_listen(s->listener, 4, srv_connection_cb));
  wasio_addr_t bound;
  ASSERT_OK(wasio_tcp_local_addr(s->listener, &bound));
  return bound.port;
}

static int listener_closed;
static void listener_close_cb(wasio_tcp_t *tcp) { listener_closed++; }

static void srv_close(wasio_loop_t *loop, srv_t *s) {
  listener_closed = 0;
  wasio_tcp_close(s->listener, listener_close_cb);
  if (s->accepted) tlsc_close(loop, &s->conn);
  WAIT_UNTIL(loop, listener_closed == 1);
  ASSERT_OK(wasio_tls_config_free(s->cfg));
}

/* openssl s_client verifies wasio's chain, sends a line, gets the echo and
 * wasio's close_notify (s_client exits 0 only then). */
static void served_to_s_client(const char *leaf, const char *cipher, uint16_t want_suite) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  srv_t s;
  memset(&s, 0, sizeof s);
  s.cfg = server_cfg(loop, leaf);
  s.echo = true;
  uint16_t port = srv_listen(loop, &s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "s_client %u %s\n", port, cipher);
  char *r = helper_ask(loop, cmd);
  if (strncmp(r, "rc 0\n", 5) != 0) harness_fail(__FILE__, __LINE__, "s_client: %s", r);
  ASSERT_TRUE(strstr(r, "echo: hello from s_client\n") != NULL);
  free(r);
  ASSERT_WASIO(0, s.conn.hs_status);
  wasio_tls_info_t info;
  wasio_tls_info(s.conn.tls, &info);
  ASSERT_EQ_INT(info.cipher_suite, want_suite);
  WAIT_UNTIL(loop, s.conn.sd_done && s.conn.writes_done == 1);
  ASSERT_WASIO(0, s.conn.write_status);
  srv_close(loop, &s);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(server_ecdsa_to_s_client) { served_to_s_client("leaf-ec", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B); }
/* A plain HTTP request to a wasio TLS server fails its handshake with
 * WASIO_ETLS_NOT_TLS, and the server sends nothing readable back but at
 * most an alert (no application byte). */
TEST(server_plain_http_client) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  srv_t s;
  memset(&s, 0, sizeof s);
  s.cfg = server_cfg(loop, "leaf-ec");
  uint16_t port = srv_listen(loop, &s);
  tconn_t c;
  tconn_new(loop, &c, 4096);
  wasio_addr_t a = loopback(WASIO_AF_INET, port);
  tconn_connect_ok(loop, &c, &a);
  tconn_write_str(&c, "GET / HTTP/1.1\r\nHost: wasio.test\r\n\r\n");
  tconn_read_start(&c);
  WAIT_UNTIL(loop, s.accepted == 1 && s.conn.hs_done);
  ASSERT_WASIO(WASIO_ETLS_NOT_TLS, s.conn.hs_status);
  ASSERT_TRUE(strstr(tconn_text(&c), "HTTP") == NULL);
  tconn_close(loop, &c);
  srv_close(loop, &s);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
TEST(server_rsa_chacha_to_s_client) { served_to_s_client("leaf-rsa", "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8); }

/* openssl s_client over TLS 1.3 whose key share is X448, which wasio does
 * not take: wasio's server answers with a HelloRetryRequest for X25519, the
 * second ClientHello completes the handshake (s_client logs two). */
static void served_to_s_client13(const char *leaf) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  srv_t s;
  memset(&s, 0, sizeof s);
  s.cfg = server_cfg(loop, leaf);
  s.echo = true;
  uint16_t port = srv_listen(loop, &s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "s_client13 %u X448:X25519\n", port);
  char *r = helper_ask(loop, cmd);
  {
    if (strncmp(r, "rc 0\n", 5) != 0) harness_fail(__FILE__, __LINE__, "s_client: %s", r);
    ASSERT_TRUE(strstr(r, "echo: hello from s_client\n") != NULL);
    int hellos = 0;
    for (const char *p = r; (p = strstr(p, "\n>>> ")) != NULL; p++) {
      const char *eol = strchr(p + 1, '\n');
      const char *ch = strstr(p + 1, "ClientHello");
      if (ch != NULL && (eol == NULL || ch < eol)) hellos++;
    }
    ASSERT_EQ_INT(hellos, 2);
    ASSERT_WASIO(0, s.conn.hs_status);
    wasio_tls_info_t info;
    wasio_tls_info(s.conn.tls, &info);
    ASSERT_EQ_INT(info.version, 0x0304);
    /* mbedTLS's TLS 1.3 server takes the client's first suite it has
     * (s_client's first is AES-256-GCM), unlike its TLS 1.2 server. */
    ASSERT_EQ_INT(info.cipher_suite, 0x1302);
    WAIT_UNTIL(loop, s.conn.sd_done && s.conn.writes_done == 1);
    ASSERT_WASIO(0, s.conn.write_status);
  }
  free(r);
  srv_close(loop, &s);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
TEST(server_tls13_ecdsa_hello_retry_to_s_client) { served_to_s_client13("leaf-ec"); }
TEST(server_tls13_rsa_pss_to_s_client) { served_to_s_client13("leaf-rsa"); }

/* wasio client and wasio server in one loop: ALPN, a 1 MiB body from the
 * server (backpressure through both engines), close_notify both ways; the
 * client in half-duplex mode. */
TEST(wasio_to_wasio_bulk_half_duplex) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  srv_t s;
  memset(&s, 0, sizeof s);
  s.cfg = server_cfg(loop, "leaf-ec");
  uint16_t port = srv_listen(loop, &s);
  char *ca = pki_file(loop, "root.pem");
  wasio_tls_config_t *cfg = client_cfg(ca);
  const char *protos[] = {"http/1.1"};
  ASSERT_OK(wasio_tls_config_alpn(cfg, protos, 1));
  ASSERT_OK(wasio_tls_config_half_duplex(cfg, true));
  tlsc_t c;
  tlsc_open(loop, &c, cfg, port, "wasio.test");
  c.bulk = true;
  WAIT_UNTIL(loop, c.hs_done && s.accepted && s.conn.hs_done && s.conn.in_len >= strlen(MARKER_LINE));
  ASSERT_WASIO(0, c.hs_status);
  ASSERT_WASIO(0, s.conn.hs_status);
  ASSERT_EQ_STR(s.conn.in, MARKER_LINE);
  wasio_tls_info_t ci, si;
  wasio_tls_info(c.tls, &ci);
  wasio_tls_info(s.conn.tls, &si);
  ASSERT_EQ_STR(ci.alpn, "http/1.1");
  ASSERT_EQ_STR(si.alpn, "http/1.1");
  ASSERT_EQ_INT(ci.cipher_suite, si.cipher_suite);
  uint8_t *big = malloc(BULK_BYTES);
  ASSERT_TRUE(big != NULL);
  tl_rng_t rng = {0x9e3779b97f4a7c15ull};
  tl_rng_fill(&rng, big, BULK_BYTES);
  wasio_write_t *req = calloc(1, sizeof *req);
  ASSERT_TRUE(req != NULL);
  req->data = &s.conn;
  ASSERT_OK(wasio_tls_write(s.conn.tls, req, big, BULK_BYTES, tlsc_write_cb));
  ASSERT_GT_INT(wasio_tls_write_queue_size(s.conn.tls), 0);
  ASSERT_OK(wasio_tls_shutdown(s.conn.tls, tlsc_sd_cb));
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status); /* the server's close_notify, after every byte */
  ASSERT_EQ_U64(c.total, BULK_BYTES);
  ASSERT_EQ_INT(c.crc, tl_crc32(0, big, BULK_BYTES));
  WAIT_UNTIL(loop, s.conn.writes_done == 1 && s.conn.sd_done);
  ASSERT_WASIO(0, s.conn.write_status);
  ASSERT_EQ_INT(wasio_tls_write_queue_size(s.conn.tls), 0);
  ASSERT_OK(wasio_tls_shutdown(c.tls, tlsc_sd_cb));
  WAIT_UNTIL(loop, c.sd_done && s.conn.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, s.conn.read_status);
  tlsc_close(loop, &c);
  srv_close(loop, &s);
  ASSERT_OK(wasio_tls_config_free(cfg));
  free(big);
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- the sans-I/O engine alone: two engines, bytes copied by hand ---------------- */

#define SHUTTLE_BUF 4096
#define SHUTTLE_ROUNDS 1000

/* Moves ciphertext both ways until neither engine has any to send. */
static void shuttle(wasio_tls_engine_t *a, wasio_tls_engine_t *b) {
  uint8_t buf[SHUTTLE_BUF];
  for (int round = 0; round < SHUTTLE_ROUNDS; round++) {
    bool moved = false;
    wasio_tls_engine_t *from[2] = {a, b}, *to[2] = {b, a};
    for (int k = 0; k < 2; k++) {
      size_t n;
      while ((wasio_tls_engine_state(to[k]) & WASIO_TLS_RECV_CIPHER) &&
             (n = wasio_tls_engine_pull_cipher(from[k], buf, sizeof buf)) > 0) {
        /* Fed in two pieces: the engine must take a record split anywhere. */
        size_t half = n / 2, done = 0;
        while (done < half) done += wasio_tls_engine_push_cipher(to[k], buf + done, half - done);
        while (done < n) {
          size_t m = wasio_tls_engine_push_cipher(to[k], buf + done, n - done);
          ASSERT_GT_INT(m, 0);
          done += m;
        }
        moved = true;
      }
    }
    if (!moved) return;
  }
  harness_fail(__FILE__, __LINE__, "engines still talking after %d rounds", SHUTTLE_ROUNDS);
}

TEST(engine_in_memory) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_tls_config_t *scfg = server_cfg(loop, "leaf-rsa");
  char *ca = pki_file(loop, "root.pem");
  wasio_tls_config_t *ccfg = client_cfg(ca);
  wasio_tls_engine_t *cli, *srv;
  ASSERT_OK(wasio_tls_engine_new(ccfg, "wasio.test", 443, &cli));
  ASSERT_OK(wasio_tls_engine_new(scfg, NULL, 0, &srv));
  ASSERT_EQ_INT(wasio_tls_engine_push_plain(cli, "x", 1), 0); /* nothing before the handshake */
  shuttle(cli, srv);
  ASSERT_TRUE(wasio_tls_engine_state(cli) & WASIO_TLS_SEND_PLAIN);
  ASSERT_TRUE(wasio_tls_engine_state(srv) & WASIO_TLS_SEND_PLAIN);
  wasio_tls_info_t info;
  wasio_tls_engine_info(cli, &info);
  ASSERT_TRUE(info.handshake_done);
  ASSERT_EQ_INT(info.alpn == NULL, 1); /* the client offered none */
  /* A message each way. */
  const char *ping = "ping over mbedTLS\n";
  ASSERT_EQ_INT(wasio_tls_engine_push_plain(cli, ping, strlen(ping)), strlen(ping));
  ASSERT_EQ_INT(wasio_tls_engine_state(srv) & WASIO_TLS_RECV_PLAIN, 0); /* buffered, not sealed */
  wasio_tls_engine_flush(cli);
  shuttle(cli, srv);
  char got[64] = {0};
  ASSERT_EQ_INT(wasio_tls_engine_pull_plain(srv, got, sizeof got - 1), strlen(ping));
  ASSERT_EQ_STR(got, ping);
  /* close_notify from the client: the server sees a clean end, answers
   * with its own, and both end CLOSED without an error. */
  wasio_tls_engine_close(cli);
  shuttle(cli, srv);
  ASSERT_EQ_INT(wasio_tls_engine_state(srv), WASIO_TLS_CLOSED);
  ASSERT_EQ_INT(wasio_tls_engine_state(cli), WASIO_TLS_CLOSED);
  ASSERT_WASIO(0, wasio_tls_engine_error(srv));
  ASSERT_WASIO(0, wasio_tls_engine_error(cli));
  ASSERT_WASIO(WASIO_EOF, wasio_tls_engine_transport_eof(srv));
  wasio_tls_engine_free(cli);
  wasio_tls_engine_free(srv);
  /* Truncation: a second pair, the server's transport ends mid-stream. */
  ASSERT_OK(wasio_tls_engine_new(ccfg, "wasio.test", 443, &cli));
  ASSERT_OK(wasio_tls_engine_new(scfg, NULL, 0, &srv));
  shuttle(cli, srv);
  wasio_tls_engine_info(cli, &info);
  ASSERT_TRUE(info.resumed); /* the first pair's session, from the server's cache */
  ASSERT_WASIO(WASIO_ETLS_TRUNCATED, wasio_tls_engine_transport_eof(srv));
  ASSERT_EQ_INT(wasio_tls_engine_state(srv), WASIO_TLS_CLOSED);
  ASSERT_WASIO(WASIO_ETLS_TRUNCATED, wasio_tls_engine_error(srv));
  wasio_tls_engine_free(cli);
  wasio_tls_engine_free(srv);
  ASSERT_OK(wasio_tls_config_free(ccfg));
  ASSERT_OK(wasio_tls_config_free(scfg));
  free(ca);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
