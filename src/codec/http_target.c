/* src/codec/http_target.c: request targets for servers (wasio/http_codec.h):
 * the four forms, percent-decoding and -encoding, RFC 3986 dot-segment
 * removal and query parameters.
 *
 * Implementation notes
 * - Nothing allocates; every writer counts the whole result even when the
 *   caller's buffer is too small, so a syntax error is reported as such
 *   whatever the capacity (WASIO_ENOBUFS only for input that is valid).
 * - The absolute-form authority is checked by wasio_url_parse() and
 *   authority-form by the same host/port checker (http_url.c), so a target
 *   and a client URL accept the same hosts.
 * - wasio_http_path_remove_dots() runs RFC 3986 5.2.4 over indices: the
 *   input buffer is in[i..len) preceded by a '/' when `slash` is set (the
 *   RFC's rules B and C replace a prefix with "/", which is how the flag
 *   arises). The output index never passes the input index, which is what
 *   makes decoding in place safe.
 */
#include <limits.h>
#include <string.h>

#include "http_internal.h"

static bool wasio__tgt_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool wasio__tgt_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Each '%' in s[0..n) starts "%XX". */
static bool wasio__tgt_escapes_ok(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') continue;
    if (n - i < 3 || wasio__http_hex((unsigned char)s[i + 1]) < 0 || wasio__http_hex((unsigned char)s[i + 2]) < 0)
      return false;
    i += 2;
  }
  return true;
}

/* Path (from s, which starts with '/' or '?' or is empty) and query. */
static int wasio__tgt_path_query(const char *s, size_t n, wasio_http_target_t *out) {
  if (!wasio__tgt_escapes_ok(s, n)) return WASIO_EURL_PERCENT;
  const char *q = memchr(s, '?', n);
  size_t plen = q != NULL ? (size_t)(q - s) : n;
  out->path = plen > 0 ? (wasio_http_str_t){s, plen} : WASIO_HTTP_STR("/");
  if (q != NULL) {
    out->has_query = true;
    out->query = (wasio_http_str_t){q + 1, n - plen - 1};
  }
  return 0;
}

int wasio_http_target_parse(wasio_http_str_t target, wasio_http_target_t *out) {
  if (out == NULL || (target.ptr == NULL && target.len > 0)) return WASIO_EINVAL;
  memset(out, 0, sizeof *out);
  const char *s = target.ptr;
  size_t n = target.len;
  if (n == 0) return WASIO_EHTTP_BAD_TARGET;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= 0x20 || c >= 0x7f || c == '#') return WASIO_EHTTP_BAD_TARGET;
  }
  if (n == 1 && s[0] == '*') {
    out->form = WASIO_HTTP_TARGET_ASTERISK;
    return 0;
  }
  if (s[0] == '/') {
    out->form = WASIO_HTTP_TARGET_ORIGIN;
    return wasio__tgt_path_query(s, n, out);
  }
  /* scheme "://" (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )) */
  size_t i = 0;
  while (i < n && (wasio__tgt_alpha((unsigned char)s[i]) ||
                   (i > 0 && (wasio__tgt_digit((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))))
    i++;
  if (i > 0 && n - i >= 3 && memcmp(s + i, "://", 3) == 0) {
    size_t e = i + 3;
    while (e < n && s[e] != '/' && s[e] != '?') e++;
    wasio_url_t u;
    int err = wasio_url_parse(s, e, &u);
    if (err) return err;
    out->form = WASIO_HTTP_TARGET_ABSOLUTE;
    out->https = u.https;
    out->port = u.port;
    out->host = u.host;
    out->authority = u.authority;
    return wasio__tgt_path_query(s + e, n - e, out);
  }
  /* authority-form: host ":" port and nothing else. */
  if (memchr(s, '/', n) != NULL || memchr(s, '?', n) != NULL || memchr(s, ':', n) == NULL)
    return WASIO_EHTTP_BAD_TARGET;
  wasio_url_t u;
  memset(&u, 0, sizeof u);
  int err = wasio__url_authority(s, n, &u);
  if (err) return err;
  if (!u.port_given) return WASIO_EURL_PORT; /* "host:" */
  out->form = WASIO_HTTP_TARGET_AUTHORITY;
  out->port = u.port;
  out->host = u.host;
  out->authority = target;
  return 0;
}

/* ---- percent-encoding ---------------------------------------------------------- */

/* The decoder without argument checks: counts the whole result, writes the
 * part that fits. out may be NULL when cap is 0. */
static int wasio__tgt_decode(const char *in, size_t len, char *out, size_t cap, unsigned flags) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    if (c == '%') {
      if (len - i < 3) return WASIO_EURL_PERCENT;
      int hi = wasio__http_hex((unsigned char)in[i + 1]), lo = wasio__http_hex((unsigned char)in[i + 2]);
      if (hi < 0 || lo < 0) return WASIO_EURL_PERCENT;
      c = (unsigned char)(hi * 16 + lo);
      i += 2;
      if (c == 0) return WASIO_EURL_NUL;
    } else if (c == 0) {
      return WASIO_EURL_NUL;
    } else if (c == '+' && (flags & WASIO_HTTP_DECODE_PLUS)) {
      c = ' ';
    }
    /* o <= i here: writing in place never overtakes the reading. */
    if (o < cap) out[o] = (char)c;
    o++;
  }
  return o > cap ? WASIO_ENOBUFS : (int)o;
}

int wasio_http_percent_decode(const char *in, size_t len, char *out, size_t cap, unsigned flags) {
  if (len == 0) return 0;
  if (in == NULL || out == NULL) return WASIO_EINVAL;
  if (len > INT_MAX) return WASIO_ELIMIT;
  return wasio__tgt_decode(in, len, out, cap, flags);
}

int wasio_http_percent_encode(const char *in, size_t len, char *out, size_t cap, unsigned flags) {
  static const char hex[] = "0123456789ABCDEF";
  if (len == 0) return 0;
  if (in == NULL || out == NULL) return WASIO_EINVAL;
  if (len > INT_MAX / 3) return WASIO_ELIMIT;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    bool keep = wasio__tgt_alpha(c) || wasio__tgt_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
                (c == '/' && !(flags & WASIO_HTTP_ENCODE_SLASH));
    if (keep) {
      if (o < cap) out[o] = (char)c;
      o++;
    } else {
      if (o + 3 <= cap) {
        out[o] = '%';
        out[o + 1] = hex[c >> 4];
        out[o + 2] = hex[c & 15];
      }
      o += 3;
    }
  }
  return o > cap ? WASIO_ENOBUFS : (int)o;
}

/* ---- dot segments ------------------------------------------------------------- */

int wasio_http_path_remove_dots(const char *in, size_t len, char *out, size_t cap, bool *above_root) {
  if (above_root != NULL) *above_root = false;
  if (len == 0) return 0;
  if (in == NULL || out == NULL) return WASIO_EINVAL;
  if (len > INT_MAX) return WASIO_ELIMIT;
  /* The result is never longer than the input, but the steps before the
   * last ".." can be: they need the room. */
  if (cap < len) return WASIO_ENOBUFS;
  bool above = false, slash = false;
  size_t i = 0, o = 0;
  while (i < len || slash) {
    const char *p = in + i;
    size_t r = len - i;
    if (!slash) {
      /* Rule A: a leading "../" or "./" goes; rule D: so does a lone "." or "..". */
      if (r >= 2 && p[0] == '.' && p[1] == '/') {
        i += 2;
        continue;
      }
      if (r >= 3 && p[0] == '.' && p[1] == '.' && p[2] == '/') {
        i += 3;
        above = true;
        continue;
      }
      if (r == 1 && p[0] == '.') break;
      if (r == 2 && p[0] == '.' && p[1] == '.') {
        above = true;
        break;
      }
      if (p[0] == '/') {
        slash = true; /* the input now starts with this '/' */
        i++;
        continue;
      }
    } else {
      /* Rule B: "/./" or a final "/." becomes "/". */
      if (r >= 2 && p[0] == '.' && p[1] == '/') {
        i += 2; /* the '/' stays virtual */
        continue;
      }
      if (r == 1 && p[0] == '.') {
        i += 1;
        continue;
      }
      /* Rule C: "/../" or a final "/.." becomes "/", and the last output
       * segment goes with its '/'. */
      bool dd_slash = r >= 3 && p[0] == '.' && p[1] == '.' && p[2] == '/';
      if (dd_slash || (r == 2 && p[0] == '.' && p[1] == '.')) {
        i += dd_slash ? 3 : 2;
        if (o == 0) above = true; /* nothing left to climb out of */
        while (o > 0 && out[o - 1] != '/') o--;
        if (o > 0) o--;
        continue;
      }
    }
    /* Rule E: move the first segment (with its leading '/') to the output. */
    size_t k = i;
    while (k < len && in[k] != '/') k++;
    if (slash) out[o++] = '/';
    memmove(out + o, in + i, k - i);
    o += k - i;
    i = k;
    slash = false;
  }
  if (above_root != NULL) *above_root = above;
  return (int)o;
}

/* ---- query parameters ------------------------------------------------------------ */

void wasio_http_query_init(wasio_http_query_iter_t *it, wasio_http_str_t query) {
  if (query.ptr == NULL) query.len = 0;
  it->wasio__rest = query;
}

int wasio_http_query_next(wasio_http_query_iter_t *it, char *buf, size_t cap, wasio_http_param_t *out) {
  if (it == NULL || out == NULL || (buf == NULL && cap > 0)) return WASIO_EINVAL;
  for (;;) {
    wasio_http_str_t rest = it->wasio__rest;
    if (rest.len == 0) return 0;
    const char *amp = memchr(rest.ptr, '&', rest.len);
    size_t plen = amp != NULL ? (size_t)(amp - rest.ptr) : rest.len;
    wasio_http_str_t next = {rest.ptr + plen + (amp != NULL), rest.len - plen - (amp != NULL)};
    if (plen == 0) {
      it->wasio__rest = next;
      continue;
    }
    if (plen > INT_MAX) return WASIO_ELIMIT;
    const char *eq = memchr(rest.ptr, '=', plen);
    size_t nlen = eq != NULL ? (size_t)(eq - rest.ptr) : plen;
    const char *v = rest.ptr + nlen + (eq != NULL);
    size_t vlen = plen - nlen - (eq != NULL);
    int rn = wasio__tgt_decode(rest.ptr, nlen, buf, cap, WASIO_HTTP_DECODE_PLUS);
    size_t used = rn >= 0 ? (size_t)rn : 0;
    char *vbuf = rn >= 0 && (size_t)rn < cap ? buf + rn : NULL; /* no arithmetic on a NULL buf */
    int rv = wasio__tgt_decode(v, vlen, vbuf, vbuf != NULL ? cap - used : 0, WASIO_HTTP_DECODE_PLUS);
    /* A malformed pair is skipped whatever the buffer; a valid one that
     * does not fit is kept for a retry with more room. */
    if (rn < 0 && rn != WASIO_ENOBUFS) {
      it->wasio__rest = next;
      return rn;
    }
    if (rv < 0 && rv != WASIO_ENOBUFS) {
      it->wasio__rest = next;
      return rv;
    }
    if (rn < 0 || rv < 0) return WASIO_ENOBUFS;
    out->name = (wasio_http_str_t){rn > 0 ? buf : "", (size_t)rn};
    out->value = (wasio_http_str_t){rv > 0 ? vbuf : "", (size_t)rv};
    out->has_value = eq != NULL;
    it->wasio__rest = next;
    return 1;
  }
}
