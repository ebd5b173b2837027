/* src/codec/addr.c: numeric IP addresses, parsed and formatted (wasio/addr.h).
 * Pure functions: no I/O, no locale, no allocation.
 *
 * Implementation notes
 * - IPv4 is strict dotted-quad: four decimal parts 0..255, no leading zeros
 *   (which some parsers read as octal, so "010.0.0.1" is refused rather than
 *   guessed at), no shorthand forms like "127.1".
 * - IPv6 follows RFC 4291 section 2.2: up to eight 1-4 digit hex groups, at
 *   most one "::", an optional trailing dotted IPv4 part, and an optional
 *   numeric "%scope" zone (RFC 4007); interface names need the OS, so they
 *   are refused here.
 * - Output is RFC 5952: lower case, no leading zeros, the longest run of two
 *   or more zero groups shortened to "::" (the first such run on a tie), and
 *   IPv4-mapped addresses (::ffff:0:0/96) written with a dotted tail.
 */
#include <string.h>

#include <stdbool.h>
#include <stdint.h>

#include "wasio/addr.h"
#include "wasio/error.h"

#define WASIO__IPV4_LEN 4
#define WASIO__IPV6_LEN 16
#define WASIO__IPV6_GROUPS 8
#define WASIO__HEX_GROUP_MAX_DIGITS 4

static bool wasio__is_digit(char c) { return c >= '0' && c <= '9'; }

static int wasio__hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Parses exactly [s, end) as dotted-quad IPv4 into out[4]. */
static bool wasio__parse_v4(const char *s, const char *end, uint8_t out[WASIO__IPV4_LEN]) {
  uint8_t tmp[WASIO__IPV4_LEN];
  for (int part = 0; part < WASIO__IPV4_LEN; part++) {
    if (part > 0) {
      if (s == end || *s != '.') return false;
      s++;
    }
    const char *start = s;
    unsigned value = 0;
    while (s < end && wasio__is_digit(*s)) {
      value = value * 10 + (unsigned)(*s - '0');
      if (value > 255) return false;
      s++;
    }
    size_t digits = (size_t)(s - start);
    if (digits == 0 || (digits > 1 && *start == '0')) return false;
    tmp[part] = (uint8_t)value;
  }
  if (s != end) return false;
  memcpy(out, tmp, sizeof tmp);
  return true;
}

/* Parses a decimal uint32 filling exactly [s, end). */
static bool wasio__parse_u32(const char *s, const char *end, uint32_t *out) {
  if (s == end) return false;
  uint64_t v = 0;
  for (; s < end; s++) {
    if (!wasio__is_digit(*s)) return false;
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > UINT32_MAX) return false;
  }
  *out = (uint32_t)v;
  return true;
}

/* Parses exactly [s, end) as IPv6 text without a zone into out[16]. */
static bool wasio__parse_v6(const char *s, const char *end, uint8_t out[WASIO__IPV6_LEN]) {
  uint8_t tmp[WASIO__IPV6_LEN] = {0};
  size_t n = 0;          /* bytes written to tmp */
  long gap = -1;         /* byte offset of "::", or -1 */
  if (s == end) return false;
  if (*s == ':') {
    /* A leading colon is only valid as the start of "::". */
    if (end - s < 2 || s[1] != ':') return false;
    s += 2;
    gap = 0;
    if (s == end) goto done;
  }
  for (;;) {
    const char *start = s;
    unsigned value = 0;
    int digits = 0;
    while (s < end && wasio__hex_value(*s) >= 0) {
      if (++digits > WASIO__HEX_GROUP_MAX_DIGITS) return false;
      value = value * 16 + (unsigned)wasio__hex_value(*s);
      s++;
    }
    if (s < end && *s == '.') {
      /* The dotted IPv4 tail: it fills the last 32 bits and ends the text. */
      if (n + WASIO__IPV4_LEN > WASIO__IPV6_LEN) return false;
      if (!wasio__parse_v4(start, end, tmp + n)) return false;
      n += WASIO__IPV4_LEN;
      break;
    }
    if (digits == 0) return false;
    if (n + 2 > WASIO__IPV6_LEN) return false;
    tmp[n++] = (uint8_t)(value >> 8);
    tmp[n++] = (uint8_t)value;
    if (s == end) break;
    if (*s != ':') return false;
    s++;
    if (s < end && *s == ':') {
      if (gap >= 0) return false; /* a second "::" */
      gap = (long)n;
      s++;
      if (s == end) break;
    } else if (s == end) {
      return false; /* a trailing single colon */
    }
  }
done:
  if (gap >= 0) {
    /* "::" stands for at least one zero group. */
    if (n == WASIO__IPV6_LEN) return false;
    size_t tail = n - (size_t)gap;
    memmove(tmp + WASIO__IPV6_LEN - tail, tmp + gap, tail);
    memset(tmp + gap, 0, WASIO__IPV6_LEN - tail - (size_t)gap);
  } else if (n != WASIO__IPV6_LEN) {
    return false;
  }
  memcpy(out, tmp, sizeof tmp);
  return true;
}

int wasio_addr_parse(const char *ip, uint16_t port, wasio_addr_t *out) {
  if (ip == NULL || out == NULL) return WASIO_EINVAL;
  const char *end = ip + strlen(ip);
  wasio_addr_t a;
  memset(&a, 0, sizeof a);
  a.port = port;
  if (wasio__parse_v4(ip, end, a.ip)) {
    a.family = WASIO_AF_INET;
    *out = a;
    return 0;
  }
  const char *pct = memchr(ip, '%', (size_t)(end - ip));
  if (pct != NULL && !wasio__parse_u32(pct + 1, end, &a.scope_id)) return WASIO_EINVAL;
  if (!wasio__parse_v6(ip, pct != NULL ? pct : end, a.ip)) return WASIO_EINVAL;
  a.family = WASIO_AF_INET6;
  *out = a;
  return 0;
}

int wasio_addr_parse_hostport(const char *text, wasio_addr_t *out) {
  if (text == NULL || out == NULL) return WASIO_EINVAL;
  char host[WASIO_ADDR_STRLEN];
  const char *port_text;
  size_t host_len;
  bool bracketed = text[0] == '[';
  if (bracketed) {
    const char *close = strchr(text, ']');
    if (close == NULL || close[1] != ':') return WASIO_EINVAL;
    host_len = (size_t)(close - text - 1);
    memcpy(host, text + 1, host_len < sizeof host ? host_len : 0);
    port_text = close + 2;
  } else {
    /* Unbracketed means IPv4: the host ends at the only colon. */
    const char *colon = strchr(text, ':');
    if (colon == NULL || strchr(colon + 1, ':') != NULL) return WASIO_EINVAL;
    host_len = (size_t)(colon - text);
    memcpy(host, text, host_len < sizeof host ? host_len : 0);
    port_text = colon + 1;
  }
  if (host_len == 0 || host_len >= sizeof host) return WASIO_EINVAL;
  host[host_len] = '\0';
  uint32_t port;
  const char *port_end = port_text + strlen(port_text);
  /* Ports are plain decimal; a leading zero is accepted only for "0". */
  if (!wasio__parse_u32(port_text, port_end, &port) || port > UINT16_MAX ||
      (port_end - port_text > 1 && port_text[0] == '0'))
    return WASIO_EINVAL;
  wasio_addr_t a;
  if (wasio_addr_parse(host, (uint16_t)port, &a) != 0) return WASIO_EINVAL;
  if ((a.family == WASIO_AF_INET6) != bracketed) return WASIO_EINVAL;
  *out = a;
  return 0;
}

void wasio_addr_loopback(wasio_family_t family, uint16_t port, wasio_addr_t *out) {
  memset(out, 0, sizeof *out);
  out->port = port;
  if (family == WASIO_AF_INET6) {
    out->family = WASIO_AF_INET6;
    out->ip[15] = 1;
  } else {
    out->family = WASIO_AF_INET;
    out->ip[0] = 127;
    out->ip[3] = 1;
  }
}

void wasio_addr_any(wasio_family_t family, uint16_t port, wasio_addr_t *out) {
  memset(out, 0, sizeof *out);
  out->port = port;
  out->family = family == WASIO_AF_INET6 ? WASIO_AF_INET6 : WASIO_AF_INET;
}

/* A bounded writer: remembers overflow instead of checking at every step. */
typedef struct wasio__out {
  char *buf;
  size_t size, len;
  bool overflow;
} wasio__out_t;

static void wasio__put_char(wasio__out_t *o, char c) {
  if (o->len + 1 < o->size)
    o->buf[o->len] = c;
  else
    o->overflow = true;
  o->len++;
}

static void wasio__put_dec(wasio__out_t *o, uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) wasio__put_char(o, digits[--n]);
}

static void wasio__put_hex(wasio__out_t *o, unsigned v) {
  static const char hex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    unsigned d = (v >> shift) & 0xf;
    if (d != 0 || started || shift == 0) {
      wasio__put_char(o, hex[d]);
      started = true;
    }
  }
}

static void wasio__put_v4(wasio__out_t *o, const uint8_t *ip) {
  for (int i = 0; i < WASIO__IPV4_LEN; i++) {
    if (i > 0) wasio__put_char(o, '.');
    wasio__put_dec(o, ip[i]);
  }
}

static void wasio__put_v6(wasio__out_t *o, const wasio_addr_t *a) {
  static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(a->ip, mapped_prefix, sizeof mapped_prefix) == 0) {
    const char *p = "::ffff:";
    while (*p) wasio__put_char(o, *p++);
    wasio__put_v4(o, a->ip + 12);
  } else {
    unsigned g[WASIO__IPV6_GROUPS];
    for (int i = 0; i < WASIO__IPV6_GROUPS; i++) g[i] = (unsigned)a->ip[2 * i] << 8 | a->ip[2 * i + 1];
    /* The longest run of zero groups; runs of one are not shortened. */
    int best = -1, best_len = 1;
    for (int i = 0; i < WASIO__IPV6_GROUPS;) {
      if (g[i] != 0) {
        i++;
        continue;
      }
      int j = i;
      while (j < WASIO__IPV6_GROUPS && g[j] == 0) j++;
      if (j - i > best_len) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    for (int i = 0; i < WASIO__IPV6_GROUPS; i++) {
      if (i == best) {
        wasio__put_char(o, ':');
        wasio__put_char(o, ':');
        i += best_len - 1;
        continue;
      }
      if (i > 0 && i != best + best_len) wasio__put_char(o, ':');
      wasio__put_hex(o, g[i]);
    }
  }
  if (a->scope_id != 0) {
    wasio__put_char(o, '%');
    wasio__put_dec(o, a->scope_id);
  }
}

/* Writes the address, bracketed with its port when with_port. */
static int wasio__format(const wasio_addr_t *addr, char *buf, size_t size, bool with_port) {
  if (addr == NULL || (buf == NULL && size > 0)) return WASIO_EINVAL;
  if (addr->family != WASIO_AF_INET && addr->family != WASIO_AF_INET6) {
    if (size > 0) buf[0] = '\0';
    return WASIO_EINVAL;
  }
  wasio__out_t o = {buf, size, 0, false};
  bool v6 = addr->family == WASIO_AF_INET6;
  if (with_port && v6) wasio__put_char(&o, '[');
  if (v6)
    wasio__put_v6(&o, addr);
  else
    wasio__put_v4(&o, addr->ip);
  if (with_port) {
    if (v6) wasio__put_char(&o, ']');
    wasio__put_char(&o, ':');
    wasio__put_dec(&o, addr->port);
  }
  if (o.overflow || size == 0) {
    if (size > 0) buf[0] = '\0';
    return WASIO_ENAMETOOLONG;
  }
  buf[o.len] = '\0';
  return (int)o.len;
}

int wasio_addr_format_ip(const wasio_addr_t *addr, char *buf, size_t size) {
  return wasio__format(addr, buf, size, false);
}

int wasio_addr_format(const wasio_addr_t *addr, char *buf, size_t size) {
  return wasio__format(addr, buf, size, true);
}

bool wasio_addr_equal(const wasio_addr_t *a, const wasio_addr_t *b) {
  if (a->family != b->family || a->port != b->port) return false;
  if (a->family == WASIO_AF_INET) return memcmp(a->ip, b->ip, WASIO__IPV4_LEN) == 0;
  if (a->family == WASIO_AF_INET6)
    return a->scope_id == b->scope_id && memcmp(a->ip, b->ip, WASIO__IPV6_LEN) == 0;
  return true; /* two unspecified-family values carry no address */
}
