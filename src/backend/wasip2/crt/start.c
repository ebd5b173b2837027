/* src/backend/wasip2/crt/start.c: the program entry of a wasio command
 * component, used instead of wasi-libc's crt1-command.o (tools/wasio-cc
 * links with -nostartfiles and this object).
 *
 * Why: Debian's wasi-libc (0.0~git20220510) has a crt1-command whose _start
 * does not call __wasm_call_ctors, so wasm-ld wraps EVERY export of the
 * module with "run constructors, call, run destructors". cabi_realloc is an
 * export, and the host calls it whenever it returns a list or string (every
 * wasi:io/poll call): constructors would run again each time and atexit
 * handlers would run and be consumed long before exit. A _start that calls
 * __wasm_call_ctors itself makes wasm-ld leave the exports alone (as newer
 * wasi-libc does), so constructors run exactly once, before main.
 *
 * The exit status. wasi-libc's exit() runs the atexit handlers and flushes
 * stdio, then calls _Exit(), whose libc version calls the preview1
 * proc_exit; the adapter turns that into wasi:cli/exit `exit(result)`, which
 * carries only ok/err: every failure would read as 1. The _Exit below
 * replaces libc's (the linker takes this object's definition and never
 * pulls libc's _Exit.o, which defines nothing else) and passes the status
 * on with `exit-with-code(u8)`, so `$?` on the host is the program's code,
 * as natively (the low 8 bits, as a POSIX shell sees them). exit-with-code
 * is @unstable(feature = cli-exit-with-code) in the WASI 0.2 WIT, but the
 * hosts wasio runs on all have it without a flag: wasmtime 49 always links
 * it ("-S cli-exit-with-code=n" only warns "cannot disable ... any more"),
 * jco's preview2-shim implements it, and so does wasio-tls-host (wasmtime's
 * wasmtime-wasi). A host without it could not instantiate any wasio
 * component (a missing import); docs/ARCHITECTURE.md says so.
 *
 * The same code runs main for the --http build's incoming-handler export
 * (wasio__program_main_once below): once per instance, in the first
 * request, without exit() after it.
 *
 * Compiled on its own into build/wasm32/crt1-wasio.o, not into libwasio.a.
 */
#include <stdint.h>
#include <stdlib.h>

#include "imports.h"

extern void __wasm_call_ctors(void);
extern int __original_main(void);

/* Where the program's main is in its instance's life: it runs at most
 * once per instance, whichever export gets there first. */
enum { MAIN_NOT_RUN = 0, MAIN_RUNNING, MAIN_RETURNED };
static volatile int main_state = MAIN_NOT_RUN;
static int main_status;

/* Constructors, then main; the one body of both entries below. */
static int run_main(void) {
  main_state = MAIN_RUNNING;
  __wasm_call_ctors();
  main_status = __original_main();
  main_state = MAIN_RETURNED;
  return main_status;
}

void _start(void) {
  /* A command runs once per instance: a second call is a host bug, as is
   * a run after another export already ran main. */
  if (main_state != MAIN_NOT_RUN) __builtin_trap();
  /* exit() runs the atexit handlers and destructors, then proc_exit. */
  exit(run_main());
}

/* The entry of the other exports (the --http build's incoming-handler,
 * src/backend/wasip2/http_incoming.c): the first call runs constructors
 * and main as _start does, but main's return ends nothing (no exit(), no
 * atexit handlers, no destructors): the instance lives on and serves what
 * main set up. Returns 1 when this call ran main, 0 when an earlier call
 * did, -1 while main is still running (an export re-entered from inside
 * main: a p2 host never does that); *status is main's return value (0
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

_Noreturn void _Exit(int status) {
  if (status == 0) {
    wasi_cli_exit_result_void_void_t ok = {.is_err = false};
    wasi_cli_exit_exit(&ok);
  } else {
    wasi_cli_exit_exit_with_code((uint8_t)status);
  }
  __builtin_trap(); /* neither returns */
}
