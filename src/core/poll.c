/* src/core/poll.c: wasio/poll.h, a watcher on a socket descriptor of the
 * C library (libuv's uv_poll_t is the model).
 *
 * Implementation notes
 * - The policy is here once: argument checks, one open watcher per
 *   descriptor and loop, the active count (a started watcher keeps the
 *   loop alive), the callback with the ready subset, close. The backend
 *   (internal.h's wasio__bk_poll_*) only waits, and reports from phase 3
 *   with wasio__poll_ready(), at most once per watcher and turn; so a
 *   watcher gets at most one callback per turn, well inside
 *   WASIO_IO_CALLBACKS_PER_TURN, and level-triggered readiness that the
 *   callback does not consume is reported again by the next turn's wait.
 * - Stop and close tell the backend to let go of the descriptor at once
 *   (not in phase 4): the caller may close the descriptor as soon as they
 *   return, and a library that does (hiredis, curl) may get the same number
 *   for its next socket and watch it in the same turn.
 * - Readiness found by the wait but reported after a stop, or for events
 *   the watcher no longer waits for (a start in between changed them), is
 *   masked with the watcher's events here, so a stopped watcher never
 *   hears of it.
 */
#include "internal.h"

/* The open (not closing) watcher of `fd` in `loop`, or NULL. */
static wasio_poll_t *wasio__poll_find(wasio_loop_t *loop, int fd) {
  for (wasio__handle_t *h = loop->handles.next; h != &loop->handles; h = h->next) {
    if (h->kind != WASIO_KIND_POLL || wasio__handle_closing(h)) continue;
    wasio_poll_t *p = (wasio_poll_t *)h;
    if (p->fd == fd) return p;
  }
  return NULL;
}

int wasio_poll_new(wasio_loop_t *loop, int fd, wasio_poll_t **out) {
  if (loop == NULL || out == NULL || fd < 0) return WASIO_EINVAL;
  int rc = wasio__bk_poll_check(loop, fd);
  if (rc != 0) return rc;
  if (wasio__poll_find(loop, fd) != NULL) return WASIO_EBUSY;
  wasio_poll_t *p = wasio__calloc(1, sizeof *p);
  if (p == NULL) return WASIO_ENOMEM;
  wasio__handle_init(loop, &p->h, WASIO_KIND_POLL);
  p->fd = fd;
  wasio__bk_poll_init(p);
  WASIO__TRACE(p, "poll", "new fd %d", fd);
  *out = p;
  return 0;
}

int wasio_poll_start(wasio_poll_t *p, int events, wasio_poll_cb cb) {
  if (p == NULL || cb == NULL || events == 0 || (events & ~WASIO_POLL_EVENTS_ALL) != 0)
    return WASIO_EINVAL;
  if (wasio__handle_closing(&p->h)) return WASIO_ECLOSING;
  int rc = wasio__bk_poll_want(p, (unsigned)events);
  if (rc != 0) return rc;
  p->events = (uint8_t)events;
  p->cb = cb;
  wasio__handle_set_active(&p->h, true);
  WASIO__TRACE(p, "poll", "start events %d", events);
  return 0;
}

int wasio_poll_stop(wasio_poll_t *p) {
  if (p == NULL) return WASIO_EINVAL;
  if (p->events == 0) return 0;
  int rc = wasio__bk_poll_want(p, 0);
  WASIO_ASSERT(rc == 0);
  (void)rc;
  p->events = 0;
  wasio__handle_set_active(&p->h, false);
  WASIO__TRACE(p, "poll", "stop");
  return 0;
}

int wasio_poll_events(const wasio_poll_t *p) { return p->events; }
int wasio_poll_fd(const wasio_poll_t *p) { return p->fd; }

void wasio_poll_set_data(wasio_poll_t *p, void *data) { p->h.data = data; }
void *wasio_poll_data(const wasio_poll_t *p) { return p->h.data; }
wasio_loop_t *wasio_poll_loop(const wasio_poll_t *p) { return p->h.loop; }

void wasio_poll_close(wasio_poll_t *p, wasio_poll_close_cb cb) {
  if (wasio__handle_closing(&p->h)) return;
  wasio_poll_stop(p);
  wasio__handle_close(&p->h, (void (*)(void *))cb);
}

void wasio__poll_ready(wasio_poll_t *p, int status, unsigned events) {
  if (wasio__handle_closing(&p->h) || p->events == 0) return;
  if (status < 0) {
    /* The watcher cannot wait any more (its descriptor went away): it
     * stops, and says so once. */
    WASIO__TRACE(p, "poll", "failed: %s", wasio_err_name(status));
    wasio_poll_stop(p);
    p->cb(p, status, 0);
    return;
  }
  int ready = (int)events & p->events;
  if (ready == 0) return;
  p->cb(p, 0, ready);
}
