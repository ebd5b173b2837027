/* src/backend/wasip3/wasip3.h: what the files of the wasip3 backend share
 * (reactor.c, tcp.c, udp.c, dns.c). Not seen by the core. */
#ifndef WASIO_WASIP3_H
#define WASIO_WASIP3_H

#include "internal.h"

/* ---- waiters (reactor.c) --------------------------------------------------------
 * A waiter is born with its waitable (track) and dies before it (untrack).
 * An operation on it either finishes at once (wasio__w3_done_now, with its
 * status) or is in flight (wasio__w3_block): the waiter joins the loop's
 * waitable set and the event, when it comes, marks it done. A done waiter
 * is on the ready list until the dispatch (or its owner) consumes it. */
void wasio__w3_init(wasio__w3_t *w, wasio__w3_kind_t kind);
/* Records `handle` as w's waitable. Returns 0 or WASIO_ENOMEM. */
int wasio__w3_track(wasio_loop_t *loop, wasio__w3_t *w, uint32_t handle);
/* Before a stream or future end is dropped: takes back the operation in
 * flight on it with `cancel` (its cancel-read or cancel-write,
 * synchronously), then untracks it. */
void wasio__w3_end(wasio_loop_t *loop, wasio__w3_t *w, uint32_t (*cancel)(uint32_t));
/* Forgets w's waitable (before it is dropped); unlinks w. */
void wasio__w3_untrack(wasio_loop_t *loop, wasio__w3_t *w);
/* An operation on w is in flight: its event will mark w done. */
void wasio__w3_block(wasio_loop_t *loop, wasio__w3_t *w);
/* An operation on w finished with `code` (at once, or by its event). */
void wasio__w3_done_now(wasio_loop_t *loop, wasio__w3_t *w, uint32_t code);
/* Asks for w's dispatch without an operation (code 0), unless w is done
 * already: then its unconsumed status stays. An event's status must never
 * be lost: after an event said the other end dropped, wasmtime traps the
 * next read or write of that end. */
void wasio__w3_poke(wasio_loop_t *loop, wasio__w3_t *w);
/* Takes w off the ready list and clears `done` (its owner consumed it). */
void wasio__w3_consume(wasio__w3_t *w);
/* Before a synchronous cancel of w's operation: wasmtime traps on one
 * made while the waitable is in a set. */
void wasio__w3_leave(wasio__w3_t *w);
/* w's operation was canceled synchronously: nothing is in flight. */
void wasio__w3_idle(wasio_loop_t *loop, wasio__w3_t *w);

/* The status words of stream and future operations (the canonical ABI):
 * BLOCKED, or count << 4 | COMPLETED / DROPPED / CANCELLED. */
static inline bool wasio__w3_blocked(uint32_t st) { return st == IMPORTS_WAITABLE_STATUS_BLOCKED; }
static inline uint32_t wasio__w3_count(uint32_t st) { return IMPORTS_WAITABLE_COUNT(st); }
static inline bool wasio__w3_dropped(uint32_t st) { return IMPORTS_WAITABLE_STATE(st) == IMPORTS_WAITABLE_DROPPED; }

/* Starts an async call's bookkeeping from its status word: 0 when it
 * returned at once (w done), 1 in flight (w blocked), or WASIO_ENOMEM
 * (the subtask was canceled and dropped). A call that has not even
 * started (STARTING: the host holds on to its arguments) is waited for
 * like one in flight; every argument lives in the handle until it ends. */
int wasio__w3_call(wasio_loop_t *loop, wasio__w3_t *w, uint32_t status);
/* Ends a subtask early: cancels it if still in flight (synchronously),
 * then drops it. Returns true if it returned (its result was written)
 * before the cancel. */
bool wasio__w3_subtask_end(wasio_loop_t *loop, wasio__w3_t *w);

/* ---- canonical ABI results into caller memory (shared: src/backend/wasi/abi.c) ---- */
#include "../wasi/abi.h"

/* ---- WASI values ------------------------------------------------------------ */
/* The one translation of wasi:sockets@0.3.0 errors into WASIO_E* (an
 * `other` error's string is released). */
int wasio__wasi_error(wasi_sockets_types_error_code_t *e);
int wasio__dns_error(wasi_sockets_ip_name_lookup_error_code_t *e);
int wasio__addr_to_wasi(const wasio_addr_t *a, wasi_sockets_types_ip_socket_address_t *out);
void wasio__addr_from_wasi(const wasi_sockets_types_ip_socket_address_t *in, wasio_addr_t *out);
void wasio__ip_from_wasi(const wasi_sockets_types_ip_address_t *in, wasio_addr_t *out);
static inline uint8_t wasio__wasi_family(uint8_t family) {
  return family == WASIO_AF_INET6 ? WASI_SOCKETS_TYPES_IP_ADDRESS_FAMILY_IPV6
                                  : WASI_SOCKETS_TYPES_IP_ADDRESS_FAMILY_IPV4;
}

/* ---- the reactor, for an export that hands the wait to the host (http_incoming.c)
 * Makes the clock wake the loop by `deadline` (loop time). */
void wasio__clock_arm(wasio_loop_t *loop, uint64_t deadline);
/* One event of the loop's set (delivered to the export's callback): its
 * waiter is done. */
void wasio__event(wasio_loop_t *loop, const imports_event_t *ev);

/* ---- dispatch targets (tcp.c, udp.c, dns.c) ------------------------------------ */
void wasio__tcp_on_ready(wasio__w3_t *w);
/* tcp.c: gives the socket's `send` the stream `rd` (once per connection). */
void wasio__tcp_send_stream(wasio_tcp_t *tcp, uint32_t rd);
/* Ends a read into the connection's own buffer (tcp.c's notes), taking
 * it back if in flight (an exact cancel: the host TLS's hosts are of the
 * kind that completes copies at once); its bytes stay buffered. */
void wasio__tcp_in_settle(wasio_tcp_t *tcp);
#ifdef WASIO__BK_HOST_TLS
/* tls_host.c: the handshake's event; the end of the plaintext (its
 * future's read, its value); the TLS layer's part of a release. */
void wasio__tcp_tls_on_ready(wasio__w3_t *w);
void wasio__tcp_tls_rx_ended(wasio_tcp_t *tcp);
void wasio__tcp_tls_fin_value(wasio_tcp_t *tcp);
void wasio__tcp_tls_release(wasio_tcp_t *tcp);
#endif
void wasio__tcp_linger_ready(wasio__w3_t *w);
void wasio__tcp_linger_abandon(wasio_loop_t *loop);
void wasio__udp_on_ready(wasio__w3_t *w);
void wasio__dns_on_ready(wasio__w3_t *w);

#endif
