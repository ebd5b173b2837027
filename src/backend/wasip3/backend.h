/* src/backend/wasip3/backend.h: the wasip3 backend's per-loop and
 * per-handle state (included by src/core/internal.h).
 *
 * Implementation notes
 * - WASI 0.3 has no pollables: a component starts an operation (an async
 *   call, which becomes a subtask; a read or write on a stream or future
 *   end) and, when it cannot finish at once, the operation's waitable
 *   delivers one event when it does. Every waitable the backend owns is
 *   a "waiter" (wasio__w3_t) embedded in its handle: the waitable's
 *   handle number, whether an operation is in flight on it, and the
 *   status the operation ended with.
 * - One waitable set per loop. A waiter joins it when its waitable is
 *   created and leaves it just before the waitable is dropped; a waiter
 *   with nothing in flight costs nothing (no event can come), so nothing
 *   is rebuilt per turn. The loop maps waitable numbers to waiters with a
 *   table indexed by number (O(1), grown by doubling).
 * - An operation that finishes at once and one whose event arrives are
 *   handled alike: the waiter goes on the loop's ready list (doubly
 *   linked, so release can unlink it in O(1)), which the dispatch runs.
 * - Types from the generated bindings (build/gen-p3/imports.h).
 */
#ifndef WASIO_BACKEND_WASIP3_H
#define WASIO_BACKEND_WASIP3_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "imports.h"
#include "idmap.h"      /* src/core: the waitable-number map */

/* The hosttls variant (-DWASIO_HOST_TLS, bindings with wasi:tls@0.3.0-draft:
 * libwasio-p3-hosttls.a) offers the core TLS by the host (internal.h's
 * wasio__bk_tcp_tls_*: tls_host.c). */
#ifdef WASIO_HOST_TLS
#define WASIO__BK_HOST_TLS 1
#include "wasio/tls_host.h" /* WASIO_TLS_HOST_MAX_NAME */
#endif

/* What a waiter stands for (the dispatch's switch, reactor.c). */
typedef enum wasio__w3_kind {
  WASIO__W3_CLOCK = 1,  /* the loop's deadline: a wait-until subtask */
  WASIO__W3_TCP_CONN,   /* a connect subtask */
  WASIO__W3_TCP_ACCEPT, /* a listener's stream<tcp-socket>: a read of one */
  WASIO__W3_TCP_IN,     /* a connection's stream<u8> from the peer */
  WASIO__W3_TCP_OUT,    /* the writable end of the stream handed to send */
  WASIO__W3_TCP_FIN,    /* the future that says how the peer's stream ended */
  WASIO__W3_TCP_LINGER, /* a closed connection's last write (tcp.c) */
  WASIO__W3_UDP_IN,     /* a receive subtask */
  WASIO__W3_UDP_OUT,    /* a send subtask */
  WASIO__W3_DNS,        /* a resolve-addresses subtask */
  WASIO__W3_HTTP_SEND,  /* a client.send subtask (http_host.c) */
  WASIO__W3_HTTP_IN,    /* a readiness read of a body's stream */
  WASIO__W3_HTTP_IN_TR, /* the read of a body's trailers future */
  WASIO__W3_HTTP_OUT,   /* a write of a body's stream */
  WASIO__W3_HTTP_OUT_TR,/* the write of a body's trailers future */
  WASIO__W3_HTTP_LINGER,/* a released body's last future write (http_host.c) */
  WASIO__W3_HTTP_KICK,  /* the handler export's kick pipe (http_incoming.c) */
  WASIO__W3_TCP_TLS     /* the host TLS handshake's connect subtask (tls_host.c) */
} wasio__w3_kind_t;

/* How the host completes the reads and writes of a socket's streams
 * (tcp.c's notes): not known yet; at once when it can, with exact
 * cancels (wasmtime); later, with cancels that are not exact (jco). */
enum { WASIO__P3_COPIES_UNKNOWN = 0, WASIO__P3_COPIES_AT_ONCE, WASIO__P3_COPIES_LATER };

typedef struct wasio__w3 {
  struct wasio__w3 *prev, *next; /* the ready list, while `listed` */
  uint32_t handle;               /* the waitable's number; 0: none */
  uint32_t code;                 /* the finished operation's status */
  uint8_t kind;                  /* wasio__w3_kind_t */
  bool busy;                     /* an operation is in flight */
  bool done;                     /* it finished; `code` says how */
  bool listed;                   /* on the ready list */
  bool joined;                   /* in the loop's waitable set */
  bool held;                     /* its operation holds the loop (http_host.c) */
} wasio__w3_t;

/* ---- per-handle state (the core's handles embed it as ->b) ------------------ */

/* TCP. A connection has its socket, the stream it reads (with the future
 * that tells how it ended) and the stream it writes (handed to `send`,
 * whose future tells how sending ended). A listener has the stream of
 * accepted sockets and a slot for the one read from it. */
typedef struct wasio__backend_tcp {
  int32_t sock;          /* own<tcp-socket>; 0: none */
  uint32_t rx, rx_fut;   /* stream<u8>, future<result<_, error-code>> */
  uint32_t tx, tx_fut;   /* the writable end; send's future */
  uint32_t lst;          /* listen's stream<tcp-socket> */
  int32_t acc;           /* an accepted socket not yet taken; 0: none */
  wasio__w3_t conn, in, out, fin;
  uint8_t want;          /* WASIO__IO_* the core waits for */
  bool rx_end;           /* the peer's stream ended (rx dropped) */
  bool read_fresh;       /* no read since the stream was reported readable */
  int rx_err;            /* ... with this failure (0: a clean end), known
                            once `fin` is not busy */
  wasi_sockets_types_result_void_error_code_t fres; /* rx_fut's value */
  /* connect: the call's arguments and result live here while it runs */
  wasi_sockets_types_method_tcp_socket_connect_args_t cargs;
  wasi_sockets_types_result_void_error_code_t cres;
  /* Bytes the stream took but the host has not read yet: a write the
   * host could not take at once is copied here (tcp.c's notes). */
  uint8_t *obuf;
  size_t olen, ooff;
  uint8_t *ospare;       /* a kept buffer for the next copy (tcp.c's notes) */
  /* Bytes read into a buffer of the handle's own, not yet taken by the
   * core: on a host that completes copies later (tcp.c's notes). `in`
   * carries a read into it while in_data. */
  uint8_t *ibuf;
  uint32_t ioff, ilen;
  bool in_data;
  bool fut_read;         /* rx_fut's read was started (at the end, or early) */

  bool tx_made;          /* send was called (tx opened): tcp.c's notes */
  bool tx_dropped;       /* the probe's write found tx's readable end dropped */
#ifdef WASIO_HOST_TLS
  /* The host's TLS (tls_host.c): the connect subtask, its arguments and
   * result; once upgraded, rx and tx carry plaintext, and the TLS
   * layer's futures say how each direction ended. */
  wasio__w3_t tls;
  bool tls_on;               /* rx and tx are the TLS layer's */
  uint32_t tls_rx_fut;       /* receive's future<result<_, error>> */
  uint32_t tls_tx_fut;       /* send's */
  uint32_t sock_rx_fut;      /* the socket's receive future, kept until release */
  wasi_tls_client_result_void_own_error_t tls_res;
  wasi_tls_client_result_void_own_error_t tls_fres; /* tls_rx_fut's value */
  char tls_name[WASIO_TLS_HOST_MAX_NAME + 1];
#endif
} wasio__backend_tcp_t;

/* UDP: one receive and one send in flight at most, each a subtask whose
 * arguments and result live here. */
typedef struct wasio__backend_udp {
  int32_t sock;
  wasio__w3_t in, out;
  uint8_t want;
  wasi_sockets_types_result_tuple2_list_u8_ip_socket_address_error_code_t rres;
  wasi_sockets_types_method_udp_socket_send_args_t sargs;
  wasi_sockets_types_result_void_error_code_t sres;
} wasio__backend_udp_t;

/* DNS: the resolve-addresses subtask and its result. */
typedef struct wasio__backend_dns {
  wasio__w3_t w;
  wasi_sockets_ip_name_lookup_result_list_ip_address_error_code_t res;
} wasio__backend_dns_t;

/* Watchers (wasio/poll.h): the libc's descriptors are WASI 0.2 resources,
 * which a WASI 0.3 waitable set cannot wait on (poll.c says so). */
typedef struct wasio__backend_poll {
  int unused;
} wasio__backend_poll_t;

/* ---- the loop ---------------------------------------------------------------- */

typedef struct wasio__backend_loop {
  uint32_t set;            /* the waitable set */
  wasio__idmap_t waiters;  /* waitable number -> waiter (src/core/idmap.h) */
  wasio__w3_t ready;       /* sentinel of the ready list */
  size_t busy;             /* waiters with an operation in flight */
  uint32_t nowait_turns;   /* turns in a row that did not block (reactor.c) */
  /* The deadline: a wait-until subtask while one is armed, for `clock_at`
   * (loop time; the monotonic clock itself). */
  wasio__w3_t clock;
  uint64_t clock_at;
  /* The staging buffer of small writes (tcp.c), its owner and length. */
  uint8_t *stage;
  size_t stage_len;
  struct wasio_tcp *stage_tcp;
  /* The host keeps a socket readable until a read finds it empty
   * (learned at run time; tcp.c's reads use it). */
  bool sticky_read_ready;
  /* Whether the host completes a socket stream's copies at once when it
   * can and cancels exactly (WASIO__P3_COPIES_*, learned at run time:
   * tcp.c's notes). */
  uint8_t copies;
  /* Closed connections whose last bytes are still being written (tcp.c). */
  struct wasio__tcp_linger *linger;
  /* Future writes of released HTTP bodies still in flight (http_host.c). */
  struct wasio__http_linger *http_linger;
} wasio__backend_loop_t;

/* HTTP through the host (the wasi:http variant): its objects. */
#include "http_host.h"

#endif
