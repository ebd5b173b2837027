/* src/http/client_host.c: the HOST transport of the HTTP client
 * (wasio/http.h's wasio_http_transport_t): each call handed to the host's
 * wasi:http/outgoing-handler through src/core/http_host.h, and the choice
 * of transport. Protocol logic only: the wasi:http calls are the
 * backend's (src/backend/wasip2/http_host.c).
 *
 * Implementation notes
 * - What the call shares with the socket transport is client_call.c's
 *   (the allocation, the request head and its checks, deferred work, how a
 *   call ends) and client_redirect.c's (the redirect rule); this file is
 *   only the wire: send, upload, the response head, the body, the
 *   trailers. Everything runs from loop callbacks: the deferred request
 *   (send, resume_upload, resume after a pause) and the objects' one
 *   upcall (wasio__host_ready, phase 3).
 * - One pass per upcall: a ready pollable may be the response's, the
 *   request body's or the response body's, and the upcall does whatever
 *   is possible now in that order. An object is watched only while the
 *   call wants what it gives (room for upload bytes, body bytes or the
 *   trailers): an output stream is ready whenever it has room, so
 *   watching it with nothing to write would spin.
 * - The guest's deadlines. The host gets connect, first-byte and
 *   between-bytes as request options, but hosts differ in honouring them
 *   (jco's shim sets the last two on a response nobody listens to), so the
 *   call also keeps them itself with one timer: the first-byte limit
 *   (connect_ns + first_byte_ns: the guest cannot see when the connect
 *   ended) from the start until the response head, then between_bytes_ns
 *   while the body is read and not paused. Progress (a byte in or out)
 *   only records the time; the timer, when it fires early, re-arms for
 *   what is left, so no timer moves per read.
 * - Response bytes land in the client's landing buffer (the socket
 *   transport's, unused here), and the head's fields in it too: both are
 *   views valid inside the callback, as on the socket transport. A paused
 *   call stops reading; the host holds the bytes meanwhile.
 */
#include "client_internal.h"

/* Reads of a body per upcall before the call yields to other handles
 * (the loop's per-handle budget, wasio/loop.h). */
#define WASIO__HOST_READS_PER_TURN WASIO_IO_CALLBACKS_PER_TURN

bool wasio_http_host_available(void) {
#ifdef WASIO__BK_WASI_HTTP
  return true;
#else
  return false;
#endif
}

const char *wasio_http_transport_name(wasio_http_transport_t transport) {
  switch (transport) {
    case WASIO_HTTP_TRANSPORT_AUTO: return "auto";
    case WASIO_HTTP_TRANSPORT_SOCKETS: return "sockets";
    case WASIO_HTTP_TRANSPORT_HOST: return "host";
  }
  return NULL;
}

int wasio_http_transport_resolve(wasio_http_transport_t want) {
  switch (want) {
    case WASIO_HTTP_TRANSPORT_AUTO:
      return wasio_http_host_available() ? WASIO_HTTP_TRANSPORT_HOST : WASIO_HTTP_TRANSPORT_SOCKETS;
    case WASIO_HTTP_TRANSPORT_SOCKETS: return WASIO_HTTP_TRANSPORT_SOCKETS;
    case WASIO_HTTP_TRANSPORT_HOST:
      return wasio_http_host_available() ? WASIO_HTTP_TRANSPORT_HOST : WASIO_ENOTSUP;
  }
  return WASIO_EINVAL;
}

/* The client's transport from its options: 0 and *host, or the error of
 * wasio_http_client_new (the guest's TLS options over HOST: WASIO_EINVAL). */
int wasio__client_transport(const wasio_http_client_opts_t *opts, bool *host) {
  int t = wasio_http_transport_resolve(opts != NULL ? opts->transport : WASIO_HTTP_TRANSPORT_AUTO);
  if (t < 0) return t;
  *host = t == WASIO_HTTP_TRANSPORT_HOST;
  if (*host && opts != NULL && (opts->tls != NULL || opts->tls_backend != WASIO_TLS_BACKEND_AUTO)) return WASIO_EINVAL;
  return 0;
}

#ifndef WASIO__BK_WASI_HTTP

/* No client can be HOST in these builds: never reached. */
void wasio__call_host_send(wasio_http_call_t *call) { wasio__call_fail(call, WASIO_ENOTSUP); }
void wasio__call_host_upload(wasio_http_call_t *call) { (void)call; }
void wasio__call_host_input(wasio_http_call_t *call) { (void)call; }
void wasio__call_host_pause(wasio_http_call_t *call, bool pause) {
  (void)call;
  (void)pause;
}
void wasio__call_host_release(wasio_http_call_t *call) { (void)call; }

#else

static void wasio__host_ready(void *data);
static void wasio__host_pump(wasio_http_call_t *call);
static void wasio__host_timer_cb(wasio_timer_t *timer);

/* ---- the guest's deadlines ---------------------------------------------------- */

/* The limit of the current phase (0: none). */
static uint64_t wasio__host_limit(const wasio_http_call_t *call) {
  const wasio_http_timeouts_t *c = &call->client->to;
  if (call->phase == WASIO__CALL_SENT || call->phase == WASIO__CALL_HEAD) {
    uint64_t fb = wasio__pick(call->to.first_byte_ns, c->first_byte_ns);
    return fb != 0 ? fb + wasio__pick(call->to.connect_ns, c->connect_ns) : 0;
  }
  if (call->phase == WASIO__CALL_BODY && !call->paused) return wasio__pick(call->to.between_bytes_ns, c->between_bytes_ns);
  return 0;
}

/* Arms the deadline for what is left of the current phase's limit after
 * the last progress, or stops it when there is none. */
static void wasio__host_deadline(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  if (h->timer == NULL) return;
  uint64_t limit = wasio__host_limit(call);
  if (limit == 0) {
    (void)wasio_timer_stop(h->timer);
    return;
  }
  uint64_t now = wasio_loop_now(call->client->loop);
  uint64_t idle = now - h->last_active;
  if (idle >= limit) {
    wasio__call_fail(call, WASIO_ETIMEDOUT);
    return;
  }
  /* Fails only without memory for the heap: the total timeout, if any,
   * still bounds the call. */
  (void)wasio_timer_start(h->timer, wasio__host_timer_cb, limit - idle, 0);
}

static void wasio__host_timer_cb(wasio_timer_t *timer) {
  wasio_http_call_t *call = wasio_timer_data(timer);
  if (call == NULL || wasio__call_ended(call)) return;
  wasio__host_deadline(call);
}

/* A byte moved (in or out): the deadline counts from now. */
static void wasio__host_progress(wasio_http_call_t *call) { call->host.last_active = wasio_loop_now(call->client->loop); }

/* ---- watching ------------------------------------------------------------------- */

static void wasio__host_want_out(wasio_http_call_t *call, bool on) {
  wasio__call_host_t *h = &call->host;
  if (h->wants_out == on) return;
  h->wants_out = on;
  if (wasio__bk_http_body_out_want(&h->out, on) != 0) wasio__call_fail(call, WASIO_ENOMEM);
}

static void wasio__host_want_in(wasio_http_call_t *call, bool on) {
  wasio__call_host_t *h = &call->host;
  h->wants_in = on;
  if (wasio__bk_http_body_in_want(&h->in, on) != 0) wasio__call_fail(call, WASIO_ENOMEM);
}

/* ---- sending ---------------------------------------------------------------------- */

void wasio__call_host_send(wasio_http_call_t *call) {
  wasio_http_client_t *client = call->client;
  wasio__call_host_t *h = &call->host;
  wasio_loop_t *loop = client->loop;
  wasio__bk_http_request_init(&h->req, loop, wasio__host_ready, call);
  wasio__bk_http_body_out_init(&h->out, loop, wasio__host_ready, call);
  wasio__bk_http_body_in_init(&h->in, loop, wasio__host_ready, call);
  h->piece = NULL;
  h->piece_len = h->piece_off = 0;
  h->finishing = h->wants_out = h->wants_in = false;
  call->head_method = strcmp(call->method, "HEAD") == 0;
  call->up_sent = 0;
  call->up_pulled = false;
  call->upload = WASIO__UPLOAD_PULL; /* a new request: nothing of its body sent */

  wasio_http_header_t fields[WASIO_HTTP_MAX_REQUEST_HEADERS + WASIO__HTTP_OWN_FIELDS];
  char dec[WASIO__HTTP_DEC_MAX];
  size_t n = wasio__call_fields(call, fields, dec, false);
  wasio__bk_http_fields_t hf;
  int rc = wasio__bk_http_fields_new(fields, n, &hf);
  if (rc != 0) {
    wasio__call_fail(call, rc);
    return;
  }
  bool has_body = call->body != NULL || call->body_len > 0 || call->body_read != NULL;
  const wasio_http_timeouts_t *c = &client->to;
  wasio__http_request_spec_t spec = {
      .method = {call->method, strlen(call->method)},
      .https = call->u.https,
      .authority = call->u.authority,
      .path_with_query = call->target,
      .headers = &hf,
      .has_body = has_body,
      .connect_ns = wasio__pick(call->to.connect_ns, c->connect_ns),
      .first_byte_ns = wasio__pick(call->to.first_byte_ns, c->first_byte_ns),
      .between_bytes_ns = wasio__pick(call->to.between_bytes_ns, c->between_bytes_ns),
  };
  rc = wasio__bk_http_request_send(&h->req, &spec, &h->out);
  if (rc != 0) {
    wasio__call_fail(call, rc);
    return;
  }
  wasio__call_set_phase(call, WASIO__CALL_SENT);
  if (!has_body) {
    wasio__call_set_upload(call, WASIO__UPLOAD_DONE);
  } else if (call->body_read == NULL) {
    h->piece = call->body; /* a buffer body is written from the caller's memory */
    h->piece_len = call->body_len;
  }
  wasio__host_progress(call);
  /* The guest's deadline (the notes): one timer per call, taken when a
   * phase of the call has a limit. */
  if (h->timer == NULL &&
      (wasio__host_limit(call) != 0 || wasio__pick(call->to.between_bytes_ns, c->between_bytes_ns) != 0)) {
    if (wasio__client_timer_get(client, &h->timer) != 0) {
      wasio__call_fail(call, WASIO_ENOMEM);
      return;
    }
    wasio_timer_set_data(h->timer, call);
  }
  wasio__host_deadline(call);
  if (has_body) wasio__call_host_upload(call);
}

/* ---- the request body --------------------------------------------------------------- */

/* Pulls the next piece of a streamed body into up_buf: true when there is
 * a piece (or the end) to go on with, false when the call waits or
 * ended. */
static bool wasio__host_pull(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  if (call->upload == WASIO__UPLOAD_WAIT) return false;
  if (call->up_buf == NULL) {
    call->up_buf = wasio__malloc(WASIO__HTTP_CHUNK_PREFIX + WASIO__HTTP_UPLOAD_CHUNK + WASIO__HTTP_CHUNK_SUFFIX);
    if (call->up_buf == NULL) {
      wasio__call_fail(call, WASIO_ENOMEM);
      return false;
    }
  }
  bool chunked = call->body_length < 0;
  size_t cap = WASIO__HTTP_UPLOAD_CHUNK;
  if (!chunked && (uint64_t)call->body_length - call->up_sent < cap)
    cap = (size_t)((uint64_t)call->body_length - call->up_sent);
  ptrdiff_t n = 0;
  if (cap > 0 || chunked) {
    call->up_pulled = true;
    n = call->body_read(call, call->up_buf, cap);
    if (wasio__call_ended(call)) return false; /* canceled from inside, or the client closed */
  }
  if (n == WASIO_EAGAIN) {
    wasio__call_set_upload(call, WASIO__UPLOAD_WAIT);
    return false;
  }
  if (n < 0 || (size_t)n > cap) {
    wasio__call_fail(call, n < 0 ? (int)n : WASIO_EINVAL);
    return false;
  }
  if (n == 0) {
    if (!chunked && call->up_sent != (uint64_t)call->body_length) {
      wasio__call_fail(call, WASIO_EINVAL); /* shorter than announced, as on the socket transport */
      return false;
    }
    h->finishing = true;
    wasio__call_set_upload(call, WASIO__UPLOAD_WRITE_LAST);
    return true;
  }
  call->up_sent += (uint64_t)n;
  h->piece = call->up_buf;
  h->piece_len = (size_t)n;
  h->piece_off = 0;
  wasio__call_set_upload(call, WASIO__UPLOAD_WRITE);
  return true;
}

/* The host refused more of the body (a write or the finish failed: its
 * stream closed or broke). A server may answer before it took the body (a
 * redirect, an error status), and the host then closes the body's stream;
 * so, as on the socket transport, that alone does not end the call: the
 * body is abandoned (the host sees it fail, never end short but whole)
 * and the response decides, its failure being the host's word for what
 * went wrong. */
static void wasio__host_upload_failed(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  wasio__bk_http_body_out_release(&h->out);
  h->wants_out = false;
  h->finishing = false;
  h->piece_off = h->piece_len;
  wasio__call_set_upload(call, WASIO__UPLOAD_DONE);
}

/* Finishes the body with the caller's trailers: true once done. */
static bool wasio__host_finish(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  wasio__bk_http_fields_t tf = {0};
  if (call->num_send_trailers > 0) {
    int rc = wasio__bk_http_fields_new(call->send_trailers, call->num_send_trailers, &tf);
    if (rc != 0) {
      wasio__call_fail(call, rc);
      return false;
    }
  }
  int rc = wasio__bk_http_body_out_finish(&h->out, call->num_send_trailers > 0 ? &tf : NULL);
  if (rc == WASIO_EAGAIN) {
    wasio__host_want_out(call, true); /* the flush: asked again when it is done */
    return false;
  }
  h->wants_out = false; /* finish released the body and its pollable */
  /* A host that cannot send trailers says so: the caller's request is
   * not what it asked for, so that ends the call. */
  if (rc == WASIO_ENOTSUP) {
    wasio__call_fail(call, rc);
    return false;
  }
  if (rc != 0) {
    wasio__host_upload_failed(call);
    return false;
  }
  if (call->upload != WASIO__UPLOAD_DONE) wasio__call_set_upload(call, WASIO__UPLOAD_DONE);
  return true;
}

void wasio__call_host_upload(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  while (!wasio__call_ended(call) && call->upload != WASIO__UPLOAD_DONE) {
    if (h->finishing) {
      wasio__host_finish(call);
      return;
    }
    if (h->piece_off < h->piece_len) {
      ptrdiff_t n = wasio__bk_http_body_out_write(&h->out, h->piece + h->piece_off, h->piece_len - h->piece_off);
      if (n < 0) {
        wasio__host_upload_failed(call);
        return;
      }
      if (n == 0) {
        wasio__host_want_out(call, true);
        return;
      }
      h->piece_off += (size_t)n;
      wasio__host_progress(call);
      continue;
    }
    /* The piece was taken whole. */
    if (call->body_read == NULL) {
      h->finishing = true; /* a buffer body is one piece */
      continue;
    }
    if (call->upload == WASIO__UPLOAD_WRITE) wasio__call_set_upload(call, WASIO__UPLOAD_PULL);
    if (!wasio__host_pull(call)) break;
  }
  /* Waiting for the caller (or done): nothing to watch for room. */
  if (!wasio__call_ended(call)) wasio__host_want_out(call, false);
}

/* ---- the response -------------------------------------------------------------------- */

/* A Content-Length value: 1*DIGIT within uint64, or -1. */
static int64_t wasio__host_length(wasio_http_str_t v) {
  if (v.len == 0 || v.len > WASIO_HTTP_U64_DIGITS - 1) return -1;
  int64_t n = 0;
  for (size_t i = 0; i < v.len; i++) {
    if (v.ptr[i] < '0' || v.ptr[i] > '9') return -1;
    n = n * 10 + (v.ptr[i] - '0');
  }
  return n;
}

/* The head the callbacks see, rebuilt from the host's status and fields
 * (wasio/http.h says what it holds over HOST). */
static void wasio__host_head(wasio_http_call_t *call, int status, size_t nfields) {
  wasio_http_response_t *res = &call->client->res;
  res->version_minor = 1;
  res->status = status;
  const char *reason = wasio_http_reason(status);
  res->reason = (wasio_http_str_t){reason, strlen(reason)};
  res->num_headers = nfields;
  memset(&res->framing, 0, sizeof res->framing);
  size_t pos = 0;
  int cl = wasio_http_find_header(res->headers, nfields, "content-length", &pos);
  int64_t len = cl >= 0 ? wasio__host_length(res->headers[cl].value) : -1;
  if (len >= 0) {
    res->framing.has_content_length = true;
    res->framing.content_length = (uint64_t)len;
  }
  pos = 0;
  int te = wasio_http_find_header(res->headers, nfields, "transfer-encoding", &pos);
  bool no_body = call->head_method || status == 204 || status == 304 || status < 200;
  if (no_body || len == 0) res->framing.body = WASIO_HTTP_BODY_NONE;
  else if (len > 0) res->framing.body = WASIO_HTTP_BODY_LENGTH;
  else if (te >= 0 && wasio_http_has_token(res->headers[te].value, "chunked")) res->framing.body = WASIO_HTTP_BODY_CHUNKED;
  else res->framing.body = WASIO_HTTP_BODY_CLOSE;
}

/* The response head, once the host has it. */
static void wasio__host_response(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  wasio_http_client_t *client = call->client;
  wasio__http_fieldbuf_t fb = {
      .fields = client->res.headers, .max = WASIO_HTTP_MAX_HEADERS, .bytes = client->bufs.landing,
      .cap = WASIO_HTTP_MAX_HEAD};
  int status = 0;
  int rc = wasio__bk_http_response_take(&h->req, &status, &fb, &h->in);
  if (rc == WASIO_EAGAIN) return;
  if (rc != 0) {
    wasio__call_fail(call, rc);
    return;
  }
  wasio__call_set_phase(call, WASIO__CALL_HEAD);
  wasio__host_progress(call);
  wasio__host_head(call, status, fb.n);
  rc = wasio__call_redirect_check(call, &client->res);
  if (rc != 0) {
    wasio__call_fail(call, rc);
    return;
  }
  wasio__call_set_phase(call, WASIO__CALL_BODY);
  /* A redirect to follow: its body is discarded (next_url is set). */
  if (call->next_url == NULL && call->on_response != NULL) {
    call->on_response(call, &client->res);
    if (wasio__call_ended(call)) return;
  }
  wasio__host_deadline(call);
  if (wasio__call_ended(call)) return;
  if (!call->paused) wasio__host_want_in(call, true);
}

/* The body and its trailers ended whole: the next request of a redirect,
 * or on_done. */
static void wasio__host_complete(wasio_http_call_t *call, const wasio_http_header_t *trailers, size_t n) {
  if (call->next_url == NULL && wasio__call_keep_trailers(call, trailers, n) != 0) {
    wasio__call_fail(call, WASIO_ENOMEM);
    return;
  }
  /* A request body the server did not wait for is over too. */
  wasio__call_host_release(call);
  if (call->next_url != NULL) {
    wasio__call_follow(call);
    return;
  }
  wasio__call_finish(call, 0);
}

void wasio__call_host_input(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  wasio_http_client_t *client = call->client;
  if (call->phase != WASIO__CALL_BODY) return;
  for (int reads = 0; !call->paused && !wasio__call_ended(call); reads++) {
    if (reads == WASIO__HOST_READS_PER_TURN) {
      wasio__host_want_in(call, true); /* more next turn: others get theirs */
      return;
    }
    ptrdiff_t n = wasio__bk_http_body_in_read(&h->in, client->bufs.landing, client->bufs.cap);
    if (n > 0) {
      wasio__host_progress(call);
      if (call->next_url == NULL && call->on_body != NULL) call->on_body(call, client->bufs.landing, (size_t)n);
      continue;
    }
    if (n == 0) {
      wasio__host_want_in(call, true);
      return;
    }
    if (n != WASIO_EOF) {
      wasio__call_fail(call, (int)n);
      return;
    }
    /* The body ended: its trailers (the fields land in the client's
     * record and the landing buffer, copied by the completion). */
    wasio__http_fieldbuf_t fb = {
        .fields = client->res_trailers.fields, .max = WASIO_HTTP_MAX_TRAILERS, .bytes = client->bufs.landing,
        .cap = WASIO_HTTP_MAX_HEAD};
    bool present = false;
    int rc = wasio__bk_http_body_in_trailers(&h->in, &fb, &present);
    if (rc == WASIO_EAGAIN) {
      wasio__host_want_in(call, true);
      return;
    }
    if (rc != 0) {
      wasio__call_fail(call, rc);
      return;
    }
    wasio__host_complete(call, fb.fields, present ? fb.n : 0);
    return;
  }
  if (call->paused && !wasio__call_ended(call)) wasio__host_want_in(call, false);
}

/* The objects' one upcall: whatever can move now. */
static void wasio__host_ready(void *data) {
  wasio_http_call_t *call = data;
  if (wasio__call_ended(call)) return;
  if (call->phase == WASIO__CALL_SENT) wasio__host_response(call);
  if (!wasio__call_ended(call) && call->upload != WASIO__UPLOAD_DONE && call->upload != WASIO__UPLOAD_WAIT)
    wasio__host_pump(call);
  if (!wasio__call_ended(call) && call->phase == WASIO__CALL_BODY) wasio__call_host_input(call);
}

static void wasio__host_pump(wasio_http_call_t *call) {
  /* Only when room was awaited: an upcall for another object must not pull
   * the caller's body early. */
  if (call->host.wants_out) wasio__call_host_upload(call);
}

void wasio__call_host_pause(wasio_http_call_t *call, bool pause) {
  if (call->phase != WASIO__CALL_BODY) return; /* applies when the body starts */
  if (pause) {
    wasio__host_want_in(call, false);
  } else {
    wasio__host_progress(call);
    /* From the next turn, not from inside this call. */
    wasio__call_schedule(call, WASIO__WORK_INPUT);
  }
  wasio__host_deadline(call);
}

void wasio__call_host_release(wasio_http_call_t *call) {
  wasio__call_host_t *h = &call->host;
  wasio__bk_http_request_release(&h->req);
  wasio__bk_http_body_out_release(&h->out);
  wasio__bk_http_body_in_release(&h->in);
  h->wants_in = h->wants_out = false;
  if (h->timer != NULL) {
    wasio__client_timer_put(call->client, h->timer);
    h->timer = NULL;
  }
}

#endif
