/* src/http/server_body.c: request bodies: the handler asks for one
 * (wasio_http_exchange_read_body) or pauses it; buffered bytes are decoded
 * for on_data, its end goes to on_end once; a body the handler never asks
 * for is discarded after the response, or the connection closes when that
 * is not worth it. The checks of the two calls are both transports'; the
 * HOST half of each is server_host.c's. */
#include "server_internal.h"

/* Stops reading the request body of the exchange in flight: after its
 * response, the rest is discarded (or the connection closes when
 * discarding is not worth it). */
void wasio__srv_conn_detach_body(wasio__srv_conn_t *c, wasio_http_exchange_t *ex) {
  if (c->body_ex != ex) return;
  c->body_ex = NULL;
  if (ex->req_state == REQ_UNREAD) wasio__srv_ex_set_req(ex, REQ_ENDED);
  if (ex->close_after || wasio__srv_conn_no_more(c) || (ex->expect_continue && ex->cont_state != CONT_SENT)) {
    /* Not worth reading: the connection closes after the response. */
    wasio__srv_conn_last(c);
    wasio__srv_conn_set_input(c, INPUT_IDLE);
  }
}

/* The request body in progress ended (status 0) or failed. */
void wasio__srv_conn_finish_body(wasio__srv_conn_t *c, int status) {
  wasio_http_exchange_t *ex = c->body_ex;
  wasio__srv_conn_set_input(c, INPUT_IDLE);
  c->body_ex = NULL;
  if (status != 0) wasio__srv_conn_last(c); /* the framing of what follows is unknown */
  if (ex == NULL) return;              /* discarded */
  if (ex->req_state == REQ_READING) {
    wasio__srv_ex_deliver_end(ex, status, &c->trailers);
    if (wasio__srv_conn_closing(c)) return;
  } else if (ex->req_state == REQ_UNREAD) {
    wasio__srv_ex_set_req(ex, REQ_ENDED); /* never asked for: nobody to tell */
  }
  if (status != 0 && ex->resp_state == RESP_STARTED) {
    /* A streamed response the handler did not end in on_end cannot be
     * framed any more: nothing else will finish it. */
    wasio__srv_conn_abort(c, status);
    return;
  }
  if (status != 0 && ex->resp_state == RESP_NONE) {
    int code = status == WASIO_ELIMIT ? 413 : status == WASIO_ETIMEDOUT ? 408 : 400;
    if (status == WASIO_EHTTP_TRUNCATED || status == WASIO_ECONNRESET) {
      wasio__srv_conn_abort(c, status); /* nobody left to answer */
      return;
    }
    if (wasio__srv_ex_respond_error(ex, code, status) < 0) {
      wasio__srv_conn_abort(c, status);
      return;
    }
  }
  wasio__srv_ex_check_complete(ex);
}

/* Decodes buffered body bytes for the exchange reading them (or discards
 * them). Returns false when it must wait (no bytes, or the handler has not
 * asked for the body yet). */
bool wasio__srv_conn_pump_body(wasio__srv_conn_t *c) {
  wasio_http_exchange_t *ex = c->body_ex;
  if (ex != NULL && (ex->req_state == REQ_UNREAD || ex->paused)) return false;
  for (;;) {
    if (wasio__srv_conn_closing(c) || c->input != INPUT_BODY) return !wasio__srv_conn_closing(c);
    size_t avail = c->in.len - c->in.start, consumed = 0;
    wasio_http_str_t data = {NULL, 0};
    int rc = wasio_http_body_decode(&c->body, wasio__http_input_data(&c->in), avail, &consumed, &data);
    if (rc < 0 && rc != WASIO_EAGAIN) {
      wasio__srv_conn_finish_body(c, rc);
      return !wasio__srv_conn_closing(c);
    }
    c->in.start += (uint32_t)consumed;
    if (data.len > 0) {
      c->body_bytes += data.len;
      if (c->body_bytes > c->server->max_body) {
        wasio__srv_conn_finish_body(c, WASIO_ELIMIT);
        return !wasio__srv_conn_closing(c);
      }
      if (ex != NULL && ex->on_data != NULL) {
        ex->on_data(ex, data.ptr, data.len);
        if (wasio__srv_conn_closing(c)) return false;
        if (c->body_ex != ex) return true; /* detached meanwhile */
        if (ex->paused) return false;
      }
    }
    if (rc == WASIO_HTTP_BODY_DONE) {
      wasio__srv_conn_finish_body(c, 0);
      return !wasio__srv_conn_closing(c);
    }
    if (rc == WASIO_EAGAIN || consumed == 0) {
      if (c->peer_eof) {
        int fin = wasio_http_body_finish(&c->body);
        wasio__srv_conn_finish_body(c, fin == 0 ? 0 : fin);
        return !wasio__srv_conn_closing(c);
      }
      /* A trailer section that cannot fit is an error of its own. */
      if (rc == WASIO_EAGAIN && c->in.start == 0 && c->in.len == WASIO__SRV_IN_CAP) {
        wasio__srv_conn_finish_body(c, WASIO_EHTTP_HEADERS_TOO_LARGE);
        return !wasio__srv_conn_closing(c);
      }
      return false;
    }
  }
}

int wasio_http_exchange_read_body(wasio_http_exchange_t *ex,
                                  void (*on_data)(wasio_http_exchange_t *ex, const void *data, size_t len),
                                  void (*on_end)(wasio_http_exchange_t *ex, int status)) {
  int rc = wasio__srv_ex_usable(ex);
  if (rc < 0) return rc;
  if (on_data == NULL || on_end == NULL) return WASIO_EINVAL;
  if (ex->on_end != NULL || ex->req_state == REQ_READING || ex->req_state == REQ_END_QUEUED) return WASIO_EBUSY;
  if (ex->req_state == REQ_ENDED) return WASIO_ESTATE; /* dropped after a closing response */
  ex->on_data = on_data;
  ex->on_end = on_end;
  if (ex->host != NULL) {
    wasio__srvh_read_body(ex);
    return 0;
  }
  wasio__srv_conn_t *c = ex->conn;
  if (ex->req_state == REQ_NONE || c->body_ex != ex) {
    /* No body (or it was detached): on_end(0) from phase 2, never from
     * inside this call. */
    ex->end_status = 0;
    wasio__srv_ex_set_req(ex, REQ_END_QUEUED);
  } else {
    wasio__srv_ex_set_req(ex, REQ_READING);
    if (ex->expect_continue && ex->resp_state == RESP_NONE && ex->cont_state == CONT_NONE) {
      wasio__srv_ex_set_cont(ex, CONT_PENDING);
      wasio__srv_ex_flush(ex);
    }
  }
  wasio__srv_conn_kick(c);
  return 0;
}

int wasio_http_exchange_pause(wasio_http_exchange_t *ex, bool pause) {
  int rc = wasio__srv_ex_usable(ex);
  if (rc < 0) return rc;
  if (ex->paused == pause) return 0;
  ex->paused = pause;
  if (ex->host != NULL) {
    wasio__srvh_pause(ex);
    return 0;
  }
  wasio__srv_conn_t *c = ex->conn;
  if (pause)
    wasio__srv_conn_update(c); /* stops reading */
  else
    wasio__srv_conn_kick(c); /* delivers what is buffered, then reads again */
  return 0;
}
