/* src/core/udp.c: wasio/udp.h, once for every backend.
 *
 * Implementation notes
 * - The backend creates, binds, connects, sends and receives
 *   (internal.h's wasio__bk_udp_*); the queue, its order, the callbacks,
 *   the budget and the cancellations are decided here.
 * - Sends happen in phase 3 only (the pending list, or the stream becoming
 *   writable), so every send of a turn goes to the backend in one batch and
 *   no callback runs from inside wasio_udp_send. A datagram the backend
 *   refuses fails alone; the socket stays usable (an ICMP "port
 *   unreachable" surfacing on a connected socket, say).
 * - One receive callback is one datagram, read into the loop's buffer,
 *   which holds the largest; at most WASIO_IO_CALLBACKS_PER_TURN callbacks
 *   (receives and send completions) per socket per turn.
 */
#include <string.h>

#include "internal.h"

enum {
  WASIO__UDPF_BOUND = 1 << 0,
  WASIO__UDPF_CONNECTED = 1 << 1,
  WASIO__UDPF_RECEIVING = 1 << 2,
  WASIO__UDPF_WRITE_BLOCKED = 1 << 3 /* the backend took nothing: wait for writable */
};

/* Datagrams offered to the backend in one send call. */
#define WASIO__UDP_SEND_BATCH 16

static inline bool wasio__udp_closing(const wasio_udp_t *udp) { return wasio__handle_closing(&udp->h); }

int wasio_udp_new(wasio_loop_t *loop, wasio_udp_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_udp_t *udp = wasio__malloc(sizeof *udp);
  if (udp == NULL) return WASIO_ENOMEM;
  memset(udp, 0, sizeof *udp);
  wasio__handle_init(loop, &udp->h, WASIO_KIND_UDP);
  wasio__pending_init(&udp->pending, WASIO__PENDING_UDP);
  wasio__bk_udp_init(udp);
  *out = udp;
  return 0;
}

void wasio_udp_set_data(wasio_udp_t *udp, void *data) { udp->h.data = data; }
void *wasio_udp_data(const wasio_udp_t *udp) { return udp->h.data; }
wasio_loop_t *wasio_udp_loop(const wasio_udp_t *udp) { return udp->h.loop; }

static void wasio__udp_update(wasio_udp_t *udp) {
  if (wasio__udp_closing(udp)) return;
  unsigned want = 0;
  if (udp->flags & WASIO__UDPF_RECEIVING) want |= WASIO__IO_READ;
  if (udp->sq_head != NULL && (udp->flags & WASIO__UDPF_WRITE_BLOCKED)) want |= WASIO__IO_WRITE;
  if (wasio__bk_udp_want(udp, want) != 0) wasio__pending_add(udp->h.loop, &udp->pending);
  wasio__handle_set_active(&udp->h, (udp->flags & WASIO__UDPF_RECEIVING) || udp->sq_len > 0);
}

static int wasio__udp_bind_to(wasio_udp_t *udp, const wasio_addr_t *addr) {
  int rc = wasio__bk_udp_bind(udp, addr);
  if (rc != 0) return rc;
  udp->family = addr->family;
  udp->flags |= WASIO__UDPF_BOUND;
  return 0;
}

int wasio_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr) {
  if (udp == NULL || addr == NULL) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (udp->flags & WASIO__UDPF_BOUND) return WASIO_ESTATE;
  if (addr->family != WASIO_AF_INET && addr->family != WASIO_AF_INET6) return WASIO_EINVAL;
  return wasio__udp_bind_to(udp, addr);
}

/* Binds to the unspecified address of `family` if not bound yet. */
static int wasio__udp_ensure_bound(wasio_udp_t *udp, uint8_t family) {
  if (udp->flags & WASIO__UDPF_BOUND) return udp->family == family ? 0 : WASIO_EINVAL;
  wasio_addr_t any;
  wasio_addr_any((wasio_family_t)family, 0, &any);
  return wasio__udp_bind_to(udp, &any);
}

int wasio_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer) {
  if (udp == NULL || peer == NULL) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (peer->family != WASIO_AF_INET && peer->family != WASIO_AF_INET6) return WASIO_EINVAL;
  int rc = wasio__udp_ensure_bound(udp, peer->family);
  if (rc == 0) rc = wasio__bk_udp_connect(udp, peer);
  if (rc != 0) return rc;
  udp->flags |= WASIO__UDPF_CONNECTED;
  udp->peer = *peer;
  /* A backend may have made new streams: ask again for what is waited on,
   * and send what is queued through them. */
  if (udp->sq_head != NULL) wasio__pending_add(udp->h.loop, &udp->pending);
  wasio__udp_update(udp);
  return 0;
}

int wasio_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out) {
  if (udp == NULL || out == NULL) return WASIO_EINVAL;
  if (!(udp->flags & WASIO__UDPF_BOUND)) return WASIO_ESTATE;
  return wasio__bk_udp_local_addr(udp, out);
}

/* ---- sending ------------------------------------------------------------------ */

int wasio_udp_send(wasio_udp_t *udp, wasio_udp_send_t *req, const void *base, size_t len,
                   const wasio_addr_t *to, wasio_udp_send_cb cb) {
  if (udp == NULL || req == NULL || cb == NULL || (base == NULL && len > 0)) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (len > WASIO_UDP_MAX_DATAGRAM) return WASIO_EMSGSIZE;
  bool connected = (udp->flags & WASIO__UDPF_CONNECTED) != 0;
  if (connected) {
    /* The socket is tied to its peer: only that destination is valid. */
    if (to != NULL && !wasio_addr_equal(to, &udp->peer)) return WASIO_EISCONN;
  } else {
    if (to == NULL || (to->family != WASIO_AF_INET && to->family != WASIO_AF_INET6)) return WASIO_EINVAL;
    if ((udp->flags & WASIO__UDPF_BOUND) && to->family != udp->family) return WASIO_EINVAL;
  }
  if (req->wasio__udp == udp) {
    for (const wasio_udp_send_t *s = udp->sq_head; s != NULL; s = s->wasio__next)
      if (s == req) return WASIO_EBUSY;
    for (const wasio_udp_send_t *s = udp->done_head; s != NULL; s = s->wasio__next)
      if (s == req) return WASIO_EBUSY;
  }
  if (udp->sq_len >= WASIO_UDP_SEND_QUEUE_MAX) return WASIO_EAGAIN;
  /* An unbound socket is bound by its first send, as sendto(2) does. */
  int rc;
  if (!connected && (rc = wasio__udp_ensure_bound(udp, to->family)) != 0) return rc;
  req->wasio__next = NULL;
  req->wasio__udp = udp;
  req->wasio__base = base;
  req->wasio__len = len;
  req->wasio__has_to = !connected;
  if (!connected) req->wasio__to = *to;
  req->wasio__cb = cb;
  if (udp->sq_tail != NULL)
    udp->sq_tail->wasio__next = req;
  else
    udp->sq_head = req;
  udp->sq_tail = req;
  udp->sq_len++;
  wasio__pending_add(udp->h.loop, &udp->pending);
  wasio__udp_update(udp);
  return 0;
}

/* Moves the head of the send queue to the done list with `status`. */
static void wasio__udp_done_head(wasio_udp_t *udp, int status) {
  wasio_udp_send_t *s = udp->sq_head;
  udp->sq_head = s->wasio__next;
  if (udp->sq_head == NULL) udp->sq_tail = NULL;
  s->wasio__has_to = status;
  s->wasio__next = NULL;
  if (udp->done_tail != NULL)
    udp->done_tail->wasio__next = s;
  else
    udp->done_head = s;
  udp->done_tail = s;
}

static void wasio__udp_flush(wasio_udp_t *udp) {
  udp->flags &= (uint8_t)~WASIO__UDPF_WRITE_BLOCKED;
  while (udp->sq_head != NULL) {
    wasio_udp_send_t *batch[WASIO__UDP_SEND_BATCH];
    size_t n = 0;
    for (wasio_udp_send_t *s = udp->sq_head; s != NULL && n < WASIO__UDP_SEND_BATCH; s = s->wasio__next)
      batch[n++] = s;
    ptrdiff_t r = wasio__bk_udp_send(udp, batch, n);
    if (r < 0) {
      wasio__udp_done_head(udp, (int)r);
      continue;
    }
    if (r == 0) {
      udp->flags |= WASIO__UDPF_WRITE_BLOCKED;
      return;
    }
    for (ptrdiff_t i = 0; i < r; i++) wasio__udp_done_head(udp, 0);
  }
}

static void wasio__udp_done_run(wasio_udp_t *udp) {
  wasio_loop_t *loop = udp->h.loop;
  while (udp->done_head != NULL && !wasio__udp_closing(udp)) {
    if (!wasio__budget_take(loop, &udp->budget)) {
      wasio__pending_add(loop, &udp->pending);
      return;
    }
    wasio_udp_send_t *s = udp->done_head;
    udp->done_head = s->wasio__next;
    if (udp->done_head == NULL) udp->done_tail = NULL;
    udp->sq_len--;
    int status = s->wasio__has_to;
    s->wasio__next = NULL;
    s->wasio__udp = NULL;
    wasio__udp_update(udp);
    s->wasio__cb(s, status);
  }
}

/* ---- receiving ----------------------------------------------------------------- */

int wasio_udp_recv_start(wasio_udp_t *udp, wasio_udp_recv_cb cb) {
  if (udp == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__udp_closing(udp)) return WASIO_ECLOSING;
  if (!(udp->flags & WASIO__UDPF_BOUND)) return WASIO_ESTATE;
  if (udp->flags & WASIO__UDPF_RECEIVING) return WASIO_EBUSY;
  unsigned want = WASIO__IO_READ;
  if (udp->sq_head != NULL && (udp->flags & WASIO__UDPF_WRITE_BLOCKED)) want |= WASIO__IO_WRITE;
  int rc = wasio__bk_udp_want(udp, want);
  if (rc != 0) return rc;
  udp->recv_cb = cb;
  udp->flags |= WASIO__UDPF_RECEIVING;
  wasio__udp_update(udp);
  return 0;
}

int wasio_udp_recv_stop(wasio_udp_t *udp) {
  if (udp == NULL) return WASIO_EINVAL;
  if (!(udp->flags & WASIO__UDPF_RECEIVING)) return 0;
  udp->flags &= (uint8_t)~WASIO__UDPF_RECEIVING;
  wasio__udp_update(udp);
  return 0;
}

static void wasio__udp_recv_some(wasio_udp_t *udp) {
  wasio_loop_t *loop = udp->h.loop;
  uint8_t *buf = wasio__read_buf(loop);
  while ((udp->flags & WASIO__UDPF_RECEIVING) && !wasio__udp_closing(udp) &&
         wasio__budget_take(loop, &udp->budget)) {
    wasio_addr_t from;
    memset(&from, 0, sizeof from);
    ptrdiff_t n = wasio__bk_udp_recv(udp, buf, WASIO_READ_BUF_SIZE, &from);
    if (n == WASIO_EAGAIN) {
      udp->budget.used--; /* no callback was made */
      return;
    }
    if (n < 0) {
      wasio_udp_recv_cb cb = udp->recv_cb;
      udp->flags &= (uint8_t)~WASIO__UDPF_RECEIVING;
      wasio__udp_update(udp);
      cb(udp, n, NULL, NULL);
      return;
    }
    udp->recv_cb(udp, n, buf, &from);
  }
}

/* ---- phase 3 and close ---------------------------------------------------------- */

static void wasio__udp_service(wasio_udp_t *udp, unsigned what) {
  if (wasio__udp_closing(udp)) return;
  if (udp->sq_head != NULL && (!(udp->flags & WASIO__UDPF_WRITE_BLOCKED) || (what & WASIO__IO_WRITE)))
    wasio__udp_flush(udp);
  wasio__udp_done_run(udp);
  if (wasio__udp_closing(udp)) return;
  if (what & WASIO__IO_READ) wasio__udp_recv_some(udp);
  if (wasio__udp_closing(udp)) return;
  /* Sends the receive callbacks queued go out in this dispatch too. */
  if (udp->sq_head != NULL && !(udp->flags & WASIO__UDPF_WRITE_BLOCKED)) {
    wasio__udp_flush(udp);
    wasio__udp_done_run(udp);
    if (wasio__udp_closing(udp)) return;
  }
  wasio__udp_update(udp);
}

void wasio__udp_ready(wasio_udp_t *udp, unsigned what) { wasio__udp_service(udp, what); }

void wasio__udp_on_pending(wasio_udp_t *udp) { wasio__udp_service(udp, 0); }

void wasio_udp_close(wasio_udp_t *udp, wasio_udp_close_cb cb) {
  if (udp == NULL || wasio__udp_closing(udp)) return;
  wasio__handle_close(&udp->h, (void (*)(void *))cb);
  /* As for TCP: release now; the send callbacks run in phase 4. */
  udp->flags &= (uint8_t)~WASIO__UDPF_RECEIVING;
  wasio__pending_remove(&udp->pending);
  wasio__bk_udp_release(udp);
  wasio__handle_set_active(&udp->h, false);
}

void wasio__udp_closed(wasio_udp_t *udp) {
  while (udp->done_head != NULL) {
    wasio_udp_send_t *s = udp->done_head;
    udp->done_head = s->wasio__next;
    int status = s->wasio__has_to;
    s->wasio__next = NULL;
    s->wasio__udp = NULL;
    s->wasio__cb(s, status);
  }
  udp->done_tail = NULL;
  while (udp->sq_head != NULL) {
    wasio_udp_send_t *s = udp->sq_head;
    udp->sq_head = s->wasio__next;
    s->wasio__next = NULL;
    s->wasio__udp = NULL;
    s->wasio__cb(s, WASIO_ECANCELED);
  }
  udp->sq_tail = NULL;
  udp->sq_len = 0;
}

void wasio__udp_free(wasio_udp_t *udp) { wasio__pending_remove(&udp->pending); }
