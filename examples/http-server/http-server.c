/* examples/http-server: an HTTP/1.1 server with a few routes.
 *
 *   http-server [PORT] [IP]       (defaults: 8080 127.0.0.1; PORT 0 picks one)
 *
 * It prints "listening on http://IP:PORT/" first, then serves until killed:
 *   GET  /                   what follows, as text
 *   GET  /hello?name=NAME    "hello, NAME" (the query decoded: %XX and '+')
 *   GET  /time               the wall clock as JSON
 *   GET  /wait?ms=N          answers after N ms (at most 10000) from a
 *                            timer, while other requests are served
 *   POST /count              streams the request body in and answers with
 *                            its length and a checksum
 *   anything else            404, or 405 (with Allow) for a known path
 * What it shows of wasio: one handler for every request, the codec's
 * helpers for the target and the query (wasio/http_codec.h), an answer
 * given later from another callback (a timer), a request body read as a
 * stream, and per-request state freed in on_complete.
 *
 * Try it (tools/wasio-run runs it on wasmtime, --host jco on Node.js):
 *   tools/wasio-run --net build/wasm32/examples/http-server.wasm 8080 &
 *   curl 'http://127.0.0.1:8080/hello?name=wasio+user'
 *   build/wasm32/examples/http-client.wasm fetches several routes at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

#define DEFAULT_PORT 8080
#define WAIT_MAX_MS 10000  /* longest /wait */
#define NAME_MAX_BYTES 256 /* longest decoded name in /hello */
#define PATH_MAX_BYTES 512 /* longest decoded path */

/* State of a request that answers later or reads a body. */
typedef struct request {
  wasio_http_exchange_t *ex;
  wasio_timer_t *timer;  /* /wait */
  uint64_t count;        /* /count: bytes so far */
  uint32_t sum, sum2;    /* /count: the Adler-32 of the body, so far */
  char answer[128];
} request_t;

static wasio_loop_t *loop;

static bool str_eq(wasio_http_str_t s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static const wasio_http_header_t text_plain[] = {{{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};

static void text(wasio_http_exchange_t *ex, int status, const char *body) {
  wasio_http_respond(ex, status, text_plain, 1, body, strlen(body));
}

static void request_done(wasio_http_exchange_t *ex, int status) {
  (void)status;
  request_t *r = wasio_http_exchange_data(ex);
  if (r->timer != NULL) wasio_timer_close(r->timer, NULL);
  free(r);
}

static request_t *request_new(wasio_http_exchange_t *ex) {
  request_t *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->ex = ex;
  wasio_http_exchange_set_data(ex, r);
  wasio_http_exchange_on_complete(ex, request_done);
  return r;
}

/* ---- routes ---------------------------------------------------------------- */

static void route_hello(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  char name[NAME_MAX_BYTES] = "world", buf[NAME_MAX_BYTES * 2];
  wasio_http_query_iter_t it;
  wasio_http_param_t p;
  wasio_http_query_init(&it, query);
  int rc;
  while ((rc = wasio_http_query_next(&it, buf, sizeof buf, &p)) != 0) {
    if (rc < 0) {
      text(ex, 400, "a query parameter is malformed (or too long)\n");
      return;
    }
    if (str_eq(p.name, "name") && p.value.len < sizeof name) {
      memcpy(name, p.value.ptr, p.value.len);
      name[p.value.len] = 0;
    }
  }
  char body[NAME_MAX_BYTES + 16];
  snprintf(body, sizeof body, "hello, %s\n", name);
  text(ex, 200, body);
}

static void route_time(wasio_http_exchange_t *ex) {
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
  text(r->ex, 200, r->answer);
}

static void route_wait(wasio_http_exchange_t *ex, wasio_http_str_t query) {
  unsigned long ms = 0;
  char buf[64];
  wasio_http_query_iter_t it;
  wasio_http_param_t p;
  wasio_http_query_init(&it, query);
  while (wasio_http_query_next(&it, buf, sizeof buf, &p) > 0)
    if (str_eq(p.name, "ms") && p.value.len > 0 && p.value.len < 8) {
      char num[8];
      memcpy(num, p.value.ptr, p.value.len);
      num[p.value.len] = 0;
      ms = strtoul(num, NULL, 10);
    }
  if (ms > WAIT_MAX_MS) {
    text(ex, 400, "ms is at most 10000\n");
    return;
  }
  request_t *r = request_new(ex);
  if (r == NULL || wasio_timer_new(loop, &r->timer) != 0) {
    text(ex, 503, "out of memory\n");
    return;
  }
  snprintf(r->answer, sizeof r->answer, "waited %lu ms\n", ms);
  wasio_timer_set_data(r->timer, r);
  /* The handler returns now; the answer comes from the timer. */
  wasio_timer_start(r->timer, wait_fired, ms * WASIO_NS_PER_MS, 0);
}

static void count_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  request_t *r = wasio_http_exchange_data(ex);
  const uint8_t *p = data;
  for (size_t i = 0; i < len; i++) {
    r->sum = (r->sum + p[i]) % 65521;
    r->sum2 = (r->sum2 + r->sum) % 65521;
  }
  r->count += len;
}

static void count_end(wasio_http_exchange_t *ex, int status) {
  request_t *r = wasio_http_exchange_data(ex);
  if (status != 0) {
    /* The server answers a body over its limit itself (413); anything else
     * means the client went away or broke the framing. */
    if (status != WASIO_ELIMIT) text(ex, 400, "the request body did not arrive whole\n");
    return;
  }
  snprintf(r->answer, sizeof r->answer, "%llu bytes, adler32 %08x\n", (unsigned long long)r->count,
           (unsigned)(r->sum2 << 16 | r->sum));
  text(ex, 200, r->answer);
}

static void route_count(wasio_http_exchange_t *ex) {
  request_t *r = request_new(ex);
  if (r == NULL) {
    text(ex, 503, "out of memory\n");
    return;
  }
  r->sum = 1; /* Adler-32 (RFC 1950) starts at 1 */
  wasio_http_exchange_read_body(ex, count_data, count_end);
}

static void method_not_allowed(wasio_http_exchange_t *ex, const char *allow) {
  wasio_http_header_t h[] = {{{"Allow", 5}, {allow, strlen(allow)}}, text_plain[0]};
  static const char body[] = "method not allowed\n";
  wasio_http_respond(ex, 405, h, 2, body, sizeof body - 1);
}

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  wasio_http_target_t t;
  char path[PATH_MAX_BYTES];
  bool above = false;
  int n;
  if (wasio_http_target_parse(req->target, &t) < 0 ||
      (t.form != WASIO_HTTP_TARGET_ORIGIN && t.form != WASIO_HTTP_TARGET_ABSOLUTE) ||
      (n = wasio_http_percent_decode(t.path.ptr, t.path.len, path, sizeof path, 0)) < 0 ||
      (n = wasio_http_path_remove_dots(path, (size_t)n, path, sizeof path, &above)) < 0 || above) {
    text(ex, 400, "bad request target\n");
    return;
  }
  wasio_http_str_t p = {path, (size_t)n};
  bool get = str_eq(req->method, "GET") || str_eq(req->method, "HEAD");
  if (str_eq(p, "/")) {
    if (!get) {
      method_not_allowed(ex, "GET, HEAD");
      return;
    }
    text(ex, 200,
         "wasio http-server example\n"
         "GET  /hello?name=NAME\n"
         "GET  /time\n"
         "GET  /wait?ms=N        (N <= 10000)\n"
         "POST /count            (answers with the body's length and Adler-32)\n");
  } else if (str_eq(p, "/hello")) {
    if (!get) {
      method_not_allowed(ex, "GET, HEAD");
      return;
    }
    route_hello(ex, t.query);
  } else if (str_eq(p, "/time")) {
    if (!get) {
      method_not_allowed(ex, "GET, HEAD");
      return;
    }
    route_time(ex);
  } else if (str_eq(p, "/wait")) {
    if (!get) {
      method_not_allowed(ex, "GET, HEAD");
      return;
    }
    route_wait(ex, t.query);
  } else if (str_eq(p, "/count")) {
    if (!str_eq(req->method, "POST")) {
      method_not_allowed(ex, "POST");
      return;
    }
    route_count(ex);
  } else {
    text(ex, 404, "not found\n");
  }
}

int main(int argc, char **argv) {
  unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : DEFAULT_PORT;
  const char *ip = argc > 2 ? argv[2] : "127.0.0.1";
  wasio_addr_t addr;
  if (port > 65535 || wasio_addr_parse(ip, (uint16_t)port, &addr) != 0) {
    fprintf(stderr, "usage: http-server [PORT] [IP]\n");
    return 2;
  }
  wasio_http_server_t *srv;
  int rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_http_server_new(loop, NULL, handler, NULL, &srv);
  if (rc == 0) rc = wasio_http_server_listen(srv, &addr, 0);
  if (rc != 0) {
    fprintf(stderr, "http-server: %s (%s)\n", wasio_strerror(rc),
            rc == WASIO_EACCES ? "no network: run with tools/wasio-run --net" : ip);
    return 1;
  }
  wasio_addr_t bound;
  char text_addr[WASIO_ADDR_STRLEN];
  wasio_http_server_local_addr(srv, &bound);
  wasio_addr_format(&bound, text_addr, sizeof text_addr);
  printf("listening on http://%s/\n", text_addr);
  fflush(stdout);
  return wasio_loop_run(loop, WASIO_RUN_DEFAULT) < 0 ? 1 : 0;
}
