#include "config/config_request_rules.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_agents.h"
#include "config/config_rules.h"
#include "config/config_value.h"
#include "policy/agent.h"
#include "policy/domain_set.h"
#include "policy/request_rules.h"

/* The rule being read: the last of the list being filled. */
static struct request_rule *reader_rule(struct config_reader *r)
{
	struct agent *a = r->agent ? r->agent : &r->cfg->base;
	return &a->rules.items[a->rules.n - 1];
}

/* host: one pattern or a list of them. */
static void read_host(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_rules_read_hosts(r, path, reader_rule(r)->hosts);
}

static void method_item(struct config_reader *r, const char *path, void *ctx)
{
	struct request_rule *rule = ctx;
	char upper[AGENT_METHOD_MAX];

	_Static_assert(REQUEST_RULE_METHOD_MAX == AGENT_METHOD_MAX, "one method size");
	if (!config_agents_read_method(r, path, upper))
		return;
	if (rule->n_methods == REQUEST_RULE_MAX_METHODS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many methods (at most %d)", path,
				    REQUEST_RULE_MAX_METHODS);
		return;
	}
	memcpy(rule->methods[rule->n_methods++], upper, strlen(upper) + 1);
}

static const struct config_list method_list = {
    .items = "HTTP methods", .item = "an HTTP method", .read = method_item};

static void read_methods(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	if (config_reader_list(r, path, &method_list, reader_rule(r)) == 0)
		config_reader_error(r, start,
				    "%s: the list is empty, so the rule would match no request "
				    "(leave methods out to match every method)",
				    path);
}

static void path_item(struct config_reader *r, const char *path, void *ctx)
{
	struct request_rule *rule = ctx;
	struct slice s;
	const char *detail = NULL;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a path pattern like \"/repos/**\"", &s))
		return;
	config_reader_quote(s, q);
	if (s.len >= REQUEST_RULE_PATH_MAX) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is too long (at most %d bytes)",
				    path, q, REQUEST_RULE_PATH_MAX - 1);
		return;
	}
	if (!request_rules_pattern_ok(s, &detail)) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a path pattern: %s", path,
				    q, detail);
		return;
	}
	if (rule->n_paths == REQUEST_RULE_MAX_PATHS) {
		config_reader_error(r, r->ev.start_mark, "%s: too many paths (at most %d)", path,
				    REQUEST_RULE_MAX_PATHS);
		return;
	}
	memcpy(rule->paths[rule->n_paths], s.ptr, s.len);
	rule->paths[rule->n_paths++][s.len] = '\0';
}

static const struct config_list path_list = {
    .items = "path patterns", .item = "a path pattern like \"/repos/**\"", .read = path_item};

static void read_paths(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	if (config_reader_list(r, path, &path_list, reader_rule(r)) == 0)
		config_reader_error(r, start,
				    "%s: the list is empty, so the rule would match no request "
				    "(leave paths out to match every path)",
				    path);
}

static void read_action(struct config_reader *r, const struct config_key *k, const char *path)
{
	static const char *const words[] = {"allow", "deny"};
	int i = config_reader_word(r, path, "a rule action", words, ARRAY_SIZE(words));
	if (i >= 0)
		reader_rule(r)->deny = i == 1;
}

/* One field name into the next of n slots of list (at most max). */
static void header_into(struct config_reader *r, const char *path,
			char (*list)[REQUEST_RULE_HEADER_MAX], unsigned *n, unsigned max)
{
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a header field name", &s))
		return;
	config_reader_quote(s, q);
	if (!config_value_is_token(s) || s.len >= REQUEST_RULE_HEADER_MAX) {
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a header field name", path,
				    q);
		return;
	}
	if (*n == max) {
		config_reader_error(r, r->ev.start_mark, "%s: too many headers (at most %u)", path,
				    max);
		return;
	}
	char *h = list[(*n)++];
	for (size_t i = 0; i < s.len; i++)
		h[i] = slice_ascii_lower(s.ptr[i]);
	h[s.len] = '\0';
}

static void header_deny_item(struct config_reader *r, const char *path, void *ctx)
{
	struct request_rule *rule = ctx;
	header_into(r, path, rule->headers_deny, &rule->n_headers_deny, REQUEST_RULE_MAX_HEADERS);
}

static void header_allow_item(struct config_reader *r, const char *path, void *ctx)
{
	struct request_rule *rule = ctx;
	header_into(r, path, rule->headers_allow, &rule->n_headers_allow,
		    REQUEST_RULE_MAX_HEADERS_ALLOW);
}

static const struct config_list header_deny_list = {
    .items = "header field names", .item = "a header field name", .read = header_deny_item};
static const struct config_list header_allow_list = {
    .items = "header field names", .item = "a header field name", .read = header_allow_item};

static void read_headers_deny(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_list(r, path, &header_deny_list, reader_rule(r));
}

/* headers_allow: [] is legal: only the fields HTTP itself needs. */
static void read_headers_allow(struct config_reader *r, const struct config_key *k,
			       const char *path)
{
	struct request_rule *rule = reader_rule(r);
	if (config_reader_list(r, path, &header_allow_list, rule) >= 0)
		rule->has_headers_allow = true;
}

static void read_max_request_body(struct config_reader *r, const struct config_key *k,
				  const char *path)
{
	struct request_rule *rule = reader_rule(r);
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a size in bytes like 1048576 or 10MiB", &s))
		return;
	if (!config_value_parse_size(s, &rule->max_request_body, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid size: %s", path, q,
				    detail);
		return;
	}
	rule->has_max_request_body = true;
}

static const struct config_key rule_keys[] = {
    {.name = "host", .read = read_host},
    {.name = "methods", .read = read_methods},
    {.name = "paths", .read = read_paths},
    {.name = "action", .read = read_action},
    {.name = "headers_deny", .read = read_headers_deny},
    {.name = "headers_allow", .read = read_headers_allow},
    {.name = "max_request_body", .read = read_max_request_body},
};

static void rule_item(struct config_reader *r, const char *path, void *ctx)
{
	struct agent *a = ctx;
	yaml_mark_t start = r->ev.start_mark;

	if (a->rules.n == REQUEST_RULES_MAX) {
		config_reader_error(r, start, "%s: too many rules (at most %d)", path,
				    REQUEST_RULES_MAX);
		config_reader_skip(r);
		return;
	}
	struct request_rule *items =
	    realloc(a->rules.items, (a->rules.n + 1) * sizeof(*a->rules.items));
	struct domain_set *hosts = domain_set_new();
	if (items)
		a->rules.items = items;
	if (!items || !hosts) {
		domain_set_free(hosts);
		config_reader_error(r, start, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	struct request_rule *rule = &a->rules.items[a->rules.n++];
	memset(rule, 0, sizeof(*rule));
	rule->hosts = hosts;
	snprintf(rule->label, sizeof(rule->label), "%s", path);
	config_reader_mapping(r, path, rule_keys, ARRAY_SIZE(rule_keys));
	if (domain_set_count(rule->hosts) == 0)
		config_reader_error(r, start, "%s: a rule needs a host (a domain pattern)", path);
}

static const struct config_list rule_list = {
    .items = "rules", .item = "a rule", .read = rule_item, .mappings = true};

void config_request_rules_read(struct config_reader *r, const struct config_key *k,
			       const char *path)
{
	struct agent *a = r->agent ? r->agent : &r->cfg->base;

	request_rules_fini(&a->rules);
	a->has_rules = r->ev.type == YAML_SEQUENCE_START_EVENT;
	config_reader_list(r, path, &rule_list, a);
}
