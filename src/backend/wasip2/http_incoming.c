/* src/backend/wasip2/http_incoming.c: the wasi:http/incoming-handler
 * export of the wasi:http variant (-DWASIO_WASI_HTTP, libwasio-http.a,
 * wit/wasio-http.wit), and the incoming request's calls of
 * src/core/http_serve.h (wasio__bk_http_serve_bind, _incoming_*).
 *
 * Implementation notes
 * - Every component linked with libwasio-http.a exports the handler (the
 *   generated bindings carry its glue), also a program that only makes
 *   outgoing calls, so this file defines it in every such program.
 * - The program entry: the first request of an instance runs main through
 *   crt/start.c's wasio__program_main_once (constructors, then main, and
 *   no exit() after it), as the run export would; a server main binds
 *   (wasio_http_server_listen, src/http/server_host.c) is then given this
 *   request and every later one.
 * - With nothing bound the request is answered here: 500 and a text body
 *   that says why (main returned without binding, the server was shut
 *   down, main is still running), so a host shows the cause instead of a
 *   trap or a request that never ends.
 * - A request is wrapped in a wasio__bk_http_incoming_t on this function's
 *   stack for the time of the bound function's call. What is left after
 *   it (a response-outparam never set: the client went away, or the
 *   server gave up on a stuck handler; the request itself) is dropped
 *   here, children first: the server has released the request's body by
 *   then. A response-outparam dropped unset is answered by the host (500
 *   on wasmtime).
 * - The error-code of a failure set on the outparam
 *   (wasio__bk_http_incoming_fail) is the reverse of http_host.c's
 *   wasio__bk_http_error: a timeout is HTTP-response-timeout, anything
 *   else internal-error with wasio's message for the code.
 */
#ifdef WASIO_WASI_HTTP
#include <string.h>

#include "wasip2.h"
#include "core/http_serve.h"
#include "../wasi/http_common.h"

/* crt/start.c (compiled into crt1-wasio.o, linked into every component). */
int wasio__program_main_once(int *status);

struct wasio__bk_http_incoming {
  wasi_http_types_own_incoming_request_t req;
  wasi_http_types_own_response_outparam_t out; /* __handle 0 once set */
};

/* What is bound to the export (one server per instance). A wasi:http 0.2
 * host waits for each call: the server's serve() runs it start to end. */
static const wasio__http_serve_ops_t *wasio__serve_ops;
static void *wasio__serve_arg;
static bool wasio__serve_ever_bound;
static bool wasio__serving;

/* The status of an outgoing-response nobody set (wasi:http 0.2's
 * constructor documents 200). */
#define WASIO__HTTP_STATUS_DEFAULT 200

/* The longest text of the export's own 500. */
#define WASIO__INCOMING_TEXT_CAP 256

int wasio__bk_http_serve_bind(const wasio__http_serve_ops_t *ops, void *arg, wasio_loop_t *loop) {
  (void)loop; /* serve() runs it */
  if (wasio__serve_ops != NULL) return WASIO_EBUSY;
  wasio__serve_ops = ops;
  wasio__serve_arg = arg;
  wasio__serve_ever_bound = true;
  return 0;
}

void wasio__bk_http_serve_unbind(void *arg) {
  if (wasio__serve_ops == NULL || wasio__serve_arg != arg) return;
  wasio__serve_ops = NULL;
  wasio__serve_arg = NULL;
}

static inline wasi_http_types_borrow_incoming_request_t wasio__req(const wasio__bk_http_incoming_t *r) {
  return wasi_http_types_borrow_incoming_request(r->req);
}

/* ---- the head ------------------------------------------------------------------------- */

int wasio__bk_http_incoming_head(wasio__bk_http_incoming_t *r, wasio__http_incoming_head_t *head,
                                 wasio__http_fieldbuf_t *fields) {
  return wasio__http_incoming_head_read(wasio__req(r), head, fields);
}

int wasio__bk_http_incoming_body(wasio__bk_http_incoming_t *r, wasio__bk_http_body_in_t *body) {
  wasi_http_types_own_incoming_body_t ib;
  if (!wasi_http_types_method_incoming_request_consume(wasio__req(r), &ib)) return WASIO_EIO;
  return wasio__bk_http_body_in_open(body, ib);
}

/* ---- the response ---------------------------------------------------------------------- */

int wasio__bk_http_incoming_respond(wasio__bk_http_incoming_t *r, int status, wasio__bk_http_fields_t *headers,
                                    wasio__bk_http_body_out_t *body) {
  if (r->out.__handle == 0) {
    wasio__bk_http_fields_drop(headers);
    return WASIO_ESTATE;
  }
  wasi_http_types_own_outgoing_response_t res =
      wasi_http_types_constructor_outgoing_response(wasio__bk_http_fields_take(headers));
  wasi_http_types_borrow_outgoing_response_t rb = wasi_http_types_borrow_outgoing_response(res);
  wasi_http_types_own_outgoing_body_t ob;
  int rc = 0;
  /* A new outgoing-response is 200 (wasi:http's constructor): a 200 costs
   * no set-status-code call (each host call is a round trip). */
  if (status != WASIO__HTTP_STATUS_DEFAULT &&
      !wasi_http_types_method_outgoing_response_set_status_code(rb, (wasi_http_types_status_code_t)status))
    rc = WASIO_EINVAL;
  else if (!wasi_http_types_method_outgoing_response_body(rb, &ob))
    rc = WASIO_EIO;
  else
    rc = wasio__bk_http_body_out_open(body, ob); /* releases the body on error */
  if (rc != 0) {
    wasi_http_types_outgoing_response_drop_own(res);
    return rc;
  }
  wasi_http_types_result_own_outgoing_response_error_code_t ok = {.is_err = false, .val.ok = res};
  wasi_http_types_own_response_outparam_t out = r->out;
  r->out.__handle = 0;
  wasi_http_types_static_response_outparam_set(out, &ok);
  return 0;
}

void wasio__bk_http_incoming_fail(wasio__bk_http_incoming_t *r, int err) {
  if (r->out.__handle == 0) return;
  wasi_http_types_result_own_outgoing_response_error_code_t res = {.is_err = true};
  wasio__http_fail_code(err, &res.val.err);
  wasi_http_types_own_response_outparam_t out = r->out;
  r->out.__handle = 0;
  wasi_http_types_static_response_outparam_set(out, &res);
}

/* The export's own answer when nothing serves the request: 500 and `text`. */
static void wasio__incoming_text(wasio__bk_http_incoming_t *r, const char *text) {
  static const wasio_http_header_t ct[] = {{{"content-type", 12}, {"text/plain; charset=utf-8", 25}}};
  wasio__bk_http_fields_t f;
  if (wasio__bk_http_fields_new(ct, 1, &f) != 0) return;
  wasio__bk_http_body_out_t body;
  wasio__bk_http_body_out_init(&body, NULL, NULL, NULL);
  if (wasio__bk_http_incoming_respond(r, 500, &f, &body) != 0) return;
  wasi_io_streams_stream_error_t err;
  imports_list_u8_t bytes = {(uint8_t *)(uintptr_t)text, strlen(text)};
  /* A few dozen bytes into a fresh body (blocking-write takes up to 4096):
   * no loop runs here to wait for room. The body object has no loop, so
   * it is taken apart by hand, stream first. */
  bool wrote = wasi_io_streams_method_output_stream_blocking_write_and_flush(
      wasi_io_streams_borrow_output_stream(body.out), &bytes, &err);
  if (!wrote) (void)wasio__stream_error(&err, true);
  wasi_io_streams_output_stream_drop_own(body.out);
  body.out.__handle = 0;
  wasi_http_types_own_outgoing_body_t ob = body.body;
  body.body.__handle = 0;
  if (!wrote) {
    wasi_http_types_outgoing_body_drop_own(ob);
    return;
  }
  wasi_http_types_error_code_t ferr;
  if (!wasi_http_types_static_outgoing_body_finish(ob, NULL, &ferr)) wasi_http_types_error_code_free(&ferr);
}

void exports_wasi_http_incoming_handler_handle(exports_wasi_http_incoming_handler_own_incoming_request_t request,
                                               exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
  wasio__bk_http_incoming_t r = {request, response_out};
  int status = 0;
  int ran = wasio__program_main_once(&status);
  char text[WASIO__INCOMING_TEXT_CAP];
  if (ran < 0) {
    wasio__incoming_text(&r, "wasio: a request arrived while main was still running\n");
  } else if (wasio__serving) {
    wasio__incoming_text(&r, "wasio: a request arrived while another one was being served\n");
  } else if (wasio__serve_ops != NULL) {
    wasio__serving = true;
    wasio__serve_ops->serve(wasio__serve_arg, &r);
    wasio__serving = false;
  } else {
    wasio__incoming_text(&r, wasio__http_unserved(text, sizeof text, status, wasio__serve_ever_bound));
  }
  /* The host answers an outparam dropped unset (the client left, or the
   * server gave up); the request goes last, after its body. */
  if (r.out.__handle != 0) wasi_http_types_response_outparam_drop_own(r.out);
  wasi_http_types_incoming_request_drop_own(r.req);
}
#endif
