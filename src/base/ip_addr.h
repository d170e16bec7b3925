/* ip_addr: an IPv4 or IPv6 address as bytes in network order, and its canonical text.
 * Does not parse lenient spellings (parse/authority does) or touch socket structures (io does). */
#ifndef SLUICE_BASE_IP_ADDR_H
#define SLUICE_BASE_IP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ip_family { IP_V4 = 4, IP_V6 = 6 };

struct ip_addr {
	uint8_t family;	   /* IP_V4 or IP_V6 */
	uint8_t bytes[16]; /* IPv4 uses bytes[0..3] */
};

/* Longest canonical text: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" plus NUL. */
#define IP_ADDR_TEXT_MAX 48

void ip_addr_v4(struct ip_addr *a, uint32_t host_order);
bool ip_addr_eq(const struct ip_addr *a, const struct ip_addr *b);
/* 0.0.0.0 or ::, the wildcard a socket binds to listen on every address. */
bool ip_addr_is_unspecified(const struct ip_addr *a);
/* 127.0.0.0/8 or ::1: an address only this host reaches. */
bool ip_addr_is_loopback(const struct ip_addr *a);
unsigned ip_addr_bits(const struct ip_addr *a); /* 32 or 128 */
/* Canonical text (dotted quad; RFC 5952 for IPv6), NUL-terminated. Returns its length. */
size_t ip_addr_format(const struct ip_addr *a, char out[IP_ADDR_TEXT_MAX]);

#endif
