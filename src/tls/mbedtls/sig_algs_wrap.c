/* src/tls/mbedtls/sig_algs_wrap.c: the signature algorithms a client
 * offers, fixed for programs whose TLS code keeps mbedTLS's defaults
 * (libcurl's mbedTLS backend sets none of its own).
 *
 * mbedTLS 3.6.6 offers RSA-PSS before RSA PKCS#1 v1.5 (for TLS 1.3), but
 * its TLS 1.2 client cannot verify an RSA-PSS ServerKeyExchange, and
 * OpenSSL-based servers pick by the client's order: a TLS 1.2-only server
 * with an RSA certificate (nginx's default TLS 1.2 suites) then fails the
 * handshake with MBEDTLS_ERR_SSL_ILLEGAL_PARAMETER (curl: CURLE_SSL_CONNECT_ERROR).
 * Fixed upstream after 3.6.6 (Mbed-TLS/mbedtls pull request 10672).
 * wasio's own engine sets the order below itself (src/tls/config_mbedtls.c);
 * for libcurl the link does: every -lcurl link (tools/wasio-cc, libcurl.pc,
 * the curl tool, src/bridge/curl.mk) passes
 * -Wl,--wrap=mbedtls_ssl_config_defaults, so each configuration made with
 * the defaults gets this order. Without that flag nothing references this
 * file and the linker leaves it out. Drop it when the mbedTLS pin has the fix.
 */
#include "mbedtls/ssl.h"

/* PKCS#1 v1.5 before PSS: a TLS 1.2 server signs with it, a TLS 1.3 server
 * (PSS only there) still finds PSS. The same list as wasio's engine. */
static const uint16_t wrap_sig_algs[] = {
  MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256, MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
  MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,       MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,
  MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,       MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA256,
  MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA384,    MBEDTLS_TLS1_3_SIG_RSA_PSS_RSAE_SHA512,
  MBEDTLS_TLS1_3_SIG_NONE};

int __real_mbedtls_ssl_config_defaults(mbedtls_ssl_config *conf, int endpoint, int transport, int preset);

/* mbedtls_ssl_config_defaults, then the order above (clients only). */
int __wrap_mbedtls_ssl_config_defaults(mbedtls_ssl_config *conf, int endpoint, int transport, int preset);
int __wrap_mbedtls_ssl_config_defaults(mbedtls_ssl_config *conf, int endpoint, int transport, int preset) {
  int rc = __real_mbedtls_ssl_config_defaults(conf, endpoint, transport, preset);
  if (rc == 0 && endpoint == MBEDTLS_SSL_IS_CLIENT) mbedtls_ssl_conf_sig_algs(conf, wrap_sig_algs);
  return rc;
}
