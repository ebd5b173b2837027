/* examples/http-handler: a routing HTTP handler, one C file for both
 * deployments of wasio/http.h:
 *
 *   natively, or as a socket command component (wasio-cc):
 *     http-handler [PORT]          127.0.0.1:PORT (default 8080; 0 picks one)
 *   as a wasi:http handler (wasio-cc --http), served by the host:
 *     tools/wasio-run --serve 127.0.0.1:8080 build/wasm32/examples-http/http-handler.wasm
 *     tools/wasio-run --serve 127.0.0.1:8080 --host jco build/wasm32/examples-http/http-handler.wasm
 *   as a wasi:http 0.3 handler (wasio-cc --p3 --http: one instance serves
 *   several requests at once), served by wasmtime:
 *     tools/wasio-run --serve 127.0.0.1:8080 build/wasm32/examples-p3-http/http-handler.wasm
 *
 * The program does not change between them: main makes the loop and the
 * server, listens, and returns wasio_loop_run(). Through the host, main
 * runs once per instance inside its first request, listen binds the
 * server to the host (the address is ignored), and wasio_loop_run returns
 * at once; each request then reaches handler() on the same loop.
 *
 * Routes, from one table (method, path, function); a path the table has
 * with another method is 405 with Allow, an unknown path 404:
 *   GET  /                  the routes, as text
 *   GET  /hello?name=NAME   "hello, NAME" (the query decoded)
 *   GET  /time              the wall clock as JSON
 *   GET  /wait?ms=N         answers after N ms (at most 10000) from a timer
 *   GET  /count?to=N        "1\n2\n...N\n" streamed (chunked), a line per
 *                           write, N at most 100000
 *   POST /echo              the request body back, streamed as it comes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

#define DEFAULT_PORT 8080
#define WAIT_MAX_MS 10000
#define COUNT_MAX 100000
#define NAME_MAX_BYTES 256
#define ECHO_BUF 65536 /* the request body waits here while a write is out */

typedef struct request {
  wasio_http_exchange_t *ex;
  wasio_timer_t *timer;        /* /wait */
  unsigned long next, to;      /* /count */
  bool writing, body_done;     /* /echo */
  size_t len;
  char line[32];
  char buf[ECHO_BUF];
} request_t;

static wasio_loop_t *loop;

static const wasio_http_header_t text_plain[] = {{{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};

static void text(wasio_http_exchange_t *ex, int status, const char *body) {
  wasio_http_respond(ex, status, text_plain, 1, body, strlen(body));
}

static bool str_eq(wasio_http_str_t s, const char *lit) {
  return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static void request_done(wasio_http_exchange_t *ex, int status) {
  (void)status;
  request_t *r = wasio_http_exchange_data(ex);
  if (r == NULL) return;
  if (r->timer != NULL) wasio_timer_close(r->timer, NULL);
  free(r);
}

/* Per-request state, freed in on_complete (for the routes that answer
 * later or stream). */
static request_t *request_new(wasio_http_exchange_t *ex) {
  request_t *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->ex = ex;
  wasio_http_exchange_set_data(ex, r);
  wasio_http_exchange_on_complete(ex, request_done);
  return r;
}

/* The value of query parameter `name` (decoded) into out; false if absent. */
static bool query_param(wasio_http_str_t query, const char *name, char *out, size_t cap) {
  char buf[NAME_MAX_BYTES * 2];
  wasio_http_query_iter_t it;
  wasio_http_param_t p;
  wasio_http_query_init(&it, query);
  while (wasio_http_query_next(&it, buf, sizeof buf, &p) > 0)
    if (str_eq(p.name, name) && p.value.len < cap) {
      memcpy(out, p.value.ptr, p.value.len);
      out[p.value.len] = 0;
      return true;
    }
  return false;
}

/* ---- routes ------------------------------------------------------------------ */

static void route_index(wasio_http_exchange_t *ex, wasio_http_str_t query);

static void route_hello(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  char name[NAME_MAX_BYTES] = "world", body[NAME_MAX_BYTES + 16];
  query_param(query, "name", name, sizeof name);
  snprintf(body, sizeof body, "hello, %s\n", name);
  text(ex, 200, body);
}

static void route_time(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  (void)query;
  uint64_t secs;
  uint32_t nanos;
  wasio_wall_clock(&secs, &nanos);
  char date[WASIO_HTTP_DATE_LEN + 1], body[128];
  wasio_http_date_format((int64_t)secs, date, sizeof date);
  int n = snprintf(body, sizeof body, "{\"unix\": %llu, \"http_date\": \"%s\"}\n", (unsigned long long)secs, date);
  static const wasio_http_header_t json[] = {{{"Content-Type", 12}, {"application/json", 16}}};
  wasio_http_respond(ex, 200, json, 1, body, (size_t)n);
}

static void wait_fired(wasio_timer_t *t) {
  request_t *r = wasio_timer_data(t);
  text(r->ex, 200, r->line);
}

static void route_wait(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  char num[16] = "0";
  query_param(query, "ms", num, sizeof num);
  unsigned long ms = strtoul(num, NULL, 10);
  if (ms > WAIT_MAX_MS) {
    text(ex, 400, "ms is at most 10000\n");
    return;
  }
  request_t *r = request_new(ex);
  if (r == NULL || wasio_timer_new(loop, &r->timer) != 0) {
    text(ex, 503, "out of memory\n");
    return;
  }
  snprintf(r->line, sizeof r->line, "waited %lu ms\n", ms);
  wasio_timer_set_data(r->timer, r);
  /* The handler returns now; the answer comes from the timer. */
  wasio_timer_start(r->timer, wait_fired, ms * WASIO_NS_PER_MS, 0);
}

/* /count: one line per write; the next line is written from the
 * callback of the last, once the transport took it. */
static void count_next(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) return; /* the client went away: on_complete frees r */
  if (r->next > r->to) {
    wasio_http_respond_end(ex);
    return;
  }
  int n = snprintf(r->line, sizeof r->line, "%lu\n", r->next++);
  wasio_http_respond_write(ex, r->line, (size_t)n, count_next);
}

static void route_count(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  char num[16] = "10";
  query_param(query, "to", num, sizeof num);
  unsigned long to = strtoul(num, NULL, 10);
  if (to > COUNT_MAX) {
    text(ex, 400, "to is at most 100000\n");
    return;
  }
  request_t *r = request_new(ex);
  if (r == NULL) {
    text(ex, 503, "out of memory\n");
    return;
  }
  r->next = 1;
  r->to = to;
  wasio_http_respond_start(ex, 200, text_plain, 1, -1); /* -1: length unknown, chunked */
  count_next(ex, 0);
}

/* /echo: each piece of the body is written back; the body is paused while
 * a write is out, so a client that sends faster than it reads is held
 * back instead of buffered. */
static void echo_written(wasio_http_exchange_t *ex, int status);

static void echo_flush(request_t *r) {
  if (r->writing) return;
  if (r->len > 0) {
    r->writing = true;
    wasio_http_exchange_pause(r->ex, true);
    wasio_http_respond_write(r->ex, r->buf, r->len, echo_written);
  } else if (r->body_done) {
    wasio_http_respond_end(r->ex);
  }
}

static void echo_written(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  r->writing = false;
  r->len = 0;
  if (status != 0) return;
  wasio_http_exchange_pause(ex, false);
  echo_flush(r);
}

static void echo_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  request_t *r = wasio_http_exchange_data(ex);
  if (r->len + len > sizeof r->buf) {
    wasio_http_respond_abort(ex, WASIO_ENOBUFS);
    return;
  }
  memcpy(r->buf + r->len, data, len);
  r->len += len;
  echo_flush(r);
}

static void echo_end(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) {
    /* Cut short (the client left, a limit): so is the answer. */
    wasio_http_respond_abort(ex, status);
    return;
  }
  r->body_done = true;
  echo_flush(r);
}

static void route_echo(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  (void)query;
  if (request_new(ex) == NULL) {
    text(ex, 503, "out of memory\n");
    return;
  }
  wasio_http_respond_start(ex, 200, NULL, 0, -1);
  wasio_http_exchange_read_body(ex, echo_data, echo_end);
}

/* ---- the table and the handler ------------------------------------------------ */

typedef struct route {
  const char *method, *path;
  void (*fn)(wasio_http_exchange_t *ex, wasio_http_str_t query);
} route_t;

static const route_t routes[] = {
    {"GET", "/", route_index},         {"GET", "/hello", route_hello}, {"GET", "/time", route_time},
    {"GET", "/wait", route_wait},      {"GET", "/count", route_count}, {"POST", "/echo", route_echo},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static void route_index(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  (void)query;
  char body[512];
  size_t n = 0;
  for (size_t i = 0; i < NROUTES && n < sizeof body; i++)
    n += (size_t)snprintf(body + n, sizeof body - n, "%s %s\n", routes[i].method, routes[i].path);
  text(ex, 200, body);
}

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  wasio_http_target_t t;
  if (wasio_http_target_parse(req->target, &t) < 0) {
    text(ex, 400, "bad request target\n");
    return;
  }
  /* HEAD is GET without the body (the server drops it). */
  wasio_http_str_t method = str_eq(req->method, "HEAD") ? (wasio_http_str_t){"GET", 3} : req->method;
  char allow[64] = "";
  size_t an = 0;
  for (size_t i = 0; i < NROUTES; i++) {
    if (!str_eq(t.path, routes[i].path)) continue;
    if (str_eq(method, routes[i].method)) {
      routes[i].fn(ex, t.query);
      return;
    }
    an += (size_t)snprintf(allow + an, sizeof allow - an, "%s%s", an ? ", " : "", routes[i].method);
  }
  if (an == 0) {
    text(ex, 404, "not found (GET / lists the routes)\n");
    return;
  }
  wasio_http_header_t h[] = {text_plain[0], {{"Allow", 5}, {allow, an}}};
  wasio_http_respond(ex, 405, h, 2, "method not allowed\n", 19);
}

int main(int argc, char **argv) {
  unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : DEFAULT_PORT;
  wasio_addr_t addr;
  wasio_http_server_t *server;
  int rc = wasio_addr_parse("127.0.0.1", (uint16_t)port, &addr);
  if (rc == 0) rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_http_server_new(loop, NULL, handler, NULL, &server);
  if (rc == 0) rc = wasio_http_server_listen(server, &addr, 128);
  if (rc != 0) {
    fprintf(stderr, "http-handler: %s\n", wasio_strerror(rc));
    return 1;
  }
  if (wasio_http_server_on_host(server)) {
    printf("http-handler: serving the host's requests (wasi:http)\n");
  } else {
    wasio_http_server_local_addr(server, &addr);
    printf("listening on http://127.0.0.1:%u/\n", addr.port);
  }
  fflush(stdout);
  return wasio_loop_run(loop, WASIO_RUN_DEFAULT) < 0 ? 1 : 0;
}
