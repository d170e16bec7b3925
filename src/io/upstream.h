/* upstream: turns an allowed request into a connected upstream socket — resolve once, judge
 * every answer, connect only to a checked address, reuse pooled keep-alive connections keyed by
 * that address (io/upstream_pool keeps them). Does not forward bytes. */
#ifndef SLUICE_IO_UPSTREAM_H
#define SLUICE_IO_UPSTREAM_H

#include <stdbool.h>

struct conn;

/* Starts resolve → check → connect for c->req.dest (a route's upstream on a route), and
 * reports how it ended through the connection's protocol: on_upstream_ready, or
 * on_upstream_failed with the reason. Drives the socket meanwhile (conn_setup_ops). */
void upstream_start(struct conn *c);
/* A pooled connection closed before answering a replayable request (the upstream dropped it
 * just as it was reused, RFC 9112 §9.3.1): sends the request again, once, on a new connection
 * to the same address. False when that does not apply (nothing done). */
bool upstream_retry_stale(struct conn *c);

/* The exchange on c is over: parks its upstream connection for reuse when it is clean (the
 * upstream allowed keep-alive, the request went out whole, nothing unread is left), else
 * closes it. c keeps no upstream either way. */
void upstream_park(struct conn *c);

#endif
