/* src/backend/wasip2/tcp.c: the wasip2 backend's part of TCP (internal.h's
 * wasio__bk_tcp_*) on wasi:sockets/tcp and wasi:io/streams. The policy
 * (queues, callbacks, deadlines, budget) is src/core/tcp.c's.
 *
 * Implementation notes
 * - Three sources per handle: the socket's pollable (connect, accept), the
 *   input stream's (reads) and the output stream's (write permits, flush).
 *   Each is subscribed on first use, watched only while the core waits on
 *   it, and dropped before its parent (release).
 * - Reads land straight in the caller's buffer (or the loop's) through the
 *   cabi_realloc arena. Hosts differ in what the input pollable says after
 *   a read that drained the host's buffer: jco's turns not-ready at once,
 *   wasmtime's stays ready until a read returns nothing. The backend learns
 *   which (an empty read right after a ready report) and, on the second
 *   kind, tells the core to read on after a short read (read_on) instead of
 *   paying a poll that only leads to the empty read.
 * - Every write is bounded by check-write's permit, and a permit holds for
 *   one write only (wasmtime permits nothing more until that write is done).
 * - Small writes are staged: a piece of at most WASIO__TCP_STAGE_SMALL
 *   bytes is copied into the loop's staging buffer and counted as taken;
 *   the buffer goes out in one output-stream.write when a large piece
 *   comes (written in place, after it), the buffer or the permit is full,
 *   or the core pushes (the end of the handle's dispatch, a shutdown, a
 *   close). See the constants for why.
 * - Shutdown: flush, wait until check-write shows the flush done, [over
 *   the host's TLS: close_notify (tls_host.c), then wait for the stream to
 *   end,] drop the output stream and shut the sending side down (wasmtime
 *   needs the latter to send a FIN; jco sends it on the drop and must not
 *   get the call: see wasio__tcp_host_shutdown_destroys). The core bounds
 *   the wait.
 * - Close never drops a busy output stream (see "Lingering output").
 */
#include <string.h>

#include "wasip2.h"

/* Staging small writes. WASI 0.2 cannot set TCP_NODELAY, and wasmtime
 * leaves Nagle on, so one output-stream.write per request turned a train of
 * small requests (a chunked HTTP response: chunk header, data, CRLF, the
 * next chunk queued from the previous one's callback) into separate small
 * segments, each after the first waiting for the peer's delayed ACK: about
 * 40 ms per train. A piece with at most WASIO__TCP_STAGE_SMALL bytes is
 * instead copied into a staging buffer of WASIO__TCP_STAGE_CAP bytes per
 * loop (only while the check-write permit allows: the last piece may be
 * copied in part) and counted as taken, as the stream would have taken it;
 * larger pieces are written in place, without a copy. The buffer is
 * allocated on first use and kept until the loop is freed (no allocation
 * per turn); without it, writes go in place. */
#define WASIO__TCP_STAGE_CAP 16384
#define WASIO__TCP_STAGE_SMALL 1024

/* Steps of the shutdown sequence done so far (b.shut). */
enum {
  WASIO__TCP_SHUT_FLUSHED = 1 << 0, /* the flush was issued */
  WASIO__TCP_SHUT_END = 1 << 1      /* close_notify was asked for: waiting for the stream to end */
};

static inline wasi_sockets_tcp_borrow_tcp_socket_t wasio__tcp_sock(const wasio_tcp_t *tcp) {
  return wasi_sockets_tcp_borrow_tcp_socket(tcp->b.sock);
}
static inline wasi_io_streams_borrow_output_stream_t wasio__tcp_out(const wasio_tcp_t *tcp) {
  return wasi_io_streams_borrow_output_stream(tcp->b.out);
}

void wasio__bk_tcp_init(wasio_tcp_t *tcp) {
  memset(&tcp->b, 0, sizeof tcp->b);
  wasio__src_init(&tcp->b.sock_src, WASIO__SRC_TCP_SOCKET);
  wasio__src_init(&tcp->b.in_src, WASIO__SRC_TCP_IN);
  wasio__src_init(&tcp->b.out_src, WASIO__SRC_TCP_OUT);
#ifdef WASIO_HOST_TLS
  wasio__src_init(&tcp->b.tls_src, WASIO__SRC_HOST_TLS);
#endif
}

/* ---- the socket ----------------------------------------------------------------- */

int wasio__bk_tcp_keepalive(wasio_tcp_t *tcp) {
  wasi_sockets_tcp_error_code_t e;
  if (!(tcp->flags & WASIO__TCPF_KA_SET) || tcp->b.sock.__handle == 0) return 0;
  bool on = (tcp->flags & WASIO__TCPF_KA_ON) != 0;
  if (!wasi_sockets_tcp_method_tcp_socket_set_keep_alive_enabled(wasio__tcp_sock(tcp), on, &e))
    return wasio__wasi_error(e, false);
  if (on && tcp->keepalive_idle_ns != 0 &&
      !wasi_sockets_tcp_method_tcp_socket_set_keep_alive_idle_time(wasio__tcp_sock(tcp),
                                                                   tcp->keepalive_idle_ns, &e))
    return wasio__wasi_error(e, false);
  return 0;
}

int wasio__bk_tcp_socket(wasio_tcp_t *tcp, uint8_t family) {
  wasi_sockets_tcp_create_socket_own_tcp_socket_t s;
  wasi_sockets_tcp_create_socket_error_code_t e;
  if (!wasi_sockets_tcp_create_socket_create_tcp_socket(wasio__wasi_family(family), &s, &e))
    return wasio__wasi_error(e, false);
  tcp->b.sock = s;
  /* Options chosen before the socket existed; a host that refuses one
   * still gets a working socket. */
  (void)wasio__bk_tcp_keepalive(tcp);
  return 0;
}

int wasio__bk_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  wasi_sockets_network_ip_socket_address_t wa;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_start_bind(wasio__tcp_sock(tcp), wasio__network(tcp->h.loop), &wa, &e))
    return wasio__wasi_error(e, false);
  for (int i = 0;; i++) {
    if (wasi_sockets_tcp_method_tcp_socket_finish_bind(wasio__tcp_sock(tcp), &e)) return 0;
    if (!wasio__finish_again(i, e)) return wasio__wasi_error(e, false);
  }
}

int wasio__bk_tcp_listen(wasio_tcp_t *tcp, int backlog) {
  wasi_sockets_tcp_error_code_t e;
  /* Advisory: a host may not support it (or only before bind). */
  (void)wasi_sockets_tcp_method_tcp_socket_set_listen_backlog_size(wasio__tcp_sock(tcp), (uint64_t)backlog, &e);
  if (!wasi_sockets_tcp_method_tcp_socket_start_listen(wasio__tcp_sock(tcp), &e)) return wasio__wasi_error(e, false);
  for (int i = 0;; i++) {
    if (wasi_sockets_tcp_method_tcp_socket_finish_listen(wasio__tcp_sock(tcp), &e)) return 0;
    if (!wasio__finish_again(i, e)) return wasio__wasi_error(e, false);
  }
}

int wasio__bk_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  wasi_sockets_network_ip_socket_address_t wa;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_start_connect(wasio__tcp_sock(tcp), wasio__network(tcp->h.loop), &wa, &e))
    return wasio__wasi_error(e, false);
  return 0;
}

int wasio__bk_tcp_connect_result(wasio_tcp_t *tcp) {
  wasi_sockets_tcp_tuple2_own_input_stream_own_output_stream_t streams;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_finish_connect(wasio__tcp_sock(tcp), &streams, &e))
    return e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK ? WASIO_EAGAIN : wasio__wasi_error(e, false);
  tcp->b.in = streams.f0;
  tcp->b.out = streams.f1;
  return 0;
}

int wasio__bk_tcp_accept(wasio_tcp_t *server, wasio_tcp_t *client) {
  wasi_sockets_tcp_tuple3_own_tcp_socket_own_input_stream_own_output_stream_t r;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_accept(wasio__tcp_sock(server), &r, &e))
    return e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK ? WASIO_EAGAIN : wasio__wasi_error(e, false);
  client->b.sock = r.f0;
  client->b.in = r.f1;
  client->b.out = r.f2;
  return 0;
}

int wasio__bk_tcp_addr(const wasio_tcp_t *tcp, bool peer, wasio_addr_t *out) {
  if (tcp->b.sock.__handle == 0) return WASIO_ENOTCONN;
  wasi_sockets_network_ip_socket_address_t a;
  wasi_sockets_tcp_error_code_t e;
  bool ok = peer ? wasi_sockets_tcp_method_tcp_socket_remote_address(wasio__tcp_sock(tcp), &a, &e)
                 : wasi_sockets_tcp_method_tcp_socket_local_address(wasio__tcp_sock(tcp), &a, &e);
  if (!ok) return wasio__wasi_error(e, false);
  wasio__addr_from_wasi(&a, out);
  return 0;
}

/* ---- waiting ---------------------------------------------------------------------- */

/* Watches `src` (subscribing it first) when `on`, else unwatches it. */
static int wasio__tcp_watch(wasio_tcp_t *tcp, wasio__src_t *src, bool on) {
  wasio_loop_t *loop = tcp->h.loop;
  if (!on) {
    wasio__src_unwatch(loop, src);
    return 0;
  }
  if (!wasio__src_subscribed(src)) {
    if (src == &tcp->b.sock_src) {
      if (tcp->b.sock.__handle == 0) return 0;
      src->pollable = wasi_sockets_tcp_method_tcp_socket_subscribe(wasio__tcp_sock(tcp));
    } else if (src == &tcp->b.in_src) {
      if (tcp->b.in.__handle == 0) return 0;
      src->pollable = wasi_io_streams_method_input_stream_subscribe(wasi_io_streams_borrow_input_stream(tcp->b.in));
    } else {
      if (tcp->b.out.__handle == 0) return 0;
      src->pollable = wasi_io_streams_method_output_stream_subscribe(wasio__tcp_out(tcp));
    }
  }
  return wasio__src_watch(loop, src);
}

int wasio__bk_tcp_want(wasio_tcp_t *tcp, unsigned what) {
  int rc = wasio__tcp_watch(tcp, &tcp->b.sock_src, (what & WASIO__IO_CONN) != 0);
  int r2 = wasio__tcp_watch(tcp, &tcp->b.in_src, (what & WASIO__IO_READ) != 0);
  int r3 = wasio__tcp_watch(tcp, &tcp->b.out_src, (what & WASIO__IO_WRITE) != 0);
  return rc != 0 ? rc : r2 != 0 ? r2 : r3;
}

void wasio__tcp_on_ready(wasio__src_t *src) {
  switch (src->kind) {
    case WASIO__SRC_TCP_SOCKET:
      wasio__tcp_ready(WASIO__CONTAINER_OF(src, wasio_tcp_t, b.sock_src), WASIO__IO_CONN);
      break;
    case WASIO__SRC_TCP_IN: {
      wasio_tcp_t *tcp = WASIO__CONTAINER_OF(src, wasio_tcp_t, b.in_src);
      tcp->b.read_fresh = true;
      wasio__tcp_ready(tcp, WASIO__IO_READ);
      break;
    }
    case WASIO__SRC_TCP_OUT:
      wasio__tcp_ready(WASIO__CONTAINER_OF(src, wasio_tcp_t, b.out_src), WASIO__IO_WRITE);
      break;
  }
}

/* ---- reading ---------------------------------------------------------------------- */

ptrdiff_t wasio__bk_tcp_read(wasio_tcp_t *tcp, void *buf, size_t len) {
  wasio_loop_t *loop = tcp->h.loop;
  bool fresh = tcp->b.read_fresh;
  tcp->b.read_fresh = false;
  imports_list_u8_t data;
  wasi_io_streams_stream_error_t e;
  wasio__arena_set(buf, len);
  bool ok = wasi_io_streams_method_input_stream_read(wasi_io_streams_borrow_input_stream(tcp->b.in), len, &data, &e);
  wasio__arena_clear();
  if (!ok) return wasio__stream_error(&e, false);
  if (data.len == 0) {
    /* Nothing on the first read after the pollable said ready: this host
     * keeps a stream ready until a read comes back empty (see the notes). */
    if (fresh) loop->backend.sticky_read_ready = true;
    return 0;
  }
  if (data.ptr != buf) {
    /* Only if a host allocated differently than asked. */
    memcpy(buf, data.ptr, data.len);
    wasio__abi_free(data.ptr, data.len);
  }
  return (ptrdiff_t)data.len;
}

bool wasio__bk_tcp_read_on(const wasio_tcp_t *tcp) { return tcp->h.loop->backend.sticky_read_ready; }

/* ---- writing ------------------------------------------------------------------------- */

/* The loop's staging buffer, or NULL (then every write goes in place).
 * Allocated on first use, freed by wasio__backend_free. */
static uint8_t *wasio__tcp_stage_buf(wasio_loop_t *loop) {
  if (loop->backend.stage == NULL) loop->backend.stage = wasio__malloc(WASIO__TCP_STAGE_CAP);
  return loop->backend.stage;
}

/* Writes what `tcp` has staged (within the permit of the check-write it
 * was staged under, with no write since, so the stream takes all of it)
 * and empties the buffer. Returns 1 if it wrote, 0 if nothing was staged,
 * or the stream's error (the bytes are lost, as if the host had failed
 * after taking them). */
static int wasio__tcp_stage_flush(wasio_tcp_t *tcp) {
  wasio__backend_loop_t *be = &tcp->h.loop->backend;
  if (be->stage_tcp != tcp) return 0;
  imports_list_u8_t chunk = {be->stage, be->stage_len};
  be->stage_tcp = NULL;
  be->stage_len = 0;
  wasi_io_streams_stream_error_t e;
  if (!wasi_io_streams_method_output_stream_write(wasio__tcp_out(tcp), &chunk, &e))
    return wasio__stream_error(&e, true);
  return 1;
}

int wasio__bk_tcp_push(wasio_tcp_t *tcp) {
  if (tcp->b.out.__handle == 0) return 0;
  int rc = wasio__tcp_stage_flush(tcp);
  return rc < 0 ? rc : 0;
}

ptrdiff_t wasio__bk_tcp_send(wasio_tcp_t *tcp, const wasio__iov_t *iov, size_t n, bool more) {
  (void)more; /* staged bytes wait for the push in any case */
  wasio_loop_t *loop = tcp->h.loop;
  wasio__backend_loop_t *be = &loop->backend;
  if (tcp->b.out.__handle == 0) return WASIO_EPIPE;
  /* Another handle's staged bytes go first (they were taken already). */
  if (be->stage_tcp != NULL && be->stage_tcp != tcp) (void)wasio__bk_tcp_push(be->stage_tcp);
  uint64_t permit;
  wasi_io_streams_stream_error_t e;
  if (!wasi_io_streams_method_output_stream_check_write(wasio__tcp_out(tcp), &permit, &e))
    return wasio__stream_error(&e, true);
  /* What was staged since the last write is still to come out of it. */
  size_t staged = be->stage_tcp == tcp ? be->stage_len : 0;
  uint64_t avail = permit > staged ? permit - staged : 0;
  size_t taken = 0;
  for (size_t i = 0; i < n && avail > 0; i++) {
    size_t left = iov[i].len;
    uint8_t *stage = left <= WASIO__TCP_STAGE_SMALL ? wasio__tcp_stage_buf(loop) : NULL;
    if (stage != NULL && be->stage_len < WASIO__TCP_STAGE_CAP) {
      size_t room = WASIO__TCP_STAGE_CAP - be->stage_len;
      size_t c = left < room ? left : room;
      if (c > avail) c = (size_t)avail;
      memcpy(stage + be->stage_len, iov[i].base, c);
      be->stage_len += c;
      be->stage_tcp = tcp;
      avail -= c;
      taken += c;
      if (c < left) break; /* the buffer or the permit is full */
      continue;
    }
    /* A large piece (or a full buffer): what is staged goes first, in the
     * one write this permit allows; the piece waits for the next permit. */
    int rc = wasio__tcp_stage_flush(tcp);
    if (rc < 0) return rc;
    if (rc > 0) return (ptrdiff_t)taken;
    size_t w = left < avail ? left : (size_t)avail;
    imports_list_u8_t chunk = {(uint8_t *)(uintptr_t)iov[i].base, w};
    if (!wasi_io_streams_method_output_stream_write(wasio__tcp_out(tcp), &chunk, &e))
      return wasio__stream_error(&e, true);
    return (ptrdiff_t)(taken + w); /* the write ends the permit */
  }
  return (ptrdiff_t)taken;
}

/* Whether this host's tcp-socket.shutdown destroys the whole connection
 * instead of shutting down one direction. jco's preview2-shim (1.35) does
 * (socketTcpShutdown calls Node's socket.destroy() for every shutdown
 * type); it half-closes when the output stream is dropped instead, which
 * wasio does first anyway. wasmtime needs the shutdown call (dropping the
 * output stream sends no FIN there). The shim is recognized by a default it
 * hard-codes: a hop limit of 1 on every new TCP socket, where real stacks
 * report 64 or so. Probed once per process, on the first shutdown. */
static bool wasio__tcp_host_shutdown_destroys(const wasio_tcp_t *tcp) {
  static int probed = -1;
  if (probed < 0) {
    uint8_t hops = 0;
    wasi_sockets_tcp_error_code_t e;
    probed = wasi_sockets_tcp_method_tcp_socket_hop_limit(wasio__tcp_sock(tcp), &hops, &e) && hops == 1;
  }
  return probed == 1;
}

/* The wait after close_notify: true once the output stream has ended (then
 * *status is 0 for "closed", the error for a failure), false while the
 * host still works on it. A stream that permits writes again did not end
 * itself: true with 0, and the plain TCP way ends it. */
static bool wasio__tcp_end_send_done(wasio_tcp_t *tcp, int *status) {
  uint64_t permit;
  wasi_io_streams_stream_error_t e;
  *status = 0;
  if (!wasi_io_streams_method_output_stream_check_write(wasio__tcp_out(tcp), &permit, &e)) {
    if (e.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) *status = wasio__stream_error(&e, true);
    return true;
  }
  return permit > 0;
}

int wasio__bk_tcp_shutdown(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = tcp->h.loop;
  wasi_io_streams_stream_error_t e;
  int status;
  if (tcp->b.out.__handle == 0) return WASIO_EPIPE;
  if (!(tcp->b.shut & WASIO__TCP_SHUT_END)) {
    if (!(tcp->b.shut & WASIO__TCP_SHUT_FLUSHED)) {
      if (!wasi_io_streams_method_output_stream_flush(wasio__tcp_out(tcp), &e)) return wasio__stream_error(&e, true);
      tcp->b.shut |= WASIO__TCP_SHUT_FLUSHED;
    }
    uint64_t permit;
    if (!wasi_io_streams_method_output_stream_check_write(wasio__tcp_out(tcp), &permit, &e))
      return wasio__stream_error(&e, true);
    if (permit == 0) return WASIO_EAGAIN; /* the flush is not done yet */
#ifdef WASIO_HOST_TLS
    if (wasio__tcp_tls_open(tcp)) {
      /* Once: the host's TLS ends its side (close_notify), then the
       * stream says when it has ended. */
      wasio__tcp_tls_end_send(tcp);
      tcp->b.shut |= WASIO__TCP_SHUT_END;
    }
#endif
  }
  if (tcp->b.shut & WASIO__TCP_SHUT_END) {
    if (!wasio__tcp_end_send_done(tcp, &status)) return WASIO_EAGAIN;
    if (status != 0) return status;
  }
  wasio__src_drop(loop, &tcp->b.out_src);
  wasi_io_streams_output_stream_drop_own(tcp->b.out);
  tcp->b.out.__handle = 0;
  wasi_sockets_tcp_error_code_t se;
  if (!wasio__tcp_host_shutdown_destroys(tcp) &&
      !wasi_sockets_tcp_method_tcp_socket_shutdown(wasio__tcp_sock(tcp), WASI_SOCKETS_TCP_SHUTDOWN_TYPE_SEND, &se))
    return wasio__wasi_error(se, false);
  return 0;
}

/* ---- release --------------------------------------------------------------------------- */

/* Lingering output. Dropping an output stream whose bytes are still on
 * their way waits, on wasmtime, until the peer has taken them: forever if
 * the peer does not read (measured: the drop returned only when the peer
 * gave up, 30 s later; a shutdown(both) first does not shorten it). So
 * close never drops a busy stream: when check-write says the host still
 * works on earlier bytes, the stream and its socket move to a small record
 * on the loop's linger list, whose pollable (the stream's own) is watched
 * like any other; once the host is done (or the stream failed) the record
 * drops them, children first. Queued writes not yet taken are canceled as
 * usual; bytes the stream had accepted still reach the peer, as after a
 * POSIX close. Records left when the loop is freed are abandoned, not
 * dropped (that drop would block); the instance's exit reclaims them. */
typedef struct wasio__tcp_linger {
  struct wasio__tcp_linger *next;
  wasio_loop_t *loop;
  wasio__src_t src; /* the output stream's pollable */
  wasi_io_streams_own_output_stream_t out;
  wasi_sockets_tcp_own_tcp_socket_t sock;
} wasio__tcp_linger_t;

/* True if the host is done with everything written to `out`. */
static bool wasio__tcp_output_idle(wasi_io_streams_own_output_stream_t out) {
  uint64_t permit;
  wasi_io_streams_stream_error_t e;
  if (!wasi_io_streams_method_output_stream_check_write(wasi_io_streams_borrow_output_stream(out),
                                                        &permit, &e)) {
    (void)wasio__stream_error(&e, true);
    return true; /* a dead stream has nothing in flight */
  }
  return permit > 0;
}

/* Moves a busy output stream (and the socket it needs) to the linger list;
 * leaves the handle's fields zero if it did. */
static void wasio__tcp_linger_output(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = tcp->h.loop;
  if (tcp->b.out.__handle == 0 || tcp->b.sock.__handle == 0 || wasio__tcp_output_idle(tcp->b.out)) return;
  wasio__tcp_linger_t *l = wasio__malloc(sizeof *l);
  if (l == NULL) return; /* the drop will wait instead */
  wasio__src_init(&l->src, WASIO__SRC_TCP_LINGER);
  l->loop = loop;
  wasio__src_unwatch(loop, &tcp->b.out_src);
  l->src.pollable = tcp->b.out_src.pollable;
  tcp->b.out_src.pollable.__handle = 0;
  if (!wasio__src_subscribed(&l->src))
    l->src.pollable = wasi_io_streams_method_output_stream_subscribe(
        wasi_io_streams_borrow_output_stream(tcp->b.out));
  l->out = tcp->b.out;
  l->sock = tcp->b.sock;
  tcp->b.out.__handle = 0;
  tcp->b.sock.__handle = 0;
  /* The socket's own pollable is a child of the socket: it goes now. */
  wasio__src_drop(loop, &tcp->b.sock_src);
  if (wasio__src_watch(loop, &l->src) != 0) {
    /* Cannot wait for it: abandon rather than block (see above). */
    wasi_io_poll_pollable_drop_own(l->src.pollable);
    wasio__free(l);
    return;
  }
  l->next = loop->backend.linger;
  loop->backend.linger = l;
}

static void wasio__tcp_linger_drop(wasio__tcp_linger_t *l) {
  wasio__src_drop(l->loop, &l->src);
  wasi_io_streams_output_stream_drop_own(l->out);
  wasi_sockets_tcp_tcp_socket_drop_own(l->sock);
}

void wasio__tcp_linger_ready(wasio__src_t *src) {
  wasio__tcp_linger_t *l = WASIO__CONTAINER_OF(src, wasio__tcp_linger_t, src);
  if (!wasio__tcp_output_idle(l->out)) return;
  wasio__tcp_linger_t **pp = &l->loop->backend.linger;
  while (*pp != l) pp = &(*pp)->next;
  *pp = l->next;
  wasio__tcp_linger_drop(l);
  wasio__free(l);
}

void wasio__tcp_linger_abandon(wasio_loop_t *loop) {
  wasio__tcp_linger_t *l = loop->backend.linger;
  loop->backend.linger = NULL;
  while (l != NULL) {
    wasio__tcp_linger_t *next = l->next;
    /* Only the pollable goes; see the notes above for the rest. */
    wasio__src_drop(loop, &l->src);
    wasio__free(l);
    l = next;
  }
}

void wasio__bk_tcp_release(wasio_tcp_t *tcp, bool linger) {
  wasio_loop_t *loop = tcp->h.loop;
  wasio__backend_loop_t *be = &loop->backend;
  if (be->stage_tcp == tcp) {
    /* Only a failed connect or a close can leave bytes staged; a close
     * pushed them already. */
    be->stage_tcp = NULL;
    be->stage_len = 0;
  }
#ifdef WASIO_HOST_TLS
  /* The TLS streams and their connection go first, and never linger. */
  if (wasio__tcp_tls_open(tcp) || tcp->b.tls_future.__handle != 0) {
    wasio__tcp_tls_release(tcp);
    linger = false;
  }
#endif
  if (linger) wasio__tcp_linger_output(tcp);
  wasio__src_drop(loop, &tcp->b.in_src);
  wasio__src_drop(loop, &tcp->b.out_src);
  wasio__src_drop(loop, &tcp->b.sock_src);
  if (tcp->b.in.__handle != 0) wasi_io_streams_input_stream_drop_own(tcp->b.in);
  if (tcp->b.out.__handle != 0) wasi_io_streams_output_stream_drop_own(tcp->b.out);
  if (tcp->b.sock.__handle != 0) wasi_sockets_tcp_tcp_socket_drop_own(tcp->b.sock);
  tcp->b.in.__handle = 0;
  tcp->b.out.__handle = 0;
  tcp->b.sock.__handle = 0;
  tcp->b.shut = 0;
}
