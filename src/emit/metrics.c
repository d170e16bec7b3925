/* metrics: single-writer counters read from another thread. A writer updates with a relaxed
 * load and store (plain moves on x86-64 and aarch64: no locked instruction on the request path);
 * the reader's relaxed loads see each 64-bit value whole. A scrape is therefore not one instant
 * across counters, which Prometheus does not need: each counter only ever grows. */
#include "emit/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "base/hash.h"
#include "parse/dns_type.h"

_Static_assert(METRICS_MAX_SERIES % METRICS_SERIES_CHUNK == 0, "whole chunks");
_Static_assert(METRICS_INDEX_SLOTS >= 2 * METRICS_MAX_SERIES, "index at most half full");
_Static_assert(METRICS_MAX_SERIES < UINT16_MAX, "index slots hold series numbers + 1");

/* Upper bounds (le) of the latency buckets: 0.5 ms to 10 s, as text and in microseconds. */
static const uint64_t hist_bounds_us[METRICS_HIST_BOUNDS] = {
    500,    1000,   2500,   5000,    10000,   25000,   50000,
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};
static const char *const hist_bounds_text[METRICS_HIST_BOUNDS] = {
    "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",  "0.5",	 "1",	  "2.5",  "5",	   "10",
};

static inline void counter_add(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static inline uint64_t counter_read(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
}

void metrics_fini(struct metrics *m)
{
	for (size_t i = 0; i < sizeof(m->chunks) / sizeof(m->chunks[0]); i++)
		free(m->chunks[i]);
	memset(m, 0, sizeof(*m));
}

/* ---- writer ---------------------------------------------------------------------------- */

static uint32_t series_hash(const char *agent, enum outcome decision, enum reason reason)
{
	uint32_t h = hash_fnv_byte(hash_fnv_str(HASH_FNV_BASIS, agent), (unsigned char)decision);
	return hash_fnv_byte(h, (unsigned char)reason);
}

static struct metrics_series *series_at(const struct metrics *m, uint32_t i)
{
	return &m->chunks[i / METRICS_SERIES_CHUNK][i % METRICS_SERIES_CHUNK];
}

static bool series_is(const struct metrics_series *s, const char *agent, enum outcome decision,
		      enum reason reason)
{
	return s->reason == reason && s->decision == decision &&
	       strncmp(s->agent, agent, sizeof(s->agent) - 1) == 0;
}

/* Appends a series; the release store of n_series publishes it whole to readers. */
static struct metrics_series *series_add(struct metrics *m, const char *agent,
					 enum outcome decision, enum reason reason)
{
	uint32_t n = m->n_series;
	struct metrics_series **chunk = &m->chunks[n / METRICS_SERIES_CHUNK];

	if (n == METRICS_MAX_SERIES)
		return NULL;
	if (!*chunk) {
		*chunk = calloc(METRICS_SERIES_CHUNK, sizeof(**chunk));
		if (!*chunk)
			return NULL;
	}
	struct metrics_series *s = series_at(m, n);
	memset(s, 0, sizeof(*s));
	snprintf(s->agent, sizeof(s->agent), "%s", agent);
	s->decision = decision;
	s->reason = reason;
	__atomic_store_n(&m->n_series, n + 1, __ATOMIC_RELEASE);
	return s;
}

static struct metrics_series *series_find(struct metrics *m, const char *agent,
					  enum outcome decision, enum reason reason)
{
	uint32_t slot = series_hash(agent, decision, reason) % METRICS_INDEX_SLOTS;

	for (;; slot = (slot + 1) % METRICS_INDEX_SLOTS) {
		uint16_t i = m->index[slot];
		if (i == 0)
			break;
		struct metrics_series *s = series_at(m, i - 1u);
		if (series_is(s, agent, decision, reason))
			return s;
	}
	struct metrics_series *s = series_add(m, agent, decision, reason);
	if (s)
		m->index[slot] = (uint16_t)m->n_series;
	return s;
}

void metrics_count_request(struct metrics *m, const struct metrics_request *req)
{
	const char *agent = req->agent ? req->agent : "";
	struct metrics_series *s = series_find(m, agent, req->decision, req->reason);

	if (!s) {
		counter_add(&m->dropped_series, 1);
		return;
	}
	counter_add(&s->requests, 1);
	if (req->tunnel)
		counter_add(&s->tunnels, 1);
	counter_add(&s->bytes_up, req->bytes_up);
	counter_add(&s->bytes_down, req->bytes_down);
}

void metrics_count_log_dropped(struct metrics *m)
{
	counter_add(&m->log_lines_dropped, 1);
}

void metrics_count_upstream_retry(struct metrics *m)
{
	counter_add(&m->upstream_retries, 1);
}

void metrics_count_intercepted(struct metrics *m)
{
	counter_add(&m->intercepted, 1);
}

void metrics_count_h2_reset_flood(struct metrics *m)
{
	counter_add(&m->h2_reset_floods, 1);
}

void metrics_count_tunnel_revoked(struct metrics *m)
{
	counter_add(&m->tunnels_revoked, 1);
}

void metrics_count_upstream_reused(struct metrics *m)
{
	counter_add(&m->upstream_reused, 1);
}

void metrics_upstream_idle(struct metrics *m, bool parked)
{
	BUG_ON(!parked && counter_read(&m->upstream_idle) == 0);
	counter_add(&m->upstream_idle, parked ? 1 : (uint64_t)-1);
}

void metrics_count_conn_open(struct metrics *m)
{
	counter_add(&m->connections_total, 1);
	counter_add(&m->connections_open, 1);
}

void metrics_count_conn_close(struct metrics *m)
{
	BUG_ON(counter_read(&m->connections_open) == 0);
	counter_add(&m->connections_open, (uint64_t)-1);
}

static void hist_observe(struct metrics_hist *h, uint64_t us)
{
	unsigned b = 0;
	while (b < METRICS_HIST_BOUNDS && us > hist_bounds_us[b])
		b++;
	counter_add(&h->buckets[b], 1);
	counter_add(&h->sum_us, us);
}

void metrics_observe_dns(struct metrics *m, uint64_t us)
{
	hist_observe(&m->dns, us);
}

/* The types a dashboard tells apart (names from parse/dns_type); every other is "other", so
 * the label set stays fixed. */
static const uint16_t metrics_dns_types[METRICS_DNS_TYPES - 1] = {
    DNS_TYPE_A,	   DNS_TYPE_AAAA, DNS_TYPE_CNAME, DNS_TYPE_HTTPS,
    DNS_TYPE_SVCB, DNS_TYPE_TXT,  DNS_TYPE_MX,
};

void metrics_count_dns_query(struct metrics *m, enum outcome decision, uint16_t qtype)
{
	unsigned t = METRICS_DNS_TYPES - 1;
	for (unsigned i = 0; i < METRICS_DNS_TYPES - 1; i++)
		if (metrics_dns_types[i] == qtype)
			t = i;
	if ((unsigned)decision < OUTCOME__COUNT)
		counter_add(&m->dns_queries[decision][t], 1);
}

void metrics_observe_connect(struct metrics *m, uint64_t us)
{
	hist_observe(&m->connect, us);
}

void metrics_process_reload(struct metrics_process *p, bool ok, uint64_t generation)
{
	counter_add(ok ? &p->reloads_ok : &p->reloads_failed, 1);
	metrics_process_set_generation(p, generation);
}

void metrics_process_set_generation(struct metrics_process *p, uint64_t generation)
{
	__atomic_store_n(&p->generation, generation, __ATOMIC_RELAXED);
}

/* ---- reader ---------------------------------------------------------------------------- */

struct out {
	struct buf *b;
	size_t max;
	bool ok;
};

__attribute__((format(printf, 2, 3))) static void out_printf(struct out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!o->ok)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* Every line is bounded (escaped agent names are at most 2 * 64 bytes). */
	BUG_ON(n < 0 || (size_t)n >= sizeof(line));
	o->ok = buf_append(o->b, line, (size_t)n, o->max);
}

static void out_header(struct out *o, const char *name, const char *type, const char *help)
{
	out_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Exposition format 0.0.4: label values escape backslash, double quote and line feed. Agent
 * names from the config never need it; the escaping keeps any input one well-formed line. */
static void label_escape(const char *in, char *out, size_t size)
{
	size_t o = 0;

	BUG_ON(size == 0);
	for (; *in && o + 3 <= size; in++) {
		char c = *in;
		if (c == '\\' || c == '"' || c == '\n') {
			out[o++] = '\\';
			c = c == '\n' ? 'n' : c;
		}
		out[o++] = c;
	}
	out[o] = '\0';
}

static int series_cmp(const void *pa, const void *pb)
{
	const struct metrics_series *a = pa, *b = pb;
	int d = strcmp(a->agent, b->agent);
	if (d == 0)
		d = strcmp(outcome_name(a->decision), outcome_name(b->decision));
	if (d == 0)
		d = strcmp(reason_token(a->reason), reason_token(b->reason));
	return d;
}

/* Every worker's series, summed by key and sorted. Returns the count, or -1 out of memory. */
static long series_collect(struct metrics *const *workers, unsigned n, struct metrics_series **out)
{
	size_t total = 0, k = 0;
	uint32_t *counts = malloc((n ? n : 1) * sizeof(*counts));

	if (!counts)
		return -1;
	for (unsigned w = 0; w < n; w++) {
		counts[w] = __atomic_load_n(&workers[w]->n_series, __ATOMIC_ACQUIRE);
		total += counts[w];
	}
	struct metrics_series *all = malloc((total ? total : 1) * sizeof(*all));
	if (!all) {
		free(counts);
		return -1;
	}
	for (unsigned w = 0; w < n; w++)
		for (uint32_t i = 0; i < counts[w]; i++) {
			const struct metrics_series *s = series_at(workers[w], i);
			struct metrics_series *d = &all[k++];
			memcpy(d->agent, s->agent, sizeof(d->agent));
			d->decision = s->decision;
			d->reason = s->reason;
			d->requests = counter_read(&s->requests);
			d->tunnels = counter_read(&s->tunnels);
			d->bytes_up = counter_read(&s->bytes_up);
			d->bytes_down = counter_read(&s->bytes_down);
		}
	free(counts);
	if (total > 1)
		qsort(all, total, sizeof(*all), series_cmp);
	k = 0;
	for (size_t i = 0; i < total; i++) {
		if (k > 0 && series_cmp(&all[k - 1], &all[i]) == 0) {
			all[k - 1].requests += all[i].requests;
			all[k - 1].tunnels += all[i].tunnels;
			all[k - 1].bytes_up += all[i].bytes_up;
			all[k - 1].bytes_down += all[i].bytes_down;
			continue;
		}
		all[k++] = all[i];
	}
	*out = all;
	return (long)k;
}

static void format_series(struct out *o, const struct metrics_series *all, size_t n)
{
	char agent[2 * AGENT_NAME_MAX + 2];

	out_header(o, "sluice_requests_total", "counter",
		   "Requests judged (one per decision log end line, CONNECT included), by "
		   "agent, decision and reason.");
	for (size_t i = 0; i < n; i++) {
		label_escape(all[i].agent, agent, sizeof(agent));
		out_printf(
		    o, "sluice_requests_total{agent=\"%s\",decision=\"%s\",reason=\"%s\"} %llu\n",
		    agent, outcome_name(all[i].decision), reason_token(all[i].reason),
		    (unsigned long long)all[i].requests);
	}
	out_header(o, "sluice_tunnels_total", "counter",
		   "CONNECT requests (tunnels), by agent, decision and reason.");
	for (size_t i = 0; i < n; i++) {
		if (all[i].tunnels == 0)
			continue;
		label_escape(all[i].agent, agent, sizeof(agent));
		out_printf(
		    o, "sluice_tunnels_total{agent=\"%s\",decision=\"%s\",reason=\"%s\"} %llu\n",
		    agent, outcome_name(all[i].decision), reason_token(all[i].reason),
		    (unsigned long long)all[i].tunnels);
	}
}

/* Series are sorted by agent first, so each agent's are adjacent. */
static void format_bytes(struct out *o, const struct metrics_series *all, size_t n, bool up)
{
	const char *name = up ? "sluice_bytes_up_total" : "sluice_bytes_down_total";
	char agent[2 * AGENT_NAME_MAX + 2];

	out_header(o, name, "counter",
		   up ? "Bytes relayed from clients to upstreams (bodies and tunnels), by agent, "
			"counted when the request ends."
		      : "Bytes relayed from upstreams to clients (bodies and tunnels), by agent, "
			"counted when the request ends.");
	for (size_t i = 0; i < n;) {
		uint64_t sum = 0;
		size_t j = i;
		for (; j < n && strcmp(all[j].agent, all[i].agent) == 0; j++)
			sum += up ? all[j].bytes_up : all[j].bytes_down;
		label_escape(all[i].agent, agent, sizeof(agent));
		out_printf(o, "%s{agent=\"%s\"} %llu\n", name, agent, (unsigned long long)sum);
		i = j;
	}
}

static void format_hist(struct out *o, struct metrics *const *workers, unsigned n, bool dns)
{
	const char *name =
	    dns ? "sluice_dns_lookup_duration_seconds" : "sluice_upstream_connect_duration_seconds";
	uint64_t buckets[METRICS_HIST_BOUNDS + 1] = {0}, sum_us = 0, cumulative = 0;

	for (unsigned w = 0; w < n; w++) {
		const struct metrics_hist *h = dns ? &workers[w]->dns : &workers[w]->connect;
		for (unsigned b = 0; b <= METRICS_HIST_BOUNDS; b++)
			buckets[b] += counter_read(&h->buckets[b]);
		sum_us += counter_read(&h->sum_us);
	}
	out_header(o, name, "histogram",
		   dns ? "Time from starting a DNS lookup to its answer or failure (cache hits "
			 "are not looked up)."
		       : "Time from starting a TCP connection to an upstream address until it is "
			 "established or fails (pooled connections are not counted).");
	for (unsigned b = 0; b < METRICS_HIST_BOUNDS; b++) {
		cumulative += buckets[b];
		out_printf(o, "%s_bucket{le=\"%s\"} %llu\n", name, hist_bounds_text[b],
			   (unsigned long long)cumulative);
	}
	cumulative += buckets[METRICS_HIST_BOUNDS];
	out_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cumulative);
	out_printf(o, "%s_sum %llu.%06llu\n", name, (unsigned long long)(sum_us / 1000000),
		   (unsigned long long)(sum_us % 1000000));
	out_printf(o, "%s_count %llu\n", name, (unsigned long long)cumulative);
}

static uint64_t workers_sum(struct metrics *const *workers, unsigned n, size_t field)
{
	uint64_t sum = 0;
	for (unsigned w = 0; w < n; w++)
		sum += counter_read((const uint64_t *)((const char *)workers[w] + field));
	return sum;
}

/* One unlabelled family whose value is a per-worker field summed over the workers. */
static void out_summed(struct out *o, const char *name, const char *type, const char *help,
		       struct metrics *const *workers, unsigned n, size_t field)
{
	out_header(o, name, type, help);
	out_printf(o, "%s %llu\n", name, (unsigned long long)workers_sum(workers, n, field));
}

static void format_conns(struct out *o, struct metrics *const *workers, unsigned n)
{
	out_summed(o, "sluice_connections_open", "gauge", "Client connections open now.", workers,
		   n, offsetof(struct metrics, connections_open));
	out_summed(o, "sluice_connections_total", "counter", "Client connections accepted.",
		   workers, n, offsetof(struct metrics, connections_total));
	out_summed(o, "sluice_upstream_connections_idle", "gauge",
		   "Idle keep-alive upstream connections parked for reuse now.", workers, n,
		   offsetof(struct metrics, upstream_idle));
	out_summed(o, "sluice_upstream_connections_reused_total", "counter",
		   "Requests sent on a parked upstream connection instead of a new one.", workers,
		   n, offsetof(struct metrics, upstream_reused));
}

static void format_process(struct out *o, struct metrics *const *workers, unsigned n,
			   const struct metrics_process *p)
{
	out_header(o, "sluice_reloads_total", "counter",
		   "Configuration reloads (SIGHUP), by result: ok (new policy in force) or failed "
		   "(the running policy stayed).");
	out_printf(o, "sluice_reloads_total{result=\"failed\"} %llu\n",
		   (unsigned long long)counter_read(&p->reloads_failed));
	out_printf(o, "sluice_reloads_total{result=\"ok\"} %llu\n",
		   (unsigned long long)counter_read(&p->reloads_ok));
	out_header(o, "sluice_policy_generation", "gauge",
		   "Generation of the policy in force: 1 at start, +1 per successful reload.");
	out_printf(o, "sluice_policy_generation %llu\n",
		   (unsigned long long)counter_read(&p->generation));
	out_header(o, "sluice_workers", "gauge", "Event-loop worker threads.");
	out_printf(o, "sluice_workers %u\n", n);
	out_summed(o, "sluice_metrics_dropped_series_total", "counter",
		   "Requests not counted by agent, decision and reason because a worker already "
		   "holds its maximum number of series.",
		   workers, n, offsetof(struct metrics, dropped_series));
	out_summed(o, "sluice_log_lines_dropped_total", "counter",
		   "Decision log lines dropped because stdout did not keep up (over 4 MiB pending "
		   "per worker).",
		   workers, n, offsetof(struct metrics, log_lines_dropped));
	out_summed(o, "sluice_upstream_retries_total", "counter",
		   "Idempotent requests without a body sent again on a new connection because the "
		   "reused keep-alive upstream connection closed before answering.",
		   workers, n, offsetof(struct metrics, upstream_retries));
	out_summed(o, "sluice_tunnels_revoked_total", "counter",
		   "Open CONNECT tunnels closed because the policy in force after a reload denies "
		   "them (timeouts.reload_revoke).",
		   workers, n, offsetof(struct metrics, tunnels_revoked));
	out_summed(o, "sluice_tls_intercepted_total", "counter",
		   "CONNECT tunnels whose TLS sluice terminated (intercept:), handshake done.",
		   workers, n, offsetof(struct metrics, intercepted));
	out_summed(o, "sluice_h2_reset_floods_total", "counter",
		   "Intercepted HTTP/2 sessions ended with GOAWAY ENHANCE_YOUR_CALM for resetting "
		   "more running requests than the budget (CVE-2023-44487's pattern).",
		   workers, n, offsetof(struct metrics, h2_reset_floods));
}

static void format_dns(struct out *o, struct metrics *const *workers, unsigned n)
{
	out_header(o, "sluice_dns_queries_total", "counter",
		   "Queries to the DNS listener (listen.dns), by decision and query type.");
	for (unsigned d = 0; d < OUTCOME__COUNT; d++)
		for (unsigned t = 0; t < METRICS_DNS_TYPES; t++) {
			size_t field = offsetof(struct metrics, dns_queries) +
				       (d * METRICS_DNS_TYPES + t) * sizeof(uint64_t);
			out_printf(o,
				   "sluice_dns_queries_total{decision=\"%s\",type=\"%s\"} %llu\n",
				   outcome_name((enum outcome)d),
				   t < METRICS_DNS_TYPES - 1 ? dns_type_name(metrics_dns_types[t])
							     : "other",
				   (unsigned long long)workers_sum(workers, n, field));
		}
}

bool metrics_format(struct metrics *const *workers, unsigned n, const struct metrics_process *p,
		    struct buf *out, size_t max)
{
	struct out o = {out, max, true};
	struct metrics_series *all;
	long n_series = series_collect(workers, n, &all);

	if (n_series < 0)
		return false;
	format_series(&o, all, (size_t)n_series);
	format_bytes(&o, all, (size_t)n_series, true);
	format_bytes(&o, all, (size_t)n_series, false);
	free(all);
	format_conns(&o, workers, n);
	format_dns(&o, workers, n);
	format_hist(&o, workers, n, true);
	format_hist(&o, workers, n, false);
	format_process(&o, workers, n, p);
	return o.ok;
}

bool metrics_format_tls_certs(const struct metrics_tls_certs *t, struct buf *out, size_t max)
{
	struct out o = {out, max, true};

	out_header(&o, "sluice_tls_certs_cached", "gauge",
		   "Leaf certificates held in the interception cache (tls.cert_cache).");
	out_printf(&o, "sluice_tls_certs_cached %u\n", t->entries);
	out_header(&o, "sluice_tls_certs_minted_total", "counter",
		   "Leaf certificates signed for intercepted names.");
	out_printf(&o, "sluice_tls_certs_minted_total %llu\n", t->minted);
	out_header(&o, "sluice_tls_cert_cache_hits_total", "counter",
		   "Intercepted handshakes served a leaf from the cache.");
	out_printf(&o, "sluice_tls_cert_cache_hits_total %llu\n", t->hits);
	out_header(&o, "sluice_tls_cert_cache_evictions_total", "counter",
		   "Leaves dropped from the full cache, least recently used first.");
	out_printf(&o, "sluice_tls_cert_cache_evictions_total %llu\n", t->evictions);
	return o.ok;
}

long metrics_agents(struct metrics *const *workers, unsigned n, struct metrics_agent **out)
{
	struct metrics_series *all = NULL;
	long n_series = series_collect(workers, n, &all);

	*out = NULL;
	if (n_series < 0)
		return -1;
	struct metrics_agent *agents = malloc(((size_t)n_series + 1) * sizeof(*agents));
	long k = 0;
	if (!agents) {
		free(all);
		return -1;
	}
	/* Sorted by agent first: one run of series per agent. */
	for (long i = 0; i < n_series; i++) {
		const struct metrics_series *s = &all[i];
		if (!s->agent[0])
			continue;
		if (k == 0 || strcmp(agents[k - 1].name, s->agent) != 0) {
			memset(&agents[k], 0, sizeof(agents[k]));
			memcpy(agents[k].name, s->agent, sizeof(agents[k].name));
			k++;
		}
		struct metrics_agent *a = &agents[k - 1];
		a->requests += s->requests;
		if (s->decision == OUTCOME_DENY)
			a->denied += s->requests;
		a->bytes_up += s->bytes_up;
		a->bytes_down += s->bytes_down;
	}
	free(all);
	*out = agents;
	return k;
}
