/* apps/wasio-fetch: a curl-like HTTP client component on wasio.
 *
 * The body goes to stdout (or -o FILE) as it arrives, diagnostics to stderr,
 * and the exit status follows curl's common codes (see usage()). WASI 0.2's
 * exit carries only ok/err, so on wasmtime and jco every failure exits 1:
 * the curl-style code is therefore also printed in the error message,
 * "wasio-fetch: (7) ...", to be visible on every host. Natively the code is
 * the exit status.
 *
 * One loop, one client, one call; the progress bar is redrawn at most every
 * PROGRESS_INTERVAL_NS and only when stderr is a terminal.
 *
 * TLS backend (--tls-backend, wasio/tls_host.h), resolved here before
 * anything is opened or fetched, and handed to the HTTP client explicitly:
 *   guest  BearSSL in the component (every host); the only backend that can
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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasio.h"

#define MAX_HEADERS WASIO_HTTP_MAX_REQUEST_HEADERS
#define MAX_DATA_FILE (64u * 1024u * 1024u)   /* -d @FILE read into memory */
#define PROGRESS_MIN_BYTES (1024u * 1024u)    /* smaller bodies get no bar */
#define PROGRESS_INTERVAL_NS (100 * WASIO_NS_PER_MS)
#define PROGRESS_WIDTH 30

/* curl's exit codes (the subset wasio-fetch produces). */
enum {
  EXIT_OK = 0,
  EXIT_UNSUPPORTED_PROTOCOL = 1,
  EXIT_INIT = 2,
  EXIT_URL_MALFORMAT = 3,
  EXIT_NOT_BUILT_IN = 4,
  EXIT_COULDNT_RESOLVE_HOST = 6,
  EXIT_COULDNT_CONNECT = 7,
  EXIT_WEIRD_SERVER_REPLY = 8,
  EXIT_HTTP_RETURNED_ERROR = 22,
  EXIT_WRITE_ERROR = 23,
  EXIT_READ_ERROR = 26,
  EXIT_OPERATION_TIMEDOUT = 28,
  EXIT_TOO_MANY_REDIRECTS = 47,
  EXIT_GOT_NOTHING = 52,
  EXIT_SSL_CONNECT_ERROR = 35,
  EXIT_SEND_ERROR = 55,
  EXIT_RECV_ERROR = 56,
  EXIT_PEER_FAILED_VERIFICATION = 60,
  EXIT_SSL_CACERT_BADFILE = 77
};

/* --cacert bundles are small; a file past this is refused, not read. */
#define MAX_CACERT_FILE (4u * 1024u * 1024u)

static void usage(FILE *f) {
  fputs("usage: wasio-fetch [options] URL\n"
        "  -X, --request METHOD   request method (default GET, POST with -d)\n"
        "  -H, --header 'K: V'    add a request header (repeatable)\n"
        "  -d, --data DATA        send DATA as the body (@FILE reads a file)\n"
        "  -o, --output FILE      write the body to FILE instead of stdout (created at\n"
        "                         the first byte: a failed transfer leaves none)\n"
        "  -L, --location         follow redirects\n"
        "      --max-redirs N     at most N redirects with -L (default 10)\n"
        "  -i, --include          print the status line and headers first\n"
        "  -I, --head             HEAD request, print the headers\n"
        "  -f, --fail             exit 22 on an HTTP status >= 400, no body\n"
        "  -s, --silent           no progress bar, no error messages\n"
        "      --max-time S       give up after S seconds (fractions allowed)\n"
        "      --connect-timeout S  give up connecting after S seconds\n"
        "      --cacert FILE      also trust the CA certificate(s) in FILE (PEM)\n"
        "  -k, --insecure         do not verify the server's certificate\n"
        "      --tls-backend B    who does the TLS of https://: auto (default),\n"
        "                         guest or host (see below)\n"
        "  -v, --verbose          say which TLS backend is used, and why\n"
        "  -h, --help             this text\n"
        "TLS backends: guest is TLS 1.2 in the component (BearSSL), verified\n"
        "against the built-in Mozilla roots (and --cacert); on wasmtime and jco\n"
        "FILE must be in a directory the host grants (wasio-run --dir DIR).\n"
        "host is the host's TLS (wasi:tls), which decides what it trusts: it\n"
        "takes no --cacert or -k (bad usage, 2), and only the host-TLS build\n"
        "(wasio-fetch-hosttls.wasm, on a host with wasi:tls) has it (else 4).\n"
        "auto is host in the host-TLS build unless --cacert or -k is given,\n"
        "guest otherwise.\n"
        "exit codes (curl's): 0 ok, 1 unsupported protocol,\n"
        "  2 bad usage, 3 malformed URL, 4 TLS backend not in this build,\n"
        "  6 could not resolve host, 7 could not connect, 8 invalid HTTP reply,\n"
        "  22 HTTP >= 400 with -f, 23 write error,\n"
        "  26 read error (-d @FILE), 28 timeout, 35 TLS handshake failed,\n"
        "  47 too many redirects, 52 empty reply, 55 send error, 56 receive\n"
        "  error, 60 server certificate not trusted, 77 bad --cacert file.\n"
        "On WASI hosts the exit status is only ok/err (1); the code is printed\n"
        "in the message, e.g. \"wasio-fetch: (7) couldn't connect ...\".\n",
        f);
}

typedef struct fetch {
  /* options */
  const char *method, *url, *out_path, *cacert;
  wasio_http_header_t headers[MAX_HEADERS];
  size_t num_headers;
  char *data;
  size_t data_len;
  bool follow, include, fail_http, silent, head, insecure, verbose;
  wasio_tls_backend_t tls_want; /* --tls-backend as given */
  wasio_tls_backend_t tls_used; /* GUEST or HOST: resolved by choose_tls_backend() */
  int max_redirs;
  uint64_t max_time_ns, connect_ns;
  /* state */
  FILE *out;
  bool done, write_failed, http_failed, got_response;
  int open_errno; /* -o FILE could not be created: errno */
  int status, http_status;
  bool progress;
  uint64_t total, expected, last_draw, started;
} fetch_t;

static int parse_seconds(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < 0 || v > 1e9) return -1;
  *out = (uint64_t)(v * 1e9);
  if (*out == 0 && v > 0) *out = 1;
  return 0;
}

static int add_header(fetch_t *f, const char *line) {
  const char *colon = strchr(line, ':');
  if (colon == NULL || colon == line || f->num_headers == MAX_HEADERS) return -1;
  const char *v = colon + 1;
  while (*v == ' ' || *v == '\t') v++;
  f->headers[f->num_headers].name = (wasio_http_str_t){line, (size_t)(colon - line)};
  f->headers[f->num_headers].value = (wasio_http_str_t){v, strlen(v)};
  f->num_headers++;
  return 0;
}

static bool has_header(const fetch_t *f, const char *name) {
  size_t pos = 0;
  return wasio_http_find_header(f->headers, f->num_headers, name, &pos) >= 0;
}

static int read_file(const char *path, char **out, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL) return -1;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf != NULL) {
    if (n == cap) {
      if (cap >= MAX_DATA_FILE) break;
      char *p = realloc(buf, cap * 2);
      if (p == NULL) break;
      buf = p;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) {
      bool ok = !ferror(fp);
      fclose(fp);
      if (!ok) {
        free(buf);
        return -1;
      }
      *out = buf;
      *len = n;
      return 0;
    }
  }
  free(buf);
  fclose(fp);
  return -1;
}

/* ---- progress ---------------------------------------------------------------- */

static void progress_draw(fetch_t *f, bool final) {
  uint64_t now = wasio_monotonic_ns();
  if (!final && now - f->last_draw < PROGRESS_INTERVAL_NS) return;
  f->last_draw = now;
  double secs = (double)(now - f->started) / 1e9;
  double mib = (double)f->total / (1024.0 * 1024.0);
  double rate = secs > 0 ? mib / secs : 0;
  if (f->expected > 0) {
    int fill = (int)((double)PROGRESS_WIDTH * (double)f->total / (double)f->expected);
    if (fill > PROGRESS_WIDTH) fill = PROGRESS_WIDTH;
    char bar[PROGRESS_WIDTH + 1];
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '-', (size_t)(PROGRESS_WIDTH - fill));
    bar[PROGRESS_WIDTH] = 0;
    fprintf(stderr, "\r[%s] %5.1f%% %8.1f MiB %7.1f MiB/s", bar,
            100.0 * (double)f->total / (double)f->expected, mib, rate);
  } else {
    fprintf(stderr, "\r%8.1f MiB %7.1f MiB/s", mib, rate);
  }
  if (final) fputc('\n', stderr);
}

/* ---- callbacks ------------------------------------------------------------------ */

/* Where the output goes. -o FILE is created at the first byte to write, as
 * curl does, so a failed transfer leaves no file behind; NULL (with
 * write_failed and open_errno set) when it cannot be created. */
static FILE *out_of(fetch_t *f) {
  if (f->out != NULL) return f->out;
  f->out = fopen(f->out_path, "wb");
  if (f->out == NULL) {
    f->open_errno = errno;
    f->write_failed = true;
  }
  return f->out;
}

static void on_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  fetch_t *f = wasio_http_call_data(call);
  f->got_response = true;
  f->http_status = res->status;
  if (f->fail_http && res->status >= 400) {
    f->http_failed = true;
    wasio_http_call_cancel(call);
    return;
  }
  if (f->include) {
    FILE *out = out_of(f);
    if (out == NULL) {
      wasio_http_call_cancel(call);
      return;
    }
    fprintf(out, "HTTP/1.%d %d %.*s\r\n", res->version_minor, res->status, (int)res->reason.len,
            res->reason.ptr ? res->reason.ptr : "");
    for (size_t i = 0; i < res->num_headers; i++)
      fprintf(out, "%.*s: %.*s\r\n", (int)res->headers[i].name.len, res->headers[i].name.ptr,
              (int)res->headers[i].value.len, res->headers[i].value.ptr);
    fputs("\r\n", out);
  }
  f->expected = res->framing.has_content_length && !f->head ? res->framing.content_length : 0;
  f->progress = !f->silent && isatty(2) &&
                (f->expected == 0 || f->expected >= PROGRESS_MIN_BYTES) && res->framing.body != WASIO_HTTP_BODY_NONE;
  f->started = wasio_monotonic_ns();
}

static void on_body(wasio_http_call_t *call, const void *data, size_t len) {
  fetch_t *f = wasio_http_call_data(call);
  FILE *out = out_of(f);
  if (out == NULL || fwrite(data, 1, len, out) != len) {
    f->write_failed = true;
    wasio_http_call_cancel(call);
    return;
  }
  f->total += len;
  /* Unknown length: show a bar only once the body is big. */
  if (f->progress && f->total >= PROGRESS_MIN_BYTES) progress_draw(f, false);
}

static void on_done(wasio_http_call_t *call, int status) {
  fetch_t *f = wasio_http_call_data(call);
  f->status = status;
  f->done = true;
  if (f->progress && f->total >= PROGRESS_MIN_BYTES) progress_draw(f, true);
}

/* ---- errors ---------------------------------------------------------------------- */

static int exit_code_for(const fetch_t *f, int err, const char **what) {
  switch (err) {
  case WASIO_ENOTSUP:
    *what = "protocol not supported";
    return EXIT_UNSUPPORTED_PROTOCOL;
  case WASIO_ETLS_CERT_UNTRUSTED: case WASIO_ETLS_CERT_SELF_SIGNED: case WASIO_ETLS_CERT_EXPIRED:
  case WASIO_ETLS_CERT_NOT_YET_VALID: case WASIO_ETLS_CERT_NAME: case WASIO_ETLS_CERT_ALGORITHM:
  case WASIO_ETLS_CERT_PIN: case WASIO_ETLS_CERT_INVALID:
    *what = "SSL peer certificate was not OK";
    return EXIT_PEER_FAILED_VERIFICATION;
  case WASIO_ETLS: case WASIO_ETLS_ALERT: case WASIO_ETLS_VERSION: case WASIO_ETLS_NOT_TLS:
    *what = "TLS connect error";
    return EXIT_SSL_CONNECT_ERROR;
  case WASIO_ETLS_TRUNCATED:
    *what = "failure receiving data";
    return EXIT_RECV_ERROR;
  case WASIO_EURL_SYNTAX: case WASIO_EURL_SCHEME: case WASIO_EURL_USERINFO:
  case WASIO_EURL_HOST: case WASIO_EURL_PORT: case WASIO_EURL_PERCENT:
    *what = "URL malformed";
    return EXIT_URL_MALFORMAT;
  case WASIO_ENAMENOTFOUND: case WASIO_EDNSFAIL: case WASIO_EDNSTEMP: case WASIO_ENAMETOOLONG:
    *what = "couldn't resolve host";
    return EXIT_COULDNT_RESOLVE_HOST;
  case WASIO_ECONNREFUSED: case WASIO_ENETUNREACH: case WASIO_EHOSTUNREACH: case WASIO_ENETDOWN:
  case WASIO_EADDRNOTAVAIL: case WASIO_EAFNOSUPPORT:
    *what = "couldn't connect";
    return EXIT_COULDNT_CONNECT;
  case WASIO_ETIMEDOUT:
    *what = "operation timed out";
    return EXIT_OPERATION_TIMEDOUT;
  case WASIO_ELIMIT:
    *what = "too many redirects";
    return EXIT_TOO_MANY_REDIRECTS;
  case WASIO_EPIPE:
    *what = "failure sending data";
    return EXIT_SEND_ERROR;
  case WASIO_EHTTP_TRUNCATED:
    if (!f->got_response) {
      *what = "empty reply from server";
      return EXIT_GOT_NOTHING;
    }
    *what = "failure receiving data";
    return EXIT_RECV_ERROR;
  case WASIO_ECONNRESET: case WASIO_ECONNABORTED: case WASIO_EIO:
    *what = "failure receiving data";
    return EXIT_RECV_ERROR;
  case WASIO_EINVAL: case WASIO_EHTTP_BAD_HEADER_NAME: case WASIO_EHTTP_BAD_HEADER_VALUE:
    *what = "invalid request (method or header)";
    return EXIT_INIT;
  default:
    if (err <= WASIO_EHTTP_BAD_METHOD && err >= WASIO_EHTTP_TRUNCATED) {
      *what = "invalid HTTP reply";
      return EXIT_WEIRD_SERVER_REPLY;
    }
    *what = "failure";
    return EXIT_RECV_ERROR;
  }
}

static int fail(const fetch_t *f, int code, const char *what, int err) {
  if (!f->silent) {
    if (err != 0)
      fprintf(stderr, "wasio-fetch: (%d) %s: %s (%s)\n", code, what, f->url ? f->url : "", wasio_strerror(err));
    else
      fprintf(stderr, "wasio-fetch: (%d) %s\n", code, what);
  }
  return code;
}

/* ---- TLS ------------------------------------------------------------------------ */

/* A client config for --cacert and -k (curl keeps its default roots with
 * --cacert only when told to; wasio-fetch adds FILE to the Mozilla roots,
 * which is what one wants for a private CA). Returns 0 or an exit code. */
static int make_tls_config(fetch_t *f, wasio_tls_config_t **out) {
  static const char *const alpn[] = {"http/1.1"};
  wasio_tls_config_t *cfg = NULL;
  int rc = wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg);
  if (rc == 0) rc = wasio_tls_config_alpn(cfg, alpn, sizeof alpn / sizeof alpn[0]);
  if (rc != 0) {
    wasio_tls_config_free(cfg);
    return fail(f, EXIT_INIT, "cannot set up TLS", rc);
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
    if (read_file(f->cacert, &pem, &len) != 0 || len > MAX_CACERT_FILE) {
      free(pem);
      wasio_tls_config_free(cfg);
      fprintf(stderr, "wasio-fetch: (77) cannot read CA file %s%s%s\n", f->cacert, errno ? ": " : "",
              errno ? strerror(errno) : "");
      return EXIT_SSL_CACERT_BADFILE;
    }
    rc = wasio_tls_config_add_ca_pem(cfg, pem, len);
    free(pem);
    if (rc < 0) {
      wasio_tls_config_free(cfg);
      fprintf(stderr, "wasio-fetch: (77) no usable CA certificate in %s (%s)\n", f->cacert, wasio_strerror(rc));
      return EXIT_SSL_CACERT_BADFILE;
    }
  }
  *out = cfg;
  return 0;
}

/* The backend --tls-backend means in this build, with --cacert and -k:
 * sets f->tls_used to GUEST or HOST and returns 0, or prints why not and
 * returns an exit code. Runs before -o is opened: a refusal fetches and
 * writes nothing. */
static int choose_tls_backend(fetch_t *f) {
  const bool guest_only = f->cacert != NULL || f->insecure;
  const char *opt = f->cacert != NULL ? "--cacert" : "-k/--insecure";
  const bool have_host = wasio_tls_host_available();
  const char *why;
  switch (f->tls_want) {
  case WASIO_TLS_BACKEND_HOST:
    if (guest_only) {
      fprintf(stderr,
              "wasio-fetch: (%d) --tls-backend host cannot take %s: the host's TLS decides what it trusts "
              "(the draft wasi:tls takes no CA and cannot skip verification); use --tls-backend guest\n",
              EXIT_INIT, opt);
      return EXIT_INIT;
    }
    if (!have_host) {
      fprintf(stderr,
              "wasio-fetch: (%d) --tls-backend host: this build has no host TLS (wasi:tls); "
              "use wasio-fetch-hosttls.wasm on a host that offers wasi:tls\n",
              EXIT_NOT_BUILT_IN);
      return EXIT_NOT_BUILT_IN;
    }
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
  if (f->verbose)
    fprintf(stderr, "* TLS backend: %s (%s)\n",
            f->tls_used == WASIO_TLS_BACKEND_HOST ? "host (the host's wasi:tls; the host decides trust)"
                                                  : "guest (BearSSL inside wasio-fetch, TLS 1.2)",
            why);
  return 0;
}

/* ---- main ---------------------------------------------------------------------- */

static int parse_args(fetch_t *f, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG()                                                                 \
  do {                                                                             \
    if (next == NULL) {                                                            \
      fprintf(stderr, "wasio-fetch: (2) option %s needs an argument\n", a);        \
      return EXIT_INIT;                                                            \
    }                                                                              \
    i++;                                                                           \
  } while (0)
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "-X") || !strcmp(a, "--request")) {
      NEED_ARG();
      f->method = next;
    } else if (!strcmp(a, "-H") || !strcmp(a, "--header")) {
      NEED_ARG();
      if (add_header(f, next) != 0) {
        fprintf(stderr, "wasio-fetch: (2) bad header '%s' (want 'Name: value', at most %d)\n", next, MAX_HEADERS);
        return EXIT_INIT;
      }
    } else if (!strcmp(a, "-d") || !strcmp(a, "--data")) {
      NEED_ARG();
      if (next[0] == '@') {
        if (read_file(next + 1, &f->data, &f->data_len) != 0) {
          fprintf(stderr, "wasio-fetch: (26) cannot read %s\n", next + 1);
          return EXIT_READ_ERROR;
        }
      } else {
        f->data = strdup(next);
        f->data_len = strlen(next);
      }
    } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
      NEED_ARG();
      f->out_path = next;
    } else if (!strcmp(a, "-L") || !strcmp(a, "--location")) {
      f->follow = true;
    } else if (!strcmp(a, "--max-redirs")) {
      NEED_ARG();
      f->max_redirs = atoi(next);
    } else if (!strcmp(a, "-i") || !strcmp(a, "--include")) {
      f->include = true;
    } else if (!strcmp(a, "-I") || !strcmp(a, "--head")) {
      f->head = f->include = true;
    } else if (!strcmp(a, "-f") || !strcmp(a, "--fail")) {
      f->fail_http = true;
    } else if (!strcmp(a, "-s") || !strcmp(a, "--silent")) {
      f->silent = true;
    } else if (!strcmp(a, "--max-time") || !strcmp(a, "-m")) {
      NEED_ARG();
      if (parse_seconds(next, &f->max_time_ns) != 0) {
        fprintf(stderr, "wasio-fetch: (2) bad --max-time '%s'\n", next);
        return EXIT_INIT;
      }
    } else if (!strcmp(a, "--cacert")) {
      NEED_ARG();
      f->cacert = next;
    } else if (!strcmp(a, "-k") || !strcmp(a, "--insecure")) {
      f->insecure = true;
    } else if (!strcmp(a, "--tls-backend")) {
      NEED_ARG();
      if (!strcmp(next, "auto")) {
        f->tls_want = WASIO_TLS_BACKEND_AUTO;
      } else if (!strcmp(next, "guest")) {
        f->tls_want = WASIO_TLS_BACKEND_GUEST;
      } else if (!strcmp(next, "host")) {
        f->tls_want = WASIO_TLS_BACKEND_HOST;
      } else {
        fprintf(stderr, "wasio-fetch: (2) bad --tls-backend '%s' (want auto, guest or host)\n", next);
        return EXIT_INIT;
      }
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      f->verbose = true;
    } else if (!strcmp(a, "--connect-timeout")) {
      NEED_ARG();
      if (parse_seconds(next, &f->connect_ns) != 0) {
        fprintf(stderr, "wasio-fetch: (2) bad --connect-timeout '%s'\n", next);
        return EXIT_INIT;
      }
    } else if (a[0] == '-' && a[1] != 0) {
      fprintf(stderr, "wasio-fetch: (2) unknown option %s (try --help)\n", a);
      return EXIT_INIT;
    } else if (f->url == NULL) {
      f->url = a;
    } else {
      fprintf(stderr, "wasio-fetch: (2) one URL only (got '%s' too)\n", a);
      return EXIT_INIT;
    }
#undef NEED_ARG
  }
  if (f->url == NULL) {
    usage(stderr);
    fprintf(stderr, "wasio-fetch: (%d) no URL given\n", EXIT_INIT);
    return EXIT_INIT;
  }
  return 0;
}

int main(int argc, char **argv) {
  static fetch_t f; /* large: headers array */
  f.max_redirs = WASIO_HTTP_MAX_REDIRECTS;
  int code = parse_args(&f, argc, argv);
  if (code != 0) return code;
  if (f.head) f.method = "HEAD";
  if (f.data != NULL && !has_header(&f, "content-type") && f.num_headers < MAX_HEADERS)
    add_header(&f, "Content-Type: application/x-www-form-urlencoded");
  if (!has_header(&f, "user-agent") && f.num_headers < MAX_HEADERS)
    add_header(&f, "User-Agent: wasio-fetch/" WASIO_VERSION_STRING);
  if (!has_header(&f, "accept") && f.num_headers < MAX_HEADERS) add_header(&f, "Accept: */*");
  code = choose_tls_backend(&f);
  if (code != 0) return code;

  /* -o FILE: opened by out_of() at the first byte (or at the end of a
   * successful empty transfer). */
  f.out = f.out_path != NULL ? NULL : stdout;

  /* Without --cacert or -k the client's default config (the built-in
   * roots) is enough. */
  wasio_tls_config_t *tls = NULL;
  if (f.cacert != NULL || f.insecure) {
    code = make_tls_config(&f, &tls);
    if (code != 0) return code;
  }
  wasio_loop_t *loop = NULL;
  wasio_http_client_t *client = NULL;
  int rc = wasio_loop_new(&loop);
  wasio_http_client_opts_t copts = {.tls = tls, .tls_backend = f.tls_used};
  if (rc == 0) rc = wasio_http_client_new(loop, &copts, &client);
  if (rc != 0) return fail(&f, EXIT_INIT, "cannot start", rc);

  wasio_http_call_opts_t o = {
      .method = f.method,
      .url = f.url,
      .headers = f.headers,
      .num_headers = f.num_headers,
      .body = f.data,
      .body_len = f.data_len,
      .max_redirects = f.follow ? f.max_redirs : 0,
      .timeouts = {.connect_ns = f.connect_ns, .total_ns = f.max_time_ns},
      .data = &f,
      .on_response = on_response,
      .on_body = on_body,
      .on_done = on_done,
  };
  rc = wasio_http_call_start(client, &o, NULL);
  if (rc == 0) {
    while (!f.done && wasio_loop_run(loop, WASIO_RUN_ONCE) > 0) {
    }
  }
  wasio_http_client_close(client, NULL);
  while (wasio_loop_run(loop, WASIO_RUN_DEFAULT) > 0) {
  }
  wasio_loop_close(loop);
  /* Every connection is closed: nothing uses the config any more. */
  wasio_tls_config_free(tls);

  /* A successful transfer with nothing to write still creates -o FILE. */
  if (f.out == NULL && rc == 0 && f.status == 0 && !f.http_failed && !f.write_failed) (void)out_of(&f);
  if (f.out != NULL && (fflush(f.out) != 0 || (f.out != stdout && fclose(f.out) != 0))) f.write_failed = true;
  free(f.data);
  const char *what = NULL;
  if (rc != 0) {
    code = exit_code_for(&f, rc, &what);
    return fail(&f, code, what, rc);
  }
  if (f.http_failed) {
    char msg[64];
    snprintf(msg, sizeof msg, "the requested URL returned error: %d", f.http_status);
    return fail(&f, EXIT_HTTP_RETURNED_ERROR, msg, 0);
  }
  if (f.open_errno != 0) {
    fprintf(stderr, "wasio-fetch: (23) cannot open %s for writing: %s\n", f.out_path, strerror(f.open_errno));
    return EXIT_WRITE_ERROR;
  }
  if (f.write_failed) return fail(&f, EXIT_WRITE_ERROR, "failure writing output", 0);
  if (!f.done) return fail(&f, EXIT_RECV_ERROR, "the loop stopped early", 0);
  if (f.status != 0) {
    code = exit_code_for(&f, f.status, &what);
    fail(&f, code, what, f.status);
    /* Through the host the guest cannot add trust: say what can. A host
     * whose messages wasio does not recognise (not rustls's) reports a
     * refused certificate as a plain TLS error (35). */
    if (f.tls_used == WASIO_TLS_BACKEND_HOST && !f.silent) {
      if (code == EXIT_PEER_FAILED_VERIFICATION)
        fputs("wasio-fetch: the host's TLS (wasi:tls) refused the certificate: it trusts only what the host "
              "trusts; for a private CA use --tls-backend guest --cacert FILE\n",
              stderr);
      else if (code == EXIT_SSL_CONNECT_ERROR)
        fputs("wasio-fetch: the TLS handshake was the host's (wasi:tls); if the host does not trust the "
              "server's certificate, use --tls-backend guest --cacert FILE\n",
              stderr);
    }
    return code;
  }
  return EXIT_OK;
}
