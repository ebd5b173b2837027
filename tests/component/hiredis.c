// wasio-test: net
// wasio-test: cc -lhiredis
// wasio-test: helper tests/helpers/redis_ctl.py --lifetime 600
// wasio-test: helper tests/helpers/tcp_blackhole.py --lifetime 600
// wasio-test: timeout 300
/* tests/component/hiredis.c: hiredis (Debian's source, unchanged) driven
 * by the wasio loop through wasio/hiredis.h, against real redis-servers
 * that tests/helpers/redis_ctl.py starts on loopback, one per test.
 *   port  = tests/helpers/redis_ctl.py (start / kill PORT)
 *   port2 = tests/helpers/tcp_blackhole.py (connects hang)
 */
#include <stdio.h>
#include <stdlib.h>

#include <hiredis/hiredis.h>
#include "wasio/hiredis.h"
#include "testlib.h"

#define TIMEOUT (10 * WASIO_NS_PER_S)

static uint16_t redis_start(wasio_loop_t *loop) {
  char *r = helper_ask(loop, "start\n");
  long port = strtol(r, NULL, 10);
  free(r);
  ASSERT_TRUE(port > 0 && port < 65536);
  return (uint16_t)port;
}

static void redis_kill(wasio_loop_t *loop, uint16_t port) {
  char cmd[32];
  snprintf(cmd, sizeof cmd, "kill %u\n", port);
  free(helper_ask(loop, cmd));
}

/* ---- connecting -------------------------------------------------------------------- */
typedef struct conn {
  redisAsyncContext *ac;
  int status;
  bool done;
  bool disconnected;
  int disconnect_status;
  int disconnect_err;
} conn_t;

static void on_connected(redisAsyncContext *ac, int status, void *data) {
  conn_t *c = data;
  ASSERT_TRUE(!c->done);
  c->done = true;
  c->status = status;
  c->ac = ac;
  if (status == 0) ASSERT_TRUE(ac != NULL);
  else ASSERT_TRUE(ac == NULL);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  conn_t *c = ac->data;
  c->disconnected = true;
  c->disconnect_status = status;
  c->disconnect_err = wasio_hiredis_error(ac);
}

static void connect_to(wasio_loop_t *loop, conn_t *c, const char *host, uint16_t port,
                       const wasio_hiredis_opts_t *o) {
  memset(c, 0, sizeof *c);
  ASSERT_OK(wasio_hiredis_connect(loop, host, port, o, on_connected, c));
  ASSERT_TRUE(!c->done); /* never from inside the call */
  WAIT_UNTIL(loop, c->done);
}

static void connect_ok(wasio_loop_t *loop, conn_t *c, uint16_t port) {
  connect_to(loop, c, "localhost", port, NULL);
  ASSERT_WASIO(0, c->status);
  c->ac->data = c;
  ASSERT_EQ_INT(redisAsyncSetDisconnectCallback(c->ac, on_disconnect), REDIS_OK);
}

/* Disconnects and lets the loop run until nothing is left of it. */
static void disconnect(wasio_loop_t *loop, conn_t *c) {
  redisAsyncDisconnect(c->ac);
  WAIT_UNTIL(loop, c->disconnected);
  ASSERT_EQ_INT(c->disconnect_status, REDIS_OK);
}

/* ---- replies --------------------------------------------------------------------------- */
typedef struct replies {
  int n;
  int nulls;
  int first_null_err;
  long long last_int;
  char str[256];
  size_t str_len;
  int type;
  long long expect;  /* pipelining: the next INCR value */
  int out_of_order;
} replies_t;

static void on_reply(redisAsyncContext *ac, void *r, void *priv) {
  replies_t *x = priv;
  redisReply *reply = r;
  x->n++;
  if (reply == NULL) {
    if (x->nulls++ == 0) x->first_null_err = wasio_hiredis_error(ac);
    return;
  }
  x->type = reply->type;
  if (reply->type == REDIS_REPLY_INTEGER) x->last_int = reply->integer;
  if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_ERROR) {
    ASSERT_TRUE(reply->len < sizeof x->str);
    memcpy(x->str, reply->str, reply->len);
    x->str_len = reply->len;
  }
}

static void on_incr(redisAsyncContext *ac, void *r, void *priv) {
  replies_t *x = priv;
  redisReply *reply = r;
  ASSERT_TRUE(reply != NULL);
  ASSERT_EQ_INT(reply->type, REDIS_REPLY_INTEGER);
  if (reply->integer != ++x->expect) x->out_of_order++;
  x->n++;
}

/* ---- tests ------------------------------------------------------------------------------ */

TEST(bad_args) {
  wasio_loop_t *loop = new_loop();
  conn_t c;
  ASSERT_WASIO(WASIO_EINVAL, wasio_hiredis_connect(loop, "", 6379, NULL, on_connected, &c));
  ASSERT_WASIO(WASIO_EINVAL, wasio_hiredis_connect(loop, "localhost", 0, NULL, on_connected, &c));
  ASSERT_WASIO(WASIO_EINVAL, wasio_hiredis_connect(loop, "localhost", 6379, NULL, NULL, &c));
  ASSERT_WASIO(WASIO_EINVAL, wasio_hiredis_attach(NULL, loop));
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_hiredis_connect(loop, longname, 6379, NULL, on_connected, &c));
  ASSERT_EQ_INT(wasio_hiredis_error(NULL), 0);
  ASSERT_LOOP_CLOSED(loop);
}

/* SET, GET, INCR, a binary-safe value with NUL and CR LF bytes, and an
 * error reply, over a connection made by name through wasio's DNS. */
TEST(commands) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  uint16_t port = redis_start(loop);
  conn_t c;
  connect_ok(loop, &c, port);
  replies_t set = {0}, get = {0}, incr = {0}, bin_set = {0}, bin_get = {0}, err = {0};
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &set, "SET %s %s", "greeting", "hello wasio"), REDIS_OK);
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &get, "GET %s", "greeting"), REDIS_OK);
  for (int i = 0; i < 3; i++) ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &incr, "INCR counter"), REDIS_OK);
  static const char bin[] = {'a', 0, 'b', '\r', '\n', (char)0xff, 0, 'z'};
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &bin_set, "SET %b %b", "bin\0key", (size_t)8, bin, sizeof bin), REDIS_OK);
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &bin_get, "GET %b", "bin\0key", (size_t)8), REDIS_OK);
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &err, "INCR greeting"), REDIS_OK);
  WAIT_UNTIL(loop, err.n == 1);
  ASSERT_EQ_INT(set.type, REDIS_REPLY_STATUS);
  ASSERT_EQ_MEM(set.str, "OK", 2);
  ASSERT_EQ_INT(get.type, REDIS_REPLY_STRING);
  ASSERT_EQ_U64(get.str_len, 11);
  ASSERT_EQ_MEM(get.str, "hello wasio", 11);
  ASSERT_EQ_INT(incr.n, 3);
  ASSERT_EQ_INT(incr.last_int, 3);
  ASSERT_EQ_INT(bin_get.type, REDIS_REPLY_STRING);
  ASSERT_EQ_U64(bin_get.str_len, sizeof bin);
  ASSERT_EQ_MEM(bin_get.str, bin, sizeof bin);
  ASSERT_EQ_INT(err.type, REDIS_REPLY_ERROR);
  ASSERT_EQ_INT(set.nulls + get.nulls + incr.nulls + err.nulls, 0);
  disconnect(loop, &c);
  redis_kill(loop, port);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* 10,000 commands written before any reply is read: every reply comes, in
 * order. */
TEST(pipeline_10000) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 120000);
  uint16_t port = redis_start(loop);
  conn_t c;
  connect_ok(loop, &c, port);
  replies_t x = {0};
  for (int i = 0; i < 10000; i++) ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_incr, &x, "INCR pipelined"), REDIS_OK);
  WAIT_UNTIL(loop, x.n == 10000);
  ASSERT_EQ_INT(x.out_of_order, 0);
  ASSERT_EQ_INT(x.expect, 10000);
  disconnect(loop, &c);
  redis_kill(loop, port);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A wasio timer fires while hiredis traffic is in flight (a chain of round
 * trips, each command sent from the previous reply's callback), and the
 * traffic goes on around it: the loop's one wait serves both. The timer's
 * lateness is printed, not asserted (no timed tests). */
typedef struct chain {
  redisAsyncContext *ac;
  int replies;
  int at_fire;       /* replies when the timer fired; -1 before */
  uint64_t fired_ns, due_ns;
  bool stop;
} chain_t;

static void on_chain(redisAsyncContext *ac, void *r, void *priv) {
  chain_t *ch = priv;
  ASSERT_TRUE(r != NULL);
  ch->replies++;
  if (ch->at_fire >= 0 && ch->replies >= ch->at_fire + 100) {
    ch->stop = true;
    return;
  }
  ASSERT_EQ_INT(redisAsyncCommand(ac, on_chain, ch, "PING"), REDIS_OK);
}

static void on_chain_timer(wasio_timer_t *t) {
  chain_t *ch = wasio_timer_data(t);
  ch->fired_ns = wasio_monotonic_ns();
  ch->at_fire = ch->replies;
}

TEST(timer_during_traffic) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  uint16_t port = redis_start(loop);
  conn_t c;
  connect_ok(loop, &c, port);
  chain_t ch = {.ac = c.ac, .at_fire = -1};
  /* Traffic first: 100 round trips before the timer is armed. */
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_chain, &ch, "PING"), REDIS_OK);
  WAIT_UNTIL(loop, ch.replies >= 100);
  wasio_timer_t *t;
  ASSERT_OK(wasio_timer_new(loop, &t));
  wasio_timer_set_data(t, &ch);
  ch.due_ns = wasio_loop_update_time(loop) + 20 * WASIO_NS_PER_MS;
  ASSERT_OK(wasio_timer_start(t, on_chain_timer, 20 * WASIO_NS_PER_MS, 0));
  WAIT_UNTIL(loop, ch.stop);
  ASSERT_GE_INT(ch.at_fire, 100);
  ASSERT_EQ_INT(ch.replies, ch.at_fire + 100);
  ASSERT_TRUE(ch.fired_ns >= ch.due_ns);
  printf("# timer due in 20 ms fired %.3f ms late, %d round trips before it, 100 after\n",
         (double)(ch.fired_ns - ch.due_ns) / 1e6, ch.at_fire);
  wasio_timer_close(t, NULL);
  disconnect(loop, &c);
  redis_kill(loop, port);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Pub/sub: one connection subscribes, another publishes N messages; every
 * one arrives, in order. */
#define PUBSUB_N 200
typedef struct sub {
  bool subscribed;
  int messages;
  int bad;
} sub_t;

static void on_sub(redisAsyncContext *ac, void *r, void *priv) {
  sub_t *s = priv;
  redisReply *reply = r;
  if (reply == NULL) return; /* the connection ended */
  ASSERT_EQ_INT(reply->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ_INT(reply->elements, 3);
  const redisReply *kind = reply->element[0], *payload = reply->element[2];
  if (strcmp(kind->str, "subscribe") == 0) {
    s->subscribed = true;
    return;
  }
  if (strcmp(kind->str, "unsubscribe") == 0) return;
  ASSERT_EQ_STR(kind->str, "message");
  char want[32];
  snprintf(want, sizeof want, "message %d", s->messages);
  if (payload->len != strlen(want) || memcmp(payload->str, want, payload->len) != 0) s->bad++;
  s->messages++;
}

TEST(pubsub) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  uint16_t port = redis_start(loop);
  conn_t a, b;
  connect_ok(loop, &a, port);
  connect_ok(loop, &b, port);
  sub_t s = {0};
  ASSERT_EQ_INT(redisAsyncCommand(a.ac, on_sub, &s, "SUBSCRIBE wasio-channel"), REDIS_OK);
  WAIT_UNTIL(loop, s.subscribed);
  replies_t pub = {0};
  for (int i = 0; i < PUBSUB_N; i++)
    ASSERT_EQ_INT(redisAsyncCommand(b.ac, on_reply, &pub, "PUBLISH wasio-channel %s%d", "message ", i), REDIS_OK);
  WAIT_UNTIL(loop, pub.n == PUBSUB_N);
  ASSERT_EQ_INT(pub.nulls, 0);
  ASSERT_EQ_INT(pub.last_int, 1); /* one subscriber got each */
  WAIT_UNTIL(loop, s.messages == PUBSUB_N);
  ASSERT_EQ_INT(s.bad, 0);
  disconnect(loop, &b);
  disconnect(loop, &a);
  redis_kill(loop, port);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* The server goes away (SIGKILL) while commands wait for replies: each
 * pending callback gets a NULL reply with a clear error, the disconnect
 * callback says so too, and the loop ends by itself: nothing hangs. */
TEST(server_gone) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  uint16_t port = redis_start(loop);
  conn_t c;
  connect_ok(loop, &c, port);
  replies_t blocked = {0}, after = {0};
  /* BLPOP with no timeout holds its reply until the list gets an entry:
   * the server dies with it pending. */
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &blocked, "BLPOP never-filled 0"), REDIS_OK);
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &after, "GET x"), REDIS_OK);
  sleep_ms(loop, 50); /* let the commands reach the server */
  ASSERT_EQ_INT(blocked.n, 0);
  redis_kill(loop, port);
  WAIT_UNTIL(loop, c.disconnected);
  ASSERT_EQ_INT(blocked.nulls, 1);
  ASSERT_EQ_INT(after.nulls, 1);
  ASSERT_TRUE(blocked.first_null_err == WASIO_EOF || blocked.first_null_err == WASIO_ECONNRESET);
  ASSERT_EQ_INT(c.disconnect_status, REDIS_ERR);
  ASSERT_TRUE(c.disconnect_err == WASIO_EOF || c.disconnect_err == WASIO_ECONNRESET);
  watchdog_stop(wd);
  /* Nothing of the connection is left: the loop ends on its own. */
  ASSERT_EQ_INT(wasio_loop_run(loop, WASIO_RUN_DEFAULT), 0);
  ASSERT_LOOP_CLOSED(loop);
}

/* A command whose reply never comes fails at hiredis's command timeout,
 * which runs on a wasio timer. */
TEST(command_timeout) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  uint16_t port = redis_start(loop);
  conn_t c;
  wasio_hiredis_opts_t o = {.command_timeout_ns = 200 * WASIO_NS_PER_MS};
  connect_to(loop, &c, "127.0.0.1", port, &o);
  ASSERT_WASIO(0, c.status);
  c.ac->data = &c;
  ASSERT_EQ_INT(redisAsyncSetDisconnectCallback(c.ac, on_disconnect), REDIS_OK);
  replies_t r = {0};
  ASSERT_EQ_INT(redisAsyncCommand(c.ac, on_reply, &r, "BLPOP never-filled 0"), REDIS_OK);
  WAIT_UNTIL(loop, r.n == 1);
  ASSERT_EQ_INT(r.nulls, 1);
  ASSERT_WASIO(WASIO_ETIMEDOUT, r.first_null_err);
  WAIT_UNTIL(loop, c.disconnected);
  ASSERT_WASIO(WASIO_ETIMEDOUT, c.disconnect_err);
  redis_kill(loop, port);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* A connect that hangs (SYNs dropped) ends at the connect timeout. */
TEST(connect_timeout) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  conn_t c;
  wasio_hiredis_opts_t o = {.connect_timeout_ns = 300 * WASIO_NS_PER_MS};
  connect_to(loop, &c, "127.0.0.1", helper_port("port2"), &o);
  ASSERT_WASIO(WASIO_ETIMEDOUT, c.status);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* Nothing listens: the connect callback gets the refusal. */
TEST(connect_refused) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  uint16_t port = redis_start(loop);
  redis_kill(loop, port); /* its port is free again */
  conn_t c;
  connect_to(loop, &c, "127.0.0.1", port, NULL);
  ASSERT_WASIO(WASIO_ECONNREFUSED, c.status);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
