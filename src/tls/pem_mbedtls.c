/* src/tls/pem_mbedtls.c: PEM text -> DER objects (RFC 7468), for user CA
 * bundles, server certificate chains and keys. The lines are split here;
 * mbedTLS's base64 decoder decodes each block.
 *
 * Text outside BEGIN/END lines is ignored (bundles carry comments); a block
 * must end with the END line of its own label, hold only base64 (no RFC 1421
 * headers: an encrypted key is refused) and decode to at most
 * WASIO__TLS_PEM_OBJECT_MAX bytes. */
#include <string.h>

#include "mbedtls/base64.h"
#include "mbedtls_internal.h"

/* Largest DER object accepted from PEM (a certificate or a key); more is
 * WASIO_ELIMIT rather than unbounded growth. */
#define WASIO__TLS_PEM_OBJECT_MAX 65536
/* Base64 characters of such an object. */
#define WASIO__TLS_PEM_B64_MAX ((WASIO__TLS_PEM_OBJECT_MAX + 2) / 3 * 4)
#define WASIO__TLS_PEM_NAME_MAX 128

static const char wasio__pem_begin[] = "-----BEGIN ";
static const char wasio__pem_end[] = "-----END ";
static const char wasio__pem_dashes[] = "-----";

/* Whether [s, s+n) is "PREFIX LABEL-----"; *label and *label_len then
 * point at the label. */
static bool wasio__pem_marker(const char *s, size_t n, const char *prefix, const char **label, size_t *label_len) {
  size_t p = strlen(prefix), d = sizeof wasio__pem_dashes - 1;
  if (n < p + d || memcmp(s, prefix, p) != 0 || memcmp(s + n - d, wasio__pem_dashes, d) != 0) return false;
  *label = s + p;
  *label_len = n - p - d;
  return true;
}

static bool wasio__b64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
         c == '=';
}

int wasio__tls_pem_each(const void *pem, size_t len, wasio__tls_pem_cb cb, void *arg) {
  const char *p = pem, *end = p + len;
  char name[WASIO__TLS_PEM_NAME_MAX + 1];
  char *b64 = NULL;
  uint8_t *der = NULL;
  size_t b64_len = 0, b64_cap = 0, der_cap = 0;
  bool inside = false;
  int count = 0, rc = 0;
  while (p < end && rc == 0) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *line = p;
    size_t n = (size_t)((nl ? nl : end) - p);
    p = nl ? nl + 1 : end;
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    const char *label;
    size_t label_len;
    if (!inside) {
      if (!wasio__pem_marker(line, n, wasio__pem_begin, &label, &label_len)) continue;
      if (label_len == 0 || label_len > WASIO__TLS_PEM_NAME_MAX) {
        rc = WASIO_ETLS_PEM;
        break;
      }
      memcpy(name, label, label_len);
      name[label_len] = 0;
      b64_len = 0;
      inside = true;
      continue;
    }
    if (wasio__pem_marker(line, n, wasio__pem_end, &label, &label_len)) {
      inside = false;
      if (label_len != strlen(name) || memcmp(label, name, label_len) != 0) {
        rc = WASIO_ETLS_PEM; /* BEGIN X ... END Y */
        break;
      }
      size_t der_len = 0;
      if (der != NULL) memset(der, 0, der_cap);
      wasio__free(der);
      der_cap = b64_len / 4 * 3 + 1;
      der = wasio__malloc(der_cap);
      if (der == NULL) {
        rc = WASIO_ENOMEM;
        break;
      }
      if (b64_len == 0 ||
          mbedtls_base64_decode(der, der_cap, &der_len, (const unsigned char *)b64, b64_len) != 0 ||
          der_len == 0) {
        rc = WASIO_ETLS_PEM;
        break;
      }
      count++;
      rc = cb(arg, name, der, der_len);
      continue;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
      char c = line[i];
      if (c == ' ' || c == '\t') continue;
      if (!wasio__b64_char(c)) {
        rc = WASIO_ETLS_PEM; /* a header (an encrypted key) or garbage */
      } else if (b64_len == WASIO__TLS_PEM_B64_MAX) {
        rc = WASIO_ELIMIT;
      } else {
        if (b64_len == b64_cap) {
          size_t cap = b64_cap ? b64_cap * 2 : 2048;
          if (cap > WASIO__TLS_PEM_B64_MAX) cap = WASIO__TLS_PEM_B64_MAX;
          char *nb = wasio__realloc(b64, cap);
          if (nb == NULL) {
            rc = WASIO_ENOMEM;
            break;
          }
          b64 = nb;
          b64_cap = cap;
        }
        b64[b64_len++] = c;
      }
    }
  }
  /* A key passes through both buffers: wipe them. */
  if (der != NULL) memset(der, 0, der_cap);
  if (b64 != NULL) memset(b64, 0, b64_cap);
  wasio__free(der);
  wasio__free(b64);
  if (rc != 0) return rc;
  if (inside) return WASIO_ETLS_PEM; /* BEGIN without END */
  return count;
}
