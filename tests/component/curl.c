// wasio-test: net
// wasio-test: helper tests/helpers/nginx_server.py --tls --lifetime 900 --big-mib 5
// wasio-test: helper tests/helpers/http_stall.py --lifetime 900
// wasio-test: helper tests/helpers/tcp_blackhole.py --lifetime 900
// wasio-test: resolver --slow-ms 2000 --lifetime 900
// wasio-test: timeout 300
/* tests/component/curl.c: libcurl (Debian's curl source, built by `make
 * curl`) in a wasio program: its easy interface on its own, and its multi
 * interface driven by the wasio loop through the bridge (wasio/curl.h),
 * against a real nginx and the tests' misbehaving servers, over loopback.
 *   port  = tests/helpers/nginx_server.py --tls (5 MiB /big.bin, redirects,
 *           chunked, X-Connection on every response; HTTPS ports)
 *   port2 = tests/helpers/http_stall.py (/truncated, /reset, /silent, ...)
 *   port3 = tests/helpers/tcp_blackhole.py (connects hang)
 *   resolver = the test resolver (tests/run.py, tests/helpers/dns_server.py):
 *           the hosts' lookups of fast.wasio.test answered at once, of
 *           slow.wasio.test after 2 s (its --slow-ms)
 * The component learns the test CA (/tls/ca.pem, /tls/other-ca.pem) and
 * the HTTPS ports (/tls/ports.txt) over nginx's plain port, with libcurl.
 * Failures are asserted as curl's own error codes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "testlib.h"
#include "wasio/curl.h"

#define NGINX_PORT helper_port("port")
#define STALL_PORT helper_port("port2")
#define BLACKHOLE_PORT helper_port("port3")
/* nginx_server.py --big-mib 5: /big.bin's size. */
#define BIG_BYTES (5u * 1024 * 1024)
/* Bodies kept whole up to this size; beyond it only hashed. */
#define REC_KEEP 65536
/* Every transfer of these tests ends well within this (curl's own limit,
 * so a stuck transfer fails with CURLE_OPERATION_TIMEDOUT, never hangs). */
#define REC_TIMEOUT_MS 20000L

/* One transfer's record: the body (the first REC_KEEP bytes and a SHA-256
 * of all), the X-Connection header nginx adds, and curl's verdict. */
typedef struct rec {
  char body[REC_KEEP + 1];
  size_t len;
  size_t total;
  sha256_t sha;
  long x_connection;
  char x_protocol[16];
  bool chunked;
  bool done;
  CURLcode result;
} rec_t;

static size_t rec_body(char *p, size_t size, size_t n, void *user) {
  rec_t *r = user;
  size_t len = size * n;
  size_t keep = len < REC_KEEP - r->len ? len : REC_KEEP - r->len;
  memcpy(r->body + r->len, p, keep);
  r->len += keep;
  r->body[r->len] = '\0';
  r->total += len;
  sha256_update(&r->sha, p, len);
  return len;
}

static size_t rec_header(char *p, size_t size, size_t n, void *user) {
  rec_t *r = user;
  size_t len = size * n;
  char line[256];
  size_t k = len < sizeof line - 1 ? len : sizeof line - 1;
  memcpy(line, p, k);
  line[k] = '\0';
  if (strncasecmp(line, "X-Connection:", 13) == 0) r->x_connection = strtol(line + 13, NULL, 10);
  if (strncasecmp(line, "X-Protocol:", 11) == 0) sscanf(line + 11, " %15[A-Za-z0-9.]", r->x_protocol);
  if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked") != NULL) r->chunked = true;
  return len;
}

/* Clears `r` and points `easy`'s callbacks at it (and the limits every
 * test transfer has). */
static void rec_setup(CURL *easy, rec_t *r) {
  memset(r, 0, sizeof *r);
  r->x_connection = -1;
  sha256_init(&r->sha);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, rec_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, rec_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, REC_TIMEOUT_MS);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
}

static const char *url_of(char *buf, size_t cap, const char *scheme, const char *host, uint16_t port,
                          const char *path) {
  snprintf(buf, cap, "%s://%s:%u%s", scheme, host, (unsigned)port, path);
  return buf;
}

/* A GET of nginx's plain port with a fresh easy handle, blocking (only for
 * setup: the CA, the ports); the body, malloc'd. */
static char *plain_fetch(const char *path) {
  CURL *easy = curl_easy_init();
  ASSERT_TRUE(easy != NULL);
  rec_t *r = malloc(sizeof *r);
  ASSERT_TRUE(r != NULL);
  rec_setup(easy, r);
  char url[256];
  curl_easy_setopt(easy, CURLOPT_URL, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, path));
  ASSERT_EQ_INT(curl_easy_perform(easy), CURLE_OK);
  curl_easy_cleanup(easy);
  char *body = strdup(r->body);
  free(r);
  ASSERT_TRUE(body != NULL);
  return body;
}

/* The HTTPS port `name` of /tls/ports.txt ("tls13-ecdsa=PORT ..."). */
static uint16_t tls_port(const char *name) {
  char *ports = plain_fetch("/tls/ports.txt");
  char key[64];
  snprintf(key, sizeof key, "%s=", name);
  char *at = strstr(ports, key);
  ASSERT_TRUE(at != NULL);
  uint16_t port = (uint16_t)strtoul(at + strlen(key), NULL, 10);
  free(ports);
  return port;
}

/* Makes `easy` trust the PEM CA at nginx's `path` (/tls/ca.pem) and
 * nothing else; the PEM is copied by curl. */
static void trust_ca(CURL *easy, const char *path) {
  char *pem = plain_fetch(path);
  struct curl_blob blob = {.data = pem, .len = strlen(pem), .flags = CURL_BLOB_COPY};
  ASSERT_EQ_INT(curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob), CURLE_OK);
  free(pem);
}

/* The hex SHA-256 of all of the body, and the one nginx publishes. */
static void assert_big_body(rec_t *r) {
  ASSERT_EQ_U64(r->total, BIG_BYTES);
  char hex[65];
  sha256_hex(&r->sha, hex);
  char *want = plain_fetch("/big.bin.sha256");
  want[64] = '\0';
  ASSERT_EQ_STR(hex, want);
  free(want);
}

/* ---- the easy interface (curl's own loop, no wasio) --------------------------------- */

/* A blocking GET of `url` on `easy` into `r`; curl's verdict. */
static CURLcode easy_get(CURL *easy, rec_t *r, const char *url) {
  rec_setup(easy, r);
  curl_easy_setopt(easy, CURLOPT_URL, url);
  r->result = curl_easy_perform(easy);
  r->done = true;
  return r->result;
}

static rec_t rec_a;

TEST(easy_http_get) {
  CURL *easy = curl_easy_init();
  char url[256];
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, "/small.txt")),
                CURLE_OK);
  ASSERT_EQ_STR(rec_a.body, "hello from nginx\n");
  long code = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
  ASSERT_EQ_INT(code, 200);
  /* by name: libcurl's own (blocking) lookup of "localhost" */
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "http", "localhost", NGINX_PORT, "/small.txt")),
                CURLE_OK);
  ASSERT_EQ_STR(rec_a.body, "hello from nginx\n");
  curl_easy_cleanup(easy);
}

TEST(easy_https_tls13_and_tls12) {
  const char *ports[] = {"tls13-ecdsa", "tls13-rsa", "tls12-ecdsa", "tls12-rsa"};
  const char *protocol[] = {"TLSv1.3", "TLSv1.3", "TLSv1.2", "TLSv1.2"};
  for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
    CURL *easy = curl_easy_init();
    trust_ca(easy, "/tls/ca.pem");
    char url[256];
    ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "https", "localhost", tls_port(ports[i]), "/small.txt")),
                  CURLE_OK);
    ASSERT_EQ_STR(rec_a.body, "hello from nginx\n");
    /* the version nginx negotiated, by its own header */
    ASSERT_EQ_STR(rec_a.x_protocol, protocol[i]);
    struct curl_tlssessioninfo *ti = NULL;
    ASSERT_EQ_INT(curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &ti), CURLE_OK);
    ASSERT_TRUE(ti != NULL && ti->backend == CURLSSLBACKEND_MBEDTLS);
    curl_easy_cleanup(easy);
  }
}

TEST(easy_https_refuses_unknown_ca_and_wrong_name) {
  CURL *easy = curl_easy_init();
  char url[256];
  /* a CA that signed nothing here */
  trust_ca(easy, "/tls/other-ca.pem");
  uint16_t port = tls_port("tls13-ecdsa");
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "https", "localhost", port, "/small.txt")),
                CURLE_PEER_FAILED_VERIFICATION);
  ASSERT_EQ_U64(rec_a.total, 0);
  /* the right CA, a name the certificate does not carry (resolved to
   * nginx's address by curl itself) */
  trust_ca(easy, "/tls/ca.pem");
  char entry[64];
  snprintf(entry, sizeof entry, "wrong.example:%u:127.0.0.1", (unsigned)port);
  struct curl_slist *resolve = curl_slist_append(NULL, entry);
  curl_easy_setopt(easy, CURLOPT_RESOLVE, resolve);
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "https", "wrong.example", port, "/small.txt")),
                CURLE_PEER_FAILED_VERIFICATION);
  curl_slist_free_all(resolve);
  curl_easy_cleanup(easy);
}

TEST(easy_keepalive_reuses_the_connection) {
  CURL *easy = curl_easy_init();
  char url[256];
  url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, "/small.txt");
  long first_conn = -1;
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ_INT(easy_get(easy, &rec_a, url), CURLE_OK);
    long connects = -1;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    ASSERT_EQ_INT(connects, i == 0 ? 1 : 0);
    if (i == 0) first_conn = rec_a.x_connection;
    ASSERT_EQ_INT(rec_a.x_connection, first_conn); /* nginx saw one connection */
  }
  /* and over HTTPS (the TLS session stays with the connection) */
  trust_ca(easy, "/tls/ca.pem");
  url_of(url, sizeof url, "https", "localhost", tls_port("tls13-ecdsa"), "/small.txt");
  for (int i = 0; i < 3; i++) {
    ASSERT_EQ_INT(easy_get(easy, &rec_a, url), CURLE_OK);
    long connects = -1;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    ASSERT_EQ_INT(connects, i == 0 ? 1 : 0);
  }
  curl_easy_cleanup(easy);
}

TEST(easy_redirects) {
  CURL *easy = curl_easy_init();
  char url[256];
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
  const char *paths[] = {"/redirect/301", "/redirect/302", "/redirect/307", "/redirect/308", "/redirect/relative"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, paths[i])), CURLE_OK);
    ASSERT_EQ_STR(rec_a.body, "hello from nginx\n");
    long n = -1;
    curl_easy_getinfo(easy, CURLINFO_REDIRECT_COUNT, &n);
    ASSERT_EQ_INT(n, 1);
  }
  /* a loop ends at curl's limit with its own code */
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, "/redirect/loop")),
                CURLE_TOO_MANY_REDIRECTS);
  curl_easy_cleanup(easy);
}

TEST(easy_big_body_by_hash_and_chunked) {
  CURL *easy = curl_easy_init();
  char url[256];
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, "/big.bin")), CURLE_OK);
  assert_big_body(&rec_a);
  trust_ca(easy, "/tls/ca.pem");
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "https", "localhost", tls_port("both-ecdsa"), "/big.bin")),
                CURLE_OK);
  assert_big_body(&rec_a);
  ASSERT_EQ_INT(easy_get(easy, &rec_a, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, "/chunked.txt")),
                CURLE_OK);
  ASSERT_TRUE(rec_a.chunked);
  ASSERT_EQ_STR(rec_a.body, "line one\nGET\nline three\n");
  curl_easy_cleanup(easy);
}

/* The misbehaving servers, each with the code curl documents for it. */
typedef struct {
  const char *path;
  CURLcode want;
} misbehaviour_t;
static const misbehaviour_t MISBEHAVIOURS[] = {
    {"/truncated", CURLE_PARTIAL_FILE},      /* Content-Length 100, 10 bytes, close */
    {"/reset", CURLE_RECV_ERROR},            /* the same, then RST */
    {"/silent", CURLE_OPERATION_TIMEDOUT},   /* never answers */
    {"/stall-body", CURLE_OPERATION_TIMEDOUT}, /* stops mid-body */
    {"/garbage", CURLE_UNSUPPORTED_PROTOCOL}, /* "HTTP/9 oops" */
};
/* How long the stalling cases get (CURLOPT_TIMEOUT_MS). */
#define STALL_TIMEOUT_MS 500L

TEST(easy_misbehaving_servers) {
  char url[256];
  for (size_t i = 0; i < sizeof MISBEHAVIOURS / sizeof MISBEHAVIOURS[0]; i++) {
    CURL *easy = curl_easy_init();
    rec_setup(easy, &rec_a);
    curl_easy_setopt(easy, CURLOPT_URL, url_of(url, sizeof url, "http", "127.0.0.1", STALL_PORT, MISBEHAVIOURS[i].path));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, STALL_TIMEOUT_MS);
    CURLcode rc = curl_easy_perform(easy);
    if (rc != MISBEHAVIOURS[i].want) fprintf(stderr, "# %s: %s\n", MISBEHAVIOURS[i].path, curl_easy_strerror(rc));
    ASSERT_EQ_INT(rc, MISBEHAVIOURS[i].want);
    curl_easy_cleanup(easy);
  }
  /* a connect that hangs, bounded by CURLOPT_CONNECTTIMEOUT_MS */
  CURL *easy = curl_easy_init();
  rec_setup(easy, &rec_a);
  curl_easy_setopt(easy, CURLOPT_URL, url_of(url, sizeof url, "http", "127.0.0.1", BLACKHOLE_PORT, "/"));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, STALL_TIMEOUT_MS);
  ASSERT_EQ_INT(curl_easy_perform(easy), CURLE_OPERATION_TIMEDOUT);
  /* a refused connect (port 1 on loopback has no listener) */
  curl_easy_setopt(easy, CURLOPT_URL, url_of(url, sizeof url, "http", "127.0.0.1", 1, "/"));
  ASSERT_EQ_INT(curl_easy_perform(easy), CURLE_COULDNT_CONNECT);
  curl_easy_cleanup(easy);
}

/* ---- the multi interface on the wasio loop (wasio/curl.h) ---------------------------- */

/* Most transfers one multi test runs at once. */
#define MX_MAX 24

/* A transfer of the bridge: its own easy handle and record. */
typedef struct mx {
  CURL *easy;
  rec_t rec;
} mx_t;
static mx_t mxs[MX_MAX];
static int mx_done_count;

static void mx_on_done(wasio_curl_t *wc, CURL *easy, CURLcode result, void *data) {
  (void)wc;
  (void)easy;
  rec_t *r = data;
  ASSERT_TRUE(!r->done);
  r->result = result;
  r->done = true;
  mx_done_count++;
}

/* Starts a GET of `url` on mxs[i] (a new easy handle unless it has one). */
static void mx_add(wasio_curl_t *wc, int i, const char *url) {
  if (mxs[i].easy == NULL) mxs[i].easy = curl_easy_init();
  ASSERT_TRUE(mxs[i].easy != NULL);
  rec_setup(mxs[i].easy, &mxs[i].rec);
  ASSERT_OK(wasio_curl_add(wc, mxs[i].easy, url, mx_on_done, &mxs[i].rec));
}

static void mx_cleanup(void) {
  for (int i = 0; i < MX_MAX; i++) {
    if (mxs[i].easy != NULL) curl_easy_cleanup(mxs[i].easy);
    mxs[i].easy = NULL;
  }
  mx_done_count = 0;
}

static bool bridge_closed;
static void on_bridge_closed(wasio_curl_t *wc) {
  (void)wc;
  bridge_closed = true;
}

static wasio_curl_t *bridge_new(wasio_loop_t *loop) {
  wasio_curl_t *wc = NULL;
  ASSERT_OK(wasio_curl_new(loop, &wc));
  ASSERT_TRUE(wasio_curl_multi(wc) != NULL);
  return wc;
}

static void bridge_close_wait(wasio_loop_t *loop, wasio_curl_t *wc) {
  bridge_closed = false;
  wasio_curl_close(wc, on_bridge_closed);
  ASSERT_TRUE(!bridge_closed); /* never from inside the call */
  WAIT_UNTIL(loop, bridge_closed);
}

TEST(multi_http_and_https_by_name_at_once) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_curl_t *wc = bridge_new(loop);
  char url[256];
  uint16_t tls13 = tls_port("tls13-ecdsa"), tls12 = tls_port("tls12-rsa");
  int n = 0;
  /* by name: wasio's DNS resolves "localhost", curl gets CURLOPT_RESOLVE */
  for (int i = 0; i < 6; i++) mx_add(wc, n++, url_of(url, sizeof url, "http", "localhost", NGINX_PORT, "/small.txt"));
  for (int i = 0; i < 6; i++) {
    mxs[n].easy = curl_easy_init();
    trust_ca(mxs[n].easy, "/tls/ca.pem");
    mx_add(wc, n++, url_of(url, sizeof url, "https", "localhost", i % 2 ? tls12 : tls13, "/small.txt"));
  }
  /* numeric, IPv4 and IPv6 (no lookup) */
  mx_add(wc, n++, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, "/small.txt"));
  mx_add(wc, n++, url_of(url, sizeof url, "http", "[::1]", NGINX_PORT, "/small.txt"));
  ASSERT_EQ_INT(wasio_curl_pending(wc), n);
  WAIT_UNTIL(loop, mx_done_count == n);
  ASSERT_EQ_INT(wasio_curl_pending(wc), 0);
  for (int i = 0; i < n; i++) {
    ASSERT_EQ_INT(mxs[i].rec.result, CURLE_OK);
    ASSERT_EQ_STR(mxs[i].rec.body, "hello from nginx\n");
  }
  ASSERT_EQ_STR(mxs[6].rec.x_protocol, "TLSv1.3");
  ASSERT_EQ_STR(mxs[7].rec.x_protocol, "TLSv1.2");
  bridge_close_wait(loop, wc);
  mx_cleanup();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(multi_keepalive_redirect_big_chunked) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_curl_t *wc = bridge_new(loop);
  char url[256];
  /* one easy handle, three transfers in turn: one connection */
  url_of(url, sizeof url, "http", "localhost", NGINX_PORT, "/small.txt");
  long first = -1;
  for (int i = 0; i < 3; i++) {
    mx_add(wc, 0, url);
    WAIT_UNTIL(loop, mxs[0].rec.done);
    ASSERT_EQ_INT(mxs[0].rec.result, CURLE_OK);
    long connects = -1;
    curl_easy_getinfo(mxs[0].easy, CURLINFO_NUM_CONNECTS, &connects);
    ASSERT_EQ_INT(connects, i == 0 ? 1 : 0);
    if (i == 0) first = mxs[0].rec.x_connection;
    ASSERT_EQ_INT(mxs[0].rec.x_connection, first);
  }
  /* ten transfers at most two at a time to the host: the multi's pool
   * reuses its two connections (nginx numbers them) */
  curl_multi_setopt(wasio_curl_multi(wc), CURLMOPT_MAX_HOST_CONNECTIONS, 2L);
  for (int i = 1; i <= 10; i++) mx_add(wc, i, url);
  WAIT_UNTIL(loop, mxs[10].rec.done && mx_done_count == 13);
  long seen[10];
  int distinct = 0;
  for (int i = 1; i <= 10; i++) {
    ASSERT_EQ_INT(mxs[i].rec.result, CURLE_OK);
    bool known = false;
    for (int k = 0; k < distinct; k++) known = known || seen[k] == mxs[i].rec.x_connection;
    if (!known) seen[distinct++] = mxs[i].rec.x_connection;
  }
  ASSERT_LE_INT(distinct, 2);
  /* a redirect on the same host (curl resolves nothing new), 5 MiB over
   * HTTP and HTTPS by hash, a chunked body */
  curl_easy_setopt(mxs[11].easy = curl_easy_init(), CURLOPT_FOLLOWLOCATION, 1L);
  mx_add(wc, 11, url_of(url, sizeof url, "http", "localhost", NGINX_PORT, "/redirect/307"));
  mx_add(wc, 12, url_of(url, sizeof url, "http", "localhost", NGINX_PORT, "/big.bin"));
  trust_ca(mxs[13].easy = curl_easy_init(), "/tls/ca.pem");
  mx_add(wc, 13, url_of(url, sizeof url, "https", "localhost", tls_port("both-rsa"), "/big.bin"));
  mx_add(wc, 14, url_of(url, sizeof url, "http", "localhost", NGINX_PORT, "/chunked.txt"));
  WAIT_UNTIL(loop, mx_done_count == 17);
  ASSERT_EQ_INT(mxs[11].rec.result, CURLE_OK);
  ASSERT_EQ_STR(mxs[11].rec.body, "hello from nginx\n");
  ASSERT_EQ_INT(mxs[12].rec.result, CURLE_OK);
  assert_big_body(&mxs[12].rec);
  ASSERT_EQ_INT(mxs[13].rec.result, CURLE_OK);
  assert_big_body(&mxs[13].rec);
  ASSERT_EQ_INT(mxs[14].rec.result, CURLE_OK);
  ASSERT_TRUE(mxs[14].rec.chunked);
  ASSERT_EQ_STR(mxs[14].rec.body, "line one\nGET\nline three\n");
  bridge_close_wait(loop, wc);
  mx_cleanup();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(multi_misbehaving_servers_at_once) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_curl_t *wc = bridge_new(loop);
  char url[256];
  size_t n = sizeof MISBEHAVIOURS / sizeof MISBEHAVIOURS[0];
  for (size_t i = 0; i < n; i++) {
    mxs[i].easy = curl_easy_init();
    mx_add(wc, (int)i, url_of(url, sizeof url, "http", "127.0.0.1", STALL_PORT, MISBEHAVIOURS[i].path));
    curl_easy_setopt(mxs[i].easy, CURLOPT_TIMEOUT_MS, STALL_TIMEOUT_MS);
  }
  /* the timeout is read when the transfer starts, after the add above:
   * the numeric host starts it at once, so set it before instead */
  ASSERT_EQ_INT(mx_done_count, 0);
  int k = (int)n;
  mxs[k].easy = curl_easy_init();
  rec_setup(mxs[k].easy, &mxs[k].rec);
  curl_easy_setopt(mxs[k].easy, CURLOPT_CONNECTTIMEOUT_MS, STALL_TIMEOUT_MS);
  ASSERT_OK(wasio_curl_add(wc, mxs[k].easy, url_of(url, sizeof url, "http", "127.0.0.1", BLACKHOLE_PORT, "/"),
                           mx_on_done, &mxs[k].rec));
  mx_add(wc, k + 1, url_of(url, sizeof url, "http", "127.0.0.1", 1, "/"));
  /* wasio's lookup fails: curl's code for it, and curl never saw the handle */
  mx_add(wc, k + 2, url_of(url, sizeof url, "http", "no-such-host.invalid", 80, "/"));
  WAIT_UNTIL(loop, mx_done_count == k + 3);
  for (size_t i = 0; i < n; i++) {
    if (mxs[i].rec.result != MISBEHAVIOURS[i].want)
      fprintf(stderr, "# %s: %s\n", MISBEHAVIOURS[i].path, curl_easy_strerror(mxs[i].rec.result));
    ASSERT_EQ_INT(mxs[i].rec.result, MISBEHAVIOURS[i].want);
  }
  ASSERT_EQ_INT(mxs[k].rec.result, CURLE_OPERATION_TIMEDOUT);
  ASSERT_EQ_INT(mxs[k + 1].rec.result, CURLE_COULDNT_CONNECT);
  ASSERT_EQ_INT(mxs[k + 2].rec.result, CURLE_COULDNT_RESOLVE_HOST);
  bridge_close_wait(loop, wc);
  mx_cleanup();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

TEST(multi_bad_input_remove_and_close_pending) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_curl_t *wc = bridge_new(loop);
  CURL *easy = curl_easy_init();
  rec_t *r = &mxs[0].rec;
  rec_setup(easy, r);
  ASSERT_WASIO(WASIO_EINVAL, wasio_curl_add(NULL, easy, "http://localhost/", mx_on_done, r));
  ASSERT_WASIO(WASIO_EINVAL, wasio_curl_add(wc, easy, "not a url", mx_on_done, r));
  ASSERT_WASIO(WASIO_EINVAL, wasio_curl_add(wc, easy, "http://localhost/", NULL, r));
  ASSERT_WASIO(WASIO_EINVAL, wasio_curl_remove(wc, easy)); /* in no transfer */
  ASSERT_EQ_INT(wasio_curl_pending(wc), 0);
  char url[256];
  /* removed while its host resolves, then while in curl: no callback */
  ASSERT_OK(wasio_curl_add(wc, easy, url_of(url, sizeof url, "http", "localhost", STALL_PORT, "/silent"), mx_on_done, r));
  ASSERT_WASIO(WASIO_EBUSY, wasio_curl_add(wc, easy, url, mx_on_done, r));
  ASSERT_OK(wasio_curl_remove(wc, easy));
  ASSERT_OK(wasio_curl_add(wc, easy, url_of(url, sizeof url, "http", "127.0.0.1", STALL_PORT, "/silent"), mx_on_done, r));
  sleep_ms(loop, 200);
  ASSERT_OK(wasio_curl_remove(wc, easy));
  sleep_ms(loop, 50);
  ASSERT_TRUE(!r->done);
  /* the handle is reusable after a removal */
  rec_setup(easy, r);
  ASSERT_OK(wasio_curl_add(wc, easy, url_of(url, sizeof url, "http", "127.0.0.1", NGINX_PORT, "/small.txt"), mx_on_done, r));
  WAIT_UNTIL(loop, r->done);
  ASSERT_EQ_INT(r->result, CURLE_OK);
  /* closed with one transfer in curl and one resolving: neither reports */
  r->done = false;
  ASSERT_OK(wasio_curl_add(wc, easy, url_of(url, sizeof url, "http", "127.0.0.1", STALL_PORT, "/silent"), mx_on_done, r));
  CURL *easy2 = curl_easy_init();
  rec_setup(easy2, &mxs[1].rec);
  ASSERT_OK(wasio_curl_add(wc, easy2, url_of(url, sizeof url, "http", "localhost", STALL_PORT, "/silent"), mx_on_done,
                           &mxs[1].rec));
  sleep_ms(loop, 100);
  bridge_close_wait(loop, wc);
  sleep_ms(loop, 50);
  ASSERT_TRUE(!r->done && !mxs[1].rec.done);
  curl_easy_cleanup(easy);
  curl_easy_cleanup(easy2);
  mx_done_count = 0;
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- one wait: curl, a wasio timer and a wasio server in one loop ---------------------- */

/* The timer's period, and how many firings the test measures. */
#define TICK_MS 25
#define TICKS 20
/* The bound on a firing's lateness, and how many of the TICKS
 * firings must keep it: a firing can be late because the whole process was
 * not scheduled (the machine runs other builds), which is not the loop's
 * doing, so the test allows one firing in ten over the bound. */
#define TICK_LATE_MAX_MS 10
#define TICKS_ON_TIME_MIN 18

typedef struct ticker {
  wasio_curl_t *wc;
  uint64_t late_ns[TICKS];
  int n;
  int during; /* firings while curl transfers were in flight */
} ticker_t;

static void on_tick(wasio_timer_t *t) {
  ticker_t *k = wasio_timer_data(t);
  if (k->n >= TICKS) return;
  uint64_t now = wasio_monotonic_ns(), due = wasio_timer_due(t) - (uint64_t)TICK_MS * MS;
  k->late_ns[k->n++] = now > due ? now - due : 0;
  if (wasio_curl_pending(k->wc) > 0) k->during++;
}

/* A wasio server in the same loop: greets each client and closes. */
typedef struct greeter {
  wasio_tcp_t *listener;
  uint16_t port;
  int served;
  int pending_at_serve; /* curl transfers in flight when it served */
  wasio_curl_t *wc;
  wasio_write_t req;
} greeter_t;
static const char GREETING[] = "hello from wasio\n";

static void greeter_wrote(wasio_write_t *req, int status) {
  (void)status;
  wasio_tcp_close(req->data, NULL);
}

static void greeter_on_conn(wasio_tcp_t *listener, wasio_tcp_t *client, int status) {
  greeter_t *g = wasio_tcp_data(listener);
  ASSERT_WASIO(0, status);
  g->served++;
  g->pending_at_serve = (int)wasio_curl_pending(g->wc);
  g->req.data = client;
  ASSERT_OK(wasio_tcp_write(client, &g->req, GREETING, sizeof GREETING - 1, greeter_wrote));
}

/* A chain of GETs on one easy handle: each done callback starts the next
 * until `stop`. */
typedef struct chain {
  wasio_curl_t *wc;
  CURL *easy;
  char url[128];
  rec_t rec;
  int gets;
  bool stop, idle, failed;
} chain_t;
static chain_t chains[2];

static void chain_on_done(wasio_curl_t *wc, CURL *easy, CURLcode result, void *data);

static void chain_next(chain_t *c) {
  rec_setup(c->easy, &c->rec);
  ASSERT_OK(wasio_curl_add(c->wc, c->easy, c->url, chain_on_done, c));
}

static void chain_on_done(wasio_curl_t *wc, CURL *easy, CURLcode result, void *data) {
  (void)wc;
  (void)easy;
  chain_t *c = data;
  if (result != CURLE_OK || strcmp(c->rec.body, "hello from nginx\n") != 0) c->failed = true;
  c->gets++;
  if (c->stop || c->failed) c->idle = true;
  else chain_next(c);
}

TEST(shared_wait_timer_and_server_during_transfers) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 60000);
  wasio_curl_t *wc = bridge_new(loop);
  char url[256];
  /* Transfers in flight throughout: two GETs that follow each other on
   * keep-alive connections (HTTP and HTTPS) until the measure ends, and
   * four that stall for 1.5 s (idle sockets curl watches). Bodies stay
   * small so that no callback computes for long: the bound is about the
   * wait, and a 5 MiB body decrypted in one turn of the ASan build would
   * measure mbedTLS instead (the big bodies have tests of their own). */
  uint16_t tls = tls_port("tls13-ecdsa");
  for (int i = 0; i < 2; i++) {
    chains[i].wc = wc;
    chains[i].easy = curl_easy_init();
    if (i == 1) trust_ca(chains[i].easy, "/tls/ca.pem");
    url_of(chains[i].url, sizeof chains[i].url, i ? "https" : "http", "localhost", i ? tls : NGINX_PORT, "/small.txt");
    chain_next(&chains[i]);
  }
  for (int i = 2; i < 6; i++) {
    mx_add(wc, i, url_of(url, sizeof url, "http", "127.0.0.1", STALL_PORT, "/stall-body"));
    curl_easy_setopt(mxs[i].easy, CURLOPT_TIMEOUT_MS, 1500L);
  }
  /* The measure starts once both chains run on their connections: a TLS
   * handshake is computation inside curl's callbacks (tens of ms in the
   * ASan build), not a wait. */
  WAIT_UNTIL(loop, chains[0].gets > 0 && chains[1].gets > 0);
  /* the timer */
  ticker_t k = {.wc = wc};
  wasio_timer_t *tick = NULL;
  ASSERT_OK(wasio_timer_new(loop, &tick));
  wasio_timer_set_data(tick, &k);
  ASSERT_OK(wasio_timer_start(tick, on_tick, (uint64_t)TICK_MS * MS, (uint64_t)TICK_MS * MS));
  /* the server, and a client of it */
  greeter_t g = {.wc = wc};
  ASSERT_OK(wasio_tcp_new(loop, &g.listener));
  wasio_tcp_set_data(g.listener, &g);
  wasio_addr_t any = loopback(WASIO_AF_INET, 0), local;
  ASSERT_OK(wasio_tcp_bind(g.listener, &any));
  ASSERT_OK(wasio_tcp_listen(g.listener, 8, greeter_on_conn));
  ASSERT_OK(wasio_tcp_local_addr(g.listener, &local));
  sleep_ms(loop, 100);
  tconn_t c;
  tconn_new(loop, &c, 1024);
  tconn_connect_ok(loop, &c, &local);
  tconn_read_start(&c);
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_EQ_STR(tconn_text(&c), GREETING);
  ASSERT_EQ_INT(g.served, 1);
  ASSERT_GT_INT(g.pending_at_serve, 0);
  WAIT_UNTIL(loop, k.n == TICKS);
  int gets_before = chains[0].gets + chains[1].gets;
  chains[0].stop = chains[1].stop = true;
  WAIT_UNTIL(loop, mx_done_count == 4 && chains[0].idle && chains[1].idle);
  int on_time = 0;
  uint64_t worst = 0;
  for (int i = 0; i < TICKS; i++) {
    if (k.late_ns[i] <= (uint64_t)TICK_LATE_MAX_MS * MS) on_time++;
    if (k.late_ns[i] > worst) worst = k.late_ns[i];
  }
  fprintf(stderr, "# timer: %d of %d firings within %d ms of their deadline (worst %.1f ms), %d during transfers,"
          " %d GETs meanwhile\n", on_time, TICKS, TICK_LATE_MAX_MS, (double)worst / 1e6, k.during, gets_before);
  ASSERT_GE_INT(on_time, TICKS_ON_TIME_MIN);
  ASSERT_GE_INT(k.during, TICKS_ON_TIME_MIN);
  ASSERT_GT_INT(gets_before, TICKS);
  for (int i = 0; i < 2; i++) {
    ASSERT_TRUE(!chains[i].failed);
    long connects = -1;
    curl_easy_getinfo(chains[i].easy, CURLINFO_NUM_CONNECTS, &connects);
    ASSERT_EQ_INT(connects, 0); /* the last GET of each chain reused its connection */
    curl_easy_cleanup(chains[i].easy);
  }
  for (int i = 2; i < 6; i++) ASSERT_EQ_INT(mxs[i].rec.result, CURLE_OPERATION_TIMEDOUT);
  tconn_close(loop, &c);
  wasio_tcp_close(g.listener, NULL);
  wasio_timer_close(tick, NULL);
  bridge_close_wait(loop, wc);
  mx_cleanup();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- a slow name lookup stalls no other transfer (the test resolver) ------------------ */

/* tests/helpers/dns_server.py --slow-ms above: how long the test resolver
 * takes to answer slow.wasio.test. */
#define SLOW_LOOKUP_MS 2000
/* GETs made one after another while the slow lookup is pending. */
#define FAST_GETS 5
/* The ticker of the same loop: its period. */
#define SLOW_TICK_MS 10

static int slow_ticks;
static void count_tick(wasio_timer_t *t) {
  (void)t;
  slow_ticks++;
}

/* A transfer to slow.wasio.test waits 2 s for its name; meanwhile
 * FAST_GETS transfers by name (fast.wasio.test, answered at once) start
 * and finish one after another, and a wasio timer keeps firing. Were the
 * loop waiting for the slow lookup (a getaddrinfo in the loop's thread, as
 * libcurl's own resolver does here), no fast GET could end before the slow
 * answer came, 2 s after the start. */
TEST(multi_slow_lookup_stalls_no_other_transfer) {
  if (harness_param("resolver", NULL) == NULL)
    harness_skip("%s", harness_param("no_resolver", "no test resolver given (tests/run.py)"));
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 30000);
  wasio_curl_t *wc = bridge_new(loop);
  wasio_timer_t *tick = NULL;
  ASSERT_OK(wasio_timer_new(loop, &tick));
  ASSERT_OK(wasio_timer_start(tick, count_tick, SLOW_TICK_MS * MS, SLOW_TICK_MS * MS));
  char url[256];
  uint64_t t0 = wasio_monotonic_ns();
  mx_add(wc, 0, url_of(url, sizeof url, "http", "slow.wasio.test", NGINX_PORT, "/small.txt"));
  uint64_t fast_ms[FAST_GETS];
  for (int i = 1; i <= FAST_GETS; i++) {
    mx_add(wc, i, url_of(url, sizeof url, "http", "fast.wasio.test", NGINX_PORT, "/small.txt"));
    WAIT_UNTIL(loop, mxs[i].rec.done);
    fast_ms[i - 1] = elapsed_ms_since(t0);
    ASSERT_EQ_INT(mxs[i].rec.result, CURLE_OK);
    ASSERT_EQ_STR(mxs[i].rec.body, "hello from nginx\n");
  }
  int ticks_fast = slow_ticks;
  ASSERT_TRUE(!mxs[0].rec.done);
  WAIT_UNTIL(loop, mxs[0].rec.done);
  uint64_t slow_ms = elapsed_ms_since(t0);
  fprintf(stderr, "# fast GETs done at %llu..%llu ms, the slow one at %llu ms; %d ticks of %d ms by the last fast"
          " GET, %d by the slow one\n", (unsigned long long)fast_ms[0], (unsigned long long)fast_ms[FAST_GETS - 1],
          (unsigned long long)slow_ms, ticks_fast, SLOW_TICK_MS, slow_ticks);
  ASSERT_EQ_INT(mxs[0].rec.result, CURLE_OK);
  ASSERT_EQ_STR(mxs[0].rec.body, "hello from nginx\n");
  /* the lookup was slow (else the test proves nothing)... */
  ASSERT_GE_U64(slow_ms, SLOW_LOOKUP_MS * 9 / 10);
  /* ...and every fast GET ended before its answer could have come */
  ASSERT_LT_U64(fast_ms[FAST_GETS - 1], SLOW_LOOKUP_MS);
  /* the timer kept firing while the lookup was pending: at least half of
   * its firings (the process may not be scheduled at each) */
  ASSERT_GE_INT(slow_ticks, SLOW_LOOKUP_MS / SLOW_TICK_MS / 2);
  wasio_timer_close(tick, NULL);
  bridge_close_wait(loop, wc);
  mx_cleanup();
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}
