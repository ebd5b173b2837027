/* src/tls/mbedtls_internal.h: the mbedTLS engine glue's private structures.
 * One of the engine glue files (tls_engine.h lists them): only they see
 * mbedTLS.
 *
 * Implementation notes
 * - mbedTLS does the cryptography, the TLS 1.2 and 1.3 state machines and
 *   the X.509 chain building; the glue configures it (one mbedtls_ssl_config
 *   per wasio config, built again when a setter changed it and no engine
 *   uses it), moves bytes (engine_mbedtls.c: mbedTLS's transport callbacks
 *   read and write two ciphertext buffers in memory, so the engine stays
 *   sans-I/O), and decides what a certificate is worth
 *   (x509_mbedtls.c: wasio's verification policy in mbedTLS's verify
 *   callback, one wasio error per refusal).
 * - Trust anchors are a name and a key, as RFC 5280 has them: the
 *   built-in Mozilla roots (tools/mkanchors --format mbedtls: each root's
 *   subject Name and SubjectPublicKeyInfo, as DER constants) and the user's
 *   (wasio_tls_config_add_ca_pem). mbedTLS looks them up by the child's
 *   issuer through its CA callback; only then is the matching anchor made
 *   into a minimal CA certificate for mbedTLS to check the signature with
 *   (x509_mbedtls.c), so no root is parsed before a chain needs it.
 * - mbedTLS allocates with the C library (wasio_mbedtls_config.h says why);
 *   the glue's own allocations go through wasio__malloc & co.
 */
#ifndef WASIO_MBEDTLS_INTERNAL_H
#define WASIO_MBEDTLS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mbedtls/ssl.h"
#include "mbedtls/ssl_cache.h"
#include "mbedtls/ssl_ticket.h"
#include "mbedtls/x509_crt.h"
#include "mbedtls/pk.h"
#include "wasio.h"
#include "tls_engine.h"
#include "internal.h" /* wasio__malloc & co.: allocation counted by the loop */

/* A trust anchor: a subject Name and a SubjectPublicKeyInfo (DER). */
typedef struct wasio__tls_anchor {
  const uint8_t *dn;
  size_t dn_len;
  const uint8_t *spki;
  size_t spki_len;
} wasio__tls_anchor_t;

/* The Mozilla roots, generated at build time by tools/mkanchors. */
extern const wasio__tls_anchor_t wasio__tls_mozilla_anchors[];
extern const size_t wasio__tls_mozilla_anchors_count;

/* A user anchor from wasio_tls_config_add_ca_pem: `a` points into `der`,
 * the certificate it came from (one allocation). A CA certificate anchors
 * chains; any other is trusted as exactly that server certificate. */
typedef struct wasio__tls_user_anchor {
  wasio__tls_anchor_t a;
  uint8_t *der;
  size_t der_len;
  bool is_ca;
} wasio__tls_user_anchor_t;

typedef struct wasio__tls_session_slot {
  bool used;
  uint16_t port;
  uint64_t last_used;
  char host[WASIO_TLS_MAX_HOST + 1];
  mbedtls_ssl_session session;
} wasio__tls_session_slot_t;

typedef struct wasio__tls_pin {
  uint8_t kind; /* wasio_tls_pin_kind_t */
  uint8_t sha256[32];
} wasio__tls_pin_t;

struct wasio_tls_config {
  uint8_t role; /* wasio_tls_role_t */
  bool system_roots, insecure, half_duplex;
  size_t engines; /* engines alive that use this config */
  /* The user's anchors; the Mozilla ones are wasio__tls_mozilla_anchors. */
  wasio__tls_user_anchor_t *user_ta;
  size_t user_ta_n;
  wasio__tls_pin_t pins[WASIO_TLS_MAX_PINS];
  size_t npins;
  char alpn_store[WASIO_TLS_MAX_ALPN][WASIO_TLS_MAX_ALPN_LEN + 1];
  const char *alpn[WASIO_TLS_MAX_ALPN + 1]; /* NULL-terminated, as mbedTLS wants it */
  size_t nalpn;
  /* Client session cache. */
  wasio__tls_session_slot_t sessions[WASIO_TLS_CLIENT_SESSIONS];
  uint64_t session_clock;
  /* Server: certificate chain and key. */
  mbedtls_x509_crt chain;
  size_t chain_n;
  mbedtls_pk_context key;
  bool have_key;
  mbedtls_ssl_ticket_context tickets;
  mbedtls_ssl_cache_context cache;
  bool tickets_ready;
  /* mbedTLS's view of all this, (re)built by wasio__tls_conf_ready(). */
  mbedtls_ssl_config conf;
  bool conf_ready;
  /* The CA callback found no memory (mbedTLS reports only a fatal error);
   * the engine whose handshake failed reads and clears it. */
  bool ca_nomem;
};

/* The verification's record, filled by the verify callback (x509_mbedtls.c). */
typedef struct wasio__tls_verify {
  bool ran;        /* the callback ran: a certificate was verified (no resumption) */
  int err;         /* wasio's verdict (WASIO_ETLS_CERT_*, WASIO_ENOMEM) or 0 */
  uint32_t issuer_flags; /* the MBEDTLS_X509_BADCERT_* flags of the chain above the EE */
  int top_depth;   /* the highest depth the callback saw */
  const mbedtls_x509_crt *top; /* the certificate at top_depth */
} wasio__tls_verify_t;

struct wasio_tls_engine {
  wasio_tls_config_t *cfg;
  mbedtls_ssl_context ssl;
  /* Ciphertext from the peer not yet taken by mbedTLS: cin[cin_off, cin_off + cin_len). */
  uint8_t *cin;
  size_t cin_cap, cin_off, cin_len;
  /* Ciphertext for the peer: cout[cout_off, cout_off + cout_len). */
  uint8_t *cout;
  size_t cout_cap, cout_off, cout_len;
  /* One plaintext byte the engine read to learn that a record had arrived
   * (mbedTLS decrypts a record only when asked for its bytes). */
  uint8_t peek;
  bool peeked;
  char host[WASIO_TLS_MAX_HOST + 1];
  uint16_t port;
  uint8_t ip[16];
  size_t ip_len;   /* 4 or 16 when the expected name is an IP address */
  bool handshake_done, resumed, session_offered;
  bool close_wanted, close_sent, close_received;
  int error; /* sticky wasio error once the engine failed */
  /* The first byte the peer sent, to tell a peer that speaks no TLS at all
   * from a TLS failure. */
  bool peer_seen;
  uint8_t peer_first;
  wasio__tls_verify_t verify;
};

/* engine_mbedtls.c: process-wide set-up (PSA, the time hook), once. */
int wasio__tls_platform_init(void);
/* The random generator mbedTLS's configuration calls take. */
int wasio__tls_rng(void *ctx, unsigned char *out, size_t len);

/* config_mbedtls.c: builds cfg->conf from the config if a setter changed it. */
int wasio__tls_conf_ready(wasio_tls_config_t *cfg);
/* Client: the cache slot for host:port, or NULL. */
wasio__tls_session_slot_t *wasio__tls_session_find(wasio_tls_config_t *cfg, const char *host, uint16_t port);
/* Client: keeps the engine's session (after a handshake or a ticket). */
void wasio__tls_session_store(wasio_tls_engine_t *e);

/* x509_mbedtls.c */
/* mbedTLS's CA callback: the anchors whose name is the child's issuer. */
int wasio__tls_ca_cb(void *ctx, const mbedtls_x509_crt *child, mbedtls_x509_crt **candidates);
/* mbedTLS's verify callback (ctx: the engine): wasio's policy. */
int wasio__tls_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags);
/* The verification profile: SHA-256 and up, RSA of 2048 bits and up,
 * P-256 and P-384. */
extern const mbedtls_x509_crt_profile wasio__tls_profile;
/* The wasio code for an mbedTLS error, refined with what the engine saw. */
int wasio__tls_map_error(const wasio_tls_engine_t *e, int mbedtls_err);
/* Parses a user's PEM certificate into an anchor (pem callback). */
int wasio__tls_anchor_from_der(const uint8_t *der, size_t len, wasio__tls_user_anchor_t *out);

/* pem_mbedtls.c: every block of a PEM text, as DER, through cb (return
 * non-zero to stop: that value is returned). Returns the number of blocks,
 * or WASIO_ETLS_PEM when the text is not PEM. */
typedef int (*wasio__tls_pem_cb)(void *arg, const char *name, const uint8_t *der, size_t len);
int wasio__tls_pem_each(const void *pem, size_t len, wasio__tls_pem_cb cb, void *arg);

#endif
