/* src/http/server.c: the HTTP/1.1 server of wasio/http.h.
 *
 * Implementation notes
 * - Layers: listener -> connection (this file: buffering, parsing, ordering,
 *   timeouts) -> byte stream (src/stream/stream.h: plain TCP, or TLS when
 *   opts.tls is set; the connection does not know which). Parsing and
 *   serialising are the sans-I/O codec's (wasio/http_codec.h).
 * - Input buffers exist only while bytes must wait (nginx and h2o do the
 *   same). Reads land in the server's one landing buffer (WASIO__SRV_IN_CAP)
 *   whenever the connection has nothing buffered; heads are parsed there in
 *   place, the request views handed to the handler point into it (valid
 *   only during the handler call, as http.h promises) and body bytes are
 *   decoded there for on_data. Before the read callback returns, whatever
 *   was not consumed (a partial head, a request read ahead behind an
 *   exchange in flight, body bytes the handler has not asked for) is copied
 *   into a buffer of the connection's own, taken from a small per-server
 *   free list (WASIO__SRV_BUF_POOL_MAX), and the next reads append to it;
 *   it goes back as soon as it is empty. So an idle keep-alive connection
 *   holds no buffer, and in steady state a request costs no allocation.
 *   One host rule shapes this: the wasip2 backend keeps the last buffer
 *   alloc handed out when a read came back empty and reads into it later
 *   without asking again (until reading stops), so a buffer of the
 *   connection's own that was handed out ("lent") is given back only after
 *   a read returned into it or reading was stopped. The landing buffer may
 *   be lent to many connections at once: each read into it is consumed or
 *   copied out before its callback returns.
 * - One exchange at a time per connection (c->ex). The next head is parsed,
 *   and its handler called, only once the exchange before it has completed
 *   (on_complete ran: the response was handed to the stream whole, or
 *   failed), as Go's net/http, nginx and h2o do. Pipelined requests are read
 *   ahead only into the input buffer, and reading stops when it is full, so
 *   a client that pipelines and never reads pins one input buffer and one
 *   exchange, not a response (and whatever the handler holds for it) per
 *   queued request. Responses are therefore in request order by
 *   construction.
 * - A request body blocks the parsing of the next head until it is consumed
 *   (by on_data or, when the handler never asks, by discarding after the
 *   response). Until the handler calls read_body the connection stops
 *   reading: a slow handler is backpressure, not buffering.
 * - Exchanges come from a per-server free list (WASIO__SRV_POOL_MAX kept), so a
 *   keep-alive connection in steady state allocates nothing per request.
 * - One wasio timer per connection serves every deadline (idle, head, body,
 *   write stall, lingering close); conn_sched() derives the deadline from the
 *   state, and the timer callback re-checks before acting, so activity only
 *   updates timestamps and never re-arms the heap.
 * - Re-entrancy: user callbacks may call any API. conn_process() is guarded
 *   against nesting; anything an API call needs to run later (on_end for a
 *   bodiless request, decoding buffered body bytes after read_body) goes
 *   through the connection's deferred request. Exchanges and connections are
 *   freed only from loop callbacks (a write callback, phase 4 close), never
 *   inside an API call, so pointers stay valid across user callbacks.
 * - Segments: a streamed head is held until its first body bytes (or the
 *   next turn) and small first bytes are copied after it, as are small
 *   whole bodies, so a small response is one write. Hosts without
 *   TCP_NODELAY (wasi:sockets has no such option; wasmtime leaves Nagle on)
 *   otherwise stall a second small segment for the client's delayed ACK,
 *   about 40 ms per response.
 * - Closing: errors and timeouts close at once (the stream's close
 *   callback tears the exchanges down, each getting on_complete once).
 *   After a final response with "Connection: close" the connection shuts
 *   down its sending side and reads (discarding) for at most WASIO__SRV_LINGER_NS,
 *   so that a client still uploading receives the response instead of a
 *   reset (the classic lingering close).
 */
#include <string.h>

#include "internal.h"
#include "stream/stream.h"

typedef struct wasio__srv_conn wasio__srv_conn_t;

/* ---- limits and sizes ------------------------------------------------------ */

/* Input buffer of a connection (and the server's landing buffer): a whole
 * head (WASIO_HTTP_MAX_HEAD) plus room to read ahead pipelined requests and
 * body bytes. It bounds what a client that pipelines without reading can
 * make a connection hold. */
#define WASIO__SRV_IN_CAP (WASIO_HTTP_MAX_HEAD + 16384)
/* Empty input buffers kept per server for the next connection that needs
 * one; more are freed. */
#define WASIO__SRV_BUF_POOL_MAX 16
/* Compact the input buffer (move the unparsed tail to the front) when less
 * than this much room is left at its end. */
#define WASIO__SRV_IN_COMPACT_AT 4096
/* A response head (status line, the caller's fields, ours) must fit here;
 * small whole bodies are copied after the head so that head and body leave
 * in one write. */
#define WASIO__SRV_HEAD_CAP 8192
/* Free exchanges kept per server for reuse; more are freed. */
#define WASIO__SRV_POOL_MAX 256
/* Lingering close: after the final response, how long and how many bytes
 * are read and discarded before the socket is closed. */
#define WASIO__SRV_LINGER_NS (2ull * WASIO_NS_PER_S)
#define WASIO__SRV_LINGER_MAX_BYTES (1u << 20)
/* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define WASIO__SRV_DATE_LEN WASIO_HTTP_DATE_LEN
/* "\r\n" + 16 hex digits + "\r\n" */
#define WASIO__SRV_CHUNK_HDR_CAP 24
/* Our own fields after the caller's: Date, framing and Connection. */
#define WASIO__SRV_OWN_FIELDS_CAP 128
/* The body of an error response the server writes itself. */
#define WASIO__SRV_ERROR_BODY_CAP 160

/* ---- state ------------------------------------------------------------------ */

typedef enum srv_req_state {
  REQ_NONE = 0, /* no request body */
  REQ_UNREAD,   /* a body the handler has not asked for (yet) */
  REQ_READING,  /* read_body called; on_end not yet delivered */
  REQ_ENDED     /* on_end delivered (or the body was detached) */
} srv_req_state_t;

typedef enum srv_resp_state {
  RESP_NONE = 0, /* no response yet */
  RESP_STARTED,  /* streamed: head built, body writes may follow */
  RESP_ENDED     /* whole, or respond_end called */
} srv_resp_state_t;

typedef enum srv_resp_mode {
  MODE_LENGTH = 1, /* Content-Length framed (a whole response is one) */
  MODE_CHUNKED,
  MODE_CLOSE,      /* close-delimited: a streamed response to HTTP/1.0 */
  MODE_NOBODY      /* 1xx/204/304, or any response to HEAD */
} srv_resp_mode_t;

typedef enum srv_deadline {
  DL_NONE = 0,
  DL_IDLE,   /* keep-alive between requests */
  DL_HEAD,   /* a head must arrive whole in time */
  DL_BODY,   /* silence between request body bytes */
  DL_WRITE,  /* the client does not take the response */
  DL_LINGER  /* lingering close */
} srv_deadline_t;

struct wasio_http_exchange {
  wasio__srv_conn_t *conn;
  wasio_http_exchange_t *next; /* the server's free list */
  void *data;
  void (*on_complete)(wasio_http_exchange_t *ex, int status);
  void (*on_data)(wasio_http_exchange_t *ex, const void *data, size_t len);
  void (*on_end)(wasio_http_exchange_t *ex, int status);
  void (*write_cb)(wasio_http_exchange_t *ex, int status); /* a user write in flight */
  const void *out;        /* body bytes waiting to be written (whole or a user write) */
  size_t out_len;
  uint64_t remaining;     /* MODE_LENGTH: body bytes still owed */
  int end_status;         /* on_end status waiting to be delivered */
  int write_status;       /* first failed write */
  uint32_t writes_out;    /* stream writes in flight */
  uint32_t head_len;
  uint8_t req_state, resp_state, resp_mode;
  uint8_t version_minor;
  bool is_head;           /* the request method was HEAD */
  bool keep_alive;        /* the request allows another after it */
  bool expect_continue;
  bool internal;          /* an error response of the server's own */
  bool close_after;       /* this response carries "Connection: close" */
  bool cont_pending, cont_sent;
  bool head_pending, out_pending, end_pending;
  bool head_hold;         /* a streamed head waiting for its first bytes */
  bool end_queued;        /* on_end to deliver from the deferred request */
  bool chunk_started;     /* a chunk went out: the next frame starts with CRLF */
  bool done;              /* on_complete delivered */
  bool paused;            /* wasio_http_exchange_pause(): no on_data for now */
  wasio_write_t w_cont, w_head, w_frame, w_out, w_end;
  char chunk_hdr[WASIO__SRV_CHUNK_HDR_CAP];
  char head[WASIO__SRV_HEAD_CAP]; /* last: not cleared on reuse */
};

struct wasio__srv_conn {
  wasio__srv_conn_t *prev, *next;  /* server->conns */
  wasio_http_server_t *server;
  wasio__stream_t s;                /* its upcalls find the connection */
  wasio_timer_t *timer;
  wasio_defer_t kick;              /* runs conn_process from phase 2 */
  wasio_http_exchange_t *ex;       /* the exchange in flight, or NULL */
  wasio_http_parser_t parser;
  wasio_http_body_t body;          /* the request body being decoded */
  wasio_http_exchange_t *body_ex;  /* its exchange; NULL while discarding */
  uint64_t body_bytes;             /* decoded so far (max_body) */
  uint64_t head_since, idle_since, body_since, write_since, linger_since;
  size_t write_mark;               /* stream queue size at write_since */
  uint64_t linger_bytes;
  uint32_t in_start, in_len;       /* unparsed bytes: in[in_start, in_len) */
  int close_status;                /* what exchanges get when torn down */
  uint8_t deadline;                /* srv_deadline_t armed on the timer */
  bool reading;
  bool body_active;                /* body bytes come before the next head */
  bool head_started;               /* part of a head has arrived */
  bool no_more;                    /* parse no further requests */
  bool peer_eof;
  bool closing;                    /* stream close called */
  bool shutting_down;              /* half-closed, lingering */
  bool in_process, again;
  bool kick_queued, free_on_kick;
  bool in_landing;                 /* the last read space was the landing buffer */
  bool lent;                       /* buf was handed out for a read not yet back */
  char *buf;                       /* own input buffer (WASIO__SRV_IN_CAP), or NULL */
  char *in;                        /* the input: buf, or the landing buffer while a
                                      read callback consumes it; NULL when neither */
};

struct wasio_http_server {
  wasio_loop_t *loop;
  wasio_tcp_t *listener;
  wasio_tls_config_t *tls;         /* HTTPS when set (the caller's) */
  wasio_http_handler handler;
  void *data;
  size_t max_connections;
  uint64_t max_body, idle_ns, head_ns, body_ns;
  wasio__srv_conn_t *conns;
  size_t n_conns;
  wasio_http_exchange_t *pool;
  size_t pool_len;
  char *landing;                   /* where reads land (WASIO__SRV_IN_CAP) */
  char *bufs;                      /* free input buffers, linked through their first bytes */
  size_t bufs_len;
  bool shutting_down;
  bool listener_open;
  bool timer_open, timer_closing;
  wasio_timer_t *shutdown_timer;
  void (*shutdown_cb)(wasio_http_server_t *server);
  wasio_defer_t finish;
  bool finish_queued;
  uint64_t date_at;                /* loop time the Date was formatted */
  char date[WASIO__SRV_DATE_LEN + 1];
};

static void conn_process(wasio__srv_conn_t *c);
static void conn_update(wasio__srv_conn_t *c);
static void conn_abort(wasio__srv_conn_t *c, int status);
static void ex_flush(wasio_http_exchange_t *ex);
static void ex_check_complete(wasio_http_exchange_t *ex);
static void server_maybe_finish(wasio_http_server_t *s);

/* ---- Date ------------------------------------------------------------------ */

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

/* ---- small helpers ------------------------------------------------------------- */

static size_t srv_put_str(char *buf, size_t pos, size_t cap, const char *s, size_t n) {
  if (pos > cap || cap - pos < n) return (size_t)-1;
  memcpy(buf + pos, s, n);
  return pos + n;
}

static size_t srv_put_u64(char *buf, size_t pos, size_t cap, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (pos > cap || cap - pos < n) return (size_t)-1;
  for (size_t i = 0; i < n; i++) buf[pos + i] = tmp[n - 1 - i];
  return pos + n;
}

static bool srv_bodiless_status(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

/* ---- exchanges ------------------------------------------------------------------ */

static wasio_http_exchange_t *ex_new(wasio__srv_conn_t *c) {
  wasio_http_server_t *s = c->server;
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
  ex->conn = c;
  ex->w_cont.data = ex->w_head.data = ex->w_frame.data = ex->w_out.data = ex->w_end.data = ex;
  ex->keep_alive = true;
  ex->version_minor = 1;
  return ex;
}

static void ex_release(wasio_http_server_t *s, wasio_http_exchange_t *ex) {
  if (s->pool_len < WASIO__SRV_POOL_MAX && !s->shutting_down) {
    ex->next = s->pool;
    s->pool = ex;
    s->pool_len++;
  } else {
    wasio__free(ex);
  }
}

/* ---- input buffers ------------------------------------------------------------------ */

/* An empty input buffer for a connection: from the free list, or new. */
static char *srv_buf_take(wasio_http_server_t *s) {
  char *b = s->bufs;
  if (b == NULL) return wasio__malloc(WASIO__SRV_IN_CAP);
  memcpy(&s->bufs, b, sizeof s->bufs);
  s->bufs_len--;
  return b;
}

static void srv_buf_give(wasio_http_server_t *s, char *b) {
  if (s->bufs_len < WASIO__SRV_BUF_POOL_MAX && !s->shutting_down) {
    memcpy(b, &s->bufs, sizeof s->bufs);
    s->bufs = b;
    s->bufs_len++;
  } else {
    wasio__free(b);
  }
}

/* The end of a read callback that landed in the landing buffer: what was
 * not consumed moves to the connection's own buffer, as the landing buffer
 * serves the next read of any connection. */
static void conn_spill(wasio__srv_conn_t *c) {
  wasio_http_server_t *s = c->server;
  if (c->in == NULL || c->in != s->landing) return;
  size_t rest = c->in_len - c->in_start;
  const char *from = s->landing + c->in_start;
  c->in = c->buf;
  c->in_start = c->in_len = 0;
  if (rest == 0 || c->closing || c->shutting_down) return;
  if (c->buf == NULL) {
    c->buf = srv_buf_take(s);
    if (c->buf == NULL) {
      conn_abort(c, WASIO_ENOMEM);
      return;
    }
  }
  memcpy(c->buf, from, rest);
  c->in = c->buf;
  c->in_len = (uint32_t)rest;
}

/* Gives the connection's own buffer back once it holds nothing (or the
 * connection only lingers). A buffer lent to the stream is taken back
 * by stopping the read; conn_update() starts it again. */
static void conn_trim(wasio__srv_conn_t *c) {
  if (c->buf == NULL || c->in != c->buf) return;
  if (c->in_start != c->in_len && !c->shutting_down) return;
  if (c->lent) {
    wasio__stream_read_stop(&c->s);
    c->reading = false;
    c->lent = false;
  }
  srv_buf_give(c->server, c->buf);
  c->buf = c->in = NULL;
  c->in_start = c->in_len = 0;
}

/* The connection's exchange in flight; only one at a time. */
static void conn_attach(wasio__srv_conn_t *c, wasio_http_exchange_t *ex) {
  ex->next = NULL;
  c->ex = ex;
}

/* Builds the response head into ex->head: the codec writes the status line
 * and the caller's fields (and refuses injection), then our fields replace
 * its final empty line. */
/* The caller's Content-Length field against the length the server frames
 * the response with (UINT64_MAX: none, a streamed body of unknown length).
 * Sets *keep when the caller's field goes out in place of the server's
 * own. Errors as http.h documents them for wasio_http_respond(). */
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

static int ex_build_head(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers,
                         size_t num_headers, srv_resp_mode_t mode, uint64_t length) {
  wasio__srv_conn_t *c = ex->conn;
  wasio_http_server_t *s = c->server;
  size_t pos_find = 0;
  if (wasio_http_find_header(headers, num_headers, "Transfer-Encoding", &pos_find) >= 0) return WASIO_EINVAL;
  bool user_length = false;
  int lrc = srv_check_content_length(status, headers, num_headers, length, &user_length);
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
  if (ex->req_state == REQ_UNREAD && ex->expect_continue && !ex->cont_sent && !ex->cont_pending) close = true;
  if (c->no_more || s->shutting_down) close = true;
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
      if (ex->is_head && !srv_bodiless_status(status) && !user_length) {
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
  ex->head_pending = true;
  ex->cont_pending = false; /* a final response replaces the interim one */
  return 0;
}

static void ex_write_cb(wasio_write_t *w, int status);

static bool ex_write(wasio_http_exchange_t *ex, wasio_write_t *w, const void *base, size_t len) {
  wasio__srv_conn_t *c = ex->conn;
  int rc = wasio__stream_write(&c->s, w, base, len, ex_write_cb);
  if (rc < 0) {
    conn_abort(c, rc);
    return false;
  }
  if (ex->writes_out++ == 0) { /* the write-stall clock starts now */
    c->write_since = wasio_loop_now(c->server->loop);
    c->write_mark = wasio__stream_queued(&c->s);
  }
  return true;
}

/* Hands whatever this exchange has ready to the stream, in wire order. */
static void ex_flush(wasio_http_exchange_t *ex) {
  wasio__srv_conn_t *c = ex->conn;
  if (c->closing || c->ex != ex) return;
  if (ex->cont_pending) {
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    ex->cont_pending = false;
    ex->cont_sent = true;
    if (!ex_write(ex, &ex->w_cont, cont, sizeof cont - 1)) return;
  }
  if (ex->head_pending) {
    /* A streamed head waits for its first body bytes (or the next turn,
     * see conn_kick_cb) so both can leave in one write. */
    if (ex->head_hold && !ex->out_pending && !ex->end_pending) return;
    ex->head_hold = false;
    ex->head_pending = false;
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
        conn_abort(c, rc);
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
    if (ex->resp_mode == MODE_CHUNKED) {
      end = ex->chunk_started ? "\r\n0\r\n\r\n" : "0\r\n\r\n";
      n = strlen(end);
    }
    /* Even with nothing to send, a write is queued: its callback, after
     * every earlier one, is where the exchange completes. */
    if (!ex_write(ex, &ex->w_end, end, n)) return;
  }
}

/* Delivers on_end once. */
static void ex_deliver_end(wasio_http_exchange_t *ex, int status) {
  ex->end_queued = false;
  ex->req_state = REQ_ENDED;
  void (*cb)(wasio_http_exchange_t *, int) = ex->on_end;
  ex->on_end = NULL;
  ex->on_data = NULL;
  if (cb != NULL) cb(ex, status);
}

/* The response the server writes itself for a failed request (on a fresh
 * internal exchange or, when the handler has not answered, on its own). */
static int ex_respond_error(wasio_http_exchange_t *ex, int status, int err) {
  char body[WASIO__SRV_ERROR_BODY_CAP];
  size_t n = 0;
  const char *reason = wasio_http_reason(status);
  n = srv_put_u64(body, n, sizeof body, (uint64_t)status);
  n = srv_put_str(body, n, sizeof body, " ", 1);
  n = srv_put_str(body, n, sizeof body, reason, strlen(reason));
  if (err < 0) {
    const char *msg = wasio_strerror(err);
    size_t ml = strlen(msg);
    if (ml > sizeof body - 48) ml = sizeof body - 48;
    n = srv_put_str(body, n, sizeof body, ": ", 2);
    n = srv_put_str(body, n, sizeof body, msg, ml);
  }
  n = srv_put_str(body, n, sizeof body, "\n", 1);
  if (n == (size_t)-1) n = 0;
  ex->internal = true; /* forces Connection: close */
  static const wasio_http_header_t ct[] = {
      {{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};
  int rc = ex_build_head(ex, status, ct, 1, ex->is_head ? MODE_NOBODY : MODE_LENGTH, n);
  if (rc < 0) return rc;
  if (!ex->is_head) {
    memcpy(ex->head + ex->head_len, body, n); /* WASIO__SRV_OWN_FIELDS_CAP leaves room */
    ex->head_len += (uint32_t)n;
  }
  ex->resp_state = RESP_ENDED;
  ex->end_pending = true;
  ex->out = NULL;
  ex->out_len = 0;
  ex_flush(ex);
  return 0;
}

/* Stops reading the request body of the exchange in flight: after its
 * response, the rest is discarded (or the connection closes when
 * discarding is not worth it). */
static void conn_detach_body(wasio__srv_conn_t *c, wasio_http_exchange_t *ex) {
  if (c->body_ex != ex) return;
  c->body_ex = NULL;
  if (ex->req_state == REQ_UNREAD) ex->req_state = REQ_ENDED;
  if (ex->close_after || c->no_more || (ex->expect_continue && !ex->cont_sent)) {
    /* Not worth reading: the connection closes after the response. */
    c->no_more = true;
    c->body_active = false;
  }
}

/* Called whenever an exchange might be finished: the response written
 * whole and the request body done. Delivers on_complete and moves on. */
static void ex_check_complete(wasio_http_exchange_t *ex) {
  wasio__srv_conn_t *c = ex->conn;
  if (ex->done || c->closing) return;
  if (ex->resp_state != RESP_ENDED || ex->writes_out != 0) return;
  if (ex->cont_pending || ex->head_pending || ex->out_pending || ex->end_pending) return;
  if (ex->req_state == REQ_READING || ex->end_queued) return;
  if (ex->req_state == REQ_UNREAD) conn_detach_body(c, ex);
  ex->done = true;
  c->ex = NULL;
  /* Nothing may follow a "Connection: close" response. */
  if (ex->close_after) c->no_more = true;
  void (*cb)(wasio_http_exchange_t *, int) = ex->on_complete;
  if (cb != NULL) cb(ex, 0);
  ex_release(c->server, ex); /* ex is gone from here on */
  if (c->closing) return;
  /* Only now may the next request (read ahead, or still to come) reach
   * the handler. */
  conn_process(c);
}

static void ex_write_cb(wasio_write_t *w, int status) {
  wasio_http_exchange_t *ex = w->data;
  wasio__srv_conn_t *c = ex->conn;
  ex->writes_out--;
  if (status < 0 && ex->write_status == 0) ex->write_status = status;
  /* During close the teardown in phase 4 reports everything. */
  if (c->closing) return;
  if (status < 0) {
    conn_abort(c, status);
    return;
  }
  c->write_since = wasio_loop_now(c->server->loop);
  c->write_mark = wasio__stream_queued(&c->s);
  if (w == &ex->w_out && ex->write_cb != NULL) {
    void (*cb)(wasio_http_exchange_t *, int) = ex->write_cb;
    ex->write_cb = NULL;
    cb(ex, 0);
    if (c->closing) return;
  }
  ex_check_complete(ex);
  if (!c->closing) conn_update(c);
}

/* ---- connections: timers ---------------------------------------------------------------- */

static uint64_t conn_due(wasio__srv_conn_t *c, srv_deadline_t *kind) {
  wasio_http_server_t *s = c->server;
  *kind = DL_NONE;
  if (c->closing) return 0;
  if (c->shutting_down) {
    *kind = DL_LINGER;
    return c->linger_since + WASIO__SRV_LINGER_NS;
  }
  if (c->body_active && c->body_ex != NULL && c->body_ex->req_state == REQ_READING &&
      !c->body_ex->paused && !c->peer_eof) {
    *kind = DL_BODY;
    return c->body_since + s->body_ns;
  }
  if (c->body_active && c->body_ex == NULL) { /* discarding */
    *kind = DL_BODY;
    return c->body_since + s->body_ns;
  }
  if (c->ex != NULL && c->ex->writes_out > 0) {
    *kind = DL_WRITE;
    return c->write_since + s->idle_ns;
  }
  /* The head and idle clocks run only while the connection waits for the
   * client: a head read ahead behind an exchange in flight is not late. */
  if (!c->body_active && !c->no_more && !c->peer_eof && c->ex == NULL) {
    if (c->head_started) {
      *kind = DL_HEAD;
      return c->head_since + s->head_ns;
    }
    *kind = DL_IDLE;
    return c->idle_since + s->idle_ns;
  }
  return 0;
}

static void conn_timer_cb(wasio_timer_t *t);

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
  if (wasio_timer_start(c->timer, conn_timer_cb, after, 0) < 0) conn_abort(c, WASIO_ENOMEM);
}

static void conn_finish_body(wasio__srv_conn_t *c, int status);
static void conn_reject(wasio__srv_conn_t *c, int http_status, int err, const wasio_http_request_t *req);

static void conn_timer_cb(wasio_timer_t *t) {
  wasio__srv_conn_t *c = wasio_timer_data(t);
  if (c->closing) return;
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
    if (wasio_timer_start(t, conn_timer_cb, due - now, 0) < 0) conn_abort(c, WASIO_ENOMEM);
    return;
  }
  switch (kind) {
    case DL_HEAD:
      /* A head that did not arrive in time: 408, unless nothing came. */
      if (c->in_len > c->in_start) {
        c->head_started = false;
        conn_reject(c, 408, WASIO_ETIMEDOUT, NULL);
        conn_update(c);
      } else {
        conn_abort(c, WASIO_ETIMEDOUT);
      }
      return;
    case DL_BODY:
      conn_finish_body(c, WASIO_ETIMEDOUT);
      if (!c->closing) conn_update(c);
      return;
    case DL_IDLE:
    case DL_WRITE:
    case DL_LINGER:
    case DL_NONE:
      conn_abort(c, kind == DL_IDLE || kind == DL_LINGER ? WASIO_ECONNRESET : WASIO_ETIMEDOUT);
      return;
  }
}

/* ---- connections: closing ----------------------------------------------------------------- */

static void conn_kick_cb(wasio_defer_t *d, int status);

static void conn_free(wasio__srv_conn_t *c) {
  wasio_http_server_t *s = c->server;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    s->conns = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  s->n_conns--;
  if (c->buf != NULL) srv_buf_give(s, c->buf); /* the stream is closed: nothing is lent */
  c->buf = c->in = NULL;
  wasio_timer_close(c->timer, NULL);
  if (c->kick_queued) {
    /* The deferred request still refers to c: free when it has run. */
    c->free_on_kick = true;
    (void)wasio_defer_cancel(&c->kick);
  } else {
    wasio__free(c);
  }
  server_maybe_finish(s);
}

static void conn_kick(wasio__srv_conn_t *c);

/* Immediate close. The stream's queued writes report their end in phase
 * 4, before on_close (WASIO_ECANCELED, or 0 for those already taken);
 * ex_write_cb only counts them, as c->closing is set. The exchanges are
 * told then, from on_close. */
static void conn_abort(wasio__srv_conn_t *c, int status) {
  if (c->closing) return;
  c->closing = true;
  if (c->close_status == 0) c->close_status = status;
  (void)wasio_timer_stop(c->timer);
  c->reading = false;
  /* After a good TLS handshake, close_notify first: a clean end for the
   * client rather than a truncation alarm. */
  wasio__stream_close(&c->s, true);
}

/* Graceful end after the last response: half-close, then linger. */
static void conn_end(wasio__srv_conn_t *c) {
  if (c->closing || c->shutting_down) return;
  if (c->peer_eof) { /* the client is gone already: nothing to linger for */
    conn_abort(c, WASIO_ECONNRESET);
    return;
  }
  if (wasio__stream_shutdown(&c->s) < 0) {
    conn_abort(c, WASIO_ECONNRESET);
    return;
  }
  c->shutting_down = true;
  c->body_active = false;
  c->linger_since = wasio_loop_now(c->server->loop);
  c->in_start = c->in_len = 0;
  conn_update(c);
}

static void conn_on_shutdown(wasio__stream_t *st, int status) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  if (c->closing) return;
  if (status < 0) conn_abort(c, WASIO_ECONNRESET);
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
    if (ex->req_state == REQ_READING || ex->end_queued) ex_deliver_end(ex, err);
    if (ex->write_cb != NULL) {
      void (*cb)(wasio_http_exchange_t *, int) = ex->write_cb;
      ex->write_cb = NULL;
      cb(ex, ex->write_status != 0 ? ex->write_status : err);
    }
    ex->done = true;
    if (ex->on_complete != NULL) ex->on_complete(ex, err);
    ex_release(c->server, ex);
  }
  conn_free(c);
}

/* ---- connections: input ---------------------------------------------------------------------- */

/* Where the next bytes land: after the bytes that wait in the connection's
 * own buffer, or the server's landing buffer. */
static void conn_alloc(wasio__stream_t *st, wasio_buf_t *buf) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  /* The stream asks again, so it holds no earlier space of ours. */
  c->lent = false;
  if (!c->shutting_down && c->buf != NULL && c->in == c->buf && c->in_start != c->in_len) {
    /* Bytes wait: the next ones go after them. */
    if (c->in_start > 0 && WASIO__SRV_IN_CAP - c->in_len < WASIO__SRV_IN_COMPACT_AT) {
      /* The parser keeps offsets, not pointers, so the bytes may move. */
      memmove(c->buf, c->buf + c->in_start, c->in_len - c->in_start);
      c->in_len -= c->in_start;
      c->in_start = 0;
    }
    c->in_landing = false;
    buf->base = c->buf + c->in_len;
    buf->len = WASIO__SRV_IN_CAP - c->in_len;
    c->lent = buf->len > 0;
    return;
  }
  /* Nothing buffered (or lingering: everything is discarded). */
  c->in_landing = true;
  buf->base = c->server->landing;
  buf->len = WASIO__SRV_IN_CAP;
}

/* An accepted TLS stream's handshake: a failure (a bad ClientHello, no
 * common suite, an alert, the client leaving) ends the connection before a
 * request could be read. */
static void conn_on_open(wasio__stream_t *st, int status) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  if (status < 0) conn_abort(c, status);
}

static void conn_on_read(wasio__stream_t *st, ptrdiff_t nread) {
  wasio__srv_conn_t *c = WASIO__CONTAINER_OF(st, wasio__srv_conn_t, s);
  c->lent = false; /* the space came back (or reading has stopped) */
  if (c->closing) return;
  wasio_http_server_t *s = c->server;
  uint64_t now = wasio_loop_now(s->loop);
  if (nread < 0) {
    c->reading = false;
    if (nread != WASIO_EOF) {
      conn_abort(c, (int)nread);
      return;
    }
    c->peer_eof = true;
    if (c->shutting_down) {
      conn_abort(c, WASIO_ECONNRESET);
      return;
    }
    conn_process(c);
    return;
  }
  if (c->shutting_down) {
    c->linger_bytes += (uint64_t)nread;
    if (c->linger_bytes > WASIO__SRV_LINGER_MAX_BYTES) conn_abort(c, WASIO_ECONNRESET);
    return;
  }
  if (!c->in_landing) {
    c->in_len += (uint32_t)nread; /* after the bytes that wait */
  } else if (c->in_start != c->in_len) {
    /* The landing buffer is handed out only when nothing waits, and bytes
     * come to wait only at the end of a read: cannot happen, but if it
     * did, order is kept or the connection ends. */
    if (WASIO__SRV_IN_CAP - c->in_len < (size_t)nread) {
      conn_abort(c, WASIO_ENOBUFS);
      return;
    }
    memcpy(c->in + c->in_len, s->landing, (size_t)nread);
    c->in_len += (uint32_t)nread;
  } else {
    c->in = s->landing; /* consumed in place; conn_process spills the rest */
    c->in_start = 0;
    c->in_len = (uint32_t)nread;
  }
  c->body_since = now;
  conn_process(c);
}

/* The request body in progress ended (status 0) or failed. */
static void conn_finish_body(wasio__srv_conn_t *c, int status) {
  wasio_http_exchange_t *ex = c->body_ex;
  c->body_active = false;
  c->body_ex = NULL;
  if (status != 0) c->no_more = true; /* the framing of what follows is unknown */
  if (ex == NULL) return;              /* discarded */
  if (ex->req_state == REQ_READING) {
    ex_deliver_end(ex, status);
    if (c->closing) return;
  } else {
    ex->req_state = REQ_ENDED;
  }
  if (status != 0 && ex->resp_state == RESP_STARTED) {
    /* A streamed response the handler did not end in on_end cannot be
     * framed any more: nothing else will finish it. */
    conn_abort(c, status);
    return;
  }
  if (status != 0 && ex->resp_state == RESP_NONE) {
    int code = status == WASIO_ELIMIT ? 413 : status == WASIO_ETIMEDOUT ? 408 : 400;
    if (status == WASIO_EHTTP_TRUNCATED || status == WASIO_ECONNRESET) {
      conn_abort(c, status); /* nobody left to answer */
      return;
    }
    if (ex_respond_error(ex, code, status) < 0) {
      conn_abort(c, status);
      return;
    }
  }
  ex_check_complete(ex);
}

/* Decodes buffered body bytes for the exchange reading them (or discards
 * them). Returns false when it must wait (no bytes, or the handler has not
 * asked for the body yet). */
static bool conn_pump_body(wasio__srv_conn_t *c) {
  wasio_http_exchange_t *ex = c->body_ex;
  if (ex != NULL && (ex->req_state == REQ_UNREAD || ex->paused)) return false;
  for (;;) {
    if (c->closing || !c->body_active) return !c->closing;
    size_t avail = c->in_len - c->in_start, consumed = 0;
    wasio_http_str_t data = {NULL, 0};
    int rc = wasio_http_body_decode(&c->body, avail ? c->in + c->in_start : NULL, avail, &consumed, &data);
    if (rc < 0 && rc != WASIO_EAGAIN) {
      conn_finish_body(c, rc);
      return !c->closing;
    }
    c->in_start += (uint32_t)consumed;
    if (data.len > 0) {
      c->body_bytes += data.len;
      if (c->body_bytes > c->server->max_body) {
        conn_finish_body(c, WASIO_ELIMIT);
        return !c->closing;
      }
      if (ex != NULL && ex->on_data != NULL) {
        ex->on_data(ex, data.ptr, data.len);
        if (c->closing) return false;
        if (c->body_ex != ex) return true; /* detached meanwhile */
        if (ex->paused) return false;
      }
    }
    if (rc == WASIO_HTTP_BODY_DONE) {
      conn_finish_body(c, 0);
      return !c->closing;
    }
    if (rc == WASIO_EAGAIN || consumed == 0) {
      if (c->peer_eof) {
        int fin = wasio_http_body_finish(&c->body);
        conn_finish_body(c, fin == 0 ? 0 : fin);
        return !c->closing;
      }
      /* A trailer section that cannot fit is an error of its own. */
      if (rc == WASIO_EAGAIN && c->in_start == 0 && c->in_len == WASIO__SRV_IN_CAP) {
        conn_finish_body(c, WASIO_EHTTP_HEADERS_TOO_LARGE);
        return !c->closing;
      }
      return false;
    }
  }
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
  c->no_more = true;
  c->body_active = false;
  wasio_http_exchange_t *ex = ex_new(c);
  if (ex == NULL) {
    conn_abort(c, WASIO_ENOMEM);
    return;
  }
  if (req != NULL) {
    ex->is_head = req->method.len == 4 && memcmp(req->method.ptr, "HEAD", 4) == 0;
    ex->version_minor = (uint8_t)(req->version_minor > 1 ? 1 : req->version_minor);
  }
  conn_attach(c, ex);
  if (ex_respond_error(ex, http_status, err) < 0) conn_abort(c, WASIO_ENOMEM);
}

/* Delivers a queued on_end (a bodiless request whose handler called
 * read_body, or a body detached before it was asked for). */
static void conn_deliver_end(wasio__srv_conn_t *c) {
  wasio_http_exchange_t *ex = c->ex;
  if (c->closing || ex == NULL || !ex->end_queued) return;
  ex_deliver_end(ex, ex->end_status);
  if (c->closing) return;
  ex_check_complete(ex);
}

/* Parses and dispatches what the input buffer holds, as far as the state
 * allows. The only place handlers, on_data and on_end are called from. */
static void conn_process(wasio__srv_conn_t *c) {
  if (c->in_process) {
    c->again = true;
    return;
  }
  c->in_process = true;
  wasio_http_server_t *s = c->server;
  do {
    c->again = false;
    conn_deliver_end(c);
    for (;;) {
      if (c->closing || c->shutting_down) break;
      if (c->body_active) {
        if (!conn_pump_body(c)) break;
        continue;
      }
      /* The next head waits until the exchange before it has completed. */
      if (c->no_more || c->ex != NULL) break;
      size_t avail = c->in_len - c->in_start;
      if (avail == 0) break;
      wasio_http_request_t req;
      int rc = wasio_http_parse_request(&c->parser, c->in + c->in_start, avail, &req);
      if (rc == WASIO_EAGAIN) {
        if (!c->head_started) {
          c->head_started = true;
          c->head_since = wasio_loop_now(s->loop);
        }
        if (c->in_start > 0 && c->in_len == WASIO__SRV_IN_CAP) {
          memmove(c->in, c->in + c->in_start, avail);
          c->in_len = (uint32_t)avail;
          c->in_start = 0;
        }
        break;
      }
      if (rc < 0) {
        conn_reject(c, srv_error_status(rc), rc, NULL);
        break;
      }
      /* A whole head: its views stay valid until the handler returns, as
       * the bytes are consumed but not overwritten before then. */
      c->in_start += (uint32_t)rc;
      c->head_started = false;
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
      wasio_http_exchange_t *ex = ex_new(c);
      if (ex == NULL) {
        conn_abort(c, WASIO_ENOMEM);
        break;
      }
      ex->is_head = req.method.len == 4 && memcmp(req.method.ptr, "HEAD", 4) == 0;
      ex->version_minor = (uint8_t)(req.version_minor > 1 ? 1 : req.version_minor);
      ex->keep_alive = req.framing.keep_alive && !s->shutting_down;
      ex->expect_continue = req.framing.expect_continue;
      if (!ex->keep_alive) c->no_more = true;
      if (req.framing.body != WASIO_HTTP_BODY_NONE) {
        ex->req_state = REQ_UNREAD;
        wasio_http_body_init(&c->body, &req.framing, NULL);
        c->body_active = true;
        c->body_ex = ex;
        c->body_bytes = 0;
        c->body_since = wasio_loop_now(s->loop);
      }
      conn_attach(c, ex);
      s->handler(ex, &req);
    }
  } while (c->again && !c->closing);
  c->in_process = false;
  conn_spill(c);
  if (!c->closing) conn_update(c);
}

/* Reading, the deadline, and the end of the connection, from the state. */
static void conn_update(wasio__srv_conn_t *c) {
  if (c->closing) return;
  if (c->in_process) {
    c->again = true; /* conn_process calls us when it is done */
    return;
  }
  if (!c->shutting_down && c->ex == NULL && !c->body_active) {
    bool head_possible = !c->no_more && !(c->peer_eof);
    if (!head_possible) {
      conn_end(c);
      return;
    }
    if (!c->head_started && c->in_len == c->in_start && c->deadline != DL_IDLE)
      c->idle_since = wasio_loop_now(c->server->loop);
  }
  conn_trim(c);
  bool want;
  if (c->peer_eof) {
    want = false;
  } else if (c->shutting_down) {
    want = true;
  } else if (c->body_active) {
    want = c->body_ex == NULL || (c->body_ex->req_state == REQ_READING && !c->body_ex->paused);
  } else {
    want = !c->no_more; /* read ahead: bounded by the input buffer */
  }
  /* Never read into a full buffer: the space must exist first. */
  if (want && !c->shutting_down && c->in_start == 0 && c->in_len == WASIO__SRV_IN_CAP) want = false;
  if (want && !c->reading) {
    if (wasio__stream_read_start(&c->s) < 0) {
      conn_abort(c, WASIO_ECONNRESET);
      return;
    }
    c->reading = true;
  } else if (!want && c->reading) {
    wasio__stream_read_stop(&c->s);
    c->reading = false;
    c->lent = false;
  }
  conn_sched(c);
}

static void conn_kick_cb(wasio_defer_t *d, int status) {
  wasio__srv_conn_t *c = d->data;
  c->kick_queued = false;
  if (c->free_on_kick) {
    wasio__free(c);
    return;
  }
  if (status < 0 || c->closing) return;
  if (c->ex != NULL && c->ex->head_hold) {
    c->ex->head_hold = false;
    ex_flush(c->ex);
    if (c->closing) return;
  }
  conn_process(c);
}

static void conn_kick(wasio__srv_conn_t *c) {
  if (c->kick_queued) return;
  if (wasio_defer(c->server->loop, &c->kick, conn_kick_cb) == 0) c->kick_queued = true;
}

/* ---- the listener ---------------------------------------------------------------------------------- */

static const wasio__stream_cbs_t srv_stream_cbs = {
    .on_open = conn_on_open,
    .alloc = conn_alloc,
    .on_read = conn_on_read,
    .on_shutdown = conn_on_shutdown,
    .on_close = conn_on_close,
};

static void srv_on_connection(wasio_tcp_t *listener, wasio_tcp_t *client, int status) {
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
  c->head_started = true;
  c->head_since = wasio_loop_now(s->loop);
  conn_update(c);
}

/* ---- public: server ------------------------------------------------------------------------------- */

int wasio_http_server_new(wasio_loop_t *loop, const wasio_http_server_opts_t *opts,
                          wasio_http_handler handler, void *data, wasio_http_server_t **out) {
  if (loop == NULL || handler == NULL || out == NULL) return WASIO_EINVAL;
  wasio_http_server_t *s = wasio__calloc(1, sizeof *s);
  if (s == NULL) return WASIO_ENOMEM;
  s->loop = loop;
  s->handler = handler;
  s->data = data;
  s->max_connections = WASIO_HTTP_SERVER_MAX_CONNECTIONS;
  s->max_body = WASIO_HTTP_SERVER_MAX_BODY;
  s->idle_ns = WASIO_HTTP_SERVER_IDLE_TIMEOUT_NS;
  s->head_ns = WASIO_HTTP_SERVER_HEAD_TIMEOUT_NS;
  s->body_ns = WASIO_HTTP_SERVER_BODY_TIMEOUT_NS;
  s->landing = wasio__malloc(WASIO__SRV_IN_CAP);
  if (s->landing == NULL) {
    wasio__free(s);
    return WASIO_ENOMEM;
  }
  if (opts != NULL) {
    if (opts->max_connections) s->max_connections = opts->max_connections;
    if (opts->max_body) s->max_body = opts->max_body;
    if (opts->idle_timeout_ns) s->idle_ns = opts->idle_timeout_ns;
    if (opts->head_timeout_ns) s->head_ns = opts->head_timeout_ns;
    if (opts->body_timeout_ns) s->body_ns = opts->body_timeout_ns;
    if (opts->tls != NULL) {
      /* Refuse a config that cannot serve (client role, no certificate)
       * now rather than failing every handshake later: a trial engine. */
      wasio_tls_engine_t *trial = NULL;
      int rc = wasio_tls_engine_new(opts->tls, NULL, 0, &trial);
      if (rc < 0) {
        wasio__free(s->landing);
        wasio__free(s);
        return rc;
      }
      wasio_tls_engine_free(trial);
      static const char *const alpn[] = {"http/1.1"};
      rc = wasio_tls_config_alpn(opts->tls, alpn, 1);
      if (rc < 0) {
        wasio__free(s->landing);
        wasio__free(s);
        return rc;
      }
      s->tls = opts->tls;
    }
  }
  s->finish.data = s;
  *out = s;
  return 0;
}

int wasio_http_server_listen(wasio_http_server_t *s, const wasio_addr_t *addr, int backlog) {
  if (s == NULL || addr == NULL) return WASIO_EINVAL;
  if (s->shutting_down) return WASIO_ECLOSING;
  if (s->listener != NULL) return WASIO_ESTATE;
  wasio_tcp_t *l = NULL;
  int rc = wasio_tcp_new(s->loop, &l);
  if (rc < 0) return rc;
  wasio_tcp_set_data(l, s);
  rc = wasio_tcp_bind(l, addr);
  if (rc == 0) rc = wasio_tcp_listen(l, backlog, srv_on_connection);
  if (rc < 0) {
    wasio_tcp_close(l, NULL);
    return rc;
  }
  s->listener = l;
  s->listener_open = true;
  return 0;
}

int wasio_http_server_local_addr(const wasio_http_server_t *s, wasio_addr_t *out) {
  if (s == NULL || out == NULL) return WASIO_EINVAL;
  if (s->listener == NULL || !s->listener_open) return WASIO_ESTATE;
  return wasio_tcp_local_addr(s->listener, out);
}

void *wasio_http_server_data(const wasio_http_server_t *s) { return s->data; }

static void srv_finish_cb(wasio_defer_t *d, int status) {
  (void)status;
  wasio_http_server_t *s = d->data;
  void (*cb)(wasio_http_server_t *) = s->shutdown_cb;
  if (cb != NULL) cb(s);
  while (s->pool != NULL) {
    wasio_http_exchange_t *ex = s->pool;
    s->pool = ex->next;
    wasio__free(ex);
  }
  while (s->bufs != NULL) {
    char *b = s->bufs;
    memcpy(&s->bufs, b, sizeof s->bufs);
    wasio__free(b);
  }
  wasio__free(s->landing);
  wasio__free(s);
}

static void srv_timer_closed(wasio_timer_t *t);

static void server_maybe_finish(wasio_http_server_t *s) {
  if (!s->shutting_down || s->finish_queued || s->n_conns != 0) return;
  if (s->timer_open && !s->timer_closing) {
    s->timer_closing = true; /* every connection finished in time */
    wasio_timer_close(s->shutdown_timer, srv_timer_closed);
  }
  if (s->listener_open || s->timer_open) return;
  /* From a deferred callback so that cb never runs inside
   * wasio_http_server_shutdown() itself. */
  if (wasio_defer(s->loop, &s->finish, srv_finish_cb) == 0) s->finish_queued = true;
}

static void srv_listener_closed(wasio_tcp_t *l) {
  wasio_http_server_t *s = wasio_tcp_data(l);
  s->listener_open = false;
  s->listener = NULL;
  server_maybe_finish(s);
}

static void srv_timer_closed(wasio_timer_t *t) {
  wasio_http_server_t *s = wasio_timer_data(t);
  s->timer_open = false;
  s->shutdown_timer = NULL;
  server_maybe_finish(s);
}

static void srv_shutdown_timeout(wasio_timer_t *t) {
  wasio_http_server_t *s = wasio_timer_data(t);
  for (wasio__srv_conn_t *c = s->conns; c != NULL; c = c->next) {
    c->close_status = WASIO_ECANCELED;
    conn_abort(c, WASIO_ECANCELED);
  }
  if (!s->timer_closing) {
    s->timer_closing = true;
    wasio_timer_close(t, srv_timer_closed);
  }
}

void wasio_http_server_shutdown(wasio_http_server_t *s, uint64_t timeout_ns,
                                void (*cb)(wasio_http_server_t *server)) {
  if (s == NULL || s->shutting_down) return;
  s->shutting_down = true;
  s->shutdown_cb = cb;
  if (s->listener != NULL && s->listener_open) wasio_tcp_close(s->listener, srv_listener_closed);
  if (timeout_ns != 0 && wasio_timer_new(s->loop, &s->shutdown_timer) == 0) {
    wasio_timer_set_data(s->shutdown_timer, s);
    s->timer_open = true;
    if (wasio_timer_start(s->shutdown_timer, srv_shutdown_timeout, timeout_ns, 0) < 0)
      srv_shutdown_timeout(s->shutdown_timer);
  }
  for (wasio__srv_conn_t *c = s->conns; c != NULL; c = c->next) {
    if (c->closing) continue;
    c->no_more = true;
    if (c->ex == NULL && !c->body_active) {
      conn_abort(c, WASIO_ECANCELED); /* idle: nothing in flight */
      continue;
    }
    if (c->close_status == 0) c->close_status = WASIO_ECANCELED;
    conn_kick(c); /* re-evaluates reading and the end of the connection */
  }
  server_maybe_finish(s);
}

/* ---- public: exchanges ---------------------------------------------------------------------- */

static int ex_usable(const wasio_http_exchange_t *ex) {
  if (ex == NULL) return WASIO_EINVAL;
  if (ex->done) return WASIO_ESTATE;
  if (ex->conn->closing) return WASIO_ECLOSING;
  return 0;
}

int wasio_http_exchange_read_body(wasio_http_exchange_t *ex,
                                  void (*on_data)(wasio_http_exchange_t *ex, const void *data, size_t len),
                                  void (*on_end)(wasio_http_exchange_t *ex, int status)) {
  int rc = ex_usable(ex);
  if (rc < 0) return rc;
  if (on_data == NULL || on_end == NULL) return WASIO_EINVAL;
  if (ex->on_end != NULL || ex->req_state == REQ_READING) return WASIO_EBUSY;
  if (ex->req_state == REQ_ENDED) return WASIO_ESTATE; /* dropped after a closing response */
  wasio__srv_conn_t *c = ex->conn;
  ex->on_data = on_data;
  ex->on_end = on_end;
  if (ex->req_state == REQ_NONE || c->body_ex != ex) {
    /* No body (or it was detached): on_end(0) from phase 2, never from
     * inside this call. */
    ex->req_state = REQ_READING;
    ex->end_queued = true;
    ex->end_status = 0;
  } else {
    ex->req_state = REQ_READING;
    if (ex->expect_continue && ex->resp_state == RESP_NONE && !ex->cont_sent) {
      ex->cont_pending = true;
      ex_flush(ex);
    }
  }
  conn_kick(c);
  return 0;
}

int wasio_http_exchange_pause(wasio_http_exchange_t *ex, bool pause) {
  int rc = ex_usable(ex);
  if (rc < 0) return rc;
  if (ex->paused == pause) return 0;
  ex->paused = pause;
  wasio__srv_conn_t *c = ex->conn;
  if (pause)
    conn_update(c); /* stops reading */
  else
    conn_kick(c); /* delivers what is buffered, then reads again */
  return 0;
}

int wasio_http_respond(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers,
                       size_t num_headers, const void *body, size_t len) {
  int rc = ex_usable(ex);
  if (rc < 0) return rc;
  if (body == NULL && len > 0) return WASIO_EINVAL;
  if (headers == NULL && num_headers > 0) return WASIO_EINVAL;
  if (status < 200 || status > 999) return WASIO_EINVAL;
  if (ex->resp_state != RESP_NONE) return WASIO_EBUSY;
  bool nobody = srv_bodiless_status(status);
  if (nobody && len > 0) return WASIO_EINVAL;
  srv_resp_mode_t mode = (nobody || ex->is_head) ? MODE_NOBODY : MODE_LENGTH;
  rc = ex_build_head(ex, status, headers, num_headers, mode, nobody ? UINT64_MAX : (uint64_t)len);
  if (rc < 0) {
    ex->head_pending = false;
    return rc;
  }
  ex->resp_state = RESP_ENDED;
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
    conn_detach_body(c, ex);
  }
  ex_flush(ex);
  if (!c->closing) conn_update(c);
  return 0;
}

int wasio_http_respond_start(wasio_http_exchange_t *ex, int status,
                             const wasio_http_header_t *headers, size_t num_headers,
                             int64_t content_length) {
  int rc = ex_usable(ex);
  if (rc < 0) return rc;
  if (headers == NULL && num_headers > 0) return WASIO_EINVAL;
  if (status < 200 || status > 999 || content_length < -1) return WASIO_EINVAL;
  if (ex->resp_state != RESP_NONE) return WASIO_EBUSY;
  bool nobody = srv_bodiless_status(status);
  if (nobody && content_length > 0) return WASIO_EINVAL;
  srv_resp_mode_t mode;
  uint64_t length = content_length < 0 ? UINT64_MAX : (uint64_t)content_length;
  if (nobody || ex->is_head)
    mode = MODE_NOBODY;
  else if (content_length >= 0)
    mode = MODE_LENGTH;
  else
    mode = ex->version_minor >= 1 ? MODE_CHUNKED : MODE_CLOSE;
  rc = ex_build_head(ex, status, headers, num_headers, mode, nobody ? UINT64_MAX : length);
  if (rc < 0) {
    ex->head_pending = false;
    return rc;
  }
  ex->remaining = mode == MODE_LENGTH ? length : 0;
  ex->resp_state = RESP_STARTED;
  ex->head_hold = true;
  wasio__srv_conn_t *c = ex->conn;
  conn_kick(c); /* sends the head next turn if no bytes come before */
  if (c->body_ex == ex && ex->req_state == REQ_UNREAD && ex->close_after) conn_detach_body(c, ex);
  ex_flush(ex);
  if (!c->closing) conn_update(c);
  return 0;
}

int wasio_http_respond_write(wasio_http_exchange_t *ex, const void *data, size_t len,
                             void (*cb)(wasio_http_exchange_t *ex, int status)) {
  int rc = ex_usable(ex);
  if (rc < 0) return rc;
  if (cb == NULL || (data == NULL && len > 0)) return WASIO_EINVAL;
  if (ex->resp_state != RESP_STARTED) return WASIO_ESTATE;
  if (ex->write_cb != NULL) return WASIO_EBUSY;
  if (ex->resp_mode == MODE_LENGTH) {
    if (len > ex->remaining) return WASIO_EINVAL; /* would break the framing */
    ex->remaining -= len;
  }
  ex->out = data;
  ex->out_len = len;
  ex->out_pending = true;
  ex->write_cb = cb;
  ex_flush(ex);
  if (!ex->conn->closing) conn_update(ex->conn);
  return 0;
}

int wasio_http_respond_end(wasio_http_exchange_t *ex) {
  int rc = ex_usable(ex);
  if (rc < 0) return rc;
  if (ex->resp_state != RESP_STARTED) return WASIO_ESTATE;
  if (ex->resp_mode == MODE_LENGTH && ex->remaining != 0) {
    /* Short of the promised Content-Length: the only honest end is a
     * closed connection (the client sees a truncated body). */
    conn_abort(ex->conn, WASIO_ECANCELED);
    return WASIO_EINVAL;
  }
  ex->resp_state = RESP_ENDED;
  ex->end_pending = true;
  ex_flush(ex);
  if (!ex->conn->closing) conn_update(ex->conn);
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
  return ex != NULL ? ex->conn->server : NULL;
}

int wasio_http_exchange_peer_addr(const wasio_http_exchange_t *ex, wasio_addr_t *out) {
  int rc = ex_usable(ex);
  if (rc < 0) return rc;
  if (out == NULL) return WASIO_EINVAL;
  return wasio__stream_peer_addr(&ex->conn->s, out);
}
