/* config_limits: the timeouts and limits sections and workers, bounded and stored in struct config.
 * Does not enforce any of them (io/ does). */
#ifndef SLUICE_CONFIG_CONFIG_LIMITS_H
#define SLUICE_CONFIG_CONFIG_LIMITS_H

#include "config/config_reader.h"

/* A whole number from k->min to k->max, stored in the unsigned field of struct config at
 * offset k->field (limits.*, workers). */
void config_limits_read(struct config_reader *r, const struct config_key *k, const char *path);
/* A duration (10s, 500ms) in milliseconds into the unsigned field at k->field; the second also
 * takes 0 ("never", "off"). */
void config_limits_read_duration(struct config_reader *r, const struct config_key *k,
				 const char *path);
void config_limits_read_duration_or_zero(struct config_reader *r, const struct config_key *k,
					 const char *path);
/* The keys of timeouts (request_head, client_idle, ..., reload_revoke) and of limits. */
extern const struct config_key config_limits_timeout_keys[9];
extern const struct config_key config_limits_keys[7];

#endif
