/* src/backend/wasip2/wasip2.h: what the files of the wasip2 backend share
 * (reactor.c, tcp.c, udp.c, dns.c). Not seen by the core. */
#ifndef WASIO_WASIP2_H
#define WASIO_WASIP2_H

#include "internal.h"

/* ---- TCP ------------------------------------------------------------------- */

typedef enum wasio__tcp_state {
  WASIO__TCP_NEW = 0,    /* no socket, or a socket that is only created */
  WASIO__TCP_BOUND,      /* bound, not listening */
  WASIO__TCP_CONNECTING,
  WASIO__TCP_CONNECTED,
  WASIO__TCP_LISTENING,
  WASIO__TCP_CLOSED      /* wasio_tcp_close ran: everything released */
} wasio__tcp_state_t;

struct wasio_tcp {
  wasio__tcp_common_t common; /* must be first */
  uint8_t state;              /* wasio__tcp_state_t */
  uint8_t family;             /* wasio_family_t of the socket, 0 without one */
  uint16_t flags;             /* WASIO__TCPF_* (tcp.c) */
  int write_err;              /* sticky: the output stream failed */
  wasi_sockets_tcp_own_tcp_socket_t sock;      /* __handle 0: none */
  wasi_io_streams_own_input_stream_t in;
  wasi_io_streams_own_output_stream_t out;
  wasio__src_t sock_src, in_src, out_src;
  wasio__pending_t pending;
  wasio__budget_t budget;
  /* One timer node for the connect deadline, then for the idle timeout. */
  wasio__timer_node_t timer;
  uint64_t idle_ns;
  uint64_t last_active;       /* when the last byte moved or a wait began */
  uint64_t keepalive_idle_ns;
  wasio_connect_cb connect_cb;
  wasio_connection_cb connection_cb;
  wasio_alloc_cb alloc_cb;
  wasio_read_cb read_cb;
  wasio_buf_t spare;          /* an alloc_cb buffer a read returned unused */
  wasio_shutdown_cb shutdown_cb;
  /* Write queue, in order. Writes happen only in phase 3, so a request is
   * completed (and unlinked) as soon as the stream has accepted its last
   * byte, or the loop's staging buffer has (small writes: tcp.c). */
  wasio_write_t *wq_head, *wq_tail;
  size_t wq_bytes;            /* bytes not yet accepted */
  /* An upper layer that installed its own streams in this tcp (the host
   * TLS backend, src/tls/host.c) and has its own way to end the sending
   * side: wasio_tcp_shutdown calls end_send(end_send_ctx) once, after the
   * flush, instead of dropping the output stream; the output stream then
   * ends itself, and the shutdown completes when its check-write reports
   * closed (0) or a failure, or after WASIO__TCP_END_SEND_TIMEOUT_NS
   * (WASIO_ETIMEDOUT). Nonzero from end_send fails the shutdown with it.
   * NULL: the plain TCP way (drop the stream, shut the socket down). The
   * backend knows nothing of what the layer's streams are. */
  int (*end_send)(void *ctx);
  void *end_send_ctx;
  uint64_t end_send_due;      /* loop time the wait for end_send gives up */
};

/* ---- UDP ------------------------------------------------------------------- */

struct wasio_udp {
  wasio__handle_t h;          /* must be first */
  uint8_t family;
  uint8_t flags;              /* WASIO__UDPF_* (udp.c) */
  wasi_sockets_udp_own_udp_socket_t sock;
  wasi_sockets_udp_own_incoming_datagram_stream_t in;
  wasi_sockets_udp_own_outgoing_datagram_stream_t out;
  wasio__src_t in_src, out_src;
  wasio__pending_t pending;
  wasio__budget_t budget;
  wasio_udp_recv_cb recv_cb;
  wasio_addr_t peer;          /* connected mode */
  /* Send queue, in order; sends happen only in phase 3, where a datagram's
   * callback runs as soon as the stream took it (or refused it). */
  wasio_udp_send_t *sq_head, *sq_tail;
  size_t sq_len;
};

/* ---- DNS ------------------------------------------------------------------- */

struct wasio_dns {
  wasio__handle_t h;          /* must be first; h.data is the user's data */
  uint8_t state;              /* WASIO__DNS_* (dns.c) */
  int status;                 /* the result, once known */
  wasi_sockets_ip_name_lookup_own_resolve_address_stream_t stream;
  wasio__src_t src;
  wasio__pending_t pending;
  wasio__timer_node_t timer;
  wasio_dns_cb cb;
  size_t count;
  wasio_addr_t addrs[WASIO_DNS_MAX_ADDRS];
};


/* ---- canonical ABI results into caller memory (reactor.c) -------------------
 * Between arena_set and arena_clear, the host's cabi_realloc calls are served
 * from [base, base + cap) (bump allocation). A result that does not fit falls
 * back to the counted heap; wasio__abi_free releases such a result and
 * ignores arena memory, so every caller pairs a call with it. */
void wasio__arena_set(void *base, size_t cap);
/* As arena_set, but results aligned wider than a byte (records, u32 lists)
 * go to [words, words + words_cap) and byte lists to [bytes, ...). */
void wasio__arena_set_split(void *bytes, size_t bytes_cap, void *words, size_t words_cap);
void wasio__arena_clear(void);
void wasio__abi_free(void *ptr, size_t size);

/* ---- sources and the poll set ----------------------------------------------- */
void wasio__src_init(wasio__src_t *src, wasio__src_kind_t kind);
static inline bool wasio__src_subscribed(const wasio__src_t *src) {
  return src->pollable.__handle != 0;
}
static inline bool wasio__src_watched(const wasio__src_t *src) {
  return src->idx != WASIO__SRC_UNWATCHED;
}
/* Adds a subscribed source to the poll set (no-op if present). Returns 0 or
 * WASIO_ENOMEM. */
int wasio__src_watch(wasio_loop_t *loop, wasio__src_t *src);
void wasio__src_unwatch(wasio_loop_t *loop, wasio__src_t *src);
/* Unwatches and drops the pollable: call before dropping the parent. */
void wasio__src_drop(wasio_loop_t *loop, wasio__src_t *src);

/* ---- pending work ----------------------------------------------------------- */
void wasio__pending_init(wasio__pending_t *p, wasio__pending_kind_t kind);
void wasio__pending_add(wasio_loop_t *loop, wasio__pending_t *p);
void wasio__pending_remove(wasio__pending_t *p);

/* True while `b` may run one more I/O callback this turn (and counts it). */
bool wasio__budget_take(wasio_loop_t *loop, wasio__budget_t *b);

/* ---- WASI values ------------------------------------------------------------ */
/* The one translation of WASI errors into WASIO_E*: `code` is a
 * wasi:sockets error-code, or one of the stream-error pseudo codes below.
 * `writing` turns a closed stream into WASIO_EPIPE instead of WASIO_EOF. */
#define WASIO__WASI_STREAM_CLOSED 0x100
#define WASIO__WASI_STREAM_FAILED 0x101
int wasio__wasi_error(unsigned code, bool writing);
/* Consumes a stream-error (drops its error resource) and maps it. */
int wasio__stream_error(wasi_io_streams_stream_error_t *err, bool writing);

/* Address conversions. to_wasi fails with WASIO_EINVAL for a bad family. */
int wasio__addr_to_wasi(const wasio_addr_t *a, wasi_sockets_network_ip_socket_address_t *out);
void wasio__addr_from_wasi(const wasi_sockets_network_ip_socket_address_t *in, wasio_addr_t *out);
void wasio__ip_from_wasi(const wasi_sockets_network_ip_address_t *in, wasio_addr_t *out);
static inline uint8_t wasio__wasi_family(uint8_t family) {
  return family == WASIO_AF_INET6 ? WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV6
                                  : WASI_SOCKETS_NETWORK_IP_ADDRESS_FAMILY_IPV4;
}

/* The instance network (fetched once per loop). */
wasi_sockets_network_borrow_network_t wasio__network(wasio_loop_t *loop);

/* ---- dispatch targets (tcp.c, udp.c, dns.c) ----------------------------------- */
void wasio__tcp_on_ready(wasio__src_t *src);
void wasio__tcp_on_pending(wasio_tcp_t *tcp);
void wasio__tcp_linger_ready(wasio__src_t *src);
void wasio__tcp_linger_abandon(wasio_loop_t *loop);
void wasio__udp_on_ready(wasio__src_t *src);
void wasio__udp_on_pending(wasio_udp_t *udp);
void wasio__dns_on_ready(wasio__src_t *src);
void wasio__dns_on_pending(wasio_dns_t *dns);
#ifdef WASIO_HOST_TLS
void wasio__tls_host_on_ready(wasio__src_t *src); /* src/tls/host.c */
#endif

#endif
