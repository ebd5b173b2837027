/* wasio/hiredis.h: hiredis's asynchronous API driven by a wasio loop.
 *
 * hiredis (Debian's source package, built unchanged: docs/BRIDGES.md) talks
 * to an event library through six hooks of its redisAsyncContext (start or
 * stop reading, writing, a timer, clean-up), for which it ships adapters for
 * libuv, libev, ae and others. This is wasio's: the context's socket is
 * watched by a wasio_poll_t (wasio/poll.h) and hiredis's timeouts run on a
 * wasio_timer_t, so redis traffic shares the loop's one wait per turn with
 * every other wasio handle and timer.
 *
 * Not part of libwasio.a: link libwasio-hiredis.a and libhiredis.a
 * (`wasio-cc ... -lhiredis`; natively build/native/libwasio-hiredis.a and
 * libhiredis.a, with -I build/native/include for <hiredis/...>).
 *
 * Lifetime: the context is hiredis's. redisAsyncDisconnect() or
 * redisAsyncFree() (or the server going away) ends it; hiredis then calls
 * the pending commands' callbacks with a NULL reply, the bridge releases
 * its watcher and timer (their memory goes in phase 4 of that turn), and
 * the loop has nothing left of the connection. A connected context keeps
 * the loop alive (hiredis always waits for replies), as with libuv.
 */
#ifndef WASIO_HIREDIS_H
#define WASIO_HIREDIS_H

#include <stdint.h>
#include <hiredis/async.h>
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Connection options of wasio_hiredis_connect(). */
typedef struct wasio_hiredis_opts {
  /* Bounds the name lookup and every connect attempt together
   * (WASIO_NO_TIMEOUT: none). */
  uint64_t connect_timeout_ns;
  /* hiredis's command timeout: a command whose reply does not come in
   * this long fails, with every other pending one (WASIO_ETIMEDOUT from
   * wasio_hiredis_error()), and the connection ends. WASIO_NO_TIMEOUT:
   * none. */
  uint64_t command_timeout_ns;
} wasio_hiredis_opts_t;

/* status 0: `ac` is connected and attached to the loop; it is yours (send
 * commands, then redisAsyncDisconnect or redisAsyncFree). status < 0: ac is
 * NULL and nothing is left: the lookup's error (wasio/dns.h), WASIO_ETIMEDOUT
 * (connect_timeout_ns), or the last address's connect error
 * (WASIO_ECONNREFUSED, ...). */
typedef void (*wasio_hiredis_connect_cb)(redisAsyncContext *ac, int status, void *data);

/* Attaches a context that hiredis has just created (redisAsyncConnect*,
 * before any command; no other event library attached) to `loop`. (Given
 * a host name, redisAsyncConnect resolves it itself, blocking for the
 * lookup: pass it a numeric address, or use wasio_hiredis_connect.) Returns
 * 0, WASIO_EINVAL (NULL, or a context that failed already: ac->err), WASIO_EBUSY
 * (attached already), WASIO_ENOMEM, or wasio_poll_new()'s error for its
 * socket. On failure the context is left as it was. */
int wasio_hiredis_attach(redisAsyncContext *ac, wasio_loop_t *loop);

/* Connects to redis at `host` (a name or a numeric address) and `port`
 * without ever blocking the loop: the name is resolved with wasio's
 * asynchronous DNS (wasio_dns_resolve), then hiredis connects to the
 * addresses in order (each one numeric, so hiredis's own getaddrinfo has
 * no name to look up), attached to the loop, until one connects. cb runs
 * exactly once, never from inside this call. opts may be NULL (no
 * timeouts). hiredis's connect callback is the bridge's: set none of your
 * own on the context. Returns 0, or WASIO_EINVAL (NULL loop, host or cb,
 * empty host, port 0), WASIO_ENAMETOOLONG, WASIO_ENOMEM. */
int wasio_hiredis_connect(wasio_loop_t *loop, const char *host, uint16_t port,
                          const wasio_hiredis_opts_t *opts, wasio_hiredis_connect_cb cb, void *data);

/* The context's hiredis error (ac->err, ac->errstr) as a wasio code: 0
 * when there is none; REDIS_ERR_IO: the system error it names
 * (WASIO_ECONNREFUSED, WASIO_ECONNRESET, WASIO_EPIPE, WASIO_ETIMEDOUT, ...,
 * else WASIO_EIO); REDIS_ERR_EOF (the server closed the connection):
 * WASIO_EOF; REDIS_ERR_TIMEOUT: WASIO_ETIMEDOUT; REDIS_ERR_OOM:
 * WASIO_ENOMEM; REDIS_ERR_PROTOCOL and anything else: WASIO_EIO. Read it in
 * a reply callback that got a NULL reply, or in the disconnect callback. */
int wasio_hiredis_error(const redisAsyncContext *ac);

#ifdef __cplusplus
}
#endif
#endif
