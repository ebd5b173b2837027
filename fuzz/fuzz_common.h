/* fuzz/fuzz_common.h: checks shared by the libFuzzer targets. A failed
 * check aborts, which libFuzzer reports as a crash with the input saved. */
#ifndef WASIO_FUZZ_COMMON_H
#define WASIO_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio/http_codec.h"

#define FUZZ_CHECK(c)                                                     \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "fuzz check failed: %s:%d: %s\n", __FILE__, __LINE__, #c); \
      abort();                                                            \
    }                                                                     \
  } while (0)

/* The view lies inside [base, base+len). */
static inline int fuzz_inside(wasio_http_str_t v, const char *base, size_t len) {
  return v.len == 0 || (v.ptr >= base && v.ptr + v.len <= base + len);
}

static inline int fuzz_no_crlf(wasio_http_str_t v) {
  return memchr(v.ptr ? v.ptr : "", '\r', v.len) == NULL && memchr(v.ptr ? v.ptr : "", '\n', v.len) == NULL;
}

/* Decodes a body from in[0..len) in pieces of `step` bytes (0 = whole),
 * following the feeding rule; collects payload into out (capacity len).
 * Returns DONE/MORE/error and sets *consumed. */
static inline int fuzz_decode(const wasio_http_framing_t *framing, wasio_http_body_kind_t kind, const char *in,
                              size_t len, size_t step, char *out, size_t *out_len, size_t *consumed,
                              wasio_http_trailers_t *tr) {
  wasio_http_body_t d;
  if (framing) wasio_http_body_init(&d, framing, tr);
  else wasio_http_body_init_kind(&d, kind, 0, tr);
  size_t given = 0, pos = 0;
  *out_len = 0;
  for (;;) {
    given = step == 0 ? len : (given + step < len ? given + step : len);
    for (;;) {
      size_t used = 0;
      wasio_http_str_t data;
      int rc = wasio_http_body_decode(&d, in + pos, given - pos, &used, &data);
      FUZZ_CHECK(used <= given - pos);
      FUZZ_CHECK(fuzz_inside(data, in + pos, used));
      if (data.len) {
        FUZZ_CHECK(*out_len + data.len <= len);
        memcpy(out + *out_len, data.ptr, data.len);
        *out_len += data.len;
      }
      pos += used;
      if (rc == WASIO_HTTP_BODY_DONE || (rc < 0 && rc != WASIO_EAGAIN)) {
        *consumed = pos;
        return rc;
      }
      if (rc == WASIO_EAGAIN || pos == given) break;
      FUZZ_CHECK(used > 0);
    }
    if (given == len) {
      *consumed = pos;
      return WASIO_HTTP_BODY_MORE;
    }
  }
}

/* The body after a head, decoded whole and in small steps: same result. */
static inline void fuzz_body_both_ways(const wasio_http_framing_t *f, const char *in, size_t len, size_t step) {
  char *a = malloc(len + 1), *b = malloc(len + 1);
  size_t alen, blen, ac, bc;
  int ra = fuzz_decode(f, 0, in, len, 0, a, &alen, &ac, NULL);
  int rb = fuzz_decode(f, 0, in, len, step, b, &blen, &bc, NULL);
  FUZZ_CHECK(ra == rb && ac == bc && alen == blen && memcmp(a, b, alen) == 0);
  free(a);
  free(b);
}

#endif
