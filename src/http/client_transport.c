/* src/http/client_transport.c: the transports of the HTTP client, plain TCP,
 * TLS, and the host's TLS (see client_transport.h for why this layer
 * exists). */
#include <string.h>

#include "client_transport.h"

/* ---- plain TCP callbacks (also the TCP connect of a TLS transport) ------------- */

static wasio__http_transport_t *wasio__tr_of(wasio_tcp_t *tcp) { return wasio_tcp_data(tcp); }

static void wasio__tr_tls_handshake_cb(wasio_tls_t *tls, int status) {
  wasio__http_transport_t *t = wasio_tls_data(tls);
  if (t->closing) return; /* ECANCELED from our own close */
  wasio__http_conn_on_connect(t, status);
}

static void wasio__tr_host_handshake_cb(wasio_tls_host_t *htls, int status) {
  wasio__http_transport_t *t = wasio_tls_host_data(htls);
  if (t->closing) return;
  wasio__http_conn_on_connect(t, status);
}

static void wasio__tr_connect_cb(wasio_tcp_t *tcp, int status) {
  wasio__http_transport_t *t = wasio__tr_of(tcp);
  if (status == 0 && t->kind == WASIO__HTTP_TRANSPORT_HOST_TLS && !t->closing) {
    /* The host takes the TCP streams; tcp's data stays t, and after the
     * handshake tcp carries plaintext, so the TCP callbacks serve reads. */
    int rc = wasio_tls_host_connect(tcp, t->host, wasio__tr_host_handshake_cb, &t->htls);
    if (rc != 0) wasio__http_conn_on_connect(t, rc); /* the socket is still ours */
    else wasio_tls_host_set_data(t->htls, t);
    return;
  }
  if (status != 0 || t->kind != WASIO__HTTP_TRANSPORT_TLS || t->closing) {
    wasio__http_conn_on_connect(t, status);
    return;
  }
  /* TCP is up: the handshake decides whether the connection is usable. */
  wasio_tls_t *tls;
  int rc = wasio_tls_new(tcp, t->cfg, t->host, t->port, &tls);
  if (rc != 0) {
    /* The socket is still ours; the connection closes it. */
    wasio__http_conn_on_connect(t, rc);
    return;
  }
  t->tls = tls;
  wasio_tls_set_data(tls, t);
  /* The connect timeout also bounds a silent peer during the handshake. */
  if (t->connect_ns != WASIO_NO_TIMEOUT) (void)wasio_tls_set_idle_timeout(tls, t->connect_ns);
  rc = wasio_tls_handshake(tls, wasio__tr_tls_handshake_cb);
  if (rc != 0) wasio__http_conn_on_connect(t, rc);
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

static void wasio__tr_host_close_cb(wasio_tls_host_t *htls) {
  wasio__http_conn_on_close(wasio_tls_host_data(htls));
}

/* ---- TLS callbacks ------------------------------------------------------------- */

static void wasio__tr_tls_alloc_cb(wasio_tls_t *tls, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  wasio__http_conn_alloc(wasio_tls_data(tls), buf);
}

static void wasio__tr_tls_read_cb(wasio_tls_t *tls, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf;
  wasio__http_transport_t *t = wasio_tls_data(tls);
  if (nread < 0) t->reading = false; /* the stream stopped reading */
  wasio__http_conn_on_read(t, nread);
}

static void wasio__tr_tls_close_cb(wasio_tls_t *tls) {
  wasio__http_transport_t *t = wasio_tls_data(tls);
  t->tls = NULL;
  t->tcp = NULL;
  /* The stream freed its engine before this callback and touches nothing
   * of ours after it: the client may free the connection, and the default
   * config it made, from on_close. */
  wasio__http_conn_on_close(t);
}

/* ---- the transport API --------------------------------------------------------- */

int wasio__http_transport_open(wasio__http_transport_t *t, wasio_loop_t *loop, wasio_tls_config_t *tls,
                               bool host_tls, const char *host, uint16_t port, uint64_t timeout_ns) {
  if ((tls != NULL || host_tls) && strlen(host) > WASIO_TLS_MAX_HOST) return WASIO_ENAMETOOLONG;
  int rc = wasio_tcp_new(loop, &t->tcp);
  if (rc != 0) return rc;
  t->kind = tls != NULL ? WASIO__HTTP_TRANSPORT_TLS
            : host_tls  ? WASIO__HTTP_TRANSPORT_HOST_TLS
                        : WASIO__HTTP_TRANSPORT_TCP;
  t->reading = t->closing = false;
  t->tls = NULL;
  t->htls = NULL;
  t->cfg = tls;
  t->port = port;
  t->connect_ns = timeout_ns;
  if (tls != NULL || host_tls) strcpy(t->host, host); /* length checked above */
  wasio_tcp_set_data(t->tcp, t);
  /* On failure the socket exists: the caller closes it and gets on_close. */
  return wasio_tcp_connect_host(t->tcp, host, port, timeout_ns, wasio__tr_connect_cb);
}

int wasio__http_transport_read_start(wasio__http_transport_t *t) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
  case WASIO__HTTP_TRANSPORT_HOST_TLS: /* TCP after the handshake */ {
    if (t->reading) return 0;
    int rc = wasio_tcp_read_start(t->tcp, wasio__tr_alloc_cb, wasio__tr_read_cb);
    if (rc == 0) t->reading = true;
    return rc;
  }
  case WASIO__HTTP_TRANSPORT_TLS: {
    if (t->closing || t->tls == NULL) return WASIO_ESTATE;
    if (t->reading) return 0;
    /* Calls nothing back from inside: buffered plaintext, and the final
     * EOF or error of a stream that has ended, arrive from the stream's
     * pump. A stream that failed while nobody read returns its error. */
    int rc = wasio_tls_read_start(t->tls, wasio__tr_tls_alloc_cb, wasio__tr_tls_read_cb);
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
  case WASIO__HTTP_TRANSPORT_HOST_TLS: /* TCP after the handshake */
    if (t->reading) (void)wasio_tcp_read_stop(t->tcp);
    t->reading = false;
    break;
  case WASIO__HTTP_TRANSPORT_TLS:
    if (t->reading && t->tls != NULL) (void)wasio_tls_read_stop(t->tls);
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
  case WASIO__HTTP_TRANSPORT_HOST_TLS: /* TCP after the handshake */
    return wasio_tcp_write(t->tcp, req, base, len, cb);
  case WASIO__HTTP_TRANSPORT_TLS:
    if (t->tls == NULL) return WASIO_ESTATE;
    return wasio_tls_write(t->tls, req, base, len, cb);
  default:
    return WASIO_ESTATE;
  }
}

size_t wasio__http_transport_queued(const wasio__http_transport_t *t) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
  case WASIO__HTTP_TRANSPORT_HOST_TLS: /* TCP after the handshake */
    return wasio_tcp_write_queue_size(t->tcp);
  case WASIO__HTTP_TRANSPORT_TLS:
    return t->tls != NULL ? wasio_tls_write_queue_size(t->tls) : 0;
  default:
    return 0;
  }
}

void wasio__http_transport_set_idle(wasio__http_transport_t *t, uint64_t idle_ns) {
  switch (t->kind) {
  case WASIO__HTTP_TRANSPORT_TCP:
  case WASIO__HTTP_TRANSPORT_HOST_TLS: /* TCP after the handshake */
    (void)wasio_tcp_set_idle_timeout(t->tcp, idle_ns);
    break;
  case WASIO__HTTP_TRANSPORT_TLS:
    if (t->tls != NULL) (void)wasio_tls_set_idle_timeout(t->tls, idle_ns);
    else if (t->tcp != NULL) (void)wasio_tcp_set_idle_timeout(t->tcp, idle_ns);
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
  case WASIO__HTTP_TRANSPORT_TLS:
    if (t->closing) return;
    t->closing = true;
    t->reading = false;
    if (t->tls != NULL) wasio_tls_close(t->tls, wasio__tr_tls_close_cb);
    else wasio_tcp_close(t->tcp, wasio__tr_close_cb); /* still connecting */
    break;
  case WASIO__HTTP_TRANSPORT_HOST_TLS:
    if (t->closing) return;
    t->closing = true;
    t->reading = false;
    /* Once the host has the streams only wasio_tls_host_close may end them. */
    if (t->htls != NULL) wasio_tls_host_close(t->htls, wasio__tr_host_close_cb);
    else wasio_tcp_close(t->tcp, wasio__tr_close_cb); /* still connecting */
    break;
  default:
    break;
  }
}
