/* src/backend/wasi/crt_main.h: where the program's main is in its
 * instance's life, for the program entries of both WASI backends
 * (src/backend/wasip2/crt/start.c, src/backend/wasip3/crt/start.c): main
 * runs at most once per instance, from the run export (_start) or from
 * the first request of a wasi:http handler export
 * (wasio__program_main_once), whichever gets there first. Included by
 * exactly one file per entry. */
#ifndef WASIO_BACKEND_WASI_CRT_MAIN_H
#define WASIO_BACKEND_WASI_CRT_MAIN_H

/* The libc's: sets the thread pointer (crt1-command calls it first). */
extern void __wasi_init_tp(void);
extern void __wasm_call_ctors(void);
/* main, whichever way it is declared: the libc's __main_void fetches the
 * arguments and calls main(argc, argv) when main takes them. */
extern int __main_void(void);

enum { MAIN_NOT_RUN = 0, MAIN_RUNNING, MAIN_RETURNED };
static volatile int main_state = MAIN_NOT_RUN;
static int main_status;

/* Constructors, then main; the one body of both entries. */
static int run_main(void) {
  main_state = MAIN_RUNNING;
  __wasi_init_tp();
  __wasm_call_ctors();
  main_status = __main_void();
  main_state = MAIN_RETURNED;
  return main_status;
}

/* The run export's start: a command runs once per instance, so a second
 * call (or a run after a handler export already ran main) is a host bug. */
static int run_main_once_or_trap(void) {
  if (main_state != MAIN_NOT_RUN) __builtin_trap();
  return run_main();
}

/* The entry of the wasi:http handler exports (the --http builds'
 * src/backend/wasip2/http_incoming.c, src/backend/wasip3/http_incoming.c):
 * the first call runs constructors and main as _start does, but main's
 * return ends nothing (no exit(), no atexit handlers, no destructors): the
 * instance lives on and serves what main set up. Returns 1 when this call
 * ran main, 0 when an earlier call did, -1 while main is still running (an
 * export re-entered from inside main); *status is main's return value (0
 * while it runs). */
int wasio__program_main_once(int *status) {
  int state = main_state;
  if (state == MAIN_NOT_RUN) {
    *status = run_main();
    return 1;
  }
  *status = main_status;
  return state == MAIN_RETURNED ? 0 : -1;
}

#endif
