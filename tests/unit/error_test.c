/* tests/unit/error_test.c: the generated error names and messages. */
#include "harness.h"
#include "wasio.h"

TEST(error_names) {
  ASSERT_EQ_INT(WASIO_EOF, -1);
  ASSERT_EQ_INT(WASIO_EINVAL, -2);
  ASSERT_EQ_STR(wasio_err_name(WASIO_ECONNREFUSED), "WASIO_ECONNREFUSED");
  ASSERT_EQ_STR(wasio_err_name(WASIO_ESTATE), "WASIO_ESTATE");
  ASSERT_EQ_STR(wasio_strerror(WASIO_ECONNREFUSED), "connection refused");
  ASSERT_EQ_STR(wasio_strerror(0), "success");
  ASSERT_EQ_STR(wasio_strerror(1), "unknown error");
  ASSERT_EQ_STR(wasio_strerror(-1000), "unknown error");
  ASSERT_EQ_STR(wasio_strerror(-2147483647 - 1), "unknown error");
  ASSERT_TRUE(wasio_err_name(12345) != NULL);
}

TEST(error_every_code_named) {
  /* Each code has a distinct name starting WASIO_E and a message. */
  for (int i = 1; i < WASIO__ERRNO_COUNT; i++) {
    const char *name = wasio_err_name(-i);
    ASSERT_TRUE(strncmp(name, "WASIO_E", 7) == 0);
    ASSERT_TRUE(strcmp(wasio_strerror(-i), "unknown error") != 0);
    for (int j = 1; j < i; j++) ASSERT_TRUE(strcmp(name, wasio_err_name(-j)) != 0);
  }
}
