/* tests/unit/alloc_fail.c: every allocation of each main scenario
 * fails in turn (issue 10, "checkable state").
 *
 * A scenario runs on a loop of its own, from wasio_loop_new() to
 * wasio_loop_close(), all in this process: TCP echo (connect, write, read,
 * close), UDP send and receive, DNS of a numeric address and of a name, a
 * TLS handshake and exchange (a wasio_tls_t client and server over loopback
 * TCP, with a certificate the openssl CLI makes at test time), and an HTTP
 * exchange (wasio's client POSTs to wasio's server, which echoes the body),
 * plain and over TLS. af_sweep() runs a scenario once to count its
 * allocations (wasio__alloc_count), then again with allocation k failing
 * for every k = 1, 2, ... until a run makes fewer than k allocations
 * (wasio__alloc_fail_nth: the WASIO_DEBUG build only). Every run must end
 * cleanly:
 * - with an error that a call returned or a callback received (a WASIO_E*
 *   code: WASIO_ENOMEM, or what the peer saw of it, e.g. WASIO_EOF or
 *   WASIO_ECONNRESET), or with the scenario complete and its bytes right
 *   (the library got by without that allocation); a run the fault missed
 *   must succeed;
 * - every callback owed (of each call that returned 0, and each close) ran
 *   exactly once, and wasio_loop_close() returns 0: no handle is left;
 * - nothing waited for a timeout: a watchdog timer (AF_WATCHDOG_NS, far
 *   above the milliseconds a run takes) fails the run as a hang, and
 *   alarm(AF_ALARM_S) bounds a whole sweep;
 * - no leak: LeakSanitizer checks after each sweep (and at exit).
 * Each sweep prints a summary line: "# NAME: N allocations; ...".
 * `unit NAME k=K` runs one scenario with only allocation K failing (for
 * debugging: the run's first error and where it came from are printed).
 */
#include <fcntl.h>
#include <sanitizer/lsan_interface.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h" /* wasio__alloc_count, wasio__alloc_fail_nth */
#include "wasio.h"

/* One run takes milliseconds (tens with a TLS handshake under the
 * sanitizers); a run still going after this has hung. */
#define AF_WATCHDOG_NS (5 * WASIO_NS_PER_S)
/* The server's graceful shutdown gives in-flight exchanges this long: more
 * than the watchdog, so a shutdown that waits for its timeout is a hang. */
#define AF_SHUTDOWN_NS (10 * WASIO_NS_PER_S)
/* The HTTP client's total timeout. A run with one allocation failing never
 * needs it (a run that ends with WASIO_ETIMEDOUT fails); with memory gone
 * for good it ends the wait for a server whose listener can no longer
 * accept (it pauses and retries, WASIO_TCP_ACCEPT_PAUSE_NS, as documented). */
#define AF_CALL_TIMEOUT_NS (1 * WASIO_NS_PER_S)
/* Connect and DNS deadlines: armed for their allocations, never reached. */
#define AF_DEADLINE_NS (20 * WASIO_NS_PER_S)
/* A whole sweep (a few hundred runs). */
#define AF_ALARM_S 300
/* Runs of one sweep at most: a scenario whose allocations kept growing
 * with k would otherwise never end. */
#define AF_MAX_RUNS 2000
/* Distinct outcomes a sweep tallies. */
#define AF_MAX_OUTCOMES 16
#define AF_BUF 64
#define AF_MSG "hello, wasio\n"
#define AF_PEM_MAX 8192
#define AF_HOST "wasio.test"

/* ---- one run ------------------------------------------------------------------ */

typedef struct af_scenario {
  const char *name;
  void (*start)(void);     /* opens everything; errors go to af_fail */
  void (*close_all)(void); /* closes what is open (each handle once) */
  bool (*succeeded)(void); /* the bytes are right */
  void (*after)(void);     /* after the loop ran: frees what outlives it */
} af_scenario_t;

static struct af_run {
  const af_scenario_t *sc;
  wasio_loop_t *loop;
  wasio_timer_t *watchdog;
  int err;            /* the first error reported (0: none) */
  const char *where;  /* who reported it */
  const char *step;   /* what the scenario was doing last */
  bool done;          /* reached its end (af_succeed) */
  bool hung;          /* the watchdog fired */
  bool and_after;     /* every allocation after the failed one fails too */
  bool started;       /* the scenario's start ran: its state is this run's */
  bool closing;       /* af_stop ran: no new work */
  int owed;           /* callbacks owed and not yet run */
} R;

static void af_watchdog_closed(wasio_timer_t *t) { (void)t; }

/* The watchdog goes once nothing else is owed, so that it still bounds
 * what closing waits for (a server's graceful shutdown, say). */
static void af_settle(void) {
  if (R.closing && R.owed == 0 && R.watchdog != NULL) {
    wasio_timer_close(R.watchdog, af_watchdog_closed);
    R.watchdog = NULL;
  }
}

static void af_stop(void) {
  if (R.closing) return;
  R.closing = true;
  if (R.started) R.sc->close_all();
  af_settle();
}

static void af_fail(int status, const char *where) {
  ASSERT_TRUE(status < 0);
  if (R.err == 0) {
    R.err = status;
    R.where = where;
  }
  af_stop();
}

static void af_succeed(void) {
  R.done = true;
  af_stop();
}

/* rc of a call: true if it went well; else the run fails with it. */
static bool af_ok(int rc, const char *where) {
  R.step = where;
  if (rc >= 0) return true;
  af_fail(rc, where);
  return false;
}

/* A call that returned 0 owes its callback; each callback pays once. */
static void af_owe(void) { R.owed++; }
static void af_paid(void) {
  R.owed--;
  ASSERT_TRUE(R.owed >= 0); /* a callback ran twice, or one nobody owed */
  af_settle();
}

static void af_watchdog_cb(wasio_timer_t *t) {
  R.hung = true;
  wasio_timer_close(t, af_watchdog_closed);
  R.watchdog = NULL;
  af_fail(WASIO_ETIMEDOUT, "watchdog");
}

static void af_list_handle(wasio_handle_kind_t kind, void *handle, void *arg) {
  (void)handle;
  size_t *n = arg;
  if (*n < 8) printf("#   open: %s\n", wasio_kind_name(kind));
  (*n)++;
}

/* Runs the scenario once, from wasio_loop_new to wasio_loop_close; k is
 * only for messages. */
static void af_once(const af_scenario_t *sc, uint64_t k, bool and_after) {
  memset(&R, 0, sizeof R);
  R.sc = sc;
  R.and_after = and_after;
  R.step = "wasio_loop_new";
  int rc = wasio_loop_new(&R.loop);
  if (rc < 0) {
    R.err = rc;
    R.where = "wasio_loop_new";
    ASSERT_TRUE(R.loop == NULL || rc == 0);
    return;
  }
  if (af_ok(wasio_timer_new(R.loop, &R.watchdog), "watchdog timer")) {
    if (af_ok(wasio_timer_start(R.watchdog, af_watchdog_cb, AF_WATCHDOG_NS, 0), "watchdog start")) {
      R.started = true;
      sc->start();
    }
  } else {
    R.watchdog = NULL;
  }
  rc = wasio_loop_run(R.loop, WASIO_RUN_DEFAULT);
  if (rc != 0)
    harness_fail(__FILE__, __LINE__, "%s k=%llu: wasio_loop_run: %s", sc->name, (unsigned long long)k,
                 harness_err_name(rc));
  if (R.owed != 0)
    harness_fail(__FILE__, __LINE__, "%s k=%llu: %d callbacks never ran (first error %s at %s)", sc->name,
                 (unsigned long long)k, R.owed, harness_err_name(R.err), R.where ? R.where : "-");
  if (R.started) sc->after();
  rc = wasio_loop_close(R.loop);
  if (rc != 0) {
    size_t n = 0;
    wasio_loop_walk(R.loop, af_list_handle, &n);
    harness_fail(__FILE__, __LINE__, "%s k=%llu: wasio_loop_close: %s, %zu handles open (first error %s at %s)",
                 sc->name, (unsigned long long)k, harness_err_name(rc), n, harness_err_name(R.err),
                 R.where ? R.where : "-");
  }
  R.loop = NULL;
}

/* ---- the sweep ------------------------------------------------------------------ */

typedef struct af_tally {
  int err[AF_MAX_OUTCOMES];
  int count[AF_MAX_OUTCOMES];
  int n;
} af_tally_t;

static void af_tally(af_tally_t *t, int err) {
  for (int i = 0; i < t->n; i++)
    if (t->err[i] == err) {
      t->count[i]++;
      return;
    }
  ASSERT_LT_INT(t->n, AF_MAX_OUTCOMES);
  t->err[t->n] = err;
  t->count[t->n++] = 1;
}

/* Runs the scenario with allocation k failing, k = 1, 2, ... (and_after:
 * every allocation from the kth on) until a run makes fewer than k; each
 * run must end cleanly (the file's comment). */
static void af_sweep_mode(const af_scenario_t *sc, uint64_t n, bool and_after) {
  const char *mode = and_after ? "and every one after it" : "alone";
  long only = harness_param_int("k", 0);
  if (only > 0 && harness_param_int("after", 0) != and_after) return;
  af_tally_t tally = {.n = 0};
  int recovered = 0, runs = 0;
  for (uint64_t k = only > 0 ? (uint64_t)only : 1;; k++) {
    ASSERT_LT_INT(runs, AF_MAX_RUNS);
    uint64_t c0 = wasio__alloc_count;
    wasio__alloc_fail_nth(k, and_after);
    af_once(sc, k, and_after);
    wasio__alloc_fail_nth(0, false);
    bool fired = wasio__alloc_count - c0 >= k;
    if (only > 0)
      printf("# %s k=%llu (%s): %s; first error %s at %s; last step %s\n", sc->name, (unsigned long long)k,
             mode, fired ? "failed" : "not reached", harness_err_name(R.err), R.where ? R.where : "-", R.step);
    if (R.hung)
      harness_fail(__FILE__, __LINE__, "%s k=%llu (%s): hung (watchdog) after step %s", sc->name,
                   (unsigned long long)k, mode, R.step);
    bool ok = R.err == 0 && R.done && sc->succeeded();
    if (!fired) {
      if (!ok)
        harness_fail(__FILE__, __LINE__, "%s k=%llu: no allocation failed, yet %s at %s", sc->name,
                     (unsigned long long)k, harness_err_name(R.err), R.where ? R.where : R.step);
      break;
    }
    runs++;
    if (ok) {
      recovered++;
    } else if (R.err == 0) {
      harness_fail(__FILE__, __LINE__, "%s k=%llu (%s): ended with neither its bytes nor an error (step %s)",
                   sc->name, (unsigned long long)k, mode, R.step);
    } else {
      if (R.err == WASIO_ETIMEDOUT && !and_after)
        harness_fail(__FILE__, __LINE__, "%s k=%llu: waited for a timeout (%s)", sc->name,
                     (unsigned long long)k, R.where);
      /* A certificate is what it is whatever the memory: a failed
       * allocation reported as a certificate fault sends the user after
       * the wrong problem. */
      if (wasio_err_class(R.err) == WASIO_ERRCLASS_TLS_CERT)
        harness_fail(__FILE__, __LINE__, "%s k=%llu (%s): a failed allocation reported as %s (at %s)", sc->name,
                     (unsigned long long)k, mode, wasio_err_name(R.err), R.where);
      if (wasio_err_class(R.err) == WASIO_ERRCLASS_NONE)
        harness_fail(__FILE__, __LINE__, "%s k=%llu (%s): %d is no WASIO_E* code (at %s)", sc->name,
                     (unsigned long long)k, mode, R.err, R.where);
      af_tally(&tally, R.err);
    }
    if (only > 0) break;
  }
  char outcomes[512] = "";
  for (int i = 0; i < tally.n; i++) {
    size_t len = strlen(outcomes);
    snprintf(outcomes + len, sizeof outcomes - len, ", %d %s", tally.count[i], wasio_err_name(tally.err[i]));
  }
  printf("# %s: %llu allocations; allocation k failing %s, %d runs: %d completed anyway%s\n", sc->name,
         (unsigned long long)n, mode, runs, recovered, outcomes);
}

static void af_sweep(const af_scenario_t *sc) {
  alarm(AF_ALARM_S);
  uint64_t c0 = wasio__alloc_count;
  af_once(sc, 0, false);
  uint64_t n = wasio__alloc_count - c0;
  if (R.err != 0 || !R.done || !sc->succeeded())
    harness_fail(__FILE__, __LINE__, "%s without a failed allocation: %s at %s", sc->name,
                 harness_err_name(R.err), R.where ? R.where : R.step);
  af_sweep_mode(sc, n, false);
  af_sweep_mode(sc, n, true);
  alarm(0);
  if (__lsan_do_recoverable_leak_check() != 0)
    harness_fail(__FILE__, __LINE__, "%s: LeakSanitizer found a leak (its report is above)", sc->name);
}

/* Appends a read to buf (NUL-terminated); true once AF_MSG's length is in. */
static bool af_append(char *buf, size_t *len, const void *p, size_t n) {
  ASSERT_TRUE(*len + n < AF_BUF);
  memcpy(buf + *len, p, n);
  *len += n;
  buf[*len] = 0;
  return *len >= strlen(AF_MSG);
}

static wasio_addr_t af_loopback(uint16_t port) {
  wasio_addr_t a;
  wasio_addr_loopback(WASIO_AF_INET, port, &a);
  return a;
}

static void af_tcp_closed(wasio_tcp_t *t) {
  (void)t;
  af_paid();
}

static void af_close_tcp(wasio_tcp_t **t) {
  if (*t == NULL) return;
  wasio_tcp_close(*t, af_tcp_closed);
  *t = NULL;
  af_owe();
}

/* A listener on 127.0.0.1, its port in *port. */
static bool af_listen(wasio_tcp_t **l, wasio_connection_cb cb, uint16_t *port) {
  wasio_addr_t a = af_loopback(0);
  if (!af_ok(wasio_tcp_new(R.loop, l), "tcp_new listener")) return false;
  if (!af_ok(wasio_tcp_bind(*l, &a), "bind")) return false;
  if (!af_ok(wasio_tcp_listen(*l, 8, cb), "listen")) return false;
  if (!af_ok(wasio_tcp_local_addr(*l, &a), "local_addr")) return false;
  *port = a.port;
  return true;
}

/* ---- TCP echo ------------------------------------------------------------------- */

static struct {
  bool by_name; /* connect with wasio_tcp_connect_host("localhost") */
  wasio_tcp_t *listener, *client, *server;
  wasio_write_t creq, sreq;
  char cin[AF_BUF], sin[AF_BUF];
  size_t cin_len, sin_len;
  bool server_eof;
} T;

static void tcp_close_all(void) {
  af_close_tcp(&T.client);
  af_close_tcp(&T.server);
  af_close_tcp(&T.listener);
}

static bool tcp_succeeded(void) { return T.server_eof && strcmp(T.cin, AF_MSG) == 0; }

static void tcp_write_cb(wasio_write_t *req, int status) {
  af_paid();
  if (status < 0) af_fail(status, req == &T.creq ? "client write_cb" : "server write_cb");
}

static void tcp_client_read(wasio_tcp_t *t, ptrdiff_t n, const wasio_buf_t *buf) {
  if (n < 0) {
    af_fail((int)n, "client read_cb");
    return;
  }
  if (af_append(T.cin, &T.cin_len, buf->base, (size_t)n)) af_close_tcp(&T.client);
}

static void tcp_server_read(wasio_tcp_t *t, ptrdiff_t n, const wasio_buf_t *buf) {
  if (n == WASIO_EOF && T.cin_len) {
    T.server_eof = true;
    af_succeed();
    return;
  }
  if (n < 0) {
    af_fail((int)n, "server read_cb");
    return;
  }
  if (af_append(T.sin, &T.sin_len, buf->base, (size_t)n) &&
      af_ok(wasio_tcp_write(T.server, &T.sreq, T.sin, T.sin_len, tcp_write_cb), "server write"))
    af_owe();
}

static void tcp_connected(wasio_tcp_t *t, int status) {
  af_paid();
  if (status < 0) {
    af_fail(status, "connect_cb");
    return;
  }
  if (R.closing) return;
  if (af_ok(wasio_tcp_write(t, &T.creq, AF_MSG, strlen(AF_MSG), tcp_write_cb), "client write")) af_owe();
  if (!R.closing) af_ok(wasio_tcp_read_start(t, NULL, tcp_client_read), "client read_start");
}

static void tcp_accepted(wasio_tcp_t *l, wasio_tcp_t *client, int status) {
  if (status < 0) {
    af_fail(status, "connection_cb");
    return;
  }
  T.server = client;
  if (R.closing) {
    af_close_tcp(&T.server);
    return;
  }
  af_ok(wasio_tcp_read_start(client, NULL, tcp_server_read), "server read_start");
}

static void tcp_start(void) {
  bool by_name = T.by_name;
  memset(&T, 0, sizeof T);
  T.by_name = by_name;
  uint16_t port;
  if (!af_listen(&T.listener, tcp_accepted, &port)) return;
  wasio_addr_t a = af_loopback(port);
  if (!af_ok(wasio_tcp_new(R.loop, &T.client), "tcp_new client")) return;
  int rc = by_name ? wasio_tcp_connect_host(T.client, "localhost", port, AF_DEADLINE_NS, tcp_connected)
                   : wasio_tcp_connect(T.client, &a, AF_DEADLINE_NS, tcp_connected);
  if (af_ok(rc, "connect")) af_owe();
}

static void af_nothing(void) {}

static const af_scenario_t SC_TCP = {"tcp_echo", tcp_start, tcp_close_all, tcp_succeeded, af_nothing};

TEST(alloc_fail_tcp_echo) {
  T.by_name = false;
  af_sweep(&SC_TCP);
}

/* The same by name: wasio_tcp_connect_host resolves "localhost" and tries
 * its addresses in turn (the listener is on 127.0.0.1 only). */
static const af_scenario_t SC_TCP_NAME = {"tcp_echo_by_name", tcp_start, tcp_close_all, tcp_succeeded, af_nothing};

TEST(alloc_fail_tcp_echo_by_name) {
  T.by_name = true;
  af_sweep(&SC_TCP_NAME);
}

/* ---- UDP send and receive --------------------------------------------------------- */

static struct {
  wasio_udp_t *a, *b;
  wasio_udp_send_t sa, sb;
  bool a_sent;
  char got[AF_BUF];
} U;

static void udp_closed(wasio_udp_t *u) {
  (void)u;
  af_paid();
}

static void af_close_udp(wasio_udp_t **u) {
  if (*u == NULL) return;
  wasio_udp_close(*u, udp_closed);
  *u = NULL;
  af_owe();
}

static void udp_close_all(void) {
  af_close_udp(&U.a);
  af_close_udp(&U.b);
}

static bool udp_succeeded(void) { return strcmp(U.got, "pong") == 0; }

static void udp_sent(wasio_udp_send_t *req, int status) {
  af_paid();
  if (status < 0) af_fail(status, req == &U.sa ? "a send_cb" : "b send_cb");
}

/* a answers b's "ping" with "pong". */
static void udp_a_recv(wasio_udp_t *u, ptrdiff_t n, const void *data, const wasio_addr_t *from) {
  if (n < 0) {
    af_fail((int)n, "a recv_cb");
    return;
  }
  if (U.a_sent || R.closing || n != 4 || memcmp(data, "ping", 4) != 0) return;
  U.a_sent = true;
  if (af_ok(wasio_udp_send(u, &U.sa, "pong", 4, from, udp_sent), "a send")) af_owe();
}

static void udp_b_recv(wasio_udp_t *u, ptrdiff_t n, const void *data, const wasio_addr_t *from) {
  if (n < 0) {
    af_fail((int)n, "b recv_cb");
    return;
  }
  if (n == 4) {
    memcpy(U.got, data, 4);
    af_succeed();
  }
}

static void udp_start(void) {
  memset(&U, 0, sizeof U);
  wasio_addr_t a = af_loopback(0), b = af_loopback(0);
  if (!af_ok(wasio_udp_new(R.loop, &U.a), "udp_new a")) return;
  if (!af_ok(wasio_udp_bind(U.a, &a), "bind a")) return;
  if (!af_ok(wasio_udp_local_addr(U.a, &a), "local_addr a")) return;
  if (!af_ok(wasio_udp_recv_start(U.a, udp_a_recv), "recv_start a")) return;
  if (!af_ok(wasio_udp_new(R.loop, &U.b), "udp_new b")) return;
  if (!af_ok(wasio_udp_bind(U.b, &b), "bind b")) return;
  if (!af_ok(wasio_udp_recv_start(U.b, udp_b_recv), "recv_start b")) return;
  if (af_ok(wasio_udp_send(U.b, &U.sb, "ping", 4, &a, udp_sent), "b send")) af_owe();
}

static const af_scenario_t SC_UDP = {"udp", udp_start, udp_close_all, udp_succeeded, af_nothing};

TEST(alloc_fail_udp) { af_sweep(&SC_UDP); }

/* ---- a watcher on a C library's socket (wasio/poll.h) ------------------------------ */

static struct {
  int fds[2];
  wasio_poll_t *p;
  char got[AF_BUF];
} PW;

static void pw_closed(wasio_poll_t *p) {
  (void)p;
  af_paid();
}

static void pw_close_all(void) {
  if (PW.p == NULL) return;
  wasio_poll_close(PW.p, pw_closed);
  PW.p = NULL;
  af_owe();
}

static bool pw_succeeded(void) { return strcmp(PW.got, "ping") == 0; }

static void pw_ready(wasio_poll_t *p, int status, int events) {
  (void)p;
  if (status < 0) {
    af_fail(status, "poll_cb");
    return;
  }
  if (R.closing || !(events & WASIO_POLL_READABLE)) return;
  if (read(PW.fds[0], PW.got, 4) == 4) af_succeed();
}

/* A socket pair stands for the library's connection: one end watched, the
 * other written. */
static void pw_start(void) {
  memset(&PW, 0, sizeof PW);
  ASSERT_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, PW.fds), 0);
  if (!af_ok(wasio_poll_new(R.loop, PW.fds[0], &PW.p), "poll_new")) return;
  if (!af_ok(wasio_poll_start(PW.p, WASIO_POLL_READABLE, pw_ready), "poll_start")) return;
  ASSERT_EQ_INT(write(PW.fds[1], "ping", 4), 4);
}

static void pw_after(void) {
  close(PW.fds[0]);
  close(PW.fds[1]);
}

static const af_scenario_t SC_POLL = {"poll", pw_start, pw_close_all, pw_succeeded, pw_after};

TEST(alloc_fail_poll) { af_sweep(&SC_POLL); }

/* ---- DNS: a numeric address and a name ------------------------------------------- */

static struct {
  wasio_dns_t *numeric, *name; /* while their callbacks are owed */
  bool numeric_ok, name_ok;
} D;

static void dns_close_all(void) {
  /* Canceled lookups call back with WASIO_ECANCELED in the next turn. */
  if (D.numeric) wasio_dns_cancel(D.numeric);
  if (D.name) wasio_dns_cancel(D.name);
}

static bool dns_succeeded(void) { return D.numeric_ok && D.name_ok; }

static void dns_cb(wasio_dns_t *req, int status, const wasio_addr_t *addrs, size_t count) {
  af_paid();
  bool numeric = req == D.numeric;
  if (numeric)
    D.numeric = NULL;
  else
    D.name = NULL;
  if (status < 0) {
    af_fail(status, numeric ? "numeric dns_cb" : "name dns_cb");
    return;
  }
  wasio_addr_t lo4 = af_loopback(0), lo6;
  wasio_addr_loopback(WASIO_AF_INET6, 0, &lo6);
  ASSERT_TRUE(count >= 1);
  if (numeric) {
    ASSERT_EQ_INT(count, 1);
    D.numeric_ok = wasio_addr_equal(&addrs[0], &lo4);
  } else {
    for (size_t i = 0; i < count; i++)
      if (wasio_addr_equal(&addrs[i], &lo4) || wasio_addr_equal(&addrs[i], &lo6)) D.name_ok = true;
  }
  if (D.numeric == NULL && D.name == NULL) af_succeed();
}

static void dns_start(void) {
  memset(&D, 0, sizeof D);
  if (!af_ok(wasio_dns_resolve(R.loop, "127.0.0.1", AF_DEADLINE_NS, dns_cb, NULL, &D.numeric), "resolve numeric"))
    return;
  af_owe();
  if (af_ok(wasio_dns_resolve(R.loop, "localhost", AF_DEADLINE_NS, dns_cb, NULL, &D.name), "resolve name"))
    af_owe();
  else
    D.name = NULL;
}

static const af_scenario_t SC_DNS = {"dns", dns_start, dns_close_all, dns_succeeded, af_nothing};

TEST(alloc_fail_dns) { af_sweep(&SC_DNS); }

/* ---- a certificate for the TLS scenarios ------------------------------------------ */

static char af_cert[AF_PEM_MAX], af_key[AF_PEM_MAX];
static size_t af_cert_len, af_key_len;

static size_t af_read_file(const char *path, char *buf) {
  FILE *f = fopen(path, "rb");
  ASSERT_TRUE(f != NULL);
  size_t n = fread(buf, 1, AF_PEM_MAX, f);
  fclose(f);
  ASSERT_TRUE(n > 0 && n < AF_PEM_MAX);
  unlink(path);
  return n;
}

/* A self-signed P-256 certificate for AF_HOST and 127.0.0.1, which the
 * client config trusts directly, made by the openssl CLI as the helpers
 * make theirs (tests/helpers/tls_peer.py). Once per process. */
static void af_make_cert(void) {
  if (af_cert_len) return;
  char dir[] = "/tmp/wasio-alloc-fail-XXXXXX";
  ASSERT_TRUE(mkdtemp(dir) != NULL);
  char key[64], cert[64];
  snprintf(key, sizeof key, "%s/key.pem", dir);
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=" AF_HOST,
                  "-addext", "subjectAltName=DNS:" AF_HOST ",IP:127.0.0.1", NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  extern char **environ;
  int rc = posix_spawnp(&pid, "openssl", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) harness_skip("no openssl CLI to make a test certificate");
  int st;
  ASSERT_EQ_INT(waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  af_cert_len = af_read_file(cert, af_cert);
  af_key_len = af_read_file(key, af_key);
  rmdir(dir);
}

/* The client trusts the certificate; the server serves it. */
static bool af_tls_configs(wasio_tls_config_t **client, wasio_tls_config_t **server) {
  if (!af_ok(wasio_tls_config_new(WASIO_TLS_CLIENT, client), "tls_config_new client")) return false;
  if (!af_ok(wasio_tls_config_add_ca_pem(*client, af_cert, af_cert_len), "add_ca_pem")) return false;
  if (!af_ok(wasio_tls_config_new(WASIO_TLS_SERVER, server), "tls_config_new server")) return false;
  return af_ok(wasio_tls_config_cert_pem(*server, af_cert, af_cert_len, af_key, af_key_len), "cert_pem");
}

static void af_free_config(wasio_tls_config_t **cfg) {
  if (*cfg != NULL) ASSERT_OK(wasio_tls_config_free(*cfg));
  *cfg = NULL;
}

/* ---- TLS handshake and exchange --------------------------------------------------- */

static struct {
  wasio_tls_config_t *ccfg, *scfg;
  wasio_tcp_t *listener, *ctcp, *stcp; /* until a stream owns them */
  wasio_tls_t *client, *server;
  uint16_t port;
  wasio_write_t creq, sreq;
  char cin[AF_BUF], sin[AF_BUF];
  size_t cin_len, sin_len;
  bool server_eof, client_shut;
} S;

static void tls_closed(wasio_tls_t *t) {
  (void)t;
  af_paid();
}

static void af_close_tls(wasio_tls_t **t) {
  if (*t == NULL) return;
  wasio_tls_close(*t, tls_closed);
  *t = NULL;
  af_owe();
}

static void tls_close_all(void) {
  af_close_tls(&S.client);
  af_close_tls(&S.server);
  af_close_tcp(&S.ctcp);
  af_close_tcp(&S.stcp);
  af_close_tcp(&S.listener);
}

static bool tls_succeeded(void) { return S.server_eof && S.client_shut && strcmp(S.cin, AF_MSG) == 0; }

static void tls_after(void) {
  af_free_config(&S.ccfg);
  af_free_config(&S.scfg);
}

static void tls_maybe_done(void) {
  if (S.server_eof && S.client_shut) af_succeed();
}

static void tls_handshake_cb(wasio_tls_t *t, int status) {
  af_paid();
  if (status < 0) af_fail(status, t == S.client ? "client handshake_cb" : "server handshake_cb");
}

static void tls_write_cb(wasio_write_t *req, int status) {
  af_paid();
  if (status < 0) af_fail(status, req == &S.creq ? "client write_cb" : "server write_cb");
}

static void tls_shutdown_cb(wasio_tls_t *t, int status) {
  af_paid();
  if (status < 0) {
    af_fail(status, "client shutdown_cb");
    return;
  }
  S.client_shut = true;
  af_close_tls(&S.client);
  tls_maybe_done();
}

static void tls_client_read(wasio_tls_t *t, ptrdiff_t n, const wasio_buf_t *buf) {
  if (n < 0) {
    af_fail((int)n, "client read_cb");
    return;
  }
  if (af_append(S.cin, &S.cin_len, buf->base, (size_t)n) &&
      af_ok(wasio_tls_shutdown(t, tls_shutdown_cb), "client shutdown"))
    af_owe();
}

static void tls_server_read(wasio_tls_t *t, ptrdiff_t n, const wasio_buf_t *buf) {
  if (n == WASIO_EOF && S.sin_len) {
    S.server_eof = true;
    af_close_tls(&S.server);
    tls_maybe_done();
    return;
  }
  if (n < 0) {
    af_fail((int)n, "server read_cb");
    return;
  }
  if (af_append(S.sin, &S.sin_len, buf->base, (size_t)n) &&
      af_ok(wasio_tls_write(t, &S.sreq, S.sin, S.sin_len, tls_write_cb), "server write"))
    af_owe();
}

/* Wraps *tcp in a stream (which then owns it) and starts it. */
static void tls_begin(wasio_tcp_t **tcp, wasio_tls_config_t *cfg, const char *host, wasio_tls_t **out,
                      wasio_tls_read_cb read_cb) {
  if (!af_ok(wasio_tls_new(*tcp, cfg, host, S.port, out), "tls_new")) return;
  *tcp = NULL;
  if (!af_ok(wasio_tls_handshake(*out, tls_handshake_cb), "handshake")) return;
  af_owe();
  if (host != NULL) {
    if (!af_ok(wasio_tls_write(*out, &S.creq, AF_MSG, strlen(AF_MSG), tls_write_cb), "client write")) return;
    af_owe();
  }
  af_ok(wasio_tls_read_start(*out, NULL, read_cb), "read_start");
}

static void tls_connected(wasio_tcp_t *t, int status) {
  af_paid();
  if (status < 0) {
    af_fail(status, "connect_cb");
    return;
  }
  if (!R.closing) tls_begin(&S.ctcp, S.ccfg, AF_HOST, &S.client, tls_client_read);
}

static void tls_accepted(wasio_tcp_t *l, wasio_tcp_t *client, int status) {
  if (status < 0) {
    af_fail(status, "connection_cb");
    return;
  }
  S.stcp = client;
  if (R.closing) {
    af_close_tcp(&S.stcp);
    return;
  }
  tls_begin(&S.stcp, S.scfg, NULL, &S.server, tls_server_read);
}

static void tls_start(void) {
  memset(&S, 0, sizeof S);
  if (!af_tls_configs(&S.ccfg, &S.scfg)) return;
  if (!af_listen(&S.listener, tls_accepted, &S.port)) return;
  wasio_addr_t a = af_loopback(S.port);
  if (!af_ok(wasio_tcp_new(R.loop, &S.ctcp), "tcp_new client")) return;
  if (af_ok(wasio_tcp_connect(S.ctcp, &a, AF_DEADLINE_NS, tls_connected), "connect")) af_owe();
}

static const af_scenario_t SC_TLS = {"tls", tls_start, tls_close_all, tls_succeeded, tls_after};

TEST(alloc_fail_tls) {
  af_make_cert();
  af_sweep(&SC_TLS);
}

/* ---- an HTTP exchange: wasio's client against wasio's server ------------------------ */

static struct {
  bool https;
  /* First GET /old, which the server redirects (302) to /new, a chunked
   * response; then, on the pooled connection, a POST /echo with a
   * streamed (chunked) body. */
  bool more;
  bool first_ok, up_sent;
  int calls;
  wasio_tls_config_t *ccfg, *scfg;
  wasio_http_server_t *srv;
  wasio_http_client_t *cli;
  wasio_http_call_t *call; /* while on_done is owed */
  char url[64];
  uint16_t port;
  int code;
  char body[AF_BUF], req[AF_BUF];
  size_t body_len, req_len;
} H;

static void http_client_closed(wasio_http_client_t *c) {
  (void)c;
  af_paid();
}

static void http_server_closed(wasio_http_server_t *s) {
  (void)s;
  af_paid();
}

static void http_close_all(void) {
  if (H.cli != NULL) { /* cancels the call: on_done gets WASIO_ECANCELED */
    wasio_http_client_close(H.cli, http_client_closed);
    H.cli = NULL;
    af_owe();
  }
  if (H.srv != NULL) {
    wasio_http_server_shutdown(H.srv, AF_SHUTDOWN_NS, http_server_closed);
    H.srv = NULL;
    af_owe();
  }
}

static bool http_succeeded(void) {
  return H.code == 200 && strcmp(H.body, AF_MSG) == 0 && (!H.more || H.first_ok);
}

static void http_after(void) {
  af_free_config(&H.ccfg);
  af_free_config(&H.scfg);
}

static void http_complete(wasio_http_exchange_t *ex, int status) {
  af_paid();
  if (status < 0) af_fail(status, "exchange on_complete");
}

static void http_on_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  af_append(H.req, &H.req_len, data, len);
}

/* The whole body is in: echo it. */
static void http_on_end(wasio_http_exchange_t *ex, int status) {
  if (status < 0) {
    af_fail(status, "read_body on_end");
    return;
  }
  af_ok(wasio_http_respond(ex, 200, NULL, 0, H.req, H.req_len), "respond");
}

static void http_written(wasio_http_exchange_t *ex, int status) {
  af_paid();
  if (status < 0) {
    af_fail(status, "respond_write cb");
    return;
  }
  af_ok(wasio_http_respond_end(ex), "respond_end");
}

static bool af_target_is(const wasio_http_request_t *req, const char *s) {
  return req->target.len == strlen(s) && memcmp(req->target.ptr, s, req->target.len) == 0;
}

static void http_handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  wasio_http_exchange_on_complete(ex, http_complete);
  af_owe();
  if (af_target_is(req, "/old")) {
    static const wasio_http_header_t loc = {WASIO_HTTP_STR("Location"), WASIO_HTTP_STR("/new")};
    af_ok(wasio_http_respond(ex, 302, &loc, 1, NULL, 0), "respond 302");
  } else if (af_target_is(req, "/new")) {
    if (af_ok(wasio_http_respond_start(ex, 200, NULL, 0, -1), "respond_start") &&
        af_ok(wasio_http_respond_write(ex, AF_MSG, strlen(AF_MSG), http_written), "respond_write"))
      af_owe();
  } else {
    af_ok(wasio_http_exchange_read_body(ex, http_on_data, http_on_end), "read_body");
  }
}

static void http_on_response(wasio_http_call_t *call, const wasio_http_response_t *res) { H.code = res->status; }

static void http_on_body(wasio_http_call_t *call, const void *data, size_t len) {
  af_append(H.body, &H.body_len, data, len);
}

static ptrdiff_t http_body_read(wasio_http_call_t *call, void *buf, size_t cap) {
  if (H.up_sent) return 0;
  ASSERT_TRUE(cap >= strlen(AF_MSG));
  memcpy(buf, AF_MSG, strlen(AF_MSG));
  H.up_sent = true;
  return (ptrdiff_t)strlen(AF_MSG);
}

static void http_on_done(wasio_http_call_t *call, int status);

static void http_call(const char *path, bool post) {
  snprintf(H.url, sizeof H.url, "%s://127.0.0.1:%u%s", H.https ? "https" : "http", H.port, path);
  wasio_http_call_opts_t o = {
    .method = post ? "POST" : "GET", .url = H.url, .max_redirects = -1,
    .on_response = http_on_response, .on_body = http_on_body, .on_done = http_on_done,
  };
  if (post && H.more) {
    o.body_read = http_body_read;
    o.body_length = -1;
  } else if (post) {
    o.body = AF_MSG;
    o.body_len = strlen(AF_MSG);
  }
  if (af_ok(wasio_http_call_start(H.cli, &o, &H.call), "http_call_start")) af_owe();
}

static void http_on_done(wasio_http_call_t *call, int status) {
  af_paid();
  H.call = NULL;
  if (status < 0) {
    af_fail(status, "call on_done");
    return;
  }
  if (H.more && H.calls++ == 0) {
    H.first_ok = H.code == 200 && strcmp(H.body, AF_MSG) == 0 && wasio_http_call_redirects(call) == 1;
    H.code = 0;
    H.body_len = 0;
    H.body[0] = 0;
    if (!R.closing) http_call("/echo", true);
    return;
  }
  af_succeed();
}

static void http_start(void) {
  bool https = H.https, more = H.more;
  memset(&H, 0, sizeof H);
  H.https = https;
  H.more = more;
  if (https && !af_tls_configs(&H.ccfg, &H.scfg)) return;
  wasio_http_server_opts_t so = {.tls = H.scfg};
  if (!af_ok(wasio_http_server_new(R.loop, &so, http_handler, NULL, &H.srv), "http_server_new")) return;
  wasio_addr_t a = af_loopback(0);
  if (!af_ok(wasio_http_server_listen(H.srv, &a, 8), "http_server_listen")) return;
  if (!af_ok(wasio_http_server_local_addr(H.srv, &a), "http_server_local_addr")) return;
  wasio_http_client_opts_t co = {
    .tls = H.ccfg, .tls_backend = WASIO_TLS_BACKEND_GUEST, .timeouts = {.total_ns = AF_CALL_TIMEOUT_NS},
  };
  if (!af_ok(wasio_http_client_new(R.loop, &co, &H.cli), "http_client_new")) return;
  H.port = a.port;
  if (more)
    http_call("/old", false);
  else
    http_call("/echo", true);
}

static const af_scenario_t SC_HTTP = {"http", http_start, http_close_all, http_succeeded, http_after};
static const af_scenario_t SC_HTTPS = {"https", http_start, http_close_all, http_succeeded, http_after};

TEST(alloc_fail_http) {
  H.https = false;
  H.more = false;
  af_sweep(&SC_HTTP);
}

TEST(alloc_fail_https) {
  af_make_cert();
  H.https = true;
  H.more = false;
  af_sweep(&SC_HTTPS);
}

static const af_scenario_t SC_HTTP_MORE = {"http_redirect_chunked", http_start, http_close_all, http_succeeded,
                                           http_after};

TEST(alloc_fail_http_redirect_chunked) {
  H.https = false;
  H.more = true;
  af_sweep(&SC_HTTP_MORE);
}

/* ---- the server's graceful shutdown when its timer finds no memory ------------------ */
/* wasio_http_server_shutdown(timeout) lets in-flight exchanges finish and
 * closes the rest after the timeout, on a timer it creates then. It cannot
 * report a failure (it returns nothing): when the timer could not be
 * created, it used to wait for the exchanges without a bound, for ever for
 * a handler that never responds. Now it closes them at once. */

static struct {
  wasio_http_exchange_t *ex;
  bool completed, call_done, server_closed, expired;
  int complete_status, call_status;
} G;

static void g_complete(wasio_http_exchange_t *ex, int status) {
  G.completed = true;
  G.complete_status = status;
}

/* Holds the exchange: never responds. */
static void g_handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  G.ex = ex;
  wasio_http_exchange_on_complete(ex, g_complete);
}

static void g_call_done(wasio_http_call_t *call, int status) {
  G.call_done = true;
  G.call_status = status;
}

static void g_server_closed(wasio_http_server_t *s) { G.server_closed = true; }
static void g_client_closed(wasio_http_client_t *c) {}
static void g_expired(wasio_timer_t *t) { G.expired = true; }

/* Runs the loop until *flag or the watchdog. */
static void g_wait(wasio_loop_t *loop, const bool *flag, const char *what) {
  while (!*flag && !G.expired) ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_ONCE) >= 0);
  if (!*flag) harness_fail(__FILE__, __LINE__, "watchdog: still waiting for %s", what);
}

TEST(alloc_fail_http_shutdown_timer) {
  memset(&G, 0, sizeof G);
  wasio_loop_t *loop = NULL;
  ASSERT_OK(wasio_loop_new(&loop));
  wasio_timer_t *watchdog = NULL;
  ASSERT_OK(wasio_timer_new(loop, &watchdog));
  ASSERT_OK(wasio_timer_start(watchdog, g_expired, AF_WATCHDOG_NS, 0));
  wasio_http_server_t *srv = NULL;
  ASSERT_OK(wasio_http_server_new(loop, NULL, g_handler, NULL, &srv));
  wasio_addr_t a = af_loopback(0);
  ASSERT_OK(wasio_http_server_listen(srv, &a, 8));
  ASSERT_OK(wasio_http_server_local_addr(srv, &a));
  wasio_http_client_t *cli = NULL;
  ASSERT_OK(wasio_http_client_new(loop, NULL, &cli));
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%u/hold", a.port);
  wasio_http_call_opts_t o = {.url = url, .on_done = g_call_done};
  ASSERT_OK(wasio_http_call_start(cli, &o, NULL));
  bool have_ex = false;
  while (!have_ex && !G.expired) {
    ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_ONCE) >= 0);
    have_ex = G.ex != NULL;
  }
  ASSERT_TRUE(have_ex);

  uint64_t c0 = wasio__alloc_count;
  wasio__alloc_fail_nth(1, false);
  wasio_http_server_shutdown(srv, AF_SHUTDOWN_NS, g_server_closed);
  wasio__alloc_fail_nth(0, false);
  ASSERT_EQ_U64(wasio__alloc_count - c0, 1); /* the shutdown timer's, which failed */
  g_wait(loop, &G.server_closed, "the shutdown to end (its timer could not be made)");
  ASSERT_TRUE(G.completed);
  ASSERT_WASIO(WASIO_ECANCELED, G.complete_status);
  g_wait(loop, &G.call_done, "the call to end");
  ASSERT_TRUE(G.call_status < 0);
  wasio_http_client_close(cli, g_client_closed);
  wasio_timer_close(watchdog, NULL);
  ASSERT_LOOP_CLOSED(loop);
}
