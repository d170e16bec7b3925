#include "policy/intercept.h"

#include "policy/domain_set.h"

static const struct domain_set *scope_intercept(const struct policy_scope *s)
{
	return s->agent && s->agent->intercept ? s->agent->intercept : s->rules->intercept;
}

bool policy_intercepts(const struct policy_scope *s, struct slice host, bool host_is_ip)
{
	const struct domain_set *list = scope_intercept(s);

	/* "*" matches IP text too: the literal check comes first. */
	if (host_is_ip || host.len == 0 || !list || !domain_set_match(list, host))
		return false;
	return !s->rules->never_intercept || !domain_set_match(s->rules->never_intercept, host);
}

bool policy_intercepts_any(const struct policy_rules *rules, const struct agent *agents,
			   unsigned n_agents)
{
	if (rules->intercept && domain_set_count(rules->intercept) > 0)
		return true;
	for (unsigned i = 0; i < n_agents; i++)
		if (agents[i].intercept && domain_set_count(agents[i].intercept) > 0)
			return true;
	return false;
}
