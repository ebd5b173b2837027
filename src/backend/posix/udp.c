/* src/backend/posix/udp.c: wasio/udp.h on nonblocking datagram sockets.
 *
 * Implementation notes
 * - One send is one sendto(2), one receive callback is one recvfrom(2):
 *   datagram boundaries hold by construction. Received datagrams land in the
 *   loop's read buffer, which is larger than WASIO_UDP_MAX_DATAGRAM.
 * - Sends are tried at once when nothing is queued before them; a datagram
 *   the socket cannot take now waits for EPOLLOUT. As with TCP, completions
 *   are reported in phase 3, never from inside wasio_udp_send.
 * - Per-datagram send errors (an ICMP "port unreachable" surfacing as
 *   ECONNREFUSED on a connected socket, a too-large datagram) fail that one
 *   send; the socket stays usable.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "posix.h"

static wasio_loop_t *wasio__udp_loop_of(const wasio_udp_t *udp) { return udp->h.loop; }

int wasio_udp_new(wasio_loop_t *loop, wasio_udp_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_udp_t *udp = wasio__malloc(sizeof *udp);
  if (udp == NULL) return WASIO_ENOMEM;
  memset(udp, 0, sizeof *udp);
  wasio__handle_init(loop, &udp->h, WASIO_KIND_UDP);
  wasio__posix_io_init(&udp->b.io, &udp->h);
  *out = udp;
  return 0;
}

static void wasio__udp_update(wasio_udp_t *udp) {
  wasio__backend_udp_t *b = &udp->b;
  uint32_t events = 0;
  if (b->receiving) events |= EPOLLIN;
  if (b->sq_head != NULL) events |= EPOLLOUT;
  (void)wasio__posix_io_set(wasio__udp_loop_of(udp), &b->io, events);
  wasio__handle_set_active(&udp->h, b->receiving || b->sq_head != NULL || b->done_head != NULL);
}

static int wasio__udp_socket(wasio_udp_t *udp, uint8_t family) {
  int fd = socket(family == WASIO_AF_INET6 ? AF_INET6 : AF_INET,
                  SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return wasio__posix_err(errno);
  udp->b.io.fd = fd;
  udp->b.family = family;
  return 0;
}

int wasio_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr) {
  if (udp == NULL || addr == NULL) return WASIO_EINVAL;
  if (wasio__handle_closing(&udp->h)) return WASIO_ECLOSING;
  if (udp->b.io.fd >= 0) return WASIO_ESTATE;
  struct sockaddr_storage ss;
  socklen_t len = wasio__posix_to_sockaddr(addr, &ss);
  if (len == 0) return WASIO_EINVAL;
  int rc = wasio__udp_socket(udp, addr->family);
  if (rc != 0) return rc;
  if (bind(udp->b.io.fd, (struct sockaddr *)&ss, len) != 0) {
    rc = wasio__posix_err(errno);
    wasio__posix_io_close(&udp->b.io);
    udp->b.family = 0;
    return rc;
  }
  return 0;
}

int wasio_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer) {
  if (udp == NULL || peer == NULL) return WASIO_EINVAL;
  if (wasio__handle_closing(&udp->h)) return WASIO_ECLOSING;
  struct sockaddr_storage ss;
  socklen_t len = wasio__posix_to_sockaddr(peer, &ss);
  if (len == 0) return WASIO_EINVAL;
  if (udp->b.io.fd >= 0 && udp->b.family != peer->family) return WASIO_EINVAL;
  bool fresh = udp->b.io.fd < 0;
  int rc;
  if (fresh && (rc = wasio__udp_socket(udp, peer->family)) != 0) return rc;
  if (connect(udp->b.io.fd, (struct sockaddr *)&ss, len) != 0) {
    rc = wasio__posix_err(errno);
    if (fresh) {
      wasio__posix_io_close(&udp->b.io);
      udp->b.family = 0;
    }
    return rc;
  }
  udp->b.connected = 1;
  udp->b.peer = *peer;
  return 0;
}

/* True if req is queued on udp; see wasio__tcp_write_queued for why the
 * scan only happens when the private pointer already matches. */
static bool wasio__udp_send_queued(const wasio_udp_t *udp, const wasio_udp_send_t *req) {
  if (req->wasio__udp != udp) return false;
  for (const wasio_udp_send_t *s = udp->b.sq_head; s != NULL; s = s->wasio__next)
    if (s == req) return true;
  for (const wasio_udp_send_t *s = udp->b.done_head; s != NULL; s = s->wasio__next)
    if (s == req) return true;
  return false;
}

/* Moves a finished send to the done list. The request has no status field
 * and its wasio__has_to flag is not needed once the datagram has left, so
 * that int carries the status to the callback. */
static void wasio__udp_done_push(wasio_udp_t *udp, wasio_udp_send_t *req, int status) {
  req->wasio__has_to = status;
  req->wasio__next = NULL;
  if (udp->b.done_tail != NULL)
    udp->b.done_tail->wasio__next = req;
  else
    udp->b.done_head = req;
  udp->b.done_tail = req;
}

/* Sends queued datagrams until the socket would block. Returns true if any
 * send completed. */
static bool wasio__udp_flush(wasio_udp_t *udp) {
  wasio__backend_udp_t *b = &udp->b;
  bool completed = false;
  while (b->sq_head != NULL) {
    wasio_udp_send_t *s = b->sq_head;
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (s->wasio__has_to) len = wasio__posix_to_sockaddr(&s->wasio__to, &ss);
    ssize_t r;
    do r = sendto(b->io.fd, s->wasio__base, s->wasio__len, MSG_NOSIGNAL,
                  len ? (struct sockaddr *)&ss : NULL, len);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return completed;
    b->sq_head = s->wasio__next;
    if (b->sq_head == NULL) b->sq_tail = NULL;
    wasio__udp_done_push(udp, s, r < 0 ? wasio__posix_err(errno) : 0);
    completed = true;
  }
  return completed;
}

int wasio_udp_send(wasio_udp_t *udp, wasio_udp_send_t *req, const void *base, size_t len,
                   const wasio_addr_t *to, wasio_udp_send_cb cb) {
  if (udp == NULL || req == NULL || cb == NULL || (base == NULL && len > 0)) return WASIO_EINVAL;
  if (wasio__handle_closing(&udp->h)) return WASIO_ECLOSING;
  if (len > WASIO_UDP_MAX_DATAGRAM) return WASIO_EMSGSIZE;
  wasio__backend_udp_t *b = &udp->b;
  if (b->connected) {
    if (to != NULL && !wasio_addr_equal(to, &b->peer)) return WASIO_EINVAL;
  } else {
    if (to == NULL || (to->family != WASIO_AF_INET && to->family != WASIO_AF_INET6))
      return WASIO_EINVAL;
    if (b->io.fd >= 0 && to->family != b->family) return WASIO_EINVAL;
  }
  if (wasio__udp_send_queued(udp, req)) return WASIO_EBUSY;
  if (b->sq_len >= WASIO_UDP_SEND_QUEUE_MAX) return WASIO_EAGAIN;
  /* An unbound socket is bound implicitly by its first sendto. */
  int rc;
  if (b->io.fd < 0 && (rc = wasio__udp_socket(udp, to->family)) != 0) return rc;
  req->wasio__next = NULL;
  req->wasio__udp = udp;
  req->wasio__base = base;
  req->wasio__len = len;
  req->wasio__has_to = !b->connected;
  if (!b->connected) req->wasio__to = *to;
  req->wasio__cb = cb;
  bool was_empty = b->sq_head == NULL;
  if (b->sq_tail != NULL)
    b->sq_tail->wasio__next = req;
  else
    b->sq_head = req;
  b->sq_tail = req;
  b->sq_len++;
  if (was_empty && wasio__udp_flush(udp)) wasio__posix_pending(wasio__udp_loop_of(udp), &b->io);
  wasio__udp_update(udp);
  return 0;
}

int wasio_udp_recv_start(wasio_udp_t *udp, wasio_udp_recv_cb cb) {
  if (udp == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__handle_closing(&udp->h)) return WASIO_ECLOSING;
  if (udp->b.io.fd < 0) return WASIO_ESTATE;
  if (udp->b.receiving) return WASIO_EBUSY;
  udp->b.receiving = 1;
  udp->b.recv_cb = cb;
  wasio__udp_update(udp);
  return 0;
}

int wasio_udp_recv_stop(wasio_udp_t *udp) {
  if (udp == NULL) return WASIO_EINVAL;
  if (!udp->b.receiving) return 0;
  udp->b.receiving = 0;
  if (!wasio__handle_closing(&udp->h)) wasio__udp_update(udp);
  return 0;
}

static void wasio__udp_done_io(wasio_udp_t *udp) {
  wasio_loop_t *loop = wasio__udp_loop_of(udp);
  while (udp->b.done_head != NULL && !wasio__handle_closing(&udp->h)) {
    if (!wasio__posix_budget_take(loop, &udp->b.io)) {
      wasio__posix_pending(loop, &udp->b.io);
      return;
    }
    wasio_udp_send_t *s = udp->b.done_head;
    udp->b.done_head = s->wasio__next;
    if (udp->b.done_head == NULL) udp->b.done_tail = NULL;
    udp->b.sq_len--;
    int status = s->wasio__has_to;
    s->wasio__next = NULL;
    s->wasio__udp = NULL;
    wasio__udp_update(udp);
    s->wasio__cb(s, status);
  }
}

static void wasio__udp_recv_io(wasio_udp_t *udp) {
  wasio_loop_t *loop = wasio__udp_loop_of(udp);
  uint8_t *buf = wasio__read_buf(loop);
  while (udp->b.receiving && !wasio__handle_closing(&udp->h)) {
    if (!wasio__posix_budget_take(loop, &udp->b.io)) return;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    ssize_t n;
    do n = recvfrom(udp->b.io.fd, buf, WASIO_READ_BUF_SIZE, 0, (struct sockaddr *)&ss, &sslen);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      udp->b.io.budget_used--;
      return;
    }
    if (n < 0) {
      int err = wasio__posix_err(errno);
      wasio_udp_recv_cb cb = udp->b.recv_cb;
      udp->b.receiving = 0;
      wasio__udp_update(udp);
      cb(udp, err, NULL, NULL);
      return;
    }
    wasio_addr_t from;
    if (wasio__posix_from_sockaddr((struct sockaddr *)&ss, &from) != 0) memset(&from, 0, sizeof from);
    udp->b.recv_cb(udp, n, buf, &from);
  }
}

void wasio__posix_udp_io(wasio_udp_t *udp, uint32_t events) {
  if ((events & (EPOLLOUT | EPOLLERR)) && udp->b.sq_head != NULL) wasio__udp_flush(udp);
  wasio__udp_update(udp);
  wasio__udp_done_io(udp);
  if (events & (EPOLLIN | EPOLLERR)) wasio__udp_recv_io(udp);
}

int wasio_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out) {
  if (udp == NULL || out == NULL) return WASIO_EINVAL;
  if (udp->b.io.fd < 0) return WASIO_ESTATE;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(udp->b.io.fd, (struct sockaddr *)&ss, &len) != 0) return wasio__posix_err(errno);
  return wasio__posix_from_sockaddr((struct sockaddr *)&ss, out);
}

void wasio_udp_set_data(wasio_udp_t *udp, void *data) { udp->h.data = data; }
void *wasio_udp_data(const wasio_udp_t *udp) { return udp->h.data; }
wasio_loop_t *wasio_udp_loop(const wasio_udp_t *udp) { return udp->h.loop; }

void wasio_udp_close(wasio_udp_t *udp, wasio_udp_close_cb cb) {
  if (udp == NULL) return;
  if (!wasio__handle_close(&udp->h, (void (*)(void *))cb)) return;
  wasio__backend_udp_t *b = &udp->b;
  /* As for TCP: detach, release, then report before the close callback. */
  wasio_udp_send_t *done = b->done_head, *queued = b->sq_head;
  b->done_head = b->done_tail = b->sq_head = b->sq_tail = NULL;
  b->sq_len = 0;
  b->receiving = 0;
  wasio__posix_io_close(&b->io);
  wasio__handle_set_active(&udp->h, false);
  while (done != NULL) {
    wasio_udp_send_t *next = done->wasio__next;
    int status = done->wasio__has_to;
    done->wasio__next = NULL;
    done->wasio__udp = NULL;
    done->wasio__cb(done, status);
    done = next;
  }
  while (queued != NULL) {
    wasio_udp_send_t *next = queued->wasio__next;
    queued->wasio__next = NULL;
    queued->wasio__udp = NULL;
    queued->wasio__cb(queued, WASIO_ECANCELED);
    queued = next;
  }
}

void wasio__udp_free(wasio_udp_t *udp) { wasio__posix_pending_remove(udp->h.loop, &udp->b.io); }
