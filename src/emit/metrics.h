/* metrics: per-worker counters (requests and tunnels by agent, decision and reason; bytes;
 * connections; DNS and connect latency) and their Prometheus text rendering, summed over workers.
 * Does not serve anything (io/admin does) and takes no lock: each worker writes only its own
 * struct metrics, and a reader on another thread sums them with relaxed atomic loads. */
#ifndef SLUICE_EMIT_METRICS_H
#define SLUICE_EMIT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "policy/agent.h"
#include "policy/outcome.h"
#include "policy/reason.h"

/* Distinct (agent, decision, reason) series one worker keeps; requests beyond are counted in
 * sluice_metrics_dropped_series_total instead. */
#define METRICS_MAX_SERIES 4096
#define METRICS_SERIES_CHUNK 64
#define METRICS_INDEX_SLOTS 8192 /* open addressing, at most half full */
/* Latency histogram bounds in microseconds (rendered in seconds); one more bucket for +Inf. */
#define METRICS_HIST_BOUNDS 14

struct metrics_series {
	char agent[AGENT_NAME_MAX + 1]; /* "" when no agent was identified */
	enum outcome decision;
	enum reason reason;
	uint64_t requests, tunnels, bytes_up, bytes_down;
};

struct metrics_hist {
	uint64_t buckets[METRICS_HIST_BOUNDS + 1]; /* per bucket, not cumulative; last = +Inf */
	uint64_t sum_us;
};

#define METRICS_DNS_TYPES 8

/* One worker's counters. Only the owning thread writes; series are appended, never moved or
 * removed, and published by a release store of n_series, so a reader sees whole series. */
struct metrics {
	struct metrics_series *chunks[METRICS_MAX_SERIES / METRICS_SERIES_CHUNK];
	uint32_t n_series;
	uint16_t index[METRICS_INDEX_SLOTS]; /* series number + 1; 0 = empty; writer only */
	uint64_t dropped_series;
	uint64_t log_lines_dropped; /* decision log lines stdout could not take in time */
	uint64_t upstream_retries;  /* requests sent again after a stale pooled connection */
	uint64_t upstream_reused;   /* requests sent on a parked upstream connection */
	uint64_t intercepted;	    /* tunnels whose TLS sluice terminated (handshake done) */
	uint64_t h2_reset_floods;   /* HTTP/2 sessions ended for resetting too many requests */
	uint64_t tunnels_revoked;   /* open tunnels closed because a reload denied them */
	uint64_t upstream_idle;	    /* upstream connections parked now */
	uint64_t connections_total, connections_open;
	struct metrics_hist dns, connect;
	/* DNS listener queries by decision and type (METRICS_DNS_TYPES: A, AAAA, CNAME, HTTPS,
	 * SVCB, TXT, MX, other) */
	uint64_t dns_queries[OUTCOME__COUNT][METRICS_DNS_TYPES];
};

/* Process-wide values, written by the main thread. */
struct metrics_process {
	uint64_t reloads_ok, reloads_failed;
	uint64_t generation; /* policy generation in force */
};

/* One finished request, as its log line records it. */
struct metrics_request {
	const char *agent; /* NULL or "" when none */
	enum outcome decision;
	enum reason reason;
	bool tunnel; /* a CONNECT request */
	uint64_t bytes_up, bytes_down;
};

void metrics_init(struct metrics *m);
void metrics_fini(struct metrics *m);
/* Owner thread only. */
void metrics_count_request(struct metrics *m, const struct metrics_request *req);
void metrics_count_conn_open(struct metrics *m);
void metrics_count_conn_close(struct metrics *m);
void metrics_count_log_dropped(struct metrics *m);
void metrics_count_upstream_retry(struct metrics *m);
void metrics_count_intercepted(struct metrics *m);
void metrics_count_h2_reset_flood(struct metrics *m);
void metrics_count_upstream_reused(struct metrics *m);
void metrics_count_tunnel_revoked(struct metrics *m);
/* An upstream connection was parked (true) or left the pool (false). */
void metrics_upstream_idle(struct metrics *m, bool parked);
void metrics_observe_dns(struct metrics *m, uint64_t us);
/* One query to the DNS listener, as its log line records it. */
void metrics_count_dns_query(struct metrics *m, enum outcome decision, uint16_t qtype);
void metrics_observe_connect(struct metrics *m, uint64_t us);
/* Main thread only. */
void metrics_process_reload(struct metrics_process *p, bool ok, uint64_t generation);
void metrics_process_set_generation(struct metrics_process *p, uint64_t generation);

/* Appends the Prometheus text exposition (format 0.0.4) of every worker's counters, summed,
 * and of p, to out (growing it up to max bytes). Series are sorted, so the same counts always
 * render the same text. Safe from any thread while the workers run. Returns false when out of
 * memory or when the text would exceed max. */
bool metrics_format(struct metrics *const *workers, unsigned n, const struct metrics_process *p,
		    struct buf *out, size_t max);

/* One agent's counters summed over every worker and series (the console's /api/agents). */
struct metrics_agent {
	char name[AGENT_NAME_MAX + 1];
	uint64_t requests, denied, bytes_up, bytes_down;
};
/* Every identified agent's, sorted by name, in *out (malloc'd; the caller frees). Safe from any
 * thread. Returns the count, or -1 when out of memory. */
long metrics_agents(struct metrics *const *workers, unsigned n, struct metrics_agent **out);

/* The interception leaf cache's counters (io/tls_mint keeps them; the admin reads them). */
struct metrics_tls_certs {
	unsigned entries;
	unsigned long long minted, hits, evictions;
};
/* Appends their exposition, as metrics_format does. */
bool metrics_format_tls_certs(const struct metrics_tls_certs *t, struct buf *out, size_t max);

#endif
