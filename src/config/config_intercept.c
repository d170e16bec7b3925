#include "config/config_intercept.h"

#include <string.h>

#include "config/config_rules.h"
#include "config/config_value.h"
#include "parse/authority.h"
#include "policy/domain_set.h"
#include "policy/intercept.h"

/* Interception is decided on the name alone (the ClientHello names no port), so a pattern
 * pinned to a port would never match: refused rather than silently ignored. */
static void name_item(struct config_reader *r, const char *path, void *ctx)
{
	struct slice s;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a domain pattern", &s))
		return;
	struct ip_addr ip;
	config_reader_quote(s, q);
	if (authority_parse_ip_strict(s, &ip) == 0)
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not a valid domain pattern: an IP address is never "
				    "intercepted (a leaf certificate is minted for a name)",
				    path, q);
	else if (s.len && memchr(s.ptr, ':', s.len))
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not a valid domain pattern: interception is by "
				    "name, on every port (write the name without \":port\")",
				    path, q);
	else if (domain_set_add(ctx, s, &detail) != 0)
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid domain pattern: %s",
				    path, q, detail ? detail : "refused");
}

static const struct config_list name_list = {
    .items = "domain patterns", .item = "a domain pattern", .read = name_item};

static void read_names(struct config_reader *r, const char *path, struct domain_set **slot)
{
	config_rules_read_domain_set(r, path, &name_list, slot);
}

void config_intercept_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_names(r, path, r->agent ? &r->agent->intercept : &r->cfg->rules.intercept);
}

void config_intercept_read_never(struct config_reader *r, const struct config_key *k,
				 const char *path)
{
	read_names(r, path, &r->cfg->rules.never_intercept);
}

void config_intercept_finish(struct config_reader *r)
{
	struct config *cfg = r->cfg;

	cfg->intercepts = policy_intercepts_any(&cfg->rules, cfg->agents, cfg->n_agents);
	if (cfg->intercepts)
		cfg->has_tls = true;
}
