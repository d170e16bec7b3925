/* worker: one event loop and everything it owns — listeners, resolver, upstream pool, log
 * sink — and the policy snapshot it serves from. Does not parse or decide. */
#ifndef SLUICE_IO_WORKER_H
#define SLUICE_IO_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "io/pipe_pool.h"
#include "parse/config.h"

struct event_base;
struct resolver;
struct upstream_pool;
struct log_sink;
struct listener;
struct conn;

#define WORKER_MAX_LISTENERS CONFIG_MAX_LISTEN

struct worker {
	struct event_base *base;
	const struct config *cfg;
	struct resolver *resolver;
	struct upstream_pool *pool;
	struct log_sink *log;
	struct listener *listeners[WORKER_MAX_LISTENERS];
	unsigned n_listeners;
	unsigned index;     /* 0 .. n-1 */
	unsigned n_conns;
	unsigned max_conns; /* this worker's share of limits.max_connections */
	struct conn *conns; /* every live connection, so shutdown can end them all */
	bool draining;
	/* Our Via pseudonym, random per process: a request that already carries it has looped
	 * back to us (RFC 9110 §7.6.3). */
	char via[24];
	struct pipe_pool pipes;
	enum { SPLICE_AUTO, SPLICE_ALWAYS, SPLICE_NEVER } splice_mode;
};

/* Creates the loop and binds every listen address of cfg (SO_REUSEPORT: each of n_workers
 * has its own sockets). Returns 0, or -1 after saying why on stderr. */
int worker_init(struct worker *w, const struct config *cfg, unsigned index, unsigned n_workers);
void worker_fini(struct worker *w);
/* Runs the loop until worker_stop; meant to be a thread's body. */
int worker_run(struct worker *w);
/* Thread-safe: asks the worker's loop to end. */
void worker_stop(struct worker *w);

#endif
