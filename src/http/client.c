/* src/http/client.c: the HTTP/1.1 client of wasio/http.h.
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
 * - Zero copies on the way in: a read lands in the client's one landing
 *   buffer (WASIO__HTTP_CONN_BUF) whenever its connection has nothing
 *   buffered; the codec parses the head in place and the body decoder hands
 *   out views of it to on_body. Only what must wait for the next read (an
 *   incomplete head, chunk line or trailer, or bytes behind a pause) is
 *   copied, before the read callback returns, into an input buffer of the
 *   connection's own, taken from a small per-client free list
 *   (WASIO__HTTP_BUF_POOL_MAX) and given back once empty. So an idle pooled
 *   connection holds no buffer, and the response head (client->res) is
 *   one per client: it is used only inside a read callback. The wasip2
 *   backend keeps the last buffer alloc handed out when a read came back
 *   empty and reads into it later (until reading stops), so an own buffer
 *   that was handed out ("lent") is rewound or given back only after a read
 *   returned into it or reading stopped. On the way out a buffer body is written
 *   from the caller's memory; a streamed body is read by body_read into a
 *   per-call buffer that leaves room for the chunk framing around it.
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
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"
#include "stream/stream.h"

/* ---- limits ------------------------------------------------------------------ */

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
#define WASIO__HTTP_DEC_MAX 21
/* Stopped total-timeout timers of ended calls that a client keeps for its
 * next calls, so that steady-state calls allocate no timer. */
#define WASIO__HTTP_SPARE_TIMERS 64
/* Empty input buffers (WASIO__HTTP_CONN_BUF) a client keeps for the next
 * connection that needs one; more are freed. */
#define WASIO__HTTP_BUF_POOL_MAX 8

static const char wasio__http_last_chunk[] = "0\r\n\r\n";

/* ---- intrusive lists (circular, with a sentinel) ------------------------------ */

typedef struct wasio__hq {
  struct wasio__hq *next, *prev;
} wasio__hq_t;

static void wasio__hq_init(wasio__hq_t *q) { q->next = q->prev = q; }
static bool wasio__hq_empty(const wasio__hq_t *q) { return q->next == q; }
static void wasio__hq_insert_tail(wasio__hq_t *q, wasio__hq_t *n) {
  n->prev = q->prev;
  n->next = q;
  q->prev->next = n;
  q->prev = n;
}
static void wasio__hq_insert_head(wasio__hq_t *q, wasio__hq_t *n) {
  n->next = q->next;
  n->prev = q;
  q->next->prev = n;
  q->next = n;
}
static void wasio__hq_remove(wasio__hq_t *n) {
  if (n->next == NULL || n->next == n) return;
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->next = n->prev = n;
}

/* ---- objects ---------------------------------------------------------------- */

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
  bool in_landing;              /* the last read space was the landing buffer */
  bool lent;                    /* buf was handed out for a read not yet back */
  char *buf;                    /* own input buffer (WASIO__HTTP_CONN_BUF), or NULL */
  char *in;                     /* the input: buf, or the client's landing buffer
                                   while a read callback consumes it; may be NULL */
  size_t in_start, in_len;      /* unconsumed input: in[in_start..in_len) */
} wasio__http_conn_t;

typedef enum wasio__call_phase {
  WASIO__CALL_QUEUED = 1,  /* waiting for a connection (or its first dispatch) */
  WASIO__CALL_CONNECTING,  /* bound to a connection that is connecting */
  WASIO__CALL_HEAD,        /* request going out, reading the response head */
  WASIO__CALL_BODY,        /* reading the response body */
  WASIO__CALL_FINISHED     /* on_done is pending or running */
} wasio__call_phase_t;

/* Work of the call's deferred request. */
#define WASIO__WORK_DISPATCH 0x1u  /* find a connection for a queued call */
#define WASIO__WORK_INPUT 0x2u     /* process buffered input (after resume) */
#define WASIO__WORK_UPLOAD 0x4u    /* pull the streamed body */
#define WASIO__WORK_DONE 0x8u      /* deliver on_done(final_status) */
#define WASIO__WORK_FREE 0x10u     /* on_done ran while the request was queued: free */

struct wasio_http_call {
  wasio_http_client_t *client;
  wasio__http_origin_t *origin;   /* while QUEUED: the origin whose queue holds it */
  wasio__http_conn_t *conn;
  wasio__hq_t client_node;        /* in client->calls until on_done */
  wasio__hq_t queue_node;         /* in origin->queue while QUEUED */
  uint8_t phase;
  unsigned work;                  /* WASIO__WORK_* queued on `defer` */
  bool defer_queued;
  bool in_defer;                  /* the deferred callback runs: do not free */
  bool paused, got_byte, retried, discard, conn_close, head_method;
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
  char *head_room;                /* the room for it in the call's allocation */
  size_t head_room_len;
  const void *body;
  size_t body_len;
  wasio_http_body_read_cb body_read;
  int64_t body_length;
  /* Streamed upload state. */
  uint8_t *up_buf;                /* prefix + chunk + suffix */
  uint64_t up_sent;
  bool up_pulled, up_done, up_waiting, up_writing;
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
  bool tls_owned;
  /* Stopped timers for the next calls' total timeouts (closed at close). */
  wasio_timer_t *spare_timers[WASIO__HTTP_SPARE_TIMERS];
  size_t num_spare_timers;
  char *landing;                /* where reads land (WASIO__HTTP_CONN_BUF) */
  char *bufs;                   /* free input buffers, linked through their first bytes */
  size_t bufs_len;
  wasio_http_response_t res;    /* the head being parsed (inside a read callback only) */
};

static void wasio__call_fail(wasio_http_call_t *call, int status);
static void wasio__call_finish(wasio_http_call_t *call, int status);
static void wasio__origin_dispatch(wasio__http_origin_t *o, wasio_http_client_t *client);
static void wasio__conn_close(wasio__http_conn_t *conn);
static void wasio__conn_process(wasio__http_conn_t *conn);
static void wasio__conn_input_done(wasio__http_conn_t *conn);
static void wasio__call_upload(wasio_http_call_t *call);
static void wasio__client_maybe_free(wasio_http_client_t *client);
static void wasio__conn_on_open(wasio__stream_t *s, int status);
static void wasio__conn_alloc(wasio__stream_t *s, wasio_buf_t *buf);
static void wasio__conn_on_read(wasio__stream_t *s, ptrdiff_t nread);
static void wasio__conn_on_close(wasio__stream_t *s);

/* The stream's upcalls (the client never shuts a stream down: it closes). */
static const wasio__stream_cbs_t wasio__conn_stream_cbs = {
    .on_open = wasio__conn_on_open,
    .alloc = wasio__conn_alloc,
    .on_read = wasio__conn_on_read,
    .on_shutdown = NULL,
    .on_close = wasio__conn_on_close,
};

static wasio__http_conn_t *wasio__conn_of(wasio__stream_t *s) {
  return WASIO__CONTAINER_OF(s, wasio__http_conn_t, s);
}

static uint64_t wasio__pick(uint64_t call_value, uint64_t client_value) {
  return call_value != 0 ? call_value : client_value;
}

/* ---- deferred work -------------------------------------------------------------- */

static void wasio__call_defer_cb(wasio_defer_t *req, int status);

static void wasio__call_schedule(wasio_http_call_t *call, unsigned work) {
  call->work |= work;
  if (call->defer_queued) return;
  call->defer.data = call;
  /* Cannot fail: the request is ours and not queued. */
  if (wasio_defer(call->client->loop, &call->defer, wasio__call_defer_cb) == 0)
    call->defer_queued = true;
}

/* ---- origins ---------------------------------------------------------------------- */

static wasio__http_origin_t *wasio__origin_find(wasio_http_client_t *client, const wasio_url_t *u) {
  for (wasio__hq_t *n = client->origins.next; n != &client->origins; n = n->next) {
    wasio__http_origin_t *o = WASIO__CONTAINER_OF(n, wasio__http_origin_t, node);
    if (o->https == u->https && o->port == u->port && o->host_len == u->host.len &&
        memcmp(o->host, u->host.ptr, u->host.len) == 0)
      return o;
  }
  return NULL;
}

/* The origin of `u`, created if needed. Host names are compared as written
 * (the URL parser keeps case; DNS names are case-insensitive, so "A" and "a"
 * merely get separate pools). */
static int wasio__origin_get(wasio_http_client_t *client, const wasio_url_t *u,
                             wasio__http_origin_t **out) {
  wasio__http_origin_t *o = wasio__origin_find(client, u);
  if (o == NULL) {
    if (client->num_origins >= WASIO_HTTP_MAX_ORIGINS) return WASIO_ELIMIT;
    if (u->host.len > WASIO_URL_MAX_HOST) return WASIO_EURL_HOST;
    o = wasio__calloc(1, sizeof *o);
    if (o == NULL) return WASIO_ENOMEM;
    wasio__hq_init(&o->queue);
    wasio__hq_init(&o->idle);
    o->https = u->https;
    o->port = u->port;
    o->host_len = u->host.len;
    memcpy(o->host, u->host.ptr, u->host.len);
    o->host[u->host.len] = 0;
    wasio__hq_insert_tail(&client->origins, &o->node);
    client->num_origins++;
  }
  *out = o;
  return 0;
}

static void wasio__origin_maybe_free(wasio_http_client_t *client, wasio__http_origin_t *o) {
  if (o->dispatching || o->open != 0 || !wasio__hq_empty(&o->queue)) return;
  wasio__hq_remove(&o->node);
  client->num_origins--;
  wasio__free(o);
}

/* ---- input buffers ---------------------------------------------------------------- */

static char *wasio__buf_take(wasio_http_client_t *client) {
  char *b = client->bufs;
  if (b == NULL) return wasio__malloc(WASIO__HTTP_CONN_BUF);
  memcpy(&client->bufs, b, sizeof client->bufs);
  client->bufs_len--;
  return b;
}

static void wasio__buf_give(wasio_http_client_t *client, char *b) {
  if (client->bufs_len < WASIO__HTTP_BUF_POOL_MAX && !client->closing) {
    memcpy(b, &client->bufs, sizeof client->bufs);
    client->bufs = b;
    client->bufs_len++;
  } else {
    wasio__free(b);
  }
}

/* Gives the connection's own buffer back (nothing in it may be needed). */
static void wasio__conn_buf_drop(wasio__http_conn_t *conn) {
  if (conn->buf != NULL) wasio__buf_give(conn->client, conn->buf);
  conn->buf = conn->in = NULL;
  conn->in_start = conn->in_len = 0;
  conn->lent = false;
}

/* ---- connections ------------------------------------------------------------------ */

static void wasio__conn_write_cb(wasio_write_t *req, int status);

/* Closes the connection (never reused again); it is freed in on_close. */
static void wasio__conn_close(wasio__http_conn_t *conn) {
  if (conn->state == WASIO__CONN_CLOSING) return;
  wasio_http_client_t *client = conn->client;
  wasio__http_origin_t *o = conn->origin;
  if (conn->state == WASIO__CONN_IDLE) {
    wasio__hq_remove(&conn->idle_node);
    o->idle_count--;
  }
  conn->state = WASIO__CONN_CLOSING;
  conn->call = NULL;
  conn->origin = NULL;
  wasio__hq_remove(&conn->client_node);
  if (o != NULL) o->open--;
  if (wasio__stream_started(&conn->s)) {
    wasio__stream_close(&conn->s, false);
  } else {
    /* The stream never started: nothing to wait for. */
    client->conns_live--;
    wasio__free(conn);
  }
  /* A slot opened up: a queued call of the origin may connect now. */
  if (o != NULL && !client->closing) wasio__origin_dispatch(o, client);
  else if (o != NULL) wasio__origin_maybe_free(client, o);
}

static void wasio__conn_on_close(wasio__stream_t *s) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  wasio_http_client_t *client = conn->client;
  client->conns_live--;
  wasio__conn_buf_drop(conn); /* the stream is closed: nothing is lent */
  wasio__free(conn);
  wasio__client_maybe_free(client);
}

/* The connection is free: keep it for the next call of its origin, or
 * close it when the pool is full or the client is closing. */
static void wasio__conn_to_idle(wasio__http_conn_t *conn) {
  wasio_http_client_t *client = conn->client;
  wasio__http_origin_t *o = conn->origin;
  if (client->closing || o->idle_count >= client->max_idle) {
    wasio__conn_close(conn);
    return;
  }
  conn->state = WASIO__CONN_IDLE;
  conn->call = NULL;
  /* Idle holds no buffer: a lent one is taken back by stopping the read,
   * which starts again below (an idle read lands in the landing buffer). */
  if (conn->lent) wasio__stream_read_stop(&conn->s);
  wasio__conn_buf_drop(conn);
  wasio__hq_insert_head(&o->idle, &conn->idle_node);
  o->idle_count++;
  /* Keep reading: a byte or an EOF while idle marks it unusable at once,
   * and the idle timeout of the socket retires it. */
  wasio__stream_set_idle(&conn->s, client->idle_timeout);
  if (wasio__stream_read_start(&conn->s) != 0) {
    wasio__conn_close(conn);
    return;
  }
  wasio__origin_dispatch(o, client);
}

/* Detaches the call; the connection goes back to the pool if `reusable`. */
static void wasio__conn_release(wasio__http_conn_t *conn, bool reusable) {
  conn->call = NULL;
  if (!reusable) {
    wasio__conn_close(conn);
  } else if (conn->writes_pending > 0) {
    conn->state = WASIO__CONN_DRAINING; /* idle after the last write callback */
  } else {
    wasio__conn_to_idle(conn);
  }
}

static void wasio__conn_alloc(wasio__stream_t *s, wasio_buf_t *buf) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  /* The stream asks again, so it holds no earlier space of ours. */
  conn->lent = false;
  if (conn->buf != NULL && conn->in == conn->buf && conn->in_start != conn->in_len) {
    if (conn->in_len == WASIO__HTTP_CONN_BUF && conn->in_start > 0) {
      /* Keep only the unconsumed tail (an incomplete head, chunk line or
       * trailer); the codec re-reads it from its new place. */
      memmove(conn->buf, conn->buf + conn->in_start, conn->in_len - conn->in_start);
      conn->in_len -= conn->in_start;
      conn->in_start = 0;
    }
    conn->in_landing = false;
    buf->base = conn->buf + conn->in_len;
    buf->len = WASIO__HTTP_CONN_BUF - conn->in_len;
    conn->lent = buf->len > 0;
    return;
  }
  conn->in_landing = true;
  buf->base = conn->client->landing;
  buf->len = WASIO__HTTP_CONN_BUF;
}

/* ---- requests ------------------------------------------------------------------- */

/* Room for the first request head and its target (wasio__call_build_head)
 * from the call's inputs alone, so that it fits in the call's allocation: an
 * upper bound, since Host's value is part of the URL and a Content-Length
 * value has at most WASIO__HTTP_DEC_MAX - 1 digits. */
static size_t wasio__head_room_len(size_t method_len, size_t url_len, size_t field_bytes, size_t num_fields) {
  size_t fields = (sizeof "Host" - 1 + url_len + 4) + field_bytes + 4 * num_fields +
                  (sizeof "Content-Length" - 1 + WASIO__HTTP_DEC_MAX - 1 + 4);
  return fields + method_len + url_len + 1 + 16 + 2 + url_len + 2;
}

/* Serialises the request head of the call's current URL, method and body
 * into the head room of the call's allocation, or into an allocation of its
 * own when it does not fit there (a redirect to a longer URL). The previous
 * head is no longer in use: the connection that wrote it was released.
 * Validation errors (a field that would inject) come from the codec's
 * writer. */
static int wasio__call_build_head(wasio_http_call_t *call) {
  wasio_http_header_t fields[WASIO_HTTP_MAX_REQUEST_HEADERS + WASIO__HTTP_OWN_FIELDS];
  size_t n = 0, est = 0;
  char dec[WASIO__HTTP_DEC_MAX];
  if (!call->caller_host) fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Host"), call->u.authority};
  for (size_t i = 0; i < call->num_headers; i++) fields[n++] = call->headers[i];
  bool has_body = call->body != NULL || call->body_len > 0 || call->body_read != NULL;
  if (call->body_read != NULL && call->body_length < 0) {
    fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Transfer-Encoding"), WASIO_HTTP_STR("chunked")};
  } else {
    uint64_t len = call->body_read != NULL ? (uint64_t)call->body_length : call->body_len;
    /* RFC 9110 section 8.6: send a length when the method gives content a
     * meaning, even 0, so the server need not wait for a body. */
    bool wants = has_body || strcmp(call->method, "POST") == 0 || strcmp(call->method, "PUT") == 0 ||
                 strcmp(call->method, "PATCH") == 0;
    if (wants) {
      int k = WASIO__HTTP_DEC_MAX - 1;
      dec[k] = 0;
      do {
        dec[--k] = (char)('0' + len % 10);
        len /= 10;
      } while (len != 0);
      fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Content-Length"),
                                          {dec + k, (size_t)(WASIO__HTTP_DEC_MAX - 1 - k)}};
    }
  }
  for (size_t i = 0; i < n; i++) est += fields[i].name.len + fields[i].value.len + 4;
  size_t url_len = strlen(call->url);
  est += strlen(call->method) + url_len + 1 + 16 + 2;
  if (est > WASIO__HTTP_MAX_REQUEST_HEAD) return WASIO_ELIMIT;
  /* The target is written behind the head. */
  char *buf = call->head_room;
  if (est + url_len + 2 > call->head_room_len) {
    buf = wasio__malloc(est + url_len + 2);
    if (buf == NULL) return WASIO_ENOMEM;
  }
  char *target = buf + est;
  int tl = wasio_url_target(&call->u, target, url_len + 2);
  wasio_http_str_t method = {call->method, strlen(call->method)};
  int rc = tl < 0 ? tl
                  : wasio_http_write_request_head(buf, est, method, (wasio_http_str_t){target, (size_t)tl}, 1,
                                                  fields, n);
  if (rc < 0) {
    if (buf != call->head_room) wasio__free(buf);
    if (rc == WASIO_EHTTP_BAD_METHOD) return WASIO_EINVAL;
    if (rc == WASIO_ENOBUFS && tl >= 0) return WASIO_ELIMIT;
    return rc;
  }
  if (call->head != call->head_room) wasio__free(call->head);
  call->head = buf;
  call->head_len = (size_t)rc;
  return 0;
}

/* Puts the call on its connection's wire: the head, then the body. */
static void wasio__call_send(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  wasio_http_client_t *client = call->client;
  call->phase = WASIO__CALL_HEAD;
  call->head_method = strcmp(call->method, "HEAD") == 0;
  conn->write_failed = false;
  call->got_byte = false;
  call->discard = false;
  call->up_sent = 0;
  call->up_pulled = call->up_done = call->up_waiting = call->up_writing = false;
  wasio_http_parser_init(&call->parser);
  conn->state = WASIO__CONN_BUSY;
  /* A fresh or idle connection: it holds no buffer (wasio__conn_to_idle). */
  /* The first-byte timeout is the socket's idle timeout while the request
   * goes out and the answer is awaited (a stalled upload counts too). */
  wasio__stream_set_idle(&conn->s, wasio__pick(call->to.first_byte_ns, client->to.first_byte_ns));
  int rc = 0;
  if (call->paused) {
    wasio__stream_read_stop(&conn->s);
    conn->lent = false;
  } else {
    rc = wasio__stream_read_start(&conn->s);
  }
  conn->w_head.data = conn;
  if (rc == 0) rc = wasio__stream_write(&conn->s, &conn->w_head, call->head, call->head_len,
                                                wasio__conn_write_cb);
  if (rc == 0) {
    conn->writes_pending++;
    if (call->body_read != NULL) {
      wasio__call_schedule(call, WASIO__WORK_UPLOAD);
    } else if (call->body_len > 0) {
      conn->w_body.data = conn;
      rc = wasio__stream_write(&conn->s, &conn->w_body, call->body, call->body_len,
                                       wasio__conn_write_cb);
      if (rc == 0) conn->writes_pending++;
      call->up_done = true;
    } else {
      call->up_done = true;
    }
  }
  if (rc != 0) {
    /* Reported from the deferred request: we may be inside an API call. */
    wasio__conn_release(conn, false);
    call->conn = NULL;
    call->phase = WASIO__CALL_FINISHED;
    call->final_status = rc;
    wasio__call_schedule(call, WASIO__WORK_DONE);
  }
}

static void wasio__conn_write_cb(wasio_write_t *req, int status) {
  wasio__http_conn_t *conn = req->data;
  conn->writes_pending--;
  if (conn->state == WASIO__CONN_CLOSING) return;
  if (status != 0) {
    conn->write_failed = true;
    /* The read side reports most failures; a write error without one
     * (e.g. EPIPE while the server still answers) ends the call only if
     * the response has not come yet. */
    wasio_http_call_t *call = conn->call;
    if (call != NULL && call->phase == WASIO__CALL_HEAD && !call->got_byte) wasio__call_fail(call, status);
    else if (call == NULL) wasio__conn_close(conn);
    return;
  }
  if (conn->state == WASIO__CONN_DRAINING) {
    if (conn->writes_pending == 0) wasio__conn_to_idle(conn);
    return;
  }
  wasio_http_call_t *call = conn->call;
  if (call != NULL && req == &conn->w_body && call->body_read != NULL) {
    call->up_writing = false;
    wasio__call_upload(call);
  }
}

/* Pulls the next piece of a streamed body and writes it (one at a time). */
static void wasio__call_upload(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  if (conn == NULL || call->up_done || call->up_writing || call->up_waiting ||
      call->phase == WASIO__CALL_FINISHED)
    return;
  if (call->up_buf == NULL) {
    call->up_buf = wasio__malloc(WASIO__HTTP_CHUNK_PREFIX + WASIO__HTTP_UPLOAD_CHUNK + WASIO__HTTP_CHUNK_SUFFIX);
    if (call->up_buf == NULL) {
      wasio__call_fail(call, WASIO_ENOMEM);
      return;
    }
  }
  bool chunked = call->body_length < 0;
  size_t cap = WASIO__HTTP_UPLOAD_CHUNK;
  if (!chunked && (uint64_t)call->body_length - call->up_sent < cap)
    cap = (size_t)((uint64_t)call->body_length - call->up_sent);
  uint8_t *data = call->up_buf + WASIO__HTTP_CHUNK_PREFIX;
  ptrdiff_t n = 0;
  if (cap > 0 || chunked) {
    call->up_pulled = true;
    n = call->body_read(call, data, cap);
    /* The callback may have canceled the call or closed the client. */
    if (call->conn != conn || call->phase == WASIO__CALL_FINISHED) return;
  }
  if (n == WASIO_EAGAIN) {
    call->up_waiting = true;
    return;
  }
  if (n < 0) {
    wasio__call_fail(call, (int)n);
    return;
  }
  if ((size_t)n > cap) {
    wasio__call_fail(call, WASIO_EINVAL);
    return;
  }
  const void *out;
  size_t out_len;
  if (n == 0) {
    if (!chunked && call->up_sent != (uint64_t)call->body_length) {
      wasio__call_fail(call, WASIO_EINVAL); /* shorter than announced */
      return;
    }
    call->up_done = true;
    if (!chunked) return;
    out = wasio__http_last_chunk;
    out_len = sizeof wasio__http_last_chunk - 1;
  } else if (chunked) {
    char line[WASIO__HTTP_CHUNK_PREFIX];
    int hl = wasio_http_write_chunk_header(line, sizeof line, (uint64_t)n);
    if (hl < 0) {
      wasio__call_fail(call, hl);
      return;
    }
    /* The framing goes right before and after the data: one write. */
    memcpy(data - hl, line, (size_t)hl);
    memcpy(data + n, WASIO_HTTP_CRLF, 2);
    out = data - hl;
    out_len = (size_t)hl + (size_t)n + 2;
    call->up_sent += (uint64_t)n;
  } else {
    out = data;
    out_len = (size_t)n;
    call->up_sent += (uint64_t)n;
    if (call->up_sent == (uint64_t)call->body_length) call->up_done = true;
  }
  conn->w_body.data = conn;
  int rc = wasio__stream_write(&conn->s, &conn->w_body, out, out_len, wasio__conn_write_cb);
  if (rc != 0) {
    wasio__call_fail(call, rc);
    return;
  }
  conn->writes_pending++;
  call->up_writing = true;
}

/* ---- dispatch ---------------------------------------------------------------------- */

/* The config for https connections; the default one is made on first use,
 * so plain-http programs never pay for it. */
static int wasio__client_tls_config(wasio_http_client_t *client, wasio_tls_config_t **out) {
  if (client->tls == NULL) {
    static const char *const alpn[] = {"http/1.1"};
    wasio_tls_config_t *cfg;
    int rc = wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg);
    if (rc != 0) return rc;
    rc = wasio_tls_config_alpn(cfg, alpn, sizeof alpn / sizeof alpn[0]);
    if (rc != 0) {
      (void)wasio_tls_config_free(cfg);
      return rc;
    }
    client->tls = cfg;
    client->tls_owned = true;
  }
  *out = client->tls;
  return 0;
}

static int wasio__conn_open(wasio_http_client_t *client, wasio__http_origin_t *o, wasio_http_call_t *call) {
  wasio__http_conn_t *conn = wasio__calloc(1, sizeof *conn);
  if (conn == NULL) return WASIO_ENOMEM;
  conn->client = client;
  conn->origin = o;
  conn->state = WASIO__CONN_CONNECTING;
  conn->call = call;
  wasio__hq_init(&conn->idle_node);
  wasio__hq_insert_tail(&client->conns, &conn->client_node);
  client->conns_live++;
  o->open++;
  call->conn = conn;
  call->phase = WASIO__CALL_CONNECTING;
  uint64_t timeout = wasio__pick(call->to.connect_ns, client->to.connect_ns);
  wasio_tls_config_t *tls = NULL;
  bool host_tls = o->https && client->host_tls;
  int rc = o->https && !host_tls ? wasio__client_tls_config(client, &tls) : 0;
  wasio__stream_kind_t kind = !o->https ? WASIO__STREAM_TCP : host_tls ? WASIO__STREAM_HOST_TLS : WASIO__STREAM_TLS;
  /* The origin's host outlives the connect (the origin counts it open). */
  if (rc == 0)
    rc = wasio__stream_connect(&conn->s, &wasio__conn_stream_cbs, client->loop, kind, tls, o->host, o->port,
                               timeout == 0 ? WASIO_NO_TIMEOUT : timeout);
  if (rc != 0) {
    call->conn = NULL;
    call->phase = WASIO__CALL_QUEUED;
    conn->call = NULL;
    conn->origin = NULL; /* no re-dispatch from inside dispatch */
    o->open--;
    wasio__hq_remove(&conn->client_node);
    conn->state = WASIO__CONN_CONNECTING;
    wasio__conn_close(conn);
  }
  return rc;
}

/* Gives queued calls of `o` a connection: an idle one first, else a new one
 * while under the per-origin limit. Runs no user callback (failures are
 * reported through the call's deferred request). May free `o`. */
static void wasio__origin_dispatch(wasio__http_origin_t *o, wasio_http_client_t *client) {
  /* A connection closing inside the loop below re-enters: the running loop
   * sees the freed slot itself. */
  if (o->dispatching) return;
  o->dispatching = true;
  while (!wasio__hq_empty(&o->queue) && !client->closing) {
    wasio_http_call_t *call = WASIO__CONTAINER_OF(o->queue.next, wasio_http_call_t, queue_node);
    if (!wasio__hq_empty(&o->idle)) {
      wasio__http_conn_t *conn = WASIO__CONTAINER_OF(o->idle.next, wasio__http_conn_t, idle_node);
      wasio__hq_remove(&conn->idle_node);
      o->idle_count--;
      wasio__hq_remove(&call->queue_node);
      call->origin = NULL; /* the connection holds the origin from here */
      conn->call = call;
      call->conn = conn;
      wasio__call_send(call);
      continue;
    }
    if (o->open >= client->max_conns) break;
    wasio__hq_remove(&call->queue_node);
    call->origin = NULL;
    int rc = wasio__conn_open(client, o, call);
    if (rc != 0) {
      call->phase = WASIO__CALL_FINISHED;
      call->final_status = rc;
      wasio__call_schedule(call, WASIO__WORK_DONE);
    }
  }
  o->dispatching = false;
  wasio__origin_maybe_free(client, o);
}

/* Queues the call on the origin of its current URL. */
static int wasio__call_enqueue(wasio_http_call_t *call, bool front) {
  wasio__http_origin_t *o;
  int rc = wasio__origin_get(call->client, &call->u, &o);
  if (rc != 0) return rc;
  call->origin = o;
  call->phase = WASIO__CALL_QUEUED;
  if (front) wasio__hq_insert_head(&o->queue, &call->queue_node);
  else wasio__hq_insert_tail(&o->queue, &call->queue_node);
  return 0;
}

static void wasio__conn_on_open(wasio__stream_t *s, int status) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  if (conn->state == WASIO__CONN_CLOSING) return;
  wasio_http_call_t *call = conn->call;
  if (status != 0) {
    if (call != NULL) wasio__call_fail(call, status); /* closes conn */
    else wasio__conn_close(conn);
    return;
  }
  if (call == NULL) {
    /* Its call went away meanwhile: serve the next one, or idle. */
    wasio__conn_to_idle(conn);
    return;
  }
  wasio__call_send(call);
}

/* ---- responses ----------------------------------------------------------------- */

/* Decides whether the final head `res` is a redirect to follow; if so sets
 * call->next_url. Returns 0, or an error that ends the call. */
static int wasio__call_redirect_check(wasio_http_call_t *call, const wasio_http_response_t *res) {
  wasio_http_redirect_t how =
      wasio_http_redirect_method(res->status, (wasio_http_str_t){call->method, strlen(call->method)});
  if (how == WASIO_HTTP_REDIRECT_NONE || call->max_redirects == 0) return 0;
  size_t pos = 0;
  int idx = wasio_http_find_header(res->headers, res->num_headers, "location", &pos);
  if (idx < 0) return 0; /* nothing to follow: the 3xx is the answer */
  /* A streamed body cannot be sent twice: the 3xx is the answer. */
  if (how == WASIO_HTTP_REDIRECT_SAME && call->body_read != NULL) return 0;
  if (call->redirects >= call->max_redirects) return WASIO_ELIMIT;
  /* The bound of wasio_url_resolve(): URL + reference + "/" + NUL. */
  wasio_http_str_t ref = res->headers[idx].value;
  size_t cap = strlen(call->url) + ref.len + 2;
  char *next = wasio__malloc(cap);
  if (next == NULL) return WASIO_ENOMEM;
  if (wasio_url_resolve(call->url, &call->u, ref, next, cap) < 0) {
    wasio__free(next);
    return 0; /* unusable Location: the 3xx is the answer */
  }
  wasio_url_t nu;
  if (wasio_url_parse(next, strlen(next), &nu) != 0) {
    wasio__free(next);
    return 0;
  }
  wasio__free(call->next_url);
  call->next_url = next;
  call->next_status = res->status;
  return 0;
}

/* Starts the request to call->next_url after the redirect's body is gone. */
static void wasio__call_follow(wasio_http_call_t *call) {
  char *next = call->next_url;
  call->next_url = NULL;
  wasio_url_t nu;
  (void)wasio_url_parse(next, strlen(next), &nu); /* checked before */
  bool same_origin = nu.https == call->u.https && nu.port == call->u.port && nu.host.len == call->u.host.len &&
                     memcmp(nu.host.ptr, call->u.host.ptr, nu.host.len) == 0;
  if (wasio_http_redirect_method(call->next_status, (wasio_http_str_t){call->method, strlen(call->method)}) ==
      WASIO_HTTP_REDIRECT_GET) {
    call->method = "GET"; /* the caller's copy stays in the call's allocation, unused */
    call->body = NULL;
    call->body_len = 0;
    call->body_read = NULL;
  }
  if (call->url_owned) wasio__free(call->url);
  call->url = next;
  call->url_owned = true;
  call->u = nu;
  call->redirects++;
  call->caller_host = false;
  if (!same_origin) {
    /* Credentials are for the origin they were given for. */
    size_t k = 0;
    for (size_t i = 0; i < call->num_headers; i++) {
      wasio_http_str_t nm = call->headers[i].name;
      bool secret = (nm.len == 13 && strncasecmp(nm.ptr, "authorization", 13) == 0) ||
                    (nm.len == 6 && strncasecmp(nm.ptr, "cookie", 6) == 0) ||
                    (nm.len == 19 && strncasecmp(nm.ptr, "proxy-authorization", 19) == 0);
      if (!secret) call->headers[k++] = call->headers[i];
    }
    call->num_headers = k;
  }
  int rc = wasio__call_build_head(call);
  if (rc == 0) rc = wasio__call_enqueue(call, false);
  if (rc != 0) {
    wasio__call_finish(call, rc);
    return;
  }
  wasio__origin_dispatch(call->origin, call->client);
}

/* The response was read whole. */
static void wasio__call_complete(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  bool reusable = call->res_keep_alive && !call->conn_close && !conn->write_failed && !call->res_close_delimited &&
                  call->up_done && !call->up_writing && wasio__stream_queued(&conn->s) == 0 &&
                  conn->in_start == conn->in_len && !call->client->closing;
  call->conn = NULL;
  conn->reused = true;
  wasio__conn_release(conn, reusable);
  if (call->next_url != NULL) {
    wasio__call_follow(call);
    return;
  }
  wasio__call_finish(call, 0);
}

/* The connection died before a response byte: a reused connection may
 * have been closed by the server while idle (the race every keep-alive
 * client has). Sends the request again, once, on a fresh connection when
 * it can be repeated. */
static bool wasio__is_idempotent(const char *m) {
  /* RFC 9110 section 9.2.2: safe to send twice. */
  return !strcmp(m, "GET") || !strcmp(m, "HEAD") || !strcmp(m, "PUT") || !strcmp(m, "DELETE") ||
         !strcmp(m, "OPTIONS") || !strcmp(m, "TRACE");
}

static bool wasio__call_retry(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  if (!conn->reused || call->retried || call->got_byte || call->up_pulled || call->client->closing ||
      !wasio__is_idempotent(call->method))
    return false;
  call->retried = true;
  call->conn = NULL;
  wasio__conn_release(conn, false);
  /* Closing the old connection freed a slot; front of the queue. */
  wasio__http_origin_t *o;
  if (wasio__origin_get(call->client, &call->u, &o) != 0) return false;
  call->origin = o;
  call->phase = WASIO__CALL_QUEUED;
  wasio__hq_insert_head(&o->queue, &call->queue_node);
  wasio__origin_dispatch(o, call->client);
  return true;
}

static void wasio__conn_on_read(wasio__stream_t *s, ptrdiff_t nread) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  conn->lent = false; /* the space came back (or reading has stopped) */
  if (conn->state == WASIO__CONN_CLOSING) return;
  wasio_http_call_t *call = conn->call;
  if (call == NULL) {
    /* Idle or draining: the server closed, timed out or sent garbage. */
    wasio__conn_close(conn);
    return;
  }
  if (nread < 0) {
    int err = (int)nread;
    if (call->phase == WASIO__CALL_BODY) {
      if (err == WASIO_EOF) {
        int rc = wasio_http_body_finish(&call->body_dec);
        if (rc == 0) {
          call->res_keep_alive = false;
          wasio__call_complete(call);
        } else {
          wasio__call_fail(call, rc);
        }
        return;
      }
      wasio__call_fail(call, err);
      return;
    }
    /* A server that drops an idle TLS connection without close_notify
     * looks like a truncation: the same race as a plain close. */
    if ((err == WASIO_EOF || err == WASIO_ECONNRESET || err == WASIO_ETLS_TRUNCATED) && conn->in_len == 0 &&
        wasio__call_retry(call))
      return;
    wasio__call_fail(call, err == WASIO_EOF ? WASIO_EHTTP_TRUNCATED : err);
    return;
  }
  if (!conn->in_landing) {
    conn->in_len += (size_t)nread; /* after the bytes that wait */
  } else if (conn->in_start != conn->in_len) {
    /* The landing buffer is handed out only when nothing waits, and bytes
     * come to wait only at the end of a read: cannot happen, but if it
     * did, order is kept or the call fails. */
    if (WASIO__HTTP_CONN_BUF - conn->in_len < (size_t)nread) {
      wasio__call_fail(call, WASIO_ENOBUFS);
      return;
    }
    memcpy(conn->in + conn->in_len, conn->client->landing, (size_t)nread);
    conn->in_len += (size_t)nread;
  } else {
    conn->in = conn->client->landing; /* consumed in place; the rest is spilled */
    conn->in_start = 0;
    conn->in_len = (size_t)nread;
  }
  if (!call->got_byte) {
    call->got_byte = true;
    wasio__stream_set_idle(&conn->s,
                                   wasio__pick(call->to.between_bytes_ns, call->client->to.between_bytes_ns));
  }
  wasio__conn_process(conn);
}

/* After the codec ran over the input: bytes left in the landing buffer move
 * to the connection's own buffer (the next read of any connection lands
 * there); an emptied own buffer is given back, unless it is lent (then the
 * next read returns into it, where it was handed out). */
static void wasio__conn_input_done(wasio__http_conn_t *conn) {
  if (conn->state == WASIO__CONN_CLOSING) return; /* freed with the connection */
  size_t rest = conn->in_len - conn->in_start;
  if (conn->in != NULL && conn->in == conn->client->landing) {
    const char *from = conn->in + conn->in_start;
    conn->in = conn->buf;
    conn->in_start = conn->in_len = 0;
    if (rest == 0) return;
    if (conn->buf == NULL) {
      conn->buf = wasio__buf_take(conn->client);
      if (conn->buf == NULL) {
        if (conn->call != NULL) wasio__call_fail(conn->call, WASIO_ENOMEM);
        else wasio__conn_close(conn);
        return;
      }
    }
    memcpy(conn->buf, from, rest);
    conn->in = conn->buf;
    conn->in_len = rest;
    return;
  }
  if (rest != 0 || conn->lent) return;
  wasio__conn_buf_drop(conn);
}

/* Runs the codec over the buffered input of the connection's call,
 * delivering the head and body; stops when input runs out, the call ends,
 * or the call is paused. */
static void wasio__conn_run(wasio__http_conn_t *conn) {
  wasio_http_call_t *call = conn->call;
  while (call != NULL && conn->call == call && call->phase != WASIO__CALL_FINISHED && !call->paused) {
    size_t avail = conn->in_len - conn->in_start;
    const char *in = avail ? conn->in + conn->in_start : NULL;
    if (call->phase == WASIO__CALL_HEAD) {
      if (avail == 0) break;
      unsigned flags = call->head_method ? WASIO_HTTP_RESPONSE_TO_HEAD : 0;
      int rc = wasio_http_parse_response(&call->parser, in, avail, flags, &call->client->res);
      if (rc == WASIO_EAGAIN) break;
      if (rc < 0) {
        wasio__call_fail(call, rc);
        return;
      }
      conn->in_start += (size_t)rc;
      const wasio_http_response_t *res = &call->client->res;
      if (res->status < 200 && res->status != 101) {
        wasio_http_parser_init(&call->parser); /* interim: the next head follows */
        continue;
      }
      if (res->status == 101 || res->framing.upgrade) {
        wasio__call_fail(call, WASIO_EHTTP_BAD_STATUS); /* we never ask to upgrade */
        return;
      }
      call->res_keep_alive = res->framing.keep_alive;
      call->res_close_delimited = res->framing.body == WASIO_HTTP_BODY_CLOSE;
      wasio_http_body_init(&call->body_dec, &res->framing, NULL);
      rc = wasio__call_redirect_check(call, res);
      if (rc != 0) {
        wasio__call_fail(call, rc);
        return;
      }
      call->phase = WASIO__CALL_BODY;
      if (call->next_url != NULL) {
        call->discard = true;
      } else if (call->on_response != NULL) {
        call->on_response(call, res);
        if (conn->call != call || call->phase == WASIO__CALL_FINISHED) return;
      }
      continue;
    }
    size_t consumed = 0;
    wasio_http_str_t data = {NULL, 0};
    int rc = wasio_http_body_decode(&call->body_dec, in, avail, &consumed, &data);
    if (rc < 0 && rc != WASIO_EAGAIN) {
      wasio__call_fail(call, rc);
      return;
    }
    conn->in_start += consumed;
    if (data.len > 0 && !call->discard && call->on_body != NULL) {
      call->on_body(call, data.ptr, data.len);
      if (conn->call != call || call->phase == WASIO__CALL_FINISHED) return;
    }
    if (rc == WASIO_HTTP_BODY_DONE) {
      wasio__call_complete(call);
      return;
    }
    if (rc == WASIO_EAGAIN || conn->in_start == conn->in_len) break;
  }
}

static void wasio__conn_process(wasio__http_conn_t *conn) {
  wasio__conn_run(conn);
  wasio__conn_input_done(conn);
}

/* ---- ending a call ---------------------------------------------------------------- */

/* A timer for a call's total timeout: a spare one, or a new one. */
static int wasio__client_timer_get(wasio_http_client_t *client, wasio_timer_t **out) {
  if (client->num_spare_timers > 0) {
    *out = client->spare_timers[--client->num_spare_timers];
    return 0;
  }
  return wasio_timer_new(client->loop, out);
}

/* A call is done with its timer: stopped and kept for the next call while
 * there is room and the client is open, else closed. */
static void wasio__client_timer_put(wasio_http_client_t *client, wasio_timer_t *timer) {
  if (client->closing || client->num_spare_timers >= WASIO__HTTP_SPARE_TIMERS) {
    wasio_timer_close(timer, NULL);
    return;
  }
  (void)wasio_timer_stop(timer);
  wasio_timer_set_data(timer, NULL);
  client->spare_timers[client->num_spare_timers++] = timer;
}

/* Detaches the call from queue and connection (closing the connection:
 * never reused after an error) and stops its timer. */
static void wasio__call_detach(wasio_http_call_t *call) {
  wasio__hq_remove(&call->queue_node);
  wasio__http_conn_t *conn = call->conn;
  call->conn = NULL;
  if (conn != NULL) wasio__conn_release(conn, false);
  if (call->timer != NULL) {
    wasio__client_timer_put(call->client, call->timer);
    call->timer = NULL;
  }
  wasio__http_origin_t *o = call->origin;
  call->origin = NULL;
  call->phase = WASIO__CALL_FINISHED;
  if (o != NULL && conn == NULL && !call->client->closing) wasio__origin_maybe_free(call->client, o);
}

/* Frees the call's allocation and what a redirect or an upload added to it
 * (the one place that knows which of its pointers own memory). */
static void wasio__call_free_memory(wasio_http_call_t *call) {
  if (call->url_owned) wasio__free(call->url);
  if (call->head != call->head_room) wasio__free(call->head);
  wasio__free(call->up_buf);
  wasio__free(call->next_url);
  wasio__free(call);
}

static void wasio__call_free(wasio_http_call_t *call) {
  wasio_http_client_t *client = call->client;
  wasio__hq_remove(&call->client_node);
  wasio__call_free_memory(call);
  client->calls_live--;
  wasio__client_maybe_free(client);
}

/* Ends the call now: on_done, then free, unless the deferred request is
 * queued or running (its callback frees the call when it is done with it). */
static void wasio__call_finish(wasio_http_call_t *call, int status) {
  wasio__call_detach(call);
  call->work = 0;
  call->on_done(call, status);
  if (call->defer_queued || call->in_defer) {
    call->work = WASIO__WORK_FREE;
    return;
  }
  wasio__call_free(call);
}

static void wasio__call_fail(wasio_http_call_t *call, int status) { wasio__call_finish(call, status); }

/* The work steps; each may end the call (its memory stays: in_defer). */
static void wasio__call_defer_work(wasio_http_call_t *call, unsigned work) {
  if (work & WASIO__WORK_DONE) {
    wasio__call_finish(call, call->final_status);
    return;
  }
  if (call->phase == WASIO__CALL_FINISHED) return;
  if ((work & WASIO__WORK_DISPATCH) && call->phase == WASIO__CALL_QUEUED && call->origin != NULL) {
    wasio__origin_dispatch(call->origin, call->client);
    if (call->phase == WASIO__CALL_FINISHED) return;
  }
  if ((work & WASIO__WORK_UPLOAD) && call->conn != NULL) {
    wasio__call_upload(call);
    if (call->phase == WASIO__CALL_FINISHED || call->conn == NULL) return;
  }
  if ((work & WASIO__WORK_INPUT) && call->conn != NULL && !call->paused) {
    wasio__http_conn_t *conn = call->conn;
    wasio__conn_process(conn);
    if (call->end_pending != 0 && conn->call == call && call->phase != WASIO__CALL_FINISHED && !call->paused) {
      int end = call->end_pending;
      call->end_pending = 0;
      wasio__conn_on_read(&conn->s, end);
    }
  }
}

static void wasio__call_defer_cb(wasio_defer_t *req, int status) {
  (void)status;
  wasio_http_call_t *call = req->data;
  call->defer_queued = false;
  unsigned work = call->work;
  call->work = 0;
  if (work & WASIO__WORK_FREE) {
    wasio__call_free(call); /* on_done already ran */
    return;
  }
  call->in_defer = true;
  wasio__call_defer_work(call, work);
  call->in_defer = false;
  /* Ended inside: free now, or when the request queued meanwhile runs. */
  if ((call->work & WASIO__WORK_FREE) && !call->defer_queued) wasio__call_free(call);
}

static void wasio__call_timer_cb(wasio_timer_t *timer) {
  wasio_http_call_t *call = wasio_timer_data(timer);
  wasio__call_fail(call, WASIO_ETIMEDOUT);
}

/* ---- client ----------------------------------------------------------------------- */

int wasio_http_client_new(wasio_loop_t *loop, const wasio_http_client_opts_t *opts,
                          wasio_http_client_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_http_client_t *c = wasio__calloc(1, sizeof *c);
  if (c == NULL) return WASIO_ENOMEM;
  c->landing = wasio__malloc(WASIO__HTTP_CONN_BUF);
  if (c->landing == NULL) {
    wasio__free(c);
    return WASIO_ENOMEM;
  }
  c->loop = loop;
  c->max_conns = opts && opts->max_conns_per_origin ? opts->max_conns_per_origin : WASIO_HTTP_MAX_CONNS_PER_ORIGIN;
  c->max_idle = opts && opts->max_idle_per_origin ? opts->max_idle_per_origin : WASIO_HTTP_MAX_IDLE_PER_ORIGIN;
  c->idle_timeout = opts && opts->idle_timeout_ns ? opts->idle_timeout_ns : WASIO_HTTP_POOL_IDLE_TIMEOUT_NS;
  if (opts != NULL) c->to = opts->timeouts;
  if (opts != NULL) c->tls = opts->tls;
  if (opts != NULL && opts->tls_backend != WASIO_TLS_BACKEND_AUTO) {
    int b = wasio_tls_backend_resolve(opts->tls_backend);
    if (b < 0 || (b == WASIO_TLS_BACKEND_HOST && opts->tls != NULL)) {
      wasio__free(c->landing);
      wasio__free(c);
      return b < 0 ? b : WASIO_EINVAL;
    }
    c->host_tls = b == WASIO_TLS_BACKEND_HOST;
  } else {
    c->host_tls = wasio_tls_host_available() && (opts == NULL || opts->tls == NULL);
  }
  wasio__hq_init(&c->calls);
  wasio__hq_init(&c->conns);
  wasio__hq_init(&c->origins);
  *out = c;
  return 0;
}

static void wasio__client_maybe_free(wasio_http_client_t *client) {
  if (!client->closing || client->close_defer_queued || client->calls_live != 0 || client->conns_live != 0)
    return;
  while (!wasio__hq_empty(&client->origins)) {
    wasio__http_origin_t *o = WASIO__CONTAINER_OF(client->origins.next, wasio__http_origin_t, node);
    wasio__hq_remove(&o->node);
    wasio__free(o);
  }
  /* Every stream made from it is gone (the stream reports a TLS close
   * only after the stream has freed its engine). */
  if (client->tls_owned) (void)wasio_tls_config_free(client->tls);
  void (*cb)(wasio_http_client_t *) = client->close_cb;
  client->close_cb = NULL;
  if (cb != NULL) cb(client);
  while (client->bufs != NULL) {
    char *b = client->bufs;
    memcpy(&client->bufs, b, sizeof client->bufs);
    wasio__free(b);
  }
  wasio__free(client->landing);
  wasio__free(client);
}

static void wasio__client_close_defer_cb(wasio_defer_t *req, int status) {
  (void)status;
  wasio_http_client_t *client = req->data;
  client->close_defer_queued = false;
  wasio__client_maybe_free(client);
}

void wasio_http_client_close(wasio_http_client_t *client, void (*cb)(wasio_http_client_t *client)) {
  if (client == NULL || client->closing) return;
  client->closing = true;
  client->close_cb = cb;
  for (wasio__hq_t *n = client->calls.next; n != &client->calls; n = n->next) {
    wasio_http_call_t *call = WASIO__CONTAINER_OF(n, wasio_http_call_t, client_node);
    if (call->phase == WASIO__CALL_FINISHED) continue;
    wasio__call_detach(call);
    call->final_status = WASIO_ECANCELED;
    wasio__call_schedule(call, WASIO__WORK_DONE);
  }
  while (!wasio__hq_empty(&client->conns))
    wasio__conn_close(WASIO__CONTAINER_OF(client->conns.next, wasio__http_conn_t, client_node));
  while (client->num_spare_timers > 0) wasio_timer_close(client->spare_timers[--client->num_spare_timers], NULL);
  client->close_defer.data = client;
  if (wasio_defer(client->loop, &client->close_defer, wasio__client_close_defer_cb) == 0)
    client->close_defer_queued = true;
  else
    wasio__client_maybe_free(client);
}

/* ---- calls ----------------------------------------------------------------------- */

static bool wasio__is_token_method(const char *m) {
  if (*m == 0) return false;
  for (const char *p = m; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
    if (!ok) return false;
  }
  return true;
}

static bool wasio__name_is(wasio_http_str_t s, const char *name) {
  size_t n = strlen(name);
  return s.len == n && strncasecmp(s.ptr, name, n) == 0;
}

/* Checks the caller's fields and counts the bytes their copy takes (the
 * array and the names and values behind it). Framing fields are the
 * client's to write (a caller's Content-Length could contradict the body:
 * request smuggling), so they are refused. */
static int wasio__headers_check(const wasio_http_call_opts_t *opts, size_t *bytes_out) {
  *bytes_out = 0;
  if (opts->num_headers == 0) return 0;
  if (opts->headers == NULL || opts->num_headers > WASIO_HTTP_MAX_REQUEST_HEADERS) return WASIO_EINVAL;
  size_t bytes = opts->num_headers * sizeof(wasio_http_header_t);
  for (size_t i = 0; i < opts->num_headers; i++) {
    const wasio_http_header_t *h = &opts->headers[i];
    if ((h->name.ptr == NULL && h->name.len) || (h->value.ptr == NULL && h->value.len)) return WASIO_EINVAL;
    if (wasio__name_is(h->name, "content-length") || wasio__name_is(h->name, "transfer-encoding"))
      return WASIO_EINVAL;
    if (bytes > WASIO__HTTP_MAX_REQUEST_HEAD) return WASIO_ELIMIT;
    bytes += h->name.len + h->value.len;
  }
  if (bytes > WASIO__HTTP_MAX_REQUEST_HEAD + opts->num_headers * sizeof(wasio_http_header_t))
    return WASIO_ELIMIT;
  *bytes_out = bytes;
  return 0;
}

/* Copies the checked fields to `to` (wasio__headers_check's bytes). */
static void wasio__call_copy_headers(wasio_http_call_t *call, const wasio_http_call_opts_t *opts,
                                     wasio_http_header_t *to) {
  if (opts->num_headers == 0) return;
  call->headers = to;
  char *p = (char *)(to + opts->num_headers);
  for (size_t i = 0; i < opts->num_headers; i++) {
    const wasio_http_header_t *h = &opts->headers[i];
    if (h->name.len) memcpy(p, h->name.ptr, h->name.len);
    to[i].name = (wasio_http_str_t){p, h->name.len};
    p += h->name.len;
    if (h->value.len) memcpy(p, h->value.ptr, h->value.len);
    to[i].value = (wasio_http_str_t){p, h->value.len};
    p += h->value.len;
    if (wasio__name_is(h->name, "host")) call->caller_host = true;
    if (wasio__name_is(h->name, "connection") && wasio_http_has_token(h->value, "close"))
      call->conn_close = true;
  }
  call->num_headers = opts->num_headers;
}

/* The copied fields follow the struct: its alignment covers theirs. */
_Static_assert(sizeof(wasio_http_call_t) % _Alignof(wasio_http_header_t) == 0,
               "the fields behind the call would be misaligned");

/* One allocation per call: the struct, the caller's fields, the URL, the
 * method and the head room (wasio__head_room_len), in that order. */
int wasio_http_call_start(wasio_http_client_t *client, const wasio_http_call_opts_t *opts,
                          wasio_http_call_t **out) {
  if (client == NULL || opts == NULL || opts->url == NULL || opts->on_done == NULL) return WASIO_EINVAL;
  if (client->closing) return WASIO_ECLOSING;
  if (opts->body_read != NULL && (opts->body != NULL || opts->body_len > 0 || opts->body_length < -1))
    return WASIO_EINVAL;
  if (opts->body == NULL && opts->body_len > 0) return WASIO_EINVAL;
  if (opts->max_redirects < -1) return WASIO_EINVAL;
  bool has_body = opts->body != NULL || opts->body_len > 0 || opts->body_read != NULL;
  const char *method = opts->method != NULL ? opts->method : (has_body ? "POST" : "GET");
  if (!wasio__is_token_method(method) || strcmp(method, "CONNECT") == 0) return WASIO_EINVAL;
  size_t url_len = strlen(opts->url);
  if (url_len > WASIO_URL_MAX) return WASIO_EURL_SYNTAX;
  /* Errors are reported in the order URL, fields, head size; a method that
   * alone is over the head limit is not copied (its head never fits). */
  size_t field_bytes = 0;
  int fields_rc = wasio__headers_check(opts, &field_bytes);
  size_t method_len = strlen(method);
  bool method_fits = method_len <= WASIO__HTTP_MAX_REQUEST_HEAD;
  size_t copy_len = method_fits ? method_len : 0;
  size_t room = fields_rc == 0 && method_fits
                    ? wasio__head_room_len(method_len, url_len,
                                           field_bytes - opts->num_headers * sizeof(wasio_http_header_t),
                                           opts->num_headers)
                    : 0;
  size_t total = sizeof(wasio_http_call_t) + field_bytes + (url_len + 1) + (copy_len + 1) + room;

  wasio_http_call_t *call = wasio__malloc(total);
  if (call == NULL) return WASIO_ENOMEM;
  memset(call, 0, sizeof *call);
  call->client = client;
  wasio__hq_init(&call->queue_node);
  wasio__hq_init(&call->client_node);
  char *p = (char *)(call + 1) + field_bytes;
  call->url = p;
  memcpy(call->url, opts->url, url_len);
  call->url[url_len] = 0;
  p += url_len + 1;
  memcpy(p, method, copy_len);
  p[copy_len] = 0;
  call->method = p;
  p += copy_len + 1;
  call->head_room = p;
  call->head_room_len = room;
  int rc = wasio_url_parse(call->url, url_len, &call->u);
  if (rc == 0) rc = fields_rc;
  if (rc == 0 && !method_fits) rc = WASIO_ELIMIT;
  if (rc != 0) goto fail;
  wasio__call_copy_headers(call, opts, (wasio_http_header_t *)(call + 1));
  call->head_method = strcmp(method, "HEAD") == 0;
  call->body = opts->body;
  call->body_len = opts->body_len;
  call->body_read = opts->body_read;
  call->body_length = opts->body_length;
  call->max_redirects = opts->max_redirects < 0 ? WASIO_HTTP_MAX_REDIRECTS : opts->max_redirects;
  call->to = opts->timeouts;
  call->data = opts->data;
  call->on_response = opts->on_response;
  call->on_body = opts->on_body;
  call->on_done = opts->on_done;
  rc = wasio__call_build_head(call);
  if (rc != 0) goto fail;
  uint64_t total_ns = wasio__pick(call->to.total_ns, client->to.total_ns);
  if (total_ns != 0) {
    rc = wasio__client_timer_get(client, &call->timer);
    if (rc != 0) goto fail;
    wasio_timer_set_data(call->timer, call);
    rc = wasio_timer_start(call->timer, wasio__call_timer_cb, total_ns, 0);
    if (rc != 0) goto fail;
  }
  rc = wasio__call_enqueue(call, false);
  if (rc != 0) goto fail;
  wasio__hq_insert_tail(&client->calls, &call->client_node);
  client->calls_live++;
  /* Dispatch from the next turn: this function never runs I/O. */
  wasio__call_schedule(call, WASIO__WORK_DISPATCH);
  if (out != NULL) *out = call;
  return 0;

fail:
  if (call->timer != NULL) wasio__client_timer_put(client, call->timer);
  wasio__call_free_memory(call);
  return rc;
}

int wasio_http_call_cancel(wasio_http_call_t *call) {
  if (call == NULL || call->phase == WASIO__CALL_FINISHED) return WASIO_EINVAL;
  wasio__call_detach(call);
  call->final_status = WASIO_ECANCELED;
  wasio__call_schedule(call, WASIO__WORK_DONE);
  return 0;
}

int wasio_http_call_pause(wasio_http_call_t *call, bool pause) {
  if (call == NULL || call->phase == WASIO__CALL_FINISHED) return WASIO_EINVAL;
  if (call->paused == pause) return 0;
  call->paused = pause;
  wasio__http_conn_t *conn = call->conn;
  if (conn == NULL || call->phase == WASIO__CALL_CONNECTING) return 0;
  if (pause) {
    wasio__stream_read_stop(&conn->s);
    conn->lent = false;
    return 0;
  }
  int rc = wasio__stream_read_start(&conn->s);
  /* The stream ended while the call was paused (the socket saw its EOF, or
   * a TLS stream failed, e.g. a truncation, with nobody reading): the call
   * learns it as a read result after the buffered bytes. */
  if (rc < 0) call->end_pending = rc;
  /* Bytes read before the pause wait in the buffer: deliver them from the
   * next turn, not from inside this call. */
  wasio__call_schedule(call, WASIO__WORK_INPUT);
  return 0;
}

int wasio_http_call_resume_upload(wasio_http_call_t *call) {
  if (call == NULL || call->phase == WASIO__CALL_FINISHED || call->body_read == NULL) return WASIO_EINVAL;
  if (!call->up_waiting) return 0;
  call->up_waiting = false;
  wasio__call_schedule(call, WASIO__WORK_UPLOAD);
  return 0;
}

void *wasio_http_call_data(const wasio_http_call_t *call) { return call->data; }
wasio_http_str_t wasio_http_call_request_head(const wasio_http_call_t *call) {
  return (wasio_http_str_t){call->head, call->head_len};
}
const char *wasio_http_call_url(const wasio_http_call_t *call) { return call->url; }
int wasio_http_call_redirects(const wasio_http_call_t *call) { return call->redirects; }
