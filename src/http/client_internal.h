/* src/http/client_internal.h: what the files of the HTTP/1.1 client of
 * wasio/http.h share: its limits, its objects and the functions they call
 * across files. One subject per file:
 *   client.c           the client: creation, close, what its calls share
 *                      (spare timers, the default TLS config)
 *   client_call.c      calls: the public API, the request head, the
 *                      deferred work, how a call ends
 *   client_pool.c      origins and the pool: queues, dispatch to an idle or
 *                      a new connection, the retry on a fresh one
 *   client_conn.c      connections: the stream's upcalls, input buffers,
 *                      sending a request (head, body, streamed upload),
 *                      idle and close
 *   client_response.c  reading a response: the codec over the input, the
 *                      head, the body, the end of the exchange
 *   client_redirect.c  following redirects (the method rule is the codec's:
 *                      wasio_http_redirect_method)
 *   client_host.c      the HOST transport: calls handed to the host's
 *                      wasi:http/outgoing-handler (src/core/http_host.h),
 *                      their upload, response head, body, trailers and the
 *                      guest's own deadlines; the transport choice
 *
 * Implementation notes
 * - Three objects: a client (the pool) holds origins (scheme, host, port);
 *   an origin holds a FIFO of calls waiting for a connection and a LIFO of
 *   idle connections (the most recently used is the warmest); a connection
 *   (wasio__http_conn_t) carries one call at a time over a byte stream
 *   (src/stream/stream.h: plain TCP, or TLS over it for https://, the
 *   guest's or the host's).
 * - A call is bound to a connection from the moment it gets one (a new one
 *   connecting on its behalf, or an idle one) until its response was read
 *   whole or it failed. A connection goes back to the idle list only when the
 *   response was read whole, both sides allow keep-alive, every request byte
 *   was taken by the stream and nothing follows the response; after any
 *   error it is closed.
 * - Zero copies on the way in (src/http/input.h, the server's policy too):
 *   reads land in the client's one landing buffer (WASIO__HTTP_CONN_BUF)
 *   whenever the connection has nothing buffered; the codec parses the head
 *   in place and the body decoder hands out views of it to on_body. Only
 *   what must wait for the next read (an incomplete head, chunk line or
 *   trailer, or bytes behind a pause) is copied into an input buffer of the
 *   connection's own, from a small per-client free list
 *   (WASIO__HTTP_BUF_POOL_MAX), given back once empty and not lent. So an
 *   idle pooled connection holds no buffer, and the response head
 *   (client->res) is one per client: it is used only inside a read
 *   callback. On the way out a buffer body is written from the caller's
 *   memory; a streamed body is read by body_read into a per-call buffer
 *   that leaves room for the chunk framing around it.
 * - One allocation per call: the struct, the caller's fields, the URL, the
 *   method and room for the request head and its target, sized up front. A
 *   redirect adds its URL and, when the new head does not fit the room, a
 *   head of its own ("GET" for a changed method is a literal); a streamed
 *   upload adds its buffer. Total-timeout timers of ended calls are kept by
 *   the client (WASIO__HTTP_SPARE_TIMERS) for the next calls, so a
 *   steady-state call allocates once.
 * - Timeouts: connect is the stream's connect timeout; first byte and
 *   between bytes are the socket's idle timeout (first_byte while the
 *   request goes out and until the first response byte, between_bytes
 *   after), so no timer is re-armed per read; total is one timer per call.
 *   An idle pooled connection keeps a read pending (a byte or an EOF from the
 *   server means it is unusable) with the pool's idle timeout as its idle
 *   timeout: no timer of its own either.
 * - Re-entrancy: user callbacks run only from the top of a loop callback
 *   (read, write, connect, timer, deferred), never from inside a wasio_http_*
 *   call, and every path re-checks its state after one returns. Calls made
 *   from API functions that must report later (cancel, the first dispatch,
 *   resuming) go through the call's one deferred request, whose work is a
 *   set of bits.
 * - A call stays allocated until on_done has returned; a connection until
 *   its stream's on_close; the client until every call and
 *   connection is gone and its close callback has run.
 * - The HOST transport (client->host) shares everything above the wire:
 *   the call's allocation, its phases, the request head (built for
 *   wasio_http_call_request_head and for its checks), the deferred work,
 *   redirects, the total timeout, cancel and close. It has no origins,
 *   pool or connections: a call goes NEW -> QUEUED (its first dispatch)
 *   -> SENT (handed to the host) -> HEAD -> BODY -> FINISHED, and
 *   client_host.c is its wire (client_internal.h's wasio__call_host_*).
 * - Trailers: a call's own to send are copied at start (send_trailers);
 *   the response's are copied when the body ends (trailers), so that
 *   on_done can read them after the input buffers moved on.
 */
#ifndef WASIO_HTTP_CLIENT_INTERNAL_H
#define WASIO_HTTP_CLIENT_INTERNAL_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "core/http_host.h"
#include "stream/stream.h"
#include "http/input.h"

/* Input buffer of a connection: larger than any head or trailer section the
 * codec accepts (WASIO_HTTP_MAX_HEAD), so an incomplete one always fits, and
 * as large as one socket read of the loop. */
#define WASIO__HTTP_CONN_BUF (WASIO_HTTP_MAX_HEAD + WASIO_READ_BUF_SIZE)

/* Largest request head the client writes (start line + fields). */
#define WASIO__HTTP_MAX_REQUEST_HEAD 32768

/* Bytes body_read may produce per pull. */
#define WASIO__HTTP_UPLOAD_CHUNK 32768

/* Room for a chunk-size line before the data: 16 hex digits + CRLF. */
#define WASIO__HTTP_CHUNK_PREFIX 18

/* "\r\n" after a chunk's data. */
#define WASIO__HTTP_CHUNK_SUFFIX 2

/* Room for the fields the client adds itself (Host, Content-Length or
 * Transfer-Encoding). */
#define WASIO__HTTP_OWN_FIELDS 2

/* Longest decimal uint64 plus NUL. */
#define WASIO__HTTP_DEC_MAX (WASIO_HTTP_U64_DIGITS + 1)

/* Stopped total-timeout timers of ended calls that a client keeps for its
 * next calls, so that steady-state calls allocate no timer. */
#define WASIO__HTTP_SPARE_TIMERS 64

/* Empty input buffers (WASIO__HTTP_CONN_BUF) a client keeps for the next
 * connection that needs one; more are freed. */
#define WASIO__HTTP_BUF_POOL_MAX 8

/* Fields the HOST transport refuses at wasio_http_call_start (the hosts
 * reserve them: wasio/http.h). */
#define WASIO__HTTP_HOST_FORBIDDEN {"host", "connection", "keep-alive", "proxy-connection", "upgrade", "http2-settings"}

#ifdef WASIO__BK_WASI_HTTP
/* A call's wire over the HOST transport (client_host.c). */
typedef struct wasio__call_host {
  wasio__bk_http_request_t req;   /* until the response head */
  wasio__bk_http_body_out_t out;  /* the request body, until finished */
  wasio__bk_http_body_in_t in;    /* the response body, then its trailers */
  const uint8_t *piece;           /* upload bytes being handed to the host */
  size_t piece_len, piece_off;
  bool finishing;                 /* every body byte was taken: finish runs */
  bool wants_out, wants_in;       /* watching for room, for bytes */
  uint64_t last_active;           /* loop time of the last byte in or out */
  wasio_timer_t *timer;           /* the guest's first-byte / between-bytes deadline */
} wasio__call_host_t;
#endif

typedef struct wasio__hq {
  struct wasio__hq *next, *prev;
} wasio__hq_t;

static inline void wasio__hq_init(wasio__hq_t *q) { q->next = q->prev = q; }

static inline bool wasio__hq_empty(const wasio__hq_t *q) { return q->next == q; }

static inline void wasio__hq_insert_tail(wasio__hq_t *q, wasio__hq_t *n) {
  n->prev = q->prev;
  n->next = q;
  q->prev->next = n;
  q->prev = n;
}

static inline void wasio__hq_insert_head(wasio__hq_t *q, wasio__hq_t *n) {
  n->next = q->next;
  n->prev = q;
  q->next->prev = n;
  q->next = n;
}

static inline void wasio__hq_remove(wasio__hq_t *n) {
  if (n->next == NULL || n->next == n) return;
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}

typedef struct wasio__http_origin {
  wasio__hq_t node;   /* in client->origins */
  wasio__hq_t queue;  /* calls waiting for a connection, FIFO */
  wasio__hq_t idle;   /* idle connections, most recently used first */
  size_t open;        /* connections connecting, busy, draining or idle */
  size_t idle_count;
  bool dispatching;   /* dispatch is running: nested calls return, no free */
  bool https;
  uint16_t port;
  size_t host_len;
  char host[WASIO_URL_MAX_HOST + 1];
} wasio__http_origin_t;

typedef enum wasio__conn_state {
  WASIO__CONN_CONNECTING = 1,
  WASIO__CONN_BUSY,      /* carries a call */
  WASIO__CONN_DRAINING,  /* response done, waiting for write callbacks, then idle */
  WASIO__CONN_IDLE,
  WASIO__CONN_CLOSING
} wasio__conn_state_t;

typedef struct wasio__http_conn {
  wasio__stream_t s;            /* the byte stream; its upcalls find the conn */
  wasio_http_client_t *client;
  wasio__http_origin_t *origin; /* NULL once closing */
  wasio__hq_t client_node;      /* in client->conns while open */
  wasio__hq_t idle_node;        /* in origin->idle while idle */
  wasio_http_call_t *call;      /* while BUSY or CONNECTING on a call's behalf */
  uint8_t state;
  bool reused;                  /* carried a whole response before */
  bool write_failed;            /* a write of the current request failed */
  int writes_pending;
  wasio_write_t w_head, w_body;
  wasio__http_input_t in;       /* its input (http/input.h) */
} wasio__http_conn_t;

/* A call's state, one axis each, each changed only through its function
 * in client_call.c (wasio__call_set_*), which checks the move
 * (WASIO_ASSERT) and traces it (WASIO__TRACE).
 *
 * Its phase: NEW -> QUEUED -> CONNECTING -> SENT -> HEAD -> BODY, QUEUED ->
 * SENT (an idle connection), CONNECTING -> QUEUED (the connection could not
 * be opened: the call waits for the next), SENT or HEAD -> QUEUED (the
 * retry on a fresh connection), BODY -> QUEUED (a redirect followed); any
 * of these -> FINISHED (detached: on_done is owed or running) -> DONE
 * (on_done returned: only the memory is left, freed once the deferred
 * request no longer uses it). */
typedef enum wasio__call_phase {
  WASIO__CALL_NEW = 0,
  WASIO__CALL_QUEUED,      /* waiting for a connection (or its first dispatch) */
  WASIO__CALL_CONNECTING,  /* bound to a connection that is connecting */
  WASIO__CALL_SENT,        /* the request goes out; no response byte yet */
  WASIO__CALL_HEAD,        /* reading the response head */
  WASIO__CALL_BODY,        /* reading the response body */
  WASIO__CALL_FINISHED,    /* on_done is pending or running */
  WASIO__CALL_DONE         /* on_done returned */
} wasio__call_phase_t;

/* A streamed upload (body_read): PULL (ask body_read for more) -> WAIT
 * (it said WASIO_EAGAIN: until wasio_http_call_resume_upload) -> PULL;
 * PULL -> WRITE (a piece in flight) -> PULL when it was taken; PULL ->
 * WRITE_LAST (the last piece, or the last chunk, in flight) -> DONE; PULL
 * -> DONE (nothing more to write). A buffer body or none is DONE once
 * queued. The connection is reusable only after DONE. Over the HOST
 * transport WRITE -> DONE too: the host refused the rest of the body, which
 * is abandoned (client_host.c, wasio__host_upload_failed). */
typedef enum wasio__upload {
  WASIO__UPLOAD_PULL = 0,
  WASIO__UPLOAD_WAIT,
  WASIO__UPLOAD_WRITE,
  WASIO__UPLOAD_WRITE_LAST,
  WASIO__UPLOAD_DONE
} wasio__upload_t;

/* Work of the call's deferred request. */
#define WASIO__WORK_DISPATCH 0x1u  /* find a connection for a queued call */
#define WASIO__WORK_INPUT 0x2u     /* process buffered input (after resume) */
#define WASIO__WORK_UPLOAD 0x4u    /* pull the streamed body */
#define WASIO__WORK_DONE 0x8u      /* deliver on_done(final_status) */

struct wasio_http_call {
  wasio_http_client_t *client;
  wasio__http_origin_t *origin;   /* while QUEUED: the origin whose queue holds it */
  wasio__http_conn_t *conn;
  wasio__hq_t client_node;        /* in client->calls until on_done */
  wasio__hq_t queue_node;         /* in origin->queue while QUEUED */
  uint8_t phase;                  /* wasio__call_phase_t */
  uint8_t upload;                 /* wasio__upload_t */
  unsigned work;                  /* WASIO__WORK_* queued on `defer` */
  /* The deferred request: queued, and (independently: it may queue itself
   * again) its callback running. */
  bool defer_queued;
  bool in_defer;
  bool paused;                    /* wasio_http_call_pause */
  bool retried;                   /* sent again once on a fresh connection */
  bool conn_close;                /* the caller's Connection: close */
  bool head_method;               /* the current method is HEAD */
  bool in_on_done;                /* on_done is running (wasio_http_call_trailers) */
  bool res_chunked;               /* the response body is chunked (its trailers are kept) */
  int end_pending;                /* resumed on a stream that had ended: its status */
  int final_status;
  int redirects, max_redirects;
  /* The request. The call's one allocation holds the struct, then the
   * caller's fields, the URL, the method and room for the request head
   * (see wasio_http_call_start); only a redirect adds memory of its own. */
  const char *method;             /* NUL-terminated: the copy, or "GET" after a redirect */
  char *url;                      /* NUL-terminated copy of the current URL */
  bool url_owned;                 /* url is a redirect's allocation, not the copy */
  wasio_url_t u;                  /* views into `url` */
  wasio_http_header_t *headers;   /* the caller's fields, copied */
  size_t num_headers;
  bool caller_host;               /* the caller sent Host (first request only) */
  char *head;                     /* the serialised request head (target behind it) */
  size_t head_len;
  wasio_http_str_t target;        /* the request-target written behind the head */
  char *head_room;                /* the room for it in the call's allocation */
  size_t head_room_len;
  const void *body;
  size_t body_len;
  wasio_http_body_read_cb body_read;
  int64_t body_length;
  /* Streamed upload state. */
  uint8_t *up_buf;                /* prefix + chunk + suffix */
  uint64_t up_sent;
  bool up_pulled;                 /* body_read was called (the request cannot be repeated) */
  /* Trailers: the caller's to send (one allocation with their bytes), and
   * the response's (kept when its body ended, one allocation). */
  wasio_http_header_t *send_trailers;
  size_t num_send_trailers;
  wasio_http_header_t *trailers;
  size_t num_trailers;
  /* The response. */
  wasio_http_parser_t parser;
  wasio_http_body_t body_dec;
  bool res_keep_alive, res_close_delimited;
  char *next_url;                 /* redirect target while its body is discarded */
  int next_status;
  /* Time. */
  wasio_http_timeouts_t to;
  wasio_timer_t *timer;           /* the total deadline, if any */
  wasio_defer_t defer;
  /* The caller's. */
  void *data;
  void (*on_response)(wasio_http_call_t *, const wasio_http_response_t *);
  void (*on_body)(wasio_http_call_t *, const void *, size_t);
  void (*on_done)(wasio_http_call_t *, int);
#ifdef WASIO__BK_WASI_HTTP
  wasio__call_host_t host;        /* the HOST transport's wire */
#endif
};

struct wasio_http_client {
  wasio_loop_t *loop;
  size_t max_conns, max_idle;
  uint64_t idle_timeout;
  wasio_http_timeouts_t to;
  wasio__hq_t calls, conns, origins;
  size_t num_origins, calls_live, conns_live;
  bool closing, close_defer_queued;
  void (*close_cb)(wasio_http_client_t *);
  wasio_defer_t close_defer;
  /* https: the caller's config, or one the client made on first use (with
   * the built-in roots and ALPN http/1.1) and frees at close. */
  wasio_tls_config_t *tls;
  bool host_tls; /* https:// through the host's wasi:tls (opts.tls_backend) */
  bool host;     /* the HOST transport: calls go to wasi:http (client_host.c) */
  bool tls_owned;
  /* Stopped timers for the next calls' total timeouts (closed at close). */
  wasio_timer_t *spare_timers[WASIO__HTTP_SPARE_TIMERS];
  size_t num_spare_timers;
  wasio__http_inbufs_t bufs;    /* the landing buffer and the free input buffers */
  wasio_http_response_t res;    /* the head being parsed (inside a read callback only) */
  wasio_http_trailers_t res_trailers; /* a chunked body's, until copied to its call */
};

static inline uint64_t wasio__pick(uint64_t call_value, uint64_t client_value) {
  return call_value != 0 ? call_value : client_value;
}

/* client.c: the client */
int wasio__client_tls_config(wasio_http_client_t *client, wasio_tls_config_t **out);
int wasio__client_timer_get(wasio_http_client_t *client, wasio_timer_t **out);
void wasio__client_timer_put(wasio_http_client_t *client, wasio_timer_t *timer);
void wasio__client_maybe_free(wasio_http_client_t *client);

/* client_call.c: calls; their transitions */
void wasio__call_set_phase(wasio_http_call_t *call, wasio__call_phase_t to);
void wasio__call_set_upload(wasio_http_call_t *call, wasio__upload_t to);
/* Detached or done: nothing more happens to it but on_done and its memory. */
static inline bool wasio__call_ended(const wasio_http_call_t *call) { return call->phase >= WASIO__CALL_FINISHED; }
void wasio__call_schedule(wasio_http_call_t *call, unsigned work);
int wasio__call_build_head(wasio_http_call_t *call);
size_t wasio__call_fields(wasio_http_call_t *call, wasio_http_header_t *fields, char *dec, bool wire);
int wasio__call_keep_trailers(wasio_http_call_t *call, const wasio_http_header_t *fields, size_t n);
void wasio__call_detach(wasio_http_call_t *call);
void wasio__call_finish(wasio_http_call_t *call, int status);
void wasio__call_fail(wasio_http_call_t *call, int status);
void wasio__call_end_later(wasio_http_call_t *call, int status);

/* client_pool.c: origins and the pool */
void wasio__origin_maybe_free(wasio_http_client_t *client, wasio__http_origin_t *o);
void wasio__origin_dispatch(wasio__http_origin_t *o, wasio_http_client_t *client);
int wasio__call_enqueue(wasio_http_call_t *call, bool front);
bool wasio__call_retry(wasio_http_call_t *call);

/* client_conn.c: connections */
void wasio__conn_close(wasio__http_conn_t *conn);
void wasio__conn_release(wasio__http_conn_t *conn, bool reusable);
void wasio__call_send(wasio_http_call_t *call);
void wasio__call_upload(wasio_http_call_t *call);
int wasio__conn_open(wasio_http_client_t *client, wasio__http_origin_t *o, wasio_http_call_t *call);
void wasio__conn_on_read(wasio__stream_t *s, ptrdiff_t nread);
void wasio__conn_process(wasio__http_conn_t *conn);

/* client_response.c: responses */
void wasio__call_complete(wasio_http_call_t *call);
void wasio__conn_run(wasio__http_conn_t *conn);

/* client_host.c: the HOST transport (every function a no-op or
 * WASIO_ENOTSUP in a build without it) */
int wasio__client_transport(const wasio_http_client_opts_t *opts, bool *host);
void wasio__call_host_send(wasio_http_call_t *call);
void wasio__call_host_upload(wasio_http_call_t *call);
void wasio__call_host_input(wasio_http_call_t *call);
void wasio__call_host_pause(wasio_http_call_t *call, bool pause);
void wasio__call_host_release(wasio_http_call_t *call);

/* client_redirect.c: redirects */
int wasio__call_redirect_check(wasio_http_call_t *call, const wasio_http_response_t *res);
void wasio__call_follow(wasio_http_call_t *call);

#endif
