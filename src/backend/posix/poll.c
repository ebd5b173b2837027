/* src/backend/posix/poll.c: the posix backend's part of wasio/poll.h
 * (internal.h's wasio__bk_poll_*): the caller's descriptor joins the
 * loop's epoll set, level-triggered like every other descriptor there, so
 * readiness a callback leaves unconsumed is reported by the next wait.
 *
 * epoll reports an error or a hang-up (EPOLLERR, EPOLLHUP) whatever the
 * mask; they become the events the watcher waits for, as poll(2) reports
 * them, so the library's own recv/send/getsockopt(SO_ERROR) meets the
 * error. The descriptor is the caller's: it leaves the set when the watcher
 * stops (or closes), and is never closed here.
 */
#include <errno.h>
#include <sys/socket.h>

#include "posix.h"

int wasio__bk_poll_check(wasio_loop_t *loop, int fd) {
  (void)loop;
  int type;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) return 0;
  if (errno == ENOTSOCK) return WASIO_ENOTSUP;
  return errno == EBADF ? WASIO_EINVAL : wasio__posix_err(errno);
}

void wasio__bk_poll_init(wasio_poll_t *p) {
  wasio__posix_io_init(&p->b.io, &p->h);
  p->b.io.fd = p->fd;
}

int wasio__bk_poll_want(wasio_poll_t *p, unsigned events) {
  uint32_t ev = 0;
  if (events & WASIO_POLL_READABLE) ev |= EPOLLIN | EPOLLRDHUP;
  if (events & WASIO_POLL_WRITABLE) ev |= EPOLLOUT;
  int rc = wasio__posix_io_set(p->h.loop, &p->b.io, ev);
  if (rc != 0 && ev == 0) {
    /* Leaving the set fails only when the descriptor is already gone
     * (closed while watched: the kernel dropped it from the set). */
    p->b.io.events = 0;
    rc = 0;
  }
  return rc;
}

void wasio__posix_poll_io(wasio_poll_t *p, uint32_t events) {
  unsigned ready = 0;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) ready |= WASIO_POLL_READABLE;
  if (events & EPOLLOUT) ready |= WASIO_POLL_WRITABLE;
  if (events & (EPOLLERR | EPOLLHUP)) ready |= p->events;
  wasio__poll_ready(p, 0, ready);
}
