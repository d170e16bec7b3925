/* config_scan: the scan: section (builtin, action, patterns) at the top level and in agents[],
 * into struct agent's scan_config; each pattern is compiled once here to refuse one Hyperscan
 * cannot take. Does not compile the set a request is scanned with (io/snapshot does, once the
 * credentials' secrets are read). */
#ifndef SLUICE_CONFIG_CONFIG_SCAN_H
#define SLUICE_CONFIG_CONFIG_SCAN_H

#include "config/config_reader.h"

void config_scan_read(struct config_reader *r, const struct config_key *k, const char *path);

#endif
