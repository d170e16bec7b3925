/* config_request_rules: the rules: list (host, methods, paths, action, headers_deny) at the top
 * level and in agents[], into struct agent's request_rules. Does not judge a request
 * (policy/request_rules does). */
#ifndef SLUICE_CONFIG_CONFIG_REQUEST_RULES_H
#define SLUICE_CONFIG_CONFIG_REQUEST_RULES_H

#include "config/config_reader.h"

void config_request_rules_read(struct config_reader *r, const struct config_key *k,
			       const char *path);

#endif
