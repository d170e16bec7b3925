/* upstream_pool: a worker's idle keep-alive upstream connections, keyed by the judged address
 * and port (and, for a route, what the connection was opened and verified for); each is closed
 * when it turns readable or stays idle too long. Does not connect, judge or know requests. */
#ifndef SLUICE_IO_UPSTREAM_POOL_H
#define SLUICE_IO_UPSTREAM_POOL_H

#include <stdint.h>

#include "base/ip_addr.h"

struct event_base;
struct metrics;
struct tls_client;
struct upstream_pool;

/* metrics: the worker's counters, where parked connections are kept as a gauge. */
struct upstream_pool *upstream_pool_new(struct event_base *base, unsigned idle_ms,
					struct metrics *metrics);
void upstream_pool_free(struct upstream_pool *pool);
/* Parks a clean keep-alive connection, with its TLS session when tls is not NULL, for reuse (or
 * closes it when the pool is full). route_id: the route upstream it was opened for, and under
 * which configuration ("" when not on a route); the pool owns fd and tls from here. */
void upstream_pool_put(struct upstream_pool *pool, int fd, struct tls_client *tls,
		       const char *route_id, const struct ip_addr *ip, uint16_t port);
/* Closes every parked route connection, plain and TLS (after a reload: an upstream may have
 * moved, CA files were re-read). */
void upstream_pool_drop_routes(struct upstream_pool *pool);
/* A live idle connection to exactly ip:port with the same route_id, or -1; *tls gets its TLS
 * session (NULL for plain TCP). The caller owns both. */
int upstream_pool_take(struct upstream_pool *pool, const char *route_id, const struct ip_addr *ip,
		       uint16_t port, struct tls_client **tls);

#endif
