/* secrets: reads the token files and environment variables a configuration names (agent tokens,
 * route header values, credentials' secrets) so that the pure tiers never do I/O; tokens are kept
 * only as SHA-256. Does not validate anything else. */
#ifndef SLUICE_DAEMON_SECRETS_H
#define SLUICE_DAEMON_SECRETS_H

#include <stdio.h>

#include "config/config.h"

/* Fills every token_sha256 / header value the config names by file or variable. Returns the
 * number of problems, each reported on err as "path: ..." (a missing variable, an unreadable or
 * empty file, a value with control characters). */
int secrets_resolve(struct config *cfg, const char *config_path, FILE *err);
/* What `sluice check --offline` does instead: reads nothing and writes on out one line per secret
 * the config names ("path:line:col: agent coder: token variable CODER_TOKEN: not read
 * (--offline)"). Returns how many. */
unsigned secrets_list_unread(const struct config *cfg, const char *config_path, FILE *out);

#endif
