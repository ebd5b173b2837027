/* apps/wasio-fetch/options.c: the command line, in curl's syntax.
 *
 * Short options combine and take their argument attached or as the next
 * word, as curl's do: "-fsSL", "-sS", "-XPOST", "-d@file", "-ofile",
 * "-sXPOST" (an option that takes an argument ends the group). Long options
 * take theirs as the next word ("--max-time 5"; curl has no "--opt=value"
 * either). Errors are usage errors (2), worded as curl's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

enum {
  O_REQUEST = 1, O_HEADER, O_DATA, O_DATA_BINARY, O_DATA_RAW, O_DATA_URLENCODE, O_GET, O_OUTPUT,
  O_REMOTE_NAME, O_DUMP_HEADER, O_LOCATION, O_MAX_REDIRS, O_INCLUDE, O_HEAD, O_FAIL, O_FAIL_WITH_BODY,
  O_SILENT, O_SHOW_ERROR, O_VERBOSE, O_MAX_TIME, O_CONNECT_TIMEOUT, O_CACERT, O_INSECURE, O_TLS_BACKEND, O_TRANSPORT,
  O_USER, O_USER_AGENT, O_REFERER, O_COOKIE, O_UPLOAD, O_CONTINUE_AT, O_PROXY, O_PROXY_USER,
  O_PROXYTUNNEL, O_WRITE_OUT, O_COMPRESSED, O_RETRY, O_RETRY_DELAY, O_RETRY_MAX_TIME, O_RETRY_ALL,
  O_RETRY_CONNREFUSED, O_NO_PROGRESS, O_PROGRESS_BAR, O_URL, O_NOPROXY, O_HELP, O_VERSION
};

typedef struct opt_def {
  char short_name; /* 0: long only */
  const char *long_name;
  int id;
  bool arg;
} opt_def_t;

static const opt_def_t OPTS[] = {
    {'X', "request", O_REQUEST, true},
    {'H', "header", O_HEADER, true},
    {'d', "data", O_DATA, true},
    {0, "data-ascii", O_DATA, true},
    {0, "data-binary", O_DATA_BINARY, true},
    {0, "data-raw", O_DATA_RAW, true},
    {0, "data-urlencode", O_DATA_URLENCODE, true},
    {'G', "get", O_GET, false},
    {'o', "output", O_OUTPUT, true},
    {'O', "remote-name", O_REMOTE_NAME, false},
    {'D', "dump-header", O_DUMP_HEADER, true},
    {'L', "location", O_LOCATION, false},
    {0, "max-redirs", O_MAX_REDIRS, true},
    {'i', "include", O_INCLUDE, false},
    {'I', "head", O_HEAD, false},
    {'f', "fail", O_FAIL, false},
    {0, "fail-with-body", O_FAIL_WITH_BODY, false},
    {'s', "silent", O_SILENT, false},
    {'S', "show-error", O_SHOW_ERROR, false},
    {'v', "verbose", O_VERBOSE, false},
    {'m', "max-time", O_MAX_TIME, true},
    {0, "connect-timeout", O_CONNECT_TIMEOUT, true},
    {0, "cacert", O_CACERT, true},
    {'k', "insecure", O_INSECURE, false},
    {0, "tls-backend", O_TLS_BACKEND, true},
    {0, "transport", O_TRANSPORT, true},
    {'u', "user", O_USER, true},
    {'A', "user-agent", O_USER_AGENT, true},
    {'e', "referer", O_REFERER, true},
    {'b', "cookie", O_COOKIE, true},
    {'T', "upload-file", O_UPLOAD, true},
    {'C', "continue-at", O_CONTINUE_AT, true},
    {'x', "proxy", O_PROXY, true},
    {'U', "proxy-user", O_PROXY_USER, true},
    {'p', "proxytunnel", O_PROXYTUNNEL, false},
    {'w', "write-out", O_WRITE_OUT, true},
    {0, "compressed", O_COMPRESSED, false},
    {0, "retry", O_RETRY, true},
    {0, "retry-delay", O_RETRY_DELAY, true},
    {0, "retry-max-time", O_RETRY_MAX_TIME, true},
    {0, "retry-all-errors", O_RETRY_ALL, false},
    {0, "retry-connrefused", O_RETRY_CONNREFUSED, false},
    {0, "no-progress-meter", O_NO_PROGRESS, false},
    {'#', "progress-bar", O_PROGRESS_BAR, false},
    {0, "url", O_URL, true},
    {0, "noproxy", O_NOPROXY, true},
    {'h', "help", O_HELP, false},
    {'V', "version", O_VERSION, false},
};

void fetch_usage(FILE *out) {
  fputs(
      "Usage: wasio-fetch [options...] <url>\n"
      "A curl-like HTTP(S) client on wasio: the same options, output and exit codes\n"
      "as curl for what it does (HTTP/1.1; TLS 1.3/1.2 by mbedTLS, or the host's).\n"
      "Short options combine (-fsSL) and take attached arguments (-XPOST, -ofile).\n"
      "\n"
      "Request\n"
      "  -X, --request METHOD      method (default GET; POST with -d, PUT with -T)\n"
      "  -H, --header 'K: V'       add a field (repeatable); 'K:' removes one of\n"
      "                            wasio-fetch's own, 'K;' sends it empty\n"
      "  -d, --data DATA           body (POST); @FILE reads FILE (@- stdin) without\n"
      "                            CR and LF; several -d are joined by '&'\n"
      "      --data-ascii DATA     the same as -d\n"
      "      --data-binary DATA    as -d, but @FILE is sent as it is\n"
      "      --data-raw DATA       as -d, without the @FILE meaning\n"
      "      --data-urlencode D    D percent-encoded: 'content', '=content',\n"
      "                            'name=content', '@file' or 'name@file'\n"
      "  -G, --get                 put the -d data in the URL's query, GET\n"
      "  -T, --upload-file FILE    PUT FILE (streamed; - reads stdin); a URL\n"
      "                            ending in / gets FILE's name appended\n"
      "  -u, --user USER:PASS      Basic authentication (also user:pass@ in the URL)\n"
      "  -A, --user-agent NAME     User-Agent ('' sends none)\n"
      "  -e, --referer URL         Referer; ';auto' adds it on redirects\n"
      "  -b, --cookie DATA|FILE    NAME=VALUE[; ...], or a Netscape cookie file;\n"
      "                            a file also keeps the cookies the server sets\n"
      "                            while -L follows redirects (-b '' for none)\n"
      "  -C, --continue-at N|-     resume: Range from byte N, or (-) from the\n"
      "                            size of the -o file\n"
      "      --compressed          ask for gzip/deflate and decode it (zlib)\n"
      "  -x, --proxy [http://]HOST[:PORT]  HTTP proxy (port 1080 by default):\n"
      "                            http:// URLs in absolute form, https:// through\n"
      "                            a CONNECT tunnel with TLS inside it\n"
      "  -U, --proxy-user USER:PASS  Basic authentication to the proxy\n"
      "  -p, --proxytunnel         CONNECT through the proxy for http:// too\n"
      "      --noproxy LIST        hosts (a,b.example,...; * all) reached directly;\n"
      "                            without -x, the proxy comes from http_proxy,\n"
      "                            HTTPS_PROXY/https_proxy or ALL_PROXY/all_proxy,\n"
      "                            minus NO_PROXY/no_proxy, as curl\n"
      "      --url URL             the URL (instead of the last argument)\n"
      "Response\n"
      "  -o, --output FILE         write the body to FILE (created at the first\n"
      "                            byte: a failed transfer leaves none)\n"
      "  -O, --remote-name         ... to a file named as the URL's last segment\n"
      "  -D, --dump-header FILE    write the heads to FILE (- is stdout)\n"
      "  -i, --include             print every head (each hop with -L) before\n"
      "                            the body\n"
      "  -I, --head                HEAD request, print the head\n"
      "  -L, --location            follow redirects (301 302 303 307 308)\n"
      "      --max-redirs N        at most N redirects with -L (default 50;\n"
      "                            -1 no limit); one more is error 47\n"
      "  -f, --fail                exit 22 on an HTTP status >= 400, no body\n"
      "      --fail-with-body      exit 22 on a status >= 400, with the body\n"
      "  -w, --write-out FORMAT    print FORMAT after the transfer (@FILE reads\n"
      "                            it): %{http_code} %{response_code}\n"
      "                            %{size_download} %{size_header} %{size_upload}\n"
      "                            %{time_total} %{speed_download}\n"
      "                            %{url_effective} %{redirect_url}\n"
      "                            %{content_type} %{num_redirects} %{method}\n"
      "                            %{scheme} %{http_version} %{exitcode}\n"
      "                            %{errormsg} %header{NAME} %{stderr}\n"
      "                            %{stdout}, and \\n \\r \\t %%\n"
      "Messages\n"
      "  -s, --silent              no progress meter, no error messages\n"
      "  -S, --show-error          error messages even with -s\n"
      "  -v, --verbose             the request ('> ') and response ('< ') heads\n"
      "                            and notes ('* ') on stderr\n"
      "      --no-progress-meter   no progress meter (errors are still shown)\n"
      "  -#, --progress-bar        a bar instead of the meter\n"
      "The progress meter goes to stderr unless -s, or the body goes to a\n"
      "terminal (curl's rule).\n"
      "Time and retries\n"
      "  -m, --max-time S          give up each attempt after S seconds\n"
      "      --connect-timeout S   give up connecting after S seconds\n"
      "      --retry N             retry N times after a transient error: a\n"
      "                            timeout, a resolve failure, HTTP 408 429 500\n"
      "                            502 503 504 (Retry-After is obeyed)\n"
      "      --retry-delay S       wait S seconds between retries (default: 1 s,\n"
      "                            doubling)\n"
      "      --retry-max-time S    no retry after S seconds in all\n"
      "      --retry-all-errors    retry after any error\n"
      "      --retry-connrefused   retry after a refused connection too\n"
      "TLS\n"
      "      --cacert FILE         also trust the CA certificate(s) in FILE (PEM)\n"
      "  -k, --insecure            do not verify the server's certificate\n"
      "      --tls-backend B       who does the TLS of https://: auto (default),\n"
      "                            guest or host (see below)\n"
      "Transport\n"
      "      --transport T         how requests travel: auto (default), sockets\n"
      "                            or host (see below)\n"
      "  -h, --help                this text;  -V, --version  the version\n"
      "\n"
      "TLS backends: guest is TLS 1.3 and 1.2 in the component (mbedTLS), verified\n"
      "against the built-in Mozilla roots (and --cacert). host is the host's TLS\n"
      "(wasi:tls), which decides what it trusts: it takes no --cacert or -k\n"
      "(bad usage, 2), and only the host-TLS build (wasio-fetch-hosttls.wasm, on\n"
      "a host with wasi:tls) has it (else 4). auto is host in the host-TLS build\n"
      "unless --cacert or -k is given, guest otherwise.\n"
      "\n"
      "Transports: sockets is wasio's HTTP/1.1 over TCP (wasi:sockets in a\n"
      "component: network access needed). host hands each request to the host's\n"
      "HTTP client (wasi:http outgoing-handler): no socket permission at all,\n"
      "the host connects and does the TLS; only the wasi:http build\n"
      "(wasio-fetch-http.wasm, e.g. wasmtime run -S http) has it (else 4), and\n"
      "it takes no -x, --cacert, -k, --tls-backend or -H Host (bad usage, 2).\n"
      "auto is host in the wasi:http build unless one of those is given,\n"
      "sockets otherwise. -v prints the choice (\"* Transport: ...\").\n"
      "\n"
      "In a component, files are those of the directory the host grants as\n"
      "\".\" (tools/wasio-run --dir DIR): give paths inside it, relative to it;\n"
      "network access needs tools/wasio-run --net.\n"
      "\n"
      "Exit codes (curl's): 0 ok, 1 unsupported protocol or HTTP version,\n"
      "  2 bad usage, 3 malformed URL, 4 TLS backend or transport not in this build,\n"
      "  5 could not resolve proxy, 6 could not resolve host, 7 could not\n"
      "  connect, 8 invalid HTTP reply, 18 body shorter than announced,\n"
      "  22 HTTP >= 400 with -f, 23 write error, 26 read error (-d @FILE, -T),\n"
      "  27 out of memory, 28 timeout, 33 server cannot resume (-C),\n"
      "  35 TLS handshake failed, 43 internal error, 47 too many redirects,\n"
      "  52 empty reply, 55 send error, 56 receive error (also a refused\n"
      "  CONNECT), 60 server certificate not trusted, 61 bad content encoding,\n"
      "  77 bad --cacert file. The status is the code on wasmtime and jco too;\n"
      "  messages read \"wasio-fetch: (7) ...\".\n",
      out);
}

/* ---- helpers ------------------------------------------------------------------ */

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("wasio-fetch: (2) ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nwasio-fetch: try 'wasio-fetch --help' for more information\n", stderr);
  return EXIT_INIT;
}

int fetch_read_file(const char *path, size_t max, char **out, size_t *len) {
  FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (fp == NULL) return -1;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  int err = ENOMEM;
  while (buf != NULL) {
    if (n == cap) {
      if (cap >= max) {
        err = EFBIG;
        break;
      }
      char *p = realloc(buf, cap * 2 + 1);
      if (p == NULL) break;
      buf = p;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, fp);
    n += got;
    if (got == 0) {
      bool ok = !ferror(fp);
      err = errno ? errno : EIO;
      if (fp != stdin) fclose(fp);
      if (!ok || n > max) {
        free(buf);
        errno = ok ? EFBIG : err;
        return -1;
      }
      buf[n] = 0; /* a NUL after the bytes: text readers may rely on it */
      *out = buf;
      *len = n;
      return 0;
    }
  }
  free(buf);
  if (fp != stdin) fclose(fp);
  errno = err;
  return -1;
}

/* Appends `len` bytes to the -d body, after a '&' when there is one. */
static int data_append(fetch_t *f, const char *p, size_t len, bool amp) {
  size_t need = f->data_len + (amp && f->has_data ? 1 : 0) + len + 1;
  if (need > FETCH_MAX_DATA_FILE + 1) return -1;
  char *d = realloc(f->data, need);
  if (d == NULL) return -1;
  f->data = d;
  if (amp && f->has_data) f->data[f->data_len++] = '&';
  memcpy(f->data + f->data_len, p, len);
  f->data_len += len;
  f->data[f->data_len] = 0;
  f->has_data = true;
  return 0;
}

/* curl's --data-urlencode: everything but A-Z a-z 0-9 - . _ ~ as %XX, and
 * a space as '+'. */
static int data_append_urlencoded(fetch_t *f, const char *p, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  char *enc = malloc(len * 3 + 1);
  if (enc == NULL) return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)p[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      enc[n++] = (char)c;
    } else if (c == ' ') {
      enc[n++] = '+';
    } else {
      enc[n++] = '%';
      enc[n++] = hex[c >> 4];
      enc[n++] = hex[c & 15];
    }
  }
  int rc = data_append(f, enc, n, false);
  free(enc);
  return rc;
}

/* A file for -d @FILE and kin; a missing file is error 26 (curl 7.88 sends
 * an empty body with a warning instead: losing the data silently is worse). */
static int data_file(fetch_t *f, const char *path, char **buf, size_t *len) {
  errno = 0;
  if (fetch_read_file(path, FETCH_MAX_DATA_FILE, buf, len) != 0) {
    int e = errno;
    const char *hint = fetch_path_hint(path, e);
    fprintf(stderr, "wasio-fetch: (26) Failed to open/read local data from file %s: %s%s\n", path,
            e == EFBIG ? "larger than the 64 MiB limit" : strerror(e), hint);
    (void)f;
    return EXIT_READ_ERROR;
  }
  return 0;
}

static int opt_data(fetch_t *f, int id, const char *v) {
  char *buf = NULL;
  size_t len = 0;
  int code;
  if (id == O_DATA_URLENCODE) {
    /* 'content', '=content', 'name=content', '@file', 'name@file' */
    const char *eq = strchr(v, '=');
    const char *at = strchr(v, '@');
    bool oom = false;
    if (f->has_data) oom |= data_append(f, "", 0, true) != 0;
    if (at != NULL && (eq == NULL || at < eq)) {
      if ((code = data_file(f, at + 1, &buf, &len)) != 0) return code;
      if (at > v) oom |= data_append(f, v, (size_t)(at - v), false) != 0 || data_append(f, "=", 1, false) != 0;
      oom |= data_append_urlencoded(f, buf, len) != 0;
      free(buf);
    } else if (eq != NULL) {
      if (eq > v) oom |= data_append(f, v, (size_t)(eq - v + 1), false) != 0;
      oom |= data_append_urlencoded(f, eq + 1, strlen(eq + 1)) != 0;
    } else {
      oom |= data_append_urlencoded(f, v, strlen(v)) != 0;
    }
    f->has_data = true;
    return oom ? usage_error("--data-urlencode: out of memory or over 64 MiB") : 0;
  }
  if (v[0] == '@' && id != O_DATA_RAW) {
    if ((code = data_file(f, v + 1, &buf, &len)) != 0) return code;
    if (id == O_DATA) { /* -d strips CR and LF from a file, as curl does */
      size_t k = 0;
      for (size_t i = 0; i < len; i++)
        if (buf[i] != '\r' && buf[i] != '\n') buf[k++] = buf[i];
      len = k;
    }
    int rc = data_append(f, buf, len, true);
    free(buf);
    return rc != 0 ? usage_error("-d: out of memory or over 64 MiB") : 0;
  }
  return data_append(f, v, strlen(v), true) != 0 ? usage_error("-d: out of memory or over 64 MiB") : 0;
}

/* Seconds, fractions allowed, as curl's --max-time. */
static int parse_seconds(const char *opt, const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < 0 || v > 1e9)
    return usage_error("option %s: expected a proper numerical parameter", opt);
  *out = (uint64_t)(v * 1e9);
  if (*out == 0 && v > 0) *out = 1;
  return 0;
}

static int parse_long(const char *opt, const char *s, long min, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < min)
    return usage_error("option %s: expected a proper numerical parameter", opt);
  *out = v;
  return 0;
}

/* Applies one option; 0, -1 (exit 0 now), or an exit code. */
static int apply(fetch_t *f, const opt_def_t *o, const char *name, const char *v) {
  int code;
  long n;
  switch (o->id) {
  case O_REQUEST: f->method = v; return 0;
  case O_HEADER:
    if (f->n_user_headers == FETCH_MAX_USER_HEADERS)
      return usage_error("more than %d -H fields", FETCH_MAX_USER_HEADERS);
    if (strchr(v, ':') == NULL && (strlen(v) == 0 || v[strlen(v) - 1] != ';'))
      return usage_error("bad header '%s' (want 'Name: value', 'Name:' or 'Name;')", v);
    f->user_headers[f->n_user_headers++] = v;
    return 0;
  case O_DATA: case O_DATA_BINARY: case O_DATA_RAW: case O_DATA_URLENCODE: return opt_data(f, o->id, v);
  case O_GET: f->data_get = true; return 0;
  case O_OUTPUT: f->out_path = v; return 0;
  case O_REMOTE_NAME: f->remote_name = true; return 0;
  case O_DUMP_HEADER: f->dump_header = v; return 0;
  case O_LOCATION: f->follow = true; return 0;
  case O_MAX_REDIRS:
    if ((code = parse_long(name, v, -1, &n)) != 0) return code;
    f->max_redirs = n;
    return 0;
  case O_INCLUDE: f->include = true; return 0;
  case O_HEAD: f->head = true; return 0;
  case O_FAIL: f->fail_http = true; return 0;
  case O_FAIL_WITH_BODY: f->fail_with_body = true; return 0;
  case O_SILENT: f->silent = true; return 0;
  case O_SHOW_ERROR: f->show_error = true; return 0;
  case O_VERBOSE: f->verbose = true; return 0;
  case O_MAX_TIME: return parse_seconds(name, v, &f->max_time_ns);
  case O_CONNECT_TIMEOUT: return parse_seconds(name, v, &f->connect_ns);
  case O_CACERT: f->cacert = v; return 0;
  case O_INSECURE: f->insecure = true; return 0;
  case O_TLS_BACKEND:
    if (!strcmp(v, "auto")) f->tls_want = WASIO_TLS_BACKEND_AUTO;
    else if (!strcmp(v, "guest")) f->tls_want = WASIO_TLS_BACKEND_GUEST;
    else if (!strcmp(v, "host")) f->tls_want = WASIO_TLS_BACKEND_HOST;
    else return usage_error("bad --tls-backend '%s' (want auto, guest or host)", v);
    return 0;
  case O_TRANSPORT:
    if (!strcmp(v, "auto")) f->transport_want = WASIO_HTTP_TRANSPORT_AUTO;
    else if (!strcmp(v, "sockets")) f->transport_want = WASIO_HTTP_TRANSPORT_SOCKETS;
    else if (!strcmp(v, "host")) f->transport_want = WASIO_HTTP_TRANSPORT_HOST;
    else return usage_error("bad --transport '%s' (want auto, sockets or host)", v);
    return 0;
  case O_USER:
    if (strchr(v, ':') == NULL)
      return usage_error("-u %s: give USER:PASSWORD (wasio-fetch does not prompt for a password)", v);
    free(f->userpwd);
    f->userpwd = strdup(v);
    return f->userpwd == NULL ? EXIT_OUT_OF_MEMORY : 0;
  case O_USER_AGENT: f->user_agent = v; return 0;
  case O_REFERER: {
    size_t len = strlen(v);
    f->referer_auto = len >= 5 && strcmp(v + len - 5, ";auto") == 0;
    f->referer = v; /* ";auto" is cut when the field is made */
    return 0;
  }
  case O_COOKIE:
    if (cookies_add_arg(&f->jar, v) != 0) return usage_error("-b %s: too many cookies or out of memory", v);
    return 0;
  case O_UPLOAD: f->upload = v; return 0;
  case O_CONTINUE_AT:
    if (!strcmp(v, "-")) {
      f->resume_auto = true;
      return 0;
    }
    if ((code = parse_long(name, v, 0, &n)) != 0) return code;
    f->resume_from = n;
    return 0;
  case O_PROXY: f->proxy = v; return 0;
  case O_PROXY_USER:
    if (strchr(v, ':') == NULL) return usage_error("-U %s: give USER:PASSWORD", v);
    f->proxy_user = v;
    return 0;
  case O_PROXYTUNNEL: f->proxytunnel = true; return 0;
  case O_NOPROXY: f->noproxy = v; return 0;
  case O_WRITE_OUT:
    free(f->write_out);
    f->write_out = NULL;
    if (v[0] == '@') {
      size_t len;
      errno = 0;
      if (fetch_read_file(v + 1, FETCH_MAX_SMALL_FILE, &f->write_out, &len) != 0) {
        int e = errno;
        fprintf(stderr, "wasio-fetch: (26) Failed to read -w format from %s: %s%s\n", v + 1, strerror(e),
                fetch_path_hint(v + 1, e));
        return EXIT_READ_ERROR;
      }
      return 0;
    }
    f->write_out = strdup(v);
    return f->write_out == NULL ? EXIT_OUT_OF_MEMORY : 0;
  case O_COMPRESSED: f->compressed = true; return 0;
  case O_RETRY:
    if ((code = parse_long(name, v, 0, &n)) != 0) return code;
    f->retry = n;
    return 0;
  case O_RETRY_DELAY:
    f->retry_delay_given = true;
    return parse_seconds(name, v, &f->retry_delay_ns);
  case O_RETRY_MAX_TIME: return parse_seconds(name, v, &f->retry_max_time_ns);
  case O_RETRY_ALL: f->retry_all = true; return 0;
  case O_RETRY_CONNREFUSED: f->retry_connrefused = true; return 0;
  case O_NO_PROGRESS: f->no_progress = true; return 0;
  case O_PROGRESS_BAR: f->progress_bar = true; return 0;
  case O_URL:
    if (f->url_arg != NULL) return usage_error("one URL only (got '%s' too)", v);
    f->url_arg = v;
    return 0;
  case O_HELP: fetch_usage(stdout); return -1;
  case O_VERSION:
    printf("wasio-fetch %s (wasio; HTTP/1.1, TLS by %s, zlib)\n", WASIO_VERSION_STRING, wasio_tls_library());
    return -1;
  default: return EXIT_INTERNAL;
  }
}

static const opt_def_t *find_short(char c) {
  for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++)
    if (OPTS[i].short_name == c) return &OPTS[i];
  return NULL;
}

static const opt_def_t *find_long(const char *name) {
  for (size_t i = 0; i < sizeof OPTS / sizeof OPTS[0]; i++)
    if (!strcmp(OPTS[i].long_name, name)) return &OPTS[i];
  return NULL;
}

int fetch_parse_args(fetch_t *f, int argc, char **argv) {
  if (argc <= 1) return usage_error("no URL specified!");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int code;
    if (a[0] == '-' && a[1] == '-' && a[2] != 0) {
      const opt_def_t *o = find_long(a + 2);
      if (o == NULL) return usage_error("option %s: is unknown", a);
      const char *v = NULL;
      if (o->arg) {
        if (i + 1 >= argc) return usage_error("option %s: requires parameter", a);
        v = argv[++i];
      }
      if ((code = apply(f, o, a, v)) != 0) return code;
    } else if (a[0] == '-' && a[1] != 0) {
      /* A group of short options; one that takes an argument ends it. */
      for (const char *p = a + 1; *p; p++) {
        const opt_def_t *o = find_short(*p);
        char name[3] = {'-', *p, 0};
        if (o == NULL) return usage_error("option %s: is unknown", name);
        const char *v = NULL;
        if (o->arg) {
          if (p[1] != 0) {
            v = p + 1;
          } else {
            if (i + 1 >= argc) return usage_error("option %s: requires parameter", name);
            v = argv[++i];
          }
        }
        if ((code = apply(f, o, name, v)) != 0) return code;
        if (o->arg) break;
      }
    } else if (f->url_arg == NULL) {
      f->url_arg = a;
    } else {
      return usage_error("one URL only (got '%s' too)", a);
    }
  }
  if (f->url_arg == NULL) return usage_error("no URL specified!");
  /* -d means POST (unless -G), -T PUT, -I HEAD: one of them at most. */
  if ((f->has_data && !f->data_get) + (f->upload != NULL) + f->head > 1)
    return usage_error("You can only select one HTTP request method! (-d, -T and -I exclude each other)");
  if (f->retry_delay_given && f->retry_delay_ns == 0) f->retry_delay_given = false; /* curl: 0 = the default */
  return 0;
}
