/* src/backend/wasip3/tls_host.c: the wasip3 backend's part of TLS by the
 * host (internal.h's wasio__bk_tcp_tls_*) over wasi:tls@0.3.0-draft's
 * client interface; the handle's policy is src/core/tls_host.c's, the
 * host's words for a failure src/backend/wasi/tls_common.c's. Compiled
 * into the p3 hosttls variant only (-DWASIO_HOST_TLS, libwasio-p3-hosttls.a,
 * wit/wasio-p3-host-tls.wit).
 *
 * Implementation notes
 * - The draft's connector is a pair of stream transforms: `receive` takes
 *   the socket's ciphertext stream and gives back a plaintext one;
 *   `send` takes a plaintext stream of ours and gives back the ciphertext
 *   one, which goes to the socket's `send`. So the upgrade swaps the
 *   handle's rx for the plaintext stream and makes its tx a new plaintext
 *   stream, and tcp.c reads and writes them as before (the same waiters,
 *   zero-length readiness reads, writes in place): the bytes between TLS
 *   and the socket never enter the guest. All stream<u8> of one component
 *   instance are one type to the host, so tcp.c's stream calls serve the
 *   TLS layer's streams too.
 * - The socket's `send` takes one stream for the connection's life, so
 *   tcp.c opens the connection's own only at the first write: an upgrade
 *   after bytes were written in the clear cannot give the socket the TLS
 *   layer's stream, and is refused (WASIO_ESTATE; wasio/tls_host.h).
 * - The handshake is connector.connect, an async call: a subtask waiter;
 *   its failure is an error resource whose debug string tells why.
 * - The end of the plaintext: the TLS receive future says whether it ended
 *   with close_notify (ok) or how it failed, when it already has a value
 *   (wasio__tcp_tls_rx_ended tells when it has not). Shutdown drops the plaintext writable end,
 *   which has the host send close_notify and end the ciphertext stream:
 *   the socket's send then sends the FIN.
 */
#include <string.h>

#include "wasip3.h"
#include "../wasi/tls_common.h"

#ifdef WASIO_HOST_TLS

/* The host's words kept for a plaintext stream that failed (the read
 * reports the code they prove; the words themselves are not kept). */
#define WASIO__P3_TLS_TEXT_CAP 256

int wasio__bk_tcp_tls_start(wasio_tcp_t *tcp, const char *name, size_t len) {
  wasio_loop_t *loop = tcp->h.loop;
  wasio__backend_tcp_t *b = &tcp->b;
  /* Bytes that came in the clear and were not read yet: too late too. */
  wasio__tcp_in_settle(tcp);
  if (b->tx_made || b->rx == 0 || b->rx_end || b->ioff < b->ilen) return WASIO_ESTATE;
  if (len > WASIO_TLS_HOST_MAX_NAME) return WASIO_ENAMETOOLONG;
  memcpy(b->tls_name, name, len);
  b->tls_name[len] = '\0';
  /* The socket's stream goes to the host: its readiness read first. A
   * stream whose read found it ended (its event perhaps not dispatched
   * yet) cannot be handed over: the peer left before the handshake. */
  /* The socket's future, if read while the stream lives (tcp.c's
   * notes; not on this build's hosts): taken back, the TLS layer's is
   * read in that waiter instead. */
  if (b->fut_read) {
    wasio__w3_end(loop, &b->fin, wasi_sockets_types_future_result_void_error_code_cancel_read);
    b->fut_read = false;
  }
  uint32_t ct_rx = b->rx;
  uint32_t rs = b->in.done ? b->in.code : 0;
  if (b->in.busy) {
    wasio__w3_leave(&b->in);
    rs = wasi_sockets_types_stream_u8_cancel_read(ct_rx);
  }
  wasio__w3_untrack(loop, &b->in);
  if (rs != 0 && wasio__w3_dropped(rs)) {
    wasi_sockets_types_stream_u8_drop_readable(ct_rx);
    b->rx = 0;
    return WASIO_ECONNRESET;
  }
  b->rx = 0;
  wasi_tls_client_own_connector_t c = wasi_tls_client_constructor_connector();
  wasi_tls_client_borrow_connector_t cb = wasi_tls_client_borrow_connector(c);
  wasi_tls_client_tuple2_stream_u8_future_result_void_own_error_t in, out;
  wasi_tls_client_method_connector_receive(cb, ct_rx, &in);
  wasi_tls_client_stream_u8_writer_t pt_tx;
  wasi_tls_client_stream_u8_t pt_rd = wasi_tls_client_stream_u8_new(&pt_tx);
  wasi_tls_client_method_connector_send(cb, pt_rd, &out);
  /* The socket's future of the receive ends with the ciphertext: kept. */
  b->sock_rx_fut = b->rx_fut;
  b->rx_fut = 0;
  b->tls_rx_fut = in.f1;
  b->tls_tx_fut = out.f1;
  b->tls_on = true;
  b->rx = in.f0;
  b->tx = pt_tx;
  wasio__tcp_send_stream(tcp, out.f0);
  if (wasio__w3_track(loop, &b->in, b->rx) != 0 || wasio__w3_track(loop, &b->out, b->tx) != 0) {
    wasi_tls_client_connector_drop_own(c);
    return WASIO_ENOMEM; /* the core releases the socket, and all of this with it */
  }
  wasio__w3_init(&b->tls, WASIO__W3_TCP_TLS);
  imports_string_t n = {(uint8_t *)b->tls_name, len};
  memset(&b->tls_res, 0, sizeof b->tls_res);
  int rc = wasio__w3_call(loop, &b->tls, wasi_tls_client_static_connector_connect(c, n, &b->tls_res));
  return rc < 0 ? rc : 0;
}

void wasio__tcp_tls_on_ready(wasio__w3_t *w) {
  wasio__tcp_tls_ready(WASIO__CONTAINER_OF(w, wasio_tcp_t, b.tls));
}

/* Keeps the host's text of a TLS error (its first line) and drops the
 * error; returns the code its words prove. */
static int wasio__tcp_tls_error(wasi_tls_types_own_error_t err, char *msg, size_t cap) {
  imports_string_t s = {0};
  wasi_tls_types_method_error_to_debug_string(wasi_tls_types_borrow_error(err), &s);
  wasi_tls_types_error_drop_own(err);
  return wasio__tls_host_text(s.ptr, s.len, msg, cap);
}

int wasio__bk_tcp_tls_result(wasio_tcp_t *tcp, char *msg, size_t cap) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->tls.busy) return WASIO_EAGAIN;
  if (!wasio__w3_subtask_end(tcp->h.loop, &b->tls)) {
    if (cap > 0) msg[0] = '\0';
    return WASIO_ECANCELED;
  }
  wasio__w3_init(&b->tls, WASIO__W3_TCP_TLS);
  if (b->tls_res.is_err) {
    wasi_tls_types_own_error_t e = b->tls_res.val.err;
    memset(&b->tls_res, 0, sizeof b->tls_res);
    return wasio__tcp_tls_error(e, msg, cap);
  }
  if (cap > 0) msg[0] = '\0';
  return 0;
}

/* The plaintext stream ended: the TLS receive future says how, when it
 * has a value. wasmtime resolves it only once the ciphertext (the TCP
 * stream) ended too, and a peer that sent close_notify may keep its TCP
 * side open until ours ends: so a future without a value yet reads as a
 * clean end (the TLS layer ended the plaintext: close_notify; a failure
 * that ended it while the transport stays open is then not told apart). */
void wasio__tcp_tls_rx_ended(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->tls_rx_fut == 0) return;
  memset(&b->tls_fres, 0, sizeof b->tls_fres);
  uint32_t st = wasi_tls_client_future_result_void_own_error_read(b->tls_rx_fut, &b->tls_fres);
  if (wasio__w3_blocked(st)) st = wasi_tls_client_future_result_void_own_error_cancel_read(b->tls_rx_fut);
  if (IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_COMPLETED) wasio__tcp_tls_fin_value(tcp);
}

void wasio__tcp_tls_fin_value(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->tls_fres.is_err) {
    char msg[WASIO__P3_TLS_TEXT_CAP];
    wasi_tls_types_own_error_t e = b->tls_fres.val.err;
    memset(&b->tls_fres, 0, sizeof b->tls_fres);
    b->rx_err = wasio__tcp_tls_error(e, msg, sizeof msg);
  }
}

void wasio__tcp_tls_release(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = tcp->h.loop;
  wasio__backend_tcp_t *b = &tcp->b;
  /* A handshake still under way is canceled; one that failed leaves its
   * error to drop. */
  if (wasio__w3_subtask_end(loop, &b->tls) && b->tls_res.is_err) wasi_tls_types_error_drop_own(b->tls_res.val.err);
  memset(&b->tls_res, 0, sizeof b->tls_res);
  if (!b->tls_on) return;
  /* The receive future's read is the fin waiter's (tcp.c). */
  if (b->fin.done) wasio__tcp_tls_fin_value(tcp);
  wasio__w3_end(loop, &b->fin, wasi_tls_client_future_result_void_own_error_cancel_read);
  if (b->tls_rx_fut != 0) wasi_tls_client_future_result_void_own_error_drop_readable(b->tls_rx_fut);
  if (b->tls_tx_fut != 0) wasi_tls_client_future_result_void_own_error_drop_readable(b->tls_tx_fut);
  b->tls_rx_fut = b->tls_tx_fut = 0;
  b->rx_fut = b->sock_rx_fut; /* tcp.c drops it with the socket's */
  b->sock_rx_fut = 0;
  b->tls_on = false;
}

#endif
