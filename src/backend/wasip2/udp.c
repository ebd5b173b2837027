/* src/backend/wasip2/udp.c: the wasip2 backend's part of UDP (internal.h's
 * wasio__bk_udp_*) on wasi:sockets/udp. The queue and the callbacks are
 * src/core/udp.c's.
 *
 * Implementation notes
 * - wasi:sockets/udp splits a socket into a bound udp-socket and a pair of
 *   datagram streams made by stream(remote): stream(none) for the
 *   unconnected mode, stream(peer) for the connected one. Connecting a
 *   bound socket drops the old pair (pollables first) and asks for a new
 *   one.
 * - Receiving asks for one datagram per call, written by the host into the
 *   caller's buffer (its record into a static one) through the cabi_realloc
 *   arena: no allocation, even for the largest datagram. One at a time
 *   because a batch could not be handed back if the callback stops
 *   receiving: the rest would be lost.
 * - Sends go in batches of at most check-send's permit.
 */
#include <string.h>

#include "wasip2.h"

/* Datagrams in one outgoing-datagram-stream.send call (the core offers at
 * most as many). */
#define WASIO__UDP_SEND_MAX 16

static inline wasi_sockets_udp_borrow_udp_socket_t wasio__udp_sock(const wasio_udp_t *udp) {
  return wasi_sockets_udp_borrow_udp_socket(udp->b.sock);
}

void wasio__bk_udp_init(wasio_udp_t *udp) {
  memset(&udp->b, 0, sizeof udp->b);
  wasio__src_init(&udp->b.in_src, WASIO__SRC_UDP_IN);
  wasio__src_init(&udp->b.out_src, WASIO__SRC_UDP_OUT);
}

static void wasio__udp_drop_streams(wasio_udp_t *udp) {
  wasio_loop_t *loop = udp->h.loop;
  wasio__src_drop(loop, &udp->b.in_src);
  wasio__src_drop(loop, &udp->b.out_src);
  if (udp->b.in.__handle != 0) wasi_sockets_udp_incoming_datagram_stream_drop_own(udp->b.in);
  if (udp->b.out.__handle != 0) wasi_sockets_udp_outgoing_datagram_stream_drop_own(udp->b.out);
  udp->b.in.__handle = 0;
  udp->b.out.__handle = 0;
}

void wasio__bk_udp_release(wasio_udp_t *udp) {
  wasio__udp_drop_streams(udp);
  if (udp->b.sock.__handle != 0) wasi_sockets_udp_udp_socket_drop_own(udp->b.sock);
  udp->b.sock.__handle = 0;
}

/* (Re)creates the datagram streams, connected to `remote` or not. */
static int wasio__udp_streams(wasio_udp_t *udp, const wasio_addr_t *remote) {
  wasi_sockets_network_ip_socket_address_t wa;
  if (remote != NULL && wasio__addr_to_wasi(remote, &wa) != 0) return WASIO_EINVAL;
  wasio__udp_drop_streams(udp);
  wasi_sockets_udp_tuple2_own_incoming_datagram_stream_own_outgoing_datagram_stream_t pair;
  wasi_sockets_udp_error_code_t e;
  if (!wasi_sockets_udp_method_udp_socket_stream(wasio__udp_sock(udp), remote ? &wa : NULL, &pair, &e))
    return wasio__wasi_error(e, false);
  udp->b.in = pair.f0;
  udp->b.out = pair.f1;
  return 0;
}

int wasio__bk_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr) {
  wasi_sockets_network_ip_socket_address_t wa;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  wasi_sockets_udp_create_socket_own_udp_socket_t s;
  wasi_sockets_udp_error_code_t e;
  if (!wasi_sockets_udp_create_socket_create_udp_socket(wasio__wasi_family(addr->family), &s, &e))
    return wasio__wasi_error(e, false);
  udp->b.sock = s;
  int rc;
  if (!wasi_sockets_udp_method_udp_socket_start_bind(wasio__udp_sock(udp), wasio__network(udp->h.loop), &wa, &e)) {
    rc = wasio__wasi_error(e, false);
    goto fail;
  }
  for (int i = 0;; i++) {
    if (wasi_sockets_udp_method_udp_socket_finish_bind(wasio__udp_sock(udp), &e)) break;
    if (!wasio__finish_again(i, e)) {
      rc = wasio__wasi_error(e, false);
      goto fail;
    }
  }
  if ((rc = wasio__udp_streams(udp, NULL)) == 0) return 0;
fail:
  wasio__bk_udp_release(udp);
  return rc;
}

int wasio__bk_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer) { return wasio__udp_streams(udp, peer); }

int wasio__bk_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out) {
  wasi_sockets_network_ip_socket_address_t a;
  wasi_sockets_udp_error_code_t e;
  if (!wasi_sockets_udp_method_udp_socket_local_address(wasio__udp_sock(udp), &a, &e))
    return wasio__wasi_error(e, false);
  wasio__addr_from_wasi(&a, out);
  return 0;
}

ptrdiff_t wasio__bk_udp_send(wasio_udp_t *udp, wasio_udp_send_t *const *req, size_t n) {
  if (udp->b.out.__handle == 0) return WASIO_ENOTCONN;
  wasi_sockets_udp_borrow_outgoing_datagram_stream_t out = wasi_sockets_udp_borrow_outgoing_datagram_stream(udp->b.out);
  uint64_t permit, sent;
  wasi_sockets_udp_error_code_t e;
  if (!wasi_sockets_udp_method_outgoing_datagram_stream_check_send(out, &permit, &e))
    return wasio__wasi_error(e, false);
  if (n > permit) n = (size_t)permit;
  if (n > WASIO__UDP_SEND_MAX) n = WASIO__UDP_SEND_MAX;
  if (n == 0) return 0;
  wasi_sockets_udp_outgoing_datagram_t dg[WASIO__UDP_SEND_MAX];
  for (size_t i = 0; i < n; i++) {
    dg[i].data.ptr = (uint8_t *)(uintptr_t)req[i]->wasio__base;
    dg[i].data.len = req[i]->wasio__len;
    dg[i].remote_address.is_some = req[i]->wasio__has_to != 0;
    if (req[i]->wasio__has_to) (void)wasio__addr_to_wasi(&req[i]->wasio__to, &dg[i].remote_address.val);
  }
  wasi_sockets_udp_list_outgoing_datagram_t list = {dg, n};
  /* An error concerns the first datagram (later ones only shorten the count). */
  if (!wasi_sockets_udp_method_outgoing_datagram_stream_send(out, &list, &sent, &e)) return wasio__wasi_error(e, false);
  return (ptrdiff_t)sent;
}

ptrdiff_t wasio__bk_udp_recv(wasio_udp_t *udp, uint8_t *buf, size_t cap, wasio_addr_t *from) {
  wasi_sockets_udp_list_incoming_datagram_t list;
  wasi_sockets_udp_error_code_t e;
  /* The payload goes to buf (which holds the largest datagram), its record
   * to a buffer of its own. */
  static wasi_sockets_udp_incoming_datagram_t record[1];
  wasio__arena_set_split(buf, cap, record, sizeof record);
  bool ok = wasi_sockets_udp_method_incoming_datagram_stream_receive(
      wasi_sockets_udp_borrow_incoming_datagram_stream(udp->b.in), 1, &list, &e);
  wasio__arena_clear();
  if (!ok) return e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK ? WASIO_EAGAIN : wasio__wasi_error(e, false);
  if (list.len == 0) {
    wasio__abi_free(list.ptr, 0);
    return WASIO_EAGAIN;
  }
  wasi_sockets_udp_incoming_datagram_t *dg = &list.ptr[0];
  wasio__addr_from_wasi(&dg->remote_address, from);
  size_t len = dg->data.len;
  if (dg->data.ptr != buf) {
    /* Only a payload larger than any IPv4 datagram comes from the heap. */
    if (len > cap) len = cap;
    memcpy(buf, dg->data.ptr, len);
    wasio__abi_free(dg->data.ptr, dg->data.len);
  }
  wasio__abi_free(list.ptr, list.len * sizeof *list.ptr);
  return (ptrdiff_t)len;
}

/* Watches `src` (subscribing it first) when `on`, else unwatches it. */
static int wasio__udp_watch(wasio_udp_t *udp, wasio__src_t *src, bool on) {
  wasio_loop_t *loop = udp->h.loop;
  if (!on) {
    wasio__src_unwatch(loop, src);
    return 0;
  }
  if (!wasio__src_subscribed(src)) {
    if (src == &udp->b.in_src) {
      if (udp->b.in.__handle == 0) return 0;
      src->pollable = wasi_sockets_udp_method_incoming_datagram_stream_subscribe(
          wasi_sockets_udp_borrow_incoming_datagram_stream(udp->b.in));
    } else {
      if (udp->b.out.__handle == 0) return 0;
      src->pollable = wasi_sockets_udp_method_outgoing_datagram_stream_subscribe(
          wasi_sockets_udp_borrow_outgoing_datagram_stream(udp->b.out));
    }
  }
  return wasio__src_watch(loop, src);
}

int wasio__bk_udp_want(wasio_udp_t *udp, unsigned what) {
  int rc = wasio__udp_watch(udp, &udp->b.in_src, (what & WASIO__IO_READ) != 0);
  int r2 = wasio__udp_watch(udp, &udp->b.out_src, (what & WASIO__IO_WRITE) != 0);
  return rc != 0 ? rc : r2;
}

void wasio__udp_on_ready(wasio__src_t *src) {
  if (src->kind == WASIO__SRC_UDP_IN)
    wasio__udp_ready(WASIO__CONTAINER_OF(src, wasio_udp_t, b.in_src), WASIO__IO_READ);
  else
    wasio__udp_ready(WASIO__CONTAINER_OF(src, wasio_udp_t, b.out_src), WASIO__IO_WRITE);
}
