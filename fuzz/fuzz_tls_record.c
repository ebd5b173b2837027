/* fuzz/fuzz_tls_record.c: the engine's record path (src/tls/engine_mbedtls.c,
 * compiled into the target for coverage; mbedTLS itself comes from the
 * library): a client engine sends its ClientHello and gets the input as the
 * server's bytes, fed in pieces whose size the first byte chooses, while
 * its output and plaintext are drained after every push, as the stream
 * does.
 *
 * Checked: the state bits stay consistent with what the calls move (no
 * plaintext before the handshake, nothing pushed while RECV_CIPHER is off),
 * the engine ends either still running or CLOSED with a wasio error, and a
 * transport end afterwards gives a wasio code, never 0. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h" /* FUZZ_CHECK */
#include "tls/mbedtls_internal.h"

#define FUZZ_OUT_BUF 20000

static wasio_tls_config_t *cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* -k: the fuzzer cannot make a chain that verifies; the parsing of
   * whatever certificate it makes still runs. */
  if (wasio_tls_config_new(WASIO_TLS_CLIENT, &cfg) != 0 || wasio_tls_config_insecure(cfg, true) != 0) abort();
  const char *alpn[] = {"http/1.1"};
  if (wasio_tls_config_alpn(cfg, alpn, 1) != 0) abort();
  return 0;
}

static void drain(wasio_tls_engine_t *e) {
  static uint8_t out[FUZZ_OUT_BUF];
  unsigned st = wasio_tls_engine_state(e);
  while (wasio_tls_engine_pull_cipher(e, out, sizeof out) > 0) {
  }
  st = wasio_tls_engine_state(e);
  if (st & WASIO_TLS_RECV_PLAIN) {
    FUZZ_CHECK(wasio__tls_engine_handshake_done(e));
    FUZZ_CHECK(wasio_tls_engine_pull_plain(e, out, sizeof out) > 0);
  }
  if (!wasio__tls_engine_handshake_done(e)) FUZZ_CHECK(!(wasio_tls_engine_state(e) & WASIO_TLS_SEND_PLAIN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wasio_tls_engine_t *e = NULL;
  if (wasio_tls_engine_new(cfg, "fuzz.wasio.test", 443, &e) != 0) return 0; /* no memory */
  drain(e);
  size_t step = size ? (size_t)data[0] % 64 + 1 : 1;
  size_t pos = size ? 1 : 0;
  while (pos < size) {
    unsigned st = wasio_tls_engine_state(e);
    if (st == WASIO_TLS_CLOSED) break;
    if (!(st & WASIO_TLS_RECV_CIPHER)) {
      FUZZ_CHECK(wasio_tls_engine_push_cipher(e, data + pos, 1) == 0);
      drain(e);
      if (!(wasio_tls_engine_state(e) & WASIO_TLS_RECV_CIPHER)) break;
      continue;
    }
    size_t n = size - pos < step ? size - pos : step;
    size_t took = wasio_tls_engine_push_cipher(e, data + pos, n);
    FUZZ_CHECK(took <= n);
    pos += took;
    drain(e);
    if (took == 0) break;
  }
  unsigned st = wasio_tls_engine_state(e);
  if (st == WASIO_TLS_CLOSED) FUZZ_CHECK(wasio_tls_engine_error(e) < 0 || wasio__tls_engine_close_received(e));
  int end = wasio_tls_engine_transport_eof(e);
  FUZZ_CHECK(end < 0);
  wasio_tls_engine_free(e);
  return 0;
}
