/* src/http/server_io.c: the transports of the HTTP server, plain TCP and
 * TLS (see server_io.h for why this layer exists). */
#include <string.h>

#include "server_io.h"

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
 * the shutdown and close results. Runs from the stream's callbacks only. */
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

/* Turns the stream's reader on once the handshake is over and the
 * connection wants plaintext. wasio_tls_read_start() calls nothing back
 * (the stream runs its pump from a deferred request), so this may run from
 * inside a wasio__srv_io_* call. Returns 0 or the stream's error. */
static int srv_io_tls_reader_on(wasio__srv_io_t *io) {
  if (!io->hs_done || io->read_done || !io->want_read || io->tls_reading) return 0;
  int rc = wasio_tls_read_start(io->tls, srv_io_tls_alloc_cb, srv_io_tls_read_cb);
  if (rc < 0 && rc != WASIO_EBUSY) return rc;
  io->tls_reading = true;
  return 0;
}

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
  /* A reader asked for during the handshake starts now. A stream that
   * refuses has failed, which its failure callbacks report too. */
  int rc = srv_io_tls_reader_on(io);
  if (rc < 0) srv_io_tls_final(io, rc);
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
  /* The stream touches nothing of ours after this callback, so the
   * connection (which embeds `io`) may be freed from on_closed. */
  wasio__srv_conn_on_closed(io->conn);
}

int wasio__srv_io_init_tls(wasio__srv_io_t *io, wasio_tcp_t *tcp, wasio_tls_config_t *cfg,
                           wasio__srv_conn_t *conn) {
  memset(io, 0, sizeof *io);
  int rc = wasio_tls_new(tcp, cfg, NULL, 0, &io->tls);
  if (rc < 0) return rc;
  io->kind = WASIO__SRV_IO_TLS;
  io->tcp = tcp;
  io->conn = conn;
  wasio_tls_set_data(io->tls, io);
  /* The stream runs it from phase 2 of the next turn. It fails only for a
   * closing stream or a second call, neither possible on a new stream. */
  (void)wasio_tls_handshake(io->tls, srv_io_tls_handshake_cb);
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
      return srv_io_tls_reader_on(io); /* or once the handshake is over */
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
      if (io->closing) return WASIO_ECLOSING;
      /* Before the handshake is over too: the stream holds the bytes until
       * it has succeeded (and fails them if it does not). */
      return wasio_tls_write(io->tls, req, base, len, cb);
  }
  return WASIO_EINVAL;
}

size_t wasio__srv_io_queued(const wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_write_queue_size(io->tcp);
    case WASIO__SRV_IO_TLS:
      return io->tls != NULL ? wasio_tls_write_queue_size(io->tls) : 0;
  }
  return 0;
}

int wasio__srv_io_shutdown(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_shutdown(io->tcp, srv_io_shutdown_cb);
    case WASIO__SRV_IO_TLS: {
      if (io->closing) return WASIO_ECLOSING;
      if (io->shutdown_started) return WASIO_EBUSY;
      /* close_notify after the queued writes, then TCP's FIN. */
      int rc = wasio_tls_shutdown(io->tls, srv_io_tls_shutdown_cb);
      if (rc == 0) io->shutdown_started = true;
      return rc;
    }
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
      /* Every write is the stream's: those it still holds go out before
       * close_notify below, or end with WASIO_ECANCELED when the stream
       * closes (phase 4, before on_closed). */
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
