/* fuzz/fuzz_http_request.c: the request head parser, then the body.
 * Checks: views (the authority too) stay inside the input; the result is
 * the same whole, split at a point chosen from the input, and byte by
 * byte; a complete head written back by the writer parses to the same
 * request; the body decodes the same whole and in small steps. */
#include "fuzz_common.h"

static wasio_http_request_t a, b;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  const char *in = (const char *)data;
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  int rc = wasio_http_parse_request(&p, in, size, &a);
  FUZZ_CHECK(rc != 0);
  FUZZ_CHECK(rc < 0 || (size_t)rc <= size);

  /* Split in two at a point taken from the input. */
  size_t split = size ? (size_t)data[0] * 257u % (size + 1) : 0;
  wasio_http_parser_init(&p);
  int r1 = wasio_http_parse_request(&p, in, split, &b);
  int r2 = wasio_http_parse_request(&p, in, size, &b);
  FUZZ_CHECK(r1 == WASIO_EAGAIN || r1 == r2);
  FUZZ_CHECK(r2 == rc);

  /* Byte by byte (the lexer is incremental, so this is linear). */
  if (size <= 4096) {
    wasio_http_parser_init(&p);
    int r = WASIO_EAGAIN;
    size_t k = 0;
    while (r == WASIO_EAGAIN && k < size) r = wasio_http_parse_request(&p, in, ++k, &b);
    FUZZ_CHECK(r == rc);
    if (rc > 0) FUZZ_CHECK(k == (size_t)rc);
  }
  if (rc <= 0) return 0;

  FUZZ_CHECK(a.method.len > 0 && fuzz_inside(a.method, in, (size_t)rc));
  FUZZ_CHECK(a.target.len > 0 && fuzz_inside(a.target, in, (size_t)rc));
  FUZZ_CHECK(a.num_headers <= WASIO_HTTP_MAX_HEADERS);
  FUZZ_CHECK(b.num_headers == a.num_headers && b.method.ptr == a.method.ptr);
  for (size_t i = 0; i < a.num_headers; i++) {
    FUZZ_CHECK(a.headers[i].name.len > 0 && fuzz_inside(a.headers[i].name, in, (size_t)rc));
    FUZZ_CHECK(fuzz_inside(a.headers[i].value, in, (size_t)rc));
    FUZZ_CHECK(fuzz_no_crlf(a.headers[i].name) && fuzz_no_crlf(a.headers[i].value));
  }
  FUZZ_CHECK(a.framing.body != WASIO_HTTP_BODY_CLOSE);
  /* The authority (checks the target's form) is a view of the head. */
  wasio_http_str_t auth;
  int ar = wasio_http_request_authority(&a, &auth);
  FUZZ_CHECK(ar == 0 || ar == WASIO_EHTTP_BAD_TARGET);
  if (ar == 0) FUZZ_CHECK(fuzz_inside(auth, in, (size_t)rc) && wasio_http_host_valid(auth));
  FUZZ_CHECK(!(a.framing.body == WASIO_HTTP_BODY_CHUNKED && a.framing.has_content_length));

  /* Round trip through the writer (versions above 1.1 are written as 1.1). */
  size_t cap = (size_t)rc + 64 + a.num_headers; /* the writer puts a space after each colon */
  char *w = malloc(cap);
  int minor = a.version_minor > 1 ? 1 : a.version_minor;
  int n = wasio_http_write_request_head(w, cap, a.method, a.target, minor, a.headers, a.num_headers);
  FUZZ_CHECK(n > 0);
  wasio_http_parser_init(&p);
  int rr = wasio_http_parse_request(&p, w, (size_t)n, &b);
  FUZZ_CHECK(rr == n);
  FUZZ_CHECK(b.num_headers == a.num_headers && b.method.len == a.method.len && b.target.len == a.target.len);
  FUZZ_CHECK(memcmp(b.target.ptr, a.target.ptr, a.target.len) == 0);
  for (size_t i = 0; i < a.num_headers; i++)
    FUZZ_CHECK(b.headers[i].value.len == a.headers[i].value.len &&
               memcmp(b.headers[i].value.ptr, a.headers[i].value.ptr, a.headers[i].value.len) == 0);
  FUZZ_CHECK(b.framing.body == a.framing.body && b.framing.content_length == a.framing.content_length);
  free(w);

  fuzz_body_both_ways(&a.framing, in + rc, size - (size_t)rc, 1 + (size ? data[size - 1] % 7 : 0));
  return 0;
}
