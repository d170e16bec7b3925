/* sni_flow: the transparent TLS listener's protocol — reads the ClientHello a client opens with
 * (without terminating TLS), takes its SNI as the destination, judges it as a CONNECT to that
 * name and the port the client dialled, and hands the connection to the tunnel, which relays
 * the ClientHello upstream first. A refusal is a fatal TLS alert. Does not parse the hello
 * (parse/tls_hello does), resolve or connect (upstream does), or relay (tunnel does). */
#ifndef SLUICE_IO_SNI_FLOW_H
#define SLUICE_IO_SNI_FLOW_H

#include "io/flow.h"

/* What a connection accepted on a listen.transparent_tls address speaks first. */
extern const struct flow_ops sni_flow_ops;

#endif
