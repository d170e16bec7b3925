#include "io/tunnel_check.h"
#include "io/worker.h"

#include <stdlib.h>
#include <string.h>

#include "emit/tls_alert.h"
#include "io/conn.h"
#include "io/reload_revoke.h"
#include "io/tls_accept.h"
#include "io/tunnel.h"
#include "io/upstream.h"
#include "parse/http1.h"
#include "parse/tls_hello.h"
#include "policy/tunnel_policy.h"

static void check_on_client_writable(struct conn *c)
{
	int flushed = conn_flush_client(c);

	if (flushed == 1 && c->state == CONN_REPLYING)
		conn_close(c, c->req.result);
	else if (flushed == 1)
		conn_want_client_write(c, false);
}

/* Refuses the tunnel: the 200 is out, so the client learns it only as the tunnel's end; a
 * client that spoke TLS gets a fatal alert first, which tells it more than a reset would. */
static void check_refuse(struct conn *c, enum reason why, const char *detail)
{
	struct conn_request *r = &c->req;
	bool tls = buf_len(&c->cin) > 0 && (unsigned char)buf_head(&c->cin)[0] == 22;
	unsigned char alert[TLS_ALERT_RECORD_LEN];

	(void)detail;
	if (c->state == CONN_CLOSED || c->state == CONN_REPLYING)
		return;
	if (r->verdict.allow)
		r->result = why;
	conn_log_request(c, why);
	conn_close_upstream(c);
	tls_alert_record(why, alert);
	if (!tls ||
	    !buf_append(&c->cout, alert, sizeof(alert), sizeof(alert) + buf_len(&c->cout))) {
		conn_close(c, why);
		return;
	}
	conn_set_state(c, CONN_REPLYING);
	conn_want_client_read(c, false);
	conn_set_timeout(c, c->cfg->idle_timeout_ms, REASON_CLIENT_IDLE);
	check_on_client_writable(c);
}

/* The hello passed: the tunnel opens, relaying it upstream first. */
static void check_open(struct conn *c)
{
	if (!reload_revoke_admit(c))
		return;
	c->req.tunnel_silent = true; /* the 200 went out already */
	conn_switch_ops(c, &tunnel_ops);
	c->ops->on_upstream_ready(c);
}

/* An intercepted tunnel's hello passed: sluice answers it. The exit goes along (tls_accept
 * hands the session to HTTP through it). */
static void check_intercept(struct conn *c)
{
	void *exit = c->proto;

	if (!reload_revoke_admit(c))
		return;
	conn_switch_ops(c, &tls_accept_ops);
	c->proto = exit;
	c->ops->on_upstream_ready(c);
}

/* Plain HTTP inside the tunnel (undici sends http:// URLs as CONNECT host:80): each request is
 * judged as one sent to the proxy would be, with its Host bound to the tunnel's target. The
 * CONNECT's line is logged now; its upstream connection waits in the pool for the first
 * request, which finds it there by address. */
static void check_carry_http(struct conn *c)
{
	struct conn_request *r = &c->req;

	conn_log_request(c, REASON_ALLOWED);
	r->upstream_keep_alive = true;
	r->req_done = true;
	upstream_park(c);
	const struct tunnel_check_exit *exit = c->proto;
	if (exit->carry_http(c) != 0)
		conn_close(c, REASON_INTERNAL);
}

static void check_judge(struct conn *c)
{
	struct conn_request *r = &c->req;
	static _Thread_local struct tls_hello hello; /* 16.8 KB: not on the stack */
	const char *p = buf_head(&c->cin);
	size_t n = buf_len(&c->cin);
	bool room = buf_has_room(&c->cin, TLS_HELLO_INPUT_MAX);

	if (n == 0)
		return;
	enum tls_hello_status st = tls_hello_parse(p, n, &hello);
	switch (st) {
	case TLS_HELLO_NEED_MORE:
		if (room)
			return;
		check_refuse(c, REASON_TLS_TOO_LARGE, NULL);
		return;
	case TLS_HELLO_MALFORMED:
		policy_verdict_set(&r->verdict, false, REASON_TLS_MALFORMED, "tunnel: %s",
				   hello.detail);
		check_refuse(c, REASON_TLS_MALFORMED, NULL);
		return;
	case TLS_HELLO_TOO_LARGE:
		policy_verdict_set(&r->verdict, false, REASON_TLS_TOO_LARGE, "tunnel: %s",
				   hello.detail);
		check_refuse(c, REASON_TLS_TOO_LARGE, NULL);
		return;
	case TLS_HELLO_OK: {
		struct policy_scope scope = worker_scope(c->w, c->cfg, r->agent);
		conn_log_hello(c, &hello);
		bool pass =
		    r->intercept
			? tunnel_policy_judge_intercepted(&scope, &r->dest, &hello, &r->verdict)
			: tunnel_policy_judge_hello(&scope, &r->dest, &hello, &r->verdict);
		if (!pass)
			check_refuse(c, r->verdict.reason, NULL);
		else if (r->intercept)
			check_intercept(c);
		else
			check_open(c);
		return;
	}
	case TLS_HELLO_NOT_TLS:
		break;
	}
	int http = http1_request_prefix(p, n);
	if (http < 0 && room)
		return;
	if (http > 0) {
		check_carry_http(c);
		return;
	}
	policy_verdict_set(&r->verdict, false, REASON_TUNNEL_NOT_TLS,
			   "tunnel.opaque_ports: %u not listed", (unsigned)r->dest.port);
	check_refuse(c, REASON_TUNNEL_NOT_TLS, NULL);
}

static void check_on_client_readable(struct conn *c)
{
	if (c->state != CONN_TUNNEL_CHECK) {
		conn_want_client_read(c, false);
		return;
	}
	ssize_t n = conn_read_into(c->cfd, &c->cin, TLS_HELLO_INPUT_MAX);
	if (n == -1 && buf_has_room(&c->cin, TLS_HELLO_INPUT_MAX))
		return;
	if (n == 0 || n < -1) {
		c->c_eof = true;
		conn_close(c, REASON_CLIENT_CLOSED);
		return;
	}
	check_judge(c);
}

/* The CONNECT's upstream is connected: answer 200 and wait for the client's first bytes. The
 * upstream is not read meanwhile: what a server says first waits in its socket. */
static void check_on_upstream_ready(struct conn *c)
{
	conn_set_state(c, CONN_TUNNEL_CHECK);
	c->req.status = 200;
	if (!buf_append(&c->cout, TUNNEL_ESTABLISHED, TUNNEL_ESTABLISHED_LEN,
			TUNNEL_ESTABLISHED_LEN + buf_len(&c->cout))) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	conn_want_upstream_read(c, false);
	conn_set_timeout(c, c->cfg->head_timeout_ms, REASON_HEAD_TIMEOUT);
	check_on_client_writable(c);
	if (c->state != CONN_TUNNEL_CHECK)
		return;
	conn_want_client_read(c, true);
	/* Bytes the client sent right behind its CONNECT head. */
	check_judge(c);
}

/* Until the tunnel opens the upstream says nothing sluice reads. */
static void check_no_upstream_event(struct conn *c)
{
	conn_want_upstream_read(c, false);
	conn_want_upstream_write(c, false);
}

static void check_on_upstream_failed(struct conn *c, enum reason why, const char *detail)
{
	conn_close(c, why);
}

/* c->proto is the exit, which is not ours to free. */
static void check_release(struct conn *c)
{
	c->proto = NULL;
}

const struct flow_ops tunnel_check_ops = {
    .name = "tunnel_check",
    .on_client_readable = check_on_client_readable,
    .on_client_writable = check_on_client_writable,
    .on_upstream_readable = check_no_upstream_event,
    .on_upstream_writable = check_no_upstream_event,
    .on_upstream_ready = check_on_upstream_ready,
    .on_upstream_failed = check_on_upstream_failed,
    .refuse = check_refuse,
    .release = check_release,
};
