/* Tests src/policy/tunnel_policy.c: which tunnels are read before they open (tunnel.inspect,
 * opaque_ports), and each verdict on a ClientHello: the SNI of the target, another name the
 * agent may or may not reach (domain fronting), no SNI, an IP literal, ECH, report mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/authority.h"
#include "policy/domain_set.h"
#include "policy/tunnel_policy.h"

static struct policy_rules rules;
static struct agent base, coder;
static struct tls_hello hello;

static int setup(void **state)
{
	const char *detail;
	assert_int_equal(policy_rules_init(&rules), 0);
	agent_init(&base);
	agent_init(&coder);
	strcpy(coder.name, "coder");
	coder.allow = domain_set_new();
	assert_int_equal(domain_set_add(coder.allow, SLICE_LIT("api.example.com"), &detail), 0);
	assert_int_equal(domain_set_add(coder.allow, SLICE_LIT("cdn.example.net"), &detail), 0);
	memset(&hello, 0, sizeof(hello));
	return 0;
}

static int teardown(void **state)
{
	policy_rules_fini(&rules);
	agent_fini(&base);
	agent_fini(&coder);
	return 0;
}

static struct authority host(const char *text, uint16_t port)
{
	struct authority a;
	const char *detail;
	assert_int_equal(authority_parse_host(slice_from_cstr(text), &a, &detail), 0);
	a.port = port;
	a.has_port = true;
	return a;
}

static void with_sni(const char *text)
{
	hello.has_sni = text != NULL;
	if (text)
		hello.sni = host(text, 0);
}

/* Judges the hello for a CONNECT to dest; v starts as a marker so that "untouched" shows. */
static bool judge(const char *dest_text, struct verdict *v)
{
	struct policy_scope s = {.rules = &rules, .base = &base, .agent = &coder};
	struct authority dest = host(dest_text, 443);
	memset(v, 0, sizeof(*v));
	v->allow = true;
	strcpy(v->rule, "connect");
	return tunnel_policy_judge_hello(&s, &dest, &hello, v);
}

static void test_inspects(void **state)
{
	assert_true(tunnel_policy_inspects(&rules.tunnel, 443));
	tunnel_policy_set_opaque(&rules.tunnel, 22, true);
	assert_false(tunnel_policy_inspects(&rules.tunnel, 22));
	assert_true(tunnel_policy_inspects(&rules.tunnel, 23));
	tunnel_policy_set_opaque(&rules.tunnel, 22, false);
	assert_true(tunnel_policy_inspects(&rules.tunnel, 22));
	rules.tunnel.inspect = false;
	assert_false(tunnel_policy_inspects(&rules.tunnel, 443));
}

static void test_sni_of_the_target(void **state)
{
	struct verdict v;
	with_sni("api.example.com");
	assert_true(judge("api.example.com", &v));
	assert_string_equal(v.rule, "connect"); /* untouched */
}

static void test_fronting(void **state)
{
	struct verdict v;
	with_sni("evil.example.org");
	assert_false(judge("api.example.com", &v));
	assert_int_equal(v.reason, REASON_SNI_MISMATCH);
	assert_string_equal(v.rule, "sni evil.example.org: allow: no pattern matches");
	/* Another name the agent may reach passes, and says so. */
	with_sni("cdn.example.net");
	assert_true(judge("api.example.com", &v));
	assert_string_equal(v.rule, "sni cdn.example.net: allow: cdn.example.net");
	/* The port of the tunnel is the port judged. */
	policy_rules_set_port(&rules, 443, false);
	assert_false(judge("api.example.com", &v));
	assert_int_equal(v.reason, REASON_SNI_MISMATCH);
	/* A name SNI cannot pass even in report mode: localhost. */
	policy_rules_set_port(&rules, 443, true);
	coder.mode = AGENT_REPORT;
	coder.has_mode = true;
	with_sni("evil.example.org");
	assert_true(judge("api.example.com", &v));
	assert_true(v.report);
	with_sni("localhost");
	assert_false(judge("api.example.com", &v));
}

static void test_missing_sni(void **state)
{
	struct verdict v;
	with_sni(NULL);
	assert_true(judge("api.example.com", &v));
	assert_string_equal(v.rule, "connect");
	rules.tunnel.missing_sni_allow = false;
	assert_false(judge("api.example.com", &v));
	assert_int_equal(v.reason, REASON_TLS_NO_SNI);
	assert_string_equal(v.rule, "tunnel.missing_sni: deny");
}

static void test_ip_sni(void **state)
{
	struct verdict v;
	with_sni("192.0.2.1");
	assert_false(judge("192.0.2.1", &v));
	assert_int_equal(v.reason, REASON_TLS_SNI_LITERAL);
	rules.tunnel.ip_sni_allow = true;
	assert_true(judge("192.0.2.1", &v));
	assert_false(judge("192.0.2.2", &v));
	assert_int_equal(v.reason, REASON_SNI_MISMATCH);
	assert_false(judge("api.example.com", &v));
}

static void test_ech(void **state)
{
	struct verdict v;
	with_sni("api.example.com");
	hello.has_ech = true;
	hello.ech_outer = true;
	assert_true(judge("api.example.com", &v)); /* the outer name is judged */
	with_sni("public-ech.example.org");
	assert_false(judge("api.example.com", &v));
	assert_int_equal(v.reason, REASON_SNI_MISMATCH);
	rules.tunnel.ech_deny = true;
	with_sni("api.example.com");
	assert_false(judge("api.example.com", &v));
	assert_int_equal(v.reason, REASON_TLS_ECH);
	hello.ech_outer = false; /* an inner hello is no encrypted one */
	assert_true(judge("api.example.com", &v));
}

/* Intercepted: sluice answers for the target alone, so even a name the agent may reach is
 * refused as SNI, in report mode too; no SNI gets the target's leaf. */
static void test_intercepted(void **state)
{
	struct policy_scope s = {.rules = &rules, .base = &base, .agent = &coder};
	struct authority dest = host("api.example.com", 443);
	struct verdict v = {.allow = true};

	with_sni("api.example.com");
	assert_true(tunnel_policy_judge_intercepted(&s, &dest, &hello, &v));
	with_sni("cdn.example.net");
	assert_false(tunnel_policy_judge_intercepted(&s, &dest, &hello, &v));
	assert_int_equal(v.reason, REASON_SNI_MISMATCH);
	assert_string_equal(v.rule, "intercept: sni cdn.example.net is not the tunnel's");
	coder.mode = AGENT_REPORT;
	coder.has_mode = true;
	assert_false(tunnel_policy_judge_intercepted(&s, &dest, &hello, &v));
	assert_false(v.report);
	with_sni(NULL);
	assert_true(tunnel_policy_judge_intercepted(&s, &dest, &hello, &v));
	rules.tunnel.missing_sni_allow = false;
	assert_false(tunnel_policy_judge_intercepted(&s, &dest, &hello, &v));
	assert_int_equal(v.reason, REASON_TLS_NO_SNI);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_inspects),	 T(test_sni_of_the_target),
	    T(test_fronting),	 T(test_missing_sni),
	    T(test_ip_sni),	 T(test_ech),
	    T(test_intercepted),
	};
	return cmocka_run_group_tests_name("tunnel_policy", tests, NULL, NULL);
}
