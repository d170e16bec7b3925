#include "io/dns_server.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emit/dns_reply.h"
#include "emit/log_json.h"
#include "io/approval_store.h"
#include "io/conn.h"
#include "io/log_sink.h"
#include "io/loop_clock.h"
#include "io/resolver.h"
#include "io/snapshot.h"
#include "io/sockaddr.h"
#include "io/udp_batch.h"
#include "io/worker.h"
#include "io/event_ring.h"
#include "parse/authority.h"
#include "parse/dns_answer.h"
#include "parse/dns_msg.h"
#include "parse/dns_svcb.h"
#include "parse/dns_type.h"
#include "policy/approvals.h"
#include "policy/dns_policy.h"
#include "policy/outcome.h"
#include "policy/rate_limit.h"
#include "policy/scan.h"

/* A query is read into UDP_BATCH_IN_MAX bytes (io/udp_batch): a question of 255 bytes and an
 * OPT with a cookie take under 300; a bigger datagram is cut there and refused as malformed. */
/* The largest reply built: RESOLVER_MAX_ADDRS addresses after a 255-byte question take under
 * 800 bytes, so this is never the limit over TCP; over UDP the client's size is. */
#define DNS_SERVER_REPLY_MAX 4096
/* Queries held for an operator's answer on one worker: past it, one more is refused as
 * approval_busy (approvals.max_pending bounds the entries, not the queries joining them). */
#define DNS_HELD_MAX 1024

struct dns_sock {
	struct dns_server *srv;
	int fd;
	struct event *ev;
	struct ip_addr local; /* the bound address; unspecified when bound to every address */
	bool wildcard;
};

/* A query waiting for the resolver, or held for an operator's answer (held: on the server's
 * held list, its timer armed). Owns a copy of the message (q's slices point into it) and a
 * reference to the configuration it was judged under. */
struct dns_ask {
	struct dns_ask *next, *prev;
	struct dns_server *srv;
	struct conn *conn; /* TCP: the connection it answers on; it cancels the ask if it closes */
	const struct dns_stream_ops *stream;
	struct dns_sock *sock;
	struct snapshot *snap;
	const struct agent *agent;
	struct resolver_query *rq;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct ip_addr client_ip, local;
	uint16_t client_port;
	uint64_t started_us;
	struct verdict verdict;
	/* held: the approval store's entry and the approvals.timeout timer; afterwards, what
	 * became of it (for the log line) */
	bool held;
	uint8_t hold_outcome; /* enum hold_outcome */
	uint64_t hold_id, held_ms;
	struct event *hold_timer;
	char hold_by[APPROVAL_BY_MAX + 1];
	struct dns_query q;
	size_t msg_len;
	uint8_t msg[];
};

struct dns_server {
	struct worker *w;
	struct dns_sock socks[CONFIG_MAX_LISTEN];
	unsigned n_socks;
	struct dns_ask *asks; /* waiting for the resolver */
	struct dns_ask *held; /* waiting for an operator (approvals) */
	unsigned n_held;
	uint64_t n_started; /* asks started for a stream: tells a resumed query whether it waits */
	struct udp_batch *udp;
	struct dns_sock *batching; /* the socket whose read batch is being answered, or NULL */
};

/* What one query came with and how it is answered (the transport's half): a UDP socket and the
 * peer's address, or a TCP connection (conn). */
struct dns_from {
	struct conn *conn;
	const struct dns_stream_ops *stream; /* with conn */
	struct dns_sock *sock;
	const struct sockaddr_storage *peer;
	socklen_t peer_len;
	struct ip_addr client_ip, local;
	uint16_t client_port;
	/* A held query judged again (dns_resume): what the operator's answer was, by whom, and
	 * how long it waited; HOLD_NONE for a query as it came. */
	uint8_t hold_outcome; /* enum hold_outcome */
	const char *hold_by;
	uint64_t held_ms;
};

/* The agent's bucket on this worker (its agent slot): a share of dns.rate and dns.burst (the
 * kernel spreads queries over the workers' sockets), so that all workers together allow about
 * the rate. A reload that changes them starts the bucket anew. */
static struct token_bucket *dns_rate_for(struct dns_server *s, const struct agent *agent,
					 const struct policy_dns *dns)
{
	struct worker_agent_slot *slot = worker_agent_slot(s->w, agent ? agent->name : "");
	uint32_t rate = worker_share(s->w, dns->rate), burst = worker_share(s->w, dns->burst);

	if (!slot)
		return NULL;
	if (!slot->dns_set || slot->dns_rate != rate || slot->dns_burst != burst) {
		token_bucket_init(&slot->dns, rate, burst, loop_clock_ms());
		slot->dns_rate = rate;
		slot->dns_burst = burst;
		slot->dns_set = true;
	}
	return &slot->dns;
}

/* Sends from the address the query came to: a reply from another address of a wildcard socket
 * is one the client would not take. */
static void dns_send(const struct dns_from *from, const uint8_t *buf, size_t len)
{
	if (from->conn) {
		from->stream->send(from->conn, buf, len);
		return;
	}
	const struct ip_addr *local = from->sock->wildcard ? &from->local : NULL;
	struct dns_server *srv = from->sock->srv;
	/* Within a read batch, replies leave together (sendmmsg) once it is done. */
	if (srv->batching == from->sock &&
	    udp_batch_queue(srv->udp, buf, len, from->peer, from->peer_len, local))
		return;
	udp_send_one(from->sock->fd, buf, len, from->peer, from->peer_len, local);
}

/* The largest message the query's transport takes (RFC 1035 §4.2, RFC 6891 §6.2.5). */
static size_t dns_limit(const struct dns_from *from, const struct dns_query *q)
{
	return from->conn ? DNS_SERVER_REPLY_MAX : dns_reply_udp_limit(q, DNS_REPLY_EDNS_SIZE);
}

struct dns_answer {
	int rcode;
	enum reason result; /* REASON_ALLOWED, or what went wrong upstream */
	const struct ip_addr *addrs;
	unsigned n_addrs;
	uint32_t ttl;
};

static void dns_log(struct dns_server *s, const struct dns_from *from, const struct agent *agent,
		    const struct dns_query *q, bool has_question, const struct verdict *v,
		    const struct dns_answer *ans, const char *const *answered, unsigned n_answered,
		    bool truncated, uint64_t started_us)
{
	struct worker *w = s->w;
	char client[SOCKADDR_TEXT_MAX], type[16] = "";
	enum outcome decision = outcome_classify(v, ans->result);
	struct log_dns_record rec = {
	    .ts_ms = loop_clock_wall_ms(),
	    .client = client,
	    .agent = agent ? agent->name : "",
	    /* The name held a secret (dns_scan_name): not in the log. */
	    .name = !has_question			  ? SLICE_LIT("")
		    : v->reason == REASON_SECRET_DETECTED ? SLICE_LIT("[withheld]")
							  : slice_make(q->name.text, q->name.len),
	    .type = type,
	    .decision = outcome_name(decision),
	    .reason = reason_token(outcome_reason(v, ans->result)),
	    .rule = v->rule,
	    .rcode = ans->rcode >= 0 ? dns_rcode_name(ans->rcode) : "",
	    .transport = from->conn ? "tcp" : "udp",
	    .truncated = truncated,
	    .duration_ms = (loop_clock_us() - started_us) / 1000,
	    .id = worker_next_log_id(w),
	    .approval = hold_outcome_name((enum hold_outcome)from->hold_outcome),
	    .held_ms = from->held_ms,
	};

	sockaddr_format(&from->client_ip, from->client_port, client);
	if (has_question) {
		const char *name = dns_type_name(q->qtype);
		if (name)
			snprintf(type, sizeof(type), "%s", name);
		else
			snprintf(type, sizeof(type), "TYPE%u", (unsigned)q->qtype);
	}
	if (!rec.rcode)
		rec.rcode = "";
	for (unsigned i = 0; i < n_answered && i < LOG_JSON_DNS_ANSWERS_MAX; i++)
		rec.answers[rec.n_answers++] = answered[i];
	char *line = log_sink_line_begin(w->log, LOG_JSON_LINE_MAX);
	if (line) {
		size_t len = log_json_format_dns(&rec, line);
		if (w->events)
			event_ring_push(w->events, line, len);
		log_sink_line_end(w->log, len);
	} else
		metrics_count_log_dropped(&w->metrics);
	metrics_count_dns_query(&w->metrics, decision, q->qtype);
}

/* Answers q: the addresses of the family its type asks for, each with ttl. */
static void dns_reply(struct dns_server *s, const struct dns_from *from, const struct agent *agent,
		      const struct dns_query *q, const struct verdict *v,
		      const struct dns_answer *ans, uint64_t started_us)
{
	uint8_t buf[DNS_SERVER_REPLY_MAX];
	char texts[RESOLVER_MAX_ADDRS][IP_ADDR_TEXT_MAX];
	const char *answered[RESOLVER_MAX_ADDRS];
	unsigned n_answered = 0;
	struct dns_reply r;

	dns_reply_init(&r, buf, sizeof(buf), dns_limit(from, q), q, ans->rcode);
	for (unsigned i = 0; ans->rcode == DNS_RCODE_NOERROR && i < ans->n_addrs; i++) {
		const struct ip_addr *a = &ans->addrs[i];
		bool ok = false;
		if (q->qtype == DNS_TYPE_A && a->family == IP_V4)
			ok = dns_reply_add_a(&r, DNS_REPLY_QNAME, ans->ttl, a->bytes);
		else if (q->qtype == DNS_TYPE_AAAA && a->family == IP_V6)
			ok = dns_reply_add_aaaa(&r, DNS_REPLY_QNAME, ans->ttl, a->bytes);
		if (ok) {
			ip_addr_format(a, texts[n_answered]);
			answered[n_answered] = texts[n_answered];
			n_answered++;
		}
	}
	size_t len = dns_reply_finish(&r);
	if (r.truncated)
		n_answered = 0;
	dns_send(from, buf, len);
	dns_log(s, from, agent, q, true, v, ans, answered, n_answered, r.truncated, started_us);
}

/* The addresses dns.answer: proxy gives: dns.proxy_addresses, else the one the query came to. */
static unsigned dns_proxy_addrs(const struct config *cfg, const struct dns_from *from,
				const struct ip_addr **out)
{
	if (cfg->n_dns_proxy_addrs > 0) {
		*out = cfg->dns_proxy_addrs;
		return cfg->n_dns_proxy_addrs;
	}
	*out = &from->local;
	return 1;
}

/* The answer's addresses judged after the name: a refusal replaces the name's verdict; an
 * allowed answer keeps it (its rule, and report mode's would-be denial). */
static void dns_judge_answers(const struct config *cfg, const struct ip_addr *addrs, unsigned n,
			      struct verdict *v)
{
	struct verdict answers;
	dns_policy_judge_answers(&cfg->rules, addrs, n, &answers);
	if (!answers.allow)
		*v = answers;
}

static void dns_ask_free(struct dns_ask *a)
{
	struct dns_server *s = a->srv;
	struct dns_ask **head = a->held ? &s->held : &s->asks;

	if (a->prev)
		a->prev->next = a->next;
	else
		*head = a->next;
	if (a->next)
		a->next->prev = a->prev;
	if (a->held) {
		s->n_held--;
		approval_store_leave(s->w->approvals, a->hold_id);
		if (a->hold_timer)
			event_free(a->hold_timer);
	} else
		s->w->pending_dns--;
	struct conn *c = a->conn;
	const struct dns_stream_ops *stream = a->stream;
	worker_release(s->w, a->snap);
	free(a);
	if (c)
		stream->ask_done(c, true); /* last: it may take the connection's next query */
}

static void dns_ask_from(const struct dns_ask *a, struct dns_from *from)
{
	*from = (struct dns_from){.conn = a->conn,
				  .stream = a->stream,
				  .sock = a->sock,
				  .peer = &a->peer,
				  .peer_len = a->peer_len,
				  .client_ip = a->client_ip,
				  .local = a->local,
				  .client_port = a->client_port,
				  .hold_outcome = a->hold_outcome,
				  .hold_by = a->hold_by,
				  .held_ms = a->held_ms};
}

/* A query handed to the resolver (or, held, to an operator): a copy of it, the configuration
 * it was judged under held. */
static struct dns_ask *dns_ask_new(struct dns_server *s, const struct dns_from *from,
				   const struct agent *agent, const struct verdict *v,
				   struct slice msg, uint64_t started_us, bool held)
{
	struct worker *w = s->w;
	struct dns_ask *a = calloc(1, sizeof(*a) + msg.len);

	if (!a)
		return NULL;
	a->srv = s;
	a->conn = from->conn;
	a->stream = from->stream;
	a->sock = from->sock;
	a->snap = worker_hold(w);
	a->agent = agent;
	if (from->peer) /* UDP: where to answer; over TCP the connection says */
		memcpy(&a->peer, from->peer, from->peer_len);
	a->peer_len = from->peer_len;
	a->client_ip = from->client_ip;
	a->client_port = from->client_port;
	a->local = from->local;
	a->started_us = started_us;
	a->verdict = *v;
	a->hold_outcome = from->hold_outcome;
	a->held_ms = from->held_ms;
	if (from->hold_by)
		snprintf(a->hold_by, sizeof(a->hold_by), "%s", from->hold_by);
	a->msg_len = msg.len;
	memcpy(a->msg, msg.ptr, msg.len);
	/* q's slices must point into the copy, which outlives this call. */
	dns_msg_parse(slice_make((const char *)a->msg, a->msg_len), &a->q);
	a->held = held;
	struct dns_ask **head = held ? &s->held : &s->asks;
	a->next = *head;
	if (*head)
		(*head)->prev = a;
	*head = a;
	if (held)
		s->n_held++;
	else
		w->pending_dns++;
	if (a->conn) {
		s->n_started++;
		a->stream->ask_started(a->conn, a);
	}
	return a;
}

/* After the resolver was asked: a query it could not even start is answered SERVFAIL. */
static void dns_ask_started(struct dns_ask *a)
{
	if (a->rq)
		return;
	struct dns_from from;
	struct dns_answer ans = {DNS_RCODE_SERVFAIL, REASON_DNS_ERROR, NULL, 0, 0};
	dns_ask_from(a, &from);
	dns_reply(a->srv, &from, a->agent, &a->q, &a->verdict, &ans, a->started_us);
	dns_ask_free(a);
}

static void dns_on_resolved(void *arg, enum reason status, const struct ip_addr *addrs,
			    unsigned n_addrs)
{
	struct dns_ask *a = arg;
	const struct config *cfg = a->snap->cfg;
	struct policy_scope scope = worker_scope(a->srv->w, cfg, a->agent);
	struct dns_from from;
	struct ip_addr cached[RESOLVER_MAX_ADDRS];
	unsigned ttl_s = 0;
	struct dns_answer ans = {.rcode = DNS_RCODE_NOERROR, .result = REASON_ALLOWED};

	a->rq = NULL;
	dns_ask_from(a, &from);
	metrics_observe_dns(&a->srv->w->metrics, loop_clock_us() - a->started_us);
	if (status == REASON_ALLOWED) {
		/* The entry just cached says how long the answer holds. */
		int n = resolver_cache_get_ttl(a->srv->w->resolver, a->q.name.text, cached,
					       RESOLVER_MAX_ADDRS, &ttl_s);
		if (n > 0) {
			addrs = cached;
			n_addrs = (unsigned)n;
		}
		dns_judge_answers(cfg, addrs, n_addrs, &a->verdict);
		ans.addrs = addrs;
		ans.n_addrs = n_addrs;
		ans.ttl = dns_policy_ttl(&scope, ttl_s);
		ans.rcode = dns_policy_rcode(&scope, &a->verdict);
	} else {
		/* c-ares says "not found" and "no such record" alike: NXDOMAIN would be cached by
		 * the client as a fact about the name, so an answer that cannot be had is
		 * SERVFAIL (RFC 2308 §7.1: not cached for long). */
		ans.rcode = DNS_RCODE_SERVFAIL;
		ans.result = status;
	}
	dns_reply(a->srv, &from, a->agent, &a->q, &a->verdict, &ans, a->started_us);
	dns_ask_free(a);
}

/* limits.max_pending_dns: past it, a query that needs the upstream is answered SERVFAIL. */
static bool dns_too_busy(struct dns_server *s, const struct dns_from *from,
			 const struct agent *agent, const struct dns_query *q,
			 const struct verdict *v, uint64_t started_us)
{
	const struct config *cfg = s->w->cfg;

	if (!cfg->max_pending_dns || s->w->pending_dns < cfg->max_pending_dns)
		return false;
	struct verdict busy = *v;
	struct dns_answer ans = {DNS_RCODE_SERVFAIL, REASON_DNS_BUSY, NULL, 0, 0};
	dns_reply(s, from, agent, q, &busy, &ans, started_us);
	return true;
}

/* The names an upstream answer leads to, judged: each CNAME's target (the steps of the chain,
 * and the records answering a CNAME question), each HTTPS or SVCB TargetName, each hint
 * address. False, with v set, at the first refusal. */
static bool dns_judge_records(const struct policy_scope *scope, const struct dns_response *resp,
			      const struct dns_chain *chain, struct verdict *v)
{
	for (unsigned i = 0; i < chain->n_steps; i++)
		if (!dns_policy_judge_alias(scope, "cname", chain->alias[i].text,
					    chain->alias[i].len, v))
			return false;
	for (unsigned i = 0; i < chain->n_final; i++) {
		const struct dns_rr *rr = &resp->rr[chain->final[i]];
		struct dns_name target;
		struct dns_svcb svcb;
		if (rr->type == DNS_TYPE_CNAME) {
			if (dns_answer_rdata_name(resp, rr, 0, &target) != 0 ||
			    !dns_policy_judge_alias(scope, "cname", target.text, target.len, v))
				return false;
			continue;
		}
		if (rr->type != DNS_TYPE_HTTPS && rr->type != DNS_TYPE_SVCB)
			continue;
		if (dns_svcb_parse(dns_rr_rdata(resp, rr), &svcb, NULL) != 0)
			continue; /* not sent on */
		/* The root is the owner itself (ServiceMode), judged already. */
		if (svcb.target.len > 0 &&
		    !dns_policy_judge_alias(scope, "target", svcb.target.text, svcb.target.len, v))
			return false;
		struct ip_addr hints[RESOLVER_MAX_ADDRS];
		unsigned n = 0;
		size_t pos = 0;
		for (;;) {
			bool more = dns_svcb_hint_next(&svcb, &pos, &hints[n]);
			n += more;
			if (n > 0 && (n == RESOLVER_MAX_ADDRS || !more)) {
				struct verdict judged;
				dns_policy_judge_answers(scope->rules, hints, n, &judged);
				if (!judged.allow) {
					*v = judged;
					return false;
				}
				n = 0;
			}
			if (!more)
				break;
		}
	}
	return true;
}

/* One record of an upstream answer as sluice sends it on: names uncompressed, ech stripped from
 * HTTPS and SVCB (a record whose mandatory keys name ech is left out: its owner said not to use
 * it without). Returns the RDATA's length, or -1 when the record is not sent on. */
static int dns_record_rdata(const struct dns_response *resp, const struct dns_rr *rr, uint8_t *out,
			    size_t cap)
{
	struct dns_svcb svcb;

	if (rr->type != DNS_TYPE_HTTPS && rr->type != DNS_TYPE_SVCB)
		return dns_answer_rdata(resp, rr, out, cap);
	if (dns_svcb_parse(dns_rr_rdata(resp, rr), &svcb, NULL) != 0 ||
	    dns_svcb_mandatory_lists(&svcb, DNS_SVCB_ECH))
		return -1;
	return dns_svcb_strip(&svcb, DNS_SVCB_KEY_BIT(DNS_SVCB_ECH), out, cap);
}

/* Answers with the chain and the records at its end, each TTL capped; the log lists the CNAME
 * targets and the final records' types. */
static void dns_reply_records(struct dns_ask *a, const struct dns_from *from,
			      const struct policy_scope *scope, const struct dns_response *resp,
			      const struct dns_chain *chain, const struct verdict *v)
{
	size_t limit = dns_limit(from, &a->q);
	uint8_t *buf = malloc(limit), rdata[DNS_REPLY_TCP_MAX];
	const char *answered[LOG_JSON_DNS_ANSWERS_MAX];
	unsigned n_answered = 0;
	struct dns_answer ans = {.rcode = resp->rcode, .result = REASON_ALLOWED};
	struct dns_reply r;

	if (!buf)
		return; /* dropped: the client asks again */
	dns_reply_init(&r, buf, limit, limit, &a->q, resp->rcode);
	struct slice owner = DNS_REPLY_QNAME;
	for (unsigned i = 0; i < chain->n_steps; i++) {
		const struct dns_rr *rr = &resp->rr[chain->step[i]];
		struct slice target = slice_make(chain->alias[i].text, chain->alias[i].len);
		dns_reply_add_cname(&r, owner, dns_policy_ttl(scope, rr->ttl), target);
		if (n_answered < LOG_JSON_DNS_ANSWERS_MAX)
			answered[n_answered++] = chain->alias[i].text;
		owner = target;
	}
	for (unsigned i = 0; i < chain->n_final; i++) {
		const struct dns_rr *rr = &resp->rr[chain->final[i]];
		int n = dns_record_rdata(resp, rr, rdata, sizeof(rdata));
		if (n < 0)
			continue;
		if (dns_reply_add_rdata(&r, owner, rr->type, dns_policy_ttl(scope, rr->ttl), rdata,
					(size_t)n) &&
		    n_answered < LOG_JSON_DNS_ANSWERS_MAX) {
			const char *type = dns_type_name(rr->type);
			answered[n_answered++] = type ? type : "other";
		}
	}
	size_t len = dns_reply_finish(&r);
	if (r.truncated)
		n_answered = 0;
	dns_send(from, buf, len);
	dns_log(a->srv, from, a->agent, &a->q, true, v, &ans, answered, n_answered, r.truncated,
		a->started_us);
	free(buf);
}

/* The upstream's response to a query of another type than A and AAAA: read strictly, its
 * chain followed and judged, then sent on. A response sluice cannot read, or one that is
 * neither an answer nor NXDOMAIN, is SERVFAIL. */
static void dns_on_message(void *arg, enum reason status, const uint8_t *msg, size_t len)
{
	struct dns_ask *a = arg;
	const struct config *cfg = a->snap->cfg;
	struct policy_scope scope = worker_scope(a->srv->w, cfg, a->agent);
	struct dns_from from;
	struct dns_response resp;
	struct dns_chain chain;
	struct verdict v = a->verdict;
	struct dns_answer ans = {.rcode = DNS_RCODE_SERVFAIL, .result = status};

	a->rq = NULL;
	dns_ask_from(a, &from);
	metrics_observe_dns(&a->srv->w->metrics, loop_clock_us() - a->started_us);
	if (status == REASON_ALLOWED) {
		ans.result = REASON_DNS_ERROR;
		if (dns_answer_parse(slice_make((const char *)msg, len), &resp, NULL) == 0 &&
		    resp.qtype == a->q.qtype && resp.qname.len == a->q.name.len &&
		    memcmp(resp.qname.text, a->q.name.text, resp.qname.len) == 0 &&
		    (resp.rcode == DNS_RCODE_NOERROR || resp.rcode == DNS_RCODE_NXDOMAIN) &&
		    dns_answer_chain(&resp, &a->q.name, a->q.qtype, &chain, NULL) == 0) {
			if (dns_judge_records(&scope, &resp, &chain, &v))
				dns_reply_records(a, &from, &scope, &resp, &chain, &v);
			else {
				ans.rcode = dns_policy_rcode(&scope, &v);
				ans.result = REASON_ALLOWED;
				dns_reply(a->srv, &from, a->agent, &a->q, &v, &ans, a->started_us);
			}
			dns_ask_free(a);
			return;
		}
	}
	dns_reply(a->srv, &from, a->agent, &a->q, &v, &ans, a->started_us);
	dns_ask_free(a);
}

/* Resolves through the worker's resolver (its cache first), then answers. */
static void dns_resolve(struct dns_server *s, const struct dns_from *from,
			const struct agent *agent, const struct dns_query *q,
			const struct verdict *v, struct slice msg, uint64_t started_us)
{
	struct worker *w = s->w;
	const struct config *cfg = w->cfg;
	struct policy_scope scope = worker_scope(s->w, cfg, agent);
	struct ip_addr addrs[RESOLVER_MAX_ADDRS];
	unsigned ttl_s = 0;
	int n =
	    resolver_cache_get_ttl(w->resolver, q->name.text, addrs, RESOLVER_MAX_ADDRS, &ttl_s);

	if (n >= 0) {
		struct verdict judged = *v;
		dns_judge_answers(cfg, addrs, (unsigned)n, &judged);
		struct dns_answer ans = {dns_policy_rcode(&scope, &judged), REASON_ALLOWED, addrs,
					 (unsigned)n, dns_policy_ttl(&scope, ttl_s)};
		dns_reply(s, from, agent, q, &judged, &ans, started_us);
		return;
	}
	if (dns_too_busy(s, from, agent, q, v, started_us))
		return;
	struct dns_ask *a = dns_ask_new(s, from, agent, v, msg, started_us, false);
	if (!a)
		return; /* dropped, as a lost datagram: the client asks again */
	a->rq = resolver_lookup(w->resolver, a->q.name.text, dns_on_resolved, a);
	dns_ask_started(a);
}

/* Asks the upstream for the question's own type and answers with what it said, judged. */
static void dns_forward(struct dns_server *s, const struct dns_from *from,
			const struct agent *agent, const struct dns_query *q,
			const struct verdict *v, struct slice msg, uint64_t started_us)
{
	struct worker *w = s->w;

	if (dns_too_busy(s, from, agent, q, v, started_us))
		return;
	struct dns_ask *a = dns_ask_new(s, from, agent, v, msg, started_us, false);
	if (!a)
		return;
	a->rq = resolver_query_type(w->resolver, a->q.name.text, a->q.qtype, dns_on_message, a);
	dns_ask_started(a);
}

/* scan: a secret in the name asked for (policy/scan): refused, or reported, as scan: says; the
 * log line shows "[withheld]" for the name (dns_log). */
static void dns_scan_name(struct worker *w, const struct policy_scope *scope,
			  const struct agent *agent, const struct dns_query *q, struct verdict *v)
{
	struct scan_finding f;

	if (!scan_host_name(snapshot_scan_set(w->snap, agent),
			    slice_make(q->name.text, q->name.len), &f))
		return;
	policy_verdict_set(v, f.action != SCAN_BLOCK, REASON_SECRET_DETECTED, "scan: %s in %s",
			   f.name, f.where);
	v->report = f.action != SCAN_BLOCK;
	if (!v->allow)
		policy_apply_mode(scope, v);
}

static void dns_on_query(struct dns_server *s, const struct dns_from *from, struct slice msg,
			 uint64_t started_us);

/* A held query's end (answered, timed out): judged again, as it came but knowing the outcome
 * and without charging dns.rate twice, then answered now or handed to the resolver. Over TCP
 * the connection takes its next query only once this one is answered. */
static void dns_resume(struct dns_ask *a, enum hold_outcome outcome)
{
	struct dns_server *s = a->srv;
	struct conn *c = a->conn;
	const struct dns_stream_ops *stream = a->stream;
	struct dns_from from;

	dns_ask_from(a, &from);
	from.hold_outcome = (uint8_t)outcome;
	from.held_ms = (loop_clock_us() - a->started_us) / 1000;
	if (c) {
		a->conn = NULL;
		stream->ask_done(c, false);
	}
	uint64_t started = s->n_started;
	dns_on_query(s, &from, slice_make((const char *)a->msg, a->msg_len), a->started_us);
	dns_ask_free(a);
	if (c && s->n_started == started)
		stream->ask_done(c, true); /* answered at once: the next query may be taken */
}

static void dns_on_hold_timeout(evutil_socket_t fd, short what, void *arg)
{
	loop_clock_enter();
	dns_resume(arg, HOLD_TIMEOUT);
	loop_clock_leave();
}

bool dns_server_ask_held(const struct dns_ask *a)
{
	return a->held;
}

void dns_server_on_approval(struct dns_server *s)
{
	struct dns_ask *next;

	if (!s)
		return;
	for (struct dns_ask *a = s->held; a; a = next) {
		next = a->next;
		switch (approval_store_answer_of(s->w->approvals, a->hold_id, a->hold_by,
						 sizeof(a->hold_by))) {
		case APPROVAL_WAITING:
			break;
		case APPROVAL_ONCE:
			dns_resume(a, HOLD_ONCE);
			break;
		case APPROVAL_AGENT:
		case APPROVAL_ALL:
			dns_resume(a, HOLD_APPROVED);
			break;
		case APPROVAL_DENY:
			dns_resume(a, HOLD_DENIED);
			break;
		}
	}
}

/* A UDP client asks again (same source, same bytes) while its query is held: the held one
 * answers both. */
static bool dns_held_already(const struct dns_server *s, const struct dns_from *from,
			     struct slice msg)
{
	if (from->conn)
		return false;
	for (const struct dns_ask *a = s->held; a; a = a->next)
		if (!a->conn && a->client_port == from->client_port &&
		    ip_addr_eq(&a->client_ip, &from->client_ip) && a->msg_len == msg.len &&
		    memcmp(a->msg, msg.ptr, msg.len) == 0)
			return true;
	return false;
}

/* Registers the query with the approval store and parks it; false when there is no room. */
static bool dns_hold_begin(struct dns_server *s, const struct dns_from *from,
			   const struct agent *agent, const struct dns_query *q,
			   const struct verdict *v, struct slice msg, uint64_t started_us)
{
	struct worker *w = s->w;
	const struct config *cfg = w->cfg;
	struct authority name;
	const char *detail;

	if (s->n_held >= DNS_HELD_MAX ||
	    authority_parse_host(slice_make(q->name.text, q->name.len), &name, &detail) != 0)
		return false;
	struct pending_request p = {
	    .kind = PENDING_DNS,
	    .agent = agent ? agent->name : "default",
	    .host = slice_make(name.name, name.name_len),
	    .method = SLICE_LIT(""),
	    .path = SLICE_LIT(""),
	    .reason = v->reason,
	    .rule = v->rule,
	    .timeout_ms = cfg->approvals.timeout_ms,
	};
	uint64_t id = approval_store_hold(w->approvals, w->index, &p, cfg->approvals.max_pending);
	if (!id)
		return false;
	struct dns_ask *a = dns_ask_new(s, from, agent, v, msg, started_us, true);
	if (a) {
		a->hold_id = id; /* from here on, freeing the ask leaves the entry */
		a->hold_timer = evtimer_new(w->base, dns_on_hold_timeout, a);
	}
	struct timeval tv = {cfg->approvals.timeout_ms / 1000,
			     (cfg->approvals.timeout_ms % 1000) * 1000};
	if (!a || !a->hold_timer || evtimer_add(a->hold_timer, &tv) != 0) {
		if (a) {
			a->conn = NULL; /* refused below, on this connection, as it is */
			if (from->conn)
				from->stream->ask_done(from->conn, false);
			dns_ask_free(a); /* leaves the entry */
		} else
			approval_store_leave(w->approvals, id);
		return false;
	}
	/* The connection takes no query while this one waits: its idle timer must not end it
	 * before the operator's time is up. */
	if (from->conn)
		conn_set_timeout(from->conn, cfg->approvals.timeout_ms + 1000, REASON_CLIENT_IDLE);
	return true;
}

/* A refusal the agent asks about (mode ask, ask patterns): the query is held for an operator's
 * answer the first time through (true: it waits; dns_resume judges it again); the second
 * time, the answer becomes the verdict (false: go on with it). Without an admin listener
 * nobody could answer: the refusal stands. */
static bool dns_hold(struct dns_server *s, struct dns_from *from, const struct agent *agent,
		     const struct dns_query *q, struct verdict *v, struct slice msg,
		     uint64_t started_us)
{
	const struct config *cfg = s->w->cfg;

	switch ((enum hold_outcome)from->hold_outcome) {
	case HOLD_NONE:
		if (!s->w->approvals)
			return false;
		if (dns_held_already(s, from, msg) ||
		    dns_hold_begin(s, from, agent, q, v, msg, started_us))
			return true;
		from->hold_outcome = HOLD_BUSY; /* for the log line, as a request's */
						/* fall through - no room to hold it */
	case HOLD_BUSY:
		policy_verdict_set(v, false, REASON_APPROVAL_BUSY,
				   "approvals.max_pending: %u requests wait",
				   cfg->approvals.max_pending);
		return false;
	case HOLD_ONCE:
	case HOLD_APPROVED: /* and yet not allowed now: it expired at once, or a reload came */
		policy_verdict_set(v, true, REASON_ALLOWED, "approved once: %.*s by %s",
				   (int)q->name.len, q->name.text, from->hold_by);
		return false;
	case HOLD_DENIED:
		policy_verdict_set(v, false, REASON_APPROVAL_DENIED, "approvals: denied by %s",
				   from->hold_by);
		return false;
	case HOLD_TIMEOUT:
		policy_verdict_set(v, false, REASON_APPROVAL_TIMEOUT,
				   "approvals.timeout: no answer in %ums",
				   cfg->approvals.timeout_ms);
		return false;
	}
	return false;
}

/* One query, as it came: judged in the order docs/dns.md gives, answered or handed to the
 * resolver. */
static void dns_on_query(struct dns_server *s, const struct dns_from *from, struct slice msg,
			 uint64_t started_us)
{
	struct worker *w = s->w;
	const struct config *cfg = w->cfg;
	struct dns_query q;
	struct verdict v = {.allow = true, .reason = REASON_ALLOWED};
	struct dns_answer ans = {.rcode = DNS_RCODE_NOERROR, .result = REASON_ALLOWED};
	const struct agent *agent = NULL;
	enum dns_msg_status st = dns_msg_parse(msg, &q);

	if (st == DNS_MSG_DROP)
		return;
	if (st == DNS_MSG_HEADER_ONLY || q.rcode != DNS_RCODE_NOERROR) {
		uint8_t buf[DNS_SERVER_REPLY_MAX];
		size_t len;
		v.allow = false;
		v.reason = REASON_DNS_MALFORMED;
		snprintf(v.rule, sizeof(v.rule), "%s", dns_msg_error_name(q.error));
		ans.rcode = q.rcode;
		if (st == DNS_MSG_HEADER_ONLY) {
			len = dns_reply_error(buf, sizeof(buf), msg, q.rcode);
		} else {
			struct dns_reply r;
			dns_reply_init(&r, buf, sizeof(buf), dns_limit(from, &q), &q, q.rcode);
			len = dns_reply_finish(&r);
		}
		if (len > 0)
			dns_send(from, buf, len);
		dns_log(s, from, NULL, &q, st == DNS_MSG_QUESTION, &v, &ans, NULL, 0, false,
			started_us);
		return;
	}
	/* DNS carries no credentials: an agent is known by its source address alone. */
	enum policy_identity id = policy_identify(cfg->agents, cfg->n_agents, cfg->default_agent,
						  &from->client_ip, NULL, &agent);
	if (id != POLICY_IDENTITY_OK) {
		policy_identity_refusal(id, id == POLICY_IDENTITY_NEED_AUTH ? agent : NULL, &v);
		agent = NULL;
		ans.rcode = DNS_RCODE_REFUSED;
		dns_reply(s, from, NULL, &q, &v, &ans, started_us);
		return;
	}
	struct policy_scope scope = worker_scope(s->w, cfg, agent);
	struct policy_dns dns;
	policy_scope_dns(&scope, &dns);
	struct token_bucket *tb = from->hold_outcome ? NULL : dns_rate_for(s, agent, &dns);
	if (tb && !dns_policy_check_rate(&scope, tb, loop_clock_ms(), &v)) {
		ans.rcode = dns_policy_rcode(&scope, &v);
		dns_reply(s, from, agent, &q, &v, &ans, started_us);
		return;
	}
	const struct route *route = dns_policy_decide_name(&scope, cfg->routes, cfg->n_routes,
							   q.name.text, q.name.len, q.qtype, &v);
	struct dns_from held = *from; /* dns_hold notes what became of it */
	from = &held;
	if (!v.allow && v.ask && dns_hold(s, &held, agent, &q, &v, msg, started_us))
		return;
	if (v.allow && !v.report)
		dns_scan_name(w, &scope, agent, &q, &v);
	ans.rcode = dns_policy_rcode(&scope, &v);
	if (ans.rcode != DNS_RCODE_NOERROR) {
		dns_reply(s, from, agent, &q, &v, &ans, started_us);
		return;
	}
	bool proxied = route || dns.answer == AGENT_DNS_PROXY;
	if (q.qtype != DNS_TYPE_A && q.qtype != DNS_TYPE_AAAA) {
		/* A name that points at sluice has no CNAME, HTTPS or SVCB record: clients then
		 * ask for A and AAAA, and no record can give them a hint or an ECH key that leads
		 * around sluice. The types of dns.types are the upstream's to answer. */
		if (proxied && dns_policy_type_always(q.qtype))
			dns_reply(s, from, agent, &q, &v, &ans, started_us);
		else
			dns_forward(s, from, agent, &q, &v, msg, started_us);
		return;
	}
	/* A route's host, and every name for an agent answered by proxy, points at sluice: no
	 * query leaves for it. */
	if (proxied) {
		ans.n_addrs = dns_proxy_addrs(cfg, from, &ans.addrs);
		ans.ttl = dns_policy_ttl(&scope, dns.max_ttl);
		dns_reply(s, from, agent, &q, &v, &ans, started_us);
		return;
	}
	dns_resolve(s, from, agent, &q, &v, msg, started_us);
}

void dns_server_query_stream(struct dns_server *s, struct conn *c, const struct dns_stream_ops *ops,
			     struct slice msg)
{
	struct dns_from from = {
	    .conn = c, .stream = ops, .client_ip = c->client_ip, .client_port = c->client_port};
	uint16_t port;
	/* What dns.answer: proxy answers with when no proxy_addresses are set. */
	if (conn_local_addr(c, &from.local, &port) != 0)
		memset(&from.local, 0, sizeof(from.local));
	dns_on_query(s, &from, msg, loop_clock_us());
}

void dns_server_cancel(struct dns_ask *a)
{
	if (!a->held && a->rq)
		resolver_cancel(a->rq);
	a->conn = NULL; /* closing: nothing to tell it */
	dns_ask_free(a);
}

static void dns_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct dns_sock *sock = arg;
	struct dns_server *srv = sock->srv;
	unsigned n = udp_batch_recv(srv->udp, fd);

	/* One batch per wakeup: a socket still readable after it calls again. */
	loop_clock_enter();
	srv->batching = sock;
	for (unsigned i = 0; i < n; i++) {
		struct udp_datagram d;
		udp_batch_get(srv->udp, i, &d);
		struct dns_from from = {.sock = sock, .peer = d.peer, .peer_len = d.peer_len};
		if (sockaddr_to_ip((const struct sockaddr *)d.peer, &from.client_ip,
				   &from.client_port) != 0)
			continue;
		from.local = sock->local;
		if (sock->wildcard)
			from.local = d.local;
		/* A datagram cut at our buffer is no query we would answer right: len 0. */
		dns_on_query(srv, &from, slice_make((const char *)d.data, d.len), loop_clock_us());
	}
	srv->batching = NULL;
	udp_batch_flush(srv->udp, fd);
	loop_clock_leave();
}

/* IP_PKTINFO / IPV6_PKTINFO tell a wildcard socket which address each query came to. */
static void dns_sock_want_pktinfo(int fd, int family)
{
	int one = 1;

	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
}

/* Puts a bound socket on the worker's loop; closes it on failure. */
static int dns_sock_start(struct dns_server *s, struct dns_sock *sock, const char *text)
{
	sock->ev = event_new(s->w->base, sock->fd, EV_READ | EV_PERSIST, dns_on_readable, sock);
	if (!sock->ev || event_add(sock->ev, NULL) != 0) {
		if (sock->ev)
			event_free(sock->ev);
		sock->ev = NULL;
		close(sock->fd);
		sock->fd = -1;
		return -1;
	}
	if (s->w->index == 0)
		fprintf(stderr, "sluice: listening on dns %s (udp)\n", text);
	return 0;
}

static int dns_sock_open(struct dns_server *s, struct dns_sock *sock,
			 const struct config_endpoint *at)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from_ip(&ss, &at->addr, at->port);
	char text[SOCKADDR_TEXT_MAX];
	int one = 1;

	sockaddr_format(&at->addr, at->port, text);
	sock->srv = s;
	sock->local = at->addr;
	sock->wildcard = ip_addr_is_unspecified(&at->addr);
	sock->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sock->fd < 0) {
		fprintf(stderr, "sluice: socket for dns %s: %s\n", text, strerror(errno));
		return -1;
	}
	setsockopt(sock->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(sock->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(sock->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	dns_sock_want_pktinfo(sock->fd, ss.ss_family);
	if (bind(sock->fd, (struct sockaddr *)&ss, len) != 0) {
		fprintf(stderr, "sluice: cannot listen on dns %s (udp): %s\n", text,
			strerror(errno));
		close(sock->fd);
		sock->fd = -1;
		return -1;
	}
	return dns_sock_start(s, sock, text);
}

/* A UDP socket bound elsewhere: the address it answers from is read back from it (dns_sock_open
 * has it from the config). Closes it on failure. */
static int dns_sock_adopt(struct dns_server *s, struct dns_sock *sock, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char text[SOCKADDR_TEXT_MAX];
	uint16_t port = 0;
	int flags;

	sock->srv = s;
	sock->fd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    sockaddr_to_ip((struct sockaddr *)&ss, &sock->local, &port) != 0 ||
	    (flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "sluice: cannot adopt dns socket fd %d: %s\n", fd, strerror(errno));
		close(fd);
		sock->fd = -1;
		return -1;
	}
	sock->wildcard = ip_addr_is_unspecified(&sock->local);
	dns_sock_want_pktinfo(fd, ss.ss_family);
	sockaddr_format(&sock->local, port, text);
	return dns_sock_start(s, sock, text);
}

struct dns_server *dns_server_new(struct worker *w)
{
	const struct config *cfg = w->cfg;
	struct dns_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->w = w;
	s->udp = udp_batch_new();
	if (!s->udp) {
		dns_server_free(s);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->n_listen_dns; i++) {
		if (dns_sock_open(s, &s->socks[i], &cfg->listen_dns[i]) != 0) {
			dns_server_free(s);
			return NULL;
		}
		s->n_socks++;
	}
	return s;
}

struct dns_server *dns_server_adopt(struct worker *w, const int *fds, unsigned n)
{
	struct dns_server *s = n <= CONFIG_MAX_LISTEN ? calloc(1, sizeof(*s)) : NULL;
	unsigned i = 0;

	if (!s)
		goto fail;
	s->w = w;
	s->udp = udp_batch_new();
	if (!s->udp) {
		dns_server_free(s);
		s = NULL;
		goto fail;
	}
	for (; i < n; i++) {
		if (dns_sock_adopt(s, &s->socks[i], fds[i]) != 0) {
			i++; /* dns_sock_adopt closed it */
			dns_server_free(s);
			goto fail;
		}
		s->n_socks++;
	}
	return s;
fail:
	for (; i < n; i++)
		close(fds[i]);
	return NULL;
}

void dns_server_stop(struct dns_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n_socks; i++)
		if (s->socks[i].ev)
			event_del(s->socks[i].ev);
}

void dns_server_free(struct dns_server *s)
{
	if (!s)
		return;
	while (s->asks || s->held) {
		struct dns_ask *a = s->asks ? s->asks : s->held;
		if (!a->held && a->rq)
			resolver_cancel(a->rq);
		if (a->conn)
			a->stream->ask_done(a->conn, false);
		a->conn = NULL;
		dns_ask_free(a);
	}
	for (unsigned i = 0; i < s->n_socks; i++) {
		if (s->socks[i].ev)
			event_free(s->socks[i].ev);
		if (s->socks[i].fd >= 0)
			close(s->socks[i].fd);
	}
	udp_batch_free(s->udp);
	free(s);
}
