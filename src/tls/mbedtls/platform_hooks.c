/* src/tls/mbedtls/platform_hooks.c: the platform functions that
 * src/tls/wasio_mbedtls_config.h asks every program linking mbedTLS to
 * provide. This file is compiled into libmbedtls.a itself (src/tls/mbedtls.mk),
 * not into libwasio.a, because programs that link mbedTLS without wasio's
 * TLS need them too: libcurl's mbedTLS backend (-lcurl, the curl tool) and
 * wasio's own engine share one mbedTLS, so one definition serves both.
 *
 * Only the C library is used: getentropy() is wasi:random's
 * get-random-bytes in a component and getrandom(2) natively; clock_gettime
 * (CLOCK_REALTIME) is wasi:clocks/wall-clock in a component. The engine
 * glue (src/tls/engine_mbedtls.c) still sets mbedTLS's time() hook to
 * wasio's wall clock at run time; programs without it keep mbedTLS's
 * default, the C library's time().
 */
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "mbedtls/entropy.h"
#include "mbedtls/platform_time.h"
#include "mbedtls/platform_util.h"
#include "psa/crypto.h"

/* getentropy() returns at most this many bytes per call (POSIX, and
 * wasi-libc's and glibc's limit). */
#define HOOKS_GETENTROPY_MAX 256

/* Fills out with len random bytes; 0 on success, -1 if the source failed. */
static int hooks_random(unsigned char *out, size_t len) {
  while (len > 0) {
    size_t n = len < HOOKS_GETENTROPY_MAX ? len : HOOKS_GETENTROPY_MAX;
    if (getentropy(out, n) != 0) return -1;
    out += n;
    len -= n;
  }
  return 0;
}

/* MBEDTLS_PSA_CRYPTO_EXTERNAL_RNG: every random byte PSA crypto uses (TLS
 * 1.3 and 1.2 key shares, nonces, signatures). */
psa_status_t mbedtls_psa_external_get_random(mbedtls_psa_external_random_context_t *context, uint8_t *output,
                                             size_t output_size, size_t *output_length) {
  (void)context;
  *output_length = 0;
  if (hooks_random(output, output_size) != 0) return PSA_ERROR_INSUFFICIENT_ENTROPY;
  *output_length = output_size;
  return PSA_SUCCESS;
}

/* MBEDTLS_ENTROPY_HARDWARE_ALT: the one entropy source of the entropy
 * module (MBEDTLS_NO_PLATFORM_ENTROPY leaves no other), which libcurl's
 * mbedTLS backend seeds its CTR_DRBG from. */
int mbedtls_hardware_poll(void *data, unsigned char *output, size_t len, size_t *olen) {
  (void)data;
  *olen = 0;
  if (hooks_random(output, len) != 0) return MBEDTLS_ERR_ENTROPY_SOURCE_FAILED;
  *olen = len;
  return 0;
}

/* MBEDTLS_PLATFORM_MS_TIME_ALT: milliseconds of the wall clock (TLS 1.3
 * ticket ages, compared between client and server). */
mbedtls_ms_time_t mbedtls_ms_time(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (mbedtls_ms_time_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* MBEDTLS_PLATFORM_ZEROIZE_ALT: wiping secrets (keys, ChaCha20's working
 * state after every 64-byte block) in plain stores the compiler must keep:
 * volatile byte stores up to an 8-byte boundary, then volatile 8-byte
 * ones. mbedTLS's own version calls memset through a volatile pointer
 * (explicit_bzero only where it knows glibc or a BSD), which in a component
 * is wasm's memory.fill, a call out of the compiled code into the runtime:
 * measured 6.8% of a ChaCha20-Poly1305 download's time in the guest profile
 * (docs/TLS.md, "Speed"). */
void mbedtls_platform_zeroize(void *buf, size_t len) {
  volatile unsigned char *p = buf;
  while (len > 0 && ((uintptr_t)p & 7) != 0) {
    *p++ = 0;
    len--;
  }
  volatile uint64_t *w = (volatile uint64_t *)(void *)p;
  for (; len >= 8; len -= 8) *w++ = 0;
  p = (volatile unsigned char *)w;
  while (len-- > 0) *p++ = 0;
}
