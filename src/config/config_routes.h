/* config_routes: the routes list (host, upstream, agents, rewrite, ca_file), each upstream parsed
 * once here. Does not load CA files nor rewrite requests (io/, policy/route do). */
#ifndef SLUICE_CONFIG_CONFIG_ROUTES_H
#define SLUICE_CONFIG_CONFIG_ROUTES_H

#include "config/config_reader.h"

/* The routes list, in file order. */
void config_routes_read(struct config_reader *r, const struct config_key *k, const char *path);
/* routes[].agents may name agents defined further down, so names are checked at the end. */
void config_routes_finish(struct config_reader *r);

#endif
