/* tunnel_policy: what a CONNECT tunnel may carry, judged from its first bytes before it opens
 * (tunnel: in the configuration): whether they are read at all, and whether a ClientHello's
 * SNI agrees with the tunnel's target or names a host the agent may reach too. Does not read a
 * socket or parse bytes (parse/tls_hello and parse/http1 do); io/tunnel_check acts on it. */
#ifndef SLUICE_POLICY_TUNNEL_POLICY_H
#define SLUICE_POLICY_TUNNEL_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "parse/authority.h"
#include "parse/tls_hello.h"
#include "policy/policy.h"

/* True when a tunnel to port is read and judged before it opens: tunnel.inspect, and the port
 * not among tunnel.opaque_ports. */
bool tunnel_policy_inspects(const struct policy_tunnel *t, uint16_t port);

void tunnel_policy_set_opaque(struct policy_tunnel *t, uint16_t port, bool opaque);

/* The ClientHello of a tunnel to dest (the CONNECT's target), for the agent of scope. In order:
 *   1. an outer encrypted_client_hello with tunnel.ech deny: tls_ech (else the outer SNI, the
 *      client-facing server's public name, is judged below: GREASE ECH, which browsers send
 *      without any ECH config, carries the real name there);
 *   2. no SNI: allowed with tunnel.missing_sni allow (the default: nothing names another host),
 *      else tls_no_sni;
 *   3. an IP literal as SNI: tls_sni_literal, unless tunnel.ip_sni is allow and it is dest's own
 *      address (then allowed); another address is sni_mismatch;
 *   4. the SNI is dest's name: allowed;
 *   5. another name: judged as a CONNECT to it on dest's port would be (policy_decide, the
 *      agent's mode included); refused, it is sni_mismatch with rule "sni NAME: RULE".
 * Returns true when the tunnel may open. v is left untouched when the hello agrees with the
 * CONNECT (steps 2 and 4), and set otherwise: the refusal, or the other name's verdict. */
bool tunnel_policy_judge_hello(const struct policy_scope *scope, const struct authority *dest,
			       const struct tls_hello *hello, struct verdict *v);

/* The same for a tunnel sluice intercepts: the steps above, then a ClientHello that names
 * another host than dest is refused (sni_mismatch, rule "intercept: sni NAME is not the
 * tunnel's"), even one the agent may reach. sluice answers the hello with a leaf for dest and
 * judges every request inside against dest; a second name there would be fronting through the
 * one place where sluice sees it. */
bool tunnel_policy_judge_intercepted(const struct policy_scope *scope, const struct authority *dest,
				     const struct tls_hello *hello, struct verdict *v);

#endif
