/* tests/unit/error.c: the generated error names and messages. */
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

TEST(error_every_code_has_a_class) {
  /* Every code is in one class; every class is used and named, the names
   * distinct. */
  int used[WASIO__ERRCLASS_COUNT] = {0};
  for (int i = 1; i < WASIO__ERRNO_COUNT; i++) {
    wasio_err_class_t c = wasio_err_class(-i);
    if (c <= WASIO_ERRCLASS_NONE || c >= WASIO__ERRCLASS_COUNT)
      harness_fail(__FILE__, __LINE__, "%s has no class (%d)", wasio_err_name(-i), (int)c);
    used[c]++;
  }
  for (int c = 1; c < WASIO__ERRCLASS_COUNT; c++) {
    const char *name = wasio_err_class_name((wasio_err_class_t)c);
    if (used[c] == 0) harness_fail(__FILE__, __LINE__, "class %s has no code", name);
    ASSERT_TRUE(name[0] != 0 && strcmp(name, "none") != 0);
    for (int d = 1; d < c; d++) ASSERT_TRUE(strcmp(name, wasio_err_class_name((wasio_err_class_t)d)) != 0);
  }
}

TEST(error_class_spot_checks) {
  ASSERT_EQ_INT(wasio_err_class(0), WASIO_ERRCLASS_NONE);
  ASSERT_EQ_INT(wasio_err_class(1), WASIO_ERRCLASS_NONE);
  ASSERT_EQ_INT(wasio_err_class(-WASIO__ERRNO_COUNT), WASIO_ERRCLASS_NONE);
  ASSERT_EQ_INT(wasio_err_class(-2147483647 - 1), WASIO_ERRCLASS_NONE);
  ASSERT_EQ_STR(wasio_err_class_name(WASIO_ERRCLASS_NONE), "none");
  ASSERT_EQ_STR(wasio_err_class_name((wasio_err_class_t)WASIO__ERRCLASS_COUNT), "none");
  ASSERT_EQ_STR(wasio_err_class_name((wasio_err_class_t)-1), "none");
  ASSERT_EQ_INT(wasio_err_class(WASIO_EOF), WASIO_ERRCLASS_END);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EINVAL), WASIO_ERRCLASS_USAGE);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ESTATE), WASIO_ERRCLASS_USAGE);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ENOMEM), WASIO_ERRCLASS_RESOURCE);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EMFILE), WASIO_ERRCLASS_RESOURCE);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ECANCELED), WASIO_ERRCLASS_CANCELED);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ETIMEDOUT), WASIO_ERRCLASS_TIMEOUT);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ECONNREFUSED), WASIO_ERRCLASS_NETWORK);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ECONNRESET), WASIO_ERRCLASS_NETWORK);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EIO), WASIO_ERRCLASS_IO);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ENAMENOTFOUND), WASIO_ERRCLASS_DNS);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EDNSTEMP), WASIO_ERRCLASS_DNS);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ETLS_ALERT), WASIO_ERRCLASS_TLS);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ETLS_NOT_TLS), WASIO_ERRCLASS_TLS);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ETLS_CERT_EXPIRED), WASIO_ERRCLASS_TLS_CERT);
  ASSERT_EQ_INT(wasio_err_class(WASIO_ETLS_CERT_PIN), WASIO_ERRCLASS_TLS_CERT);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EHTTP_BAD_CHUNK_SIZE), WASIO_ERRCLASS_HTTP);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EHTTP_TRUNCATED), WASIO_ERRCLASS_HTTP);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EURL_SCHEME), WASIO_ERRCLASS_URL);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EURL_NUL), WASIO_ERRCLASS_URL);
  /* The codes of HTTP through the host (wasio/http.h's HOST transport). */
  ASSERT_EQ_INT(wasio_err_class(WASIO_EHTTP_DENIED), WASIO_ERRCLASS_NETWORK);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EHTTP_BODY_SIZE), WASIO_ERRCLASS_HTTP);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EHTTP_PROTOCOL), WASIO_ERRCLASS_HTTP);
  ASSERT_EQ_INT(wasio_err_class(WASIO_EHTTP_FORBIDDEN_HEADER), WASIO_ERRCLASS_HTTP);
  ASSERT_EQ_STR(wasio_err_name(WASIO_EHTTP_FORBIDDEN_HEADER), "WASIO_EHTTP_FORBIDDEN_HEADER");
  ASSERT_EQ_STR(wasio_err_class_name(wasio_err_class(WASIO_ECONNREFUSED)), "network");
  ASSERT_EQ_STR(wasio_err_class_name(WASIO_ERRCLASS_TLS_CERT), "tls_cert");
  ASSERT_EQ_STR(wasio_err_class_name(WASIO_ERRCLASS_DNS), "dns");
}
