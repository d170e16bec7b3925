#include "io/upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/conn.h"
#include "io/h2_upstream.h"
#include "io/resolver.h"
#include "io/snapshot.h"
#include "io/sockaddr.h"
#include "io/tls_session.h"
#include "io/upstream_pool.h"
#include "io/upstream_sock.h"
#include "io/worker.h"
#include "policy/agent.h"
#include "policy/route.h"

/* What a pooled connection to a route upstream was opened for: the configuration generation,
 * the scheme, the upstream name (for https, what its certificate was checked against) and the
 * trust it was checked with (see upstream_route_id). A route connection is reused only for the
 * same route upstream of the same generation, never just for the same address (another name at
 * that address would skip its own certificate check), and a reload closes them all. */
#define UPSTREAM_ROUTE_ID_MAX (24 + 8 + ROUTE_HOST_MAX + AGENT_SOURCE_MAX + 3)

/* The pool identity of a route's upstream connection: "" when not on a route. The
 * configuration generation is part of it: a reload may move the upstream or re-read the CA
 * files, and a connection opened (or a session verified) under the old configuration is not
 * reused under the new. */
/* An intercepted request that came as an HTTP/2 stream offers h2 to its upstream too: what
 * HTTP/2 carries and HTTP/1.1 does not (trailers: gRPC's status) then goes through. So does
 * the CONNECT's own connection, made before the client's ALPN is known, so that its first
 * request finds it whichever protocol the client speaks (unless an HTTP/1.1 client meets an
 * origin that chose h2). A request from an HTTP/1.1 client stays HTTP/1.1 end to end. */
static bool upstream_offers_h2(const struct conn *c)
{
	return !c->req.route && c->req.intercept && c->cfg->tls_upstream_http2 &&
	       (c->cio || c->req.is_connect);
}

static const char *upstream_route_id(const struct conn *c, char *out, size_t size)
{
	const struct route *rt = c->req.route;

	/* An intercepted destination's session is verified for its name and tls.upstream_ca. */
	if (!rt && c->req.intercept) {
		snprintf(out, size, "%llu\nintercept\n%s\n%s",
			 (unsigned long long)c->snap->generation, c->req.target.name,
			 c->cfg->tls_upstream_ca);
		return out;
	}
	if (!rt)
		return "";
	snprintf(out, size, "%llu\n%s\n%s\n%s", (unsigned long long)c->snap->generation,
		 rt->tls ? "https" : "http", rt->upstream_host, rt->ca_file);
	return out;
}

void upstream_park(struct conn *c)
{
	struct conn_request *r = &c->req;

	if (!r->upstream_keep_alive || !r->req_done || buf_len(&c->uin) > 0 || c->u_eof || !c->us ||
	    (c->us->tls && tls_session_pending(c->us->tls)) ||
	    (c->us->h2 && !h2_upstream_reusable(c->us->h2))) {
		conn_close_upstream(c);
		return;
	}
	upstream_pool_put(c->w->pool, conn_upstream_detach(c));
}

/* The log's tls_error for an intercepted request whose upstream handshake failed. */
static void upstream_note_tls_error(struct conn *c, const char *why)
{
	struct conn_log_text *t = conn_log_text(c);
	if (!t)
		return;
	int n = snprintf(t->tls_error, sizeof(t->tls_error), "upstream: %s", why);
	t->tls_error_len =
	    (uint16_t)(n < 0				  ? 0
		       : (size_t)n < sizeof(t->tls_error) ? (size_t)n
							  : sizeof(t->tls_error) - 1);
}

/* Drives the TLS handshake of an https route or an intercepted destination; the connect timer
 * keeps running. */
static void upstream_tls_step(struct conn *c)
{
	bool want_write = false;
	struct tls_session *tls = c->us->tls;
	int rc = tls_session_handshake(tls, &want_write);

	if (rc == 0) {
		conn_want_upstream_write(c, want_write);
		conn_want_upstream_read(c, !want_write);
		return;
	}
	if (rc < 0) {
		char detail[256];
		enum reason why = REASON_UPSTREAM_TLS;
		if (!c->req.route) {
			why = tls_session_cert_failed(tls) ? REASON_TLS_CERTIFICATE_ERROR
							   : REASON_TLS_PROTOCOL_ERROR;
			upstream_note_tls_error(c, tls_session_error(tls));
		}
		snprintf(detail, sizeof(detail), "TLS to the %s failed: %s",
			 c->req.route ? "route upstream" : "destination", tls_session_error(tls));
		conn_close_upstream(c);
		c->ops->on_upstream_failed(c, why, detail);
		return;
	}
	c->req.upstream_verified = true;
	conn_want_upstream_write(c, false);
	conn_want_upstream_read(c, false);
	const char *alpn = tls_session_alpn(tls);
	if (alpn[0] && strcmp(alpn, "h2") == 0) {
		c->us->h2 = h2_upstream_new(tls, &c->w->bufs, c->cfg->max_response_head);
		if (!c->us->h2) {
			conn_close_upstream(c);
			c->ops->on_upstream_failed(c, REASON_INTERNAL, "out of memory");
			return;
		}
		c->req.upstream_h2 = true;
	}
	c->ops->on_upstream_ready(c);
}

static void upstream_ready(struct conn *c)
{
	const struct route *rt = c->req.route;
	bool tls = rt ? rt->tls : c->req.intercept;

	c->req.has_connected = true;
	conn_want_upstream_write(c, false);
	if (c->us->tls) /* from the pool: verified at its handshake, for this name */
		c->req.upstream_verified = true;
	c->req.upstream_h2 = c->us->h2 != NULL;
	if (tls && !c->us->tls) {
		struct tls_context *ctx =
		    snapshot_tls_context(c->snap, rt ? rt->ca_file : c->cfg->tls_upstream_ca);
		static const unsigned char h2_first[] = "\x02h2\x08http/1.1";
		c->us->tls = ctx ? tls_session_connect(ctx, c->us->fd,
						       rt ? rt->upstream_host : c->req.target.name)
				 : NULL;
		if (c->us->tls && upstream_offers_h2(c)) {
			c->us->offered_h2 = true;
			if (!tls_session_offer_alpn(c->us->tls, h2_first, sizeof(h2_first) - 1)) {
				tls_session_free(c->us->tls);
				c->us->tls = NULL;
			}
		}
		if (!c->us->tls) {
			conn_close_upstream(c);
			c->ops->on_upstream_failed(c, rt ? REASON_UPSTREAM_TLS : REASON_INTERNAL,
						   "cannot set up TLS to the upstream");
			return;
		}
		conn_set_state(c, CONN_CONNECTING);
		upstream_tls_step(c);
		return;
	}
	c->ops->on_upstream_ready(c);
}

static enum reason upstream_errno_reason(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return REASON_CONNECT_REFUSED;
	case ETIMEDOUT:
		return REASON_CONNECT_TIMEOUT;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case EADDRNOTAVAIL:
	case ENETDOWN:
	case EHOSTDOWN:
		return REASON_CONNECT_UNREACHABLE;
	default:
		return REASON_CONNECT_REFUSED;
	}
}

static void upstream_on_connect_done(struct conn *c);
static bool upstream_on_timeout(struct conn *c);

/* Socket readiness while the connection is connecting: the TCP handshake ends when the socket is
 * writable; a TLS handshake steps on either. */
static void upstream_on_readable(struct conn *c)
{
	if (c->us->tls)
		upstream_tls_step(c);
}

static void upstream_on_writable(struct conn *c)
{
	if (c->us->tls)
		upstream_tls_step(c);
	else
		upstream_on_connect_done(c);
}

static const struct conn_setup_ops upstream_setup = {
    .on_readable = upstream_on_readable,
    .on_writable = upstream_on_writable,
    .on_timeout = upstream_on_timeout,
};

/* One TCP connect attempt ended (established, refused, timed out): its latency sample. */
static void upstream_connect_observe(struct conn *c)
{
	metrics_observe_connect(&c->w->metrics, conn_now_us() - c->req.phase_start_us);
}

/* Starts a connection to the next checked address. Returns 0 when connecting or connected,
 * or the reason the last address failed once none are left. */
static void upstream_connect_next(struct conn *c, enum reason last_failure)
{
	struct conn_request *r = &c->req;

	while (r->next_addr < r->n_addrs) {
		const struct ip_addr *ip = &r->addrs[r->next_addr++];
		struct sockaddr_storage ss;
		socklen_t len = sockaddr_from_ip(&ss, ip, r->target.port);
		int one = 1;

		char id[UPSTREAM_ROUTE_ID_MAX];
		/* The key is the port connected to (a route's upstream port, not the one the agent
		 * named), so that the connection is only ever reused for where it really goes. */
		const char *route_id = upstream_route_id(c, id, sizeof(id));

		r->connected = *ip;
		r->has_connected = true;
		/* A tunnel's connection is its own, except an intercepted one's: HTTP inside. */
		if ((!r->is_connect || r->intercept) && !r->upstream_retried) {
			struct upstream_sock *us = upstream_pool_take(
			    c->w->pool, route_id, ip, r->target.port, upstream_offers_h2(c));
			if (us) {
				r->upstream_reused = true;
				metrics_count_upstream_reused(&c->w->metrics);
				/* Kept until the upstream answers; without it (out of memory) a
				 * stale connection is a 502, as for any other request. */
				buf_release(&c->replay);
				if (r->replayable)
					buf_append(&c->replay, buf_head(&c->uout),
						   buf_len(&c->uout), c->uout.cap);
				/* Verified for this route's name and trust: no handshake. */
				conn_upstream_attach(c, us, &upstream_setup);
				upstream_ready(c);
				return;
			}
		}
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			last_failure = REASON_INTERNAL;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct upstream_sock *us =
		    upstream_sock_new(c->w->base, fd, route_id, ip, r->target.port);
		if (!us) {
			last_failure = REASON_INTERNAL;
			continue;
		}
		r->phase_start_us = conn_now_us();
		if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
			upstream_connect_observe(c);
			conn_upstream_attach(c, us, &upstream_setup);
			upstream_ready(c);
			return;
		}
		if (errno == EINPROGRESS) {
			conn_upstream_attach(c, us, &upstream_setup);
			conn_set_state(c, CONN_CONNECTING);
			conn_set_timeout(c, c->cfg->connect_timeout_ms, REASON_CONNECT_TIMEOUT);
			conn_want_upstream_write(c, true);
			return;
		}
		last_failure = upstream_errno_reason(errno);
		upstream_connect_observe(c);
		upstream_sock_free(us);
	}
	c->ops->on_upstream_failed(c, last_failure, NULL);
}

/* The connect timer ran out: the next checked address, if there is one. */
static bool upstream_on_timeout(struct conn *c)
{
	if (!c->us->tls)
		upstream_connect_observe(c); /* the TCP connect timed out */
	if (c->req.next_addr >= c->req.n_addrs)
		return false;
	conn_close_upstream(c);
	upstream_connect_next(c, REASON_CONNECT_TIMEOUT);
	return true;
}

bool upstream_retry_stale(struct conn *c)
{
	struct conn_request *r = &c->req;

	/* The copy exists only for a replayable request sent on a pooled connection, until the
	 * first byte of answer. */
	if (buf_len(&c->replay) == 0)
		return false;
	conn_close_upstream(c);
	buf_move(&c->uout, &c->replay); /* the head again, as first sent */
	r->upstream_reused = false;
	r->upstream_retried = true;
	r->next_addr--; /* the same address, on a new connection */
	metrics_count_upstream_retry(&c->w->metrics);
	upstream_connect_next(c, REASON_UPSTREAM_CLOSED);
	return true;
}

/* The non-blocking connect finished, one way or the other. */
static void upstream_on_connect_done(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->us->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	upstream_connect_observe(c);
	if (err == 0) {
		upstream_ready(c);
		return;
	}
	conn_close_upstream(c);
	upstream_connect_next(c, upstream_errno_reason(err));
}

/* docs/security.md guarantee 2: every answer is judged; one prohibited answer denies the name
 * (mixed answers are a rebinding trick), and only judged addresses are ever connected to. */
static void upstream_on_resolved(void *arg, enum reason status, const struct ip_addr *addrs,
				 unsigned n)
{
	struct conn *c = arg;
	struct conn_request *r = &c->req;
	char text[IP_ADDR_TEXT_MAX], detail[AUTHORITY_NAME_MAX + 64];

	if (c->dns)
		c->w->pending_dns--;
	c->dns = NULL;
	if (c->state == CONN_RESOLVING) /* a lookup, not a cache hit or a literal */
		metrics_observe_dns(&c->w->metrics, conn_now_us() - r->phase_start_us);
	if (status != REASON_ALLOWED) {
		c->ops->on_upstream_failed(c, status, NULL);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct verdict v = {0};
		if (r->route)
			policy_decide_route_addr(&c->cfg->rules, &addrs[i], r->target.port, &v);
		else
			policy_decide_addr(&c->cfg->rules, &addrs[i], r->target.port, &v);
		if (!v.allow) {
			r->verdict = v;
			r->connected = addrs[i];
			r->has_connected = true;
			ip_addr_format(&addrs[i], text);
			snprintf(detail, sizeof(detail), "%s resolved to %s", r->target.name, text);
			c->ops->on_upstream_failed(c, v.reason, detail);
			return;
		}
	}
	memcpy(r->addrs, addrs, n * sizeof(*addrs));
	r->n_addrs = n;
	r->next_addr = 0;
	upstream_connect_next(c, REASON_CONNECT_REFUSED);
}

void upstream_start(struct conn *c)
{
	struct conn_request *r = &c->req;
	struct ip_addr cached[RESOLVER_MAX_ADDRS];

	r->target = r->route ? r->route->upstream : r->dest;
	if (r->target.kind != HOST_NAME) {
		/* Literal destinations were judged by the request decision; a route's literal
		 * upstream is judged here. */
		if (r->route) {
			upstream_on_resolved(c, REASON_ALLOWED, &r->target.ip, 1);
			return;
		}
		r->addrs[0] = r->target.ip;
		r->n_addrs = 1;
		r->next_addr = 0;
		upstream_connect_next(c, REASON_CONNECT_REFUSED);
		return;
	}
	int n = resolver_cache_get(c->w->resolver, r->target.name, cached, RESOLVER_MAX_ADDRS);
	if (n > 0) {
		upstream_on_resolved(c, REASON_ALLOWED, cached, (unsigned)n);
		return;
	}
	/* limits.max_pending_dns: a flood of names nobody answers must not pile up queries. */
	unsigned limit = worker_share(c->w, c->cfg->max_pending_dns);
	if (limit > 0 && c->w->pending_dns >= limit) {
		c->ops->on_upstream_failed(c, REASON_DNS_BUSY, NULL);
		return;
	}
	conn_set_state(c, CONN_RESOLVING);
	r->phase_start_us = conn_now_us();
	conn_set_timeout(c, c->cfg->dns_timeout_ms, REASON_DNS_TIMEOUT);
	c->dns = resolver_lookup(c->w->resolver, r->target.name, upstream_on_resolved, c);
	if (!c->dns) {
		c->ops->on_upstream_failed(c, REASON_INTERNAL, "could not start a DNS query");
		return;
	}
	c->w->pending_dns++;
}
