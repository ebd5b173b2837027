/* wasio/tls.h: TLS 1.3 and 1.2 in the guest (mbedTLS 3.6), client and
 * server.
 *
 * Three layers, each usable on its own:
 *
 * 1. wasio_tls_config_t: what to trust and offer, shared by many
 *    connections. Client defaults: the Mozilla roots (Debian's
 *    ca-certificates, turned into trust anchors at build time), full
 *    verification (the policy below), TLS 1.3 preferred and TLS 1.2,
 *    full-duplex buffers, a small session cache for resumption.
 * 2. wasio_tls_engine_t: the sans-I/O engine (no socket, no loop): push
 *    ciphertext in, pull ciphertext out, push plaintext in, pull plaintext
 *    out, steered by wasio_tls_engine_state() bits. Tests and fuzzers drive it
 *    directly; anything that moves bytes can carry it.
 * 3. wasio_tls_t: a TLS stream over a connected wasio_tcp_t, with the same
 *    read/write/shutdown/close shape as wasio/tcp.h (callbacks, order and
 *    close rules included), so code written for one serves the other.
 *
 * Lifetimes (one sentence each):
 * - A config is yours: free it with wasio_tls_config_free() after every
 *   engine and stream made from it is freed/closed; it must not change while
 *   they exist (every setter returns WASIO_EBUSY then).
 * - An engine is valid from wasio_tls_engine_new() until
 *   wasio_tls_engine_free().
 * - A stream is valid until its close callback has returned (like every
 *   wasio handle); it owns its wasio_tcp_t from wasio_tls_new() on.
 *
 * The engine is mbedTLS 3.6 (Debian's source package, compiled unchanged
 * with wasio's own configuration; docs/TLS.md says what it holds and how
 * wasio moves to mbedTLS 4.x); wasio_tls_library() names it.
 *
 * Protocol: TLS 1.3 preferred, TLS 1.2 otherwise; key exchange
 * by (EC)DHE only, X25519 then P-256 (a TLS 1.3 peer that wants another
 * group asks again with a HelloRetryRequest, which both sides handle);
 * AEAD records only: ChaCha20-Poly1305 first, then AES-128-GCM and
 * AES-256-GCM, except natively on a CPU with AES instructions, where
 * AES-GCM goes first. Why ChaCha20 first: WebAssembly has no AES
 * instructions, so a component runs mbedTLS's portable AES, which looks up
 * tables indexed by key and data (cache timing can leak them) and is
 * slower there than ChaCha20, whose additions, rotations and XORs take the
 * same time whatever the data; the price is paid only against a server
 * that insists on AES-GCM. The client's order decides unless the server
 * enforces its own; mbedTLS as a server picks by its own order in TLS 1.2
 * and takes the client's first in TLS 1.3. SNI (names, never addresses)
 * and ALPN; resumption from the per-config session cache (client: TLS 1.3
 * tickets and TLS 1.2 tickets or session IDs; server: tickets, whose keys
 * rotate, and a session-ID cache for TLS 1.2); close_notify sent on
 * shutdown and required at the end (else WASIO_ETLS_TRUNCATED). No 0-RTT:
 * early data can be replayed by anyone on the path and reaches the server
 * before the handshake authenticates it, which HTTP requests cannot afford
 * (RFC 8446 8), and it would break the rule that no application byte
 * leaves before the peer is verified. A TLS 1.3 KeyUpdate from the peer
 * ends the connection with WASIO_ETLS_KEY_UPDATE: mbedTLS 3.6 cannot
 * follow one (peers update keys rarely: on request, or after very large
 * transfers). No renegotiation (TLS 1.2). Client certificates are not
 * supported.
 *
 * Verification (client), strict by default, each rule with
 * its own error (below) and each tested:
 * - the chain leads to a built-in Mozilla root or a CA the user added
 *   (wasio_tls_config_add_ca_pem; a non-CA certificate added there is
 *   trusted as exactly that server certificate); trust anchors are a name
 *   and a key, so their own dates and extensions do not matter;
 * - every certificate of the chain is valid now by wasio_wall_clock();
 * - every issuer is a CA (basicConstraints) whose keyUsage, if present,
 *   allows keyCertSign;
 * - signatures SHA-256, SHA-384 or SHA-512 (SHA-1 and MD5 refused), RSA
 *   keys of 2048 bits or more, EC keys on P-256 or P-384;
 * - the end-entity's extendedKeyUsage, if present, lists serverAuth, and
 *   its keyUsage allows the handshake's signature;
 * - the server's identity only from subjectAltName, never from the subject
 *   CN (CA/Browser Forum Baseline Requirements, RFC 9525): a host name
 *   against the dNSName entries, case-insensitively, where "*" may only be
 *   the whole left-most label of a name with at least two more labels and
 *   stands for exactly one label; an IP address only against the
 *   iPAddress entries (no SNI is sent for one);
 * - pins (wasio_tls_config_pin_sha256) as well, also under
 *   wasio_tls_config_insecure(), which skips everything else.
 * The whole verification ends before the handshake does, and no
 * application byte is sent before it.
 *
 * Errors are the WASIO_ETLS_* codes of wasio/error.h:
 *   ETLS_CERT_UNTRUSTED     no path to an anchor (unknown CA, or the server
 *                           left out an intermediate: these look the same,
 *                           as they do to OpenSSL, whose code is 20)
 *   ETLS_CERT_SELF_SIGNED   a lone self-signed certificate, not trusted
 *   ETLS_CERT_EXPIRED / ETLS_CERT_NOT_YET_VALID   by the end-entity's dates
 *                           (an intermediate out of its period: EXPIRED)
 *   ETLS_CERT_NAME          host name or address not in the certificate
 *   ETLS_CERT_NO_SAN        no subjectAltName (the CN names nothing)
 *   ETLS_CERT_WILDCARD      the name matches only through a "*" of a refused
 *                           form ("w*.example.com", "*.com")
 *   ETLS_CERT_IP            the address is only in a DNS name or the CN, or
 *                           under a wildcard, not in an iPAddress
 *   ETLS_CERT_USAGE         extendedKeyUsage without serverAuth, or a
 *                           keyUsage that forbids the handshake
 *   ETLS_CERT_WEAK_KEY      an RSA key under 2048 bits in the chain
 *   ETLS_CERT_ISSUER        the issuer the peer sent is no CA, or may not
 *                           sign certificates
 *   ETLS_CERT_ALGORITHM     SHA-1/MD5 signature, unsupported key or curve
 *   ETLS_CERT_PIN           no pin matched
 *   ETLS_CERT_INVALID       malformed, or larger than WASIO_TLS_MAX_EE_CERT
 *   ETLS_VERSION            the peer only speaks TLS 1.0/1.1 (or SSL)
 *   ETLS_NOT_TLS            the peer's first byte was no TLS record at all
 *                           (e.g. https:// to a plain HTTP port)
 *   ETLS_ALERT              the peer sent another fatal alert
 *   ETLS_TRUNCATED          TCP ended after the handshake without close_notify
 *   ETLS_KEY_UPDATE         the peer sent a TLS 1.3 KeyUpdate (above)
 *   ETLS                    any other protocol failure
 * A TCP end before the handshake completes is WASIO_ECONNRESET. A
 * certificate is rejected before any application byte is sent:
 * wasio_tls_write() data stays queued until the handshake has succeeded.
 */
#ifndef WASIO_TLS_H
#define WASIO_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "loop.h"
#include "tcp.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasio_tls_config wasio_tls_config_t;
typedef struct wasio_tls_engine wasio_tls_engine_t;
typedef struct wasio_tls wasio_tls_t;

/* ---- limits and buffer sizes ------------------------------------------------ */

/* The engine's ciphertext buffers, per connection (one allocation with the
 * engine): received ciphertext not yet taken by mbedTLS, up to
 * WASIO_TLS_BUFSIZE_IN (a whole record with its header and expansion), and
 * one whole record to send, WASIO_TLS_BUFSIZE_OUT; WASIO_TLS_BUFSIZE_BIDI
 * both. mbedTLS keeps two record buffers of its own, each of about
 * WASIO_TLS_BUFSIZE_OUT. Half duplex (wasio_tls_config_half_duplex) makes the
 * input buffer WASIO_TLS_BUFSIZE_MONO: less memory, more pushes per record. */
#define WASIO_TLS_BUFSIZE_IN (16384 + 325)
#define WASIO_TLS_BUFSIZE_OUT (16384 + 85)
#define WASIO_TLS_BUFSIZE_BIDI (WASIO_TLS_BUFSIZE_IN + WASIO_TLS_BUFSIZE_OUT)
#define WASIO_TLS_BUFSIZE_MONO 4096
/* Client sessions remembered for resumption (per config; least recently
 * used is replaced). Keyed by host and port. */
#define WASIO_TLS_CLIENT_SESSIONS 8
/* Server: sessions kept per config for TLS 1.2 resumption by session ID
 * (mbedTLS's cache, oldest replaced; tickets need no server state). */
#define WASIO_TLS_SERVER_SESSIONS 64
/* How long a session may be resumed, by ticket (whose keys the server
 * rotates as often) or by session ID, in seconds. */
#define WASIO_TLS_SESSION_LIFETIME_S 7200
/* Pins per config (wasio_tls_config_pin_sha256). */
#define WASIO_TLS_MAX_PINS 8
/* ALPN protocol names per config, and the longest name (RFC 7301: 255). */
#define WASIO_TLS_MAX_ALPN 4
#define WASIO_TLS_MAX_ALPN_LEN 255
/* Largest end-entity certificate accepted (DER bytes); a larger one is
 * WASIO_ETLS_CERT_INVALID. */
#define WASIO_TLS_MAX_EE_CERT 16384
/* Extra trust anchors from PEM per config, and certificates in a server
 * chain. */
#define WASIO_TLS_MAX_ANCHORS 1024
#define WASIO_TLS_MAX_CHAIN 8
/* Longest host name (DNS limit). */
#define WASIO_TLS_MAX_HOST 253

/* The TLS library inside the guest's engine and its version, e.g.
 * "mbedTLS 3.6.6" (a static string). */
const char *wasio_tls_library(void);

/* ---- configuration ------------------------------------------------------------ */

typedef enum wasio_tls_role {
  WASIO_TLS_CLIENT = 1,
  WASIO_TLS_SERVER = 2
} wasio_tls_role_t;

typedef enum wasio_tls_pin_kind {
  WASIO_TLS_PIN_SPKI = 1, /* SHA-256 of the DER SubjectPublicKeyInfo (as curl's
                             --pinnedpubkey sha256//, HPKP) */
  WASIO_TLS_PIN_CERT = 2  /* SHA-256 of the whole DER certificate */
} wasio_tls_pin_kind_t;

/* Creates a config with the defaults above. Returns 0, WASIO_EINVAL (bad
 * role) or WASIO_ENOMEM. */
int wasio_tls_config_new(wasio_tls_role_t role, wasio_tls_config_t **out);

/* Frees the config. NULL is a no-op. Returns WASIO_EBUSY (and frees
 * nothing) while engines made from it exist. */
int wasio_tls_config_free(wasio_tls_config_t *cfg);

/* Client: trust the built-in Mozilla roots (default true). */
int wasio_tls_config_system_roots(wasio_tls_config_t *cfg, bool use);

/* Client: also trust every CERTIFICATE in a PEM bundle (e.g. a private CA,
 * like curl's --cacert). A CA certificate anchors chains; a non-CA one (a
 * self-signed server certificate) is trusted as that exact server
 * certificate. The bytes are copied. Changing what is trusted (this, roots,
 * pins, insecure) forgets the cached sessions. Returns the number of anchors added (>= 1), or
 * WASIO_ETLS_PEM (no certificate, or one mbedTLS cannot parse: nothing is
 * added then), WASIO_ELIMIT (past WASIO_TLS_MAX_ANCHORS), WASIO_ENOMEM. */
int wasio_tls_config_add_ca_pem(wasio_tls_config_t *cfg, const void *pem, size_t len);

/* Client: the peer's end-entity certificate must also match one of the
 * pins (any kind). Pins are checked in addition to normal verification, and
 * also with wasio_tls_config_insecure(). Errors: WASIO_ELIMIT, WASIO_EINVAL. */
int wasio_tls_config_pin_sha256(wasio_tls_config_t *cfg, wasio_tls_pin_kind_t kind,
                                const uint8_t sha256[32]);

/* Client: skip chain, validity and host-name checks (curl's -k). Dangerous:
 * anyone on the path can read and change the traffic. Default false. */
int wasio_tls_config_insecure(wasio_tls_config_t *cfg, bool insecure);

/* ALPN names to offer (client) or accept (server), most preferred first;
 * e.g. {"http/1.1"}. n == 0 turns ALPN off (the default). The strings are
 * copied. Errors: WASIO_ELIMIT, WASIO_EINVAL (empty or too long). */
int wasio_tls_config_alpn(wasio_tls_config_t *cfg, const char *const *names, size_t n);

/* Use the smaller ciphertext input buffer (WASIO_TLS_BUFSIZE_MONO, see
 * above). Default false. */
int wasio_tls_config_half_duplex(wasio_tls_config_t *cfg, bool half);

/* Server: the certificate chain (PEM, end-entity first, at most
 * WASIO_TLS_MAX_CHAIN) and its private key (PEM: PKCS#8, or traditional RSA
 * or EC; the key must be the certificate's). An RSA key signs with PSS in
 * TLS 1.3 and PKCS#1 v1.5 in TLS 1.2 (ECDHE_RSA suites), an EC key with
 * ECDSA (ECDHE_ECDSA). Copied.
 * Errors: WASIO_ETLS_PEM, WASIO_ELIMIT, WASIO_ENOMEM. */
int wasio_tls_config_cert_pem(wasio_tls_config_t *cfg, const void *chain_pem, size_t chain_len,
                              const void *key_pem, size_t key_len);

/* ---- the sans-I/O engine ---------------------------------------------------------- */

/* State bits (wasio_tls_engine_state). */
#define WASIO_TLS_SEND_CIPHER 0x01u  /* ciphertext waits: pull it and send it */
#define WASIO_TLS_RECV_CIPHER 0x02u  /* the engine accepts ciphertext */
#define WASIO_TLS_SEND_PLAIN 0x04u   /* the engine accepts plaintext (after the handshake) */
#define WASIO_TLS_RECV_PLAIN 0x08u   /* decrypted plaintext waits: pull it */
#define WASIO_TLS_CLOSED 0x10u       /* finished: see wasio_tls_engine_error */

/* Creates an engine and starts its handshake (a client has its ClientHello
 * ready to pull). host (client only; NULL for a server): the name to send
 * as SNI and to verify, or a numeric IPv4/IPv6 address (no SNI then; it is
 * checked against the certificate's iPAddress names). port only picks the
 * resumption cache entry. Errors: WASIO_EINVAL (no host for a client, a
 * server config without a certificate), WASIO_ENAMETOOLONG, WASIO_ENOMEM,
 * WASIO_EIO (no random bytes for the DRBG). */
int wasio_tls_engine_new(wasio_tls_config_t *cfg, const char *host, uint16_t port,
                         wasio_tls_engine_t **out);

/* Frees the engine, wiping its keys and record buffers; its config may be
 * freed after. NULL is a no-op. No close_notify is sent: call
 * wasio_tls_engine_close() and pull its bytes first for a clean end. */
void wasio_tls_engine_free(wasio_tls_engine_t *e);

/* What the engine can do now: WASIO_TLS_* bits, or WASIO_TLS_CLOSED alone
 * once it has finished or failed (wasio_tls_engine_error() tells which).
 * Read it again after every push, pull, flush or close. */
unsigned wasio_tls_engine_state(const wasio_tls_engine_t *e);

/* The four ways bytes move, each returning the count moved, at most
 * len/cap (0 when its state bit is not set, or once the engine failed):
 * wasio_tls_engine_push_cipher() takes ciphertext received from the peer;
 * _pull_cipher() gives ciphertext to send (also after a failure, while an
 * alert telling the peer why is left); _push_plain() takes plaintext to
 * encrypt (after the handshake); _pull_plain() gives decrypted plaintext.
 * A push may advance the handshake or fail the engine: read the state. */
size_t wasio_tls_engine_push_cipher(wasio_tls_engine_t *e, const void *data, size_t len);
size_t wasio_tls_engine_pull_cipher(wasio_tls_engine_t *e, void *buf, size_t cap);
size_t wasio_tls_engine_push_plain(wasio_tls_engine_t *e, const void *data, size_t len);
size_t wasio_tls_engine_pull_plain(wasio_tls_engine_t *e, void *buf, size_t cap);

/* Seals the buffered plaintext into a record now (instead of when the
 * record is full). Call after the last push_plain of a message. */
void wasio_tls_engine_flush(wasio_tls_engine_t *e);

/* Starts a clean close: sends close_notify (pull it); the engine becomes
 * CLOSED once the peer's close_notify has arrived too. */
void wasio_tls_engine_close(wasio_tls_engine_t *e);

/* The ciphertext stream ended (the peer closed TCP). Returns WASIO_EOF if
 * the peer had sent close_notify first, else WASIO_ETLS_TRUNCATED (an
 * attacker may have cut the data short) and the engine fails with it. */
int wasio_tls_engine_transport_eof(wasio_tls_engine_t *e);

/* 0 while running or after a clean close; the WASIO_ETLS_* (or other)
 * error the engine failed with. */
int wasio_tls_engine_error(const wasio_tls_engine_t *e);

/* What the handshake negotiated. */
typedef struct wasio_tls_info {
  bool handshake_done;
  bool resumed;          /* client: an earlier session was resumed */
  uint16_t version;      /* 0x0304 for TLS 1.3, 0x0303 for TLS 1.2 */
  uint16_t cipher_suite; /* IANA number, e.g. 0xC02B */
  const char *alpn;      /* negotiated protocol name, or NULL */
} wasio_tls_info_t;

/* Fills *out (all zero but handshake_done = false until the handshake has
 * succeeded). `alpn` points into the engine's config: valid while the
 * config is. */
void wasio_tls_engine_info(const wasio_tls_engine_t *e, wasio_tls_info_t *out);

/* ---- a TLS stream over wasio TCP ------------------------------------------------------ */

typedef void (*wasio_tls_handshake_cb)(wasio_tls_t *tls, int status);
typedef void (*wasio_tls_alloc_cb)(wasio_tls_t *tls, size_t suggested, wasio_buf_t *buf);
/* nread > 0 plaintext bytes; WASIO_EOF after the peer's close_notify;
 * WASIO_ETLS_TRUNCATED when TCP ended without it; another error. Never 0. */
typedef void (*wasio_tls_read_cb)(wasio_tls_t *tls, ptrdiff_t nread, const wasio_buf_t *buf);
typedef void (*wasio_tls_shutdown_cb)(wasio_tls_t *tls, int status);
typedef void (*wasio_tls_close_cb)(wasio_tls_t *tls);

/* Wraps a connected (client) or accepted (server) TCP handle; the stream
 * owns it from now on (closing the stream closes it; do not use it
 * directly). host/port as for wasio_tls_engine_new. Errors as that; on
 * error the TCP handle is still yours. */
int wasio_tls_new(wasio_tcp_t *tcp, wasio_tls_config_t *cfg, const char *host, uint16_t port,
                  wasio_tls_t **out);

/* Runs the handshake; cb once: 0, or why it failed (WASIO_ETLS_CERT_*,
 * WASIO_ETLS_VERSION, ...). Writes queued before it completes are sent
 * after it. Errors: WASIO_EBUSY (already started), WASIO_ECLOSING. */
int wasio_tls_handshake(wasio_tls_t *tls, wasio_tls_handshake_cb cb);

/* As wasio_tcp_read_start/stop, for plaintext. alloc_cb may be NULL (the
 * stream's own buffer, valid during the callback). */
int wasio_tls_read_start(wasio_tls_t *tls, wasio_tls_alloc_cb alloc_cb, wasio_tls_read_cb read_cb);
int wasio_tls_read_stop(wasio_tls_t *tls);

/* As wasio_tcp_write: req completes once its bytes are encrypted and the
 * ciphertext is accepted by TCP, in order. */
int wasio_tls_write(wasio_tls_t *tls, wasio_write_t *req, const void *base, size_t len,
                    wasio_write_cb cb);
/* Plaintext bytes queued by wasio_tls_write() and not yet taken by the
 * engine (backpressure, as wasio_tcp_write_queue_size()). */
size_t wasio_tls_write_queue_size(const wasio_tls_t *tls);

/* After queued writes: sends close_notify, then shuts TCP's sending side.
 * cb (may be NULL) once. */
int wasio_tls_shutdown(wasio_tls_t *tls, wasio_tls_shutdown_cb cb);

/* Closes stream and TCP (no close_notify: call shutdown first for a clean
 * end). Idempotent. As for every handle (wasio.h), nothing is called back
 * from inside this call: what the stream still owes runs in phase 4 of the
 * turn, each once, in this order, and then cb (may be NULL): a handshake
 * not yet over gets WASIO_ECANCELED; each write, in order, 0 if TCP had
 * taken all its ciphertext (before the close or in it), else
 * WASIO_ECANCELED; a shutdown not yet reported WASIO_ECANCELED. A reader
 * gets nothing more (close is its end). */
void wasio_tls_close(wasio_tls_t *tls, wasio_tls_close_cb cb);

/* As wasio_tcp_set_idle_timeout, on the TCP handle under the stream. */
int wasio_tls_set_idle_timeout(wasio_tls_t *tls, uint64_t idle_ns);

/* As wasio_tls_engine_info(), for the stream's engine; all zero in the
 * close callback (the engine is freed by then). */
void wasio_tls_info(const wasio_tls_t *tls, wasio_tls_info_t *out);

/* The user's pointer of the stream (wasio_tls_set_data() sets it,
 * wasio_tls_data() returns it, NULL until set; the TCP handle's own is
 * separate) and the stream's loop (wasio_tls_loop()). */
void wasio_tls_set_data(wasio_tls_t *tls, void *data);
void *wasio_tls_data(const wasio_tls_t *tls);
wasio_loop_t *wasio_tls_loop(const wasio_tls_t *tls);

#ifdef __cplusplus
}
#endif
#endif
