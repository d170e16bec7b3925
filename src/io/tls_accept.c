#include "io/tls_accept.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "io/conn.h"
#include "io/tls_mint.h"
#include "io/tls_session.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "policy/reason.h"

/* The handshake failed or ran out of time. The 200 is out and TLS is sluice's own now: the
 * client hears a TLS alert (OpenSSL sends it) or the close, and the log says which side broke
 * it and OpenSSL's words for why. */
static void accept_fail(struct conn *c, enum reason why)
{
	struct conn_log_text *t = c->ctls ? conn_log_text(c) : NULL;

	if (t && c->ctls) {
		int n = snprintf(t->tls_error, sizeof(t->tls_error), "client: %s",
				 tls_session_error(c->ctls));
		t->tls_error_len =
		    (uint16_t)(n < 0				  ? 0
			       : (size_t)n < sizeof(t->tls_error) ? (size_t)n
								  : sizeof(t->tls_error) - 1);
	}
	c->req.result = why;
	conn_close(c, why);
}

/* The session is up: the CONNECT's line is written (the tunnel is open, intercepted), its
 * verified upstream connection waits in the pool for the first request, which finds it there
 * by address and name, and HTTP takes the connection over: HTTP/2 when ALPN chose it. */
static void accept_done(struct conn *c)
{
	struct conn_request *r = &c->req;
	const struct tunnel_check_exit *exit = c->proto;

	conn_want_client_write(c, false);
	conn_log_request(c, REASON_ALLOWED);
	r->upstream_keep_alive = true;
	r->req_done = true;
	upstream_park(c);
	metrics_count_intercepted(&c->w->metrics);
	const char *alpn = tls_session_alpn(c->ctls);
	bool h2 = alpn && strcmp(alpn, "h2") == 0;
	if ((h2 ? exit->carry_h2 : exit->carry_https)(c) != 0)
		conn_close(c, REASON_INTERNAL);
}

static void accept_step(struct conn *c)
{
	bool want_write = false;
	int rc = tls_session_handshake(c->ctls, &want_write);

	if (rc == 0) {
		conn_want_client_write(c, want_write);
		conn_want_client_read(c, !want_write);
		return;
	}
	if (rc < 0) {
		accept_fail(c, tls_session_peer_rejected_cert(c->ctls) ? REASON_TLS_CLIENT_UNTRUSTED
								       : REASON_TLS_CLIENT_FAILED);
		return;
	}
	accept_done(c);
}

/* The hello in cin was judged: answer it with a leaf for the tunnel's host. The bytes move to
 * the TLS session, which reads them before the socket's. */
static void accept_start(struct conn *c)
{
	struct conn_request *r = &c->req;
	struct worker *w = c->w;

	conn_set_state(c, CONN_TLS_ACCEPT);
	conn_set_timeout(c, c->cfg->tls_handshake_ms, REASON_TLS_HANDSHAKE_TIMEOUT);
	conn_want_upstream_read(c, false);
	X509 *leaf =
	    w->mint ? tls_mint_get(w->mint, slice_make(r->dest.name, r->dest.name_len)) : NULL;
	if (leaf)
		c->ctls = tls_session_accept(w->tls_server, c->cfd, leaf, tls_mint_key(w->mint),
					     buf_head(&c->cin), buf_len(&c->cin));
	X509_free(leaf);
	if (!c->ctls) {
		c->req.result = REASON_INTERNAL;
		conn_close(c, REASON_INTERNAL);
		return;
	}
	buf_consume(&c->cin, buf_len(&c->cin));
	buf_release(&c->cin);
	accept_step(c);
}

static void accept_on_client_event(struct conn *c)
{
	if (c->state == CONN_TLS_ACCEPT)
		accept_step(c);
}

/* The upstream waits, verified and idle, for the first request: nothing of it is read now. */
static void accept_no_upstream_event(struct conn *c)
{
	conn_want_upstream_read(c, false);
	conn_want_upstream_write(c, false);
}

static void accept_on_upstream_failed(struct conn *c, enum reason why, const char *detail)
{
	(void)detail;
	conn_close(c, why);
}

/* c->proto is the exit, not ours to free. */
static void accept_release(struct conn *c)
{
	c->proto = NULL;
}

const struct flow_ops tls_accept_ops = {
    .name = "tls_accept",
    .on_client_readable = accept_on_client_event,
    .on_client_writable = accept_on_client_event,
    .on_upstream_readable = accept_no_upstream_event,
    .on_upstream_writable = accept_no_upstream_event,
    .on_upstream_ready = accept_start,
    .on_upstream_failed = accept_on_upstream_failed,
    .refuse = accept_on_upstream_failed,
    .release = accept_release,
};
