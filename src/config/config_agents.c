#include "config/config_agents.h"

#include <stdio.h>
#include <string.h>

#include "config/config_dns.h"
#include "config/config_intercept.h"
#include "config/config_credentials.h"
#include "config/config_request_rules.h"
#include "config/config_scan.h"
#include "config/config_reader.h"
#include "config/config_rules.h"
#include "config/config_value.h"

/* The agent whose keys are being read: an agents[] item, or cfg->base at the top level. */
static struct agent *reader_agent(struct config_reader *r)
{
	return r->agent ? r->agent : &r->cfg->base;
}

void config_agents_read_mode(struct config_reader *r, const struct config_key *k, const char *path)
{
	static const char *const names[] = {"enforce", "report", "open", "ask"};
	static const enum agent_mode modes[] = {AGENT_ENFORCE, AGENT_REPORT, AGENT_OPEN, AGENT_ASK};
	struct agent *a = reader_agent(r);
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a mode (enforce, report, open or ask)", &s))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (slice_eq(s, slice_from_cstr(names[i]))) {
			a->mode = modes[i];
			a->has_mode = true;
			return;
		}
	config_reader_quote(s, q);
	config_reader_error(r, r->ev.start_mark,
			    "%s: %s is not a mode (valid: enforce, report, open, ask)", path, q);
}

/* RFC 9110 §9.1: a method is a token. Stored upper-case: every registered method is, and an
 * operator writing "get" means GET. CONNECT is refused here because methods only bound plain
 * HTTP requests; a tunnel is judged by allow, deny and ports. */
bool config_agents_read_method(struct config_reader *r, const char *path,
			       char upper[AGENT_METHOD_MAX])
{
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "an HTTP method", &s))
		return false;
	config_reader_quote(s, q);
	if (!config_value_is_token(s) || s.len >= AGENT_METHOD_MAX) {
		config_reader_error(
		    r, r->ev.start_mark, "%s: %s is not an HTTP method: %s", path, q,
		    s.len >= AGENT_METHOD_MAX
			? "too long (at most 23 characters)"
			: "a method is one word of letters, digits or !#$%&'*+-.^_`|~");
		return false;
	}
	for (size_t i = 0; i < s.len; i++)
		upper[i] =
		    (s.ptr[i] >= 'a' && s.ptr[i] <= 'z') ? (char)(s.ptr[i] - 'a' + 'A') : s.ptr[i];
	upper[s.len] = '\0';
	if (strcmp(upper, "CONNECT") == 0) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: CONNECT cannot be listed: methods bound plain HTTP requests only; "
		    "tunnels are governed by allow, deny and ports",
		    path);
		return false;
	}
	return true;
}

static void method_item(struct config_reader *r, const char *path, void *ctx)
{
	struct agent *a = ctx;
	char upper[AGENT_METHOD_MAX];

	if (!config_agents_read_method(r, path, upper))
		return;
	for (unsigned i = 0; i < a->n_methods; i++)
		if (strcmp(a->methods[i], upper) == 0)
			return; /* listed twice: harmless */
	if (a->n_methods == AGENT_MAX_METHODS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many methods (at most %d)", path,
				    AGENT_MAX_METHODS);
		return;
	}
	memcpy(a->methods[a->n_methods++], upper, strlen(upper) + 1);
}

static const struct config_list method_list = {
    .items = "HTTP methods", .item = "an HTTP method", .read = method_item};

void config_agents_read_methods(struct config_reader *r, const struct config_key *k,
				const char *path)
{
	struct agent *a = reader_agent(r);
	yaml_mark_t start = r->ev.start_mark;

	a->n_methods = 0;
	a->has_methods = r->ev.type == YAML_SEQUENCE_START_EVENT;
	if (config_reader_list(r, path, &method_list, a) == 0)
		config_reader_error(
		    r, start,
		    "%s: the list is empty, so no plain HTTP request would be allowed "
		    "(leave methods out to allow every method)",
		    path);
}

void config_agents_read_max_request_body(struct config_reader *r, const struct config_key *k,
					 const char *path)
{
	struct agent *a = reader_agent(r);
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a size in bytes like 1048576 or 10MiB", &s))
		return;
	if (!config_value_parse_size(s, &a->max_request_body, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid size: %s", path, q,
				    detail);
		return;
	}
	a->has_max_request_body = true;
}

void config_agents_read_guidance(struct config_reader *r, const struct config_key *k,
				 const char *path)
{
	struct agent *a = reader_agent(r);
	struct slice s;

	if (!config_reader_scalar_value(r, path, "a text", &s))
		return;
	if (s.len >= AGENT_GUIDANCE_MAX) {
		config_reader_error(r, r->ev.start_mark, "%s: too long (%zu bytes; at most %d)",
				    path, s.len, AGENT_GUIDANCE_MAX - 1);
		return;
	}
	size_t bad = config_value_unprintable(s, '\n');
	if (bad < s.len) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: byte %zu (0x%02x) is not printable ASCII; write plain text "
		    "(newlines are fine)",
		    path, bad + 1, (unsigned char)s.ptr[bad]);
		return;
	}
	config_value_copy(a->guidance, sizeof(a->guidance), s);
	a->has_guidance = true;
}

/* ---- agents ---------------------------------------------------------------------------- */

static void read_source(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;

	r->it.recognised = true;
	if (config_rules_read_cidrs(r, path, &r->agent->sources) == 0)
		config_reader_error(
		    r, start, "%s: the list is empty; give the agent's CIDRs or leave source out",
		    path);
}

/* At most one of token_sha256, token_file, token_env: two would leave it open which one a
 * client must present. On refusal the value is skipped. */
static bool token_begin(struct config_reader *r, const struct config_key *k, const char *path)
{
	r->it.recognised = true;
	if (r->it.token_key) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: only one of token_sha256, token_file and token_env may be set "
		    "(%s at %d:%d)",
		    path, r->it.token_key, config_reader_pos(r->it.token_mark.line),
		    config_reader_pos(r->it.token_mark.column));
		config_reader_skip(r);
		return false;
	}
	r->it.token_key = k->name;
	r->it.token_mark = r->ev.start_mark;
	return true;
}

/* Only the hash of a token is kept in the file: the file may be read by more people than the
 * agent's secret should be. */
static void read_token_sha256(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent;
	struct slice s;

	if (!token_begin(r, k, path) ||
	    !config_reader_scalar_value(r, path, "64 hex digits (the SHA-256 of the token)", &s))
		return;
	char got[48];
	if (!config_value_parse_sha256(s, a->token_sha256, got, sizeof(got))) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: expected 64 hex digits (the SHA-256 of the token, e.g. from "
		    "`printf %%s TOKEN | sha256sum`), got %s",
		    path, got);
		return;
	}
	a->token_kind = AGENT_TOKEN_SHA256;
	a->token_ready = true;
}

static void read_token_file(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent;
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!token_begin(r, k, path) || !config_reader_scalar_value(r, path, "a file path", &s))
		return;
	if (!config_value_file_path_ok(s, AGENT_SOURCE_MAX - 1, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid file path: %s",
				    path, q, detail);
		return;
	}
	config_value_copy(a->token_source, sizeof(a->token_source), s);
	a->token_line = config_reader_pos(r->ev.start_mark.line);
	a->token_column = config_reader_pos(r->ev.start_mark.column);
	a->token_kind = AGENT_TOKEN_FILE;
	a->token_ready = false; /* the daemon reads the file */
}

static void read_token_env(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent;
	struct slice s;
	char q[QUOTE_MAX];

	if (!token_begin(r, k, path) ||
	    !config_reader_scalar_value(r, path, "an environment variable name", &s))
		return;
	if (!config_value_is_env_name(s, AGENT_SOURCE_MAX - 1)) {
		config_reader_quote(s, q);
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is not an environment variable name (letters, digits and "
		    "'_', not starting with a digit)",
		    path, q);
		return;
	}
	config_value_copy(a->token_source, sizeof(a->token_source), s);
	a->token_line = config_reader_pos(r->ev.start_mark.line);
	a->token_column = config_reader_pos(r->ev.start_mark.column);
	a->token_kind = AGENT_TOKEN_ENV;
	a->token_ready = false; /* the daemon reads the variable */
}

static const struct config_key match_keys[] = {
    {.name = "source", .read = read_source},
    {.name = "token_sha256", .read = read_token_sha256},
    {.name = "token_file", .read = read_token_file},
    {.name = "token_env", .read = read_token_env},
};

static void read_match(struct config_reader *r, const struct config_key *k, const char *path)
{
	unsigned before = config_reader_errors_total(r);

	r->it.has_match = true;
	r->it.match_mark = r->ev.start_mark;
	config_reader_section(r, k, path);
	r->it.match_bad = config_reader_errors_total(r) != before;
}

static void read_agent_name(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct config *cfg = r->cfg;
	unsigned self = cfg->n_agents - 1;
	struct slice s;
	char q[QUOTE_MAX];

	r->it.has_name = true;
	if (!config_reader_scalar_value(r, path, "an agent name", &s))
		return;
	config_reader_quote(s, q);
	if (!config_value_is_agent_name(s)) {
		config_reader_error(
		    r, r->ev.start_mark,
		    "%s: %s is not a valid agent name (1-64 letters, digits, '.', '_' or "
		    "'-')",
		    path, q);
		return;
	}
	for (unsigned i = 0; i < self; i++)
		if (slice_eq(s, slice_from_cstr(cfg->agents[i].name))) {
			config_reader_error(r, r->ev.start_mark,
					    "%s: an agent named %s is already defined (at %d:%d)",
					    path, q, config_reader_pos(r->agent_marks[i].line),
					    config_reader_pos(r->agent_marks[i].column));
			return;
		}
	config_value_copy(r->agent->name, sizeof(r->agent->name), s);
	r->agent_marks[self] = r->ev.start_mark;
	r->it.name_ok = true;
}

/* The checks that need the whole item. "default" is the fallback for clients no other agent
 * matches, so it has nothing to match; every other agent needs something to be recognised by,
 * or it could never be chosen. */
static void agent_check(struct config_reader *r, const struct agent *a, const char *path)
{
	char q[QUOTE_MAX];

	if (!r->it.has_name) {
		config_reader_error(r, r->it.start, "%s: name is required", path);
		return;
	}
	if (!r->it.name_ok)
		return;
	config_reader_quote(slice_from_cstr(a->name), q);
	if (strcmp(a->name, "default") == 0) {
		if (r->it.has_match)
			config_reader_error(
			    r, r->it.match_mark,
			    "%s.match: the agent \"default\" takes the clients no other "
			    "agent matches, so it has no match (remove it, or give this "
			    "agent another name)",
			    path);
		return;
	}
	if (!r->it.recognised && !r->it.match_bad)
		config_reader_error(
		    r, r->it.start,
		    "%s: agent %s: set match.source or a token (token_sha256, token_file "
		    "or token_env), or name it default",
		    path, q);
}

static const struct config_key agent_keys[] = {
    {.name = "name", .read = read_agent_name},
    {.name = "match", .read = read_match, .sub = match_keys, .n_sub = ARRAY_SIZE(match_keys)},
    {.name = "mode", .read = config_agents_read_mode},
    {.name = "allow", .read = config_rules_read_allow},
    {.name = "deny", .read = config_rules_read_deny},
    {.name = "ask", .read = config_rules_read_ask},
    {.name = "intercept", .read = config_intercept_read},
    {.name = "ports", .read = config_rules_read_ports},
    {.name = "methods", .read = config_agents_read_methods},
    {.name = "max_request_body", .read = config_agents_read_max_request_body},
    {.name = "guidance", .read = config_agents_read_guidance},
    {.name = "rules", .read = config_request_rules_read},
    {.name = "credentials", .read = config_credentials_read},
    {.name = "scan", .read = config_scan_read},
    {.name = "dns",
     .read = config_reader_section,
     .sub = config_dns_agent_keys,
     .n_sub = ARRAY_SIZE(config_dns_agent_keys)},
};

static void agent_item(struct config_reader *r, const char *path, void *ctx)
{
	struct config *cfg = r->cfg;
	struct agent *a;

	if (cfg->n_agents == CONFIG_MAX_AGENTS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many agents (at most %d)", path,
				    CONFIG_MAX_AGENTS);
		config_reader_skip(r);
		return;
	}
	if (!config_reader_reserve((void **)&cfg->agents, &r->agents_cap, cfg->n_agents + 1,
				   sizeof(*cfg->agents)) ||
	    !config_reader_reserve((void **)&r->agent_marks, &r->agent_marks_cap, cfg->n_agents + 1,
				   sizeof(*r->agent_marks))) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	a = &cfg->agents[cfg->n_agents++];
	agent_init(a);
	a->line = config_reader_pos(r->ev.start_mark.line);
	memset(&r->it, 0, sizeof(r->it));
	r->it.start = r->ev.start_mark;
	r->agent = a;
	config_reader_mapping(r, path, agent_keys, ARRAY_SIZE(agent_keys));
	r->agent = NULL;
	agent_check(r, a, path);
}

static const struct config_list agent_list = {.items = "agents",
					      .item = "an agent (a mapping with a name)",
					      .read = agent_item,
					      .mappings = true};

void config_agents_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct config *cfg = r->cfg;
	yaml_mark_t start = r->ev.start_mark;

	for (unsigned i = 0; i < cfg->n_agents; i++)
		agent_fini(&cfg->agents[i]);
	cfg->n_agents = 0;
	cfg->default_agent = -1;
	r->agents_given = true;
	if (config_reader_list(r, path, &agent_list, NULL) == 0)
		config_reader_error(
		    r, start,
		    "%s: the list is empty, so every client would be refused (leave agents "
		    "out for one implicit agent \"default\")",
		    path);
}

void config_agents_finish(struct config_reader *r)
{
	struct config *cfg = r->cfg;

	if (!r->agents_given)
		return;
	cfg->default_agent = -1;
	for (unsigned i = 0; i < cfg->n_agents; i++)
		if (strcmp(cfg->agents[i].name, "default") == 0)
			cfg->default_agent = (int)i;
}
