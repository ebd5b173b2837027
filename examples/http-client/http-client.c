/* examples/http-client: fetches several URLs at once.
 *
 *   http-client URL...            (http:// or https://; at most 64)
 *
 * Every URL is fetched concurrently by one wasio_http_client (a pool of
 * keep-alive connections, up to 6 per origin) on one loop. As each call
 * ends it prints one line, "STATUS BYTES MS URL" (or "error: WHY URL"),
 * so faster answers come first; then "N of M ok in MS ms". Exits 0 if
 * every call got a response (any status), 1 otherwise.
 * What it shows of wasio: calls started together and finished in any
 * order, response bodies streamed (counted here, never stored), a total
 * timeout per call, and closing the client when the last call is done.
 *
 * Try it against examples/http-server (the /wait calls overlap, so the
 * run takes about 1 s, not 2.5):
 *   tools/wasio-run --net build/wasm32/examples/http-client.wasm \
 *     http://127.0.0.1:8080/wait?ms=1000 http://127.0.0.1:8080/wait?ms=900 \
 *     http://127.0.0.1:8080/wait?ms=600 http://127.0.0.1:8080/time
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

#define MAX_URLS 64
#define CALL_TIMEOUT_NS (30ull * WASIO_NS_PER_S) /* each call, redirects included */

typedef struct fetch {
  const char *url;
  uint64_t started;
  uint64_t bytes;
  int status;
} fetch_t;

static wasio_http_client_t *client;
static int pending, ok, total;
static uint64_t t0;

static void on_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  fetch_t *f = wasio_http_call_data(call);
  f->status = res->status;
}

static void on_body(wasio_http_call_t *call, const void *data, size_t len) {
  fetch_t *f = wasio_http_call_data(call);
  (void)data;
  f->bytes += len;
}

static void on_done(wasio_http_call_t *call, int status) {
  fetch_t *f = wasio_http_call_data(call);
  unsigned long long ms = (wasio_monotonic_ns() - f->started) / WASIO_NS_PER_MS;
  if (status == 0) {
    printf("%d %llu %llu %s\n", f->status, (unsigned long long)f->bytes, ms, f->url);
    ok++;
  } else {
    printf("error: %s %s\n", wasio_strerror(status), f->url);
  }
  fflush(stdout);
  /* The client's pool keeps the loop alive (idle connections): close it
   * with the last call. */
  if (--pending == 0) wasio_http_client_close(client, NULL);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc - 1 > MAX_URLS) {
    fprintf(stderr, "usage: http-client URL...   (1 to %d URLs)\n", MAX_URLS);
    return 2;
  }
  static fetch_t fetches[MAX_URLS];
  wasio_loop_t *loop;
  int rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_http_client_new(loop, NULL, &client);
  if (rc != 0) {
    fprintf(stderr, "http-client: %s\n", wasio_strerror(rc));
    return 1;
  }
  t0 = wasio_monotonic_ns();
  total = argc - 1;
  for (int i = 0; i < total; i++) {
    fetch_t *f = &fetches[i];
    f->url = argv[i + 1];
    f->started = t0;
    wasio_http_call_opts_t o = {0};
    o.url = f->url;
    o.max_redirects = -1;
    o.timeouts.total_ns = CALL_TIMEOUT_NS;
    o.data = f;
    o.on_response = on_response;
    o.on_body = on_body;
    o.on_done = on_done;
    rc = wasio_http_call_start(client, &o, NULL);
    if (rc != 0) {
      /* A bad URL, say: this one fails now; the others still run. */
      printf("error: %s %s\n", wasio_strerror(rc), f->url);
      continue;
    }
    pending++;
  }
  if (pending == 0) wasio_http_client_close(client, NULL);
  wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  printf("%d of %d ok in %llu ms\n", ok, total, (unsigned long long)((wasio_monotonic_ns() - t0) / WASIO_NS_PER_MS));
  wasio_loop_close(loop);
  return ok == total ? 0 : 1;
}
