#include "io/sni_flow.h"

#include <string.h>

#include "emit/tls_alert.h"
#include "io/conn.h"
#include "io/reload_revoke.h"
#include "io/tunnel.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "parse/tls_hello.h"
#include "policy/route.h"

static void sni_on_client_writable(struct conn *c)
{
	if (c->state != CONN_REPLYING) {
		conn_want_client_write(c, false);
		return;
	}
	if (conn_flush_client(c) == 1)
		conn_close(c, c->req.result);
}

/* Refuses the connection: logs it, sends one fatal alert record (emit/tls_alert) and closes
 * once it is out. */
static void sni_refuse(struct conn *c, enum reason why, const char *detail)
{
	struct conn_request *r = &c->req;
	unsigned char alert[TLS_ALERT_RECORD_LEN];

	(void)detail;
	if (c->state == CONN_CLOSED)
		return;
	if (r->started_ms == 0)
		r->started_ms = conn_now_ms();
	/* Every line of this listener says TLS, also one refused before the hello was read. */
	memcpy(r->method, "TLS", sizeof("TLS"));
	if (r->verdict.allow || r->verdict.reason == REASON_ALLOWED)
		r->result = why;
	r->close_after_reply = true;
	tls_alert_record(why, alert);
	conn_log_request(c, why);
	conn_close_upstream(c);
	if (!buf_append(&c->cout, alert, sizeof(alert), sizeof(alert) + buf_len(&c->cout))) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	conn_set_state(c, CONN_REPLYING);
	conn_want_client_read(c, false);
	conn_set_timeout(c, c->cfg->idle_timeout_ms, REASON_CLIENT_IDLE);
	sni_on_client_writable(c);
}

/* docs/policy.md, "The agent", by source address alone: a TLS client sends sluice no
 * credentials, so an agent that needs a token cannot be told here. Returns false when
 * refused. */
static bool sni_identify(struct conn *c)
{
	struct conn_request *r = &c->req;
	enum policy_identity id =
	    policy_identify(c->cfg->agents, c->cfg->n_agents, c->cfg->default_agent, &c->client_ip,
			    NULL, &r->agent);

	if (id == POLICY_IDENTITY_OK)
		return conn_count_agent(c);
	policy_identity_refusal(id, id == POLICY_IDENTITY_NEED_AUTH ? r->agent : NULL, &r->verdict);
	r->agent = NULL;
	sni_refuse(c, id == POLICY_IDENTITY_UNKNOWN ? REASON_UNKNOWN_AGENT : REASON_AUTH_REQUIRED,
		   NULL);
	return false;
}

/* Judged exactly as a CONNECT to dest: a route host is refused (route_needs_http), as it is
 * for CONNECT, since a route is served over plain HTTP only. */
static void sni_decide(struct conn *c)
{
	struct conn_request *r = &c->req;
	const struct authority *d = &r->dest;
	struct policy_scope scope = worker_scope(c->w, c->cfg, r->agent);
	const struct route *route = route_find(c->cfg->routes, c->cfg->n_routes, d);
	struct request_facts facts = {
	    .host = slice_make(d->name, d->name_len),
	    .host_is_ip = false,
	    .ip = d->ip,
	    .port = d->port,
	    .method = SLICE_LIT(""),
	};

	if (route)
		policy_decide_route(&scope, route, true, SLICE_LIT(""), &r->verdict);
	else
		policy_decide(&scope, &facts, &r->verdict);
}

static enum reason sni_status_reason(enum tls_hello_status st)
{
	switch (st) {
	case TLS_HELLO_NOT_TLS:
		return REASON_NOT_TLS;
	case TLS_HELLO_TOO_LARGE:
		return REASON_TLS_TOO_LARGE;
	default:
		return REASON_TLS_MALFORMED;
	}
}

/* cin holds what the client has sent so far: wait for more, or judge the hello. The hello
 * stays in cin, for the tunnel to relay. */
static void sni_parse_hello(struct conn *c)
{
	struct conn_request *r = &c->req;
	static _Thread_local struct tls_hello hello; /* 16.8 KB: not on the stack */
	enum tls_hello_status st = tls_hello_parse(buf_head(&c->cin), buf_len(&c->cin), &hello);

	if (st == TLS_HELLO_NEED_MORE && buf_has_room(&c->cin, TLS_HELLO_INPUT_MAX)) {
		conn_want_client_read(c, true);
		return;
	}
	r->started_ms = conn_now_ms();
	conn_refresh_snapshot(c);
	memcpy(r->method, "TLS", sizeof("TLS"));
	r->is_connect = true;
	r->tunnel_silent = true;
	if (st != TLS_HELLO_OK) {
		/* NEED_MORE with a full buffer cannot happen (tls_hello.h): refused all the same.
		 */
		sni_refuse(c,
			   st == TLS_HELLO_NEED_MORE ? REASON_TLS_TOO_LARGE : sni_status_reason(st),
			   hello.detail);
		return;
	}
	conn_log_hello(c, &hello);
	if (!hello.has_sni) {
		sni_refuse(c, REASON_TLS_NO_SNI, NULL);
		return;
	}
	r->dest = hello.sni;
	r->dest.port = conn_local_port(c);
	r->dest.has_port = true;
	if (r->dest.kind != HOST_NAME) {
		sni_refuse(c, REASON_TLS_SNI_LITERAL, NULL);
		return;
	}
	if (r->dest.port == 0) {
		sni_refuse(c, REASON_INTERNAL, "getsockname failed");
		return;
	}
	if (!sni_identify(c))
		return;
	sni_decide(c);
	if (!r->verdict.allow) {
		sni_refuse(c, r->verdict.reason, NULL);
		return;
	}
	upstream_start(c);
}

static void sni_on_client_readable(struct conn *c)
{
	if (c->state == CONN_REPLYING) {
		conn_want_client_read(c, false);
		return;
	}
	ssize_t n = conn_read_into(c->cfd, &c->cin, TLS_HELLO_INPUT_MAX);
	if (n == -1) {
		if (!buf_has_room(&c->cin, TLS_HELLO_INPUT_MAX)) {
			conn_want_client_read(c, false);
			if (c->state == CONN_READ_HEAD)
				sni_parse_hello(c);
		}
		return;
	}
	if (n == 0 && c->state != CONN_READ_HEAD) {
		/* Judged and on its way: the tunnel half-closes upstream once cin is out. */
		c->c_eof = true;
		conn_want_client_read(c, false);
		return;
	}
	if (n <= 0) {
		c->c_eof = true;
		conn_close(c, REASON_CLIENT_CLOSED);
		return;
	}
	if (c->state == CONN_READ_HEAD) {
		sni_parse_hello(c);
		return;
	}
	/* Resolving or connecting: what follows the hello (early data) waits in cin. */
	if (!buf_has_room(&c->cin, TLS_HELLO_INPUT_MAX))
		conn_want_client_read(c, false);
}

/* The upstream is connected: unless a reload since the hello was judged revokes it, the tunnel
 * takes the connection over. */
static void sni_on_upstream_ready(struct conn *c)
{
	if (!reload_revoke_admit(c))
		return;
	conn_switch_ops(c, &tunnel_ops);
	c->ops->on_upstream_ready(c);
}

/* The upstream's events go to upstream's setup table until it is ready, and to the tunnel
 * after: never here. */
static void sni_no_upstream_event(struct conn *c)
{
	conn_want_upstream_read(c, false);
	conn_want_upstream_write(c, false);
}

/* Nothing beyond conn's own buffers: the hello lives in cin. */
static void sni_release(struct conn *c)
{
}

const struct flow_ops sni_flow_ops = {
    .name = "transparent_tls",
    .on_client_readable = sni_on_client_readable,
    .on_client_writable = sni_on_client_writable,
    .on_upstream_readable = sni_no_upstream_event,
    .on_upstream_writable = sni_no_upstream_event,
    .on_upstream_ready = sni_on_upstream_ready,
    .on_upstream_failed = sni_refuse,
    .refuse = sni_refuse,
    .release = sni_release,
};
