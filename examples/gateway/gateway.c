/* examples/gateway: C libraries and wasio in one loop (issue 13's combined
 * example). A wasio HTTP server answers each request by reading a value
 * from redis through hiredis (wasio/hiredis.h) and fetching an upstream URL
 * through libcurl's multi interface (wasio/curl.h), both at once, while a
 * wasio timer ticks: every socket of the three waits in the loop's one
 * wait per turn.
 *
 *   gateway PORT REDIS_HOST REDIS_PORT UPSTREAM_URL
 *
 * It connects to redis (by name or address, through wasio's DNS), then
 * prints "listening on http://IP:PORT/" and serves until killed:
 *   GET /KEY   200 with four lines: "key: KEY", "redis: VALUE" (or
 *              "redis: (nil)"), "upstream: STATUS BYTES bytes" and
 *              "ticks: N" (the timer's count so far); 502 with the reason
 *              when redis or the upstream failed.
 * Built with `tools/wasio-cc -o gateway.wasm gateway.c -lcurl -lhiredis`
 * (`make` does). Try it:
 *   redis-server --port 6390 & redis-cli -p 6390 set greeting hello
 *   tools/wasio-run --net build/wasm32/examples/gateway.wasm 8080 127.0.0.1 6390 http://example.org/ &
 *   curl http://127.0.0.1:8080/greeting
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"
#include "wasio/curl.h"
#include "wasio/hiredis.h"

#define TICK_MS 100              /* the timer's period */
#define KEY_MAX 256              /* longest key (the path after "/") */
#define VALUE_MAX 1024           /* longest value shown */
#define BODY_MAX (KEY_MAX + VALUE_MAX + 128)
#define REDIS_TIMEOUT_MS 5000    /* connect, and each command */
#define UPSTREAM_TIMEOUT_MS 10000L

static wasio_loop_t *loop;
static redisAsyncContext *redis;
static wasio_curl_t *curl_bridge;
static const char *upstream;
static unsigned long ticks;

/* One request: its two lookups, then the answer. Freed when both lookups
 * have reported and the exchange is over. */
typedef struct req {
  wasio_http_exchange_t *ex; /* NULL once the exchange is over */
  char key[KEY_MAX + 1];
  char value[VALUE_MAX + 1];
  bool have_value, redis_done, redis_failed;
  CURL *easy;
  bool curl_done;
  CURLcode curl_result;
  long status;
  unsigned long long bytes;
  char body[BODY_MAX];
} req_t;

static void req_maybe_free(req_t *r) {
  if (r->ex != NULL || !r->redis_done || !r->curl_done) return;
  curl_easy_cleanup(r->easy);
  free(r);
}

/* Both lookups are in: answer (if the client is still there). */
static void req_answer(req_t *r) {
  if (!r->redis_done || !r->curl_done) return;
  if (r->ex != NULL) {
    int status = 200, n;
    if (r->redis_failed) n = snprintf(r->body, sizeof r->body, "redis failed\n"), status = 502;
    else if (r->curl_result != CURLE_OK)
      n = snprintf(r->body, sizeof r->body, "upstream failed: %s\n", curl_easy_strerror(r->curl_result)), status = 502;
    else
      n = snprintf(r->body, sizeof r->body, "key: %s\nredis: %s\nupstream: %ld %llu bytes\nticks: %lu\n", r->key,
                   r->have_value ? r->value : "(nil)", r->status, r->bytes, ticks);
    wasio_http_header_t ct = {WASIO_HTTP_STR("Content-Type"), WASIO_HTTP_STR("text/plain")};
    if (wasio_http_respond(r->ex, status, &ct, 1, r->body, (size_t)n) != 0) wasio_http_respond_abort(r->ex, WASIO_EIO);
  }
  req_maybe_free(r);
}

static void on_complete(wasio_http_exchange_t *ex, int status) {
  (void)status;
  req_t *r = wasio_http_exchange_data(ex);
  r->ex = NULL;
  req_maybe_free(r);
}

static void on_redis_reply(redisAsyncContext *ac, void *reply, void *data) {
  (void)ac;
  req_t *r = data;
  redisReply *rep = reply;
  r->redis_done = true;
  if (rep == NULL || rep->type == REDIS_REPLY_ERROR) r->redis_failed = true;
  else if (rep->type == REDIS_REPLY_STRING) {
    size_t n = rep->len < VALUE_MAX ? rep->len : VALUE_MAX;
    memcpy(r->value, rep->str, n);
    r->value[n] = '\0';
    r->have_value = true;
  }
  req_answer(r);
}

static size_t on_upstream_body(char *p, size_t size, size_t n, void *data) {
  (void)p;
  ((req_t *)data)->bytes += size * n;
  return size * n;
}

static void on_upstream_done(wasio_curl_t *wc, CURL *easy, CURLcode result, void *data) {
  (void)wc;
  req_t *r = data;
  r->curl_done = true;
  r->curl_result = result;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
  req_answer(r);
}

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  wasio_http_header_t ct = {WASIO_HTTP_STR("Content-Type"), WASIO_HTTP_STR("text/plain")};
  if (req->target.len < 2 || req->target.len - 1 > KEY_MAX || req->target.ptr[0] != '/') {
    wasio_http_respond(ex, 404, &ct, 1, "GET /KEY\n", 9);
    return;
  }
  req_t *r = calloc(1, sizeof *r);
  if (r == NULL || (r->easy = curl_easy_init()) == NULL) {
    free(r);
    wasio_http_respond(ex, 503, &ct, 1, "out of memory\n", 14);
    return;
  }
  r->ex = ex;
  memcpy(r->key, req->target.ptr + 1, req->target.len - 1);
  wasio_http_exchange_set_data(ex, r);
  wasio_http_exchange_on_complete(ex, on_complete);
  /* the two lookups, at once */
  if (redisAsyncCommand(redis, on_redis_reply, r, "GET %s", r->key) != REDIS_OK) {
    r->redis_done = r->redis_failed = true;
  }
  curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_upstream_body);
  curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, UPSTREAM_TIMEOUT_MS);
  if (wasio_curl_add(curl_bridge, r->easy, upstream, on_upstream_done, r) != 0) {
    r->curl_done = true;
    r->curl_result = CURLE_FAILED_INIT;
  }
  req_answer(r); /* only if both failed at once */
}

static void on_tick(wasio_timer_t *t) {
  (void)t;
  ticks++;
}

static uint16_t port;

static void on_redis(redisAsyncContext *ac, int status, void *data) {
  (void)data;
  if (status != 0) {
    fprintf(stderr, "gateway: redis: %s\n", wasio_strerror(status));
    exit(1);
  }
  redis = ac;
  wasio_http_server_t *server = NULL;
  wasio_addr_t addr, local;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  int rc = wasio_http_server_new(loop, NULL, handler, NULL, &server);
  if (rc == 0) rc = wasio_http_server_listen(server, &addr, 128);
  if (rc == 0) rc = wasio_http_server_local_addr(server, &local);
  if (rc != 0) {
    fprintf(stderr, "gateway: listen: %s\n", wasio_strerror(rc));
    exit(1);
  }
  char text[WASIO_ADDR_STRLEN];
  wasio_addr_format(&local, text, sizeof text);
  printf("listening on http://%s/\n", text);
  fflush(stdout);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: gateway PORT REDIS_HOST REDIS_PORT UPSTREAM_URL\n");
    return 2;
  }
  port = (uint16_t)atoi(argv[1]);
  upstream = argv[4];
  curl_global_init(CURL_GLOBAL_DEFAULT);
  wasio_timer_t *tick = NULL;
  wasio_hiredis_opts_t ro = {REDIS_TIMEOUT_MS * WASIO_NS_PER_MS, REDIS_TIMEOUT_MS * WASIO_NS_PER_MS};
  if (wasio_loop_new(&loop) != 0 || wasio_curl_new(loop, &curl_bridge) != 0 || wasio_timer_new(loop, &tick) != 0 ||
      wasio_timer_start(tick, on_tick, TICK_MS * WASIO_NS_PER_MS, TICK_MS * WASIO_NS_PER_MS) != 0 ||
      wasio_hiredis_connect(loop, argv[2], (uint16_t)atoi(argv[3]), &ro, on_redis, NULL) != 0) {
    fprintf(stderr, "gateway: setup failed\n");
    return 1;
  }
  return wasio_loop_run(loop, WASIO_RUN_DEFAULT) == 0 ? 0 : 1;
}
