/* Tests src/emit/report.c: the suggested `agents:` YAML by exact text for small logs (collapse
 * into wildcards, port pins, IP literals commented out, built-in and deny-rule summaries, route
 * notes instead of suggestions, counts, ordering, --only-report, --agent), what report_add
 * refuses, the caps, and that every suggestion is well-formed YAML whose allow patterns
 * domain_set_add accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "emit/report.h"
#include "policy/domain_set.h"

#define OUT_MAX (64u << 20)

static struct log_line make_line(const char *agent, const char *host, unsigned port,
				 const char *decision, const char *reason)
{
	struct log_line l;
	memset(&l, 0, sizeof(l));
	l.has_agent = agent != NULL;
	if (agent)
		l.agent.len = (size_t)snprintf(l.agent.bytes, sizeof(l.agent.bytes), "%s", agent);
	l.host.len = (size_t)snprintf(l.host.bytes, sizeof(l.host.bytes), "%s", host);
	l.decision.len =
	    (size_t)snprintf(l.decision.bytes, sizeof(l.decision.bytes), "%s", decision);
	l.reason.len = (size_t)snprintf(l.reason.bytes, sizeof(l.reason.bytes), "%s", reason);
	l.port = port;
	return l;
}

static enum report_use add(struct report *r, const char *agent, const char *host, unsigned port,
			   const char *decision, const char *reason)
{
	struct log_line l = make_line(agent, host, port, decision, reason);
	return report_add(r, &l);
}

/* A line with its "rule" field, n times. */
static void add_rule_n(struct report *r, unsigned n, const char *agent, const char *host,
		       unsigned port, const char *decision, const char *reason, const char *rule)
{
	struct log_line l = make_line(agent, host, port, decision, reason);
	l.rule.len = (size_t)snprintf(l.rule.bytes, sizeof(l.rule.bytes), "%s", rule);
	for (unsigned i = 0; i < n; i++) {
		enum report_use u = report_add(r, &l);
		assert_true(u == REPORT_SUGGESTED || u == REPORT_SUMMARISED ||
			    u == REPORT_COUNTED || u == REPORT_FILTERED);
	}
}

#define ROUTE_RULE "route: search.internal -> http://searxng:8080"

/* Adds the same line n times. */
static void add_n(struct report *r, unsigned n, const char *agent, const char *host, unsigned port,
		  const char *decision, const char *reason)
{
	for (unsigned i = 0; i < n; i++) {
		enum report_use u = add(r, agent, host, port, decision, reason);
		assert_true(u == REPORT_SUGGESTED || u == REPORT_SUMMARISED || u == REPORT_COUNTED);
	}
}

static void add_report(struct report *r, const char *agent, const char *host, unsigned port)
{
	assert_int_equal(add(r, agent, host, port, "report", "domain_not_allowed"),
			 REPORT_SUGGESTED);
}

static struct report *new_report(bool only_report, const char *agent)
{
	struct report_options opt = {only_report, slice_from_cstr(agent ? agent : "")};
	struct report *r = report_new(&opt);
	assert_non_null(r);
	return r;
}

/* Formats into a NUL-terminated heap string. */
static char *format(const struct report *r)
{
	struct buf b = {0};
	assert_true(report_format(r, &b, OUT_MAX));
	char *text = malloc(buf_len(&b) + 1);
	assert_non_null(text);
	memcpy(text, buf_head(&b), buf_len(&b));
	text[buf_len(&b)] = '\0';
	buf_release(&b);
	return text;
}

static void assert_output(const struct report *r, const char *want)
{
	char *got = format(r);
	if (strcmp(got, want) != 0) {
		print_error("--- want:\n%s--- got:\n%s---\n", want, got);
		free(got);
		fail();
	}
	free(got);
}

#define HEADER(n)                                                                                  \
	"# Suggested by `sluice report` from " n " (allow and report decisions).\n"                \
	"# Review before enforcing: a wildcard allows every name below it. See docs/report.md.\n"

/* ---- the shape: libyaml reads it, and every allow pattern is one domain_set_add takes ---- */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	assert_int_equal(map->type, YAML_MAPPING_NODE);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		if (k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* A pattern as the config reads it: a name or "*.suffix", optionally pinned with ":port". */
static void assert_pattern_valid(const char *pattern)
{
	struct domain_set *set = domain_set_new();
	const char *colon = strrchr(pattern, ':'), *detail = NULL;
	size_t len = colon ? (size_t)(colon - pattern) : strlen(pattern);
	unsigned long long port;

	assert_non_null(set);
	if (colon != NULL &&
	    (!slice_parse_u64(slice_from_cstr(colon + 1), &port) || port == 0 || port > 65535))
		fail_msg("bad port in %s", pattern);
	if (domain_set_add(set, slice_make(pattern, len), &detail) != 0)
		fail_msg("pattern %s refused by domain_set_add: %s", pattern, detail);
	domain_set_free(set);
}

/* Checks the YAML shape and returns the number of allow patterns seen. */
static size_t assert_valid_yaml(const char *text)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	size_t patterns = 0;

	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
	if (!yaml_parser_load(&parser, &doc))
		fail_msg("not YAML: %s at line %zu", parser.problem, parser.problem_mark.line + 1);
	yaml_node_t *agents = map_get(&doc, yaml_document_get_root_node(&doc), "agents");
	assert_non_null(agents);
	assert_int_equal(agents->type, YAML_SEQUENCE_NODE);
	for (yaml_node_item_t *i = agents->data.sequence.items.start;
	     i < agents->data.sequence.items.top; i++) {
		yaml_node_t *agent = yaml_document_get_node(&doc, *i);
		yaml_node_t *name = map_get(&doc, agent, "name");
		yaml_node_t *mode = map_get(&doc, agent, "mode");
		yaml_node_t *allow = map_get(&doc, agent, "allow");
		assert_true(name && name->type == YAML_SCALAR_NODE);
		assert_true(mode && strcmp((char *)mode->data.scalar.value, "enforce") == 0);
		assert_true(allow && allow->type == YAML_SEQUENCE_NODE);
		for (yaml_node_item_t *j = allow->data.sequence.items.start;
		     j < allow->data.sequence.items.top; j++) {
			yaml_node_t *p = yaml_document_get_node(&doc, *j);
			assert_int_equal(p->type, YAML_SCALAR_NODE);
			assert_pattern_valid((const char *)p->data.scalar.value);
			patterns++;
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return patterns;
}

/* ---- exact output ----------------------------------------------------------------------- */

/* The example of docs/report.md, fed as log lines through parse/log_line. */
static const char *const doc_log[] = {
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"pypi.org\",\"port\":443,"
    "\"decision\":\"allow\",\"reason\":\"allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"files.pythonhosted.org\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"files.pythonhosted.org\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"files.pythonhosted.org\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"api.github.com\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"codeload.github.com\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"objects.github.com\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"github.com\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"github.com\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"git.internal.example\",\"port\":8443,"
    "\"decision\":\"report\",\"reason\":\"port_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"GET\",\"host\":\"93.184.216.34\",\"port\":80,"
    "\"decision\":\"report\",\"reason\":\"domain_not_allowed\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"GET\",\"host\":\"169.254.169.254\",\"port\":80,"
    "\"decision\":\"deny\",\"reason\":\"ip_metadata\",\"status\":403}",
    "{\"agent\":\"coder\",\"method\":\"GET\",\"host\":\"169.254.169.254\",\"port\":80,"
    "\"decision\":\"deny\",\"reason\":\"ip_metadata\",\"status\":403}",
    "{\"agent\":\"coder\",\"method\":\"GET\",\"host\":\"169.254.169.254\",\"port\":80,"
    "\"decision\":\"deny\",\"reason\":\"ip_metadata\",\"status\":403}",
    "{\"agent\":\"coder\",\"method\":\"CONNECT\",\"host\":\"gist.github.com\",\"port\":443,"
    "\"decision\":\"report\",\"reason\":\"domain_denied\",\"status\":200}",
    "{\"agent\":\"research\",\"method\":\"GET\",\"host\":\"en.wikipedia.org\",\"port\":443,"
    "\"decision\":\"allow\",\"reason\":\"allowed\",\"status\":200}",
    "{\"agent\":\"research\",\"method\":\"GET\",\"host\":\"nx.example\",\"port\":443,"
    "\"decision\":\"error\",\"reason\":\"dns_error\",\"status\":502}",
    "{\"agent\":\"research\",\"method\":\"GET\",\"host\":\"search.internal\",\"port\":80,"
    "\"decision\":\"allow\",\"reason\":\"allowed\",\"rule\":\"route: search.internal -> "
    "http://searxng:8080\",\"status\":200}",
    "{\"agent\":\"coder\",\"method\":\"GET\",\"host\":\"search.internal\",\"port\":80,"
    "\"decision\":\"deny\",\"reason\":\"route_not_allowed\",\"rule\":\"route: search.internal "
    "(agent coder not listed)\",\"status\":403}",
};

static const char doc_yaml[] = HEADER(
    "19 log lines") "agents:\n"
		    "  - name: coder\n"
		    "    mode: enforce\n"
		    "    allow:\n"
		    "      - \"*.github.com\"             # 3 requests: api.github.com, "
		    "codeload.github.com, objects.github.com\n"
		    "      - files.pythonhosted.org     # 3 requests\n"
		    "      - github.com                 # 2 requests\n"
		    "      - git.internal.example:8443  # 1 request\n"
		    "      - pypi.org                   # 1 request\n"
		    "      # - 93.184.216.34            # 1 request; an IP address: re-think it "
		    "as a name (or an ips rule)\n"
		    "    # ports: nothing to add — a name:port pattern allows its own port "
		    "(8443)\n"
		    "    # refused by the built-in block: 3 requests to 169.254.169.254:80 — "
		    "not suggested\n"
		    "    # matched a deny rule: 1 request to gist.github.com:443 — not "
		    "suggested (deny beats allow)\n"
		    "    # refused by route search.internal (the agent is not in its "
		    "routes[].agents): 1 request — not suggested\n"
		    "  - name: research\n"
		    "    mode: enforce\n"
		    "    allow:\n"
		    "      - en.wikipedia.org  # 1 request\n"
		    "    # used route search.internal: 1 request — not an allow entry: "
		    "routes[].agents decides who uses it\n"
		    "    # not suggested: 1 request ending in an error\n";

static void test_docs_example(void **state)
{
	struct report *r = new_report(false, NULL);
	for (size_t i = 0; i < sizeof(doc_log) / sizeof(doc_log[0]); i++) {
		struct log_line l;
		assert_true(log_line_parse(slice_from_cstr(doc_log[i]), &l, NULL) > 0);
		report_add(r, &l);
	}
	assert_int_equal(report_agent_count(r), 2);
	assert_output(r, doc_yaml);
	assert_int_equal(assert_valid_yaml(doc_yaml), 6);
	report_free(r);
}

/* --only-report: allowed requests are counted, not suggested. */
static void test_only_report(void **state)
{
	struct report *r = new_report(true, NULL);
	assert_int_equal(add(r, "a", "pypi.org", 443, "allow", "allowed"), REPORT_COUNTED);
	add_report(r, "a", "files.pythonhosted.org", 443);
	assert_output(r, "# Suggested by `sluice report` from 2 log lines (report decisions "
			 "only).\n"
			 "# Review before enforcing: a wildcard allows every name below it. See "
			 "docs/report.md.\n"
			 "agents:\n"
			 "  - name: a\n"
			 "    mode: enforce\n"
			 "    allow:\n"
			 "      - files.pythonhosted.org  # 1 request\n"
			 "    # not suggested: 1 request allowed (--only-report)\n");
	report_free(r);
}

static void test_agent_filter(void **state)
{
	struct report *r = new_report(false, "b");
	assert_int_equal(add(r, "a", "one.example", 443, "report", "domain_not_allowed"),
			 REPORT_FILTERED);
	add_report(r, "b", "two.example", 443);
	assert_output(r, HEADER("1 log line") "agents:\n"
					      "  - name: b\n"
					      "    mode: enforce\n"
					      "    allow:\n"
					      "      - two.example  # 1 request\n");
	report_free(r);
}

/* Logs from before agents existed belong to "default"; "agent":"" is a client no agent was
 * found for, which no allow list can serve. */
static void test_default_agent_and_unidentified_clients(void **state)
{
	struct report *r = new_report(false, NULL);
	assert_int_equal(add(r, NULL, "pypi.org", 443, "allow", "allowed"), REPORT_SUGGESTED);
	assert_int_equal(add(r, "", "pypi.org", 443, "deny", "unknown_agent"), REPORT_FILTERED);
	assert_output(r, HEADER("1 log line") "agents:\n"
					      "  - name: default\n"
					      "    mode: enforce\n"
					      "    allow:\n"
					      "      - pypi.org  # 1 request\n");
	report_free(r);
}

/* Issue 10: a tunnel writes an open line and an end line; the report counts the request once. */
static void test_tunnel_open_line_is_not_counted(void **state)
{
	struct report *r = new_report(false, NULL);
	struct log_line open = make_line("coder", "github.com", 443, "allow", "allowed");
	open.event.len = (size_t)snprintf(open.event.bytes, sizeof(open.event.bytes), "open");
	struct log_line end = make_line("coder", "github.com", 443, "allow", "tunnel_idle");
	end.event.len = (size_t)snprintf(end.event.bytes, sizeof(end.event.bytes), "end");
	assert_int_equal(report_add(r, &open), REPORT_OPEN_LINE);
	assert_int_equal(report_add(r, &end), REPORT_SUGGESTED);
	assert_output(r, HEADER("1 log line") "agents:\n"
					      "  - name: coder\n"
					      "    mode: enforce\n"
					      "    allow:\n"
					      "      - github.com  # 1 request\n");
	report_free(r);
}

/* Issue 13: a DNS listener's line (no port) suggests its name, and meets the HTTP lines of the
 * same name in one entry. */
static void test_dns_lines_suggest_their_names(void **state)
{
	struct report *r = new_report(false, NULL);
	struct log_line q = make_line("coder", "pypi.org", 0, "allow", "allowed");
	q.kind.len = (size_t)snprintf(q.kind.bytes, sizeof(q.kind.bytes), "dns");
	struct log_line plain = make_line("coder", "pypi.org", 0, "allow", "allowed");
	assert_int_equal(report_add(r, &q), REPORT_SUGGESTED);
	assert_int_equal(add(r, "coder", "pypi.org", 443, "allow", "allowed"), REPORT_SUGGESTED);
	/* A request line without a port is still not one the report can place. */
	assert_int_equal(report_add(r, &plain), REPORT_BAD_HOST);
	assert_output(r, HEADER("2 log lines") "agents:\n"
					       "  - name: coder\n"
					       "    mode: enforce\n"
					       "    allow:\n"
					       "      - pypi.org  # 2 requests\n");
	report_free(r);
}

static void test_nothing_usable(void **state)
{
	struct report *r = new_report(false, NULL);
	assert_int_equal(report_agent_count(r), 0);
	assert_output(r, HEADER("0 log lines") "agents: []\n");
	report_free(r);
}

/* ---- wildcards --------------------------------------------------------------------------- */

static void test_two_names_do_not_collapse(void **state)
{
	struct report *r = new_report(false, NULL);
	add_report(r, "a", "a.pypi.org", 443);
	add_report(r, "a", "b.pypi.org", 443);
	add_report(r, "a", "pypi.org", 443);
	assert_output(r, HEADER("3 log lines") "agents:\n"
					       "  - name: a\n"
					       "    mode: enforce\n"
					       "    allow:\n"
					       "      - a.pypi.org  # 1 request\n"
					       "      - b.pypi.org  # 1 request\n"
					       "      - pypi.org    # 1 request\n");
	report_free(r);
}

/* The brief's own example: three names below pypi.org, plus the bare name (which "*.pypi.org"
 * does not match). */
static void test_three_names_collapse_and_keep_the_bare_name(void **state)
{
	struct report *r = new_report(false, NULL);
	add_report(r, "a", "a.pypi.org", 443);
	add_report(r, "a", "b.pypi.org", 80);
	add_n(r, 2, "a", "files.pypi.org", 443, "allow", "allowed");
	add_report(r, "a", "pypi.org", 443);
	assert_output(r,
		      HEADER("5 log lines") "agents:\n"
					    "  - name: a\n"
					    "    mode: enforce\n"
					    "    allow:\n"
					    "      - \"*.pypi.org\"  # 4 requests: files.pypi.org, "
					    "a.pypi.org, b.pypi.org\n"
					    "      - pypi.org      # 1 request\n");
	report_free(r);
}

/* A name goes to its shortest qualifying suffix, so wildcards never overlap; the comment shows
 * the busiest three names. */
static void test_collapse_at_the_shortest_suffix(void **state)
{
	struct report *r = new_report(false, NULL);
	add_report(r, "a", "a.cdn.example.com", 443);
	add_report(r, "a", "b.cdn.example.com", 443);
	add_report(r, "a", "c.cdn.example.com", 443);
	add_n(r, 3, "a", "api.example.com", 443, "allow", "allowed");
	assert_output(
	    r, HEADER("6 log lines") "agents:\n"
				     "  - name: a\n"
				     "    mode: enforce\n"
				     "    allow:\n"
				     "      - \"*.example.com\"  # 6 requests: api.example.com, "
				     "a.cdn.example.com, b.cdn.example.com and 1 more\n");
	report_free(r);
}

/* Names under a public suffix belong to unrelated owners: never "*.co.uk" or "*.github.io". */
static void test_no_wildcard_at_public_suffixes(void **state)
{
	static const char *const hosts[] = {
	    "one.co.uk",	   "two.co.uk",	      "three.co.uk",	     "alice.github.io",
	    "bob.github.io",	   "carol.github.io", "b1.s3.amazonaws.com", "b2.s3.amazonaws.com",
	    "b3.s3.amazonaws.com", "x.shop.com.au",   "y.shop.com.au",	     "z.shop.com.au",
	};
	struct report *r = new_report(false, NULL);
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		add_report(r, "a", hosts[i], 443);
	char *got = format(r);
	/* shop.com.au is one owner's name: that one collapses. */
	assert_non_null(strstr(got, "\"*.shop.com.au\""));
	assert_null(strstr(got, "\"*.co.uk\""));
	assert_null(strstr(got, "\"*.github.io\""));
	assert_null(strstr(got, "amazonaws.com\""));
	assert_non_null(strstr(got, "      - one.co.uk"));
	assert_non_null(strstr(got, "      - alice.github.io"));
	assert_non_null(strstr(got, "      - b1.s3.amazonaws.com"));
	assert_int_equal(assert_valid_yaml(got), 10);
	free(got);
	report_free(r);
}

/* ---- ports ------------------------------------------------------------------------------- */

/* 80 and 443 are allowed by default: one entry for both; other ports are pinned; a port the log
 * says was refused is pinned too, since only a pin allows a port `ports` does not list. */
static void test_ports_merge_and_pin(void **state)
{
	struct report *r = new_report(false, NULL);
	add_n(r, 1, "a", "web.example", 80, "allow", "allowed");
	add_n(r, 1, "a", "web.example", 443, "allow", "allowed");
	add_n(r, 1, "a", "web.example", 8443, "report", "port_not_allowed");
	add_n(r, 1, "a", "plain.example", 80, "report", "port_not_allowed");
	add_n(r, 1, "a", "git.example", 22, "allow", "allowed");
	assert_output(
	    r, HEADER("5 log lines") "agents:\n"
				     "  - name: a\n"
				     "    mode: enforce\n"
				     "    allow:\n"
				     "      - web.example       # 2 requests\n"
				     "      - git.example:22    # 1 request\n"
				     "      - plain.example:80  # 1 request\n"
				     "      - web.example:8443  # 1 request\n"
				     "    # ports: nothing to add — a name:port pattern allows "
				     "its own port (22, 80, 8443)\n");
	report_free(r);
}

/* ---- IP literals ------------------------------------------------------------------------- */

static void test_ip_literals_are_commented_out(void **state)
{
	struct report *r = new_report(false, NULL);
	add_n(r, 2, "a", "93.184.216.34", 443, "allow", "allowed");
	add_report(r, "a", "2001:db8::1", 8443);
	add_report(r, "a", "2001:DB8:0::1", 443); /* canonical text */
	add_report(r, "a", "0x5db8d822", 80);	  /* a lenient IPv4 spelling is still an IP */
	assert_output(
	    r,
	    HEADER("5 log lines") "agents:\n"
				  "  - name: a\n"
				  "    mode: enforce\n"
				  "    allow: []\n"
				  "      # - 93.184.216.34  # 3 requests; an IP address: re-think "
				  "it as a name (or an ips rule)\n"
				  "      # - 2001:db8::1  # 1 request; an IP address: re-think it "
				  "as a name (or an ips rule)\n"
				  "      # - [2001:db8::1]:8443  # 1 request; an IP address: "
				  "re-think it as a name (or an ips rule)\n");
	report_free(r);
}

/* ---- summaries and counts ------------------------------------------------------------- */

static void test_builtin_block_is_summarised_never_suggested(void **state)
{
	struct report *r = new_report(false, NULL);
	add_n(r, 3, "a", "169.254.169.254", 80, "deny", "ip_metadata");
	add_n(r, 1, "a", "internal.example", 443, "deny", "ip_non_global");
	add_n(r, 1, "a", "127.0.0.1", 3128, "deny", "proxy_loop");
	add_n(r, 2, "a", "", 0, "error", "bad_request");
	add_n(r, 1, "a", "x.example", 443, "error", "bad_authority");
	/* Report mode never relaxes the built-in block; a line claiming so is still not taken. */
	add_n(r, 1, "a", "10.0.0.1", 80, "report", "ip_non_global");
	assert_output(r,
		      HEADER("9 log lines") "agents:\n"
					    "  - name: a\n"
					    "    mode: enforce\n"
					    "    allow: []\n"
					    "    # refused by the built-in block: 3 requests to "
					    "169.254.169.254:80 — not suggested\n"
					    "    # refused by the built-in block: 2 requests to an "
					    "unparsed target — not suggested\n"
					    "    # refused by the built-in block: 1 request to "
					    "10.0.0.1:80 — not suggested\n"
					    "    # refused by the built-in block: 1 request to "
					    "127.0.0.1:3128 — not suggested\n"
					    "    # refused by the built-in block: 1 request to "
					    "internal.example:443 — not suggested\n"
					    "    # refused by the built-in block: 1 request to "
					    "x.example:443 — not suggested\n");
	report_free(r);
}

static void test_many_summaries_are_cut(void **state)
{
	struct report *r = new_report(false, NULL);
	char host[32];
	for (unsigned i = 0; i < 25; i++) {
		snprintf(host, sizeof(host), "10.0.0.%u", i + 10);
		add_n(r, 1, "a", host, 80, "deny", "ip_non_global");
	}
	char *got = format(r);
	assert_non_null(
	    strstr(got, "    # refused by the built-in block: 1 request to 10.0.0.29:80"));
	assert_null(strstr(got, "10.0.0.30:80"));
	assert_non_null(strstr(got, "    # refused by the built-in block: 5 requests to 5 more "
				    "destinations — not suggested\n"));
	free(got);
	report_free(r);
}

static void test_deny_rules_and_other_counts(void **state)
{
	struct report *r = new_report(false, NULL);
	add_n(r, 2, "a", "gist.github.com", 443, "report", "domain_denied");
	add_n(r, 1, "a", "203.0.113.9", 443, "report", "ip_denied");
	add_n(r, 4, "a", "blocked.example", 443, "deny", "domain_not_allowed");
	add_n(r, 1, "a", "quota.example", 80, "report", "some_future_reason");
	add_n(r, 2, "a", "nx.example", 443, "error", "dns_error");
	add_n(r, 1, "a", "upload.example", 80, "report", "method_not_allowed");
	add_n(r, 1, "a", "upload.example", 80, "report", "body_too_large");
	assert_output(
	    r, HEADER("12 log lines") "agents:\n"
				      "  - name: a\n"
				      "    mode: enforce\n"
				      "    allow:\n"
				      "      - upload.example  # 2 requests\n"
				      "    # matched a deny rule: 2 requests to "
				      "gist.github.com:443 — not suggested (deny beats allow)\n"
				      "    # matched a deny rule: 1 request to "
				      "203.0.113.9:443 — not suggested (deny beats allow)\n"
				      "    # not suggested: 4 requests denied by the current "
				      "policy, 1 request reported for a rule an allow entry "
				      "does not answer, 2 requests ending in an error\n"
				      "    # note: 2 requests above would still be refused by a "
				      "methods or max_request_body rule\n");
	report_free(r);
}

/* ---- routes ------------------------------------------------------------------------------ */

/* Issue 10 item 6: a route is matched by host before any allow rule, so an allow entry for its
 * host would never be used; routes[].agents decides. The report says which agents used which
 * route, and which were refused, and suggests none of it. */
static void test_route_lines_are_never_suggested(void **state)
{
	struct report *r = new_report(false, NULL);
	add_rule_n(r, 3, "research", "search.internal", 80, "allow", "allowed", ROUTE_RULE);
	add_rule_n(r, 1, "research", "search.internal", 8080, "error", "connect_refused",
		   ROUTE_RULE);
	add_rule_n(r, 1, "research", "pypi.org", 443, "allow", "allowed", "allow: *");
	add_rule_n(r, 2, "coder", "search.internal", 80, "deny", "route_not_allowed",
		   "route: search.internal (agent coder not listed)");
	add_rule_n(r, 1, "coder", "search.internal", 443, "deny", "route_needs_http",
		   "route: search.internal");
	add_rule_n(r, 1, "coder", "docs.internal", 80, "report", "domain_not_allowed",
		   "allow: no pattern matches");
	assert_output(r,
		      HEADER("9 log lines") "agents:\n"
					    "  - name: coder\n"
					    "    mode: enforce\n"
					    "    allow:\n"
					    "      - docs.internal  # 1 request\n"
					    "    # refused by route search.internal (the agent is "
					    "not in its routes[].agents): 2 requests — not "
					    "suggested\n"
					    "    # refused by route search.internal (CONNECT; a "
					    "route takes plain HTTP): 1 request — not suggested\n"
					    "  - name: research\n"
					    "    mode: enforce\n"
					    "    allow:\n"
					    "      - pypi.org  # 1 request\n"
					    "    # used route search.internal: 4 requests — not an "
					    "allow entry: routes[].agents decides who uses it\n");
	report_free(r);
}

/* A methods or max_request_body verdict on a route replaces the rule text, so the line does not
 * name the route; the route's other lines do, before or after it, from any agent. */
static void test_route_known_by_host_whatever_the_order(void **state)
{
	struct report *r = new_report(false, NULL);
	add_rule_n(r, 2, "observer", "search.internal", 80, "report", "method_not_allowed",
		   "methods: GET, HEAD");
	add_rule_n(r, 1, "observer", "search.internal", 80, "report", "body_too_large",
		   "max_request_body: 10 bytes");
	add_rule_n(r, 1, "observer", "upload.example", 80, "report", "body_too_large",
		   "max_request_body: 10 bytes");
	add_rule_n(r, 1, "research", "Search.Internal.", 80, "allow", "allowed", ROUTE_RULE);
	/* Known from here on: a line without a rule at all is the route's too. */
	add_rule_n(r, 1, "observer", "search.internal", 80, "report", "method_not_allowed", "");
	assert_output(
	    r, HEADER("6 log lines") "agents:\n"
				     "  - name: observer\n"
				     "    mode: enforce\n"
				     "    allow:\n"
				     "      - upload.example  # 1 request\n"
				     "    # used route search.internal: 4 requests — not an "
				     "allow entry: routes[].agents decides who uses it\n"
				     "    # note: 1 request above would still be refused by a "
				     "methods or max_request_body rule\n"
				     "  - name: research\n"
				     "    mode: enforce\n"
				     "    allow: []\n"
				     "    # used route search.internal: 1 request — not an "
				     "allow entry: routes[].agents decides who uses it\n");
	report_free(r);
}

/* `sluice report -c FILE`: the config's routes are route hosts, whatever the lines say (a log
 * from before the route existed, or lines whose rule was cut away). */
static void test_route_hosts_from_the_config(void **state)
{
	struct report *r = new_report(false, NULL);
	assert_int_equal(report_add_route_host(r, SLICE_LIT("Search.Internal.")), 0);
	assert_int_equal(report_add_route_host(r, SLICE_LIT("search.internal")), 0);
	assert_int_equal(report_add_route_host(r, SLICE_LIT("10.0.0.5")), -1);
	assert_int_equal(report_add_route_host(r, SLICE_LIT("bad host")), -1);
	assert_int_equal(report_add_route_host(r, SLICE_LIT("")), -1);
	assert_int_equal(add(r, "a", "search.internal", 80, "allow", "allowed"), REPORT_SUMMARISED);
	assert_int_equal(add(r, "a", "search.internal", 80, "report", "domain_not_allowed"),
			 REPORT_SUMMARISED);
	/* A denial other than the route's own stays a denial. */
	assert_int_equal(add(r, "a", "search.internal", 80, "deny", "method_not_allowed"),
			 REPORT_COUNTED);
	/* The IP literal of the route's upstream is no route host. */
	assert_int_equal(add(r, "a", "10.0.0.5", 80, "report", "domain_not_allowed"),
			 REPORT_SUGGESTED);
	assert_output(
	    r, HEADER("4 log lines") "agents:\n"
				     "  - name: a\n"
				     "    mode: enforce\n"
				     "    allow: []\n"
				     "      # - 10.0.0.5  # 1 request; an IP address: re-think "
				     "it as a name (or an ips rule)\n"
				     "    # used route search.internal: 2 requests — not an "
				     "allow entry: routes[].agents decides who uses it\n"
				     "    # not suggested: 1 request denied by the current "
				     "policy\n");
	report_free(r);
}

/* --agent and --only-report: another agent's line still says which hosts are routes, and route
 * lines are noted whatever the decision filter. */
static void test_route_learned_from_filtered_lines(void **state)
{
	struct report *r = new_report(true, "b");
	add_rule_n(r, 1, "b", "search.internal", 80, "report", "method_not_allowed",
		   "methods: GET");
	add_rule_n(r, 1, "a", "search.internal", 80, "allow", "allowed", ROUTE_RULE);
	add_rule_n(r, 1, "b", "search.internal", 80, "allow", "allowed", ROUTE_RULE);
	assert_output(r, "# Suggested by `sluice report` from 2 log lines (report decisions "
			 "only).\n"
			 "# Review before enforcing: a wildcard allows every name below it. See "
			 "docs/report.md.\n"
			 "agents:\n"
			 "  - name: b\n"
			 "    mode: enforce\n"
			 "    allow: []\n"
			 "    # used route search.internal: 2 requests — not an allow entry: "
			 "routes[].agents decides who uses it\n");
	report_free(r);
}

static void test_many_route_notes_are_cut(void **state)
{
	struct report *r = new_report(false, NULL);
	char host[32], rule[64];
	for (unsigned i = 0; i < 25; i++) {
		snprintf(host, sizeof(host), "r%02u.internal", i);
		snprintf(rule, sizeof(rule), "route: %s -> http://10.0.0.5", host);
		add_rule_n(r, 1, "a", host, 80, "allow", "allowed", rule);
	}
	char *got = format(r);
	assert_non_null(strstr(got, "    # used route r19.internal: 1 request"));
	assert_null(strstr(got, "r20.internal"));
	assert_non_null(
	    strstr(got, "    # routes: 5 requests on 5 more route notes — not suggested\n"));
	assert_int_equal(assert_valid_yaml(got), 0);
	free(got);
	report_free(r);
}

static void test_route_host_cap(void **state)
{
	struct report *r = new_report(false, NULL);
	char host[32];
	for (unsigned i = 0; i < REPORT_MAX_ROUTE_HOSTS; i++) {
		snprintf(host, sizeof(host), "r%u.internal", i);
		assert_int_equal(report_add_route_host(r, slice_from_cstr(host)), 0);
	}
	assert_int_equal(report_add_route_host(r, SLICE_LIT("r0.internal")), 0);
	assert_int_equal(report_add_route_host(r, SLICE_LIT("late.internal")), -1);
	/* Past the cap, a line that names its route is still the route's. */
	add_rule_n(r, 1, "a", "late.internal", 80, "allow", "allowed",
		   "route: late.internal -> http://10.0.0.5");
	assert_output(
	    r, HEADER("1 log line") "agents:\n"
				    "  - name: a\n"
				    "    mode: enforce\n"
				    "    allow: []\n"
				    "    # used route late.internal: 1 request — not an allow "
				    "entry: routes[].agents decides who uses it\n");
	report_free(r);
}

/* ---- ordering and names ----------------------------------------------------------------- */

static void test_sorted_by_count_then_text(void **state)
{
	struct report *r = new_report(false, NULL);
	add_n(r, 1, "a", "zeta.example", 443, "allow", "allowed");
	add_n(r, 5, "a", "mid.example", 443, "allow", "allowed");
	add_n(r, 1, "a", "alpha.example", 443, "allow", "allowed");
	add_n(r, 5, "a", "beta.example", 443, "allow", "allowed");
	/* Case and a trailing dot are normalised: the same name. */
	add_n(r, 1, "a", "Alpha.Example.", 443, "allow", "allowed");
	assert_output(r, HEADER("13 log lines") "agents:\n"
						"  - name: a\n"
						"    mode: enforce\n"
						"    allow:\n"
						"      - beta.example   # 5 requests\n"
						"      - mid.example    # 5 requests\n"
						"      - alpha.example  # 2 requests\n"
						"      - zeta.example   # 1 request\n");
	report_free(r);
}

/* Agents by name; names YAML would read as something else than a string are quoted. */
static void test_agents_sorted_and_quoted(void **state)
{
	static const char *const names[] = {"zed", "123", "yes", "Null", "-x", "a.b_c-d"};
	struct report *r = new_report(false, NULL);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		add_report(r, names[i], "pypi.org", 443);
	char *got = format(r);
	const char *order[] = {"  - name: \"-x\"\n",  "  - name: \"123\"\n", "  - name: \"Null\"\n",
			       "  - name: a.b_c-d\n", "  - name: \"yes\"\n", "  - name: zed\n"};
	const char *at = got;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *hit = strstr(at, order[i]);
		if (hit == NULL)
			fail_msg("missing or out of order: %s", order[i]);
		at = hit + 1;
	}
	assert_int_equal(assert_valid_yaml(got), 6);
	/* libyaml hands the names back as the strings they were. */
	free(got);
	report_free(r);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_refuses_invalid_agent_names(void **state)
{
	struct report *r = new_report(false, NULL);
	char long_name[REPORT_AGENT_NAME_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';

	assert_int_equal(add(r, "a b", "pypi.org", 443, "allow", "allowed"), REPORT_BAD_AGENT);
	assert_int_equal(add(r, "a\nb", "pypi.org", 443, "allow", "allowed"), REPORT_BAD_AGENT);
	assert_int_equal(add(r, "caf\xc3\xa9", "pypi.org", 443, "allow", "allowed"),
			 REPORT_BAD_AGENT);
	assert_int_equal(add(r, "a:b", "pypi.org", 443, "allow", "allowed"), REPORT_BAD_AGENT);
	assert_int_equal(add(r, long_name, "pypi.org", 443, "allow", "allowed"), REPORT_BAD_AGENT);
	long_name[REPORT_AGENT_NAME_MAX] = '\0';
	assert_int_equal(add(r, long_name, "pypi.org", 443, "allow", "allowed"), REPORT_SUGGESTED);
	assert_int_equal(report_agent_count(r), 1);
	report_free(r);
}

static void test_refuses_invalid_hosts_for_suggestions(void **state)
{
	struct report *r = new_report(false, NULL);
	assert_int_equal(add(r, "a", "", 443, "allow", "allowed"), REPORT_BAD_HOST);
	assert_int_equal(add(r, "a", "bad host", 443, "allow", "allowed"), REPORT_BAD_HOST);
	assert_int_equal(add(r, "a", "a..b", 443, "allow", "allowed"), REPORT_BAD_HOST);
	assert_int_equal(add(r, "a", "x\n- evil.example", 443, "report", "domain_not_allowed"),
			 REPORT_BAD_HOST);
	assert_int_equal(add(r, "a", "*.example.com", 443, "allow", "allowed"), REPORT_BAD_HOST);
	assert_int_equal(add(r, "a", "example.com:80", 443, "allow", "allowed"), REPORT_BAD_HOST);
	assert_int_equal(add(r, "a", "pypi.org", 0, "allow", "allowed"), REPORT_BAD_HOST);
	assert_int_equal(report_agent_count(r), 0);
	report_free(r);
}

/* Whatever bytes a line carries, only validated text reaches the YAML. */
static void test_hostile_host_never_reaches_the_output(void **state)
{
	struct report *r = new_report(false, NULL);
	add_n(r, 1, "a", "x\n  - name: evil\n", 80, "deny", "ip_non_global");
	add_n(r, 1, "a", "evil.example\r", 80, "report", "domain_denied");
	char *got = format(r);
	assert_null(strstr(got, "evil"));
	assert_non_null(strstr(got, "1 request to an unparsed target"));
	assert_int_equal(assert_valid_yaml(got), 0);
	free(got);
	report_free(r);
}

static void test_report_new_refuses_a_long_filter(void **state)
{
	char name[REPORT_AGENT_NAME_MAX + 2];
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	struct report_options opt = {false, slice_from_cstr(name)};
	assert_null(report_new(&opt));
}

/* ---- caps ------------------------------------------------------------------------------------ */

static void test_agent_cap(void **state)
{
	struct report *r = new_report(false, NULL);
	char name[16];
	for (unsigned i = 0; i < REPORT_MAX_AGENTS; i++) {
		snprintf(name, sizeof(name), "agent%u", i);
		add_report(r, name, "pypi.org", 443);
	}
	assert_int_equal(add(r, "one-more", "pypi.org", 443, "allow", "allowed"), REPORT_TRUNCATED);
	/* Known agents still count. */
	add_report(r, "agent7", "pypi.org", 443);
	assert_int_equal(report_agent_count(r), REPORT_MAX_AGENTS);
	char *got = format(r);
	assert_non_null(strstr(got, "# truncated: more than 4096 agents; 1 line of further agents "
				    "not counted\n"));
	assert_int_equal(assert_valid_yaml(got), REPORT_MAX_AGENTS);
	free(got);
	report_free(r);
}

static void test_host_cap(void **state)
{
	struct report *r = new_report(false, NULL);
	char host[64];
	for (unsigned i = 0; i < REPORT_MAX_HOSTS; i++) {
		snprintf(host, sizeof(host), "h%u.example.com", i);
		add_report(r, "a", host, 443);
	}
	assert_int_equal(add(r, "a", "late.example", 443, "allow", "allowed"), REPORT_TRUNCATED);
	assert_int_equal(add(r, "a", "later.example", 443, "deny", "ip_non_global"),
			 REPORT_TRUNCATED);
	/* A destination already seen still counts. */
	add_report(r, "a", "h0.example.com", 443);
	char *got = format(r);
	assert_non_null(strstr(got, "      - \"*.example.com\"  # 100001 requests: h0.example.com, "
				    "h1.example.com, h10.example.com and 99997 more\n"));
	assert_non_null(strstr(got, "    # truncated: the destination cap was reached; 2 requests "
				    "to further destinations were not counted\n"));
	assert_int_equal(assert_valid_yaml(got), 1);
	free(got);
	report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_docs_example),
	    cmocka_unit_test(test_only_report),
	    cmocka_unit_test(test_agent_filter),
	    cmocka_unit_test(test_default_agent_and_unidentified_clients),
	    cmocka_unit_test(test_nothing_usable),
	    cmocka_unit_test(test_tunnel_open_line_is_not_counted),
	    cmocka_unit_test(test_dns_lines_suggest_their_names),
	    cmocka_unit_test(test_two_names_do_not_collapse),
	    cmocka_unit_test(test_three_names_collapse_and_keep_the_bare_name),
	    cmocka_unit_test(test_collapse_at_the_shortest_suffix),
	    cmocka_unit_test(test_no_wildcard_at_public_suffixes),
	    cmocka_unit_test(test_ports_merge_and_pin),
	    cmocka_unit_test(test_ip_literals_are_commented_out),
	    cmocka_unit_test(test_builtin_block_is_summarised_never_suggested),
	    cmocka_unit_test(test_many_summaries_are_cut),
	    cmocka_unit_test(test_deny_rules_and_other_counts),
	    cmocka_unit_test(test_route_lines_are_never_suggested),
	    cmocka_unit_test(test_route_known_by_host_whatever_the_order),
	    cmocka_unit_test(test_route_hosts_from_the_config),
	    cmocka_unit_test(test_route_learned_from_filtered_lines),
	    cmocka_unit_test(test_many_route_notes_are_cut),
	    cmocka_unit_test(test_route_host_cap),
	    cmocka_unit_test(test_sorted_by_count_then_text),
	    cmocka_unit_test(test_agents_sorted_and_quoted),
	    cmocka_unit_test(test_refuses_invalid_agent_names),
	    cmocka_unit_test(test_refuses_invalid_hosts_for_suggestions),
	    cmocka_unit_test(test_hostile_host_never_reaches_the_output),
	    cmocka_unit_test(test_report_new_refuses_a_long_filter),
	    cmocka_unit_test(test_agent_cap),
	    cmocka_unit_test(test_host_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
