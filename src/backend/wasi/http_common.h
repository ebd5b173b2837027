/* src/backend/wasi/http_common.h: what http_common.c shares with both WASI
 * backends' HTTP through the host, besides src/core/http_host.h's
 * functions (wasio__bk_http_error, _fields_*). */
#ifndef WASIO_BACKEND_WASI_HTTP_COMMON_H
#define WASIO_BACKEND_WASI_HTTP_COMMON_H

#include <stdbool.h>
#include <stddef.h>

/* Words of a host's message and the code they prove. */
typedef struct wasio__http_word {
  const char *words;
  int code;
} wasio__http_word_t;

/* The code of the first entry whose words m[0..n) contains, or `other`. */
int wasio__http_words(const wasio__http_word_t *w, size_t nw, const char *m, size_t n, int other);

/* The method as wasi:http's variant (a view into `m` for other methods).
 * Defined in the wasi:http variants only (the type is their bindings'). */
#ifdef WASIO_WASI_HTTP
#include "internal.h"
wasi_http_types_method_t wasio__http_method(wasio_http_str_t m);
/* The RFC 9110 name of a method wasi:http names by its tag (not OTHER). */
wasio_http_str_t wasio__http_method_name(uint8_t tag);
/* The text of the export's own 500 when no server is bound: main returned
 * `status` without binding one, or (ever_bound) it was shut down. Into
 * buf[0..cap) when it is formatted; returns the text. */
const char *wasio__http_unserved(char *buf, size_t cap, int status, bool ever_bound);
/* The error-code a failure set instead of a response carries (the reverse
 * of wasio__bk_http_error): a timeout is HTTP-response-timeout, anything
 * else internal-error with wasio's message for `err` (a static string:
 * nothing to free). */
void wasio__http_fail_code(int err, wasi_http_types_error_code_t *e);
/* The incoming request's method, path, authority and fields into `head`
 * and `fields` (src/core/http_serve.h's wasio__bk_http_incoming_head). */
#include "core/http_serve.h"
int wasio__http_incoming_head_read(WASIO__HTTP_IN_BORROW_T rb, wasio__http_incoming_head_t *head,
                                   wasio__http_fieldbuf_t *fields);
#endif

#endif
