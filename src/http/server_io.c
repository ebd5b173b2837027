/* src/http/server_io.c: the transports of the HTTP server, plain TCP and
 * TLS (see server_io.h for why this layer exists and why TLS requests are
 * applied from a deferred callback). */
#include <string.h>

#include "server_io.h"

static void srv_io_tls_kick(wasio__srv_io_t *io);

/* Closing a TLS connection sends close_notify first; if the socket makes no
 * progress for this long (a client that does not read), it closes anyway. */
#define WASIO__SRV_IO_NOTIFY_NS (2ull * WASIO_NS_PER_S)

static void srv_io_alloc_cb(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  wasio__srv_io_t *io = wasio_tcp_data(tcp);
  char *base = NULL;
  size_t cap = 0;
  wasio__srv_conn_read_space(io->conn, &base, &cap);
  buf->base = base;
  buf->len = cap;
}

static void srv_io_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf; /* the bytes landed in the space the connection handed out */
  wasio__srv_io_t *io = wasio_tcp_data(tcp);
  wasio__srv_conn_on_read(io->conn, nread);
}

static void srv_io_shutdown_cb(wasio_tcp_t *tcp, int status) {
  wasio__srv_io_t *io = wasio_tcp_data(tcp);
  /* A shutdown canceled by close reports nothing: on_closed follows. */
  if (status == WASIO_ECANCELED) return;
  wasio__srv_conn_on_shutdown(io->conn, status);
}

static void srv_io_close_cb(wasio_tcp_t *tcp) {
  wasio__srv_io_t *io = wasio_tcp_data(tcp);
  wasio__srv_conn_on_closed(io->conn);
}

void wasio__srv_io_init_tcp(wasio__srv_io_t *io, wasio_tcp_t *tcp, wasio__srv_conn_t *conn) {
  io->kind = WASIO__SRV_IO_TCP;
  io->tcp = tcp;
  io->conn = conn;
  wasio_tcp_set_data(tcp, io);
}

/* ---- TLS ------------------------------------------------------------------- */

/* Reports a final read status once (a failed handshake, an error, the
 * peer's close_notify); afterwards the stream says nothing more upward but
 * the shutdown and close results. */
static void srv_io_tls_final(wasio__srv_io_t *io, int status) {
  if (io->read_done || io->closing) return;
  io->read_done = true;
  io->failed = status != WASIO_EOF;
  io->want_read = false;
  io->tls_reading = false;
  wasio__srv_conn_on_read(io->conn, status);
}

static void srv_io_tls_alloc_cb(wasio_tls_t *tls, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  wasio__srv_io_t *io = wasio_tls_data(tls);
  char *base = NULL;
  size_t cap = 0;
  wasio__srv_conn_read_space(io->conn, &base, &cap);
  buf->base = base;
  buf->len = cap;
}

static void srv_io_tls_read_cb(wasio_tls_t *tls, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf; /* the plaintext landed in the space the connection handed out */
  wasio__srv_io_t *io = wasio_tls_data(tls);
  if (nread > 0) {
    if (!io->read_done && !io->closing) wasio__srv_conn_on_read(io->conn, nread);
    return;
  }
  /* The stream's reader has stopped: WASIO_EOF after close_notify,
   * WASIO_ETLS_TRUNCATED, or another error. */
  io->tls_reading = false;
  srv_io_tls_final(io, (int)nread);
}

static void srv_io_tls_apply(wasio__srv_io_t *io);

static void srv_io_tls_handshake_cb(wasio_tls_t *tls, int status) {
  wasio__srv_io_t *io = wasio_tls_data(tls);
  if (status < 0) {
    /* Canceled by our own close: on_closed reports it. Anything else (a
     * bad ClientHello, no common suite, an alert, the client leaving) ends
     * the connection before a request could be read. */
    if (status != WASIO_ECANCELED) srv_io_tls_final(io, status);
    return;
  }
  io->hs_done = true;
  /* From inside the stream's pump a wasio_tls_read_start() only asks the
   * running pump for another round, so this does not nest. */
  srv_io_tls_apply(io);
}

static void srv_io_tls_close_cb(wasio_tls_t *tls);

static void srv_io_tls_shutdown_cb(wasio_tls_t *tls, int status) {
  wasio__srv_io_t *io = wasio_tls_data(tls);
  if (io->closing) {
    /* close_notify is out (or could not be sent): now really close. */
    if (io->notify_then_close) {
      io->notify_then_close = false;
      wasio_tls_close(tls, srv_io_tls_close_cb);
    }
    return;
  }
  if (status == WASIO_ECANCELED) return; /* on_closed follows */
  wasio__srv_conn_on_shutdown(io->conn, status);
}

static void srv_io_tls_close_cb(wasio_tls_t *tls) {
  wasio__srv_io_t *io = wasio_tls_data(tls);
  io->tls = NULL;
  /* `sync` lives in the connection, which on_closed frees: wait for it. */
  if (io->sync_queued) {
    io->closed_wait = true;
    return;
  }
  wasio__srv_conn_on_closed(io->conn);
}

/* Hands the recorded requests to the stream, in order: handshake, reader,
 * writes, shutdown. Runs from loop callbacks only (`sync`, the handshake
 * callback), so whatever the stream calls back from inside is an upcall
 * from a loop callback, as server_io.h promises. */
static void srv_io_tls_apply(wasio__srv_io_t *io) {
  if (io->closing || io->tls == NULL) return;
  if (!io->hs_started) {
    io->hs_started = true;
    int rc = wasio_tls_handshake(io->tls, srv_io_tls_handshake_cb);
    if (rc < 0) {
      srv_io_tls_final(io, rc);
      return;
    }
    if (io->closing) return;
  }
  if (io->hs_done && !io->read_done) {
    if (io->want_read && !io->tls_reading) {
      io->tls_reading = true;
      int rc = wasio_tls_read_start(io->tls, srv_io_tls_alloc_cb, srv_io_tls_read_cb);
      if (rc < 0 && rc != WASIO_EBUSY) {
        io->tls_reading = false;
        srv_io_tls_final(io, rc);
      }
      if (io->closing) return;
    } else if (!io->want_read && io->tls_reading) {
      io->tls_reading = false;
      (void)wasio_tls_read_stop(io->tls);
    }
  }
  /* Writes go in before the handshake is over too: the stream holds them
   * until it has succeeded. */
  while (io->wq_head != NULL && !io->closing) {
    wasio_write_t *r = io->wq_head;
    io->wq_head = r->wasio__next;
    if (io->wq_head == NULL) io->wq_tail = NULL;
    const void *base = r->wasio__base;
    size_t len = r->wasio__len;
    wasio_write_cb cb = r->wasio__cb;
    io->wq_bytes -= len;
    int rc = wasio_tls_write(io->tls, r, base, len, cb);
    if (rc < 0) cb(r, rc); /* not queued by the stream: it is ours to complete */
  }
  if (io->closing) return;
  if (io->want_shutdown && !io->shutdown_started && io->wq_head == NULL) {
    io->shutdown_started = true;
    /* close_notify after the queued writes, then TCP's FIN. */
    int rc = wasio_tls_shutdown(io->tls, srv_io_tls_shutdown_cb);
    if (rc < 0) wasio__srv_conn_on_shutdown(io->conn, rc);
  }
}

static void srv_io_tls_sync_cb(wasio_defer_t *d, int status) {
  (void)status;
  wasio__srv_io_t *io = d->data;
  io->sync_queued = false;
  if (io->closed_wait) {
    wasio__srv_conn_on_closed(io->conn);
    return;
  }
  srv_io_tls_apply(io);
}

static void srv_io_tls_kick(wasio__srv_io_t *io) {
  if (io->sync_queued || io->closing) return;
  if (wasio_defer(wasio_tcp_loop(io->tcp), &io->sync, srv_io_tls_sync_cb) == 0) io->sync_queued = true;
}

int wasio__srv_io_init_tls(wasio__srv_io_t *io, wasio_tcp_t *tcp, wasio_tls_config_t *cfg,
                           wasio__srv_conn_t *conn) {
  memset(io, 0, sizeof *io);
  int rc = wasio_tls_new(tcp, cfg, NULL, 0, &io->tls);
  if (rc < 0) return rc;
  io->kind = WASIO__SRV_IO_TLS;
  io->tcp = tcp;
  io->conn = conn;
  io->sync.data = io;
  wasio_tls_set_data(io->tls, io);
  srv_io_tls_kick(io); /* the handshake starts from phase 2 */
  return 0;
}

/* ---- dispatch ----------------------------------------------------------------- */

int wasio__srv_io_read_start(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP: {
      int rc = wasio_tcp_read_start(io->tcp, srv_io_alloc_cb, srv_io_read_cb);
      return rc == WASIO_EBUSY ? 0 : rc; /* already reading: idempotent */
    }
    case WASIO__SRV_IO_TLS:
      if (io->closing) return WASIO_ECLOSING;
      if (io->read_done) return 0; /* the final status went up already */
      io->want_read = true;
      if (!io->tls_reading) srv_io_tls_kick(io);
      return 0;
  }
  return WASIO_EINVAL;
}

void wasio__srv_io_read_stop(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      (void)wasio_tcp_read_stop(io->tcp);
      return;
    case WASIO__SRV_IO_TLS:
      /* Stopping calls nothing back, so it takes effect at once. */
      io->want_read = false;
      if (io->tls_reading && io->tls != NULL) {
        io->tls_reading = false;
        (void)wasio_tls_read_stop(io->tls);
      }
      return;
  }
}

int wasio__srv_io_write(wasio__srv_io_t *io, wasio_write_t *req, const void *base, size_t len,
                        wasio_write_cb cb) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_write(io->tcp, req, base, len, cb);
    case WASIO__SRV_IO_TLS:
      if (req == NULL || cb == NULL || (base == NULL && len > 0)) return WASIO_EINVAL;
      if (io->closing) return WASIO_ECLOSING;
      if (io->want_shutdown) return WASIO_EPIPE;
      /* Recorded in the request's own link fields until `sync` hands it
       * to the stream (which sets them anew). */
      req->wasio__next = NULL;
      req->wasio__tcp = NULL;
      req->wasio__base = base;
      req->wasio__len = len;
      req->wasio__done = 0;
      req->wasio__cb = cb;
      if (io->wq_tail != NULL)
        io->wq_tail->wasio__next = req;
      else
        io->wq_head = req;
      io->wq_tail = req;
      io->wq_bytes += len;
      srv_io_tls_kick(io);
      return 0;
  }
  return WASIO_EINVAL;
}

size_t wasio__srv_io_queued(const wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_write_queue_size(io->tcp);
    case WASIO__SRV_IO_TLS:
      return io->wq_bytes + (io->tls != NULL ? wasio_tls_write_queue_size(io->tls) : 0);
  }
  return 0;
}

int wasio__srv_io_shutdown(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_shutdown(io->tcp, srv_io_shutdown_cb);
    case WASIO__SRV_IO_TLS:
      if (io->closing) return WASIO_ECLOSING;
      if (io->want_shutdown) return WASIO_EBUSY;
      io->want_shutdown = true;
      srv_io_tls_kick(io);
      return 0;
  }
  return WASIO_EINVAL;
}

void wasio__srv_io_close(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      wasio_tcp_close(io->tcp, srv_io_close_cb);
      return;
    case WASIO__SRV_IO_TLS: {
      if (io->closing) return;
      io->closing = true;
      /* Writes the stream never saw end here, synchronously, as with
       * wasio_tcp_close; the stream's own end in phase 4, before on_closed. */
      while (io->wq_head != NULL) {
        wasio_write_t *r = io->wq_head;
        io->wq_head = r->wasio__next;
        if (io->wq_head == NULL) io->wq_tail = NULL;
        r->wasio__next = NULL;
        wasio_write_cb cb = r->wasio__cb;
        r->wasio__cb = NULL;
        cb(r, WASIO_ECANCELED);
      }
      io->wq_bytes = 0;
      if (io->hs_done && !io->failed && !io->shutdown_started) {
        /* A clean end for the client (no truncation alarm): close_notify,
         * then close from the shutdown callback. The socket's idle timeout
         * bounds it; nothing calls back from here (the callback only
         * closes). */
        io->shutdown_started = true;
        (void)wasio_tls_set_idle_timeout(io->tls, WASIO__SRV_IO_NOTIFY_NS);
        io->notify_then_close = true;
        if (wasio_tls_shutdown(io->tls, srv_io_tls_shutdown_cb) == 0) return;
        io->notify_then_close = false;
      }
      wasio_tls_close(io->tls, srv_io_tls_close_cb);
      return;
    }
  }
}

int wasio__srv_io_peer_addr(const wasio__srv_io_t *io, wasio_addr_t *out) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
    case WASIO__SRV_IO_TLS:
      return wasio_tcp_peer_addr(io->tcp, out);
  }
  return WASIO_EINVAL;
}
