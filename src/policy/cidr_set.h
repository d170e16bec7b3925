/* cidr_set: a set of IPv4 and IPv6 prefixes with longest-prefix match (binary radix tree).
 * Does not parse text (parse/cidr does) or know which ranges are special. */
#ifndef SLUICE_POLICY_CIDR_SET_H
#define SLUICE_POLICY_CIDR_SET_H

#include <stdbool.h>

#include "base/ip_addr.h"

struct cidr_set;

struct cidr_set *cidr_set_new(void);
void cidr_set_free(struct cidr_set *set);
/* Adds addr/prefix_len (host bits are ignored). Returns 0, or -1 on allocation failure or a
 * prefix longer than the family allows. Adding a prefix twice is harmless. */
int cidr_set_add(struct cidr_set *set, const struct ip_addr *addr, unsigned prefix_len);
/* True when some prefix in the set covers addr; *matched_prefix_len (may be NULL) gets the
 * longest such prefix length. IPv4 and IPv6 are separate families: ::ffff:a.b.c.d is not
 * matched by a.b.c.d/32 here (special_ranges handles embedded IPv4). */
bool cidr_set_match(const struct cidr_set *set, const struct ip_addr *addr,
		    unsigned *matched_prefix_len);
/* Formats the longest matching prefix as "addr/len" into out (IP_ADDR_TEXT_MAX + 4 bytes hold
 * any) and returns true, or returns false when nothing matches. A shorter out truncates the text;
 * it never turns a match into a miss. */
bool cidr_set_match_text(const struct cidr_set *set, const struct ip_addr *addr, char *out,
			 size_t out_size);
unsigned cidr_set_count(const struct cidr_set *set);

#endif
