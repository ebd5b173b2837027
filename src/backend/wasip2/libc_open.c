/* src/backend/wasip2/libc_open.c: one adjustment of the libc's file opens,
 * for jco.
 *
 * The pinned wasi-libc (docs/POSIX.md) asks wasi:filesystem open-at for
 * `mutate-directory` on every open for writing (O_WRONLY/O_RDWR), file or
 * not. jco's preview2-shim (1.35) refuses any open that asks for it
 * ("unsupported", ENOTSUP): on jco no component could create or write a
 * file (wasio-fetch -o, wasio-serve's access log). wasmtime accepts it.
 * The flag only means something when the opened object is a directory,
 * and a directory cannot be opened for writing (is-directory), so for a
 * write open without O_DIRECTORY it is dropped here; every other open goes
 * to the host as the libc made it.
 *
 * How: tools/wasio-cc links with --wrap=filesystem_method_descriptor_open_at
 * (the libc's own binding, declared in its public <wasi/wasip2.h>; only the
 * libc's openat calls it, from another object than its own), so the libc's
 * call lands here, and this calls the libc's binding (__real_...). On
 * jco, the apps' tests that write files (wasio-fetch -o, -O, -D;
 * wasio-serve --log FILE) go through it.
 */
#include <wasi/wasip2.h>

bool __real_filesystem_method_descriptor_open_at(filesystem_borrow_descriptor_t self,
                                                  filesystem_path_flags_t path_flags, wasip2_string_t *path,
                                                  filesystem_open_flags_t open_flags,
                                                  filesystem_descriptor_flags_t flags,
                                                  filesystem_own_descriptor_t *ret, filesystem_error_code_t *err);

/* The libc's open-at with `mutate-directory` dropped from write opens of
 * non-directories (see above). */
bool __wrap_filesystem_method_descriptor_open_at(filesystem_borrow_descriptor_t self,
                                                  filesystem_path_flags_t path_flags, wasip2_string_t *path,
                                                  filesystem_open_flags_t open_flags,
                                                  filesystem_descriptor_flags_t flags,
                                                  filesystem_own_descriptor_t *ret, filesystem_error_code_t *err) {
  if ((flags & FILESYSTEM_DESCRIPTOR_FLAGS_WRITE) && !(open_flags & FILESYSTEM_OPEN_FLAGS_DIRECTORY))
    flags &= (filesystem_descriptor_flags_t)~FILESYSTEM_DESCRIPTOR_FLAGS_MUTATE_DIRECTORY;
  return __real_filesystem_method_descriptor_open_at(self, path_flags, path, open_flags, flags, ret, err);
}
