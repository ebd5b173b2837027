/* tools/curl/mbedtls_config_select.h: force-included (-include) into every
 * file of curl's build, so that curl's mbedTLS backend sees the
 * configuration wasio's libmbedtls.a was compiled with
 * (src/tls/wasio_mbedtls_config.h) instead of mbedTLS's default one. A
 * -DMBEDTLS_CONFIG_FILE='"..."' flag would do the same, but its quotes do
 * not survive CMake's cache variables and the generated Makefiles intact.
 */
#define MBEDTLS_CONFIG_FILE "wasio_mbedtls_config.h"
