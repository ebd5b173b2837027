/* src/backend/wasip2/backend.h: the wasip2 backend's per-loop and
 * per-handle state (included by src/core/internal.h).
 *
 * Implementation notes
 * - Every pollable the backend waits on belongs to a "source"
 *   (wasio__src_t) embedded in its handle: a TCP socket, a TCP input or
 *   output stream, a UDP datagram stream, a DNS lookup stream, or the loop's
 *   clock. A source creates its pollable on first use and keeps it until
 *   its parent resource is dropped (the pollable first: a child must die
 *   before its parent).
 * - The reactor keeps a dense array of the borrowed pollables of the
 *   sources that currently have a waiter, with a parallel array of source
 *   pointers. A source knows its index, so watch/unwatch are O(1) (append,
 *   swap-remove). poll() receives that array as is: nothing is rebuilt per
 *   turn.
 * - Types from the generated bindings (build/gen/imports.h) keep the
 *   own/borrow distinction of the WIT visible in every struct.
 * - The handles are the core's (internal.h); each embeds this backend's
 *   part of it (wasio__backend_tcp_t, ...) as ->b.
 */
#ifndef WASIO_BACKEND_WASIP2_H
#define WASIO_BACKEND_WASIP2_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "imports.h"

/* The hosttls variant (-DWASIO_HOST_TLS, bindings with wasi:tls) offers the
 * core TLS by the host (internal.h's wasio__bk_tcp_tls_*: tls_host.c). */
#ifdef WASIO_HOST_TLS
#define WASIO__BK_HOST_TLS 1
#endif

/* ---- sources: one pollable each, watched or not ---------------------------- */

typedef enum wasio__src_kind {
  WASIO__SRC_CLOCK = 1, /* the loop's deadline clock (or its zero clock) */
  WASIO__SRC_TCP_SOCKET, /* connect or accept readiness */
  WASIO__SRC_TCP_IN,     /* input stream readable */
  WASIO__SRC_TCP_OUT,    /* output stream writable / flushed */
  WASIO__SRC_TCP_LINGER, /* a closed connection's output still in flight */
  WASIO__SRC_UDP_IN,     /* incoming datagram stream */
  WASIO__SRC_UDP_OUT,    /* outgoing datagram stream */
  WASIO__SRC_DNS,        /* resolve-address-stream */
  WASIO__SRC_HOST_TLS,   /* a wasi:tls handshake (tls_host.c, hosttls variant only) */
  /* wasi:http (http_host.c, wasi:http variant only): */
  WASIO__SRC_HTTP_RESPONSE, /* an outgoing request's future-incoming-response */
  WASIO__SRC_HTTP_BODY_IN,  /* an incoming body's input stream */
  WASIO__SRC_HTTP_TRAILERS, /* an incoming body's future-trailers */
  WASIO__SRC_HTTP_BODY_OUT, /* an outgoing body's output stream */
  WASIO__SRC_LIBC           /* a pollable of the wasip2 libc's descriptor,
                               borrowed for one turn (poll.c): never dropped */
} wasio__src_kind_t;

/* Index of a source that is not in the dense array. */
#define WASIO__SRC_UNWATCHED UINT32_MAX

typedef struct wasio__src {
  wasi_io_poll_own_pollable_t pollable; /* __handle 0 until subscribed */
  uint32_t idx;                         /* in the dense array, or UNWATCHED */
  uint8_t kind;                         /* wasio__src_kind_t */
} wasio__src_t;

/* ---- per-handle state (the core's handles embed it as ->b) ------------------ */

/* TCP: the socket, its streams and their pollables. */
typedef struct wasio__backend_tcp {
  wasi_sockets_tcp_own_tcp_socket_t sock;      /* __handle 0: none */
  wasi_io_streams_own_input_stream_t in;
  wasi_io_streams_own_output_stream_t out;
  wasio__src_t sock_src, in_src, out_src;
  uint8_t shut;               /* the shutdown sequence's progress (tcp.c) */
  bool read_fresh;            /* no read since the input was reported ready */
#ifdef WASIO_HOST_TLS
  /* The host's TLS (tls_host.c): the handshake's future and its pollable,
   * then the client-connection whose plaintext streams are `in` and `out`
   * (their parent: dropped after them, before the socket). */
  wasi_tls_types_own_future_client_streams_t tls_future;
  wasio__src_t tls_src;
  wasi_tls_types_own_client_connection_t tls_conn;
#endif
} wasio__backend_tcp_t;

/* UDP: the socket, its datagram streams and their pollables. */
typedef struct wasio__backend_udp {
  wasi_sockets_udp_own_udp_socket_t sock;
  wasi_sockets_udp_own_incoming_datagram_stream_t in;
  wasi_sockets_udp_own_outgoing_datagram_stream_t out;
  wasio__src_t in_src, out_src;
} wasio__backend_udp_t;

/* DNS: the lookup stream and its pollable. */
typedef struct wasio__backend_dns {
  wasi_sockets_ip_name_lookup_own_resolve_address_stream_t stream;
  wasio__src_t src;
} wasio__backend_dns_t;

/* A watcher (wasio/poll.h, poll.c): each turn the wasip2 libc lists the
 * pollables of the watched descriptor (its own, borrowed for the turn:
 * the libc creates and drops them) into `state`'s arrays, which are
 * embedded here so that no turn allocates; each becomes a source. */
#define WASIO__POLL_LIBC_SLOTS 4
struct wasio_poll;
typedef struct wasio__poll_slot {
  wasio__src_t src;
  struct wasio_poll *p;
} wasio__poll_slot_t;
/* The libc's record of one pollable it listed (see poll.c). */
typedef struct wasio__libc_poll_entry {
  void *pollfd;
  short events;
} wasio__libc_poll_entry_t;
typedef struct wasio__backend_poll {
  struct wasio_poll *prev, *next;  /* the loop's started watchers */
  struct wasio_poll *ready_next;   /* the turn's ready list */
  bool listed, ready;
  int fail;                        /* a failure found before the wait */
  /* The libc's struct pollfd (poll.c checks the layout) that its
   * registration and finish functions write revents into. */
  struct { int fd; short events; short revents; } pfd;
  wasio__libc_poll_entry_t entries[WASIO__POLL_LIBC_SLOTS];
  int32_t handles[WASIO__POLL_LIBC_SLOTS];
  wasio__poll_slot_t slots[WASIO__POLL_LIBC_SLOTS];
  uint8_t nslots;
} wasio__backend_poll_t;
/* What the reactor calls once a program has a watcher (poll.c sets it, so
 * that programs without one never link the libc's internals). */
typedef struct wasio__poll_ops {
  /* Before the wait: lists the watchers' pollables; true if one is ready
   * already (the wait must not block). */
  bool (*prepare)(struct wasio_loop *loop);
  /* A pollable of a watcher fired. */
  void (*fired)(wasio__src_t *src);
  /* After the dispatch: the watchers' callbacks. */
  void (*report)(struct wasio_loop *loop);
} wasio__poll_ops_t;

/* ---- the loop ---------------------------------------------------------------- */

typedef struct wasio__backend_loop {
  /* The dense poll set: polls[i] is the borrowed pollable of srcs[i]. */
  wasi_io_poll_borrow_pollable_t *polls;
  wasio__src_t **srcs;
  uint32_t npolls, cap;
  /* poll()'s result list lands here (cap u32s) through cabi_realloc; the
   * ready sources are copied to `ready` before any callback runs, because
   * callbacks may reorder the dense array. */
  uint32_t *result;
  wasio__src_t **ready;
  size_t nready; /* entries of `ready` the last wait found */
  /* Clock sources: `clock` waits for `clock_deadline` (loop time); `zero`
   * is subscribe-instant(0), ready forever, and makes a poll non-blocking. */
  wasio__src_t clock;
  uint64_t clock_deadline;
  wasio__src_t zero;
  /* The instance network, fetched on first socket use. */
  wasi_sockets_network_own_network_t network;
  /* Staging buffer for small TCP writes (WASIO__TCP_STAGE_CAP bytes,
   * tcp.c): NULL until first used, then kept. stage_len bytes of it are
   * stage_tcp's, waiting for one write (only while that handle's writes
   * are being flushed, or its close writes them). */
  uint8_t *stage;
  size_t stage_len;
  struct wasio_tcp *stage_tcp;
  /* Output streams of closed connections that the host still writes
   * (struct wasio__tcp_linger, tcp.c). */
  struct wasio__tcp_linger *linger;
  /* Watchers: the started ones, those found ready this turn, and the
   * reactor's entry points into poll.c (NULL until the first watcher). */
  struct wasio_poll *watchers;
  struct wasio_poll *poll_ready;
  const wasio__poll_ops_t *poll_ops;
  /* The host keeps an input stream ready until a read returns nothing
   * (learned at run time; tcp.c's reads use it). */
  bool sticky_read_ready;
} wasio__backend_loop_t;

/* HTTP through the host (the wasi:http variant): its objects. */
#include "http_host.h"

#endif
