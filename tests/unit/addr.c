/* tests/unit/addr.c: wasio/addr.h parsing and formatting. */
#include "harness.h"
#include "wasio.h"

/* Parses `in` and formats it back; expects `want` (RFC 5952 form). */
static void check_round(const char *in, const char *want) {
  wasio_addr_t a;
  char buf[WASIO_ADDR_STRLEN];
  int rc = wasio_addr_parse(in, 0, &a);
  if (rc != 0) harness_fail(__FILE__, __LINE__, "parse \"%s\": %s", in, wasio_err_name(rc));
  int n = wasio_addr_format_ip(&a, buf, sizeof buf);
  ASSERT_EQ_STR(buf, want);
  ASSERT_EQ_INT(n, strlen(want));
  /* The canonical form parses back to the same address. */
  wasio_addr_t b;
  ASSERT_OK(wasio_addr_parse(buf, 0, &b));
  ASSERT_TRUE(wasio_addr_equal(&a, &b));
}

static void check_reject(const char *in) {
  wasio_addr_t a;
  memset(&a, 0xab, sizeof a);
  wasio_addr_t before = a;
  int rc = wasio_addr_parse(in, 1, &a);
  if (rc != WASIO_EINVAL) harness_fail(__FILE__, __LINE__, "\"%s\" accepted (%d)", in, rc);
  ASSERT_EQ_MEM(&a, &before, sizeof a); /* *out untouched */
}

TEST(addr_ipv4_parse) {
  wasio_addr_t a;
  ASSERT_OK(wasio_addr_parse("192.168.0.255", 80, &a));
  ASSERT_EQ_INT(a.family, WASIO_AF_INET);
  ASSERT_EQ_INT(a.port, 80);
  ASSERT_EQ_INT(a.ip[0], 192);
  ASSERT_EQ_INT(a.ip[3], 255);
  check_round("0.0.0.0", "0.0.0.0");
  check_round("255.255.255.255", "255.255.255.255");
  check_round("127.0.0.1", "127.0.0.1");
}

TEST(addr_ipv4_reject) {
  const char *bad[] = {"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.", ".1.2.3",
                       "01.2.3.4", "1..2.3", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "1.2.3.-4",
                       "1.2.3.4:80", "1.2.3.1000", "[1.2.3.4]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) check_reject(bad[i]);
}

TEST(addr_ipv6_parse_format) {
  check_round("::", "::");
  check_round("::1", "::1");
  check_round("1::", "1::");
  check_round("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
  check_round("2001:db8:0000:0001:0:0:0:1", "2001:db8:0:1::1");
  /* A single zero group is not shortened. */
  check_round("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
  /* Longest run wins; the first on a tie. */
  check_round("1:0:0:2:0:0:0:3", "1:0:0:2::3");
  check_round("1:0:0:2:3:0:0:4", "1::2:3:0:0:4");
  check_round("0:0:0:0:0:0:0:1", "::1");
  check_round("1:0:0:0:0:0:0:0", "1::");
  check_round("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  check_round("fe80::0001", "fe80::1");
  /* Embedded IPv4: mapped addresses keep the dotted tail. */
  check_round("::ffff:192.0.2.1", "::ffff:192.0.2.1");
  check_round("::FFFF:c000:0201", "::ffff:192.0.2.1");
  check_round("64:ff9b::192.0.2.33", "64:ff9b::c000:221");
  check_round("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304");
}

TEST(addr_ipv6_scope) {
  wasio_addr_t a;
  ASSERT_OK(wasio_addr_parse("fe80::1%2", 443, &a));
  ASSERT_EQ_INT(a.family, WASIO_AF_INET6);
  ASSERT_EQ_INT(a.scope_id, 2);
  ASSERT_EQ_INT(a.port, 443);
  char buf[WASIO_ADDR_STRLEN];
  ASSERT_EQ_INT(wasio_addr_format(&a, buf, sizeof buf), strlen("[fe80::1%2]:443"));
  ASSERT_EQ_STR(buf, "[fe80::1%2]:443");
  ASSERT_OK(wasio_addr_parse("fe80::1%4294967295", 0, &a));
  ASSERT_EQ_U64(a.scope_id, 4294967295u);
  check_reject("fe80::1%");
  check_reject("fe80::1%eth0");
  check_reject("fe80::1%4294967296");
  check_reject("1.2.3.4%1");
}

TEST(addr_ipv6_reject) {
  const char *bad[] = {":", ":::", "1:::2", "1::2::3", ":1::", "1:2:3:4:5:6:7:8:9",
                       "1:2:3:4:5:6:7", "12345::", "g::", "1:2:3:4:5:6:7:8::",
                       "::1:2:3:4:5:6:7:8", "1:", ":1", "::1.2.3", "::1.2.3.4.5",
                       "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:1", "[::1]", "::1 ", "::01.2.3.4"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) check_reject(bad[i]);
  /* "::" must stand for at least one group. */
  check_reject("1:2:3:4::5:6:7:8");
  /* Allowed: "::" standing for exactly one group. */
  wasio_addr_t a;
  ASSERT_OK(wasio_addr_parse("1:2:3:4::6:7:8", 0, &a));
}

TEST(addr_hostport) {
  wasio_addr_t a;
  char buf[WASIO_ADDR_STRLEN];
  ASSERT_OK(wasio_addr_parse_hostport("127.0.0.1:8080", &a));
  ASSERT_EQ_INT(a.family, WASIO_AF_INET);
  ASSERT_EQ_INT(a.port, 8080);
  wasio_addr_format(&a, buf, sizeof buf);
  ASSERT_EQ_STR(buf, "127.0.0.1:8080");
  ASSERT_OK(wasio_addr_parse_hostport("[::1]:65535", &a));
  ASSERT_EQ_INT(a.family, WASIO_AF_INET6);
  ASSERT_EQ_INT(a.port, 65535);
  wasio_addr_format(&a, buf, sizeof buf);
  ASSERT_EQ_STR(buf, "[::1]:65535");
  ASSERT_OK(wasio_addr_parse_hostport("[fe80::1%3]:0", &a));
  ASSERT_EQ_INT(a.scope_id, 3);
  const char *bad[] = {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                       "127.0.0.1:80x", "::1:80", "[::1]", "[::1]80", "[127.0.0.1]:80",
                       "[::1:80", ":80", "localhost:80", "127.0.0.1:080", "[]:80", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (wasio_addr_parse_hostport(bad[i], &a) != WASIO_EINVAL)
      harness_fail(__FILE__, __LINE__, "\"%s\" accepted", bad[i]);
}

TEST(addr_format_limits) {
  wasio_addr_t a;
  /* The longest form fits WASIO_ADDR_STRLEN exactly. */
  ASSERT_OK(wasio_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295", 65535, &a));
  char buf[WASIO_ADDR_STRLEN];
  int n = wasio_addr_format(&a, buf, sizeof buf);
  ASSERT_GT_INT(n, 0);
  ASSERT_LT_INT(n, WASIO_ADDR_STRLEN);
  /* Too small: ENAMETOOLONG and an empty string, at every short size. */
  ASSERT_OK(wasio_addr_parse("10.0.0.1", 80, &a));
  char small[16];
  for (size_t size = 1; size < strlen("10.0.0.1:80") + 1; size++) {
    memset(small, 'x', sizeof small);
    ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_addr_format(&a, small, size));
    ASSERT_EQ_STR(small, "");
  }
  ASSERT_EQ_INT(wasio_addr_format(&a, small, strlen("10.0.0.1:80") + 1), strlen("10.0.0.1:80"));
  ASSERT_WASIO(WASIO_ENAMETOOLONG, wasio_addr_format(&a, NULL, 0));
  a.family = 9;
  ASSERT_WASIO(WASIO_EINVAL, wasio_addr_format_ip(&a, buf, sizeof buf));
}

TEST(addr_helpers_equal) {
  wasio_addr_t a, b;
  wasio_addr_loopback(WASIO_AF_INET, 7, &a);
  ASSERT_OK(wasio_addr_parse("127.0.0.1", 7, &b));
  ASSERT_TRUE(wasio_addr_equal(&a, &b));
  b.port = 8;
  ASSERT_TRUE(!wasio_addr_equal(&a, &b));
  wasio_addr_loopback(WASIO_AF_INET6, 7, &a);
  ASSERT_OK(wasio_addr_parse("::1", 7, &b));
  ASSERT_TRUE(wasio_addr_equal(&a, &b));
  b.scope_id = 1;
  ASSERT_TRUE(!wasio_addr_equal(&a, &b));
  wasio_addr_any(WASIO_AF_INET6, 0, &a);
  ASSERT_OK(wasio_addr_parse("::", 0, &b));
  ASSERT_TRUE(wasio_addr_equal(&a, &b));
  wasio_addr_any(WASIO_AF_INET, 0, &a);
  ASSERT_OK(wasio_addr_parse("0.0.0.0", 0, &b));
  ASSERT_TRUE(wasio_addr_equal(&a, &b));
}

/* Every IPv6 text of every 16-bit-group pattern of zeros and ones formats to
 * a text that parses back to the same bytes. */
TEST(addr_ipv6_all_zero_patterns) {
  for (unsigned mask = 0; mask < 256; mask++) {
    wasio_addr_t a, b;
    wasio_addr_any(WASIO_AF_INET6, 0, &a);
    for (int g = 0; g < 8; g++)
      if (mask & (1u << g)) a.ip[2 * g + 1] = (uint8_t)(g + 1);
    char buf[WASIO_ADDR_STRLEN];
    ASSERT_GT_INT(wasio_addr_format_ip(&a, buf, sizeof buf), 0);
    ASSERT_OK(wasio_addr_parse(buf, 0, &b));
    ASSERT_EQ_MEM(a.ip, b.ip, 16);
  }
}
