/* fuzz/fuzz_http_target.c: the server helpers of wasio/http_codec.h on
 * one input: request-target splitting, percent-decoding (with a capacity
 * from the first byte, in place and not), dot-segment removal, query
 * parameters, percent-encoding, HTTP dates, entity-tag lists and Range.
 * Checks: views stay inside the input, results stay inside their buffers,
 * decode(encode(x)) == x, dot removal leaves no "." or ".." segment and is
 * idempotent, a date that parses formats and parses back to itself, a
 * range lies inside the representation. */
#include "fuzz_common.h"

static int has_dot_segment(const char *s, size_t n) {
  size_t i = 0;
  while (i <= n) {
    size_t k = i;
    while (k < n && s[k] != '/') k++;
    size_t len = k - i;
    if ((len == 1 && s[i] == '.') || (len == 2 && s[i] == '.' && s[i + 1] == '.')) return 1;
    i = k + 1;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size == 0) return 0;
  unsigned opt = data[0];
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  wasio_http_str_t s = {in, len};

  /* Request target. */
  wasio_http_target_t t;
  int rc = wasio_http_target_parse(s, &t);
  if (rc == 0) {
    FUZZ_CHECK(t.form >= WASIO_HTTP_TARGET_ORIGIN && t.form <= WASIO_HTTP_TARGET_ASTERISK);
    FUZZ_CHECK(fuzz_inside(t.host, in, len) && fuzz_inside(t.authority, in, len) && fuzz_inside(t.query, in, len));
    if (t.form == WASIO_HTTP_TARGET_ORIGIN || t.form == WASIO_HTTP_TARGET_ABSOLUTE) {
      FUZZ_CHECK(t.path.len > 0 && t.path.ptr[0] == '/');
      FUZZ_CHECK(fuzz_inside(t.path, in, len) || (t.path.len == 1 && t.form == WASIO_HTTP_TARGET_ABSOLUTE));
      FUZZ_CHECK(memchr(t.path.ptr, '?', t.path.len) == NULL);
    } else {
      FUZZ_CHECK(t.path.len == 0 && !t.has_query);
    }
    if (t.form == WASIO_HTTP_TARGET_AUTHORITY) FUZZ_CHECK(t.port != 0 && t.host.len > 0);
  } else {
    FUZZ_CHECK(rc < 0);
  }

  /* Percent-decoding into a buffer of a chosen size, and in place. */
  size_t cap = (opt & 0x80) ? len : (opt & 0x7f) % (len + 1);
  unsigned flags = (opt & 1) ? WASIO_HTTP_DECODE_PLUS : 0;
  char *dec = malloc(len + 1), *copy = malloc(len + 1);
  memcpy(copy, in, len);
  int d = wasio_http_percent_decode(in, len, dec, cap, flags);
  int d2 = wasio_http_percent_decode(copy, len, copy, len, flags);
  if (d >= 0) {
    FUZZ_CHECK((size_t)d <= cap && (size_t)d <= len);
    FUZZ_CHECK(memchr(dec, 0, (size_t)d) == NULL);
    FUZZ_CHECK(d2 == d && memcmp(dec, copy, (size_t)d) == 0);
    /* Encoding the decoded bytes and decoding again gives them back. */
    size_t ecap = 3 * (size_t)d + 1;
    char *enc = malloc(ecap), *back = malloc((size_t)d + 1);
    int e = wasio_http_percent_encode(dec, (size_t)d, enc, ecap, (opt & 2) ? WASIO_HTTP_ENCODE_SLASH : 0);
    FUZZ_CHECK(e >= d && (size_t)e <= 3 * (size_t)d);
    FUZZ_CHECK(wasio_http_percent_decode(enc, (size_t)e, back, (size_t)d, 0) == d);
    FUZZ_CHECK(memcmp(back, dec, (size_t)d) == 0);
    free(enc);
    free(back);
  } else {
    /* Syntax errors do not depend on the room; only ENOBUFS does. */
    FUZZ_CHECK(d == WASIO_ENOBUFS ? d2 >= 0 && (size_t)d2 > cap : d2 == d);
  }

  /* Dot segments, out of place with a chosen room and in place. */
  char *out = malloc(len + 1);
  bool above = false, above2 = true;
  size_t dcap = (opt & 0x40) ? len : (opt >> 1) % (len + 1);
  int r = wasio_http_path_remove_dots(in, len, out, dcap, &above);
  if (r >= 0) {
    FUZZ_CHECK((size_t)r <= len);
    FUZZ_CHECK(!has_dot_segment(out, (size_t)r) || r == 0);
    memcpy(copy, in, len);
    FUZZ_CHECK(wasio_http_path_remove_dots(copy, len, copy, len, NULL) == r && memcmp(copy, out, (size_t)r) == 0);
    /* Idempotent, and a clean path does not climb. */
    FUZZ_CHECK(wasio_http_path_remove_dots(out, (size_t)r, copy, len, &above2) == r);
    FUZZ_CHECK(memcmp(copy, out, (size_t)r) == 0 && !above2);
  } else {
    FUZZ_CHECK(r == WASIO_ENOBUFS && dcap < len);
  }

  /* Query parameters, with a small buffer that grows on ENOBUFS. */
  wasio_http_query_iter_t it;
  wasio_http_query_init(&it, s);
  size_t qcap = opt % 8, guard = 0;
  char *qb = malloc(len + 1);
  for (;;) {
    FUZZ_CHECK(guard++ <= 2 * len + 2);
    wasio_http_param_t p;
    size_t before = it.wasio__rest.len;
    int q = wasio_http_query_next(&it, qb, qcap, &p);
    if (q == 0) break;
    if (q == WASIO_ENOBUFS) {
      /* Not past the pair that did not fit (empty pairs before it may be
       * gone); the retry with room cannot fail for room again. */
      FUZZ_CHECK(it.wasio__rest.len <= before && it.wasio__rest.len > 0 && qcap < len);
      qcap = len;
      continue;
    }
    FUZZ_CHECK(it.wasio__rest.len < before);
    if (q == 1) {
      FUZZ_CHECK(p.name.len + p.value.len <= qcap);
      FUZZ_CHECK(p.name.len == 0 || fuzz_inside(p.name, qb, qcap));
      FUZZ_CHECK(p.value.len == 0 || fuzz_inside(p.value, qb, qcap));
    } else {
      FUZZ_CHECK(q == WASIO_EURL_PERCENT || q == WASIO_EURL_NUL);
    }
  }

  /* Dates: one that parses formats and parses back to the same instant. */
  int64_t secs;
  if (wasio_http_date_parse(s, &secs) == 0) {
    char buf[WASIO_HTTP_DATE_LEN + 1];
    int64_t back;
    FUZZ_CHECK(wasio_http_date_format(secs, buf, sizeof buf) == WASIO_HTTP_DATE_LEN);
    FUZZ_CHECK(wasio_http_date_parse((wasio_http_str_t){buf, WASIO_HTTP_DATE_LEN}, &back) == 0 && back == secs);
  }

  /* Entity-tags: the input as a list against a fixed tag and against itself. */
  int m = wasio_http_etag_match(s, WASIO_HTTP_STR("\"x\""), opt & 1);
  FUZZ_CHECK(m == 0 || m == 1 || m == WASIO_EHTTP_BAD_HEADER_VALUE);
  m = wasio_http_etag_match(s, s, opt & 1);
  FUZZ_CHECK(m == 0 || m == 1 || m == WASIO_EHTTP_BAD_HEADER_VALUE);
  if (m == 0) FUZZ_CHECK(!(opt & 1)); /* a valid tag matches itself weakly */

  /* Range against a size from the option byte. */
  uint64_t rsize = (opt & 0x20) ? (uint64_t)opt * 1000003u : opt % 16;
  wasio_http_range_t rg;
  int k = wasio_http_range_parse(s, rsize, &rg);
  FUZZ_CHECK(k >= WASIO_HTTP_RANGE_NONE && k <= WASIO_HTTP_RANGE_UNSATISFIABLE);
  if (k == WASIO_HTTP_RANGE_ONE) FUZZ_CHECK(rg.first <= rg.last && rg.last < rsize);

  free(qb);
  free(out);
  free(copy);
  free(dec);
  return 0;
}
