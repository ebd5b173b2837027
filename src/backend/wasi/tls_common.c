/* src/backend/wasi/tls_common.c: what both WASI backends' TLS by the host
 * (internal.h's wasio__bk_tcp_tls_*: src/backend/wasip2/tls_host.c over
 * wasi:tls 0.2.0-draft, src/backend/wasip3/tls_host.c over 0.3.0-draft)
 * read the same way: the host's words for a failed handshake. Compiled
 * into every wasm32 library, empty outside the hosttls variants
 * (-DWASIO_HOST_TLS). */
#include <string.h>

#include "internal.h"
#include "tls_common.h"
#include "abi.h"

#ifdef WASIO_HOST_TLS

/* The host's text of a failed handshake, read for what it proves (it is
 * not an API: a wording not matched here stays WASIO_ETLS, and a text that
 * does not say why stays generic rather than guessing a specific code).
 *
 * rustls (wasmtime -S tls): "invalid peer certificate: " then the
 * CertificateError, as its variant name ("UnknownIssuer",
 * "Other(OtherError(CaUsedAsEndEntity))") or, for the variants with
 * context, a sentence ("certificate expired: verification time ...",
 * "certificate not valid yet: ...", "certificate not valid for name ...");
 * "received fatal alert: NAME" when the peer ended the handshake.
 *
 * OpenSSL (wasmtime-wasi-tls's openssl provider, tools/wasio-tls-host): the
 * error stack, "error:0A000086:SSL routines:FUNC:REASON:FILE:LINE:". Its
 * "certificate verify failed" does not say why (OpenSSL 3.0 adds no
 * X509_V_ERR text; unknown CA, wrong name and expiry read the same), so it
 * is WASIO_ETLS_CERT_INVALID; "sslv3 alert X" / "tlsv1 alert X" in the
 * reason is a fatal alert received from the peer. */
int wasio__tls_host_words(const char *m) {
  if (strstr(m, "UnknownIssuer") != NULL) return WASIO_ETLS_CERT_UNTRUSTED;
  if (strstr(m, "NotValidForName") != NULL || strstr(m, "certificate not valid for name") != NULL)
    return WASIO_ETLS_CERT_NAME;
  if (strstr(m, "NotValidYet") != NULL || strstr(m, "certificate not valid yet") != NULL)
    return WASIO_ETLS_CERT_NOT_YET_VALID;
  /* Not a bare "Expired": ExpiredRevocationList is about a CRL. */
  if (strstr(m, "invalid peer certificate: Expired") != NULL ||
      strstr(m, "invalid peer certificate: certificate expired") != NULL)
    return WASIO_ETLS_CERT_EXPIRED;
  if (strstr(m, "invalid peer certificate") != NULL) return WASIO_ETLS_CERT_INVALID;
  if (strstr(m, "received fatal alert") != NULL) return WASIO_ETLS_ALERT;
  if (strstr(m, ":certificate verify failed:") != NULL) return WASIO_ETLS_CERT_INVALID;
  if (strstr(m, ":sslv3 alert ") != NULL || strstr(m, ":tlsv1 alert ") != NULL) return WASIO_ETLS_ALERT;
  return WASIO_ETLS;
}

int wasio__tls_host_text(uint8_t *ptr, size_t len, char *msg, size_t cap) {
  /* wasmtime appends a Rust backtrace to the message: keep the first line. */
  size_t n = 0;
  while (n < len && n + 1 < cap && ptr[n] != '\n') n++;
  if (n > 0) memcpy(msg, ptr, n);
  if (cap > 0) msg[n] = '\0';
  wasio__abi_free(ptr, len);
  return wasio__tls_host_words(msg);
}

#endif
