/* Tests for config/config_request_rules: rules: at the top level and in agents[], every key,
 * and each refusal with its line:column. */
#include "config_test.h"

#include "policy/request_rules.h"

static void test_rules_read(void **state)
{
	struct config *cfg = parse_ok("rules:\n"
				      "  - host: api.github.com\n"
				      "    methods: [get, HEAD]\n"
				      "    paths: [\"/repos/our-org/**\"]\n"
				      "    headers_deny: [X-HTTP-Method-Override]\n"
				      "    headers_allow: [Authorization, Accept]\n"
				      "    max_request_body: 1KiB\n"
				      "  - host: [\"gist.github.com\", \"*.gist.github.com\"]\n"
				      "    action: deny\n"
				      "agents:\n"
				      "  - name: coder\n"
				      "    match: {source: [\"10.0.0.0/8\"]}\n"
				      "    rules: []\n"
				      "  - name: default\n");
	const struct request_rules *top = &cfg->base.rules;
	assert_int_equal(top->n, 2);
	assert_string_equal(top->items[0].label, "rules[0]");
	assert_int_equal(top->items[0].n_methods, 2);
	assert_string_equal(top->items[0].methods[0], "GET");
	assert_string_equal(top->items[0].paths[0], "/repos/our-org/**");
	assert_string_equal(top->items[0].headers_deny[0], "x-http-method-override");
	assert_true(top->items[0].has_headers_allow);
	assert_int_equal(top->items[0].n_headers_allow, 2);
	assert_string_equal(top->items[0].headers_allow[0], "authorization");
	assert_false(top->items[1].has_headers_allow);
	assert_false(top->items[0].deny);
	assert_true(top->items[0].has_max_request_body);
	assert_int_equal(top->items[0].max_request_body, 1024);
	assert_false(top->items[1].has_max_request_body);
	assert_true(top->items[1].deny);
	assert_true(request_rules_cover(top, SLICE_LIT("x.gist.github.com")));
	assert_true(cfg->agents[0].has_rules);
	assert_int_equal(cfg->agents[0].rules.n, 0);
	assert_false(cfg->agents[1].has_rules);
	config_free(cfg);
}

static void test_rules_refused(void **state)
{
	refused("rules:\n  - methods: [GET]\n", 2, 5,
		"rules[0]: a rule needs a host (a domain pattern)");
	refused(
	    "rules:\n  - host: a.test\n    paths: [\"repos\"]\n", 3, 13,
	    "rules[0].paths[0]: \"repos\" is not a path pattern: a path pattern starts with '/'");
	refused("rules:\n  - host: a.test\n    action: maybe\n", 3, 13,
		"rules[0].action: \"maybe\" is not a rule action (valid: allow, deny)");
	refused("rules:\n  - host: a.test\n    methods: []\n", 3, 14,
		"rules[0].methods: the list is empty, so the rule would match no request (leave "
		"methods out to match every method)");
	refused("rules:\n  - host: a.test\n    path: [\"/\"]\n", 3, 5,
		"unknown key \"path\" in rules[0] (valid: host, methods, paths, action, "
		"headers_deny, headers_allow, max_request_body)");
	refused("rules:\n  - host: a.test\n    headers_allow: [\"a b\"]\n", 3, 21,
		"rules[0].headers_allow[0]: \"a b\" is not a header field name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rules_read),
	    cmocka_unit_test(test_rules_refused),
	};
	return cmocka_run_group_tests_name("config_request_rules", tests, NULL, NULL);
}
