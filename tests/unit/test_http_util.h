/* tests/unit/test_http_util.h: feeding helpers for the HTTP codec tests.
 *
 * Every parse here runs three ways and asserts they agree: the whole input
 * at once, the input split in two at every byte position, and byte by byte.
 * Each call sees an exact-size heap copy of the bytes presented so far (a
 * new allocation each time, so the buffer also "moves" between calls): one
 * byte of over-read is an ASan heap-buffer-overflow.
 *
 * Results are returned with views rebased onto the caller's original input
 * so tests can compare them with expected text.
 */
#ifndef WASIO_TEST_HTTP_UTIL_H
#define WASIO_TEST_HTTP_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wasio/http_codec.h"

/* Split positions tried by the *_all helpers: every one by default; the
 * tests of the size limits (heads of 16 KiB) use a larger stride. */
static size_t g_split_stride = 1;

static inline char *exact_copy(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  ASSERT_TRUE(p != NULL);
  if (n) memcpy(p, s, n);
  return p;
}

static inline wasio_http_str_t rebase(wasio_http_str_t v, const char *from, const char *to) {
  if (v.ptr == NULL) return v;
  return (wasio_http_str_t){to + (v.ptr - from), v.len};
}

/* Does `v` equal the C string `s`? */
static inline int str_is(wasio_http_str_t v, const char *s) {
  return v.len == strlen(s) && (v.len == 0 || memcmp(v.ptr, s, v.len) == 0);
}
#define ASSERT_STR_IS(v, s)                                                              \
  do {                                                                                   \
    wasio_http_str_t _v = (v);                                                           \
    if (!str_is(_v, (s)))                                                                \
      harness_fail(__FILE__, __LINE__, "%s == \"%s\": got \"%.*s\"", #v, (s), (int)_v.len, \
                   _v.ptr ? _v.ptr : "");                                                \
  } while (0)

/* ---- heads ------------------------------------------------------------------- */

/* Parses msg[0..len) as a request or response (res != NULL) head, one
 * parser per call, on an exact copy. Views rebased onto msg. */
static inline int parse_head_once(const char *msg, size_t len, size_t split, wasio_http_request_t *req,
                           wasio_http_response_t *res, unsigned flags) {
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  int rc = WASIO_EAGAIN;
  if (split > 0 && split < len) {
    char *a = exact_copy(msg, split);
    rc = res ? wasio_http_parse_response(&p, a, split, flags, res)
             : wasio_http_parse_request(&p, a, split, req);
    free(a);
  }
  char *b = exact_copy(msg, len);
  int rc2 = res ? wasio_http_parse_response(&p, b, len, flags, res)
                : wasio_http_parse_request(&p, b, len, req);
  /* A first part that already completed or failed must give the same
   * answer again (completion is re-reported, errors are sticky). */
  if (rc != WASIO_EAGAIN && rc != rc2)
    harness_fail(__FILE__, __LINE__, "split %zu: first part gave %d, whole gave %d", split, rc, rc2);
  if (rc2 > 0) {
    if (res) {
      res->reason = rebase(res->reason, b, msg);
      for (size_t i = 0; i < res->num_headers; i++) {
        res->headers[i].name = rebase(res->headers[i].name, b, msg);
        res->headers[i].value = rebase(res->headers[i].value, b, msg);
      }
    } else {
      req->method = rebase(req->method, b, msg);
      req->target = rebase(req->target, b, msg);
      for (size_t i = 0; i < req->num_headers; i++) {
        req->headers[i].name = rebase(req->headers[i].name, b, msg);
        req->headers[i].value = rebase(req->headers[i].value, b, msg);
      }
    }
  }
  free(b);
  return rc2;
}

static inline int same_framing(const wasio_http_framing_t *a, const wasio_http_framing_t *b) {
  return a->body == b->body && a->content_length == b->content_length &&
         a->has_content_length == b->has_content_length && a->keep_alive == b->keep_alive &&
         a->expect_continue == b->expect_continue && a->upgrade == b->upgrade;
}

static inline int same_headers(const wasio_http_header_t *a, size_t na, const wasio_http_header_t *b, size_t nb) {
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (a[i].name.ptr != b[i].name.ptr || a[i].name.len != b[i].name.len ||
        a[i].value.ptr != b[i].value.ptr || a[i].value.len != b[i].value.len)
      return 0;
  return 1;
}

/* Byte by byte: every prefix shorter than the point of decision must be
 * WASIO_EAGAIN, and the decision must equal `want`. For a complete head the
 * decision must come exactly at its last byte. */
static inline void check_bytewise(const char *msg, size_t len, int want, int is_response, unsigned flags,
                           const char *file, int line) {
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  wasio_http_request_t *req = malloc(sizeof *req);
  wasio_http_response_t *res = malloc(sizeof *res);
  int rc = WASIO_EAGAIN;
  size_t k = 0;
  while (rc == WASIO_EAGAIN && k < len) {
    k++;
    char *c = exact_copy(msg, k);
    rc = is_response ? wasio_http_parse_response(&p, c, k, flags, res)
                     : wasio_http_parse_request(&p, c, k, req);
    free(c);
  }
  free(req);
  free(res);
  if (rc != want)
    harness_fail(file, line, "byte by byte: got %s (%d) after %zu bytes, want %s (%d)",
                 harness_err_name(rc), rc, k, harness_err_name(want), want);
  if (want > 0 && (size_t)want != k)
    harness_fail(file, line, "byte by byte: completed after %zu bytes, head is %d", k, want);
}

/* Parses a request every way; returns the common result, fills *req. */
static inline int parse_request_all(const char *msg, size_t len, wasio_http_request_t *req, const char *file,
                             int line) {
  int rc = parse_head_once(msg, len, 0, req, NULL, 0);
  wasio_http_request_t *other = malloc(sizeof *other);
  for (size_t k = 1; k < len; k += g_split_stride) {
    int r = parse_head_once(msg, len, k, other, NULL, 0);
    if (r != rc) harness_fail(file, line, "split at %zu: %s vs one piece %s", k, harness_err_name(r), harness_err_name(rc));
    if (rc > 0 &&
        (other->method.ptr != req->method.ptr || other->target.ptr != req->target.ptr ||
         other->target.len != req->target.len || other->version_minor != req->version_minor ||
         !same_headers(other->headers, other->num_headers, req->headers, req->num_headers) ||
         !same_framing(&other->framing, &req->framing)))
      harness_fail(file, line, "split at %zu: different request", k);
  }
  free(other);
  check_bytewise(msg, len, rc, 0, 0, file, line);
  return rc;
}

static inline int parse_response_all(const char *msg, size_t len, unsigned flags, wasio_http_response_t *res,
                              const char *file, int line) {
  int rc = parse_head_once(msg, len, 0, NULL, res, flags);
  wasio_http_response_t *other = malloc(sizeof *other);
  for (size_t k = 1; k < len; k += g_split_stride) {
    int r = parse_head_once(msg, len, k, NULL, other, flags);
    if (r != rc) harness_fail(file, line, "split at %zu: %s vs one piece %s", k, harness_err_name(r), harness_err_name(rc));
    if (rc > 0 && (other->status != res->status || other->reason.ptr != res->reason.ptr ||
                   other->reason.len != res->reason.len || other->version_minor != res->version_minor ||
                   !same_headers(other->headers, other->num_headers, res->headers, res->num_headers) ||
                   !same_framing(&other->framing, &res->framing)))
      harness_fail(file, line, "split at %zu: different response", k);
  }
  free(other);
  check_bytewise(msg, len, rc, 1, flags, file, line);
  return rc;
}

/* The request in `lit` (a string literal) parsed every way must give `want`. */
#define REQ(lit, req) parse_request_all((lit), sizeof(lit) - 1, (req), __FILE__, __LINE__)
#define RESP(lit, flags, res) parse_response_all((lit), sizeof(lit) - 1, (flags), (res), __FILE__, __LINE__)

/* ---- bodies ---------------------------------------------------------------------- */

#define BODY_OUT_MAX 65536
#define BODY_TRAILERS_TEXT 1024

typedef struct body_result {
  int rc;          /* DONE, MORE (input ended first), or an error */
  size_t consumed; /* bytes of input that belonged to the body */
  size_t payload_len;
  char payload[BODY_OUT_MAX];
  char trailers[BODY_TRAILERS_TEXT]; /* "name=value;" per trailer field */
} body_result_t;

/* Decodes in[0..len) presented as fragments of `step` bytes (0: all at
 * once), or as two parts split at `split` when step is SIZE_MAX. Follows
 * the feeding rule: unconsumed bytes are kept and presented again. */
static inline void decode_body(wasio_http_body_kind_t kind, uint64_t cl, const char *in, size_t len, size_t step,
                        size_t split, body_result_t *out) {
  wasio_http_body_t d;
  wasio_http_trailers_t tr;
  wasio_http_body_init_kind(&d, kind, cl, &tr);
  memset(out, 0, sizeof *out);
  out->rc = WASIO_HTTP_BODY_MORE;
  size_t given = 0, pos = 0; /* bytes handed over so far; start of pending */
  for (;;) {
    size_t next;
    if (step == SIZE_MAX) next = given < split ? split : len;
    else if (step == 0) next = len;
    else next = given + step < len ? given + step : len;
    given = next;
    for (;;) {
      size_t n = given - pos, used = 0;
      char *c = exact_copy(in + pos, n);
      wasio_http_str_t data;
      int rc = wasio_http_body_decode(&d, c, n, &used, &data);
      ASSERT_LE_U64(used, n);
      if (data.len) {
        ASSERT_TRUE(data.ptr >= c && data.ptr + data.len <= c + n);
        ASSERT_LE_U64(out->payload_len + data.len, BODY_OUT_MAX);
        memcpy(out->payload + out->payload_len, data.ptr, data.len);
        out->payload_len += data.len;
      }
      if (rc == WASIO_HTTP_BODY_DONE) {
        for (size_t i = 0; i < tr.num_fields; i++) {
          size_t t = strlen(out->trailers);
          snprintf(out->trailers + t, sizeof out->trailers - t, "%.*s=%.*s;", (int)tr.fields[i].name.len,
                   tr.fields[i].name.ptr, (int)tr.fields[i].value.len, tr.fields[i].value.ptr);
        }
      }
      free(c);
      pos += used;
      if (rc == WASIO_HTTP_BODY_DONE || (rc < 0 && rc != WASIO_EAGAIN)) {
        out->rc = rc;
        out->consumed = pos;
        return;
      }
      if (rc == WASIO_EAGAIN || pos == given) break;
      ASSERT_TRUE(used > 0 || data.len > 0); /* progress */
    }
    if (given == len) {
      out->consumed = pos;
      return;
    }
  }
}

/* Decodes every way and asserts agreement; returns the one-piece result. */
static inline void decode_body_all(wasio_http_body_kind_t kind, uint64_t cl, const char *in, size_t len,
                            body_result_t *out, const char *file, int line) {
  decode_body(kind, cl, in, len, 0, 0, out);
  body_result_t *o = malloc(sizeof *o);
  for (size_t k = 0; k <= len + 1; k++) {
    if (k == len + 1) decode_body(kind, cl, in, len, 1, 0, o); /* byte by byte */
    else decode_body(kind, cl, in, len, SIZE_MAX, k, o);
    if (o->rc != out->rc || o->consumed != out->consumed || o->payload_len != out->payload_len ||
        memcmp(o->payload, out->payload, o->payload_len) != 0 || strcmp(o->trailers, out->trailers) != 0)
      harness_fail(file, line, "%s %zu: rc %s consumed %zu payload %zu trailers '%s' vs one piece: rc %s consumed %zu payload %zu trailers '%s'",
                   k == len + 1 ? "byte by byte" : "split at", k, harness_err_name(o->rc), o->consumed,
                   o->payload_len, o->trailers, harness_err_name(out->rc), out->consumed, out->payload_len,
                   out->trailers);
  }
  free(o);
}

#define CHUNKED(lit, out) \
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, (lit), sizeof(lit) - 1, (out), __FILE__, __LINE__)

#endif
