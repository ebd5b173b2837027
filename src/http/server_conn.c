/* src/http/server_conn.c: connections: accepting one over a byte stream
 * (src/stream/stream.h) and the stream's upcalls, the input buffers (the
 * landing buffer, spilling, the per-server free list), the one timer and
 * the deadline it serves, parsing heads and calling the handler (the one
 * place handlers are called from), reading on or off from the state, and
 * closing (at once, or the lingering close after a last response). */
#include "server_internal.h"

static void conn_timer_cb(wasio_timer_t *t);

/* ---- the connection's state (server_internal.h draws the moves) ------------------ */

static const char *conn_state_name(int axis, unsigned v) {
  static const char *const life[] = {"ACTIVE", "LAST", "LINGER", "CLOSING"};
  static const char *const input[] = {"IDLE", "HEAD", "BODY"};
  return axis == 0 ? (v < 4 ? life[v] : "?") : (v < 3 ? input[v] : "?");
}

void wasio__srv_conn_set_life(wasio__srv_conn_t *c, srv_conn_life_t to) {
  srv_conn_life_t from = (srv_conn_life_t)c->life;
  WASIO_ASSERT((to == CONN_LAST && from == CONN_ACTIVE) || (to == CONN_LINGER && from == CONN_LAST) ||
               (to == CONN_CLOSING && from != CONN_CLOSING));
  /* Lingering comes after the last exchange, with no body left to read. */
  WASIO_ASSERT(to != CONN_LINGER || (c->ex == NULL && c->input != INPUT_BODY));
  WASIO__TRACE(c, "http-conn", "%s -> %s", conn_state_name(0, from), conn_state_name(0, to));
  (void)conn_state_name;
  (void)from;
  c->life = (uint8_t)to;
}

void wasio__srv_conn_set_input(wasio__srv_conn_t *c, srv_conn_input_t to) {
  srv_conn_input_t from = (srv_conn_input_t)c->input;
  if (from == to) return;
  WASIO_ASSERT(to == INPUT_IDLE || from == INPUT_IDLE);
  /* A body belongs to the exchange in flight (or is discarded: NULL). */
  WASIO_ASSERT(to != INPUT_BODY || c->body_ex == NULL || c->body_ex == c->ex);
  WASIO__TRACE(c, "http-conn", "input %s -> %s", conn_state_name(1, from), conn_state_name(1, to));
  (void)from;
  c->input = (uint8_t)to;
}
static void conn_reject(wasio__srv_conn_t *c, int http_status, int err, const wasio_http_request_t *req);

/* The end of a read callback that landed in the landing buffer: what was
 * not consumed moves to the connection's own buffer, as the landing buffer
 * serves the next read of any connection. */
static void conn_spill(wasio__srv_conn_t *c) {
  /* Nothing is kept once the connection only lingers or closes. */
  if (wasio__http_input_spill(&c->in, &c->server->bufs, c->life >= CONN_LINGER) != 0)
    wasio__srv_conn_abort(c, WASIO_ENOMEM);
}

/* Gives the connection's own buffer back once it holds nothing (or the
 * connection only lingers). A buffer lent to the stream is taken back
 * by stopping the read; wasio__srv_conn_update() starts it again. */
static void conn_trim(wasio__srv_conn_t *c) {
  if (c->in.buf == NULL || c->in.in != c->in.buf) return;
  if (wasio__http_input_avail(&c->in) != 0 && c->life != CONN_LINGER) return;
  if (c->in.lent) {
    wasio__stream_read_stop(&c->s);
    c->reading = false;
    c->in.lent = false;
  }
  wasio__http_input_release(&c->in, &c->server->bufs);
}

/* The connection's exchange in flight; only one at a time. */
static void conn_attach(wasio__srv_conn_t *c, wasio_http_exchange_t *ex) {
  WASIO_ASSERT(c->ex == NULL && c->input != INPUT_BODY);
  ex->next = NULL;
  c->ex = ex;
}

static uint64_t conn_due(wasio__srv_conn_t *c, srv_deadline_t *kind) {
  wasio_http_server_t *s = c->server;
  *kind = DL_NONE;
  if (wasio__srv_conn_closing(c)) return 0;
  if (c->life == CONN_LINGER) {
    *kind = DL_LINGER;
    return c->linger_since + WASIO__SRV_LINGER_NS;
  }
  if (c->input == INPUT_BODY && c->body_ex != NULL && c->body_ex->req_state == REQ_READING &&
      !c->body_ex->paused && !c->peer_eof) {
    *kind = DL_BODY;
    return c->body_since + s->body_ns;
  }
  if (c->input == INPUT_BODY && c->body_ex == NULL) { /* discarding */
    *kind = DL_BODY;
    return c->body_since + s->body_ns;
  }
  if (c->ex != NULL && c->ex->writes_out > 0) {
    *kind = DL_WRITE;
    return c->write_since + s->idle_ns;
  }
  /* The head and idle clocks run only while the connection waits for the
   * client: a head read ahead behind an exchange in flight is not late. */
  if (c->input != INPUT_BODY && !wasio__srv_conn_no_more(c) && !c->peer_eof && c->ex == NULL) {
    if (c->input == INPUT_HEAD) {
      *kind = DL_HEAD;
      return c->head_since + s->head_ns;
    }
    *kind = DL_IDLE;
    return c->idle_since + s->idle_ns;
  }
  return 0;
}

static void conn_sched(wasio__srv_conn_t *c) {
  srv_deadline_t kind;
  uint64_t due = conn_due(c, &kind);
  if (kind == DL_NONE) {
    if (c->deadline != DL_NONE) wasio_timer_stop(c->timer);
    c->deadline = DL_NONE;
    return;
  }
  /* Arm only when the deadline moves earlier or the timer is off: a later
   * deadline is found when the timer fires (no heap work per read). */
  uint64_t now = wasio_loop_now(c->server->loop);
  uint64_t armed = wasio_timer_active(c->timer) ? wasio_timer_due(c->timer) : 0;
  c->deadline = (uint8_t)kind;
  if (armed != 0 && armed <= due) return;
  uint64_t after = due > now ? due - now : 0;
  if (wasio_timer_start(c->timer, conn_timer_cb, after, 0) < 0) wasio__srv_conn_abort(c, WASIO_ENOMEM);
}

static void conn_timer_cb(wasio_timer_t *t) {
  wasio__srv_conn_t *c = wasio_timer_data(t);
  if (wasio__srv_conn_closing(c)) return;
  srv_deadline_t kind;
  uint64_t due = conn_due(c, &kind);
  uint64_t now = wasio_loop_now(c->server->loop);
  if (kind == DL_NONE) {
    c->deadline = DL_NONE;
    return;
  }
  if (kind == DL_WRITE) {
    size_t q = wasio__stream_queued(&c->s);
    if (q != c->write_mark) { /* the client took some: progress */
      c->write_mark = q;
      c->write_since = now;
      due = now + c->server->idle_ns;
    }
  }
  if (due > now) {
    c->deadline = (uint8_t)kind;
    if (wasio_timer_start(t, conn_timer_cb, due - now, 0) < 0) wasio__srv_conn_abort(c, WASIO_ENOMEM);
    return;
  }
  switch (kind) {
    case DL_HEAD:
      /* A head that did not arrive in time: 408, unless nothing came. */
      if (c->in.len > c->in.start) {
        wasio__srv_conn_set_input(c, INPUT_IDLE);
        conn_reject(c, 408, WASIO_ETIMEDOUT, NULL);
        wasio__srv_conn_update(c);
      } else {
        wasio__srv_conn_abort(c, WASIO_ETIMEDOUT);
      }
      return;
    case DL_BODY:
      wasio__srv_conn_finish_body(c, WASIO_ETIMEDOUT);
      if (!wasio__srv_conn_closing(c)) wasio__srv_conn_update(c);
      return;
    case DL_IDLE:
    case DL_WRITE:
    case DL_LINGER:
    case DL_NONE:
      wasio__srv_conn_abort(c, kind == DL_IDLE || kind == DL_LINGER ? WASIO_ECONNRESET : WASIO_ETIMEDOUT);
      return;
  }
}

static void conn_free(wasio__srv_conn_t *c) {
  wasio_http_server_t *s = c->server;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  s->n_conns--;
  wasio__http_input_release(&c->in, &s->bufs); /* the stream is closed: nothing is lent */
  wasio_timer_close(c->timer, NULL);
  if (c->kick_state == KICK_QUEUED) {
    /* The deferred request still refers to c: free when it has run. */
    c->kick_state = KICK_ORPHANED;
    (void)wasio_defer_cancel(&c->kick);
  } else {
    wasio__free(c);
  }
  wasio__srv_maybe_finish(s);
}

/* Immediate close. The stream's queued writes report their end in phase
 * 4, before on_close (WASIO_ECANCELED, or 0 for those already taken);
 * the exchange write callback only counts them, as wasio__srv_conn_closing(c) is set. The exchanges are
 * told then, from on_close. */
void wasio__srv_conn_abort(wasio__srv_conn_t *c, int status) {
  if (wasio__srv_conn_closing(c)) return;
  wasio__srv_conn_set_life(c, CONN_CLOSING);
  if (c->close_status == 0) c->close_status = status;
  (void)wasio_timer_stop(c->timer);
  c->reading = false;
  /* After a good TLS handshake, close_notify first: a clean end for the
   * client rather than a truncation alarm. */
  wasio__stream_close(&c->s, true);
}

/* Graceful end after the last response: half-close, then linger. */
static void conn_end(wasio__srv_conn_t *c) {
  if (c->life >= CONN_LINGER) return;
  if (c->peer_eof) { /* the client is gone already: nothing to linger for */
    wasio__srv_conn_abort(c, WASIO_ECONNRESET);
    return;
  }
  if (wasio__stream_shutdown(&c->s) < 0) {
    wasio__srv_conn_abort(c, WASIO_ECONNRESET);
    return;
  }
  wasio__srv_conn_set_input(c, INPUT_IDLE);
  wasio__srv_conn_set_life(c, CONN_LINGER);
  c->linger_since = wasio_loop_now(c->server->loop);
  c->in.start = c->in.len = 0;
  wasio__srv_conn_update(c);
}

static void conn_on_shutdown(wasio__stream_t *st, int status) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  if (wasio__srv_conn_closing(c)) return;
  if (status < 0) wasio__srv_conn_abort(c, WASIO_ECONNRESET);
  /* else: keep lingering until EOF or the linger deadline */
}

static void conn_on_close(wasio__stream_t *st) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  int err = c->close_status != 0 ? c->close_status : WASIO_ECONNRESET;
  if (err == WASIO_EOF) err = WASIO_ECONNRESET;
  /* Tear down the exchange in flight, if any. */
  wasio_http_exchange_t *ex = c->ex;
  if (ex != NULL) {
    c->ex = NULL;
    if (ex->req_state == REQ_READING || ex->req_state == REQ_END_QUEUED) wasio__srv_ex_deliver_end(ex, err, NULL);
    if (ex->write_cb != NULL) {
      void (*cb)(wasio_http_exchange_t *, int) = ex->write_cb;
      ex->write_cb = NULL;
      cb(ex, ex->write_status != 0 ? ex->write_status : err);
    }
    wasio__srv_ex_complete(ex, err);
  }
  conn_free(c);
}

/* Where the next bytes land: after the bytes that wait in the connection's
 * own buffer, or the server's landing buffer. */
static void conn_alloc(wasio__stream_t *st, wasio_buf_t *buf) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  /* Waiting bytes move to the front when less than WASIO__SRV_IN_COMPACT_AT
   * is left; a lingering connection discards what comes. */
  wasio__http_input_space(&c->in, &c->server->bufs, WASIO__SRV_IN_COMPACT_AT, c->life == CONN_LINGER, buf);
}

/* An accepted TLS stream's handshake: a failure (a bad ClientHello, no
 * common suite, an alert, the client leaving) ends the connection before a
 * request could be read. */
static void conn_on_open(wasio__stream_t *st, int status) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  if (status < 0) wasio__srv_conn_abort(c, status);
}

static void conn_on_read(wasio__stream_t *st, ptrdiff_t nread) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  c->in.lent = false; /* the space came back (or reading has stopped) */
  if (wasio__srv_conn_closing(c)) return;
  wasio_http_server_t *s = c->server;
  uint64_t now = wasio_loop_now(s->loop);
  if (nread < 0) {
    c->reading = false;
    if (nread != WASIO_EOF) {
      wasio__srv_conn_abort(c, (int)nread);
      return;
    }
    c->peer_eof = true;
    if (c->life == CONN_LINGER) {
      wasio__srv_conn_abort(c, WASIO_ECONNRESET);
      return;
    }
    wasio__srv_conn_process(c);
    return;
  }
  if (c->life == CONN_LINGER) {
    c->linger_bytes += (uint64_t)nread;
    if (c->linger_bytes > WASIO__SRV_LINGER_MAX_BYTES) wasio__srv_conn_abort(c, WASIO_ECONNRESET);
    return;
  }
  if (wasio__http_input_landed(&c->in, &s->bufs, (size_t)nread) != 0) {
    wasio__srv_conn_abort(c, WASIO_ENOBUFS);
    return;
  }
  c->body_since = now;
  wasio__srv_conn_process(c);
}

static int srv_error_status(int err) {
  switch (err) {
    case WASIO_EHTTP_HEADERS_TOO_LARGE:
    case WASIO_EHTTP_TOO_MANY_HEADERS:
      return 431;
    case WASIO_EHTTP_START_LINE_TOO_LONG:
      return 414;
    case WASIO_EHTTP_BAD_VERSION:
      return 505;
    case WASIO_EHTTP_BAD_TRANSFER_ENCODING:
      return 501;
    default:
      return 400;
  }
}

/* Answers a request the handler never sees (malformed, too large, too
 * slow, CONNECT) on an exchange of the server's own, and stops parsing.
 * Heads are parsed only with no exchange in flight, so it is alone. */
static void conn_reject(wasio__srv_conn_t *c, int http_status, int err, const wasio_http_request_t *req) {
  wasio__srv_conn_last(c);
  wasio__srv_conn_set_input(c, INPUT_IDLE);
  wasio_http_exchange_t *ex = wasio__srv_ex_new(c->server, c);
  if (ex == NULL) {
    wasio__srv_conn_abort(c, WASIO_ENOMEM);
    return;
  }
  if (req != NULL) {
    ex->is_head = req->method.len == 4 && memcmp(req->method.ptr, "HEAD", 4) == 0;
    ex->version_minor = (uint8_t)(req->version_minor > 1 ? 1 : req->version_minor);
  }
  conn_attach(c, ex);
  if (wasio__srv_ex_respond_error(ex, http_status, err) < 0) wasio__srv_conn_abort(c, WASIO_ENOMEM);
}

/* Delivers a queued on_end (a bodiless request whose handler called
 * read_body, or a body detached before it was asked for). */
static void conn_deliver_end(wasio__srv_conn_t *c) {
  wasio_http_exchange_t *ex = c->ex;
  if (wasio__srv_conn_closing(c) || ex == NULL || ex->req_state != REQ_END_QUEUED) return;
  wasio__srv_ex_deliver_end(ex, ex->end_status, NULL);
  if (wasio__srv_conn_closing(c)) return;
  wasio__srv_ex_check_complete(ex);
}

/* Parses and dispatches what the input buffer holds, as far as the state
 * allows. The only place handlers, on_data and on_end are called from. */
void wasio__srv_conn_process(wasio__srv_conn_t *c) {
  if (c->process != PROCESS_IDLE) {
    c->process = PROCESS_AGAIN;
    return;
  }
  wasio_http_server_t *s = c->server;
  do {
    c->process = PROCESS_RUNNING;
    conn_deliver_end(c);
    for (;;) {
      if (c->life >= CONN_LINGER) break;
      if (c->input == INPUT_BODY) {
        if (!wasio__srv_conn_pump_body(c)) break;
        continue;
      }
      /* The next head waits until the exchange before it has completed. */
      if (wasio__srv_conn_no_more(c) || c->ex != NULL) break;
      size_t avail = c->in.len - c->in.start;
      if (avail == 0) break;
      wasio_http_request_t req;
      int rc = wasio_http_parse_request(&c->parser, c->in.in + c->in.start, avail, &req);
      if (rc == WASIO_EAGAIN) {
        if (c->input != INPUT_HEAD) {
          wasio__srv_conn_set_input(c, INPUT_HEAD);
          c->head_since = wasio_loop_now(s->loop);
        }
        if (c->in.start > 0 && c->in.len == WASIO__SRV_IN_CAP) {
          memmove(c->in.in, c->in.in + c->in.start, avail);
          c->in.len = (uint32_t)avail;
          c->in.start = 0;
        }
        break;
      }
      if (rc < 0) {
        conn_reject(c, srv_error_status(rc), rc, NULL);
        break;
      }
      /* A whole head: its views stay valid until the handler returns, as
       * the bytes are consumed but not overwritten before then. */
      c->in.start += (uint32_t)rc;
      wasio__srv_conn_set_input(c, INPUT_IDLE);
      wasio_http_parser_init(&c->parser);
      if (req.method.len == 7 && memcmp(req.method.ptr, "CONNECT", 7) == 0) {
        /* A tunnel, which no handler can take: 501 (405 would need an
         * Allow field naming what the handler supports, which the server
         * cannot know), and the connection closes without parsing what
         * follows the head (the client's tunnel bytes, not a request). */
        conn_reject(c, 501, WASIO_ENOTSUP, &req);
        break;
      }
      wasio_http_str_t authority;
      int trc = wasio_http_request_authority(&req, &authority);
      if (trc < 0) {
        conn_reject(c, 400, trc, &req); /* a target form its method does not allow */
        break;
      }
      if (req.framing.has_content_length && req.framing.content_length > s->max_body) {
        conn_reject(c, 413, WASIO_ELIMIT, &req);
        break;
      }
      wasio_http_exchange_t *ex = wasio__srv_ex_new(c->server, c);
      if (ex == NULL) {
        wasio__srv_conn_abort(c, WASIO_ENOMEM);
        break;
      }
      ex->is_head = req.method.len == 4 && memcmp(req.method.ptr, "HEAD", 4) == 0;
      ex->version_minor = (uint8_t)(req.version_minor > 1 ? 1 : req.version_minor);
      ex->keep_alive = req.framing.keep_alive && !s->shutting_down;
      ex->expect_continue = req.framing.expect_continue;
      if (!ex->keep_alive) wasio__srv_conn_last(c);
      conn_attach(c, ex);
      if (req.framing.body != WASIO_HTTP_BODY_NONE) {
        wasio__srv_ex_set_req(ex, REQ_UNREAD);
        wasio_http_body_init(&c->body, &req.framing, &c->trailers);
        c->body_ex = ex;
        c->body_bytes = 0;
        c->body_since = wasio_loop_now(s->loop);
        wasio__srv_conn_set_input(c, INPUT_BODY);
      }
      s->handler(ex, &req);
    }
  } while (c->process == PROCESS_AGAIN && !wasio__srv_conn_closing(c));
  c->process = PROCESS_IDLE;
  conn_spill(c);
  if (!wasio__srv_conn_closing(c)) wasio__srv_conn_update(c);
}

/* Reading, the deadline, and the end of the connection, from the state. */
void wasio__srv_conn_update(wasio__srv_conn_t *c) {
  if (wasio__srv_conn_closing(c)) return;
  if (c->process != PROCESS_IDLE) {
    c->process = PROCESS_AGAIN; /* wasio__srv_conn_process calls us when it is done */
    return;
  }
  if (c->life != CONN_LINGER && c->ex == NULL && c->input != INPUT_BODY) {
    bool head_possible = !wasio__srv_conn_no_more(c) && !(c->peer_eof);
    if (!head_possible) {
      conn_end(c);
      return;
    }
    if (c->input != INPUT_HEAD && c->in.len == c->in.start && c->deadline != DL_IDLE)
      c->idle_since = wasio_loop_now(c->server->loop);
  }
  conn_trim(c);
  bool want;
  if (c->peer_eof) {
    want = false;
  } else if (c->life == CONN_LINGER) {
    want = true;
  } else if (c->input == INPUT_BODY) {
    want = c->body_ex == NULL || (c->body_ex->req_state == REQ_READING && !c->body_ex->paused);
  } else {
    want = !wasio__srv_conn_no_more(c); /* read ahead: bounded by the input buffer */
  }
  /* Never read into a full buffer: the space must exist first. */
  if (want && c->life != CONN_LINGER && c->in.start == 0 && c->in.len == WASIO__SRV_IN_CAP) want = false;
  if (want && !c->reading) {
    if (wasio__stream_read_start(&c->s) < 0) {
      wasio__srv_conn_abort(c, WASIO_ECONNRESET);
      return;
    }
    c->reading = true;
  } else if (!want && c->reading) {
    wasio__stream_read_stop(&c->s);
    c->reading = false;
    c->in.lent = false;
  }
  conn_sched(c);
}

static void conn_kick_cb(wasio_defer_t *d, int status) {
  wasio__srv_conn_t *c = d->data;
  if (c->kick_state == KICK_ORPHANED) {
    wasio__free(c);
    return;
  }
  c->kick_state = KICK_NONE;
  if (status < 0 || wasio__srv_conn_closing(c)) return;
  if (c->ex != NULL && c->ex->head_state == HEAD_HELD) {
    /* Its first bytes did not come this turn: the head goes alone. */
    wasio__srv_ex_set_head(c->ex, HEAD_PENDING);
    wasio__srv_ex_flush(c->ex);
    if (wasio__srv_conn_closing(c)) return;
  }
  wasio__srv_conn_process(c);
}

void wasio__srv_conn_kick(wasio__srv_conn_t *c) {
  if (c->kick_state != KICK_NONE) return;
  if (wasio_defer(c->server->loop, &c->kick, conn_kick_cb) == 0) c->kick_state = KICK_QUEUED;
}

static const wasio__stream_cbs_t srv_stream_cbs = {
    .on_open = conn_on_open,
    .alloc = conn_alloc,
    .on_read = conn_on_read,
    .on_shutdown = conn_on_shutdown,
    .on_close = conn_on_close,
};

void wasio__srv_on_connection(wasio_tcp_t *listener, wasio_tcp_t *client, int status) {
  wasio_http_server_t *s = wasio_tcp_data(listener);
  if (status < 0 || client == NULL) return; /* accept errors: keep listening */
  if (s->shutting_down || s->n_conns >= s->max_connections) {
    wasio_tcp_close(client, NULL);
    return;
  }
  wasio__srv_conn_t *c = wasio__malloc(sizeof *c);
  if (c == NULL) {
    wasio_tcp_close(client, NULL);
    return;
  }
  memset(c, 0, sizeof *c);
  if (wasio_timer_new(s->loop, &c->timer) < 0) {
    wasio__free(c);
    wasio_tcp_close(client, NULL);
    return;
  }
  wasio_timer_set_data(c->timer, c);
  c->server = s;
  c->kick.data = c;
  if (wasio__stream_accept(&c->s, &srv_stream_cbs, client, s->tls) < 0) {
    wasio_timer_close(c->timer, NULL);
    wasio__free(c);
    wasio_tcp_close(client, NULL);
    return;
  }
  wasio_http_parser_init(&c->parser);
  c->next = s->conns;
  if (s->conns != NULL) s->conns->prev = c;
  s->conns = c;
  s->n_conns++;
  /* A new connection owes its first head within head_timeout (the TLS
   * handshake included: no plaintext arrives before it is over). */
  wasio__srv_conn_set_input(c, INPUT_HEAD);
  c->head_since = wasio_loop_now(s->loop);
  wasio__srv_conn_update(c);
}
