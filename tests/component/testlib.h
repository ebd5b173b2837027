/* tests/component/testlib.h: shared pieces of the component tests.
 *
 * Header-only (static functions) so each test program stays one .c file
 * plus tests/harness.c, which is how the Makefile builds it for both hosts.
 *
 * The style every test follows:
 * - a watchdog timer bounds the test: if it fires, the test fails with the
 *   step it was waiting for, so nothing can hang;
 * - WAIT_UNTIL(loop, cond) drives the loop one turn at a time from the test
 *   body (never from a callback), so tests read top to bottom;
 * - the test closes every handle, the watchdog last, and ends with
 *   ASSERT_LOOP_CLOSED(loop), the handle-leak check.
 */
#ifndef WASIO_TESTLIB_H
#define WASIO_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "wasio.h"

#define MS WASIO_NS_PER_MS

/* Every function here is static; each test file uses only some of them. */
#define TL_FN static __attribute__((unused))

/* ---- watchdog and waiting ----------------------------------------------- */

/* What the test is waiting for, printed when the watchdog fires. */
static const char *tl_waiting_for = "(start)";

TL_FN void tl_watchdog_cb(wasio_timer_t *t) {
  harness_fail(__FILE__, __LINE__, "watchdog: %llu ms passed while waiting for: %s",
               (unsigned long long)(uintptr_t)wasio_timer_data(t), tl_waiting_for);
}

/* Starts a timer that fails the test after `ms`. Close it with
 * watchdog_stop() before ASSERT_LOOP_CLOSED. */
TL_FN wasio_timer_t *watchdog_start(wasio_loop_t *loop, uint64_t ms) {
  wasio_timer_t *t = NULL;
  ASSERT_OK(wasio_timer_new(loop, &t));
  wasio_timer_set_data(t, (void *)(uintptr_t)ms);
  ASSERT_OK(wasio_timer_start(t, tl_watchdog_cb, ms * MS, 0));
  return t;
}

TL_FN void watchdog_stop(wasio_timer_t *t) { wasio_timer_close(t, NULL); }

/* A wait that took long is worth a note in the output (tests/run.py shows
 * it with a failure): "# slow wait ...". */
#define TL_SLOW_WAIT_MS 2000
TL_FN void tl_note_slow_wait(uint64_t t0, int line, const char *cond) {
  uint64_t ms = (wasio_monotonic_ns() - t0) / WASIO_NS_PER_MS;
  if (ms >= TL_SLOW_WAIT_MS) printf("# slow wait (%llu ms) at line %d: %s\n", (unsigned long long)ms, line, cond);
}

/* Runs the loop one turn at a time until `cond` holds. The watchdog bounds
 * it; running out of work first is a failure of its own. */
#define WAIT_UNTIL(loop, cond)                                                  \
  do {                                                                          \
    tl_waiting_for = #cond;                                                     \
    uint64_t _t0 = wasio_monotonic_ns();                                        \
    while (!(cond)) {                                                           \
      int _rc = wasio_loop_run((loop), WASIO_RUN_ONCE);                         \
      if (_rc < 0)                                                              \
        harness_fail(__FILE__, __LINE__, "wasio_loop_run: %s", harness_err_name(_rc)); \
      if (_rc == 0 && !(cond))                                                  \
        harness_fail(__FILE__, __LINE__, "loop ran out of work waiting for %s", #cond); \
    }                                                                           \
    tl_note_slow_wait(_t0, __LINE__, #cond);                                    \
  } while (0)

TL_FN uint64_t elapsed_ms_since(uint64_t t0_ns) { return (wasio_monotonic_ns() - t0_ns) / MS; }

/* The helper port the driver passed as `key=N` (tests/run.py). */
TL_FN uint16_t helper_port(const char *key) {
  long p = harness_param_int(key, -1);
  if (p <= 0 || p > 65535)
    harness_fail(__FILE__, __LINE__, "no helper port: run through tests/run.py (%s=N)", key);
  return (uint16_t)p;
}

TL_FN wasio_addr_t loopback(wasio_family_t family, uint16_t port) {
  wasio_addr_t a;
  wasio_addr_loopback(family, port, &a);
  return a;
}

TL_FN const char *addr_str(const wasio_addr_t *a, char buf[WASIO_ADDR_STRLEN]) {
  if (wasio_addr_format(a, buf, WASIO_ADDR_STRLEN) < 0) snprintf(buf, WASIO_ADDR_STRLEN, "(bad)");
  return buf;
}

#define ASSERT_EQ_ADDR(a, b)                                                    \
  do {                                                                          \
    char _x[WASIO_ADDR_STRLEN], _y[WASIO_ADDR_STRLEN];                          \
    if (!wasio_addr_equal((a), (b)))                                            \
      harness_fail(__FILE__, __LINE__, "%s == %s: %s vs %s", #a, #b,            \
                   addr_str((a), _x), addr_str((b), _y));                       \
  } while (0)

/* ---- data: a PRNG stream and CRC-32 ---------------------------------------- */

/* xorshift64: cheap, reproducible test bytes (not for cryptography). */
typedef struct { uint64_t s; } tl_rng_t;

TL_FN void tl_rng_fill(tl_rng_t *r, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if ((i & 7) == 0) {
      r->s ^= r->s << 13;
      r->s ^= r->s >> 7;
      r->s ^= r->s << 17;
    }
    p[i] = (uint8_t)(r->s >> ((i & 7) * 8));
  }
}

/* CRC-32 as zlib computes it (reflected polynomial 0xEDB88320, initial and
 * final value inverted), so it matches Python's zlib.crc32 in the helpers.
 * Chain calls by passing the previous result; start with 0. */
TL_FN uint32_t tl_crc32(uint32_t crc, const void *data, size_t n) {
  static uint32_t table[256];
  static bool ready;
  if (!ready) {
    for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    ready = true;
  }
  const uint8_t *p = data;
  crc = ~crc;
  for (size_t i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* ---- a TCP connection with an input buffer ---------------------------------
 * The test body connects, writes and waits on the fields; the callbacks only
 * record. Input accumulates in `in` (at most in_max bytes kept; beyond that
 * the bytes are only counted and CRC'd, so 64 MiB need no 64 MiB buffer). */

typedef struct tconn {
  wasio_tcp_t *tcp;
  bool connected;        /* connect callback ran */
  int connect_status;
  bool reading;
  int read_status;       /* 0 while reading; WASIO_EOF or an error once stopped */
  uint8_t *in;
  size_t in_len, in_max;
  uint64_t in_total;     /* every byte read */
  uint32_t in_crc;       /* CRC-32 of bytes past crc_skip */
  uint8_t tail[16];      /* the last bytes read (tail_len of them) */
  size_t tail_len;
  uint64_t crc_skip, crc_limit; /* CRC covers [crc_skip, crc_limit) */
  int writes_pending, writes_done, write_errors, last_write_status;
  bool shutdown_done;
  int shutdown_status;
  int close_calls;       /* close callback runs: must end at exactly 1 */
} tconn_t;

TL_FN void tconn_init(tconn_t *c, size_t in_max) {
  memset(c, 0, sizeof *c);
  c->in_max = in_max;
  c->in = in_max ? malloc(in_max) : NULL;
  c->crc_limit = UINT64_MAX;
  ASSERT_TRUE(in_max == 0 || c->in != NULL);
}

TL_FN void tconn_new(wasio_loop_t *loop, tconn_t *c, size_t in_max) {
  tconn_init(c, in_max);
  ASSERT_OK(wasio_tcp_new(loop, &c->tcp));
  wasio_tcp_set_data(c->tcp, c);
}

/* Adopts a connection handed over by a connection callback. */
TL_FN void tconn_adopt(tconn_t *c, wasio_tcp_t *tcp, size_t in_max) {
  tconn_init(c, in_max);
  c->tcp = tcp;
  c->connected = true;
  wasio_tcp_set_data(tcp, c);
}

TL_FN void tconn_connect_cb(wasio_tcp_t *tcp, int status) {
  tconn_t *c = wasio_tcp_data(tcp);
  ASSERT_TRUE(!c->connected); /* exactly once */
  c->connected = true;
  c->connect_status = status;
}

TL_FN void tconn_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  tconn_t *c = wasio_tcp_data(tcp);
  ASSERT_TRUE(nread != 0); /* documented: never 0 */
  if (nread < 0) {
    c->reading = false;
    c->read_status = (int)nread;
    return;
  }
  ASSERT_TRUE(c->reading);
  const uint8_t *p = buf->base;
  size_t n = (size_t)nread;
  size_t keep = c->in_max - c->in_len < n ? c->in_max - c->in_len : n;
  if (keep) memcpy(c->in + c->in_len, p, keep);
  c->in_len += keep;
  /* CRC over the part of [in_total, in_total+n) inside [crc_skip, crc_limit). */
  uint64_t lo = c->in_total, hi = c->in_total + n;
  uint64_t a = lo > c->crc_skip ? lo : c->crc_skip, b = hi < c->crc_limit ? hi : c->crc_limit;
  if (a < b) c->in_crc = tl_crc32(c->in_crc, p + (a - lo), (size_t)(b - a));
  c->in_total += n;
  /* Keep the last sizeof tail bytes. */
  for (size_t i = n > sizeof c->tail ? n - sizeof c->tail : 0; i < n; i++) {
    if (c->tail_len == sizeof c->tail) {
      memmove(c->tail, c->tail + 1, sizeof c->tail - 1);
      c->tail_len--;
    }
    c->tail[c->tail_len++] = p[i];
  }
}

TL_FN void tconn_read_start(tconn_t *c) {
  c->reading = true;
  c->read_status = 0;
  ASSERT_OK(wasio_tcp_read_start(c->tcp, NULL, tconn_read_cb));
}

TL_FN void tconn_write_cb(wasio_write_t *req, int status) {
  tconn_t *c = req->data;
  c->writes_pending--;
  c->writes_done++;
  c->last_write_status = status;
  if (status != 0) c->write_errors++;
  free(req);
}

/* Queues a write of `len` bytes at `base`, which the caller keeps alive. */
TL_FN void tconn_write_ref(tconn_t *c, const void *base, size_t len) {
  wasio_write_t *req = calloc(1, sizeof *req);
  ASSERT_TRUE(req != NULL);
  req->data = c;
  ASSERT_OK(wasio_tcp_write(c->tcp, req, base, len, tconn_write_cb));
  c->writes_pending++;
}

/* Queues a write of a copy of `len` bytes (the copy lives with the request). */
typedef struct { wasio_write_t req; uint8_t bytes[]; } tl_write_copy_t;
TL_FN void tconn_write_copy_cb(wasio_write_t *req, int status) {
  tconn_t *c = req->data;
  c->writes_pending--;
  c->writes_done++;
  c->last_write_status = status;
  if (status != 0) c->write_errors++;
  free(req); /* req is the first member of tl_write_copy_t */
}
TL_FN void tconn_write(tconn_t *c, const void *base, size_t len) {
  tl_write_copy_t *w = calloc(1, sizeof *w + len + 1);
  ASSERT_TRUE(w != NULL);
  if (len) memcpy(w->bytes, base, len);
  w->req.data = c;
  ASSERT_OK(wasio_tcp_write(c->tcp, &w->req, w->bytes, len, tconn_write_copy_cb));
  c->writes_pending++;
}
TL_FN void tconn_write_str(tconn_t *c, const char *s) { tconn_write(c, s, strlen(s)); }

TL_FN void tconn_shutdown_cb(wasio_tcp_t *tcp, int status) {
  tconn_t *c = wasio_tcp_data(tcp);
  ASSERT_TRUE(!c->shutdown_done); /* exactly once */
  c->shutdown_done = true;
  c->shutdown_status = status;
}

TL_FN void tconn_close_cb(wasio_tcp_t *tcp) {
  tconn_t *c = wasio_tcp_data(tcp);
  c->close_calls++;
}

/* Closes and waits for the close callback; frees the input buffer. */
TL_FN void tconn_close(wasio_loop_t *loop, tconn_t *c) {
  wasio_tcp_close(c->tcp, tconn_close_cb);
  WAIT_UNTIL(loop, c->close_calls == 1);
  free(c->in);
  c->in = NULL;
  c->tcp = NULL;
}

/* Connects to addr and asserts success. */
TL_FN void tconn_connect_ok(wasio_loop_t *loop, tconn_t *c, const wasio_addr_t *addr) {
  ASSERT_OK(wasio_tcp_connect(c->tcp, addr, 10 * WASIO_NS_PER_S, tconn_connect_cb));
  WAIT_UNTIL(loop, c->connected);
  ASSERT_WASIO(0, c->connect_status);
}

/* True once the first "\n" has arrived. */
TL_FN bool tconn_has_line(const tconn_t *c) { return c->in_len && memchr(c->in, '\n', c->in_len); }

/* The input as a NUL-terminated string (in_max must leave room for it). */
TL_FN const char *tconn_text(tconn_t *c) {
  ASSERT_TRUE(c->in_len < c->in_max);
  c->in[c->in_len] = 0;
  return (const char *)c->in;
}

#endif
