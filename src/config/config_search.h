/* config_search: the search: section (route, apis, agents, rate, cache_ttl, cache_entries,
 * max_results, log_query, timeout) into struct config's search_config; its route and agents
 * are checked against routes: and agents: once the whole file is read. Does not answer
 * searches (io/search_flow does). */
#ifndef SLUICE_CONFIG_CONFIG_SEARCH_H
#define SLUICE_CONFIG_CONFIG_SEARCH_H

#include "config/config_reader.h"

void config_search_read(struct config_reader *r, const struct config_key *k, const char *path);
/* After the whole text: the route search names exists, and so does each of its agents. */
void config_search_finish(struct config_reader *r);

#endif
