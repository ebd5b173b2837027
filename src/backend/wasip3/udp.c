/* src/backend/wasip3/udp.c: the wasip3 backend's part of UDP (internal.h's
 * wasio__bk_udp_*) on wasi:sockets/types@0.3.0's udp-socket. The policy
 * (queues, callbacks, budget) is src/core/udp.c's.
 *
 * receive and send are async calls. While the core wants to read, one
 * receive is in flight; its datagram (allocated through cabi_realloc when
 * it returns) waits in the handle until wasio__bk_udp_recv copies it out.
 * One send is in flight at most: the host has lifted its datagram by the
 * time the call has started, so the request counts as taken then; a
 * failure the host reports after that is not the request's any more (a
 * datagram may be lost anyway). */
#include <string.h>

#include "wasip3.h"

static inline wasi_sockets_types_borrow_udp_socket_t wasio__udp_sock(const wasio_udp_t *udp) {
  return wasi_sockets_types_borrow_udp_socket((wasi_sockets_types_own_udp_socket_t){udp->b.sock});
}

void wasio__bk_udp_init(wasio_udp_t *udp) {
  memset(&udp->b, 0, sizeof udp->b);
  wasio__w3_init(&udp->b.in, WASIO__W3_UDP_IN);
  wasio__w3_init(&udp->b.out, WASIO__W3_UDP_OUT);
}

/* Frees what a returned receive left in b.rres. */
static void wasio__udp_rres_free(wasio_udp_t *udp) {
  wasi_sockets_types_result_tuple2_list_u8_ip_socket_address_error_code_t *r = &udp->b.rres;
  if (r->is_err) (void)wasio__wasi_error(&r->val.err);
  else wasio__abi_free(r->val.ok.f0.ptr, r->val.ok.f0.len);
  memset(r, 0, sizeof *r);
}

void wasio__bk_udp_release(wasio_udp_t *udp) {
  wasio_loop_t *loop = udp->h.loop;
  if (wasio__w3_subtask_end(loop, &udp->b.in)) wasio__udp_rres_free(udp);
  (void)wasio__w3_subtask_end(loop, &udp->b.out);
  if (udp->b.sock != 0) wasi_sockets_types_udp_socket_drop_own((wasi_sockets_types_own_udp_socket_t){udp->b.sock});
  udp->b.sock = 0;
}

int wasio__bk_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr) {
  wasi_sockets_types_ip_socket_address_t wa;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  wasi_sockets_types_own_udp_socket_t s;
  wasi_sockets_types_error_code_t e;
  if (!wasi_sockets_types_static_udp_socket_create(wasio__wasi_family(addr->family), &s, &e))
    return wasio__wasi_error(&e);
  udp->b.sock = s.__handle;
  if (!wasi_sockets_types_method_udp_socket_bind(wasio__udp_sock(udp), &wa, &e)) {
    int rc = wasio__wasi_error(&e);
    wasio__bk_udp_release(udp);
    return rc;
  }
  return 0;
}

int wasio__bk_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer) {
  wasi_sockets_types_ip_socket_address_t wa;
  wasi_sockets_types_error_code_t e;
  if (wasio__addr_to_wasi(peer, &wa) != 0) return WASIO_EINVAL;
  if (!wasi_sockets_types_method_udp_socket_connect(wasio__udp_sock(udp), &wa, &e)) return wasio__wasi_error(&e);
  return 0;
}

int wasio__bk_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out) {
  wasi_sockets_types_ip_socket_address_t a;
  wasi_sockets_types_error_code_t e;
  if (!wasi_sockets_types_method_udp_socket_get_local_address(wasio__udp_sock(udp), &a, &e))
    return wasio__wasi_error(&e);
  wasio__addr_from_wasi(&a, out);
  return 0;
}

/* Starts a receive unless one is in flight or waiting to be read. */
static int wasio__udp_receive(wasio_udp_t *udp) {
  wasio__w3_t *w = &udp->b.in;
  if (w->busy || w->done || udp->b.sock == 0) return 0;
  int rc = wasio__w3_call(udp->h.loop, w, wasi_sockets_types_method_udp_socket_receive(wasio__udp_sock(udp), &udp->b.rres));
  return rc < 0 ? rc : 0;
}

ptrdiff_t wasio__bk_udp_send(wasio_udp_t *udp, wasio_udp_send_t *const *req, size_t n) {
  wasio__backend_udp_t *b = &udp->b;
  if (b->sock == 0) return WASIO_ENOTCONN;
  if (n == 0 || b->out.busy) return 0;
  if (b->out.done) (void)wasio__w3_subtask_end(udp->h.loop, &b->out);
  b->sargs.self = wasio__udp_sock(udp);
  b->sargs.data.ptr = (uint8_t *)(uintptr_t)req[0]->wasio__base;
  b->sargs.data.len = req[0]->wasio__len;
  b->sargs.remote_address.is_some = req[0]->wasio__has_to != 0;
  if (req[0]->wasio__has_to && wasio__addr_to_wasi(&req[0]->wasio__to, &b->sargs.remote_address.val) != 0)
    return WASIO_EINVAL;
  uint32_t status = wasi_sockets_types_method_udp_socket_send(&b->sargs, &b->sres);
  if (IMPORTS_SUBTASK_STATE(status) == IMPORTS_SUBTASK_STARTING) {
    /* The host has not lifted the datagram: the request cannot count as
     * taken while its buffer is the caller's. Take the call back. */
    (void)imports_subtask_cancel(IMPORTS_SUBTASK_HANDLE(status));
    imports_subtask_drop(IMPORTS_SUBTASK_HANDLE(status));
    return 0;
  }
  int rc = wasio__w3_call(udp->h.loop, &b->out, status);
  if (rc < 0) return rc;
  if (rc == 0) {
    (void)wasio__w3_subtask_end(udp->h.loop, &b->out);
    if (b->sres.is_err) return wasio__wasi_error(&b->sres.val.err);
  }
  return 1;
}

ptrdiff_t wasio__bk_udp_recv(wasio_udp_t *udp, uint8_t *buf, size_t cap, wasio_addr_t *from) {
  wasio__w3_t *w = &udp->b.in;
  if (!w->done) {
    int rc = wasio__udp_receive(udp);
    if (rc < 0) return rc;
    if (!w->done) return WASIO_EAGAIN;
  }
  if (!wasio__w3_subtask_end(udp->h.loop, w)) return WASIO_EAGAIN;
  wasi_sockets_types_result_tuple2_list_u8_ip_socket_address_error_code_t *r = &udp->b.rres;
  if (r->is_err) {
    int rc = wasio__wasi_error(&r->val.err);
    memset(r, 0, sizeof *r);
    return rc;
  }
  size_t len = r->val.ok.f0.len;
  if (len > cap) len = cap;
  memcpy(buf, r->val.ok.f0.ptr, len);
  wasio__addr_from_wasi(&r->val.ok.f1, from);
  wasio__udp_rres_free(udp);
  return (ptrdiff_t)len;
}

int wasio__bk_udp_want(wasio_udp_t *udp, unsigned what) {
  udp->b.want = (uint8_t)what;
  if (what & WASIO__IO_READ) {
    /* A datagram that came while nobody read waits in the handle: report
     * it again (through the ready list) now that someone does. */
    if (udp->b.in.done) wasio__w3_done_now(udp->h.loop, &udp->b.in, udp->b.in.code);
    int rc = wasio__udp_receive(udp);
    if (rc < 0) return rc;
  }
  if ((what & WASIO__IO_WRITE) && !udp->b.out.busy) wasio__w3_done_now(udp->h.loop, &udp->b.out, IMPORTS_SUBTASK_RETURNED);
  return 0;
}

void wasio__udp_on_ready(wasio__w3_t *w) {
  if (w->kind == WASIO__W3_UDP_IN) {
    wasio_udp_t *udp = WASIO__CONTAINER_OF(w, wasio_udp_t, b.in);
    /* The datagram waits in the handle until recv takes it. */
    wasio__w3_consume(w);
    w->done = true;
    if (udp->b.want & WASIO__IO_READ) wasio__udp_ready(udp, WASIO__IO_READ);
  } else {
    wasio_udp_t *udp = WASIO__CONTAINER_OF(w, wasio_udp_t, b.out);
    (void)wasio__w3_subtask_end(udp->h.loop, w);
    if (udp->b.want & WASIO__IO_WRITE) wasio__udp_ready(udp, WASIO__IO_WRITE);
  }
}
