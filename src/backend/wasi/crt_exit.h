/* src/backend/wasi/crt_exit.h: the program's _Exit and _exit, for the
 * program entries of both WASI backends (src/backend/wasip2/crt/start.c,
 * src/backend/wasip3/crt/start.c), each compiled once into its crt1
 * object with its own bindings (wasi:cli/exit at 0.2.12 or 0.3.0: the
 * same names in both). They replace the libc's: a status 0 is exit(ok),
 * any other passes through exit-with-code, so `$?` on the host is the
 * program's code (wasip2's start.c tells why the libc's cannot). Included
 * by exactly one file per entry, after "imports.h". */
#ifndef WASIO_BACKEND_WASI_CRT_EXIT_H
#define WASIO_BACKEND_WASI_CRT_EXIT_H

#include <stdint.h>

_Noreturn void _Exit(int status) {
  if (status == 0) {
    wasi_cli_exit_result_void_void_t ok = {.is_err = false};
    wasi_cli_exit_exit(&ok);
  } else {
    wasi_cli_exit_exit_with_code((uint8_t)status);
  }
  __builtin_trap(); /* neither returns */
}

/* POSIX's other name of _Exit (the libc defines both in one object). */
_Noreturn void _exit(int status) { _Exit(status); }

#endif
