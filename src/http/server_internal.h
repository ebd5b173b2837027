/* src/http/server_internal.h: what the files of the HTTP/1.1 server of
 * wasio/http.h share: its limits, its objects and the functions they call
 * across files. One subject per file:
 *   server.c           the server: creation, listening, graceful shutdown
 *   server_conn.c      connections: accepting one over a byte stream and
 *                      its upcalls, input buffers, deadlines, parsing heads
 *                      and calling the handler, reading on or off, closing
 *   server_body.c      request bodies: read_body, pause, decoding for
 *                      on_data, the end (on_end), discarding
 *   server_exchange.c  exchanges and responses: the response head (Date,
 *                      framing, Connection), writing it and the body in
 *                      wire order, error responses, completion, the
 *                      wasio_http_respond* API (its checks, for both
 *                      transports)
 *   server_host.c      the HOST transport (wasio/http.h): the server bound
 *                      to the host's incoming-handler, one exchange per
 *                      request the host hands in, its body and response
 *                      over the host's streams (src/core/http_serve.h)
 *
 * Implementation notes
 * - Layers: listener -> connection (buffering, parsing, ordering,
 *   timeouts) -> byte stream (src/stream/stream.h: plain TCP, or TLS when
 *   opts.tls is set; the connection does not know which). Parsing and
 *   serialising are the sans-I/O codec's (wasio/http_codec.h).
 * - Input buffers exist only while bytes must wait (src/http/input.h, the
 *   client's policy too). Reads land in the server's one landing buffer
 *   (WASIO__SRV_IN_CAP) whenever the connection has nothing buffered; heads
 *   are parsed there in place, the request views handed to the handler
 *   point into it (valid only during the handler call, as http.h promises)
 *   and body bytes are decoded there for on_data. Whatever was not consumed
 *   (a partial head, a request read ahead behind an exchange in flight,
 *   body bytes the handler has not asked for) is spilled into a buffer of
 *   the connection's own, from a small per-server free list
 *   (WASIO__SRV_BUF_POOL_MAX), and the next reads append to it; it goes
 *   back as soon as it is empty (a buffer lent to the stream is taken back
 *   by stopping the read). So an idle keep-alive connection holds no
 *   buffer, and in steady state a request costs no allocation.
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
 * - Re-entrancy: user callbacks may call any API. wasio__srv_conn_process() is guarded
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
#ifndef WASIO_HTTP_SERVER_INTERNAL_H
#define WASIO_HTTP_SERVER_INTERNAL_H

#include <string.h>

#include "internal.h"
#include "stream/stream.h"
#include "http/input.h"

typedef struct wasio__srv_conn wasio__srv_conn_t;

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

/* An exchange's state, one axis each, each changed only through its
 * function in server_exchange.c (wasio__srv_ex_set_*), which checks the
 * move (WASIO_ASSERT) and traces it (WASIO__TRACE).
 *
 * The request body: NONE -> UNREAD -> READING -> ENDED; NONE or UNREAD ->
 * END_QUEUED (read_body found no body to read: on_end(0) from phase 2) ->
 * ENDED; UNREAD -> ENDED (detached, or failed before it was asked for). */
typedef enum srv_req_state {
  REQ_NONE = 0,   /* no request body */
  REQ_UNREAD,     /* a body the handler has not asked for (yet) */
  REQ_READING,    /* read_body called; on_end not yet delivered */
  REQ_END_QUEUED, /* on_end is owed from the connection's deferred request */
  REQ_ENDED       /* on_end delivered (or the body was detached) */
} srv_req_state_t;

/* The response: NONE -> STARTED -> ENDED -> COMPLETE, NONE -> ENDED (a
 * whole response), and any -> COMPLETE when the connection is torn down. */
typedef enum srv_resp_state {
  RESP_NONE = 0, /* no response yet */
  RESP_STARTED,  /* streamed: head built, body writes may follow */
  RESP_ENDED,    /* whole, or respond_end called */
  RESP_COMPLETE  /* on_complete delivered: the exchange is done */
} srv_resp_state_t;

/* The response head: NONE -> PENDING (built) -> SENT (handed to the
 * stream); a streamed head is HELD until its first bytes or the next turn
 * (so both leave in one write), then PENDING. */
typedef enum srv_head_state {
  HEAD_NONE = 0,
  HEAD_HELD,
  HEAD_PENDING,
  HEAD_SENT
} srv_head_state_t;

/* An interim "100 Continue": NONE -> PENDING (read_body of a request that
 * expects it, before any response) -> SENT; PENDING -> NONE when a final
 * response replaces it. */
typedef enum srv_cont_state {
  CONT_NONE = 0,
  CONT_PENDING,
  CONT_SENT
} srv_cont_state_t;

typedef enum srv_resp_mode {
  MODE_LENGTH = 1, /* Content-Length framed (a whole response is one) */
  MODE_CHUNKED,
  MODE_CLOSE,      /* close-delimited: a streamed response to HTTP/1.0 */
  MODE_NOBODY      /* 1xx/204/304, or any response to HEAD */
} srv_resp_mode_t;

/* A connection's state, one axis each, each changed only through its
 * function in server_conn.c (wasio__srv_conn_set_*), which checks the move
 * (WASIO_ASSERT) and traces it (WASIO__TRACE).
 *
 * Its life: ACTIVE -> LAST (parse no further requests: the exchange in
 * flight, if any, is the last) -> LINGER (after the last response: the
 * sending side is shut down and input is read and discarded for at most
 * WASIO__SRV_LINGER_NS) -> CLOSING (the stream's close was called: on_close
 * tears down what is left); ACTIVE or LAST -> CLOSING at once on an error. */
typedef enum srv_conn_life {
  CONN_ACTIVE = 0,
  CONN_LAST,
  CONN_LINGER,
  CONN_CLOSING
} srv_conn_life_t;

/* What its input is expected to be: IDLE (between requests) -> HEAD (part
 * of a head arrived, or the first one is due: the head deadline runs) ->
 * IDLE (a whole head) -> BODY (the request's body bytes come before the
 * next head) -> IDLE. */
typedef enum srv_conn_input {
  INPUT_IDLE = 0,
  INPUT_HEAD,
  INPUT_BODY
} srv_conn_input_t;

/* wasio__srv_conn_process's guard against nesting: IDLE -> RUNNING, and
 * RUNNING -> AGAIN when a callback asks for another round. */
typedef enum srv_conn_process {
  PROCESS_IDLE = 0,
  PROCESS_RUNNING,
  PROCESS_AGAIN
} srv_conn_process_t;

/* The connection's deferred request ("kick"): NONE -> QUEUED -> NONE, or
 * QUEUED -> ORPHANED when the connection is freed while it is queued (its
 * callback then frees the memory). */
typedef enum srv_conn_kick {
  KICK_NONE = 0,
  KICK_QUEUED,
  KICK_ORPHANED
} srv_conn_kick_t;

typedef enum srv_deadline {
  DL_NONE = 0,
  DL_IDLE,   /* keep-alive between requests */
  DL_HEAD,   /* a head must arrive whole in time */
  DL_BODY,   /* silence between request body bytes */
  DL_WRITE,  /* the client does not take the response */
  DL_LINGER  /* lingering close */
} srv_deadline_t;

typedef struct wasio__srv_host wasio__srv_host_t; /* a server's binding to the host */
typedef struct wasio__srv_hreq wasio__srv_hreq_t; /* one request through it */

struct wasio_http_exchange {
  wasio_http_server_t *server;
  /* Its transport: the connection (SOCKET) or the host binding (HOST);
   * exactly one is set. The state axes above are both transports'; the
   * head axis reads SENT through the host once the response-outparam is
   * set. */
  wasio__srv_conn_t *conn;
  wasio__srv_hreq_t *host;
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
  int abort_status;       /* wasio_http_respond_abort's code, for on_complete */
  const wasio_http_trailers_t *trailers_in; /* the request's trailers, during on_end(0) */
  char *trailers_out;     /* SOCKET: the last chunk with the response's trailers (heap) */
  size_t trailers_out_len;
  int write_status;       /* first failed write */
  uint32_t writes_out;    /* stream writes in flight */
  uint32_t head_len;
  uint8_t req_state;      /* srv_req_state_t */
  uint8_t resp_state;     /* srv_resp_state_t */
  uint8_t head_state;     /* srv_head_state_t */
  uint8_t cont_state;     /* srv_cont_state_t */
  uint8_t resp_mode;      /* srv_resp_mode_t, once the head is built */
  uint8_t version_minor;
  /* What the request is (set once, from its head). */
  bool is_head;           /* the request method was HEAD */
  bool keep_alive;        /* the request allows another after it */
  bool expect_continue;
  /* What the response is (set when its head is built). */
  bool internal;          /* an error response of the server's own */
  bool close_after;       /* this response carries "Connection: close" */
  /* What waits for the next flush, besides the head and the interim. */
  bool out_pending;       /* body bytes (out, out_len) */
  bool end_pending;       /* the end of the body (a write is queued even if empty) */
  bool chunk_started;     /* a chunk went out: the next frame starts with CRLF */
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
  wasio_defer_t kick;              /* runs wasio__srv_conn_process from phase 2 */
  wasio_http_exchange_t *ex;       /* the exchange in flight, or NULL */
  wasio_http_parser_t parser;
  wasio_http_body_t body;          /* the request body being decoded */
  wasio_http_trailers_t trailers;  /* its trailer fields (views into the input) */
  wasio_http_exchange_t *body_ex;  /* its exchange; NULL while discarding */
  uint64_t body_bytes;             /* decoded so far (max_body) */
  uint64_t head_since, idle_since, body_since, write_since, linger_since;
  size_t write_mark;               /* stream queue size at write_since */
  uint64_t linger_bytes;
  int close_status;                /* what exchanges get when torn down */
  uint8_t deadline;                /* srv_deadline_t armed on the timer */
  uint8_t life;                    /* srv_conn_life_t */
  uint8_t input;                   /* srv_conn_input_t */
  uint8_t process;                 /* srv_conn_process_t */
  uint8_t kick_state;              /* srv_conn_kick_t */
  bool reading;                    /* the stream's reader is on */
  bool peer_eof;                   /* the client ended its sending side */
  wasio__http_input_t in;          /* its input (http/input.h) */
};

struct wasio_http_server {
  wasio_loop_t *loop;
  wasio_tcp_t *listener;
  wasio__srv_host_t *host;         /* HOST: the binding (server_host.c), once listening */
  bool on_host;                    /* the transport is HOST */
  wasio_tls_config_t *tls;         /* HTTPS when set (the caller's) */
  wasio_http_handler handler;
  void *data;
  size_t max_connections;
  uint64_t max_body, idle_ns, head_ns, body_ns;
  wasio__srv_conn_t *conns;
  size_t n_conns;
  wasio_http_exchange_t *pool;
  size_t pool_len;
  wasio__http_inbufs_t bufs;       /* the landing buffer and the free input buffers */
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

/* server.c: the server */
void wasio__srv_maybe_finish(wasio_http_server_t *s);

/* server_conn.c: connections; the connection's transitions */
void wasio__srv_conn_set_life(wasio__srv_conn_t *c, srv_conn_life_t to);
void wasio__srv_conn_set_input(wasio__srv_conn_t *c, srv_conn_input_t to);
static inline bool wasio__srv_conn_closing(const wasio__srv_conn_t *c) { return c->life == CONN_CLOSING; }
/* No request after the one in flight (LAST and beyond). */
static inline bool wasio__srv_conn_no_more(const wasio__srv_conn_t *c) { return c->life != CONN_ACTIVE; }
/* Parse no further requests (ACTIVE -> LAST; no change beyond). */
static inline void wasio__srv_conn_last(wasio__srv_conn_t *c) {
  if (c->life == CONN_ACTIVE) wasio__srv_conn_set_life(c, CONN_LAST);
}
void wasio__srv_conn_abort(wasio__srv_conn_t *c, int status);
void wasio__srv_conn_process(wasio__srv_conn_t *c);
void wasio__srv_conn_update(wasio__srv_conn_t *c);
void wasio__srv_conn_kick(wasio__srv_conn_t *c);
void wasio__srv_on_connection(wasio_tcp_t *listener, wasio_tcp_t *client, int status);

/* server_body.c: request bodies */
void wasio__srv_conn_detach_body(wasio__srv_conn_t *c, wasio_http_exchange_t *ex);
void wasio__srv_conn_finish_body(wasio__srv_conn_t *c, int status);
bool wasio__srv_conn_pump_body(wasio__srv_conn_t *c);

/* server_host.c: the HOST transport. _bind: wasio_http_server_listen's;
 * _unbind: at shutdown (later requests get 500); _free: with the server.
 * The rest are the wasio_http_* functions' HOST halves, called after the
 * checks both transports share. */
int wasio__srvh_bind(wasio_http_server_t *s);
void wasio__srvh_unbind(wasio_http_server_t *s);
void wasio__srvh_free(wasio_http_server_t *s);
bool wasio__srvh_busy(const wasio_http_server_t *s);
/* The shutdown's timeout: the exchange in flight, if any, is aborted. */
void wasio__srvh_cancel(wasio_http_server_t *s);
bool wasio__srvh_aborted(const wasio_http_exchange_t *ex);
int wasio__srvh_respond(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers, size_t n,
                        bool keep_cl, bool nobody, const void *body, size_t len);
int wasio__srvh_start(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers, size_t n,
                      bool keep_cl, bool nobody, int64_t content_length);
void wasio__srvh_write(wasio_http_exchange_t *ex);
int wasio__srvh_end(wasio_http_exchange_t *ex, const wasio_http_header_t *trailers, size_t n);
void wasio__srvh_abort(wasio_http_exchange_t *ex, int err);
void wasio__srvh_read_body(wasio_http_exchange_t *ex);
void wasio__srvh_pause(wasio_http_exchange_t *ex);

/* server_exchange.c: exchanges and responses; the exchange's transitions */
/* The caller's framing fields against the server's framing (both
 * transports): no Transfer-Encoding, a Content-Length equal to `length`
 * (UINT64_MAX: none known) or a 304's; *keep when the caller's goes out in
 * place of the server's own. Errors as http.h documents for
 * wasio_http_respond(). */
int wasio__srv_check_framing(int status, const wasio_http_header_t *headers, size_t num_headers, uint64_t length,
                             bool *keep);
/* The text of the server's own error responses ("413 Payload Too Large:
 * <wasio's message for err>\n") into buf[0..cap): 0 with *len, or
 * WASIO_ENOBUFS. */
int wasio__srv_error_text(char *buf, size_t cap, int status, int err, size_t *len);
/* 1xx, 204, 304: never a body. */
static inline bool wasio__srv_bodiless_status(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}
/* Whether the exchange's transport is going (connection closing, or the
 * host response aborted): only teardown is left. */
static inline bool wasio__srv_ex_gone(const wasio_http_exchange_t *ex) {
  return ex->host != NULL ? wasio__srvh_aborted(ex) : ex->conn->life == CONN_CLOSING;
}
/* Delivers on_complete once (with the abort's code, if any) and gives the
 * exchange back; the caller then forgets it. */
void wasio__srv_ex_complete(wasio_http_exchange_t *ex, int status);
void wasio__srv_ex_set_req(wasio_http_exchange_t *ex, srv_req_state_t to);
void wasio__srv_ex_set_resp(wasio_http_exchange_t *ex, srv_resp_state_t to);
void wasio__srv_ex_set_head(wasio_http_exchange_t *ex, srv_head_state_t to);
void wasio__srv_ex_set_cont(wasio_http_exchange_t *ex, srv_cont_state_t to);
static inline bool wasio__srv_ex_done(const wasio_http_exchange_t *ex) { return ex->resp_state == RESP_COMPLETE; }
wasio_http_exchange_t *wasio__srv_ex_new(wasio_http_server_t *s, wasio__srv_conn_t *c);
void wasio__srv_ex_release(wasio_http_server_t *s, wasio_http_exchange_t *ex);
void wasio__srv_ex_flush(wasio_http_exchange_t *ex);
void wasio__srv_ex_deliver_end(wasio_http_exchange_t *ex, int status, const wasio_http_trailers_t *trailers);
int wasio__srv_ex_respond_error(wasio_http_exchange_t *ex, int status, int err);
void wasio__srv_ex_check_complete(wasio_http_exchange_t *ex);
int wasio__srv_ex_usable(const wasio_http_exchange_t *ex);

#endif
