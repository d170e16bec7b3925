#include "policy/search.h"

#include <string.h>

bool search_allows_agent(const struct search_config *s, const char *agent_name)
{
	if (s->n_agents == 0)
		return true;
	for (unsigned i = 0; i < s->n_agents; i++)
		if (strcmp(s->agents[i], agent_name) == 0)
			return true;
	return false;
}
