/* intercept: whether sluice terminates a tunnel's TLS to see the requests inside (docs/tls.md).
 * Pure: the patterns come from the config (intercept:, per agent, and tls.never_intercept). */
#ifndef SLUICE_POLICY_INTERCEPT_H
#define SLUICE_POLICY_INTERCEPT_H

#include <stdbool.h>

#include "base/slice.h"
#include "policy/policy.h"

/* host (a normalised name) is intercepted for this scope: it matches the agent's intercept list
 * (the top level's when the agent has none) and no tls.never_intercept pattern, which wins.
 * An IP literal never is: a leaf is minted for a name, and an agent that dials an address
 * gets no name to check the upstream's certificate against. */
bool policy_intercepts(const struct policy_scope *s, struct slice host, bool host_is_ip);

/* Some agent, or the top level, intercepts at least one pattern: the CA and the upstream
 * verification context are needed. */
bool policy_intercepts_any(const struct policy_rules *rules, const struct agent *agents,
			   unsigned n_agents);

#endif
