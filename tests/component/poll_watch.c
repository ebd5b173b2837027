// wasio-test: net
// wasio-test: timeout 120
// wasio-test: cc --posix
/* tests/component/poll_watch.c: wasio/poll.h, a watcher on a plain socket
 * of the C library (socket(2), connect(2), recv(2), send(2)) in one loop
 * with a wasio timer and a wasio TCP server, over loopback.
 *
 * On wasip2 the socket is the wasip2 libc's, and the watcher reaches its
 * pollables through the libc's internal descriptor table of the pinned
 * version (src/backend/wasip2/poll.c): connect_ok, refused, level_triggered
 * and listener fail (or trap) if that layout moved, since each depends on
 * the libc's own registration and finish functions being the ones called
 * (a finished connect is seen by getsockopt(SO_ERROR) only through them).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testlib.h"

/* ---- a wasio TCP server in the same loop: echoes, or greets ---------------- */
typedef struct server {
  wasio_loop_t *loop;
  wasio_tcp_t *listener;
  uint16_t port;
  int accepted;
  const char *greeting;    /* written to each client first, if set */
  tconn_t conns[4];
} server_t;

static void server_echo_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  tconn_t *c = wasio_tcp_data(tcp);
  if (nread > 0) {
    tconn_write(c, buf->base, (size_t)nread);
    c->in_total += (size_t)nread;
  } else {
    c->read_status = (int)nread;
  }
}

static void server_on_conn(wasio_tcp_t *listener, wasio_tcp_t *client, int status) {
  server_t *s = wasio_tcp_data(listener);
  ASSERT_WASIO(0, status);
  ASSERT_LT_INT(s->accepted, 4);
  tconn_t *c = &s->conns[s->accepted++];
  tconn_adopt(c, client, 1 << 16);
  if (s->greeting != NULL) tconn_write_str(c, s->greeting);
  ASSERT_OK(wasio_tcp_read_start(client, NULL, server_echo_read));
}

static void server_start(wasio_loop_t *loop, server_t *s, const char *greeting) {
  memset(s, 0, sizeof *s);
  s->loop = loop;
  s->greeting = greeting;
  ASSERT_OK(wasio_tcp_new(loop, &s->listener));
  wasio_tcp_set_data(s->listener, s);
  wasio_addr_t any = loopback(WASIO_AF_INET, 0), local;
  ASSERT_OK(wasio_tcp_bind(s->listener, &any));
  ASSERT_OK(wasio_tcp_listen(s->listener, 0, server_on_conn));
  ASSERT_OK(wasio_tcp_local_addr(s->listener, &local));
  s->port = local.port;
}

static void server_stop(wasio_loop_t *loop, server_t *s) {
  for (int i = 0; i < s->accepted; i++) tconn_close(loop, &s->conns[i]);
  wasio_tcp_close(s->listener, NULL);
}

/* ---- plain sockets -------------------------------------------------------------- */
static int plain_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE_INT(fd, 0);
  int fl = fcntl(fd, F_GETFL);
  ASSERT_GE_INT(fl, 0);
  ASSERT_EQ_INT(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
  return fd;
}

static struct sockaddr_in sin_loopback(uint16_t port) {
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sin;
}

/* Starts a non-blocking connect to 127.0.0.1:port. `refusal_ok`: the host
 * may refuse at once (jco does) instead of later. */
static int plain_connect_to(uint16_t port, bool refusal_ok) {
  int fd = plain_socket();
  struct sockaddr_in sin = sin_loopback(port);
  int rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
  ASSERT_TRUE(rc == 0 || errno == EINPROGRESS || (refusal_ok && errno == ECONNREFUSED));
  return fd;
}
static int plain_connect(uint16_t port) { return plain_connect_to(port, false); }

static int so_error(int fd) {
  int err = -1;
  socklen_t len = sizeof err;
  ASSERT_EQ_INT(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
  return err;
}

/* ---- what a watcher saw -------------------------------------------------------- */
typedef struct seen {
  int calls;
  int status;
  int events;      /* of the last callback */
  int all;         /* every event seen */
  uint64_t turn;   /* of the last callback */
  int max_per_turn;
  int this_turn;
  bool stop_after; /* stop from inside the first callback */
} seen_t;

static void on_poll(wasio_poll_t *p, int status, int events) {
  seen_t *s = wasio_poll_data(p);
  wasio_loop_stats_t st;
  wasio_loop_stats(wasio_poll_loop(p), &st);
  if (s->calls > 0 && st.turns == s->turn) s->this_turn++;
  else s->this_turn = 1;
  if (s->this_turn > s->max_per_turn) s->max_per_turn = s->this_turn;
  s->turn = st.turns;
  s->calls++;
  s->status = status;
  s->events = events;
  s->all |= events;
  if (status == 0) ASSERT_TRUE(events != 0 && (events & ~WASIO_POLL_EVENTS_ALL) == 0);
  else ASSERT_EQ_INT(events, 0);
  if (s->stop_after) ASSERT_OK(wasio_poll_stop(p));
}

static int closed_count;
static void on_closed(wasio_poll_t *p) { closed_count++; }

static void tick(wasio_timer_t *t) { (*(int *)wasio_timer_data(t))++; }

/* ---- tests ------------------------------------------------------------------------- */

TEST(new_errors) {
  wasio_loop_t *loop = new_loop();
  wasio_poll_t *p = NULL, *q = NULL;
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_new(loop, -1, &p));
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_new(NULL, 0, &p));
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_new(loop, 0, NULL));
  int fd = plain_socket();
  /* A descriptor that is not open. */
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_new(loop, fd + 1000, &p));
  /* Open but no socket: standard output. */
  ASSERT_WASIO(WASIO_ENOTSUP, wasio_poll_new(loop, 1, &p));
  ASSERT_OK(wasio_poll_new(loop, fd, &p));
  ASSERT_EQ_INT(wasio_poll_fd(p), fd);
  ASSERT_EQ_INT(wasio_poll_events(p), 0);
  ASSERT_TRUE(wasio_poll_loop(p) == loop);
  /* One open watcher per descriptor. */
  ASSERT_WASIO(WASIO_EBUSY, wasio_poll_new(loop, fd, &q));
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_start(p, 0, on_poll));
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_start(p, 4, on_poll));
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_start(p, WASIO_POLL_READABLE, NULL));
  ASSERT_WASIO(WASIO_EINVAL, wasio_poll_stop(NULL));
  ASSERT_OK(wasio_poll_stop(p)); /* stopped already: fine */
  closed_count = 0;
  wasio_poll_close(p, on_closed);
  wasio_poll_close(p, on_closed); /* idempotent */
  ASSERT_WASIO(WASIO_ECLOSING, wasio_poll_start(p, WASIO_POLL_READABLE, on_poll));
  /* A closing watcher no longer holds the descriptor. */
  ASSERT_OK(wasio_poll_new(loop, fd, &q));
  wasio_poll_close(q, on_closed);
  ASSERT_EQ_INT(closed_count, 0); /* never from inside the call */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_EQ_INT(closed_count, 2);
  close(fd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A connect finished through the watcher; the libc (and the library) then
 * sees a connected socket: SO_ERROR 0, send, and the echo read back; a
 * timer and the wasio server run in the same loop meanwhile, one wait per
 * turn. */
TEST(connect_ok) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  server_t srv;
  server_start(loop, &srv, NULL);
  int ticks = 0;
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  wasio_timer_set_data(t, &ticks);
  ASSERT_OK(wasio_timer_start(t, tick, WASIO_NS_PER_MS, WASIO_NS_PER_MS));

  int fd = plain_connect(srv.port);
  wasio_poll_t *p;
  seen_t s = {0};
  ASSERT_OK(wasio_poll_new(loop, fd, &p));
  wasio_poll_set_data(p, &s);
  ASSERT_TRUE(wasio_poll_data(p) == &s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_WRITABLE, on_poll));
  ASSERT_EQ_INT(wasio_poll_events(p), WASIO_POLL_WRITABLE);
  WAIT_UNTIL(loop, s.calls > 0);
  ASSERT_WASIO(0, s.status);
  ASSERT_EQ_INT(s.events, WASIO_POLL_WRITABLE);
  ASSERT_EQ_INT(so_error(fd), 0);
  /* The libc's own poll() agrees: the socket is connected and writable. */
  struct pollfd pf = {.fd = fd, .events = POLLOUT};
  ASSERT_EQ_INT(poll(&pf, 1, 0), 1);
  ASSERT_TRUE((pf.revents & POLLOUT) != 0);

  static const char msg[] = "hello through a watched socket";
  ASSERT_EQ_INT(send(fd, msg, sizeof msg, 0), (long)sizeof msg);
  memset(&s, 0, sizeof s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_READABLE, on_poll));
  char got[64];
  size_t have = 0;
  while (have < sizeof msg) {
    WAIT_UNTIL(loop, s.calls > 0);
    ASSERT_EQ_INT(s.events, WASIO_POLL_READABLE);
    ssize_t n = recv(fd, got + have, sizeof got - have, 0);
    ASSERT_GT_INT(n, 0);
    have += (size_t)n;
    s.calls = 0;
  }
  ASSERT_EQ_MEM(got, msg, sizeof msg);
  ASSERT_EQ_INT(srv.accepted, 1);

  /* Both events at once: writable now, readable not (nothing sent). A
   * host may report an input stream ready until a read comes back empty
   * (wasmtime does; the libc's own poll() says the same): such a readable
   * is spurious, and the read finds nothing, as with poll(2). */
  memset(&s, 0, sizeof s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_EVENTS_ALL, on_poll));
  WAIT_UNTIL(loop, s.calls > 0);
  ASSERT_TRUE((s.events & WASIO_POLL_WRITABLE) != 0);
  if (s.events & WASIO_POLL_READABLE) {
#ifdef __wasi__
    ASSERT_EQ_INT(recv(fd, got, sizeof got, 0), -1);
    ASSERT_EQ_INT(errno, EAGAIN);
#else
    harness_fail(__FILE__, __LINE__, "readable with nothing sent");
#endif
  }

  /* One wait per turn, watcher, timer and server together. */
  wasio_loop_stats_t a, b;
  wasio_loop_stats(loop, &a);
  sleep_ms(loop, 20);
  wasio_loop_stats(loop, &b);
  ASSERT_LE_U64(b.polls - a.polls, b.turns - a.turns);
  ASSERT_GT_INT(ticks, 0);
  ASSERT_EQ_INT(s.max_per_turn, 1);

  wasio_poll_close(p, NULL);
  close(fd);
  wasio_timer_close(t, NULL);
  server_stop(loop, &srv);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A refused connect: the watcher reports it as the events it waits for,
 * and SO_ERROR tells why, as poll(2) and getsockopt(2) would. */
TEST(refused) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  /* A port with nothing listening: bound, then closed. */
  server_t srv;
  server_start(loop, &srv, NULL);
  uint16_t port = srv.port;
  server_stop(loop, &srv);
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 1);

  int fd = plain_connect_to(port, true);
  wasio_poll_t *p;
  seen_t s = {0};
  ASSERT_OK(wasio_poll_new(loop, fd, &p));
  wasio_poll_set_data(p, &s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_EVENTS_ALL, on_poll));
  WAIT_UNTIL(loop, s.calls > 0);
  ASSERT_WASIO(0, s.status);
  ASSERT_TRUE((s.events & WASIO_POLL_WRITABLE) != 0);
  ASSERT_EQ_INT(so_error(fd), ECONNREFUSED);
  wasio_poll_close(p, NULL);
  close(fd);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Level-triggered: data left unread is reported again in each later turn,
 * once per turn; a stop inside the callback ends it at once; and a steady
 * state allocates nothing. */
TEST(level_triggered) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  server_t srv;
  server_start(loop, &srv, "greeting\n");
  int fd = plain_connect(srv.port);
  wasio_poll_t *p;
  seen_t s = {0};
  ASSERT_OK(wasio_poll_new(loop, fd, &p));
  wasio_poll_set_data(p, &s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_READABLE, on_poll));
  WAIT_UNTIL(loop, s.calls >= 3);
  ASSERT_EQ_INT(s.max_per_turn, 1);
  ASSERT_EQ_INT(s.all, WASIO_POLL_READABLE);

  wasio_loop_stats_t a, b;
  wasio_loop_stats(loop, &a);
  int before = s.calls;
  for (int i = 0; i < 50; i++) ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_ONCE), 1);
  wasio_loop_stats(loop, &b);
  ASSERT_EQ_INT(s.calls - before, 50);
  ASSERT_EQ_U64(b.allocations - a.allocations, 0);

  s.stop_after = true;
  before = s.calls;
  WAIT_UNTIL(loop, s.calls > before);
  ASSERT_EQ_INT(wasio_poll_events(p), 0);
  before = s.calls;
  for (int i = 0; i < 5; i++) wasio_loop_run(loop, WASIO_RUN_NOWAIT);
  ASSERT_EQ_INT(s.calls, before);

  char buf[32];
  ASSERT_EQ_INT(recv(fd, buf, sizeof buf, 0), 9);
  ASSERT_EQ_MEM(buf, "greeting\n", 9);
  wasio_poll_close(p, NULL);
  close(fd);
  server_stop(loop, &srv);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A plain listening socket watched for connections that a wasio client
 * makes in the same loop. */
TEST(listener) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  int lfd = plain_socket();
  struct sockaddr_in sin = sin_loopback(0);
  ASSERT_EQ_INT(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
  ASSERT_EQ_INT(listen(lfd, 8), 0);
  socklen_t len = sizeof sin;
  ASSERT_EQ_INT(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
  wasio_poll_t *p;
  seen_t s = {0};
  ASSERT_OK(wasio_poll_new(loop, lfd, &p));
  wasio_poll_set_data(p, &s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_READABLE, on_poll));

  tconn_t c;
  tconn_new(loop, &c, 1024);
  wasio_addr_t to = loopback(WASIO_AF_INET, ntohs(sin.sin_port));
  tconn_connect_ok(loop, &c, &to);
  WAIT_UNTIL(loop, s.calls > 0);
  ASSERT_EQ_INT(s.events, WASIO_POLL_READABLE);
  int afd = accept(lfd, NULL, NULL);
  ASSERT_GE_INT(afd, 0);
  ASSERT_EQ_INT(send(afd, "x", 1, 0), 1);
  tconn_read_start(&c);
  WAIT_UNTIL(loop, c.in_total >= 1);
  close(afd);
  tconn_close(loop, &c);
  wasio_poll_close(p, NULL);
  close(lfd);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A plain UDP socket (the libc's UDP descriptors register their datagram
 * streams' pollables and have no finish function of their own: the other
 * path of the wasip2 backend) receives a datagram a wasio UDP handle sends. */
static int udp_sent;
static void on_udp_sent(wasio_udp_send_t *req, int status) {
  ASSERT_WASIO(0, status);
  udp_sent++;
}

TEST(udp_readable) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE_INT(fd, 0);
  ASSERT_EQ_INT(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
  struct sockaddr_in sin = sin_loopback(0);
  ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  socklen_t len = sizeof sin;
  ASSERT_EQ_INT(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  wasio_poll_t *p;
  seen_t s = {0};
  ASSERT_OK(wasio_poll_new(loop, fd, &p));
  wasio_poll_set_data(p, &s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_READABLE, on_poll));
  /* One turn first: the watcher's registration makes the libc create the
   * socket's datagram streams (as its first recv or poll would); jco drops
   * datagrams that arrive at a bound socket before those exist. */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 1);
  ASSERT_EQ_INT(s.calls, 0);

  wasio_udp_t *u;
  ASSERT_OK(wasio_udp_new(loop, &u));
  wasio_addr_t any = loopback(WASIO_AF_INET, 0), to = loopback(WASIO_AF_INET, ntohs(sin.sin_port));
  ASSERT_OK(wasio_udp_bind(u, &any));
  wasio_udp_send_t req;
  udp_sent = 0;
  ASSERT_OK(wasio_udp_send(u, &req, "datagram", 8, &to, on_udp_sent));
  WAIT_UNTIL(loop, s.calls > 0);
  ASSERT_EQ_INT(s.events, WASIO_POLL_READABLE);
  char buf[16];
  ASSERT_EQ_INT(recv(fd, buf, sizeof buf, 0), 8);
  ASSERT_EQ_MEM(buf, "datagram", 8);
  ASSERT_EQ_INT(udp_sent, 1);
  wasio_udp_close(u, NULL);
  wasio_poll_close(p, NULL);
  close(fd);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A library closes its socket right after the watcher's close and watches
 * the next one, which may get the same number, in the same turn. */
static int reuse_fd;
static wasio_poll_t *reuse_next;
static seen_t reuse_seen;
static void on_reuse(wasio_poll_t *p, int status, int events) {
  wasio_loop_t *loop = wasio_poll_loop(p);
  int old = wasio_poll_fd(p);
  wasio_poll_close(p, NULL);
  close(old);
  server_t *srv = wasio_poll_data(p);
  reuse_fd = plain_connect(srv->port);
  ASSERT_OK(wasio_poll_new(loop, reuse_fd, &reuse_next));
  wasio_poll_set_data(reuse_next, &reuse_seen);
  ASSERT_OK(wasio_poll_start(reuse_next, WASIO_POLL_WRITABLE, on_poll));
}

TEST(close_and_reuse) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  server_t srv;
  server_start(loop, &srv, NULL);
  int fd = plain_connect(srv.port);
  wasio_poll_t *p;
  ASSERT_OK(wasio_poll_new(loop, fd, &p));
  wasio_poll_set_data(p, &srv);
  memset(&reuse_seen, 0, sizeof reuse_seen);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_WRITABLE, on_reuse));
  WAIT_UNTIL(loop, reuse_seen.calls > 0);
  ASSERT_EQ_INT(reuse_seen.events, WASIO_POLL_WRITABLE);
  ASSERT_EQ_INT(so_error(reuse_fd), 0);
  wasio_poll_close(reuse_next, NULL);
  close(reuse_fd);
  server_stop(loop, &srv);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A descriptor closed while its watcher waits: on wasip2 the libc's table
 * no longer has it and the callback says so; natively epoll forgets it
 * silently (wasio/poll.h), so there is nothing to see. */
TEST(fd_closed_under_watcher) {
#ifndef __wasi__
  harness_skip("natively epoll drops a closed descriptor without a word (wasio/poll.h)");
#endif
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  int fd = plain_socket();
  struct sockaddr_in sin = sin_loopback(0);
  ASSERT_EQ_INT(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
  ASSERT_EQ_INT(listen(fd, 8), 0);
  wasio_poll_t *p;
  seen_t s = {0};
  ASSERT_OK(wasio_poll_new(loop, fd, &p));
  wasio_poll_set_data(p, &s);
  ASSERT_OK(wasio_poll_start(p, WASIO_POLL_READABLE, on_poll));
  close(fd);
  WAIT_UNTIL(loop, s.calls > 0);
  ASSERT_WASIO(WASIO_EINVAL, s.status);
  ASSERT_EQ_INT(wasio_poll_events(p), 0);
  wasio_poll_close(p, NULL);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
