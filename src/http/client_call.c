/* src/http/client_call.c: calls (wasio_http_call_*): checking and copying
 * what the caller gives into the call's one allocation, the request head,
 * the call's deferred work (everything an API function must report later)
 * and how a call ends (on_done once, then its memory). */
#include "client_internal.h"

static void wasio__call_defer_cb(wasio_defer_t *req, int status);

/* ---- the call's state (client_internal.h draws the moves) -------------------------- */

static const char *wasio__call_state_name(int axis, unsigned v) {
  static const char *const phase[] = {"NEW", "QUEUED", "CONNECTING", "SENT", "HEAD", "BODY", "FINISHED", "DONE"};
  static const char *const upload[] = {"PULL", "WAIT", "WRITE", "WRITE_LAST", "DONE"};
  return axis == 0 ? (v < 8 ? phase[v] : "?") : (v < 5 ? upload[v] : "?");
}

void wasio__call_set_phase(wasio_http_call_t *call, wasio__call_phase_t to) {
  wasio__call_phase_t from = (wasio__call_phase_t)call->phase;
  if (from == to) return; /* an interim 1xx head: still HEAD */
  WASIO_ASSERT((to == WASIO__CALL_QUEUED &&
                (from == WASIO__CALL_NEW || from == WASIO__CALL_CONNECTING || from == WASIO__CALL_SENT ||
                 from == WASIO__CALL_HEAD || from == WASIO__CALL_BODY)) ||
               (to == WASIO__CALL_CONNECTING && from == WASIO__CALL_QUEUED) ||
               (to == WASIO__CALL_SENT && (from == WASIO__CALL_QUEUED || from == WASIO__CALL_CONNECTING)) ||
               (to == WASIO__CALL_HEAD && from == WASIO__CALL_SENT) ||
               (to == WASIO__CALL_BODY && from == WASIO__CALL_HEAD) ||
               (to == WASIO__CALL_FINISHED && from < WASIO__CALL_FINISHED) ||
               (to == WASIO__CALL_DONE && from == WASIO__CALL_FINISHED));
  /* A call in a queue has no connection; one on the wire has one; an
   * ended one has neither. */
  WASIO_ASSERT(to != WASIO__CALL_QUEUED || call->conn == NULL);
  WASIO_ASSERT((to != WASIO__CALL_SENT && to != WASIO__CALL_CONNECTING) || call->conn != NULL ||
               (to == WASIO__CALL_SENT && call->client->host));
  WASIO_ASSERT(to < WASIO__CALL_FINISHED || (call->conn == NULL && call->origin == NULL));
  WASIO__TRACE(call, "http-call", "%s -> %s", wasio__call_state_name(0, from), wasio__call_state_name(0, to));
  (void)wasio__call_state_name;
  call->phase = (uint8_t)to;
}

void wasio__call_set_upload(wasio_http_call_t *call, wasio__upload_t to) {
  wasio__upload_t from = (wasio__upload_t)call->upload;
  WASIO_ASSERT((to == WASIO__UPLOAD_PULL &&
                (from == WASIO__UPLOAD_WAIT || from == WASIO__UPLOAD_WRITE || from == WASIO__UPLOAD_DONE)) ||
               (to == WASIO__UPLOAD_WAIT && from == WASIO__UPLOAD_PULL) ||
               ((to == WASIO__UPLOAD_WRITE || to == WASIO__UPLOAD_WRITE_LAST) && from == WASIO__UPLOAD_PULL) ||
               (to == WASIO__UPLOAD_DONE && (from == WASIO__UPLOAD_PULL || from == WASIO__UPLOAD_WRITE_LAST ||
                                             (call->client->host && from == WASIO__UPLOAD_WRITE))));
  /* Only a streamed body is pulled; a new request starts from PULL. */
  WASIO_ASSERT(to == WASIO__UPLOAD_DONE || call->body_read != NULL);
  WASIO__TRACE(call, "http-call", "upload %s -> %s", wasio__call_state_name(1, from), wasio__call_state_name(1, to));
  (void)from;
  call->upload = (uint8_t)to;
}

/* ---- deferred work ------------------------------------------------------------------ */

void wasio__call_schedule(wasio_http_call_t *call, unsigned work) {
  call->work |= work;
  if (call->defer_queued) return;
  call->defer.data = call;
  /* Cannot fail: the request is ours and not queued. */
  if (wasio_defer(call->client->loop, &call->defer, wasio__call_defer_cb) == 0)
    call->defer_queued = true;
}

/* Room for the first request head and its target (wasio__call_build_head)
 * from the call's inputs alone, so that it fits in the call's allocation: an
 * upper bound, since Host's value is part of the URL and a Content-Length
 * value has at most WASIO__HTTP_DEC_MAX - 1 digits. */
static size_t wasio__head_room_len(size_t method_len, size_t url_len, size_t field_bytes, size_t num_fields) {
  size_t fields = (sizeof "Host" - 1 + url_len + 4) + field_bytes + 4 * num_fields +
                  (sizeof "Content-Length" - 1 + WASIO__HTTP_DEC_MAX - 1 + 4);
  return fields + method_len + url_len + 1 + 16 + 2 + url_len + 2;
}

/* Serialises the request head of the call's current URL, method and body
 * into the head room of the call's allocation, or into an allocation of its
 * own when it does not fit there (a redirect to a longer URL). The previous
 * head is no longer in use: the connection that wrote it was released.
 * Validation errors (a field that would inject) come from the codec's
 * writer. */
/* The fields of the current request into fields[] (room for
 * WASIO_HTTP_MAX_REQUEST_HEADERS + WASIO__HTTP_OWN_FIELDS), the caller's
 * in order and the client's own: Host (unless the caller's), and
 * Content-Length (its digits in dec, WASIO__HTTP_DEC_MAX bytes) or
 * "Transfer-Encoding: chunked". `wire` false: the fields the host gets
 * over the HOST transport, which sends Host from the authority and frames
 * a body of unknown length itself. Returns their count. */
size_t wasio__call_fields(wasio_http_call_t *call, wasio_http_header_t *fields, char *dec, bool wire) {
  size_t n = 0;
  if (!call->caller_host && wire) fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Host"), call->u.authority};
  for (size_t i = 0; i < call->num_headers; i++) fields[n++] = call->headers[i];
  bool has_body = call->body != NULL || call->body_len > 0 || call->body_read != NULL;
  if (call->body_read != NULL && call->body_length < 0) {
    if (wire) fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Transfer-Encoding"), WASIO_HTTP_STR("chunked")};
  } else {
    uint64_t len = call->body_read != NULL ? (uint64_t)call->body_length : call->body_len;
    /* RFC 9110 section 8.6: send a length when the method gives content a
     * meaning, even 0, so the server need not wait for a body. */
    bool wants = has_body || strcmp(call->method, "POST") == 0 || strcmp(call->method, "PUT") == 0 ||
                 strcmp(call->method, "PATCH") == 0;
    if (wants) {
      int dn = wasio_http_write_u64(dec, WASIO__HTTP_DEC_MAX, len); /* cannot fail: the room is the most digits */
      fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Content-Length"), {dec, dn > 0 ? (size_t)dn : 0}};
    }
  }
  return n;
}

int wasio__call_build_head(wasio_http_call_t *call) {
  wasio_http_header_t fields[WASIO_HTTP_MAX_REQUEST_HEADERS + WASIO__HTTP_OWN_FIELDS];
  size_t est = 0;
  char dec[WASIO__HTTP_DEC_MAX];
  size_t n = wasio__call_fields(call, fields, dec, true);
  for (size_t i = 0; i < n; i++) est += fields[i].name.len + fields[i].value.len + 4;
  size_t url_len = strlen(call->url);
  est += strlen(call->method) + url_len + 1 + 16 + 2;
  if (est > WASIO__HTTP_MAX_REQUEST_HEAD) return WASIO_ELIMIT;
  /* The target is written behind the head. */
  char *buf = call->head_room;
  if (est + url_len + 2 > call->head_room_len) {
    buf = wasio__malloc(est + url_len + 2);
    if (buf == NULL) return WASIO_ENOMEM;
  }
  char *target = buf + est;
  int tl = wasio_url_target(&call->u, target, url_len + 2);
  wasio_http_str_t method = {call->method, strlen(call->method)};
  int rc = tl < 0 ? tl
                  : wasio_http_write_request_head(buf, est, method, (wasio_http_str_t){target, (size_t)tl}, 1,
                                                  fields, n);
  if (rc < 0) {
    if (buf != call->head_room) wasio__free(buf);
    if (rc == WASIO_EHTTP_BAD_METHOD) return WASIO_EINVAL;
    if (rc == WASIO_ENOBUFS && tl >= 0) return WASIO_ELIMIT;
    return rc;
  }
  if (call->head != call->head_room) wasio__free(call->head);
  call->head = buf;
  call->head_len = (size_t)rc;
  call->target = (wasio_http_str_t){target, (size_t)tl};
  return 0;
}

/* fields[0..n) (n > 0) and their bytes copied into one allocation, or
 * NULL without memory. */
static wasio_http_header_t *wasio__fields_dup(const wasio_http_header_t *fields, size_t n) {
  size_t bytes = n * sizeof *fields;
  for (size_t i = 0; i < n; i++) bytes += fields[i].name.len + fields[i].value.len;
  wasio_http_header_t *t = wasio__malloc(bytes);
  if (t == NULL) return NULL;
  char *p = (char *)(t + n);
  for (size_t i = 0; i < n; i++) {
    memcpy(p, fields[i].name.ptr, fields[i].name.len);
    t[i].name = (wasio_http_str_t){p, fields[i].name.len};
    p += fields[i].name.len;
    if (fields[i].value.len) memcpy(p, fields[i].value.ptr, fields[i].value.len);
    t[i].value = (wasio_http_str_t){p, fields[i].value.len};
    p += fields[i].value.len;
  }
  return t;
}

/* Keeps the response's trailers for on_done (a copy: the input they came
 * from moves on). Returns 0 or WASIO_ENOMEM. */
int wasio__call_keep_trailers(wasio_http_call_t *call, const wasio_http_header_t *fields, size_t n) {
  wasio__free(call->trailers);
  call->trailers = n > 0 ? wasio__fields_dup(fields, n) : NULL;
  call->num_trailers = call->trailers != NULL ? n : 0;
  return n > 0 && call->trailers == NULL ? WASIO_ENOMEM : 0;
}

/* Detaches the call from queue and connection (closing the connection:
 * never reused after an error) and stops its timer. */
void wasio__call_detach(wasio_http_call_t *call) {
  if (call->client->host) wasio__call_host_release(call);
  wasio__hq_remove(&call->queue_node);
  wasio__http_conn_t *conn = call->conn;
  call->conn = NULL;
  if (conn != NULL) wasio__conn_release(conn, false);
  if (call->timer != NULL) {
    wasio__client_timer_put(call->client, call->timer);
    call->timer = NULL;
  }
  wasio__http_origin_t *o = call->origin;
  call->origin = NULL;
  wasio__call_set_phase(call, WASIO__CALL_FINISHED);
  if (o != NULL && conn == NULL && !call->client->closing) wasio__origin_maybe_free(call->client, o);
}

/* Frees the call's allocation and what a redirect or an upload added to it
 * (the one place that knows which of its pointers own memory). */
static void wasio__call_free_memory(wasio_http_call_t *call) {
  if (call->url_owned) wasio__free(call->url);
  if (call->head != call->head_room) wasio__free(call->head);
  wasio__free(call->up_buf);
  wasio__free(call->next_url);
  wasio__free(call->send_trailers);
  wasio__free(call->trailers);
  wasio__free(call);
}

static void wasio__call_free(wasio_http_call_t *call) {
  wasio_http_client_t *client = call->client;
  wasio__hq_remove(&call->client_node);
  wasio__call_free_memory(call);
  client->calls_live--;
  wasio__client_maybe_free(client);
}

/* Ends the call now: on_done, then free, unless the deferred request is
 * queued or running (its callback frees the call when it is done with it:
 * the phase is DONE). */
void wasio__call_finish(wasio_http_call_t *call, int status) {
  wasio__call_detach(call);
  call->work = 0;
  call->in_on_done = status == 0;
  call->on_done(call, status);
  call->in_on_done = false;
  wasio__call_set_phase(call, WASIO__CALL_DONE);
  if (call->defer_queued || call->in_defer) return;
  wasio__call_free(call);
}

void wasio__call_fail(wasio_http_call_t *call, int status) { wasio__call_finish(call, status); }

/* Ends the call with `status` from its deferred request, as a caller that
 * may be inside an API call must (nothing is called back from there): it
 * is detached now, on_done runs in the next turn. */
void wasio__call_end_later(wasio_http_call_t *call, int status) {
  wasio__call_detach(call);
  call->final_status = status;
  wasio__call_schedule(call, WASIO__WORK_DONE);
}

/* The work steps; each may end the call (its memory stays: in_defer). */
static void wasio__call_defer_work(wasio_http_call_t *call, unsigned work) {
  if (work & WASIO__WORK_DONE) {
    wasio__call_finish(call, call->final_status);
    return;
  }
  if (wasio__call_ended(call)) return;
  if (call->client->host) {
    /* The HOST transport's wire (client_host.c). */
    if ((work & WASIO__WORK_DISPATCH) && call->phase == WASIO__CALL_QUEUED) wasio__call_host_send(call);
    if (!wasio__call_ended(call) && (work & WASIO__WORK_UPLOAD)) wasio__call_host_upload(call);
    if (!wasio__call_ended(call) && (work & WASIO__WORK_INPUT)) wasio__call_host_input(call);
    return;
  }
  if ((work & WASIO__WORK_DISPATCH) && call->phase == WASIO__CALL_QUEUED && call->origin != NULL) {
    wasio__origin_dispatch(call->origin, call->client);
    if (wasio__call_ended(call)) return;
  }
  if ((work & WASIO__WORK_UPLOAD) && call->conn != NULL) {
    wasio__call_upload(call);
    if (wasio__call_ended(call) || call->conn == NULL) return;
  }
  if ((work & WASIO__WORK_INPUT) && call->conn != NULL && !call->paused) {
    wasio__http_conn_t *conn = call->conn;
    wasio__conn_process(conn);
    if (call->end_pending != 0 && conn->call == call && !wasio__call_ended(call) && !call->paused) {
      int end = call->end_pending;
      call->end_pending = 0;
      wasio__conn_on_read(&conn->s, end);
    }
  }
}

static void wasio__call_defer_cb(wasio_defer_t *req, int status) {
  (void)status;
  wasio_http_call_t *call = req->data;
  call->defer_queued = false;
  unsigned work = call->work;
  call->work = 0;
  if (call->phase == WASIO__CALL_DONE) {
    wasio__call_free(call); /* on_done already ran */
    return;
  }
  call->in_defer = true;
  wasio__call_defer_work(call, work);
  call->in_defer = false;
  /* Ended inside: free now, or when the request queued meanwhile runs. */
  if (call->phase == WASIO__CALL_DONE && !call->defer_queued) wasio__call_free(call);
}

static void wasio__call_timer_cb(wasio_timer_t *timer) {
  wasio_http_call_t *call = wasio_timer_data(timer);
  wasio__call_fail(call, WASIO_ETIMEDOUT);
}

static bool wasio__is_token_method(const char *m) {
  if (*m == 0) return false;
  for (const char *p = m; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
    if (!ok) return false;
  }
  return true;
}

static bool wasio__name_is(wasio_http_str_t s, const char *name) {
  size_t n = strlen(name);
  return s.len == n && strncasecmp(s.ptr, name, n) == 0;
}

/* Checks the caller's fields and counts the bytes their copy takes (the
 * array and the names and values behind it). Framing fields are the
 * client's to write (a caller's Content-Length could contradict the body:
 * request smuggling), so they are refused. */
static int wasio__headers_check(const wasio_http_call_opts_t *opts, size_t *bytes_out) {
  *bytes_out = 0;
  if (opts->num_headers == 0) return 0;
  if (opts->headers == NULL || opts->num_headers > WASIO_HTTP_MAX_REQUEST_HEADERS) return WASIO_EINVAL;
  size_t bytes = opts->num_headers * sizeof(wasio_http_header_t);
  for (size_t i = 0; i < opts->num_headers; i++) {
    const wasio_http_header_t *h = &opts->headers[i];
    if ((h->name.ptr == NULL && h->name.len) || (h->value.ptr == NULL && h->value.len)) return WASIO_EINVAL;
    if (wasio__name_is(h->name, "content-length") || wasio__name_is(h->name, "transfer-encoding"))
      return WASIO_EINVAL;
    if (bytes > WASIO__HTTP_MAX_REQUEST_HEAD) return WASIO_ELIMIT;
    bytes += h->name.len + h->value.len;
  }
  if (bytes > WASIO__HTTP_MAX_REQUEST_HEAD + opts->num_headers * sizeof(wasio_http_header_t))
    return WASIO_ELIMIT;
  *bytes_out = bytes;
  return 0;
}

/* Copies the checked fields to `to` (wasio__headers_check's bytes). */
static void wasio__call_copy_headers(wasio_http_call_t *call, const wasio_http_call_opts_t *opts,
                                     wasio_http_header_t *to) {
  if (opts->num_headers == 0) return;
  call->headers = to;
  char *p = (char *)(to + opts->num_headers);
  for (size_t i = 0; i < opts->num_headers; i++) {
    const wasio_http_header_t *h = &opts->headers[i];
    if (h->name.len) memcpy(p, h->name.ptr, h->name.len);
    to[i].name = (wasio_http_str_t){p, h->name.len};
    p += h->name.len;
    if (h->value.len) memcpy(p, h->value.ptr, h->value.len);
    to[i].value = (wasio_http_str_t){p, h->value.len};
    p += h->value.len;
    if (wasio__name_is(h->name, "host")) call->caller_host = true;
    if (wasio__name_is(h->name, "connection") && wasio_http_has_token(h->value, "close"))
      call->conn_close = true;
  }
  call->num_headers = opts->num_headers;
}

/* Checks the caller's trailers (as fields: wasio__headers_check's rule,
 * and only behind a streamed chunked body, at most WASIO_HTTP_MAX_TRAILERS,
 * no framing field nor Host, small enough for the last chunk's buffer)
 * and copies them into an allocation of the call's. */
static int wasio__call_copy_trailers(wasio_http_call_t *call, const wasio_http_call_opts_t *opts) {
  if (opts->num_trailers == 0) return 0;
  if (opts->trailers == NULL || opts->num_trailers > WASIO_HTTP_MAX_TRAILERS || opts->body_read == NULL ||
      opts->body_length != -1)
    return WASIO_EINVAL;
  size_t wire = sizeof "0\r\n\r\n";
  for (size_t i = 0; i < opts->num_trailers; i++) {
    const wasio_http_header_t *h = &opts->trailers[i];
    if ((h->name.ptr == NULL && h->name.len) || (h->value.ptr == NULL && h->value.len)) return WASIO_EINVAL;
    if (wasio__name_is(h->name, "content-length") || wasio__name_is(h->name, "transfer-encoding") ||
        wasio__name_is(h->name, "host"))
      return WASIO_EINVAL;
    if (h->name.len > WASIO__HTTP_UPLOAD_CHUNK || h->value.len > WASIO__HTTP_UPLOAD_CHUNK) return WASIO_ELIMIT;
    wire += h->name.len + h->value.len + 4;
  }
  if (wire > WASIO__HTTP_UPLOAD_CHUNK) return WASIO_ELIMIT;
  /* The writer checks names and values as it does a head's fields. */
  char *probe = wasio__malloc(wire);
  if (probe == NULL) return WASIO_ENOMEM;
  int rc = wasio_http_write_last_chunk(probe, wire, opts->trailers, opts->num_trailers);
  wasio__free(probe);
  if (rc < 0) return rc;
  call->send_trailers = wasio__fields_dup(opts->trailers, opts->num_trailers);
  if (call->send_trailers == NULL) return WASIO_ENOMEM;
  call->num_send_trailers = opts->num_trailers;
  return 0;
}

/* Over the HOST transport: a field the hosts reserve (wasio/http.h). */
static int wasio__host_fields_check(const wasio_http_call_opts_t *opts) {
  static const char *const reserved[] = WASIO__HTTP_HOST_FORBIDDEN;
  for (size_t i = 0; i < opts->num_headers; i++)
    for (size_t k = 0; k < sizeof reserved / sizeof reserved[0]; k++)
      if (wasio__name_is(opts->headers[i].name, reserved[k])) return WASIO_EHTTP_FORBIDDEN_HEADER;
  return 0;
}

/* The copied fields follow the struct: its alignment covers theirs. */
_Static_assert(sizeof(wasio_http_call_t) % _Alignof(wasio_http_header_t) == 0,
               "the fields behind the call would be misaligned");

/* One allocation per call: the struct, the caller's fields, the URL, the
 * method and the head room (wasio__head_room_len), in that order. */
int wasio_http_call_start(wasio_http_client_t *client, const wasio_http_call_opts_t *opts,
                          wasio_http_call_t **out) {
  if (client == NULL || opts == NULL || opts->url == NULL || opts->on_done == NULL) return WASIO_EINVAL;
  if (client->closing) return WASIO_ECLOSING;
  if (opts->body_read != NULL && (opts->body != NULL || opts->body_len > 0 || opts->body_length < -1))
    return WASIO_EINVAL;
  if (opts->body == NULL && opts->body_len > 0) return WASIO_EINVAL;
  if (opts->max_redirects < -1) return WASIO_EINVAL;
  bool has_body = opts->body != NULL || opts->body_len > 0 || opts->body_read != NULL;
  const char *method = opts->method != NULL ? opts->method : (has_body ? "POST" : "GET");
  if (!wasio__is_token_method(method) || strcmp(method, "CONNECT") == 0) return WASIO_EINVAL;
  size_t url_len = strlen(opts->url);
  if (url_len > WASIO_URL_MAX) return WASIO_EURL_SYNTAX;
  /* Errors are reported in the order URL, fields, head size; a method that
   * alone is over the head limit is not copied (its head never fits). */
  size_t field_bytes = 0;
  int fields_rc = wasio__headers_check(opts, &field_bytes);
  size_t method_len = strlen(method);
  bool method_fits = method_len <= WASIO__HTTP_MAX_REQUEST_HEAD;
  size_t copy_len = method_fits ? method_len : 0;
  size_t room = fields_rc == 0 && method_fits
                    ? wasio__head_room_len(method_len, url_len,
                                           field_bytes - opts->num_headers * sizeof(wasio_http_header_t),
                                           opts->num_headers)
                    : 0;
  size_t total = sizeof(wasio_http_call_t) + field_bytes + (url_len + 1) + (copy_len + 1) + room;

  wasio_http_call_t *call = wasio__malloc(total);
  if (call == NULL) return WASIO_ENOMEM;
  memset(call, 0, sizeof *call);
  call->client = client;
  wasio__hq_init(&call->queue_node);
  wasio__hq_init(&call->client_node);
  char *p = (char *)(call + 1) + field_bytes;
  call->url = p;
  memcpy(call->url, opts->url, url_len);
  call->url[url_len] = 0;
  p += url_len + 1;
  memcpy(p, method, copy_len);
  p[copy_len] = 0;
  call->method = p;
  p += copy_len + 1;
  call->head_room = p;
  call->head_room_len = room;
  int rc = wasio_url_parse(call->url, url_len, &call->u);
  if (rc == 0) rc = fields_rc;
  if (rc == 0 && !method_fits) rc = WASIO_ELIMIT;
  if (rc == 0 && client->host) rc = wasio__host_fields_check(opts);
  if (rc == 0) rc = wasio__call_copy_trailers(call, opts);
  if (rc != 0) goto fail;
  wasio__call_copy_headers(call, opts, (wasio_http_header_t *)(call + 1));
  call->head_method = strcmp(method, "HEAD") == 0;
  call->body = opts->body;
  call->body_len = opts->body_len;
  call->body_read = opts->body_read;
  call->body_length = opts->body_length;
  call->max_redirects = opts->max_redirects < 0 ? WASIO_HTTP_MAX_REDIRECTS : opts->max_redirects;
  call->to = opts->timeouts;
  call->data = opts->data;
  call->on_response = opts->on_response;
  call->on_body = opts->on_body;
  call->on_done = opts->on_done;
  rc = wasio__call_build_head(call);
  if (rc != 0) goto fail;
  uint64_t total_ns = wasio__pick(call->to.total_ns, client->to.total_ns);
  if (total_ns != 0) {
    rc = wasio__client_timer_get(client, &call->timer);
    if (rc != 0) goto fail;
    wasio_timer_set_data(call->timer, call);
    rc = wasio_timer_start(call->timer, wasio__call_timer_cb, total_ns, 0);
    if (rc != 0) goto fail;
  }
  if (client->host) wasio__call_set_phase(call, WASIO__CALL_QUEUED); /* no origin: the host pools */
  else rc = wasio__call_enqueue(call, false);
  if (rc != 0) goto fail;
  wasio__hq_insert_tail(&client->calls, &call->client_node);
  client->calls_live++;
  /* Dispatch from the next turn: this function never runs I/O. */
  wasio__call_schedule(call, WASIO__WORK_DISPATCH);
  if (out != NULL) *out = call;
  return 0;

fail:
  if (call->timer != NULL) wasio__client_timer_put(client, call->timer);
  wasio__call_free_memory(call);
  return rc;
}

int wasio_http_call_cancel(wasio_http_call_t *call) {
  if (call == NULL || wasio__call_ended(call)) return WASIO_EINVAL;
  wasio__call_end_later(call, WASIO_ECANCELED);
  return 0;
}

int wasio_http_call_pause(wasio_http_call_t *call, bool pause) {
  if (call == NULL || wasio__call_ended(call)) return WASIO_EINVAL;
  if (call->paused == pause) return 0;
  call->paused = pause;
  if (call->client->host) {
    wasio__call_host_pause(call, pause);
    return 0;
  }
  wasio__http_conn_t *conn = call->conn;
  if (conn == NULL || call->phase == WASIO__CALL_CONNECTING) return 0;
  if (pause) {
    wasio__stream_read_stop(&conn->s);
    conn->in.lent = false;
    return 0;
  }
  int rc = wasio__stream_read_start(&conn->s);
  /* The stream ended while the call was paused (the socket saw its EOF, or
   * a TLS stream failed, e.g. a truncation, with nobody reading): the call
   * learns it as a read result after the buffered bytes. */
  if (rc < 0) call->end_pending = rc;
  /* Bytes read before the pause wait in the buffer: deliver them from the
   * next turn, not from inside this call. */
  wasio__call_schedule(call, WASIO__WORK_INPUT);
  return 0;
}

int wasio_http_call_resume_upload(wasio_http_call_t *call) {
  if (call == NULL || wasio__call_ended(call) || call->body_read == NULL) return WASIO_EINVAL;
  if (call->upload != WASIO__UPLOAD_WAIT) return 0;
  wasio__call_set_upload(call, WASIO__UPLOAD_PULL);
  wasio__call_schedule(call, WASIO__WORK_UPLOAD);
  return 0;
}

void *wasio_http_call_data(const wasio_http_call_t *call) { return call->data; }

wasio_http_str_t wasio_http_call_request_head(const wasio_http_call_t *call) {
  return (wasio_http_str_t){call->head, call->head_len};
}

const char *wasio_http_call_url(const wasio_http_call_t *call) { return call->url; }

int wasio_http_call_redirects(const wasio_http_call_t *call) { return call->redirects; }

int wasio_http_call_trailers(const wasio_http_call_t *call, const wasio_http_header_t **fields, size_t *num) {
  if (call == NULL || fields == NULL || num == NULL) return WASIO_EINVAL;
  *fields = NULL;
  *num = 0;
  if (!call->in_on_done) return WASIO_ESTATE;
  *fields = call->trailers;
  *num = call->num_trailers;
  return 0;
}
