/* apps/wasio-fetch/decode.c: --compressed, the Content-Encoding of a
 * response body (gzip, x-gzip, deflate) decoded with zlib (Debian's source
 * package, built by the Makefile for wasm32 and natively).
 *
 * "deflate" should be zlib-wrapped (RFC 9110 8.4.1.2), but some servers
 * send a raw deflate stream: as curl does, a stream whose first bytes are
 * no zlib header is inflated raw instead. Bytes after the end of the
 * compressed stream are ignored. An encoding wasio-fetch does not know
 * (br, zstd, a chain of two) is error 61, as in a curl built without it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "fetch.h"

enum { DECODE_GZIP = 1, DECODE_DEFLATE = 2 };

/* Output is handed on in pieces of this size. */
#define DECODE_OUT_CHUNK 16384

static bool token_is(wasio_http_str_t v, const char *t) {
  size_t n = strlen(t);
  return v.len == n && strncasecmp(v.ptr, t, n) == 0;
}

static int z_start(decoder_t *d, int window_bits) {
  z_stream *z = calloc(1, sizeof *z);
  if (z == NULL) return -1;
  if (inflateInit2(z, window_bits) != Z_OK) {
    free(z);
    return -1;
  }
  d->z = z;
  return 0;
}

int decoder_init(decoder_t *d, wasio_http_str_t enc, bool *active) {
  memset(d, 0, sizeof *d);
  *active = false;
  /* trim */
  while (enc.len && (enc.ptr[0] == ' ' || enc.ptr[0] == '\t')) enc.ptr++, enc.len--;
  while (enc.len && (enc.ptr[enc.len - 1] == ' ' || enc.ptr[enc.len - 1] == '\t')) enc.len--;
  if (enc.len == 0 || token_is(enc, "identity")) return 0;
  if (token_is(enc, "gzip") || token_is(enc, "x-gzip")) {
    d->kind = DECODE_GZIP;
    if (z_start(d, 15 + 16) != 0) return -1; /* +16: the gzip wrapper */
  } else if (token_is(enc, "deflate")) {
    d->kind = DECODE_DEFLATE;
    if (z_start(d, 15) != 0) return -1;
  } else {
    return -1;
  }
  *active = true;
  return 0;
}

int decoder_feed(decoder_t *d, fetch_t *f, const void *in, size_t len, const char **why) {
  z_stream *z = d->z;
  unsigned char out[DECODE_OUT_CHUNK];
  const unsigned char *p = in;
  if (d->ended || len == 0) return 0;
  const bool first = z->total_in == 0; /* the raw-deflate retry restarts from here */
  z->next_in = (unsigned char *)p;
  z->avail_in = (uInt)len;
  while (z->avail_in > 0 && !d->ended) {
    z->next_out = out;
    z->avail_out = sizeof out;
    int rc = inflate(z, Z_NO_FLUSH);
    size_t produced = sizeof out - z->avail_out;
    if (rc == Z_DATA_ERROR && d->kind == DECODE_DEFLATE && !d->started && first) {
      /* No zlib header: a raw deflate stream (what curl also accepts). */
      inflateEnd(z);
      if (inflateInit2(z, -15) != Z_OK) {
        *why = "out of memory";
        return -1;
      }
      d->started = true;
      z->next_in = (unsigned char *)p;
      z->avail_in = (uInt)len;
      continue;
    }
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && produced > 0)) {
      *why = z->msg != NULL ? z->msg : "invalid compressed data";
      return -1;
    }
    if (produced > 0) {
      d->started = true;
      if (!fetch_write_body(f, out, produced)) return 0; /* the write error is reported by the caller */
    }
    if (rc == Z_STREAM_END) d->ended = true;
  }
  return 0;
}

int decoder_finish(decoder_t *d, const char **why) {
  if (d->z == NULL || d->ended) return 0;
  *why = "the compressed data ended early";
  return -1;
}

void decoder_free(decoder_t *d) {
  if (d->z != NULL) {
    inflateEnd(d->z);
    free(d->z);
  }
  memset(d, 0, sizeof *d);
}
