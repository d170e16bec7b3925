/* policy: the pure decision function. Given the rules of a policy snapshot and the facts of one
 * request, says allow or deny, why, and which rule matched. Serves HTTP and CONNECT alike.
 * Does no I/O: resolving names and connecting belong to io/. */
#ifndef SLUICE_POLICY_POLICY_H
#define SLUICE_POLICY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "base/slice.h"
#include "policy/reason.h"

struct domain_set;
struct cidr_set;

#define POLICY_RULE_MAX 300
#define POLICY_MAX_LISTENERS 128

struct policy_listener {
	struct ip_addr addr; /* all-zero bytes = wildcard listener */
	uint16_t port;
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
};

struct request_facts {
	struct slice host;     /* normalised name or canonical IP text */
	bool host_is_ip;
	struct ip_addr ip;     /* when host_is_ip */
	uint16_t port;
};

struct verdict {
	bool allow;
	enum reason reason;
	char rule[POLICY_RULE_MAX]; /* the rule that decided, e.g. "deny: *.example.com" */
};

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
 * listeners), then ips.deny, then the built-in non-global and metadata block (ARCHITECTURE.md
 * property 1) unless re-allowed by ips.allow. An IPv6 address that embeds IPv4 must pass as
 * itself and as the embedded address; re-allowing 10.0.0.0/8 does not re-allow
 * ::ffff:10.0.0.1 (fail closed: list the IPv6 form too). */
void policy_decide_addr(const struct policy_rules *rules, const struct ip_addr *addr,
			uint16_t port, struct verdict *v);

#endif
