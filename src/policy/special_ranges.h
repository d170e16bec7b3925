/* special_ranges: the built-in table of destinations that are never globally reachable
 * (IANA special-purpose registries) plus public cloud metadata addresses, and the extraction
 * of IPv4 addresses embedded in IPv6 forms. Does not consult operator configuration. */
#ifndef SLUICE_POLICY_SPECIAL_RANGES_H
#define SLUICE_POLICY_SPECIAL_RANGES_H

#include <stdbool.h>

#include "base/ip_addr.h"

struct special_range {
	const char *cidr; /* e.g. "169.254.0.0/16" */
	const char *name; /* e.g. "link-local", "private-use", "loopback", "cloud-metadata" */
	struct ip_addr addr;
	unsigned prefix_len;
};

/* The non-global range that contains addr, or NULL for a globally reachable address. For an
 * IPv6 address that embeds IPv4 (::ffff:0:0/96, IPv4-compatible ::/96, 64:ff9b::/96,
 * 64:ff9b:1::/48, 2002::/16 6to4, 2001::/32 Teredo server and client), the embedded IPv4 address
 * is judged first and its range returned when it is non-global ("::ffff:169.254.169.254" →
 * link-local); otherwise the IPv6 address's own range, longest prefix first ("::8.8.8.8" →
 * "ipv4-compatible", Teredo with global addresses → 2001::/23). Callers that re-allow ranges
 * should test the embedded IPv4 address (special_ranges_embedded_v4) against them as well. */
const struct special_range *special_ranges_match(const struct ip_addr *addr);

/* True when addr (or an IPv4 address it embeds) is a cloud metadata endpoint:
 * 169.254.169.254, 169.254.170.2, 169.254.170.23, 100.100.100.200, 168.63.129.16,
 * fd00:ec2::254, fd00:ec2::23. Metadata addresses are re-allowed only when an operator names the
 * exact address. */
bool special_ranges_is_metadata(const struct ip_addr *addr);

/* Writes the IPv4 address embedded in an IPv6 address into *v4 and returns true, or false.
 * Teredo gives the client (the host the address stands for); 64:ff9b:1::/48 is read as its
 * common /96 layout (last 32 bits); :: and ::1 embed nothing (unspecified and loopback). */
bool special_ranges_embedded_v4(const struct ip_addr *addr, struct ip_addr *v4);

#endif
