/* apps/wasio-fetch/proxy.c: one hop through an HTTP proxy (-x).
 *
 * The HTTP client of wasio/http.h connects to the URL's origin itself, so
 * the proxy path is built here from the public pieces: a wasio_tcp_t to the
 * proxy, the codec (wasio/http_codec.h) to write the request and read the
 * answer, and for https:// a TLS stream over the tunnel (wasio/tls.h, or
 * the host's wasi:tls in the host-TLS build). As curl does:
 * - http:// goes to the proxy in absolute form ("GET http://h:p/x
 *   HTTP/1.1", Host of the target, Proxy-Authorization for -U);
 * - https:// (and http:// with -p) first asks "CONNECT h:p", and on a 2xx
 *   speaks TLS (or plain HTTP) to the target inside the tunnel; any other
 *   answer is error 56 ("CONNECT tunnel failed, response 403"). -v shows
 *   the CONNECT exchange, -i prints its head as curl does.
 * One connection per hop (no keep-alive to the proxy): the hop ends when
 * its response has been read, and the connection is closed. Errors before
 * the proxy answered name the proxy (5 could not resolve proxy, 7).
 */
#include <stdlib.h>
#include <string.h>

#include "fetch.h"

enum {
  P_CONNECTING = 1, /* TCP to the proxy */
  P_TUNNEL,         /* CONNECT sent, reading its answer */
  P_TLS,            /* TLS handshake inside the tunnel */
  P_HEAD,           /* request sent (or going), reading the response head */
  P_BODY,           /* reading the body */
  P_DONE
};

struct proxy_hop {
  fetch_t *f;
  int state;
  bool tunnel;      /* CONNECT first */
  bool tls_wanted;  /* https:// to the target */
  bool head_method;
  bool finished;    /* fetch_on_done was called */
  bool closing;
  bool reading;     /* a read is started on what carries the hop now */
  wasio_tcp_t *tcp;
  wasio_tls_t *tls;         /* guest TLS over the tunnel: owns tcp */
  wasio_tls_host_t *htls;   /* host TLS over the tunnel: owns tcp */
  char *connect_req, *req;
  size_t connect_len, req_len;
  wasio_write_t w_connect, w_head, w_body;
  uint8_t up[FETCH_UPLOAD_CHUNK];
  uint64_t up_sent;
  bool up_writing;
  wasio_http_parser_t parser;
  wasio_http_response_t res;
  wasio_http_body_t body;
  size_t in_start, in_len;
  char in[FETCH_PROXY_BUF];
};

static void ph_process(proxy_hop_t *ph);
static void ph_upload(proxy_hop_t *ph);

/* ---- ending ---------------------------------------------------------------------- */

static void on_tcp_closed(wasio_tcp_t *tcp) { free(wasio_tcp_data(tcp)); }
static void on_tls_closed(wasio_tls_t *tls) { free(wasio_tls_data(tls)); }
static void on_htls_closed(wasio_tls_host_t *t) { free(wasio_tls_host_data(t)); }

/* Ends the hop with `status` (once) and closes the connection; `ph` is
 * freed by the close callback, later. */
static void ph_finish(proxy_hop_t *ph, int status) {
  if (!ph->finished) {
    ph->finished = true;
    ph->state = P_DONE;
    fetch_t *f = ph->f;
    f->ph = NULL;
    fetch_on_done(f, status);
  }
  if (ph->closing) return;
  ph->closing = true;
  free(ph->connect_req);
  free(ph->req);
  ph->connect_req = ph->req = NULL;
  if (ph->tls != NULL) {
    wasio_tls_set_data(ph->tls, ph);
    wasio_tls_close(ph->tls, on_tls_closed);
  } else if (ph->htls != NULL) {
    wasio_tls_host_set_data(ph->htls, ph);
    wasio_tls_host_close(ph->htls, on_htls_closed);
  } else {
    wasio_tcp_close(ph->tcp, on_tcp_closed);
  }
}

void proxy_hop_cancel(proxy_hop_t *ph) { ph_finish(ph, WASIO_ECANCELED); }

/* ---- I/O over whatever carries the hop now -------------------------------------------- */

static void ph_alloc(proxy_hop_t *ph, wasio_buf_t *buf) {
  if (ph->in_len == sizeof ph->in && ph->in_start > 0) {
    memmove(ph->in, ph->in + ph->in_start, ph->in_len - ph->in_start);
    ph->in_len -= ph->in_start;
    ph->in_start = 0;
  }
  buf->base = ph->in + ph->in_len;
  buf->len = sizeof ph->in - ph->in_len;
}

static void ph_on_read(proxy_hop_t *ph, ptrdiff_t nread) {
  if (ph->finished) return;
  if (nread < 0) {
    int err = (int)nread;
    if (err == WASIO_EOF || err == WASIO_ETLS_TRUNCATED) {
      if (ph->state == P_BODY) {
        int rc = wasio_http_body_finish(&ph->body);
        /* A close-delimited body is complete at the end (a TLS one without
         * close_notify may be cut short: as the client, that is reported). */
        ph_finish(ph, rc != 0 ? rc : err == WASIO_ETLS_TRUNCATED && ph->res.framing.body == WASIO_HTTP_BODY_CLOSE ? err : 0);
      } else {
        ph_finish(ph, WASIO_EHTTP_TRUNCATED);
      }
      return;
    }
    ph_finish(ph, err);
    return;
  }
  ph->in_len += (size_t)nread;
  ph_process(ph);
}

static void tcp_alloc(wasio_tcp_t *tcp, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  ph_alloc(wasio_tcp_data(tcp), buf);
}
static void tcp_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf;
  ph_on_read(wasio_tcp_data(tcp), nread);
}
static void tls_alloc(wasio_tls_t *tls, size_t suggested, wasio_buf_t *buf) {
  (void)suggested;
  ph_alloc(wasio_tls_data(tls), buf);
}
static void tls_read(wasio_tls_t *tls, ptrdiff_t nread, const wasio_buf_t *buf) {
  (void)buf;
  ph_on_read(wasio_tls_data(tls), nread);
}

static int ph_read_start(proxy_hop_t *ph) {
  if (ph->reading) return 0; /* a plain tunnel goes on reading after CONNECT */
  int rc = ph->tls != NULL ? wasio_tls_read_start(ph->tls, tls_alloc, tls_read)
                           : wasio_tcp_read_start(ph->tcp, tcp_alloc, tcp_read);
  ph->reading = rc == 0;
  return rc;
}

static void ph_write_cb(wasio_write_t *req, int status) {
  proxy_hop_t *ph = req->data;
  if (ph->finished) return;
  if (status != 0) {
    /* The read side reports most failures; a write error before any answer
     * ends the hop (EPIPE: 55). */
    if (ph->state != P_BODY) ph_finish(ph, status);
    return;
  }
  if (req == &ph->w_body && ph->f->body.fp != NULL) {
    ph->up_writing = false;
    ph_upload(ph);
  }
}

static int ph_write(proxy_hop_t *ph, wasio_write_t *w, const void *p, size_t n) {
  w->data = ph;
  if (ph->tls != NULL) return wasio_tls_write(ph->tls, w, p, n, ph_write_cb);
  return wasio_tcp_write(ph->tcp, w, p, n, ph_write_cb);
}

/* The next piece of a streamed -T FILE. */
static void ph_upload(proxy_hop_t *ph) {
  fetch_t *f = ph->f;
  if (ph->up_writing || ph->finished || ph->up_sent >= f->body.file_len) return;
  uint64_t left = f->body.file_len - ph->up_sent;
  size_t cap = left < sizeof ph->up ? (size_t)left : sizeof ph->up;
  ptrdiff_t n = fetch_body_read(f, ph->up, cap);
  if (n < 0) {
    ph_finish(ph, (int)n);
    return;
  }
  ph->up_sent += (uint64_t)n;
  ph->up_writing = true;
  int rc = ph_write(ph, &ph->w_body, ph->up, (size_t)n);
  if (rc != 0) ph_finish(ph, rc);
}

/* ---- the request ------------------------------------------------------------------------ */

/* The hop's request head: absolute form through the proxy, origin form in a
 * tunnel. Content-Length as the HTTP client sends it: with a body, and for
 * POST, PUT and PATCH (0) without one. */
static int ph_build_request(proxy_hop_t *ph) {
  fetch_t *f = ph->f;
  hop_t *h = &f->hop;
  size_t url_len = strlen(h->url);
  char *target = malloc(url_len + 2);
  if (target == NULL) return WASIO_ENOMEM;
  int tl;
  if (ph->tunnel) {
    tl = wasio_url_target(&h->u, target, url_len + 2);
  } else {
    /* scheme://authority + path?query (no fragment) */
    size_t pre = (size_t)(h->u.authority.ptr + h->u.authority.len - h->url);
    memcpy(target, h->url, pre);
    tl = wasio_url_target(&h->u, target + pre, url_len + 2 - pre);
    if (tl >= 0) tl += (int)pre;
  }
  if (tl < 0) {
    free(target);
    return tl;
  }
  wasio_http_header_t fields[FETCH_MAX_FIELDS + 1];
  memcpy(fields, h->fields, h->nfields * sizeof fields[0]);
  size_t n = h->nfields;
  uint64_t len = h->with_body ? (f->body.fp ? f->body.file_len : f->body.mem_len) : 0;
  char dec[24];
  if (h->with_body || !strcmp(h->method, "POST") || !strcmp(h->method, "PUT") || !strcmp(h->method, "PATCH")) {
    snprintf(dec, sizeof dec, "%llu", (unsigned long long)len);
    fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Content-Length"), {dec, strlen(dec)}};
  }
  size_t cap = 64 + strlen(h->method) + (size_t)tl;
  for (size_t i = 0; i < n; i++) cap += fields[i].name.len + fields[i].value.len + 4;
  ph->req = malloc(cap);
  int rc = ph->req == NULL ? WASIO_ENOMEM
                           : wasio_http_write_request_head(ph->req, cap, (wasio_http_str_t){h->method, strlen(h->method)},
                                                           (wasio_http_str_t){target, (size_t)tl}, 1, fields, n);
  free(target);
  if (rc < 0) {
    if (rc == WASIO_EHTTP_BAD_METHOD) return WASIO_EINVAL;
    return rc;
  }
  ph->req_len = (size_t)rc;
  return 0;
}

/* Sends the request (and its body) and starts reading the answer. */
static void ph_send_request(proxy_hop_t *ph) {
  fetch_t *f = ph->f;
  hop_t *h = &f->hop;
  fetch_on_request_head(f, ph->req, ph->req_len);
  ph->state = P_HEAD;
  wasio_http_parser_init(&ph->parser);
  ph->in_start = ph->in_len = 0;
  int rc = ph_write(ph, &ph->w_head, ph->req, ph->req_len);
  if (rc == 0 && h->with_body && f->body.fp == NULL && f->body.mem_len > 0) {
    rc = ph_write(ph, &ph->w_body, f->body.mem, f->body.mem_len);
    f->size_upload += f->body.mem_len;
  } else if (rc == 0 && h->with_body && f->body.fp != NULL) {
    ph_upload(ph);
    if (ph->finished) return;
  }
  if (rc == 0) rc = ph_read_start(ph);
  if (rc != 0) ph_finish(ph, rc);
}

/* ---- TLS inside the tunnel ------------------------------------------------------------------ */

static void on_handshake(wasio_tls_t *tls, int status) {
  proxy_hop_t *ph = wasio_tls_data(tls);
  if (ph->finished) return;
  if (status != 0) {
    ph_finish(ph, status);
    return;
  }
  ph_send_request(ph);
}

static void on_host_handshake(wasio_tls_host_t *t, int status) {
  proxy_hop_t *ph = wasio_tls_host_data(t);
  if (ph->finished) return;
  if (status != 0) {
    ph_finish(ph, status);
    return;
  }
  wasio_tcp_set_data(ph->tcp, ph);
  ph_send_request(ph);
}

/* The config of the guest's TLS: --cacert/-k's, or the default one (the
 * built-in roots, ALPN http/1.1), made on first use. */
static int guest_config(fetch_t *f, wasio_tls_config_t **out) {
  if (f->tls != NULL) {
    *out = f->tls;
    return 0;
  }
  if (f->proxy_tls == NULL) {
    static const char *const alpn[] = {"http/1.1"};
    int rc = wasio_tls_config_new(WASIO_TLS_CLIENT, &f->proxy_tls);
    if (rc == 0) rc = wasio_tls_config_alpn(f->proxy_tls, alpn, 1);
    if (rc != 0) {
      wasio_tls_config_free(f->proxy_tls);
      f->proxy_tls = NULL;
      return rc;
    }
  }
  *out = f->proxy_tls;
  return 0;
}

static void ph_tunnel_ready(proxy_hop_t *ph) {
  fetch_t *f = ph->f;
  hop_t *h = &f->hop;
  if (f->verbose)
    fprintf(stderr, "* CONNECT tunnel established, response %d\n", ph->res.status);
  if (!ph->tls_wanted) {
    ph_send_request(ph);
    return;
  }
  (void)wasio_tcp_read_stop(ph->tcp); /* the TLS layer reads from here on */
  ph->reading = false;
  char host[WASIO_URL_MAX_HOST + 1];
  snprintf(host, sizeof host, "%.*s", (int)h->u.host.len, h->u.host.ptr);
  int rc;
  ph->state = P_TLS;
  if (f->tls_used == WASIO_TLS_BACKEND_HOST) {
    rc = wasio_tls_host_connect(ph->tcp, host, on_host_handshake, &ph->htls);
    if (rc == 0) wasio_tls_host_set_data(ph->htls, ph);
  } else {
    wasio_tls_config_t *cfg;
    rc = guest_config(f, &cfg);
    if (rc == 0) rc = wasio_tls_new(ph->tcp, cfg, host, h->u.port, &ph->tls);
    if (rc == 0) {
      wasio_tls_set_data(ph->tls, ph);
      if (f->connect_ns) (void)wasio_tls_set_idle_timeout(ph->tls, f->connect_ns);
      rc = wasio_tls_handshake(ph->tls, on_handshake);
    }
  }
  if (rc != 0) ph_finish(ph, rc);
}

/* ---- the answers ------------------------------------------------------------------------ */

static void ph_process(proxy_hop_t *ph) {
  fetch_t *f = ph->f;
  while (!ph->finished) {
    const char *in = ph->in + ph->in_start;
    size_t avail = ph->in_len - ph->in_start;
    if (ph->state == P_TUNNEL || ph->state == P_HEAD) {
      if (avail == 0) break;
      unsigned flags = ph->state == P_TUNNEL ? WASIO_HTTP_RESPONSE_TO_CONNECT
                                             : (ph->head_method ? WASIO_HTTP_RESPONSE_TO_HEAD : 0);
      int rc = wasio_http_parse_response(&ph->parser, in, avail, flags, &ph->res);
      if (rc == WASIO_EAGAIN) break;
      if (rc < 0) {
        if (ph->state == P_TUNNEL) f->err_at_proxy = true;
        ph_finish(ph, rc);
        return;
      }
      ph->in_start += (size_t)rc;
      if (ph->res.status < 200) {
        wasio_http_parser_init(&ph->parser); /* interim: the next head follows */
        continue;
      }
      if (ph->state == P_TUNNEL) {
        fetch_on_proxy_head(f, &ph->res);
        if (ph->res.status < 200 || ph->res.status > 299) {
          f->abort_code = fetch_fail(f, EXIT_RECV_ERROR, "CONNECT tunnel failed, response %d", ph->res.status);
          ph_finish(ph, WASIO_ECANCELED);
          return;
        }
        if (ph->in_start != ph->in_len) {
          f->abort_code = fetch_fail(f, EXIT_RECV_ERROR, "the proxy sent data after its CONNECT answer");
          ph_finish(ph, WASIO_ECANCELED);
          return;
        }
        ph->in_start = ph->in_len = 0;
        ph_tunnel_ready(ph);
        return;
      }
      if (ph->res.status == 101 || ph->res.framing.upgrade) {
        ph_finish(ph, WASIO_EHTTP_BAD_STATUS); /* nothing asked to upgrade */
        return;
      }
      wasio_http_body_init(&ph->body, &ph->res.framing, NULL);
      ph->state = P_BODY;
      fetch_on_head(f, &ph->res);
      if (ph->finished) return;
      continue;
    }
    if (ph->state != P_BODY) break;
    size_t consumed = 0;
    wasio_http_str_t data = {NULL, 0};
    int rc = wasio_http_body_decode(&ph->body, in, avail, &consumed, &data);
    if (rc < 0 && rc != WASIO_EAGAIN) {
      ph_finish(ph, rc);
      return;
    }
    ph->in_start += consumed;
    if (data.len > 0) {
      fetch_on_body(f, data.ptr, data.len);
      if (ph->finished) return;
    }
    if (rc == WASIO_HTTP_BODY_DONE) {
      ph_finish(ph, 0);
      return;
    }
    if (rc == WASIO_EAGAIN || ph->in_start == ph->in_len) break;
  }
  if (!ph->finished && ph->in_start == ph->in_len) ph->in_start = ph->in_len = 0;
}

/* ---- connecting ------------------------------------------------------------------------ */

static void on_connect(wasio_tcp_t *tcp, int status) {
  proxy_hop_t *ph = wasio_tcp_data(tcp);
  fetch_t *f = ph->f;
  if (ph->finished) return;
  if (status != 0) {
    f->err_at_proxy = true;
    ph_finish(ph, status);
    return;
  }
  if (f->verbose) fprintf(stderr, "* Connected to proxy %s port %u\n", f->proxy_host, f->proxy_port);
  if (!ph->tunnel) {
    ph_send_request(ph);
    return;
  }
  if (f->verbose)
    fprintf(stderr, "* Establish HTTP proxy tunnel to %.*s:%u\n", (int)f->hop.u.host.len, f->hop.u.host.ptr,
            f->hop.u.port);
  if (f->verbose) verbose_lines("> ", ph->connect_req, ph->connect_len);
  ph->state = P_TUNNEL;
  wasio_http_parser_init(&ph->parser);
  int rc = ph_write(ph, &ph->w_connect, ph->connect_req, ph->connect_len);
  if (rc == 0) rc = ph_read_start(ph);
  if (rc != 0) {
    f->err_at_proxy = true;
    ph_finish(ph, rc);
  }
}

/* "CONNECT host:port HTTP/1.1" with Host, User-Agent and
 * Proxy-Authorization. */
static int ph_build_connect(proxy_hop_t *ph) {
  fetch_t *f = ph->f;
  hop_t *h = &f->hop;
  char target[WASIO_URL_MAX_HOST + 16];
  int tl = snprintf(target, sizeof target, "%s%.*s%s:%u", h->u.host_is_ipv6 ? "[" : "", (int)h->u.host.len,
                    h->u.host.ptr, h->u.host_is_ipv6 ? "]" : "", h->u.port);
  const char *ua = f->user_agent ? f->user_agent : "wasio-fetch/" WASIO_VERSION_STRING;
  wasio_http_header_t fields[3];
  size_t n = 0;
  fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Host"), {target, (size_t)tl}};
  if (ua[0]) fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("User-Agent"), {ua, strlen(ua)}};
  if (f->proxy_auth) fields[n++] = (wasio_http_header_t){WASIO_HTTP_STR("Proxy-Authorization"), {f->proxy_auth, strlen(f->proxy_auth)}};
  size_t cap = 128 + 2 * (size_t)tl + strlen(ua) + (f->proxy_auth ? strlen(f->proxy_auth) : 0);
  ph->connect_req = malloc(cap);
  if (ph->connect_req == NULL) return WASIO_ENOMEM;
  int rc = wasio_http_write_request_head(ph->connect_req, cap, WASIO_HTTP_STR("CONNECT"),
                                         (wasio_http_str_t){target, (size_t)tl}, 1, fields, n);
  if (rc < 0) return rc;
  ph->connect_len = (size_t)rc;
  return 0;
}

int proxy_hop_start(fetch_t *f) {
  proxy_hop_t *ph = calloc(1, sizeof *ph);
  if (ph == NULL) return WASIO_ENOMEM;
  hop_t *h = &f->hop;
  ph->f = f;
  ph->tls_wanted = h->u.https;
  ph->tunnel = h->u.https || f->proxytunnel;
  ph->head_method = !strcmp(h->method, "HEAD");
  ph->state = P_CONNECTING;
  int rc = ph_build_request(ph);
  if (rc == 0 && ph->tunnel) rc = ph_build_connect(ph);
  if (rc == 0) rc = wasio_tcp_new(f->loop, &ph->tcp);
  if (rc != 0) {
    free(ph->req);
    free(ph->connect_req);
    free(ph);
    return rc;
  }
  wasio_tcp_set_data(ph->tcp, ph);
  if (f->verbose) fprintf(stderr, "*   Trying proxy %s:%u...\n", f->proxy_host, f->proxy_port);
  rc = wasio_tcp_connect_host(ph->tcp, f->proxy_host, f->proxy_port, f->connect_ns ? f->connect_ns : WASIO_NO_TIMEOUT,
                              on_connect);
  if (rc != 0) {
    free(ph->req);
    free(ph->connect_req);
    ph->req = ph->connect_req = NULL;
    ph->closing = true;
    wasio_tcp_close(ph->tcp, on_tcp_closed);
    return rc;
  }
  f->ph = ph;
  return 0;
}
