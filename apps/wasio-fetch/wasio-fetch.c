/* apps/wasio-fetch: a curl-like HTTP client component on wasio.
 *
 * A drop-in for what curl users type daily: the same options (fetch.h lists
 * the files; options.c the syntax), the same output on stdout (the body,
 * -i heads, -w), the same exit codes (man curl, EXIT CODES: fetch.h), and
 * error messages worded like curl's: "wasio-fetch: (7) Failed to connect
 * to HOST port N: connection refused". The exit status is the code natively
 * and in a component too: the program entry hands it to the host with
 * wasi:cli/exit exit-with-code (src/backend/wasip2/crt/start.c), which
 * wasmtime 49 and jco have.
 *
 * How a transfer runs
 * - An attempt is one run from the first URL; --retry repeats it after a
 *   transient failure (curl's rules: run_with_retries()).
 * - An attempt is a chain of hops: one request and its response each. -L
 *   follows redirects here, not in the HTTP client (max_redirects 0), so
 *   every hop's head is seen (-i and -v print each, as curl does) and the
 *   same code drives the proxy path; curl's method rules apply (follow()).
 * - A hop goes either through the HTTP client of wasio/http.h (the direct
 *   path: connection pool, TLS) or, with -x, through proxy.c. Both report the
 *   same four events: fetch_on_request_head/_head/_body/_done. Anything
 *   decided while a hop runs (-f on a 404, a write error, a bad encoding)
 *   ends it through hop_abort() with the exit code kept in f->abort_code.
 * - One loop, one client; --max-time is one timer per attempt (so it covers
 *   the redirects), which also sleeps between retries.
 *
 * TLS backend (--tls-backend, wasio/tls_host.h), resolved before anything is
 * opened or fetched:
 *   guest  mbedTLS in the component (every host); the only backend that can
 *          honour --cacert and -k.
 *   host   the host's wasi:tls: the host decides what it trusts. Only in the
 *          second build, build/wasm32/apps/wasio-fetch-hosttls.wasm
 *          (wasio-cc --host-tls), which runs only where the host offers
 *          wasi:tls (tools/wasio-run --tls, --host tlshost). Elsewhere it is
 *          error (4), curl's "not built in"; with --cacert or -k it is a
 *          usage error (2), since the draft wasi:tls takes no CA and cannot
 *          skip verification.
 *   auto   (the default) host in the host-TLS build unless --cacert or -k
 *          is given, guest otherwise: the HTTP client's AUTO rule (http.h).
 * -v prints the choice and its reason on stderr ("* TLS backend: ...").
 *
 * Transport (--transport, wasio/http.h's wasio_http_transport_t), resolved
 * first:
 *   sockets  the HTTP client's HTTP/1.1 over wasio TCP (wasi:sockets in a
 *            component: it needs network access).
 *   host     every hop handed to the host's HTTP client (wasi:http
 *            outgoing-handler): no socket permission at all, the host
 *            connects and does TLS. Only in the third build,
 *            build/wasm32/apps/wasio-fetch-http.wasm (wasio-cc --http),
 *            which runs with `wasmtime run -S http`; elsewhere error (4).
 *            It cannot take -x (the proxy path is TCP), --cacert, -k,
 *            --tls-backend (the host's TLS decides) or -H Host (the host
 *            sends the URL's authority): usage error (2).
 *   auto     (the default) host in the wasi:http build unless one of those
 *            is given, sockets otherwise.
 * -v prints it ("* Transport: ..."); the exit codes are the same on both
 * for the same failure (the HTTP client's error codes are).
 *
 * Where wasio-fetch differs from curl 7.88, on purpose: -d @FILE with a
 * FILE that cannot be read is error 26 (curl sends an empty body); a
 * response the codec refuses as ambiguous (bare LF, two different
 * Content-Length values, obs-fold: RFC 9112's smuggling vectors) is error 8
 * where curl may accept it; a chunk extension outside RFC 9112's grammar
 * is error 56, curl's code for malformed chunked encoding (curl skips
 * extensions unread and exits 0); a --compressed body whose compressed
 * stream stops short is error 61 (curl exits 0 after the same bytes); -H with
 * CR/LF is refused (2), not sent; HTTP/1.1 only; no prompt for a password
 * (-u USER alone is error 2).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/libc-find-relpath.h> /* (after stdlib.h: it needs size_t) */
#endif

#include "fetch.h"

/* ---- messages -------------------------------------------------------------- */

int fetch_fail(fetch_t *f, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->errmsg, sizeof f->errmsg, fmt, ap);
  va_end(ap);
  /* The meter's last line comes first, as in curl. */
  progress_update(f, true);
  if (!f->silent || f->show_error) fprintf(stderr, "wasio-fetch: (%d) %s\n", code, f->errmsg);
  return code;
}

#ifdef __wasi__
/* Whether a directory the host preopened holds `path`: wasi-libc answers
 * ENOENT both for a missing file and for a path no preopen holds. */
static bool path_preopened(const char *path) {
  const char *prefix;
  char buf[256], *rel = buf;
  int saved = errno;
  bool held = __wasilibc_find_relpath(path, &prefix, &rel, sizeof buf) >= 0 || errno == ERANGE;
  errno = saved;
  return held;
}
#endif

const char *fetch_path_hint(const char *path, int err) {
#ifdef __wasi__
  /* A path outside the preopened directory, or no directory at all. */
  if (err == ENOTCAPABLE || (err == ENOENT && (path[0] == '/' || !path_preopened(path))))
    return " (the component sees only the directory the host preopened, as \".\": run with "
           "tools/wasio-run --dir DIR (wasmtime --dir DIR::.) and give a path inside DIR, relative to it)";
#endif
  (void)path;
  (void)err;
  return "";
}

#ifdef __wasi__
#define NET_DENIED_HINT                                                                                       \
  " (network access denied by the host: run with tools/wasio-run --net, i.e. wasmtime -S inherit-network " \
  "-S allow-ip-name-lookup)"
#define DNS_DENIED_HINT                                                                                    \
  " (in a component this is also what a host that grants no name lookup says: run with tools/wasio-run " \
  "--net, i.e. wasmtime -S allow-ip-name-lookup)"
#else
#define NET_DENIED_HINT ""
#define DNS_DENIED_HINT ""
#endif

static bool is_chunk_error(int err) {
  return err == WASIO_EHTTP_BAD_CHUNK_SIZE || err == WASIO_EHTTP_CHUNK_SIZE_OVERFLOW ||
         err == WASIO_EHTTP_BAD_CHUNK_EXT || err == WASIO_EHTTP_CHUNK_LINE_TOO_LONG ||
         err == WASIO_EHTTP_CHUNK_NO_CRLF;
}

/* curl's exit code for how a transfer failed, by the error's class
 * (wasio/error.h), with curl's finer distinctions inside a class: a
 * network failure is "couldn't connect" (7) unless it broke a connection
 * that was up (reset, aborted: 56; a write after the peer stopped: 55); a
 * certificate is 60 unless a pin refused it (90); a TLS stream cut short,
 * or one whose keys the peer updated (which mbedTLS 3.6 cannot follow),
 * is a failed receive (56), as in curl. */
int fetch_error(fetch_t *f, int err, bool proxy) {
  const hop_t *h = &f->hop;
  char host[WASIO_URL_MAX_HOST + 1];
  unsigned port = proxy ? f->proxy_port : h->u.port;
  snprintf(host, sizeof host, "%.*s", proxy ? (int)strlen(f->proxy_host) : (int)h->u.host.len,
           proxy ? f->proxy_host : h->u.host.ptr);
  const char *what = wasio_strerror(err);
  switch (wasio_err_class(err)) {
  case WASIO_ERRCLASS_DNS:
    return fetch_fail(f, proxy ? EXIT_COULDNT_RESOLVE_PROXY : EXIT_COULDNT_RESOLVE_HOST, "Could not resolve %s: %s (%s)%s",
                      proxy ? "proxy" : "host", host, what, err == WASIO_EDNSFAIL ? DNS_DENIED_HINT : "");
  case WASIO_ERRCLASS_NETWORK:
    if (err == WASIO_EPIPE) return fetch_fail(f, EXIT_SEND_ERROR, "Failed sending data to the peer (%s)", what);
    if (err == WASIO_ECONNRESET || err == WASIO_ECONNABORTED)
      return fetch_fail(f, EXIT_RECV_ERROR, "Failure when receiving data from the peer (%s)", what);
    return fetch_fail(f, EXIT_COULDNT_CONNECT, "Failed to connect to %s%s port %u: %s%s", proxy ? "proxy " : "", host,
                      port, what, err == WASIO_EACCES ? NET_DENIED_HINT : "");
  case WASIO_ERRCLASS_TIMEOUT:
    return fetch_fail(f, EXIT_OPERATION_TIMEDOUT, "Operation timed out %s %s port %u with %llu bytes received",
                      h->got_head ? "reading from" : "connecting to", host, port,
                      (unsigned long long)h->body_bytes);
  case WASIO_ERRCLASS_TLS_CERT:
    if (err == WASIO_ETLS_CERT_PIN)
      return fetch_fail(f, EXIT_SSL_PINNEDPUBKEYNOTMATCH, "SSL public key does not match pinned public key (%s)", what);
    return fetch_fail(f, EXIT_PEER_FAILED_VERIFICATION, "SSL certificate problem: %s (%s)", what, host);
  case WASIO_ERRCLASS_TLS:
    if (err == WASIO_ETLS_TRUNCATED || err == WASIO_ETLS_KEY_UPDATE)
      return fetch_fail(f, EXIT_RECV_ERROR, "Failure when receiving data from the peer (%s)", what);
    return fetch_fail(f, EXIT_SSL_CONNECT_ERROR, "SSL connect error with %s port %u: %s", host, port, what);
  case WASIO_ERRCLASS_HTTP:
    if (err == WASIO_EHTTP_TRUNCATED) {
      if (!h->got_head) return fetch_fail(f, EXIT_GOT_NOTHING, "Empty reply from server");
      if (h->has_length)
        return fetch_fail(f, EXIT_PARTIAL_FILE, "transfer closed with %llu bytes remaining to read",
                          (unsigned long long)(h->content_length - h->body_bytes));
      return fetch_fail(f, EXIT_PARTIAL_FILE, "transfer closed with outstanding read data remaining");
    }
    if (is_chunk_error(err)) return fetch_fail(f, EXIT_RECV_ERROR, "Malformed chunked encoding: %s", what);
    if (!h->got_head && (err == WASIO_EHTTP_BAD_VERSION || err == WASIO_EHTTP_BAD_STATUS))
      return fetch_fail(f, EXIT_UNSUPPORTED_PROTOCOL, "Unsupported HTTP version or status line in response: %s",
                        what);
    return fetch_fail(f, EXIT_WEIRD_SERVER_REPLY, "Weird server reply: %s", what);
  case WASIO_ERRCLASS_RESOURCE:
    if (err == WASIO_ENOMEM) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
    break;
  default: /* the stream's end, an I/O error, anything else: the receive failed */
    break;
  }
  return fetch_fail(f, EXIT_RECV_ERROR, "Failure when receiving data from the peer (%s)", what);
}

/* ---- output --------------------------------------------------------------------- */

/* The body's file, opened at the first byte (-o/-O), as curl does: a
 * transfer that fails before any byte leaves no file. */
static FILE *out_open(fetch_t *f) {
  if (f->out != NULL || f->open_errno != 0) return f->out;
  f->out = fopen(f->out_name, f->out_append ? "ab" : "wb");
  if (f->out == NULL) {
    f->open_errno = errno;
    f->write_failed = true;
  }
  return f->out;
}

static bool out_write(fetch_t *f, const void *p, size_t n) {
  FILE *out = out_open(f);
  if (out == NULL || fwrite(p, 1, n, out) != n) {
    f->write_failed = true;
    return false;
  }
  return true;
}

static int write_error(fetch_t *f) {
  if (f->open_errno != 0)
    return fetch_fail(f, EXIT_WRITE_ERROR, "Failed to open %s for writing: %s%s", f->out_name, strerror(f->open_errno),
                      fetch_path_hint(f->out_name, f->open_errno));
  return fetch_fail(f, EXIT_WRITE_ERROR, "Failure writing output to destination");
}

/* Ends the hop with `code` (its message already printed). */
static void hop_abort(fetch_t *f, int code) {
  if (f->abort_code == 0) f->abort_code = code;
  if (f->call != NULL) (void)wasio_http_call_cancel(f->call);
  else if (f->ph != NULL) proxy_hop_cancel(f->ph);
}

bool fetch_write_body(fetch_t *f, const void *data, size_t len) {
  if (f->abort_code != 0) return false;
  if (!out_write(f, data, len)) {
    hop_abort(f, write_error(f));
    return false;
  }
  f->out_bytes += len;
  return true;
}

/* ---- the hop's events --------------------------------------------------------------- */

void fetch_on_request_head(fetch_t *f, const char *head, size_t len) {
  if (f->verbose) verbose_lines("> ", head, len);
}

/* What a redirect does to the request (wasio_http_redirect_method()); the
 * request is a POST in curl's sense when it sends -d data (not -G), whatever
 * -X names: curl's rule is about the kind of request, the -X method stays. */
static wasio_http_redirect_t redirect_kind(const fetch_t *f, int status) {
  const hop_t *h = &f->hop;
  bool post = h->with_body && f->has_data && !f->data_get;
  const char *m = post ? "POST" : h->method;
  return wasio_http_redirect_method(status, (wasio_http_str_t){m, strlen(m)});
}

/* The head as text ("HTTP/1.1 200 OK\r\n" fields "\r\n"), as -i prints it. */
static char *head_text(const wasio_http_response_t *res, size_t *len) {
  size_t n = 32 + res->reason.len;
  for (size_t i = 0; i < res->num_headers; i++) n += res->headers[i].name.len + res->headers[i].value.len + 4;
  char *s = malloc(n + 3);
  if (s == NULL) return NULL;
  size_t k = (size_t)snprintf(s, n, "HTTP/1.%d %d%s%.*s\r\n", res->version_minor, res->status,
                              res->reason.len ? " " : "", (int)res->reason.len, res->reason.ptr ? res->reason.ptr : "");
  for (size_t i = 0; i < res->num_headers; i++)
    k += (size_t)snprintf(s + k, n + 3 - k, "%.*s: %.*s\r\n", (int)res->headers[i].name.len, res->headers[i].name.ptr,
                          (int)res->headers[i].value.len, res->headers[i].value.ptr);
  memcpy(s + k, "\r\n", 3);
  *len = k + 2;
  return s;
}

static const wasio_http_header_t *find(const wasio_http_response_t *res, const char *name) {
  size_t pos = 0;
  int i = wasio_http_find_header(res->headers, res->num_headers, name, &pos);
  return i < 0 ? NULL : &res->headers[i];
}

/* The resolved Location of `res` (malloc'd), or NULL. */
static char *location_of(const fetch_t *f, const wasio_http_response_t *res) {
  const wasio_http_header_t *loc = find(res, "location");
  if (loc == NULL) return NULL;
  size_t cap = strlen(f->hop.url) + loc->value.len + 2; /* wasio_url_resolve's bound */
  char *s = malloc(cap);
  if (s != NULL && wasio_url_resolve(f->hop.url, &f->hop.u, loc->value, s, cap) < 0) {
    free(s);
    s = NULL;
  }
  return s;
}

void fetch_on_head(fetch_t *f, const wasio_http_response_t *res) {
  hop_t *h = &f->hop;
  h->got_head = true;
  h->status = res->status;
  f->http_code = res->status;
  h->has_length = res->framing.has_content_length && !(h->method && !strcmp(h->method, "HEAD"));
  h->content_length = res->framing.content_length;
  const wasio_http_header_t *ct = find(res, "content-type");
  snprintf(f->content_type, sizeof f->content_type, "%.*s", ct ? (int)ct->value.len : 0, ct ? ct->value.ptr : "");
  /* Retry-After in seconds; the HTTP-date form is not read (the backoff applies). */
  const wasio_http_header_t *ra = find(res, "retry-after");
  f->retry_after_s = -1;
  if (ra != NULL && ra->value.len > 0 && ra->value.len <= 6) {
    int v = 0;
    for (size_t i = 0; i < ra->value.len && v >= 0; i++)
      v = ra->value.ptr[i] >= '0' && ra->value.ptr[i] <= '9' ? v * 10 + (ra->value.ptr[i] - '0') : -1;
    f->retry_after_s = v;
  }
  size_t len = 0;
  char *text = head_text(res, &len);
  if (text == NULL) {
    hop_abort(f, fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory"));
    return;
  }
  free(f->last_head);
  f->last_head = text;
  f->size_header += len;
  if (f->verbose) verbose_lines("< ", text, len);
  for (size_t pos = 0;;) {
    int i = wasio_http_find_header(res->headers, res->num_headers, "set-cookie", &pos);
    if (i < 0) break;
    cookies_set(&f->jar, &h->u, res->headers[i].value);
  }
  free(f->redirect_url);
  f->redirect_url = NULL;
  if (redirect_kind(f, res->status) != WASIO_HTTP_REDIRECT_NONE) {
    char *loc = location_of(f, res);
    if (f->follow && find(res, "location") != NULL) {
      h->redirect = true;
      h->discard = true;
      h->location = loc;
      if (loc == NULL) {
        hop_abort(f, fetch_fail(f, EXIT_URL_MALFORMAT, "Bad Location in a %d redirect", res->status));
        return;
      }
    } else {
      f->redirect_url = loc;
    }
  }
  if (f->dump != NULL && fwrite(text, 1, len, f->dump) != len) {
    hop_abort(f, fetch_fail(f, EXIT_WRITE_ERROR, "Failed writing the heads to %s", f->dump_header));
    return;
  }
  if ((f->include || f->head) && !out_write(f, text, len)) {
    hop_abort(f, write_error(f));
    return;
  }
  if (h->redirect) return;
  /* -C: the answers to a Range request, curl's way. */
  if (f->resume_offset > 0) {
    if (res->status == 416) {
      h->discard = true; /* nothing (more) to get: the file stays as it is */
      return;
    }
    if (res->status == 206) {
      f->out_append = true;
    } else if (res->status >= 200 && res->status < 300) {
      if (h->has_length && h->content_length == f->resume_offset) {
        h->discard = true; /* "the entire document is already downloaded" */
        return;
      }
      hop_abort(f, fetch_fail(f, EXIT_RANGE_ERROR, "HTTP server doesn't seem to support byte ranges. Cannot resume."));
      return;
    }
  }
  if (res->status >= 400 && f->fail_http && !f->fail_with_body) {
    hop_abort(f, fetch_fail(f, EXIT_HTTP_RETURNED_ERROR, "The requested URL returned error: %d", res->status));
    return;
  }
  if (f->compressed && !h->discard) {
    const wasio_http_header_t *ce = find(res, "content-encoding");
    bool active = false;
    if (ce != NULL && decoder_init(&f->dec, ce->value, &active) != 0) {
      hop_abort(f, fetch_fail(f, EXIT_BAD_CONTENT_ENCODING,
                              "Unrecognized content encoding type '%.*s'. wasio-fetch understands deflate, gzip "
                              "content encodings.",
                              (int)ce->value.len, ce->value.ptr));
      return;
    }
    h->decode = active;
  }
}

void fetch_on_proxy_head(fetch_t *f, const wasio_http_response_t *res) {
  size_t len = 0;
  char *text = head_text(res, &len);
  if (text == NULL) return;
  f->size_header += len;
  if (f->verbose) verbose_lines("< ", text, len);
  if (f->include && !out_write(f, text, len)) hop_abort(f, write_error(f));
  free(text);
}

void fetch_on_body(fetch_t *f, const void *data, size_t len) {
  hop_t *h = &f->hop;
  h->body_bytes += len;
  if (!h->discard) {
    f->size_download += len;
    if (h->decode) {
      const char *why = NULL;
      if (decoder_feed(&f->dec, f, data, len, &why) != 0) {
        hop_abort(f, fetch_fail(f, EXIT_BAD_CONTENT_ENCODING, "Error while processing content unencoding: %s", why));
        return;
      }
    } else if (!fetch_write_body(f, data, len)) {
      return;
    }
  }
  progress_update(f, false);
}

void fetch_on_done(fetch_t *f, int status) {
  f->hop_done = true;
  f->hop_status = status;
}

ptrdiff_t fetch_body_read(fetch_t *f, void *buf, size_t cap) {
  body_src_t *b = &f->body;
  size_t n = fread(buf, 1, cap, b->fp);
  if (n == 0 && cap > 0) {
    if (f->abort_code == 0)
      f->abort_code = fetch_fail(f, EXIT_READ_ERROR, "Failed to read %s (%s)", b->path,
                                 ferror(b->fp) ? strerror(errno) : "it is shorter than it was at the start");
    return WASIO_EIO;
  }
  f->size_upload += n;
  progress_update(f, false);
  return (ptrdiff_t)n;
}

/* ---- the direct path: wasio/http.h -------------------------------------------------- */

static void call_on_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  fetch_on_head(wasio_http_call_data(call), res);
}
static void call_on_body(wasio_http_call_t *call, const void *data, size_t len) {
  fetch_on_body(wasio_http_call_data(call), data, len);
}
static void call_on_done(wasio_http_call_t *call, int status) {
  fetch_t *f = wasio_http_call_data(call);
  f->call = NULL;
  fetch_on_done(f, status);
}
static ptrdiff_t call_body_read(wasio_http_call_t *call, void *buf, size_t cap) {
  return fetch_body_read(wasio_http_call_data(call), buf, cap);
}

/* Errors of wasio_http_call_start: they are about the request. */
static int start_error(fetch_t *f, int rc) {
  /* A refusal known at once (a host that grants no socket refuses its
   * creation): what the same refusal later would be. */
  wasio_err_class_t cls = wasio_err_class(rc);
  if (cls == WASIO_ERRCLASS_NETWORK || cls == WASIO_ERRCLASS_DNS) return fetch_error(f, rc, f->proxy_host != NULL);
  if (rc == WASIO_EURL_SCHEME) return fetch_fail(f, EXIT_UNSUPPORTED_PROTOCOL, "Protocol not supported: %s", f->hop.url);
  if (wasio_err_class(rc) == WASIO_ERRCLASS_URL)
    return fetch_fail(f, EXIT_URL_MALFORMAT, "URL using bad/illegal format or missing URL: %s (%s)", f->hop.url,
                      wasio_strerror(rc));
  switch (rc) {
  case WASIO_EHTTP_BAD_HEADER_NAME: case WASIO_EHTTP_BAD_HEADER_VALUE:
    return fetch_fail(f, EXIT_INIT, "invalid header: %s (a CR, LF or NUL would inject fields)", wasio_strerror(rc));
  case WASIO_EINVAL:
    return fetch_fail(f, EXIT_INIT,
                      "invalid request: bad method '%s', CONNECT, or a Content-Length/Transfer-Encoding field "
                      "(wasio-fetch frames the body itself)",
                      f->hop.method);
  case WASIO_ELIMIT:
    return fetch_fail(f, EXIT_INIT, "the request head is too large (%s)", wasio_strerror(rc));
  case WASIO_EHTTP_FORBIDDEN_HEADER:
    return fetch_fail(f, EXIT_INIT,
                      "a -H field the host reserves over wasi:http (Host, Connection, Keep-Alive, "
                      "Proxy-Connection, Upgrade, HTTP2-Settings): use --transport sockets to send it");
  case WASIO_ENOMEM:
    return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
  default:
    return fetch_fail(f, EXIT_INTERNAL, "cannot start the request: %s", wasio_strerror(rc));
  }
}

static int direct_start(fetch_t *f) {
  hop_t *h = &f->hop;
  wasio_http_call_opts_t o = {
      .method = h->method,
      .url = h->url,
      .headers = h->fields,
      .num_headers = h->nfields,
      .max_redirects = 0, /* followed here: see the top of the file */
      .timeouts = {.connect_ns = f->connect_ns},
      .data = f,
      .on_response = call_on_response,
      .on_body = call_on_body,
      .on_done = call_on_done,
  };
  if (h->with_body && f->body.fp != NULL) {
    o.body_read = call_body_read;
    o.body_length = (int64_t)f->body.file_len;
  } else if (h->with_body) {
    o.body = f->body.mem;
    o.body_len = f->body.mem_len;
    f->size_upload += f->body.mem_len;
  }
  if (f->verbose) fprintf(stderr, "*   Trying %.*s:%u...\n", (int)h->u.host.len, h->u.host.ptr, h->u.port);
  int rc = wasio_http_call_start(f->client, &o, &f->call);
  if (rc != 0) {
    f->call = NULL;
    return start_error(f, rc);
  }
  wasio_http_str_t head = wasio_http_call_request_head(f->call);
  fetch_on_request_head(f, head.ptr, head.len);
  return 0;
}

/* ---- the request of a hop ------------------------------------------------------------ */

static bool same_origin(const wasio_url_t *a, const wasio_url_t *b) {
  return a->https == b->https && a->port == b->port && a->host.len == b->host.len &&
         strncasecmp(a->host.ptr, b->host.ptr, a->host.len) == 0;
}

static bool name_is(const char *field, size_t nl, const char *name) {
  return nl == strlen(name) && strncasecmp(field, name, nl) == 0;
}

/* How -H treats a field name: 0 not given, 1 replaced ("Name: v" or
 * "Name;"), 2 removed ("Name:"). */
static int user_field(const fetch_t *f, const char *name) {
  for (size_t i = 0; i < f->n_user_headers; i++) {
    const char *hd = f->user_headers[i];
    size_t nl = strcspn(hd, ":;");
    if (!name_is(hd, nl, name)) continue;
    if (hd[nl] == ';') return 1;
    const char *v = hd + nl + 1;
    while (*v == ' ' || *v == '\t') v++;
    return *v == 0 ? 2 : 1;
  }
  return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "Basic " + base64(s) at p; returns its length. */
static size_t basic_auth(char *p, const char *s) {
  size_t n = strlen(s), k = 0;
  memcpy(p, "Basic ", 6);
  k = 6;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned char)s[i] << 16 | (i + 1 < n ? (unsigned char)s[i + 1] << 8 : 0) |
                 (i + 2 < n ? (unsigned char)s[i + 2] : 0);
    p[k++] = b64[v >> 18 & 63];
    p[k++] = b64[v >> 12 & 63];
    p[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
    p[k++] = i + 2 < n ? b64[v & 63] : '=';
  }
  p[k] = 0;
  return k;
}

static size_t basic_auth_len(const char *s) { return 6 + (strlen(s) + 2) / 3 * 4 + 1; }

/* The fields of the current hop, in curl's order: Host, Authorization,
 * Range, User-Agent, Accept, Accept-Encoding, Referer, Cookie,
 * Proxy-Authorization (absolute-form through a proxy), then the -H fields,
 * then Content-Type. A -H field of the same name replaces ours; "Name:"
 * removes it. Credentials (-u, and -H Authorization or Cookie) go only to
 * the origin of the first URL. */
static int build_fields(fetch_t *f, const wasio_url_t *first, const char *referer) {
  hop_t *h = &f->hop;
  bool home = same_origin(first, &h->u);
  bool via_proxy_plain = f->proxy_host != NULL && !h->u.https && !f->proxytunnel;
  size_t mem = 64 + FETCH_MAX_COOKIE_FIELD + (referer ? strlen(referer) + 1 : 0) +
               (f->userpwd ? basic_auth_len(f->userpwd) : 0) + (f->proxy_auth ? 1 : 0);
  free(h->field_mem);
  h->field_mem = malloc(mem);
  if (h->field_mem == NULL) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
  char *p = h->field_mem;
  size_t n = 0;
#define ADD(nm, val, vlen)                                                                                      \
  do {                                                                                                          \
    h->fields[n].name = (wasio_http_str_t){(nm), strlen(nm)};                                                   \
    h->fields[n].value = (wasio_http_str_t){(val), (vlen)};                                                     \
    n++;                                                                                                        \
  } while (0)
  /* Host comes first, also a -H one (curl's order). */
  const char *user_host = NULL;
  for (size_t i = 0; i < f->n_user_headers; i++)
    if (name_is(f->user_headers[i], strcspn(f->user_headers[i], ":;"), "Host")) user_host = f->user_headers[i];
  if (f->transport_used == WASIO_HTTP_TRANSPORT_HOST) {
    /* The host sends the URL's authority as Host (choose_transport refused
     * a -H Host for this transport). */
  } else if (user_host == NULL) {
    ADD("Host", h->u.authority.ptr, h->u.authority.len);
  } else if (user_field(f, "Host") == 1) {
    size_t nl = strcspn(user_host, ":;");
    const char *v = user_host[nl] == ';' ? "" : user_host + nl + 1;
    while (*v == ' ' || *v == '\t') v++;
    h->fields[n].name = (wasio_http_str_t){user_host, nl};
    h->fields[n].value = (wasio_http_str_t){v, strlen(v)};
    n++;
  }
  if (f->userpwd && home && !user_field(f, "Authorization")) {
    size_t l = basic_auth(p, f->userpwd);
    ADD("Authorization", p, l);
    p += l + 1;
  }
  if (f->resume_offset > 0 && !user_field(f, "Range")) {
    int l = snprintf(p, 32, "bytes=%llu-", (unsigned long long)f->resume_offset);
    ADD("Range", p, (size_t)l);
    p += l + 1;
  }
  const char *ua = f->user_agent ? f->user_agent : "wasio-fetch/" WASIO_VERSION_STRING;
  if (ua[0] && !user_field(f, "User-Agent")) ADD("User-Agent", ua, strlen(ua));
  if (!user_field(f, "Accept")) ADD("Accept", "*/*", 3);
  if (f->compressed && !user_field(f, "Accept-Encoding")) ADD("Accept-Encoding", "deflate, gzip", 13);
  if (referer && referer[0] && !user_field(f, "Referer")) ADD("Referer", referer, strlen(referer));
  size_t cl = cookies_header(&f->jar, &h->u, p, FETCH_MAX_COOKIE_FIELD);
  if (cl > 0 && !user_field(f, "Cookie")) {
    ADD("Cookie", p, cl);
    p += cl + 1;
  }
  if (via_proxy_plain && f->proxy_auth && !user_field(f, "Proxy-Authorization"))
    ADD("Proxy-Authorization", f->proxy_auth, strlen(f->proxy_auth));
  for (size_t i = 0; i < f->n_user_headers; i++) {
    const char *hd = f->user_headers[i];
    size_t nl = strcspn(hd, ":;");
    const char *v = hd + nl + 1;
    while (*v == ' ' || *v == '\t') v++;
    if (hd[nl] == ':' && *v == 0) continue; /* "Name:" only removes */
    if (hd[nl] == ';') v = "";              /* "Name;" is the field, empty */
    if (!home && (name_is(hd, nl, "Authorization") || name_is(hd, nl, "Cookie"))) continue;
    if (name_is(hd, nl, "Host")) continue; /* placed first, above */
    h->fields[n].name = (wasio_http_str_t){hd, nl};
    h->fields[n].value = (wasio_http_str_t){v, strlen(v)};
    n++;
  }
  if (h->with_body && f->has_data && !user_field(f, "Content-Type"))
    ADD("Content-Type", "application/x-www-form-urlencoded", 33);
#undef ADD
  h->nfields = n;
  return 0;
}

/* ---- hops, redirects, attempts ----------------------------------------------------------- */

/* --max-time: ends the running hop; a deadline that passes between two
 * hops (in the turn that ended the first) stops the next before it starts. */
static void timer_cb(wasio_timer_t *t) {
  fetch_t *f = wasio_timer_data(t);
  f->deadline_passed = true;
  if (!f->hop_done) {
    f->timed_out = true;
    hop_abort(f, 0);
  }
}

static int fail_timeout(fetch_t *f) {
  return fetch_fail(f, EXIT_OPERATION_TIMEDOUT, "Operation timed out after %llu milliseconds with %llu bytes received",
                    (unsigned long long)(f->max_time_ns / WASIO_NS_PER_MS), (unsigned long long)f->size_download);
}

/* Runs the current hop to its end; returns 0 or the exit code. */
static int hop_run(fetch_t *f, const wasio_url_t *first, const char *referer) {
  if (f->deadline_passed) return fail_timeout(f);
  int code = build_fields(f, first, referer);
  if (code != 0) return code;
  f->hop_done = false;
  f->hop_status = 0;
  bool proxied = f->proxy_host != NULL;
  if (proxied) {
    int rc = proxy_hop_start(f);
    if (rc != 0) return rc == WASIO_ENOMEM ? fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory") : start_error(f, rc);
  } else if ((code = direct_start(f)) != 0) {
    return code;
  }
  while (!f->hop_done) {
    if (wasio_loop_run(f->loop, WASIO_RUN_ONCE) <= 0 && !f->hop_done)
      return fetch_fail(f, EXIT_INTERNAL, "the event loop ran out of work before the transfer ended");
  }
  if (f->abort_code != 0) return f->abort_code;
  if (f->timed_out) return fail_timeout(f);
  if (f->hop_status != 0) return fetch_error(f, f->hop_status, f->err_at_proxy);
  if (f->hop.decode) {
    const char *why = NULL;
    if (decoder_finish(&f->dec, &why) != 0)
      return fetch_fail(f, EXIT_BAD_CONTENT_ENCODING, "Error while processing content unencoding: %s", why);
  }
  return 0;
}

static void hop_reset_response(hop_t *h) {
  free(h->location);
  free(h->field_mem);
  h->location = NULL;
  h->field_mem = NULL;
  h->got_head = h->redirect = h->discard = h->decode = h->has_length = false;
  h->status = 0;
  h->content_length = h->body_bytes = 0;
}

/* Follows the current hop's redirect (curl's rules); 0 or an exit code. */
static int follow(fetch_t *f, char **referer) {
  hop_t *h = &f->hop;
  if (f->max_redirs >= 0 && f->num_redirects >= f->max_redirs)
    return fetch_fail(f, EXIT_TOO_MANY_REDIRECTS, "Maximum (%ld) redirects followed", f->max_redirs);
  char *next = h->location;
  h->location = NULL;
  wasio_url_t nu;
  int rc = wasio_url_parse(next, strlen(next), &nu);
  if (rc != 0) {
    int code = rc == WASIO_EURL_SCHEME
                   ? fetch_fail(f, EXIT_UNSUPPORTED_PROTOCOL, "Protocol \"%.*s\" not supported (redirect to %s)",
                                (int)strcspn(next, ":"), next, next)
                   : fetch_fail(f, EXIT_URL_MALFORMAT, "URL using bad/illegal format: redirect to %s (%s)", next,
                                wasio_strerror(rc));
    free(next);
    return code;
  }
  /* A GET after the rule (wasio_http_redirect_method): a -X method stays
   * (curl's documented caveat), only the body goes. */
  if (redirect_kind(f, h->status) == WASIO_HTTP_REDIRECT_GET) {
    h->method = f->method ? f->method : "GET";
    h->with_body = false;
  }
  if (f->referer_auto) {
    free(*referer);
    *referer = strdup(h->url);
  }
  free(h->url);
  h->url = next;
  h->u = nu;
  f->num_redirects++;
  if (h->with_body && f->body.fp != NULL && fseek(f->body.fp, 0, SEEK_SET) != 0)
    return fetch_fail(f, EXIT_READ_ERROR, "Cannot rewind %s to send it again after a %d", f->body.path, h->status);
  return 0;
}

/* The method of the first hop. */
static const char *first_method(const fetch_t *f) {
  if (f->method) return f->method;
  if (f->head) return "HEAD";
  if (f->upload) return "PUT";
  if (f->has_data && !f->data_get) return "POST";
  return "GET";
}

/* Size of the -o file for -C - (0 when there is none). */
static uint64_t existing_size(const char *path) {
  FILE *fp = path ? fopen(path, "rb") : NULL;
  if (fp == NULL) return 0;
  long n = fseek(fp, 0, SEEK_END) == 0 ? ftell(fp) : 0;
  fclose(fp);
  return n > 0 ? (uint64_t)n : 0;
}

/* One attempt from the first URL; returns 0 or the exit code. */
static int attempt(fetch_t *f) {
  hop_t *h = &f->hop;
  hop_reset_response(h);
  free(h->url);
  h->url = strdup(f->url);
  if (h->url == NULL) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
  (void)wasio_url_parse(h->url, strlen(h->url), &h->u); /* checked in prepare() */
  wasio_url_t first; /* views into f->url, which outlives the hops */
  (void)wasio_url_parse(f->url, strlen(f->url), &first);
  h->method = first_method(f);
  h->with_body = (f->has_data && !f->data_get) || f->upload != NULL;
  f->num_redirects = 0;
  f->http_code = 0;
  f->content_type[0] = 0;
  f->size_download = f->size_header = f->size_upload = 0;
  f->abort_code = 0;
  f->timed_out = f->deadline_passed = false;
  f->errmsg[0] = 0;
  f->err_at_proxy = false;
  f->retry_after_s = -1;
  f->out_bytes = 0;
  f->out_append = false;
  f->resume_offset = f->resume_auto ? existing_size(f->out_name) : f->resume_from > 0 ? (uint64_t)f->resume_from : 0;
  if (f->resume_offset > 0 && f->out_name != NULL) f->out_append = true;
  if (f->body.fp != NULL && fseek(f->body.fp, 0, SEEK_SET) != 0)
    return fetch_fail(f, EXIT_READ_ERROR, "Cannot rewind %s", f->body.path);
  char *referer = f->referer ? strndup(f->referer, strlen(f->referer) - (f->referer_auto ? 5 : 0)) : NULL;
  f->t_start = wasio_monotonic_ns();
  progress_begin(f);
  progress_update(f, false); /* the all-zero first line, as curl */
  if (f->max_time_ns) (void)wasio_timer_start(f->timer, timer_cb, f->max_time_ns, 0);
  int code;
  for (;;) {
    decoder_free(&f->dec);
    code = hop_run(f, &first, referer);
    if (code != 0 || !h->redirect) break;
    code = follow(f, &referer);
    if (code != 0) break;
    hop_reset_response(h);
    (void)wasio_url_parse(h->url, strlen(h->url), &h->u);
  }
  (void)wasio_timer_stop(f->timer);
  decoder_free(&f->dec);
  free(referer);
  progress_update(f, true);
  /* A transfer that got its answer but wrote nothing still creates -o FILE
   * (an empty body, as curl); a resumed one leaves the file as it is. */
  if (code == 0 && f->out == NULL && !f->out_is_stdout && f->resume_offset == 0 && !out_open(f))
    code = write_error(f);
  if (f->out != NULL && (fflush(f->out) != 0 || (!f->out_is_stdout && fclose(f->out) != 0)) && code == 0)
    code = fetch_fail(f, EXIT_WRITE_ERROR, "Failure writing output to destination");
  if (!f->out_is_stdout) f->out = NULL;
  f->open_errno = 0;
  if (code == 0 && f->fail_with_body && f->http_code >= 400)
    code = fetch_fail(f, EXIT_HTTP_RETURNED_ERROR, "The requested URL returned error: %d", f->http_code);
  return code;
}

/* --retry: curl's transient errors (a timeout, a failed name lookup, HTTP
 * 408 429 500 502 503 504; a refused connection with --retry-connrefused;
 * anything with --retry-all-errors). 0 when not to retry, else the word
 * curl uses in its warning. */
static const char *transient(const fetch_t *f, int code) {
  if (code == EXIT_OPERATION_TIMEDOUT || code == EXIT_COULDNT_RESOLVE_HOST || code == EXIT_COULDNT_RESOLVE_PROXY)
    return ": timeout";
  if (code == EXIT_COULDNT_CONNECT && f->retry_connrefused) return ": connection refused";
  if (code == EXIT_OK || (code == EXIT_HTTP_RETURNED_ERROR && (f->fail_http || f->fail_with_body))) {
    int s = f->http_code;
    if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504) return ": HTTP error";
  }
  if (code != EXIT_OK && f->retry_all) return "(retrying all errors)";
  return NULL;
}

static void sleep_cb(wasio_timer_t *t) { *(bool *)wasio_timer_data(t) = true; }

static void sleep_ns(fetch_t *f, uint64_t ns) {
  bool done = false;
  wasio_timer_set_data(f->timer, &done);
  if (ns > 0 && wasio_timer_start(f->timer, sleep_cb, ns, 0) == 0)
    while (!done && wasio_loop_run(f->loop, WASIO_RUN_ONCE) > 0) {
    }
  wasio_timer_set_data(f->timer, f);
}

static int run_with_retries(fetch_t *f) {
  uint64_t started = wasio_monotonic_ns();
  uint64_t backoff = f->retry_delay_given ? f->retry_delay_ns : FETCH_RETRY_SLEEP_DEFAULT_NS;
  long left = f->retry;
  for (;;) {
    int code = attempt(f);
    const char *why = left > 0 ? transient(f, code) : NULL;
    uint64_t elapsed = wasio_monotonic_ns() - started;
    if (why == NULL || (f->retry_max_time_ns && elapsed >= f->retry_max_time_ns)) return code;
    uint64_t sleep = backoff;
    if (!strcmp(why, ": HTTP error") && f->retry_after_s > 0) {
      sleep = (uint64_t)f->retry_after_s * WASIO_NS_PER_S;
      if (f->retry_max_time_ns && elapsed + sleep > f->retry_max_time_ns) {
        if (!f->silent)
          fputs("Warning: The Retry-After: time would make this command line exceed the maximum allowed time "
                "for retries.\n",
                stderr);
        return code;
      }
    }
    if (!f->silent)
      fprintf(stderr, "Warning: Problem %s. Will retry in %llu seconds. %ld retries left.\n", why,
              (unsigned long long)(sleep / WASIO_NS_PER_S), left);
    left--;
    if (!f->retry_delay_given) backoff = backoff * 2 > FETCH_RETRY_SLEEP_MAX_NS ? FETCH_RETRY_SLEEP_MAX_NS : backoff * 2;
    if (f->out_bytes > 0 && !f->out_is_stdout && f->resume_offset == 0 && !f->silent)
      fprintf(stderr, "Throwing away %llu bytes\n", (unsigned long long)f->out_bytes); /* reopened with "wb" */
    sleep_ns(f, sleep);
  }
}

/* ---- preparing ------------------------------------------------------------------------ */

static int hexval(int c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes s[0..n) into a new string. */
static char *pct_decode(const char *s, size_t n) {
  char *o = malloc(n + 1);
  size_t k = 0;
  if (o == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      o[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    } else {
      o[k++] = s[i];
    }
  }
  o[k] = 0;
  return o;
}

/* The URL as curl reads it: no scheme means http://; a scheme other than
 * http(s) is error 1; "user:pass@" becomes -u (unless given); -G appends
 * the data to the query; -T to a URL ending in '/' appends the file's
 * name. */
static int prepare_url(fetch_t *f) {
  const char *a = f->url_arg;
  const char *sep = strstr(a, "://");
  size_t scheme_len = sep ? (size_t)(sep - a) : 0;
  if (sep != NULL && strcspn(a, "/?#") < scheme_len) sep = NULL, scheme_len = 0;
  if (sep != NULL && !((scheme_len == 4 && !strncasecmp(a, "http", 4)) || (scheme_len == 5 && !strncasecmp(a, "https", 5))))
    return fetch_fail(f, EXIT_UNSUPPORTED_PROTOCOL, "Protocol \"%.*s\" not supported", (int)scheme_len, a);
  const char *rest = sep ? sep + 3 : a;
  size_t auth_len = strcspn(rest, "/?#");
  const char *at = NULL;
  for (const char *p = rest; p < rest + auth_len; p++)
    if (*p == '@') at = p;
  if (at != NULL) {
    if (f->userpwd == NULL) {
      char *ui = pct_decode(rest, (size_t)(at - rest));
      if (ui == NULL) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
      if (strchr(ui, ':') == NULL) {
        char *u2 = malloc(strlen(ui) + 2);
        if (u2 == NULL) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
        sprintf(u2, "%s:", ui);
        free(ui);
        ui = u2;
      }
      f->userpwd = ui;
    }
    rest = at + 1;
  }
  const char *upname = NULL;
  if (f->upload && strcmp(f->upload, "-") != 0) {
    const char *path_end = rest + strcspn(rest, "?#");
    const char *slash = strchr(rest, '/');
    if (slash == NULL || (path_end > rest && path_end[-1] == '/')) {
      upname = strrchr(f->upload, '/');
      upname = upname ? upname + 1 : f->upload;
    }
  }
  size_t n = strlen(rest);
  size_t need = 8 + n + 2 + (upname ? strlen(upname) : 0) + (f->data_get && f->data ? f->data_len + 1 : 0) + 1;
  char *u = malloc(need);
  if (u == NULL) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
  size_t k = (size_t)snprintf(u, need, "%.*s://", sep ? (int)scheme_len : 4, sep ? a : "http");
  if (upname) {
    size_t path_end = strcspn(rest, "?#");
    bool has_slash = memchr(rest, '/', path_end) != NULL;
    k += (size_t)snprintf(u + k, need - k, "%.*s%s%s%s", (int)path_end, rest, has_slash ? "" : "/", upname, rest + path_end);
  } else {
    memcpy(u + k, rest, n + 1);
    k += n;
  }
  if (f->data_get && f->data_len > 0) {
    char *hash = strchr(u, '#');
    if (hash) *hash = 0, k = (size_t)(hash - u);
    u[k++] = strchr(u, '?') ? '&' : '?';
    memcpy(u + k, f->data, f->data_len);
    k += f->data_len;
    u[k] = 0;
  }
  f->url = u;
  wasio_url_t pu;
  int rc = wasio_url_parse(u, strlen(u), &pu);
  if (rc != 0)
    return fetch_fail(f, EXIT_URL_MALFORMAT, "URL using bad/illegal format or missing URL: %s (%s)", f->url_arg,
                      wasio_strerror(rc));
  return 0;
}

/* Whether `host` is in a NO_PROXY list: "*", or names that match it or a
 * domain it is in ("example.com" and ".example.com" both cover
 * a.example.com), comma-separated. */
static bool no_proxy_for(const char *list, wasio_http_str_t host) {
  for (const char *p = list; p != NULL && *p;) {
    while (*p == ' ' || *p == ',') p++;
    size_t n = strcspn(p, ", ");
    const char *e = p;
    size_t el = n;
    if (el == 1 && e[0] == '*') return true;
    while (el && e[0] == '.') e++, el--;
    if (el && host.len >= el && !strncasecmp(host.ptr + host.len - el, e, el) &&
        (host.len == el || host.ptr[host.len - el - 1] == '.'))
      return true;
    p += n;
  }
  return false;
}

/* The proxy from the environment, as curl: http_proxy (lowercase only, the
 * uppercase one being settable by a CGI request's Proxy: field), for
 * https:// HTTPS_PROXY or https_proxy, else ALL_PROXY or all_proxy; none
 * for a host in --noproxy, or else NO_PROXY/no_proxy. */
static const char *env_proxy(const fetch_t *f, const wasio_url_t *u) {
  const char *np = f->noproxy ? f->noproxy : getenv("NO_PROXY") ? getenv("NO_PROXY") : getenv("no_proxy");
  if (np != NULL && no_proxy_for(np, u->host)) return NULL;
  const char *p = u->https ? (getenv("HTTPS_PROXY") ? getenv("HTTPS_PROXY") : getenv("https_proxy"))
                           : getenv("http_proxy");
  if (p == NULL || !*p) p = getenv("ALL_PROXY") ? getenv("ALL_PROXY") : getenv("all_proxy");
  return p != NULL && *p ? p : NULL;
}

/* -x [http://][user:pass@]host[:port][/] */
static int prepare_proxy(fetch_t *f) {
  wasio_url_t u;
  (void)wasio_url_parse(f->url, strlen(f->url), &u);
  const char *p = f->proxy;
  if (p == NULL) p = f->proxy = env_proxy(f, &u);
  else if (f->noproxy != NULL && no_proxy_for(f->noproxy, u.host)) p = NULL;
  if (p == NULL || p[0] == 0) return 0; /* -x "" : no proxy, as curl */
  const char *sep = strstr(p, "://");
  if (sep != NULL) {
    size_t sl = (size_t)(sep - p);
    if (!(sl == 4 && !strncasecmp(p, "http", 4)))
      return fetch_fail(f, EXIT_NOT_BUILT_IN, "proxy scheme \"%.*s\" is not supported: HTTP proxies only (http://)",
                        (int)sl, p);
    p = sep + 3;
  }
  size_t al = strcspn(p, "/?#");
  const char *at = NULL;
  for (const char *q = p; q < p + al; q++)
    if (*q == '@') at = q;
  if (at != NULL) {
    if (f->proxy_user == NULL) {
      char *ui = pct_decode(p, (size_t)(at - p));
      if (ui == NULL) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
      f->proxy_user_owned = ui;
      f->proxy_user = ui;
    }
    al -= (size_t)(at + 1 - p);
    p = at + 1;
  }
  const char *host = p, *port = NULL;
  size_t hl = al;
  if (p[0] == '[') {
    const char *close = memchr(p, ']', al);
    if (close == NULL) return fetch_fail(f, EXIT_URL_MALFORMAT, "bad proxy address %s", f->proxy);
    host = p + 1;
    hl = (size_t)(close - p - 1);
    if (close + 1 < p + al && close[1] == ':') port = close + 2;
  } else {
    const char *colon = memchr(p, ':', al);
    if (colon != NULL) {
      hl = (size_t)(colon - p);
      port = colon + 1;
    }
  }
  long pn = FETCH_DEFAULT_PROXY_PORT;
  if (port != NULL) {
    char *end;
    pn = strtol(port, &end, 10);
    if (end == port || (end < p + al && *end != '/') || pn < 1 || pn > 65535)
      return fetch_fail(f, EXIT_URL_MALFORMAT, "bad proxy port in %s", f->proxy);
  }
  if (hl == 0 || hl > WASIO_URL_MAX_HOST) return fetch_fail(f, EXIT_URL_MALFORMAT, "bad proxy host in %s", f->proxy);
  f->proxy_host = strndup(host, hl);
  f->proxy_port = (uint16_t)pn;
  if (f->proxy_user != NULL) {
    f->proxy_auth = malloc(basic_auth_len(f->proxy_user));
    if (f->proxy_auth != NULL) basic_auth(f->proxy_auth, f->proxy_user);
  }
  if (f->proxy_host == NULL || (f->proxy_user != NULL && f->proxy_auth == NULL))
    return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
  return 0;
}

/* -o, -O (the URL's last path segment, as curl: not decoded), -D, -T. */
static int prepare_files(fetch_t *f) {
  f->out_is_stdout = f->out_path == NULL && !f->remote_name;
  f->out_name = f->out_path;
  if (f->out_path == NULL && f->remote_name) {
    wasio_url_t u;
    (void)wasio_url_parse(f->url, strlen(f->url), &u);
    const char *end = u.path.ptr + u.path.len, *s = end;
    while (s > u.path.ptr && s[-1] != '/') s--;
    if (s == end) return fetch_fail(f, EXIT_WRITE_ERROR, "Remote file name has no length!");
    f->out_name_owned = strndup(s, (size_t)(end - s));
    if (f->out_name_owned == NULL) return fetch_fail(f, EXIT_OUT_OF_MEMORY, "Out of memory");
    f->out_name = f->out_name_owned;
  }
  if (f->out_is_stdout) {
    f->out = stdout;
    f->out_name = "-";
  } else if (!strcmp(f->out_name, "-")) {
    f->out_is_stdout = true;
    f->out = stdout;
  }
  if (f->dump_header != NULL) {
    f->dump = !strcmp(f->dump_header, "-") ? stdout : fopen(f->dump_header, "wb");
    if (f->dump == NULL) {
      int e = errno;
      return fetch_fail(f, EXIT_WRITE_ERROR, "Failed to open %s for writing: %s%s", f->dump_header, strerror(e),
                        fetch_path_hint(f->dump_header, e));
    }
  }
  if (f->upload != NULL) {
    body_src_t *b = &f->body;
    b->path = f->upload;
    if (!strcmp(f->upload, "-")) {
      char *buf;
      size_t len;
      if (fetch_read_file("-", FETCH_MAX_DATA_FILE, &buf, &len) != 0)
        return fetch_fail(f, EXIT_READ_ERROR, "Failed to read stdin for -T - (%s)", strerror(errno));
      f->upload_mem = buf;
      b->mem = buf;
      b->mem_len = len;
      return 0;
    }
    b->fp = fopen(f->upload, "rb");
    long len = -1;
    if (b->fp != NULL && fseek(b->fp, 0, SEEK_END) == 0) len = ftell(b->fp);
    if (b->fp == NULL || len < 0 || fseek(b->fp, 0, SEEK_SET) != 0) {
      int e = errno;
      if (b->fp) fclose(b->fp);
      b->fp = NULL;
      return fetch_fail(f, EXIT_READ_ERROR, "Can't open '%s': %s%s", f->upload, strerror(e), fetch_path_hint(f->upload, e));
    }
    b->file_len = (uint64_t)len;
  } else if (f->has_data && !f->data_get) {
    f->body.mem = f->data ? f->data : "";
    f->body.mem_len = f->data_len;
  }
  return 0;
}

/* ---- TLS ---------------------------------------------------------------------------- */

/* A client config for --cacert and -k (curl keeps its default roots with
 * --cacert only when told to; wasio-fetch adds FILE to the Mozilla roots,
 * which is what one wants for a private CA). Returns 0 or an exit code. */
static int make_tls_config(fetch_t *f) {
  static const char *const alpn[] = {"http/1.1"};
  wasio_tls_config_t *cfg = NULL;
  int rc = wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg);
  if (rc == 0) rc = wasio_tls_config_alpn(cfg, alpn, sizeof alpn / sizeof alpn[0]);
  if (rc != 0) {
    wasio_tls_config_free(cfg);
    return fetch_fail(f, EXIT_INIT, "cannot set up TLS: %s", wasio_strerror(rc));
  }
  if (f->insecure) {
    if (!f->silent)
      fputs("wasio-fetch: warning: -k/--insecure: the server's certificate is not verified; "
            "anyone on the path can read and change this transfer\n",
            stderr);
    (void)wasio_tls_config_insecure(cfg, true);
  }
  if (f->cacert != NULL) {
    char *pem = NULL;
    size_t len = 0;
    errno = 0;
    if (fetch_read_file(f->cacert, FETCH_MAX_SMALL_FILE, &pem, &len) != 0) {
      int e = errno;
      wasio_tls_config_free(cfg);
      /* not silenced by -s: a setup error, as the other usage errors */
      fprintf(stderr, "wasio-fetch: (77) error setting certificate file: cannot read %s: %s%s\n", f->cacert,
              e == EFBIG ? "larger than 4 MiB" : strerror(e), fetch_path_hint(f->cacert, e));
      snprintf(f->errmsg, sizeof f->errmsg, "error setting certificate file: %s", f->cacert);
      return EXIT_SSL_CACERT_BADFILE;
    }
    rc = wasio_tls_config_add_ca_pem(cfg, pem, len);
    free(pem);
    if (rc < 0) {
      wasio_tls_config_free(cfg);
      fprintf(stderr, "wasio-fetch: (77) error setting certificate file: no usable CA certificate in %s (%s)\n",
              f->cacert, wasio_strerror(rc));
      snprintf(f->errmsg, sizeof f->errmsg, "error setting certificate file: %s", f->cacert);
      return EXIT_SSL_CACERT_BADFILE;
    }
  }
  f->tls = cfg;
  return 0;
}

/* The transport --transport means in this build, with the options that
 * need sockets: sets f->transport_used and returns 0, or prints why not and
 * returns an exit code. Runs first, before anything is opened. */
static int choose_transport(fetch_t *f) {
  const bool have_host = wasio_http_host_available();
  bool user_host = false;
  for (size_t i = 0; i < f->n_user_headers; i++)
    if (name_is(f->user_headers[i], strcspn(f->user_headers[i], ":;"), "Host")) user_host = true;
  const char *needs = f->proxy_host != NULL                      ? "-x (the proxy path is TCP)"
                      : f->cacert != NULL                        ? "--cacert"
                      : f->insecure                              ? "-k/--insecure"
                      : f->tls_want != WASIO_TLS_BACKEND_AUTO    ? "--tls-backend"
                      : user_host                                ? "-H Host"
                                                                 : NULL;
  const char *why;
  char because[96];
  switch (f->transport_want) {
  case WASIO_HTTP_TRANSPORT_HOST:
    if (!have_host)
      return fetch_fail(f, EXIT_NOT_BUILT_IN,
                        "--transport host: this build has no wasi:http; use wasio-fetch-http.wasm on a host that "
                        "offers it (wasmtime run -S http)");
    if (needs != NULL)
      return fetch_fail(f, EXIT_INIT,
                        "--transport host cannot take %s: the host makes the connection, its TLS and its Host "
                        "field (wasi:http takes no proxy, CA or TLS choice); use --transport sockets",
                        needs);
    f->transport_used = WASIO_HTTP_TRANSPORT_HOST;
    why = "--transport host";
    break;
  case WASIO_HTTP_TRANSPORT_SOCKETS:
    f->transport_used = WASIO_HTTP_TRANSPORT_SOCKETS;
    why = "--transport sockets";
    break;
  default: /* AUTO: the HTTP client's rule, made explicit here */
    if (have_host && needs == NULL) {
      f->transport_used = WASIO_HTTP_TRANSPORT_HOST;
      why = "auto: this is the wasi:http build";
    } else {
      f->transport_used = WASIO_HTTP_TRANSPORT_SOCKETS;
      snprintf(because, sizeof because, "auto: %s needs the socket transport", needs != NULL ? needs : "");
      why = have_host ? because : "auto: this build has no wasi:http";
    }
    break;
  }
  if (f->verbose)
    fprintf(stderr, "* Transport: %s (%s)\n",
            f->transport_used == WASIO_HTTP_TRANSPORT_HOST
                ? "host (the host's wasi:http outgoing-handler: it connects and does TLS; no socket is opened)"
                : "sockets (wasio's HTTP/1.1 over TCP)",
            why);
  return 0;
}

/* The backend --tls-backend means in this build, with --cacert and -k:
 * sets f->tls_used to GUEST or HOST and returns 0, or prints why not and
 * returns an exit code. Runs before -o is opened: a refusal fetches and
 * writes nothing. */
static int choose_tls_backend(fetch_t *f) {
  if (f->transport_used == WASIO_HTTP_TRANSPORT_HOST) {
    /* The host's wasi:http does the TLS (choose_transport refused the
     * options that would need the guest's). */
    f->tls_used = WASIO_TLS_BACKEND_AUTO;
    if (f->verbose) fputs("* TLS backend: the host's, inside wasi:http (the host decides trust)\n", stderr);
    return 0;
  }
  const bool guest_only = f->cacert != NULL || f->insecure;
  const char *opt = f->cacert != NULL ? "--cacert" : "-k/--insecure";
  const bool have_host = wasio_tls_host_available();
  const char *why;
  switch (f->tls_want) {
  case WASIO_TLS_BACKEND_HOST:
    if (guest_only)
      return fetch_fail(f, EXIT_INIT,
                        "--tls-backend host cannot take %s: the host's TLS decides what it trusts "
                        "(the draft wasi:tls takes no CA and cannot skip verification); use --tls-backend guest",
                        opt);
    if (!have_host)
      return fetch_fail(f, EXIT_NOT_BUILT_IN,
                        "--tls-backend host: this build has no host TLS (wasi:tls); "
                        "use wasio-fetch-hosttls.wasm on a host that offers wasi:tls");
    f->tls_used = WASIO_TLS_BACKEND_HOST;
    why = "--tls-backend host";
    break;
  case WASIO_TLS_BACKEND_GUEST:
    f->tls_used = WASIO_TLS_BACKEND_GUEST;
    why = "--tls-backend guest";
    break;
  default: /* AUTO: the HTTP client's rule, made explicit here */
    if (have_host && !guest_only) {
      f->tls_used = WASIO_TLS_BACKEND_HOST;
      why = "auto: this is the host-TLS build";
    } else {
      f->tls_used = WASIO_TLS_BACKEND_GUEST;
      why = have_host ? (f->cacert != NULL ? "auto: --cacert needs the guest's TLS" : "auto: -k needs the guest's TLS")
                      : "auto: this build has no host TLS";
    }
    break;
  }
  if (f->verbose) {
    if (f->tls_used == WASIO_TLS_BACKEND_HOST)
      fprintf(stderr, "* TLS backend: host (the host's wasi:tls; the host decides trust) (%s)\n", why);
    else
      fprintf(stderr, "* TLS backend: guest (%s inside wasio-fetch) (%s)\n", wasio_tls_library(), why);
  }
  return 0;
}

/* ---- main ------------------------------------------------------------------------------ */

static int prepare(fetch_t *f) {
  int code;
  if ((code = prepare_url(f)) != 0) return code;
  if ((code = prepare_proxy(f)) != 0) return code;
  if ((code = choose_transport(f)) != 0) return code;
  if ((code = choose_tls_backend(f)) != 0) return code;
  if ((f->cacert != NULL || f->insecure) && (code = make_tls_config(f)) != 0) return code;
  if ((code = prepare_files(f)) != 0) return code;
  int rc = wasio_loop_new(&f->loop);
  /* Without --cacert or -k the client's default config (the built-in
   * roots) is enough. */
  wasio_http_client_opts_t copts = {.tls = f->tls, .tls_backend = f->tls_used, .transport = f->transport_used};
  if (rc == 0) rc = wasio_http_client_new(f->loop, &copts, &f->client);
  if (rc == 0) rc = wasio_timer_new(f->loop, &f->timer);
  if (rc != 0) return fetch_fail(f, EXIT_INIT, "cannot start: %s", wasio_strerror(rc));
  wasio_timer_set_data(f->timer, f);
  return 0;
}

/* After the transfer: the host-TLS hints. Through the host the guest cannot
 * add trust: say what can. A host whose messages wasio does not recognise
 * (not rustls's) reports a refused certificate as a plain TLS error (35). */
static void host_tls_hint(const fetch_t *f, int code) {
  if (f->transport_used == WASIO_HTTP_TRANSPORT_HOST && !f->silent && f->hop.u.https &&
      (code == EXIT_PEER_FAILED_VERIFICATION || code == EXIT_SSL_CONNECT_ERROR)) {
    fputs("wasio-fetch: the TLS was the host's (wasi:http): it trusts only what the host trusts; for a "
          "private CA use --transport sockets --cacert FILE\n",
          stderr);
    return;
  }
  if (f->tls_used != WASIO_TLS_BACKEND_HOST || f->silent || !f->hop.u.https) return;
  if (code == EXIT_PEER_FAILED_VERIFICATION)
    fputs("wasio-fetch: the host's TLS (wasi:tls) refused the certificate: it trusts only what the host "
          "trusts; for a private CA use --tls-backend guest --cacert FILE\n",
          stderr);
  else if (code == EXIT_SSL_CONNECT_ERROR)
    fputs("wasio-fetch: the TLS handshake was the host's (wasi:tls); if the host does not trust the "
          "server's certificate, use --tls-backend guest --cacert FILE\n",
          stderr);
}

static void cleanup(fetch_t *f) {
  if (f->client != NULL) wasio_http_client_close(f->client, NULL);
  if (f->timer != NULL) wasio_timer_close(f->timer, NULL);
  if (f->loop != NULL) {
    while (wasio_loop_run(f->loop, WASIO_RUN_DEFAULT) > 0) {
    }
    wasio_loop_close(f->loop);
  }
  /* Every connection is closed: nothing uses the config any more. */
  wasio_tls_config_free(f->tls);
  wasio_tls_config_free(f->proxy_tls);
  if (f->dump != NULL && f->dump != stdout) fclose(f->dump);
  if (f->body.fp != NULL) fclose(f->body.fp);
  hop_reset_response(&f->hop);
  free(f->hop.url);
  free(f->url);
  free(f->data);
  free(f->userpwd);
  free(f->write_out);
  free(f->proxy_host);
  free(f->proxy_auth);
  free(f->proxy_user_owned);
  free(f->out_name_owned);
  free(f->upload_mem);
  free(f->redirect_url);
  free(f->last_head);
  cookies_free(&f->jar);
}

int main(int argc, char **argv) {
  static fetch_t f; /* large: the fields */
  f.max_redirs = FETCH_DEFAULT_MAX_REDIRS;
  f.resume_from = -1;
  f.retry_after_s = -1;
  int code = fetch_parse_args(&f, argc, argv);
  if (code != 0) { /* --help, --version (-1), or a usage error */
    cleanup(&f);
    return code < 0 ? EXIT_OK : code;
  }
  code = prepare(&f);
  if (code == 0) {
    code = run_with_retries(&f);
    host_tls_hint(&f, code);
  }
  write_out(&f, code); /* also after a failure, as curl: %{exitcode} says why */
  fflush(stdout);
  cleanup(&f);
  return code;
}
