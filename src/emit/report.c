#include "emit/report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/hash.h"
#include "parse/authority.h"

/* Each agent keeps an open-addressing table (linear probing, load <= 1/2) of distinct
 * destinations with a request count; host text lives in an arena of fixed blocks. Everything
 * else — collapsing names into wildcards, sorting — happens once, in report_format. */

enum entry_kind {
	ENTRY_NAME,	 /* suggested: a host name */
	ENTRY_IP,	 /* suggested, but written commented out: an IP literal */
	ENTRY_BUILTIN,	 /* refused by the built-in block: summarised */
	ENTRY_DENY_RULE, /* would be denied by an explicit deny rule: summarised */
	/* A route's line: noted, never suggested (routes[].agents governs a route, not allow).
	 * Keyed by host alone (port 0): a route answers on every port. */
	ENTRY_ROUTE,		/* the agent used the route */
	ENTRY_ROUTE_NOT_LISTED, /* refused: the agent is not in the route's agents */
	ENTRY_ROUTE_CONNECT,	/* refused: CONNECT to a route host */
};

static bool entry_is_route(int kind)
{
	return kind == ENTRY_ROUTE || kind == ENTRY_ROUTE_NOT_LISTED || kind == ENTRY_ROUTE_CONNECT;
}

struct entry {
	const char *host; /* NUL-terminated, in the arena; "" when unparsed; NULL = empty slot */
	uint64_t count;
	uint32_t hash;
	uint16_t host_len;
	uint16_t port; /* suggestions: pinned port or 0 (suggestion_port); summaries: the port */
	uint8_t kind;
	/* Of count, the lines a methods or max_request_body rule would still refuse (saturating);
	 * kept per entry because an entry may turn out to be a route's once the log is read. */
	uint32_t n_other;
};

struct agent_acc {
	char name[REPORT_AGENT_NAME_MAX + 1];
	size_t name_len;
	uint32_t hash;
	struct entry *slots;
	size_t cap, used;
	uint64_t n_denied, n_failed, n_allow_skipped, n_truncated;
	uint64_t n_unsuggestable; /* reported for a reason no allow entry answers */
};

struct report {
	bool only_report;
	char filter[REPORT_AGENT_NAME_MAX + 1];
	size_t filter_len;
	struct agent_acc **agents; /* open addressing by name; NULL = empty */
	size_t cap, n_agents;
	size_t n_entries;
	uint64_t n_lines, n_agents_truncated;
	struct agent_acc routes; /* known route hosts: ENTRY_ROUTE entries, port 0 */
	struct arena hosts;
};

/* ---- small helpers --------------------------------------------------------------------- */

static bool slice_is(struct slice s, const char *lit)
{
	return slice_eq(s, slice_from_cstr(lit));
}

static bool slice_has_prefix(struct slice s, const char *lit)
{
	size_t n = strlen(lit);
	return s.len >= n && memcmp(s.ptr, lit, n) == 0;
}

/* Agent names as the config accepts them: [A-Za-z0-9._-]{1,64}. Anything else would not be
 * safe to write into YAML unquoted, nor match an agent. */
static bool agent_name_valid(struct slice name)
{
	if (name.len == 0 || name.len > REPORT_AGENT_NAME_MAX)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		char c = name.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* ---- new / free -------------------------------------------------------------------------- */

struct report *report_new(const struct report_options *opt)
{
	if (opt->agent.len > REPORT_AGENT_NAME_MAX)
		return NULL;
	struct report *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->only_report = opt->only_report;
	if (opt->agent.len)
		memcpy(r->filter, opt->agent.ptr, opt->agent.len);
	r->filter_len = opt->agent.len;
	return r;
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->cap; i++) {
		if (r->agents[i] != NULL)
			free(r->agents[i]->slots);
		free(r->agents[i]);
	}
	free(r->agents);
	free(r->routes.slots);
	arena_fini(&r->hosts);
	free(r);
}

size_t report_agent_count(const struct report *r)
{
	return r->n_agents;
}

/* ---- classification ---------------------------------------------------------------------- */

enum use_kind {
	USE_SUGGEST,
	USE_SUGGEST_OTHER_RULE, /* suggested; a methods or max_request_body rule also objected */
	USE_BUILTIN,
	USE_DENY_RULE,
	USE_DENIED,
	USE_UNSUGGESTABLE,
	USE_FAILED,
	USE_SKIP_ALLOW,
	USE_ROUTE,
	USE_ROUTE_NOT_LISTED,
	USE_ROUTE_CONNECT,
};

/* The built-in block (docs/security.md, "What sluice guarantees") and requests that
 * could not be parsed are never relaxed by any policy, so suggesting them would be a lie. */
static bool reason_is_builtin(struct slice reason)
{
	return slice_is(reason, "ip_non_global") || slice_is(reason, "ip_metadata") ||
	       slice_is(reason, "proxy_loop") || slice_has_prefix(reason, "bad_");
}

/* What a "report" line (a request report mode forwarded) asks of the allow list. */
static enum use_kind classify_report(struct slice reason)
{
	/* Deny beats allow (policy_decide): an allow entry would not make these pass. */
	if (slice_is(reason, "domain_denied") || slice_is(reason, "ip_denied"))
		return USE_DENY_RULE;
	if (slice_is(reason, "domain_not_allowed") || slice_is(reason, "port_not_allowed"))
		return USE_SUGGEST;
	if (slice_is(reason, "method_not_allowed") || slice_is(reason, "body_too_large"))
		return USE_SUGGEST_OTHER_RULE;
	return USE_UNSUGGESTABLE;
}

/* The line says itself that a route served or refused it (policy_decide_route,
 * src/policy/policy.c). No other rule text starts with "route: ". A methods or max_request_body
 * verdict on a route replaces the rule, so such a line is known only by its host
 * (route_host_known). */
static bool line_names_route(const struct log_line *line)
{
	struct slice reason = log_line_slice(&line->reason);
	return slice_is(reason, "route_not_allowed") || slice_is(reason, "route_needs_http") ||
	       slice_has_prefix(log_line_slice(&line->rule), "route: ");
}

/* route: the line is a route's (line_names_route, or its host is a known route host). A denial
 * other than the route's own stays what it is (the current policy refuses it on purpose). */
static enum use_kind classify(const struct report *r, const struct log_line *line, bool route)
{
	struct slice decision = log_line_slice(&line->decision);
	struct slice reason = log_line_slice(&line->reason);

	if (slice_is(reason, "route_not_allowed"))
		return USE_ROUTE_NOT_LISTED;
	if (slice_is(reason, "route_needs_http"))
		return USE_ROUTE_CONNECT;
	if (reason_is_builtin(reason))
		return USE_BUILTIN;
	if (route && !slice_is(decision, "deny"))
		return USE_ROUTE;
	if (slice_is(decision, "allow"))
		return r->only_report ? USE_SKIP_ALLOW : USE_SUGGEST;
	if (slice_is(decision, "report"))
		return classify_report(reason);
	if (slice_is(decision, "deny"))
		return USE_DENIED;
	return USE_FAILED;
}

/* Normalises the host into out (a name, or an IP's canonical text). Returns the entry kind for
 * a suggestion, or -1 when the host is neither. */
static int host_normalise(struct slice host, char out[AUTHORITY_NAME_MAX + 1], size_t *len)
{
	struct authority a;
	struct ip_addr ip;

	if (host.len == 0)
		return -1;
	if (authority_parse_ip_strict(host, &ip) == 0) {
		*len = ip_addr_format(&ip, out);
		return ENTRY_IP;
	}
	if (authority_parse_host(host, &a, NULL) != 0)
		return -1;
	if (a.kind != HOST_NAME) {
		*len = ip_addr_format(&a.ip, out);
		return ENTRY_IP;
	}
	memcpy(out, a.name, a.name_len + 1);
	*len = a.name_len;
	return ENTRY_NAME;
}

/* ---- tables -------------------------------------------------------------------------------- */

static struct agent_acc **agent_slot(const struct report *r, struct slice name, uint32_t hash)
{
	size_t mask = r->cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct agent_acc *a = r->agents[i];
		if (a == NULL ||
		    (a->hash == hash && slice_eq(slice_make(a->name, a->name_len), name)))
			return &r->agents[i];
	}
}

static int agents_grow(struct report *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16;
	struct agent_acc **old = r->agents;
	size_t old_cap = r->cap;

	r->agents = calloc(cap, sizeof(*r->agents));
	if (r->agents == NULL) {
		r->agents = old;
		return -1;
	}
	r->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i] != NULL)
			*agent_slot(r, slice_make(old[i]->name, old[i]->name_len), old[i]->hash) =
			    old[i];
	free(old);
	return 0;
}

/* Finds or creates the agent; NULL when out of memory or past REPORT_MAX_AGENTS. */
static struct agent_acc *agent_get(struct report *r, struct slice name, bool *capped)
{
	uint32_t hash = hash_mix(hash_fnv_bytes(HASH_FNV_BASIS, name.ptr, name.len));

	*capped = false;
	if (r->cap) {
		struct agent_acc *a = *agent_slot(r, name, hash);
		if (a != NULL)
			return a;
	}
	if (r->n_agents >= REPORT_MAX_AGENTS) {
		*capped = true;
		return NULL;
	}
	if ((r->n_agents + 1) * 2 > r->cap && agents_grow(r) != 0)
		return NULL;
	struct agent_acc *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	memcpy(a->name, name.ptr, name.len);
	a->name_len = name.len;
	a->hash = hash;
	*agent_slot(r, name, hash) = a;
	r->n_agents++;
	return a;
}

static uint32_t entry_hash(int kind, const char *host, size_t len, unsigned port)
{
	unsigned char k[3] = {(unsigned char)kind, (unsigned char)(port >> 8), (unsigned char)port};
	return hash_mix(hash_fnv_bytes(hash_fnv_bytes(HASH_FNV_BASIS, k, sizeof(k)), host, len));
}

static struct entry *entry_slot(struct entry *slots, size_t cap, int kind, const char *host,
				size_t len, unsigned port, uint32_t hash)
{
	size_t mask = cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct entry *e = &slots[i];
		if (e->host == NULL || (e->hash == hash && e->kind == kind && e->port == port &&
					e->host_len == len && memcmp(e->host, host, len) == 0))
			return e;
	}
}

static int entries_grow(struct agent_acc *a)
{
	size_t cap = a->cap ? a->cap * 2 : 16;
	struct entry *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < a->cap; i++) {
		const struct entry *e = &a->slots[i];
		if (e->host != NULL)
			*entry_slot(slots, cap, e->kind, e->host, e->host_len, e->port, e->hash) =
			    *e;
	}
	free(a->slots);
	a->slots = slots;
	a->cap = cap;
	return 0;
}

static enum report_use entry_count(struct report *r, struct agent_acc *a, int kind,
				   const char *host, size_t len, unsigned port, bool other_rule)
{
	uint32_t hash = entry_hash(kind, host, len, port);
	struct entry *e = a->cap ? entry_slot(a->slots, a->cap, kind, host, len, port, hash) : NULL;

	if (e == NULL || e->host == NULL) {
		if (a->used >= REPORT_MAX_HOSTS || r->n_entries >= REPORT_MAX_ENTRIES_TOTAL) {
			a->n_truncated++;
			return REPORT_TRUNCATED;
		}
		if ((a->used + 1) * 2 > a->cap && entries_grow(a) != 0)
			return REPORT_NO_MEMORY;
		const char *text = arena_copy(&r->hosts, host, len);
		if (text == NULL)
			return REPORT_NO_MEMORY;
		e = entry_slot(a->slots, a->cap, kind, host, len, port, hash);
		*e = (struct entry){text, 0, hash, (uint16_t)len, (uint16_t)port, (uint8_t)kind, 0};
		a->used++;
		r->n_entries++;
	}
	e->count++;
	if (other_rule && e->n_other < UINT32_MAX)
		e->n_other++;
	return kind == ENTRY_NAME || kind == ENTRY_IP ? REPORT_SUGGESTED : REPORT_SUMMARISED;
}

/* ---- route hosts ---------------------------------------------------------------------------- */

static bool route_host_known(const struct report *r, const char *host, size_t len)
{
	const struct agent_acc *a = &r->routes;
	if (a->cap == 0 || len == 0)
		return false;
	uint32_t hash = entry_hash(ENTRY_ROUTE, host, len, 0);
	return entry_slot(a->slots, a->cap, ENTRY_ROUTE, host, len, 0, hash)->host != NULL;
}

/* Returns 0 when the host is known (now or before), 1 past REPORT_MAX_ROUTE_HOSTS, -1 when out of
 * memory. */
static int route_host_learn(struct report *r, const char *host, size_t len)
{
	struct agent_acc *a = &r->routes;

	if (route_host_known(r, host, len))
		return 0;
	if (a->used >= REPORT_MAX_ROUTE_HOSTS)
		return 1;
	if ((a->used + 1) * 2 > a->cap && entries_grow(a) != 0)
		return -1;
	const char *text = arena_copy(&r->hosts, host, len);
	if (text == NULL)
		return -1;
	uint32_t hash = entry_hash(ENTRY_ROUTE, host, len, 0);
	*entry_slot(a->slots, a->cap, ENTRY_ROUTE, host, len, 0, hash) =
	    (struct entry){text, 1, hash, (uint16_t)len, 0, ENTRY_ROUTE, 0};
	a->used++;
	return 0;
}

int report_add_route_host(struct report *r, struct slice host)
{
	char name[AUTHORITY_NAME_MAX + 1];
	size_t len;

	if (host_normalise(host, name, &len) != ENTRY_NAME)
		return -1;
	return route_host_learn(r, name, len) == 0 ? 0 : -1;
}

/* ---- report_add ------------------------------------------------------------------------- */

static void count_plain(struct agent_acc *a, enum use_kind use)
{
	if (use == USE_DENIED)
		a->n_denied++;
	else if (use == USE_SKIP_ALLOW)
		a->n_allow_skipped++;
	else if (use == USE_UNSUGGESTABLE)
		a->n_unsuggestable++;
	else
		a->n_failed++;
}

/* A suggestion is pinned to its port ("name:port") unless the port is 80 or 443, which every
 * agent may use by default; also when the line says the port itself was refused, since only a
 * pinned pattern allows a port that `ports` does not list (policy_decide). */
static unsigned suggestion_port(const struct log_line *line)
{
	if ((line->port == 80 || line->port == 443) &&
	    !slice_is(log_line_slice(&line->reason), "port_not_allowed"))
		return 0;
	return line->port;
}

static int use_entry_kind(enum use_kind use)
{
	switch (use) {
	case USE_BUILTIN:
		return ENTRY_BUILTIN;
	case USE_ROUTE:
		return ENTRY_ROUTE;
	case USE_ROUTE_NOT_LISTED:
		return ENTRY_ROUTE_NOT_LISTED;
	case USE_ROUTE_CONNECT:
		return ENTRY_ROUTE_CONNECT;
	default:
		return ENTRY_DENY_RULE;
	}
}

enum report_use report_add(struct report *r, const struct log_line *line)
{
	/* Lines written before agents existed come from the top-level rules, which are now the
	 * default agent's (issue 4 item 1). An empty name is a client no agent was found for. */
	struct slice name = line->has_agent ? log_line_slice(&line->agent) : SLICE_LIT("default");
	char host[AUTHORITY_NAME_MAX + 1] = "";
	size_t host_len = 0;
	int host_kind = host_normalise(log_line_slice(&line->host), host, &host_len);
	bool route = line_names_route(line);
	unsigned port = line->port;
	bool capped;

	/* A tunnel is logged when it opens and when it ends (issue 10): one request, one count. */
	if (slice_is(log_line_slice(&line->event), "open"))
		return REPORT_OPEN_LINE;
	/* Every line teaches which hosts are routes, whichever agent it belongs to. */
	if (route && host_kind == ENTRY_NAME && route_host_learn(r, host, host_len) < 0)
		return REPORT_NO_MEMORY;
	route = route || (host_kind == ENTRY_NAME && route_host_known(r, host, host_len));
	enum use_kind use = classify(r, line, route);
	bool suggest = use == USE_SUGGEST || use == USE_SUGGEST_OTHER_RULE;
	int kind = use_entry_kind(use);

	if (name.len == 0)
		return REPORT_FILTERED;
	if (!agent_name_valid(name))
		return REPORT_BAD_AGENT;
	if (r->filter_len && !slice_eq(name, slice_make(r->filter, r->filter_len)))
		return REPORT_FILTERED;
	if (suggest) {
		kind = host_kind;
		/* A DNS line names no port: its name is suggested alone. */
		if (kind < 0 || (port == 0 && !log_line_is_dns(line)))
			return REPORT_BAD_HOST;
		port = suggestion_port(line);
	} else if (host_kind < 0 || (entry_is_route(kind) && host_kind != ENTRY_NAME)) {
		/* Only validated text reaches the YAML comment; anything else shows as unparsed. */
		host_len = 0;
	}
	if (entry_is_route(kind))
		port = 0;
	struct agent_acc *a = agent_get(r, name, &capped);
	if (a == NULL) {
		r->n_agents_truncated += capped;
		return capped ? REPORT_TRUNCATED : REPORT_NO_MEMORY;
	}
	r->n_lines++;
	if (use == USE_DENIED || use == USE_UNSUGGESTABLE || use == USE_FAILED ||
	    use == USE_SKIP_ALLOW) {
		count_plain(a, use);
		return REPORT_COUNTED;
	}
	return entry_count(r, a, kind, host, host_len, port, use == USE_SUGGEST_OTHER_RULE);
}

/* ---- output ------------------------------------------------------------------------------- */

struct out {
	struct buf *b;
	size_t max;
	bool ok;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->ok && n > 0)
		o->ok = buf_append(o->b, s, n, o->max);
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
	char num[24];
	put(o, num, (size_t)snprintf(num, sizeof(num), "%" PRIu64, v));
}

static void put_requests(struct out *o, uint64_t n)
{
	put_u64(o, n);
	puts_(o, n == 1 ? " request" : " requests");
}

static void put_spaces(struct out *o, size_t n)
{
	static const char spaces[] = "                                                  ";
	while (n > 0) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
		put(o, spaces, k);
		n -= k;
	}
}

/* host:port as a person reads it (IPv6 in brackets, RFC 3986 §3.2.2). */
static void put_target(struct out *o, const struct entry *e)
{
	if (e->host_len == 0) {
		puts_(o, "an unparsed target");
		return;
	}
	bool v6 = memchr(e->host, ':', e->host_len) != NULL;
	puts_(o, v6 ? "[" : "");
	put(o, e->host, e->host_len);
	puts_(o, v6 ? "]:" : ":");
	put_u64(o, e->port);
}

/* Agent names are [A-Za-z0-9._-]; quoted when YAML 1.1 would read them as something other than
 * a string (a number, a boolean, null) or when they do not start with a letter. */
static void put_agent_name(struct out *o, const struct agent_acc *a)
{
	static const char *const words[] = {"y",     "n",  "yes", "no",	 "true",
					    "false", "on", "off", "null"};
	struct slice name = slice_make(a->name, a->name_len);
	char c = slice_ascii_lower(a->name[0]);
	bool quote = !(c >= 'a' && c <= 'z');

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && !quote; i++)
		quote = slice_eq_cstr_nocase(name, words[i]);
	puts_(o, quote ? "\"" : "");
	put(o, a->name, a->name_len);
	puts_(o, quote ? "\"" : "");
}

/* ---- suggestions: items and wildcards -------------------------------------------------- */

enum item_kind { ITEM_EXACT, ITEM_PINNED, ITEM_WILDCARD, ITEM_IP };

#define ITEM_MEMBERS_SHOWN 3
#define ITEM_TEXT_MAX (AUTHORITY_NAME_MAX + 16)

struct item {
	enum item_kind kind;
	const struct entry *e; /* not ITEM_WILDCARD */
	struct slice suffix;   /* ITEM_WILDCARD */
	uint64_t count;
	size_t n_members;
	const struct entry *members[ITEM_MEMBERS_SHOWN];
	char text[ITEM_TEXT_MAX]; /* the pattern as written */
	size_t text_len;
};

static void text_put(struct item *it, const char *p, size_t n)
{
	if (n > sizeof(it->text) - 1 - it->text_len)
		n = sizeof(it->text) - 1 - it->text_len;
	memcpy(it->text + it->text_len, p, n);
	it->text_len += n;
	it->text[it->text_len] = '\0';
}

/* The pattern as the config reads it: "name", "*.suffix", "name:port" (issue 4 item 2). Hosts
 * are validated names or canonical IP text, so no byte here needs quoting or escaping. */
static void item_set_text(struct item *it)
{
	const struct entry *e = it->e;
	char port[8];

	it->text_len = 0;
	if (it->kind == ITEM_WILDCARD) {
		text_put(it, "*.", 2);
		text_put(it, it->suffix.ptr, it->suffix.len);
		return;
	}
	bool v6 = memchr(e->host, ':', e->host_len) != NULL;
	if (e->port != 0 && v6)
		text_put(it, "[", 1);
	text_put(it, e->host, e->host_len);
	if (e->port == 0)
		return;
	text_put(it, v6 ? "]:" : ":", v6 ? 2 : 1);
	text_put(it, port, (size_t)snprintf(port, sizeof(port), "%u", (unsigned)e->port));
}

/* Active patterns first, then the commented-out IP literals; each by count, then text. */
static int item_cmp(const void *pa, const void *pb)
{
	const struct item *a = pa, *b = pb;
	if ((a->kind == ITEM_IP) != (b->kind == ITEM_IP))
		return a->kind == ITEM_IP ? 1 : -1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->text, b->text);
}

static int entry_cmp_count(const void *pa, const void *pb)
{
	const struct entry *a = *(const struct entry *const *)pa;
	const struct entry *b = *(const struct entry *const *)pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	int c = strcmp(a->host, b->host);
	return c ? c : (a->port > b->port) - (a->port < b->port);
}

static int slice_cmp(const void *pa, const void *pb)
{
	const struct slice *a = pa, *b = pb;
	int c = memcmp(a->ptr, b->ptr, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Platforms whose names below belong to different customers (the "private" part of the Public
 * Suffix List): no wildcard at or below them, since "*.github.io" would allow every user's site. */
static const char *const platform_suffixes[] = {
    "amazonaws.com",
    "cloudfront.net",
    "github.io",
    "githubusercontent.com",
    "gitlab.io",
    "herokuapp.com",
    "appspot.com",
    "azurewebsites.net",
    "core.windows.net",
    "cloudapp.net",
    "firebaseapp.com",
    "web.app",
    "pages.dev",
    "workers.dev",
    "r2.dev",
    "vercel.app",
    "netlify.app",
    "onrender.com",
    "fly.dev",
    "ngrok.io",
    "ngrok-free.app",
    "blogspot.com",
    "storage.googleapis.com",
    "trycloudflare.com",
    "readthedocs.io",
    "azureedge.net",
    "fastly.net",
    "sourceforge.io",
};

/* Second-level labels under which country code TLDs register names ("co.uk", "com.au"). */
static const char *const cc_second_levels[] = {"co",  "com", "net", "org", "gov", "edu", "ac",
					       "ne",  "or",  "go",  "gob", "mil", "nic", "ltd",
					       "plc", "sch", "nom", "gen", "biz", "info"};

/* Without the full Public Suffix List, a conservative guess at suffixes under which names are
 * registered by unrelated parties; a wildcard there would open far more than was seen. */
static bool suffix_is_public(struct slice s)
{
	for (size_t i = 0; i < sizeof(platform_suffixes) / sizeof(platform_suffixes[0]); i++) {
		struct slice p = slice_from_cstr(platform_suffixes[i]);
		if (slice_eq(s, p) || (s.len > p.len && s.ptr[s.len - p.len - 1] == '.' &&
				       memcmp(s.ptr + s.len - p.len, p.ptr, p.len) == 0))
			return true;
	}
	const char *dot = memchr(s.ptr, '.', s.len);
	if (dot == NULL || memchr(dot + 1, '.', s.len - (size_t)(dot + 1 - s.ptr)) != NULL)
		return false;
	if (s.len - (size_t)(dot + 1 - s.ptr) != 2)
		return false; /* the TLD is not a country code */
	struct slice second = slice_make(s.ptr, (size_t)(dot - s.ptr));
	for (size_t i = 0; i < sizeof(cc_second_levels) / sizeof(cc_second_levels[0]); i++)
		if (slice_eq(second, slice_from_cstr(cc_second_levels[i])))
			return true;
	return false;
}

/* Offsets of name's proper suffixes of 2..REPORT_SUFFIX_LABELS_MAX labels: start[k] for k labels.
 * Returns the largest k filled (below 2: none). */
static unsigned suffix_starts(const struct entry *e, size_t start[REPORT_SUFFIX_LABELS_MAX + 1])
{
	unsigned dots = 0, top = 0;
	for (size_t i = e->host_len; i > 0 && dots < REPORT_SUFFIX_LABELS_MAX; i--) {
		if (e->host[i - 1] != '.')
			continue;
		if (++dots >= 2) {
			start[dots] = i;
			top = dots;
		}
	}
	return top;
}

static struct slice suffix_at(const struct entry *e, size_t start)
{
	return slice_make(e->host + start, e->host_len - start);
}

/* The suffixes with at least REPORT_COLLAPSE_MIN distinct names below them, not public; sorted
 * by slice_cmp. Returns the count, or -1 when out of memory. */
static long collapse_candidates(const struct entry *const *names, size_t n, struct slice **out)
{
	size_t total = 0, start[REPORT_SUFFIX_LABELS_MAX + 1], k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned top = suffix_starts(names[i], start);
		total += top >= 2 ? top - 1 : 0;
	}
	struct slice *all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned top = suffix_starts(names[i], start);
		for (unsigned l = 2; l <= top; l++)
			all[k++] = suffix_at(names[i], start[l]);
	}
	qsort(all, total, sizeof(*all), slice_cmp);
	/* Names are distinct, so the length of a run of one suffix is the number of names below. */
	size_t m = 0;
	for (size_t i = 0, j; i < total; i = j) {
		for (j = i + 1; j < total && slice_cmp(&all[i], &all[j]) == 0; j++)
			;
		if (j - i >= REPORT_COLLAPSE_MIN && !suffix_is_public(all[i]))
			all[m++] = all[i];
	}
	*out = all;
	return (long)m;
}

/* Each name goes to its SHORTEST qualifying suffix: every name below it shares that suffix, so a
 * wildcard takes all of its names or none, and the wildcards never overlap. */
static long wildcard_of(const struct entry *e, const struct slice *cand, size_t n_cand)
{
	size_t start[REPORT_SUFFIX_LABELS_MAX + 1];
	unsigned top = suffix_starts(e, start);

	for (unsigned l = 2; l <= top; l++) {
		struct slice s = suffix_at(e, start[l]);
		const struct slice *hit = bsearch(&s, cand, n_cand, sizeof(*cand), slice_cmp);
		if (hit != NULL)
			return hit - cand;
	}
	return -1;
}

static void item_add_member(struct item *it, const struct entry *e)
{
	if (it->n_members < ITEM_MEMBERS_SHOWN)
		it->members[it->n_members] = e;
	it->n_members++;
	it->count += e->count;
}

/* Builds the items of one agent from its suggested entries (sorted by count). Returns the number
 * of items, or -1 when out of memory. */
static long build_items(const struct entry *const *sugg, size_t n, struct item *items)
{
	struct slice *cand = NULL;
	size_t n_items = 0;
	const struct entry **names = malloc((n ? n : 1) * sizeof(*names));
	if (names == NULL)
		return -1;
	size_t n_names = 0;
	for (size_t i = 0; i < n; i++)
		if (sugg[i]->kind == ENTRY_NAME && sugg[i]->port == 0)
			names[n_names++] = sugg[i];
	long n_cand = collapse_candidates(names, n_names, &cand);
	struct item **group = n_cand > 0 ? calloc((size_t)n_cand, sizeof(*group)) : NULL;
	if (n_cand < 0 || (n_cand > 0 && group == NULL)) {
		free(names);
		free(cand);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = sugg[i];
		long g = e->kind == ENTRY_NAME && e->port == 0 && n_cand > 0
			     ? wildcard_of(e, cand, (size_t)n_cand)
			     : -1;
		if (g >= 0 && group[g] == NULL) {
			group[g] = &items[n_items++];
			*group[g] = (struct item){.kind = ITEM_WILDCARD, .suffix = cand[g]};
		}
		if (g >= 0) {
			item_add_member(group[g], e);
			continue;
		}
		struct item *it = &items[n_items++];
		*it = (struct item){.e = e, .count = e->count};
		it->kind = e->kind == ENTRY_IP ? ITEM_IP : e->port ? ITEM_PINNED : ITEM_EXACT;
	}
	for (size_t i = 0; i < n_items; i++)
		item_set_text(&items[i]);
	qsort(items, n_items, sizeof(*items), item_cmp);
	free(group);
	free(cand);
	free(names);
	return (long)n_items;
}

static void put_item(struct out *o, const struct item *it, size_t width)
{
	bool quote = it->kind == ITEM_WILDCARD; /* YAML: a plain '*' starts an alias */
	size_t len = it->text_len + (quote ? 2 : 0) + (it->kind == ITEM_IP ? 2 : 0);

	puts_(o, it->kind == ITEM_IP ? "      # - " : "      - ");
	puts_(o, quote ? "\"" : "");
	put(o, it->text, it->text_len);
	puts_(o, quote ? "\"" : "");
	put_spaces(o, len < width ? width - len + 2 : 2);
	puts_(o, "# ");
	put_requests(o, it->count);
	if (it->kind == ITEM_IP)
		puts_(o, "; an IP address: re-think it as a name (or an ips rule)");
	if (it->kind != ITEM_WILDCARD) {
		puts_(o, "\n");
		return;
	}
	puts_(o, ": ");
	for (size_t i = 0; i < it->n_members && i < ITEM_MEMBERS_SHOWN; i++) {
		puts_(o, i ? ", " : "");
		put(o, it->members[i]->host, it->members[i]->host_len);
	}
	if (it->n_members > ITEM_MEMBERS_SHOWN) {
		puts_(o, " and ");
		put_u64(o, it->n_members - ITEM_MEMBERS_SHOWN);
		puts_(o, " more");
	}
	puts_(o, "\n");
}

/* A pattern pinned to a port allows that port whatever `ports` lists (policy_decide), so the
 * suggestion needs no `ports` line; adding one would open those ports to every allowed name. The
 * ports are named in a comment so that nobody adds them by reflex. */
static void put_ports(struct out *o, const struct item *items, size_t n)
{
	uint8_t seen[65536 / 8] = {0};
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (items[i].kind != ITEM_PINNED)
			continue;
		seen[items[i].e->port / 8] |= (uint8_t)(1u << (items[i].e->port % 8));
		any = true;
	}
	if (!any)
		return;
	puts_(o, "    # ports: nothing to add — a name:port pattern allows its own port (");
	any = false;
	for (unsigned p = 1; p <= 65535; p++) {
		if (seen[p / 8] >> (p % 8) & 1) {
			puts_(o, any ? ", " : "");
			put_u64(o, p);
			any = true;
		}
	}
	puts_(o, ")\n");
}

static void put_allow(struct out *o, const struct item *items, size_t n)
{
	size_t width = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len = items[i].text_len + (items[i].kind == ITEM_WILDCARD ? 2 : 0);
		if (items[i].kind != ITEM_IP && len > width)
			width = len;
	}
	if (width > 48)
		width = 48;
	/* With nothing to suggest, an explicit empty list: a missing or null `allow` would not
	 * mean "nothing". */
	puts_(o, n == 0 || items[0].kind == ITEM_IP ? "    allow: []\n" : "    allow:\n");
	for (size_t i = 0; i < n; i++)
		put_item(o, &items[i], width);
}

/* ---- summaries ------------------------------------------------------------------------------ */

#define SUMMARY_LINES_MAX 20

static void put_summary(struct out *o, const struct entry *const *sum, size_t n, int kind)
{
	static const char *const what[] = {[ENTRY_BUILTIN] = "refused by the built-in block",
					   [ENTRY_DENY_RULE] = "matched a deny rule"};
	static const char *const why[] = {[ENTRY_BUILTIN] = " — not suggested\n",
					  [ENTRY_DENY_RULE] =
					      " — not suggested (deny beats allow)\n"};
	size_t shown = 0, more = 0;
	uint64_t more_requests = 0;

	for (size_t i = 0; i < n; i++) {
		if (sum[i]->kind != kind)
			continue;
		if (shown == SUMMARY_LINES_MAX) {
			more++;
			more_requests += sum[i]->count;
			continue;
		}
		puts_(o, "    # ");
		puts_(o, what[kind]);
		puts_(o, ": ");
		put_requests(o, sum[i]->count);
		puts_(o, " to ");
		put_target(o, sum[i]);
		puts_(o, why[kind]);
		shown++;
	}
	if (more == 0)
		return;
	puts_(o, "    # ");
	puts_(o, what[kind]);
	puts_(o, ": ");
	put_requests(o, more_requests);
	puts_(o, " to ");
	put_u64(o, more);
	puts_(o, " more destinations");
	puts_(o, why[kind]);
}

/* A suggestion entry whose host turned out to be a route's counts as the route's use. */
static int route_note_kind(const struct entry *e)
{
	return entry_is_route(e->kind) ? e->kind : ENTRY_ROUTE;
}

static int entry_cmp_route(const void *pa, const void *pb)
{
	const struct entry *a = *(const struct entry *const *)pa;
	const struct entry *b = *(const struct entry *const *)pb;
	int c = strcmp(a->host, b->host);
	return c ? c : route_note_kind(a) - route_note_kind(b);
}

static void put_route_note(struct out *o, const struct entry *e, int kind, uint64_t count)
{
	static const char *const before[] = {[ENTRY_ROUTE] = "used route ",
					     [ENTRY_ROUTE_NOT_LISTED] = "refused by route ",
					     [ENTRY_ROUTE_CONNECT] = "refused by route "};
	static const char *const after[] = {
	    [ENTRY_ROUTE] = ": ",
	    [ENTRY_ROUTE_NOT_LISTED] = " (the agent is not in its routes[].agents): ",
	    [ENTRY_ROUTE_CONNECT] = " (CONNECT; a route takes plain HTTP): "};

	puts_(o, "    # ");
	puts_(o, before[kind]);
	if (e->host_len == 0)
		puts_(o, "an unparsed host");
	put(o, e->host, e->host_len);
	puts_(o, after[kind]);
	put_requests(o, count);
	puts_(o, kind == ENTRY_ROUTE
		     ? " — not an allow entry: routes[].agents decides who uses it\n"
		     : " — not suggested\n");
}

/* One line per route host and kind (sorted by host), at most SUMMARY_LINES_MAX. */
static void put_routes(struct out *o, const struct entry *const *routes, size_t n)
{
	size_t shown = 0, more = 0;
	uint64_t more_requests = 0;

	for (size_t i = 0, j; i < n; i = j) {
		int kind = route_note_kind(routes[i]);
		uint64_t count = 0;
		for (j = i; j < n && route_note_kind(routes[j]) == kind &&
			    strcmp(routes[j]->host, routes[i]->host) == 0;
		     j++)
			count += routes[j]->count;
		if (shown == SUMMARY_LINES_MAX) {
			more++;
			more_requests += count;
			continue;
		}
		put_route_note(o, routes[i], kind, count);
		shown++;
	}
	if (more == 0)
		return;
	puts_(o, "    # routes: ");
	put_requests(o, more_requests);
	puts_(o, " on ");
	put_u64(o, more);
	puts_(o, " more route notes — not suggested\n");
}

static void put_count_part(struct out *o, uint64_t n, const char *what, bool *first)
{
	if (n == 0)
		return;
	puts_(o, *first ? "    # not suggested: " : ", ");
	put_requests(o, n);
	puts_(o, what);
	*first = false;
}

static void put_counts(struct out *o, const struct agent_acc *a, uint64_t n_other_rule)
{
	bool first = true;

	put_count_part(o, a->n_denied, " denied by the current policy", &first);
	put_count_part(o, a->n_unsuggestable, " reported for a rule an allow entry does not answer",
		       &first);
	put_count_part(o, a->n_failed, " ending in an error", &first);
	put_count_part(o, a->n_allow_skipped, " allowed (--only-report)", &first);
	if (!first)
		puts_(o, "\n");
	if (n_other_rule) {
		puts_(o, "    # note: ");
		put_requests(o, n_other_rule);
		puts_(o, " above would still be refused by a methods or max_request_body rule\n");
	}
	if (a->n_truncated) {
		puts_(o, "    # truncated: the destination cap was reached; ");
		put_requests(o, a->n_truncated);
		puts_(o, " to further destinations were not counted\n");
	}
}

/* ---- report_format -------------------------------------------------------------------------- */

/* One agent's entries, split for the output. */
struct agent_parts {
	const struct entry **sugg, **sum, **routes;
	size_t n_sugg, n_sum, n_routes;
	uint64_t n_other_rule; /* of the suggested lines */
};

static void put_agent(struct out *o, const struct agent_acc *a, const struct item *items,
		      size_t n_items, const struct agent_parts *p)
{
	puts_(o, "  - name: ");
	put_agent_name(o, a);
	puts_(o, "\n    mode: enforce\n");
	put_allow(o, items, n_items);
	put_ports(o, items, n_items);
	put_summary(o, p->sum, p->n_sum, ENTRY_BUILTIN);
	put_summary(o, p->sum, p->n_sum, ENTRY_DENY_RULE);
	put_routes(o, p->routes, p->n_routes);
	put_counts(o, a, p->n_other_rule);
}

/* A name is a route's when the route's own lines (or the config) said so, wherever they came in
 * the log: only now is every route host known. */
static void split_entries(const struct report *r, const struct agent_acc *a, struct agent_parts *p)
{
	for (size_t i = 0; i < a->cap; i++) {
		const struct entry *e = &a->slots[i];
		if (e->host == NULL)
			continue;
		if (entry_is_route(e->kind) ||
		    (e->kind == ENTRY_NAME && route_host_known(r, e->host, e->host_len))) {
			p->routes[p->n_routes++] = e;
		} else if (e->kind == ENTRY_NAME || e->kind == ENTRY_IP) {
			p->sugg[p->n_sugg++] = e;
			p->n_other_rule += e->n_other;
		} else {
			p->sum[p->n_sum++] = e;
		}
	}
}

static bool format_agent(struct out *o, const struct report *r, const struct agent_acc *a)
{
	size_t cap = a->used ? a->used : 1;
	struct agent_parts p = {malloc(cap * sizeof(*p.sugg)),
				malloc(cap * sizeof(*p.sum)),
				malloc(cap * sizeof(*p.routes)),
				0,
				0,
				0,
				0};
	struct item *items = malloc(cap * sizeof(*items));
	long n_items = -1;

	if (p.sugg != NULL && p.sum != NULL && p.routes != NULL && items != NULL) {
		split_entries(r, a, &p);
		/* By count, so that the names a wildcard shows are its busiest ones. */
		qsort(p.sugg, p.n_sugg, sizeof(*p.sugg), entry_cmp_count);
		qsort(p.sum, p.n_sum, sizeof(*p.sum), entry_cmp_count);
		qsort(p.routes, p.n_routes, sizeof(*p.routes), entry_cmp_route);
		n_items = build_items(p.sugg, p.n_sugg, items);
		if (n_items >= 0)
			put_agent(o, a, items, (size_t)n_items, &p);
	}
	free(items);
	free(p.routes);
	free(p.sum);
	free(p.sugg);
	return n_items >= 0;
}

static int agent_cmp(const void *pa, const void *pb)
{
	const struct agent_acc *a = *(const struct agent_acc *const *)pa;
	const struct agent_acc *b = *(const struct agent_acc *const *)pb;
	return strcmp(a->name, b->name);
}

static void put_header(struct out *o, const struct report *r)
{
	puts_(o, "# Suggested by `sluice report` from ");
	put_u64(o, r->n_lines);
	puts_(o, r->n_lines == 1 ? " log line" : " log lines");
	puts_(o,
	      r->only_report ? " (report decisions only).\n" : " (allow and report decisions).\n");
	puts_(o, "# Review before enforcing: a wildcard allows every name below it. See "
		 "docs/report.md.\n");
	if (r->n_agents_truncated) {
		puts_(o, "# truncated: more than 4096 agents; ");
		put_u64(o, r->n_agents_truncated);
		puts_(o, r->n_agents_truncated == 1 ? " line" : " lines");
		puts_(o, " of further agents not counted\n");
	}
}

bool report_format(const struct report *r, struct buf *out, size_t max_cap)
{
	struct out o = {out, max_cap, true};
	const struct agent_acc **agents = malloc((r->n_agents ? r->n_agents : 1) * sizeof(*agents));
	size_t n = 0;

	if (agents == NULL)
		return false;
	for (size_t i = 0; i < r->cap; i++)
		if (r->agents[i] != NULL)
			agents[n++] = r->agents[i];
	qsort(agents, n, sizeof(*agents), agent_cmp);
	put_header(&o, r);
	puts_(&o, n == 0 ? "agents: []\n" : "agents:\n");
	for (size_t i = 0; i < n && o.ok; i++)
		o.ok = format_agent(&o, r, agents[i]) && o.ok;
	free(agents);
	return o.ok;
}
