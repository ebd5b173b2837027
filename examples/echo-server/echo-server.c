/* examples/echo-server: a TCP chat server. Every line a client sends goes
 * to every connected client, the sender included, so with one client it is
 * an echo server.
 *
 *   echo-server [PORT] [IP]        (defaults: 7000 127.0.0.1; PORT 0 picks one)
 *
 * It prints "listening on IP:PORT" first, then one line per client that
 * joins or leaves. What it shows of wasio: a listener, a read callback per
 * client, one message shared by many queued writes, backpressure (a client
 * that does not read is dropped instead of growing our memory), half-close
 * (a client that shuts down gets the rest of its broadcasts, then EOF) and
 * close callbacks as the one place where memory is freed.
 *
 * Try it: echo-server 7000 & then echo-client localhost 7000 hi there
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

#define LINE_MAX_BYTES 4096         /* longer lines are sent in pieces */
#define CLIENT_QUEUE_MAX (1u << 20) /* unsent bytes before we drop a client */

typedef struct client {
  struct client *next;
  wasio_tcp_t *tcp;
  char peer[WASIO_ADDR_STRLEN];
  size_t line_len;
  char line[LINE_MAX_BYTES];
} client_t;

/* One line, shared by the writes that send it to every client: it is freed
 * when the last of those writes completes. */
typedef struct message {
  int refs;
  size_t len;
  char bytes[];
} message_t;

static client_t *clients;

static void on_client_closed(wasio_tcp_t *tcp) {
  client_t *c = wasio_tcp_data(tcp);
  for (client_t **p = &clients; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  printf("%s left\n", c->peer);
  free(c);
}

static void drop(client_t *c) { wasio_tcp_close(c->tcp, on_client_closed); }

static void on_written(wasio_write_t *req, int status) {
  message_t *m = req->data;
  if (--m->refs == 0) free(m);
  free(req);
}

/* Queues `len` bytes to every client still connected. */
static void broadcast(const char *bytes, size_t len) {
  message_t *m = malloc(sizeof *m + len);
  if (!m) return;
  m->refs = 1; /* ours, until the loop below is done */
  m->len = len;
  memcpy(m->bytes, bytes, len);
  for (client_t *c = clients; c; c = c->next) {
    if (wasio_tcp_write_queue_size(c->tcp) > CLIENT_QUEUE_MAX) {
      drop(c); /* it does not read: do not buffer for it forever */
      continue;
    }
    wasio_write_t *req = malloc(sizeof *req);
    if (!req) continue;
    req->data = m;
    if (wasio_tcp_write(c->tcp, req, m->bytes, m->len, on_written) == 0)
      m->refs++;
    else
      free(req); /* closing or shut down: a failed call never calls back */
  }
  if (--m->refs == 0) free(m);
}

/* Our half-close finished: every byte for this client went out. */
static void on_shutdown(wasio_tcp_t *tcp, int status) { drop(wasio_tcp_data(tcp)); }

static void on_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  client_t *c = wasio_tcp_data(tcp);
  if (nread < 0) {
    if (c->line_len) broadcast(c->line, c->line_len); /* a last line without "\n" */
    c->line_len = 0;
    /* The client shut down its side: finish sending what is queued for it,
     * shut down ours, then close (in on_shutdown). Any error: close now. */
    if (nread == WASIO_EOF && wasio_tcp_shutdown(tcp, on_shutdown) == 0) return;
    drop(c);
    return;
  }
  const char *p = buf->base;
  for (ptrdiff_t i = 0; i < nread; i++) {
    c->line[c->line_len++] = p[i];
    if (p[i] == '\n' || c->line_len == LINE_MAX_BYTES) {
      broadcast(c->line, c->line_len);
      c->line_len = 0;
    }
  }
}

static void on_connection(wasio_tcp_t *server, wasio_tcp_t *tcp, int status) {
  if (status < 0) {
    fprintf(stderr, "accept: %s\n", wasio_strerror(status));
    return; /* the listener goes on */
  }
  client_t *c = calloc(1, sizeof *c);
  if (!c) {
    wasio_tcp_close(tcp, NULL);
    return;
  }
  c->tcp = tcp;
  wasio_tcp_set_data(tcp, c);
  wasio_addr_t peer;
  if (wasio_tcp_peer_addr(tcp, &peer) != 0 || wasio_addr_format(&peer, c->peer, sizeof c->peer) < 0)
    strcpy(c->peer, "?");
  c->next = clients;
  clients = c;
  printf("%s joined\n", c->peer);
  if (wasio_tcp_read_start(tcp, NULL, on_read) != 0) drop(c);
}

int main(int argc, char **argv) {
  const char *ip = argc > 2 ? argv[2] : "127.0.0.1";
  long port = argc > 1 ? strtol(argv[1], NULL, 10) : 7000;
  wasio_addr_t addr;
  if (port < 0 || port > 65535 || wasio_addr_parse(ip, (uint16_t)port, &addr) != 0) {
    fprintf(stderr, "usage: echo-server [PORT] [IP]  (IP is numeric, e.g. 127.0.0.1 or ::1)\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* one log line at a time, even into a pipe */
  wasio_loop_t *loop;
  wasio_tcp_t *server;
  int rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_tcp_new(loop, &server);
  if (rc == 0) rc = wasio_tcp_bind(server, &addr);
  if (rc == 0) rc = wasio_tcp_listen(server, 0, on_connection);
  if (rc == 0) rc = wasio_tcp_local_addr(server, &addr); /* the real port if PORT was 0 */
  if (rc != 0) {
    fprintf(stderr, "echo-server: %s:%ld: %s\n", ip, port, wasio_strerror(rc));
    return 1;
  }
  char text[WASIO_ADDR_STRLEN];
  wasio_addr_format(&addr, text, sizeof text);
  printf("listening on %s\n", text);
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT); /* serves until killed */
  return rc < 0 ? 1 : 0;
}
