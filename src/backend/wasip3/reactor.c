/* src/backend/wasip3/reactor.c: the wasip3 reactor (phase 3 of a turn over
 * one waitable set), the canonical ABI allocator, the WASI error and
 * address translations, and the clocks (random bytes: src/backend/wasi/abi.c).
 *
 * Implementation notes
 * - Waiters (backend.h). A waiter joins the loop's waitable set when an
 *   operation on it goes in flight, and stays joined until a synchronous
 *   cancel needs it out (wasmtime traps on a synchronous cancel of a
 *   waitable in a set) or its waitable is dropped. Joined waiters with
 *   nothing in flight cost nothing: no event can come for them. The set
 *   is never rebuilt; a turn costs one waitable-set.wait (or .poll) plus
 *   one .poll per further event, whatever the number of idle handles.
 * - Deadline. The core's earliest deadline is one wait-until subtask. It
 *   is kept while the deadline does not move earlier (a later one only
 *   means a spurious wakeup, after which the loop arms the clock again);
 *   an earlier one cancels it and starts another.
 * - A run of turns that must not block yields (thread.yield) every
 *   WASIO__P3_YIELD_EVERY turns, so the host's tasks progress even while
 *   some handle stays ready.
 * - Events. waitable-set.wait gives one event; the wait then drains what
 *   else is ready with waitable-set.poll (at most WASIO__P3_EVENTS_PER_TURN
 *   per turn, so that one turn stays bounded). Each event marks its
 *   waiter done and puts it on the ready list; nothing is allocated. An
 *   operation that finished at once takes the same path (the list is not
 *   empty, so the next wait is a poll).
 * - cabi_realloc (src/backend/wasi/abi.c, shared with wasip2): an async call's list
 *   result (a datagram, a lookup's addresses) is lowered when the call
 *   returns, with no arena set, so it lands in the counted heap and its
 *   reader frees it.
 */
#include <stdlib.h>
#include <string.h>

#include "wasip3.h"

/* At most this many events are taken from the set in one turn (the rest
 * wait for the next turn's poll). */
#define WASIO__P3_EVENTS_PER_TURN 1024
/* A run of turns that do not block yields to the host once every this
 * many turns (a yield costs about 0.4 us; measured with every turn
 * yielding, the p3 HTTP server fell from 1.15x to 0.82x of the p2 one). */
#define WASIO__P3_YIELD_EVERY 8

/* ---- waiters -------------------------------------------------------------------- */

static wasio__backend_loop_t *wasio__be(wasio_loop_t *loop) { return &loop->backend; }

void wasio__w3_init(wasio__w3_t *w, wasio__w3_kind_t kind) {
  memset(w, 0, sizeof *w);
  w->kind = (uint8_t)kind;
}

/* The waitable-number map (src/core/idmap.h) holds each tracked waiter
 * under its `handle`. A number freed and given out again before its old
 * waiter is untracked goes to the new waiter; the old one's untrack then
 * finds another waiter there and leaves it. */
int wasio__w3_track(wasio_loop_t *loop, wasio__w3_t *w, uint32_t handle) {
  wasio__backend_loop_t *be = wasio__be(loop);
  int rc = wasio__idmap_put(&be->waiters, handle, w);
  if (rc != 0) return rc;
  if (w->handle != 0 && w->handle != handle) wasio__idmap_del(&be->waiters, w->handle, w);
  w->handle = handle;
  w->busy = w->done = false;
  return 0;
}

static void wasio__w3_unlink(wasio__w3_t *w) {
  if (!w->listed) return;
  w->prev->next = w->next;
  w->next->prev = w->prev;
  w->prev = w->next = NULL;
  w->listed = false;
}

static void wasio__w3_set_busy(wasio_loop_t *loop, wasio__w3_t *w, bool busy) {
  if (w->busy == busy) return;
  w->busy = busy;
  if (busy) loop->backend.busy++;
  else loop->backend.busy--;
}

void wasio__w3_idle(wasio_loop_t *loop, wasio__w3_t *w) { wasio__w3_set_busy(loop, w, false); }

void wasio__w3_leave(wasio__w3_t *w) {
  if (!w->joined) return;
  imports_waitable_join(w->handle, 0);
  w->joined = false;
}

void wasio__w3_untrack(wasio_loop_t *loop, wasio__w3_t *w) {
  wasio__backend_loop_t *be = wasio__be(loop);
  wasio__w3_unlink(w);
  wasio__w3_set_busy(loop, w, false);
  w->done = false;
  if (w->handle == 0) return;
  wasio__w3_leave(w);
  wasio__idmap_del(&be->waiters, w->handle, w);
  w->handle = 0;
}

void wasio__w3_end(wasio_loop_t *loop, wasio__w3_t *w, uint32_t (*cancel)(uint32_t)) {
  if (w->busy && w->handle != 0) {
    wasio__w3_leave(w);
    (void)cancel(w->handle);
  }
  wasio__w3_untrack(loop, w);
}

void wasio__w3_block(wasio_loop_t *loop, wasio__w3_t *w) {
  if (!w->joined) {
    imports_waitable_join(w->handle, loop->backend.set);
    w->joined = true;
  }
  w->done = false;
  wasio__w3_set_busy(loop, w, true);
}

void wasio__w3_done_now(wasio_loop_t *loop, wasio__w3_t *w, uint32_t code) {
  wasio__backend_loop_t *be = wasio__be(loop);
  wasio__w3_set_busy(loop, w, false);
  w->done = true;
  w->code = code;
  if (w->listed) return;
  w->prev = be->ready.prev;
  w->next = &be->ready;
  be->ready.prev->next = w;
  be->ready.prev = w;
  w->listed = true;
}

void wasio__w3_poke(wasio_loop_t *loop, wasio__w3_t *w) {
  if (!w->done) wasio__w3_done_now(loop, w, 0);
}

void wasio__w3_consume(wasio__w3_t *w) {
  wasio__w3_unlink(w);
  w->done = false;
}

int wasio__w3_call(wasio_loop_t *loop, wasio__w3_t *w, uint32_t status) {
  uint32_t state = IMPORTS_SUBTASK_STATE(status);
  if (state == IMPORTS_SUBTASK_RETURNED) {
    wasio__idmap_del(&wasio__be(loop)->waiters, w->handle, w);
    w->handle = 0;
    wasio__w3_done_now(loop, w, IMPORTS_SUBTASK_RETURNED);
    return 0;
  }
  uint32_t sub = IMPORTS_SUBTASK_HANDLE(status);
  if (wasio__w3_track(loop, w, sub) != 0) {
    (void)imports_subtask_cancel(sub);
    imports_subtask_drop(sub);
    return WASIO_ENOMEM;
  }
  wasio__w3_block(loop, w);
  return 1;
}

bool wasio__w3_subtask_end(wasio_loop_t *loop, wasio__w3_t *w) {
  bool returned = w->done && w->code == IMPORTS_SUBTASK_RETURNED;
  if (w->handle != 0) {
    if (w->busy) {
      wasio__w3_leave(w);
      uint32_t st = imports_subtask_cancel(w->handle);
      returned = st == IMPORTS_SUBTASK_RETURNED;
    }
    uint32_t sub = w->handle;
    wasio__w3_untrack(loop, w);
    imports_subtask_drop(sub);
  } else {
    wasio__w3_untrack(loop, w);
  }
  return returned;
}

/* ---- the loop ------------------------------------------------------------------- */

int wasio__backend_init(wasio_loop_t *loop) {
  wasio__backend_loop_t *be = wasio__be(loop);
  memset(be, 0, sizeof *be);
  be->ready.prev = be->ready.next = &be->ready;
  wasio__w3_init(&be->clock, WASIO__W3_CLOCK);
  be->set = imports_waitable_set_new();
  return be->set != 0 ? 0 : WASIO_ENOMEM;
}

void wasio__backend_free(wasio_loop_t *loop) {
  wasio__backend_loop_t *be = wasio__be(loop);
  wasio__tcp_linger_abandon(loop);
#ifdef WASIO_WASI_HTTP
  wasio__http_linger_abandon(loop);
#endif
  (void)wasio__w3_subtask_end(loop, &be->clock);
  if (be->set != 0) imports_waitable_set_drop(be->set);
  be->set = 0;
  wasio__idmap_free(&be->waiters);
  wasio__free(be->stage);
  be->stage = NULL;
}

/* Makes the clock wake the loop by `deadline` (see the notes). */
void wasio__clock_arm(wasio_loop_t *loop, uint64_t deadline) {
  wasio__backend_loop_t *be = wasio__be(loop);
  wasio__w3_t *c = &be->clock;
  if (c->busy && be->clock_at <= deadline) return;
  (void)wasio__w3_subtask_end(loop, c);
  be->clock_at = deadline;
  /* Out of memory for the table: no clock; the wait becomes a poll. */
  (void)wasio__w3_call(loop, c, wasi_clocks_monotonic_clock_wait_until(deadline));
}

/* One event from the set: its waiter is done (a subtask only once it has
 * returned or was canceled). */
void wasio__event(wasio_loop_t *loop, const imports_event_t *ev) {
  wasio__backend_loop_t *be = wasio__be(loop);
  wasio__w3_t *w = wasio__idmap_get(&be->waiters, ev->waitable);
  if (w == NULL) return;
  if (ev->event == IMPORTS_EVENT_SUBTASK && ev->code < IMPORTS_SUBTASK_RETURNED) return;
  wasio__w3_done_now(loop, w, ev->code);
}

bool wasio__backend_wait(wasio_loop_t *loop, uint64_t deadline) {
  wasio__backend_loop_t *be = wasio__be(loop);
  if (be->ready.next != &be->ready) deadline = 0;
  if (deadline != 0 && deadline != UINT64_MAX) wasio__clock_arm(loop, deadline);
  if (be->ready.next != &be->ready) deadline = 0; /* the clock returned at once */
  if (be->busy == 0) return false; /* nothing can come */
  imports_event_t ev;
  if (deadline == 0) {
    /* Turns that must not block still let the host run: waitable-set.poll
     * only collects events, and the host's own tasks (a connect, the pipes
     * of the other streams) progress only while the guest is suspended, so
     * a connection that stays readable would otherwise starve the rest
     * (seen: one HTTP download took 100 MiB while the other connection got
     * 1 MB). Every WASIO__P3_YIELD_EVERY-th such turn in a row suspends the
     * task once (thread.yield). */
    if (++be->nowait_turns % WASIO__P3_YIELD_EVERY == 0) imports_thread_yield();
    imports_waitable_set_poll(be->set, &ev);
  } else {
    be->nowait_turns = 0;
    imports_waitable_set_wait(be->set, &ev);
  }
  loop->stats.polls++;
  for (int n = 0; ev.event != IMPORTS_EVENT_NONE; n++) {
    wasio__event(loop, &ev);
    if (n + 1 >= WASIO__P3_EVENTS_PER_TURN) break;
    imports_waitable_set_poll(be->set, &ev);
  }
  return deadline != 0;
}

static void wasio__dispatch(wasio__w3_t *w) {
  switch (w->kind) {
    case WASIO__W3_TCP_CONN:
    case WASIO__W3_TCP_ACCEPT:
    case WASIO__W3_TCP_IN:
    case WASIO__W3_TCP_OUT:
    case WASIO__W3_TCP_FIN:
      wasio__tcp_on_ready(w);
      break;
    case WASIO__W3_TCP_LINGER:
      wasio__tcp_linger_ready(w);
      break;
    case WASIO__W3_UDP_IN:
    case WASIO__W3_UDP_OUT:
      wasio__udp_on_ready(w);
      break;
    case WASIO__W3_DNS:
      wasio__dns_on_ready(w);
      break;
#ifdef WASIO_WASI_HTTP
    case WASIO__W3_HTTP_SEND:
    case WASIO__W3_HTTP_IN:
    case WASIO__W3_HTTP_IN_TR:
    case WASIO__W3_HTTP_OUT:
    case WASIO__W3_HTTP_OUT_TR:
      wasio__http_on_ready(w);
      break;
    case WASIO__W3_HTTP_LINGER:
      wasio__http_linger_ready(w);
      break;
    case WASIO__W3_HTTP_KICK:
      wasio__http_kick_ready(w);
      break;
#endif
#ifdef WASIO__BK_HOST_TLS
    case WASIO__W3_TCP_TLS:
      wasio__tcp_tls_on_ready(w);
      break;
#endif
    default:
      break;
  }
}

void wasio__backend_dispatch(wasio_loop_t *loop) {
  wasio__backend_loop_t *be = wasio__be(loop);
  /* The clock's subtask ended: drop it (timers run in phase 1). */
  if (be->clock.done) (void)wasio__w3_subtask_end(loop, &be->clock);
  /* What is ready now; waiters readied by these callbacks wait a turn. */
  wasio__w3_t batch;
  if (be->ready.next == &be->ready) return;
  batch.next = be->ready.next;
  batch.prev = be->ready.prev;
  batch.next->prev = &batch;
  batch.prev->next = &batch;
  be->ready.next = be->ready.prev = &be->ready;
  while (batch.next != &batch) {
    wasio__w3_t *w = batch.next;
    wasio__w3_unlink(w);
    wasio__dispatch(w);
  }
}

uint64_t wasio__backend_monotonic_ns(void) { return wasi_clocks_monotonic_clock_now(); }

/* ---- errors ---------------------------------------------------------------------- */

int wasio__wasi_error(wasi_sockets_types_error_code_t *e) {
  switch (e->tag) {
    case WASI_SOCKETS_TYPES_ERROR_CODE_ACCESS_DENIED: return WASIO_EACCES;
    case WASI_SOCKETS_TYPES_ERROR_CODE_NOT_SUPPORTED: return WASIO_ENOTSUP;
    case WASI_SOCKETS_TYPES_ERROR_CODE_INVALID_ARGUMENT: return WASIO_EINVAL;
    case WASI_SOCKETS_TYPES_ERROR_CODE_OUT_OF_MEMORY: return WASIO_ENOMEM;
    case WASI_SOCKETS_TYPES_ERROR_CODE_TIMEOUT: return WASIO_ETIMEDOUT;
    case WASI_SOCKETS_TYPES_ERROR_CODE_INVALID_STATE: return WASIO_ESTATE;
    case WASI_SOCKETS_TYPES_ERROR_CODE_ADDRESS_NOT_BINDABLE: return WASIO_EADDRNOTAVAIL;
    case WASI_SOCKETS_TYPES_ERROR_CODE_ADDRESS_IN_USE: return WASIO_EADDRINUSE;
    case WASI_SOCKETS_TYPES_ERROR_CODE_REMOTE_UNREACHABLE: return WASIO_EHOSTUNREACH;
    case WASI_SOCKETS_TYPES_ERROR_CODE_CONNECTION_REFUSED: return WASIO_ECONNREFUSED;
    case WASI_SOCKETS_TYPES_ERROR_CODE_CONNECTION_BROKEN: return WASIO_EPIPE;
    case WASI_SOCKETS_TYPES_ERROR_CODE_CONNECTION_RESET: return WASIO_ECONNRESET;
    case WASI_SOCKETS_TYPES_ERROR_CODE_CONNECTION_ABORTED: return WASIO_ECONNABORTED;
    case WASI_SOCKETS_TYPES_ERROR_CODE_DATAGRAM_TOO_LARGE: return WASIO_EMSGSIZE;
    case WASI_SOCKETS_TYPES_ERROR_CODE_OTHER:
    default:
      wasi_sockets_types_error_code_free(e);
      return WASIO_EIO;
  }
}

int wasio__dns_error(wasi_sockets_ip_name_lookup_error_code_t *e) {
  switch (e->tag) {
    case WASI_SOCKETS_IP_NAME_LOOKUP_ERROR_CODE_ACCESS_DENIED: return WASIO_EACCES;
    case WASI_SOCKETS_IP_NAME_LOOKUP_ERROR_CODE_INVALID_ARGUMENT: return WASIO_EINVAL;
    case WASI_SOCKETS_IP_NAME_LOOKUP_ERROR_CODE_NAME_UNRESOLVABLE: return WASIO_ENAMENOTFOUND;
    case WASI_SOCKETS_IP_NAME_LOOKUP_ERROR_CODE_TEMPORARY_RESOLVER_FAILURE: return WASIO_EDNSTEMP;
    case WASI_SOCKETS_IP_NAME_LOOKUP_ERROR_CODE_PERMANENT_RESOLVER_FAILURE: return WASIO_EDNSFAIL;
    default:
      wasi_sockets_ip_name_lookup_error_code_free(e);
      return WASIO_EIO;
  }
}

/* ---- addresses -------------------------------------------------------------------- */

int wasio__addr_to_wasi(const wasio_addr_t *a, wasi_sockets_types_ip_socket_address_t *out) {
  memset(out, 0, sizeof *out);
  if (a->family == WASIO_AF_INET) {
    out->tag = WASI_SOCKETS_TYPES_IP_SOCKET_ADDRESS_IPV4;
    out->val.ipv4.port = a->port;
    out->val.ipv4.address = (wasi_sockets_types_ipv4_address_t){ a->ip[0], a->ip[1], a->ip[2], a->ip[3] };
    return 0;
  }
  if (a->family == WASIO_AF_INET6) {
    uint16_t w[8];
    for (int i = 0; i < 8; i++) w[i] = (uint16_t)(a->ip[2 * i] << 8 | a->ip[2 * i + 1]);
    out->tag = WASI_SOCKETS_TYPES_IP_SOCKET_ADDRESS_IPV6;
    out->val.ipv6.port = a->port;
    out->val.ipv6.flow_info = a->flowinfo;
    out->val.ipv6.scope_id = a->scope_id;
    out->val.ipv6.address = (wasi_sockets_types_ipv6_address_t){ w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7] };
    return 0;
  }
  return WASIO_EINVAL;
}

static void wasio__ip6_from_words(const wasi_sockets_types_ipv6_address_t *v, wasio_addr_t *out) {
  const uint16_t w[8] = { v->f0, v->f1, v->f2, v->f3, v->f4, v->f5, v->f6, v->f7 };
  for (int i = 0; i < 8; i++) {
    out->ip[2 * i] = (uint8_t)(w[i] >> 8);
    out->ip[2 * i + 1] = (uint8_t)w[i];
  }
}

void wasio__addr_from_wasi(const wasi_sockets_types_ip_socket_address_t *in, wasio_addr_t *out) {
  memset(out, 0, sizeof *out);
  if (in->tag == WASI_SOCKETS_TYPES_IP_SOCKET_ADDRESS_IPV4) {
    const wasi_sockets_types_ipv4_address_t *v = &in->val.ipv4.address;
    out->family = WASIO_AF_INET;
    out->port = in->val.ipv4.port;
    out->ip[0] = v->f0;
    out->ip[1] = v->f1;
    out->ip[2] = v->f2;
    out->ip[3] = v->f3;
  } else {
    out->family = WASIO_AF_INET6;
    out->port = in->val.ipv6.port;
    out->flowinfo = in->val.ipv6.flow_info;
    out->scope_id = in->val.ipv6.scope_id;
    wasio__ip6_from_words(&in->val.ipv6.address, out);
  }
}

void wasio__ip_from_wasi(const wasi_sockets_types_ip_address_t *in, wasio_addr_t *out) {
  memset(out, 0, sizeof *out);
  if (in->tag == WASI_SOCKETS_TYPES_IP_ADDRESS_IPV4) {
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
  wasi_clocks_system_clock_instant_t t;
  wasi_clocks_system_clock_now(&t);
  *seconds = t.seconds < 0 ? 0 : (uint64_t)t.seconds;
  *nanoseconds = t.nanoseconds;
}

