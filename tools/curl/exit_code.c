/* tools/curl/exit_code.c: a component made with libcurl (the curl tool,
 * wasio-cc -lcurl programs) exits with its exit status, as natively.
 *
 * The wasip2 libc reports a status only as success or failure: exit()
 * ends in _Exit(), which calls wasi:cli/exit `exit(result)`, and a status
 * returned from main becomes the result of wasi:cli/run. So every failing
 * curl exited 1, and curl's own test suite, which checks curl's exit codes
 * (7 for a refused connect, 28 for a timeout, ...), could not tell them
 * apart. Two replacements fix it:
 * - main's return goes through exit(): the libc's program entry calls
 *   __main_void, which the link wraps (-Wl,--wrap=__main_void) so that its
 *   status is handed to exit() (atexit handlers and stdio flushing as
 *   usual);
 * - this _Exit replaces the libc's (the linker takes the first definition
 *   it finds: this object travels in libcurl.a, before the libc) and
 *   passes the status on with `exit-with-code(u8)`, through wasio's
 *   generated bindings (libwasio.a carries them and their component type),
 *   as wasio's own program entry does (src/backend/wasip2/crt/start.c,
 *   which says which hosts have it).
 * Only the wasm32 build uses it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "imports.h"

_Noreturn void _Exit(int status) {
  wasi_cli_exit_exit_with_code((uint8_t)status);
  __builtin_trap(); /* it does not return */
}

int __real___main_void(void);

/* main's status, through exit() and so through the _Exit above. */
int __wrap___main_void(void);
int __wrap___main_void(void) {
  exit(__real___main_void());
}
