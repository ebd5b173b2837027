/* tools/curl/include/setjmp.h: stands in for wasi-libc's <setjmp.h> while
 * curl is compiled for wasm32 (only that build puts this folder on the
 * include path).
 *
 * curl's lib/hostip.c includes <setjmp.h> unconditionally, and wasi-libc's
 * header stops the compilation with #error unless the program is built with
 * WebAssembly exception handling. curl uses sigsetjmp only for its
 * alarm()-based name-lookup timeout (USE_ALARM_TIMEOUT), which needs
 * alarm() and sigsetjmp and is off in this build (HAVE_ALARM and
 * HAVE_SIGSETJMP are false: wasm32 has neither), so nothing of the header
 * is used and an empty one lets the file compile unchanged.
 */
#ifndef WASIO_CURL_SETJMP_H
#define WASIO_CURL_SETJMP_H
#endif
