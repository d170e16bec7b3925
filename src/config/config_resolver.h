/* config_resolver: the resolver section, resolver.servers (IP literals, port 53 by default).
 * Does not read /etc/resolv.conf or resolve anything (io/resolver does). */
#ifndef SLUICE_CONFIG_CONFIG_RESOLVER_H
#define SLUICE_CONFIG_CONFIG_RESOLVER_H

#include "config/config_reader.h"

/* The keys of resolver: servers. */
extern const struct config_key config_resolver_keys[1];

#endif
