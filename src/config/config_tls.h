/* config_tls: the tls section (state_dir, ca_cert, ca_key, cert_cache, upstream_ca,
 * never_intercept), its syntax only. Does not read, create or check a CA file (io/tls_ca does,
 * when the daemon starts; the snapshot loads upstream_ca). */
#ifndef SLUICE_CONFIG_CONFIG_TLS_H
#define SLUICE_CONFIG_CONFIG_TLS_H

#include "config/config_reader.h"

extern const struct config_key config_tls_keys[7];

/* The tls section: a mapping of config_tls_keys, or empty (every default). Its presence asks
 * for the CA (cfg->has_tls), as any intercept pattern does. */
void config_tls_read(struct config_reader *r, const struct config_key *k, const char *path);

#endif
