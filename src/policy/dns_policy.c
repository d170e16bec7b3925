#include "policy/dns_policy.h"

#include <stdio.h>
#include <string.h>

#include "parse/authority.h"
#include "policy/route.h"

bool dns_policy_type_always(uint16_t qtype)
{
	return qtype == DNS_TYPE_A || qtype == DNS_TYPE_AAAA || qtype == DNS_TYPE_CNAME ||
	       qtype == DNS_TYPE_HTTPS || qtype == DNS_TYPE_SVCB;
}

bool dns_policy_type_never(uint16_t qtype)
{
	return qtype == 0 || qtype == 65535 || qtype == DNS_TYPE_OPT ||
	       (qtype >= 128 && qtype <= 255);
}

/* "MX", or "TYPE64000" for a number without a mnemonic: rule texts name types as dig does. */
static void type_text(uint16_t qtype, char out[16])
{
	const char *name = dns_type_name(qtype);

	if (name)
		snprintf(out, 16, "%s", name);
	else
		snprintf(out, 16, "TYPE%u", (unsigned)qtype);
}

/* A host name as HTTP would take it, normalised into a: only the bytes of a host name's labels
 * (parse/dns_msg writes any other as '?'), then parse/authority's rules, and no IP literal. */
static bool dns_name_is_host(const char *name, size_t len, struct authority *a, const char **detail)
{
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.')) {
			*detail = "a byte other than a letter, digit, '-' or '_' in a label";
			return false;
		}
	}
	if (len == 0) {
		*detail = "the root";
		return false;
	}
	if (authority_parse_host(slice_make(name, len), a, detail) != 0)
		return false;
	if (a->kind != HOST_NAME) {
		*detail = "an IP address written as a name";
		return false;
	}
	return true;
}

static bool dns_type_listed(const struct policy_scope *scope, uint16_t qtype)
{
	struct policy_dns dns;

	policy_scope_dns(scope, &dns);
	for (unsigned i = 0; i < dns.n_types; i++)
		if (dns.types[i] == qtype)
			return true;
	return false;
}

/* Step 3: sluice answers a route host itself, with its own addresses. */
static void dns_decide_route(const struct policy_scope *scope, const struct route *route,
			     uint16_t qtype, struct verdict *v)
{
	const char *who = scope->agent ? scope->agent->name : "";
	char t[16];

	if (!route_allows_agent(route, who)) {
		policy_verdict_set(v, false, REASON_ROUTE_NOT_ALLOWED,
				   "route: %.150s (agent %.64s not listed)", route->host, who);
		return;
	}
	if (!dns_policy_type_always(qtype)) {
		type_text(qtype, t);
		policy_verdict_set(v, false, REASON_DNS_TYPE,
				   "route: %.150s answers addresses only, not %s", route->host, t);
		return;
	}
	policy_verdict_set(v, true, REASON_ALLOWED, "route: %.200s", route->host);
}

const struct route *dns_policy_decide_name(const struct policy_scope *scope,
					   const struct route *routes, unsigned n_routes,
					   const char *name, size_t len, uint16_t qtype,
					   struct verdict *v)
{
	struct authority a;
	const char *detail = "";
	char t[16];

	if (!dns_name_is_host(name, len, &a, &detail)) {
		policy_verdict_set(v, false, REASON_DNS_BAD_NAME, "dns: not a host name (%s)",
				   detail);
		return NULL;
	}
	type_text(qtype, t);
	if (dns_policy_type_never(qtype)) {
		policy_verdict_set(
		    v, false, REASON_DNS_TYPE, "builtin: %s is never answered (%s)", t,
		    qtype == DNS_TYPE_ANY ? "RFC 8482" : "a meta or reserved type, RFC 6895");
		return NULL;
	}
	const struct route *route = route_find(routes, n_routes, &a);
	if (route) {
		dns_decide_route(scope, route, qtype, v);
		return route;
	}
	policy_decide_name(scope, slice_make(a.name, a.name_len), v);
	/* A name refused (or reported) keeps its own reason; in open mode every type goes. */
	if (!v->allow || v->report || dns_policy_type_always(qtype) ||
	    dns_type_listed(scope, qtype) || policy_scope_mode(scope) == AGENT_OPEN)
		return NULL;
	policy_verdict_set(v, false, REASON_DNS_TYPE, "dns.types: %s not listed", t);
	policy_apply_mode(scope, v);
	return NULL;
}

bool dns_policy_judge_alias(const struct policy_scope *scope, const char *what, const char *name,
			    size_t len, struct verdict *v)
{
	struct authority a;
	const char *detail = "";
	struct verdict one;

	if (!dns_name_is_host(name, len, &a, &detail)) {
		policy_verdict_set(v, false, REASON_DNS_BAD_NAME, "%s %.200s: not a host name (%s)",
				   what, name, detail);
		return false;
	}
	policy_decide_alias(scope, slice_make(a.name, a.name_len), &one);
	if (one.allow && !one.report)
		return true;
	policy_verdict_set(v, one.allow, one.reason, "%s %.150s: %.140s", what, a.name, one.rule);
	v->report = one.report;
	return one.allow;
}

void dns_policy_judge_answers(const struct policy_rules *rules, const struct ip_addr *addrs,
			      size_t n, struct verdict *v)
{
	struct verdict first = {0};
	size_t refused = 0, at = 0;
	char text[IP_ADDR_TEXT_MAX];

	for (size_t i = 0; i < n; i++) {
		struct verdict one;
		/* Port 0: no listener has it, so the loop check never refuses an answer. */
		policy_decide_addr(rules, &addrs[i], 0, &one);
		if (one.allow)
			continue;
		if (refused++ == 0) {
			first = one;
			at = i;
		}
	}
	if (refused == 0) {
		policy_verdict_set(v, true, REASON_ALLOWED, "builtin: global address");
		return;
	}
	ip_addr_format(&addrs[at], text);
	if (refused == n)
		policy_verdict_set(v, false, REASON_DNS_INTERNAL_ANSWER, "answer %s: %.250s", text,
				   first.rule);
	else
		policy_verdict_set(v, false, REASON_DNS_INTERNAL_ANSWER,
				   "answer %s (%zu of %zu): %.230s", text, refused, n, first.rule);
}

uint32_t dns_policy_ttl(const struct policy_scope *scope, uint32_t upstream_ttl)
{
	struct policy_dns dns;

	policy_scope_dns(scope, &dns);
	return upstream_ttl < dns.max_ttl ? upstream_ttl : dns.max_ttl;
}

bool dns_policy_check_rate(const struct policy_scope *scope, struct token_bucket *tb,
			   uint64_t now_ms, struct verdict *v)
{
	struct policy_dns dns;

	if (token_bucket_take(tb, now_ms))
		return true;
	policy_scope_dns(scope, &dns);
	policy_verdict_set(v, false, REASON_DNS_RATE_LIMITED, "dns.rate: %u/s, burst %u", dns.rate,
			   dns.burst);
	return false;
}

int dns_policy_rcode(const struct policy_scope *scope, const struct verdict *v)
{
	struct policy_dns dns;

	if (v->allow)
		return 0;
	switch (reason_info(v->reason)->rcode) {
	case REASON_RCODE_NOERROR:
		return 0;
	case REASON_RCODE_FORMERR:
		return 1;
	case REASON_RCODE_SERVFAIL:
		return 2;
	case REASON_RCODE_REFUSED:
		return 5;
	case REASON_RCODE_DENIED:
		policy_scope_dns(scope, &dns);
		return dns.denied == AGENT_DNS_REFUSED ? 5 : 3;
	}
	return 2;
}
