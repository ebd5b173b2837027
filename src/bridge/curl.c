/* src/bridge/curl.c: wasio/curl.h, libcurl's multi_socket interface on a
 * wasio loop. Built into its own archive (libwasio-curl.a), above libwasio:
 * it needs libcurl's headers, and only programs linked with -lcurl use it.
 *
 * Implementation notes
 * - One watcher per socket curl asks about (socket callback): created on
 *   the first CURL_POLL_IN/OUT/INOUT, restarted with the new events on a
 *   change, closed on CURL_POLL_REMOVE, which curl sends before it closes
 *   the socket (wasio/poll.h wants the watcher gone first). The watcher is
 *   curl's "socketp" (curl_multi_assign), and the watcher's data is the
 *   bridge.
 * - One timer (timer callback): curl's timeout in ms, -1 stops it. curl
 *   forbids calling back into the multi from its callbacks, so a 0 timeout
 *   also goes through the timer (it fires in the next turn).
 * - Every entry into curl (a ready socket, the timer) is followed by
 *   draining curl_multi_info_read: each finished transfer leaves the multi
 *   and its callback runs. A callback may add, remove or close; closing
 *   from inside is finished when the outermost entry returns (`depth`).
 * - A transfer is a `struct xfer`, the easy handle's CURLOPT_PRIVATE,
 *   linked into the bridge's list, from wasio_curl_add until its callback
 *   or its removal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"
#include "wasio/curl.h"

struct xfer {
  wasio_curl_t *wc;
  CURL *easy;
  wasio_dns_t *dns;           /* while the host resolves; NULL after */
  struct curl_slist *resolve; /* the CURLOPT_RESOLVE entry, while in curl */
  char *host;                 /* as the URL spells it (brackets removed) */
  unsigned port;
  bool in_multi;
  wasio_curl_done_cb cb;
  void *data;
  struct xfer *prev, *next;
};

struct wasio_curl {
  wasio_loop_t *loop;
  CURLM *multi;
  wasio_timer_t *timer;
  struct xfer *xfers;         /* every pending transfer */
  size_t pending;
  int depth;                  /* nesting of entries into curl and callbacks */
  bool closing;
  bool finished;              /* the close has run its course */
  wasio_curl_close_cb close_cb;
};

/* ---- transfers ---------------------------------------------------------------- */

static void xfer_unlink(struct xfer *x) {
  wasio_curl_t *wc = x->wc;
  if (x->prev != NULL) x->prev->next = x->next;
  else wc->xfers = x->next;
  if (x->next != NULL) x->next->prev = x->prev;
  wc->pending--;
}

/* Takes the transfer out of curl and frees it; the easy handle stays the
 * caller's, its options as the bridge left them cleared. */
static void xfer_free(struct xfer *x) {
  if (x->in_multi) curl_multi_remove_handle(x->wc->multi, x->easy);
  curl_easy_setopt(x->easy, CURLOPT_RESOLVE, (struct curl_slist *)NULL);
  curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (void *)NULL);
  curl_slist_free_all(x->resolve);
  free(x->host);
  free(x);
}

static void bridge_finish_close(wasio_curl_t *wc);

/* Reports a finished transfer; the bridge may be closed by the callback. */
static void xfer_done(struct xfer *x, CURLcode result) {
  wasio_curl_t *wc = x->wc;
  CURL *easy = x->easy;
  wasio_curl_done_cb cb = x->cb;
  void *data = x->data;
  xfer_unlink(x);
  xfer_free(x);
  wc->depth++;
  cb(wc, easy, result, data);
  wc->depth--;
}

/* Every finished transfer curl has queued. */
static void drain_done(wasio_curl_t *wc) {
  CURLMsg *msg;
  int left;
  while (!wc->closing && (msg = curl_multi_info_read(wc->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    struct xfer *x = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (x == NULL) continue; /* not one of ours (the CURLM was misused) */
    xfer_done(x, msg->data.result);
  }
}

/* One entry into curl for `fd` (or the timeout), then the finished ones. */
static void socket_action(wasio_curl_t *wc, curl_socket_t fd, int flags) {
  int running;
  wc->depth++;
  curl_multi_socket_action(wc->multi, fd, flags, &running);
  drain_done(wc);
  wc->depth--;
  if (wc->closing && wc->depth == 0) bridge_finish_close(wc);
}

/* ---- what curl asks for: watchers and the timer ---------------------------------- */

static void on_ready(wasio_poll_t *p, int status, int events) {
  wasio_curl_t *wc = wasio_poll_data(p);
  int flags = 0;
  if (status < 0) flags = CURL_CSELECT_ERR;
  if (events & WASIO_POLL_READABLE) flags |= CURL_CSELECT_IN;
  if (events & WASIO_POLL_WRITABLE) flags |= CURL_CSELECT_OUT;
  socket_action(wc, (curl_socket_t)wasio_poll_fd(p), flags);
}

/* CURLMOPT_SOCKETFUNCTION. Returns 0, or -1 when no watcher could be made
 * (curl then fails the transfer with CURLE_ABORTED_BY_CALLBACK). */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
  (void)easy;
  wasio_curl_t *wc = userp;
  wasio_poll_t *p = socketp;
  if (what == CURL_POLL_REMOVE) {
    if (p != NULL) {
      wasio_poll_close(p, NULL);
      curl_multi_assign(wc->multi, fd, NULL);
    }
    return 0;
  }
  if (p == NULL) {
    if (wasio_poll_new(wc->loop, (int)fd, &p) != 0) return -1;
    wasio_poll_set_data(p, wc);
    curl_multi_assign(wc->multi, fd, p);
  }
  int events = 0;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= WASIO_POLL_READABLE;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= WASIO_POLL_WRITABLE;
  if (events == 0) return 0;
  return wasio_poll_start(p, events, on_ready) == 0 ? 0 : -1;
}

static void on_timer(wasio_timer_t *t) {
  socket_action(wasio_timer_data(t), CURL_SOCKET_TIMEOUT, 0);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, otherwise it fires in
 * timeout_ms (0: the next turn). */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp) {
  (void)multi;
  wasio_curl_t *wc = userp;
  if (timeout_ms < 0) return wasio_timer_stop(wc->timer) == 0 ? 0 : -1;
  return wasio_timer_start(wc->timer, on_timer, (uint64_t)timeout_ms * WASIO_NS_PER_MS, 0) == 0 ? 0 : -1;
}

/* ---- the public functions ------------------------------------------------------------ */

int wasio_curl_new(wasio_loop_t *loop, wasio_curl_t **out) {
  if (loop == NULL || out == NULL) return WASIO_EINVAL;
  wasio_curl_t *wc = calloc(1, sizeof *wc);
  if (wc == NULL) return WASIO_ENOMEM;
  wc->loop = loop;
  wc->multi = curl_multi_init();
  if (wc->multi == NULL) {
    free(wc);
    return WASIO_ENOMEM;
  }
  int rc = wasio_timer_new(loop, &wc->timer);
  if (rc != 0) {
    curl_multi_cleanup(wc->multi);
    free(wc);
    return rc;
  }
  wasio_timer_set_data(wc->timer, wc);
  curl_multi_setopt(wc->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(wc->multi, CURLMOPT_SOCKETDATA, wc);
  curl_multi_setopt(wc->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(wc->multi, CURLMOPT_TIMERDATA, wc);
  *out = wc;
  return 0;
}

CURLM *wasio_curl_multi(const wasio_curl_t *wc) {
  return wc == NULL ? NULL : wc->multi;
}

size_t wasio_curl_pending(const wasio_curl_t *wc) {
  return wc == NULL ? 0 : wc->pending;
}

/* Hands curl the addresses ("HOST:PORT:ADDR,ADDR,..." with IPv6 in
 * brackets) and adds the handle. Returns a CURLcode for the callback. */
static CURLcode xfer_start(struct xfer *x, const wasio_addr_t *addrs, size_t count) {
  size_t cap = strlen(x->host) + 16 + count * (WASIO_ADDR_STRLEN + 3);
  char *entry = malloc(cap);
  if (entry == NULL) return CURLE_OUT_OF_MEMORY;
  size_t len = (size_t)snprintf(entry, cap, "%s:%u:", x->host, x->port);
  for (size_t i = 0; i < count; i++) {
    char ip[WASIO_ADDR_STRLEN];
    if (wasio_addr_format_ip(&addrs[i], ip, sizeof ip) < 0) continue;
    bool v6 = addrs[i].family == WASIO_AF_INET6;
    len += (size_t)snprintf(entry + len, cap - len, "%s%s%s%s", len > 0 && entry[len - 1] != ':' ? "," : "",
                            v6 ? "[" : "", ip, v6 ? "]" : "");
  }
  x->resolve = curl_slist_append(NULL, entry);
  free(entry);
  if (x->resolve == NULL) return CURLE_OUT_OF_MEMORY;
  if (curl_easy_setopt(x->easy, CURLOPT_RESOLVE, x->resolve) != CURLE_OK) return CURLE_OUT_OF_MEMORY;
  CURLMcode mc = curl_multi_add_handle(x->wc->multi, x->easy);
  if (mc != CURLM_OK) return mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_FAILED_INIT;
  x->in_multi = true;
  return CURLE_OK;
}

static void on_resolved(wasio_dns_t *req, int status, const wasio_addr_t *addrs, size_t count) {
  struct xfer *x = wasio_dns_data(req);
  wasio_curl_t *wc = x->wc;
  x->dns = NULL;
  if (status == WASIO_ECANCELED && x->cb == NULL) { /* removed, or the bridge closed */
    free(x->host);
    free(x);
    return;
  }
  CURLcode rc = status == 0 ? xfer_start(x, addrs, count)
                : status == WASIO_ETIMEDOUT ? CURLE_OPERATION_TIMEDOUT : CURLE_COULDNT_RESOLVE_HOST;
  if (rc != CURLE_OK) {
    wc->depth++;
    xfer_done(x, rc);
    wc->depth--;
    if (wc->closing && wc->depth == 0) bridge_finish_close(wc);
  }
}

/* The URL's host (IPv6 brackets removed) and port, curl's parser's view. */
static int url_host_port(const char *url, char **host, unsigned *port, bool *numeric) {
  CURLU *u = curl_url();
  if (u == NULL) return WASIO_ENOMEM;
  char *h = NULL, *p = NULL;
  int rc = WASIO_EINVAL;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    size_t n = strlen(h);
    bool bracket = n >= 2 && h[0] == '[' && h[n - 1] == ']';
    *host = bracket ? strndup(h + 1, n - 2) : strdup(h);
    *port = (unsigned)strtoul(p, NULL, 10);
    wasio_addr_t a;
    *numeric = bracket || (*host != NULL && wasio_addr_parse(*host, 0, &a) == 0);
    rc = *host == NULL ? WASIO_ENOMEM : 0;
  }
  curl_free(h);
  curl_free(p);
  curl_url_cleanup(u);
  return rc;
}

int wasio_curl_add(wasio_curl_t *wc, CURL *easy, const char *url, wasio_curl_done_cb cb, void *data) {
  if (wc == NULL || easy == NULL || url == NULL || cb == NULL) return WASIO_EINVAL;
  if (wc->closing) return WASIO_ECLOSING;
  if (strlen(url) > WASIO_CURL_URL_MAX) return WASIO_EINVAL;
  struct xfer *mine = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&mine);
  for (struct xfer *x = wc->xfers; x != NULL; x = x->next)
    if (x == mine) return WASIO_EBUSY;
  struct xfer *x = calloc(1, sizeof *x);
  if (x == NULL) return WASIO_ENOMEM;
  x->wc = wc;
  x->easy = easy;
  x->cb = cb;
  x->data = data;
  bool numeric = false;
  int rc = url_host_port(url, &x->host, &x->port, &numeric);
  if (rc == 0 && curl_easy_setopt(easy, CURLOPT_URL, url) != CURLE_OK) rc = WASIO_ENOMEM;
  if (rc == 0) curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)x);
  if (rc == 0 && !numeric)
    rc = wasio_dns_resolve(wc->loop, x->host, WASIO_CURL_DNS_TIMEOUT_MS * WASIO_NS_PER_MS, on_resolved, x, &x->dns);
  if (rc == 0 && numeric) {
    /* Nothing to resolve: curl may start at once (the first callback
     * still comes from the loop: curl only arms the timer here). */
    CURLMcode mc = curl_multi_add_handle(wc->multi, easy);
    rc = mc == CURLM_OK ? 0 : mc == CURLM_OUT_OF_MEMORY ? WASIO_ENOMEM : WASIO_EINVAL;
    x->in_multi = rc == 0;
  }
  if (rc != 0) {
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)NULL);
    free(x->host);
    free(x);
    return rc;
  }
  x->next = wc->xfers;
  if (wc->xfers != NULL) wc->xfers->prev = x;
  wc->xfers = x;
  wc->pending++;
  return 0;
}

/* Ends a transfer without its callback: a pending lookup is cancelled
 * (its callback frees the transfer), one in curl leaves the multi. */
static void xfer_cancel(struct xfer *x) {
  xfer_unlink(x);
  if (x->dns != NULL) {
    x->cb = NULL;
    curl_easy_setopt(x->easy, CURLOPT_PRIVATE, (void *)NULL);
    wasio_dns_cancel(x->dns);
    return;
  }
  xfer_free(x);
}

int wasio_curl_remove(wasio_curl_t *wc, CURL *easy) {
  if (wc == NULL || easy == NULL) return WASIO_EINVAL;
  for (struct xfer *x = wc->xfers; x != NULL; x = x->next) {
    if (x->easy == easy) {
      xfer_cancel(x);
      return 0;
    }
  }
  return WASIO_EINVAL;
}

static void on_timer_closed(wasio_timer_t *t) {
  wasio_curl_t *wc = wasio_timer_data(t);
  if (wc->close_cb != NULL) wc->close_cb(wc);
  free(wc);
}

/* Closes a watcher of this bridge that curl's cleanup left open. */
static void close_watcher(wasio_handle_kind_t kind, void *handle, void *arg) {
  if (kind == WASIO_KIND_POLL && wasio_poll_data(handle) == arg) wasio_poll_close(handle, NULL);
}

/* The close itself, once no entry into curl is on the stack: cancel
 * every transfer, clean up the multi (its socket callbacks close most
 * watchers; any left are closed here), close the timer, whose close
 * callback ends the bridge. */
static void bridge_finish_close(wasio_curl_t *wc) {
  if (wc->finished) return;
  wc->finished = true;
  while (wc->xfers != NULL) xfer_cancel(wc->xfers);
  curl_multi_cleanup(wc->multi);
  wc->multi = NULL;
  wasio_loop_walk(wc->loop, close_watcher, wc);
  wasio_timer_close(wc->timer, on_timer_closed);
}

void wasio_curl_close(wasio_curl_t *wc, wasio_curl_close_cb cb) {
  if (wc == NULL || wc->closing) return;
  wc->closing = true;
  wc->close_cb = cb;
  if (wc->depth == 0) bridge_finish_close(wc);
}
