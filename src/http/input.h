/* src/http/input.h: the input buffers of an HTTP connection, one policy for
 * the client and the server.
 *
 * Implementation notes
 * - Zero copies on the way in, buffers only while bytes must wait (nginx
 *   and h2o do the same): a read lands in the side's one landing buffer
 *   whenever the connection has nothing buffered, and the codec consumes it
 *   in place. Only what must wait for the next read (an incomplete head,
 *   chunk line or trailer, a request read ahead, bytes behind a pause) is
 *   copied, before the read callback returns, into a buffer of the
 *   connection's own (spill), taken from a small free list kept per side
 *   and given back once empty (release). So an idle connection holds no
 *   buffer, and in steady state a request costs no allocation.
 * - One host rule shapes this: the wasip2 backend keeps the last buffer an
 *   alloc handed out when a read came back empty and reads into it later
 *   without asking again (until reading stops), so an own buffer that was
 *   handed out is "lent" until a read returned into it or reading stopped,
 *   and is not given back meanwhile. The landing buffer may be lent to many
 *   connections at once: each read into it is consumed or copied out before
 *   its callback returns.
 * - The codec keeps offsets, not pointers, into what it has not finished,
 *   so waiting bytes may move to the front of the own buffer (compaction).
 */
#ifndef WASIO_HTTP_INPUT_H
#define WASIO_HTTP_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasio.h"

/* What one side (a client, a server) shares among its connections. */
typedef struct wasio__http_inbufs {
  char *landing;    /* where reads land while nothing waits (cap bytes) */
  char *free;       /* free own buffers, linked through their first bytes */
  size_t free_len;
  size_t cap;       /* bytes of every buffer */
  size_t keep;      /* free buffers kept (0 while the side closes) */
} wasio__http_inbufs_t;

/* The input of one connection. */
typedef struct wasio__http_input {
  char *buf;        /* its own buffer (cap bytes), or NULL */
  char *in;         /* the input: buf, or the landing buffer while a read
                       callback consumes it; NULL when neither */
  uint32_t start, len; /* unconsumed input: in[start..len) */
  bool in_landing;  /* the last space handed out was the landing buffer */
  bool lent;        /* buf was handed out for a read not yet back */
} wasio__http_input_t;

/* Allocates the landing buffer. Returns 0 or WASIO_ENOMEM. */
int wasio__http_inbufs_init(wasio__http_inbufs_t *b, size_t cap, size_t keep);
/* Frees the landing buffer and the free list (no connection uses them). */
void wasio__http_inbufs_free(wasio__http_inbufs_t *b);

/* Bytes waiting in the input. */
static inline size_t wasio__http_input_avail(const wasio__http_input_t *in) { return in->len - in->start; }
/* The first of them (NULL when none). */
static inline const char *wasio__http_input_data(const wasio__http_input_t *in) {
  return in->len != in->start ? in->in + in->start : NULL;
}

/* The stream's alloc: space after the bytes that wait in the own buffer
 * (moved to its front first when less than `compact_at` bytes are left at
 * its end), else the landing buffer; always the landing buffer when
 * `discard` (what comes is thrown away). */
void wasio__http_input_space(wasio__http_input_t *in, wasio__http_inbufs_t *b, size_t compact_at, bool discard,
                             wasio_buf_t *buf);

/* nread > 0 bytes landed in the space handed out last: they join the
 * input. Returns 0, or WASIO_ENOBUFS if they could not keep their order
 * (bytes landed in the landing buffer while others waited: the space is
 * never handed out so, but the caller ends the connection if it were). */
int wasio__http_input_landed(wasio__http_input_t *in, wasio__http_inbufs_t *b, size_t nread);

/* The end of a read callback that consumed the landing buffer: what is
 * left of it moves to the own buffer (taken from the free list, or new),
 * or is dropped when `discard`. Returns 0 or WASIO_ENOMEM. */
int wasio__http_input_spill(wasio__http_input_t *in, wasio__http_inbufs_t *b, bool discard);

/* Gives the own buffer back to the free list and empties the input. The
 * caller knows that nothing in it is needed and that the stream does not
 * hold it (reading stopped, or the stream is closed). */
void wasio__http_input_release(wasio__http_input_t *in, wasio__http_inbufs_t *b);

#endif
