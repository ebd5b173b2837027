/* fuzz/fuzz_url.c: the URL parser. Checks that the views stay inside the
 * input, that the parts are well formed, and that the URL rebuilt from its
 * parts ("http[s]://" authority target) parses to the same parts. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  const char *in = (const char *)data;
  wasio_url_t u, v;
  int rc = wasio_url_parse(in, size, &u);
  if (rc != 0) {
    FUZZ_CHECK(rc < 0);
    return 0;
  }
  FUZZ_CHECK(u.host.len > 0 && fuzz_inside(u.host, in, size));
  FUZZ_CHECK(fuzz_inside(u.authority, in, size) && u.authority.len >= u.host.len);
  FUZZ_CHECK(u.port != 0);
  FUZZ_CHECK(u.path.len > 0 && u.path.ptr[0] == '/');
  FUZZ_CHECK(!u.has_query || fuzz_inside(u.query, in, size));
  size_t cap = size + 16;
  char *buf = malloc(cap);
  int t = wasio_url_target(&u, buf, cap);
  FUZZ_CHECK(t > 0 && (size_t)t <= size + 1);
  for (int i = 0; i < t; i++) FUZZ_CHECK((unsigned char)buf[i] > 0x20 && (unsigned char)buf[i] < 0x7f && buf[i] != '#');

  /* Rebuild and reparse. */
  char *r = malloc(size + 32);
  size_t n = (size_t)snprintf(r, size + 32, "%s://%.*s", u.https ? "https" : "http", (int)u.authority.len, u.authority.ptr);
  memcpy(r + n, buf, (size_t)t);
  n += (size_t)t;
  FUZZ_CHECK(wasio_url_parse(r, n, &v) == 0);
  FUZZ_CHECK(v.https == u.https && v.port == u.port && v.host_is_ipv6 == u.host_is_ipv6);
  FUZZ_CHECK(v.host.len == u.host.len && memcmp(v.host.ptr, u.host.ptr, u.host.len) == 0);
  FUZZ_CHECK(v.path.len == u.path.len && memcmp(v.path.ptr, u.path.ptr, u.path.len) == 0);
  FUZZ_CHECK(v.has_query == u.has_query && v.query.len == u.query.len);
  free(r);
  free(buf);
  return 0;
}
