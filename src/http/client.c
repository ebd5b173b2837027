/* src/http/client.c: the HTTP client object of wasio/http.h: creation,
 * close (which ends every call and connection), and what its calls share:
 * the spare total-timeout timers and the default TLS config. The design is
 * in client_internal.h. */
#include "client_internal.h"

/* The config for https connections; the default one is made on first use,
 * so plain-http programs never pay for it. */
int wasio__client_tls_config(wasio_http_client_t *client, wasio_tls_config_t **out) {
  if (client->tls == NULL) {
    static const char *const alpn[] = {"http/1.1"};
    wasio_tls_config_t *cfg;
    int rc = wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg);
    if (rc != 0) return rc;
    rc = wasio_tls_config_alpn(cfg, alpn, sizeof alpn / sizeof alpn[0]);
    if (rc != 0) {
      (void)wasio_tls_config_free(cfg);
      return rc;
    }
    client->tls = cfg;
    client->tls_owned = true;
  }
  *out = client->tls;
  return 0;
}

/* A timer for a call's total timeout: a spare one, or a new one. */
int wasio__client_timer_get(wasio_http_client_t *client, wasio_timer_t **out) {
  if (client->num_spare_timers > 0) {
    *out = client->spare_timers[--client->num_spare_timers];
    return 0;
  }
  return wasio_timer_new(client->loop, out);
}

/* A call is done with its timer: stopped and kept for the next call while
 * there is room and the client is open, else closed. */
void wasio__client_timer_put(wasio_http_client_t *client, wasio_timer_t *timer) {
  if (client->closing || client->num_spare_timers >= WASIO__HTTP_SPARE_TIMERS) {
    wasio_timer_close(timer, NULL);
    return;
  }
  (void)wasio_timer_stop(timer);
  wasio_timer_set_data(timer, NULL);
  client->spare_timers[client->num_spare_timers++] = timer;
}

int wasio_http_client_new(wasio_loop_t *loop, const wasio_http_client_opts_t *opts,
                          wasio_http_client_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_http_client_t *c = wasio__calloc(1, sizeof *c);
  if (c == NULL) return WASIO_ENOMEM;
  if (wasio__http_inbufs_init(&c->bufs, WASIO__HTTP_CONN_BUF, WASIO__HTTP_BUF_POOL_MAX) != 0) {
    wasio__free(c);
    return WASIO_ENOMEM;
  }
  c->loop = loop;
  c->max_conns = opts && opts->max_conns_per_origin ? opts->max_conns_per_origin : WASIO_HTTP_MAX_CONNS_PER_ORIGIN;
  c->max_idle = opts && opts->max_idle_per_origin ? opts->max_idle_per_origin : WASIO_HTTP_MAX_IDLE_PER_ORIGIN;
  c->idle_timeout = opts && opts->idle_timeout_ns ? opts->idle_timeout_ns : WASIO_HTTP_POOL_IDLE_TIMEOUT_NS;
  if (opts != NULL) c->to = opts->timeouts;
  if (opts != NULL) c->tls = opts->tls;
  int t = wasio__client_transport(opts, &c->host);
  if (t != 0) {
    wasio__http_inbufs_free(&c->bufs);
    wasio__free(c);
    return t;
  }
  if (c->host) {
    /* The host's TLS: nothing of the guest's is made or used. */
  } else if (opts != NULL && opts->tls_backend != WASIO_TLS_BACKEND_AUTO) {
    int b = wasio_tls_backend_resolve(opts->tls_backend);
    if (b < 0 || (b == WASIO_TLS_BACKEND_HOST && opts->tls != NULL)) {
      wasio__http_inbufs_free(&c->bufs);
      wasio__free(c);
      return b < 0 ? b : WASIO_EINVAL;
    }
    c->host_tls = b == WASIO_TLS_BACKEND_HOST;
  } else {
    c->host_tls = wasio_tls_host_available() && (opts == NULL || opts->tls == NULL);
  }
  wasio__hq_init(&c->calls);
  wasio__hq_init(&c->conns);
  wasio__hq_init(&c->origins);
  *out = c;
  return 0;
}

wasio_http_transport_t wasio_http_client_transport(const wasio_http_client_t *client) {
  return client->host ? WASIO_HTTP_TRANSPORT_HOST : WASIO_HTTP_TRANSPORT_SOCKETS;
}

void wasio__client_maybe_free(wasio_http_client_t *client) {
  if (!client->closing || client->close_defer_queued || client->calls_live != 0 || client->conns_live != 0)
    return;
  while (!wasio__hq_empty(&client->origins)) {
    wasio__http_origin_t *o = WASIO__CONTAINER_OF(client->origins.next, wasio__http_origin_t, node);
    wasio__hq_remove(&o->node);
    wasio__free(o);
  }
  /* Every stream made from it is gone (the stream reports a TLS close
   * only after the stream has freed its engine). */
  if (client->tls_owned) (void)wasio_tls_config_free(client->tls);
  void (*cb)(wasio_http_client_t *) = client->close_cb;
  client->close_cb = NULL;
  if (cb != NULL) cb(client);
  wasio__http_inbufs_free(&client->bufs);
  wasio__free(client);
}

static void wasio__client_close_defer_cb(wasio_defer_t *req, int status) {
  (void)status;
  wasio_http_client_t *client = req->data;
  client->close_defer_queued = false;
  wasio__client_maybe_free(client);
}

void wasio_http_client_close(wasio_http_client_t *client, void (*cb)(wasio_http_client_t *client)) {
  if (client == NULL || client->closing) return;
  client->closing = true;
  client->close_cb = cb;
  client->bufs.keep = 0; /* buffers given back from now on are freed */
  for (wasio__hq_t *n = client->calls.next; n != &client->calls; n = n->next) {
    wasio_http_call_t *call = WASIO__CONTAINER_OF(n, wasio_http_call_t, client_node);
    if (wasio__call_ended(call)) continue;
    wasio__call_end_later(call, WASIO_ECANCELED);
  }
  while (!wasio__hq_empty(&client->conns))
    wasio__conn_close(WASIO__CONTAINER_OF(client->conns.next, wasio__http_conn_t, client_node));
  while (client->num_spare_timers > 0) wasio_timer_close(client->spare_timers[--client->num_spare_timers], NULL);
  client->close_defer.data = client;
  if (wasio_defer(client->loop, &client->close_defer, wasio__client_close_defer_cb) == 0)
    client->close_defer_queued = true;
  else
    wasio__client_maybe_free(client);
}
