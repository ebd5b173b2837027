/* src/backend/posix/posix.h: what the posix backend's files share. */
#ifndef WASIO_POSIX_H
#define WASIO_POSIX_H

#include <sys/socket.h>

#include "internal.h"

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
/* Phase 3 work per kind, from epoll's events. */
void wasio__posix_tcp_io(wasio_tcp_t *tcp, uint32_t events);
void wasio__posix_udp_io(wasio_udp_t *udp, uint32_t events);
void wasio__posix_poll_io(wasio_poll_t *p, uint32_t events);
/* Drains the workers' finished lookups (the eventfd fired). */
void wasio__posix_dns_collect(wasio_loop_t *loop);
/* Frees the jobs left in the finished list when the loop goes away. */
void wasio__posix_dns_loop_free(wasio_loop_t *loop);

#endif
