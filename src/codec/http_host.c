/* src/codec/http_host.c: the Host field and the authority of a request
 * (RFC 9112 section 3.2; wasio/http_codec.h).
 *
 * Implementation notes
 * - The Host grammar is RFC 3986's uri-host [ ":" port ] as RFC 9110
 *   section 7.2 uses it: IP-literal / IPv4address / reg-name, reg-name
 *   being any run of unreserved, pct-encoded and sub-delims bytes (empty
 *   allowed: a client sends an empty Host when the target has no
 *   authority). The only addition is a port range of 0..65535: more digits
 *   cannot name a TCP port. IPvFuture literals ("[v1.x]") are refused: no
 *   peer of HTTP/1.1 sends them, and nothing here could use one.
 * - The IPv4 and IPv6 validators are the URL parser's (http_url.c), so a
 *   Host and a URL agree on what an address literal is.
 */
#include <string.h>

#include "http_internal.h"

#define WASIO__HOST_PORT_MAX 65535u

static bool wasio__host_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

static bool wasio__host_sub_delim(unsigned char c) { return c != 0 && strchr("!$&'()*+,;=", c) != NULL; }

/* reg-name = *( unreserved / pct-encoded / sub-delims ) */
static bool wasio__host_reg_name(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '%') {
      if (n - i < 3 || wasio__http_hex((unsigned char)s[i + 1]) < 0 || wasio__http_hex((unsigned char)s[i + 2]) < 0)
        return false;
      i += 2;
    } else if (!wasio__host_unreserved(c) && !wasio__host_sub_delim(c)) {
      return false;
    }
  }
  return true;
}

/* uri-host [ ":" port ]; *host_len gets the length of uri-host. */
static bool wasio__host_parse(const char *s, size_t n, size_t *host_len) {
  size_t i;
  if (n > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', n);
    if (close == NULL) return false;
    i = (size_t)(close - s) + 1;
    if (!wasio__url_ipv6(s + 1, i - 2)) return false;
  } else {
    const char *colon = memchr(s, ':', n);
    i = colon ? (size_t)(colon - s) : n;
    /* IPv4address is a reg-name too, but a dotted quad that is not a valid
     * one (300.1.1.1) is still a valid reg-name: the grammar allows it. */
    if (!wasio__host_reg_name(s, i)) return false;
  }
  *host_len = i;
  if (i == n) return true;
  if (s[i] != ':') return false;
  unsigned port = 0;
  for (i++; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return false;
    port = port * 10 + (unsigned)(s[i] - '0');
    if (port > WASIO__HOST_PORT_MAX) return false;
  }
  return true;
}

bool wasio_http_host_valid(wasio_http_str_t value) {
  size_t host_len;
  if (value.ptr == NULL && value.len != 0) return false;
  return wasio__host_parse(value.ptr, value.len, &host_len);
}

static bool wasio__host_is(wasio_http_str_t s, const char *lit) {
  return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

int wasio_http_request_authority(const wasio_http_request_t *req, wasio_http_str_t *out) {
  wasio_http_str_t t = req->target;
  bool connect = wasio__host_is(req->method, "CONNECT");
  *out = (wasio_http_str_t){t.ptr, 0};
  if (connect) {
    /* authority-form: uri-host ":" port, the port required (RFC 9112
     * section 3.2.3). */
    size_t host_len;
    if (t.len == 0 || !wasio__host_parse(t.ptr, t.len, &host_len) || host_len == 0 || host_len + 1 >= t.len)
      return WASIO_EHTTP_BAD_TARGET;
    *out = t;
    return 0;
  }
  if (t.len > 0 && (t.ptr[0] == '/' || (t.len == 1 && t.ptr[0] == '*'))) {
    /* origin-form, or asterisk-form (OPTIONS only, RFC 9112 section
     * 3.2.4): the Host field says (the parser checked there is at most
     * one, and a valid one). */
    if (t.ptr[0] == '*' && !wasio__host_is(req->method, "OPTIONS")) return WASIO_EHTTP_BAD_TARGET;
    size_t pos = 0;
    int k = wasio_http_find_header(req->headers, req->num_headers, "host", &pos);
    if (k >= 0) *out = req->headers[k].value;
    return 0;
  }
  /* absolute-form: "http" or "https" "://" authority [ path-abempty ] ...
   * Its authority wins over Host (RFC 9112 section 3.2.2); an http(s)
   * URI must have a host (RFC 9110 section 4.2.1) and no userinfo
   * (section 4.2.4: treated as an error). */
  size_t i = 0;
  while (i < t.len && t.ptr[i] != ':') i++;
  wasio_http_str_t scheme = {t.ptr, i};
  if (!wasio__http_ieq(scheme, "http") && !wasio__http_ieq(scheme, "https")) return WASIO_EHTTP_BAD_TARGET;
  if (t.len - i < 3 || t.ptr[i + 1] != '/' || t.ptr[i + 2] != '/') return WASIO_EHTTP_BAD_TARGET;
  size_t a = i + 3, e = a;
  while (e < t.len && t.ptr[e] != '/' && t.ptr[e] != '?' && t.ptr[e] != '#') e++;
  size_t host_len;
  if (!wasio__host_parse(t.ptr + a, e - a, &host_len) || host_len == 0) return WASIO_EHTTP_BAD_TARGET;
  *out = (wasio_http_str_t){t.ptr + a, e - a};
  return 0;
}
