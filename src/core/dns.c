/* src/core/dns.c: wasio/dns.h, once for every backend.
 *
 * Implementation notes
 * - A request is a handle (kind WASIO_KIND_DNS) so wasio_loop_walk and the
 *   leak check see it. After its callback it is closed with no close
 *   callback; phase 4 frees it (wasio__dns_free lets the backend go).
 * - The backend looks names up (a worker thread natively, the
 *   ip-name-lookup stream on WASI: internal.h's wasio__bk_dns_*) and says
 *   when it is done; numeric names, the deadline and cancellation are
 *   handled here.
 * - Answers that need no waiting (a numeric name, a lookup that failed at
 *   the start, a cancel, a timeout) go through the pending list: the
 *   callback never runs inside wasio_dns_resolve or wasio_dns_cancel.
 */
#include <string.h>

#include "internal.h"

void *wasio_dns_data(const wasio_dns_t *req) { return req->h.data; }
wasio_loop_t *wasio_dns_loop(const wasio_dns_t *req) { return req->h.loop; }

/* Runs the callback and retires the request. */
static void wasio__dns_complete(wasio_dns_t *dns, int status) {
  wasio__timer_node_disarm(dns->h.loop, &dns->timer);
  wasio__pending_remove(&dns->pending);
  dns->state = WASIO__DNS_FINISHED;
  dns->status = status;
  wasio__handle_set_active(&dns->h, false);
  /* Closed before the call: a wasio_dns_cancel from inside the callback is
   * then an EINVAL rather than a second callback. */
  wasio__handle_close(&dns->h, NULL);
  if (status == 0)
    dns->cb(dns, 0, dns->addrs, dns->count);
  else
    dns->cb(dns, status, NULL, 0);
}

/* Queues a known result for the next drain; the lookup, if any, stops. */
static void wasio__dns_queue(wasio_dns_t *dns, int status) {
  if (dns->state == WASIO__DNS_RUNNING) wasio__bk_dns_stop(dns);
  wasio__timer_node_disarm(dns->h.loop, &dns->timer);
  dns->state = WASIO__DNS_QUEUED;
  dns->status = status;
  wasio__pending_add(dns->h.loop, &dns->pending);
}

int wasio_dns_resolve(wasio_loop_t *loop, const char *name, uint64_t timeout_ns, wasio_dns_cb cb,
                      void *data, wasio_dns_t **out) {
  if (loop == NULL || name == NULL || cb == NULL) return WASIO_EINVAL;
  size_t len = strlen(name);
  if (len == 0) return WASIO_EINVAL;
  if (len > WASIO_DNS_MAX_NAME) return WASIO_ENAMETOOLONG;
  wasio_dns_t *dns = wasio__malloc(sizeof *dns);
  if (dns == NULL) return WASIO_ENOMEM;
  memset(dns, 0, sizeof *dns);
  wasio__pending_init(&dns->pending, WASIO__PENDING_DNS);
  wasio__timer_node_init(&dns->timer, WASIO__TIMER_DNS);
  wasio__bk_dns_init(dns);
  dns->cb = cb;
  if (timeout_ns != WASIO_NO_TIMEOUT) {
    uint64_t now = wasio_loop_now(loop);
    uint64_t due = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    if (wasio__timer_node_arm(loop, &dns->timer, due) != 0) {
      wasio__free(dns);
      return WASIO_ENOMEM;
    }
  }
  wasio__handle_init(loop, &dns->h, WASIO_KIND_DNS);
  dns->h.data = data;
  wasio__handle_set_active(&dns->h, true);
  if (wasio_addr_parse(name, 0, &dns->addrs[0]) == 0) {
    dns->count = 1;
    wasio__dns_queue(dns, 0);
  } else {
    dns->state = WASIO__DNS_RUNNING;
    int rc = wasio__bk_dns_start(dns, name, len);
    if (rc == WASIO_ENOMEM) {
      /* No memory to look it up: refuse now (the callback will not run). */
      wasio__timer_node_disarm(loop, &dns->timer);
      dns->state = WASIO__DNS_FINISHED;
      wasio__handle_set_active(&dns->h, false);
      wasio__handle_close(&dns->h, NULL);
      if (out != NULL) *out = NULL;
      return rc;
    }
    /* Anything else known at once (a malformed name, say) is an answer
     * like any other. */
    if (rc != 0) {
      dns->state = WASIO__DNS_QUEUED;
      wasio__dns_queue(dns, rc);
    }
  }
  if (out != NULL) *out = dns;
  return 0;
}

int wasio_dns_cancel(wasio_dns_t *req) {
  if (req == NULL || req->state == WASIO__DNS_FINISHED ||
      (req->state == WASIO__DNS_QUEUED && req->status == WASIO_ECANCELED))
    return WASIO_EINVAL;
  /* A result still queued has not reached the caller: cancel wins. */
  wasio__dns_queue(req, WASIO_ECANCELED);
  return 0;
}

void wasio__dns_done(wasio_dns_t *dns, int status) {
  if (dns->state != WASIO__DNS_RUNNING) return;
  if (status == 0 && dns->count == 0) status = WASIO_ENAMENOTFOUND;
  wasio__dns_complete(dns, status);
}

void wasio__dns_on_pending(wasio_dns_t *dns) {
  if (dns->state == WASIO__DNS_QUEUED) wasio__dns_complete(dns, dns->status);
}

void wasio__dns_on_timer(wasio__timer_node_t *node) {
  wasio_dns_t *dns = WASIO__CONTAINER_OF(node, wasio_dns_t, timer);
  if (dns->state != WASIO__DNS_RUNNING) return;
  wasio__bk_dns_stop(dns);
  dns->state = WASIO__DNS_QUEUED; /* so the complete below is the only one */
  wasio__dns_complete(dns, WASIO_ETIMEDOUT);
}

void wasio__dns_free(wasio_dns_t *dns) {
  if (dns->state == WASIO__DNS_RUNNING) wasio__bk_dns_stop(dns);
  wasio__pending_remove(&dns->pending);
}
