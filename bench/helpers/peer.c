/* bench/helpers/peer.c: the native peer of the benchmarks (no wasio).
 *
 *   peer [--lifetime SEC]
 *
 * Listens on 127.0.0.1 (port picked by the kernel), prints the port on the
 * first stdout line, then echoes every byte back on every accepted
 * connection until --lifetime seconds (default 120) have passed. A
 * connection that never sends anything is simply held open: that is what the
 * loop-turn benchmark's idle connections are.
 *
 * Implementation notes
 * - One thread, epoll, level-triggered. An accepted socket gets TCP_NODELAY
 *   (the echo latency should be the kernel's, not Nagle's).
 * - Echo without unbounded buffering: each connection owns at most one
 *   pending buffer of PEER_BUF bytes, allocated the first time a send is
 *   short. While it holds bytes the connection waits for EPOLLOUT and stops
 *   reading, so a client that does not read gets TCP backpressure, as from
 *   any peer. Idle connections never allocate.
 * - RLIMIT_NOFILE is raised to its hard limit so 10,000 connections fit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PEER_BUF (256 * 1024)
#define PEER_EVENTS 256
#define PEER_BACKLOG 4096

typedef struct conn {
  int fd;
  unsigned char *pending; /* PEER_BUF bytes once a send was short */
  size_t off, len;        /* pending[off..len) still to send */
} conn_t;

static unsigned char rbuf[PEER_BUF];

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "peer: %s: %s\n", what, strerror(errno));
  exit(2);
}

static void conn_close(int ep, conn_t *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->pending);
  free(c);
}

static void set_events(int ep, conn_t *c, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
}

/* Sends what is pending. Returns 0 when all is sent, 1 when the socket is
 * full (caller waits for EPOLLOUT), -1 on a dead connection. */
static int flush_pending(conn_t *c) {
  while (c->off < c->len) {
    ssize_t n = send(c->fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n > 0) {
      c->off += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 1;
    } else {
      return -1;
    }
  }
  c->off = c->len = 0;
  return 0;
}

/* Reads once and echoes. Returns -1 when the connection is over. */
static int on_readable(int ep, conn_t *c) {
  ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
  if (n == 0) return -1;
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
  size_t got = (size_t)n, sent = 0;
  while (sent < got) {
    ssize_t m = send(c->fd, rbuf + sent, got - sent, MSG_NOSIGNAL);
    if (m > 0) {
      sent += (size_t)m;
    } else if (m < 0 && errno == EINTR) {
      continue;
    } else if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      break;
    } else {
      return -1;
    }
  }
  if (sent < got) {
    if (!c->pending && !(c->pending = malloc(PEER_BUF))) die("malloc");
    memcpy(c->pending, rbuf + sent, got - sent);
    c->off = 0;
    c->len = got - sent;
    set_events(ep, c, EPOLLOUT);
  }
  return 0;
}

int main(int argc, char **argv) {
  double lifetime = 120.0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--lifetime") == 0 && i + 1 < argc) {
      lifetime = atof(argv[++i]);
    } else {
      fprintf(stderr, "usage: peer [--lifetime SEC]\n");
      return 2;
    }
  }
  signal(SIGPIPE, SIG_IGN);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  if (listen(lfd, PEER_BACKLOG) < 0) die("listen");
  socklen_t sl = sizeof sa;
  if (getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0) die("getsockname");

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl listen");

  printf("%d\n", ntohs(sa.sin_port));
  fflush(stdout);

  double deadline = now_s() + lifetime;
  struct epoll_event evs[PEER_EVENTS];
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0) break;
    int timeout_ms = left > 0.5 ? 500 : (int)(left * 1000) + 1;
    int n = epoll_wait(ep, evs, PEER_EVENTS, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      conn_t *c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE) {
              fprintf(stderr, "peer: accept: %s (raise RLIMIT_NOFILE)\n", strerror(errno));
              break;
            }
            die("accept4");
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn_t *nc = calloc(1, sizeof *nc);
          if (!nc) die("calloc");
          nc->fd = fd;
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
        }
        continue;
      }
      int rc = 0;
      if (c->len > c->off) {
        rc = flush_pending(c);
        if (rc == 0) set_events(ep, c, EPOLLIN);
        if (rc >= 0) continue;
      } else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        rc = on_readable(ep, c);
      }
      if (rc < 0) conn_close(ep, c);
    }
  }
  return 0;
}
