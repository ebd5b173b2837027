/* src/backend/wasip3/dns.c: the wasip3 backend's lookups (internal.h's
 * wasio__bk_dns_*) on wasi:sockets/ip-name-lookup@0.3.0. The request is
 * src/core/dns.c's.
 *
 * resolve-addresses is an async call: its subtask waits in the loop's
 * waitable set like any other operation, so a slow lookup stalls nothing;
 * its result (the address list, allocated through cabi_realloc) is read
 * and freed when it returns. Stopping a lookup cancels the subtask. */
#include <string.h>

#include "wasip3.h"

void wasio__bk_dns_init(wasio_dns_t *dns) {
  memset(&dns->b, 0, sizeof dns->b);
  wasio__w3_init(&dns->b.w, WASIO__W3_DNS);
}

/* Frees what a returned lookup left in b.res. */
static void wasio__dns_res_free(wasio_dns_t *dns) {
  wasi_sockets_ip_name_lookup_result_list_ip_address_error_code_t *r = &dns->b.res;
  if (r->is_err) {
    (void)wasio__dns_error(&r->val.err);
  } else {
    wasio__abi_free(r->val.ok.ptr, r->val.ok.len * sizeof *r->val.ok.ptr);
  }
  memset(r, 0, sizeof *r);
}

void wasio__bk_dns_stop(wasio_dns_t *dns) {
  if (wasio__w3_subtask_end(dns->h.loop, &dns->b.w)) wasio__dns_res_free(dns);
}

int wasio__bk_dns_start(wasio_dns_t *dns, const char *name, size_t len) {
  imports_string_t s = {(uint8_t *)(uintptr_t)name, len};
  int rc = wasio__w3_call(dns->h.loop, &dns->b.w, wasi_sockets_ip_name_lookup_resolve_addresses(s, &dns->b.res));
  return rc < 0 ? rc : 0;
}

void wasio__dns_on_ready(wasio__w3_t *w) {
  wasio_dns_t *dns = WASIO__CONTAINER_OF(w, wasio_dns_t, b.w);
  if (dns->state != WASIO__DNS_RUNNING) return;
  if (!wasio__w3_subtask_end(dns->h.loop, w)) {
    wasio__dns_done(dns, WASIO_ECANCELED);
    return;
  }
  wasi_sockets_ip_name_lookup_result_list_ip_address_error_code_t *r = &dns->b.res;
  int status = 0;
  if (r->is_err) {
    status = wasio__dns_error(&r->val.err);
    memset(r, 0, sizeof *r);
  } else {
    /* Past the documented maximum, further addresses are dropped. */
    for (size_t i = 0; i < r->val.ok.len && dns->count < WASIO_DNS_MAX_ADDRS; i++)
      wasio__ip_from_wasi(&r->val.ok.ptr[i], &dns->addrs[dns->count++]);
    wasio__dns_res_free(dns);
  }
  wasio__dns_done(dns, status);
}
