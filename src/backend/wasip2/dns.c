/* src/backend/wasip2/dns.c: the wasip2 backend's lookups (internal.h's
 * wasio__bk_dns_*) on wasi:sockets/ip-name-lookup. The request is
 * src/core/dns.c's.
 *
 * resolve-addresses returns at once with a resolve-address-stream; the loop
 * watches its pollable and, when it is ready, calls resolve-next-address
 * until it answers none (done), would-block (wait again) or an error.
 * Nothing blocks: other handles run meanwhile.
 */
#include <string.h>

#include "wasip2.h"

void wasio__bk_dns_init(wasio_dns_t *dns) {
  dns->b.stream.__handle = 0;
  wasio__src_init(&dns->b.src, WASIO__SRC_DNS);
}

void wasio__bk_dns_stop(wasio_dns_t *dns) {
  wasio__src_drop(dns->h.loop, &dns->b.src);
  if (dns->b.stream.__handle != 0) {
    wasi_sockets_ip_name_lookup_resolve_address_stream_drop_own(dns->b.stream);
    dns->b.stream.__handle = 0;
  }
}

int wasio__bk_dns_start(wasio_dns_t *dns, const char *name, size_t len) {
  wasio_loop_t *loop = dns->h.loop;
  imports_string_t s = {(uint8_t *)(uintptr_t)name, len};
  wasi_sockets_ip_name_lookup_own_resolve_address_stream_t stream;
  wasi_sockets_ip_name_lookup_error_code_t e;
  /* e.g. invalid-argument for a malformed name: an answer like any other. */
  if (!wasi_sockets_ip_name_lookup_resolve_addresses(wasio__network(loop), &s, &stream, &e))
    return wasio__wasi_error(e, false);
  dns->b.stream = stream;
  dns->b.src.pollable = wasi_sockets_ip_name_lookup_method_resolve_address_stream_subscribe(
      wasi_sockets_ip_name_lookup_borrow_resolve_address_stream(stream));
  int rc = wasio__src_watch(loop, &dns->b.src);
  if (rc != 0) wasio__bk_dns_stop(dns);
  return rc;
}

void wasio__dns_on_ready(wasio__src_t *src) {
  wasio_dns_t *dns = WASIO__CONTAINER_OF(src, wasio_dns_t, b.src);
  if (dns->state != WASIO__DNS_RUNNING) return;
  wasi_sockets_ip_name_lookup_borrow_resolve_address_stream_t stream =
      wasi_sockets_ip_name_lookup_borrow_resolve_address_stream(dns->b.stream);
  for (;;) {
    wasi_sockets_ip_name_lookup_option_ip_address_t next;
    wasi_sockets_ip_name_lookup_error_code_t e;
    int status;
    if (!wasi_sockets_ip_name_lookup_method_resolve_address_stream_resolve_next_address(stream, &next, &e)) {
      if (e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return;
      status = wasio__wasi_error(e, false);
    } else if (next.is_some) {
      /* Past the documented maximum, further addresses are dropped. */
      if (dns->count < WASIO_DNS_MAX_ADDRS) wasio__ip_from_wasi(&next.val, &dns->addrs[dns->count++]);
      continue;
    } else {
      status = 0;
    }
    wasio__bk_dns_stop(dns);
    wasio__dns_done(dns, status);
    return;
  }
}
