#include "io/search_flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "emit/http_reply.h"
#include "emit/search_answer.h"
#include "io/conn.h"
#include "io/loop_clock.h"
#include "io/snapshot.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "parse/http1_body.h"
#include "parse/search_request.h"
#include "parse/searx_answer.h"
#include "policy/policy.h"
#include "policy/rate_limit.h"
#include "policy/route.h"
#include "policy/scan.h"
#include "policy/search.h"
#include "policy/search_cache.h"

/* SearXNG's answer, body and all, at most (a page of results is a few tens of KiB). */
#define SEARX_ANSWER_MAX (4 * 1024 * 1024)

struct search_state {
	enum search_api api;
	/* The request as the client sent it. */
	char query[SEARCH_QUERY_MAX * 3 + 1]; /* the target's query string */
	size_t query_len;
	char content_type[128];
	enum http1_framing framing;
	uint64_t remaining; /* Content-Length bytes still to come */
	struct http1_chunked chunked;
	struct buf body;
	/* The search. */
	struct search_query q;
	struct search_cache_key key;
	uint64_t asked_us; /* when the request went to SearXNG */
	/* SearXNG's answer. */
	bool head_done;
	bool upstream_keep_alive; /* SearXNG's answer allows reusing its connection */
	int status;
	enum http1_framing resp_framing;
	uint64_t resp_remaining;
	struct http1_chunked resp_chunked;
	struct buf resp;
};

void search_flow_free(struct search_state *st)
{
	if (!st)
		return;
	buf_release(&st->body);
	buf_release(&st->resp);
	free(st);
}

static const struct search_config *flow_search(const struct conn *c)
{
	return &c->cfg->search;
}

/* ---- the reply ---------------------------------------------------------------------------- */

/* Sends status with body (of ctype) as sluice's own reply and logs the request: why is the
 * reason (REASON_ALLOWED for an answer; a failure also gets Proxy-Status with its RFC 9209
 * error, and detail, or the reason's summary, in its details). */
static void search_reply(struct conn *c, unsigned status, enum reason why, struct slice body,
			 const char *ctype, const char *detail)
{
	struct conn_request *r = &c->req;
	char head[1024];
	bool close = !r->client_keep_alive;
	const struct reason_info *info = reason_info(why);
	char details[208];
	int n;

	/* Details may quote SearXNG (engine names): nothing in them may end the header. */
	snprintf(details, sizeof(details), "%.200s", detail ? detail : info->summary);
	for (char *p = details; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			*p = '?';
	if (why == REASON_ALLOWED)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			     "Cache-Control: no-store\r\n%s\r\n",
			     status, http_reply_status_text((int)status), ctype, body.len,
			     close ? "Connection: close\r\n" : "");
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %u %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			     "Cache-Control: no-store\r\nProxy-Status: sluice; error=%s; "
			     "details=\"%s: %s\"\r\n%s\r\n",
			     status, http_reply_status_text((int)status), ctype, body.len,
			     info->proxy_status, info->token, details,
			     close ? "Connection: close\r\n" : "");
	/* The rest of the exchange is sluice's, as after any reply of its own. */
	r->status = (int)status;
	r->close_after_reply = close;
	if (why != REASON_ALLOWED) {
		r->result = why;
		if (r->verdict.allow)
			policy_verdict_set(&r->verdict, true, REASON_ALLOWED, "search: %s",
					   search_api_name(r->search->api));
	}
	r->bytes_down = body.len;
	conn_log_request(c, why);
	conn_close_upstream(c);
	search_flow_free(r->search);
	r->search = NULL;
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    !buf_append(&c->cout, head, (size_t)n, (size_t)n + body.len + buf_len(&c->cout)) ||
	    !buf_append(&c->cout, body.ptr, body.len, buf_len(&c->cout) + body.len)) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	conn_send_reply(c);
}

/* The API's error shape for why. */
static void search_error(struct conn *c, enum reason why, const char *detail)
{
	struct search_state *st = c->req.search;
	const struct reason_info *info = reason_info(why);
	unsigned status = info->status >= 400 ? (unsigned)info->status : 502;
	struct buf body = {0};
	const char *ctype = "application/json";
	char message[320];

	snprintf(message, sizeof(message), "%s%s%s", info->summary, detail ? " " : "",
		 detail ? detail : "");
	if (!search_error_format(st->api, status, message, &body, &ctype)) {
		buf_release(&body);
		conn_close(c, REASON_INTERNAL);
		return;
	}
	search_reply(c, status, why, slice_make(buf_head(&body), buf_len(&body)), ctype, detail);
	buf_release(&body);
}

void search_flow_fail(struct conn *c, enum reason why, const char *detail)
{
	/* A timer while SearXNG is asked is search.timeout's. */
	if (why == REASON_UPSTREAM_TIMEOUT)
		why = REASON_SEARXNG_TIMEOUT;
	if (!c->req.search) {
		conn_reply_error(c, why, detail, true);
		return;
	}
	search_error(c, why, detail);
}

/* ---- asking SearXNG ----------------------------------------------------------------------- */

/* The SearXNG request: our own head, nothing of the client's but the query. */
static bool search_build_request(struct conn *c)
{
	struct search_state *st = c->req.search;
	const struct route *rt = c->req.route;
	char target[SEARCH_TARGET_MAX], host[ROUTE_HOST_MAX + 16];
	size_t tl = search_searx_target(&st->q, rt->upstream_base, target, sizeof(target));

	if (tl == 0)
		return false;
	unsigned default_port = rt->tls ? 443 : 80;
	bool v6 = strchr(rt->upstream_host, ':') != NULL;
	if (rt->upstream_port == default_port)
		snprintf(host, sizeof(host), v6 ? "[%s]" : "%s", rt->upstream_host);
	else
		snprintf(host, sizeof(host), v6 ? "[%s]:%u" : "%s:%u", rt->upstream_host,
			 rt->upstream_port);
	char head[SEARCH_TARGET_MAX + 512];
	int n = snprintf(head, sizeof(head),
			 "GET %.*s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n"
			 "User-Agent: sluice/%s\r\n",
			 (int)tl, target, host, SLUICE_VERSION);
	if (n < 0 || (size_t)n >= sizeof(head) || !buf_append(&c->uout, head, (size_t)n, 1 << 20))
		return false;
	/* The route's header rules: a credential for SearXNG's front proxy, say. */
	for (unsigned i = 0; i < rt->n_set_headers; i++) {
		const struct route_header_set *h = &rt->set_headers[i];
		if (!h->ready)
			continue;
		if (!buf_append(&c->uout, h->name, strlen(h->name), 1 << 20) ||
		    !buf_append(&c->uout, ": ", 2, 1 << 20) ||
		    !buf_append(&c->uout, h->value, strlen(h->value), 1 << 20) ||
		    !buf_append(&c->uout, "\r\n", 2, 1 << 20))
			return false;
	}
	return buf_append(&c->uout, "\r\n", 2, 1 << 20);
}

/* The agent's share of search.rate on this worker. */
static bool search_rate_ok(struct conn *c)
{
	const struct search_config *s = flow_search(c);
	const struct agent *a = c->req.agent;
	struct worker_agent_slot *slot;

	if (s->rate == 0)
		return true;
	if (!(slot = worker_agent_slot(c->w, a ? a->name : "")))
		return true;
	uint32_t rate = worker_share(c->w, s->rate), burst = worker_share(c->w, s->burst);
	if (!slot->search_set || slot->search_rate != rate || slot->search_burst != burst) {
		token_bucket_init(&slot->search, rate ? rate : 1, burst ? burst : 1,
				  loop_clock_ms());
		slot->search_rate = rate;
		slot->search_burst = burst;
		slot->search_set = true;
	}
	return token_bucket_take(&slot->search, loop_clock_ms());
}

static struct search_cache *search_cache_for(struct conn *c)
{
	const struct search_config *s = flow_search(c);
	if (s->cache_ttl_ms == 0)
		return NULL;
	if (c->w->search_cache && search_cache_capacity(c->w->search_cache) != s->cache_entries) {
		search_cache_free(c->w->search_cache);
		c->w->search_cache = NULL;
	}
	if (!c->w->search_cache)
		c->w->search_cache = search_cache_new(s->cache_entries);
	return c->w->search_cache;
}

/* The log's query text (unless search.log_query is off). */
static void search_note_query(struct conn *c)
{
	struct search_state *st = c->req.search;
	struct conn_log_text *t;
	if (!flow_search(c)->log_query || !(t = conn_log_text(c)))
		return;
	size_t n =
	    st->q.asked_len < sizeof(t->search_query) ? st->q.asked_len : sizeof(t->search_query);
	memcpy(t->search_query, st->q.text, n);
	t->search_query_len = (uint16_t)n;
}

/* The whole request is here: read it, then answer from the cache or ask SearXNG. */
static void search_query_ready(struct conn *c)
{
	struct conn_request *r = &c->req;
	struct search_state *st = r->search;
	char why[256];
	struct scan_finding f;

	if (!search_request_parse(st->api, slice_make(st->query, st->query_len),
				  slice_make(buf_head(&st->body), buf_len(&st->body)),
				  slice_from_cstr(st->content_type), &st->q, why, sizeof(why))) {
		search_error(c, REASON_SEARCH_BAD_REQUEST, why);
		return;
	}
	if (st->q.count > flow_search(c)->max_results)
		st->q.count = flow_search(c)->max_results;
	search_note_query(c);
	/* The query leaves for SearXNG's engines: a secret in a body is refused like any. */
	struct scan_stream *scan =
	    scan_stream_open(snapshot_scan_set(c->snap, r->agent),
			     slice_make(r->dest.name, r->dest.name_len), false);
	bool secret =
	    scan && scan_stream_feed(scan, buf_head(&st->body), buf_len(&st->body), true, &f);
	scan_stream_free(scan);
	if (secret) {
		policy_verdict_set(&r->verdict, false, REASON_SECRET_DETECTED, "scan: %s in %s",
				   f.name, f.where);
		struct policy_scope scope = worker_scope(c->w, c->cfg, r->agent);
		policy_apply_mode(&scope, &r->verdict);
		if (!r->verdict.allow) {
			search_flow_free(st);
			r->search = NULL;
			conn_reply_error(c, REASON_SECRET_DETECTED, NULL, !r->client_keep_alive);
			return;
		}
	}
	struct search_cache *cache = search_cache_for(c);
	struct slice body;
	const char *ctype;
	unsigned results;
	search_cache_key_of(&st->q, &st->key);
	if (search_cache_get(cache, &st->key, c->snap->generation, loop_clock_ms(),
			     flow_search(c)->cache_ttl_ms, &body, &ctype, &results)) {
		r->search_cached = true;
		r->search_results = (int)results;
		search_reply(c, 200, REASON_ALLOWED, body, ctype, NULL);
		return;
	}
	if (!search_rate_ok(c)) {
		search_error(c, REASON_SEARCH_RATE_LIMITED, NULL);
		return;
	}
	if (!search_build_request(c)) {
		search_error(c, REASON_SEARCH_BAD_REQUEST, "the query is too long for SearXNG");
		return;
	}
	upstream_start(c);
}

/* Takes the body from cin as it comes (Content-Length or chunked), up to
 * SEARCH_REQUEST_BODY_MAX. */
static void search_take_body(struct conn *c)
{
	struct search_state *st = c->req.search;
	bool done = st->framing == HTTP1_BODY_NONE;

	if (st->framing == HTTP1_BODY_LENGTH) {
		size_t n = buf_len(&c->cin) < st->remaining ? buf_len(&c->cin) : st->remaining;
		if (n && !buf_append(&st->body, buf_head(&c->cin), n, SEARCH_REQUEST_BODY_MAX)) {
			conn_close(c, REASON_INTERNAL);
			return;
		}
		buf_consume_keep(&c->cin, n);
		st->remaining -= n;
		done = st->remaining == 0;
	} else if (st->framing == HTTP1_BODY_CHUNKED) {
		while (buf_len(&c->cin) > 0 && !done) {
			char out[4096];
			size_t got = 0, take = buf_len(&c->cin) < sizeof(out) ? buf_len(&c->cin)
									      : sizeof(out);
			ssize_t used = http1_chunked_decode(&st->chunked, buf_head(&c->cin), take,
							    out, &got, &done);
			if (used < 0) {
				c->req.client_keep_alive = false;
				search_error(c, REASON_SEARCH_BAD_REQUEST,
					     "the chunked body is malformed");
				return;
			}
			if (buf_len(&st->body) + got > SEARCH_REQUEST_BODY_MAX) {
				c->req.client_keep_alive = false;
				search_error(c, REASON_SEARCH_BAD_REQUEST, "the body is too large");
				return;
			}
			if (got && !buf_append(&st->body, out, got, SEARCH_REQUEST_BODY_MAX)) {
				conn_close(c, REASON_INTERNAL);
				return;
			}
			buf_consume_keep(&c->cin, (size_t)used);
			if (used == 0)
				break;
		}
	}
	if (!done) {
		conn_want_client_read(c, true);
		return;
	}
	c->req.req_done = true;
	c->req.bytes_up = buf_len(&st->body);
	conn_want_client_read(c, false);
	search_query_ready(c);
}

void search_flow_begin(struct conn *c, const struct http1_request *req, struct slice target,
		       enum search_api api)
{
	struct conn_request *r = &c->req;
	struct search_state *st = calloc(1, sizeof(*st));

	if (!st) {
		conn_reply_error(c, REASON_INTERNAL, "out of memory", true);
		return;
	}
	r->search = st;
	r->search_free = search_flow_free;
	r->search_api = (uint8_t)(api + 1);
	r->search_results = -1;
	r->searxng_ms = -1;
	st->api = api;
	const char *q = memchr(target.ptr, '?', target.len);
	if (q) {
		size_t n = target.len - (size_t)(q + 1 - target.ptr);
		if (n >= sizeof(st->query)) {
			search_error(c, REASON_SEARCH_BAD_REQUEST, "the query string is too long");
			return;
		}
		memcpy(st->query, q + 1, n);
		st->query_len = n;
	}
	for (unsigned i = 0; i < req->n_headers; i++)
		if (slice_eq_cstr_nocase(req->headers[i].name, "Content-Type")) {
			struct slice v = req->headers[i].value;
			size_t n =
			    v.len < sizeof(st->content_type) ? v.len : sizeof(st->content_type) - 1;
			memcpy(st->content_type, v.ptr, n);
		}
	st->framing = req->framing;
	st->remaining = req->content_length;
	http1_chunked_init(&st->chunked);
	if (req->framing == HTTP1_BODY_LENGTH && req->content_length > SEARCH_REQUEST_BODY_MAX) {
		r->client_keep_alive = false;
		search_error(c, REASON_SEARCH_BAD_REQUEST, "the body is too large");
		return;
	}
	conn_set_state(c, CONN_FORWARDING);
	conn_set_timeout(c, c->cfg->head_timeout_ms, REASON_HEAD_TIMEOUT);
	search_take_body(c);
}

void search_flow_on_client_readable(struct conn *c)
{
	ssize_t n = conn_client_read(c, &c->cin, SEARCH_REQUEST_BODY_MAX + 16384);

	if (n == -1)
		return;
	if (n <= 0) {
		c->c_eof = true;
		if (c->req.req_done) {
			/* A half-close after the whole request: the answer still goes. */
			c->req.client_keep_alive = false;
			conn_want_client_read(c, false);
			return;
		}
		conn_close(c, REASON_CLIENT_CLOSED);
		return;
	}
	if (!c->req.req_done)
		search_take_body(c);
	else
		conn_want_client_read(c, false); /* the next request waits for the answer */
}

/* ---- SearXNG's answer --------------------------------------------------------------------- */

static void search_flush_request(struct conn *c)
{
	while (buf_len(&c->uout) > 0) {
		ssize_t n = conn_upstream_write(c, &c->uout, buf_len(&c->uout));
		if (n == -1) {
			conn_want_upstream_write(c, true);
			return;
		}
		if (n < 0) {
			search_error(c, REASON_UPSTREAM_CLOSED, NULL);
			return;
		}
	}
	conn_want_upstream_write(c, false);
}

void search_flow_on_upstream_ready(struct conn *c)
{
	struct search_state *st = c->req.search;

	/* A pooled connection SearXNG may have closed as it was reused: one retry with the
	 * same request (upstream_retry_stale). */
	if (c->req.upstream_reused &&
	    !buf_append(&c->replay, buf_head(&c->uout), buf_len(&c->uout), buf_len(&c->uout) + 1)) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	st->asked_us = loop_clock_us();
	conn_set_state(c, CONN_FORWARDING);
	/* The connection's timer refuses through ops->refuse for this reason (then
	 * search_flow_fail names it search.timeout's). */
	conn_set_timeout(c, flow_search(c)->timeout_ms, REASON_UPSTREAM_TIMEOUT);
	conn_want_upstream_read(c, true);
	search_flush_request(c);
}

void search_flow_on_upstream_writable(struct conn *c)
{
	search_flush_request(c);
}

/* The whole answer is in st->resp: the API's answer, or its error. */
static void search_answered(struct conn *c)
{
	struct conn_request *r = &c->req;
	struct search_state *st = r->search;
	struct searx_answer *a = malloc(sizeof(*a));
	struct arena arena;
	char why[256];

	r->searxng_ms = (int64_t)((loop_clock_us() - st->asked_us) / 1000);
	if (st->status == 403) {
		free(a);
		search_error(c, REASON_SEARXNG_REFUSED, NULL);
		return;
	}
	if (st->status == 429) {
		free(a);
		search_error(c, REASON_SEARXNG_RATE_LIMITED, NULL);
		return;
	}
	if (st->status != 200) {
		char detail[64];
		snprintf(detail, sizeof(detail), "(SearXNG answered %d)", st->status);
		free(a);
		search_error(c, REASON_SEARXNG_ERROR, detail);
		return;
	}
	if (!a) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	arena_init(&arena);
	if (!searx_answer_parse(buf_head(&st->resp), buf_len(&st->resp), &arena, a, why,
				sizeof(why))) {
		arena_fini(&arena);
		free(a);
		search_error(c, REASON_SEARXNG_ERROR, why);
		return;
	}
	if (a->n_results == 0 && a->n_unresponsive > 0) {
		char detail[160];
		size_t n = (size_t)snprintf(detail, sizeof(detail), "(unresponsive:");
		for (unsigned i = 0; i < a->n_unresponsive && n < sizeof(detail) - 40; i++) {
			struct slice e = a->unresponsive[i];
			n += (size_t)snprintf(detail + n, sizeof(detail) - n, " %.*s",
					      (int)(e.len < 32 ? e.len : 32), e.ptr);
		}
		snprintf(detail + n, sizeof(detail) - n, ")");
		arena_fini(&arena);
		free(a);
		search_error(c, REASON_SEARXNG_UNRESPONSIVE, detail);
		return;
	}
	unsigned skip = st->q.offset % 10;
	unsigned shown = a->n_results > skip ? a->n_results - skip : 0;
	if (shown > st->q.count)
		shown = st->q.count;
	struct buf body = {0};
	const char *ctype;
	bool ok = search_answer_format(&st->q, a, skip, (unsigned)r->searxng_ms, &body, &ctype);
	arena_fini(&arena);
	free(a);
	if (!ok) {
		buf_release(&body);
		search_error(c, REASON_SEARXNG_ERROR, "the answer is too large");
		return;
	}
	r->search_results = (int)shown;
	struct slice b = slice_make(buf_head(&body), buf_len(&body));
	search_cache_put(search_cache_for(c), &st->key, c->snap->generation, loop_clock_ms(), b,
			 ctype, shown);
	search_reply(c, 200, REASON_ALLOWED, b, ctype, NULL);
	buf_release(&body);
}

/* Moves what uin holds of the body into st->resp; true once the body is whole. */
static bool search_take_answer(struct conn *c, bool eof)
{
	struct search_state *st = c->req.search;

	switch (st->resp_framing) {
	case HTTP1_BODY_NONE:
		return true;
	case HTTP1_BODY_LENGTH: {
		size_t n =
		    buf_len(&c->uin) < st->resp_remaining ? buf_len(&c->uin) : st->resp_remaining;
		if (!buf_append(&st->resp, buf_head(&c->uin), n, SEARX_ANSWER_MAX))
			return false;
		buf_consume(&c->uin, n);
		st->resp_remaining -= n;
		return st->resp_remaining == 0;
	}
	case HTTP1_BODY_CHUNKED: {
		bool done = false;
		while (buf_len(&c->uin) > 0 && !done) {
			char out[16384];
			size_t got = 0, take = buf_len(&c->uin) < sizeof(out) ? buf_len(&c->uin)
									      : sizeof(out);
			ssize_t used = http1_chunked_decode(&st->resp_chunked, buf_head(&c->uin),
							    take, out, &got, &done);
			if (used < 0 || !buf_append(&st->resp, out, got, SEARX_ANSWER_MAX))
				return false;
			buf_consume(&c->uin, (size_t)used);
			if (used == 0)
				break;
		}
		return done;
	}
	case HTTP1_BODY_CLOSE:
		if (!buf_append(&st->resp, buf_head(&c->uin), buf_len(&c->uin), SEARX_ANSWER_MAX))
			return false;
		buf_consume(&c->uin, buf_len(&c->uin));
		return eof;
	}
	return false;
}

void search_flow_on_upstream_readable(struct conn *c)
{
	struct search_state *st = c->req.search;
	ssize_t n = conn_upstream_read(c, &c->uin, SEARX_ANSWER_MAX);
	bool eof = n == 0 || n < -1;

	if (n == -1 && buf_len(&c->uin) == 0)
		return;
	if (n > 0 && conn_upstream_pending(c))
		conn_upstream_read_again(c);
	if (n > 0)
		buf_release(&c->replay); /* an answer came: no retry */
	while (!st->head_done) {
		static _Thread_local struct http1_response resp;
		int rc = http1_response_parse(buf_head(&c->uin), buf_len(&c->uin),
					      c->cfg->max_response_headers, false, false, &resp);
		if (rc == 0) {
			if (!eof)
				return;
			if (buf_len(&c->uin) == 0 && upstream_retry_stale(c))
				return;
			search_error(c, REASON_SEARXNG_ERROR, "(SearXNG closed before answering)");
			return;
		}
		if (rc < 0) {
			search_error(c, REASON_SEARXNG_ERROR, "(SearXNG's answer is not HTTP)");
			return;
		}
		buf_consume(&c->uin, (size_t)rc);
		if (resp.status < 200)
			continue; /* 100 Continue and the like */
		st->head_done = true;
		st->status = resp.status;
		st->upstream_keep_alive = resp.keep_alive;
		st->resp_framing = resp.framing;
		st->resp_remaining = resp.content_length;
		http1_chunked_init(&st->resp_chunked);
	}
	if (!search_take_answer(c, eof)) {
		if (eof || buf_len(&st->resp) >= SEARX_ANSWER_MAX)
			search_error(c, REASON_SEARXNG_ERROR, "(SearXNG's answer broke off)");
		return;
	}
	conn_want_upstream_read(c, false);
	/* Whole and clean: SearXNG's connection goes back to the pool for the next search. */
	c->req.upstream_keep_alive = st->upstream_keep_alive && !eof;
	c->req.req_done = true;
	upstream_park(c);
	search_answered(c);
}
