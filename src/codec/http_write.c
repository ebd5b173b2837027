/* src/codec/http_write.c: HTTP/1.1 heads and chunk framing serialised into
 * caller buffers (wasio/http_codec.h).
 *
 * Implementation notes
 * - Every argument is validated with the same character classes the parser
 *   uses, so a writer can never produce a message our own parser (or a
 *   strict peer) would read differently: a CR or LF in a value would be
 *   header injection, so it is an error, not something to escape.
 * - Output goes through a cursor that records overflow instead of
 *   stopping at each call site; the single check at the end returns
 *   WASIO_ENOBUFS.
 */
#include <string.h>

#include "http_internal.h"

/* Largest value the writers return: they return int. */
#define WASIO__HTTP_WRITE_MAX ((size_t)0x7fffffff)

typedef struct wasio__out {
  char *buf;
  size_t cap, len;
  bool overflow;
} wasio__out_t;

static void wasio__put(wasio__out_t *o, const char *s, size_t n) {
  if (o->overflow || n > o->cap - o->len) {
    o->overflow = true;
    return;
  }
  if (n) memcpy(o->buf + o->len, s, n);
  o->len += n;
}

static void wasio__put_str(wasio__out_t *o, const char *s) { wasio__put(o, s, strlen(s)); }

static void wasio__put_uint(wasio__out_t *o, uint64_t v, unsigned base) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[sizeof tmp - 1 - n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  wasio__put(o, tmp + sizeof tmp - n, n);
}

static int wasio__finish(const wasio__out_t *o) {
  if (o->overflow || o->len > WASIO__HTTP_WRITE_MAX) return WASIO_ENOBUFS;
  return (int)o->len;
}

static bool wasio__is_token(wasio_http_str_t s) {
  if (s.len == 0 || s.ptr == NULL) return false;
  for (size_t i = 0; i < s.len; i++)
    if (!wasio__http_is_tchar((unsigned char)s.ptr[i])) return false;
  return true;
}

static bool wasio__is_field_text(wasio_http_str_t s) {
  if (s.len && s.ptr == NULL) return false;
  for (size_t i = 0; i < s.len; i++)
    if (!wasio__http_is_field_byte((unsigned char)s.ptr[i])) return false;
  return true;
}

/* The fields and the empty line. */
static int wasio__put_fields(wasio__out_t *o, const wasio_http_header_t *h, size_t n) {
  if (n && h == NULL) return WASIO_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (!wasio__is_token(h[i].name)) return WASIO_EHTTP_BAD_HEADER_NAME;
    if (!wasio__is_field_text(h[i].value)) return WASIO_EHTTP_BAD_HEADER_VALUE;
    wasio__put(o, h[i].name.ptr, h[i].name.len);
    wasio__put(o, ": ", 2);
    wasio__put(o, h[i].value.ptr, h[i].value.len);
    wasio__put(o, "\r\n", 2);
  }
  wasio__put(o, "\r\n", 2);
  return 0;
}

static void wasio__put_version(wasio__out_t *o, int minor) {
  wasio__put_str(o, "HTTP/1.");
  wasio__put_uint(o, (uint64_t)minor, 10);
}

int wasio_http_write_request_head(char *buf, size_t cap, wasio_http_str_t method,
                                  wasio_http_str_t target, int version_minor,
                                  const wasio_http_header_t *headers, size_t num_headers) {
  if (!wasio__is_token(method)) return WASIO_EHTTP_BAD_METHOD;
  if (target.len == 0 || target.ptr == NULL) return WASIO_EHTTP_BAD_TARGET;
  for (size_t i = 0; i < target.len; i++) {
    unsigned char c = (unsigned char)target.ptr[i];
    if (c <= 0x20 || c >= 0x7f) return WASIO_EHTTP_BAD_TARGET;
  }
  if (version_minor != 0 && version_minor != 1) return WASIO_EHTTP_BAD_VERSION;
  if (buf == NULL && cap != 0) return WASIO_EINVAL;
  wasio__out_t o = {buf, cap, 0, false};
  wasio__put(&o, method.ptr, method.len);
  wasio__put(&o, " ", 1);
  wasio__put(&o, target.ptr, target.len);
  wasio__put(&o, " ", 1);
  wasio__put_version(&o, version_minor);
  wasio__put(&o, "\r\n", 2);
  int err = wasio__put_fields(&o, headers, num_headers);
  return err ? err : wasio__finish(&o);
}

int wasio_http_write_response_head(char *buf, size_t cap, int version_minor, int status,
                                   wasio_http_str_t reason, const wasio_http_header_t *headers,
                                   size_t num_headers) {
  if (version_minor != 0 && version_minor != 1) return WASIO_EHTTP_BAD_VERSION;
  if (status < 100 || status > 999 || !wasio__is_field_text(reason)) return WASIO_EHTTP_BAD_STATUS;
  if (buf == NULL && cap != 0) return WASIO_EINVAL;
  wasio__out_t o = {buf, cap, 0, false};
  wasio__put_version(&o, version_minor);
  wasio__put(&o, " ", 1);
  wasio__put_uint(&o, (uint64_t)status, 10);
  wasio__put(&o, " ", 1);
  wasio__put(&o, reason.ptr, reason.len);
  wasio__put(&o, "\r\n", 2);
  int err = wasio__put_fields(&o, headers, num_headers);
  return err ? err : wasio__finish(&o);
}

int wasio_http_write_chunk_header(char *buf, size_t cap, uint64_t size) {
  if (size == 0) return WASIO_EINVAL; /* that is the last chunk */
  if (buf == NULL && cap != 0) return WASIO_EINVAL;
  wasio__out_t o = {buf, cap, 0, false};
  wasio__put_uint(&o, size, 16);
  wasio__put(&o, "\r\n", 2);
  return wasio__finish(&o);
}

int wasio_http_write_u64(char *buf, size_t cap, uint64_t v) {
  if (buf == NULL && cap != 0) return WASIO_EINVAL;
  wasio__out_t o = {buf, cap, 0, false};
  wasio__put_uint(&o, v, 10);
  return wasio__finish(&o);
}

int wasio_http_write_last_chunk(char *buf, size_t cap, const wasio_http_header_t *trailers,
                                size_t num_trailers) {
  if (buf == NULL && cap != 0) return WASIO_EINVAL;
  wasio__out_t o = {buf, cap, 0, false};
  wasio__put(&o, "0\r\n", 3);
  int err = wasio__put_fields(&o, trailers, num_trailers);
  return err ? err : wasio__finish(&o);
}

const char *wasio_http_reason(int status) {
  switch (status) {
  case 100: return "Continue";
  case 101: return "Switching Protocols";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 203: return "Non-Authoritative Information";
  case 204: return "No Content";
  case 205: return "Reset Content";
  case 206: return "Partial Content";
  case 300: return "Multiple Choices";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 303: return "See Other";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 308: return "Permanent Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 406: return "Not Acceptable";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 416: return "Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 421: return "Misdirected Request";
  case 422: return "Unprocessable Content";
  case 426: return "Upgrade Required";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "";
  }
}
