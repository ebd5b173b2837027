/* wasio/curl.h: libcurl's multi interface driven by a wasio loop, so that
 * curl transfers run inside wasio_loop_run together with wasio's own
 * handles and timers, in the loop's one wait per turn.
 *
 * This is curl's documented multi_socket pattern (the one its libuv and
 * libevent examples use): the bridge gives the CURLM a socket callback
 * (CURLMOPT_SOCKETFUNCTION), which keeps one wasio_poll_t watcher per
 * socket curl wants watched (wasio/poll.h), and a timer callback
 * (CURLMOPT_TIMERFUNCTION), which keeps one wasio timer; both ready
 * sockets and the timer end in curl_multi_socket_action(). Finished
 * transfers are reported to a callback per transfer.
 *
 * Name lookups. libcurl built for wasio resolves with the C library's
 * getaddrinfo, which blocks (on wasip2, the whole component; natively,
 * the loop's thread). So wasio_curl_add() first resolves the URL's host
 * with wasio's asynchronous DNS (wasio/dns.h) while the loop keeps
 * running, and hands curl the addresses with CURLOPT_RESOLVE ("HOST:PORT:
 * ADDR,..."); curl then connects without a lookup of its own. What still
 * blocks, because curl resolves it itself once the transfer runs: a
 * redirect (CURLOPT_FOLLOWLOCATION) to another host or port, a proxy given
 * by name (CURLOPT_PROXY or the *_proxy environment variables), and
 * CURLOPT_CONNECT_TO targets given by name. docs/BRIDGES.md has the list
 * and the ways around each.
 *
 * The bridge owns each added easy handle's CURLOPT_URL, CURLOPT_RESOLVE
 * and CURLOPT_PRIVATE until the transfer's callback has run (pass your own
 * pointer as `data`); set every other option before wasio_curl_add().
 *
 * Lifetime: a wasio_curl_t is valid from wasio_curl_new() until its close
 * callback has returned. Its watchers and timer are loop handles: while a
 * transfer is in flight they keep wasio_loop_run(WASIO_RUN_DEFAULT) going;
 * idle keep-alive connections do not.
 */
#ifndef WASIO_CURL_H
#define WASIO_CURL_H

#include <curl/curl.h>
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasio_curl wasio_curl_t;

/* How long wasio_curl_add() lets wasio's DNS resolve a URL's host before
 * the transfer fails with CURLE_COULDNT_RESOLVE_HOST. */
#define WASIO_CURL_DNS_TIMEOUT_MS 30000u
/* Longest URL wasio_curl_add() accepts (curl's own limit is higher). */
#define WASIO_CURL_URL_MAX 8192u

/* A transfer ended: `result` is curl's code (CURLE_OK, or e.g.
 * CURLE_COULDNT_RESOLVE_HOST when wasio's lookup failed,
 * CURLE_OPERATION_TIMEDOUT, CURLE_PARTIAL_FILE, CURLE_RECV_ERROR). The
 * easy handle is no longer in the multi: the callback may read it
 * (curl_easy_getinfo), add it again, clean it up, or close the bridge. */
typedef void (*wasio_curl_done_cb)(wasio_curl_t *wc, CURL *easy, CURLcode result, void *data);
typedef void (*wasio_curl_close_cb)(wasio_curl_t *wc);

/* Creates a bridge with a new CURLM on `loop`. Call curl_global_init()
 * first. Returns 0 and sets *out, or WASIO_EINVAL (NULL), WASIO_ENOMEM. */
int wasio_curl_new(wasio_loop_t *loop, wasio_curl_t **out);

/* The bridge's CURLM, for options such as CURLMOPT_MAX_HOST_CONNECTIONS
 * or CURLMOPT_MAX_TOTAL_CONNECTIONS. Never set its SOCKETFUNCTION,
 * SOCKETDATA, TIMERFUNCTION or TIMERDATA, nor add, remove or clean up
 * handles through it: the bridge does. */
CURLM *wasio_curl_multi(const wasio_curl_t *wc);

/* Starts a transfer of `url` on `easy`: resolves the URL's host with
 * wasio's DNS (numeric hosts skip it), then adds the handle to the multi.
 * cb runs once, from the loop, when the transfer ends (never from inside
 * this call). Returns 0, or WASIO_EINVAL (NULL argument, a URL curl cannot
 * parse or without a host, longer than WASIO_CURL_URL_MAX), WASIO_EBUSY
 * (the handle is already in a transfer of this bridge), WASIO_ECLOSING,
 * WASIO_ENOMEM, or a WASIO_E* code of wasio_dns_resolve. */
int wasio_curl_add(wasio_curl_t *wc, CURL *easy, const char *url, wasio_curl_done_cb cb, void *data);

/* Cancels the transfer on `easy` (while its host resolves, or in curl):
 * its callback does not run. Returns 0, or WASIO_EINVAL (NULL, or the
 * handle is in no transfer of this bridge). */
int wasio_curl_remove(wasio_curl_t *wc, CURL *easy);

/* Transfers added and not yet ended (resolving or in curl). */
size_t wasio_curl_pending(const wasio_curl_t *wc);

/* Cancels every transfer (no callbacks), closes curl's connections and
 * the CURLM, stops watching. cb (may be NULL) runs once, in phase 4 of a
 * turn, never from inside this call; the easy handles are yours to clean
 * up. Idempotent. May be called from a done callback. */
void wasio_curl_close(wasio_curl_t *wc, wasio_curl_close_cb cb);

#ifdef __cplusplus
}
#endif
#endif
