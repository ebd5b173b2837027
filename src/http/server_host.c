/* src/http/server_host.c: the HOST transport of the HTTP server
 * (wasio/http.h): a server bound to the host's wasi:http/incoming-handler
 * export serves each request the host hands in as an exchange on its loop,
 * with the handler, the checks and the state axes of the socket server
 * (server_internal.h), over the host's body streams (src/core/http_host.h,
 * src/core/http_serve.h).
 *
 * Implementation notes
 * - One binding per server (wasio__srv_hreq_t, made by listen), one
 *   request at a time: a p2 host never calls the export again before it
 *   returned, and it returns only once the exchange is over. Everything a
 *   request needs lives in the binding and is reused: the head's field
 *   buffer, the trailers', the body objects, the timer; the exchange comes
 *   from the server's free list, and body bytes land in the server's
 *   landing buffer (no socket uses it on this transport). So a request
 *   costs no allocation of the server's own.
 * - serve() (the bound function) queues the binding's deferred request and
 *   runs the loop turn by turn until the exchange is complete. Every user
 *   callback (the handler, on_data, on_end, a write's callback,
 *   on_complete) runs from srvh_run, from that deferred request or from a
 *   body's readiness (phase 3), never from inside a wasio_http_* call, as
 *   on a socket. srvh_run is guarded against nesting (the socket
 *   connection's process/AGAIN pattern).
 * - The refusals a socket server makes before any handler runs are made
 *   here too, with the same statuses: too many or too large fields (431),
 *   a bad or conflicting Content-Length or Transfer-Encoding (400, the
 *   codec's rules: wasio__http_request_framing), CONNECT (501), a
 *   Content-Length over max_body (413).
 * - The head is set on the response-outparam by respond/respond_start at
 *   once (a field or status the host refuses is that call's error); the
 *   body bytes go out as check-write permits (no copy: the caller's bytes
 *   stay valid until the write's callback, as on a socket), then finish
 *   with the trailers (which waits for the flush).
 * - Deadlines: one timer per binding, re-derived from the state like a
 *   connection's (server_conn.c): body_timeout_ns of silence while the
 *   handler reads the body, idle_timeout_ns without progress while the
 *   host does not take the response. Pollables are not handles: the timer
 *   is also what keeps the loop alive while the exchange waits on the
 *   host, so a loop with no work left means the exchange can never end.
 *   serve() then answers for the handler: 500 when no response was
 *   started, an aborted body otherwise.
 * - Failures: before the head, a wasi:http error-code is set on the
 *   outparam (wasio_http_respond_abort) or, when the request's body
 *   failed (the client went away), nothing is set (nobody is left to
 *   answer; the export drops the outparam). After the head, the body is
 *   released unfinished, which the host reports to the client as a broken
 *   response.
 */
#include "server_internal.h"
#include "core/http_serve.h"
#include "codec/http_internal.h"

#ifdef WASIO__BK_WASI_HTTP

/* The response's body in the host (out_state). */
typedef enum srvh_out {
  OUT_NONE = 0, /* no head yet */
  OUT_OPEN,     /* head set, body open: bytes, then finish */
  OUT_DONE,     /* finished: the host has the whole response */
  OUT_GONE      /* released unfinished (aborted), or failed */
} srvh_out_t;

/* The request's body in the host (in_state). */
typedef enum srvh_in {
  IN_CLOSED = 0, /* not opened */
  IN_OPEN,       /* opened: bytes, then the trailers */
  IN_DONE        /* released (ended, failed, or dropped unread) */
} srvh_in_t;

/* Turns without waiting that serve() runs after the request when the
 * server was shut down during it: its shutdown timer closes, then its end
 * is deferred, then runs. */
#define WASIO__SRVH_CLOSE_TURNS 3

typedef enum srvh_deadline {
  HDL_NONE = 0,
  HDL_BODY,  /* silence while the handler reads the body */
  HDL_WRITE  /* the host takes nothing of the response */
} srvh_deadline_t;

/* The binding: made by listen, one per server. Its requests' slots are
 * on `active` while served and on `free` after (reused: a request makes
 * no allocation of the server's own once the binding has served as many
 * at once before). */
struct wasio__srv_host {
  wasio_http_server_t *server;
  wasio__srv_hreq_t *active, *free;
  unsigned serving; /* slots on `active` */
  bool bound;
};

struct wasio__srv_hreq {
  wasio_http_server_t *server;
  wasio__srv_host_t *bind;     /* the binding it belongs to */
  wasio__srv_hreq_t *next;            /* the binding's active or free list */
  wasio__bk_http_incoming_t *req; /* the request being served, or NULL */
  wasio_http_exchange_t *ex;      /* its exchange until complete */
  wasio__bk_http_body_in_t in;
  wasio__bk_http_body_out_t out;
  wasio__bk_http_fields_t trailers_out; /* respond_end_trailers', until finish */
  wasio_timer_t *timer;
  wasio_defer_t kick;
  bool kick_queued;
  bool answered;        /* srvh_step answered for a stuck handler */
  bool delivered;       /* the handler was called */
  bool done;            /* the exchange is over */
  bool aborted;         /* the response failed or was aborted: teardown only */
  bool running, again;  /* srvh_run's guard */
  bool end_asked;       /* finish once the bytes are out */
  bool write_owed;      /* a write's callback is owed once its bytes are out */
  bool has_cl;          /* the request's Content-Length */
  uint8_t in_state, out_state, deadline;
  int fail;             /* why the exchange failed */
  uint64_t cl, body_bytes, body_since, write_since;
  const uint8_t *out_ptr; /* bytes of the current write not yet taken */
  size_t out_len;
  char cl_text[WASIO_HTTP_U64_DIGITS + 1];
  char err_body[WASIO__SRV_ERROR_BODY_CAP];
  wasio_http_trailers_t trailers_in;
  wasio_http_header_t resp_fields[WASIO_HTTP_MAX_HEADERS];
  wasio_http_header_t fields[WASIO_HTTP_MAX_HEADERS];
  char bytes[WASIO_HTTP_MAX_HEAD];
  char tbytes[WASIO_HTTP_MAX_HEAD];
};

static void srvh_run(wasio__srv_hreq_t *h);
static void srvh_serve(void *arg, wasio__bk_http_incoming_t *req);
static void *srvh_begin(void *arg, wasio__bk_http_incoming_t *req);
static bool srvh_step(void *token, bool alive);

static const wasio__http_serve_ops_t srvh_ops = {srvh_serve, srvh_begin, srvh_step};

bool wasio__srvh_aborted(const wasio_http_exchange_t *ex) { return ex->host->aborted; }

bool wasio__srvh_busy(const wasio_http_server_t *s) { return s->host != NULL && s->host->serving > 0; }

void wasio__srvh_cancel(wasio_http_server_t *s) {
  if (s->host == NULL) return;
  for (wasio__srv_hreq_t *h = s->host->active; h != NULL; h = h->next)
    if (h->ex != NULL) wasio__srvh_abort(h->ex, WASIO_ECANCELED);
}

static void srvh_kick_cb(wasio_defer_t *d, int status) {
  wasio__srv_hreq_t *h = d->data;
  h->kick_queued = false;
  if (status < 0) return;
  srvh_run(h);
}

/* srvh_run from phase 2 of the next turn (never inside an API call). */
static void srvh_kick(wasio__srv_hreq_t *h) {
  if (h->running) {
    h->again = true;
    return;
  }
  if (h->kick_queued) return;
  if (wasio_defer(h->server->loop, &h->kick, srvh_kick_cb) == 0) h->kick_queued = true;
}

static void srvh_ready(void *data) { srvh_run(data); }

/* ---- binding ------------------------------------------------------------------------ */

/* A request's slot, from the free list or new (with its timer). */
static wasio__srv_hreq_t *srvh_slot_get(wasio__srv_host_t *b) {
  wasio__srv_hreq_t *h = b->free;
  if (h != NULL) {
    b->free = h->next;
  } else {
    h = wasio__calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    if (wasio_timer_new(b->server->loop, &h->timer) < 0) {
      wasio__free(h);
      return NULL;
    }
    wasio_timer_set_data(h->timer, h);
    h->server = b->server;
    h->bind = b;
    h->kick.data = h;
  }
  h->next = b->active;
  b->active = h;
  b->serving++;
  return h;
}

static void srvh_slot_put(wasio__srv_hreq_t *h) {
  wasio__srv_host_t *b = h->bind;
  wasio__srv_hreq_t **pp = &b->active;
  while (*pp != h) pp = &(*pp)->next;
  *pp = h->next;
  b->serving--;
  h->next = b->free;
  b->free = h;
}

int wasio__srvh_bind(wasio_http_server_t *s) {
  wasio__srv_host_t *b = s->host;
  if (b == NULL) {
    b = wasio__calloc(1, sizeof *b);
    if (b == NULL) return WASIO_ENOMEM;
    b->server = s;
  }
  int rc = wasio__bk_http_serve_bind(&srvh_ops, b, s->loop);
  if (rc < 0) {
    if (s->host == NULL) wasio__free(b);
    return rc;
  }
  s->host = b;
  b->bound = true;
  /* From now on a run outside a request hands back to the host. */
  if (b->serving == 0) wasio__loop_set_yield(s->loop, true);
  return 0;
}

void wasio__srvh_unbind(wasio_http_server_t *s) {
  wasio__srv_host_t *b = s->host;
  if (b == NULL || !b->bound) return;
  b->bound = false;
  wasio__bk_http_serve_unbind(b);
  wasio__loop_set_yield(s->loop, false);
}

void wasio__srvh_free(wasio_http_server_t *s) {
  wasio__srv_host_t *b = s->host;
  if (b == NULL) return;
  wasio__srvh_unbind(s);
  /* Only free slots are left: the server finishes when none is served. */
  while (b->free != NULL) {
    wasio__srv_hreq_t *h = b->free;
    b->free = h->next;
    wasio_timer_close(h->timer, NULL);
    if (h->kick_queued) (void)wasio_defer_cancel(&h->kick); /* not reached: the server waits for its run */
    wasio__free(h);
  }
  wasio__free(b);
  s->host = NULL;
}

/* ---- deadlines ----------------------------------------------------------------------- */

static void srvh_timer_cb(wasio_timer_t *t);

static uint64_t srvh_due(const wasio__srv_hreq_t *h, srvh_deadline_t *kind) {
  const wasio_http_exchange_t *ex = h->ex;
  wasio_http_server_t *s = h->server;
  *kind = HDL_NONE;
  if (ex == NULL || h->aborted || h->done) return 0;
  if (h->out_state == OUT_OPEN && (h->out_len > 0 || (h->end_asked && !h->write_owed))) {
    *kind = HDL_WRITE;
    return h->write_since + s->idle_ns;
  }
  if (ex->req_state == REQ_READING && h->in_state == IN_OPEN && !ex->paused) {
    *kind = HDL_BODY;
    return h->body_since + s->body_ns;
  }
  return 0;
}

static void srvh_sched(wasio__srv_hreq_t *h) {
  srvh_deadline_t kind;
  uint64_t due = srvh_due(h, &kind);
  h->deadline = (uint8_t)kind;
  if (kind == HDL_NONE) {
    (void)wasio_timer_stop(h->timer);
    return;
  }
  uint64_t now = wasio_loop_now(h->server->loop);
  if (wasio_timer_active(h->timer) && wasio_timer_due(h->timer) <= due) return; /* re-checked when it fires */
  if (wasio_timer_start(h->timer, srvh_timer_cb, due > now ? due - now : 0, 0) < 0 && h->ex != NULL)
    wasio__srvh_abort(h->ex, WASIO_ENOMEM);
}

static void srvh_finish_body(wasio__srv_hreq_t *h, int status, const wasio_http_trailers_t *trailers);

static void srvh_timer_cb(wasio_timer_t *t) {
  wasio__srv_hreq_t *h = wasio_timer_data(t);
  srvh_deadline_t kind;
  uint64_t due = srvh_due(h, &kind);
  uint64_t now = wasio_loop_now(h->server->loop);
  if (kind == HDL_NONE) return;
  if (due > now) {
    srvh_sched(h);
    return;
  }
  if (kind == HDL_BODY) {
    srvh_finish_body(h, WASIO_ETIMEDOUT, NULL);
  } else {
    wasio__srvh_abort(h->ex, WASIO_ETIMEDOUT);
  }
  srvh_run(h);
}

/* ---- the response ---------------------------------------------------------------------- */

/* Sets the head: the caller's fields less those of the connection (the
 * host owns it), plus the Content-Length when the length is known and the
 * caller's field does not say it. */
static int srvh_head(wasio__srv_hreq_t *h, wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers,
                     size_t n, bool keep_cl, bool nobody, int64_t length) {
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (wasio__http_ieq(headers[i].name, "connection") || wasio__http_ieq(headers[i].name, "keep-alive")) continue;
    if (m == WASIO_HTTP_MAX_HEADERS) return WASIO_ELIMIT;
    h->resp_fields[m++] = headers[i];
  }
  if (length >= 0 && !keep_cl && !nobody) {
    if (m == WASIO_HTTP_MAX_HEADERS) return WASIO_ELIMIT;
    int k = wasio_http_write_u64(h->cl_text, sizeof h->cl_text, (uint64_t)length);
    if (k < 0) return k;
    h->resp_fields[m++] = (wasio_http_header_t){{"content-length", 14}, {h->cl_text, (size_t)k}};
  }
  wasio__bk_http_fields_t f;
  int rc = wasio__bk_http_fields_new(h->resp_fields, m, &f);
  if (rc < 0) return rc;
  wasio__bk_http_body_out_init(&h->out, h->server->loop, srvh_ready, h);
  rc = wasio__bk_http_incoming_respond(h->req, status, &f, &h->out);
  if (rc < 0) return rc;
  h->out_state = OUT_OPEN;
  h->write_since = wasio_loop_now(h->server->loop);
  wasio__srv_ex_set_head(ex, HEAD_PENDING);
  wasio__srv_ex_set_head(ex, HEAD_SENT);
  return 0;
}

int wasio__srvh_respond(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers, size_t n,
                        bool keep_cl, bool nobody, const void *body, size_t len) {
  wasio__srv_hreq_t *h = ex->host;
  int rc = srvh_head(h, ex, status, headers, n, keep_cl, nobody, nobody ? -1 : (int64_t)len);
  if (rc < 0) return rc;
  ex->resp_mode = (uint8_t)((nobody || ex->is_head) ? MODE_NOBODY : MODE_LENGTH);
  wasio__srv_ex_set_resp(ex, RESP_ENDED);
  if (ex->resp_mode == MODE_LENGTH) {
    h->out_ptr = body;
    h->out_len = len;
  }
  h->end_asked = true;
  srvh_kick(h);
  return 0;
}

int wasio__srvh_start(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers, size_t n,
                      bool keep_cl, bool nobody, int64_t content_length) {
  wasio__srv_hreq_t *h = ex->host;
  int rc = srvh_head(h, ex, status, headers, n, keep_cl, nobody, nobody ? -1 : content_length);
  if (rc < 0) return rc;
  if (nobody || ex->is_head)
    ex->resp_mode = MODE_NOBODY;
  else
    ex->resp_mode = (uint8_t)(content_length >= 0 ? MODE_LENGTH : MODE_CHUNKED);
  ex->remaining = ex->resp_mode == MODE_LENGTH ? (uint64_t)content_length : 0;
  wasio__srv_ex_set_resp(ex, RESP_STARTED);
  srvh_kick(h);
  return 0;
}

void wasio__srvh_write(wasio_http_exchange_t *ex) {
  wasio__srv_hreq_t *h = ex->host;
  ex->out_pending = false;
  h->out_ptr = ex->out;
  h->out_len = ex->resp_mode == MODE_NOBODY ? 0 : ex->out_len; /* HEAD: the callback still runs */
  h->write_owed = true;
  if (h->out_len > 0) h->write_since = wasio_loop_now(h->server->loop);
  srvh_kick(h);
}

int wasio__srvh_end(wasio_http_exchange_t *ex, const wasio_http_header_t *trailers, size_t n) {
  wasio__srv_hreq_t *h = ex->host;
  if (n > 0 && ex->resp_mode == MODE_CHUNKED) {
    int rc = wasio__bk_http_fields_new(trailers, n, &h->trailers_out);
    if (rc < 0) return rc;
  }
  wasio__srv_ex_set_resp(ex, RESP_ENDED);
  h->end_asked = true;
  srvh_kick(h);
  return 0;
}

/* Ends the response in failure. Before the head the host answers for a
 * wasi:http error-code, unless `gone` (the request's body failed: the
 * client went away, nobody is left to answer); after it the body is
 * released unfinished, a broken response for the client. */
static void srvh_fail(wasio__srv_hreq_t *h, int err, bool gone) {
  if (h->aborted) return;
  h->aborted = true;
  if (h->fail == 0) h->fail = err;
  if (h->out_state == OUT_NONE && !gone)
    wasio__bk_http_incoming_fail(h->req, err);
  else if (h->out_state == OUT_OPEN)
    wasio__bk_http_body_out_release(&h->out);
  h->out_state = OUT_GONE;
  srvh_kick(h);
}

void wasio__srvh_abort(wasio_http_exchange_t *ex, int err) { srvh_fail(ex->host, err, false); }

/* Hands the host what it takes of the current write, then finishes the
 * body once asked. */
static void srvh_pump_out(wasio__srv_hreq_t *h) {
  wasio_http_exchange_t *ex = h->ex;
  if (h->out_state != OUT_OPEN) return;
  uint64_t now = wasio_loop_now(h->server->loop);
  while (h->out_len > 0) {
    ptrdiff_t n = wasio__bk_http_body_out_write(&h->out, h->out_ptr, h->out_len);
    if (n < 0) {
      wasio__srvh_abort(ex, (int)n);
      return;
    }
    if (n == 0) {
      if (wasio__bk_http_body_out_want(&h->out, true) < 0) wasio__srvh_abort(ex, WASIO_ENOMEM);
      return;
    }
    h->out_ptr += n;
    h->out_len -= (size_t)n;
    h->write_since = now;
  }
  (void)wasio__bk_http_body_out_want(&h->out, false);
  if (h->write_owed) {
    /* Every byte is the host's: the handler may write the next. */
    h->write_owed = false;
    void (*cb)(wasio_http_exchange_t *, int) = ex->write_cb;
    ex->write_cb = NULL;
    if (cb != NULL) cb(ex, 0);
    if (h->aborted || h->out_state != OUT_OPEN || h->out_len > 0) return; /* srvh_run comes again */
  }
  if (!h->end_asked) return;
  int rc = wasio__bk_http_body_out_finish(&h->out, &h->trailers_out);
  if (rc == WASIO_EAGAIN) {
    if (wasio__bk_http_body_out_want(&h->out, true) < 0) wasio__srvh_abort(ex, WASIO_ENOMEM);
    return;
  }
  /* finish released the body either way. */
  wasio__bk_http_fields_drop(&h->trailers_out);
  if (rc < 0) {
    h->out_state = OUT_GONE;
    h->aborted = true;
    if (h->fail == 0) h->fail = rc;
    return;
  }
  h->out_state = OUT_DONE;
}

/* ---- the request body ------------------------------------------------------------------ */

/* The request body ended (0, with its trailers) or failed: on_end, then
 * what a socket server does (a 413 or 408 when no response started; a
 * streamed response the handler did not end is aborted). */
static void srvh_finish_body(wasio__srv_hreq_t *h, int status, const wasio_http_trailers_t *trailers) {
  wasio_http_exchange_t *ex = h->ex;
  if (h->in_state == IN_OPEN) wasio__bk_http_body_in_release(&h->in);
  h->in_state = IN_DONE;
  if (ex == NULL) return;
  if (ex->req_state == REQ_READING) {
    wasio__srv_ex_deliver_end(ex, status, trailers);
    if (h->aborted) return;
  } else if (ex->req_state == REQ_UNREAD) {
    wasio__srv_ex_set_req(ex, REQ_ENDED);
  }
  if (status == 0) return;
  if (ex->resp_state == RESP_STARTED) {
    wasio__srvh_abort(ex, status);
    return;
  }
  if (ex->resp_state == RESP_NONE) {
    if (status != WASIO_ELIMIT && status != WASIO_ETIMEDOUT) {
      srvh_fail(h, status, true); /* the client is gone: nobody to answer */
      return;
    }
    int code = status == WASIO_ELIMIT ? 413 : 408;
    size_t len = 0;
    int rc = wasio__srv_error_text(h->err_body, sizeof h->err_body, code, status, &len);
    static const wasio_http_header_t ct[] = {{{"content-type", 12}, {"text/plain; charset=utf-8", 25}}};
    if (rc == 0) rc = wasio__srvh_respond(ex, code, ct, 1, false, false, h->err_body, len);
    if (rc < 0) wasio__srvh_abort(ex, status);
  }
}

/* Reads what the host has of the body for on_data (the server's landing
 * buffer: no socket uses it here), then its trailers. */
static void srvh_pump_in(wasio__srv_hreq_t *h) {
  wasio_http_exchange_t *ex = h->ex;
  wasio_http_server_t *s = h->server;
  if (ex->req_state == REQ_END_QUEUED) {
    wasio__srv_ex_deliver_end(ex, ex->end_status, NULL);
    return;
  }
  if (ex->req_state != REQ_READING || ex->paused) {
    if (h->in_state == IN_OPEN) (void)wasio__bk_http_body_in_want(&h->in, false);
    return;
  }
  if (h->in_state == IN_CLOSED) {
    wasio__bk_http_body_in_init(&h->in, s->loop, srvh_ready, h);
    int rc = wasio__bk_http_incoming_body(h->req, &h->in);
    if (rc < 0) {
      h->in_state = IN_DONE;
      srvh_finish_body(h, rc, NULL);
      return;
    }
    h->in_state = IN_OPEN;
    h->body_since = wasio_loop_now(s->loop);
  }
  for (int i = 0; i < WASIO_IO_CALLBACKS_PER_TURN; i++) {
    ptrdiff_t n = wasio__bk_http_body_in_read(&h->in, s->bufs.landing, s->bufs.cap);
    if (n > 0) {
      h->body_since = wasio_loop_now(s->loop);
      h->body_bytes += (uint64_t)n;
      if (h->body_bytes > s->max_body) {
        srvh_finish_body(h, WASIO_ELIMIT, NULL);
        return;
      }
      if (ex->on_data != NULL) ex->on_data(ex, s->bufs.landing, (size_t)n);
      if (h->aborted || ex->req_state != REQ_READING) return;
      if (ex->paused) {
        (void)wasio__bk_http_body_in_want(&h->in, false);
        return;
      }
      continue;
    }
    if (n == 0) break; /* nothing now: wait */
    if (n != WASIO_EOF) {
      srvh_finish_body(h, (int)n, NULL);
      return;
    }
    /* The bytes ended: fewer than the Content-Length said is a client
     * that left (a host may report it as a plain end). */
    if (h->has_cl && h->body_bytes < h->cl) {
      srvh_finish_body(h, WASIO_EHTTP_TRUNCATED, NULL);
      return;
    }
    wasio__http_fieldbuf_t tb = {h->trailers_in.fields, WASIO_HTTP_MAX_TRAILERS, 0, h->tbytes, sizeof h->tbytes, 0};
    bool present = false;
    int rc = wasio__bk_http_body_in_trailers(&h->in, &tb, &present);
    if (rc == WASIO_EAGAIN) break;
    h->trailers_in.num_fields = tb.n;
    srvh_finish_body(h, rc, rc == 0 && present ? &h->trailers_in : NULL);
    return;
  }
  /* Wait for more (or, past the per-turn budget, the next turn: the
   * pollable is still ready then). */
  if (wasio__bk_http_body_in_want(&h->in, true) < 0) srvh_finish_body(h, WASIO_ENOMEM, NULL);
}

void wasio__srvh_read_body(wasio_http_exchange_t *ex) {
  if (ex->req_state == REQ_NONE) {
    ex->end_status = 0; /* on_end(0) from srvh_run, never from inside this call */
    wasio__srv_ex_set_req(ex, REQ_END_QUEUED);
  } else {
    wasio__srv_ex_set_req(ex, REQ_READING);
  }
  srvh_kick(ex->host);
}

void wasio__srvh_pause(wasio_http_exchange_t *ex) { srvh_kick(ex->host); }

/* ---- the exchange ------------------------------------------------------------------------ */

/* Whether the exchange is over: the response finished (or failed) and the
 * request body ended or was dropped; then on_complete, once. */
static void srvh_check_complete(wasio__srv_hreq_t *h) {
  wasio_http_exchange_t *ex = h->ex;
  if (ex == NULL) return;
  if (!h->aborted) {
    if (ex->resp_state != RESP_ENDED || h->out_state != OUT_DONE) return;
    if (ex->req_state == REQ_READING || ex->req_state == REQ_END_QUEUED) return;
  }
  /* Over: what is left of the request body is dropped; callbacks still
   * owed get the failure. */
  if (h->in_state == IN_OPEN) wasio__bk_http_body_in_release(&h->in);
  h->in_state = IN_DONE;
  int err = h->aborted ? (h->fail != 0 ? h->fail : WASIO_ECANCELED) : 0;
  if (ex->req_state == REQ_READING || ex->req_state == REQ_END_QUEUED) wasio__srv_ex_deliver_end(ex, err, NULL);
  if (ex->req_state == REQ_UNREAD) wasio__srv_ex_set_req(ex, REQ_ENDED);
  if (ex->write_cb != NULL) {
    void (*cb)(wasio_http_exchange_t *, int) = ex->write_cb;
    ex->write_cb = NULL;
    cb(ex, err);
  }
  if (h->out_state == OUT_OPEN) wasio__bk_http_body_out_release(&h->out);
  wasio__bk_http_fields_drop(&h->trailers_out);
  h->ex = NULL;
  h->done = true;
  wasio__srv_ex_complete(ex, err); /* ex is gone from here on */
}

static int srvh_reject(wasio__srv_hreq_t *h, wasio_http_exchange_t *ex, int code, int err) {
  static const wasio_http_header_t ct[] = {{{"content-type", 12}, {"text/plain; charset=utf-8", 25}}};
  size_t len = 0;
  int rc = wasio__srv_error_text(h->err_body, sizeof h->err_body, code, err, &len);
  if (rc == 0) rc = wasio__srvh_respond(ex, code, ct, 1, false, false, h->err_body, len);
  return rc;
}

/* Reads the request, makes the refusals a socket server makes, and calls
 * the handler. */
static void srvh_deliver(wasio__srv_hreq_t *h) {
  wasio_http_server_t *s = h->server;
  wasio_http_exchange_t *ex = h->ex;
  h->delivered = true;
  wasio__http_incoming_head_t head;
  /* fields[0] is kept for Host (the authority), so that
   * wasio_http_request_authority() answers as on a socket. */
  wasio__http_fieldbuf_t fb = {h->fields + 1, WASIO_HTTP_MAX_HEADERS - 1, 0, h->bytes, sizeof h->bytes, 0};
  int rc = wasio__bk_http_incoming_head(h->req, &head, &fb);
  ex->version_minor = 1;
  ex->keep_alive = true;
  if (rc < 0) {
    if (srvh_reject(h, ex, 431, rc) < 0) wasio__srvh_abort(ex, rc);
    return;
  }
  wasio_http_request_t req;
  memset(&req, 0, offsetof(wasio_http_request_t, headers));
  req.method = head.method;
  req.target = head.path_with_query.len > 0 ? head.path_with_query : (wasio_http_str_t){"/", 1};
  req.version_minor = 1;
  const wasio_http_header_t *fields = h->fields + 1;
  size_t n = fb.n;
  if (head.authority.len > 0) {
    h->fields[0] = (wasio_http_header_t){{"host", 4}, head.authority};
    fields = h->fields;
    n++;
  }
  memcpy(req.headers, fields, n * sizeof *fields);
  req.num_headers = n;
  ex->is_head = req.method.len == 4 && memcmp(req.method.ptr, "HEAD", 4) == 0;
  rc = wasio__http_request_framing(req.headers, req.num_headers, 1, &req.framing);
  if (rc < 0) {
    if (srvh_reject(h, ex, rc == WASIO_EHTTP_BAD_TRANSFER_ENCODING ? 501 : 400, rc) < 0) wasio__srvh_abort(ex, rc);
    return;
  }
  /* The host has taken the framing off: without a Content-Length, a body
   * may or may not follow, and only reading it tells. */
  if (!req.framing.has_content_length) req.framing.body = WASIO_HTTP_BODY_CHUNKED;
  req.framing.keep_alive = true;
  if (req.method.len == 7 && memcmp(req.method.ptr, "CONNECT", 7) == 0) {
    if (srvh_reject(h, ex, 501, WASIO_ENOTSUP) < 0) wasio__srvh_abort(ex, WASIO_ENOTSUP);
    return;
  }
  if (req.framing.has_content_length && req.framing.content_length > s->max_body) {
    if (srvh_reject(h, ex, 413, WASIO_ELIMIT) < 0) wasio__srvh_abort(ex, WASIO_ELIMIT);
    return;
  }
  ex->expect_continue = req.framing.expect_continue;
  h->has_cl = req.framing.has_content_length;
  h->cl = req.framing.content_length;
  if (req.framing.body != WASIO_HTTP_BODY_NONE) wasio__srv_ex_set_req(ex, REQ_UNREAD);
  s->handler(ex, &req);
}

/* Everything that may move: the handler's first call, the request body,
 * the response body, completion. The one place user callbacks run. */
static void srvh_run(wasio__srv_hreq_t *h) {
  if (h->running) {
    h->again = true;
    return;
  }
  h->running = true;
  do {
    h->again = false;
    if (h->ex == NULL) break;
    if (!h->delivered) srvh_deliver(h);
    if (h->ex != NULL && !h->aborted) srvh_pump_in(h);
    if (h->ex != NULL && !h->aborted) srvh_pump_out(h);
    srvh_check_complete(h);
  } while (h->again && h->ex != NULL);
  h->running = false;
  srvh_sched(h);
}

/* The handler left the exchange with nothing on the loop that could end
 * it: 500 if it never started a response, else the response is cut
 * short. */
static void srvh_stuck(wasio__srv_hreq_t *h) {
  wasio_http_exchange_t *ex = h->ex;
  static const char text[] =
      "500 Internal Server Error: the handler left the request without a response, and nothing on the loop "
      "could make one\n";
  static const wasio_http_header_t ct[] = {{{"content-type", 12}, {"text/plain; charset=utf-8", 25}}};
  if (ex->abort_status == 0) ex->abort_status = WASIO_ECANCELED;
  if (ex->resp_state == RESP_NONE && !h->aborted &&
      wasio__srvh_respond(ex, 500, ct, 1, false, false, text, sizeof text - 1) == 0)
    return;
  wasio__srvh_abort(ex, WASIO_ECANCELED);
}

/* Starts the exchange of one request on a slot of its own; NULL when none
 * could be made (the request is failed: the host answers for it). */
static void *srvh_begin(void *arg, wasio__bk_http_incoming_t *req) {
  wasio__srv_host_t *b = arg;
  wasio_http_server_t *s = b->server;
  wasio__srv_hreq_t *h = srvh_slot_get(b);
  wasio_http_exchange_t *ex = h != NULL ? wasio__srv_ex_new(s, NULL) : NULL;
  if (ex == NULL) {
    if (h != NULL) srvh_slot_put(h);
    wasio__bk_http_incoming_fail(req, WASIO_ENOMEM);
    return NULL;
  }
  ex->host = h;
  h->req = req;
  h->ex = ex;
  h->delivered = h->done = h->aborted = h->end_asked = h->write_owed = h->has_cl = h->answered = false;
  h->in_state = IN_CLOSED;
  h->out_state = OUT_NONE;
  h->fail = 0;
  h->cl = h->body_bytes = 0;
  h->out_ptr = NULL;
  h->out_len = 0;
  srvh_kick(h);
  return h;
}

/* After the loop ran: whether the exchange is over (its slot is free
 * then). A loop with no work left (!alive) cannot end it: the server
 * answers for the handler once; if even that leaves nothing to run,
 * everything goes. */
static bool srvh_step(void *token, bool alive) {
  wasio__srv_hreq_t *h = token;
  if (!h->done && !alive) {
    if (!h->answered) {
      h->answered = true;
      srvh_stuck(h);
    } else {
      if (!h->aborted) wasio__srvh_abort(h->ex, WASIO_ECANCELED);
      srvh_run(h); /* an aborted exchange completes in srvh_run */
    }
  }
  if (!h->done) return false;
  wasio_http_server_t *s = h->server;
  wasio_loop_t *loop = s->loop;
  h->req = NULL;
  srvh_slot_put(h);
  /* A server shut down during the request ends now (its callback, then
   * its memory, from deferred work: a few turns that do not wait), as the
   * instance may get no other request to run the loop in. */
  bool closing = s->shutting_down && s->host->serving == 0;
  if (s->host->serving == 0 && s->host->bound) wasio__loop_set_yield(loop, true);
  wasio__srv_maybe_finish(s);
  for (int i = 0; closing && i < WASIO__SRVH_CLOSE_TURNS; i++) (void)wasio_loop_run(loop, WASIO_RUN_NOWAIT);
  return true;
}

/* One request start to end (a host that waits for the export to return):
 * the loop runs turn by turn until the exchange is complete. */
static void srvh_serve(void *arg, wasio__bk_http_incoming_t *req) {
  wasio__srv_host_t *b = arg;
  wasio_loop_t *loop = b->server->loop;
  wasio__loop_set_yield(loop, false);
  void *t = srvh_begin(b, req);
  bool alive = true;
  while (t != NULL && !srvh_step(t, alive)) alive = wasio_loop_run(loop, WASIO_RUN_ONCE) > 0;
  if (t == NULL && b->serving == 0 && b->bound) wasio__loop_set_yield(loop, true);
}

#else /* no wasi:http in this build: the HOST transport is refused at creation */

bool wasio__srvh_aborted(const wasio_http_exchange_t *ex) { return ex->host != NULL; }
bool wasio__srvh_busy(const wasio_http_server_t *s) { return s->host != NULL; }
int wasio__srvh_bind(wasio_http_server_t *s) { return s != NULL ? WASIO_ENOTSUP : WASIO_EINVAL; }
void wasio__srvh_unbind(wasio_http_server_t *s) { (void)s; }
void wasio__srvh_free(wasio_http_server_t *s) { (void)s; }
void wasio__srvh_cancel(wasio_http_server_t *s) { (void)s; }
int wasio__srvh_respond(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers, size_t n,
                        bool keep_cl, bool nobody, const void *body, size_t len) {
  return WASIO_ENOTSUP;
}
int wasio__srvh_start(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers, size_t n,
                      bool keep_cl, bool nobody, int64_t content_length) {
  return WASIO_ENOTSUP;
}
void wasio__srvh_write(wasio_http_exchange_t *ex) { (void)ex; }
int wasio__srvh_end(wasio_http_exchange_t *ex, const wasio_http_header_t *trailers, size_t n) {
  return WASIO_ENOTSUP;
}
void wasio__srvh_abort(wasio_http_exchange_t *ex, int err) { (void)ex; }
void wasio__srvh_read_body(wasio_http_exchange_t *ex) { (void)ex; }
void wasio__srvh_pause(wasio_http_exchange_t *ex) { (void)ex; }

#endif
