/* src/backend/wasip2/http_host.h: the wasip2 backend's state for HTTP
 * through the host (wasi:http 0.2), compiled only in the wasi:http variant
 * (-DWASIO_WASI_HTTP, libwasio-http.a). Included by backend.h, so that the
 * layers above can embed these objects (as the handles embed ->b) without
 * seeing a WASI type: they use them only through the functions of
 * src/core/http_host.h.
 *
 * Four objects, each owning its resources and the pollable it waits on:
 * - wasio__bk_http_fields_t: a `fields` resource being built or read;
 * - wasio__bk_http_request_t: an outgoing request handed to
 *   outgoing-handler.handle, until its future-incoming-response gives the
 *   response head (the client);
 * - wasio__bk_http_body_in_t: an incoming body (of a response, or of a
 *   request on the server side), its input stream, then its future-trailers;
 * - wasio__bk_http_body_out_t: an outgoing body (of a request, or of a
 *   response on the server side) and its output stream, until finish.
 * A ready pollable calls the object's `ready(data)` from phase 3 (one
 * upcall per object, set by its init function): the owner then asks the
 * object what happened, as the core asks a TCP socket.
 *
 * The functions taking WASI types (wasio__bk_http_body_in_open, _out_open)
 * are for the backend's own files: the incoming-handler export wraps the
 * request it is given with them.
 */
#ifndef WASIO_WASIP2_HTTP_HOST_H
#define WASIO_WASIP2_HTTP_HOST_H

#ifdef WASIO_WASI_HTTP

/* The core and the layers above see HTTP through the host
 * (src/core/http_host.h). */
#define WASIO__BK_WASI_HTTP 1
/* Every field of a fields resource (src/backend/wasi/http_common.c). */
#define WASIO__HTTP_FIELDS_ALL wasi_http_types_method_fields_entries
/* The incoming request's head (http_common.c's wasio__http_incoming_head_read). */
#define WASIO__HTTP_IN_BORROW_T wasi_http_types_borrow_incoming_request_t
#define WASIO__HTTP_IN_METHOD wasi_http_types_method_incoming_request_method
#define WASIO__HTTP_IN_PATH wasi_http_types_method_incoming_request_path_with_query
#define WASIO__HTTP_IN_AUTHORITY wasi_http_types_method_incoming_request_authority
#define WASIO__HTTP_IN_HEADERS wasi_http_types_method_incoming_request_headers

typedef void (*wasio__bk_http_ready_fn)(void *data);

typedef struct wasio__bk_http_fields {
  wasi_http_types_own_fields_t f; /* __handle 0: none */
} wasio__bk_http_fields_t;

typedef struct wasio__bk_http_request {
  struct wasio_loop *loop;
  wasi_http_types_own_future_incoming_response_t future;
  wasio__src_t src;
  wasio__bk_http_ready_fn ready;
  void *data;
} wasio__bk_http_request_t;

/* The states of an incoming body (wasio__bk_http_body_in_t.state). */
enum {
  WASIO__BK_BODY_IN_NONE = 0, /* nothing opened, or released */
  WASIO__BK_BODY_IN_STREAM,   /* the input stream is read */
  WASIO__BK_BODY_IN_TRAILERS, /* the stream ended: the trailers are awaited */
  WASIO__BK_BODY_IN_DONE      /* the trailers were taken (or failed) */
};

typedef struct wasio__bk_http_body_in {
  struct wasio_loop *loop;
  /* The response the body came from (the client; 0 on the server side),
   * kept until the body is released: its children go first. */
  wasi_http_types_own_incoming_response_t res;
  wasi_http_types_own_incoming_body_t body;
  wasi_io_streams_own_input_stream_t in;
  wasio__src_t in_src;
  wasi_http_types_own_future_trailers_t trailers;
  wasio__src_t tr_src;
  uint8_t state;
  wasio__bk_http_ready_fn ready;
  void *data;
} wasio__bk_http_body_in_t;

typedef struct wasio__bk_http_body_out {
  struct wasio_loop *loop;
  wasi_http_types_own_outgoing_body_t body;
  wasi_io_streams_own_output_stream_t out;
  wasio__src_t out_src;
  bool flushed;   /* finish issued the flush: waiting for it to complete */
  wasio__bk_http_ready_fn ready;
  void *data;
} wasio__bk_http_body_out_t;

/* Wraps an incoming body the host gave (a request's, on the server side):
 * opens its stream. Returns 0, or WASIO_EIO when the host refuses the
 * stream (the body is dropped then). */
int wasio__bk_http_body_in_open(wasio__bk_http_body_in_t *b, wasi_http_types_own_incoming_body_t body);
/* Wraps an outgoing body (a response's, on the server side): opens its
 * stream. Returns 0, or WASIO_EIO when the host refuses the stream (the
 * body is dropped then). */
int wasio__bk_http_body_out_open(wasio__bk_http_body_out_t *b, wasi_http_types_own_outgoing_body_t body);
/* The one translation of a wasi:http error-code into WASIO_E* (it frees
 * the value's strings). */
int wasio__bk_http_error(wasi_http_types_error_code_t *e);
/* The fields resource of `f`, handed over (f is empty after). */
static inline wasi_http_types_own_fields_t wasio__bk_http_fields_take(wasio__bk_http_fields_t *f) {
  wasi_http_types_own_fields_t h = f->f;
  f->f.__handle = 0;
  return h;
}

#endif
#endif
