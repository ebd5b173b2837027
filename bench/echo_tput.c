/* bench/echo_tput.c: TCP echo throughput through wasio.
 *
 *   echo_tput PORT [TOTAL_MIB WARMUP_MIB CAP_MS WINDOW_KIB]
 *
 * One connection to the echo peer on 127.0.0.1:PORT (bench/helpers/peer.c,
 * native C). wasio writes WARMUP_MIB + TOTAL_MIB of a known pattern in
 * ECHO_CHUNK-byte writes, keeping at most WINDOW_KIB written but not yet
 * echoed back, and reads everything back through wasio (the loop's own read
 * buffer). So every byte passes through wasio twice: once written, once read.
 *
 * The clock starts when the first WARMUP_MIB have come back and stops when
 * everything has, or CAP_MS after the start (then the bytes echoed so far
 * count, and capped=1 is printed). Prints one "RESULT key=value ..." line:
 * bytes, seconds, MB/s (10^6 bytes of echoed payload per second), and the
 * wasio_loop_stats deltas of the measured span, and libc_allocs, the heap
 * allocations of the same span counted by bench/alloc_count.h.
 *
 * Each read's first and last byte are checked against the pattern (an O(1)
 * check, so a byte-by-byte compare does not dominate what is measured; the
 * tests check whole transfers by hash). Only the public API is used, so
 * this one file builds natively and as a component. Any error prints
 * "ERROR ..." and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"
#include "alloc_count.h"

/* One write; also the pattern's period, so every full write starts at
 * offset 0 of the pattern. */
#define ECHO_CHUNK 65536
/* Write requests in flight at most (they all point into `pattern`). */
#define ECHO_REQS 32
#define CONNECT_TIMEOUT_NS (20 * WASIO_NS_PER_S)
#define MIB (1024ull * 1024ull)

static wasio_loop_t *loop;
static wasio_tcp_t *tcp;
static uint8_t pattern[ECHO_CHUNK];
static wasio_write_t reqs[ECHO_REQS];
static wasio_write_t *free_reqs[ECHO_REQS];
static size_t n_free;

static uint64_t total, warmup, window, cap_ns;
static uint64_t sent, received;
static uint64_t t_start, t_end, recv_start;
static int capped;
/* Set when the measurement ends: nothing more is written, and the loop
 * stops once every byte written has come back, so the connection closes
 * with no write pending (a close never waits on unsent data). */
static int done;
static wasio_loop_stats_t s0, s1;
static uint64_t h0, h1; /* bench_heap_allocs at the same points */

static void fail(const char *what, int status) {
  printf("ERROR %s: %s (%s)\n", what, wasio_strerror(status), wasio_err_name(status));
  fflush(stdout);
  exit(1);
}

static uint8_t pattern_at(uint64_t off) { return pattern[off % ECHO_CHUNK]; }

static void pump(void);

static void write_cb(wasio_write_t *req, int status) {
  if (status < 0) {
    fail("write", status);
  }
  free_reqs[n_free++] = req;
  pump();
}

/* Queues writes while there is a free request, something left to send and
 * room in the window. */
static void pump(void) {
  while (!done && n_free > 0 && sent < total && sent - received < window) {
    uint64_t len = total - sent;
    if (len > ECHO_CHUNK) len = ECHO_CHUNK;
    wasio_write_t *req = free_reqs[--n_free];
    int rc = wasio_tcp_write(tcp, req, pattern, (size_t)len, write_cb);
    if (rc < 0) fail("wasio_tcp_write", rc);
    sent += len;
  }
}

static void finish(void) {
  t_end = wasio_monotonic_ns();
  wasio_loop_stats(loop, &s1);
  h1 = bench_heap_allocs;
  done = 1;
  if (received == sent) wasio_loop_stop(loop);
}

static void read_cb(wasio_tcp_t *t, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)t;
  if (nread < 0) fail("read", (int)nread);
  const uint8_t *p = buf->base;
  size_t n = (size_t)nread;
  if (received + n > sent) fail("read: more bytes than were sent", WASIO_ESTATE);
  if (p[0] != pattern_at(received) || p[n - 1] != pattern_at(received + n - 1))
    fail("read: bytes differ from what was sent", WASIO_EIO);
  received += n;
  if (done) {
    if (received == sent) wasio_loop_stop(loop);
    return;
  }
  if (!t_start && received >= warmup) {
    t_start = wasio_monotonic_ns();
    recv_start = received;
    wasio_loop_stats(loop, &s0);
    h0 = bench_heap_allocs;
  }
  if (received == total) {
    finish();
    return;
  }
  if (t_start && wasio_monotonic_ns() - t_start >= cap_ns) {
    capped = 1;
    finish();
    return;
  }
  pump();
}

static void connect_cb(wasio_tcp_t *t, int status) {
  if (status < 0) fail("connect", status);
  int rc = wasio_tcp_read_start(t, NULL, read_cb);
  if (rc < 0) fail("wasio_tcp_read_start", rc);
  pump();
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: echo_tput PORT [TOTAL_MIB WARMUP_MIB CAP_MS WINDOW_KIB]\n");
    return 2;
  }
  uint16_t port = (uint16_t)atoi(argv[1]);
  uint64_t total_mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 64;
  uint64_t warmup_mib = argc > 3 ? strtoull(argv[3], NULL, 10) : 8;
  uint64_t cap_ms = argc > 4 ? strtoull(argv[4], NULL, 10) : 15000;
  uint64_t window_kib = argc > 5 ? strtoull(argv[5], NULL, 10) : 2048;
  if (total_mib == 0 || window_kib * 1024 < ECHO_CHUNK) {
    fprintf(stderr, "echo_tput: TOTAL_MIB must be > 0 and WINDOW_KIB >= %d\n", ECHO_CHUNK / 1024);
    return 2;
  }
  warmup = warmup_mib * MIB;
  total = warmup + total_mib * MIB;
  window = window_kib * 1024;
  cap_ns = cap_ms * WASIO_NS_PER_MS;
  for (size_t i = 0; i < ECHO_CHUNK; i++) pattern[i] = (uint8_t)(i ^ (i >> 8) ^ 0x5a);
  for (size_t i = 0; i < ECHO_REQS; i++) free_reqs[n_free++] = &reqs[i];

  int rc = wasio_loop_new(&loop);
  if (rc < 0) fail("wasio_loop_new", rc);
  rc = wasio_tcp_new(loop, &tcp);
  if (rc < 0) fail("wasio_tcp_new", rc);
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  rc = wasio_tcp_connect(tcp, &addr, CONNECT_TIMEOUT_NS, connect_cb);
  if (rc < 0) fail("wasio_tcp_connect", rc);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) fail("wasio_loop_run", rc);
  if (!done || received != sent)
    fail("the loop ran out of work before the transfer ended", WASIO_ESTATE);

  uint64_t bytes = received - recv_start;
  double secs = (double)(t_end - t_start) / 1e9;
  uint64_t turns = s1.turns - s0.turns;
  uint64_t allocs = s1.allocations - s0.allocations;
  printf("RESULT bytes=%llu seconds=%.4f mb_per_s=%.1f capped=%d window_kib=%llu"
         " turns=%llu polls=%llu allocs=%llu allocs_per_turn=%.4f bytes_per_turn=%.0f"
         " libc_allocs=%llu\n",
         (unsigned long long)bytes, secs, secs > 0 ? (double)bytes / secs / 1e6 : 0.0, capped,
         (unsigned long long)window_kib, (unsigned long long)turns,
         (unsigned long long)(s1.polls - s0.polls), (unsigned long long)allocs,
         turns ? (double)allocs / (double)turns : 0.0,
         turns ? (double)bytes / (double)turns : 0.0, (unsigned long long)(h1 - h0));
  fflush(stdout);

  wasio_tcp_close(tcp, NULL);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) fail("wasio_loop_run (close)", rc);
  rc = wasio_loop_close(loop);
  if (rc < 0) fail("wasio_loop_close", rc);
  return 0;
}
