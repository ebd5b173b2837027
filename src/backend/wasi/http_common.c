/* src/backend/wasi/http_common.c: what both WASI backends' HTTP through
 * the host (src/core/http_host.h) does the same way, over wasi:http 0.2
 * (the wasip2 backend, libwasio-http.a) or 0.3 (the wasip3 backend,
 * libwasio-p3-http.a): the one translation of a wasi:http error-code into
 * WASIO_E*, and field lists both ways. The two versions' bindings name
 * these types and calls alike (wasi_http_types_*); the one call that
 * differs is the list of every field (entries on 0.2, copy-all on 0.3),
 * WASIO__HTTP_FIELDS_ALL, which each backend's http_host.h defines.
 * Compiled into every wasm32 library, empty outside the wasi:http
 * variants (-DWASIO_WASI_HTTP).
 *
 * Implementation notes
 * - A field list lands in the caller's field buffer through the
 *   cabi_realloc arena (abi.h): the byte lists in its bytes, the list of
 *   pairs in a scratch array here (one WASI call at a time: the component
 *   is single threaded).
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "core/http_serve.h"
#include "codec/http_internal.h"
#include "abi.h"
#include "http_common.h"

#ifdef WASIO_WASI_HTTP

/* The list of (name, value) pairs of a field list lands here (the names
 * and values land in the caller's buffer); a longer list falls back to
 * the heap and is refused as too many fields. */
static wasi_http_types_tuple2_field_name_field_value_t wasio__http_pairs[WASIO_HTTP_MAX_HEADERS];

static inline wasi_http_types_borrow_fields_t wasio__fb(const wasio__bk_http_fields_t *f) {
  return wasi_http_types_borrow_fields(f->f);
}

/* ---- errors --------------------------------------------------------------------- */

int wasio__http_words(const wasio__http_word_t *w, size_t nw, const char *m, size_t n, int other) {
  for (size_t k = 0; k < nw; k++) {
    size_t wl = strlen(w[k].words);
    for (size_t i = 0; i + wl <= n; i++)
      if (memcmp(m + i, w[k].words, wl) == 0) return w[k].code;
  }
  return other;
}

/* internal-error(message): jco's preview2-shim (0.26) puts Node's error
 * message there, read for what it proves, as wasio/tls_host.h reads the
 * TLS hosts' messages; it refuses trailers on an outgoing body with
 * "trailers unsupported". Node's certificate messages ("unable to verify
 * the first certificate", "self-signed certificate in certificate chain",
 * "certificate has expired", "Hostname/IP does not match certificate's
 * altnames") name the problem; any other mention of a certificate is
 * WASIO_ETLS_CERT_INVALID. */
static const wasio__http_word_t wasio__http_internal_words[] = {
    {"trailers unsupported", WASIO_ENOTSUP},
    {"unable to verify", WASIO_ETLS_CERT_UNTRUSTED},
    {"unable to get local issuer", WASIO_ETLS_CERT_UNTRUSTED},
    {"self-signed certificate", WASIO_ETLS_CERT_SELF_SIGNED},
    {"self signed certificate", WASIO_ETLS_CERT_SELF_SIGNED},
    {"certificate has expired", WASIO_ETLS_CERT_EXPIRED},
    {"certificate is not yet valid", WASIO_ETLS_CERT_NOT_YET_VALID},
    {"does not match certificate", WASIO_ETLS_CERT_NAME},
    {"certificate", WASIO_ETLS_CERT_INVALID},
};

int wasio__bk_http_error(wasi_http_types_error_code_t *e) {
  int rc;
  switch (e->tag) {
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_TIMEOUT: rc = WASIO_ETIMEDOUT; break;
    case WASI_HTTP_TYPES_ERROR_CODE_DNS_ERROR:
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_NOT_FOUND: rc = WASIO_ENAMENOTFOUND; break;
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_UNAVAILABLE: rc = WASIO_EHOSTUNREACH; break;
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_IP_PROHIBITED: rc = WASIO_EHTTP_DENIED; break;
    case WASI_HTTP_TYPES_ERROR_CODE_DESTINATION_IP_UNROUTABLE: rc = WASIO_ENETUNREACH; break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_REFUSED: rc = WASIO_ECONNREFUSED; break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TERMINATED: rc = WASIO_ECONNRESET; break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_READ_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_WRITE_TIMEOUT:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_TIMEOUT: rc = WASIO_ETIMEDOUT; break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONNECTION_LIMIT_REACHED: rc = WASIO_EMFILE; break;
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_PROTOCOL_ERROR: rc = WASIO_ETLS; break;
    /* The host says no more than that: the certificate's problem is not
     * named (as for an OpenSSL host of wasio/tls_host.h). */
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_CERTIFICATE_ERROR: rc = WASIO_ETLS_CERT_INVALID; break;
    case WASI_HTTP_TYPES_ERROR_CODE_TLS_ALERT_RECEIVED: rc = WASIO_ETLS_ALERT; break;
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_DENIED: rc = WASIO_EHTTP_DENIED; break;
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_BODY_SIZE: rc = WASIO_EHTTP_BODY_SIZE; break;
    /* The client's own rule for a method it cannot send. */
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_METHOD_INVALID: rc = WASIO_EINVAL; break;
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_URI_INVALID: rc = WASIO_EURL_SYNTAX; break;
    /* A request the host finds too large: the client's limit error. */
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_URI_TOO_LONG:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_HEADER_SECTION_SIZE:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_HEADER_SIZE:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_TRAILER_SECTION_SIZE:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_TRAILER_SIZE:
    case WASI_HTTP_TYPES_ERROR_CODE_LOOP_DETECTED: rc = WASIO_ELIMIT; break;
    /* A response that ended before its end: the socket transport's
     * truncation (its body shorter than its Content-Length included). */
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_INCOMPLETE:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_BODY_SIZE: rc = WASIO_EHTTP_TRUNCATED; break;
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_HEADER_SECTION_SIZE:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_HEADER_SIZE:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_TRAILER_SECTION_SIZE:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_TRAILER_SIZE: rc = WASIO_EHTTP_HEADERS_TOO_LARGE; break;
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_TRANSFER_CODING: rc = WASIO_EHTTP_BAD_TRANSFER_ENCODING; break;
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_REQUEST_LENGTH_REQUIRED:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_CONTENT_CODING:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_UPGRADE_FAILED:
    case WASI_HTTP_TYPES_ERROR_CODE_HTTP_PROTOCOL_ERROR: rc = WASIO_EHTTP_PROTOCOL; break;
    case WASI_HTTP_TYPES_ERROR_CODE_INTERNAL_ERROR:
      rc = e->val.internal_error.is_some
               ? wasio__http_words(wasio__http_internal_words,
                                   sizeof wasio__http_internal_words / sizeof wasio__http_internal_words[0],
                                   (const char *)e->val.internal_error.val.ptr, e->val.internal_error.val.len,
                                   WASIO_EIO)
               : WASIO_EIO;
      break;
    case WASI_HTTP_TYPES_ERROR_CODE_CONFIGURATION_ERROR:
    default: rc = WASIO_EIO; break;
  }
  wasi_http_types_error_code_free(e);
  return rc;
}

/* ---- fields ---------------------------------------------------------------------- */

static int wasio__http_field_check(const wasio_http_header_t *h) {
  if (h->name.len == 0 || (h->name.ptr == NULL)) return WASIO_EHTTP_BAD_HEADER_NAME;
  for (size_t i = 0; i < h->name.len; i++)
    if (!wasio__http_is_tchar((unsigned char)h->name.ptr[i])) return WASIO_EHTTP_BAD_HEADER_NAME;
  if (h->value.len > 0 && h->value.ptr == NULL) return WASIO_EHTTP_BAD_HEADER_VALUE;
  for (size_t i = 0; i < h->value.len; i++)
    if (!wasio__http_is_field_byte((unsigned char)h->value.ptr[i])) return WASIO_EHTTP_BAD_HEADER_VALUE;
  return 0;
}

static int wasio__http_header_error(const wasi_http_types_header_error_t *e) {
  switch (e->tag) {
    case WASI_HTTP_TYPES_HEADER_ERROR_FORBIDDEN: return WASIO_EHTTP_FORBIDDEN_HEADER;
    case WASI_HTTP_TYPES_HEADER_ERROR_IMMUTABLE: return WASIO_ESTATE;
    /* The codec passed the field, the host did not: its rules are
     * stricter (Node's validation of values, say). */
    default: return WASIO_EHTTP_BAD_HEADER_VALUE;
  }
}

int wasio__bk_http_fields_new(const wasio_http_header_t *h, size_t n, wasio__bk_http_fields_t *out) {
  out->f.__handle = 0;
  if (n > WASIO_HTTP_MAX_HEADERS) return WASIO_ELIMIT;
  for (size_t i = 0; i < n; i++) {
    int rc = wasio__http_field_check(&h[i]);
    if (rc != 0) return rc;
    wasio__http_pairs[i].f0 = (imports_string_t){(uint8_t *)(uintptr_t)h[i].name.ptr, h[i].name.len};
    wasio__http_pairs[i].f1 = (wasi_http_types_field_value_t){(uint8_t *)(uintptr_t)h[i].value.ptr, h[i].value.len};
  }
  /* One host call for the whole list (each call is a round trip on jco). */
  wasi_http_types_list_tuple2_field_name_field_value_t list = {wasio__http_pairs, n};
  wasi_http_types_header_error_t e;
  if (!wasi_http_types_static_fields_from_list(&list, &out->f, &e)) {
    out->f.__handle = 0;
    return wasio__http_header_error(&e);
  }
  return 0;
}

void wasio__bk_http_fields_drop(wasio__bk_http_fields_t *f) {
  if (f->f.__handle != 0) wasi_http_types_fields_drop_own(f->f);
  f->f.__handle = 0;
}

/* Whether p[0..n) lies in the caller's bytes (where the arena put it). */
static bool wasio__http_in_buf(const wasio__http_fieldbuf_t *out, const uint8_t *p, size_t n) {
  const uint8_t *b = (const uint8_t *)out->bytes;
  return n == 0 || (p >= b + out->used && p + n <= b + out->cap);
}

int wasio__bk_http_fields_read(wasio__bk_http_fields_t *f, wasio__http_fieldbuf_t *out) {
  wasi_http_types_list_tuple2_field_name_field_value_t list;
  wasio__arena_set_split(out->bytes + out->used, out->cap - out->used, wasio__http_pairs, sizeof wasio__http_pairs);
  WASIO__HTTP_FIELDS_ALL(wasio__fb(f), &list);
  wasio__arena_clear();
  wasio__bk_http_fields_drop(f);
  int rc = 0;
  size_t used = out->used;
  if (list.len > out->max - out->n) rc = WASIO_EHTTP_TOO_MANY_HEADERS;
  for (size_t i = 0; i < list.len; i++) {
    wasi_http_types_tuple2_field_name_field_value_t *p = &list.ptr[i];
    /* The arena holds what fits of the caller's bytes; a piece past them
     * came from the heap: the fields are larger than the buffer. */
    if (rc == 0 && (!wasio__http_in_buf(out, p->f0.ptr, p->f0.len) || !wasio__http_in_buf(out, p->f1.ptr, p->f1.len)))
      rc = WASIO_EHTTP_HEADERS_TOO_LARGE;
    if (rc == 0) {
      out->fields[out->n++] = (wasio_http_header_t){{(const char *)p->f0.ptr, p->f0.len},
                                                    {(const char *)p->f1.ptr, p->f1.len}};
      const uint8_t *end1 = p->f0.ptr + p->f0.len, *end2 = p->f1.ptr + p->f1.len;
      size_t e1 = p->f0.len ? (size_t)(end1 - (const uint8_t *)out->bytes) : 0;
      size_t e2 = p->f1.len ? (size_t)(end2 - (const uint8_t *)out->bytes) : 0;
      if (e1 > used) used = e1;
      if (e2 > used) used = e2;
    }
    wasio__abi_free(p->f0.ptr, p->f0.len);
    wasio__abi_free(p->f1.ptr, p->f1.len);
  }
  wasio__abi_free(list.ptr, list.len * sizeof *list.ptr);
  if (rc == 0) out->used = used;
  return rc;
}

/* ---- requests ----------------------------------------------------------------- */

/* The methods wasi:http names, by their tag (RFC 9110 spelling). */
static const char *const wasio__methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE",
                                             "CONNECT", "OPTIONS", "TRACE", "PATCH"};

wasio_http_str_t wasio__http_method_name(uint8_t tag) {
  if (tag >= sizeof wasio__methods / sizeof wasio__methods[0]) return (wasio_http_str_t){"", 0};
  return (wasio_http_str_t){wasio__methods[tag], strlen(wasio__methods[tag])};
}

const char *wasio__http_unserved(char *buf, size_t cap, int status, bool ever_bound) {
  if (ever_bound) return "wasio: the HTTP server of this instance was shut down\n";
  snprintf(buf, cap,
           "wasio: main returned %d without binding an HTTP server to the host "
           "(wasio_http_server_listen in a component built with wasio-cc --http)\n",
           status);
  return buf;
}

void wasio__http_fail_code(int err, wasi_http_types_error_code_t *e) {
  memset(e, 0, sizeof *e);
  if (err == WASIO_ETIMEDOUT) {
    e->tag = WASI_HTTP_TYPES_ERROR_CODE_HTTP_RESPONSE_TIMEOUT;
    return;
  }
  const char *msg = wasio_strerror(err);
  e->tag = WASI_HTTP_TYPES_ERROR_CODE_INTERNAL_ERROR;
  e->val.internal_error.is_some = true;
  e->val.internal_error.val = (imports_string_t){(uint8_t *)(uintptr_t)msg, strlen(msg)};
}

/* The method as wasi:http's variant (a view into `m` for other methods). */
wasi_http_types_method_t wasio__http_method(wasio_http_str_t m) {
  static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (uint8_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strlen(known[i]) == m.len && memcmp(known[i], m.ptr, m.len) == 0) return (wasi_http_types_method_t){.tag = i};
  return (wasi_http_types_method_t){.tag = WASI_HTTP_TYPES_METHOD_OTHER,
                                    .val.other = {(uint8_t *)(uintptr_t)m.ptr, m.len}};
}

/* ---- the incoming request's head ----------------------------------------------------- */

/* A string result lands in the field buffer's free bytes through the
 * arena; one that did not fit came from the heap: the head is too large. */
static int wasio__incoming_str(wasio__http_fieldbuf_t *out, bool (*get)(WASIO__HTTP_IN_BORROW_T, imports_string_t *),
                               WASIO__HTTP_IN_BORROW_T rb, wasio_http_str_t *view) {
  imports_string_t s;
  *view = (wasio_http_str_t){"", 0};
  wasio__arena_set(out->bytes + out->used, out->cap - out->used);
  bool some = get(rb, &s);
  wasio__arena_clear();
  if (!some || s.len == 0) return 0;
  const char *p = (const char *)s.ptr;
  if (p < out->bytes + out->used || p + s.len > out->bytes + out->cap) {
    wasio__abi_free(s.ptr, s.len);
    return WASIO_EHTTP_HEADERS_TOO_LARGE;
  }
  *view = (wasio_http_str_t){p, s.len};
  out->used = (size_t)(p + s.len - out->bytes);
  return 0;
}

int wasio__http_incoming_head_read(WASIO__HTTP_IN_BORROW_T rb, wasio__http_incoming_head_t *head,
                                   wasio__http_fieldbuf_t *fields) {
  wasi_http_types_method_t m;
  wasio__arena_set(fields->bytes + fields->used, fields->cap - fields->used);
  WASIO__HTTP_IN_METHOD(rb, &m);
  wasio__arena_clear();
  int rc = 0;
  if (m.tag != WASI_HTTP_TYPES_METHOD_OTHER) {
    head->method = wasio__http_method_name(m.tag);
  } else {
    const char *p = (const char *)m.val.other.ptr;
    size_t n = m.val.other.len;
    if (n > 0 && (p < fields->bytes + fields->used || p + n > fields->bytes + fields->cap)) {
      wasio__abi_free(m.val.other.ptr, n);
      return WASIO_EHTTP_HEADERS_TOO_LARGE;
    }
    head->method = (wasio_http_str_t){p, n};
    if (n > 0) fields->used = (size_t)(p + n - fields->bytes);
  }
  rc = wasio__incoming_str(fields, WASIO__HTTP_IN_PATH, rb,
                           &head->path_with_query);
  if (rc == 0)
    rc = wasio__incoming_str(fields, WASIO__HTTP_IN_AUTHORITY, rb, &head->authority);
  if (rc != 0) return rc;
  /* The request's headers are its child: read and dropped at once. */
  wasio__bk_http_fields_t f = {WASIO__HTTP_IN_HEADERS(rb)};
  return wasio__bk_http_fields_read(&f, fields);
}

#endif
