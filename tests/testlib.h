/* tests/testlib.h: the helpers every C test shares (tests/testlib.c), on top
 * of the registry and asserts of tests/harness.h.
 *
 * One small library, linked into every test program with tests/harness.c:
 * the unit tests (build/native/tests/unit) and each tests/component/NAME.c,
 * natively and as a component (the Makefile's test rules). Only the host
 * tests of tests/wasi, which link no libwasio, go without it.
 *
 * The style every loop test follows:
 * - a watchdog timer bounds the test: if it fires, the test fails with the
 *   step it was waiting for, so nothing can hang;
 * - WAIT_UNTIL(loop, cond) drives the loop one turn at a time from the test
 *   body (never from a callback), so tests read top to bottom;
 * - the test closes every handle, the watchdog last, and ends with
 *   ASSERT_LOOP_CLOSED(loop), the handle-leak check.
 *
 * Helper servers (tests/helpers/NAME.py) print their port first; the driver
 * passes it as port=N (port2=, port3=: helper_port). Two command protocols
 * reach them over a plain TCP connection of the test's own loop:
 * - a line protocol (tests/helpers/tls_peer.py, tcp_ctl.py): one command
 *   line, the whole reply, then the helper closes (helper_ask);
 * - a JSON protocol (tests/helpers/http_ctl.py, https_ctl.py): one JSON
 *   line, then "<rc> <out_len> <err_len> <info>\n<out><err>" (ctl_t).
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
#include "wasio/http_codec.h"

#define MS WASIO_NS_PER_MS

/* ---- loop, watchdog and waiting ------------------------------------------ */

/* A new loop (the test fails if there is none). */
wasio_loop_t *new_loop(void);

/* What the test is waiting for, printed when the watchdog fires. */
extern const char *tl_waiting_for;

/* Starts a timer that fails the test after `ms`. Close it with
 * watchdog_stop() before ASSERT_LOOP_CLOSED. */
wasio_timer_t *watchdog_start(wasio_loop_t *loop, uint64_t ms);
void watchdog_stop(wasio_timer_t *t);

/* A wait that took long is worth a note in the output (tests/run.py shows
 * it with a failure): "# slow wait ...". */
#define TL_SLOW_WAIT_MS 2000
void tl_note_slow_wait(uint64_t t0, int line, const char *cond);

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

/* Lets the loop run for `ms` (a timer of its own; other work goes on). */
void sleep_ms(wasio_loop_t *loop, uint64_t ms);

uint64_t elapsed_ms_since(uint64_t t0_ns);

/* ---- heap in use ------------------------------------------------------------ */

/* Bytes of heap the program holds now, for tests that bound what a
 * resource costs as the difference between two moments (tl_heap_kind names
 * the measure). Natively only:
 * - under AddressSanitizer (the test build): the bytes the program asked
 *   for and has not freed (__sanitizer_get_current_allocated_bytes).
 *   glibc's mallinfo2(), which the uninstrumented benchmarks use
 *   (bench/alloc_count.h), reads 0 under ASan: its allocator replaces glibc's;
 * - without ASan: mallinfo2(), the bytes in malloc'd chunks.
 * A component has no such count: wasi-libc's malloc keeps no statistics,
 * and the size of linear memory (the benchmarks' upper bound) does not grow
 * while the heap reuses freed space, so it cannot show a regression (it
 * read 0 bytes per idle connection in http_server.c). TL_HEAP_MEASURED is 0
 * there, and tests that need the measure skip. */
#if defined(__wasm__)
#define TL_HEAP_MEASURED 0
#else
#define TL_HEAP_MEASURED 1
uint64_t tl_heap_bytes(void);
extern const char *const tl_heap_kind;
#endif

/* ---- addresses and helper ports -------------------------------------------- */

/* The helper port the driver passed as `key=N` (tests/run.py). */
uint16_t helper_port(const char *key);

wasio_addr_t loopback(wasio_family_t family, uint16_t port);
const char *addr_str(const wasio_addr_t *a, char buf[WASIO_ADDR_STRLEN]);

#define ASSERT_EQ_ADDR(a, b)                                                    \
  do {                                                                          \
    char _x[WASIO_ADDR_STRLEN], _y[WASIO_ADDR_STRLEN];                          \
    if (!wasio_addr_equal((a), (b)))                                            \
      harness_fail(__FILE__, __LINE__, "%s == %s: %s vs %s", #a, #b,            \
                   addr_str((a), _x), addr_str((b), _y));                       \
  } while (0)

/* ---- text ------------------------------------------------------------------ */

/* A view equals a C string. */
bool str_is(wasio_http_str_t v, const char *s);
/* Occurrences of `sub` in `s` (they may overlap). */
size_t count_substr(const char *s, const char *sub);

#define ASSERT_CONTAINS(hay, needle)                                                 \
  do {                                                                               \
    const char *_h = (hay), *_n = (needle);                                          \
    if (strstr(_h, _n) == NULL)                                                      \
      harness_fail(__FILE__, __LINE__, "%s does not contain \"%s\":\n%.1500s", #hay, _n, _h); \
  } while (0)
#define ASSERT_NOT_CONTAINS(hay, needle)                                             \
  do {                                                                               \
    const char *_h = (hay), *_n = (needle);                                          \
    if (strstr(_h, _n) != NULL)                                                      \
      harness_fail(__FILE__, __LINE__, "%s contains \"%s\":\n%.1500s", #hay, _n, _h); \
  } while (0)

/* ---- data: a PRNG stream, CRC-32 and SHA-256 --------------------------------- */

/* xorshift64: cheap, reproducible test bytes (not for cryptography). */
typedef struct { uint64_t s; } tl_rng_t;
void tl_rng_fill(tl_rng_t *r, uint8_t *p, size_t n);

/* CRC-32 as zlib computes it (reflected polynomial 0xEDB88320, initial and
 * final value inverted), so it matches Python's zlib.crc32 in the helpers.
 * Chain calls by passing the previous result; start with 0. */
uint32_t tl_crc32(uint32_t crc, const void *data, size_t n);

/* SHA-256 (FIPS 180-4), for checking downloads against the hashes the
 * helpers publish; written for clarity, not speed (a 100 MiB body hashes in
 * well under a second natively). */
typedef struct {
  uint32_t h[8];
  uint64_t total;       /* bytes hashed */
  uint8_t block[64];
  size_t fill;          /* bytes waiting in block */
} sha256_t;
void sha256_init(sha256_t *s);
void sha256_update(sha256_t *s, const void *data, size_t n);
/* Finishes and writes 64 lowercase hex digits and a NUL to hex. */
void sha256_hex(sha256_t *s, char hex[65]);

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
  /* The order of the callbacks: `events` counts read ends and write
   * completions; read_end_at and first_write_error_at are the numbers of
   * those two (0 until they happen). */
  int events, read_end_at, first_write_error_at;
  bool shutdown_done;
  int shutdown_status;
  int close_calls;       /* close callback runs: must end at exactly 1 */
} tconn_t;

void tconn_init(tconn_t *c, size_t in_max);
void tconn_new(wasio_loop_t *loop, tconn_t *c, size_t in_max);
/* Adopts a connection handed over by a connection callback. */
void tconn_adopt(tconn_t *c, wasio_tcp_t *tcp, size_t in_max);
/* Connects to addr and asserts success. */
void tconn_connect_ok(wasio_loop_t *loop, tconn_t *c, const wasio_addr_t *addr);
void tconn_connect_cb(wasio_tcp_t *tcp, int status);
void tconn_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf);
void tconn_read_start(tconn_t *c);
/* Queues a write of `len` bytes at `base`, which the caller keeps alive. */
void tconn_write_ref(tconn_t *c, const void *base, size_t len);
/* Queues a write of a copy of `len` bytes (the copy lives with the request). */
void tconn_write(tconn_t *c, const void *base, size_t len);
void tconn_write_str(tconn_t *c, const char *s);
void tconn_write_cb(wasio_write_t *req, int status);
void tconn_shutdown_cb(wasio_tcp_t *tcp, int status);
void tconn_close_cb(wasio_tcp_t *tcp);
/* Closes and waits for the close callback; frees the input buffer. */
void tconn_close(wasio_loop_t *loop, tconn_t *c);
/* True once the first "\n" has arrived. */
bool tconn_has_line(const tconn_t *c);
/* The input as a NUL-terminated string (in_max must leave room for it). */
const char *tconn_text(tconn_t *c);

/* ---- helper servers: the line protocol --------------------------------------- */

/* Largest reply helper_ask() takes. */
#define TL_ASK_MAX 16384

/* Sends one command line to the helper at port=N and returns its whole
 * reply (malloc'd, NUL-terminated; the helper closes after it). A reply
 * that starts with "error" fails the test. */
char *helper_ask(wasio_loop_t *loop, const char *cmd);

/* tests/helpers/tls_peer.py: starts scenario `name` (plain: the peer
 * prints what it receives instead of echoing, so tls_peer_leaked can count
 * the marker line) and returns its port; with `ca`, *ca is the root CA to
 * trust (malloc'd PEM). */
uint16_t tls_peer_start(wasio_loop_t *loop, const char *name, bool plain, char **ca);
/* How many marker lines the plain peer on `port` received. */
int tls_peer_leaked(wasio_loop_t *loop, uint16_t port);

/* ---- helper servers: the JSON protocol ------------------------------------------- */

typedef struct ctl {
  tconn_t c;
  wasio_loop_t *loop;
  int rc;
  char info[32];
  const char *out; /* NUL-terminated views into c.in */
  const char *err;
  size_t out_len, err_len;
} ctl_t;

/* Appends `s` to buf as a JSON string (quotes and backslashes escaped, CR
 * and LF as \r and \n: a control character would end the command line). */
void json_str(char *buf, size_t cap, const char *s);
/* Connects to the helper on `port`, sends `json` and a newline, and reads
 * (in_max bytes at most). */
void ctl_start(ctl_t *x, wasio_loop_t *loop, uint16_t port, const char *json, size_t in_max);
/* The reply is complete (the helper closed). */
bool ctl_done(const ctl_t *x);
/* Waits for "<rc> <out_len> <err_len> <info>\n<out><err>", parses it into
 * the fields and closes the connection. */
void ctl_finish(ctl_t *x);
void ctl_free(ctl_t *x);

/* ---- HTTP -------------------------------------------------------------------------- */

/* Most heap one idle keep-alive HTTP connection may cost, on a server or
 * pooled in a client (tl_heap_bytes; the tests idle_keepalive_memory of
 * http_server.c and idle_pooled_memory of http_client.c): issue 9's
 * target. BENCHMARKS.md measured 762 (server) and 952 (client) bytes
 * natively; with an input buffer per connection it was 33,515 and 86,060. */
#define TL_IDLE_CONN_BYTES_MAX 4096

/* Body bytes a result_t keeps as text (the rest is counted, CRC'd and
 * hashed). */
#define TL_RESULT_KEEP 4096

/* One HTTP call as its callbacks saw it (result_on_response, _on_body,
 * _on_done, with the result_t as the call's data): the test body waits on
 * the counters and asserts afterwards. The X- fields are the ones
 * tests/helpers/nginx_server.py adds to every response (-1 or "" when
 * absent). */
typedef struct result {
  int responses, dones, done_status, status;
  int bodies_after_done;
  wasio_http_body_kind_t framing;
  uint64_t content_length;
  bool has_content_length;
  long conn_id, conn_requests;   /* X-Connection, X-Connection-Requests */
  char reused[8];                /* X-Session-Reused: "r" (resumed) or "." */
  char cipher[64];               /* X-Cipher: OpenSSL's name of the suite */
  char protocol[16];             /* X-Protocol: "TLSv1.3" or "TLSv1.2" */
  char location[256];
  char final_url[256];           /* wasio_http_call_url at on_done */
  uint64_t body_total;
  char body[TL_RESULT_KEEP + 1];
  size_t body_len;
  uint32_t crc;
  bool hash;                     /* feed the body to sha */
  sha256_t sha;
  char trailers[256];            /* "name=value;" per trailer field, names in lower case */
  size_t num_trailers;
  /* pause/cancel controls */
  uint64_t cancel_after;         /* cancel once this many body bytes arrived (0: never) */
  uint64_t pause_after;          /* pause once this many body bytes arrived (0: never) */
  bool paused;
  int bodies_while_paused;
} result_t;

void result_on_response(wasio_http_call_t *call, const wasio_http_response_t *res);
/* Keeps, counts, CRCs (and hashes) the bytes, never after on_done. */
void result_on_body(wasio_http_call_t *call, const void *data, size_t len);
/* Also checks that a finished call refuses a cancel. */
void result_on_done(wasio_http_call_t *call, int status);

/* Starts a GET of `url` into *r (reset first) that pauses itself after
 * its first body bytes, asserts that 200 ms of loop turns deliver nothing
 * more, and resumes it: returns the call, still running, and the body
 * bytes it had when it paused in *at_pause. */
wasio_http_call_t *tl_http_pause_resume(wasio_loop_t *loop, wasio_http_client_t *client, const char *url, result_t *r,
                                        uint64_t *at_pause);

/* Closes a client (twice: closing is idempotent) and waits for its one
 * close callback. */
void http_client_close_wait(wasio_loop_t *loop, wasio_http_client_t *client);

/* ---- HTTP: a streamed upload, read back ------------------------------------------
 * PUTs `total` pseudo-random bytes to `url` (nginx's WebDAV /upload/),
 * produced by tl_upload_body_read in odd-sized pieces (every
 * eagain_every-th pull answers WASIO_EAGAIN, and a 1 ms timer resumes the
 * upload), with body_length and the trailers given; requires on_done's
 * status `want`, and after a success reads the URL back and compares its
 * length and CRC-32 with what was sent. */
typedef struct tl_upload {
  const char *url;
  int64_t body_length;       /* -1: chunked */
  uint64_t total;            /* bytes the producer gives before it says 0 */
  int eagain_every;          /* 0: never */
  const wasio_http_header_t *trailers;
  size_t num_trailers;
  int want;
} tl_upload_t;
void tl_upload_and_check(wasio_loop_t *loop, wasio_http_client_t *client, const tl_upload_t *u);
/* The producer of tl_upload_and_check (a body_read callback), for calls a
 * test starts itself. */
ptrdiff_t tl_upload_body_read(wasio_http_call_t *call, void *buf, size_t cap);

/* ---- HTTP: test bodies both client programs run -----------------------------------
 * tests/component/http_client.c (the socket transport) and
 * tests/component/http_transport.c (the AUTO transport) call these with
 * their own loop, client and helper ports: `port` is
 * tests/helpers/nginx_server.py's, `stall_port` tests/helpers/http_stall.py's. */

/* Writes "http://127.0.0.1:PORT" followed by `path` into buf; returns buf. */
char *tl_http_url(char *buf, size_t cap, uint16_t port, const char *path);
/* Options of a GET of `url` whose callbacks record into *r (reset first);
 * max_redirects stays 0 (the 3xx is the answer) unless the caller sets it. */
wasio_http_call_opts_t tl_http_opts(const char *url, result_t *r);
/* Starts the call, waits for its on_done, checks that no body came after
 * it; returns the call (finished: only its address is of use). */
wasio_http_call_t *tl_http_run(wasio_loop_t *loop, wasio_http_client_t *client, const wasio_http_call_opts_t *o,
                               result_t *r);
/* Fetches /big.bin.sha256, then /big.bin (`bytes` long) hashing it: the
 * hashes, the length and Content-Length must match; prints the time under
 * `label`. */
void tl_http_big_sha256(wasio_loop_t *loop, wasio_http_client_t *client, uint16_t port, uint64_t bytes,
                        const char *label);
/* For each of 301, 302, 303, 307, 308: a GET follows it to /small.txt (the
 * 3xx not shown), a POST comes back as GET (301-303) or POST (307, 308),
 * and with max_redirects 0 the 3xx itself is the answer, with its Location. */
void tl_http_redirect_kinds(wasio_loop_t *loop, wasio_http_client_t *client, uint16_t port);
/* PUTs an `n`-byte buffer body (tl_rng_t seeded 42) to /upload/buffer.bin
 * and reads it back: length and CRC-32 must match. */
void tl_http_upload_buffer(wasio_loop_t *loop, wasio_http_client_t *client, uint16_t port, size_t n);
/* A GET of `url` (a body of `size` bytes, more than one piece) canceled
 * from its first on_body, then one canceled before it ever ran: both end
 * with WASIO_ECANCELED, the second's on_done in a later turn, never inside
 * the cancel. */
void tl_http_cancel_early(wasio_loop_t *loop, wasio_http_client_t *client, const char *url, uint64_t size);
/* wasio_http_fetch: a redirect followed, no limit (SIZE_MAX) without a
 * wrap-around, a body over the limit, a silent peer's timeout, a refused
 * connect and a bad URL, each with its own error. */
void tl_http_fetch_checks(uint16_t port, uint16_t stall_port);

/* ---- HTTP: what both transports answer to misbehaving peers ----------------------
 * One table of expectations, run by tests/component/http_client.c (the
 * socket transport, on every host) and tests/component/http_transport.c
 * (the AUTO transport: sockets in the default builds, the host's wasi:http
 * in the --http build), so that the two transports are held to the same
 * error codes. Where a host cannot tell what the socket transport tells
 * (the hosts decode HTTP themselves), the case says what HOST answers and
 * why (wasio/http.h, docs/WASI_HTTP_CLIENT.md). */

/* The peers of the table: the helpers of both programs, in this order
 * (port, port2, port3), and a closed port. */
typedef enum tl_peer {
  TL_PEER_NGINX = 0,  /* tests/helpers/nginx_server.py */
  TL_PEER_STALL,      /* tests/helpers/http_stall.py */
  TL_PEER_BLACKHOLE,  /* tests/helpers/tcp_blackhole.py: connects hang */
  TL_PEER_CLOSED      /* 127.0.0.1:1, where nothing listens */
} tl_peer_t;

/* on_done's status may be any failure. */
#define TL_ANY_ERROR 1

typedef struct tl_http_case {
  const char *name;
  tl_peer_t peer;
  const char *path;
  wasio_http_timeouts_t timeouts;
  int want;             /* on_done's status (TL_ANY_ERROR: any failure) */
  int responses;        /* on_response calls (0 or 1) */
  int64_t body;         /* body bytes delivered (-1: not checked); over HOST at most this many */
  uint64_t min_ms;      /* took at least this long (a timeout's limit) */
  bool host_differs;    /* over HOST the answer is host_want (or host_alt), because host_why */
  int host_want, host_alt;
  const char *host_why;
} tl_http_case_t;

extern const tl_http_case_t tl_http_cases[];
extern const size_t tl_http_num_cases;
/* The case named `name` (the test fails if there is none). */
const tl_http_case_t *tl_http_case(const char *name);
/* Runs one case on `client` and asserts its expectations; `host` selects
 * the HOST column. */
void tl_http_case_check(wasio_loop_t *loop, wasio_http_client_t *client, const tl_http_case_t *c, bool host);
/* The same on a loop and client of their own (`transport` of the client's
 * options), closed after it. */
void tl_http_case_run(const tl_http_case_t *c, wasio_http_transport_t transport, bool host);

/* ---- HTTP codec: feeding helpers (the unit tests of src/codec) ------------------
 * Every parse runs three ways and asserts they agree: the whole input at
 * once, the input split in two at every byte position, and byte by byte.
 * Each call sees an exact-size heap copy of the bytes presented so far (a
 * new allocation each time, so the buffer also "moves" between calls): one
 * byte of over-read is an ASan heap-buffer-overflow. Results come back with
 * views rebased onto the caller's original input, so tests can compare them
 * with expected text. */

/* Split positions tried by the *_all helpers: every one (1) unless a test
 * of the size limits (heads of 16 KiB) sets a larger stride, which it puts
 * back to 1 when done. */
extern size_t g_split_stride;

#define ASSERT_STR_IS(v, s)                                                              \
  do {                                                                                   \
    wasio_http_str_t _v = (v);                                                           \
    if (!str_is(_v, (s)))                                                                \
      harness_fail(__FILE__, __LINE__, "%s == \"%s\": got \"%.*s\"", #v, (s), (int)_v.len, \
                   _v.ptr ? _v.ptr : "");                                                \
  } while (0)

/* A malloc'd copy of exactly n bytes (one byte for n = 0). */
char *exact_copy(const char *s, size_t n);
/* An output buffer of exactly n bytes (one for n = 0), uninitialized: a
 * write past it is an ASan heap-buffer-overflow. */
char *exact_buf(size_t n);
/* v, a view into `from`, moved to the same place in `to`. */
wasio_http_str_t rebase(wasio_http_str_t v, const char *from, const char *to);
/* Parses msg[0..len) as a request or response (res != NULL) head, one
 * parser per call, on an exact copy (first split bytes, then all when
 * split > 0). Views rebased onto msg. */
int parse_head_once(const char *msg, size_t len, size_t split, wasio_http_request_t *req,
                    wasio_http_response_t *res, unsigned flags);
int same_framing(const wasio_http_framing_t *a, const wasio_http_framing_t *b);
int same_headers(const wasio_http_header_t *a, size_t na, const wasio_http_header_t *b, size_t nb);
/* Byte by byte: every prefix shorter than the point of decision must be
 * WASIO_EAGAIN, and the decision must equal `want`; a complete head must
 * be decided exactly at its last byte. */
void check_bytewise(const char *msg, size_t len, int want, int is_response, unsigned flags, const char *file,
                    int line);
/* Parses a request (response) every way; returns the common result and
 * fills *req (*res). */
int parse_request_all(const char *msg, size_t len, wasio_http_request_t *req, const char *file, int line);
int parse_response_all(const char *msg, size_t len, unsigned flags, wasio_http_response_t *res, const char *file,
                       int line);

/* The request in `lit` (a string literal) parsed every way must give `want`. */
#define REQ(lit, req) parse_request_all((lit), sizeof(lit) - 1, (req), __FILE__, __LINE__)
#define RESP(lit, flags, res) parse_response_all((lit), sizeof(lit) - 1, (flags), (res), __FILE__, __LINE__)

#define BODY_OUT_MAX 65536
#define BODY_TRAILERS_TEXT 1024

typedef struct body_result {
  int rc;          /* DONE, MORE (input ended first), or an error */
  size_t consumed; /* bytes of input that belonged to the body */
  size_t payload_len;
  char payload[BODY_OUT_MAX];
  char trailers[BODY_TRAILERS_TEXT]; /* "name=value;" per trailer field */
} body_result_t;

/* Decodes in[0..len) presented as fragments of `step` bytes (0: all at
 * once), or as two parts split at `split` when step is SIZE_MAX, keeping
 * unconsumed bytes for the next call as the feeding rule says. */
void decode_body(wasio_http_body_kind_t kind, uint64_t cl, const char *in, size_t len, size_t step, size_t split,
                 body_result_t *out);
/* Decodes every way and asserts agreement; *out is the one-piece result. */
void decode_body_all(wasio_http_body_kind_t kind, uint64_t cl, const char *in, size_t len, body_result_t *out,
                     const char *file, int line);

#define CHUNKED(lit, out) \
  decode_body_all(WASIO_HTTP_BODY_CHUNKED, 0, (lit), sizeof(lit) - 1, (out), __FILE__, __LINE__)

#endif
