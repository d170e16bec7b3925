/* policy: the pure decision function. Given the rules of a policy snapshot and the facts of one
 * request, says allow or deny, why, and which rule matched. Serves HTTP and CONNECT alike.
 * Does no I/O: resolving names and connecting belong to io/. */
#ifndef SLUICE_POLICY_POLICY_H
#define SLUICE_POLICY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "base/slice.h"
#include "policy/agent.h"
#include "policy/reason.h"

struct domain_set;
struct cidr_set;
struct approval_list;

#define POLICY_RULE_MAX 300
#define POLICY_MAX_LISTENERS 128

struct policy_listener {
	struct ip_addr addr; /* all-zero bytes = wildcard listener */
	uint16_t port;
};

/* tunnel: what a CONNECT tunnel may carry (policy/tunnel_policy). */
struct policy_tunnel {
	bool inspect;		/* read a tunnel's first bytes before it opens (default true) */
	bool missing_sni_allow; /* a ClientHello without SNI passes (default true) */
	bool ip_sni_allow;	/* an IP literal as SNI passes when it is the tunnel's address */
	bool ech_deny; /* an encrypted ClientHello is refused (default: outer SNI judged) */
	uint8_t opaque_ports[65536 / 8]; /* tunnels to these ports are relayed unread */
};

struct policy_rules {
	struct domain_set *allow; /* default: "*" */
	struct domain_set *deny;
	struct cidr_set *ips_allow; /* re-allowed non-global ranges */
	struct cidr_set *ips_deny;  /* extra denied ranges */
	uint8_t ports[65536 / 8];   /* bitmap of allowed destination ports */
	/* sluice's own listeners, for proxy-loop detection */
	struct policy_listener listeners[POLICY_MAX_LISTENERS];
	unsigned n_listeners;
	struct policy_tunnel tunnel;
	/* intercept: (NULL = none) and tls.never_intercept: (NULL = none, wins): the names whose
	 * tunnels sluice terminates (policy/intercept) */
	struct domain_set *intercept;
	struct domain_set *never_intercept;
};

struct request_facts {
	struct slice host; /* normalised name or canonical IP text */
	bool host_is_ip;
	struct ip_addr ip; /* when host_is_ip */
	uint16_t port;
	struct slice method; /* plain HTTP; empty for CONNECT (methods rules do not apply) */
	/* For rules: (plain HTTP, a host request_rules cover): the path as parse/url_path left
	 * it, without the query, and the names of the header fields sent. */
	struct slice path;
	const struct slice *header_names;
	unsigned n_headers;
	/* A CONNECT that sluice intercepts: request rules judge its requests inside, so a host
	 * they cover is no reason to refuse the tunnel. */
	bool intercepted;
};

struct verdict {
	bool allow;
	/* Report mode: the request is forwarded, but `reason` and `rule` say what would have
	 * denied it. */
	bool report;
	/* The refusal is one an operator may lift (policy/approvals) and the agent asks for it
	 * (mode ask, or its ask patterns name the host): io/ holds the request for an answer. */
	bool ask;
	enum reason reason;
	char rule[POLICY_RULE_MAX]; /* the rule that decided, e.g. "deny: *.example.com" */
};

/* An agent's effective settings: its own where set, else the top-level ones. */
struct policy_scope {
	const struct policy_rules *rules; /* ips, listeners, top-level allow/deny/ports */
	const struct agent *base;	  /* top-level mode, methods, body limit, guidance */
	const struct agent *agent;	  /* the identified agent (may be NULL: base only) */
	/* Operators' standing answers (policy/approvals), valid at now (Unix seconds); NULL:
	 * none. */
	const struct approval_list *approvals;
	int64_t now;
};

enum policy_identity {
	POLICY_IDENTITY_OK,
	POLICY_IDENTITY_NEED_AUTH, /* 407: credentials required (none sent) */
	POLICY_IDENTITY_BAD_AUTH,  /* 407: credentials sent but not accepted */
	POLICY_IDENTITY_UNKNOWN,   /* 403: no agent matches and there is no default */
	POLICY_IDENTITY_MALFORMED, /* 407: Proxy-Authorization is not well-formed Basic */
};

struct route;

/* Fills v: allowed or not, the reason, the rule text (printf, cut at POLICY_RULE_MAX - 1
 * bytes); report cleared. Every verdict of policy/ is made through it. */
__attribute__((format(printf, 4, 5))) void
policy_verdict_set(struct verdict *v, bool allow, enum reason reason, const char *fmt, ...);

/* Allocates the sets and sets the defaults: allow "*", ports 80 and 443. Returns 0 or -1. */
int policy_rules_init(struct policy_rules *rules);
void policy_rules_fini(struct policy_rules *rules);
void policy_rules_set_port(struct policy_rules *rules, uint16_t port, bool allowed);
bool policy_rules_port_allowed(const struct policy_rules *rules, uint16_t port);

/* Decision by name and port (before resolving). For an IP literal host the address checks of
 * policy_decide_addr apply too. */
void policy_decide_request(const struct policy_rules *rules, const struct request_facts *facts,
			   struct verdict *v);

/* Decision by address (every resolved answer, and IP literals): proxy loop (one of our own
 * listeners), then ips.deny, then the built-in non-global and metadata block (docs/security.md
 * guarantee 1) unless re-allowed by ips.allow. An IPv6 address that embeds IPv4 must pass as
 * itself and as the embedded address; re-allowing 10.0.0.0/8 does not re-allow
 * ::ffff:10.0.0.1 (fail closed: list the IPv6 form too). */
void policy_decide_addr(const struct policy_rules *rules, const struct ip_addr *addr, uint16_t port,
			struct verdict *v);

/* The agent a request belongs to (docs/policy.md, "The agent"). With credentials
 * (cred, NULL when none were sent) naming an agent that has a token (user = agent name,
 * password = token): that agent if the
 * token matches and, when it has match.source, the client is in it; else BAD_AUTH. Otherwise
 * (no credentials, or credentials naming no such agent): the agent whose match.source holds the
 * client most specifically (407 when that agent requires a token), else the default agent, else
 * unknown (or 407 when some agent could be reached with credentials). */
enum policy_identity policy_identify(const struct agent *agents, unsigned n_agents,
				     int default_agent, const struct ip_addr *client,
				     const struct agent_credentials *cred,
				     const struct agent **out);

/* The refusal for an identity that is not OK: the reason (unknown_agent or auth_required) and
 * the rule that asked for it. agent: the agent the client was matched to, when that agent
 * requires a token (NEED_AUTH), else NULL. */
void policy_identity_refusal(enum policy_identity id, const struct agent *agent, struct verdict *v);
/* A request whose Via already carries this proxy's pseudonym (RFC 9110 §7.6.3). */
void policy_via_loop(struct verdict *v);
/* limits.max_connections_per_agent: false, with v set, when the agent already holds `held`
 * connections of its share `share` (0 = no limit); `configured` is the figure the rule names. */
bool policy_check_connections(unsigned held, unsigned share, unsigned configured,
			      struct verdict *v);
/* A request to an operator route: refused for CONNECT (routes are plain HTTP) or for an agent
 * the route does not list (no mode relaxes that: it is what guards an internal service);
 * otherwise allowed by the route, then the method rule with the agent's mode. Name, port and
 * address rules do not apply: the operator named the upstream. */
void policy_decide_route(const struct policy_scope *scope, const struct route *route,
			 bool is_connect, struct slice method, struct verdict *v);
/* An open tunnel that the policy in force after a reload denies (denial): its verdict becomes
 * that denial, enforced whatever the mode said, with the rule prefixed "reload: " so the log
 * tells it from a refusal at CONNECT time. */
void policy_revoke(const struct verdict *denial, struct verdict *v);
/* A chunked request body's limit, counted as it streams (bytes received, framing included):
 * true while within it, or over it in report mode (v then reports it, the first time) or open
 * mode (v then says "mode: open"); false, with v set, when the body must be cut. */
bool policy_check_body_stream(const struct policy_scope *scope, uint64_t received,
			      struct verdict *v);

/* The full decision for an identified agent: the address checks for literal hosts, then deny
 * patterns, port-pinned allow patterns, ports, allow patterns, methods; then the agent's mode
 * (report and open relax only name, port and method rules — never the address checks). */
void policy_decide(const struct policy_scope *scope, const struct request_facts *facts,
		   struct verdict *v);
/* An operator route's upstream address: allowed although non-global (the operator named it),
 * but never one of our own listeners nor in ips.deny. */
void policy_decide_route_addr(const struct policy_rules *rules, const struct ip_addr *addr,
			      uint16_t port, struct verdict *v);
/* The method rule alone (for route requests, which skip name rules), with the agent's mode
 * applied. v is left untouched when the method is allowed. */
void policy_check_method(const struct policy_scope *scope, struct slice method, struct verdict *v);
/* The request body limit, with the agent's mode applied: sets v when body_len exceeds it. */
void policy_check_body(const struct policy_scope *scope, uint64_t body_len, struct verdict *v);
/* The same with the limit given, and the rule it comes from ("rules[2]"; NULL: the agent's
 * max_request_body) for the rule text. */
/* What credentials_judge found, as the verdict (under the agent's mode). */
void policy_check_credentials(const struct policy_scope *scope, enum credentials_result result,
			      const struct credential *which, struct slice host, struct verdict *v);
void policy_check_body_limit(const struct policy_scope *scope, uint64_t max, const char *rule,
			     uint64_t body_len, struct verdict *v);
bool policy_check_body_stream_limit(const struct policy_scope *scope, uint64_t max,
				    const char *rule, uint64_t received, struct verdict *v);
/* The body limit of a request: the max_request_body of the rule that allows it, when it sets
 * one, else the agent's; *rule names the rule (NULL for the agent's). */
uint64_t policy_body_limit(const struct policy_scope *scope, const struct request_facts *facts,
			   const char **rule);
/* The name rules for a name that comes with no port (a DNS question): the loopback names
 * refused first, in every mode; then deny, then allow, as policy_decide applies them on the
 * port that would allow the name: a pattern pinned to a port allows the name (unless deny is
 * pinned to that same port), and a deny pinned to a port does not refuse it, since the name is
 * still reachable on the others. `ports` is not consulted. Then the agent's mode. host is
 * normalised (parse/authority) and no IP text. */
void policy_decide_name(const struct policy_scope *scope, struct slice host, struct verdict *v);
/* A name an answer leads to rather than the one asked for (a CNAME's target, an HTTPS or SVCB
 * record's TargetName): the loopback names refused first, in every mode; then the deny
 * patterns that are not pinned to a port, then the agent's mode. Allow patterns are not
 * consulted: an allowed name may point wherever its owner sends it (a CDN's name), and what
 * the agent reaches at the end is judged by its addresses. host as for policy_decide_name. */
void policy_decide_alias(const struct policy_scope *scope, struct slice host, struct verdict *v);
/* Report and open modes relax a refusal of a name, port, method or body rule (or of another
 * rule of the agent's that no built-in check stands behind, such as dns.types). */
void policy_apply_mode(const struct policy_scope *scope, struct verdict *v);

/* An agent's effective dns: settings, each its own, else the top level's, else the default. */
struct policy_dns {
	enum agent_dns_answer answer; /* default real */
	enum agent_dns_denied denied; /* default nxdomain */
	const uint16_t *types;	      /* dns.types (beyond A, AAAA, CNAME, HTTPS, SVCB) */
	unsigned n_types;	      /* default none */
	uint32_t max_ttl;	      /* seconds, default 300 */
	uint32_t rate;		      /* queries per second, default 100; 0 = unlimited */
	uint32_t burst;		      /* default twice rate (0 when rate is 0) */
};

void policy_scope_dns(const struct policy_scope *scope, struct policy_dns *out);
enum agent_mode policy_scope_mode(const struct policy_scope *scope);
/* The rules: in force: the agent's own list, else the top level's. */
const struct request_rules *policy_scope_request_rules(const struct policy_scope *scope);
const struct credential_list *policy_scope_credentials(const struct policy_scope *scope);
uint64_t policy_scope_max_body(const struct policy_scope *scope);
const char *policy_scope_guidance(const struct policy_scope *scope);

#endif
