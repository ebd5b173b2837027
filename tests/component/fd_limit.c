// wasio-test: net
// wasio-test: nofile 192
// wasio-test: timeout 120
/* tests/component/fd_limit.c: a listener that runs out of descriptors.
 *
 * The driver runs this program, and the host it runs in (wasmtime, node),
 * with at most 192 open descriptors (the nofile line above). The test opens
 * client connections to its own listener without running the loop, so the
 * kernel completes them into the listen backlog and the clients take every
 * free descriptor; the listener's accept then fails for lack of one. It
 * used to retry at once on every turn, spinning a core (97% natively, 98%
 * on wasmtime; issue 9, defect 4). Now it reports the error once, pauses
 * for WASIO_TCP_ACCEPT_PAUSE_NS and tries again, and accepts again once
 * connections close.
 */
#include "testlib.h"

#define MAX_CLIENTS 400
/* How long the exhausted listener is watched. */
#define WATCH_MS 600
/* Clients closed to free descriptors, and connections then expected. */
#define FREED 24
#define RESUMED 8

static wasio_tcp_t *clients[MAX_CLIENTS];
static int nclients, connects_done, connect_errors;
static wasio_tcp_t *accepted[MAX_CLIENTS];
static int naccepted, accept_errors, accept_last_error;
static int closes;

static void on_close(wasio_tcp_t *t) { closes++; }
static int connect_last_error;
static void on_connect(wasio_tcp_t *t, int status) {
  connects_done++;
  if (status != 0) connect_errors++, connect_last_error = status;
}
static void on_connection(wasio_tcp_t *server, wasio_tcp_t *client, int status) {
  if (status != 0) {
    ASSERT_TRUE(client == NULL);
    accept_errors++;
    accept_last_error = status;
    return;
  }
  ASSERT_LT_INT(naccepted, MAX_CLIENTS);
  accepted[naccepted++] = client;
}
static bool watch_over;
static void watch_cb(wasio_timer_t *t) { watch_over = true; }
/* Most time given a host that accepts by itself (jco) to hand over what it
 * accepted; elsewhere the first accept error ends the wait at once. jco
 * hands them over slowly on a busy machine: with 5 s, one run in five
 * under a parallel build stopped short and failed instead of skipping. */
#define SETTLE_MS 20000
/* How long clients are given to see the host close what it accepted. */
#define ENDED_WAIT_MS 5000

/* A client whose connection ended (the host closed it) or failed. */
static int clients_ended;
static void on_client_read(wasio_tcp_t *t, ptrdiff_t nread, const wasio_buf_t *buf) {
  if (nread < 0) {
    clients_ended++;
    ASSERT_OK(wasio_tcp_read_stop(t));
  }
}

TEST(accept_pauses_out_of_descriptors) {
  wasio_loop_t *loop = NULL;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_tcp_t *srv;
  ASSERT_OK(wasio_tcp_new(loop, &srv));
  wasio_addr_t a = loopback(WASIO_AF_INET, 0), bound;
  ASSERT_OK(wasio_tcp_bind(srv, &a));
  ASSERT_OK(wasio_tcp_listen(srv, WASIO_TCP_BACKLOG_MAX, on_connection));
  ASSERT_OK(wasio_tcp_local_addr(srv, &bound));

  /* Clients until the descriptors run out: a connect fails at once, or its
   * callback reports it. */
  int first_err = 0;
  while (nclients < MAX_CLIENTS && first_err == 0) {
    wasio_tcp_t *c;
    ASSERT_OK(wasio_tcp_new(loop, &c));
    int rc = wasio_tcp_connect(c, &bound, 10 * WASIO_NS_PER_S, on_connect);
    if (rc != 0) {
      first_err = rc;
      wasio_tcp_close(c, on_close);
      closes--; /* not one of ours to count */
      break;
    }
    clients[nclients++] = c;
  }
  WAIT_UNTIL(loop, connects_done == nclients);
  printf("# %d clients connecting, %d failed later (%s); then %s\n", nclients, connect_errors,
         connect_errors ? wasio_err_name(connect_last_error) : "-", first_err ? wasio_err_name(first_err) : "(no error)");
  /* wasmtime 49 reports a socket it could not create as `unknown` (EIO). */
  ASSERT_TRUE(first_err == WASIO_EMFILE || first_err == WASIO_ENOMEM || first_err == WASIO_EIO ||
              connect_errors > 0);
  /* jco's host (Node's libuv) accepts outside the component as connections
   * arrive, and out of descriptors it closes them itself (libuv's reserve
   * descriptor): the component never sees an accept fail, so nothing here
   * can spin. Elsewhere the backlog holds connections the listener cannot
   * take. */
  wasio_timer_t *watch;
  ASSERT_OK(wasio_timer_new(loop, &watch));
  ASSERT_OK(wasio_timer_start(watch, watch_cb, SETTLE_MS * MS, 0));
  WAIT_UNTIL(loop, naccepted + connect_errors >= nclients || accept_errors > 0 || watch_over);
  /* Only jco's hosts (host=jco, jco-p3: tests/run.py) accept by
   * themselves; anywhere else this is a regression, not a skip. */
  bool host_accepts = strncmp(harness_param("host", ""), "jco", 3) == 0;
  if (host_accepts && accept_errors == 0 && naccepted + connect_errors == nclients)
    harness_skip("the host accepted every connection itself (%d of %d) and reported no accept failure",
                 naccepted, nclients);
  ASSERT_LT_INT(naccepted, nclients - connect_errors);

  wasio_loop_stats_t before, after;
  wasio_loop_stats(loop, &before);
  int errors_before = accept_errors;
  watch_over = false;
  ASSERT_OK(wasio_timer_start(watch, watch_cb, WATCH_MS * MS, 0));
  WAIT_UNTIL(loop, watch_over);
  wasio_loop_stats(loop, &after);
  int errors = accept_errors - errors_before;
  uint64_t turns = after.turns - before.turns;
  printf("# exhausted for %d ms: %d accept errors (%s), %llu loop turns; %d accepted\n", WATCH_MS, errors,
         accept_errors ? wasio_err_name(accept_last_error) : "-", (unsigned long long)turns, naccepted);
  /* A host that accepts by itself may also close, out of descriptors,
   * what it accepted (libuv's reserve descriptor), or hold it (jco's 0.3
   * glue, measured: one connection of 400 neither handed over nor
   * closed): the component never sees an accept fail. Then what this test
   * is about can still be checked, that the loop does not spin, and the
   * rest is counted and said. */
  if (host_accepts && accept_errors == 0 && naccepted + connect_errors < nclients) {
    ASSERT_LE_U64(turns, 4 * (uint64_t)(WATCH_MS / (WASIO_TCP_ACCEPT_PAUSE_NS / MS)) + 20);
    for (int i = 0; i < nclients; i++) {
      int rc = wasio_tcp_read_start(clients[i], NULL, on_client_read);
      if (rc != 0) ASSERT_WASIO(WASIO_ENOTCONN, rc); /* its connect failed (connect_errors) */
    }
    watch_over = false;
    ASSERT_OK(wasio_timer_start(watch, watch_cb, ENDED_WAIT_MS * MS, 0));
    WAIT_UNTIL(loop, naccepted + connect_errors + clients_ended >= nclients || watch_over);
    harness_skip("the host reported no accept failure: of %d clients %d were handed over, %d failed to connect, "
                 "%d were closed by the host and %d held by it; the loop did not spin (%llu turns in %d ms)",
                 nclients, naccepted, connect_errors, clients_ended,
                 nclients - naccepted - connect_errors - clients_ended, (unsigned long long)turns, WATCH_MS);
  }
  ASSERT_GE_INT(accept_errors, 1);
  ASSERT_TRUE(accept_last_error == WASIO_EMFILE || accept_last_error == WASIO_ENOMEM ||
              accept_last_error == WASIO_EIO);
  /* One attempt per pause, give or take the ends of the window; a listener
   * that retried at once would report an error on every turn. */
  ASSERT_LE_INT(errors, WATCH_MS / (int)(WASIO_TCP_ACCEPT_PAUSE_NS / MS) + 3);
  ASSERT_LE_U64(turns, 4 * (uint64_t)(WATCH_MS / (WASIO_TCP_ACCEPT_PAUSE_NS / MS)) + 20);

  /* Free descriptors: the listener takes connections again. */
  int have = naccepted;
  for (int i = 0; i < FREED && i < nclients; i++) {
    wasio_tcp_close(clients[i], on_close);
    clients[i] = NULL;
  }
  WAIT_UNTIL(loop, naccepted >= have + RESUMED);
  printf("# %d more accepted after %d clients closed\n", naccepted - have, FREED);

  for (int i = 0; i < nclients; i++)
    if (clients[i] != NULL) wasio_tcp_close(clients[i], on_close);
  for (int i = 0; i < naccepted; i++) wasio_tcp_close(accepted[i], on_close);
  wasio_tcp_close(srv, on_close);
  wasio_timer_close(watch, NULL);
  WAIT_UNTIL(loop, closes == nclients + naccepted + 1);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

