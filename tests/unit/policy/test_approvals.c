/* Tests src/policy/approvals.c and the approvals in policy_decide: an approval lets its agent
 * (or every agent, "*") reach its host on its port until it expires; a name-only one (port 0)
 * stays under the ports rule; it lifts only the allow and ports rules, never a deny pattern
 * nor the built-in block; and what mode ask marks as a refusal to hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy/approvals.h"
#include "policy/domain_set.h"
#include "policy/policy.h"

static struct approval make(const char *agent, const char *host, uint16_t port, int64_t expires)
{
	struct approval a = {.port = port, .expires = expires, .at = 1};
	strcpy(a.agent, agent);
	strcpy(a.host, host);
	strcpy(a.by, "test");
	return a;
}

static void test_match_agent_port_expiry(void **state)
{
	struct approval_list l;
	approval_list_init(&l);
	struct approval a = make("builder", "api.example.com", 443, 1000);
	assert_int_equal(approval_list_put(&l, &a), 0);
	struct slice h = SLICE_LIT("api.example.com");
	assert_non_null(approval_list_match(&l, "builder", h, 443, false, 999));
	assert_null(approval_list_match(&l, "builder", h, 443, false, 1000)); /* expired */
	assert_null(approval_list_match(&l, "other", h, 443, false, 10));
	assert_null(approval_list_match(&l, "builder", h, 80, false, 10));
	assert_null(approval_list_match(&l, "builder", SLICE_LIT("example.com"), 443, false, 10));
	assert_non_null(approval_list_match(&l, "builder", h, 0, true, 10)); /* DNS: the name */
	struct approval all = make(APPROVAL_ANY_AGENT, "x.test", 0, 0);
	assert_int_equal(approval_list_put(&l, &all), 0);
	assert_non_null(approval_list_match(&l, "anyone", SLICE_LIT("x.test"), 8080, false, 5));
	/* The same agent, host and port replaces; prune drops the expired one. */
	a.expires = 0;
	assert_int_equal(approval_list_put(&l, &a), 0);
	assert_int_equal(l.n, 2);
	struct approval old = make("b", "old.test", 1, 50);
	approval_list_put(&l, &old);
	assert_int_equal(approval_list_prune(&l, 60), 1);
	assert_int_equal(l.n, 2);
	assert_true(approval_list_remove(&l, "builder", h, 443));
	assert_false(approval_list_remove(&l, "builder", h, 443));
	approval_list_fini(&l);
}

static void test_parse_expiry(void **state)
{
	int64_t s;
	assert_true(approval_parse_expiry(SLICE_LIT("30m"), &s) && s == 1800);
	assert_true(approval_parse_expiry(SLICE_LIT("8h"), &s) && s == 28800);
	assert_true(approval_parse_expiry(SLICE_LIT("7d"), &s) && s == 604800);
	assert_false(approval_parse_expiry(SLICE_LIT("0h"), &s));
	assert_false(approval_parse_expiry(SLICE_LIT("367d"), &s));
	assert_false(approval_parse_expiry(SLICE_LIT("1w"), &s));
	assert_false(approval_parse_expiry(SLICE_LIT("h"), &s));
	assert_false(approval_parse_expiry(SLICE_LIT("1h "), &s));
}

struct fixture {
	struct policy_rules rules;
	struct agent base, agent;
	struct approval_list list;
};

static struct fixture *setup(void)
{
	static struct fixture f;
	const char *detail;
	memset(&f, 0, sizeof(f));
	assert_int_equal(policy_rules_init(&f.rules), 0);
	agent_init(&f.base);
	agent_init(&f.agent);
	strcpy(f.agent.name, "builder");
	f.agent.allow = domain_set_new();
	domain_set_add(f.agent.allow, SLICE_LIT("pypi.org"), &detail);
	f.agent.deny = domain_set_new();
	domain_set_add(f.agent.deny, SLICE_LIT("evil.test"), &detail);
	approval_list_init(&f.list);
	return &f;
}

static void teardown(struct fixture *f)
{
	approval_list_fini(&f->list);
	agent_fini(&f->agent);
	agent_fini(&f->base);
	policy_rules_fini(&f->rules);
}

static void decide(struct fixture *f, const char *host, uint16_t port, struct verdict *v)
{
	struct policy_scope s = {.rules = &f->rules,
				 .base = &f->base,
				 .agent = &f->agent,
				 .approvals = &f->list,
				 .now = 100};
	struct request_facts facts = {.host = slice_from_cstr(host), .port = port};
	memset(v, 0, sizeof(*v));
	policy_decide(&s, &facts, v);
}

static void test_decide_with_approvals_and_ask(void **state)
{
	struct fixture *f = setup();
	struct verdict v;

	decide(f, "api.test", 443, &v);
	assert_false(v.allow);
	assert_int_equal(v.reason, REASON_DOMAIN_NOT_ALLOWED);
	assert_false(v.ask); /* enforce: refused, not held */
	f->agent.mode = AGENT_ASK;
	f->agent.has_mode = true;
	decide(f, "api.test", 443, &v);
	assert_false(v.allow);
	assert_true(v.ask);
	decide(f, "evil.test", 443, &v); /* a deny pattern is never asked about */
	assert_false(v.ask);
	assert_int_equal(v.reason, REASON_DOMAIN_DENIED);

	struct approval a = make("builder", "api.test", 443, 0);
	approval_list_put(&f->list, &a);
	decide(f, "api.test", 443, &v);
	assert_true(v.allow);
	assert_string_equal(v.rule, "approved: api.test:443 for builder by test");
	decide(f, "api.test", 8443, &v); /* another port still asks */
	assert_false(v.allow);
	assert_true(v.ask);
	/* An approval for a denied name does not lift the deny. */
	struct approval d = make("builder", "evil.test", 443, 0);
	approval_list_put(&f->list, &d);
	decide(f, "evil.test", 443, &v);
	assert_false(v.allow);
	/* A name-only approval stays under the ports rule (80 and 443 by default). */
	struct approval n = make("builder", "name.test", 0, 0);
	approval_list_put(&f->list, &n);
	decide(f, "name.test", 443, &v);
	assert_true(v.allow);
	decide(f, "name.test", 8080, &v);
	assert_false(v.allow);
	assert_int_equal(v.reason, REASON_PORT_NOT_ALLOWED);
	teardown(f);
}

static void test_literal_in_builtin_block_is_never_held(void **state)
{
	struct fixture *f = setup();
	struct verdict v;
	struct policy_scope s = {.rules = &f->rules,
				 .base = &f->base,
				 .agent = &f->agent,
				 .approvals = &f->list,
				 .now = 100};
	struct request_facts facts = {.host = SLICE_LIT("169.254.169.254"),
				      .host_is_ip = true,
				      .ip = {.family = IP_V4, .bytes = {169, 254, 169, 254}},
				      .port = 80};
	f->agent.mode = AGENT_ASK;
	f->agent.has_mode = true;
	struct approval a = make("*", "169.254.169.254", 80, 0);
	approval_list_put(&f->list, &a);
	policy_decide(&s, &facts, &v);
	assert_false(v.allow);
	assert_false(v.ask);
	assert_int_equal(v.reason, REASON_IP_METADATA);
	teardown(f);
}

static void test_outcome_names(void **state)
{
	assert_null(hold_outcome_name(HOLD_NONE));
	assert_string_equal(hold_outcome_name(HOLD_ONCE), "once");
	assert_string_equal(hold_outcome_name(HOLD_TIMEOUT), "timeout");
	assert_null(hold_outcome_name((enum hold_outcome)99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_agent_port_expiry),
	    cmocka_unit_test(test_parse_expiry),
	    cmocka_unit_test(test_decide_with_approvals_and_ask),
	    cmocka_unit_test(test_literal_in_builtin_block_is_never_held),
	    cmocka_unit_test(test_outcome_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
