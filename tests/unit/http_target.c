/* tests/unit/http_target.c: the server helpers for request targets
 * (wasio_http_target_parse, percent-decoding and -encoding, dot-segment
 * removal, query parameters). Inputs are exact-size heap copies, so one
 * byte read past the end is an ASan error; every error path is taken, and
 * the decoders are fed inputs split at every position. */
#include "testlib.h"

static wasio_http_target_t g_t;

/* Parses `s` from an exact copy; views are rebased onto `s` (or left alone
 * when they point at the static "/"). */
static int target(const char *s) {
  size_t n = strlen(s);
  char *c = exact_copy(s, n);
  int rc = wasio_http_target_parse((wasio_http_str_t){c, n}, &g_t);
  if (rc == 0) {
    wasio_http_str_t *v[] = {&g_t.host, &g_t.authority, &g_t.path, &g_t.query};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
      if (v[i]->len == 0 && v[i]->ptr == NULL) continue;
      if (v[i]->ptr >= c && v[i]->ptr <= c + n) {
        ASSERT_TRUE(v[i]->ptr + v[i]->len <= c + n);
        *v[i] = rebase(*v[i], c, s);
      } else {
        ASSERT_TRUE(v[i] == &g_t.path && str_is(*v[i], "/"));
      }
    }
  }
  free(c);
  return rc;
}

TEST(target_origin_form) {
  ASSERT_OK(target("/a/b%20c?x=1&y=%2F"));
  ASSERT_EQ_INT(g_t.form, WASIO_HTTP_TARGET_ORIGIN);
  ASSERT_STR_IS(g_t.path, "/a/b%20c");
  ASSERT_TRUE(g_t.has_query);
  ASSERT_STR_IS(g_t.query, "x=1&y=%2F");
  ASSERT_EQ_INT(g_t.host.len, 0);
  ASSERT_EQ_INT(g_t.authority.len, 0);
  ASSERT_EQ_INT(g_t.port, 0);
  ASSERT_OK(target("/"));
  ASSERT_STR_IS(g_t.path, "/");
  ASSERT_TRUE(!g_t.has_query);
  ASSERT_OK(target("/?"));
  ASSERT_TRUE(g_t.has_query);
  ASSERT_EQ_INT(g_t.query.len, 0);
  ASSERT_OK(target("/a?b?c/d"));
  ASSERT_STR_IS(g_t.path, "/a");
  ASSERT_STR_IS(g_t.query, "b?c/d");
  /* What browsers send unencoded is accepted. */
  ASSERT_OK(target("//x|y^z[1]{2}`"));
  ASSERT_STR_IS(g_t.path, "//x|y^z[1]{2}`");
}

TEST(target_absolute_form) {
  ASSERT_OK(target("http://Example.com:8080/p/q?x=%41"));
  ASSERT_EQ_INT(g_t.form, WASIO_HTTP_TARGET_ABSOLUTE);
  ASSERT_TRUE(!g_t.https);
  ASSERT_STR_IS(g_t.host, "Example.com");
  ASSERT_STR_IS(g_t.authority, "Example.com:8080");
  ASSERT_EQ_INT(g_t.port, 8080);
  ASSERT_STR_IS(g_t.path, "/p/q");
  ASSERT_STR_IS(g_t.query, "x=%41");
  ASSERT_OK(target("HTTPS://h"));
  ASSERT_TRUE(g_t.https);
  ASSERT_EQ_INT(g_t.port, 443);
  ASSERT_STR_IS(g_t.path, "/");
  ASSERT_TRUE(!g_t.has_query);
  ASSERT_OK(target("http://h?x"));
  ASSERT_STR_IS(g_t.path, "/");
  ASSERT_STR_IS(g_t.query, "x");
  ASSERT_OK(target("http://[::1]:81//a"));
  ASSERT_STR_IS(g_t.host, "::1");
  ASSERT_STR_IS(g_t.authority, "[::1]:81");
  ASSERT_STR_IS(g_t.path, "//a");
  ASSERT_OK(target("http://h:/x"));
  ASSERT_EQ_INT(g_t.port, 80);
  ASSERT_STR_IS(g_t.authority, "h");
}

TEST(target_authority_and_asterisk) {
  ASSERT_OK(target("*"));
  ASSERT_EQ_INT(g_t.form, WASIO_HTTP_TARGET_ASTERISK);
  ASSERT_EQ_INT(g_t.path.len, 0);
  ASSERT_OK(target("example.com:443"));
  ASSERT_EQ_INT(g_t.form, WASIO_HTTP_TARGET_AUTHORITY);
  ASSERT_STR_IS(g_t.host, "example.com");
  ASSERT_STR_IS(g_t.authority, "example.com:443");
  ASSERT_EQ_INT(g_t.port, 443);
  ASSERT_EQ_INT(g_t.path.len, 0);
  ASSERT_OK(target("[2001:db8::1]:8443"));
  ASSERT_STR_IS(g_t.host, "2001:db8::1");
  ASSERT_EQ_INT(g_t.port, 8443);
}

TEST(target_errors) {
  static const struct {
    const char *in;
    int want;
  } cases[] = {
      {"", WASIO_EHTTP_BAD_TARGET},          {"/a#b", WASIO_EHTTP_BAD_TARGET},
      {"/a b", WASIO_EHTTP_BAD_TARGET},      {"/a\x01", WASIO_EHTTP_BAD_TARGET},
      {"/\x7f", WASIO_EHTTP_BAD_TARGET},     {"/\x80", WASIO_EHTTP_BAD_TARGET},
      {"**", WASIO_EHTTP_BAD_TARGET},        {"foo", WASIO_EHTTP_BAD_TARGET},
      {"a/b", WASIO_EHTTP_BAD_TARGET},       {"h:1/x", WASIO_EHTTP_BAD_TARGET},
      {"h:1?x", WASIO_EHTTP_BAD_TARGET},     {"/%zz", WASIO_EURL_PERCENT},
      {"/%4", WASIO_EURL_PERCENT},           {"/a%", WASIO_EURL_PERCENT},
      {"/a?%g0", WASIO_EURL_PERCENT},        {"/a?b%", WASIO_EURL_PERCENT},
      {"http://h/%", WASIO_EURL_PERCENT},    {"ftp://h/", WASIO_EURL_SCHEME},
      {"http://u@h/", WASIO_EURL_USERINFO},  {"http:///x", WASIO_EURL_HOST},
      {"http://h:0/", WASIO_EURL_PORT},      {"http://h:99999/", WASIO_EURL_PORT},
      {"http://h_:x/", WASIO_EURL_PORT},     {"http://[::1/", WASIO_EURL_HOST},
      {"example.com:", WASIO_EURL_PORT},     {"example.com:x", WASIO_EURL_PORT},
      {"@h:1", WASIO_EURL_HOST},             {":1", WASIO_EURL_HOST},
      {"h:65536", WASIO_EURL_PORT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = target(cases[i].in);
    if (rc != cases[i].want)
      harness_fail(__FILE__, __LINE__, "target(\"%s\"): %s, want %s", cases[i].in, wasio_err_name(rc),
                   wasio_err_name(cases[i].want));
  }
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_target_parse((wasio_http_str_t){NULL, 1}, &g_t));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_target_parse(WASIO_HTTP_STR("/"), NULL));
}

/* ---- percent-decoding ------------------------------------------------------------ */

static char g_out[256];

/* Decodes `s` (n bytes) from an exact copy into g_out[0..cap). */
static int decode_n(const char *s, size_t n, size_t cap, unsigned flags) {
  char *c = exact_copy(s, n);
  char *o = exact_buf(cap); /* exact-size output too */
  int rc = wasio_http_percent_decode(c, n, o, cap, flags);
  if (rc > 0) memcpy(g_out, o, (size_t)rc);
  free(o);
  free(c);
  return rc;
}
static int decode(const char *s, unsigned flags) { return decode_n(s, strlen(s), strlen(s), flags); }

TEST(percent_decode_valid) {
  ASSERT_EQ_INT(decode("a%41b%7e%7E", 0), 5);
  ASSERT_EQ_MEM(g_out, "aAb~~", 5);
  ASSERT_EQ_INT(decode("%e2%82%AC", 0), 3);
  ASSERT_EQ_MEM(g_out, "\xe2\x82\xac", 3);
  ASSERT_EQ_INT(decode("a%2Fb", 0), 3);
  ASSERT_EQ_MEM(g_out, "a/b", 3);
  ASSERT_EQ_INT(decode("a+b%2B", 0), 4);
  ASSERT_EQ_MEM(g_out, "a+b+", 4);
  ASSERT_EQ_INT(decode("a+b%2B", WASIO_HTTP_DECODE_PLUS), 4);
  ASSERT_EQ_MEM(g_out, "a b+", 4);
  ASSERT_EQ_INT(decode("%ff%01", 0), 2);
  ASSERT_EQ_MEM(g_out, "\xff\x01", 2);
  ASSERT_EQ_INT(wasio_http_percent_decode(NULL, 0, NULL, 0, 0), 0);
  /* Exactly the room needed, and one byte less. */
  ASSERT_EQ_INT(decode_n("ab%43", 5, 3, 0), 3);
  ASSERT_EQ_MEM(g_out, "abC", 3);
  ASSERT_WASIO(WASIO_ENOBUFS, decode_n("ab%43", 5, 2, 0));
}

TEST(percent_decode_errors) {
  static const struct {
    const char *in;
    int want;
  } cases[] = {
      {"%", WASIO_EURL_PERCENT},   {"%4", WASIO_EURL_PERCENT},  {"%4g", WASIO_EURL_PERCENT},
      {"%g4", WASIO_EURL_PERCENT}, {"a%", WASIO_EURL_PERCENT},  {"a%%41", WASIO_EURL_PERCENT},
      {"% 41", WASIO_EURL_PERCENT}, {"%00", WASIO_EURL_NUL},    {"ab%00cd", WASIO_EURL_NUL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc = decode(cases[i].in, 0);
    if (rc != cases[i].want)
      harness_fail(__FILE__, __LINE__, "decode(\"%s\"): %s, want %s", cases[i].in, wasio_err_name(rc),
                   wasio_err_name(cases[i].want));
  }
  ASSERT_WASIO(WASIO_EURL_NUL, decode_n("a\0b", 3, 3, 0));
  /* A syntax error is reported as such even when the buffer is too small. */
  ASSERT_WASIO(WASIO_EURL_PERCENT, decode_n("aaaa%zz", 7, 1, 0));
  ASSERT_WASIO(WASIO_EURL_NUL, decode_n("aaaa%00", 7, 0, 0));
  char b[4];
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_percent_decode(NULL, 1, b, sizeof b, 0));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_percent_decode("a", 1, NULL, 0, 0));
}

TEST(percent_decode_in_place_and_split) {
  char buf[32];
  memcpy(buf, "%2Fa%41%42+c", 12);
  ASSERT_EQ_INT(wasio_http_percent_decode(buf, 12, buf, sizeof buf, WASIO_HTTP_DECODE_PLUS), 6);
  ASSERT_EQ_MEM(buf, "/aAB c", 6);
  /* Split at every position: when both halves are valid, their decodings
   * joined equal the whole's; a split inside an escape fails the first. */
  const char *s = "x%41y%2b%7E+z";
  size_t n = strlen(s);
  ASSERT_EQ_INT(decode(s, WASIO_HTTP_DECODE_PLUS), 7);
  char whole[16];
  memcpy(whole, g_out, 7);
  for (size_t k = 0; k <= n; k++) {
    int a = decode_n(s, k, k, WASIO_HTTP_DECODE_PLUS);
    char first[16];
    if (a > 0) memcpy(first, g_out, (size_t)a);
    int b = decode_n(s + k, n - k, n - k, WASIO_HTTP_DECODE_PLUS);
    bool inside_escape = false;
    for (size_t j = 0; j < k; j++)
      if (s[j] == '%' && j + 2 >= k) inside_escape = true;
    if (inside_escape) {
      ASSERT_WASIO(WASIO_EURL_PERCENT, a);
      continue;
    }
    ASSERT_GE_INT(a, 0);
    ASSERT_GE_INT(b, 0);
    ASSERT_EQ_INT(a + b, 7);
    ASSERT_EQ_MEM(first, whole, (size_t)a);
    ASSERT_EQ_MEM(g_out, whole + a, (size_t)b);
  }
}

TEST(percent_encode) {
  char o[64];
  int n = wasio_http_percent_encode("a b/\xc3\xbc~-._\"<&", 14, o, sizeof o, 0);
  ASSERT_EQ_INT(n, 28);
  ASSERT_EQ_MEM(o, "a%20b/%C3%BC~-._%22%3C%26", 25);
  n = wasio_http_percent_encode("a/b", 3, o, sizeof o, WASIO_HTTP_ENCODE_SLASH);
  ASSERT_EQ_INT(n, 5);
  ASSERT_EQ_MEM(o, "a%2Fb", 5);
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_http_percent_encode("a b", 3, o, 4, 0));
  ASSERT_EQ_INT(wasio_http_percent_encode("a b", 3, o, 5, 0), 5);
  ASSERT_EQ_INT(wasio_http_percent_encode(NULL, 0, NULL, 0, 0), 0);
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_percent_encode(NULL, 1, o, sizeof o, 0));
  /* Every byte value but NUL survives encode then decode. */
  char all[255], enc[3 * 255], dec[255];
  for (int i = 0; i < 255; i++) all[i] = (char)(i + 1);
  n = wasio_http_percent_encode(all, sizeof all, enc, sizeof enc, WASIO_HTTP_ENCODE_SLASH);
  ASSERT_GT_INT(n, 0);
  for (int i = 0; i < n; i++) ASSERT_TRUE(enc[i] == '%' || enc[i] == '-' || enc[i] == '.' || enc[i] == '_' ||
                                          enc[i] == '~' || (enc[i] >= '0' && enc[i] <= '9') ||
                                          ((enc[i] | 0x20) >= 'a' && (enc[i] | 0x20) <= 'z'));
  ASSERT_EQ_INT(wasio_http_percent_decode(enc, (size_t)n, dec, sizeof dec, 0), 255);
  ASSERT_EQ_MEM(dec, all, 255);
}

/* ---- dot segments ---------------------------------------------------------------- */

/* RFC 3986 5.2.4 written out with strings, rule by rule, as the reference
 * the index-based implementation is compared with. */
static size_t ref_remove_dots(const char *s, char *out, bool *above) {
  char in[64];
  size_t o = 0;
  snprintf(in, sizeof in, "%s", s);
  *above = false;
  while (in[0] != 0) {
    if (strncmp(in, "../", 3) == 0) {
      memmove(in, in + 3, strlen(in + 3) + 1);
      *above = true;
    } else if (strncmp(in, "./", 2) == 0) {
      memmove(in, in + 2, strlen(in + 2) + 1);
    } else if (strncmp(in, "/./", 3) == 0) {
      memmove(in, in + 2, strlen(in + 2) + 1);
    } else if (strcmp(in, "/.") == 0) {
      in[1] = 0;
    } else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
      if (in[3] == 0) in[1] = 0;                          /* "/.." -> "/" */
      else memmove(in + 1, in + 4, strlen(in + 4) + 1);   /* "/../x" -> "/x" */
      if (o == 0) *above = true;
      while (o > 0 && out[o - 1] != '/') o--;
      if (o > 0) o--;
    } else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
      if (in[1] == '.') *above = true;
      in[0] = 0;
    } else {
      size_t k = in[0] == '/' ? 1 : 0;
      while (in[k] != 0 && in[k] != '/') k++;
      memcpy(out + o, in, k);
      o += k;
      memmove(in, in + k, strlen(in + k) + 1);
    }
  }
  return o;
}

static int dots(const char *s, bool *above) {
  size_t n = strlen(s);
  char *c = exact_copy(s, n);
  char *o = exact_buf(n);
  int rc = wasio_http_path_remove_dots(c, n, o, n, above);
  if (rc > 0) memcpy(g_out, o, (size_t)rc);
  g_out[rc > 0 ? rc : 0] = 0;
  free(o);
  free(c);
  return rc;
}

TEST(remove_dots_rfc_examples) {
  static const struct {
    const char *in, *out;
    bool above;
  } cases[] = {
      {"/a/b/c/./../../g", "/a/g", false}, /* RFC 3986 5.2.4's examples */
      {"mid/content=5/../6", "mid/6", false},
      {"/./a", "/a", false},     {"/a/.", "/a/", false},      {"/a/..", "/", false},
      {"/a/b/..", "/a/", false}, {"/a/./", "/a/", false},     {"/a/b", "/a/b", false},
      {"/", "/", false},         {"//..", "/", false},        {"/a//../b", "/a/b", false},
      {"/...", "/...", false},   {"/.a/..b/c.", "/.a/..b/c.", false},
      {"/a/%2e%2e", "/a/%2e%2e", false},
      {"/..", "/", true},        {"/../a", "/a", true},       {"/a/../../b", "/b", true},
      {"/a/../..", "/", true},   {"/./../x/", "/x/", true},
      {".", "", false},          {"./a", "a", false},         {"a/..", "/", false},
      {"..", "", true},          {"../a", "a", true},         {"a/../../b", "/b", true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    bool above = !cases[i].above;
    int rc = dots(cases[i].in, &above);
    if (rc != (int)strlen(cases[i].out) || strcmp(g_out, cases[i].out) != 0 || above != cases[i].above)
      harness_fail(__FILE__, __LINE__, "dots(\"%s\"): %d \"%s\" above=%d, want \"%s\" above=%d", cases[i].in, rc,
                   g_out, above, cases[i].out, cases[i].above);
  }
}

TEST(remove_dots_matches_reference) {
  /* Every string of up to 8 characters over { '/', '.', 'a' }. */
  static const char alpha[] = "/.a";
  char s[9], ref[64];
  for (size_t len = 0; len <= 8; len++) {
    size_t total = 1;
    for (size_t k = 0; k < len; k++) total *= 3;
    for (size_t code = 0; code < total; code++) {
      size_t x = code;
      for (size_t k = 0; k < len; k++, x /= 3) s[k] = alpha[x % 3];
      s[len] = 0;
      bool ra, above;
      size_t rn = ref_remove_dots(s, ref, &ra);
      int rc = dots(s, &above);
      if (rc != (int)rn || memcmp(g_out, ref, rn) != 0 || above != ra)
        harness_fail(__FILE__, __LINE__, "dots(\"%s\"): %d \"%s\" above=%d, reference \"%.*s\" above=%d", s, rc,
                     g_out, above, (int)rn, ref, ra);
      /* In place gives the same. */
      char inplace[9];
      memcpy(inplace, s, len);
      ASSERT_EQ_INT(wasio_http_path_remove_dots(inplace, len, inplace, len, NULL), (int)rn);
      ASSERT_EQ_MEM(inplace, ref, rn);
    }
  }
}

TEST(remove_dots_errors) {
  char o[8];
  bool above = true;
  ASSERT_EQ_INT(wasio_http_path_remove_dots(NULL, 0, NULL, 0, &above), 0);
  ASSERT_TRUE(!above);
  /* The result would fit, but the room for the work is the input's length. */
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_http_path_remove_dots("/a/..", 5, o, 4, NULL));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_path_remove_dots(NULL, 1, o, sizeof o, NULL));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_path_remove_dots("/", 1, NULL, 1, NULL));
}

/* ---- query parameters -------------------------------------------------------------- */

/* Walks `q` and writes "name=value;" per pair (no '=' when there was none),
 * "!ERR;" for an error, into g_out. Uses a buffer of `cap` bytes and, on
 * WASIO_ENOBUFS, retries the same pair with a large one. */
static void walk(const char *q, size_t cap) {
  size_t n = strlen(q);
  char *c = exact_copy(q, n);
  wasio_http_query_iter_t it;
  wasio_http_query_init(&it, (wasio_http_str_t){c, n});
  char big[64];
  size_t o = 0;
  for (int guard = 0; guard < 64; guard++) {
    char *b = cap ? malloc(cap) : NULL;
    wasio_http_param_t p;
    int rc = wasio_http_query_next(&it, b, cap, &p);
    if (rc == WASIO_ENOBUFS) {
      wasio_http_query_iter_t again = it;
      rc = wasio_http_query_next(&it, big, sizeof big, &p);
      ASSERT_EQ_INT(rc, 1); /* the same pair, now with room */
      ASSERT_TRUE(again.wasio__rest.ptr != it.wasio__rest.ptr);
    }
    if (rc == 1) {
      o += (size_t)snprintf(g_out + o, sizeof g_out - o, "%.*s%s%.*s;", (int)p.name.len, p.name.ptr,
                            p.has_value ? "=" : "", (int)p.value.len, p.value.ptr);
    } else if (rc < 0) {
      o += (size_t)snprintf(g_out + o, sizeof g_out - o, "!%s;", wasio_err_name(rc) + 7);
    }
    free(b);
    if (rc == 0) break;
  }
  g_out[o] = 0;
  free(c);
}

TEST(query_params) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"a=1&b=2", "a=1;b=2;"},
      {"a=1&&b=&", "a=1;b=;"},
      {"&a", "a;"},
      {"=x&a=b=c", "=x;a=b=c;"},
      {"q=hello+world%21&x=%2B", "q=hello world!;x=+;"},
      {"a=1;b=2", "a=1;b=2;"}, /* ';' belongs to the value */
      {"k=%zz&ok=1", "!URL_PERCENT;ok=1;"},
      {"k%4=1&ok", "!URL_PERCENT;ok;"},
      {"k=%00&z=%7a", "!URL_NUL;z=z;"},
      {"", ""},
      {"&&&", ""},
  };
  for (size_t cap = 0; cap <= 16; cap++) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      walk(cases[i].in, cap);
      if (strcmp(g_out, cases[i].out) != 0)
        harness_fail(__FILE__, __LINE__, "query \"%s\" (cap %zu): \"%s\", want \"%s\"", cases[i].in, cap, g_out,
                     cases[i].out);
    }
  }
}

TEST(query_params_edges) {
  wasio_http_query_iter_t it;
  wasio_http_param_t p;
  char b[8];
  wasio_http_query_init(&it, (wasio_http_str_t){NULL, 3});
  ASSERT_EQ_INT(wasio_http_query_next(&it, b, sizeof b, &p), 0);
  /* "=" needs no room at all. */
  wasio_http_query_init(&it, WASIO_HTTP_STR("="));
  ASSERT_EQ_INT(wasio_http_query_next(&it, NULL, 0, &p), 1);
  ASSERT_EQ_INT(p.name.len, 0);
  ASSERT_EQ_INT(p.value.len, 0);
  ASSERT_TRUE(p.has_value);
  ASSERT_EQ_INT(wasio_http_query_next(&it, NULL, 0, &p), 0);
  /* A name exactly the buffer's size, then a value that does not fit. */
  wasio_http_query_init(&it, WASIO_HTTP_STR("abcdefgh&abcdefgh=1"));
  ASSERT_EQ_INT(wasio_http_query_next(&it, b, sizeof b, &p), 1);
  ASSERT_STR_IS(p.name, "abcdefgh");
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_http_query_next(&it, b, sizeof b, &p));
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_http_query_next(&it, b, sizeof b, &p)); /* did not move */
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_query_next(NULL, b, sizeof b, &p));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_query_next(&it, b, sizeof b, NULL));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_query_next(&it, NULL, 1, &p));
}
