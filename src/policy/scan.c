#include "policy/scan.h"

#include <hs/hs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "parse/http1_body.h"
#include "policy/credentials.h"
#include "policy/domain_set.h"
#include "policy/scan_decode.h"

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

void scan_config_defaults(struct scan_config *sc)
{
	*sc = (struct scan_config){
	    .enabled = true,
	    .builtin = true,
	    .action = SCAN_BLOCK,
	    .max_body = SCAN_MAX_BODY_DEFAULT,
	    .decode_depth = SCAN_DECODE_DEPTH_DEFAULT,
	};
	scan_hostnames_defaults(&sc->hostnames);
}

void scan_config_fini(struct scan_config *sc)
{
	scan_hostnames_fini(&sc->hostnames);
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
	hs_database_t *name_db;	  /* the same, caseless, for host names */
	uint64_t max_body;
	unsigned decode_depth;
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
	hs_free_database(set->name_db);
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
		/* A JWT stays a report whatever scan.action says; the rest take it. */
		e->action = scan_builtins[i].action == SCAN_REPORT ? SCAN_REPORT : sc->action;
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
	/* A redaction needs every header a pattern matches in, not only the first. */
	for (unsigned i = 0; ok && i < set->n; i++) {
		flags[i] = set->entries[i].action == SCAN_REDACT ? 0 : HS_FLAG_SINGLEMATCH;
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
	if (ok && set->n > 0) {
		hs_compile_error_t *ce = NULL;
		unsigned *caseless = calloc(set->n, sizeof(*caseless));
		if (!caseless) {
			snprintf(err, err_size, "scan: out of memory");
			ok = false;
		}
		for (unsigned i = 0; ok && i < set->n; i++)
			caseless[i] = HS_FLAG_SINGLEMATCH | HS_FLAG_CASELESS;
		if (ok && hs_compile_multi((const char *const *)exprs, caseless, ids, set->n,
					   HS_MODE_BLOCK, NULL, &set->name_db, &ce) != HS_SUCCESS) {
			snprintf(err, err_size, "scan: the patterns do not compile for names: %s",
				 ce ? ce->message : "unknown error");
			hs_free_compile_error(ce);
			ok = false;
		}
		free(caseless);
	}
	if (set) {
		set->max_body = sc->max_body;
		set->decode_depth = sc->decode_depth;
	}
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

/* The head's parts, each followed by its decoded forms, joined by newlines (no pattern matches
 * across one) so that one scan reads them all; grown to the largest head seen, which
 * limits.max_request_head bounds (decoding adds at most a third per layer, and a layer is
 * decoded only from runs long enough to hold a secret). */
struct scan_segment {
	uint32_t start; /* offset into the joined text */
	int32_t part;	/* -1 path, -2 query, -3 host, else the header's index */
	uint8_t via[SCAN_DECODE_DEPTH_MAX];
	uint8_t n_via;
};

static _Thread_local char *scan_joined;
static _Thread_local size_t scan_joined_cap;
static _Thread_local struct scan_segment *scan_segments;
static _Thread_local unsigned scan_segments_cap;

void scan_thread_fini(void)
{
	hs_free_scratch(scan_scratch);
	scan_scratch = NULL;
	scan_scratch_for = 0;
	free(scan_joined);
	scan_joined = NULL;
	scan_joined_cap = 0;
	free(scan_segments);
	scan_segments = NULL;
	scan_segments_cap = 0;
}

/* hs_alloc_scratch grows the space for databases it has not seen; once per set. */
static bool scan_scratch_ready(const struct scan_set *set)
{
	if (scan_scratch_for == set->serial)
		return true;
	if (hs_alloc_scratch(set->db, &scan_scratch) != HS_SUCCESS ||
	    hs_alloc_scratch(set->name_db, &scan_scratch) != HS_SUCCESS ||
	    (set->stream_db && hs_alloc_scratch(set->stream_db, &scan_scratch) != HS_SUCCESS))
		return false;
	scan_scratch_for = set->serial;
	return true;
}

/* " (percent, base64)" after where, for a finding in a decoded layer. */
static void scan_name_via(char *where, size_t size, const uint8_t *via, unsigned n_via)
{
	size_t len = strlen(where);
	for (unsigned i = 0; i < n_via && len + 2 < size; i++) {
		int n = snprintf(where + len, size - len, "%s%s", i == 0 ? " (" : ", ",
				 scan_decoding_name((enum scan_decoding)via[i]));
		len = n < 0 || (size_t)n >= size - len ? size - 1 : len + (size_t)n;
	}
	if (n_via > 0 && len + 1 < size)
		memcpy(where + len, ")", 2);
}

struct scan_join {
	size_t len;
	unsigned n;
	bool oom;
};

static bool join_reserve(struct scan_join *j, size_t more)
{
	if (j->len + more <= scan_joined_cap)
		return true;
	size_t cap = scan_joined_cap ? scan_joined_cap : 4096;
	while (cap < j->len + more)
		cap *= 2;
	char *bigger = realloc(scan_joined, cap);
	if (!bigger)
		return !(j->oom = true);
	scan_joined = bigger;
	scan_joined_cap = cap;
	return true;
}

static struct scan_segment *join_segment(struct scan_join *j, int part, const uint8_t *via,
					 unsigned n_via)
{
	if (j->n == scan_segments_cap) {
		unsigned cap = scan_segments_cap ? scan_segments_cap * 2 : 64;
		struct scan_segment *bigger = realloc(scan_segments, cap * sizeof(*bigger));
		if (!bigger) {
			j->oom = true;
			return NULL;
		}
		scan_segments = bigger;
		scan_segments_cap = cap;
	}
	struct scan_segment *seg = &scan_segments[j->n++];
	seg->start = (uint32_t)j->len;
	seg->part = part;
	seg->n_via = (uint8_t)n_via;
	memcpy(seg->via, via, n_via);
	return seg;
}

/* The decoded forms of joined[from, from + n), each a segment of its own, to depth layers. */
static void join_decoded(struct scan_join *j, size_t from, size_t n, int part, uint8_t *via,
			 unsigned n_via, unsigned depth)
{
	struct scan_decoder d;

	if (n_via >= depth)
		return;
	for (unsigned k = 0; k < SCAN_DECODINGS && !j->oom; k++) {
		bool path = part == -1 && n_via == 0;
		if (!scan_decode_worth((enum scan_decoding)k, scan_joined + from, n, path))
			continue;
		via[n_via] = (uint8_t)k;
		size_t start = j->len, done = 0, out;
		unsigned seg = j->n;
		if (!join_segment(j, part, via, n_via + 1))
			return;
		if (path)
			scan_decoder_init_path(&d, (enum scan_decoding)k);
		else
			scan_decoder_init(&d, (enum scan_decoding)k);
		while (done < n && join_reserve(j, 2 * SCAN_DECODE_SLACK + (n - done))) {
			done +=
			    scan_decoder_feed(&d, scan_joined + from + done, n - done,
					      scan_joined + j->len, scan_joined_cap - j->len, &out);
			j->len += out;
		}
		if (!join_reserve(j, SCAN_DECODE_SLACK))
			return;
		j->len += scan_decoder_end(&d, scan_joined + j->len, scan_joined_cap - j->len);
		if (j->len == start) {
			j->n = seg; /* nothing long enough to decode */
			continue;
		}
		join_decoded(j, start, j->len - start, part, via, n_via + 1, depth);
	}
}

/* Appends s as part `part`, then its decoded forms. */
static void join_part(struct scan_join *j, struct slice s, int part, unsigned depth)
{
	uint8_t via[SCAN_DECODE_DEPTH_MAX];

	if (!join_reserve(j, s.len + 1) || !join_segment(j, part, via, 0))
		return;
	size_t from = j->len;
	memcpy(scan_joined + j->len, s.ptr, s.len);
	j->len += s.len;
	scan_joined[j->len++] = '\n';
	join_decoded(j, from, s.len, part, via, 0, depth);
}

struct scan_ctx {
	const struct scan_set *set;
	struct slice host;
	const struct http1_request *req;
	unsigned n_segments;
	bool *redact;
	struct scan_finding block, redacted, report;
	bool blocked, redacting, reported;
};

static void scan_name_segment(const struct scan_ctx *x, const struct scan_segment *seg, char *out,
			      size_t size)
{
	if (seg->part == -1) {
		snprintf(out, size, "path");
	} else if (seg->part == -2) {
		snprintf(out, size, "query");
	} else if (seg->part == -3) {
		snprintf(out, size, "host");
	} else {
		struct slice name = x->req->headers[seg->part].name;
		size_t n = name.len < size - 40 ? name.len : size - 40;
		memcpy(out, "header ", 7);
		for (size_t i = 0; i < n; i++)
			out[7 + i] = slice_ascii_lower(name.ptr[i]);
		out[7 + n] = '\0';
	}
	scan_name_via(out, size, seg->via, seg->n_via);
}

/* The segment a match ending at `to` is in. */
static const struct scan_segment *scan_segment_at(const struct scan_ctx *x, unsigned long long to)
{
	unsigned lo = 0, hi = x->n_segments;
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;
		if (scan_segments[mid].start < to)
			lo = mid;
		else
			hi = mid;
	}
	return &scan_segments[lo];
}

static void scan_note(struct scan_finding *f, bool *have, const struct scan_entry *e,
		      enum scan_action action, const struct scan_ctx *x,
		      const struct scan_segment *seg)
{
	if (*have)
		return;
	*have = true;
	f->name = e->name;
	f->action = action;
	scan_name_segment(x, seg, f->where, sizeof(f->where));
}

static int scan_on_match(unsigned id, unsigned long long from, unsigned long long to,
			 unsigned flags, void *arg)
{
	struct scan_ctx *x = arg;
	const struct scan_entry *e = &x->set->entries[id];

	if (e->hosts && domain_set_match(e->hosts, x->host))
		return 0;
	const struct scan_segment *seg = scan_segment_at(x, to);
	switch (e->action) {
	case SCAN_REPORT:
		scan_note(&x->report, &x->reported, e, SCAN_REPORT, x, seg);
		return 0;
	case SCAN_REDACT:
		if (seg->part >= 0 && x->redact) {
			x->redact[seg->part] = true;
			scan_note(&x->redacted, &x->redacting, e, SCAN_REDACT, x, seg);
			return 0;
		}
		/* fall through: nothing to cut out of a target */
	case SCAN_BLOCK:
		break;
	}
	scan_note(&x->block, &x->blocked, e, SCAN_BLOCK, x, seg);
	return 1; /* a block ends the scan */
}

bool scan_request_head(const struct scan_set *set, struct slice host,
		       const struct http1_request *req, struct slice target, struct scan_finding *f,
		       bool *redact)
{
	struct scan_ctx x = {.set = set, .host = host, .req = req, .redact = redact};
	struct scan_join j = {0};

	if (!set || !set->db)
		return false;
	if (redact)
		memset(redact, 0, req->n_headers * sizeof(*redact));
	const char *q = memchr(target.ptr, '?', target.len);
	struct slice path = slice_make(target.ptr, q ? (size_t)(q - target.ptr) : target.len);
	struct slice query = q ? slice_make(q + 1, target.len - path.len - 1) : SLICE_LIT("");
	join_part(&j, path, -1, set->decode_depth);
	join_part(&j, query, -2, set->decode_depth);
	for (unsigned i = 0; i < req->n_headers && !j.oom; i++) {
		const struct http1_header *h = &req->headers[i];
		/* What does not leave sluice (Proxy-Authorization, the hop-by-hop fields). */
		if (http1_header_is_hop_by_hop(h->name, req->connection_tokens,
					       req->n_connection_tokens))
			continue;
		join_part(&j, h->value, (int)i, set->decode_depth);
	}
	/* Out of memory: the request is refused rather than sent unscanned. */
	if (j.oom || !scan_scratch_ready(set)) {
		*f = (struct scan_finding){"scan (out of memory)", SCAN_BLOCK, "head"};
		return true;
	}
	x.n_segments = j.n;
	hs_scan(set->db, scan_joined, (unsigned)j.len, 0, scan_scratch, scan_on_match, &x);
	if (x.blocked)
		*f = x.block;
	else if (x.redacting)
		*f = x.redacted;
	else if (x.reported)
		*f = x.report;
	return x.blocked || x.redacting || x.reported;
}

bool scan_host_name(const struct scan_set *set, struct slice name, struct scan_finding *f)
{
	struct scan_ctx x = {.set = set, .host = name};
	struct scan_join j = {0};
	uint8_t via[SCAN_DECODE_DEPTH_MAX];

	if (!set || !set->name_db || name.len == 0)
		return false;
	if (!join_reserve(&j, name.len + 1) || !join_segment(&j, -3, via, 0) ||
	    !scan_scratch_ready(set)) {
		*f = (struct scan_finding){"scan (out of memory)", SCAN_BLOCK, "host"};
		return true;
	}
	memcpy(scan_joined, name.ptr, name.len);
	x.n_segments = j.n;
	hs_scan(set->name_db, scan_joined, (unsigned)name.len, 0, scan_scratch, scan_on_match, &x);
	if (x.blocked)
		*f = x.block;
	else if (x.reported)
		*f = x.report;
	return x.blocked || x.reported;
}

struct slice scan_redacted_value(const struct scan_finding *f, char *out, size_t out_size)
{
	int n = snprintf(out, out_size, "[redacted:%s]", f->name);
	return slice_make(out, n < 0 ? 0 : (size_t)n < out_size ? (size_t)n : out_size - 1);
}

/* ---- bodies ------------------------------------------------------------------------------- */

/* One layer of a body: the bytes as sent (the root), or one decoding of its parent's. Its
 * children are made when their decoder first has output. */
struct scan_node {
	hs_stream_t *hs;
	uint8_t via[SCAN_DECODE_DEPTH_MAX];
	uint8_t n_via;
	struct scan_decoder dec[SCAN_DECODINGS]; /* unused at the last layer */
	struct scan_node *child[SCAN_DECODINGS];
};

struct scan_stream {
	const struct scan_set *set;
	struct slice host;
	struct scan_node *root;
	bool chunked;
	struct http1_chunked dec;
	uint64_t scanned;	    /* data bytes fed so far */
	struct scan_finding block;  /* a block found */
	struct scan_finding report; /* the first report found */
	bool blocked, reported, ended;
};

struct scan_node_ctx {
	struct scan_stream *st;
	const struct scan_node *node;
};

static int scan_stream_on_match(unsigned id, unsigned long long from, unsigned long long to,
				unsigned flags, void *arg)
{
	struct scan_node_ctx *x = arg;
	struct scan_stream *st = x->st;
	const struct scan_entry *e = &st->set->entries[id];

	if (e->hosts && domain_set_match(e->hosts, st->host))
		return 0;
	bool block = e->action != SCAN_REPORT; /* nothing to cut out of a body: redact blocks */
	struct scan_finding *f = block ? &st->block : &st->report;
	bool *have = block ? &st->blocked : &st->reported;
	if (*have)
		return 0;
	*have = true;
	f->name = e->name;
	f->action = block ? SCAN_BLOCK : SCAN_REPORT;
	snprintf(f->where, sizeof(f->where), "body");
	scan_name_via(f->where, sizeof(f->where), x->node->via, x->node->n_via);
	return st->blocked;
}

static struct scan_node *scan_node_new(const struct scan_set *set, const uint8_t *via,
				       unsigned n_via)
{
	struct scan_node *node = calloc(1, sizeof(*node));
	if (!node)
		return NULL;
	if (hs_open_stream(set->stream_db, 0, &node->hs) != HS_SUCCESS) {
		free(node);
		return NULL;
	}
	memcpy(node->via, via, n_via);
	node->n_via = (uint8_t)n_via;
	for (unsigned k = 0; k < SCAN_DECODINGS; k++)
		scan_decoder_init(&node->dec[k], (enum scan_decoding)k);
	return node;
}

static void scan_node_free(struct scan_node *node)
{
	if (!node)
		return;
	for (unsigned k = 0; k < SCAN_DECODINGS; k++)
		scan_node_free(node->child[k]);
	if (node->hs)
		hs_close_stream(node->hs, NULL, NULL, NULL);
	free(node);
}

static void scan_stream_oom(struct scan_stream *st)
{
	st->blocked = true;
	st->block = (struct scan_finding){"scan (out of memory)", SCAN_BLOCK, "body"};
}

/* node's child for decoding k, made on first use. */
static struct scan_node *scan_node_child(struct scan_stream *st, struct scan_node *node, unsigned k)
{
	if (!node->child[k]) {
		uint8_t via[SCAN_DECODE_DEPTH_MAX];
		memcpy(via, node->via, node->n_via);
		via[node->n_via] = (uint8_t)k;
		if (!(node->child[k] = scan_node_new(st->set, via, node->n_via + 1u)))
			scan_stream_oom(st);
	}
	return node->child[k];
}

/* Each layer decodes into its own buffer: a child is fed while its parent's output is live. */
static _Thread_local char scan_layer_out[SCAN_DECODE_DEPTH_MAX][8192];

static void scan_node_feed(struct scan_stream *st, struct scan_node *node, const char *p, size_t n)
{
	struct scan_node_ctx x = {st, node};

	hs_scan_stream(node->hs, p, (unsigned)n, 0, scan_scratch, scan_stream_on_match, &x);
	if (node->n_via >= st->set->decode_depth)
		return;
	char *out = scan_layer_out[node->n_via];
	for (unsigned k = 0; k < SCAN_DECODINGS && !st->blocked; k++) {
		for (size_t done = 0, got; done < n && !st->blocked;) {
			done += scan_decoder_feed(&node->dec[k], p + done, n - done, out,
						  sizeof(scan_layer_out[0]), &got);
			struct scan_node *child = got ? scan_node_child(st, node, k) : NULL;
			if (child)
				scan_node_feed(st, child, out, got);
		}
	}
}

/* The body has ended: each layer's last run, then what is anchored at the end (\b, $). */
static void scan_node_end(struct scan_stream *st, struct scan_node *node)
{
	struct scan_node_ctx x = {st, node};

	for (unsigned k = 0; k < SCAN_DECODINGS && node->n_via < st->set->decode_depth; k++) {
		char *out = scan_layer_out[node->n_via];
		size_t got = scan_decoder_end(&node->dec[k], out, sizeof(scan_layer_out[0]));
		struct scan_node *child = got ? scan_node_child(st, node, k) : node->child[k];
		if (child && got)
			scan_node_feed(st, child, out, got);
		if (child && !st->blocked)
			scan_node_end(st, child);
	}
	if (!st->blocked) {
		hs_close_stream(node->hs, scan_scratch, scan_stream_on_match, &x);
		node->hs = NULL;
	}
}

struct scan_stream *scan_stream_open(const struct scan_set *set, struct slice host, bool chunked)
{
	static const uint8_t none[SCAN_DECODE_DEPTH_MAX];

	if (!set || !set->stream_db || set->max_body == 0 || !scan_scratch_ready(set))
		return NULL;
	struct scan_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->set = set;
	st->host = host;
	st->chunked = chunked;
	http1_chunked_init(&st->dec);
	if (!(st->root = scan_node_new(set, none, 0))) {
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
	scan_node_feed(st, st->root, p, n);
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
	if (last && !st->blocked && !st->ended) {
		/* The end: what is anchored there is decided now. */
		scan_node_end(st, st->root);
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
	scan_node_free(st->root);
	free(st);
}
