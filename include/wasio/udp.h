/* wasio/udp.h: UDP sockets. Datagram boundaries are always kept: one send
 * is one datagram, one receive callback is one datagram.
 *
 * Lifetime: as every handle, valid until its close callback has returned.
 */
#ifndef WASIO_UDP_H
#define WASIO_UDP_H

#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasio_udp wasio_udp_t;
typedef struct wasio_udp_send wasio_udp_send_t;

/* Largest datagram payload wasio sends or receives (IPv4's maximum). */
#define WASIO_UDP_MAX_DATAGRAM 65507
/* Datagrams queued for sending per socket before wasio_udp_send returns
 * WASIO_EAGAIN. */
#define WASIO_UDP_SEND_QUEUE_MAX 1024

typedef void (*wasio_udp_send_cb)(wasio_udp_send_t *req, int status);
/* nread >= 0: one datagram of nread bytes (0 is a valid empty datagram) from
 * `from`; `data` is valid only during the callback. nread < 0: an error,
 * and receiving has stopped. */
typedef void (*wasio_udp_recv_cb)(wasio_udp_t *udp, ptrdiff_t nread, const void *data,
                                  const wasio_addr_t *from);
typedef void (*wasio_udp_close_cb)(wasio_udp_t *udp);

/* A caller-owned send request: keep it and its bytes alive until its
 * callback runs. Only `data` is yours. */
struct wasio_udp_send {
  void *data;
  wasio_udp_send_t *wasio__next;
  wasio_udp_t *wasio__udp;
  const uint8_t *wasio__base;
  size_t wasio__len;
  wasio_addr_t wasio__to;
  int wasio__has_to;
  wasio_udp_send_cb wasio__cb;
};

/* Creates an unbound socket. Returns 0 and sets *out, or WASIO_ENOMEM,
 * WASIO_EINVAL (NULL). */
int wasio_udp_new(wasio_loop_t *loop, wasio_udp_t **out);

/* Binds (port 0 picks one). Must come before send or receive, except that
 * a send on an unbound socket binds it to the unspecified address. */
int wasio_udp_bind(wasio_udp_t *udp, const wasio_addr_t *addr);

/* Connected mode: sends go to `peer` (pass to = NULL) and only datagrams
 * from `peer` are received. Binds first if needed. */
int wasio_udp_connect(wasio_udp_t *udp, const wasio_addr_t *peer);

/* Queues one datagram to `to` (NULL in connected mode, or the peer). It
 * leaves in phase 3. Errors: WASIO_EMSGSIZE (len > WASIO_UDP_MAX_DATAGRAM),
 * WASIO_EBUSY (req already queued), WASIO_EAGAIN (queue full), WASIO_EINVAL
 * (to missing, or of another family than the socket), WASIO_EISCONN
 * (connected mode and `to` is not the peer), WASIO_ECLOSING. */
int wasio_udp_send(wasio_udp_t *udp, wasio_udp_send_t *req, const void *base,
                   size_t len, const wasio_addr_t *to, wasio_udp_send_cb cb);

/* Starts receiving: cb runs once per datagram (at most
 * WASIO_IO_CALLBACKS_PER_TURN per turn), the bytes in the loop's buffer.
 * Errors: WASIO_ESTATE (not bound: bind or connect first), WASIO_EBUSY
 * (already receiving), WASIO_ECLOSING, WASIO_EINVAL (NULL cb), WASIO_ENOMEM.
 * wasio_udp_recv_stop() stops; idempotent, returns 0 (WASIO_EINVAL for
 * NULL); datagrams that arrive meanwhile wait in the socket. */
int wasio_udp_recv_start(wasio_udp_t *udp, wasio_udp_recv_cb cb);
int wasio_udp_recv_stop(wasio_udp_t *udp);

/* The bound address (port 0 bound shows the port picked) into *out.
 * Returns 0, WASIO_ESTATE (not bound yet), WASIO_EINVAL, or the host's
 * error. */
int wasio_udp_local_addr(const wasio_udp_t *udp, wasio_addr_t *out);

/* The user's pointer of the handle (wasio_udp_set_data() sets it,
 * wasio_udp_data() returns it, NULL until set) and the handle's loop
 * (wasio_udp_loop()). wasio never reads the pointer. */
void wasio_udp_set_data(wasio_udp_t *udp, void *data);
void *wasio_udp_data(const wasio_udp_t *udp);
wasio_loop_t *wasio_udp_loop(const wasio_udp_t *udp);

/* Receiving stops; in phase 4 of this turn (never from inside this call)
 * queued sends get WASIO_ECANCELED (sent ones their status), then cb (may
 * be NULL) runs once. Idempotent. */
void wasio_udp_close(wasio_udp_t *udp, wasio_udp_close_cb cb);

#ifdef __cplusplus
}
#endif
#endif
