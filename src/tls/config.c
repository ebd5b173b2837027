/* src/tls/config.c: wasio_tls_config_t, what many connections share:
 * trust anchors (Mozilla roots + user PEM), pins, ALPN names, the client
 * session cache, and a server's certificate chain, key and session cache. */
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

/* A resumed session skips certificate verification, so a session made under
 * other trust settings must not be resumed: every setter that changes what
 * is trusted forgets them. */
static void wasio__tls_config_forget_sessions(wasio_tls_config_t *cfg) {
  memset(cfg->sessions, 0, sizeof cfg->sessions);
}

int wasio_tls_config_new(wasio_tls_role_t role, wasio_tls_config_t **out) {
  if (out == NULL || (role != WASIO_TLS_CLIENT && role != WASIO_TLS_SERVER)) return WASIO_EINVAL;
  wasio_tls_config_t *cfg = wasio__calloc(1, sizeof *cfg);
  if (cfg == NULL) return WASIO_ENOMEM;
  cfg->role = (uint8_t)role;
  cfg->system_roots = role == WASIO_TLS_CLIENT;
  cfg->anchors = cfg->system_roots ? wasio__tls_mozilla_anchors : NULL;
  cfg->anchors_n = cfg->system_roots ? wasio__tls_mozilla_anchors_count : 0;
  *out = cfg;
  return 0;
}

static void wasio__tls_config_clear_server(wasio_tls_config_t *cfg) {
  for (size_t i = 0; i < cfg->chain_n; i++) wasio__free(cfg->chain[i].data);
  cfg->chain_n = 0;
  cfg->key_type = 0;
  memset(&cfg->skey, 0, sizeof cfg->skey); /* the private key */
}

int wasio_tls_config_free(wasio_tls_config_t *cfg) {
  if (cfg == NULL) return 0;
  if (cfg->engines) return WASIO_EBUSY;
  for (size_t i = 0; i < cfg->user_ta_n; i++) wasio__free(cfg->user_ta[i].bytes);
  wasio__free(cfg->user_ta);
  wasio__free(cfg->merged_ta);
  wasio__tls_config_clear_server(cfg);
  wasio__tls_config_forget_sessions(cfg); /* they hold master secrets */
  wasio__free(cfg);
  return 0;
}

/* Points `anchors` at the static roots, the user's, or a merged copy. */
static int wasio__tls_config_anchors(wasio_tls_config_t *cfg) {
  size_t nsys = cfg->system_roots ? wasio__tls_mozilla_anchors_count : 0;
  wasio__tls_config_forget_sessions(cfg);
  wasio__free(cfg->merged_ta);
  cfg->merged_ta = NULL;
  if (cfg->user_ta_n == 0) {
    cfg->anchors = nsys ? wasio__tls_mozilla_anchors : NULL;
    cfg->anchors_n = nsys;
    return 0;
  }
  cfg->merged_ta = wasio__calloc(nsys + cfg->user_ta_n, sizeof *cfg->merged_ta);
  if (cfg->merged_ta == NULL) {
    cfg->anchors = NULL;
    cfg->anchors_n = 0;
    return WASIO_ENOMEM;
  }
  if (nsys) memcpy(cfg->merged_ta, wasio__tls_mozilla_anchors, nsys * sizeof *cfg->merged_ta);
  for (size_t i = 0; i < cfg->user_ta_n; i++) cfg->merged_ta[nsys + i] = cfg->user_ta[i].ta;
  cfg->anchors = cfg->merged_ta;
  cfg->anchors_n = nsys + cfg->user_ta_n;
  return 0;
}

int wasio_tls_config_system_roots(wasio_tls_config_t *cfg, bool use) {
  if (cfg == NULL || cfg->role != WASIO_TLS_CLIENT) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  cfg->system_roots = use;
  return wasio__tls_config_anchors(cfg);
}

/* ---- PEM CA bundle -> owned trust anchors -------------------------------------- */

/* Largest encoded subject DN kept for an anchor. */
#define WASIO__TLS_DN_MAX 1024

typedef struct {
  uint8_t dn[WASIO__TLS_DN_MAX];
  size_t dn_len;
  bool dn_too_big;
} wasio__dn_acc_t;

static void wasio__dn_append(void *ctx, const void *buf, size_t len) {
  wasio__dn_acc_t *a = ctx;
  if (len > sizeof a->dn - a->dn_len) {
    a->dn_too_big = true;
    return;
  }
  memcpy(a->dn + a->dn_len, buf, len);
  a->dn_len += len;
}

typedef struct {
  wasio__tls_owned_ta_t *list;
  size_t n, cap;
} wasio__ta_acc_t;

static int wasio__tls_ta_from_cert(void *arg, const char *name, const uint8_t *der, size_t len) {
  wasio__ta_acc_t *acc = arg;
  if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) return 0;
  if (acc->n == WASIO_TLS_MAX_ANCHORS) return WASIO_ELIMIT;
  br_x509_decoder_context dc;
  wasio__dn_acc_t dn = {.dn_len = 0};
  br_x509_decoder_init(&dc, wasio__dn_append, &dn);
  br_x509_decoder_push(&dc, der, len);
  const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
  if (pk == NULL || dn.dn_too_big || dn.dn_len == 0) return WASIO_ETLS_PEM;
  size_t klen = pk->key_type == BR_KEYTYPE_RSA ? pk->key.rsa.nlen + pk->key.rsa.elen : pk->key.ec.qlen;
  uint8_t *bytes = wasio__malloc(dn.dn_len + klen);
  if (bytes == NULL) return WASIO_ENOMEM;
  if (acc->n == acc->cap) {
    size_t cap = acc->cap ? acc->cap * 2 : 16;
    wasio__tls_owned_ta_t *l = wasio__realloc(acc->list, cap * sizeof *l);
    if (l == NULL) {
      wasio__free(bytes);
      return WASIO_ENOMEM;
    }
    acc->list = l;
    acc->cap = cap;
  }
  wasio__tls_owned_ta_t *o = &acc->list[acc->n++];
  memset(o, 0, sizeof *o);
  o->bytes = bytes;
  memcpy(bytes, dn.dn, dn.dn_len);
  o->ta.dn.data = bytes;
  o->ta.dn.len = dn.dn_len;
  /* A CA certificate anchors chains; anything else (a self-signed server
   * certificate the user trusts) is trusted directly, as brssl does. */
  o->ta.flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
  o->ta.pkey.key_type = pk->key_type;
  uint8_t *k = bytes + dn.dn_len;
  if (pk->key_type == BR_KEYTYPE_RSA) {
    memcpy(k, pk->key.rsa.n, pk->key.rsa.nlen);
    memcpy(k + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
    o->ta.pkey.key.rsa.n = k;
    o->ta.pkey.key.rsa.nlen = pk->key.rsa.nlen;
    o->ta.pkey.key.rsa.e = k + pk->key.rsa.nlen;
    o->ta.pkey.key.rsa.elen = pk->key.rsa.elen;
  } else {
    memcpy(k, pk->key.ec.q, pk->key.ec.qlen);
    o->ta.pkey.key.ec.curve = pk->key.ec.curve;
    o->ta.pkey.key.ec.q = k;
    o->ta.pkey.key.ec.qlen = pk->key.ec.qlen;
  }
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
  wasio__tls_owned_ta_t *merged = NULL;
  if (rc >= 0) {
    merged = wasio__realloc(cfg->user_ta, (cfg->user_ta_n + acc.n) * sizeof *merged);
    if (merged == NULL) rc = WASIO_ENOMEM;
  }
  if (rc < 0) {
    for (size_t i = 0; i < acc.n; i++) wasio__free(acc.list[i].bytes);
    wasio__free(acc.list);
    return rc;
  }
  memcpy(merged + cfg->user_ta_n, acc.list, acc.n * sizeof *merged);
  cfg->user_ta = merged;
  cfg->user_ta_n += acc.n;
  wasio__free(acc.list);
  rc = wasio__tls_config_anchors(cfg);
  return rc < 0 ? rc : (int)acc.n;
}

int wasio_tls_config_pin_sha256(wasio_tls_config_t *cfg, wasio_tls_pin_kind_t kind, const uint8_t sha256[32]) {
  if (cfg == NULL || sha256 == NULL || (kind != WASIO_TLS_PIN_SPKI && kind != WASIO_TLS_PIN_CERT))
    return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  if (cfg->npins == WASIO_TLS_MAX_PINS) return WASIO_ELIMIT;
  wasio__tls_config_forget_sessions(cfg);
  cfg->pins[cfg->npins].kind = (uint8_t)kind;
  memcpy(cfg->pins[cfg->npins].sha256, sha256, 32);
  cfg->npins++;
  return 0;
}

int wasio_tls_config_insecure(wasio_tls_config_t *cfg, bool insecure) {
  if (cfg == NULL || cfg->role != WASIO_TLS_CLIENT) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  wasio__tls_config_forget_sessions(cfg);
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
  for (size_t i = 0; i < n; i++) {
    memcpy(cfg->alpn_store[i], names[i], strlen(names[i]) + 1);
    cfg->alpn[i] = cfg->alpn_store[i];
  }
  cfg->nalpn = n;
  return 0;
}

int wasio_tls_config_half_duplex(wasio_tls_config_t *cfg, bool half) {
  if (cfg == NULL) return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  cfg->half_duplex = half;
  return 0;
}

/* ---- server certificate and key -------------------------------------------------- */

static int wasio__tls_chain_cert(void *arg, const char *name, const uint8_t *der, size_t len) {
  wasio_tls_config_t *cfg = arg;
  if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) return 0;
  if (cfg->chain_n == WASIO_TLS_MAX_CHAIN) return WASIO_ELIMIT;
  unsigned char *copy = wasio__malloc(len ? len : 1);
  if (copy == NULL) return WASIO_ENOMEM;
  memcpy(copy, der, len);
  cfg->chain[cfg->chain_n].data = copy;
  cfg->chain[cfg->chain_n].data_len = len;
  cfg->chain_n++;
  return 0;
}

static int wasio__tls_key(void *arg, const char *name, const uint8_t *der, size_t len) {
  wasio_tls_config_t *cfg = arg;
  if (strcmp(name, "PRIVATE KEY") != 0 && strcmp(name, "RSA PRIVATE KEY") != 0 &&
      strcmp(name, "EC PRIVATE KEY") != 0)
    return 0; /* e.g. EC PARAMETERS before the key */
  if (cfg->key_type) return WASIO_ETLS_PEM; /* two keys */
  br_skey_decoder_init(&cfg->skey);
  br_skey_decoder_push(&cfg->skey, der, len);
  if (br_skey_decoder_last_error(&cfg->skey) != 0) return WASIO_ETLS_PEM;
  cfg->key_type = br_skey_decoder_key_type(&cfg->skey);
  return 0;
}

int wasio_tls_config_cert_pem(wasio_tls_config_t *cfg, const void *chain_pem, size_t chain_len,
                              const void *key_pem, size_t key_len) {
  if (cfg == NULL || cfg->role != WASIO_TLS_SERVER || chain_pem == NULL || key_pem == NULL)
    return WASIO_EINVAL;
  if (cfg->engines) return WASIO_EBUSY;
  wasio__tls_config_clear_server(cfg);
  int rc = wasio__tls_pem_each(chain_pem, chain_len, wasio__tls_chain_cert, cfg);
  if (rc >= 0 && cfg->chain_n == 0) rc = WASIO_ETLS_PEM;
  if (rc >= 0) rc = wasio__tls_pem_each(key_pem, key_len, wasio__tls_key, cfg);
  if (rc >= 0 && cfg->key_type != BR_KEYTYPE_RSA && cfg->key_type != BR_KEYTYPE_EC) rc = WASIO_ETLS_PEM;
  if (rc < 0) {
    wasio__tls_config_clear_server(cfg);
    return rc;
  }
  br_ssl_session_cache_lru_init(&cfg->lru, cfg->lru_store, sizeof cfg->lru_store);
  return 0;
}
