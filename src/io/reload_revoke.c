#include "io/reload_revoke.h"

#include <stdio.h>
#include <string.h>

#include "io/conn.h"
#include "io/worker.h"
#include "parse/url_path.h"
#include "policy/intercept.h"
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
	policy_identity_refusal(id, id == POLICY_IDENTITY_NEED_AUTH ? *agent : NULL, v);
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
	struct policy_scope scope = worker_scope(c->w, cfg, *agent);
	const struct route *route = route_find(cfg->routes, cfg->n_routes, d);
	if (route) {
		policy_decide_route(&scope, route, true, SLICE_LIT(""), v);
		return;
	}
	struct request_facts facts = {
	    .host = slice_make(d->name, d->name_len),
	    .host_is_ip = d->kind != HOST_NAME,
	    .ip = d->ip,
	    .port = d->port,
	    .method = SLICE_LIT(""),
	};
	/* An intercepted CONNECT still intercepted: its requests are judged one by one inside. */
	facts.intercepted = r->intercept && policy_intercepts(&scope, facts.host, facts.host_is_ip);
	/* A WebSocket is its handshake's GET, judged again by the path it asked for (in the
	 * normal form rules see; a path the log cut short fails to match, and is revoked). */
	static _Thread_local struct url_path norm;
	const char *detail;
	if (r->websocket) {
		facts.method = SLICE_LIT("GET");
		if (c->log_text &&
		    url_path_normalize(slice_make(c->log_text->path, c->log_text->path_len), &norm,
				       &detail) == 0)
			facts.path = slice_make(norm.text, norm.path_len);
	}
	policy_decide(&scope, &facts, v);
	if (v->allow && d->kind == HOST_NAME && r->has_connected) {
		struct verdict by_addr = {0};
		policy_decide_addr(&cfg->rules, &r->connected, r->target.port, &by_addr);
		if (!by_addr.allow)
			*v = by_addr;
	}
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
	policy_revoke(&v, &c->req.verdict);
	metrics_count_tunnel_revoked(&c->w->metrics);
	c->ops->refuse(c, v.reason, "the egress policy was reloaded while the tunnel was opening");
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
		policy_revoke(&v, &c->req.verdict);
		metrics_count_tunnel_revoked(&w->metrics);
		conn_close(c, v.reason);
	}
}
