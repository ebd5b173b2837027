/* src/core/alloc.c: every heap allocation of wasio goes through here so the
 * loop can count them (wasio_loop_stats; the benchmarks and unit tests assert
 * that a steady-state turn allocates nothing), and so that the native test
 * build can make any one of them fail (wasio__alloc_fail_nth: the
 * allocation-failure tests, tests/unit/alloc_fail.c). */
#include <stdlib.h>

#include "internal.h"

/* Per thread (see internal.h): a loop and everything it allocates live on
 * one thread, and helper threads (the posix DNS workers) only free. */
_Thread_local uint64_t wasio__alloc_count;

#ifdef WASIO_DEBUG
/* The value of wasio__alloc_count whose allocation fails (0: none), and
 * whether every later one fails too. Only in the WASIO_DEBUG build (the
 * native tests, under the sanitizers): the libraries users link (wasm32,
 * native release) have neither the variables nor the comparison. */
static _Thread_local uint64_t wasio__alloc_fail_at;
static _Thread_local bool wasio__alloc_fail_after;

void wasio__alloc_fail_nth(uint64_t n, bool and_after) {
  wasio__alloc_fail_at = n ? wasio__alloc_count + n : 0;
  wasio__alloc_fail_after = and_after;
}

/* Counts the allocation about to be made; true if it is to fail. */
static inline bool wasio__alloc_next(void) {
  uint64_t c = ++wasio__alloc_count;
  return wasio__alloc_fail_at != 0 &&
         (c == wasio__alloc_fail_at || (wasio__alloc_fail_after && c > wasio__alloc_fail_at));
}
#else
static inline bool wasio__alloc_next(void) {
  wasio__alloc_count++;
  return false;
}
#endif

void *wasio__malloc(size_t n) {
  return wasio__alloc_next() ? NULL : malloc(n);
}

void *wasio__calloc(size_t n, size_t size) {
  return wasio__alloc_next() ? NULL : calloc(n, size);
}

/* A failed realloc leaves `p` as it was, as realloc(3) does. */
void *wasio__realloc(void *p, size_t n) {
  return wasio__alloc_next() ? NULL : realloc(p, n);
}

void wasio__free(void *p) { free(p); }
