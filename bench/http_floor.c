/* bench/http_floor.c: the host's floor for bench/run_http.py's wasi:http rows.
 *
 * A wasi:http handler written straight on the generated bindings, without
 * wasio: it answers every request with 200, Content-Type text/plain and the
 * same 17-byte body as bench/http_serve.c, with the fewest host calls a p2
 * handler can make (fields from a list, one blocking write of the body,
 * finish). Its requests/s under `wasmtime serve` is what the host itself
 * costs per request; the gap between it and http_serve's --http build is
 * what wasio adds. Built with `wasio-cc --http` (the bindings of
 * libwasio-http.a): this file defines the incoming-handler export, so the
 * library's own (src/backend/wasip2/http_incoming.c) is not linked in.
 */
#include <string.h>

#include "imports.h"

static const char BODY[] = "hello from wasio\n";

static imports_list_u8_t bytes(const char *s) {
  return (imports_list_u8_t){(uint8_t *)s, strlen(s)};
}

static wasi_http_types_tuple2_field_name_field_value_t field(const char *name, const char *value) {
  wasi_http_types_tuple2_field_name_field_value_t f;
  f.f0.ptr = (uint8_t *)name;
  f.f0.len = strlen(name);
  f.f1.ptr = (uint8_t *)value;
  f.f1.len = strlen(value);
  return f;
}

void exports_wasi_http_incoming_handler_handle(exports_wasi_http_incoming_handler_own_incoming_request_t request,
                                               exports_wasi_http_incoming_handler_own_response_outparam_t response_out) {
  wasi_http_types_incoming_request_drop_own(request);
  wasi_http_types_tuple2_field_name_field_value_t entries[2] = {field("content-type", "text/plain"),
                                                                 field("content-length", "17")};
  wasi_http_types_list_tuple2_field_name_field_value_t list = {entries, 2};
  wasi_http_types_own_fields_t headers;
  wasi_http_types_header_error_t herr;
  if (!wasi_http_types_static_fields_from_list(&list, &headers, &herr)) return;
  wasi_http_types_own_outgoing_response_t res = wasi_http_types_constructor_outgoing_response(headers);
  wasi_http_types_own_outgoing_body_t body;
  bool have_body = wasi_http_types_method_outgoing_response_body(wasi_http_types_borrow_outgoing_response(res), &body);
  wasi_http_types_result_own_outgoing_response_error_code_t r = {.is_err = false, .val.ok = res};
  wasi_http_types_static_response_outparam_set(response_out, &r);
  if (!have_body) return;
  wasi_io_streams_own_output_stream_t out;
  if (wasi_http_types_method_outgoing_body_write(wasi_http_types_borrow_outgoing_body(body), &out)) {
    imports_list_u8_t text = bytes(BODY);
    wasi_io_streams_stream_error_t err;
    if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(wasi_io_streams_borrow_output_stream(out), &text, &err) &&
        err.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED)
      wasi_io_error_error_drop_own(err.val.last_operation_failed);
    wasi_io_streams_output_stream_drop_own(out);
  }
  wasi_http_types_error_code_t ferr;
  if (!wasi_http_types_static_outgoing_body_finish(body, NULL, &ferr)) wasi_http_types_error_code_free(&ferr);
}

/* The command export of the same component: nothing to do. */
int main(void) { return 0; }
