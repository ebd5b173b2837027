/* bench/tls_client.c: TLS client throughput, mbedTLS in the guest
 * (wasio_tls_t) or the host's wasi:tls (wasio_tls_host_t).
 *
 *   tls_client [guest|host] PORT SECONDS [PATH EXPECT_BYTES]
 *
 * Against a local `openssl s_server -WWW` on 127.0.0.1:PORT. Repeats, for
 * SECONDS: TCP connect, a FULL TLS handshake (a fresh config per connection,
 * so no session is resumed, like `openssl s_time -new`), then, with PATH,
 * "GET /PATH HTTP/1.0" and reading the whole response (the plaintext is
 * counted), then close_notify and close. Without PATH it is handshakes only.
 * The config is `insecure` (no chain/name check, as s_time, which does not
 * verify either); the ServerKeyExchange signature is still checked.
 *
 * host (a `wasio-cc --host-tls` build, run where the host trusts the
 * server, e.g. tools/wasio-run --host tlshost with SSL_CERT_FILE = its
 * certificate): the same loop through wasio_tls_host_connect() for the name
 * "localhost". The host verifies the chain and the name (the draft has no
 * way to skip that); a connection ends like the guest's: wasio_tcp_shutdown()
 * (close_notify through the draft's close-output), then
 * wasio_tls_host_close(). In a build without host TLS, "host" fails with
 * WASIO_ENOTSUP.
 * Prints "RESULT conns=N seconds=S bytes=B". Any error prints "ERROR ..."
 * and exits 1. Public API only: builds natively and as a component.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"
#include "wasio/tls.h"
#include "wasio/tls_host.h"

#define CONNECT_TIMEOUT_NS (20 * WASIO_NS_PER_S)
#define SERVER_NAME "localhost"

static wasio_loop_t *loop;
static wasio_tls_config_t *cfg;
static wasio_tls_t *tls;
static wasio_write_t wreq;
static char request[512];
static const char *path;
static uint64_t expect_bytes, t_start, t_cap_ns, conns, total_bytes, conn_bytes;
static int done;
static int use_host; /* "host": wasio_tls_host_t instead of wasio_tls_t */

static void fail(const char *what, int status) {
  printf("ERROR %s: %s (%s)\n", what, wasio_strerror(status), wasio_err_name(status));
  fflush(stdout);
  exit(1);
}

static void start_conn(void);
static wasio_tls_config_t *old_cfg;

static void free_old_config(void) {
  if (!old_cfg) return;
  int rc = wasio_tls_config_free(old_cfg);
  if (rc < 0) fail("wasio_tls_config_free", rc);
  old_cfg = NULL;
}

static void write_cb(wasio_write_t *req, int status) {
  (void)req;
  if (status < 0 && status != WASIO_ECANCELED) fail("wasio_tls_write", status);
}

/* A connection is over (either backend): count it, then the next one until
 * the time is up. */
static void conn_ended(void) {
  conns++;
  total_bytes += conn_bytes;
  if (wasio_monotonic_ns() - t_start >= t_cap_ns) {
    done = 1;
    wasio_loop_stop(loop);
    return;
  }
  start_conn();
}

static void close_cb(wasio_tls_t *t) {
  (void)t;
  /* The config is freed later (free_old_config): inside the stream's close
   * callback its engine still exists, and wasio_tls_config_free() returns
   * WASIO_EBUSY there. */
  old_cfg = cfg;
  cfg = NULL;
  conn_ended();
}

static void shutdown_cb(wasio_tls_t *t, int status) {
  (void)status; /* the server may have closed already */
  wasio_tls_close(t, close_cb);
}

static void read_cb(wasio_tls_t *t, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf;
  if (nread > 0) {
    conn_bytes += (uint64_t)nread;
    return;
  }
  /* s_server -WWW ends the response with close_notify (EOF); a truncation
   * after every expected byte is accepted too. */
  if (nread == WASIO_EOF || (nread == WASIO_ETLS_TRUNCATED && conn_bytes >= expect_bytes)) {
    if (conn_bytes < expect_bytes) fail("short response", WASIO_EIO);
    wasio_tls_read_stop(t);
    wasio_tls_close(t, close_cb);
    return;
  }
  fail("wasio_tls read", (int)nread);
}

static void hs_cb(wasio_tls_t *t, int status) {
  if (status < 0) fail("handshake", status);
  if (!path) {
    int rc = wasio_tls_shutdown(t, shutdown_cb);
    if (rc < 0) fail("wasio_tls_shutdown", rc);
    return;
  }
  int rc = wasio_tls_read_start(t, NULL, read_cb);
  if (rc < 0) fail("wasio_tls_read_start", rc);
}

/* ---- the host's TLS ---------------------------------------------------------- */

static wasio_tls_host_t *htls;

static void host_close_cb(wasio_tls_host_t *t) {
  (void)t;
  htls = NULL;
  conn_ended();
}

static void host_shutdown_cb(wasio_tcp_t *tcp, int status) {
  (void)tcp;
  (void)status; /* the server may have closed already, as for the guest */
  wasio_tls_host_close(htls, host_close_cb);
}

/* close_notify, then close (the same end as the guest's connections). */
static void host_end(wasio_tls_host_t *t) {
  int rc = wasio_tcp_shutdown(wasio_tls_host_tcp(t), host_shutdown_cb);
  if (rc < 0) wasio_tls_host_close(t, host_close_cb);
}

static void host_write_cb(wasio_write_t *req, int status) {
  (void)req;
  if (status < 0 && status != WASIO_ECANCELED) fail("wasio_tcp_write (host TLS)", status);
}

static void host_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf;
  if (nread > 0) {
    conn_bytes += (uint64_t)nread;
    return;
  }
  /* s_server -WWW ends with close_notify: EOF. A host that reports the end
   * as a failed stream after every expected byte is accepted too. */
  if (nread == WASIO_EOF || (nread == WASIO_ECONNRESET && conn_bytes >= expect_bytes)) {
    if (conn_bytes < expect_bytes) fail("short response (host TLS)", WASIO_EIO);
    wasio_tcp_read_stop(tcp);
    host_end(htls);
    return;
  }
  fail("wasio_tcp read (host TLS)", (int)nread);
}

static void host_hs_cb(wasio_tls_host_t *t, int status) {
  if (status < 0) {
    printf("# host: %s\n", wasio_tls_host_error_message(t));
    fail("host handshake", status);
  }
  if (!path) {
    host_end(t);
    return;
  }
  wasio_tcp_t *tcp = wasio_tls_host_tcp(t);
  int rc = wasio_tcp_read_start(tcp, NULL, host_read_cb);
  if (rc < 0) fail("wasio_tcp_read_start (host TLS)", rc);
  rc = wasio_tcp_write(tcp, &wreq, request, strlen(request), host_write_cb);
  if (rc < 0) fail("wasio_tcp_write (host TLS)", rc);
}

/* ---- mbedTLS in the guest ------------------------------------------------------ */

static void connect_cb(wasio_tcp_t *tcp, int status) {
  if (status < 0) fail("connect", status);
  if (use_host) {
    int rc = wasio_tls_host_connect(tcp, SERVER_NAME, host_hs_cb, &htls);
    if (rc < 0) fail("wasio_tls_host_connect", rc);
    return;
  }
  free_old_config();
  int rc = wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg);
  if (rc < 0) fail("wasio_tls_config_new", rc);
  rc = wasio_tls_config_insecure(cfg, true);
  if (rc < 0) fail("wasio_tls_config_insecure", rc);
  rc = wasio_tls_new(tcp, cfg, SERVER_NAME, 443, &tls);
  if (rc < 0) fail("wasio_tls_new", rc);
  rc = wasio_tls_handshake(tls, hs_cb);
  if (rc < 0) fail("wasio_tls_handshake", rc);
  if (path) {
    rc = wasio_tls_write(tls, &wreq, request, strlen(request), write_cb);
    if (rc < 0) fail("wasio_tls_write", rc);
  }
}

static uint16_t port;

static void start_conn(void) {
  wasio_tcp_t *tcp;
  conn_bytes = 0;
  int rc = wasio_tcp_new(loop, &tcp);
  if (rc < 0) fail("wasio_tcp_new", rc);
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  rc = wasio_tcp_connect(tcp, &addr, CONNECT_TIMEOUT_NS, connect_cb);
  if (rc < 0) fail("wasio_tcp_connect", rc);
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "guest") == 0 || strcmp(argv[1], "host") == 0)) {
    use_host = strcmp(argv[1], "host") == 0;
    argv++;
    argc--;
  }
  if (argc != 3 && argc != 5) {
    fprintf(stderr, "usage: tls_client [guest|host] PORT SECONDS [PATH EXPECT_BYTES]\n");
    return 2;
  }
  port = (uint16_t)atoi(argv[1]);
  t_cap_ns = (uint64_t)(atof(argv[2]) * 1e9);
  if (argc == 5) {
    path = argv[3];
    expect_bytes = strtoull(argv[4], NULL, 10);
    snprintf(request, sizeof request, "GET /%s HTTP/1.0\r\n\r\n", path);
  }
  int rc = wasio_loop_new(&loop);
  if (rc < 0) fail("wasio_loop_new", rc);
  t_start = wasio_monotonic_ns();
  start_conn();
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) fail("wasio_loop_run", rc);
  uint64_t t_end = wasio_monotonic_ns();
  if (!done) fail("loop ended early", WASIO_EIO);
  /* Let the last stream's deferred frees finish, then free its config. */
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) fail("wasio_loop_run (drain)", rc);
  free_old_config();
  rc = wasio_loop_close(loop);
  if (rc < 0) fail("wasio_loop_close", rc);
  printf("RESULT conns=%llu seconds=%.4f bytes=%llu\n", (unsigned long long)conns,
         (double)(t_end - t_start) / 1e9, (unsigned long long)total_bytes);
  return 0;
}
