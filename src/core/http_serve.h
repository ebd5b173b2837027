/* src/core/http_serve.h: the server's half of HTTP through the host
 * (wasi:http/incoming-handler), between the HTTP server (src/http,
 * server_host.c) and a backend that exports the handler (the wasip2
 * backend of the wasi:http variant: src/backend/wasip2/http_incoming.c).
 *
 * Implementation notes
 * - The export is the backend's; what to do with a request is the
 *   server's. A backend cannot call up into src/http, so the server binds
 *   its functions to the export (wasio__bk_http_serve_bind) and the export
 *   calls them for each request the host hands in, with the request
 *   wrapped in a wasio__bk_http_incoming_t that lives until the exchange
 *   is over; the export then drops what is left (an unset response, which
 *   the host answers itself; the request, after its body, which the
 *   server has released by then).
 * - The bodies are src/core/http_host.h's objects: the request's body is a
 *   wasio__bk_http_body_in_t, the response's a wasio__bk_http_body_out_t,
 *   as for the client (its response and its request), so both sides read,
 *   write, wait and finish the same way.
 * - Only one server may be bound at a time (one per instance);
 *   while nothing is bound the export answers 500 itself, with a body
 *   that says why (main did not bind a server, or it was unbound).
 */
#ifndef WASIO_CORE_HTTP_SERVE_H
#define WASIO_CORE_HTTP_SERVE_H

#include "http_host.h"

#ifdef WASIO__BK_WASI_HTTP

/* One request the host handed to the export (opaque above the backend). */
typedef struct wasio__bk_http_incoming wasio__bk_http_incoming_t;

/* What the server binds to the export: two ways to serve a request, for
 * the two kinds of host.
 * - serve: one request start to end, running the loop; returns when its
 *   exchange is over. For a host that waits for the export to return
 *   before it hands in the next request (wasi:http 0.2).
 * - begin, then step: for a host that runs several requests of one
 *   instance at once (wasi:http 0.3), whose export must not block. begin
 *   starts the exchange and returns its token (NULL: none could be made,
 *   and the request was failed); after every pass of the loop the export
 *   calls step(token, alive), alive being whether the loop has work left
 *   (wasio__loop_alive), until step says the exchange is over (the token
 *   is gone then). */
typedef struct wasio__http_serve_ops {
  void (*serve)(void *arg, wasio__bk_http_incoming_t *req);
  void *(*begin)(void *arg, wasio__bk_http_incoming_t *req);
  bool (*step)(void *token, bool alive);
} wasio__http_serve_ops_t;

/* Binds ops(arg) to the export; `loop` is the server's (an export that
 * serves in steps runs it). Returns 0, or WASIO_EBUSY when another server
 * is bound. */
int wasio__bk_http_serve_bind(const wasio__http_serve_ops_t *ops, void *arg, wasio_loop_t *loop);
/* Unbinds arg if it is bound (later requests get the export's 500). */
void wasio__bk_http_serve_unbind(void *arg);

/* The request head: views into the `fields` buffer's bytes (the method's
 * name is a static string for the methods wasi:http names). */
typedef struct wasio__http_incoming_head {
  wasio_http_str_t method;
  wasio_http_str_t path_with_query; /* empty when the host gives none */
  wasio_http_str_t authority;       /* empty when the host gives none */
} wasio__http_incoming_head_t;

/* Reads the request's method, path, authority and fields into `head` and
 * `fields` (after what it holds). Returns 0, WASIO_EHTTP_TOO_MANY_HEADERS
 * or WASIO_EHTTP_HEADERS_TOO_LARGE (the buffer's limits, as for the
 * client's fields). */
int wasio__bk_http_incoming_head(wasio__bk_http_incoming_t *r, wasio__http_incoming_head_t *head,
                                 wasio__http_fieldbuf_t *fields);
/* Opens the request's body for reading into `body` (initialized with
 * wasio__bk_http_body_in_init). Returns 0 or WASIO_EIO (the host refused;
 * the body can be had once). Release the body before the call returns. */
int wasio__bk_http_incoming_body(wasio__bk_http_incoming_t *r, wasio__bk_http_body_in_t *body);
/* Sets the response (the head goes to the host): `status`, the fields
 * `headers` (consumed, also on error), and its body opened for writing in
 * `body` (initialized with wasio__bk_http_body_out_init: write, then
 * finish it, or release it unfinished to abort). Returns 0, WASIO_EINVAL
 * (a status the host refuses), WASIO_ESTATE (already set or failed) or
 * WASIO_EIO; nothing is set on error. */
int wasio__bk_http_incoming_respond(wasio__bk_http_incoming_t *r, int status, wasio__bk_http_fields_t *headers,
                                    wasio__bk_http_body_out_t *body);
/* Sets a failure instead of a response: a wasi:http error-code for `err`
 * (a WASIO_E* code; the host answers for it, e.g. 500 on wasmtime). No-op
 * once a response or failure was set. */
void wasio__bk_http_incoming_fail(wasio__bk_http_incoming_t *r, int err);

#endif
#endif
