/* config_agents: the agents list (name, match, tokens) and what an agent sets or inherits (mode,
 * methods, max_request_body, guidance). Reads no secret (daemon/secrets does). */
#ifndef SLUICE_CONFIG_CONFIG_AGENTS_H
#define SLUICE_CONFIG_CONFIG_AGENTS_H

#include "config/config_reader.h"

/* mode, methods, max_request_body and guidance: at the top level what every agent inherits
 * (cfg->base), in an agents[] item that agent's own. */
void config_agents_read_mode(struct config_reader *r, const struct config_key *k, const char *path);
void config_agents_read_methods(struct config_reader *r, const struct config_key *k,
				const char *path);
void config_agents_read_max_request_body(struct config_reader *r, const struct config_key *k,
					 const char *path);
/* Guidance goes into denial bodies and the Proxy-Status details (an RFC 8941 sf-string, which
 * is printable ASCII only), so it is kept to printable ASCII and newlines. */
void config_agents_read_guidance(struct config_reader *r, const struct config_key *k,
				 const char *path);
/* An explicit list replaces the implicit agent "default". */
void config_agents_read(struct config_reader *r, const struct config_key *k, const char *path);
/* Once the whole file is read: which agent, if any, is named "default". */
void config_agents_finish(struct config_reader *r);

/* One item of a methods list at path (agents' and rules' alike): a token of at most 23
 * bytes, upper-cased into upper, CONNECT refused (methods bound plain HTTP only). False after
 * an error. */
bool config_agents_read_method(struct config_reader *r, const char *path,
			       char upper[AGENT_METHOD_MAX]);

#endif
