/* src/backend/wasip2/udp.c: wasio/udp.h on wasi:sockets/udp.
 *
 * Implementation notes
 * - wasi:sockets/udp splits a socket into a bound udp-socket and a pair of
 *   datagram streams made by stream(remote): stream(none) for the
 *   unconnected mode, stream(peer) for the connected one. Connecting a
 *   bound socket drops the old pair (pollables first) and asks for a new
 *   one.
 * - Receiving asks for one datagram per call, written by the host into the
 *   loop's read buffer (its record into a static one) through the
 *   cabi_realloc arena: no allocation, even for the largest datagram. One at a time because
 *   a batch could not be handed back if the callback stops receiving: the
 *   rest would be lost. The per-turn budget bounds the calls.
 * - Sends run in phase 3 only (pending list or the outgoing pollable), in
 *   batches of at most check-send's permit and WASIO__UDP_SEND_BATCH, so a
 *   request's callback runs right when the host took or refused its
 *   datagram.
 */
#include <string.h>

#include "wasip2.h"

enum {
  WASIO__UDPF_BOUND = 1 << 0,
  WASIO__UDPF_CONNECTED = 1 << 1,
  WASIO__UDPF_RECEIVING = 1 << 2
};

/* Datagrams handed to one outgoing-datagram-stream.send call. */
#define WASIO__UDP_SEND_BATCH 16
/* finish-bind retries before WASIO_EAGAIN (as WASIO__TCP_FINISH_TRIES). */
#define WASIO__UDP_FINISH_TRIES 64

static inline wasio_loop_t *wasio__udp_loop_of(const wasio_udp_t *udp) { return udp->h.loop; }
static inline bool wasio__udp_closing(const wasio_udp_t *udp) {
  return wasio__handle_closing(&udp->h);
}
static inline wasi_sockets_udp_borrow_udp_socket_t wasio__udp_sock(const wasio_udp_t *udp) {
  return wasi_sockets_udp_borrow_udp_socket(udp->sock);
}

void wasio_udp_set_data(wasio_udp_t *udp, void *data) { udp->h.data = data; }
void *wasio_udp_data(const wasio_udp_t *udp) { return udp->h.data; }
wasio_loop_t *wasio_udp_loop(const wasio_udp_t *udp) { return udp->h.loop; }

static void wasio__udp_update_active(wasio_udp_t *udp) {
  bool active = (udp->flags & WASIO__UDPF_RECEIVING) || udp->sq_head != NULL;
  wasio__handle_set_active(&udp->h, active && !wasio__udp_closing(udp));
}

int wasio_udp_new(wasio_loop_t *loop, wasio_udp_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_udp_t *udp = wasio__calloc(1, sizeof *udp);
  if (udp == NULL) return WASIO_ENOMEM;
  wasio__handle_init(loop, &udp->h, WASIO_KIND_UDP);
  wasio__src_init(&udp->in_src, WASIO__SRC_UDP_IN);
  wasio__src_init(&udp->out_src, WASIO__SRC_UDP_OUT);
  wasio__pending_init(&udp->pending, WASIO__PENDING_UDP);
  *out = udp;
  return 0;
}

static void wasio__udp_drop_streams(wasio_udp_t *udp) {
  wasio_loop_t *loop = wasio__udp_loop_of(udp);
  wasio__src_drop(loop, &udp->in_src);
  wasio__src_drop(loop, &udp->out_src);
  if (udp->in.__handle != 0) wasi_sockets_udp_incoming_datagram_stream_drop_own(udp->in);
  if (udp->out.__handle != 0) wasi_sockets_udp_outgoing_datagram_stream_drop_own(udp->out);
  udp->in.__handle = 0;
  udp->out.__handle = 0;
}

static void wasio__udp_release(wasio_udp_t *udp) {
  wasio__udp_drop_streams(udp);
  if (udp->sock.__handle != 0) wasi_sockets_udp_udp_socket_drop_own(udp->sock);
  udp->sock.__handle = 0;
  udp->family = 0;
}

static int wasio__udp_watch_in(wasio_udp_t *udp) {
  if (!wasio__src_subscribed(&udp->in_src))
    udp->in_src.pollable = wasi_sockets_udp_method_incoming_datagram_stream_subscribe(
        wasi_sockets_udp_borrow_incoming_datagram_stream(udp->in));
  return wasio__src_watch(wasio__udp_loop_of(udp), &udp->in_src);
}

static int wasio__udp_watch_out(wasio_udp_t *udp) {
  if (!wasio__src_subscribed(&udp->out_src))
    udp->out_src.pollable = wasi_sockets_udp_method_outgoing_datagram_stream_subscribe(
        wasi_sockets_udp_borrow_outgoing_datagram_stream(udp->out));
  return wasio__src_watch(wasio__udp_loop_of(udp), &udp->out_src);
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
  udp->in = pair.f0;
  udp->out = pair.f1;
  int rc = 0;
  if (udp->flags & WASIO__UDPF_RECEIVING) rc = wasio__udp_watch_in(udp);
  if (udp->sq_head != NULL) wasio__pending_add(wasio__udp_loop_of(udp), &udp->pending);
  return rc;
}

static int wasio__udp_bind_to(wasio_udp_t *udp, const wasio_addr_t *addr) {
  wasi_sockets_network_ip_socket_address_t wa;
  if (wasio__addr_to_wasi(addr, &wa) != 0) return WASIO_EINVAL;
  wasi_sockets_udp_create_socket_own_udp_socket_t s;
  wasi_sockets_udp_error_code_t e;
  if (!wasi_sockets_udp_create_socket_create_udp_socket(wasio__wasi_family(addr->family), &s, &e))
    return wasio__wasi_error(e, false);
  udp->sock = s;
  udp->family = addr->family;
  int rc;
  if (!wasi_sockets_udp_method_udp_socket_start_bind(wasio__udp_sock(udp),
                                                     wasio__network(wasio__udp_loop_of(udp)), &wa, &e)) {
    rc = wasio__wasi_error(e, false);
    goto fail;
  }
  for (int i = 0;; i++) {
    if (wasi_sockets_udp_method_udp_socket_finish_bind(wasio__udp_sock(udp), &e)) break;
    if (e != WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK || i + 1 == WASIO__UDP_FINISH_TRIES) {
      rc = wasio__wasi_error(e, false);
      goto fail;
    }
  }
  rc = wasio__udp_streams(udp, NULL);
  if (rc != 0) goto fail;
  udp->flags |= WASIO__UDPF_BOUND;
  return 0;
fail:
  wasio__udp_release(udp);
  return rc;
}

int wasio_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr) {
  if (udp == NULL || addr == NULL) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (udp->flags & WASIO__UDPF_BOUND) return WASIO_ESTATE;
  return wasio__udp_bind_to(udp, addr);
}

int wasio_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer) {
  if (udp == NULL || peer == NULL) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (peer->family != WASIO_AF_INET && peer->family != WASIO_AF_INET6) return WASIO_EINVAL;
  int rc;
  if (!(udp->flags & WASIO__UDPF_BOUND)) {
    wasio_addr_t any;
    wasio_addr_any((wasio_family_t)peer->family, 0, &any);
    rc = wasio__udp_bind_to(udp, &any);
    if (rc != 0) return rc;
  } else if (peer->family != udp->family) {
    return WASIO_EINVAL;
  }
  rc = wasio__udp_streams(udp, peer);
  if (rc != 0) return rc;
  udp->flags |= WASIO__UDPF_CONNECTED;
  udp->peer = *peer;
  return 0;
}

int wasio_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out) {
  if (udp == NULL || out == NULL) return WASIO_EINVAL;
  if (udp->sock.__handle == 0) return WASIO_ESTATE;
  wasi_sockets_network_ip_socket_address_t a;
  wasi_sockets_udp_error_code_t e;
  if (!wasi_sockets_udp_method_udp_socket_local_address(wasio__udp_sock(udp), &a, &e))
    return wasio__wasi_error(e, false);
  wasio__addr_from_wasi(&a, out);
  return 0;
}

/* ---- sending ----------------------------------------------------------------------- */

int wasio_udp_send(wasio_udp_t *udp, wasio_udp_send_t *req, const void *base, size_t len,
                   const wasio_addr_t *to, wasio_udp_send_cb cb) {
  if (udp == NULL || req == NULL || cb == NULL || (base == NULL && len > 0)) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (len > WASIO_UDP_MAX_DATAGRAM) return WASIO_EMSGSIZE;
  if (udp->flags & WASIO__UDPF_CONNECTED) {
    /* The stream is bound to its peer: only that destination is valid. */
    if (to != NULL && !wasio_addr_equal(to, &udp->peer)) return WASIO_EISCONN;
  } else {
    if (to == NULL) return WASIO_EINVAL;
    if (to->family != WASIO_AF_INET && to->family != WASIO_AF_INET6) return WASIO_EINVAL;
    if ((udp->flags & WASIO__UDPF_BOUND) && to->family != udp->family) return WASIO_EINVAL;
  }
  if (udp->sq_len >= WASIO_UDP_SEND_QUEUE_MAX) return WASIO_EAGAIN;
  if (req->wasio__udp == udp)
    for (wasio_udp_send_t *s = udp->sq_head; s != NULL; s = s->wasio__next)
      if (s == req) return WASIO_EBUSY;
  if (!(udp->flags & WASIO__UDPF_BOUND)) {
    wasio_addr_t any;
    wasio_addr_any((wasio_family_t)to->family, 0, &any);
    int rc = wasio__udp_bind_to(udp, &any);
    if (rc != 0) return rc;
  }
  req->wasio__next = NULL;
  req->wasio__udp = udp;
  req->wasio__base = base;
  req->wasio__len = len;
  req->wasio__has_to = !(udp->flags & WASIO__UDPF_CONNECTED);
  if (req->wasio__has_to) req->wasio__to = *to;
  req->wasio__cb = cb;
  if (udp->sq_tail != NULL)
    udp->sq_tail->wasio__next = req;
  else
    udp->sq_head = req;
  udp->sq_tail = req;
  udp->sq_len++;
  if (!wasio__src_watched(&udp->out_src)) wasio__pending_add(wasio__udp_loop_of(udp), &udp->pending);
  wasio__udp_update_active(udp);
  return 0;
}

/* Unlinks the head request and reports `status` for it. */
static void wasio__udp_complete_head(wasio_udp_t *udp, int status) {
  wasio_udp_send_t *s = udp->sq_head;
  udp->sq_head = s->wasio__next;
  if (udp->sq_head == NULL) udp->sq_tail = NULL;
  udp->sq_len--;
  s->wasio__next = NULL;
  s->wasio__udp = NULL;
  wasio__udp_update_active(udp);
  s->wasio__cb(s, status);
}

static void wasio__udp_flush_sends(wasio_udp_t *udp) {
  wasio_loop_t *loop = wasio__udp_loop_of(udp);
  while (udp->sq_head != NULL && !wasio__udp_closing(udp) && udp->out.__handle != 0) {
    wasi_sockets_udp_borrow_outgoing_datagram_stream_t out =
        wasi_sockets_udp_borrow_outgoing_datagram_stream(udp->out);
    uint64_t permit, sent;
    wasi_sockets_udp_error_code_t e;
    if (!wasi_sockets_udp_method_outgoing_datagram_stream_check_send(out, &permit, &e)) {
      wasio__udp_complete_head(udp, wasio__wasi_error(e, false));
      continue;
    }
    if (permit == 0) {
      if (wasio__udp_watch_out(udp) != 0) wasio__pending_add(loop, &udp->pending);
      return;
    }
    wasi_sockets_udp_outgoing_datagram_t dg[WASIO__UDP_SEND_BATCH];
    size_t n = 0;
    for (wasio_udp_send_t *s = udp->sq_head; s != NULL && n < permit && n < WASIO__UDP_SEND_BATCH;
         s = s->wasio__next, n++) {
      dg[n].data.ptr = (uint8_t *)(uintptr_t)s->wasio__base;
      dg[n].data.len = s->wasio__len;
      dg[n].remote_address.is_some = s->wasio__has_to != 0;
      if (s->wasio__has_to) (void)wasio__addr_to_wasi(&s->wasio__to, &dg[n].remote_address.val);
    }
    wasi_sockets_udp_list_outgoing_datagram_t list = { dg, n };
    if (!wasi_sockets_udp_method_outgoing_datagram_stream_send(out, &list, &sent, &e)) {
      /* The first datagram failed (later ones only shorten the count). */
      wasio__udp_complete_head(udp, wasio__wasi_error(e, false));
      continue;
    }
    if (sent == 0) {
      if (wasio__udp_watch_out(udp) != 0) wasio__pending_add(loop, &udp->pending);
      return;
    }
    for (uint64_t i = 0; i < sent && udp->sq_head != NULL && !wasio__udp_closing(udp); i++)
      wasio__udp_complete_head(udp, 0);
  }
  if (udp->sq_head == NULL) wasio__src_unwatch(loop, &udp->out_src);
}

/* ---- receiving --------------------------------------------------------------------- */

int wasio_udp_recv_start(wasio_udp_t *udp, wasio_udp_recv_cb cb) {
  if (udp == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (!(udp->flags & WASIO__UDPF_BOUND)) return WASIO_ESTATE;
  if (udp->flags & WASIO__UDPF_RECEIVING) return WASIO_EBUSY;
  int rc = wasio__udp_watch_in(udp);
  if (rc != 0) return rc;
  udp->recv_cb = cb;
  udp->flags |= WASIO__UDPF_RECEIVING;
  wasio__udp_update_active(udp);
  return 0;
}

int wasio_udp_recv_stop(wasio_udp_t *udp) {
  if (udp == NULL) return WASIO_EINVAL;
  udp->flags &= (uint8_t)~WASIO__UDPF_RECEIVING;
  wasio__src_unwatch(wasio__udp_loop_of(udp), &udp->in_src);
  wasio__udp_update_active(udp);
  return 0;
}

static void wasio__udp_on_readable(wasio_udp_t *udp) {
  wasio_loop_t *loop = wasio__udp_loop_of(udp);
  while ((udp->flags & WASIO__UDPF_RECEIVING) && !wasio__udp_closing(udp) &&
         wasio__budget_take(loop, &udp->budget)) {
    wasi_sockets_udp_list_incoming_datagram_t list;
    wasi_sockets_udp_error_code_t e;
    /* The payload goes to the read buffer (which holds the largest
     * datagram), its record to a buffer of its own. */
    static wasi_sockets_udp_incoming_datagram_t record[1];
    wasio__arena_set_split(wasio__read_buf(loop), WASIO_READ_BUF_SIZE, record, sizeof record);
    bool ok = wasi_sockets_udp_method_incoming_datagram_stream_receive(
        wasi_sockets_udp_borrow_incoming_datagram_stream(udp->in), 1, &list, &e);
    wasio__arena_clear();
    if (!ok) {
      if (e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK) return;
      wasio_udp_recv_cb cb = udp->recv_cb;
      wasio_udp_recv_stop(udp);
      cb(udp, wasio__wasi_error(e, false), NULL, NULL);
      return;
    }
    if (list.len == 0) {
      wasio__abi_free(list.ptr, 0);
      return;
    }
    wasi_sockets_udp_incoming_datagram_t *dg = &list.ptr[0];
    wasio_addr_t from;
    wasio__addr_from_wasi(&dg->remote_address, &from);
    uint8_t *data = dg->data.ptr;
    size_t len = dg->data.len;
    udp->recv_cb(udp, (ptrdiff_t)len, data, &from);
    /* Only a payload larger than any IPv4 datagram comes from the heap. */
    wasio__abi_free(data, len);
    wasio__abi_free(list.ptr, list.len * sizeof *list.ptr);
  }
}

/* ---- dispatch and close ------------------------------------------------------------ */

void wasio__udp_on_ready(wasio__src_t *src) {
  if (src->kind == WASIO__SRC_UDP_IN)
    wasio__udp_on_readable(WASIO__CONTAINER_OF(src, wasio_udp_t, in_src));
  else
    wasio__udp_flush_sends(WASIO__CONTAINER_OF(src, wasio_udp_t, out_src));
}

void wasio__udp_on_pending(wasio_udp_t *udp) { wasio__udp_flush_sends(udp); }

void wasio_udp_close(wasio_udp_t *udp, wasio_udp_close_cb cb) {
  if (udp == NULL || wasio__udp_closing(udp)) return;
  wasio__handle_close(&udp->h, (void (*)(void *))cb);
  wasio_udp_send_t *s = udp->sq_head;
  udp->sq_head = udp->sq_tail = NULL;
  udp->sq_len = 0;
  udp->flags &= (uint8_t)~WASIO__UDPF_RECEIVING;
  wasio__pending_remove(&udp->pending);
  wasio__udp_release(udp);
  wasio__handle_set_active(&udp->h, false);
  while (s != NULL) {
    wasio_udp_send_t *next = s->wasio__next;
    s->wasio__next = NULL;
    s->wasio__udp = NULL;
    s->wasio__cb(s, WASIO_ECANCELED);
    s = next;
  }
}

void wasio__udp_free(wasio_udp_t *udp) { (void)udp; }
