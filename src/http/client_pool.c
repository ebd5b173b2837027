/* src/http/client_pool.c: origins and the pool: each origin's queue of
 * calls and list of idle connections, dispatching a queued call to an idle
 * connection or a new one (within the per-origin limit), and sending an
 * idempotent request again, once, on a fresh connection when a reused one
 * died before answering. */
#include "client_internal.h"

static wasio__http_origin_t *wasio__origin_find(wasio_http_client_t *client, const wasio_url_t *u) {
  for (wasio__hq_t *n = client->origins.next; n != &client->origins; n = n->next) {
    wasio__http_origin_t *o = WASIO__CONTAINER_OF(n, wasio__http_origin_t, node);
    if (o->https == u->https && o->port == u->port && o->host_len == u->host.len &&
        memcmp(o->host, u->host.ptr, u->host.len) == 0)
      return o;
  }
  return NULL;
}

/* The origin of `u`, created if needed. Host names are compared as written
 * (the URL parser keeps case; DNS names are case-insensitive, so "A" and "a"
 * merely get separate pools). */
static int wasio__origin_get(wasio_http_client_t *client, const wasio_url_t *u,
                             wasio__http_origin_t **out) {
  wasio__http_origin_t *o = wasio__origin_find(client, u);
  if (o == NULL) {
    if (client->num_origins >= WASIO_HTTP_MAX_ORIGINS) return WASIO_ELIMIT;
    if (u->host.len > WASIO_URL_MAX_HOST) return WASIO_EURL_HOST;
    o = wasio__calloc(1, sizeof *o);
    if (o == NULL) return WASIO_ENOMEM;
    wasio__hq_init(&o->queue);
    wasio__hq_init(&o->idle);
    o->https = u->https;
    o->port = u->port;
    o->host_len = u->host.len;
    memcpy(o->host, u->host.ptr, u->host.len);
    o->host[u->host.len] = 0;
    wasio__hq_insert_tail(&client->origins, &o->node);
    client->num_origins++;
  }
  *out = o;
  return 0;
}

void wasio__origin_maybe_free(wasio_http_client_t *client, wasio__http_origin_t *o) {
  if (o->dispatching || o->open != 0 || !wasio__hq_empty(&o->queue)) return;
  wasio__hq_remove(&o->node);
  client->num_origins--;
  wasio__free(o);
}

/* Gives queued calls of `o` a connection: an idle one first, else a new one
 * while under the per-origin limit. Runs no user callback (failures are
 * reported through the call's deferred request). May free `o`. */
void wasio__origin_dispatch(wasio__http_origin_t *o, wasio_http_client_t *client) {
  /* A connection closing inside the loop below re-enters: the running loop
   * sees the freed slot itself. */
  if (o->dispatching) return;
  o->dispatching = true;
  while (!wasio__hq_empty(&o->queue) && !client->closing) {
    wasio_http_call_t *call = WASIO__CONTAINER_OF(o->queue.next, wasio_http_call_t, queue_node);
    if (!wasio__hq_empty(&o->idle)) {
      wasio__http_conn_t *conn = WASIO__CONTAINER_OF(o->idle.next, wasio__http_conn_t, idle_node);
      wasio__hq_remove(&conn->idle_node);
      o->idle_count--;
      wasio__hq_remove(&call->queue_node);
      call->origin = NULL; /* the connection holds the origin from here */
      conn->call = call;
      call->conn = conn;
      wasio__call_send(call);
      continue;
    }
    if (o->open >= client->max_conns) break;
    wasio__hq_remove(&call->queue_node);
    call->origin = NULL;
    int rc = wasio__conn_open(client, o, call);
    if (rc != 0) wasio__call_end_later(call, rc);
  }
  o->dispatching = false;
  wasio__origin_maybe_free(client, o);
}

/* Queues the call on the origin of its current URL. */
int wasio__call_enqueue(wasio_http_call_t *call, bool front) {
  wasio__http_origin_t *o;
  int rc = wasio__origin_get(call->client, &call->u, &o);
  if (rc != 0) return rc;
  call->origin = o;
  wasio__call_set_phase(call, WASIO__CALL_QUEUED);
  if (front) wasio__hq_insert_head(&o->queue, &call->queue_node);
  else wasio__hq_insert_tail(&o->queue, &call->queue_node);
  return 0;
}

/* The connection died before a response byte: a reused connection may
 * have been closed by the server while idle (the race every keep-alive
 * client has). Sends the request again, once, on a fresh connection when
 * it can be repeated. */
static bool wasio__is_idempotent(const char *m) {
  /* RFC 9110 section 9.2.2: safe to send twice. */
  return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
         !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}

bool wasio__call_retry(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  if (!conn->reused || call->retried || call->phase != WASIO__CALL_SENT || call->up_pulled || call->client->closing ||
      !wasio__is_idempotent(call->method))
    return false;
  call->retried = true;
  call->conn = NULL;
  wasio__conn_release(conn, false);
  /* Closing the old connection freed a slot; front of the queue. */
  wasio__http_origin_t *o;
  if (wasio__origin_get(call->client, &call->u, &o) != 0) return false;
  call->origin = o;
  wasio__call_set_phase(call, WASIO__CALL_QUEUED);
  wasio__hq_insert_head(&o->queue, &call->queue_node);
  wasio__origin_dispatch(o, call->client);
  return true;
}
