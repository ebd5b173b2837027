/* src/backend/wasip2/reactor.c: the wasip2 reactor (phase 3 of a turn), the
 * canonical ABI allocator, the WASI error and address translations, and
 * the system services (clocks; random bytes are src/backend/wasi/abi.c's).
 *
 * Implementation notes
 * - Poll set. The pollables that currently have a waiter live in one dense
 *   array (be->polls) with a parallel array of their sources (be->srcs). A
 *   source remembers its index, so watching appends and unwatching
 *   swap-removes the last entry into the hole: O(1), and the array is passed
 *   to wasi:io/poll as it is, never rebuilt. The arrays only grow (doubling),
 *   so a steady state allocates nothing.
 * - Deadline. The core's deadline is one clock pollable
 *   (monotonic-clock subscribe-instant) kept while the deadline does not
 *   change; a second pollable, subscribe-instant(0), is ready forever and
 *   turns a poll into a non-blocking check when deferred or pending work
 *   must not wait. Loop time is the monotonic clock itself (core/loop.c), so
 *   a deadline converts to an instant unchanged.
 * - cabi_realloc: src/backend/wasi/abi.c (shared with wasip3): poll's result list
 *   lands in the loop's persistent array, a read in the caller's buffer.
 * - Dispatch. poll()'s answer is a list of indices into the poll set; they
 *   are turned into source pointers before the first callback runs, since a
 *   callback may watch or unwatch sources and so reorder the set. A source
 *   that was unwatched meanwhile is skipped. Handles are freed only in
 *   phase 4, so the pointers stay valid for the whole phase.
 */
#include <stdlib.h>
#include <string.h>

#include "wasip2.h"

/* Initial capacity of the poll set; it doubles when full. */
#define WASIO__POLL_SET_INITIAL 16

/* ---- sources ------------------------------------------------------------------- */

void wasio__src_init(wasio__src_t *src, wasio__src_kind_t kind) {
  src->pollable.__handle = 0;
  src->idx = WASIO__SRC_UNWATCHED;
  src->kind = (uint8_t)kind;
}

static int wasio__poll_set_grow(wasio__backend_loop_t *be) {
  uint32_t cap = be->cap ? be->cap * 2 : WASIO__POLL_SET_INITIAL;
  wasi_io_poll_borrow_pollable_t *polls = wasio__realloc(be->polls, cap * sizeof *polls);
  if (polls == NULL) return WASIO_ENOMEM;
  be->polls = polls;
  wasio__src_t **srcs = wasio__realloc(be->srcs, cap * sizeof *srcs);
  if (srcs == NULL) return WASIO_ENOMEM;
  be->srcs = srcs;
  wasio__src_t **ready = wasio__realloc(be->ready, cap * sizeof *ready);
  if (ready == NULL) return WASIO_ENOMEM;
  be->ready = ready;
  uint32_t *result = wasio__realloc(be->result, cap * sizeof *result);
  if (result == NULL) return WASIO_ENOMEM;
  be->result = result;
  be->cap = cap;
  return 0;
}

int wasio__src_watch(wasio_loop_t *loop, wasio__src_t *src) {
  wasio__backend_loop_t *be = &loop->backend;
  if (src->idx != WASIO__SRC_UNWATCHED) return 0;
  if (be->npolls == be->cap) {
    int err = wasio__poll_set_grow(be);
    if (err) return err;
  }
  be->polls[be->npolls] = wasi_io_poll_borrow_pollable(src->pollable);
  be->srcs[be->npolls] = src;
  src->idx = be->npolls++;
  return 0;
}

void wasio__src_unwatch(wasio_loop_t *loop, wasio__src_t *src) {
  wasio__backend_loop_t *be = &loop->backend;
  uint32_t idx = src->idx;
  if (idx == WASIO__SRC_UNWATCHED) return;
  uint32_t last = --be->npolls;
  if (idx != last) {
    be->polls[idx] = be->polls[last];
    be->srcs[idx] = be->srcs[last];
    be->srcs[idx]->idx = idx;
  }
  src->idx = WASIO__SRC_UNWATCHED;
}

void wasio__src_drop(wasio_loop_t *loop, wasio__src_t *src) {
  wasio__src_unwatch(loop, src);
  if (src->pollable.__handle != 0) {
    wasi_io_poll_pollable_drop_own(src->pollable);
    src->pollable.__handle = 0;
  }
}

/* ---- the loop ------------------------------------------------------------------- */

int wasio__backend_init(wasio_loop_t *loop) {
  wasio__backend_loop_t *be = &loop->backend;
  memset(be, 0, sizeof *be);
  wasio__src_init(&be->clock, WASIO__SRC_CLOCK);
  wasio__src_init(&be->zero, WASIO__SRC_CLOCK);
  return 0;
}

void wasio__backend_free(wasio_loop_t *loop) {
  wasio__backend_loop_t *be = &loop->backend;
  wasio__tcp_linger_abandon(loop);
  wasio__src_drop(loop, &be->clock);
  wasio__src_drop(loop, &be->zero);
  if (be->network.__handle != 0) {
    wasi_sockets_network_network_drop_own(be->network);
    be->network.__handle = 0;
  }
  wasio__free(be->polls);
  wasio__free(be->srcs);
  wasio__free(be->ready);
  wasio__free(be->result);
  wasio__free(be->stage);
  be->stage = NULL;
  be->polls = NULL;
  be->srcs = NULL;
  be->ready = NULL;
  be->result = NULL;
  be->npolls = be->cap = 0;
}

wasi_sockets_network_borrow_network_t wasio__network(wasio_loop_t *loop) {
  wasio__backend_loop_t *be = &loop->backend;
  if (be->network.__handle == 0) be->network = wasi_sockets_instance_network_instance_network();
  return wasi_sockets_network_borrow_network(be->network);
}

/* Points the deadline clock at `deadline`, re-subscribing only when the
 * deadline changed. The poll set keeps a borrowed copy of the handle, which
 * is patched in place. */
static int wasio__clock_arm(wasio_loop_t *loop, uint64_t deadline) {
  wasio__backend_loop_t *be = &loop->backend;
  wasio__src_t *c = &be->clock;
  if (!wasio__src_subscribed(c) || be->clock_deadline != deadline) {
    wasi_io_poll_own_pollable_t p = wasi_clocks_monotonic_clock_subscribe_instant(deadline);
    if (wasio__src_subscribed(c)) wasi_io_poll_pollable_drop_own(c->pollable);
    c->pollable = p;
    be->clock_deadline = deadline;
    if (wasio__src_watched(c)) be->polls[c->idx] = wasi_io_poll_borrow_pollable(p);
  }
  return wasio__src_watch(loop, c);
}

static int wasio__zero_arm(wasio_loop_t *loop) {
  wasio__src_t *z = &loop->backend.zero;
  if (!wasio__src_subscribed(z)) z->pollable = wasi_clocks_monotonic_clock_subscribe_instant(0);
  return wasio__src_watch(loop, z);
}

static void wasio__dispatch(wasio_loop_t *loop, wasio__src_t *src) {
  switch (src->kind) {
    case WASIO__SRC_CLOCK:
      /* Timers run in phase 1 of the next turn. */
      break;
    case WASIO__SRC_TCP_SOCKET:
    case WASIO__SRC_TCP_IN:
    case WASIO__SRC_TCP_OUT:
      wasio__tcp_on_ready(src);
      break;
    case WASIO__SRC_TCP_LINGER:
      wasio__tcp_linger_ready(src);
      break;
    case WASIO__SRC_UDP_IN:
    case WASIO__SRC_UDP_OUT:
      wasio__udp_on_ready(src);
      break;
    case WASIO__SRC_DNS:
      wasio__dns_on_ready(src);
      break;
    case WASIO__SRC_LIBC:
      loop->backend.poll_ops->fired(src);
      break;
#ifdef WASIO_HOST_TLS
    case WASIO__SRC_HOST_TLS:
      wasio__tcp_tls_on_ready(src);
      break;
#endif
#ifdef WASIO_WASI_HTTP
    case WASIO__SRC_HTTP_RESPONSE:
    case WASIO__SRC_HTTP_BODY_IN:
    case WASIO__SRC_HTTP_TRAILERS:
    case WASIO__SRC_HTTP_BODY_OUT:
      wasio__http_host_on_ready(src);
      break;
#endif
    default:
      break;
  }
}

bool wasio__backend_wait(wasio_loop_t *loop, uint64_t deadline) {
  wasio__backend_loop_t *be = &loop->backend;

  be->nready = 0;
  /* Watchers list their descriptors' pollables now (poll.c); one that is
   * ready already makes this wait a check. */
  if (be->poll_ops != NULL && be->poll_ops->prepare(loop)) deadline = 0;

  /* Only sources with a waiter besides the clocks? */
  uint32_t io = be->npolls - wasio__src_watched(&be->clock) - wasio__src_watched(&be->zero);
  int err = 0;
  if (deadline == 0) {
    wasio__src_unwatch(loop, &be->clock);
    /* Nothing could be ready: skip the call (a round trip on some hosts). */
    if (io == 0) {
      wasio__src_unwatch(loop, &be->zero);
      return false;
    }
    err = wasio__zero_arm(loop);
  } else {
    wasio__src_unwatch(loop, &be->zero);
    if (deadline == UINT64_MAX) {
      wasio__src_unwatch(loop, &be->clock);
    } else {
      err = wasio__clock_arm(loop, deadline);
    }
  }
  /* Without its clock a poll could sleep past the deadline (or block in a
   * NOWAIT turn): when the set cannot grow for it, skip this wait; the
   * next turn tries again. poll() traps on an empty list; the core never
   * waits forever with nothing registered, but be safe. */
  if (err != 0 || be->npolls == 0) return false;

  wasi_io_poll_list_borrow_pollable_t list = { be->polls, be->npolls };
  imports_list_u32_t ret;
  wasio__arena_set(be->result, (size_t)be->cap * sizeof *be->result);
  wasi_io_poll_poll(&list, &ret);
  wasio__arena_clear();
  loop->stats.polls++;
  loop->stats.pollables += be->npolls;

  size_t n = 0;
  for (size_t i = 0; i < ret.len; i++) {
    uint32_t idx = ret.ptr[i];
    if (idx < be->npolls) be->ready[n++] = be->srcs[idx];
  }
  wasio__abi_free(ret.ptr, ret.len * sizeof *ret.ptr);
  be->nready = n;
  return deadline != 0;
}

void wasio__backend_dispatch(wasio_loop_t *loop) {
  wasio__backend_loop_t *be = &loop->backend;
  size_t n = be->nready;
  be->nready = 0;
  for (size_t i = 0; i < n; i++) {
    wasio__src_t *src = be->ready[i];
    if (!wasio__src_watched(src)) continue;
    wasio__dispatch(loop, src);
  }
  if (be->poll_ops != NULL) be->poll_ops->report(loop);
}

uint64_t wasio__backend_monotonic_ns(void) { return wasi_clocks_monotonic_clock_now(); }

/* ---- errors ---------------------------------------------------------------------- */

int wasio__wasi_error(unsigned code, bool writing) {
  switch (code) {
    case WASI_SOCKETS_NETWORK_ERROR_CODE_ACCESS_DENIED: return WASIO_EACCES;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_NOT_SUPPORTED: return WASIO_ENOTSUP;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_INVALID_ARGUMENT: return WASIO_EINVAL;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_OUT_OF_MEMORY: return WASIO_ENOMEM;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_TIMEOUT: return WASIO_ETIMEDOUT;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_CONCURRENCY_CONFLICT: return WASIO_EBUSY;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_NOT_IN_PROGRESS: return WASIO_ESTATE;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_WOULD_BLOCK: return WASIO_EAGAIN;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_INVALID_STATE: return WASIO_ESTATE;
    /* The host's socket limit (its descriptors, e.g. EMFILE). */
    case WASI_SOCKETS_NETWORK_ERROR_CODE_NEW_SOCKET_LIMIT: return WASIO_EMFILE;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_ADDRESS_NOT_BINDABLE: return WASIO_EADDRNOTAVAIL;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_ADDRESS_IN_USE: return WASIO_EADDRINUSE;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_REMOTE_UNREACHABLE: return WASIO_EHOSTUNREACH;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_CONNECTION_REFUSED: return WASIO_ECONNREFUSED;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_CONNECTION_RESET: return WASIO_ECONNRESET;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_CONNECTION_ABORTED: return WASIO_ECONNABORTED;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_DATAGRAM_TOO_LARGE: return WASIO_EMSGSIZE;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_NAME_UNRESOLVABLE: return WASIO_ENAMENOTFOUND;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_TEMPORARY_RESOLVER_FAILURE: return WASIO_EDNSTEMP;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_PERMANENT_RESOLVER_FAILURE: return WASIO_EDNSFAIL;
    /* The stream ended: EOF for a reader, a broken pipe for a writer. */
    case WASIO__WASI_STREAM_CLOSED: return writing ? WASIO_EPIPE : WASIO_EOF;
    /* wasi:io 0.2 gives no portable code for a failed stream operation
     * (network-error-code is unstable); on a socket it means the connection
     * broke. */
    case WASIO__WASI_STREAM_FAILED: return WASIO_ECONNRESET;
    case WASI_SOCKETS_NETWORK_ERROR_CODE_UNKNOWN:
    default: return WASIO_EIO;
  }
}

int wasio__stream_error(wasi_io_streams_stream_error_t *err, bool writing) {
  if (err->tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) {
    wasi_io_error_error_drop_own(err->val.last_operation_failed);
    return wasio__wasi_error(WASIO__WASI_STREAM_FAILED, writing);
  }
  return wasio__wasi_error(WASIO__WASI_STREAM_CLOSED, writing);
}

/* ---- addresses -------------------------------------------------------------------- */

int wasio__addr_to_wasi(const wasio_addr_t *a, wasi_sockets_network_ip_socket_address_t *out) {
  memset(out, 0, sizeof *out);
  if (a->family == WASIO_AF_INET) {
    out->tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4;
    out->val.ipv4.port = a->port;
    out->val.ipv4.address.f0 = a->ip[0];
    out->val.ipv4.address.f1 = a->ip[1];
    out->val.ipv4.address.f2 = a->ip[2];
    out->val.ipv4.address.f3 = a->ip[3];
    return 0;
  }
  if (a->family == WASIO_AF_INET6) {
    uint16_t w[8];
    for (int i = 0; i < 8; i++) w[i] = (uint16_t)(a->ip[2 * i] << 8 | a->ip[2 * i + 1]);
    out->tag = WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV6;
    out->val.ipv6.port = a->port;
    out->val.ipv6.flow_info = a->flowinfo;
    out->val.ipv6.scope_id = a->scope_id;
    out->val.ipv6.address = (wasi_sockets_network_ipv6_address_t){
      w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7] };
    return 0;
  }
  return WASIO_EINVAL;
}

static void wasio__ip6_from_words(const wasi_sockets_network_ipv6_address_t *v, wasio_addr_t *out) {
  const uint16_t w[8] = { v->f0, v->f1, v->f2, v->f3, v->f4, v->f5, v->f6, v->f7 };
  for (int i = 0; i < 8; i++) {
    out->ip[2 * i] = (uint8_t)(w[i] >> 8);
    out->ip[2 * i + 1] = (uint8_t)w[i];
  }
}

void wasio__addr_from_wasi(const wasi_sockets_network_ip_socket_address_t *in, wasio_addr_t *out) {
  memset(out, 0, sizeof *out);
  if (in->tag == WASI_SOCKETS_NETWORK_IP_SOCKET_ADDRESS_IPV4) {
    out->family = WASIO_AF_INET;
    out->port = in->val.ipv4.port;
    out->ip[0] = in->val.ipv4.address.f0;
    out->ip[1] = in->val.ipv4.address.f1;
    out->ip[2] = in->val.ipv4.address.f2;
    out->ip[3] = in->val.ipv4.address.f3;
  } else {
    out->family = WASIO_AF_INET6;
    out->port = in->val.ipv6.port;
    out->flowinfo = in->val.ipv6.flow_info;
    out->scope_id = in->val.ipv6.scope_id;
    wasio__ip6_from_words(&in->val.ipv6.address, out);
  }
}

void wasio__ip_from_wasi(const wasi_sockets_network_ip_address_t *in, wasio_addr_t *out) {
  memset(out, 0, sizeof *out);
  if (in->tag == WASI_SOCKETS_NETWORK_IP_ADDRESS_IPV4) {
    out->family = WASIO_AF_INET;
    out->ip[0] = in->val.ipv4.f0;
    out->ip[1] = in->val.ipv4.f1;
    out->ip[2] = in->val.ipv4.f2;
    out->ip[3] = in->val.ipv4.f3;
  } else {
    out->family = WASIO_AF_INET6;
    wasio__ip6_from_words(&in->val.ipv6, out);
  }
}

/* ---- system services ----------------------------------------------------------------- */

uint64_t wasio_monotonic_ns(void) { return wasi_clocks_monotonic_clock_now(); }

void wasio_wall_clock(uint64_t *seconds, uint32_t *nanoseconds) {
  wasi_clocks_wall_clock_datetime_t dt;
  wasi_clocks_wall_clock_now(&dt);
  *seconds = dt.seconds;
  *nanoseconds = dt.nanoseconds;
}

