/* wasio-serve: a static-file and echo HTTP server on wasio.
 *
 *   wasio-serve [--port N] [--addr IP] [--root DIR] [--max-conns N]
 *               [--cert CHAIN.pem --key KEY.pem] [--follow-symlinks]
 *
 * Prints the port it listens on as the first line of stdout (tests and
 * benchmarks read it), then serves until killed:
 *   GET/HEAD /PATH     the file ROOT/PATH (a directory: its index.html;
 *                      "/dir" without the slash redirects to "/dir/"),
 *                      streamed from the file in FILE_CHUNK pieces;
 *                      404 when missing, 403 for ".." or unreadable;
 *                      403 for a path with a symbolic link in it (under
 *                      the root) unless --follow-symlinks is given: the
 *                      same answer natively and in a component, where a
 *                      link could otherwise lead out of the root natively
 *                      but not under wasmtime's sandbox (--follow-symlinks
 *                      natively follows links anywhere, like nginx's
 *                      default; in a component the host decides);
 *   POST/PUT /echo     the request body back, streamed as it arrives;
 *   GET /echo          the request head back as text;
 *   ANY /status/N      an empty-ish response with status N (200..599).
 * With --cert and --key (PEM: the chain, end-entity first, and its private
 * key, RSA or EC) it serves HTTPS instead (TLS 1.2, ALPN http/1.1). On
 * wasmtime/jco the files are read through the preopened directory, like the
 * root. Defaults: --port 8080, --addr 127.0.0.1, --root . (on wasmtime the root is
 * the directory preopened as "." by `tools/wasio-run --dir DIR`).
 * Runs as a component (build/wasm32/apps/wasio-serve.wasm) and natively
 * (build/native/apps/wasio-serve).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasio.h"

/* WASI's "capabilities insufficient" (a path outside the preopens) is a
 * refusal too; glibc has no such errno. */
#ifdef ENOTCAPABLE
#define WASIO_SERVE_ENOTCAPABLE ENOTCAPABLE
#else
#define WASIO_SERVE_ENOTCAPABLE EACCES
#endif

#define DEFAULT_PORT 8080
#define FILE_CHUNK 65536       /* bytes read from a file per write */
#define MAX_PATH_LEN 4096      /* root + decoded path */
#define ECHO_HEAD_CAP 16384    /* GET /echo: the head as text */
#define POOL_MAX 64            /* request states kept for reuse */

static wasio_http_server_t *server;
static char root[MAX_PATH_LEN / 2] = ".";
static bool follow_symlinks;

/* Per-request state for the streamed answers (files and echo). */
typedef struct req_state {
  struct req_state *next; /* free list */
  int fd;
  uint64_t left;          /* file bytes still to send */
  bool ended;             /* echo: the request body ended */
  bool writing;           /* echo: a write is in flight */
  size_t len;
  char buf[FILE_CHUNK];
} req_state_t;

static req_state_t *pool;
static int pool_len;

static req_state_t *state_get(void) {
  req_state_t *st = pool;
  if (st != NULL) {
    pool = st->next;
    pool_len--;
  } else {
    st = malloc(sizeof *st);
    if (st == NULL) return NULL;
  }
  st->next = NULL;
  st->fd = -1;
  st->left = 0;
  st->ended = st->writing = false;
  st->len = 0;
  return st;
}

static void state_put(req_state_t *st) {
  if (st->fd >= 0) close(st->fd);
  if (pool_len < POOL_MAX) {
    st->next = pool;
    pool = st;
    pool_len++;
  } else {
    free(st);
  }
}

static void on_complete_free(wasio_http_exchange_t *ex, int status) {
  (void)status;
  req_state_t *st = wasio_http_exchange_data(ex);
  if (st != NULL) state_put(st);
}

static void on_complete_free_text(wasio_http_exchange_t *ex, int status) {
  (void)status;
  free(wasio_http_exchange_data(ex));
}

static bool str_eq(wasio_http_str_t s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static void respond_text(wasio_http_exchange_t *ex, int status, const char *text) {
  static const wasio_http_header_t h[] = {{{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};
  /* `text` is static, so it outlives the exchange. */
  if (wasio_http_respond(ex, status, h, 1, text, strlen(text)) < 0)
    (void)wasio_http_respond(ex, 500, NULL, 0, NULL, 0);
}

/* ---- /status/N -------------------------------------------------------------- */

static void handle_status(wasio_http_exchange_t *ex, wasio_http_str_t arg) {
  int code = 0;
  for (size_t i = 0; i < arg.len && i < 4; i++) {
    if (arg.ptr[i] < '0' || arg.ptr[i] > '9') {
      code = -1;
      break;
    }
    code = code * 10 + (arg.ptr[i] - '0');
  }
  if (arg.len == 0 || arg.len > 3 || code < 200 || code > 599) {
    respond_text(ex, 400, "status must be 200..599\n");
    return;
  }
  bool nobody = code == 204 || code == 304;
  const char *reason = wasio_http_reason(code);
  char *text = malloc(64);
  if (text == NULL) {
    (void)wasio_http_respond(ex, 500, NULL, 0, NULL, 0);
    return;
  }
  int n = nobody ? 0 : snprintf(text, 64, "%d %s\n", code, reason);
  wasio_http_exchange_set_data(ex, text);
  wasio_http_exchange_on_complete(ex, on_complete_free_text);
  static const wasio_http_header_t h[] = {{{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};
  if (wasio_http_respond(ex, code, nobody ? NULL : h, nobody ? 0 : 1, text, (size_t)n) < 0)
    (void)wasio_http_respond(ex, 500, NULL, 0, NULL, 0);
}

/* ---- /echo --------------------------------------------------------------------- */

static void echo_write_cb(wasio_http_exchange_t *ex, int status);

static void echo_on_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  req_state_t *st = wasio_http_exchange_data(ex);
  /* on_data's bytes live only during this call; the write needs them
   * longer, and the server delivers no more while we are paused. */
  if (len > sizeof st->buf) len = sizeof st->buf; /* cannot happen: input is smaller */
  memcpy(st->buf, data, len);
  st->writing = true;
  if (wasio_http_respond_write(ex, st->buf, len, echo_write_cb) < 0) {
    st->writing = false;
    return;
  }
  (void)wasio_http_exchange_pause(ex, true);
}

static void echo_write_cb(wasio_http_exchange_t *ex, int status) {
  req_state_t *st = wasio_http_exchange_data(ex);
  st->writing = false;
  if (status < 0) return; /* the connection is gone; on_complete follows */
  if (st->ended)
    (void)wasio_http_respond_end(ex);
  else
    (void)wasio_http_exchange_pause(ex, false);
}

static void echo_on_end(wasio_http_exchange_t *ex, int status) {
  req_state_t *st = wasio_http_exchange_data(ex);
  if (status != 0) return; /* the server answers or closes */
  st->ended = true;
  if (!st->writing) (void)wasio_http_respond_end(ex);
}

static void handle_echo_body(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  req_state_t *st = state_get();
  if (st == NULL) {
    (void)wasio_http_respond(ex, 503, NULL, 0, NULL, 0);
    return;
  }
  wasio_http_exchange_set_data(ex, st);
  wasio_http_exchange_on_complete(ex, on_complete_free);
  int64_t len = req->framing.body == WASIO_HTTP_BODY_LENGTH ? (int64_t)req->framing.content_length
                : req->framing.body == WASIO_HTTP_BODY_NONE ? 0
                                                            : -1;
  static const wasio_http_header_t h[] = {{{"Content-Type", 12}, {"application/octet-stream", 24}}};
  /* read_body first: it answers "Expect: 100-continue" before our head. */
  if (wasio_http_exchange_read_body(ex, echo_on_data, echo_on_end) < 0 ||
      wasio_http_respond_start(ex, 200, h, 1, len) < 0)
    (void)wasio_http_respond(ex, 500, NULL, 0, NULL, 0);
}

static void handle_echo_head(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  char *text = malloc(ECHO_HEAD_CAP);
  if (text == NULL) {
    (void)wasio_http_respond(ex, 503, NULL, 0, NULL, 0);
    return;
  }
  int n = snprintf(text, ECHO_HEAD_CAP, "%.*s %.*s HTTP/1.%d\n", (int)req->method.len, req->method.ptr,
                   (int)req->target.len, req->target.ptr, req->version_minor);
  for (size_t i = 0; i < req->num_headers && n >= 0 && n < ECHO_HEAD_CAP; i++) {
    const wasio_http_header_t *h = &req->headers[i];
    n += snprintf(text + n, (size_t)(ECHO_HEAD_CAP - n), "%.*s: %.*s\n", (int)h->name.len, h->name.ptr,
                  (int)h->value.len, h->value.ptr);
  }
  if (n < 0) n = 0;
  if (n >= ECHO_HEAD_CAP) n = ECHO_HEAD_CAP - 1;
  wasio_http_exchange_set_data(ex, text);
  wasio_http_exchange_on_complete(ex, on_complete_free_text);
  static const wasio_http_header_t h[] = {{{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};
  if (wasio_http_respond(ex, 200, h, 1, text, (size_t)n) < 0)
    (void)wasio_http_respond(ex, 500, NULL, 0, NULL, 0);
}

/* ---- files ------------------------------------------------------------------------ */

static const char *content_type(const char *path) {
  static const struct { const char *ext, *type; } types[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},   {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"}, {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"}, {"md", "text/markdown; charset=utf-8"},
      {"xml", "application/xml"},           {"svg", "image/svg+xml"},
      {"png", "image/png"},                 {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},               {"gif", "image/gif"},
      {"webp", "image/webp"},               {"ico", "image/x-icon"},
      {"wasm", "application/wasm"},         {"pdf", "application/pdf"},
      {"zip", "application/zip"},           {"gz", "application/gzip"},
      {"tar", "application/x-tar"},         {"mp4", "video/mp4"},
      {"woff", "font/woff"},                {"woff2", "font/woff2"},
  };
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash != NULL ? slash : path, '.');
  if (dot != NULL) {
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcasecmp(dot + 1, types[i].ext) == 0) return types[i].type;
  }
  return "application/octet-stream";
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes the path of `target` into out (NUL-terminated): returns 0, 403 for
 * a ".." segment (an escape from the root) or an encoded NUL/slash trick, or
 * 400 for a malformed target. */
static int decode_path(wasio_http_str_t target, char *out, size_t cap) {
  size_t n = 0;
  if (target.len == 0 || target.ptr[0] != '/') return 400;
  for (size_t i = 0; i < target.len; i++) {
    char ch = target.ptr[i];
    if (ch == '?' || ch == '#') break;
    if (ch == '%') {
      if (i + 2 >= target.len) return 400;
      int hi = hexval(target.ptr[i + 1]), lo = hexval(target.ptr[i + 2]);
      if (hi < 0 || lo < 0) return 400;
      ch = (char)(hi * 16 + lo);
      if (ch == 0) return 403;
      i += 2;
    }
    if (n + 1 >= cap) return 400;
    out[n++] = ch;
  }
  out[n] = 0;
  /* Any ".." segment is refused, decoded or not ("/a/%2e%2e/b" too). */
  for (const char *p = out; *p != 0;) {
    while (*p == '/') p++;
    const char *e = p;
    while (*e != 0 && *e != '/') e++;
    if (e - p == 2 && p[0] == '.' && p[1] == '.') return 403;
    if (memchr(p, '\\', (size_t)(e - p)) != NULL) return 403;
    p = e;
  }
  return 0;
}

static void file_write_cb(wasio_http_exchange_t *ex, int status);

/* 301 to the target's path plus "/" (the query kept). */
static void redirect_to_dir(wasio_http_exchange_t *ex, wasio_http_str_t target) {
  size_t plen = 0;
  while (plen < target.len && target.ptr[plen] != '?') plen++;
  char *loc = malloc(target.len + 2);
  if (loc == NULL) {
    respond_text(ex, 503, "503 Service Unavailable\n");
    return;
  }
  memcpy(loc, target.ptr, plen);
  loc[plen] = '/';
  memcpy(loc + plen + 1, target.ptr + plen, target.len - plen);
  wasio_http_header_t h[] = {{{"Location", 8}, {loc, target.len + 1}},
                             {{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};
  static const char text[] = "301 Moved Permanently\n";
  wasio_http_exchange_set_data(ex, loc);
  wasio_http_exchange_on_complete(ex, on_complete_free_text);
  /* The head is serialised now, so `loc` only has to outlive this call;
   * on_complete frees it all the same. */
  if (wasio_http_respond(ex, 301, h, 2, text, sizeof text - 1) < 0)
    (void)wasio_http_respond(ex, 400, NULL, 0, NULL, 0);
}

/* Reads the next piece of the file and writes it; ends after the last. */
static void file_pump(wasio_http_exchange_t *ex) {
  req_state_t *st = wasio_http_exchange_data(ex);
  if (st->left == 0) {
    (void)wasio_http_respond_end(ex);
    return;
  }
  size_t want = st->left < sizeof st->buf ? (size_t)st->left : sizeof st->buf;
  ssize_t n;
  do n = read(st->fd, st->buf, want);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    /* The file shrank or failed after the head went out: the promised
     * length cannot be met. Ending short makes the server close the
     * connection, so the client sees a truncated body, not a wrong one. */
    fprintf(stderr, "wasio-serve: read failed mid-file: %s\n", n < 0 ? strerror(errno) : "EOF");
    st->left = 0;
    (void)wasio_http_respond_end(ex);
    return;
  }
  st->left -= (uint64_t)n;
  if (st->left == 0) {
    /* Read whole: give the descriptor back now, not when the response is
     * done. Pipelined responses wait for the ones before them, and a
     * component's descriptor table is small (the preview1 adapter's). */
    close(st->fd);
    st->fd = -1;
  }
  if (wasio_http_respond_write(ex, st->buf, (size_t)n, file_write_cb) < 0) {
    st->left = 0;
    (void)wasio_http_respond_end(ex);
  }
}

static void file_write_cb(wasio_http_exchange_t *ex, int status) {
  if (status < 0) return; /* the connection is gone; on_complete follows */
  file_pump(ex);
}

/* Whether a component of `path` after its first `root_len` bytes (the root,
 * whose own links are the operator's choice) is a symbolic link: lstat of
 * each prefix, up to the first that does not exist (open reports that). */
static bool has_symlink(char *path, size_t root_len) {
  size_t len = strlen(path);
  for (size_t i = root_len + 1; i <= len; i++) {
    if (i < len && path[i] != '/') continue;
    if (path[i - 1] == '/') continue; /* "//" or a trailing slash */
    char saved = path[i];
    path[i] = 0;
    struct stat sb;
    int rc = lstat(path, &sb);
    path[i] = saved;
    if (rc != 0) return false;
    if (S_ISLNK(sb.st_mode)) return true;
  }
  return false;
}

static void handle_file(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  bool head = str_eq(req->method, "HEAD");
  if (!head && !str_eq(req->method, "GET")) {
    static const wasio_http_header_t allow[] = {{{"Allow", 5}, {"GET, HEAD", 9}}};
    static const char text[] = "405 Method Not Allowed\n";
    (void)wasio_http_respond(ex, 405, allow, 1, text, sizeof text - 1);
    return;
  }
  char rel[MAX_PATH_LEN / 2];
  int bad = decode_path(req->target, rel, sizeof rel);
  if (bad == 403) {
    respond_text(ex, 403, "403 Forbidden\n");
    return;
  }
  if (bad != 0) {
    respond_text(ex, 400, "400 Bad Request\n");
    return;
  }
  char path[MAX_PATH_LEN];
  int n = snprintf(path, sizeof path, "%s%s", root, rel);
  if (n < 0 || (size_t)n >= sizeof path - sizeof "/index.html") {
    respond_text(ex, 414, "414 URI Too Long\n");
    return;
  }
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    size_t rl = strlen(rel);
    if (rl == 0 || rel[rl - 1] != '/') {
      /* "/dir" -> "/dir/", so that relative links in its index resolve
       * inside it (as every static server does). */
      redirect_to_dir(ex, req->target);
      return;
    }
    size_t len = (size_t)n;
    if (len > 0 && path[len - 1] == '/') len--;
    memcpy(path + len, "/index.html", sizeof "/index.html");
  }
  if (!follow_symlinks && has_symlink(path, strlen(root))) {
    respond_text(ex, 403, "403 Forbidden\n");
    return;
  }
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM || errno == WASIO_SERVE_ENOTCAPABLE)
      respond_text(ex, 403, "403 Forbidden\n");
    else if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
      respond_text(ex, 404, "404 Not Found\n");
    else if (errno == EMFILE || errno == ENFILE)
      respond_text(ex, 503, "503 Service Unavailable: too many open files\n");
    else
      respond_text(ex, 500, "500 Internal Server Error\n");
    return;
  }
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    respond_text(ex, 404, "404 Not Found\n");
    return;
  }
  req_state_t *st = state_get();
  if (st == NULL) {
    close(fd);
    respond_text(ex, 503, "503 Service Unavailable\n");
    return;
  }
  st->fd = fd;
  st->left = head ? 0 : (uint64_t)sb.st_size;
  wasio_http_exchange_set_data(ex, st);
  wasio_http_exchange_on_complete(ex, on_complete_free);
  wasio_http_header_t h[] = {{{"Content-Type", 12}, {NULL, 0}}};
  h[0].value.ptr = content_type(path);
  h[0].value.len = strlen(h[0].value.ptr);
  if (wasio_http_respond_start(ex, 200, h, 1, (int64_t)sb.st_size) < 0) {
    respond_text(ex, 500, "500 Internal Server Error\n");
    return;
  }
  file_pump(ex);
}

/* ---- dispatch and main ----------------------------------------------------------------- */

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  wasio_http_str_t t = req->target;
  size_t plen = 0;
  while (plen < t.len && t.ptr[plen] != '?') plen++;
  wasio_http_str_t path = {t.ptr, plen};
  if (str_eq(path, "/echo")) {
    if (str_eq(req->method, "POST") || str_eq(req->method, "PUT"))
      handle_echo_body(ex, req);
    else
      handle_echo_head(ex, req);
    return;
  }
  if (path.len > 8 && memcmp(path.ptr, "/status/", 8) == 0) {
    handle_status(ex, (wasio_http_str_t){path.ptr + 8, path.len - 8});
    return;
  }
  handle_file(ex, req);
}

static int usage(void) {
  fprintf(stderr, "usage: wasio-serve [--port N] [--addr IP] [--root DIR] [--max-conns N]\n"
                  "                   [--cert CHAIN.pem --key KEY.pem] [--follow-symlinks]\n");
  return 2;
}

/* A PEM file larger than this is refused (a chain of WASIO_TLS_MAX_CHAIN
 * certificates is a few tens of KiB). */
#define PEM_MAX_BYTES (1u << 20)

/* Reads a whole (small) file; *out is malloc'd. Returns 0 or -1 (errno). */
static int read_small_file(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  char *buf = malloc(PEM_MAX_BYTES);
  size_t n = buf != NULL ? fread(buf, 1, PEM_MAX_BYTES, f) : 0;
  bool bad = buf == NULL || ferror(f) || n == PEM_MAX_BYTES;
  fclose(f);
  if (bad) {
    int err = buf == NULL ? ENOMEM : n == PEM_MAX_BYTES ? EFBIG : EIO;
    free(buf);
    errno = err;
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

/* The server-role TLS config from --cert/--key; prints why on failure. */
static wasio_tls_config_t *load_tls(const char *cert_path, const char *key_path) {
  char *chain = NULL, *key = NULL;
  size_t chain_len = 0, key_len = 0;
  if (read_small_file(cert_path, &chain, &chain_len) < 0) {
    fprintf(stderr, "wasio-serve: cannot read %s: %s\n", cert_path, strerror(errno));
    return NULL;
  }
  if (read_small_file(key_path, &key, &key_len) < 0) {
    fprintf(stderr, "wasio-serve: cannot read %s: %s\n", key_path, strerror(errno));
    free(chain);
    return NULL;
  }
  wasio_tls_config_t *cfg = NULL;
  int rc = wasio_tls_config_new(WASIO_TLS_SERVER, &cfg);
  if (rc == 0) rc = wasio_tls_config_cert_pem(cfg, chain, chain_len, key, key_len);
  free(chain);
  free(key);
  if (rc < 0) {
    fprintf(stderr, "wasio-serve: bad certificate or key (%s, %s): %s\n", cert_path, key_path,
            wasio_strerror(rc));
    wasio_tls_config_free(cfg);
    return NULL;
  }
  return cfg;
}

int main(int argc, char **argv) {
  long port = DEFAULT_PORT, max_conns = 0;
  const char *addr_s = "127.0.0.1";
  const char *cert_path = NULL, *key_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--follow-symlinks") == 0) {
      follow_symlinks = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    const char *v = argv[++i];
    char *end = NULL;
    if (strcmp(a, "--port") == 0) {
      port = strtol(v, &end, 10);
      if (*end != 0 || port < 0 || port > 65535) return usage();
    } else if (strcmp(a, "--addr") == 0) {
      addr_s = v;
    } else if (strcmp(a, "--root") == 0) {
      if (strlen(v) >= sizeof root) return usage();
      strcpy(root, v);
      size_t rl = strlen(root);
      while (rl > 1 && root[rl - 1] == '/') root[--rl] = 0; /* paths start with '/' */
    } else if (strcmp(a, "--max-conns") == 0) {
      max_conns = strtol(v, &end, 10);
      if (*end != 0 || max_conns < 1) return usage();
    } else if (strcmp(a, "--cert") == 0) {
      cert_path = v;
    } else if (strcmp(a, "--key") == 0) {
      key_path = v;
    } else {
      return usage();
    }
  }
  if ((cert_path == NULL) != (key_path == NULL)) {
    fprintf(stderr, "wasio-serve: --cert and --key go together\n");
    return 2;
  }
  wasio_tls_config_t *tls = NULL;
  if (cert_path != NULL && (tls = load_tls(cert_path, key_path)) == NULL) return 1;
  wasio_addr_t addr;
  if (wasio_addr_parse(addr_s, (uint16_t)port, &addr) < 0) {
    fprintf(stderr, "wasio-serve: bad address %s\n", addr_s);
    return 2;
  }
  wasio_loop_t *loop = NULL;
  int rc = wasio_loop_new(&loop);
  wasio_http_server_opts_t opts = {0};
  opts.max_connections = (size_t)max_conns;
  opts.tls = tls; /* lives until exit: the server is never shut down */
  if (rc == 0) rc = wasio_http_server_new(loop, &opts, handler, NULL, &server);
  if (rc == 0) rc = wasio_http_server_listen(server, &addr, 0);
  wasio_addr_t bound;
  if (rc == 0) rc = wasio_http_server_local_addr(server, &bound);
  if (rc < 0) {
    fprintf(stderr, "wasio-serve: cannot listen on %s:%ld: %s\n", addr_s, port, wasio_strerror(rc));
    return 1;
  }
  printf("%u\n", (unsigned)bound.port);
  fflush(stdout);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  return rc < 0 ? 1 : 0;
}
