/* tests/harness.h: wasio's test registry and typed asserts.
 *
 * A test file defines tests with TEST(name) { ... }; they register
 * themselves before main (constructors) and run in file order. The same
 * file builds as a native program (posix backend, ASan+UBSan) and as a
 * component (wasip2 backend). Output, one line per test, read by
 * tests/run.py:
 *   PASS name (12.3 ms)
 *   FAIL name: file.c:42: ASSERT_EQ_INT(a, b): 3 != 4
 *   SKIP name: reason
 * A failed assert prints its FAIL line and ends the process with status 1
 * (tests/run.py runs each test in a process of its own); a skip ends it with
 * HARNESS_EXIT_SKIP.
 *
 * Parameters: tests read "key=value" arguments with harness_param(); the
 * driver passes e.g. port=40123 for a helper server's port, and always
 * host=NAME (native, wasmtime, jco-p3, ...: tests/run.py's hosts). `--list` prints
 * the test names; a bare NAME argument runs only the tests so named.
 */
#ifndef WASIO_TEST_HARNESS_H
#define WASIO_TEST_HARNESS_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

#define HARNESS_EXIT_SKIP 77

typedef void (*harness_fn)(void);
void harness_register(const char *name, harness_fn fn);

#define TEST(name)                                                            \
  static void test_##name(void);                                              \
  __attribute__((constructor)) static void register_##name(void) {           \
    harness_register(#name, test_##name);                                     \
  }                                                                           \
  static void test_##name(void)

/* Fails the current test: prints FAIL and exits. */
__attribute__((noreturn)) void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Skips the current test with a reason (printed). */
__attribute__((noreturn)) void harness_skip(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* "key=value" argument, or `def` when absent. */
const char *harness_param(const char *key, const char *def);
long harness_param_int(const char *key, long def);

#define ASSERT_TRUE(c)                                                        \
  do { if (!(c)) harness_fail(__FILE__, __LINE__, "ASSERT_TRUE(%s)", #c); } while (0)

#define WASIO__ASSERT_INT(a, op, b)                                           \
  do {                                                                        \
    long long _a = (long long)(a), _b = (long long)(b);                       \
    if (!(_a op _b))                                                          \
      harness_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op, #b, \
                   _a, _b);                                                   \
  } while (0)
#define ASSERT_EQ_INT(a, b) WASIO__ASSERT_INT(a, ==, b)
#define ASSERT_NE_INT(a, b) WASIO__ASSERT_INT(a, !=, b)
#define ASSERT_LT_INT(a, b) WASIO__ASSERT_INT(a, <, b)
#define ASSERT_LE_INT(a, b) WASIO__ASSERT_INT(a, <=, b)
#define ASSERT_GT_INT(a, b) WASIO__ASSERT_INT(a, >, b)
#define ASSERT_GE_INT(a, b) WASIO__ASSERT_INT(a, >=, b)

#define WASIO__ASSERT_U64(a, op, b)                                           \
  do {                                                                        \
    unsigned long long _a = (unsigned long long)(a),                          \
                       _b = (unsigned long long)(b);                          \
    if (!(_a op _b))                                                          \
      harness_fail(__FILE__, __LINE__, "%s %s %s: %llu vs %llu", #a, #op, #b, \
                   _a, _b);                                                   \
  } while (0)
#define ASSERT_EQ_U64(a, b) WASIO__ASSERT_U64(a, ==, b)
#define ASSERT_GE_U64(a, b) WASIO__ASSERT_U64(a, >=, b)
#define ASSERT_LE_U64(a, b) WASIO__ASSERT_U64(a, <=, b)
#define ASSERT_LT_U64(a, b) WASIO__ASSERT_U64(a, <, b)

#define ASSERT_EQ_STR(a, b)                                                   \
  do {                                                                        \
    const char *_a = (a), *_b = (b);                                          \
    if (!_a || !_b || strcmp(_a, _b) != 0)                                    \
      harness_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b,  \
                   _a ? _a : "(null)", _b ? _b : "(null)");                   \
  } while (0)

#define ASSERT_EQ_MEM(a, b, n)                                                \
  do {                                                                        \
    size_t _n = (n);                                                          \
    if (memcmp((a), (b), _n) != 0)                                            \
      harness_fail(__FILE__, __LINE__, "%s == %s over %zu bytes: differ at %zu", \
                   #a, #b, _n, harness_first_diff((a), (b), _n));             \
  } while (0)
size_t harness_first_diff(const void *a, const void *b, size_t n);

/* wasio-specific: asserts a wasio call returned `want`, printing both codes
 * by name (e.g. "WASIO_ECONNREFUSED vs 0"). */
#define ASSERT_WASIO(want, expr)                                              \
  do {                                                                        \
    int _w = (want), _g = (expr);                                             \
    if (_w != _g)                                                             \
      harness_fail(__FILE__, __LINE__, "%s == %s: got %s (%d), want %s (%d)", \
                   #expr, #want, harness_err_name(_g), _g,                    \
                   harness_err_name(_w), _w);                                 \
  } while (0)
#define ASSERT_OK(expr) ASSERT_WASIO(0, expr)
const char *harness_err_name(int err);

/* The leak check every loop test ends with: runs the loop until idle, then
 * asserts wasio_loop_close() succeeds; on failure lists every open handle by
 * kind and fails the test. */
struct wasio_loop;
void harness_close_loop(const char *file, int line, struct wasio_loop *loop);
#define ASSERT_LOOP_CLOSED(loop) harness_close_loop(__FILE__, __LINE__, (loop))

#endif
