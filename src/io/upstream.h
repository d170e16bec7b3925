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

struct upstream_pool *upstream_pool_new(struct event_base *base, unsigned idle_ms);
void upstream_pool_free(struct upstream_pool *pool);
/* Parks a clean keep-alive connection for reuse (or closes it when the pool is full). */
void upstream_pool_put(struct upstream_pool *pool, int fd, const struct ip_addr *ip, uint16_t port);
/* A live idle connection to exactly ip:port, or -1. */
int upstream_pool_take(struct upstream_pool *pool, const struct ip_addr *ip, uint16_t port);

#endif
