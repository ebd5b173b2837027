/* fuzz/fuzz_tls_pem.c: the TLS glue's PEM and certificate loading
 * (src/tls/pem_mbedtls.c, config_mbedtls.c, x509_mbedtls.c), compiled into
 * the target for coverage; mbedTLS itself is not ours and comes from the
 * library.
 *
 * The input is, whole, a CA bundle for a client config
 * (wasio_tls_config_add_ca_pem), and, split at an offset its first byte
 * chooses, a chain and a key for a server config
 * (wasio_tls_config_cert_pem). Checked: a call either adds anchors (a
 * positive count, every anchor a Name and a key inside its certificate)
 * or fails with one of its documented errors and adds nothing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h" /* FUZZ_CHECK */
#include "tls/mbedtls_internal.h"

static int inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len) {
  return p >= base && n <= len && (size_t)(p - base) <= len - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wasio_tls_config_t *cli = NULL, *srv = NULL;
  FUZZ_CHECK(wasio_tls_config_new(WASIO_TLS_CLIENT, &cli) == 0);
  int rc = wasio_tls_config_add_ca_pem(cli, data, size);
  FUZZ_CHECK(rc > 0 || rc == WASIO_ETLS_PEM || rc == WASIO_ELIMIT || rc == WASIO_ENOMEM);
  if (rc > 0) {
    FUZZ_CHECK(cli->user_ta_n == (size_t)rc);
    for (size_t i = 0; i < cli->user_ta_n; i++) {
      const wasio__tls_user_anchor_t *a = &cli->user_ta[i];
      FUZZ_CHECK(a->a.dn_len > 0 && a->a.spki_len > 0);
      FUZZ_CHECK(inside(a->a.dn, a->a.dn_len, a->der, a->der_len));
      FUZZ_CHECK(inside(a->a.spki, a->a.spki_len, a->der, a->der_len));
    }
  } else {
    FUZZ_CHECK(cli->user_ta_n == 0); /* all or nothing */
  }
  FUZZ_CHECK(wasio_tls_config_free(cli) == 0);

  FUZZ_CHECK(wasio_tls_config_new(WASIO_TLS_SERVER, &srv) == 0);
  size_t cut = size ? (size_t)data[0] * size / 256 : 0;
  rc = wasio_tls_config_cert_pem(srv, data, cut, data + cut, size - cut);
  FUZZ_CHECK(rc == 0 || rc == WASIO_ETLS_PEM || rc == WASIO_ELIMIT || rc == WASIO_ENOMEM || rc == WASIO_EIO);
  FUZZ_CHECK(rc == 0 ? srv->have_key && srv->chain_n > 0 : !srv->have_key && srv->chain_n == 0);
  FUZZ_CHECK(wasio_tls_config_free(srv) == 0);
  return 0;
}
