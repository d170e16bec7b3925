/* Tests for config/config_rules: allow, deny, ips and ports (patterns pinned to a port too),
 * every refusal with its line:column. */
#include "config_test.h"

/* ---- lists replace defaults ------------------------------------------------------------ */

static void test_allow_list_replaces_default(void **state)
{
	struct config *cfg = parse_ok("allow: [\"api.example.com\"]\n");
	assert_int_equal(domain_set_count(cfg->rules.allow), 1);
	assert_true(allows_name(cfg, "api.example.com"));
	assert_false(allows_name(cfg, "example.com"));
	config_free(cfg);
}

static void test_allow_empty_list_denies_all(void **state)
{
	struct config *cfg = parse_ok("allow: []\n");
	assert_int_equal(domain_set_count(cfg->rules.allow), 0);
	assert_false(allows_name(cfg, "example.com"));
	config_free(cfg);
}

static void test_ports_list_replaces_default(void **state)
{
	struct config *cfg = parse_ok("ports: [8080]\n");
	assert_true(port_ok(cfg, 8080));
	assert_false(port_ok(cfg, 80));
	assert_false(port_ok(cfg, 443));
	config_free(cfg);
}

/* ---- ports ------------------------------------------------------------------------------ */

static void test_port_ranges(void **state)
{
	struct config *cfg = parse_ok("ports: [\"1-3\", 65535, 8000-8001, \"22-22\"]\n");
	for (unsigned p = 0; p <= 65535; p++)
		assert_int_equal(port_ok(cfg, p), (p >= 1 && p <= 3) || p == 65535 || p == 8000 ||
						      p == 8001 || p == 22);
	config_free(cfg);
}

static void test_port_star_is_any(void **state)
{
	struct config *cfg = parse_ok("ports: [\"*\"]\n");
	assert_false(port_ok(cfg, 0));
	for (unsigned p = 1; p <= 65535; p++)
		assert_true(port_ok(cfg, p));
	config_free(cfg);
}

static void test_port_zero_refused(void **state)
{
	refused("ports: [80, 0]\n", 1, 13,
		"ports[1]: \"0\" is not a valid port: port 0 is not allowed");
}

static void test_port_too_large_refused(void **state)
{
	refused("ports: [65536]\n", 1, 9,
		"ports[0]: \"65536\" is not a valid port: out of range (1-65535)");
}

static void test_port_range_reversed_refused(void **state)
{
	refused("ports: [\"9000-8000\"]\n", 1, 9,
		"ports[0]: \"9000-8000\" is not a valid port: the range is reversed (write "
		"low-high)");
}

static void test_port_range_open_refused(void **state)
{
	refused("ports: [\"8000-\"]\n", 1, 9,
		"ports[0]: \"8000-\" is not a valid port: not a whole number");
}

static void test_port_not_a_number_refused(void **state)
{
	refused("ports: [12abc]\n", 1, 9,
		"ports[0]: \"12abc\" is not a valid port: not a whole number");
}

static void test_port_leading_zero_refused(void **state)
{
	refused("ports: [0443]\n", 1, 9,
		"ports[0]: \"0443\" is not a valid port: leading zeros are not allowed");
}

static void test_port_negative_refused(void **state)
{
	refused("ports: [-1]\n", 1, 9, "ports[0]: \"-1\" is not a valid port: not a whole number");
}

static void test_ports_empty_list_refused(void **state)
{
	refused(
	    "ports: []\n", 1, 8,
	    "ports: the list is empty, so no port would be allowed (write [\"*\"] for any port)");
}

/* ---- ips and domain patterns --------------------------------------------------------------- */

static void test_ips_host_bits_set(void **state)
{
	refused_prefix("ips:\n  allow: [\"10.20.0.0/16\", \"10.0.0.1/8\"]\n", 2, 27,
		       "ips.allow[1]: \"10.0.0.1/8\" is not a valid CIDR: host bits set");
}

static void test_ips_not_a_cidr(void **state)
{
	refused_prefix("ips:\n  deny: [\"example.com/8\"]\n", 2, 10,
		       "ips.deny[0]: \"example.com/8\" is not a valid CIDR: ");
}

static void test_domain_pattern_trailing_star_dot(void **state)
{
	refused_prefix("allow: [\"*.\"]\n", 1, 9,
		       "allow[0]: \"*.\" is not a valid domain pattern: ");
}

static void test_domain_pattern_inner_star(void **state)
{
	refused_prefix("deny: [\"a.*.b\"]\n", 1, 8,
		       "deny[0]: \"a.*.b\" is not a valid domain pattern: ");
}

static void test_domain_pattern_nul_byte_escaped(void **state)
{
	refused_prefix("allow: [\"a\\0b\"]\n", 1, 9,
		       "allow[0]: \"a\\x00b\" is not a valid domain pattern: ");
}

/* ---- domain patterns pinned to a port -------------------------------------------------- */

static void test_port_pinned_top_level_patterns(void **state)
{
	struct config *cfg = parse_ok(
	    "allow: [\"api.example.com:8443\", \"*.example.org:8080\", \"www.example.net\"]\n"
	    "deny: [\"bad.example.com:8443\"]\n");
	const struct domain_set *allow = cfg->rules.allow;
	assert_non_null(
	    domain_set_match_port(allow, slice_from_cstr("api.example.com"), 8443, NULL));
	assert_null(domain_set_match_port(allow, slice_from_cstr("api.example.com"), 443, NULL));
	assert_non_null(domain_set_match_port(allow, slice_from_cstr("a.example.org"), 8080, NULL));
	assert_null(domain_set_match(allow, slice_from_cstr("api.example.com")));
	assert_non_null(domain_set_match(allow, slice_from_cstr("www.example.net")));
	assert_non_null(
	    domain_set_match_port(cfg->rules.deny, slice_from_cstr("bad.example.com"), 8443, NULL));
	assert_false(denies_name(cfg, "bad.example.com"));
	config_free(cfg);
}

static void test_pinned_pattern_bad_port_refused(void **state)
{
	refused("allow: [\"api.example.com:0\"]\n", 1, 9,
		"allow[0]: \"api.example.com:0\" is not a valid domain pattern: the port must be a "
		"number from 1 to 65535 (\"api.example.com:8443\")");
	refused(
	    "deny: [\"api.example.com:https\"]\n", 1, 8,
	    "deny[0]: \"api.example.com:https\" is not a valid domain pattern: the port must be a "
	    "number from 1 to 65535 (\"api.example.com:8443\")");
	refused_prefix("agents: [{name: default, allow: [\":443\"]}]\n", 1, 34,
		       "agents[0].allow[0]: \":443\" is not a valid domain pattern: ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allow_list_replaces_default),
	    cmocka_unit_test(test_allow_empty_list_denies_all),
	    cmocka_unit_test(test_ports_list_replaces_default),
	    cmocka_unit_test(test_port_ranges),
	    cmocka_unit_test(test_port_star_is_any),
	    cmocka_unit_test(test_port_zero_refused),
	    cmocka_unit_test(test_port_too_large_refused),
	    cmocka_unit_test(test_port_range_reversed_refused),
	    cmocka_unit_test(test_port_range_open_refused),
	    cmocka_unit_test(test_port_not_a_number_refused),
	    cmocka_unit_test(test_port_leading_zero_refused),
	    cmocka_unit_test(test_port_negative_refused),
	    cmocka_unit_test(test_ports_empty_list_refused),
	    cmocka_unit_test(test_ips_host_bits_set),
	    cmocka_unit_test(test_ips_not_a_cidr),
	    cmocka_unit_test(test_domain_pattern_trailing_star_dot),
	    cmocka_unit_test(test_domain_pattern_inner_star),
	    cmocka_unit_test(test_domain_pattern_nul_byte_escaped),
	    cmocka_unit_test(test_port_pinned_top_level_patterns),
	    cmocka_unit_test(test_pinned_pattern_bad_port_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
