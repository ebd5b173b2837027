/* wasio/http_codec.h: the sans-I/O HTTP/1.1 codec and the URL parser.
 *
 * Nothing here touches a socket, a clock or the heap. Parsers are fed the
 * bytes a connection has received so far and report how far they got; the
 * HTTP client and server drive them from the event loop, and the tests and
 * fuzzers drive them directly. Everything is C11 and portable (native and
 * wasm32).
 *
 * Three pieces:
 *   1. Head parsing: wasio_http_parse_request()/wasio_http_parse_response()
 *      turn a start line plus header block into views (pointer + length)
 *      into the caller's buffer, and decide the body framing.
 *   2. Body decoding: wasio_http_body_decode() walks a Content-Length,
 *      chunked or close-delimited body and hands out views of the payload
 *      (zero copy; chunk framing is skipped, trailers are parsed).
 *   3. Writing: request/status lines, header blocks and chunk framing
 *      serialised into a caller buffer, with size checks.
 * and wasio_url_parse() for the client. For servers: request targets split
 * into path and query, percent-decoding and -encoding, dot-segment removal
 * and query parameters (wasio_http_target_parse() and what follows it), and
 * the pieces of conditional and range requests (HTTP dates, entity-tag
 * lists, Range). All of them write only into caller buffers.
 *
 * The one rule for feeding (heads, trailers, anything that returns
 * WASIO_EAGAIN): WASIO_EAGAIN means "incomplete". Keep the unconsumed bytes,
 * append what arrives next, and call again with a buffer that starts with
 * the same bytes as before (the buffer may have moved: parsers remember
 * offsets, never pointers). Work done on earlier calls is not repeated, so
 * feeding a head byte by byte costs O(n) in total.
 *
 * Strictness (RFC 9112, chosen to make request smuggling impossible rather
 * than to accept every historical peer):
 *   - Lines end in CRLF. A bare LF is rejected (WASIO_EHTTP_BARE_LF) in
 *     requests and responses alike, and a CR not followed by LF is rejected
 *     (WASIO_EHTTP_BARE_CR) anywhere in a head, chunk line or trailer.
 *   - Any number of empty lines (CRLF) before a start line are skipped (RFC
 *     9112 section 2.2); they count towards WASIO_HTTP_MAX_HEAD.
 *   - Header lines starting with SP/HTAB (obs-fold) are rejected
 *     (WASIO_EHTTP_OBS_FOLD); so is whitespace before the colon.
 *   - Content-Length: 1*DIGIT after trimming surrounding whitespace, at most
 *     UINT64_MAX. Several Content-Length fields, or a comma list, are
 *     accepted only when every value is identical (RFC 9110 section 8.6) and
 *     then count as one; differing values give
 *     WASIO_EHTTP_CONTENT_LENGTH_MISMATCH.
 *   - Chunk extensions must follow RFC 9112 section 7.1.1's grammar
 *     (";" name [ "=" token / quoted-string ], with BWS around ";" and
 *     "="), at most WASIO_HTTP_MAX_CHUNK_EXTS per line; they are then
 *     ignored. "2;" (no name), an unclosed quoted string or whitespace
 *     before the CRLF is WASIO_EHTTP_BAD_CHUNK_EXT, in requests and
 *     responses alike.
 *   - Transfer-Encoding: the only accepted value (over all fields) is a
 *     single "chunked" token, in HTTP/1.1 messages only. Anything else
 *     (gzip, chunked twice, chunked not last, any TE in HTTP/1.0) is
 *     WASIO_EHTTP_BAD_TRANSFER_ENCODING, in requests and responses; together
 *     with Content-Length it is WASIO_EHTTP_CL_AND_TE.
 *   - Host (RFC 9112 section 3.2): an HTTP/1.1 request needs one Host
 *     field, no request may have two, and its value must be uri-host
 *     [":" port] (wasio_http_host_valid()); otherwise WASIO_EHTTP_BAD_HOST.
 *     The form of the target is checked by wasio_http_request_authority(),
 *     not by the parser.
 *   - The version must be "HTTP/1.D". HTTP/1.2 and later minors are
 *     accepted and reported as such, with HTTP/1.1 semantics.
 *
 * Every error is sticky: once a parser or decoder has failed, each later
 * call returns the same code. A connection that got an error must not be
 * reused: the framing of anything after it is unknown.
 */
#ifndef WASIO_HTTP_CODEC_H
#define WASIO_HTTP_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ---------------------------------------------------------------
 * Exceeding one gives the named error. The head of a message is its start
 * line, its header lines and the empty line that ends them. */

/* Longest request or status line, without its CRLF
 * (WASIO_EHTTP_START_LINE_TOO_LONG). */
#define WASIO_HTTP_MAX_START_LINE 8192
/* Largest head in bytes, from the first byte (leading empty lines included)
 * through the CRLF of the empty line (WASIO_EHTTP_HEADERS_TOO_LARGE). The
 * same limit applies to a trailer section. */
#define WASIO_HTTP_MAX_HEAD 16384
/* Most header fields in a head (WASIO_EHTTP_TOO_MANY_HEADERS). */
#define WASIO_HTTP_MAX_HEADERS 100
/* Most fields in a trailer section (WASIO_EHTTP_TOO_MANY_HEADERS). */
#define WASIO_HTTP_MAX_TRAILERS 16
/* Longest chunk-size line (size and extensions), without its CRLF
 * (WASIO_EHTTP_CHUNK_LINE_TOO_LONG): it bounds the total length of a
 * chunk's extensions. */
#define WASIO_HTTP_MAX_CHUNK_LINE 1024
/* Most chunk extensions (";name[=value]") on one chunk-size line
 * (WASIO_EHTTP_BAD_CHUNK_EXT beyond). */
#define WASIO_HTTP_MAX_CHUNK_EXTS 16

/* ---- views ------------------------------------------------------------------ */

/* A view of bytes owned by someone else; not NUL-terminated. */
typedef struct wasio_http_str {
  const char *ptr;
  size_t len;
} wasio_http_str_t;

/* A view of a string literal. */
#define WASIO_HTTP_STR(lit) ((wasio_http_str_t){(lit), sizeof(lit) - 1})

/* A header field; the value has surrounding whitespace trimmed. */
typedef struct wasio_http_header {
  wasio_http_str_t name;
  wasio_http_str_t value;
} wasio_http_header_t;

/* How the body of a parsed message is delimited. */
typedef enum wasio_http_body_kind {
  WASIO_HTTP_BODY_NONE = 0,  /* no body (or Content-Length: 0) */
  WASIO_HTTP_BODY_LENGTH,    /* exactly content_length bytes */
  WASIO_HTTP_BODY_CHUNKED,   /* chunked transfer coding */
  WASIO_HTTP_BODY_CLOSE      /* until the connection closes (responses only) */
} wasio_http_body_kind_t;

/* What the headers say about the body and the connection. */
typedef struct wasio_http_framing {
  wasio_http_body_kind_t body;
  /* The Content-Length value when one was present (has_content_length),
   * even where it does not frame a body (a response to HEAD, a 304). */
  uint64_t content_length;
  bool has_content_length;
  /* Whether the connection may carry another message after this one: HTTP/1.1
   * unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive";
   * never after a close-delimited body. */
  bool keep_alive;
  /* Request: HTTP/1.1 with "Expect: 100-continue" (ignored in HTTP/1.0, as
   * RFC 9110 section 10.1.1 requires). The server should send
   * "100 Continue" before reading the body. Other expectations are left to
   * the application (the Expect field is among the headers). */
  bool expect_continue;
  /* Request: "Connection: upgrade" with an Upgrade field. Response: 101, or
   * a 2xx answer to CONNECT; after the head the connection carries another
   * protocol and this codec is done with it. */
  bool upgrade;
} wasio_http_framing_t;

typedef struct wasio_http_request {
  wasio_http_str_t method;  /* a token, case-sensitive ("GET") */
  wasio_http_str_t target;  /* request-target as sent ("/a?b", "*", "host:443") */
  int version_minor;        /* 0 for HTTP/1.0, 1 for HTTP/1.1, ... */
  size_t num_headers;
  wasio_http_header_t headers[WASIO_HTTP_MAX_HEADERS];
  wasio_http_framing_t framing;
} wasio_http_request_t;

typedef struct wasio_http_response {
  int version_minor;
  int status;               /* 100..999 */
  wasio_http_str_t reason;  /* may be empty */
  size_t num_headers;
  wasio_http_header_t headers[WASIO_HTTP_MAX_HEADERS];
  wasio_http_framing_t framing;
} wasio_http_response_t;

typedef struct wasio_http_trailers {
  size_t num_fields;
  wasio_http_header_t fields[WASIO_HTTP_MAX_TRAILERS];
} wasio_http_trailers_t;

/* ---- head parsing -----------------------------------------------------------
 *
 * A wasio_http_parser_t is caller-allocated and holds no pointers; its
 * fields are private. One parser parses one head; re-initialise it for the
 * next message (a pipelined one starts at the byte the previous message's
 * body ended at). */
typedef struct wasio_http_parser {
  uint32_t wasio__scanned;     /* bytes lexed so far */
  uint32_t wasio__line_start;  /* offset of the current line */
  uint32_t wasio__first_line;  /* offset of the start line (after empty lines) */
  uint32_t wasio__lines;       /* complete lines (start line + fields) */
  uint32_t wasio__head_len;    /* set when complete */
  int wasio__error;            /* sticky error, 0 if none */
  uint8_t wasio__kind;         /* request, response, trailers */
  uint8_t wasio__state;
} wasio_http_parser_t;

/* Prepares `p` for a new head. Never fails. */
void wasio_http_parser_init(wasio_http_parser_t *p);

/* Flags of wasio_http_parse_response(): what the request was, since the
 * response's framing depends on it (RFC 9112 section 6.3). */
#define WASIO_HTTP_RESPONSE_TO_HEAD 0x1u     /* no body, whatever the headers say */
#define WASIO_HTTP_RESPONSE_TO_CONNECT 0x2u  /* a 2xx opens a tunnel */

/* Parses a request head from buf[0..len), the bytes received so far for
 * this message.
 *
 * Preconditions: `p` was initialised for this message; on every call buf
 * starts with the bytes given on the previous call (it may have moved and
 * grown). buf may be NULL when len is 0.
 * Returns:
 *   > 0             the head is complete and this many bytes long; *req is
 *                   filled, its views point into buf (valid as long as those
 *                   bytes are). The body (req->framing) starts at buf + the
 *                   return value.
 *   WASIO_EAGAIN    incomplete; call again with more bytes. *req is
 *                   unspecified.
 *   WASIO_EINVAL    len is smaller than on an earlier call, buf is NULL with
 *                   len > 0, or `p` was used for a response (not sticky:
 *                   nothing was consumed).
 *   WASIO_EHTTP_*   the head is invalid (see the list in the error map and
 *                   the strictness notes above); a server should answer 400
 *                   (431 for the size limits, 505 for the version, 501 for
 *                   WASIO_EHTTP_BAD_TRANSFER_ENCODING) and close.
 * Calling again after completion returns the same length and fills *req
 * again. */
int wasio_http_parse_request(wasio_http_parser_t *p, const char *buf, size_t len,
                             wasio_http_request_t *req);

/* Parses a response head; same contract as wasio_http_parse_request(), with
 * `flags` from WASIO_HTTP_RESPONSE_TO_*. A 1xx response other than 101 is an
 * interim response with no body: parse the next head after it. Responses
 * without Content-Length or Transfer-Encoding (and not bodiless by status
 * or flags) are close-delimited. */
int wasio_http_parse_response(wasio_http_parser_t *p, const char *buf, size_t len,
                              unsigned flags, wasio_http_response_t *res);

/* Finds the first field named `name` (case-insensitive) at or after index
 * *pos of headers[0..n); returns its index (and sets *pos past it, so that
 * calling again finds the next one), or -1. *pos may start at 0. */
int wasio_http_find_header(const wasio_http_header_t *headers, size_t n, const char *name,
                           size_t *pos);

/* True when the comma-separated field value contains `token`
 * (case-insensitive, surrounding whitespace ignored). */
bool wasio_http_has_token(wasio_http_str_t value, const char *token);

/* ---- the authority of a request (RFC 9112 section 3.2) -------------------------- */

/* True when `value` is a valid Host field value: uri-host [":" port] of
 * RFC 3986 (an IP-literal in brackets, or a reg-name of unreserved,
 * pct-encoded and sub-delims bytes, which includes dotted IPv4 and may be
 * empty), the port digits at most 65535. wasio_http_parse_request()
 * refuses a request whose Host fails this. */
bool wasio_http_host_valid(wasio_http_str_t value);

/* Checks the form of req->target against its method and gives the
 * authority (host[:port]) the request is for:
 *   origin-form "/path?query" (any method but CONNECT), asterisk-form "*"
 *   (OPTIONS only): the Host field's value (an empty view when there is
 *   none, which only HTTP/1.0 allows);
 *   absolute-form "http://authority/path?query" (or https, scheme
 *   case-insensitive; any method but CONNECT): the target's authority,
 *   whatever Host says (RFC 9112 section 3.2.2: the server MUST ignore
 *   Host then). A handler that splits such a target into path and query
 *   starts after the authority;
 *   authority-form "host:port" (CONNECT only): the target itself.
 * Returns 0 and sets *out (a view into the request's bytes), or
 * WASIO_EHTTP_BAD_TARGET: a form the method does not allow, an
 * absolute-form URI that is not http or https, that has userinfo
 * ("user@host"), or whose authority is not a valid, non-empty
 * uri-host [":" port]. The HTTP server answers 400 to such a request
 * before any handler sees it. */
int wasio_http_request_authority(const wasio_http_request_t *req, wasio_http_str_t *out);

/* ---- body decoding ------------------------------------------------------------
 *
 * A wasio_http_body_t walks one message body. Its fields are private. */
typedef struct wasio_http_body {
  uint64_t wasio__remaining;   /* bytes of body or chunk data left */
  wasio_http_parser_t wasio__trailer;  /* lexes the trailer section */
  wasio_http_trailers_t *wasio__trailers;
  uint32_t wasio__line_len;    /* chunk-size line bytes seen */
  int wasio__error;
  uint8_t wasio__kind;         /* wasio_http_body_kind_t */
  uint8_t wasio__state;
  uint8_t wasio__digits;
  uint8_t wasio__exts;         /* chunk extensions on the current line */
} wasio_http_body_t;

/* Prepares `d` for a body framed by `framing` (from a parsed head). When
 * `trailers` is not NULL, the trailer fields of a chunked body are stored
 * there when the body completes; their views point into the input of the
 * last wasio_http_body_decode() call. Never fails. */
void wasio_http_body_init(wasio_http_body_t *d, const wasio_http_framing_t *framing,
                          wasio_http_trailers_t *trailers);

/* The same for an explicit kind and length (e.g. a body the caller frames
 * itself). `content_length` is used only with WASIO_HTTP_BODY_LENGTH. */
void wasio_http_body_init_kind(wasio_http_body_t *d, wasio_http_body_kind_t kind,
                               uint64_t content_length, wasio_http_trailers_t *trailers);

#define WASIO_HTTP_BODY_MORE 0  /* the body goes on */
#define WASIO_HTTP_BODY_DONE 1  /* the body is complete */

/* Decodes body bytes from in[0..len) (in may be NULL when len is 0).
 * Sets *consumed to the bytes used and *data to the payload found among them
 * (a view into `in`, possibly empty). At most one payload view per call:
 * call again with in + *consumed while bytes remain.
 * Returns:
 *   WASIO_HTTP_BODY_MORE  more body to come; if *consumed < len call again
 *                         with the rest, otherwise wait for more bytes.
 *   WASIO_HTTP_BODY_DONE  the body ended after *consumed bytes; what follows
 *                         belongs to the next message. Later calls return
 *                         DONE consuming nothing.
 *   WASIO_EAGAIN          in + *consumed starts an incomplete trailer
 *                         section: keep those bytes, append more and call
 *                         again with them (the feeding rule above).
 *   WASIO_EHTTP_*         the body is malformed (chunk size, extension, CRLF,
 *                         trailer errors as for heads). Sticky.
 * A body of length 0 (or kind NONE) is DONE on the first call, len 0 or not. */
int wasio_http_body_decode(wasio_http_body_t *d, const char *in, size_t len, size_t *consumed,
                           wasio_http_str_t *data);

/* Tells the decoder the connection closed (EOF). Returns 0 when the body is
 * complete at EOF (a close-delimited body always is; so is one that already
 * returned DONE), WASIO_EHTTP_TRUNCATED otherwise, or its sticky error. */
int wasio_http_body_finish(wasio_http_body_t *d);

/* ---- writing ---------------------------------------------------------------
 *
 * Writers serialise into buf[0..cap) and return the number of bytes written
 * (no NUL is added), or:
 *   WASIO_ENOBUFS  cap is too small; nothing useful was written (buf may
 *                  hold a partial head), call again with a larger buffer;
 *   WASIO_EHTTP_BAD_METHOD / _BAD_TARGET / _BAD_STATUS / _BAD_HEADER_NAME /
 *   _BAD_HEADER_VALUE / _BAD_VERSION  an argument would produce an invalid
 *                  message (e.g. CR or LF in a value: header injection).
 * Writers add no fields of their own: the caller supplies Host,
 * Content-Length or "Transfer-Encoding: chunked". `headers` may be NULL when
 * num_headers is 0. */

/* "METHOD SP TARGET SP HTTP/1.MINOR CRLF", the fields, and the empty line.
 * version_minor is 0 or 1. */
int wasio_http_write_request_head(char *buf, size_t cap, wasio_http_str_t method,
                                  wasio_http_str_t target, int version_minor,
                                  const wasio_http_header_t *headers, size_t num_headers);

/* "HTTP/1.MINOR SP STATUS SP REASON CRLF", the fields, and the empty line.
 * status is 100..999; reason may be empty (reason.ptr may then be NULL). */
int wasio_http_write_response_head(char *buf, size_t cap, int version_minor, int status,
                                   wasio_http_str_t reason, const wasio_http_header_t *headers,
                                   size_t num_headers);

/* The framing before a chunk of `size` bytes (> 0): "HEX CRLF". After the
 * chunk's data the caller writes WASIO_HTTP_CRLF. */
int wasio_http_write_chunk_header(char *buf, size_t cap, uint64_t size);

/* The most digits of a uint64_t in decimal. */
#define WASIO_HTTP_U64_DIGITS 20

/* `v` in decimal, no leading zeros (a Content-Length value): at most
 * WASIO_HTTP_U64_DIGITS bytes. */
int wasio_http_write_u64(char *buf, size_t cap, uint64_t v);

/* The end of a chunked body: "0 CRLF", the trailer fields, and the empty
 * line. */
int wasio_http_write_last_chunk(char *buf, size_t cap, const wasio_http_header_t *trailers,
                                size_t num_trailers);

#define WASIO_HTTP_CRLF "\r\n"

/* The standard reason phrase of a status code ("Not Found"), or "" when
 * there is none. Never NULL. */
const char *wasio_http_reason(int status);

/* ---- URLs ------------------------------------------------------------------ */

/* Longest URL wasio_url_parse() accepts (WASIO_EURL_SYNTAX beyond it). */
#define WASIO_URL_MAX 8192
/* Longest host name (RFC 1035); longer is WASIO_EURL_HOST. */
#define WASIO_URL_MAX_HOST 253

/* A parsed absolute http(s) URL; every view points into the parsed text
 * (or, for an empty path, at a static "/"). */
typedef struct wasio_url {
  bool https;                 /* scheme "https" (else "http") */
  bool host_is_ipv6;          /* host was a bracketed IPv6 literal */
  bool port_given;            /* the URL named a (non-empty) port */
  bool has_query;             /* the URL had a '?' */
  uint16_t port;              /* the port, or 80/443 by scheme */
  wasio_http_str_t host;      /* name, IPv4 or IPv6 (without brackets) */
  wasio_http_str_t authority; /* host[:port] as written: the Host field value */
  wasio_http_str_t path;      /* "/..." as written, or "/" when empty */
  wasio_http_str_t query;     /* after the '?', without it; may be empty */
} wasio_url_t;

/* Writes the request-target of `url` ("path" or "path?query") to
 * buf[0..cap); returns its length or WASIO_ENOBUFS. It is at most the
 * URL's length plus one byte. */
int wasio_url_target(const wasio_url_t *url, char *buf, size_t cap);

/* Parses `url` (len bytes, no NUL needed) as an absolute http or https URL
 * (RFC 3986 subset). The scheme is case-insensitive; a "#fragment" is
 * dropped; percent-escapes must be '%' and two hex digits and are kept
 * encoded (the target goes on the wire as is).
 * Returns 0 and fills *out, or (leaving *out unspecified):
 *   WASIO_EURL_SCHEME    not http: or https:
 *   WASIO_EURL_USERINFO  "user[:password]@" in the authority (credentials
 *                        in URLs leak into logs; send an Authorization field)
 *   WASIO_EURL_HOST      empty host, invalid characters, a bad IPv6 literal
 *                        (zone identifiers are not supported), too long
 *   WASIO_EURL_PORT      not 1..65535 in decimal
 *   WASIO_EURL_PERCENT   '%' not followed by two hex digits
 *   WASIO_EURL_SYNTAX    no "//", a space, control or non-ASCII byte, or a
 *                        character RFC 3986 does not allow in path or query
 *                        (percent-encode it), or longer than WASIO_URL_MAX */
int wasio_url_parse(const char *url, size_t len, wasio_url_t *out);

/* ---- request targets, for servers --------------------------------------------
 *
 * A server receives the request-target as sent (wasio_http_request_t.target:
 * visible ASCII, otherwise unchecked). The helpers below take it apart
 * without copying, then decode and normalise the path into caller buffers,
 * in this order (the order matters: see wasio_http_path_remove_dots()):
 *
 *   wasio_http_target_t t;
 *   if (wasio_http_target_parse(req->target, &t) < 0) -> 400
 *   n = wasio_http_percent_decode(t.path.ptr, t.path.len, buf, cap, 0);
 *   n = wasio_http_path_remove_dots(buf, n, buf, cap, &above_root);
 *   if (above_root) -> refuse (the path climbed above "/")
 *
 * Each function is O(input length), bounded by the caller's buffer, and
 * never reads or writes outside the given lengths. */

/* The four forms of RFC 9112 section 3.2. */
typedef enum wasio_http_target_form {
  WASIO_HTTP_TARGET_ORIGIN = 1, /* "/path?query": what clients send to servers */
  WASIO_HTTP_TARGET_ABSOLUTE,   /* "http://host:port/path?query": to proxies, and a
                                   server MUST accept it too (RFC 9112 3.2.2) */
  WASIO_HTTP_TARGET_AUTHORITY,  /* "host:port": CONNECT only */
  WASIO_HTTP_TARGET_ASTERISK    /* "*": server-wide OPTIONS only */
} wasio_http_target_form_t;

/* A request-target taken apart; every view points into the parsed text
 * (or, for an absolute-form target without a path, at a static "/"). */
typedef struct wasio_http_target {
  wasio_http_target_form_t form;
  bool https;                 /* absolute-form: the scheme is https */
  bool has_query;             /* origin/absolute-form: there was a '?' */
  uint16_t port;              /* absolute-form: the port or 80/443; authority-form: the port */
  wasio_http_str_t host;      /* absolute/authority-form: name or IP (IPv6 without brackets) */
  wasio_http_str_t authority; /* absolute/authority-form: host[:port] as written; RFC 9112
                                 3.2.2: a server uses it in place of Host */
  wasio_http_str_t path;      /* origin/absolute-form: "/..." still percent-encoded */
  wasio_http_str_t query;     /* after the '?', without it, still encoded; may be empty */
} wasio_http_target_t;

/* Takes `target` apart (see wasio_http_target_t; fields that do not apply
 * to the form are zero/empty).
 *   "*"                    asterisk-form;
 *   "/..."                 origin-form: path up to the first '?', then the query;
 *   SCHEME "://" ...       absolute-form: http or https only, checked like
 *                          wasio_url_parse() checks its authority (no
 *                          userinfo, valid host and port), then the path
 *                          ("/" when empty) and query as in origin-form;
 *   host ":" port          authority-form (the port is required).
 * Path and query may hold any visible ASCII except '#' (a fragment is never
 * part of a request-target): browsers send '|', '^', '[', ']', '{', '}' and
 * '`' unencoded, although RFC 3986 excludes them, and a server that refused
 * them would refuse browsers. Each '%' must start an escape (two hex
 * digits); nothing is decoded here.
 * Returns 0 and fills *out, or (*out unspecified):
 *   WASIO_EINVAL           target.ptr is NULL with len > 0, or out is NULL
 *   WASIO_EHTTP_BAD_TARGET empty, none of the four forms, or a '#', space,
 *                          control or non-ASCII byte
 *   WASIO_EURL_PERCENT     a '%' not followed by two hex digits
 *   WASIO_EURL_SCHEME, _USERINFO, _HOST, _PORT, _SYNTAX
 *                          an absolute- or authority-form target whose
 *                          scheme, userinfo, host or port is refused (the
 *                          codes of wasio_url_parse()) */
int wasio_http_target_parse(wasio_http_str_t target, wasio_http_target_t *out);

/* Flags of wasio_http_percent_decode(). */
#define WASIO_HTTP_DECODE_PLUS 0x1u /* '+' decodes to a space: query strings and
                                       HTML form data (application/x-www-form-
                                       urlencoded); without it '+' stays '+', as
                                       RFC 3986 has it in paths */

/* Decodes the percent-escapes of in[0..len) into out[0..cap): "%41" -> 'A'
 * (hex digits in either case); every other byte is copied, '+' as the flags
 * say. The result is never longer than the input, so cap >= len always
 * suffices, and out may be in (decoding in place); other overlaps are not
 * allowed. No NUL is added. Every byte value but 0 may come out ("%2F" gives
 * '/': a caller that maps paths to files decodes first and removes dot
 * segments after, so that no decoded ".." or '/' slips through).
 * Returns the decoded length, or:
 *   WASIO_EURL_PERCENT  a '%' not followed by two hex digits ("%4", "%zz",
 *                       a '%' at the end)
 *   WASIO_EURL_NUL      "%00", or a NUL byte in the input: a decoded NUL
 *                       would cut a C string short (a file name, a log line)
 *   WASIO_ENOBUFS       the decoded bytes do not fit in cap
 *   WASIO_ELIMIT        len > INT_MAX (the length would not fit the result)
 *   WASIO_EINVAL        in or out is NULL with len > 0
 * On error out[0..cap) holds unspecified bytes. */
int wasio_http_percent_decode(const char *in, size_t len, char *out, size_t cap, unsigned flags);

/* Flags of wasio_http_percent_encode(). */
#define WASIO_HTTP_ENCODE_SLASH 0x1u /* encode '/' too (one path segment or a
                                        query value); without it '/' is kept */

/* Percent-encodes in[0..len) into out[0..cap) (no overlap): every byte
 * except the RFC 3986 unreserved characters (ALPHA DIGIT "-" "." "_" "~")
 * and, unless WASIO_HTTP_ENCODE_SLASH, '/' becomes "%XX" (upper-case hex).
 * The result is safe in a path, a query value, a Location field and an HTML
 * attribute. At most 3 * len bytes; no NUL is added.
 * Returns the encoded length, WASIO_ENOBUFS (does not fit in cap),
 * WASIO_ELIMIT (the result would exceed INT_MAX) or WASIO_EINVAL (NULL with
 * len > 0). */
int wasio_http_percent_encode(const char *in, size_t len, char *out, size_t cap, unsigned flags);

/* Removes the "." and ".." segments of the path in[0..len) by the algorithm
 * of RFC 3986 section 5.2.4, into out[0..cap): "/a/./b/../c" -> "/a/c",
 * "/a/b/.." -> "/a/", "/a/%2E%2E" is left alone (decode first: see above).
 * Empty segments ("//") are kept, as the RFC does. A ".." that would climb
 * above the root is dropped, as the RFC requires of URL resolution
 * ("/../a" -> "/a"), and *above_root (when not NULL) is set to true, so that
 * a server can refuse such a request instead (it named something outside
 * the tree); it is set to false otherwise. Relative paths ("a/../../b")
 * work the same way. The result is never longer than the input; out may be
 * in (in place); other overlaps are not allowed. No NUL is added.
 * Returns the length, or WASIO_ENOBUFS (does not fit in cap), WASIO_ELIMIT
 * (len > INT_MAX), WASIO_EINVAL (NULL with len > 0). */
int wasio_http_path_remove_dots(const char *in, size_t len, char *out, size_t cap, bool *above_root);

/* Iterates over the name=value pairs of a query string (the part after '?',
 * e.g. wasio_http_target_t.query). Caller-allocated; fields private. */
typedef struct wasio_http_query_iter {
  wasio_http_str_t wasio__rest; /* the pairs not yet returned */
} wasio_http_query_iter_t;

/* One parameter, decoded into the caller's buffer. */
typedef struct wasio_http_param {
  wasio_http_str_t name;  /* may be empty ("=x") */
  wasio_http_str_t value; /* empty when there was no '=' (see has_value) */
  bool has_value;         /* the pair had an '=' ("a=" has, "a" has not) */
} wasio_http_param_t;

/* Prepares `it` to walk `query` (a view the caller keeps valid). Never fails. */
void wasio_http_query_init(wasio_http_query_iter_t *it, wasio_http_str_t query);

/* The next pair. Pairs are separated by '&' (';' is not a separator: the
 * WHATWG URL standard, which browsers follow, dropped it); empty pairs
 * ("a=1&&b=2", a trailing '&') are skipped; a pair splits at its first '='.
 * Name and value are percent-decoded with WASIO_HTTP_DECODE_PLUS ('+' is a
 * space, as HTML forms encode it; a literal '+' arrives as "%2B") into
 * buf[0..cap), the name first, and out's views point there (valid until buf
 * is reused). A pair never needs more bytes than it has in the query.
 * Returns:
 *   1                   a pair is in *out
 *   0                   no more pairs
 *   WASIO_EURL_PERCENT, WASIO_EURL_NUL
 *                       this pair is malformed (see wasio_http_percent_decode());
 *                       the iterator has moved past it: call again for the
 *                       next one, or give up on the query
 *   WASIO_ENOBUFS       this pair does not fit in cap; the iterator has not
 *                       moved past it: call again with a larger buffer
 *   WASIO_EINVAL        it or out is NULL, or buf is NULL with cap > 0 */
int wasio_http_query_next(wasio_http_query_iter_t *it, char *buf, size_t cap, wasio_http_param_t *out);

/* ---- conditional and range requests, for servers -------------------------- */

/* The length of an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT". */
#define WASIO_HTTP_DATE_LEN 29

/* Writes `secs` (seconds since 1970-01-01 UTC) as an IMF-fixdate (RFC 9110
 * section 5.6.7) and a NUL into buf[0..cap). Returns WASIO_HTTP_DATE_LEN,
 * WASIO_ENOBUFS (cap <= WASIO_HTTP_DATE_LEN or buf NULL) or WASIO_EINVAL
 * (a year outside 0000..9999, which the format cannot show). */
int wasio_http_date_format(int64_t secs, char *buf, size_t cap);

/* Parses an HTTP-date in any of the three formats a recipient MUST accept
 * (RFC 9110 section 5.6.7): IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT",
 * the obsolete RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
 * "Sun Nov  6 08:49:37 1994" (surrounding whitespace is ignored; names are
 * case-sensitive, as the grammar has them). A two-digit RFC 850 year is read
 * as 1970..2069 (RFC 9110's rule needs today's date; the format has not
 * been sent since the 1990s). A leap second (":60") reads as second 59 of
 * that minute. Sets *secs (seconds since 1970-01-01 UTC) and returns 0, or
 * returns WASIO_EINVAL (not a valid date: a wrong name, a day that the month
 * does not have, a field out of range, anything else); the caller then
 * treats the field as absent, as RFC 9110 13.1.3 and 13.1.4 require. */
int wasio_http_date_parse(wasio_http_str_t s, int64_t *secs);

/* Flags of wasio_http_etag_match(). */
#define WASIO_HTTP_ETAG_WEAK 0x1u /* weak comparison (If-None-Match): W/ ignored */

/* Whether the entity-tag `etag` (one tag as the server sends it in ETag,
 * e.g. "\"5f3-1a\"" or "W/\"x\"") matches the field value `list` of
 * If-Match, If-None-Match or If-Range (RFC 9110 section 8.8.3.2):
 * "*" matches any tag; otherwise `list` is a comma-separated list of
 * entity-tags, and one must be equal to `etag` under the comparison the
 * flags choose: strong (the default: If-Match, If-Range; neither tag may be
 * weak) or weak (WASIO_HTTP_ETAG_WEAK: If-None-Match; the opaque parts are
 * compared, W/ ignored). For several fields of one name, call once per field.
 * Returns 1 (matches), 0 (does not), or WASIO_EHTTP_BAD_HEADER_VALUE (`list`
 * or `etag` is not a valid entity-tag list: the caller decides, e.g. ignore
 * If-None-Match, fail If-Match). */
int wasio_http_etag_match(wasio_http_str_t list, wasio_http_str_t etag, unsigned flags);

/* A byte range, first and last byte included. */
typedef struct wasio_http_range {
  uint64_t first;
  uint64_t last;
} wasio_http_range_t;

/* What wasio_http_range_parse() found. */
#define WASIO_HTTP_RANGE_NONE 0          /* ignore the field: answer 200 with everything */
#define WASIO_HTTP_RANGE_ONE 1           /* one range, in *out: answer 206 */
#define WASIO_HTTP_RANGE_MULTI 2         /* several ranges, some satisfiable: a server
                                            may send multipart/byteranges or, more
                                            simply, 200 with everything */
#define WASIO_HTTP_RANGE_UNSATISFIABLE 3 /* none can be met: answer 416 with a
                                            Content-Range of "bytes", '*', '/' and
                                            the size */

/* Reads a Range field value (RFC 9110 section 14.2) against a representation
 * of `size` bytes. Only the "bytes" unit is understood (case-insensitive);
 * the forms are "bytes=F-L", "bytes=F-" (to the end) and "bytes=-N" (the
 * last N bytes; all of them when N > size), in a comma-separated list with
 * optional whitespace around the commas. Positions beyond UINT64_MAX
 * saturate. A range is satisfiable when F < size, or when it is a suffix
 * with N > 0.
 * Returns WASIO_HTTP_RANGE_NONE for another unit, a syntax error (including
 * L < F), or a suffix range of a representation of 0 bytes (satisfiable by
 * the RFC, but a range of nothing cannot be written as a Content-Range: 200
 * with the empty body answers it);
 * WASIO_HTTP_RANGE_ONE with *out resolved (L clamped to size - 1);
 * WASIO_HTTP_RANGE_MULTI; WASIO_HTTP_RANGE_UNSATISFIABLE. Never fails;
 * out may be NULL. */
int wasio_http_range_parse(wasio_http_str_t value, uint64_t size, wasio_http_range_t *out);

/* Resolves the reference `ref` (e.g. a Location field's value: an absolute
 * URL, "//host/path", "/path", "?query" or a relative path) against the
 * absolute URL `base`, whose parse is `base_url` (its views point into
 * `base`), as RFC 3986 section 5.2 does: relative paths are merged with the
 * base's directory and dot segments are removed. Writes the result,
 * NUL-terminated, to buf[0..cap); it is never longer than
 * strlen(base) + ref.len + 1 (the "/" of an empty base path), so a cap of
 * that plus 1 always suffices. Returns its length, WASIO_ENOBUFS (cap too small),
 * or WASIO_EURL_SYNTAX (longer than WASIO_URL_MAX). The result is not
 * checked: wasio_url_parse() it (an absolute reference may name any
 * scheme). */
int wasio_url_resolve(const char *base, const wasio_url_t *base_url, wasio_http_str_t ref, char *buf,
                      size_t cap);

/* What following a redirect does to the request (RFC 9110 section 15.4). */
typedef enum wasio_http_redirect {
  WASIO_HTTP_REDIRECT_NONE = 0, /* not a redirect to follow: 300 (a choice for
                                   the user), 304, 305, 306, and every status
                                   outside 3xx */
  WASIO_HTTP_REDIRECT_SAME = 1, /* repeat the request to the new URL: the same
                                   method and content */
  WASIO_HTTP_REDIRECT_GET = 2   /* the next request is a GET without content */
} wasio_http_redirect_t;

/* The one rule for the method of a followed redirect, which the client and
 * wasio-fetch share: 307 and 308 repeat the request (SAME); 303 asks for a
 * GET, except for a HEAD, which stays a HEAD (SAME); 301 and 302 turn a POST
 * into a GET, as browsers and curl do and RFC 9110 allows "for historical
 * reasons", and repeat any other method (SAME). `method` is compared exactly
 * (methods are case-sensitive). Pure: never fails. */
wasio_http_redirect_t wasio_http_redirect_method(int status, wasio_http_str_t method);

#ifdef __cplusplus
}
#endif
#endif
