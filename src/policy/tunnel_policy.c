#include "policy/tunnel_policy.h"

#include <string.h>

bool tunnel_policy_inspects(const struct policy_tunnel *t, uint16_t port)
{
	return t->inspect && !((t->opaque_ports[port / 8] >> (port % 8)) & 1);
}

void tunnel_policy_set_opaque(struct policy_tunnel *t, uint16_t port, bool opaque)
{
	if (opaque)
		t->opaque_ports[port / 8] |= (uint8_t)(1u << (port % 8));
	else
		t->opaque_ports[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

static bool same_name(const struct authority *a, const struct authority *b)
{
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

bool tunnel_policy_judge_hello(const struct policy_scope *scope, const struct authority *dest,
			       const struct tls_hello *hello, struct verdict *v)
{
	const struct policy_tunnel *t = &scope->rules->tunnel;
	const struct authority *sni = &hello->sni;

	if (hello->has_ech && hello->ech_outer && t->ech_deny) {
		policy_verdict_set(v, false, REASON_TLS_ECH, "tunnel.ech: deny");
		return false;
	}
	if (!hello->has_sni) {
		if (t->missing_sni_allow)
			return true;
		policy_verdict_set(v, false, REASON_TLS_NO_SNI, "tunnel.missing_sni: deny");
		return false;
	}
	if (sni->kind != HOST_NAME) {
		if (!t->ip_sni_allow) {
			policy_verdict_set(v, false, REASON_TLS_SNI_LITERAL, "tunnel.ip_sni: deny");
			return false;
		}
		if (dest->kind != HOST_NAME && ip_addr_eq(&dest->ip, &sni->ip))
			return true;
		policy_verdict_set(v, false, REASON_SNI_MISMATCH,
				   "sni %.64s: not the tunnel's address", sni->name);
		return false;
	}
	if (dest->kind == HOST_NAME && same_name(dest, sni))
		return true;
	struct request_facts facts = {
	    .host = slice_make(sni->name, sni->name_len),
	    .host_is_ip = false,
	    .port = dest->port,
	    .method = SLICE_LIT(""),
	};
	struct verdict other;
	policy_decide(scope, &facts, &other);
	policy_verdict_set(v, other.allow, other.allow ? other.reason : REASON_SNI_MISMATCH,
			   "sni %.150s: %.140s", sni->name, other.rule);
	v->report = other.report;
	return other.allow;
}

bool tunnel_policy_judge_intercepted(const struct policy_scope *scope, const struct authority *dest,
				     const struct tls_hello *hello, struct verdict *v)
{
	if (!tunnel_policy_judge_hello(scope, dest, hello, v))
		return false;
	if (!hello->has_sni || (dest->kind == HOST_NAME && hello->sni.kind == HOST_NAME &&
				same_name(dest, &hello->sni)))
		return true;
	policy_verdict_set(v, false, REASON_SNI_MISMATCH,
			   "intercept: sni %.150s is not the tunnel's", hello->sni.name);
	v->report = false;
	return false;
}
