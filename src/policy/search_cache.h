/* search_cache: answers to identical searches kept for search.cache_ttl, so that an agent
 * asking the same thing twice (agents retry, and several ask alike) does not send SearXNG the
 * same query again. One per worker, a fixed number of entries, the least recently used one
 * replaced; an entry knows the configuration generation it was made under and is a miss under
 * another. Pure: the caller gives the time. */
#ifndef SLUICE_POLICY_SEARCH_CACHE_H
#define SLUICE_POLICY_SEARCH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "parse/search_request.h"

struct search_cache;

/* NULL when out of memory. */
struct search_cache *search_cache_new(unsigned entries);
void search_cache_free(struct search_cache *c);
unsigned search_cache_capacity(const struct search_cache *c);

/* What makes two searches the same: the API (answers differ in shape), the text and every
 * parameter SearXNG is asked with or the answer is cut by. */
struct search_cache_key {
	char text[SEARCH_QUERY_MAX + 96];
	size_t len;
};
void search_cache_key_of(const struct search_query *q, struct search_cache_key *k);

/* The answer kept for k under generation gen, not older than ttl_ms: its body, content type
 * (static) and result count. The body stays valid until the next put. */
bool search_cache_get(struct search_cache *c, const struct search_cache_key *k, uint64_t gen,
		      uint64_t now_ms, unsigned ttl_ms, struct slice *body, const char **ctype,
		      unsigned *results);
/* Keeps a copy of body for k; false when out of memory (nothing is kept). */
bool search_cache_put(struct search_cache *c, const struct search_cache_key *k, uint64_t gen,
		      uint64_t now_ms, struct slice body, const char *ctype, unsigned results);

#endif
