/* upstream: turns an allowed request into a connected upstream socket — resolve once, judge
 * every answer, connect only to a checked address, reuse pooled keep-alive connections keyed by
 * that address. Does not forward bytes. */
#ifndef SLUICE_IO_UPSTREAM_H
#define SLUICE_IO_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "base/ip_addr.h"

struct conn;
struct event_base;
struct metrics;
struct tls_client;
struct upstream_pool;

/* Starts resolve → check → connect for c->req.dest; ends in http_flow_start_forwarding or
 * tunnel_start, or in a refusal. */
void upstream_start(struct conn *c);
void upstream_on_connect_done(struct conn *c);
/* Socket readiness while an upstream TLS handshake is in progress. */
void upstream_on_tls_event(struct conn *c);
/* After a failed or timed-out attempt: tries the next checked address. False when none left. */
bool upstream_try_next(struct conn *c);
/* A pooled connection closed before answering a replayable request (the upstream dropped it
 * just as it was reused, RFC 9112 §9.3.1): sends the request again, once, on a new connection
 * to the same address. False when that does not apply (nothing done). */
bool upstream_retry_stale(struct conn *c);

/* The exchange on c is over: parks its upstream connection for reuse when it is clean (the
 * upstream allowed keep-alive, the request went out whole, nothing unread is left), else
 * closes it. c keeps no upstream either way. */
void upstream_park(struct conn *c);

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
