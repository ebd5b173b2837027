/* tools/hiredis/include/sys/un.h: <sys/un.h> for building hiredis (the
 * unchanged Debian source) for wasm32 against the wasip2 libc, first on its
 * include path (src/bridge/hiredis.mk).
 *
 * WASI has no Unix-domain sockets, so the pinned wasi-libc's <sys/un.h>
 * declares a struct sockaddr_un without sun_path, and hiredis's net.c
 * (redisContextConnectUnix, which fills sun_path) does not compile. This
 * header declares the POSIX struct instead, and defines the include guard
 * of the libc's own struct so that no libc header declares it again.
 * Nothing else changes: hiredis's Unix-socket connect still compiles to a
 * socket(AF_UNIX, ...) call, which the libc refuses, so
 * redisConnectUnix() fails with hiredis's I/O error (REDIS_ERR_IO), the
 * same answer a host without Unix sockets would give.
 */
#ifndef WASIO_HIREDIS_SYS_UN_H
#define WASIO_HIREDIS_SYS_UN_H

#ifndef __wasi__
#error "tools/hiredis/include is for the wasm32 build of hiredis only"
#endif

#include <sys/socket.h>

#define __wasilibc___struct_sockaddr_un_h
struct sockaddr_un {
  sa_family_t sun_family;
  char sun_path[108];
};

#endif
