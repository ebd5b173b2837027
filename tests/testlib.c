/* tests/testlib.c: the helpers of tests/testlib.h. */
#include <ctype.h>

#include "testlib.h"

/* ---- loop, watchdog and waiting ------------------------------------------ */

const char *tl_waiting_for = "(start)";

wasio_loop_t *new_loop(void) {
  wasio_loop_t *loop = NULL;
  ASSERT_OK(wasio_loop_new(&loop));
  return loop;
}

static void tl_watchdog_cb(wasio_timer_t *t) {
  harness_fail(__FILE__, __LINE__, "watchdog: %llu ms passed while waiting for: %s",
               (unsigned long long)(uintptr_t)wasio_timer_data(t), tl_waiting_for);
}

wasio_timer_t *watchdog_start(wasio_loop_t *loop, uint64_t ms) {
  wasio_timer_t *t = NULL;
  ASSERT_OK(wasio_timer_new(loop, &t));
  wasio_timer_set_data(t, (void *)(uintptr_t)ms);
  ASSERT_OK(wasio_timer_start(t, tl_watchdog_cb, ms * MS, 0));
  return t;
}

void watchdog_stop(wasio_timer_t *t) { wasio_timer_close(t, NULL); }

void tl_note_slow_wait(uint64_t t0, int line, const char *cond) {
  uint64_t ms = (wasio_monotonic_ns() - t0) / WASIO_NS_PER_MS;
  if (ms >= TL_SLOW_WAIT_MS) printf("# slow wait (%llu ms) at line %d: %s\n", (unsigned long long)ms, line, cond);
}

static void tl_woke(wasio_timer_t *t) { *(bool *)wasio_timer_data(t) = true; }

void sleep_ms(wasio_loop_t *loop, uint64_t ms) {
  bool woke = false;
  wasio_timer_t *t = NULL;
  ASSERT_OK(wasio_timer_new(loop, &t));
  wasio_timer_set_data(t, &woke);
  ASSERT_OK(wasio_timer_start(t, tl_woke, ms * MS, 0));
  WAIT_UNTIL(loop, woke);
  wasio_timer_close(t, NULL);
}

uint64_t elapsed_ms_since(uint64_t t0_ns) { return (wasio_monotonic_ns() - t0_ns) / MS; }

/* ---- heap in use ------------------------------------------------------------ */

#if !defined(__wasm__) && defined(__has_feature) && __has_feature(address_sanitizer)
#include <sanitizer/allocator_interface.h>
const char *const tl_heap_kind = "ASan bytes allocated";
uint64_t tl_heap_bytes(void) { return (uint64_t)__sanitizer_get_current_allocated_bytes(); }
#elif !defined(__wasm__)
#include <malloc.h>
const char *const tl_heap_kind = "mallinfo2";
uint64_t tl_heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}
#endif

/* ---- addresses and helper ports -------------------------------------------- */

uint16_t helper_port(const char *key) {
  long p = harness_param_int(key, -1);
  if (p <= 0 || p > 65535)
    harness_fail(__FILE__, __LINE__, "no helper port: run through tests/run.py (%s=N)", key);
  return (uint16_t)p;
}

wasio_addr_t loopback(wasio_family_t family, uint16_t port) {
  wasio_addr_t a;
  wasio_addr_loopback(family, port, &a);
  return a;
}

const char *addr_str(const wasio_addr_t *a, char buf[WASIO_ADDR_STRLEN]) {
  if (wasio_addr_format(a, buf, WASIO_ADDR_STRLEN) < 0) snprintf(buf, WASIO_ADDR_STRLEN, "(bad)");
  return buf;
}

/* ---- text ------------------------------------------------------------------ */

bool str_is(wasio_http_str_t v, const char *s) {
  return v.len == strlen(s) && (v.len == 0 || memcmp(v.ptr, s, v.len) == 0);
}

size_t count_substr(const char *s, const char *sub) {
  size_t n = 0;
  for (const char *p = strstr(s, sub); p != NULL; p = strstr(p + 1, sub)) n++;
  return n;
}

/* ---- data ---------------------------------------------------------------------- */

void tl_rng_fill(tl_rng_t *r, uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if ((i & 7) == 0) {
      r->s ^= r->s << 13;
      r->s ^= r->s >> 7;
      r->s ^= r->s << 17;
    }
    p[i] = (uint8_t)(r->s >> ((i & 7) * 8));
  }
}

uint32_t tl_crc32(uint32_t crc, const void *data, size_t n) {
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

/* The first 32 bits of the fractional parts of the cube roots of the first
 * 64 primes (FIPS 180-4 section 4.2.2). */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static inline uint32_t sha256_rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void sha256_init(sha256_t *s) {
  /* Fractional parts of the square roots of the first 8 primes. */
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, h0, sizeof h0);
  s->total = 0;
  s->fill = 0;
}

static void sha256_compress(sha256_t *s, const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = sha256_rotr(w[i - 15], 7) ^ sha256_rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = sha256_rotr(w[i - 2], 17) ^ sha256_rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
  uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (sha256_rotr(e, 6) ^ sha256_rotr(e, 11) ^ sha256_rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                  sha256_k[i] + w[i];
    uint32_t t2 = (sha256_rotr(a, 2) ^ sha256_rotr(a, 13) ^ sha256_rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
  s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

void sha256_update(sha256_t *s, const void *data, size_t n) {
  const uint8_t *p = data;
  s->total += n;
  if (s->fill > 0) {
    size_t take = 64 - s->fill < n ? 64 - s->fill : n;
    memcpy(s->block + s->fill, p, take);
    s->fill += take;
    p += take;
    n -= take;
    if (s->fill < 64) return;
    sha256_compress(s, s->block);
    s->fill = 0;
  }
  for (; n >= 64; p += 64, n -= 64) sha256_compress(s, p);
  memcpy(s->block, p, n);
  s->fill = n;
}

void sha256_hex(sha256_t *s, char hex[65]) {
  uint64_t bits = s->total * 8;
  uint8_t pad[72] = {0x80};
  size_t padlen = (s->fill < 56 ? 56 : 120) - s->fill;
  for (int i = 0; i < 8; i++) pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
  uint64_t keep = s->total;
  sha256_update(s, pad, padlen + 8);
  s->total = keep;
  for (int i = 0; i < 32; i++) {
    uint8_t byte = (uint8_t)(s->h[i / 4] >> (24 - 8 * (i % 4)));
    hex[2 * i] = "0123456789abcdef"[byte >> 4];
    hex[2 * i + 1] = "0123456789abcdef"[byte & 15];
  }
  hex[64] = 0;
}

/* ---- a TCP connection with an input buffer ------------------------------------ */

void tconn_init(tconn_t *c, size_t in_max) {
  memset(c, 0, sizeof *c);
  c->in_max = in_max;
  c->in = in_max ? malloc(in_max) : NULL;
  c->crc_limit = UINT64_MAX;
  ASSERT_TRUE(in_max == 0 || c->in != NULL);
}

void tconn_new(wasio_loop_t *loop, tconn_t *c, size_t in_max) {
  tconn_init(c, in_max);
  ASSERT_OK(wasio_tcp_new(loop, &c->tcp));
  wasio_tcp_set_data(c->tcp, c);
}

void tconn_adopt(tconn_t *c, wasio_tcp_t *tcp, size_t in_max) {
  tconn_init(c, in_max);
  c->tcp = tcp;
  c->connected = true;
  wasio_tcp_set_data(tcp, c);
}

void tconn_connect_cb(wasio_tcp_t *tcp, int status) {
  tconn_t *c = wasio_tcp_data(tcp);
  ASSERT_TRUE(!c->connected); /* exactly once */
  c->connected = true;
  c->connect_status = status;
}

void tconn_read_cb(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  tconn_t *c = wasio_tcp_data(tcp);
  ASSERT_TRUE(nread != 0); /* documented: never 0 */
  if (nread < 0) {
    c->reading = false;
    c->read_status = (int)nread;
    c->read_end_at = ++c->events;
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

void tconn_read_start(tconn_t *c) {
  c->reading = true;
  c->read_status = 0;
  ASSERT_OK(wasio_tcp_read_start(c->tcp, NULL, tconn_read_cb));
}

void tconn_write_cb(wasio_write_t *req, int status) {
  tconn_t *c = req->data;
  c->writes_pending--;
  c->writes_done++;
  c->last_write_status = status;
  c->events++;
  if (status != 0 && c->write_errors++ == 0) c->first_write_error_at = c->events;
  free(req);
}

void tconn_write_ref(tconn_t *c, const void *base, size_t len) {
  wasio_write_t *req = calloc(1, sizeof *req);
  ASSERT_TRUE(req != NULL);
  req->data = c;
  ASSERT_OK(wasio_tcp_write(c->tcp, req, base, len, tconn_write_cb));
  c->writes_pending++;
}

/* A write request and its bytes in one allocation: tconn_write_cb frees
 * it through req, its first member. */
typedef struct { wasio_write_t req; uint8_t bytes[]; } tl_write_copy_t;

void tconn_write(tconn_t *c, const void *base, size_t len) {
  tl_write_copy_t *w = calloc(1, sizeof *w + len + 1);
  ASSERT_TRUE(w != NULL);
  if (len) memcpy(w->bytes, base, len);
  w->req.data = c;
  ASSERT_OK(wasio_tcp_write(c->tcp, &w->req, w->bytes, len, tconn_write_cb));
  c->writes_pending++;
}

void tconn_write_str(tconn_t *c, const char *s) { tconn_write(c, s, strlen(s)); }

void tconn_shutdown_cb(wasio_tcp_t *tcp, int status) {
  tconn_t *c = wasio_tcp_data(tcp);
  ASSERT_TRUE(!c->shutdown_done); /* exactly once */
  c->shutdown_done = true;
  c->shutdown_status = status;
}

void tconn_close_cb(wasio_tcp_t *tcp) {
  tconn_t *c = wasio_tcp_data(tcp);
  c->close_calls++;
}

void tconn_close(wasio_loop_t *loop, tconn_t *c) {
  wasio_tcp_close(c->tcp, tconn_close_cb);
  WAIT_UNTIL(loop, c->close_calls == 1);
  free(c->in);
  c->in = NULL;
  c->tcp = NULL;
}

void tconn_connect_ok(wasio_loop_t *loop, tconn_t *c, const wasio_addr_t *addr) {
  ASSERT_OK(wasio_tcp_connect(c->tcp, addr, 10 * WASIO_NS_PER_S, tconn_connect_cb));
  WAIT_UNTIL(loop, c->connected);
  ASSERT_WASIO(0, c->connect_status);
}

bool tconn_has_line(const tconn_t *c) { return c->in_len && memchr(c->in, '\n', c->in_len); }

const char *tconn_text(tconn_t *c) {
  ASSERT_TRUE(c->in_len < c->in_max);
  c->in[c->in_len] = 0;
  return (const char *)c->in;
}

/* ---- helper servers: the line protocol --------------------------------------- */

char *helper_ask(wasio_loop_t *loop, const char *cmd) {
  tconn_t c;
  tconn_new(loop, &c, TL_ASK_MAX);
  wasio_addr_t a = loopback(WASIO_AF_INET, helper_port("port"));
  tconn_connect_ok(loop, &c, &a);
  tconn_write_str(&c, cmd);
  tconn_read_start(&c);
  WAIT_UNTIL(loop, c.read_status != 0);
  ASSERT_WASIO(WASIO_EOF, c.read_status);
  char *reply = strdup(tconn_text(&c));
  ASSERT_TRUE(reply != NULL);
  tconn_close(loop, &c);
  if (strncmp(reply, "error", 5) == 0) harness_fail(__FILE__, __LINE__, "helper: %s", reply);
  return reply;
}

uint16_t tls_peer_start(wasio_loop_t *loop, const char *name, bool plain, char **ca) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "start %s%s\n", name, plain ? " plain" : "");
  char *r = helper_ask(loop, cmd);
  long port = strtol(r, NULL, 10);
  ASSERT_TRUE(port > 0 && port < 65536);
  if (ca != NULL) { /* "PORT\n" PEM "END\n" */
    char *pem = strchr(r, '\n');
    ASSERT_TRUE(pem != NULL);
    char *end = strstr(pem, "END\n");
    ASSERT_TRUE(end != NULL);
    *end = 0;
    *ca = strdup(pem + 1);
    ASSERT_TRUE(*ca != NULL);
  }
  free(r);
  return (uint16_t)port;
}

int tls_peer_leaked(wasio_loop_t *loop, uint16_t port) {
  char cmd[64];
  snprintf(cmd, sizeof cmd, "leaked %u\n", port);
  char *r = helper_ask(loop, cmd);
  int n = atoi(r);
  free(r);
  return n;
}

/* ---- helper servers: the JSON protocol ------------------------------------------- */

void json_str(char *buf, size_t cap, const char *s) {
  size_t n = strlen(buf);
  ASSERT_TRUE(n + 2 < cap);
  buf[n++] = '"';
  for (; *s; s++) {
    ASSERT_TRUE(n + 3 < cap);
    if (*s == '\n' || *s == '\r') {
      buf[n++] = '\\';
      buf[n++] = *s == '\n' ? 'n' : 'r';
      continue;
    }
    if (*s == '"' || *s == '\\') buf[n++] = '\\';
    buf[n++] = *s;
  }
  buf[n++] = '"';
  buf[n] = 0;
}

void ctl_start(ctl_t *x, wasio_loop_t *loop, uint16_t port, const char *json, size_t in_max) {
  memset(x, 0, sizeof *x);
  x->loop = loop;
  tconn_new(loop, &x->c, in_max);
  wasio_addr_t to = loopback(WASIO_AF_INET, port);
  tconn_connect_ok(loop, &x->c, &to);
  tconn_read_start(&x->c);
  tconn_write(&x->c, json, strlen(json));
  tconn_write_str(&x->c, "\n");
}

bool ctl_done(const ctl_t *x) { return x->c.read_status != 0; }

void ctl_finish(ctl_t *x) {
  WAIT_UNTIL(x->loop, ctl_done(x));
  ASSERT_WASIO(WASIO_EOF, x->c.read_status);
  char *text = (char *)tconn_text(&x->c);
  char *nl = strchr(text, '\n');
  ASSERT_TRUE(nl != NULL);
  unsigned long out_len = 0, err_len = 0;
  ASSERT_EQ_INT(sscanf(text, "%d %lu %lu %31s", &x->rc, &out_len, &err_len, x->info), 4);
  char *out = nl + 1;
  ASSERT_EQ_U64((uint64_t)(out - text) + out_len + err_len, x->c.in_len);
  /* Split into two NUL-terminated strings: move err one byte on. */
  memmove(out + out_len + 1, out + out_len, err_len);
  out[out_len] = 0;
  out[out_len + 1 + err_len] = 0;
  x->out = out;
  x->out_len = out_len;
  x->err = out + out_len + 1;
  x->err_len = err_len;
  WAIT_UNTIL(x->loop, x->c.writes_pending == 0);
  wasio_tcp_close(x->c.tcp, tconn_close_cb);
  WAIT_UNTIL(x->loop, x->c.close_calls == 1);
}

void ctl_free(ctl_t *x) { free(x->c.in); }

/* ---- HTTP -------------------------------------------------------------------------- */

/* The value of header `name` into out (cap bytes with the NUL); false
 * (and "") when absent. */
static bool tl_header_copy(const wasio_http_response_t *res, const char *name, char *out, size_t cap) {
  size_t pos = 0;
  out[0] = 0;
  int i = wasio_http_find_header(res->headers, res->num_headers, name, &pos);
  if (i < 0) return false;
  size_t n = res->headers[i].value.len < cap - 1 ? res->headers[i].value.len : cap - 1;
  memcpy(out, res->headers[i].value.ptr, n);
  out[n] = 0;
  return true;
}

static long tl_header_long(const wasio_http_response_t *res, const char *name) {
  char tmp[32];
  return tl_header_copy(res, name, tmp, sizeof tmp) ? strtol(tmp, NULL, 10) : -1;
}

void result_on_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  result_t *r = wasio_http_call_data(call);
  r->responses++;
  r->status = res->status;
  r->framing = res->framing.body;
  r->content_length = res->framing.content_length;
  r->has_content_length = res->framing.has_content_length;
  r->conn_id = tl_header_long(res, "x-connection");
  r->conn_requests = tl_header_long(res, "x-connection-requests");
  tl_header_copy(res, "x-session-reused", r->reused, sizeof r->reused);
  tl_header_copy(res, "x-cipher", r->cipher, sizeof r->cipher);
  tl_header_copy(res, "x-protocol", r->protocol, sizeof r->protocol);
  tl_header_copy(res, "location", r->location, sizeof r->location);
}

void result_on_body(wasio_http_call_t *call, const void *data, size_t len) {
  result_t *r = wasio_http_call_data(call);
  if (r->dones) r->bodies_after_done++;
  ASSERT_TRUE(r->dones == 0);
  if (r->paused) r->bodies_while_paused++;
  ASSERT_TRUE(len > 0);
  size_t keep = TL_RESULT_KEEP - r->body_len < len ? TL_RESULT_KEEP - r->body_len : len;
  memcpy(r->body + r->body_len, data, keep);
  r->body_len += keep;
  r->body[r->body_len] = 0;
  r->crc = tl_crc32(r->crc, data, len);
  if (r->hash) sha256_update(&r->sha, data, len);
  r->body_total += len;
  if (r->cancel_after && r->body_total >= r->cancel_after) {
    r->cancel_after = 0;
    ASSERT_OK(wasio_http_call_cancel(call));
  }
  if (r->pause_after && r->body_total >= r->pause_after) {
    r->pause_after = 0;
    r->paused = true;
    ASSERT_OK(wasio_http_call_pause(call, true));
  }
}

void result_on_done(wasio_http_call_t *call, int status) {
  result_t *r = wasio_http_call_data(call);
  r->dones++;
  r->done_status = status;
  const wasio_http_header_t *t = NULL;
  size_t nt = 0;
  /* The trailers are known in on_done with status 0, and only there. */
  ASSERT_WASIO(status == 0 ? 0 : WASIO_ESTATE, wasio_http_call_trailers(call, &t, &nt));
  r->num_trailers = nt;
  r->trailers[0] = 0;
  for (size_t i = 0; i < nt; i++) {
    size_t at = strlen(r->trailers);
    snprintf(r->trailers + at, sizeof r->trailers - at, "%.*s=%.*s;", (int)t[i].name.len, t[i].name.ptr,
             (int)t[i].value.len, t[i].value.ptr);
    for (char *p = r->trailers + at; *p && *p != '='; p++) *p = (char)tolower((unsigned char)*p);
  }
  snprintf(r->final_url, sizeof r->final_url, "%s", wasio_http_call_url(call));
  /* Finished calls refuse a cancel. */
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_call_cancel(call));
}

wasio_http_call_t *tl_http_pause_resume(wasio_loop_t *loop, wasio_http_client_t *client, const char *url, result_t *r,
                                        uint64_t *at_pause) {
  memset(r, 0, sizeof *r);
  wasio_http_call_opts_t o = {.url = url, .data = r, .on_response = result_on_response, .on_body = result_on_body,
                              .on_done = result_on_done};
  r->pause_after = 1;
  wasio_http_call_t *call = NULL;
  ASSERT_OK(wasio_http_call_start(client, &o, &call));
  WAIT_UNTIL(loop, r->paused);
  *at_pause = r->body_total;
  /* 200 ms of turns: nothing is delivered while paused. */
  uint64_t t0 = wasio_monotonic_ns();
  while (elapsed_ms_since(t0) < 200) ASSERT_TRUE(wasio_loop_run(loop, WASIO_RUN_NOWAIT) >= 0);
  ASSERT_EQ_INT(r->bodies_while_paused, 0);
  ASSERT_EQ_U64(r->body_total, *at_pause);
  r->paused = false;
  ASSERT_OK(wasio_http_call_pause(call, false));
  return call;
}

static bool tl_client_closed_flag;

static void tl_client_closed(wasio_http_client_t *c) {
  (void)c;
  ASSERT_TRUE(!tl_client_closed_flag); /* exactly once */
  tl_client_closed_flag = true;
}

void http_client_close_wait(wasio_loop_t *loop, wasio_http_client_t *client) {
  tl_client_closed_flag = false;
  wasio_http_client_close(client, tl_client_closed);
  wasio_http_client_close(client, tl_client_closed); /* idempotent */
  WAIT_UNTIL(loop, tl_client_closed_flag);
}

/* ---- HTTP: a streamed upload, read back ------------------------------------------- */

static struct {
  tl_rng_t rng;
  uint64_t total, sent;
  uint32_t crc;
  int pulls, eagain_every, eagains;
  bool waiting;
  wasio_http_call_t *call;
} tl_up;

ptrdiff_t tl_upload_body_read(wasio_http_call_t *call, void *buf, size_t cap) {
  (void)call;
  ASSERT_TRUE(!tl_up.waiting);
  tl_up.pulls++;
  if (tl_up.eagain_every && tl_up.pulls % tl_up.eagain_every == 0) {
    tl_up.waiting = true;
    tl_up.eagains++;
    return WASIO_EAGAIN;
  }
  uint64_t left = tl_up.total - tl_up.sent;
  size_t n = left < cap ? (size_t)left : cap;
  if (n > 7777) n = 7777; /* odd sizes: many pieces (chunks) */
  tl_rng_fill(&tl_up.rng, buf, n);
  tl_up.crc = tl_crc32(tl_up.crc, buf, n);
  tl_up.sent += n;
  return (ptrdiff_t)n;
}

static void tl_upload_resume(wasio_timer_t *t) {
  (void)t;
  if (tl_up.waiting) {
    tl_up.waiting = false;
    ASSERT_OK(wasio_http_call_resume_upload(tl_up.call));
  }
}

void tl_upload_and_check(wasio_loop_t *loop, wasio_http_client_t *client, const tl_upload_t *u) {
  memset(&tl_up, 0, sizeof tl_up);
  tl_up.rng.s = 0x9e3779b97f4a7c15ull ^ u->total;
  tl_up.total = u->total;
  tl_up.eagain_every = u->eagain_every;
  result_t r;
  memset(&r, 0, sizeof r);
  wasio_http_call_opts_t o = {.method = "PUT", .url = u->url, .body_read = tl_upload_body_read,
                              .body_length = u->body_length, .trailers = u->trailers,
                              .num_trailers = u->num_trailers, .data = &r, .on_response = result_on_response,
                              .on_body = result_on_body, .on_done = result_on_done};
  wasio_timer_t *resumer = NULL;
  ASSERT_OK(wasio_timer_new(loop, &resumer));
  ASSERT_OK(wasio_http_call_start(client, &o, &tl_up.call));
  ASSERT_OK(wasio_timer_start(resumer, tl_upload_resume, 1 * MS, 1 * MS));
  WAIT_UNTIL(loop, r.dones == 1);
  wasio_timer_close(resumer, NULL);
  ASSERT_WASIO(u->want, r.done_status);
  if (u->want != 0) return;
  ASSERT_TRUE(r.status == 201 || r.status == 204);
  ASSERT_EQ_U64(tl_up.sent, u->total);
  if (u->eagain_every) ASSERT_GT_INT(tl_up.eagains, 0);
  /* Read it back: the server stored exactly what was streamed. */
  memset(&r, 0, sizeof r);
  o = (wasio_http_call_opts_t){.url = u->url, .data = &r, .on_response = result_on_response,
                               .on_body = result_on_body, .on_done = result_on_done};
  ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  WAIT_UNTIL(loop, r.dones == 1);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_U64(r.body_total, u->total);
  ASSERT_EQ_U64(r.crc, tl_up.crc);
}

/* ---- HTTP: test bodies both client programs run ------------------------------------ */

char *tl_http_url(char *buf, size_t cap, uint16_t port, const char *path) {
  snprintf(buf, cap, "http://127.0.0.1:%u%s", (unsigned)port, path);
  return buf;
}

wasio_http_call_opts_t tl_http_opts(const char *url, result_t *r) {
  memset(r, 0, sizeof *r);
  return (wasio_http_call_opts_t){
      .url = url, .data = r, .on_response = result_on_response, .on_body = result_on_body, .on_done = result_on_done};
}

wasio_http_call_t *tl_http_run(wasio_loop_t *loop, wasio_http_client_t *client, const wasio_http_call_opts_t *o,
                               result_t *r) {
  wasio_http_call_t *call = NULL;
  ASSERT_OK(wasio_http_call_start(client, o, &call));
  WAIT_UNTIL(loop, r->dones == 1);
  ASSERT_EQ_INT(r->bodies_after_done, 0);
  return call;
}

void tl_http_big_sha256(wasio_loop_t *loop, wasio_http_client_t *client, uint16_t port, uint64_t bytes,
                        const char *label) {
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, port, "/big.bin.sha256"), &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_TRUE(strlen(r.body) >= 64);
  char want[65];
  memcpy(want, r.body, 64);
  want[64] = 0;
  o = tl_http_opts(tl_http_url(url, sizeof url, port, "/big.bin"), &r);
  r.hash = true;
  sha256_init(&r.sha);
  uint64_t t0 = wasio_monotonic_ns();
  tl_http_run(loop, client, &o, &r);
  uint64_t ms = elapsed_ms_since(t0);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_U64(r.body_total, bytes);
  ASSERT_EQ_U64(r.content_length, bytes);
  char got[65];
  sha256_hex(&r.sha, got);
  ASSERT_EQ_STR(got, want);
  fprintf(stderr, "%s: %llu bytes in %llu ms (%.1f MiB/s, hashing included)\n", label,
          (unsigned long long)r.body_total, (unsigned long long)ms,
          ms ? (double)r.body_total / (1024.0 * 1024.0) / ((double)ms / 1000.0) : 0.0);
}

void tl_http_redirect_kinds(wasio_loop_t *loop, wasio_http_client_t *client, uint16_t port) {
  static const int kinds[] = {301, 302, 303, 307, 308};
  char path[64], url[128], small[128], echo[128];
  tl_http_url(small, sizeof small, port, "/small.txt");
  tl_http_url(echo, sizeof echo, port, "/echo-method");
  result_t r;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    /* GET follows every kind. */
    snprintf(path, sizeof path, "/redirect/%d", kinds[k]);
    wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, port, path), &r);
    o.max_redirects = -1;
    tl_http_run(loop, client, &o, &r);
    ASSERT_WASIO(0, r.done_status);
    ASSERT_EQ_INT(r.responses, 1); /* the 3xx is not reported */
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(r.body, "hello from nginx\n");
    ASSERT_EQ_STR(r.final_url, small);
    /* POST: 301/302/303 turn it into GET, 307/308 repeat method and body. */
    snprintf(path, sizeof path, "/redirect-echo/%d", kinds[k]);
    o = tl_http_opts(tl_http_url(url, sizeof url, port, path), &r);
    o.method = "POST";
    o.body = "payload";
    o.body_len = 7;
    o.max_redirects = 5;
    tl_http_run(loop, client, &o, &r);
    ASSERT_WASIO(0, r.done_status);
    ASSERT_EQ_INT(r.status, 200);
    ASSERT_EQ_STR(r.body, kinds[k] >= 307 ? "POST\n" : "GET\n");
    /* max_redirects 0: the 3xx itself is the answer. */
    o = tl_http_opts(url, &r);
    tl_http_run(loop, client, &o, &r);
    ASSERT_WASIO(0, r.done_status);
    ASSERT_EQ_INT(r.status, kinds[k]);
    ASSERT_EQ_STR(r.location, echo);
  }
}

void tl_http_upload_buffer(wasio_loop_t *loop, wasio_http_client_t *client, uint16_t port, size_t n) {
  uint8_t *data = malloc(n);
  ASSERT_TRUE(data != NULL);
  tl_rng_t rng = {42};
  tl_rng_fill(&rng, data, n);
  char url[128];
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(tl_http_url(url, sizeof url, port, "/upload/buffer.bin"), &r);
  o.method = "PUT";
  o.body = data;
  o.body_len = n;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_TRUE(r.status == 201 || r.status == 204);
  o = tl_http_opts(url, &r);
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(0, r.done_status);
  ASSERT_EQ_INT(r.status, 200);
  ASSERT_EQ_U64(r.body_total, n);
  ASSERT_EQ_U64(r.crc, tl_crc32(0, data, n));
  free(data);
}

void tl_http_cancel_early(wasio_loop_t *loop, wasio_http_client_t *client, const char *url, uint64_t size) {
  /* mid-body, from inside on_body */
  result_t r;
  wasio_http_call_opts_t o = tl_http_opts(url, &r);
  r.cancel_after = 1;
  tl_http_run(loop, client, &o, &r);
  ASSERT_WASIO(WASIO_ECANCELED, r.done_status);
  ASSERT_LT_U64(r.body_total, size);
  /* before it ever ran */
  wasio_http_call_t *call = NULL;
  o = tl_http_opts(url, &r);
  ASSERT_OK(wasio_http_call_start(client, &o, &call));
  ASSERT_OK(wasio_http_call_cancel(call));
  ASSERT_EQ_INT(r.dones, 0);
  WAIT_UNTIL(loop, r.dones == 1);
  ASSERT_WASIO(WASIO_ECANCELED, r.done_status);
  ASSERT_EQ_INT(r.responses, 0);
}

void tl_http_fetch_checks(uint16_t port, uint16_t stall_port) {
  char url[128];
  int code = 0;
  char *body = NULL;
  size_t len = 0;
  ASSERT_OK(wasio_http_fetch(tl_http_url(url, sizeof url, port, "/redirect/302"), 10 * WASIO_NS_PER_S, 1 << 20,
                             &code, &body, &len));
  ASSERT_EQ_INT(code, 200);
  ASSERT_EQ_U64(len, 17);
  ASSERT_EQ_STR(body, "hello from nginx\n");
  free(body);
  body = NULL;
  /* No limit at all (SIZE_MAX) must not wrap around. */
  ASSERT_OK(wasio_http_fetch(tl_http_url(url, sizeof url, port, "/small.txt"), 10 * WASIO_NS_PER_S, SIZE_MAX, &code,
                             &body, &len));
  ASSERT_EQ_STR(body, "hello from nginx\n");
  free(body);
  body = NULL;
  ASSERT_WASIO(WASIO_ELIMIT, wasio_http_fetch(tl_http_url(url, sizeof url, port, "/big.bin"), 10 * WASIO_NS_PER_S,
                                              1000, &code, &body, &len));
  ASSERT_TRUE(body == NULL);
  ASSERT_WASIO(WASIO_ETIMEDOUT, wasio_http_fetch(tl_http_url(url, sizeof url, stall_port, "/silent"), 300 * MS,
                                                 1 << 20, &code, &body, &len));
  ASSERT_WASIO(WASIO_ECONNREFUSED, wasio_http_fetch("http://127.0.0.1:1/", 10 * WASIO_NS_PER_S, 10, &code, &body, &len));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, wasio_http_fetch("http:/x", 0, 10, &code, &body, &len));
}

/* ---- HTTP: what both transports answer to misbehaving peers ------------------------ */

#define TL_MS(n) ((uint64_t)(n) * WASIO_NS_PER_MS)

const tl_http_case_t tl_http_cases[] = {
    {.name = "connect_refused", .peer = TL_PEER_CLOSED, .path = "/", .want = WASIO_ECONNREFUSED, .body = -1},
    {.name = "timeout_connect", .peer = TL_PEER_BLACKHOLE, .path = "/", .timeouts = {.connect_ns = TL_MS(300)},
     .want = WASIO_ETIMEDOUT, .body = -1, .min_ms = 300},
    {.name = "timeout_first_byte", .peer = TL_PEER_STALL, .path = "/silent", .timeouts = {.first_byte_ns = TL_MS(300)},
     .want = WASIO_ETIMEDOUT, .body = -1, .min_ms = 300},
    {.name = "timeout_between_bytes", .peer = TL_PEER_STALL, .path = "/stall-body",
     .timeouts = {.between_bytes_ns = TL_MS(300)}, .want = WASIO_ETIMEDOUT, .responses = 1, .body = 10, .min_ms = 300},
    {.name = "timeout_total", .peer = TL_PEER_STALL, .path = "/stall-body", .timeouts = {.total_ns = TL_MS(400)},
     .want = WASIO_ETIMEDOUT, .responses = 1, .body = 10, .min_ms = 400},
    {.name = "truncated", .peer = TL_PEER_STALL, .path = "/truncated", .want = WASIO_EHTTP_TRUNCATED, .responses = 1,
     .body = 10},
    {.name = "reset_mid_body", .peer = TL_PEER_STALL, .path = "/reset", .want = WASIO_ECONNRESET, .responses = 1,
     .body = 10, .host_differs = true, .host_want = WASIO_EHTTP_TRUNCATED,
     .host_why = "the hosts report a reset mid-body in the words of a truncation (hyper: error reading a body "
                 "from connection; Node: aborted)"},
    {.name = "close_delimited", .peer = TL_PEER_STALL, .path = "/close-body", .want = 0, .responses = 1, .body = 16000},
    {.name = "garbage", .peer = TL_PEER_STALL, .path = "/garbage", .want = TL_ANY_ERROR, .body = 0},
    {.name = "chunk_ext_noname", .peer = TL_PEER_STALL, .path = "/chunk-ext-noname", .want = WASIO_EHTTP_BAD_CHUNK_EXT,
     .responses = 1, .body = 0, .host_differs = true, .host_want = 0, .host_alt = WASIO_EHTTP_TRUNCATED,
     .host_why = "the hosts decode the body: wasmtime's hyper accepts the chunk extension RFC 9112 forbids (0), "
                 "jco's Node aborts the body (its words for a truncation)"},
    {.name = "redirect_loop", .peer = TL_PEER_NGINX, .path = "/redirect/loop", .want = WASIO_ELIMIT, .body = -1},
    {.name = "redirect_302", .peer = TL_PEER_NGINX, .path = "/redirect/302", .want = 0, .responses = 1, .body = 17},
    {.name = "not_found", .peer = TL_PEER_NGINX, .path = "/no/such/file", .want = 0, .responses = 1, .body = -1},
};
const size_t tl_http_num_cases = sizeof tl_http_cases / sizeof tl_http_cases[0];

const tl_http_case_t *tl_http_case(const char *name) {
  for (size_t i = 0; i < tl_http_num_cases; i++)
    if (strcmp(tl_http_cases[i].name, name) == 0) return &tl_http_cases[i];
  harness_fail(__FILE__, __LINE__, "no HTTP case named %s", name);
}

void tl_http_case_check(wasio_loop_t *loop, wasio_http_client_t *client, const tl_http_case_t *c, bool host) {
  static const char *const keys[] = {"port", "port2", "port3"};
  uint16_t port = c->peer == TL_PEER_CLOSED ? 1 : helper_port(keys[c->peer]);
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, c->path);
  result_t r;
  memset(&r, 0, sizeof r);
  wasio_http_call_opts_t o = {.url = url, .max_redirects = -1, .timeouts = c->timeouts, .data = &r,
                              .on_response = result_on_response, .on_body = result_on_body, .on_done = result_on_done};
  uint64_t t0 = wasio_monotonic_ns();
  ASSERT_OK(wasio_http_call_start(client, &o, NULL));
  tl_waiting_for = c->name;
  WAIT_UNTIL(loop, r.dones == 1);
  uint64_t ms = elapsed_ms_since(t0);
  int want = host && c->host_differs ? c->host_want : c->want;
  fprintf(stderr, "case %s over %s: %s in %llu ms%s%s\n", c->name, host ? "host" : "sockets",
          harness_err_name(r.done_status), (unsigned long long)ms, host && c->host_differs ? "; differs: " : "",
          host && c->host_differs ? c->host_why : "");
  if (want == TL_ANY_ERROR) ASSERT_TRUE(r.done_status < 0);
  else if (!(host && c->host_differs && c->host_alt != 0 && r.done_status == c->host_alt))
    ASSERT_WASIO(want, r.done_status);
  ASSERT_EQ_INT(r.responses, c->responses);
  if (c->body >= 0 && !(host && c->host_differs)) {
    if (host) ASSERT_LE_U64(r.body_total, (uint64_t)c->body);
    else ASSERT_EQ_U64(r.body_total, (uint64_t)c->body);
  }
  if (c->min_ms) {
    ASSERT_GE_U64(ms, c->min_ms - 5);
    ASSERT_LT_INT(ms, 10000);
  }
}

void tl_http_case_run(const tl_http_case_t *c, wasio_http_transport_t transport, bool host) {
  wasio_loop_t *loop = new_loop();
  wasio_timer_t *wd = watchdog_start(loop, 20000);
  wasio_http_client_t *client = NULL;
  wasio_http_client_opts_t co = {.transport = transport};
  ASSERT_OK(wasio_http_client_new(loop, &co, &client));
  tl_http_case_check(loop, client, c, host);
  http_client_close_wait(loop, client);
  watchdog_stop(wd);
  ASSERT_LOOP_CLOSED(loop);
}

/* ---- HTTP codec: feeding helpers ------------------------------------------------ */

size_t g_split_stride = 1;

char *exact_copy(const char *s, size_t n) {
  char *p = malloc(n ? n : 1);
  ASSERT_TRUE(p != NULL);
  if (n) memcpy(p, s, n);
  return p;
}

char *exact_buf(size_t n) {
  char *p = malloc(n ? n : 1);
  ASSERT_TRUE(p != NULL);
  return p;
}

wasio_http_str_t rebase(wasio_http_str_t v, const char *from, const char *to) {
  if (v.ptr == NULL) return v;
  return (wasio_http_str_t){to + (v.ptr - from), v.len};
}

/* ---- HTTP codec: heads ------------------------------------------------------------------- */

int parse_head_once(const char *msg, size_t len, size_t split, wasio_http_request_t *req,
                    wasio_http_response_t *res, unsigned flags) {
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  int rc = WASIO_EAGAIN;
  if (split > 0 && split < len) {
    char *a = exact_copy(msg, split);
    rc = res ? wasio_http_parse_response(&p, a, split, flags, res)
             : wasio_http_parse_request(&p, a, split, req);
    free(a);
  }
  char *b = exact_copy(msg, len);
  int rc2 = res ? wasio_http_parse_response(&p, b, len, flags, res)
                : wasio_http_parse_request(&p, b, len, req);
  /* A first part that already completed or failed must give the same
   * answer again (completion is re-reported, errors are sticky). */
  if (rc != WASIO_EAGAIN && rc != rc2)
    harness_fail(__FILE__, __LINE__, "split %zu: first part gave %d, whole gave %d", split, rc, rc2);
  if (rc2 > 0) {
    if (res) {
      res->reason = rebase(res->reason, b, msg);
      for (size_t i = 0; i < res->num_headers; i++) {
        res->headers[i].name = rebase(res->headers[i].name, b, msg);
        res->headers[i].value = rebase(res->headers[i].value, b, msg);
      }
    } else {
      req->method = rebase(req->method, b, msg);
      req->target = rebase(req->target, b, msg);
      for (size_t i = 0; i < req->num_headers; i++) {
        req->headers[i].name = rebase(req->headers[i].name, b, msg);
        req->headers[i].value = rebase(req->headers[i].value, b, msg);
      }
    }
  }
  free(b);
  return rc2;
}

int same_framing(const wasio_http_framing_t *a, const wasio_http_framing_t *b) {
  return a->body == b->body && a->content_length == b->content_length &&
         a->has_content_length == b->has_content_length && a->keep_alive == b->keep_alive &&
         a->expect_continue == b->expect_continue && a->upgrade == b->upgrade;
}

int same_headers(const wasio_http_header_t *a, size_t na, const wasio_http_header_t *b, size_t nb) {
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (a[i].name.ptr != b[i].name.ptr || a[i].name.len != b[i].name.len ||
        a[i].value.ptr != b[i].value.ptr || a[i].value.len != b[i].value.len)
      return 0;
  return 1;
}

/* Byte by byte: every prefix shorter than the point of decision must be
 * WASIO_EAGAIN, and the decision must equal `want`. For a complete head the
 * decision must come exactly at its last byte. */
void check_bytewise(const char *msg, size_t len, int want, int is_response, unsigned flags, const char *file,
                    int line) {
  wasio_http_parser_t p;
  wasio_http_parser_init(&p);
  wasio_http_request_t *req = malloc(sizeof *req);
  wasio_http_response_t *res = malloc(sizeof *res);
  int rc = WASIO_EAGAIN;
  size_t k = 0;
  while (rc == WASIO_EAGAIN && k < len) {
    k++;
    char *c = exact_copy(msg, k);
    rc = is_response ? wasio_http_parse_response(&p, c, k, flags, res)
                     : wasio_http_parse_request(&p, c, k, req);
    free(c);
  }
  free(req);
  free(res);
  if (rc != want)
    harness_fail(file, line, "byte by byte: got %s (%d) after %zu bytes, want %s (%d)",
                 harness_err_name(rc), rc, k, harness_err_name(want), want);
  if (want > 0 && (size_t)want != k)
    harness_fail(file, line, "byte by byte: completed after %zu bytes, head is %d", k, want);
}

/* Parses a request every way; returns the common result, fills *req. */
int parse_request_all(const char *msg, size_t len, wasio_http_request_t *req, const char *file, int line) {
  int rc = parse_head_once(msg, len, 0, req, NULL, 0);
  wasio_http_request_t *other = malloc(sizeof *other);
  for (size_t k = 1; k < len; k += g_split_stride) {
    int r = parse_head_once(msg, len, k, other, NULL, 0);
    if (r != rc) harness_fail(file, line, "split at %zu: %s vs one piece %s", k, harness_err_name(r), harness_err_name(rc));
    if (rc > 0 &&
        (other->method.ptr != req->method.ptr || other->target.ptr != req->target.ptr ||
         other->target.len != req->target.len || other->version_minor != req->version_minor ||
         !same_headers(other->headers, other->num_headers, req->headers, req->num_headers) ||
         !same_framing(&other->framing, &req->framing)))
      harness_fail(file, line, "split at %zu: different request", k);
  }
  free(other);
  check_bytewise(msg, len, rc, 0, 0, file, line);
  return rc;
}

int parse_response_all(const char *msg, size_t len, unsigned flags, wasio_http_response_t *res, const char *file,
                       int line) {
  int rc = parse_head_once(msg, len, 0, NULL, res, flags);
  wasio_http_response_t *other = malloc(sizeof *other);
  for (size_t k = 1; k < len; k += g_split_stride) {
    int r = parse_head_once(msg, len, k, NULL, other, flags);
    if (r != rc) harness_fail(file, line, "split at %zu: %s vs one piece %s", k, harness_err_name(r), harness_err_name(rc));
    if (rc > 0 && (other->status != res->status || other->reason.ptr != res->reason.ptr ||
                   other->reason.len != res->reason.len || other->version_minor != res->version_minor ||
                   !same_headers(other->headers, other->num_headers, res->headers, res->num_headers) ||
                   !same_framing(&other->framing, &res->framing)))
      harness_fail(file, line, "split at %zu: different response", k);
  }
  free(other);
  check_bytewise(msg, len, rc, 1, flags, file, line);
  return rc;
}

/* ---- HTTP codec: bodies ---------------------------------------------------------------------- */

/* Decodes in[0..len) presented as fragments of `step` bytes (0: all at
 * once), or as two parts split at `split` when step is SIZE_MAX. Follows
 * the feeding rule: unconsumed bytes are kept and presented again. */
void decode_body(wasio_http_body_kind_t kind, uint64_t cl, const char *in, size_t len, size_t step, size_t split,
                 body_result_t *out) {
  wasio_http_body_t d;
  wasio_http_trailers_t tr;
  wasio_http_body_init_kind(&d, kind, cl, &tr);
  memset(out, 0, sizeof *out);
  out->rc = WASIO_HTTP_BODY_MORE;
  size_t given = 0, pos = 0; /* bytes handed over so far; start of pending */
  for (;;) {
    size_t next;
    if (step == SIZE_MAX) next = given < split ? split : len;
    else if (step == 0) next = len;
    else next = given + step < len ? given + step : len;
    given = next;
    for (;;) {
      size_t n = given - pos, used = 0;
      char *c = exact_copy(in + pos, n);
      wasio_http_str_t data;
      int rc = wasio_http_body_decode(&d, c, n, &used, &data);
      ASSERT_LE_U64(used, n);
      if (data.len) {
        ASSERT_TRUE(data.ptr >= c && data.ptr + data.len <= c + n);
        ASSERT_LE_U64(out->payload_len + data.len, BODY_OUT_MAX);
        memcpy(out->payload + out->payload_len, data.ptr, data.len);
        out->payload_len += data.len;
      }
      if (rc == WASIO_HTTP_BODY_DONE) {
        for (size_t i = 0; i < tr.num_fields; i++) {
          size_t t = strlen(out->trailers);
          snprintf(out->trailers + t, sizeof out->trailers - t, "%.*s=%.*s;", (int)tr.fields[i].name.len,
                   tr.fields[i].name.ptr, (int)tr.fields[i].value.len, tr.fields[i].value.ptr);
        }
      }
      free(c);
      pos += used;
      if (rc == WASIO_HTTP_BODY_DONE || (rc < 0 && rc != WASIO_EAGAIN)) {
        out->rc = rc;
        out->consumed = pos;
        return;
      }
      if (rc == WASIO_EAGAIN || pos == given) break;
      ASSERT_TRUE(used > 0 || data.len > 0); /* progress */
    }
    if (given == len) {
      out->consumed = pos;
      return;
    }
  }
}

/* Decodes every way and asserts agreement; returns the one-piece result. */
void decode_body_all(wasio_http_body_kind_t kind, uint64_t cl, const char *in, size_t len, body_result_t *out,
                     const char *file, int line) {
  decode_body(kind, cl, in, len, 0, 0, out);
  body_result_t *o = malloc(sizeof *o);
  for (size_t k = 0; k <= len + 1; k++) {
    if (k == len + 1) decode_body(kind, cl, in, len, 1, 0, o); /* byte by byte */
    else decode_body(kind, cl, in, len, SIZE_MAX, k, o);
    if (o->rc != out->rc || o->consumed != out->consumed || o->payload_len != out->payload_len ||
        memcmp(o->payload, out->payload, o->payload_len) != 0 || strcmp(o->trailers, out->trailers) != 0)
      harness_fail(file, line, "%s %zu: rc %s consumed %zu payload %zu trailers '%s' vs one piece: rc %s consumed %zu payload %zu trailers '%s'",
                   k == len + 1 ? "byte by byte" : "split at", k, harness_err_name(o->rc), o->consumed,
                   o->payload_len, o->trailers, harness_err_name(out->rc), out->consumed, out->payload_len,
                   out->trailers);
  }
  free(o);
}
