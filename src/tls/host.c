/* src/tls/host.c: the host TLS backend (wasio/tls_host.h) over the draft
 * wasi:tls client interface, and the backend choice.
 *
 * Compiled into every library; the wasi:tls code only in the hosttls
 * variant (-DWASIO_HOST_TLS, its own generated bindings: see the Makefile),
 * everywhere else the entry points are stubs that report WASIO_ENOTSUP, so
 * that a program can name them and decide at run time.
 *
 * How the host stream works: the draft's client-handshake constructor takes
 * the TCP connection's input and output streams (the host removes them from
 * its table), and the finished handshake hands back a client-connection
 * with a new input and output stream that carry plaintext. wasio installs
 * those in the very wasio_tcp_t the streams came from, so the TCP code of
 * the wasip2 backend (reads into caller buffers through the cabi_realloc
 * arena, check-write permits, pollables in the loop's poll set) moves the
 * plaintext without a second copy of that logic. The rules that shape it:
 * - a pollable is a child of its stream and the host refuses to remove a
 *   resource that has children (it traps), so the TCP stream pollables are
 *   dropped before the streams are handed over;
 * - the new streams are children of the client-connection: they are
 *   dropped before it, and it before the socket (wasio_tls_host_close);
 * - wasio_tcp_shutdown ends the plaintext side with close-output
 *   (close_notify) through the hook tcp->b.end_send, installed with the
 *   streams and cleared on close (wasio__tls_host_end_send);
 * - while the handshake runs the tcp is in the NEW state, so every
 *   wasio_tcp_* call on it fails cleanly instead of reaching a stream that
 *   is not there; it is CONNECTED again only once the plaintext streams are
 *   installed, and stays NEW after a failure (only close is left).
 */
#include <stdio.h>
#include <string.h>

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

#ifndef WASIO_HOST_TLS

/* ---- builds without wasi:tls (libwasio.a, native) ---------------------------- */

bool wasio_tls_host_available(void) { return false; }

int wasio_tls_host_connect(wasio_tcp_t *tcp, const char *server_name,
                           wasio_tls_host_connect_cb cb, wasio_tls_host_t **out) {
  (void)tcp;
  (void)server_name;
  (void)cb;
  if (out != NULL) *out = NULL;
  return WASIO_ENOTSUP;
}

/* No handle can exist in these builds: the accessors are never reached
 * with a valid one. */
wasio_tcp_t *wasio_tls_host_tcp(const wasio_tls_host_t *tls) { (void)tls; return NULL; }
const char *wasio_tls_host_error_message(const wasio_tls_host_t *tls) { (void)tls; return ""; }
void wasio_tls_host_set_data(wasio_tls_host_t *tls, void *data) { (void)tls; (void)data; }
void *wasio_tls_host_data(const wasio_tls_host_t *tls) { (void)tls; return NULL; }
void wasio_tls_host_close(wasio_tls_host_t *tls, wasio_tls_host_close_cb cb) { (void)tls; (void)cb; }

#else

#include "wasip2.h"

/* Longest host message kept (rustls's and OpenSSL's are one line). */
#define WASIO__TLS_HOST_MSG 256

struct wasio_tls_host {
  wasio_tcp_t *tcp;
  void *data;
  wasio_tls_host_connect_cb connect_cb;
  wasio_tls_host_close_cb close_cb;
  wasi_tls_types_own_future_client_streams_t future; /* during the handshake */
  wasio__src_t src;                                  /* the future's pollable */
  wasi_tls_types_own_client_connection_t conn;       /* after it */
  struct wasio_tls_host *next_closing;
  bool closing;
  char msg[WASIO__TLS_HOST_MSG];
};

/* Handles whose tcp is closing: the tcp close callback carries only the
 * tcp, and its data pointer is the user's, so the handle is found here. */
static wasio_tls_host_t *wasio__tls_host_closing;

bool wasio_tls_host_available(void) { return true; }

wasio_tcp_t *wasio_tls_host_tcp(const wasio_tls_host_t *tls) { return tls->tcp; }
const char *wasio_tls_host_error_message(const wasio_tls_host_t *tls) { return tls->msg; }
void wasio_tls_host_set_data(wasio_tls_host_t *tls, void *data) { tls->data = data; }
void *wasio_tls_host_data(const wasio_tls_host_t *tls) { return tls->data; }

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
static int wasio__tls_host_map(const char *m) {
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

/* Keeps the host's text of an io-error and drops the error. */
static int wasio__tls_host_io_error(wasio_tls_host_t *tls, wasi_io_error_own_error_t err) {
  imports_string_t s = { 0 };
  wasi_io_error_method_error_to_debug_string(wasi_io_error_borrow_error(err), &s);
  /* wasmtime appends a Rust backtrace to the message: keep the first line. */
  size_t n = 0;
  while (n < s.len && n < sizeof tls->msg - 1 && s.ptr[n] != '\n') n++;
  if (n > 0) memcpy(tls->msg, s.ptr, n);
  tls->msg[n] = '\0';
  wasio__abi_free(s.ptr, s.len);
  wasi_io_error_error_drop_own(err);
  return wasio__tls_host_map(tls->msg);
}

/* tcp->b.end_send: how wasio_tcp_shutdown ends the sending side of the
 * plaintext stream. close-output has the host write close_notify and then
 * shut down its TLS write side, on a task of its own; meanwhile the
 * plaintext output stream's check-write permits nothing, then reports
 * closed (done) or the failure, which the backend waits for. After it the
 * backend drops that stream and shuts down the socket's sending side,
 * which is what sends the FIN: the host's TLS shutdown ends only the TLS
 * layer (its transport's shutdown is a flush of the TCP output stream). */
static int wasio__tls_host_end_send(void *ctx) {
  wasio_tls_host_t *tls = ctx;
  wasi_tls_types_method_client_connection_close_output(wasi_tls_types_borrow_client_connection(tls->conn));
  return 0;
}

static void wasio__tls_host_drop_future(wasio_tls_host_t *tls) {
  wasio__src_drop(wasio_tcp_loop(tls->tcp), &tls->src);
  if (tls->future.__handle != 0) wasi_tls_types_future_client_streams_drop_own(tls->future);
  tls->future.__handle = 0;
}

int wasio_tls_host_connect(wasio_tcp_t *tcp, const char *server_name,
                           wasio_tls_host_connect_cb cb, wasio_tls_host_t **out) {
  if (out != NULL) *out = NULL;
  if (tcp == NULL || server_name == NULL || cb == NULL || out == NULL || server_name[0] == '\0')
    return WASIO_EINVAL;
  if (strlen(server_name) > WASIO_TLS_HOST_MAX_NAME) return WASIO_ENAMETOOLONG;
  if (wasio__handle_closing(&tcp->h)) return WASIO_ECLOSING;
  /* Idle: nothing may still use the streams the host is about to take. */
  if (tcp->state != WASIO__TCP_CONNECTED || tcp->b.in.__handle == 0 || tcp->b.out.__handle == 0 ||
      wasio__src_watched(&tcp->b.in_src) || wasio__src_watched(&tcp->b.out_src) ||
      tcp->wq_head != NULL || tcp->done_head != NULL || tcp->shutdown_cb != NULL)
    return WASIO_ESTATE;
  wasio_tls_host_t *tls = wasio__malloc(sizeof *tls);
  if (tls == NULL) return WASIO_ENOMEM;
  memset(tls, 0, sizeof *tls);
  wasio__src_init(&tls->src, WASIO__SRC_HOST_TLS);
  tls->tcp = tcp;
  tls->connect_cb = cb;

  wasio_loop_t *loop = wasio_tcp_loop(tcp);
  /* Children first: the host traps when asked to take a stream that still
   * has a pollable. */
  wasio__src_drop(loop, &tcp->b.in_src);
  wasio__src_drop(loop, &tcp->b.out_src);
  imports_string_t name = { (uint8_t *)(uintptr_t)server_name, strlen(server_name) };
  wasi_tls_types_own_client_handshake_t hs =
      wasi_tls_types_constructor_client_handshake(&name, tcp->b.in, tcp->b.out);
  tcp->b.in.__handle = 0;
  tcp->b.out.__handle = 0;
  tcp->state = WASIO__TCP_NEW;
  tls->future = wasi_tls_types_static_client_handshake_finish(hs);
  tls->src.pollable = wasi_tls_types_method_future_client_streams_subscribe(
      wasi_tls_types_borrow_future_client_streams(tls->future));
  int rc = wasio__src_watch(loop, &tls->src);
  if (rc != 0) {
    /* The streams are gone already: the tcp (in the NEW state) is only good
     * for wasio_tcp_close now, which the caller still owns. */
    wasio__tls_host_drop_future(tls);
    wasio__free(tls);
    return rc;
  }
  /* The handshake is I/O in flight on the tcp: it keeps the loop running. */
  wasio__handle_set_active(&tcp->h, true);
  *out = tls;
  return 0;
}

void wasio__tls_host_on_ready(wasio__src_t *src) {
  wasio_tls_host_t *tls = WASIO__CONTAINER_OF(src, wasio_tls_host_t, src);
  wasi_tls_types_result_result_tuple3_own_client_connection_own_input_stream_own_output_stream_own_io_error_void_t r;
  if (!wasi_tls_types_method_future_client_streams_get(
          wasi_tls_types_borrow_future_client_streams(tls->future), &r))
    return; /* not resolved yet: keep waiting */
  wasio__tls_host_drop_future(tls);
  wasio_tcp_t *tcp = tls->tcp;
  wasio__handle_set_active(&tcp->h, false);
  int status;
  if (r.is_err) {
    /* The future's value was already taken: cannot happen with one get. */
    snprintf(tls->msg, sizeof tls->msg, "wasi:tls future already consumed");
    status = WASIO_ETLS;
  } else if (r.val.ok.is_err) {
    status = wasio__tls_host_io_error(tls, r.val.ok.val.err);
  } else {
    tls->conn = r.val.ok.val.ok.f0;
    tcp->b.in = r.val.ok.val.ok.f1;
    tcp->b.out = r.val.ok.val.ok.f2;
    tcp->b.end_send = wasio__tls_host_end_send;
    tcp->b.end_send_ctx = tls;
    tcp->state = WASIO__TCP_CONNECTED;
    status = 0;
  }
  tls->connect_cb(tls, status);
}

static void wasio__tls_host_tcp_closed(wasio_tcp_t *tcp) {
  wasio_tls_host_t **pp = &wasio__tls_host_closing;
  while (*pp != NULL && (*pp)->tcp != tcp) pp = &(*pp)->next_closing;
  wasio_tls_host_t *tls = *pp;
  if (tls == NULL) return;
  *pp = tls->next_closing;
  if (tls->close_cb != NULL) tls->close_cb(tls);
  wasio__free(tls);
}

void wasio_tls_host_close(wasio_tls_host_t *tls, wasio_tls_host_close_cb cb) {
  if (tls == NULL || tls->closing) return;
  tls->closing = true;
  wasio_tcp_t *tcp = tls->tcp;
  wasio_loop_t *loop = wasio_tcp_loop(tcp);
  wasio__tls_host_drop_future(tls);
  tcp->b.end_send = NULL;
  tcp->b.end_send_ctx = NULL;
  /* The plaintext streams are children of the client-connection, which
   * goes before the socket: take them from the tcp (dropping their
   * pollables first) so that wasio_tcp_close finds only the socket. A
   * busy output is not kept lingering as a TCP one is: the draft offers no
   * way to know when its bytes reached the peer. */
  wasio__src_drop(loop, &tcp->b.in_src);
  wasio__src_drop(loop, &tcp->b.out_src);
  if (tcp->b.in.__handle != 0) wasi_io_streams_input_stream_drop_own(tcp->b.in);
  if (tcp->b.out.__handle != 0) wasi_io_streams_output_stream_drop_own(tcp->b.out);
  tcp->b.in.__handle = 0;
  tcp->b.out.__handle = 0;
  if (tls->conn.__handle != 0) wasi_tls_types_client_connection_drop_own(tls->conn);
  tls->conn.__handle = 0;
  tls->close_cb = cb;
  tls->next_closing = wasio__tls_host_closing;
  wasio__tls_host_closing = tls;
  wasio_tcp_close(tcp, wasio__tls_host_tcp_closed);
}

#endif
