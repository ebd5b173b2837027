/* src/http/server_io.c: the plain-TCP transport of the HTTP server (see
 * server_io.h for why this layer exists). */
#include "server_io.h"

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

int wasio__srv_io_read_start(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP: {
      int rc = wasio_tcp_read_start(io->tcp, srv_io_alloc_cb, srv_io_read_cb);
      return rc == WASIO_EBUSY ? 0 : rc; /* already reading: idempotent */
    }
  }
  return WASIO_EINVAL;
}

void wasio__srv_io_read_stop(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      (void)wasio_tcp_read_stop(io->tcp);
      return;
  }
}

int wasio__srv_io_write(wasio__srv_io_t *io, wasio_write_t *req, const void *base, size_t len,
                        wasio_write_cb cb) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_write(io->tcp, req, base, len, cb);
  }
  return WASIO_EINVAL;
}

size_t wasio__srv_io_queued(const wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_write_queue_size(io->tcp);
  }
  return 0;
}

int wasio__srv_io_shutdown(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_shutdown(io->tcp, srv_io_shutdown_cb);
  }
  return WASIO_EINVAL;
}

void wasio__srv_io_close(wasio__srv_io_t *io) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      wasio_tcp_close(io->tcp, srv_io_close_cb);
      return;
  }
}

int wasio__srv_io_peer_addr(const wasio__srv_io_t *io, wasio_addr_t *out) {
  switch ((wasio__srv_io_kind_t)io->kind) {
    case WASIO__SRV_IO_TCP:
      return wasio_tcp_peer_addr(io->tcp, out);
  }
  return WASIO_EINVAL;
}
