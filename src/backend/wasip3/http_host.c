/* src/backend/wasip3/http_host.c: the wasip3 backend's part of HTTP
 * through the host (src/core/http_host.h's wasio__bk_http_*) over wasi:http
 * 0.3: bodies are stream<u8>, trailers and verdicts futures, and a request
 * goes out through client.send, an async call. Compiled into the wasi:http
 * variant only (-DWASIO_WASI_HTTP, libwasio-p3-http.a). What does not
 * depend on the version (errors, fields, methods) is
 * src/backend/wasi/http_common.c's.
 *
 * Implementation notes
 * - Waiting. Every operation in flight is a waiter (wasio__w3_t) in the
 *   loop's waitable set, as for TCP (tcp.c), and holds the loop
 *   (wasio__loop_hold) until its event: bodies are not handles, and the
 *   loop must not think itself idle while one is awaited.
 * - Reading a body is reading a TCP stream: a zero-length read waits for
 *   bytes (or the end), then one read goes straight into the caller's
 *   buffer; one the host cannot answer at once is canceled (so nothing is
 *   in flight into memory the caller may reuse).
 * - Writing a body is in place: the write stays in flight on the caller's
 *   bytes, which src/core/http_host.h's contract keeps valid and offered
 *   again until taken (the write answers 0 meanwhile, then the count the
 *   host took). No copy, no cancel.
 * - Ending a body written: its stream's writable end is dropped (the end
 *   of the bytes), then the trailers future gets its value (ok with the
 *   trailers or none); finish answers once the host took it, so every
 *   byte before it. (The future response.new returns is not awaited: on
 *   wasmtime it resolves from the request's consume-body `res`, not from
 *   the response's delivery.) A body released unfinished writes an error
 *   to its trailers future instead, so the host sees the message fail,
 *   never a shorter one that looks whole.
 * - The reader of request.new's future is kept until the response body
 *   is released: wasmtime aborts the exchange's I/O once it is dropped.
 * - Futures owed a value. The host traps a future's writable end dropped
 *   without a value, so every one (a body's trailers, consume-body's
 *   `res`) is written before it is dropped; a write the host does not take
 *   at once lingers (wasio__http_linger_t) until it does, without holding
 *   the loop, and is canceled if the loop goes first.
 */
#include <string.h>

#include "wasip3.h"
#include "core/http_host.h"
#include "../wasi/http_common.h"

#ifdef WASIO_WASI_HTTP

static uint8_t wasio__http_zero_buf[1];

/* ---- waiting ---------------------------------------------------------------------- */

/* An operation on w is in flight: w joins the set and holds the loop. */
static void wasio__h3_block(wasio_loop_t *loop, wasio__w3_t *w) {
  if (!w->held) {
    w->held = true;
    wasio__loop_hold(loop, 1);
  }
  wasio__w3_block(loop, w);
}

/* w's operation finished (by its event, or taken back): the hold ends. */
static void wasio__h3_settle(wasio_loop_t *loop, wasio__w3_t *w) {
  if (w->held && !w->busy) {
    w->held = false;
    wasio__loop_hold(loop, -1);
  }
}

/* What finished on w is taken. */
static void wasio__h3_consume(wasio_loop_t *loop, wasio__w3_t *w) {
  wasio__h3_settle(loop, w);
  wasio__w3_consume(w);
}

/* Takes back w's operation in flight (synchronously, outside the set) and
 * returns its status (0 when nothing was in flight). */
static uint32_t wasio__h3_cancel(wasio_loop_t *loop, wasio__w3_t *w, uint32_t (*cancel)(uint32_t)) {
  if (!w->busy) {
    wasio__h3_settle(loop, w);
    return 0;
  }
  wasio__w3_leave(w);
  uint32_t st = cancel(w->handle);
  wasio__w3_idle(loop, w);
  wasio__h3_settle(loop, w);
  return st;
}

/* Ends w before its end is dropped: cancels what is in flight, untracks. */
static void wasio__h3_end(wasio_loop_t *loop, wasio__w3_t *w, uint32_t (*cancel)(uint32_t)) {
  (void)wasio__h3_cancel(loop, w, cancel);
  wasio__w3_untrack(loop, w);
}

/* The reader of a request's verdict future goes (see http_host.h). */
static void wasio__h3_verdict_drop(uint32_t *v) {
  if (*v == 0) return;
  wasi_http_types_future_result_void_error_code_drop_readable(*v);
  *v = 0;
}

/* ---- futures owed a value: lingering writes ------------------------------------- */

typedef enum wasio__http_fut {
  WASIO__FUT_TRAILERS, /* future<result<option<trailers>, error-code>> */
  WASIO__FUT_RESULT    /* future<result<_, error-code>> */
} wasio__http_fut_t;

typedef struct wasio__http_linger {
  struct wasio__http_linger *next;
  wasio_loop_t *loop;
  wasio__w3_t w;
  uint32_t end;  /* the writable end */
  uint8_t kind;  /* wasio__http_fut_t */
  wasi_http_types_result_option_own_trailers_error_code_t tval;
  wasi_http_types_result_void_error_code_t rval;
} wasio__http_linger_t;

static uint32_t wasio__h3_tr_cancel(uint32_t h) {
  return wasi_http_types_future_result_option_own_trailers_error_code_cancel_write(h);
}
static uint32_t wasio__h3_res_cancel(uint32_t h) { return wasi_http_types_future_result_void_error_code_cancel_write(h); }

/* A trailers value the host did not take is still ours. */
static void wasio__http_tval_free(wasi_http_types_result_option_own_trailers_error_code_t *v) {
  if (!v->is_err && v->val.ok.is_some) wasi_http_types_fields_drop_own(v->val.ok.val);
  memset(v, 0, sizeof *v);
}

static uint32_t wasio__http_fut_write(uint32_t end, wasio__http_fut_t kind,
                                      wasi_http_types_result_option_own_trailers_error_code_t *tval,
                                      wasi_http_types_result_void_error_code_t *rval) {
  return kind == WASIO__FUT_TRAILERS ? wasi_http_types_future_result_option_own_trailers_error_code_write(end, tval)
                                     : wasi_http_types_future_result_void_error_code_write(end, rval);
}

static uint32_t wasio__http_fut_cancel(uint32_t end, wasio__http_fut_t kind) {
  return kind == WASIO__FUT_TRAILERS ? wasio__h3_tr_cancel(end) : wasio__h3_res_cancel(end);
}

/* The write of `end` ended with status st: a value the host did not take
 * is still ours; the end goes (unless the write was taken back: wasmtime
 * traps a writable end dropped after a canceled write, so it goes with
 * the instance). */
static void wasio__http_fut_done(uint32_t end, wasio__http_fut_t kind, uint32_t st, bool canceled,
                                 wasi_http_types_result_option_own_trailers_error_code_t *tval) {
  bool taken = IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_COMPLETED;
  if (kind == WASIO__FUT_TRAILERS && !taken) wasio__http_tval_free(tval);
  if (canceled && !taken) return;
  if (kind == WASIO__FUT_TRAILERS) wasi_http_types_future_result_option_own_trailers_error_code_drop_writable(end);
  else wasi_http_types_future_result_void_error_code_drop_writable(end);
}

/* Writes `end`'s value (kind; for trailers *tval, handed over) and drops
 * the end, now or, when the host does not take it at once, once it has
 * (a lingering write, in the loop's set without holding the loop). */
static void wasio__http_fut_give(wasio_loop_t *loop, uint32_t end, wasio__http_fut_t kind,
                                 wasi_http_types_result_option_own_trailers_error_code_t *tval,
                                 const wasi_http_types_result_void_error_code_t *rval) {
  if (end == 0) return;
  wasi_http_types_result_option_own_trailers_error_code_t tv;
  wasi_http_types_result_void_error_code_t rv;
  memset(&tv, 0, sizeof tv);
  memset(&rv, 0, sizeof rv);
  if (kind == WASIO__FUT_TRAILERS) tv = *tval;
  else rv = *rval;
  /* Offered from here first: the host takes most values at once (the
   * consume-body `res` always), and then nothing is allocated. */
  uint32_t st = wasio__http_fut_write(end, kind, &tv, &rv);
  if (!wasio__w3_blocked(st)) {
    wasio__http_fut_done(end, kind, st, false, &tv);
    return;
  }
  /* Taken back, to be offered again from memory that outlives this call
   * (unless the host took it meanwhile). */
  st = wasio__http_fut_cancel(end, kind);
  if (IMPORTS_WAITABLE_STATE(st) != IMPORTS_WAITABLE_CANCELLED) {
    wasio__http_fut_done(end, kind, st, false, &tv);
    return;
  }
  wasio__http_linger_t *l = wasio__calloc(1, sizeof *l);
  if (l == NULL) {
    wasio__http_fut_done(end, kind, st, true, &tv); /* the end goes with the instance */
    return;
  }
  l->tval = tv;
  l->rval = rv;
  st = wasio__http_fut_write(end, kind, &l->tval, &l->rval);
  if (wasio__w3_blocked(st)) {
    l->loop = loop;
    l->end = end;
    l->kind = (uint8_t)kind;
    wasio__w3_init(&l->w, WASIO__W3_HTTP_LINGER);
    if (wasio__w3_track(loop, &l->w, end) == 0) {
      wasio__w3_block(loop, &l->w);
      l->next = loop->backend.http_linger;
      loop->backend.http_linger = l;
      return;
    }
    st = wasio__http_fut_cancel(end, kind);
    wasio__http_fut_done(end, kind, st, IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_CANCELLED, &l->tval);
  } else {
    wasio__http_fut_done(end, kind, st, false, &l->tval);
  }
  wasio__free(l);
}

static void wasio__http_linger_unlist(wasio__http_linger_t *l) {
  wasio__http_linger_t **pp = &l->loop->backend.http_linger;
  while (*pp != l) pp = &(*pp)->next;
  *pp = l->next;
}

void wasio__http_linger_ready(wasio__w3_t *w) {
  wasio__http_linger_t *l = WASIO__CONTAINER_OF(w, wasio__http_linger_t, w);
  uint32_t st = w->code;
  wasio__w3_untrack(l->loop, w);
  wasio__http_linger_unlist(l);
  wasio__http_fut_done(l->end, (wasio__http_fut_t)l->kind, st, false, &l->tval);
  wasio__free(l);
}

void wasio__http_linger_abandon(wasio_loop_t *loop) {
  while (loop->backend.http_linger != NULL) {
    wasio__http_linger_t *l = loop->backend.http_linger;
    loop->backend.http_linger = l->next;
    /* The write is taken back (the end then goes with the instance),
     * unless it ended already (its event came, not dispatched). */
    bool busy = l->w.busy;
    uint32_t st = l->w.code;
    wasio__w3_leave(&l->w);
    if (busy) st = wasio__http_fut_cancel(l->end, (wasio__http_fut_t)l->kind);
    wasio__w3_idle(loop, &l->w);
    wasio__w3_untrack(loop, &l->w);
    wasio__http_fut_done(l->end, (wasio__http_fut_t)l->kind, st, busy, &l->tval);
    wasio__free(l);
  }
}

/* The error a failed body's trailers carry to the host. */
static wasi_http_types_result_option_own_trailers_error_code_t wasio__http_tval_failed(void) {
  wasi_http_types_result_option_own_trailers_error_code_t v;
  memset(&v, 0, sizeof v);
  v.is_err = true;
  v.val.err.tag = WASI_HTTP_TYPES_ERROR_CODE_INTERNAL_ERROR;
  return v;
}

/* ---- a body written ------------------------------------------------------------------ */

void wasio__bk_http_body_out_init(wasio__bk_http_body_out_t *b, wasio_loop_t *loop, void (*ready)(void *data),
                                  void *data) {
  memset(b, 0, sizeof *b);
  b->loop = loop;
  b->ready = ready;
  b->data = data;
  wasio__w3_init(&b->out, WASIO__W3_HTTP_OUT);
  wasio__w3_init(&b->trw, WASIO__W3_HTTP_OUT_TR);
}

int wasio__bk_http_body_out_make(wasio__bk_http_body_out_t *b, uint32_t *rx, uint32_t *tr) {
  *rx = wasi_http_types_stream_u8_new(&b->tx);
  *tr = wasi_http_types_future_result_option_own_trailers_error_code_new(&b->tr_w);
  if (wasio__w3_track(b->loop, &b->out, b->tx) != 0 || wasio__w3_track(b->loop, &b->trw, b->tr_w) != 0) {
    wasio__w3_untrack(b->loop, &b->out);
    wasi_http_types_stream_u8_drop_writable(b->tx);
    wasi_http_types_stream_u8_drop_readable(*rx);
    /* A future's writable end must not be dropped without a write: with
     * its readable end gone first, the write returns at once. */
    wasi_http_types_future_result_option_own_trailers_error_code_drop_readable(*tr);
    wasi_http_types_result_option_own_trailers_error_code_t none;
    memset(&none, 0, sizeof none);
    wasio__http_fut_give(b->loop, b->tr_w, WASIO__FUT_TRAILERS, &none, NULL);
    b->tx = b->tr_w = 0;
    *rx = *tr = 0;
    return WASIO_ENOMEM;
  }
  b->state = WASIO__BK_BODY_OUT_OPEN;
  return 0;
}

/* The write in flight on the caller's bytes ended (its event came): how
 * many the host took; a dropped stream (the host gave up on the message)
 * takes nothing more. */
static ptrdiff_t wasio__h3_out_taken(wasio__bk_http_body_out_t *b) {
  uint32_t st = b->out.code;
  wasio__h3_consume(b->loop, &b->out);
  b->wptr = NULL;
  b->wlen = 0;
  size_t n = wasio__w3_count(st);
  if (wasio__w3_dropped(st)) {
    wasio__w3_untrack(b->loop, &b->out);
    wasi_http_types_stream_u8_drop_writable(b->tx);
    b->tx = 0;
    return n > 0 ? (ptrdiff_t)n : WASIO_EPIPE;
  }
  return (ptrdiff_t)n;
}

ptrdiff_t wasio__bk_http_body_out_write(wasio__bk_http_body_out_t *b, const void *data, size_t len) {
  if (b->state != WASIO__BK_BODY_OUT_OPEN) return WASIO_ESTATE;
  if (b->out.busy) return 0;
  if (b->wptr != NULL) return wasio__h3_out_taken(b); /* the same bytes, offered again */
  if (b->tx == 0) return WASIO_EPIPE;
  if (len == 0) return 0;
  uint32_t st = wasi_http_types_stream_u8_write(b->tx, data, len);
  if (wasio__w3_blocked(st)) {
    b->wptr = data;
    b->wlen = len;
    wasio__h3_block(b->loop, &b->out);
    return 0;
  }
  b->out.code = st;
  b->wptr = data;
  return wasio__h3_out_taken(b);
}

int wasio__bk_http_body_out_want(wasio__bk_http_body_out_t *b, bool on) {
  b->want = on;
  /* What finished already is reported from the dispatch. */
  if (on && !b->out.busy && !b->trw.busy) wasio__w3_poke(b->loop, &b->out);
  return 0;
}

int wasio__bk_http_body_out_finish(wasio__bk_http_body_out_t *b, wasio__bk_http_fields_t *trailers) {
  if (b->state == WASIO__BK_BODY_OUT_OPEN) {
    if (b->out.busy || b->wptr != NULL) return WASIO_EAGAIN; /* the last write first */
    /* The end of the bytes. */
    if (b->tx != 0) {
      wasio__w3_untrack(b->loop, &b->out);
      wasi_http_types_stream_u8_drop_writable(b->tx);
      b->tx = 0;
    }
    memset(&b->tval, 0, sizeof b->tval);
    if (trailers != NULL && trailers->f.__handle != 0) {
      b->tval.val.ok.is_some = true;
      b->tval.val.ok.val = wasio__bk_http_fields_take(trailers);
    }
    b->state = WASIO__BK_BODY_OUT_TRAILERS;
    uint32_t st = wasi_http_types_future_result_option_own_trailers_error_code_write(b->tr_w, &b->tval);
    if (wasio__w3_blocked(st)) {
      wasio__h3_block(b->loop, &b->trw);
      return WASIO_EAGAIN;
    }
    b->trw.code = st;
    b->trw.done = true;
  }
  if (b->state == WASIO__BK_BODY_OUT_TRAILERS) {
    if (b->trw.busy) return WASIO_EAGAIN;
    uint32_t st = b->trw.code;
    wasio__h3_consume(b->loop, &b->trw);
    /* Trailers the host did not take (it dropped the future: the message
     * failed, which the verdict says) are still ours. */
    if (IMPORTS_WAITABLE_STATE(st) != IMPORTS_WAITABLE_COMPLETED) wasio__http_tval_free(&b->tval);
    wasio__w3_untrack(b->loop, &b->trw);
    wasi_http_types_future_result_option_own_trailers_error_code_drop_writable(b->tr_w);
    b->tr_w = 0;
    b->state = WASIO__BK_BODY_OUT_DONE;
    /* The host took the trailers, so every byte before them: done. A
     * dropped future is a message the host gave up on. */
    return IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_COMPLETED ? 0 : WASIO_EPIPE;
  }
  return WASIO_ESTATE;
}

void wasio__bk_http_body_out_release(wasio__bk_http_body_out_t *b) {
  wasio_loop_t *loop = b->loop;
  if (loop == NULL || b->state == WASIO__BK_BODY_OUT_NONE) return;
  if (b->tx != 0) {
    wasio__h3_end(loop, &b->out, wasi_http_types_stream_u8_cancel_write);
    wasi_http_types_stream_u8_drop_writable(b->tx);
    b->tx = 0;
  }
  b->wptr = NULL;
  if (b->tr_w != 0) {
    /* A write of the trailers that ended (its event, taken or not yet
     * dispatched, or the cancel's answer): COMPLETED or DROPPED leaves
     * only the end to drop; taken back (CANCELLED), or never made, the
     * message fails instead. */
    uint32_t st = 0;
    bool ended = false;
    if (b->trw.busy) {
      st = wasio__h3_cancel(loop, &b->trw, wasio__h3_tr_cancel);
      ended = true;
    } else if (b->trw.done) {
      st = b->trw.code;
      ended = true;
      wasio__h3_consume(loop, &b->trw);
    }
    wasio__w3_untrack(loop, &b->trw);
    uint32_t state = IMPORTS_WAITABLE_STATE(st);
    if (ended && state != IMPORTS_WAITABLE_CANCELLED) {
      if (state != IMPORTS_WAITABLE_COMPLETED) wasio__http_tval_free(&b->tval);
      wasi_http_types_future_result_option_own_trailers_error_code_drop_writable(b->tr_w);
    } else {
      if (b->state == WASIO__BK_BODY_OUT_TRAILERS) wasio__http_tval_free(&b->tval);
      wasi_http_types_result_option_own_trailers_error_code_t v = wasio__http_tval_failed();
      wasio__http_fut_give(loop, b->tr_w, WASIO__FUT_TRAILERS, &v, NULL);
    }
    b->tr_w = 0;
  }
  b->state = WASIO__BK_BODY_OUT_NONE;
}

/* ---- a body read ---------------------------------------------------------------------- */

void wasio__bk_http_body_in_init(wasio__bk_http_body_in_t *b, wasio_loop_t *loop, void (*ready)(void *data),
                                 void *data) {
  memset(b, 0, sizeof *b);
  b->loop = loop;
  b->ready = ready;
  b->data = data;
  wasio__w3_init(&b->in, WASIO__W3_HTTP_IN);
  wasio__w3_init(&b->trw, WASIO__W3_HTTP_IN_TR);
}

void wasio__bk_http_body_in_open(wasio__bk_http_body_in_t *b, uint32_t rx, uint32_t tr, uint32_t res_w) {
  b->rx = rx;
  b->tr = tr;
  /* consume-body's `res`: ok, at once. The host reads it from the start;
   * its value only decides what the message's own future (response.new's,
   * request.new's) resolves to, which wasio does not wait for. */
  wasi_http_types_result_void_error_code_t ok;
  memset(&ok, 0, sizeof ok);
  wasio__http_fut_give(b->loop, res_w, WASIO__FUT_RESULT, NULL, &ok);
  b->state = WASIO__BK_BODY_IN_STREAM;
  /* Out of memory for the table: the stream reads as ended (its
   * trailers then fail), which the owner reports. */
  if (wasio__w3_track(b->loop, &b->in, rx) != 0) b->state = WASIO__BK_BODY_IN_TRAILERS;
  if (wasio__w3_track(b->loop, &b->trw, tr) != 0) b->state = WASIO__BK_BODY_IN_DONE;
}

/* The stream ended: its readable end goes; the trailers are next. */
static void wasio__h3_in_ended(wasio__bk_http_body_in_t *b) {
  if (b->rx != 0) {
    wasio__h3_end(b->loop, &b->in, wasi_http_types_stream_u8_cancel_read);
    wasi_http_types_stream_u8_drop_readable(b->rx);
    b->rx = 0;
  }
  if (b->state == WASIO__BK_BODY_IN_STREAM) b->state = WASIO__BK_BODY_IN_TRAILERS;
}

ptrdiff_t wasio__bk_http_body_in_read(wasio__bk_http_body_in_t *b, void *buf, size_t cap) {
  if (b->state == WASIO__BK_BODY_IN_TRAILERS || b->state == WASIO__BK_BODY_IN_DONE) return WASIO_EOF;
  if (b->state != WASIO__BK_BODY_IN_STREAM) return WASIO_ESTATE;
  /* The readiness read, if still waiting, is taken back first; its
   * status (or an event's not yet dispatched) may say the stream ended. */
  uint32_t c = wasio__h3_cancel(b->loop, &b->in, wasi_http_types_stream_u8_cancel_read);
  if (b->in.done) c = b->in.code;
  wasio__h3_consume(b->loop, &b->in);
  if (c != 0 && wasio__w3_dropped(c)) {
    wasio__h3_in_ended(b);
    return WASIO_EOF;
  }
  if (cap == 0) return 0;
  uint32_t st = wasi_http_types_stream_u8_read(b->rx, buf, cap);
  if (wasio__w3_blocked(st)) {
    wasio__w3_leave(&b->in); /* a synchronous cancel must not be in a set */
    st = wasi_http_types_stream_u8_cancel_read(b->rx);
  }
  size_t n = wasio__w3_count(st);
  if (wasio__w3_dropped(st)) wasio__h3_in_ended(b);
  if (n > 0) return (ptrdiff_t)n;
  return b->state == WASIO__BK_BODY_IN_STREAM ? 0 : WASIO_EOF;
}

/* Starts the read of the trailers future if it is not under way. */
static void wasio__h3_trailers_read(wasio__bk_http_body_in_t *b) {
  if (b->tr == 0 || b->trw.busy || b->trw.done) return;
  memset(&b->tval, 0, sizeof b->tval);
  uint32_t st = wasi_http_types_future_result_option_own_trailers_error_code_read(b->tr, &b->tval);
  if (wasio__w3_blocked(st)) wasio__h3_block(b->loop, &b->trw);
  else wasio__w3_done_now(b->loop, &b->trw, st);
}

int wasio__bk_http_body_in_want(wasio__bk_http_body_in_t *b, bool on) {
  b->want = on;
  if (b->state == WASIO__BK_BODY_IN_STREAM) {
    if (!on) {
      /* Not wanted: the readiness read goes (it would hold the loop). */
      uint32_t c = wasio__h3_cancel(b->loop, &b->in, wasi_http_types_stream_u8_cancel_read);
      if (c != 0 && wasio__w3_dropped(c)) wasio__h3_in_ended(b);
      return 0;
    }
    if (b->in.busy || b->in.done) return 0;
    uint32_t st = wasi_http_types_stream_u8_read(b->rx, wasio__http_zero_buf, 0);
    if (wasio__w3_blocked(st)) wasio__h3_block(b->loop, &b->in);
    else wasio__w3_done_now(b->loop, &b->in, st);
    return 0;
  }
  if (on && b->state == WASIO__BK_BODY_IN_TRAILERS) {
    if (b->trw.busy || b->trw.done) return 0;
    wasio__h3_trailers_read(b);
    return 0;
  }
  if (on) wasio__w3_poke(b->loop, &b->in);
  return 0;
}

int wasio__bk_http_body_in_trailers(wasio__bk_http_body_in_t *b, wasio__http_fieldbuf_t *out, bool *present) {
  *present = false;
  if (b->state != WASIO__BK_BODY_IN_TRAILERS) return WASIO_ESTATE;
  if (!b->trw.done) {
    wasio__h3_trailers_read(b);
    if (!b->trw.done) return WASIO_EAGAIN;
  }
  uint32_t st = b->trw.code;
  wasio__h3_consume(b->loop, &b->trw);
  wasio__w3_untrack(b->loop, &b->trw);
  wasi_http_types_future_result_option_own_trailers_error_code_drop_readable(b->tr);
  b->tr = 0;
  b->state = WASIO__BK_BODY_IN_DONE;
  /* The writer went without a value: the message did not end whole. */
  if (IMPORTS_WAITABLE_STATE(st) != IMPORTS_WAITABLE_COMPLETED) return WASIO_EHTTP_TRUNCATED;
  if (b->tval.is_err) {
    /* wasmtime 0.3 reports every failure of the connection under a body
     * (a close before the Content-Length, a reset, a bad chunk) as
     * HTTP-protocol-error with no words (its p3_error_from_hyper), where
     * its 0.2 said "error reading a body": here, after a whole head and
     * in the body's trailers, it means the message did not end whole. */
    if (b->tval.val.err.tag == WASI_HTTP_TYPES_ERROR_CODE_HTTP_PROTOCOL_ERROR) return WASIO_EHTTP_TRUNCATED;
    return wasio__bk_http_error(&b->tval.val.err);
  }
  if (!b->tval.val.ok.is_some) return 0;
  wasio__bk_http_fields_t f = {b->tval.val.ok.val};
  memset(&b->tval, 0, sizeof b->tval);
  *present = true;
  return wasio__bk_http_fields_read(&f, out);
}

void wasio__bk_http_body_in_release(wasio__bk_http_body_in_t *b) {
  wasio_loop_t *loop = b->loop;
  if (loop == NULL || b->state == WASIO__BK_BODY_IN_NONE) return;
  wasio__h3_in_ended(b);
  if (b->tr != 0) {
    uint32_t st = wasio__h3_cancel(loop, &b->trw, wasi_http_types_future_result_option_own_trailers_error_code_cancel_read);
    if (b->trw.done) st = b->trw.code;
    if (st != 0 && IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_COMPLETED) {
      if (b->tval.is_err) (void)wasio__bk_http_error(&b->tval.val.err);
      else wasio__http_tval_free(&b->tval);
    }
    wasio__w3_untrack(loop, &b->trw);
    wasi_http_types_future_result_option_own_trailers_error_code_drop_readable(b->tr);
    b->tr = 0;
  }
  wasio__h3_verdict_drop(&b->verdict);
  b->state = WASIO__BK_BODY_IN_NONE;
}

/* ---- the dispatch -------------------------------------------------------------------- */

void wasio__http_on_ready(wasio__w3_t *w) {
  switch (w->kind) {
    case WASIO__W3_HTTP_SEND: {
      wasio__bk_http_request_t *r = WASIO__CONTAINER_OF(w, wasio__bk_http_request_t, call);
      wasio__h3_settle(r->loop, w);
      r->ready(r->data);
      break;
    }
    case WASIO__W3_HTTP_IN: {
      wasio__bk_http_body_in_t *b = WASIO__CONTAINER_OF(w, wasio__bk_http_body_in_t, in);
      wasio__h3_settle(b->loop, w);
      if (w->code != 0 && wasio__w3_dropped(w->code)) {
        wasio__w3_consume(w);
        wasio__h3_in_ended(b);
      }
      if (b->want) b->ready(b->data);
      break;
    }
    case WASIO__W3_HTTP_IN_TR: {
      wasio__bk_http_body_in_t *b = WASIO__CONTAINER_OF(w, wasio__bk_http_body_in_t, trw);
      wasio__h3_settle(b->loop, w);
      if (b->want) b->ready(b->data);
      break;
    }
    case WASIO__W3_HTTP_OUT: {
      wasio__bk_http_body_out_t *b = WASIO__CONTAINER_OF(w, wasio__bk_http_body_out_t, out);
      wasio__h3_settle(b->loop, w);
      if (b->wptr == NULL) {
        /* A poke: nothing was in flight (or the host says it dropped the
         * stream: nothing may be written to it again). */
        if (w->code != 0 && wasio__w3_dropped(w->code) && b->tx != 0) {
          wasio__w3_untrack(b->loop, w);
          wasi_http_types_stream_u8_drop_writable(b->tx);
          b->tx = 0;
        }
        wasio__w3_consume(w);
      }
      if (b->want) b->ready(b->data);
      break;
    }
    case WASIO__W3_HTTP_OUT_TR: {
      wasio__bk_http_body_out_t *b = WASIO__CONTAINER_OF(w, wasio__bk_http_body_out_t, trw);
      wasio__h3_settle(b->loop, w);
      if (b->want) b->ready(b->data);
      break;
    }
    default:
      break;
  }
}

/* ---- an outgoing request (the client) ------------------------------------------------ */

void wasio__bk_http_request_init(wasio__bk_http_request_t *r, wasio_loop_t *loop, void (*ready)(void *data),
                                 void *data) {
  memset(r, 0, sizeof *r);
  r->loop = loop;
  r->ready = ready;
  r->data = data;
  wasio__w3_init(&r->call, WASIO__W3_HTTP_SEND);
}

static void wasio__http_option(bool (*set)(wasi_http_types_borrow_request_options_t, wasi_http_types_duration_t *,
                                           wasi_http_types_request_options_error_t *),
                               wasi_http_types_own_request_options_t o, uint64_t ns) {
  wasi_http_types_duration_t d = ns;
  wasi_http_types_request_options_error_t e;
  /* A host that refuses an option leaves the guest's own deadline (the
   * client keeps one for each) to bound the call. */
  if (ns != 0 && !set(wasi_http_types_borrow_request_options(o), &d, &e)) wasi_http_types_request_options_error_free(&e);
}

int wasio__bk_http_request_send(wasio__bk_http_request_t *r, const wasio__http_request_spec_t *spec,
                                wasio__bk_http_body_out_t *body) {
  wasio_loop_t *loop = r->loop;
  uint32_t rx = 0, tr = 0, tr_w = 0;
  if (spec->has_body) {
    int rc = wasio__bk_http_body_out_make(body, &rx, &tr);
    if (rc < 0) {
      wasio__bk_http_fields_drop(spec->headers);
      return rc;
    }
  } else {
    /* No body: no stream, and trailers that are none. */
    tr = wasi_http_types_future_result_option_own_trailers_error_code_new(&tr_w);
  }
  wasi_http_types_own_request_options_t opts = wasi_http_types_constructor_request_options();
  wasio__http_option(wasi_http_types_method_request_options_set_connect_timeout, opts, spec->connect_ns);
  wasio__http_option(wasi_http_types_method_request_options_set_first_byte_timeout, opts, spec->first_byte_ns);
  wasio__http_option(wasi_http_types_method_request_options_set_between_bytes_timeout, opts, spec->between_bytes_ns);
  wasi_http_types_tuple2_own_request_future_result_void_error_code_t made;
  wasi_http_types_static_request_new(wasio__bk_http_fields_take(spec->headers), spec->has_body ? &rx : NULL, tr, &opts,
                              &made);
  wasi_http_types_own_request_t req = made.f0;
  wasi_http_types_borrow_request_t rb = wasi_http_types_borrow_request(req);
  wasi_http_types_method_t m = wasio__http_method(spec->method);
  wasi_http_types_scheme_t scheme = {.tag = spec->https ? WASI_HTTP_TYPES_SCHEME_HTTPS : WASI_HTTP_TYPES_SCHEME_HTTP};
  imports_string_t auth = {(uint8_t *)(uintptr_t)spec->authority.ptr, spec->authority.len};
  imports_string_t path = {(uint8_t *)(uintptr_t)spec->path_with_query.ptr, spec->path_with_query.len};
  int rc = 0;
  if (!wasi_http_types_method_request_set_method(rb, &m)) rc = WASIO_EINVAL;
  else if (!wasi_http_types_method_request_set_scheme(rb, &scheme)) rc = WASIO_EURL_SCHEME;
  else if (!wasi_http_types_method_request_set_authority(rb, &auth)) rc = WASIO_EURL_HOST;
  else if (!wasi_http_types_method_request_set_path_with_query(rb, &path)) rc = WASIO_EURL_SYNTAX;
  if (tr_w != 0) {
    wasi_http_types_result_option_own_trailers_error_code_t none;
    memset(&none, 0, sizeof none);
    wasio__http_fut_give(loop, tr_w, WASIO__FUT_TRAILERS, &none, NULL);
  }
  /* The client does not wait for the request's verdict (the response
   * says how the exchange went: a body the host could not send fails it)
   * but keeps its reader (wasio__bk_http_request_t). */
  r->verdict = made.f1;
  if (rc != 0) {
    wasio__h3_verdict_drop(&r->verdict);
    wasi_http_types_request_drop_own(req);
    if (spec->has_body) wasio__bk_http_body_out_release(body);
    return rc;
  }
  uint32_t status = wasi_http_client_send(req, &r->res);
  rc = wasio__w3_call(loop, &r->call, status);
  if (rc < 0) {
    wasio__h3_verdict_drop(&r->verdict);
    if (spec->has_body) wasio__bk_http_body_out_release(body);
    return rc;
  }
  /* Returned at once: reported from the dispatch, as a later event is.
   * The call holds the loop until its answer is taken or dispatched
   * (whichever comes first: wasio__h3_settle). */
  if (rc == 0) wasio__w3_done_now(loop, &r->call, IMPORTS_SUBTASK_RETURNED);
  r->call.held = true;
  wasio__loop_hold(loop, 1);
  return 0;
}

int wasio__bk_http_response_take(wasio__bk_http_request_t *r, int *status, wasio__http_fieldbuf_t *headers,
                                 wasio__bk_http_body_in_t *body) {
  if (r->loop == NULL) return WASIO_ESTATE;
  if (r->call.busy) return WASIO_EAGAIN;
  wasio__h3_settle(r->loop, &r->call);
  if (!wasio__w3_subtask_end(r->loop, &r->call)) return WASIO_ECANCELED;
  wasio__w3_init(&r->call, WASIO__W3_HTTP_SEND);
  if (r->res.is_err) {
    wasio__h3_verdict_drop(&r->verdict);
    return wasio__bk_http_error(&r->res.val.err);
  }
  wasi_http_types_own_response_t res = r->res.val.ok;
  memset(&r->res, 0, sizeof r->res);
  wasi_http_types_borrow_response_t resb = wasi_http_types_borrow_response(res);
  *status = wasi_http_types_method_response_get_status_code(resb);
  wasio__bk_http_fields_t f = {wasi_http_types_method_response_get_headers(resb)};
  int rc = wasio__bk_http_fields_read(&f, headers);
  if (rc != 0) {
    wasi_http_types_response_drop_own(res);
    wasio__h3_verdict_drop(&r->verdict);
    return rc;
  }
  wasi_http_types_future_result_void_error_code_writer_t res_w;
  wasi_http_types_future_result_void_error_code_t res_r = wasi_http_types_future_result_void_error_code_new(&res_w);
  wasi_http_types_tuple2_stream_u8_future_result_option_own_trailers_error_code_t parts;
  wasi_http_types_static_response_consume_body(res, res_r, &parts);
  wasio__bk_http_body_in_open(body, parts.f0, parts.f1, res_w);
  body->verdict = r->verdict;
  r->verdict = 0;
  return 0;
}

void wasio__bk_http_request_release(wasio__bk_http_request_t *r) {
  if (r->loop == NULL) return;
  bool returned = wasio__w3_subtask_end(r->loop, &r->call);
  wasio__h3_settle(r->loop, &r->call); /* not busy after the end */
  if (returned) {
    if (r->res.is_err) (void)wasio__bk_http_error(&r->res.val.err);
    else if (r->res.val.ok.__handle != 0) wasi_http_types_response_drop_own(r->res.val.ok);
  }
  memset(&r->res, 0, sizeof r->res);
  wasio__h3_verdict_drop(&r->verdict);
  wasio__w3_init(&r->call, WASIO__W3_HTTP_SEND);
}

#endif
