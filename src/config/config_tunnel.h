/* config_tunnel: the tunnel section (inspect, missing_sni, ip_sni, ech, opaque_ports) into
 * cfg->rules.tunnel. Does not judge a tunnel (policy/tunnel_policy does) nor read one (io/). */
#ifndef SLUICE_CONFIG_CONFIG_TUNNEL_H
#define SLUICE_CONFIG_CONFIG_TUNNEL_H

#include "config/config_reader.h"

extern const struct config_key config_tunnel_keys[5];

#endif
