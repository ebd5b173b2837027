/* bench/http_get.c: many GETs through wasio's HTTP client, for requests/s.
 *
 *   http_get URL [N CONNS]
 *   http_get --idle CONNS URL [CA.pem]
 *
 * One wasio_http_client (max_conns_per_origin = max_idle_per_origin =
 * CONNS) keeps CONNS calls in flight until N GETs of URL (default 10000
 * over 32) have completed; each on_done starts the next. Every response
 * must be 200 with the expected body length (the first response's), or the
 * run fails. The clock runs from the first call started to the last
 * on_done, connection set-up included (as for curl --parallel). Connections
 * opened are counted from nginx's X-Connection-Requests field (value 1 on
 * the first request of a connection; -1 when the server does not send it).
 * Prints "RESULT requests=... seconds=... rps=... conns=... body_bytes=...
 * turns=... polls=... allocs=... libc_allocs=..." (stats deltas over the
 * timed span; allocations: wasio_loop_stats / bench/alloc_count.h). Any
 * error prints "ERROR ..." and exits 1. Only the public API is used, so
 * this one file builds natively and as a component.
 *
 * --idle measures the memory of idle pooled connections: one warm-up GET
 * (one pooled connection, the client's buffers made), then bench_heap_bytes()
 * (bench/alloc_count.h), then CONNS GETs at once (CONNS-1 new connections;
 * every one back in the pool when all are done), bench_heap_bytes() again,
 * and "RESULT idle_conns=CONNS-1 heap_before=... heap_after=...
 * per_conn=... kind=..." (per_conn = the difference / (CONNS-1)). For an
 * https URL, CA.pem (a file; in a component, a name under the directory
 * wasio-run --dir maps to ".") is trusted besides the built-in roots.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wasio.h"
#include "alloc_count.h"

static wasio_loop_t *loop;
static wasio_http_client_t *client;
static const char *url;
static long total, conns;
static long started, completed, new_conns = -1;
static int64_t expect_len = -1;
static uint64_t body_bytes, t0, t1;
static wasio_loop_stats_t s0, s1;
static uint64_t h0, h1;
static int failed;

typedef struct call_state {
  int status_code;
  uint64_t len;
} call_state_t;

static call_state_t *states;

static void fail(const char *what, int status) {
  if (failed) return;
  failed = 1;
  printf("ERROR %s: %s (%s)\n", what, wasio_strerror(status), wasio_err_name(status));
  fflush(stdout);
  wasio_http_client_close(client, NULL);
}

static void start_one(long slot);
/* What on_done the calls get: on_done, or idle_done with --idle. */
static void (*done_fn)(wasio_http_call_t *call, int status);

static void on_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  call_state_t *st = wasio_http_call_data(call);
  st->status_code = res->status;
  for (size_t i = 0; i < res->num_headers; i++) {
    const wasio_http_header_t *h = &res->headers[i];
    if (h->name.len == 21 && strncasecmp(h->name.ptr, "X-Connection-Requests", 21) == 0) {
      if (new_conns < 0) new_conns = 0;
      if (h->value.len == 1 && h->value.ptr[0] == '1') new_conns++;
    }
  }
}

static void on_body(wasio_http_call_t *call, const void *data, size_t len) {
  (void)data;
  call_state_t *st = wasio_http_call_data(call);
  st->len += len;
}

static void on_done(wasio_http_call_t *call, int status) {
  call_state_t *st = wasio_http_call_data(call);
  if (failed) return;
  if (status < 0) {
    fail("call", status);
    return;
  }
  if (st->status_code != 200) {
    printf("ERROR status %d\n", st->status_code);
    fflush(stdout);
    failed = 1;
    wasio_http_client_close(client, NULL);
    return;
  }
  if (expect_len < 0) expect_len = (int64_t)st->len;
  if ((int64_t)st->len != expect_len) {
    printf("ERROR body length %llu, expected %lld\n", (unsigned long long)st->len,
           (long long)expect_len);
    fflush(stdout);
    failed = 1;
    wasio_http_client_close(client, NULL);
    return;
  }
  body_bytes += st->len;
  completed++;
  if (started < total) {
    start_one(st - states);
  } else if (completed == total) {
    t1 = wasio_loop_update_time(loop);
    wasio_loop_stats(loop, &s1);
    h1 = bench_heap_allocs;
    wasio_http_client_close(client, NULL);
  }
}

static void start_one(long slot) {
  call_state_t *st = &states[slot];
  st->status_code = 0;
  st->len = 0;
  wasio_http_call_opts_t o = {0};
  o.url = url;
  o.max_redirects = 0;
  o.data = st;
  o.on_response = on_response;
  o.on_body = on_body;
  o.on_done = done_fn != NULL ? done_fn : on_done;
  started++;
  int rc = wasio_http_call_start(client, &o, NULL);
  if (rc < 0) fail("call_start", rc);
}

/* ---- --idle --------------------------------------------------------------------------- */

static long idle_phase; /* 0 warm-up, 1 the wave of CONNS calls */
static uint64_t idle_m0, idle_m1;

static void idle_done(wasio_http_call_t *call, int status) {
  call_state_t *st = wasio_http_call_data(call);
  if (failed) return;
  if (status < 0 || st->status_code != 200) {
    if (status < 0) fail("call", status);
    else {
      printf("ERROR status %d\n", st->status_code);
      failed = 1;
      wasio_http_client_close(client, NULL);
    }
    return;
  }
  completed++;
  if (idle_phase == 0) {
    /* One pooled connection now; the client has made its buffers. */
    idle_phase = 1;
    completed = 0;
    idle_m0 = bench_heap_bytes();
    for (long i = 0; i < conns && !failed; i++) start_one(i);
    return;
  }
  if (completed == conns) {
    /* Every call is done: each connection is back in the pool, idle. */
    idle_m1 = bench_heap_bytes();
    wasio_http_client_close(client, NULL);
  }
}

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

static int idle_main(int argc, char **argv) {
  conns = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
  url = argc > 3 ? argv[3] : NULL;
  if (conns < 2 || conns > 4096 || url == NULL) {
    fprintf(stderr, "usage: http_get --idle CONNS URL [CA.pem]\n");
    return 2;
  }
  states = calloc((size_t)conns, sizeof *states);
  wasio_tls_config_t *tls = NULL;
  int rc = states ? 0 : WASIO_ENOMEM;
  if (rc == 0 && argc > 4) {
    size_t n = 0;
    char *pem = read_file(argv[4], &n);
    rc = pem ? wasio_tls_config_new(WASIO_TLS_CLIENT, &tls) : WASIO_EIO;
    if (rc == 0) rc = wasio_tls_config_add_ca_pem(tls, pem, n);
    if (rc > 0) rc = 0;
    free(pem);
  }
  wasio_http_client_opts_t co = {0};
  co.max_conns_per_origin = (size_t)conns;
  co.max_idle_per_origin = (size_t)conns;
  co.idle_timeout_ns = 120 * WASIO_NS_PER_S;
  co.timeouts.total_ns = 60 * WASIO_NS_PER_S;
  co.tls = tls;
  if (rc == 0) rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_http_client_new(loop, &co, &client);
  if (rc < 0) {
    printf("ERROR set-up: %s\n", wasio_strerror(rc));
    return 1;
  }
  total = conns + 1;
  done_fn = idle_done;
  wasio_http_call_opts_t o = {0};
  o.url = url;
  o.max_redirects = 0;
  o.data = &states[0];
  o.on_response = on_response;
  o.on_body = on_body;
  o.on_done = idle_done;
  rc = wasio_http_call_start(client, &o, NULL);
  if (rc < 0) fail("call_start", rc);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0 || failed || idle_m1 == 0) {
    if (!failed) printf("ERROR loop: %s\n", rc < 0 ? wasio_strerror(rc) : "calls did not complete");
    return 1;
  }
  long idle = conns - 1;
  printf("RESULT idle_conns=%ld heap_before=%llu heap_after=%llu per_conn=%.0f kind=%s\n", idle,
         (unsigned long long)idle_m0, (unsigned long long)idle_m1,
         ((double)idle_m1 - (double)idle_m0) / (double)idle, BENCH_HEAP_KIND);
  fflush(stdout);
  wasio_loop_close(loop);
  wasio_tls_config_free(tls);
  free(states);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--idle") == 0) return idle_main(argc, argv);
  if (argc < 2) {
    fprintf(stderr, "usage: http_get URL [N CONNS]\n");
    return 2;
  }
  url = argv[1];
  total = argc > 2 ? strtol(argv[2], NULL, 10) : 10000;
  conns = argc > 3 ? strtol(argv[3], NULL, 10) : 32;
  if (total < 1 || conns < 1 || conns > 4096) {
    fprintf(stderr, "http_get: bad N or CONNS\n");
    return 2;
  }
  states = calloc((size_t)conns, sizeof *states);
  wasio_http_client_opts_t co = {0};
  co.max_conns_per_origin = (size_t)conns;
  co.max_idle_per_origin = (size_t)conns;
  co.timeouts.total_ns = 30 * WASIO_NS_PER_S;
  int rc = states ? wasio_loop_new(&loop) : WASIO_ENOMEM;
  if (rc == 0) rc = wasio_http_client_new(loop, &co, &client);
  if (rc < 0) {
    printf("ERROR set-up: %s\n", wasio_strerror(rc));
    return 1;
  }
  t0 = wasio_loop_update_time(loop);
  wasio_loop_stats(loop, &s0);
  h0 = bench_heap_allocs;
  for (long i = 0; i < conns && started < total && !failed; i++) start_one(i);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) {
    printf("ERROR loop: %s\n", wasio_strerror(rc));
    return 1;
  }
  if (failed) return 1;
  if (completed != total) {
    printf("ERROR only %ld of %ld completed\n", completed, total);
    return 1;
  }
  double secs = (double)(t1 - t0) / 1e9;
  printf("RESULT requests=%ld seconds=%.4f rps=%.1f conns=%ld body_bytes=%llu turns=%llu "
         "polls=%llu allocs=%llu libc_allocs=%llu\n",
         completed, secs, secs > 0 ? (double)completed / secs : 0.0, new_conns,
         (unsigned long long)body_bytes, (unsigned long long)(s1.turns - s0.turns),
         (unsigned long long)(s1.polls - s0.polls),
         (unsigned long long)(s1.allocations - s0.allocations), (unsigned long long)(h1 - h0));
  fflush(stdout);
  wasio_loop_close(loop);
  free(states);
  return 0;
}
