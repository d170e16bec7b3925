/* config_credentials: the credentials: list (name, hosts, header or query, secret, placeholder,
 * require) at the top level and in agents[], into struct agent's credential_list. Does not read
 * the secrets (daemon/secrets does) or judge a request (policy/credentials does). */
#ifndef SLUICE_CONFIG_CONFIG_CREDENTIALS_H
#define SLUICE_CONFIG_CONFIG_CREDENTIALS_H

#include "config/config_reader.h"

void config_credentials_read(struct config_reader *r, const struct config_key *k, const char *path);

#endif
