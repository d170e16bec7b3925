/* domain_set: a set of domain patterns — exact names ("example.com"), suffix wildcards
 * ("*.example.com", which matches names below example.com but not example.com itself) and "*"
 * (any host) — matched with hash lookups per label suffix, not a linear scan.
 * Does not normalise names: callers pass names already normalised by parse/authority. */
#ifndef SLUICE_POLICY_DOMAIN_SET_H
#define SLUICE_POLICY_DOMAIN_SET_H

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"

struct domain_set;

struct domain_set *domain_set_new(void);
void domain_set_free(struct domain_set *set);
/* Validates and adds a pattern (case-insensitive; stored lower-cased, trailing dot removed).
 * Names follow parse/authority's rules; IP addresses (and names ending in a number) are refused.
 * Returns 0, or -1 with *detail (may be NULL) set to a static message (empty, bad characters, "*"
 * not a whole leading label, label too long, ...). Adding a pattern twice is harmless. */
int domain_set_add(struct domain_set *set, struct slice pattern, const char **detail);
/* The most specific pattern matching name (exact beats the longest wildcard beats "*"), as the
 * NUL-terminated text stored in the set (valid until domain_set_free), or NULL. "*" matches any
 * non-empty name, IP text included. Case and one trailing dot in name are tolerated. */
const char *domain_set_match(const struct domain_set *set, struct slice name);
unsigned domain_set_count(const struct domain_set *set);
/* Adds a pattern that only matches on one destination port ("api.example.com:8443"). */
int domain_set_add_port(struct domain_set *set, struct slice pattern, uint16_t port,
			const char **detail);
/* Port-aware match: a pattern pinned to `port` first (then *pinned_port = port), else the
 * portless match (then *pinned_port = 0). pinned_port may be NULL. */
const char *domain_set_match_port(const struct domain_set *set, struct slice name, uint16_t port,
				  uint16_t *pinned_port);
/* The port-pinned patterns that match name, one port at a time (for a name judged without a
 * port, a DNS question): start with *cursor = 0 and call again while it returns a pattern;
 * *port is the port that pattern is pinned to. The portless patterns are not looked at. */
const char *domain_set_match_pinned(const struct domain_set *set, struct slice name,
				    unsigned *cursor, uint16_t *port);

#endif
