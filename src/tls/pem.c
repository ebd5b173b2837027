/* src/tls/pem.c: PEM text -> DER objects, with BearSSL's streaming PEM
 * decoder. Used for user CA bundles, server certificate chains and keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

/* Largest DER object accepted from PEM (a certificate or a key); more is
 * WASIO_ELIMIT rather than unbounded growth. */
#define WASIO__TLS_PEM_OBJECT_MAX 65536
#define WASIO__TLS_PEM_NAME_MAX 128

typedef struct {
  uint8_t *buf;
  size_t len, cap;
  bool too_big, oom;
} wasio__der_acc_t;

static void wasio__der_append(void *ctx, const void *data, size_t len) {
  wasio__der_acc_t *a = ctx;
  if (a->too_big || a->oom) return;
  if (len > WASIO__TLS_PEM_OBJECT_MAX - a->len) {
    a->too_big = true;
    return;
  }
  if (a->len + len > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 2048;
    while (cap < a->len + len) cap *= 2;
    if (cap > WASIO__TLS_PEM_OBJECT_MAX) cap = WASIO__TLS_PEM_OBJECT_MAX;
    uint8_t *p = wasio__realloc(a->buf, cap);
    if (p == NULL) {
      a->oom = true;
      return;
    }
    a->buf = p;
    a->cap = cap;
  }
  memcpy(a->buf + a->len, data, len);
  a->len += len;
}

int wasio__tls_pem_each(const void *pem, size_t len, wasio__tls_pem_cb cb, void *arg) {
  br_pem_decoder_context pc;
  wasio__der_acc_t acc = {0};
  char name[WASIO__TLS_PEM_NAME_MAX];
  int count = 0, rc = 0;
  bool inside = false;
  const uint8_t *p = pem;
  /* The decoder needs a newline after the last END line; files without one
   * are common, so one is pushed after the text. */
  bool tail_pushed = false;
  br_pem_decoder_init(&pc);
  while (rc == 0) {
    if (len == 0) {
      if (tail_pushed) break;
      tail_pushed = true;
      p = (const uint8_t *)"\n";
      len = 1;
    }
    size_t n = br_pem_decoder_push(&pc, p, len);
    p += n;
    len -= n;
    switch (br_pem_decoder_event(&pc)) {
    case BR_PEM_BEGIN_OBJ:
      snprintf(name, sizeof name, "%s", br_pem_decoder_name(&pc));
      acc.len = 0;
      acc.too_big = acc.oom = false;
      br_pem_decoder_setdest(&pc, wasio__der_append, &acc);
      inside = true;
      break;
    case BR_PEM_END_OBJ:
      inside = false;
      if (acc.oom) rc = WASIO_ENOMEM;
      else if (acc.too_big) rc = WASIO_ELIMIT;
      else {
        count++;
        rc = cb(arg, name, acc.buf, acc.len);
      }
      break;
    case BR_PEM_ERROR:
      rc = WASIO_ETLS_PEM;
      break;
    default:
      break;
    }
  }
  wasio__free(acc.buf);
  if (rc != 0) return rc;
  if (inside) return WASIO_ETLS_PEM; /* BEGIN without END */
  return count;
}
