/* src/backend/wasip2/http_host.c: the wasip2 backend's part of HTTP
 * through the host (src/core/http_host.h's wasio__bk_http_*) over wasi:http
 * 0.2 types and outgoing-handler. Compiled into the wasi:http variant only
 * (-DWASIO_WASI_HTTP, its own generated bindings: see the Makefile). The
 * protocols' policy (redirects, deadlines, callbacks) is src/http's.
 *
 * Implementation notes
 * - Resource order. wasi:http resources have parents: a pollable is a
 *   child of what it was subscribed from, an input stream of its
 *   incoming-body, an output stream of its outgoing-body, a response's
 *   headers of the response. Hosts trap when a parent is dropped before a
 *   child, so every release drops pollables, then streams, then bodies,
 *   then the response, and the headers of a response are read and dropped
 *   at once.
 * - Reads land in the caller's buffer through the cabi_realloc arena (no
 *   copy), as TCP reads do. A field list lands in the caller's field
 *   buffer the same way: the byte lists in its bytes, the list of pairs in
 *   a scratch array here (one WASI call at a time: the component is single
 *   threaded).
 * - Writes are bounded by check-write's permit, one write per permit; a
 *   body is finished only after its flush completed (check-write permits
 *   again), then its stream is dropped and outgoing-body.finish called:
 *   nothing ever calls a blocking_* function.
 * - Errors. A wasi:http error-code arrives from handle, from the future of
 *   the response, from finish and from the future of the trailers: all go
 *   through wasio__bk_http_error, the one translation. A body stream's
 *   failure is an io-error whose words are read instead
 *   (wasio__http_stream_error says why).
 */
#include <string.h>

#include "wasip2.h"
#include "core/http_host.h"
#include "codec/http_internal.h"
#include "../wasi/http_common.h"

#ifdef WASIO_WASI_HTTP


/* Watching a wasi:http source is a wait of no handle: it holds the loop
 * (internal.h's wasio__loop_hold) while the source is in the poll set. */
static int wasio__http_watch(wasio_loop_t *loop, wasio__src_t *src) {
  bool was = wasio__src_watched(src);
  int rc = wasio__src_watch(loop, src);
  if (rc == 0 && !was) wasio__loop_hold(loop, 1);
  return rc;
}

static void wasio__http_unwatch(wasio_loop_t *loop, wasio__src_t *src) {
  if (wasio__src_watched(src)) wasio__loop_hold(loop, -1);
  wasio__src_unwatch(loop, src);
}

static void wasio__http_src_drop(wasio_loop_t *loop, wasio__src_t *src) {
  wasio__http_unwatch(loop, src);
  wasio__src_drop(loop, src);
}

/* The words of a body stream's io-error (wasio__http_stream_error). */
static const wasio__http_word_t wasio__http_stream_words[] = {
    {"connection read timeout", WASIO_ETIMEDOUT},
    {"error reading a body from connection", WASIO_EHTTP_TRUNCATED},
    {"aborted", WASIO_EHTTP_TRUNCATED},
    {"ECONNRESET", WASIO_ECONNRESET},
};

/* The text of a body stream's io-error, read for what it proves (it is
 * not an API, as the TLS hosts' messages are not: src/backend/wasip2/
 * tls_host.c). wasi:http's http-error-code would be the typed way, but
 * neither test host answers it for a body stream: wasmtime 49 returns none
 * (its errors there are not error-codes), and jco's preview2-shim 0.26
 * traps (it lowers the io-error's Node Error object as an error-code).
 * The words:
 *   wasmtime (hyper): "connection read timeout" (the between-bytes
 *     option), "error reading a body from connection" (the connection
 *     ended or broke before the body's end: a truncation and a reset read
 *     the same);
 *   jco (Node): "aborted" (the same two cases), "read ECONNRESET".
 * (wasio__http_stream_words). Anything else is what a failed stream is
 * for a socket: WASIO_ECONNRESET. The error is dropped. */
static int wasio__http_stream_error(wasi_io_streams_stream_error_t *err, bool writing) {
  if (err->tag != WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) return writing ? WASIO_EPIPE : WASIO_EOF;
  wasi_io_error_own_error_t ioe = err->val.last_operation_failed;
  imports_string_t text = {0};
  wasi_io_error_method_error_to_debug_string(wasi_io_error_borrow_error(ioe), &text);
  /* wasmtime appends a backtrace: the first line is the message. */
  size_t n = 0;
  while (n < text.len && text.ptr[n] != '\n') n++;
  int rc = wasio__http_words(wasio__http_stream_words, sizeof wasio__http_stream_words / sizeof wasio__http_stream_words[0],
                             (const char *)text.ptr, n, WASIO_ECONNRESET);
  wasio__abi_free(text.ptr, text.len);
  wasi_io_error_error_drop_own(ioe);
  return rc;
}

/* ---- sources --------------------------------------------------------------------- */

void wasio__http_host_on_ready(wasio__src_t *src) {
  switch (src->kind) {
    case WASIO__SRC_HTTP_RESPONSE: {
      wasio__bk_http_request_t *r = WASIO__CONTAINER_OF(src, wasio__bk_http_request_t, src);
      r->ready(r->data);
      break;
    }
    case WASIO__SRC_HTTP_BODY_IN: {
      wasio__bk_http_body_in_t *b = WASIO__CONTAINER_OF(src, wasio__bk_http_body_in_t, in_src);
      b->ready(b->data);
      break;
    }
    case WASIO__SRC_HTTP_TRAILERS: {
      wasio__bk_http_body_in_t *b = WASIO__CONTAINER_OF(src, wasio__bk_http_body_in_t, tr_src);
      b->ready(b->data);
      break;
    }
    case WASIO__SRC_HTTP_BODY_OUT: {
      wasio__bk_http_body_out_t *b = WASIO__CONTAINER_OF(src, wasio__bk_http_body_out_t, out_src);
      b->ready(b->data);
      break;
    }
  }
}

/* ---- an outgoing body -------------------------------------------------------------- */

void wasio__bk_http_body_out_init(wasio__bk_http_body_out_t *b, wasio_loop_t *loop, void (*ready)(void *data),
                                  void *data) {
  memset(b, 0, sizeof *b);
  b->loop = loop;
  b->ready = ready;
  b->data = data;
  wasio__src_init(&b->out_src, WASIO__SRC_HTTP_BODY_OUT);
}

int wasio__bk_http_body_out_open(wasio__bk_http_body_out_t *b, wasi_http_types_own_outgoing_body_t body) {
  b->body = body;
  if (!wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(body), &b->out)) {
    b->out.__handle = 0;
    wasio__bk_http_body_out_release(b);
    return WASIO_EIO;
  }
  return 0;
}

static inline wasi_io_streams_borrow_output_stream_t wasio__http_out(const wasio__bk_http_body_out_t *b) {
  return wasi_io_streams_borrow_output_stream(b->out);
}

ptrdiff_t wasio__bk_http_body_out_write(wasio__bk_http_body_out_t *b, const void *data, size_t len) {
  if (b->out.__handle == 0) return WASIO_EPIPE;
  uint64_t permit;
  wasi_io_streams_stream_error_t e;
  if (!wasi_io_streams_method_output_stream_check_write(wasio__http_out(b), &permit, &e))
    return wasio__http_stream_error(&e, true);
  if (permit == 0 || len == 0) return 0;
  size_t n = len < permit ? len : (size_t)permit;
  imports_list_u8_t chunk = {(uint8_t *)(uintptr_t)data, n};
  if (!wasi_io_streams_method_output_stream_write(wasio__http_out(b), &chunk, &e)) return wasio__http_stream_error(&e, true);
  return (ptrdiff_t)n;
}

int wasio__bk_http_body_out_want(wasio__bk_http_body_out_t *b, bool on) {
  if (!on || b->out.__handle == 0) {
    wasio__http_unwatch(b->loop, &b->out_src);
    return 0;
  }
  if (!wasio__src_subscribed(&b->out_src))
    b->out_src.pollable = wasi_io_streams_method_output_stream_subscribe(wasio__http_out(b));
  return wasio__http_watch(b->loop, &b->out_src);
}

int wasio__bk_http_body_out_finish(wasio__bk_http_body_out_t *b, wasio__bk_http_fields_t *trailers) {
  wasi_io_streams_stream_error_t e;
  int rc = 0;
  if (b->body.__handle == 0) {
    rc = WASIO_ESTATE;
    goto done;
  }
  if (b->out.__handle != 0) {
    if (!b->flushed) {
      if (!wasi_io_streams_method_output_stream_flush(wasio__http_out(b), &e)) {
        rc = wasio__http_stream_error(&e, true);
        goto done;
      }
      b->flushed = true;
    }
    uint64_t permit;
    if (!wasi_io_streams_method_output_stream_check_write(wasio__http_out(b), &permit, &e)) {
      rc = wasio__http_stream_error(&e, true);
      goto done;
    }
    if (permit == 0) return WASIO_EAGAIN; /* the flush is not done: the trailers wait with the caller */
    /* The stream is a child of the body: it goes first. */
    wasio__http_src_drop(b->loop, &b->out_src);
    wasi_io_streams_output_stream_drop_own(b->out);
    b->out.__handle = 0;
  }
  wasi_http_types_own_trailers_t t;
  bool has = trailers != NULL && trailers->f.__handle != 0;
  if (has) t = wasio__bk_http_fields_take(trailers);
  wasi_http_types_error_code_t err;
  wasi_http_types_own_outgoing_body_t body = b->body;
  b->body.__handle = 0;
  if (!wasi_http_types_static_outgoing_body_finish(body, has ? &t : NULL, &err)) rc = wasio__bk_http_error(&err);
done:
  if (trailers != NULL) wasio__bk_http_fields_drop(trailers);
  wasio__bk_http_body_out_release(b);
  return rc;
}

void wasio__bk_http_body_out_release(wasio__bk_http_body_out_t *b) {
  if (b->loop == NULL) return;
  wasio__http_src_drop(b->loop, &b->out_src);
  if (b->out.__handle != 0) wasi_io_streams_output_stream_drop_own(b->out);
  b->out.__handle = 0;
  /* Dropped unfinished: the host fails the message rather than end it. */
  if (b->body.__handle != 0) wasi_http_types_outgoing_body_drop_own(b->body);
  b->body.__handle = 0;
}

/* ---- an incoming body -------------------------------------------------------------- */

void wasio__bk_http_body_in_init(wasio__bk_http_body_in_t *b, wasio_loop_t *loop, void (*ready)(void *data),
                                 void *data) {
  memset(b, 0, sizeof *b);
  b->loop = loop;
  b->ready = ready;
  b->data = data;
  wasio__src_init(&b->in_src, WASIO__SRC_HTTP_BODY_IN);
  wasio__src_init(&b->tr_src, WASIO__SRC_HTTP_TRAILERS);
}

int wasio__bk_http_body_in_open(wasio__bk_http_body_in_t *b, wasi_http_types_own_incoming_body_t body) {
  b->body = body;
  if (!wasi_http_types_method_incoming_body_stream(wasi_http_types_borrow_incoming_body(body), &b->in)) {
    b->in.__handle = 0;
    wasio__bk_http_body_in_release(b);
    return WASIO_EIO;
  }
  b->state = WASIO__BK_BODY_IN_STREAM;
  return 0;
}

/* The stream ended: it goes (child first), and the body's finish starts
 * the wait for the trailers. */
static void wasio__http_body_in_end(wasio__bk_http_body_in_t *b) {
  wasio__http_src_drop(b->loop, &b->in_src);
  wasi_io_streams_input_stream_drop_own(b->in);
  b->in.__handle = 0;
  b->trailers = wasi_http_types_static_incoming_body_finish(b->body);
  b->body.__handle = 0;
  b->state = WASIO__BK_BODY_IN_TRAILERS;
}

ptrdiff_t wasio__bk_http_body_in_read(wasio__bk_http_body_in_t *b, void *buf, size_t cap) {
  if (b->state != WASIO__BK_BODY_IN_STREAM) return b->state == WASIO__BK_BODY_IN_NONE ? WASIO_ESTATE : WASIO_EOF;
  imports_list_u8_t data;
  wasi_io_streams_stream_error_t e;
  wasio__arena_set(buf, cap);
  bool ok = wasi_io_streams_method_input_stream_read(wasi_io_streams_borrow_input_stream(b->in), cap, &data, &e);
  wasio__arena_clear();
  if (!ok) {
    int rc = wasio__http_stream_error(&e, false);
    if (rc == WASIO_EOF) wasio__http_body_in_end(b);
    return rc;
  }
  if (data.len > 0 && data.ptr != buf) {
    /* Only if a host allocated differently than asked. */
    memcpy(buf, data.ptr, data.len);
    wasio__abi_free(data.ptr, data.len);
  }
  return (ptrdiff_t)data.len;
}

int wasio__bk_http_body_in_want(wasio__bk_http_body_in_t *b, bool on) {
  wasio__src_t *src = b->state == WASIO__BK_BODY_IN_STREAM ? &b->in_src
                      : b->state == WASIO__BK_BODY_IN_TRAILERS ? &b->tr_src
                                                              : NULL;
  if (!on || src == NULL) {
    wasio__http_unwatch(b->loop, &b->in_src);
    wasio__http_unwatch(b->loop, &b->tr_src);
    return 0;
  }
  if (!wasio__src_subscribed(src))
    src->pollable = src == &b->in_src
                        ? wasi_io_streams_method_input_stream_subscribe(wasi_io_streams_borrow_input_stream(b->in))
                        : wasi_http_types_method_future_trailers_subscribe(
                              wasi_http_types_borrow_future_trailers(b->trailers));
  return wasio__http_watch(b->loop, src);
}

int wasio__bk_http_body_in_trailers(wasio__bk_http_body_in_t *b, wasio__http_fieldbuf_t *out, bool *present) {
  *present = false;
  if (b->state != WASIO__BK_BODY_IN_TRAILERS) return WASIO_ESTATE;
  wasi_http_types_result_result_option_own_trailers_error_code_void_t r;
  if (!wasi_http_types_method_future_trailers_get(wasi_http_types_borrow_future_trailers(b->trailers), &r))
    return WASIO_EAGAIN;
  wasio__http_src_drop(b->loop, &b->tr_src);
  wasi_http_types_future_trailers_drop_own(b->trailers);
  b->trailers.__handle = 0;
  b->state = WASIO__BK_BODY_IN_DONE;
  if (r.is_err) return WASIO_EIO; /* taken before: cannot happen with one get */
  if (r.val.ok.is_err) return wasio__bk_http_error(&r.val.ok.val.err);
  if (!r.val.ok.val.ok.is_some) return 0;
  wasio__bk_http_fields_t f = {r.val.ok.val.ok.val};
  /* An empty list is no trailers (jco's shim always answers one). */
  size_t before = out->n;
  int rc = wasio__bk_http_fields_read(&f, out);
  *present = rc == 0 && out->n > before;
  return rc;
}

void wasio__bk_http_body_in_release(wasio__bk_http_body_in_t *b) {
  if (b->loop == NULL) return;
  wasio__http_src_drop(b->loop, &b->in_src);
  wasio__http_src_drop(b->loop, &b->tr_src);
  if (b->in.__handle != 0) wasi_io_streams_input_stream_drop_own(b->in);
  if (b->body.__handle != 0) wasi_http_types_incoming_body_drop_own(b->body);
  if (b->trailers.__handle != 0) wasi_http_types_future_trailers_drop_own(b->trailers);
  if (b->res.__handle != 0) wasi_http_types_incoming_response_drop_own(b->res);
  b->in.__handle = 0;
  b->body.__handle = 0;
  b->trailers.__handle = 0;
  b->res.__handle = 0;
  b->state = WASIO__BK_BODY_IN_NONE;
}

/* ---- an outgoing request ------------------------------------------------------------- */

void wasio__bk_http_request_init(wasio__bk_http_request_t *r, wasio_loop_t *loop, void (*ready)(void *data),
                                 void *data) {
  memset(r, 0, sizeof *r);
  r->loop = loop;
  r->ready = ready;
  r->data = data;
  wasio__src_init(&r->src, WASIO__SRC_HTTP_RESPONSE);
}

static void wasio__http_option(bool (*set)(wasi_http_types_borrow_request_options_t, wasi_http_types_duration_t *),
                               wasi_http_types_own_request_options_t o, uint64_t ns) {
  wasi_http_types_duration_t d = ns;
  /* A host that refuses an option leaves the guest's own deadline (the
   * client keeps one for each) to bound the call. */
  if (ns != 0) (void)set(wasi_http_types_borrow_request_options(o), &d);
}

int wasio__bk_http_request_send(wasio__bk_http_request_t *r, const wasio__http_request_spec_t *spec,
                                wasio__bk_http_body_out_t *body) {
  wasi_http_types_own_outgoing_request_t req =
      wasi_http_types_constructor_outgoing_request(wasio__bk_http_fields_take(spec->headers));
  wasi_http_types_borrow_outgoing_request_t rb = wasi_http_types_borrow_outgoing_request(req);
  wasi_http_types_method_t m = wasio__http_method(spec->method);
  wasi_http_types_scheme_t scheme = {.tag = spec->https ? WASI_HTTP_TYPES_SCHEME_HTTPS : WASI_HTTP_TYPES_SCHEME_HTTP};
  imports_string_t auth = {(uint8_t *)(uintptr_t)spec->authority.ptr, spec->authority.len};
  imports_string_t path = {(uint8_t *)(uintptr_t)spec->path_with_query.ptr, spec->path_with_query.len};
  int rc = 0;
  if (!wasi_http_types_method_outgoing_request_set_method(rb, &m)) rc = WASIO_EINVAL;
  else if (!wasi_http_types_method_outgoing_request_set_scheme(rb, &scheme)) rc = WASIO_EURL_SCHEME;
  else if (!wasi_http_types_method_outgoing_request_set_authority(rb, &auth)) rc = WASIO_EURL_HOST;
  else if (!wasi_http_types_method_outgoing_request_set_path_with_query(rb, &path)) rc = WASIO_EURL_SYNTAX;
  if (rc == 0 && spec->has_body) {
    wasi_http_types_own_outgoing_body_t ob;
    if (!wasi_http_types_method_outgoing_request_body(rb, &ob)) rc = WASIO_EIO;
    else rc = wasio__bk_http_body_out_open(body, ob);
  }
  if (rc != 0) {
    wasi_http_types_outgoing_request_drop_own(req);
    return rc;
  }
  wasi_http_types_own_request_options_t opts = wasi_http_types_constructor_request_options();
  wasio__http_option(wasi_http_types_method_request_options_set_connect_timeout, opts, spec->connect_ns);
  wasio__http_option(wasi_http_types_method_request_options_set_first_byte_timeout, opts, spec->first_byte_ns);
  wasio__http_option(wasi_http_types_method_request_options_set_between_bytes_timeout, opts, spec->between_bytes_ns);
  wasi_http_types_error_code_t err;
  /* handle takes the request and the options, on success and on failure. */
  if (!wasi_http_outgoing_handler_handle(req, &opts, &r->future, &err)) {
    r->future.__handle = 0;
    if (spec->has_body) wasio__bk_http_body_out_release(body);
    return wasio__bk_http_error(&err);
  }
  r->src.pollable = wasi_http_types_method_future_incoming_response_subscribe(
      wasi_http_types_borrow_future_incoming_response(r->future));
  rc = wasio__http_watch(r->loop, &r->src);
  if (rc != 0) {
    wasio__bk_http_request_release(r);
    if (spec->has_body) wasio__bk_http_body_out_release(body);
  }
  return rc;
}

int wasio__bk_http_response_take(wasio__bk_http_request_t *r, int *status, wasio__http_fieldbuf_t *headers,
                                 wasio__bk_http_body_in_t *body) {
  if (r->future.__handle == 0) return WASIO_ESTATE;
  wasi_http_types_result_result_own_incoming_response_error_code_void_t v;
  if (!wasi_http_types_method_future_incoming_response_get(
          wasi_http_types_borrow_future_incoming_response(r->future), &v))
    return WASIO_EAGAIN;
  wasio__bk_http_request_release(r);
  if (v.is_err) return WASIO_EIO; /* taken before: cannot happen with one get */
  if (v.val.ok.is_err) return wasio__bk_http_error(&v.val.ok.val.err);
  wasi_http_types_own_incoming_response_t res = v.val.ok.val.ok;
  wasi_http_types_borrow_incoming_response_t resb = wasi_http_types_borrow_incoming_response(res);
  *status = wasi_http_types_method_incoming_response_status(resb);
  /* The headers are a child of the response: read and dropped now. */
  wasio__bk_http_fields_t f = {wasi_http_types_method_incoming_response_headers(resb)};
  int rc = wasio__bk_http_fields_read(&f, headers);
  wasi_http_types_own_incoming_body_t ib;
  if (rc == 0 && !wasi_http_types_method_incoming_response_consume(resb, &ib)) rc = WASIO_EIO;
  if (rc != 0) {
    wasi_http_types_incoming_response_drop_own(res);
    return rc;
  }
  body->res = res;
  return wasio__bk_http_body_in_open(body, ib);
}

void wasio__bk_http_request_release(wasio__bk_http_request_t *r) {
  if (r->loop == NULL) return;
  wasio__http_src_drop(r->loop, &r->src);
  if (r->future.__handle != 0) wasi_http_types_future_incoming_response_drop_own(r->future);
  r->future.__handle = 0;
}

#endif
