/* src/core/tcp.c: wasio/tcp.h, once for every backend.
 *
 * Implementation notes
 * - States: NEW -> (BOUND ->) CONNECTING -> CONNECTED, or BOUND ->
 *   LISTENING; CLOSED after wasio_tcp_close. A failed connect releases the
 *   socket and goes back to NEW, so connect may be called again
 *   (connect_host's contract in internal.h). Where the host does TLS,
 *   CONNECTED -> UPGRADING -> CONNECTED (or NEW after a failed handshake)
 *   while the host's handshake has the streams (src/core/tls_host.c).
 * - The backend only moves bytes and waits (internal.h's wasio__bk_tcp_*);
 *   everything a user can observe is decided here, so the backends cannot
 *   drift apart.
 * - Writes happen in phase 3 only: wasio_tcp_write queues the request (and
 *   the handle on the pending list unless it is inside its own dispatch),
 *   so every write of a turn to one handle leaves in one gathered send. A
 *   request taken whole moves to the done list; done callbacks run in order,
 *   each counted against the handle's per-turn budget, so a train of writes
 *   chained through callbacks cannot hold the loop.
 * - Inside a handle's dispatch (IN_IO) the backend may hold small pieces
 *   back (MSG_MORE natively, a staging buffer on wasip2) until the push at
 *   the end of the dispatch: a train of small writes chained through
 *   callbacks leaves in few segments.
 * - Outcomes known when an operation starts (a connect refused at once, a
 *   write on a failed stream) are delivered from the pending list: no
 *   callback ever runs from inside the call that asked for it.
 * - The one timer node is the connect deadline while connecting, the idle
 *   and shutdown deadlines while connected, and the accept pause of a
 *   listener. The idle deadline is lazy: I/O only stamps last_active; the
 *   timer, when it fires early, moves itself to the new deadline, so busy
 *   sockets do not touch the heap per read.
 * - Every user callback may close the handle or change its state, so after
 *   each one the code re-checks before touching the handle again.
 * - Close hands the stream what it takes of the queued writes without
 *   waiting and releases the socket; the callbacks it owes (taken writes 0,
 *   the rest, the connect and the shutdown WASIO_ECANCELED) run in phase 4,
 *   before the close callback (wasio__tcp_closed), as libuv does: never
 *   from inside wasio_tcp_close, so a caller may close from anywhere
 *   without being re-entered.
 */
#include <string.h>

#include "internal.h"

enum {
  WASIO__TCPF_READING = 1 << 2,
  WASIO__TCPF_EOF = 1 << 3,          /* the peer ended its sending side */
  WASIO__TCPF_SHUT_REQ = 1 << 4,     /* wasio_tcp_shutdown called, not done */
  WASIO__TCPF_SHUT_WAIT = 1 << 5,    /* the backend is still ending the sending side */
  WASIO__TCPF_SHUT_DONE = 1 << 6,    /* the sending side is shut down */
  WASIO__TCPF_ACCEPT_PAUSED = 1 << 7,
  WASIO__TCPF_IN_IO = 1 << 8,        /* inside this handle's phase-3 work */
  WASIO__TCPF_CONNECT_DONE = 1 << 9, /* the connect's outcome waits in connect_status */
  WASIO__TCPF_WRITE_BLOCKED = 1 << 10 /* the backend took less than offered */
};

/* Most pieces gathered into one backend send; the rest go in the next. */
#define WASIO__TCP_IOV_MAX 64
/* Marks a write request that failed (its status is the handle's write_err). */
#define WASIO__WRITE_FAILED SIZE_MAX

static inline wasio_loop_t *wasio__tcp_loop(const wasio_tcp_t *tcp) { return tcp->h.loop; }
static inline bool wasio__tcp_closing(const wasio_tcp_t *tcp) { return wasio__handle_closing(&tcp->h); }
static inline bool wasio__tcp_has(const wasio_tcp_t *tcp, unsigned f) { return (tcp->flags & f) != 0; }
static inline void wasio__tcp_set(wasio_tcp_t *tcp, unsigned f) { tcp->flags |= (uint16_t)f; }
static inline void wasio__tcp_clear(wasio_tcp_t *tcp, unsigned f) { tcp->flags &= (uint16_t)~f; }

static const char *wasio__tcp_state_name(unsigned st) {
  static const char *const names[] = {"NEW", "BOUND", "CONNECTING", "CONNECTED", "LISTENING", "UPGRADING", "CLOSED"};
  return st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* Every change of state goes through here: the allowed moves are the
 * diagram of the notes above (checked in debug builds), and a trace build
 * logs each one. */
static void wasio__tcp_set_state(wasio_tcp_t *tcp, wasio__tcp_state_t to) {
  wasio__tcp_state_t from = (wasio__tcp_state_t)tcp->state;
  WASIO_ASSERT(from != WASIO__TCP_CLOSED);
  WASIO_ASSERT(to == WASIO__TCP_CLOSED || to == WASIO__TCP_NEW ||
               (to == WASIO__TCP_BOUND && from == WASIO__TCP_NEW) ||
               (to == WASIO__TCP_CONNECTING && (from == WASIO__TCP_NEW || from == WASIO__TCP_BOUND)) ||
               (to == WASIO__TCP_CONNECTED && (from == WASIO__TCP_CONNECTING || from == WASIO__TCP_UPGRADING)) ||
               (to == WASIO__TCP_LISTENING && from == WASIO__TCP_BOUND) ||
               (to == WASIO__TCP_UPGRADING && from == WASIO__TCP_CONNECTED));
  WASIO__TRACE(tcp, "tcp", "%s -> %s", wasio__tcp_state_name(from), wasio__tcp_state_name(to));
  (void)wasio__tcp_state_name;
  (void)from;
  tcp->state = (uint8_t)to;
}

static void wasio__tcp_init(wasio_loop_t *loop, wasio_tcp_t *tcp) {
  memset(tcp, 0, sizeof *tcp);
  wasio__handle_init(loop, &tcp->h, WASIO_KIND_TCP);
  wasio__pending_init(&tcp->pending, WASIO__PENDING_TCP);
  wasio__timer_node_init(&tcp->timer, WASIO__TIMER_TCP);
  tcp->state = WASIO__TCP_NEW;
  wasio__bk_tcp_init(tcp);
}

int wasio_tcp_new(wasio_loop_t *loop, wasio_tcp_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_tcp_t *tcp = wasio__malloc(sizeof *tcp);
  if (tcp == NULL) return WASIO_ENOMEM;
  wasio__tcp_init(loop, tcp);
  *out = tcp;
  return 0;
}

void wasio_tcp_set_data(wasio_tcp_t *tcp, void *data) { tcp->h.data = data; }
void *wasio_tcp_data(const wasio_tcp_t *tcp) { return tcp->h.data; }
wasio_loop_t *wasio_tcp_loop(const wasio_tcp_t *tcp) { return tcp->h.loop; }
size_t wasio_tcp_write_queue_size(const wasio_tcp_t *tcp) { return tcp->wq_bytes; }

/* ---- interest, activity, deadlines ------------------------------------------ */

static bool wasio__tcp_io_pending(const wasio_tcp_t *tcp) {
  return wasio__tcp_has(tcp, WASIO__TCPF_READING) || tcp->wq_head != NULL;
}

/* What the handle waits for in its state (WASIO__IO_*). Writes are
 * waited for only once the backend took less than offered: a write queued
 * meanwhile is tried from the pending list first. */
static unsigned wasio__tcp_want(const wasio_tcp_t *tcp) {
  switch ((wasio__tcp_state_t)tcp->state) {
    case WASIO__TCP_CONNECTING:
      return wasio__tcp_has(tcp, WASIO__TCPF_CONNECT_DONE) ? 0 : WASIO__IO_CONN;
    case WASIO__TCP_LISTENING:
      return wasio__tcp_has(tcp, WASIO__TCPF_ACCEPT_PAUSED) ? 0 : WASIO__IO_CONN;
    case WASIO__TCP_CONNECTED: {
      unsigned want = wasio__tcp_has(tcp, WASIO__TCPF_READING) ? WASIO__IO_READ : 0;
      if ((tcp->wq_head != NULL && wasio__tcp_has(tcp, WASIO__TCPF_WRITE_BLOCKED)) ||
          wasio__tcp_has(tcp, WASIO__TCPF_SHUT_WAIT))
        want |= WASIO__IO_WRITE;
      return want;
    }
    default:
      return 0;
  }
}

/* Recomputes what the handle waits for and whether it keeps the loop
 * alive. Called after every change of state. */
static void wasio__tcp_update(wasio_tcp_t *tcp) {
  if (wasio__tcp_closing(tcp)) return;
  WASIO_ASSERT((tcp->wq_head == NULL) == (tcp->wq_tail == NULL));
  WASIO_ASSERT((tcp->done_head == NULL) == (tcp->done_tail == NULL));
  WASIO_ASSERT(tcp->wq_head != NULL || tcp->wq_bytes == 0);
  WASIO_ASSERT(!wasio__tcp_has(tcp, WASIO__TCPF_READING) || tcp->state == WASIO__TCP_CONNECTED);
  unsigned want = wasio__tcp_want(tcp);
  bool active = false;
  switch ((wasio__tcp_state_t)tcp->state) {
    case WASIO__TCP_CONNECTING:
    case WASIO__TCP_LISTENING:
    case WASIO__TCP_UPGRADING: /* the backend waits for the handshake */
      active = true;
      break;
    case WASIO__TCP_CONNECTED:
      active = wasio__tcp_io_pending(tcp) || tcp->done_head != NULL ||
               wasio__tcp_has(tcp, WASIO__TCPF_SHUT_REQ);
      break;
    default:
      break;
  }
  /* Without memory to wait on the stream, try again from the pending list
   * next turn rather than never. */
  if (wasio__bk_tcp_want(tcp, want) != 0) wasio__pending_add(wasio__tcp_loop(tcp), &tcp->pending);
  wasio__handle_set_active(&tcp->h, active);
}

static void wasio__tcp_touch(wasio_tcp_t *tcp) { tcp->last_active = wasio_loop_now(wasio__tcp_loop(tcp)); }

/* The idle deadline: last activity plus the idle time, saturating. */
static uint64_t wasio__tcp_idle_due(const wasio_tcp_t *tcp) {
  uint64_t last = tcp->last_active, idle = tcp->idle_ns;
  return idle > UINT64_MAX - last ? UINT64_MAX : last + idle;
}

/* A due time `ns` from now, saturating. */
static uint64_t wasio__tcp_due_in(const wasio_tcp_t *tcp, uint64_t ns) {
  uint64_t now = wasio_loop_now(wasio__tcp_loop(tcp));
  return ns > UINT64_MAX - now ? UINT64_MAX : now + ns;
}

/* Arms the timer of a connected handle for the first of its deadlines:
 * the idle timeout while I/O is pending, a slow shutdown's limit. An armed
 * timer due no later is left alone (activity never re-arms it: when it
 * fires early it re-arms). */
static void wasio__tcp_deadlines(wasio_tcp_t *tcp) {
  if (tcp->state != WASIO__TCP_CONNECTED || wasio__tcp_closing(tcp)) return;
  wasio_loop_t *loop = wasio__tcp_loop(tcp);
  bool want = false;
  uint64_t due = UINT64_MAX;
  if (tcp->idle_ns != 0 && wasio__tcp_io_pending(tcp)) {
    due = wasio__tcp_idle_due(tcp);
    want = true;
  }
  if (wasio__tcp_has(tcp, WASIO__TCPF_SHUT_WAIT)) {
    if (tcp->shutdown_due < due) due = tcp->shutdown_due;
    want = true;
  }
  if (!want) {
    wasio__timer_node_disarm(loop, &tcp->timer);
    return;
  }
  if (wasio__timer_node_armed(&tcp->timer) && tcp->timer.due <= due) return;
  (void)wasio__timer_node_arm(loop, &tcp->timer, due);
}

/* Stamps the start of a wait when nothing was pending before. */
static void wasio__tcp_idle_start(wasio_tcp_t *tcp, bool was_pending) {
  if (tcp->idle_ns == 0) return;
  if (!was_pending) wasio__tcp_touch(tcp);
  wasio__tcp_deadlines(tcp);
}

int wasio_tcp_set_idle_timeout(wasio_tcp_t *tcp, uint64_t idle_ns) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  tcp->idle_ns = idle_ns;
  if (tcp->state != WASIO__TCP_CONNECTED) return 0; /* the node serves the connect or the listener */
  wasio__timer_node_disarm(wasio__tcp_loop(tcp), &tcp->timer);
  if (idle_ns != 0) wasio__tcp_touch(tcp);
  wasio__tcp_deadlines(tcp);
  return 0;
}

/* ---- connect ------------------------------------------------------------------ */

int wasio__tcp_connect_check(const wasio_tcp_t *tcp) {
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_NEW && tcp->state != WASIO__TCP_BOUND) return WASIO_ESTATE;
  return 0;
}

/* Releases the socket: the handle is NEW again. */
static void wasio__tcp_reset(wasio_tcp_t *tcp) {
  wasio__bk_tcp_release(tcp, false);
  tcp->family = 0;
  wasio__tcp_set_state(tcp, WASIO__TCP_NEW);
}

/* A connect, or the host's TLS handshake, is over: CONNECTED (its idle
 * clock starts now), or NEW with no socket after a failure. */
static void wasio__tcp_open_end(wasio_tcp_t *tcp, int status) {
  if (status == 0) {
    wasio__tcp_set_state(tcp, WASIO__TCP_CONNECTED);
    wasio__tcp_touch(tcp);
  } else {
    wasio__tcp_reset(tcp);
  }
  wasio__tcp_update(tcp);
}

/* Ends a connect attempt and reports it. On failure the handle is NEW
 * with no socket, ready for another connect (even from the callback). */
static void wasio__tcp_connect_finish(wasio_tcp_t *tcp, int status) {
  wasio_connect_cb cb = tcp->connect_cb;
  tcp->connect_cb = NULL;
  wasio__tcp_clear(tcp, WASIO__TCPF_CONNECT_DONE);
  wasio__timer_node_disarm(wasio__tcp_loop(tcp), &tcp->timer);
  wasio__tcp_open_end(tcp, status);
  cb(tcp, status);
}

/* The socket for `family`, created when first needed: one handle serves
 * either family until it has a socket. */
static int wasio__tcp_ensure_socket(wasio_tcp_t *tcp, uint8_t family) {
  if (tcp->family != 0) return tcp->family == family ? 0 : WASIO_EINVAL;
  int rc = wasio__bk_tcp_socket(tcp, family);
  if (rc == 0) tcp->family = family;
  return rc;
}

int wasio_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr, uint64_t timeout_ns,
                      wasio_connect_cb cb) {
  if (tcp == NULL || addr == NULL || cb == NULL) return WASIO_EINVAL;
  int rc = wasio__tcp_connect_check(tcp);
  if (rc != 0) return rc;
  if (addr->family != WASIO_AF_INET && addr->family != WASIO_AF_INET6) return WASIO_EINVAL;
  /* Port 0 and the unspecified address name no peer (WASI refuses them;
   * Linux would quietly connect 0.0.0.0 to loopback). */
  wasio_addr_t any;
  wasio_addr_any((wasio_family_t)addr->family, addr->port, &any);
  if (addr->port == 0 || wasio_addr_equal(addr, &any)) return WASIO_EINVAL;
  bool fresh = tcp->family == 0;
  if ((rc = wasio__tcp_ensure_socket(tcp, addr->family)) != 0) return rc;
  wasio_loop_t *loop = wasio__tcp_loop(tcp);
  if (timeout_ns != WASIO_NO_TIMEOUT) {
    if ((rc = wasio__timer_node_arm(loop, &tcp->timer, wasio__tcp_due_in(tcp, timeout_ns))) != 0) {
      if (fresh) wasio__tcp_reset(tcp);
      return rc;
    }
  } else {
    wasio__timer_node_disarm(loop, &tcp->timer);
  }
  tcp->connect_cb = cb;
  wasio__tcp_set_state(tcp, WASIO__TCP_CONNECTING);
  tcp->write_err = 0;
  wasio__tcp_clear(tcp, WASIO__TCPF_EOF | WASIO__TCPF_SHUT_DONE | WASIO__TCPF_CONNECT_DONE);
  rc = wasio__bk_tcp_connect(tcp, addr);
  if (rc != 0) {
    /* Known at once (connected, refused, denied...): reported through the
     * callback like any outcome, from the pending list. */
    tcp->connect_status = rc > 0 ? 0 : rc;
    wasio__tcp_set(tcp, WASIO__TCPF_CONNECT_DONE);
    wasio__pending_add(loop, &tcp->pending);
  }
  wasio__tcp_update(tcp);
  return 0;
}

/* ---- bind, listen, accept ------------------------------------------------------ */

int wasio_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr) {
  if (tcp == NULL || addr == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_NEW || tcp->family != 0 || tcp->ch != NULL) return WASIO_ESTATE;
  if (addr->family != WASIO_AF_INET && addr->family != WASIO_AF_INET6) return WASIO_EINVAL;
  int rc = wasio__tcp_ensure_socket(tcp, addr->family);
  if (rc == 0) rc = wasio__bk_tcp_bind(tcp, addr);
  if (rc != 0) {
    wasio__tcp_reset(tcp);
    return rc;
  }
  wasio__tcp_set_state(tcp, WASIO__TCP_BOUND);
  return 0;
}

int wasio_tcp_listen(wasio_tcp_t *tcp, int backlog, wasio_connection_cb cb) {
  if (tcp == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state == WASIO__TCP_LISTENING) return WASIO_EBUSY;
  if (tcp->state != WASIO__TCP_BOUND) return WASIO_ESTATE;
  if (backlog <= 0) backlog = WASIO_TCP_BACKLOG_DEFAULT;
  if (backlog > WASIO_TCP_BACKLOG_MAX) backlog = WASIO_TCP_BACKLOG_MAX;
  int rc = wasio__bk_tcp_listen(tcp, backlog);
  if (rc != 0) return rc;
  tcp->connection_cb = cb;
  wasio__tcp_set_state(tcp, WASIO__TCP_LISTENING);
  wasio__tcp_update(tcp);
  return 0;
}

/* Stops waiting for connections for WASIO_TCP_ACCEPT_PAUSE_NS (internal.h);
 * the timer resumes. Without a timer the listener could never resume: it
 * then keeps waiting. */
static void wasio__tcp_accept_pause(wasio_tcp_t *server) {
  wasio_loop_t *loop = wasio__tcp_loop(server);
  if (wasio__timer_node_arm(loop, &server->timer, wasio__tcp_due_in(server, WASIO_TCP_ACCEPT_PAUSE_NS)) != 0)
    return;
  wasio__tcp_set(server, WASIO__TCPF_ACCEPT_PAUSED);
  wasio__tcp_update(server);
}

static void wasio__tcp_accept_some(wasio_tcp_t *server) {
  wasio_loop_t *loop = wasio__tcp_loop(server);
  while (server->state == WASIO__TCP_LISTENING && !wasio__tcp_closing(server) &&
         !wasio__tcp_has(server, WASIO__TCPF_ACCEPT_PAUSED) && wasio__budget_take(loop, &server->budget)) {
    /* The memory comes first (the backend fills it), and stays with the
     * listener when nothing was waiting: no allocation per empty accept. */
    wasio_tcp_t *c = server->spare_client;
    if (c == NULL) c = wasio__malloc(sizeof *c);
    int status;
    if (c == NULL) {
      status = WASIO_ENOMEM;
    } else {
      memset(c, 0, sizeof *c);
      wasio__bk_tcp_init(c);
      status = wasio__bk_tcp_accept(server, c);
      server->spare_client = status == 0 ? NULL : c;
    }
    if (status == WASIO_EAGAIN) {
      server->budget.used--; /* no callback was made */
      return;
    }
    if (status != 0) {
      if (wasio__accept_error_pauses(status)) wasio__tcp_accept_pause(server);
      server->connection_cb(server, NULL, status);
      if (wasio__tcp_has(server, WASIO__TCPF_ACCEPT_PAUSED)) return;
      continue;
    }
    /* The backend part is filled: now the handle joins the loop. */
    wasio__backend_tcp_t b = c->b;
    wasio__tcp_init(loop, c);
    c->b = b;
    c->family = server->family;
    c->state = WASIO__TCP_CONNECTED;
    wasio__tcp_touch(c);
    server->connection_cb(server, c, 0);
  }
}

/* ---- the host's TLS (src/core/tls_host.c) ------------------------------------------ */

#ifdef WASIO__BK_HOST_TLS
int wasio__tcp_upgrade_start(wasio_tcp_t *tcp, const char *name, size_t len) {
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  /* Idle: nothing may still use the streams the host is about to take. */
  if (tcp->state != WASIO__TCP_CONNECTED || tcp->write_err != 0 || tcp->wq_head != NULL ||
      tcp->done_head != NULL ||
      wasio__tcp_has(tcp, WASIO__TCPF_READING | WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_DONE))
    return WASIO_ESTATE;
  /* Bytes the backend held back go out first: they are the handle's. */
  int rc = wasio__bk_tcp_push(tcp);
  if (rc != 0) return rc;
  rc = wasio__bk_tcp_tls_start(tcp, name, len);
  if (rc != 0) {
    /* The streams are gone: the socket goes too (NEW, only close is left). */
    wasio__tcp_reset(tcp);
    wasio__tcp_update(tcp);
    return rc;
  }
  wasio__timer_node_disarm(wasio__tcp_loop(tcp), &tcp->timer);
  wasio__pending_remove(&tcp->pending);
  wasio__tcp_set_state(tcp, WASIO__TCP_UPGRADING);
  wasio__tcp_update(tcp);
  return 0;
}

void wasio__tcp_upgrade_end(wasio_tcp_t *tcp, int status) {
  WASIO_ASSERT(tcp->state == WASIO__TCP_UPGRADING);
  wasio__tcp_open_end(tcp, status);
}
#endif

/* ---- reading -------------------------------------------------------------------- */

int wasio_tcp_read_start(wasio_tcp_t *tcp, wasio_alloc_cb alloc_cb, wasio_read_cb read_cb) {
  if (tcp == NULL || read_cb == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (wasio__tcp_has(tcp, WASIO__TCPF_READING)) return WASIO_EBUSY;
  if (wasio__tcp_has(tcp, WASIO__TCPF_EOF)) return WASIO_EOF;
  bool was_pending = wasio__tcp_io_pending(tcp);
  tcp->alloc_cb = alloc_cb;
  tcp->read_cb = read_cb;
  tcp->spare.base = NULL;
  tcp->spare.len = 0;
  wasio__tcp_set(tcp, WASIO__TCPF_READING);
  /* Asked here, not in update, so that a failure reaches the caller. */
  int rc = wasio__bk_tcp_want(tcp, wasio__tcp_want(tcp));
  if (rc != 0) {
    wasio__tcp_clear(tcp, WASIO__TCPF_READING);
    return rc;
  }
  wasio__tcp_update(tcp);
  wasio__tcp_idle_start(tcp, was_pending);
  return 0;
}

int wasio_tcp_read_stop(wasio_tcp_t *tcp) {
  if (tcp == NULL) return WASIO_EINVAL;
  /* A kept buffer belongs to this reading session (and its alloc_cb). */
  tcp->spare.base = NULL;
  tcp->spare.len = 0;
  if (!wasio__tcp_has(tcp, WASIO__TCPF_READING)) return 0;
  wasio__tcp_clear(tcp, WASIO__TCPF_READING);
  wasio__tcp_update(tcp);
  wasio__tcp_deadlines(tcp);
  return 0;
}

/* Stops reading and reports `status` (< 0) as the read's last word. */
static void wasio__tcp_read_fail(wasio_tcp_t *tcp, int status, const wasio_buf_t *buf) {
  wasio_read_cb cb = tcp->read_cb;
  wasio__tcp_clear(tcp, WASIO__TCPF_READING);
  if (status == WASIO_EOF) wasio__tcp_set(tcp, WASIO__TCPF_EOF);
  wasio__tcp_update(tcp);
  wasio__tcp_deadlines(tcp);
  cb(tcp, status, buf);
}

static void wasio__tcp_read_some(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop(tcp);
  while (wasio__tcp_has(tcp, WASIO__TCPF_READING) && !wasio__tcp_closing(tcp) &&
         wasio__budget_take(loop, &tcp->budget)) {
    wasio_buf_t buf = {NULL, 0};
    if (tcp->alloc_cb != NULL && tcp->spare.base != NULL) {
      /* The buffer of an earlier read that came back empty. */
      buf = tcp->spare;
      tcp->spare.base = NULL;
      tcp->spare.len = 0;
    } else if (tcp->alloc_cb != NULL) {
      tcp->alloc_cb(tcp, WASIO_READ_BUF_SIZE, &buf);
      if (!wasio__tcp_has(tcp, WASIO__TCPF_READING) || wasio__tcp_closing(tcp)) return;
      if (buf.base == NULL || buf.len == 0) {
        wasio__tcp_read_fail(tcp, WASIO_ENOMEM, &buf);
        return;
      }
    } else {
      buf.base = wasio__read_buf(loop);
      buf.len = WASIO_READ_BUF_SIZE;
    }
    ptrdiff_t n = wasio__bk_tcp_read(tcp, buf.base, buf.len);
    if (n == 0) {
      /* Nothing now: wait. Keep the caller's buffer for the next read, so
       * every buffer from alloc_cb comes back through exactly one read
       * callback (but the one still kept when reading stops). */
      tcp->budget.used--;
      if (tcp->alloc_cb != NULL) tcp->spare = buf;
      return;
    }
    if (n < 0) {
      wasio__tcp_read_fail(tcp, (int)n, &buf);
      return;
    }
    wasio__tcp_touch(tcp);
    tcp->read_cb(tcp, n, &buf);
    /* A short read drained what the host had; read on only where that is
     * cheaper than the wait that would lead to the same empty read. */
    if ((size_t)n < buf.len && !wasio__bk_tcp_read_on(tcp)) return;
  }
}

/* ---- writing ---------------------------------------------------------------------- */

static void wasio__tcp_done_push(wasio_tcp_t *tcp, wasio_write_t *req) {
  wasio__write_append(&tcp->done_head, &tcp->done_tail, req);
}

/* Fails every queued write with `err` (they move to the done list). */
static void wasio__tcp_fail_writes(wasio_tcp_t *tcp, int err) {
  tcp->write_err = err;
  wasio__tcp_clear(tcp, WASIO__TCPF_WRITE_BLOCKED);
  wasio_write_t *w = tcp->wq_head;
  tcp->wq_head = tcp->wq_tail = NULL;
  tcp->wq_bytes = 0;
  while (w != NULL) {
    wasio_write_t *next = w->wasio__next;
    w->wasio__done = WASIO__WRITE_FAILED;
    wasio__tcp_done_push(tcp, w);
    w = next;
  }
}

/* Hands the backend as much of the queue as it takes; requests taken whole
 * move to the done list. `more`: further writes may follow within this
 * dispatch (internal.h's wasio__bk_tcp_send). */
static void wasio__tcp_flush(wasio_tcp_t *tcp, bool more) {
  wasio__tcp_clear(tcp, WASIO__TCPF_WRITE_BLOCKED);
  while (tcp->wq_head != NULL) {
    wasio__iov_t iov[WASIO__TCP_IOV_MAX];
    size_t n = 0, offered = 0;
    for (wasio_write_t *w = tcp->wq_head; w != NULL && n < WASIO__TCP_IOV_MAX; w = w->wasio__next) {
      if (w->wasio__len == w->wasio__done) continue;
      iov[n].base = w->wasio__base + w->wasio__done;
      iov[n].len = w->wasio__len - w->wasio__done;
      offered += iov[n].len;
      n++;
    }
    size_t taken = 0;
    if (n > 0) {
      ptrdiff_t r = wasio__bk_tcp_send(tcp, iov, n, more);
      if (r < 0) {
        wasio__tcp_fail_writes(tcp, (int)r);
        return;
      }
      taken = (size_t)r;
      if (taken > 0) wasio__tcp_touch(tcp);
    }
    tcp->wq_bytes -= taken;
    /* Credit the bytes to the requests in order; zero-length requests
     * complete as soon as everything before them has. */
    size_t left_to_credit = taken;
    while (tcp->wq_head != NULL) {
      wasio_write_t *w = tcp->wq_head;
      size_t left = w->wasio__len - w->wasio__done;
      size_t take = left_to_credit < left ? left_to_credit : left;
      w->wasio__done += take;
      left_to_credit -= take;
      if (w->wasio__done < w->wasio__len) break;
      tcp->wq_head = w->wasio__next;
      if (tcp->wq_head == NULL) tcp->wq_tail = NULL;
      wasio__tcp_done_push(tcp, w);
    }
    if (taken < offered) {
      wasio__tcp_set(tcp, WASIO__TCPF_WRITE_BLOCKED);
      return;
    }
  }
}

/* Sends what the backend held back; a failure fails what is still queued. */
static void wasio__tcp_push(wasio_tcp_t *tcp) {
  int rc = wasio__bk_tcp_push(tcp);
  if (rc < 0 && tcp->write_err == 0) wasio__tcp_fail_writes(tcp, rc);
}

static int wasio__tcp_write_status(const wasio_tcp_t *tcp, const wasio_write_t *req) {
  return req->wasio__done == WASIO__WRITE_FAILED ? tcp->write_err : 0;
}

/* Runs write callbacks from the done list, within the turn's budget; the
 * rest wait for the next turn on the pending list. */
static void wasio__tcp_done_run(wasio_tcp_t *tcp) {
  wasio_loop_t *loop = wasio__tcp_loop(tcp);
  while (tcp->done_head != NULL && !wasio__tcp_closing(tcp)) {
    if (!wasio__budget_take(loop, &tcp->budget)) {
      wasio__pending_add(loop, &tcp->pending);
      return;
    }
    wasio_write_t *w = wasio__write_shift(&tcp->done_head, &tcp->done_tail);
    int status = wasio__tcp_write_status(tcp, w);
    w->wasio__tcp = NULL;
    wasio__tcp_update(tcp);
    w->wasio__cb(w, status);
  }
}

int wasio_tcp_write(wasio_tcp_t *tcp, wasio_write_t *req, const void *base, size_t len,
                    wasio_write_cb cb) {
  if (tcp == NULL || req == NULL || cb == NULL || (base == NULL && len > 0)) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (wasio__tcp_has(tcp, WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_DONE)) return WASIO_EPIPE;
  /* The stream already failed: nothing is queued, the caller learns why. */
  if (tcp->write_err != 0) return tcp->write_err;
  /* `req` is caller memory and may hold anything before its first use:
   * only a pointer to this handle is worth confirming by a scan. */
  if (req->wasio__tcp == tcp && (wasio__write_listed(tcp->wq_head, req) || wasio__write_listed(tcp->done_head, req)))
    return WASIO_EBUSY;
  bool was_pending = wasio__tcp_io_pending(tcp);
  wasio__write_init(req, tcp, base, len, cb);
  wasio__write_append(&tcp->wq_head, &tcp->wq_tail, req);
  tcp->wq_bytes += len;
  /* Written in phase 3: by this handle's own dispatch if it is in it, else
   * from the pending list (with every other write of the turn). */
  if (!wasio__tcp_has(tcp, WASIO__TCPF_IN_IO)) wasio__pending_add(wasio__tcp_loop(tcp), &tcp->pending);
  wasio__tcp_update(tcp);
  wasio__tcp_idle_start(tcp, was_pending);
  return 0;
}

/* ---- shutdown -------------------------------------------------------------------- */

int wasio_tcp_shutdown(wasio_tcp_t *tcp, wasio_shutdown_cb cb) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  if (wasio__tcp_has(tcp, WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_DONE)) return WASIO_EBUSY;
  wasio__tcp_set(tcp, WASIO__TCPF_SHUT_REQ);
  tcp->shutdown_cb = cb;
  if (!wasio__tcp_has(tcp, WASIO__TCPF_IN_IO)) wasio__pending_add(wasio__tcp_loop(tcp), &tcp->pending);
  wasio__tcp_update(tcp);
  return 0;
}

static void wasio__tcp_shutdown_finish(wasio_tcp_t *tcp, int status) {
  wasio_shutdown_cb cb = tcp->shutdown_cb;
  tcp->shutdown_cb = NULL;
  wasio__tcp_clear(tcp, WASIO__TCPF_SHUT_REQ | WASIO__TCPF_SHUT_WAIT);
  wasio__tcp_set(tcp, WASIO__TCPF_SHUT_DONE);
  wasio__tcp_update(tcp);
  wasio__tcp_deadlines(tcp);
  if (cb != NULL) cb(tcp, status);
}

/* Ends the sending side once every write is taken and its callback run. */
static void wasio__tcp_shutdown_step(wasio_tcp_t *tcp) {
  if (!wasio__tcp_has(tcp, WASIO__TCPF_SHUT_REQ) || tcp->wq_head != NULL || tcp->done_head != NULL) return;
  if (tcp->write_err != 0) {
    wasio__tcp_shutdown_finish(tcp, tcp->write_err);
    return;
  }
  wasio__tcp_push(tcp);
  if (tcp->write_err != 0) {
    wasio__tcp_shutdown_finish(tcp, tcp->write_err);
    return;
  }
  int rc = wasio__bk_tcp_shutdown(tcp);
  if (rc == WASIO_EAGAIN) {
    if (!wasio__tcp_has(tcp, WASIO__TCPF_SHUT_WAIT)) {
      wasio__tcp_set(tcp, WASIO__TCPF_SHUT_WAIT);
      tcp->shutdown_due = wasio__tcp_due_in(tcp, WASIO_TCP_SHUTDOWN_TIMEOUT_NS);
      wasio__tcp_deadlines(tcp);
    }
    wasio__tcp_update(tcp);
    return;
  }
  wasio__tcp_shutdown_finish(tcp, rc);
}

/* ---- phase 3 ------------------------------------------------------------------------ */

/* Output work: writes the backend takes now, their callbacks, again for
 * the writes those callbacks queued (each round runs at least one callback
 * of the budget, so the rounds end), then a due shutdown. `more`: writes
 * queued within this dispatch (a train may follow). */
static void wasio__tcp_output(wasio_tcp_t *tcp, unsigned what, bool more) {
  for (;;) {
    if (tcp->wq_head != NULL && (!wasio__tcp_has(tcp, WASIO__TCPF_WRITE_BLOCKED) || (what & WASIO__IO_WRITE)))
      wasio__tcp_flush(tcp, more);
    bool called = tcp->done_head != NULL;
    wasio__tcp_done_run(tcp);
    if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
    if (!called || tcp->wq_head == NULL || wasio__tcp_has(tcp, WASIO__TCPF_WRITE_BLOCKED) ||
        tcp->done_head != NULL)
      break;
    more = true;
  }
  wasio__tcp_shutdown_step(tcp);
}

/* A connected handle's work: output, then reads (when readable), then
 * what the read callbacks queued, so a response and the train its
 * callbacks chain go out in this dispatch (within the budget). */
static void wasio__tcp_connected_io(wasio_tcp_t *tcp, unsigned what) {
  wasio__tcp_output(tcp, what, false);
  if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED || !(what & WASIO__IO_READ)) return;
  wasio__tcp_read_some(tcp);
  if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
  wasio__tcp_output(tcp, 0, true);
}

/* Everything a handle does in phase 3, whether the backend found it ready
 * or it was on the pending list (what == 0). */
static void wasio__tcp_service(wasio_tcp_t *tcp, unsigned what) {
  if (wasio__tcp_closing(tcp)) return;
  switch ((wasio__tcp_state_t)tcp->state) {
    case WASIO__TCP_CONNECTING: {
      int status;
      if (wasio__tcp_has(tcp, WASIO__TCPF_CONNECT_DONE)) {
        status = tcp->connect_status;
      } else if (what & WASIO__IO_CONN) {
        status = wasio__bk_tcp_connect_result(tcp);
        if (status == WASIO_EAGAIN) return; /* not yet */
      } else {
        return;
      }
      wasio__tcp_connect_finish(tcp, status);
      return;
    }
    case WASIO__TCP_LISTENING:
      if (what & WASIO__IO_CONN) wasio__tcp_accept_some(tcp);
      return;
    case WASIO__TCP_CONNECTED:
      break;
    default:
      return;
  }
  wasio__tcp_set(tcp, WASIO__TCPF_IN_IO);
  wasio__tcp_connected_io(tcp, what);
  wasio__tcp_clear(tcp, WASIO__TCPF_IN_IO);
  if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
  /* The end of the dispatch: out with what the backend held back. */
  wasio__tcp_push(tcp);
  if (tcp->write_err != 0 && tcp->done_head != NULL) wasio__pending_add(wasio__tcp_loop(tcp), &tcp->pending);
  wasio__tcp_update(tcp);
  wasio__tcp_deadlines(tcp);
}

void wasio__tcp_ready(wasio_tcp_t *tcp, unsigned what) { wasio__tcp_service(tcp, what); }

void wasio__tcp_on_pending(wasio_tcp_t *tcp) { wasio__tcp_service(tcp, 0); }

void wasio__tcp_on_timer(wasio__timer_node_t *node) {
  wasio_tcp_t *tcp = WASIO__CONTAINER_OF(node, wasio_tcp_t, timer);
  wasio_loop_t *loop = wasio__tcp_loop(tcp);
  if (wasio__tcp_closing(tcp)) return;
  switch ((wasio__tcp_state_t)tcp->state) {
    case WASIO__TCP_CONNECTING:
      wasio__tcp_connect_finish(tcp, WASIO_ETIMEDOUT);
      return;
    case WASIO__TCP_LISTENING:
      /* The accept pause is over: wait for connections again. */
      wasio__tcp_clear(tcp, WASIO__TCPF_ACCEPT_PAUSED);
      wasio__tcp_update(tcp);
      return;
    case WASIO__TCP_CONNECTED:
      break;
    default:
      return;
  }
  uint64_t now = wasio_loop_now(loop);
  if (wasio__tcp_has(tcp, WASIO__TCPF_SHUT_WAIT) && now >= tcp->shutdown_due) {
    wasio__tcp_shutdown_finish(tcp, WASIO_ETIMEDOUT);
    if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
  }
  if (tcp->idle_ns != 0 && wasio__tcp_io_pending(tcp) && now >= wasio__tcp_idle_due(tcp)) {
    /* Idle for too long: the pending read learns it first, then each
     * queued write, in order. */
    if (wasio__tcp_has(tcp, WASIO__TCPF_READING)) {
      wasio_buf_t none = {NULL, 0};
      wasio__tcp_read_fail(tcp, WASIO_ETIMEDOUT, &none);
      if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
    }
    if (tcp->wq_head != NULL) {
      wasio__tcp_fail_writes(tcp, WASIO_ETIMEDOUT);
      wasio__tcp_done_run(tcp);
      if (wasio__tcp_closing(tcp) || tcp->state != WASIO__TCP_CONNECTED) return;
      wasio__tcp_update(tcp);
    }
  }
  wasio__tcp_deadlines(tcp); /* what is left to wait for, or activity since */
}

/* ---- options and addresses -------------------------------------------------------- */

int wasio_tcp_keepalive(wasio_tcp_t *tcp, bool enable, uint64_t idle_ns) {
  if (tcp == NULL) return WASIO_EINVAL;
  if (wasio__tcp_closing(tcp)) return WASIO_ECLOSING;
  wasio__tcp_set(tcp, WASIO__TCPF_KA_SET);
  if (enable)
    wasio__tcp_set(tcp, WASIO__TCPF_KA_ON);
  else
    wasio__tcp_clear(tcp, WASIO__TCPF_KA_ON);
  tcp->keepalive_idle_ns = idle_ns;
  /* Without a socket yet, the backend applies it when it creates one. */
  return tcp->family != 0 ? wasio__bk_tcp_keepalive(tcp) : 0;
}

int wasio_tcp_local_addr(const wasio_tcp_t *tcp, wasio_addr_t *out) {
  if (tcp == NULL || out == NULL) return WASIO_EINVAL;
  if (tcp->family == 0 || tcp->state == WASIO__TCP_CLOSED) return WASIO_ENOTCONN;
  return wasio__bk_tcp_addr(tcp, false, out);
}

int wasio_tcp_peer_addr(const wasio_tcp_t *tcp, wasio_addr_t *out) {
  if (tcp == NULL || out == NULL) return WASIO_EINVAL;
  if (tcp->state != WASIO__TCP_CONNECTED) return WASIO_ENOTCONN;
  return wasio__bk_tcp_addr(tcp, true, out);
}

/* ---- close --------------------------------------------------------------------------- */

void wasio_tcp_close(wasio_tcp_t *tcp, wasio_tcp_close_cb cb) {
  if (tcp == NULL || wasio__tcp_closing(tcp)) return;
  wasio_loop_t *loop = wasio__tcp_loop(tcp);
  wasio__handle_close(&tcp->h, (void (*)(void *))cb);
  /* What close cancels is owed a callback in phase 4: a connect by name
   * (its record ends now), a plain connect, the writes, the shutdown. */
  wasio__tcp_state_t old_state = (wasio__tcp_state_t)tcp->state;
  if (tcp->ch != NULL)
    tcp->cancel_connect_cb = wasio__connect_host_cancel(tcp);
  else if (old_state == WASIO__TCP_CONNECTING)
    tcp->cancel_connect_cb = tcp->connect_cb;
  tcp->connect_cb = NULL;
  /* What is queued goes to the stream now, as far as it takes it without
   * waiting (a write followed by a close is a common way to answer and
   * hang up): those requests complete with 0, the rest are canceled. */
  if (old_state == WASIO__TCP_CONNECTED && tcp->write_err == 0 && tcp->wq_head != NULL)
    wasio__tcp_flush(tcp, false);
  wasio__tcp_clear(tcp, WASIO__TCPF_READING | WASIO__TCPF_SHUT_WAIT | WASIO__TCPF_IN_IO | WASIO__TCPF_CONNECT_DONE);
  wasio__timer_node_disarm(loop, &tcp->timer);
  wasio__pending_remove(&tcp->pending);
  /* Bytes the backend held back belong to requests already taken: they go
   * out before the socket does. An error has no one left to tell. */
  if (old_state == WASIO__TCP_CONNECTED) (void)wasio__bk_tcp_push(tcp);
  wasio__bk_tcp_release(tcp, old_state == WASIO__TCP_CONNECTED);
  wasio__tcp_set_state(tcp, WASIO__TCP_CLOSED);
  wasio__handle_set_active(&tcp->h, false);
  wasio__free(tcp->spare_client);
  tcp->spare_client = NULL;
}

void wasio__tcp_closed(wasio_tcp_t *tcp) {
  wasio_connect_cb ccb = tcp->cancel_connect_cb;
  tcp->cancel_connect_cb = NULL;
  if (ccb != NULL) ccb(tcp, WASIO_ECANCELED);
  /* Taken writes with their status, then the canceled ones, in order. */
  while (tcp->done_head != NULL) {
    wasio_write_t *w = wasio__write_shift(&tcp->done_head, &tcp->done_tail);
    int status = wasio__tcp_write_status(tcp, w);
    w->wasio__tcp = NULL;
    w->wasio__cb(w, status);
  }
  while (tcp->wq_head != NULL) {
    wasio_write_t *w = wasio__write_shift(&tcp->wq_head, &tcp->wq_tail);
    w->wasio__tcp = NULL;
    w->wasio__cb(w, WASIO_ECANCELED);
  }
  tcp->wq_bytes = 0;
  if (wasio__tcp_has(tcp, WASIO__TCPF_SHUT_REQ)) {
    wasio__tcp_clear(tcp, WASIO__TCPF_SHUT_REQ);
    wasio_shutdown_cb scb = tcp->shutdown_cb;
    tcp->shutdown_cb = NULL;
    if (scb != NULL) scb(tcp, WASIO_ECANCELED);
  }
}

void wasio__tcp_free(wasio_tcp_t *tcp) {
  /* wasio_tcp_close released everything; the core frees the memory. */
  wasio__pending_remove(&tcp->pending);
}
