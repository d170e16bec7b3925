/* conn_state: the states a client connection goes through, their names, and which moves between
 * them are legal (docs/internals/connections.md). Pure: io/conn holds a connection's state and
 * is the only one to move it (conn_set_state), and a move this table refuses is a bug. */
#ifndef SLUICE_POLICY_CONN_STATE_H
#define SLUICE_POLICY_CONN_STATE_H

#include <stdbool.h>

enum conn_state {
	CONN_READ_HEAD,	   /* waiting for (the rest of) a request head */
	CONN_RESOLVING,	   /* waiting for DNS */
	CONN_CONNECTING,   /* waiting for the upstream TCP (then TLS) handshake */
	CONN_FORWARDING,   /* HTTP request/response in flight */
	CONN_TUNNEL_CHECK, /* CONNECT answered 200: its first bytes are read and judged */
	CONN_TLS_ACCEPT,   /* an intercepted tunnel: sluice's TLS handshake with the client */
	CONN_H2_SESSION,   /* HTTP/2 inside it: streams come and go, each its own request */
	CONN_TUNNEL,	   /* CONNECT established: opaque relay */
	CONN_REPLYING,	   /* sending sluice's own reply, then close or next request */
	CONN_HELD,	   /* the request waits for an operator's answer (io/hold) */
	CONN_CLOSED,	   /* ended (conn_close); freed on the next loop turn */
	CONN_STATE__COUNT
};

/* "read_head", "resolving", ...: the names the docs and the log's "ended" field use. */
const char *conn_state_name(enum conn_state s);
/* True when a connection in `from` may move to `to`. */
bool conn_state_allows(enum conn_state from, enum conn_state to);

#endif
