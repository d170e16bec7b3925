#include "config/config_search.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/config_limits.h"
#include "config/config_value.h"
#include "parse/authority.h"
#include "parse/search_request.h"

static void read_route(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct search_config *s = &r->cfg->search;
	struct slice v;

	if (!config_reader_scalar_string(r, path, "the host of a route (routes[].host)", &v))
		return;
	if (v.len == 0 || v.len > SEARCH_ROUTE_MAX) {
		config_reader_error(r, r->ev.start_mark, "%s: expected the host of a route", path);
		return;
	}
	config_value_copy(s->route, sizeof(s->route), v);
	for (size_t i = 0; s->route[i]; i++)
		s->route[i] = slice_ascii_lower(s->route[i]);
	r->search_mark = r->ev.start_mark;
}

static void api_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice v;
	enum search_api api;
	char q[QUOTE_MAX], names[160];

	if (!config_reader_scalar_string(r, path, "the name of a search API", &v))
		return;
	if (!search_api_from_name(v, &api)) {
		size_t n = 0;
		for (unsigned i = 0; i < SEARCH_APIS; i++)
			n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "",
					      search_api_name((enum search_api)i));
		config_reader_quote(v, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a search API (one of %s)",
				    path, q, names);
		return;
	}
	r->cfg->search.apis |= 1u << api;
}

static const struct config_list api_list = {
    .items = "search API names", .item = "a search API name", .read = api_item};

static void read_apis(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	r->cfg->search.apis = 0;
	if (config_reader_list(r, path, &api_list, NULL) == 0)
		config_reader_error(r, start,
				    "%s: the list is empty (leave apis out to answer all)", path);
}

static void agent_item(struct config_reader *r, const char *path, void *ctx)
{
	struct search_config *s = &r->cfg->search;
	struct slice v;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an agent name", &v))
		return;
	if (!config_value_is_agent_name(v)) {
		config_reader_quote(v, q);
		config_reader_error(r, r->ev.start_mark, "%s: no agent is named %s", path, q);
		return;
	}
	for (unsigned i = 0; i < s->n_agents; i++)
		if (slice_eq(v, slice_from_cstr(s->agents[i])))
			return;
	if (s->n_agents == SEARCH_AGENTS_MAX) {
		config_reader_error(r, r->ev.start_mark, "%s: too many agents (at most %d)", path,
				    SEARCH_AGENTS_MAX);
		return;
	}
	r->search_agent_marks[s->n_agents] = r->ev.start_mark;
	config_value_copy(s->agents[s->n_agents++], sizeof(s->agents[0]), v);
}

static const struct config_list agent_list = {
    .items = "agent names", .item = "an agent name", .read = agent_item};

static void read_agents(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	r->cfg->search.n_agents = 0;
	if (config_reader_list(r, path, &agent_list, NULL) == 0)
		config_reader_error(r, start,
				    "%s: the list is empty, so no agent could search (leave agents "
				    "out to let every agent search)",
				    path);
}

static void read_log_query(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_read_bool(r, path, &r->cfg->search.log_query);
}

#define FIELD(member) .field = offsetof(struct config, search.member)

static const struct config_key search_keys[] = {
    {.name = "route", .read = read_route},
    {.name = "apis", .read = read_apis},
    {.name = "agents", .read = read_agents},
    {.name = "rate", .read = config_limits_read, FIELD(rate), .min = 0, .max = 100000},
    {.name = "burst", .read = config_limits_read, FIELD(burst), .min = 1, .max = 1000000},
    {.name = "cache_ttl", .read = config_limits_read_duration_or_zero, FIELD(cache_ttl_ms)},
    {.name = "cache_entries",
     .read = config_limits_read,
     FIELD(cache_entries),
     .min = 1,
     .max = 100000},
    {.name = "max_results",
     .read = config_limits_read,
     FIELD(max_results),
     .min = 1,
     .max = SEARCH_COUNT_MAX},
    {.name = "log_query", .read = read_log_query},
    {.name = "timeout", .read = config_limits_read_duration, FIELD(timeout_ms)},
};

_Static_assert(sizeof(((struct search_config *)0)->rate) == sizeof(unsigned),
	       "config_limits_read stores an unsigned");

void config_search_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct search_config *s = &r->cfg->search;

	*s = (struct search_config){
	    .enabled = true,
	    .apis = SEARCH_APIS_ALL,
	    .rate = SEARCH_RATE_DEFAULT,
	    .cache_ttl_ms = SEARCH_CACHE_TTL_DEFAULT_MS,
	    .cache_entries = SEARCH_CACHE_ENTRIES_DEFAULT,
	    .max_results = SEARCH_MAX_RESULTS_DEFAULT,
	    .log_query = true,
	    .timeout_ms = SEARCH_TIMEOUT_DEFAULT_MS,
	};
	r->search_mark = r->ev.start_mark;
	struct config_key section = *k;
	section.sub = search_keys;
	section.n_sub = ARRAY_SIZE(search_keys);
	config_reader_section(r, &section, path);
}

void config_search_finish(struct config_reader *r)
{
	struct config *cfg = r->cfg;
	struct search_config *s = &cfg->search;
	char q[QUOTE_MAX];

	if (!s->enabled)
		return;
	if (s->burst == 0)
		s->burst = s->rate > 0 ? s->rate * 2 : 1;
	if (!s->route[0]) {
		config_reader_error(r, r->search_mark,
				    "search: needs route: the host of the route to SearXNG "
				    "(routes[].host, with upstream: http://searxng:8080)");
		return;
	}
	unsigned i = 0;
	while (i < cfg->n_routes && strcmp(cfg->routes[i].host, s->route) != 0)
		i++;
	if (i == cfg->n_routes) {
		config_reader_quote(slice_from_cstr(s->route), q);
		config_reader_error(r, r->search_mark, "search.route: no route has host %s", q);
		return;
	}
	s->route_index = i;
	for (unsigned k = 0; k < s->n_agents; k++) {
		unsigned a = 0;
		while (a < cfg->n_agents && strcmp(cfg->agents[a].name, s->agents[k]) != 0)
			a++;
		if (a < cfg->n_agents)
			continue;
		config_reader_quote(slice_from_cstr(s->agents[k]), q);
		config_reader_error(r, r->search_agent_marks[k],
				    "search.agents: no agent is named %s", q);
	}
}
