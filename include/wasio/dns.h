/* wasio/dns.h: asynchronous name resolution.
 *
 * On wasip2 the lookup is wasi:sockets/ip-name-lookup, its stream driven by
 * the loop: the loop keeps serving other handles while a name resolves.
 * Natively it runs getaddrinfo(3) on a worker thread and wakes the loop.
 *
 * Lifetime: a wasio_dns_t is valid from wasio_dns_resolve() until its
 * callback has returned; the library frees it then.
 */
#ifndef WASIO_DNS_H
#define WASIO_DNS_H

#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasio_dns wasio_dns_t;

/* Most addresses one lookup returns; more are dropped. */
#define WASIO_DNS_MAX_ADDRS 32
/* Longest name accepted (RFC 1035 presentation form, without a final dot). */
#define WASIO_DNS_MAX_NAME 253

/* status 0: `count` >= 1 addresses (port 0), valid during the callback.
 * Otherwise WASIO_ENAMENOTFOUND, WASIO_EDNSTEMP, WASIO_EDNSFAIL,
 * WASIO_ETIMEDOUT, WASIO_ECANCELED, ... and count 0. */
typedef void (*wasio_dns_cb)(wasio_dns_t *req, int status,
                             const wasio_addr_t *addrs, size_t count);

/* Resolves `name` to all its addresses. A numeric IPv4/IPv6 name completes
 * (in the next turn) without a lookup. `out` may be NULL when you never
 * cancel. Errors: WASIO_EINVAL (empty name, NULL cb), WASIO_ENAMETOOLONG,
 * WASIO_ENOMEM. */
int wasio_dns_resolve(wasio_loop_t *loop, const char *name, uint64_t timeout_ns,
                      wasio_dns_cb cb, void *data, wasio_dns_t **out);

/* Cancels: the callback runs with WASIO_ECANCELED in the next turn (not from
 * inside this call). Returns 0, or WASIO_EINVAL if it already completed. */
int wasio_dns_cancel(wasio_dns_t *req);

/* The `data` given to wasio_dns_resolve(), and wasio_dns_loop() the loop
 * the request runs on. Both only while the request is valid (until its
 * callback has returned). */
void *wasio_dns_data(const wasio_dns_t *req);
wasio_loop_t *wasio_dns_loop(const wasio_dns_t *req);

#ifdef __cplusplus
}
#endif
#endif
