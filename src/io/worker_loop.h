/* worker_loop: a worker's life — creates its event loop, log sink, resolver, upstream pool and
 * listeners (each listen address with the protocol it speaks), runs the loop on a thread, swaps
 * in a reloaded snapshot, drains and stops. Does not serve a connection (conn and its protocol
 * do). */
#ifndef SLUICE_IO_WORKER_LOOP_H
#define SLUICE_IO_WORKER_LOOP_H

#include "io/worker.h"

struct addr_cache;

/* Creates the loop and binds every listen address of cfg (SO_REUSEPORT: each of n_workers
 * has its own sockets). The worker's resolver uses cache, the process's, which must outlive
 * the worker. Returns 0, or -1 after saying why on stderr. */
int worker_loop_init(struct worker *w, struct snapshot *snap, struct addr_cache *cache,
		     unsigned index, unsigned n_workers);
/* What a socket handed to worker_loop_init_adopt serves: the protocol of one of the listen keys. */
enum worker_loop_serves {
	WORKER_LOOP_HTTP,	      /* listen.http (TCP, listening) */
	WORKER_LOOP_DNS_UDP,	      /* listen.dns over UDP (bound) */
	WORKER_LOOP_DNS_TCP,	      /* listen.dns over TCP (listening) */
	WORKER_LOOP_TRANSPARENT_HTTP, /* listen.transparent_http (TCP, listening) */
	WORKER_LOOP_TRANSPARENT_TLS,  /* listen.transparent_tls (TCP, listening) */
	WORKER_LOOP_N_SERVES
};

struct worker_loop_fd {
	int fd;
	enum worker_loop_serves serves;
};

/* Like worker_loop_init for a lone worker, but serves fds, sockets already bound (made inside
 * another network namespace by `sluice jail`), each with the protocol it is given, instead of
 * binding cfg's listen addresses. Takes the fds: they are closed on failure. */
int worker_loop_init_adopt(struct worker *w, struct snapshot *snap, struct addr_cache *cache,
			   const struct worker_loop_fd *fds, unsigned n_fds);
void worker_loop_fini(struct worker *w);
/* Runs the loop until worker_loop_stop; meant to be a thread's body. */
int worker_loop_run(struct worker *w);
/* Thread-safe: asks the worker's loop to end. */
void worker_loop_stop(struct worker *w);
/* Thread-safe: asks the worker to drain: stop accepting (its listening sockets are closed, so
 * the kernel refuses new clients), close idle keep-alive connections at once, let requests and
 * tunnels in flight finish (each keep-alive connection closes after its response), and end the
 * loop when none is left. The deadline is main's: it calls worker_loop_stop when it passes. */
void worker_loop_drain(struct worker *w);
/* Thread-safe: -1 while the drain has not started on the worker's thread yet, else how many
 * connections it had left to drain at that moment. */
int worker_loop_drain_left(struct worker *w);
/* Thread-safe: hands the worker a new snapshot (taking a reference for it). New requests use
 * it; requests in flight finish under the one they started with. */
void worker_loop_post_snapshot(struct worker *w, struct snapshot *snap);
/* Before the loop runs: the console's event ring for this worker's lines, the approval store
 * it holds requests in (it wakes the loop when one is answered) and the census it answers
 * (io/conn_census). Any may be NULL. Returns -1 when out of memory. */
struct approval_store;
struct census;
struct event_ring;
int worker_loop_set_console(struct worker *w, struct approval_store *store,
			    struct event_ring *events, struct census *census);

#endif
