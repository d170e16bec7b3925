/* config_redact: a configuration file as the console shows it (/api/policy): the same YAML,
 * re-written from its parse with every value that may be a secret replaced by "<redacted>" —
 * token hashes (agents' and the console's match.token_sha256), a credential's secret given
 * inline, and the literal values of routes' headers.set. {env: NAME} and {file: /path} stay:
 * they say where a secret is, not what. Comments are not kept (one may hold an old secret).
 * Pure: no I/O. */
#ifndef SLUICE_CONFIG_CONFIG_REDACT_H
#define SLUICE_CONFIG_CONFIG_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

#define CONFIG_REDACTED "<redacted>"

/* Appends the redacted text of the YAML document in text to out (at most max bytes). False
 * when text is not YAML sluice reads, nests too deep, or out is full. */
bool config_redact(const char *text, size_t len, struct buf *out, size_t max);

#endif
