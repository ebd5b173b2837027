/* src/codec/http_body.c: message bodies (Content-Length, chunked,
 * close-delimited) decoded into views of the caller's input
 * (wasio/http_codec.h).
 *
 * Implementation notes
 * - Zero copy: payload is never moved; each call returns at most one view
 *   into the input, and framing bytes (chunk-size lines, CRLFs) are simply
 *   consumed. A chunk-size line is lexed byte by byte in decoder state, so
 *   it may be split anywhere across calls without being re-presented.
 * - The trailer section is the one unit that must be contiguous (its fields
 *   are views): it is lexed by a head parser in trailer mode, and while it
 *   is incomplete the decoder returns WASIO_EAGAIN without consuming it.
 * - Chunk extensions are ignored, but safely: after the size only BWS and
 *   ';' may follow, and the rest of the line must be free of control
 *   characters; the whole line is bounded by WASIO_HTTP_MAX_CHUNK_LINE.
 * - The chunk size is checked for overflow before each digit is shifted in,
 *   so any number of leading zeros is fine but 2^64 is not.
 */
#include <string.h>

#include "http_internal.h"

/* Decoder states (wasio_http_body_t.wasio__state). */
enum {
  BODY_DATA = 0,   /* LENGTH / CLOSE payload, or chunk data */
  CHUNK_SIZE,      /* hex digits of a chunk size */
  CHUNK_EXT,       /* after the digits: BWS and extensions up to CR */
  CHUNK_EXT_WS,    /* BWS after the digits: only ';' or more BWS may follow */
  CHUNK_SIZE_LF,   /* the CR of the size line was seen */
  CHUNK_DATA_CR,   /* chunk data done, CR expected */
  CHUNK_DATA_LF,   /* LF expected */
  CHUNK_TRAILERS,  /* the trailer section after the last chunk */
  BODY_DONE
};

void wasio_http_body_init_kind(wasio_http_body_t *d, wasio_http_body_kind_t kind,
                               uint64_t content_length, wasio_http_trailers_t *trailers) {
  memset(d, 0, sizeof *d);
  d->wasio__kind = (uint8_t)kind;
  d->wasio__trailers = trailers;
  if (trailers) trailers->num_fields = 0;
  switch (kind) {
  case WASIO_HTTP_BODY_LENGTH:
    d->wasio__remaining = content_length;
    d->wasio__state = content_length ? BODY_DATA : BODY_DONE;
    break;
  case WASIO_HTTP_BODY_CHUNKED:
    d->wasio__state = CHUNK_SIZE;
    break;
  case WASIO_HTTP_BODY_CLOSE:
    d->wasio__state = BODY_DATA;
    break;
  case WASIO_HTTP_BODY_NONE:
  default:
    d->wasio__state = BODY_DONE;
    break;
  }
}

void wasio_http_body_init(wasio_http_body_t *d, const wasio_http_framing_t *framing,
                          wasio_http_trailers_t *trailers) {
  wasio_http_body_init_kind(d, framing->body, framing->content_length, trailers);
}

/* One byte of a chunk-size line (state CHUNK_SIZE .. CHUNK_SIZE_LF).
 * Returns 0 or an error. */
static int wasio__chunk_line_byte(wasio_http_body_t *d, unsigned char c) {
  if (d->wasio__state == CHUNK_SIZE_LF) {
    if (c != '\n') return WASIO_EHTTP_BARE_CR;
    d->wasio__line_len = 0;
    d->wasio__digits = 0;
    if (d->wasio__remaining == 0) {
      d->wasio__state = CHUNK_TRAILERS;
      wasio__http_parser_init_trailers(&d->wasio__trailer);
    } else {
      d->wasio__state = BODY_DATA;
    }
    return 0;
  }
  if (c == '\n') return WASIO_EHTTP_BARE_LF;
  if (c == '\r') {
    if (d->wasio__digits == 0) return WASIO_EHTTP_BAD_CHUNK_SIZE;
    if (d->wasio__state == CHUNK_EXT_WS) return WASIO_EHTTP_BAD_CHUNK_EXT;
    d->wasio__state = CHUNK_SIZE_LF;
    return 0;
  }
  if (d->wasio__line_len >= WASIO_HTTP_MAX_CHUNK_LINE) return WASIO_EHTTP_CHUNK_LINE_TOO_LONG;
  d->wasio__line_len++;
  switch (d->wasio__state) {
  case CHUNK_SIZE: {
    int h = wasio__http_hex(c);
    if (h >= 0) {
      if (d->wasio__remaining > (UINT64_MAX >> 4)) return WASIO_EHTTP_CHUNK_SIZE_OVERFLOW;
      d->wasio__remaining = (d->wasio__remaining << 4) | (uint64_t)h;
      d->wasio__digits = 1;
      return 0;
    }
    if (d->wasio__digits == 0 || (c != ';' && !wasio__http_is_ws(c)))
      return WASIO_EHTTP_BAD_CHUNK_SIZE;
    d->wasio__state = c == ';' ? CHUNK_EXT : CHUNK_EXT_WS;
    return 0;
  }
  case CHUNK_EXT_WS:
    if (c == ';') d->wasio__state = CHUNK_EXT;
    else if (!wasio__http_is_ws(c)) return WASIO_EHTTP_BAD_CHUNK_EXT;
    return 0;
  default: /* CHUNK_EXT: names, values, quoted strings, all ignored */
    return wasio__http_is_field_byte(c) ? 0 : WASIO_EHTTP_BAD_CHUNK_EXT;
  }
}

static int wasio__body_fail(wasio_http_body_t *d, int err) {
  d->wasio__error = err;
  return err;
}

int wasio_http_body_decode(wasio_http_body_t *d, const char *in, size_t len, size_t *consumed,
                           wasio_http_str_t *data) {
  *consumed = 0;
  *data = (wasio_http_str_t){in, 0};
  if (d->wasio__error) return d->wasio__error;
  if (in == NULL && len != 0) return WASIO_EINVAL;
  size_t i = 0;
  while (d->wasio__state != BODY_DONE) {
    if (d->wasio__state == CHUNK_TRAILERS) {
      const char *rest = in ? in + i : NULL;
      int rc = wasio__http_parse_trailers(&d->wasio__trailer, rest, len - i, d->wasio__trailers);
      *consumed = i;
      if (rc == WASIO_EAGAIN) return WASIO_EAGAIN;
      if (rc < 0) return wasio__body_fail(d, rc);
      i += (size_t)rc;
      d->wasio__state = BODY_DONE;
      break;
    }
    if (i == len) break;
    if (d->wasio__state == BODY_DATA) {
      size_t take = len - i;
      if (d->wasio__kind != WASIO_HTTP_BODY_CLOSE) {
        if ((uint64_t)take > d->wasio__remaining) take = (size_t)d->wasio__remaining;
        d->wasio__remaining -= take;
        if (d->wasio__remaining == 0)
          d->wasio__state = d->wasio__kind == WASIO_HTTP_BODY_CHUNKED ? CHUNK_DATA_CR : BODY_DONE;
      }
      *data = (wasio_http_str_t){in + i, take};
      i += take;
      break; /* one view per call */
    }
    unsigned char c = (unsigned char)in[i++];
    int err = 0;
    if (d->wasio__state == CHUNK_DATA_CR) {
      if (c == '\r') d->wasio__state = CHUNK_DATA_LF;
      else err = WASIO_EHTTP_CHUNK_NO_CRLF;
    } else if (d->wasio__state == CHUNK_DATA_LF) {
      if (c == '\n') d->wasio__state = CHUNK_SIZE;
      else err = WASIO_EHTTP_CHUNK_NO_CRLF;
    } else {
      err = wasio__chunk_line_byte(d, c);
    }
    if (err) {
      *consumed = i - 1;
      return wasio__body_fail(d, err);
    }
  }
  *consumed = i;
  return d->wasio__state == BODY_DONE ? WASIO_HTTP_BODY_DONE : WASIO_HTTP_BODY_MORE;
}

int wasio_http_body_finish(wasio_http_body_t *d) {
  if (d->wasio__error) return d->wasio__error;
  if (d->wasio__state == BODY_DONE || d->wasio__kind == WASIO_HTTP_BODY_CLOSE) {
    d->wasio__state = BODY_DONE;
    return 0;
  }
  return wasio__body_fail(d, WASIO_EHTTP_TRUNCATED);
}
