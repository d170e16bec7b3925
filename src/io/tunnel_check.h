/* tunnel_check: a CONNECT tunnel's first bytes, read and judged before it opens (tunnel: in the
 * configuration): a TLS ClientHello's SNI by policy/tunnel_policy, then the tunnel relays it
 * upstream, or, for a tunnel the policy intercepts, is answered by sluice (io/tls_accept); an
 * HTTP request line hands the connection to tunnel_http_ops, each request judged;
 * anything else is refused, unless the port is opaque (then this never runs). Does not parse
 * (parse/tls_hello, parse/http1), decide (policy) or relay (tunnel). */
#ifndef SLUICE_IO_TUNNEL_CHECK_H
#define SLUICE_IO_TUNNEL_CHECK_H

#include "io/flow.h"

struct conn;

/* Installed instead of the tunnel once a CONNECT's upstream is connected (conn_switch_ops, then
 * c->proto = exit); its on_upstream_ready sends the 200 and reads what the client says first. */
extern const struct flow_ops tunnel_check_ops;

#endif
