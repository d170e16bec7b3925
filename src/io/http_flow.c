#include "io/http_flow.h"
#include "io/hold.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "base/bug.h"
#include "emit/http_head.h"
#include "io/conn.h"
#include "io/h2_flow.h"
#include "io/reload_revoke.h"
#include "io/search_flow.h"
#include "io/tls_session.h"
#include "io/snapshot.h"
#include "io/tunnel.h"
#include "io/tunnel_check.h"
#include "io/upstream.h"
#include "io/worker.h"
#include "parse/http1.h"
#include "parse/http1_proxy.h"
#include "parse/proxy_auth.h"
#include "parse/url.h"
#include "parse/url_path.h"
#include "policy/intercept.h"
#include "policy/route.h"
#include "policy/scan.h"
#include "policy/search.h"
#include "policy/tunnel_policy.h"

/* Bytes buffered per direction while streaming bodies. */
#define FLOW_BODY_BUF (64 * 1024)

/* A buffer holds a whole head (limits.max_request_head / max_response_head) or a body slice. */
static size_t flow_buf_cap(size_t max_head)
{
	return max_head > FLOW_BODY_BUF ? max_head : FLOW_BODY_BUF;
}

static size_t flow_cin_cap(const struct conn *c)
{
	return flow_buf_cap(c->cfg->max_head_bytes);
}

static size_t flow_uin_cap(const struct conn *c)
{
	return flow_buf_cap(c->cfg->max_response_head);
}

/* What HTTP carried inside a CONNECT tunnel is bound to (c->proto): the tunnel's target, and
 * the credentials the CONNECT came with, which identify the agent of every request inside. */
struct tunnel_bind {
	struct authority dest;
	struct agent_credentials cred;
	bool has_cred;
};

/* The connection is HTTPS sluice intercepts: HTTP inside its own TLS session with the client. */
static bool flow_intercepted(const struct conn *c)
{
	return c->ops == &intercepted_http_ops;
}

/* The connection is HTTP inside a CONNECT tunnel (tunnel_check found a request line), in the
 * clear or intercepted. */
static bool flow_in_tunnel(const struct conn *c)
{
	return c->ops == &tunnel_http_ops || flow_intercepted(c);
}

/* The connection came in on a listen.transparent_http address: its client does not know a
 * proxy is there (docs/dns.md, "Without proxy variables"). */
static bool flow_transparent(const struct conn *c)
{
	return c->ops == &transparent_http_ops;
}

static enum reason flow_parse_error_reason(enum http1_error e)
{
	switch (e) {
	case HTTP1_ERR_SMUGGLING:
		return REASON_SMUGGLING;
	case HTTP1_ERR_TOO_MANY_HEADERS:
		return REASON_HEAD_TOO_LARGE;
	case HTTP1_ERR_VERSION:
		return REASON_VERSION;
	case HTTP1_ERR_TE_UNSUPPORTED:
		return REASON_TE_UNSUPPORTED;
	default:
		return REASON_BAD_REQUEST;
	}
}

/* Refuses the current request with sluice's own reply; keeps the client connection when the
 * request had no body and the client wants keep-alive. */
static void flow_refuse(struct conn *c, enum reason why, const char *detail)
{
	if (c->req.search) {
		search_flow_fail(c, why, detail);
		return;
	}
	/* Unread body bytes would be taken for the next request: close unless there are none. */
	bool keep = c->req.client_keep_alive && c->req.req_done;
	conn_reply_error(c, why, detail, !keep);
}

/* The agent's name, for its placeholders ("default" when none was identified). */
static const char *flow_agent_name(const struct conn *c)
{
	return c->req.agent ? c->req.agent->name : "default";
}

static _Thread_local char flow_swap_from[CREDENTIAL_USES_MAX]
					[CREDENTIAL_HEADER_MAX + 2 + CREDENTIAL_PLACEHOLDER_MAX];
static _Thread_local char flow_swap_to[CREDENTIAL_USES_MAX]
				      [CREDENTIAL_HEADER_MAX + 2 + 3 * CREDENTIAL_SECRET_MAX];

static void flow_credential_swaps_wipe(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		explicit_bzero(flow_swap_to[i], sizeof(flow_swap_to[i]));
}

/* The swaps of the credentials a request uses (policy/credentials): the placeholder by the
 * secret in the field, or the query parameter, the credential names. A secret in a query is
 * percent-encoded. Thread storage: valid until the next call. */
static unsigned flow_credential_swaps(const struct credential_use *uses, unsigned n,
				      struct http_head_swap *swaps)
{
	char(*from)[sizeof(flow_swap_from[0])] = flow_swap_from;
	char(*to)[sizeof(flow_swap_to[0])] = flow_swap_to;
	static const char hex[] = "0123456789ABCDEF";

	for (unsigned i = 0; i < n; i++) {
		const struct credential *cred = uses[i].cred;
		if (uses[i].header >= 0) {
			swaps[i] = (struct http_head_swap){
			    uses[i].header, slice_from_cstr(uses[i].placeholder),
			    slice_make(cred->secret, cred->secret_len)};
			continue;
		}
		int fl =
		    snprintf(from[i], sizeof(from[i]), "%s=%s", cred->query, uses[i].placeholder);
		size_t tl = (size_t)snprintf(to[i], sizeof(to[i]), "%s=", cred->query);
		for (size_t k = 0; k < cred->secret_len; k++) {
			unsigned char ch = (unsigned char)cred->secret[k];
			bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
				     ch == '.' || ch == '~';
			if (plain) {
				to[i][tl++] = (char)ch;
			} else {
				to[i][tl++] = '%';
				to[i][tl++] = hex[ch >> 4];
				to[i][tl++] = hex[ch & 15];
			}
		}
		swaps[i] = (struct http_head_swap){
		    HTTP_HEAD_SWAP_QUERY, slice_make(from[i], (size_t)fl), slice_make(to[i], tl)};
	}
	return n;
}

/* The headers scan: redacts (flow_scan_head), and the value each is sent with: thread storage
 * for the request whose head is being built. */
static _Thread_local bool flow_redact[HTTP1_MAX_HEADERS_CAP];
static _Thread_local unsigned flow_n_redact;
static _Thread_local char flow_redacted_text[SCAN_NAME_MAX + 32];
static _Thread_local struct slice flow_redacted;

/* The redactions first: a value is replaced whole, whatever else would be swapped in it. */
static unsigned flow_redact_swaps(const struct http1_request *req, struct http_head_swap *swaps)
{
	unsigned n = 0;
	for (unsigned i = 0; flow_n_redact && i < req->n_headers; i++)
		if (flow_redact[i])
			swaps[n++] =
			    (struct http_head_swap){(int)i, req->headers[i].value, flow_redacted};
	return n;
}

/* The head sent upstream: origin-form target, our Host, end-to-end headers only; on a route,
 * the rewritten path, the upstream's Host and the route's header rules; the headers scan:
 * redacts replaced; the credentials uses[0..n_uses) put in. */
static bool flow_build_request_head(struct conn *c, const struct http1_request *req,
				    struct slice path, const struct credential_use *uses,
				    unsigned n_uses)
{
	static _Thread_local struct http_head_swap
	    swaps[HTTP1_MAX_HEADERS_CAP + CREDENTIAL_USES_MAX];
	unsigned n_redact = flow_redact_swaps(req, swaps);
	size_t cap = c->cfg->max_head_bytes + 1024 + ROUTE_MAX_HEADERS * ROUTE_HEADER_VALUE_MAX;
	const struct conn_request *r = &c->req;
	const struct route *route = r->route;
	struct http_head_request h = {
	    .req = req,
	    .path = path,
	    .host = route ? route->upstream_host : r->dest.name,
	    .port = route ? route->upstream_port : r->dest.port,
	    .default_port = (route && route->tls) || (!route && r->intercept) ? 443 : 80,
	    .route = route,
	    .via = c->w->via,
	    .websocket = r->websocket,
	    .swaps = swaps,
	    .n_swaps = n_redact + flow_credential_swaps(uses, n_uses, swaps + n_redact),
	};

	cap += n_uses * 3 * CREDENTIAL_SECRET_MAX;
	bool ok = http_head_format_request(&h, &c->uout, cap);
	/* The encoded secrets are in the head now; not in thread storage for longer. */
	flow_credential_swaps_wipe(n_uses);
	return ok;
}

/* The log's path (issue 10): the target's path as the agent sent it, in origin form ("" and
 * "?q" are "/", RFC 3986 §6.2.3), its query string cut unless log.query: keep; cut at the
 * log's cap. */
static void flow_note_path(struct conn *c, struct slice path)
{
	struct conn_log_text *t = conn_log_text(c);
	const char *query = memchr(path.ptr, '?', path.len);
	size_t n = 0;

	if (!t)
		return;
	if (query && !c->cfg->log_query)
		path.len = (size_t)(query - path.ptr);
	if (path.len == 0 || path.ptr[0] == '?')
		t->path[n++] = '/';
	size_t take = path.len < sizeof(t->path) - n ? path.len : sizeof(t->path) - n;
	memcpy(t->path + n, path.ptr, take);
	t->path_len = (uint16_t)(n + take);
}

/* The log's host_raw: the host as the agent spelled it, kept only when that is not the judged
 * host ("2852039166" judged as 169.254.169.254, "Example.COM."). */
static void flow_note_host_raw(struct conn *c, struct slice authority)
{
	struct conn_request *r = &c->req;
	struct slice spelled = slice_make(authority.ptr + r->dest.spelled_at, r->dest.spelled_len);
	struct conn_log_text *t;

	if (slice_eq(spelled, slice_make(r->dest.name, r->dest.name_len)) ||
	    !(t = conn_log_text(c)))
		return;
	if (spelled.len > sizeof(t->host_raw))
		spelled.len = sizeof(t->host_raw);
	memcpy(t->host_raw, spelled.ptr, spelled.len);
	t->host_raw_len = (uint16_t)spelled.len;
}

static void flow_set_body_framing(struct conn *c, const struct http1_request *req)
{
	c->req.req_framing = req->framing;
	c->req.req_remaining = req->content_length;
	http1_chunked_init(&c->req.req_chunked);
	c->req.req_done = req->framing == HTTP1_BODY_NONE ||
			  (req->framing == HTTP1_BODY_LENGTH && req->content_length == 0);
}

static struct policy_scope flow_scope(const struct conn *c)
{
	struct policy_scope scope = worker_scope(c->w, c->cfg, c->req.agent);
	return scope;
}

/* docs/policy.md, "The agent": identify the agent (source address, proxy credentials). Returns
 * false when the request was answered (407 or 403). */
static bool flow_identify(struct conn *c, const struct http1_request *req)
{
	struct conn_request *r = &c->req;
	char decoded[PROXY_AUTH_MAX], tried[LOG_JSON_USER_MAX];
	size_t tried_len = 0;
	struct slice user, password;
	/* A transparent client sends no proxy credentials: a Proxy-Authorization it carries is
	 * meant for someone else, and identity is by source address alone. */
	int at = flow_transparent(c) || flow_in_tunnel(c)
		     ? -1
		     : http1_header_find(req->headers, req->n_headers, "proxy-authorization");

	/* Inside a tunnel, the CONNECT's credentials speak for every request. */
	if (flow_in_tunnel(c) && ((const struct tunnel_bind *)c->proto)->has_cred) {
		r->cred = ((const struct tunnel_bind *)c->proto)->cred;
		r->has_cred = true;
	}

	if (at >= 0) {
		if (proxy_auth_parse_basic(req->headers[at].value, decoded, sizeof(decoded), &user,
					   &password) != 0) {
			r->auth_challenge = true;
			policy_identity_refusal(POLICY_IDENTITY_MALFORMED, NULL, &r->verdict);
			OPENSSL_cleanse(decoded, sizeof(decoded));
			flow_refuse(c, REASON_AUTH_REQUIRED, "malformed Basic credentials");
			return false;
		}
		agent_credentials_set(&r->cred, user, password);
		r->has_cred = true;
		/* The log names whose credentials were refused (never the token); decoded is
		 * wiped below. */
		tried_len = user.len < sizeof(tried) ? user.len : sizeof(tried);
		memcpy(tried, user.ptr, tried_len);
	}
	OPENSSL_cleanse(decoded, sizeof(decoded));
	enum policy_identity id =
	    policy_identify(c->cfg->agents, c->cfg->n_agents, c->cfg->default_agent, &c->client_ip,
			    r->has_cred ? &r->cred : NULL, &r->agent);
	if (id == POLICY_IDENTITY_OK)
		return conn_count_agent(c); /* the agent field says who */
	struct conn_log_text *t = tried_len ? conn_log_text(c) : NULL;
	if (t) {
		memcpy(t->user, tried, tried_len);
		t->user_len = (uint16_t)tried_len;
	}
	/* Identity is a policy decision: logged as a denial, with the rule that asked for it. */
	policy_identity_refusal(id, id == POLICY_IDENTITY_NEED_AUTH ? r->agent : NULL, &r->verdict);
	if (id == POLICY_IDENTITY_UNKNOWN) {
		flow_refuse(c, REASON_UNKNOWN_AGENT, NULL);
		return false;
	}
	r->auth_challenge = true;
	r->agent = NULL;
	flow_refuse(c, REASON_AUTH_REQUIRED,
		    id == POLICY_IDENTITY_BAD_AUTH ? "credentials not accepted" : NULL);
	return false;
}

/* search: is on and the agent may search. */
static bool flow_may_search(const struct conn *c)
{
	const struct search_config *s = &c->cfg->search;
	return s->enabled && s->route_index < c->cfg->n_routes &&
	       search_allows_agent(s, c->req.agent ? c->req.agent->name : "default");
}

/* The search API a request is (io/search_flow answers it), or -1. */
static int flow_search_api(const struct conn *c, const struct http1_request *req, struct slice path)
{
	const struct authority *d = &c->req.dest;
	if (c->req.is_connect || d->kind != HOST_NAME || !flow_may_search(c))
		return -1;
	const char *q = memchr(path.ptr, '?', path.len);
	struct slice p = slice_make(path.ptr, q ? (size_t)(q - path.ptr) : path.len);
	return search_api_match(c->cfg->search.apis, slice_make(d->name, d->name_len), req->method,
				p);
}

/* Operator routes skip the name rules (the operator granted the host) but keep the agent
 * restriction, which no mode relaxes: it is what stands between agents and an internal
 * service. */
static void flow_decide(struct conn *c, const struct http1_request *req,
			const struct url_path *norm)
{
	struct conn_request *r = &c->req;
	const struct authority *d = &r->dest;
	struct policy_scope scope = flow_scope(c);
	const struct route *route = route_find(c->cfg->routes, c->cfg->n_routes, d);
	struct slice names[HTTP1_MAX_HEADERS_CAP];
	struct request_facts facts = {
	    .host = slice_make(d->name, d->name_len),
	    .host_is_ip = d->kind != HOST_NAME,
	    .ip = d->ip,
	    .port = d->port,
	    .method = r->is_connect ? SLICE_LIT("") : req->method,
	};

	/* Only a host that rules: cover is judged by path and header names. */
	if (norm) {
		facts.path = slice_make(norm->text, norm->path_len);
		for (unsigned i = 0; i < req->n_headers && i < HTTP1_MAX_HEADERS_CAP; i++)
			names[i] = req->headers[i].name;
		facts.header_names = names;
		facts.n_headers = req->n_headers;
	}

	/* A CONNECT the policy intercepts is judged request by request inside, and so are the
	 * requests of an intercepted tunnel. */
	bool search_host = r->is_connect && d->kind == HOST_NAME && flow_may_search(c) &&
			   search_api_host(c->cfg->search.apis, facts.host);
	if (!route && d->kind == HOST_NAME && c->w->mint &&
	    (flow_intercepted(c) ||
	     (r->is_connect && (search_host || policy_intercepts(&scope, facts.host, false)))))
		r->intercept = true;
	/* A search API's host is answered by sluice (io/search_flow), never connected to: its
	 * tunnel is let in to be intercepted, whatever the name rules say. */
	if (search_host && r->intercept) {
		policy_verdict_set(&r->verdict, true, REASON_ALLOWED, "search: %.*s",
				   (int)facts.host.len, facts.host.ptr);
		r->search_tunnel = true;
		return;
	}
	facts.intercepted = r->intercept;
	/* Operator routes skip the name rules (the operator granted the host) but keep the agent
	 * restriction, which no mode relaxes: it is what stands between agents and an internal
	 * service. */
	r->route = route;
	if (route)
		policy_decide_route(&scope, route, r->is_connect, facts.method, &r->verdict);
	else
		policy_decide(&scope, &facts, &r->verdict);
	r->max_body = route ? policy_scope_max_body(&scope)
			    : policy_body_limit(&scope, &facts, &r->max_body_rule);
	if (r->verdict.allow && req->framing == HTTP1_BODY_LENGTH)
		policy_check_body_limit(&scope, r->max_body, r->max_body_rule, req->content_length,
					&r->verdict);
}

static void flow_parse_head(struct conn *c);

/* An answer came for the held request: its head is read again, knowing the outcome. */
static void flow_resume_held(struct conn *c)
{
	flow_parse_head(c);
}

/* A refusal the agent asks about (mode ask, ask patterns): held for an operator's answer the
 * first time through, its head put back in cin to be read again once answered (true: it
 * waits); the second time, the answer becomes the verdict (false: go on with it). */
static bool flow_hold(struct conn *c, const struct http1_request *req, size_t head_len,
		      struct slice path)
{
	struct conn_request *r = &c->req;
	const struct authority *d = &r->dest;

	switch ((enum hold_outcome)r->hold_outcome) {
	case HOLD_NONE:
		/* An HTTP/2 stream is refused rather than held: its session has no held state. */
		if (!c->w->approvals || c->cio)
			return false;
		struct pending_request p = {
		    .kind = r->is_connect ? PENDING_CONNECT : PENDING_HTTP,
		    .agent = flow_agent_name(c),
		    .host = slice_make(d->name, d->name_len),
		    .port = d->port,
		    .method = req->method,
		    .path = r->is_connect ? SLICE_LIT("") : path,
		    .reason = r->verdict.reason,
		    .rule = r->verdict.rule,
		    .timeout_ms = c->cfg->approvals.timeout_ms,
		};
		if (hold_begin(c, &p, flow_resume_held)) {
			buf_unconsume(&c->cin, head_len);
			return true;
		}
		/* fall through - the queue is full (hold_begin set HOLD_BUSY) */
	case HOLD_BUSY:
		policy_verdict_set(&r->verdict, false, REASON_APPROVAL_BUSY,
				   "approvals.max_pending: %u requests wait",
				   c->cfg->approvals.max_pending);
		return false;
	case HOLD_ONCE:
	case HOLD_APPROVED: /* and yet not allowed now: it expired at once, or a reload came */
		policy_verdict_set(&r->verdict, true, REASON_ALLOWED, "approved once: %s:%u by %s",
				   d->name, (unsigned)d->port, r->hold_by);
		return false;
	case HOLD_DENIED:
		policy_verdict_set(&r->verdict, false, REASON_APPROVAL_DENIED,
				   "approvals: denied by %s", r->hold_by);
		return false;
	case HOLD_TIMEOUT:
		policy_verdict_set(&r->verdict, false, REASON_APPROVAL_TIMEOUT,
				   "approvals.timeout: no answer in %ums",
				   c->cfg->approvals.timeout_ms);
		return false;
	}
	return false;
}

/* A complete head is at the front of cin: check it, decide, and start the upstream side. */
/* dest's host is one that rules: judge request by request (its path must be normalised). */
static bool flow_ruled(const struct conn *c, const struct authority *dest)
{
	struct policy_scope scope = flow_scope(c);
	const struct request_rules *rules = policy_scope_request_rules(&scope);
	return rules && rules->n > 0 && dest->kind == HOST_NAME &&
	       request_rules_cover(rules, slice_make(dest->name, dest->name_len));
}

/* What a scan finding (already in the verdict) does: a report or a redaction forwards the
 * request, the log saying so; a block refuses it, unless the agent's mode relaxes that. False
 * when it was refused. */
static bool flow_scan_outcome(struct conn *c, enum scan_action action)
{
	struct conn_request *r = &c->req;

	if (action != SCAN_BLOCK) {
		r->verdict.report = true;
		return true;
	}
	struct policy_scope scope = flow_scope(c);
	policy_apply_mode(&scope, &r->verdict);
	if (r->verdict.allow)
		return true;
	flow_refuse(c, r->verdict.reason, NULL);
	return false;
}

/* scan: the name itself, before it is resolved (a CONNECT's too: its name is what leaves). A
 * block refuses the request; the log line shows "[withheld]" for the host either way. False
 * when it was refused. */
static bool flow_scan_name(struct conn *c)
{
	struct conn_request *r = &c->req;
	struct scan_finding f;

	if (r->dest.kind != HOST_NAME ||
	    !scan_host_name(snapshot_scan_set(c->snap, r->agent),
			    slice_make(r->dest.name, r->dest.name_len), &f))
		return true;
	r->host_withheld = true;
	policy_verdict_set(&r->verdict, f.action != SCAN_BLOCK, REASON_SECRET_DETECTED,
			   "scan: %s in %s", f.name, f.where);
	return flow_scan_outcome(c, f.action);
}

/* scan: what the head carries (its target and field values), before anything of it leaves. A
 * block refuses the request (a report, in mode: report); a report forwards it and the log says
 * what was found (the pattern and where, never the text). False when it was refused. */
static bool flow_scan_head(struct conn *c, const struct http1_request *req, struct slice path)
{
	struct conn_request *r = &c->req;
	const struct scan_set *set = snapshot_scan_set(c->snap, r->agent);
	struct scan_finding f;

	flow_n_redact = 0;
	if (!set || !scan_request_head(set, slice_make(r->dest.name, r->dest.name_len), req, path,
				       &f, flow_redact))
		return true;
	policy_verdict_set(&r->verdict, f.action != SCAN_BLOCK, REASON_SECRET_DETECTED,
			   "scan: %s in %s%s", f.name, f.where,
			   f.action == SCAN_REDACT ? ", redacted" : "");
	/* The log never shows what was found: a line whose path (or kept query) held it goes
	 * without one. */
	if (c->log_text && (strncmp(f.where, "path", 4) == 0 || strncmp(f.where, "query", 5) == 0))
		c->log_text->path_len = 0;
	if (f.action == SCAN_REDACT) {
		flow_n_redact = 1;
		flow_redacted =
		    scan_redacted_value(&f, flow_redacted_text, sizeof(flow_redacted_text));
	}
	return flow_scan_outcome(c, f.action);
}

/* credentials: which placeholders become secrets in the head sent on, and whether the request
 * may go at all (a placeholder toward a host it does not belong to, one that is required and
 * missing). False when it was refused. */
static bool flow_judge_credentials(struct conn *c, const struct http1_request *req,
				   struct slice path, struct credential_use *uses, unsigned *n)
{
	struct conn_request *r = &c->req;
	struct policy_scope scope = flow_scope(c);
	const struct credential_list *list = policy_scope_credentials(&scope);
	const struct credential *which;
	struct slice host = slice_make(r->dest.name, r->dest.name_len);

	*n = 0;
	if (!list || list->n == 0)
		return true;
	enum credentials_result res =
	    credentials_judge(list, flow_agent_name(c), host, req, path, uses, n, &which);
	policy_check_credentials(&scope, res, which, host, &r->verdict);
	if (!r->verdict.allow) {
		flow_refuse(c, r->verdict.reason, NULL);
		return false;
	}
	if (res != CREDENTIALS_OK)
		*n = 0; /* report mode: sent as it came */
	/* A credential whose secret is not read (its file or variable failed at a reload) is
	 * left out: the placeholder goes as it came, and the origin refuses it. */
	unsigned kept = 0;
	for (unsigned i = 0; i < *n; i++)
		if (uses[i].cred->ready)
			uses[kept++] = uses[i];
	*n = kept;
	r->n_creds_used = 0;
	for (unsigned i = 0; i < kept; i++)
		r->creds_used[r->n_creds_used++] = uses[i].cred;
	return true;
}

/* dest (a request inside a tunnel) names the tunnel's target: the same host and port. */
static bool flow_names_tunnel(const struct conn *c, const struct authority *dest)
{
	const struct authority *t = &((const struct tunnel_bind *)c->proto)->dest;
	if (dest->port != t->port || (dest->kind == HOST_NAME) != (t->kind == HOST_NAME))
		return false;
	if (t->kind != HOST_NAME)
		return ip_addr_eq(&dest->ip, &t->ip);
	return dest->name_len == t->name_len && memcmp(dest->name, t->name, t->name_len) == 0;
}

static void flow_handle_head(struct conn *c, const struct http1_request *req, size_t head_len)
{
	struct conn_request *r = &c->req;
	struct slice authority = {0}, path = {0};
	const char *detail = NULL;
	uint16_t default_port = 80;

	r->is_connect = slice_eq_cstr_nocase(req->method, "CONNECT");
	r->is_head = slice_eq_cstr_nocase(req->method, "HEAD");
	r->client_minor = req->version_minor;
	r->client_keep_alive = req->keep_alive;
	flow_set_body_framing(c, req);
	r->replayable = !r->is_connect && r->req_done && http1_method_is_idempotent(req->method);
	if (r->is_connect && flow_transparent(c)) {
		conn_reply_error(c, REASON_BAD_REQUEST, "CONNECT on a transparent listener", true);
		return;
	}
	if (r->is_connect && flow_in_tunnel(c)) {
		conn_reply_error(c, REASON_BAD_REQUEST, "CONNECT inside a tunnel", true);
		return;
	}
	if (r->is_connect) {
		if (req->framing != HTTP1_BODY_NONE) {
			conn_reply_error(c, REASON_BAD_REQUEST, "CONNECT with a body", true);
			return;
		}
		authority = req->target;
		default_port = 0;
	} else {
		struct url url;
		enum url_result split = url_split_target(req->target, &url);
		if (split == URL_ORIGIN_FORM && (flow_transparent(c) || flow_in_tunnel(c))) {
			/* Judged as http://Host/path would be; Host's port, else the one dialled
			 * (the tunnel's, inside one). */
			if (req->host_index < 0) {
				conn_reply_error(
				    c, REASON_BAD_AUTHORITY,
				    flow_in_tunnel(c)
					? "a request inside a tunnel needs a Host header"
					: "a transparent request needs a Host header",
				    true);
				return;
			}
			url.authority = req->headers[req->host_index].value;
			url.path = req->target;
			default_port = flow_in_tunnel(c)
					   ? ((const struct tunnel_bind *)c->proto)->dest.port
					   : conn_local_port(c);
		} else if (split == URL_ORIGIN_FORM) {
			conn_reply_error(c, REASON_NOT_A_PROXY_REQUEST, NULL, true);
			return;
		} else if (split != URL_OK) {
			conn_reply_error(c, REASON_BAD_REQUEST, url_target_detail(split), true);
			return;
		}
		authority = url.authority;
		path = url.path;
		flow_note_path(c, path);
	}
	if (authority_parse(authority, default_port, &r->dest, &detail) != 0) {
		memset(&r->dest, 0, sizeof(r->dest));
		conn_reply_error(c, REASON_BAD_AUTHORITY, detail, true);
		return;
	}
	flow_note_host_raw(c, authority);
	if (r->is_connect && !r->dest.has_port) {
		conn_reply_error(c, REASON_BAD_AUTHORITY, "CONNECT needs host:port", true);
		return;
	}
	if (flow_in_tunnel(c) && !flow_names_tunnel(c, &r->dest)) {
		const struct authority *t = &((const struct tunnel_bind *)c->proto)->dest;
		policy_verdict_set(&r->verdict, false, REASON_TUNNEL_HOST_MISMATCH,
				   "tunnel: CONNECT %.120s:%u", t->name, (unsigned)t->port);
		buf_consume_keep(&c->cin, head_len);
		flow_refuse(c, REASON_TUNNEL_HOST_MISMATCH, NULL);
		return;
	}
	if (!http1_proxy_host_agrees(req, &r->dest)) {
		conn_reply_error(c, REASON_BAD_REQUEST,
				 "the Host header is missing or disagrees with the request target",
				 true);
		return;
	}
	/* From here on the head is understood: drop it from cin so that a refusal can keep a
	 * keep-alive connection for the next request. The parsed slices stay valid: consuming
	 * only moves the read offset. */
	buf_consume_keep(&c->cin, head_len);
	/* 8 KiB: not on the stack of every request, only of one that rules judge. */
	static _Thread_local struct url_path norm;
	bool ruled = false;
	if (http1_proxy_via_names(req, slice_from_cstr(c->w->via))) {
		policy_via_loop(&r->verdict);
	} else {
		if (!flow_identify(c, req))
			return;
		int api = flow_search_api(c, req, path);
		if (api >= 0) {
			/* Answered from SearXNG through the search route: no name rule applies. */
			r->search_api = (uint8_t)(api + 1);
			r->route = &c->cfg->routes[c->cfg->search.route_index];
			policy_verdict_set(&r->verdict, true, REASON_ALLOWED, "search: %s",
					   search_api_name((enum search_api)api));
		} else if (!r->is_connect && flow_ruled(c, &r->dest)) {
			/* Judged, and sent on, in the form the rules see (parse/url_path). */
			if (url_path_normalize(path, &norm, &detail) != 0) {
				conn_reply_error(c, REASON_BAD_REQUEST, detail, true);
				return;
			}
			ruled = true;
			path = slice_make(norm.text, norm.len);
		}
		if (!r->search_api)
			flow_decide(c, req, ruled ? &norm : NULL);
	}
	if (!r->verdict.allow && r->verdict.ask && flow_hold(c, req, head_len, path))
		return;
	if (!r->verdict.allow) {
		flow_refuse(c, r->verdict.reason, NULL);
		return;
	}
	static _Thread_local struct credential_use uses[CREDENTIAL_USES_MAX];
	unsigned n_uses = 0;
	if (!flow_scan_name(c) || (!r->is_connect && !flow_scan_head(c, req, path)))
		return;
	if (r->search_api) {
		search_flow_begin(c, req, path, (enum search_api)(r->search_api - 1));
		return;
	}
	if (!r->is_connect && req->framing != HTTP1_BODY_NONE)
		r->body_scan = scan_stream_open(snapshot_scan_set(c->snap, r->agent),
						slice_make(r->dest.name, r->dest.name_len),
						req->framing == HTTP1_BODY_CHUNKED);
	if (!r->is_connect && !flow_judge_credentials(c, req, path, uses, &n_uses))
		return;
	/* After a 101 the tunnel relays it, through TLS on either side where there is one. */
	r->websocket = !r->is_connect && http1_proxy_websocket_request(req);
	if (!r->is_connect && !flow_build_request_head(c, req, path, uses, n_uses)) {
		conn_reply_error(c, REASON_HEAD_TOO_LARGE, NULL, true);
		return;
	}
	/* Nothing is behind a search API's host: its requests are answered inside. */
	if (r->search_tunnel) {
		c->ops->on_upstream_ready(c);
		return;
	}
	upstream_start(c);
}

static void flow_parse_head(struct conn *c)
{
	struct http1_request req;
	int rc = http1_request_parse(buf_head(&c->cin), buf_len(&c->cin),
				     c->cfg->max_request_headers, &req);

	if (rc == 0) {
		if (buf_len(&c->cin) >= c->cfg->max_head_bytes) {
			c->req.started_ms = conn_now_ms();
			conn_reply_error(c, REASON_HEAD_TOO_LARGE, NULL, true);
			return;
		}
		conn_want_client_read(c, true);
		return;
	}
	/* A held request read again keeps its start: its line's duration covers the wait. */
	if (c->req.hold_outcome == HOLD_NONE)
		c->req.started_ms = conn_now_ms();
	else
		c->req.held_ms = conn_now_ms() - c->req.started_ms;
	/* A request is judged by the policy in force when its head is complete, also on a
	 * connection that sat idle (or had this head buffered) across a reload. */
	conn_refresh_snapshot(c);
	if (rc < 0) {
		conn_reply_error(c, flow_parse_error_reason(req.error), req.error_detail, true);
		return;
	}
	if ((size_t)rc > c->cfg->max_head_bytes) {
		conn_reply_error(c, REASON_HEAD_TOO_LARGE, NULL, true);
		return;
	}
	if (req.method.len >= sizeof(c->req.method)) {
		conn_reply_error(c, REASON_BAD_REQUEST, "method too long", true);
		return;
	}
	memcpy(c->req.method, req.method.ptr, req.method.len);
	c->req.method[req.method.len] = '\0';
	/* Client reading stays on while the request runs: toggling it costs two epoll_ctl per
	 * request, and what a client sends meanwhile (body, pipelined requests) is buffered up
	 * to cin's capacity. */
	flow_handle_head(c, &req, (size_t)rc);
	/* The head is handled and nothing follows it: cin's block goes back to the worker's cache
	 * while the upstream answers, rather than sit idle in every request in flight. */
	if (buf_len(&c->cin) == 0)
		buf_release(&c->cin);
}

static void flow_next_request(struct conn *c)
{
	/* Draining: the exchange is over and no new request is taken on. */
	if (c->w->draining) {
		conn_close(c, REASON_SHUTDOWN);
		return;
	}
	conn_reset_request(c);
	conn_refresh_snapshot(c);
	if (buf_len(&c->cin) == 0)
		buf_release(&c->cin); /* an idle keep-alive connection holds no buffer */
	conn_set_state(c, CONN_READ_HEAD);
	if (buf_len(&c->cin) > 0) {
		conn_set_timeout(c, c->cfg->head_timeout_ms, REASON_HEAD_TIMEOUT);
		flow_parse_head(c);
		return;
	}
	conn_set_timeout(c, c->cfg->idle_timeout_ms, REASON_HEAD_TIMEOUT);
	conn_want_client_read(c, true);
}

/* Both directions of the exchange are complete: log, pool the upstream, go on or close. */
static void flow_finish(struct conn *c)
{
	struct conn_request *r = &c->req;

	conn_log_request(c, REASON_ALLOWED);
	upstream_park(c);
	if (!r->client_keep_alive || !r->req_done) {
		conn_close(c, REASON_ALLOWED);
		return;
	}
	flow_next_request(c);
}

static void flow_fail_midstream(struct conn *c, enum reason why)
{
	if (why == REASON_UPSTREAM_CLOSED && upstream_retry_stale(c))
		return;
	if (c->req.status == 0 && buf_len(&c->cout) == 0) {
		c->req.client_keep_alive = false;
		flow_refuse(c, why, NULL);
		return;
	}
	if (c->req.result == REASON_ALLOWED)
		c->req.result = why;
	conn_close(c, why);
}

/* Clears the next bytes of a body for forwarding. Returns false on malformed framing. */
static bool flow_approve(struct buf *b, uint32_t *approved, int framing, uint64_t *remaining,
			 struct http1_chunked *chunked, bool *complete)
{
	size_t fresh = buf_len(b) - *approved;
	if (fresh == 0 || *complete)
		return true;
	switch (framing) {
	case HTTP1_BODY_LENGTH: {
		uint64_t take = fresh < *remaining ? fresh : *remaining;
		*approved += (uint32_t)take;
		*remaining -= take;
		*complete = *remaining == 0;
		return true;
	}
	case HTTP1_BODY_CHUNKED: {
		bool done = false;
		ssize_t n = http1_chunked_parse(chunked, buf_head(b) + *approved, fresh, &done);
		if (n < 0)
			return false;
		*approved += (uint32_t)n;
		*complete = done;
		return true;
	}
	case HTTP1_BODY_CLOSE:
		*approved += (uint32_t)fresh;
		return true;
	default:
		*complete = true;
		return true;
	}
}

/* A chunked body has no announced length: its limit is enforced as it streams, counting the
 * bytes received (framing included). Returns false when the connection was ended. */
static bool flow_body_within_limit(struct conn *c)
{
	struct conn_request *r = &c->req;

	if (r->max_body == 0 || r->req_framing != HTTP1_BODY_CHUNKED)
		return true;
	struct policy_scope scope = flow_scope(c);
	if (policy_check_body_stream_limit(&scope, r->max_body, r->max_body_rule,
					   r->body_seen + r->req_approved, &r->verdict))
		return true;
	r->client_keep_alive = false;
	r->upstream_keep_alive = false;
	flow_fail_midstream(c, REASON_BODY_TOO_LARGE);
	return false;
}

/* flow_approve for the request body, with its secret scan (scan:): the bytes newly cleared are
 * scanned before any of them is sent, so a secret in the first bytes never leaves, and one
 * further in cuts the request there (the connection is closed: the origin has a part of it).
 * False when the request was ended (a malformed body, or a secret). */
static bool flow_approve_body(struct conn *c, bool *complete)
{
	struct conn_request *r = &c->req;
	uint32_t before = r->req_approved;
	struct scan_finding f;

	if (!flow_approve(&c->cin, &r->req_approved, r->req_framing, &r->req_remaining,
			  &r->req_chunked, complete)) {
		r->client_keep_alive = false;
		flow_fail_midstream(c, REASON_CLIENT_BODY_MALFORMED);
		return false;
	}
	if (!r->body_scan || (r->req_approved == before && !*complete))
		return true;
	if (!scan_stream_feed(r->body_scan, buf_head(&c->cin) + before, r->req_approved - before,
			      *complete, &f)) {
		if (*complete && r->verdict.allow && !r->verdict.report &&
		    scan_stream_report(r->body_scan, &f)) {
			policy_verdict_set(&r->verdict, true, REASON_SECRET_DETECTED,
					   "scan: %s in %s", f.name, f.where);
			r->verdict.report = true;
		}
		return true;
	}
	policy_verdict_set(&r->verdict, false, REASON_SECRET_DETECTED, "scan: %s in %s", f.name,
			   f.where);
	struct policy_scope scope = flow_scope(c);
	policy_apply_mode(&scope, &r->verdict);
	if (r->verdict.allow) { /* mode: report */
		scan_stream_free(r->body_scan);
		r->body_scan = NULL;
		return true;
	}
	r->client_keep_alive = false;
	r->upstream_keep_alive = false;
	flow_fail_midstream(c, REASON_SECRET_DETECTED);
	return false;
}

static void flow_pump_request(struct conn *c)
{
	struct conn_request *r = &c->req;
	bool complete = r->req_done;

	/* The head we built and the body bytes that came with it leave in one send: a small
	 * request is then one syscall toward the upstream, not two. */
	if (buf_len(&c->uout) > 0 && !r->req_done) {
		if (!flow_approve_body(c, &complete))
			return;
		if (r->req_approved > 0 && !flow_body_within_limit(c))
			return;
	}
	while (buf_len(&c->uout) > 0) {
		size_t body_sent = 0;
		ssize_t n = conn_upstream_write2(c, &c->uout, &c->cin, r->req_approved, &body_sent);
		/* Counted whatever n says: through TLS body bytes may have joined the head. */
		r->req_approved -= (uint32_t)body_sent;
		r->body_seen += body_sent;
		r->bytes_up += body_sent;
		if (n == -1)
			goto blocked;
		if (n < 0) {
			flow_fail_midstream(c, REASON_UPSTREAM_CLOSED);
			return;
		}
	}
	complete =
	    complete || r->req_framing == HTTP1_BODY_NONE || r->req_done ||
	    (r->req_framing == HTTP1_BODY_LENGTH && r->req_remaining == 0 && r->req_approved == 0);
	while (!r->req_done) {
		if (!flow_approve_body(c, &complete))
			return;
		if (r->req_approved == 0) {
			if (complete)
				r->req_done = true;
			break;
		}
		if (!flow_body_within_limit(c))
			return;
		ssize_t n = conn_upstream_write(c, &c->cin, r->req_approved);
		if (n == -1)
			goto blocked;
		if (n < 0) {
			flow_fail_midstream(c, REASON_UPSTREAM_CLOSED);
			return;
		}
		r->req_approved -= (uint32_t)n;
		r->body_seen += (uint64_t)n;
		r->bytes_up += (uint64_t)n;
		conn_touch(c);
		if (r->req_approved == 0 && complete)
			r->req_done = true;
	}
	conn_want_upstream_write(c, false);
	conn_want_client_read(c, !c->c_eof && buf_has_room(&c->cin, flow_cin_cap(c)));
	if (r->req_done && r->resp_done)
		flow_finish(c);
	return;
blocked:
	conn_want_upstream_write(c, true);
	conn_want_client_read(c, false);
}

/* A response field that echoes a secret the request carried gets its placeholder back: the
 * secret never reaches the agent. Thread storage for the placeholders. */
static unsigned flow_response_swaps(const struct conn *c, struct http_head_swap *swaps)
{
	static _Thread_local char ph[CREDENTIAL_USES_MAX][CREDENTIAL_PLACEHOLDER_MAX + 1];
	const struct conn_request *r = &c->req;

	for (unsigned i = 0; i < r->n_creds_used; i++) {
		const struct credential *cred = r->creds_used[i];
		credentials_placeholder(cred, flow_agent_name(c), ph[i]);
		swaps[i] = (struct http_head_swap){HTTP_HEAD_SWAP_ALL,
						   slice_make(cred->secret, cred->secret_len),
						   slice_from_cstr(ph[i])};
	}
	return r->n_creds_used;
}

/* Response head from the upstream → the head sent to the client. */
static bool flow_build_response_head(struct conn *c, const struct http1_response *resp)
{
	struct conn_request *r = &c->req;
	size_t cap = (size_t)c->cfg->max_response_head + 1024;

	/* Draining (SIGTERM): this is the connection's last response; say so (RFC 9112 §9.6)
	 * rather than leave the client to find the connection closed. */
	if (resp->status >= 200 && c->w->draining)
		r->client_keep_alive = false;
	struct http_head_swap swaps[CREDENTIAL_USES_MAX];
	unsigned n = flow_response_swaps(c, swaps);
	return http_head_format_response(resp, r->client_keep_alive, r->client_minor, swaps, n,
					 &c->cout, cap);
}

/* The upstream accepted a WebSocket handshake: its 101 goes to the client, and from there on
 * the connection is a tunnel between the two (what either side sent after its head already
 * waits in cin and uin, relayed first). The request's line is the tunnel's: an open line once
 * the 101 is out, an end line when both sides have closed. */
static void flow_switch_protocols(struct conn *c, const struct http1_response *resp,
				  size_t head_len)
{
	struct conn_request *r = &c->req;

	struct http_head_swap swaps[CREDENTIAL_USES_MAX];
	unsigned n = flow_response_swaps(c, swaps);
	if (!http_head_format_switch(resp, swaps, n, &c->cout,
				     (size_t)c->cfg->max_response_head + 1024)) {
		flow_fail_midstream(c, REASON_UPSTREAM_HEAD_TOO_LARGE);
		return;
	}
	buf_consume(&c->uin, head_len);
	r->status = 101;
	r->tunnel_silent = true; /* the 101 is its answer: no 200 */
	r->client_keep_alive = false;
	r->upstream_keep_alive = false;
	conn_switch_ops(c, &tunnel_ops);
	c->ops->on_upstream_ready(c);
}

/* Parses as many response heads as are complete (1xx interim ones are relayed and skipped). */
static bool flow_parse_response_head(struct conn *c)
{
	struct conn_request *r = &c->req;
	struct http1_response resp;

	while (!r->resp_head_done) {
		int rc =
		    http1_response_parse(buf_head(&c->uin), buf_len(&c->uin),
					 c->cfg->max_response_headers, r->is_head, false, &resp);
		if (rc == 0) {
			if (buf_len(&c->uin) >= c->cfg->max_response_head || c->u_eof) {
				flow_fail_midstream(c, c->u_eof ? REASON_UPSTREAM_CLOSED
								: REASON_UPSTREAM_HEAD_TOO_LARGE);
				return false;
			}
			return true;
		}
		if ((rc < 0 && resp.error == HTTP1_ERR_TOO_MANY_HEADERS) ||
		    (rc > 0 && (size_t)rc > c->cfg->max_response_head)) {
			c->req.upstream_keep_alive = false;
			flow_fail_midstream(c, REASON_UPSTREAM_HEAD_TOO_LARGE);
			return false;
		}
		if (rc > 0 && r->websocket && http1_proxy_websocket_accepted(&resp)) {
			flow_switch_protocols(c, &resp, (size_t)rc);
			return false;
		}
		if (rc < 0 || resp.status == 101) {
			c->req.upstream_keep_alive = false;
			flow_fail_midstream(c, REASON_UPSTREAM_BAD_RESPONSE);
			return false;
		}
		if (resp.status >= 200) {
			r->resp_head_done = true;
			r->status = resp.status;
			r->resp_framing = resp.framing;
			r->resp_remaining = resp.content_length;
			http1_chunked_init(&r->resp_chunked);
			r->upstream_keep_alive = resp.keep_alive;
			/* A body delimited by close cannot be followed by another response. */
			if (resp.framing == HTTP1_BODY_CLOSE)
				r->client_keep_alive = false;
			r->resp_done =
			    resp.framing == HTTP1_BODY_NONE ||
			    (resp.framing == HTTP1_BODY_LENGTH && resp.content_length == 0);
		}
		if (!flow_build_response_head(c, &resp)) {
			flow_fail_midstream(c, REASON_UPSTREAM_BAD_RESPONSE);
			return false;
		}
		buf_consume(&c->uin, (size_t)rc);
	}
	return true;
}

static void flow_pump_response(struct conn *c)
{
	struct conn_request *r = &c->req;
	bool complete = r->resp_done;

	/* The head we built and the first body bytes leave in one send (a small response is
	 * then one syscall, not two). */
	if (buf_len(&c->cout) > 0 && r->resp_head_done && !r->resp_done &&
	    !flow_approve(&c->uin, &r->resp_approved, r->resp_framing, &r->resp_remaining,
			  &r->resp_chunked, &complete)) {
		r->upstream_keep_alive = false;
		flow_fail_midstream(c, REASON_UPSTREAM_BAD_RESPONSE);
		return;
	}
	while (buf_len(&c->cout) > 0) {
		size_t body_sent = 0;
		ssize_t n = conn_client_write2(
		    c, &c->cout, &c->uin, r->resp_head_done ? r->resp_approved : 0, &body_sent);
		r->resp_approved -= (uint32_t)body_sent;
		r->bytes_down += body_sent;
		if (n == -1)
			goto blocked;
		if (n < 0) {
			conn_close(c, REASON_CLIENT_CLOSED);
			return;
		}
	}
	if (r->resp_head_done && !r->resp_done && r->resp_approved == 0 && complete)
		r->resp_done = true;
	while (r->resp_head_done && !r->resp_done) {
		if (!flow_approve(&c->uin, &r->resp_approved, r->resp_framing, &r->resp_remaining,
				  &r->resp_chunked, &complete)) {
			r->upstream_keep_alive = false;
			flow_fail_midstream(c, REASON_UPSTREAM_BAD_RESPONSE);
			return;
		}
		if (r->resp_framing == HTTP1_BODY_CLOSE && c->u_eof && buf_len(&c->uin) == 0)
			complete = true;
		if (r->resp_approved == 0) {
			if (complete)
				r->resp_done = true;
			break;
		}
		ssize_t n = conn_client_write(c, &c->uin, r->resp_approved);
		if (n == -1)
			goto blocked;
		if (n < 0) {
			conn_close(c, REASON_CLIENT_CLOSED);
			return;
		}
		r->resp_approved -= (uint32_t)n;
		r->bytes_down += (uint64_t)n;
		conn_touch(c);
		if (r->resp_approved == 0 && complete)
			r->resp_done = true;
	}
	conn_want_client_write(c, false);
	if (r->resp_done) {
		conn_want_upstream_read(c, false);
		if (r->req_done)
			flow_finish(c);
		else if (c->us)
			/* The upstream answered before taking the whole body: stop sending it. */
			conn_close(c, REASON_ALLOWED);
		return;
	}
	if (c->u_eof) {
		flow_fail_midstream(c, REASON_UPSTREAM_CLOSED);
		return;
	}
	conn_want_upstream_read(c, true);
	return;
blocked:
	conn_want_client_write(c, true);
	conn_want_upstream_read(c, false);
}

static void flow_start_forwarding(struct conn *c)
{
	conn_set_state(c, CONN_FORWARDING);
	conn_set_timeout(c, c->cfg->upstream_timeout_ms, REASON_UPSTREAM_TIMEOUT);
	conn_want_upstream_read(c, true);
	flow_pump_request(c);
}

static void flow_on_client_readable(struct conn *c)
{
	if (c->state == CONN_REPLYING) {
		conn_want_client_read(c, false);
		return;
	}
	if (c->state == CONN_HELD) {
		/* Kept for when the answer comes; a client that leaves gives up its place. */
		ssize_t n = conn_client_read(c, &c->cin, flow_cin_cap(c));
		if (n == 0 || n == -2) {
			c->c_eof = true;
			conn_close(c, REASON_CLIENT_CLOSED);
		} else if (n == -1 && !buf_has_room(&c->cin, flow_cin_cap(c))) {
			conn_want_client_read(c, false);
		}
		return;
	}
	if (c->req.search) {
		search_flow_on_client_readable(c);
		return;
	}
	bool was_empty = buf_len(&c->cin) == 0;
	ssize_t n = conn_client_read(c, &c->cin, flow_cin_cap(c));
	/* TLS may hold decrypted bytes that no socket event will announce. */
	if (n > 0 && c->ctls && tls_session_pending(c->ctls) &&
	    buf_has_room(&c->cin, flow_cin_cap(c)))
		conn_client_read_again(c);
	if (n == -1) {
		if (!buf_has_room(&c->cin, flow_cin_cap(c)))
			conn_want_client_read(c, false); /* full: backpressure */
		if (c->state == CONN_READ_HEAD && buf_len(&c->cin) > 0)
			flow_parse_head(c);
		return;
	}
	if (n == 0 && c->state != CONN_READ_HEAD &&
	    !(c->state == CONN_FORWARDING && !c->req.req_done)) {
		/* A half-close after a complete request: the client still waits for the answer
		 * (RFC 9112 §9.6); finish it, then close. */
		c->c_eof = true;
		c->req.client_keep_alive = false;
		conn_want_client_read(c, false);
		return;
	}
	if (n <= 0) {
		c->c_eof = true;
		conn_close(c, REASON_CLIENT_CLOSED);
		return;
	}
	if (c->state == CONN_READ_HEAD) {
		if (was_empty && c->req.started_ms == 0)
			conn_set_timeout(c, c->cfg->head_timeout_ms, REASON_HEAD_TIMEOUT);
		flow_parse_head(c);
		return;
	}
	/* Resolving, connecting, or the request already sent: keep what came (an early body, the
	 * next pipelined request) for later. */
	if (c->state != CONN_FORWARDING || c->req.req_done) {
		if (!buf_has_room(&c->cin, flow_cin_cap(c)))
			conn_want_client_read(c, false);
		return;
	}
	flow_pump_request(c);
}

static void flow_on_client_writable(struct conn *c)
{
	if (c->state == CONN_REPLYING) {
		if (conn_flush_client(c) != 1)
			return;
		conn_want_client_write(c, false);
		if (c->req.close_after_reply) {
			conn_close(c, c->req.result);
			return;
		}
		flow_next_request(c);
		return;
	}
	flow_pump_response(c);
}

static void flow_on_upstream_readable(struct conn *c)
{
	if (c->req.search) {
		search_flow_on_upstream_readable(c);
		return;
	}
	ssize_t n = conn_upstream_read(c, &c->uin, flow_uin_cap(c));

	if (n == -1) {
		if (buf_reserve(&c->uin, 1, flow_uin_cap(c)) == 0)
			conn_want_upstream_read(c, false);
		return;
	}
	if (n <= 0) {
		c->u_eof = true;
		c->req.upstream_keep_alive = false;
		conn_want_upstream_read(c, false);
	} else {
		conn_touch(c);
		if (c->replay.data) /* answered: no longer sent again */
			buf_release(&c->replay);
	}
	if (!flow_parse_response_head(c))
		return;
	if (!c->req.resp_head_done) {
		if (c->u_eof)
			flow_fail_midstream(c, REASON_UPSTREAM_CLOSED);
		return;
	}
	flow_pump_response(c);
	/* A TLS write can wait for the socket to be readable: push the request on as well. */
	if (conn_upstream_tls(c) && c->state == CONN_FORWARDING && !c->req.req_done)
		flow_pump_request(c);
	/* TLS may hold decrypted bytes that no socket event will announce. */
	if (c->state == CONN_FORWARDING && !c->u_eof && conn_upstream_pending(c) &&
	    buf_reserve(&c->uin, 1, flow_uin_cap(c)) > 0)
		conn_upstream_read_again(c);
}

static void flow_on_upstream_writable(struct conn *c)
{
	if (c->req.search) {
		search_flow_on_upstream_writable(c);
		return;
	}
	flow_pump_request(c);
	/* A TLS read can need the socket writable (a key update reply): read on as well. */
	if (conn_upstream_tls(c) && c->state == CONN_FORWARDING)
		flow_on_upstream_readable(c);
}

/* What binds the requests of a tunnel to its CONNECT: its target and credentials. NULL when
 * out of memory. */
static struct tunnel_bind *flow_bind_new(const struct authority *dest,
					 const struct agent_credentials *cred, bool has_cred)
{
	struct tunnel_bind *b = malloc(sizeof(*b));

	if (b) {
		b->dest = *dest;
		b->cred = *cred;
		b->has_cred = has_cred;
	}
	return b;
}

/* The tunnel's HTTP is carried by ops from now on; its first request is in cin. -1 when out of
 * memory (nothing changed). */
static int flow_carry_as(struct conn *c, const struct flow_ops *ops)
{
	struct tunnel_bind *b = flow_bind_new(&c->req.dest, &c->req.cred, c->req.has_cred);

	if (!b)
		return -1;
	conn_switch_ops(c, ops);
	c->proto = b;
	flow_next_request(c);
	return 0;
}

/* A checked tunnel whose first bytes are an HTTP request: tunnel_http_ops reads it from cin. */
static int flow_carry(struct conn *c)
{
	return flow_carry_as(c, &tunnel_http_ops);
}

/* The same, once tls_accept has the client's TLS up: intercepted_http_ops. */
static int flow_carry_https(struct conn *c)
{
	return flow_carry_as(c, &intercepted_http_ops);
}

/* An HTTP/2 stream's request (flow_check_exit's start_stream): a new connection already. */
static int flow_start_stream(struct conn *c, const struct authority *dest,
			     const struct agent_credentials *cred, bool has_cred)
{
	BUG_ON(c->ops != &intercepted_http_ops || c->proto);
	c->proto = flow_bind_new(dest, cred, has_cred);
	if (!c->proto)
		return -1;
	/* A new connection reads its head already: the head is in cin. */
	flow_parse_head(c);
	return 0;
}

static struct tunnel_check_exit flow_check_exit = {
    .carry_http = flow_carry,
    .carry_https = flow_carry_https,
    .carry_h2 = h2_flow_carry,
    .stream_ops = &intercepted_http_ops,
    .start_stream = flow_start_stream,
};

/* The upstream is connected (or taken from the pool). A CONNECT's tunnel opens — unless a
 * reload since it was judged revokes it — and the tunnel protocol takes the connection over;
 * any other request is forwarded. */
static void flow_on_upstream_ready(struct conn *c)
{
	if (c->req.search) {
		search_flow_on_upstream_ready(c);
		return;
	}
	if (!c->req.is_connect) {
		flow_start_forwarding(c);
		return;
	}
	if (!reload_revoke_admit(c))
		return;
	if (c->req.intercept || tunnel_policy_inspects(&c->cfg->rules.tunnel, c->req.dest.port)) {
		conn_switch_ops(c, &tunnel_check_ops);
		c->proto = &flow_check_exit;
	} else {
		conn_switch_ops(c, &tunnel_ops);
	}
	c->ops->on_upstream_ready(c);
}

/* A stale-connection copy of the head is the only thing HTTP holds beyond conn's buffers. */
static void flow_release(struct conn *c)
{
	buf_release(&c->replay);
}

/* Timers and reloads refuse with an HTTP reply, and close. */
static void flow_refuse_close(struct conn *c, enum reason why, const char *detail)
{
	if (c->req.search) {
		c->req.client_keep_alive = false;
		search_flow_fail(c, why, detail);
		return;
	}
	conn_reply_error(c, why, detail, true);
}

const struct flow_ops http_flow_ops = {
    .name = "http1",
    .on_client_readable = flow_on_client_readable,
    .on_client_writable = flow_on_client_writable,
    .on_upstream_readable = flow_on_upstream_readable,
    .on_upstream_writable = flow_on_upstream_writable,
    .on_upstream_ready = flow_on_upstream_ready,
    .on_upstream_failed = flow_refuse,
    .refuse = flow_refuse_close,
    .release = flow_release,
};

static void flow_tunnel_release(struct conn *c)
{
	struct tunnel_bind *b = c->proto;

	flow_release(c);
	if (b) {
		OPENSSL_cleanse(b, sizeof(*b));
		free(b);
	}
	c->proto = NULL;
}

/* HTTP inside a CONNECT tunnel: requests bound to the tunnel's target (flow_in_tunnel). */
const struct flow_ops tunnel_http_ops = {
    .name = "tunnel_http",
    .on_client_readable = flow_on_client_readable,
    .on_client_writable = flow_on_client_writable,
    .on_upstream_readable = flow_on_upstream_readable,
    .on_upstream_writable = flow_on_upstream_writable,
    .on_upstream_ready = flow_on_upstream_ready,
    .on_upstream_failed = flow_refuse,
    .refuse = flow_refuse_close,
    .release = flow_tunnel_release,
};

/* HTTPS sluice intercepts: the same as tunnel_http, inside sluice's TLS session with the client
 * (c->ctls), each request's upstream TLS to the tunnel's host (flow_intercepted). */
const struct flow_ops intercepted_http_ops = {
    .name = "intercepted_http",
    .on_client_readable = flow_on_client_readable,
    .on_client_writable = flow_on_client_writable,
    .on_upstream_readable = flow_on_upstream_readable,
    .on_upstream_writable = flow_on_upstream_writable,
    .on_upstream_ready = flow_on_upstream_ready,
    .on_upstream_failed = flow_refuse,
    .refuse = flow_refuse_close,
    .release = flow_tunnel_release,
};

/* The same protocol on a listen.transparent_http address: flow_transparent tells them apart
 * (origin-form requests named by Host, no CONNECT, no proxy credentials). */
const struct flow_ops transparent_http_ops = {
    .name = "transparent_http",
    .on_client_readable = flow_on_client_readable,
    .on_client_writable = flow_on_client_writable,
    .on_upstream_readable = flow_on_upstream_readable,
    .on_upstream_writable = flow_on_upstream_writable,
    .on_upstream_ready = flow_on_upstream_ready,
    .on_upstream_failed = flow_refuse,
    .refuse = flow_refuse_close,
    .release = flow_release,
};
