/* src/core/idmap.h: a map from nonzero 32-bit numbers to pointers, sized by
 * the entries it holds, not by the numbers: the WASI 0.3 backend maps each
 * waitable number the host gives out to its waiter with it (a host may
 * never reuse a number: jco's only grow).
 *
 * Implementation notes (idmap.c)
 * - Linear probing over a power-of-two array of (key, value) slots, key 0
 *   marking an empty slot; at most half full, so a probe ends at an empty
 *   slot soon. It starts at WASIO__IDMAP_INITIAL slots and doubles.
 * - Removal shifts the later entries of its run back into the hole instead
 *   of leaving tombstones, so lookups never slow down with churn.
 * - Nothing is allocated except when the map grows. */
#ifndef WASIO_CORE_IDMAP_H
#define WASIO_CORE_IDMAP_H

#include <stdint.h>

typedef struct wasio__idmap_slot {
  uint32_t key; /* 0: empty */
  void *val;
} wasio__idmap_slot_t;

typedef struct wasio__idmap {
  wasio__idmap_slot_t *slots;
  uint32_t cap;   /* 0 or a power of two */
  uint32_t count; /* entries */
} wasio__idmap_t;

/* The value of `key`, or NULL (also for key 0). */
void *wasio__idmap_get(const wasio__idmap_t *m, uint32_t key);
/* Maps `key` (nonzero) to `val` (non-NULL), replacing what it mapped to:
 * 0, WASIO_EINVAL for key 0 or a NULL val, or WASIO_ENOMEM (the map as
 * it was). */
int wasio__idmap_put(wasio__idmap_t *m, uint32_t key, void *val);
/* Removes `key` if it maps to `val` (a number given out again may map to
 * another value by now, which stays). */
void wasio__idmap_del(wasio__idmap_t *m, uint32_t key, const void *val);
/* Frees the slots; the map is empty and usable again. */
void wasio__idmap_free(wasio__idmap_t *m);

#endif
