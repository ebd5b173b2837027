/* src/codec/http_url.c: absolute http/https URLs for the HTTP client
 * (wasio/http_codec.h): parsing, request targets, resolving a reference
 * (a Location) and the method rule of a followed redirect.
 *
 * Implementation notes
 * - A strict subset of RFC 3986: scheme "://" authority path-abempty
 *   ["?" query] ["#" fragment]. The fragment is dropped unchecked except for
 *   the rule that no URL byte may be a space, a control or non-ASCII.
 * - Host names are checked as DNS names (letters, digits, '-', '.', and
 *   '_' which exists in the wild); percent-encoded or other sub-delims
 *   hosts are refused rather than decoded: a decoded host would need a copy.
 * - IPv6 literals are validated here (RFC 4291 text form, with an optional
 *   dotted IPv4 tail); zone identifiers (RFC 6874 "%25eth0") are refused.
 *   This keeps the HTTP codec free of the address module.
 */
#include <string.h>

#include "http_internal.h"

#define WASIO__URL_PORT_MAX 65535u
#define WASIO__IPV6_GROUPS 8

static bool wasio__url_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool wasio__url_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* pchar without pct-encoded: unreserved / sub-delims / ":" / "@". */
static bool wasio__url_pchar(unsigned char c) {
  return wasio__url_alpha(c) || wasio__url_digit(c) || (c != 0 && strchr("-._~!$&'()*+,;=:@", c));
}

/* Strict dotted quad: four parts 0..255 without leading zeros. */
bool wasio__url_ipv4(const char *s, size_t n) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part > 0) {
      if (i == n || s[i] != '.') return false;
      i++;
    }
    size_t start = i;
    unsigned v = 0;
    while (i < n && wasio__url_digit((unsigned char)s[i]) && i - start < 3) v = v * 10 + (unsigned)(s[i++] - '0');
    if (i == start || v > 255 || (i - start > 1 && s[start] == '0')) return false;
  }
  return i == n;
}

bool wasio__url_ipv6(const char *s, size_t n) {
  size_t i = 0;
  int groups = 0;
  bool gap = false;
  if (n >= 2 && s[0] == ':' && s[1] == ':') {
    gap = true;
    i = 2;
  } else if (n == 0 || s[0] == ':') {
    return false;
  }
  while (i < n) {
    size_t start = i;
    while (i < n && wasio__http_hex((unsigned char)s[i]) >= 0 && i - start < 5) i++;
    if (i < n && s[i] == '.') { /* the dotted IPv4 tail */
      if (!wasio__url_ipv4(s + start, n - start)) return false;
      groups += 2;
      break;
    }
    if (i == start || i - start > 4) return false;
    groups++;
    if (i == n) break;
    if (s[i] != ':') return false;
    if (++i == n) return false; /* a trailing single ':' */
    if (s[i] == ':') {
      if (gap) return false;
      gap = true;
      i++;
    }
  }
  return gap ? groups < WASIO__IPV6_GROUPS : groups == WASIO__IPV6_GROUPS;
}

static bool wasio__url_reg_name(const char *s, size_t n) {
  if (n == 0 || n > WASIO_URL_MAX_HOST) return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!wasio__url_alpha(c) && !wasio__url_digit(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

/* Host and port of the authority [s, s+n) (no userinfo); http_internal.h. */
int wasio__url_authority(const char *s, size_t n, wasio_url_t *out) {
  size_t i;
  if (n > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (close == NULL) return WASIO_EURL_HOST;
    size_t hlen = (size_t)(close - s) - 1;
    if (!wasio__url_ipv6(s + 1, hlen)) return WASIO_EURL_HOST;
    out->host = (wasio_http_str_t){s + 1, hlen};
    out->host_is_ipv6 = true;
    i = hlen + 2;
    if (i < n && s[i] != ':') return WASIO_EURL_HOST;
  } else {
    const char *colon = memchr(s, ':', n);
    i = colon ? (size_t)(colon - s) : n;
    if (!wasio__url_reg_name(s, i)) return WASIO_EURL_HOST;
    out->host = (wasio_http_str_t){s, i};
  }
  if (i == n || i + 1 == n) return 0; /* no port, or an empty one: the default */
  unsigned port = 0;
  for (i++; i < n; i++) {
    if (!wasio__url_digit((unsigned char)s[i])) return WASIO_EURL_PORT;
    port = port * 10 + (unsigned)(s[i] - '0');
    if (port > WASIO__URL_PORT_MAX) return WASIO_EURL_PORT;
  }
  if (port == 0) return WASIO_EURL_PORT;
  out->port = (uint16_t)port;
  out->port_given = true;
  return 0;
}

/* Path and query characters; '?' is allowed only in the query. */
static int wasio__url_check_part(const char *s, size_t n, bool query) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      if (n - i < 3) return WASIO_EURL_PERCENT;
      if (wasio__http_hex((unsigned char)s[i + 1]) < 0 || wasio__http_hex((unsigned char)s[i + 2]) < 0)
        return WASIO_EURL_PERCENT;
      i += 2;
    } else if (!wasio__url_pchar(c) && c != '/' && !(query && c == '?')) {
      return WASIO_EURL_SYNTAX;
    }
  }
  return 0;
}

int wasio_url_parse(const char *url, size_t len, wasio_url_t *out) {
  if (url == NULL && len != 0) return WASIO_EINVAL;
  if (len > WASIO_URL_MAX) return WASIO_EURL_SYNTAX;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f) return WASIO_EURL_SYNTAX;
  memset(out, 0, sizeof *out);

  /* scheme ":" */
  size_t i = 0;
  while (i < len && (wasio__url_alpha((unsigned char)url[i]) ||
                     (i > 0 && (wasio__url_digit((unsigned char)url[i]) || url[i] == '+' || url[i] == '-' ||
                                url[i] == '.'))))
    i++;
  if (i == 0 || i == len || url[i] != ':') return WASIO_EURL_SCHEME;
  wasio_http_str_t scheme = {url, i};
  if (wasio__http_ieq(scheme, "https")) out->https = true;
  else if (!wasio__http_ieq(scheme, "http")) return WASIO_EURL_SCHEME;
  out->port = out->https ? 443 : 80;
  i++;
  if (len - i < 2 || url[i] != '/' || url[i + 1] != '/') return WASIO_EURL_SYNTAX;
  i += 2;

  /* authority: up to '/', '?', '#' */
  size_t a = i;
  while (i < len && url[i] != '/' && url[i] != '?' && url[i] != '#') i++;
  if (memchr(url + a, '@', i - a)) return WASIO_EURL_USERINFO;
  int err = wasio__url_authority(url + a, i - a, out);
  if (err) return err;
  out->authority = (wasio_http_str_t){url + a, i - a};
  if (i > a && url[i - 1] == ':') out->authority.len--; /* "host:" means the default port */

  /* path, query; the fragment is dropped */
  const char *hash = memchr(url + i, '#', len - i);
  size_t end = hash ? (size_t)(hash - url) : len;
  const char *q = memchr(url + i, '?', end - i);
  size_t path_end = q ? (size_t)(q - url) : end;
  if ((err = wasio__url_check_part(url + i, path_end - i, false))) return err;
  out->path = path_end > i ? (wasio_http_str_t){url + i, path_end - i} : WASIO_HTTP_STR("/");
  if (q) {
    out->has_query = true;
    out->query = (wasio_http_str_t){q + 1, end - path_end - 1};
    if ((err = wasio__url_check_part(out->query.ptr, out->query.len, true))) return err;
  }
  return 0;
}

int wasio_url_target(const wasio_url_t *url, char *buf, size_t cap) {
  size_t n = url->path.len + (url->has_query ? 1 + url->query.len : 0);
  if (n > cap || n > 0x7fffffff) return WASIO_ENOBUFS;
  memcpy(buf, url->path.ptr, url->path.len);
  if (url->has_query) {
    buf[url->path.len] = '?';
    if (url->query.len) memcpy(buf + url->path.len + 1, url->query.ptr, url->query.len);
  }
  return (int)n;
}

/* Absolute URLs, network-path ("//h/p"), absolute-path, query-only,
 * empty or fragment-only (the base with its query) and relative references
 * (merged with the base's directory), then dot segments removed from the
 * path of the result. */
int wasio_url_resolve(const char *base, const wasio_url_t *base_url, wasio_http_str_t ref, char *buf,
                      size_t cap) {
  const char *r = ref.ptr;
  size_t rl = ref.len;
  size_t scheme_end = 0;
  while (scheme_end < rl && r[scheme_end] != ':' && r[scheme_end] != '/' && r[scheme_end] != '?' &&
         r[scheme_end] != '#')
    scheme_end++;
  bool absolute = scheme_end > 0 && scheme_end < rl && r[scheme_end] == ':';
  const char *pre = "";
  size_t pre_len = 0;
  const char *mid = "";
  size_t mid_len = 0;
  bool base_query = false; /* an empty or fragment-only reference keeps it */
  if (absolute) {
    /* as is */
  } else if (rl >= 2 && r[0] == '/' && r[1] == '/') {
    pre = base_url->https ? "https:" : "http:";
    pre_len = strlen(pre);
  } else {
    /* scheme://authority, from the base text up to its path */
    pre = base;
    pre_len = (size_t)(base_url->authority.ptr + base_url->authority.len - base);
    if (rl == 0 || r[0] == '?' || r[0] == '#') {
      mid = base_url->path.ptr;
      mid_len = base_url->path.len;
      base_query = (rl == 0 || r[0] == '#') && base_url->has_query;
    } else if (r[0] != '/') {
      /* the base path up to and including its last '/' */
      mid = base_url->path.ptr;
      mid_len = base_url->path.len;
      while (mid_len > 0 && mid[mid_len - 1] != '/') mid_len--;
      if (mid_len == 0) {
        mid = "/";
        mid_len = 1;
      }
    }
  }
  size_t q_len = base_query ? 1 + base_url->query.len : 0;
  size_t total = pre_len + mid_len + q_len + rl;
  if (total > WASIO_URL_MAX) return WASIO_EURL_SYNTAX;
  if (cap < total + 1) return WASIO_ENOBUFS;
  char *s = buf;
  memcpy(s, pre, pre_len);
  memcpy(s + pre_len, mid, mid_len);
  if (base_query) {
    s[pre_len + mid_len] = '?';
    if (base_url->query.len) memcpy(s + pre_len + mid_len + 1, base_url->query.ptr, base_url->query.len);
  }
  if (rl) memcpy(s + pre_len + mid_len + q_len, r, rl);
  s[total] = 0;
  /* The path of the result: from the first '/' after "scheme://authority"
   * up to '?' or '#'. */
  char *auth = strstr(s, "//");
  char *path = auth ? auth + 2 + strcspn(auth + 2, "/?#") : NULL;
  if (path != NULL && *path == '/') {
    size_t plen = strcspn(path, "?#");
    /* RFC 3986 5.2.4, in place (never longer): the one implementation,
     * which servers use too (src/codec/http_target.c). */
    int dots = wasio_http_path_remove_dots(path, plen, path, plen, NULL);
    size_t nlen = dots < 0 ? plen : (size_t)dots;
    if (nlen == 0) path[nlen++] = '/';
    memmove(path + nlen, path + plen, strlen(path + plen) + 1);
  }
  return (int)strlen(s);
}

wasio_http_redirect_t wasio_http_redirect_method(int status, wasio_http_str_t method) {
  bool post = method.len == 4 && memcmp(method.ptr, "POST", 4) == 0;
  bool head = method.len == 4 && memcmp(method.ptr, "HEAD", 4) == 0;
  switch (status) {
    case 301:
    case 302:
      return post ? WASIO_HTTP_REDIRECT_GET : WASIO_HTTP_REDIRECT_SAME;
    case 303:
      return head ? WASIO_HTTP_REDIRECT_SAME : WASIO_HTTP_REDIRECT_GET;
    case 307:
    case 308:
      return WASIO_HTTP_REDIRECT_SAME;
    default:
      return WASIO_HTTP_REDIRECT_NONE;
  }
}
