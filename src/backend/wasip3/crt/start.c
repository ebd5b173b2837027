/* src/backend/wasip3/crt/start.c: the program entry of a wasio command
 * component on WASI 0.3 (tools/wasio-cc --p3 links with -nostartfiles and
 * this object, build/wasm32/crt1-wasio-p3.o).
 *
 * The export is wasi:cli/run@0.3.0's `run`, an `async func`, lifted
 * synchronously: the core function runs main to its end and may block
 * meanwhile, which the component model allows a task of an async function
 * type (wasmtime 49 with its defaults). So the loop waits in
 * waitable-set.wait (src/backend/wasip3/reactor.c) exactly where the
 * wasip2 loop waits in wasi:io/poll.poll, and a command keeps its shape:
 * main runs once, wasio_loop_run returns when no handle is left. The
 * callback form of the export would make every wait a return to the host,
 * which C's main, with its stack, cannot do.
 *
 * As on wasip2 (src/backend/wasip2/crt/start.c has the why): constructors
 * once, main, exit(); _Exit hands the status to the host with
 * wasi:cli/exit@0.3.0's exit-with-code, so `$?` is the program's code. The
 * libc (wasip2, docs/POSIX.md) keeps its WASI 0.2 stdio and arguments.
 */
#include <stdint.h>
#include <stdlib.h>

#include "imports.h"

#define WASI_CLI_RUN "wasi:cli/run@0.3.0#run"

/* The `command` world of wit/wasio-p3.wit (in libwasio-p3.a). */
extern void __component_type_object_force_link_command(void);
__attribute__((used)) void wasio__command_type(void) { __component_type_object_force_link_command(); }

/* main's state and wasio__program_main_once, which the --p3 --http
 * build's handler export uses (src/backend/wasi/crt_main.h). */
#include "../../wasi/crt_main.h"

__attribute__((export_name(WASI_CLI_RUN))) int32_t _start(void) {
  exit(run_main_once_or_trap());
}

/* _Exit and _exit: exit-with-code, as the wasip2 entry's (shared). */
#include "../../wasi/crt_exit.h"
