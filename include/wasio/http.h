/* wasio/http.h: HTTP/1.1 client and server on the wasio loop.
 *
 * Both sit on the sans-I/O codec (wasio/http_codec.h) and on wasio TCP; TLS
 * plugs in underneath (https:// URLs, a TLS listener) without changing this
 * API. Everything runs on one loop thread, like the rest of wasio.
 *
 * The server has two transports behind one handler API (a listening
 * socket, or the host's wasi:http/incoming-handler in a component built
 * with `wasio-cc --http`): see "server" below and docs/WASI_HTTP.md.
 *
 * Lifetimes (one sentence each):
 * - A client is valid until its close callback has returned.
 * - A call is valid from wasio_http_call_start() until its on_done callback
 *   has returned; the library frees it then.
 * - A server is valid until its close callback has returned.
 * - An exchange (one request and its response on a server) is valid from the
 *   handler call until its on_complete callback has returned.
 *
 * Views (wasio_http_str_t, wasio_http_header_t, the request/response heads)
 * handed to a callback are valid only during that callback.
 */
#ifndef WASIO_HTTP_H
#define WASIO_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "addr.h"
#include "http_codec.h"
#include "loop.h"
#include "tls.h"
#include "tls_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- client ---------------------------------------------------------------- */

typedef struct wasio_http_client wasio_http_client_t;
typedef struct wasio_http_call wasio_http_call_t;

/* How a client's calls travel (wasio_http_client_opts_t.transport).
 *
 * SOCKETS: the client's own HTTP/1.1 over wasio TCP (wasi:sockets in a
 *   component, the OS natively): its connection pool, the guest's TLS
 *   (mbedTLS) or the host's wasi:tls for https://, every option below.
 * HOST: each call is handed to the host's HTTP client through
 *   wasi:http/outgoing-handler (docs/WASI_HTTP_CLIENT.md). The component
 *   needs no socket permission at all (`wasmtime run -S http`); the host
 *   owns connections, pooling and the TLS of https:// (its own roots and
 *   rules: the client's `tls` config and `tls_backend` do not apply, and
 *   wasio_http_client_new() refuses them with WASIO_EINVAL rather than
 *   ignore them). Only in a build linked with libwasio-http.a
 *   (tools/wasio-cc --http); elsewhere wasio_http_client_new() fails with
 *   WASIO_ENOTSUP.
 * AUTO (0): HOST in the wasi:http build, SOCKETS in every other one
 *   (natively too). As for wasio_tls_backend_t, "the host has it" is
 *   decided when the component is instantiated: the wasi:http build does
 *   not start on a host without wasi:http, so there is nothing to probe.
 *
 * What is the same on both: the callbacks and their order, streaming in
 * both directions with pause and resume_upload, redirects (the rule of
 * wasio_http_call_opts_t.max_redirects, applied by the client itself: the
 * host is never asked to follow one), the total timeout (a timer of the
 * client), cancel, close, and the error codes for the same failure (a
 * refused connect is WASIO_ECONNREFUSED, a silent server
 * WASIO_ETIMEDOUT, a body cut short WASIO_EHTTP_TRUNCATED). What differs
 * over HOST:
 * - timeouts: connect_ns, first_byte_ns and between_bytes_ns are also
 *   given to the host as its request options, and the client keeps its own
 *   deadline for each (a host may ignore an option: jco does for the last
 *   two); the client's first-byte deadline runs from the request's start
 *   (the guest cannot see the connect end) and is connect_ns +
 *   first_byte_ns when both are set;
 * - fields the host reserves are refused at wasio_http_call_start() with
 *   WASIO_EHTTP_FORBIDDEN_HEADER: Host (the URL's authority is sent),
 *   Connection, Keep-Alive, Proxy-Connection, Upgrade, HTTP2-Settings; the
 *   host frames the body from the Content-Length the client sets (or
 *   chunked without one);
 * - the response head the callbacks see is rebuilt from the host's fields:
 *   version 1.1, the standard reason phrase (wasio_http_reason), field
 *   names as the host gives them (lower case on wasmtime); framing says
 *   LENGTH with a Content-Length, CHUNKED with "Transfer-Encoding:
 *   chunked" where the host keeps that field, else CLOSE (the host decoded
 *   the body either way); keep_alive is false;
 * - codec errors of the response (a malformed chunk, a bad status line)
 *   are the host's to find: most arrive as WASIO_EHTTP_PROTOCOL;
 * - wasio_http_call_request_head() shows the request as the socket
 *   transport would write it (the host writes its own);
 * - https:// is the host's TLS, with the host's trust: wasi:http's
 *   TLS-certificate-error is WASIO_ETLS_CERT_INVALID (it does not say
 *   why); wasmtime reports a certificate it does not trust as a TLS
 *   protocol error (WASIO_ETLS); jco's messages name the problem
 *   (WASIO_ETLS_CERT_UNTRUSTED, _EXPIRED, _NAME, ...).
 * More codes, only over HOST: WASIO_EHTTP_DENIED (the host refused to send
 * the request: a destination it does not allow), WASIO_EHTTP_BODY_SIZE
 * (the body sent differs from its Content-Length), WASIO_EHTTP_PROTOCOL
 * (the host's HTTP client reported a protocol error). */
typedef enum wasio_http_transport {
  WASIO_HTTP_TRANSPORT_AUTO = 0,    /* HOST in the wasi:http build, else SOCKETS */
  WASIO_HTTP_TRANSPORT_SOCKETS = 1, /* wasio's HTTP/1.1 over TCP */
  WASIO_HTTP_TRANSPORT_HOST = 2     /* wasi:http/outgoing-handler (libwasio-http.a) */
} wasio_http_transport_t;

/* True in the wasi:http build (libwasio-http.a), false in every other
 * library and natively. */
bool wasio_http_host_available(void);

/* The transport `want` means in this build: WASIO_HTTP_TRANSPORT_SOCKETS
 * or WASIO_HTTP_TRANSPORT_HOST (never AUTO). Returns WASIO_ENOTSUP for HOST
 * in a build without wasi:http, WASIO_EINVAL for a value not in the enum. */
int wasio_http_transport_resolve(wasio_http_transport_t want);

/* "auto", "sockets" or "host"; NULL for anything else. */
const char *wasio_http_transport_name(wasio_http_transport_t transport);

/* Defaults (used where an option is 0). */
#define WASIO_HTTP_MAX_CONNS_PER_ORIGIN 6    /* open connections per origin */
#define WASIO_HTTP_MAX_IDLE_PER_ORIGIN 6     /* idle keep-alive connections kept */
#define WASIO_HTTP_POOL_IDLE_TIMEOUT_NS (30ull * WASIO_NS_PER_S)
#define WASIO_HTTP_MAX_REDIRECTS 10
/* Hard limits. */
#define WASIO_HTTP_MAX_ORIGINS 256           /* distinct origins in one pool */
#define WASIO_HTTP_MAX_REQUEST_HEADERS 64    /* caller headers per call */

/* 0 in a field means "no limit" for a client's defaults and "the client's
 * default" for a call. On expiry the call ends with WASIO_ETIMEDOUT. */
typedef struct wasio_http_timeouts {
  uint64_t connect_ns;        /* DNS + TCP (+ TLS) connect */
  uint64_t first_byte_ns;     /* request sent -> first response byte */
  uint64_t between_bytes_ns;  /* longest silence while reading the response */
  uint64_t total_ns;          /* start -> on_done, redirects included */
} wasio_http_timeouts_t;

typedef struct wasio_http_client_opts {
  size_t max_conns_per_origin;  /* 0: WASIO_HTTP_MAX_CONNS_PER_ORIGIN */
  size_t max_idle_per_origin;   /* 0: WASIO_HTTP_MAX_IDLE_PER_ORIGIN */
  uint64_t idle_timeout_ns;     /* 0: WASIO_HTTP_POOL_IDLE_TIMEOUT_NS */
  wasio_http_timeouts_t timeouts;
  /* https:// (wasio/tls.h, mbedTLS in the guest). NULL: on the first https
   * connection the client makes a default client config (the built-in
   * Mozilla roots, full verification, ALPN http/1.1) and frees it when the
   * client has closed. A config of yours (e.g. with wasio_tls_config_add_ca_pem
   * or _insecure) must outlive the client and is not changed by it: set
   * ALPN on it yourself if you want it offered. Either way SNI and the
   * verified name are the URL's host, sessions are resumed from the
   * config's cache, and TLS connections are pooled like plain ones. */
  wasio_tls_config_t *tls;
  /* Who does the TLS of https:// (wasio/tls_host.h). AUTO (0): the host's
   * wasi:tls in a build linked with libwasio-hosttls.a (wasio-cc --host-tls)
   * when `tls` is NULL, since the host cannot honour a config of yours;
   * the guest's mbedTLS otherwise. GUEST: always the guest. HOST: always the host;
   * wasio_http_client_new() fails with WASIO_ENOTSUP in a build without it
   * and with WASIO_EINVAL when `tls` is set. Through the host the host's
   * roots decide, no ALPN is offered, and the connect timeout bounds the
   * TCP connect only. */
  wasio_tls_backend_t tls_backend;
  /* Sockets or the host's wasi:http (wasio_http_transport_t above). AUTO
   * (0) over HOST with `tls` set, or `tls_backend` other than AUTO, is
   * WASIO_EINVAL: those options cannot apply to the host's TLS. */
  wasio_http_transport_t transport;
} wasio_http_client_opts_t;

/* Creates a client (a connection pool). opts may be NULL (all defaults).
 * Returns 0, WASIO_ENOMEM, WASIO_EINVAL, or WASIO_ENOTSUP (the HOST
 * transport in a build without it). */
int wasio_http_client_new(wasio_loop_t *loop, const wasio_http_client_opts_t *opts,
                          wasio_http_client_t **out);

/* Cancels every call (their on_done gets WASIO_ECANCELED), closes every
 * connection, then runs cb (may be NULL) once. Idempotent. An idle pooled
 * connection keeps the loop alive (it waits for the server's close, bounded
 * by idle_timeout_ns), so close the client when done with it. */
void wasio_http_client_close(wasio_http_client_t *client, void (*cb)(wasio_http_client_t *client));

/* The transport the client's calls take: WASIO_HTTP_TRANSPORT_SOCKETS or
 * WASIO_HTTP_TRANSPORT_HOST (AUTO resolved). */
wasio_http_transport_t wasio_http_client_transport(const wasio_http_client_t *client);

/* Streaming request body, pulled when the connection can take more:
 * return > 0 (bytes put in buf), 0 (the body is complete), WASIO_EAGAIN
 * (nothing now: call wasio_http_call_resume_upload() when there is), or
 * another negative code (the call fails with it). */
typedef ptrdiff_t (*wasio_http_body_read_cb)(wasio_http_call_t *call, void *buf, size_t cap);

typedef struct wasio_http_call_opts {
  const char *method;               /* NULL: "GET" (or "POST" with a body) */
  const char *url;                  /* absolute http:// or https:// URL */
  const wasio_http_header_t *headers; /* extra fields; may be NULL */
  size_t num_headers;
  /* Request body from a buffer (kept by the caller until on_done)... */
  const void *body;
  size_t body_len;
  /* ...or streamed: body_read set, body_length the exact length or -1 for a
   * chunked body. */
  wasio_http_body_read_cb body_read;
  int64_t body_length;
  /* Redirects: -1 follows up to WASIO_HTTP_MAX_REDIRECTS, 0 none, n > 0 up
   * to n. 301/302 turn POST into GET, 303 turns anything but HEAD into GET
   * (dropping the body); 307/308 repeat method and body (a streamed body
   * cannot be repeated: the 3xx response is returned instead). A redirect
   * beyond the limit ends the call with WASIO_ELIMIT (a loop, e.g.);
   * credentials (Authorization, Cookie) are dropped when the origin
   * changes. */
  int max_redirects;
  wasio_http_timeouts_t timeouts;
  void *data;
  /* The final response head (never a 1xx; after redirects). May be NULL. */
  void (*on_response)(wasio_http_call_t *call, const wasio_http_response_t *res);
  /* Decoded body bytes (chunk framing removed), in order. May be NULL. */
  void (*on_body)(wasio_http_call_t *call, const void *data, size_t len);
  /* Exactly once: 0 when the response was received whole, else why not.
   * https adds the TLS codes of wasio/tls.h: a certificate that fails
   * verification ends the call with its WASIO_ETLS_CERT_* code before any
   * byte of the request was sent; WASIO_ETLS_TRUNCATED when a body framed by
   * the connection's end ended without close_notify (it may have been cut
   * short by an attacker). */
  void (*on_done)(wasio_http_call_t *call, int status);
  /* Trailer fields sent after a streamed chunked body (body_read with
   * body_length -1; with any other body WASIO_EINVAL): at most
   * WASIO_HTTP_MAX_TRAILERS, not Content-Length, Transfer-Encoding or Host
   * (WASIO_EINVAL), checked like the headers. Copied by the call. Over the
   * HOST transport they go to the host's outgoing-body.finish; a host that
   * cannot send trailers (jco) ends the call with WASIO_ENOTSUP. */
  const wasio_http_header_t *trailers;
  size_t num_trailers;
} wasio_http_call_opts_t;

/* Starts a call. Errors (on_done is then not called): WASIO_EINVAL (NULL
 * url or on_done, bad method or CONNECT, too many headers, a Content-Length
 * or Transfer-Encoding field: the client frames the body itself),
 * WASIO_ELIMIT (a request head over 32 KiB, or WASIO_HTTP_MAX_ORIGINS
 * origins in use), WASIO_EURL_* (bad URL),
 * WASIO_EHTTP_BAD_HEADER_NAME/VALUE (a header would inject),
 * WASIO_ENOMEM,
 * WASIO_ECLOSING (client closing). The call copies opts, the URL and the
 * headers; a buffer body must stay valid until on_done. */
int wasio_http_call_start(wasio_http_client_t *client, const wasio_http_call_opts_t *opts,
                          wasio_http_call_t **out);

/* Cancels: on_done runs with WASIO_ECANCELED in the next turn. Returns 0,
 * or WASIO_EINVAL when the call already finished. */
int wasio_http_call_cancel(wasio_http_call_t *call);

/* Stops (pause = true) or restarts delivering on_body: backpressure for a
 * slow consumer. While paused the connection is not read. */
int wasio_http_call_pause(wasio_http_call_t *call, bool pause);

/* After body_read returned WASIO_EAGAIN: there is more to send. */
int wasio_http_call_resume_upload(wasio_http_call_t *call);

/* The `data` of the call's options (wasio_http_call_opts_t). */
void *wasio_http_call_data(const wasio_http_call_t *call);
/* The request head the call sends (or sent) for its current URL: request
 * line, fields and the empty line, exactly as written to the connection
 * (what curl -v shows). Valid until on_done returns or a followed redirect
 * replaces it. */
wasio_http_str_t wasio_http_call_request_head(const wasio_http_call_t *call);
/* The URL the final response came from (after redirects), NUL-terminated. */
const char *wasio_http_call_url(const wasio_http_call_t *call);
/* Redirects followed so far. */
int wasio_http_call_redirects(const wasio_http_call_t *call);
/* The response's trailer fields (of a chunked body, or the ones the host
 * received) into *fields and *num (0 and NULL when there were none).
 * Valid inside on_done with status 0, which is the only time they are
 * known: WASIO_ESTATE elsewhere (*num 0), WASIO_EINVAL for a NULL
 * argument. */
int wasio_http_call_trailers(const wasio_http_call_t *call, const wasio_http_header_t **fields, size_t *num);

/* One blocking call for simple programs, on a loop of its own: GET `url`,
 * follow redirects, collect at most max_body bytes of body (more is
 * WASIO_ELIMIT). On 0, *status_code is the final status and *body (free it
 * with free()) holds *body_len bytes plus a NUL. timeout_ns bounds it all
 * (WASIO_NO_TIMEOUT: none). It uses a client with the AUTO transport: the
 * host's wasi:http in the wasi:http build, sockets otherwise. */
int wasio_http_fetch(const char *url, uint64_t timeout_ns, size_t max_body, int *status_code,
                     char **body, size_t *body_len);

/* ---- server ----------------------------------------------------------------
 *
 * Two transports, one handler API (wasio_http_server_opts_t.transport,
 * the client's wasio_http_transport_t):
 * - SOCKETS: the server listens on a TCP socket and speaks HTTP/1.1 itself
 *   (natively, and in a component run as a command: wasmtime run, jco run).
 * - HOST: a component linked with libwasio-http.a (`wasio-cc --http`)
 *   serves the requests its host hands to the wasi:http/incoming-handler
 *   export (`wasmtime serve`, `jco serve`, the proxy-world platforms). The
 *   host owns the listener, the connections, the wire format and TLS.
 * AUTO (0) is HOST in the --http build, SOCKETS in every other one; so the
 * same C file builds as a socket server (wasio-cc, or natively) and as a
 * wasi:http handler (wasio-cc --http) without a change.
 *
 * The HOST transport, as the program sees it (docs/WASI_HTTP.md):
 * - main() runs once per instance, inside the first request the instance
 *   gets, with the arguments the host gives (none on wasmtime serve; jco
 *   serve passes the arguments after the component on its command line),
 *   through the same program entry
 *   as a command's main, but main's return ends nothing: no exit(), no
 *   atexit handlers, the instance lives on.
 * - wasio_http_server_listen() binds the server to the host instead of a
 *   socket: the address and the backlog are ignored (the host's command
 *   line chooses where it listens). One server per instance: a second
 *   bind is WASIO_EBUSY. wasio_http_server_local_addr() is WASIO_ENOTSUP.
 * - While a server is bound to the host, wasio_loop_run() called outside a
 *   request (from main) returns 0 as soon as it would wait: everything
 *   main left open (the loop, the server, clients, their pools, timers,
 *   calls in flight) stays and carries on during the requests. So main
 *   ends with `return wasio_loop_run(loop, WASIO_RUN_DEFAULT);` in both
 *   builds.
 * - Each request is an exchange of that server on the same loop. The
 *   export runs the loop until the response is finished (its body ended,
 *   or aborted) and the request body is dropped, then returns to the host;
 *   on_complete has run by then. Whatever a handler left running (timers,
 *   calls, sockets) stays on the loop and runs on during the next request
 *   of the same instance (the host may reuse instances: `wasmtime serve
 *   --max-instance-reuse-count`, jco serve's one instance), never between
 *   requests (the instance does not run then).
 * - On wasi:http 0.3 (wasio-cc --p3 --http) the export is async: one
 *   instance serves several requests at once (wasmtime serve: up to 16,
 *   --max-instance-concurrent-reuse-count), each an exchange of the same
 *   server on the same loop, which runs while any of them is under way;
 *   at WASIO_HTTP_HOST_MAX_CONCURRENT the instance asks the host for no
 *   more until one ends.
 * - A request that reaches an instance whose main returned without binding
 *   a server, or whose server was shut down, gets 500 with a body that
 *   says why; so does a request whose handler returned with no response
 *   and left nothing on the loop that could make one (the export sees the
 *   loop has no work left): the host never waits forever.
 * - The same rules hold on both transports (limits, timeouts, the
 *   errors of bad calls); what differs: the host frames the response
 *   (Content-Length when known, else its choice, e.g. chunked) and adds
 *   Date; Connection and Keep-Alive fields of a response are dropped (the
 *   host owns the connections), other fields the host reserves are
 *   WASIO_EHTTP_FORBIDDEN_HEADER; the request has no Host field from the
 *   wire (the host's authority is given as Host, first) and
 *   req->version_minor is 1; a request without Content-Length may have a
 *   body (the host does not say: req->framing.body is CHUNKED then, and
 *   reading it may give nothing); "100 Continue" is the host's to send
 *   (wasmtime sends it when the body is first read, as the socket server
 *   does; jco at once); wasio_http_exchange_peer_addr() is WASIO_ENOTSUP. */

typedef struct wasio_http_server wasio_http_server_t;
typedef struct wasio_http_exchange wasio_http_exchange_t;

#define WASIO_HTTP_SERVER_MAX_CONNECTIONS 1024
#define WASIO_HTTP_SERVER_MAX_BODY (8u * 1024u * 1024u)   /* request body: 413 past it */
#define WASIO_HTTP_SERVER_IDLE_TIMEOUT_NS (60ull * WASIO_NS_PER_S)
#define WASIO_HTTP_SERVER_HEAD_TIMEOUT_NS (10ull * WASIO_NS_PER_S)  /* slow-client defence */
#define WASIO_HTTP_SERVER_BODY_TIMEOUT_NS (30ull * WASIO_NS_PER_S)  /* between body bytes */
/* Through a wasi:http 0.3 host: requests one instance serves at once; at
 * this many the instance asks the host for no more (backpressure) until
 * one ends. The host's own limit may be lower (wasmtime serve: 16,
 * --max-instance-concurrent-reuse-count). */
#define WASIO_HTTP_HOST_MAX_CONCURRENT 64

typedef struct wasio_http_server_opts {
  size_t max_connections;  /* 0: default; more are accepted and closed at once (SOCKETS) */
  uint64_t max_body;       /* 0: default */
  /* 0: defaults. Through the host: idle_timeout_ns bounds a response the
   * client does not take (no progress), body_timeout_ns the silence while
   * reading a request body; head_timeout_ns is the host's business. */
  uint64_t idle_timeout_ns, head_timeout_ns, body_timeout_ns;
  /* HTTPS: a server-role config (wasio/tls.h) with its certificate chain
   * and key, or NULL for plain HTTP. Every connection does the TLS
   * handshake first (within head_timeout_ns; a failed one closes the
   * connection and never reaches the handler); every close after a good
   * handshake (graceful, idle, shutdown, error) sends close_notify first,
   * waiting at most 2 s without progress. wasio_http_server_new() sets the
   * config's ALPN to "http/1.1", the only protocol this server speaks. The
   * config is the caller's: free it after the server's shutdown callback.
   * SOCKETS only. */
  struct wasio_tls_config *tls;
  /* Where requests come from (see above): SOCKETS, HOST, or AUTO (0): HOST
   * in the wasi:http build, SOCKETS elsewhere. HOST (also through AUTO)
   * with `tls` set is WASIO_EINVAL: the host does TLS; ask for SOCKETS
   * for an HTTPS socket server in the wasi:http build. */
  wasio_http_transport_t transport;
} wasio_http_server_opts_t;

/* Called once per request when its head has arrived (the body may still be
 * arriving: see read_body). The handler must eventually respond (now or
 * later, from any callback). One exchange at a time per connection: the
 * handler of a request is called only after the exchange before it on the
 * same connection has completed (its on_complete has returned: the
 * response was handed to the connection whole, or failed). A client that
 * pipelines requests and does not read its responses therefore holds at
 * most one exchange; the requests behind it wait in the connection's
 * input buffer, and the server stops reading when that is full.
 *
 * req->target is the request-target as sent: origin-form ("/path?q"), or
 * absolute-form ("http://host:port/path?q", which RFC 9112 section 3.2.2
 * requires a server to accept), or "*" for OPTIONS.
 * wasio_http_request_authority() (wasio/http_codec.h) gives the host the
 * request is for: the target's authority in absolute-form (Host is then
 * ignored, as the RFC says), else the Host field.
 *
 * Requests the server refuses never reach it: the server answers them
 * itself and closes the connection (400 malformed, with the codec's error
 * in the body, including an HTTP/1.1 request without Host, any request
 * with two Host fields or an invalid Host value, and a target whose form
 * its method does not allow; 431 header block too large; 414 request line
 * too long; 501 a Transfer-Encoding other than chunked, and any CONNECT:
 * the server cannot hand a handler a tunnel, and closes without parsing
 * the bytes after that head; 505 an HTTP version other than 1.x; 413 a
 * Content-Length above max_body; 408 a head that did not arrive within
 * head_timeout_ns). */
typedef void (*wasio_http_handler)(wasio_http_exchange_t *ex, const wasio_http_request_t *req);

/* Creates a server (not yet listening). opts may be NULL. Errors:
 * WASIO_EINVAL (also: opts->tls is a client config or has no
 * certificate, or is given with the HOST transport, or a transport not in
 * the enum), WASIO_ENOTSUP (HOST in a build without wasi:http),
 * WASIO_EBUSY (opts->tls already in use by connections), WASIO_ENOMEM. */
int wasio_http_server_new(wasio_loop_t *loop, const wasio_http_server_opts_t *opts,
                          wasio_http_handler handler, void *data, wasio_http_server_t **out);
/* SOCKETS: binds and listens (port 0 picks one; wasio_http_server_local_addr
 * tells). HOST: binds the server to the host's incoming-handler; addr (may
 * then be NULL) and backlog are ignored; WASIO_EBUSY when another server
 * of the instance is bound (one per instance). Both: WASIO_ESTATE when
 * already listening, WASIO_ECLOSING after shutdown. */
int wasio_http_server_listen(wasio_http_server_t *server, const wasio_addr_t *addr, int backlog);
/* The listening socket's address: 0, WASIO_ESTATE (not listening),
 * WASIO_ENOTSUP (HOST: the host's command line chooses the address). */
int wasio_http_server_local_addr(const wasio_http_server_t *server, wasio_addr_t *out);
/* Whether the server's transport is the host's incoming-handler (HOST,
 * also through AUTO), for a program that prints where it listens. */
bool wasio_http_server_on_host(const wasio_http_server_t *server);
/* The `data` given to wasio_http_server_new(). */
void *wasio_http_server_data(const wasio_http_server_t *server);
/* Graceful: stops accepting (HOST: unbinds from the host; later requests
 * get 500), lets in-flight exchanges finish (closing each
 * connection after its current response), closes idle connections; after
 * timeout_ns (0: no limit) the rest are closed (at once when no memory is
 * left for the timer: the wait stays bounded); then cb (may be NULL) runs
 * once and the server is freed. Idempotent. */
void wasio_http_server_shutdown(wasio_http_server_t *server, uint64_t timeout_ns,
                                void (*cb)(wasio_http_server_t *server));

/* Request body: on_data gets decoded bytes in order, then on_end once with
 * 0 (complete), WASIO_ELIMIT (past max_body: the server answers 413 if no
 * response started), a WASIO_EHTTP_* code (WASIO_EHTTP_TRUNCATED: the
 * client ended before the body did), WASIO_ETIMEDOUT (no byte for
 * body_timeout_ns: 408 if no response started) or WASIO_ECONNRESET.
 * Sends "100 Continue" first when the client expects it (through the
 * host: the host does, see above). Call at most once per exchange; a
 * body that is never read is discarded (through the host: dropped). */
int wasio_http_exchange_read_body(wasio_http_exchange_t *ex,
                                  void (*on_data)(wasio_http_exchange_t *ex, const void *data, size_t len),
                                  void (*on_end)(wasio_http_exchange_t *ex, int status));

/* Stops (pause = true) or restarts delivering on_data: backpressure for a
 * handler that streams the body somewhere slower (an echo, a proxy). While
 * paused the connection is not read and the body timeout does not run. */
int wasio_http_exchange_pause(wasio_http_exchange_t *ex, bool pause);

/* The trailer fields of the request body (a chunked body's trailer
 * section; through the host, what the host gives: jco gives none), or
 * NULL: valid only inside on_end(ex, 0), and NULL there when the body had
 * none. At most WASIO_HTTP_MAX_TRAILERS fields (more: on_end gets
 * WASIO_EHTTP_TOO_MANY_HEADERS). */
const wasio_http_trailers_t *wasio_http_exchange_trailers(const wasio_http_exchange_t *ex);

/* A whole response. The server adds Content-Length (and Date, Connection
 * when closing). `body` (may be NULL when len is 0) must stay valid until
 * on_complete. For a HEAD request the body is not sent (len still sets its
 * Content-Length).
 * The server frames every response itself, so the framing fields of
 * `headers` must agree with it: a Content-Length field (one, 1*DIGIT) equal
 * to len is accepted and sent instead of the server's own; any other one
 * is refused, because the client would take the wrong number of bytes as
 * the body (response splitting): WASIO_EHTTP_CONTENT_LENGTH_MISMATCH (a
 * different number, or two fields), WASIO_EHTTP_BAD_CONTENT_LENGTH (not
 * a decimal number). A 304 may carry the caller's Content-Length as is
 * (the length a 200 would have had); a 204 none (RFC 9110 section 8.6:
 * WASIO_EINVAL). Any Transfer-Encoding field is WASIO_EINVAL: the server
 * chooses the transfer coding. Other errors: WASIO_EINVAL (bad status,
 * NULL body with len > 0, a body with a 204/304), WASIO_EBUSY (already
 * responded: one response per exchange), WASIO_ESTATE / WASIO_ECLOSING
 * (exchange over, connection closing), WASIO_ENOBUFS (the head over 8
 * KiB), WASIO_EHTTP_BAD_HEADER_* (a field that would inject),
 * WASIO_EHTTP_FORBIDDEN_HEADER (HOST: a field the host reserves). Nothing
 * is sent on error, and the exchange can still be answered. */
int wasio_http_respond(wasio_http_exchange_t *ex, int status, const wasio_http_header_t *headers,
                       size_t num_headers, const void *body, size_t len);

/* A streamed response: content_length >= 0 sends Content-Length, -1 sends a
 * chunked body (close-delimited to an HTTP/1.0 client; through the host,
 * the host's framing). A Content-Length
 * field in `headers` follows wasio_http_respond()'s rule against
 * content_length: equal, it is sent instead of the server's; different,
 * or with -1, WASIO_EHTTP_CONTENT_LENGTH_MISMATCH. Then respond_write (one
 * write outstanding at a time: the next after its callback, which runs
 * once the transport took every byte: no response is buffered whole, and
 * a client that does not read holds the writer back) and respond_end
 * (or respond_end_trailers).
 *
 * Bad calls, each refused with nothing sent and the response intact:
 * respond_write beyond the declared Content-Length is
 * WASIO_EHTTP_CONTENT_LENGTH_MISMATCH (write what is still owed, or
 * abort); a write or end after respond_end, or before respond_start, is
 * WASIO_ESTATE; a second respond/respond_start is WASIO_EBUSY; a write
 * while one is outstanding is WASIO_EBUSY; any call once the exchange is
 * over (after on_complete) is WASIO_ESTATE. respond_end before all of a
 * Content-Length body was written returns WASIO_EINVAL and aborts the
 * response (the client sees a truncated body, never a wrong one). */
int wasio_http_respond_start(wasio_http_exchange_t *ex, int status,
                             const wasio_http_header_t *headers, size_t num_headers,
                             int64_t content_length);
int wasio_http_respond_write(wasio_http_exchange_t *ex, const void *data, size_t len,
                             void (*cb)(wasio_http_exchange_t *ex, int status));
int wasio_http_respond_end(wasio_http_exchange_t *ex);

/* Ends a streamed response of unknown length (content_length -1) with
 * trailer fields after the body (a chunked trailer section; through the
 * host, the host's trailers). The fields are copied. Errors as
 * respond_end, plus WASIO_ESTATE (a response with a Content-Length: HTTP/1.1
 * cannot carry trailers after it), WASIO_EINVAL (more than
 * WASIO_HTTP_MAX_TRAILERS, or a Content-Length or Transfer-Encoding
 * field), WASIO_EHTTP_BAD_HEADER_* (a field that would inject). Where
 * the client cannot take trailers (an HTTP/1.0 client, a HEAD request)
 * they are dropped and the body ends as with respond_end. A host that
 * cannot send trailers (jco) aborts the response, and on_complete gets
 * WASIO_ENOTSUP. */
int wasio_http_respond_end_trailers(wasio_http_exchange_t *ex, const wasio_http_header_t *trailers,
                                    size_t num_trailers);

/* Gives up on the response, because of `err` (a WASIO_E* code, < 0). If no
 * response was started, the client gets a 500 (SOCKETS: the server's own,
 * naming err in its body, then the connection closes; HOST: the
 * response-outparam is set to a wasi:http error-code, which wasmtime
 * answers with 500; jco's shim exits the whole process on it: see
 * docs/WASI_HTTP.md). After respond or respond_start the response is cut
 * short: SOCKETS closes the connection, HOST drops the body unfinished, so
 * the client sees an incomplete response, never a complete-looking one.
 * A write outstanding gets its callback with err; on_complete gets err.
 * Returns 0, WASIO_EINVAL (err >= 0, NULL ex) or WASIO_ESTATE (over). */
int wasio_http_respond_abort(wasio_http_exchange_t *ex, int err);

/* Called once when the exchange is over: 0 when the response was handed
 * to the transport whole (every byte accepted by the transport; a body
 * the handler asked for has ended; one it never asked for is discarded
 * after), or why not (WASIO_ECONNRESET,
 * WASIO_ECANCELED at shutdown, WASIO_ETIMEDOUT when the client took
 * nothing for idle_timeout_ns, the code given to
 * wasio_http_respond_abort, ...). Set it any time before that. The next
 * request of the connection reaches the handler only after it returns. */
void wasio_http_exchange_on_complete(wasio_http_exchange_t *ex,
                                     void (*cb)(wasio_http_exchange_t *ex, int status));

/* The user's pointer of the exchange (wasio_http_exchange_set_data() sets
 * it, wasio_http_exchange_data() returns it: NULL until set, and for a
 * NULL exchange), and the server it belongs to
 * (wasio_http_exchange_server()). */
void wasio_http_exchange_set_data(wasio_http_exchange_t *ex, void *data);
void *wasio_http_exchange_data(const wasio_http_exchange_t *ex);
wasio_http_server_t *wasio_http_exchange_server(const wasio_http_exchange_t *ex);
/* The client's address into *out. Returns 0, WASIO_ESTATE (the exchange
 * is complete: inside on_complete too, so ask from the handler), or
 * WASIO_ECLOSING (the connection is closing), WASIO_EINVAL (NULL), or the
 * TCP error (wasio_tcp_peer_addr()); WASIO_ENOTSUP through the host
 * (wasi:http does not tell). */
int wasio_http_exchange_peer_addr(const wasio_http_exchange_t *ex, wasio_addr_t *out);

#ifdef __cplusplus
}
#endif
#endif
