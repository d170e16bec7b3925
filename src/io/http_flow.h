/* http_flow: the HTTP/1.x protocol — drives one request at a time through a connection: head
 * parsing and target checks, the decision, forwarding the rewritten head and the body, relaying
 * the response, keep-alive and pipelining; a CONNECT is handed over to the tunnel. Does not
 * resolve or connect (upstream does), build head bytes (emit/http_head does) or relay tunnels. */
#ifndef SLUICE_IO_HTTP_FLOW_H
#define SLUICE_IO_HTTP_FLOW_H

#include "io/flow.h"

/* What a connection accepted on a listen.http address speaks first. */
extern const struct flow_ops http_flow_ops;
/* What a connection accepted on a listen.transparent_http address speaks: the same protocol,
 * for clients that do not know a proxy is there — origin-form requests whose Host header
 * names the destination (port: Host's, else the one the client dialled), no CONNECT, identity
 * by source address only. */
extern const struct flow_ops transparent_http_ops;

/* HTTP carried inside a CONNECT tunnel (tunnel_check saw a request line): each request judged
 * as one sent to the proxy, its Host bound to the tunnel's target (else tunnel_host_mismatch),
 * its agent the CONNECT's. */
extern const struct flow_ops tunnel_http_ops;
/* The same inside sluice's TLS session with the client of an intercepted tunnel (tls_accept):
 * each request's upstream is TLS to the tunnel's host, its certificate verified. */
extern const struct flow_ops intercepted_http_ops;

#endif
