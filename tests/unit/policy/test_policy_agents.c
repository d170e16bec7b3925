/* policy_identify and policy_decide with agents: identity, inheritance, pins, methods, body
 * limits and modes (issue 4). The address checks themselves are covered by test_policy.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/sha.h>
#include <string.h>

#include "parse/authority.h"
#include "parse/cidr.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"
#include "policy/policy.h"

static struct policy_rules rules;
static struct agent base;
static struct agent agents[3];

static void add_source(struct agent *a, const char *cidr)
{
	struct ip_addr addr;
	unsigned len;
	const char *detail;
	if (!a->sources)
		a->sources = cidr_set_new();
	assert_int_equal(cidr_parse(slice_from_cstr(cidr), &addr, &len, &detail), 0);
	assert_int_equal(cidr_set_add(a->sources, &addr, len), 0);
}

static void set_token(struct agent *a, const char *token)
{
	a->token_kind = AGENT_TOKEN_SHA256;
	SHA256((const unsigned char *)token, strlen(token), a->token_sha256);
	a->token_ready = true;
}

static void allow(struct agent *a, const char *pattern)
{
	const char *detail;
	if (!a->allow)
		a->allow = domain_set_new();
	assert_int_equal(domain_set_add(a->allow, slice_from_cstr(pattern), &detail), 0);
}

static int setup(void **state)
{
	assert_int_equal(policy_rules_init(&rules), 0);
	agent_init(&base);
	for (int i = 0; i < 3; i++)
		agent_init(&agents[i]);
	strcpy(agents[0].name, "research");
	add_source(&agents[0], "10.1.0.0/16");
	strcpy(agents[1].name, "narrow");
	add_source(&agents[1], "10.1.2.0/24");
	strcpy(agents[2].name, "coder");
	set_token(&agents[2], "s3cret");
	return 0;
}

static int teardown(void **state)
{
	policy_rules_fini(&rules);
	agent_fini(&base);
	for (int i = 0; i < 3; i++)
		agent_fini(&agents[i]);
	return 0;
}

static struct ip_addr v4(const char *text)
{
	struct ip_addr a;
	assert_int_equal(authority_parse_ip_strict(slice_from_cstr(text), &a), 0);
	return a;
}

static enum policy_identity identify(const char *client, const char *user, const char *pass,
				     int default_agent, const struct agent **out)
{
	struct ip_addr ip = v4(client);
	struct agent_credentials cred;
	if (user)
		agent_credentials_set(&cred, slice_from_cstr(user),
				      pass ? slice_from_cstr(pass) : SLICE_LIT(""));
	return policy_identify(agents, 3, default_agent, &ip, user ? &cred : NULL, out);
}

static void test_identify_by_most_specific_source(void **state)
{
	const struct agent *a;
	assert_int_equal(identify("10.1.9.9", NULL, NULL, -1, &a), POLICY_IDENTITY_OK);
	assert_string_equal(a->name, "research");
	assert_int_equal(identify("10.1.2.3", NULL, NULL, -1, &a), POLICY_IDENTITY_OK);
	assert_string_equal(a->name, "narrow");
}

static void test_identify_by_credentials(void **state)
{
	const struct agent *a;
	assert_int_equal(identify("192.0.2.1", "coder", "s3cret", -1, &a), POLICY_IDENTITY_OK);
	assert_string_equal(a->name, "coder");
	assert_int_equal(identify("192.0.2.1", "coder", "wrong", -1, &a), POLICY_IDENTITY_BAD_AUTH);
	assert_int_equal(identify("192.0.2.1", "coder", "", -1, &a), POLICY_IDENTITY_BAD_AUTH);
	assert_int_equal(identify("192.0.2.1", "CODER", "s3cret", 0, &a), POLICY_IDENTITY_OK);
	/* A name with no token says nothing: the source decides (here the default). */
	assert_string_equal(a->name, "research");
}

/* Only the token's hash is kept, and a user name longer than any agent name is kept as none
 * (cut short, it could have named an agent). */
static void test_credentials_keep_a_hash_and_no_cut_names(void **state)
{
	struct agent_credentials cred;
	char name[AGENT_NAME_MAX + 2];

	agent_credentials_set(&cred, SLICE_LIT("coder"), SLICE_LIT("s3cret"));
	assert_string_equal(cred.user, "coder");
	assert_true(agent_token_matches(&agents[2], &cred));
	assert_null(memmem(&cred, sizeof(cred), "s3cret", 6));
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	agent_credentials_set(&cred, slice_from_cstr(name), SLICE_LIT("x"));
	assert_string_equal(cred.user, "");
	name[AGENT_NAME_MAX] = '\0';
	agent_credentials_set(&cred, slice_from_cstr(name), SLICE_LIT("x"));
	assert_int_equal(strlen(cred.user), AGENT_NAME_MAX);
}

static void test_unknown_client(void **state)
{
	const struct agent *a;
	/* Some agent has a token: ask for credentials rather than refuse. */
	assert_int_equal(identify("192.0.2.1", NULL, NULL, -1, &a), POLICY_IDENTITY_NEED_AUTH);
	assert_int_equal(identify("192.0.2.1", NULL, NULL, 1, &a), POLICY_IDENTITY_OK);
	assert_string_equal(a->name, "narrow");
	agents[2].token_kind = AGENT_TOKEN_NONE;
	assert_int_equal(identify("192.0.2.1", NULL, NULL, -1, &a), POLICY_IDENTITY_UNKNOWN);
	agents[2].token_kind = AGENT_TOKEN_SHA256;
}

static void test_source_agent_with_token_needs_credentials(void **state)
{
	const struct agent *a;
	set_token(&agents[1], "narrow-token");
	assert_int_equal(identify("10.1.2.3", NULL, NULL, -1, &a), POLICY_IDENTITY_NEED_AUTH);
	assert_int_equal(identify("10.1.2.3", "narrow", "narrow-token", -1, &a),
			 POLICY_IDENTITY_OK);
	/* Right token, wrong source: refused. */
	assert_int_equal(identify("10.9.9.9", "narrow", "narrow-token", -1, &a),
			 POLICY_IDENTITY_BAD_AUTH);
	agents[1].token_kind = AGENT_TOKEN_NONE;
}

static struct verdict decide(const struct agent *a, const char *host, uint16_t port,
			     const char *method)
{
	struct policy_scope scope = {.rules = &rules, .base = &base, .agent = a};
	struct request_facts f = {.host = slice_from_cstr(host),
				  .port = port,
				  .method = method ? slice_from_cstr(method) : SLICE_LIT("")};
	struct verdict v;
	memset(&v, 0xa5, sizeof(v));
	policy_decide(&scope, &f, &v);
	return v;
}

static void test_agent_rules_and_inheritance(void **state)
{
	struct agent *a = &agents[0];
	/* Inherits the top-level allow "*". */
	assert_true(decide(a, "example.org", 443, "GET").allow);
	allow(a, "*.wikipedia.org");
	struct verdict v = decide(a, "example.org", 443, "GET");
	assert_false(v.allow);
	assert_int_equal(v.reason, REASON_DOMAIN_NOT_ALLOWED);
	v = decide(a, "en.wikipedia.org", 443, "GET");
	assert_true(v.allow);
	assert_false(v.report);
	assert_string_equal(v.rule, "allow: *.wikipedia.org");
	/* Another agent still inherits. */
	assert_true(decide(&agents[1], "example.org", 443, "GET").allow);
}

static void test_port_pin(void **state)
{
	struct agent *a = &agents[0];
	const char *detail;
	allow(a, "docs.example");
	assert_int_equal(domain_set_add_port(a->allow, SLICE_LIT("api.example"), 8443, &detail), 0);
	struct verdict v = decide(a, "api.example", 8443, "GET");
	assert_true(v.allow);
	assert_string_equal(v.rule, "allow: api.example:8443");
	v = decide(a, "api.example", 443, "GET");
	assert_int_equal(v.reason, REASON_DOMAIN_NOT_ALLOWED);
	v = decide(a, "docs.example", 8443, "GET");
	assert_int_equal(v.reason, REASON_PORT_NOT_ALLOWED);
}

static void test_methods_and_body(void **state)
{
	struct agent *a = &agents[0];
	strcpy(base.methods[0], "GET");
	strcpy(base.methods[1], "HEAD");
	base.n_methods = 2;
	base.has_methods = true;
	struct verdict v = decide(a, "example.org", 80, "POST");
	assert_int_equal(v.reason, REASON_METHOD_NOT_ALLOWED);
	assert_string_equal(v.rule, "methods: GET, HEAD");
	/* CONNECT carries no method facts: methods do not apply to tunnels. */
	assert_true(decide(a, "example.org", 443, NULL).allow);
	base.has_max_request_body = true;
	base.max_request_body = 100;
	struct policy_scope scope = {.rules = &rules, .base = &base, .agent = a};
	v = decide(a, "example.org", 80, "GET");
	policy_check_body(&scope, 100, &v);
	assert_true(v.allow);
	policy_check_body(&scope, 101, &v);
	assert_false(v.allow);
	assert_int_equal(v.reason, REASON_BODY_TOO_LARGE);
	base.has_methods = false;
	base.has_max_request_body = false;
}

static void test_report_mode_relaxes_rules_not_addresses(void **state)
{
	struct agent *a = &agents[0];
	allow(a, "only.example");
	a->mode = AGENT_REPORT;
	a->has_mode = true;
	struct verdict v = decide(a, "other.example", 443, "GET");
	assert_true(v.allow);
	assert_true(v.report);
	assert_int_equal(v.reason, REASON_DOMAIN_NOT_ALLOWED);
	/* The built-in block is never relaxed. */
	struct policy_scope scope = {.rules = &rules, .base = &base, .agent = a};
	struct request_facts f = {.host = SLICE_LIT("169.254.169.254"),
				  .host_is_ip = true,
				  .ip = v4("169.254.169.254"),
				  .port = 80};
	policy_decide(&scope, &f, &v);
	assert_false(v.allow);
	assert_false(v.report);
	assert_int_equal(v.reason, REASON_IP_METADATA);
	/* Nor is the loopback name. */
	f = (struct request_facts){.host = SLICE_LIT("localhost"), .port = 80};
	policy_decide(&scope, &f, &v);
	assert_false(v.allow);
	assert_false(v.report);
	assert_int_equal(v.reason, REASON_LOOPBACK_NAME);
}

static void test_open_mode_and_top_level_mode(void **state)
{
	struct agent *a = &agents[0];
	allow(a, "only.example");
	base.mode = AGENT_OPEN;
	base.has_mode = true;
	struct verdict v = decide(a, "other.example", 22, "DELETE");
	assert_true(v.allow);
	assert_false(v.report);
	assert_string_equal(v.rule, "mode: open");
	a->mode = AGENT_ENFORCE;
	a->has_mode = true;
	assert_false(decide(a, "other.example", 443, "GET").allow);
	base.has_mode = false;
}

static void test_route_address_skips_builtin_but_not_loop_or_deny(void **state)
{
	struct verdict v;
	struct ip_addr internal = v4("10.0.0.5");
	policy_decide_route_addr(&rules, &internal, 8080, &v);
	assert_true(v.allow);
	rules.listeners[0].addr = internal;
	rules.listeners[0].port = 8080;
	rules.n_listeners = 1;
	policy_decide_route_addr(&rules, &internal, 8080, &v);
	assert_int_equal(v.reason, REASON_PROXY_LOOP);
	rules.n_listeners = 0;
	assert_int_equal(cidr_set_add(rules.ips_deny, &internal, 32), 0);
	policy_decide_route_addr(&rules, &internal, 8080, &v);
	assert_int_equal(v.reason, REASON_IP_DENIED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identify_by_most_specific_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identify_by_credentials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_credentials_keep_a_hash_and_no_cut_names, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_source_agent_with_token_needs_credentials, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_agent_rules_and_inheritance, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_pin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_methods_and_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_report_mode_relaxes_rules_not_addresses, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_open_mode_and_top_level_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_route_address_skips_builtin_but_not_loop_or_deny,
					    setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
