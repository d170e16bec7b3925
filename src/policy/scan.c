#include "policy/scan.h"

#include <hs/hs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "policy/credentials.h"
#include "parse/http1_body.h"
#include "policy/domain_set.h"

/* A secret shorter than this is not looked for: it would turn up in benign text by chance. */
#define SCAN_SECRET_MIN 8

/* Formats whose shape is distinctive enough to block on sight (each anchored on a prefix the
 * issuer puts there on purpose, so that scanners find them), with the hosts they are meant for.
 * A JWT is everyday traffic toward an API that issued it, so it is only reported. */
const struct scan_builtin scan_builtins[] = {
    {"aws-access-key", "\\b(AKIA|ASIA)[0-9A-Z]{16}\\b", "amazonaws.com,*.amazonaws.com",
     SCAN_BLOCK},
    {"github-token", "\\bgh[pousr]_[A-Za-z0-9]{36}\\b",
     "github.com,*.github.com,*.githubusercontent.com", SCAN_BLOCK},
    {"github-fine-grained-token", "\\bgithub_pat_[A-Za-z0-9_]{82}\\b",
     "github.com,*.github.com,*.githubusercontent.com", SCAN_BLOCK},
    {"gitlab-token", "\\bglpat-[A-Za-z0-9_-]{20}\\b", "gitlab.com,*.gitlab.com", SCAN_BLOCK},
    {"slack-token", "\\bxox[abposr]-[0-9]{6,}-[A-Za-z0-9-]{6,}", "slack.com,*.slack.com",
     SCAN_BLOCK},
    {"stripe-secret-key", "\\b(sk|rk)_live_[A-Za-z0-9]{24,}\\b", "stripe.com,*.stripe.com",
     SCAN_BLOCK},
    {"openai-key", "\\bsk-([a-z]+-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}",
     "openai.com,*.openai.com", SCAN_BLOCK},
    {"anthropic-key", "\\bsk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{80,}",
     "anthropic.com,*.anthropic.com", SCAN_BLOCK},
    {"google-api-key", "\\bAIza[0-9A-Za-z_-]{35}(\\b|$)",
     "googleapis.com,*.googleapis.com,*.google.com", SCAN_BLOCK},
    {"huggingface-token", "\\bhf_[A-Za-z0-9]{34}\\b", "huggingface.co,*.huggingface.co",
     SCAN_BLOCK},
    {"npm-token", "\\bnpm_[A-Za-z0-9]{36}\\b", "npmjs.org,*.npmjs.org", SCAN_BLOCK},
    {"private-key", "-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----", "", SCAN_BLOCK},
    {"jwt", "\\beyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}", "", SCAN_REPORT},
};
const unsigned scan_builtins_count = sizeof(scan_builtins) / sizeof(scan_builtins[0]);

void scan_config_fini(struct scan_config *sc)
{
	for (unsigned i = 0; i < sc->n_rules; i++)
		domain_set_free(sc->rules[i].hosts);
	free(sc->rules);
	sc->rules = NULL;
	sc->n_rules = 0;
}

struct scan_entry {
	char name[SCAN_NAME_MAX + 16];
	enum scan_action action;
	const struct domain_set *hosts; /* where it may go; NULL: nowhere */
	struct domain_set *own_hosts;	/* hosts, when the set made it */
};

struct scan_set {
	hs_database_t *db;
	hs_database_t *stream_db; /* the same patterns in stream mode, for bodies; NULL: none */
	uint64_t max_body;
	/* Tells sets apart for the scratch space (a new set may get a freed one's address). */
	unsigned long serial;
	struct scan_entry *entries;
	unsigned n;
};

void scan_set_free(struct scan_set *set)
{
	if (!set)
		return;
	hs_free_database(set->db);
	hs_free_database(set->stream_db);
	for (unsigned i = 0; i < set->n; i++)
		domain_set_free(set->entries[i].own_hosts);
	free(set->entries);
	free(set);
}

bool scan_regex_ok(const char *regex, char *err, size_t err_size)
{
	hs_database_t *db = NULL;
	hs_compile_error_t *ce = NULL;

	if (hs_compile(regex, HS_FLAG_SINGLEMATCH, HS_MODE_BLOCK, NULL, &db, &ce) != HS_SUCCESS) {
		snprintf(err, err_size, "%s", ce ? ce->message : "does not compile");
		hs_free_compile_error(ce);
		return false;
	}
	hs_free_database(db);
	return true;
}

/* A comma-separated list of domain patterns into a new set (NULL for ""). */
static struct domain_set *scan_hosts_of(const char *list, bool *oom)
{
	const char *detail;
	if (!list[0])
		return NULL;
	struct domain_set *set = domain_set_new();
	if (!set) {
		*oom = true;
		return NULL;
	}
	for (const char *p = list; *p;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		domain_set_add(set, slice_make(p, n), &detail);
		p += n + (comma ? 1 : 0);
	}
	return set;
}

/* The secret as an expression matching exactly its bytes. */
static char *scan_literal(const char *s, size_t len)
{
	char *out = malloc(len * 4 + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[i * 4] = '\\';
		out[i * 4 + 1] = 'x';
		out[i * 4 + 2] = hex_digit_lower(ch >> 4);
		out[i * 4 + 3] = hex_digit_lower(ch & 15);
	}
	out[len * 4] = '\0';
	return out;
}

struct scan_set *scan_set_new(const struct scan_config *sc, const struct credential_list *creds,
			      char *err, size_t err_size)
{
	unsigned max = scan_builtins_count + sc->n_rules + (creds ? creds->n : 0);
	struct scan_set *set = calloc(1, sizeof(*set));
	char **exprs = calloc(max ? max : 1, sizeof(*exprs));
	unsigned *flags = calloc(max ? max : 1, sizeof(*flags));
	unsigned *ids = calloc(max ? max : 1, sizeof(*ids));
	bool *owned = calloc(max ? max : 1, sizeof(*owned));
	bool oom = !set || !exprs || !flags || !ids || !owned;

	if (!oom)
		oom = !(set->entries = calloc(max ? max : 1, sizeof(*set->entries)));
	for (unsigned i = 0; !oom && sc->builtin && i < scan_builtins_count; i++) {
		struct scan_entry *e = &set->entries[set->n];
		snprintf(e->name, sizeof(e->name), "%s", scan_builtins[i].name);
		e->action = sc->action == SCAN_REPORT ? SCAN_REPORT : scan_builtins[i].action;
		e->own_hosts = scan_hosts_of(scan_builtins[i].hosts, &oom);
		e->hosts = e->own_hosts;
		exprs[set->n] = (char *)scan_builtins[i].regex;
		set->n++;
	}
	for (unsigned i = 0; !oom && i < sc->n_rules; i++) {
		const struct scan_rule *r = &sc->rules[i];
		struct scan_entry *e = &set->entries[set->n];
		snprintf(e->name, sizeof(e->name), "%s", r->name);
		e->action = r->has_action ? r->action : sc->action;
		e->hosts = r->hosts;
		exprs[set->n] = (char *)r->regex;
		set->n++;
	}
	/* Its own secrets: whatever the rules say, they go to their credential's hosts alone. */
	for (unsigned i = 0; !oom && creds && i < creds->n; i++) {
		const struct credential *c = &creds->items[i];
		if (!c->ready || c->secret_len < SCAN_SECRET_MIN)
			continue;
		struct scan_entry *e = &set->entries[set->n];
		snprintf(e->name, sizeof(e->name), "credential %s", c->name);
		e->action = SCAN_BLOCK;
		e->hosts = c->hosts;
		if (!(exprs[set->n] = scan_literal(c->secret, c->secret_len))) {
			oom = true;
			break;
		}
		owned[set->n] = true;
		set->n++;
	}
	static atomic_ulong serials;
	bool ok = !oom;
	if (set)
		set->serial = atomic_fetch_add(&serials, 1) + 1;
	if (oom)
		snprintf(err, err_size, "scan: out of memory");
	for (unsigned i = 0; ok && i < set->n; i++) {
		flags[i] = HS_FLAG_SINGLEMATCH;
		ids[i] = i;
	}
	if (ok && set->n > 0) {
		hs_compile_error_t *ce = NULL;
		if (hs_compile_multi((const char *const *)exprs, flags, ids, set->n, HS_MODE_BLOCK,
				     NULL, &set->db, &ce) != HS_SUCCESS) {
			int at = ce ? ce->expression : -1;
			snprintf(err, err_size, "scan: pattern %s does not compile: %s",
				 at >= 0 && (unsigned)at < set->n ? set->entries[at].name : "?",
				 ce ? ce->message : "unknown error");
			hs_free_compile_error(ce);
			ok = false;
		}
	}
	if (set)
		set->max_body = sc->max_body;
	if (ok && set->n > 0 && sc->max_body > 0) {
		hs_compile_error_t *ce = NULL;
		if (hs_compile_multi((const char *const *)exprs, flags, ids, set->n, HS_MODE_STREAM,
				     NULL, &set->stream_db, &ce) != HS_SUCCESS) {
			snprintf(err, err_size, "scan: the patterns do not compile for bodies: %s",
				 ce ? ce->message : "unknown error");
			hs_free_compile_error(ce);
			ok = false;
		}
	}
	for (unsigned i = 0; exprs && i < max; i++)
		if (owned && owned[i]) {
			explicit_bzero(exprs[i], strlen(exprs[i]));
			free(exprs[i]);
		}
	free(exprs);
	free(flags);
	free(ids);
	free(owned);
	if (!ok) {
		scan_set_free(set);
		return NULL;
	}
	return set;
}

/* ---- scanning ----------------------------------------------------------------------------- */

static _Thread_local hs_scratch_t *scan_scratch;
static _Thread_local unsigned long scan_scratch_for; /* the serial it was last sized for */
/* The joined head, grown to the largest head seen (limits.max_request_head bounds it). */
static _Thread_local char *scan_joined;
static _Thread_local size_t scan_joined_cap;

void scan_thread_fini(void)
{
	hs_free_scratch(scan_scratch);
	scan_scratch = NULL;
	scan_scratch_for = 0;
	free(scan_joined);
	scan_joined = NULL;
	scan_joined_cap = 0;
}

/* The head's parts, joined by newlines (no pattern matches across one) so that one scan reads
 * them all: where each begins, and what it is called. */
#define SCAN_PARTS_MAX (HTTP1_MAX_HEADERS_CAP + 4)

struct scan_ctx {
	const struct scan_set *set;
	struct slice host;
	const struct http1_request *req;
	size_t starts[SCAN_PARTS_MAX]; /* offsets into the joined text */
	int part[SCAN_PARTS_MAX];      /* -1 path, -2 query, else the header's index */
	unsigned n;
	struct scan_finding *f;
	bool found, blocked;
};

static void scan_name_part(const struct scan_ctx *x, unsigned k, char *out, size_t size)
{
	int p = x->part[k];
	if (p == -1) {
		snprintf(out, size, "path");
		return;
	}
	if (p == -2) {
		snprintf(out, size, "query");
		return;
	}
	struct slice name = x->req->headers[p].name;
	size_t n = name.len < size - 8 ? name.len : size - 8;
	memcpy(out, "header ", 7);
	for (size_t i = 0; i < n; i++)
		out[7 + i] = slice_ascii_lower(name.ptr[i]);
	out[7 + n] = '\0';
}

static int scan_on_match(unsigned id, unsigned long long from, unsigned long long to,
			 unsigned flags, void *arg)
{
	struct scan_ctx *x = arg;
	const struct scan_entry *e = &x->set->entries[id];

	if (e->hosts && domain_set_match(e->hosts, x->host))
		return 0;
	if (x->found && (x->blocked || e->action != SCAN_BLOCK))
		return 0;
	/* The part the match ends in. */
	unsigned k = 0;
	while (k + 1 < x->n && x->starts[k + 1] < to)
		k++;
	x->found = true;
	x->blocked = e->action == SCAN_BLOCK;
	x->f->name = e->name;
	x->f->action = e->action;
	scan_name_part(x, k, x->f->where, sizeof(x->f->where));
	return x->blocked; /* a block ends the scan */
}

/* Appends s (and, when it has %XX, its decoded form) as part `part`; buf has room. */
static void scan_join(struct scan_ctx *x, char *buf, size_t *len, struct slice s, int part,
		      bool decode)
{
	x->starts[x->n] = *len;
	x->part[x->n++] = part;
	memcpy(buf + *len, s.ptr, s.len);
	*len += s.len;
	buf[(*len)++] = '\n';
	if (decode && memchr(s.ptr, '%', s.len)) {
		for (size_t i = 0; i < s.len; i++) {
			int hi, lo;
			if (s.ptr[i] == '%' && i + 2 < s.len &&
			    (hi = hex_value(s.ptr[i + 1])) >= 0 &&
			    (lo = hex_value(s.ptr[i + 2])) >= 0) {
				buf[(*len)++] = (char)(hi * 16 + lo);
				i += 2;
			} else {
				buf[(*len)++] = s.ptr[i];
			}
		}
		buf[(*len)++] = '\n';
	}
}

/* hs_alloc_scratch grows the space for databases it has not seen; once per set. */
static bool scan_scratch_ready(const struct scan_set *set)
{
	if (scan_scratch_for == set->serial)
		return true;
	if (hs_alloc_scratch(set->db, &scan_scratch) != HS_SUCCESS ||
	    (set->stream_db && hs_alloc_scratch(set->stream_db, &scan_scratch) != HS_SUCCESS))
		return false;
	scan_scratch_for = set->serial;
	return true;
}

bool scan_request_head(const struct scan_set *set, struct slice host,
		       const struct http1_request *req, struct slice target, struct scan_finding *f)
{
	struct scan_ctx x = {.set = set, .host = host, .req = req, .f = f};
	size_t len = 0, need = 2 * target.len + 4;

	if (!set || !set->db)
		return false;
	for (unsigned i = 0; i < req->n_headers; i++)
		need += req->headers[i].value.len + 1;
	if (need > scan_joined_cap) {
		char *bigger = realloc(scan_joined, need);
		/* Out of memory: the request is refused rather than sent unscanned. */
		if (!bigger) {
			*f = (struct scan_finding){"scan (out of memory)", SCAN_BLOCK, "head"};
			return true;
		}
		scan_joined = bigger;
		scan_joined_cap = need;
	}
	char *joined = scan_joined;
	if (!scan_scratch_ready(set))
		return false;
	const char *q = memchr(target.ptr, '?', target.len);
	struct slice path = slice_make(target.ptr, q ? (size_t)(q - target.ptr) : target.len);
	struct slice query = q ? slice_make(q + 1, target.len - path.len - 1) : SLICE_LIT("");
	scan_join(&x, joined, &len, path, -1, true);
	scan_join(&x, joined, &len, query, -2, true);
	for (unsigned i = 0; i < req->n_headers && x.n < SCAN_PARTS_MAX; i++) {
		const struct http1_header *h = &req->headers[i];
		/* What does not leave sluice (Proxy-Authorization, the hop-by-hop fields). */
		if (http1_header_is_hop_by_hop(h->name, req->connection_tokens,
					       req->n_connection_tokens))
			continue;
		scan_join(&x, joined, &len, h->value, (int)i, false);
	}
	hs_scan(set->db, joined, (unsigned)len, 0, scan_scratch, scan_on_match, &x);
	return x.found;
}

/* ---- bodies ------------------------------------------------------------------------------- */

struct scan_stream {
	const struct scan_set *set;
	struct slice host;
	hs_stream_t *hs;
	bool chunked;
	struct http1_chunked dec;
	uint64_t scanned;	    /* data bytes fed so far */
	struct scan_finding block;  /* a block found */
	struct scan_finding report; /* the first report found */
	bool blocked, reported, ended;
};

static int scan_stream_on_match(unsigned id, unsigned long long from, unsigned long long to,
				unsigned flags, void *arg)
{
	struct scan_stream *st = arg;
	const struct scan_entry *e = &st->set->entries[id];

	if (e->hosts && domain_set_match(e->hosts, st->host))
		return 0;
	struct scan_finding *f = e->action == SCAN_BLOCK ? &st->block : &st->report;
	bool *have = e->action == SCAN_BLOCK ? &st->blocked : &st->reported;
	if (*have)
		return 0;
	*have = true;
	f->name = e->name;
	f->action = e->action;
	snprintf(f->where, sizeof(f->where), "body");
	return st->blocked;
}

struct scan_stream *scan_stream_open(const struct scan_set *set, struct slice host, bool chunked)
{
	if (!set || !set->stream_db || set->max_body == 0 || !scan_scratch_ready(set))
		return NULL;
	struct scan_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->set = set;
	st->host = host;
	st->chunked = chunked;
	http1_chunked_init(&st->dec);
	if (hs_open_stream(set->stream_db, 0, &st->hs) != HS_SUCCESS) {
		free(st);
		return NULL;
	}
	return st;
}

/* Data bytes to the stream, within max_body. */
static void scan_stream_data(struct scan_stream *st, const char *p, size_t n)
{
	uint64_t room = st->set->max_body - st->scanned;
	if (n > room)
		n = (size_t)room;
	if (n == 0)
		return;
	st->scanned += n;
	hs_scan_stream(st->hs, p, (unsigned)n, 0, scan_scratch, scan_stream_on_match, st);
}

bool scan_stream_feed(struct scan_stream *st, const char *p, size_t n, bool last,
		      struct scan_finding *f)
{
	static _Thread_local char data[16384];

	if (!st || st->ended || !scan_scratch_ready(st->set))
		return false;
	while (n > 0 && !st->blocked && st->scanned < st->set->max_body) {
		if (!st->chunked) {
			scan_stream_data(st, p, n);
			break;
		}
		/* Chunk framing off: a secret split by a chunk boundary is whole again. */
		size_t take = n < sizeof(data) ? n : sizeof(data), got = 0;
		bool done = false;
		ssize_t used = http1_chunked_decode(&st->dec, p, take, data, &got, &done);
		if (used <= 0)
			break; /* malformed framing: http_flow refuses the body itself */
		scan_stream_data(st, data, got);
		p += used;
		n -= (size_t)used;
		if (done)
			break;
	}
	if (last && !st->blocked) {
		/* The end: what is anchored there (\b, $) is decided now. */
		hs_close_stream(st->hs, scan_scratch, scan_stream_on_match, st);
		st->hs = NULL;
		st->ended = true;
	}
	if (st->blocked)
		*f = st->block;
	return st->blocked;
}

bool scan_stream_report(const struct scan_stream *st, struct scan_finding *f)
{
	if (!st || !st->reported)
		return false;
	*f = st->report;
	return true;
}

void scan_stream_free(struct scan_stream *st)
{
	if (!st)
		return;
	if (st->hs)
		hs_close_stream(st->hs, NULL, NULL, NULL);
	free(st);
}
