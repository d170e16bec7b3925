/* config_listen: the listen section (listen.http, listen.admin, listen.dns,
 * listen.transparent_http, listen.transparent_tls), and that no two keys share an address; all
 * become sluice's listeners in the policy. Does not bind (io/listener does). */
#ifndef SLUICE_CONFIG_CONFIG_LISTEN_H
#define SLUICE_CONFIG_CONFIG_LISTEN_H

#include "config/config_reader.h"

/* No address of one key may overlap another key's (the admin address, a DNS or transparent
 * address must each be its own); once accepted every address is one of sluice's own
 * listeners, so a proxied request aimed at one is refused as a loop. */
void config_listen_finish(struct config_reader *r);
/* The keys of listen: http, admin, dns, transparent_http, transparent_tls. */
extern const struct config_key config_listen_keys[5];

#endif
