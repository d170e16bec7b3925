/* upstream: turns an allowed request into a connected upstream socket — resolve once, judge
 * every answer, connect only to a checked address, reuse pooled keep-alive connections keyed by
 * that address (io/upstream_pool keeps them). Does not forward bytes. */
#ifndef SLUICE_IO_UPSTREAM_H
#define SLUICE_IO_UPSTREAM_H

#include <stdbool.h>

struct conn;

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

#endif
