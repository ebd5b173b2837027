/* wasio/error.h: the one error space of wasio.
 *
 * Every function that can fail returns an int: 0 (or a non-negative count)
 * on success, a negative WASIO_E* code on failure. Callbacks receive the same
 * codes in their `status` argument. The codes are generated from one X-macro
 * so the enum, wasio_strerror() and wasio_err_name() never disagree.
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

/* X(name, message). Order is ABI: append only. */
#define WASIO_ERRNO_MAP(X)                                                     \
  X(EOF, "end of stream")                                                      \
  X(EINVAL, "invalid argument")                                                 \
  X(ENOMEM, "out of memory")                                                    \
  X(ECANCELED, "operation canceled")                                            \
  X(ETIMEDOUT, "operation timed out")                                           \
  X(EBUSY, "operation already in progress")                                     \
  X(ECLOSING, "handle is closing")                                              \
  X(EAGAIN, "resource temporarily unavailable")                                 \
  X(ENOTSUP, "operation not supported")                                         \
  X(EACCES, "access denied")                                                    \
  X(ECONNREFUSED, "connection refused")                                         \
  X(ECONNRESET, "connection reset by peer")                                     \
  X(ECONNABORTED, "connection aborted")                                         \
  X(ENOTCONN, "socket is not connected")                                        \
  X(EISCONN, "socket is already connected")                                     \
  X(EADDRINUSE, "address already in use")                                       \
  X(EADDRNOTAVAIL, "address not available")                                     \
  X(EAFNOSUPPORT, "address family not supported")                               \
  X(ENETUNREACH, "network unreachable")                                         \
  X(EHOSTUNREACH, "host unreachable")                                           \
  X(ENETDOWN, "network down")                                                   \
  X(EMSGSIZE, "datagram too large")                                             \
  X(EPIPE, "broken pipe: the peer or this side shut down writing")             \
  X(ENAMENOTFOUND, "name does not resolve")                                     \
  X(EDNSTEMP, "temporary failure in name resolution")                          \
  X(EDNSFAIL, "permanent failure in name resolution")                          \
  X(ENAMETOOLONG, "name too long")                                              \
  X(ELIMIT, "a documented wasio limit was exceeded")                            \
  X(EIO, "I/O error")                                                           \
  X(ESTATE, "operation not valid in the handle's current state")              \
  X(ENOBUFS, "output buffer too small")                                        \
  X(EHTTP_BAD_METHOD, "invalid HTTP method")                                   \
  X(EHTTP_BAD_TARGET, "invalid HTTP request target")                           \
  X(EHTTP_BAD_VERSION, "invalid or unsupported HTTP version")                  \
  X(EHTTP_BAD_STATUS, "invalid HTTP status line")                              \
  X(EHTTP_BAD_HEADER_NAME, "invalid HTTP header name or missing colon")        \
  X(EHTTP_BAD_HEADER_VALUE, "control character in HTTP header value")          \
  X(EHTTP_SPACE_BEFORE_COLON, "whitespace between HTTP header name and colon") \
  X(EHTTP_OBS_FOLD, "obsolete line folding in HTTP header")                    \
  X(EHTTP_BARE_CR, "CR not followed by LF in HTTP message")                    \
  X(EHTTP_BARE_LF, "LF not preceded by CR in HTTP message")                    \
  X(EHTTP_BAD_CONTENT_LENGTH, "invalid HTTP Content-Length")                   \
  X(EHTTP_CONTENT_LENGTH_MISMATCH, "conflicting HTTP Content-Length values")   \
  X(EHTTP_CL_AND_TE, "HTTP Content-Length together with Transfer-Encoding")    \
  X(EHTTP_BAD_TRANSFER_ENCODING, "HTTP Transfer-Encoding other than chunked")  \
  X(EHTTP_BAD_HOST, "missing, repeated or invalid HTTP Host field")           \
  X(EHTTP_START_LINE_TOO_LONG, "HTTP start line too long")                     \
  X(EHTTP_HEADERS_TOO_LARGE, "HTTP header block too large")                    \
  X(EHTTP_TOO_MANY_HEADERS, "too many HTTP header fields")                     \
  X(EHTTP_BAD_CHUNK_SIZE, "HTTP chunk size empty or not hexadecimal")          \
  X(EHTTP_CHUNK_SIZE_OVERFLOW, "HTTP chunk size too large")                    \
  X(EHTTP_BAD_CHUNK_EXT, "invalid HTTP chunk extension")                       \
  X(EHTTP_CHUNK_LINE_TOO_LONG, "HTTP chunk size line too long")                \
  X(EHTTP_CHUNK_NO_CRLF, "HTTP chunk data not followed by CRLF")               \
  X(EHTTP_TRUNCATED, "connection closed before the HTTP message was complete") \
  X(EURL_SYNTAX, "malformed URL")                                              \
  X(EURL_SCHEME, "URL scheme is not http or https")                            \
  X(EURL_USERINFO, "URL userinfo (user@) is not supported")                    \
  X(EURL_HOST, "invalid URL host")                                             \
  X(EURL_PORT, "invalid URL port")                                             \
  X(EURL_PERCENT, "invalid percent-encoding in URL")                           \
  X(ETLS, "TLS protocol error")                                                \
  X(ETLS_ALERT, "the TLS peer sent a fatal alert")                             \
  X(ETLS_VERSION, "the TLS peer does not support TLS 1.2")                     \
  X(ETLS_TRUNCATED, "TLS stream ended without close_notify (possibly truncated)") \
  X(ETLS_CERT_UNTRUSTED, "certificate chain does not lead to a trusted root")  \
  X(ETLS_CERT_SELF_SIGNED, "self-signed certificate that is not trusted")      \
  X(ETLS_CERT_EXPIRED, "certificate has expired")                              \
  X(ETLS_CERT_NOT_YET_VALID, "certificate is not yet valid")                   \
  X(ETLS_CERT_NAME, "certificate does not match the host name")                \
  X(ETLS_CERT_ALGORITHM, "certificate uses a refused algorithm (e.g. a SHA-1 signature)") \
  X(ETLS_CERT_PIN, "certificate does not match a pinned key")                  \
  X(ETLS_CERT_INVALID, "malformed or unusable certificate")                    \
  X(ETLS_PEM, "invalid PEM data, certificate or key")                          \
  X(ETLS_NOT_TLS, "the peer does not speak TLS (plain text on a TLS port?)") \
  X(EMFILE, "too many open sockets or files (a descriptor limit was reached)") \
  X(EURL_NUL, "percent-encoded NUL (%00) or NUL byte in URL")

/* Positions in the map, starting at 1 (internal). */
enum wasio__errno_index {
  WASIO__ERRNO_ZERO = 0,
#define WASIO__ERR_INDEX(name, msg) WASIO__IDX_##name,
  WASIO_ERRNO_MAP(WASIO__ERR_INDEX)
#undef WASIO__ERR_INDEX
  WASIO__ERRNO_COUNT
};

/* The public codes: WASIO_EOF == -1, WASIO_EINVAL == -2, ... */
enum wasio_errno {
#define WASIO__ERR_CODE(name, msg) WASIO_##name = -(int)WASIO__IDX_##name,
  WASIO_ERRNO_MAP(WASIO__ERR_CODE)
#undef WASIO__ERR_CODE
};

/* A static, human-readable message ("connection refused"). Unknown codes
 * give "unknown error"; never NULL. 0 gives "success". */
const char *wasio_strerror(int err);

/* The code's name ("WASIO_ECONNREFUSED"); never NULL. */
const char *wasio_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif
