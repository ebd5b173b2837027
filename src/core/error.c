/* src/core/error.c: messages, names and classes of the error codes,
 * generated from the X-macros in wasio/error.h so they can never disagree
 * with the enum. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

static const char *const wasio__err_msgs[WASIO__ERRNO_COUNT] = {
  "success",
#define WASIO__ERR_MSG(name, cls, msg) msg,
  WASIO_ERRNO_MAP(WASIO__ERR_MSG)
#undef WASIO__ERR_MSG
};

static const char *const wasio__err_names[WASIO__ERRNO_COUNT] = {
  "0",
#define WASIO__ERR_NAME(name, cls, msg) "WASIO_" #name,
  WASIO_ERRNO_MAP(WASIO__ERR_NAME)
#undef WASIO__ERR_NAME
};

static const uint8_t wasio__err_classes[WASIO__ERRNO_COUNT] = {
  WASIO_ERRCLASS_NONE,
#define WASIO__ERR_CLASS(name, cls, msg) WASIO_ERRCLASS_##cls,
  WASIO_ERRNO_MAP(WASIO__ERR_CLASS)
#undef WASIO__ERR_CLASS
};

static const char *const wasio__errclass_names[WASIO__ERRCLASS_COUNT] = {
  "none",
#define WASIO__ERRCLASS_NAME(cls, name, meaning) name,
  WASIO_ERRCLASS_MAP(WASIO__ERRCLASS_NAME)
#undef WASIO__ERRCLASS_NAME
};

/* Codes are negative indexes into the tables; anything else is unknown.
 * Returns -1 for an unknown code. The comparison is done in `long long` so
 * that INT_MIN cannot overflow when negated. */
static int wasio__err_index(int err) {
  long long idx = -(long long)err;
  if (idx < 0 || idx >= (long long)WASIO__ERRNO_COUNT) return -1;
  return (int)idx;
}

const char *wasio_strerror(int err) {
  int i = wasio__err_index(err);
  return i < 0 ? "unknown error" : wasio__err_msgs[i];
}

const char *wasio_err_name(int err) {
  int i = wasio__err_index(err);
  return i < 0 ? "WASIO_EUNKNOWN" : wasio__err_names[i];
}

wasio_err_class_t wasio_err_class(int err) {
  int i = wasio__err_index(err);
  return i < 0 ? WASIO_ERRCLASS_NONE : (wasio_err_class_t)wasio__err_classes[i];
}

const char *wasio_err_class_name(wasio_err_class_t cls) {
  return (unsigned)cls < WASIO__ERRCLASS_COUNT ? wasio__errclass_names[cls] : "none";
}

#ifdef WASIO_DEBUG
void wasio__assert_fail(const char *cond, const char *file, int line) {
  fprintf(stderr, "wasio: %s:%d: invariant broken: %s\n", file, line, cond);
  abort();
}
#endif

#ifdef WASIO_TRACE
void wasio__trace(const void *handle, const char *kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "wasio: %s@%p: ", kind, handle);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}
#endif
