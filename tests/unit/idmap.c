/* tests/unit/idmap.c: the number -> pointer map of src/core/idmap.h (the
 * WASI 0.3 backend's waitable numbers), checked against a plain array. */
#include "harness.h"
#include "internal.h"
#include "idmap.h"

#define KEYS 5000

static int vals[KEYS + 1];

/* The map holds exactly the keys `in` marks, each with its own value. */
static void agrees(const wasio__idmap_t *m, const bool *in, uint32_t n, uint32_t stride) {
  uint32_t count = 0;
  for (uint32_t k = 1; k <= n; k++) {
    void *v = wasio__idmap_get(m, k * stride);
    if (in[k]) {
      ASSERT_TRUE(v == &vals[k]);
      count++;
    } else {
      ASSERT_TRUE(v == NULL);
    }
  }
  ASSERT_EQ_INT((int)m->count, (int)count);
  ASSERT_TRUE(m->count * 2 <= m->cap);
}

/* Keys that grow without reuse (jco's numbers), in a sliding window: the
 * map's size follows the window, not the numbers. */
TEST(idmap_window_of_growing_numbers) {
  wasio__idmap_t m = {0};
  static bool in[KEYS + 1];
  memset(in, 0, sizeof in);
  for (uint32_t k = 1; k <= KEYS; k++) {
    ASSERT_OK(wasio__idmap_put(&m, k, &vals[k]));
    in[k] = true;
    if (k > 40) {
      wasio__idmap_del(&m, k - 40, &vals[k - 40]);
      in[k - 40] = false;
    }
  }
  agrees(&m, in, KEYS, 1);
  ASSERT_TRUE(m.cap <= 128); /* 40 live: 64 or 128 slots, never thousands */
  wasio__idmap_free(&m);
}

/* Keys that collide (multiples of a power of two land on few homes), put
 * and removed in a scrambled order: every removal from the middle of a run
 * and across the end of the array keeps every other key reachable. */
TEST(idmap_colliding_keys_removed_in_any_order) {
  for (uint32_t stride = 1; stride <= 1u << 16; stride <<= 4) {
    wasio__idmap_t m = {0};
    static bool in[KEYS + 1];
    memset(in, 0, sizeof in);
    const uint32_t n = 1000;
    for (uint32_t k = 1; k <= n; k++) {
      ASSERT_OK(wasio__idmap_put(&m, k * stride, &vals[k]));
      in[k] = true;
    }
    agrees(&m, in, n, stride);
    for (uint32_t i = 0; i < n; i++) {
      uint32_t k = 1 + (i * 7919u) % n; /* a permutation of 1..n */
      wasio__idmap_del(&m, k * stride, &vals[k]);
      in[k] = false;
      if (i % 97 == 0) agrees(&m, in, n, stride);
    }
    agrees(&m, in, n, stride);
    ASSERT_EQ_INT((int)m.count, 0);
    wasio__idmap_free(&m);
  }
}

/* A number given out again maps to its new value; removing it with the old
 * value leaves the new one. Key 0 and NULL are refused. */
TEST(idmap_reused_number_and_bad_arguments) {
  wasio__idmap_t m = {0};
  ASSERT_TRUE(wasio__idmap_get(&m, 7) == NULL);
  wasio__idmap_del(&m, 7, &vals[1]); /* empty map: nothing */
  ASSERT_OK(wasio__idmap_put(&m, 7, &vals[1]));
  ASSERT_OK(wasio__idmap_put(&m, 7, &vals[2]));
  ASSERT_EQ_INT((int)m.count, 1);
  wasio__idmap_del(&m, 7, &vals[1]);
  ASSERT_TRUE(wasio__idmap_get(&m, 7) == &vals[2]);
  wasio__idmap_del(&m, 7, &vals[2]);
  ASSERT_TRUE(wasio__idmap_get(&m, 7) == NULL);
  ASSERT_EQ_INT(wasio__idmap_put(&m, 0, &vals[1]), WASIO_EINVAL);
  ASSERT_EQ_INT(wasio__idmap_put(&m, 8, NULL), WASIO_EINVAL);
  ASSERT_TRUE(wasio__idmap_get(&m, 0) == NULL);
  ASSERT_EQ_INT((int)m.count, 0);
  wasio__idmap_free(&m);
}

/* Out of memory while growing: the put fails and the map is as it was. */
TEST(idmap_grow_fails_cleanly) {
  wasio__idmap_t m = {0};
  for (uint32_t k = 1; k <= 32; k++) ASSERT_OK(wasio__idmap_put(&m, k, &vals[k])); /* 64 slots, half full */
  ASSERT_EQ_INT((int)m.cap, 64);
  wasio__alloc_fail_nth(1, false);
  int rc = wasio__idmap_put(&m, 33, &vals[33]);
  wasio__alloc_fail_nth(0, false);
  ASSERT_EQ_INT(rc, WASIO_ENOMEM);
  ASSERT_EQ_INT((int)m.cap, 64);
  static bool in[KEYS + 1];
  memset(in, 0, sizeof in);
  for (uint32_t k = 1; k <= 32; k++) in[k] = true;
  agrees(&m, in, 40, 1);
  ASSERT_OK(wasio__idmap_put(&m, 33, &vals[33]));
  in[33] = true;
  agrees(&m, in, 40, 1);
  wasio__idmap_free(&m);
}
