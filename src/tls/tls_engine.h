/* src/tls/tls_engine.h: the TLS engine as the layers above see it, beyond
 * the public wasio_tls_engine_* of wasio/tls.h: the zero-copy entry for
 * ciphertext and three questions about the engine's progress. Nothing here
 * names the TLS library.
 *
 * The engine glue is the only code that knows the library (mbedTLS):
 * src/tls/engine_mbedtls.c, config_mbedtls.c, x509_mbedtls.c,
 * pem_mbedtls.c and mbedtls_internal.h, with src/tls/mbedtls.mk and
 * src/tls/wasio_mbedtls_config.h, which build it, and tools/mkanchors,
 * which writes the trust anchors in the glue's structure. Everything else
 * reaches the engine through wasio/tls.h and this header, so swapping the
 * library (docs/TLS.md: mbedTLS 4.x) touches those files only.
 */
#ifndef WASIO_TLS_ENGINE_H
#define WASIO_TLS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>

#include "wasio/tls.h"

/* Where the next ciphertext bytes from the transport may be written, in
 * place (at most *cap bytes), or NULL (*cap 0) when the engine takes none
 * now; after writing n bytes there, wasio__tls_engine_cipher_in_ack(e, n).
 * The same as wasio_tls_engine_push_cipher() without the copy. */
void *wasio__tls_engine_cipher_in_buf(wasio_tls_engine_t *e, size_t *cap);
void wasio__tls_engine_cipher_in_ack(wasio_tls_engine_t *e, size_t n);

/* Ciphertext bytes ready to pull now (a record sealed by the last
 * wasio_tls_engine_flush() included). */
size_t wasio__tls_engine_cipher_out_pending(const wasio_tls_engine_t *e);

/* The handshake has succeeded (application data may flow). */
bool wasio__tls_engine_handshake_done(const wasio_tls_engine_t *e);

/* The peer's close_notify has arrived: its plaintext ends (after what is
 * still buffered) with a clean WASIO_EOF. */
bool wasio__tls_engine_close_received(const wasio_tls_engine_t *e);

#endif
