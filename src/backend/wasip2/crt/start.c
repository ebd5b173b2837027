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
 * Compiled on its own into build/wasm32/crt1-wasio.o, not into libwasio.a.
 */
#include <stdlib.h>

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
