/* src/codec/http_internal.h: character classes and line parsers shared by
 * the HTTP codec's files (head parser, body decoder, writers, URL parser).
 * Internal: nothing here is part of the public API. */
#ifndef WASIO_CODEC_HTTP_INTERNAL_H
#define WASIO_CODEC_HTTP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "wasio/http_codec.h"

/* tchar (RFC 9110 section 5.6.2): the characters of methods, field names,
 * transfer-coding names and other tokens. */
bool wasio__http_is_tchar(unsigned char c);

/* A byte allowed inside a field value or reason phrase: HTAB, SP, VCHAR and
 * obs-text (0x80-0xFF). Everything else is a control character. */
static inline bool wasio__http_is_field_byte(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static inline bool wasio__http_is_ws(unsigned char c) { return c == ' ' || c == '\t'; }

/* Hex digit value, or -1. */
static inline int wasio__http_hex(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* ASCII case-insensitive comparison of a view with a NUL-terminated,
 * lower-case `lit`. */
bool wasio__http_ieq(wasio_http_str_t s, const char *lit);

/* Parses one header line (without its CRLF) into *out. Returns 0 or
 * WASIO_EHTTP_OBS_FOLD, _SPACE_BEFORE_COLON, _BAD_HEADER_NAME or
 * _BAD_HEADER_VALUE. */
int wasio__http_parse_field_line(const char *s, size_t n, wasio_http_header_t *out);

/* IPv4address (strict dotted quad) and IPv6address (RFC 4291 text form,
 * without brackets or zone) of RFC 3986 (src/codec/http_url.c). */
bool wasio__url_ipv4(const char *s, size_t n);
bool wasio__url_ipv6(const char *s, size_t n);

/* Checks the authority s[0..n) (host[:port], no userinfo) as
 * wasio_url_parse() does and sets out->host, host_is_ipv6, port (when one
 * is given) and port_given. Returns 0, WASIO_EURL_HOST or WASIO_EURL_PORT. */
int wasio__url_authority(const char *s, size_t n, wasio_url_t *out);

/* The framing of a request whose fields did not come from a parsed head
 * (a host's wasi:http request): Content-Length, Transfer-Encoding,
 * Connection and Expect read by wasio_http_parse_request()'s rules, with
 * its errors (a bad or conflicting Content-Length, both framings, a
 * Transfer-Encoding other than chunked); Host is not looked at. */
int wasio__http_request_framing(const wasio_http_header_t *headers, size_t n, int version_minor,
                                wasio_http_framing_t *out);

/* Parser kinds (wasio_http_parser_t.wasio__kind). */
enum { WASIO__HTTP_REQUEST = 1, WASIO__HTTP_RESPONSE = 2, WASIO__HTTP_TRAILERS = 3 };

/* Prepares a parser for a trailer section (no start line). */
void wasio__http_parser_init_trailers(wasio_http_parser_t *p);

/* Lexes and validates a trailer section from buf[0..len) with the feeding
 * rule of heads; on completion fills *out (when not NULL) and returns the
 * section's length (> 0), else WASIO_EAGAIN or an error. */
int wasio__http_parse_trailers(wasio_http_parser_t *p, const char *buf, size_t len,
                               wasio_http_trailers_t *out);

#endif
