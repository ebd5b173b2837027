/* src/backend/posix/tcp.c: wasio/tcp.h on nonblocking sockets and epoll.
 *
 * Implementation notes
 * - States: NEW -> (BOUND ->) CONNECTING -> CONNECTED, or BOUND -> LISTENING;
 *   CLOSED after wasio_tcp_close. A failed connect goes back to NEW with its
 *   socket closed, so connect may be called again (internal.h's contract for
 *   wasio_tcp_connect_host).
 * - Writes: wasio_tcp_write tries the socket at once when nothing is queued
 *   before it; whatever the socket does not take waits for EPOLLOUT. A
 *   request whose bytes are all accepted (or that failed) moves to the done
 *   list and its callback runs in phase 3, never from inside the call.
 * - Trains of small writes leave as few segments. With TCP_NODELAY every
 *   sendmsg was its own segment, and a train chained through callbacks (a
 *   chunked HTTP response: chunk header, data, the next chunk queued from
 *   the previous one's callback) cost one loopback segment, with the peer's
 *   wake-up, per small write. While the handle does its own phase-3 work
 *   (in_io), its writes are still handed to the socket at once (so they
 *   complete, and the train goes on, within the same dispatch) but with
 *   MSG_MORE, which makes the kernel hold a partial segment; at the end of
 *   the dispatch one TCP_NODELAY setsockopt pushes what it holds (`corked`).
 *   A close or shutdown inside the dispatch pushes it too. Writes queued
 *   from anywhere else (another handle, timers, deferred callbacks) are
 *   sent plain, as before.
 * - Every user callback may close the handle or change its state, so after
 *   each one the code re-checks before touching the handle's lists again.
 * - Cancellation on close runs the callbacks of the pending connect, the
 *   writes and the shutdown from inside wasio_tcp_close, after the handle's
 *   lists were detached: they must run before the close callback (phase 4 of
 *   this very turn), and detaching first makes re-entry harmless.
 * - The one timer node is the connect deadline while connecting and the idle
 *   deadline afterwards. The idle deadline is re-armed lazily: I/O only
 *   stamps last_activity, and the timer, when it fires early, moves itself
 *   to the new deadline; so busy sockets do not touch the heap per read.
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

/* Most iovecs handed to one sendmsg; the rest goes in the next call. */
#define WASIO__TCP_IOV_MAX 64
/* The keep-alive probe interval and count when keep-alive is turned on. */
#define WASIO__TCP_KEEPALIVE_INTVL_S 1
#define WASIO__TCP_KEEPALIVE_CNT 10
/* Linux refuses a TCP_KEEPIDLE above this (MAX_TCP_KEEPIDLE); longer idle
 * times are clamped rather than failing. */
#define WASIO__TCP_KEEPIDLE_MAX_S 32767
/* Marks a write request that failed (its status is the handle's write_err). */
#define WASIO__WRITE_FAILED SIZE_MAX

static wasio_loop_t *wasio__tcp_loop_of(const wasio_tcp_t *tcp) { return tcp->common.h.loop; }

static bool wasio__tcp_closing(const wasio_tcp_t *tcp) {
  return wasio__handle_closing(&tcp->common.h);
}

static void wasio__tcp_init(wasio_loop_t *loop, wasio_tcp_t *tcp) {
  memset(tcp, 0, sizeof *tcp);
  wasio__handle_init(loop, &tcp->common.h, WASIO_KIND_TCP);
  tcp->common.ch = NULL;
  wasio__posix_io_init(&tcp->b.io, &tcp->common.h);
  wasio__timer_node_init(&tcp->b.timer, WASIO__TIMER_TCP);
  tcp->b.state = WASIO__TCP_NEW;
}

int wasio_tcp_new(wasio_loop_t *loop, wasio_tcp_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_tcp_t *tcp = wasio__malloc(sizeof *tcp);
  if (tcp == NULL) return WASIO_ENOMEM;
  wasio__tcp_init(loop, tcp);
  *out = tcp;
  return 0;
}

/* ---- interest, activity, timers ------------------------------------------ */

/* Recomputes what the handle waits for: epoll interest and whether it keeps
 * the loop alive. Called after every change of state. */
static void wasio__tcp_update(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  uint32_t events = 0;
  bool active = false;
  switch ((enum wasio__tcp_state)b->state) {
    case WASIO__TCP_CONNECTING:
      active = true;
      if (!b->connect_done) events |= EPOLLOUT;
      break;
    case WASIO__TCP_LISTENING:
      active = true;
      if (!b->accept_paused) events |= EPOLLIN;
      break;
    case WASIO__TCP_CONNECTED:
      if (b->reading) events |= EPOLLIN;
      if (b->wq_head != NULL) events |= EPOLLOUT;
      active = b->reading || b->wq_head != NULL || b->done_head != NULL ||
               (b->shutdown_req && !b->shutdown_done);
      break;
    default:
      break;
  }
  /* epoll_ctl can fail here only for lack of kernel memory (ENOMEM,
   * ENOSPC); the old interest then stays and the next update retries. */
  (void)wasio__posix_io_set(wasio__tcp_loop_of(tcp), &b->io, events);
  wasio__handle_set_active(&tcp->common.h, active);
}

/* The idle deadline: last activity plus the idle time, saturating. */
static uint64_t wasio__tcp_idle_due(const wasio_tcp_t *tcp) {
  uint64_t last = tcp->b.last_activity, idle = tcp->b.idle_ns;
  return idle > UINT64_MAX - last ? UINT64_MAX : last + idle;
}

static void wasio__tcp_touch(wasio_tcp_t *tcp) {
  tcp->b.last_activity = wasio_loop_now(wasio__tcp_loop_of(tcp));
}

/* Arms or disarms the idle deadline to match the handle's state. */
static void wasio__tcp_idle_update(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  if (b->state != WASIO__TCP_CONNECTED) return;
  bool want = b->idle_ns > 0 && (b->reading || b->wq_head != NULL);
  if (!want) {
    wasio__timer_node_disarm(loop, &b->timer);
  } else if (!wasio__timer_node_armed(&b->timer)) {
    (void)wasio__timer_node_arm(loop, &b->timer, wasio__tcp_idle_due(tcp));
  }
}

/* ---- socket setup --------------------------------------------------------- */

static int wasio__tcp_apply_keepalive(wasio_tcp_t *tcp) {
  int fd = tcp->b.io.fd;
  int on = tcp->b.keepalive ? 1 : 0;
  if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) != 0) return wasio__posix_err(errno);
  if (!on || tcp->b.keepalive_idle_ns == 0) return 0;
  /* Rounded up to whole seconds, without the overflow of adding first. */
  uint64_t ns = tcp->b.keepalive_idle_ns;
  uint64_t secs = ns / WASIO_NS_PER_S + (ns % WASIO_NS_PER_S != 0);
  int idle = secs > WASIO__TCP_KEEPIDLE_MAX_S ? WASIO__TCP_KEEPIDLE_MAX_S : (int)secs;
  int intvl = WASIO__TCP_KEEPALIVE_INTVL_S, cnt = WASIO__TCP_KEEPALIVE_CNT;
  if (setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) != 0 ||
      setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) != 0)
    return wasio__posix_err(errno);
  return 0;
}

/* Options every connected socket gets. TCP_NODELAY: wasio hands each write
 * to the socket as soon as it is queued, so Nagle's delay would only add a
 * round trip to request/response traffic. Failures are harmless. */
static void wasio__tcp_connected_opts(wasio_tcp_t *tcp) {
  int on = 1;
  (void)setsockopt(tcp->b.io.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

static int wasio__tcp_socket(wasio_tcp_t *tcp, int family) {
  int fd = socket(family == WASIO_AF_INET6 ? AF_INET6 : AF_INET,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return wasio__posix_err(errno);
  tcp->b.io.fd = fd;
  if (tcp->b.keepalive) (void)wasio__tcp_apply_keepalive(tcp);
  return 0;
}

static int wasio__tcp_family(const wasio_tcp_t *tcp) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(tcp->b.io.fd, (struct sockaddr *)&ss, &len) != 0) return 0;
  return ss.ss_family == AF_INET6 ? WASIO_AF_INET6 : WASIO_AF_INET;
}

/* ---- connect -------------------------------------------------------------- */

int wasio__tcp_connect_check(const wasio_tcp_t *tcp) {
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->b.state != WASIO__TCP_NEW && tcp->b.state != WASIO__TCP_BOUND) return WASIO_ESTATE;
  return 0;
}

/* Ends a connect attempt and reports it. On failure the handle returns to
 * NEW with no socket, ready for another connect. */
static void wasio__tcp_connect_finish(wasio_tcp_t *tcp, int status) {
  wasio__backend_tcp_t *b = &tcp->b;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  wasio_connect_cb cb = b->connect_cb;
  b->connect_cb = NULL;
  b->connect_done = 0;
  wasio__timer_node_disarm(loop, &b->timer);
  if (status == 0) {
    b->state = WASIO__TCP_CONNECTED;
    wasio__tcp_connected_opts(tcp);
    wasio__tcp_touch(tcp);
  } else {
    wasio__posix_io_close(&b->io);
    b->state = WASIO__TCP_NEW;
  }
  wasio__tcp_update(tcp);
  cb(tcp, status);
}

int wasio_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr, uint64_t timeout_ns,
                      wasio_connect_cb cb) {
  if (tcp == NULL || addr == NULL || cb == NULL) return WASIO_EINVAL;
  int rc = wasio__tcp_connect_check(tcp);
  if (rc != 0) return rc;
  struct sockaddr_storage ss;
  socklen_t sslen = wasio__posix_to_sockaddr(addr, &ss);
  if (sslen == 0) return WASIO_EINVAL;
  /* Port 0 and the unspecified address name no peer. WASI refuses them
   * with invalid-argument; refusing them here too keeps the backends alike
   * (Linux would quietly connect 0.0.0.0 to loopback). */
  wasio_addr_t any;
  wasio_addr_any((wasio_family_t)addr->family, addr->port, &any);
  if (addr->port == 0 || wasio_addr_equal(addr, &any)) return WASIO_EINVAL;
  wasio__backend_tcp_t *b = &tcp->b;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  if (b->io.fd >= 0 && wasio__tcp_family(tcp) != addr->family) return WASIO_EINVAL;
  bool fresh = b->io.fd < 0;
  if (fresh && (rc = wasio__tcp_socket(tcp, addr->family)) != 0) return rc;
  if (timeout_ns != WASIO_NO_TIMEOUT) {
    uint64_t now = wasio_loop_now(loop);
    uint64_t due = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    if ((rc = wasio__timer_node_arm(loop, &b->timer, due)) != 0) {
      if (fresh) wasio__posix_io_close(&b->io);
      return rc;
    }
  }
  b->connect_cb = cb;
  b->state = WASIO__TCP_CONNECTING;
  b->connect_done = 0;
  int r;
  do r = connect(b->io.fd, (struct sockaddr *)&ss, sslen);
  while (r != 0 && errno == EINTR);
  if (r != 0 && errno != EINPROGRESS) {
    /* Refused, unreachable...: reported through the callback like any
     * network outcome, but in phase 3, never from inside this call. */
    b->connect_done = 1;
    b->connect_status = wasio__posix_err(errno);
    wasio__posix_pending(loop, &b->io);
  } else if (r == 0) {
    b->connect_done = 1;
    b->connect_status = 0;
    wasio__posix_pending(loop, &b->io);
  }
  wasio__tcp_update(tcp);
  return 0;
}

static void wasio__tcp_connect_io(wasio_tcp_t *tcp, uint32_t events) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (b->connect_done) {
    wasio__tcp_connect_finish(tcp, b->connect_status);
    return;
  }
  if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(b->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == EINPROGRESS || err == EALREADY) return; /* not yet */
  wasio__tcp_connect_finish(tcp, wasio__posix_err(err));
}

/* ---- bind and listen -------------------------------------------------- */

int wasio_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  if (tcp == NULL || addr == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->b.state != WASIO__TCP_NEW || tcp->b.io.fd >= 0) return WASIO_ESTATE;
  struct sockaddr_storage ss;
  socklen_t sslen = wasio__posix_to_sockaddr(addr, &ss);
  if (sslen == 0) return WASIO_EINVAL;
  int rc = wasio__tcp_socket(tcp, addr->family);
  if (rc != 0) return rc;
  /* A restarted server must not wait out TIME_WAIT of its old connections. */
  int on = 1;
  (void)setsockopt(tcp->b.io.fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(tcp->b.io.fd, (struct sockaddr *)&ss, sslen) != 0) {
    rc = wasio__posix_err(errno);
    wasio__posix_io_close(&tcp->b.io);
    return rc;
  }
  tcp->b.state = WASIO__TCP_BOUND;
  return 0;
}

int wasio_tcp_listen(wasio_tcp_t *tcp, int backlog, wasio_connection_cb cb) {
  if (tcp == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->b.state != WASIO__TCP_BOUND) return WASIO_ESTATE;
  if (backlog <= 0) backlog = WASIO_TCP_BACKLOG_DEFAULT;
  if (backlog > WASIO_TCP_BACKLOG_MAX) backlog = WASIO_TCP_BACKLOG_MAX;
  if (listen(tcp->b.io.fd, backlog) != 0) return wasio__posix_err(errno);
  tcp->b.connection_cb = cb;
  tcp->b.state = WASIO__TCP_LISTENING;
  wasio__tcp_update(tcp);
  return 0;
}

/* Stops waiting for connections for WASIO_TCP_ACCEPT_PAUSE_NS; the timer
 * (wasio__tcp_on_timer) resumes. */
static void wasio__tcp_accept_pause(wasio_tcp_t *server) {
  wasio_loop_t *loop = wasio__tcp_loop_of(server);
  uint64_t now = wasio_loop_now(loop);
  /* Without a timer the listener could never resume: keep it readable. */
  if (wasio__timer_node_arm(loop, &server->b.timer, now + WASIO_TCP_ACCEPT_PAUSE_NS) != 0) return;
  server->b.accept_paused = 1;
  wasio__tcp_update(server);
}

static void wasio__tcp_accept_io(wasio_tcp_t *server) {
  wasio_loop_t *loop = wasio__tcp_loop_of(server);
  while (server->b.state == WASIO__TCP_LISTENING && !wasio__tcp_closing(server)) {
    /* Over budget: the rest stays in the backlog; epoll reports it again. */
    if (!wasio__posix_budget_take(loop, &server->b.io)) return;
    int fd;
    do fd = accept4(server->b.io.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      server->b.io.budget_used--; /* no callback was made */
      return;
    }
    if (fd < 0 && errno == ECONNABORTED) {
      /* The peer gave up before we accepted: nothing to hand over. */
      server->b.io.budget_used--;
      continue;
    }
    int status = 0;
    wasio_tcp_t *client = NULL;
    if (fd < 0) {
      status = wasio__posix_err(errno);
    } else if ((client = wasio__malloc(sizeof *client)) == NULL) {
      close(fd);
      status = WASIO_ENOMEM;
    }
    if (status != 0) {
      /* Out of descriptors or memory, the next accept would fail at once
       * (the listener stays readable): pause it (internal.h). Other errors
       * concern one connection; the next turn tries again. */
      if (wasio__accept_error_pauses(status)) wasio__tcp_accept_pause(server);
      server->b.connection_cb(server, NULL, status);
      return;
    }
    wasio__tcp_init(loop, client);
    client->b.io.fd = fd;
    client->b.state = WASIO__TCP_CONNECTED;
    wasio__tcp_connected_opts(client);
    wasio__tcp_touch(client);
    server->b.connection_cb(server, client, 0);
  }
}

/* ---- reading ---------------------------------------------------------------- */

int wasio_tcp_read_start(wasio_tcp_t *tcp, wasio_alloc_cb alloc_cb, wasio_read_cb read_cb) {
  if (tcp == NULL || read_cb == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->b.state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (tcp->b.reading) return WASIO_EBUSY;
  if (tcp->b.eof) return WASIO_EOF;
  tcp->b.reading = 1;
  tcp->b.alloc_cb = alloc_cb;
  tcp->b.read_cb = read_cb;
  wasio__tcp_touch(tcp);
  wasio__tcp_update(tcp);
  wasio__tcp_idle_update(tcp);
  return 0;
}

int wasio_tcp_read_stop(wasio_tcp_t *tcp) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (!tcp->b.reading) return 0;
  tcp->b.reading = 0;
  if (!wasio__tcp_closing(tcp)) {
    wasio__tcp_update(tcp);
    wasio__tcp_idle_update(tcp);
  }
  return 0;
}

/* Stops reading and reports `status` (< 0) as the read's last word. */
static void wasio__tcp_read_fail(wasio_tcp_t *tcp, ptrdiff_t status, const wasio_buf_t *buf) {
  wasio_read_cb cb = tcp->b.read_cb;
  tcp->b.reading = 0;
  wasio__tcp_update(tcp);
  wasio__tcp_idle_update(tcp);
  cb(tcp, status, buf);
}

static void wasio__tcp_read_io(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  while (tcp->b.reading && !wasio__tcp_closing(tcp)) {
    if (!wasio__posix_budget_take(loop, &tcp->b.io)) return; /* epoll reports it again */
    wasio_buf_t buf = {NULL, 0};
    if (tcp->b.alloc_cb != NULL) {
      tcp->b.alloc_cb(tcp, WASIO_READ_BUF_SIZE, &buf);
      if (!tcp->b.reading || wasio__tcp_closing(tcp)) return;
      if (buf.base == NULL || buf.len == 0) {
        wasio__tcp_read_fail(tcp, WASIO_ENOMEM, &buf);
        return;
      }
    } else {
      buf.base = wasio__read_buf(loop);
      buf.len = WASIO_READ_BUF_SIZE;
    }
    ssize_t n;
    do n = read(tcp->b.io.fd, buf.base, buf.len);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      /* The budget unit was not used for a callback: give it back. */
      tcp->b.io.budget_used--;
      return;
    }
    if (n <= 0) {
      if (n == 0) tcp->b.eof = 1;
      wasio__tcp_read_fail(tcp, n == 0 ? WASIO_EOF : wasio__posix_err(errno), &buf);
      return;
    }
    wasio__tcp_touch(tcp);
    tcp->b.read_cb(tcp, n, &buf);
    /* A short read means the socket is drained for now. */
    if ((size_t)n < buf.len) return;
  }
}

/* ---- writing ---------------------------------------------------------------- */

/* True if req is queued on tcp (either list). Checked only when req's
 * private pointer already names tcp, so stale garbage in a fresh request
 * costs nothing and never gives a false EBUSY. */
static bool wasio__tcp_write_queued(const wasio_tcp_t *tcp, const wasio_write_t *req) {
  if (req->wasio__tcp != tcp) return false;
  for (const wasio_write_t *w = tcp->b.wq_head; w != NULL; w = w->wasio__next)
    if (w == req) return true;
  for (const wasio_write_t *w = tcp->b.done_head; w != NULL; w = w->wasio__next)
    if (w == req) return true;
  return false;
}

static void wasio__tcp_done_push(wasio_tcp_t *tcp, wasio_write_t *req) {
  req->wasio__next = NULL;
  if (tcp->b.done_tail != NULL)
    tcp->b.done_tail->wasio__next = req;
  else
    tcp->b.done_head = req;
  tcp->b.done_tail = req;
}

/* Fails every queued write with `err` (they move to the done list). */
static void wasio__tcp_fail_writes(wasio_tcp_t *tcp, int err) {
  tcp->b.write_err = err;
  wasio_write_t *w = tcp->b.wq_head;
  tcp->b.wq_head = tcp->b.wq_tail = NULL;
  tcp->b.wq_bytes = 0;
  while (w != NULL) {
    wasio_write_t *next = w->wasio__next;
    w->wasio__done = WASIO__WRITE_FAILED;
    wasio__tcp_done_push(tcp, w);
    w = next;
  }
}

/* Hands the socket as much of the queue as it accepts; completed requests
 * move to the done list. Returns true if anything completed. */
static bool wasio__tcp_flush(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  bool completed = false;
  while (b->wq_head != NULL) {
    struct iovec iov[WASIO__TCP_IOV_MAX];
    int n = 0;
    for (wasio_write_t *w = b->wq_head; w != NULL && n < WASIO__TCP_IOV_MAX; w = w->wasio__next) {
      if (w->wasio__len == w->wasio__done) continue;
      iov[n].iov_base = (void *)(w->wasio__base + w->wasio__done);
      iov[n].iov_len = w->wasio__len - w->wasio__done;
      n++;
    }
    size_t sent = 0;
    if (n > 0) {
      struct msghdr msg;
      memset(&msg, 0, sizeof msg);
      msg.msg_iov = iov;
      msg.msg_iovlen = (size_t)n;
      ssize_t r;
      /* MSG_NOSIGNAL: a closed peer is an EPIPE status, never a SIGPIPE.
       * MSG_MORE inside the handle's own dispatch: see the notes. */
      int flags = MSG_NOSIGNAL | (b->in_io ? MSG_MORE : 0);
      do r = sendmsg(b->io.fd, &msg, flags);
      while (r < 0 && errno == EINTR);
      if (r > 0) b->corked = b->in_io;
      if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return completed;
        wasio__tcp_fail_writes(tcp, wasio__posix_err(errno));
        return true;
      }
      sent = (size_t)r;
      if (sent > 0) wasio__tcp_touch(tcp);
    }
    b->wq_bytes -= sent;
    /* Credit the bytes to the requests in order; zero-length requests
     * complete as soon as everything before them has. */
    while (b->wq_head != NULL) {
      wasio_write_t *w = b->wq_head;
      size_t left = w->wasio__len - w->wasio__done;
      size_t take = sent < left ? sent : left;
      w->wasio__done += take;
      sent -= take;
      if (w->wasio__done < w->wasio__len) break;
      b->wq_head = w->wasio__next;
      if (b->wq_head == NULL) b->wq_tail = NULL;
      wasio__tcp_done_push(tcp, w);
      completed = true;
    }
    if (b->wq_head != NULL && b->wq_head->wasio__done < b->wq_head->wasio__len && n < WASIO__TCP_IOV_MAX)
      return completed; /* a short write: the socket buffer is full */
  }
  return completed;
}

/* Sends what MSG_MORE left in the kernel: setting TCP_NODELAY (already on)
 * pushes the pending frames. A failure leaves them for the next send, the
 * close or the shutdown, which all push too. */
static void wasio__tcp_uncork(wasio_tcp_t *tcp) {
  if (!tcp->b.corked) return;
  tcp->b.corked = 0;
  int on = 1;
  (void)setsockopt(tcp->b.io.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

static int wasio__tcp_write_status(const wasio_tcp_t *tcp, const wasio_write_t *req) {
  return req->wasio__done == WASIO__WRITE_FAILED ? tcp->b.write_err : 0;
}

/* Runs write callbacks from the done list, within the turn's budget. */
static void wasio__tcp_done_io(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  while (tcp->b.done_head != NULL && !wasio__tcp_closing(tcp)) {
    if (!wasio__posix_budget_take(loop, &tcp->b.io)) {
      wasio__posix_pending(loop, &tcp->b.io); /* the rest next turn */
      return;
    }
    wasio_write_t *w = tcp->b.done_head;
    tcp->b.done_head = w->wasio__next;
    if (tcp->b.done_head == NULL) tcp->b.done_tail = NULL;
    int status = wasio__tcp_write_status(tcp, w);
    w->wasio__next = NULL;
    w->wasio__tcp = NULL;
    wasio__tcp_update(tcp);
    w->wasio__cb(w, status);
  }
}

int wasio_tcp_write(wasio_tcp_t *tcp, wasio_write_t *req, const void *base, size_t len,
                    wasio_write_cb cb) {
  if (tcp == NULL || req == NULL || cb == NULL || (base == NULL && len > 0)) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->b.state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (tcp->b.shutdown_req) return WASIO_EPIPE;
  if (wasio__tcp_write_queued(tcp, req)) return WASIO_EBUSY;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  req->wasio__next = NULL;
  req->wasio__tcp = tcp;
  req->wasio__base = base;
  req->wasio__len = len;
  req->wasio__done = 0;
  req->wasio__cb = cb;
  if (tcp->b.write_err != 0) {
    /* The stream already failed: this write fails the same way, later. */
    req->wasio__done = WASIO__WRITE_FAILED;
    wasio__tcp_done_push(tcp, req);
    wasio__posix_pending(loop, &tcp->b.io);
    wasio__tcp_update(tcp);
    return 0;
  }
  bool was_empty = tcp->b.wq_head == NULL;
  if (tcp->b.wq_tail != NULL)
    tcp->b.wq_tail->wasio__next = req;
  else
    tcp->b.wq_head = req;
  tcp->b.wq_tail = req;
  tcp->b.wq_bytes += len;
  if (was_empty) {
    if (wasio__tcp_flush(tcp)) wasio__posix_pending(loop, &tcp->b.io);
    if (tcp->b.wq_head != NULL) wasio__tcp_touch(tcp);
  }
  wasio__tcp_update(tcp);
  wasio__tcp_idle_update(tcp);
  return 0;
}

size_t wasio_tcp_write_queue_size(const wasio_tcp_t *tcp) { return tcp->b.wq_bytes; }

/* ---- shutdown ------------------------------------------------------------- */

int wasio_tcp_shutdown(wasio_tcp_t *tcp, wasio_shutdown_cb cb) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->b.state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (tcp->b.shutdown_req) return WASIO_EBUSY;
  tcp->b.shutdown_req = 1;
  tcp->b.shutdown_cb = cb;
  if (tcp->b.wq_head == NULL) wasio__posix_pending(wasio__tcp_loop_of(tcp), &tcp->b.io);
  wasio__tcp_update(tcp);
  return 0;
}

/* Shuts the sending side once the queue has drained, then reports. */
static void wasio__tcp_shutdown_io(wasio_tcp_t *tcp) {
  wasio__backend_tcp_t *b = &tcp->b;
  if (!b->shutdown_req || b->shutdown_done || b->wq_head != NULL || b->done_head != NULL) return;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  if (!wasio__posix_budget_take(loop, &b->io)) {
    wasio__posix_pending(loop, &b->io);
    return;
  }
  int status = b->write_err;
  if (status == 0 && shutdown(b->io.fd, SHUT_WR) != 0) status = wasio__posix_err(errno);
  b->shutdown_done = 1;
  wasio_shutdown_cb cb = b->shutdown_cb;
  b->shutdown_cb = NULL;
  wasio__tcp_update(tcp);
  if (cb != NULL) cb(tcp, status);
}

/* ---- phase 3 ------------------------------------------------------------------ */

/* A connected handle's work in one dispatch: writes the socket now takes,
 * write callbacks, a due shutdown, reads; then the callbacks of writes that
 * the read callbacks queued (they completed at once, or wait for EPOLLOUT),
 * so a response and the train its callbacks chain go out in this dispatch
 * (within the budget), not one turn later. */
static void wasio__tcp_connected_io(wasio_tcp_t *tcp, uint32_t events) {
  if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && tcp->b.wq_head != NULL) wasio__tcp_flush(tcp);
  wasio__tcp_update(tcp);
  wasio__tcp_done_io(tcp);
  if (wasio__tcp_closing(tcp)) return;
  wasio__tcp_shutdown_io(tcp);
  if (wasio__tcp_closing(tcp)) return;
  if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) return;
  wasio__tcp_read_io(tcp);
  if (wasio__tcp_closing(tcp) || tcp->b.state != WASIO__TCP_CONNECTED) return;
  wasio__tcp_done_io(tcp);
  if (wasio__tcp_closing(tcp)) return;
  wasio__tcp_shutdown_io(tcp);
}

void wasio__posix_tcp_io(wasio_tcp_t *tcp, uint32_t events) {
  switch ((enum wasio__tcp_state)tcp->b.state) {
    case WASIO__TCP_CONNECTING:
      wasio__tcp_connect_io(tcp, events);
      return;
    case WASIO__TCP_LISTENING:
      if (events & EPOLLIN) wasio__tcp_accept_io(tcp);
      return;
    case WASIO__TCP_CONNECTED:
      break;
    default:
      return;
  }
  tcp->b.in_io = 1;
  wasio__tcp_connected_io(tcp, events);
  /* A close inside the dispatch pushed and closed the socket already. */
  tcp->b.in_io = 0;
  if (wasio__tcp_closing(tcp)) return;
  wasio__tcp_uncork(tcp);
  wasio__tcp_idle_update(tcp);
}

void wasio__tcp_on_timer(wasio__timer_node_t *node) {
  wasio_tcp_t *tcp = WASIO__CONTAINER_OF(node, wasio_tcp_t, b.timer);
  wasio__backend_tcp_t *b = &tcp->b;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  if (wasio__tcp_closing(tcp)) return;
  if (b->state == WASIO__TCP_LISTENING) {
    /* The accept pause is over: wait for connections again. */
    b->accept_paused = 0;
    wasio__tcp_update(tcp);
    return;
  }
  if (b->state == WASIO__TCP_CONNECTING) {
    wasio__tcp_connect_finish(tcp, WASIO_ETIMEDOUT);
    return;
  }
  if (b->state != WASIO__TCP_CONNECTED || b->idle_ns == 0) return;
  uint64_t due = wasio__tcp_idle_due(tcp);
  if (due > wasio_loop_now(loop)) {
    /* There was activity since the node was armed: move the deadline. */
    (void)wasio__timer_node_arm(loop, &b->timer, due);
    return;
  }
  /* Idle for too long: queued writes fail, then the pending read. */
  if (b->wq_head != NULL) {
    wasio__tcp_fail_writes(tcp, WASIO_ETIMEDOUT);
    wasio__posix_pending(loop, &b->io);
  }
  wasio__tcp_update(tcp);
  if (b->reading) {
    wasio_buf_t buf = {NULL, 0};
    wasio__tcp_read_fail(tcp, WASIO_ETIMEDOUT, &buf);
  }
}

/* ---- options and addresses ------------------------------------------------------ */

int wasio_tcp_set_idle_timeout(wasio_tcp_t *tcp, uint64_t idle_ns) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  tcp->b.idle_ns = idle_ns;
  if (tcp->b.state == WASIO__TCP_CONNECTED) {
    wasio__tcp_touch(tcp);
    wasio__timer_node_disarm(wasio__tcp_loop_of(tcp), &tcp->b.timer);
    wasio__tcp_idle_update(tcp);
  }
  return 0;
}

int wasio_tcp_keepalive(wasio_tcp_t *tcp, bool enable, uint64_t idle_ns) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  tcp->b.keepalive = enable ? 1 : 0;
  tcp->b.keepalive_idle_ns = idle_ns;
  /* Without a socket yet, the setting is applied when one is created. */
  return tcp->b.io.fd >= 0 ? wasio__tcp_apply_keepalive(tcp) : 0;
}

int wasio_tcp_local_addr(const wasio_tcp_t *tcp, wasio_addr_t *out) {
  if (tcp == NULL || out == NULL) return WASIO_EINVAL;
  if (tcp->b.io.fd < 0) return WASIO_ESTATE;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(tcp->b.io.fd, (struct sockaddr *)&ss, &len) != 0) return wasio__posix_err(errno);
  return wasio__posix_from_sockaddr((struct sockaddr *)&ss, out);
}

int wasio_tcp_peer_addr(const wasio_tcp_t *tcp, wasio_addr_t *out) {
  if (tcp == NULL || out == NULL) return WASIO_EINVAL;
  if (tcp->b.state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getpeername(tcp->b.io.fd, (struct sockaddr *)&ss, &len) != 0) return wasio__posix_err(errno);
  return wasio__posix_from_sockaddr((struct sockaddr *)&ss, out);
}

void wasio_tcp_set_data(wasio_tcp_t *tcp, void *data) { tcp->common.h.data = data; }
void *wasio_tcp_data(const wasio_tcp_t *tcp) { return tcp->common.h.data; }
wasio_loop_t *wasio_tcp_loop(const wasio_tcp_t *tcp) { return tcp->common.h.loop; }

/* ---- close ------------------------------------------------------------------- */

void wasio_tcp_close(wasio_tcp_t *tcp, wasio_tcp_close_cb cb) {
  if (tcp == NULL) return;
  /* Marking closing first makes a close from a callback below a no-op. */
  if (!wasio__handle_close(&tcp->common.h, (void (*)(void *))cb)) return;
  wasio__backend_tcp_t *b = &tcp->b;
  wasio_loop_t *loop = wasio__tcp_loop_of(tcp);
  wasio__connect_host_cancel(tcp);

  /* Detach everything that still owes a callback, then release the socket,
   * then report: the callbacks see a handle that is already closed. */
  wasio_connect_cb connect_cb = b->state == WASIO__TCP_CONNECTING ? b->connect_cb : NULL;
  wasio_write_t *done = b->done_head, *queued = b->wq_head;
  wasio_shutdown_cb shutdown_cb = b->shutdown_req && !b->shutdown_done ? b->shutdown_cb : NULL;
  bool shutdown_pending = b->shutdown_req && !b->shutdown_done;
  b->connect_cb = NULL;
  b->done_head = b->done_tail = b->wq_head = b->wq_tail = NULL;
  b->wq_bytes = 0;
  b->shutdown_cb = NULL;
  b->shutdown_done = 1;
  b->reading = 0;
  b->state = WASIO__TCP_CLOSED;
  wasio__timer_node_disarm(loop, &b->timer);
  /* Bytes held by MSG_MORE go out before the close: with unread input the
   * close resets the connection and would drop them. */
  wasio__tcp_uncork(tcp);
  b->in_io = 0;
  wasio__posix_io_close(&b->io);
  wasio__handle_set_active(&tcp->common.h, false);

  if (connect_cb != NULL) connect_cb(tcp, WASIO_ECANCELED);
  while (done != NULL) {
    wasio_write_t *next = done->wasio__next;
    int status = wasio__tcp_write_status(tcp, done);
    done->wasio__next = NULL;
    done->wasio__tcp = NULL;
    done->wasio__cb(done, status);
    done = next;
  }
  while (queued != NULL) {
    wasio_write_t *next = queued->wasio__next;
    queued->wasio__next = NULL;
    queued->wasio__tcp = NULL;
    queued->wasio__cb(queued, WASIO_ECANCELED);
    queued = next;
  }
  if (shutdown_pending && shutdown_cb != NULL) shutdown_cb(tcp, WASIO_ECANCELED);
}

void wasio__tcp_free(wasio_tcp_t *tcp) {
  /* Everything else was released by wasio_tcp_close; the core frees the
   * memory. */
  wasio__posix_pending_remove(tcp->common.h.loop, &tcp->b.io);
}
