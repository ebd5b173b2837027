/* bench/curl_get.c: many GETs through libcurl's multi interface on the
 * wasio loop (wasio/curl.h), for requests/s beside bench/http_get.c
 * (wasio's own client) in bench/run_curl.py.
 *
 *   curl_get URL [N CONNS]
 *
 * CONNS easy handles, each added again by its done callback, keep CONNS
 * transfers in flight until N GETs of URL (default 10000 over 32) have
 * completed; the multi allows CONNS connections to the host
 * (CURLMOPT_MAX_HOST_CONNECTIONS), so curl keeps them alive and reuses
 * them. Every response must be 200 with the first response's body length,
 * or the run fails. The clock runs from the first transfer added to the
 * last done callback, connection set-up included. Connections opened are
 * the sum of CURLINFO_NUM_CONNECTS. A URL with a host name costs one
 * lookup of wasio's DNS per transfer (the bridge resolves before each
 * add): benchmark an IP literal. Prints "RESULT requests=... seconds=...
 * rps=... conns=... body_bytes=... turns=... polls=..." (loop stats over
 * the timed span); any error prints "ERROR ..." and exits 1. The same file
 * builds natively (-O2, no sanitizers) and as a component (wasio-cc -lcurl).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "wasio.h"
#include "wasio/curl.h"

/* Most connections (and easy handles) one run uses. */
#define CURL_GET_MAX_CONNS 1024

static wasio_loop_t *loop;
static wasio_curl_t *wc;
static const char *url;
static long total, started, completed, conns_opened;
static double expect_len = -1;
static uint64_t body_bytes, t0, t1;
static wasio_loop_stats_t s0, s1;
static int failed;

static size_t on_body(char *p, size_t size, size_t n, void *user) {
  (void)p;
  (void)user;
  body_bytes += size * n;
  return size * n;
}

static void fail(const char *what, const char *detail) {
  if (failed) return;
  failed = 1;
  printf("ERROR %s: %s\n", what, detail);
  fflush(stdout);
  wasio_curl_close(wc, NULL);
}

static void start(CURL *easy);

static void on_done(wasio_curl_t *w, CURL *easy, CURLcode result, void *data) {
  (void)w;
  (void)data;
  if (failed) return;
  if (result != CURLE_OK) return fail("transfer", curl_easy_strerror(result));
  long code = 0, connects = 0;
  curl_off_t len = -1;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &len);
  if (code != 200) return fail("status", "not 200");
  if (expect_len < 0) expect_len = (double)len;
  if ((double)len != expect_len) return fail("body", "length differs from the first response's");
  conns_opened += connects;
  if (++completed == total) {
    t1 = wasio_monotonic_ns();
    wasio_loop_stats(loop, &s1);
    wasio_curl_close(wc, NULL);
    return;
  }
  if (started < total) start(easy);
}

static void start(CURL *easy) {
  started++;
  int rc = wasio_curl_add(wc, easy, url, on_done, NULL);
  if (rc != 0) fail("wasio_curl_add", wasio_strerror(rc));
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: curl_get URL [N CONNS]\n");
    return 2;
  }
  url = argv[1];
  total = argc == 4 ? atol(argv[2]) : 10000;
  long conns = argc == 4 ? atol(argv[3]) : 32;
  if (total < 1 || conns < 1 || conns > CURL_GET_MAX_CONNS) {
    fprintf(stderr, "curl_get: N >= 1 and 1 <= CONNS <= %d\n", CURL_GET_MAX_CONNS);
    return 2;
  }
  if (conns > total) conns = total;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || wasio_loop_new(&loop) != 0 || wasio_curl_new(loop, &wc) != 0) {
    printf("ERROR setup: out of memory\n");
    return 1;
  }
  curl_multi_setopt(wasio_curl_multi(wc), CURLMOPT_MAX_HOST_CONNECTIONS, conns);
  static CURL *easies[CURL_GET_MAX_CONNS];
  for (long i = 0; i < conns; i++) {
    easies[i] = curl_easy_init();
    if (easies[i] == NULL) {
      printf("ERROR setup: out of memory\n");
      return 1;
    }
    curl_easy_setopt(easies[i], CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easies[i], CURLOPT_TIMEOUT_MS, 30000L);
  }
  t0 = wasio_monotonic_ns();
  wasio_loop_stats(loop, &s0);
  for (long i = 0; i < conns && !failed; i++) start(easies[i]);
  wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (!failed && completed == total) {
    double secs = (double)(t1 - t0) / 1e9;
    printf("RESULT requests=%ld seconds=%.3f rps=%.0f conns=%ld body_bytes=%llu turns=%llu polls=%llu\n", completed,
           secs, (double)completed / secs, conns_opened, (unsigned long long)body_bytes,
           (unsigned long long)(s1.turns - s0.turns), (unsigned long long)(s1.polls - s0.polls));
  } else if (!failed) {
    printf("ERROR run: the loop ended after %ld of %ld GETs\n", completed, total);
    failed = 1;
  }
  for (long i = 0; i < conns; i++) curl_easy_cleanup(easies[i]);
  wasio_loop_close(loop);
  curl_global_cleanup();
  return failed ? 1 : 0;
}
