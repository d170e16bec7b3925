#include "policy/policy.h"

#include <stdarg.h>
#include <stdio.h>

#include "policy/cidr_set.h"
#include "policy/domain_set.h"
#include "policy/special_ranges.h"

int policy_rules_init(struct policy_rules *rules)
{
	const char *detail;

	memset(rules, 0, sizeof(*rules));
	rules->allow = domain_set_new();
	rules->deny = domain_set_new();
	rules->ips_allow = cidr_set_new();
	rules->ips_deny = cidr_set_new();
	if (!rules->allow || !rules->deny || !rules->ips_allow || !rules->ips_deny ||
	    domain_set_add(rules->allow, SLICE_LIT("*"), &detail) != 0) {
		policy_rules_fini(rules);
		return -1;
	}
	policy_rules_set_port(rules, 80, true);
	policy_rules_set_port(rules, 443, true);
	return 0;
}

void policy_rules_fini(struct policy_rules *rules)
{
	domain_set_free(rules->allow);
	domain_set_free(rules->deny);
	cidr_set_free(rules->ips_allow);
	cidr_set_free(rules->ips_deny);
	memset(rules, 0, sizeof(*rules));
}

void policy_rules_set_port(struct policy_rules *rules, uint16_t port, bool allowed)
{
	uint8_t bit = (uint8_t)(1u << (port & 7));
	if (allowed)
		rules->ports[port >> 3] |= bit;
	else
		rules->ports[port >> 3] &= (uint8_t)~bit;
}

bool policy_rules_port_allowed(const struct policy_rules *rules, uint16_t port)
{
	return (rules->ports[port >> 3] >> (port & 7)) & 1;
}

__attribute__((format(printf, 4, 5))) static void verdict_set(struct verdict *v, bool allow,
								enum reason reason,
								const char *fmt, ...)
{
	va_list ap;

	v->allow = allow;
	v->reason = reason;
	va_start(ap, fmt);
	vsnprintf(v->rule, sizeof(v->rule), fmt, ap);
	va_end(ap);
}

static bool addr_is_loopback_or_any(const struct ip_addr *a)
{
	static const uint8_t v6_loopback[16] = {[15] = 1};
	static const uint8_t zero[16];

	if (a->family == IP_V4)
		return a->bytes[0] == 127 || memcmp(a->bytes, zero, 4) == 0;
	return memcmp(a->bytes, v6_loopback, 16) == 0 || memcmp(a->bytes, zero, 16) == 0;
}

/* A request aimed at one of sluice's own listeners would loop through the proxy forever. */
static bool policy_is_loop(const struct policy_rules *rules, const struct ip_addr *addr,
			   uint16_t port)
{
	static const uint8_t zero[16];

	for (unsigned i = 0; i < rules->n_listeners; i++) {
		const struct policy_listener *l = &rules->listeners[i];
		bool wildcard = memcmp(l->addr.bytes, zero, 16) == 0;
		if (l->port != port)
			continue;
		if (wildcard ? addr_is_loopback_or_any(addr) : ip_addr_eq(&l->addr, addr))
			return true;
		/* Connecting to 0.0.0.0 or :: reaches the local host, whichever address we bind. */
		if (l->addr.family == addr->family &&
		    memcmp(addr->bytes, zero, addr->family == IP_V4 ? 4 : 16) == 0)
			return true;
	}
	return false;
}

/* Judges one address (not its embedded forms): ips.deny, then the built-in block unless
 * ips.allow re-allows it. Returns true when it passes. Metadata endpoints are re-allowed only by
 * an ips.allow entry that names the exact address. */
static bool policy_judge_one(const struct policy_rules *rules, const struct ip_addr *addr,
			     struct verdict *v)
{
	char cidr[IP_ADDR_TEXT_MAX + 8];
	char text[IP_ADDR_TEXT_MAX];
	unsigned allowed_len = 0;
	bool reallowed;

	if (cidr_set_match_text(rules->ips_deny, addr, cidr, sizeof(cidr))) {
		verdict_set(v, false, REASON_IP_DENIED, "ips.deny: %s", cidr);
		return false;
	}
	reallowed = cidr_set_match(rules->ips_allow, addr, &allowed_len);
	if (special_ranges_is_metadata(addr)) {
		if (reallowed && allowed_len == ip_addr_bits(addr))
			return true;
		ip_addr_format(addr, text);
		verdict_set(v, false, REASON_IP_METADATA, "builtin: cloud-metadata %s", text);
		return false;
	}
	const struct special_range *range = special_ranges_match(addr);
	if (range && !reallowed) {
		verdict_set(v, false, REASON_IP_NON_GLOBAL, "builtin: %s %s", range->name,
			    range->cidr);
		return false;
	}
	return true;
}

void policy_decide_addr(const struct policy_rules *rules, const struct ip_addr *addr,
			uint16_t port, struct verdict *v)
{
	struct ip_addr embedded;
	char text[IP_ADDR_TEXT_MAX];

	if (policy_is_loop(rules, addr, port)) {
		ip_addr_format(addr, text);
		verdict_set(v, false, REASON_PROXY_LOOP, "builtin: own listener %s", text);
		return;
	}
	if (!policy_judge_one(rules, addr, v))
		return;
	/* ARCHITECTURE.md property 1: IPv6 forms that embed IPv4 are judged by the embedded
	 * address as well; both must pass. */
	if (special_ranges_embedded_v4(addr, &embedded)) {
		if (policy_is_loop(rules, &embedded, port)) {
			ip_addr_format(&embedded, text);
			verdict_set(v, false, REASON_PROXY_LOOP, "builtin: own listener %s", text);
			return;
		}
		if (!policy_judge_one(rules, &embedded, v))
			return;
	}
	verdict_set(v, true, REASON_ALLOWED, "builtin: global address");
}

void policy_decide_request(const struct policy_rules *rules, const struct request_facts *facts,
			   struct verdict *v)
{
	const char *pattern;

	/* The built-in block speaks first for literal addresses: it is the reason that matters
	 * and no domain rule can relax it. */
	if (facts->host_is_ip) {
		policy_decide_addr(rules, &facts->ip, facts->port, v);
		if (!v->allow)
			return;
	}
	if (!policy_rules_port_allowed(rules, facts->port)) {
		verdict_set(v, false, REASON_PORT_NOT_ALLOWED, "ports: %u not listed", (unsigned)facts->port);
		return;
	}
	pattern = domain_set_match(rules->deny, facts->host);
	if (pattern) {
		verdict_set(v, false, REASON_DOMAIN_DENIED, "deny: %s", pattern);
		return;
	}
	pattern = domain_set_match(rules->allow, facts->host);
	if (!pattern) {
		verdict_set(v, false, REASON_DOMAIN_NOT_ALLOWED, "allow: no pattern matches");
		return;
	}
	verdict_set(v, true, REASON_ALLOWED, "allow: %s", pattern);
}
