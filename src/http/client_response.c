/* src/http/client_response.c: reading a response: the codec over the
 * connection's buffered input (interim heads, the final head, the body
 * decoder's views for on_body), and the end of an exchange (is the
 * connection reusable?). */
#include "client_internal.h"

/* The response was read whole. */
void wasio__call_complete(wasio_http_call_t *call) {
  wasio__http_conn_t *conn = call->conn;
  bool reusable = call->res_keep_alive && !call->conn_close && !conn->write_failed && !call->res_close_delimited &&
                  call->upload == WASIO__UPLOAD_DONE && wasio__stream_queued(&conn->s) == 0 &&
                  wasio__http_input_avail(&conn->in) == 0 && !call->client->closing;
  call->conn = NULL;
  conn->reused = true;
  wasio__conn_release(conn, reusable);
  if (call->next_url != NULL) {
    wasio__call_follow(call);
    return;
  }
  wasio__call_finish(call, 0);
}

/* Runs the codec over the buffered input of the connection's call,
 * delivering the head and body; stops when input runs out, the call ends,
 * or the call is paused. */
void wasio__conn_run(wasio__http_conn_t *conn) {
  wasio_http_call_t *call = conn->call;
  while (call != NULL && conn->call == call && !wasio__call_ended(call) && !call->paused) {
    size_t avail = wasio__http_input_avail(&conn->in);
    const char *in = wasio__http_input_data(&conn->in);
    if (call->phase == WASIO__CALL_SENT || call->phase == WASIO__CALL_HEAD) {
      if (avail == 0) break;
      unsigned flags = call->head_method ? WASIO_HTTP_RESPONSE_TO_HEAD : 0;
      int rc = wasio_http_parse_response(&call->parser, in, avail, flags, &call->client->res);
      if (rc == WASIO_EAGAIN) break;
      if (rc < 0) {
        wasio__call_fail(call, rc);
        return;
      }
      conn->in.start += (uint32_t)rc;
      const wasio_http_response_t *res = &call->client->res;
      if (res->status < 200 && res->status != 101) {
        wasio_http_parser_init(&call->parser); /* interim: the next head follows */
        continue;
      }
      if (res->status == 101 || res->framing.upgrade) {
        wasio__call_fail(call, WASIO_EHTTP_BAD_STATUS); /* we never ask to upgrade */
        return;
      }
      call->res_keep_alive = res->framing.keep_alive;
      call->res_close_delimited = res->framing.body == WASIO_HTTP_BODY_CLOSE;
      call->res_chunked = res->framing.body == WASIO_HTTP_BODY_CHUNKED;
      /* A chunked body's trailers land in the client's one record: they are
       * copied to the call (below) in the callback that completes it. */
      wasio_http_body_init(&call->body_dec, &res->framing, call->res_chunked ? &call->client->res_trailers : NULL);
      rc = wasio__call_redirect_check(call, res);
      if (rc != 0) {
        wasio__call_fail(call, rc);
        return;
      }
      wasio__call_set_phase(call, WASIO__CALL_BODY);
      /* A redirect to follow: its body is discarded (next_url is set). */
      if (call->next_url == NULL && call->on_response != NULL) {
        call->on_response(call, res);
        if (conn->call != call || wasio__call_ended(call)) return;
      }
      continue;
    }
    size_t consumed = 0;
    wasio_http_str_t data = {NULL, 0};
    int rc = wasio_http_body_decode(&call->body_dec, in, avail, &consumed, &data);
    if (rc < 0 && rc != WASIO_EAGAIN) {
      wasio__call_fail(call, rc);
      return;
    }
    conn->in.start += (uint32_t)consumed;
    if (data.len > 0 && call->next_url == NULL && call->on_body != NULL) {
      call->on_body(call, data.ptr, data.len);
      if (conn->call != call || wasio__call_ended(call)) return;
    }
    if (rc == WASIO_HTTP_BODY_DONE) {
      const wasio_http_trailers_t *t = &call->client->res_trailers;
      if (call->res_chunked && call->next_url == NULL &&
          wasio__call_keep_trailers(call, t->fields, t->num_fields) != 0) {
        wasio__call_fail(call, WASIO_ENOMEM);
        return;
      }
      wasio__call_complete(call);
      return;
    }
    if (rc == WASIO_EAGAIN || wasio__http_input_avail(&conn->in) == 0) break;
  }
}
