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
 * - Chunk extensions are parsed by RFC 9112 section 7.1.1's grammar, then
 *   ignored: *( BWS ";" BWS name [ BWS "=" BWS value ] ), name a token,
 *   value a token or a quoted-string (with quoted-pairs). Anything else
 *   ("2;" without a name, a quoted string never closed, whitespace before
 *   the CRLF, a control byte) is WASIO_EHTTP_BAD_CHUNK_EXT: chunk
 *   extensions are where parsers that skip them loosely disagree about
 *   where the line ends (request smuggling). At most WASIO_HTTP_MAX_CHUNK_EXTS
 *   extensions per line, and the whole line is bounded by
 *   WASIO_HTTP_MAX_CHUNK_LINE.
 * - The chunk size is checked for overflow before each digit is shifted in,
 *   so any number of leading zeros is fine but 2^64 is not.
 */
#include <string.h>

#include "http_internal.h"

/* Decoder states (wasio_http_body_t.wasio__state). */
enum {
  BODY_DATA = 0,   /* LENGTH / CLOSE payload, or chunk data */
  CHUNK_SIZE,      /* hex digits of a chunk size */
  CHUNK_EXT_WS,    /* BWS after the size or an extension: only ';' or BWS may follow */
  CHUNK_EXT_SEMI,  /* after ';': BWS, then an extension name */
  CHUNK_EXT_NAME,  /* in a name: tchar, BWS, '=', ';' or CR */
  CHUNK_EXT_NAME_WS, /* BWS after a name: '=', ';' or BWS */
  CHUNK_EXT_EQ,    /* after '=': BWS, then a token or a quoted string */
  CHUNK_EXT_TOKEN, /* in a token value: tchar, BWS, ';' or CR */
  CHUNK_EXT_QUOTED, /* in a quoted string: qdtext, '\' or the closing '"' */
  CHUNK_EXT_QPAIR, /* after '\' in a quoted string: the escaped byte */
  CHUNK_EXT_CLOSED, /* after the closing '"': BWS, ';' or CR */
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

/* qdtext (RFC 9110 section 5.6.4): HTAB, SP, '!', '#'-'[', ']'-'~',
 * obs-text. */
static bool wasio__http_is_qdtext(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* A new extension starts (after ';'). */
static int wasio__chunk_ext_next(wasio_http_body_t *d) {
  if (d->wasio__exts >= WASIO_HTTP_MAX_CHUNK_EXTS) return WASIO_EHTTP_BAD_CHUNK_EXT;
  d->wasio__exts++;
  d->wasio__state = CHUNK_EXT_SEMI;
  return 0;
}

/* One byte of a chunk extension (states CHUNK_EXT_WS .. CHUNK_EXT_CLOSED),
 * never CR or LF. Returns 0 or WASIO_EHTTP_BAD_CHUNK_EXT. */
static int wasio__chunk_ext_byte(wasio_http_body_t *d, unsigned char c) {
  bool ws = wasio__http_is_ws(c), tchar = wasio__http_is_tchar(c);
  switch (d->wasio__state) {
  case CHUNK_EXT_WS: /* only another extension may follow BWS */
    if (ws) return 0;
    if (c == ';') return wasio__chunk_ext_next(d);
    break;
  case CHUNK_EXT_SEMI:
    if (ws) return 0;
    if (tchar) {
      d->wasio__state = CHUNK_EXT_NAME;
      return 0;
    }
    break;
  case CHUNK_EXT_NAME:
  case CHUNK_EXT_NAME_WS:
    if (tchar && d->wasio__state == CHUNK_EXT_NAME) return 0;
    if (ws) {
      d->wasio__state = CHUNK_EXT_NAME_WS;
      return 0;
    }
    if (c == '=') {
      d->wasio__state = CHUNK_EXT_EQ;
      return 0;
    }
    if (c == ';') return wasio__chunk_ext_next(d);
    break;
  case CHUNK_EXT_EQ:
    if (ws) return 0;
    if (c == '"') {
      d->wasio__state = CHUNK_EXT_QUOTED;
      return 0;
    }
    if (tchar) {
      d->wasio__state = CHUNK_EXT_TOKEN;
      return 0;
    }
    break;
  case CHUNK_EXT_TOKEN:
  case CHUNK_EXT_CLOSED:
    if (tchar && d->wasio__state == CHUNK_EXT_TOKEN) return 0;
    if (ws) {
      d->wasio__state = CHUNK_EXT_WS;
      return 0;
    }
    if (c == ';') return wasio__chunk_ext_next(d);
    break;
  case CHUNK_EXT_QUOTED:
    if (c == '"') {
      d->wasio__state = CHUNK_EXT_CLOSED;
      return 0;
    }
    if (c == '\\') {
      d->wasio__state = CHUNK_EXT_QPAIR;
      return 0;
    }
    if (wasio__http_is_qdtext(c)) return 0;
    break;
  case CHUNK_EXT_QPAIR: /* quoted-pair: HTAB, SP, VCHAR, obs-text */
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
      d->wasio__state = CHUNK_EXT_QUOTED;
      return 0;
    }
    break;
  default:
    break;
  }
  return WASIO_EHTTP_BAD_CHUNK_EXT;
}

/* One byte of a chunk-size line (state CHUNK_SIZE .. CHUNK_SIZE_LF).
 * Returns 0 or an error. */
static int wasio__chunk_line_byte(wasio_http_body_t *d, unsigned char c) {
  if (d->wasio__state == CHUNK_SIZE_LF) {
    if (c != '\n') return WASIO_EHTTP_BARE_CR;
    d->wasio__line_len = 0;
    d->wasio__digits = 0;
    d->wasio__exts = 0;
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
    /* The line may end after the size, a name or a value; not after BWS,
     * ';', '=', or inside a quoted string. */
    uint8_t st = d->wasio__state;
    if (st != CHUNK_SIZE && st != CHUNK_EXT_NAME && st != CHUNK_EXT_TOKEN && st != CHUNK_EXT_CLOSED)
      return WASIO_EHTTP_BAD_CHUNK_EXT;
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
    d->wasio__state = CHUNK_EXT_WS;
    return c == ';' ? wasio__chunk_ext_next(d) : 0;
  }
  default: /* the extensions */
    return wasio__chunk_ext_byte(d, c);
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
