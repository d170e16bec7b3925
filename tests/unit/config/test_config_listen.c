/* Tests for config/config_listen: listen.http and listen.admin, every refusal with its
 * line:column. */
#include "config_test.h"

/* ---- lists replace defaults ------------------------------------------------------------ */

static void test_listen_single_string_replaces_default(void **state)
{
	struct config *cfg = parse_ok("listen:\n  http: \"[::1]:8080\"\n");
	assert_int_equal(cfg->n_listen_http, 1);
	assert_v6_loopback(&cfg->listen_http[0].addr);
	assert_int_equal(cfg->listen_http[0].port, 8080);
	assert_int_equal(cfg->rules.n_listeners, 1);
	assert_int_equal(cfg->rules.listeners[0].port, 8080);
	config_free(cfg);
}

static void test_listen_wildcard_is_all_zero(void **state)
{
	struct config *cfg = parse_ok("listen: {http: [0.0.0.0:3128, \"[::]:3128\"]}\n");
	assert_int_equal(cfg->rules.n_listeners, 2);
	assert_v4(&cfg->rules.listeners[0].addr, 0, 0, 0, 0);
	assert_int_equal(cfg->rules.listeners[1].addr.family, IP_V6);
	config_free(cfg);
}

/* ---- listen -------------------------------------------------------------------------------- */

static void test_listen_port_required(void **state)
{
	refused(
	    "listen:\n  http: \"127.0.0.1\"\n", 2, 9,
	    "listen.http: \"127.0.0.1\" is not a valid listen address: a port is required, e.g. "
	    "127.0.0.1:3128 or [::1]:3128");
}

static void test_listen_port_zero(void **state)
{
	refused("listen:\n  http: [\"127.0.0.1:0\"]\n", 2, 10,
		"listen.http[0]: \"127.0.0.1:0\" is not a valid listen address: port 0 is not "
		"allowed");
}

static void test_listen_name_refused(void **state)
{
	refused("listen:\n  http: localhost:3128\n", 2, 9,
		"listen.http: \"localhost:3128\" is not a valid listen address: not an IP address "
		"(host names are not allowed here)");
}

static void test_listen_ipv6_needs_brackets(void **state)
{
	refused("listen:\n  http: \"::1:3128\"\n", 2, 9,
		"listen.http: \"::1:3128\" is not a valid listen address: IPv6 addresses need "
		"brackets and a port, e.g. [::1]:3128");
}

static void test_listen_duplicate(void **state)
{
	refused("listen:\n"
		"  http:\n"
		"    - 127.0.0.1:3128\n"
		"    - \"[::1]:3128\"\n"
		"    - 127.0.0.1:3128\n",
		5, 7, "listen.http[2]: \"127.0.0.1:3128\" is listed twice (first at 3:7)");
}

static void test_listen_bracketed_without_port(void **state)
{
	refused("listen:\n  http: \"[::1]\"\n", 2, 9,
		"listen.http: \"[::1]\" is not a valid listen address: a port is required, e.g. "
		"127.0.0.1:3128 or [::1]:3128");
}

static void test_listen_empty_list(void **state)
{
	refused("listen:\n  http: []\n", 2, 9,
		"listen.http: the list is empty; give at least one address");
}

static void test_listen_too_many(void **state)
{
	char yaml[512] = "listen:\n  http:\n";
	for (int i = 1; i <= CONFIG_MAX_LISTEN + 1; i++) {
		char line[40];
		snprintf(line, sizeof(line), "    - 127.0.0.1:%d\n", 3000 + i);
		strcat(yaml, line);
	}
	refused(yaml, 3 + CONFIG_MAX_LISTEN, 7,
		"listen.http[8]: too many listen addresses (at most 8)");
}

/* ---- listen.admin -------------------------------------------------------------------------- */

static void test_admin_absent_by_default(void **state)
{
	struct config *cfg = parse_ok("listen:\n  http: 127.0.0.1:3128\n");
	assert_false(cfg->has_admin);
	assert_int_equal(cfg->rules.n_listeners, 1);
	config_free(cfg);
	cfg = config_default();
	assert_non_null(cfg);
	assert_false(cfg->has_admin);
	config_free(cfg);
}

static void test_admin_address(void **state)
{
	struct config *cfg = parse_ok("listen:\n  http: 127.0.0.1:3128\n  admin: 127.0.0.1:9090\n");
	assert_true(cfg->has_admin);
	assert_v4(&cfg->admin.addr, 127, 0, 0, 1);
	assert_int_equal(cfg->admin.port, 9090);
	/* A listener of sluice's own: a proxied request aimed at it is refused as a loop. */
	assert_int_equal(cfg->rules.n_listeners, 2);
	assert_v4(&cfg->rules.listeners[1].addr, 127, 0, 0, 1);
	assert_int_equal(cfg->rules.listeners[1].port, 9090);
	config_free(cfg);
}

/* listen.http replaces the listener list when it is read; admin given first must survive. */
static void test_admin_before_http(void **state)
{
	struct config *cfg = parse_ok("listen:\n  admin: \"[::1]:9090\"\n  http: 127.0.0.1:3130\n");
	assert_true(cfg->has_admin);
	assert_v6_loopback(&cfg->admin.addr);
	assert_int_equal(cfg->admin.port, 9090);
	assert_int_equal(cfg->rules.n_listeners, 2);
	assert_int_equal(cfg->rules.listeners[0].port, 3130);
	assert_int_equal(cfg->rules.listeners[1].port, 9090);
	config_free(cfg);
}

static void test_admin_with_default_http(void **state)
{
	struct config *cfg = parse_ok("listen:\n  admin: 0.0.0.0:9090\n");
	assert_true(cfg->has_admin);
	assert_v4(&cfg->admin.addr, 0, 0, 0, 0);
	assert_int_equal(cfg->n_listen_http, 1);
	assert_int_equal(cfg->listen_http[0].port, 3128);
	config_free(cfg);
}

static void test_admin_port_required(void **state)
{
	refused("listen:\n  admin: 127.0.0.1\n", 2, 10,
		"listen.admin: \"127.0.0.1\" is not a valid listen address: a port is required, "
		"e.g. 127.0.0.1:3128 or [::1]:3128");
}

static void test_admin_port_zero(void **state)
{
	refused("listen:\n  admin: 127.0.0.1:0\n", 2, 10,
		"listen.admin: \"127.0.0.1:0\" is not a valid listen address: port 0 is not "
		"allowed");
}

static void test_admin_name_refused(void **state)
{
	refused("listen:\n  admin: localhost:9090\n", 2, 10,
		"listen.admin: \"localhost:9090\" is not a valid listen address: not an IP address "
		"(host names are not allowed here)");
}

static void test_admin_list_refused(void **state)
{
	refused("listen:\n  admin: [127.0.0.1:9090]\n", 2, 10,
		"listen.admin: expected an address like \"127.0.0.1:9090\", got a list");
}

static void test_admin_empty_refused(void **state)
{
	refused("listen:\n  admin:\n", 2, 9,
		"listen.admin: expected an address like \"127.0.0.1:9090\", got an empty value");
}

static void test_admin_same_as_http_refused(void **state)
{
	refused("listen:\n"
		"  http: [\"[::1]:3128\", 127.0.0.1:3128]\n"
		"  admin: 127.0.0.1:3128\n",
		3, 10,
		"listen.admin: \"127.0.0.1:3128\" overlaps the listen.http address at 2:24; the "
		"admin listener needs an address and port of its own");
}

/* Given first, checked once listen.http is known. */
static void test_admin_same_as_http_given_later_refused(void **state)
{
	refused("listen:\n"
		"  admin: 127.0.0.1:3128\n"
		"  http: 127.0.0.1:3128\n",
		2, 10,
		"listen.admin: \"127.0.0.1:3128\" overlaps the listen.http address at 3:9; the "
		"admin listener needs an address and port of its own");
}

static void test_admin_same_as_default_http_refused(void **state)
{
	refused("listen:\n  admin: 127.0.0.1:3128\n", 2, 10,
		"listen.admin: \"127.0.0.1:3128\" overlaps the default listen.http address "
		"127.0.0.1:3128; the admin listener needs an address and port of its own");
}

/* A wildcard on either side takes the other's connections on that port. */
static void test_admin_wildcard_overlap_refused(void **state)
{
	refused("listen:\n  http: 0.0.0.0:3128\n  admin: 127.0.0.1:3128\n", 3, 10,
		"listen.admin: \"127.0.0.1:3128\" overlaps the listen.http address at 2:9; the "
		"admin listener needs an address and port of its own");
	refused("listen:\n  http: 127.0.0.1:3128\n  admin: 0.0.0.0:3128\n", 3, 10,
		"listen.admin: \"0.0.0.0:3128\" overlaps the listen.http address at 2:9; the "
		"admin listener needs an address and port of its own");
}

/* Same port on another address, or the other family's wildcard, is a different socket. */
static void test_admin_same_port_other_address(void **state)
{
	struct config *cfg = parse_ok("listen:\n  http: 127.0.0.1:3128\n  admin: \"[::]:3128\"\n");
	assert_true(cfg->has_admin);
	config_free(cfg);
	cfg = parse_ok("listen:\n  http: 127.0.0.1:3128\n  admin: 127.0.0.2:3128\n");
	assert_true(cfg->has_admin);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listen_single_string_replaces_default),
	    cmocka_unit_test(test_listen_wildcard_is_all_zero),
	    cmocka_unit_test(test_listen_port_required),
	    cmocka_unit_test(test_listen_port_zero),
	    cmocka_unit_test(test_listen_name_refused),
	    cmocka_unit_test(test_listen_ipv6_needs_brackets),
	    cmocka_unit_test(test_listen_duplicate),
	    cmocka_unit_test(test_listen_bracketed_without_port),
	    cmocka_unit_test(test_listen_empty_list),
	    cmocka_unit_test(test_listen_too_many),
	    cmocka_unit_test(test_admin_absent_by_default),
	    cmocka_unit_test(test_admin_address),
	    cmocka_unit_test(test_admin_before_http),
	    cmocka_unit_test(test_admin_with_default_http),
	    cmocka_unit_test(test_admin_port_required),
	    cmocka_unit_test(test_admin_port_zero),
	    cmocka_unit_test(test_admin_name_refused),
	    cmocka_unit_test(test_admin_list_refused),
	    cmocka_unit_test(test_admin_empty_refused),
	    cmocka_unit_test(test_admin_same_as_http_refused),
	    cmocka_unit_test(test_admin_same_as_http_given_later_refused),
	    cmocka_unit_test(test_admin_same_as_default_http_refused),
	    cmocka_unit_test(test_admin_wildcard_overlap_refused),
	    cmocka_unit_test(test_admin_same_port_other_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
