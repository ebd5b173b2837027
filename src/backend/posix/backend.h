/* src/backend/posix/backend.h: the posix (Linux epoll) backend's state, as
 * src/core/internal.h expects it. Included from inside internal.h, after the
 * handle and timer types and before the loop struct.
 *
 * Every socket (TCP, UDP) embeds one wasio__posix_io_t: epoll's data
 * pointer refers to it, and its handle pointer plus the handle's kind
 * select the code with a switch. Work without a ready fd is the core's
 * pending list (internal.h).
 */
#ifndef WASIO_BACKEND_POSIX_H
#define WASIO_BACKEND_POSIX_H

#include <sys/epoll.h>

/* Events fetched by one epoll_wait; more stay ready for the next turn. */
#define WASIO__EPOLL_MAX_EVENTS 256

typedef struct wasio__posix_io {
  wasio__handle_t *h;                   /* the handle this belongs to */
  int fd;                               /* -1 when none */
  uint32_t events;                      /* registered with epoll; 0 = not */
} wasio__posix_io_t;

struct wasio__posix_job;

typedef struct wasio__backend_loop {
  int epfd;
  int wakefd;                           /* eventfd the DNS workers write */
  /* Finished lookups, pushed by workers under the backend's global mutex. */
  struct wasio__posix_job *dns_done;
  struct epoll_event events[WASIO__EPOLL_MAX_EVENTS];
  int nready;                           /* events[] filled by the last wait */
} wasio__backend_loop_t;

/* TCP: the socket; everything else is the core's (internal.h). */
typedef struct wasio__backend_tcp {
  wasio__posix_io_t io;
  uint8_t corked;             /* bytes sent with MSG_MORE, not yet pushed */
  uint8_t listening;          /* the socket listens: CONN readiness is EPOLLIN */
} wasio__backend_tcp_t;

/* UDP: the socket. */
typedef struct wasio__backend_udp {
  wasio__posix_io_t io;
} wasio__backend_udp_t;

/* A watcher (wasio/poll.h): the caller's descriptor in the epoll set.
 * io.fd is the caller's: never closed here. */
typedef struct wasio__backend_poll {
  wasio__posix_io_t io;
} wasio__backend_poll_t;

/* DNS: the worker's job while it runs. */
struct wasio_dns;
typedef struct wasio__backend_dns {
  struct wasio__posix_job *job;
  struct wasio_dns *done_next; /* wasio__posix_dns_collect's list */
  int status;                  /* the job's result, until reported */
} wasio__backend_dns_t;

#endif
