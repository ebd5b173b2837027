/* wasio/error.h: the one error space of wasio.
 *
 * Every function that can fail returns an int: 0 (or a non-negative count)
 * on success, a negative WASIO_E* code on failure. Callbacks receive the same
 * codes in their `status` argument. The codes are generated from one X-macro
 * so the enum, wasio_strerror(), wasio_err_name() and wasio_err_class()
 * never disagree. Decide by class, not by a code's place in the list: the
 * list only grows at its end, and a range of places is no class.
 *
 * Rule for every function that takes a callback: if it returns an error, the
 * callback is NOT called for that operation. If it returns 0, the callback is
 * called exactly once (with a status, which may be WASIO_ECANCELED).
 */
#ifndef WASIO_ERROR_H
#define WASIO_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* The classes of error, each with its name (wasio_err_class_name) and
 * what it means. A code belongs to exactly one (the map below), so a tool
 * can decide by class ("retry a timeout", "report a certificate problem",
 * curl's exit codes in apps/wasio-fetch) and still be right for a code
 * appended later. X(CLASS, "name", meaning). */
#define WASIO_ERRCLASS_MAP(X)                                                  \
  X(USAGE, "usage", "a call made with bad arguments or in the wrong state: a bug of the caller") \
  X(RESOURCE, "resource", "out of memory, descriptors, queue room or a documented limit") \
  X(IO, "io", "the host reported an I/O failure it did not name")             \
  X(END, "end", "the stream ended (WASIO_EOF): no failure in itself")         \
  X(CANCELED, "canceled", "canceled by the caller, or by a close")            \
  X(TIMEOUT, "timeout", "a deadline or idle timeout expired")                 \
  X(NETWORK, "network", "the network or the peer: refused, reset, unreachable, denied") \
  X(DNS, "dns", "name resolution: the name does not resolve, or the lookup failed") \
  X(TLS, "tls", "the TLS protocol: an alert, a version, a truncated or non-TLS stream") \
  X(TLS_CERT, "tls_cert", "a certificate or key: untrusted, expired, wrong name, malformed, pinned") \
  X(HTTP, "http", "the HTTP protocol: a malformed or incomplete message")    \
  X(URL, "url", "a URL or request target that cannot be used")

typedef enum wasio_err_class {
  WASIO_ERRCLASS_NONE = 0, /* 0 (success), or not a wasio code */
#define WASIO__ERRCLASS_ENUM(cls, name, meaning) WASIO_ERRCLASS_##cls,
  WASIO_ERRCLASS_MAP(WASIO__ERRCLASS_ENUM)
#undef WASIO__ERRCLASS_ENUM
  WASIO__ERRCLASS_COUNT
} wasio_err_class_t;

/* X(name, class, message). Order is ABI: append only. */
#define WASIO_ERRNO_MAP(X)                                                     \
  X(EOF, END, "end of stream")                                                 \
  X(EINVAL, USAGE, "invalid argument")                                         \
  X(ENOMEM, RESOURCE, "out of memory")                                         \
  X(ECANCELED, CANCELED, "operation canceled")                                 \
  X(ETIMEDOUT, TIMEOUT, "operation timed out")                                 \
  X(EBUSY, USAGE, "operation already in progress")                             \
  X(ECLOSING, USAGE, "handle is closing")                                      \
  X(EAGAIN, RESOURCE, "resource temporarily unavailable")                      \
  X(ENOTSUP, USAGE, "operation not supported")                                 \
  X(EACCES, NETWORK, "access denied")                                          \
  X(ECONNREFUSED, NETWORK, "connection refused")                               \
  X(ECONNRESET, NETWORK, "connection reset by peer")                           \
  X(ECONNABORTED, NETWORK, "connection aborted")                               \
  X(ENOTCONN, USAGE, "socket is not connected")                                \
  X(EISCONN, USAGE, "socket is already connected")                             \
  X(EADDRINUSE, NETWORK, "address already in use")                             \
  X(EADDRNOTAVAIL, NETWORK, "address not available")                           \
  X(EAFNOSUPPORT, NETWORK, "address family not supported")                     \
  X(ENETUNREACH, NETWORK, "network unreachable")                               \
  X(EHOSTUNREACH, NETWORK, "host unreachable")                                 \
  X(ENETDOWN, NETWORK, "network down")                                         \
  X(EMSGSIZE, USAGE, "datagram too large")                                     \
  X(EPIPE, NETWORK, "broken pipe: the peer or this side shut down writing")    \
  X(ENAMENOTFOUND, DNS, "name does not resolve")                               \
  X(EDNSTEMP, DNS, "temporary failure in name resolution")                     \
  X(EDNSFAIL, DNS, "permanent failure in name resolution")                     \
  X(ENAMETOOLONG, DNS, "name too long")                                        \
  X(ELIMIT, RESOURCE, "a documented wasio limit was exceeded")                 \
  X(EIO, IO, "I/O error")                                                      \
  X(ESTATE, USAGE, "operation not valid in the handle's current state")        \
  X(ENOBUFS, RESOURCE, "output buffer too small")                              \
  X(EHTTP_BAD_METHOD, HTTP, "invalid HTTP method")                             \
  X(EHTTP_BAD_TARGET, HTTP, "invalid HTTP request target")                     \
  X(EHTTP_BAD_VERSION, HTTP, "invalid or unsupported HTTP version")            \
  X(EHTTP_BAD_STATUS, HTTP, "invalid HTTP status line")                        \
  X(EHTTP_BAD_HEADER_NAME, HTTP, "invalid HTTP header name or missing colon")  \
  X(EHTTP_BAD_HEADER_VALUE, HTTP, "control character in HTTP header value")    \
  X(EHTTP_SPACE_BEFORE_COLON, HTTP, "whitespace between HTTP header name and colon") \
  X(EHTTP_OBS_FOLD, HTTP, "obsolete line folding in HTTP header")              \
  X(EHTTP_BARE_CR, HTTP, "CR not followed by LF in HTTP message")              \
  X(EHTTP_BARE_LF, HTTP, "LF not preceded by CR in HTTP message")              \
  X(EHTTP_BAD_CONTENT_LENGTH, HTTP, "invalid HTTP Content-Length")             \
  X(EHTTP_CONTENT_LENGTH_MISMATCH, HTTP, "conflicting HTTP Content-Length values") \
  X(EHTTP_CL_AND_TE, HTTP, "HTTP Content-Length together with Transfer-Encoding") \
  X(EHTTP_BAD_TRANSFER_ENCODING, HTTP, "HTTP Transfer-Encoding other than chunked") \
  X(EHTTP_BAD_HOST, HTTP, "missing, repeated or invalid HTTP Host field")      \
  X(EHTTP_START_LINE_TOO_LONG, HTTP, "HTTP start line too long")               \
  X(EHTTP_HEADERS_TOO_LARGE, HTTP, "HTTP header block too large")              \
  X(EHTTP_TOO_MANY_HEADERS, HTTP, "too many HTTP header fields")               \
  X(EHTTP_BAD_CHUNK_SIZE, HTTP, "HTTP chunk size empty or not hexadecimal")    \
  X(EHTTP_CHUNK_SIZE_OVERFLOW, HTTP, "HTTP chunk size too large")              \
  X(EHTTP_BAD_CHUNK_EXT, HTTP, "invalid HTTP chunk extension")                 \
  X(EHTTP_CHUNK_LINE_TOO_LONG, HTTP, "HTTP chunk size line too long")          \
  X(EHTTP_CHUNK_NO_CRLF, HTTP, "HTTP chunk data not followed by CRLF")         \
  X(EHTTP_TRUNCATED, HTTP, "connection closed before the HTTP message was complete") \
  X(EURL_SYNTAX, URL, "malformed URL")                                         \
  X(EURL_SCHEME, URL, "URL scheme is not http or https")                       \
  X(EURL_USERINFO, URL, "URL userinfo (user@) is not supported")               \
  X(EURL_HOST, URL, "invalid URL host")                                        \
  X(EURL_PORT, URL, "invalid URL port")                                        \
  X(EURL_PERCENT, URL, "invalid percent-encoding in URL")                      \
  X(ETLS, TLS, "TLS protocol error")                                           \
  X(ETLS_ALERT, TLS, "the TLS peer sent a fatal alert")                        \
  X(ETLS_VERSION, TLS, "the TLS peer speaks no TLS version wasio does (1.2, 1.3)") \
  X(ETLS_TRUNCATED, TLS, "TLS stream ended without close_notify (possibly truncated)") \
  X(ETLS_CERT_UNTRUSTED, TLS_CERT, "certificate chain does not lead to a trusted root") \
  X(ETLS_CERT_SELF_SIGNED, TLS_CERT, "self-signed certificate that is not trusted") \
  X(ETLS_CERT_EXPIRED, TLS_CERT, "certificate has expired")                    \
  X(ETLS_CERT_NOT_YET_VALID, TLS_CERT, "certificate is not yet valid")         \
  X(ETLS_CERT_NAME, TLS_CERT, "certificate does not match the host name")      \
  X(ETLS_CERT_ALGORITHM, TLS_CERT, "certificate uses a refused algorithm (e.g. a SHA-1 signature)") \
  X(ETLS_CERT_PIN, TLS_CERT, "certificate does not match a pinned key")        \
  X(ETLS_CERT_INVALID, TLS_CERT, "malformed or unusable certificate")          \
  X(ETLS_PEM, TLS_CERT, "invalid PEM data, certificate or key")                \
  X(ETLS_NOT_TLS, TLS, "the peer does not speak TLS (plain text on a TLS port?)") \
  X(EMFILE, RESOURCE, "too many open sockets or files (a descriptor limit was reached)") \
  X(EURL_NUL, URL, "percent-encoded NUL (%00) or NUL byte in URL")          \
  X(EHTTP_DENIED, NETWORK, "the host refused to send the HTTP request")       \
  X(EHTTP_BODY_SIZE, HTTP, "HTTP body length differs from its Content-Length") \
  X(EHTTP_PROTOCOL, HTTP, "the host reported an HTTP protocol error")         \
  X(EHTTP_FORBIDDEN_HEADER, HTTP, "HTTP header field that the host reserves (Host, Connection, ...)") \
  X(ETLS_KEY_UPDATE, TLS, "the TLS peer updated its keys (TLS 1.3 KeyUpdate), which mbedTLS 3.6 cannot follow") \
  X(ETLS_CERT_NO_SAN, TLS_CERT, "certificate has no subjectAltName (its subject CN is never taken as a name)") \
  X(ETLS_CERT_WILDCARD, TLS_CERT, "certificate name has a wildcard of a refused form (only a whole left-most label)") \
  X(ETLS_CERT_IP, TLS_CERT, "an IP address matches only an iPAddress subjectAltName, never a DNS name or the CN") \
  X(ETLS_CERT_USAGE, TLS_CERT, "certificate may not authenticate a TLS server (extendedKeyUsage or keyUsage)") \
  X(ETLS_CERT_WEAK_KEY, TLS_CERT, "certificate key too weak (RSA under 2048 bits)") \
  X(ETLS_CERT_ISSUER, TLS_CERT, "an issuing certificate is no CA or may not sign certificates")

/* Positions in the map, starting at 1 (internal). */
enum wasio__errno_index {
  WASIO__ERRNO_ZERO = 0,
#define WASIO__ERR_INDEX(name, cls, msg) WASIO__IDX_##name,
  WASIO_ERRNO_MAP(WASIO__ERR_INDEX)
#undef WASIO__ERR_INDEX
  WASIO__ERRNO_COUNT
};

/* The public codes: WASIO_EOF == -1, WASIO_EINVAL == -2, ... */
enum wasio_errno {
#define WASIO__ERR_CODE(name, cls, msg) WASIO_##name = -(int)WASIO__IDX_##name,
  WASIO_ERRNO_MAP(WASIO__ERR_CODE)
#undef WASIO__ERR_CODE
};

/* A static, human-readable message ("connection refused"). Unknown codes
 * give "unknown error"; never NULL. 0 gives "success". */
const char *wasio_strerror(int err);

/* The code's name ("WASIO_ECONNREFUSED"); never NULL. */
const char *wasio_err_name(int err);

/* The code's class (WASIO_ERRCLASS_NETWORK for WASIO_ECONNREFUSED);
 * WASIO_ERRCLASS_NONE for 0 and for anything that is not a wasio code. */
wasio_err_class_t wasio_err_class(int err);

/* The class's name ("network", the second column of WASIO_ERRCLASS_MAP);
 * "none" for WASIO_ERRCLASS_NONE and anything unknown; never NULL. */
const char *wasio_err_class_name(wasio_err_class_t cls);

#ifdef __cplusplus
}
#endif
#endif
