/* src/core/idmap.c: a map from nonzero 32-bit numbers to pointers (the
 * notes are in idmap.h). */
#include "idmap.h"

#include "internal.h"

/* Slots when the map first holds something. */
#define WASIO__IDMAP_INITIAL 64

/* Fibonacci hashing: the top log2(cap) bits of key * 2^32/phi, which
 * spread consecutive numbers and multiples of a power of two alike. */
static uint32_t home_of(const wasio__idmap_t *m, uint32_t key) {
  return (key * 2654435769u) >> (32 - (uint32_t)__builtin_ctz(m->cap));
}

/* The slot holding `key`, or the empty slot ending its probe. */
static uint32_t probe(const wasio__idmap_t *m, uint32_t key) {
  uint32_t i = home_of(m, key);
  while (m->slots[i].key != 0 && m->slots[i].key != key) i = (i + 1) & (m->cap - 1);
  return i;
}

void *wasio__idmap_get(const wasio__idmap_t *m, uint32_t key) {
  if (m->cap == 0 || key == 0) return NULL;
  return m->slots[probe(m, key)].val;
}

static int grow(wasio__idmap_t *m) {
  uint32_t cap = m->cap ? m->cap * 2 : WASIO__IDMAP_INITIAL;
  wasio__idmap_slot_t *slots = wasio__calloc(cap, sizeof *slots);
  if (slots == NULL) return WASIO_ENOMEM;
  wasio__idmap_t next = {slots, cap, m->count};
  for (uint32_t i = 0; i < m->cap; i++)
    if (m->slots[i].key != 0) next.slots[probe(&next, m->slots[i].key)] = m->slots[i];
  wasio__free(m->slots);
  *m = next;
  return 0;
}

int wasio__idmap_put(wasio__idmap_t *m, uint32_t key, void *val) {
  if (key == 0 || val == NULL) return WASIO_EINVAL;
  if (m->cap != 0) {
    wasio__idmap_slot_t *s = &m->slots[probe(m, key)];
    if (s->key == key) {
      s->val = val;
      return 0;
    }
  }
  if ((m->count + 1) * 2 > m->cap) {
    int rc = grow(m);
    if (rc != 0) return rc;
  }
  m->slots[probe(m, key)] = (wasio__idmap_slot_t){key, val};
  m->count++;
  return 0;
}

void wasio__idmap_del(wasio__idmap_t *m, uint32_t key, const void *val) {
  if (m->cap == 0 || key == 0) return;
  uint32_t mask = m->cap - 1;
  uint32_t hole = probe(m, key);
  if (m->slots[hole].key != key || m->slots[hole].val != val) return;
  /* Backward shift: a later entry of the run moves into the hole unless
   * its home lies cyclically after the hole (in (hole, its slot]). */
  for (uint32_t j = (hole + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
    if (((j - home_of(m, m->slots[j].key)) & mask) >= ((j - hole) & mask)) {
      m->slots[hole] = m->slots[j];
      hole = j;
    }
  }
  m->slots[hole] = (wasio__idmap_slot_t){0, NULL};
  m->count--;
}

void wasio__idmap_free(wasio__idmap_t *m) {
  wasio__free(m->slots);
  *m = (wasio__idmap_t){NULL, 0, 0};
}
