/* src/backend/posix/backend.h: the posix (Linux epoll) backend's state, as
 * src/core/internal.h expects it. Included from inside internal.h, after the
 * handle and timer types and before the loop struct.
 *
 * Every pollable thing (TCP, UDP, a DNS request) embeds one
 * wasio__posix_io_t: epoll's data pointer and the backend's "pending" list
 * (work that needs phase 3 without any fd becoming ready, such as a write
 * that completed inside wasio_tcp_write) both refer to it, and its handle
 * pointer plus the handle's kind select the code with a switch.
 */
#ifndef WASIO_BACKEND_POSIX_H
#define WASIO_BACKEND_POSIX_H

#include <sys/epoll.h>

/* Events fetched by one epoll_wait; more stay ready for the next turn. */
#define WASIO__EPOLL_MAX_EVENTS 256

typedef struct wasio__posix_io {
  wasio__handle_t *h;                   /* the handle this belongs to */
  struct wasio__posix_io *pending_next; /* loop's pending list (doubly */
  struct wasio__posix_io *pending_prev; /* linked: phase 4 unlinks) */
  int fd;                               /* -1 when none */
  uint32_t events;                      /* registered with epoll; 0 = not */
  uint8_t pending;                      /* in the pending list */
  uint64_t budget_turn;                 /* turn the budget below counts */
  uint32_t budget_used;                 /* I/O callbacks so far that turn */
} wasio__posix_io_t;

struct wasio__posix_job;

typedef struct wasio__backend_loop {
  int epfd;
  int wakefd;                           /* eventfd the DNS workers write */
  /* Finished lookups, pushed by workers under the backend's global mutex. */
  struct wasio__posix_job *dns_done;
  wasio__posix_io_t *pending_head, *pending_tail;
  struct epoll_event events[WASIO__EPOLL_MAX_EVENTS];
  int nready;                           /* events[] filled by the last wait */
} wasio__backend_loop_t;

enum wasio__tcp_state {
  WASIO__TCP_NEW = 0,  /* no socket, or a socket that is neither bound nor used */
  WASIO__TCP_BOUND,
  WASIO__TCP_CONNECTING,
  WASIO__TCP_CONNECTED,
  WASIO__TCP_LISTENING,
  WASIO__TCP_CLOSED
};

typedef struct wasio__backend_tcp {
  wasio__posix_io_t io;
  uint8_t state;              /* enum wasio__tcp_state */
  uint8_t reading;
  uint8_t eof;                /* the peer shut down writing */
  uint8_t shutdown_req;       /* wasio_tcp_shutdown called */
  uint8_t shutdown_done;      /* shutdown(2) done and reported */
  uint8_t connect_done;       /* connect finished synchronously */
  uint8_t keepalive;
  uint8_t in_io;              /* inside this handle's phase-3 work (tcp.c) */
  uint8_t corked;             /* bytes sent with MSG_MORE, not yet pushed */
  uint8_t accept_paused;      /* a listener out of descriptors, waiting on its timer */
  int connect_status;         /* its result, reported in phase 3 */
  int write_err;              /* sticky: later writes fail with it */
  uint64_t keepalive_idle_ns;
  wasio_connect_cb connect_cb;
  wasio_connection_cb connection_cb;
  wasio_alloc_cb alloc_cb;
  wasio_read_cb read_cb;
  wasio_shutdown_cb shutdown_cb;
  /* Writes not yet fully accepted by the socket, then writes accepted (or
   * failed) whose callbacks are still to run; both FIFO. */
  wasio_write_t *wq_head, *wq_tail;
  wasio_write_t *done_head, *done_tail;
  size_t wq_bytes;
  /* One timer node: the connect deadline while connecting, the idle
   * deadline afterwards; a listener's accept pause. */
  wasio__timer_node_t timer;
  uint64_t idle_ns;
  uint64_t last_activity;
} wasio__backend_tcp_t;

typedef struct wasio__backend_udp {
  wasio__posix_io_t io;
  uint8_t family;             /* of the socket; 0 before it exists */
  uint8_t connected;
  uint8_t receiving;
  wasio_addr_t peer;
  wasio_udp_recv_cb recv_cb;
  wasio_udp_send_t *sq_head, *sq_tail;   /* not yet sent */
  wasio_udp_send_t *done_head, *done_tail;
  size_t sq_len;              /* sends queued in both lists */
} wasio__backend_udp_t;

typedef struct wasio__backend_dns {
  wasio__posix_io_t io;       /* fd unused: only the pending list */
  struct wasio__posix_job *job; /* the worker's job while it runs */
  wasio__timer_node_t timer;
  wasio_dns_cb cb;
  int status;                 /* final status once known */
  uint8_t finished;           /* status and addrs are final */
  size_t count;
  wasio_addr_t addrs[WASIO_DNS_MAX_ADDRS];
} wasio__backend_dns_t;

#endif
