/* src/backend/posix/backend.c: the posix backend's loop (epoll), clocks,
 * randomness, errno translation and address conversion.
 *
 * Implementation notes
 * - epoll is level-triggered: a handle that stops early because of the
 *   per-turn callback budget is simply reported again by the next wait, so
 *   no readiness is ever lost. Interest is removed (EPOLL_CTL_DEL) when a
 *   handle wants nothing, because epoll reports hang-ups even for an empty
 *   event mask and would otherwise wake the loop forever.
 * - Handle memory is freed only in phase 4, so an epoll event for a handle
 *   closed earlier in the same batch still points to valid memory; it is
 *   skipped by its closing flag.
 */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "posix.h"

int wasio__posix_err(int errnum) {
  switch (errnum) {
    case 0: return 0;
    case EINVAL: return WASIO_EINVAL;
    case ENOMEM: case ENOBUFS: return WASIO_ENOMEM;
    case EMFILE: case ENFILE: return WASIO_EMFILE;
    case ECANCELED: return WASIO_ECANCELED;
    case ETIMEDOUT: return WASIO_ETIMEDOUT;
    case EBUSY: case EALREADY: case EINPROGRESS: return WASIO_EBUSY;
    case EAGAIN: return WASIO_EAGAIN;
    case EOPNOTSUPP: case EPROTONOSUPPORT: return WASIO_ENOTSUP;
    case EACCES: case EPERM: return WASIO_EACCES;
    case ECONNREFUSED: return WASIO_ECONNREFUSED;
    case ECONNRESET: return WASIO_ECONNRESET;
    case ECONNABORTED: return WASIO_ECONNABORTED;
    case ENOTCONN: return WASIO_ENOTCONN;
    case EISCONN: return WASIO_EISCONN;
    case EADDRINUSE: return WASIO_EADDRINUSE;
    case EADDRNOTAVAIL: return WASIO_EADDRNOTAVAIL;
    case EAFNOSUPPORT: case EPFNOSUPPORT: return WASIO_EAFNOSUPPORT;
    case ENETUNREACH: return WASIO_ENETUNREACH;
    case EHOSTUNREACH: case EHOSTDOWN: return WASIO_EHOSTUNREACH;
    case ENETDOWN: return WASIO_ENETDOWN;
    case EMSGSIZE: return WASIO_EMSGSIZE;
    case EPIPE: case ESHUTDOWN: return WASIO_EPIPE;
    case ENAMETOOLONG: return WASIO_ENAMETOOLONG;
    default: return WASIO_EIO;
  }
}

socklen_t wasio__posix_to_sockaddr(const wasio_addr_t *addr, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (addr->family == WASIO_AF_INET) {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(addr->port);
    memcpy(&sin->sin_addr, addr->ip, 4);
    return sizeof *sin;
  }
  if (addr->family == WASIO_AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(addr->port);
    sin6->sin6_flowinfo = htonl(addr->flowinfo);
    sin6->sin6_scope_id = addr->scope_id;
    memcpy(&sin6->sin6_addr, addr->ip, 16);
    return sizeof *sin6;
  }
  return 0;
}

int wasio__posix_from_sockaddr(const struct sockaddr *sa, wasio_addr_t *out) {
  memset(out, 0, sizeof *out);
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
    out->family = WASIO_AF_INET;
    out->port = ntohs(sin->sin_port);
    memcpy(out->ip, &sin->sin_addr, 4);
    return 0;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
    out->family = WASIO_AF_INET6;
    out->port = ntohs(sin6->sin6_port);
    out->flowinfo = ntohl(sin6->sin6_flowinfo);
    out->scope_id = sin6->sin6_scope_id;
    memcpy(out->ip, &sin6->sin6_addr, 16);
    return 0;
  }
  return WASIO_EAFNOSUPPORT;
}

/* ---- the loop ------------------------------------------------------------ */

int wasio__backend_init(wasio_loop_t *loop) {
  wasio__backend_loop_t *b = &loop->backend;
  b->dns_done = NULL;
  b->nready = 0;
  b->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (b->epfd < 0) return wasio__posix_err(errno);
  b->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (b->wakefd < 0) {
    int err = wasio__posix_err(errno);
    close(b->epfd);
    return err;
  }
  /* data.ptr NULL marks the wake-up fd among the events. */
  struct epoll_event ev = {.events = EPOLLIN, .data = {.ptr = NULL}};
  if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->wakefd, &ev) != 0) {
    int err = wasio__posix_err(errno);
    close(b->wakefd);
    close(b->epfd);
    return err;
  }
  return 0;
}

void wasio__backend_free(wasio_loop_t *loop) {
  wasio__posix_dns_loop_free(loop);
  close(loop->backend.wakefd);
  close(loop->backend.epfd);
}

uint64_t wasio__backend_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * WASIO_NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint64_t wasio_monotonic_ns(void) { return wasio__backend_monotonic_ns(); }

void wasio_wall_clock(uint64_t *seconds, uint32_t *nanoseconds) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  *seconds = (uint64_t)ts.tv_sec;
  *nanoseconds = (uint32_t)ts.tv_nsec;
}

int wasio_random_bytes(void *buf, size_t len) {
  uint8_t *p = buf;
  while (len > 0) {
    ssize_t n = getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return WASIO_EIO;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void wasio__posix_io_init(wasio__posix_io_t *io, wasio__handle_t *h) {
  io->h = h;
  io->fd = -1;
  io->events = 0;
}

int wasio__posix_io_set(wasio_loop_t *loop, wasio__posix_io_t *io, uint32_t events) {
  if (io->fd < 0 || events == io->events) return 0;
  struct epoll_event ev = {.events = events, .data = {.ptr = io}};
  int op = io->events == 0 ? EPOLL_CTL_ADD : events == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (epoll_ctl(loop->backend.epfd, op, io->fd, &ev) != 0) return wasio__posix_err(errno);
  io->events = events;
  return 0;
}

void wasio__posix_io_close(wasio__posix_io_t *io) {
  if (io->fd >= 0) close(io->fd);
  io->fd = -1;
  io->events = 0;
}

static void wasio__posix_dispatch(wasio__posix_io_t *io, uint32_t events) {
  wasio__handle_t *h = io->h;
  if (wasio__handle_closing(h)) return;
  switch ((wasio_handle_kind_t)h->kind) {
    case WASIO_KIND_TCP: wasio__posix_tcp_io((wasio_tcp_t *)h, events); break;
    case WASIO_KIND_UDP: wasio__posix_udp_io((wasio_udp_t *)h, events); break;
    case WASIO_KIND_POLL: wasio__posix_poll_io((wasio_poll_t *)h, events); break;
    case WASIO_KIND_DNS:
    case WASIO_KIND_TIMER: break;
  }
}

/* Milliseconds for epoll_wait until `deadline`, rounded up so the wait never
 * ends just before a timer is due (which would spin through empty turns). */
static int wasio__posix_timeout_ms(uint64_t deadline) {
  if (deadline == 0) return 0;
  if (deadline == UINT64_MAX) return -1;
  uint64_t now = wasio__backend_monotonic_ns();
  if (deadline <= now) return 0;
  uint64_t diff = deadline - now;
  uint64_t ms = diff / WASIO_NS_PER_MS + (diff % WASIO_NS_PER_MS != 0);
  return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

bool wasio__backend_wait(wasio_loop_t *loop, uint64_t deadline) {
  wasio__backend_loop_t *b = &loop->backend;
  int timeout = wasio__posix_timeout_ms(deadline);
  int n = epoll_wait(b->epfd, b->events, WASIO__EPOLL_MAX_EVENTS, timeout);
  loop->stats.polls++;
  b->nready = n < 0 ? 0 : n; /* EINTR: nothing is ready; the next turn waits again */
  return timeout != 0;
}

void wasio__backend_dispatch(wasio_loop_t *loop) {
  wasio__backend_loop_t *b = &loop->backend;
  int n = b->nready;
  b->nready = 0;
  for (int i = 0; i < n; i++) {
    struct epoll_event *ev = &b->events[i];
    if (ev->data.ptr == NULL) {
      wasio__posix_dns_collect(loop);
      continue;
    }
    wasio__posix_dispatch(ev->data.ptr, ev->events);
  }
}
