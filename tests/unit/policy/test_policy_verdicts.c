/* The verdicts that are not the request decision itself (issue 11): identity refusals, the Via
 * loop, per-agent connection limits, routes and a streaming body's limit, each row as the log
 * and the reply show it (reason and rule text). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/policy.h"
#include "policy/route.h"

static struct agent base, agent;
static struct route route;

static int setup(void **state)
{
	agent_init(&base);
	agent_init(&agent);
	strcpy(agent.name, "research");
	memset(&route, 0, sizeof(route));
	strcpy(route.host, "search.internal");
	strcpy(route.upstream_host, "10.0.0.5");
	route.upstream_port = 8080;
	strcpy(route.upstream_base, "/searx");
	return 0;
}

static int teardown(void **state)
{
	agent_fini(&base);
	agent_fini(&agent);
	return 0;
}

#define assert_verdict(v, want_allow, want_reason, want_rule)                                      \
	do {                                                                                       \
		assert_int_equal((v).allow, (want_allow));                                         \
		assert_int_equal((v).reason, (want_reason));                                       \
		assert_string_equal((v).rule, (want_rule));                                        \
	} while (0)

static void test_identity_refusals(void **state)
{
	static const struct {
		enum policy_identity id;
		const struct agent *agent;
		enum reason reason;
		const char *rule;
	} rows[] = {
	    {POLICY_IDENTITY_UNKNOWN, NULL, REASON_UNKNOWN_AGENT,
	     "agents: no agent matches this client and there is no default agent"},
	    {POLICY_IDENTITY_MALFORMED, NULL, REASON_AUTH_REQUIRED,
	     "agents: proxy credentials malformed (Basic expected)"},
	    {POLICY_IDENTITY_NEED_AUTH, &agent, REASON_AUTH_REQUIRED,
	     "agents: research requires a token"},
	    {POLICY_IDENTITY_NEED_AUTH, NULL, REASON_AUTH_REQUIRED,
	     "agents: proxy credentials required"},
	    {POLICY_IDENTITY_BAD_AUTH, NULL, REASON_AUTH_REQUIRED,
	     "agents: proxy credentials not accepted"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct verdict v;
		memset(&v, 0xa5, sizeof(v));
		policy_identity_refusal(rows[i].id, rows[i].agent, &v);
		assert_false(v.report);
		assert_verdict(v, false, rows[i].reason, rows[i].rule);
	}
}

static void test_via_loop(void **state)
{
	struct verdict v = {.allow = true};
	policy_via_loop(&v);
	assert_verdict(v, false, REASON_PROXY_LOOP, "builtin: Via names this proxy");
}

static void test_connection_limit(void **state)
{
	struct verdict v = {.allow = true, .reason = REASON_ALLOWED};
	assert_true(policy_check_connections(0, 0, 0, &v)); /* no limit */
	assert_true(policy_check_connections(1000, 0, 0, &v));
	assert_true(policy_check_connections(4, 5, 10, &v));
	assert_true(v.allow);
	assert_false(policy_check_connections(5, 5, 10, &v));
	assert_verdict(v, false, REASON_CONNECTION_LIMIT, "limits.max_connections_per_agent: 10");
}

static struct verdict route_verdict(const struct agent *who, bool is_connect, const char *method)
{
	struct policy_scope scope = {.rules = NULL, .base = &base, .agent = who};
	struct verdict v;
	memset(&v, 0xa5, sizeof(v));
	policy_decide_route(&scope, &route, is_connect, slice_from_cstr(method), &v);
	return v;
}

static void test_routes(void **state)
{
	struct verdict v = route_verdict(&agent, false, "GET");
	assert_verdict(v, true, REASON_ALLOWED,
		       "route: search.internal -> http://10.0.0.5:8080/searx");
	v = route_verdict(&agent, true, "");
	assert_verdict(v, false, REASON_ROUTE_CONNECT, "route: search.internal");
	strcpy(route.agents[0], "coder");
	route.n_agents = 1;
	v = route_verdict(&agent, false, "GET");
	assert_verdict(v, false, REASON_ROUTE_NOT_ALLOWED,
		       "route: search.internal (agent research not listed)");
	/* No mode relaxes the agent list. */
	agent.mode = AGENT_OPEN;
	agent.has_mode = true;
	v = route_verdict(&agent, false, "GET");
	assert_false(v.allow);
	v = route_verdict(NULL, false, "GET");
	assert_verdict(v, false, REASON_ROUTE_NOT_ALLOWED,
		       "route: search.internal (agent  not listed)");
	/* A listed agent still meets its methods, with its mode. */
	strcpy(route.agents[1], "research");
	route.n_agents = 2;
	strcpy(agent.methods[0], "GET");
	agent.n_methods = 1;
	agent.has_methods = true;
	agent.mode = AGENT_ENFORCE;
	v = route_verdict(&agent, false, "POST");
	assert_verdict(v, false, REASON_METHOD_NOT_ALLOWED, "methods: GET");
	agent.mode = AGENT_REPORT;
	v = route_verdict(&agent, false, "POST");
	assert_true(v.allow);
	assert_true(v.report);
	assert_int_equal(v.reason, REASON_METHOD_NOT_ALLOWED);
	route.tls = true;
	route.upstream_port = 443;
	agent.has_methods = false;
	v = route_verdict(&agent, false, "POST");
	assert_verdict(v, true, REASON_ALLOWED,
		       "route: search.internal -> https://10.0.0.5:443/searx");
}

static void test_revoked_by_reload(void **state)
{
	struct verdict denial = {.allow = false, .reason = REASON_DOMAIN_NOT_ALLOWED};
	struct verdict v = {.allow = true, .report = true, .reason = REASON_ALLOWED};
	strcpy(denial.rule, "allow: no pattern matches");
	policy_revoke(&denial, &v);
	assert_false(v.report);
	assert_verdict(v, false, REASON_DOMAIN_NOT_ALLOWED, "reload: allow: no pattern matches");
}

static void test_streaming_body(void **state)
{
	struct policy_scope scope = {.rules = NULL, .base = &base, .agent = &agent};
	struct verdict v = {.allow = true, .reason = REASON_ALLOWED};

	assert_true(policy_check_body_stream(&scope, 1u << 30, &v)); /* no limit */
	agent.has_max_request_body = true;
	agent.max_request_body = 1000;
	assert_true(policy_check_body_stream(&scope, 1000, &v));
	assert_true(v.allow);
	assert_false(policy_check_body_stream(&scope, 1001, &v));
	assert_verdict(v, false, REASON_BODY_TOO_LARGE, "max_request_body: 1000 bytes");
	/* Open mode lets a streaming body through, as it does a Content-Length one. */
	agent.mode = AGENT_OPEN;
	agent.has_mode = true;
	v = (struct verdict){.allow = true, .reason = REASON_ALLOWED};
	strcpy(v.rule, "allow: *");
	assert_true(policy_check_body_stream(&scope, 1001, &v));
	assert_verdict(v, true, REASON_ALLOWED, "mode: open");
	assert_true(policy_check_body_stream(&scope, 5000, &v));
	/* Report mode reports it once, and keeps an earlier reason. */
	agent.mode = AGENT_REPORT;
	v = (struct verdict){.allow = true, .reason = REASON_ALLOWED};
	assert_true(policy_check_body_stream(&scope, 1001, &v));
	assert_true(v.allow && v.report);
	assert_verdict(v, true, REASON_BODY_TOO_LARGE, "max_request_body: 1000 bytes");
	v = (struct verdict){.allow = true, .report = true, .reason = REASON_PORT_NOT_ALLOWED};
	strcpy(v.rule, "ports: 8080 not listed");
	assert_true(policy_check_body_stream(&scope, 5000, &v));
	assert_verdict(v, true, REASON_PORT_NOT_ALLOWED, "ports: 8080 not listed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_via_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_revoked_by_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_streaming_body, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
