/* bench/http_wait.c: the handler of the wasi:http waiting benchmark
 * (bench/run_wasi_http.py, `make bench-wasi-http`; docs/WASI_HTTP.md).
 *
 * One wasio HTTP server, built two ways from this file: natively or as a
 * socket command (`http_wait PORT`), and with `wasio-cc --http` as a
 * wasi:http handler for `wasmtime serve` and `jco serve`. Two routes, each
 * a guest that waits without using the CPU:
 *   GET /wait?ms=N          answers after N ms of a wasio timer
 *   GET /upstream?port=P    answers with what http://127.0.0.1:P/ answers
 *                           (an outgoing call: sockets natively, the host's
 *                           wasi:http/outgoing-handler in the --http build)
 * The question it answers: does a guest that waits (in wasi:io/poll) hold
 * one of the host's threads for the whole wait?
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"
#include "alloc_count.h" /* the benchmarks link with BENCH_WRAP (Makefile) */

#define WAIT_MAX_MS 10000
#define UPSTREAM_MAX_BODY 65536
#define UPSTREAM_CONNS 256 /* so that the pool does not limit the upstream route */

typedef struct request {
  wasio_http_exchange_t *ex;
  wasio_timer_t *timer;
  char body[UPSTREAM_MAX_BODY];
  size_t len;
} request_t;

static wasio_loop_t *loop;
static wasio_http_client_t *client;

static void text(wasio_http_exchange_t *ex, int status, const char *body) {
  static const wasio_http_header_t h[] = {{{"Content-Type", 12}, {"text/plain", 10}}};
  wasio_http_respond(ex, status, h, 1, body, strlen(body));
}

static unsigned long query_number(wasio_http_str_t query, const char *name) {
  char buf[64];
  wasio_http_query_iter_t it;
  wasio_http_param_t p;
  wasio_http_query_init(&it, query);
  while (wasio_http_query_next(&it, buf, sizeof buf, &p) > 0)
    if (p.name.len == strlen(name) && memcmp(p.name.ptr, name, p.name.len) == 0 && p.value.len > 0 &&
        p.value.len < 12) {
      char num[12];
      memcpy(num, p.value.ptr, p.value.len);
      num[p.value.len] = 0;
      return strtoul(num, NULL, 10);
    }
  return 0;
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

static void wait_fired(wasio_timer_t *t) {
  request_t *r = wasio_timer_data(t);
  text(r->ex, 200, "waited\n");
}

static void up_body(wasio_http_call_t *call, const void *data, size_t len) {
  request_t *r = wasio_http_call_data(call);
  if (r->len + len <= sizeof r->body) memcpy(r->body + r->len, data, len);
  r->len += len;
}

static void up_done(wasio_http_call_t *call, int status) {
  request_t *r = wasio_http_call_data(call);
  if (status != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "upstream: %s\n", wasio_strerror(status));
    text(r->ex, 502, msg);
  } else if (r->len > sizeof r->body) {
    text(r->ex, 502, "upstream: body too large\n");
  } else {
    wasio_http_respond(r->ex, 200, NULL, 0, r->body, r->len);
  }
}

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  wasio_http_target_t t;
  if (wasio_http_target_parse(req->target, &t) < 0) {
    text(ex, 400, "bad request target\n");
    return;
  }
  wasio_http_str_t path = t.path, query = t.query;
  request_t *r = request_new(ex);
  if (r == NULL) {
    text(ex, 503, "out of memory\n");
    return;
  }
  if (path.len == 5 && memcmp(path.ptr, "/wait", 5) == 0) {
    unsigned long ms = query_number(query, "ms");
    if (ms > WAIT_MAX_MS) {
      text(ex, 400, "ms is at most 10000\n");
      return;
    }
    if (wasio_timer_new(loop, &r->timer) != 0) {
      text(ex, 503, "no timer\n");
      return;
    }
    wasio_timer_set_data(r->timer, r);
    wasio_timer_start(r->timer, wait_fired, ms * WASIO_NS_PER_MS, 0);
  } else if (path.len == 9 && memcmp(path.ptr, "/upstream", 9) == 0) {
    unsigned long port = query_number(query, "port");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%lu/", port);
    wasio_http_call_opts_t o = {.url = url, .data = r, .on_body = up_body, .on_done = up_done};
    int rc = port > 0 && port < 65536 ? wasio_http_call_start(client, &o, NULL) : WASIO_EINVAL;
    if (rc != 0) {
      char msg[128];
      snprintf(msg, sizeof msg, "upstream: %s\n", wasio_strerror(rc));
      text(ex, 502, msg);
    }
  } else {
    text(ex, 404, "routes: /wait?ms=N, /upstream?port=P\n");
  }
}

int main(int argc, char **argv) {
  unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 8080;
  wasio_addr_t addr;
  wasio_http_server_t *srv;
  int rc = wasio_addr_parse("127.0.0.1", (uint16_t)port, &addr);
  if (rc == 0) rc = wasio_loop_new(&loop);
  wasio_http_client_opts_t co = {.max_conns_per_origin = UPSTREAM_CONNS, .max_idle_per_origin = UPSTREAM_CONNS};
  if (rc == 0) rc = wasio_http_client_new(loop, &co, &client);
  if (rc == 0) rc = wasio_http_server_new(loop, NULL, handler, NULL, &srv);
  if (rc == 0) rc = wasio_http_server_listen(srv, &addr, 0);
  if (rc != 0) {
    fprintf(stderr, "http_wait: %s\n", wasio_strerror(rc));
    return 1;
  }
  return wasio_loop_run(loop, WASIO_RUN_DEFAULT) < 0 ? 1 : 0;
}
