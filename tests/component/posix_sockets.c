// wasio-test: net
// wasio-test: helper tests/helpers/echo_server.py --lifetime 600
// wasio-test: timeout 120
/* tests/component/posix_sockets.c: the libc's POSIX sockets in a wasio
 * component (docs/POSIX.md), as C networking libraries use them: socket,
 * fcntl(O_NONBLOCK), a connect that answers EINPROGRESS, poll for
 * writability, getsockopt(SO_ERROR), send/recv in poll's rhythm,
 * getaddrinfo, getsockname/getpeername once connected. Natively the same
 * file runs on the host's libc, the reference.
 *   port = tests/helpers/echo_server.py (echo, 127.0.0.1 and ::1)
 * No wasio API is used: this is what the pinned wasi-libc gives C code
 * compiled with tools/wasio-cc.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

#define ECHO_PORT helper_port("port")
/* Every poll waits at most this long (a loopback peer answers at once). */
#define POLL_TIMEOUT_MS 10000
#define PAYLOAD_LEN (256 * 1024)

/* A non-blocking TCP socket of `family`, connecting to the echo helper on
 * loopback; returns once poll says it is writable and SO_ERROR is 0. */
static int connect_echo(int family) {
  int fd = socket(family, SOCK_STREAM, 0);
  ASSERT_TRUE(fd >= 0);
  int flags = fcntl(fd, F_GETFL, 0);
  ASSERT_TRUE(flags >= 0);
  ASSERT_EQ_INT(fcntl(fd, F_SETFL, flags | O_NONBLOCK), 0);
  ASSERT_TRUE(fcntl(fd, F_GETFL, 0) & O_NONBLOCK);
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons(ECHO_PORT);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(ECHO_PORT);
    a->sin6_addr = in6addr_loopback;
    len = sizeof *a;
  }
  int rc = connect(fd, (struct sockaddr *)&ss, len);
  /* Loopback may connect at once; otherwise the libc must say EINPROGRESS,
   * the answer every event-loop library waits for. */
  if (rc != 0) ASSERT_EQ_INT(errno, EINPROGRESS);
  struct pollfd p = {.fd = fd, .events = POLLOUT};
  ASSERT_EQ_INT(poll(&p, 1, POLL_TIMEOUT_MS), 1);
  ASSERT_TRUE(p.revents & POLLOUT);
  int err = -1;
  socklen_t elen = sizeof err;
  ASSERT_EQ_INT(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
  ASSERT_EQ_INT(err, 0);
  return fd;
}

/* Sends `n` bytes and reads them back, each direction as far as poll
 * allows, until all came back. */
static void echo_through(int fd, size_t n) {
  uint8_t *out = malloc(n), *in = malloc(n);
  ASSERT_TRUE(out != NULL && in != NULL);
  tl_rng_t rng = {n};
  tl_rng_fill(&rng, out, n);
  size_t sent = 0, got = 0;
  while (got < n) {
    struct pollfd p = {.fd = fd, .events = POLLIN | (sent < n ? POLLOUT : 0)};
    ASSERT_EQ_INT(poll(&p, 1, POLL_TIMEOUT_MS), 1);
    ASSERT_EQ_INT(p.revents & (POLLERR | POLLNVAL), 0);
    if ((p.revents & POLLOUT) && sent < n) {
      ssize_t w = send(fd, out + sent, n - sent, 0);
      if (w < 0) ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
      else sent += (size_t)w;
    }
    if (p.revents & (POLLIN | POLLHUP)) {
      ssize_t r = recv(fd, in + got, n - got, 0);
      if (r < 0) ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
      else {
        ASSERT_TRUE(r > 0); /* the echo server never closes first */
        got += (size_t)r;
      }
    }
  }
  ASSERT_EQ_MEM(in, out, n);
  free(out);
  free(in);
}

/* A read with nothing to read answers EAGAIN at once, as non-blocking
 * libraries expect. */
TEST(nonblocking_recv_is_eagain) {
  int fd = connect_echo(AF_INET);
  char c;
  errno = 0;
  ASSERT_EQ_INT(recv(fd, &c, 1, 0), -1);
  ASSERT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK);
  ASSERT_EQ_INT(close(fd), 0);
}

TEST(connect_poll_echo_ipv4) {
  int fd = connect_echo(AF_INET);
  echo_through(fd, 12);
  echo_through(fd, PAYLOAD_LEN);
  ASSERT_EQ_INT(close(fd), 0);
}

TEST(connect_poll_echo_ipv6) {
  int fd = connect_echo(AF_INET6);
  echo_through(fd, PAYLOAD_LEN);
  ASSERT_EQ_INT(close(fd), 0);
}

/* Once connected, both ends are known: the local one is loopback with a
 * port of its own, the peer is the helper. (Asking while the connect is
 * still in progress is a libc gap: docs/POSIX.md.) */
TEST(names_once_connected) {
  int fd = connect_echo(AF_INET);
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  ASSERT_EQ_INT(getpeername(fd, (struct sockaddr *)&a, &len), 0);
  ASSERT_EQ_INT(a.sin_family, AF_INET);
  ASSERT_EQ_INT(ntohs(a.sin_port), ECHO_PORT);
  ASSERT_EQ_INT(ntohl(a.sin_addr.s_addr), INADDR_LOOPBACK);
  len = sizeof a;
  ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  ASSERT_EQ_INT(a.sin_family, AF_INET);
  ASSERT_NE_INT(ntohs(a.sin_port), 0);
  ASSERT_EQ_INT(ntohl(a.sin_addr.s_addr), INADDR_LOOPBACK);
  ASSERT_EQ_INT(close(fd), 0);
}

/* getaddrinfo: a numeric host and "localhost" give loopback addresses a
 * socket connects to. */
TEST(getaddrinfo_loopback) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  ASSERT_EQ_INT(getaddrinfo("127.0.0.1", "80", &hints, &res), 0);
  ASSERT_TRUE(res != NULL);
  ASSERT_EQ_INT(res->ai_family, AF_INET);
  const struct sockaddr_in *a = (const struct sockaddr_in *)res->ai_addr;
  ASSERT_EQ_INT(ntohl(a->sin_addr.s_addr), INADDR_LOOPBACK);
  ASSERT_EQ_INT(ntohs(a->sin_port), 80);
  freeaddrinfo(res);
  res = NULL;
  hints.ai_family = AF_UNSPEC;
  ASSERT_EQ_INT(getaddrinfo("localhost", NULL, &hints, &res), 0);
  bool loop_seen = false;
  for (struct addrinfo *r = res; r; r = r->ai_next) {
    if (r->ai_family == AF_INET)
      loop_seen |= ntohl(((struct sockaddr_in *)r->ai_addr)->sin_addr.s_addr) == INADDR_LOOPBACK;
    else if (r->ai_family == AF_INET6)
      loop_seen |= memcmp(&((struct sockaddr_in6 *)r->ai_addr)->sin6_addr, &in6addr_loopback, 16) == 0;
  }
  ASSERT_TRUE(loop_seen);
  freeaddrinfo(res);
}

/* A name that cannot exist is a getaddrinfo error, not a hang or a crash. */
TEST(getaddrinfo_unknown_name) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  int rc = getaddrinfo("no-such-host.invalid", "80", &hints, &res);
  ASSERT_NE_INT(rc, 0);
  ASSERT_TRUE(res == NULL);
  ASSERT_TRUE(gai_strerror(rc) != NULL);
}

/* A connect to a port nobody listens on ends with SO_ERROR ECONNREFUSED
 * after poll (the port: one the helper's socket held, now closed). */
TEST(connect_refused) {
  int probe = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_TRUE(probe >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ASSERT_EQ_INT(bind(probe, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ_INT(getsockname(probe, (struct sockaddr *)&a, &len), 0);
  ASSERT_NE_INT(ntohs(a.sin_port), 0);
  ASSERT_EQ_INT(close(probe), 0); /* bound, never listening, now closed */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_TRUE(fd >= 0);
  ASSERT_EQ_INT(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK), 0);
  int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
  int err = rc == 0 ? 0 : errno;
  if (err == EINPROGRESS) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    ASSERT_EQ_INT(poll(&p, 1, POLL_TIMEOUT_MS), 1);
    socklen_t elen = sizeof err;
    ASSERT_EQ_INT(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen), 0);
  }
  ASSERT_EQ_INT(err, ECONNREFUSED);
  ASSERT_EQ_INT(close(fd), 0);
}
