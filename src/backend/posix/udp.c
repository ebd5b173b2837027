/* src/backend/posix/udp.c: the posix backend's part of UDP (internal.h's
 * wasio__bk_udp_*): nonblocking datagram sockets. The queue and the
 * callbacks are src/core/udp.c's.
 *
 * One send is one sendto(2), one receive one recvfrom(2): datagram
 * boundaries hold by construction.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "posix.h"

void wasio__bk_udp_init(wasio_udp_t *udp) { wasio__posix_io_init(&udp->b.io, &udp->h); }

int wasio__bk_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr) {
  struct sockaddr_storage ss;
  socklen_t len = wasio__posix_to_sockaddr(addr, &ss);
  if (len == 0) return WASIO_EINVAL;
  int fd = socket(addr->family == WASIO_AF_INET6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return wasio__posix_err(errno);
  udp->b.io.fd = fd;
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    int rc = wasio__posix_err(errno);
    wasio__posix_io_close(&udp->b.io);
    return rc;
  }
  return 0;
}

int wasio__bk_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer) {
  struct sockaddr_storage ss;
  socklen_t len = wasio__posix_to_sockaddr(peer, &ss);
  if (len == 0) return WASIO_EINVAL;
  if (connect(udp->b.io.fd, (struct sockaddr *)&ss, len) != 0) return wasio__posix_err(errno);
  return 0;
}

ptrdiff_t wasio__bk_udp_send(wasio_udp_t *udp, wasio_udp_send_t *const *req, size_t n) {
  ptrdiff_t sent = 0;
  for (size_t i = 0; i < n; i++) {
    const wasio_udp_send_t *s = req[i];
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (s->wasio__has_to) len = wasio__posix_to_sockaddr(&s->wasio__to, &ss);
    ssize_t r;
    do r = sendto(udp->b.io.fd, s->wasio__base, s->wasio__len, MSG_NOSIGNAL,
                  len ? (struct sockaddr *)&ss : NULL, len);
    while (r < 0 && errno == EINTR);
    if (r >= 0) {
      sent++;
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return sent;
    /* This datagram failed: report it alone, after those before it. */
    return sent > 0 ? sent : wasio__posix_err(errno);
  }
  return sent;
}

ptrdiff_t wasio__bk_udp_recv(wasio_udp_t *udp, uint8_t *buf, size_t cap, wasio_addr_t *from) {
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof ss;
  ssize_t n;
  do n = recvfrom(udp->b.io.fd, buf, cap, 0, (struct sockaddr *)&ss, &sslen);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? WASIO_EAGAIN : wasio__posix_err(errno);
  if (wasio__posix_from_sockaddr((struct sockaddr *)&ss, from) != 0) memset(from, 0, sizeof *from);
  return n;
}

int wasio__bk_udp_want(wasio_udp_t *udp, unsigned what) {
  uint32_t events = 0;
  if (what & WASIO__IO_READ) events |= EPOLLIN;
  if (what & WASIO__IO_WRITE) events |= EPOLLOUT;
  return wasio__posix_io_set(udp->h.loop, &udp->b.io, events);
}

void wasio__bk_udp_release(wasio_udp_t *udp) { wasio__posix_io_close(&udp->b.io); }

int wasio__bk_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(udp->b.io.fd, (struct sockaddr *)&ss, &len) != 0) return wasio__posix_err(errno);
  return wasio__posix_from_sockaddr((struct sockaddr *)&ss, out);
}

void wasio__posix_udp_io(wasio_udp_t *udp, uint32_t events) {
  unsigned what = 0;
  if (events & (EPOLLIN | EPOLLERR)) what |= WASIO__IO_READ;
  if (events & (EPOLLOUT | EPOLLERR)) what |= WASIO__IO_WRITE;
  if (what != 0) wasio__udp_ready(udp, what);
}
