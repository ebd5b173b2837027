/* src/backend/wasip2/wasip2.h: what the files of the wasip2 backend share
 * (reactor.c, tcp.c, udp.c, dns.c, tls_host.c, http_host.c). Not seen by the core. */
#ifndef WASIO_WASIP2_H
#define WASIO_WASIP2_H

#include "internal.h"

/* ---- canonical ABI results into caller memory (shared: src/backend/wasi/abi.c) ---- */
#include "../wasi/abi.h"

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

/* ---- WASI values ------------------------------------------------------------ */
/* The one translation of WASI errors into WASIO_E*: `code` is a
 * wasi:sockets error-code, or one of the stream-error pseudo codes below.
 * `writing` turns a closed stream into WASIO_EPIPE instead of WASIO_EOF. */
#define WASIO__WASI_STREAM_CLOSED 0x100
#define WASIO__WASI_STREAM_FAILED 0x101
int wasio__wasi_error(unsigned code, bool writing);
/* Consumes a stream-error (drops its error resource) and maps it. */
int wasio__stream_error(wasi_io_streams_stream_error_t *err, bool writing);

/* bind and listen are synchronous in wasio's API; in wasi:sockets they are
 * start/finish pairs, and finish may answer would-block. Both hosts finish
 * at once (verified: wasmtime 49, jco 1.35, IPv4 and IPv6). Rather than wait
 * (no blocking call anywhere), finish is tried up to this many times, each
 * a host call that lets an asynchronous host progress, then the call fails
 * with WASIO_EAGAIN (the would-block's mapping). The one rule for TCP bind
 * and listen and UDP bind. */
#define WASIO__WASI_FINISH_TRIES 64
/* Whether a finish-* call that failed with `e` on try `i` (from 0) is
 * made again: only after a would-block, WASIO__WASI_FINISH_TRIES in all. */
static inline bool wasio__finish_again(int i, unsigned e) {
  return e == WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK && i + 1 < WASIO__WASI_FINISH_TRIES;
}

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
void wasio__tcp_linger_ready(wasio__src_t *src);
void wasio__tcp_linger_abandon(wasio_loop_t *loop);
void wasio__udp_on_ready(wasio__src_t *src);
void wasio__dns_on_ready(wasio__src_t *src);
#ifdef WASIO_WASI_HTTP
/* http_host.c: a wasi:http pollable is ready (the object's upcall runs). */
void wasio__http_host_on_ready(wasio__src_t *src);
#endif
#ifdef WASIO_HOST_TLS
/* tls_host.c: the handshake's readiness; the end of the plaintext sending
 * side (close_notify) for tcp.c's shutdown; dropping the TLS resources of
 * a handle (children first) before its socket. */
void wasio__tcp_tls_on_ready(wasio__src_t *src);
void wasio__tcp_tls_end_send(wasio_tcp_t *tcp);
void wasio__tcp_tls_release(wasio_tcp_t *tcp);
static inline bool wasio__tcp_tls_open(const wasio_tcp_t *tcp) { return tcp->b.tls_conn.__handle != 0; }
#endif

#endif
