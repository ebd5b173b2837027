/* fuzz/fuzz_http_response.c: the response head parser and its flags, then
 * the body. The first input byte selects WASIO_HTTP_RESPONSE_TO_* flags
 * (fuzzing the option bits too); the rest is the response. */
#include "fuzz_common.h"

static wasio_http_response_t a, b;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size == 0) return 0;
  unsigned flags = data[0] & 3u;
  const char *in = (const char *)data + 1;
  size--;
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  int rc = wasio_http_parse_response(&p, in, size, flags, &a);
  FUZZ_CHECK(rc != 0);
  FUZZ_CHECK(rc < 0 || (size_t)rc <= size);

  size_t split = size ? (size_t)data[0] * 131u % (size + 1) : 0;
  wasio_http_parser_init(&p);
  int r1 = wasio_http_parse_response(&p, in, split, flags, &b);
  int r2 = wasio_http_parse_response(&p, in, size, flags, &b);
  FUZZ_CHECK(r1 == WASIO_EAGAIN || r1 == r2);
  FUZZ_CHECK(r2 == rc);

  if (size <= 4096) {
    wasio_http_parser_init(&p);
    int r = WASIO_EAGAIN;
    size_t k = 0;
    while (r == WASIO_EAGAIN && k < size) r = wasio_http_parse_response(&p, in, ++k, flags, &b);
    FUZZ_CHECK(r == rc);
    if (rc > 0) FUZZ_CHECK(k == (size_t)rc);
  }
  if (rc <= 0) return 0;

  FUZZ_CHECK(a.status >= 100 && a.status <= 999);
  FUZZ_CHECK(fuzz_inside(a.reason, in, (size_t)rc) && fuzz_no_crlf(a.reason));
  for (size_t i = 0; i < a.num_headers; i++) {
    FUZZ_CHECK(a.headers[i].name.len > 0 && fuzz_inside(a.headers[i].name, in, (size_t)rc));
    FUZZ_CHECK(fuzz_inside(a.headers[i].value, in, (size_t)rc));
  }
  if ((flags & WASIO_HTTP_RESPONSE_TO_HEAD) || a.status < 200 || a.status == 204 || a.status == 304)
    FUZZ_CHECK(a.framing.body == WASIO_HTTP_BODY_NONE);
  if (a.framing.body == WASIO_HTTP_BODY_CLOSE) FUZZ_CHECK(!a.framing.keep_alive);

  size_t cap = (size_t)rc + 64 + a.num_headers; /* the writer puts a space after each colon */
  char *w = malloc(cap);
  int minor = a.version_minor > 1 ? 1 : a.version_minor;
  int n = wasio_http_write_response_head(w, cap, minor, a.status, a.reason, a.headers, a.num_headers);
  FUZZ_CHECK(n > 0);
  wasio_http_parser_init(&p);
  FUZZ_CHECK(wasio_http_parse_response(&p, w, (size_t)n, flags, &b) == n);
  FUZZ_CHECK(b.status == a.status && b.num_headers == a.num_headers && b.framing.body == a.framing.body);
  free(w);

  fuzz_body_both_ways(&a.framing, in + rc, size - (size_t)rc, 1 + data[0] % 5);
  return 0;
}
