#include "policy/special_ranges.h"

#include <string.h>

#include "base/bug.h"

#define V4(a, b, c, d)                                                                             \
	{                                                                                          \
		.family = IP_V4, .bytes = { a, b, c, d }                                           \
	}
#define V6(...)                                                                                    \
	{                                                                                          \
		.family = IP_V6, .bytes = { __VA_ARGS__ }                                          \
	}

/* docs/security.md guarantee 1: the IANA IPv4 and IPv6 Special-Purpose Address Registries
 * (RFC 6890 and updates), every entry whose "Globally Reachable" is False or N/A, plus:
 * - ::/96, deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1), denied whole;
 * - 64:ff9b:1::/48, local-use IPv4/IPv6 translation (RFC 8215), not global by definition;
 * - public cloud metadata endpoints (Azure's wire server).
 * Where entries overlap, the longest prefix names the address (255.255.255.255 inside 240/4,
 * ::1 inside ::/96). */
static const struct special_range table[] = {
    {"0.0.0.0/8", "this-network", V4(0, 0, 0, 0), 8},			     /* RFC 791 */
    {"10.0.0.0/8", "private-use", V4(10, 0, 0, 0), 8},			     /* RFC 1918 */
    {"100.64.0.0/10", "shared-address-space", V4(100, 64, 0, 0), 10},	     /* RFC 6598 */
    {"127.0.0.0/8", "loopback", V4(127, 0, 0, 0), 8},			     /* RFC 1122 */
    {"169.254.0.0/16", "link-local", V4(169, 254, 0, 0), 16},		     /* RFC 3927 */
    {"172.16.0.0/12", "private-use", V4(172, 16, 0, 0), 12},		     /* RFC 1918 */
    {"192.0.0.0/24", "ietf-protocol-assignments", V4(192, 0, 0, 0), 24},     /* RFC 6890 */
    {"192.0.2.0/24", "documentation", V4(192, 0, 2, 0), 24},		     /* RFC 5737 */
    {"192.88.99.0/24", "6to4-relay-anycast", V4(192, 88, 99, 0), 24},	     /* RFC 7526 */
    {"192.168.0.0/16", "private-use", V4(192, 168, 0, 0), 16},		     /* RFC 1918 */
    {"198.18.0.0/15", "benchmarking", V4(198, 18, 0, 0), 15},		     /* RFC 2544 */
    {"198.51.100.0/24", "documentation", V4(198, 51, 100, 0), 24},	     /* RFC 5737 */
    {"203.0.113.0/24", "documentation", V4(203, 0, 113, 0), 24},	     /* RFC 5737 */
    {"224.0.0.0/4", "multicast", V4(224, 0, 0, 0), 4},			     /* RFC 5771 */
    {"240.0.0.0/4", "reserved", V4(240, 0, 0, 0), 4},			     /* RFC 1112 */
    {"255.255.255.255/32", "limited-broadcast", V4(255, 255, 255, 255), 32}, /* RFC 919 */
    {"168.63.129.16/32", "cloud-metadata", V4(168, 63, 129, 16), 32},	     /* Azure wire server */

    {"::/128", "unspecified", V6(0), 128}, /* RFC 4291 */
    {"::1/128", "loopback", V6(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 128},
    {"::/96", "ipv4-compatible", V6(0), 96},				      /* RFC 4291 */
    {"64:ff9b:1::/48", "nat64-local-use", V6(0, 0x64, 0xff, 0x9b, 0, 1), 48}, /* RFC 8215 */
    {"100::/64", "discard-only", V6(0x01, 0), 64},			      /* RFC 6666 */
    {"2001::/23", "ietf-protocol-assignments", V6(0x20, 0x01), 23},	      /* RFC 2928 */
    {"2001:db8::/32", "documentation", V6(0x20, 0x01, 0x0d, 0xb8), 32},	      /* RFC 3849 */
    {"3fff::/20", "documentation", V6(0x3f, 0xff), 20},			      /* RFC 9637 */
    {"fc00::/7", "unique-local", V6(0xfc), 7},				      /* RFC 4193 */
    {"fe80::/10", "link-local", V6(0xfe, 0x80), 10},			      /* RFC 4291 */
    {"fec0::/10", "site-local", V6(0xfe, 0xc0), 10},			      /* RFC 3879 */
    {"ff00::/8", "multicast", V6(0xff), 8},				      /* RFC 4291 */
};

/* Cloud metadata endpoints: AWS/GCP/Azure/OCI IMDS, AWS ECS task metadata (v2, v4), Alibaba,
 * Azure wire server, AWS IMDS over IPv6 (Nitro) and its ECS counterpart. */
static const struct ip_addr metadata[] = {
    V4(169, 254, 169, 254),
    V4(169, 254, 170, 2),
    V4(169, 254, 170, 23),
    V4(100, 100, 100, 200),
    V4(168, 63, 129, 16),
    V6(0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54),
    V6(0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x23),
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static bool prefix_covers(const struct ip_addr *prefix, unsigned len, const struct ip_addr *a)
{
	if (prefix->family != a->family)
		return false;
	unsigned whole = len / 8, rest = len % 8;
	if (memcmp(prefix->bytes, a->bytes, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff00u >> rest);
	return (prefix->bytes[whole] & mask) == (a->bytes[whole] & mask);
}

/* Longest covering table entry; the table is a few dozen rows, so a scan beats a tree. */
static const struct special_range *table_match(const struct ip_addr *a)
{
	const struct special_range *best = NULL;
	for (size_t i = 0; i < N_ELEMS(table); i++)
		if (prefix_covers(&table[i].addr, table[i].prefix_len, a) &&
		    (best == NULL || table[i].prefix_len > best->prefix_len))
			best = &table[i];
	return best;
}

static bool has_prefix(const uint8_t *b, const uint8_t *prefix, size_t n)
{
	return memcmp(b, prefix, n) == 0;
}

static void v4_from(struct ip_addr *v4, const uint8_t *b, uint32_t xor_mask)
{
	uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	ip_addr_v4(v4, v ^ xor_mask);
}

/* Every IPv4 address embedded in a: out[0] is the host the address stands for, out[1] (Teredo
 * only) the Teredo server that would relay to it. Returns how many. */
static unsigned embedded_all(const struct ip_addr *a, struct ip_addr out[2])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t zero[12] = {0};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
	static const uint8_t six_to_four[2] = {0x20, 0x02};
	static const uint8_t teredo[4] = {0x20, 0x01, 0, 0};
	const uint8_t *b = a->bytes;

	if (a->family != IP_V6)
		return 0;
	/* RFC 4291 §2.5.5.2 mapped, RFC 6052 §2.1 well-known NAT64, RFC 8215 local-use NAT64 (read
	 * as its common /96 layout): the last 32 bits. */
	if (has_prefix(b, mapped, 12) || has_prefix(b, nat64, 12) ||
	    has_prefix(b, nat64_local, 6)) {
		v4_from(&out[0], b + 12, 0);
		return 1;
	}
	/* RFC 4291 §2.5.5.1 IPv4-compatible: :: and ::1 are the unspecified and loopback addresses,
	 * not 0.0.0.0 and 0.0.0.1. */
	if (has_prefix(b, zero, 12) && !(b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] <= 1)) {
		v4_from(&out[0], b + 12, 0);
		return 1;
	}
	if (has_prefix(b, six_to_four, 2)) { /* RFC 3056 §2: 2002:V4ADDR::/48 */
		v4_from(&out[0], b + 2, 0);
		return 1;
	}
	if (has_prefix(b, teredo, 4)) { /* RFC 4380 §4: client obfuscated, server in clear */
		v4_from(&out[0], b + 12, 0xffffffffu);
		v4_from(&out[1], b + 4, 0);
		return 2;
	}
	return 0;
}

/* An embedded IPv4 address that is non-global names the address: "::ffff:169.254.169.254" is
 * reported as link-local, not as whatever the IPv6 form is. */
const struct special_range *special_ranges_match(const struct ip_addr *addr)
{
	/* An unset family would match no row and read as "global": fail closed, loudly. */
	BUG_ON(addr->family != IP_V4 && addr->family != IP_V6);
	struct ip_addr v4[2];
	unsigned n = embedded_all(addr, v4);
	for (unsigned i = 0; i < n; i++) {
		const struct special_range *r = table_match(&v4[i]);
		if (r != NULL)
			return r;
	}
	return table_match(addr);
}

static bool is_metadata_plain(const struct ip_addr *a)
{
	for (size_t i = 0; i < N_ELEMS(metadata); i++)
		if (ip_addr_eq(&metadata[i], a))
			return true;
	return false;
}

bool special_ranges_is_metadata(const struct ip_addr *addr)
{
	BUG_ON(addr->family != IP_V4 && addr->family != IP_V6);
	struct ip_addr v4[2];
	unsigned n = embedded_all(addr, v4);
	for (unsigned i = 0; i < n; i++)
		if (is_metadata_plain(&v4[i]))
			return true;
	return is_metadata_plain(addr);
}

bool special_ranges_embedded_v4(const struct ip_addr *addr, struct ip_addr *v4)
{
	struct ip_addr all[2];
	if (embedded_all(addr, all) == 0)
		return false;
	*v4 = all[0];
	return true;
}
