#include "io/worker_loop.h"
#include "io/approval_store.h"
#include "io/census.h"
#include "io/conn_census.h"
#include "io/hold.h"

#include <event2/event.h>
#include <stdio.h>
#include <unistd.h>

#include "base/bug.h"
#include "io/conn.h"
#include "io/h2_flow.h"
#include "io/dns_server.h"
#include "io/dns_tcp.h"
#include "io/http_flow.h"
#include "io/listener.h"
#include "io/log_sink.h"
#include "io/reload_revoke.h"
#include "io/resolver.h"
#include "io/sni_flow.h"
#include "io/snapshot.h"
#include "io/upstream_pool.h"
#include "policy/scan.h"

/* How long an idle upstream connection stays in the pool. */
#define WORKER_LOOP_POOL_IDLE_MS 30000

static void worker_loop_on_swap(evutil_socket_t fd, short what, void *arg);
static void worker_loop_on_drain(evutil_socket_t fd, short what, void *arg);
static void worker_loop_on_revoke(evutil_socket_t fd, short what, void *arg);

/* Everything but the listeners: loop, log, resolver, pool. */
static int worker_loop_init_base(struct worker *w, struct snapshot *snap, struct addr_cache *cache,
				 unsigned index, unsigned n_workers)
{
	const struct config *cfg = snap->cfg;

	worker_init(w, snap, index, n_workers);
	/* The changelist folds the add/del pairs of one loop turn (read off, write on, back) into
	 * at most one epoll_ctl per descriptor. */
	struct event_config *ec = event_config_new();
	if (ec) {
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		w->base = event_base_new_with_config(ec);
		event_config_free(ec);
	}
	if (!w->base) {
		fprintf(stderr, "sluice: cannot create the event loop\n");
		return -1;
	}
	w->log = log_sink_new(w->base, STDOUT_FILENO, &w->bufs);
	w->resolver = resolver_new(w->base, cfg, cache);
	w->pool = upstream_pool_new(w->base, WORKER_LOOP_POOL_IDLE_MS, &w->metrics);
	w->swap_ev = event_new(w->base, -1, 0, worker_loop_on_swap, w);
	w->drain_ev = event_new(w->base, -1, 0, worker_loop_on_drain, w);
	w->revoke_ev = evtimer_new(w->base, worker_loop_on_revoke, w);
	if (!w->log || !w->resolver || !w->pool || !w->swap_ev || !w->drain_ev || !w->revoke_ev) {
		fprintf(stderr, "sluice: cannot set up the worker (resolver, pool or log)\n");
		worker_loop_fini(w);
		return -1;
	}
	return 0;
}

/* One listener per address, its clients speaking ops. */
static int worker_loop_listen(struct worker *w, const struct config_endpoint *at, unsigned n,
			      const struct flow_ops *ops)
{
	for (unsigned i = 0; i < n; i++) {
		BUG_ON(w->n_listeners >= WORKER_MAX_LISTENERS);
		struct listener *l = listener_new(w, &at[i], ops);
		if (!l)
			return -1;
		w->listeners[w->n_listeners++] = l;
	}
	return 0;
}

int worker_loop_init(struct worker *w, struct snapshot *snap, struct addr_cache *cache,
		     unsigned index, unsigned n_workers)
{
	const struct config *cfg = snap->cfg;

	if (worker_loop_init_base(w, snap, cache, index, n_workers) != 0)
		return -1;
	if (worker_loop_listen(w, cfg->listen_http, cfg->n_listen_http, &http_flow_ops) != 0 ||
	    worker_loop_listen(w, cfg->listen_dns, cfg->n_listen_dns, &dns_tcp_ops) != 0 ||
	    worker_loop_listen(w, cfg->listen_transparent_http, cfg->n_listen_transparent_http,
			       &transparent_http_ops) != 0 ||
	    worker_loop_listen(w, cfg->listen_transparent_tls, cfg->n_listen_transparent_tls,
			       &sni_flow_ops) != 0) {
		worker_loop_fini(w);
		return -1;
	}
	w->dns = dns_server_new(w);
	if (!w->dns) {
		worker_loop_fini(w);
		return -1;
	}
	return 0;
}

/* Closes the fds from index `from` on that are (udp) or are not (!udp) DNS over UDP. */
static void worker_loop_close_fds(const struct worker_loop_fd *fds, unsigned from, unsigned n,
				  bool udp)
{
	for (unsigned i = from; i < n; i++)
		if ((fds[i].serves == WORKER_LOOP_DNS_UDP) == udp)
			close(fds[i].fd);
}

/* The DNS server takes the UDP sockets; every other one is a listener with its protocol. */
static int worker_loop_adopt(struct worker *w, const struct worker_loop_fd *fds, unsigned n)
{
	static const struct flow_ops *const ops[WORKER_LOOP_N_SERVES] = {
	    [WORKER_LOOP_HTTP] = &http_flow_ops,
	    [WORKER_LOOP_DNS_TCP] = &dns_tcp_ops,
	    [WORKER_LOOP_TRANSPARENT_HTTP] = &transparent_http_ops,
	    [WORKER_LOOP_TRANSPARENT_TLS] = &sni_flow_ops,
	};
	int udp[CONFIG_MAX_LISTEN];
	unsigned n_udp = 0;

	for (unsigned i = 0; i < n; i++)
		if (fds[i].serves == WORKER_LOOP_DNS_UDP)
			udp[n_udp++] = fds[i].fd;
	w->dns = dns_server_adopt(w, udp, n_udp);
	if (!w->dns) {
		worker_loop_close_fds(fds, 0, n, false);
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (fds[i].serves == WORKER_LOOP_DNS_UDP)
			continue;
		struct listener *l = listener_adopt(w, fds[i].fd, ops[fds[i].serves]);
		if (!l) {
			/* listener_adopt closed fds[i]; the rest are still ours */
			worker_loop_close_fds(fds, i + 1, n, false);
			return -1;
		}
		w->listeners[w->n_listeners++] = l;
	}
	return 0;
}

int worker_loop_init_adopt(struct worker *w, struct snapshot *snap, struct addr_cache *cache,
			   const struct worker_loop_fd *fds, unsigned n_fds)
{
	unsigned n_udp = 0;

	for (unsigned i = 0; i < n_fds; i++) {
		BUG_ON(fds[i].serves >= WORKER_LOOP_N_SERVES);
		n_udp += fds[i].serves == WORKER_LOOP_DNS_UDP;
	}
	if (n_udp > CONFIG_MAX_LISTEN || n_fds - n_udp > WORKER_MAX_LISTENERS ||
	    worker_loop_init_base(w, snap, cache, 0, 1) != 0) {
		worker_loop_close_fds(fds, 0, n_fds, true);
		worker_loop_close_fds(fds, 0, n_fds, false);
		return -1;
	}
	if (worker_loop_adopt(w, fds, n_fds) != 0) {
		worker_loop_fini(w);
		return -1;
	}
	return 0;
}

void worker_loop_fini(struct worker *w)
{
	/* Whatever is still open when the loop has ended is cut by the shutdown (a drain deadline,
	 * a second SIGTERM, or no drain at all). */
	w->draining = false;
	while (w->conns)
		conn_close(w->conns, REASON_SHUTDOWN);
	/* Let the deferred frees run. A break scheduled by worker_loop_stop may still be pending
	 * and end the first turn before they do: turn until every closed connection is freed. */
	for (int turn = 0; w->base && w->pending_frees > 0 && turn < 100; turn++)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	for (unsigned i = 0; i < w->n_listeners; i++)
		listener_free(w->listeners[i]);
	w->n_listeners = 0;
	dns_server_free(w->dns);
	w->dns = NULL;
	upstream_pool_free(w->pool);
	if (w->swap_ev)
		event_free(w->swap_ev);
	if (w->drain_ev)
		event_free(w->drain_ev);
	if (w->revoke_ev)
		event_free(w->revoke_ev);
	if (w->approval_ev) {
		approval_store_set_wake(w->approvals, w->index, NULL);
		event_free(w->approval_ev);
	}
	if (w->census_ev) {
		census_set_wake(w->census, w->index, NULL);
		event_free(w->census_ev);
	}
	resolver_free(w->resolver);
	log_sink_free(w->log);
	if (w->base)
		event_base_free(w->base);
	worker_fini(w);
}

int worker_loop_run(struct worker *w)
{
	int rc = event_base_dispatch(w->base) < 0 ? -1 : 0;
	scan_thread_fini(); /* the Hyperscan scratch space of this, the worker's, thread */
	return rc;
}

static void worker_loop_on_stop(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

void worker_loop_stop(struct worker *w)
{
	static const struct timeval now = {0, 0};

	/* Through an event, not event_base_loopbreak() alone: a loop that starts clears any break
	 * asked for before, so a stop that came before the thread reached its loop was lost and
	 * pthread_join waited for ever (`sluice jail -- CMD` whose CMD exits at once). */
	if (event_base_once(w->base, -1, EV_TIMEOUT, worker_loop_on_stop, w->base, &now) != 0)
		event_base_loopbreak(w->base);
}

/* Runs on the worker's thread. */
static void worker_loop_on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct conn *next;

	if (w->draining)
		return;
	w->draining = true;
	/* Closing the listening sockets (not just ignoring them) makes the kernel refuse new
	 * connections instead of queueing them in a backlog nobody will accept from. */
	for (unsigned i = 0; i < w->n_listeners; i++)
		listener_free(w->listeners[i]);
	w->n_listeners = 0;
	/* Likewise the DNS sockets; a lookup still in flight goes unanswered (the client asks
	 * again, elsewhere). */
	dns_server_free(w->dns);
	w->dns = NULL;
	/* An idle keep-alive connection has nothing in flight: nothing is lost by closing it. */
	for (struct conn *c = w->conns; c; c = next) {
		next = c->next;
		if (c->state == CONN_READ_HEAD && buf_len(&c->cin) == 0 && c->req.started_ms == 0)
			conn_close(c, REASON_SHUTDOWN);
		else if (c->state == CONN_H2_SESSION)
			h2_flow_drain(c); /* GOAWAY: its streams finish, no new one starts */
	}
	atomic_store(&w->drain_left, (int)w->n_conns);
	worker_conn_ended(w);
}

void worker_loop_drain(struct worker *w)
{
	event_active(w->drain_ev, EV_TIMEOUT, 0);
}

int worker_loop_drain_left(struct worker *w)
{
	return atomic_load(&w->drain_left);
}

static void worker_loop_on_revoke(evutil_socket_t fd, short what, void *arg)
{
	reload_revoke_sweep(arg);
}

/* Open tunnels get timeouts.reload_revoke to end on their own before they are judged again.
 * A sweep already pending keeps its earlier time: it judges by the newest snapshot anyway. */
static void worker_loop_arm_revoke(struct worker *w)
{
	unsigned ms = w->cfg->reload_revoke_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	if (ms > 0 && !evtimer_pending(w->revoke_ev, NULL))
		evtimer_add(w->revoke_ev, &tv);
}

/* Runs on the worker's thread: the posted snapshot becomes current. */
static void worker_loop_on_swap(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct snapshot *next = atomic_exchange(&w->pending, NULL);

	if (!next)
		return;
	worker_swap_snapshot(w, next);
	/* Changed servers: main has flushed the shared cache already, once for every worker. */
	if (resolver_set_servers(w->resolver, next->cfg) != 0)
		fprintf(stderr,
			"sluice: reload: worker %u: the resolver did not take the new "
			"resolver.servers yet; it tries again when idle\n",
			w->index);
	/* A route's upstream may have moved, and TLS sessions were verified with the CA files as
	 * they were (the new snapshot re-read them). */
	upstream_pool_drop_routes(w->pool);
	worker_loop_arm_revoke(w);
}

void worker_loop_post_snapshot(struct worker *w, struct snapshot *snap)
{
	snapshot_ref(snap);
	snapshot_unref(atomic_exchange(&w->pending, snap));
	event_active(w->swap_ev, EV_TIMEOUT, 0);
}

static void worker_loop_on_approval(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	hold_on_wake(w);
	dns_server_on_approval(w->dns);
}

static void worker_loop_on_census(evutil_socket_t fd, short what, void *arg)
{
	conn_census_answer(arg);
}

int worker_loop_set_console(struct worker *w, struct approval_store *store,
			    struct event_ring *events, struct census *census)
{
	w->events = events;
	if (census) {
		w->census_ev = event_new(w->base, -1, 0, worker_loop_on_census, w);
		if (!w->census_ev)
			return -1;
		w->census = census;
		census_set_wake(census, w->index, w->census_ev);
	}
	if (!store)
		return 0;
	w->approval_ev = event_new(w->base, -1, 0, worker_loop_on_approval, w);
	if (!w->approval_ev)
		return -1;
	w->approvals = store;
	approval_store_set_wake(store, w->index, w->approval_ev);
	return 0;
}
