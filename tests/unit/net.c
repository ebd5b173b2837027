/* tests/unit/net.c: native-only checks of the posix backend and of
 * wasio_tcp_connect_host, against in-process loopback peers. */
#include <stdlib.h>

#include "testlib.h"

/* ---- an in-process echo server ------------------------------------------------ */

#define ECHO_MAX_CONNS 8
#define PING_LEN 4

typedef struct echo_conn {
  wasio_tcp_t *tcp;
  wasio_write_t req;
  uint8_t buf[PING_LEN];
} echo_conn_t;

static echo_conn_t echo_conns[ECHO_MAX_CONNS];
static int echo_nconns;

static void echo_write_cb(wasio_write_t *req, int status) {}

static void echo_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  echo_conn_t *c = wasio_tcp_data(tcp);
  if (nread < 0) {
    wasio_tcp_close(tcp, NULL);
    return;
  }
  if (nread != PING_LEN) return; /* bulk data (not a ping): swallowed */
  memcpy(c->buf, buf->base, (size_t)nread);
  ASSERT_OK(wasio_tcp_write(tcp, &c->req, c->buf, (size_t)nread, echo_write_cb));
}

static void echo_conn_cb(wasio_tcp_t *server, wasio_tcp_t *client, int status) {
  ASSERT_OK(status);
  ASSERT_LT_INT(echo_nconns, ECHO_MAX_CONNS);
  echo_conn_t *c = &echo_conns[echo_nconns++];
  c->tcp = client;
  wasio_tcp_set_data(client, c);
  ASSERT_OK(wasio_tcp_read_start(client, NULL, echo_read_cb));
}

static wasio_tcp_t *echo_server(wasio_loop_t *loop, wasio_family_t family, uint16_t *port) {
  wasio_tcp_t *server;
  wasio_addr_t addr;
  wasio_addr_loopback(family, 0, &addr);
  ASSERT_OK(wasio_tcp_new(loop, &server));
  ASSERT_OK(wasio_tcp_bind(server, &addr));
  ASSERT_OK(wasio_tcp_listen(server, 0, echo_conn_cb));
  ASSERT_OK(wasio_tcp_local_addr(server, &addr));
  *port = addr.port;
  echo_nconns = 0;
  return server;
}

static void close_echo_conns(void) {
  for (int i = 0; i < echo_nconns; i++) wasio_tcp_close(echo_conns[i].tcp, NULL);
}

/* ---- the client side ---------------------------------------------------------- */

typedef struct client {
  wasio_tcp_t *tcp;
  int connects;
  int connect_status;
  int closes;
  size_t got;
  int pongs;
  int stop_after;
  wasio_write_t req;
} client_t;

static void client_connect_cb(wasio_tcp_t *tcp, int status) {
  client_t *c = wasio_tcp_data(tcp);
  /* The connect callback always comes before the close callback. */
  ASSERT_EQ_INT(c->closes, 0);
  c->connects++;
  c->connect_status = status;
}

static void client_close_cb(wasio_tcp_t *tcp) {
  client_t *c = wasio_tcp_data(tcp);
  c->closes++;
}

static void ping_write_cb(wasio_write_t *req, int status) { ASSERT_OK(status); }

static void client_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  client_t *c = wasio_tcp_data(tcp);
  ASSERT_GT_INT(nread, 0);
  c->got += (size_t)nread;
  if (c->got < PING_LEN) return;
  c->got = 0;
  c->pongs++;
  if (c->pongs == c->stop_after) {
    wasio_loop_stop(wasio_tcp_loop(tcp));
    return;
  }
  ASSERT_OK(wasio_tcp_write(tcp, &c->req, "ping", PING_LEN, ping_write_cb));
}

static void run_until(wasio_loop_t *loop, const int *flag, int want) {
  for (int i = 0; *flag < want; i++) {
    ASSERT_LT_INT(i, 100000);
    ASSERT_GE_INT(wasio_loop_run(loop, WASIO_RUN_ONCE), 0);
  }
}


/* ---- tests ---------------------------------------------------------------------- */

TEST(connect_host_numeric_and_name) {
  const char *hosts[] = {"127.0.0.1", "::1", "[::1]", "localhost"};
  for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
    wasio_loop_t *loop = new_loop();
    uint16_t port;
    wasio_family_t fam = strchr(hosts[i], ':') ? WASIO_AF_INET6 : WASIO_AF_INET;
    wasio_tcp_t *server = echo_server(loop, fam, &port);
    client_t c = {0};
    ASSERT_OK(wasio_tcp_new(loop, &c.tcp));
    wasio_tcp_set_data(c.tcp, &c);
    int rc = wasio_tcp_connect_host(c.tcp, hosts[i], port, 5 * WASIO_NS_PER_S, client_connect_cb);
    ASSERT_OK(rc);
    /* A second connect while the first runs is refused at once. */
    ASSERT_WASIO(WASIO_ESTATE, wasio_tcp_connect_host(c.tcp, hosts[i], port, 0, client_connect_cb));
    ASSERT_EQ_INT(c.connects, 0); /* never from inside the call */
    run_until(loop, &c.connects, 1);
    /* "localhost" may resolve to ::1 first, where nothing listens: the
     * next address is tried, so it ends connected either way. */
    ASSERT_OK(c.connect_status);
    wasio_addr_t peer;
    ASSERT_OK(wasio_tcp_peer_addr(c.tcp, &peer));
    ASSERT_EQ_INT(peer.port, port);
    wasio_tcp_close(c.tcp, client_close_cb);
    close_echo_conns();
    wasio_tcp_close(server, NULL);
    ASSERT_LOOP_CLOSED(loop);
    ASSERT_EQ_INT(c.connects, 1);
    ASSERT_EQ_INT(c.closes, 1);
  }
}

TEST(connect_host_errors) {
  wasio_loop_t *loop = new_loop();
  wasio_tcp_t *tcp;
  ASSERT_OK(wasio_tcp_new(loop, &tcp));
  char longname[WASIO_DNS_MAX_NAME + 2];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_tcp_connect_host(tcp, longname, 1, 0, client_connect_cb));
  ASSERT_WASIO(WASIO_EINVAL, wasio_tcp_connect_host(tcp, "", 1, 0, client_connect_cb));
  ASSERT_WASIO(WASIO_EINVAL, wasio_tcp_connect_host(tcp, "localhost", 1, 0, NULL));
  /* Port 0 and the unspecified address name no peer. */
  ASSERT_WASIO(WASIO_EINVAL, wasio_tcp_connect_host(tcp, "127.0.0.1", 0, 0, client_connect_cb));
  ASSERT_WASIO(WASIO_EINVAL, wasio_tcp_connect_host(tcp, "0.0.0.0", 80, 0, client_connect_cb));
  ASSERT_WASIO(WASIO_EINVAL, wasio_tcp_connect_host(tcp, "::", 80, 0, client_connect_cb));
  /* A listening handle cannot connect, by name or by number. */
  uint16_t port;
  wasio_tcp_t *server = echo_server(loop, WASIO_AF_INET, &port);
  ASSERT_WASIO(WASIO_ESTATE, wasio_tcp_connect_host(server, "localhost", 1, 0, client_connect_cb));
  ASSERT_WASIO(WASIO_ESTATE, wasio_tcp_connect_host(server, "127.0.0.1", 1, 0, client_connect_cb));
  wasio_tcp_close(tcp, NULL);
  ASSERT_WASIO(WASIO_ECLOSING, wasio_tcp_connect_host(tcp, "localhost", 1, 0, client_connect_cb));
  wasio_tcp_close(server, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* Closing during the lookup reports ECANCELED once, in phase 4 before
 * the close callback (client_connect_cb checks the order), never from
 * inside wasio_tcp_close, and the lookup's late answer is dropped. */
TEST(connect_host_close_during_lookup) {
  wasio_loop_t *loop = new_loop();
  client_t c = {0};
  ASSERT_OK(wasio_tcp_new(loop, &c.tcp));
  wasio_tcp_set_data(c.tcp, &c);
  ASSERT_OK(wasio_tcp_connect_host(c.tcp, "localhost", 9, 0, client_connect_cb));
  wasio_tcp_close(c.tcp, client_close_cb);
  ASSERT_EQ_INT(c.connects, 0);
  ASSERT_LOOP_CLOSED(loop);
  ASSERT_WASIO(WASIO_ECANCELED, c.connect_status);
  ASSERT_EQ_INT(c.connects, 1);
  ASSERT_EQ_INT(c.closes, 1);
}

static int refused_calls, refused_status;
static void refused_cb(wasio_tcp_t *tcp, int status) {
  refused_calls++;
  refused_status = status;
}

/* A refused connect leaves the handle reusable (internal.h's contract). */
TEST(tcp_connect_refused_then_reuse) {
  wasio_loop_t *loop = new_loop();
  /* A port that was just free: bind, read it, close. */
  wasio_tcp_t *probe;
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, 0, &addr);
  ASSERT_OK(wasio_tcp_new(loop, &probe));
  ASSERT_OK(wasio_tcp_bind(probe, &addr));
  ASSERT_OK(wasio_tcp_local_addr(probe, &addr));
  wasio_tcp_close(probe, NULL);
  wasio_tcp_t *tcp;
  ASSERT_OK(wasio_tcp_new(loop, &tcp));
  refused_calls = 0;
  ASSERT_OK(wasio_tcp_connect(tcp, &addr, 0, refused_cb));
  ASSERT_EQ_INT(refused_calls, 0);
  run_until(loop, &refused_calls, 1);
  ASSERT_WASIO(WASIO_ECONNREFUSED, refused_status);
  uint16_t port;
  wasio_tcp_t *server = echo_server(loop, WASIO_AF_INET, &port);
  addr.port = port;
  ASSERT_OK(wasio_tcp_connect(tcp, &addr, 0, refused_cb));
  run_until(loop, &refused_calls, 2);
  ASSERT_OK(refused_status);
  ASSERT_WASIO(WASIO_ESTATE, wasio_tcp_connect(tcp, &addr, 0, refused_cb));
  wasio_tcp_close(tcp, NULL);
  close_echo_conns();
  wasio_tcp_close(server, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* A request the caller never initialised is accepted, not mistaken for a
 * queued one; the same request queued twice is refused. */
TEST(tcp_write_garbage_request_and_ebusy) {
  wasio_loop_t *loop = new_loop();
  uint16_t port;
  wasio_tcp_t *server = echo_server(loop, WASIO_AF_INET, &port);
  client_t c = {0};
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  ASSERT_OK(wasio_tcp_new(loop, &c.tcp));
  wasio_tcp_set_data(c.tcp, &c);
  ASSERT_WASIO(WASIO_ENOTCONN, wasio_tcp_write(c.tcp, &c.req, "x", 1, ping_write_cb));
  ASSERT_OK(wasio_tcp_connect(c.tcp, &addr, 0, client_connect_cb));
  run_until(loop, &c.connects, 1);
  ASSERT_OK(c.connect_status);
  memset(&c.req, 0xa5, sizeof c.req);
  c.req.wasio__tcp = c.tcp; /* even garbage that names the handle */
  ASSERT_OK(wasio_tcp_write(c.tcp, &c.req, "ping", PING_LEN, ping_write_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_tcp_write(c.tcp, &c.req, "ping", PING_LEN, ping_write_cb));
  c.stop_after = 1;
  ASSERT_OK(wasio_tcp_read_start(c.tcp, NULL, client_read_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_tcp_read_start(c.tcp, NULL, client_read_cb));
  run_until(loop, &c.pongs, 1);
  wasio_tcp_close(c.tcp, NULL);
  close_echo_conns();
  wasio_tcp_close(server, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

static int dns_calls, dns_cancel_rc;
static void dns_cancel_inside_cb(wasio_dns_t *req, int status, const wasio_addr_t *addrs,
                                 size_t count) {
  dns_calls++;
  ASSERT_OK(status);
  ASSERT_EQ_INT(count, 1);
  dns_cancel_rc = wasio_dns_cancel(req);
}

TEST(dns_cancel_inside_callback_refused) {
  wasio_loop_t *loop = new_loop();
  dns_calls = 0;
  wasio_dns_t *req;
  ASSERT_OK(wasio_dns_resolve(loop, "10.1.2.3", 0, dns_cancel_inside_cb, NULL, &req));
  ASSERT_EQ_INT(dns_calls, 0);
  ASSERT_LOOP_CLOSED(loop);
  ASSERT_EQ_INT(dns_calls, 1);
  ASSERT_WASIO(WASIO_EINVAL, dns_cancel_rc);
}

#define STEADY_PONGS 200

/* Ping-pong over loopback with a repeating timer and an idle UDP socket:
 * once warm, turns allocate nothing. */
TEST(tcp_echo_steady_state_allocates_nothing) {
  wasio_loop_t *loop = new_loop();
  uint16_t port;
  wasio_tcp_t *server = echo_server(loop, WASIO_AF_INET, &port);
  client_t c = {0};
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  ASSERT_OK(wasio_tcp_new(loop, &c.tcp));
  wasio_tcp_set_data(c.tcp, &c);
  ASSERT_OK(wasio_tcp_set_idle_timeout(c.tcp, 10 * WASIO_NS_PER_S));
  ASSERT_OK(wasio_tcp_connect(c.tcp, &addr, 5 * WASIO_NS_PER_S, client_connect_cb));
  run_until(loop, &c.connects, 1);
  ASSERT_OK(c.connect_status);
  ASSERT_OK(wasio_tcp_read_start(c.tcp, NULL, client_read_cb));
  c.stop_after = 10; /* warm-up */
  ASSERT_OK(wasio_tcp_write(c.tcp, &c.req, "ping", PING_LEN, ping_write_cb));
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 1);
  ASSERT_EQ_INT(c.pongs, 10);
  wasio_loop_stats_t before, after;
  wasio_loop_stats(loop, &before);
  c.stop_after = 10 + STEADY_PONGS;
  ASSERT_OK(wasio_tcp_write(c.tcp, &c.req, "ping", PING_LEN, ping_write_cb));
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 1);
  wasio_loop_stats(loop, &after);
  ASSERT_EQ_INT(c.pongs, 10 + STEADY_PONGS);
  ASSERT_GE_U64(after.turns - before.turns, STEADY_PONGS);
  ASSERT_EQ_U64(after.allocations, before.allocations);
  wasio_tcp_close(c.tcp, NULL);
  close_echo_conns();
  wasio_tcp_close(server, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- the per-turn callback cap ---------------------------------------------------- */

#define CAP_DATAGRAMS 40
static int cap_recv_total;
static uint64_t cap_turn_seen;
static int cap_in_turn, cap_max_in_turn;
static void cap_recv_cb(wasio_udp_t *udp, ptrdiff_t nread, const void *data, const wasio_addr_t *from) {
  ASSERT_EQ_INT(nread, 1);
  wasio_loop_stats_t st;
  wasio_loop_stats(wasio_udp_loop(udp), &st);
  if (st.turns != cap_turn_seen) {
    cap_turn_seen = st.turns;
    cap_in_turn = 0;
  }
  if (++cap_in_turn > cap_max_in_turn) cap_max_in_turn = cap_in_turn;
  cap_recv_total++;
}

static int cap_sent;
static void cap_send_cb(wasio_udp_send_t *req, int status) {
  ASSERT_OK(status);
  cap_sent++;
}

TEST(udp_callbacks_capped_per_turn) {
  wasio_loop_t *loop = new_loop();
  wasio_udp_t *rx, *tx;
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, 0, &addr);
  ASSERT_OK(wasio_udp_new(loop, &rx));
  ASSERT_OK(wasio_udp_bind(rx, &addr));
  ASSERT_OK(wasio_udp_local_addr(rx, &addr));
  ASSERT_OK(wasio_udp_new(loop, &tx));
  static wasio_udp_send_t reqs[CAP_DATAGRAMS];
  cap_sent = cap_recv_total = cap_max_in_turn = 0;
  cap_turn_seen = UINT64_MAX;
  for (int i = 0; i < CAP_DATAGRAMS; i++)
    ASSERT_OK(wasio_udp_send(tx, &reqs[i], "x", 1, &addr, cap_send_cb));
  run_until(loop, &cap_sent, CAP_DATAGRAMS); /* all queued before reading */
  ASSERT_OK(wasio_udp_recv_start(rx, cap_recv_cb));
  run_until(loop, &cap_recv_total, CAP_DATAGRAMS);
  ASSERT_EQ_INT(cap_max_in_turn, WASIO_IO_CALLBACKS_PER_TURN);
  wasio_udp_close(rx, NULL);
  wasio_udp_close(tx, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* Keep-alive works before the socket exists and after connect; idle times
 * beyond the kernel's limit are clamped, not refused. */
TEST(tcp_keepalive_before_and_after_connect) {
  wasio_loop_t *loop = new_loop();
  uint16_t port;
  wasio_tcp_t *server = echo_server(loop, WASIO_AF_INET, &port);
  client_t c = {0};
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  ASSERT_OK(wasio_tcp_new(loop, &c.tcp));
  wasio_tcp_set_data(c.tcp, &c);
  ASSERT_OK(wasio_tcp_keepalive(c.tcp, true, 30 * WASIO_NS_PER_S));
  ASSERT_OK(wasio_tcp_connect(c.tcp, &addr, 0, client_connect_cb));
  run_until(loop, &c.connects, 1);
  ASSERT_OK(c.connect_status);
  ASSERT_OK(wasio_tcp_keepalive(c.tcp, true, UINT64_MAX));
  ASSERT_OK(wasio_tcp_keepalive(c.tcp, false, 0));
  wasio_tcp_close(c.tcp, NULL);
  close_echo_conns();
  wasio_tcp_close(server, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

static int q_sent, q_err;
static void q_send_cb(wasio_udp_send_t *req, int status) {
  if (status == 0) q_sent++;
  else q_err++;
}

/* The send queue holds WASIO_UDP_SEND_QUEUE_MAX datagrams, counting those
 * whose callbacks have not run yet; one more is EAGAIN, and EMSGSIZE and
 * the address rules are checked before anything is queued. */
TEST(udp_send_queue_cap_and_errors) {
  wasio_loop_t *loop = new_loop();
  wasio_udp_t *rx, *tx;
  wasio_addr_t addr, v6;
  wasio_addr_loopback(WASIO_AF_INET, 0, &addr);
  wasio_addr_loopback(WASIO_AF_INET6, 9, &v6);
  ASSERT_OK(wasio_udp_new(loop, &rx));
  ASSERT_OK(wasio_udp_bind(rx, &addr));
  ASSERT_OK(wasio_udp_local_addr(rx, &addr));
  ASSERT_OK(wasio_udp_new(loop, &tx));
  static wasio_udp_send_t reqs[WASIO_UDP_SEND_QUEUE_MAX + 1];
  static uint8_t big[WASIO_UDP_MAX_DATAGRAM + 1];
  ASSERT_WASIO(WASIO_EINVAL, wasio_udp_send(tx, &reqs[0], "x", 1, NULL, q_send_cb));
  ASSERT_WASIO(WASIO_EMSGSIZE, wasio_udp_send(tx, &reqs[0], big, sizeof big, &addr, q_send_cb));
  q_sent = q_err = 0;
  for (int i = 0; i < WASIO_UDP_SEND_QUEUE_MAX; i++)
    ASSERT_OK(wasio_udp_send(tx, &reqs[i], "x", 1, &addr, q_send_cb));
  ASSERT_WASIO(WASIO_EAGAIN, wasio_udp_send(tx, &reqs[WASIO_UDP_SEND_QUEUE_MAX], "x", 1, &addr, q_send_cb));
  ASSERT_WASIO(WASIO_EBUSY, wasio_udp_send(tx, &reqs[0], "x", 1, &addr, q_send_cb));
  /* The socket is IPv4 now: an IPv6 destination is refused. */
  wasio_udp_close(rx, NULL);
  run_until(loop, &q_sent, WASIO_UDP_SEND_QUEUE_MAX);
  ASSERT_EQ_INT(q_err, 0);
  ASSERT_WASIO(WASIO_EINVAL, wasio_udp_send(tx, &reqs[0], "x", 1, &v6, q_send_cb));
  wasio_udp_close(tx, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- close from inside a write callback ---------------------------------------- */

static wasio_tcp_t *cw_tcp;

#define CLOSE_WRITES 4
static int cw_status[CLOSE_WRITES];
static int cw_calls[CLOSE_WRITES];
static int cw_closes;
static void cw_close_cb(wasio_tcp_t *tcp) {
  /* Every write has been reported before the close callback. */
  for (int i = 0; i < CLOSE_WRITES; i++) ASSERT_EQ_INT(cw_calls[i], 1);
  cw_closes++;
}
static void cw_write_cb(wasio_write_t *req, int status) {
  int i = (int)(intptr_t)req->data;
  cw_calls[i]++;
  cw_status[i] = status;
  /* The first completion closes the handle: the rest are canceled or, if
   * already accepted, reported as written, each exactly once. */
  if (i == 0) wasio_tcp_close(cw_tcp, cw_close_cb);
}

TEST(tcp_close_inside_write_callback) {
  wasio_loop_t *loop = new_loop();
  uint16_t port;
  wasio_tcp_t *server = echo_server(loop, WASIO_AF_INET, &port);
  client_t c = {0};
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  ASSERT_OK(wasio_tcp_new(loop, &c.tcp));
  wasio_tcp_set_data(c.tcp, &c);
  ASSERT_OK(wasio_tcp_connect(c.tcp, &addr, 0, client_connect_cb));
  run_until(loop, &c.connects, 1);
  cw_tcp = c.tcp;
  static wasio_write_t reqs[CLOSE_WRITES];
  static uint8_t payload[8 << 20]; /* more than loopback buffers take at once */
  memset(cw_calls, 0, sizeof cw_calls);
  cw_closes = 0;
  for (int i = 0; i < CLOSE_WRITES; i++) {
    reqs[i].data = (void *)(intptr_t)i;
    size_t len = i == 0 ? 1 : (i == CLOSE_WRITES - 1 ? 0 : sizeof payload);
    ASSERT_OK(wasio_tcp_write(c.tcp, &reqs[i], payload, len, cw_write_cb));
  }
  ASSERT_TRUE(wasio_tcp_write_queue_size(c.tcp) > 0);
  run_until(loop, &cw_closes, 1);
  ASSERT_OK(cw_status[0]);
  ASSERT_WASIO(WASIO_ECANCELED, cw_status[CLOSE_WRITES - 1]);
  close_echo_conns();
  wasio_tcp_close(server, NULL);
  ASSERT_LOOP_CLOSED(loop);
}

/* A write that completes inside wasio_tcp_write() queues its callback for
 * the next turn's phase 3; closing the handle in the same phase 3 frees it
 * in phase 4. The queued entry must leave the backend's list with it (this
 * was a use-after-free the HTTP server ran into; ASan catches a regression
 * in the next turn's walk of that list). */
static int wc_writes, wc_closes;
static void wc_write_cb(wasio_write_t *req, int status) {
  /* The kernel took the byte inside wasio_tcp_write: it was written. */
  ASSERT_OK(status);
  wc_writes++;
}
static void wc_close_cb(wasio_tcp_t *tcp) { wc_closes++; }
static void wc_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  static wasio_write_t req;
  ASSERT_GT_INT(nread, 0);
  ASSERT_OK(wasio_tcp_write(tcp, &req, "x", 1, wc_write_cb));
  wasio_tcp_close(tcp, wc_close_cb);
}

TEST(tcp_close_after_inline_write_completion) {
  wasio_loop_t *loop = new_loop();
  uint16_t port;
  wasio_tcp_t *server = echo_server(loop, WASIO_AF_INET, &port);
  client_t c = {0};
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  ASSERT_OK(wasio_tcp_new(loop, &c.tcp));
  wasio_tcp_set_data(c.tcp, &c);
  ASSERT_OK(wasio_tcp_connect(c.tcp, &addr, 0, client_connect_cb));
  run_until(loop, &c.connects, 1);
  ASSERT_OK(c.connect_status);
  wc_writes = wc_closes = 0;
  ASSERT_OK(wasio_tcp_write(c.tcp, &c.req, "ping", PING_LEN, ping_write_cb));
  ASSERT_OK(wasio_tcp_read_start(c.tcp, NULL, wc_read_cb));
  run_until(loop, &wc_closes, 1);
  /* A few more turns walk the backend's list after the handle is gone. */
  for (int i = 0; i < 3; i++) ASSERT_GE_INT(wasio_loop_run(loop, WASIO_RUN_NOWAIT), 0);
  ASSERT_EQ_INT(wc_writes, 1);
  /* The echo side closes itself when it reads the client's EOF. */
  wasio_tcp_close(server, NULL);
  ASSERT_LOOP_CLOSED(loop);
}
