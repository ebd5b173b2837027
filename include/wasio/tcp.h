/* wasio/tcp.h: TCP connections and listeners.
 *
 * Lifetime: a wasio_tcp_t is valid from wasio_tcp_new() (or from the
 * connection callback that hands it to you) until its close callback has
 * returned; the library frees it then.
 *
 * Writes are queued: each wasio_tcp_write() completes exactly once through
 * its callback, in order. wasio never hands the stream more than it accepts
 * (wasi:io `check-write`, or EAGAIN natively); what is not yet accepted stays
 * in your buffer, and wasio_tcp_write_queue_size() tells how much that is,
 * so you can stop producing (backpressure).
 */
#ifndef WASIO_TCP_H
#define WASIO_TCP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "addr.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasio_tcp wasio_tcp_t;
typedef struct wasio_write wasio_write_t;

typedef struct wasio_buf {
  void *base;
  size_t len;
} wasio_buf_t;

/* Size of the loop's own read buffer (used when no alloc callback is
 * given) and the `suggested` size passed to alloc callbacks. */
#define WASIO_READ_BUF_SIZE 65536
/* How long a listener pauses after an accept failed for lack of
 * descriptors or memory (WASIO_EMFILE, WASIO_ENOMEM; wasmtime reports
 * running out of descriptors as WASIO_EIO), or for any other reason that is
 * not one aborted connection: instead of retrying at once, which would spin
 * a core while nothing can be accepted, it stops waiting for connections,
 * which stay in the backlog, and tries again after this long. */
#define WASIO_TCP_ACCEPT_PAUSE_NS (50ull * WASIO_NS_PER_MS)
/* How long a shutdown waits, once the stream has taken every queued
 * write, for the sending side to end: on wasip2 the host flushes what it
 * took first (and with the host's TLS, wasio/tls_host.h, writes
 * close_notify), which a peer that stopped reading can hold up forever.
 * Past it the shutdown callback gets WASIO_ETIMEDOUT and the handle stays
 * usable for reading and closing. (Natively the kernel ends the side at
 * once.) The wait for the stream to take the writes is not bounded by it:
 * wasio_tcp_set_idle_timeout() is. */
#define WASIO_TCP_SHUTDOWN_TIMEOUT_NS (10ull * WASIO_NS_PER_S)
/* Default and largest listen backlog. */
#define WASIO_TCP_BACKLOG_DEFAULT 128
#define WASIO_TCP_BACKLOG_MAX 4096

typedef void (*wasio_connect_cb)(wasio_tcp_t *tcp, int status);
/* A new connection (status 0; `client` is yours to read, write and close),
 * or an accept error (status < 0, client NULL; listening goes on). After an
 * error other than WASIO_ECONNABORTED/ECONNRESET (one connection that gave
 * up), e.g. out of descriptors (WASIO_EMFILE, or WASIO_EIO on wasmtime) or
 * memory, the listener reports it once, pauses for
 * WASIO_TCP_ACCEPT_PAUSE_NS, then tries again: close connections to let it
 * accept more. */
typedef void (*wasio_connection_cb)(wasio_tcp_t *server, wasio_tcp_t *client, int status);
/* Sets *buf to where the next read should land. Leaving buf->base NULL or
 * buf->len 0 makes that read fail with WASIO_ENOMEM (reading stops). */
typedef void (*wasio_alloc_cb)(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf);
/* nread > 0: that many bytes at buf->base. nread < 0: WASIO_EOF (the peer
 * shut down writing) or an error; reading has stopped. Never 0. With no
 * alloc callback, buf points into the loop's buffer, valid only during the
 * callback. */
typedef void (*wasio_read_cb)(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf);
typedef void (*wasio_write_cb)(wasio_write_t *req, int status);
typedef void (*wasio_shutdown_cb)(wasio_tcp_t *tcp, int status);
typedef void (*wasio_tcp_close_cb)(wasio_tcp_t *tcp);

/* A caller-owned write request: keep it and its bytes alive until its
 * callback runs. Only `data` is yours. */
struct wasio_write {
  void *data;
  wasio_write_t *wasio__next;
  wasio_tcp_t *wasio__tcp;
  const uint8_t *wasio__base;
  size_t wasio__len;
  size_t wasio__done;
  wasio_write_cb wasio__cb;
};

/* Creates an unconnected handle. Returns 0 and sets *out, or WASIO_ENOMEM. */
int wasio_tcp_new(wasio_loop_t *loop, wasio_tcp_t **out);

/* Connects to `addr`. timeout_ns (or WASIO_NO_TIMEOUT) bounds the whole
 * connect; on expiry cb gets WASIO_ETIMEDOUT. Errors: WASIO_EINVAL (bad
 * address, NULL cb), WASIO_ESTATE (already connecting/connected/listening),
 * WASIO_ECLOSING. */
int wasio_tcp_connect(wasio_tcp_t *tcp, const wasio_addr_t *addr,
                      uint64_t timeout_ns, wasio_connect_cb cb);

/* Connects to `host` (a name, or a numeric IPv4/IPv6 address, which is used
 * without a lookup) and `port`. Names are resolved through the loop
 * (wasio/dns.h, never blocking); the addresses are tried in order until one
 * connects. timeout_ns bounds the lookup and all attempts together. cb gets
 * the last attempt's error, or the lookup's. Errors as wasio_tcp_connect,
 * plus WASIO_ENAMETOOLONG. */
int wasio_tcp_connect_host(wasio_tcp_t *tcp, const char *host, uint16_t port,
                           uint64_t timeout_ns, wasio_connect_cb cb);

/* Binds to a local address (port 0 picks one). Errors: WASIO_EADDRINUSE,
 * WASIO_EADDRNOTAVAIL, WASIO_EACCES, WASIO_ESTATE, ... */
int wasio_tcp_bind(wasio_tcp_t *tcp, const wasio_addr_t *addr);

/* Listens (after bind); cb runs once per accepted connection. backlog <= 0
 * means WASIO_TCP_BACKLOG_DEFAULT; larger than WASIO_TCP_BACKLOG_MAX is
 * clamped. */
int wasio_tcp_listen(wasio_tcp_t *tcp, int backlog, wasio_connection_cb cb);

/* Starts reading. alloc_cb may be NULL (then the loop's buffer is used).
 * Errors: WASIO_ENOTCONN, WASIO_EBUSY (already reading), WASIO_ECLOSING,
 * WASIO_EOF (the peer already shut down: nothing more will come). */
int wasio_tcp_read_start(wasio_tcp_t *tcp, wasio_alloc_cb alloc_cb, wasio_read_cb read_cb);

/* Stops reading; idempotent. Data stays in the socket until the next start. */
int wasio_tcp_read_stop(wasio_tcp_t *tcp);

/* Queues `len` bytes (len may be 0: completes after the writes before it).
 * The bytes go to the stream in phase 3 of this turn, gathered with the
 * handle's other writes. Errors: WASIO_ENOTCONN, WASIO_EPIPE (after
 * shutdown), WASIO_ECLOSING, WASIO_EBUSY (req is already queued),
 * WASIO_EINVAL, or the error the stream already failed with (a write
 * failed before: nothing more is queued). */
int wasio_tcp_write(wasio_tcp_t *tcp, wasio_write_t *req, const void *base,
                    size_t len, wasio_write_cb cb);

/* Bytes queued by wasio_tcp_write and not yet accepted by the stream. */
size_t wasio_tcp_write_queue_size(const wasio_tcp_t *tcp);

/* Half-close: after every queued write is done, shuts down the sending side
 * (the peer reads EOF); reading goes on. cb (may be NULL) gets 0, the
 * failure of a write or of the shutdown, or WASIO_ETIMEDOUT
 * (WASIO_TCP_SHUTDOWN_TIMEOUT_NS). Errors: WASIO_ENOTCONN, WASIO_EBUSY
 * (already shutting down), WASIO_ECLOSING. */
int wasio_tcp_shutdown(wasio_tcp_t *tcp, wasio_shutdown_cb cb);

/* If no byte is read or written for `idle_ns` while a read or a write is
 * pending, the pending read callback gets WASIO_ETIMEDOUT first, then each
 * queued write fails with it, in order. 0 turns it off (the default). */
int wasio_tcp_set_idle_timeout(wasio_tcp_t *tcp, uint64_t idle_ns);

/* TCP keep-alive: on/off and the idle time before the first probe
 * (0 = system default). Works before or after connect. */
int wasio_tcp_keepalive(wasio_tcp_t *tcp, bool enable, uint64_t idle_ns);

/* The handle's own address (after bind, connect or listen: port 0 bound
 * shows the port picked) into *out. Returns 0, WASIO_ENOTCONN (no socket
 * yet, or closed), WASIO_EINVAL (NULL), or the host's error. */
int wasio_tcp_local_addr(const wasio_tcp_t *tcp, wasio_addr_t *out);
/* The peer's address of a connected handle (an accepted one too) into
 * *out. Returns 0, WASIO_ENOTCONN (not connected, or closed; also while
 * the host's TLS handshake runs on it), WASIO_EINVAL, or the host's
 * error. */
int wasio_tcp_peer_addr(const wasio_tcp_t *tcp, wasio_addr_t *out);

/* The user's pointer of the handle (wasio_tcp_set_data() sets it,
 * wasio_tcp_data() returns it, NULL until set) and the handle's loop
 * (wasio_tcp_loop()). wasio never reads the pointer. */
void wasio_tcp_set_data(wasio_tcp_t *tcp, void *data);
void *wasio_tcp_data(const wasio_tcp_t *tcp);
wasio_loop_t *wasio_tcp_loop(const wasio_tcp_t *tcp);

/* Closes: queued writes go to the stream as far as it takes them without
 * waiting (a write followed by a close is delivered); reading stops. In
 * phase 4 of this turn, never from inside this call, the writes the stream
 * took complete with 0, the rest, a pending connect and a pending shutdown
 * get WASIO_ECANCELED, then cb (may be NULL) runs once. Idempotent. */
void wasio_tcp_close(wasio_tcp_t *tcp, wasio_tcp_close_cb cb);

#ifdef __cplusplus
}
#endif
#endif
