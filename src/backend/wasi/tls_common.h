/* src/backend/wasi/tls_common.h: what tls_common.c shares with both WASI
 * backends' TLS by the host. */
#ifndef WASIO_BACKEND_WASI_TLS_COMMON_H
#define WASIO_BACKEND_WASI_TLS_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The WASIO_ETLS_* code that the host's words `m` (a failed handshake's
 * message, NUL-terminated) prove, else WASIO_ETLS. */
int wasio__tls_host_words(const char *m);
/* Keeps the first line of the host's debug string ptr[0..len) (a list the
 * canonical ABI allocated: freed here) in msg[0..cap), NUL-terminated, and
 * returns the code its words prove. */
int wasio__tls_host_text(uint8_t *ptr, size_t len, char *msg, size_t cap);

#endif
