/* Tests for parse/config: YAML text to a validated config, every refusal with its line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/config.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"

static struct config_errors errs;

static struct config *parse(const char *yaml)
{
	return config_parse(yaml, strlen(yaml), &errs);
}

static void dump_errors(void)
{
	char line[CONFIG_ERROR_MAX + 32];
	for (unsigned i = 0; i < errs.count; i++) {
		config_error_format(&errs.items[i], line, sizeof(line));
		print_message("  error: %s\n", line);
	}
}

static struct config *parse_ok(const char *yaml)
{
	struct config *cfg = parse(yaml);
	if (!cfg)
		dump_errors();
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	return cfg;
}

static void assert_error(unsigned i, int line, int column, const char *message)
{
	assert_true(i < errs.count);
	assert_string_equal(errs.items[i].message, message);
	assert_int_equal(errs.items[i].line, line);
	assert_int_equal(errs.items[i].column, column);
}

/* For messages that end in another module's detail text: only our part is asserted. */
static void assert_error_prefix(unsigned i, int line, int column, const char *prefix)
{
	assert_true(i < errs.count);
	if (strncmp(errs.items[i].message, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", errs.items[i].message,
			 prefix);
	assert_int_equal(errs.items[i].line, line);
	assert_int_equal(errs.items[i].column, column);
}

/* The text is refused with exactly one error. */
static void refused(const char *yaml, int line, int column, const char *message)
{
	assert_null(parse(yaml));
	if (errs.count != 1)
		dump_errors();
	assert_int_equal(errs.count, 1);
	assert_error(0, line, column, message);
}

static void refused_prefix(const char *yaml, int line, int column, const char *prefix)
{
	assert_null(parse(yaml));
	if (errs.count != 1)
		dump_errors();
	assert_int_equal(errs.count, 1);
	assert_error_prefix(0, line, column, prefix);
}

static bool allows_name(const struct config *cfg, const char *name)
{
	return domain_set_match(cfg->rules.allow, slice_from_cstr(name)) != NULL;
}

static bool denies_name(const struct config *cfg, const char *name)
{
	return domain_set_match(cfg->rules.deny, slice_from_cstr(name)) != NULL;
}

static bool port_ok(const struct config *cfg, unsigned port)
{
	return policy_rules_port_allowed(&cfg->rules, (uint16_t)port);
}

static void assert_v4(const struct ip_addr *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	assert_int_equal(a->family, IP_V4);
	assert_int_equal(a->bytes[0], b0);
	assert_int_equal(a->bytes[1], b1);
	assert_int_equal(a->bytes[2], b2);
	assert_int_equal(a->bytes[3], b3);
}

static void assert_v6_loopback(const struct ip_addr *a)
{
	static const uint8_t lo[16] = {[15] = 1};
	assert_int_equal(a->family, IP_V6);
	assert_memory_equal(a->bytes, lo, 16);
}

static void assert_defaults(const struct config *cfg)
{
	assert_int_equal(cfg->n_listen_http, 1);
	assert_v4(&cfg->listen_http[0].addr, 127, 0, 0, 1);
	assert_int_equal(cfg->listen_http[0].port, 3128);
	assert_int_equal(cfg->rules.n_listeners, 1);
	assert_v4(&cfg->rules.listeners[0].addr, 127, 0, 0, 1);
	assert_int_equal(cfg->rules.listeners[0].port, 3128);
	assert_int_equal(cfg->n_resolvers, 0);
	assert_int_equal(cfg->head_timeout_ms, 10000);
	assert_int_equal(cfg->idle_timeout_ms, 60000);
	assert_int_equal(cfg->connect_timeout_ms, 10000);
	assert_int_equal(cfg->upstream_timeout_ms, 60000);
	assert_int_equal(cfg->tunnel_idle_ms, 300000);
	assert_int_equal(cfg->dns_timeout_ms, 5000);
	assert_int_equal(cfg->max_head_bytes, 65536);
	assert_int_equal(cfg->max_connections, 10000);
	assert_true(allows_name(cfg, "anything.example"));
	assert_int_equal(domain_set_count(cfg->rules.deny), 0);
	assert_int_equal(cidr_set_count(cfg->rules.ips_allow), 0);
	assert_int_equal(cidr_set_count(cfg->rules.ips_deny), 0);
	for (unsigned p = 0; p <= 65535; p++)
		assert_int_equal(port_ok(cfg, p), p == 80 || p == 443);
}

/* ---- valid configs --------------------------------------------------------------------- */

static const char full_yaml[] = "listen:\n"
				"  http: [\"127.0.0.1:3128\", \"[::1]:3129\"]\n"
				"resolver:\n"
				"  servers: [\"127.0.0.53\", \"[::1]:5353\", \"10.0.0.2:53\"]\n"
				"ips:\n"
				"  allow: [\"10.20.0.0/16\", \"169.254.169.254\"]\n"
				"  deny:  [\"203.0.113.0/24\"]\n"
				"allow: [\"example.com\", \"*.example.org\"]\n"
				"deny:  [\"*.evil.example\"]\n"
				"ports: [80, 443, \"8000-8999\"]\n"
				"timeouts:\n"
				"  request_head: 5s\n"
				"  client_idle: 0.5\n"
				"  connect: 1500ms\n"
				"  upstream_response: 2m\n"
				"  tunnel_idle: 1h\n"
				"  dns: 3\n"
				"limits:\n"
				"  max_request_head: 1024\n"
				"  max_connections: 42\n";

static void test_full_config_every_field(void **state)
{
	struct config *cfg = parse_ok(full_yaml);
	struct ip_addr a;

	assert_int_equal(cfg->n_listen_http, 2);
	assert_v4(&cfg->listen_http[0].addr, 127, 0, 0, 1);
	assert_int_equal(cfg->listen_http[0].port, 3128);
	assert_v6_loopback(&cfg->listen_http[1].addr);
	assert_int_equal(cfg->listen_http[1].port, 3129);
	assert_int_equal(cfg->rules.n_listeners, 2);
	assert_true(ip_addr_eq(&cfg->rules.listeners[1].addr, &cfg->listen_http[1].addr));
	assert_int_equal(cfg->rules.listeners[1].port, 3129);

	assert_int_equal(cfg->n_resolvers, 3);
	assert_v4(&cfg->resolvers[0].addr, 127, 0, 0, 53);
	assert_int_equal(cfg->resolvers[0].port, 53);
	assert_v6_loopback(&cfg->resolvers[1].addr);
	assert_int_equal(cfg->resolvers[1].port, 5353);
	assert_v4(&cfg->resolvers[2].addr, 10, 0, 0, 2);
	assert_int_equal(cfg->resolvers[2].port, 53);

	assert_int_equal(cidr_set_count(cfg->rules.ips_allow), 2);
	ip_addr_v4(&a, 0x0a140506); /* 10.20.5.6 */
	assert_true(cidr_set_match(cfg->rules.ips_allow, &a, NULL));
	ip_addr_v4(&a, 0xa9fea9fe); /* 169.254.169.254 */
	assert_true(cidr_set_match(cfg->rules.ips_allow, &a, NULL));
	ip_addr_v4(&a, 0xa9fea9fd);
	assert_false(cidr_set_match(cfg->rules.ips_allow, &a, NULL));
	assert_int_equal(cidr_set_count(cfg->rules.ips_deny), 1);
	ip_addr_v4(&a, 0xcb007107); /* 203.0.113.7 */
	assert_true(cidr_set_match(cfg->rules.ips_deny, &a, NULL));

	assert_int_equal(domain_set_count(cfg->rules.allow), 2);
	assert_true(allows_name(cfg, "example.com"));
	assert_true(allows_name(cfg, "www.example.org"));
	assert_false(allows_name(cfg, "other.net")); /* the default "*" was replaced */
	assert_int_equal(domain_set_count(cfg->rules.deny), 1);
	assert_true(denies_name(cfg, "a.evil.example"));

	assert_true(port_ok(cfg, 80));
	assert_true(port_ok(cfg, 443));
	assert_true(port_ok(cfg, 8000));
	assert_true(port_ok(cfg, 8500));
	assert_true(port_ok(cfg, 8999));
	assert_false(port_ok(cfg, 7999));
	assert_false(port_ok(cfg, 9000));
	assert_false(port_ok(cfg, 22));

	assert_int_equal(cfg->head_timeout_ms, 5000);
	assert_int_equal(cfg->idle_timeout_ms, 500);
	assert_int_equal(cfg->connect_timeout_ms, 1500);
	assert_int_equal(cfg->upstream_timeout_ms, 120000);
	assert_int_equal(cfg->tunnel_idle_ms, 3600000);
	assert_int_equal(cfg->dns_timeout_ms, 3000);
	assert_int_equal(cfg->max_head_bytes, 1024);
	assert_int_equal(cfg->max_connections, 42);
	config_free(cfg);
}

static void test_default_config(void **state)
{
	struct config *cfg = config_default();
	assert_non_null(cfg);
	assert_defaults(cfg);
	config_free(cfg);
}

static void test_empty_text_is_default(void **state)
{
	static const char *const texts[] = {
	    "", "\n", "# only a comment\n", "---\n", "--- ~\n", "~\n", "null\n", "---\n...\n"};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct config *cfg = parse_ok(texts[i]);
		assert_defaults(cfg);
		config_free(cfg);
	}
	struct config *cfg = config_parse(NULL, 0, &errs);
	assert_non_null(cfg);
	assert_defaults(cfg);
	config_free(cfg);
}

static void test_empty_sections_are_defaults(void **state)
{
	struct config *cfg = parse_ok("listen:\nresolver:\nips:\ntimeouts:\nlimits: {}\n");
	assert_defaults(cfg);
	config_free(cfg);
}

static void test_absent_keys_keep_defaults(void **state)
{
	struct config *cfg = parse_ok("deny: [\"*.evil.example\"]\ntimeouts:\n  dns: 2s\n");
	assert_int_equal(cfg->dns_timeout_ms, 2000);
	assert_int_equal(cfg->connect_timeout_ms, 10000);
	assert_true(allows_name(cfg, "anything.example"));
	assert_true(port_ok(cfg, 443));
	assert_false(port_ok(cfg, 8080));
	assert_int_equal(cfg->n_listen_http, 1);
	assert_int_equal(cfg->listen_http[0].port, 3128);
	config_free(cfg);
}

static void test_text_needs_no_nul(void **state)
{
	static const char text[] = "ports: [8080]XXXX";
	struct config *cfg = config_parse(text, strlen("ports: [8080]"), &errs);
	assert_non_null(cfg);
	assert_true(port_ok(cfg, 8080));
	config_free(cfg);
}

static void test_errors_may_be_null(void **state)
{
	assert_null(config_parse("bogus: 1\n", 9, NULL));
	struct config *cfg = config_parse("", 0, NULL);
	assert_non_null(cfg);
	config_free(cfg);
}

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

/* ---- durations -------------------------------------------------------------------------- */

static unsigned connect_ms(const char *value)
{
	char yaml[128];
	snprintf(yaml, sizeof(yaml), "timeouts:\n  connect: %s\n", value);
	struct config *cfg = parse_ok(yaml);
	unsigned ms = cfg->connect_timeout_ms;
	config_free(cfg);
	return ms;
}

static void test_durations(void **state)
{
	assert_int_equal(connect_ms("10"), 10000);
	assert_int_equal(connect_ms("0.5"), 500);
	assert_int_equal(connect_ms("0.001"), 1);
	assert_int_equal(connect_ms("1.25s"), 1250);
	assert_int_equal(connect_ms("500ms"), 500);
	assert_int_equal(connect_ms("30s"), 30000);
	assert_int_equal(connect_ms("5m"), 300000);
	assert_int_equal(connect_ms("0.5m"), 30000);
	assert_int_equal(connect_ms("24h"), 86400000);
	assert_int_equal(connect_ms("\"30s\""), 30000);
	assert_int_equal(connect_ms("1.000000000000"), 1000);
}

static void duration_refused(const char *value, const char *detail)
{
	char yaml[128], message[256];
	snprintf(yaml, sizeof(yaml), "timeouts:\n  connect: %s\n", value);
	snprintf(message, sizeof(message), "timeouts.connect: \"%s\" is not a valid duration: %s",
		 value, detail);
	refused(yaml, 2, 12, message);
}

static void test_duration_zero_refused(void **state)
{
	duration_refused("0", "must be greater than 0");
	duration_refused("0ms", "must be greater than 0");
}

static void test_duration_negative_refused(void **state)
{
	duration_refused("-1", "must be greater than 0");
}

static void test_duration_over_a_day_refused(void **state)
{
	duration_refused("25h", "too long (at most 24h)");
	duration_refused("86400.001", "too long (at most 24h)");
	duration_refused("99999999999999999999", "too long (at most 24h)");
	duration_refused("999999999h", "too long (at most 24h)");
}

static void test_duration_trailing_garbage_refused(void **state)
{
	duration_refused("12abc", "unknown unit (use ms, s, m or h)");
	duration_refused("10 s", "unknown unit (use ms, s, m or h)");
	duration_refused("1e3", "unknown unit (use ms, s, m or h)");
}

static void test_duration_malformed_number_refused(void **state)
{
	duration_refused(".5", "not a duration (write e.g. 10s, 500ms, 5m or 0.5)");
	duration_refused("5.", "not a duration (write e.g. 10s, 500ms, 5m or 0.5)");
	duration_refused("s", "not a duration (write e.g. 10s, 500ms, 5m or 0.5)");
}

static void test_duration_below_a_millisecond_refused(void **state)
{
	duration_refused("1.5ms", "not a whole number of milliseconds");
	duration_refused("0.0005", "not a whole number of milliseconds");
}

static void test_duration_wrong_type_refused(void **state)
{
	refused("timeouts:\n  dns: [5]\n", 2, 8,
		"timeouts.dns: expected a duration like 10s, 500ms, 5m or 0.5, got a list");
	refused("timeouts:\n  dns: yes\n", 2, 8,
		"timeouts.dns: expected a duration like 10s, 500ms, 5m or 0.5, got the boolean yes "
		"(write \"yes\" to mean the text)");
	refused("timeouts:\n  dns:\n", 2, 7,
		"timeouts.dns: expected a duration like 10s, 500ms, 5m or 0.5, got an empty value");
}

/* ---- limits ----------------------------------------------------------------------------- */

static void test_limits_bounds(void **state)
{
	struct config *cfg =
	    parse_ok("limits:\n  max_request_head: 1048576\n  max_connections: 1\n");
	assert_int_equal(cfg->max_head_bytes, 1048576);
	assert_int_equal(cfg->max_connections, 1);
	config_free(cfg);
	refused("limits:\n  max_request_head: 1023\n", 2, 21,
		"limits.max_request_head: \"1023\" is out of range (1024-1048576)");
	refused("limits:\n  max_request_head: 1048577\n", 2, 21,
		"limits.max_request_head: \"1048577\" is out of range (1024-1048576)");
	refused("limits:\n  max_connections: 0\n", 2, 20,
		"limits.max_connections: \"0\" is out of range (1-1000000)");
}

static void test_limits_strict_numbers(void **state)
{
	refused("limits:\n  max_connections: 12abc\n", 2, 20,
		"limits.max_connections: \"12abc\" is not valid: not a whole number");
	refused("limits:\n  max_connections: 1.5\n", 2, 20,
		"limits.max_connections: \"1.5\" is not valid: not a whole number");
	refused("limits:\n  max_connections: 99999999999999999999999\n", 2, 20,
		"limits.max_connections: \"99999999999999999999999\" is not valid: too large");
	refused("limits:\n  max_connections: {a: 1}\n", 2, 20,
		"limits.max_connections: expected a whole number, got a mapping");
}

static void test_workers(void **state)
{
	struct config *cfg = parse_ok("");
	assert_int_equal(cfg->workers, 0); /* one per core */
	config_free(cfg);
	cfg = parse_ok("workers: 4\n");
	assert_int_equal(cfg->workers, 4);
	config_free(cfg);
	refused("workers: 65\n", 1, 10, "workers: \"65\" is out of range (0-64)");
	refused("workers: two\n", 1, 10, "workers: \"two\" is not valid: not a whole number");
}

/* ---- keys -------------------------------------------------------------------------------- */

static void test_unknown_top_key(void **state)
{
	refused(
	    "listn:\n  http: \"127.0.0.1:3128\"\n", 1, 1,
	    "unknown key \"listn\" (valid: listen, resolver, ips, allow, deny, ports, timeouts, "
	    "limits, workers)");
}

static void test_keys_are_case_sensitive(void **state)
{
	refused(
	    "Allow: []\n", 1, 1,
	    "unknown key \"Allow\" (valid: listen, resolver, ips, allow, deny, ports, timeouts, "
	    "limits, workers)");
}

static void test_unknown_nested_keys(void **state)
{
	refused("timeouts:\n  conect: 5s\n", 2, 3,
		"unknown key \"conect\" in timeouts (valid: request_head, client_idle, connect, "
		"upstream_response, tunnel_idle, dns)");
	refused("ips:\n  allowed: []\n", 2, 3,
		"unknown key \"allowed\" in ips (valid: allow, deny)");
	refused("listen:\n  https: \"127.0.0.1:3129\"\n", 2, 3,
		"unknown key \"https\" in listen (valid: http)");
	refused("resolver:\n  server: []\n", 2, 3,
		"unknown key \"server\" in resolver (valid: servers)");
	refused("limits:\n  max_head: 1\n", 2, 3,
		"unknown key \"max_head\" in limits (valid: max_request_head, max_connections)");
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
	refused("timeouts: [1]\n", 1, 11,
		"timeouts: expected a mapping with keys request_head, client_idle, connect, "
		"upstream_response, tunnel_idle, dns, got a list");
	refused("ips: on\n", 1, 6, "ips: expected a mapping with keys allow, deny, got a boolean");
}

static void test_root_not_a_mapping(void **state)
{
	refused("- a\n- b\n", 1, 1,
		"the top level must be a mapping with keys listen, resolver, ips, allow, deny, "
		"ports, timeouts, limits, workers, got a list");
	refused("hello\n", 1, 1,
		"the top level must be a mapping with keys listen, resolver, ips, allow, deny, "
		"ports, timeouts, limits, workers, got a string");
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

static void test_errors_before_syntax_error_kept(void **state)
{
	assert_null(parse("ports: [0]\nallow: [\n"));
	assert_int_equal(errs.count, 2);
	assert_error(0, 1, 9, "ports[0]: \"0\" is not a valid port: port 0 is not allowed");
	assert_error_prefix(1, 3, 1, "YAML syntax error: ");
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

/* ---- formatting ------------------------------------------------------------------------------ */

static void test_error_format(void **state)
{
	struct config_error e = {.line = 3, .column = 5, .message = "ips.allow[1]: bad"};
	char out[64];
	config_error_format(&e, out, sizeof(out));
	assert_string_equal(out, "3:5: ips.allow[1]: bad");
	e.line = 0;
	e.column = 0;
	config_error_format(&e, out, sizeof(out));
	assert_string_equal(out, "ips.allow[1]: bad");
	e.line = 12;
	config_error_format(&e, out, 8);
	assert_string_equal(out, "12:0: i");
}

/* ---- examples/ ---------------------------------------------------------------------------------
 */

static struct config *parse_example(const char *name)
{
	char path[1024], *text;
	const char *slash = strrchr(__FILE__, '/');
	int dir_len = slash ? (int)(slash - __FILE__) : 1;

	snprintf(path, sizeof(path), "%.*s/../../../examples/%s", dir_len, slash ? __FILE__ : ".",
		 name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	text = malloc(65536);
	assert_non_null(text);
	size_t len = fread(text, 1, 65536, f);
	fclose(f);
	struct config *cfg = config_parse(text, len, &errs);
	free(text);
	if (!cfg)
		dump_errors();
	assert_non_null(cfg);
	return cfg;
}

static void test_example_default_is_the_default(void **state)
{
	struct config *cfg = parse_example("default.yaml");
	assert_defaults(cfg);
	config_free(cfg);
}

static void test_example_internal_service(void **state)
{
	struct config *cfg = parse_example("internal-service.yaml");
	assert_true(cidr_set_count(cfg->rules.ips_allow) >= 1);
	config_free(cfg);
}

static void test_example_allowlist(void **state)
{
	struct config *cfg = parse_example("allowlist.yaml");
	assert_false(allows_name(cfg, "anything.example"));
	assert_true(domain_set_count(cfg->rules.allow) >= 2);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_config_every_field),
	    cmocka_unit_test(test_default_config),
	    cmocka_unit_test(test_empty_text_is_default),
	    cmocka_unit_test(test_empty_sections_are_defaults),
	    cmocka_unit_test(test_absent_keys_keep_defaults),
	    cmocka_unit_test(test_text_needs_no_nul),
	    cmocka_unit_test(test_errors_may_be_null),
	    cmocka_unit_test(test_allow_list_replaces_default),
	    cmocka_unit_test(test_allow_empty_list_denies_all),
	    cmocka_unit_test(test_ports_list_replaces_default),
	    cmocka_unit_test(test_listen_single_string_replaces_default),
	    cmocka_unit_test(test_listen_wildcard_is_all_zero),
	    cmocka_unit_test(test_resolver_empty_list_uses_system),
	    cmocka_unit_test(test_resolver_ipv6_with_port),
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
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_duration_zero_refused),
	    cmocka_unit_test(test_duration_negative_refused),
	    cmocka_unit_test(test_duration_over_a_day_refused),
	    cmocka_unit_test(test_duration_trailing_garbage_refused),
	    cmocka_unit_test(test_duration_malformed_number_refused),
	    cmocka_unit_test(test_duration_below_a_millisecond_refused),
	    cmocka_unit_test(test_duration_wrong_type_refused),
	    cmocka_unit_test(test_limits_bounds),
	    cmocka_unit_test(test_limits_strict_numbers),
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
	    cmocka_unit_test(test_listen_port_required),
	    cmocka_unit_test(test_listen_port_zero),
	    cmocka_unit_test(test_listen_name_refused),
	    cmocka_unit_test(test_listen_ipv6_needs_brackets),
	    cmocka_unit_test(test_listen_duplicate),
	    cmocka_unit_test(test_listen_bracketed_without_port),
	    cmocka_unit_test(test_listen_empty_list),
	    cmocka_unit_test(test_listen_too_many),
	    cmocka_unit_test(test_resolver_port_out_of_range),
	    cmocka_unit_test(test_resolver_name_refused),
	    cmocka_unit_test(test_resolver_bare_ipv6_refused),
	    cmocka_unit_test(test_resolver_brackets_around_ipv4_refused),
	    cmocka_unit_test(test_resolver_lenient_ipv4_refused),
	    cmocka_unit_test(test_resolver_garbage_after_bracket_refused),
	    cmocka_unit_test(test_ips_host_bits_set),
	    cmocka_unit_test(test_ips_not_a_cidr),
	    cmocka_unit_test(test_domain_pattern_trailing_star_dot),
	    cmocka_unit_test(test_domain_pattern_inner_star),
	    cmocka_unit_test(test_domain_pattern_nul_byte_escaped),
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
	    cmocka_unit_test(test_errors_before_syntax_error_kept),
	    cmocka_unit_test(test_too_many_errors_counted),
	    cmocka_unit_test(test_error_format),
	    cmocka_unit_test(test_workers),
	    cmocka_unit_test(test_example_default_is_the_default),
	    cmocka_unit_test(test_example_internal_service),
	    cmocka_unit_test(test_example_allowlist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
