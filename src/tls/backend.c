/* src/tls/backend.c: the choice between the guest's TLS (wasio/tls.h) and
 * the host's (wasio/tls_host.h, src/core/tls_host.c), for programs and the
 * HTTP client (opts.tls_backend). */
#include "wasio/error.h"
#include "wasio/tls_host.h"

const char *wasio_tls_backend_name(wasio_tls_backend_t backend) {
  switch (backend) {
    case WASIO_TLS_BACKEND_AUTO: return "auto";
    case WASIO_TLS_BACKEND_GUEST: return "guest";
    case WASIO_TLS_BACKEND_HOST: return "host";
  }
  return NULL;
}

int wasio_tls_backend_resolve(wasio_tls_backend_t want) {
  switch (want) {
    case WASIO_TLS_BACKEND_AUTO:
      return wasio_tls_host_available() ? WASIO_TLS_BACKEND_HOST : WASIO_TLS_BACKEND_GUEST;
    case WASIO_TLS_BACKEND_GUEST: return WASIO_TLS_BACKEND_GUEST;
    case WASIO_TLS_BACKEND_HOST:
      return wasio_tls_host_available() ? WASIO_TLS_BACKEND_HOST : WASIO_ENOTSUP;
  }
  return WASIO_EINVAL;
}
