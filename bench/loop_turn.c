/* bench/loop_turn.c: what one loop turn costs with N idle connections.
 *
 *   loop_turn PORT IDLE [WARMUP_MS MEASURE_MS IDLE_TURN_MS PAYLOAD]
 *
 * Opens IDLE connections plus one "active" connection to the echo peer on
 * 127.0.0.1:PORT (bench/helpers/peer.c). Every connection has a read
 * pending, so every one of them is in the loop's wait set (on wasip2: one
 * pollable each in every poll() call). Then, on the one active connection:
 *
 *   1. warm-up: PAYLOAD-byte echo round trips for WARMUP_MS;
 *   2. measure: echo round trips for MEASURE_MS, each one a write of PAYLOAD
 *      bytes and the read of its echo, driven by wasio_loop_run as usual;
 *   3. idle turns: wasio_loop_run(WASIO_RUN_NOWAIT) repeatedly for
 *      IDLE_TURN_MS with nothing to do: the bare cost of a turn (one
 *      non-blocking wait over every connection).
 *
 * Both measured phases are also cut into SLICES slices of time, and the
 * median slice is printed next to the mean (robust against other processes
 * taking the CPU for part of a phase). It prints one line
 * "RESULT key=value ..." (bench/run.py reads it) with the wasio_loop_stats
 * deltas of phases 2 and 3: turns, polls, allocations,
 * pollables. Allocations must be 0 in both phases: they are wasio's heap
 * allocations, including canonical-ABI cabi_realloc calls it could not serve
 * from its own buffers. libc_allocs/idle_libc_allocs are the same spans
 * counted independently, at every malloc of the statically linked code
 * (bench/alloc_count.h). Only the public API is used, so this one file builds
 * natively and as a component.
 *
 * Any error prints "ERROR ..." and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"
#include "alloc_count.h"

#define CONNECTS_IN_FLIGHT 64
#define CONNECT_TIMEOUT_NS (20 * WASIO_NS_PER_S)
#define MAX_PAYLOAD 4096
/* Most NOWAIT turns between two clock reads in phase 3. The batch starts
 * at 1 and doubles while a batch takes under a 20th of a slice, so fast
 * turns are not dominated by clock reads and slow ones (10,000 pollables
 * on a slow host) do not overrun the phase. */
#define IDLE_TURN_BATCH_MAX 1024
/* Phases 2 and 3 are also cut into this many equal slices of time; the
 * median slice is reported next to the mean, since other processes on a
 * small machine inflate some slices and not others. */
#define SLICES 10

enum phase { CONNECTING, ECHO, DONE };

static wasio_loop_t *loop;
static wasio_tcp_t **conns; /* [0] is the active connection */
static size_t n_conns, n_started, n_connected;
static uint16_t port;

static enum phase phase = CONNECTING;
static uint64_t phase_end;     /* loop time at which the echo phase stops */
static size_t payload = 64;
static uint8_t out_buf[MAX_PAYLOAD];
static wasio_write_t wreq;
static int write_pending;      /* wreq queued, its callback not yet run */
static size_t echo_got;        /* bytes of the current round trip's echo */
static int echo_complete;      /* the echo is in, the next write not sent */
static uint64_t round_trips;

/* Slices of the measured echo phase (empty during the warm-up). */
static int slicing;
static size_t n_slices;
static uint64_t slice_len, slice_start, slice_rt0;
static double slice_ns_per_rtt[SLICES + 1];

static void fail(const char *what, int status) {
  printf("ERROR %s: %s (%s)\n", what, wasio_strerror(status), wasio_err_name(status));
  fflush(stdout);
  exit(1);
}

static void start_connect(void);

static void idle_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)tcp;
  (void)buf;
  /* The peer never sends on these and never closes them first. */
  fail("idle connection read", nread < 0 ? (int)nread : WASIO_ESTATE);
}

static void send_next(void);

static void active_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)tcp;
  (void)buf;
  if (nread < 0) fail("active connection read", (int)nread);
  echo_got += (size_t)nread;
  if (echo_got > payload) fail("active connection: more bytes than sent", WASIO_ESTATE);
  if (echo_got < payload) return;
  echo_got = 0;
  round_trips++;
  echo_complete = 1;
  if (!write_pending) send_next();
}

static void write_cb(wasio_write_t *req, int status) {
  (void)req;
  if (status < 0) fail("active connection write", status);
  write_pending = 0;
  if (echo_complete) send_next();
}

/* Starts the next round trip, or stops the loop when the phase is over
 * (only between round trips, so nothing is in flight across phases). */
static void send_next(void) {
  echo_complete = 0;
  uint64_t now = wasio_loop_now(loop);
  if (slicing && n_slices < SLICES && (now - slice_start >= slice_len || now >= phase_end) &&
      round_trips > slice_rt0) {
    slice_ns_per_rtt[n_slices++] = (double)(now - slice_start) / (double)(round_trips - slice_rt0);
    slice_start = now;
    slice_rt0 = round_trips;
  }
  if (now >= phase_end) {
    phase = DONE;
    wasio_loop_stop(loop);
    return;
  }
  int rc = wasio_tcp_write(conns[0], &wreq, out_buf, payload, write_cb);
  if (rc < 0) fail("wasio_tcp_write", rc);
  write_pending = 1;
}

static void connect_cb(wasio_tcp_t *tcp, int status) {
  if (status < 0) fail("connect", status);
  int rc = wasio_tcp_read_start(tcp, NULL, tcp == conns[0] ? active_read_cb : idle_read_cb);
  if (rc < 0) fail("wasio_tcp_read_start", rc);
  n_connected++;
  if (n_connected == n_conns) {
    wasio_loop_stop(loop);
    return;
  }
  start_connect();
}

static void start_connect(void) {
  if (n_started == n_conns) return;
  wasio_tcp_t *tcp;
  int rc = wasio_tcp_new(loop, &tcp);
  if (rc < 0) fail("wasio_tcp_new", rc);
  conns[n_started++] = tcp;
  wasio_addr_t addr;
  wasio_addr_loopback(WASIO_AF_INET, port, &addr);
  rc = wasio_tcp_connect(tcp, &addr, CONNECT_TIMEOUT_NS, connect_cb);
  if (rc < 0) fail("wasio_tcp_connect", rc);
}

/* Runs echo round trips for `ms` milliseconds of loop time. */
static void echo_phase(uint64_t ms) {
  phase = ECHO;
  wasio_loop_update_time(loop);
  phase_end = wasio_loop_now(loop) + ms * WASIO_NS_PER_MS;
  slice_start = wasio_loop_now(loop);
  slice_len = ms * WASIO_NS_PER_MS / SLICES;
  slice_rt0 = round_trips;
  n_slices = 0;
  send_next();
  int rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) fail("wasio_loop_run", rc);
  if (phase != DONE) fail("echo phase: the loop ran out of work", WASIO_ESTATE);
}

static void sub_stats(const wasio_loop_stats_t *a, const wasio_loop_stats_t *b,
                      wasio_loop_stats_t *d) {
  d->turns = b->turns - a->turns;
  d->polls = b->polls - a->polls;
  d->allocations = b->allocations - a->allocations;
  d->pollables = b->pollables - a->pollables;
}

static double per(uint64_t x, uint64_t n) { return n ? (double)x / (double)n : 0.0; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
  if (n == 0) return 0.0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: loop_turn PORT IDLE [WARMUP_MS MEASURE_MS IDLE_TURN_MS PAYLOAD]\n");
    return 2;
  }
  port = (uint16_t)atoi(argv[1]);
  size_t idle = (size_t)strtoul(argv[2], NULL, 10);
  uint64_t warmup_ms = argc > 3 ? strtoull(argv[3], NULL, 10) : 300;
  uint64_t measure_ms = argc > 4 ? strtoull(argv[4], NULL, 10) : 1500;
  uint64_t idle_turn_ms = argc > 5 ? strtoull(argv[5], NULL, 10) : 300;
  if (argc > 6) payload = (size_t)strtoul(argv[6], NULL, 10);
  if (payload == 0 || payload > MAX_PAYLOAD) {
    fprintf(stderr, "loop_turn: PAYLOAD must be 1..%d\n", MAX_PAYLOAD);
    return 2;
  }
  for (size_t i = 0; i < payload; i++) out_buf[i] = (uint8_t)(i * 31 + 7);

  int rc = wasio_loop_new(&loop);
  if (rc < 0) fail("wasio_loop_new", rc);
  n_conns = idle + 1;
  conns = calloc(n_conns, sizeof *conns);
  if (!conns) fail("calloc", WASIO_ENOMEM);

  /* Set-up: every connection established and reading. */
  uint64_t t_connect = wasio_monotonic_ns();
  for (int i = 0; i < CONNECTS_IN_FLIGHT; i++) start_connect();
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) fail("wasio_loop_run", rc);
  if (n_connected != n_conns) fail("set-up: the loop ran out of work", WASIO_ESTATE);
  t_connect = wasio_monotonic_ns() - t_connect;
  /* Set-up allocates (a handle per connection): both counters must see it,
   * which shows the cross-check counts at all. */
  wasio_loop_stats_t s_setup;
  wasio_loop_stats(loop, &s_setup);
  uint64_t h_setup = bench_heap_allocs;

  /* 1. warm-up, 2. measured round trips. */
  echo_phase(warmup_ms);
  uint64_t rt0 = round_trips;
  wasio_loop_stats_t s0, s1, s2, echo, idle_d;
  wasio_loop_stats(loop, &s0);
  uint64_t h0 = bench_heap_allocs;
  uint64_t t0 = wasio_monotonic_ns();
  slicing = 1;
  echo_phase(measure_ms);
  slicing = 0;
  size_t echo_slices = n_slices;
  double rtt_med = median(slice_ns_per_rtt, echo_slices);
  uint64_t t1 = wasio_monotonic_ns();
  wasio_loop_stats(loop, &s1);
  uint64_t h1 = bench_heap_allocs;
  uint64_t rts = round_trips - rt0;

  /* 3. bare turns: nothing is ready, nothing is queued. */
  uint64_t t1b = wasio_monotonic_ns(), t2;
  uint64_t idle_end = t1b + idle_turn_ms * WASIO_NS_PER_MS;
  uint64_t islice_len = idle_turn_ms * WASIO_NS_PER_MS / SLICES, islice_start = t1b;
  uint64_t islice_turns = 0;
  double islice_ns[SLICES + 1];
  size_t idle_slices = 0;
  uint64_t batch = 1, tb = t1b;
  do {
    for (uint64_t i = 0; i < batch; i++) {
      rc = wasio_loop_run(loop, WASIO_RUN_NOWAIT);
      if (rc < 0) fail("wasio_loop_run(NOWAIT)", rc);
    }
    islice_turns += batch;
    t2 = wasio_monotonic_ns();
    if (t2 - tb < islice_len / 20 && batch < IDLE_TURN_BATCH_MAX) batch *= 2;
    tb = t2;
    if (idle_slices < SLICES && (t2 - islice_start >= islice_len || t2 >= idle_end)) {
      islice_ns[idle_slices++] = (double)(t2 - islice_start) / (double)islice_turns;
      islice_start = t2;
      islice_turns = 0;
    }
  } while (t2 < idle_end);
  double idle_med = median(islice_ns, idle_slices);
  wasio_loop_stats(loop, &s2);
  uint64_t h2 = bench_heap_allocs;

  sub_stats(&s0, &s1, &echo);
  sub_stats(&s1, &s2, &idle_d);
  uint64_t echo_ns = t1 - t0, idle_ns = t2 - t1b;
  printf("RESULT idle=%zu payload=%zu connect_ms=%.1f setup_allocs=%llu setup_libc_allocs=%llu"
         " rtt=%llu ns_per_rtt=%.0f turns=%llu turns_per_rtt=%.2f ns_per_turn=%.0f"
         " polls=%llu pollables_per_poll=%.1f allocs=%llu allocs_per_turn=%.4f"
         " idle_turns=%llu ns_per_idle_turn=%.0f idle_polls=%llu idle_pollables_per_poll=%.1f"
         " idle_allocs=%llu idle_allocs_per_turn=%.4f libc_allocs=%llu idle_libc_allocs=%llu"
         " slices=%zu ns_per_rtt_med=%.0f idle_slices=%zu ns_per_idle_turn_med=%.0f\n",
         idle, payload, (double)t_connect / 1e6, (unsigned long long)s_setup.allocations,
         (unsigned long long)h_setup,
         (unsigned long long)rts, per(echo_ns, rts), (unsigned long long)echo.turns,
         per(echo.turns, rts), per(echo_ns, echo.turns),
         (unsigned long long)echo.polls, per(echo.pollables, echo.polls),
         (unsigned long long)echo.allocations, per(echo.allocations, echo.turns),
         (unsigned long long)idle_d.turns, per(idle_ns, idle_d.turns),
         (unsigned long long)idle_d.polls, per(idle_d.pollables, idle_d.polls),
         (unsigned long long)idle_d.allocations, per(idle_d.allocations, idle_d.turns),
         (unsigned long long)(h1 - h0), (unsigned long long)(h2 - h1),
         echo_slices, rtt_med, idle_slices, idle_med);
  fflush(stdout);

  /* Tear-down: close everything, let the close callbacks run, free. */
  for (size_t i = 0; i < n_conns; i++) wasio_tcp_close(conns[i], NULL);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) fail("wasio_loop_run (close)", rc);
  rc = wasio_loop_close(loop);
  if (rc < 0) fail("wasio_loop_close", rc);
  free(conns);
  return 0;
}
