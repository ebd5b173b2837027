/* src/http/input.c: the input buffers of an HTTP connection (input.h),
 * for the client and the server alike. */
#include <string.h>

#include "internal.h" /* wasio__malloc/wasio__free (counted), WASIO_ASSERT */
#include "http/input.h"

int wasio__http_inbufs_init(wasio__http_inbufs_t *b, size_t cap, size_t keep) {
  memset(b, 0, sizeof *b);
  b->landing = wasio__malloc(cap);
  if (b->landing == NULL) return WASIO_ENOMEM;
  b->cap = cap;
  b->keep = keep;
  return 0;
}

void wasio__http_inbufs_free(wasio__http_inbufs_t *b) {
  while (b->free != NULL) {
    char *next;
    memcpy(&next, b->free, sizeof next);
    wasio__free(b->free);
    b->free = next;
  }
  b->free_len = 0;
  wasio__free(b->landing);
  b->landing = NULL;
}

/* An empty own buffer: from the free list, or new. */
static char *wasio__http_inbufs_take(wasio__http_inbufs_t *b) {
  char *p = b->free;
  if (p == NULL) return wasio__malloc(b->cap);
  memcpy(&b->free, p, sizeof b->free);
  b->free_len--;
  return p;
}

static void wasio__http_inbufs_give(wasio__http_inbufs_t *b, char *p) {
  if (b->free_len >= b->keep) {
    wasio__free(p);
    return;
  }
  memcpy(p, &b->free, sizeof b->free);
  b->free = p;
  b->free_len++;
}

void wasio__http_input_space(wasio__http_input_t *in, wasio__http_inbufs_t *b, size_t compact_at, bool discard,
                             wasio_buf_t *buf) {
  /* The stream asks again, so it holds no earlier space of ours. */
  in->lent = false;
  if (!discard && in->buf != NULL && in->in == in->buf && in->start != in->len) {
    /* Bytes wait: the next ones go after them. */
    if (in->start > 0 && b->cap - in->len < compact_at) {
      memmove(in->buf, in->buf + in->start, in->len - in->start);
      in->len -= in->start;
      in->start = 0;
    }
    in->in_landing = false;
    buf->base = in->buf + in->len;
    buf->len = b->cap - in->len;
    in->lent = buf->len > 0;
    return;
  }
  /* Nothing waits (or everything is discarded). */
  in->in_landing = true;
  buf->base = b->landing;
  buf->len = b->cap;
}

int wasio__http_input_landed(wasio__http_input_t *in, wasio__http_inbufs_t *b, size_t nread) {
  WASIO_ASSERT(nread > 0 && nread <= b->cap);
  if (!in->in_landing) {
    in->len += (uint32_t)nread; /* after the bytes that wait */
  } else if (in->start != in->len) {
    /* The landing buffer is handed out only when nothing waits, and bytes
     * come to wait only at the end of a read: cannot happen, but if it
     * did, order is kept or the caller ends the connection. */
    if (b->cap - in->len < nread) return WASIO_ENOBUFS;
    memcpy(in->in + in->len, b->landing, nread);
    in->len += (uint32_t)nread;
  } else {
    in->in = b->landing; /* consumed in place; spill keeps the rest */
    in->start = 0;
    in->len = (uint32_t)nread;
  }
  return 0;
}

int wasio__http_input_spill(wasio__http_input_t *in, wasio__http_inbufs_t *b, bool discard) {
  if (in->in == NULL || in->in != b->landing) return 0;
  size_t rest = in->len - in->start;
  const char *from = b->landing + in->start;
  in->in = in->buf;
  in->start = in->len = 0;
  if (rest == 0 || discard) return 0;
  if (in->buf == NULL) {
    in->buf = wasio__http_inbufs_take(b);
    if (in->buf == NULL) return WASIO_ENOMEM;
  }
  memcpy(in->buf, from, rest);
  in->in = in->buf;
  in->len = (uint32_t)rest;
  return 0;
}

void wasio__http_input_release(wasio__http_input_t *in, wasio__http_inbufs_t *b) {
  if (in->buf != NULL) wasio__http_inbufs_give(b, in->buf);
  in->buf = in->in = NULL;
  in->start = in->len = 0;
  in->lent = false;
}
