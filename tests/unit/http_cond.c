/* tests/unit/http_cond.c: HTTP dates, entity-tag lists and Range
 * fields (wasio/http_codec.h), each from an exact-size heap copy so that an
 * over-read is an ASan error; every error path is taken. */
#include "testlib.h"

/* ---- dates ------------------------------------------------------------------------ */

static int date(const char *s, int64_t *secs) {
  size_t n = strlen(s);
  char *c = exact_copy(s, n);
  int rc = wasio_http_date_parse((wasio_http_str_t){c, n}, secs);
  free(c);
  return rc;
}

TEST(date_format_known) {
  static const struct {
    int64_t secs;
    const char *text;
  } cases[] = {
      {0, "Thu, 01 Jan 1970 00:00:00 GMT"},
      {784111777, "Sun, 06 Nov 1994 08:49:37 GMT"}, /* RFC 9110's example */
      {-1, "Wed, 31 Dec 1969 23:59:59 GMT"},
      {951782400, "Tue, 29 Feb 2000 00:00:00 GMT"},
      {4107542400, "Mon, 01 Mar 2100 00:00:00 GMT"},
      {253402300799, "Fri, 31 Dec 9999 23:59:59 GMT"},
      {-62167219200, "Sat, 01 Jan 0000 00:00:00 GMT"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[WASIO_HTTP_DATE_LEN + 1];
    ASSERT_EQ_INT(wasio_http_date_format(cases[i].secs, buf, sizeof buf), WASIO_HTTP_DATE_LEN);
    ASSERT_EQ_STR(buf, cases[i].text);
    int64_t back = 1;
    ASSERT_OK(date(cases[i].text, &back));
    ASSERT_TRUE(back == cases[i].secs);
  }
  char buf[WASIO_HTTP_DATE_LEN + 1];
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_http_date_format(0, buf, WASIO_HTTP_DATE_LEN));
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_http_date_format(0, NULL, 64));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_date_format(253402300800, buf, sizeof buf));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_date_format(-62167219201, buf, sizeof buf));
}

TEST(date_parse_three_formats) {
  int64_t t = 0;
  ASSERT_OK(date("Sun, 06 Nov 1994 08:49:37 GMT", &t));
  ASSERT_TRUE(t == 784111777);
  t = 0;
  ASSERT_OK(date("Sunday, 06-Nov-94 08:49:37 GMT", &t));
  ASSERT_TRUE(t == 784111777);
  t = 0;
  ASSERT_OK(date("Sun Nov  6 08:49:37 1994", &t));
  ASSERT_TRUE(t == 784111777);
  ASSERT_OK(date("Wed Nov 16 08:49:37 1994", &t));
  ASSERT_TRUE(t == 784111777 + 10 * 86400);
  ASSERT_OK(date(" \tSun, 06 Nov 1994 08:49:37 GMT  ", &t));
  ASSERT_TRUE(t == 784111777);
  /* Two-digit years: 70..99 are 19YY, 00..69 are 20YY. */
  ASSERT_OK(date("Thursday, 01-Jan-70 00:00:00 GMT", &t));
  ASSERT_TRUE(t == 0);
  ASSERT_OK(date("Saturday, 01-Jan-69 00:00:00 GMT", &t));
  ASSERT_TRUE(t == 3124224000);
  /* The day name is checked, not compared with the date. */
  ASSERT_OK(date("Mon, 06 Nov 1994 08:49:37 GMT", &t));
  ASSERT_TRUE(t == 784111777);
  /* A leap second reads as :59. */
  ASSERT_OK(date("Sat, 31 Dec 2016 23:59:60 GMT", &t));
  ASSERT_TRUE(t == 1483228799);
  ASSERT_OK(date("Tue, 29 Feb 2000 00:00:00 GMT", &t));
}

TEST(date_parse_errors) {
  static const char *const bad[] = {
      "",
      "Sun",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 06 Nov 1994 08:49:37 GMT ;",
      "Sun, 06 Nov 1994 08:49:37",
      "sun, 06 Nov 1994 08:49:37 GMT",
      "Foo, 06 Nov 1994 08:49:37 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "Sun, 06 nov 1994 08:49:37 GMT",
      "Sun, 06 Nox 1994 08:49:37 GMT",
      "Sun, 06 Nov 94 08:49:37 GMT",
      "Sun, 31 Nov 1994 08:49:37 GMT",
      "Sun, 00 Nov 1994 08:49:37 GMT",
      "Sun, 29 Feb 2001 08:49:37 GMT",
      "Sun, 29 Feb 1900 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Nov 1994 08:60:00 GMT",
      "Sun, 06 Nov 1994 08:49:61 GMT",
      "Sun, 06 Nov 1994 08:49 GMT",
      "Sun, 06 Nov 1994 8:49:37 GMT",
      "Sun,  06 Nov 1994 08:49:37 GMT",
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sunday, 06 Nov 94 08:49:37 GMT",
      "Monday, 06-Nov-94 08:49:37 GMT x",
      "Sunda, 06-Nov-94 08:49:37 GMT",
      "Sun Nov 6 08:49:37 1994",
      "Sun Nov  6 08:49:37 94",
      "Sun Nov  6 08:49:37 1994 GMT",
      "Sun Nov 31 08:49:37 1994",
      "Sun\tNov  6 08:49:37 1994",
  };
  int64_t t = 42;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = date(bad[i], &t);
    if (rc != WASIO_EINVAL) harness_fail(__FILE__, __LINE__, "date(\"%s\"): %s", bad[i], wasio_err_name(rc));
  }
  ASSERT_TRUE(t == 42); /* untouched on error */
  /* Every prefix of a valid date is invalid (and read within its bytes). */
  const char *good[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"};
  for (size_t g = 0; g < 3; g++) {
    for (size_t k = 0; k < strlen(good[g]); k++) {
      char *c = exact_copy(good[g], k);
      ASSERT_WASIO(WASIO_EINVAL, wasio_http_date_parse((wasio_http_str_t){c, k}, &t));
      free(c);
    }
  }
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_date_parse(WASIO_HTTP_STR("Sun, 06 Nov 1994 08:49:37 GMT"), NULL));
  ASSERT_WASIO(WASIO_EINVAL, wasio_http_date_parse((wasio_http_str_t){NULL, 3}, &t));
}

TEST(date_round_trip) {
  /* Every 7919th second over 0000..9999 plus each day boundary nearby. */
  char buf[WASIO_HTTP_DATE_LEN + 1];
  for (int64_t s = -62167219200; s <= 253402300799; s += 7919LL * 86400 + 7919) {
    for (int64_t d = -1; d <= 1; d++) {
      int64_t x = s + d, back = 0;
      if (x < -62167219200 || x > 253402300799) continue;
      ASSERT_EQ_INT(wasio_http_date_format(x, buf, sizeof buf), WASIO_HTTP_DATE_LEN);
      ASSERT_OK(wasio_http_date_parse((wasio_http_str_t){buf, WASIO_HTTP_DATE_LEN}, &back));
      if (back != x) harness_fail(__FILE__, __LINE__, "%lld -> %s -> %lld", (long long)x, buf, (long long)back);
    }
  }
}

/* ---- entity-tags ------------------------------------------------------------------ */

static int etag(const char *list, const char *mine, unsigned flags) {
  size_t n = strlen(list), m = strlen(mine);
  char *a = exact_copy(list, n), *b = exact_copy(mine, m);
  int rc = wasio_http_etag_match((wasio_http_str_t){a, n}, (wasio_http_str_t){b, m}, flags);
  free(a);
  free(b);
  return rc;
}

TEST(etag_match) {
  const unsigned W = WASIO_HTTP_ETAG_WEAK;
  ASSERT_EQ_INT(etag("\"a\"", "\"a\"", 0), 1);
  ASSERT_EQ_INT(etag("\"a\"", "\"b\"", 0), 0);
  ASSERT_EQ_INT(etag("\"a\"", "\"ab\"", W), 0);
  ASSERT_EQ_INT(etag("W/\"a\"", "\"a\"", 0), 0); /* strong: a weak tag never matches */
  ASSERT_EQ_INT(etag("W/\"a\"", "\"a\"", W), 1);
  ASSERT_EQ_INT(etag("\"a\"", "W/\"a\"", 0), 0);
  ASSERT_EQ_INT(etag("\"a\"", "W/\"a\"", W), 1);
  ASSERT_EQ_INT(etag("W/\"a\"", "W/\"a\"", 0), 0);
  ASSERT_EQ_INT(etag("W/\"a\"", "W/\"a\"", W), 1);
  ASSERT_EQ_INT(etag("*", "\"a\"", 0), 1);
  ASSERT_EQ_INT(etag(" * ", "W/\"a\"", W), 1);
  ASSERT_EQ_INT(etag("\"x\", \"a\"", "\"a\"", 0), 1);
  ASSERT_EQ_INT(etag("\"x\",\"y\" ,W/\"z\"", "\"a\"", W), 0);
  ASSERT_EQ_INT(etag(" , \"a\" ,, ", "\"a\"", 0), 1);
  ASSERT_EQ_INT(etag("\"\"", "\"\"", 0), 1);
  ASSERT_EQ_INT(etag("\"a,b\"", "\"a,b\"", 0), 1); /* a comma inside the quotes */
  ASSERT_EQ_INT(etag("\"\xc3\xa9\"", "\"\xc3\xa9\"", 0), 1); /* obs-text */
}

TEST(etag_match_errors) {
  static const char *const bad_lists[] = {
      "", " ", ",", "a", "\"a", "a\"", "\"a\" \"b\"", "\"a\"x", "W/", "W/a", "w/\"a\"",
      "*, \"a\"", "\"a\", *", "\"a b\"", "\"a\x01\"", "\"a\x7f\"", "W /\"a\"",
  };
  for (size_t i = 0; i < sizeof bad_lists / sizeof bad_lists[0]; i++) {
    int rc = etag(bad_lists[i], "\"a\"", 0);
    if (rc != WASIO_EHTTP_BAD_HEADER_VALUE)
      harness_fail(__FILE__, __LINE__, "etag list \"%s\": %d", bad_lists[i], rc);
  }
  /* Our own tag must be valid too, and alone. */
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, etag("\"a\"", "a", 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, etag("\"a\"", "\"a\" ", 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE, etag("*", "", 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE,
               wasio_http_etag_match((wasio_http_str_t){NULL, 1}, WASIO_HTTP_STR("\"a\""), 0));
  ASSERT_WASIO(WASIO_EHTTP_BAD_HEADER_VALUE,
               wasio_http_etag_match(WASIO_HTTP_STR("*"), (wasio_http_str_t){NULL, 1}, 0));
}

/* ---- Range ---------------------------------------------------------------------------- */

static wasio_http_range_t g_r;

static int range(const char *s, uint64_t size) {
  size_t n = strlen(s);
  char *c = exact_copy(s, n);
  g_r = (wasio_http_range_t){12345, 12345};
  int rc = wasio_http_range_parse((wasio_http_str_t){c, n}, size, &g_r);
  free(c);
  return rc;
}

#define ASSERT_RANGE(s, size, f, l)                        \
  do {                                                     \
    ASSERT_EQ_INT(range((s), (size)), WASIO_HTTP_RANGE_ONE); \
    ASSERT_TRUE(g_r.first == (f) && g_r.last == (l));       \
  } while (0)

TEST(range_one) {
  ASSERT_RANGE("bytes=0-49", 100, 0, 49);
  ASSERT_RANGE("bytes=50-", 100, 50, 99);
  ASSERT_RANGE("bytes=-10", 100, 90, 99);
  ASSERT_RANGE("bytes=-100", 100, 0, 99);
  ASSERT_RANGE("bytes=-200", 100, 0, 99);
  ASSERT_RANGE("bytes=90-200", 100, 90, 99);
  ASSERT_RANGE("bytes=99-99", 100, 99, 99);
  ASSERT_RANGE("BYTES=0-0", 100, 0, 0);
  ASSERT_RANGE(" bytes=1-2 ", 100, 1, 2);
  ASSERT_RANGE("bytes=,0-1,", 100, 0, 1);
  ASSERT_RANGE("bytes=0-99999999999999999999999", 100, 0, 99);
  ASSERT_RANGE("bytes=-99999999999999999999999", 100, 0, 99);
  ASSERT_RANGE("bytes=0-", 1, 0, 0);
  ASSERT_EQ_INT(wasio_http_range_parse(WASIO_HTTP_STR("bytes=0-1"), 10, NULL), WASIO_HTTP_RANGE_ONE);
}

TEST(range_multi_unsatisfiable_none) {
  ASSERT_EQ_INT(range("bytes=0-0,5-9", 100), WASIO_HTTP_RANGE_MULTI);
  ASSERT_EQ_INT(range("bytes=0-1 ,  2-3", 100), WASIO_HTTP_RANGE_MULTI);
  ASSERT_EQ_INT(range("bytes=0-1,200-", 100), WASIO_HTTP_RANGE_MULTI);
  ASSERT_EQ_INT(range("bytes=100-", 100), WASIO_HTTP_RANGE_UNSATISFIABLE);
  ASSERT_EQ_INT(range("bytes=100-200", 100), WASIO_HTTP_RANGE_UNSATISFIABLE);
  ASSERT_EQ_INT(range("bytes=-0", 100), WASIO_HTTP_RANGE_UNSATISFIABLE);
  ASSERT_EQ_INT(range("bytes=200-300, 400-", 100), WASIO_HTTP_RANGE_UNSATISFIABLE);
  ASSERT_EQ_INT(range("bytes=18446744073709551616-", 100), WASIO_HTTP_RANGE_UNSATISFIABLE);
  ASSERT_EQ_INT(range("bytes=0-", 0), WASIO_HTTP_RANGE_UNSATISFIABLE);
  ASSERT_EQ_INT(range("bytes=-1", 0), WASIO_HTTP_RANGE_NONE); /* empty but satisfiable */
  ASSERT_EQ_INT(range("bytes=0-,-1", 0), WASIO_HTTP_RANGE_NONE);
  static const char *const ignored[] = {
      "",          "bytes",      "bytes=",     "bytes= ",    "bytes =0-1", "bytes= 0-1x", "items=0-1",
      "bytes=5-3", "bytes=a-b",  "bytes=1-2-3", "bytes=-",   "bytes=--1",  "bytes=0-1 2-3", "bytes=0",
      "bytes=1 -2", "bytes=0-1;x", "byte=0-1", "bytesx=0-1",
  };
  for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
    int rc = range(ignored[i], 100);
    if (rc != WASIO_HTTP_RANGE_NONE) harness_fail(__FILE__, __LINE__, "range \"%s\": %d", ignored[i], rc);
    ASSERT_TRUE(g_r.first == 12345); /* *out untouched */
  }
  ASSERT_EQ_INT(wasio_http_range_parse((wasio_http_str_t){NULL, 5}, 100, &g_r), WASIO_HTTP_RANGE_NONE);
}
