/* src/tls/x509.c: certificate verification = br_x509_minimal + wasio's checks.
 *
 * Implementation notes
 * - The wrapper is a br_x509_class of its own whose methods forward to a
 *   br_x509_minimal_context, so BearSSL does the chain building, signature
 *   checks, validity period, basic constraints, key usage and DNS-name
 *   matching (dNSName in subjectAltName, else the CN; "*." wildcards only
 *   as the whole first label).
 * - It keeps a copy of the end-entity (EE) certificate, at most
 *   WASIO_TLS_MAX_EE_CERT bytes, for what BearSSL 0.6 does not do:
 *   * IP addresses: BearSSL's matcher skips iPAddress SAN entries and would
 *     compare an IP literal as text against dNSName/CN, which RFC 6125
 *     forbids; so an IP host is never given to BearSSL (no SNI either, as RFC
 *     6066 wants) and this file compares it with the iPAddress entries.
 *   * pins (SHA-256 of the SubjectPublicKeyInfo or of the certificate);
 *   * "not yet valid" vs "expired" and "self-signed" vs "unknown issuer",
 *     which BearSSL reports as one code each (BR_ERR_X509_EXPIRED,
 *     BR_ERR_X509_NOT_TRUSTED);
 *   * insecure mode, where the EE key comes from br_x509_decoder.
 * - The DER reader below reads only the fields it needs from a certificate
 *   that BearSSL has already parsed, and still bounds every step.
 */
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

/* ---- a bounded DER reader ------------------------------------------------------ */

typedef struct {
  unsigned tag;
  const uint8_t *tlv;   /* start of the whole element */
  const uint8_t *val;   /* its contents */
  size_t len, tlv_len;
} wasio__der_t;

/* Reads the element at *p (before end) and advances *p past it. Only the
 * definite, short-tag forms DER allows. */
static bool wasio__der_next(const uint8_t **p, const uint8_t *end, wasio__der_t *out) {
  const uint8_t *q = *p;
  if (end - q < 2) return false;
  out->tlv = q;
  out->tag = *q++;
  if ((out->tag & 0x1f) == 0x1f) return false;
  size_t len = *q++;
  if (len & 0x80) {
    size_t k = len & 0x7f;
    if (k == 0 || k > 3 || (size_t)(end - q) < k) return false;
    len = 0;
    while (k--) len = (len << 8) | *q++;
  }
  if ((size_t)(end - q) < len) return false;
  out->val = q;
  out->len = len;
  out->tlv_len = (size_t)(q + len - out->tlv);
  *p = q + len;
  return true;
}

/* The parts of a certificate the checks need. */
typedef struct {
  wasio__der_t issuer, validity, subject, spki, exts;
  bool has_exts;
} wasio__cert_view_t;

static bool wasio__cert_view(const uint8_t *der, size_t len, wasio__cert_view_t *v) {
  memset(v, 0, sizeof *v);
  const uint8_t *p = der, *end = der + len;
  wasio__der_t cert, tbs, e;
  if (!wasio__der_next(&p, end, &cert) || cert.tag != 0x30) return false;
  p = cert.val;
  if (!wasio__der_next(&p, cert.val + cert.len, &tbs) || tbs.tag != 0x30) return false;
  p = tbs.val;
  end = tbs.val + tbs.len;
  if (!wasio__der_next(&p, end, &e)) return false;
  if (e.tag == 0xa0 && !wasio__der_next(&p, end, &e)) return false; /* [0] version, then serial */
  if (!wasio__der_next(&p, end, &e)) return false;                  /* signature algorithm */
  if (!wasio__der_next(&p, end, &v->issuer) || v->issuer.tag != 0x30) return false;
  if (!wasio__der_next(&p, end, &v->validity) || v->validity.tag != 0x30) return false;
  if (!wasio__der_next(&p, end, &v->subject) || v->subject.tag != 0x30) return false;
  if (!wasio__der_next(&p, end, &v->spki) || v->spki.tag != 0x30) return false;
  while (p < end) { /* issuerUniqueID [1], subjectUniqueID [2], extensions [3] */
    if (!wasio__der_next(&p, end, &e)) return false;
    if (e.tag == 0xa3) {
      const uint8_t *q = e.val;
      if (!wasio__der_next(&q, e.val + e.len, &v->exts) || v->exts.tag != 0x30) return false;
      v->has_exts = true;
    }
  }
  return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * well-known days_from_civil formula, written out here). */
static int64_t wasio__days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static bool wasio__digits(const uint8_t *s, size_t n, unsigned *out) {
  unsigned v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ), the only
 * forms RFC 5280 allows, -> Unix seconds. */
static bool wasio__x509_time(const wasio__der_t *t, int64_t *out) {
  unsigned y, mo, d, h, mi, s;
  const uint8_t *v = t->val;
  if (t->tag == 0x17 && t->len == 13) {
    if (!wasio__digits(v, 2, &y)) return false;
    y += y >= 50 ? 1900 : 2000;
    v += 2;
  } else if (t->tag == 0x18 && t->len == 15) {
    if (!wasio__digits(v, 4, &y)) return false;
    v += 4;
  } else {
    return false;
  }
  if (!wasio__digits(v, 2, &mo) || !wasio__digits(v + 2, 2, &d) || !wasio__digits(v + 4, 2, &h) ||
      !wasio__digits(v + 6, 2, &mi) || !wasio__digits(v + 8, 2, &s) || v[10] != 'Z')
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  *out = wasio__days_from_civil(y, mo, d) * WASIO__TLS_SECONDS_PER_DAY + h * 3600 + mi * 60 + s;
  return true;
}

/* True if the EE's subjectAltName has an iPAddress equal to ip. */
static bool wasio__san_has_ip(const wasio__cert_view_t *v, const uint8_t *ip, size_t ip_len) {
  static const uint8_t oid_san[] = {0x55, 0x1d, 0x11}; /* 2.5.29.17 */
  if (!v->has_exts) return false;
  const uint8_t *p = v->exts.val, *end = v->exts.val + v->exts.len;
  wasio__der_t ext, e;
  while (p < end) {
    if (!wasio__der_next(&p, end, &ext) || ext.tag != 0x30) return false;
    const uint8_t *q = ext.val, *qend = ext.val + ext.len;
    if (!wasio__der_next(&q, qend, &e) || e.tag != 0x06) return false;
    if (e.len != sizeof oid_san || memcmp(e.val, oid_san, sizeof oid_san) != 0) continue;
    if (!wasio__der_next(&q, qend, &e)) return false;
    if (e.tag == 0x01 && !wasio__der_next(&q, qend, &e)) return false; /* critical */
    if (e.tag != 0x04) return false;
    const uint8_t *r = e.val;
    wasio__der_t names, gn;
    if (!wasio__der_next(&r, e.val + e.len, &names) || names.tag != 0x30) return false;
    r = names.val;
    while (r < names.val + names.len) {
      if (!wasio__der_next(&r, names.val + names.len, &gn)) return false;
      if (gn.tag == 0x87 && gn.len == ip_len && memcmp(gn.val, ip, ip_len) == 0) return true;
    }
    return false;
  }
  return false;
}

/* ---- the wrapper's br_x509_class methods -------------------------------------- */

static wasio__tls_x509_t *wasio__x(const br_x509_class *const *ctx) {
  return (wasio__tls_x509_t *)(void *)ctx;
}

static void wasio__xw_start_chain(const br_x509_class **ctx, const char *server_name) {
  wasio__tls_x509_t *x = wasio__x(ctx);
  x->certs = 0;
  x->ee_len = 0;
  x->ee_too_big = false;
  x->ee_nomem = false;
  x->err = 0;
  /* An IP host is checked here, never by BearSSL's text matcher. */
  const char *name = x->ip_len ? NULL : server_name;
  x->minimal.vtable->start_chain(&x->minimal.vtable, name);
}

static void wasio__xw_start_cert(const br_x509_class **ctx, uint32_t length) {
  wasio__tls_x509_t *x = wasio__x(ctx);
  if (x->certs == 0) {
    if (length > WASIO_TLS_MAX_EE_CERT) {
      x->ee_too_big = true;
    } else if (length > x->ee_cap) {
      uint8_t *p = wasio__realloc(x->ee, length);
      if (p == NULL) {
        x->ee_too_big = true;
        x->ee_nomem = true;
      } else {
        x->ee = p;
        x->ee_cap = length;
      }
    }
  }
  x->minimal.vtable->start_cert(&x->minimal.vtable, length);
}

static void wasio__xw_append(const br_x509_class **ctx, const unsigned char *buf, size_t len) {
  wasio__tls_x509_t *x = wasio__x(ctx);
  if (x->certs == 0 && !x->ee_too_big) {
    if (len > x->ee_cap - x->ee_len) x->ee_too_big = true;
    else {
      memcpy(x->ee + x->ee_len, buf, len);
      x->ee_len += len;
    }
  }
  x->minimal.vtable->append(&x->minimal.vtable, buf, len);
}

static void wasio__xw_end_cert(const br_x509_class **ctx) {
  wasio__tls_x509_t *x = wasio__x(ctx);
  x->certs++;
  x->minimal.vtable->end_cert(&x->minimal.vtable);
}

static bool wasio__pins_match(const wasio__tls_x509_t *x, const wasio__cert_view_t *v) {
  uint8_t spki[32], cert[32];
  br_sha256_context h;
  br_sha256_init(&h);
  br_sha256_update(&h, v->spki.tlv, v->spki.tlv_len);
  br_sha256_out(&h, spki);
  br_sha256_init(&h);
  br_sha256_update(&h, x->ee, x->ee_len);
  br_sha256_out(&h, cert);
  for (size_t i = 0; i < x->cfg->npins; i++) {
    const wasio__tls_pin_t *pin = &x->cfg->pins[i];
    const uint8_t *got = pin->kind == WASIO_TLS_PIN_SPKI ? spki : cert;
    if (memcmp(got, pin->sha256, 32) == 0) return true;
  }
  return false;
}

/* Returns 0 (not BR_ERR_X509_OK, which is 32) or a BR_ERR_X509_* code, as
 * br_x509_minimal's end_chain does. */
static unsigned wasio__xw_end_chain(const br_x509_class **ctx) {
  wasio__tls_x509_t *x = wasio__x(ctx);
  unsigned err = x->minimal.vtable->end_chain(&x->minimal.vtable);
  wasio__cert_view_t v;
  bool have_ee = x->certs > 0 && !x->ee_too_big && wasio__cert_view(x->ee, x->ee_len, &v);
  bool need_ee = x->cfg->insecure || x->ip_len || x->cfg->npins;
  if (need_ee && !have_ee) {
    /* Out of memory for the copy is no fault of the certificate. */
    x->err = x->ee_nomem ? WASIO_ENOMEM : WASIO_ETLS_CERT_INVALID;
    return BR_ERR_X509_LIMIT_EXCEEDED;
  }
  if (x->cfg->insecure) {
    /* No chain, time or name check: take the EE key as it is. */
    br_x509_decoder_init(&x->dec, NULL, NULL);
    br_x509_decoder_push(&x->dec, x->ee, x->ee_len);
    x->dec_ok = br_x509_decoder_get_pkey(&x->dec) != NULL;
    err = x->dec_ok ? 0 : (unsigned)br_x509_decoder_last_error(&x->dec);
    if (err) x->err = WASIO_ETLS_CERT_INVALID;
  } else if (err == 0 && x->ip_len && !wasio__san_has_ip(&v, x->ip, x->ip_len)) {
    err = BR_ERR_X509_BAD_SERVER_NAME;
    x->err = WASIO_ETLS_CERT_NAME;
  } else if (err == BR_ERR_X509_EXPIRED && have_ee) {
    /* Which side of the EE's validity are we on? (An intermediate out of
     * its period, with the EE in it, reads as expired.) */
    wasio__der_t nb, na;
    const uint8_t *p = v.validity.val, *end = v.validity.val + v.validity.len;
    int64_t t_nb;
    uint64_t now;
    uint32_t ns;
    wasio_wall_clock(&now, &ns);
    if (wasio__der_next(&p, end, &nb) && wasio__der_next(&p, end, &na) && wasio__x509_time(&nb, &t_nb) &&
        (int64_t)now < t_nb)
      x->err = WASIO_ETLS_CERT_NOT_YET_VALID;
    else
      x->err = WASIO_ETLS_CERT_EXPIRED;
  } else if (err == BR_ERR_X509_NOT_TRUSTED && have_ee && x->certs == 1 &&
             v.issuer.tlv_len == v.subject.tlv_len &&
             memcmp(v.issuer.tlv, v.subject.tlv, v.subject.tlv_len) == 0) {
    x->err = WASIO_ETLS_CERT_SELF_SIGNED;
  }
  if (err == 0 && x->cfg->npins && !wasio__pins_match(x, &v)) {
    err = BR_ERR_X509_NOT_TRUSTED;
    x->err = WASIO_ETLS_CERT_PIN;
  }
  return err;
}

static const br_x509_pkey *wasio__xw_get_pkey(const br_x509_class *const *ctx, unsigned *usages) {
  wasio__tls_x509_t *x = wasio__x(ctx);
  if (x->cfg->insecure) {
    if (!x->dec_ok) return NULL;
    if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
    return &x->dec.pkey;
  }
  return x->minimal.vtable->get_pkey(&x->minimal.vtable, usages);
}

static const br_x509_class wasio__xw_vtable = {
  sizeof(wasio__tls_x509_t),
  wasio__xw_start_chain,
  wasio__xw_start_cert,
  wasio__xw_append,
  wasio__xw_end_cert,
  wasio__xw_end_chain,
  wasio__xw_get_pkey,
};

void wasio__tls_x509_init(wasio__tls_x509_t *x, const wasio_tls_config_t *cfg, const uint8_t *ip,
                          size_t ip_len) {
  x->vtable = &wasio__xw_vtable;
  x->cfg = cfg;
  x->ip_len = ip_len;
  if (ip_len) memcpy(x->ip, ip, ip_len);
  /* SHA-1 and MD5 signatures are refused: without a hash implementation
   * BearSSL fails such a certificate with BR_ERR_X509_UNSUPPORTED. */
  br_x509_minimal_set_hash(&x->minimal, br_md5_ID, NULL);
  br_x509_minimal_set_hash(&x->minimal, br_sha1_ID, NULL);
  /* Validity is checked against the wall clock (wasi:clocks/wall-clock). */
  uint64_t s;
  uint32_t ns;
  wasio_wall_clock(&s, &ns);
  br_x509_minimal_set_time(&x->minimal, (uint32_t)(s / WASIO__TLS_SECONDS_PER_DAY) + WASIO__TLS_UNIX_EPOCH_DAYS,
                           (uint32_t)(s % WASIO__TLS_SECONDS_PER_DAY));
}

void wasio__tls_x509_release(wasio__tls_x509_t *x) {
  wasio__free(x->ee);
  x->ee = NULL;
  x->ee_cap = x->ee_len = 0;
}

int wasio__tls_map_error(const wasio__tls_x509_t *x, int br_err) {
  if (br_err == BR_ERR_OK) return 0;
  if (br_err >= BR_ERR_X509_OK && br_err <= BR_ERR_X509_NOT_TRUSTED && x->err) return x->err;
  switch (br_err) {
  case BR_ERR_X509_EXPIRED: return WASIO_ETLS_CERT_EXPIRED;
  case BR_ERR_X509_NOT_TRUSTED: return WASIO_ETLS_CERT_UNTRUSTED;
  case BR_ERR_X509_BAD_SERVER_NAME: return WASIO_ETLS_CERT_NAME;
  case BR_ERR_X509_UNSUPPORTED:
  case BR_ERR_X509_WEAK_PUBLIC_KEY: return WASIO_ETLS_CERT_ALGORITHM;
  case BR_ERR_UNSUPPORTED_VERSION:
  case BR_ERR_BAD_VERSION: return WASIO_ETLS_VERSION;
  default: break;
  }
  if (br_err >= BR_ERR_X509_OK && br_err <= BR_ERR_X509_NOT_TRUSTED) return WASIO_ETLS_CERT_INVALID;
  if (br_err >= BR_ERR_RECV_FATAL_ALERT && br_err < BR_ERR_SEND_FATAL_ALERT) {
    /* alert 70: protocol_version (RFC 5246 7.2.2) */
    return br_err - BR_ERR_RECV_FATAL_ALERT == 70 ? WASIO_ETLS_VERSION : WASIO_ETLS_ALERT;
  }
  return WASIO_ETLS;
}
