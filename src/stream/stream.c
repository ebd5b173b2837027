/* src/stream/stream.c: the byte stream under the protocols: plain TCP, the
 * guest's TLS or the host's TLS behind one set of upcalls (see stream.h for
 * why and for the rules every kind follows). */
#include <string.h>

#include "internal.h" /* WASIO_ASSERT, WASIO__TRACE */
#include "stream/stream.h"

typedef enum wasio__stream_life {
  WASIO__STREAM_NEW = 0,
  WASIO__STREAM_CONNECTING,
  WASIO__STREAM_HANDSHAKE,
  WASIO__STREAM_OPEN,
  WASIO__STREAM_FAILED,
  WASIO__STREAM_NOTIFYING,
  WASIO__STREAM_CLOSING,
  WASIO__STREAM_CLOSED
} wasio__stream_life_t;

typedef enum wasio__stream_reading {
  WASIO__STREAM_RD_OFF = 0,
  WASIO__STREAM_RD_WANTED,
  WASIO__STREAM_RD_ON,
  WASIO__STREAM_RD_ENDED
} wasio__stream_reading_t;

typedef enum wasio__stream_sd {
  WASIO__STREAM_SD_NONE = 0,
  WASIO__STREAM_SD_RUNNING,
  WASIO__STREAM_SD_DONE
} wasio__stream_sd_t;

/* ---- state --------------------------------------------------------------------- */

static const char *wasio__stream_life_name(unsigned v) {
  static const char *const names[] = {"NEW",    "CONNECTING", "HANDSHAKE", "OPEN",
                                      "FAILED", "NOTIFYING",  "CLOSING",   "CLOSED"};
  return v < sizeof names / sizeof names[0] ? names[v] : "?";
}

static const char *wasio__stream_reading_name(unsigned v) {
  static const char *const names[] = {"OFF", "WANTED", "ON", "ENDED"};
  return v < sizeof names / sizeof names[0] ? names[v] : "?";
}

static bool wasio__stream_closing(const wasio__stream_t *s) { return s->life >= WASIO__STREAM_NOTIFYING; }

static void wasio__stream_set_life(wasio__stream_t *s, wasio__stream_life_t to) {
  wasio__stream_life_t from = (wasio__stream_life_t)s->life;
  WASIO_ASSERT((to == WASIO__STREAM_CONNECTING && from == WASIO__STREAM_NEW) ||
               (to == WASIO__STREAM_HANDSHAKE && (from == WASIO__STREAM_NEW || from == WASIO__STREAM_CONNECTING)) ||
               (to == WASIO__STREAM_OPEN &&
                (from == WASIO__STREAM_NEW || from == WASIO__STREAM_CONNECTING || from == WASIO__STREAM_HANDSHAKE)) ||
               (to == WASIO__STREAM_FAILED && (from == WASIO__STREAM_CONNECTING || from == WASIO__STREAM_HANDSHAKE)) ||
               (to == WASIO__STREAM_NOTIFYING && from == WASIO__STREAM_OPEN) ||
               (to == WASIO__STREAM_CLOSING && from != WASIO__STREAM_NEW && from < WASIO__STREAM_CLOSING) ||
               (to == WASIO__STREAM_CLOSED && from == WASIO__STREAM_CLOSING));
  /* Only a TLS kind shakes hands, and only the guest's TLS sends its own
   * close_notify on close. */
  WASIO_ASSERT(to != WASIO__STREAM_HANDSHAKE || s->kind != WASIO__STREAM_TCP);
  WASIO_ASSERT(to != WASIO__STREAM_NOTIFYING || (s->kind == WASIO__STREAM_TLS && s->tls != NULL));
  WASIO__TRACE(s, "stream", "%s -> %s", wasio__stream_life_name(from), wasio__stream_life_name(to));
  (void)wasio__stream_life_name;
  (void)from;
  s->life = (uint8_t)to;
}

static void wasio__stream_set_reading(wasio__stream_t *s, wasio__stream_reading_t to) {
  wasio__stream_reading_t from = (wasio__stream_reading_t)s->reading;
  WASIO_ASSERT(from != WASIO__STREAM_RD_ENDED && from != to);
  WASIO_ASSERT(to != WASIO__STREAM_RD_ON || s->life == WASIO__STREAM_OPEN);
  WASIO_ASSERT(to != WASIO__STREAM_RD_WANTED || s->life < WASIO__STREAM_OPEN);
  WASIO__TRACE(s, "stream", "reading %s -> %s", wasio__stream_reading_name(from), wasio__stream_reading_name(to));
  (void)wasio__stream_reading_name;
  (void)from;
  s->reading = (uint8_t)to;
}

static void wasio__stream_set_sd(wasio__stream_t *s, wasio__stream_sd_t to) {
  WASIO_ASSERT((to == WASIO__STREAM_SD_RUNNING && s->sd == WASIO__STREAM_SD_NONE) ||
               (to == WASIO__STREAM_SD_DONE && s->sd == WASIO__STREAM_SD_RUNNING));
  WASIO__TRACE(s, "stream", "shutdown %u -> %u", (unsigned)s->sd, (unsigned)to);
  s->sd = (uint8_t)to;
}

/* ---- upcalls that end something ----------------------------------------------------- */

/* Reading has ended with `status` (< 0): it goes up once. */
static void wasio__stream_read_end(wasio__stream_t *s, int status) {
  if (s->reading == WASIO__STREAM_RD_ENDED) return;
  s->read_end = status;
  wasio__stream_set_reading(s, WASIO__STREAM_RD_ENDED);
  s->cbs->on_read(s, status);
}

/* The connect or the handshake failed: on_open says why; the read, if one
 * is asked, ends with the same status. */
static void wasio__stream_open_failed(wasio__stream_t *s, int status) {
  wasio__stream_set_life(s, WASIO__STREAM_FAILED);
  s->read_end = status;
  if (s->reading != WASIO__STREAM_RD_ENDED) wasio__stream_set_reading(s, WASIO__STREAM_RD_ENDED);
  s->cbs->on_open(s, status);
}

/* Phase 4 (or after close_notify): everything below is closed. */
static void wasio__stream_closed(wasio__stream_t *s) {
  wasio__stream_set_life(s, WASIO__STREAM_CLOSED);
  s->tcp = NULL;
  s->tls = NULL;
  s->htls = NULL;
  s->cbs->on_close(s); /* s may be gone from here on */
}

/* ---- the layer below: starting and stopping its reader ------------------------------- */

static void wasio__stream_tcp_alloc(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  wasio__stream_t *s = wasio_tcp_data(tcp);
  s->cbs->alloc(s, buf);
}

static void wasio__stream_tcp_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf; /* the bytes are where alloc put them */
  wasio__stream_t *s = wasio_tcp_data(tcp);
  if (nread < 0) {
    wasio__stream_read_end(s, (int)nread);
    return;
  }
  s->cbs->on_read(s, nread);
}

static void wasio__stream_tls_alloc(wasio_tls_t *tls, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  wasio__stream_t *s = wasio_tls_data(tls);
  s->cbs->alloc(s, buf);
}

static void wasio__stream_tls_read(wasio_tls_t *tls, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf;
  wasio__stream_t *s = wasio_tls_data(tls);
  if (nread < 0) {
    /* WASIO_EOF after close_notify, WASIO_ETLS_TRUNCATED, or another error. */
    wasio__stream_read_end(s, (int)nread);
    return;
  }
  s->cbs->on_read(s, nread);
}

/* Turns the reader of the layer below on (the stream is open). Calls
 * nothing back: wasio_tcp_read_start and wasio_tls_read_start never do. */
static int wasio__stream_reader_on(wasio__stream_t *s) {
  int rc;
  switch ((wasio__stream_kind_t)s->kind) {
    case WASIO__STREAM_TCP:
    case WASIO__STREAM_HOST_TLS: /* TCP after the handshake */
      rc = wasio_tcp_read_start(s->tcp, wasio__stream_tcp_alloc, wasio__stream_tcp_read);
      break;
    case WASIO__STREAM_TLS:
      rc = wasio_tls_read_start(s->tls, wasio__stream_tls_alloc, wasio__stream_tls_read);
      break;
    default:
      rc = WASIO_EINVAL;
      break;
  }
  if (rc == WASIO_EBUSY) rc = 0; /* already reading */
  if (rc == 0) wasio__stream_set_reading(s, WASIO__STREAM_RD_ON);
  return rc;
}

/* The stream is open: report it, then start a reader asked for earlier
 * (a refusal is the read's end). */
static void wasio__stream_opened(wasio__stream_t *s) {
  wasio__stream_set_life(s, WASIO__STREAM_OPEN);
  s->cbs->on_open(s, 0);
  if (s->life != WASIO__STREAM_OPEN || s->reading != WASIO__STREAM_RD_WANTED) return;
  wasio__stream_set_reading(s, WASIO__STREAM_RD_OFF);
  int rc = wasio__stream_reader_on(s);
  if (rc < 0) wasio__stream_read_end(s, rc);
}

/* ---- callbacks of the layer below ------------------------------------------------------ */

/* The handshake of either TLS kind is over. */
static void wasio__stream_handshake_done(wasio__stream_t *s, int status) {
  if (s->life != WASIO__STREAM_HANDSHAKE) return; /* WASIO_ECANCELED from our own close */
  if (status != 0) {
    wasio__stream_open_failed(s, status);
    return;
  }
  wasio__stream_opened(s);
}

static void wasio__stream_tls_handshake_cb(wasio_tls_t *tls, int status) {
  wasio__stream_handshake_done(wasio_tls_data(tls), status);
}

static void wasio__stream_host_handshake_cb(wasio_tls_host_t *htls, int status) {
  wasio__stream_handshake_done(wasio_tls_host_data(htls), status);
}

static void wasio__stream_connect_cb(wasio_tcp_t *tcp, int status) {
  wasio__stream_t *s = wasio_tcp_data(tcp);
  if (s->life != WASIO__STREAM_CONNECTING) return; /* WASIO_ECANCELED from our own close */
  if (status != 0) {
    wasio__stream_open_failed(s, status);
    return;
  }
  int rc = 0;
  switch ((wasio__stream_kind_t)s->kind) {
    case WASIO__STREAM_TCP:
      wasio__stream_opened(s);
      return;
    case WASIO__STREAM_TLS:
      /* TCP is up: the handshake decides whether the stream is usable. */
      rc = wasio_tls_new(tcp, s->cfg, s->host, s->port, &s->tls);
      if (rc != 0) break; /* the socket is still ours: close closes it */
      wasio_tls_set_data(s->tls, s);
      wasio__stream_set_life(s, WASIO__STREAM_HANDSHAKE);
      /* The connect timeout also bounds a silent peer during the handshake. */
      if (s->connect_ns != WASIO_NO_TIMEOUT) (void)wasio_tls_set_idle_timeout(s->tls, s->connect_ns);
      rc = wasio_tls_handshake(s->tls, wasio__stream_tls_handshake_cb);
      break;
    case WASIO__STREAM_HOST_TLS:
      /* The host takes the TCP streams; tcp's data stays s, and after the
       * handshake tcp carries plaintext, so the TCP callbacks serve reads. */
      rc = wasio_tls_host_connect(tcp, s->host, wasio__stream_host_handshake_cb, &s->htls);
      if (rc != 0) break; /* the socket is still ours */
      wasio_tls_host_set_data(s->htls, s);
      wasio__stream_set_life(s, WASIO__STREAM_HANDSHAKE);
      break;
  }
  if (rc != 0) wasio__stream_open_failed(s, rc);
}

static void wasio__stream_tcp_shutdown_cb(wasio_tcp_t *tcp, int status) {
  wasio__stream_t *s = wasio_tcp_data(tcp);
  if (wasio__stream_closing(s)) return; /* WASIO_ECANCELED from close: on_close follows */
  wasio__stream_set_sd(s, WASIO__STREAM_SD_DONE);
  s->cbs->on_shutdown(s, status);
}

static void wasio__stream_tls_close_cb(wasio_tls_t *tls) { wasio__stream_closed(wasio_tls_data(tls)); }

static void wasio__stream_tls_shutdown_cb(wasio_tls_t *tls, int status) {
  wasio__stream_t *s = wasio_tls_data(tls);
  if (s->life == WASIO__STREAM_NOTIFYING) {
    /* close_notify is out (or could not be sent): now really close. */
    wasio__stream_set_sd(s, WASIO__STREAM_SD_DONE);
    wasio__stream_set_life(s, WASIO__STREAM_CLOSING);
    wasio_tls_close(tls, wasio__stream_tls_close_cb);
    return;
  }
  if (wasio__stream_closing(s)) return; /* WASIO_ECANCELED from close: on_close follows */
  wasio__stream_set_sd(s, WASIO__STREAM_SD_DONE);
  s->cbs->on_shutdown(s, status);
}

static void wasio__stream_tcp_close_cb(wasio_tcp_t *tcp) { wasio__stream_closed(wasio_tcp_data(tcp)); }

static void wasio__stream_host_close_cb(wasio_tls_host_t *htls) { wasio__stream_closed(wasio_tls_host_data(htls)); }

/* ---- the API ------------------------------------------------------------------------------ */

static void wasio__stream_init(wasio__stream_t *s, const wasio__stream_cbs_t *cbs, wasio__stream_kind_t kind) {
  memset(s, 0, sizeof *s);
  s->cbs = cbs;
  s->kind = (uint8_t)kind;
}

int wasio__stream_connect(wasio__stream_t *s, const wasio__stream_cbs_t *cbs, wasio_loop_t *loop,
                          wasio__stream_kind_t kind, wasio_tls_config_t *cfg, const char *host,
                          uint16_t port, uint64_t timeout_ns) {
  wasio__stream_init(s, cbs, kind);
  if (kind == WASIO__STREAM_TLS && cfg == NULL) return WASIO_EINVAL;
  if (kind != WASIO__STREAM_TCP && strlen(host) > WASIO_TLS_MAX_HOST) return WASIO_ENAMETOOLONG;
  int rc = wasio_tcp_new(loop, &s->tcp);
  if (rc != 0) return rc;
  s->cfg = cfg;
  s->host = host;
  s->port = port;
  s->connect_ns = timeout_ns;
  wasio_tcp_set_data(s->tcp, s);
  rc = wasio_tcp_connect_host(s->tcp, host, port, timeout_ns, wasio__stream_connect_cb);
  if (rc != 0) {
    /* Nothing was started: the handle goes, owing nothing to anyone. */
    wasio_tcp_close(s->tcp, NULL);
    s->tcp = NULL;
    return rc;
  }
  wasio__stream_set_life(s, WASIO__STREAM_CONNECTING);
  return 0;
}

int wasio__stream_accept(wasio__stream_t *s, const wasio__stream_cbs_t *cbs, wasio_tcp_t *tcp,
                         wasio_tls_config_t *cfg) {
  wasio__stream_init(s, cbs, cfg != NULL ? WASIO__STREAM_TLS : WASIO__STREAM_TCP);
  if (cfg == NULL) {
    s->tcp = tcp;
    wasio_tcp_set_data(tcp, s);
    wasio__stream_set_life(s, WASIO__STREAM_OPEN);
    return 0;
  }
  int rc = wasio_tls_new(tcp, cfg, NULL, 0, &s->tls);
  if (rc < 0) return rc;
  s->tcp = tcp;
  wasio_tls_set_data(s->tls, s);
  wasio__stream_set_life(s, WASIO__STREAM_HANDSHAKE);
  /* The stream runs it from phase 2 of the next turn. It fails only for a
   * closing stream or a second call, neither possible on a new stream. */
  (void)wasio_tls_handshake(s->tls, wasio__stream_tls_handshake_cb);
  return 0;
}

bool wasio__stream_started(const wasio__stream_t *s) { return s->life != WASIO__STREAM_NEW; }

int wasio__stream_read_start(wasio__stream_t *s) {
  if (wasio__stream_closing(s)) return WASIO_ECLOSING;
  switch ((wasio__stream_reading_t)s->reading) {
    case WASIO__STREAM_RD_ENDED:
      return s->read_end;
    case WASIO__STREAM_RD_ON:
    case WASIO__STREAM_RD_WANTED:
      return 0;
    case WASIO__STREAM_RD_OFF:
      break;
  }
  if (s->life == WASIO__STREAM_NEW) return WASIO_ESTATE;
  if (s->life != WASIO__STREAM_OPEN) {
    /* Not open yet: the reader starts once it is. */
    wasio__stream_set_reading(s, WASIO__STREAM_RD_WANTED);
    return 0;
  }
  return wasio__stream_reader_on(s);
}

void wasio__stream_read_stop(wasio__stream_t *s) {
  switch ((wasio__stream_reading_t)s->reading) {
    case WASIO__STREAM_RD_ON:
      /* Stopping calls nothing back, so it takes effect at once. */
      if (s->kind == WASIO__STREAM_TLS) (void)wasio_tls_read_stop(s->tls);
      else (void)wasio_tcp_read_stop(s->tcp);
      wasio__stream_set_reading(s, WASIO__STREAM_RD_OFF);
      return;
    case WASIO__STREAM_RD_WANTED:
      wasio__stream_set_reading(s, WASIO__STREAM_RD_OFF);
      return;
    case WASIO__STREAM_RD_OFF:
    case WASIO__STREAM_RD_ENDED:
      return;
  }
}

int wasio__stream_write(wasio__stream_t *s, wasio_write_t *req, const void *base, size_t len,
                        wasio_write_cb cb) {
  if (wasio__stream_closing(s)) return WASIO_ECLOSING;
  switch ((wasio__stream_kind_t)s->kind) {
    case WASIO__STREAM_TCP:
    case WASIO__STREAM_HOST_TLS: /* TCP after the handshake */
      if (s->life != WASIO__STREAM_OPEN) return WASIO_ESTATE;
      return wasio_tcp_write(s->tcp, req, base, len, cb);
    case WASIO__STREAM_TLS:
      /* During the handshake too: the TLS stream holds the bytes until it
       * has succeeded (and fails them if it does not). */
      if (s->tls == NULL) return WASIO_ESTATE;
      return wasio_tls_write(s->tls, req, base, len, cb);
  }
  return WASIO_EINVAL;
}

size_t wasio__stream_queued(const wasio__stream_t *s) {
  switch ((wasio__stream_kind_t)s->kind) {
    case WASIO__STREAM_TCP:
    case WASIO__STREAM_HOST_TLS:
      return s->tcp != NULL ? wasio_tcp_write_queue_size(s->tcp) : 0;
    case WASIO__STREAM_TLS:
      return s->tls != NULL ? wasio_tls_write_queue_size(s->tls) : 0;
  }
  return 0;
}

void wasio__stream_set_idle(wasio__stream_t *s, uint64_t idle_ns) {
  if (s->tls != NULL) (void)wasio_tls_set_idle_timeout(s->tls, idle_ns);
  else if (s->tcp != NULL) (void)wasio_tcp_set_idle_timeout(s->tcp, idle_ns);
}

int wasio__stream_shutdown(wasio__stream_t *s) {
  WASIO_ASSERT(s->cbs->on_shutdown != NULL);
  if (wasio__stream_closing(s)) return WASIO_ECLOSING;
  if (s->sd != WASIO__STREAM_SD_NONE) return WASIO_EBUSY;
  if (s->life != WASIO__STREAM_OPEN && !(s->kind == WASIO__STREAM_TLS && s->tls != NULL)) return WASIO_ESTATE;
  int rc = s->kind == WASIO__STREAM_TLS ? wasio_tls_shutdown(s->tls, wasio__stream_tls_shutdown_cb)
                                        : wasio_tcp_shutdown(s->tcp, wasio__stream_tcp_shutdown_cb);
  if (rc == 0) wasio__stream_set_sd(s, WASIO__STREAM_SD_RUNNING);
  return rc;
}

void wasio__stream_close(wasio__stream_t *s, bool notify) {
  if (s->life == WASIO__STREAM_NEW || wasio__stream_closing(s)) return;
  /* No upcall but on_close from here on: not a read either, also while a
   * close_notify goes out first. */
  wasio__stream_read_stop(s);
  switch ((wasio__stream_kind_t)s->kind) {
    case WASIO__STREAM_TCP:
      wasio__stream_set_life(s, WASIO__STREAM_CLOSING);
      wasio_tcp_close(s->tcp, wasio__stream_tcp_close_cb);
      return;
    case WASIO__STREAM_TLS:
      if (s->tls == NULL) { /* still connecting, or the stream could not be made */
        wasio__stream_set_life(s, WASIO__STREAM_CLOSING);
        wasio_tcp_close(s->tcp, wasio__stream_tcp_close_cb);
        return;
      }
      if (notify && s->life == WASIO__STREAM_OPEN && s->sd == WASIO__STREAM_SD_NONE &&
          !(s->reading == WASIO__STREAM_RD_ENDED && s->read_end != WASIO_EOF)) {
        /* A clean end for the peer (no truncation alarm): close_notify,
         * then close from the shutdown callback. The socket's idle timeout
         * bounds it; nothing calls back from here. Queued writes go out
         * before close_notify and complete normally. */
        (void)wasio_tls_set_idle_timeout(s->tls, WASIO__STREAM_NOTIFY_NS);
        if (wasio_tls_shutdown(s->tls, wasio__stream_tls_shutdown_cb) == 0) {
          wasio__stream_set_life(s, WASIO__STREAM_NOTIFYING);
          wasio__stream_set_sd(s, WASIO__STREAM_SD_RUNNING);
          return;
        }
      }
      wasio__stream_set_life(s, WASIO__STREAM_CLOSING);
      wasio_tls_close(s->tls, wasio__stream_tls_close_cb);
      return;
    case WASIO__STREAM_HOST_TLS:
      wasio__stream_set_life(s, WASIO__STREAM_CLOSING);
      /* Once the host has the streams only wasio_tls_host_close may end them. */
      if (s->htls != NULL) wasio_tls_host_close(s->htls, wasio__stream_host_close_cb);
      else wasio_tcp_close(s->tcp, wasio__stream_tcp_close_cb);
      return;
  }
}

int wasio__stream_peer_addr(const wasio__stream_t *s, wasio_addr_t *out) {
  if (s->tcp == NULL) return WASIO_ENOTCONN;
  return wasio_tcp_peer_addr(s->tcp, out);
}
