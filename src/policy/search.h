/* search: the search: section's settings — the route to SearXNG, the APIs answered, who may
 * search and how often, the cache, the result cap — and who may search. Pure data. */
#ifndef SLUICE_POLICY_SEARCH_H
#define SLUICE_POLICY_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "parse/search_api.h"
#include "policy/agent.h"

#define SEARCH_AGENTS_MAX 32
#define SEARCH_ROUTE_MAX 253

/* search: in the configuration. */
struct search_config {
	bool enabled;			  /* a search: section was given */
	char route[SEARCH_ROUTE_MAX + 1]; /* the host of the route to SearXNG */
	unsigned route_index;		  /* cfg->routes[route_index] (set when read) */
	unsigned apis;			  /* mask of 1 << enum search_api; default all */
	char agents[SEARCH_AGENTS_MAX][AGENT_NAME_MAX + 1]; /* empty: every agent may search */
	unsigned n_agents;
	uint32_t rate;		/* queries per second per agent, default 5; 0 = no limit */
	uint32_t burst;		/* default twice rate */
	unsigned cache_ttl_ms;	/* identical query, same answer; default 60 s; 0 = no cache */
	unsigned cache_entries; /* per worker, default 256 */
	unsigned max_results;	/* results in one answer, at most; default 10 */
	bool log_query;		/* the query text in the log, default true */
	unsigned timeout_ms;	/* SearXNG's answer, default 10 s */
};

#define SEARCH_RATE_DEFAULT 10
#define SEARCH_CACHE_TTL_DEFAULT_MS 60000
#define SEARCH_CACHE_ENTRIES_DEFAULT 256
#define SEARCH_MAX_RESULTS_DEFAULT 10
#define SEARCH_TIMEOUT_DEFAULT_MS 10000

/* Whether the named agent may search. */
bool search_allows_agent(const struct search_config *s, const char *agent_name);

#endif
