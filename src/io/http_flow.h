/* http_flow: drives one HTTP request at a time through a connection — head parsing and target
 * checks, the decision, forwarding the rewritten head and the body, relaying the response,
 * keep-alive and pipelining. Does not resolve or connect (upstream does) or relay tunnels. */
#ifndef SLUICE_IO_HTTP_FLOW_H
#define SLUICE_IO_HTTP_FLOW_H

#include "policy/reason.h"

struct conn;

void http_flow_on_client_readable(struct conn *c);
void http_flow_on_client_writable(struct conn *c);
void http_flow_on_upstream_readable(struct conn *c);
void http_flow_on_upstream_writable(struct conn *c);
/* The upstream is connected (or taken from the pool): start forwarding. */
void http_flow_start_forwarding(struct conn *c);
/* Refuses the current request with sluice's own reply; keeps the client connection when the
 * request had no body and the client wants keep-alive. */
void http_flow_refuse(struct conn *c, enum reason why, const char *detail);

#endif
