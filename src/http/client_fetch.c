/* src/http/client_fetch.c: wasio_http_fetch, the blocking convenience, built
 * only on the public asynchronous API (a loop, a client and one call of its
 * own), so it is also the smallest complete example of that API. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

/* First allocation for a body of unknown length; it doubles from there up
 * to max_body. */
#define WASIO__FETCH_INITIAL_BUF 16384

typedef struct wasio__fetch {
  size_t max_body;
  char *buf;
  size_t len, cap;
  int status_code;
  int status;      /* on_done's, or WASIO_ELIMIT / WASIO_ENOMEM of our own */
  int own_error;
  bool done;
} wasio__fetch_t;

/* Makes room for `need` bytes plus the final NUL. */
static int wasio__fetch_reserve(wasio__fetch_t *f, size_t need) {
  if (need >= SIZE_MAX) return WASIO_ENOMEM; /* no room for the NUL */
  if (need + 1 <= f->cap) return 0;
  size_t cap = f->cap ? f->cap : WASIO__FETCH_INITIAL_BUF;
  while (cap < need + 1) cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
  /* Never more than the body may need (max_body plus the NUL). */
  size_t limit = f->max_body < SIZE_MAX ? f->max_body + 1 : SIZE_MAX;
  if (cap > limit) cap = limit;
  char *p = realloc(f->buf, cap);
  if (p == NULL) return WASIO_ENOMEM;
  f->buf = p;
  f->cap = cap;
  return 0;
}

static void wasio__fetch_on_response(wasio_http_call_t *call, const wasio_http_response_t *res) {
  wasio__fetch_t *f = wasio_http_call_data(call);
  f->status_code = res->status;
  /* A known length is allocated once (a larger one fails below). */
  if (res->framing.has_content_length && res->framing.content_length <= f->max_body &&
      wasio__fetch_reserve(f, (size_t)res->framing.content_length) != 0) {
    f->own_error = WASIO_ENOMEM;
    wasio_http_call_cancel(call);
  }
}

static void wasio__fetch_on_body(wasio_http_call_t *call, const void *data, size_t len) {
  wasio__fetch_t *f = wasio_http_call_data(call);
  if (f->own_error != 0) return;
  if (len > f->max_body - f->len) {
    f->own_error = WASIO_ELIMIT;
    wasio_http_call_cancel(call);
    return;
  }
  if (wasio__fetch_reserve(f, f->len + len) != 0) {
    f->own_error = WASIO_ENOMEM;
    wasio_http_call_cancel(call);
    return;
  }
  memcpy(f->buf + f->len, data, len);
  f->len += len;
}

static void wasio__fetch_on_done(wasio_http_call_t *call, int status) {
  wasio__fetch_t *f = wasio_http_call_data(call);
  f->status = f->own_error != 0 ? f->own_error : status;
  f->done = true;
}

int wasio_http_fetch(const char *url, uint64_t timeout_ns, size_t max_body, int *status_code,
                     char **body, size_t *body_len) {
  if (url == NULL || status_code == NULL || body == NULL || body_len == NULL) return WASIO_EINVAL;
  wasio_loop_t *loop = NULL;
  int rc = wasio_loop_new(&loop);
  if (rc != 0) return rc;
  wasio_http_client_t *client = NULL;
  rc = wasio_http_client_new(loop, NULL, &client);
  if (rc != 0) {
    wasio_loop_close(loop);
    return rc;
  }
  wasio__fetch_t f = {.max_body = max_body};
  wasio_http_call_opts_t o = {
      .url = url,
      .max_redirects = -1,
      .timeouts = {.total_ns = timeout_ns},
      .data = &f,
      .on_response = wasio__fetch_on_response,
      .on_body = wasio__fetch_on_body,
      .on_done = wasio__fetch_on_done,
  };
  rc = wasio_http_call_start(client, &o, NULL);
  if (rc == 0) {
    while (!f.done && wasio_loop_run(loop, WASIO_RUN_ONCE) >= 0) {
    }
    rc = f.done ? f.status : WASIO_EIO;
  }
  /* Idle keep-alive connections would keep the loop alive: close them. */
  wasio_http_client_close(client, NULL);
  while (wasio_loop_run(loop, WASIO_RUN_DEFAULT) > 0) {
  }
  wasio_loop_close(loop);
  if (rc == 0 && wasio__fetch_reserve(&f, f.len) != 0) rc = WASIO_ENOMEM;
  if (rc != 0) {
    free(f.buf);
    return rc;
  }
  f.buf[f.len] = 0;
  *status_code = f.status_code;
  *body = f.buf;
  *body_len = f.len;
  return 0;
}
