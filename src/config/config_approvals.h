/* config_approvals: the approvals overlay file (approvals.file) — the standing answers operators
 * gave through the console or `sluice approve` — read from its text into an approval_list, with
 * errors as the config's (line:column: message). Written back by emit/approvals_yaml. Does not
 * read or write files (daemon/ and io/approval_store do). */
#ifndef SLUICE_CONFIG_CONFIG_APPROVALS_H
#define SLUICE_CONFIG_CONFIG_APPROVALS_H

#include <stddef.h>

#include "config/config.h"
#include "policy/approvals.h"

/* Largest approvals.file read or written: 4096 approvals fit in well under this. */
#define APPROVALS_FILE_MAX (4u << 20)

/* Replaces out's items with the file's (an empty text is an empty list). Returns 0, or -1 with
 * errors filled (out then unchanged). */
int config_approvals_parse(const char *text, size_t len, struct approval_list *out,
			   struct config_errors *errors);

#endif
