/* src/backend/wasip2/dns.c: wasio/dns.h on wasi:sockets/ip-name-lookup.
 *
 * Implementation notes
 * - resolve-addresses returns at once with a resolve-address-stream; the
 *   loop watches its pollable and, when it is ready, calls
 *   resolve-next-address until it answers none (done), would-block (wait
 *   again) or an error. Nothing blocks: other handles run meanwhile.
 * - A request is a handle (kind WASIO_KIND_DNS) so wasio_loop_walk and the
 *   leak check see it. After its callback it is closed with no close
 *   callback; phase 4 frees it.
 * - Answers that need no waiting (a numeric name, a lookup that failed at
 *   the start, a cancel) go through the pending list: the callback never
 *   runs inside wasio_dns_resolve or wasio_dns_cancel.
 */
#include <string.h>

#include "wasip2.h"

enum {
  WASIO__DNS_RUNNING = 1, /* the lookup stream is being driven */
  WASIO__DNS_QUEUED,      /* the result is known and queued as pending */
  WASIO__DNS_FINISHED     /* the callback ran */
};

void *wasio_dns_data(const wasio_dns_t *req) { return req->h.data; }
wasio_loop_t *wasio_dns_loop(const wasio_dns_t *req) { return req->h.loop; }

static void wasio__dns_release(wasio_dns_t *dns) {
  wasio_loop_t *loop = dns->h.loop;
  wasio__src_drop(loop, &dns->src);
  if (dns->stream.__handle != 0) {
    wasi_sockets_ip_name_lookup_resolve_address_stream_drop_own(dns->stream);
    dns->stream.__handle = 0;
  }
  wasio__timer_node_disarm(loop, &dns->timer);
}

/* Runs the callback (phase 1 or 3) and retires the request. */
static void wasio__dns_complete(wasio_dns_t *dns, int status) {
  wasio__dns_release(dns);
  wasio__pending_remove(&dns->pending);
  dns->state = WASIO__DNS_FINISHED;
  dns->status = status;
  wasio__handle_set_active(&dns->h, false);
  if (status == 0)
    dns->cb(dns, 0, dns->addrs, dns->count);
  else
    dns->cb(dns, status, NULL, 0);
  wasio__handle_close(&dns->h, NULL);
}

/* Queues a known result for the next drain. */
static void wasio__dns_queue(wasio_dns_t *dns, int status) {
  wasio__dns_release(dns);
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
  wasio_dns_t *dns = wasio__calloc(1, sizeof *dns);
  if (dns == NULL) return WASIO_ENOMEM;
  wasio__handle_init(loop, &dns->h, WASIO_KIND_DNS);
  dns->h.data = data;
  dns->cb = cb;
  wasio__src_init(&dns->src, WASIO__SRC_DNS);
  wasio__pending_init(&dns->pending, WASIO__PENDING_DNS);
  wasio__timer_node_init(&dns->timer, WASIO__TIMER_DNS);
  wasio__handle_set_active(&dns->h, true);
  if (out != NULL) *out = dns;

  if (wasio_addr_parse(name, 0, &dns->addrs[0]) == 0) {
    dns->count = 1;
    wasio__dns_queue(dns, 0);
    return 0;
  }
  imports_string_t s = { (uint8_t *)(uintptr_t)name, len };
  wasi_sockets_ip_name_lookup_own_resolve_address_stream_t stream;
  wasi_sockets_ip_name_lookup_error_code_t e;
  if (!wasi_sockets_ip_name_lookup_resolve_addresses(wasio__network(loop), &s, &stream, &e)) {
    /* e.g. invalid-argument for a malformed name: an answer like any other. */
    wasio__dns_queue(dns, wasio__wasi_error(e, false));
    return 0;
  }
  dns->stream = stream;
  dns->src.pollable = wasi_sockets_ip_name_lookup_method_resolve_address_stream_subscribe(
      wasi_sockets_ip_name_lookup_borrow_resolve_address_stream(stream));
  int rc = wasio__src_watch(loop, &dns->src);
  if (rc == 0 && timeout_ns != WASIO_NO_TIMEOUT) {
    uint64_t now = wasio_loop_now(loop);
    uint64_t due = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    rc = wasio__timer_node_arm(loop, &dns->timer, due);
  }
  if (rc != 0) {
    /* No memory to wait for it: refuse now (the callback will not run). */
    wasio__dns_release(dns);
    dns->state = WASIO__DNS_FINISHED;
    wasio__handle_set_active(&dns->h, false);
    wasio__handle_close(&dns->h, NULL);
    if (out != NULL) *out = NULL;
    return rc;
  }
  dns->state = WASIO__DNS_RUNNING;
  return 0;
}

int wasio_dns_cancel(wasio_dns_t *req) {
  if (req == NULL || req->state == WASIO__DNS_FINISHED) return WASIO_EINVAL;
  /* A result still queued has not reached the caller: cancel wins. */
  wasio__dns_queue(req, WASIO_ECANCELED);
  return 0;
}

void wasio__dns_on_ready(wasio__src_t *src) {
  wasio_dns_t *dns = WASIO__CONTAINER_OF(src, wasio_dns_t, src);
  if (dns->state != WASIO__DNS_RUNNING) return;
  wasi_sockets_ip_name_lookup_borrow_resolve_address_stream_t stream =
      wasi_sockets_ip_name_lookup_borrow_resolve_address_stream(dns->stream);
  for (;;) {
    wasi_sockets_ip_name_lookup_option_ip_address_t next;
    wasi_sockets_ip_name_lookup_error_code_t e;
    if (!wasi_sockets_ip_name_lookup_method_resolve_address_stream_resolve_next_address(stream, &next,
                                                                                        &e)) {
      if (e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return;
      wasio__dns_complete(dns, wasio__wasi_error(e, false));
      return;
    }
    if (!next.is_some) {
      wasio__dns_complete(dns, dns->count > 0 ? 0 : WASIO_ENAMENOTFOUND);
      return;
    }
    /* Past the documented maximum, further addresses are dropped. */
    if (dns->count < WASIO_DNS_MAX_ADDRS) wasio__ip_from_wasi(&next.val, &dns->addrs[dns->count++]);
  }
}

void wasio__dns_on_pending(wasio_dns_t *dns) {
  if (dns->state == WASIO__DNS_QUEUED) wasio__dns_complete(dns, dns->status);
}

void wasio__dns_on_timer(wasio__timer_node_t *node) {
  wasio_dns_t *dns = WASIO__CONTAINER_OF(node, wasio_dns_t, timer);
  if (dns->state == WASIO__DNS_RUNNING) wasio__dns_complete(dns, WASIO_ETIMEDOUT);
}

void wasio__dns_free(wasio_dns_t *dns) { (void)dns; }
