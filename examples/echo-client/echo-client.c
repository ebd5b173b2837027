/* examples/echo-client: sends text to a TCP echo (or chat) server and
 * prints what comes back.
 *
 *   echo-client HOST PORT [TEXT...]
 *
 * HOST may be a name ("localhost": resolved through the loop, without
 * blocking it) or a numeric IPv4/IPv6 address. With TEXT, the words are
 * sent as one line; without, standard input is sent. Then the client shuts
 * down its sending side (the server sees EOF), prints every reply until the
 * server closes, and exits 0; on any error it prints the reason and exits 1.
 *
 * Standard input is read up front, before the loop runs: this example only
 * uses wasio for the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasio.h"

#define CONNECT_TIMEOUT (10 * WASIO_NS_PER_S)
#define INPUT_MAX (1u << 20) /* we send at most 1 MiB of standard input */

static char *out; /* what we send; alive until its write completes */
static size_t out_len;
static wasio_write_t write_req;
static int exit_code = 1;

static void on_closed(wasio_tcp_t *tcp) { /* nothing left to free */ }

static void fail(wasio_tcp_t *tcp, const char *what, int status) {
  fprintf(stderr, "echo-client: %s: %s\n", what, wasio_strerror(status));
  exit_code = 1;
  wasio_tcp_close(tcp, on_closed); /* also cancels a queued write */
}

static void on_read(wasio_tcp_t *tcp, ptrdiff_t nread, const wasio_buf_t *buf) {
  if (nread == WASIO_EOF) { /* the server is done: so are we */
    exit_code = 0;
    wasio_tcp_close(tcp, on_closed);
    return;
  }
  if (nread < 0) {
    fail(tcp, "read", (int)nread);
    return;
  }
  fwrite(buf->base, 1, (size_t)nread, stdout);
  fflush(stdout);
}

static void on_written(wasio_write_t *req, int status) {
  if (status < 0 && status != WASIO_ECANCELED) fail(req->data, "write", status);
}

static void on_connect(wasio_tcp_t *tcp, int status) {
  if (status < 0) {
    fail(tcp, "connect", status);
    return;
  }
  int rc = wasio_tcp_read_start(tcp, NULL, on_read);
  /* Queue the text, then the half-close: wasio shuts down after the write. */
  if (rc == 0) rc = wasio_tcp_write(tcp, &write_req, out, out_len, on_written);
  if (rc == 0) rc = wasio_tcp_shutdown(tcp, NULL);
  if (rc < 0) fail(tcp, "send", rc);
}

/* The words of argv joined by spaces plus "\n", or all of standard input. */
static int gather_input(int argc, char **argv) {
  if (argc > 3) {
    for (int i = 3; i < argc; i++) out_len += strlen(argv[i]) + 1;
    if (!(out = malloc(out_len + 1))) return -1;
    out[0] = 0;
    for (int i = 3; i < argc; i++) strcat(strcat(out, argv[i]), i + 1 < argc ? " " : "\n");
    return 0;
  }
  if (!(out = malloc(INPUT_MAX))) return -1;
  out_len = fread(out, 1, INPUT_MAX, stdin);
  return ferror(stdin) ? -1 : 0;
}

int main(int argc, char **argv) {
  long port = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
  if (argc < 3 || port <= 0 || port > 65535) {
    fprintf(stderr, "usage: echo-client HOST PORT [TEXT...]\n");
    return 2;
  }
  if (gather_input(argc, argv) != 0) {
    fprintf(stderr, "echo-client: cannot read the input\n");
    return 1;
  }
  wasio_loop_t *loop;
  wasio_tcp_t *tcp;
  int rc = wasio_loop_new(&loop);
  if (rc == 0) rc = wasio_tcp_new(loop, &tcp);
  if (rc == 0) {
    write_req.data = tcp;
    rc = wasio_tcp_connect_host(tcp, argv[1], (uint16_t)port, CONNECT_TIMEOUT, on_connect);
  }
  if (rc != 0) {
    fprintf(stderr, "echo-client: %s:%ld: %s\n", argv[1], port, wasio_strerror(rc));
    return 1;
  }
  rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT); /* until the handle is closed */
  if (rc < 0 || wasio_loop_close(loop) != 0) exit_code = 1;
  free(out);
  return exit_code;
}
