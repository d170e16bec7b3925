/* check_cmd: `sluice check`; see check_cmd.h. */
#include "daemon/check_cmd.h"

#include <ares.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/config_approvals.h"
#include "daemon/config_file.h"
#include "daemon/secrets.h"
#include "io/file_text.h"
#include "io/resolver.h"
#include "io/snapshot.h"
#include "policy/domain_set.h"

/* The resolvers of /etc/resolv.conf are counted once, for the first file that uses them. */
#define CHECK_CMD_NOT_COUNTED -2

struct check_cmd_opts {
	bool offline;
	int system_resolvers;	  /* CHECK_CMD_NOT_COUNTED, -1 (c-ares cannot say) or a count */
	char system_servers[128]; /* their addresses */
};

static void check_cmd_usage(FILE *out)
{
	fputs("usage: sluice check [--offline] -c FILE [FILE...]\n"
	      "\n"
	      "Validates each configuration file as a start would: the YAML and every key, the\n"
	      "token files and environment variables it names, the CA files of https routes.\n"
	      "Prints a file's errors as FILE:line:column: message on stderr, or a summary of\n"
	      "what a start would use on stdout. -c may be repeated (sluice check -c a.yaml -c\n"
	      "b.yaml) or take several files (sluice check -c examples/*.yaml). Exits 0 when\n"
	      "every file is valid, 1 when one is not, 2 on a usage error.\n"
	      "\n"
	      "  --offline  read no secret (token_file, token_env, header values {env: ...} and\n"
	      "             {file: ...}) and no ca_file: each is listed as not read instead, for\n"
	      "             CI, where the deployment's secrets and files do not exist\n",
	      out);
}

static const char *check_cmd_plural(unsigned n, const char *many)
{
	return n == 1 ? "" : many;
}

/* --offline: an https route's ca_file is a file of the machine sluice runs on, like a secret. */
static unsigned check_cmd_list_ca_unread(const struct config *cfg, const char *path)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct route *r = &cfg->routes[i];
		if (!r->ca_file[0])
			continue;
		printf("%s:%d:%d: route %s: ca_file %s: not read (--offline)\n", path, r->ca_line,
		       r->ca_column, r->host, r->ca_file);
		n++;
	}
	if (cfg->intercepts && cfg->tls_upstream_ca[0]) {
		printf("%s: tls.upstream_ca %s: not read (--offline)\n", path,
		       cfg->tls_upstream_ca);
		n++;
	}
	return n;
}

/* resolver.servers, or what a worker's resolver takes from /etc/resolv.conf without them. */
static void check_cmd_resolvers(const struct config *cfg, struct check_cmd_opts *o, char *out,
				size_t size)
{
	if (cfg->n_resolvers > 0) {
		snprintf(out, size, "%u resolver%s", cfg->n_resolvers,
			 check_cmd_plural(cfg->n_resolvers, "s"));
		return;
	}
	if (o->system_resolvers == CHECK_CMD_NOT_COUNTED)
		o->system_resolvers =
		    resolver_system_servers(o->system_servers, sizeof(o->system_servers));
	if (o->system_resolvers < 0)
		snprintf(out, size,
			 "the resolvers of /etc/resolv.conf (not counted: c-ares could "
			 "not read them)");
	else
		snprintf(out, size, "%d resolver%s (from /etc/resolv.conf: %s)",
			 o->system_resolvers, check_cmd_plural((unsigned)o->system_resolvers, "s"),
			 o->system_servers);
}

/* Says what a client no agent matches gets (policy_identify). */
static void check_cmd_agents(const struct config *cfg, char *out, size_t size)
{
	if (cfg->n_agents == 1 && cfg->agents[0].line == 0)
		snprintf(out, size, "0 agents (every client gets the top-level policy)");
	else if (cfg->default_agent < 0)
		snprintf(out, size,
			 "%u agent%s (no \"default\": clients no agent matches are "
			 "refused)",
			 cfg->n_agents, check_cmd_plural(cfg->n_agents, "s"));
	else
		snprintf(out, size, "%u agent%s", cfg->n_agents,
			 check_cmd_plural(cfg->n_agents, "s"));
}

static void check_cmd_summary(const struct config *cfg, const char *path, struct check_cmd_opts *o,
			      unsigned secrets_unread, unsigned ca_unread)
{
	char resolvers[256], agents[96], unread[96] = "";

	check_cmd_resolvers(cfg, o, resolvers, sizeof(resolvers));
	check_cmd_agents(cfg, agents, sizeof(agents));
	if (secrets_unread + ca_unread > 0) {
		size_t len = (size_t)snprintf(unread, sizeof(unread), "; not read (--offline): ");
		if (secrets_unread > 0)
			len += (size_t)snprintf(
			    unread + len, sizeof(unread) - len, "%u secret%s%s", secrets_unread,
			    check_cmd_plural(secrets_unread, "s"), ca_unread > 0 ? ", " : "");
		if (ca_unread > 0)
			snprintf(unread + len, sizeof(unread) - len, "%u CA file%s", ca_unread,
				 check_cmd_plural(ca_unread, "s"));
	}
	/* The other listeners only when there are some: an HTTP-only summary reads as before. */
	char others[96] = "";
	unsigned n_transparent = cfg->n_listen_transparent_http + cfg->n_listen_transparent_tls;
	size_t olen = 0;
	if (cfg->n_listen_dns > 0)
		olen +=
		    (size_t)snprintf(others + olen, sizeof(others) - olen, ", %u DNS listener%s",
				     cfg->n_listen_dns, check_cmd_plural(cfg->n_listen_dns, "s"));
	if (n_transparent > 0)
		snprintf(others + olen, sizeof(others) - olen, ", %u transparent listener%s",
			 n_transparent, check_cmd_plural(n_transparent, "s"));
	/* Request rules only when there are some, like the other listeners. */
	unsigned n_rules = cfg->base.rules.n;
	for (unsigned i = 0; i < cfg->n_agents; i++)
		n_rules += cfg->agents[i].rules.n;
	/* Intercept patterns likewise, every list counted (the agents' replace the top level's). */
	unsigned n_intercept = cfg->rules.intercept ? domain_set_count(cfg->rules.intercept) : 0;
	for (unsigned i = 0; i < cfg->n_agents; i++)
		if (cfg->agents[i].intercept)
			n_intercept += domain_set_count(cfg->agents[i].intercept);
	char rules[96] = "";
	size_t rlen = 0;
	if (n_rules > 0)
		rlen = (size_t)snprintf(rules, sizeof(rules), ", %u request rule%s", n_rules,
					check_cmd_plural(n_rules, "s"));
	if (n_intercept > 0)
		rlen +=
		    (size_t)snprintf(rules + rlen, sizeof(rules) - rlen, ", %u intercept pattern%s",
				     n_intercept, check_cmd_plural(n_intercept, "s"));
	/* Credentials likewise, every list counted. */
	unsigned n_creds = cfg->base.credentials.n;
	for (unsigned i = 0; i < cfg->n_agents; i++)
		n_creds += cfg->agents[i].credentials.n;
	if (n_creds > 0 && rlen < sizeof(rules))
		snprintf(rules + rlen, sizeof(rules) - rlen, ", %u credential%s", n_creds,
			 check_cmd_plural(n_creds, "s"));
	printf("%s: ok: %u listen address%s%s, %s, %s, %u route%s%s%s\n", path, cfg->n_listen_http,
	       check_cmd_plural(cfg->n_listen_http, "es"), others, resolvers, agents, cfg->n_routes,
	       check_cmd_plural(cfg->n_routes, "s"), rules, unread);
}

/* approvals.file, when it exists, read as a start would (a missing one is no approvals yet).
 * Returns 0 when it is valid, after printing each error as FILE:line:column: message. */
static int check_cmd_approvals(const struct config *cfg)
{
	const char *file = cfg->approvals.file;
	struct config_errors errors;
	struct approval_list list;

	if (!file[0])
		return 0;
	size_t n;
	char *text = file_text_read(file, APPROVALS_FILE_MAX, &n);
	if (!text) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "%s: %s (approvals.file)\n", file, strerror(errno));
		return 1;
	}
	approval_list_init(&list);
	int rc = config_approvals_parse(text, n, &list, &errors);
	free(text);
	for (unsigned i = 0; rc != 0 && i < errors.count; i++) {
		char e[CONFIG_ERROR_MAX + 32];
		config_error_format(&errors.items[i], e, sizeof(e));
		fprintf(stderr, "%s:%s\n", file, e);
	}
	approval_list_fini(&list);
	return rc == 0 ? 0 : 1;
}

/* Returns 0 when the file is valid. */
static int check_cmd_file(const char *path, struct check_cmd_opts *o)
{
	struct config *cfg = config_file_parse(path);
	struct snapshot *snap = NULL;
	unsigned secrets_unread = 0, ca_unread = 0;
	char why[1024];

	if (!cfg)
		return 1;
	if (check_cmd_approvals(cfg) != 0) {
		config_free(cfg);
		return 1;
	}
	if (o->offline) {
		secrets_unread = secrets_list_unread(cfg, path, stdout);
		ca_unread = check_cmd_list_ca_unread(cfg, path);
	} else {
		if (secrets_resolve(cfg, path, stderr) != 0) {
			config_free(cfg);
			return 1;
		}
		/* The CA files of https routes are loaded as a start would. */
		snap = snapshot_new(cfg, 1, why, sizeof(why));
		if (!snap) {
			fprintf(stderr, "%s: %s\n", path, why);
			config_free(cfg);
			return 1;
		}
	}
	check_cmd_summary(cfg, path, o, secrets_unread, ca_unread);
	if (snap)
		snapshot_unref(snap);
	else
		config_free(cfg);
	return 0;
}

/* Marks in is_file the arguments that name files. Returns 0, 1 for --help, or 2 (usage error,
 * said on stderr). */
static int check_cmd_parse_args(int argc, char **argv, struct check_cmd_opts *o, bool *is_file,
				unsigned *n_files)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--offline") == 0) {
			o->offline = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			check_cmd_usage(stdout);
			return 1;
		} else if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
			if (i + 1 >= argc || argv[i + 1][0] == '-') {
				fprintf(stderr, "sluice check: %s needs a FILE\n", a);
				return 2;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "sluice check: unknown argument '%s'\n", a);
			check_cmd_usage(stderr);
			return 2;
		} else {
			is_file[i] = true;
			(*n_files)++;
		}
	}
	if (*n_files == 0) {
		fprintf(stderr, "sluice check: needs -c FILE\n");
		check_cmd_usage(stderr);
		return 2;
	}
	return 0;
}

int check_cmd_main(int argc, char **argv)
{
	struct check_cmd_opts o = {.offline = false, .system_resolvers = CHECK_CMD_NOT_COUNTED};
	bool *is_file = calloc((size_t)argc, sizeof(*is_file));
	unsigned n_files = 0, failed = 0;

	if (!is_file) {
		fprintf(stderr, "sluice check: out of memory\n");
		return 1;
	}
	int rc = check_cmd_parse_args(argc, argv, &o, is_file, &n_files);
	if (rc != 0) {
		free(is_file);
		return rc == 1 ? 0 : rc;
	}
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		fprintf(stderr, "sluice check: cannot initialise c-ares\n");
		free(is_file);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (!is_file[i])
			continue;
		if (check_cmd_file(argv[i], &o) != 0)
			failed++;
		/* stdout and stderr often end in one log: each file's lines stay together. */
		fflush(stdout);
	}
	if (n_files > 1 && failed > 0)
		fprintf(stderr, "sluice check: %u of %u files invalid\n", failed, n_files);
	ares_library_cleanup();
	free(is_file);
	return failed > 0 ? 1 : 0;
}
