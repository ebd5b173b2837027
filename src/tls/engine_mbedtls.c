/* src/tls/engine_mbedtls.c: the sans-I/O TLS engine over an
 * mbedtls_ssl_context, and the process-wide hooks mbedTLS's configuration
 * asks for (random bytes, time).
 *
 * Implementation notes
 * - mbedTLS reads and writes through two transport callbacks; here they
 *   only copy between its record buffers and two ciphertext buffers of the
 *   engine: `cin` (received, not yet taken: the stream writes into it in
 *   place, wasio__tls_engine_cipher_in_buf) and `cout` (to send, room for
 *   one whole record). mbedTLS never blocks: a callback with nothing to give
 *   or no room says "want read/write", and the engine tries again after the
 *   next push or pull. One allocation holds the engine and both buffers;
 *   mbedTLS allocates its own record buffers in mbedtls_ssl_setup().
 * - Every call that moves bytes ends in wasio__tls_step(), the one place
 *   that drives mbedTLS: the handshake until it is over, a close_notify
 *   asked for, and, once the handshake is over, one read of a single byte
 *   whenever no plaintext is waiting: that is how records are processed
 *   (mbedTLS decrypts a record only when asked for its bytes), tickets
 *   kept, a close_notify noticed, and RECV_PLAIN known before anyone pulls.
 *   The byte read is kept (`peek`) and handed out first.
 * - Plaintext becomes a record at once (mbedtls_ssl_write), at most one
 *   full record per push, and only while `cout` has room for a whole record
 *   and its expansion; so a write never stops halfway inside mbedTLS, and
 *   wasio_tls_engine_flush() has nothing left to seal.
 * - A close_notify from the peer is answered with ours (HTTP wants no half
 *   close); the engine is CLOSED once both went and ours is pulled.
 * - Failures are mapped once (x509_mbedtls.c) to a sticky wasio error.
 */
#include <string.h>

#include "mbedtls/platform.h"
#include "mbedtls/platform_time.h"
#include "mbedtls/version.h"
#include "psa/crypto.h"
#include "mbedtls_internal.h"

/* ---- process-wide hooks (wasio_mbedtls_config.h) ------------------------------------- */

/* The other two hooks of the configuration (the external RNG and the
 * millisecond clock) live in libmbedtls.a itself
 * (src/tls/mbedtls/platform_hooks.c): libcurl's mbedTLS backend needs them
 * in programs that do not use wasio's TLS. */

/* MBEDTLS_PLATFORM_TIME_ALT: seconds of the wall clock (certificate
 * validity, ticket key rotation, the session cache). */
static mbedtls_time_t wasio__tls_time(mbedtls_time_t *t) {
  uint64_t s;
  uint32_t ns;
  wasio_wall_clock(&s, &ns);
  if (t != NULL) *t = (mbedtls_time_t)s;
  return (mbedtls_time_t)s;
}

int wasio__tls_rng(void *ctx, unsigned char *out, size_t len) {
  (void)ctx;
  return psa_generate_random(out, len) == PSA_SUCCESS ? 0 : MBEDTLS_ERR_SSL_NO_RNG;
}

/* Once per process, before the first config: PSA crypto (which TLS 1.3
 * needs), the time hook. Not thread-safe: a program with loops on several
 * threads makes its first config before starting them. */
int wasio__tls_platform_init(void) {
  static bool done;
  if (done) return 0;
  mbedtls_platform_set_time(wasio__tls_time);
  psa_status_t st = psa_crypto_init();
  if (st == PSA_ERROR_INSUFFICIENT_MEMORY) return WASIO_ENOMEM;
  if (st != PSA_SUCCESS) return WASIO_EIO; /* no random bytes */
  done = true;
  return 0;
}

/* ---- buffers -------------------------------------------------------------------------- */

/* The ciphertext buffers (wasio/tls.h): one whole record each way, with
 * its header and the largest expansion of our suites; half duplex, a
 * smaller input buffer (mbedTLS's own record buffers stay). */
#define WASIO__TLS_CIN_CAP WASIO_TLS_BUFSIZE_IN
#define WASIO__TLS_COUT_CAP WASIO_TLS_BUFSIZE_OUT
#define WASIO__TLS_CIN_CAP_HALF WASIO_TLS_BUFSIZE_MONO
/* Rounds of wasio__tls_step() at most per call: each round either makes
 * progress or returns; the bound is a guard, never reached. */
#define WASIO__TLS_STEP_MAX 64

/* TLS record content types (RFC 8446 5.1: change_cipher_spec 20 up to
 * heartbeat 24). */
#define WASIO__TLS_CT_FIRST 20
#define WASIO__TLS_CT_LAST 24

static void wasio__tls_fail(wasio_tls_engine_t *e, int mbedtls_err) {
  if (e->error) return;
  e->error = wasio__tls_map_error(e, mbedtls_err);
  if (e->error == 0) e->error = WASIO_ETLS;
  /* A record that cannot be parsed, when the very first byte was no TLS
   * content type: the peer speaks something else (an HTTP server answering
   * a ClientHello with 400, an HTTP client talking to a TLS port). */
  if (!e->handshake_done && e->peer_seen &&
      (e->peer_first < WASIO__TLS_CT_FIRST || e->peer_first > WASIO__TLS_CT_LAST) &&
      wasio_err_class(e->error) == WASIO_ERRCLASS_TLS)
    e->error = WASIO_ETLS_NOT_TLS;
}

static size_t wasio__cout_room(wasio_tls_engine_t *e) {
  if (e->cout_off && e->cout_len == 0) e->cout_off = 0;
  if (e->cout_off && e->cout_off + e->cout_len == e->cout_cap) {
    memmove(e->cout, e->cout + e->cout_off, e->cout_len);
    e->cout_off = 0;
  }
  return e->cout_cap - e->cout_off - e->cout_len;
}

/* mbedTLS's transport: "send" appends to cout. */
static int wasio__tls_bio_send(void *ctx, const unsigned char *buf, size_t len) {
  wasio_tls_engine_t *e = ctx;
  size_t room = wasio__cout_room(e);
  if (room == 0) return MBEDTLS_ERR_SSL_WANT_WRITE;
  size_t n = len < room ? len : room;
  memcpy(e->cout + e->cout_off + e->cout_len, buf, n);
  e->cout_len += n;
  return (int)n;
}

/* mbedTLS's transport: "receive" takes from cin. */
static int wasio__tls_bio_recv(void *ctx, unsigned char *buf, size_t len) {
  wasio_tls_engine_t *e = ctx;
  if (e->cin_len == 0) return MBEDTLS_ERR_SSL_WANT_READ;
  size_t n = len < e->cin_len ? len : e->cin_len;
  memcpy(buf, e->cin + e->cin_off, n);
  e->cin_off += n;
  e->cin_len -= n;
  if (e->cin_len == 0) e->cin_off = 0;
  return (int)n;
}

/* ---- the one driver --------------------------------------------------------------------- */

static void wasio__tls_handshake_over(wasio_tls_engine_t *e) {
  e->handshake_done = true;
  if (e->cfg->role != WASIO_TLS_CLIENT) return;
  /* A resumed session shows no certificate: the verify callback never ran. */
  e->resumed = e->session_offered && !e->verify.ran;
  /* TLS 1.2: the session (and its ticket) is known now; TLS 1.3 tickets
   * come later (wasio__tls_step). */
  if (mbedtls_ssl_get_version_number(&e->ssl) == MBEDTLS_SSL_VERSION_TLS1_2) wasio__tls_session_store(e);
}

static void wasio__tls_step(wasio_tls_engine_t *e) {
  for (int round = 0; round < WASIO__TLS_STEP_MAX && !e->error; round++) {
    if (!e->handshake_done) {
      int r = mbedtls_ssl_handshake(&e->ssl);
      if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) return;
      if (r != 0) {
        wasio__tls_fail(e, r);
        return;
      }
      wasio__tls_handshake_over(e);
      continue;
    }
    if (e->close_wanted && !e->close_sent) {
      int r = mbedtls_ssl_close_notify(&e->ssl);
      if (r == MBEDTLS_ERR_SSL_WANT_WRITE) return;
      if (r != 0) {
        wasio__tls_fail(e, r);
        return;
      }
      e->close_sent = true;
      continue;
    }
    if (e->peeked || e->close_received || mbedtls_ssl_get_bytes_avail(&e->ssl) > 0) return;
    int r = mbedtls_ssl_read(&e->ssl, &e->peek, 1);
    if (r == 1) {
      e->peeked = true;
      return;
    }
    switch (r) {
      case MBEDTLS_ERR_SSL_WANT_READ:
        /* A TLS 1.3 ticket is noticed with "want read" and handed over by
         * the next read (mbedTLS keeps the message): read again then. */
        if (mbedtls_ssl_check_pending(&e->ssl)) continue;
        return;
      case MBEDTLS_ERR_SSL_WANT_WRITE: return;
      case MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET:
        wasio__tls_session_store(e);
        continue;
      case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
        e->close_received = true;
        e->close_wanted = true; /* answered with ours */
        continue;
      default: wasio__tls_fail(e, r); return;
    }
  }
}

/* ---- the public engine ------------------------------------------------------------------- */

int wasio_tls_engine_new(wasio_tls_config_t *cfg, const char *host, uint16_t port, wasio_tls_engine_t **out) {
  if (cfg == NULL || out == NULL) return WASIO_EINVAL;
  bool client = cfg->role == WASIO_TLS_CLIENT;
  if (client && (host == NULL || host[0] == 0)) return WASIO_EINVAL;
  if (!client && !cfg->have_key) return WASIO_EINVAL;
  if (client && strlen(host) > WASIO_TLS_MAX_HOST) return WASIO_ENAMETOOLONG;
  int rc = wasio__tls_conf_ready(cfg);
  if (rc < 0) return rc;
  size_t cin_cap = cfg->half_duplex ? WASIO__TLS_CIN_CAP_HALF : WASIO__TLS_CIN_CAP;
  wasio_tls_engine_t *e = wasio__calloc(1, sizeof *e + cin_cap + WASIO__TLS_COUT_CAP);
  if (e == NULL) return WASIO_ENOMEM;
  e->cfg = cfg;
  e->cin = (uint8_t *)(e + 1);
  e->cin_cap = cin_cap;
  e->cout = e->cin + cin_cap;
  e->cout_cap = WASIO__TLS_COUT_CAP;
  e->port = port;
  mbedtls_ssl_init(&e->ssl);
  cfg->engines++;
  int mr = mbedtls_ssl_setup(&e->ssl, &cfg->conf);
  if (mr == 0) {
    mbedtls_ssl_set_bio(&e->ssl, e, wasio__tls_bio_send, wasio__tls_bio_recv, NULL);
    if (client) {
      memcpy(e->host, host, strlen(host) + 1);
      wasio_addr_t a;
      if (wasio_addr_parse(host, 0, &a) == 0) {
        e->ip_len = a.family == WASIO_AF_INET ? 4 : 16;
        memcpy(e->ip, a.ip, e->ip_len);
      }
      mbedtls_ssl_set_verify(&e->ssl, wasio__tls_verify_cb, e);
      /* An address gets no SNI (RFC 6066 3) and is checked by wasio's
       * policy; a name is sent as SNI. The name check is wasio's either way. */
      mr = mbedtls_ssl_set_hostname(&e->ssl, e->ip_len ? NULL : host);
      const wasio__tls_session_slot_t *s = mr == 0 ? wasio__tls_session_find(cfg, host, port) : NULL;
      if (s != NULL && mbedtls_ssl_set_session(&e->ssl, &s->session) == 0) e->session_offered = true;
    }
  }
  if (mr != 0) {
    wasio_tls_engine_free(e);
    return mr == MBEDTLS_ERR_SSL_ALLOC_FAILED ? WASIO_ENOMEM : WASIO_EINVAL;
  }
  wasio__tls_step(e); /* a client's ClientHello */
  if (e->error) {
    rc = e->error == WASIO_ETLS ? WASIO_EIO : e->error; /* no random bytes, or memory */
    wasio_tls_engine_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

void wasio_tls_engine_free(wasio_tls_engine_t *e) {
  if (e == NULL) return;
  e->cfg->engines--;
  mbedtls_ssl_free(&e->ssl); /* wipes its keys and record buffers */
  memset(e, 0, sizeof *e + e->cin_cap + e->cout_cap);
  wasio__free(e);
}

unsigned wasio_tls_engine_state(const wasio_tls_engine_t *e) {
  if (e->error) return WASIO_TLS_CLOSED;
  unsigned out = 0;
  if (e->cout_len) out |= WASIO_TLS_SEND_CIPHER;
  bool both_closed = e->close_sent && e->close_received;
  if (both_closed && e->cout_len == 0) return WASIO_TLS_CLOSED;
  if (!both_closed && e->cin_len < e->cin_cap) out |= WASIO_TLS_RECV_CIPHER; /* cin moves back when full */
  if (e->handshake_done && !e->close_wanted) {
    int exp = mbedtls_ssl_get_record_expansion(&e->ssl);
    int max = mbedtls_ssl_get_max_out_record_payload(&e->ssl);
    size_t room = e->cout_cap - e->cout_len; /* cout_off moves back before a write */
    if (exp >= 0 && max > 0 && room >= (size_t)exp + (size_t)max) out |= WASIO_TLS_SEND_PLAIN;
  }
  if (e->peeked || mbedtls_ssl_get_bytes_avail(&e->ssl) > 0) out |= WASIO_TLS_RECV_PLAIN;
  return out;
}

void *wasio__tls_engine_cipher_in_buf(wasio_tls_engine_t *e, size_t *cap) {
  *cap = 0;
  if (e->error || (e->close_sent && e->close_received)) return NULL;
  if (e->cin_off && e->cin_off + e->cin_len == e->cin_cap) {
    memmove(e->cin, e->cin + e->cin_off, e->cin_len);
    e->cin_off = 0;
  }
  size_t room = e->cin_cap - e->cin_off - e->cin_len;
  if (room == 0) return NULL;
  *cap = room;
  return e->cin + e->cin_off + e->cin_len;
}

void wasio__tls_engine_cipher_in_ack(wasio_tls_engine_t *e, size_t n) {
  if (n == 0) return;
  if (!e->peer_seen) {
    e->peer_seen = true;
    e->peer_first = e->cin[e->cin_off + e->cin_len];
  }
  e->cin_len += n;
  wasio__tls_step(e);
}

size_t wasio_tls_engine_push_cipher(wasio_tls_engine_t *e, const void *data, size_t len) {
  size_t cap;
  void *p = wasio__tls_engine_cipher_in_buf(e, &cap);
  if (p == NULL || len == 0) return 0;
  size_t n = len < cap ? len : cap;
  memcpy(p, data, n);
  wasio__tls_engine_cipher_in_ack(e, n);
  return n;
}

size_t wasio_tls_engine_pull_cipher(wasio_tls_engine_t *e, void *buf, size_t cap) {
  /* Also after a failure: the alert that tells the peer why is let out. */
  size_t n = cap < e->cout_len ? cap : e->cout_len;
  if (n == 0) return 0;
  memcpy(buf, e->cout + e->cout_off, n);
  e->cout_off += n;
  e->cout_len -= n;
  if (e->cout_len == 0) e->cout_off = 0;
  wasio__tls_step(e); /* room for what mbedTLS could not write */
  return n;
}

size_t wasio_tls_engine_push_plain(wasio_tls_engine_t *e, const void *data, size_t len) {
  if (len == 0 || !(wasio_tls_engine_state(e) & WASIO_TLS_SEND_PLAIN)) return 0;
  if (e->cout_off) { /* the room the state promised is contiguous */
    memmove(e->cout, e->cout + e->cout_off, e->cout_len);
    e->cout_off = 0;
  }
  size_t max = (size_t)mbedtls_ssl_get_max_out_record_payload(&e->ssl);
  size_t n = len < max ? len : max;
  int r = mbedtls_ssl_write(&e->ssl, data, n);
  if (r == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) { /* a ticket that came in meanwhile */
    wasio__tls_session_store(e);
    r = mbedtls_ssl_write(&e->ssl, data, n);
  }
  if (r < 0) {
    /* Not WANT_WRITE: cout had room for the whole record. */
    wasio__tls_fail(e, r);
    return 0;
  }
  wasio__tls_step(e);
  return (size_t)r;
}

size_t wasio_tls_engine_pull_plain(wasio_tls_engine_t *e, void *buf, size_t cap) {
  if (e->error || cap == 0) return 0;
  uint8_t *out = buf;
  size_t n = 0;
  if (e->peeked) {
    out[n++] = e->peek;
    e->peeked = false;
  }
  while (n < cap && mbedtls_ssl_get_bytes_avail(&e->ssl) > 0) {
    /* Only what the current record still holds: no new record is read here. */
    int r = mbedtls_ssl_read(&e->ssl, out + n, cap - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  wasio__tls_step(e); /* the next record */
  return n;
}

void wasio_tls_engine_flush(wasio_tls_engine_t *e) {
  /* Every push is a record already (see the notes). */
  (void)e;
}

void wasio_tls_engine_close(wasio_tls_engine_t *e) {
  if (e->error || e->close_wanted) return;
  e->close_wanted = true;
  wasio__tls_step(e);
}

int wasio_tls_engine_transport_eof(wasio_tls_engine_t *e) {
  wasio__tls_step(e);
  if (e->error) return e->error;
  if (e->close_received) return WASIO_EOF;
  /* Before the handshake there is nothing to truncate: the peer hung up. */
  e->error = e->handshake_done ? WASIO_ETLS_TRUNCATED : WASIO_ECONNRESET;
  return e->error;
}

int wasio_tls_engine_error(const wasio_tls_engine_t *e) { return e->error; }

const char *wasio_tls_library(void) { return "mbedTLS " MBEDTLS_VERSION_STRING; }

size_t wasio__tls_engine_cipher_out_pending(const wasio_tls_engine_t *e) { return e->cout_len; }

bool wasio__tls_engine_handshake_done(const wasio_tls_engine_t *e) { return e->handshake_done; }

bool wasio__tls_engine_close_received(const wasio_tls_engine_t *e) { return e->close_received; }

void wasio_tls_engine_info(const wasio_tls_engine_t *e, wasio_tls_info_t *out) {
  memset(out, 0, sizeof *out);
  out->handshake_done = e->handshake_done;
  if (!e->handshake_done) return;
  out->resumed = e->resumed;
  out->version = (uint16_t)mbedtls_ssl_get_version_number(&e->ssl);
  out->cipher_suite = (uint16_t)mbedtls_ssl_get_ciphersuite_id_from_ssl(&e->ssl);
  out->alpn = mbedtls_ssl_get_alpn_protocol(&e->ssl);
}
