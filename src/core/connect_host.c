/* src/core/connect_host.c: wasio_tcp_connect_host, written once for every
 * backend on top of wasio_dns_resolve and wasio_tcp_connect.
 *
 * Implementation notes
 * - A numeric host is handed straight to wasio_tcp_connect: no lookup, no
 *   state of our own.
 * - A name gets a small state record (tcp->ch) that lives from the
 *   lookup to the final callback. The deadline is absolute, so the lookup and
 *   every attempt share one timeout budget; each attempt gets what is left.
 * - Close: wasio__connect_host_cancel ends the operation and hands the
 *   user's callback to wasio_tcp_close, which runs it with WASIO_ECANCELED
 *   in phase 4, before the close callback, like every cancellation. A lookup
 *   still in flight keeps the record alive as an orphan until its own
 *   callback, which then frees it; the attempt in flight is dropped with the
 *   socket.
 */
#include <string.h>

#include "internal.h"

typedef struct wasio__connect_host {
  wasio_tcp_t *tcp;          /* NULL once orphaned by a cancel */
  wasio_connect_cb cb;
  wasio_dns_t *dns;          /* non-NULL while the lookup runs */
  uint64_t deadline;         /* loop time; 0 = no timeout */
  int last_err;
  uint16_t port;
  size_t next, count;
  wasio_addr_t addrs[WASIO_DNS_MAX_ADDRS];
} wasio__connect_host_t;

/* Ends the operation: clears the handle's link, frees the record, then calls
 * the user (after the free, so a callback that starts a new connect_host on
 * the same handle is fine). */
static void wasio__ch_finish(wasio__connect_host_t *ch, int status) {
  wasio_tcp_t *tcp = ch->tcp;
  wasio_connect_cb cb = ch->cb;
  tcp->ch = NULL;
  wasio__free(ch);
  cb(tcp, status);
}

static void wasio__ch_attempt_cb(wasio_tcp_t *tcp, int status);

/* Tries the remaining addresses in order until one attempt starts. */
static void wasio__ch_try_next(wasio__connect_host_t *ch) {
  wasio_loop_t *loop = wasio_tcp_loop(ch->tcp);
  while (ch->next < ch->count) {
    uint64_t timeout = WASIO_NO_TIMEOUT;
    if (ch->deadline != 0) {
      uint64_t now = wasio_loop_now(loop);
      if (now >= ch->deadline) {
        wasio__ch_finish(ch, WASIO_ETIMEDOUT);
        return;
      }
      timeout = ch->deadline - now;
    }
    wasio_addr_t *addr = &ch->addrs[ch->next++];
    addr->port = ch->port;
    int rc = wasio_tcp_connect(ch->tcp, addr, timeout, wasio__ch_attempt_cb);
    if (rc == 0) return;
    ch->last_err = rc;
  }
  wasio__ch_finish(ch, ch->last_err != 0 ? ch->last_err : WASIO_ENAMENOTFOUND);
}

static void wasio__ch_attempt_cb(wasio_tcp_t *tcp, int status) {
  wasio__connect_host_t *ch = tcp->ch;
  if (ch == NULL) return; /* canceled by close: the user already knows */
  if (status == 0 || status == WASIO_ECANCELED) {
    wasio__ch_finish(ch, status);
    return;
  }
  ch->last_err = status;
  wasio__ch_try_next(ch);
}

static void wasio__ch_dns_cb(wasio_dns_t *req, int status, const wasio_addr_t *addrs,
                             size_t count) {
  wasio__connect_host_t *ch = wasio_dns_data(req);
  ch->dns = NULL;
  if (ch->tcp == NULL) { /* orphaned by a cancel */
    wasio__free(ch);
    return;
  }
  if (status < 0) {
    wasio__ch_finish(ch, status);
    return;
  }
  if (count > WASIO_DNS_MAX_ADDRS) count = WASIO_DNS_MAX_ADDRS;
  memcpy(ch->addrs, addrs, count * sizeof *addrs);
  ch->count = count;
  ch->next = 0;
  wasio__ch_try_next(ch);
}

/* Accepts "[v6]" as well as a bare numeric address: a host copied from a
 * URL keeps its brackets. */
static int wasio__ch_parse_numeric(const char *host, size_t len, uint16_t port,
                                   wasio_addr_t *out) {
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    char buf[WASIO_ADDR_STRLEN];
    if (len - 2 >= sizeof buf) return WASIO_EINVAL;
    memcpy(buf, host + 1, len - 2);
    buf[len - 2] = '\0';
    wasio_addr_t a;
    if (wasio_addr_parse(buf, port, &a) != 0 || a.family != WASIO_AF_INET6) return WASIO_EINVAL;
    *out = a;
    return 0;
  }
  return wasio_addr_parse(host, port, out);
}

int wasio_tcp_connect_host(wasio_tcp_t *tcp, const char *host, uint16_t port,
                           uint64_t timeout_ns, wasio_connect_cb cb) {
  if (tcp == NULL || host == NULL || cb == NULL) return WASIO_EINVAL;
  if (wasio__handle_closing(&tcp->h)) return WASIO_ECLOSING;
  if (tcp->ch != NULL) return WASIO_ESTATE;
  size_t len = strlen(host);
  if (len == 0) return WASIO_EINVAL;
  if (len > WASIO_DNS_MAX_NAME) return WASIO_ENAMETOOLONG;

  wasio_addr_t addr;
  if (wasio__ch_parse_numeric(host, len, port, &addr) == 0)
    return wasio_tcp_connect(tcp, &addr, timeout_ns, cb);

  /* Fail now, like wasio_tcp_connect would, rather than after the lookup. */
  int rc = wasio__tcp_connect_check(tcp);
  if (rc != 0) return rc;

  wasio__connect_host_t *ch = wasio__malloc(sizeof *ch);
  if (ch == NULL) return WASIO_ENOMEM;
  wasio_loop_t *loop = wasio_tcp_loop(tcp);
  ch->tcp = tcp;
  ch->cb = cb;
  ch->dns = NULL;
  ch->deadline = 0;
  if (timeout_ns != WASIO_NO_TIMEOUT) {
    uint64_t now = wasio_loop_now(loop);
    ch->deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
  }
  ch->last_err = 0;
  ch->port = port;
  ch->next = ch->count = 0;
  rc = wasio_dns_resolve(loop, host, timeout_ns, wasio__ch_dns_cb, ch, &ch->dns);
  if (rc != 0) {
    wasio__free(ch);
    return rc;
  }
  tcp->ch = ch;
  return 0;
}

wasio_connect_cb wasio__connect_host_cancel(wasio_tcp_t *tcp) {
  wasio__connect_host_t *ch = tcp->ch;
  if (ch == NULL) return NULL;
  tcp->ch = NULL;
  wasio_connect_cb cb = ch->cb;
  if (ch->dns != NULL) {
    /* The lookup's callback (next turn, ECANCELED) frees the record. */
    ch->tcp = NULL;
    wasio_dns_cancel(ch->dns);
  } else {
    wasio__free(ch);
  }
  return cb;
}
