/* config_intercept: which tunnels sluice terminates — intercept: (top level and per agent) and
 * tls.never_intercept: — into the policy's domain sets (policy/intercept decides). */
#ifndef SLUICE_CONFIG_CONFIG_INTERCEPT_H
#define SLUICE_CONFIG_CONFIG_INTERCEPT_H

#include "config/config_reader.h"

/* intercept: at the top level every agent's list; in an agents[] item that agent's own (a list,
 * even an empty one, replaces the inherited one). */
void config_intercept_read(struct config_reader *r, const struct config_key *k, const char *path);
/* tls.never_intercept: names that are never intercepted, whatever an intercept list says. */
void config_intercept_read_never(struct config_reader *r, const struct config_key *k,
				 const char *path);
/* Once the whole file is read: any intercept pattern asks for the CA (cfg->has_tls) and for
 * the upstream verification context (cfg->intercepts). */
void config_intercept_finish(struct config_reader *r);

#endif
