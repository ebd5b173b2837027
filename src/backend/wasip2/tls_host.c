/* src/backend/wasip2/tls_host.c: the wasip2 backend's part of TLS by the
 * host (internal.h's wasio__bk_tcp_tls_*) over the draft wasi:tls client
 * interface; the handle's policy is src/core/tls_host.c's. Compiled into
 * the hosttls variant only (-DWASIO_HOST_TLS, its own generated bindings:
 * see the Makefile).
 *
 * Implementation notes
 * - The draft's client-handshake constructor takes the TCP connection's
 *   input and output streams (the host removes them from its table), and
 *   the finished handshake hands back a client-connection with a new input
 *   and output stream that carry plaintext. They are installed as the very
 *   handle's `in` and `out`, so tcp.c (reads into caller buffers through
 *   the cabi_realloc arena, check-write permits, pollables in the loop's
 *   poll set) moves the plaintext without a second copy of that logic.
 * - A pollable is a child of its stream and the host refuses to remove a
 *   resource that has children (it traps), so the TCP stream pollables are
 *   dropped before the streams are handed over.
 * - The plaintext streams are children of the client-connection: they are
 *   dropped before it, and it before the socket (wasio__tcp_tls_release,
 *   from wasio__bk_tcp_release).
 * - The shutdown ends the plaintext side with close-output (close_notify):
 *   tcp.c calls wasio__tcp_tls_end_send once the flush is done, then waits
 *   for the stream to report its end.
 */
#include <stdio.h>
#include <string.h>

#include "wasip2.h"
#include "../wasi/tls_common.h"

#ifdef WASIO_HOST_TLS

int wasio__bk_tcp_tls_start(wasio_tcp_t *tcp, const char *name, size_t len) {
  wasio_loop_t *loop = tcp->h.loop;
  /* Children first: the host traps when asked to take a stream that still
   * has a pollable. */
  wasio__src_drop(loop, &tcp->b.in_src);
  wasio__src_drop(loop, &tcp->b.out_src);
  imports_string_t n = {(uint8_t *)(uintptr_t)name, len};
  wasi_tls_types_own_client_handshake_t hs = wasi_tls_types_constructor_client_handshake(&n, tcp->b.in, tcp->b.out);
  tcp->b.in.__handle = 0;
  tcp->b.out.__handle = 0;
  tcp->b.tls_future = wasi_tls_types_static_client_handshake_finish(hs);
  tcp->b.tls_src.pollable = wasi_tls_types_method_future_client_streams_subscribe(
      wasi_tls_types_borrow_future_client_streams(tcp->b.tls_future));
  return wasio__src_watch(loop, &tcp->b.tls_src);
}

void wasio__tcp_tls_on_ready(wasio__src_t *src) {
  wasio__tcp_tls_ready(WASIO__CONTAINER_OF(src, wasio_tcp_t, b.tls_src));
}

/* Keeps the host's text of an io-error (its first line) and drops the
 * error. */
static int wasio__tcp_tls_io_error(wasi_io_error_own_error_t err, char *msg, size_t cap) {
  imports_string_t s = {0};
  wasi_io_error_method_error_to_debug_string(wasi_io_error_borrow_error(err), &s);
  wasi_io_error_error_drop_own(err);
  return wasio__tls_host_text(s.ptr, s.len, msg, cap);
}

static void wasio__tcp_tls_drop_future(wasio_tcp_t *tcp) {
  wasio__src_drop(tcp->h.loop, &tcp->b.tls_src);
  if (tcp->b.tls_future.__handle != 0) wasi_tls_types_future_client_streams_drop_own(tcp->b.tls_future);
  tcp->b.tls_future.__handle = 0;
}

int wasio__bk_tcp_tls_result(wasio_tcp_t *tcp, char *msg, size_t cap) {
  wasi_tls_types_result_result_tuple3_own_client_connection_own_input_stream_own_output_stream_own_io_error_void_t r;
  if (!wasi_tls_types_method_future_client_streams_get(
          wasi_tls_types_borrow_future_client_streams(tcp->b.tls_future), &r))
    return WASIO_EAGAIN;
  wasio__tcp_tls_drop_future(tcp);
  if (r.is_err) {
    /* The future's value was already taken: cannot happen with one get. */
    snprintf(msg, cap, "wasi:tls future already consumed");
    return WASIO_ETLS;
  }
  if (r.val.ok.is_err) return wasio__tcp_tls_io_error(r.val.ok.val.err, msg, cap);
  tcp->b.tls_conn = r.val.ok.val.ok.f0;
  tcp->b.in = r.val.ok.val.ok.f1;
  tcp->b.out = r.val.ok.val.ok.f2;
  msg[0] = '\0';
  return 0;
}

/* close-output has the host write close_notify and then shut down its TLS
 * write side, on a task of its own; meanwhile the plaintext output
 * stream's check-write permits nothing, then reports closed (done) or the
 * failure, which tcp.c waits for. After it tcp.c drops that stream and
 * shuts down the socket's sending side, which is what sends the FIN: the
 * host's TLS shutdown ends only the TLS layer (its transport's shutdown is
 * a flush of the TCP output stream). */
void wasio__tcp_tls_end_send(wasio_tcp_t *tcp) {
  wasi_tls_types_method_client_connection_close_output(wasi_tls_types_borrow_client_connection(tcp->b.tls_conn));
}

void wasio__tcp_tls_release(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = tcp->h.loop;
  wasio__tcp_tls_drop_future(tcp);
  /* The plaintext streams are children of the client-connection, which
   * goes before the socket. */
  wasio__src_drop(loop, &tcp->b.in_src);
  wasio__src_drop(loop, &tcp->b.out_src);
  if (tcp->b.in.__handle != 0) wasi_io_streams_input_stream_drop_own(tcp->b.in);
  if (tcp->b.out.__handle != 0) wasi_io_streams_output_stream_drop_own(tcp->b.out);
  tcp->b.in.__handle = 0;
  tcp->b.out.__handle = 0;
  if (tcp->b.tls_conn.__handle != 0) wasi_tls_types_client_connection_drop_own(tcp->b.tls_conn);
  tcp->b.tls_conn.__handle = 0;
}

#endif
