/* src/backend/wasi/abi.c: what both WASI backends (wasip2, wasip3) share
 * of the canonical ABI: the cabi_realloc that lands list results in
 * caller memory, and the host's random bytes. Compiled into each
 * backend's library against that backend's bindings (build/gen or
 * build/gen-p3: the names used here are the same in both).
 *
 * cabi_realloc. Results of list type (poll's list<u32>, a stream read's
 * list<u8>, random bytes, datagrams, a lookup's addresses) are written by
 * the host into memory it obtains from the guest's cabi_realloc. wasio
 * overrides the bindings' weak cabi_realloc with one that, while an
 * "arena" is set, bump-allocates inside buffers chosen by the caller: a
 * persistent result array, the caller's read buffer (zero copy), a
 * record-sized buffer beside it. Only a result that does not fit, or one
 * that arrives with no arena set (a WASI 0.3 async call's, lowered when
 * it returns), reaches the counted heap; its reader frees it with
 * wasio__abi_free.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "imports.h"
#include "abi.h"

/* ---- canonical ABI allocator ------------------------------------------------- */

/* The arena of the WASI call in progress: region 0 serves byte lists
 * (align 1), region 1, when set, everything aligned wider (records, u32
 * lists), so a result made of a record and its payload can land in two
 * buffers: a datagram's bytes in the read buffer, its record beside it.
 * wasm32 components are single threaded and no WASI call is ever made while
 * another one runs, so one static arena is enough. */
typedef struct wasio__region {
  uint8_t *base;
  size_t cap;
  size_t used;
} wasio__region_t;

static wasio__region_t wasio__arena[2];
/* The regions of the last call, kept after arena_clear so that
 * wasio__abi_free can tell arena memory from a heap fallback. */
static wasio__region_t wasio__last_arena[2];

void wasio__arena_set_split(void *bytes, size_t bytes_cap, void *words, size_t words_cap) {
  wasio__arena[0] = (wasio__region_t){ bytes, bytes_cap, 0 };
  wasio__arena[1] = (wasio__region_t){ words, words_cap, 0 };
  wasio__last_arena[0] = wasio__arena[0];
  wasio__last_arena[1] = wasio__arena[1];
}

void wasio__arena_set(void *base, size_t cap) { wasio__arena_set_split(base, cap, NULL, 0); }

void wasio__arena_clear(void) {
  memset(wasio__arena, 0, sizeof wasio__arena);
}

/* Whether `p` points into the region [base, base + cap]. */
static bool wasio__region_holds(const wasio__region_t *r, const void *p) {
  const uint8_t *q = p;
  return r->base != NULL && q >= r->base && q <= r->base + r->cap;
}

static bool wasio__last_arena_holds(const void *p) {
  return wasio__region_holds(&wasio__last_arena[0], p) || wasio__region_holds(&wasio__last_arena[1], p);
}

static void *wasio__region_alloc(wasio__region_t *r, size_t align, size_t size) {
  if (r->base == NULL) return NULL;
  uintptr_t base = (uintptr_t)r->base;
  uintptr_t start = (base + r->used + (align - 1)) & ~(uintptr_t)(align - 1);
  if (start + size > base + r->cap) return NULL;
  r->used = start + size - base;
  return (void *)start;
}

void wasio__abi_free(void *ptr, size_t size) {
  /* Zero-sized results are the alignment value, not memory. */
  if (ptr == NULL || size == 0) return;
  if (wasio__last_arena_holds(ptr)) return;
  wasio__free(ptr);
}

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *ptr, size_t old_size, size_t align, size_t new_size) {
  if (ptr == NULL) {
    wasio__region_t *r = align > 1 && wasio__arena[1].base != NULL ? &wasio__arena[1] : &wasio__arena[0];
    void *p = wasio__region_alloc(r, align, new_size);
    if (p != NULL) return p;
  }
  if (new_size == 0) return (void *)align;
  void *p;
  if (ptr != NULL && !wasio__last_arena_holds(ptr)) {
    p = wasio__realloc(ptr, new_size);
  } else {
    /* A fresh block, or a block in the arena growing (hosts do not do that
     * for results, but the ABI allows it): copy what it held. */
    p = wasio__malloc(new_size);
    if (p != NULL && ptr != NULL) memcpy(p, ptr, old_size < new_size ? old_size : new_size);
  }
  /* The canonical ABI has no way to report failure: trap. */
  if (p == NULL) abort();
  return p;
}

int wasio_random_bytes(void *buf, size_t len) {
  if (len == 0) return 0;
  if (buf == NULL) return WASIO_EINVAL;
  imports_list_u8_t ret;
  /* The host writes the bytes straight into `buf`. */
  wasio__arena_set(buf, len);
  wasi_random_random_get_random_bytes(len, &ret);
  wasio__arena_clear();
  int rc = ret.len == len ? 0 : WASIO_EIO;
  if (ret.ptr != buf && ret.len > 0) {
    if (rc == 0) memcpy(buf, ret.ptr, len);
    wasio__abi_free(ret.ptr, ret.len);
  }
  return rc;
}
