#include "policy/policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/bug.h"
#include "policy/approvals.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"
#include "policy/route.h"
#include "policy/scan_hostname.h"
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
	rules->tunnel.inspect = true;
	rules->tunnel.missing_sni_allow = true;
	return 0;
}

void policy_rules_fini(struct policy_rules *rules)
{
	domain_set_free(rules->allow);
	domain_set_free(rules->deny);
	cidr_set_free(rules->ips_allow);
	cidr_set_free(rules->ips_deny);
	domain_set_free(rules->intercept);
	domain_set_free(rules->never_intercept);
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

void policy_verdict_set(struct verdict *v, bool allow, enum reason reason, const char *fmt, ...)
{
	va_list ap;

	v->allow = allow;
	v->report = false;
	v->ask = false;
	v->reason = reason;
	va_start(ap, fmt);
	/* The two shapes every allowed request takes ("builtin: global address", "allow: %s")
	 * without vsnprintf, which cost more than the decision itself. */
	const char *pct = strchr(fmt, '%');
	if (!pct || (pct[1] == 's' && pct[2] == '\0')) {
		size_t n = pct ? (size_t)(pct - fmt) : strlen(fmt);
		const char *arg = pct ? va_arg(ap, const char *) : "";
		size_t m = strlen(arg);
		if (n > sizeof(v->rule) - 1)
			n = sizeof(v->rule) - 1;
		if (m > sizeof(v->rule) - 1 - n)
			m = sizeof(v->rule) - 1 - n;
		memcpy(v->rule, fmt, n);
		memcpy(v->rule + n, arg, m);
		v->rule[n + m] = '\0';
	} else {
		vsnprintf(v->rule, sizeof(v->rule), fmt, ap);
	}
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

/* Sets a proxy-loop denial when addr:port is one of our own listeners. */
static bool policy_refuse_loop(const struct policy_rules *rules, const struct ip_addr *addr,
			       uint16_t port, struct verdict *v)
{
	char text[IP_ADDR_TEXT_MAX];

	if (!policy_is_loop(rules, addr, port))
		return false;
	ip_addr_format(addr, text);
	policy_verdict_set(v, false, REASON_PROXY_LOOP, "builtin: own listener %s", text);
	return true;
}

/* Sets an ips.deny denial when addr is in a denied range. */
static bool policy_refuse_denied(const struct policy_rules *rules, const struct ip_addr *addr,
				 struct verdict *v)
{
	char cidr[IP_ADDR_TEXT_MAX + 8];

	if (!cidr_set_match_text(rules->ips_deny, addr, cidr, sizeof(cidr)))
		return false;
	policy_verdict_set(v, false, REASON_IP_DENIED, "ips.deny: %s", cidr);
	return true;
}

/* Judges one address (not its embedded forms): ips.deny, then the built-in block unless
 * ips.allow re-allows it. Returns true when it passes. Metadata endpoints are re-allowed only by
 * an ips.allow entry that names the exact address. */
static bool policy_judge_one(const struct policy_rules *rules, const struct ip_addr *addr,
			     struct verdict *v)
{
	char text[IP_ADDR_TEXT_MAX];
	unsigned allowed_len = 0;
	bool reallowed;

	if (policy_refuse_denied(rules, addr, v))
		return false;
	reallowed = cidr_set_match(rules->ips_allow, addr, &allowed_len);
	if (special_ranges_is_metadata(addr)) {
		if (reallowed && allowed_len == ip_addr_bits(addr))
			return true;
		ip_addr_format(addr, text);
		policy_verdict_set(v, false, REASON_IP_METADATA, "builtin: cloud-metadata %s",
				   text);
		return false;
	}
	const struct special_range *range = special_ranges_match(addr);
	if (range && !reallowed) {
		policy_verdict_set(v, false, REASON_IP_NON_GLOBAL, "builtin: %s %s", range->name,
				   range->cidr);
		return false;
	}
	return true;
}

void policy_decide_addr(const struct policy_rules *rules, const struct ip_addr *addr, uint16_t port,
			struct verdict *v)
{
	struct ip_addr embedded;

	if (policy_refuse_loop(rules, addr, port, v) || !policy_judge_one(rules, addr, v))
		return;
	/* docs/security.md guarantee 1: IPv6 forms that embed IPv4 are judged by the embedded
	 * address as well; both must pass. */
	if (special_ranges_embedded_v4(addr, &embedded)) {
		if (policy_refuse_loop(rules, &embedded, port, v) ||
		    !policy_judge_one(rules, &embedded, v))
			return;
	}
	policy_verdict_set(v, true, REASON_ALLOWED, "builtin: global address");
}

static const struct domain_set *scope_allow(const struct policy_scope *s)
{
	return s->agent && s->agent->allow ? s->agent->allow : s->rules->allow;
}

static const struct domain_set *scope_deny(const struct policy_scope *s)
{
	return s->agent && s->agent->deny ? s->agent->deny : s->rules->deny;
}

static const struct domain_set *scope_ask(const struct policy_scope *s)
{
	return s->agent && s->agent->ask ? s->agent->ask : s->base ? s->base->ask : NULL;
}

static const char *scope_agent_name(const struct policy_scope *s)
{
	return s->agent ? s->agent->name : "default";
}

/* A refusal an operator may lift (no allow pattern, or the port not listed), for an agent in
 * mode ask or a host its ask patterns name: the request is held for an answer instead. */
static void policy_mark_ask(const struct policy_scope *s, struct slice host, struct verdict *v)
{
	if (v->allow ||
	    (v->reason != REASON_DOMAIN_NOT_ALLOWED && v->reason != REASON_PORT_NOT_ALLOWED))
		return;
	const struct domain_set *ask = scope_ask(s);
	v->ask = policy_scope_mode(s) == AGENT_ASK || (ask && domain_set_match(ask, host));
}

static bool scope_port_allowed(const struct policy_scope *s, uint16_t port)
{
	if (s->agent && s->agent->has_ports)
		return (s->agent->ports[port >> 3] >> (port & 7)) & 1;
	return policy_rules_port_allowed(s->rules, port);
}

/* scan.hostnames of the agent's scan: (or the top level's), when scanning is on. */
static const struct scan_config *scope_scan(const struct policy_scope *s)
{
	const struct scan_config *sc = NULL;
	if (s->agent && s->agent->has_scan)
		sc = &s->agent->scan;
	else if (s->base)
		sc = &s->base->scan;
	return sc && sc->enabled && sc->hostnames.enabled ? sc : NULL;
}

/* A name the rules allow, whose labels look like encoded data (policy/scan_hostname): refused,
 * or reported, as scan.hostnames says. */
static void policy_check_hostname(const struct policy_scope *s, struct slice host,
				  struct verdict *v)
{
	const struct scan_config *sc = scope_scan(s);
	char why[96];

	if (!sc || !scan_hostname_flagged(&sc->hostnames, host, why, sizeof(why)))
		return;
	enum scan_action action = sc->hostnames.has_action ? (enum scan_action)sc->hostnames.action
				  : sc->action == SCAN_REPORT ? SCAN_REPORT
							      : SCAN_BLOCK;
	policy_verdict_set(v, action == SCAN_REPORT, REASON_ENCODED_HOSTNAME, "scan.hostnames: %s",
			   why);
	v->report = action == SCAN_REPORT;
}

static const struct agent *scope_methods(const struct policy_scope *s)
{
	if (s->agent && s->agent->has_methods)
		return s->agent;
	if (s->base && s->base->has_methods)
		return s->base;
	return NULL;
}

enum agent_mode policy_scope_mode(const struct policy_scope *s)
{
	if (s->agent && s->agent->has_mode)
		return s->agent->mode;
	return s->base && s->base->has_mode ? s->base->mode : AGENT_ENFORCE;
}

uint64_t policy_scope_max_body(const struct policy_scope *s)
{
	if (s->agent && s->agent->has_max_request_body)
		return s->agent->max_request_body;
	return s->base && s->base->has_max_request_body ? s->base->max_request_body : 0;
}

const char *policy_scope_guidance(const struct policy_scope *s)
{
	if (s->agent && s->agent->has_guidance)
		return s->agent->guidance;
	return s->base && s->base->has_guidance ? s->base->guidance : "";
}

/* The dns: section that sets a key: the agent's, else the top level's, else NULL (default). */
#define SCOPE_DNS(s, key)                                                                          \
	((s)->agent && (s)->agent->dns.has_##key ? &(s)->agent->dns                                \
	 : (s)->base && (s)->base->dns.has_##key ? &(s)->base->dns                                 \
						 : NULL)

void policy_scope_dns(const struct policy_scope *s, struct policy_dns *out)
{
	const struct agent_dns *d;

	d = SCOPE_DNS(s, answer);
	out->answer = d ? d->answer : AGENT_DNS_REAL;
	d = SCOPE_DNS(s, denied);
	out->denied = d ? d->denied : AGENT_DNS_NXDOMAIN;
	d = SCOPE_DNS(s, types);
	out->types = d ? d->types : NULL;
	out->n_types = d ? d->n_types : 0;
	d = SCOPE_DNS(s, max_ttl);
	out->max_ttl = d ? d->max_ttl : AGENT_DNS_DEFAULT_MAX_TTL;
	d = SCOPE_DNS(s, rate);
	out->rate = d ? d->rate : AGENT_DNS_DEFAULT_RATE;
	d = SCOPE_DNS(s, burst);
	/* Set nowhere: twice the effective rate (an agent with a rate of its own, twice that). */
	out->burst = d ? d->burst : 2 * out->rate;
	if (out->rate == 0)
		out->burst = 0;
}
#undef SCOPE_DNS

static bool method_listed(const struct agent *a, struct slice method)
{
	for (unsigned i = 0; i < a->n_methods; i++)
		if (slice_eq(method, slice_from_cstr(a->methods[i])))
			return true;
	return false;
}

static void methods_rule(const struct agent *a, struct verdict *v)
{
	size_t len = (size_t)snprintf(v->rule, sizeof(v->rule), "methods:");
	for (unsigned i = 0; i < a->n_methods && len < sizeof(v->rule); i++)
		len += (size_t)snprintf(v->rule + len, sizeof(v->rule) - len, "%s %s", i ? "," : "",
					a->methods[i]);
}

/* Denies v when the scope lists methods and this one (if known) is not among them. */
static bool method_refused(const struct policy_scope *s, struct slice method, struct verdict *v)
{
	const struct agent *m = scope_methods(s);
	if (!m || method.len == 0 || method_listed(m, method))
		return false;
	v->allow = false;
	v->reason = REASON_METHOD_NOT_ALLOWED;
	methods_rule(m, v);
	return true;
}

/* Name, port and method rules of one scope, before any mode applies. */
static void policy_decide_rules(const struct policy_scope *s, const struct request_facts *f,
				struct verdict *v)
{
	uint16_t pinned = 0;
	const char *pattern = domain_set_match_port(scope_deny(s), f->host, f->port, &pinned);

	if (pattern) {
		if (pinned)
			policy_verdict_set(v, false, REASON_DOMAIN_DENIED, "deny: %s:%u", pattern,
					   pinned);
		else
			policy_verdict_set(v, false, REASON_DOMAIN_DENIED, "deny: %s", pattern);
		return;
	}
	pattern = domain_set_match_port(scope_allow(s), f->host, f->port, &pinned);
	bool port_ok = pinned || scope_port_allowed(s, f->port);
	/* An operator's approval (policy/approvals) stands in for an allow pattern: pinned to its
	 * port, or, given for a name only (port 0), under the ports list. */
	if (!pattern || !port_ok) {
		const struct approval *a = approval_list_match(s->approvals, scope_agent_name(s),
							       f->host, f->port, false, s->now);
		if (a && (a->port || port_ok)) {
			if (method_refused(s, f->method, v))
				return;
			policy_verdict_set(v, true, REASON_ALLOWED, "approved: %s:%u for %s by %s",
					   a->host, (unsigned)f->port, a->agent, a->by);
			return;
		}
	}
	/* A pattern pinned to this port allows it whatever the ports list says. */
	if (!port_ok) {
		policy_verdict_set(v, false, REASON_PORT_NOT_ALLOWED, "ports: %u not listed",
				   (unsigned)f->port);
		return;
	}
	if (!pattern) {
		policy_verdict_set(v, false, REASON_DOMAIN_NOT_ALLOWED,
				   "allow: no pattern matches");
		return;
	}
	if (method_refused(s, f->method, v))
		return;
	if (pinned)
		policy_verdict_set(v, true, REASON_ALLOWED, "allow: %s:%u", pattern, pinned);
	else
		policy_verdict_set(v, true, REASON_ALLOWED, "allow: %s", pattern);
}

/* Report and open modes relax name, port, method and body rules; never the address checks. */
void policy_apply_mode(const struct policy_scope *s, struct verdict *v)
{
	switch (policy_scope_mode(s)) {
	case AGENT_ENFORCE:
	case AGENT_ASK:
		return;
	case AGENT_REPORT:
		/* Forwarded; reason and rule say what would have denied it. */
		v->allow = true;
		v->report = true;
		return;
	case AGENT_OPEN:
		policy_verdict_set(v, true, REASON_ALLOWED, "mode: open");
		return;
	}
}

void policy_check_method(const struct policy_scope *s, struct slice method, struct verdict *v)
{
	if (method_refused(s, method, v))
		policy_apply_mode(s, v);
}

void policy_check_body(const struct policy_scope *s, uint64_t body_len, struct verdict *v)
{
	policy_check_body_limit(s, policy_scope_max_body(s), NULL, body_len, v);
}

void policy_check_body_limit(const struct policy_scope *s, uint64_t max, const char *rule,
			     uint64_t body_len, struct verdict *v)
{
	if (max == 0 || body_len <= max)
		return;
	policy_verdict_set(v, false, REASON_BODY_TOO_LARGE, "%s%smax_request_body: %llu bytes",
			   rule ? rule : "", rule ? "." : "", (unsigned long long)max);
	policy_apply_mode(s, v);
}

void policy_check_credentials(const struct policy_scope *s, enum credentials_result result,
			      const struct credential *which, struct slice host, struct verdict *v)
{
	int hl = (int)(host.len < 200 ? host.len : 200);

	switch (result) {
	case CREDENTIALS_OK:
		return;
	case CREDENTIALS_MISUSE:
		policy_verdict_set(v, false, REASON_CREDENTIAL_MISUSE,
				   "%s (%s): its placeholder sent to %.*s", which->label,
				   which->name, hl, host.ptr);
		break;
	case CREDENTIALS_MISSING:
		policy_verdict_set(v, false, REASON_CREDENTIAL_REQUIRED,
				   "%s (%s): require: no placeholder in %s", which->label,
				   which->name, which->query[0] ? "the query" : which->header);
		break;
	case CREDENTIALS_TOO_MANY:
		policy_verdict_set(v, false, REASON_CREDENTIAL_REQUIRED,
				   "%s (%s): more than %d credentials in one request", which->label,
				   which->name, CREDENTIAL_USES_MAX);
		break;
	}
	policy_apply_mode(s, v);
}

uint64_t policy_body_limit(const struct policy_scope *s, const struct request_facts *f,
			   const char **rule)
{
	const struct request_rules *rules = policy_scope_request_rules(s);
	const struct request_rule *which;
	struct slice header;

	*rule = NULL;
	if (rules && rules->n > 0 && f->path.len > 0 &&
	    request_rules_match(rules, f->host, f->method, f->path, f->header_names, f->n_headers,
				&which, &header) == REQUEST_RULES_ALLOW &&
	    which->has_max_request_body) {
		*rule = which->label;
		return which->max_request_body;
	}
	return policy_scope_max_body(s);
}

void policy_identity_refusal(enum policy_identity id, const struct agent *agent, struct verdict *v)
{
	BUG_ON(id == POLICY_IDENTITY_OK);
	switch (id) {
	case POLICY_IDENTITY_OK:
		return;
	case POLICY_IDENTITY_UNKNOWN:
		policy_verdict_set(
		    v, false, REASON_UNKNOWN_AGENT,
		    "agents: no agent matches this client and there is no default agent");
		return;
	case POLICY_IDENTITY_MALFORMED:
		policy_verdict_set(v, false, REASON_AUTH_REQUIRED,
				   "agents: proxy credentials malformed (Basic expected)");
		return;
	case POLICY_IDENTITY_NEED_AUTH:
		if (agent) {
			policy_verdict_set(v, false, REASON_AUTH_REQUIRED,
					   "agents: %.64s requires a token", agent->name);
			return;
		}
		policy_verdict_set(v, false, REASON_AUTH_REQUIRED,
				   "agents: proxy credentials required");
		return;
	case POLICY_IDENTITY_BAD_AUTH:
		policy_verdict_set(v, false, REASON_AUTH_REQUIRED,
				   "agents: proxy credentials not accepted");
		return;
	}
}

void policy_via_loop(struct verdict *v)
{
	policy_verdict_set(v, false, REASON_PROXY_LOOP, "builtin: Via names this proxy");
}

bool policy_check_connections(unsigned held, unsigned share, unsigned configured, struct verdict *v)
{
	if (share == 0 || held < share)
		return true;
	policy_verdict_set(v, false, REASON_CONNECTION_LIMIT,
			   "limits.max_connections_per_agent: %u", configured);
	return false;
}

void policy_decide_route(const struct policy_scope *s, const struct route *route, bool is_connect,
			 struct slice method, struct verdict *v)
{
	const char *who = s->agent ? s->agent->name : "";

	if (is_connect) {
		policy_verdict_set(v, false, REASON_ROUTE_CONNECT, "route: %s", route->host);
		return;
	}
	if (!route_allows_agent(route, who)) {
		policy_verdict_set(v, false, REASON_ROUTE_NOT_ALLOWED,
				   "route: %.150s (agent %.64s not listed)", route->host, who);
		return;
	}
	policy_verdict_set(v, true, REASON_ALLOWED, "route: %.100s -> %s://%.100s:%u%.60s",
			   route->host, route->tls ? "https" : "http", route->upstream_host,
			   (unsigned)route->upstream_port, route->upstream_base);
	policy_check_method(s, method, v);
}

void policy_revoke(const struct verdict *denial, struct verdict *v)
{
	policy_verdict_set(v, false, denial->reason, "reload: %.290s", denial->rule);
}

/* The modes relax it as they relax a Content-Length body (policy_check_body): report forwards
 * and reports it, open forwards it. */
bool policy_check_body_stream(const struct policy_scope *s, uint64_t received, struct verdict *v)
{
	return policy_check_body_stream_limit(s, policy_scope_max_body(s), NULL, received, v);
}

bool policy_check_body_stream_limit(const struct policy_scope *s, uint64_t max, const char *rule,
				    uint64_t received, struct verdict *v)
{
	if (max == 0 || received <= max)
		return true;
	if (policy_scope_mode(s) == AGENT_OPEN) {
		if (!v->allow || v->reason != REASON_ALLOWED || strcmp(v->rule, "mode: open") != 0)
			policy_verdict_set(v, true, REASON_ALLOWED, "mode: open");
		return true;
	}
	if (policy_scope_mode(s) == AGENT_REPORT) {
		if (!v->report) {
			policy_verdict_set(v, true, REASON_BODY_TOO_LARGE,
					   "%s%smax_request_body: %llu bytes", rule ? rule : "",
					   rule ? "." : "", (unsigned long long)max);
			v->report = true;
		}
		return true;
	}
	policy_verdict_set(v, false, REASON_BODY_TOO_LARGE, "%s%smax_request_body: %llu bytes",
			   rule ? rule : "", rule ? "." : "", (unsigned long long)max);
	return false;
}

void policy_decide_route_addr(const struct policy_rules *rules, const struct ip_addr *addr,
			      uint16_t port, struct verdict *v)
{
	if (policy_refuse_loop(rules, addr, port, v) || policy_refuse_denied(rules, addr, v))
		return;
	v->allow = true;
	v->report = false;
}

/* RFC 6761 §6.3: "localhost" and every name under ".localhost" are loopback names, whatever
 * a DNS server would answer for them. Hosts are normalised (lower case, no trailing dot). */
static bool policy_is_loopback_name(struct slice host)
{
	const struct slice zone = SLICE_LIT("localhost");

	if (slice_eq(host, zone))
		return true;
	return host.len > zone.len + 1 && host.ptr[host.len - zone.len - 1] == '.' &&
	       memcmp(host.ptr + host.len - zone.len, zone.ptr, zone.len) == 0;
}

/* Like the built-in address block, and before any DNS: no rule or mode relaxes it. */
static bool policy_refuse_loopback_name(struct slice host, struct verdict *v)
{
	if (!policy_is_loopback_name(host))
		return false;
	policy_verdict_set(v, false, REASON_LOOPBACK_NAME,
			   "builtin: loopback name %slocalhost (RFC 6761)",
			   host.len > sizeof("localhost") - 1 ? "*." : "");
	return true;
}

const struct request_rules *policy_scope_request_rules(const struct policy_scope *s)
{
	if (s->agent && s->agent->has_rules)
		return &s->agent->rules;
	return s->base ? &s->base->rules : NULL;
}

const struct credential_list *policy_scope_credentials(const struct policy_scope *s)
{
	if (s->agent && s->agent->has_credentials)
		return &s->agent->credentials;
	return s->base ? &s->base->credentials : NULL;
}

/* A tunnel to a host credentials belong to would carry the placeholder, not the secret, and
 * hide where the placeholder goes: refused unless intercepted. */
static void policy_decide_credentials_tunnel(const struct policy_scope *s,
					     const struct request_facts *f, struct verdict *v)
{
	const struct credential_list *creds = policy_scope_credentials(s);

	if (f->method.len != 0 || f->intercepted || f->host_is_ip || !creds || creds->n == 0 ||
	    !credentials_cover(creds, f->host))
		return;
	policy_verdict_set(v, false, REASON_CREDENTIAL_TUNNEL,
			   "credentials: %.*s gets its credentials inside; intercept it",
			   (int)(f->host.len < 200 ? f->host.len : 200), f->host.ptr);
}

/* rules: once the host passed. A tunnel (no method) to a host they cover is refused unless it is
 * intercepted: its requests could not be seen. The rule text names the rule that decided. */
static void policy_decide_request_rules(const struct policy_scope *s, const struct request_facts *f,
					struct verdict *v)
{
	const struct request_rules *rules = policy_scope_request_rules(s);
	const struct request_rule *which;
	struct slice header;

	if (!rules || rules->n == 0 || f->host_is_ip)
		return;
	if (f->method.len == 0) {
		if (!f->intercepted && request_rules_cover(rules, f->host))
			policy_verdict_set(v, false, REASON_REQUEST_RULES_TUNNEL,
					   "rules: %.*s is judged request by request",
					   (int)(f->host.len < 200 ? f->host.len : 200),
					   f->host.ptr);
		return;
	}
	switch (request_rules_match(rules, f->host, f->method, f->path, f->header_names,
				    f->n_headers, &which, &header)) {
	case REQUEST_RULES_NONE:
		return;
	case REQUEST_RULES_ALLOW:
		policy_verdict_set(v, true, REASON_ALLOWED, "%s: allow", which->label);
		return;
	case REQUEST_RULES_DENY:
		policy_verdict_set(v, false, REASON_REQUEST_DENIED, "%s: deny", which->label);
		return;
	case REQUEST_RULES_HEADER:
		policy_verdict_set(v, false, REASON_REQUEST_DENIED, "%s: header %.*s denied",
				   which->label, (int)header.len, header.ptr);
		return;
	case REQUEST_RULES_HEADER_NOT_ALLOWED:
		/* The name is the client's: a token (parse/http1), cut to a field name's length. */
		policy_verdict_set(v, false, REASON_REQUEST_DENIED,
				   "%s: header %.*s not in headers_allow", which->label,
				   (int)(header.len < REQUEST_RULE_HEADER_MAX
					     ? header.len
					     : REQUEST_RULE_HEADER_MAX),
				   header.ptr);
		return;
	case REQUEST_RULES_NO_MATCH:
		policy_verdict_set(v, false, REASON_REQUEST_NOT_ALLOWED,
				   "rules: none allows %.*s %.*s", (int)f->method.len,
				   f->method.ptr, (int)(f->path.len < 200 ? f->path.len : 200),
				   f->path.ptr ? f->path.ptr : "");
		return;
	}
}

void policy_decide(const struct policy_scope *s, const struct request_facts *f, struct verdict *v)
{
	v->report = false;
	if (!f->host_is_ip && policy_refuse_loopback_name(f->host, v))
		return;
	/* The built-in block speaks first for literal addresses: it is the reason that matters
	 * and no rule or mode can relax it. */
	if (f->host_is_ip) {
		policy_decide_addr(s->rules, &f->ip, f->port, v);
		if (!v->allow)
			return;
	}
	policy_decide_rules(s, f, v);
	if (v->allow)
		policy_decide_request_rules(s, f, v);
	if (v->allow)
		policy_decide_credentials_tunnel(s, f, v);
	if (v->allow && !v->report && !f->host_is_ip)
		policy_check_hostname(s, f->host, v);
	if (!v->allow)
		policy_apply_mode(s, v);
	policy_mark_ask(s, f->host, v);
}

/* A pattern pinned to some port allows the name on that port unless deny is pinned to the same
 * port; the first such denial is the reason when no port is left. */
static void policy_decide_name_pinned(const struct policy_scope *s, struct slice host,
				      struct verdict *v)
{
	const char *pattern, *denied = NULL;
	uint16_t port, denied_port = 0, pinned;
	unsigned cursor = 0;

	while ((pattern = domain_set_match_pinned(scope_allow(s), host, &cursor, &port))) {
		const char *d = domain_set_match_port(scope_deny(s), host, port, &pinned);
		if (!d) {
			policy_verdict_set(v, true, REASON_ALLOWED, "allow: %s:%u", pattern, port);
			return;
		}
		if (!denied) {
			denied = d;
			denied_port = port;
		}
	}
	if (denied)
		policy_verdict_set(v, false, REASON_DOMAIN_DENIED, "deny: %s:%u", denied,
				   denied_port);
	else
		policy_verdict_set(v, false, REASON_DOMAIN_NOT_ALLOWED,
				   "allow: no pattern matches");
}

void policy_decide_name(const struct policy_scope *s, struct slice host, struct verdict *v)
{
	const char *pattern;

	v->report = false;
	if (policy_refuse_loopback_name(host, v))
		return;
	if ((pattern = domain_set_match(scope_deny(s), host)))
		policy_verdict_set(v, false, REASON_DOMAIN_DENIED, "deny: %s", pattern);
	else if ((pattern = domain_set_match(scope_allow(s), host)))
		policy_verdict_set(v, true, REASON_ALLOWED, "allow: %s", pattern);
	else
		policy_decide_name_pinned(s, host, v);
	const struct approval *a;
	if (!v->allow && v->reason == REASON_DOMAIN_NOT_ALLOWED &&
	    (a = approval_list_match(s->approvals, scope_agent_name(s), host, 0, true, s->now)))
		policy_verdict_set(v, true, REASON_ALLOWED, "approved: %s for %s by %s", a->host,
				   a->agent, a->by);
	if (v->allow && !v->report)
		policy_check_hostname(s, host, v);
	if (!v->allow)
		policy_apply_mode(s, v);
	policy_mark_ask(s, host, v);
}

void policy_decide_alias(const struct policy_scope *s, struct slice host, struct verdict *v)
{
	const char *pattern;

	v->report = false;
	if (policy_refuse_loopback_name(host, v))
		return;
	if ((pattern = domain_set_match(scope_deny(s), host))) {
		policy_verdict_set(v, false, REASON_DOMAIN_DENIED, "deny: %s", pattern);
		policy_apply_mode(s, v);
		return;
	}
	policy_verdict_set(v, true, REASON_ALLOWED, "no deny pattern");
}

void policy_decide_request(const struct policy_rules *rules, const struct request_facts *facts,
			   struct verdict *v)
{
	struct policy_scope scope = {.rules = rules, .base = NULL, .agent = NULL};
	policy_decide(&scope, facts, v);
}

static bool source_match(const struct agent *a, const struct ip_addr *client, unsigned *len)
{
	return a->sources && cidr_set_match(a->sources, client, len);
}

enum policy_identity policy_identify(const struct agent *agents, unsigned n_agents,
				     int default_agent, const struct ip_addr *client,
				     const struct agent_credentials *cred, const struct agent **out)
{
	const struct agent *best = NULL;
	unsigned best_len = 0, len;
	bool any_token = false;

	*out = NULL;
	/* Credentials that name no agent with a token say nothing about identity: such a
	 * client is recognised like one that sent none (and can gain nothing by sending them). */
	for (unsigned i = 0; cred && i < n_agents; i++) {
		const struct agent *a = &agents[i];
		if (!agent_requires_token(a) || strcmp(cred->user, a->name) != 0)
			continue;
		if (!agent_token_matches(a, cred) || (a->sources && !source_match(a, client, &len)))
			return POLICY_IDENTITY_BAD_AUTH;
		*out = a;
		return POLICY_IDENTITY_OK;
	}
	for (unsigned i = 0; i < n_agents; i++) {
		any_token |= agent_requires_token(&agents[i]);
		if (source_match(&agents[i], client, &len) && (!best || len > best_len)) {
			best = &agents[i];
			best_len = len;
		}
	}
	if (!best && default_agent >= 0 && (unsigned)default_agent < n_agents)
		best = &agents[default_agent];
	if (best) {
		*out = best;
		return agent_requires_token(best) ? POLICY_IDENTITY_NEED_AUTH : POLICY_IDENTITY_OK;
	}
	return any_token ? POLICY_IDENTITY_NEED_AUTH : POLICY_IDENTITY_UNKNOWN;
}
