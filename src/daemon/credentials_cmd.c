#include "daemon/credentials_cmd.h"

#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "daemon/config_file.h"
#include "policy/credentials.h"

static void credentials_cmd_usage(FILE *out)
{
	fputs("usage: sluice credentials [-c FILE] [--agent NAME]\n"
	      "  prints the placeholder each credential gives each agent, as NAME=VALUE lines\n"
	      "  for the agent's environment (with --agent, that agent's lines alone)\n",
	      out);
}

/* The variable the placeholder goes in: the secret's own variable name when it comes from
 * one (the agent's tool reads the same name), else the credential's name in upper case. */
static void credentials_cmd_var(const struct credential *c, char *out, size_t size)
{
	if (c->secret_kind == CREDENTIAL_SECRET_ENV) {
		snprintf(out, size, "%s", c->secret_source);
		return;
	}
	size_t n = 0;
	for (const char *p = c->name; *p && n + 1 < size; p++)
		out[n++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32)
			   : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p
										    : '_';
	out[n] = '\0';
}

static void credentials_cmd_agent(const char *agent, const struct credential_list *list,
				  bool header)
{
	char ph[CREDENTIAL_PLACEHOLDER_MAX + 1], var[CREDENTIAL_SOURCE_MAX + 1];

	if (header)
		printf("# agent %s\n", agent);
	for (unsigned i = 0; list && i < list->n; i++) {
		const struct credential *c = &list->items[i];
		credentials_placeholder(c, agent, ph);
		credentials_cmd_var(c, var, sizeof(var));
		if (c->query[0])
			printf("# %s: ?%s=%s%s\n", c->name, c->query, ph,
			       c->require ? " (required)" : "");
		else
			printf("# %s: %s: %s%s\n", c->name, c->header, c->format,
			       c->require ? " (required)" : "");
		printf("%s=%s\n", var, ph);
	}
}

int credentials_cmd_main(int argc, char **argv)
{
	const char *path = NULL, *only = NULL;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--agent") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			credentials_cmd_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "sluice: credentials: unexpected argument '%s'\n", argv[i]);
			credentials_cmd_usage(stderr);
			return 2;
		}
	}
	/* Placeholders tell nothing of the secrets: none is read. */
	struct config *cfg = path ? config_file_parse(path) : config_default();
	if (!cfg)
		return 1;
	int rc = 0;
	bool found = false;
	/* The agents as identification knows them: with none configured, the one implicit
	 * "default". */
	for (unsigned i = 0; i < cfg->n_agents; i++) {
		const struct agent *a = &cfg->agents[i];
		if (only && strcmp(only, a->name) != 0)
			continue;
		if (!only && found)
			printf("\n");
		found = true;
		credentials_cmd_agent(
		    a->name, a->has_credentials ? &a->credentials : &cfg->base.credentials, !only);
	}
	if (!found) {
		fprintf(stderr, "sluice: credentials: no agent named '%s'\n", only);
		rc = 1;
	}
	config_free(cfg);
	return rc;
}
