/* config_dns: the dns section (answer, denied, types, max_ttl, rate, burst, proxy_addresses) at
 * the top level and in agents[], into struct agent_dns and the config. Does not judge a query
 * (policy/dns_policy does) nor open the listener (io/ does). */
#ifndef SLUICE_CONFIG_CONFIG_DNS_H
#define SLUICE_CONFIG_CONFIG_DNS_H

#include "config/config_reader.h"

/* Once the whole file is read: a dns.answer of proxy anywhere needs a transparent listener. */
void config_dns_finish(struct config_reader *r);
/* The keys of the top-level dns: answer, denied, types, max_ttl, rate, burst, proxy_addresses
 * (cfg->base.dns, what every agent inherits, and cfg->dns_proxy_addrs). */
extern const struct config_key config_dns_keys[7];
/* The keys of agents[].dns: the same but proxy_addresses (one set for every agent). */
extern const struct config_key config_dns_agent_keys[6];

#endif
