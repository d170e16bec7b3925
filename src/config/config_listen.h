/* config_listen: the listen section (listen.http, listen.admin), and that the admin address is its
 * own; both become sluice's listeners in the policy. Does not bind (io/listener does). */
#ifndef SLUICE_CONFIG_CONFIG_LISTEN_H
#define SLUICE_CONFIG_CONFIG_LISTEN_H

#include "config/config_reader.h"

/* The admin address must not be a proxy address; once accepted it is one of sluice's own
 * listeners, so a proxied request aimed at it is refused as a loop. */
void config_listen_finish(struct config_reader *r);
/* The keys of listen: http, admin. */
extern const struct config_key config_listen_keys[2];

#endif
