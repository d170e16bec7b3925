/* config_headers: a route's headers section, set and remove, refusing the fields sluice writes
 * itself. Does not read the {env:} and {file:} values (daemon/secrets does). */
#ifndef SLUICE_CONFIG_CONFIG_HEADERS_H
#define SLUICE_CONFIG_CONFIG_HEADERS_H

#include "config/config_reader.h"

/* The keys of routes[].headers: set, remove. */
extern const struct config_key config_headers_keys[2];

/* A header value: literal text, {env: NAME} or {file: /path}, into h (kind, source, line and
 * column; a literal's value too). Also what credentials: secrets are read with. */
void config_headers_read_value(struct config_reader *r, struct route_header_set *h,
			       const char *path);

#endif
