/* src/core/tls_host.c: wasio/tls_host.h, TLS done by the host, once for
 * every backend.
 *
 * Implementation notes
 * - The handle's policy is here: argument and state checks, the one
 *   handshake callback, the close order and its cancellations. The backend
 *   moves the streams (internal.h's wasio__bk_tcp_tls_*; the wasip2
 *   backend's tls_host.c over the draft wasi:tls), and the TCP handle goes
 *   CONNECTED -> UPGRADING -> CONNECTED (or NEW after a failure) through
 *   tcp.c's one transition function.
 * - A backend without host TLS (no WASIO__BK_HOST_TLS: native, and the
 *   default wasm32 library, whose component must start on hosts without
 *   wasi:tls) gets the same entry points reporting WASIO_ENOTSUP, so that a
 *   program can name them and decide at run time.
 * - The handle's states: HANDSHAKE (the host works; the callback is owed),
 *   OPEN (it succeeded), FAILED (it failed; only close is left), then
 *   CLOSED once wasio_tls_host_close ran. A close during the handshake owes
 *   the callback WASIO_ECANCELED: it runs in phase 4, after the TCP
 *   handle's own cancellations and before the close callback (wasio.h), from
 *   the TCP close callback, which finds this handle through tcp->host_tls.
 */
#include <string.h>

#include "internal.h"
#include "wasio/tls_host.h"

#ifndef WASIO__BK_HOST_TLS

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

/* Longest host message kept (rustls's and OpenSSL's are one line). */
#define WASIO__TLS_HOST_MSG 256

typedef enum wasio__tls_host_state {
  WASIO__TLS_HOST_HANDSHAKE = 1,
  WASIO__TLS_HOST_OPEN,
  WASIO__TLS_HOST_FAILED,
  WASIO__TLS_HOST_CLOSED
} wasio__tls_host_state_t;

struct wasio_tls_host {
  wasio_tcp_t *tcp;
  void *data;
  uint8_t state;          /* wasio__tls_host_state_t */
  bool cancel_connect;    /* closed during the handshake: its callback is owed ECANCELED */
  wasio_tls_host_connect_cb connect_cb;
  wasio_tls_host_close_cb close_cb;
  char msg[WASIO__TLS_HOST_MSG];
};

static const char *wasio__tls_host_state_name(unsigned st) {
  static const char *const names[] = {"?", "HANDSHAKE", "OPEN", "FAILED", "CLOSED"};
  return st < sizeof names / sizeof names[0] ? names[st] : "?";
}

/* Every change of state: HANDSHAKE -> OPEN | FAILED, any -> CLOSED once. */
static void wasio__tls_host_set_state(wasio_tls_host_t *tls, wasio__tls_host_state_t to) {
  wasio__tls_host_state_t from = (wasio__tls_host_state_t)tls->state;
  WASIO_ASSERT(from != WASIO__TLS_HOST_CLOSED);
  WASIO_ASSERT(to == WASIO__TLS_HOST_CLOSED || from == WASIO__TLS_HOST_HANDSHAKE);
  WASIO__TRACE(tls, "tls_host", "%s -> %s", wasio__tls_host_state_name(from), wasio__tls_host_state_name(to));
  (void)wasio__tls_host_state_name;
  (void)from;
  tls->state = (uint8_t)to;
}

bool wasio_tls_host_available(void) { return true; }

wasio_tcp_t *wasio_tls_host_tcp(const wasio_tls_host_t *tls) { return tls->tcp; }
const char *wasio_tls_host_error_message(const wasio_tls_host_t *tls) { return tls->msg; }
void wasio_tls_host_set_data(wasio_tls_host_t *tls, void *data) { tls->data = data; }
void *wasio_tls_host_data(const wasio_tls_host_t *tls) { return tls->data; }

int wasio_tls_host_connect(wasio_tcp_t *tcp, const char *server_name,
                           wasio_tls_host_connect_cb cb, wasio_tls_host_t **out) {
  if (out != NULL) *out = NULL;
  if (tcp == NULL || server_name == NULL || cb == NULL || out == NULL || server_name[0] == '\0')
    return WASIO_EINVAL;
  size_t len = strlen(server_name);
  if (len > WASIO_TLS_HOST_MAX_NAME) return WASIO_ENAMETOOLONG;
  if (wasio__handle_closing(&tcp->h)) return WASIO_ECLOSING;
  if (tcp->host_tls != NULL) return WASIO_ESTATE;
  wasio_tls_host_t *tls = wasio__calloc(1, sizeof *tls);
  if (tls == NULL) return WASIO_ENOMEM;
  tls->tcp = tcp;
  tls->connect_cb = cb;
  tls->state = WASIO__TLS_HOST_HANDSHAKE;
  int rc = wasio__tcp_upgrade_start(tcp, server_name, len);
  if (rc != 0) {
    wasio__free(tls);
    return rc;
  }
  tcp->host_tls = tls;
  *out = tls;
  return 0;
}

void wasio__tcp_tls_ready(wasio_tcp_t *tcp) {
  wasio_tls_host_t *tls = tcp->host_tls;
  if (tls == NULL || tls->state != WASIO__TLS_HOST_HANDSHAKE) return;
  int status = wasio__bk_tcp_tls_result(tcp, tls->msg, sizeof tls->msg);
  if (status == WASIO_EAGAIN) return; /* not over yet: keep waiting */
  wasio__tls_host_set_state(tls, status == 0 ? WASIO__TLS_HOST_OPEN : WASIO__TLS_HOST_FAILED);
  wasio__tcp_upgrade_end(tcp, status);
  wasio_tls_host_connect_cb cb = tls->connect_cb;
  tls->connect_cb = NULL;
  cb(tls, status);
}

/* Phase 4, the TCP handle's close callback: its own cancellations ran. */
static void wasio__tls_host_tcp_closed(wasio_tcp_t *tcp) {
  wasio_tls_host_t *tls = tcp->host_tls;
  tcp->host_tls = NULL;
  WASIO_ASSERT(tls != NULL && tls->state == WASIO__TLS_HOST_CLOSED);
  if (tls->cancel_connect) {
    wasio_tls_host_connect_cb cb = tls->connect_cb;
    tls->connect_cb = NULL;
    tls->cancel_connect = false;
    cb(tls, WASIO_ECANCELED);
  }
  if (tls->close_cb != NULL) tls->close_cb(tls);
  wasio__free(tls);
}

void wasio_tls_host_close(wasio_tls_host_t *tls, wasio_tls_host_close_cb cb) {
  if (tls == NULL || tls->state == WASIO__TLS_HOST_CLOSED) return;
  tls->cancel_connect = tls->state == WASIO__TLS_HOST_HANDSHAKE;
  wasio__tls_host_set_state(tls, WASIO__TLS_HOST_CLOSED);
  tls->close_cb = cb;
  /* The backend drops the TLS resources before the socket (children first). */
  wasio_tcp_close(tls->tcp, wasio__tls_host_tcp_closed);
}

#endif
