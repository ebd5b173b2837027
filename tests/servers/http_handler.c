/* tests/servers/http_handler.c: the HTTP handler tests/apps/http_handler.py
 * drives. One C file, three builds (the Makefile's test-servers rules):
 * natively as a socket server (ASan+UBSan), and with `wasio-cc --http` as
 * a wasi:http handler for `wasmtime serve -S cli` (a fresh instance per
 * request, or reused) and `jco serve`. The program is the same in every
 * build: main creates the loop and the server, listens, and returns
 * wasio_loop_run(); through the host the address is ignored.
 *
 *   http_handler [PORT]      socket build: 127.0.0.1:PORT (default 0: any);
 *                            prints "listening on http://127.0.0.1:P/"
 *
 * Routes (every body is text):
 *   GET  /hello               "hello from wasio\n" (HEAD too)
 *   GET  /query?name=N        "name=N\n" (the query decoded)
 *   POST /upload              reads the body: "bytes N fnv HEX trailers K\n"
 *                             then one "trailer NAME=VALUE" line each
 *   POST /echo                streams the body back as it comes (chunked),
 *                             pausing the body while a write is out
 *   GET  /download?bytes=N[&chunked=1][&chunk=K]
 *                             N bytes of dl_byte(i) in writes of K bytes,
 *                             with Content-Length (or without: chunked)
 *   POST /trailers            reads the body; answers "bytes N\n" (chunked)
 *                             and ends with trailers x-fnv, x-bytes and
 *                             x-echo-NAME for each request trailer
 *   GET  /slow?ms=N           answers after N ms: "start S end E" (wall
 *                             clock, ns): the driver checks that requests
 *                             overlapped, without timing anything
 *   GET  /fail/abort          wasio_http_respond_abort(WASIO_EIO): 500
 *   GET  /fail/forget         returns without a response, nothing pending
 *   GET  /fail/midway         streams 1000 bytes, then aborts (a timer)
 *   GET  /bad/second          a streamed response, then a second respond and
 *                             respond_start: their codes in the body
 *   GET  /bad/too-long        Content-Length 64; a write of 65 bytes: its
 *                             code, padded to the 64 bytes
 *   GET  /bad/after-end       ends a streamed response, then writes and ends
 *                             again: the codes go to stdout ("bad after-end:
 *                             ...", the body being over)
 *   GET  /tcp?port=P          TCP inside a handler: connects to
 *                             127.0.0.1:P, sends "ping\n", answers "tcp
 *                             says: " and the line that came back; 502 with
 *                             the error where the host grants no sockets
 *   GET  /shutdown            "shutting down\n", then the server shuts down
 *                             (through the host, later requests of the
 *                             instance get the export's 500)
 *   GET  /stats               "instance ID requests N live B bytes M
 *                             memory P": the instance's live heap blocks
 *                             and bytes (every malloc/free of the
 *                             statically linked code: the build wraps them,
 *                             -Wl,--wrap) and its memory size
 *   other paths               404; a known path with another method: 405
 * Every answer of /hello, /query, /upload, /echo, /download, /stats and the
 * 404s names its instance in an X-Instance field.
 * Limits of this server: max_body 2 MiB, body timeout 2 s, idle 5 s.
 * With HTTP_HANDLER_MAIN=return in its environment, main returns 3 before
 * making a server (what the export answers then is under test).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

#define MAX_BODY (2u * 1024u * 1024u)
#define BODY_TIMEOUT_NS (2ull * WASIO_NS_PER_S)
#define IDLE_TIMEOUT_NS (5ull * WASIO_NS_PER_S)
#define DOWNLOAD_CHUNK 16384  /* default write size of /download */
#define DOWNLOAD_MAX (64u * 1024u * 1024u)
#define SLOW_MAX_MS 10000
#define MIDWAY_BYTES 1000
#define MIDWAY_ABORT_MS 50
#define TOO_LONG_CL 64
#define TEXT_CAP 2048

/* ---- the instance's live heap (the build wraps the allocator) ------------------ */

static long long live_blocks, live_bytes;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

void *__wrap_malloc(size_t n) {
  void *p = __real_malloc(n);
  if (p != NULL) {
    live_blocks++;
    live_bytes += (long long)malloc_usable_size(p);
  }
  return p;
}
void *__wrap_calloc(size_t n, size_t size) {
  void *p = __real_calloc(n, size);
  if (p != NULL) {
    live_blocks++;
    live_bytes += (long long)malloc_usable_size(p);
  }
  return p;
}
void *__wrap_realloc(void *p, size_t n) {
  size_t before = p != NULL ? malloc_usable_size(p) : 0;
  void *q = __real_realloc(p, n);
  if (q != NULL) {
    if (p == NULL) live_blocks++;
    live_bytes += (long long)malloc_usable_size(q) - (long long)before;
  } else if (p != NULL && n == 0) {
    live_blocks--;
    live_bytes -= (long long)before;
  }
  return q;
}
void __wrap_free(void *p) {
  if (p != NULL) {
    live_blocks--;
    live_bytes -= (long long)malloc_usable_size(p);
  }
  __real_free(p);
}

static uint64_t memory_size(void) {
#if defined(__wasm__)
  return (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
#else
  return 0;
#endif
}

/* ---- helpers ---------------------------------------------------------------------- */

static wasio_loop_t *loop;
static uint64_t instance_id, requests;

typedef struct request {
  wasio_http_exchange_t *ex;
  wasio_timer_t *timer;
  wasio_tcp_t *tcp;        /* /tcp */
  wasio_write_t wreq;
  uint64_t bytes, fnv, sent, total, chunk, start_ns;
  bool chunked, writing, body_done;
  char text[TEXT_CAP];
  wasio_http_header_t tout[WASIO_HTTP_MAX_TRAILERS]; /* /trailers: the response's */
  size_t ntout, tstore_len;
  char tstore[TEXT_CAP];
  uint8_t buf[DOWNLOAD_CHUNK * 4];
  size_t buf_len;
} request_t;

static bool str_eq(wasio_http_str_t s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static const wasio_http_header_t text_plain[] = {{{"Content-Type", 12}, {"text/plain", 10}}};

/* X-Instance: the instance that answered (a host may spread one client's
 * requests over several instances: the reuse test counts per instance). */
static char instance_hex[17];
static wasio_http_header_t instance_field[] = {{{"X-Instance", 10}, {instance_hex, 16}}};
static wasio_http_header_t text_fields[] = {{{"Content-Type", 12}, {"text/plain", 10}},
                                            {{"X-Instance", 10}, {instance_hex, 16}}};

static void text(wasio_http_exchange_t *ex, int status, const char *body) {
  wasio_http_respond(ex, status, text_fields, 2, body, strlen(body));
}

/* FNV-1a, 64 bits: the driver computes the same over what it sent. */
#define FNV_START 0xcbf29ce484222325ull
static uint64_t fnv(uint64_t h, const void *data, size_t len) {
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* Byte i of every /download: the driver makes the same. */
static uint8_t dl_byte(uint64_t i) { return (uint8_t)((i * 131u + (i >> 8) * 7u + 11u) & 0xff); }

static uint64_t wall_ns(void) {
  uint64_t s;
  uint32_t ns;
  wasio_wall_clock(&s, &ns);
  return s * WASIO_NS_PER_S + ns;
}

static void tcp_freed(wasio_tcp_t *tcp) { free(wasio_tcp_data(tcp)); }

static void request_done(wasio_http_exchange_t *ex, int status) {
  (void)status;
  request_t *r = wasio_http_exchange_data(ex);
  if (r->timer != NULL) wasio_timer_close(r->timer, NULL);
  if (r->tcp != NULL) {
    /* The socket's callbacks may still come (phase 4): r goes with it. */
    r->ex = NULL;
    wasio_tcp_close(r->tcp, tcp_freed);
    return;
  }
  free(r);
}

static request_t *request_new(wasio_http_exchange_t *ex) {
  request_t *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->ex = ex;
  r->fnv = FNV_START;
  wasio_http_exchange_set_data(ex, r);
  wasio_http_exchange_on_complete(ex, request_done);
  return r;
}

static uint64_t query_number(wasio_http_str_t query, const char *name, uint64_t dflt) {
  char buf[64];
  wasio_http_query_iter_t it;
  wasio_http_param_t p;
  wasio_http_query_init(&it, query);
  while (wasio_http_query_next(&it, buf, sizeof buf, &p) > 0)
    if (str_eq(p.name, name) && p.value.len > 0 && p.value.len < 20) {
      char num[20];
      memcpy(num, p.value.ptr, p.value.len);
      num[p.value.len] = 0;
      return strtoull(num, NULL, 10);
    }
  return dflt;
}

/* ---- /upload, /trailers: the body in, a digest out --------------------------------- */

static void digest_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  request_t *r = wasio_http_exchange_data(ex);
  r->fnv = fnv(r->fnv, data, len);
  r->bytes += len;
}

static void upload_end(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) return; /* the server answers (413, 408) or the client is gone */
  const wasio_http_trailers_t *t = wasio_http_exchange_trailers(ex);
  size_t k = t != NULL ? t->num_fields : 0;
  int n = snprintf(r->text, sizeof r->text, "bytes %llu fnv %016llx trailers %zu\n", (unsigned long long)r->bytes,
                   (unsigned long long)r->fnv, k);
  for (size_t i = 0; i < k && n > 0 && (size_t)n < sizeof r->text; i++)
    n += snprintf(r->text + n, sizeof r->text - (size_t)n, "trailer %.*s=%.*s\n", (int)t->fields[i].name.len,
                  t->fields[i].name.ptr, (int)t->fields[i].value.len, t->fields[i].value.ptr);
  text(ex, 200, r->text);
}

static void trailers_written(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) return;
  int rc = wasio_http_respond_end_trailers(ex, r->tout, r->ntout);
  if (rc != 0) {
    fprintf(stderr, "http_handler: /trailers: %s\n", wasio_err_name(rc));
    wasio_http_respond_abort(ex, rc);
  }
}

/* Copies s into the request's trailer store: a view of the copy. */
static wasio_http_str_t keep(request_t *r, const char *s, size_t n) {
  if (r->tstore_len + n > sizeof r->tstore) n = 0;
  memcpy(r->tstore + r->tstore_len, s, n);
  wasio_http_str_t v = {r->tstore + r->tstore_len, n};
  r->tstore_len += n;
  return v;
}

static void trailers_end(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) return;
  /* The request's trailers are views valid only now: copied. */
  const wasio_http_trailers_t *t = wasio_http_exchange_trailers(ex);
  char num[40];
  int n = snprintf(num, sizeof num, "%016llx", (unsigned long long)r->fnv);
  r->tout[r->ntout++] = (wasio_http_header_t){{"x-fnv", 5}, keep(r, num, (size_t)n)};
  n = snprintf(num, sizeof num, "%llu", (unsigned long long)r->bytes);
  r->tout[r->ntout++] = (wasio_http_header_t){{"x-bytes", 7}, keep(r, num, (size_t)n)};
  for (size_t i = 0; t != NULL && i < t->num_fields && r->ntout < WASIO_HTTP_MAX_TRAILERS; i++) {
    wasio_http_str_t name = keep(r, "x-echo-", 7);
    wasio_http_str_t rest = keep(r, t->fields[i].name.ptr, t->fields[i].name.len);
    name.len += rest.len;
    r->tout[r->ntout++] = (wasio_http_header_t){name, keep(r, t->fields[i].value.ptr, t->fields[i].value.len)};
  }
  /* Declared up front: hosts may send only the trailers the Trailer
   * field names (wasmtime's does). */
  size_t at = r->tstore_len;
  for (size_t i = 0; i < r->ntout; i++) {
    if (i > 0) keep(r, ", ", 2);
    keep(r, r->tout[i].name.ptr, r->tout[i].name.len);
  }
  wasio_http_header_t h[] = {{{"Content-Type", 12}, {"text/plain", 10}},
                             {{"Trailer", 7}, {r->tstore + at, r->tstore_len - at}}};
  snprintf(r->text, sizeof r->text, "bytes %llu\n", (unsigned long long)r->bytes);
  wasio_http_respond_start(ex, 200, h, 2, -1);
  wasio_http_respond_write(ex, r->text, strlen(r->text), trailers_written);
}

/* ---- /echo: the body back, as it comes ------------------------------------------------ */

static void echo_written(wasio_http_exchange_t *ex, int status);

static void echo_flush(request_t *r) {
  if (r->writing || r->buf_len == 0) {
    if (!r->writing && r->body_done) wasio_http_respond_end(r->ex);
    return;
  }
  r->writing = true;
  wasio_http_exchange_pause(r->ex, true); /* backpressure: no more body while this is out */
  if (wasio_http_respond_write(r->ex, r->buf, r->buf_len, echo_written) < 0) r->writing = false;
}

static void echo_written(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  r->writing = false;
  r->buf_len = 0;
  if (status != 0) return;
  if (r->body_done) {
    wasio_http_respond_end(ex);
    return;
  }
  wasio_http_exchange_pause(ex, false);
}

static void echo_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  request_t *r = wasio_http_exchange_data(ex);
  /* The body is paused while a write is out: one piece at most waits. */
  if (r->buf_len + len > sizeof r->buf) {
    wasio_http_respond_abort(ex, WASIO_ENOBUFS);
    return;
  }
  memcpy(r->buf + r->buf_len, data, len);
  r->buf_len += len;
  echo_flush(r);
}

static void echo_end(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) {
    wasio_http_respond_abort(ex, status);
    return;
  }
  r->body_done = true;
  echo_flush(r);
}

/* ---- /download: generated bytes, a buffer at a time ----------------------------------- */

static void download_next(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) return;
  if (r->sent == r->total) {
    wasio_http_respond_end(ex);
    return;
  }
  size_t n = (size_t)(r->total - r->sent < r->chunk ? r->total - r->sent : r->chunk);
  for (size_t i = 0; i < n; i++) r->buf[i] = dl_byte(r->sent + i);
  r->sent += n;
  wasio_http_respond_write(ex, r->buf, n, download_next);
}

/* ---- /slow, /fail/midway: later, from a timer ----------------------------------------- */

static void slow_fired(wasio_timer_t *t) {
  request_t *r = wasio_timer_data(t);
  snprintf(r->text, sizeof r->text, "start %llu end %llu\n", (unsigned long long)r->start_ns,
           (unsigned long long)wall_ns());
  text(r->ex, 200, r->text);
}

static void midway_fired(wasio_timer_t *t) {
  request_t *r = wasio_timer_data(t);
  wasio_http_respond_abort(r->ex, WASIO_EIO);
}

static void midway_written(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status == 0) wasio_timer_start(r->timer, midway_fired, MIDWAY_ABORT_MS * WASIO_NS_PER_MS, 0);
}

/* ---- /tcp: a TCP connection from inside the handler ----------------------------------- */

static void tcp_fail(request_t *r, const char *what, int status) {
  if (r->ex == NULL) return;
  snprintf(r->text, sizeof r->text, "tcp %s: %s\n", what, wasio_strerror(status));
  text(r->ex, 502, r->text);
}

static void tcp_alloc(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  request_t *r = wasio_tcp_data(tcp);
  buf->base = (char *)r->buf + r->buf_len;
  buf->len = 64 - r->buf_len;
}

static void tcp_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf;
  request_t *r = wasio_tcp_data(tcp);
  if (r->ex == NULL) return;
  if (nread < 0) {
    tcp_fail(r, "read", (int)nread);
    return;
  }
  r->buf_len += (size_t)nread;
  if (memchr(r->buf, '\n', r->buf_len) == NULL && r->buf_len < 64) return;
  wasio_tcp_read_stop(tcp);
  snprintf(r->text, sizeof r->text, "tcp says: %.*s", (int)r->buf_len, (const char *)r->buf);
  text(r->ex, 200, r->text);
}

static void tcp_written(wasio_write_t *req, int status) {
  request_t *r = req->data;
  if (status != 0) tcp_fail(r, "write", status);
}

static void tcp_connected(wasio_tcp_t *tcp, int status) {
  request_t *r = wasio_tcp_data(tcp);
  if (status != 0) {
    tcp_fail(r, "connect", status);
    return;
  }
  r->wreq.data = r;
  int rc = wasio_tcp_write(tcp, &r->wreq, "ping\n", 5, tcp_written);
  if (rc == 0) rc = wasio_tcp_read_start(tcp, tcp_alloc, tcp_read);
  if (rc != 0) tcp_fail(r, "start", rc);
}

/* ---- bad calls --------------------------------------------------------------------------- */

static void ignore_written(wasio_http_exchange_t *ex, int status) {
  (void)ex;
  (void)status;
}

static void bad_second(wasio_http_exchange_t *ex, request_t *r) {
  wasio_http_respond_start(ex, 200, text_plain, 1, -1);
  int a = wasio_http_respond(ex, 200, NULL, 0, "x", 1);
  int b = wasio_http_respond_start(ex, 200, NULL, 0, -1);
  snprintf(r->text, sizeof r->text, "second respond: %s\nsecond respond_start: %s\n", wasio_err_name(a),
           wasio_err_name(b));
  wasio_http_respond_write(ex, r->text, strlen(r->text), ignore_written);
  wasio_http_respond_end(ex);
}

static void bad_too_long(wasio_http_exchange_t *ex, request_t *r) {
  wasio_http_respond_start(ex, 200, text_plain, 1, TOO_LONG_CL);
  char big[TOO_LONG_CL + 1];
  memset(big, 'x', sizeof big);
  int a = wasio_http_respond_write(ex, big, sizeof big, ignore_written);
  memset(r->text, ' ', TOO_LONG_CL);
  int n = snprintf(r->text, sizeof r->text, "write past Content-Length: %s", wasio_err_name(a));
  if (n > 0 && n < TOO_LONG_CL) r->text[n] = ' ';
  r->text[TOO_LONG_CL - 1] = '\n';
  wasio_http_respond_write(ex, r->text, TOO_LONG_CL, ignore_written);
  wasio_http_respond_end(ex);
}

static void bad_after_end(wasio_http_exchange_t *ex, request_t *r) {
  (void)r;
  wasio_http_respond_start(ex, 200, text_plain, 1, -1);
  wasio_http_respond_end(ex);
  int a = wasio_http_respond_write(ex, "late", 4, ignore_written);
  int b = wasio_http_respond_end(ex);
  int c = wasio_http_respond(ex, 200, NULL, 0, NULL, 0);
  printf("bad after-end: write=%s end=%s respond=%s\n", wasio_err_name(a), wasio_err_name(b), wasio_err_name(c));
  fflush(stdout);
}

/* ---- the handler ------------------------------------------------------------------------- */

static void route_405(wasio_http_exchange_t *ex, const char *allow) {
  wasio_http_header_t h[] = {{{"Content-Type", 12}, {"text/plain", 10}}, {{"Allow", 5}, {allow, strlen(allow)}}};
  wasio_http_respond(ex, 405, h, 2, "method not allowed\n", 19);
}

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  requests++;
  wasio_http_target_t t;
  if (wasio_http_target_parse(req->target, &t) < 0) {
    text(ex, 400, "bad request target\n");
    return;
  }
  wasio_http_str_t path = t.path, m = req->method;
  bool get = str_eq(m, "GET") || str_eq(m, "HEAD"), post = str_eq(m, "POST");
  request_t *r = request_new(ex);
  if (r == NULL) {
    text(ex, 503, "out of memory\n");
    return;
  }
  if (str_eq(path, "/hello")) {
    if (!get) {
      route_405(ex, "GET, HEAD");
      return;
    }
    text(ex, 200, "hello from wasio\n");
  } else if (str_eq(path, "/query")) {
    char buf[256];
    wasio_http_query_iter_t it;
    wasio_http_param_t p;
    wasio_http_query_init(&it, t.query);
    snprintf(r->text, sizeof r->text, "name=\n");
    while (wasio_http_query_next(&it, buf, sizeof buf, &p) > 0)
      if (str_eq(p.name, "name")) snprintf(r->text, sizeof r->text, "name=%.*s\n", (int)p.value.len, p.value.ptr);
    text(ex, 200, r->text);
  } else if (str_eq(path, "/upload") || str_eq(path, "/trailers")) {
    if (!post) {
      route_405(ex, "POST");
      return;
    }
    wasio_http_exchange_read_body(ex, digest_data, str_eq(path, "/upload") ? upload_end : trailers_end);
  } else if (str_eq(path, "/echo")) {
    if (!post) {
      route_405(ex, "POST");
      return;
    }
    wasio_http_respond_start(ex, 200, instance_field, 1, -1);
    wasio_http_exchange_read_body(ex, echo_data, echo_end);
  } else if (str_eq(path, "/download")) {
    if (!get) {
      route_405(ex, "GET, HEAD");
      return;
    }
    r->total = query_number(t.query, "bytes", 0);
    r->chunk = query_number(t.query, "chunk", DOWNLOAD_CHUNK);
    if (r->total > DOWNLOAD_MAX || r->chunk == 0 || r->chunk > sizeof r->buf) {
      text(ex, 400, "bytes at most 64 MiB, chunk 1..65536\n");
      return;
    }
    bool chunked = query_number(t.query, "chunked", 0) != 0;
    wasio_http_respond_start(ex, 200, instance_field, 1, chunked ? -1 : (int64_t)r->total);
    download_next(ex, 0);
  } else if (str_eq(path, "/slow")) {
    uint64_t ms = query_number(t.query, "ms", 0);
    if (ms > SLOW_MAX_MS || wasio_timer_new(loop, &r->timer) != 0) {
      text(ex, 400, "ms is at most 10000\n");
      return;
    }
    r->start_ns = wall_ns();
    wasio_timer_set_data(r->timer, r);
    wasio_timer_start(r->timer, slow_fired, ms * WASIO_NS_PER_MS, 0);
  } else if (str_eq(path, "/fail/abort")) {
    wasio_http_respond_abort(ex, WASIO_EIO);
  } else if (str_eq(path, "/fail/forget")) {
    /* Nothing: no response, nothing on the loop. */
  } else if (str_eq(path, "/fail/midway")) {
    if (wasio_timer_new(loop, &r->timer) != 0) {
      text(ex, 503, "no timer\n");
      return;
    }
    wasio_timer_set_data(r->timer, r);
    memset(r->buf, 'm', MIDWAY_BYTES);
    wasio_http_respond_start(ex, 200, text_plain, 1, -1);
    wasio_http_respond_write(ex, r->buf, MIDWAY_BYTES, midway_written);
  } else if (str_eq(path, "/bad/second")) {
    bad_second(ex, r);
  } else if (str_eq(path, "/bad/too-long")) {
    bad_too_long(ex, r);
  } else if (str_eq(path, "/bad/after-end")) {
    bad_after_end(ex, r);
  } else if (str_eq(path, "/tcp")) {
    wasio_addr_t a;
    int rc = wasio_addr_parse("127.0.0.1", (uint16_t)query_number(t.query, "port", 0), &a);
    if (rc == 0) rc = wasio_tcp_new(loop, &r->tcp);
    if (rc == 0) {
      wasio_tcp_set_data(r->tcp, r);
      rc = wasio_tcp_connect(r->tcp, &a, 5 * WASIO_NS_PER_S, tcp_connected);
    }
    if (rc != 0) tcp_fail(r, "connect", rc);
  } else if (str_eq(path, "/shutdown")) {
    text(ex, 200, "shutting down\n");
    wasio_http_server_shutdown(wasio_http_exchange_server(ex), 5 * WASIO_NS_PER_S, NULL);
  } else if (str_eq(path, "/stats")) {
    snprintf(r->text, sizeof r->text, "instance %016llx requests %llu live %lld bytes %lld memory %llu\n",
             (unsigned long long)instance_id, (unsigned long long)requests, live_blocks, live_bytes,
             (unsigned long long)memory_size());
    text(ex, 200, r->text);
  } else {
    text(ex, 404, "not found\n");
  }
}

int main(int argc, char **argv) {
  const char *how = getenv("HTTP_HANDLER_MAIN");
  if (how != NULL && strcmp(how, "return") == 0) return 3;
  unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  wasio_addr_t addr;
  wasio_http_server_t *srv;
  wasio_http_server_opts_t o = {.max_body = MAX_BODY, .body_timeout_ns = BODY_TIMEOUT_NS,
                                .idle_timeout_ns = IDLE_TIMEOUT_NS};
  int rc = wasio_addr_parse("127.0.0.1", (uint16_t)port, &addr);
  if (rc == 0) rc = wasio_random_bytes(&instance_id, sizeof instance_id);
  snprintf(instance_hex, sizeof instance_hex, "%016llx", (unsigned long long)instance_id);
  if (rc == 0) rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_http_server_new(loop, &o, handler, NULL, &srv);
  if (rc == 0) rc = wasio_http_server_listen(srv, &addr, 128);
  if (rc != 0) {
    fprintf(stderr, "http_handler: %s\n", wasio_strerror(rc));
    return 1;
  }
  if (!wasio_http_server_on_host(srv)) {
    wasio_http_server_local_addr(srv, &addr);
    printf("listening on http://127.0.0.1:%u/\n", addr.port);
    fflush(stdout);
  }
  return wasio_loop_run(loop, WASIO_RUN_DEFAULT);
}
