/* bench/http_serve.c: a minimal wasio HTTP server for the requests/s benchmark.
 *
 *   http_serve [LIFETIME_S [CERT.pem KEY.pem]]
 *
 * Listens on 127.0.0.1 (a port picked by the system), prints the port as the
 * first stdout line, and answers every request with 200 and the 17-byte body
 * "hello from wasio\n" (the same length as nginx_server.py's /small.txt),
 * through the public wasio_http_respond() (the server adds Content-Length
 * and Date), keep-alive. GET /chunks answers with a chunked response
 * streamed as CHUNKS writes of that body (wasio_http_respond_write, each
 * from the previous one's callback): a train of small writes (chunk
 * header, data, CRLF) per response, the case where a host without
 * TCP_NODELAY stalls when each write is its own segment. GET /big answers
 * BIG_LEN (1 MiB) of zeros from static memory: a response a client that
 * does not read cannot take whole (what such a client pins, section 3 of
 * bench/run_http.py). With CERT and KEY (PEM files; in a component, names
 * under the directory wasio-run --dir maps to ".") the server speaks
 * HTTPS. Control paths, used by bench/run_http.py:
 *   GET /mem    answers "heap=BYTES kind=KIND\n": bench_heap_bytes()
 *               (bench/alloc_count.h: malloc'd bytes in use natively, the
 *               size of linear memory in a component);
 *   GET /mark   snapshot of wasio_loop_stats and of the malloc wrapper's
 *               count (bench/alloc_count.h), taken after the warm-up;
 *   GET /stop   prints "RESULT requests=... turns=... polls=...
 *               allocs=... libc_allocs=..." (deltas since /mark; requests
 *               are the handler calls in between, /mark and /stop excluded)
 *               and shuts the server down gracefully (1 s limit).
 * LIFETIME_S (default 120) bounds the run: after it the server shuts down
 * with "ERROR lifetime" on stdout. Only the public API is used, so this one
 * file builds natively and as a component.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"
#include "alloc_count.h"

static const char BODY[] = "hello from wasio\n";
/* Writes per /chunks response. */
#define CHUNKS 8
/* Bytes of a /big response. */
#define BIG_LEN (1u << 20)
static const uint8_t BIG[BIG_LEN];
static char mem_text[96];
static const wasio_http_header_t HEADERS[] = {
  {WASIO_HTTP_STR("Content-Type"), WASIO_HTTP_STR("text/plain")},
};

static wasio_loop_t *loop;
static wasio_http_server_t *server;
static wasio_timer_t *life;
static uint64_t requests, requests_at_mark;
static wasio_loop_stats_t s0;
static uint64_t h0;
static int marked, stopping;

static int is_path(const wasio_http_request_t *req, const char *p) {
  size_t n = strlen(p);
  return req->target.len == n && memcmp(req->target.ptr, p, n) == 0;
}

static void stop_server(void) {
  if (stopping) return;
  stopping = 1;
  wasio_timer_stop(life);
  wasio_timer_close(life, NULL);
  wasio_http_server_shutdown(server, WASIO_NS_PER_S, NULL);
}

static void on_life(wasio_timer_t *t) {
  (void)t;
  printf("ERROR lifetime\n");
  fflush(stdout);
  stop_server();
}

/* The next piece of a /chunks response; the count written so far is the
 * exchange's data (no allocation per request). */
static void chunk_cb(wasio_http_exchange_t *ex, int status) {
  uintptr_t n = (uintptr_t)wasio_http_exchange_data(ex);
  int rc = status;
  if (rc == 0 && n < CHUNKS) {
    wasio_http_exchange_set_data(ex, (void *)(n + 1));
    rc = wasio_http_respond_write(ex, BODY, sizeof BODY - 1, chunk_cb);
  } else if (rc == 0) {
    rc = wasio_http_respond_end(ex);
  }
  if (rc < 0 && status == 0) {
    printf("ERROR chunks: %s\n", wasio_strerror(rc));
    fflush(stdout);
  }
}

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  if (is_path(req, "/chunks")) {
    requests++;
    int rc = wasio_http_respond_start(ex, 200, HEADERS, 1, -1);
    if (rc == 0) {
      wasio_http_exchange_set_data(ex, (void *)(uintptr_t)0);
      chunk_cb(ex, 0);
    } else {
      printf("ERROR respond_start: %s\n", wasio_strerror(rc));
      fflush(stdout);
    }
    return;
  }
  if (is_path(req, "/big")) {
    int rc = wasio_http_respond(ex, 200, HEADERS, 1, BIG, sizeof BIG);
    if (rc < 0) {
      printf("ERROR respond /big: %s\n", wasio_strerror(rc));
      fflush(stdout);
    }
    return;
  }
  if (is_path(req, "/mem")) {
    int n = snprintf(mem_text, sizeof mem_text, "heap=%llu kind=%s\n", (unsigned long long)bench_heap_bytes(),
                     BENCH_HEAP_KIND);
    (void)wasio_http_respond(ex, 200, HEADERS, 1, mem_text, (size_t)n);
    return;
  }
  if (is_path(req, "/mark")) {
    wasio_loop_stats(loop, &s0);
    h0 = bench_heap_allocs;
    requests_at_mark = requests;
    marked = 1;
  } else if (is_path(req, "/stop")) {
    wasio_loop_stats_t s1;
    wasio_loop_stats(loop, &s1);
    uint64_t h1 = bench_heap_allocs;
    if (!marked) {
      s0 = (wasio_loop_stats_t){0};
      h0 = 0;
    }
    printf("RESULT requests=%llu turns=%llu polls=%llu allocs=%llu libc_allocs=%llu marked=%d\n",
           (unsigned long long)(requests - requests_at_mark),
           (unsigned long long)(s1.turns - s0.turns), (unsigned long long)(s1.polls - s0.polls),
           (unsigned long long)(s1.allocations - s0.allocations),
           (unsigned long long)(h1 - h0), marked);
    fflush(stdout);
    wasio_http_respond(ex, 200, HEADERS, 1, BODY, sizeof BODY - 1);
    stop_server();
    return;
  } else {
    requests++;
  }
  int rc = wasio_http_respond(ex, 200, HEADERS, 1, BODY, sizeof BODY - 1);
  if (rc < 0) {
    printf("ERROR respond: %s\n", wasio_strerror(rc));
    fflush(stdout);
  }
}

/* The whole file at `path` in a new buffer (NULL on error). */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0, got;
  do {
    if (n == cap) {
      char *b = realloc(buf, cap = cap ? cap * 2 : 4096);
      if (b == NULL) break;
      buf = b;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
  } while (got > 0);
  fclose(f);
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  long lifetime = argc > 1 ? strtol(argv[1], NULL, 10) : 120;
  if (lifetime <= 0) lifetime = 120;
  wasio_addr_t addr, bound;
  wasio_http_server_opts_t so = {0};
  wasio_tls_config_t *tls = NULL;
  int rc = 0;
  if (argc > 3) {
    size_t cl = 0, kl = 0;
    char *cert = read_file(argv[2], &cl), *key = read_file(argv[3], &kl);
    rc = cert && key ? wasio_tls_config_new(WASIO_TLS_SERVER, &tls) : WASIO_EIO;
    if (rc == 0) rc = wasio_tls_config_cert_pem(tls, cert, cl, key, kl);
    free(cert);
    free(key);
    so.tls = tls;
  }
  if (rc == 0) rc = wasio_addr_parse("127.0.0.1", 0, &addr);
  if (rc == 0) rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_http_server_new(loop, &so, handler, NULL, &server);
  if (rc == 0) rc = wasio_http_server_listen(server, &addr, 1024);
  /* Built with `wasio-cc --http` (bench/run_http.py's wasmtime-serve hosts),
   * the server is bound to the host's incoming-handler: the host owns the
   * port and the instance's life, so there is no port to print, no lifetime
   * timer, and main returns at once, leaving the loop and the server to
   * serve each request the host hands over (docs/WASI_HTTP.md). */
  if (rc == 0 && wasio_http_server_on_host(server)) return wasio_loop_run(loop, WASIO_RUN_DEFAULT) < 0 ? 1 : 0;
  if (rc == 0) rc = wasio_http_server_local_addr(server, &bound);
  if (rc == 0) rc = wasio_timer_new(loop, &life);
  if (rc == 0) rc = wasio_timer_start(life, on_life, (uint64_t)lifetime * WASIO_NS_PER_S, 0);
  if (rc < 0) {
    printf("ERROR set-up: %s\n", wasio_strerror(rc));
    return 1;
  }
  printf("%u\n", (unsigned)bound.port);
  fflush(stdout);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) {
    printf("ERROR loop: %s\n", wasio_strerror(rc));
    return 1;
  }
  wasio_loop_close(loop);
  wasio_tls_config_free(tls);
  return 0;
}
