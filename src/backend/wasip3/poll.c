/* src/backend/wasip3/poll.c: watchers (wasio/poll.h) on the wasip3
 * backend. The descriptors of the C library are the wasip2 libc's (the
 * libc every wasio component links, docs/POSIX.md): WASI 0.2 sockets
 * whose readiness is a wasi:io/poll pollable. A WASI 0.3 waitable set
 * waits on subtasks, streams and futures only, and no call turns a 0.2
 * pollable into one of those, so this backend cannot wait on such a
 * descriptor together with its own handles: every watcher is refused with
 * WASIO_ENOTSUP (wasio_poll_new's documented answer for a descriptor the
 * backend cannot wait on). A libc whose sockets are WASI 0.3 (wasi-libc's
 * wasip3 target, which needs clang >= 22) would lift this. */
#include "wasip3.h"

int wasio__bk_poll_check(wasio_loop_t *loop, int fd) {
  (void)loop;
  (void)fd;
  return WASIO_ENOTSUP;
}

void wasio__bk_poll_init(wasio_poll_t *p) { p->b.unused = 0; }

int wasio__bk_poll_want(wasio_poll_t *p, unsigned events) {
  (void)p;
  return events == 0 ? 0 : WASIO_ENOTSUP;
}
