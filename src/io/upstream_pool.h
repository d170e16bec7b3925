/* upstream_pool: a worker's idle keep-alive upstream connections, keyed by the judged address
 * and port (and, for a route, what the connection was opened and verified for); each is closed
 * when it turns readable or stays idle too long. Does not connect, judge or know requests. */
#ifndef SLUICE_IO_UPSTREAM_POOL_H
#define SLUICE_IO_UPSTREAM_POOL_H

#include <stdint.h>

#include "base/ip_addr.h"

struct event_base;
struct metrics;
struct upstream_pool;
struct upstream_sock;

/* metrics: the worker's counters, where parked connections are kept as a gauge. NULL when out
 * of memory. */
struct upstream_pool *upstream_pool_new(struct event_base *base, unsigned idle_ms,
					struct metrics *metrics);
void upstream_pool_free(struct upstream_pool *pool);
/* Parks a clean keep-alive connection, with its TLS session if it has one, under the key it was
 * opened for (s->ip, s->port, s->route_id), or closes it when the pool is full; the pool owns s
 * from here. Its read interest stays registered: readable while parked means closed or junk (or,
 * with TLS, records that carry no data). */
void upstream_pool_put(struct upstream_pool *pool, struct upstream_sock *s);
/* Closes every parked route connection, plain and TLS (after a reload: an upstream may have
 * moved, CA files were re-read). */
void upstream_pool_drop_routes(struct upstream_pool *pool);
/* A live idle connection to exactly ip:port with the same route_id, or NULL. offers_h2: the
 * request would offer h2 (it gets only connections that did; one that chose HTTP/1.1 is fine);
 * otherwise it gets only HTTP/1.1 connections. The caller owns it and hands its events on
 * (upstream_sock_hand); its read interest is still registered. */
struct upstream_sock *upstream_pool_take(struct upstream_pool *pool, const char *route_id,
					 const struct ip_addr *ip, uint16_t port, bool offers_h2);

#endif
