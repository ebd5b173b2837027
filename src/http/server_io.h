/* src/http/server_io.h: the transport under an HTTP server connection.
 *
 * Implementation notes
 * - The connection layer (server.c) never touches a wasio_tcp_t directly: it
 *   reads plaintext into its own buffer, queues writes, half-closes and
 *   closes through these functions. Two transports: plain TCP, and TLS (a
 *   wasio_tls_t stream over the accepted socket, server role), each with its
 *   own cases in the switches of server_io.c; server.c does not know which.
 * - TLS: the handshake runs first; plaintext reads start only after it, so
 *   a failed handshake ends in wasio__srv_conn_on_read(<0) before any
 *   request could reach a handler (a read asked for earlier starts from the
 *   handshake callback). Writes, read on/off and shutdown go to the stream
 *   at once, as with TCP: a wasio_tls_* call never calls back from inside
 *   (the stream runs its pump from a deferred request), and its errors
 *   return from the call. (Until the stream got that contract, 0c186ef,
 *   this transport recorded every request and applied it one turn later.)
 * - The set of transports is closed, so dispatch is a switch on `kind`, not
 *   a table of function pointers (STYLE.md).
 * - Upcalls go to the connection through the wasio__srv_conn_* functions
 *   below, which server.c implements. Every upcall runs from a loop
 *   callback, never from inside a wasio__srv_io_* call, except the write
 *   callbacks of wasio__srv_io_close() (as wasio_tcp_close does).
 */
#ifndef WASIO_HTTP_SERVER_IO_H
#define WASIO_HTTP_SERVER_IO_H

#include <stddef.h>
#include <stdint.h>

#include "wasio.h"

typedef struct wasio__srv_conn wasio__srv_conn_t;

typedef enum wasio__srv_io_kind {
  WASIO__SRV_IO_TCP = 1, /* plaintext over wasio TCP */
  WASIO__SRV_IO_TLS = 2  /* TLS (BearSSL, server role) over wasio TCP */
} wasio__srv_io_kind_t;

typedef struct wasio__srv_io {
  uint8_t kind;            /* wasio__srv_io_kind_t */
  wasio_tcp_t *tcp;        /* the socket (every transport has one) */
  wasio__srv_conn_t *conn; /* the owner, for upcalls */
  /* TLS only: */
  wasio_tls_t *tls;        /* NULL once its close callback ran */
  bool hs_done;
  bool want_read;          /* the connection wants plaintext */
  bool tls_reading;        /* the stream's reader is on */
  bool shutdown_started;   /* wasio_tls_shutdown was called */
  bool read_done;          /* a final read status went up: no more reads */
  bool failed;             /* ...and it was an error (not close_notify) */
  bool closing;
  bool notify_then_close;  /* closing: close_notify first, then close */
} wasio__srv_io_t;

/* Adopts an accepted socket. Never fails. */
void wasio__srv_io_init_tcp(wasio__srv_io_t *io, wasio_tcp_t *tcp, wasio__srv_conn_t *conn);

/* Adopts an accepted socket for TLS with `cfg` (a server config with a
 * certificate) and starts the handshake (it runs from the next turn). Returns 0, or
 * an error of wasio_tls_new (the socket is still the caller's then). */
int wasio__srv_io_init_tls(wasio__srv_io_t *io, wasio_tcp_t *tcp, wasio_tls_config_t *cfg,
                           wasio__srv_conn_t *conn);

/* Starts or stops delivering plaintext (idempotent both ways). While
 * started, the transport asks the connection for space with
 * wasio__srv_conn_read_space() and reports with wasio__srv_conn_on_read(). */
int wasio__srv_io_read_start(wasio__srv_io_t *io);
void wasio__srv_io_read_stop(wasio__srv_io_t *io);

/* Queues plaintext; `cb` runs once, in order, as wasio_tcp_write's does. */
int wasio__srv_io_write(wasio__srv_io_t *io, wasio_write_t *req, const void *base, size_t len,
                        wasio_write_cb cb);

/* Plaintext queued and not yet taken by the socket (write-stall checks). */
size_t wasio__srv_io_queued(const wasio__srv_io_t *io);

/* After the queued writes, ends the sending side; then
 * wasio__srv_conn_on_shutdown() runs once (unless the transport is closed
 * first). */
int wasio__srv_io_shutdown(wasio__srv_io_t *io);

/* Closes; then wasio__srv_conn_on_closed() runs once in phase 4.
 * Idempotent. Queued writes complete with WASIO_ECANCELED: over TCP
 * synchronously (as with wasio_tcp_close), over TLS in phase 4 before
 * on_closed. TLS after a good handshake: close_notify is sent first (the
 * queued writes go out before it and complete normally), bounded by
 * WASIO__SRV_IO_NOTIFY_NS of no progress, and on_closed follows the close
 * after it. */
void wasio__srv_io_close(wasio__srv_io_t *io);

int wasio__srv_io_peer_addr(const wasio__srv_io_t *io, wasio_addr_t *out);

/* ---- upcalls, implemented by server.c ---------------------------------- */

/* Where the next plaintext may land: *base, *cap (cap 0 means "no room":
 * the read fails with WASIO_ENOMEM, which the connection never lets
 * happen because it stops reading first). */
void wasio__srv_conn_read_space(wasio__srv_conn_t *conn, char **base, size_t *cap);
/* nread > 0 bytes landed at the space handed out last; < 0: WASIO_EOF or an
 * error, and reading has stopped. */
void wasio__srv_conn_on_read(wasio__srv_conn_t *conn, ptrdiff_t nread);
void wasio__srv_conn_on_shutdown(wasio__srv_conn_t *conn, int status);
void wasio__srv_conn_on_closed(wasio__srv_conn_t *conn);

#endif
