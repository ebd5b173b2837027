/* src/backend/wasip3/http_host.h: the wasip3 backend's state for HTTP
 * through the host (wasi:http 0.3), compiled only in its wasi:http variant
 * (-DWASIO_WASI_HTTP, libwasio-p3-http.a). Included by backend.h, so that
 * the layers above embed these objects without seeing a WASI type: they
 * use them only through src/core/http_host.h, as over wasi:http 0.2.
 *
 * On 0.3 a body is a stream<u8> and its trailers a future, so the four
 * objects hold stream and future ends and the waiters (wasio__w3_t) of the
 * operations in flight on them:
 * - wasio__bk_http_fields_t: a `fields` resource being built or read;
 * - wasio__bk_http_request_t: an outgoing request, a client.send subtask
 *   until the response head comes;
 * - wasio__bk_http_body_in_t: a body read (a response's, or a request's on
 *   the server side): its stream, then its trailers future;
 * - wasio__bk_http_body_out_t: a body written (a request's, or a response's
 *   on the server side): its stream, then the trailers future it owes a
 *   value.
 * A waiter whose operation finished calls the object's `ready(data)` from
 * the dispatch (phase 3); the owner then asks the object what happened.
 */
#ifndef WASIO_WASIP3_HTTP_HOST_H
#define WASIO_WASIP3_HTTP_HOST_H

#ifdef WASIO_WASI_HTTP

/* The core and the layers above see HTTP through the host
 * (src/core/http_host.h). */
#define WASIO__BK_WASI_HTTP 1
/* Every field of a fields resource (src/backend/wasi/http_common.c). */
#define WASIO__HTTP_FIELDS_ALL wasi_http_types_method_fields_copy_all
/* The incoming request's head (http_common.c's wasio__http_incoming_head_read). */
#define WASIO__HTTP_IN_BORROW_T wasi_http_types_borrow_request_t
#define WASIO__HTTP_IN_METHOD wasi_http_types_method_request_get_method
#define WASIO__HTTP_IN_PATH wasi_http_types_method_request_get_path_with_query
#define WASIO__HTTP_IN_AUTHORITY wasi_http_types_method_request_get_authority
#define WASIO__HTTP_IN_HEADERS wasi_http_types_method_request_get_headers

typedef void (*wasio__bk_http_ready_fn)(void *data);

typedef struct wasio__bk_http_fields {
  wasi_http_types_own_fields_t f; /* __handle 0: none */
} wasio__bk_http_fields_t;

typedef struct wasio__bk_http_request {
  struct wasio_loop *loop;
  wasio__w3_t call; /* client.send's subtask */
  /* request.new's future (the request's verdict), never read but kept
   * until the response body is released: wasmtime aborts the exchange's
   * I/O (the response body stops short) once its reader is dropped. */
  uint32_t verdict;
  /* send's result lands here while the call runs. */
  wasi_http_client_result_own_response_error_code_t res;
  wasio__bk_http_ready_fn ready;
  void *data;
} wasio__bk_http_request_t;

/* The states of a body read (wasio__bk_http_body_in_t.state). */
enum {
  WASIO__BK_BODY_IN_NONE = 0, /* nothing opened, or released */
  WASIO__BK_BODY_IN_STREAM,   /* the stream is read */
  WASIO__BK_BODY_IN_TRAILERS, /* the stream ended: the trailers are awaited */
  WASIO__BK_BODY_IN_DONE      /* the trailers were taken (or failed) */
};

typedef struct wasio__bk_http_body_in {
  struct wasio_loop *loop;
  uint32_t rx;      /* the stream<u8>'s readable end; 0: none */
  uint32_t tr;      /* the trailers future's readable end; 0: none */
  uint32_t verdict; /* the request's verdict future, kept (see the request) */
  wasio__w3_t in;   /* a readiness read (zero-length) on rx */
  wasio__w3_t trw;  /* the read of tr */
  wasi_http_types_result_option_own_trailers_error_code_t tval; /* tr's value lands here */
  uint8_t state;
  bool want;
  wasio__bk_http_ready_fn ready;
  void *data;
} wasio__bk_http_body_in_t;

/* The states of a body written (wasio__bk_http_body_out_t.state). */
enum {
  WASIO__BK_BODY_OUT_NONE = 0, /* nothing opened, or released */
  WASIO__BK_BODY_OUT_OPEN,     /* bytes go to the stream */
  WASIO__BK_BODY_OUT_TRAILERS, /* the stream ended: the trailers future is written */
  WASIO__BK_BODY_OUT_DONE      /* finish answered */
};

typedef struct wasio__bk_http_body_out {
  struct wasio_loop *loop;
  uint32_t tx;      /* the stream<u8>'s writable end; 0: none */
  uint32_t tr_w;    /* the trailers future's writable end, owed a value */
  wasio__w3_t out;  /* the write in flight on tx */
  wasio__w3_t trw;  /* the write of tr_w */
  const uint8_t *wptr; /* the caller's bytes of the write in flight */
  size_t wlen;
  wasi_http_types_result_option_own_trailers_error_code_t tval; /* tr_w's value while written */
  uint8_t state;
  bool want;
  wasio__bk_http_ready_fn ready;
  void *data;
} wasio__bk_http_body_out_t;

/* The one translation of a wasi:http error-code into WASIO_E* (it frees
 * the value's strings; src/backend/wasi/http_common.c). */
int wasio__bk_http_error(wasi_http_types_error_code_t *e);
/* The fields resource of `f`, handed over (f is empty after). */
static inline wasi_http_types_own_fields_t wasio__bk_http_fields_take(wasio__bk_http_fields_t *f) {
  wasi_http_types_own_fields_t h = f->f;
  f->f.__handle = 0;
  return h;
}
/* Opens a body that the host gave (consume-body's stream and trailers
 * future) for reading; res_w is the writable end of the `res` future the
 * body was consumed with (it gets its value, ok, at once). */
void wasio__bk_http_body_in_open(wasio__bk_http_body_in_t *b, uint32_t rx, uint32_t tr, uint32_t res_w);
/* Makes a body to write: its stream and trailers future, whose readable
 * ends go to request.new or response.new (*rx, *tr). Returns 0 or
 * WASIO_ENOMEM. */
int wasio__bk_http_body_out_make(wasio__bk_http_body_out_t *b, uint32_t *rx, uint32_t *tr);
/* The dispatch of the waiters of these objects (reactor.c). */
void wasio__http_on_ready(wasio__w3_t *w);
/* Writes of futures left behind by released bodies, still in flight. */
void wasio__http_linger_ready(wasio__w3_t *w);
void wasio__http_linger_abandon(struct wasio_loop *loop);
/* The kick pipe of the handler export (http_incoming.c): a byte came. */
void wasio__http_kick_ready(wasio__w3_t *w);

#endif
#endif
