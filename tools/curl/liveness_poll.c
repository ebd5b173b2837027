/* tools/curl/liveness_poll.c: linked into every libcurl component (the
 * curl tool, wasio-cc -lcurl) with -Wl,--wrap=poll, so that curl can reuse
 * keep-alive connections there. Only the wasm32 build uses it.
 *
 * Before reusing a pooled connection, curl asks poll() with a zero
 * timeout whether the socket has anything to read (lib/cf-socket.c,
 * cf_socket_conn_is_alive): anything at all (data, end of stream, an
 * error) means the connection is not clean and curl closes it. In a
 * component a socket's readiness is the host's input-stream pollable, and
 * wasmtime (tokio underneath) clears a stream's readiness only when a read
 * finds nothing: after curl has read a response to its last byte, poll()
 * still says "readable" once, until a read returns EAGAIN. So curl would
 * find every idle connection "not clean" and open a new one for each
 * transfer. (Natively, and once a read has seen EAGAIN, poll() is exact.)
 *
 * The wrapper acts only on that one query, recognised by its shape: one
 * descriptor, a zero timeout, and POLLPRI asked together with POLLIN
 * (nothing else in curl or wasio asks for POLLPRI). When poll() reports
 * it readable, one non-blocking read of one byte decides: EAGAIN means the
 * readiness was stale, so the socket is reported idle (0); anything else
 * (a byte, end of stream, an error) is reported as poll() said. Reading
 * that byte is safe: in every such case curl closes the connection
 * without reading from it again. Every other poll() call passes through
 * unchanged. MSG_PEEK would not consume the byte, but the pinned libc does
 * not support it (ENOTSUP).
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

int __real_poll(struct pollfd *fds, nfds_t nfds, int timeout);

/* poll(), with the liveness query above made exact. */
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __wrap_poll(struct pollfd *fds, nfds_t nfds, int timeout) {
  int n = __real_poll(fds, nfds, timeout);
  if (n != 1 || nfds != 1 || timeout != 0) return n;
  if ((fds[0].events & (POLLIN | POLLPRI)) != (POLLIN | POLLPRI) || fds[0].revents != POLLIN) return n;
  unsigned char byte;
  int saved = errno;
  if (recv(fds[0].fd, &byte, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    errno = saved;
    fds[0].revents = 0;
    return 0;
  }
  errno = saved;
  return n;
}
