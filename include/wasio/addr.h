/* wasio/addr.h: IP socket addresses, parsed and formatted without any I/O.
 *
 * A wasio_addr_t is a plain value (copy it freely). Parsing is numeric only:
 * host names go through wasio/dns.h, never through these functions.
 */
#ifndef WASIO_ADDR_H
#define WASIO_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum wasio_family {
  WASIO_AF_UNSPEC = 0,
  WASIO_AF_INET = 4,
  WASIO_AF_INET6 = 6
} wasio_family_t;

/* Longest text wasio_addr_format() writes, with the NUL:
 * "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:65535". */
#define WASIO_ADDR_STRLEN 64

typedef struct wasio_addr {
  uint8_t family;     /* wasio_family_t */
  uint16_t port;      /* host byte order */
  uint32_t flowinfo;  /* IPv6 only */
  uint32_t scope_id;  /* IPv6 only */
  uint8_t ip[16];     /* network byte order; IPv4 uses ip[0..3] */
} wasio_addr_t;

/* Parses a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "fe80::1%2")
 * address. Brackets are not accepted here. Returns 0, or WASIO_EINVAL (and
 * leaves *out untouched) when `ip` is not a numeric address. */
int wasio_addr_parse(const char *ip, uint16_t port, wasio_addr_t *out);

/* Parses "HOST:PORT" where HOST is numeric IPv4 or a bracketed IPv6
 * ("[::1]:8080"). Returns 0 or WASIO_EINVAL. */
int wasio_addr_parse_hostport(const char *text, wasio_addr_t *out);

/* Fills *out with the loopback address of `family` (127.0.0.1 or ::1). */
void wasio_addr_loopback(wasio_family_t family, uint16_t port, wasio_addr_t *out);

/* Fills *out with the unspecified address (0.0.0.0 or ::). */
void wasio_addr_any(wasio_family_t family, uint16_t port, wasio_addr_t *out);

/* Writes the IP alone ("127.0.0.1", "::1", RFC 5952 form) into buf.
 * Returns the length written (without NUL), or WASIO_EINVAL for a bad
 * address, or WASIO_ENAMETOOLONG if `size` is too small (buf then holds "").*/
int wasio_addr_format_ip(const wasio_addr_t *addr, char *buf, size_t size);

/* Writes "IP:PORT" or "[IPv6]:PORT". Same returns as wasio_addr_format_ip. */
int wasio_addr_format(const wasio_addr_t *addr, char *buf, size_t size);

/* True when family, ip, port (and for IPv6 scope_id) are equal. */
bool wasio_addr_equal(const wasio_addr_t *a, const wasio_addr_t *b);

#ifdef __cplusplus
}
#endif
#endif
