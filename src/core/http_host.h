/* src/core/http_host.h: HTTP through the host (wasi:http), the interface
 * between the protocols above (src/http: the client over outgoing-handler,
 * the server behind the incoming-handler export) and a backend that has it.
 *
 * Implementation notes
 * - A backend whose host carries HTTP (the wasip2 backend in the wasi:http
 *   variant, -DWASIO_WASI_HTTP: libwasio-http.a) defines
 *   WASIO__BK_WASI_HTTP in its backend.h, with the four objects below
 *   (wasio__bk_http_fields_t, _request_t, _body_in_t, _body_out_t), and
 *   implements these functions; elsewhere (native, the other wasm32
 *   libraries) none of this exists and the layers above report
 *   WASIO_ENOTSUP. The model is the host's TLS (internal.h's
 *   wasio__bk_tcp_tls_*): the protocol's policy lives above, the backend
 *   only moves bytes and waits, and nothing above includes the generated
 *   bindings.
 * - Objects are caller-allocated (embedded in a call or an exchange),
 *   zeroed and initialized with their *_init function, which records the
 *   upcall `ready(data)`: it runs from phase 3 when what the object waits
 *   for may have happened (the response head, body bytes or room, the
 *   trailers). The owner then asks again; an answer of WASIO_EAGAIN means
 *   "not yet" and the object keeps waiting (its pollable stays in the poll
 *   set until the answer comes or the owner stops wanting it).
 * - Nothing here blocks: reads and writes are bounded by what the host has
 *   (a read of nothing returns 0, a write is bounded by check-write's
 *   permit), and finishing a body waits for its flush through the pollable.
 * - Every release function may be called at any time, also twice: it drops
 *   the resources children first (pollables, streams, bodies, then their
 *   parent), so the host never sees a parent dropped before its child.
 * - Fields in both directions: _fields_new checks each name and value
 *   with the codec's character classes (RFC 9110) before the host sees it,
 *   so a bad field is WASIO_EHTTP_BAD_HEADER_NAME/VALUE on every host;
 *   the host's own refusal of a field it reserves (header-error.forbidden:
 *   Host, Connection, ... as each host decides) is
 *   WASIO_EHTTP_FORBIDDEN_HEADER. _fields_read lands the host's fields in
 *   the caller's memory (wasio__http_fieldbuf_t), at most
 *   WASIO_HTTP_MAX_HEADERS fields (WASIO_EHTTP_TOO_MANY_HEADERS beyond) of
 *   at most `cap` bytes of names and values together
 *   (WASIO_EHTTP_HEADERS_TOO_LARGE beyond): the limits of a parsed head.
 */
#ifndef WASIO_CORE_HTTP_HOST_H
#define WASIO_CORE_HTTP_HOST_H

#include "internal.h"

#ifdef WASIO__BK_WASI_HTTP

/* Fields read from the host: views into `bytes`. The caller provides the
 * arrays; `max` and `cap` bound them. */
typedef struct wasio__http_fieldbuf {
  wasio_http_header_t *fields;
  size_t max, n;
  char *bytes;
  size_t cap, used;
} wasio__http_fieldbuf_t;

/* ---- fields ---------------------------------------------------------------- */
/* A new fields resource holding h[0..n) in order. Returns 0,
 * WASIO_EHTTP_BAD_HEADER_NAME or _VALUE (checked here),
 * WASIO_EHTTP_FORBIDDEN_HEADER (the host reserves it), WASIO_ELIMIT (more
 * than WASIO_HTTP_MAX_HEADERS). Nothing is left on error. */
int wasio__bk_http_fields_new(const wasio_http_header_t *h, size_t n, wasio__bk_http_fields_t *out);
/* Reads every field of `f` into `out` (appending to what it holds) and
 * drops `f`, also on error. Returns 0, WASIO_EHTTP_TOO_MANY_HEADERS or
 * WASIO_EHTTP_HEADERS_TOO_LARGE. */
int wasio__bk_http_fields_read(wasio__bk_http_fields_t *f, wasio__http_fieldbuf_t *out);
void wasio__bk_http_fields_drop(wasio__bk_http_fields_t *f);

/* ---- an outgoing request (the client) ------------------------------------------ */
typedef struct wasio__http_request_spec {
  wasio_http_str_t method;          /* a token ("GET"); checked by the caller */
  bool https;
  wasio_http_str_t authority;       /* host[:port] as in the URL */
  wasio_http_str_t path_with_query; /* origin-form, "/" at least */
  wasio__bk_http_fields_t *headers; /* consumed, also on error */
  bool has_body;                    /* a body will be written (and finished) */
  /* The request options; 0: the host's default. */
  uint64_t connect_ns, first_byte_ns, between_bytes_ns;
} wasio__http_request_spec_t;

void wasio__bk_http_request_init(wasio__bk_http_request_t *r, wasio_loop_t *loop, void (*ready)(void *data),
                                 void *data);
/* Builds the request and hands it to the host (outgoing-handler.handle).
 * With spec->has_body, `body` (initialized with _body_out_init) is opened
 * for writing: write, then finish it. On 0 the response is awaited: `ready`
 * runs when it may have come (wasio__bk_http_response_take). Errors: what
 * the host refused (wasio__bk_http_error's codes: a bad method or URL as
 * WASIO_EINVAL or WASIO_EURL_*, WASIO_EHTTP_DENIED, ...), WASIO_ENOMEM;
 * everything of the request is released then. */
int wasio__bk_http_request_send(wasio__bk_http_request_t *r, const wasio__http_request_spec_t *spec,
                                wasio__bk_http_body_out_t *body);
/* The response: WASIO_EAGAIN (not yet: still awaited), or 0 with its
 * status, its fields in `headers` and its body opened in `body` (initialized
 * with _body_in_init); or the failure (the request's resources are released
 * either way once it is known). A fields error leaves the body released. */
int wasio__bk_http_response_take(wasio__bk_http_request_t *r, int *status, wasio__http_fieldbuf_t *headers,
                                 wasio__bk_http_body_in_t *body);
/* Stops waiting and drops the request (the host cancels it). */
void wasio__bk_http_request_release(wasio__bk_http_request_t *r);

/* ---- an incoming body: bytes, then trailers ----------------------------------- */
void wasio__bk_http_body_in_init(wasio__bk_http_body_in_t *b, wasio_loop_t *loop, void (*ready)(void *data),
                                 void *data);
/* At most cap bytes into buf: > 0 bytes read, 0 nothing now (want it and
 * wait), WASIO_EOF (the body ended whole: the trailers are next), or the
 * failure (the host's error-code mapped, e.g. WASIO_EHTTP_TRUNCATED,
 * WASIO_ETIMEDOUT, WASIO_ECONNRESET). */
ptrdiff_t wasio__bk_http_body_in_read(wasio__bk_http_body_in_t *b, void *buf, size_t cap);
/* Waits (on) or stops waiting for body bytes or the trailers. Fails only
 * for lack of memory. */
int wasio__bk_http_body_in_want(wasio__bk_http_body_in_t *b, bool on);
/* After WASIO_EOF: WASIO_EAGAIN (not yet: want it and wait), 0 with the
 * trailer fields (none: `out` untouched, *present false), or the failure. */
int wasio__bk_http_body_in_trailers(wasio__bk_http_body_in_t *b, wasio__http_fieldbuf_t *out, bool *present);
void wasio__bk_http_body_in_release(wasio__bk_http_body_in_t *b);

/* ---- an outgoing body: bytes, then finish with trailers -------------------------- */
void wasio__bk_http_body_out_init(wasio__bk_http_body_out_t *b, wasio_loop_t *loop, void (*ready)(void *data),
                                  void *data);
/* Hands the host what check-write permits of data[0..len): the count taken
 * (0: no room now; want it and wait), or the failure (the host's
 * error-code mapped when it gives one, e.g. WASIO_EHTTP_BODY_SIZE). */
ptrdiff_t wasio__bk_http_body_out_write(wasio__bk_http_body_out_t *b, const void *data, size_t len);
/* Waits (on) or stops waiting for room (or for finish's flush). Fails only
 * for lack of memory. */
int wasio__bk_http_body_out_want(wasio__bk_http_body_out_t *b, bool on);
/* Ends the body with `trailers` (NULL or empty: none; consumed): flushes,
 * then WASIO_EAGAIN until the host took every byte (want it and wait,
 * then call again with the same trailers), then 0 or the host's verdict
 * (WASIO_EHTTP_BODY_SIZE: fewer bytes than the Content-Length said;
 * WASIO_ENOTSUP: the host cannot send trailers). The body is released
 * after a final answer. */
int wasio__bk_http_body_out_finish(wasio__bk_http_body_out_t *b, wasio__bk_http_fields_t *trailers);
/* Drops an unfinished body: the host sees the message fail (never a
 * shorter one that looks whole). */
void wasio__bk_http_body_out_release(wasio__bk_http_body_out_t *b);

#endif
#endif
