/* Tests for config/config: whole documents (defaults, every field, the examples/ files), the
 * checks across the file and the error format. */
#include "config_test.h"

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

/* ---- examples/ ------------------------------------------------------------------------- */

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
	assert_error(3, 8, 7, "mode: \"strict\" is not a mode (valid: enforce, report, open, ask)");
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

/* ---- examples of issue 13 ---------------------------------------------------------------- */

static void test_example_dns(void **state)
{
	struct config *cfg = parse_example("dns.yaml");
	struct policy_scope scope = {.rules = &cfg->rules, .base = &cfg->base, .agent = NULL};
	struct policy_dns d;

	assert_int_equal(cfg->n_listen_http, 1);
	assert_int_equal(cfg->n_listen_dns, 1);
	assert_int_equal(cfg->n_listen_transparent_http, 1);
	assert_int_equal(cfg->n_listen_transparent_tls, 1);
	assert_int_equal(cfg->n_agents, 3);
	/* builder: the top-level proxy answers, its own extra type. */
	scope.agent = &cfg->agents[0];
	policy_scope_dns(&scope, &d);
	assert_int_equal(d.answer, AGENT_DNS_PROXY);
	assert_int_equal(d.n_types, 1);
	assert_int_equal(d.max_ttl, 60);
	/* ci: real answers. */
	scope.agent = &cfg->agents[1];
	policy_scope_dns(&scope, &d);
	assert_int_equal(d.answer, AGENT_DNS_REAL);
	assert_int_equal(d.denied, AGENT_DNS_REFUSED);
	assert_int_equal(d.rate, 50);
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
	    cmocka_unit_test(test_error_format),
	    cmocka_unit_test(test_example_default_is_the_default),
	    cmocka_unit_test(test_example_internal_service),
	    cmocka_unit_test(test_example_allowlist),
	    cmocka_unit_test(test_late_checks_keep_document_order),
	    cmocka_unit_test(test_syntax_error_skips_agent_checks),
	    cmocka_unit_test(test_example_agents),
	    cmocka_unit_test(test_example_dns),
	    cmocka_unit_test(test_example_search_route),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
