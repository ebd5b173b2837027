/* src/tls/config_mbedtls.c: wasio_tls_config_t over mbedTLS, what many
 * connections share: trust anchors (Mozilla roots + user PEM), pins, ALPN
 * names, the client session cache, a server's certificate chain, key,
 * ticket keys and session cache, and the mbedtls_ssl_config that says all
 * of it to mbedTLS (built again by wasio__tls_conf_ready() after a setter
 * changed something; setters refuse while engines use the config, so
 * mbedTLS never sees it change under a connection). */
#include <stdlib.h>
#include <string.h>

#include "mbedtls_internal.h"

/* The protocol policy, the same for client and server: TLS 1.3 preferred,
 * TLS 1.2 with ECDHE only, AEAD records only. ChaCha20-Poly1305 comes first
 * where there are no AES instructions, and always in a component:
 * WebAssembly has none, and mbedTLS's portable AES looks up tables indexed
 * by key and data (a cache-timing risk that ChaCha20's additions, rotations
 * and XORs do not have), besides being slower there. Natively, with AES-NI
 * (which mbedTLS uses), AES-GCM goes first. A client's order decides unless
 * the server enforces its own; mbedTLS as a server picks by its own order,
 * the same lists. */
#define WASIO__TLS13_CHACHA MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256
#define WASIO__TLS13_AES MBEDTLS_TLS1_3_AES_128_GCM_SHA256, MBEDTLS_TLS1_3_AES_256_GCM_SHA384
#define WASIO__TLS12_CHACHA \
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
#define WASIO__TLS12_AES                                                                                  \
  MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,          \
      MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
static const int wasio__tls_suites_chacha_first[] = {WASIO__TLS13_CHACHA, WASIO__TLS13_AES, WASIO__TLS12_CHACHA,
                                                     WASIO__TLS12_AES, 0};
static const int wasio__tls_suites_aes_first[] = {WASIO__TLS13_AES, WASIO__TLS13_CHACHA, WASIO__TLS12_AES,
                                                  WASIO__TLS12_CHACHA, 0};
_Static_assert(sizeof wasio__tls_suites_aes_first == sizeof wasio__tls_suites_chacha_first,
               "the same suites in both orders");

/* Key exchange groups, preferred first: X25519 (fast, simple,
 * constant-time by design), then P-256. */
static const uint16_t wasio__tls_groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519, MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
                                             MBEDTLS_SSL_IANA_TLS_GROUP_NONE};

/* Signature algorithms offered, RSA PKCS#1 v1.5 before RSA-PSS: in TLS
 * 1.2, mbedTLS 3.6.6 cannot verify an RSA-PSS ServerKeyExchange, yet it
 * offers PSS first (for TLS 1.3), and OpenSSL-based servers pick by the
 * client's order; with PKCS#1 first a TLS 1.2 server signs with it, while
 * a TLS 1.3 server, which may use only PSS there, still finds it (fixed
 * upstream after 3.6.6: Mbed-TLS/mbedtls pull request 10672). No SHA-1, no
 * P-521. */
static const uint16_t wasio__tls_sig_algs[] = {
  MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
  MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,       MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,
  MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,       MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256,
  MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512,
  MBEDTLS_TLS1_3_SIG_NONE};

/* Whether the CPU has AES instructions that mbedTLS uses (AES-NI; mbedTLS
 * probes the same bit at run time). Never in a component. */
static bool wasio__tls_aes_hardware(void) {
#if defined(__x86_64__) && !defined(__wasm__)
  return __builtin_cpu_supports("aes");
#else
  return false;
#endif
}

/* A resumed session skips certificate verification, so a session made under
 * other trust settings must not be resumed: every setter that changes what
 * is trusted forgets them. */
static void wasio__tls_config_forget_sessions(wasio_tls_config_t *cfg) {
  for (size_t i = 0; i < WASIO_TLS_CLIENT_SESSIONS; i++) {
    wasio__tls_session_slot_t *s = &cfg->sessions[i];
    if (s->used) mbedtls_ssl_session_free(&s->session); /* wipes its secrets */
    memset(s, 0, sizeof *s);
  }
}

/* Something mbedTLS's config says changed: build it again before the next
 * engine. */
static void wasio__tls_config_changed(wasio_tls_config_t *cfg) {
  if (cfg->conf_ready) mbedtls_ssl_config_free(&cfg->conf);
  cfg->conf_ready = false;
}

int wasio_tls_config_new(wasio_tls_role_t role, wasio_tls_config_t **out) {
  if (out == NULL || (role != WASIO_TLS_CLIENT && role != WASIO_TLS_SERVER)) return WASIO_EINVAL;
  int rc = wasio__tls_platform_init();
  if (rc < 0) return rc;
  wasio_tls_config_t *cfg = wasio__calloc(1, sizeof *cfg);
  if (cfg == NULL) return WASIO_ENOMEM;
  cfg->role = (uint8_t)role;
  cfg->system_roots = role == WASIO_TLS_CLIENT;
  mbedtls_x509_crt_init(&cfg->chain);
  mbedtls_pk_init(&cfg->key);
  *out = cfg;
  return 0;
}

static void wasio__tls_config_clear_server(wasio_tls_config_t *cfg) {
  mbedtls_x509_crt_free(&cfg->chain);
  mbedtls_x509_crt_init(&cfg->chain);
  cfg->chain_n = 0;
  mbedtls_pk_free(&cfg->key); /* wipes the private key */
  mbedtls_pk_init(&cfg->key);
  cfg->have_key = false;
  if (cfg->tickets_ready) {
    mbedtls_ssl_ticket_free(&cfg->tickets);
    mbedtls_ssl_cache_free(&cfg->cache);
  }
  cfg->tickets_ready = false;
}

int wasio_tls_config_free(wasio_tls_config_t *cfg) {
  if (cfg == NULL) return 0;
  if (cfg->engines) return WASIO_EBUSY;
  for (size_t i = 0; i < cfg->user_ta_n; i++) wasio__free(cfg->user_ta[i].der);
  wasio__free(cfg->user_ta);
  wasio__tls_config_changed(cfg);
  wasio__tls_config_clear_server(cfg);
  wasio__tls_config_forget_sessions(cfg); /* they hold master secrets */
  wasio__free(cfg);
  return 0;
}

int wasio_tls_config_system_roots(wasio_tls_config_t *cfg, bool use) {
  if (cfg == NULL || cfg->role != WASIO_TLS_CLIENT) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  wasio__tls_config_forget_sessions(cfg);
  cfg->system_roots = use;
  return 0;
}

/* ---- PEM CA bundle -> user anchors ------------------------------------------------ */

typedef struct {
  wasio__tls_user_anchor_t *list;
  size_t n, cap;
} wasio__ta_acc_t;

static int wasio__tls_ta_from_cert(void *arg, const char *name, const uint8_t *der, size_t len) {
  wasio__ta_acc_t *acc = arg;
  if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) return 0;
  if (acc->n == WASIO_TLS_MAX_ANCHORS) return WASIO_ELIMIT;
  if (acc->n == acc->cap) {
    size_t cap = acc->cap ? acc->cap * 2 : 16;
    wasio__tls_user_anchor_t *l = wasio__realloc(acc->list, cap * sizeof *l);
    if (l == NULL) return WASIO_ENOMEM;
    acc->list = l;
    acc->cap = cap;
  }
  int rc = wasio__tls_anchor_from_der(der, len, &acc->list[acc->n]);
  if (rc < 0) return rc;
  acc->n++;
  return 0;
}

int wasio_tls_config_add_ca_pem(wasio_tls_config_t *cfg, const void *pem, size_t len) {
  if (cfg == NULL || cfg->role != WASIO_TLS_CLIENT || (pem == NULL && len)) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  /* Decode into a list of its own first: all or nothing. */
  wasio__ta_acc_t acc = {.list = NULL, .n = 0, .cap = 0};
  int rc = wasio__tls_pem_each(pem, len, wasio__tls_ta_from_cert, &acc);
  if (rc >= 0 && acc.n == 0) rc = WASIO_ETLS_PEM;
  if (rc >= 0 && cfg->user_ta_n + acc.n > WASIO_TLS_MAX_ANCHORS) rc = WASIO_ELIMIT;
  wasio__tls_user_anchor_t *merged = NULL;
  if (rc >= 0) {
    merged = wasio__realloc(cfg->user_ta, (cfg->user_ta_n + acc.n) * sizeof *merged);
    if (merged == NULL) rc = WASIO_ENOMEM;
  }
  if (rc < 0) {
    for (size_t i = 0; i < acc.n; i++) wasio__free(acc.list[i].der);
    wasio__free(acc.list);
    return rc;
  }
  memcpy(merged + cfg->user_ta_n, acc.list, acc.n * sizeof *merged);
  cfg->user_ta = merged;
  cfg->user_ta_n += acc.n;
  wasio__free(acc.list);
  wasio__tls_config_forget_sessions(cfg);
  return (int)acc.n;
}

int wasio_tls_config_pin_sha256(wasio_tls_config_t *cfg, wasio_tls_pin_kind_t kind, const uint8_t sha256[32]) {
  if (cfg == NULL || sha256 == NULL || (kind != WASIO_TLS_PIN_SPKI && kind != WASIO_TLS_PIN_CERT))
    return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  if (cfg->npins == WASIO_TLS_MAX_PINS) return WASIO_ELIMIT;
  wasio__tls_config_forget_sessions(cfg);
  wasio__tls_config_changed(cfg); /* pins keep verification on under -k */
  cfg->pins[cfg->npins].kind = (uint8_t)kind;
  memcpy(cfg->pins[cfg->npins].sha256, sha256, 32);
  cfg->npins++;
  return 0;
}

int wasio_tls_config_insecure(wasio_tls_config_t *cfg, bool insecure) {
  if (cfg == NULL || cfg->role != WASIO_TLS_CLIENT) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  wasio__tls_config_forget_sessions(cfg);
  wasio__tls_config_changed(cfg);
  cfg->insecure = insecure;
  return 0;
}

int wasio_tls_config_alpn(wasio_tls_config_t *cfg, const char *const *names, size_t n) {
  if (cfg == NULL || (n && names == NULL)) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  if (n > WASIO_TLS_MAX_ALPN) return WASIO_ELIMIT;
  for (size_t i = 0; i < n; i++) {
    size_t l = names[i] ? strlen(names[i]) : 0;
    if (l == 0 || l > WASIO_TLS_MAX_ALPN_LEN) return WASIO_EINVAL;
  }
  wasio__tls_config_changed(cfg);
  for (size_t i = 0; i < n; i++) {
    memcpy(cfg->alpn_store[i], names[i], strlen(names[i]) + 1);
    cfg->alpn[i] = cfg->alpn_store[i];
  }
  cfg->alpn[n] = NULL;
  cfg->nalpn = n;
  return 0;
}

int wasio_tls_config_half_duplex(wasio_tls_config_t *cfg, bool half) {
  if (cfg == NULL) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  cfg->half_duplex = half;
  return 0;
}

/* ---- server certificate and key ------------------------------------------------------ */

static int wasio__tls_chain_cert(void *arg, const char *name, const uint8_t *der, size_t len) {
  wasio_tls_config_t *cfg = arg;
  if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) return 0;
  if (cfg->chain_n == WASIO_TLS_MAX_CHAIN) return WASIO_ELIMIT;
  int rc = mbedtls_x509_crt_parse_der(&cfg->chain, der, len);
  if (rc == MBEDTLS_ERR_X509_ALLOC_FAILED) return WASIO_ENOMEM;
  if (rc != 0) return WASIO_ETLS_PEM;
  cfg->chain_n++;
  return 0;
}

static int wasio__tls_key(void *arg, const char *name, const uint8_t *der, size_t len) {
  wasio_tls_config_t *cfg = arg;
  if (strcmp(name, "PRIVATE KEY") != 0 && strcmp(name, "RSA PRIVATE KEY") != 0 &&
      strcmp(name, "EC PRIVATE KEY") != 0)
    return 0; /* e.g. EC PARAMETERS before the key */
  if (cfg->have_key) return WASIO_ETLS_PEM; /* two keys */
  int rc = mbedtls_pk_parse_key(&cfg->key, der, len, NULL, 0, wasio__tls_rng, NULL);
  if (rc == MBEDTLS_ERR_PK_ALLOC_FAILED) return WASIO_ENOMEM;
  if (rc != 0) return WASIO_ETLS_PEM;
  mbedtls_pk_type_t t = mbedtls_pk_get_type(&cfg->key);
  if (t != MBEDTLS_PK_RSA && t != MBEDTLS_PK_ECKEY) return WASIO_ETLS_PEM;
  cfg->have_key = true;
  return 0;
}

int wasio_tls_config_cert_pem(wasio_tls_config_t *cfg, const void *chain_pem, size_t chain_len,
                              const void *key_pem, size_t key_len) {
  if (cfg == NULL || cfg->role != WASIO_TLS_SERVER || chain_pem == NULL || key_pem == NULL)
    return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  wasio__tls_config_changed(cfg);
  wasio__tls_config_clear_server(cfg);
  int rc = wasio__tls_pem_each(chain_pem, chain_len, wasio__tls_chain_cert, cfg);
  if (rc >= 0 && cfg->chain_n == 0) rc = WASIO_ETLS_PEM;
  if (rc >= 0) rc = wasio__tls_pem_each(key_pem, key_len, wasio__tls_key, cfg);
  if (rc >= 0 && !cfg->have_key) rc = WASIO_ETLS_PEM;
  /* The key must be the certificate's. */
  if (rc >= 0 && mbedtls_pk_check_pair(&cfg->chain.pk, &cfg->key, wasio__tls_rng, NULL) != 0) rc = WASIO_ETLS_PEM;
  if (rc >= 0) {
    /* Ticket keys (ChaCha20-Poly1305, rotated every session lifetime by
     * mbedTLS) and the TLS 1.2 session-ID cache. */
    mbedtls_ssl_ticket_init(&cfg->tickets);
    mbedtls_ssl_cache_init(&cfg->cache);
    cfg->tickets_ready = true;
    mbedtls_ssl_cache_set_max_entries(&cfg->cache, WASIO_TLS_SERVER_SESSIONS);
    mbedtls_ssl_cache_set_timeout(&cfg->cache, WASIO_TLS_SESSION_LIFETIME_S);
    int mr = mbedtls_ssl_ticket_setup(&cfg->tickets, wasio__tls_rng, NULL, MBEDTLS_CIPHER_CHACHA20_POLY1305,
                                      WASIO_TLS_SESSION_LIFETIME_S);
    if (mr != 0) rc = mr == MBEDTLS_ERR_SSL_ALLOC_FAILED ? WASIO_ENOMEM : WASIO_EIO;
  }
  if (rc < 0) {
    wasio__tls_config_clear_server(cfg);
    return rc;
  }
  return 0;
}

/* ---- mbedTLS's config ------------------------------------------------------------------- */

int wasio__tls_conf_ready(wasio_tls_config_t *cfg) {
  if (cfg->conf_ready) return 0;
  bool client = cfg->role == WASIO_TLS_CLIENT;
  mbedtls_ssl_config *c = &cfg->conf;
  mbedtls_ssl_config_init(c);
  int rc = mbedtls_ssl_config_defaults(c, client ? MBEDTLS_SSL_IS_CLIENT : MBEDTLS_SSL_IS_SERVER,
                                       MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
  if (rc == 0) {
    mbedtls_ssl_conf_min_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(c, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_ciphersuites(c, wasio__tls_aes_hardware() ? wasio__tls_suites_aes_first
                                                                : wasio__tls_suites_chacha_first);
    mbedtls_ssl_conf_groups(c, wasio__tls_groups);
    mbedtls_ssl_conf_sig_algs(c, wasio__tls_sig_algs);
    mbedtls_ssl_conf_rng(c, wasio__tls_rng, NULL);
    mbedtls_ssl_conf_cert_profile(c, &wasio__tls_profile);
    /* Resumption by ticket, TLS 1.3 with a fresh (EC)DHE exchange. */
    mbedtls_ssl_conf_tls13_key_exchange_modes(c, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ALL);
    mbedtls_ssl_conf_session_tickets(c, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
    if (cfg->nalpn) rc = mbedtls_ssl_conf_alpn_protocols(c, cfg->alpn);
  }
  if (rc == 0 && client) {
    /* Verification: wasio's callback decides (x509_mbedtls.c). Under -k
     * without pins nothing may refuse the peer (mbedTLS's own usage checks
     * included); with pins the callback still refuses a mismatch. */
    mbedtls_ssl_conf_authmode(c, cfg->insecure && cfg->npins == 0 ? MBEDTLS_SSL_VERIFY_OPTIONAL
                                                                  : MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_cb(c, wasio__tls_ca_cb, cfg);
    /* TLS 1.3 tickets arrive after the handshake: mbedTLS hands each over. */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(c, MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
  }
  if (rc == 0 && !client) {
    rc = mbedtls_ssl_conf_own_cert(c, &cfg->chain, &cfg->key);
    mbedtls_ssl_conf_authmode(c, MBEDTLS_SSL_VERIFY_NONE); /* no client certificates */
    mbedtls_ssl_conf_session_tickets_cb(c, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, &cfg->tickets);
    mbedtls_ssl_conf_session_cache(c, &cfg->cache, mbedtls_ssl_cache_get, mbedtls_ssl_cache_set);
    mbedtls_ssl_conf_new_session_tickets(c, 1);
  }
  if (rc != 0) {
    mbedtls_ssl_config_free(c);
    return rc == MBEDTLS_ERR_SSL_ALLOC_FAILED ? WASIO_ENOMEM : WASIO_EINVAL;
  }
  cfg->conf_ready = true;
  return 0;
}

/* ---- client sessions ----------------------------------------------------------------------- */

wasio__tls_session_slot_t *wasio__tls_session_find(wasio_tls_config_t *cfg, const char *host, uint16_t port) {
  for (size_t i = 0; i < WASIO_TLS_CLIENT_SESSIONS; i++) {
    wasio__tls_session_slot_t *s = &cfg->sessions[i];
    if (s->used && s->port == port && strcmp(s->host, host) == 0) return s;
  }
  return NULL;
}

void wasio__tls_session_store(wasio_tls_engine_t *e) {
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
  if (s->used) mbedtls_ssl_session_free(&s->session);
  memset(s, 0, sizeof *s);
  mbedtls_ssl_session_init(&s->session);
  if (mbedtls_ssl_get_session(&e->ssl, &s->session) != 0) {
    mbedtls_ssl_session_free(&s->session);
    memset(s, 0, sizeof *s);
    return; /* nothing to resume with (or no memory for it) */
  }
  s->used = true;
  s->port = e->port;
  s->last_used = ++cfg->session_clock;
  memcpy(s->host, e->host, strlen(e->host) + 1);
}
