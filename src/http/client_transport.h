/* src/http/client_transport.h: the byte stream under an HTTP client
 * connection.
 *
 * Implementation notes
 * - The client never talks to wasio_tcp_t directly: every connect, read,
 *   write and close goes through these functions, so a TLS transport can slot
 *   in underneath (the kind selects the code with a switch; no stored function
 *   pointers). A TLS transport would hand the connection plaintext through the
 *   same alloc/read pair and complete wasio_write_t requests once their
 *   ciphertext is accepted.
 * - The transport is embedded in its connection; events go back through the
 *   four wasio__http_conn_on_* functions (defined by the client), which find
 *   the connection from the transport pointer.
 * - TLS (https://) is a wasio_tls_t over the same wasio_tcp_t: the TCP
 *   connect runs first, then the handshake; on_connect reports the handshake
 *   result, so the client writes nothing (no request byte) before the peer's
 *   certificate has been verified.
 * - Every kind behaves as TCP does: a read start, write or close calls
 *   nothing back from inside (wasio_tls_* run the stream's pump from a
 *   deferred request), a read start that cannot start returns the error,
 *   and on_close runs from the stream's close callback (the stream has
 *   freed its engine by then, so the client may free its default config
 *   there). (Before 0c186ef gave the stream that contract, TLS reads
 *   started, and on_close ran, one turn later.)
 */
#ifndef WASIO_HTTP_CLIENT_TRANSPORT_H
#define WASIO_HTTP_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasio.h"

typedef enum wasio__http_transport_kind {
  WASIO__HTTP_TRANSPORT_NONE = 0,
  WASIO__HTTP_TRANSPORT_TCP,     /* plain http:// */
  WASIO__HTTP_TRANSPORT_TLS,     /* https:// over BearSSL (wasio/tls.h) */
  WASIO__HTTP_TRANSPORT_HOST_TLS /* https:// by the host's wasi:tls (wasio/tls_host.h): after the
                                    handshake the same tcp carries plaintext, so I/O is TCP's */
} wasio__http_transport_kind_t;

typedef struct wasio__http_transport {
  uint8_t kind;       /* wasio__http_transport_kind_t */
  bool reading;       /* the stream's read is on */
  bool closing;
  wasio_tcp_t *tcp;   /* the socket under every kind */
  wasio_tls_t *tls;   /* TLS: once TCP is connected; owns tcp from then on */
  wasio_tls_config_t *cfg;
  wasio_tls_host_t *htls; /* HOST_TLS: once TCP is connected; owns tcp from then on */
  uint64_t connect_ns; /* TLS: also the handshake's longest silence */
  uint16_t port;
  char host[WASIO_TLS_MAX_HOST + 1]; /* TLS, HOST_TLS: SNI and the name verified */
} wasio__http_transport_t;

/* Upcalls into the connection that embeds `t` (src/http/client.c). */
void wasio__http_conn_on_connect(wasio__http_transport_t *t, int status);
/* Where the next plaintext bytes go; buf->len 0 stops reading (ENOMEM). */
void wasio__http_conn_alloc(wasio__http_transport_t *t, wasio_buf_t *buf);
/* nread > 0 bytes landed in the last alloc'd buffer; < 0: EOF or error. */
void wasio__http_conn_on_read(wasio__http_transport_t *t, ptrdiff_t nread);
void wasio__http_conn_on_close(wasio__http_transport_t *t);

/* Creates the socket and connects to host:port (a name is resolved by the
 * loop, without blocking). tls (not NULL) asks for a TLS stream made from
 * that config; on_connect then reports the handshake too (0, or the
 * WASIO_ETLS_* code). host_tls (tls NULL) asks the same of the host's
 * wasi:tls instead. timeout_ns bounds the TCP connect and any silence
 * during the handshake. On 0,
 * on_connect runs exactly once. */
int wasio__http_transport_open(wasio__http_transport_t *t, wasio_loop_t *loop, wasio_tls_config_t *tls,
                               bool host_tls, const char *host, uint16_t port, uint64_t timeout_ns);
/* Starts delivering bytes (idempotent): from loop callbacks only, never
 * from inside this call. Returns 0, or the error of a stream that cannot
 * read any more (ended, failed), as wasio_tcp_read_start does. */
int wasio__http_transport_read_start(wasio__http_transport_t *t);
void wasio__http_transport_read_stop(wasio__http_transport_t *t);
int wasio__http_transport_write(wasio__http_transport_t *t, wasio_write_t *req, const void *base,
                                size_t len, wasio_write_cb cb);
/* Bytes handed to write() and not yet taken by the stream. */
size_t wasio__http_transport_queued(const wasio__http_transport_t *t);
/* Silence (no byte read or written while I/O is pending) longer than
 * idle_ns ends the pending read with WASIO_ETIMEDOUT; 0 turns it off. */
void wasio__http_transport_set_idle(wasio__http_transport_t *t, uint64_t idle_ns);
/* Closes; on_close runs once afterwards (also when open() failed after the
 * socket existed). Pending writes get WASIO_ECANCELED. Idempotent. */
void wasio__http_transport_close(wasio__http_transport_t *t);

#endif
