/* apps/wasio-fetch/fetch.h: what the files of wasio-fetch share.
 *
 *   wasio-fetch.c  main(): attempts and retries, hops and redirects, the
 *                  response (head, body, output), errors and exit codes
 *   options.c      the command line (curl's syntax) and --help
 *   proxy.c        -x: one hop through an HTTP proxy (absolute-form
 *                  requests, or a CONNECT tunnel with TLS inside)
 *   output.c       the progress meter, -w, -v lines
 *   decode.c       --compressed: gzip and deflate through zlib
 *   cookies.c      -b: the cookie string, the cookie file and the cookies
 *                  a server sets while redirects are followed
 *
 * One fetch_t holds the options and the state of the one transfer; every
 * limit is a named constant here.
 */
#ifndef WASIO_FETCH_H
#define WASIO_FETCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "wasio.h"
#include "wasio/tls_host.h"

/* ---- limits ------------------------------------------------------------------- */

/* -H fields; with the fields wasio-fetch adds itself (FETCH_OWN_FIELDS) they
 * stay within the HTTP client's WASIO_HTTP_MAX_REQUEST_HEADERS. */
#define FETCH_MAX_USER_HEADERS 48
#define FETCH_OWN_FIELDS 11 /* Host Authorization Range User-Agent Accept Accept-Encoding
                               Referer Cookie Content-Type Proxy-Authorization Content-Length */
#define FETCH_MAX_FIELDS (FETCH_MAX_USER_HEADERS + FETCH_OWN_FIELDS)
/* Files read into memory whole: -d @FILE, -T - (stdin), -w @FILE, -b FILE. */
#define FETCH_MAX_DATA_FILE (64u * 1024u * 1024u)
#define FETCH_MAX_SMALL_FILE (4u * 1024u * 1024u) /* --cacert, -w @FILE, -b FILE */
/* -b: cookies kept (file and Set-Cookie together), and the longest Cookie
 * field sent. */
#define FETCH_MAX_COOKIES 300
#define FETCH_MAX_COOKIE_FIELD 8192
/* curl's default --max-redirs (7.88). */
#define FETCH_DEFAULT_MAX_REDIRS 50
/* --retry backoff without --retry-delay: 1 s, doubling, at most 10 min (curl's). */
#define FETCH_RETRY_SLEEP_DEFAULT_NS (1ull * WASIO_NS_PER_S)
#define FETCH_RETRY_SLEEP_MAX_NS (600ull * WASIO_NS_PER_S)
/* Streamed uploads (-T FILE) are read this much at a time. */
#define FETCH_UPLOAD_CHUNK 32768
/* The progress meter is redrawn at most this often (curl: once a second). */
#define FETCH_PROGRESS_INTERVAL_NS (1ull * WASIO_NS_PER_S)
/* The proxy path's input buffer: any response head, plus one read. */
#define FETCH_PROXY_BUF (WASIO_HTTP_MAX_HEAD + 65536)
/* curl's default proxy port. */
#define FETCH_DEFAULT_PROXY_PORT 1080
/* -w variables and one error message. */
#define FETCH_ERRMSG_MAX 512

/* curl's exit codes (man curl, EXIT CODES): the ones wasio-fetch produces. */
enum {
  EXIT_OK = 0,
  EXIT_UNSUPPORTED_PROTOCOL = 1,
  EXIT_INIT = 2,
  EXIT_URL_MALFORMAT = 3,
  EXIT_NOT_BUILT_IN = 4,
  EXIT_COULDNT_RESOLVE_PROXY = 5,
  EXIT_COULDNT_RESOLVE_HOST = 6,
  EXIT_COULDNT_CONNECT = 7,
  EXIT_WEIRD_SERVER_REPLY = 8,
  EXIT_PARTIAL_FILE = 18,
  EXIT_HTTP_RETURNED_ERROR = 22,
  EXIT_WRITE_ERROR = 23,
  EXIT_READ_ERROR = 26,
  EXIT_OUT_OF_MEMORY = 27,
  EXIT_OPERATION_TIMEDOUT = 28,
  EXIT_RANGE_ERROR = 33,
  EXIT_SSL_CONNECT_ERROR = 35,
  EXIT_INTERNAL = 43,
  EXIT_TOO_MANY_REDIRECTS = 47,
  EXIT_GOT_NOTHING = 52,
  EXIT_SEND_ERROR = 55,
  EXIT_RECV_ERROR = 56,
  EXIT_PEER_FAILED_VERIFICATION = 60,
  EXIT_BAD_CONTENT_ENCODING = 61,
  EXIT_SSL_CACERT_BADFILE = 77,
  EXIT_SSL_PINNEDPUBKEYNOTMATCH = 90
};

/* ---- --compressed (decode.c) --------------------------------------------------- */

typedef struct fetch fetch_t;

typedef struct decoder {
  void *z;          /* z_stream, allocated while decoding */
  int kind;         /* DECODE_* (decode.c) */
  bool started;     /* output came out, or the raw-deflate fallback is decided */
  bool ended;       /* the compressed stream is complete */
} decoder_t;

/* Reads a Content-Encoding value: 0 and *active false for none or identity,
 * 0 and *active true for gzip, x-gzip or deflate (the decoder is ready), or
 * -1 for an encoding wasio-fetch cannot decode. */
int decoder_init(decoder_t *d, wasio_http_str_t encoding, bool *active);
/* Decodes in[0..len) and hands the output to fetch_write_body(); returns 0,
 * or -1 with a message in *why (the data is not what the encoding says). */
int decoder_feed(decoder_t *d, fetch_t *f, const void *in, size_t len, const char **why);
/* The body ended: 0 if the compressed stream was complete, else -1. */
int decoder_finish(decoder_t *d, const char **why);
void decoder_free(decoder_t *d);

/* ---- -b cookies (cookies.c) ---------------------------------------------------- */

typedef struct cookie cookie_t;
typedef struct cookie_jar {
  bool engine;             /* a -b FILE was given: Set-Cookie is remembered */
  char *literal;           /* -b NAME=VALUE strings, joined by "; " */
  cookie_t *list;
  size_t n;
  unsigned next_order;
} cookie_jar_t;

/* -b ARG: NAME=VALUE text (anything with '=') or a Netscape cookie file. A
 * file that cannot be read turns the engine on with no cookies (as curl).
 * Returns 0 or -1 (out of memory, too many cookies). */
int cookies_add_arg(cookie_jar_t *jar, const char *arg);
/* A Set-Cookie value received from `u` (engine only). */
void cookies_set(cookie_jar_t *jar, const wasio_url_t *u, wasio_http_str_t value);
/* The Cookie field's value for a request to `u` in buf (NUL-terminated);
 * returns its length (0: send none). */
size_t cookies_header(const cookie_jar_t *jar, const wasio_url_t *u, char *buf, size_t cap);
void cookies_free(cookie_jar_t *jar);

/* ---- the transfer ---------------------------------------------------------------- */

/* The request body of a hop: memory (-d and its kin, -T -) or a file that is
 * streamed (-T FILE). */
typedef struct body_src {
  const char *mem;
  size_t mem_len;
  FILE *fp;
  uint64_t file_len;
  const char *path;  /* -T FILE, for messages */
} body_src_t;

/* One request and its response: the first URL or a followed redirect. */
typedef struct hop {
  char *url;                 /* owned; what %{url_effective} reports */
  wasio_url_t u;             /* views into url */
  const char *method;
  bool with_body;            /* this hop sends the body */
  wasio_http_header_t fields[FETCH_MAX_FIELDS];
  size_t nfields;
  char *field_mem;           /* values wasio-fetch made for this hop */
  /* the response */
  bool got_head;
  int status;
  bool redirect;             /* a redirect -L follows: its body is dropped */
  char *location;            /* the resolved Location when redirect */
  bool discard;              /* the body is not output (redirect, -f, 416, ...) */
  bool decode;               /* --compressed and a known Content-Encoding */
  bool has_length;
  uint64_t content_length;
  uint64_t body_bytes;       /* raw body bytes received */
} hop_t;

typedef struct progress {
  bool on;
  bool header_done;
  bool ended;        /* the last line is out (the transfer ended, or failed) */
  uint64_t started, last_draw;
  /* Samples for the current speed: (time, bytes) about a second apart. */
  uint64_t sample_t[6], sample_b[6];
  int samples;
} progress_t;

struct fetch {
  /* ---- options (options.c) ---- */
  const char *url_arg;
  const char *method;          /* -X */
  const char *user_headers[FETCH_MAX_USER_HEADERS];
  size_t n_user_headers;
  char *data;                  /* -d and kin, joined by '&' */
  size_t data_len;
  bool has_data, data_get;     /* -G */
  const char *upload;          /* -T */
  const char *out_path;        /* -o */
  bool remote_name;            /* -O */
  const char *dump_header;     /* -D */
  bool follow, include, head, fail_http, fail_with_body, silent, show_error, verbose;
  bool insecure, compressed, progress_bar, no_progress, proxytunnel;
  long max_redirs;
  char *userpwd;               /* -u, or from the URL's userinfo */
  const char *user_agent;      /* -A; NULL: the default */
  const char *referer;         /* -e */
  bool referer_auto;           /* -e ";auto" */
  cookie_jar_t jar;            /* -b */
  bool resume_auto;            /* -C - */
  int64_t resume_from;         /* -C N; -1: none */
  const char *proxy;           /* -x */
  const char *proxy_user;      /* -U */
  const char *noproxy;         /* --noproxy */
  char *write_out;             /* -w (owned: @FILE is read) */
  long retry;
  uint64_t retry_delay_ns, retry_max_time_ns;
  bool retry_delay_given, retry_all, retry_connrefused;
  uint64_t max_time_ns, connect_ns;
  const char *cacert;
  wasio_tls_backend_t tls_want;
  wasio_http_transport_t transport_want; /* --transport */
  /* ---- resolved before the transfer ---- */
  wasio_http_transport_t transport_used; /* SOCKETS or HOST */
  wasio_tls_backend_t tls_used;
  wasio_tls_config_t *tls;     /* --cacert/-k, or the proxy path's own */
  char *url;                   /* the first URL (scheme added, userinfo taken out) */
  char *proxy_host;            /* -x split */
  uint16_t proxy_port;
  char *proxy_auth;            /* "Basic ..." for -U */
  char *proxy_user_owned;      /* -x user:pass@host, decoded */
  wasio_tls_config_t *proxy_tls; /* the proxy path's default config (roots, ALPN), made on first use */
  char *out_name_owned;        /* the -O name */
  char *upload_mem;            /* -T - read from stdin */
  body_src_t body;
  /* ---- the loop ---- */
  wasio_loop_t *loop;
  wasio_http_client_t *client;
  wasio_timer_t *timer;        /* --max-time, and the --retry sleep */
  /* ---- the current attempt ---- */
  hop_t hop;
  wasio_http_call_t *call;     /* the direct path's call, while it runs */
  struct proxy_hop *ph;        /* the proxy path's hop, while it runs */
  bool hop_done;
  int hop_status;              /* the transport's status of the hop */
  int abort_code;              /* an exit code decided while the hop ran */
  bool timed_out;              /* --max-time ended the hop */
  bool deadline_passed;        /* --max-time has passed in this attempt */
  bool err_at_proxy;           /* the hop's error happened reaching the proxy (5, 7 name the proxy) */
  decoder_t dec;
  uint64_t resume_offset;      /* Range sent for this attempt (0: none) */
  /* output */
  FILE *out;                   /* NULL until the first byte (-o, -O) */
  const char *out_name;        /* -o or the -O name */
  bool out_append;             /* resuming: append to the file */
  bool out_is_stdout;
  int open_errno;
  bool write_failed;
  FILE *dump;                  /* -D */
  uint64_t out_bytes;          /* body bytes written this attempt */
  progress_t prog;
  /* -w */
  uint64_t t_start;
  int http_code;               /* the last response's status */
  char content_type[256];
  int num_redirects;
  uint64_t size_download, size_header, size_upload;
  char *redirect_url;          /* the unfollowed Location of the last response */
  char *last_head;             /* the last response head as -i prints it */
  char errmsg[FETCH_ERRMSG_MAX];
  int retry_after_s;           /* the last response's Retry-After, or -1 */
};

/* options.c */
int fetch_parse_args(fetch_t *f, int argc, char **argv); /* 0, -1 (--help/--version: exit 0), or an exit code */
int fetch_read_file(const char *path, size_t max, char **out, size_t *len); /* 0 or -1 with errno */
void fetch_usage(FILE *out);

/* wasio-fetch.c: the hop's events, from the direct call or the proxy path. */
void fetch_on_request_head(fetch_t *f, const char *head, size_t len);
void fetch_on_head(fetch_t *f, const wasio_http_response_t *res);
void fetch_on_body(fetch_t *f, const void *data, size_t len);
void fetch_on_done(fetch_t *f, int status);
/* The proxy's answer to CONNECT: -v and -i show it, as curl does. */
void fetch_on_proxy_head(fetch_t *f, const wasio_http_response_t *res);
/* Body bytes after decoding, to the output; false after a write error. */
bool fetch_write_body(fetch_t *f, const void *data, size_t len);
/* "wasio-fetch: (code) ..." (unless -s without -S), kept for %{errormsg};
 * returns code. */
int fetch_fail(fetch_t *f, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An exit code and message for a wasio error of the hop (or of a proxy). */
int fetch_error(fetch_t *f, int err, bool proxy);
/* Fills the body source's next piece for a streamed upload: > 0 bytes, 0 at
 * the end, or a negative wasio error. */
ptrdiff_t fetch_body_read(fetch_t *f, void *buf, size_t cap);
/* Where to open a file: a hint when the host gave no access (WASI). */
const char *fetch_path_hint(const char *path, int err);

/* proxy.c */
typedef struct proxy_hop proxy_hop_t;
/* Starts the current hop (f->hop) through the proxy; the events come back
 * through fetch_on_*. Returns 0 or a wasio error (nothing started). */
int proxy_hop_start(fetch_t *f);
/* Ends the hop now (its fetch_on_done follows with WASIO_ECANCELED). */
void proxy_hop_cancel(proxy_hop_t *ph);

/* output.c */
void progress_begin(fetch_t *f);
void progress_update(fetch_t *f, bool final);
void verbose_lines(const char *prefix, const char *text, size_t len);
void write_out(fetch_t *f, int code);

#endif
