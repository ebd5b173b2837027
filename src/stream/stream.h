/* src/stream/stream.h: the one byte stream under every protocol (the HTTP
 * client and server): plain TCP, the guest's TLS (wasio_tls_t over TCP) or
 * the host's TLS (wasio/tls_host.h) behind one set of upcalls, so that a
 * protocol never knows which transport it rides on (h2o's h2o_socket_t is
 * the model).
 *
 * Implementation notes
 * - The protocol embeds a wasio__stream_t in its connection and gives it a
 *   const table of upcalls (wasio__stream_cbs_t); each upcall finds the
 *   connection from the stream pointer (WASIO__CONTAINER_OF). The set of
 *   transports is closed, so the stream dispatches with a switch on its
 *   kind, never through stored pointers of its own.
 * - Every kind behaves as TCP does: no upcall runs from inside a
 *   wasio__stream_* call (the TLS streams run their pumps from deferred
 *   requests, TCP from phase 3); writes complete through their own
 *   wasio_write_t callbacks, in order; close cancels what is owed in phase 4
 *   (WASIO_ECANCELED for writes not taken) before on_close.
 * - TLS: a connect runs the TCP connect first, then the handshake, and
 *   on_open reports both (so no request byte leaves before the peer's
 *   certificate is verified; the connect timeout also bounds a silent peer
 *   during the handshake). An accepted TLS stream starts its handshake at
 *   once; reads asked before it is over start after it, writes wait in the
 *   TLS stream (which fails them if it fails).
 * - The host's TLS: after the TCP connect the host does the handshake; from
 *   then on the same wasio_tcp_t carries plaintext, so the I/O is the TCP
 *   kind's and only close differs (wasio_tls_host_close).
 * - State, each axis changed by one function that checks the move
 *   (WASIO_ASSERT) and traces it (WASIO__TRACE):
 *     life      NEW -> CONNECTING (connect) -> HANDSHAKE (TLS kinds) -> OPEN,
 *               NEW -> HANDSHAKE | OPEN (accept); CONNECTING | HANDSHAKE ->
 *               FAILED (on_open reported the failure); any -> NOTIFYING
 *               (close with close_notify first) -> CLOSING -> CLOSED
 *               (on_close ran: the stream touches nothing after);
 *     reading   OFF <-> WANTED (asked before the stream is open) -> ON
 *               (the layer below reads), ON -> OFF; ON -> ENDED (a final
 *               status went up: no more reads);
 *     shutdown  NONE -> RUNNING -> DONE.
 */
#ifndef WASIO_STREAM_H
#define WASIO_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasio.h"
#include "wasio/tls_host.h"

/* Closing a TLS stream with close_notify first (wasio__stream_close's
 * notify): if the socket makes no progress for this long (a peer that does
 * not read), it closes anyway. */
#define WASIO__STREAM_NOTIFY_NS (2ull * WASIO_NS_PER_S)

typedef enum wasio__stream_kind {
  WASIO__STREAM_TCP = 1,  /* plaintext over wasio TCP */
  WASIO__STREAM_TLS,      /* the guest's TLS (wasio_tls_t) over wasio TCP */
  WASIO__STREAM_HOST_TLS  /* the host's TLS (wasio_tls_host_t): after the handshake
                             the tcp carries plaintext, so I/O is TCP's */
} wasio__stream_kind_t;

typedef struct wasio__stream wasio__stream_t;

/* Upcalls into the protocol that embeds the stream. Each runs from a loop
 * callback, never from inside a wasio__stream_* call. */
typedef struct wasio__stream_cbs {
  /* The stream is open (0: connected and, for TLS, the handshake
   * succeeded) or could not open (then only close is left). Once for a
   * connect; for an accepted TLS stream, the handshake's outcome (an
   * accepted TCP stream is open at once and gets no on_open). */
  void (*on_open)(wasio__stream_t *s, int status);
  /* Where the next plaintext bytes may land; buf->len 0: no room (the read
   * then ends with WASIO_ENOMEM). */
  void (*alloc)(wasio__stream_t *s, wasio_buf_t *buf);
  /* nread > 0 bytes landed at the space handed out last; < 0: WASIO_EOF or
   * an error, and reading has ended. */
  void (*on_read)(wasio__stream_t *s, ptrdiff_t nread);
  /* wasio__stream_shutdown's outcome, once; not after close (on_close
   * follows instead). May be NULL for a protocol that never shuts down. */
  void (*on_shutdown)(wasio__stream_t *s, int status);
  /* Once, after close; the stream touches nothing of the protocol's after
   * it (a TLS stream has freed its engine: its config may go). */
  void (*on_close)(wasio__stream_t *s);
} wasio__stream_cbs_t;

struct wasio__stream {
  const wasio__stream_cbs_t *cbs;
  wasio_tcp_t *tcp;          /* under every kind (owned by tls or htls once they exist) */
  wasio_tls_t *tls;          /* TLS: from the TCP connect (or accept) on */
  wasio_tls_host_t *htls;    /* HOST_TLS: from the TCP connect on */
  /* A connect's TLS parameters, used once TCP is connected. */
  wasio_tls_config_t *cfg;
  const char *host;          /* the caller's: valid until on_open */
  uint64_t connect_ns;
  uint16_t port;
  uint8_t kind;              /* wasio__stream_kind_t */
  uint8_t life;              /* the axes above (stream.c) */
  uint8_t reading;
  uint8_t sd;
  int read_end;              /* the final read status, once reading ENDED */
};

/* Connects to host:port (a name is resolved without blocking) with TCP,
 * then, for the TLS kinds, the handshake for `host` (SNI and the name
 * verified; cfg is the guest TLS config, unused by the others).
 * timeout_ns (WASIO_NO_TIMEOUT: none) bounds the TCP connect and any
 * silence during the guest's handshake. On 0, on_open runs once; on an
 * error nothing was made and no upcall follows. `host` must stay valid
 * until on_open. */
int wasio__stream_connect(wasio__stream_t *s, const wasio__stream_cbs_t *cbs, wasio_loop_t *loop,
                          wasio__stream_kind_t kind, wasio_tls_config_t *cfg, const char *host,
                          uint16_t port, uint64_t timeout_ns);

/* Adopts an accepted connection: TCP (cfg NULL: open at once), or the
 * guest's TLS with a server config `cfg` (the handshake runs from the next
 * turn; on_open reports it). On an error (wasio_tls_new's) the tcp is
 * still the caller's. */
int wasio__stream_accept(wasio__stream_t *s, const wasio__stream_cbs_t *cbs, wasio_tcp_t *tcp,
                         wasio_tls_config_t *cfg);

/* Whether connect or accept succeeded: close owes on_close. */
bool wasio__stream_started(const wasio__stream_t *s);

/* Starts delivering plaintext (idempotent; before the stream is open it
 * starts once it is). Returns 0, or the error of a stream that cannot read
 * any more (ended, failed). */
int wasio__stream_read_start(wasio__stream_t *s);
void wasio__stream_read_stop(wasio__stream_t *s);

/* Queues plaintext; cb runs once, in order, as wasio_tcp_write's does
 * (over TLS: once its ciphertext was taken by TCP). Before an accepted TLS
 * stream is open the bytes wait for its handshake. */
int wasio__stream_write(wasio__stream_t *s, wasio_write_t *req, const void *base, size_t len,
                        wasio_write_cb cb);

/* Plaintext queued and not yet taken (write-stall checks). */
size_t wasio__stream_queued(const wasio__stream_t *s);

/* Silence (nothing read or written while I/O is pending) longer than
 * idle_ns ends the pending read with WASIO_ETIMEDOUT; 0 turns it off. */
void wasio__stream_set_idle(wasio__stream_t *s, uint64_t idle_ns);

/* After the queued writes, ends the sending side (TLS: close_notify, then
 * TCP's FIN); on_shutdown follows once, unless the stream closes first. */
int wasio__stream_shutdown(wasio__stream_t *s);

/* Closes; on_close follows once (phase 4, or after close_notify).
 * Idempotent. Writes not taken end with WASIO_ECANCELED before it.
 * `notify`: a guest TLS stream that is open, has not failed and has not
 * shut down sends close_notify first (its queued writes go out before it
 * and complete normally), bounded by WASIO__STREAM_NOTIFY_NS of no
 * progress, so the peer sees a clean end rather than a truncation. */
void wasio__stream_close(wasio__stream_t *s, bool notify);

int wasio__stream_peer_addr(const wasio__stream_t *s, wasio_addr_t *out);

#endif
