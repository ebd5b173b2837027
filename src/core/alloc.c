/* src/core/alloc.c: every heap allocation of wasio goes through here so the
 * loop can count them (wasio_loop_stats; the benchmarks and unit tests assert
 * that a steady-state turn allocates nothing). */
#include <stdlib.h>

#include "internal.h"

/* Per thread (see internal.h): a loop and everything it allocates live on
 * one thread, and helper threads (the posix DNS workers) only free. */
_Thread_local uint64_t wasio__alloc_count;

void *wasio__malloc(size_t n) {
  wasio__alloc_count++;
  return malloc(n);
}

void *wasio__calloc(size_t n, size_t size) {
  wasio__alloc_count++;
  return calloc(n, size);
}

void *wasio__realloc(void *p, size_t n) {
  wasio__alloc_count++;
  return realloc(p, n);
}

void wasio__free(void *p) { free(p); }
