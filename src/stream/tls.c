/* src/stream/tls.c: wasio_tls_t (wasio/tls.h), a TLS engine carried by a
 * wasio_tcp_t.
 *
 * Implementation notes
 * - The engine is reached only through wasio/tls.h and src/tls/tls_engine.h
 *   (the engine glue is the only code that knows the TLS library).
 * - One function, wasio__tls_pump(), turns the engine's state bits into
 *   actions until nothing moves: ciphertext out (one TCP write in flight,
 *   from the stream's own WASIO_TLS_BUFSIZE_OUT buffer), queued plaintext
 *   in, decrypted plaintext to the reader, TCP read interest on or off,
 *   the handshake and final read statuses. Every event (TCP read, TCP write
 *   done, a user call) ends in it. A call from inside a callback that the
 *   pump made only asks the running pump for another round (no nesting).
 * - Ciphertext lands straight in the engine's record buffer: the TCP alloc
 *   callback hands out wasio__tls_engine_cipher_in_buf(), and stops TCP
 *   reading when the engine has no room (the reader is not taking
 *   plaintext), which is the backpressure.
 * - A write completes when the ciphertext that carries its last byte has
 *   been accepted by TCP: after pushing its last byte the engine is flushed,
 *   so the record ends there, and the request remembers the count of
 *   ciphertext bytes that must be written by then (its mark, kept in
 *   wasio__len once its bytes are in the engine).
 * - Nothing is sent before the handshake succeeds (the engine accepts no
 *   application data until then), so a rejected certificate never leaks a
 *   byte of the request.
 * - A public call (handshake, read_start, write, shutdown) never runs the
 *   pump itself: it queues one deferred request, and the pump runs in
 *   phase 2 of the next turn. So, as with wasio_tcp_*, no callback ever runs
 *   from inside the call that asked for it (not a buffered read, not a
 *   zero-length write, not a TCP write that fails at once). The deferred
 *   request lives in the stream, so a stream closed while it is queued is
 *   freed by that request's callback, not before.
 * - Close: wasio_tls_close closes the TCP handle and calls nothing. In
 *   phase 4 TCP first ends what it owes (the ciphertext write in flight, its
 *   shutdown), then its close callback (wasio__tls_tcp_closed) ends what the
 *   stream owes, each once and in order: the handshake callback, the writes
 *   (0 for those whose ciphertext TCP had taken, WASIO_ECANCELED for the
 *   rest), the shutdown; then the stream's close callback.
 * - State, one axis each, each changed only through its function (which
 *   checks the move with WASIO_ASSERT and traces it with WASIO__TRACE):
 *     session   IDLE -> HANDSHAKE (the first public call) -> OPEN;
 *               HANDSHAKE or OPEN -> FAILED (every waiter was told why);
 *     shutdown  NONE -> WAIT (asked; writes still going into the engine)
 *               -> NOTIFY (close_notify is in the engine) -> TCP (TCP's
 *               shutdown runs) -> DONE (reported; from WAIT, NOTIFY or TCP
 *               on a failure);
 *     input     IDLE <-> READING (TCP reads ciphertext) -> EOF (for good);
 *     pump      IDLE -> RUNNING <-> AGAIN (another round was asked for);
 *     defer     NONE <-> QUEUED -> ORPHANED (closed while queued: the
 *               request frees the stream).
 *   Beside them three flags that combine with nothing: closing
 *   (wasio_tls_close ran), reading (the user's reader is on) and out_busy
 *   (a ciphertext TCP write is in flight).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"       /* wasio__calloc/wasio__free, WASIO_ASSERT, WASIO__TRACE */
#include "tls/tls_engine.h" /* the engine, not the library under it */

/* Plaintext handed to a reader without an alloc callback, per call. */
#define WASIO__TLS_PLAIN_CHUNK 16384

typedef enum wasio__tls_state {
  WASIO__TLS_IDLE = 0,
  WASIO__TLS_HANDSHAKE,
  WASIO__TLS_OPEN,
  WASIO__TLS_FAILED
} wasio__tls_state_t;

typedef enum wasio__tls_sd {
  WASIO__TLS_SD_NONE = 0,
  WASIO__TLS_SD_WAIT,
  WASIO__TLS_SD_NOTIFY,
  WASIO__TLS_SD_TCP,
  WASIO__TLS_SD_DONE
} wasio__tls_sd_t;

typedef enum wasio__tls_in {
  WASIO__TLS_IN_IDLE = 0,
  WASIO__TLS_IN_READING,
  WASIO__TLS_IN_EOF
} wasio__tls_in_t;

typedef enum wasio__tls_pump_state {
  WASIO__TLS_PUMP_IDLE = 0,
  WASIO__TLS_PUMP_RUNNING,
  WASIO__TLS_PUMP_AGAIN
} wasio__tls_pump_state_t;

typedef enum wasio__tls_defer {
  WASIO__TLS_DEFER_NONE = 0,
  WASIO__TLS_DEFER_QUEUED,
  WASIO__TLS_DEFER_ORPHANED
} wasio__tls_defer_t;

struct wasio_tls {
  wasio_tcp_t *tcp;
  wasio_loop_t *loop;
  wasio_defer_t defer;  /* runs the pump after a public call */
  wasio_tls_engine_t *e;
  void *data;
  wasio_tls_handshake_cb hs_cb;
  wasio_tls_alloc_cb alloc_cb;
  wasio_tls_read_cb read_cb;
  wasio_tls_shutdown_cb sd_cb;
  wasio_tls_close_cb close_cb;
  uint8_t state;        /* wasio__tls_state_t */
  uint8_t sd;           /* wasio__tls_sd_t */
  uint8_t in;           /* wasio__tls_in_t */
  uint8_t pump;         /* wasio__tls_pump_state_t */
  uint8_t defer_state;  /* wasio__tls_defer_t */
  bool closing;         /* wasio_tls_close ran */
  bool reading;         /* the user's reader is on */
  bool out_busy;        /* a ciphertext TCP write is in flight */
  int read_final;       /* status for the reader once plaintext is drained */
  int error;            /* why the stream failed (FAILED) */
  /* Plaintext writes: queued (bytes left to push) and pushed (waiting for
   * their ciphertext to be written); the pushed ones are older. */
  wasio_write_t *wq_head, *wq_tail, *sent_head, *sent_tail;
  size_t queued;
  /* Ciphertext: counters (wrap-around arithmetic) and the write in flight. */
  size_t cipher_pulled, cipher_written;
  size_t out_len;
  wasio_write_t out_req;
  uint8_t out[WASIO_TLS_BUFSIZE_OUT];
  uint8_t plain[WASIO__TLS_PLAIN_CHUNK];
};

static void wasio__tls_pump(wasio_tls_t *t);

/* ---- state ------------------------------------------------------------------- */

/* The names of each axis's values, for the trace. */
enum { WASIO__TLS_AXIS_STATE, WASIO__TLS_AXIS_SD, WASIO__TLS_AXIS_IN };
static const char *wasio__tls_name(int axis, unsigned v) {
  static const char *const state[] = {"IDLE", "HANDSHAKE", "OPEN", "FAILED"};
  static const char *const sd[] = {"NONE", "WAIT", "NOTIFY", "TCP", "DONE"};
  static const char *const in[] = {"IDLE", "READING", "EOF"};
  switch (axis) {
    case WASIO__TLS_AXIS_STATE: return v < 4 ? state[v] : "?";
    case WASIO__TLS_AXIS_SD: return v < 5 ? sd[v] : "?";
    default: return v < 3 ? in[v] : "?";
  }
}

static void wasio__tls_set_state(wasio_tls_t *t, wasio__tls_state_t to) {
  wasio__tls_state_t from = (wasio__tls_state_t)t->state;
  WASIO_ASSERT((to == WASIO__TLS_HANDSHAKE && from == WASIO__TLS_IDLE) ||
               (to == WASIO__TLS_OPEN && from == WASIO__TLS_HANDSHAKE) ||
               (to == WASIO__TLS_FAILED && (from == WASIO__TLS_HANDSHAKE || from == WASIO__TLS_OPEN)));
  /* A session that failed has told everyone: nothing waits on its engine. */
  WASIO_ASSERT(to != WASIO__TLS_FAILED || t->error < 0);
  WASIO__TRACE(t, "tls", "session %s -> %s", wasio__tls_name(WASIO__TLS_AXIS_STATE, from),
               wasio__tls_name(WASIO__TLS_AXIS_STATE, to));
  (void)from;
  (void)wasio__tls_name;
  t->state = (uint8_t)to;
}

static void wasio__tls_set_sd(wasio_tls_t *t, wasio__tls_sd_t to) {
  wasio__tls_sd_t from = (wasio__tls_sd_t)t->sd;
  WASIO_ASSERT((to == WASIO__TLS_SD_WAIT && from == WASIO__TLS_SD_NONE) ||
               (to == WASIO__TLS_SD_NOTIFY && from == WASIO__TLS_SD_WAIT) ||
               (to == WASIO__TLS_SD_TCP && from == WASIO__TLS_SD_NOTIFY) ||
               (to == WASIO__TLS_SD_DONE && from != WASIO__TLS_SD_NONE && from != WASIO__TLS_SD_DONE));
  /* close_notify goes after every queued write, and only in a session. */
  WASIO_ASSERT(to != WASIO__TLS_SD_NOTIFY || (t->wq_head == NULL && t->state == WASIO__TLS_OPEN));
  WASIO__TRACE(t, "tls", "shutdown %s -> %s", wasio__tls_name(WASIO__TLS_AXIS_SD, from),
               wasio__tls_name(WASIO__TLS_AXIS_SD, to));
  (void)from;
  t->sd = (uint8_t)to;
}

static void wasio__tls_set_in(wasio_tls_t *t, wasio__tls_in_t to) {
  wasio__tls_in_t from = (wasio__tls_in_t)t->in;
  WASIO_ASSERT(from != WASIO__TLS_IN_EOF && from != to);
  WASIO__TRACE(t, "tls", "input %s -> %s", wasio__tls_name(WASIO__TLS_AXIS_IN, from),
               wasio__tls_name(WASIO__TLS_AXIS_IN, to));
  (void)from;
  t->in = (uint8_t)to;
}

/* The first public call starts the session (the pump runs from then on). */
static void wasio__tls_start(wasio_tls_t *t) {
  if (t->state == WASIO__TLS_IDLE) wasio__tls_set_state(t, WASIO__TLS_HANDSHAKE);
}

/* A shutdown that was asked for and not reported yet. */
static bool wasio__tls_sd_owed(const wasio_tls_t *t) {
  return t->sd != WASIO__TLS_SD_NONE && t->sd != WASIO__TLS_SD_DONE;
}

static void wasio__tls_sd_report(wasio_tls_t *t, int status) {
  wasio__tls_set_sd(t, WASIO__TLS_SD_DONE);
  if (t->sd_cb) t->sd_cb(t, status);
}

/* ---- helpers ----------------------------------------------------------------- */

static void wasio__tls_write_done(wasio_write_t *r, int status) {
  wasio_write_cb cb = r->wasio__cb;
  r->wasio__cb = NULL;
  cb(r, status);
}

/* Whether the ciphertext that carries r's last byte was written (r's mark). */
static bool wasio__tls_sent_out(const wasio_tls_t *t, const wasio_write_t *r) {
  return (size_t)(t->cipher_written - r->wasio__len) <= SIZE_MAX / 2;
}

/* Every write ends with `status`, in order: the pushed ones, then the
 * queued ones. */
static void wasio__tls_end_writes(wasio_tls_t *t, int status) {
  t->queued = 0;
  while (t->sent_head) wasio__tls_write_done(wasio__write_shift(&t->sent_head, &t->sent_tail), status);
  while (t->wq_head) wasio__tls_write_done(wasio__write_shift(&t->wq_head, &t->wq_tail), status);
}

/* The engine (or the transport) failed: everyone waiting learns why, in
 * the order close uses: the handshake, the writes, the shutdown, then the
 * reader. */
static void wasio__tls_fail(wasio_tls_t *t, int err) {
  if (t->state == WASIO__TLS_FAILED) return;
  bool hs_owed = t->state == WASIO__TLS_HANDSHAKE;
  t->error = err;
  wasio__tls_set_state(t, WASIO__TLS_FAILED);
  if (hs_owed && t->hs_cb) t->hs_cb(t, err);
  wasio__tls_end_writes(t, err);
  if (wasio__tls_sd_owed(t)) wasio__tls_sd_report(t, err);
  if (t->reading) {
    t->reading = false;
    t->read_cb(t, err, &(wasio_buf_t){NULL, 0});
  }
}

/* ---- TCP callbacks ----------------------------------------------------------------- */

static void wasio__tls_tcp_alloc(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  wasio_tls_t *t = wasio_tcp_data(tcp);
  size_t cap = 0;
  void *p = t->state == WASIO__TLS_FAILED ? NULL : wasio__tls_engine_cipher_in_buf(t->e, &cap);
  if (p == NULL) { /* no room: stop reading until the pump starts it again */
    wasio__tls_set_in(t, WASIO__TLS_IN_IDLE);
    wasio_tcp_read_stop(tcp);
    return;
  }
  buf->base = p;
  buf->len = cap;
}

static void wasio__tls_tcp_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf; /* the ciphertext is where the alloc callback put it */
  wasio_tls_t *t = wasio_tcp_data(tcp);
  if (nread > 0) {
    wasio__tls_engine_cipher_in_ack(t->e, (size_t)nread);
    wasio__tls_pump(t);
    return;
  }
  if (nread == WASIO_EOF) {
    wasio__tls_set_in(t, WASIO__TLS_IN_EOF);
    /* close_notify received: a clean end, delivered after the plaintext. */
    int st = wasio_tls_engine_transport_eof(t->e);
    if (st == WASIO_EOF) t->read_final = WASIO_EOF;
  } else {
    wasio__tls_set_in(t, WASIO__TLS_IN_IDLE);
    wasio__tls_fail(t, (int)nread);
  }
  wasio__tls_pump(t);
}

static void wasio__tls_tcp_write_done(wasio_write_t *req, int status) {
  wasio_tls_t *t = req->data;
  t->out_busy = false;
  if (status != 0) {
    if (!t->closing) wasio__tls_fail(t, status);
    return;
  }
  t->cipher_written += t->out_len;
  wasio__tls_pump(t);
}

static void wasio__tls_tcp_shutdown_done(wasio_tcp_t *tcp, int status) {
  wasio_tls_t *t = wasio_tcp_data(tcp);
  if (t->sd != WASIO__TLS_SD_TCP) return; /* reported already (a failure) */
  wasio__tls_sd_report(t, status);
}

/* Phase 4: TCP ended what it owed (our ciphertext write, its shutdown);
 * now what the stream owes, in order, then its close callback. */
static void wasio__tls_tcp_closed(wasio_tcp_t *tcp) {
  wasio_tls_t *t = wasio_tcp_data(tcp);
  WASIO_ASSERT(t->closing && !t->out_busy);
  if (t->state == WASIO__TLS_HANDSHAKE && t->hs_cb) t->hs_cb(t, WASIO_ECANCELED);
  /* A write whose ciphertext TCP took (before the close, or in it) is done. */
  while (t->sent_head != NULL && wasio__tls_sent_out(t, t->sent_head))
    wasio__tls_write_done(wasio__write_shift(&t->sent_head, &t->sent_tail), 0);
  wasio__tls_end_writes(t, WASIO_ECANCELED);
  if (wasio__tls_sd_owed(t)) wasio__tls_sd_report(t, WASIO_ECANCELED);
  /* The engine goes first, so that the close callback may free the
   * config it was made from (a config refuses to go while engines use it). */
  wasio_tls_engine_free(t->e);
  t->e = NULL;
  if (t->close_cb) t->close_cb(t);
  if (t->defer_state == WASIO__TLS_DEFER_QUEUED)
    t->defer_state = WASIO__TLS_DEFER_ORPHANED; /* the queued request still points into us */
  else
    wasio__free(t);
}

/* ---- the pump ------------------------------------------------------------------------- */

static bool wasio__tls_pump_once(wasio_tls_t *t) {
  wasio_tls_engine_t *e = t->e;
  bool moved = false;
  unsigned st = wasio_tls_engine_state(e);

  /* Ciphertext out, also after a failure (the alert that says why). */
  if (!t->out_busy) {
    /* A whole flight in one TCP write: the engine hands out one record at a
     * time and builds the next once that one is taken, so keep taking while
     * the buffer has room. Written record by record, the second write of a
     * flight (ChangeCipherSpec, Finished) waited in the peer's delayed-ACK
     * window behind Nagle, about 40 ms per handshake on hosts where WASI
     * 0.2 cannot set TCP_NODELAY. */
    size_t n = 0, got;
    while (n < sizeof t->out && (got = wasio_tls_engine_pull_cipher(e, t->out + n, sizeof t->out - n)) > 0)
      n += got;
    if (n) {
      t->out_busy = true;
      t->out_req.data = t;
      t->cipher_pulled += n;
      int rc = wasio_tcp_write(t->tcp, &t->out_req, t->out, n, wasio__tls_tcp_write_done);
      if (rc < 0) {
        t->out_busy = false;
        wasio__tls_fail(t, rc);
        return false;
      }
      t->out_len = n;
      moved = true;
      st = wasio_tls_engine_state(e);
    }
  }
  if (t->state == WASIO__TLS_FAILED) return moved;

  int err = wasio_tls_engine_error(e);
  if (err) {
    wasio__tls_fail(t, err);
    return true;
  }

  /* The handshake result. */
  if (t->state == WASIO__TLS_HANDSHAKE && wasio__tls_engine_handshake_done(e)) {
    wasio__tls_set_state(t, WASIO__TLS_OPEN);
    if (t->hs_cb) t->hs_cb(t, 0);
    return true;
  }

  /* A write whose ciphertext is out. */
  if (t->sent_head && wasio__tls_sent_out(t, t->sent_head)) {
    wasio__tls_write_done(wasio__write_shift(&t->sent_head, &t->sent_tail), 0);
    return true;
  }

  /* Queued plaintext in. */
  if (t->wq_head && (st & WASIO_TLS_SEND_PLAIN)) {
    wasio_write_t *r = t->wq_head;
    size_t n = wasio_tls_engine_push_plain(e, r->wasio__base + r->wasio__done, r->wasio__len - r->wasio__done);
    r->wasio__done += n;
    t->queued -= n;
    if (r->wasio__done == r->wasio__len) {
      wasio_tls_engine_flush(e);
      size_t pending = wasio__tls_engine_cipher_out_pending(e);
      wasio__write_shift(&t->wq_head, &t->wq_tail);
      r->wasio__len = t->cipher_pulled + pending; /* the mark */
      wasio__write_append(&t->sent_head, &t->sent_tail, r);
    }
    return true;
  }

  /* close_notify once every write is in the engine. */
  if (t->sd == WASIO__TLS_SD_WAIT && t->wq_head == NULL && t->state == WASIO__TLS_OPEN) {
    wasio__tls_set_sd(t, WASIO__TLS_SD_NOTIFY);
    wasio_tls_engine_close(e);
    return true;
  }
  if (t->sd == WASIO__TLS_SD_NOTIFY && !t->out_busy && !(st & WASIO_TLS_SEND_CIPHER) && t->sent_head == NULL) {
    wasio__tls_set_sd(t, WASIO__TLS_SD_TCP);
    int rc = wasio_tcp_shutdown(t->tcp, wasio__tls_tcp_shutdown_done);
    if (rc < 0) wasio__tls_sd_report(t, rc);
    return true;
  }

  /* Plaintext to the reader. */
  if (t->reading && (st & WASIO_TLS_RECV_PLAIN)) {
    wasio_buf_t buf = {t->plain, sizeof t->plain};
    if (t->alloc_cb) {
      buf.base = NULL;
      buf.len = 0;
      t->alloc_cb(t, WASIO__TLS_PLAIN_CHUNK, &buf);
      if (!t->reading || t->closing) return true;
      if (buf.base == NULL || buf.len == 0) {
        t->reading = false;
        t->read_cb(t, WASIO_ENOMEM, &buf);
        return true;
      }
    }
    size_t n = wasio_tls_engine_pull_plain(e, buf.base, buf.len);
    if (n) t->read_cb(t, (ptrdiff_t)n, &buf);
    return true;
  }

  /* A clean close from the peer (close_notify), after all its plaintext. */
  if (!t->read_final && (st == WASIO_TLS_CLOSED || wasio__tls_engine_close_received(e))) t->read_final = WASIO_EOF;
  if (t->reading && t->read_final && !(st & WASIO_TLS_RECV_PLAIN)) {
    t->reading = false;
    t->read_cb(t, t->read_final, &(wasio_buf_t){NULL, 0});
    return true;
  }

  /* Ciphertext in: read TCP only while the engine has room. */
  bool want = (st & WASIO_TLS_RECV_CIPHER) && t->in != WASIO__TLS_IN_EOF;
  if (want && t->in == WASIO__TLS_IN_IDLE) {
    int rc = wasio_tcp_read_start(t->tcp, wasio__tls_tcp_alloc, wasio__tls_tcp_read);
    if (rc < 0 && rc != WASIO_EBUSY) {
      wasio__tls_fail(t, rc == WASIO_EOF ? wasio_tls_engine_transport_eof(e) : rc);
      return true;
    }
    wasio__tls_set_in(t, WASIO__TLS_IN_READING);
  } else if (!want && t->in == WASIO__TLS_IN_READING) {
    wasio_tcp_read_stop(t->tcp);
    wasio__tls_set_in(t, WASIO__TLS_IN_IDLE);
  }
  return moved;
}

static void wasio__tls_pump(wasio_tls_t *t) {
  if (t->state == WASIO__TLS_IDLE || t->closing) return;
  if (t->pump != WASIO__TLS_PUMP_IDLE) {
    t->pump = WASIO__TLS_PUMP_AGAIN;
    return;
  }
  do {
    t->pump = WASIO__TLS_PUMP_RUNNING;
    while (!t->closing && wasio__tls_pump_once(t)) {
    }
  } while (t->pump == WASIO__TLS_PUMP_AGAIN && !t->closing);
  t->pump = WASIO__TLS_PUMP_IDLE;
}

static void wasio__tls_deferred(wasio_defer_t *req, int status) {
  (void)status;
  wasio_tls_t *t = req->data;
  if (t->defer_state == WASIO__TLS_DEFER_ORPHANED) {
    wasio__free(t);
    return;
  }
  t->defer_state = WASIO__TLS_DEFER_NONE;
  wasio__tls_pump(t);
}

/* Runs the pump in phase 2 of the next turn (see the notes above). */
static void wasio__tls_pump_soon(wasio_tls_t *t) {
  if (t->defer_state != WASIO__TLS_DEFER_NONE || t->closing) return;
  t->defer.data = t;
  if (wasio_defer(t->loop, &t->defer, wasio__tls_deferred) == 0) t->defer_state = WASIO__TLS_DEFER_QUEUED;
}

/* ---- public API ---------------------------------------------------------------------- */

int wasio_tls_new(wasio_tcp_t *tcp, wasio_tls_config_t *cfg, const char *host, uint16_t port, wasio_tls_t **out) {
  if (tcp == NULL || cfg == NULL || out == NULL) return WASIO_EINVAL;
  wasio_tls_t *t = wasio__calloc(1, sizeof *t);
  if (t == NULL) return WASIO_ENOMEM;
  int rc = wasio_tls_engine_new(cfg, host, port, &t->e);
  if (rc < 0) {
    wasio__free(t);
    return rc;
  }
  t->tcp = tcp;
  t->loop = wasio_tcp_loop(tcp);
  wasio_tcp_set_data(tcp, t);
  *out = t;
  return 0;
}

int wasio_tls_handshake(wasio_tls_t *t, wasio_tls_handshake_cb cb) {
  if (t == NULL) return WASIO_EINVAL;
  if (t->closing) return WASIO_ECLOSING;
  if (t->hs_cb || t->state == WASIO__TLS_OPEN || t->state == WASIO__TLS_FAILED) return WASIO_EBUSY;
  t->hs_cb = cb;
  wasio__tls_start(t);
  wasio__tls_pump_soon(t);
  return 0;
}

int wasio_tls_read_start(wasio_tls_t *t, wasio_tls_alloc_cb alloc_cb, wasio_tls_read_cb read_cb) {
  if (t == NULL || read_cb == NULL) return WASIO_EINVAL;
  if (t->closing) return WASIO_ECLOSING;
  if (t->reading) return WASIO_EBUSY;
  if (t->state == WASIO__TLS_FAILED) return t->error;
  t->reading = true;
  t->alloc_cb = alloc_cb;
  t->read_cb = read_cb;
  wasio__tls_start(t);
  wasio__tls_pump_soon(t);
  return 0;
}

int wasio_tls_read_stop(wasio_tls_t *t) {
  if (t == NULL) return WASIO_EINVAL;
  t->reading = false;
  return 0;
}

int wasio_tls_write(wasio_tls_t *t, wasio_write_t *req, const void *base, size_t len, wasio_write_cb cb) {
  if (t == NULL || req == NULL || cb == NULL || (base == NULL && len)) return WASIO_EINVAL;
  if (t->closing) return WASIO_ECLOSING;
  if (t->sd != WASIO__TLS_SD_NONE) return WASIO_EPIPE;
  if (t->state == WASIO__TLS_FAILED) return t->error;
  if (wasio__write_listed(t->wq_head, req) || wasio__write_listed(t->sent_head, req)) return WASIO_EBUSY;
  wasio__write_init(req, NULL, base, len, cb);
  wasio__write_append(&t->wq_head, &t->wq_tail, req);
  t->queued += len;
  wasio__tls_start(t);
  wasio__tls_pump_soon(t);
  return 0;
}

size_t wasio_tls_write_queue_size(const wasio_tls_t *t) { return t->queued; }

int wasio_tls_shutdown(wasio_tls_t *t, wasio_tls_shutdown_cb cb) {
  if (t == NULL) return WASIO_EINVAL;
  if (t->closing) return WASIO_ECLOSING;
  if (t->sd != WASIO__TLS_SD_NONE) return WASIO_EBUSY;
  if (t->state == WASIO__TLS_FAILED) return t->error;
  t->sd_cb = cb;
  wasio__tls_set_sd(t, WASIO__TLS_SD_WAIT);
  wasio__tls_start(t);
  wasio__tls_pump_soon(t);
  return 0;
}

void wasio_tls_close(wasio_tls_t *t, wasio_tls_close_cb cb) {
  if (t == NULL || t->closing) return;
  t->closing = true;
  t->reading = false;
  t->close_cb = cb;
  WASIO__TRACE(t, "tls", "closing");
  wasio_tcp_close(t->tcp, wasio__tls_tcp_closed);
}

int wasio_tls_set_idle_timeout(wasio_tls_t *t, uint64_t idle_ns) {
  return wasio_tcp_set_idle_timeout(t->tcp, idle_ns);
}

void wasio_tls_info(const wasio_tls_t *t, wasio_tls_info_t *out) {
  if (t->e == NULL) { /* in the close callback: the engine is gone */
    memset(out, 0, sizeof *out);
    return;
  }
  wasio_tls_engine_info(t->e, out);
}
void wasio_tls_set_data(wasio_tls_t *t, void *data) { t->data = data; }
void *wasio_tls_data(const wasio_tls_t *t) { return t->data; }
wasio_loop_t *wasio_tls_loop(const wasio_tls_t *t) { return wasio_tcp_loop(t->tcp); }
