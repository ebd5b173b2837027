/* src/tls/tls_internal.h: the TLS glue's private structures. One of the
 * engine glue files (tls_engine.h lists them): only they see BearSSL.
 *
 * Implementation notes
 * - BearSSL does all cryptography and the TLS state machine; this glue only
 *   configures it, moves bytes, and adds the certificate checks BearSSL 0.6
 *   leaves out: IP addresses in subjectAltName (its name matcher compares
 *   only dNSName and CN strings, so an IP literal is never passed to it),
 *   pinning, and telling "expired" from "not yet valid" and "self-signed"
 *   from "unknown issuer" (BearSSL reports one code for each pair).
 * - Those checks live in a wrapper X.509 engine (x509.c) that forwards every
 *   call to br_x509_minimal and keeps a copy of the end-entity certificate.
 * - Nothing here allocates per record: an engine allocates its context and
 *   record buffer once.
 */
#ifndef WASIO_TLS_INTERNAL_H
#define WASIO_TLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bearssl.h"
#include "wasio.h"
#include "tls_engine.h"
#include "internal.h" /* wasio__malloc & co.: allocation counted by the loop */

/* The Mozilla roots, generated at build time by tools/mkanchors. */
extern const br_x509_trust_anchor wasio__tls_mozilla_anchors[];
extern const size_t wasio__tls_mozilla_anchors_count;

/* Days from 0000-01-01 (BearSSL's epoch for X.509 time) to 1970-01-01. */
#define WASIO__TLS_UNIX_EPOCH_DAYS 719528u
#define WASIO__TLS_SECONDS_PER_DAY 86400u
/* Seed for BearSSL's HMAC-DRBG, from wasio_random_bytes (wasi:random). */
#define WASIO__TLS_SEED_BYTES 32

typedef struct wasio__tls_session_slot {
  bool used;
  uint16_t port;
  uint64_t last_used;
  char host[WASIO_TLS_MAX_HOST + 1];
  br_ssl_session_parameters params;
} wasio__tls_session_slot_t;

typedef struct wasio__tls_pin {
  uint8_t kind; /* wasio_tls_pin_kind_t */
  uint8_t sha256[32];
} wasio__tls_pin_t;

/* A trust anchor decoded from PEM at run time; the anchor's pointers point
 * into `bytes` (one allocation per anchor). */
typedef struct wasio__tls_owned_ta {
  br_x509_trust_anchor ta;
  unsigned char *bytes;
} wasio__tls_owned_ta_t;

struct wasio_tls_config {
  uint8_t role; /* wasio_tls_role_t */
  bool system_roots, insecure, half_duplex;
  size_t engines; /* engines alive that use this config */
  /* Anchors: the static Mozilla ones and/or user ones. `anchors` is what
   * engines get: the static array itself, or a heap copy of both lists. */
  wasio__tls_owned_ta_t *user_ta;
  size_t user_ta_n;
  br_x509_trust_anchor *merged_ta;
  const br_x509_trust_anchor *anchors;
  size_t anchors_n;
  wasio__tls_pin_t pins[WASIO_TLS_MAX_PINS];
  size_t npins;
  char alpn_store[WASIO_TLS_MAX_ALPN][WASIO_TLS_MAX_ALPN_LEN + 1];
  const char *alpn[WASIO_TLS_MAX_ALPN];
  size_t nalpn;
  /* Client session cache. */
  wasio__tls_session_slot_t sessions[WASIO_TLS_CLIENT_SESSIONS];
  uint64_t session_clock;
  /* Server: certificate chain (DER, one allocation each) and key. */
  br_x509_certificate chain[WASIO_TLS_MAX_CHAIN];
  size_t chain_n;
  int key_type; /* 0 (none), BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
  br_skey_decoder_context skey; /* holds the key; rsa/ec point into it */
  br_ssl_session_cache_lru lru;
  unsigned char lru_store[WASIO_TLS_SERVER_SESSION_CACHE_BYTES];
};

/* The X.509 wrapper (x509.c): br_x509_minimal plus wasio's own checks. */
typedef struct wasio__tls_x509 {
  const br_x509_class *vtable; /* first: BearSSL calls through it */
  br_x509_minimal_context minimal;
  br_x509_decoder_context dec;  /* insecure mode: the EE key comes from here */
  const wasio_tls_config_t *cfg;
  uint8_t ip[16];
  size_t ip_len;   /* 4 or 16 when the expected name is an IP address */
  unsigned certs;  /* certificates seen in the current chain */
  uint8_t *ee;     /* the end-entity certificate (heap, freed by the engine) */
  size_t ee_len, ee_cap;
  bool ee_too_big;
  bool ee_nomem;   /* ... or its copy found no memory (WASIO_ENOMEM, not a certificate fault) */
  bool dec_ok;
  int err;         /* wasio's verdict (WASIO_ETLS_CERT_*, WASIO_ENOMEM) or 0 */
} wasio__tls_x509_t;

struct wasio_tls_engine {
  wasio_tls_config_t *cfg;
  union {
    br_ssl_client_context client;
    br_ssl_server_context server;
  } u;
  br_ssl_engine_context *eng;
  wasio__tls_x509_t x509;
  unsigned char *iobuf;
  size_t iobuf_len;
  char host[WASIO_TLS_MAX_HOST + 1];
  uint16_t port;
  uint8_t offered_sid[32];
  size_t offered_sid_len;
  bool handshake_done, resumed;
  int error; /* sticky wasio error once the engine failed */
  /* The first byte the peer sent, to tell a peer that speaks no TLS at all
   * (a TLS record starts with content type 20..24) from a TLS failure. */
  bool peer_seen;
  uint8_t peer_first;
};

/* x509.c */
void wasio__tls_x509_init(wasio__tls_x509_t *x, const wasio_tls_config_t *cfg,
                          const uint8_t *ip, size_t ip_len);
void wasio__tls_x509_release(wasio__tls_x509_t *x);
/* The wasio code for a BearSSL error, refined with what the wrapper saw. */
int wasio__tls_map_error(const wasio__tls_x509_t *x, int br_err);

/* pem.c: every CERTIFICATE block of a PEM text, as DER, through cb (return
 * non-zero to stop: that value is returned). Returns the number of blocks,
 * or WASIO_ETLS_PEM when the text is not PEM. */
typedef int (*wasio__tls_pem_cb)(void *arg, const char *name, const uint8_t *der, size_t len);
int wasio__tls_pem_each(const void *pem, size_t len, wasio__tls_pem_cb cb, void *arg);

#endif
