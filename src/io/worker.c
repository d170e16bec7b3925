#include "io/worker.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "io/conn.h"
#include "io/listener.h"
#include "io/log_sink.h"
#include "io/resolver.h"
#include "io/upstream.h"

/* How long an idle upstream connection stays in the pool. */
#define WORKER_POOL_IDLE_MS 30000

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

int worker_init(struct worker *w, const struct config *cfg, unsigned index, unsigned n_workers)
{
	memset(w, 0, sizeof(*w));
	w->cfg = cfg;
	w->index = index;
	w->max_conns = (cfg->max_connections + n_workers - 1) / n_workers;
	worker_via_pseudonym(w->via, sizeof(w->via));
	pipe_pool_init(&w->pipes);
	/* A knob for measuring the tunnel relay both ways (bench/): auto, always or never. */
	const char *splice = getenv("SLUICE_TUNNEL_SPLICE");
	w->splice_mode = !splice || strcmp(splice, "auto") == 0 ? SPLICE_AUTO
			 : strcmp(splice, "always") == 0            ? SPLICE_ALWAYS
								    : SPLICE_NEVER;
	w->base = event_base_new();
	if (!w->base) {
		fprintf(stderr, "sluice: cannot create the event loop\n");
		return -1;
	}
	w->log = log_sink_new(w->base, STDOUT_FILENO);
	w->resolver = resolver_new(w->base, cfg);
	w->pool = upstream_pool_new(w->base, WORKER_POOL_IDLE_MS);
	if (!w->log || !w->resolver || !w->pool) {
		fprintf(stderr, "sluice: cannot set up the worker (resolver, pool or log)\n");
		worker_fini(w);
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_listen_http; i++) {
		struct listener *l = listener_new(w, &cfg->listen_http[i]);
		if (!l) {
			worker_fini(w);
			return -1;
		}
		w->listeners[w->n_listeners++] = l;
	}
	return 0;
}

void worker_fini(struct worker *w)
{
	while (w->conns)
		conn_close(w->conns, REASON_INTERNAL);
	/* Let the deferred frees run. */
	if (w->base)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
	for (unsigned i = 0; i < w->n_listeners; i++)
		listener_free(w->listeners[i]);
	w->n_listeners = 0;
	upstream_pool_free(w->pool);
	pipe_pool_fini(&w->pipes);
	resolver_free(w->resolver);
	log_sink_free(w->log);
	if (w->base)
		event_base_free(w->base);
	memset(w, 0, sizeof(*w));
}

int worker_run(struct worker *w)
{
	return event_base_dispatch(w->base) < 0 ? -1 : 0;
}

void worker_stop(struct worker *w)
{
	event_base_loopbreak(w->base);
}
