/* wasio/tls_host.h: TLS done by the host (wasi:tls), and the explicit choice
 * between it and the guest's own TLS (wasio/tls.h, mbedTLS).
 *
 * Two TLS backends:
 * - GUEST: mbedTLS inside the component (wasio_tls_t). Runs on every host
 *   (wasmtime, jco, native), TLS 1.3 and 1.2, trusts what
 *   wasio_tls_config_t says.
 * - HOST: the host's TLS through the draft wasi:tls interface
 *   (wasi:tls/types@0.2.0-draft). Today only wasmtime's host code
 *   (wasmtime-wasi-tls) implements it. The wasmtime CLI offers it behind
 *   `wasmtime run -S tls` (tools/wasio-run --tls) with rustls: TLS 1.2 and
 *   1.3, verification against the Mozilla roots compiled into wasmtime (the
 *   webpki-roots crate) and nothing else. An embedder can pick another
 *   provider: tools/wasio-tls-host (tools/wasio-run --host tlshost) is that
 *   host code with the OpenSSL provider, which trusts the system store and
 *   SSL_CERT_FILE (docs/HOST_TLS.md). The draft has no way to add a CA, pin,
 *   skip verification, offer ALPN or learn the certificate: the host decides.
 *
 * Which builds have which: a component that imports wasi:tls cannot even be
 * instantiated on a host without it (jco), so the HOST backend is only in a
 * second library, build/wasm32/libwasio-hosttls.a (`make hosttls`; link it
 * with `tools/wasio-cc --host-tls`). The default libwasio.a (and the native
 * build) contain these functions too, as stubs: wasio_tls_host_available()
 * is false there and wasio_tls_host_connect() fails with WASIO_ENOTSUP, so
 * one program source builds against both.
 *
 * Choosing (wasio_tls_backend_t):
 *   GUEST  always mbedTLS in the guest.
 *   HOST   the host's TLS; WASIO_ENOTSUP in a build without it.
 *   AUTO   HOST in the hosttls build, GUEST otherwise. "The host accepts"
 *          is decided at instantiation: the hosttls component does not start
 *          on a host without wasi:tls, so at run time there is nothing left
 *          to probe.
 *
 * The host stream has the shape of a TCP connection because it is one:
 * wasio_tls_host_connect() takes a connected wasio_tcp_t whose input and
 * output streams the draft consumes (its client-handshake constructor takes
 * them), and after the handshake the same wasio_tcp_t reads and writes
 * plaintext through the loop's pollables with wasio_tcp_read_start(),
 * wasio_tcp_write() and wasio_tcp_shutdown(). Code written for a wasio_tcp_t
 * runs unchanged on it.
 *
 * Lifetimes: the wasio_tls_host_t owns the wasio_tcp_t from
 * wasio_tls_host_connect() on; close both with wasio_tls_host_close() (never
 * wasio_tcp_close() on that tcp: the TLS resources must go before the
 * socket, children first). Valid until the close callback has returned.
 *
 * Errors of the handshake callback: WASIO_ETLS_CERT_UNTRUSTED (unknown
 * issuer), WASIO_ETLS_CERT_NAME, WASIO_ETLS_CERT_EXPIRED,
 * WASIO_ETLS_CERT_NOT_YET_VALID, WASIO_ETLS_CERT_INVALID (another
 * certificate problem, or one the host does not name), WASIO_ETLS_ALERT
 * (the peer sent a fatal alert), WASIO_ETLS (anything else); the host's own
 * words for the failure stay in wasio_tls_host_error_message(). The mapping
 * reads the messages of rustls and of OpenSSL, which are not an API, and
 * maps only what the words prove: an unknown wording is WASIO_ETLS, never a
 * wrong code. OpenSSL's "certificate verify failed" does not say why (unknown
 * CA, wrong name and expiry read the same), so on an OpenSSL host every
 * verification failure is WASIO_ETLS_CERT_INVALID; rustls names the
 * issuer, name and date failures.
 * Ending: wasio_tcp_shutdown() on the host stream ends the sending side
 * as TLS should: the queued bytes, then close_notify (the draft's
 * client-connection.close-output), then the TCP FIN; its callback runs with
 * 0 once the host has finished that, with the host's failure if it failed,
 * and with WASIO_ETIMEDOUT if the host has not finished within
 * WASIO_TCP_SHUTDOWN_TIMEOUT_NS (10 s, wasio/tcp.h: a peer that stopped
 * reading; the handle stays usable for reading and closing). Reading goes
 * on: the peer's close_notify reads as WASIO_EOF.
 * wasio_tls_host_close() at any time drops the connection at once (a
 * pending shutdown gets WASIO_ECANCELED): without a finished shutdown
 * first, the peer sees no close_notify, which OpenSSL peers treat as a
 * truncation. So for an orderly end: shutdown, wait for its callback (and
 * for WASIO_EOF if the peer's answer matters), then close.
 * Not covered by wasio, nor by the draft: session resumption control and a
 * handshake timeout (close the handle from a timer).
 */
#ifndef WASIO_TLS_HOST_H
#define WASIO_TLS_HOST_H

#include <stddef.h>
#include <stdbool.h>

#include "loop.h"
#include "tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wasio_tls_backend {
  WASIO_TLS_BACKEND_AUTO = 0,  /* HOST when this build has it, else GUEST */
  WASIO_TLS_BACKEND_GUEST = 1, /* mbedTLS in the component (wasio/tls.h) */
  WASIO_TLS_BACKEND_HOST = 2   /* the host's wasi:tls (libwasio-hosttls.a) */
} wasio_tls_backend_t;

/* True in libwasio-hosttls.a, false in libwasio.a and natively. */
bool wasio_tls_host_available(void);

/* The backend `want` means in this build: WASIO_TLS_BACKEND_GUEST or
 * WASIO_TLS_BACKEND_HOST (never AUTO). Returns WASIO_ENOTSUP for HOST in a
 * build without it, WASIO_EINVAL for a value not in the enum. */
int wasio_tls_backend_resolve(wasio_tls_backend_t want);

/* "auto", "guest" or "host"; NULL for anything else. */
const char *wasio_tls_backend_name(wasio_tls_backend_t backend);

typedef struct wasio_tls_host wasio_tls_host_t;
/* status 0: the handshake succeeded and wasio_tls_host_tcp() now carries
 * plaintext; otherwise a WASIO_ETLS_* code (see above) or a stream error. */
typedef void (*wasio_tls_host_connect_cb)(wasio_tls_host_t *tls, int status);
typedef void (*wasio_tls_host_close_cb)(wasio_tls_host_t *tls);

/* Hands the connected `tcp` to the host's TLS and starts the handshake for
 * `server_name` (SNI and the name the certificate must match; the host
 * rejects an invalid one). `tcp` must be connected and idle: not reading, no
 * queued write, no shutdown requested (WASIO_ESTATE otherwise). On 0, *out
 * owns tcp and `cb` runs once from the loop. Errors, with tcp left as it
 * was: WASIO_ENOTSUP (no host TLS in this build), WASIO_EINVAL,
 * WASIO_ENAMETOOLONG (past WASIO_TLS_HOST_MAX_NAME), WASIO_ESTATE,
 * WASIO_ENOMEM. */
#define WASIO_TLS_HOST_MAX_NAME 253
int wasio_tls_host_connect(wasio_tcp_t *tcp, const char *server_name,
                           wasio_tls_host_connect_cb cb, wasio_tls_host_t **out);

/* The TCP handle that carries the plaintext after a successful handshake. */
wasio_tcp_t *wasio_tls_host_tcp(const wasio_tls_host_t *tls);

/* The host's description of the last failure ("" if none). Valid until the
 * handle is closed. */
const char *wasio_tls_host_error_message(const wasio_tls_host_t *tls);

/* The user's pointer of the handle (wasio_tls_host_set_data() sets it,
 * wasio_tls_host_data() returns it, NULL until set; the TCP handle's own
 * is separate). */
void wasio_tls_host_set_data(wasio_tls_host_t *tls, void *data);
void *wasio_tls_host_data(const wasio_tls_host_t *tls);

/* Ends the TLS connection and its TCP socket. Nothing is called back from
 * inside this call (wasio.h): a pending handshake's callback runs with
 * WASIO_ECANCELED in phase 4, after the tcp's writes and shutdown (which
 * end as wasio_tcp_close() ends them) and before `cb` (may be NULL), which
 * runs once everything is released. Idempotent. */
void wasio_tls_host_close(wasio_tls_host_t *tls, wasio_tls_host_close_cb cb);

#ifdef __cplusplus
}
#endif

#endif
