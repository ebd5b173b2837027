/* src/http/client_transport.c: the plain-TCP transport of the HTTP client
 * (see client_transport.h for why this layer exists). */
#include "client_transport.h"

static wasio__http_transport_t *wasio__tr_of(wasio_tcp_t *tcp) { return wasio_tcp_data(tcp); }

static void wasio__tr_connect_cb(wasio_tcp_t *tcp, int status) {
  wasio__http_conn_on_connect(wasio__tr_of(tcp), status);
}

static void wasio__tr_alloc_cb(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  wasio__http_conn_alloc(wasio__tr_of(tcp), buf);
}

static void wasio__tr_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf; /* the bytes are where alloc put them */
  wasio__http_transport_t *t = wasio__tr_of(tcp);
  if (nread < 0) t->reading = false; /* wasio stopped reading */
  wasio__http_conn_on_read(t, nread);
}

static void wasio__tr_close_cb(wasio_tcp_t *tcp) { wasio__http_conn_on_close(wasio__tr_of(tcp)); }

int wasio__http_transport_open(wasio__http_transport_t *t, wasio_loop_t *loop, bool tls,
                               const char *host, uint16_t port, uint64_t timeout_ns) {
  if (tls) return WASIO_ENOTSUP;
  int rc = wasio_tcp_new(loop, &t->tcp);
  if (rc != 0) return rc;
  t->kind = WASIO__HTTP_TRANSPORT_TCP;
  t->reading = false;
  wasio_tcp_set_data(t->tcp, t);
  rc = wasio_tcp_connect_host(t->tcp, host, port, timeout_ns, wasio__tr_connect_cb);
  if (rc != 0) {
    /* The socket exists: the caller closes it and gets on_close. */
    return rc;
  }
  return 0;
}

int wasio__http_transport_read_start(wasio__http_transport_t *t) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP: {
    if (t->reading) return 0;
    int rc = wasio_tcp_read_start(t->tcp, wasio__tr_alloc_cb, wasio__tr_read_cb);
    if (rc == 0) t->reading = true;
    return rc;
  }
  default:
    return WASIO_ESTATE;
  }
}

void wasio__http_transport_read_stop(wasio__http_transport_t *t) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
    if (t->reading) (void)wasio_tcp_read_stop(t->tcp);
    t->reading = false;
    break;
  default:
    break;
  }
}

int wasio__http_transport_write(wasio__http_transport_t *t, wasio_write_t *req, const void *base,
                                size_t len, wasio_write_cb cb) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
    return wasio_tcp_write(t->tcp, req, base, len, cb);
  default:
    return WASIO_ESTATE;
  }
}

size_t wasio__http_transport_queued(const wasio__http_transport_t *t) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
    return wasio_tcp_write_queue_size(t->tcp);
  default:
    return 0;
  }
}

void wasio__http_transport_set_idle(wasio__http_transport_t *t, uint64_t idle_ns) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
    (void)wasio_tcp_set_idle_timeout(t->tcp, idle_ns);
    break;
  default:
    break;
  }
}

void wasio__http_transport_close(wasio__http_transport_t *t) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
    t->reading = false;
    wasio_tcp_close(t->tcp, wasio__tr_close_cb);
    break;
  default:
    break;
  }
}
