#include "config/config_scan.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_rules.h"
#include "config/config_value.h"
#include "policy/agent.h"
#include "policy/domain_set.h"
#include "policy/scan.h"

static struct scan_config *reader_scan(struct config_reader *r)
{
	struct agent *a = r->agent ? r->agent : &r->cfg->base;
	return &a->scan;
}

static struct scan_rule *reader_rule(struct config_reader *r)
{
	struct scan_config *sc = reader_scan(r);
	return &sc->rules[sc->n_rules - 1];
}

/* redact only where there is a header to redact: hostnames have none. */
static bool read_action_word(struct config_reader *r, const char *path, bool redact,
			     enum scan_action *out)
{
	static const char *const words[] = {"block", "report", "redact"};
	static const enum scan_action actions[] = {SCAN_BLOCK, SCAN_REPORT, SCAN_REDACT};
	int i = config_reader_word(r, path, "a scan action", words,
				   redact ? ARRAY_SIZE(words) : ARRAY_SIZE(words) - 1);
	if (i < 0)
		return false;
	*out = actions[i];
	return true;
}

static void read_builtin(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_read_bool(r, path, &reader_scan(r)->builtin);
}

static void read_action(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_action_word(r, path, true, &reader_scan(r)->action);
}

static void read_rule_name(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a pattern name", &s))
		return;
	if (!config_value_is_agent_name(s) || s.len > SCAN_NAME_MAX) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not a pattern name (letters, digits, '.', '_' and "
				    "'-', at most %d)",
				    path, q, SCAN_NAME_MAX);
		return;
	}
	config_value_copy(reader_rule(r)->name, sizeof(reader_rule(r)->name), s);
}

static void read_rule_regex(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct scan_rule *rule = reader_rule(r);
	struct slice s;
	char why[256];

	if (!config_reader_scalar_string(r, path, "a regular expression", &s))
		return;
	if (s.len == 0 || s.len > SCAN_REGEX_MAX) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: the expression is empty or too long (at most %d bytes)",
				    path, SCAN_REGEX_MAX);
		return;
	}
	config_value_copy(rule->regex, sizeof(rule->regex), s);
	if (!scan_regex_ok(rule->regex, why, sizeof(why))) {
		config_reader_error(r, r->ev.start_mark, "%s: Hyperscan cannot compile it: %s",
				    path, why);
		rule->regex[0] = '\0';
	}
}

/* Where the pattern's matches may go: none given, nowhere (an empty set). */
static void read_rule_hosts(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_rules_read_hosts(r, path, reader_rule(r)->hosts);
}

static void read_rule_action(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct scan_rule *rule = reader_rule(r);
	if (read_action_word(r, path, true, &rule->action))
		rule->has_action = true;
}

static const struct config_key rule_keys[] = {
    {.name = "name", .read = read_rule_name},
    {.name = "regex", .read = read_rule_regex},
    {.name = "hosts", .read = read_rule_hosts},
    {.name = "action", .read = read_rule_action},
};

static void rule_item(struct config_reader *r, const char *path, void *ctx)
{
	struct scan_config *sc = ctx;
	yaml_mark_t start = r->ev.start_mark;

	if (sc->n_rules == SCAN_RULES_MAX) {
		config_reader_error(r, start, "%s: too many patterns (at most %d)", path,
				    SCAN_RULES_MAX);
		config_reader_skip(r);
		return;
	}
	struct scan_rule *rules = realloc(sc->rules, (sc->n_rules + 1) * sizeof(*rules));
	if (!rules) {
		config_reader_error(r, start, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	sc->rules = rules;
	struct scan_rule *rule = &sc->rules[sc->n_rules++];
	memset(rule, 0, sizeof(*rule));
	if (!(rule->hosts = domain_set_new())) {
		sc->n_rules--;
		config_reader_error(r, start, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	unsigned before = config_reader_errors_total(r);
	config_reader_mapping(r, path, rule_keys, ARRAY_SIZE(rule_keys));
	if (!rule->name[0])
		config_reader_error(r, start, "%s: a pattern needs a name", path);
	if (!rule->regex[0] && config_reader_errors_total(r) == before)
		config_reader_error(r, start, "%s: a pattern needs a regex", path);
	for (unsigned i = 0; rule->name[0] && i + 1 < sc->n_rules; i++)
		if (strcmp(sc->rules[i].name, rule->name) == 0)
			config_reader_error(r, start, "%s: the name %s is taken", path, rule->name);
	for (unsigned i = 0; rule->name[0] && i < scan_builtins_count; i++)
		if (strcmp(scan_builtins[i].name, rule->name) == 0)
			config_reader_error(r, start, "%s: %s is the name of a built-in pattern",
					    path, rule->name);
}

static const struct config_list rule_list = {
    .items = "patterns", .item = "a pattern", .read = rule_item, .mappings = true};

static void read_patterns(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_list(r, path, &rule_list, reader_scan(r));
}

static void read_max_body(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a size in bytes like 1MiB (0: no bodies)", &s))
		return;
	if (!config_value_parse_size(s, &reader_scan(r)->max_body, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid size: %s", path, q,
				    detail);
	}
}

static void read_decode_depth(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	unsigned long long v;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a number of layers", &s))
		return;
	if (!config_value_parse_uint(s, &v, &detail) || v > SCAN_DECODE_DEPTH_MAX) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not a number of layers from 0 to %d", path, q,
				    SCAN_DECODE_DEPTH_MAX);
		return;
	}
	reader_scan(r)->decode_depth = (unsigned)v;
}

/* ---- hostnames ------------------------------------------------------------------------- */

static struct scan_hostnames *reader_hostnames(struct config_reader *r)
{
	return &reader_scan(r)->hostnames;
}

static void read_hostnames_bound(struct config_reader *r, const char *path, const char *what,
				 unsigned lo, unsigned hi, unsigned *out)
{
	struct slice s;
	unsigned long long v;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, what, &s))
		return;
	if (!config_value_parse_uint(s, &v, &detail) || v < lo || v > hi) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not %s from %u to %u", path, q,
				    what, lo, hi);
		return;
	}
	*out = (unsigned)v;
}

static void read_max_label(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_hostnames_bound(r, path, "a label length", 1, 63, &reader_hostnames(r)->max_label);
}

static void read_min_length(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_hostnames_bound(r, path, "a run length", 8, 63, &reader_hostnames(r)->min_length);
}

/* Bits per character, with at most one decimal: 3 or 3.5. */
static void read_entropy(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	char q[QUOTE_MAX];
	unsigned tenths = 0;
	size_t i = 0;

	if (!config_reader_scalar_value(r, path, "bits per character, like 3.0", &s))
		return;
	for (; i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && tenths < 1000; i++)
		tenths = tenths * 10 + (unsigned)(s.ptr[i] - '0');
	bool ok = i > 0 && i <= 2;
	tenths *= 10;
	if (ok && i < s.len) {
		ok =
		    s.ptr[i] == '.' && i + 2 == s.len && s.ptr[i + 1] >= '0' && s.ptr[i + 1] <= '9';
		if (ok)
			tenths += (unsigned)(s.ptr[i + 1] - '0');
	}
	if (!ok || tenths < 10 || tenths > 60) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not bits per character from 1.0 to 6.0 (one decimal "
				    "at most)",
				    path, q);
		return;
	}
	reader_hostnames(r)->entropy_tenths = tenths;
}

static void read_hostnames_action(struct config_reader *r, const struct config_key *k,
				  const char *path)
{
	enum scan_action action;
	if (read_action_word(r, path, false, &action)) {
		reader_hostnames(r)->action = (int)action;
		reader_hostnames(r)->has_action = true;
	}
}

/* Names whose labels may carry data (a function URL's id). */
static void read_hostnames_hosts(struct config_reader *r, const struct config_key *k,
				 const char *path)
{
	struct scan_hostnames *h = reader_hostnames(r);
	if (!h->hosts && !(h->hosts = domain_set_new())) {
		config_reader_error(r, r->ev.start_mark, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	config_rules_read_hosts(r, path, h->hosts);
}

static const struct config_key hostnames_keys[] = {
    {.name = "max_label", .read = read_max_label},
    {.name = "min_length", .read = read_min_length},
    {.name = "entropy", .read = read_entropy},
    {.name = "action", .read = read_hostnames_action},
    {.name = "hosts", .read = read_hostnames_hosts},
};

/* hostnames: false turns the check off; a mapping tunes it; empty is the defaults. */
static void read_hostnames(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct scan_hostnames *h = reader_hostnames(r);

	scan_hostnames_fini(h);
	scan_hostnames_defaults(h);
	if (r->ev.type == YAML_SCALAR_EVENT) {
		enum config_scalar_kind kind = config_reader_scalar_kind(&r->ev);
		if (kind == CONFIG_SCALAR_NULL)
			return;
		if (kind == CONFIG_SCALAR_BOOL) {
			h->enabled = config_reader_scalar_bool(&r->ev);
			return;
		}
	}
	if (r->ev.type != YAML_MAPPING_START_EVENT) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: expected true, false or a mapping (max_label, min_length, "
				    "entropy, action, hosts), got %s",
				    path, config_reader_describe(&r->ev));
		config_reader_skip(r);
		return;
	}
	config_reader_mapping(r, path, hostnames_keys, ARRAY_SIZE(hostnames_keys));
}

static const struct config_key scan_keys[] = {
    {.name = "builtin", .read = read_builtin},
    {.name = "max_body", .read = read_max_body},
    {.name = "action", .read = read_action},
    {.name = "patterns", .read = read_patterns},
    {.name = "decode_depth", .read = read_decode_depth},
    {.name = "hostnames", .read = read_hostnames},
};

void config_scan_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent ? r->agent : &r->cfg->base;

	scan_config_fini(&a->scan);
	scan_config_defaults(&a->scan);
	a->has_scan = true;
	/* An empty scan: (null) is the defaults: the built-in patterns, blocked. */
	if (r->ev.type == YAML_SCALAR_EVENT &&
	    config_reader_scalar_kind(&r->ev) == CONFIG_SCALAR_NULL)
		return;
	config_reader_mapping(r, path, scan_keys, ARRAY_SIZE(scan_keys));
}
