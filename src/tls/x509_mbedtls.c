/* src/tls/x509_mbedtls.c: certificate verification, mbedTLS's chain
 * building under wasio's policy (wasio/tls.h, "Verification").
 *
 * Implementation notes
 * - mbedTLS builds and checks the chain: signatures, the validity periods
 *   against the wall clock (the time hook of engine_mbedtls.c),
 *   basicConstraints and keyUsage of every issuer (a certificate that is
 *   no CA, or may not sign certificates, is never taken as a parent), and
 *   the verification profile below (SHA-256 and up, RSA of 2048 bits and
 *   up, P-256 and P-384). It reports what failed as flags per certificate.
 * - Its verify callback (wasio__tls_verify_cb) sees those flags from the top
 *   of the chain down to the end-entity (EE) certificate and decides there,
 *   once, with wasio's own rules where mbedTLS's differ: the server's name
 *   only from subjectAltName (mbedTLS falls back to the subject CN), a "*"
 *   only as the whole left-most label of a name with at least two more
 *   labels, an IP address only from an iPAddress entry, an extendedKeyUsage
 *   without serverAuth refused (mbedTLS also takes anyExtendedKeyUsage), a
 *   user certificate trusted as exactly that certificate, and the pins.
 *   The verdict is one wasio error, kept in the engine; the flags left for
 *   mbedTLS only choose the alert the peer is told.
 * - Anchors are looked up by the child's issuer Name (the CA callback) and
 *   only then made into a certificate mbedTLS can take as a parent: a
 *   minimal self-issued CA certificate around the anchor's Name and key
 *   (no validity limits, as RFC 5280 treats a trust anchor).
 */
#include <string.h>

#include "mbedtls/oid.h"
#include "mbedtls/platform.h"
#include "mbedtls/sha256.h"
#include "mbedtls_internal.h"

#define WASIO__X509_ID(x) MBEDTLS_X509_ID_FLAG(x)
const mbedtls_x509_crt_profile wasio__tls_profile = {
  WASIO__X509_ID(MBEDTLS_MD_SHA256) | WASIO__X509_ID(MBEDTLS_MD_SHA384) | WASIO__X509_ID(MBEDTLS_MD_SHA512),
  0xFFFFFFF, /* RSA, RSA-PSS and ECDSA keys: the curves and sizes below decide */
  WASIO__X509_ID(MBEDTLS_ECP_DP_SECP256R1) | WASIO__X509_ID(MBEDTLS_ECP_DP_SECP384R1),
  2048,
};

/* ---- anchors: a Name and a key made into a CA certificate ----------------------- */

/* The fixed parts of the anchor certificate (DER). */
static const uint8_t wasio__ta_version_serial[] = {0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01};
/* sha256WithRSAEncryption: any algorithm mbedTLS knows; nothing checks the
 * signature of an anchor. */
static const uint8_t wasio__ta_sigalg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                           0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
/* notBefore 1970-01-01 (UTCTime), notAfter 9999-12-31 (GeneralizedTime). */
static const uint8_t wasio__ta_validity[] = {0x30, 0x20, 0x17, 0x0d, '7', '0', '0', '1', '0', '1', '0', '0', '0', '0',
                                             '0', '0', 'Z', 0x18, 0x0f, '9', '9', '9', '9', '1', '2', '3', '1', '2',
                                             '3', '5', '9', '5', '9', 'Z'};
/* [3] { basicConstraints, critical, cA TRUE } */
static const uint8_t wasio__ta_exts[] = {0xa3, 0x13, 0x30, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13,
                                         0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff};
/* An empty signature BIT STRING. */
static const uint8_t wasio__ta_sig[] = {0x03, 0x02, 0x00, 0x00};
/* A DER header (tag and length) takes at most this many bytes here. */
#define WASIO__DER_HDR_MAX 5

static size_t wasio__der_hdr(uint8_t *out, uint8_t tag, size_t len) {
  size_t n = 0;
  out[n++] = tag;
  if (len < 0x80) {
    out[n++] = (uint8_t)len;
  } else if (len < 0x100) {
    out[n++] = 0x81;
    out[n++] = (uint8_t)len;
  } else if (len < 0x10000) {
    out[n++] = 0x82;
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
  } else {
    out[n++] = 0x83;
    out[n++] = (uint8_t)(len >> 16);
    out[n++] = (uint8_t)(len >> 8);
    out[n++] = (uint8_t)len;
  }
  return n;
}

/* Appends the anchor, as a CA certificate, to *chain (allocated on the
 * first). 0, or an mbedTLS error. */
static int wasio__ta_append(mbedtls_x509_crt **chain, const wasio__tls_anchor_t *a) {
  size_t tbs_len = sizeof wasio__ta_version_serial + sizeof wasio__ta_sigalg + a->dn_len + sizeof wasio__ta_validity +
                   a->dn_len + a->spki_len + sizeof wasio__ta_exts;
  size_t cert_len = WASIO__DER_HDR_MAX + tbs_len + sizeof wasio__ta_sigalg + sizeof wasio__ta_sig;
  uint8_t *der = wasio__malloc(WASIO__DER_HDR_MAX + cert_len);
  if (der == NULL) return MBEDTLS_ERR_X509_ALLOC_FAILED;
  uint8_t tbs_hdr[WASIO__DER_HDR_MAX];
  size_t th = wasio__der_hdr(tbs_hdr, 0x30, tbs_len);
  size_t body = th + tbs_len + sizeof wasio__ta_sigalg + sizeof wasio__ta_sig;
  size_t n = wasio__der_hdr(der, 0x30, body);
#define WASIO__PUT(p, l) (memcpy(der + n, (p), (l)), n += (l))
  WASIO__PUT(tbs_hdr, th);
  WASIO__PUT(wasio__ta_version_serial, sizeof wasio__ta_version_serial);
  WASIO__PUT(wasio__ta_sigalg, sizeof wasio__ta_sigalg);
  WASIO__PUT(a->dn, a->dn_len); /* issuer: self-issued */
  WASIO__PUT(wasio__ta_validity, sizeof wasio__ta_validity);
  WASIO__PUT(a->dn, a->dn_len);
  WASIO__PUT(a->spki, a->spki_len);
  WASIO__PUT(wasio__ta_exts, sizeof wasio__ta_exts);
  WASIO__PUT(wasio__ta_sigalg, sizeof wasio__ta_sigalg);
  WASIO__PUT(wasio__ta_sig, sizeof wasio__ta_sig);
#undef WASIO__PUT
  int rc = 0;
  if (*chain == NULL) {
    *chain = mbedtls_calloc(1, sizeof **chain);
    if (*chain == NULL) rc = MBEDTLS_ERR_X509_ALLOC_FAILED;
    else mbedtls_x509_crt_init(*chain);
  }
  if (rc == 0) rc = mbedtls_x509_crt_parse_der(*chain, der, n);
  wasio__free(der);
  return rc;
}

static bool wasio__ta_is_issuer(const wasio__tls_anchor_t *a, const mbedtls_x509_crt *child) {
  return a->dn_len == child->issuer_raw.len && memcmp(a->dn, child->issuer_raw.p, a->dn_len) == 0;
}

int wasio__tls_ca_cb(void *ctx, const mbedtls_x509_crt *child, mbedtls_x509_crt **candidates) {
  wasio_tls_config_t *cfg = ctx;
  int rc = 0;
  *candidates = NULL;
  for (size_t i = 0; rc == 0 && i < cfg->user_ta_n; i++)
    if (cfg->user_ta[i].is_ca && wasio__ta_is_issuer(&cfg->user_ta[i].a, child))
      rc = wasio__ta_append(candidates, &cfg->user_ta[i].a);
  for (size_t i = 0; rc == 0 && cfg->system_roots && i < wasio__tls_mozilla_anchors_count; i++)
    if (wasio__ta_is_issuer(&wasio__tls_mozilla_anchors[i], child))
      rc = wasio__ta_append(candidates, &wasio__tls_mozilla_anchors[i]);
  if (rc != 0) {
    cfg->ca_nomem = rc == MBEDTLS_ERR_X509_ALLOC_FAILED;
    /* mbedTLS frees what the callback returns only on success. */
    mbedtls_x509_crt_free(*candidates);
    mbedtls_free(*candidates);
    *candidates = NULL;
  }
  return rc;
}

int wasio__tls_anchor_from_der(const uint8_t *der, size_t len, wasio__tls_user_anchor_t *out) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  int rc = mbedtls_x509_crt_parse_der(&crt, der, len);
  if (rc == MBEDTLS_ERR_X509_ALLOC_FAILED) rc = WASIO_ENOMEM;
  else if (rc != 0 || crt.subject_raw.len == 0) rc = WASIO_ETLS_PEM;
  if (rc == 0) {
    uint8_t *copy = wasio__malloc(len);
    if (copy == NULL) {
      rc = WASIO_ENOMEM;
    } else {
      memcpy(copy, der, len);
      out->der = copy;
      out->der_len = len;
      out->a.dn = copy + (crt.subject_raw.p - crt.raw.p);
      out->a.dn_len = crt.subject_raw.len;
      out->a.spki = copy + (crt.pk_raw.p - crt.raw.p);
      out->a.spki_len = crt.pk_raw.len;
      out->is_ca = crt.MBEDTLS_PRIVATE(ca_istrue) != 0;
    }
  }
  mbedtls_x509_crt_free(&crt);
  return rc;
}

/* ---- names -------------------------------------------------------------------------- */

static char wasio__lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

static bool wasio__name_eq(const char *a, size_t alen, const char *b, size_t blen) {
  if (alen != blen) return false;
  for (size_t i = 0; i < alen; i++)
    if (wasio__lower(a[i]) != wasio__lower(b[i])) return false;
  return true;
}

/* How a dNSName entry relates to the host. */
typedef enum { WASIO__NAME_NO, WASIO__NAME_MATCH, WASIO__NAME_BAD_WILDCARD } wasio__name_t;

static wasio__name_t wasio__dns_match(const char *host, size_t hlen, const char *name, size_t nlen) {
  const char *star = memchr(name, '*', nlen);
  if (star == NULL) return wasio__name_eq(host, hlen, name, nlen) ? WASIO__NAME_MATCH : WASIO__NAME_NO;
  /* "*.rest": "*" is the whole first label and rest has two labels or more
   * (never "*.com"); it stands for exactly one non-empty label. */
  const char *rest = name + 2;
  size_t rlen = nlen >= 2 ? nlen - 2 : 0;
  bool well_formed = star == name && nlen > 2 && name[1] == '.' && memchr(rest, '*', rlen) == NULL &&
                     memchr(rest, '.', rlen) != NULL;
  const char *hdot = memchr(host, '.', hlen);
  if (well_formed) {
    if (hdot == NULL || hdot == host) return WASIO__NAME_NO;
    return wasio__name_eq(hdot + 1, hlen - (size_t)(hdot + 1 - host), rest, rlen) ? WASIO__NAME_MATCH
                                                                                    : WASIO__NAME_NO;
  }
  /* A wildcard of another form ("f*.example.com", "*.*.example.com",
   * "*.com"): refused even where a looser matcher would take it, and told
   * apart when it would have covered the host. The check below is that
   * looser reading: "*" for any run of non-dot characters, label by label. */
  size_t i = 0, j = 0, star_i = (size_t)-1, star_j = 0;
  while (i < hlen) {
    if (j < nlen && name[j] == '*') {
      star_j = ++j;
      star_i = i;
    } else if (j < nlen && wasio__lower(name[j]) == wasio__lower(host[i])) {
      i++;
      j++;
    } else if (star_i != (size_t)-1 && host[star_i] != '.') {
      i = ++star_i;
      j = star_j;
    } else {
      return WASIO__NAME_NO;
    }
  }
  while (j < nlen && name[j] == '*') j++;
  return j == nlen ? WASIO__NAME_BAD_WILDCARD : WASIO__NAME_NO;
}

/* The subject's CN, or NULL. */
static const mbedtls_x509_buf *wasio__cn(const mbedtls_x509_crt *crt) {
  for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next)
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) return &n->val;
  return NULL;
}

/* subjectAltName entry tags: context-specific [2] dNSName, [7] iPAddress. */
#define WASIO__SAN_TAG(t) (MBEDTLS_ASN1_CONTEXT_SPECIFIC | (t))

/* 0 if the EE certificate names the engine's host, else why not. */
static int wasio__check_name(const wasio_tls_engine_t *e, const mbedtls_x509_crt *crt) {
  bool has_san = mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_SUBJECT_ALT_NAME);
  if (e->ip_len) {
    /* An address only from an iPAddress entry; one written as a DNS name
     * (or a CN) is a certificate for a name that looks like an address. */
    bool as_text = false;
    size_t hlen = strlen(e->host);
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; has_san && s != NULL; s = s->next) {
      if (s->buf.tag == WASIO__SAN_TAG(MBEDTLS_X509_SAN_IP_ADDRESS) && s->buf.len == e->ip_len &&
          memcmp(s->buf.p, e->ip, e->ip_len) == 0)
        return 0;
      /* The address's text as a DNS name, or under a wildcard. */
      if (s->buf.tag == WASIO__SAN_TAG(MBEDTLS_X509_SAN_DNS_NAME) &&
          wasio__dns_match(e->host, hlen, (const char *)s->buf.p, s->buf.len) != WASIO__NAME_NO)
        as_text = true;
    }
    const mbedtls_x509_buf *cn = wasio__cn(crt);
    if (cn != NULL && wasio__name_eq((const char *)cn->p, cn->len, e->host, hlen)) as_text = true;
    return as_text ? WASIO_ETLS_CERT_IP : WASIO_ETLS_CERT_NAME;
  }
  if (!has_san) return WASIO_ETLS_CERT_NO_SAN; /* the CN alone names nothing */
  bool bad_wildcard = false;
  size_t hlen = strlen(e->host);
  for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
    if (s->buf.tag != WASIO__SAN_TAG(MBEDTLS_X509_SAN_DNS_NAME)) continue;
    wasio__name_t m = wasio__dns_match(e->host, hlen, (const char *)s->buf.p, s->buf.len);
    if (m == WASIO__NAME_MATCH) return 0;
    if (m == WASIO__NAME_BAD_WILDCARD) bad_wildcard = true;
  }
  return bad_wildcard ? WASIO_ETLS_CERT_WILDCARD : WASIO_ETLS_CERT_NAME;
}

/* ---- the verify callback ------------------------------------------------------------- */

static bool wasio__pins_match(const wasio_tls_config_t *cfg, const mbedtls_x509_crt *crt) {
  uint8_t spki[32], cert[32];
  if (mbedtls_sha256(crt->pk_raw.p, crt->pk_raw.len, spki, 0) != 0 ||
      mbedtls_sha256(crt->raw.p, crt->raw.len, cert, 0) != 0)
    return false;
  for (size_t i = 0; i < cfg->npins; i++) {
    const wasio__tls_pin_t *pin = &cfg->pins[i];
    const uint8_t *got = pin->kind == WASIO_TLS_PIN_SPKI ? spki : cert;
    if (memcmp(got, pin->sha256, 32) == 0) return true;
  }
  return false;
}

/* The EE is exactly a certificate the user trusts (wasio_tls_config_add_ca_pem). */
static bool wasio__user_trusts_exactly(const wasio_tls_config_t *cfg, const mbedtls_x509_crt *crt) {
  for (size_t i = 0; i < cfg->user_ta_n; i++)
    if (cfg->user_ta[i].der_len == crt->raw.len && memcmp(cfg->user_ta[i].der, crt->raw.p, crt->raw.len) == 0)
      return true;
  return false;
}

static bool wasio__self_issued(const mbedtls_x509_crt *crt) {
  return crt->issuer_raw.len == crt->subject_raw.len &&
         memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->subject_raw.len) == 0;
}

/* The chain could not be completed: why, from the certificates the peer
 * sent. mbedTLS takes as a parent only a CA certificate whose keyUsage (if
 * any) has keyCertSign; one that names the top of the chain as its subject
 * and is not so is a bad issuer, not a missing one. */
static int wasio__untrusted(const wasio__tls_verify_t *v, const mbedtls_x509_crt *ee) {
  const mbedtls_x509_crt *top = v->top ? v->top : ee;
  if (top == ee && ee->next == NULL && wasio__self_issued(ee)) return WASIO_ETLS_CERT_SELF_SIGNED;
  for (const mbedtls_x509_crt *c = ee->next; c != NULL; c = c->next)
    if (c->subject_raw.len == top->issuer_raw.len &&
        memcmp(c->subject_raw.p, top->issuer_raw.p, c->subject_raw.len) == 0 &&
        (!c->MBEDTLS_PRIVATE(ca_istrue) || mbedtls_x509_crt_check_key_usage(c, MBEDTLS_X509_KU_KEY_CERT_SIGN) != 0))
      return WASIO_ETLS_CERT_ISSUER;
  return WASIO_ETLS_CERT_UNTRUSTED;
}

/* An RSA key under the profile's minimum in the EE or the chain the peer sent. */
static bool wasio__weak_rsa(const mbedtls_x509_crt *crt) {
  for (; crt != NULL; crt = crt->next)
    if (mbedtls_pk_get_type(&crt->pk) == MBEDTLS_PK_RSA &&
        mbedtls_pk_get_bitlen(&crt->pk) < wasio__tls_profile.rsa_min_bitlen)
      return true;
  return false;
}

/* An extendedKeyUsage extension that does not list serverAuth. */
static bool wasio__eku_refuses(const mbedtls_x509_crt *crt) {
  if (!mbedtls_x509_crt_has_ext_type(crt, MBEDTLS_X509_EXT_EXTENDED_KEY_USAGE)) return false;
  for (const mbedtls_x509_sequence *s = &crt->ext_key_usage; s != NULL; s = s->next)
    if (MBEDTLS_OID_CMP(MBEDTLS_OID_SERVER_AUTH, &s->buf) == 0) return false;
  return true;
}

/* wasio's verdict on the EE, given every flag mbedTLS raised on the chain. */
static int wasio__policy(const wasio_tls_engine_t *e, const mbedtls_x509_crt *ee, uint32_t ee_flags,
                         uint32_t all) {
  const wasio_tls_config_t *cfg = e->cfg;
  if (all & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
    if (!(e->verify.top == NULL && wasio__user_trusts_exactly(cfg, ee))) return wasio__untrusted(&e->verify, ee);
    /* The user's own certificate, exactly: trusted as it is. */
    all &= ~(uint32_t)MBEDTLS_X509_BADCERT_NOT_TRUSTED;
  }
  if ((all & MBEDTLS_X509_BADCERT_BAD_KEY) && wasio__weak_rsa(ee)) return WASIO_ETLS_CERT_WEAK_KEY;
  if (all & (MBEDTLS_X509_BADCERT_BAD_KEY | MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK))
    return WASIO_ETLS_CERT_ALGORITHM;
  if (ee_flags & MBEDTLS_X509_BADCERT_FUTURE) return WASIO_ETLS_CERT_NOT_YET_VALID;
  if (all & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) return WASIO_ETLS_CERT_EXPIRED;
  if (wasio__eku_refuses(ee)) return WASIO_ETLS_CERT_USAGE;
  int name = wasio__check_name(e, ee);
  if (name) return name;
  return 0;
}

/* The flag that makes mbedTLS send the fitting alert for a verdict. */
static uint32_t wasio__alert_flag(int err) {
  switch (err) {
    case WASIO_ETLS_CERT_EXPIRED:
    case WASIO_ETLS_CERT_NOT_YET_VALID: return MBEDTLS_X509_BADCERT_EXPIRED;
    case WASIO_ETLS_CERT_UNTRUSTED:
    case WASIO_ETLS_CERT_SELF_SIGNED: return MBEDTLS_X509_BADCERT_NOT_TRUSTED;
    case WASIO_ETLS_CERT_NAME:
    case WASIO_ETLS_CERT_NO_SAN:
    case WASIO_ETLS_CERT_WILDCARD:
    case WASIO_ETLS_CERT_IP: return MBEDTLS_X509_BADCERT_CN_MISMATCH;
    case WASIO_ETLS_CERT_ALGORITHM: return MBEDTLS_X509_BADCERT_BAD_MD;
    case WASIO_ETLS_CERT_WEAK_KEY: return MBEDTLS_X509_BADCERT_BAD_KEY;
    case WASIO_ETLS_CERT_USAGE: return MBEDTLS_X509_BADCERT_EXT_KEY_USAGE;
    case WASIO_ETLS_CERT_ISSUER: return MBEDTLS_X509_BADCERT_NOT_TRUSTED;
    default: return MBEDTLS_X509_BADCERT_OTHER;
  }
}

int wasio__tls_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
  wasio_tls_engine_t *e = ctx;
  wasio__tls_verify_t *v = &e->verify;
  if (!v->ran) { /* the first call of a chain: the top */
    v->ran = true;
    v->issuer_flags = 0;
    v->top_depth = depth;
    v->top = depth > 0 ? crt : NULL;
    v->err = 0;
  }
  if (depth > 0) {
    /* Decided at the EE (depth 0), which comes last. */
    v->issuer_flags |= *flags;
    *flags = 0;
    return 0;
  }
  const wasio_tls_config_t *cfg = e->cfg;
  int err = cfg->insecure ? 0 : wasio__policy(e, crt, *flags, *flags | v->issuer_flags);
  if (crt->raw.len > WASIO_TLS_MAX_EE_CERT) err = WASIO_ETLS_CERT_INVALID; /* even under -k */
  if (err == 0 && cfg->npins && !wasio__pins_match(cfg, crt)) err = WASIO_ETLS_CERT_PIN;
  v->err = err;
  *flags = err ? wasio__alert_flag(err) : 0;
  return 0;
}

/* ---- errors ------------------------------------------------------------------------------ */

/* mbedTLS errors combine a high-level code (bits 7..15 of its magnitude)
 * and a low-level one (bits 0..6). */
static int wasio__mb_high(int err) { return -((-err) & 0xFF80); }

/* TLS alert descriptions (RFC 8446 6). */
#define WASIO__TLS_ALERT_PROTOCOL_VERSION 70
/* Record content type and handshake message type of a TLS 1.3 KeyUpdate
 * (RFC 8446 5.1, 4). */
#define WASIO__TLS_CT_HANDSHAKE 22
#define WASIO__TLS_HS_KEY_UPDATE 24

/* mbedTLS 3.6 has no KeyUpdate (Mbed-TLS/mbedtls issue 10881): it refuses
 * one as an unexpected message. Told apart here, so that the one refusal
 * that is the library's and not the peer's fault says so. The message is
 * still in the record buffer. */
static bool wasio__tls_was_key_update(const wasio_tls_engine_t *e) {
  const unsigned char *msg = e->ssl.MBEDTLS_PRIVATE(in_msg);
  return e->handshake_done && msg != NULL && e->ssl.MBEDTLS_PRIVATE(in_msgtype) == WASIO__TLS_CT_HANDSHAKE &&
         msg[0] == WASIO__TLS_HS_KEY_UPDATE;
}

int wasio__tls_map_error(const wasio_tls_engine_t *e, int err) {
  if (err == 0) return 0;
  if (e->verify.err && (err == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || err == MBEDTLS_ERR_SSL_BAD_CERTIFICATE ||
                        err == MBEDTLS_ERR_X509_FATAL_ERROR))
    return e->verify.err;
  uint32_t vr = mbedtls_ssl_get_verify_result(&e->ssl);
  switch (err) {
    case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED: return WASIO_ETLS_CERT_UNTRUSTED;
    case MBEDTLS_ERR_SSL_BAD_CERTIFICATE:
      /* mbedTLS's own checks after the callback: the key's usages, or (TLS
       * 1.2) a curve the client did not offer. */
      if (vr != (uint32_t)-1 && (vr & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE)))
        return WASIO_ETLS_CERT_USAGE;
      return WASIO_ETLS_CERT_ALGORITHM;
    case MBEDTLS_ERR_SSL_BAD_PROTOCOL_VERSION: return WASIO_ETLS_VERSION;
    case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
      /* The alert's description is still in the record buffer (no public
       * accessor in mbedTLS 3.6). */
      return e->ssl.MBEDTLS_PRIVATE(in_msg) != NULL &&
                     e->ssl.MBEDTLS_PRIVATE(in_msg)[1] == WASIO__TLS_ALERT_PROTOCOL_VERSION
                 ? WASIO_ETLS_VERSION
                 : WASIO_ETLS_ALERT;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
    case MBEDTLS_ERR_X509_ALLOC_FAILED:
    case MBEDTLS_ERR_PK_ALLOC_FAILED:
    case MBEDTLS_ERR_MPI_ALLOC_FAILED:
    case MBEDTLS_ERR_ECP_ALLOC_FAILED: return WASIO_ENOMEM;
    case MBEDTLS_ERR_SSL_CONN_EOF: return WASIO_ECONNRESET;
    case MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE: return wasio__tls_was_key_update(e) ? WASIO_ETLS_KEY_UPDATE : WASIO_ETLS;
    case MBEDTLS_ERR_X509_FATAL_ERROR:
      /* The CA callback found no memory, or the chain is too long. */
      if (e->cfg->ca_nomem) {
        e->cfg->ca_nomem = false;
        return WASIO_ENOMEM;
      }
      return WASIO_ETLS_CERT_INVALID;
    default: break;
  }
  int high = wasio__mb_high(err);
  if (high == MBEDTLS_ERR_X509_UNKNOWN_SIG_ALG || high == MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE ||
      err == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE || err == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG ||
      high == MBEDTLS_ERR_PK_UNKNOWN_NAMED_CURVE || high == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG)
    return WASIO_ETLS_CERT_ALGORITHM;
  /* X.509 parsing (-0x2080 .. -0x3000) and public keys (-0x3880 .. -0x3F80). */
  if ((high <= -0x2080 && high >= -0x3000) || (high <= -0x3880 && high >= -0x3F80)) return WASIO_ETLS_CERT_INVALID;
  return WASIO_ETLS;
}
