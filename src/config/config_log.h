/* config_log: the log section (log.file, log.query), checked and stored in struct config. Does not
 * open the file nor write a line (daemon/main and io/log_sink do). */
#ifndef SLUICE_CONFIG_CONFIG_LOG_H
#define SLUICE_CONFIG_CONFIG_LOG_H

#include "config/config_reader.h"

/* The keys of log: file, query. */
extern const struct config_key config_log_keys[2];

#endif
