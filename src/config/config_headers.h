/* config_headers: a route's headers section, set and remove, refusing the fields sluice writes
 * itself. Does not read the {env:} and {file:} values (daemon/secrets does). */
#ifndef SLUICE_CONFIG_CONFIG_HEADERS_H
#define SLUICE_CONFIG_CONFIG_HEADERS_H

#include "config/config_reader.h"

/* The keys of routes[].headers: set, remove. */
extern const struct config_key config_headers_keys[2];

#endif
