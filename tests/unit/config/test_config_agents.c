/* Tests for config/config_agents: the agents list, match and tokens, and what an agent sets or
 * inherits (mode, methods, max_request_body, guidance). */
#include "config_test.h"

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

/* ---- agents: refused --------------------------------------------------------------------- */

static void test_mode_unknown_refused(void **state)
{
	refused("mode: strict\n", 1, 7,
		"mode: \"strict\" is not a mode (valid: enforce, report, open, ask)");
	refused("mode: Report\n", 1, 7,
		"mode: \"Report\" is not a mode (valid: enforce, report, open, ask)");
}

static void test_mode_wrong_type_refused(void **state)
{
	refused("mode: [report]\n", 1, 7,
		"mode: expected a mode (enforce, report, open or ask), got a list");
	refused("mode:\n", 1, 6,
		"mode: expected a mode (enforce, report, open or ask), got an empty value");
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
		"unknown key \"alow\" in agents[0] (valid: name, match, mode, allow, deny, ask, "
		"intercept, "
		"ports, methods, max_request_body, guidance, rules, credentials, scan, dns)");
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
	refused(
	    "agents: [{name: default, mode: on}]\n", 1, 32,
	    "agents[0].mode: expected a mode (enforce, report, open or ask), got the boolean on "
	    "(write \"on\" to mean the text)");
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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	    cmocka_unit_test(test_too_many_agents_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
