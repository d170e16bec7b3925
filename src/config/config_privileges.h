/* config_privileges: user and seccomp, their syntax only. Does not look up the account or install
 * the filter (daemon/privs and daemon/sandbox do). */
#ifndef SLUICE_CONFIG_CONFIG_PRIVILEGES_H
#define SLUICE_CONFIG_CONFIG_PRIVILEGES_H

#include "config/config_reader.h"

/* A user name as useradd(8) accepts it, or a numeric uid. */
void config_privileges_read_user(struct config_reader *r, const struct config_key *k,
				 const char *path);
/* A plain YAML boolean; a quoted "true" is text, and refused like any other text. */
void config_privileges_read_seccomp(struct config_reader *r, const struct config_key *k,
				    const char *path);

#endif
