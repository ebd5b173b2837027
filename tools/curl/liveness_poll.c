/* tools/curl/liveness_poll.c: linked into every libcurl component (the
 * curl tool, wasio-cc -lcurl) with -Wl,--wrap=poll,--wrap=recv,--wrap=close,
 * so that curl can reuse keep-alive connections there. Only the wasm32
 * build uses it.
 *
 * Before reusing a pooled connection, curl asks poll() with a zero timeout
 * whether the socket has anything to read (lib/cf-socket.c,
 * cf_socket_conn_is_alive): anything at all means the connection is not
 * clean and curl closes it. In a component a socket's readiness is the
 * host's input-stream pollable, and wasmtime (tokio underneath) clears a
 * stream's readiness only when a read finds nothing: after curl has read a
 * response to its last byte, poll() still says "readable" once, until a
 * read returns EAGAIN. So curl would find every idle connection "not
 * clean" and open a new one for each transfer. (Natively, and once a read
 * has seen EAGAIN, poll() is exact.)
 *
 * What the wrappers do: when a zero-timeout poll() of one descriptor for
 * reading (curl's shape: POLLIN with POLLPRI) says readable, one
 * non-blocking read of one byte decides. EAGAIN: the readiness was stale,
 * and the socket is reported idle. A byte: it is kept for that descriptor
 * (the "pushback") and the socket is reported readable; the next recv()
 * returns it first, and every poll() reports the descriptor readable while
 * the byte waits. End of stream or an error: reported as poll() said (the
 * next recv() meets it again). close() drops a waiting byte, so a new
 * socket with the same number starts clean. MSG_PEEK would make this
 * simpler, but the pinned libc does not support it (ENOTSUP). Every other
 * call passes through unchanged.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Descriptors below this number can hold a pushback byte; others are
 * left as the libc reports them. */
#define PUSHBACK_FDS 1024

static struct {
  bool have;
  unsigned char byte;
} pushback[PUSHBACK_FDS];

int __real_poll(struct pollfd *fds, nfds_t nfds, int timeout);
ssize_t __real_recv(int fd, void *buf, size_t len, int flags);
int __real_close(int fd);

static bool waiting(int fd) {
  return fd >= 0 && fd < PUSHBACK_FDS && pushback[fd].have;
}

/* poll(): a descriptor with a waiting byte is readable; curl's liveness
 * query is checked with one real read (above). */
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout) {
  int held = 0;
  for (nfds_t i = 0; i < nfds; i++)
    if ((fds[i].events & POLLIN) && waiting(fds[i].fd)) held++;
  int n = __real_poll(fds, nfds, held > 0 ? 0 : timeout);
  if (n < 0) return n;
  if (held > 0) {
    n = 0;
    for (nfds_t i = 0; i < nfds; i++) {
      if ((fds[i].events & POLLIN) && waiting(fds[i].fd)) fds[i].revents |= POLLIN;
      if (fds[i].revents != 0) n++;
    }
    return n;
  }
  if (n != 1 || nfds != 1 || timeout != 0 || fds[0].fd < 0 || fds[0].fd >= PUSHBACK_FDS) return n;
  if ((fds[0].events & (POLLIN | POLLPRI)) != (POLLIN | POLLPRI) || fds[0].revents != POLLIN) return n;
  int saved = errno;
  unsigned char byte;
  ssize_t got = __real_recv(fds[0].fd, &byte, 1, MSG_DONTWAIT);
  if (got == 1) {
    pushback[fds[0].fd].have = true;
    pushback[fds[0].fd].byte = byte;
  } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    fds[0].revents = 0;
    n = 0;
  }
  errno = saved;
  return n;
}

/* recv(): a waiting byte first, then whatever else is there now. */
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags);
ssize_t __wrap_recv(int fd, void *buf, size_t len, int flags) {
  if (len == 0 || !waiting(fd)) return __real_recv(fd, buf, len, flags);
  unsigned char *p = buf;
  p[0] = pushback[fd].byte;
  pushback[fd].have = false;
  if (len == 1) return 1;
  int saved = errno;
  ssize_t more = __real_recv(fd, p + 1, len - 1, flags | MSG_DONTWAIT);
  errno = saved;
  return more > 0 ? 1 + more : 1;
}

/* close(): a byte still waiting belonged to the old socket. */
int __wrap_close(int fd);
int __wrap_close(int fd) {
  if (fd >= 0 && fd < PUSHBACK_FDS) pushback[fd].have = false;
  return __real_close(fd);
}
