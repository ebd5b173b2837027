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
 * Compiled on its own into build/wasm32/crt1-wasio.o, not into libwasio.a.
 */
#include <stdint.h>
#include <stdlib.h>

#include "imports.h"

extern void __wasm_call_ctors(void);
extern int __original_main(void);

void _start(void) {
  /* A command runs once per instance: a second call is a host bug. */
  static volatile int started = 0;
  if (started) __builtin_trap();
  started = 1;
  __wasm_call_ctors();
  /* exit() runs the atexit handlers and destructors, then proc_exit. */
  exit(__original_main());
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
