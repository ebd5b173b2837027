/* examples/http-proxy: a small reverse proxy: every request is passed to
 * an upstream HTTP server and its answer streamed back as it comes. One C
 * file for both deployments of wasio/http.h:
 *
 *   natively, or as a socket command component (wasio-cc):
 *     http-proxy [PORT [UPSTREAM]]   127.0.0.1:PORT (default 8081; 0 picks one)
 *   as a wasi:http handler (wasio-cc --http), served by the host, calling
 *   the upstream through the host's wasi:http/outgoing-handler:
 *     tools/wasio-run --serve 127.0.0.1:8081 --env UPSTREAM=http://127.0.0.1:8080 \
 *       build/wasm32/examples-http/http-proxy.wasm        (add --host jco for jco serve)
 *   as a wasi:http 0.3 handler (wasio-cc --p3 --http), calling the upstream
 *   through wasi:http/client@0.3.0:
 *     tools/wasio-run --serve 127.0.0.1:8081 --env UPSTREAM=http://127.0.0.1:8080 \
 *       build/wasm32/examples-p3-http/http-proxy.wasm
 *
 * UPSTREAM (the second argument, else the UPSTREAM environment variable,
 * else http://127.0.0.1:8080) is an http:// or https:// base URL; the
 * request's target is appended to it. The same client API takes each
 * call over sockets natively and over the host's outgoing-handler in the
 * --http build (the client's AUTO transport): nothing here says which.
 *
 * What it shows of wasio:
 * - the request body streamed up (body_read pulls what on_data brought;
 *   the request is paused while that buffer is full, the upload resumed
 *   when bytes arrive), and the answer streamed down (respond_start with
 *   the upstream's length, a respond_write per piece, the call paused
 *   while a write is out): neither side is ever held whole;
 * - hop-by-hop fields (RFC 9110 section 7.6.1) dropped both ways, Via
 *   added; Host and the framing are the client's and the server's;
 * - failures: 502 with the reason when the upstream fails before its
 *   answer started, an aborted response (never a shorter one that looks
 *   whole) when it fails after; a client that goes away cancels the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

#define DEFAULT_PORT 8081
#define DEFAULT_UPSTREAM "http://127.0.0.1:8080"
#define URL_MAX 2048
#define UP_BUF 65536     /* a piece of the request body waiting for the upload */
#define DOWN_BUF 131072  /* pieces of the answer waiting for the client */
#define MAX_FIELDS 64

typedef struct proxy {
  wasio_http_exchange_t *ex;
  wasio_http_call_t *call;
  bool up_done, up_waiting, down_writing, call_done, answered, ex_done;
  int call_status;
  size_t up_len, down_len, down_sent;
  char url[URL_MAX];
  char up[UP_BUF];
  char down[DOWN_BUF];
} proxy_t;

static wasio_loop_t *loop;
static wasio_http_client_t *client;
static const char *upstream;

static const wasio_http_header_t text_plain[] = {{{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};

/* Fields that belong to one connection, not to the message (RFC 9110
 * section 7.6.1), and those the client and the server set themselves. */
static bool hop_by_hop(wasio_http_str_t name) {
  static const char *const names[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                      "te", "trailer", "upgrade", "host", "content-length", "date",
                                      "proxy-authenticate", "proxy-authorization"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t n = strlen(names[i]), k = 0;
    if (name.len != n) continue;
    while (k < n && (name.ptr[k] | 0x20) == names[i][k]) k++;
    if (k == n) return true;
  }
  return false;
}

/* The fields of `in` worth passing on, plus Via. */
static size_t pass_fields(const wasio_http_header_t *in, size_t n, wasio_http_header_t *out) {
  size_t m = 0;
  for (size_t i = 0; i < n && m < MAX_FIELDS - 1; i++)
    if (!hop_by_hop(in[i].name)) out[m++] = in[i];
  out[m++] = (wasio_http_header_t){{"Via", 3}, {"1.1 wasio-proxy", 15}};
  return m;
}

/* Freed when both the exchange and the call are over, whichever is last. */
static void proxy_maybe_free(proxy_t *p) {
  if (p->ex_done && p->call_done) free(p);
}

/* ---- down: the answer, streamed back -------------------------------------------- */

static void down_written(wasio_http_exchange_t *ex, int status);

static void down_flush(proxy_t *p) {
  if (p->down_writing || p->ex_done) return;
  if (p->down_len > 0) {
    p->down_writing = true;
    p->down_sent = p->down_len;
    if (p->call != NULL) wasio_http_call_pause(p->call, true); /* nothing more until the client took this */
    if (wasio_http_respond_write(p->ex, p->down, p->down_sent, down_written) < 0) p->down_writing = false;
  } else if (p->call_done && p->answered) {
    if (p->call_status == 0)
      wasio_http_respond_end(p->ex);
    else
      wasio_http_respond_abort(p->ex, p->call_status); /* cut short, as the upstream's answer was */
  }
}

static void down_written(wasio_http_exchange_t *ex, int status) {
  proxy_t *p = wasio_http_exchange_data(ex);
  p->down_writing = false;
  if (status != 0) return; /* the client is gone: on_complete cancels the call */
  memmove(p->down, p->down + p->down_sent, p->down_len - p->down_sent);
  p->down_len -= p->down_sent;
  if (p->down_len == 0 && p->call != NULL && !p->call_done) wasio_http_call_pause(p->call, false);
  down_flush(p);
}

static void on_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  proxy_t *p = wasio_http_call_data(call);
  wasio_http_header_t fields[MAX_FIELDS];
  size_t n = pass_fields(res->headers, res->num_headers, fields);
  int64_t length = res->framing.has_content_length ? (int64_t)res->framing.content_length : -1;
  if (res->status < 200 || res->status == 204 || res->status == 304) length = -1; /* no body follows */
  int rc = wasio_http_respond_start(p->ex, res->status, fields, n, length);
  if (rc == 0) {
    p->answered = true;
    return;
  }
  int m = snprintf(p->down, sizeof p->down, "http-proxy: the upstream's answer cannot be passed on: %s\n",
                   wasio_strerror(rc));
  wasio_http_respond(p->ex, 502, text_plain, 1, p->down, (size_t)m);
  wasio_http_call_cancel(call);
}

static void on_body(wasio_http_call_t *call, const void *data, size_t len) {
  proxy_t *p = wasio_http_call_data(call);
  if (p->ex_done) return;
  if (p->down_len + len > sizeof p->down) { /* the pause did not hold: give up cleanly */
    wasio_http_respond_abort(p->ex, WASIO_ENOBUFS);
    wasio_http_call_cancel(call);
    return;
  }
  memcpy(p->down + p->down_len, data, len);
  p->down_len += len;
  down_flush(p);
}

static void on_done(wasio_http_call_t *call, int status) {
  proxy_t *p = wasio_http_call_data(call);
  p->call = NULL;
  p->call_done = true;
  p->call_status = status;
  if (!p->ex_done) {
    if (!p->answered) {
      int m = snprintf(p->down, sizeof p->down, "http-proxy: %s: %s\n", p->url, wasio_strerror(status));
      wasio_http_respond(p->ex, 502, text_plain, 1, p->down, (size_t)m);
    } else {
      down_flush(p);
    }
  }
  proxy_maybe_free(p);
}

/* ---- up: the request body, streamed to the upstream -------------------------------- */

static ptrdiff_t up_read(wasio_http_call_t *call, void *buf, size_t cap) {
  proxy_t *p = wasio_http_call_data(call);
  if (p->up_len == 0) {
    if (p->up_done) return 0;
    p->up_waiting = true;
    return WASIO_EAGAIN; /* up_data resumes the upload */
  }
  size_t n = p->up_len < cap ? p->up_len : cap;
  memcpy(buf, p->up, n);
  memmove(p->up, p->up + n, p->up_len - n);
  p->up_len -= n;
  if (p->up_len == 0 && !p->ex_done) wasio_http_exchange_pause(p->ex, false); /* taken: the next piece */
  return (ptrdiff_t)n;
}

/* Each piece of the request body waits in p->up until the upload took it:
 * the request is paused meanwhile, so one piece at most waits (the pause
 * takes effect before the next on_data). */
static void up_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  proxy_t *p = wasio_http_exchange_data(ex);
  if (p->up_len + len > sizeof p->up) {
    wasio_http_respond_abort(ex, WASIO_ENOBUFS);
    return;
  }
  memcpy(p->up + p->up_len, data, len);
  p->up_len += len;
  wasio_http_exchange_pause(ex, true);
  if (p->up_waiting && p->call != NULL) {
    p->up_waiting = false;
    wasio_http_call_resume_upload(p->call);
  }
}

static void up_end(wasio_http_exchange_t *ex, int status) {
  proxy_t *p = wasio_http_exchange_data(ex);
  p->up_done = true;
  if (status != 0) {
    if (p->call != NULL) wasio_http_call_cancel(p->call); /* the client's body broke: so does the call */
    return;
  }
  if (p->up_waiting && p->call != NULL) {
    p->up_waiting = false;
    wasio_http_call_resume_upload(p->call);
  }
}

/* ---- the exchange ------------------------------------------------------------------- */

static void ex_complete(wasio_http_exchange_t *ex, int status) {
  proxy_t *p = wasio_http_exchange_data(ex);
  (void)status;
  p->ex_done = true;
  if (p->call != NULL) wasio_http_call_cancel(p->call); /* on_done frees p then */
  proxy_maybe_free(p);
}

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  proxy_t *p = calloc(1, sizeof *p);
  if (p == NULL) {
    wasio_http_respond(ex, 503, text_plain, 1, "out of memory\n", 14);
    return;
  }
  p->ex = ex;
  p->call_done = true; /* until a call starts */
  wasio_http_exchange_set_data(ex, p);
  wasio_http_exchange_on_complete(ex, ex_complete);
  int n = snprintf(p->url, sizeof p->url, "%s%.*s", upstream, (int)req->target.len, req->target.ptr);
  if (n < 0 || (size_t)n >= sizeof p->url || req->target.len == 0 || req->target.ptr[0] != '/') {
    wasio_http_respond(ex, 400, text_plain, 1, "http-proxy: origin-form targets only\n", 37);
    return;
  }
  wasio_http_header_t fields[MAX_FIELDS];
  char method[32];
  snprintf(method, sizeof method, "%.*s", (int)req->method.len, req->method.ptr);
  bool has_body = req->framing.body != WASIO_HTTP_BODY_NONE;
  wasio_http_call_opts_t o = {
      .method = method,
      .url = p->url,
      .headers = fields,
      .num_headers = pass_fields(req->headers, req->num_headers, fields),
      .body_read = has_body ? up_read : NULL,
      .body_length = req->framing.has_content_length ? (int64_t)req->framing.content_length : -1,
      .max_redirects = 0, /* the client sees the upstream's redirects, as from the upstream itself */
      .data = p,
      .on_response = on_response,
      .on_body = on_body,
      .on_done = on_done,
  };
  int rc = wasio_http_call_start(client, &o, &p->call);
  if (rc != 0) {
    int m = snprintf(p->down, sizeof p->down, "http-proxy: %s: %s\n", p->url, wasio_strerror(rc));
    wasio_http_respond(ex, 502, text_plain, 1, p->down, (size_t)m);
    return;
  }
  p->call_done = false;
  if (has_body) wasio_http_exchange_read_body(ex, up_data, up_end);
}

int main(int argc, char **argv) {
  unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : DEFAULT_PORT;
  upstream = argc > 2 ? argv[2] : getenv("UPSTREAM");
  if (upstream == NULL || upstream[0] == 0) upstream = DEFAULT_UPSTREAM;
  wasio_url_t u;
  size_t ul = strlen(upstream);
  if (ul > 0 && upstream[ul - 1] == '/') {
    fprintf(stderr, "http-proxy: UPSTREAM is a base URL without a trailing slash: %s\n", upstream);
    return 2;
  }
  if (wasio_url_parse(upstream, ul, &u) < 0) {
    fprintf(stderr, "http-proxy: UPSTREAM is not an http:// or https:// URL: %s\n", upstream);
    return 2;
  }
  wasio_addr_t addr;
  wasio_http_server_t *server;
  int rc = wasio_addr_parse("127.0.0.1", (uint16_t)port, &addr);
  if (rc == 0) rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_http_client_new(loop, NULL, &client);
  if (rc == 0) rc = wasio_http_server_new(loop, NULL, handler, NULL, &server);
  if (rc == 0) rc = wasio_http_server_listen(server, &addr, 128);
  if (rc != 0) {
    fprintf(stderr, "http-proxy: %s\n", wasio_strerror(rc));
    return 1;
  }
  if (wasio_http_server_on_host(server)) {
    printf("http-proxy: serving the host's requests (wasi:http), upstream %s (%s)\n", upstream,
           wasio_http_transport_name(wasio_http_client_transport(client)));
  } else {
    wasio_http_server_local_addr(server, &addr);
    printf("listening on http://127.0.0.1:%u/ upstream %s\n", addr.port, upstream);
  }
  fflush(stdout);
  return wasio_loop_run(loop, WASIO_RUN_DEFAULT) < 0 ? 1 : 0;
}
