/* config_console: the console: section (decisions, token_sha256) and the approvals: section
 * (timeout, file, max_pending) into struct config, and the checks that tie them to
 * listen.admin once the whole file is read. Does not serve the console (io/admin) nor hold
 * requests (io/approval_store). */
#ifndef SLUICE_CONFIG_CONFIG_CONSOLE_H
#define SLUICE_CONFIG_CONFIG_CONSOLE_H

#include "config/config_reader.h"

void config_console_read(struct config_reader *r, const struct config_key *k, const char *path);
void config_approvals_read(struct config_reader *r, const struct config_key *k, const char *path);
/* After the whole text: an agent that asks (mode ask, ask patterns) has a console to be
 * answered on. */
void config_console_finish(struct config_reader *r);
/* The admin listener serves the console: on a loopback address, or with a token (anyone who
 * reaches another address could approve requests). Without it, only health and metrics. */
bool config_console_open(const struct config *cfg);

#endif
