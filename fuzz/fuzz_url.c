/* fuzz/fuzz_url.c: the URL parser and the reference resolver.
 *
 * The parser: the views stay inside the input, the parts are well formed,
 * and the URL rebuilt from its parts ("http[s]://" authority target) parses
 * to the same parts.
 *
 * The resolver (wasio_url_resolve): the input is "BASE\nREFERENCE" (no
 * newline: the RFC 3986 example base and the whole input as the reference).
 * Each call gets an exact-size output buffer of the documented bound, so
 * writing past it is an ASan error. Invariants: the result is never longer
 * than strlen(base) + ref.len + 1 and is NUL-terminated at its length; a
 * buffer one byte short of the result is refused (WASIO_ENOBUFS), never
 * overrun; only WASIO_EURL_SYNTAX past WASIO_URL_MAX fails otherwise; a
 * reference relative to the base with URL characters only gives a result
 * that parses, with the base's scheme, host and port; an absolute http(s)
 * reference gives a result that parses to its scheme, host and port,
 * whatever the base; the empty reference gives the base (its origin and
 * query); and resolving is idempotent: a result that parses,
 * resolved again against the base (or against itself), is unchanged. */
#include <stdbool.h>

#include "fuzz_common.h"

static const char fuzz_default_base[] = "http://a/b/c/d;p?q";

static bool fuzz_hex(unsigned char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* A reference relative to its base (no scheme, not "//"), with characters
 * a URL may hold: visible ASCII; before '#': pchar, '/', '?' and '%' with
 * two hex digits (the parser's rules; after '#' anything visible). */
static bool fuzz_relative_ok(const char *r, size_t n) {
  if (n >= 2 && r[0] == '/' && r[1] == '/') return false;
  size_t colon = 0;
  while (colon < n && r[colon] != ':' && r[colon] != '/' && r[colon] != '?' && r[colon] != '#') colon++;
  if (colon > 0 && colon < n && r[colon] == ':') return false; /* a scheme */
  bool fragment = false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)r[i];
    if (c <= 0x20 || c >= 0x7f) return false;
    if (fragment) continue;
    if (c == '#') {
      fragment = true;
    } else if (c == '%') {
      if (n - i < 3 || !fuzz_hex((unsigned char)r[i + 1]) || !fuzz_hex((unsigned char)r[i + 2])) return false;
      i += 2;
    } else if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && !(c >= '0' && c <= '9') &&
               strchr("-._~!$&'()*+,;=:@/?", c) == NULL) {
      return false;
    }
  }
  return true;
}

/* Resolves ref against base (a C string that parses as bu) into an
 * exact-size buffer of the documented bound; returns a malloc'd copy of
 * the result (NULL when it failed) and checks the bound. */
static char *fuzz_resolve(const char *base, const wasio_url_t *bu, const char *ref, size_t rn, int *rc_out) {
  size_t bound = strlen(base) + rn + 1;
  char *out = malloc(bound + 1);
  int rc = wasio_url_resolve(base, bu, (wasio_http_str_t){ref, rn}, out, bound + 1);
  *rc_out = rc;
  if (rc < 0) {
    FUZZ_CHECK(rc == WASIO_EURL_SYNTAX);
    free(out);
    return NULL;
  }
  FUZZ_CHECK((size_t)rc <= bound && out[rc] == '\0' && strlen(out) == (size_t)rc);
  /* One byte short of the result and its NUL: refused, nothing written past. */
  char *small = malloc((size_t)rc ? (size_t)rc : 1);
  FUZZ_CHECK(wasio_url_resolve(base, bu, (wasio_http_str_t){ref, rn}, small, (size_t)rc) == WASIO_ENOBUFS);
  free(small);
  return out;
}

static bool fuzz_same_origin(const wasio_url_t *a, const wasio_url_t *b) {
  return a->https == b->https && a->port == b->port && a->host.len == b->host.len &&
         memcmp(a->host.ptr, b->host.ptr, a->host.len) == 0;
}

static void fuzz_resolver(const char *in, size_t size) {
  const char *nl = memchr(in, '\n', size);
  const char *base_in = nl ? in : fuzz_default_base;
  size_t bn = nl ? (size_t)(nl - in) : sizeof fuzz_default_base - 1;
  const char *ref_in = nl ? nl + 1 : in;
  size_t rn = nl ? size - bn - 1 : size;
  char *base = malloc(bn + 1); /* the base is a C string */
  memcpy(base, base_in, bn);
  base[bn] = 0;
  char *ref = malloc(rn ? rn : 1); /* the reference is not */
  memcpy(ref, ref_in, rn);
  wasio_url_t bu, ru, res, again_u;
  if (wasio_url_parse(base, bn, &bu) != 0) goto out;
  int rc;
  char *r = fuzz_resolve(base, &bu, ref, rn, &rc);
  if (r == NULL) {
    FUZZ_CHECK(bn + 1 + rn > WASIO_URL_MAX); /* only too long fails */
    goto out;
  }
  bool parses = wasio_url_parse(r, (size_t)rc, &res) == 0;
  bool absolute = wasio_url_parse(ref, rn, &ru) == 0;
  if (absolute) {
    /* An absolute http(s) reference: its own origin, whatever the base. */
    FUZZ_CHECK(parses && fuzz_same_origin(&res, &ru));
    static const char other[] = "https://other.example:8443/x/y?z";
    wasio_url_t ou;
    FUZZ_CHECK(wasio_url_parse(other, sizeof other - 1, &ou) == 0);
    int orc;
    char *o = fuzz_resolve(other, &ou, ref, rn, &orc);
    FUZZ_CHECK(o != NULL && orc == rc && memcmp(o, r, (size_t)rc) == 0);
    free(o);
  } else if (fuzz_relative_ok(ref, rn)) {
    FUZZ_CHECK(parses && fuzz_same_origin(&res, &bu));
  }
  {
    /* The empty reference is the base itself (RFC 3986 5.2.2): same
     * origin, same query. */
    int erc;
    char *e = fuzz_resolve(base, &bu, "", 0, &erc);
    wasio_url_t eu;
    FUZZ_CHECK(e != NULL && wasio_url_parse(e, (size_t)erc, &eu) == 0 && fuzz_same_origin(&eu, &bu));
    FUZZ_CHECK(eu.has_query == bu.has_query && eu.query.len == bu.query.len &&
               (bu.query.len == 0 || memcmp(eu.query.ptr, bu.query.ptr, bu.query.len) == 0));
    free(e);
  }
  if (parses) {
    /* Idempotent: the result, as a reference to the base and to itself. */
    int arc;
    char *again = fuzz_resolve(base, &bu, r, (size_t)rc, &arc);
    FUZZ_CHECK(again != NULL && arc == rc && memcmp(again, r, (size_t)rc) == 0);
    free(again);
    FUZZ_CHECK(wasio_url_parse(r, (size_t)rc, &again_u) == 0);
    again = fuzz_resolve(r, &again_u, r, (size_t)rc, &arc);
    FUZZ_CHECK(again != NULL && arc == rc && memcmp(again, r, (size_t)rc) == 0);
    free(again);
  }
  free(r);
out:
  free(ref);
  free(base);
}

static void fuzz_parser(const char *in, size_t size) {
  wasio_url_t u, v;
  int rc = wasio_url_parse(in, size, &u);
  if (rc != 0) {
    FUZZ_CHECK(rc < 0);
    return;
  }
  FUZZ_CHECK(u.host.len > 0 && fuzz_inside(u.host, in, size));
  FUZZ_CHECK(fuzz_inside(u.authority, in, size) && u.authority.len >= u.host.len);
  FUZZ_CHECK(u.port != 0);
  FUZZ_CHECK(u.path.len > 0 && u.path.ptr[0] == '/');
  FUZZ_CHECK(!u.has_query || fuzz_inside(u.query, in, size));
  size_t cap = size + 16;
  char *buf = malloc(cap);
  int t = wasio_url_target(&u, buf, cap);
  FUZZ_CHECK(t > 0 && (size_t)t <= size + 1);
  for (int i = 0; i < t; i++) FUZZ_CHECK((unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f && buf[i] != '#');

  /* Rebuild and reparse. */
  char *r = malloc(size + 32);
  size_t n = (size_t)snprintf(r, size + 32, "%s://%.*s", u.https ? "https" : "http", (int)u.authority.len, u.authority.ptr);
  memcpy(r + n, buf, (size_t)t);
  n += (size_t)t;
  FUZZ_CHECK(wasio_url_parse(r, n, &v) == 0);
  FUZZ_CHECK(v.https == u.https && v.port == u.port && v.host_is_ipv6 == u.host_is_ipv6);
  FUZZ_CHECK(v.host.len == u.host.len && memcmp(v.host.ptr, u.host.ptr, u.host.len) == 0);
  FUZZ_CHECK(v.path.len == u.path.len && memcmp(v.path.ptr, u.path.ptr, u.path.len) == 0);
  FUZZ_CHECK(v.has_query == u.has_query && v.query.len == u.query.len);
  free(r);
  free(buf);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  fuzz_parser((const char *)data, size);
  fuzz_resolver((const char *)data, size);
  return 0;
}
