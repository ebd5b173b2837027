/* src/http/server.c: the HTTP server object of wasio/http.h: creation
 * (the transport chosen once; a TLS config is tried once), listening (a
 * socket, or the binding to the host: server_host.c), and the graceful
 * shutdown (stop accepting, let exchanges in flight finish within the
 * timeout, then call back once from a deferred callback). The design is in
 * server_internal.h. */
#include "server_internal.h"

static void srv_timer_closed(wasio_timer_t *t);

int wasio_http_server_new(wasio_loop_t *loop, const wasio_http_server_opts_t *opts,
                          wasio_http_handler handler, void *data, wasio_http_server_t **out) {
  if (loop == NULL || handler == NULL || out == NULL) return WASIO_EINVAL;
  int transport = wasio_http_transport_resolve(opts != NULL ? opts->transport : WASIO_HTTP_TRANSPORT_AUTO);
  if (transport < 0) return transport;
  /* The host does the TLS of what it serves: a config cannot apply. */
  if (transport == WASIO_HTTP_TRANSPORT_HOST && opts != NULL && opts->tls != NULL) return WASIO_EINVAL;
  wasio_http_server_t *s = wasio__calloc(1, sizeof *s);
  if (s == NULL) return WASIO_ENOMEM;
  s->loop = loop;
  s->handler = handler;
  s->data = data;
  s->max_connections = WASIO_HTTP_SERVER_MAX_CONNECTIONS;
  s->max_body = WASIO_HTTP_SERVER_MAX_BODY;
  s->idle_ns = WASIO_HTTP_SERVER_IDLE_TIMEOUT_NS;
  s->head_ns = WASIO_HTTP_SERVER_HEAD_TIMEOUT_NS;
  s->body_ns = WASIO_HTTP_SERVER_BODY_TIMEOUT_NS;
  if (wasio__http_inbufs_init(&s->bufs, WASIO__SRV_IN_CAP, WASIO__SRV_BUF_POOL_MAX) != 0) {
    wasio__free(s);
    return WASIO_ENOMEM;
  }
  if (opts != NULL) {
    if (opts->max_connections) s->max_connections = opts->max_connections;
    if (opts->max_body) s->max_body = opts->max_body;
    if (opts->idle_timeout_ns) s->idle_ns = opts->idle_timeout_ns;
    if (opts->head_timeout_ns) s->head_ns = opts->head_timeout_ns;
    if (opts->body_timeout_ns) s->body_ns = opts->body_timeout_ns;
    if (opts->tls != NULL) {
      /* Refuse a config that cannot serve (client role, no certificate)
       * now rather than failing every handshake later: a trial engine. */
      wasio_tls_engine_t *trial = NULL;
      int rc = wasio_tls_engine_new(opts->tls, NULL, 0, &trial);
      if (rc < 0) {
        wasio__http_inbufs_free(&s->bufs);
        wasio__free(s);
        return rc;
      }
      wasio_tls_engine_free(trial);
      static const char *const alpn[] = {"http/1.1"};
      rc = wasio_tls_config_alpn(opts->tls, alpn, 1);
      if (rc < 0) {
        wasio__http_inbufs_free(&s->bufs);
        wasio__free(s);
        return rc;
      }
      s->tls = opts->tls;
    }
  }
  s->on_host = transport == WASIO_HTTP_TRANSPORT_HOST;
  s->finish.data = s;
  *out = s;
  return 0;
}

int wasio_http_server_listen(wasio_http_server_t *s, const wasio_addr_t *addr, int backlog) {
  if (s == NULL) return WASIO_EINVAL;
  if (s->shutting_down) return WASIO_ECLOSING;
  if (s->on_host) {
    /* The host listens; addr and backlog are its command line's business. */
    if (s->host != NULL) return WASIO_ESTATE;
    return wasio__srvh_bind(s);
  }
  if (addr == NULL) return WASIO_EINVAL;
  if (s->listener != NULL) return WASIO_ESTATE;
  wasio_tcp_t *l = NULL;
  int rc = wasio_tcp_new(s->loop, &l);
  if (rc < 0) return rc;
  wasio_tcp_set_data(l, s);
  rc = wasio_tcp_bind(l, addr);
  if (rc == 0) rc = wasio_tcp_listen(l, backlog, wasio__srv_on_connection);
  if (rc < 0) {
    wasio_tcp_close(l, NULL);
    return rc;
  }
  s->listener = l;
  s->listener_open = true;
  return 0;
}

int wasio_http_server_local_addr(const wasio_http_server_t *s, wasio_addr_t *out) {
  if (s == NULL || out == NULL) return WASIO_EINVAL;
  if (s->on_host) return WASIO_ENOTSUP;
  if (s->listener == NULL || !s->listener_open) return WASIO_ESTATE;
  return wasio_tcp_local_addr(s->listener, out);
}

bool wasio_http_server_on_host(const wasio_http_server_t *s) { return s != NULL && s->on_host; }

void *wasio_http_server_data(const wasio_http_server_t *s) { return s->data; }

static void srv_finish_cb(wasio_defer_t *d, int status) {
  (void)status;
  wasio_http_server_t *s = d->data;
  void (*cb)(wasio_http_server_t *) = s->shutdown_cb;
  if (cb != NULL) cb(s);
  wasio__srvh_free(s);
  while (s->pool != NULL) {
    wasio_http_exchange_t *ex = s->pool;
    s->pool = ex->next;
    wasio__free(ex);
  }
  wasio__http_inbufs_free(&s->bufs);
  wasio__free(s);
}

void wasio__srv_maybe_finish(wasio_http_server_t *s) {
  if (!s->shutting_down || s->finish_queued || s->n_conns != 0) return;
  if (wasio__srvh_busy(s)) return; /* a host request in flight: serve() asks again after it */
  if (s->timer_open && !s->timer_closing) {
    s->timer_closing = true; /* every connection finished in time */
    wasio_timer_close(s->shutdown_timer, srv_timer_closed);
  }
  if (s->listener_open || s->timer_open) return;
  /* From a deferred callback so that cb never runs inside
   * wasio_http_server_shutdown() itself. */
  if (wasio_defer(s->loop, &s->finish, srv_finish_cb) == 0) s->finish_queued = true;
}

static void srv_listener_closed(wasio_tcp_t *l) {
  wasio_http_server_t *s = wasio_tcp_data(l);
  s->listener_open = false;
  s->listener = NULL;
  wasio__srv_maybe_finish(s);
}

static void srv_timer_closed(wasio_timer_t *t) {
  wasio_http_server_t *s = wasio_timer_data(t);
  s->timer_open = false;
  s->shutdown_timer = NULL;
  wasio__srv_maybe_finish(s);
}

static void srv_shutdown_timeout(wasio_timer_t *t) {
  wasio_http_server_t *s = wasio_timer_data(t);
  for (wasio__srv_conn_t *c = s->conns; c != NULL; c = c->next) {
    c->close_status = WASIO_ECANCELED;
    wasio__srv_conn_abort(c, WASIO_ECANCELED);
  }
  wasio__srvh_cancel(s);
  if (!s->timer_closing) {
    s->timer_closing = true;
    wasio_timer_close(t, srv_timer_closed);
  }
}

void wasio_http_server_shutdown(wasio_http_server_t *s, uint64_t timeout_ns,
                                void (*cb)(wasio_http_server_t *server)) {
  if (s == NULL || s->shutting_down) return;
  s->shutting_down = true;
  s->bufs.keep = 0; /* input buffers given back from now on are freed */
  s->shutdown_cb = cb;
  if (s->listener != NULL && s->listener_open) wasio_tcp_close(s->listener, srv_listener_closed);
  wasio__srvh_unbind(s); /* later requests get the export's 500 */
  /* Without memory for the timer nothing would bound the wait: then what
   * is in flight is closed now, as the timeout would have later. */
  bool now = false;
  if (timeout_ns != 0 && wasio_timer_new(s->loop, &s->shutdown_timer) == 0) {
    wasio_timer_set_data(s->shutdown_timer, s);
    s->timer_open = true;
    if (wasio_timer_start(s->shutdown_timer, srv_shutdown_timeout, timeout_ns, 0) < 0)
      srv_shutdown_timeout(s->shutdown_timer);
  } else if (timeout_ns != 0) {
    now = true;
    wasio__srvh_cancel(s);
  }
  for (wasio__srv_conn_t *c = s->conns; c != NULL; c = c->next) {
    if (wasio__srv_conn_closing(c)) continue;
    wasio__srv_conn_last(c);
    if (now || (c->ex == NULL && c->input != INPUT_BODY)) {
      wasio__srv_conn_abort(c, WASIO_ECANCELED); /* idle, or no timer: nothing waits */
      continue;
    }
    if (c->close_status == 0) c->close_status = WASIO_ECANCELED;
    wasio__srv_conn_kick(c); /* re-evaluates reading and the end of the connection */
  }
  wasio__srv_maybe_finish(s);
}
