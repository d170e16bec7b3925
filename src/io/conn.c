#include "io/conn.h"
#include "io/approval_store.h"
#include "io/event_ring.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/bug.h"
#include "emit/http_reply.h"
#include "emit/log_json.h"
#include "io/h2_upstream.h"
#include "io/log_sink.h"
#include "io/loop_clock.h"
#include "io/tls_session.h"
#include "io/snapshot.h"
#include "io/worker.h"
#include "parse/tls_hello.h"
#include "policy/outcome.h"
#include "policy/scan.h"

uint64_t conn_now_ms(void)
{
	return loop_clock_ms();
}

uint64_t conn_now_us(void)
{
	return loop_clock_us();
}

void conn_want_client_read(struct conn *c, bool on)
{
	if (c->state == CONN_CLOSED)
		return;
	bool was = c->c_want_read;
	c->c_want_read = on;
	if (c->cio) {
		c->cio->want_read(c, on);
		return;
	}
	if (on && !event_pending(&c->c_rd, EV_READ, NULL))
		event_add(&c->c_rd, NULL);
	/* Reading switched back on with decrypted bytes already in TLS: no socket event says so. */
	if (on && !was && c->ctls && tls_session_pending(c->ctls))
		conn_client_read_again(c);
}

void conn_client_read_again(struct conn *c)
{
	if (c->state != CONN_CLOSED && c->c_want_read)
		event_active(&c->c_rd, EV_READ, 0);
}

void conn_want_client_write(struct conn *c, bool on)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->cio) {
		c->cio->want_write(c, on);
		return;
	}
	bool pending = event_pending(&c->c_wr, EV_WRITE, NULL);
	if (on && !pending)
		event_add(&c->c_wr, NULL);
	else if (!on && pending)
		event_del(&c->c_wr);
}

/* Reading switched back on with decrypted bytes already in TLS: no socket event would say so. */
void conn_want_upstream_read(struct conn *c, bool on)
{
	if (c->state == CONN_CLOSED || !c->us)
		return;
	bool was = c->us->want_read;
	upstream_sock_want_read(c->us, on);
	if (on && !was && conn_upstream_pending(c))
		upstream_sock_read_again(c->us);
}

void conn_want_upstream_write(struct conn *c, bool on)
{
	if (c->state == CONN_CLOSED || !c->us)
		return;
	/* A stream whose window is shut waits for the upstream's WINDOW_UPDATE, not for a
	 * writable socket (which it has: asking would spin). */
	if (on && c->us->h2 && h2_upstream_write_blocked(c->us->h2))
		on = false;
	upstream_sock_want_write(c->us, on);
}

bool conn_upstream_pending(const struct conn *c)
{
	if (!c->us)
		return false;
	if (c->us->h2)
		return h2_upstream_pending(c->us->h2);
	return c->us->tls && tls_session_pending(c->us->tls);
}

void conn_upstream_read_again(struct conn *c)
{
	if (c->state != CONN_CLOSED && c->us)
		upstream_sock_read_again(c->us);
}

void conn_touch(struct conn *c)
{
	c->last_activity_ms = conn_now_ms();
}

void conn_set_timeout(struct conn *c, unsigned ms, enum reason why)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	if (c->state == CONN_CLOSED)
		return;
	c->timeout_ms = ms;
	c->timeout_reason = why;
	conn_touch(c);
	event_add(&c->timer, &tv);
}

/* The timer fires once per period; activity only stamps last_activity_ms, so the hot path
 * never re-arms a timer. */
static void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint64_t idle = conn_now_ms() - c->last_activity_ms;

	if (idle + 5 < c->timeout_ms) {
		unsigned left = c->timeout_ms - (unsigned)idle;
		struct timeval tv = {left / 1000, (left % 1000) * 1000};
		event_add(&c->timer, &tv);
		return;
	}
	switch (c->timeout_reason) {
	case REASON_APPROVAL_TIMEOUT:
		conn_resume_held(c, HOLD_TIMEOUT);
		return;
	case REASON_HEAD_TIMEOUT:
		if (buf_len(&c->cin) == 0 && c->req.started_ms == 0) {
			conn_close(c, REASON_CLIENT_IDLE);
			return;
		}
		c->ops->refuse(c, REASON_HEAD_TIMEOUT, NULL);
		return;
	case REASON_DNS_TIMEOUT:
	case REASON_CONNECT_TIMEOUT:
		if (c->state == CONN_RESOLVING)
			metrics_observe_dns(&c->w->metrics, conn_now_us() - c->req.phase_start_us);
		if (c->state == CONN_CONNECTING && c->setup->on_timeout(c))
			return;
		/* fallthrough */
	case REASON_UPSTREAM_TIMEOUT:
		if (c->state != CONN_TUNNEL && c->req.status == 0) {
			conn_close_upstream(c);
			c->ops->refuse(c, c->timeout_reason, NULL);
			return;
		}
		/* fallthrough */
	default:
		conn_close(c, c->timeout_reason);
	}
}

/* The four socket callbacks: every event goes to the connection's protocol, except the
 * upstream's while it is being set up. */
static void conn_on_client_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->state == CONN_CLOSED)
		return;
	/* Unwanted since it was last readable: only now is the interest really dropped. */
	if (!c->c_want_read) {
		event_del(&c->c_rd);
		return;
	}
	loop_clock_enter();
	c->ops->on_client_readable(c);
	loop_clock_leave();
}

static void conn_on_client_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	if (c->state == CONN_CLOSED)
		return;
	if (c->c_read_wants_write) {
		c->c_read_wants_write = false;
		conn_client_read_again(c);
	}
	loop_clock_enter();
	c->ops->on_client_writable(c);
	loop_clock_leave();
}

static void conn_on_upstream_event(struct upstream_sock *us, short what, void *arg)
{
	struct conn *c = arg;
	if (c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_CONNECTING)
		(what & EV_READ ? c->setup->on_readable : c->setup->on_writable)(c);
	else
		(what & EV_READ ? c->ops->on_upstream_readable : c->ops->on_upstream_writable)(c);
}

/* calloc: a new connection starts out reading a head. */
_Static_assert(CONN_READ_HEAD == 0, "a zeroed connection is in read_head");

/* What every connection starts with: a held snapshot, empty buffers, its events on fd (-1:
 * activated by its owner alone), a place in the worker's list, and the head timer. */
static void conn_init(struct conn *c, struct worker *w, int fd, const struct flow_ops *ops)
{
	c->w = w;
	c->snap = worker_hold(w);
	c->cfg = c->snap->cfg;
	c->cfd = fd;
	buf_init(&c->cin, &w->bufs);
	buf_init(&c->cout, &w->bufs);
	buf_init(&c->uin, &w->bufs);
	buf_init(&c->uout, &w->bufs);
	buf_init(&c->replay, &w->bufs);
	c->ops = ops;
	c->up.pipe[0] = c->up.pipe[1] = c->down.pipe[0] = c->down.pipe[1] = -1;
	event_assign(&c->c_rd, w->base, fd, EV_READ | EV_PERSIST, conn_on_client_read, c);
	event_assign(&c->c_wr, w->base, fd, EV_WRITE | EV_PERSIST, conn_on_client_write, c);
	event_assign(&c->timer, w->base, -1, 0, conn_on_timer, c);
	w->n_conns++;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	conn_reset_request(c);
	conn_set_timeout(c, c->cfg->head_timeout_ms, REASON_HEAD_TIMEOUT);
}

void conn_accept(struct worker *w, int fd, const struct sockaddr *peer, const struct flow_ops *ops)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	if (sockaddr_to_ip(peer, &c->client_ip, &c->client_port) == 0)
		sockaddr_format(&c->client_ip, c->client_port, c->client_text);
	conn_init(c, w, fd, ops);
	metrics_count_conn_open(&w->metrics);
	conn_want_client_read(c, true);
}

struct conn *conn_child_new(struct conn *parent, const struct conn_client_io *io, void *io_arg,
			    const struct flow_ops *ops)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cio = io;
	c->cio_arg = io_arg;
	c->parent = parent;
	c->client_ip = parent->client_ip;
	c->client_port = parent->client_port;
	memcpy(c->client_text, parent->client_text, sizeof(c->client_text));
	conn_init(c, parent->w, -1, ops); /* no socket: the owner activates c_rd and c_wr */
	return c;
}

void conn_set_state(struct conn *c, enum conn_state next)
{
	BUG_ON(!conn_state_allows(c->state, next));
	c->state = next;
}

void conn_switch_ops(struct conn *c, const struct flow_ops *ops)
{
	BUG_ON(c->ops_switches >= 4 || ops == c->ops);
	c->ops->release(c);
	c->ops = ops;
	c->ops_switches++;
}

void conn_upstream_attach(struct conn *c, struct upstream_sock *us,
			  const struct conn_setup_ops *setup)
{
	if (c->state == CONN_CLOSED) {
		upstream_sock_free(us);
		return;
	}
	c->us = us;
	c->setup = setup;
	c->u_eof = c->u_shut_wr = false;
	upstream_sock_hand(us, conn_on_upstream_event, c);
}

void conn_close_upstream(struct conn *c)
{
	if (c->dns) {
		resolver_cancel(c->dns);
		c->dns = NULL;
		c->w->pending_dns--;
	}
	if (!c->us)
		return;
	upstream_sock_free(c->us);
	c->us = NULL;
	buf_release(&c->uin);
	buf_release(&c->uout);
}

struct upstream_sock *conn_upstream_detach(struct conn *c)
{
	struct upstream_sock *us = c->us;

	c->us = NULL;
	buf_release(&c->uin);
	buf_release(&c->uout);
	return us;
}

int conn_local_addr(const struct conn *c, struct ip_addr *ip, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(c->cfd, (struct sockaddr *)&ss, &len) != 0 ||
	    sockaddr_to_ip((struct sockaddr *)&ss, ip, port) != 0)
		return -1;
	return 0;
}

uint16_t conn_local_port(const struct conn *c)
{
	struct ip_addr ip;
	uint16_t port = 0;

	return conn_local_addr(c, &ip, &port) == 0 ? port : 0;
}

void conn_refresh_snapshot(struct conn *c)
{
	if (c->snap == c->w->snap)
		return;
	worker_release(c->w, c->snap);
	c->snap = worker_hold(c->w);
	c->cfg = c->snap->cfg;
}

struct conn_log_text *conn_log_text(struct conn *c)
{
	if (!c->log_text)
		c->log_text = calloc(1, sizeof(*c->log_text));
	return c->log_text;
}

/* The search flow's state, by the destructor it left (conn does not know the flow). */
static void conn_free_search(struct conn_request *r)
{
	if (r->search)
		r->search_free(r->search);
	r->search = NULL;
}

void conn_resume_held(struct conn *c, enum hold_outcome outcome)
{
	struct conn_request *r = &c->req;

	approval_store_leave(c->w->approvals, r->hold_id);
	r->hold_id = 0;
	r->hold_outcome = (uint8_t)outcome;
	conn_set_state(c, CONN_READ_HEAD);
	r->hold_resume(c);
}

void conn_reset_request(struct conn *c)
{
	if (c->log_text)
		c->log_text->path_len = c->log_text->host_raw_len = c->log_text->user_len =
		    c->log_text->sni_len = c->log_text->alpn_len = c->log_text->tls_error_len =
			c->log_text->search_query_len = 0;
	scan_stream_free(c->req.body_scan);
	conn_free_search(&c->req);
	memset(&c->req, 0, sizeof(c->req));
	c->req.result = REASON_ALLOWED;
	buf_release(&c->replay); /* left by a request that ended before any answer */
}

/* Formats and queues one line of the current request; says which decision and reason it
 * showed. An end line says who ended the request (`why` ended it) and in which state. */
static void conn_log_line(struct conn *c, enum log_event event, enum reason why,
			  enum outcome *decision_out, enum reason *shown_out)
{
	struct conn_request *r = &c->req;
	const struct conn_log_text *t = c->log_text;
	char ip[IP_ADDR_TEXT_MAX] = "";
	enum outcome decision = outcome_classify(&r->verdict, r->result);
	enum reason shown = outcome_reason(&r->verdict, r->result);

	if (r->log_id == 0)
		r->log_id = worker_next_log_id(c->w);
	if (r->has_connected)
		ip_addr_format(&r->connected, ip);
	/* A stream's request was sent in its parent's session. */
	const struct tls_session *session = c->ctls ? c->ctls : c->parent ? c->parent->ctls : NULL;
	const char *sni = session ? tls_session_server_name(session) : NULL;
	const char *alpn = session ? tls_session_alpn(session) : NULL;
	struct log_record rec = {
	    .ts_ms = loop_clock_wall_ms(),
	    .client = c->client_text,
	    .agent = r->agent ? r->agent->name : "",
	    .method = slice_from_cstr(r->method),
	    .host = r->host_withheld ? SLICE_LIT("[withheld]")
				     : slice_make(r->dest.name, r->dest.name_len),
	    .port = r->dest.port,
	    .decision = outcome_name(decision),
	    .reason = reason_token(shown),
	    .rule = r->verdict.rule,
	    .ip = ip,
	    .status = r->status,
	    .bytes_up = r->bytes_up,
	    .bytes_down = r->bytes_down,
	    .duration_ms = conn_now_ms() - r->started_ms,
	    .id = r->log_id,
	    .event = event,
	    .path = t ? slice_make(t->path, t->path_len) : SLICE_LIT(""),
	    .host_raw =
		t && !r->host_withheld ? slice_make(t->host_raw, t->host_raw_len) : SLICE_LIT(""),
	    .user = t ? slice_make(t->user, t->user_len) : SLICE_LIT(""),
	    .sni = t ? slice_make(t->sni, t->sni_len) : SLICE_LIT(""),
	    .alpn = t ? slice_make(t->alpn, t->alpn_len) : SLICE_LIT(""),
	    .intercept = r->intercept,
	    .upstream_cert = r->intercept && r->upstream_verified ? "verified" : NULL,
	    .upstream_h2 = r->upstream_h2,
	    .tls_error = t ? slice_make(t->tls_error, t->tls_error_len) : SLICE_LIT(""),
	    .search_api =
		r->search_api ? search_api_name((enum search_api)(r->search_api - 1)) : NULL,
	    .search_query = t ? slice_make(t->search_query, t->search_query_len) : SLICE_LIT(""),
	    .search_results = r->search_results,
	    .searxng_ms = r->searxng_ms,
	    .search_cached = r->search_cached,
	    .approval = hold_outcome_name((enum hold_outcome)r->hold_outcome),
	    .held_ms = r->held_ms,
	    .ended_by = event == LOG_EVENT_END ? reason_by_token(reason_info(why)->by) : NULL,
	    .ended_in = event == LOG_EVENT_END ? conn_state_name(c->state) : NULL,
	};
	/* Inside sluice's own TLS: the session's name and the protocol it chose. */
	if (sni && sni[0])
		rec.sni = slice_from_cstr(sni);
	if (alpn && alpn[0])
		rec.alpn = slice_from_cstr(alpn);
	char *line = log_sink_line_begin(c->w->log, LOG_JSON_LINE_MAX);
	if (line) {
		size_t len = log_json_format(&rec, line);
		if (c->w->events)
			event_ring_push(c->w->events, line, len);
		log_sink_line_end(c->w->log, len);
	} else
		metrics_count_log_dropped(&c->w->metrics);
	*decision_out = decision;
	*shown_out = shown;
}

void conn_log_hello(struct conn *c, const struct tls_hello *hello)
{
	struct conn_log_text *t = conn_log_text(c);
	struct slice rest = hello->alpn, name;

	if (!t)
		return;
	if (hello->has_sni) {
		size_t n =
		    hello->sni.name_len < sizeof(t->sni) ? hello->sni.name_len : sizeof(t->sni);
		memcpy(t->sni, hello->sni.name, n);
		t->sni_len = (uint16_t)n;
	}
	t->alpn_len = 0;
	while (tls_hello_alpn_next(&rest, &name)) {
		size_t sep = t->alpn_len ? 1 : 0;
		if (t->alpn_len + sep + name.len > sizeof(t->alpn))
			break; /* the log keeps what fits, whole names only */
		if (sep)
			t->alpn[t->alpn_len++] = ',';
		memcpy(t->alpn + t->alpn_len, name.ptr, name.len);
		t->alpn_len = (uint16_t)(t->alpn_len + name.len);
	}
}

void conn_log_request(struct conn *c, enum reason why)
{
	struct conn_request *r = &c->req;
	enum outcome decision;
	enum reason shown;

	if (r->logged || r->started_ms == 0)
		return;
	r->logged = true;
	conn_log_line(c, LOG_EVENT_END, why, &decision, &shown);
	struct metrics_request m = {
	    .agent = r->agent ? r->agent->name : "",
	    .decision = decision,
	    .reason = shown,
	    .tunnel = r->is_connect,
	    .bytes_up = r->bytes_up,
	    .bytes_down = r->bytes_down,
	};
	metrics_count_request(&c->w->metrics, &m);
}

/* Not counted in the metrics: the end line counts the request. */
void conn_log_open(struct conn *c)
{
	struct conn_request *r = &c->req;
	enum outcome decision;
	enum reason shown;

	if (r->open_logged || r->logged || r->started_ms == 0)
		return;
	r->open_logged = true;
	conn_log_line(c, LOG_EVENT_OPEN, REASON_ALLOWED, &decision, &shown);
}

static void conn_on_free(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	c->w->pending_frees--;
	buf_release(&c->cin);
	buf_release(&c->cout);
	buf_release(&c->uin);
	buf_release(&c->uout);
	buf_release(&c->replay);
	scan_stream_free(c->req.body_scan);
	conn_free_search(&c->req);
	free(c->log_text);
	free(c);
}

void conn_close(struct conn *c, enum reason why)
{
	if (c->state == CONN_CLOSED)
		return;
	/* A held request's place in the queue is given up. */
	if (c->req.hold_id) {
		approval_store_leave(c->w->approvals, c->req.hold_id);
		c->req.hold_id = 0;
	}
	if (c->req.started_ms && !c->req.logged) {
		if (c->req.result == REASON_ALLOWED)
			c->req.result = why;
		conn_log_request(c, c->req.result);
	}
	conn_close_upstream(c);
	/* Before the session goes: an HTTP/2 session's streams end first, logged with it. */
	c->ops->release(c);
	event_del(&c->c_rd);
	event_del(&c->c_wr);
	event_del(&c->timer);
	tls_session_free(c->ctls); /* close_notify, best effort */
	c->ctls = NULL;
	if (c->cfd >= 0)
		close(c->cfd);
	c->cfd = -1;
	buf_release(&c->cin);
	buf_release(&c->cout);
	if (c->cio)
		c->cio->closed(c);
	c->w->n_conns--;
	if (c->agent_slot)
		c->agent_slot->conns--;
	if (!c->cio)
		metrics_count_conn_close(&c->w->metrics);
	worker_release(c->w, c->snap);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	/* Callers up the stack may still hold c: it is freed on the next loop turn, and every
	 * entry point ignores a closed connection until then (docs/internals/connections.md, "Who
	 * ends a connection"). */
	conn_set_state(c, CONN_CLOSED);
	c->w->pending_frees++;
	event_assign(&c->timer, c->w->base, -1, 0, conn_on_free, c);
	event_active(&c->timer, EV_TIMEOUT, 0);
	worker_conn_ended(c->w);
}

ssize_t conn_read_into(int fd, struct buf *b, size_t max_cap)
{
	size_t room = buf_reserve(b, 16384, max_cap);
	if (room == 0)
		return -1;
	for (;;) {
		ssize_t n = recv(fd, buf_tail(b), room, 0);
		if (n > 0) {
			buf_commit(b, (size_t)n);
			return n;
		}
		if (n == 0) {
			if (buf_len(b) == 0)
				buf_release(b);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (buf_len(b) == 0)
			buf_release(b);
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
	}
}

ssize_t conn_write_from(int fd, struct buf *b, size_t n)
{
	if (n > buf_len(b))
		n = buf_len(b);
	if (n == 0)
		return 0;
	for (;;) {
		ssize_t w = send(fd, buf_head(b), n, MSG_NOSIGNAL);
		if (w >= 0) {
			buf_consume(b, (size_t)w);
			return w;
		}
		if (errno == EINTR)
			continue;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
	}
}

bool conn_count_agent(struct conn *c)
{
	struct conn_request *r = &c->req;
	unsigned limit = worker_share(c->w, c->cfg->max_connections_per_agent);

	/* A stream is a request on its parent's connection, which is what counts. */
	if (limit == 0 || !r->agent || c->cio)
		return true;
	struct worker_agent_slot *slot = worker_agent_slot(c->w, r->agent->name);
	if (!slot || slot == c->agent_slot)
		return true;
	if (!policy_check_connections(slot->conns, limit, c->cfg->max_connections_per_agent,
				      &r->verdict)) {
		c->ops->refuse(c, REASON_CONNECTION_LIMIT, NULL);
		return false;
	}
	if (c->agent_slot)
		c->agent_slot->conns--;
	slot->conns++;
	c->agent_slot = slot;
	return true;
}

int conn_flush_client(struct conn *c)
{
	while (buf_len(&c->cout) > 0) {
		ssize_t n = conn_client_write(c, &c->cout, buf_len(&c->cout));
		if (n == -1) {
			conn_want_client_write(c, true);
			return 0;
		}
		if (n < 0) {
			conn_close(c, REASON_CLIENT_CLOSED);
			return -1;
		}
		conn_touch(c);
	}
	return 1;
}

ssize_t conn_write2(int fd, struct buf *a, struct buf *b, size_t b_n, size_t *b_written)
{
	struct iovec iov[2] = {{(void *)buf_head(a), buf_len(a)}, {(void *)buf_head(b), 0}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};

	*b_written = 0;
	if (b_n > buf_len(b))
		b_n = buf_len(b);
	iov[1].iov_len = b_n;
	if (b_n == 0)
		msg.msg_iovlen = 1;
	for (;;) {
		ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (w >= 0) {
			size_t from_a = (size_t)w < buf_len(a) ? (size_t)w : buf_len(a);
			buf_consume(a, from_a);
			*b_written = (size_t)w - from_a;
			if (*b_written > 0)
				buf_consume(b, *b_written);
			return w;
		}
		if (errno == EINTR)
			continue;
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? -1 : -2;
	}
}

void conn_reply_error(struct conn *c, enum reason why, const char *detail, bool close_after)
{
	struct conn_request *r = &c->req;
	if (c->state == CONN_CLOSED)
		return;
	char reply[HTTP_REPLY_MAX];
	const struct reason_info *info = reason_info(why);

	if (r->started_ms == 0)
		r->started_ms = conn_now_ms();
	if (r->verdict.allow || r->verdict.reason == REASON_ALLOWED)
		r->result = why;
	struct http_reply_facts f = {
	    .reason = why,
	    .method = r->method[0] ? r->method : NULL,
	    .host = r->dest.name_len ? r->dest.name : NULL,
	    .port = r->dest.port,
	    .rule = r->verdict.rule,
	    .detail = detail,
	    .close = close_after,
	    .auth_challenge = r->auth_challenge,
	    .guidance = NULL,
	};
	struct policy_scope scope = worker_scope(c->w, c->cfg, r->agent);
	f.guidance = policy_scope_guidance(&scope);
	size_t len = http_reply_format(&f, reply);
	r->status = info->status;
	r->close_after_reply = close_after;
	conn_log_request(c, why);
	conn_close_upstream(c);
	if (len == 0 || !buf_append(&c->cout, reply, len, HTTP_REPLY_MAX + buf_len(&c->cout))) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	conn_send_reply(c);
}

void conn_send_reply(struct conn *c)
{
	conn_set_state(c, CONN_REPLYING);
	conn_want_client_read(c, false);
	conn_set_timeout(c, c->cfg->idle_timeout_ms, REASON_CLIENT_IDLE);
	c->ops->on_client_writable(c);
}

ssize_t conn_upstream_read(struct conn *c, struct buf *b, size_t max_cap)
{
	struct tls_session *tls = c->us->tls;

	if (c->us->h2) {
		bool was_blocked = h2_upstream_write_blocked(c->us->h2);
		ssize_t n = h2_upstream_read(c->us->h2, b, max_cap);
		/* The read took a WINDOW_UPDATE: the request's body may go on (its writer waits for
		 * writability, which conn_want_upstream_write held back). */
		if (was_blocked && !h2_upstream_write_blocked(c->us->h2))
			upstream_sock_want_write(c->us, true);
		return n;
	}
	if (!tls)
		return conn_read_into(c->us->fd, b, max_cap);
	ssize_t n = tls_session_read_into(tls, b, max_cap);
	if (n == -2 && tls_session_truncated(tls))
		return 0;
	return n;
}

ssize_t conn_upstream_write(struct conn *c, struct buf *b, size_t n)
{
	if (c->us->h2)
		return h2_upstream_write(c->us->h2, b, n);
	if (!c->us->tls)
		return conn_write_from(c->us->fd, b, n);
	return tls_session_write_from(c->us->tls, b, n);
}

/* Most a TLS head and body are joined up to: one record, one send, as conn_write2 makes one
 * sendmsg of them in the clear. */
#define CONN_TLS_JOIN_MAX 16384

/* conn_write2 through TLS: a small head and body leave as one record, the body's bytes moved
 * into a (and counted as written: they go out with it); a larger pair as two. */
static ssize_t conn_tls_write2(struct tls_session *tls, struct buf *a, struct buf *b, size_t b_n,
			       size_t *b_written)
{
	*b_written = 0;
	if (b_n > buf_len(b))
		b_n = buf_len(b);
	if (b_n > 0 && buf_len(a) + b_n <= CONN_TLS_JOIN_MAX &&
	    buf_append(a, buf_head(b), b_n, buf_len(a) + b_n)) {
		buf_consume(b, b_n);
		*b_written = b_n;
	}
	return tls_session_write_from(tls, a, buf_len(a));
}

ssize_t conn_upstream_write2(struct conn *c, struct buf *a, struct buf *b, size_t b_n,
			     size_t *b_written)
{
	if (c->us->h2) {
		/* The head, then as much of the body as the stream takes. */
		*b_written = 0;
		ssize_t n = h2_upstream_write(c->us->h2, a, buf_len(a));
		if (n < 0 || buf_len(a) > 0 || b_n == 0)
			return n;
		ssize_t m = h2_upstream_write(c->us->h2, b, b_n);
		if (m == -2)
			return m;
		if (m > 0)
			*b_written = (size_t)m;
		return m > 0 ? n + m : n;
	}
	if (!c->us->tls)
		return conn_write2(c->us->fd, a, b, b_n, b_written);
	return conn_tls_write2(c->us->tls, a, b, b_n, b_written);
}

ssize_t conn_client_read(struct conn *c, struct buf *b, size_t max_cap)
{
	if (c->cio)
		return c->cio->read(c, b, max_cap);
	if (!c->ctls)
		return conn_read_into(c->cfd, b, max_cap);
	ssize_t n = tls_session_read_into(c->ctls, b, max_cap);
	/* A client that closes without close_notify has still closed: HTTP framing says whether
	 * what it sent was whole. */
	if (n == -2 && tls_session_truncated(c->ctls))
		return 0;
	if (n != 0 && n != -2 && tls_session_wants_write(c->ctls)) {
		c->c_read_wants_write = true;
		conn_want_client_write(c, true);
	}
	return n;
}

ssize_t conn_client_write(struct conn *c, struct buf *b, size_t n)
{
	if (c->cio)
		return c->cio->write(c, b, n);
	if (!c->ctls)
		return conn_write_from(c->cfd, b, n);
	return tls_session_write_from(c->ctls, b, n);
}

ssize_t conn_client_write2(struct conn *c, struct buf *a, struct buf *b, size_t b_n,
			   size_t *b_written)
{
	if (c->cio) {
		/* The head first; the body only once all of it is taken (the owner's room). */
		ssize_t n = c->cio->write(c, a, buf_len(a));
		*b_written = 0;
		if (n < 0 || buf_len(a) > 0 || b_n == 0)
			return n;
		ssize_t m = c->cio->write(c, b, b_n);
		if (m > 0)
			*b_written = (size_t)m;
		return m > 0 ? n + m : n;
	}
	if (!c->ctls)
		return conn_write2(c->cfd, a, b, b_n, b_written);
	return conn_tls_write2(c->ctls, a, b, b_n, b_written);
}
