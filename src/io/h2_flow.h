/* h2_flow: HTTP/2 (RFC 9113) on the TLS session of an intercepted client that chose it in ALPN,
 * through nghttp2. Each stream becomes a connection of its own (conn_child_new) carrying one
 * HTTP/1.1 request that http_flow judges and forwards as it does every intercepted request;
 * h2_flow writes the stream's head and body to it in HTTP/1.1 and turns its HTTP/1.1 response
 * back into HEADERS and DATA. Does not judge, resolve or connect: the streams' requests do. */
#ifndef SLUICE_IO_H2_FLOW_H
#define SLUICE_IO_H2_FLOW_H

#include "io/flow.h"

/* Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
#define H2_MAX_STREAMS 100

struct conn;

/* The tunnel_check exit for a session that chose "h2": takes the connection over (its req holds
 * the CONNECT: dest and credentials; c->proto the exit, whose start_stream runs each stream's
 * request) and reads the client's preface. -1 when out of memory. */
int h2_flow_carry(struct conn *c);
/* The worker drains: the session says GOAWAY, lets its streams finish, then ends. */
void h2_flow_drain(struct conn *c);

extern const struct flow_ops h2_flow_ops;

#endif
