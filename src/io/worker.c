#include "io/worker.h"
#include "io/approval_store.h"

#include <time.h>

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/hash.h"
#include "io/snapshot.h"
#include "policy/search_cache.h"

/* One pseudonym per process: a looped request may come back through any worker. Workers are
 * initialised one after another by the main thread, so the lazy init needs no lock. */
static void worker_via_pseudonym(char *out, size_t size)
{
	static char via[24];
	if (!via[0]) {
		uint32_t nonce = 0;
		if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce))
			nonce = (uint32_t)getpid();
		snprintf(via, sizeof(via), "sluice-%08x", nonce);
	}
	snprintf(out, size, "%s", via);
}

void worker_init(struct worker *w, struct snapshot *snap, unsigned index, unsigned n_workers)
{
	const struct config *cfg = snap->cfg;

	memset(w, 0, sizeof(*w));
	snapshot_ref(snap);
	w->snap = snap;
	w->cfg = cfg;
	atomic_init(&w->pending, NULL);
	atomic_init(&w->drain_left, -1);
	w->index = index;
	w->n_workers = n_workers;
	w->max_conns = worker_share(w, cfg->max_connections);
	worker_via_pseudonym(w->via, sizeof(w->via));
	pipe_pool_init(&w->pipes);
	metrics_init(&w->metrics);
	/* A knob for measuring the tunnel relay both ways (bench/): auto, always or never. */
	const char *splice = getenv("SLUICE_TUNNEL_SPLICE");
	w->splice_mode = !splice || strcmp(splice, "auto") == 0 ? SPLICE_AUTO
			 : strcmp(splice, "always") == 0	? SPLICE_ALWAYS
								: SPLICE_NEVER;
}

void worker_fini(struct worker *w)
{
	pipe_pool_fini(&w->pipes);
	buf_cache_fini(&w->bufs);
	snapshot_unref(atomic_exchange(&w->pending, NULL));
	while (w->retired) {
		struct worker_retired *r = w->retired;
		w->retired = r->next;
		snapshot_unref(r->snap);
		free(r);
	}
	for (unsigned b = 0; b < WORKER_AGENT_BUCKETS; b++)
		while (w->agent_slots[b]) {
			struct worker_agent_slot *slot = w->agent_slots[b];
			w->agent_slots[b] = slot->next;
			free(slot);
		}
	snapshot_unref(w->snap);
	search_cache_free(w->search_cache);
	approval_list_fini(&w->approvals_copy);
	metrics_fini(&w->metrics);
	memset(w, 0, sizeof(*w));
}

/* Worker i of n numbers its lines i+1, i+1+n, i+1+2n, ..., so the workers never hand out the
 * same id and no counter is shared. */
uint64_t worker_next_log_id(struct worker *w)
{
	uint64_t n = w->n_workers ? w->n_workers : 1;
	return w->log_seq++ * n + w->index + 1;
}

void worker_conn_ended(struct worker *w)
{
	if (w->draining && !w->conns)
		event_base_loopbreak(w->base);
}

struct snapshot *worker_hold(struct worker *w)
{
	w->snap_conns++;
	return w->snap;
}

void worker_release(struct worker *w, struct snapshot *snap)
{
	if (snap == w->snap) {
		w->snap_conns--;
		return;
	}
	for (struct worker_retired **link = &w->retired; *link; link = &(*link)->next) {
		struct worker_retired *r = *link;
		if (r->snap != snap)
			continue;
		if (--r->conns == 0) {
			*link = r->next;
			snapshot_unref(r->snap);
			free(r);
		}
		return;
	}
}

void worker_swap_snapshot(struct worker *w, struct snapshot *next)
{
	if (w->snap_conns == 0) {
		snapshot_unref(w->snap);
	} else {
		struct worker_retired *r = malloc(sizeof(*r));
		if (!r) {
			/* Cannot track it: keep the reference (a small leak beats a use after
			 * free). */
		} else {
			r->snap = w->snap;
			r->conns = w->snap_conns;
			r->next = w->retired;
			w->retired = r;
		}
	}
	w->snap = next;
	w->cfg = next->cfg;
	w->snap_conns = 0;
}

unsigned worker_share(const struct worker *w, unsigned limit)
{
	unsigned n = w->n_workers ? w->n_workers : 1;
	return (limit + n - 1) / n;
}

struct worker_agent_slot *worker_agent_slot(struct worker *w, const char *name)
{
	uint32_t h = hash_fnv_str(HASH_FNV_BASIS, name);
	struct worker_agent_slot **bucket = &w->agent_slots[h % WORKER_AGENT_BUCKETS];
	for (struct worker_agent_slot *s = *bucket; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	size_t len = strlen(name);
	struct worker_agent_slot *s = calloc(1, sizeof(*s) + len + 1);
	if (!s)
		return NULL;
	memcpy(s->name, name, len + 1);
	s->next = *bucket;
	*bucket = s;
	return s;
}

struct policy_scope worker_scope(struct worker *w, const struct config *cfg,
				 const struct agent *agent)
{
	struct policy_scope scope = {.rules = &cfg->rules, .base = &cfg->base, .agent = agent};

	if (!w->approvals)
		return scope;
	/* One atomic load per decision; the copy, under the store's lock, only after an answer or
	 * a reload. Out of memory keeps the previous copy, and tries again next time. */
	uint64_t gen = approval_store_generation(w->approvals);
	if (gen != w->approvals_gen)
		approval_store_copy(w->approvals, &w->approvals_copy, &w->approvals_gen);
	if (w->approvals_copy.n) {
		scope.approvals = &w->approvals_copy;
		scope.now = (int64_t)time(NULL);
	}
	return scope;
}
