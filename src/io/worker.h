/* worker: what the connections of one event loop share — the loop, the policy snapshot they
 * hold, resolver, upstream pool, pipes, log sink, counters, per-agent connection counts.
 * Does not start, run or stop the loop (worker_loop does), parse or decide. */
#ifndef SLUICE_IO_WORKER_H
#define SLUICE_IO_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "config/config.h"
#include "emit/metrics.h"
#include "io/pipe_pool.h"
#include "policy/approvals.h"
#include "policy/policy.h"
#include "policy/rate_limit.h"
#include <stdatomic.h>

struct event_base;
struct resolver;
struct upstream_pool;
struct log_sink;
struct listener;
struct dns_server;
struct conn;
struct snapshot;
struct event;
struct tls_mint;
struct census;
struct tls_server_context;

/* What one agent holds on this worker: its client connections
 * (limits.max_connections_per_agent) and its DNS query budget (dns.rate, io/dns_server). Keyed
 * by name, so both survive a reload; slots live until the worker ends. */
struct worker_agent_slot {
	struct worker_agent_slot *next;
	unsigned conns;
	struct token_bucket dns;
	uint32_t dns_rate, dns_burst; /* this worker's share the bucket was set up with */
	bool dns_set;
	struct token_bucket search; /* search.rate (io/search_flow), set up the same way */
	uint32_t search_rate, search_burst;
	bool search_set;
	char name[];
};

#define WORKER_AGENT_BUCKETS 256

/* A configuration this worker no longer hands out but that connections still use. */
struct worker_retired {
	struct worker_retired *next;
	struct snapshot *snap;
	unsigned conns;
};

/* listen.http and listen.dns (its TCP side) */
#define WORKER_MAX_LISTENERS (4 * CONFIG_MAX_LISTEN)

struct worker {
	struct event_base *base;
	const struct config *cfg; /* the current snapshot's configuration */
	struct snapshot *snap;	  /* current; the worker holds one reference */
	unsigned snap_conns;	  /* this worker's connections on snap (no atomics: one thread) */
	struct worker_retired *retired;
	struct event *swap_ev;
	struct event *revoke_ev; /* timeouts.reload_revoke after a reload: judge open tunnels */
	struct snapshot *_Atomic pending; /* posted by the main thread on reload */
	struct resolver *resolver;
	struct search_cache *search_cache; /* search.cache_ttl's answers (made on first use) */
	/* approvals (io/approval_store), shared by every worker and owned by daemon/main; NULL
	 * without an admin listener. This worker's copy of the standing approvals, taken when
	 * the store's generation moves, and the event the store wakes it with. */
	struct approval_store *approvals;
	struct approval_list approvals_copy;
	uint64_t approvals_gen;
	struct event *approval_ev;
	/* The console's copy of this worker's log lines (io/event_ring), owned by daemon/main;
	 * NULL without a console. */
	struct event_ring *events;
	/* The console's census of open connections (io/census), owned by daemon/main, and the
	 * event it asks this worker with; NULL without a console. */
	struct census *census;
	struct event *census_ev;
	struct upstream_pool *pool;
	struct log_sink *log;
	/* Interception (intercept:), shared by every worker and owned by daemon/main; NULL when
	 * no CA was loaded: the leaves it mints and the TLS context sluice answers clients with. */
	struct tls_mint *mint;
	struct tls_server_context *tls_server;
	struct dns_server *dns; /* listen.dns; NULL once drained */
	struct listener *listeners[WORKER_MAX_LISTENERS];
	unsigned n_listeners;
	unsigned index; /* 0 .. n-1 */
	unsigned n_conns;
	unsigned pending_dns;	/* DNS lookups in flight (limits.max_pending_dns) */
	unsigned pending_frees; /* closed connections whose deferred free has not run yet */
	unsigned max_conns;	/* this worker's share of limits.max_connections */
	unsigned n_workers;	/* to split per-agent limits into this worker's share */
	uint64_t log_seq;	/* requests this worker has given a log id (conn.c) */
	struct worker_agent_slot *agent_slots[WORKER_AGENT_BUCKETS];
	struct conn *conns; /* every live connection, so shutdown can end them all */
	/* Drain (SIGTERM): listeners closed, idle connections closed, the loop ends when the last
	 * connection does. drain_ev is posted by the main thread; drain_left is -1 until the
	 * worker has started draining, then the connections it still had (for main's message). */
	bool draining;
	struct event *drain_ev;
	_Atomic int drain_left;
	/* Our Via pseudonym, random per process: a request that already carries it has looped
	 * back to us (RFC 9110 §7.6.3). */
	char via[24];
	struct pipe_pool pipes;
	/* Spare buffer blocks for this worker's connections and log batch (base/buf.h), freed
	 * last, by worker_fini. */
	struct buf_cache bufs;
	enum { SPLICE_AUTO, SPLICE_ALWAYS, SPLICE_NEVER } splice_mode;
	/* This worker's counters: written only here, summed by the admin thread (issue 3: no
	 * shared counter on the request path). */
	struct metrics metrics;
};

/* Sets up the worker's own state for configuration snapshot snap (a reference is taken): its
 * index among n_workers, limits' shares, the Via pseudonym, the pipe pool, the counters. The
 * loop and what runs on it are worker_loop's. */
void worker_init(struct worker *w, struct snapshot *snap, unsigned index, unsigned n_workers);
/* Releases what worker_init set up and every snapshot still held, once no connection is left. */
void worker_fini(struct worker *w);
/* Called by conn when a connection ends: a draining worker with none left stops its loop. */
void worker_conn_ended(struct worker *w);
/* The next log line's id (the "id" field): unique in the process. */
uint64_t worker_next_log_id(struct worker *w);
/* next (a reference the caller gives) becomes the snapshot new requests get; the one it replaces
 * is retired, and freed when the last connection holding it lets go (at once when none does). */
void worker_swap_snapshot(struct worker *w, struct snapshot *next);
/* The policy scope of a request of agent under cfg on this worker: with the standing
 * approvals, copied first if they changed. */
struct policy_scope worker_scope(struct worker *w, const struct config *cfg,
				 const struct agent *agent);
/* The current snapshot, counted for one connection until worker_release. */
struct snapshot *worker_hold(struct worker *w);
void worker_release(struct worker *w, struct snapshot *snap);
/* The slot counting `name`'s connections on this worker (created on first use), or NULL when
 * out of memory. */
struct worker_agent_slot *worker_agent_slot(struct worker *w, const char *name);
/* This worker's share of a process-wide limit (rounded up); 0 stays 0 (no limit). */
unsigned worker_share(const struct worker *w, unsigned limit);

#endif
