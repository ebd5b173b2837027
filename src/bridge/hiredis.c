/* src/bridge/hiredis.c: wasio/hiredis.h, hiredis's asynchronous API on a
 * wasio loop.
 *
 * Implementation notes
 * - The contract, as hiredis's own adapters (its adapters/ directory)
 *   follow it: hiredis calls addRead/delRead/addWrite/delWrite whenever it
 *   wants the socket's readiness (idempotent calls), scheduleTimer with
 *   the connect or command timeout each time it starts waiting, and
 *   cleanup once, while the context is being freed, after which the
 *   context must never be touched; the event library calls
 *   redisAsyncHandleRead/Write when the socket is ready and
 *   redisAsyncHandleTimeout when the timer fires.
 * - Here: one wasio_poll_t on the context's socket, started for the union
 *   of what hiredis wants (stopped when it wants nothing), and one
 *   wasio_timer_t. Either handler may free the context (a disconnect):
 *   cleanup then clears `ac`, which is checked before each further call.
 *   cleanup closes both handles at once (the watcher lets go of the
 *   descriptor before hiredis closes it) and the bridge's memory goes with
 *   the last close callback, in phase 4.
 * - A watcher that fails (its descriptor closed under it) is reported to
 *   hiredis as readiness for what it waited for, as libuv's adapter does:
 *   hiredis's read or write then meets the error itself.
 * - wasio_hiredis_connect: the name goes through wasio_dns_resolve (never
 *   blocking); each address is handed to hiredis as a numeric string. An
 *   attempt that fails is reported by hiredis from inside its connect
 *   callback, after which it frees the context: the next attempt starts
 *   from a deferred callback (next turn), never inside hiredis's call.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio/dns.h"
#include "wasio/error.h"
#include "wasio/hiredis.h"
#include "wasio/poll.h"

typedef struct wasio_hiredis_ev {
  redisAsyncContext *ac;   /* NULL once hiredis cleaned up */
  wasio_poll_t *poll;
  wasio_timer_t *timer;
  int events;              /* WASIO_POLL_* hiredis wants */
  int open;                /* handles not yet closed (memory goes at 0) */
} wasio_hiredis_ev_t;

/* ---- the hooks ------------------------------------------------------------------ */

static void wasio_hiredis_on_poll(wasio_poll_t *p, int status, int events) {
  wasio_hiredis_ev_t *e = wasio_poll_data(p);
  int ev = status < 0 ? e->events : events;
  if (e->ac != NULL && (ev & WASIO_POLL_READABLE)) redisAsyncHandleRead(e->ac);
  if (e->ac != NULL && (ev & WASIO_POLL_WRITABLE)) redisAsyncHandleWrite(e->ac);
}

/* Applies e->events to the watcher. hiredis's hooks return nothing: a
 * watcher that cannot start (out of memory) is noted in the context's
 * error, and the next read or write attempt ends the connection. */
static void wasio_hiredis_apply(wasio_hiredis_ev_t *e) {
  if (e->events == 0) {
    wasio_poll_stop(e->poll);
    return;
  }
  if (wasio_poll_start(e->poll, e->events, wasio_hiredis_on_poll) != 0 && e->ac != NULL && e->ac->err == 0) {
    e->ac->err = REDIS_ERR_OOM;
    e->ac->errstr = "wasio: cannot wait on the socket";
  }
}

/* hiredis's four interest hooks: one event on or off (idempotent). */
static void wasio_hiredis_want(void *privdata, int event, bool on) {
  wasio_hiredis_ev_t *e = privdata;
  int events = on ? e->events | event : e->events & ~event;
  if (events == e->events) return;
  e->events = events;
  wasio_hiredis_apply(e);
}
static void wasio_hiredis_add_read(void *privdata) { wasio_hiredis_want(privdata, WASIO_POLL_READABLE, true); }
static void wasio_hiredis_del_read(void *privdata) { wasio_hiredis_want(privdata, WASIO_POLL_READABLE, false); }
static void wasio_hiredis_add_write(void *privdata) { wasio_hiredis_want(privdata, WASIO_POLL_WRITABLE, true); }
static void wasio_hiredis_del_write(void *privdata) { wasio_hiredis_want(privdata, WASIO_POLL_WRITABLE, false); }

static void wasio_hiredis_on_timer(wasio_timer_t *t) {
  wasio_hiredis_ev_t *e = wasio_timer_data(t);
  if (e->ac != NULL) redisAsyncHandleTimeout(e->ac);
}

static void wasio_hiredis_schedule_timer(void *privdata, struct timeval tv) {
  wasio_hiredis_ev_t *e = privdata;
  uint64_t ns = (uint64_t)tv.tv_sec * WASIO_NS_PER_S + (uint64_t)tv.tv_usec * 1000u;
  /* Re-arming restarts the wait, as hiredis expects. Fails only for lack
   * of memory for the timer heap: the command then has no deadline. */
  (void)wasio_timer_start(e->timer, wasio_hiredis_on_timer, ns, 0);
}

static void wasio_hiredis_release(wasio_hiredis_ev_t *e) {
  if (--e->open == 0) free(e);
}
static void wasio_hiredis_poll_closed(wasio_poll_t *p) { wasio_hiredis_release(wasio_poll_data(p)); }
static void wasio_hiredis_timer_closed(wasio_timer_t *t) { wasio_hiredis_release(wasio_timer_data(t)); }

static void wasio_hiredis_cleanup(void *privdata) {
  wasio_hiredis_ev_t *e = privdata;
  e->ac = NULL;
  e->events = 0;
  wasio_poll_close(e->poll, wasio_hiredis_poll_closed);
  wasio_timer_close(e->timer, wasio_hiredis_timer_closed);
}

int wasio_hiredis_attach(redisAsyncContext *ac, wasio_loop_t *loop) {
  if (ac == NULL || loop == NULL || ac->err != 0 || ac->c.fd < 0) return WASIO_EINVAL;
  if (ac->ev.data != NULL) return WASIO_EBUSY;
  wasio_hiredis_ev_t *e = calloc(1, sizeof *e);
  if (e == NULL) return WASIO_ENOMEM;
  int rc = wasio_poll_new(loop, (int)ac->c.fd, &e->poll);
  if (rc != 0) {
    free(e);
    return rc;
  }
  rc = wasio_timer_new(loop, &e->timer);
  if (rc != 0) {
    /* The watcher's close callback frees e (open is 1). */
    e->open = 1;
    wasio_poll_set_data(e->poll, e);
    wasio_poll_close(e->poll, wasio_hiredis_poll_closed);
    return rc;
  }
  e->open = 2;
  e->ac = ac;
  wasio_poll_set_data(e->poll, e);
  wasio_timer_set_data(e->timer, e);
  ac->ev.data = e;
  ac->ev.addRead = wasio_hiredis_add_read;
  ac->ev.delRead = wasio_hiredis_del_read;
  ac->ev.addWrite = wasio_hiredis_add_write;
  ac->ev.delWrite = wasio_hiredis_del_write;
  ac->ev.cleanup = wasio_hiredis_cleanup;
  ac->ev.scheduleTimer = wasio_hiredis_schedule_timer;
  return 0;
}

/* ---- errors ---------------------------------------------------------------------- */

int wasio_hiredis_error(const redisAsyncContext *ac) {
  if (ac == NULL || ac->err == 0) return 0;
  switch (ac->err) {
    case REDIS_ERR_EOF: return WASIO_EOF;
    case REDIS_ERR_TIMEOUT: return WASIO_ETIMEDOUT;
    case REDIS_ERR_OOM: return WASIO_ENOMEM;
    case REDIS_ERR_IO: break;
    default: return WASIO_EIO;
  }
  /* hiredis keeps the system error only as its message ("PREFIX: " and
   * strerror's text): match the text of the errors a connection meets. */
  static const struct { int errnum, code; } known[] = {
    {ECONNREFUSED, WASIO_ECONNREFUSED}, {ECONNRESET, WASIO_ECONNRESET},
    {ECONNABORTED, WASIO_ECONNABORTED}, {EPIPE, WASIO_EPIPE},
    {ETIMEDOUT, WASIO_ETIMEDOUT}, {EHOSTUNREACH, WASIO_EHOSTUNREACH},
    {ENETUNREACH, WASIO_ENETUNREACH}, {EADDRNOTAVAIL, WASIO_EADDRNOTAVAIL},
    {EACCES, WASIO_EACCES}, {EAFNOSUPPORT, WASIO_EAFNOSUPPORT},
  };
  const char *msg = ac->errstr != NULL ? ac->errstr : "";
  size_t mlen = strlen(msg);
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    const char *text = strerror(known[i].errnum);
    size_t tlen = strlen(text);
    if (tlen > 0 && mlen >= tlen && strcmp(msg + mlen - tlen, text) == 0) return known[i].code;
  }
  return WASIO_EIO;
}

/* ---- connecting by name ---------------------------------------------------------------- */

typedef struct wasio_hiredis_conn {
  wasio_loop_t *loop;
  uint16_t port;
  wasio_hiredis_opts_t opts;
  wasio_hiredis_connect_cb cb;
  void *data;
  uint64_t deadline;                        /* loop time; 0: none */
  wasio_addr_t addrs[WASIO_DNS_MAX_ADDRS];
  size_t naddrs, next;
  int last_err;
  wasio_defer_t retry;
} wasio_hiredis_conn_t;

static void wasio_hiredis_finish(wasio_hiredis_conn_t *c, redisAsyncContext *ac, int status) {
  wasio_hiredis_connect_cb cb = c->cb;
  void *data = c->data;
  free(c);
  cb(ac, status, data);
}

static struct timeval wasio_hiredis_tv(uint64_t ns) {
  struct timeval tv;
  tv.tv_sec = (time_t)(ns / WASIO_NS_PER_S);
  tv.tv_usec = (suseconds_t)(ns % WASIO_NS_PER_S / 1000u);
  if (tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1; /* 0 would mean "none" to hiredis */
  return tv;
}

static void wasio_hiredis_on_retry(wasio_defer_t *req, int status);

static void wasio_hiredis_on_connect(const redisAsyncContext *cac, int status) {
  redisAsyncContext *ac = (redisAsyncContext *)cac;
  wasio_hiredis_conn_t *c = ac->data;
  ac->data = NULL;
  if (status == REDIS_OK) {
    wasio_hiredis_finish(c, ac, 0);
    return;
  }
  /* hiredis frees this context when we return: try the next address from
   * the next turn. */
  c->last_err = wasio_hiredis_error(ac);
  if (c->last_err == 0) c->last_err = WASIO_EIO;
  c->next++;
  wasio_defer(c->loop, &c->retry, wasio_hiredis_on_retry);
}

/* Starts the attempt on addrs[next], or the next that can start; reports
 * the outcome when none is left. */
static void wasio_hiredis_try(wasio_hiredis_conn_t *c) {
  for (; c->next < c->naddrs; c->next++) {
    uint64_t left = 0;
    if (c->deadline != 0) {
      uint64_t now = wasio_loop_update_time(c->loop);
      if (now >= c->deadline) {
        wasio_hiredis_finish(c, NULL, WASIO_ETIMEDOUT);
        return;
      }
      left = c->deadline - now;
    }
    char ip[WASIO_ADDR_STRLEN];
    if (wasio_addr_format_ip(&c->addrs[c->next], ip, sizeof ip) < 0) continue;
    redisOptions o = {0};
    REDIS_OPTIONS_SET_TCP(&o, ip, c->port);
    struct timeval ctv, ttv;
    if (left != 0) {
      ctv = wasio_hiredis_tv(left);
      o.connect_timeout = &ctv;
    }
    if (c->opts.command_timeout_ns != WASIO_NO_TIMEOUT) {
      ttv = wasio_hiredis_tv(c->opts.command_timeout_ns);
      o.command_timeout = &ttv;
    }
    redisAsyncContext *ac = redisAsyncConnectWithOptions(&o);
    if (ac == NULL) {
      wasio_hiredis_finish(c, NULL, WASIO_ENOMEM);
      return;
    }
    int rc = ac->err != 0 ? wasio_hiredis_error(ac) : wasio_hiredis_attach(ac, c->loop);
    if (rc == 0) {
      ac->data = c;
      /* Setting the connect callback makes hiredis wait for writability. */
      if (redisAsyncSetConnectCallback(ac, wasio_hiredis_on_connect) == REDIS_OK) return;
      rc = WASIO_EIO;
    }
    c->last_err = rc;
    redisAsyncFree(ac);
  }
  wasio_hiredis_finish(c, NULL, c->last_err != 0 ? c->last_err : WASIO_ENAMENOTFOUND);
}

static void wasio_hiredis_on_retry(wasio_defer_t *req, int status) {
  wasio_hiredis_try(req->data);
}

static void wasio_hiredis_on_resolved(wasio_dns_t *req, int status, const wasio_addr_t *addrs, size_t count) {
  wasio_hiredis_conn_t *c = wasio_dns_data(req);
  if (status < 0) {
    wasio_hiredis_finish(c, NULL, status);
    return;
  }
  c->naddrs = count < WASIO_DNS_MAX_ADDRS ? count : WASIO_DNS_MAX_ADDRS;
  memcpy(c->addrs, addrs, c->naddrs * sizeof *addrs);
  wasio_hiredis_try(c);
}

int wasio_hiredis_connect(wasio_loop_t *loop, const char *host, uint16_t port,
                          const wasio_hiredis_opts_t *opts, wasio_hiredis_connect_cb cb, void *data) {
  if (loop == NULL || host == NULL || host[0] == '\0' || cb == NULL || port == 0) return WASIO_EINVAL;
  wasio_hiredis_conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) return WASIO_ENOMEM;
  c->loop = loop;
  c->port = port;
  if (opts != NULL) c->opts = *opts;
  c->cb = cb;
  c->data = data;
  c->retry.data = c;
  if (c->opts.connect_timeout_ns != WASIO_NO_TIMEOUT)
    c->deadline = wasio_loop_update_time(loop) + c->opts.connect_timeout_ns;
  int rc = wasio_dns_resolve(loop, host, c->opts.connect_timeout_ns, wasio_hiredis_on_resolved, c, NULL);
  if (rc != 0) free(c);
  return rc;
}
