/* src/backend/wasip3/tcp.c: the wasip3 backend's part of TCP (internal.h's
 * wasio__bk_tcp_*) on wasi:sockets/types@0.3.0. The policy (queues,
 * callbacks, deadlines, budget) is src/core/tcp.c's.
 *
 * Implementation notes
 * - A connection reads the stream<u8> `receive` gave and writes a
 *   stream<u8> of its own, whose readable end it hands to `send` at the
 *   first write (or shutdown): the socket takes one stream for its life,
 *   and the host's TLS (tls_host.c) gives it the TLS layer's instead.
 * - Two kinds of host. wasmtime completes a read or write of a socket's
 *   stream at once whenever it can, and a synchronous cancel of one that
 *   would block is exact (the count it reports is what moved). jco's
 *   glue (1.35's p3 output) differs in three ways, all measured:
 *   - a write never completes at once, and its cancel is not exact: bytes
 *     move that the cancel does not report (an echo received 327,680
 *     bytes of the 262,151 sent);
 *   - a read is served from whole chunks of the socket (Node's, up to
 *     64 KiB): bytes of a chunk that did not fit the read wait for the
 *     next read, and a read that such bytes do not fill waits for the next
 *     chunk, however long that takes (a request/response exchange then
 *     stalls); a zero-length read (readiness) takes a chunk the same way;
 *   - a connection the peer reset fails the stream's future but does not
 *     end the stream.
 *   The backend learns which kind of host it runs on once per loop, when
 *   the first connection's streams open (loop.backend.copies): it makes
 *   the stream it will send (`send` needs one anyway) and writes zero
 *   bytes to it. wasmtime completes that at once; jco does not (its side
 *   starts reading the stream only later), and the write is canceled (no
 *   bytes ride on it). The host-TLS build skips the question: its hosts
 *   (wasmtime, the tests' TLS host) are of the first kind, jco has no
 *   0.3 wasi:tls, and an upgrade needs the sending stream not yet made.
 *   Until the loop knows (only if the probe found no memory), reads and
 *   writes go as on jco, which is safe on both.
 * - Reads, AT_ONCE. Waiting to read is a zero-length read: wasmtime
 *   completes it when the socket is readable (a readiness check, nothing
 *   consumed). The read the core then makes goes straight into the
 *   caller's buffer and completes at once with what is there; one that
 *   would block is canceled synchronously, and the count the cancel
 *   reports is kept (the host may have written bytes meanwhile). wasmtime
 *   keeps a socket readable until a read finds it empty (its readiness is
 *   the socket's, cleared only by a read that would block), so a
 *   zero-length read made after a read that drained the socket completes
 *   at once and costs a turn that finds nothing. The backend learns that
 *   at run time (a read that finds nothing right after a readiness
 *   report) and then tells the core to read on after a short read
 *   (read_on), as the wasip2 backend does for the same host: the read
 *   that finds nothing then happens in the same dispatch.
 * - Reads, LATER (jco): every read asks for WASIO__P3_TCP_IN_CAP bytes
 *   (a whole chunk, so no bytes are ever left behind in the host) into
 *   the handle's own buffer, made at the first read; it stays in flight
 *   until its event (it is the wait for readability too: no zero-length
 *   reads), and the core takes the bytes from there. The stream's future
 *   is read while the stream lives: when it fails first (a reset), that
 *   ends the reading (the read in flight is abandoned: what it might
 *   bring came before a reset, which discards it natively too). Not on
 *   wasmtime: there a read of the future made before the stream's end
 *   never completed (measured).
 * - Either way, a read that finds the stream dropped is the end: the
 *   stream's future says whether it ended cleanly (WASIO_EOF) or how it
 *   failed. A dropped stream is never read again (wasmtime traps).
 * - Writes, AT_ONCE, go in place: the host takes what the socket accepts
 *   at once. A write that would block (the socket's buffer is full) is
 *   canceled synchronously (the count it reports was taken) and at most
 *   WASIO__P3_TCP_OUT_CAP bytes of the rest are copied into a buffer of
 *   the handle's own and written from there, in flight until the host
 *   takes them; meanwhile the core is told nothing more is taken. So the
 *   core's buffers are never lent to the host past a call, and only a
 *   connection under backpressure holds memory for its output. Writes,
 *   LATER: copied into that buffer first (at most WASIO__P3_TCP_OUT_CAP
 *   bytes per call), then written from it, never canceled; the buffer is
 *   kept for the next write while it is small (WASIO__P3_TCP_OUT_KEEP).
 * - Small writes are staged in one buffer per loop, as on wasip2 (its
 *   tcp.c tells why: Nagle and delayed ACKs), and leave in one write at
 *   the core's push.
 * - Shutdown: once nothing is in flight, the writable end is dropped: the
 *   host ends the stream it sends, which shuts the socket's sending side.
 * - Close: a connection whose copied output is still in flight moves it
 *   to a linger record, which drops the stream and the socket when the
 *   host has taken the bytes (the same promise as wasip2's close).
 */
#include <string.h>

#include "wasip3.h"

/* Output the host could not take at once: at most this many bytes are
 * copied per write call (the core offers the rest later). */
#define WASIO__P3_TCP_OUT_CAP 65536
/* A connection's own read buffer on a host of jco's kind (the notes):
 * at least the largest chunk that host hands over (Node's 64 KiB). */
#define WASIO__P3_TCP_IN_CAP 65536
/* A buffer of copied output up to this size is kept for the connection's
 * next write on such a host (no allocation per write). */
#define WASIO__P3_TCP_OUT_KEEP 16384
/* The staging of small writes (see wasip2's tcp.c for the figures). */
#define WASIO__TCP_STAGE_CAP 16384
#define WASIO__TCP_STAGE_SMALL 1024

static inline wasi_sockets_types_borrow_tcp_socket_t wasio__tcp_sock(const wasio_tcp_t *tcp) {
  return wasi_sockets_types_borrow_tcp_socket((wasi_sockets_types_own_tcp_socket_t){tcp->b.sock});
}

/* The target of zero-length reads (a valid address for the ABI's checks). */
static uint8_t wasio__zero_buf[1];

static void wasio__tcp_fut_read(wasio_tcp_t *tcp);
static void wasio__tcp_copies_probe(wasio_loop_t *loop, wasio_tcp_t *tcp);

void wasio__bk_tcp_init(wasio_tcp_t *tcp) {
  memset(&tcp->b, 0, sizeof tcp->b);
  wasio__w3_init(&tcp->b.conn, WASIO__W3_TCP_CONN);
  wasio__w3_init(&tcp->b.in, WASIO__W3_TCP_IN);
  wasio__w3_init(&tcp->b.out, WASIO__W3_TCP_OUT);
  wasio__w3_init(&tcp->b.fin, WASIO__W3_TCP_FIN);
}

/* ---- the socket ----------------------------------------------------------------- */

int wasio__bk_tcp_keepalive(wasio_tcp_t *tcp) {
  wasi_sockets_types_error_code_t e;
  if (!(tcp->flags & WASIO__TCPF_KA_SET) || tcp->b.sock == 0) return 0;
  bool on = (tcp->flags & WASIO__TCPF_KA_ON) != 0;
  if (!wasi_sockets_types_method_tcp_socket_set_keep_alive_enabled(wasio__tcp_sock(tcp), on, &e))
    return wasio__wasi_error(&e);
  if (on && tcp->keepalive_idle_ns != 0 &&
      !wasi_sockets_types_method_tcp_socket_set_keep_alive_idle_time(wasio__tcp_sock(tcp), tcp->keepalive_idle_ns, &e))
    return wasio__wasi_error(&e);
  return 0;
}

int wasio__bk_tcp_socket(wasio_tcp_t *tcp, uint8_t family) {
  wasi_sockets_types_own_tcp_socket_t s;
  wasi_sockets_types_error_code_t e;
  if (!wasi_sockets_types_static_tcp_socket_create(wasio__wasi_family(family), &s, &e)) return wasio__wasi_error(&e);
  tcp->b.sock = s.__handle;
  (void)wasio__bk_tcp_keepalive(tcp);
  return 0;
}

int wasio__bk_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  wasi_sockets_types_ip_socket_address_t wa;
  wasi_sockets_types_error_code_t e;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  if (!wasi_sockets_types_method_tcp_socket_bind(wasio__tcp_sock(tcp), &wa, &e)) return wasio__wasi_error(&e);
  return 0;
}

int wasio__bk_tcp_listen(wasio_tcp_t *tcp, int backlog) {
  wasi_sockets_types_error_code_t e;
  /* Advisory: a host may not support it. */
  if (!wasi_sockets_types_method_tcp_socket_set_listen_backlog_size(wasio__tcp_sock(tcp), (uint64_t)backlog, &e))
    (void)wasio__wasi_error(&e);
  wasi_sockets_types_stream_own_tcp_socket_t lst;
  if (!wasi_sockets_types_method_tcp_socket_listen(wasio__tcp_sock(tcp), &lst, &e)) return wasio__wasi_error(&e);
  tcp->b.conn.kind = WASIO__W3_TCP_ACCEPT;
  if (wasio__w3_track(tcp->h.loop, &tcp->b.conn, lst) != 0) {
    wasi_sockets_types_stream_own_tcp_socket_drop_readable(lst);
    return WASIO_ENOMEM;
  }
  tcp->b.lst = lst;
  return 0;
}

/* The stream of a connected socket that `receive` gives. The stream it
 * sends comes at the first write (wasio__tcp_tx_open). On failure nothing
 * of it is left. `loop` is the handle's (an accepted handle does not know
 * its loop yet). */
static int wasio__tcp_open_streams(wasio_loop_t *loop, wasio_tcp_t *tcp) {
  wasi_sockets_types_tuple2_stream_u8_future_result_void_error_code_t rx;
  wasi_sockets_types_method_tcp_socket_receive(wasio__tcp_sock(tcp), &rx);
  if (wasio__w3_track(loop, &tcp->b.in, rx.f0) != 0) {
    wasi_sockets_types_stream_u8_drop_readable(rx.f0);
    wasi_sockets_types_future_result_void_error_code_drop_readable(rx.f1);
    return WASIO_ENOMEM;
  }
  tcp->b.rx = rx.f0;
  tcp->b.rx_fut = rx.f1;
  if (loop->backend.copies == WASIO__P3_COPIES_UNKNOWN) wasio__tcp_copies_probe(loop, tcp);
  return 0;
}

/* Hands `send` the readable end of `rd` (a stream<u8> of ours, or the host
 * TLS layer's ciphertext) and keeps its future: the socket's sending side,
 * which can be given one stream only. */
void wasio__tcp_send_stream(wasio_tcp_t *tcp, uint32_t rd) {
  tcp->b.tx_fut = wasi_sockets_types_method_tcp_socket_send(wasio__tcp_sock(tcp), rd);
  tcp->b.tx_made = true;
}

/* The stream the connection writes, made at its first use: the socket's
 * `send` takes one stream for the connection's life, which the host's TLS
 * must be able to take instead (tls_host.c). */
static int wasio__tcp_tx_make(wasio_loop_t *loop, wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->tx_made || b->sock == 0) return 0;
  wasi_sockets_types_stream_u8_writer_t tx;
  wasi_sockets_types_stream_u8_t rd = wasi_sockets_types_stream_u8_new(&tx);
  if (wasio__w3_track(loop, &b->out, tx) != 0) {
    wasi_sockets_types_stream_u8_drop_readable(rd);
    wasi_sockets_types_stream_u8_drop_writable(tx);
    return WASIO_ENOMEM;
  }
  b->tx = tx;
  wasio__tcp_send_stream(tcp, rd);
  return 0;
}

static int wasio__tcp_send_error(wasio_tcp_t *tcp);

/* The stream the connection writes, made if need be; a drop the probe
 * saw (tx_dropped) becomes the handle's write error here, since a write
 * after it would trap. */
static int wasio__tcp_tx_open(wasio_tcp_t *tcp) {
  int rc = wasio__tcp_tx_make(tcp->h.loop, tcp);
  if (rc == 0 && tcp->b.tx_dropped && tcp->write_err == 0) (void)wasio__tcp_send_error(tcp);
  return rc;
}

/* Learns the host's kind (the notes) with the first connection whose
 * streams open: a zero-length write to the stream `send` takes. Without
 * memory for that stream the next connection asks. */
static void wasio__tcp_copies_probe(wasio_loop_t *loop, wasio_tcp_t *tcp) {
#ifdef WASIO__BK_HOST_TLS
  (void)tcp;
  loop->backend.copies = WASIO__P3_COPIES_AT_ONCE;
#else
  wasio__backend_tcp_t *b = &tcp->b;
  if (wasio__tcp_tx_make(loop, tcp) != 0 || b->tx == 0) return;
  uint32_t st = wasi_sockets_types_stream_u8_write(b->tx, wasio__zero_buf, 0);
  /* The host already dropped the readable end (the socket failed): no
   * write may follow; the handle's first write or shutdown says so. The
   * handle is not initialized yet when accepted, so a flag keeps it. */
  if (wasio__w3_dropped(st)) b->tx_dropped = true;
  if (wasio__w3_blocked(st)) {
    (void)wasi_sockets_types_stream_u8_cancel_write(b->tx); /* not in a set yet; no bytes ride on it */
    loop->backend.copies = WASIO__P3_COPIES_LATER;
  } else {
    loop->backend.copies = WASIO__P3_COPIES_AT_ONCE;
  }
#endif
}

int wasio__bk_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (wasio__addr_to_wasi(addr, &b->cargs.remote_address) != 0) return WASIO_EINVAL;
  b->cargs.self = wasio__tcp_sock(tcp);
  b->conn.kind = WASIO__W3_TCP_CONN;
  int rc = wasio__w3_call(tcp->h.loop, &b->conn, wasi_sockets_types_method_tcp_socket_connect(&b->cargs, &b->cres));
  if (rc < 0) return rc;
  if (rc == 1) return 0;
  rc = wasio__bk_tcp_connect_result(tcp);
  return rc == 0 ? 1 : rc;
}

int wasio__bk_tcp_connect_result(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->conn.busy) return WASIO_EAGAIN;
  if (!wasio__w3_subtask_end(tcp->h.loop, &b->conn)) return WASIO_ECANCELED;
  if (b->cres.is_err) return wasio__wasi_error(&b->cres.val.err);
  return wasio__tcp_open_streams(tcp->h.loop, tcp);
}

/* A read of the listener's stream that ended with an event (done, not yet
 * consumed) may say the stream was dropped: then it is dropped here too,
 * before anything reads it again (wasmtime traps that), and the accept
 * after the socket it may have brought reports the end. */
static void wasio__tcp_accept_seen(wasio_tcp_t *server) {
  wasio__backend_tcp_t *b = &server->b;
  if (!b->conn.done || b->lst == 0 || !wasio__w3_dropped(b->conn.code)) return; /* b.acc keeps a socket it brought */
  wasio__w3_untrack(server->h.loop, &b->conn);
  wasi_sockets_types_stream_own_tcp_socket_drop_readable(b->lst);
  b->lst = 0;
}

/* Reads one socket from the listener's stream into b.acc: true when there
 * is one; false while none is waiting (the read is in flight) or the
 * stream ended (*err). */
static bool wasio__tcp_accept_read(wasio_tcp_t *server, int *err) {
  wasio__backend_tcp_t *b = &server->b;
  *err = 0;
  if (b->acc != 0) return true;
  if (b->conn.busy) return false;
  wasio__tcp_accept_seen(server);
  if (b->lst == 0) {
    *err = WASIO_ECONNABORTED;
    return false;
  }
  wasio__w3_consume(&b->conn);
  uint32_t st = wasi_sockets_types_stream_own_tcp_socket_read(b->lst, (wasi_sockets_types_own_tcp_socket_t *)&b->acc, 1);
  if (wasio__w3_blocked(st)) {
    wasio__w3_block(server->h.loop, &b->conn);
    return false;
  }
  if (b->acc != 0) return true;
  if (wasio__w3_dropped(st)) *err = WASIO_ECONNABORTED;
  return false;
}

int wasio__bk_tcp_accept(wasio_tcp_t *server, wasio_tcp_t *client) {
  int err;
  if (!wasio__tcp_accept_read(server, &err)) return err != 0 ? err : WASIO_EAGAIN;
  client->b.sock = server->b.acc;
  server->b.acc = 0;
  /* A failed accept(2) (out of descriptors, say) still comes as a socket,
   * closed with the failure: its remote address is that failure. */
  wasi_sockets_types_ip_socket_address_t peer;
  wasi_sockets_types_error_code_t e;
  int failed = 0;
  if (!wasi_sockets_types_method_tcp_socket_get_remote_address(wasio__tcp_sock(client), &peer, &e))
    failed = wasio__wasi_error(&e);
  /* The next connection is asked for now: the core may stop at its
   * per-turn budget, and a read in flight (or one already answered, on
   * the ready list) brings it back next turn. */
  if (wasio__tcp_accept_read(server, &err) || err != 0) wasio__w3_poke(server->h.loop, &server->b.conn);
  int rc = failed != 0 ? failed : wasio__tcp_open_streams(server->h.loop, client);
  if (rc != 0) {
    wasi_sockets_types_tcp_socket_drop_own((wasi_sockets_types_own_tcp_socket_t){client->b.sock});
    client->b.sock = 0;
  }
  return rc;
}

int wasio__bk_tcp_addr(const wasio_tcp_t *tcp, bool peer, wasio_addr_t *out) {
  if (tcp->b.sock == 0) return WASIO_ENOTCONN;
  wasi_sockets_types_ip_socket_address_t a;
  wasi_sockets_types_error_code_t e;
  bool ok = peer ? wasi_sockets_types_method_tcp_socket_get_remote_address(wasio__tcp_sock(tcp), &a, &e)
                 : wasi_sockets_types_method_tcp_socket_get_local_address(wasio__tcp_sock(tcp), &a, &e);
  if (!ok) return wasio__wasi_error(&e);
  wasio__addr_from_wasi(&a, out);
  return 0;
}

/* ---- the end of the peer's stream ---------------------------------------------- */

/* The stream from the peer was dropped: its future says how it ended. The
 * host resolves it a moment after the stream's end, so the read of it may
 * be in flight (the `fin` waiter); the end is reported once it is known. */
static void wasio__tcp_fin_value(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->fres.is_err) b->rx_err = wasio__wasi_error(&b->fres.val.err);
  memset(&b->fres, 0, sizeof b->fres);
}

static void wasio__tcp_rx_ended(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->rx_end) return;
  b->rx_end = true;
  if (b->fut_read) return; /* read early (the notes): its value comes or came */
  b->rx_err = 0;
#ifdef WASIO__BK_HOST_TLS
  /* Plaintext from the host's TLS: its receive future says how it ended. */
  if (b->tls_on) {
    wasio__tcp_tls_rx_ended(tcp);
    return;
  }
#endif
  if (b->rx_fut == 0) return;
  wasio__tcp_fut_read(tcp);
}

/* Reads the future that says how the peer's stream ended: at the end, or
 * from the start where reads are not canceled (the notes). */
static void wasio__tcp_fut_read(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  b->fut_read = true;
  memset(&b->fres, 0, sizeof b->fres);
  uint32_t st = wasi_sockets_types_future_result_void_error_code_read(b->rx_fut, &b->fres);
  if (wasio__w3_blocked(st)) {
    if (wasio__w3_track(tcp->h.loop, &b->fin, b->rx_fut) == 0) {
      wasio__w3_block(tcp->h.loop, &b->fin);
      return;
    }
    /* No memory to wait: the stream's end is all there is to know, and
     * a later call (the stream's end, the next fill) tries again. */
    st = wasi_sockets_types_future_result_void_error_code_cancel_read(b->rx_fut);
    if (IMPORTS_WAITABLE_STATE(st) != IMPORTS_WAITABLE_COMPLETED) {
      b->fut_read = false;
      return;
    }
  }
  if (IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_COMPLETED) wasio__tcp_fin_value(tcp);
}

/* The future read from the start (the notes) says the stream failed
 * while it had not ended: that ends the reading; a read in flight is
 * abandoned (its bytes, if any, came before the failure). */
static void wasio__tcp_failed_early(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->in.busy) {
    wasio__w3_leave(&b->in);
    (void)wasi_sockets_types_stream_u8_cancel_read(b->rx);
    wasio__w3_idle(tcp->h.loop, &b->in);
  }
  b->in_data = false;
  b->rx_end = true;
}

/* What a read reports after the end: 0 (nothing now) while the future is
 * still read, then the failure or WASIO_EOF. */
static int wasio__tcp_end_status(const wasio_tcp_t *tcp) {
  if (tcp->b.fin.busy) return 0;
  return tcp->b.rx_err != 0 ? tcp->b.rx_err : WASIO_EOF;
}

/* ---- waiting ---------------------------------------------------------------------- */

/* ---- the handle's own read buffer (the notes: hosts not known to complete copies at once) ---- */

/* A read into the handle's buffer ended with status `st`: its bytes are
 * buffered, and a dropped stream is the end (after them). */
static void wasio__tcp_in_took(wasio_tcp_t *tcp, uint32_t st) {
  wasio__backend_tcp_t *b = &tcp->b;
  b->in_data = false;
  b->ioff = 0;
  b->ilen = wasio__w3_count(st);
  if (wasio__w3_dropped(st)) wasio__tcp_rx_ended(tcp);
}

/* Reads into the handle's buffer (empty, nothing in flight on `in`), all
 * of it (the notes: no bytes left behind in the host): 1 when the read
 * ended at once (bytes buffered, or the end), 0 while it is in flight (its
 * event brings them), or WASIO_ENOMEM. */
static int wasio__tcp_fill(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->ibuf == NULL && (b->ibuf = wasio__malloc(WASIO__P3_TCP_IN_CAP)) == NULL) return WASIO_ENOMEM;
  /* On a host of jco's kind the future is read while the stream lives
   * (the notes: a reset fails it and may not end the stream). Not on
   * wasmtime's: there a future read before the stream's end never
   * completes (measured). */
  if (tcp->h.loop->backend.copies == WASIO__P3_COPIES_LATER && !b->fut_read && b->rx_fut != 0) {
    wasio__tcp_fut_read(tcp);
    /* Failed already: a read now might never complete (a reset on jco). */
    if (!b->rx_end && b->rx_err != 0) {
      wasio__tcp_failed_early(tcp);
      return 1;
    }
  }
  wasio__w3_consume(&b->in);
  uint32_t st = wasi_sockets_types_stream_u8_read(b->rx, b->ibuf, WASIO__P3_TCP_IN_CAP);
  if (wasio__w3_blocked(st)) {
    b->in_data = true;
    wasio__w3_block(tcp->h.loop, &b->in);
    return 0;
  }
  wasio__tcp_in_took(tcp, st);
  return 1;
}

void wasio__tcp_in_settle(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (!b->in_data) return;
  uint32_t st = b->in.code;
  if (b->in.busy) {
    wasio__w3_leave(&b->in);
    st = wasi_sockets_types_stream_u8_cancel_read(b->rx);
    wasio__w3_idle(tcp->h.loop, &b->in);
  }
  wasio__w3_consume(&b->in);
  wasio__tcp_in_took(tcp, st);
}

/* Moves buffered bytes to the core's buffer; the buffer goes once empty
 * on a host known to complete reads at once. */
static size_t wasio__tcp_take(wasio_tcp_t *tcp, void *buf, size_t len) {
  wasio__backend_tcp_t *b = &tcp->b;
  size_t n = b->ilen - b->ioff;
  if (n > len) n = len;
  memcpy(buf, b->ibuf + b->ioff, n);
  b->ioff += (uint32_t)n;
  if (b->ioff == b->ilen) {
    b->ioff = b->ilen = 0;
    if (tcp->h.loop->backend.copies == WASIO__P3_COPIES_AT_ONCE) {
      wasio__free(b->ibuf);
      b->ibuf = NULL;
    }
  }
  return n;
}

/* ---- waiting ---------------------------------------------------------------------- */

/* Waits until the peer's stream has bytes or ended: a zero-length read
 * (AT_ONCE), else the read into the handle's buffer itself. */
static void wasio__tcp_read_wait(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  wasio_loop_t *loop = tcp->h.loop;
  if (b->in.busy || b->in.done || (b->rx_end && b->fin.busy)) return; /* fin: its event reports */
  if (b->rx_end || b->rx == 0 || b->ioff < b->ilen) {
    wasio__w3_poke(loop, &b->in);
    return;
  }
  if (loop->backend.copies != WASIO__P3_COPIES_AT_ONCE) {
    /* At once (bytes, the end) or no memory (the read then says so). */
    if (wasio__tcp_fill(tcp) != 0) wasio__w3_poke(loop, &b->in);
    return;
  }
  uint32_t st = wasi_sockets_types_stream_u8_read(b->rx, wasio__zero_buf, 0);
  if (wasio__w3_blocked(st)) wasio__w3_block(loop, &b->in);
  else wasio__w3_done_now(loop, &b->in, st);
}

int wasio__bk_tcp_want(wasio_tcp_t *tcp, unsigned what) {
  wasio__backend_tcp_t *b = &tcp->b;
  b->want = (uint8_t)what;
  if (what & WASIO__IO_CONN) {
    if (b->lst != 0 || b->acc != 0) {
      int err;
      if (wasio__tcp_accept_read(tcp, &err) || err != 0) wasio__w3_poke(tcp->h.loop, &b->conn);
    }
    /* A connect's subtask is in flight already. */
  }
  if (what & WASIO__IO_READ) wasio__tcp_read_wait(tcp);
  /* Writing waits only for copied output in flight; else it can go now. */
  if ((what & WASIO__IO_WRITE) && !b->out.busy) wasio__w3_poke(tcp->h.loop, &b->out);
  return 0;
}

static void wasio__tcp_out_progress(wasio_tcp_t *tcp, uint32_t st);

void wasio__tcp_on_ready(wasio__w3_t *w) {
  switch (w->kind) {
    case WASIO__W3_TCP_CONN: {
      wasio_tcp_t *tcp = WASIO__CONTAINER_OF(w, wasio_tcp_t, b.conn);
      /* connect_result consumes the subtask. */
      if (tcp->b.want & WASIO__IO_CONN) wasio__tcp_ready(tcp, WASIO__IO_CONN);
      break;
    }
    case WASIO__W3_TCP_ACCEPT: {
      wasio_tcp_t *tcp = WASIO__CONTAINER_OF(w, wasio_tcp_t, b.conn);
      wasio__tcp_accept_seen(tcp);
      wasio__w3_consume(w);
      if (tcp->b.want & WASIO__IO_CONN) wasio__tcp_ready(tcp, WASIO__IO_CONN);
      break;
    }
    case WASIO__W3_TCP_IN: {
      wasio_tcp_t *tcp = WASIO__CONTAINER_OF(w, wasio_tcp_t, b.in);
      wasio__w3_consume(w);
      tcp->b.read_fresh = true;
      if (tcp->b.in_data) wasio__tcp_in_took(tcp, w->code);
      else if (w->code != 0 && wasio__w3_dropped(w->code)) wasio__tcp_rx_ended(tcp);
      if (tcp->b.want & WASIO__IO_READ) wasio__tcp_ready(tcp, WASIO__IO_READ);
      break;
    }
    case WASIO__W3_TCP_FIN: {
      wasio_tcp_t *tcp = WASIO__CONTAINER_OF(w, wasio_tcp_t, b.fin);
      wasio__w3_consume(w);
#ifdef WASIO__BK_HOST_TLS
      if (tcp->b.tls_on) {
        if (IMPORTS_WAITABLE_STATE(w->code) == IMPORTS_WAITABLE_COMPLETED) wasio__tcp_tls_fin_value(tcp);
      } else
#endif
      if (IMPORTS_WAITABLE_STATE(w->code) == IMPORTS_WAITABLE_COMPLETED) wasio__tcp_fin_value(tcp);
      wasio__w3_untrack(tcp->h.loop, w);
      if (!tcp->b.rx_end && tcp->b.rx_err != 0) wasio__tcp_failed_early(tcp);
      if (tcp->b.want & WASIO__IO_READ) wasio__tcp_ready(tcp, WASIO__IO_READ);
      break;
    }
    case WASIO__W3_TCP_OUT: {
      wasio_tcp_t *tcp = WASIO__CONTAINER_OF(w, wasio_tcp_t, b.out);
      wasio__w3_consume(w);
      if (tcp->b.obuf != NULL) wasio__tcp_out_progress(tcp, w->code);
      if (!tcp->b.out.busy && (tcp->b.want & WASIO__IO_WRITE)) wasio__tcp_ready(tcp, WASIO__IO_WRITE);
      break;
    }
  }
}

/* ---- reading ---------------------------------------------------------------------- */

/* A read where nothing in flight may be canceled (the notes: LATER):
 * into the handle's buffer, then to the core's. Nothing is in flight on
 * `in` (the caller saw to it). */
static ptrdiff_t wasio__tcp_read_own(wasio_tcp_t *tcp, void *buf, size_t len) {
  wasio__backend_tcp_t *b = &tcp->b;
  int rc = wasio__tcp_fill(tcp);
  if (rc <= 0) return rc; /* in flight (0), or no memory */
  if (b->ilen > 0) return (ptrdiff_t)wasio__tcp_take(tcp, buf, len);
  return b->rx_end ? wasio__tcp_end_status(tcp) : 0;
}

ptrdiff_t wasio__bk_tcp_read(wasio_tcp_t *tcp, void *buf, size_t len) {
  wasio__backend_tcp_t *b = &tcp->b;
  wasio_loop_t *loop = tcp->h.loop;
  bool fresh = b->read_fresh;
  b->read_fresh = false;
  /* A read into the handle's buffer whose event came, not yet dispatched. */
  if (b->in.done && b->in_data) {
    wasio__w3_consume(&b->in);
    wasio__tcp_in_took(tcp, b->in.code);
  }
  if (b->ioff < b->ilen) return (ptrdiff_t)wasio__tcp_take(tcp, buf, len);
  if (b->rx == 0) return WASIO_ENOTCONN;
  if (b->rx_end) return wasio__tcp_end_status(tcp);
  if (b->in_data) return 0; /* in flight: its event brings the bytes */
  if (loop->backend.copies != WASIO__P3_COPIES_AT_ONCE) return wasio__tcp_read_own(tcp, buf, len);
  if (b->in.busy) {
    /* The readiness read is still waiting: take it back first. */
    wasio__w3_leave(&b->in);
    uint32_t c = wasi_sockets_types_stream_u8_cancel_read(b->rx);
    wasio__w3_idle(tcp->h.loop, &b->in);
    if (wasio__w3_dropped(c)) {
      wasio__tcp_rx_ended(tcp);
      return wasio__tcp_end_status(tcp);
    }
  }
  /* An event not yet dispatched may say the stream ended: a read after
   * it traps. */
  if (b->in.done && b->in.code != 0 && wasio__w3_dropped(b->in.code)) {
    wasio__w3_consume(&b->in);
    wasio__tcp_rx_ended(tcp);
    return wasio__tcp_end_status(tcp);
  }
  wasio__w3_consume(&b->in);
  uint32_t st = wasi_sockets_types_stream_u8_read(b->rx, buf, len);
  if (wasio__w3_blocked(st)) {
    wasio__w3_leave(&b->in); /* a synchronous cancel must not be in a set */
    st = wasi_sockets_types_stream_u8_cancel_read(b->rx);
  }
  uint32_t n = wasio__w3_count(st);
  if (wasio__w3_dropped(st)) wasio__tcp_rx_ended(tcp);
  if (n > 0) return (ptrdiff_t)n;
  /* Nothing on the first read after the stream said it was readable: this
   * host keeps a socket readable until a read finds it empty (see the
   * notes). */
  if (fresh && !b->rx_end) tcp->h.loop->backend.sticky_read_ready = true;
  return b->rx_end ? wasio__tcp_end_status(tcp) : 0;
}

bool wasio__bk_tcp_read_on(const wasio_tcp_t *tcp) { return tcp->h.loop->backend.sticky_read_ready; }

/* ---- writing ------------------------------------------------------------------------- */

/* The sending side failed (the host dropped the stream's other end): the
 * error `send`'s future gives, or a broken pipe. */
static int wasio__tcp_send_error(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  int err = WASIO_EPIPE;
  if (b->tx_fut != 0) {
    wasi_sockets_types_result_void_error_code_t res;
    uint32_t st = wasi_sockets_types_future_result_void_error_code_read(b->tx_fut, &res);
    if (wasio__w3_blocked(st)) (void)wasi_sockets_types_future_result_void_error_code_cancel_read(b->tx_fut);
    else if (IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_COMPLETED && res.is_err) err = wasio__wasi_error(&res.val.err);
    wasi_sockets_types_future_result_void_error_code_drop_readable(b->tx_fut);
    b->tx_fut = 0;
  }
  if (tcp->write_err == 0) tcp->write_err = err;
  return err;
}

/* Writes the handle's copied output from ooff on, until it is all taken
 * (the buffer is freed), the write is in flight, or the stream failed. */
static void wasio__tcp_out_write(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  while (b->ooff < b->olen) {
    uint32_t st = wasi_sockets_types_stream_u8_write(b->tx, b->obuf + b->ooff, b->olen - b->ooff);
    if (wasio__w3_blocked(st)) {
      wasio__w3_block(tcp->h.loop, &b->out);
      return;
    }
    wasio__tcp_out_progress(tcp, st);
    if (b->obuf == NULL) return;
  }
}

/* A write of the copied output ended with status `st`. */
static void wasio__tcp_out_progress(wasio_tcp_t *tcp, uint32_t st) {
  wasio__backend_tcp_t *b = &tcp->b;
  b->ooff += wasio__w3_count(st);
  bool failed = wasio__w3_dropped(st);
  if (failed) (void)wasio__tcp_send_error(tcp);
  if (failed || b->ooff >= b->olen) {
    /* A small buffer is kept for the next write where writes always copy
     * (the notes); it has WASIO__P3_TCP_OUT_KEEP bytes. */
    if (tcp->h.loop->backend.copies != WASIO__P3_COPIES_AT_ONCE && b->olen <= WASIO__P3_TCP_OUT_KEEP &&
        b->ospare == NULL)
      b->ospare = b->obuf;
    else
      wasio__free(b->obuf);
    b->obuf = NULL;
    b->olen = b->ooff = 0;
    return;
  }
  if (!b->out.busy) wasio__tcp_out_write(tcp);
}

/* A write where nothing in flight may be canceled (the notes): up to
 * WASIO__P3_TCP_OUT_CAP bytes of p[0..len) copied into the handle's
 * buffer and written from it; returns the bytes taken, or the failure. */
static ptrdiff_t wasio__tcp_write_own(wasio_tcp_t *tcp, const uint8_t *p, size_t len) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->obuf != NULL) return 0; /* output in flight: the rest waits */
  size_t c = len < WASIO__P3_TCP_OUT_CAP ? len : WASIO__P3_TCP_OUT_CAP;
  if (c <= WASIO__P3_TCP_OUT_KEEP && b->ospare != NULL) {
    b->obuf = b->ospare;
    b->ospare = NULL;
  } else {
    b->obuf = wasio__malloc(c <= WASIO__P3_TCP_OUT_KEEP ? WASIO__P3_TCP_OUT_KEEP : c);
    if (b->obuf == NULL) return WASIO_ENOMEM;
  }
  memcpy(b->obuf, p, c);
  b->olen = c;
  b->ooff = 0;
  uint32_t st = wasi_sockets_types_stream_u8_write(b->tx, b->obuf, c);
  if (wasio__w3_blocked(st)) {
    wasio__w3_block(tcp->h.loop, &b->out);
    return (ptrdiff_t)c;
  }
  size_t n = wasio__w3_count(st);
  if (wasio__w3_dropped(st) && n == 0) {
    wasio__free(b->obuf);
    b->obuf = NULL;
    b->olen = 0;
    return wasio__tcp_send_error(tcp);
  }
  wasio__tcp_out_progress(tcp, st);
  /* Dropped after n bytes: only those were taken. */
  return (ptrdiff_t)(wasio__w3_dropped(st) ? n : c);
}

/* Hands p[0..len) to the stream: what the host takes at once, then (when
 * it cannot take it all) a copy of up to WASIO__P3_TCP_OUT_CAP bytes of
 * the rest, written from the handle's buffer. Returns the bytes taken, or
 * the failure when none were. Once a write found the readable end dropped
 * (write_err), nothing is written again: the host traps a write after it
 * reported the drop, and staged bytes can still be flushed after it. */
static ptrdiff_t wasio__tcp_write(wasio_tcp_t *tcp, const uint8_t *p, size_t len) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (tcp->write_err != 0) return tcp->write_err;
  if (tcp->h.loop->backend.copies != WASIO__P3_COPIES_AT_ONCE) return wasio__tcp_write_own(tcp, p, len);
  uint32_t st = wasi_sockets_types_stream_u8_write(b->tx, p, len);
  if (wasio__w3_blocked(st)) {
    wasio__w3_leave(&b->out); /* a synchronous cancel must not be in a set */
    st = wasi_sockets_types_stream_u8_cancel_write(b->tx);
  }
  size_t n = wasio__w3_count(st);
  if (wasio__w3_dropped(st)) {
    int err = wasio__tcp_send_error(tcp);
    return n > 0 ? (ptrdiff_t)n : err;
  }
  if (n == len) return (ptrdiff_t)n;
  size_t c = len - n < WASIO__P3_TCP_OUT_CAP ? len - n : WASIO__P3_TCP_OUT_CAP;
  b->obuf = wasio__malloc(c);
  if (b->obuf == NULL) return (ptrdiff_t)n; /* the rest waits for memory */
  memcpy(b->obuf, p + n, c);
  b->olen = c;
  b->ooff = 0;
  wasio__tcp_out_write(tcp);
  return (ptrdiff_t)(n + c);
}

static uint8_t *wasio__tcp_stage_buf(wasio_loop_t *loop) {
  if (loop->backend.stage == NULL) loop->backend.stage = wasio__malloc(WASIO__TCP_STAGE_CAP);
  return loop->backend.stage;
}

/* Writes what `tcp` has staged. Returns 0 or the failure (the bytes are
 * lost, as if the host had failed after taking them). */
static int wasio__tcp_stage_flush(wasio_tcp_t *tcp) {
  wasio__backend_loop_t *be = &tcp->h.loop->backend;
  if (be->stage_tcp != tcp) return 0;
  size_t len = be->stage_len;
  be->stage_tcp = NULL;
  be->stage_len = 0;
  ptrdiff_t n = wasio__tcp_write(tcp, be->stage, len);
  if (n < 0) return (int)n;
  return (size_t)n == len ? 0 : WASIO_ENOMEM;
}

int wasio__bk_tcp_push(wasio_tcp_t *tcp) {
  if (tcp->b.tx == 0) return 0;
  return wasio__tcp_stage_flush(tcp);
}

ptrdiff_t wasio__bk_tcp_send(wasio_tcp_t *tcp, const wasio__iov_t *iov, size_t n, bool more) {
  (void)more; /* staged bytes wait for the push in any case */
  wasio_loop_t *loop = tcp->h.loop;
  wasio__backend_loop_t *be = &loop->backend;
  wasio__backend_tcp_t *b = &tcp->b;
  int orc = wasio__tcp_tx_open(tcp);
  if (orc < 0) return orc;
  if (b->tx == 0) return WASIO_EPIPE;
  if (tcp->write_err != 0) return tcp->write_err;
  if (be->stage_tcp != NULL && be->stage_tcp != tcp) (void)wasio__bk_tcp_push(be->stage_tcp);
  size_t taken = 0;
  for (size_t i = 0; i < n; i++) {
    if (b->obuf != NULL) break; /* output in flight: the rest waits */
    size_t left = iov[i].len;
    uint8_t *stage = left <= WASIO__TCP_STAGE_SMALL ? wasio__tcp_stage_buf(loop) : NULL;
    if (stage != NULL) {
      if (be->stage_len + left > WASIO__TCP_STAGE_CAP) {
        int rc = wasio__tcp_stage_flush(tcp);
        if (rc < 0) return taken > 0 ? (ptrdiff_t)taken : rc;
        if (b->obuf != NULL) break;
      }
      memcpy(stage + be->stage_len, iov[i].base, left);
      be->stage_len += left;
      be->stage_tcp = tcp;
      taken += left;
      continue;
    }
    int rc = wasio__tcp_stage_flush(tcp);
    if (rc < 0) return taken > 0 ? (ptrdiff_t)taken : rc;
    if (b->obuf != NULL) break;
    ptrdiff_t w = wasio__tcp_write(tcp, iov[i].base, left);
    if (w < 0) return taken > 0 ? (ptrdiff_t)taken : w;
    taken += (size_t)w;
    if ((size_t)w < left) break;
  }
  return (ptrdiff_t)taken;
}

int wasio__bk_tcp_shutdown(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  /* Nothing was ever written: the stream is made to be ended (the FIN). */
  int orc = wasio__tcp_tx_open(tcp);
  if (orc < 0) return orc;
  if (b->tx == 0) return WASIO_EPIPE;
  int rc = wasio__bk_tcp_push(tcp);
  if (rc < 0) return rc;
  if (b->obuf != NULL) return WASIO_EAGAIN;
  if (tcp->write_err != 0) return tcp->write_err;
  wasio__w3_untrack(tcp->h.loop, &b->out);
  wasi_sockets_types_stream_u8_drop_writable(b->tx);
  b->tx = 0;
  return 0;
}

/* ---- release --------------------------------------------------------------------------- */

/* A closed connection's copied output still in flight (see the notes):
 * the record owns the writable end, send's future, the socket and the
 * buffer until the host has taken the bytes or failed. Records left when
 * the loop is freed are canceled. */
typedef struct wasio__tcp_linger {
  struct wasio__tcp_linger *next;
  wasio_loop_t *loop;
  wasio__w3_t w;
  uint32_t tx, tx_fut;
  int32_t sock;
  uint8_t *obuf;
  size_t olen, ooff;
} wasio__tcp_linger_t;

static void wasio__tcp_linger_drop(wasio__tcp_linger_t *l) {
  wasio__w3_end(l->loop, &l->w, wasi_sockets_types_stream_u8_cancel_write);
  wasi_sockets_types_stream_u8_drop_writable(l->tx);
  if (l->tx_fut != 0) wasi_sockets_types_future_result_void_error_code_drop_readable(l->tx_fut);
  wasi_sockets_types_tcp_socket_drop_own((wasi_sockets_types_own_tcp_socket_t){l->sock});
  wasio__free(l->obuf);
}

static void wasio__tcp_linger_unlist(wasio__tcp_linger_t *l) {
  wasio__tcp_linger_t **pp = &l->loop->backend.linger;
  while (*pp != l) pp = &(*pp)->next;
  *pp = l->next;
}

void wasio__tcp_linger_ready(wasio__w3_t *w) {
  wasio__tcp_linger_t *l = WASIO__CONTAINER_OF(w, wasio__tcp_linger_t, w);
  wasio__w3_consume(w);
  uint32_t st = w->code;
  for (;;) {
    l->ooff += wasio__w3_count(st);
    if (wasio__w3_dropped(st) || l->ooff >= l->olen) break;
    st = wasi_sockets_types_stream_u8_write(l->tx, l->obuf + l->ooff, l->olen - l->ooff);
    if (wasio__w3_blocked(st)) {
      wasio__w3_block(l->loop, w);
      return;
    }
  }
  wasio__tcp_linger_unlist(l);
  wasio__tcp_linger_drop(l);
  wasio__free(l);
}

void wasio__tcp_linger_abandon(wasio_loop_t *loop) {
  while (loop->backend.linger != NULL) {
    wasio__tcp_linger_t *l = loop->backend.linger;
    loop->backend.linger = l->next;
    wasio__tcp_linger_drop(l);
    wasio__free(l);
  }
}

/* Moves the handle's output in flight to a linger record; leaves the
 * handle's fields zero if it did. */
static void wasio__tcp_linger_output(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = tcp->h.loop;
  wasio__backend_tcp_t *b = &tcp->b;
  if (!b->out.busy || b->obuf == NULL || b->sock == 0) return;
  wasio__tcp_linger_t *l = wasio__malloc(sizeof *l);
  if (l == NULL) return; /* the output is canceled instead */
  wasio__w3_init(&l->w, WASIO__W3_TCP_LINGER);
  l->loop = loop;
  /* The write in flight moves to the record's waiter. */
  wasio__w3_leave(&b->out);
  wasio__w3_untrack(loop, &b->out);
  if (wasio__w3_track(loop, &l->w, b->tx) != 0) {
    (void)wasi_sockets_types_stream_u8_cancel_write(b->tx);
    wasio__free(l);
    return;
  }
  wasio__w3_block(loop, &l->w);
  l->tx = b->tx;
  l->tx_fut = b->tx_fut;
  l->sock = b->sock;
  l->obuf = b->obuf;
  l->olen = b->olen;
  l->ooff = b->ooff;
  b->tx = b->tx_fut = 0;
  b->sock = 0;
  b->obuf = NULL;
  b->olen = b->ooff = 0;
  l->next = loop->backend.linger;
  loop->backend.linger = l;
}

void wasio__bk_tcp_release(wasio_tcp_t *tcp, bool linger) {
  wasio_loop_t *loop = tcp->h.loop;
  wasio__backend_loop_t *be = &loop->backend;
  wasio__backend_tcp_t *b = &tcp->b;
  if (be->stage_tcp == tcp) {
    be->stage_tcp = NULL;
    be->stage_len = 0;
  }
  if (linger) wasio__tcp_linger_output(tcp);
#ifdef WASIO__BK_HOST_TLS
  /* The TLS layer's subtask and futures (its receive future's read is
   * the `fin` waiter's). */
  wasio__tcp_tls_release(tcp);
#endif
  /* Each waitable: its operation in flight taken back, then dropped. */
  if (b->fin.done) wasio__tcp_fin_value(tcp);
  wasio__w3_end(loop, &b->fin, wasi_sockets_types_future_result_void_error_code_cancel_read);
  if (b->rx != 0) {
    wasio__w3_end(loop, &b->in, wasi_sockets_types_stream_u8_cancel_read);
    wasi_sockets_types_stream_u8_drop_readable(b->rx);
  }
  if (b->rx_fut != 0) wasi_sockets_types_future_result_void_error_code_drop_readable(b->rx_fut);
  /* jco closes a socket whose resource is dropped only when its sending
   * stream ended (measured: a connection that never wrote stayed open
   * for the peer): made here, then dropped below. */
  if (loop->backend.copies != WASIO__P3_COPIES_AT_ONCE && b->rx != 0) (void)wasio__tcp_tx_make(loop, tcp);
  if (b->tx != 0) {
    wasio__w3_end(loop, &b->out, wasi_sockets_types_stream_u8_cancel_write);
    wasi_sockets_types_stream_u8_drop_writable(b->tx);
  }
  if (b->tx_fut != 0) wasi_sockets_types_future_result_void_error_code_drop_readable(b->tx_fut);
  wasio__free(b->obuf);
  wasio__free(b->ospare);
  wasio__free(b->ibuf);
  /* The listener's stream and its read, or a connect in flight. */
  if (b->lst != 0) {
    wasio__w3_end(loop, &b->conn, wasi_sockets_types_stream_own_tcp_socket_cancel_read);
    wasi_sockets_types_stream_own_tcp_socket_drop_readable(b->lst);
  } else {
    (void)wasio__w3_subtask_end(loop, &b->conn);
  }
  if (b->acc != 0) wasi_sockets_types_tcp_socket_drop_own((wasi_sockets_types_own_tcp_socket_t){b->acc});
  if (b->sock != 0) wasi_sockets_types_tcp_socket_drop_own((wasi_sockets_types_own_tcp_socket_t){b->sock});
  wasio__bk_tcp_init(tcp);
}
