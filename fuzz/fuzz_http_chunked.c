/* fuzz/fuzz_http_chunked.c: the chunked decoder alone. The first byte sets
 * the feeding step; the body is decoded whole and in steps and must give
 * the same payload, trailers, consumed count and result. A complete body is
 * then re-encoded with the writers and decoded again to the same payload. */
#include "fuzz_common.h"

static wasio_http_trailers_t ta, tb;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 16;
  const char *in = (const char *)data + 1;
  size--;
  char *a = malloc(size + 1), *b = malloc(size + 1);
  size_t alen, blen, ac, bc;
  int ra = fuzz_decode(NULL, WASIO_HTTP_BODY_CHUNKED, in, size, 0, a, &alen, &ac, &ta);
  int rb = fuzz_decode(NULL, WASIO_HTTP_BODY_CHUNKED, in, size, step, b, &blen, &bc, &tb);
  FUZZ_CHECK(ra == rb && ac == bc && alen == blen && memcmp(a, b, alen) == 0);
  FUZZ_CHECK(ac <= size);
  if (ra == WASIO_HTTP_BODY_DONE) {
    FUZZ_CHECK(ta.num_fields == tb.num_fields && ta.num_fields <= WASIO_HTTP_MAX_TRAILERS);
    for (size_t i = 0; i < ta.num_fields; i++) {
      FUZZ_CHECK(ta.fields[i].value.len == tb.fields[i].value.len);
      FUZZ_CHECK(fuzz_inside(ta.fields[i].name, in, size) && fuzz_inside(ta.fields[i].value, in, size));
    }
    /* Re-encode as one chunk plus the trailers and decode again. */
    size_t cap = alen + 64 + size;
    char *w = malloc(cap);
    size_t n = 0;
    if (alen) {
      int h = wasio_http_write_chunk_header(w, cap, alen);
      FUZZ_CHECK(h > 0);
      n = (size_t)h;
      memcpy(w + n, a, alen);
      n += alen;
      memcpy(w + n, "\r\n", 2);
      n += 2;
    }
    int l = wasio_http_write_last_chunk(w + n, cap - n, ta.fields, ta.num_fields);
    FUZZ_CHECK(l > 0);
    n += (size_t)l;
    char *c = malloc(n + 1);
    size_t clen, cc;
    FUZZ_CHECK(fuzz_decode(NULL, WASIO_HTTP_BODY_CHUNKED, w, n, 0, c, &clen, &cc, &tb) == WASIO_HTTP_BODY_DONE);
    FUZZ_CHECK(cc == n && clen == alen && memcmp(c, a, alen) == 0 && tb.num_fields == ta.num_fields);
    free(c);
    free(w);
  }
  free(a);
  free(b);
  return 0;
}
