/* approvals_yaml: the approvals overlay file's text (approvals.file) from the standing
 * approvals, in the shape config/config_approvals reads back. Does not write files. */
#ifndef SLUICE_EMIT_APPROVALS_YAML_H
#define SLUICE_EMIT_APPROVALS_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "policy/approvals.h"

/* Appends the whole file to out (up to max bytes). False when it did not fit. */
bool approvals_yaml_format(const struct approval_list *l, struct buf *out, size_t max);

#endif
