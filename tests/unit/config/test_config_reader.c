/* Tests for config/config_reader: unknown and duplicate keys, values of the wrong type, the YAML
 * features refused (anchors, aliases, tags, documents), syntax errors and how errors are collected.
 */
#include "config_test.h"

/* ---- keys -------------------------------------------------------------------------------- */

static void test_unknown_top_key(void **state)
{
	refused("listn:\n  http: \"127.0.0.1:3128\"\n", 1, 1,
		"unknown key \"listn\" (valid: listen, resolver, ips, allow, deny, ask, ports, "
		"timeouts, "
		"limits, log, workers, user, seccomp, mode, methods, max_request_body, guidance, "
		"dns, tunnel, tls, intercept, rules, credentials, scan, agents, routes, search, "
		"console, "
		"approvals)");
}

static void test_keys_are_case_sensitive(void **state)
{
	refused("Allow: []\n", 1, 1,
		"unknown key \"Allow\" (valid: listen, resolver, ips, allow, deny, ask, ports, "
		"timeouts, "
		"limits, log, workers, user, seccomp, mode, methods, max_request_body, guidance, "
		"dns, tunnel, tls, intercept, rules, credentials, scan, agents, routes, search, "
		"console, "
		"approvals)");
}

static void test_unknown_nested_keys(void **state)
{
	refused("timeouts:\n  conect: 5s\n", 2, 3,
		"unknown key \"conect\" in timeouts (valid: request_head, client_idle, connect, "
		"upstream_response, tunnel_idle, dns, tls_handshake, drain, reload_revoke)");
	refused("ips:\n  allowed: []\n", 2, 3,
		"unknown key \"allowed\" in ips (valid: allow, deny)");
	refused("listen:\n  https: \"127.0.0.1:3129\"\n", 2, 3,
		"unknown key \"https\" in listen (valid: http, admin, dns, transparent_http, "
		"transparent_tls)");
	refused("resolver:\n  server: []\n", 2, 3,
		"unknown key \"server\" in resolver (valid: servers)");
	refused("limits:\n  max_head: 1\n", 2, 3,
		"unknown key \"max_head\" in limits (valid: max_request_head, max_request_headers, "
		"max_response_head, max_response_headers, max_connections, max_pending_dns, "
		"max_connections_per_agent)");
}

static void test_duplicate_key(void **state)
{
	refused("allow: [a.example]\nallow: [b.example]\n", 2, 1,
		"duplicate key \"allow\" (first at 1:1)");
	refused("timeouts:\n  dns: 1s\n  dns: 2s\n", 3, 3,
		"duplicate key \"dns\" in timeouts (first at 2:3)");
}

static void test_non_string_key(void **state)
{
	refused("? [a]\n: b\n", 1, 3, "top level: keys must be strings, got a list");
}

/* ---- types -------------------------------------------------------------------------------- */

static void test_boolean_where_list_expected(void **state)
{
	refused("allow: yes\n", 1, 8, "allow: expected a list of domain patterns, got a boolean");
	refused("ports: on\n", 1, 8, "ports: expected a list of ports, got a boolean");
}

static void test_string_where_list_expected(void **state)
{
	refused("deny: evil.example\n", 1, 7,
		"deny: expected a list of domain patterns, got a string; write [\"evil.example\"] "
		"for a list of one");
	refused("resolver:\n  servers: \"10.0.0.2\"\n", 2, 12,
		"resolver.servers: expected a list of IP addresses, got a string; write "
		"[\"10.0.0.2\"] for a list of one");
}

static void test_empty_value_where_list_expected(void **state)
{
	refused("allow:\n", 1, 7, "allow: expected a list of domain patterns, got an empty value");
}

static void test_mapping_where_list_expected(void **state)
{
	refused("ips:\n  deny: {a: b}\n", 2, 9,
		"ips.deny: expected a list of CIDRs, got a mapping");
}

static void test_boolean_list_item(void **state)
{
	refused(
	    "allow: [yes]\n", 1, 9,
	    "allow[0]: expected a domain pattern, got the boolean yes (write \"yes\" to mean the "
	    "text)");
	refused("allow: [~]\n", 1, 9, "allow[0]: expected a domain pattern, got an empty value");
}

static void test_nested_list_item(void **state)
{
	refused("allow: [[a.example]]\n", 1, 9, "allow[0]: expected a domain pattern, got a list");
}

static void test_section_of_wrong_type(void **state)
{
	refused(
	    "timeouts: [1]\n", 1, 11,
	    "timeouts: expected a mapping with keys request_head, client_idle, connect, "
	    "upstream_response, tunnel_idle, dns, tls_handshake, drain, reload_revoke, got a list");
	refused("ips: on\n", 1, 6, "ips: expected a mapping with keys allow, deny, got a boolean");
}

static void test_root_not_a_mapping(void **state)
{
	refused(
	    "- a\n- b\n", 1, 1,
	    "the top level must be a mapping with keys listen, resolver, ips, allow, deny, ask, "
	    "ports, timeouts, limits, log, workers, user, seccomp, mode, methods, "
	    "max_request_body, guidance, dns, tunnel, tls, intercept, rules, credentials, scan, "
	    "agents, routes, search, console, approvals, "
	    "got a list");
	refused(
	    "hello\n", 1, 1,
	    "the top level must be a mapping with keys listen, resolver, ips, allow, deny, ask, "
	    "ports, timeouts, limits, log, workers, user, seccomp, mode, methods, "
	    "max_request_body, guidance, dns, tunnel, tls, intercept, rules, credentials, scan, "
	    "agents, routes, search, console, approvals, "
	    "got a string");
}

/* ---- messages -------------------------------------------------------------------------- */

static void test_long_value_is_truncated_in_message(void **state)
{
	refused_prefix(
	    "ports: [\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]\n", 1, 9,
	    "ports[0]: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... is not a valid port: ");
}

/* ---- YAML features refused ----------------------------------------------------------------- */

static void test_anchor_and_alias_refused(void **state)
{
	assert_null(parse("allow: &names [a.example]\ndeny: *names\n"));
	assert_int_equal(errs.count, 2);
	assert_error(0, 1, 8, "allow: anchors (&names) are not allowed");
	assert_error(1, 2, 7, "deny: aliases (*names) are not allowed; write the value out");
}

static void test_alias_in_list_refused(void **state)
{
	assert_null(parse("ports: [&p 80, *p]\n"));
	assert_int_equal(errs.count, 2);
	assert_error(0, 1, 9, "ports[0]: anchors (&p) are not allowed");
	assert_error(1, 1, 16, "ports[1]: aliases (*p) are not allowed; write the value out");
}

static void test_tag_refused(void **state)
{
	refused("ports: !!seq [80]\n", 1, 8,
		"ports: tags (\"tag:yaml.org,2002:seq\") are not allowed");
}

static void test_multiple_documents_refused(void **state)
{
	refused("allow: [a.example]\n---\ndeny: [b.example]\n", 2, 1,
		"a second YAML document starts here; a config file holds exactly one");
}

static void test_yaml_syntax_error_position(void **state)
{
	refused("listen:\n  http: \"127.0.0.1:3128\"\n bad: 1\n", 3, 2,
		"YAML syntax error: did not find expected key (while parsing a block mapping at "
		"1:1)");
}

static void test_yaml_unclosed_flow_sequence(void **state)
{
	assert_null(parse("ports: [80, 443\n"));
	assert_int_equal(errs.count, 1);
	assert_error_prefix(0, 2, 1, "YAML syntax error: ");
}

static void test_tab_indentation_hinted(void **state)
{
	refused("allow:\n\t- a.example\n", 2, 1,
		"YAML syntax error: found character that cannot start any token (while scanning "
		"for the next token at 2:1); indent with spaces, YAML does not allow tabs");
}

static void test_invalid_utf8_refused(void **state)
{
	refused("allow: [a.example]\ndeny: [\"\xff\"]\n", 2, 9,
		"not UTF-8 YAML text: invalid leading UTF-8 octet (0xff)");
}

/* ---- all errors are collected -------------------------------------------------------------- */

static void test_multiple_errors_collected(void **state)
{
	assert_null(parse("listn: 1\n"
			  "ports: [0, 80, \"9-1\"]\n"
			  "timeouts:\n"
			  "  dns: 0\n"
			  "ips:\n"
			  "  allow: [\"10.0.0.1/8\"]\n"));
	assert_int_equal(errs.count, 5);
	assert_int_equal(errs.dropped, 0);
	assert_error_prefix(0, 1, 1, "unknown key \"listn\"");
	assert_error(1, 2, 9, "ports[0]: \"0\" is not a valid port: port 0 is not allowed");
	assert_error(
	    2, 2, 16,
	    "ports[2]: \"9-1\" is not a valid port: the range is reversed (write low-high)");
	assert_error(3, 4, 8,
		     "timeouts.dns: \"0\" is not a valid duration: must be greater than 0");
	assert_error_prefix(4, 6, 11, "ips.allow[0]: \"10.0.0.1/8\" is not a valid CIDR: ");
}

/* What libyaml hands over before it fails may be a piece of the broken text: the syntax error
 * is the only error of a file that is not YAML. */
static void test_syntax_error_reported_alone(void **state)
{
	static const struct {
		const char *yaml;
		int line, column;
	} cases[] = {
	    /* a real error before the break is dropped too: fix the YAML first */
	    {"ports: [0]\nallow: [\n", 3, 1},
	    /* the plain scalar "127.0.0.1:3128 x" ran into a key: not a bad listen address */
	    {"listen:\n  http: 127.0.0.1:3128 x: y\n", 2, 25},
	    /* "http" is delivered as listen's value before the second ':' fails */
	    {"listen: http: 127.0.0.1:3128\n", 1, 13},
	    /* listen.http was never read: the default it keeps does not clash with admin */
	    {"listen:\n  admin: \"127.0.0.1:3128\"\n  http: \"127.0.0.1:3129\n", 4, 1},
	    /* a genuine overlap, found after the break, is not reported either */
	    {"listen:\n  http: [\"127.0.0.1:3129\"]\n  admin: \"127.0.0.1:3129\"\nports: [80\n", 5,
	     1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(parse(cases[i].yaml));
		if (errs.count != 1)
			dump_errors();
		assert_int_equal(errs.count, 1);
		assert_int_equal(errs.dropped, 0);
		assert_error_prefix(0, cases[i].line, cases[i].column, "YAML syntax error: ");
	}
}

static void test_syntax_error_after_too_many_errors_alone(void **state)
{
	char yaml[1024] = "ports: [";
	for (int i = 0; i < CONFIG_MAX_ERRORS + 8; i++)
		strcat(yaml, "0, ");
	strcat(yaml, "80\n");
	assert_null(parse(yaml));
	assert_int_equal(errs.count, 1);
	assert_int_equal(errs.dropped, 0);
	assert_error_prefix(0, 2, 1, "YAML syntax error: ");
}

static void test_too_many_errors_counted(void **state)
{
	char yaml[1024] = "ports: [";
	for (int i = 0; i < CONFIG_MAX_ERRORS + 8; i++)
		strcat(yaml, "0, ");
	strcat(yaml, "80]\n");
	assert_null(parse(yaml));
	assert_int_equal(errs.count, CONFIG_MAX_ERRORS);
	assert_int_equal(errs.dropped, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown_top_key),
	    cmocka_unit_test(test_keys_are_case_sensitive),
	    cmocka_unit_test(test_unknown_nested_keys),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_non_string_key),
	    cmocka_unit_test(test_boolean_where_list_expected),
	    cmocka_unit_test(test_string_where_list_expected),
	    cmocka_unit_test(test_empty_value_where_list_expected),
	    cmocka_unit_test(test_mapping_where_list_expected),
	    cmocka_unit_test(test_boolean_list_item),
	    cmocka_unit_test(test_nested_list_item),
	    cmocka_unit_test(test_section_of_wrong_type),
	    cmocka_unit_test(test_root_not_a_mapping),
	    cmocka_unit_test(test_long_value_is_truncated_in_message),
	    cmocka_unit_test(test_anchor_and_alias_refused),
	    cmocka_unit_test(test_alias_in_list_refused),
	    cmocka_unit_test(test_tag_refused),
	    cmocka_unit_test(test_multiple_documents_refused),
	    cmocka_unit_test(test_yaml_syntax_error_position),
	    cmocka_unit_test(test_yaml_unclosed_flow_sequence),
	    cmocka_unit_test(test_tab_indentation_hinted),
	    cmocka_unit_test(test_invalid_utf8_refused),
	    cmocka_unit_test(test_multiple_errors_collected),
	    cmocka_unit_test(test_syntax_error_reported_alone),
	    cmocka_unit_test(test_syntax_error_after_too_many_errors_alone),
	    cmocka_unit_test(test_too_many_errors_counted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
