/* src/tls/stream.c: wasio_tls_t, a TLS engine carried by a wasio_tcp_t.
 *
 * Implementation notes
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
 *   ciphertext bytes that must be written by then (`mark`).
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
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* wasio__calloc/wasio__free: counted allocation */
#include "tls_engine.h"   /* the engine, not the library under it */

/* Plaintext handed to a reader without an alloc callback, per call. */
#define WASIO__TLS_PLAIN_CHUNK 16384

struct wasio_tls {
  wasio_tcp_t *tcp;
  wasio_loop_t *loop;
  wasio_defer_t defer;  /* runs the pump after a public call */
  bool defer_queued;
  bool dead;            /* closed while `defer` was queued: it frees us */
  wasio_tls_engine_t *e;
  void *data;
  wasio_tls_handshake_cb hs_cb;
  wasio_tls_alloc_cb alloc_cb;
  wasio_tls_read_cb read_cb;
  wasio_tls_shutdown_cb sd_cb;
  wasio_tls_close_cb close_cb;
  bool started, hs_reported, reading, tcp_reading, tcp_eof;
  bool sd_requested, sd_notify_sent, sd_tcp_started, sd_reported;
  bool closing, pumping, again, failed;
  int read_final;      /* status for the reader once plaintext is drained */
  int error;           /* sticky failure */
  /* Plaintext writes: queued (bytes left to push) and pushed (waiting for
   * their ciphertext to be written). */
  wasio_write_t *wq_head, *wq_tail, *sent_head, *sent_tail;
  size_t queued;
  /* Ciphertext: counters (wrap-around arithmetic) and the write in flight. */
  size_t cipher_pulled, cipher_written;
  bool out_busy;
  size_t out_len;
  wasio_write_t out_req;
  uint8_t out[WASIO_TLS_BUFSIZE_OUT];
  uint8_t plain[WASIO__TLS_PLAIN_CHUNK];
};

static void wasio__tls_pump(wasio_tls_t *t);
static void wasio__tls_pump_soon(wasio_tls_t *t);

/* ---- helpers ----------------------------------------------------------------- */

static void wasio__tls_complete_list(wasio_write_t **head, wasio_write_t **tail, int status) {
  while (*head) {
    wasio_write_t *r = *head;
    *head = r->wasio__next;
    if (*head == NULL) *tail = NULL;
    r->wasio__next = NULL;
    wasio_write_cb cb = r->wasio__cb;
    r->wasio__cb = NULL;
    cb(r, status);
  }
}

/* The engine (or the transport) failed: everyone waiting learns why. */
static void wasio__tls_fail(wasio_tls_t *t, int err) {
  if (t->failed) return;
  t->failed = true;
  t->error = err;
  t->queued = 0;
  wasio__tls_complete_list(&t->wq_head, &t->wq_tail, err);
  wasio__tls_complete_list(&t->sent_head, &t->sent_tail, err);
  if (t->started && !t->hs_reported) {
    t->hs_reported = true;
    if (t->hs_cb) t->hs_cb(t, err);
  }
  if (t->sd_requested && !t->sd_reported) {
    t->sd_reported = true;
    if (t->sd_cb) t->sd_cb(t, err);
  }
  if (t->reading) {
    t->reading = false;
    t->read_cb(t, err, &(wasio_buf_t){NULL, 0});
  }
}

/* ---- TCP callbacks ----------------------------------------------------------------- */

static void wasio__tls_tcp_alloc(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  wasio_tls_t *t = wasio_tcp_data(tcp);
  size_t cap = 0;
  void *p = t->failed ? NULL : wasio__tls_engine_cipher_in_buf(t->e, &cap);
  if (p == NULL) { /* no room: stop reading until the pump starts it again */
    t->tcp_reading = false;
    wasio_tcp_read_stop(tcp);
    return;
  }
  buf->base = p;
  buf->len = cap;
}

static void wasio__tls_tcp_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  wasio_tls_t *t = wasio_tcp_data(tcp);
  if (nread > 0) {
    wasio__tls_engine_cipher_in_ack(t->e, (size_t)nread);
    wasio__tls_pump(t);
    return;
  }
  t->tcp_reading = false;
  if (nread == WASIO_EOF) {
    t->tcp_eof = true;
    /* close_notify received: a clean end, delivered after the plaintext. */
    int st = wasio_tls_engine_transport_eof(t->e);
    if (st == WASIO_EOF) t->read_final = WASIO_EOF;
  } else if (!t->failed) {
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
  if (t->sd_reported) return;
  t->sd_reported = true;
  if (t->sd_cb) t->sd_cb(t, status);
}

static void wasio__tls_tcp_closed(wasio_tcp_t *tcp) {
  wasio_tls_t *t = wasio_tcp_data(tcp);
  t->queued = 0;
  wasio__tls_complete_list(&t->wq_head, &t->wq_tail, WASIO_ECANCELED);
  wasio__tls_complete_list(&t->sent_head, &t->sent_tail, WASIO_ECANCELED);
  if (t->started && !t->hs_reported) {
    t->hs_reported = true;
    if (t->hs_cb) t->hs_cb(t, WASIO_ECANCELED);
  }
  if (t->sd_requested && !t->sd_reported) {
    t->sd_reported = true;
    if (t->sd_cb) t->sd_cb(t, WASIO_ECANCELED);
  }
  /* The engine goes first, so that the close callback may free the
   * config it was made from (a config refuses to go while engines use it). */
  wasio_tls_engine_free(t->e);
  t->e = NULL;
  if (t->close_cb) t->close_cb(t);
  if (t->defer_queued)
    t->dead = true; /* the queued request still points into us */
  else
    wasio__free(t);
}

/* ---- the pump ------------------------------------------------------------------------- */

static bool wasio__tls_pump_once(wasio_tls_t *t) {
  wasio_tls_engine_t *e = t->e;
  bool moved = false;
  unsigned st = wasio_tls_engine_state(e);

  /* Ciphertext out, also after a failure (the alert that says why). */
  if (!t->out_busy && !t->closing) {
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
  if (t->failed) return moved;

  int err = wasio_tls_engine_error(e);
  if (err) {
    wasio__tls_fail(t, err);
    return true;
  }

  /* The handshake result. */
  if (!t->hs_reported && wasio__tls_engine_handshake_done(e)) {
    t->hs_reported = true;
    if (t->hs_cb) t->hs_cb(t, 0);
    return true;
  }

  /* Writes whose ciphertext is out. */
  while (t->sent_head && (size_t)(t->cipher_written - t->sent_head->wasio__len) <= SIZE_MAX / 2) {
    wasio_write_t *r = t->sent_head;
    t->sent_head = r->wasio__next;
    if (t->sent_head == NULL) t->sent_tail = NULL;
    r->wasio__next = NULL;
    wasio_write_cb cb = r->wasio__cb;
    r->wasio__cb = NULL;
    cb(r, 0);
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
      t->wq_head = r->wasio__next;
      if (t->wq_head == NULL) t->wq_tail = NULL;
      r->wasio__next = NULL;
      r->wasio__len = t->cipher_pulled + pending; /* the mark */
      if (t->sent_tail) t->sent_tail->wasio__next = r;
      else t->sent_head = r;
      t->sent_tail = r;
    }
    return true;
  }

  /* close_notify once every write is in the engine. */
  if (t->sd_requested && !t->sd_notify_sent && t->wq_head == NULL && wasio__tls_engine_handshake_done(e)) {
    t->sd_notify_sent = true;
    wasio_tls_engine_close(e);
    return true;
  }
  if (t->sd_notify_sent && !t->sd_tcp_started && !t->out_busy && !(st & WASIO_TLS_SEND_CIPHER) &&
      t->sent_head == NULL) {
    t->sd_tcp_started = true;
    int rc = wasio_tcp_shutdown(t->tcp, wasio__tls_tcp_shutdown_done);
    if (rc < 0 && !t->sd_reported) {
      t->sd_reported = true;
      if (t->sd_cb) t->sd_cb(t, rc);
    }
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
  bool want = (st & WASIO_TLS_RECV_CIPHER) && !t->tcp_eof && !t->closing;
  if (want && !t->tcp_reading) {
    int rc = wasio_tcp_read_start(t->tcp, wasio__tls_tcp_alloc, wasio__tls_tcp_read);
    if (rc < 0 && rc != WASIO_EBUSY) {
      wasio__tls_fail(t, rc == WASIO_EOF ? wasio_tls_engine_transport_eof(e) : rc);
      return true;
    }
    t->tcp_reading = true;
  } else if (!want && t->tcp_reading) {
    wasio_tcp_read_stop(t->tcp);
    t->tcp_reading = false;
  }
  return moved;
}

static void wasio__tls_pump(wasio_tls_t *t) {
  if (!t->started || t->closing) return;
  if (t->pumping) {
    t->again = true;
    return;
  }
  t->pumping = true;
  do {
    t->again = false;
    while (!t->closing && wasio__tls_pump_once(t)) {
    }
  } while (t->again && !t->closing);
  t->pumping = false;
}

static void wasio__tls_deferred(wasio_defer_t *req, int status) {
  wasio_tls_t *t = req->data;
  t->defer_queued = false;
  if (t->dead) {
    wasio__free(t);
    return;
  }
  wasio__tls_pump(t);
}

/* Runs the pump in phase 2 of the next turn (see the notes above). */
static void wasio__tls_pump_soon(wasio_tls_t *t) {
  if (t->defer_queued || t->closing) return;
  t->defer.data = t;
  if (wasio_defer(t->loop, &t->defer, wasio__tls_deferred) == 0) t->defer_queued = true;
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
  if (t->hs_cb || t->hs_reported) return WASIO_EBUSY;
  t->hs_cb = cb;
  t->started = true;
  wasio__tls_pump_soon(t);
  return 0;
}

int wasio_tls_read_start(wasio_tls_t *t, wasio_tls_alloc_cb alloc_cb, wasio_tls_read_cb read_cb) {
  if (t == NULL || read_cb == NULL) return WASIO_EINVAL;
  if (t->closing) return WASIO_ECLOSING;
  if (t->reading) return WASIO_EBUSY;
  if (t->failed) return t->error;
  t->reading = true;
  t->alloc_cb = alloc_cb;
  t->read_cb = read_cb;
  t->started = true;
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
  if (t->sd_requested) return WASIO_EPIPE;
  if (t->failed) return t->error;
  for (wasio_write_t *r = t->wq_head; r; r = r->wasio__next)
    if (r == req) return WASIO_EBUSY;
  for (wasio_write_t *r = t->sent_head; r; r = r->wasio__next)
    if (r == req) return WASIO_EBUSY;
  req->wasio__next = NULL;
  req->wasio__tcp = NULL;
  req->wasio__base = base;
  req->wasio__len = len;
  req->wasio__done = 0;
  req->wasio__cb = cb;
  if (t->wq_tail) t->wq_tail->wasio__next = req;
  else t->wq_head = req;
  t->wq_tail = req;
  t->queued += len;
  t->started = true;
  wasio__tls_pump_soon(t);
  return 0;
}

size_t wasio_tls_write_queue_size(const wasio_tls_t *t) { return t->queued; }

int wasio_tls_shutdown(wasio_tls_t *t, wasio_tls_shutdown_cb cb) {
  if (t == NULL) return WASIO_EINVAL;
  if (t->closing) return WASIO_ECLOSING;
  if (t->sd_requested) return WASIO_EBUSY;
  if (t->failed) return t->error;
  t->sd_requested = true;
  t->sd_cb = cb;
  t->started = true;
  wasio__tls_pump_soon(t);
  return 0;
}

void wasio_tls_close(wasio_tls_t *t, wasio_tls_close_cb cb) {
  if (t == NULL || t->closing) return;
  t->closing = true;
  t->reading = false;
  t->close_cb = cb;
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
