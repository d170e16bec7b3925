/* Tests for config/config: YAML text to a validated config, every refusal with its line:column. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
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
	assert_int_equal(cfg->max_request_headers, 100);
	assert_int_equal(cfg->max_response_head, 65536);
	assert_int_equal(cfg->max_response_headers, 100);
	assert_int_equal(cfg->max_connections, 10000);
	assert_string_equal(cfg->log_file, "");
	assert_false(cfg->log_query);
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

static void test_limits_header_counts(void **state)
{
	struct config *cfg = parse_ok("limits:\n  max_request_headers: 1000\n"
				      "  max_response_head: 1048576\n  max_response_headers: 1\n");
	assert_int_equal(cfg->max_request_headers, 1000);
	assert_int_equal(cfg->max_response_head, 1048576);
	assert_int_equal(cfg->max_response_headers, 1);
	config_free(cfg);
	refused("limits:\n  max_request_headers: 0\n", 2, 24,
		"limits.max_request_headers: \"0\" is out of range (1-1000)");
	refused("limits:\n  max_request_headers: 1001\n", 2, 24,
		"limits.max_request_headers: \"1001\" is out of range (1-1000)");
	refused("limits:\n  max_response_headers: 1001\n", 2, 25,
		"limits.max_response_headers: \"1001\" is out of range (1-1000)");
	refused("limits:\n  max_response_head: 1000\n", 2, 22,
		"limits.max_response_head: \"1000\" is out of range (1024-1048576)");
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

static void test_max_connections_per_agent(void **state)
{
	struct config *cfg = parse_ok("");
	assert_int_equal(cfg->max_connections_per_agent, 0); /* no per-agent limit */
	assert_int_equal(cfg->max_pending_dns, 1000);
	config_free(cfg);
	cfg = parse_ok("limits:\n  max_pending_dns: 0\n");
	assert_int_equal(cfg->max_pending_dns, 0);
	config_free(cfg);
	cfg = parse_ok("limits:\n  max_connections_per_agent: 50\n");
	assert_int_equal(cfg->max_connections_per_agent, 50);
	config_free(cfg);
	refused("limits:\n  max_connections_per_agent: -1\n", 2, 30,
		"limits.max_connections_per_agent: \"-1\" is not valid: not a whole number");
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
	    "limits, log, workers, user, seccomp, mode, methods, max_request_body, guidance, "
	    "agents, routes)");
}

static void test_keys_are_case_sensitive(void **state)
{
	refused(
	    "Allow: []\n", 1, 1,
	    "unknown key \"Allow\" (valid: listen, resolver, ips, allow, deny, ports, timeouts, "
	    "limits, log, workers, user, seccomp, mode, methods, max_request_body, guidance, "
	    "agents, routes)");
}

static void test_unknown_nested_keys(void **state)
{
	refused("timeouts:\n  conect: 5s\n", 2, 3,
		"unknown key \"conect\" in timeouts (valid: request_head, client_idle, connect, "
		"upstream_response, tunnel_idle, dns, drain, reload_revoke)");
	refused("ips:\n  allowed: []\n", 2, 3,
		"unknown key \"allowed\" in ips (valid: allow, deny)");
	refused("listen:\n  https: \"127.0.0.1:3129\"\n", 2, 3,
		"unknown key \"https\" in listen (valid: http, admin)");
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
	refused("timeouts: [1]\n", 1, 11,
		"timeouts: expected a mapping with keys request_head, client_idle, connect, "
		"upstream_response, tunnel_idle, dns, drain, reload_revoke, got a list");
	refused("ips: on\n", 1, 6, "ips: expected a mapping with keys allow, deny, got a boolean");
}

static void test_root_not_a_mapping(void **state)
{
	refused("- a\n- b\n", 1, 1,
		"the top level must be a mapping with keys listen, resolver, ips, allow, deny, "
		"ports, timeouts, limits, log, workers, user, seccomp, mode, methods, "
		"max_request_body, guidance, agents, routes, got a list");
	refused("hello\n", 1, 1,
		"the top level must be a mapping with keys listen, resolver, ips, allow, deny, "
		"ports, timeouts, limits, log, workers, user, seccomp, mode, methods, "
		"max_request_body, guidance, agents, routes, got a string");
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

/* ---- agents: valid ----------------------------------------------------------------------- */

/* SHA-256("test") */
#define TEST_SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
static const uint8_t test_sha[32] = {
    0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a, 0xd0, 0x15,
    0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08};

static bool agent_port_ok(const struct agent *a, unsigned port)
{
	return (a->ports[port / 8] >> (port % 8)) & 1;
}

static void assert_inherits_everything(const struct agent *a)
{
	assert_false(a->has_mode);
	assert_int_equal(a->mode, AGENT_ENFORCE);
	assert_null(a->allow);
	assert_null(a->deny);
	assert_false(a->has_ports);
	assert_false(a->has_methods);
	assert_int_equal(a->n_methods, 0);
	assert_false(a->has_max_request_body);
	assert_false(a->has_guidance);
	assert_string_equal(a->guidance, "");
}

static void assert_implicit_default_agent_only(const struct config *cfg)
{
	assert_int_equal(cfg->n_agents, 1);
	assert_int_equal(cfg->default_agent, 0);
	assert_string_equal(cfg->agents[0].name, "default");
	assert_int_equal(cfg->agents[0].line, 0);
	assert_null(cfg->agents[0].sources);
	assert_int_equal(cfg->agents[0].token_kind, AGENT_TOKEN_NONE);
	assert_inherits_everything(&cfg->agents[0]);
}

static void assert_implicit_default(const struct config *cfg)
{
	assert_implicit_default_agent_only(cfg);
	assert_inherits_everything(&cfg->base);
	assert_int_equal(cfg->n_routes, 0);
}

static void test_no_agents_is_one_implicit_default(void **state)
{
	struct config *cfg = parse_ok("allow: [\"example.com\"]\n");
	assert_implicit_default(cfg);
	config_free(cfg);
	cfg = config_default();
	assert_implicit_default(cfg);
	config_free(cfg);
}

static const char agents_yaml[] = "agents:\n"
				  "  - name: research\n"
				  "    match:\n"
				  "      source: [\"10.1.0.0/24\", \"fd00:1::/64\"]\n"
				  "      token_sha256: \"" TEST_SHA "\"\n"
				  "    mode: report\n"
				  "    allow: [\"*.wikipedia.org\", \"api.example.com:8443\"]\n"
				  "    deny: []\n"
				  "    ports: [80, \"8000-8001\"]\n"
				  "    methods: [GET, head]\n"
				  "    max_request_body: 512KiB\n"
				  "    guidance: \"Ask #platform-help.\"\n"
				  "  - name: coder\n"
				  "    match: {token_file: /run/secrets/coder-token}\n"
				  "  - name: ci.runner_2-b\n"
				  "    match: {token_env: CI_TOKEN}\n"
				  "    mode: open\n"
				  "  - name: default\n"
				  "    mode: enforce\n";

static void test_agents_every_field(void **state)
{
	struct config *cfg = parse_ok(agents_yaml);
	struct ip_addr ip;

	assert_int_equal(cfg->n_agents, 4);
	assert_int_equal(cfg->default_agent, 3);

	const struct agent *a = &cfg->agents[0];
	assert_string_equal(a->name, "research");
	assert_int_equal(a->line, 2);
	assert_non_null(a->sources);
	assert_int_equal(cidr_set_count(a->sources), 2);
	ip_addr_v4(&ip, 0x0a010005); /* 10.1.0.5 */
	assert_true(cidr_set_match(a->sources, &ip, NULL));
	ip_addr_v4(&ip, 0x0a010105); /* 10.1.1.5 */
	assert_false(cidr_set_match(a->sources, &ip, NULL));
	assert_int_equal(a->token_kind, AGENT_TOKEN_SHA256);
	assert_true(a->token_ready);
	assert_memory_equal(a->token_sha256, test_sha, 32);
	assert_true(a->has_mode);
	assert_int_equal(a->mode, AGENT_REPORT);
	assert_non_null(a->allow);
	assert_non_null(domain_set_match(a->allow, slice_from_cstr("en.wikipedia.org")));
	assert_null(domain_set_match(a->allow, slice_from_cstr("api.example.com")));
	assert_non_null(
	    domain_set_match_port(a->allow, slice_from_cstr("api.example.com"), 8443, NULL));
	assert_non_null(a->deny);
	assert_int_equal(domain_set_count(a->deny), 0);
	assert_true(a->has_ports);
	for (unsigned p = 0; p <= 65535; p++)
		assert_int_equal(agent_port_ok(a, p), p == 80 || p == 8000 || p == 8001);
	assert_true(a->has_methods);
	assert_int_equal(a->n_methods, 2);
	assert_string_equal(a->methods[0], "GET");
	assert_string_equal(a->methods[1], "HEAD");
	assert_true(a->has_max_request_body);
	assert_int_equal(a->max_request_body, 512 * 1024);
	assert_true(a->has_guidance);
	assert_string_equal(a->guidance, "Ask #platform-help.");

	a = &cfg->agents[1];
	assert_string_equal(a->name, "coder");
	assert_int_equal(a->line, 13);
	assert_null(a->sources);
	assert_int_equal(a->token_kind, AGENT_TOKEN_FILE);
	assert_false(a->token_ready);
	assert_string_equal(a->token_source, "/run/secrets/coder-token");
	assert_inherits_everything(a);

	a = &cfg->agents[2];
	assert_string_equal(a->name, "ci.runner_2-b");
	assert_int_equal(a->token_kind, AGENT_TOKEN_ENV);
	assert_false(a->token_ready);
	assert_string_equal(a->token_source, "CI_TOKEN");
	assert_true(a->has_mode);
	assert_int_equal(a->mode, AGENT_OPEN);

	a = &cfg->agents[3];
	assert_string_equal(a->name, "default");
	assert_null(a->sources);
	assert_int_equal(a->token_kind, AGENT_TOKEN_NONE);
	assert_true(a->has_mode);
	assert_int_equal(a->mode, AGENT_ENFORCE);

	/* the top level is untouched: agents' rules are their own */
	assert_inherits_everything(&cfg->base);
	assert_true(allows_name(cfg, "anything.example"));
	config_free(cfg);
}

static void test_agents_without_default(void **state)
{
	struct config *cfg = parse_ok("agents:\n  - name: a\n    match: {source: [10.0.0.1]}\n");
	assert_int_equal(cfg->n_agents, 1);
	assert_int_equal(cfg->default_agent, -1);
	assert_inherits_everything(&cfg->agents[0]);
	config_free(cfg);
}

static void test_agent_default_alone(void **state)
{
	struct config *cfg = parse_ok("agents: [{name: default, allow: []}]\n");
	assert_int_equal(cfg->n_agents, 1);
	assert_int_equal(cfg->default_agent, 0);
	assert_int_equal(cfg->agents[0].line, 1);
	/* an empty list is a rule of its own (deny every name), not "inherit" */
	assert_non_null(cfg->agents[0].allow);
	assert_int_equal(domain_set_count(cfg->agents[0].allow), 0);
	config_free(cfg);
}

static void test_agent_source_and_token_together(void **state)
{
	struct config *cfg = parse_ok("agents:\n"
				      "  - name: a\n"
				      "    match:\n"
				      "      source: [\"10.0.0.0/8\"]\n"
				      "      token_env: A_TOKEN\n");
	assert_non_null(cfg->agents[0].sources);
	assert_int_equal(cfg->agents[0].token_kind, AGENT_TOKEN_ENV);
	config_free(cfg);
}

static void test_token_sha256_upper_case(void **state)
{
	char yaml[256], upper[65];
	for (int i = 0; i < 64; i++)
		upper[i] = (char)((TEST_SHA[i] >= 'a') ? TEST_SHA[i] - 32 : TEST_SHA[i]);
	upper[64] = '\0';
	snprintf(yaml, sizeof(yaml), "agents: [{name: a, match: {token_sha256: %s}}]\n", upper);
	struct config *cfg = parse_ok(yaml);
	assert_memory_equal(cfg->agents[0].token_sha256, test_sha, 32);
	assert_true(cfg->agents[0].token_ready);
	config_free(cfg);
}

static void test_top_level_base_fields(void **state)
{
	struct config *cfg = parse_ok("mode: report\n"
				      "methods: [GET, HEAD, POST, get]\n"
				      "max_request_body: 10485760\n"
				      "guidance: |\n"
				      "  Ask #platform-help for access.\n"
				      "  Say which URL you need.\n");
	assert_true(cfg->base.has_mode);
	assert_int_equal(cfg->base.mode, AGENT_REPORT);
	assert_true(cfg->base.has_methods);
	assert_int_equal(cfg->base.n_methods, 3); /* get is GET, listed twice */
	assert_string_equal(cfg->base.methods[2], "POST");
	assert_true(cfg->base.has_max_request_body);
	assert_int_equal(cfg->base.max_request_body, 10485760);
	assert_true(cfg->base.has_guidance);
	assert_string_equal(cfg->base.guidance,
			    "Ask #platform-help for access.\nSay which URL you need.\n");
	/* the implicit agent inherits them rather than copying them */
	assert_implicit_default_agent_only(cfg);
	config_free(cfg);
}

static uint64_t body_limit(const char *value)
{
	char yaml[128];
	snprintf(yaml, sizeof(yaml), "max_request_body: %s\n", value);
	struct config *cfg = parse_ok(yaml);
	uint64_t v = cfg->base.max_request_body;
	assert_true(cfg->base.has_max_request_body);
	config_free(cfg);
	return v;
}

static void test_max_request_body_units(void **state)
{
	assert_int_equal(body_limit("0"), 0);
	assert_int_equal(body_limit("1"), 1);
	assert_int_equal(body_limit("\"1048576\""), 1048576);
	assert_int_equal(body_limit("512KiB"), 512 * 1024);
	assert_int_equal(body_limit("10MiB"), 10 * 1024 * 1024);
	assert_int_equal(body_limit("1GiB"), 1024 * 1024 * 1024);
	assert_int_equal(body_limit("0MiB"), 0);
}

static void test_guidance_empty_overrides(void **state)
{
	struct config *cfg = parse_ok("guidance: \"\"\n");
	assert_true(cfg->base.has_guidance);
	assert_string_equal(cfg->base.guidance, "");
	config_free(cfg);
}

static char *guidance_yaml(size_t n)
{
	char *yaml = malloc(n + 32);
	assert_non_null(yaml);
	strcpy(yaml, "guidance: \"");
	memset(yaml + 11, 'g', n);
	strcpy(yaml + 11 + n, "\"\n");
	return yaml;
}

static void test_guidance_length(void **state)
{
	char *yaml = guidance_yaml(AGENT_GUIDANCE_MAX - 1);
	struct config *cfg = parse_ok(yaml);
	assert_int_equal(strlen(cfg->base.guidance), AGENT_GUIDANCE_MAX - 1);
	config_free(cfg);
	free(yaml);
	yaml = guidance_yaml(AGENT_GUIDANCE_MAX);
	refused(yaml, 1, 11, "guidance: too long (1024 bytes; at most 1023)");
	free(yaml);
}

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

/* ---- agents: refused --------------------------------------------------------------------- */

static void test_mode_unknown_refused(void **state)
{
	refused("mode: strict\n", 1, 7,
		"mode: \"strict\" is not a mode (valid: enforce, report, open)");
	refused("mode: Report\n", 1, 7,
		"mode: \"Report\" is not a mode (valid: enforce, report, open)");
}

static void test_mode_wrong_type_refused(void **state)
{
	refused("mode: [report]\n", 1, 7,
		"mode: expected a mode (enforce, report or open), got a list");
	refused("mode:\n", 1, 6,
		"mode: expected a mode (enforce, report or open), got an empty value");
}

static void test_methods_connect_refused(void **state)
{
	refused("methods: [GET, connect]\n", 1, 16,
		"methods[1]: CONNECT cannot be listed: methods bound plain HTTP requests only; "
		"tunnels are governed by allow, deny and ports");
}

static void test_methods_not_a_token_refused(void **state)
{
	refused("methods: [\"GET /\"]\n", 1, 11,
		"methods[0]: \"GET /\" is not an HTTP method: a method is one word of letters, "
		"digits or !#$%&'*+-.^_`|~");
}

static void test_methods_too_long_refused(void **state)
{
	refused("methods: [ABCDEFGHIJKLMNOPQRSTUVWX]\n", 1, 11,
		"methods[0]: \"ABCDEFGHIJKLMNOPQRSTUVWX\" is not an HTTP method: too long (at most "
		"23 characters)");
}

static void test_methods_empty_list_refused(void **state)
{
	refused("methods: []\n", 1, 10,
		"methods: the list is empty, so no plain HTTP request would be allowed (leave "
		"methods out to allow every method)");
}

static void test_methods_too_many_refused(void **state)
{
	refused("methods: [M1, M2, M3, M4, M5, M6, M7, M8, M9, M10, M11, M12, M13, M14, M15, M16, "
		"M17]\n",
		1, 82, "methods[16]: too many methods (at most 16)");
}

static void body_refused(const char *value, const char *detail)
{
	char yaml[128], message[256];
	snprintf(yaml, sizeof(yaml), "max_request_body: %s\n", value);
	snprintf(message, sizeof(message), "max_request_body: \"%s\" is not a valid size: %s",
		 value, detail);
	refused(yaml, 1, 19, message);
}

static void test_max_request_body_refused(void **state)
{
	body_refused("10MB", "unknown unit (use KiB, MiB or GiB, or a number of bytes)");
	body_refused("10kib", "unknown unit (use KiB, MiB or GiB, or a number of bytes)");
	body_refused("1.5MiB", "unknown unit (use KiB, MiB or GiB, or a number of bytes)");
	body_refused("-1", "not a size (write a number of bytes, or e.g. 512KiB, 10MiB, 1GiB)");
	body_refused("MiB", "not a size (write a number of bytes, or e.g. 512KiB, 10MiB, 1GiB)");
	body_refused("010", "leading zeros are not allowed");
	body_refused("17179869184GiB", "too large");
	body_refused("99999999999999999999", "too large");
	refused("max_request_body: [1]\n", 1, 19,
		"max_request_body: expected a size in bytes like 1048576 or 10MiB, got a list");
}

static void test_guidance_not_printable_refused(void **state)
{
	refused("guidance: \"tab\\there\"\n", 1, 11,
		"guidance: byte 4 (0x09) is not printable ASCII; write plain text (newlines are "
		"fine)");
	refused("guidance: \"caf\xc3\xa9\"\n", 1, 11,
		"guidance: byte 4 (0xc3) is not printable ASCII; write plain text (newlines are "
		"fine)");
	refused("guidance: \"a\\rb\"\n", 1, 11,
		"guidance: byte 2 (0x0d) is not printable ASCII; write plain text (newlines are "
		"fine)");
}

static void test_agents_empty_list_refused(void **state)
{
	refused("agents: []\n", 1, 9,
		"agents: the list is empty, so every client would be refused (leave agents out for "
		"one implicit agent \"default\")");
}

static void test_agents_not_a_list_refused(void **state)
{
	refused("agents: {name: a}\n", 1, 9, "agents: expected a list of agents, got a mapping");
	refused("agents:\n", 1, 8, "agents: expected a list of agents, got an empty value");
}

static void test_agent_item_not_a_mapping_refused(void **state)
{
	refused("agents: [research]\n", 1, 10,
		"agents[0]: expected an agent (a mapping with a name), got a string");
}

static void test_agent_name_required(void **state)
{
	refused("agents:\n  - mode: open\n", 2, 5, "agents[0]: name is required");
}

static void test_agent_name_invalid_refused(void **state)
{
	refused(
	    "agents:\n  - name: \"re search\"\n", 2, 11,
	    "agents[0].name: \"re search\" is not a valid agent name (1-64 letters, digits, '.', "
	    "'_' or '-')");
	refused("agents:\n  - name: \"a:b\"\n", 2, 11,
		"agents[0].name: \"a:b\" is not a valid agent name (1-64 letters, digits, '.', '_' "
		"or '-')");
	refused(
	    "agents:\n  - name: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    2, 11,
	    "agents[0].name: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... is not a valid agent "
	    "name (1-64 letters, digits, '.', '_' or '-')");
	refused(
	    "agents:\n  - name: yes\n", 2, 11,
	    "agents[0].name: expected an agent name, got the boolean yes (write \"yes\" to mean "
	    "the text)");
}

static void test_agent_name_duplicate_refused(void **state)
{
	refused("agents:\n"
		"  - name: a\n"
		"    match: {source: [10.0.0.1]}\n"
		"  - name: a\n"
		"    match: {source: [10.0.0.2]}\n",
		4, 11, "agents[1].name: an agent named \"a\" is already defined (at 2:11)");
}

static void test_agent_needs_match_refused(void **state)
{
	refused(
	    "agents:\n  - name: coder\n    mode: open\n", 2, 5,
	    "agents[0]: agent \"coder\": set match.source or a token (token_sha256, token_file or "
	    "token_env), or name it default");
	refused(
	    "agents:\n  - name: coder\n    match: {}\n", 2, 5,
	    "agents[0]: agent \"coder\": set match.source or a token (token_sha256, token_file or "
	    "token_env), or name it default");
}

static void test_default_agent_with_match_refused(void **state)
{
	refused(
	    "agents:\n  - name: default\n    match: {source: [\"10.0.0.0/8\"]}\n", 3, 12,
	    "agents[0].match: the agent \"default\" takes the clients no other agent matches, so "
	    "it has no match (remove it, or give this agent another name)");
	refused(
	    "agents:\n  - name: default\n    match: {token_env: T}\n", 3, 12,
	    "agents[0].match: the agent \"default\" takes the clients no other agent matches, so "
	    "it has no match (remove it, or give this agent another name)");
}

static void test_agent_unknown_key_refused(void **state)
{
	refused("agents:\n  - name: default\n    alow: []\n", 3, 5,
		"unknown key \"alow\" in agents[0] (valid: name, match, mode, allow, deny, ports, "
		"methods, max_request_body, guidance)");
	refused(
	    "agents:\n  - name: a\n    match: {sources: [10.0.0.1]}\n", 3, 13,
	    "unknown key \"sources\" in agents[0].match (valid: source, token_sha256, token_file, "
	    "token_env)");
}

static void test_agent_two_tokens_refused(void **state)
{
	refused(
	    "agents:\n"
	    "  - name: a\n"
	    "    match:\n"
	    "      token_env: A\n"
	    "      token_file: /a\n",
	    5, 19,
	    "agents[0].match.token_file: only one of token_sha256, token_file and token_env may "
	    "be set (token_env at 4:18)");
}

static void test_token_sha256_refused(void **state)
{
	refused("agents: [{name: a, match: {token_sha256: abc}}]\n", 1, 42,
		"agents[0].match.token_sha256: expected 64 hex digits (the SHA-256 of the token, "
		"e.g. from `printf %s TOKEN | sha256sum`), got 3 digits");
	refused("agents: [{name: a, match: {token_sha256: "
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g}}]\n",
		1, 42,
		"agents[0].match.token_sha256: expected 64 hex digits (the SHA-256 of the token, "
		"e.g. from `printf %s TOKEN | sha256sum`), got 'g' at position 64");
}

static void test_token_file_relative_refused(void **state)
{
	refused("agents: [{name: a, match: {token_file: secrets/a}}]\n", 1, 40,
		"agents[0].match.token_file: \"secrets/a\" is not a valid file path: must be an "
		"absolute path (starting with '/')");
}

static void test_token_env_invalid_refused(void **state)
{
	refused(
	    "agents: [{name: a, match: {token_env: 1TOKEN}}]\n", 1, 39,
	    "agents[0].match.token_env: \"1TOKEN\" is not an environment variable name (letters, "
	    "digits and '_', not starting with a digit)");
	refused(
	    "agents: [{name: a, match: {token_env: A-TOKEN}}]\n", 1, 39,
	    "agents[0].match.token_env: \"A-TOKEN\" is not an environment variable name (letters, "
	    "digits and '_', not starting with a digit)");
}

static void test_agent_source_refused(void **state)
{
	refused("agents: [{name: a, match: {source: []}}]\n", 1, 36,
		"agents[0].match.source: the list is empty; give the agent's CIDRs or leave source "
		"out");
	refused_prefix("agents: [{name: a, match: {source: [\"10.0.0.1/8\"]}}]\n", 1, 37,
		       "agents[0].match.source[0]: \"10.0.0.1/8\" is not a valid CIDR: ");
}

static void test_agent_rules_refused(void **state)
{
	refused(
	    "agents: [{name: default, ports: []}]\n", 1, 33,
	    "agents[0].ports: the list is empty, so no port would be allowed (write [\"*\"] for "
	    "any port)");
	refused("agents: [{name: default, ports: [0]}]\n", 1, 34,
		"agents[0].ports[0]: \"0\" is not a valid port: port 0 is not allowed");
	refused_prefix("agents: [{name: default, allow: [\"a.*.com\"]}]\n", 1, 34,
		       "agents[0].allow[0]: \"a.*.com\" is not a valid domain pattern: ");
	refused("agents: [{name: default, mode: on}]\n", 1, 32,
		"agents[0].mode: expected a mode (enforce, report or open), got the boolean on "
		"(write \"on\" to mean the text)");
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

static void test_too_many_agents_refused(void **state)
{
	size_t size = (CONFIG_MAX_AGENTS + 2) * 48 + 64;
	char *yaml = malloc(size);
	size_t o = 0;
	assert_non_null(yaml);
	o += (size_t)snprintf(yaml + o, size - o, "agents:\n");
	for (int i = 0; i <= CONFIG_MAX_AGENTS; i++)
		o += (size_t)snprintf(yaml + o, size - o, "- {name: a%d, match: {token_env: T}}\n",
				      i);
	refused(yaml, CONFIG_MAX_AGENTS + 2, 3, "agents[4096]: too many agents (at most 4096)");
	free(yaml);
}

/* ---- routes: valid ----------------------------------------------------------------------- */

static const char routes_yaml[] = "routes:\n"
				  "  - host: Search.Internal.\n"
				  "    upstream: \"http://searxng:8080\"\n"
				  "    agents: [research, research, default]\n"
				  "    rewrite: {from: \"/api/\", to: \"/\"}\n"
				  "    headers:\n"
				  "      set:\n"
				  "        Authorization: {env: SEARX_TOKEN}\n"
				  "        X-Forwarded-By: sluice\n"
				  "        X-Api-Key: {file: /run/secrets/key}\n"
				  "        X-Count: 5\n"
				  "      remove: [Cookie, X-Debug, cookie]\n"
				  "  - host: wiki.internal\n"
				  "    upstream: \"https://[fd00::5]:8443/wiki/v1/\"\n"
				  "    ca_file: /etc/ssl/internal-ca.pem\n"
				  "agents:\n"
				  "  - name: research\n"
				  "    match: {source: [\"10.1.0.0/24\"]}\n"
				  "  - name: default\n";

static void test_routes_every_field(void **state)
{
	struct config *cfg = parse_ok(routes_yaml);
	assert_int_equal(cfg->n_routes, 2);

	const struct route *rt = &cfg->routes[0];
	assert_string_equal(rt->host, "search.internal");
	assert_int_equal(rt->line, 2);
	assert_false(rt->tls);
	assert_string_equal(rt->upstream_host, "searxng");
	assert_int_equal(rt->upstream_port, 8080);
	assert_string_equal(rt->upstream_base, "");
	assert_string_equal(rt->rewrite_from, "/api/");
	assert_string_equal(rt->rewrite_to, "/");
	assert_int_equal(rt->n_agents, 2);
	assert_string_equal(rt->agents[0], "research");
	assert_string_equal(rt->agents[1], "default");
	assert_int_equal(rt->n_set_headers, 4);
	assert_string_equal(rt->set_headers[0].name, "Authorization");
	assert_int_equal(rt->set_headers[0].kind, ROUTE_VALUE_ENV);
	assert_string_equal(rt->set_headers[0].source, "SEARX_TOKEN");
	assert_false(rt->set_headers[0].ready);
	assert_string_equal(rt->set_headers[1].name, "X-Forwarded-By");
	assert_int_equal(rt->set_headers[1].kind, ROUTE_VALUE_LITERAL);
	assert_string_equal(rt->set_headers[1].source, "sluice");
	assert_string_equal(rt->set_headers[1].value, "sluice");
	assert_true(rt->set_headers[1].ready);
	assert_int_equal(rt->set_headers[2].kind, ROUTE_VALUE_FILE);
	assert_string_equal(rt->set_headers[2].source, "/run/secrets/key");
	assert_false(rt->set_headers[2].ready);
	assert_string_equal(rt->set_headers[3].value, "5");
	assert_int_equal(rt->n_remove_headers, 2);
	assert_string_equal(rt->remove_headers[0], "Cookie");
	assert_string_equal(rt->remove_headers[1], "X-Debug");
	assert_string_equal(rt->ca_file, "");

	rt = &cfg->routes[1];
	assert_string_equal(rt->host, "wiki.internal");
	assert_true(rt->tls);
	assert_string_equal(rt->upstream_host, "fd00::5");
	assert_int_equal(rt->upstream_port, 8443);
	assert_string_equal(rt->upstream_base, "/wiki/v1");
	assert_string_equal(rt->rewrite_from, "");
	assert_int_equal(rt->n_agents, 0);
	assert_int_equal(rt->n_set_headers, 0);
	assert_string_equal(rt->ca_file, "/etc/ssl/internal-ca.pem");
	config_free(cfg);
}

static void assert_upstream(const char *url, bool tls, const char *host, unsigned port,
			    const char *base)
{
	char yaml[256];
	snprintf(yaml, sizeof(yaml), "routes: [{host: r.internal, upstream: \"%s\"}]\n", url);
	struct config *cfg = parse_ok(yaml);
	assert_int_equal(cfg->routes[0].tls, tls);
	assert_string_equal(cfg->routes[0].upstream_host, host);
	assert_int_equal(cfg->routes[0].upstream_port, port);
	assert_string_equal(cfg->routes[0].upstream_base, base);
	config_free(cfg);
}

static void test_route_upstream_forms(void **state)
{
	assert_upstream("http://searxng", false, "searxng", 80, "");
	assert_upstream("https://searxng", true, "searxng", 443, "");
	assert_upstream("HTTP://SearXNG.Example:8080/", false, "searxng.example", 8080, "");
	assert_upstream("http://10.0.0.5:8080/searx", false, "10.0.0.5", 8080, "/searx");
	assert_upstream("https://[::1]", true, "::1", 443, "");
	assert_upstream("https://[fd00::1]:9443/a/b/", true, "fd00::1", 9443, "/a/b");
	assert_upstream("http://h/a%20b/~x", false, "h", 80, "/a%20b/~x");
}

/* The upstream host is parsed once, at load, into what a request connects to: a name to resolve
 * or an address, and the port. */
static void assert_upstream_parsed(const char *url, enum host_kind kind, const char *name,
				   unsigned port)
{
	char yaml[256], text[IP_ADDR_TEXT_MAX];
	snprintf(yaml, sizeof(yaml), "routes: [{host: r.internal, upstream: \"%s\"}]\n", url);
	struct config *cfg = parse_ok(yaml);
	const struct authority *up = &cfg->routes[0].upstream;
	assert_int_equal(up->kind, kind);
	assert_string_equal(up->name, name);
	assert_int_equal(up->name_len, strlen(name));
	assert_int_equal(up->port, port);
	if (kind != HOST_NAME) {
		ip_addr_format(&up->ip, text);
		assert_string_equal(text, name);
	}
	assert_string_equal(up->name, cfg->routes[0].upstream_host);
	assert_int_equal(up->port, cfg->routes[0].upstream_port);
	config_free(cfg);
}

static void test_route_upstream_parsed_once(void **state)
{
	assert_upstream_parsed("http://SearXNG.Example.:8080/x", HOST_NAME, "searxng.example",
			       8080);
	assert_upstream_parsed("https://searxng", HOST_NAME, "searxng", 443);
	assert_upstream_parsed("http://10.0.0.5", HOST_IPV4, "10.0.0.5", 80);
	/* An IPv6 upstream: its text ("fd00::5") is not an authority any more, so it must not
	 * have to be parsed again. */
	assert_upstream_parsed("https://[fd00::5]:8443/wiki", HOST_IPV6, "fd00::5", 8443);
	assert_upstream_parsed("http://[::1]", HOST_IPV6, "::1", 80);
}

static void test_route_to_implicit_default(void **state)
{
	struct config *cfg =
	    parse_ok("routes: [{host: s.internal, upstream: \"http://s\", agents: [default]}]\n");
	assert_int_equal(cfg->n_routes, 1);
	assert_implicit_default_agent_only(cfg);
	config_free(cfg);
}

static void test_routes_empty_list(void **state)
{
	struct config *cfg = parse_ok("routes: []\n");
	assert_int_equal(cfg->n_routes, 0);
	config_free(cfg);
}

/* ---- routes: refused --------------------------------------------------------------------- */

/* A route with host and upstream, and fields on line 4. */
static void route_refused(const char *fields, int column, const char *message)
{
	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "routes:\n  - host: r.internal\n    upstream: \"http://h\"\n    %s\n", fields);
	refused(yaml, 4, column, message);
}

static void upstream_refused(const char *url, const char *detail)
{
	char yaml[512], message[256];
	snprintf(yaml, sizeof(yaml), "routes:\n  - host: r.internal\n    upstream: \"%s\"\n", url);
	snprintf(message, sizeof(message),
		 "routes[0].upstream: \"%s\" is not a valid upstream URL: %s", url, detail);
	refused(yaml, 3, 15, message);
}

static void test_route_upstream_refused(void **state)
{
	upstream_refused("ftp://files", "the URL must start with http:// or https://");
	upstream_refused("searxng:8080", "the URL must start with http:// or https://");
	upstream_refused("http://user:pw@searxng",
			 "userinfo (user@) is not allowed; inject credentials with headers.set");
	upstream_refused("http://searxng/search?format=json", "a query (?...) is not allowed");
	upstream_refused("http://searxng/#top", "a fragment (#...) is not allowed");
	upstream_refused("http://", "the host is missing");
	upstream_refused("https:///path", "the host is missing");
	upstream_refused("http://0177.0.0.1",
			 "write an IPv4 address as a dotted quad without leading zeros");
	upstream_refused("http://h/a/../b",
			 "dot segments (\".\", \"..\") are not allowed in the path");
	upstream_refused("http://h/a//b", "empty path segments (\"//\") are not allowed");
	upstream_refused("http://h/a%2", "'%' must be followed by two hex digits");
	upstream_refused("http://h/a b", "the path holds a character that must be percent-encoded "
					 "(RFC 3986 section 3.3)");
}

static void test_route_upstream_port_refused(void **state)
{
	refused_prefix("routes: [{host: r.internal, upstream: \"http://h:0\"}]\n", 1, 39,
		       "routes[0].upstream: \"http://h:0\" is not a valid upstream URL: ");
	refused_prefix("routes: [{host: r.internal, upstream: \"http://h:65536\"}]\n", 1, 39,
		       "routes[0].upstream: \"http://h:65536\" is not a valid upstream URL: ");
	refused_prefix("routes: [{host: r.internal, upstream: \"http://[::1\"}]\n", 1, 39,
		       "routes[0].upstream: \"http://[::1\" is not a valid upstream URL: ");
}

static void test_route_host_refused(void **state)
{
	refused(
	    "routes: [{host: 10.0.0.1, upstream: \"http://h\"}]\n", 1, 17,
	    "routes[0].host: \"10.0.0.1\" is an IP address; a route maps a name that agents use "
	    "(e.g. search.internal)");
	refused("routes: [{host: \"[::1]\", upstream: \"http://h\"}]\n", 1, 17,
		"routes[0].host: \"[::1]\" is an IP address; a route maps a name that agents use "
		"(e.g. search.internal)");
	refused_prefix("routes: [{host: \"s.internal:80\", upstream: \"http://h\"}]\n", 1, 17,
		       "routes[0].host: \"s.internal:80\" is not a valid host name: ");
	refused_prefix("routes: [{host: \"bad_host!\", upstream: \"http://h\"}]\n", 1, 17,
		       "routes[0].host: \"bad_host!\" is not a valid host name: ");
}

static void test_route_host_duplicate_refused(void **state)
{
	refused("routes:\n"
		"  - {host: s.internal, upstream: \"http://a\"}\n"
		"  - {host: S.Internal., upstream: \"http://b\"}\n",
		3, 12, "routes[1].host: \"S.Internal.\" is already routed (at 2:12)");
}

static void test_route_required_keys(void **state)
{
	refused("routes:\n  - upstream: \"http://h\"\n", 2, 5,
		"routes[0]: host is required (the name agents use, e.g. search.internal)");
	refused("routes:\n  - host: s.internal\n", 2, 5,
		"routes[0]: upstream is required (e.g. \"http://searxng:8080\")");
	refused("routes: [s.internal]\n", 1, 10,
		"routes[0]: expected a route (a mapping with host and upstream), got a string");
}

static void test_route_unknown_key_refused(void **state)
{
	route_refused("hosts: x", 5,
		      "unknown key \"hosts\" in routes[0] (valid: host, upstream, agents, rewrite, "
		      "headers, ca_file)");
	/* a misspelt required key: both facts are reported */
	assert_null(parse("routes:\n  - host: r.internal\n    upstrem: \"http://h\"\n"));
	assert_int_equal(errs.count, 2);
	assert_error(0, 2, 5, "routes[0]: upstream is required (e.g. \"http://searxng:8080\")");
	assert_error(
	    1, 3, 5,
	    "unknown key \"upstrem\" in routes[0] (valid: host, upstream, agents, rewrite, "
	    "headers, ca_file)");
}

static void test_route_unknown_agent_refused(void **state)
{
	refused("routes: [{host: s.internal, upstream: \"http://s\", agents: [research]}]\n", 1, 60,
		"routes[0].agents[0]: no agent is named \"research\" (without an agents list the "
		"only agent is \"default\")");
	refused("routes:\n"
		"  - host: s.internal\n"
		"    upstream: \"http://s\"\n"
		"    agents: [research, coder]\n"
		"agents:\n"
		"  - name: research\n"
		"    match: {source: [10.0.0.1]}\n",
		4, 24, "routes[0].agents[1]: no agent is named \"coder\"");
	refused("agents: [{name: a, match: {token_env: T}}]\n"
		"routes: [{host: s.internal, upstream: \"http://s\", agents: [default]}]\n",
		2, 60, "routes[0].agents[0]: no agent is named \"default\"");
	refused("routes: [{host: s.internal, upstream: \"http://s\", agents: [\"no such\"]}]\n", 1,
		60, "routes[0].agents[0]: no agent is named \"no such\"");
}

static void test_route_agents_empty_refused(void **state)
{
	route_refused("agents: []", 13,
		      "routes[0].agents: the list is empty, so no agent could use the route (leave "
		      "agents out to let every agent use it)");
}

static void test_route_ca_file_refused(void **state)
{
	refused("routes:\n"
		"  - host: s.internal\n"
		"    ca_file: /etc/ca.pem\n"
		"    upstream: \"http://s\"\n",
		3, 14, "routes[0].ca_file: only an https:// upstream uses a CA file");
	refused("routes:\n"
		"  - host: s.internal\n"
		"    upstream: \"https://s\"\n"
		"    ca_file: ca.pem\n",
		4, 14,
		"routes[0].ca_file: \"ca.pem\" is not a valid file path: must be an absolute path "
		"(starting with '/')");
}

static void test_route_rewrite_refused(void **state)
{
	route_refused("rewrite: {from: /api/}", 14, "routes[0].rewrite: set both from and to");
	route_refused(
	    "rewrite: {from: api, to: /}", 21,
	    "routes[0].rewrite.from: \"api\" is not a valid path prefix: a path must start "
	    "with '/'");
	route_refused("rewrite: {from: /a, to: \"/b?c\"}", 29,
		      "routes[0].rewrite.to: \"/b?c\" is not a valid path prefix: the path holds a "
		      "character that must be percent-encoded (RFC 3986 section 3.3)");
	route_refused("rewrite: /api/", 14,
		      "routes[0].rewrite: expected a mapping with keys from, to, got a string");
}

static void header_refused(const char *headers, int column, const char *message)
{
	char fields[256];
	snprintf(fields, sizeof(fields), "headers: %s", headers);
	route_refused(fields, column, message);
}

static void test_route_reserved_headers_refused(void **state)
{
	static const char framing[] =
	    "it frames the message (RFC 9112 section 6); sluice writes it";
	static const char hop[] =
	    "it is hop-by-hop (RFC 9110 section 7.6.1); sluice manages it on each connection";
	static const char proxy[] = "Proxy-* fields belong to the hop between the agent and sluice "
				    "and are never forwarded";
	static const struct {
		const char *name, *why;
	} cases[] = {
	    {"Host", "sluice sets Host from the upstream URL"},
	    {"host", "sluice sets Host from the upstream URL"},
	    {"Content-Length", framing},
	    {"Transfer-Encoding", framing},
	    {"Trailer", framing},
	    {"Connection", hop},
	    {"Keep-Alive", hop},
	    {"TE", hop},
	    {"Upgrade", hop},
	    {"Proxy-Authorization", proxy},
	    {"proxy-connection", proxy},
	};
	char headers[128], message[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(headers, sizeof(headers), "{set: {%s: x}}", cases[i].name);
		snprintf(message, sizeof(message),
			 "routes[0].headers.set: \"%s\" cannot be set or removed: %s",
			 cases[i].name, cases[i].why);
		header_refused(headers, 21, message);
		snprintf(headers, sizeof(headers), "{remove: [%s]}", cases[i].name);
		snprintf(message, sizeof(message),
			 "routes[0].headers.remove[0]: \"%s\" cannot be set or removed: %s",
			 cases[i].name, cases[i].why);
		header_refused(headers, 24, message);
	}
}

static void test_route_header_name_refused(void **state)
{
	header_refused("{set: {\"X Bad\": x}}", 21,
		       "routes[0].headers.set: \"X Bad\" is not a header name (letters, digits and "
		       "!#$%&'*+-.^_`|~; RFC 9110 section 5.1)");
	header_refused(
	    "{remove: [\"X:Bad\"]}", 24,
	    "routes[0].headers.remove[0]: \"X:Bad\" is not a header name (letters, digits "
	    "and !#$%&'*+-.^_`|~; RFC 9110 section 5.1)");
	header_refused("{set: {[a]: x}}", 21,
		       "routes[0].headers.set: keys must be strings, got a list");
}

static void test_route_header_twice_refused(void **state)
{
	header_refused("{set: {X-A: a, x-a: b}}", 29,
		       "routes[0].headers.set: \"x-a\" is set twice (header names are "
		       "case-insensitive)");
	header_refused(
	    "{set: {X-A: a}, remove: [x-A]}", 39,
	    "routes[0].headers.remove[0]: \"x-A\" is also in set; a header the route sets "
	    "already replaces what the agent sent");
	header_refused("{remove: [x-A], set: {X-A: a}}", 36,
		       "routes[0].headers.set: \"X-A\" is also in remove; a header the route sets "
		       "already replaces what the agent sent");
}

static void test_route_header_value_refused(void **state)
{
	header_refused("{set: {X-A: \"a\\r\\nX-B: b\"}}", 26,
		       "routes[0].headers.set.X-A: byte 2 (0x0d) of the value is not allowed "
		       "(printable ASCII, spaces and tabs only; RFC 9110 section 5.5)");
	header_refused("{set: {X-A: \"a\\nb\"}}", 26,
		       "routes[0].headers.set.X-A: byte 2 (0x0a) of the value is not allowed "
		       "(printable ASCII, spaces and tabs only; RFC 9110 section 5.5)");
	header_refused("{set: {X-A: \" a\"}}", 26,
		       "routes[0].headers.set.X-A: the value begins or ends with a space or tab, "
		       "which would be stripped (RFC 9110 section 5.5)");
	header_refused("{set: {X-A: }}", 26,
		       "routes[0].headers.set.X-A: expected a header value (text, {env: NAME} or "
		       "{file: /path}), got an empty value");
	header_refused("{set: {X-A: [a]}}", 26,
		       "routes[0].headers.set.X-A: expected a header value (text, {env: NAME} or "
		       "{file: /path}), got a list");
	header_refused("{set: {X-A: {}}}", 26,
		       "routes[0].headers.set.X-A: expected {env: NAME} or {file: /path}, got an "
		       "empty mapping");
	header_refused("{set: {X-A: {env: A, file: /a}}}", 26,
		       "routes[0].headers.set.X-A: give one of env and file, not both");
	header_refused("{set: {X-A: {env: \"A B\"}}}", 32,
		       "routes[0].headers.set.X-A.env: \"A B\" is not an environment variable name "
		       "(letters, digits and '_', not starting with a digit)");
	header_refused("{set: {X-A: {file: a}}}", 33,
		       "routes[0].headers.set.X-A.file: \"a\" is not a valid file path: must be an "
		       "absolute path (starting with '/')");
	header_refused("{set: {X-A: {vault: a}}}", 27,
		       "unknown key \"vault\" in routes[0].headers.set.X-A (valid: env, file)");
}

static void test_route_header_value_secret_not_quoted(void **state)
{
	assert_null(parse("routes: [{host: r.internal, upstream: \"http://h\", headers: {set: "
			  "{Authorization: \"Bearer s3cret\\u0001\"}}}]\n"));
	assert_int_equal(errs.count, 1);
	assert_null(strstr(errs.items[0].message, "s3cret"));
}

static void test_route_too_many_headers_refused(void **state)
{
	char headers[512] = "{set: {";
	for (int i = 0; i <= ROUTE_MAX_HEADERS; i++)
		snprintf(headers + strlen(headers), sizeof(headers) - strlen(headers),
			 "%sX-%02d: v", i ? ", " : "", i);
	strcat(headers, "}}");
	header_refused(headers, 21 + 9 * ROUTE_MAX_HEADERS,
		       "routes[0].headers.set: too many headers (at most 16)");
}

static void test_too_many_routes_refused(void **state)
{
	size_t size = (CONFIG_MAX_ROUTES + 2) * 64 + 64;
	char *yaml = malloc(size);
	size_t o = 0;
	assert_non_null(yaml);
	o += (size_t)snprintf(yaml + o, size - o, "routes:\n");
	for (int i = 0; i <= CONFIG_MAX_ROUTES; i++)
		o += (size_t)snprintf(yaml + o, size - o,
				      "- {host: r%d.internal, upstream: \"http://h\"}\n", i);
	refused(yaml, CONFIG_MAX_ROUTES + 2, 3, "routes[256]: too many routes (at most 256)");
	free(yaml);
}

/* ---- errors across the file -------------------------------------------------------------- */

static void test_late_checks_keep_document_order(void **state)
{
	assert_null(parse("routes:\n"
			  "  - host: s.internal\n"
			  "    upstream: \"http://s\"\n"
			  "    agents: [nobody]\n"
			  "agents:\n"
			  "  - name: coder\n"
			  "    ports: [0]\n"
			  "mode: strict\n"));
	assert_int_equal(errs.count, 4);
	assert_error(0, 4, 14, "routes[0].agents[0]: no agent is named \"nobody\"");
	assert_error(1, 6, 5,
		     "agents[0]: agent \"coder\": set match.source or a token (token_sha256, "
		     "token_file or token_env), or name it default");
	assert_error(2, 7, 13,
		     "agents[0].ports[0]: \"0\" is not a valid port: port 0 is not allowed");
	assert_error(3, 8, 7, "mode: \"strict\" is not a mode (valid: enforce, report, open)");
}

static void test_syntax_error_skips_agent_checks(void **state)
{
	/* the file broke off: "no agent is named" would be a guess, so only the syntax error */
	assert_null(parse("routes: [{host: s.internal, upstream: \"http://s\", agents: [a]}]\n"
			  "agents: [\n"));
	assert_int_equal(errs.count, 1);
	assert_error_prefix(0, 3, 1, "YAML syntax error: ");
}

/* ---- examples of issue 4 ----------------------------------------------------------------- */

static void test_example_agents(void **state)
{
	struct config *cfg = parse_example("agents.yaml");
	assert_int_equal(cfg->n_agents, 4);
	assert_int_equal(cfg->default_agent, 3);
	assert_true(cfg->base.has_mode && cfg->base.has_methods && cfg->base.has_guidance);
	assert_string_equal(cfg->agents[0].name, "research");
	assert_true(cfg->agents[0].token_ready);
	assert_int_equal(cfg->agents[1].token_kind, AGENT_TOKEN_ENV);
	assert_string_equal(cfg->agents[1].token_source, "SLUICE_CODER_TOKEN");
	assert_int_equal(cfg->agents[1].mode, AGENT_REPORT);
	assert_int_equal(cfg->agents[2].token_kind, AGENT_TOKEN_ENV);
	config_free(cfg);
}

static void test_example_search_route(void **state)
{
	struct config *cfg = parse_example("search-route.yaml");
	assert_int_equal(cfg->n_routes, 2);
	assert_string_equal(cfg->routes[0].host, "search.internal");
	assert_string_equal(cfg->routes[0].upstream_host, "searxng");
	assert_int_equal(cfg->routes[0].upstream_port, 8080);
	assert_int_equal(cfg->routes[0].n_agents, 1);
	assert_true(cfg->routes[1].tls);
	assert_string_equal(cfg->routes[1].upstream_base, "/v2");
	config_free(cfg);
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

/* timeouts.drain: how long SIGTERM waits for requests in flight; 0 means stop at once, which
 * no other timeout accepts. */
static unsigned drain_ms(const char *value)
{
	char yaml[128];
	snprintf(yaml, sizeof(yaml), "timeouts:\n  drain: %s\n", value);
	struct config *cfg = parse_ok(yaml);
	unsigned ms = cfg->drain_ms;
	config_free(cfg);
	return ms;
}

static void test_drain(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_int_equal(cfg->drain_ms, 30000);
	config_free(cfg);
	assert_int_equal(drain_ms("5s"), 5000);
	assert_int_equal(drain_ms("1.5"), 1500);
	assert_int_equal(drain_ms("0"), 0);
	assert_int_equal(drain_ms("0s"), 0);
	assert_int_equal(drain_ms("0ms"), 0);
	refused("timeouts:\n  drain: -1s\n", 2, 10,
		"timeouts.drain: \"-1s\" is not a valid duration: must be greater than 0");
	refused("timeouts:\n  drain: 25h\n", 2, 10,
		"timeouts.drain: \"25h\" is not a valid duration: too long (at most 24h)");
	refused_prefix("timeouts:\n  drain: false\n", 2, 10, "timeouts.drain: expected");
}

/* timeouts.reload_revoke: how long a tunnel the reloaded policy denies stays open; 0 keeps
 * tunnels under the policy they were opened with. */
static void test_reload_revoke(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_int_equal(cfg->reload_revoke_ms, 3000);
	config_free(cfg);
	cfg = parse_ok("timeouts:\n  reload_revoke: 250ms\n");
	assert_int_equal(cfg->reload_revoke_ms, 250);
	config_free(cfg);
	cfg = parse_ok("timeouts:\n  reload_revoke: 0\n");
	assert_int_equal(cfg->reload_revoke_ms, 0);
	config_free(cfg);
	refused("timeouts:\n  reload_revoke: soon\n", 2, 18,
		"timeouts.reload_revoke: \"soon\" is not a valid duration: not a duration (write "
		"e.g. 10s, 500ms, 5m or 0.5)");
}

/* ---- least privilege: user and seccomp ---- */

static void test_user_and_seccomp_defaults(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_string_equal(cfg->user, "");
	assert_true(cfg->seccomp);
	config_free(cfg);
	cfg = config_default();
	assert_string_equal(cfg->user, "");
	assert_true(cfg->seccomp);
	config_free(cfg);
}

static void test_user_name_and_uid(void **state)
{
	struct config *cfg = parse_ok("user: sluice\n");
	assert_string_equal(cfg->user, "sluice");
	config_free(cfg);
	cfg = parse_ok("user: \"_svc.sluice-1\"\n");
	assert_string_equal(cfg->user, "_svc.sluice-1");
	config_free(cfg);
	cfg = parse_ok("user: 65534\n");
	assert_string_equal(cfg->user, "65534");
	config_free(cfg);
	cfg = parse_ok("user: abcdefghijklmnopqrstuvwxyz012345\n");
	assert_string_equal(cfg->user, "abcdefghijklmnopqrstuvwxyz012345");
	config_free(cfg);
}

static void test_user_bad_characters_refused(void **state)
{
	assert_null(parse("user: \"no body\"\n"));
	assert_error(0, 1, 7,
		     "user: \"no body\" is not a valid user: a user name has only letters, digits, "
		     "'.', '_' and '-'");
}

static void test_user_leading_dash_refused(void **state)
{
	assert_null(parse("user: -x\n"));
	assert_error(0, 1, 7,
		     "user: \"-x\" is not a valid user: a user name does not start with '-'");
}

static void test_user_too_long_refused(void **state)
{
	assert_null(parse("user: abcdefghijklmnopqrstuvwxyz0123456\n"));
	assert_error(0, 1, 7,
		     "user: \"abcdefghijklmnopqrstuvwxyz0123456\" is not a valid user: a user name "
		     "has 1 to 32 characters");
}

static void test_user_uid_out_of_range_refused(void **state)
{
	assert_null(parse("user: 4294967295\n"));
	assert_error(0, 1, 7,
		     "user: \"4294967295\" is not a valid user: a numeric uid is below 4294967295");
	assert_null(parse("user: 0065534\n"));
	assert_error_prefix(0, 1, 7, "user: \"0065534\" is not a valid user: leading zeros");
}

static void test_user_empty_or_list_refused(void **state)
{
	assert_null(parse("user:\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("user: [a]\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("user: yes\n"));
	assert_int_equal(errs.count, 1);
}

static void test_seccomp_false_and_true(void **state)
{
	struct config *cfg = parse_ok("seccomp: false\n");
	assert_false(cfg->seccomp);
	config_free(cfg);
	cfg = parse_ok("seccomp: true\n");
	assert_true(cfg->seccomp);
	config_free(cfg);
	cfg = parse_ok("seccomp: off\n");
	assert_false(cfg->seccomp);
	config_free(cfg);
}

static void test_seccomp_not_boolean_refused(void **state)
{
	assert_null(parse("seccomp: \"false\"\n"));
	assert_error(0, 1, 10, "seccomp: expected true or false, got a string");
	assert_null(parse("seccomp: 0\n"));
	assert_error(0, 1, 10, "seccomp: expected true or false, got a number");
	assert_null(parse("seccomp:\n"));
	assert_int_equal(errs.count, 1);
}

/* ---- the decision log: log.file, log.query ---- */

static void test_log_file_and_query(void **state)
{
	struct config *cfg =
	    parse_ok("log:\n  file: /var/log/sluice/decisions.log\n  query: keep\n");
	assert_string_equal(cfg->log_file, "/var/log/sluice/decisions.log");
	assert_true(cfg->log_query);
	config_free(cfg);
	cfg = parse_ok("log:\n  query: drop\n");
	assert_string_equal(cfg->log_file, "");
	assert_false(cfg->log_query);
	config_free(cfg);
	cfg = parse_ok("log:\n");
	assert_string_equal(cfg->log_file, "");
	assert_false(cfg->log_query);
	config_free(cfg);
}

static void test_log_file_longest_path(void **state)
{
	char yaml[CONFIG_LOG_FILE_MAX + 32], path[CONFIG_LOG_FILE_MAX + 1];
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[CONFIG_LOG_FILE_MAX - 1] = '\0';
	snprintf(yaml, sizeof(yaml), "log:\n  file: %s\n", path);
	struct config *cfg = parse_ok(yaml);
	assert_string_equal(cfg->log_file, path);
	config_free(cfg);
	path[CONFIG_LOG_FILE_MAX - 1] = 'a';
	path[CONFIG_LOG_FILE_MAX] = '\0';
	snprintf(yaml, sizeof(yaml), "log:\n  file: %s\n", path);
	refused_prefix(yaml, 2, 9, "log.file: \"/aaa");
	assert_non_null(strstr(errs.items[0].message, "is not a valid file path: too long"));
}

static void test_log_file_refused(void **state)
{
	refused("log:\n  file: sluice.log\n", 2, 9,
		"log.file: \"sluice.log\" is not a valid file path: must be an absolute path "
		"(starting with '/')");
	refused("log:\n  file: \"/var/log/a\\tb\"\n", 2, 9,
		"log.file: \"/var/log/a\\x09b\" is not a valid file path: control characters are "
		"not allowed");
	refused("log:\n  file: [/a]\n", 2, 9, "log.file: expected a file path, got a list");
	assert_null(parse("log:\n  file:\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("log:\n  file: yes\n"));
	assert_int_equal(errs.count, 1);
}

static void test_log_query_refused(void **state)
{
	refused("log:\n  query: strip\n", 2, 10, "log.query: \"strip\" is not keep or drop");
	refused("log:\n  query: Keep\n", 2, 10, "log.query: \"Keep\" is not keep or drop");
	assert_null(parse("log:\n  query: true\n"));
	assert_int_equal(errs.count, 1);
}

static void test_log_section_refused(void **state)
{
	refused("log: /var/log/sluice.log\n", 1, 6,
		"log: expected a mapping with keys file, query, got a string");
	refused("log:\n  fille: /a\n", 2, 3, "unknown key \"fille\" in log (valid: file, query)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_config_every_field),
	    cmocka_unit_test(test_log_file_and_query),
	    cmocka_unit_test(test_log_file_longest_path),
	    cmocka_unit_test(test_log_file_refused),
	    cmocka_unit_test(test_log_query_refused),
	    cmocka_unit_test(test_log_section_refused),
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
	    cmocka_unit_test(test_limits_header_counts),
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
	    cmocka_unit_test(test_syntax_error_reported_alone),
	    cmocka_unit_test(test_syntax_error_after_too_many_errors_alone),
	    cmocka_unit_test(test_too_many_errors_counted),
	    cmocka_unit_test(test_error_format),
	    cmocka_unit_test(test_workers),
	    cmocka_unit_test(test_max_connections_per_agent),
	    cmocka_unit_test(test_example_default_is_the_default),
	    cmocka_unit_test(test_example_internal_service),
	    cmocka_unit_test(test_example_allowlist),
	    cmocka_unit_test(test_no_agents_is_one_implicit_default),
	    cmocka_unit_test(test_agents_every_field),
	    cmocka_unit_test(test_agents_without_default),
	    cmocka_unit_test(test_agent_default_alone),
	    cmocka_unit_test(test_agent_source_and_token_together),
	    cmocka_unit_test(test_token_sha256_upper_case),
	    cmocka_unit_test(test_top_level_base_fields),
	    cmocka_unit_test(test_max_request_body_units),
	    cmocka_unit_test(test_guidance_empty_overrides),
	    cmocka_unit_test(test_guidance_length),
	    cmocka_unit_test(test_port_pinned_top_level_patterns),
	    cmocka_unit_test(test_mode_unknown_refused),
	    cmocka_unit_test(test_mode_wrong_type_refused),
	    cmocka_unit_test(test_methods_connect_refused),
	    cmocka_unit_test(test_methods_not_a_token_refused),
	    cmocka_unit_test(test_methods_too_long_refused),
	    cmocka_unit_test(test_methods_empty_list_refused),
	    cmocka_unit_test(test_methods_too_many_refused),
	    cmocka_unit_test(test_max_request_body_refused),
	    cmocka_unit_test(test_guidance_not_printable_refused),
	    cmocka_unit_test(test_agents_empty_list_refused),
	    cmocka_unit_test(test_agents_not_a_list_refused),
	    cmocka_unit_test(test_agent_item_not_a_mapping_refused),
	    cmocka_unit_test(test_agent_name_required),
	    cmocka_unit_test(test_agent_name_invalid_refused),
	    cmocka_unit_test(test_agent_name_duplicate_refused),
	    cmocka_unit_test(test_agent_needs_match_refused),
	    cmocka_unit_test(test_default_agent_with_match_refused),
	    cmocka_unit_test(test_agent_unknown_key_refused),
	    cmocka_unit_test(test_agent_two_tokens_refused),
	    cmocka_unit_test(test_token_sha256_refused),
	    cmocka_unit_test(test_token_file_relative_refused),
	    cmocka_unit_test(test_token_env_invalid_refused),
	    cmocka_unit_test(test_agent_source_refused),
	    cmocka_unit_test(test_agent_rules_refused),
	    cmocka_unit_test(test_pinned_pattern_bad_port_refused),
	    cmocka_unit_test(test_too_many_agents_refused),
	    cmocka_unit_test(test_routes_every_field),
	    cmocka_unit_test(test_route_upstream_forms),
	    cmocka_unit_test(test_route_upstream_parsed_once),
	    cmocka_unit_test(test_route_to_implicit_default),
	    cmocka_unit_test(test_routes_empty_list),
	    cmocka_unit_test(test_route_upstream_refused),
	    cmocka_unit_test(test_route_upstream_port_refused),
	    cmocka_unit_test(test_route_host_refused),
	    cmocka_unit_test(test_route_host_duplicate_refused),
	    cmocka_unit_test(test_route_required_keys),
	    cmocka_unit_test(test_route_unknown_key_refused),
	    cmocka_unit_test(test_route_unknown_agent_refused),
	    cmocka_unit_test(test_route_agents_empty_refused),
	    cmocka_unit_test(test_route_ca_file_refused),
	    cmocka_unit_test(test_route_rewrite_refused),
	    cmocka_unit_test(test_route_reserved_headers_refused),
	    cmocka_unit_test(test_route_header_name_refused),
	    cmocka_unit_test(test_route_header_twice_refused),
	    cmocka_unit_test(test_route_header_value_refused),
	    cmocka_unit_test(test_route_header_value_secret_not_quoted),
	    cmocka_unit_test(test_route_too_many_headers_refused),
	    cmocka_unit_test(test_too_many_routes_refused),
	    cmocka_unit_test(test_late_checks_keep_document_order),
	    cmocka_unit_test(test_syntax_error_skips_agent_checks),
	    cmocka_unit_test(test_example_agents),
	    cmocka_unit_test(test_example_search_route),
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
	    cmocka_unit_test(test_drain),
	    cmocka_unit_test(test_reload_revoke),
	    cmocka_unit_test(test_user_and_seccomp_defaults),
	    cmocka_unit_test(test_user_name_and_uid),
	    cmocka_unit_test(test_user_bad_characters_refused),
	    cmocka_unit_test(test_user_leading_dash_refused),
	    cmocka_unit_test(test_user_too_long_refused),
	    cmocka_unit_test(test_user_uid_out_of_range_refused),
	    cmocka_unit_test(test_user_empty_or_list_refused),
	    cmocka_unit_test(test_seccomp_false_and_true),
	    cmocka_unit_test(test_seccomp_not_boolean_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
