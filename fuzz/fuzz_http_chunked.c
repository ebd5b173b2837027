/* fuzz/fuzz_http_chunked.c: the chunked decoder alone. The first byte sets
 * the feeding step; the body is decoded whole and in steps and must give
 * the same payload, trailers, consumed count and result. A complete body is
 * then re-encoded with the writers and decoded again to the same payload.
 * Last, the input is also tried as the chunk extensions of a one-byte
 * chunk ("1" EXT CRLF "x" CRLF "0" CRLF CRLF): the decoder must accept it
 * exactly when ref_ext_ok() below, a plain reading of RFC 9112 section
 * 7.1.1's grammar written separately from the decoder's state machine,
 * does (fuzz/http.dict gives the fuzzer the grammar's pieces). */
#include <ctype.h>
#include <stdbool.h>

#include "fuzz_common.h"

static wasio_http_trailers_t ta, tb;

static bool ref_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool ref_ws(unsigned char c) { return c == ' ' || c == '\t'; }

/* chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * chunk-ext-name = token; chunk-ext-val = token / quoted-string
 * quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
 * qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
 * quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
 * plus wasio's limit of WASIO_HTTP_MAX_CHUNK_EXTS extensions. */
static bool ref_ext_ok(const unsigned char *s, size_t n) {
  size_t i = 0, count = 0;
  while (i < n) {
    while (i < n && ref_ws(s[i])) i++;
    if (i == n || s[i] != ';') return false;
    i++;
    count++;
    while (i < n && ref_ws(s[i])) i++;
    size_t start = i;
    while (i < n && ref_tchar(s[i])) i++;
    if (i == start) return false;
    size_t after_name = i;
    while (i < n && ref_ws(s[i])) i++;
    if (i == n || s[i] != '=') {
      i = after_name; /* no value: only BWS ";" may follow */
      continue;
    }
    i++;
    while (i < n && ref_ws(s[i])) i++;
    if (i < n && s[i] == '"') {
      i++;
      for (;;) {
        if (i == n) return false;
        unsigned char c = s[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i == n) return false;
          unsigned char e = s[i++];
          if (!(e == '\t' || e == ' ' || (e >= 0x21 && e <= 0x7e) || e >= 0x80)) return false;
          continue;
        }
        if (!(c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) ||
              c >= 0x80))
          return false;
      }
    } else {
      start = i;
      while (i < n && ref_tchar(s[i])) i++;
      if (i == start) return false;
    }
  }
  return count <= WASIO_HTTP_MAX_CHUNK_EXTS;
}

/* The input as the extensions of a one-byte chunk, whole and in steps. */
static void check_extensions(const char *ext, size_t n, size_t step) {
  /* Out of scope for this oracle: a line past the limit, CR or LF (they
   * end the line), a hex digit first (it would extend the size). */
  if (n + 1 > WASIO_HTTP_MAX_CHUNK_LINE || memchr(ext, '\r', n) || memchr(ext, '\n', n)) return;
  if (n > 0 && isxdigit((unsigned char)ext[0])) return;
  static const char tail[] = "\r\nx\r\n0\r\n\r\n";
  size_t len = 1 + n + sizeof tail - 1;
  char *in = malloc(len), *out = malloc(len);
  in[0] = '1';
  memcpy(in + 1, ext, n);
  memcpy(in + 1 + n, tail, sizeof tail - 1);
  bool want = ref_ext_ok((const unsigned char *)ext, n);
  for (int pass = 0; pass < 2; pass++) {
    size_t olen, consumed;
    int rc = fuzz_decode(NULL, WASIO_HTTP_BODY_CHUNKED, in, len, pass ? step : 0, out, &olen, &consumed, &tb);
    if (want) {
      FUZZ_CHECK(rc == WASIO_HTTP_BODY_DONE && consumed == len && olen == 1 && out[0] == 'x');
    } else {
      FUZZ_CHECK(rc == WASIO_EHTTP_BAD_CHUNK_EXT || rc == WASIO_EHTTP_BAD_CHUNK_SIZE);
      FUZZ_CHECK(olen == 0);
    }
  }
  free(in);
  free(out);
}

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
  check_extensions(in, size, step);
  return 0;
}
