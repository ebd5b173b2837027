/* src/backend/wasip2/tcp.c: wasio/tcp.h on wasi:sockets/tcp and
 * wasi:io/streams.
 *
 * Implementation notes
 * - A socket is created per family when first needed (bind or connect),
 *   so one handle serves IPv4 and IPv6. A failed connect drops the socket
 *   and returns the handle to WASIO__TCP_NEW: the core's connect_host tries
 *   the next address on the same handle, even from inside the callback.
 * - Three sources per handle: the socket's pollable (connect, accept), the
 *   input stream's (reads) and the output stream's (write permits, flush).
 *   Each is subscribed on first use, watched only while something waits on
 *   it, and dropped before its parent (tcp_release).
 * - Reads land straight in the caller's buffer (or the loop's) through the
 *   cabi_realloc arena. A read that returns fewer bytes than asked means
 *   the host had no more buffered. Hosts differ in what the pollable then
 *   says: jco's turns not-ready at once, wasmtime's stays ready until a
 *   read returns nothing. The loop learns which (the first empty read right
 *   after a ready report) and, on the second kind, reads until empty
 *   instead of paying a poll that only leads to the empty read. A full read
 *   tries again; at most WASIO_IO_CALLBACKS_PER_TURN reads per turn.
 * - Writes run only in phase 3 (from the output pollable, or from the
 *   pending list for a write queued elsewhere), never inside
 *   wasio_tcp_write, so their callbacks can run as soon as the stream has
 *   taken the last byte. Every write is bounded by check-write's permit.
 * - Small writes are staged: a request of at most WASIO__TCP_STAGE_SMALL
 *   bytes is copied into the loop's staging buffer and completed; the
 *   buffer goes out in one output-stream.write (anything larger is written
 *   in place). See the constants for why.
 * - Shutdown waits for the queue to drain, flushes, waits for check-write
 *   to report the flush done, then drops the output stream and shuts down
 *   the sending side (wasmtime needs the latter to send a FIN; jco sends it
 *   on the drop and must not get the call: see
 *   wasio__tcp_host_shutdown_destroys). A layer that installed its own
 *   streams (host TLS) may set tcp->end_send: it runs between the flush and
 *   the drop (close_notify), and the drop waits until the stream reports
 *   that it has ended, at most WASIO__TCP_END_SEND_TIMEOUT_NS.
 * - The one timer node serves the connect deadline while connecting and
 *   the idle timeout afterwards. The idle timer is lazy: activity only
 *   stamps last_active; when the timer fires early it re-arms itself for
 *   the remaining time, so a busy connection never touches the timer heap.
 * - Close releases every WASI resource at once (except an output stream
 *   the host is still writing: see "Lingering output") and runs the
 *   cancellations (connect, queued writes, shutdown) synchronously, before
 *   phase 4 runs the close callback.
 */
#include <string.h>

#include "wasip2.h"

enum {
  WASIO__TCPF_READING = 1 << 0,
  WASIO__TCPF_EOF = 1 << 1,        /* the input stream reported its end */
  WASIO__TCPF_SHUT_REQ = 1 << 2,   /* wasio_tcp_shutdown called, not done */
  WASIO__TCPF_SHUT_FLUSH = 1 << 3, /* its flush was issued */
  WASIO__TCPF_SHUT_DONE = 1 << 4,  /* the sending side is shut down */
  WASIO__TCPF_KA_SET = 1 << 5,     /* the user chose keep-alive options */
  WASIO__TCPF_KA_ON = 1 << 6,
  WASIO__TCPF_SHUT_END = 1 << 7    /* end_send was called: waiting for the stream to end */
};

/* bind and listen are synchronous in wasio's API; in wasi:sockets they are
 * start/finish pairs, and finish may answer would-block. Both hosts finish
 * at once (verified: wasmtime 49, jco 1.35, IPv4 and IPv6). Rather than wait
 * (no blocking call anywhere), finish is retried this many times, each a
 * host call that lets an asynchronous host progress, then the call fails
 * with WASIO_EAGAIN. */
#define WASIO__TCP_FINISH_TRIES 64

/* Staging small writes. WASI 0.2 cannot set TCP_NODELAY, and wasmtime
 * leaves Nagle on, so one output-stream.write per request turned a train of
 * small requests (a chunked HTTP response: chunk header, data, CRLF, the
 * next chunk queued from the previous one's callback) into separate small
 * segments, each after the first waiting for the peer's delayed ACK: about
 * 40 ms per train. A request with at most WASIO__TCP_STAGE_SMALL bytes left
 * is instead copied into a staging buffer of WASIO__TCP_STAGE_CAP bytes per
 * loop (only while the check-write permit allows: the last request may be
 * copied in part) and completed at once, as the stream would have taken
 * it; the buffer goes out in one write when the queue is empty, a larger
 * request comes (written in place, without a copy), or the buffer or the
 * permit is full. The buffer is allocated on first use and kept until the
 * loop is freed (no allocation per turn); without it, writes go in place. */
#define WASIO__TCP_STAGE_CAP 16384
#define WASIO__TCP_STAGE_SMALL 1024

/* How long a shutdown waits for an output stream to end itself after
 * tcp->end_send (host TLS: close-output, i.e. the host writes close_notify
 * and finishes its TLS shutdown). That takes one small write when the peer
 * reads; a peer that has stopped reading with the TCP window full would
 * hold it forever, so the shutdown then fails with WASIO_ETIMEDOUT (the
 * handle stays usable for reading and closing). */
#define WASIO__TCP_END_SEND_TIMEOUT_NS (10ull * 1000 * 1000 * 1000)

static inline wasio_loop_t *wasio__tcp_loop_of(const wasio_tcp_t *tcp) {
  return tcp->common.h.loop;
}
static inline bool wasio__tcp_closing(const wasio_tcp_t *tcp) {
  return wasio__handle_closing(&tcp->common.h);
}
static inline wasi_sockets_tcp_borrow_tcp_socket_t wasio__tcp_sock(const wasio_tcp_t *tcp) {
  return wasi_sockets_tcp_borrow_tcp_socket(tcp->sock);
}

static void wasio__tcp_update_active(wasio_tcp_t *tcp) {
  bool active = tcp->state == WASIO__TCP_CONNECTING || tcp->state == WASIO__TCP_LISTENING ||
                (tcp->flags & (WASIO__TCPF_READING | WASIO__TCPF_SHUT_REQ)) != 0 ||
                tcp->wq_head != NULL;
  wasio__handle_set_active(&tcp->common.h, active && !wasio__tcp_closing(tcp));
}

/* Drops every WASI resource of the handle, children first. */
static void wasio__tcp_release(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  wasio__src_drop(loop, &tcp->in_src);
  wasio__src_drop(loop, &tcp->out_src);
  wasio__src_drop(loop, &tcp->sock_src);
  if (tcp->in.__handle != 0) wasi_io_streams_input_stream_drop_own(tcp->in);
  if (tcp->out.__handle != 0) wasi_io_streams_output_stream_drop_own(tcp->out);
  if (tcp->sock.__handle != 0) wasi_sockets_tcp_tcp_socket_drop_own(tcp->sock);
  tcp->in.__handle = 0;
  tcp->out.__handle = 0;
  tcp->sock.__handle = 0;
  tcp->family = 0;
}

static int wasio__tcp_apply_keepalive(wasio_tcp_t *tcp) {
  wasi_sockets_tcp_error_code_t e;
  if (!(tcp->flags & WASIO__TCPF_KA_SET) || tcp->sock.__handle == 0) return 0;
  bool on = (tcp->flags & WASIO__TCPF_KA_ON) != 0;
  if (!wasi_sockets_tcp_method_tcp_socket_set_keep_alive_enabled(wasio__tcp_sock(tcp), on, &e))
    return wasio__wasi_error(e, false);
  if (on && tcp->keepalive_idle_ns != 0 &&
      !wasi_sockets_tcp_method_tcp_socket_set_keep_alive_idle_time(wasio__tcp_sock(tcp),
                                                                   tcp->keepalive_idle_ns, &e))
    return wasio__wasi_error(e, false);
  return 0;
}

static int wasio__tcp_ensure_socket(wasio_tcp_t *tcp, uint8_t family) {
  if (tcp->sock.__handle != 0) return tcp->family == family ? 0 : WASIO_EINVAL;
  wasi_sockets_tcp_create_socket_own_tcp_socket_t s;
  wasi_sockets_tcp_create_socket_error_code_t e;
  if (!wasi_sockets_tcp_create_socket_create_tcp_socket(wasio__wasi_family(family), &s, &e))
    return wasio__wasi_error(e, false);
  tcp->sock = s;
  tcp->family = family;
  /* Options chosen before the socket existed; a host that refuses one
   * still gets a working socket. */
  (void)wasio__tcp_apply_keepalive(tcp);
  return 0;
}

static int wasio__tcp_subscribe_sock(wasio_tcp_t *tcp) {
  if (!wasio__src_subscribed(&tcp->sock_src))
    tcp->sock_src.pollable = wasi_sockets_tcp_method_tcp_socket_subscribe(wasio__tcp_sock(tcp));
  return wasio__src_watch(wasio__tcp_loop_of(tcp), &tcp->sock_src);
}

static int wasio__tcp_watch_out(wasio_tcp_t *tcp) {
  if (!wasio__src_subscribed(&tcp->out_src))
    tcp->out_src.pollable =
        wasi_io_streams_method_output_stream_subscribe(wasi_io_streams_borrow_output_stream(tcp->out));
  return wasio__src_watch(wasio__tcp_loop_of(tcp), &tcp->out_src);
}

/* ---- accessors ------------------------------------------------------------------ */

void wasio_tcp_set_data(wasio_tcp_t *tcp, void *data) { tcp->common.h.data = data; }
void *wasio_tcp_data(const wasio_tcp_t *tcp) { return tcp->common.h.data; }
wasio_loop_t *wasio_tcp_loop(const wasio_tcp_t *tcp) { return tcp->common.h.loop; }
size_t wasio_tcp_write_queue_size(const wasio_tcp_t *tcp) { return tcp->wq_bytes; }

static void wasio__tcp_init(wasio_loop_t *loop, wasio_tcp_t *tcp) {
  wasio__handle_init(loop, &tcp->common.h, WASIO_KIND_TCP);
  tcp->common.ch = NULL;
  wasio__src_init(&tcp->sock_src, WASIO__SRC_TCP_SOCKET);
  wasio__src_init(&tcp->in_src, WASIO__SRC_TCP_IN);
  wasio__src_init(&tcp->out_src, WASIO__SRC_TCP_OUT);
  wasio__pending_init(&tcp->pending, WASIO__PENDING_TCP);
  wasio__timer_node_init(&tcp->timer, WASIO__TIMER_TCP);
}

int wasio_tcp_new(wasio_loop_t *loop, wasio_tcp_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_tcp_t *tcp = wasio__calloc(1, sizeof *tcp);
  if (tcp == NULL) return WASIO_ENOMEM;
  wasio__tcp_init(loop, tcp);
  *out = tcp;
  return 0;
}

/* ---- idle timeout ----------------------------------------------------------------- */

static bool wasio__tcp_io_pending(const wasio_tcp_t *tcp) {
  return (tcp->flags & WASIO__TCPF_READING) || tcp->wq_head != NULL;
}

/* Arms the timer of a connected handle for the first of its deadlines:
 * the idle timeout while I/O is pending, the end of a shutdown's
 * end_send wait. An armed timer due no later is left alone (activity
 * never re-arms it: see the notes; when it fires early it re-arms). */
static void wasio__tcp_idle_arm(wasio_tcp_t *tcp) {
  if (tcp->state != WASIO__TCP_CONNECTED) return;
  bool want = false;
  uint64_t due = UINT64_MAX;
  if (tcp->idle_ns != 0 && wasio__tcp_io_pending(tcp)) {
    due = tcp->last_active + tcp->idle_ns;
    if (due < tcp->last_active) due = UINT64_MAX;
    want = true;
  }
  if (tcp->flags & WASIO__TCPF_SHUT_END) {
    if (tcp->end_send_due < due) due = tcp->end_send_due;
    want = true;
  }
  if (!want || (wasio__timer_node_armed(&tcp->timer) && tcp->timer.due <= due)) return;
  (void)wasio__timer_node_arm(wasio__tcp_loop_of(tcp), &tcp->timer, due);
}

/* Stamps the start of a wait when nothing was pending before. */
static void wasio__tcp_idle_start(wasio_tcp_t *tcp, bool was_pending) {
  if (tcp->idle_ns == 0) return;
  if (!was_pending) tcp->last_active = wasio_loop_now(wasio__tcp_loop_of(tcp));
  wasio__tcp_idle_arm(tcp);
}

int wasio_tcp_set_idle_timeout(wasio_tcp_t *tcp, uint64_t idle_ns) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  tcp->idle_ns = idle_ns;
  if (tcp->state == WASIO__TCP_CONNECTING) return 0; /* the node is the connect deadline */
  wasio__timer_node_disarm(wasio__tcp_loop_of(tcp), &tcp->timer);
  if (idle_ns != 0) tcp->last_active = wasio_loop_now(wasio__tcp_loop_of(tcp));
  wasio__tcp_idle_arm(tcp);
  return 0;
}

/* ---- completing operations ------------------------------------------------------- */

static void wasio__tcp_stop_reading(wasio_tcp_t *tcp) {
  tcp->flags &= (uint16_t)~WASIO__TCPF_READING;
  wasio__src_unwatch(wasio__tcp_loop_of(tcp), &tcp->in_src);
  wasio__tcp_update_active(tcp);
}

/* Ends reading with an error or EOF. */
static void wasio__tcp_read_error(wasio_tcp_t *tcp, int status, const wasio_buf_t *buf) {
  wasio_read_cb cb = tcp->read_cb;
  wasio__tcp_stop_reading(tcp);
  cb(tcp, status, buf);
}

static void wasio__tcp_shutdown_finish(wasio_tcp_t *tcp, int status) {
  wasio_shutdown_cb cb = tcp->shutdown_cb;
  bool end_wait = (tcp->flags & WASIO__TCPF_SHUT_END) != 0;
  tcp->shutdown_cb = NULL;
  tcp->flags &= (uint16_t)~(WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_FLUSH | WASIO__TCPF_SHUT_END);
  tcp->flags |= WASIO__TCPF_SHUT_DONE;
  if (end_wait) {
    /* The end_send deadline is no longer wanted: only the idle timeout, if any. */
    wasio__timer_node_disarm(wasio__tcp_loop_of(tcp), &tcp->timer);
    wasio__tcp_idle_arm(tcp);
  }
  wasio__tcp_update_active(tcp);
  if (cb != NULL) cb(tcp, status);
}

/* The output stream failed: every queued write, then a pending shutdown,
 * get `status`. Re-checks the handle after each callback (it may close). */
static void wasio__tcp_write_fail(wasio_tcp_t *tcp, int status) {
  tcp->write_err = status;
  wasio__src_unwatch(wasio__tcp_loop_of(tcp), &tcp->out_src);
  while (tcp->wq_head != NULL && !wasio__tcp_closing(tcp)) {
    wasio_write_t *w = tcp->wq_head;
    tcp->wq_head = w->wasio__next;
    if (tcp->wq_head == NULL) tcp->wq_tail = NULL;
    tcp->wq_bytes -= w->wasio__len - w->wasio__done;
    w->wasio__next = NULL;
    w->wasio__tcp = NULL;
    wasio__tcp_update_active(tcp);
    w->wasio__cb(w, status);
  }
  if ((tcp->flags & WASIO__TCPF_SHUT_REQ) && !wasio__tcp_closing(tcp))
    wasio__tcp_shutdown_finish(tcp, status);
}

/* ---- connect ----------------------------------------------------------------------- */

int wasio__tcp_connect_check(const wasio_tcp_t *tcp) {
  if (wasio__handle_closing(&tcp->common.h)) return WASIO_ECLOSING;
  switch (tcp->state) {
    case WASIO__TCP_CONNECTING:
    case WASIO__TCP_CONNECTED:
    case WASIO__TCP_LISTENING:
      return WASIO_ESTATE;
    default:
      return 0;
  }
}

int wasio_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr, uint64_t timeout_ns,
                      wasio_connect_cb cb) {
  if (tcp == NULL || addr == NULL || cb == NULL) return WASIO_EINVAL;
  int rc = wasio__tcp_connect_check(tcp);
  if (rc != 0) return rc;
  wasi_sockets_network_ip_socket_address_t wa;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  rc = wasio__tcp_ensure_socket(tcp, addr->family);
  if (rc != 0) return rc;

  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_start_connect(wasio__tcp_sock(tcp), wasio__network(loop),
                                                        &wa, &e)) {
    rc = wasio__wasi_error(e, false);
    goto fail;
  }
  rc = wasio__tcp_subscribe_sock(tcp);
  if (rc != 0) goto fail;
  if (timeout_ns != WASIO_NO_TIMEOUT) {
    uint64_t now = wasio_loop_now(wasio__tcp_loop_of(tcp));
    uint64_t due = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    rc = wasio__timer_node_arm(loop, &tcp->timer, due);
    if (rc != 0) goto fail;
  } else {
    wasio__timer_node_disarm(loop, &tcp->timer);
  }
  tcp->state = WASIO__TCP_CONNECTING;
  tcp->connect_cb = cb;
  tcp->flags &= (uint16_t)~(WASIO__TCPF_EOF | WASIO__TCPF_SHUT_DONE);
  tcp->write_err = 0;
  wasio__tcp_update_active(tcp);
  return 0;

fail:
  /* The socket goes, so the handle stays reusable (a bound socket is in an
   * unknown state after a failed start: it goes too). */
  wasio__tcp_release(tcp);
  tcp->state = WASIO__TCP_NEW;
  return rc;
}

/* Ends a connect attempt; on failure the handle is back to NEW. */
static void wasio__tcp_connect_done(wasio_tcp_t *tcp, int status) {
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  wasio_connect_cb cb = tcp->connect_cb;
  tcp->connect_cb = NULL;
  wasio__timer_node_disarm(loop, &tcp->timer);
  if (status == 0) {
    wasio__src_unwatch(loop, &tcp->sock_src);
    tcp->state = WASIO__TCP_CONNECTED;
    tcp->last_active = wasio_loop_now(loop);
  } else {
    wasio__tcp_release(tcp);
    tcp->state = WASIO__TCP_NEW;
  }
  wasio__tcp_update_active(tcp);
  cb(tcp, status);
}

static void wasio__tcp_connect_step(wasio_tcp_t *tcp) {
  wasi_sockets_tcp_tuple2_own_input_stream_own_output_stream_t streams;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_finish_connect(wasio__tcp_sock(tcp), &streams, &e)) {
    if (e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return; /* not yet */
    wasio__tcp_connect_done(tcp, wasio__wasi_error(e, false));
    return;
  }
  tcp->in = streams.f0;
  tcp->out = streams.f1;
  wasio__tcp_connect_done(tcp, 0);
}

static bool wasio__tcp_accept_pause(wasio_tcp_t *server);

void wasio__tcp_on_timer(wasio__timer_node_t *node) {
  wasio_tcp_t *tcp = WASIO__CONTAINER_OF(node, wasio_tcp_t, timer);
  if (wasio__tcp_closing(tcp)) return;
  if (tcp->state == WASIO__TCP_CONNECTING) {
    wasio__tcp_connect_done(tcp, WASIO_ETIMEDOUT);
    return;
  }
  if (tcp->state == WASIO__TCP_LISTENING) {
    /* The accept pause is over: wait for connections again. If the set
     * cannot grow now, pause once more rather than never resume. */
    if (wasio__src_watch(wasio__tcp_loop_of(tcp), &tcp->sock_src) != 0) (void)wasio__tcp_accept_pause(tcp);
    return;
  }
  if (tcp->state != WASIO__TCP_CONNECTED) return;
  uint64_t now = wasio_loop_now(wasio__tcp_loop_of(tcp));
  if ((tcp->flags & WASIO__TCPF_SHUT_END) && now >= tcp->end_send_due) {
    /* The stream never reported its end: give up waiting (it is left to
     * the layer that owns it, which drops it on close). */
    wasio__src_unwatch(wasio__tcp_loop_of(tcp), &tcp->out_src);
    wasio__tcp_shutdown_finish(tcp, WASIO_ETIMEDOUT);
    if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
  }
  if (tcp->idle_ns == 0 || !wasio__tcp_io_pending(tcp)) {
    wasio__tcp_idle_arm(tcp); /* the end_send deadline, if still waiting */
    return;
  }
  uint64_t due = tcp->last_active + tcp->idle_ns;
  if (due < tcp->last_active) due = UINT64_MAX;
  if (now < due) {
    wasio__tcp_idle_arm(tcp); /* there was activity since: wait the rest */
    return;
  }
  if (tcp->flags & WASIO__TCPF_READING) {
    wasio_buf_t none = { NULL, 0 };
    wasio__tcp_read_error(tcp, WASIO_ETIMEDOUT, &none);
  }
  if (!wasio__tcp_closing(tcp) && tcp->wq_head != NULL) wasio__tcp_write_fail(tcp, WASIO_ETIMEDOUT);
  if (!wasio__tcp_closing(tcp)) wasio__tcp_idle_arm(tcp); /* what is left to wait for */
}

/* ---- bind, listen, accept ------------------------------------------------------------ */

int wasio_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  if (tcp == NULL || addr == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_NEW || tcp->common.ch != NULL) return WASIO_ESTATE;
  wasi_sockets_network_ip_socket_address_t wa;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  int rc = wasio__tcp_ensure_socket(tcp, addr->family);
  if (rc != 0) return rc;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_start_bind(wasio__tcp_sock(tcp),
                                                     wasio__network(wasio__tcp_loop_of(tcp)), &wa, &e)) {
    rc = wasio__wasi_error(e, false);
    goto fail;
  }
  for (int i = 0;; i++) {
    if (wasi_sockets_tcp_method_tcp_socket_finish_bind(wasio__tcp_sock(tcp), &e)) break;
    if (e != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK || i + 1 == WASIO__TCP_FINISH_TRIES) {
      rc = wasio__wasi_error(e, false);
      goto fail;
    }
  }
  tcp->state = WASIO__TCP_BOUND;
  return 0;
fail:
  wasio__tcp_release(tcp);
  return rc;
}

int wasio_tcp_listen(wasio_tcp_t *tcp, int backlog, wasio_connection_cb cb) {
  if (tcp == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state == WASIO__TCP_LISTENING) return WASIO_EBUSY;
  if (tcp->state != WASIO__TCP_BOUND) return WASIO_ESTATE;
  if (backlog <= 0) backlog = WASIO_TCP_BACKLOG_DEFAULT;
  if (backlog > WASIO_TCP_BACKLOG_MAX) backlog = WASIO_TCP_BACKLOG_MAX;
  wasi_sockets_tcp_error_code_t e;
  /* Advisory: a host may not support it (or only before bind). */
  (void)wasi_sockets_tcp_method_tcp_socket_set_listen_backlog_size(wasio__tcp_sock(tcp),
                                                                   (uint64_t)backlog, &e);
  if (!wasi_sockets_tcp_method_tcp_socket_start_listen(wasio__tcp_sock(tcp), &e))
    return wasio__wasi_error(e, false);
  for (int i = 0;; i++) {
    if (wasi_sockets_tcp_method_tcp_socket_finish_listen(wasio__tcp_sock(tcp), &e)) break;
    if (e != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK || i + 1 == WASIO__TCP_FINISH_TRIES)
      return wasio__wasi_error(e, false);
  }
  int rc = wasio__tcp_subscribe_sock(tcp);
  if (rc != 0) return rc;
  tcp->connection_cb = cb;
  tcp->state = WASIO__TCP_LISTENING;
  wasio__tcp_update_active(tcp);
  return 0;
}

/* Stops waiting for connections for WASIO_TCP_ACCEPT_PAUSE_NS; the timer
 * (wasio__tcp_on_timer) resumes. Returns false (and keeps waiting) if the
 * timer cannot be armed, since the listener could never resume. */
static bool wasio__tcp_accept_pause(wasio_tcp_t *server) {
  wasio_loop_t *loop = wasio__tcp_loop_of(server);
  uint64_t now = wasio_loop_now(loop);
  if (wasio__timer_node_arm(loop, &server->timer, now + WASIO_TCP_ACCEPT_PAUSE_NS) != 0) return false;
  wasio__src_unwatch(loop, &server->sock_src);
  return true;
}

static void wasio__tcp_accept_some(wasio_tcp_t *server) {
  wasio_loop_t *loop = wasio__tcp_loop_of(server);
  while (server->state == WASIO__TCP_LISTENING && !wasio__tcp_closing(server) &&
         wasio__budget_take(loop, &server->budget)) {
    wasi_sockets_tcp_tuple3_own_tcp_socket_own_input_stream_own_output_stream_t r;
    wasi_sockets_tcp_error_code_t e;
    int status = 0;
    wasio_tcp_t *c = NULL;
    if (!wasi_sockets_tcp_method_tcp_socket_accept(wasio__tcp_sock(server), &r, &e)) {
      if (e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return;
      status = wasio__wasi_error(e, false);
    } else if ((c = wasio__calloc(1, sizeof *c)) == NULL) {
      wasi_io_streams_output_stream_drop_own(r.f2);
      wasi_io_streams_input_stream_drop_own(r.f1);
      wasi_sockets_tcp_tcp_socket_drop_own(r.f0);
      status = WASIO_ENOMEM;
    }
    if (status != 0) {
      /* A listener in a bad state will not recover: stop waiting on it
       * rather than spin. Out of descriptors or memory, the next accept
       * would fail at once: pause (internal.h). Other errors concern one
       * connection. */
      bool stop = status == WASIO_ESTATE || (wasio__accept_error_pauses(status) &&
                                             wasio__tcp_accept_pause(server));
      if (status == WASIO_ESTATE) wasio__src_unwatch(loop, &server->sock_src);
      server->connection_cb(server, NULL, status);
      if (stop) return;
      continue;
    }
    wasio__tcp_init(loop, c);
    c->sock = r.f0;
    c->in = r.f1;
    c->out = r.f2;
    c->family = server->family;
    c->state = WASIO__TCP_CONNECTED;
    c->last_active = wasio_loop_now(loop);
    server->connection_cb(server, c, 0);
  }
}

/* ---- reading ------------------------------------------------------------------------- */

int wasio_tcp_read_start(wasio_tcp_t *tcp, wasio_alloc_cb alloc_cb, wasio_read_cb read_cb) {
  if (tcp == NULL || read_cb == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (tcp->flags & WASIO__TCPF_READING) return WASIO_EBUSY;
  if (tcp->flags & WASIO__TCPF_EOF) return WASIO_EOF;
  if (!wasio__src_subscribed(&tcp->in_src))
    tcp->in_src.pollable =
        wasi_io_streams_method_input_stream_subscribe(wasi_io_streams_borrow_input_stream(tcp->in));
  int rc = wasio__src_watch(wasio__tcp_loop_of(tcp), &tcp->in_src);
  if (rc != 0) return rc;
  bool was_pending = wasio__tcp_io_pending(tcp);
  tcp->alloc_cb = alloc_cb;
  tcp->read_cb = read_cb;
  tcp->spare.base = NULL;
  tcp->spare.len = 0;
  tcp->flags |= WASIO__TCPF_READING;
  wasio__tcp_update_active(tcp);
  wasio__tcp_idle_start(tcp, was_pending);
  return 0;
}

int wasio_tcp_read_stop(wasio_tcp_t *tcp) {
  if (tcp == NULL) return WASIO_EINVAL;
  /* A kept buffer belongs to this reading session (and its alloc_cb). */
  tcp->spare.base = NULL;
  tcp->spare.len = 0;
  if (tcp->flags & WASIO__TCPF_READING) wasio__tcp_stop_reading(tcp);
  return 0;
}

static void wasio__tcp_on_readable(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  bool first = true;
  while ((tcp->flags & WASIO__TCPF_READING) && !wasio__tcp_closing(tcp) &&
         wasio__budget_take(loop, &tcp->budget)) {
    wasio_buf_t buf = { NULL, 0 };
    if (tcp->alloc_cb != NULL && tcp->spare.base != NULL) {
      /* The buffer of an earlier read that came back empty. */
      buf = tcp->spare;
      tcp->spare.base = NULL;
      tcp->spare.len = 0;
    } else if (tcp->alloc_cb != NULL) {
      tcp->alloc_cb(tcp, WASIO_READ_BUF_SIZE, &buf);
      if (!(tcp->flags & WASIO__TCPF_READING) || wasio__tcp_closing(tcp)) return;
      if (buf.base == NULL || buf.len == 0) {
        wasio__tcp_read_error(tcp, WASIO_ENOMEM, &buf);
        return;
      }
    } else {
      buf.base = wasio__read_buf(loop);
      buf.len = WASIO_READ_BUF_SIZE;
    }
    imports_list_u8_t data;
    wasi_io_streams_stream_error_t e;
    wasio__arena_set(buf.base, buf.len);
    bool ok = wasi_io_streams_method_input_stream_read(wasi_io_streams_borrow_input_stream(tcp->in),
                                                       buf.len, &data, &e);
    wasio__arena_clear();
    if (!ok) {
      int status = wasio__stream_error(&e, false);
      if (status == WASIO_EOF) tcp->flags |= WASIO__TCPF_EOF;
      wasio__tcp_read_error(tcp, status, &buf);
      return;
    }
    if (data.len == 0) {
      /* Nothing yet: wait for the pollable. Nothing on the first read
       * after the pollable said ready means this host keeps a stream ready
       * until a read comes back empty: see the short-read test below. */
      if (first) loop->backend.sticky_read_ready = true;
      /* Keep the caller's buffer for the next read: every buffer from
       * alloc_cb then comes back through exactly one read callback (but
       * the one still kept when reading stops). */
      if (tcp->alloc_cb != NULL) tcp->spare = buf;
      return;
    }
    first = false;
    if (data.ptr != buf.base) {
      /* Only if a host allocated differently than asked. */
      memcpy(buf.base, data.ptr, data.len);
      wasio__abi_free(data.ptr, data.len);
    }
    tcp->last_active = wasio_loop_now(loop);
    size_t n = data.len;
    tcp->read_cb(tcp, (ptrdiff_t)n, &buf);
    /* A short read drained the host's buffer. Where readiness is exact
     * (jco), wait for the pollable rather than pay a call for an empty
     * read; where it sticks until a read comes back empty (wasmtime), that
     * empty read now is cheaper than the poll that would return at once
     * only to lead to it. */
    if (n < buf.len && !loop->backend.sticky_read_ready) return;
  }
}

/* ---- writing ------------------------------------------------------------------------- */

int wasio_tcp_write(wasio_tcp_t *tcp, wasio_write_t *req, const void *base, size_t len,
                    wasio_write_cb cb) {
  if (tcp == NULL || req == NULL || cb == NULL || (base == NULL && len > 0)) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (tcp->flags & (WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_DONE)) return WASIO_EPIPE;
  if (tcp->write_err != 0) return tcp->write_err;
  /* `req` is caller memory and may hold anything before its first use:
   * only a pointer to this handle is worth confirming by a scan. */
  if (req->wasio__tcp == tcp)
    for (wasio_write_t *w = tcp->wq_head; w != NULL; w = w->wasio__next)
      if (w == req) return WASIO_EBUSY;
  bool was_pending = wasio__tcp_io_pending(tcp);
  req->wasio__next = NULL;
  req->wasio__tcp = tcp;
  req->wasio__base = base;
  req->wasio__len = len;
  req->wasio__done = 0;
  req->wasio__cb = cb;
  if (tcp->wq_tail != NULL)
    tcp->wq_tail->wasio__next = req;
  else
    tcp->wq_head = req;
  tcp->wq_tail = req;
  tcp->wq_bytes += len;
  /* Written in phase 3: now if the output is already waited on, else from
   * the pending list. */
  if (!wasio__src_watched(&tcp->out_src)) wasio__pending_add(wasio__tcp_loop_of(tcp), &tcp->pending);
  wasio__tcp_update_active(tcp);
  wasio__tcp_idle_start(tcp, was_pending);
  return 0;
}

/* Bytes of `w` not yet taken. */
static inline size_t wasio__tcp_write_left(const wasio_write_t *w) { return w->wasio__len - w->wasio__done; }

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
 * after taking them; the caller fails the requests still queued). */
static int wasio__tcp_stage_flush(wasio_tcp_t *tcp) {
  wasio__backend_loop_t *be = &wasio__tcp_loop_of(tcp)->backend;
  if (be->stage_tcp != tcp) return 0;
  imports_list_u8_t chunk = { be->stage, be->stage_len };
  be->stage_tcp = NULL;
  be->stage_len = 0;
  wasi_io_streams_stream_error_t e;
  if (!wasi_io_streams_method_output_stream_write(wasi_io_streams_borrow_output_stream(tcp->out), &chunk, &e))
    return wasio__stream_error(&e, true);
  return 1;
}

/* Moves queued bytes into the stream while check-write permits, completing
 * each request, in order, once its last byte is taken. Small requests (see
 * WASIO__TCP_STAGE_SMALL) are taken by copying them into the loop's staging
 * buffer, which goes out in one write when a large request comes, the
 * permit or the buffer runs out, or the queue is empty; a callback that
 * queues more small writes adds to the same buffer. A callback that closes
 * the handle gets the staged bytes written by the close. A failed write
 * fails every request still queued, once. */
static void wasio__tcp_flush_writes(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  wasio__backend_loop_t *be = &loop->backend;
  wasi_io_streams_borrow_output_stream_t out = wasi_io_streams_borrow_output_stream(tcp->out);
  /* What the last check-write allows, less what was staged since. A
   * permit holds for one write only (wasmtime permits nothing more until
   * that write is done), so every write ends it. */
  uint64_t permit = 0;
  int rc;
  while (tcp->wq_head != NULL && !wasio__tcp_closing(tcp) && tcp->state == WASIO__TCP_CONNECTED) {
    wasio_write_t *w = tcp->wq_head;
    size_t left = wasio__tcp_write_left(w);
    if (left > 0) {
      uint8_t *stage = left <= WASIO__TCP_STAGE_SMALL ? wasio__tcp_stage_buf(loop) : NULL;
      /* A large request goes in place, after what is staged; a small one
       * that finds the buffer full sends it first. */
      if (stage == NULL || be->stage_len == WASIO__TCP_STAGE_CAP || permit == 0) {
        /* The staged bytes were taken under the current permit: out first. */
        if ((rc = wasio__tcp_stage_flush(tcp)) < 0) {
          wasio__tcp_write_fail(tcp, rc);
          return;
        }
        if (rc > 0) permit = 0;
      }
      if (permit == 0) {
        wasi_io_streams_stream_error_t e;
        if (!wasi_io_streams_method_output_stream_check_write(out, &permit, &e)) {
          wasio__tcp_write_fail(tcp, wasio__stream_error(&e, true));
          return;
        }
        if (permit == 0) {
          if (wasio__tcp_watch_out(tcp) != 0) wasio__pending_add(loop, &tcp->pending);
          return;
        }
      }
      size_t n;
      if (stage != NULL) {
        size_t room = WASIO__TCP_STAGE_CAP - be->stage_len;
        n = left < room ? left : room;
        if (n > permit) n = (size_t)permit;
        memcpy(stage + be->stage_len, w->wasio__base + w->wasio__done, n);
        be->stage_len += n;
        be->stage_tcp = tcp;
        permit -= n;
      } else {
        n = permit < left ? (size_t)permit : left;
        imports_list_u8_t chunk = { (uint8_t *)(uintptr_t)(w->wasio__base + w->wasio__done), n };
        wasi_io_streams_stream_error_t e;
        if (!wasi_io_streams_method_output_stream_write(out, &chunk, &e)) {
          wasio__tcp_write_fail(tcp, wasio__stream_error(&e, true));
          return;
        }
        permit = 0; /* the write ends the permit */
      }
      w->wasio__done += n;
      tcp->wq_bytes -= n;
      tcp->last_active = wasio_loop_now(loop);
      if (w->wasio__done < w->wasio__len) continue; /* taken in part: the rest after a flush */
    }
    tcp->wq_head = w->wasio__next;
    if (tcp->wq_head == NULL) tcp->wq_tail = NULL;
    w->wasio__next = NULL;
    w->wasio__tcp = NULL;
    wasio__tcp_update_active(tcp);
    w->wasio__cb(w, 0);
  }
  /* The queue is empty (or the handle closed, which wrote the staged bytes
   * itself): out with the rest. */
  if ((rc = wasio__tcp_stage_flush(tcp)) < 0) wasio__tcp_write_fail(tcp, rc);
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

/* The wait after end_send: true once the output stream has ended (then
 * *status is 0 for "closed", the error for a failure), false while the
 * host still works on it (the output pollable is then watched). A stream
 * that permits writes again did not end itself: true with 0, and the plain
 * TCP way ends it. */
static bool wasio__tcp_end_send_done(wasio_tcp_t *tcp, int *status) {
  uint64_t permit;
  wasi_io_streams_stream_error_t e;
  *status = 0;
  if (!wasi_io_streams_method_output_stream_check_write(wasi_io_streams_borrow_output_stream(tcp->out),
                                                        &permit, &e)) {
    if (e.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) *status = wasio__stream_error(&e, true);
    return true;
  }
  if (permit > 0) return true;
  if (wasio__tcp_watch_out(tcp) != 0) wasio__pending_add(wasio__tcp_loop_of(tcp), &tcp->pending);
  return false;
}

/* The shutdown sequence, once the queue is empty: flush, wait until
 * check-write shows the flush done, [end_send and wait for the stream to
 * end,] end the output stream, shut down. */
static void wasio__tcp_shutdown_step(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  wasi_io_streams_stream_error_t e;
  if (tcp->write_err != 0) {
    wasio__tcp_shutdown_finish(tcp, tcp->write_err);
    return;
  }
  wasi_io_streams_borrow_output_stream_t out = wasi_io_streams_borrow_output_stream(tcp->out);
  int status;
  if (tcp->flags & WASIO__TCPF_SHUT_END) goto wait_end;
  if (!(tcp->flags & WASIO__TCPF_SHUT_FLUSH)) {
    if (!wasi_io_streams_method_output_stream_flush(out, &e)) {
      wasio__tcp_shutdown_finish(tcp, wasio__stream_error(&e, true));
      return;
    }
    tcp->flags |= WASIO__TCPF_SHUT_FLUSH;
  }
  uint64_t permit;
  if (!wasi_io_streams_method_output_stream_check_write(out, &permit, &e)) {
    wasio__tcp_shutdown_finish(tcp, wasio__stream_error(&e, true));
    return;
  }
  if (permit == 0) {
    if (wasio__tcp_watch_out(tcp) != 0) wasio__pending_add(loop, &tcp->pending);
    return;
  }
  if (tcp->end_send == NULL) goto drop;
  /* Once: the layer's own end (close_notify), then wait, bounded, for the
   * stream to say it has ended. */
  if ((status = tcp->end_send(tcp->end_send_ctx)) != 0) {
    wasio__tcp_shutdown_finish(tcp, status);
    return;
  }
  tcp->flags |= WASIO__TCPF_SHUT_END;
  uint64_t now = wasio_loop_now(wasio__tcp_loop_of(tcp));
  tcp->end_send_due = WASIO__TCP_END_SEND_TIMEOUT_NS > UINT64_MAX - now ? UINT64_MAX
                                                                        : now + WASIO__TCP_END_SEND_TIMEOUT_NS;
  wasio__tcp_idle_arm(tcp);
wait_end:
  if (!wasio__tcp_end_send_done(tcp, &status)) return;
  if (status != 0) {
    wasio__src_unwatch(loop, &tcp->out_src);
    wasio__tcp_shutdown_finish(tcp, status);
    return;
  }
drop:
  wasio__src_drop(loop, &tcp->out_src);
  wasi_io_streams_output_stream_drop_own(tcp->out);
  tcp->out.__handle = 0;
  wasi_sockets_tcp_error_code_t se;
  status = 0;
  if (!wasio__tcp_host_shutdown_destroys(tcp) &&
      !wasi_sockets_tcp_method_tcp_socket_shutdown(wasio__tcp_sock(tcp),
                                                   WASI_SOCKETS_TCP_SHUTDOWN_TYPE_SEND, &se))
    status = wasio__wasi_error(se, false);
  wasio__tcp_shutdown_finish(tcp, status);
}

/* Output work in phase 3: queued writes, then a requested shutdown. */
static void wasio__tcp_service_output(wasio_tcp_t *tcp) {
  if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED || tcp->out.__handle == 0) return;
  wasio__tcp_flush_writes(tcp);
  if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
  if (tcp->wq_head == NULL) {
    if (tcp->flags & WASIO__TCPF_SHUT_REQ)
      wasio__tcp_shutdown_step(tcp);
    else
      wasio__src_unwatch(wasio__tcp_loop_of(tcp), &tcp->out_src);
  }
}

int wasio_tcp_shutdown(wasio_tcp_t *tcp, wasio_shutdown_cb cb) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (tcp->flags & (WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_DONE)) return WASIO_EBUSY;
  tcp->flags |= WASIO__TCPF_SHUT_REQ;
  tcp->shutdown_cb = cb;
  if (!wasio__src_watched(&tcp->out_src)) wasio__pending_add(wasio__tcp_loop_of(tcp), &tcp->pending);
  wasio__tcp_update_active(tcp);
  return 0;
}

/* ---- dispatch -------------------------------------------------------------------------- */

void wasio__tcp_on_ready(wasio__src_t *src) {
  wasio_tcp_t *tcp;
  switch (src->kind) {
    case WASIO__SRC_TCP_SOCKET:
      tcp = WASIO__CONTAINER_OF(src, wasio_tcp_t, sock_src);
      if (tcp->state == WASIO__TCP_CONNECTING)
        wasio__tcp_connect_step(tcp);
      else if (tcp->state == WASIO__TCP_LISTENING)
        wasio__tcp_accept_some(tcp);
      break;
    case WASIO__SRC_TCP_IN:
      wasio__tcp_on_readable(WASIO__CONTAINER_OF(src, wasio_tcp_t, in_src));
      break;
    case WASIO__SRC_TCP_OUT:
      wasio__tcp_service_output(WASIO__CONTAINER_OF(src, wasio_tcp_t, out_src));
      break;
  }
}

void wasio__tcp_on_pending(wasio_tcp_t *tcp) { wasio__tcp_service_output(tcp); }

/* ---- options and addresses ------------------------------------------------------------- */

int wasio_tcp_keepalive(wasio_tcp_t *tcp, bool enable, uint64_t idle_ns) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  tcp->flags |= WASIO__TCPF_KA_SET;
  if (enable)
    tcp->flags |= WASIO__TCPF_KA_ON;
  else
    tcp->flags &= (uint16_t)~WASIO__TCPF_KA_ON;
  tcp->keepalive_idle_ns = idle_ns;
  return wasio__tcp_apply_keepalive(tcp);
}

int wasio_tcp_local_addr(const wasio_tcp_t *tcp, wasio_addr_t *out) {
  if (tcp == NULL || out == NULL) return WASIO_EINVAL;
  if (tcp->sock.__handle == 0) return WASIO_ENOTCONN;
  wasi_sockets_network_ip_socket_address_t a;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_local_address(wasio__tcp_sock(tcp), &a, &e))
    return wasio__wasi_error(e, false);
  wasio__addr_from_wasi(&a, out);
  return 0;
}

int wasio_tcp_peer_addr(const wasio_tcp_t *tcp, wasio_addr_t *out) {
  if (tcp == NULL || out == NULL) return WASIO_EINVAL;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  wasi_sockets_network_ip_socket_address_t a;
  wasi_sockets_tcp_error_code_t e;
  if (!wasi_sockets_tcp_method_tcp_socket_remote_address(wasio__tcp_sock(tcp), &a, &e))
    return wasio__wasi_error(e, false);
  wasio__addr_from_wasi(&a, out);
  return 0;
}

/* ---- close ------------------------------------------------------------------------------ */

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
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  if (tcp->out.__handle == 0 || tcp->sock.__handle == 0 || wasio__tcp_output_idle(tcp->out)) return;
  wasio__tcp_linger_t *l = wasio__malloc(sizeof *l);
  if (l == NULL) return; /* the drop will wait instead */
  wasio__src_init(&l->src, WASIO__SRC_TCP_LINGER);
  l->loop = loop;
  wasio__src_unwatch(loop, &tcp->out_src);
  l->src.pollable = tcp->out_src.pollable;
  tcp->out_src.pollable.__handle = 0;
  if (!wasio__src_subscribed(&l->src))
    l->src.pollable = wasi_io_streams_method_output_stream_subscribe(
        wasi_io_streams_borrow_output_stream(tcp->out));
  l->out = tcp->out;
  l->sock = tcp->sock;
  tcp->out.__handle = 0;
  tcp->sock.__handle = 0;
  /* The socket's own pollable is a child of the socket: it goes now. */
  wasio__src_drop(loop, &tcp->sock_src);
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

void wasio_tcp_close(wasio_tcp_t *tcp, wasio_tcp_close_cb cb) {
  if (tcp == NULL || wasio__tcp_closing(tcp)) return;
  /* The core's connect_host reports ECANCELED to its user and forgets the
   * handle first; the attempt canceled below then reaches a callback that
   * ignores it. */
  if (tcp->common.ch != NULL) wasio__connect_host_cancel(tcp);
  if (wasio__tcp_closing(tcp)) return; /* closed from that callback */
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  wasio__handle_close(&tcp->common.h, (void (*)(void *))cb);

  uint8_t old_state = tcp->state;
  wasio_connect_cb ccb = tcp->connect_cb;
  wasio_shutdown_cb scb = (tcp->flags & WASIO__TCPF_SHUT_REQ) ? tcp->shutdown_cb : NULL;
  wasio_write_t *w = tcp->wq_head;
  tcp->connect_cb = NULL;
  tcp->shutdown_cb = NULL;
  tcp->wq_head = tcp->wq_tail = NULL;
  tcp->wq_bytes = 0;
  tcp->flags &= (uint16_t)~(WASIO__TCPF_READING | WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_FLUSH |
                            WASIO__TCPF_SHUT_END);
  wasio__timer_node_disarm(loop, &tcp->timer);
  wasio__pending_remove(&tcp->pending);
  /* Closed from a write callback: the bytes staged for it belong to
   * requests already completed, so they go out (within the permit they
   * were staged under: the write does not wait). An error has no one left
   * to tell. */
  if (loop->backend.stage_tcp == tcp) (void)wasio__tcp_stage_flush(tcp);
  if (old_state == WASIO__TCP_CONNECTED) wasio__tcp_linger_output(tcp);
  wasio__tcp_release(tcp);
  tcp->state = WASIO__TCP_CLOSED;
  wasio__handle_set_active(&tcp->common.h, false);

  /* Cancellations, after the handle is fully closed so that anything the
   * callbacks try on it fails with WASIO_ECLOSING. */
  if (old_state == WASIO__TCP_CONNECTING && ccb != NULL) ccb(tcp, WASIO_ECANCELED);
  while (w != NULL) {
    wasio_write_t *next = w->wasio__next;
    w->wasio__next = NULL;
    w->wasio__tcp = NULL;
    w->wasio__cb(w, WASIO_ECANCELED);
    w = next;
  }
  if (scb != NULL) scb(tcp, WASIO_ECANCELED);
}

void wasio__tcp_free(wasio_tcp_t *tcp) {
  /* wasio_tcp_close released everything; nothing is left to do. */
  (void)tcp;
}
