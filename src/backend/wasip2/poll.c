/* src/backend/wasip2/poll.c: the wasip2 backend's part of wasio/poll.h
 * (internal.h's wasio__bk_poll_*): the pollables of a socket descriptor of
 * the wasip2 libc join the loop's one wasi:io/poll call per turn.
 *
 * Implementation notes
 * - The libc offers no public way from a descriptor to its pollables
 *   (wasi-libc issue 542), so this file uses the libc's internal descriptor
 *   table, as its own poll(2) does, and only that: for each started watcher,
 *   once per turn before the wait, the descriptor's registration function
 *   (its vtable's poll_register) lists its pollables into a poll state
 *   whose arrays are the watcher's own (no allocation per turn); they join
 *   the reactor's set as sources of kind WASIO__SRC_LIBC, borrowed for that
 *   turn only (the libc creates them lazily and drops them with the
 *   descriptor, so none is kept across a turn, in which a callback may close
 *   the descriptor). After the wait, for each pollable that fired, the
 *   descriptor's finish function (poll_finish) runs, exactly as in the
 *   libc's poll(): that is where the libc completes a non-blocking connect
 *   (finish-connect: its socket moves to connected or connect-failed), so
 *   the library's getsockopt(SO_ERROR), recv and send that follow see the
 *   socket's true state. Both write the result into the watcher's struct
 *   pollfd; its revents become the callback's events.
 * - What is declared below is the layout of the PINNED libc, Debian's
 *   wasi-libc 0.0~git20260423.161b319-2 (the upstream snapshot that version names,
 *   libc-bottom-half/headers/private/wasi/descriptor_table.h and
 *   cloudlibc/src/libc/poll/poll.c): the descriptor table's entry (data,
 *   vtable), the vtable's slots up to poll_register and poll_finish, and the
 *   poll state (its arrays, length, capacity, count and current pollfd).
 *   Nothing else of the libc's internals is used. A new libc version may
 *   move them: docs/ARCHITECTURE.md says what to check when the pin moves,
 *   and tests/component/poll_watch.c's libc cases (a connect that succeeds,
 *   one that is refused, reading, a listener) fail if they moved.
 * - Programs without a watcher never link this file: the reactor reaches it
 *   through loop->backend.poll_ops, set when the first watcher is created.
 *   So only programs that use wasio/poll.h need the wasip2 libc (wasio-cc
 *   --posix, -lcurl, -lhiredis): its descriptor table is what they watch.
 */
#include <errno.h>

#include "wasip2.h"

/* ---- the pinned libc's internals (see the notes above) ---------------------- */
/* This file may be compiled against the headers of another libc (libwasio
 * is built once for all components), so what it needs of the pinned one is
 * spelled out here, not taken from a header: its struct pollfd, poll bits
 * and errno values (those of WASI, the same in every wasi-libc). */
struct wasio__libc_pollfd {
  int fd;
  short events;
  short revents;
};
#define WASIO__LIBC_POLLRDNORM 0x1
#define WASIO__LIBC_POLLWRNORM 0x2
#define WASIO__LIBC_POLLERR 0x1000
#define WASIO__LIBC_POLLHUP 0x2000
#define WASIO__LIBC_POLLNVAL 0x4000
struct wasio__libc_poll_state {
  wasio__libc_poll_entry_t *states;
  int32_t *pollables;          /* poll_borrow_pollable_t: a handle */
  size_t len;
  size_t cap;
  int event_count;
  struct wasio__libc_pollfd *pollfd;
};
typedef int (*wasio__libc_poll_fn)(void *data, struct wasio__libc_poll_state *state, short events);
struct wasio__libc_vtable {
  /* free, get_read_stream, get_write_stream, set_blocking, fstat, get_file,
   * seek, close_streams, fcntl_getfl, fcntl_setfl, isatty, accept4, bind,
   * connect, getsockname, getpeername, listen, recvfrom, sendto, shutdown,
   * getsockopt, setsockopt: not called here. */
  void (*unused[22])(void);
  wasio__libc_poll_fn poll_register;
  wasio__libc_poll_fn poll_finish;
};
typedef struct {
  void *data;
  const struct wasio__libc_vtable *vtable;
} wasio__libc_entry_t;
wasio__libc_entry_t *descriptor_table_get_ref(int fd);
void __wasilibc_poll_ready(struct wasio__libc_poll_state *state, short events);

_Static_assert(sizeof(((wasio__backend_poll_t *)0)->pfd) == sizeof(struct wasio__libc_pollfd),
               "the watcher's pollfd is the libc's struct pollfd");

/* The errno of the libc turned into a watcher's status. */
static int wasio__libc_err(int e) {
  switch (e) {
    case EBADF: return WASIO_EINVAL;
    case ENOMEM: return WASIO_ENOMEM;
    case ENOTSUP: return WASIO_ENOTSUP;
    default: return WASIO_EIO;
  }
}

static struct wasio__libc_poll_state wasio__poll_state(wasio_poll_t *p) {
  return (struct wasio__libc_poll_state){
    .states = p->b.entries, .pollables = p->b.handles, .len = 0,
    .cap = WASIO__POLL_LIBC_SLOTS, .event_count = 0, .pollfd = (struct wasio__libc_pollfd *)(void *)&p->b.pfd,
  };
}

static void wasio__poll_mark_ready(wasio_loop_t *loop, wasio_poll_t *p) {
  if (p->b.ready) return;
  p->b.ready = true;
  p->b.ready_next = loop->backend.poll_ready;
  loop->backend.poll_ready = p;
}

static void wasio__poll_unwatch_slots(wasio_poll_t *p) {
  for (uint8_t i = 0; i < p->b.nslots; i++) {
    wasio__src_unwatch(p->h.loop, &p->b.slots[i].src);
    p->b.slots[i].src.pollable.__handle = 0;
  }
  p->b.nslots = 0;
}

/* One watcher, before the wait: its descriptor's pollables, or readiness
 * (or a failure) known without waiting. */
static void wasio__poll_register(wasio_loop_t *loop, wasio_poll_t *p) {
  wasio__poll_unwatch_slots(p);
  p->b.pfd.fd = p->fd;
  p->b.pfd.events = (short)((p->events & WASIO_POLL_READABLE ? WASIO__LIBC_POLLRDNORM : 0) |
                            (p->events & WASIO_POLL_WRITABLE ? WASIO__LIBC_POLLWRNORM : 0));
  p->b.pfd.revents = 0;
  wasio__libc_entry_t *e = descriptor_table_get_ref(p->fd);
  if (e == NULL || e->vtable->poll_register == NULL) {
    /* Closed under the watcher (or replaced by something else). */
    p->b.fail = WASIO_EINVAL;
    wasio__poll_mark_ready(loop, p);
    return;
  }
  struct wasio__libc_poll_state st = wasio__poll_state(p);
  errno = 0;
  if (e->vtable->poll_register(e->data, &st, p->b.pfd.events) < 0) {
    p->b.fail = wasio__libc_err(errno);
    wasio__poll_mark_ready(loop, p);
    return;
  }
  for (size_t i = 0; i < st.len; i++) {
    wasio__poll_slot_t *s = &p->b.slots[i];
    s->src.pollable.__handle = p->b.handles[i];
    if (wasio__src_watch(loop, &s->src) != 0) {
      /* No memory for the poll set: try again next turn. */
      s->src.pollable.__handle = 0;
      break;
    }
    p->b.nslots = (uint8_t)(i + 1);
  }
  if (p->b.pfd.revents != 0) wasio__poll_mark_ready(loop, p);
}

static bool wasio__poll_prepare(wasio_loop_t *loop) {
  for (wasio_poll_t *p = loop->backend.watchers; p != NULL; p = p->b.next)
    wasio__poll_register(loop, p);
  return loop->backend.poll_ready != NULL;
}

static void wasio__poll_fired(wasio__src_t *src) {
  wasio__poll_slot_t *s = WASIO__CONTAINER_OF(src, wasio__poll_slot_t, src);
  wasio_poll_t *p = s->p;
  size_t i = (size_t)(s - p->b.slots);
  struct wasio__libc_poll_state st = wasio__poll_state(p);
  st.len = p->b.nslots;
  wasio__libc_entry_t *e = descriptor_table_get_ref(p->fd);
  if (e == NULL) {
    p->b.fail = WASIO_EINVAL;
  } else if (e->vtable->poll_finish != NULL) {
    /* The libc's own completion: a connect finishes here. */
    e->vtable->poll_finish(e->data, &st, p->b.entries[i].events);
  } else {
    __wasilibc_poll_ready(&st, p->b.entries[i].events);
  }
  wasio__poll_mark_ready(p->h.loop, p);
}

static void wasio__poll_report(wasio_loop_t *loop) {
  wasio_poll_t *p = loop->backend.poll_ready;
  loop->backend.poll_ready = NULL;
  /* The list is detached first: a callback may close watchers (their
   * memory lives until phase 4) or start new ones. */
  while (p != NULL) {
    wasio_poll_t *next = p->b.ready_next;
    p->b.ready = false;
    p->b.ready_next = NULL;
    int fail = p->b.fail;
    p->b.fail = 0;
    short rev = p->b.pfd.revents;
    p->b.pfd.revents = 0;
    unsigned ev = 0;
    if (rev & WASIO__LIBC_POLLRDNORM) ev |= WASIO_POLL_READABLE;
    if (rev & WASIO__LIBC_POLLWRNORM) ev |= WASIO_POLL_WRITABLE;
    if (rev & (WASIO__LIBC_POLLERR | WASIO__LIBC_POLLHUP | WASIO__LIBC_POLLNVAL)) ev |= p->events;
    wasio__poll_ready(p, fail, fail != 0 ? 0 : ev);
    p = next;
  }
}

static const wasio__poll_ops_t wasio__poll_ops = {
  .prepare = wasio__poll_prepare,
  .fired = wasio__poll_fired,
  .report = wasio__poll_report,
};

int wasio__bk_poll_check(wasio_loop_t *loop, int fd) {
  wasio__libc_entry_t *e = descriptor_table_get_ref(fd);
  if (e == NULL) return WASIO_EINVAL;
  /* In the pinned libc only its sockets (TCP, UDP) register with poll. */
  if (e->vtable->poll_register == NULL) return WASIO_ENOTSUP;
  loop->backend.poll_ops = &wasio__poll_ops;
  return 0;
}

void wasio__bk_poll_init(wasio_poll_t *p) {
  for (size_t i = 0; i < WASIO__POLL_LIBC_SLOTS; i++) {
    wasio__src_init(&p->b.slots[i].src, WASIO__SRC_LIBC);
    p->b.slots[i].p = p;
  }
}

int wasio__bk_poll_want(wasio_poll_t *p, unsigned events) {
  wasio__backend_loop_t *be = &p->h.loop->backend;
  if (events != 0 && !p->b.listed) {
    p->b.listed = true;
    p->b.prev = NULL;
    p->b.next = be->watchers;
    if (be->watchers != NULL) be->watchers->b.prev = p;
    be->watchers = p;
  } else if (events == 0 && p->b.listed) {
    p->b.listed = false;
    if (p->b.prev != NULL) p->b.prev->b.next = p->b.next;
    else be->watchers = p->b.next;
    if (p->b.next != NULL) p->b.next->b.prev = p->b.prev;
    p->b.prev = p->b.next = NULL;
    /* Let go of the libc's pollables now: the descriptor may be closed
     * (and they dropped) before the next wait. */
    wasio__poll_unwatch_slots(p);
  }
  return 0;
}
