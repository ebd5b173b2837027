/* tests/harness.c: the registry, runner and failure reporting of
 * tests/harness.h. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef HARNESS_NO_WASIO
#include "wasio.h"
#endif

#define HARNESS_MAX_TESTS 512
#define HARNESS_MSG_MAX 1024

static struct { const char *name; harness_fn fn; } tests[HARNESS_MAX_TESTS];
static int ntests;
static int g_argc;
static char **g_argv;
static const char *g_current = "?";
static double g_t0;

void harness_register(const char *name, harness_fn fn) {
  if (ntests == HARNESS_MAX_TESTS) {
    fprintf(stderr, "harness: more than HARNESS_MAX_TESTS (%d) tests\n", HARNESS_MAX_TESTS);
    exit(2);
  }
  tests[ntests].name = name;
  tests[ntests].fn = fn;
  ntests++;
}

/* A failure ends the process: an assert may fire deep inside a loop
 * callback, where unwinding (longjmp; wasm has none without the EH proposal)
 * would leave the loop half-way through a turn. tests/run.py runs each test
 * in a process of its own, so one failure costs only that test. */
void harness_fail(const char *file, int line, const char *fmt, ...) {
  char msg[HARNESS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  printf("FAIL %s: %s:%d: %s\n", g_current, file, line, msg);
  fflush(stdout);
  exit(1);
}

void harness_skip(const char *fmt, ...) {
  char msg[HARNESS_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  printf("SKIP %s: %s\n", g_current, msg);
  fflush(stdout);
  exit(HARNESS_EXIT_SKIP);
}

const char *harness_param(const char *key, const char *def) {
  size_t klen = strlen(key);
  for (int i = 1; i < g_argc; i++)
    if (strncmp(g_argv[i], key, klen) == 0 && g_argv[i][klen] == '=') return g_argv[i] + klen + 1;
  return def;
}

long harness_param_int(const char *key, long def) {
  const char *v = harness_param(key, NULL);
  return v ? strtol(v, NULL, 10) : def;
}

size_t harness_first_diff(const void *a, const void *b, size_t n) {
  const unsigned char *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i]) return i;
  return n;
}

#ifdef HARNESS_NO_WASIO
/* Tests of the hosts alone (tests/wasi) link no libwasio. */
const char *harness_err_name(int err) { return err == 0 ? "0" : "error"; }
void harness_close_loop(const char *file, int line, struct wasio_loop *loop) {
  harness_fail(file, line, "built without wasio");
}
#else
const char *harness_err_name(int err) { return err == 0 ? "0" : wasio_err_name(err); }


static void list_handle(wasio_handle_kind_t kind, void *handle, void *arg) {
  char *out = arg;
  size_t len = strlen(out);
  snprintf(out + len, 256 - len, " %s@%p", wasio_kind_name(kind), handle);
}

void harness_close_loop(const char *file, int line, struct wasio_loop *loop) {
  /* Let pending close callbacks run: closing is asynchronous. */
  int rc = wasio_loop_run(loop, WASIO_RUN_DEFAULT);
  if (rc < 0) harness_fail(file, line, "final wasio_loop_run: %s", wasio_err_name(rc));
  rc = wasio_loop_close(loop);
  if (rc != 0) {
    char open[256] = "";
    wasio_loop_walk(loop, list_handle, open);
    harness_fail(file, line, "leak: wasio_loop_close: %s; %zu open:%s", wasio_err_name(rc),
                 wasio_loop_open_handles(loop), open);
  }
}

#endif

static int selected(const char *name) {
  int any = 0;
  for (int i = 1; i < g_argc; i++) {
    if (strchr(g_argv[i], '=') || g_argv[i][0] == '-') continue;
    any = 1;
    if (strcmp(g_argv[i], name) == 0) return 1;
  }
  return !any;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  g_argc = argc;
  g_argv = argv;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && strcmp(argv[1], "--list") == 0) {
    for (int i = 0; i < ntests; i++) printf("%s\n", tests[i].name);
    return 0;
  }
  int ran = 0;
  for (int i = 0; i < ntests; i++) {
    if (!selected(tests[i].name)) continue;
    ran++;
    g_current = tests[i].name;
    g_t0 = now_ms();
    tests[i].fn();
    printf("PASS %s (%.1f ms)\n", tests[i].name, now_ms() - g_t0);
    fflush(stdout);
  }
  if (ran == 0) {
    fprintf(stderr, "harness: no test matched\n");
    return 1;
  }
  return 0;
}
