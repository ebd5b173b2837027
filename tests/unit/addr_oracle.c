/* tests/unit/addr_oracle.c: wasio/addr.h checked against the C
 * library's inet_pton/inet_ntop on many generated inputs (native only: the
 * oracle is glibc). */
#include <arpa/inet.h>
#include <stdio.h>

#include "harness.h"
#include "wasio.h"

#define ORACLE_CASES 200000
#define ORACLE_MAX_TOKENS 10

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

/* Pieces that make near-miss addresses likely. */
static const char *const tokens[] = {"0", "1", "a", "ff", "ffff", "FFFF", "12345", "::", ":",
                                     ".", "1.2.3.4", "255", "256", "01", "0.0", "g", "00000"};

/* Parsing agrees with inet_pton on acceptance and on the bytes. */
TEST(addr_parse_matches_inet_pton) {
  char text[128];
  int accepted = 0;
  for (int n = 0; n < ORACLE_CASES; n++) {
    size_t len = 0;
    int ntok = 1 + (int)(rng() % ORACLE_MAX_TOKENS);
    text[0] = '\0';
    for (int i = 0; i < ntok; i++) {
      const char *t = tokens[rng() % (sizeof tokens / sizeof tokens[0])];
      size_t tl = strlen(t);
      if (len + tl + 1 > sizeof text) break;
      memcpy(text + len, t, tl + 1);
      len += tl;
    }
    uint8_t want[16];
    int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
    int ok = inet_pton(fam, text, want) == 1;
    wasio_addr_t a;
    int rc = wasio_addr_parse(text, 0, &a);
    if (ok != (rc == 0)) harness_fail(__FILE__, __LINE__, "\"%s\": inet_pton %s, wasio %s", text,
                                      ok ? "accepts" : "rejects", rc == 0 ? "accepts" : "rejects");
    if (ok) ASSERT_EQ_MEM(a.ip, want, fam == AF_INET6 ? 16u : 4u);
    accepted += ok;
  }
  /* The generator must reach the valid side too, or this proves little. */
  printf("  (%d of %d generated texts were addresses)\n", accepted, ORACLE_CASES);
  ASSERT_GT_INT(accepted, ORACLE_CASES / 100);
}

/* Formatting agrees with inet_ntop (RFC 5952), except for the deprecated
 * IPv4-compatible ::/96 form, which glibc prints dotted and RFC 5952 does not
 * ask for. */
TEST(addr_format_matches_inet_ntop) {
  for (int n = 0; n < ORACLE_CASES; n++) {
    wasio_addr_t a;
    wasio_addr_any(WASIO_AF_INET6, 0, &a);
    /* Mostly zero groups, so runs of every length and position occur. */
    for (int g = 0; g < 8; g++) {
      uint32_t r = rng();
      if (r % 3 == 0) {
        a.ip[2 * g] = (uint8_t)(r >> 8);
        a.ip[2 * g + 1] = (uint8_t)(r >> 16);
      }
    }
    if (rng() % 8 == 0) {
      memset(a.ip, 0, 10);
      a.ip[10] = a.ip[11] = 0xff;
    }
    static const uint8_t zero12[12];
    if (memcmp(a.ip, zero12, 12) == 0) continue;
    char want[INET6_ADDRSTRLEN], got[WASIO_ADDR_STRLEN];
    ASSERT_TRUE(inet_ntop(AF_INET6, a.ip, want, sizeof want) != NULL);
    ASSERT_GT_INT(wasio_addr_format_ip(&a, got, sizeof got), 0);
    ASSERT_EQ_STR(got, want);
  }
}
