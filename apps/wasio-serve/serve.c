/* wasio-serve: a static-file HTTP server on wasio.
 *
 *   wasio-serve [--port N] [--addr IP] [--root DIR] [--max-conns N]
 *               [--cert CHAIN.pem --key KEY.pem] [--follow-symlinks]
 *               [--list] [--log FILE|-] [--test-routes] [--help]
 *
 * (--help describes each option and its default.) Prints the port it
 * listens on as the first line of stdout (tests and benchmarks read it),
 * then serves until killed. It refuses to start (exit 1, with the cause and
 * the fix) when the root cannot be opened: in a component the root must be
 * a directory the host preopened (`tools/wasio-run --dir DIR` preopens DIR
 * as ".", the default root). Usage errors exit 2.
 *
 * GET/HEAD /PATH serves ROOT/PATH:
 * - The target may be origin-form ("/p?q") or absolute-form
 *   ("http://host/p?q", which RFC 9112 3.2.2 says a server MUST accept).
 *   The path is percent-decoded ("%00" is 400), its dot segments removed
 *   (RFC 3986 5.2.4: "/a/../b" is "/b"), runs of '/' merged; a path that
 *   climbs above the root ("/../x") or holds a backslash is 403 (browsers
 *   read "/\host" as "//host"), a name over NAME_MAX_BYTES is 404 (no file
 *   can have it), a path over REL_MAX is 414.
 * - A directory is its index.html; "/dir" without the slash redirects to
 *   "/dir/" (the Location is the normalised path, re-encoded, so it never
 *   starts with "//", which a browser would read as another host). Without
 *   index.html: 404, or with --list an HTML listing (names escaped, sorted,
 *   at most LIST_MAX_ENTRIES).
 * - Files carry ETag (mtime and size) and Last-Modified; If-Match and
 *   If-Unmodified-Since give 412, If-None-Match (weak comparison, "*" and
 *   lists) and, only without it, If-Modified-Since give 304 (RFC 9110
 *   13.2.2's order). A single Range "bytes=..." gives 206 with
 *   Content-Range (honouring If-Range), an unsatisfiable one 416 with
 *   "Content-Range: bytes * /LEN" (without the space); several ranges get
 *   the whole file (200), so `curl -C -` resumes.
 * - A file is opened when its response starts (the server runs the handler
 *   of a pipelined request only after the previous response), streamed in
 *   FILE_CHUNK pieces and closed once read. 403 for a path with a symbolic
 *   link in it (under the root) unless --follow-symlinks is given: the same
 *   answer natively and in a component, where a link could otherwise lead
 *   out of the root natively but not under wasmtime's sandbox
 *   (--follow-symlinks natively follows links anywhere, like nginx's
 *   default; in a component the host decides). 404 when missing, 403 when
 *   unreadable, and 503 with Retry-After when the process or host runs out
 *   of a resource (descriptors: EMFILE/ENFILE natively, EIO from wasmtime;
 *   memory; buffers).
 * With --test-routes (off by default: they shadow files of those names and
 * reflect the request's Cookie and Authorization fields back):
 *   POST/PUT /echo     the request body back, streamed as it arrives;
 *   GET /echo          the request head back as text;
 *   ANY /status/N      an empty-ish response with status N (200..599).
 * --log FILE writes one Common Log Format line per request handled
 * (host ident authuser [time] "request line" status bytes; the time in
 * UTC; bytes of body sent, "-" for none) to FILE, appended, or to stderr
 * for "-". Requests the HTTP server refuses before the handler (a malformed
 * head, a head timeout) are not logged.
 * With --cert and --key (PEM: the chain, end-entity first, and its private
 * key, RSA or EC) it serves HTTPS instead (TLS 1.3 and 1.2, ALPN http/1.1). On
 * wasmtime/jco the files are read through the preopened directory, like the
 * root. Runs as a component (build/wasm32/apps/wasio-serve.wasm) and
 * natively (build/native/apps/wasio-serve).
 */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/libc-find-relpath.h> /* (after stdlib.h: it needs size_t) */
#endif

#include "wasio.h"

/* WASI's "capabilities insufficient" (a path outside the preopens) is a
 * refusal too; glibc has no such errno. */
#ifdef ENOTCAPABLE
#define WASIO_SERVE_ENOTCAPABLE ENOTCAPABLE
#else
#define WASIO_SERVE_ENOTCAPABLE EACCES
#endif

#define DEFAULT_PORT 8080
#define DEFAULT_ADDR "127.0.0.1"
#define FILE_CHUNK 65536       /* bytes read from a file per write; the size of a body buffer */
#define MAX_PATH_LEN 4096      /* root + decoded path */
#define ROOT_MAX (MAX_PATH_LEN / 2)
#define REL_MAX (MAX_PATH_LEN / 2) /* the decoded path; longer is 414 */
#define NAME_MAX_BYTES 255     /* longest file name on Linux filesystems (NAME_MAX) */
#define ECHO_HEAD_CAP 16384    /* GET /echo: the head as text */
#define POOL_MAX 64            /* request states and body buffers kept for reuse */
#define TEXT_CAP 320           /* an error text or header value built per request */
#define LOG_REQUEST_MAX 1024   /* the request line in a log line, escaped */
#define LIST_MAX_ENTRIES 10000 /* a listing shows at most this many names */
#define RETRY_AFTER "1"        /* seconds, in a 503 for a resource shortage */
#define ETAG_CAP 48            /* "\"" 16 hex "-" 16 hex "\"" */

static wasio_http_server_t *server;
static char root[ROOT_MAX] = ".";
static bool follow_symlinks, listings, test_routes;
static FILE *log_file;

/* ---- per-request state ------------------------------------------------------------ */

/* One per exchange, from the handler to on_complete. */
typedef struct req_state {
  struct req_state *next; /* free list */
  int fd;
  uint64_t left;          /* file bytes still to send */
  bool ended;             /* echo: the request body ended */
  bool writing;           /* echo: a write is in flight */
  char *buf;              /* FILE_CHUNK bytes, taken when a body is streamed */
  size_t len;
  /* A directory listing being written. */
  char **names;
  size_t n_names, next_name, omitted;
  char *list_title;       /* the decoded path */
  enum { LIST_HEAD = 0, LIST_ENTRIES, LIST_DONE } list_phase;
  /* The access log line. */
  int status;
  uint64_t bytes;
  time_t when;
  char peer[WASIO_ADDR_STRLEN];
  char request[LOG_REQUEST_MAX];
  char text[TEXT_CAP];    /* a response text or field value that must outlive the handler */
  char etag[ETAG_CAP];
  char last_modified[WASIO_HTTP_DATE_LEN + 1];
} req_state_t;

typedef struct buf_node {
  struct buf_node *next;
} buf_node_t;

static req_state_t *pool;
static int pool_len;
static buf_node_t *buf_pool;
static int buf_pool_len;

static char *buf_get(void) {
  if (buf_pool != NULL) {
    buf_node_t *b = buf_pool;
    buf_pool = b->next;
    buf_pool_len--;
    return (char *)b;
  }
  return malloc(FILE_CHUNK);
}

static void buf_put(char *p) {
  if (p == NULL) return;
  if (buf_pool_len < POOL_MAX) {
    buf_node_t *b = (buf_node_t *)(void *)p;
    b->next = buf_pool;
    buf_pool = b;
    buf_pool_len++;
  } else {
    free(p);
  }
}

static req_state_t *state_get(void) {
  req_state_t *st = pool;
  if (st != NULL) {
    pool = st->next;
    pool_len--;
  } else {
    st = malloc(sizeof *st);
    if (st == NULL) return NULL;
  }
  memset(st, 0, offsetof(req_state_t, request));
  st->fd = -1;
  st->request[0] = st->text[0] = st->etag[0] = st->last_modified[0] = 0;
  return st;
}

static void free_names(req_state_t *st) {
  for (size_t i = 0; i < st->n_names; i++) free(st->names[i]);
  free(st->names);
  free(st->list_title);
  st->names = NULL;
  st->list_title = NULL;
  st->n_names = 0;
}

static void log_line(const req_state_t *st);

static void state_put(req_state_t *st) {
  if (st->fd >= 0) close(st->fd);
  buf_put(st->buf);
  free_names(st);
  if (pool_len < POOL_MAX) {
    st->next = pool;
    pool = st;
    pool_len++;
  } else {
    free(st);
  }
}

static void on_complete(wasio_http_exchange_t *ex, int status) {
  (void)status;
  req_state_t *st = wasio_http_exchange_data(ex);
  if (st == NULL) return;
  if (log_file != NULL) log_line(st);
  state_put(st);
}

/* ---- responding (every answer goes through these, for the log) ------------------------ */

static const wasio_http_header_t text_type = {{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}};

/* A whole response; `body` must live until on_complete (static or st's). */
static void reply(wasio_http_exchange_t *ex, req_state_t *st, int status, const wasio_http_header_t *h, size_t nh,
                  const char *body, size_t len) {
  if (wasio_http_respond(ex, status, h, nh, body, len) < 0) {
    status = 500;
    len = 0;
    (void)wasio_http_respond(ex, 500, NULL, 0, NULL, 0);
  }
  if (st != NULL) {
    st->status = status;
    st->bytes = len;
  }
}

/* A text answer, "STATUS Reason" plus an optional detail line. */
static void reply_text(wasio_http_exchange_t *ex, req_state_t *st, int status, const char *detail) {
  wasio_http_header_t h[2] = {text_type, {{"Retry-After", 11}, {RETRY_AFTER, sizeof RETRY_AFTER - 1}}};
  size_t nh = status == 503 ? 2 : 1;
  if (st == NULL) { /* no memory for anything better */
    (void)wasio_http_respond(ex, status, h, nh, NULL, 0);
    return;
  }
  int n = snprintf(st->text, sizeof st->text, "%d %s\n%s%s", status, wasio_http_reason(status),
                   detail != NULL ? detail : "", detail != NULL ? "\n" : "");
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof st->text) n = (int)sizeof st->text - 1;
  reply(ex, st, status, h, nh, st->text, (size_t)n);
}

/* ---- the access log -------------------------------------------------------------------- */

/* Copies the request line into st->request with '"', '\\' and control bytes
 * escaped (as Apache's log does), so that a line cannot be forged. */
static void log_request(req_state_t *st, wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  st->when = time(NULL);
  wasio_addr_t peer;
  if (wasio_http_exchange_peer_addr(ex, &peer) < 0 || wasio_addr_format_ip(&peer, st->peer, sizeof st->peer) < 0)
    strcpy(st->peer, "-");
  char line[LOG_REQUEST_MAX];
  int n = snprintf(line, sizeof line, "%.*s %.*s HTTP/1.%d", (int)req->method.len, req->method.ptr,
                   (int)req->target.len, req->target.ptr, req->version_minor);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
  size_t o = 0;
  for (int i = 0; i < n && o + 5 < sizeof st->request; i++) {
    unsigned char c = (unsigned char)line[i];
    if (c == '"' || c == '\\') {
      st->request[o++] = '\\';
      st->request[o++] = (char)c;
    } else if (c < 0x20 || c >= 0x7f) {
      o += (size_t)snprintf(st->request + o, sizeof st->request - o, "\\x%02x", c);
    } else {
      st->request[o++] = (char)c;
    }
  }
  st->request[o] = 0;
}

static void log_line(const req_state_t *st) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (st->request[0] == 0) return;
  struct tm tm;
  if (gmtime_r(&st->when, &tm) == NULL) memset(&tm, 0, sizeof tm);
  char bytes[24] = "-";
  if (st->bytes > 0) snprintf(bytes, sizeof bytes, "%" PRIu64, st->bytes);
  fprintf(log_file, "%s - - [%02d/%.3s/%04d:%02d:%02d:%02d +0000] \"%s\" %d %s\n", st->peer, tm.tm_mday,
          months + 3 * (tm.tm_mon % 12), tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, st->request,
          st->status, bytes);
}

/* ---- /status/N (--test-routes) ----------------------------------------------------------- */

static void handle_status(wasio_http_exchange_t *ex, req_state_t *st, wasio_http_str_t arg) {
  int code = 0;
  for (size_t i = 0; i < arg.len && i < 4; i++) {
    if (arg.ptr[i] < '0' || arg.ptr[i] > '9') {
      code = -1;
      break;
    }
    code = code * 10 + (arg.ptr[i] - '0');
  }
  if (arg.len == 0 || arg.len > 3 || code < 200 || code > 599) {
    reply_text(ex, st, 400, "status must be 200..599");
    return;
  }
  bool nobody = code == 204 || code == 304;
  int n = nobody ? 0 : snprintf(st->text, sizeof st->text, "%d %s\n", code, wasio_http_reason(code));
  reply(ex, st, code, nobody ? NULL : &text_type, nobody ? 0 : 1, st->text, (size_t)n);
}

/* ---- /echo (--test-routes) ----------------------------------------------------------------- */

static void echo_write_cb(wasio_http_exchange_t *ex, int status);

static void echo_on_data(wasio_http_exchange_t *ex, const void *data, size_t len) {
  req_state_t *st = wasio_http_exchange_data(ex);
  /* on_data's bytes live only during this call; the write needs them
   * longer, and the server delivers no more while we are paused. */
  if (len > FILE_CHUNK) len = FILE_CHUNK; /* cannot happen: input is smaller */
  memcpy(st->buf, data, len);
  st->writing = true;
  if (wasio_http_respond_write(ex, st->buf, len, echo_write_cb) < 0) {
    st->writing = false;
    return;
  }
  st->bytes += len;
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

static void handle_echo_body(wasio_http_exchange_t *ex, req_state_t *st, const wasio_http_request_t *req) {
  if ((st->buf = buf_get()) == NULL) {
    reply_text(ex, st, 503, "out of memory");
    return;
  }
  int64_t len = req->framing.body == WASIO_HTTP_BODY_LENGTH ? (int64_t)req->framing.content_length
                : req->framing.body == WASIO_HTTP_BODY_NONE ? 0
                                                            : -1;
  static const wasio_http_header_t h[] = {{{"Content-Type", 12}, {"application/octet-stream", 24}}};
  /* read_body first: it answers "Expect: 100-continue" before our head. */
  if (wasio_http_exchange_read_body(ex, echo_on_data, echo_on_end) < 0 ||
      wasio_http_respond_start(ex, 200, h, 1, len) < 0) {
    reply(ex, st, 500, NULL, 0, NULL, 0);
    return;
  }
  st->status = 200;
}

static void handle_echo_head(wasio_http_exchange_t *ex, req_state_t *st, const wasio_http_request_t *req) {
  if ((st->buf = buf_get()) == NULL) {
    reply_text(ex, st, 503, "out of memory");
    return;
  }
  char *text = st->buf;
  int n = snprintf(text, ECHO_HEAD_CAP, "%.*s %.*s HTTP/1.%d\n", (int)req->method.len, req->method.ptr,
                   (int)req->target.len, req->target.ptr, req->version_minor);
  for (size_t i = 0; i < req->num_headers && n >= 0 && n < ECHO_HEAD_CAP; i++) {
    const wasio_http_header_t *h = &req->headers[i];
    n += snprintf(text + n, (size_t)(ECHO_HEAD_CAP - n), "%.*s: %.*s\n", (int)h->name.len, h->name.ptr,
                  (int)h->value.len, h->value.ptr);
  }
  if (n < 0) n = 0;
  if (n >= ECHO_HEAD_CAP) n = ECHO_HEAD_CAP - 1;
  reply(ex, st, 200, &text_type, 1, text, (size_t)n);
}

/* ---- files: names and paths ------------------------------------------------------------------- */

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

/* The path of target `t`, decoded, with its dot segments removed and runs
 * of '/' merged, into rel (NUL-terminated, starting with '/'). Returns 0, or
 * an HTTP status with *why. */
static int resolve_path(const wasio_http_target_t *t, char *rel, size_t cap, const char **why) {
  int n = wasio_http_percent_decode(t->path.ptr, t->path.len, rel, cap - 1, 0);
  if (n == WASIO_ENOBUFS) {
    *why = "the path is too long";
    return 414;
  }
  if (n < 0) {
    *why = wasio_strerror(n); /* a percent-encoded NUL; a bad escape was refused before */
    return 400;
  }
  bool above = false;
  n = wasio_http_path_remove_dots(rel, (size_t)n, rel, cap - 1, &above);
  if (n < 0) {
    *why = wasio_strerror(n);
    return 400;
  }
  if (above) {
    *why = "the path climbs above the root";
    return 403;
  }
  /* A backslash is a separator to Windows, and a browser reads a Location
   * of "/\host" as "//host": another site. */
  if (memchr(rel, '\\', (size_t)n) != NULL) {
    *why = "a backslash in the path";
    return 403;
  }
  size_t o = 0;
  for (int i = 0; i < n; i++)
    if (rel[i] != '/' || o == 0 || rel[o - 1] != '/') rel[o++] = rel[i];
  rel[o] = 0;
  for (const char *p = rel; *p != 0;) {
    while (*p == '/') p++;
    const char *e = strchr(p, '/');
    size_t seg = e != NULL ? (size_t)(e - p) : strlen(p);
    if (seg > NAME_MAX_BYTES) {
      /* No file can have this name (NAME_MAX), so it is not found; 414
       * would blame the length of a target this server accepts. */
      *why = "a name longer than any file can have";
      return 404;
    }
    p += seg;
  }
  return 0;
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

/* The answer to a failed open/stat/opendir. Every shortage of a resource
 * is 503 with Retry-After:
 * - descriptors: EMFILE/ENFILE natively; in a component the host's own
 *   descriptors, which wasmtime reports as EIO (it has no WASI code for
 *   EMFILE), and any table of the libc's that fills (ENOMEM: the preview1
 *   adapter's held about 124 open files; the wasip2 libc grows its own).
 *   A real disk error on open is EIO too and also gets 503 (and a line on
 *   stderr): a retry is the right advice for both;
 * - memory, buffers, a busy or full host (ENOMEM, ENOBUFS, EAGAIN, EBUSY,
 *   ENOSPC, EDQUOT, EINTR).
 * jco's host throws on EMFILE (its shim has no WASI code for it either),
 * which traps the component: nothing to map there. */
static void reply_errno(wasio_http_exchange_t *ex, req_state_t *st, int err, const char *path) {
  if (err == EACCES || err == EPERM || err == WASIO_SERVE_ENOTCAPABLE) {
    reply_text(ex, st, 403, NULL);
  } else if (err == ENOENT || err == ENOTDIR || err == EISDIR || err == ENAMETOOLONG || err == ELOOP) {
    reply_text(ex, st, 404, NULL);
  } else if (err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS || err == EAGAIN ||
             err == EBUSY || err == ENOSPC || err == EDQUOT || err == EINTR || err == EIO) {
    if (err == EIO) fprintf(stderr, "wasio-serve: %s: %s (answered 503)\n", path, strerror(err));
    reply_text(ex, st, 503, "out of resources (too many open files?): try again");
  } else {
    fprintf(stderr, "wasio-serve: %s: %s (errno %d)\n", path, strerror(err), err);
    reply_text(ex, st, 500, NULL);
  }
}

/* ---- files: the body ----------------------------------------------------------------------- */

static void file_write_cb(wasio_http_exchange_t *ex, int status);

/* Reads the next piece of the file and writes it; ends after the last. */
static void file_pump(wasio_http_exchange_t *ex) {
  req_state_t *st = wasio_http_exchange_data(ex);
  if (st->left == 0) {
    (void)wasio_http_respond_end(ex);
    return;
  }
  size_t want = st->left < FILE_CHUNK ? (size_t)st->left : FILE_CHUNK;
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
     * done (the client may be slow to take the last piece). */
    close(st->fd);
    st->fd = -1;
  }
  if (wasio_http_respond_write(ex, st->buf, (size_t)n, file_write_cb) < 0) {
    st->left = 0;
    (void)wasio_http_respond_end(ex);
    return;
  }
  st->bytes += (uint64_t)n;
}

static void file_write_cb(wasio_http_exchange_t *ex, int status) {
  if (status < 0) return; /* the connection is gone; on_complete follows */
  file_pump(ex);
}

/* ---- files: validators, conditions, ranges --------------------------------------------------- */

static int64_t mtime_secs(const struct stat *sb) { return (int64_t)sb->st_mtim.tv_sec; }

/* ETag: the modification time in nanoseconds and the size, like nginx's
 * (mtime-size), strong: a changed file gets a new tag unless it keeps its
 * size and its mtime to the nanosecond. */
static void make_validators(req_state_t *st, const struct stat *sb) {
  uint64_t ns = (uint64_t)sb->st_mtim.tv_sec * 1000000000u + (uint64_t)sb->st_mtim.tv_nsec;
  snprintf(st->etag, sizeof st->etag, "\"%" PRIx64 "-%" PRIx64 "\"", ns, (uint64_t)sb->st_size);
  if (wasio_http_date_format(mtime_secs(sb), st->last_modified, sizeof st->last_modified) < 0)
    st->last_modified[0] = 0;
}

/* The value of the only field named `name`; false when absent or repeated
 * (a repeated single-valued field cannot be trusted, so it is ignored). */
static bool single_field(const wasio_http_request_t *req, const char *name, wasio_http_str_t *out) {
  size_t pos = 0;
  int i = wasio_http_find_header(req->headers, req->num_headers, name, &pos);
  if (i < 0) return false;
  if (wasio_http_find_header(req->headers, req->num_headers, name, &pos) >= 0) return false;
  *out = req->headers[i].value;
  return true;
}

/* A list field (If-Match, If-None-Match), over all its fields: 1 when one
 * matches `etag`, 0 when none does, -1 when absent, -2 when malformed. */
static int etag_fields(const wasio_http_request_t *req, const char *name, const char *etag, unsigned flags) {
  size_t pos = 0;
  int found = -1;
  wasio_http_str_t tag = {etag, strlen(etag)};
  for (int i; (i = wasio_http_find_header(req->headers, req->num_headers, name, &pos)) >= 0;) {
    int m = wasio_http_etag_match(req->headers[i].value, tag, flags);
    if (m < 0) return -2;
    if (m == 1) found = 1;
    else if (found < 0) found = 0;
  }
  return found;
}

/* RFC 9110 13.2.2, for GET and HEAD: 0 to go on, or 304/412. */
static int evaluate_conditions(const wasio_http_request_t *req, const req_state_t *st, int64_t mtime) {
  wasio_http_str_t v;
  int64_t when;
  int m = etag_fields(req, "If-Match", st->etag, 0);
  if (m == 0 || m == -2) return 412; /* a malformed If-Match fails closed */
  if (m == -1 && single_field(req, "If-Unmodified-Since", &v) && wasio_http_date_parse(v, &when) == 0 &&
      mtime > when)
    return 412;
  m = etag_fields(req, "If-None-Match", st->etag, WASIO_HTTP_ETAG_WEAK);
  if (m == 1) return 304;
  /* Present but not matching (or malformed: then it cannot be evaluated,
   * and the full answer is the safe one): If-Modified-Since is ignored. */
  if (m != -1) return 0;
  if (single_field(req, "If-Modified-Since", &v) && wasio_http_date_parse(v, &when) == 0 && mtime <= when)
    return 304;
  return 0;
}

/* Whether If-Range (absent: true) lets the Range apply: a strong match of
 * the entity-tag, or the exact Last-Modified date when that date is strong
 * (RFC 9110 8.8.2.2: at least a second older than now). */
static bool if_range_holds(const wasio_http_request_t *req, const req_state_t *st, int64_t mtime) {
  size_t pos = 0;
  if (wasio_http_find_header(req->headers, req->num_headers, "If-Range", &pos) < 0) return true;
  wasio_http_str_t v;
  if (!single_field(req, "If-Range", &v)) return false;
  if (v.len > 0 && (v.ptr[0] == '"' || v.ptr[0] == 'W'))
    return wasio_http_etag_match(v, (wasio_http_str_t){st->etag, strlen(st->etag)}, 0) == 1;
  int64_t when;
  return wasio_http_date_parse(v, &when) == 0 && when == mtime && (int64_t)time(NULL) - mtime >= 1;
}

/* ---- directory listings (--list) -------------------------------------------------------------- */

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Reads the names of `dir` (directories with a '/' appended; symbolic
 * links left out unless they are followed) into st->names, sorted.
 * Returns 0 or an errno. */
static int list_read(req_state_t *st, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) return errno;
  size_t cap = 0;
  int err = 0;
  char full[MAX_PATH_LEN];
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL) {
      err = errno;
      break;
    }
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_LNK || e->d_type == DT_UNKNOWN) {
      struct stat sb;
      int n = snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
      if (n < 0 || (size_t)n >= sizeof full || lstat(full, &sb) != 0) continue;
      if (S_ISLNK(sb.st_mode)) {
        if (!follow_symlinks || stat(full, &sb) != 0) continue;
      }
      is_dir = S_ISDIR(sb.st_mode);
    }
    if (st->n_names == LIST_MAX_ENTRIES) {
      st->omitted++;
      continue;
    }
    if (st->n_names == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      char **nn = realloc(st->names, ncap * sizeof *nn);
      if (nn == NULL) {
        err = ENOMEM;
        break;
      }
      st->names = nn;
      cap = ncap;
    }
    size_t len = strlen(e->d_name);
    char *name = malloc(len + 2);
    if (name == NULL) {
      err = ENOMEM;
      break;
    }
    memcpy(name, e->d_name, len);
    name[len] = is_dir ? '/' : 0;
    name[len + 1] = 0;
    st->names[st->n_names++] = name;
  }
  closedir(d);
  if (err != 0) return err;
  if (st->n_names > 1) qsort(st->names, st->n_names, sizeof *st->names, name_cmp);
  return 0;
}

/* Appends s[0..n) to st->buf HTML-escaped. */
static void html_put(req_state_t *st, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const char *rep = NULL;
    switch (s[i]) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&#39;"; break;
      default: break;
    }
    if (rep != NULL) {
      size_t k = strlen(rep);
      memcpy(st->buf + st->len, rep, k);
      st->len += k;
    } else {
      st->buf[st->len++] = s[i];
    }
  }
}

static void raw_put(req_state_t *st, const char *s) {
  size_t k = strlen(s);
  memcpy(st->buf + st->len, s, k);
  st->len += k;
}

/* The most one entry (or the head, with the title) adds to the buffer:
 * a name percent-encoded (x3) and HTML-escaped (x6), plus the markup. */
#define LIST_ENTRY_MAX (9 * (NAME_MAX_BYTES + 1) + 64)

static void list_write_cb(wasio_http_exchange_t *ex, int status);

/* Fills the buffer with the next part of the listing and writes it; ends
 * the response after the part with the footer. */
static void list_pump(wasio_http_exchange_t *ex) {
  req_state_t *st = wasio_http_exchange_data(ex);
  if (st->list_phase == LIST_DONE) {
    (void)wasio_http_respond_end(ex);
    return;
  }
  st->len = 0;
  if (st->list_phase == LIST_HEAD) {
    st->list_phase = LIST_ENTRIES;
    size_t tl = strlen(st->list_title);
    raw_put(st, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ");
    html_put(st, st->list_title, tl);
    raw_put(st, "</title></head>\n<body><h1>Index of ");
    html_put(st, st->list_title, tl);
    raw_put(st, "</h1>\n<ul>\n");
    if (strcmp(st->list_title, "/") != 0) raw_put(st, "<li><a href=\"../\">../</a></li>\n");
  }
  while (st->next_name < st->n_names && st->len + LIST_ENTRY_MAX <= FILE_CHUNK) {
    const char *name = st->names[st->next_name++];
    size_t n = strlen(name);
    bool dir = n > 0 && name[n - 1] == '/';
    raw_put(st, "<li><a href=\"");
    /* Encoded with '/' too, so that a name is always one relative segment;
     * ':' is encoded, so no name reads as a scheme. */
    int k = wasio_http_percent_encode(name, n - dir, st->buf + st->len, FILE_CHUNK - st->len,
                                      WASIO_HTTP_ENCODE_SLASH);
    if (k > 0) st->len += (size_t)k;
    if (dir) raw_put(st, "/");
    raw_put(st, "\">");
    html_put(st, name, n);
    raw_put(st, "</a></li>\n");
  }
  if (st->next_name == st->n_names && st->len + LIST_ENTRY_MAX <= FILE_CHUNK) {
    raw_put(st, "</ul>\n");
    if (st->omitted > 0) {
      char more[96];
      snprintf(more, sizeof more, "<p>%zu more entries not shown (at most %d are).</p>\n", st->omitted,
               LIST_MAX_ENTRIES);
      raw_put(st, more);
    }
    raw_put(st, "</body></html>\n");
    st->list_phase = LIST_DONE;
    free_names(st);
  }
  if (wasio_http_respond_write(ex, st->buf, st->len, list_write_cb) < 0) {
    (void)wasio_http_respond_end(ex);
    return;
  }
  st->bytes += st->len;
}

static void list_write_cb(wasio_http_exchange_t *ex, int status) {
  if (status < 0) return; /* the connection is gone; on_complete follows */
  list_pump(ex);
}

static void handle_listing(wasio_http_exchange_t *ex, req_state_t *st, const char *dir, const char *rel,
                           bool head) {
  int err = list_read(st, dir);
  if (err == 0 && (st->list_title = strdup(rel)) == NULL) err = ENOMEM;
  if (err == 0 && (st->buf = buf_get()) == NULL) err = ENOMEM;
  if (err != 0) {
    free_names(st);
    reply_errno(ex, st, err, dir);
    return;
  }
  static const wasio_http_header_t h[] = {{{"Content-Type", 12}, {"text/html; charset=utf-8", 24}},
                                          {{"Cache-Control", 13}, {"no-cache", 8}}};
  if (wasio_http_respond_start(ex, 200, h, 2, -1) < 0) {
    free_names(st);
    reply(ex, st, 500, NULL, 0, NULL, 0);
    return;
  }
  st->status = 200;
  if (head) {
    free_names(st);
    (void)wasio_http_respond_end(ex);
    return;
  }
  list_pump(ex);
}

/* ---- files: the handler ------------------------------------------------------------------------- */

static void redirect_to_dir(wasio_http_exchange_t *ex, req_state_t *st, const char *rel,
                            const wasio_http_target_t *t) {
  if ((st->buf = buf_get()) == NULL) {
    reply_text(ex, st, 503, "out of memory");
    return;
  }
  /* rel starts with exactly one '/' (runs were merged), so the Location
   * cannot start with "//"; encoding it keeps it one valid field value. */
  int n = wasio_http_percent_encode(rel, strlen(rel), st->buf, FILE_CHUNK - 2, 0);
  if (n < 0 || (size_t)n + 2 + t->query.len > FILE_CHUNK) {
    reply_text(ex, st, 414, NULL);
    return;
  }
  size_t len = (size_t)n;
  st->buf[len++] = '/';
  if (t->has_query) {
    st->buf[len++] = '?';
    memcpy(st->buf + len, t->query.ptr, t->query.len);
    len += t->query.len;
  }
  wasio_http_header_t h[] = {{{"Location", 8}, {st->buf, len}}, text_type};
  static const char text[] = "301 Moved Permanently\n";
  reply(ex, st, 301, h, 2, text, sizeof text - 1);
}

static void handle_file(wasio_http_exchange_t *ex, req_state_t *st, const wasio_http_request_t *req,
                        const wasio_http_target_t *t) {
  bool head = req->method.len == 4 && memcmp(req->method.ptr, "HEAD", 4) == 0;
  bool get = req->method.len == 3 && memcmp(req->method.ptr, "GET", 3) == 0;
  if (!head && !get) {
    static const wasio_http_header_t allow[] = {{{"Allow", 5}, {"GET, HEAD", 9}}, {{"Content-Type", 12}, {"text/plain; charset=utf-8", 25}}};
    static const char text[] = "405 Method Not Allowed\n";
    reply(ex, st, 405, allow, 2, text, sizeof text - 1);
    return;
  }
  char rel[REL_MAX];
  const char *why = NULL;
  int bad = resolve_path(t, rel, sizeof rel, &why);
  if (bad != 0) {
    reply_text(ex, st, bad, why);
    return;
  }
  char path[MAX_PATH_LEN];
  int n = snprintf(path, sizeof path, "%s%s", root, rel);
  if (n < 0 || (size_t)n >= sizeof path - sizeof "index.html") {
    reply_text(ex, st, 414, NULL);
    return;
  }
  if (!follow_symlinks && has_symlink(path, strlen(root))) {
    reply_text(ex, st, 403, "a symbolic link in the path (see --follow-symlinks)");
    return;
  }
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    size_t rl = strlen(rel);
    if (rel[rl - 1] != '/') {
      /* "/dir" -> "/dir/", so that relative links in its index resolve
       * inside it (as every static server does). */
      redirect_to_dir(ex, st, rel, t);
      return;
    }
    memcpy(path + n, "index.html", sizeof "index.html");
    struct stat ib;
    if (!follow_symlinks && lstat(path, &ib) == 0 && S_ISLNK(ib.st_mode)) {
      reply_text(ex, st, 403, "a symbolic link in the path (see --follow-symlinks)");
      return;
    }
    if (listings && stat(path, &ib) != 0 && errno == ENOENT) {
      path[n] = 0;
      handle_listing(ex, st, path, rel, head);
      return;
    }
  }
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    reply_errno(ex, st, errno, path);
    return;
  }
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    reply_text(ex, st, 404, NULL);
    return;
  }
  st->fd = fd;
  make_validators(st, &sb);
  int64_t mtime = mtime_secs(&sb);
  uint64_t size = (uint64_t)sb.st_size;
  wasio_http_header_t h[5] = {{{"ETag", 4}, {st->etag, strlen(st->etag)}},
                              {{"Last-Modified", 13}, {st->last_modified, strlen(st->last_modified)}}};
  size_t nh = st->last_modified[0] != 0 ? 2 : 1;
  int cond = evaluate_conditions(req, st, mtime);
  if (cond != 0) {
    close(st->fd);
    st->fd = -1;
    if (cond == 304)
      reply(ex, st, 304, h, nh, NULL, 0);
    else
      reply_text(ex, st, 412, NULL);
    return;
  }
  int status = 200;
  uint64_t first = 0, length = size;
  wasio_http_str_t rv;
  if (get && single_field(req, "Range", &rv) && if_range_holds(req, st, mtime)) {
    wasio_http_range_t r;
    int k = wasio_http_range_parse(rv, size, &r);
    if (k == WASIO_HTTP_RANGE_UNSATISFIABLE) {
      close(st->fd);
      st->fd = -1;
      char cr[48];
      int crn = snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
      wasio_http_header_t h416[] = {{{"Content-Range", 13}, {cr, (size_t)crn}}, text_type};
      static const char text[] = "416 Range Not Satisfiable\n";
      reply(ex, st, 416, h416, 2, text, sizeof text - 1);
      return;
    }
    if (k == WASIO_HTTP_RANGE_ONE) {
      status = 206;
      first = r.first;
      length = r.last - r.first + 1;
      int crn = snprintf(st->text, sizeof st->text, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, r.first, r.last, size);
      h[nh++] = (wasio_http_header_t){{"Content-Range", 13}, {st->text, (size_t)crn}};
    }
    /* Several ranges (or none understood): the whole file, 200. */
  }
  h[nh++] = (wasio_http_header_t){{"Accept-Ranges", 13}, {"bytes", 5}};
  const char *ctype = content_type(path);
  h[nh++] = (wasio_http_header_t){{"Content-Type", 12}, {ctype, strlen(ctype)}};
  if (head || length == 0) {
    close(st->fd);
    st->fd = -1;
    length = head ? length : 0;
  } else {
    if ((st->buf = buf_get()) == NULL) {
      reply_text(ex, st, 503, "out of memory");
      return;
    }
    if (first > 0 && lseek(st->fd, (off_t)first, SEEK_SET) != (off_t)first) {
      reply_errno(ex, st, errno, path);
      return;
    }
  }
  st->left = head ? 0 : length;
  if (wasio_http_respond_start(ex, status, h, nh, (int64_t)length) < 0) {
    reply(ex, st, 500, NULL, 0, NULL, 0);
    return;
  }
  st->status = status;
  file_pump(ex);
}

/* ---- dispatch ---------------------------------------------------------------------------------- */

static void handler(wasio_http_exchange_t *ex, const wasio_http_request_t *req) {
  req_state_t *st = state_get();
  if (st == NULL) {
    reply_text(ex, NULL, 503, NULL);
    return;
  }
  wasio_http_exchange_set_data(ex, st);
  wasio_http_exchange_on_complete(ex, on_complete);
  if (log_file != NULL) log_request(st, ex, req);
  wasio_http_target_t t;
  int rc = wasio_http_target_parse(req->target, &t);
  if (rc < 0) {
    snprintf(st->text, sizeof st->text, "400 Bad Request\nrequest target: %s\n", wasio_strerror(rc));
    reply(ex, st, 400, &text_type, 1, st->text, strlen(st->text));
    return;
  }
  if (t.form == WASIO_HTTP_TARGET_ASTERISK && req->method.len == 7 && memcmp(req->method.ptr, "OPTIONS", 7) == 0) {
    static const wasio_http_header_t allow[] = {{{"Allow", 5}, {"GET, HEAD", 9}}};
    reply(ex, st, 204, allow, 1, NULL, 0);
    return;
  }
  if (t.form != WASIO_HTTP_TARGET_ORIGIN && t.form != WASIO_HTTP_TARGET_ABSOLUTE) {
    reply_text(ex, st, 400, "request target: not a path");
    return;
  }
  if (test_routes) {
    if (t.path.len == 5 && memcmp(t.path.ptr, "/echo", 5) == 0) {
      bool body = (req->method.len == 4 && memcmp(req->method.ptr, "POST", 4) == 0) ||
                  (req->method.len == 3 && memcmp(req->method.ptr, "PUT", 3) == 0);
      if (body)
        handle_echo_body(ex, st, req);
      else
        handle_echo_head(ex, st, req);
      return;
    }
    if (t.path.len > 8 && memcmp(t.path.ptr, "/status/", 8) == 0) {
      handle_status(ex, st, (wasio_http_str_t){t.path.ptr + 8, t.path.len - 8});
      return;
    }
  }
  handle_file(ex, st, req, &t);
}

/* ---- options and main ------------------------------------------------------------------------ */

static void help(void) {
  printf("usage: wasio-serve [OPTION]...\n"
         "Serves the files under a directory over HTTP (or HTTPS). Prints the port it\n"
         "listens on as the first line of stdout, then serves until killed.\n"
         "\n"
         "  --port N           TCP port; 0 picks a free one (default %d)\n"
         "  --addr IP          address to listen on, IPv4 or IPv6 (default %s)\n"
         "  --root DIR         directory to serve (default \".\"; in a component it must be\n"
         "                     under a directory the host preopened: tools/wasio-run\n"
         "                     --dir DIR preopens DIR as \".\")\n"
         "  --max-conns N      most connections open at once (default %d)\n"
         "  --cert CHAIN.pem   serve HTTPS with this certificate chain (end-entity first)\n"
         "  --key KEY.pem      ... and this private key, RSA or EC (both or neither;\n"
         "                     default: plain HTTP)\n"
         "  --follow-symlinks  follow symbolic links under the root (default: refuse any\n"
         "                     path with a link in it, 403)\n"
         "  --list             list a directory without index.html as HTML (default: 404)\n"
         "  --log FILE         write an access log line per request, Common Log Format in\n"
         "                     UTC, appended to FILE, or to stderr for \"-\" (default: none)\n"
         "  --test-routes      enable the test aids /echo (the request back) and\n"
         "                     /status/N (a response with status N); they shadow files of\n"
         "                     those names and reflect Cookie and Authorization fields\n"
         "                     (default: off)\n"
         "  -h, --help         this text\n"
         "\n"
         "Files carry ETag and Last-Modified and answer If-None-Match/If-Modified-Since\n"
         "(304), If-Match/If-Unmodified-Since (412) and a single byte Range (206, 416).\n"
         "Exit status: 1 when it cannot start (root, address, certificate), 2 for a\n"
         "usage error.\n",
         DEFAULT_PORT, DEFAULT_ADDR, WASIO_HTTP_SERVER_MAX_CONNECTIONS);
}

static int usage_error(const char *what, const char *arg) {
  fprintf(stderr, "wasio-serve: %s%s%s (try --help)\n", what, arg != NULL ? ": " : "", arg != NULL ? arg : "");
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

/* Refuses to start without a root to serve (rather than answering 403 to
 * every request): says why and, in a component, how to preopen it. */
static int check_root(void) {
  int fd = open(root[0] != 0 ? root : "/", O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  int err = errno;
#ifdef __wasi__
  /* wasi-libc answers ENOENT for a missing directory and for a path that
   * no preopened directory holds: the second is the sandbox's refusal. */
  const char *prefix;
  char buf[256], *rel = buf;
  if (err == ENOENT && __wasilibc_find_relpath(root[0] != 0 ? root : "/", &prefix, &rel, sizeof buf) < 0 &&
      errno != ERANGE)
    err = ENOTCAPABLE;
#endif
  fprintf(stderr, "wasio-serve: cannot serve --root %s: %s\n", root, strerror(err));
#ifdef __wasi__
  if ((err == ENOTCAPABLE || err == ENOENT) && root[0] == '/') {
    /* With a "." preopen wasi-libc looks the absolute path up inside it
     * (ENOENT); without one it has nowhere to look (ENOTCAPABLE). */
    fprintf(stderr,
            "wasio-serve: a component sees only the directories its host preopens, not the host's file\n"
            "  system, and the absolute path %s is not in one (tools/wasio-run --dir DIR preopens DIR\n"
            "  as \".\" only). Preopen it and serve it as \".\", the default --root:\n"
            "    tools/wasio-run --net --dir %s wasio-serve.wasm ...\n"
            "  or keep the absolute path: wasmtime run -S inherit-network=y --dir %s::%s ... --root %s\n",
            root, root, root, root, root);
  } else if (err == ENOTCAPABLE || err == EBADF) {
    fprintf(stderr,
            "wasio-serve: no directory is preopened as \".\" for this component, so it has no files to serve.\n"
            "  Preopen the directory to serve: tools/wasio-run --net --dir DIR wasio-serve.wasm ...\n"
            "  (wasmtime run --dir DIR::. ...; --root then names a directory inside DIR)\n");
  }
#else
  if (err == ENOENT || err == ENOTDIR) fprintf(stderr, "wasio-serve: give an existing directory with --root DIR\n");
#endif
  return -1;
}

int main(int argc, char **argv) {
  long port = DEFAULT_PORT, max_conns = 0;
  const char *addr_s = DEFAULT_ADDR;
  const char *cert_path = NULL, *key_path = NULL, *log_path = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      help();
      return 0;
    }
    if (strcmp(a, "--follow-symlinks") == 0) {
      follow_symlinks = true;
      continue;
    }
    if (strcmp(a, "--list") == 0) {
      listings = true;
      continue;
    }
    if (strcmp(a, "--test-routes") == 0) {
      test_routes = true;
      continue;
    }
    bool takes_value = strcmp(a, "--port") == 0 || strcmp(a, "--addr") == 0 || strcmp(a, "--root") == 0 ||
                       strcmp(a, "--max-conns") == 0 || strcmp(a, "--cert") == 0 || strcmp(a, "--key") == 0 ||
                       strcmp(a, "--log") == 0;
    if (!takes_value) return usage_error("unknown option", a);
    if (i + 1 >= argc) return usage_error("option needs a value", a);
    const char *v = argv[++i];
    char *end = NULL;
    if (strcmp(a, "--port") == 0) {
      port = strtol(v, &end, 10);
      if (*v == 0 || *end != 0 || port < 0 || port > 65535) return usage_error("--port: not a port (0..65535)", v);
    } else if (strcmp(a, "--addr") == 0) {
      addr_s = v;
    } else if (strcmp(a, "--root") == 0) {
      if (*v == 0 || strlen(v) >= sizeof root) return usage_error("--root: empty or too long", v);
      strcpy(root, v);
      size_t rl = strlen(root);
      while (rl > 1 && root[rl - 1] == '/') root[--rl] = 0; /* paths start with '/' */
      if (strcmp(root, "/") == 0) root[0] = 0;              /* "/" + "/path" */
    } else if (strcmp(a, "--max-conns") == 0) {
      max_conns = strtol(v, &end, 10);
      if (*v == 0 || *end != 0 || max_conns < 1) return usage_error("--max-conns: not a positive number", v);
    } else if (strcmp(a, "--cert") == 0) {
      cert_path = v;
    } else if (strcmp(a, "--key") == 0) {
      key_path = v;
    } else {
      log_path = v;
    }
  }
  if ((cert_path == NULL) != (key_path == NULL)) {
    fprintf(stderr, "wasio-serve: --cert and --key go together\n");
    return 2;
  }
  wasio_addr_t addr;
  if (wasio_addr_parse(addr_s, (uint16_t)port, &addr) < 0) return usage_error("--addr: not an IP address", addr_s);
  wasio_tls_config_t *tls = NULL;
  if (cert_path != NULL && (tls = load_tls(cert_path, key_path)) == NULL) return 1;
  if (check_root() < 0) return 1;
  if (log_path != NULL) {
    log_file = strcmp(log_path, "-") == 0 ? stderr : fopen(log_path, "a");
    if (log_file == NULL) {
      fprintf(stderr, "wasio-serve: cannot open the log %s: %s\n", log_path, strerror(errno));
      return 1;
    }
    setvbuf(log_file, NULL, _IOLBF, 0); /* one write per line: a tail -f shows each request */
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
#ifdef __wasi__
    if (rc == WASIO_EACCES)
      fprintf(stderr, "wasio-serve: the host did not grant network access: run it with tools/wasio-run --net\n"
                      "  (wasmtime run -S inherit-network=y)\n");
#endif
    return 1;
  }
  printf("%u\n", (unsigned)bound.port);
  fflush(stdout);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  return rc < 0 ? 1 : 0;
}
