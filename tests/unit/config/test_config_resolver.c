/* Tests for config/config_resolver: resolver.servers, every refusal with its line:column. */
#include "config_test.h"

/* ---- lists replace defaults ------------------------------------------------------------ */

static void test_resolver_empty_list_uses_system(void **state)
{
	struct config *cfg = parse_ok("resolver:\n  servers: []\n");
	assert_int_equal(cfg->n_resolvers, 0);
	config_free(cfg);
}

static void test_resolver_ipv6_with_port(void **state)
{
	struct config *cfg = parse_ok("resolver:\n  servers: [\"[::1]:53\", \"[::1]\"]\n");
	assert_int_equal(cfg->n_resolvers, 2);
	assert_v6_loopback(&cfg->resolvers[0].addr);
	assert_int_equal(cfg->resolvers[0].port, 53);
	assert_int_equal(cfg->resolvers[1].port, 53);
	config_free(cfg);
}

/* ---- resolver ------------------------------------------------------------------------------ */

static void test_resolver_port_out_of_range(void **state)
{
	refused("resolver:\n  servers: [\"8.8.8.8:99999\"]\n", 2, 13,
		"resolver.servers[0]: \"8.8.8.8:99999\" is not a valid DNS server: out of range "
		"(1-65535)");
}

static void test_resolver_name_refused(void **state)
{
	refused("resolver:\n  servers: [dns.example]\n", 2, 13,
		"resolver.servers[0]: \"dns.example\" is not a valid DNS server: not an IP address "
		"(host names are not allowed here)");
}

static void test_resolver_bare_ipv6_refused(void **state)
{
	refused("resolver:\n  servers: [\"::1\"]\n", 2, 13,
		"resolver.servers[0]: \"::1\" is not a valid DNS server: IPv6 addresses need "
		"brackets, e.g. [::1] or [::1]:53");
}

static void test_resolver_brackets_around_ipv4_refused(void **state)
{
	refused(
	    "resolver:\n  servers: [\"[10.0.0.2]:53\"]\n", 2, 13,
	    "resolver.servers[0]: \"[10.0.0.2]:53\" is not a valid DNS server: brackets are only "
	    "for IPv6 addresses");
}

static void test_resolver_lenient_ipv4_refused(void **state)
{
	refused("resolver:\n  servers: [\"010.0.0.2\"]\n", 2, 13,
		"resolver.servers[0]: \"010.0.0.2\" is not a valid DNS server: not an IP address "
		"(host names are not allowed here)");
}

static void test_resolver_garbage_after_bracket_refused(void **state)
{
	refused("resolver:\n  servers: [\"[::1]53\"]\n", 2, 13,
		"resolver.servers[0]: \"[::1]53\" is not a valid DNS server: unexpected text after "
		"']'");
	refused("resolver:\n  servers: [\"[::1\"]\n", 2, 13,
		"resolver.servers[0]: \"[::1\" is not a valid DNS server: missing ']'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolver_empty_list_uses_system),
	    cmocka_unit_test(test_resolver_ipv6_with_port),
	    cmocka_unit_test(test_resolver_port_out_of_range),
	    cmocka_unit_test(test_resolver_name_refused),
	    cmocka_unit_test(test_resolver_bare_ipv6_refused),
	    cmocka_unit_test(test_resolver_brackets_around_ipv4_refused),
	    cmocka_unit_test(test_resolver_lenient_ipv4_refused),
	    cmocka_unit_test(test_resolver_garbage_after_bracket_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
