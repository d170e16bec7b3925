/* Tests src/policy/intercept.c and what interception changes in policy_decide: which names are
 * intercepted (the agent's list or the top level's, never_intercept winning, IP literals never),
 * and a CONNECT to a host request rules cover, refused as a plain tunnel but let through when
 * intercepted (its requests are judged inside). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "policy/domain_set.h"
#include "policy/intercept.h"

static struct policy_rules rules;
static struct agent base, coder;

static struct domain_set *set_of(const char *a, const char *b)
{
	const char *detail;
	struct domain_set *s = domain_set_new();
	assert_non_null(s);
	if (a)
		assert_int_equal(domain_set_add(s, slice_from_cstr(a), &detail), 0);
	if (b)
		assert_int_equal(domain_set_add(s, slice_from_cstr(b), &detail), 0);
	return s;
}

static int setup(void **state)
{
	assert_int_equal(policy_rules_init(&rules), 0);
	agent_init(&base);
	agent_init(&coder);
	strcpy(coder.name, "coder");
	return 0;
}

static int teardown(void **state)
{
	policy_rules_fini(&rules);
	agent_fini(&base);
	agent_fini(&coder);
	return 0;
}

static bool intercepts(const struct agent *agent, const char *host)
{
	struct policy_scope s = {.rules = &rules, .base = &base, .agent = agent};
	return policy_intercepts(&s, slice_from_cstr(host), false);
}

static void test_nothing_by_default(void **state)
{
	assert_false(intercepts(NULL, "api.example.com"));
	assert_false(intercepts(&coder, "api.example.com"));
	assert_false(policy_intercepts_any(&rules, &coder, 1));
}

static void test_top_level_list(void **state)
{
	rules.intercept = set_of("*.example.com", "api.github.com");
	assert_true(policy_intercepts_any(&rules, &coder, 1));
	assert_true(intercepts(NULL, "api.example.com"));
	assert_true(intercepts(&coder, "api.github.com"));
	assert_false(intercepts(&coder, "example.com")); /* "*." is below, not the name itself */
	assert_false(intercepts(&coder, "github.com"));
	assert_false(intercepts(&coder, ""));
}

static void test_agent_list_replaces(void **state)
{
	rules.intercept = set_of("*.example.com", NULL);
	coder.intercept = set_of("api.github.com", NULL);
	assert_true(intercepts(&coder, "api.github.com"));
	assert_false(intercepts(&coder, "api.example.com"));
	assert_true(intercepts(NULL, "api.example.com"));
	/* An empty list is an agent that intercepts nothing. */
	domain_set_free(coder.intercept);
	coder.intercept = set_of(NULL, NULL);
	assert_false(intercepts(&coder, "api.example.com"));
}

static void test_agent_list_alone_counts(void **state)
{
	struct agent agents[2];
	agent_init(&agents[0]);
	agent_init(&agents[1]);
	assert_false(policy_intercepts_any(&rules, agents, 2));
	agents[1].intercept = set_of(NULL, NULL);
	assert_false(policy_intercepts_any(&rules, agents, 2)); /* empty: still nothing */
	domain_set_free(agents[1].intercept);
	agents[1].intercept = set_of("api.github.com", NULL);
	assert_true(policy_intercepts_any(&rules, agents, 2));
	agent_fini(&agents[0]);
	agent_fini(&agents[1]);
}

static void test_never_intercept_wins(void **state)
{
	rules.intercept = set_of("*", NULL);
	rules.never_intercept = set_of("*.bank.example", "pinned.example.com");
	coder.intercept = set_of("pinned.example.com", NULL);
	assert_true(intercepts(NULL, "api.example.com"));
	assert_false(intercepts(NULL, "www.bank.example"));
	assert_false(intercepts(NULL, "pinned.example.com"));
	assert_false(intercepts(&coder, "pinned.example.com"));
}

static void test_ip_literals_never(void **state)
{
	struct policy_scope s = {.rules = &rules, .base = &base, .agent = NULL};
	rules.intercept = set_of("*", NULL);
	assert_false(policy_intercepts(&s, SLICE_LIT("192.0.2.10"), true));
	assert_false(policy_intercepts(&s, SLICE_LIT("2001:db8::1"), true));
	assert_true(policy_intercepts(&s, SLICE_LIT("api.example.com"), false));
}

/* A rule for api.example.com at the top level. */
static void rule_for(const char *host)
{
	base.rules.items = calloc(1, sizeof(*base.rules.items));
	assert_non_null(base.rules.items);
	base.rules.n = 1;
	strcpy(base.rules.items[0].label, "rules[0]");
	base.rules.items[0].hosts = set_of(host, NULL);
	strcpy(base.rules.items[0].methods[0], "GET");
	base.rules.items[0].n_methods = 1;
}

static void decide_connect(const char *host, bool intercepted, struct verdict *v)
{
	struct policy_scope s = {.rules = &rules, .base = &base, .agent = NULL};
	struct request_facts f = {
	    .host = slice_from_cstr(host), .port = 443, .intercepted = intercepted};
	policy_decide(&s, &f, v);
}

static void test_ruled_host_tunnel_needs_interception(void **state)
{
	struct verdict v;
	rule_for("api.example.com");
	decide_connect("api.example.com", false, &v);
	assert_false(v.allow);
	assert_int_equal(v.reason, REASON_REQUEST_RULES_TUNNEL);
	assert_string_equal(v.rule, "rules: api.example.com is judged request by request");
	decide_connect("api.example.com", true, &v);
	assert_true(v.allow);
	assert_string_equal(v.rule, "allow: *");
	/* Interception does not relax the name rules. */
	domain_set_free(rules.deny);
	rules.deny = set_of("api.example.com", NULL);
	decide_connect("api.example.com", true, &v);
	assert_false(v.allow);
	assert_int_equal(v.reason, REASON_DOMAIN_DENIED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nothing_by_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_top_level_list, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agent_list_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agent_list_alone_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_intercept_wins, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ip_literals_never, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ruled_host_tunnel_needs_interception, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
