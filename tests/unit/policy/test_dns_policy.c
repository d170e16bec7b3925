/* Tests src/policy/dns_policy.c (and policy_decide_name, policy_scope_dns in policy.c): which
 * names and types an agent may ask, route hosts, loopback and malformed names, the modes; the
 * answers judged (rebinding: mixed or all-internal answers, ips.allow, metadata, embedded IPv4,
 * no port rule); the TTL cap, the rate check and the response code of a verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "parse/authority.h"
#include "parse/cidr.h"
#include "policy/cidr_set.h"
#include "policy/dns_policy.h"
#include "policy/domain_set.h"
#include "policy/route.h"

static struct policy_rules rules;
static struct agent base, research, coder;
static struct route routes[2];

static void add_domain(struct domain_set **set, const char *pattern)
{
	const char *colon = strchr(pattern, ':'), *detail = NULL;
	int rc;

	if (!*set)
		*set = domain_set_new();
	assert_non_null(*set);
	if (colon)
		rc = domain_set_add_port(*set, slice_make(pattern, (size_t)(colon - pattern)),
					 (uint16_t)strtoul(colon + 1, NULL, 10), &detail);
	else
		rc = domain_set_add(*set, slice_from_cstr(pattern), &detail);
	if (rc != 0)
		fail_msg("bad test pattern %s: %s", pattern, detail ? detail : "?");
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

static struct ip_addr ip(const char *text)
{
	struct ip_addr a;
	if (authority_parse_ip_strict(slice_from_cstr(text), &a) != 0)
		fail_msg("bad test address %s", text);
	return a;
}

static int setup(void **state)
{
	assert_int_equal(policy_rules_init(&rules), 0);
	agent_init(&base);
	agent_init(&research);
	agent_init(&coder);
	strcpy(research.name, "research");
	strcpy(coder.name, "coder");
	memset(routes, 0, sizeof(routes));
	strcpy(routes[0].host, "search.internal");
	strcpy(routes[0].agents[0], "research");
	routes[0].n_agents = 1;
	strcpy(routes[1].host, "docs.internal"); /* every agent */
	return 0;
}

static int teardown(void **state)
{
	policy_rules_fini(&rules);
	agent_fini(&base);
	agent_fini(&research);
	agent_fini(&coder);
	return 0;
}

static struct policy_scope scope_of(const struct agent *a)
{
	struct policy_scope s = {.rules = &rules, .base = &base, .agent = a};
	return s;
}

static const struct route *last_route;

static struct verdict ask(const struct agent *a, const char *name, uint16_t qtype)
{
	struct policy_scope s = scope_of(a);
	struct verdict v;

	memset(&v, 0xa5, sizeof(v));
	v.rule[sizeof(v.rule) - 1] = '\0';
	last_route = dns_policy_decide_name(&s, routes, 2, name, strlen(name), qtype, &v);
	return v;
}

static void assert_allowed(struct verdict v, const char *rule)
{
	if (!v.allow || v.report || v.reason != REASON_ALLOWED)
		fail_msg("not allowed: %s (%s)", reason_token(v.reason), v.rule);
	assert_string_equal(v.rule, rule);
}

static void assert_refused(struct verdict v, enum reason reason, const char *rule)
{
	if (v.allow)
		fail_msg("allowed: %s", v.rule);
	assert_false(v.report);
	assert_string_equal(reason_token(v.reason), reason_token(reason));
	assert_string_equal(v.rule, rule);
}

static void assert_reported(struct verdict v, enum reason reason, const char *rule)
{
	assert_true(v.allow);
	assert_true(v.report);
	assert_string_equal(reason_token(v.reason), reason_token(reason));
	assert_string_equal(v.rule, rule);
}

/* ---- names ------------------------------------------------------------------------------- */

static void test_default_allows_every_name(void **state)
{
	assert_allowed(ask(&coder, "example.com", DNS_TYPE_A), "allow: *");
	assert_null(last_route);
	assert_allowed(ask(NULL, "a.b.example.org", DNS_TYPE_AAAA), "allow: *");
}

/* The names of an HTTP request's host: the same allow and deny sets, inherited or the agent's. */
static void test_allow_and_deny_patterns(void **state)
{
	domain_set_free(rules.allow);
	rules.allow = NULL;
	add_domain(&rules.allow, "*.example.com");
	add_domain(&rules.allow, "pypi.org");
	add_domain(&rules.deny, "bad.example.com");
	add_domain(&rules.deny, "*.evil.example.com");

	assert_allowed(ask(&coder, "www.example.com", DNS_TYPE_A), "allow: *.example.com");
	assert_allowed(ask(&coder, "a.b.example.com", DNS_TYPE_A), "allow: *.example.com");
	assert_allowed(ask(&coder, "pypi.org", DNS_TYPE_AAAA), "allow: pypi.org");
	/* A wildcard covers names below it, not the name itself nor a lookalike. */
	assert_refused(ask(&coder, "example.com", DNS_TYPE_A), REASON_DOMAIN_NOT_ALLOWED,
		       "allow: no pattern matches");
	assert_refused(ask(&coder, "evilexample.com", DNS_TYPE_A), REASON_DOMAIN_NOT_ALLOWED,
		       "allow: no pattern matches");
	/* Deny wins over allow, exact or wildcard. */
	assert_refused(ask(&coder, "bad.example.com", DNS_TYPE_A), REASON_DOMAIN_DENIED,
		       "deny: bad.example.com");
	assert_refused(ask(&coder, "x.evil.example.com", DNS_TYPE_AAAA), REASON_DOMAIN_DENIED,
		       "deny: *.evil.example.com");
	/* A data-carrying name under an allowed parent is still a name under it... */
	assert_allowed(ask(&coder, "c2VjcmV0.example.com", DNS_TYPE_A), "allow: *.example.com");
	/* ...and under any other, refused. */
	assert_refused(ask(&coder, "c2VjcmV0.attacker.example", DNS_TYPE_A),
		       REASON_DOMAIN_NOT_ALLOWED, "allow: no pattern matches");
	/* Case and one trailing dot are normalised as for a request host. */
	assert_allowed(ask(&coder, "WWW.Example.COM.", DNS_TYPE_A), "allow: *.example.com");
}

static void test_agent_rules_replace_inherited_ones(void **state)
{
	add_domain(&rules.deny, "blocked.example");
	add_domain(&research.allow, "*.wikipedia.org");

	/* research: its own allow (no "*"), the inherited deny. */
	assert_allowed(ask(&research, "en.wikipedia.org", DNS_TYPE_A), "allow: *.wikipedia.org");
	assert_refused(ask(&research, "example.com", DNS_TYPE_A), REASON_DOMAIN_NOT_ALLOWED,
		       "allow: no pattern matches");
	assert_refused(ask(&coder, "blocked.example", DNS_TYPE_A), REASON_DOMAIN_DENIED,
		       "deny: blocked.example");
	/* coder inherits the top-level allow "*". */
	assert_allowed(ask(&coder, "example.com", DNS_TYPE_A), "allow: *");
	/* An agent's own deny replaces the inherited one. */
	add_domain(&coder.deny, "other.example");
	assert_allowed(ask(&coder, "blocked.example", DNS_TYPE_A), "allow: *");
	assert_refused(ask(&coder, "other.example", DNS_TYPE_A), REASON_DOMAIN_DENIED,
		       "deny: other.example");
}

/* A question has no port: a pattern pinned to one allows the name (the connection's port is
 * judged when it comes); a deny pinned to one port leaves the name reachable on the others. */
static void test_port_pinned_patterns(void **state)
{
	add_domain(&research.allow, "api.example.com:8443");
	add_domain(&research.allow, "git.example.com:22");
	add_domain(&research.allow, "git.example.com:2222");
	add_domain(&research.allow, "*.pinned.example:8080");
	add_domain(&research.deny, "git.example.com:22");
	add_domain(&research.deny, "both.example:9000");
	add_domain(&research.allow, "both.example:9000");

	assert_allowed(ask(&research, "api.example.com", DNS_TYPE_A),
		       "allow: api.example.com:8443");
	assert_allowed(ask(&research, "a.pinned.example", DNS_TYPE_A),
		       "allow: *.pinned.example:8080");
	/* Denied on 22, still allowed on 2222. */
	assert_allowed(ask(&research, "git.example.com", DNS_TYPE_A),
		       "allow: git.example.com:2222");
	/* Denied on the only port it is allowed on: no port is left. */
	assert_refused(ask(&research, "both.example", DNS_TYPE_A), REASON_DOMAIN_DENIED,
		       "deny: both.example:9000");
	/* A pinned deny does not refuse a name "*" allows on every other port. */
	add_domain(&coder.deny, "x.example.com:8080");
	assert_allowed(ask(&coder, "x.example.com", DNS_TYPE_A), "allow: *");
	/* The ports list is not consulted: a question is no connection. */
	policy_rules_set_port(&rules, 443, false);
	policy_rules_set_port(&rules, 80, false);
	assert_allowed(ask(&coder, "y.example.com", DNS_TYPE_A), "allow: *");
}

static void test_routes_for_their_agents(void **state)
{
	domain_set_free(rules.allow);
	rules.allow = NULL;
	add_domain(&rules.allow, "pypi.org");

	/* Allowed although no allow pattern names it: the operator granted the host. */
	assert_allowed(ask(&research, "search.internal", DNS_TYPE_A), "route: search.internal");
	assert_ptr_equal(last_route, &routes[0]);
	assert_allowed(ask(&research, "Search.Internal.", DNS_TYPE_AAAA), "route: search.internal");
	/* Not listed: refused, and no mode relaxes it. */
	assert_refused(ask(&coder, "search.internal", DNS_TYPE_A), REASON_ROUTE_NOT_ALLOWED,
		       "route: search.internal (agent coder not listed)");
	assert_ptr_equal(last_route, &routes[0]);
	coder.mode = AGENT_OPEN;
	coder.has_mode = true;
	assert_refused(ask(&coder, "search.internal", DNS_TYPE_A), REASON_ROUTE_NOT_ALLOWED,
		       "route: search.internal (agent coder not listed)");
	assert_refused(ask(NULL, "search.internal", DNS_TYPE_A), REASON_ROUTE_NOT_ALLOWED,
		       "route: search.internal (agent  not listed)");
	/* A route without agents is every agent's. */
	assert_allowed(ask(&coder, "docs.internal", DNS_TYPE_A), "route: docs.internal");
	assert_ptr_equal(last_route, &routes[1]);
	/* sluice answers a route host itself, with addresses: other types are not asked upstream,
	 * even listed ones. */
	research.dns.types[0] = DNS_TYPE_MX;
	research.dns.n_types = 1;
	research.dns.has_types = true;
	assert_refused(ask(&research, "search.internal", DNS_TYPE_MX), REASON_DNS_TYPE,
		       "route: search.internal answers addresses only, not MX");
	assert_allowed(ask(&research, "search.internal", DNS_TYPE_HTTPS), "route: search.internal");
	/* A name below a route host is no route host. */
	assert_refused(ask(&research, "x.search.internal", DNS_TYPE_A), REASON_DOMAIN_NOT_ALLOWED,
		       "allow: no pattern matches");
	assert_null(last_route);
}

static void test_loopback_names_refused_in_every_mode(void **state)
{
	assert_refused(ask(&coder, "localhost", DNS_TYPE_A), REASON_LOOPBACK_NAME,
		       "builtin: loopback name localhost (RFC 6761)");
	assert_refused(ask(&coder, "api.localhost", DNS_TYPE_AAAA), REASON_LOOPBACK_NAME,
		       "builtin: loopback name *.localhost (RFC 6761)");
	coder.mode = AGENT_OPEN;
	coder.has_mode = true;
	assert_refused(ask(&coder, "LocalHost.", DNS_TYPE_A), REASON_LOOPBACK_NAME,
		       "builtin: loopback name localhost (RFC 6761)");
	base.mode = AGENT_REPORT;
	base.has_mode = true;
	assert_refused(ask(NULL, "a.b.localhost", DNS_TYPE_A), REASON_LOOPBACK_NAME,
		       "builtin: loopback name *.localhost (RFC 6761)");
	/* Names that only contain the word are ordinary. */
	assert_reported(ask(NULL, "localhost.example.com", DNS_TYPE_TXT), REASON_DNS_TYPE,
			"dns.types: TXT not listed");
	assert_allowed(ask(&coder, "notlocalhost", DNS_TYPE_A), "allow: *");
}

static void test_names_that_are_no_host_names(void **state)
{
	static const struct {
		const char *name;
		size_t len;
		const char *rule;
	} bad[] = {
	    {"", 0, "dns: not a host name (the root)"},
	    {"ex?mple.com", 11,
	     "dns: not a host name (a byte other than a letter, digit, '-' or '_' in a label)"},
	    {"a b.example.com", 15,
	     "dns: not a host name (a byte other than a letter, digit, '-' or '_' in a label)"},
	    {"a\0b.example.com", 15,
	     "dns: not a host name (a byte other than a letter, digit, '-' or '_' in a label)"},
	    {"b\xc3\xbc"
	     "cher.de",
	     10, "dns: not a host name (a byte other than a letter, digit, '-' or '_' in a label)"},
	    {"10.0.0.1", 8, "dns: not a host name (an IP address written as a name)"},
	    {"2852039166", 10, "dns: not a host name (an IP address written as a name)"},
	};
	struct policy_scope s = scope_of(&coder);
	struct verdict v;

	coder.mode = AGENT_OPEN; /* no mode relaxes it */
	coder.has_mode = true;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&v, 0xa5, sizeof(v));
		assert_null(
		    dns_policy_decide_name(&s, routes, 2, bad[i].name, bad[i].len, DNS_TYPE_A, &v));
		assert_refused(v, REASON_DNS_BAD_NAME, bad[i].rule);
	}
	/* parse/authority's label rules: an empty label, a label over 63 bytes, a name ending in
	 * a number that is no address. */
	static const char *const shapes[] = {
	    "a..example.com",
	    ".example.com",
	    "foo.123",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com",
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct verdict w = ask(&coder, shapes[i], DNS_TYPE_A);
		assert_false(w.allow);
		assert_int_equal(w.reason, REASON_DNS_BAD_NAME);
		assert_true(strncmp(w.rule, "dns: not a host name (", 22) == 0);
	}
	/* Underscore labels are host names here as in HTTP (service names, _dmarc). */
	assert_allowed(ask(&coder, "_sip._tcp.example.com", DNS_TYPE_A), "allow: *");
}

/* ---- types ------------------------------------------------------------------------------- */

static void test_types_always_answered(void **state)
{
	static const uint16_t always[] = {DNS_TYPE_A, DNS_TYPE_AAAA, DNS_TYPE_CNAME, DNS_TYPE_HTTPS,
					  DNS_TYPE_SVCB};
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++) {
		assert_true(dns_policy_type_always(always[i]));
		assert_allowed(ask(&coder, "example.com", always[i]), "allow: *");
	}
	assert_false(dns_policy_type_always(DNS_TYPE_TXT));
	assert_false(dns_policy_type_always(DNS_TYPE_MX));
	assert_false(dns_policy_type_always(DNS_TYPE_NS));
}

static void test_other_types_need_dns_types(void **state)
{
	assert_refused(ask(&coder, "example.com", DNS_TYPE_TXT), REASON_DNS_TYPE,
		       "dns.types: TXT not listed");
	assert_refused(ask(&coder, "example.com", DNS_TYPE_MX), REASON_DNS_TYPE,
		       "dns.types: MX not listed");
	assert_refused(ask(&coder, "example.com", DNS_TYPE_PTR), REASON_DNS_TYPE,
		       "dns.types: PTR not listed");
	assert_refused(ask(&coder, "example.com", 4000), REASON_DNS_TYPE,
		       "dns.types: TYPE4000 not listed");
	/* Listed at the top level: inherited. */
	base.dns.types[0] = DNS_TYPE_MX;
	base.dns.types[1] = DNS_TYPE_SRV;
	base.dns.n_types = 2;
	base.dns.has_types = true;
	assert_allowed(ask(&coder, "example.com", DNS_TYPE_MX), "allow: *");
	assert_allowed(ask(&coder, "_x._tcp.example.com", DNS_TYPE_SRV), "allow: *");
	assert_refused(ask(&coder, "example.com", DNS_TYPE_TXT), REASON_DNS_TYPE,
		       "dns.types: TXT not listed");
	/* An agent's list replaces it; [] means no extra type at all. */
	coder.dns.types[0] = DNS_TYPE_TXT;
	coder.dns.n_types = 1;
	coder.dns.has_types = true;
	assert_allowed(ask(&coder, "example.com", DNS_TYPE_TXT), "allow: *");
	assert_refused(ask(&coder, "example.com", DNS_TYPE_MX), REASON_DNS_TYPE,
		       "dns.types: MX not listed");
	research.dns.has_types = true;
	assert_refused(ask(&research, "example.com", DNS_TYPE_MX), REASON_DNS_TYPE,
		       "dns.types: MX not listed");
}

static void test_meta_types_never_answered(void **state)
{
	coder.mode = AGENT_OPEN;
	coder.has_mode = true;
	assert_refused(ask(&coder, "example.com", DNS_TYPE_ANY), REASON_DNS_TYPE,
		       "builtin: ANY is never answered (RFC 8482)");
	assert_refused(ask(&coder, "example.com", 252), REASON_DNS_TYPE,
		       "builtin: AXFR is never answered (a meta or reserved type, RFC 6895)");
	assert_refused(ask(&coder, "example.com", DNS_TYPE_OPT), REASON_DNS_TYPE,
		       "builtin: OPT is never answered (a meta or reserved type, RFC 6895)");
	assert_refused(ask(&coder, "example.com", 0), REASON_DNS_TYPE,
		       "builtin: TYPE0 is never answered (a meta or reserved type, RFC 6895)");
	assert_refused(ask(&coder, "example.com", 65535), REASON_DNS_TYPE,
		       "builtin: TYPE65535 is never answered (a meta or reserved type, RFC 6895)");
	assert_true(dns_policy_type_never(128));
	assert_false(dns_policy_type_never(127));
	assert_false(dns_policy_type_never(256));
	/* Listing ANY (the config refuses it) would change nothing. */
	coder.dns.types[0] = DNS_TYPE_ANY;
	coder.dns.n_types = 1;
	coder.dns.has_types = true;
	coder.mode = AGENT_ENFORCE;
	assert_refused(ask(&coder, "example.com", DNS_TYPE_ANY), REASON_DNS_TYPE,
		       "builtin: ANY is never answered (RFC 8482)");
}

/* A refused name keeps its own reason whatever the type: the log says which name was asked. */
static void test_name_refusal_before_type(void **state)
{
	domain_set_free(rules.allow);
	rules.allow = NULL;
	add_domain(&rules.allow, "example.com");
	add_domain(&rules.deny, "exfil.example");
	assert_refused(ask(&coder, "data.exfil.example", DNS_TYPE_TXT), REASON_DOMAIN_NOT_ALLOWED,
		       "allow: no pattern matches");
	assert_refused(ask(&coder, "exfil.example", DNS_TYPE_TXT), REASON_DOMAIN_DENIED,
		       "deny: exfil.example");
}

/* Report and open relax the name and type rules as they relax an HTTP request's. */
static void test_modes(void **state)
{
	add_domain(&research.allow, "example.com");
	research.mode = AGENT_REPORT;
	research.has_mode = true;
	assert_reported(ask(&research, "other.example", DNS_TYPE_A), REASON_DOMAIN_NOT_ALLOWED,
			"allow: no pattern matches");
	assert_reported(ask(&research, "example.com", DNS_TYPE_MX), REASON_DNS_TYPE,
			"dns.types: MX not listed");
	/* The name's reason is the one reported, not the type's. */
	assert_reported(ask(&research, "other.example", DNS_TYPE_MX), REASON_DOMAIN_NOT_ALLOWED,
			"allow: no pattern matches");
	assert_allowed(ask(&research, "example.com", DNS_TYPE_A), "allow: example.com");

	research.mode = AGENT_OPEN;
	assert_allowed(ask(&research, "other.example", DNS_TYPE_A), "mode: open");
	assert_allowed(ask(&research, "other.example", DNS_TYPE_TXT), "mode: open");
	assert_allowed(ask(&research, "example.com", DNS_TYPE_MX), "allow: example.com");
	/* The top-level mode is inherited. */
	base.mode = AGENT_REPORT;
	base.has_mode = true;
	assert_reported(ask(&coder, "example.com", DNS_TYPE_TXT), REASON_DNS_TYPE,
			"dns.types: TXT not listed");
}

/* ---- names an answer leads to ------------------------------------------------------------ */

static bool alias(const struct agent *a, const char *name, struct verdict *v)
{
	struct policy_scope s = scope_of(a);
	memset(v, 0xa5, sizeof(*v));
	v->allow = true;
	v->report = false;
	strcpy(v->rule, "untouched");
	return dns_policy_judge_alias(&s, "cname", name, strlen(name), v);
}

static void test_alias_judged_by_deny_and_loopback_only(void **state)
{
	struct verdict v;
	add_domain(&research.allow, "example.com");
	add_domain(&research.deny, "*.blocked.example");
	add_domain(&research.deny, "pinned.example:443");
	/* Not in allow, and still passes: v is left as it was. */
	assert_true(alias(&research, "edge.cdn.example", &v));
	assert_string_equal(v.rule, "untouched");
	assert_true(alias(&research, "pinned.example", &v)); /* reachable on other ports */
	assert_false(alias(&research, "x.blocked.example", &v));
	assert_refused(v, REASON_DOMAIN_DENIED, "cname x.blocked.example: deny: *.blocked.example");
	assert_false(alias(&research, "db.localhost", &v));
	assert_refused(v, REASON_LOOPBACK_NAME,
		       "cname db.localhost: builtin: loopback name *.localhost (RFC 6761)");
	assert_false(alias(&research, "a?b.example", &v));
	assert_string_equal(reason_token(v.reason), reason_token(REASON_DNS_BAD_NAME));
	assert_false(alias(&research, "192.0.2.1", &v));
	/* Report mode reports a denial and lets it pass; never the loopback names. */
	research.mode = AGENT_REPORT;
	research.has_mode = true;
	assert_true(alias(&research, "x.blocked.example", &v));
	assert_reported(v, REASON_DOMAIN_DENIED,
			"cname x.blocked.example: deny: *.blocked.example");
	assert_false(alias(&research, "localhost", &v));
}

/* ---- answers ----------------------------------------------------------------------------- */

static struct verdict judge(const char *const *texts, size_t n)
{
	struct ip_addr addrs[8];
	struct verdict v;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		addrs[i] = ip(texts[i]);
	memset(&v, 0xa5, sizeof(v));
	dns_policy_judge_answers(&rules, addrs, n, &v);
	return v;
}

#define JUDGE(...)                                                                                 \
	judge((const char *const[]){__VA_ARGS__},                                                  \
	      sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void test_answers_global_and_empty(void **state)
{
	struct verdict v;

	memset(&v, 0xa5, sizeof(v));
	dns_policy_judge_answers(&rules, NULL, 0, &v); /* NODATA */
	assert_allowed(v, "builtin: global address");
	assert_allowed(JUDGE("93.184.215.14"), "builtin: global address");
	assert_allowed(
	    JUDGE("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "151.101.0.223"),
	    "builtin: global address");
}

static void test_answers_internal_refused(void **state)
{
	assert_refused(JUDGE("10.0.0.1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 10.0.0.1: builtin: private-use 10.0.0.0/8");
	assert_refused(JUDGE("192.168.1.10", "10.0.0.1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 192.168.1.10: builtin: private-use 192.168.0.0/16");
	assert_refused(JUDGE("127.0.0.1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 127.0.0.1: builtin: loopback 127.0.0.0/8");
	assert_refused(JUDGE("0.0.0.0"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 0.0.0.0: builtin: this-network 0.0.0.0/8");
	assert_refused(JUDGE("fd00::1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer fd00::1: builtin: unique-local fc00::/7");
	assert_refused(JUDGE("::1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer ::1: builtin: loopback ::1/128");
	/* IPv6 forms that embed an internal IPv4 address are judged by it too. */
	assert_refused(JUDGE("::ffff:127.0.0.1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer ::ffff:127.0.0.1: builtin: loopback 127.0.0.0/8");
	assert_refused(JUDGE("64:ff9b::a00:1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 64:ff9b::a00:1: builtin: private-use 10.0.0.0/8");
}

/* One internal address among global ones is the rebinding shape: the whole answer goes. */
static void test_answers_mixed_refused(void **state)
{
	assert_refused(JUDGE("93.184.215.14", "10.0.0.1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 10.0.0.1 (1 of 2): builtin: private-use 10.0.0.0/8");
	assert_refused(JUDGE("10.0.0.1", "93.184.215.14", "169.254.169.254"),
		       REASON_DNS_INTERNAL_ANSWER,
		       "answer 10.0.0.1 (2 of 3): builtin: private-use 10.0.0.0/8");
	assert_refused(JUDGE("2606:2800:21f:cb07:6820:80da:af6b:8b2c", "fe80::1"),
		       REASON_DNS_INTERNAL_ANSWER,
		       "answer fe80::1 (1 of 2): builtin: link-local fe80::/10");
}

static void test_answers_metadata_refused(void **state)
{
	assert_refused(JUDGE("169.254.169.254"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 169.254.169.254: builtin: cloud-metadata 169.254.169.254");
	assert_refused(JUDGE("::ffff:169.254.169.254"), REASON_DNS_INTERNAL_ANSWER,
		       "answer ::ffff:169.254.169.254: builtin: cloud-metadata "
		       "::ffff:169.254.169.254");
	assert_refused(JUDGE("fd00:ec2::254"), REASON_DNS_INTERNAL_ANSWER,
		       "answer fd00:ec2::254: builtin: cloud-metadata fd00:ec2::254");
	/* Re-allowing the range does not lift the metadata block. */
	add_cidr(rules.ips_allow, "169.254.0.0/16");
	assert_refused(JUDGE("169.254.169.254"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 169.254.169.254: builtin: cloud-metadata 169.254.169.254");
	assert_allowed(JUDGE("169.254.1.1"), "builtin: global address");
}

static void test_answers_ips_allow_and_deny(void **state)
{
	add_cidr(rules.ips_allow, "10.20.0.0/16");
	add_cidr(rules.ips_deny, "10.20.30.66/32");
	add_cidr(rules.ips_deny, "8.8.8.0/24");

	assert_allowed(JUDGE("10.20.1.5"), "builtin: global address");
	assert_allowed(JUDGE("10.20.1.5", "93.184.215.14"), "builtin: global address");
	assert_refused(JUDGE("10.21.0.1"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 10.21.0.1: builtin: private-use 10.0.0.0/8");
	assert_refused(JUDGE("10.20.1.5", "10.20.30.66"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 10.20.30.66 (1 of 2): ips.deny: 10.20.30.66/32");
	assert_refused(JUDGE("8.8.8.8"), REASON_DNS_INTERNAL_ANSWER,
		       "answer 8.8.8.8: ips.deny: 8.8.8.0/24");
	/* ips.allow names the IPv4 range; the IPv4-mapped form needs its own entry. */
	assert_refused(JUDGE("::ffff:10.20.1.5"), REASON_DNS_INTERNAL_ANSWER,
		       "answer ::ffff:10.20.1.5: builtin: private-use 10.0.0.0/8");
}

/* An answer is no connection: the loop check (a port check) and the ports list never refuse it. */
static void test_answers_no_port_rule(void **state)
{
	rules.listeners[0].addr = ip("10.0.0.5");
	rules.listeners[0].port = 3128;
	rules.listeners[1].addr = ip("0.0.0.0");
	rules.listeners[1].port = 53;
	rules.n_listeners = 2;
	add_cidr(rules.ips_allow, "10.0.0.0/8");
	add_cidr(rules.ips_allow, "127.0.0.0/8");
	policy_rules_set_port(&rules, 80, false);
	policy_rules_set_port(&rules, 443, false);

	assert_allowed(JUDGE("10.0.0.5"), "builtin: global address");
	assert_allowed(JUDGE("127.0.0.1", "10.0.0.5"), "builtin: global address");
	/* ...while a connection to the listener itself is still a loop. */
	struct verdict v;
	struct ip_addr a = ip("10.0.0.5");
	policy_decide_addr(&rules, &a, 3128, &v);
	assert_false(v.allow);
	assert_int_equal(v.reason, REASON_PROXY_LOOP);
}

/* ---- TTL, rate, response codes ----------------------------------------------------------- */

static void test_ttl_capped(void **state)
{
	struct policy_scope s = scope_of(&coder);

	assert_int_equal(dns_policy_ttl(&s, 60), 60);
	assert_int_equal(dns_policy_ttl(&s, 300), 300);
	assert_int_equal(dns_policy_ttl(&s, 301), 300);
	assert_int_equal(dns_policy_ttl(&s, UINT32_MAX), 300);
	assert_int_equal(dns_policy_ttl(&s, 0), 0);
	base.dns.max_ttl = 30;
	base.dns.has_max_ttl = true;
	assert_int_equal(dns_policy_ttl(&s, 60), 30);
	coder.dns.max_ttl = 86400;
	coder.dns.has_max_ttl = true;
	assert_int_equal(dns_policy_ttl(&s, 3600), 3600);
	assert_int_equal(dns_policy_ttl(&s, 0), 0);
}

static void test_rate_check(void **state)
{
	struct policy_scope s = scope_of(&coder);
	struct token_bucket tb;
	struct policy_dns d;
	struct verdict v;

	coder.dns.rate = 2;
	coder.dns.has_rate = true;
	policy_scope_dns(&s, &d);
	assert_int_equal(d.burst, 4);
	token_bucket_init(&tb, d.rate, d.burst, 1000);
	for (int i = 0; i < 4; i++)
		assert_true(dns_policy_check_rate(&s, &tb, 1000, &v));
	memset(&v, 0xa5, sizeof(v));
	assert_false(dns_policy_check_rate(&s, &tb, 1000, &v));
	assert_refused(v, REASON_DNS_RATE_LIMITED, "dns.rate: 2/s, burst 4");
	/* Half a second later, one more (two a second); report and open do not lift it. */
	coder.mode = AGENT_OPEN;
	coder.has_mode = true;
	assert_true(dns_policy_check_rate(&s, &tb, 1500, &v));
	assert_false(dns_policy_check_rate(&s, &tb, 1500, &v));
	assert_false(v.allow);
}

static int rcode_of(const struct agent *a, bool allow, bool report, enum reason reason)
{
	struct policy_scope s = scope_of(a);
	struct verdict v = {.allow = allow, .report = report, .reason = reason};
	return dns_policy_rcode(&s, &v);
}

static void test_rcodes(void **state)
{
	assert_int_equal(rcode_of(&coder, true, false, REASON_ALLOWED), 0);
	assert_int_equal(rcode_of(&coder, true, true, REASON_DOMAIN_NOT_ALLOWED), 0);
	/* A refused name: NXDOMAIN by default... */
	assert_int_equal(rcode_of(&coder, false, false, REASON_DOMAIN_NOT_ALLOWED), 3);
	assert_int_equal(rcode_of(&coder, false, false, REASON_DOMAIN_DENIED), 3);
	assert_int_equal(rcode_of(&coder, false, false, REASON_LOOPBACK_NAME), 3);
	assert_int_equal(rcode_of(&coder, false, false, REASON_ROUTE_NOT_ALLOWED), 3);
	assert_int_equal(rcode_of(&coder, false, false, REASON_DNS_BAD_NAME), 3);
	/* ...REFUSED with dns.denied: refused, inherited or the agent's own. */
	base.dns.denied = AGENT_DNS_REFUSED;
	base.dns.has_denied = true;
	assert_int_equal(rcode_of(&coder, false, false, REASON_DOMAIN_NOT_ALLOWED), 5);
	research.dns.denied = AGENT_DNS_NXDOMAIN;
	research.dns.has_denied = true;
	assert_int_equal(rcode_of(&research, false, false, REASON_DOMAIN_DENIED), 3);
	/* The others whatever dns.denied says. */
	assert_int_equal(rcode_of(&research, false, false, REASON_DNS_TYPE), 5);
	assert_int_equal(rcode_of(&research, false, false, REASON_DNS_RATE_LIMITED), 5);
	assert_int_equal(rcode_of(&research, false, false, REASON_DNS_INTERNAL_ANSWER), 5);
	assert_int_equal(rcode_of(&research, false, false, REASON_UNKNOWN_AGENT), 5);
	assert_int_equal(rcode_of(&research, false, false, REASON_DNS_MALFORMED), 1);
	assert_int_equal(rcode_of(&research, false, false, REASON_DNS_UPSTREAM_FAILED), 2);
	assert_int_equal(rcode_of(&research, false, false, REASON_DNS_TIMEOUT), 2);
	assert_int_equal(rcode_of(&research, false, false, REASON_INTERNAL), 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_default_allows_every_name),
	    T(test_allow_and_deny_patterns),
	    T(test_agent_rules_replace_inherited_ones),
	    T(test_port_pinned_patterns),
	    T(test_routes_for_their_agents),
	    T(test_loopback_names_refused_in_every_mode),
	    T(test_names_that_are_no_host_names),
	    T(test_types_always_answered),
	    T(test_other_types_need_dns_types),
	    T(test_meta_types_never_answered),
	    T(test_name_refusal_before_type),
	    T(test_modes),
	    T(test_alias_judged_by_deny_and_loopback_only),
	    T(test_answers_global_and_empty),
	    T(test_answers_internal_refused),
	    T(test_answers_mixed_refused),
	    T(test_answers_metadata_refused),
	    T(test_answers_ips_allow_and_deny),
	    T(test_answers_no_port_rule),
	    T(test_ttl_capped),
	    T(test_rate_check),
	    T(test_rcodes),
	};
	return cmocka_run_group_tests_name("dns_policy", tests, NULL, NULL);
}
