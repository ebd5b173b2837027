/* src/backend/wasip2/http_incoming.c: the wasi:http/incoming-handler
 * export of the wasi:http variant (-DWASIO_WASI_HTTP, libwasio-http.a,
 * wit/wasio-http.wit).
 *
 * The generated bindings of that variant carry the export's glue, so every
 * component linked with libwasio-http.a exports the handler and needs this
 * function, also a program that only makes outgoing calls. Until a server
 * is registered for the host (the wasi:http server work of issue 11), a
 * request is answered here with 500 and a body that says why, so that a
 * host serving such a component shows the cause instead of a trap.
 */
#ifdef WASIO_WASI_HTTP
#include <string.h>

#include "imports.h"

#define NO_SERVER_BODY "wasio: this component has no HTTP server registered for wasi:http\n"

void exports_wasi_http_incoming_handler_handle(exports_wasi_http_incoming_handler_own_incoming_request_t request,
                                               exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
  wasi_http_types_incoming_request_drop_own(request);
  wasi_http_types_own_outgoing_response_t res =
      wasi_http_types_constructor_outgoing_response(wasi_http_types_constructor_fields());
  wasi_http_types_borrow_outgoing_response_t rb = wasi_http_types_borrow_outgoing_response(res);
  wasi_http_types_method_outgoing_response_set_status_code(rb, 500);
  wasi_http_types_own_outgoing_body_t body;
  bool have_body = wasi_http_types_method_outgoing_response_body(rb, &body);
  wasi_http_types_result_own_outgoing_response_error_code_t r = {.is_err = false, .val.ok = res};
  wasi_http_types_static_response_outparam_set(response_out, &r);
  if (!have_body) return;
  wasi_io_streams_own_output_stream_t out;
  if (wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(body), &out)) {
    imports_list_u8_t text = {(uint8_t *)NO_SERVER_BODY, strlen(NO_SERVER_BODY)};
    wasi_io_streams_stream_error_t err;
    if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(wasi_io_streams_borrow_output_stream(out), &text, &err) &&
        err.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
      wasi_io_error_error_drop_own(err.val.last_operation_failed);
    wasi_io_streams_output_stream_drop_own(out);
  }
  wasi_http_types_error_code_t ferr;
  if (!wasi_http_types_static_outgoing_body_finish(body, NULL, &ferr)) wasi_http_types_error_code_free(&ferr);
}
#endif
