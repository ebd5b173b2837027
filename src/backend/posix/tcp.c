/* src/backend/posix/tcp.c: the posix backend's part of TCP (internal.h's
 * wasio__bk_tcp_*): nonblocking sockets and epoll. The policy (queues,
 * callbacks, deadlines, budget) is src/core/tcp.c's.
 *
 * Implementation notes
 * - TCP_NODELAY on every connected socket: the core hands each turn's
 *   writes over at once, so Nagle's delay would only add a round trip to
 *   request/response traffic.
 * - Trains of small writes: a send the core marks `more` (writes queued
 *   inside the handle's own dispatch, where callbacks may chain more) goes
 *   with MSG_MORE, so the kernel holds a partial segment; the push at the
 *   end of the dispatch sets TCP_NODELAY again, which sends what it holds
 *   (`corked`). A release pushes first, so that a close with unread input
 *   (which resets the connection) does not drop those bytes.
 */
/* accept4(2) is a GNU extension. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "posix.h"

/* The keep-alive probe interval and count when keep-alive is turned on. */
#define WASIO__TCP_KEEPALIVE_INTVL_S 1
#define WASIO__TCP_KEEPALIVE_CNT 10
/* Linux refuses a TCP_KEEPIDLE above this (MAX_TCP_KEEPIDLE); longer idle
 * times are clamped rather than failing. */
#define WASIO__TCP_KEEPIDLE_MAX_S 32767
/* Most iovecs handed to one sendmsg (the core gathers at most as many). */
#define WASIO__TCP_IOV_MAX 64

void wasio__bk_tcp_init(wasio_tcp_t *tcp) {
  wasio__posix_io_init(&tcp->b.io, &tcp->h);
  tcp->b.corked = 0;
  tcp->b.listening = 0;
}

int wasio__bk_tcp_keepalive(wasio_tcp_t *tcp) {
  int fd = tcp->b.io.fd;
  if (fd < 0 || !(tcp->flags & WASIO__TCPF_KA_SET)) return 0;
  int on = (tcp->flags & WASIO__TCPF_KA_ON) ? 1 : 0;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0) return wasio__posix_err(errno);
  if (!on || tcp->keepalive_idle_ns == 0) return 0;
  /* Rounded up to whole seconds, without the overflow of adding first. */
  uint64_t ns = tcp->keepalive_idle_ns;
  uint64_t secs = ns / WASIO_NS_PER_S + (ns % WASIO_NS_PER_S != 0);
  int idle = secs > WASIO__TCP_KEEPIDLE_MAX_S ? WASIO__TCP_KEEPIDLE_MAX_S : (int)secs;
  int intvl = WASIO__TCP_KEEPALIVE_INTVL_S, cnt = WASIO__TCP_KEEPALIVE_CNT;
  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) != 0)
    return wasio__posix_err(errno);
  return 0;
}

static void wasio__tcp_nodelay(int fd) {
  int on = 1;
  (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

int wasio__bk_tcp_socket(wasio_tcp_t *tcp, uint8_t family) {
  int fd = socket(family == WASIO_AF_INET6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return wasio__posix_err(errno);
  tcp->b.io.fd = fd;
  (void)wasio__bk_tcp_keepalive(tcp); /* a socket that refuses it still works */
  return 0;
}

int wasio__bk_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  struct sockaddr_storage ss;
  socklen_t sslen = wasio__posix_to_sockaddr(addr, &ss);
  if (sslen == 0) return WASIO_EINVAL;
  /* A restarted server must not wait out TIME_WAIT of its old connections. */
  int on = 1;
  (void)setsockopt(tcp->b.io.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(tcp->b.io.fd, (struct sockaddr *)&ss, sslen) != 0) return wasio__posix_err(errno);
  return 0;
}

int wasio__bk_tcp_listen(wasio_tcp_t *tcp, int backlog) {
  if (listen(tcp->b.io.fd, backlog) != 0) return wasio__posix_err(errno);
  tcp->b.listening = 1;
  return 0;
}

int wasio__bk_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  struct sockaddr_storage ss;
  socklen_t sslen = wasio__posix_to_sockaddr(addr, &ss);
  if (sslen == 0) return WASIO_EINVAL;
  int r;
  do r = connect(tcp->b.io.fd, (struct sockaddr *)&ss, sslen);
  while (r != 0 && errno == EINTR);
  if (r == 0) {
    wasio__tcp_nodelay(tcp->b.io.fd);
    return 1;
  }
  return errno == EINPROGRESS ? 0 : wasio__posix_err(errno);
}

int wasio__bk_tcp_connect_result(wasio_tcp_t *tcp) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(tcp->b.io.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return WASIO_EAGAIN;
  if (err != 0) return wasio__posix_err(err);
  wasio__tcp_nodelay(tcp->b.io.fd);
  return 0;
}

int wasio__bk_tcp_accept(wasio_tcp_t *server, wasio_tcp_t *client) {
  int fd;
  do fd = accept4(server->b.io.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? WASIO_EAGAIN : wasio__posix_err(errno);
  client->b.io.fd = fd;
  wasio__tcp_nodelay(fd);
  return 0;
}

ptrdiff_t wasio__bk_tcp_read(wasio_tcp_t *tcp, void *buf, size_t len) {
  ssize_t n;
  do n = read(tcp->b.io.fd, buf, len);
  while (n < 0 && errno == EINTR);
  if (n > 0) return n;
  if (n == 0) return WASIO_EOF;
  return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : wasio__posix_err(errno);
}

/* epoll says exactly when more is there: a short read drained it. */
bool wasio__bk_tcp_read_on(const wasio_tcp_t *tcp) {
  (void)tcp;
  return false;
}

ptrdiff_t wasio__bk_tcp_send(wasio_tcp_t *tcp, const wasio__iov_t *iov, size_t n, bool more) {
  struct iovec v[WASIO__TCP_IOV_MAX];
  if (n > WASIO__TCP_IOV_MAX) n = WASIO__TCP_IOV_MAX;
  for (size_t i = 0; i < n; i++) {
    v[i].iov_base = (void *)(uintptr_t)iov[i].base;
    v[i].iov_len = iov[i].len;
  }
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = v;
  msg.msg_iovlen = n;
  /* MSG_NOSIGNAL: a closed peer is an EPIPE status, never a SIGPIPE. */
  int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
  ssize_t r;
  do r = sendmsg(tcp->b.io.fd, &msg, flags);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : wasio__posix_err(errno);
  if (r > 0 && more) tcp->b.corked = 1;
  return r;
}

int wasio__bk_tcp_push(wasio_tcp_t *tcp) {
  /* Setting TCP_NODELAY (already on) pushes what MSG_MORE held. A failure
   * leaves it for the next send, the shutdown or the close. */
  if (tcp->b.corked && tcp->b.io.fd >= 0) wasio__tcp_nodelay(tcp->b.io.fd);
  tcp->b.corked = 0;
  return 0;
}

int wasio__bk_tcp_shutdown(wasio_tcp_t *tcp) {
  if (shutdown(tcp->b.io.fd, SHUT_WR) != 0) return wasio__posix_err(errno);
  return 0;
}

int wasio__bk_tcp_want(wasio_tcp_t *tcp, unsigned what) {
  uint32_t events = 0;
  if (what & WASIO__IO_CONN) events |= tcp->b.listening ? EPOLLIN : EPOLLOUT;
  if (what & WASIO__IO_READ) events |= EPOLLIN;
  if (what & WASIO__IO_WRITE) events |= EPOLLOUT;
  /* epoll_ctl fails only for lack of kernel memory (ENOMEM, ENOSPC). */
  return wasio__posix_io_set(tcp->h.loop, &tcp->b.io, events);
}

void wasio__bk_tcp_release(wasio_tcp_t *tcp, bool linger) {
  (void)linger; /* the kernel delivers what it took after close(2) */
  (void)wasio__bk_tcp_push(tcp);
  wasio__posix_io_close(&tcp->b.io);
  tcp->b.listening = 0;
}

int wasio__bk_tcp_addr(const wasio_tcp_t *tcp, bool peer, wasio_addr_t *out) {
  if (tcp->b.io.fd < 0) return WASIO_ENOTCONN;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int r = peer ? getpeername(tcp->b.io.fd, (struct sockaddr *)&ss, &len)
               : getsockname(tcp->b.io.fd, (struct sockaddr *)&ss, &len);
  if (r != 0) return wasio__posix_err(errno);
  return wasio__posix_from_sockaddr((struct sockaddr *)&ss, out);
}

/* epoll's events for a TCP handle, as the core's WASIO__IO_* bits. An error
 * or hang-up wakes every waiter: the next call tells what happened. */
void wasio__posix_tcp_io(wasio_tcp_t *tcp, uint32_t events) {
  unsigned what = 0;
  bool err = (events & (EPOLLERR | EPOLLHUP)) != 0;
  if (tcp->b.listening) {
    if (events & EPOLLIN) what |= WASIO__IO_CONN;
  } else if (tcp->state == WASIO__TCP_CONNECTING) {
    if ((events & EPOLLOUT) || err) what |= WASIO__IO_CONN;
  } else {
    if ((events & (EPOLLIN | EPOLLRDHUP)) || err) what |= WASIO__IO_READ;
    if ((events & EPOLLOUT) || err) what |= WASIO__IO_WRITE;
  }
  if (what != 0) wasio__tcp_ready(tcp, what);
}
