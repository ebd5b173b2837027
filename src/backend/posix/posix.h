/* src/backend/posix/posix.h: what the posix backend's files share. */
#ifndef WASIO_POSIX_H
#define WASIO_POSIX_H

#include <sys/socket.h>

#include "internal.h"

struct wasio_tcp {
  wasio__tcp_common_t common; /* must be first (internal.h) */
  wasio__backend_tcp_t b;
};

struct wasio_udp {
  wasio__handle_t h; /* must be first */
  wasio__backend_udp_t b;
};

struct wasio_dns {
  wasio__handle_t h; /* must be first */
  wasio__backend_dns_t b;
};

/* The one errno -> WASIO_E* translation of this backend. */
int wasio__posix_err(int errnum);

/* sockaddr <-> wasio_addr_t. to_sockaddr returns the length or 0 for a bad
 * family. */
socklen_t wasio__posix_to_sockaddr(const wasio_addr_t *addr, struct sockaddr_storage *ss);
int wasio__posix_from_sockaddr(const struct sockaddr *sa, wasio_addr_t *out);

void wasio__posix_io_init(wasio__posix_io_t *io, wasio__handle_t *h);
/* Registers, changes or removes (events 0) the fd's epoll interest.
 * Returns 0 or a WASIO_E* code. */
int wasio__posix_io_set(wasio_loop_t *loop, wasio__posix_io_t *io, uint32_t events);
/* Closes the fd (which also leaves epoll) and forgets the interest. */
void wasio__posix_io_close(wasio__posix_io_t *io);
/* Queues the io for phase 3 of this or the next turn, without an event. */
void wasio__posix_pending(wasio_loop_t *loop, wasio__posix_io_t *io);
/* Unlinks a freed handle's entry from the pending list (phase 4 only). */
void wasio__posix_pending_remove(wasio_loop_t *loop, wasio__posix_io_t *io);
/* Takes one I/O callback from the handle's per-turn budget; false when the
 * handle has had WASIO_IO_CALLBACKS_PER_TURN callbacks this turn. */
bool wasio__posix_budget_take(wasio_loop_t *loop, wasio__posix_io_t *io);

/* Phase 3 work per kind: `events` are epoll's (0 for a pending entry). */
void wasio__posix_tcp_io(wasio_tcp_t *tcp, uint32_t events);
void wasio__posix_udp_io(wasio_udp_t *udp, uint32_t events);
void wasio__posix_dns_io(wasio_dns_t *dns);
/* Drains the workers' finished lookups (the eventfd fired). */
void wasio__posix_dns_collect(wasio_loop_t *loop);
/* Frees the jobs left in the finished list when the loop goes away. */
void wasio__posix_dns_loop_free(wasio_loop_t *loop);

#endif
