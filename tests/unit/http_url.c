/* tests/unit/http_url.c: wasio_url_parse() on valid URLs (hosts,
 * IPv6 literals, ports, path and query, fragments) and each error. Every
 * URL is parsed from an exact-size heap copy, so reading past its end is
 * an ASan error. */
#include "testlib.h"

static wasio_url_t g_url;

/* Parses `s` (NUL-free C string) from an exact copy; views are rebased
 * onto `s` (or left alone when they point at the static "/"). */
static int url(const char *s) {
  size_t n = strlen(s);
  char *c = exact_copy(s, n);
  int rc = wasio_url_parse(c, n, &g_url);
  if (rc == 0) {
    g_url.host = rebase(g_url.host, c, s);
    g_url.authority = rebase(g_url.authority, c, s);
    if (g_url.path.ptr >= c && g_url.path.ptr <= c + n) g_url.path = rebase(g_url.path, c, s);
    if (g_url.query.len) g_url.query = rebase(g_url.query, c, s);
  }
  free(c);
  return rc;
}

TEST(url_simple) {
  ASSERT_OK(url("http://example.com"));
  ASSERT_TRUE(!g_url.https);
  ASSERT_STR_IS(g_url.host, "example.com");
  ASSERT_STR_IS(g_url.authority, "example.com");
  ASSERT_EQ_INT(g_url.port, 80);
  ASSERT_TRUE(!g_url.port_given);
  ASSERT_STR_IS(g_url.path, "/");
  ASSERT_TRUE(!g_url.has_query);
  ASSERT_TRUE(!g_url.host_is_ipv6);
}

TEST(url_full) {
  ASSERT_OK(url("HTTPS://Example.COM:8443/a/b;p=1/%7Euser?x=1&y=%20z/?#frag"));
  ASSERT_TRUE(g_url.https);
  ASSERT_STR_IS(g_url.host, "Example.COM");
  ASSERT_STR_IS(g_url.authority, "Example.COM:8443");
  ASSERT_EQ_INT(g_url.port, 8443);
  ASSERT_TRUE(g_url.port_given);
  ASSERT_STR_IS(g_url.path, "/a/b;p=1/%7Euser");
  ASSERT_TRUE(g_url.has_query);
  ASSERT_STR_IS(g_url.query, "x=1&y=%20z/?");
  char t[64];
  int n = wasio_url_target(&g_url, t, sizeof t);
  ASSERT_EQ_INT(n, 29);
  ASSERT_EQ_MEM(t, "/a/b;p=1/%7Euser?x=1&y=%20z/?", 29);
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_url_target(&g_url, t, 28));
}

TEST(url_default_ports_and_empty_port) {
  ASSERT_OK(url("https://a"));
  ASSERT_EQ_INT(g_url.port, 443);
  ASSERT_OK(url("http://a:/x"));
  ASSERT_EQ_INT(g_url.port, 80);
  ASSERT_TRUE(!g_url.port_given);
  ASSERT_STR_IS(g_url.authority, "a");
  ASSERT_OK(url("http://a:65535"));
  ASSERT_EQ_INT(g_url.port, 65535);
  ASSERT_OK(url("http://a:00080"));
  ASSERT_EQ_INT(g_url.port, 80);
  ASSERT_TRUE(g_url.port_given);
}

TEST(url_query_without_path) {
  ASSERT_OK(url("http://a?x=1"));
  ASSERT_STR_IS(g_url.path, "/");
  ASSERT_STR_IS(g_url.query, "x=1");
  char t[16];
  ASSERT_EQ_INT(wasio_url_target(&g_url, t, sizeof t), 5);
  ASSERT_EQ_MEM(t, "/?x=1", 5);
  ASSERT_OK(url("http://a/?"));
  ASSERT_TRUE(g_url.has_query);
  ASSERT_EQ_INT(g_url.query.len, 0);
  ASSERT_EQ_INT(wasio_url_target(&g_url, t, sizeof t), 2);
}

TEST(url_fragment_dropped) {
  ASSERT_OK(url("http://a#top"));
  ASSERT_STR_IS(g_url.path, "/");
  ASSERT_TRUE(!g_url.has_query);
  ASSERT_OK(url("http://a/p?q#x?y/z"));
  ASSERT_STR_IS(g_url.path, "/p");
  ASSERT_STR_IS(g_url.query, "q");
}

TEST(url_ipv4_and_ipv6_hosts) {
  ASSERT_OK(url("http://127.0.0.1:8080/"));
  ASSERT_STR_IS(g_url.host, "127.0.0.1");
  ASSERT_TRUE(!g_url.host_is_ipv6);
  ASSERT_OK(url("http://[::1]:8080/x"));
  ASSERT_STR_IS(g_url.host, "::1");
  ASSERT_STR_IS(g_url.authority, "[::1]:8080");
  ASSERT_TRUE(g_url.host_is_ipv6);
  ASSERT_EQ_INT(g_url.port, 8080);
  const char *ok[] = {"http://[::]", "http://[1:2:3:4:5:6:7:8]", "http://[2001:db8::192.0.2.1]/",
                      "http://[::ffff:1.2.3.4]", "http://[1::]", "http://[FE80::a:B:c]", "http://[1:2:3:4:5:6:1.2.3.4]",
                      "http://[1:2:3:4:5:6:7::]", "http://[::2:3:4:5:6:7:8]"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (url(ok[i]) != 0) harness_fail(__FILE__, __LINE__, "%s refused", ok[i]);
}

TEST(url_bad_host) {
  const char *bad[] = {"http:///x", "http://", "http://[::1", "http://[1:2:3:4:5:6:7:8:9]", "http://[]",
                       "http://[1::2::3]", "http://[12345::]", "http://[::1]x", "http://[fe80::1%25eth0]/",
                       "http://[1:2:3:4:5:6:7]", "http://[:1]", "http://[1:]", "http://[::1.2.3]", "http://[::1.2.3.256]",
                       "http://[::01.2.3.4]", "http://[1:2:3:4:5:6:7:1.2.3.4]", "http://a%20b/", "http://ex!ample/",
                       "http://a,b", "http://:80/", "http://[g::]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = url(bad[i]);
    if (rc != WASIO_EURL_HOST)
      harness_fail(__FILE__, __LINE__, "%s: got %s, want WASIO_EURL_HOST", bad[i], wasio_err_name(rc));
  }
  char longhost[300] = "http://";
  memset(longhost + 7, 'a', WASIO_URL_MAX_HOST);
  ASSERT_OK(url(longhost));
  longhost[7 + WASIO_URL_MAX_HOST] = 'a';
  ASSERT_WASIO(WASIO_EURL_HOST, url(longhost));
}

TEST(url_bad_port) {
  ASSERT_WASIO(WASIO_EURL_PORT, url("http://a:0/"));
  ASSERT_WASIO(WASIO_EURL_PORT, url("http://a:65536/"));
  ASSERT_WASIO(WASIO_EURL_PORT, url("http://a:99999999999999999999/"));
  ASSERT_WASIO(WASIO_EURL_PORT, url("http://a:8o/"));
  ASSERT_WASIO(WASIO_EURL_PORT, url("http://a:-1/"));
  ASSERT_WASIO(WASIO_EURL_PORT, url("http://a:80:80/"));
  ASSERT_WASIO(WASIO_EURL_PORT, url("http://[::1]:x/"));
}

TEST(url_userinfo_refused) {
  ASSERT_WASIO(WASIO_EURL_USERINFO, url("http://user:pw@host/"));
  ASSERT_WASIO(WASIO_EURL_USERINFO, url("http://@host"));
  ASSERT_WASIO(WASIO_EURL_USERINFO, url("https://u@[::1]:1/"));
  /* '@' after the authority is path data, not userinfo. */
  ASSERT_OK(url("http://host/a@b?c@d"));
  ASSERT_STR_IS(g_url.path, "/a@b");
}

TEST(url_bad_scheme) {
  ASSERT_WASIO(WASIO_EURL_SCHEME, url("ftp://a/"));
  ASSERT_WASIO(WASIO_EURL_SCHEME, url("example.com"));
  ASSERT_WASIO(WASIO_EURL_SCHEME, url("example.com/a:b"));
  ASSERT_WASIO(WASIO_EURL_SCHEME, url("1http://a"));
  ASSERT_WASIO(WASIO_EURL_SCHEME, url("://a"));
  ASSERT_WASIO(WASIO_EURL_SCHEME, url("httpx://a"));
  ASSERT_WASIO(WASIO_EURL_SCHEME, url(""));
}

TEST(url_bad_syntax) {
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http:/a"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http:a"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http:"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http://a/b c"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url(" http://a/"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http://a/\x01"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http://a/\xc3\xa9"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http://a/<x>"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http://a/?q=[1]"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http://a/\\"));
  ASSERT_WASIO(WASIO_EURL_SYNTAX, url("http://a/#frag ment"));
  ASSERT_WASIO(WASIO_EINVAL, wasio_url_parse(NULL, 1, &g_url));
  static char big[WASIO_URL_MAX + 2];
  memcpy(big, "http://a/", 9);
  memset(big + 9, 'p', WASIO_URL_MAX - 9);
  ASSERT_OK(wasio_url_parse(big, WASIO_URL_MAX, &g_url));
  big[WASIO_URL_MAX] = 'p';
  ASSERT_WASIO(WASIO_EURL_SYNTAX, wasio_url_parse(big, WASIO_URL_MAX + 1, &g_url));
}

TEST(url_bad_percent) {
  ASSERT_WASIO(WASIO_EURL_PERCENT, url("http://a/%"));
  ASSERT_WASIO(WASIO_EURL_PERCENT, url("http://a/%2"));
  ASSERT_WASIO(WASIO_EURL_PERCENT, url("http://a/%zz"));
  ASSERT_WASIO(WASIO_EURL_PERCENT, url("http://a/%2g/"));
  ASSERT_WASIO(WASIO_EURL_PERCENT, url("http://a/?x=%"));
  ASSERT_WASIO(WASIO_EURL_PERCENT, url("http://a?x=%4"));
  ASSERT_OK(url("http://a/%2F%2f?%41=%ff"));
  ASSERT_STR_IS(g_url.path, "/%2F%2f");
}

/* wasio_url_resolve(): `ref` against `base`, both from exact-size heap
 * copies and into an exact-size output buffer (the documented bound), so
 * any over-read or over-write is an ASan error. */
static int resolve(const char *base, const char *ref, char *out, size_t out_cap) {
  size_t bn = strlen(base), rn = strlen(ref);
  char *b = exact_copy(base, bn + 1); /* the base is a C string */
  char *r = exact_copy(ref, rn);
  wasio_url_t bu;
  int rc = wasio_url_parse(b, bn, &bu);
  ASSERT_OK(rc);
  size_t cap = bn + rn + 2; /* the documented bound, NUL included */
  char *o = malloc(cap);
  ASSERT_TRUE(o != NULL);
  rc = wasio_url_resolve(b, &bu, (wasio_http_str_t){r, rn}, o, cap);
  if (rc >= 0) {
    ASSERT_TRUE((size_t)rc < out_cap);
    ASSERT_EQ_INT((int)strlen(o), rc);
    memcpy(out, o, (size_t)rc + 1);
  }
  free(o);
  free(r);
  free(b);
  return rc;
}

#define ASSERT_RESOLVES(base, ref, want)                                                        \
  do {                                                                                          \
    char _out[256];                                                                             \
    ASSERT_TRUE(resolve((base), (ref), _out, sizeof _out) >= 0);                                \
    if (strcmp(_out, (want)) != 0)                                                              \
      harness_fail(__FILE__, __LINE__, "resolve(%s, %s) = %s, want %s", (base), (ref), _out, (want)); \
  } while (0)

/* RFC 3986 section 5.4: the normal and abnormal examples. */
TEST(url_resolve_rfc3986_examples) {
  const char *b = "http://a/b/c/d;p?q";
  ASSERT_RESOLVES(b, "g", "http://a/b/c/g");
  ASSERT_RESOLVES(b, "./g", "http://a/b/c/g");
  ASSERT_RESOLVES(b, "g/", "http://a/b/c/g/");
  ASSERT_RESOLVES(b, "/g", "http://a/g");
  ASSERT_RESOLVES(b, "//g", "http://g");
  ASSERT_RESOLVES(b, "?y", "http://a/b/c/d;p?y");
  ASSERT_RESOLVES(b, "g?y", "http://a/b/c/g?y");
  ASSERT_RESOLVES(b, "#s", "http://a/b/c/d;p?q#s");
  ASSERT_RESOLVES(b, "g?y#s", "http://a/b/c/g?y#s");
  ASSERT_RESOLVES(b, ";x", "http://a/b/c/;x");
  ASSERT_RESOLVES(b, "", "http://a/b/c/d;p?q");
  ASSERT_RESOLVES(b, ".", "http://a/b/c/");
  ASSERT_RESOLVES(b, "./", "http://a/b/c/");
  ASSERT_RESOLVES(b, "..", "http://a/b/");
  ASSERT_RESOLVES(b, "../g", "http://a/b/g");
  ASSERT_RESOLVES(b, "../..", "http://a/");
  ASSERT_RESOLVES(b, "../../g", "http://a/g");
  ASSERT_RESOLVES(b, "../../../g", "http://a/g");
  ASSERT_RESOLVES(b, "/./g", "http://a/g");
  ASSERT_RESOLVES(b, "/../g", "http://a/g");
  ASSERT_RESOLVES(b, "g.", "http://a/b/c/g.");
  ASSERT_RESOLVES(b, "..g", "http://a/b/c/..g");
  ASSERT_RESOLVES(b, "./../g", "http://a/b/g");
  ASSERT_RESOLVES(b, "g/./h", "http://a/b/c/g/h");
  ASSERT_RESOLVES(b, "g/../h", "http://a/b/c/h");
  ASSERT_RESOLVES(b, "g?y/./x", "http://a/b/c/g?y/./x");
}

TEST(url_resolve_absolute_and_schemes) {
  ASSERT_RESOLVES("https://h:8443/x", "http://o/p", "http://o/p");
  ASSERT_RESOLVES("https://h:8443/x", "//o:1/p/../q", "https://o:1/q");
  ASSERT_RESOLVES("https://h:8443/x/y", "z", "https://h:8443/x/z");
  ASSERT_RESOLVES("http://h", "z", "http://h/z");
  ASSERT_RESOLVES("http://h?q=1", "", "http://h/?q=1");
  /* Any scheme resolves: the caller's wasio_url_parse() refuses it. */
  ASSERT_RESOLVES("http://h/a", "ftp://f/x", "ftp://f/x");
}

TEST(url_resolve_limits) {
  char out[8];
  wasio_url_t bu;
  const char *b = "http://h/a";
  ASSERT_OK(wasio_url_parse(b, strlen(b), &bu));
  ASSERT_WASIO(WASIO_ENOBUFS, wasio_url_resolve(b, &bu, WASIO_HTTP_STR("/long-path"), out, sizeof out));
  char *big = malloc(WASIO_URL_MAX);
  ASSERT_TRUE(big != NULL);
  memset(big, 'p', WASIO_URL_MAX);
  big[0] = '/';
  char *o = malloc(WASIO_URL_MAX + 64);
  ASSERT_TRUE(o != NULL);
  ASSERT_WASIO(WASIO_EURL_SYNTAX,
               wasio_url_resolve(b, &bu, (wasio_http_str_t){big, WASIO_URL_MAX}, o, WASIO_URL_MAX + 64));
  free(o);
  free(big);
}

/* wasio_http_redirect_method(): the one rule, for the client and
 * wasio-fetch. The method is read from an exact-size copy (no NUL). */
static wasio_http_redirect_t redirect(int status, const char *method) {
  size_t n = strlen(method);
  char *m = exact_copy(method, n);
  wasio_http_redirect_t r = wasio_http_redirect_method(status, (wasio_http_str_t){m, n});
  free(m);
  return r;
}

TEST(redirect_method_rule) {
  /* 301 and 302: a POST becomes a GET, everything else is repeated. */
  for (int s = 301; s <= 302; s++) {
    ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_GET, redirect(s, "POST"));
    ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(s, "GET"));
    ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(s, "HEAD"));
    ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(s, "PUT"));
    ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(s, "DELETE"));
  }
  /* 303: a GET for anything but HEAD. */
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_GET, redirect(303, "POST"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_GET, redirect(303, "PUT"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_GET, redirect(303, "GET"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(303, "HEAD"));
  /* 307 and 308: the same request, whatever it is. */
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(307, "POST"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(308, "POST"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(308, "PATCH"));
  /* Methods are case-sensitive: "post" is another method. */
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(302, "post"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_GET, redirect(303, "head"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(301, "POSTX"));
  ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_SAME, redirect(301, ""));
  /* Not redirects to follow. */
  static const int others[] = {0, 200, 204, 300, 304, 305, 306, 309, 399, 400, 500, -1};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_NONE, redirect(others[i], "GET"));
    ASSERT_EQ_INT(WASIO_HTTP_REDIRECT_NONE, redirect(others[i], "POST"));
  }
}
