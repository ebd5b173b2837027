/* wasio/poll.h: a watcher on a socket descriptor of the C library, so
 * that a library with an external-event-loop API (libcurl's multi-socket
 * interface, hiredis's async adapters, ...) runs inside wasio_loop_run
 * together with wasio's own handles and timers, in the loop's one wait per
 * turn. libuv's uv_poll_t is the model.
 *
 * The descriptor is one that socket(2)/accept(2) of the C library returned:
 * natively any socket; on wasip2 a socket of the wasip2 libc (its TCP
 * sockets, and UDP sockets), whose wasi:io pollables join the loop's one
 * wasi:io/poll call. wasio never reads, writes or closes the descriptor: it
 * only tells when it is ready, and the library does its own I/O.
 *
 * Level-triggered: in each turn in which the descriptor is ready for some
 * of the events the watcher was started for, its callback runs once (phase
 * 3, the I/O callbacks, so within WASIO_IO_CALLBACKS_PER_TURN) with the
 * ready subset. If the callback does not consume the readiness (reads
 * nothing, for instance), it runs again in the next turn. An error or a
 * hang-up on the socket is reported as the events the watcher waits for
 * (readable and/or writable), as poll(2) does, so that the library's own
 * recv/send/getsockopt(SO_ERROR) meets the error; `status` < 0 is kept for
 * failures of the watcher itself.
 *
 * One watcher per descriptor: a second open watcher on the same descriptor
 * in the same loop is refused (WASIO_EBUSY), as libuv forbids it. A watcher
 * that is closing no longer counts, so a library may close a socket and
 * watch a new one that got the same number in the same turn.
 *
 * Lifetime: as every handle (wasio/loop.h), a wasio_poll_t is valid from
 * wasio_poll_new() until its close callback has returned. Stop or close
 * the watcher BEFORE closing the descriptor: once wasio_poll_stop() or
 * wasio_poll_close() has returned, wasio no longer touches the descriptor,
 * so it may be closed (or its number reused) right away. A descriptor closed
 * while its watcher is still started (a bug of the caller) is detected on
 * wasip2, where the next turn finds it gone from the libc's table: the
 * callback gets WASIO_EINVAL once and the watcher stops. Natively epoll
 * forgets such a descriptor without a word: the watcher never fires again.
 *
 * On wasip2 only programs linked with the wasip2 libc have such sockets
 * (tools/wasio-cc --posix, -lcurl, -lhiredis).
 */
#ifndef WASIO_POLL_H
#define WASIO_POLL_H

#include <stdbool.h>
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasio_poll wasio_poll_t;

/* The events of a watcher (a bit set): the descriptor can be read without
 * blocking (data, a pending connection on a listener, the peer's end of
 * stream, an error) / written without blocking (room in the send buffer,
 * a non-blocking connect finished, successfully or not, an error). */
#define WASIO_POLL_READABLE 1
#define WASIO_POLL_WRITABLE 2
/* Every valid event bit; others make wasio_poll_start fail. */
#define WASIO_POLL_EVENTS_ALL (WASIO_POLL_READABLE | WASIO_POLL_WRITABLE)

/* status 0: `events` is the non-empty subset of the started events that is
 * ready now. status < 0 (events 0): the watcher failed and has stopped:
 * WASIO_EINVAL (the descriptor was closed, or is no longer a socket, while
 * the watcher was started), or the host's error. */
typedef void (*wasio_poll_cb)(wasio_poll_t *p, int status, int events);
typedef void (*wasio_poll_close_cb)(wasio_poll_t *p);

/* Creates a stopped watcher on socket descriptor `fd`. Returns 0 and sets
 * *out, or WASIO_EINVAL (NULL loop or out, fd < 0, fd not open),
 * WASIO_ENOTSUP (fd is open but not a socket, or, on wasip2, a socket of a
 * kind the wasip2 libc does not give pollables for), WASIO_EBUSY (another
 * open watcher of this loop watches fd), WASIO_ENOMEM. */
int wasio_poll_new(wasio_loop_t *loop, int fd, wasio_poll_t **out);

/* Starts (or changes) what the watcher waits for: `events` is a non-empty
 * set of WASIO_POLL_READABLE and WASIO_POLL_WRITABLE; cb runs as described
 * at the top of this header until wasio_poll_stop() or wasio_poll_close().
 * Starting a started watcher replaces its events and callback (the next
 * callback reports only the new events). Returns 0, or WASIO_EINVAL (NULL,
 * events 0 or with other bits, NULL cb), WASIO_ECLOSING, or the host's
 * error (the descriptor could not join the loop's wait). */
int wasio_poll_start(wasio_poll_t *p, int events, wasio_poll_cb cb);

/* Stops waiting; the callback does not run again until the next start,
 * even if readiness was already found in this turn. Idempotent. Returns 0,
 * or WASIO_EINVAL (NULL). */
int wasio_poll_stop(wasio_poll_t *p);

/* The events the watcher waits for (0 when stopped or closing). */
int wasio_poll_events(const wasio_poll_t *p);

/* The descriptor given to wasio_poll_new(). */
int wasio_poll_fd(const wasio_poll_t *p);

/* The user's pointer of the handle (wasio_poll_set_data() sets it,
 * wasio_poll_data() returns it, NULL until set) and the handle's loop
 * (wasio_poll_loop()). wasio never reads the pointer. */
void wasio_poll_set_data(wasio_poll_t *p, void *data);
void *wasio_poll_data(const wasio_poll_t *p);
wasio_loop_t *wasio_poll_loop(const wasio_poll_t *p);

/* Stops and closes; the descriptor is left open (it is yours) and may be
 * closed as soon as this returns. cb (may be NULL) runs once, in phase 4
 * of this turn, never from inside this call. Idempotent: a second call does
 * nothing. */
void wasio_poll_close(wasio_poll_t *p, wasio_poll_close_cb cb);

#ifdef __cplusplus
}
#endif
#endif
