/* src/http/server_exchange.c: exchanges and their responses: the per-server
 * free list of exchanges, the response head (the caller's fields checked
 * against the framing, then Date, Content-Length or chunked, Connection),
 * writing head and body in wire order (small bodies in one write with the
 * head), the server's own error responses, completion (on_complete once,
 * then the next request), and the wasio_http_respond* API: its checks,
 * shared by both transports, then the SOCKETS half here and the HOST half
 * in server_host.c. */
#include "server_internal.h"

static void ex_write_cb(wasio_write_t *w, int status);

/* The IMF-fixdate of RFC 9110 section 5.6.7 (the codec writes it),
 * refreshed at most once per second of loop time (the wall clock is a host
 * call on wasm). */
static const char *srv_date(wasio_http_server_t *s) {
  uint64_t now = wasio_loop_now(s->loop);
  if (s->date[0] != 0 && now - s->date_at < WASIO_NS_PER_S) return s->date;
  uint64_t secs;
  uint32_t nanos;
  wasio_wall_clock(&secs, &nanos);
  if (wasio_http_date_format((int64_t)secs, s->date, sizeof s->date) != WASIO__SRV_DATE_LEN) return s->date;
  s->date_at = now;
  return s->date;
}

static size_t srv_put_str(char *buf, size_t pos, size_t cap, const char *s, size_t n) {
  if (pos > cap || cap - pos < n) return (size_t)-1;
  memcpy(buf + pos, s, n);
  return pos + n;
}

static size_t srv_put_u64(char *buf, size_t pos, size_t cap, uint64_t v) {
  if (pos > cap) return (size_t)-1;
  int n = wasio_http_write_u64(buf + pos, cap - pos, v);
  return n < 0 ? (size_t)-1 : pos + (size_t)n;
}

/* ---- the exchange's state (server_internal.h draws the moves) ------------------ */

static const char *ex_state_name(int axis, unsigned v) {
  static const char *const req[] = {"NONE", "UNREAD", "READING", "END_QUEUED", "ENDED"};
  static const char *const resp[] = {"NONE", "STARTED", "ENDED", "COMPLETE"};
  static const char *const head[] = {"NONE", "HELD", "PENDING", "SENT"};
  static const char *const cont[] = {"NONE", "PENDING", "SENT"};
  switch (axis) {
    case 0: return v < 5 ? req[v] : "?";
    case 1: return v < 4 ? resp[v] : "?";
    case 2: return v < 4 ? head[v] : "?";
    default: return v < 3 ? cont[v] : "?";
  }
}

void wasio__srv_ex_set_req(wasio_http_exchange_t *ex, srv_req_state_t to) {
  srv_req_state_t from = (srv_req_state_t)ex->req_state;
  WASIO_ASSERT((to == REQ_UNREAD && from == REQ_NONE) || (to == REQ_READING && from == REQ_UNREAD) ||
               (to == REQ_END_QUEUED && (from == REQ_NONE || from == REQ_UNREAD)) ||
               (to == REQ_ENDED && from != REQ_NONE && from != REQ_ENDED));
  /* on_end is owed only to a handler that asked for the body. */
  WASIO_ASSERT((to != REQ_READING && to != REQ_END_QUEUED) || ex->on_end != NULL);
  WASIO__TRACE(ex, "http-exchange", "request %s -> %s", ex_state_name(0, from), ex_state_name(0, to));
  (void)ex_state_name;
  (void)from;
  ex->req_state = (uint8_t)to;
}

void wasio__srv_ex_set_resp(wasio_http_exchange_t *ex, srv_resp_state_t to) {
  srv_resp_state_t from = (srv_resp_state_t)ex->resp_state;
  WASIO_ASSERT(from != RESP_COMPLETE);
  WASIO_ASSERT((to == RESP_STARTED && from == RESP_NONE) ||
               (to == RESP_ENDED && (from == RESP_NONE || from == RESP_STARTED)) || to == RESP_COMPLETE);
  /* A response has a head before it can be ended. */
  WASIO_ASSERT(to == RESP_COMPLETE || ex->head_state != HEAD_NONE);
  WASIO__TRACE(ex, "http-exchange", "response %s -> %s", ex_state_name(1, from), ex_state_name(1, to));
  (void)from;
  ex->resp_state = (uint8_t)to;
}

void wasio__srv_ex_set_head(wasio_http_exchange_t *ex, srv_head_state_t to) {
  srv_head_state_t from = (srv_head_state_t)ex->head_state;
  WASIO_ASSERT((to == HEAD_PENDING && (from == HEAD_NONE || from == HEAD_HELD)) ||
               (to == HEAD_HELD && from == HEAD_PENDING) || (to == HEAD_SENT && from == HEAD_PENDING));
  WASIO__TRACE(ex, "http-exchange", "head %s -> %s", ex_state_name(2, from), ex_state_name(2, to));
  (void)from;
  ex->head_state = (uint8_t)to;
}

void wasio__srv_ex_set_cont(wasio_http_exchange_t *ex, srv_cont_state_t to) {
  srv_cont_state_t from = (srv_cont_state_t)ex->cont_state;
  WASIO_ASSERT((to == CONT_PENDING && from == CONT_NONE && ex->expect_continue) ||
               (to == CONT_SENT && from == CONT_PENDING) || (to == CONT_NONE && from == CONT_PENDING));
  /* The interim goes before any final response. */
  WASIO_ASSERT(to != CONT_SENT || ex->head_state != HEAD_SENT);
  WASIO__TRACE(ex, "http-exchange", "100-continue %s -> %s", ex_state_name(3, from), ex_state_name(3, to));
  (void)from;
  ex->cont_state = (uint8_t)to;
}

/* ---- exchanges --------------------------------------------------------------- */

wasio_http_exchange_t *wasio__srv_ex_new(wasio_http_server_t *s, wasio__srv_conn_t *c) {
  wasio_http_exchange_t *ex = s->pool;
  if (ex != NULL) {
    s->pool = ex->next;
    s->pool_len--;
  } else {
    ex = wasio__malloc(sizeof *ex);
    if (ex == NULL) return NULL;
  }
  /* Everything but the head buffer starts zeroed. */
  memset(ex, 0, offsetof(wasio_http_exchange_t, head));
  ex->server = s;
  ex->conn = c;
  ex->w_cont.data = ex->w_head.data = ex->w_frame.data = ex->w_out.data = ex->w_end.data = ex;
  ex->keep_alive = true;
  ex->version_minor = 1;
  return ex;
}

void wasio__srv_ex_release(wasio_http_server_t *s, wasio_http_exchange_t *ex) {
  wasio__free(ex->trailers_out);
  ex->trailers_out = NULL;
  if (s->pool_len < WASIO__SRV_POOL_MAX && !s->shutting_down) {
    ex->next = s->pool;
    s->pool = ex;
    s->pool_len++;
  } else {
    wasio__free(ex);
  }
}

/* The caller's Content-Length field against the length the server frames
 * the response with (UINT64_MAX: none, a streamed body of unknown length).
 * Sets *keep when the caller's field goes out in place of the server's
 * own. */
static int srv_check_content_length(int status, const wasio_http_header_t *headers, size_t num_headers,
                                    uint64_t length, bool *keep) {
  *keep = false;
  size_t pos = 0;
  int k = wasio_http_find_header(headers, num_headers, "Content-Length", &pos);
  if (k < 0) return 0;
  if (wasio_http_find_header(headers, num_headers, "Content-Length", &pos) >= 0)
    return WASIO_EHTTP_CONTENT_LENGTH_MISMATCH; /* one framing, one field */
  wasio_http_str_t v = headers[k].value;
  uint64_t n = 0;
  if (v.len == 0) return WASIO_EHTTP_BAD_CONTENT_LENGTH;
  for (size_t i = 0; i < v.len; i++) {
    unsigned d = (unsigned)((unsigned char)v.ptr[i] - '0');
    if (d > 9 || n > (UINT64_MAX - d) / 10) return WASIO_EHTTP_BAD_CONTENT_LENGTH;
    n = n * 10 + d;
  }
  /* RFC 9110 section 8.6: never in a 1xx or 204; a 304 may carry the
   * length a 200 would have had, which only the caller knows. */
  if (status < 200 || status == 204) return WASIO_EINVAL;
  if (status == 304) {
    *keep = true;
    return 0;
  }
  if (length == UINT64_MAX || n != length) return WASIO_EHTTP_CONTENT_LENGTH_MISMATCH;
  *keep = true;
  return 0;
}

int wasio__srv_check_framing(int status, const wasio_http_header_t *headers, size_t num_headers, uint64_t length,
                             bool *keep) {
  size_t pos = 0;
  *keep = false;
  if (wasio_http_find_header(headers, num_headers, "Transfer-Encoding", &pos) >= 0) return WASIO_EINVAL;
  return srv_check_content_length(status, headers, num_headers, length, keep);
}

/* Builds the response head into ex->head: the codec writes the status line
 * and the caller's fields (and refuses injection), then our fields replace
 * its final empty line. */
static int ex_build_head(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers,
                         size_t num_headers, srv_resp_mode_t mode, uint64_t length) {
  wasio__srv_conn_t *c = ex->conn;
  wasio_http_server_t *s = c->server;
  bool user_length = false;
  int lrc = wasio__srv_check_framing(status, headers, num_headers, length, &user_length);
  if (lrc < 0) return lrc;
  const char *reason = wasio_http_reason(status);
  wasio_http_str_t rs = {reason, strlen(reason)};
  int rc = wasio_http_write_response_head(ex->head, WASIO__SRV_HEAD_CAP - WASIO__SRV_OWN_FIELDS_CAP, 1, status, rs,
                                          headers, num_headers);
  if (rc < 0) return rc;
  size_t pos = (size_t)rc - 2; /* drop the empty line; ours ends the head */
  const size_t cap = WASIO__SRV_HEAD_CAP;

  bool user_date = false, user_close = false;
  for (size_t i = 0, p = 0; i < num_headers; i = p) {
    int k = wasio_http_find_header(headers, num_headers, "Connection", &p);
    if (k < 0) break;
    if (wasio_http_has_token(headers[k].value, "close")) user_close = true;
  }
  size_t p = 0;
  user_date = wasio_http_find_header(headers, num_headers, "Date", &p) >= 0;

  /* Whether the connection ends after this response: the request or the
   * caller says so, a close-delimited body needs it, a body we will not
   * read (the client waits for 100 Continue that never comes) needs it, or
   * this is the last response the connection will carry. */
  bool close = user_close || !ex->keep_alive || mode == MODE_CLOSE || ex->internal;
  if (ex->req_state == REQ_UNREAD && ex->expect_continue && ex->cont_state == CONT_NONE) close = true;
  if (wasio__srv_conn_no_more(c) || s->shutting_down) close = true;
  ex->close_after = close;

  if (!user_date) {
    pos = srv_put_str(ex->head, pos, cap, "Date: ", 6);
    pos = srv_put_str(ex->head, pos, cap, srv_date(s), WASIO__SRV_DATE_LEN);
    pos = srv_put_str(ex->head, pos, cap, "\r\n", 2);
  }
  switch (mode) {
    case MODE_LENGTH:
      if (user_length) break; /* the caller's field says the same */
      pos = srv_put_str(ex->head, pos, cap, "Content-Length: ", 16);
      pos = srv_put_u64(ex->head, pos, cap, length);
      pos = srv_put_str(ex->head, pos, cap, "\r\n", 2);
      break;
    case MODE_CHUNKED:
      pos = srv_put_str(ex->head, pos, cap, "Transfer-Encoding: chunked\r\n", 28);
      break;
    case MODE_NOBODY:
      /* HEAD answers carry the framing a GET would have had. */
      if (ex->is_head && !wasio__srv_bodiless_status(status) && !user_length) {
        if (length != UINT64_MAX) {
          pos = srv_put_str(ex->head, pos, cap, "Content-Length: ", 16);
          pos = srv_put_u64(ex->head, pos, cap, length);
          pos = srv_put_str(ex->head, pos, cap, "\r\n", 2);
        } else if (ex->version_minor >= 1) {
          pos = srv_put_str(ex->head, pos, cap, "Transfer-Encoding: chunked\r\n", 28);
        }
      }
      break;
    case MODE_CLOSE:
      break;
  }
  if (close && !user_close)
    pos = srv_put_str(ex->head, pos, cap, "Connection: close\r\n", 19);
  else if (!close && ex->version_minor == 0)
    pos = srv_put_str(ex->head, pos, cap, "Connection: keep-alive\r\n", 24);
  pos = srv_put_str(ex->head, pos, cap, "\r\n", 2);
  if (pos == (size_t)-1) return WASIO_ENOBUFS;
  ex->head_len = (uint32_t)pos;
  ex->resp_mode = (uint8_t)mode;
  wasio__srv_ex_set_head(ex, HEAD_PENDING);
  /* A final response replaces the interim one. */
  if (ex->cont_state == CONT_PENDING) wasio__srv_ex_set_cont(ex, CONT_NONE);
  return 0;
}

static bool ex_write(wasio_http_exchange_t *ex, wasio_write_t *w, const void *base, size_t len) {
  wasio__srv_conn_t *c = ex->conn;
  int rc = wasio__stream_write(&c->s, w, base, len, ex_write_cb);
  if (rc < 0) {
    wasio__srv_conn_abort(c, rc);
    return false;
  }
  if (ex->writes_out++ == 0) { /* the write-stall clock starts now */
    c->write_since = wasio_loop_now(c->server->loop);
    c->write_mark = wasio__stream_queued(&c->s);
  }
  return true;
}

/* Hands whatever this exchange has ready to the stream, in wire order. */
void wasio__srv_ex_flush(wasio_http_exchange_t *ex) {
  wasio__srv_conn_t *c = ex->conn;
  if (wasio__srv_conn_closing(c) || c->ex != ex) return;
  if (ex->cont_state == CONT_PENDING) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    wasio__srv_ex_set_cont(ex, CONT_SENT);
    if (!ex_write(ex, &ex->w_cont, cont, sizeof cont - 1)) return;
  }
  if (ex->head_state == HEAD_HELD || ex->head_state == HEAD_PENDING) {
    /* A streamed head waits for its first body bytes (or the next turn,
     * see the connection's kick, server_conn.c) so both can leave in one write. */
    if (ex->head_state == HEAD_HELD && !ex->out_pending && !ex->end_pending) return;
    if (ex->head_state == HEAD_HELD) wasio__srv_ex_set_head(ex, HEAD_PENDING);
    wasio__srv_ex_set_head(ex, HEAD_SENT);
    if (ex->out_pending && ex->resp_mode != MODE_NOBODY && ex->out_len > 0) {
      /* Small first bytes join the head: a separate small segment would
       * wait for the client's delayed ACK wherever the host leaves Nagle
       * on (wasi:sockets has no TCP_NODELAY), 40 ms per response. */
      size_t room = WASIO__SRV_HEAD_CAP - ex->head_len, frame = 0;
      char hdr[WASIO__SRV_CHUNK_HDR_CAP];
      if (ex->resp_mode == MODE_CHUNKED) {
        int rc = wasio_http_write_chunk_header(hdr, sizeof hdr, ex->out_len);
        frame = rc > 0 ? (size_t)rc : room + 1;
      }
      if (frame + ex->out_len <= room) {
        memcpy(ex->head + ex->head_len, hdr, frame);
        memcpy(ex->head + ex->head_len + frame, ex->out, ex->out_len);
        ex->head_len += (uint32_t)(frame + ex->out_len);
        if (ex->resp_mode == MODE_CHUNKED) ex->chunk_started = true;
        ex->out_len = 0; /* the write below only carries the callback */
      }
    }
    if (!ex_write(ex, &ex->w_head, ex->head, ex->head_len)) return;
  }
  if (ex->out_pending) {
    ex->out_pending = false;
    const void *base = ex->out;
    size_t len = ex->out_len;
    if (ex->resp_mode == MODE_NOBODY) len = 0; /* HEAD: the callback still runs, in order */
    if (ex->resp_mode == MODE_CHUNKED && len > 0) {
      size_t n = 0;
      if (ex->chunk_started) {
        ex->chunk_hdr[0] = '\r';
        ex->chunk_hdr[1] = '\n';
        n = 2;
      }
      int rc = wasio_http_write_chunk_header(ex->chunk_hdr + n, sizeof ex->chunk_hdr - n, len);
      if (rc < 0) {
        wasio__srv_conn_abort(c, rc);
        return;
      }
      ex->chunk_started = true;
      if (!ex_write(ex, &ex->w_frame, ex->chunk_hdr, n + (size_t)rc)) return;
    }
    if (!ex_write(ex, &ex->w_out, base, len)) return;
  }
  if (ex->end_pending) {
    ex->end_pending = false;
    const char *end = "";
    size_t n = 0;
    if (ex->resp_mode == MODE_CHUNKED && ex->trailers_out != NULL) {
      end = ex->trailers_out; /* "\r\n" (after a chunk), "0\r\n", the trailers, "\r\n" */
      n = ex->trailers_out_len;
      if (!ex->chunk_started) {
        end += 2;
        n -= 2;
      }
    } else if (ex->resp_mode == MODE_CHUNKED) {
      end = ex->chunk_started ? "\r\n0\r\n\r\n" : "0\r\n\r\n";
      n = strlen(end);
    }
    /* Even with nothing to send, a write is queued: its callback, after
     * every earlier one, is where the exchange completes. */
    if (!ex_write(ex, &ex->w_end, end, n)) return;
  }
}

/* Delivers on_end once; `trailers` (those of a body that ended whole, or
 * NULL) are wasio_http_exchange_trailers()'s answer during the call. */
void wasio__srv_ex_deliver_end(wasio_http_exchange_t *ex, int status, const wasio_http_trailers_t *trailers) {
  wasio__srv_ex_set_req(ex, REQ_ENDED);
  void (*cb)(wasio_http_exchange_t *, int) = ex->on_end;
  ex->on_end = NULL;
  ex->on_data = NULL;
  ex->trailers_in = status == 0 && trailers != NULL && trailers->num_fields > 0 ? trailers : NULL;
  if (cb != NULL) cb(ex, status);
  ex->trailers_in = NULL;
}

void wasio__srv_ex_complete(wasio_http_exchange_t *ex, int status) {
  wasio__srv_ex_set_resp(ex, RESP_COMPLETE);
  void (*cb)(wasio_http_exchange_t *, int) = ex->on_complete;
  if (cb != NULL) cb(ex, ex->abort_status != 0 ? ex->abort_status : status);
  wasio__srv_ex_release(ex->server, ex); /* ex is gone from here on */
}

int wasio__srv_error_text(char *buf, size_t cap, int status, int err, size_t *len) {
  size_t n = 0;
  const char *reason = wasio_http_reason(status);
  n = srv_put_u64(buf, n, cap, (uint64_t)status);
  n = srv_put_str(buf, n, cap, " ", 1);
  n = srv_put_str(buf, n, cap, reason, strlen(reason));
  if (err < 0 && cap > 48) {
    const char *msg = wasio_strerror(err);
    size_t ml = strlen(msg);
    if (ml > cap - 48) ml = cap - 48;
    n = srv_put_str(buf, n, cap, ": ", 2);
    n = srv_put_str(buf, n, cap, msg, ml);
  }
  n = srv_put_str(buf, n, cap, "\n", 1);
  if (n == (size_t)-1) return WASIO_ENOBUFS;
  *len = n;
  return 0;
}

/* The response the server writes itself for a failed request (on a fresh
 * internal exchange or, when the handler has not answered, on its own). */
int wasio__srv_ex_respond_error(wasio_http_exchange_t *ex, int status, int err) {
  char body[WASIO__SRV_ERROR_BODY_CAP];
  size_t n = 0;
  if (wasio__srv_error_text(body, sizeof body, status, err, &n) < 0) n = 0;
  ex->internal = true; /* forces Connection: close */
  static const wasio_http_header_t ct[] = {
      {{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};
  int rc = ex_build_head(ex, status, ct, 1, ex->is_head ? MODE_NOBODY : MODE_LENGTH, n);
  if (rc < 0) return rc;
  if (!ex->is_head) {
    memcpy(ex->head + ex->head_len, body, n); /* WASIO__SRV_OWN_FIELDS_CAP leaves room */
    ex->head_len += (uint32_t)n;
  }
  wasio__srv_ex_set_resp(ex, RESP_ENDED);
  ex->end_pending = true;
  ex->out = NULL;
  ex->out_len = 0;
  wasio__srv_ex_flush(ex);
  return 0;
}

/* Called whenever an exchange might be finished: the response written
 * whole and the request body done. Delivers on_complete and moves on. */
void wasio__srv_ex_check_complete(wasio_http_exchange_t *ex) {
  wasio__srv_conn_t *c = ex->conn;
  if (wasio__srv_ex_done(ex) || wasio__srv_conn_closing(c)) return;
  if (ex->resp_state != RESP_ENDED || ex->writes_out != 0) return;
  if (ex->cont_state == CONT_PENDING || ex->head_state != HEAD_SENT || ex->out_pending || ex->end_pending) return;
  if (ex->req_state == REQ_READING || ex->req_state == REQ_END_QUEUED) return;
  if (ex->req_state == REQ_UNREAD) wasio__srv_conn_detach_body(c, ex);
  /* Complete: nothing of it waits to be written or delivered. */
  WASIO_ASSERT(c->ex == ex && c->body_ex != ex);
  c->ex = NULL;
  /* Nothing may follow a "Connection: close" response. */
  if (ex->close_after) wasio__srv_conn_last(c);
  wasio__srv_ex_complete(ex, 0); /* ex is gone from here on */
  if (wasio__srv_conn_closing(c)) return;
  /* Only now may the next request (read ahead, or still to come) reach
   * the handler. */
  wasio__srv_conn_process(c);
}

static void ex_write_cb(wasio_write_t *w, int status) {
  wasio_http_exchange_t *ex = w->data;
  wasio__srv_conn_t *c = ex->conn;
  ex->writes_out--;
  if (status < 0 && ex->write_status == 0) ex->write_status = status;
  /* During close the teardown in phase 4 reports everything. */
  if (wasio__srv_conn_closing(c)) return;
  if (status < 0) {
    wasio__srv_conn_abort(c, status);
    return;
  }
  c->write_since = wasio_loop_now(c->server->loop);
  c->write_mark = wasio__stream_queued(&c->s);
  if (w == &ex->w_out && ex->write_cb != NULL) {
    void (*cb)(wasio_http_exchange_t *, int) = ex->write_cb;
    ex->write_cb = NULL;
    cb(ex, 0);
    if (wasio__srv_conn_closing(c)) return;
  }
  wasio__srv_ex_check_complete(ex);
  if (!wasio__srv_conn_closing(c)) wasio__srv_conn_update(c);
}

int wasio__srv_ex_usable(const wasio_http_exchange_t *ex) {
  if (ex == NULL) return WASIO_EINVAL;
  if (wasio__srv_ex_done(ex)) return WASIO_ESTATE;
  if (wasio__srv_ex_gone(ex)) return WASIO_ECLOSING;
  return 0;
}

/* The response's framing from a respond call: the checks both transports
 * share. */
static int ex_check_response(const wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers,
                             size_t num_headers) {
  int rc = wasio__srv_ex_usable(ex);
  if (rc < 0) return rc;
  if (headers == NULL && num_headers > 0) return WASIO_EINVAL;
  if (status < 200 || status > 999) return WASIO_EINVAL;
  if (ex->resp_state != RESP_NONE) return WASIO_EBUSY;
  return 0;
}

int wasio_http_respond(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers,
                       size_t num_headers, const void *body, size_t len) {
  int rc = ex_check_response(ex, status, headers, num_headers);
  if (rc < 0) return rc;
  if (body == NULL && len > 0) return WASIO_EINVAL;
  bool nobody = wasio__srv_bodiless_status(status);
  if (nobody && len > 0) return WASIO_EINVAL;
  if (ex->host != NULL) {
    bool keep = false;
    rc = wasio__srv_check_framing(status, headers, num_headers, nobody ? UINT64_MAX : (uint64_t)len, &keep);
    if (rc < 0) return rc;
    return wasio__srvh_respond(ex, status, headers, num_headers, keep, nobody, body, len);
  }
  srv_resp_mode_t mode = (nobody || ex->is_head) ? MODE_NOBODY : MODE_LENGTH;
  rc = ex_build_head(ex, status, headers, num_headers, mode, nobody ? UINT64_MAX : (uint64_t)len);
  if (rc < 0) return rc;
  wasio__srv_ex_set_resp(ex, RESP_ENDED);
  if (mode == MODE_LENGTH && len > 0) {
    if (len <= WASIO__SRV_HEAD_CAP - ex->head_len) {
      memcpy(ex->head + ex->head_len, body, len); /* one write for head and body */
      ex->head_len += (uint32_t)len;
    } else {
      ex->out = body;
      ex->out_len = len;
      ex->out_pending = true;
    }
  }
  wasio__srv_conn_t *c = ex->conn;
  if (c->body_ex == ex && ex->req_state == REQ_UNREAD && ex->close_after) {
    /* The body will not be read: stop expecting it before the next head. */
    wasio__srv_conn_detach_body(c, ex);
  }
  wasio__srv_ex_flush(ex);
  if (!wasio__srv_conn_closing(c)) wasio__srv_conn_update(c);
  return 0;
}

int wasio_http_respond_start(wasio_http_exchange_t *ex, int status,
                             const wasio_http_header_t *headers, size_t num_headers,
                             int64_t content_length) {
  int rc = ex_check_response(ex, status, headers, num_headers);
  if (rc < 0) return rc;
  if (content_length < -1) return WASIO_EINVAL;
  bool nobody = wasio__srv_bodiless_status(status);
  if (nobody && content_length > 0) return WASIO_EINVAL;
  uint64_t length = content_length < 0 ? UINT64_MAX : (uint64_t)content_length;
  if (ex->host != NULL) {
    bool keep = false;
    rc = wasio__srv_check_framing(status, headers, num_headers, nobody ? UINT64_MAX : length, &keep);
    if (rc < 0) return rc;
    return wasio__srvh_start(ex, status, headers, num_headers, keep, nobody, content_length);
  }
  srv_resp_mode_t mode;
  if (nobody || ex->is_head)
    mode = MODE_NOBODY;
  else if (content_length >= 0)
    mode = MODE_LENGTH;
  else
    mode = ex->version_minor >= 1 ? MODE_CHUNKED : MODE_CLOSE;
  rc = ex_build_head(ex, status, headers, num_headers, mode, nobody ? UINT64_MAX : length);
  if (rc < 0) return rc;
  ex->remaining = mode == MODE_LENGTH ? length : 0;
  wasio__srv_ex_set_resp(ex, RESP_STARTED);
  wasio__srv_ex_set_head(ex, HEAD_HELD);
  wasio__srv_conn_t *c = ex->conn;
  wasio__srv_conn_kick(c); /* sends the head next turn if no bytes come before */
  if (c->body_ex == ex && ex->req_state == REQ_UNREAD && ex->close_after) wasio__srv_conn_detach_body(c, ex);
  wasio__srv_ex_flush(ex);
  if (!wasio__srv_conn_closing(c)) wasio__srv_conn_update(c);
  return 0;
}

int wasio_http_respond_write(wasio_http_exchange_t *ex, const void *data, size_t len,
                             void (*cb)(wasio_http_exchange_t *ex, int status)) {
  int rc = wasio__srv_ex_usable(ex);
  if (rc < 0) return rc;
  if (cb == NULL || (data == NULL && len > 0)) return WASIO_EINVAL;
  if (ex->resp_state != RESP_STARTED) return WASIO_ESTATE;
  if (ex->write_cb != NULL) return WASIO_EBUSY;
  if (ex->resp_mode == MODE_LENGTH) {
    /* Past the declared length the framing would break: refused, and the
     * response stays as it was (the handler may still write what is
     * owed, or abort). */
    if (len > ex->remaining) return WASIO_EHTTP_CONTENT_LENGTH_MISMATCH;
    ex->remaining -= len;
  }
  ex->out = data;
  ex->out_len = len;
  ex->out_pending = true;
  ex->write_cb = cb;
  if (ex->host != NULL) {
    wasio__srvh_write(ex);
    return 0;
  }
  wasio__srv_ex_flush(ex);
  if (!wasio__srv_conn_closing(ex->conn)) wasio__srv_conn_update(ex->conn);
  return 0;
}

/* The checks of respond_end and respond_end_trailers; > 0: the response
 * was short of its Content-Length and is aborted. */
static int ex_check_end(wasio_http_exchange_t *ex) {
  int rc = wasio__srv_ex_usable(ex);
  if (rc < 0) return rc;
  if (ex->resp_state != RESP_STARTED) return WASIO_ESTATE;
  if (ex->resp_mode == MODE_LENGTH && ex->remaining != 0) {
    /* Short of the promised Content-Length: the only honest end is an
     * aborted response (the client sees a truncated body). */
    if (ex->host != NULL)
      wasio__srvh_abort(ex, WASIO_ECANCELED);
    else
      wasio__srv_conn_abort(ex->conn, WASIO_ECANCELED);
    return WASIO_EINVAL;
  }
  return 0;
}

/* The socket's end of a chunked body with trailers, in ex->trailers_out:
 * "\r\n" (used after a chunk only), the last chunk, the fields. */
static int ex_build_trailers(wasio_http_exchange_t *ex, const wasio_http_header_t *t, size_t n) {
  size_t need = 2 + 3 + 2;
  for (size_t i = 0; i < n; i++) need += t[i].name.len + 2 + t[i].value.len + 2;
  char *buf = wasio__malloc(need);
  if (buf == NULL) return WASIO_ENOMEM;
  buf[0] = '\r';
  buf[1] = '\n';
  int rc = wasio_http_write_last_chunk(buf + 2, need - 2, t, n);
  if (rc < 0) {
    wasio__free(buf);
    return rc;
  }
  ex->trailers_out = buf;
  ex->trailers_out_len = 2 + (size_t)rc;
  return 0;
}

static int ex_end(wasio_http_exchange_t *ex, const wasio_http_header_t *trailers, size_t n) {
  int rc = ex_check_end(ex);
  if (rc < 0) return rc;
  if (ex->host != NULL) return wasio__srvh_end(ex, trailers, n);
  if (n > 0 && ex->resp_mode == MODE_CHUNKED) {
    rc = ex_build_trailers(ex, trailers, n);
    if (rc < 0) return rc;
  }
  wasio__srv_ex_set_resp(ex, RESP_ENDED);
  ex->end_pending = true;
  wasio__srv_ex_flush(ex);
  if (!wasio__srv_conn_closing(ex->conn)) wasio__srv_conn_update(ex->conn);
  return 0;
}

int wasio_http_respond_end(wasio_http_exchange_t *ex) { return ex_end(ex, NULL, 0); }

int wasio_http_respond_end_trailers(wasio_http_exchange_t *ex, const wasio_http_header_t *trailers,
                                    size_t num_trailers) {
  int rc = wasio__srv_ex_usable(ex);
  if (rc < 0) return rc;
  if (trailers == NULL && num_trailers > 0) return WASIO_EINVAL;
  if (num_trailers > WASIO_HTTP_MAX_TRAILERS) return WASIO_EINVAL;
  size_t pos = 0;
  if (wasio_http_find_header(trailers, num_trailers, "Content-Length", &pos) >= 0) return WASIO_EINVAL;
  pos = 0;
  if (wasio_http_find_header(trailers, num_trailers, "Transfer-Encoding", &pos) >= 0) return WASIO_EINVAL;
  /* Trailers follow a body of unknown length only; a HEAD request's or a
   * bodiless status's response has no body to follow. */
  if (ex->resp_state == RESP_STARTED && ex->resp_mode == MODE_LENGTH) return WASIO_ESTATE;
  /* A field that would inject is refused wherever the trailers go (also
   * where they are dropped): the codec checks them without writing. */
  rc = wasio_http_write_last_chunk(NULL, 0, trailers, num_trailers);
  if (rc < 0 && rc != WASIO_ENOBUFS) return rc;
  return ex_end(ex, trailers, num_trailers);
}

int wasio_http_respond_abort(wasio_http_exchange_t *ex, int err) {
  if (ex == NULL || err >= 0) return WASIO_EINVAL;
  if (wasio__srv_ex_done(ex)) return WASIO_ESTATE;
  if (wasio__srv_ex_gone(ex)) return 0; /* already going: on_complete reports it */
  if (ex->abort_status == 0) ex->abort_status = err;
  if (ex->host != NULL) {
    wasio__srvh_abort(ex, err);
    return 0;
  }
  wasio__srv_conn_t *c = ex->conn;
  if (ex->resp_state == RESP_NONE) {
    /* Nothing of a response yet: the server's own 500 says why, and the
     * connection closes after it (ex->internal). */
    if (c->body_ex == ex && ex->req_state == REQ_UNREAD) wasio__srv_conn_detach_body(c, ex);
    if (wasio__srv_ex_respond_error(ex, 500, err) == 0) {
      if (!wasio__srv_conn_closing(c)) wasio__srv_conn_update(c);
      return 0;
    }
  }
  if (c->close_status == 0) c->close_status = err;
  wasio__srv_conn_abort(c, err);
  return 0;
}

void wasio_http_exchange_on_complete(wasio_http_exchange_t *ex, void (*cb)(wasio_http_exchange_t *ex, int status)) {
  if (ex != NULL) ex->on_complete = cb;
}

void wasio_http_exchange_set_data(wasio_http_exchange_t *ex, void *data) {
  if (ex != NULL) ex->data = data;
}

void *wasio_http_exchange_data(const wasio_http_exchange_t *ex) { return ex != NULL ? ex->data : NULL; }

wasio_http_server_t *wasio_http_exchange_server(const wasio_http_exchange_t *ex) {
  return ex != NULL ? ex->server : NULL;
}

int wasio_http_exchange_peer_addr(const wasio_http_exchange_t *ex, wasio_addr_t *out) {
  int rc = wasio__srv_ex_usable(ex);
  if (rc < 0) return rc;
  if (out == NULL) return WASIO_EINVAL;
  if (ex->host != NULL) return WASIO_ENOTSUP; /* wasi:http does not tell */
  return wasio__stream_peer_addr(&ex->conn->s, out);
}

const wasio_http_trailers_t *wasio_http_exchange_trailers(const wasio_http_exchange_t *ex) {
  return ex != NULL ? ex->trailers_in : NULL;
}
