/* dns_policy: the verdicts of the DNS listener: may this agent ask this name and type, may the
 * upstream's answer be given, how long may it be cached, what response code a verdict means.
 * Reads no message and sends none (parse/, emit/ and io/ do); names and addresses only. */
#ifndef SLUICE_POLICY_DNS_POLICY_H
#define SLUICE_POLICY_DNS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "base/slice.h"
#include "parse/dns_type.h"
#include "policy/policy.h"
#include "policy/rate_limit.h"

struct route;

/* Types answered to every agent: A, AAAA, CNAME, HTTPS, SVCB. */
bool dns_policy_type_always(uint16_t qtype);
/* Types never answered, whatever the configuration or mode: 0 and 65535 (reserved), OPT (a
 * pseudo-record) and 128-255, the question-only and meta types (RFC 6895 §3.1: AXFR, IXFR,
 * TSIG, ..., and ANY, which RFC 8482 lets a resolver refuse). */
bool dns_policy_type_never(uint16_t qtype);

/* The question: name (as parse/dns_msg writes it: dotted text, no trailing dot) and qtype, for
 * the agent of scope. In order, the first that refuses decides:
 *   1. a name that is no host name (a byte other than [A-Za-z0-9-_.], an empty label, a label
 *      over 63 bytes, an IP address or a number as the last label) -> dns_bad_name;
 *   2. a type dns_policy_type_never names -> dns_type;
 *   3. a route host (routes, for the agents it lists; others get route_not_allowed) is allowed
 *      with the rule "route: HOST" and the types of dns_policy_type_always only: sluice answers
 *      it itself and sends no query upstream;
 *   4. the name rules (policy_decide_name: localhost refused, deny, allow, pinned patterns);
 *   5. a type neither always answered nor in the effective dns.types -> dns_type.
 * The agent's mode relaxes 4 (but not localhost) and 5, as it relaxes an HTTP request's rules.
 * Returns the route whose host the name is (whatever the verdict), else NULL. */
const struct route *dns_policy_decide_name(const struct policy_scope *scope,
					   const struct route *routes, unsigned n_routes,
					   const char *name, size_t len, uint16_t qtype,
					   struct verdict *v);

/* The addresses of an upstream answer (the A and AAAA records, SVCB/HTTPS hints), each judged
 * by policy_decide_addr as a connection's would be but on no port: the loop check against
 * sluice's own listeners is a port check, and no port rule refuses an answer. One refused
 * address refuses the answer (all internal, or mixed: the rebinding shape), no mode relaxes it:
 * dns_internal_answer, rule "answer ADDR: RULE" (with "(K of N)" when some passed). None at all
 * is allowed (NODATA). */
void dns_policy_judge_answers(const struct policy_rules *rules, const struct ip_addr *addrs,
			      size_t n, struct verdict *v);

/* A name an upstream answer leads to (what: "cname" for a CNAME's target, "target" for an HTTPS
 * or SVCB TargetName), as parse/dns_answer writes it: a host name (else dns_bad_name), then
 * policy_decide_alias. True when it passes; then v is untouched, unless the agent's mode let a
 * refusal pass: v is then that report (rule "cname NAME: deny: PATTERN"), and true. False with
 * v set to the refusal. */
bool dns_policy_judge_alias(const struct policy_scope *scope, const char *what, const char *name,
			    size_t len, struct verdict *v);

/* The TTL to answer with: the upstream's, at most the effective dns.max_ttl (0 stays 0). */
uint32_t dns_policy_ttl(const struct policy_scope *scope, uint32_t upstream_ttl);

/* Takes one query from the agent's bucket (set up with the effective dns.rate and dns.burst):
 * true when there was one; false with v set to dns_rate_limited (no mode relaxes it). */
bool dns_policy_check_rate(const struct policy_scope *scope, struct token_bucket *tb,
			   uint64_t now_ms, struct verdict *v);

/* The DNS response code for a verdict: NOERROR (0) when it allows (report mode included), else
 * its reason's rcode, a denial as the agent's dns.denied says (NXDOMAIN 3 or REFUSED 5). */
int dns_policy_rcode(const struct policy_scope *scope, const struct verdict *v);

#endif
