/* bench/alloc_count.h: an independent count of heap allocations, to
 * cross-check wasio_loop_stats().allocations.
 *
 * The benchmarks link with -Wl,--wrap=malloc (and calloc, realloc,
 * aligned_alloc, posix_memalign; see BENCH_WRAP in the Makefile), so every
 * reference to those functions in the statically linked objects (the
 * program, libwasio.a with its generated WASI bindings and, in a
 * component, wasi-libc itself) goes through the counters below. Natively
 * glibc is a shared library: allocations inside glibc are not seen, only
 * those of the program and libwasio.a. Include this file from exactly one
 * source file of a program.
 */
#ifndef BENCH_ALLOC_COUNT_H
#define BENCH_ALLOC_COUNT_H

#include <stddef.h>
#include <stdint.h>

static uint64_t bench_heap_allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **out, size_t align, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
int __wrap_posix_memalign(void **out, size_t align, size_t n);

void *__wrap_malloc(size_t n) {
  bench_heap_allocs++;
  return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
  bench_heap_allocs++;
  return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
  bench_heap_allocs++;
  return __real_realloc(p, n);
}
void *__wrap_aligned_alloc(size_t align, size_t n) {
  bench_heap_allocs++;
  return __real_aligned_alloc(align, n);
}
int __wrap_posix_memalign(void **out, size_t align, size_t n) {
  bench_heap_allocs++;
  return __real_posix_memalign(out, align, n);
}

/* Bytes the program holds, for the memory figures of bench/run_http.py
 * (memory per idle connection). Natively: glibc's mallinfo2(), the bytes in
 * malloc'd chunks in use (arena plus mmapped chunks) of the whole process,
 * wasio and libc alike, an exact count, used as the difference between two
 * moments. In a component: the size of linear memory (memory.size pages of
 * 64 KiB): wasi-libc's dlmalloc has no mallinfo, and linear memory is what
 * the host commits for a component. It only grows, so a difference
 * includes any transient peak in between and is an upper bound; the driver
 * keeps peaks small (one connection set up at a time) and uses enough
 * connections that 64 KiB pages do not blur the figure. */
#if defined(__wasm__)
#define BENCH_HEAP_KIND "linear-memory"
static inline uint64_t bench_heap_bytes(void) { return (uint64_t)__builtin_wasm_memory_size(0) * 65536u; }
#else
#include <malloc.h>
#define BENCH_HEAP_KIND "mallinfo2"
static inline uint64_t bench_heap_bytes(void) {
  struct mallinfo2 mi = mallinfo2();
  return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}
#endif

#endif
