/* src/codec/http_parse.c: HTTP/1.x heads (request, response, trailer
 * sections) parsed into views of the caller's buffer (wasio/http_codec.h).
 *
 * Implementation notes
 * - Two layers. A byte lexer (wasio__http_lex) walks the bytes once, across
 *   calls: it enforces CRLF discipline and the size limits, and each time a
 *   line ends it validates that whole line with the line parsers below. It
 *   keeps offsets only (never pointers), so the caller's buffer may move
 *   between calls, and it never looks at a byte twice, so feeding byte by
 *   byte is O(n). When the empty line arrives, one final pass splits the
 *   (already validated) lines into views and derives the body framing.
 * - Every decision depends only on bytes already seen, in order, so any
 *   split of the input yields the same result: the first offending byte or
 *   line decides the error. The one-byte look-ahead of CR (is it followed by
 *   LF?) is a lexer state, not a peek past the end of the buffer.
 * - Header semantics (Content-Length, Transfer-Encoding, Connection, Expect,
 *   Host) are evaluated in the final pass, in field order; see
 *   wasio__http_framing() for the precedence of the smuggling checks.
 * - No allocation, no locale: character classes are explicit.
 */
#include <string.h>

#include "http_internal.h"

/* Lexer states (wasio_http_parser_t.wasio__state). */
enum { LEX_LINE = 0, LEX_CR = 1, LEX_DONE = 2 };

/* ---- character classes ------------------------------------------------------ */

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA, as a table: it is
 * the hottest test of the parser. */
static const uint8_t wasio__http_tchar[256] = {
  ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
  ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
  ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
  ['8'] = 1, ['9'] = 1,
  ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
  ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
  ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
  ['Y'] = 1, ['Z'] = 1,
  ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
  ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
  ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
  ['y'] = 1, ['z'] = 1,
};

bool wasio__http_is_tchar(unsigned char c) { return wasio__http_tchar[c] != 0; }

static unsigned char wasio__lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool wasio__http_ieq(wasio_http_str_t s, const char *lit) {
  size_t n = strlen(lit);
  if (s.len != n) return false;
  for (size_t i = 0; i < n; i++)
    if (wasio__lower((unsigned char)s.ptr[i]) != (unsigned char)lit[i]) return false;
  return true;
}

/* ---- line parsers (each gets one complete line without its CRLF) -------------- */

/* "HTTP/1.D" exactly; stores D. */
static bool wasio__http_version(const char *s, size_t n, int *minor) {
  if (n != 8 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9') return false;
  *minor = s[7] - '0';
  return true;
}

/* The parts of a start line. */
typedef struct wasio__http_start {
  wasio_http_str_t a, b; /* method and target, or reason */
  int minor, status;
} wasio__http_start_t;

/* method SP request-target SP HTTP-version */
static int wasio__http_request_line(const char *s, size_t n, wasio__http_start_t *out) {
  size_t i = 0;
  while (i < n && wasio__http_is_tchar((unsigned char)s[i])) i++;
  if (i == 0 || i == n || s[i] != ' ') return WASIO_EHTTP_BAD_METHOD;
  out->a = (wasio_http_str_t){s, i};
  size_t t = ++i;
  /* The target is visible ASCII; its form (origin, absolute, authority,
   * asterisk) is the server's business. */
  while (i < n && (unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f) i++;
  if (i == t || (i < n && s[i] != ' ')) return WASIO_EHTTP_BAD_TARGET;
  if (i == n) return WASIO_EHTTP_BAD_VERSION; /* no version: HTTP/0.9 */
  out->b = (wasio_http_str_t){s + t, i - t};
  i++;
  if (!wasio__http_version(s + i, n - i, &out->minor)) return WASIO_EHTTP_BAD_VERSION;
  return 0;
}

/* HTTP-version SP 3DIGIT [SP reason-phrase]. The SP before an empty reason
 * may be missing: some servers omit it and it frames nothing. */
static int wasio__http_status_line(const char *s, size_t n, wasio__http_start_t *out) {
  if (n < 8 || !wasio__http_version(s, 8, &out->minor)) return WASIO_EHTTP_BAD_VERSION;
  if (n < 12 || s[8] != ' ') return WASIO_EHTTP_BAD_STATUS;
  int status = 0;
  for (size_t i = 9; i < 12; i++) {
    if (s[i] < '0' || s[i] > '9') return WASIO_EHTTP_BAD_STATUS;
    status = status * 10 + (s[i] - '0');
  }
  if (status < 100) return WASIO_EHTTP_BAD_STATUS;
  out->status = status;
  out->b = (wasio_http_str_t){s + n, 0};
  if (n == 12) return 0;
  if (s[12] != ' ') return WASIO_EHTTP_BAD_STATUS;
  for (size_t i = 13; i < n; i++)
    if (!wasio__http_is_field_byte((unsigned char)s[i])) return WASIO_EHTTP_BAD_STATUS;
  out->b = (wasio_http_str_t){s + 13, n - 13};
  return 0;
}

int wasio__http_parse_field_line(const char *s, size_t n, wasio_http_header_t *out) {
  if (n > 0 && wasio__http_is_ws((unsigned char)s[0])) return WASIO_EHTTP_OBS_FOLD;
  size_t i = 0;
  while (i < n && wasio__http_is_tchar((unsigned char)s[i])) i++;
  size_t name_len = i;
  if (i < n && wasio__http_is_ws((unsigned char)s[i])) {
    while (i < n && wasio__http_is_ws((unsigned char)s[i])) i++;
    /* "Name : v" is refused outright (RFC 9112 section 5.1): proxies that
     * strip the space and ones that do not would disagree on the name. */
    if (name_len > 0 && i < n && s[i] == ':') return WASIO_EHTTP_SPACE_BEFORE_COLON;
    return WASIO_EHTTP_BAD_HEADER_NAME;
  }
  if (name_len == 0 || i == n || s[i] != ':') return WASIO_EHTTP_BAD_HEADER_NAME;
  i++;
  while (i < n && wasio__http_is_ws((unsigned char)s[i])) i++;
  size_t end = n;
  while (end > i && wasio__http_is_ws((unsigned char)s[end - 1])) end--;
  for (size_t k = i; k < end; k++)
    if (!wasio__http_is_field_byte((unsigned char)s[k])) return WASIO_EHTTP_BAD_HEADER_VALUE;
  out->name = (wasio_http_str_t){s, name_len};
  out->value = (wasio_http_str_t){s + i, end - i};
  return 0;
}

/* ---- the lexer --------------------------------------------------------------- */

static void wasio__http_parser_init_kind(wasio_http_parser_t *p, uint8_t kind) {
  memset(p, 0, sizeof *p);
  p->wasio__kind = kind;
  p->wasio__state = LEX_LINE;
}

void wasio_http_parser_init(wasio_http_parser_t *p) {
  wasio__http_parser_init_kind(p, 0); /* request or response: set on first use */
}

void wasio__http_parser_init_trailers(wasio_http_parser_t *p) {
  wasio__http_parser_init_kind(p, WASIO__HTTP_TRAILERS);
}

static bool wasio__http_has_start_line(const wasio_http_parser_t *p) {
  return p->wasio__kind != WASIO__HTTP_TRAILERS;
}

static size_t wasio__http_max_fields(const wasio_http_parser_t *p) {
  return wasio__http_has_start_line(p) ? WASIO_HTTP_MAX_HEADERS : WASIO_HTTP_MAX_TRAILERS;
}

/* Validates one complete, non-empty line [s, s+n). `index` is its number
 * among the non-empty lines of the head (0 = start line, if any). */
static int wasio__http_check_line(const wasio_http_parser_t *p, const char *s, size_t n,
                                  uint32_t index) {
  if (index == 0 && wasio__http_has_start_line(p)) {
    wasio__http_start_t scratch;
    return p->wasio__kind == WASIO__HTTP_REQUEST ? wasio__http_request_line(s, n, &scratch)
                                                 : wasio__http_status_line(s, n, &scratch);
  }
  size_t fields_before = index - (wasio__http_has_start_line(p) ? 1u : 0u);
  if (fields_before >= wasio__http_max_fields(p)) return WASIO_EHTTP_TOO_MANY_HEADERS;
  wasio_http_header_t scratch;
  return wasio__http_parse_field_line(s, n, &scratch);
}

/* Advances the lexer over buf[scanned..len). Returns the head length when
 * the empty line has been seen, WASIO_EAGAIN, or an error (also stored). */
static int wasio__http_lex(wasio_http_parser_t *p, const char *buf, size_t len) {
  if (p->wasio__error) return p->wasio__error;
  if (len < p->wasio__scanned) return WASIO_EINVAL;
  if (p->wasio__state == LEX_DONE) return (int)p->wasio__head_len;
  int err = 0;
  size_t i = p->wasio__scanned;
  for (; i < len; i++) {
    if (p->wasio__state == LEX_LINE) {
      /* Fast path: skip the bytes that need no decision (neither CR nor LF,
       * within the limits); the byte we stop at goes the long way. */
      size_t stop = len < WASIO_HTTP_MAX_HEAD ? len : WASIO_HTTP_MAX_HEAD;
      if (p->wasio__lines == 0 && wasio__http_has_start_line(p) &&
          stop > (size_t)p->wasio__line_start + WASIO_HTTP_MAX_START_LINE)
        stop = (size_t)p->wasio__line_start + WASIO_HTTP_MAX_START_LINE;
      while (i < stop && buf[i] != '\r' && buf[i] != '\n') i++;
      if (i == len) break;
    }
    unsigned char c = (unsigned char)buf[i];
    if (i >= WASIO_HTTP_MAX_HEAD) {
      err = WASIO_EHTTP_HEADERS_TOO_LARGE;
      break;
    }
    if (p->wasio__state == LEX_CR) {
      if (c != '\n') {
        err = WASIO_EHTTP_BARE_CR;
        break;
      }
      size_t start = p->wasio__line_start, n = i - 1 - start;
      p->wasio__state = LEX_LINE;
      p->wasio__line_start = (uint32_t)(i + 1);
      if (n == 0) {
        if (p->wasio__lines == 0 && wasio__http_has_start_line(p)) {
          p->wasio__first_line = (uint32_t)(i + 1); /* leading empty line */
          continue;
        }
        p->wasio__state = LEX_DONE;
        p->wasio__head_len = (uint32_t)(i + 1);
        p->wasio__scanned = (uint32_t)(i + 1);
        return (int)p->wasio__head_len;
      }
      err = wasio__http_check_line(p, buf + start, n, p->wasio__lines);
      if (err) break;
      p->wasio__lines++;
      continue;
    }
    if (c == '\r') {
      p->wasio__state = LEX_CR;
    } else if (c == '\n') {
      err = WASIO_EHTTP_BARE_LF;
      break;
    } else if (p->wasio__lines == 0 && wasio__http_has_start_line(p) &&
               i - p->wasio__line_start >= WASIO_HTTP_MAX_START_LINE) {
      err = WASIO_EHTTP_START_LINE_TOO_LONG;
      break;
    }
  }
  p->wasio__scanned = (uint32_t)i;
  if (err) {
    p->wasio__error = err;
    return err;
  }
  return WASIO_EAGAIN;
}

/* Yields the next non-empty line (without CRLF) of a completed head,
 * starting at offset *off, and moves *off past it. The lines were validated
 * by the lexer, so each ends in CRLF before the final empty line at
 * head_len - 2. */
static bool wasio__http_next_line(const wasio_http_parser_t *p, const char *buf, size_t *off,
                                  wasio_http_str_t *line) {
  size_t end = p->wasio__head_len - 2;
  if (*off >= end) return false;
  const char *s = buf + *off;
  const char *cr = memchr(s, '\r', end - *off);
  line->ptr = s;
  line->len = (size_t)(cr - s);
  *off += line->len + 2;
  return true;
}

/* ---- framing (RFC 9112 section 6) ---------------------------------------------- */

/* Parses a Content-Length value: a comma list of 1*DIGIT, all equal.
 * Merges it into *have and *value. */
static int wasio__http_content_length(wasio_http_str_t v, bool *have, uint64_t *value) {
  size_t i = 0;
  if (v.len == 0) return WASIO_EHTTP_BAD_CONTENT_LENGTH;
  for (;;) {
    size_t start = i;
    uint64_t n = 0;
    while (i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9') {
      unsigned d = (unsigned)(v.ptr[i] - '0');
      if (n > (UINT64_MAX - d) / 10) return WASIO_EHTTP_BAD_CONTENT_LENGTH;
      n = n * 10 + d;
      i++;
    }
    if (i == start) return WASIO_EHTTP_BAD_CONTENT_LENGTH;
    if (*have && *value != n) return WASIO_EHTTP_CONTENT_LENGTH_MISMATCH;
    *have = true;
    *value = n;
    while (i < v.len && wasio__http_is_ws((unsigned char)v.ptr[i])) i++;
    if (i == v.len) return 0;
    if (v.ptr[i] != ',') return WASIO_EHTTP_BAD_CONTENT_LENGTH;
    i++;
    while (i < v.len && wasio__http_is_ws((unsigned char)v.ptr[i])) i++;
  }
}

/* Iterates the elements of a comma list, trimmed; empty elements are
 * skipped (RFC 9110 section 5.6.1). */
typedef struct wasio__http_list {
  wasio_http_str_t v;
  size_t pos;
} wasio__http_list_t;

static bool wasio__http_list_next(wasio__http_list_t *l, wasio_http_str_t *elem) {
  const char *s = l->v.ptr;
  size_t n = l->v.len;
  while (l->pos < n) {
    size_t start = l->pos;
    while (l->pos < n && s[l->pos] != ',') l->pos++;
    size_t end = l->pos;
    if (l->pos < n) l->pos++; /* the comma */
    while (start < end && wasio__http_is_ws((unsigned char)s[start])) start++;
    while (end > start && wasio__http_is_ws((unsigned char)s[end - 1])) end--;
    if (end > start) {
      *elem = (wasio_http_str_t){s + start, end - start};
      return true;
    }
  }
  return false;
}

bool wasio_http_has_token(wasio_http_str_t value, const char *token) {
  wasio__http_list_t l = {value, 0};
  wasio_http_str_t e;
  while (wasio__http_list_next(&l, &e))
    if (e.len == strlen(token)) {
      size_t k = 0;
      while (k < e.len && wasio__lower((unsigned char)e.ptr[k]) == wasio__lower((unsigned char)token[k])) k++;
      if (k == e.len) return true;
    }
  return false;
}

int wasio_http_find_header(const wasio_http_header_t *headers, size_t n, const char *name,
                           size_t *pos) {
  size_t nlen = strlen(name);
  for (size_t i = *pos; i < n; i++) {
    if (headers[i].name.len != nlen) continue;
    size_t k = 0;
    while (k < nlen && wasio__lower((unsigned char)headers[i].name.ptr[k]) ==
                           wasio__lower((unsigned char)name[k]))
      k++;
    if (k == nlen) {
      *pos = i + 1;
      return (int)i;
    }
  }
  *pos = n;
  return -1;
}

/* What the fields say, before request/response rules apply. */
typedef struct wasio__http_fields {
  bool has_cl, has_te, te_chunked_only, conn_close, conn_keep_alive, conn_upgrade;
  bool has_upgrade, expect_continue;
  unsigned hosts;
  size_t host;   /* index of the (first) Host field */
  uint64_t cl;
} wasio__http_fields_t;

/* Scans the fields in order. Precedence when several problems exist: a
 * malformed or conflicting Content-Length is reported at its field; then
 * Content-Length with Transfer-Encoding; then a Transfer-Encoding that is
 * not exactly one "chunked" (wasio__http_framing). */
static int wasio__http_scan_fields(const wasio_http_header_t *h, size_t n,
                                   wasio__http_fields_t *f) {
  memset(f, 0, sizeof *f);
  unsigned te_elems = 0;
  bool te_other = false;
  for (size_t i = 0; i < n; i++) {
    wasio_http_str_t name = h[i].name, v = h[i].value;
    if (wasio__http_ieq(name, "content-length")) {
      int err = wasio__http_content_length(v, &f->has_cl, &f->cl);
      if (err) return err;
    } else if (wasio__http_ieq(name, "transfer-encoding")) {
      f->has_te = true;
      wasio__http_list_t l = {v, 0};
      wasio_http_str_t e;
      while (wasio__http_list_next(&l, &e)) {
        te_elems++;
        if (!wasio__http_ieq(e, "chunked")) te_other = true;
      }
    } else if (wasio__http_ieq(name, "connection")) {
      if (wasio_http_has_token(v, "close")) f->conn_close = true;
      if (wasio_http_has_token(v, "keep-alive")) f->conn_keep_alive = true;
      if (wasio_http_has_token(v, "upgrade")) f->conn_upgrade = true;
    } else if (wasio__http_ieq(name, "expect")) {
      if (wasio__http_ieq(v, "100-continue")) f->expect_continue = true;
    } else if (wasio__http_ieq(name, "host")) {
      if (f->hosts++ == 0) f->host = i;
    } else if (wasio__http_ieq(name, "upgrade")) {
      f->has_upgrade = true;
    }
  }
  f->te_chunked_only = f->has_te && te_elems == 1 && !te_other;
  return 0;
}

/* Framing common to requests and responses; `bodyless` forces no body (a
 * HEAD response, 1xx/204/304, a tunnel). */
static int wasio__http_framing(const wasio__http_fields_t *f, int minor, bool is_request,
                               bool bodyless, wasio_http_framing_t *out) {
  memset(out, 0, sizeof *out);
  if (f->has_cl && f->has_te) return WASIO_EHTTP_CL_AND_TE;
  /* HTTP/1.0 has no transfer codings: a TE there is faulty framing (RFC
   * 9112 section 6.1), as is anything but one final "chunked". */
  if (f->has_te && (!f->te_chunked_only || minor == 0)) return WASIO_EHTTP_BAD_TRANSFER_ENCODING;
  out->has_content_length = f->has_cl;
  out->content_length = f->cl;
  out->keep_alive = minor >= 1 ? !f->conn_close : (f->conn_keep_alive && !f->conn_close);
  if (bodyless)
    out->body = WASIO_HTTP_BODY_NONE;
  else if (f->has_te)
    out->body = WASIO_HTTP_BODY_CHUNKED;
  else if (f->has_cl)
    out->body = f->cl > 0 ? WASIO_HTTP_BODY_LENGTH : WASIO_HTTP_BODY_NONE;
  else if (is_request)
    out->body = WASIO_HTTP_BODY_NONE;
  else {
    out->body = WASIO_HTTP_BODY_CLOSE;
    out->keep_alive = false;
  }
  return 0;
}

int wasio__http_request_framing(const wasio_http_header_t *headers, size_t n, int version_minor,
                                wasio_http_framing_t *out) {
  wasio__http_fields_t f;
  int err = wasio__http_scan_fields(headers, n, &f);
  if (!err) err = wasio__http_framing(&f, version_minor, true, false, out);
  if (err) return err;
  out->expect_continue = f.expect_continue && version_minor >= 1;
  out->upgrade = f.conn_upgrade && f.has_upgrade;
  return 0;
}

/* ---- the public parsers ---------------------------------------------------------- */

/* Runs the lexer for a head of `kind`; > 0 when complete. */
static int wasio__http_head(wasio_http_parser_t *p, uint8_t kind, const char *buf, size_t len) {
  if (p->wasio__kind == 0) p->wasio__kind = kind;
  if (p->wasio__kind != kind) return WASIO_EINVAL;
  if (buf == NULL && len != 0) return WASIO_EINVAL;
  return wasio__http_lex(p, buf, len);
}

/* Splits a field line that the lexer has validated: the name is the
 * token before the first colon, the value the rest without surrounding
 * whitespace. */
static void wasio__http_split_field_line(const char *s, size_t n, wasio_http_header_t *out) {
  size_t colon = (size_t)((const char *)memchr(s, ':', n) - s);
  size_t i = colon + 1, end = n;
  while (i < end && wasio__http_is_ws((unsigned char)s[i])) i++;
  while (end > i && wasio__http_is_ws((unsigned char)s[end - 1])) end--;
  out->name = (wasio_http_str_t){s, colon};
  out->value = (wasio_http_str_t){s + i, end - i};
}

/* Splits the field lines of a completed head into headers[]; the lines
 * were validated by the lexer, so this cannot fail. */
static size_t wasio__http_split_fields(const wasio_http_parser_t *p, const char *buf,
                                       size_t off, wasio_http_header_t *headers) {
  size_t count = 0;
  wasio_http_str_t line;
  while (wasio__http_next_line(p, buf, &off, &line))
    wasio__http_split_field_line(line.ptr, line.len, &headers[count++]);
  return count;
}

static int wasio__http_fail(wasio_http_parser_t *p, int err) {
  p->wasio__error = err;
  return err;
}

int wasio_http_parse_request(wasio_http_parser_t *p, const char *buf, size_t len,
                             wasio_http_request_t *req) {
  int rc = wasio__http_head(p, WASIO__HTTP_REQUEST, buf, len);
  if (rc <= 0) return rc;
  size_t off = p->wasio__first_line;
  wasio_http_str_t line;
  (void)wasio__http_next_line(p, buf, &off, &line);
  wasio__http_start_t start;
  (void)wasio__http_request_line(line.ptr, line.len, &start);
  req->method = start.a;
  req->target = start.b;
  req->version_minor = start.minor;
  req->num_headers = wasio__http_split_fields(p, buf, off, req->headers);
  wasio__http_fields_t f;
  int err = wasio__http_scan_fields(req->headers, req->num_headers, &f);
  /* RFC 9112 section 3.2: a server answers 400 to an HTTP/1.1 request
   * without Host, and to any request with more than one Host field or an
   * invalid Host value (not uri-host [":" port]). */
  if (!err && (f.hosts > 1 || (req->version_minor >= 1 && f.hosts == 0))) err = WASIO_EHTTP_BAD_HOST;
  if (!err && f.hosts == 1 && !wasio_http_host_valid(req->headers[f.host].value)) err = WASIO_EHTTP_BAD_HOST;
  if (!err) err = wasio__http_framing(&f, req->version_minor, true, false, &req->framing);
  if (err) return wasio__http_fail(p, err);
  req->framing.expect_continue = f.expect_continue && req->version_minor >= 1;
  req->framing.upgrade = f.conn_upgrade && f.has_upgrade;
  return rc;
}

int wasio_http_parse_response(wasio_http_parser_t *p, const char *buf, size_t len,
                              unsigned flags, wasio_http_response_t *res) {
  int rc = wasio__http_head(p, WASIO__HTTP_RESPONSE, buf, len);
  if (rc <= 0) return rc;
  size_t off = p->wasio__first_line;
  wasio_http_str_t line;
  (void)wasio__http_next_line(p, buf, &off, &line);
  wasio__http_start_t start;
  (void)wasio__http_status_line(line.ptr, line.len, &start);
  res->version_minor = start.minor;
  res->status = start.status;
  res->reason = start.b;
  res->num_headers = wasio__http_split_fields(p, buf, off, res->headers);
  wasio__http_fields_t f;
  int err = wasio__http_scan_fields(res->headers, res->num_headers, &f);
  int s = res->status;
  bool tunnel = (flags & WASIO_HTTP_RESPONSE_TO_CONNECT) && s >= 200 && s < 300;
  bool bodyless = s < 200 || s == 204 || s == 304 || tunnel || (flags & WASIO_HTTP_RESPONSE_TO_HEAD);
  if (!err) err = wasio__http_framing(&f, res->version_minor, false, bodyless, &res->framing);
  if (err) return wasio__http_fail(p, err);
  res->framing.upgrade = s == 101 || tunnel;
  return rc;
}

int wasio__http_parse_trailers(wasio_http_parser_t *p, const char *buf, size_t len,
                               wasio_http_trailers_t *out) {
  int rc = wasio__http_head(p, WASIO__HTTP_TRAILERS, buf, len);
  if (rc <= 0 || out == NULL) return rc;
  out->num_fields = wasio__http_split_fields(p, buf, 0, out->fields);
  return rc;
}
