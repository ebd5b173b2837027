/* src/tls/engine.c: the sans-I/O TLS engine over br_ssl_engine.
 *
 * Implementation notes
 * - One allocation for the contexts and one for the record buffer
 *   (WASIO_TLS_BUFSIZE_BIDI, or _MONO for half duplex); nothing per record.
 * - Protocol policy, the same for client and server: TLS 1.2 only, ECDHE key
 *   exchange (forward secrecy) with AES-GCM or ChaCha20-Poly1305 first
 *   (which of the two depends on AES hardware), AES-CBC last (see
 *   wasio__tls_suites), no renegotiation.
 * - The DRBG of each engine is seeded with WASIO__TLS_SEED_BYTES from
 *   wasio_random_bytes (wasi:random/random in a component); BearSSL's own
 *   system seeder is never relied on (it has none on wasm32-wasi).
 * - Every call that moves bytes ends in wasio__tls_update(), the one place
 *   that notices the end of the handshake (client: store the session for
 *   resumption) and a failure (mapped once to a sticky wasio code).
 */
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

_Static_assert(WASIO_TLS_BUFSIZE_BIDI == BR_SSL_BUFSIZE_BIDI, "wasio/tls.h buffer sizes");
_Static_assert(WASIO_TLS_BUFSIZE_MONO == BR_SSL_BUFSIZE_MONO, "wasio/tls.h buffer sizes");

/* Two orders of the same suites. Where the CPU has AES instructions that
 * BearSSL uses (x86 AES-NI, POWER8), AES-GCM goes first; elsewhere, and
 * always in a component (WebAssembly has no AES instruction, so BearSSL's
 * portable constant-time AES runs), ChaCha20-Poly1305 goes first, as
 * BoringSSL and Go do: in a component on wasmtime ChaCha20-Poly1305 moved
 * 153 MB/s against AES-128-GCM's 53 (`make bench-tls`, 2026-11-26: the
 * run and its machine in BENCHMARKS.md). A client's order decides unless
 * the server enforces its own (nginx's default honours the client). */
#define WASIO__TLS_AEAD_AES                                                   \
  BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, \
      BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
#define WASIO__TLS_AEAD_CHACHA \
  BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
/* Last resort, for TLS 1.2 servers without AEAD (BearSSL's CBC records are
 * constant-time). Offering them also makes a TLS 1.0/1.1-only server answer
 * with its version (WASIO_ETLS_VERSION) instead of a bare handshake_failure
 * alert (no common suite), which says nothing. */
#define WASIO__TLS_CBC                                                                  \
  BR_TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,        \
      BR_TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, BR_TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA

static const uint16_t wasio__tls_suites_aes_first[] = {WASIO__TLS_AEAD_AES, WASIO__TLS_AEAD_CHACHA,
                                                        WASIO__TLS_CBC};
static const uint16_t wasio__tls_suites_chacha_first[] = {WASIO__TLS_AEAD_CHACHA, WASIO__TLS_AEAD_AES,
                                                           WASIO__TLS_CBC};
_Static_assert(sizeof wasio__tls_suites_aes_first == sizeof wasio__tls_suites_chacha_first,
               "the same suites in both orders");

/* Whether BearSSL found AES instructions on this CPU (its own run-time
 * probes; both return NULL where they were not compiled in, as on wasm32). */
static bool wasio__tls_aes_hardware(void) {
  return br_aes_x86ni_ctr_get_vtable() != NULL || br_aes_pwr8_ctr_get_vtable() != NULL;
}

static const uint16_t *wasio__tls_suites(size_t *n) {
  *n = sizeof wasio__tls_suites_aes_first / sizeof wasio__tls_suites_aes_first[0];
  return wasio__tls_aes_hardware() ? wasio__tls_suites_aes_first : wasio__tls_suites_chacha_first;
}

static wasio__tls_session_slot_t *wasio__tls_session_find(wasio_tls_config_t *cfg, const char *host,
                                                          uint16_t port) {
  for (size_t i = 0; i < WASIO_TLS_CLIENT_SESSIONS; i++) {
    wasio__tls_session_slot_t *s = &cfg->sessions[i];
    if (s->used && s->port == port && strcmp(s->host, host) == 0) return s;
  }
  return NULL;
}

static void wasio__tls_session_store(wasio_tls_engine_t *e) {
  wasio_tls_config_t *cfg = e->cfg;
  wasio__tls_session_slot_t *s = wasio__tls_session_find(cfg, e->host, e->port);
  if (s == NULL) { /* a free slot, else the least recently used */
    s = &cfg->sessions[0];
    for (size_t i = 0; i < WASIO_TLS_CLIENT_SESSIONS; i++) {
      wasio__tls_session_slot_t *c = &cfg->sessions[i];
      if (!c->used) {
        s = c;
        break;
      }
      if (c->last_used < s->last_used) s = c;
    }
  }
  br_ssl_session_parameters p;
  br_ssl_engine_get_session_parameters(e->eng, &p);
  if (p.session_id_len == 0) return; /* the server offers no resumption */
  s->used = true;
  s->port = e->port;
  s->last_used = ++cfg->session_clock;
  memcpy(s->host, e->host, strlen(e->host) + 1);
  s->params = p;
}

/* TLS record content types (RFC 8446 5.1: change_cipher_spec 20 up to
 * heartbeat 24). */
#define WASIO__TLS_CT_FIRST 20
#define WASIO__TLS_CT_LAST 24

/* Notes the first byte the peer ever sent; `p` is where it was written. */
static void wasio__tls_note_peer(wasio_tls_engine_t *e, const unsigned char *p, size_t n) {
  if (e->peer_seen || n == 0) return;
  e->peer_seen = true;
  e->peer_first = p[0];
}

static void wasio__tls_update(wasio_tls_engine_t *e) {
  if (e->error) return;
  unsigned st = br_ssl_engine_current_state(e->eng);
  if (st & BR_SSL_CLOSED) {
    int err = br_ssl_engine_last_error(e->eng);
    if (err == BR_ERR_OK) return;
    e->error = wasio__tls_map_error(&e->x509, err);
    /* BearSSL calls a record it cannot parse a version or format error;
     * when the very first byte was no TLS content type, the peer speaks
     * something else (an HTTP server answering a ClientHello with 400). */
    if (!e->handshake_done && e->peer_seen &&
        (e->peer_first < WASIO__TLS_CT_FIRST || e->peer_first > WASIO__TLS_CT_LAST))
      e->error = WASIO_ETLS_NOT_TLS;
    return;
  }
  if (!e->handshake_done && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
    e->handshake_done = true;
    if (e->cfg->role == WASIO_TLS_CLIENT) {
      br_ssl_session_parameters p;
      br_ssl_engine_get_session_parameters(e->eng, &p);
      e->resumed = e->offered_sid_len && p.session_id_len == e->offered_sid_len &&
                   memcmp(p.session_id, e->offered_sid, e->offered_sid_len) == 0;
      wasio__tls_session_store(e);
      memset(&p, 0, sizeof p);
    }
  }
}

int wasio_tls_engine_new(wasio_tls_config_t *cfg, const char *host, uint16_t port, wasio_tls_engine_t **out) {
  if (cfg == NULL || out == NULL) return WASIO_EINVAL;
  bool client = cfg->role == WASIO_TLS_CLIENT;
  if (client && (host == NULL || host[0] == 0)) return WASIO_EINVAL;
  if (!client && cfg->key_type == 0) return WASIO_EINVAL;
  if (client && strlen(host) > WASIO_TLS_MAX_HOST) return WASIO_ENAMETOOLONG;
  uint8_t seed[WASIO__TLS_SEED_BYTES];
  if (wasio_random_bytes(seed, sizeof seed) != 0) return WASIO_EIO;
  wasio_tls_engine_t *e = wasio__calloc(1, sizeof *e);
  size_t buflen = cfg->half_duplex ? BR_SSL_BUFSIZE_MONO : BR_SSL_BUFSIZE_BIDI;
  unsigned char *buf = e ? wasio__malloc(buflen) : NULL;
  if (buf == NULL) {
    wasio__free(e);
    memset(seed, 0, sizeof seed);
    return WASIO_ENOMEM;
  }
  e->cfg = cfg;
  e->iobuf = buf;
  e->iobuf_len = buflen;
  e->port = port;
  if (client) {
    memcpy(e->host, host, strlen(host) + 1);
    wasio_addr_t a;
    size_t ip_len = 0;
    if (wasio_addr_parse(host, 0, &a) == 0) ip_len = a.family == WASIO_AF_INET ? 4 : 16;
    br_ssl_client_init_full(&e->u.client, &e->x509.minimal, cfg->anchors, cfg->anchors_n);
    e->eng = &e->u.client.eng;
    wasio__tls_x509_init(&e->x509, cfg, a.ip, ip_len);
    br_ssl_engine_set_x509(e->eng, &e->x509.vtable);
  } else if (cfg->key_type == BR_KEYTYPE_RSA) {
    br_ssl_server_init_full_rsa(&e->u.server, cfg->chain, cfg->chain_n, br_skey_decoder_get_rsa(&cfg->skey));
    e->eng = &e->u.server.eng;
  } else {
    br_ssl_server_init_full_ec(&e->u.server, cfg->chain, cfg->chain_n, BR_KEYTYPE_EC,
                               br_skey_decoder_get_ec(&cfg->skey));
    e->eng = &e->u.server.eng;
  }
  if (!client) br_ssl_server_set_cache(&e->u.server, &cfg->lru.vtable);
  br_ssl_engine_set_versions(e->eng, BR_TLS12, BR_TLS12);
  size_t nsuites;
  const uint16_t *suites = wasio__tls_suites(&nsuites);
  br_ssl_engine_set_suites(e->eng, suites, nsuites);
  br_ssl_engine_add_flags(e->eng, BR_OPT_NO_RENEGOTIATION);
  if (cfg->nalpn) br_ssl_engine_set_protocol_names(e->eng, cfg->alpn, cfg->nalpn);
  br_ssl_engine_set_buffer(e->eng, buf, buflen, !cfg->half_duplex);
  br_ssl_engine_inject_entropy(e->eng, seed, sizeof seed);
  memset(seed, 0, sizeof seed);
  int ok;
  if (client) {
    const wasio__tls_session_slot_t *s = wasio__tls_session_find(cfg, host, port);
    if (s != NULL) {
      br_ssl_engine_set_session_parameters(e->eng, &s->params);
      e->offered_sid_len = s->params.session_id_len;
      memcpy(e->offered_sid, s->params.session_id, s->params.session_id_len);
    }
    /* No SNI and no BearSSL name check for an IP address (x509.c). */
    ok = br_ssl_client_reset(&e->u.client, e->x509.ip_len ? NULL : host, s != NULL);
  } else {
    ok = br_ssl_server_reset(&e->u.server);
  }
  cfg->engines++;
  if (!ok) {
    int br_err = br_ssl_engine_last_error(e->eng);
    int err = br_err == BR_ERR_NO_RANDOM ? WASIO_EIO : wasio__tls_map_error(&e->x509, br_err);
    wasio_tls_engine_free(e);
    return err;
  }
  *out = e;
  return 0;
}

void wasio_tls_engine_free(wasio_tls_engine_t *e) {
  if (e == NULL) return;
  e->cfg->engines--;
  wasio__tls_x509_release(&e->x509);
  /* Keys and secrets live in the contexts and the record buffer. */
  memset(e->iobuf, 0, e->iobuf_len);
  wasio__free(e->iobuf);
  memset(e, 0, sizeof *e);
  wasio__free(e);
}

unsigned wasio_tls_engine_state(const wasio_tls_engine_t *e) {
  if (e->error) return WASIO_TLS_CLOSED;
  unsigned st = br_ssl_engine_current_state(e->eng), out = 0;
  if (st & BR_SSL_CLOSED) return WASIO_TLS_CLOSED;
  if (st & BR_SSL_SENDREC) out |= WASIO_TLS_SEND_CIPHER;
  if (st & BR_SSL_RECVREC) out |= WASIO_TLS_RECV_CIPHER;
  if (st & BR_SSL_SENDAPP) out |= WASIO_TLS_SEND_PLAIN;
  if (st & BR_SSL_RECVAPP) out |= WASIO_TLS_RECV_PLAIN;
  return out;
}

/* The four ways bytes move through the engine (BearSSL's four buffers). */
typedef enum wasio__tls_way {
  WASIO__TLS_CIPHER_IN,  /* recvrec: ciphertext from the peer */
  WASIO__TLS_CIPHER_OUT, /* sendrec: ciphertext for the peer */
  WASIO__TLS_PLAIN_IN,   /* sendapp: plaintext to encrypt */
  WASIO__TLS_PLAIN_OUT   /* recvapp: decrypted plaintext */
} wasio__tls_way_t;

/* Moves at most len bytes between mem and the engine's buffer for `way`:
 * the one copy loop of the four push/pull functions. */
static size_t wasio__tls_move(wasio_tls_engine_t *e, wasio__tls_way_t way, void *mem, size_t len) {
  size_t room = 0;
  unsigned char *p = NULL;
  switch (way) {
    case WASIO__TLS_CIPHER_IN: p = br_ssl_engine_recvrec_buf(e->eng, &room); break;
    case WASIO__TLS_CIPHER_OUT: p = br_ssl_engine_sendrec_buf(e->eng, &room); break;
    case WASIO__TLS_PLAIN_IN: p = br_ssl_engine_sendapp_buf(e->eng, &room); break;
    case WASIO__TLS_PLAIN_OUT: p = br_ssl_engine_recvapp_buf(e->eng, &room); break;
  }
  if (p == NULL || len == 0) return 0;
  size_t n = len < room ? len : room;
  bool in = way == WASIO__TLS_CIPHER_IN || way == WASIO__TLS_PLAIN_IN;
  if (in) memcpy(p, mem, n);
  else memcpy(mem, p, n);
  switch (way) {
    case WASIO__TLS_CIPHER_IN:
      wasio__tls_note_peer(e, p, n);
      br_ssl_engine_recvrec_ack(e->eng, n);
      break;
    case WASIO__TLS_CIPHER_OUT: br_ssl_engine_sendrec_ack(e->eng, n); break;
    case WASIO__TLS_PLAIN_IN: br_ssl_engine_sendapp_ack(e->eng, n); break;
    case WASIO__TLS_PLAIN_OUT: br_ssl_engine_recvapp_ack(e->eng, n); break;
  }
  wasio__tls_update(e);
  return n;
}

size_t wasio_tls_engine_push_cipher(wasio_tls_engine_t *e, const void *data, size_t len) {
  return e->error ? 0 : wasio__tls_move(e, WASIO__TLS_CIPHER_IN, (void *)(uintptr_t)data, len);
}

size_t wasio_tls_engine_pull_cipher(wasio_tls_engine_t *e, void *buf, size_t cap) {
  /* Also after a failure: BearSSL may still hold the alert that tells the
   * peer why, and that one is let out. */
  return wasio__tls_move(e, WASIO__TLS_CIPHER_OUT, buf, cap);
}

size_t wasio_tls_engine_push_plain(wasio_tls_engine_t *e, const void *data, size_t len) {
  return e->error ? 0 : wasio__tls_move(e, WASIO__TLS_PLAIN_IN, (void *)(uintptr_t)data, len);
}

size_t wasio_tls_engine_pull_plain(wasio_tls_engine_t *e, void *buf, size_t cap) {
  return e->error ? 0 : wasio__tls_move(e, WASIO__TLS_PLAIN_OUT, buf, cap);
}

void wasio_tls_engine_flush(wasio_tls_engine_t *e) {
  if (e->error) return;
  br_ssl_engine_flush(e->eng, 0);
  wasio__tls_update(e);
}

void wasio_tls_engine_close(wasio_tls_engine_t *e) {
  if (e->error) return;
  br_ssl_engine_close(e->eng);
  wasio__tls_update(e);
}

int wasio_tls_engine_transport_eof(wasio_tls_engine_t *e) {
  wasio__tls_update(e);
  if (e->error) return e->error;
  /* Clean: the peer's close_notify arrived (CLOSED without an error means
   * both close_notify were exchanged). */
  if (e->eng->close_received ||
      ((br_ssl_engine_current_state(e->eng) & BR_SSL_CLOSED) && br_ssl_engine_last_error(e->eng) == BR_ERR_OK))
    return WASIO_EOF;
  /* Before the handshake there is nothing to truncate: the peer hung up. */
  e->error = e->handshake_done ? WASIO_ETLS_TRUNCATED : WASIO_ECONNRESET;
  return e->error;
}

int wasio_tls_engine_error(const wasio_tls_engine_t *e) { return e->error; }

/* Debian's bearssl 0.6 source package (tools/versions.env). */
const char *wasio_tls_library(void) { return "BearSSL 0.6"; }

void *wasio__tls_engine_cipher_in_buf(wasio_tls_engine_t *e, size_t *cap) {
  *cap = 0;
  if (e->error) return NULL;
  unsigned char *p = br_ssl_engine_recvrec_buf(e->eng, cap);
  if (p == NULL) *cap = 0;
  return p;
}

void wasio__tls_engine_cipher_in_ack(wasio_tls_engine_t *e, size_t n) {
  size_t cap;
  const unsigned char *p = br_ssl_engine_recvrec_buf(e->eng, &cap); /* where the transport wrote */
  if (p != NULL) wasio__tls_note_peer(e, p, n);
  br_ssl_engine_recvrec_ack(e->eng, n);
  wasio__tls_update(e);
}

size_t wasio__tls_engine_cipher_out_pending(const wasio_tls_engine_t *e) {
  size_t len = 0;
  if (br_ssl_engine_sendrec_buf(e->eng, &len) == NULL) return 0;
  return len;
}

bool wasio__tls_engine_handshake_done(const wasio_tls_engine_t *e) { return e->handshake_done; }

bool wasio__tls_engine_close_received(const wasio_tls_engine_t *e) { return e->eng->close_received != 0; }

void wasio_tls_engine_info(const wasio_tls_engine_t *e, wasio_tls_info_t *out) {
  memset(out, 0, sizeof *out);
  out->handshake_done = e->handshake_done;
  if (!e->handshake_done) return;
  out->resumed = e->resumed;
  out->version = (uint16_t)br_ssl_engine_get_version(e->eng);
  out->cipher_suite = e->eng->session.cipher_suite;
  out->alpn = br_ssl_engine_get_selected_protocol((br_ssl_engine_context *)e->eng);
}
