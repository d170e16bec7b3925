/* Tests src/policy/policy.c: the defaults, every built-in block (and which ips.allow entry lifts
 * it), ips.deny, deny-beats-allow, the rule text a verdict carries, IPv6 forms that embed IPv4,
 * and proxy-loop detection against sluice's own listeners. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/authority.h"
#include "parse/cidr.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"
#include "policy/policy.h"

static struct ip_addr ip(const char *text)
{
	struct ip_addr a;
	if (authority_parse_ip_strict(slice_from_cstr(text), &a) != 0)
		fail_msg("bad test address %s", text);
	return a;
}

static void add_cidr(struct cidr_set *set, const char *text)
{
	struct ip_addr a;
	unsigned len;
	const char *detail;
	if (cidr_parse(slice_from_cstr(text), &a, &len, &detail) != 0)
		fail_msg("bad test cidr %s: %s", text, detail);
	assert_int_equal(cidr_set_add(set, &a, len), 0);
}

static void add_domain(struct domain_set *set, const char *pattern)
{
	const char *detail = NULL;
	if (domain_set_add(set, slice_from_cstr(pattern), &detail) != 0)
		fail_msg("bad test pattern %s: %s", pattern, detail ? detail : "?");
}

static void rules_init(struct policy_rules *rules)
{
	assert_int_equal(policy_rules_init(rules), 0);
}

/* An allow list without the default "*". */
static void rules_clear_allow(struct policy_rules *rules)
{
	domain_set_free(rules->allow);
	rules->allow = domain_set_new();
	assert_non_null(rules->allow);
}

static void add_listener(struct policy_rules *rules, const char *addr, uint16_t port)
{
	assert_true(rules->n_listeners < POLICY_MAX_LISTENERS);
	rules->listeners[rules->n_listeners].addr = ip(addr);
	rules->listeners[rules->n_listeners].port = port;
	rules->n_listeners++;
}

static struct verdict decide_addr(const struct policy_rules *rules, const char *addr, uint16_t port)
{
	struct verdict v;
	struct ip_addr a = ip(addr);
	memset(&v, 0xa5, sizeof(v));
	policy_decide_addr(rules, &a, port, &v);
	return v;
}

/* A request whose host is an IP literal, as parse/authority hands it over. */
static struct verdict decide_ip(const struct policy_rules *rules, const char *addr, uint16_t port)
{
	struct verdict v;
	struct request_facts f = {
	    .host = slice_from_cstr(addr), .host_is_ip = true, .ip = ip(addr), .port = port};
	memset(&v, 0xa5, sizeof(v));
	policy_decide_request(rules, &f, &v);
	return v;
}

static struct verdict decide_name(const struct policy_rules *rules, const char *name, uint16_t port)
{
	struct verdict v;
	struct request_facts f = {.host = slice_from_cstr(name), .port = port};
	memset(&v, 0xa5, sizeof(v));
	policy_decide_request(rules, &f, &v);
	return v;
}

#define assert_allowed(v)                                                                          \
	do {                                                                                       \
		struct verdict v_ = (v);                                                           \
		if (!v_.allow || v_.reason != REASON_ALLOWED)                                      \
			fail_msg("want allowed, got %s (%s)", reason_token(v_.reason), v_.rule);   \
	} while (0)

#define assert_denied(v, want)                                                                     \
	do {                                                                                       \
		struct verdict v_ = (v);                                                           \
		if (v_.allow || v_.reason != (want))                                               \
			fail_msg("want denied %s, got %s %s (%s)", reason_token(want),             \
				 v_.allow ? "allowed" : "denied", reason_token(v_.reason),         \
				 v_.rule);                                                         \
	} while (0)

#define assert_rule(v, want) assert_string_equal((v).rule, (want))

static void assert_rule_contains(const struct verdict *v, const char *part)
{
	if (strstr(v->rule, part) == NULL)
		fail_msg("rule \"%s\" does not name \"%s\"", v->rule, part);
}

/* --- defaults --- */

static void test_default_ports(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	assert_true(policy_rules_port_allowed(&rules, 80));
	assert_true(policy_rules_port_allowed(&rules, 443));
	assert_false(policy_rules_port_allowed(&rules, 22));
	assert_false(policy_rules_port_allowed(&rules, 0));
	assert_false(policy_rules_port_allowed(&rules, 81));
	assert_false(policy_rules_port_allowed(&rules, 8080));
	assert_false(policy_rules_port_allowed(&rules, 65535));
	policy_rules_fini(&rules);
}

static void test_port_bitmap_set_and_clear(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	policy_rules_set_port(&rules, 65535, true);
	policy_rules_set_port(&rules, 0, true);
	policy_rules_set_port(&rules, 8080, true);
	assert_true(policy_rules_port_allowed(&rules, 65535));
	assert_true(policy_rules_port_allowed(&rules, 0));
	assert_true(policy_rules_port_allowed(&rules, 8080));
	/* Neighbours in the same bitmap byte are untouched. */
	assert_false(policy_rules_port_allowed(&rules, 8081));
	assert_false(policy_rules_port_allowed(&rules, 65534));
	policy_rules_set_port(&rules, 80, false);
	assert_false(policy_rules_port_allowed(&rules, 80));
	assert_true(policy_rules_port_allowed(&rules, 443));
	policy_rules_fini(&rules);
}

static void test_fini_twice_is_harmless(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	policy_rules_fini(&rules);
	policy_rules_fini(&rules);
}

static void test_default_allows_global_v4(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	assert_allowed(decide_ip(&rules, "8.8.8.8", 80));
	assert_allowed(decide_ip(&rules, "1.1.1.1", 443));
	assert_allowed(decide_addr(&rules, "93.184.215.14", 443));
	policy_rules_fini(&rules);
}

static void test_default_allows_global_v6(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	assert_allowed(decide_ip(&rules, "2606:4700:4700::1111", 80));
	assert_allowed(decide_ip(&rules, "2a00:1450:4001:80b::200e", 443));
	assert_allowed(decide_addr(&rules, "2606:4700:4700::1111", 443));
	policy_rules_fini(&rules);
}

static void test_default_allows_any_name_on_80_443(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	struct verdict v = decide_name(&rules, "example.com", 443);
	assert_allowed(v);
	assert_rule(v, "allow: *");
	assert_allowed(decide_name(&rules, "a.b.example.org", 80));
	policy_rules_fini(&rules);
}

/* RFC 6761 §6.3: localhost names are loopback, whatever DNS says; refused before any lookup,
 * even where the allow list would take them. Names that only look alike are ordinary. */
static void test_loopback_names_refused(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	struct verdict v = decide_name(&rules, "localhost", 80);
	assert_denied(v, REASON_LOOPBACK_NAME);
	assert_rule(v, "builtin: loopback name localhost (RFC 6761)");
	v = decide_name(&rules, "api.localhost", 443);
	assert_denied(v, REASON_LOOPBACK_NAME);
	assert_rule(v, "builtin: loopback name *.localhost (RFC 6761)");
	assert_denied(decide_name(&rules, "a.b.localhost", 8080), REASON_LOOPBACK_NAME);
	assert_allowed(decide_name(&rules, "notlocalhost", 80));
	assert_allowed(decide_name(&rules, "localhost.example.com", 80));
	assert_allowed(decide_name(&rules, "xlocalhost", 80));
	assert_allowed(decide_name(&rules, "printer.local", 80));
	policy_rules_fini(&rules);
}

static void test_default_denies_port_22_by_name(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	struct verdict v = decide_name(&rules, "example.com", 22);
	assert_denied(v, REASON_PORT_NOT_ALLOWED);
	assert_rule_contains(&v, "22");
	policy_rules_fini(&rules);
}

static void test_default_denies_port_22_by_ip(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	assert_denied(decide_ip(&rules, "8.8.8.8", 22), REASON_PORT_NOT_ALLOWED);
	assert_denied(decide_ip(&rules, "2606:4700:4700::1111", 22), REASON_PORT_NOT_ALLOWED);
	policy_rules_fini(&rules);
}

/* --- the built-in block, one case per address --- */

struct builtin_case {
	const char *addr;
	enum reason reason;
	const char *rule_part; /* the rule text must name this */
};

static const struct builtin_case builtin_cases[] = {
    {"10.0.0.1", REASON_IP_NON_GLOBAL, "10.0.0.0/8"},
    {"127.0.0.1", REASON_IP_NON_GLOBAL, "127.0.0.0/8"},
    {"169.254.169.254", REASON_IP_METADATA, "169.254.169.254"},
    {"100.64.0.1", REASON_IP_NON_GLOBAL, "100.64.0.0/10"},
    {"192.168.1.1", REASON_IP_NON_GLOBAL, "192.168.0.0/16"},
    {"172.16.0.1", REASON_IP_NON_GLOBAL, "172.16.0.0/12"},
    {"::1", REASON_IP_NON_GLOBAL, "::1/128"},
    {"fd00::1", REASON_IP_NON_GLOBAL, "fc00::/7"},
    {"fe80::1", REASON_IP_NON_GLOBAL, "fe80::/10"},
    {"::ffff:10.0.0.1", REASON_IP_NON_GLOBAL, "10.0.0.0/8"},
    {"::ffff:169.254.169.254", REASON_IP_METADATA, "cloud-metadata"},
    {"64:ff9b::a9fe:a9fe", REASON_IP_METADATA, "cloud-metadata"},
    {"2002:a9fe:a9fe::1", REASON_IP_METADATA, "cloud-metadata"},
    {"168.63.129.16", REASON_IP_METADATA, "168.63.129.16"},
    {"0.0.0.0", REASON_IP_NON_GLOBAL, "0.0.0.0/8"},
    {"::", REASON_IP_NON_GLOBAL, "::/128"},
    {"224.0.0.1", REASON_IP_NON_GLOBAL, "224.0.0.0/4"},
    {"255.255.255.255", REASON_IP_NON_GLOBAL, "255.255.255.255/32"},
    {"100.100.100.200", REASON_IP_METADATA, "100.100.100.200"},
    {"169.254.170.2", REASON_IP_METADATA, "169.254.170.2"},
    {"fd00:ec2::254", REASON_IP_METADATA, "fd00:ec2::254"},
    {"2001:db8::1", REASON_IP_NON_GLOBAL, "2001:db8::/32"},
    {"ff02::1", REASON_IP_NON_GLOBAL, "ff00::/8"},
    {"::ffff:127.0.0.1", REASON_IP_NON_GLOBAL, "127.0.0.0/8"},
    {"64:ff9b::10.1.2.3", REASON_IP_NON_GLOBAL, "10.0.0.0/8"},
    {"2002:c0a8:101::1", REASON_IP_NON_GLOBAL, "192.168.0.0/16"},
    /* Teredo whose (obfuscated) client is 10.0.0.1 and whose server is global. */
    {"2001:0:808:808::f5ff:fffe", REASON_IP_NON_GLOBAL, "10.0.0.0/8"},
};

#define N_BUILTIN (sizeof(builtin_cases) / sizeof(builtin_cases[0]))

static void test_builtin_denied(void **state)
{
	const struct builtin_case *c = *state;
	struct policy_rules rules;
	rules_init(&rules);
	struct verdict v = decide_addr(&rules, c->addr, 443);
	assert_denied(v, c->reason);
	assert_rule_contains(&v, "builtin:");
	assert_rule_contains(&v, c->rule_part);
	/* The same address as a literal request host, on an allowed port. */
	assert_denied(decide_ip(&rules, c->addr, 443), c->reason);
	policy_rules_fini(&rules);
}

/* A literal address is judged before its port: the address is the reason that matters. */
static void test_literal_ip_judged_by_address_before_port(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	assert_denied(decide_ip(&rules, "10.0.0.1", 22), REASON_IP_NON_GLOBAL);
	assert_denied(decide_ip(&rules, "169.254.169.254", 22), REASON_IP_METADATA);
	policy_rules_fini(&rules);
}

/* --- ips.allow --- */

static void test_ips_allow_reallows_private_range(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "10.0.0.0/8");
	assert_allowed(decide_addr(&rules, "10.1.2.3", 443));
	struct verdict v = decide_ip(&rules, "10.1.2.3", 443);
	assert_allowed(v);
	assert_rule(v, "allow: *");
	policy_rules_fini(&rules);
}

static void test_ips_allow_reallows_only_its_range(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "10.0.0.0/8");
	assert_denied(decide_addr(&rules, "192.168.1.1", 443), REASON_IP_NON_GLOBAL);
	assert_denied(decide_addr(&rules, "127.0.0.1", 443), REASON_IP_NON_GLOBAL);
	assert_denied(decide_addr(&rules, "169.254.169.254", 443), REASON_IP_METADATA);
	policy_rules_fini(&rules);
}

static void test_ips_allow_keeps_port_rules(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "10.0.0.0/8");
	assert_denied(decide_ip(&rules, "10.1.2.3", 22), REASON_PORT_NOT_ALLOWED);
	policy_rules_fini(&rules);
}

static void test_ips_allow_range_does_not_reallow_metadata(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "169.254.0.0/16");
	assert_denied(decide_addr(&rules, "169.254.169.254", 443), REASON_IP_METADATA);
	assert_denied(decide_ip(&rules, "169.254.169.254", 80), REASON_IP_METADATA);
	assert_denied(decide_addr(&rules, "169.254.170.2", 443), REASON_IP_METADATA);
	/* The rest of the range is re-allowed. */
	assert_allowed(decide_addr(&rules, "169.254.1.1", 443));
	policy_rules_fini(&rules);
}

static void test_ips_allow_everything_does_not_reallow_metadata(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "0.0.0.0/0");
	add_cidr(rules.ips_allow, "::/0");
	assert_denied(decide_addr(&rules, "169.254.169.254", 443), REASON_IP_METADATA);
	assert_denied(decide_addr(&rules, "168.63.129.16", 443), REASON_IP_METADATA);
	assert_denied(decide_addr(&rules, "fd00:ec2::254", 443), REASON_IP_METADATA);
	assert_denied(decide_addr(&rules, "::ffff:169.254.169.254", 443), REASON_IP_METADATA);
	assert_allowed(decide_addr(&rules, "10.0.0.1", 443));
	policy_rules_fini(&rules);
}

static void test_ips_allow_exact_address_reallows_metadata(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "169.254.169.254/32");
	assert_allowed(decide_addr(&rules, "169.254.169.254", 443));
	assert_allowed(decide_ip(&rules, "169.254.169.254", 80));
	/* Only that address: its neighbours stay blocked. */
	assert_denied(decide_addr(&rules, "169.254.170.2", 443), REASON_IP_METADATA);
	assert_denied(decide_addr(&rules, "169.254.169.253", 443), REASON_IP_NON_GLOBAL);
	policy_rules_fini(&rules);
}

static void test_ips_allow_exact_azure_wire_server(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "168.63.129.0/24");
	assert_denied(decide_addr(&rules, "168.63.129.16", 443), REASON_IP_METADATA);
	add_cidr(rules.ips_allow, "168.63.129.16");
	assert_allowed(decide_addr(&rules, "168.63.129.16", 443));
	policy_rules_fini(&rules);
}

/* Both the IPv6 form and the IPv4 address it embeds must pass: re-allowing the mapped range
 * must not open the private addresses behind it. */
static void test_embedded_v4_judged_as_well(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "::ffff:0:0/96");
	add_cidr(rules.ips_allow, "2002::/16");
	assert_denied(decide_addr(&rules, "::ffff:10.0.0.1", 443), REASON_IP_NON_GLOBAL);
	assert_denied(decide_addr(&rules, "2002:a00:1::1", 443), REASON_IP_NON_GLOBAL);
	assert_denied(decide_addr(&rules, "::ffff:169.254.169.254", 443), REASON_IP_METADATA);
	/* With the embedded range re-allowed too, the address passes. */
	add_cidr(rules.ips_allow, "10.0.0.0/8");
	assert_allowed(decide_addr(&rules, "::ffff:10.0.0.1", 443));
	policy_rules_fini(&rules);
}

static void test_embedded_v4_global_is_allowed(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	assert_allowed(decide_addr(&rules, "::ffff:8.8.8.8", 443));
	assert_allowed(decide_addr(&rules, "64:ff9b::8.8.8.8", 443));
	assert_allowed(decide_addr(&rules, "2002:808:808::1", 443));
	policy_rules_fini(&rules);
}

/* --- ips.deny --- */

static void test_ips_deny_global_v4(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_deny, "8.8.8.0/24");
	struct verdict v = decide_addr(&rules, "8.8.8.8", 443);
	assert_denied(v, REASON_IP_DENIED);
	assert_rule_contains(&v, "ips.deny");
	assert_rule_contains(&v, "8.8.8.0/24");
	assert_denied(decide_ip(&rules, "8.8.8.8", 443), REASON_IP_DENIED);
	assert_allowed(decide_addr(&rules, "8.8.4.4", 443));
	policy_rules_fini(&rules);
}

static void test_ips_deny_global_v6(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_deny, "2606:4700::/32");
	struct verdict v = decide_addr(&rules, "2606:4700:4700::1111", 443);
	assert_denied(v, REASON_IP_DENIED);
	assert_rule_contains(&v, "2606:4700::/32");
	assert_allowed(decide_addr(&rules, "2a00:1450:4001:80b::200e", 443));
	policy_rules_fini(&rules);
}

static void test_ips_deny_names_longest_prefix(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_deny, "8.0.0.0/8");
	add_cidr(rules.ips_deny, "8.8.8.0/24");
	struct verdict v = decide_addr(&rules, "8.8.8.8", 443);
	assert_denied(v, REASON_IP_DENIED);
	assert_rule(v, "ips.deny: 8.8.8.0/24");
	policy_rules_fini(&rules);
}

static void test_ips_deny_applies_to_embedded_v4(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_deny, "8.8.8.0/24");
	assert_denied(decide_addr(&rules, "::ffff:8.8.8.8", 443), REASON_IP_DENIED);
	assert_denied(decide_addr(&rules, "64:ff9b::808:808", 443), REASON_IP_DENIED);
	assert_denied(decide_addr(&rules, "2002:808:808::1", 443), REASON_IP_DENIED);
	policy_rules_fini(&rules);
}

static void test_ips_deny_beats_ips_allow(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "10.0.0.0/8");
	add_cidr(rules.ips_deny, "10.1.0.0/16");
	assert_denied(decide_addr(&rules, "10.1.2.3", 443), REASON_IP_DENIED);
	assert_allowed(decide_addr(&rules, "10.2.0.1", 443));
	/* Even the exact address in ips.allow loses to a deny. */
	add_cidr(rules.ips_allow, "10.1.2.3/32");
	assert_denied(decide_addr(&rules, "10.1.2.3", 443), REASON_IP_DENIED);
	policy_rules_fini(&rules);
}

/* --- domain rules --- */

static void test_domain_deny_beats_allow(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	rules_clear_allow(&rules);
	add_domain(rules.allow, "*.example.com");
	add_domain(rules.allow, "api.example.org");
	add_domain(rules.deny, "bad.example.com");
	add_domain(rules.deny, "*.example.org");
	struct verdict v = decide_name(&rules, "bad.example.com", 443);
	assert_denied(v, REASON_DOMAIN_DENIED);
	assert_rule(v, "deny: bad.example.com");
	/* An exact allow does not beat a wildcard deny. */
	v = decide_name(&rules, "api.example.org", 443);
	assert_denied(v, REASON_DOMAIN_DENIED);
	assert_rule(v, "deny: *.example.org");
	assert_allowed(decide_name(&rules, "good.example.com", 443));
	policy_rules_fini(&rules);
}

static void test_domain_deny_with_default_allow(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_domain(rules.deny, "*.tracker.net");
	struct verdict v = decide_name(&rules, "a.tracker.net", 443);
	assert_denied(v, REASON_DOMAIN_DENIED);
	assert_rule(v, "deny: *.tracker.net");
	assert_allowed(decide_name(&rules, "tracker.net", 443));
	policy_rules_fini(&rules);
}

static void test_rule_text_exact_and_wildcard(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	rules_clear_allow(&rules);
	add_domain(rules.allow, "example.com");
	add_domain(rules.allow, "*.example.com");
	add_domain(rules.allow, "*.github.com");
	struct verdict v = decide_name(&rules, "example.com", 443);
	assert_allowed(v);
	assert_rule(v, "allow: example.com");
	v = decide_name(&rules, "www.example.com", 443);
	assert_allowed(v);
	assert_rule(v, "allow: *.example.com");
	v = decide_name(&rules, "api.github.com", 443);
	assert_allowed(v);
	assert_rule(v, "allow: *.github.com");
	policy_rules_fini(&rules);
}

static void test_not_on_allow_list(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	rules_clear_allow(&rules);
	add_domain(rules.allow, "*.github.com");
	struct verdict v = decide_name(&rules, "evil.com", 443);
	assert_denied(v, REASON_DOMAIN_NOT_ALLOWED);
	assert_rule_contains(&v, "allow:");
	/* A suffix wildcard does not cover the name itself. */
	assert_denied(decide_name(&rules, "github.com", 443), REASON_DOMAIN_NOT_ALLOWED);
	/* Nor a name that merely ends the same way. */
	assert_denied(decide_name(&rules, "evilgithub.com", 443), REASON_DOMAIN_NOT_ALLOWED);
	policy_rules_fini(&rules);
}

static void test_literal_ip_needs_allow_pattern(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	rules_clear_allow(&rules);
	add_domain(rules.allow, "example.com");
	assert_denied(decide_ip(&rules, "8.8.8.8", 443), REASON_DOMAIN_NOT_ALLOWED);
	policy_rules_fini(&rules);
}

/* Order for names: deny, then ports (unless an allow pattern pins the port), then allow. The
 * deny rule is the more specific reason to report. */
static void test_port_checked_before_domain_rules(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_domain(rules.deny, "bad.example.com");
	assert_denied(decide_name(&rules, "bad.example.com", 22), REASON_DOMAIN_DENIED);
	assert_denied(decide_name(&rules, "ok.example.com", 22), REASON_PORT_NOT_ALLOWED);
	policy_rules_set_port(&rules, 22, true);
	assert_denied(decide_name(&rules, "bad.example.com", 22), REASON_DOMAIN_DENIED);
	assert_allowed(decide_name(&rules, "good.example.com", 22));
	policy_rules_fini(&rules);
}

/* --- proxy loop --- */

static void test_loop_exact_listener(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "127.0.0.0/8");
	add_listener(&rules, "127.0.0.1", 3128);
	policy_rules_set_port(&rules, 3128, true);
	policy_rules_set_port(&rules, 8080, true);
	struct verdict v = decide_addr(&rules, "127.0.0.1", 3128);
	assert_denied(v, REASON_PROXY_LOOP);
	assert_rule_contains(&v, "127.0.0.1");
	assert_denied(decide_ip(&rules, "127.0.0.1", 3128), REASON_PROXY_LOOP);
	policy_rules_fini(&rules);
}

static void test_no_loop_other_port_or_address(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "127.0.0.0/8");
	add_listener(&rules, "127.0.0.1", 3128);
	policy_rules_set_port(&rules, 3128, true);
	policy_rules_set_port(&rules, 8080, true);
	assert_allowed(decide_addr(&rules, "127.0.0.1", 8080));
	assert_allowed(decide_ip(&rules, "127.0.0.1", 8080));
	/* An exact listener is reached only at its own address. */
	assert_allowed(decide_addr(&rules, "127.0.0.2", 3128));
	policy_rules_fini(&rules);
}

static void test_loop_through_mapped_address(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "127.0.0.0/8");
	add_cidr(rules.ips_allow, "::ffff:0:0/96");
	add_listener(&rules, "127.0.0.1", 3128);
	assert_denied(decide_addr(&rules, "::ffff:127.0.0.1", 3128), REASON_PROXY_LOOP);
	policy_rules_fini(&rules);
}

static void test_loop_wildcard_v4_listener(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "127.0.0.0/8");
	add_cidr(rules.ips_allow, "0.0.0.0/8");
	add_listener(&rules, "0.0.0.0", 3128);
	assert_denied(decide_addr(&rules, "127.0.0.5", 3128), REASON_PROXY_LOOP);
	assert_denied(decide_addr(&rules, "127.0.0.1", 3128), REASON_PROXY_LOOP);
	assert_denied(decide_addr(&rules, "0.0.0.0", 3128), REASON_PROXY_LOOP);
	assert_allowed(decide_addr(&rules, "127.0.0.5", 3129));
	policy_rules_fini(&rules);
}

static void test_loop_wildcard_v6_listener(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "::1/128");
	add_cidr(rules.ips_allow, "127.0.0.0/8");
	add_listener(&rules, "::", 3128);
	assert_denied(decide_addr(&rules, "::1", 3128), REASON_PROXY_LOOP);
	assert_denied(decide_addr(&rules, "127.0.0.1", 3128), REASON_PROXY_LOOP);
	assert_allowed(decide_addr(&rules, "::1", 443));
	policy_rules_fini(&rules);
}

static void test_loop_without_reallow_is_still_denied(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_listener(&rules, "127.0.0.1", 3128);
	struct verdict v = decide_addr(&rules, "127.0.0.1", 3128);
	assert_false(v.allow);
	policy_rules_fini(&rules);
}

static void test_loop_second_listener(void **state)
{
	struct policy_rules rules;
	rules_init(&rules);
	add_cidr(rules.ips_allow, "127.0.0.0/8");
	add_cidr(rules.ips_allow, "::1/128");
	add_listener(&rules, "127.0.0.1", 3128);
	add_listener(&rules, "::1", 3129);
	assert_denied(decide_addr(&rules, "::1", 3129), REASON_PROXY_LOOP);
	assert_allowed(decide_addr(&rules, "::1", 3128));
	assert_allowed(decide_addr(&rules, "127.0.0.1", 3129));
	policy_rules_fini(&rules);
}

int main(void)
{
	static struct CMUnitTest tests[N_BUILTIN + 64];
	size_t n = 0;
	for (size_t i = 0; i < N_BUILTIN; i++) {
		tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_builtin_denied,
									(void *)&builtin_cases[i]);
		tests[n++].name = builtin_cases[i].addr;
	}
	const struct CMUnitTest fixed[] = {
	    cmocka_unit_test(test_default_ports),
	    cmocka_unit_test(test_port_bitmap_set_and_clear),
	    cmocka_unit_test(test_fini_twice_is_harmless),
	    cmocka_unit_test(test_default_allows_global_v4),
	    cmocka_unit_test(test_default_allows_global_v6),
	    cmocka_unit_test(test_default_allows_any_name_on_80_443),
	    cmocka_unit_test(test_default_denies_port_22_by_name),
	    cmocka_unit_test(test_loopback_names_refused),
	    cmocka_unit_test(test_default_denies_port_22_by_ip),
	    cmocka_unit_test(test_literal_ip_judged_by_address_before_port),
	    cmocka_unit_test(test_ips_allow_reallows_private_range),
	    cmocka_unit_test(test_ips_allow_reallows_only_its_range),
	    cmocka_unit_test(test_ips_allow_keeps_port_rules),
	    cmocka_unit_test(test_ips_allow_range_does_not_reallow_metadata),
	    cmocka_unit_test(test_ips_allow_everything_does_not_reallow_metadata),
	    cmocka_unit_test(test_ips_allow_exact_address_reallows_metadata),
	    cmocka_unit_test(test_ips_allow_exact_azure_wire_server),
	    cmocka_unit_test(test_embedded_v4_judged_as_well),
	    cmocka_unit_test(test_embedded_v4_global_is_allowed),
	    cmocka_unit_test(test_ips_deny_global_v4),
	    cmocka_unit_test(test_ips_deny_global_v6),
	    cmocka_unit_test(test_ips_deny_names_longest_prefix),
	    cmocka_unit_test(test_ips_deny_applies_to_embedded_v4),
	    cmocka_unit_test(test_ips_deny_beats_ips_allow),
	    cmocka_unit_test(test_domain_deny_beats_allow),
	    cmocka_unit_test(test_domain_deny_with_default_allow),
	    cmocka_unit_test(test_rule_text_exact_and_wildcard),
	    cmocka_unit_test(test_not_on_allow_list),
	    cmocka_unit_test(test_literal_ip_needs_allow_pattern),
	    cmocka_unit_test(test_port_checked_before_domain_rules),
	    cmocka_unit_test(test_loop_exact_listener),
	    cmocka_unit_test(test_no_loop_other_port_or_address),
	    cmocka_unit_test(test_loop_through_mapped_address),
	    cmocka_unit_test(test_loop_wildcard_v4_listener),
	    cmocka_unit_test(test_loop_wildcard_v6_listener),
	    cmocka_unit_test(test_loop_without_reallow_is_still_denied),
	    cmocka_unit_test(test_loop_second_listener),
	};
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	return _cmocka_run_group_tests("policy", tests, n, NULL, NULL);
}
