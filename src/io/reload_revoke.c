#include "io/reload_revoke.h"

#include <stdio.h>
#include <string.h>

#include "io/conn.h"
#include "io/worker.h"
#include "policy/route.h"

/* The tunnel's agent under cfg, found again from its client address and the credentials it
 * was opened with. Returns false, with v saying why, when it no longer has one. */
static bool revoke_identify(const struct conn *c, const struct config *cfg,
			    const struct agent **agent, struct verdict *v)
{
	const struct conn_request *r = &c->req;
	enum policy_identity id =
	    policy_identify(cfg->agents, cfg->n_agents, cfg->default_agent, &c->client_ip,
			    r->has_cred ? &r->cred : NULL, agent);

	if (id == POLICY_IDENTITY_OK)
		return true;
	v->allow = false;
	v->reason = id == POLICY_IDENTITY_UNKNOWN ? REASON_UNKNOWN_AGENT : REASON_AUTH_REQUIRED;
	snprintf(v->rule, sizeof(v->rule), "%s",
		 id == POLICY_IDENTITY_UNKNOWN
		     ? "agents: no agent matches this client and there is no default agent"
		     : "agents: the credentials this tunnel was opened with are not accepted");
	return false;
}

static bool revoke_is_route(const struct config *cfg, const struct authority *d)
{
	for (unsigned i = 0; d->kind == HOST_NAME && i < cfg->n_routes; i++)
		if (strcmp(cfg->routes[i].host, d->name) == 0)
			return true;
	return false;
}

/* The tunnel's CONNECT judged as if it came now: identity, name rules, then the address it is
 * connected to (the new policy may deny that address, or no longer re-allow it). */
static void revoke_judge(const struct conn *c, const struct config *cfg, const struct agent **agent,
			 struct verdict *v)
{
	const struct conn_request *r = &c->req;
	const struct authority *d = &r->dest;

	memset(v, 0, sizeof(*v));
	if (!revoke_identify(c, cfg, agent, v))
		return;
	if (revoke_is_route(cfg, d)) {
		v->reason = REASON_ROUTE_CONNECT;
		snprintf(v->rule, sizeof(v->rule), "route: %s", d->name);
		return;
	}
	struct policy_scope scope = {&cfg->rules, &cfg->base, *agent};
	struct request_facts facts = {
	    .host = slice_make(d->name, d->name_len),
	    .host_is_ip = d->kind != HOST_NAME,
	    .ip = d->ip,
	    .port = d->port,
	    .method = SLICE_LIT(""),
	};
	policy_decide(&scope, &facts, v);
	if (v->allow && d->kind == HOST_NAME && r->has_connected) {
		struct verdict by_addr = {0};
		policy_decide_addr(&cfg->rules, &r->connected, r->target.port, &by_addr);
		if (!by_addr.allow)
			*v = by_addr;
	}
}

/* The verdict that revokes the tunnel, marked as a reload's so the log tells it from a
 * refusal at CONNECT time. */
static void revoke_set_verdict(struct conn *c, const struct verdict *v)
{
	struct conn_request *r = &c->req;

	r->verdict = *v;
	r->verdict.allow = false;
	r->verdict.report = false;
	snprintf(r->verdict.rule, sizeof(r->verdict.rule), "reload: %.290s", v->rule);
}

/* Still allowed: the tunnel moves to the current snapshot, with its agent as that snapshot
 * knows it (the old configuration may be freed once no connection holds it). */
static void revoke_keep(struct conn *c, const struct agent *agent)
{
	conn_refresh_snapshot(c);
	c->req.agent = agent;
}

bool reload_revoke_admit(struct conn *c)
{
	struct verdict v;
	const struct agent *agent = NULL;

	if (c->snap == c->w->snap || c->w->cfg->reload_revoke_ms == 0)
		return true;
	revoke_judge(c, c->w->cfg, &agent, &v);
	if (v.allow) {
		revoke_keep(c, agent);
		return true;
	}
	revoke_set_verdict(c, &v);
	metrics_count_tunnel_revoked(&c->w->metrics);
	conn_reply_error(c, v.reason, "the egress policy was reloaded while the tunnel was opening",
			 true);
	return false;
}

void reload_revoke_sweep(struct worker *w)
{
	struct conn *next;

	for (struct conn *c = w->conns; c; c = next) {
		struct verdict v;
		const struct agent *agent = NULL;

		next = c->next;
		if (c->state != CONN_TUNNEL || c->snap == w->snap)
			continue;
		revoke_judge(c, w->cfg, &agent, &v);
		if (v.allow) {
			revoke_keep(c, agent);
			continue;
		}
		revoke_set_verdict(c, &v);
		metrics_count_tunnel_revoked(&w->metrics);
		conn_close(c, v.reason);
	}
}
