/* src/http/client_conn.c: connections: opening one over a byte stream
 * (src/stream/stream.h) and its upcalls, the input buffers (the landing
 * buffer and the small per-client free list), putting a call's request on
 * the wire (head, buffer body, streamed upload), going idle, closing. */
#include "client_internal.h"

static void wasio__conn_on_close(wasio__stream_t *s);
static void wasio__conn_alloc(wasio__stream_t *s, wasio_buf_t *buf);
static void wasio__conn_write_cb(wasio_write_t *req, int status);
static void wasio__conn_on_open(wasio__stream_t *s, int status);

static const char wasio__http_last_chunk[] = "0\r\n\r\n";

/* The stream's upcalls (the client never shuts a stream down: it closes). */
static const wasio__stream_cbs_t wasio__conn_stream_cbs = {
    .on_open = wasio__conn_on_open,
    .alloc = wasio__conn_alloc,
    .on_read = wasio__conn_on_read,
    .on_shutdown = NULL,
    .on_close = wasio__conn_on_close,
};

static wasio__http_conn_t *wasio__conn_of(wasio__stream_t *s) {
  return WASIO__CONTAINER_OF(s, wasio__http_conn_t, s);
}

/* Gives the connection's own buffer back (nothing in it may be needed,
 * and the stream holds none of it). */
static void wasio__conn_buf_drop(wasio__http_conn_t *conn) {
  wasio__http_input_release(&conn->in, &conn->client->bufs);
}

/* Closes the connection (never reused again); it is freed in on_close. */
void wasio__conn_close(wasio__http_conn_t *conn) {
  if (conn->state == WASIO__CONN_CLOSING) return;
  wasio_http_client_t *client = conn->client;
  wasio__http_origin_t *o = conn->origin;
  if (conn->state == WASIO__CONN_IDLE) {
    wasio__hq_remove(&conn->idle_node);
    o->idle_count--;
  }
  conn->state = WASIO__CONN_CLOSING;
  conn->call = NULL;
  conn->origin = NULL;
  wasio__hq_remove(&conn->client_node);
  if (o != NULL) o->open--;
  if (wasio__stream_started(&conn->s)) {
    wasio__stream_close(&conn->s, false);
  } else {
    /* The stream never started: nothing to wait for. */
    client->conns_live--;
    wasio__free(conn);
  }
  /* A slot opened up: a queued call of the origin may connect now. */
  if (o != NULL && !client->closing) wasio__origin_dispatch(o, client);
  else if (o != NULL) wasio__origin_maybe_free(client, o);
}

static void wasio__conn_on_close(wasio__stream_t *s) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  wasio_http_client_t *client = conn->client;
  client->conns_live--;
  wasio__conn_buf_drop(conn); /* the stream is closed: nothing is lent */
  wasio__free(conn);
  wasio__client_maybe_free(client);
}

/* The connection is free: keep it for the next call of its origin, or
 * close it when the pool is full or the client is closing. */
static void wasio__conn_to_idle(wasio__http_conn_t *conn) {
  wasio_http_client_t *client = conn->client;
  wasio__http_origin_t *o = conn->origin;
  if (client->closing || o->idle_count >= client->max_idle) {
    wasio__conn_close(conn);
    return;
  }
  conn->state = WASIO__CONN_IDLE;
  conn->call = NULL;
  /* Idle holds no buffer: a lent one is taken back by stopping the read,
   * which starts again below (an idle read lands in the landing buffer). */
  if (conn->in.lent) wasio__stream_read_stop(&conn->s);
  wasio__conn_buf_drop(conn);
  wasio__hq_insert_head(&o->idle, &conn->idle_node);
  o->idle_count++;
  /* Keep reading: a byte or an EOF while idle marks it unusable at once,
   * and the idle timeout of the socket retires it. */
  wasio__stream_set_idle(&conn->s, client->idle_timeout);
  if (wasio__stream_read_start(&conn->s) != 0) {
    wasio__conn_close(conn);
    return;
  }
  wasio__origin_dispatch(o, client);
}

/* Detaches the call; the connection goes back to the pool if `reusable`. */
void wasio__conn_release(wasio__http_conn_t *conn, bool reusable) {
  conn->call = NULL;
  if (!reusable) {
    wasio__conn_close(conn);
  } else if (conn->writes_pending > 0) {
    conn->state = WASIO__CONN_DRAINING; /* idle after the last write callback */
  } else {
    wasio__conn_to_idle(conn);
  }
}

static void wasio__conn_alloc(wasio__stream_t *s, wasio_buf_t *buf) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  /* Waiting bytes move to the front only when the buffer is full: an
   * incomplete head, chunk line or trailer is re-read from its new place. */
  wasio__http_input_space(&conn->in, &conn->client->bufs, 1, false, buf);
}

/* Puts the call on its connection's wire: the head, then the body. */
void wasio__call_send(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  wasio_http_client_t *client = call->client;
  wasio__call_set_phase(call, WASIO__CALL_SENT);
  call->head_method = strcmp(call->method, "HEAD") == 0;
  conn->write_failed = false;
  call->up_sent = 0;
  call->up_pulled = false;
  /* A new request: nothing of its body is sent yet (a call is sent again
   * only before it pulled any: the retry, or a redirect without a body). */
  WASIO_ASSERT(call->upload == WASIO__UPLOAD_PULL || call->upload == WASIO__UPLOAD_DONE);
  call->upload = WASIO__UPLOAD_PULL;
  wasio_http_parser_init(&call->parser);
  conn->state = WASIO__CONN_BUSY;
  /* A fresh or idle connection: it holds no buffer (wasio__conn_to_idle). */
  /* The first-byte timeout is the socket's idle timeout while the request
   * goes out and the answer is awaited (a stalled upload counts too). */
  wasio__stream_set_idle(&conn->s, wasio__pick(call->to.first_byte_ns, client->to.first_byte_ns));
  int rc = 0;
  if (call->paused) {
    wasio__stream_read_stop(&conn->s);
    conn->in.lent = false;
  } else {
    rc = wasio__stream_read_start(&conn->s);
  }
  conn->w_head.data = conn;
  if (rc == 0) rc = wasio__stream_write(&conn->s, &conn->w_head, call->head, call->head_len,
                                                wasio__conn_write_cb);
  if (rc == 0) {
    conn->writes_pending++;
    if (call->body_read != NULL) {
      wasio__call_schedule(call, WASIO__WORK_UPLOAD);
    } else if (call->body_len > 0) {
      conn->w_body.data = conn;
      rc = wasio__stream_write(&conn->s, &conn->w_body, call->body, call->body_len,
                                       wasio__conn_write_cb);
      if (rc == 0) conn->writes_pending++;
      wasio__call_set_upload(call, WASIO__UPLOAD_DONE);
    } else {
      wasio__call_set_upload(call, WASIO__UPLOAD_DONE);
    }
  }
  if (rc != 0) {
    /* Reported from the deferred request: we may be inside an API call.
     * The connection is released with the call (never reused). */
    wasio__call_end_later(call, rc);
  }
}

static void wasio__conn_write_cb(wasio_write_t *req, int status) {
  wasio__http_conn_t *conn = req->data;
  conn->writes_pending--;
  if (conn->state == WASIO__CONN_CLOSING) return;
  if (status != 0) {
    conn->write_failed = true;
    /* The read side reports most failures; a write error without one
     * (e.g. EPIPE while the server still answers) ends the call only if
     * the response has not come yet. */
    wasio_http_call_t *call = conn->call;
    if (call != NULL && call->phase == WASIO__CALL_SENT) wasio__call_fail(call, status);
    else if (call == NULL) wasio__conn_close(conn);
    return;
  }
  if (conn->state == WASIO__CONN_DRAINING) {
    if (conn->writes_pending == 0) wasio__conn_to_idle(conn);
    return;
  }
  wasio_http_call_t *call = conn->call;
  if (call != NULL && req == &conn->w_body && call->body_read != NULL) {
    /* The piece was taken: the next one, or the upload is over. */
    if (call->upload == WASIO__UPLOAD_WRITE) wasio__call_set_upload(call, WASIO__UPLOAD_PULL);
    else if (call->upload == WASIO__UPLOAD_WRITE_LAST) wasio__call_set_upload(call, WASIO__UPLOAD_DONE);
    wasio__call_upload(call);
  }
}

/* Pulls the next piece of a streamed body and writes it (one at a time). */
void wasio__call_upload(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  if (conn == NULL || call->upload != WASIO__UPLOAD_PULL || wasio__call_ended(call)) return;
  if (call->up_buf == NULL) {
    call->up_buf = wasio__malloc(WASIO__HTTP_CHUNK_PREFIX + WASIO__HTTP_UPLOAD_CHUNK + WASIO__HTTP_CHUNK_SUFFIX);
    if (call->up_buf == NULL) {
      wasio__call_fail(call, WASIO_ENOMEM);
      return;
    }
  }
  bool chunked = call->body_length < 0;
  size_t cap = WASIO__HTTP_UPLOAD_CHUNK;
  if (!chunked && (uint64_t)call->body_length - call->up_sent < cap)
    cap = (size_t)((uint64_t)call->body_length - call->up_sent);
  uint8_t *data = call->up_buf + WASIO__HTTP_CHUNK_PREFIX;
  ptrdiff_t n = 0;
  if (cap > 0 || chunked) {
    call->up_pulled = true;
    n = call->body_read(call, data, cap);
    /* The callback may have canceled the call or closed the client. */
    if (call->conn != conn || wasio__call_ended(call)) return;
  }
  if (n == WASIO_EAGAIN) {
    wasio__call_set_upload(call, WASIO__UPLOAD_WAIT);
    return;
  }
  if (n < 0) {
    wasio__call_fail(call, (int)n);
    return;
  }
  if ((size_t)n > cap) {
    wasio__call_fail(call, WASIO_EINVAL);
    return;
  }
  const void *out;
  size_t out_len;
  bool last = n == 0;
  if (n == 0) {
    if (!chunked && call->up_sent != (uint64_t)call->body_length) {
      wasio__call_fail(call, WASIO_EINVAL); /* shorter than announced */
      return;
    }
    if (!chunked) {
      wasio__call_set_upload(call, WASIO__UPLOAD_DONE);
      return;
    }
    out = wasio__http_last_chunk;
    out_len = sizeof wasio__http_last_chunk - 1;
    if (call->num_send_trailers > 0) {
      /* The trailers follow the last chunk, written into the (free) upload
       * buffer: wasio_http_call_start checked that they fit. */
      int tl = wasio_http_write_last_chunk((char *)call->up_buf, WASIO__HTTP_UPLOAD_CHUNK, call->send_trailers,
                                           call->num_send_trailers);
      if (tl < 0) {
        wasio__call_fail(call, tl);
        return;
      }
      out = call->up_buf;
      out_len = (size_t)tl;
    }
  } else if (chunked) {
    char line[WASIO__HTTP_CHUNK_PREFIX];
    int hl = wasio_http_write_chunk_header(line, sizeof line, (uint64_t)n);
    if (hl < 0) {
      wasio__call_fail(call, hl);
      return;
    }
    /* The framing goes right before and after the data: one write. */
    memcpy(data - hl, line, (size_t)hl);
    memcpy(data + n, WASIO_HTTP_CRLF, 2);
    out = data - hl;
    out_len = (size_t)hl + (size_t)n + 2;
    call->up_sent += (uint64_t)n;
  } else {
    out = data;
    out_len = (size_t)n;
    call->up_sent += (uint64_t)n;
    last = call->up_sent == (uint64_t)call->body_length;
  }
  conn->w_body.data = conn;
  int rc = wasio__stream_write(&conn->s, &conn->w_body, out, out_len, wasio__conn_write_cb);
  if (rc != 0) {
    wasio__call_fail(call, rc);
    return;
  }
  conn->writes_pending++;
  wasio__call_set_upload(call, last ? WASIO__UPLOAD_WRITE_LAST : WASIO__UPLOAD_WRITE);
}

int wasio__conn_open(wasio_http_client_t *client, wasio__http_origin_t *o, wasio_http_call_t *call) {
  wasio__http_conn_t *conn = wasio__calloc(1, sizeof *conn);
  if (conn == NULL) return WASIO_ENOMEM;
  conn->client = client;
  conn->origin = o;
  conn->state = WASIO__CONN_CONNECTING;
  conn->call = call;
  wasio__hq_init(&conn->idle_node);
  wasio__hq_insert_tail(&client->conns, &conn->client_node);
  client->conns_live++;
  o->open++;
  call->conn = conn;
  wasio__call_set_phase(call, WASIO__CALL_CONNECTING);
  uint64_t timeout = wasio__pick(call->to.connect_ns, client->to.connect_ns);
  wasio_tls_config_t *tls = NULL;
  bool host_tls = o->https && client->host_tls;
  int rc = o->https && !host_tls ? wasio__client_tls_config(client, &tls) : 0;
  wasio__stream_kind_t kind = !o->https ? WASIO__STREAM_TCP : host_tls ? WASIO__STREAM_HOST_TLS : WASIO__STREAM_TLS;
  /* The origin's host outlives the connect (the origin counts it open). */
  if (rc == 0)
    rc = wasio__stream_connect(&conn->s, &wasio__conn_stream_cbs, client->loop, kind, tls, o->host, o->port,
                               timeout == 0 ? WASIO_NO_TIMEOUT : timeout);
  if (rc != 0) {
    call->conn = NULL;
    wasio__call_set_phase(call, WASIO__CALL_QUEUED);
    conn->call = NULL;
    conn->origin = NULL; /* no re-dispatch from inside dispatch */
    o->open--;
    wasio__hq_remove(&conn->client_node);
    conn->state = WASIO__CONN_CONNECTING;
    wasio__conn_close(conn);
  }
  return rc;
}

static void wasio__conn_on_open(wasio__stream_t *s, int status) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  if (conn->state == WASIO__CONN_CLOSING) return;
  wasio_http_call_t *call = conn->call;
  if (status != 0) {
    if (call != NULL) wasio__call_fail(call, status); /* closes conn */
    else wasio__conn_close(conn);
    return;
  }
  if (call == NULL) {
    /* Its call went away meanwhile: serve the next one, or idle. */
    wasio__conn_to_idle(conn);
    return;
  }
  wasio__call_send(call);
}

void wasio__conn_on_read(wasio__stream_t *s, ptrdiff_t nread) {
  wasio__http_conn_t *conn = wasio__conn_of(s);
  conn->in.lent = false; /* the space came back (or reading has stopped) */
  if (conn->state == WASIO__CONN_CLOSING) return;
  wasio_http_call_t *call = conn->call;
  if (call == NULL) {
    /* Idle or draining: the server closed, timed out or sent garbage. */
    wasio__conn_close(conn);
    return;
  }
  if (nread < 0) {
    int err = (int)nread;
    if (call->phase == WASIO__CALL_BODY) {
      if (err == WASIO_EOF) {
        int rc = wasio_http_body_finish(&call->body_dec);
        if (rc == 0) {
          call->res_keep_alive = false;
          wasio__call_complete(call);
        } else {
          wasio__call_fail(call, rc);
        }
        return;
      }
      wasio__call_fail(call, err);
      return;
    }
    /* A server that drops an idle TLS connection without close_notify
     * looks like a truncation: the same race as a plain close. */
    if ((err == WASIO_EOF || err == WASIO_ECONNRESET || err == WASIO_ETLS_TRUNCATED) && conn->in.len == 0 &&
        wasio__call_retry(call))
      return;
    wasio__call_fail(call, err == WASIO_EOF ? WASIO_EHTTP_TRUNCATED : err);
    return;
  }
  if (wasio__http_input_landed(&conn->in, &conn->client->bufs, (size_t)nread) != 0) {
    wasio__call_fail(call, WASIO_ENOBUFS);
    return;
  }
  if (call->phase == WASIO__CALL_SENT) { /* the first response byte */
    wasio__call_set_phase(call, WASIO__CALL_HEAD);
    wasio__stream_set_idle(&conn->s,
                                   wasio__pick(call->to.between_bytes_ns, call->client->to.between_bytes_ns));
  }
  wasio__conn_process(conn);
}

/* After the codec ran over the input: bytes left in the landing buffer move
 * to the connection's own buffer (the next read of any connection lands
 * there); an emptied own buffer is given back, unless it is lent (then the
 * next read returns into it, where it was handed out). */
static void wasio__conn_input_done(wasio__http_conn_t *conn) {
  if (conn->state == WASIO__CONN_CLOSING) return; /* freed with the connection */
  bool landed = conn->in.in != NULL && conn->in.in == conn->client->bufs.landing;
  if (wasio__http_input_spill(&conn->in, &conn->client->bufs, false) != 0) {
    if (conn->call != NULL) wasio__call_fail(conn->call, WASIO_ENOMEM);
    else wasio__conn_close(conn);
    return;
  }
  if (landed || wasio__http_input_avail(&conn->in) != 0 || conn->in.lent) return;
  wasio__conn_buf_drop(conn);
}

void wasio__conn_process(wasio__http_conn_t *conn) {
  wasio__conn_run(conn);
  wasio__conn_input_done(conn);
}
