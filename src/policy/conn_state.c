#include "policy/conn_state.h"

#include "base/bug.h"

static const char *const conn_state_names[CONN_STATE__COUNT] = {
    [CONN_READ_HEAD] = "read_head",
    [CONN_RESOLVING] = "resolving",
    [CONN_CONNECTING] = "connecting",
    [CONN_FORWARDING] = "forwarding",
    [CONN_TUNNEL] = "tunnel",
    [CONN_REPLYING] = "replying",
    [CONN_HELD] = "held",
    [CONN_TUNNEL_CHECK] = "tunnel_check",
    [CONN_TLS_ACCEPT] = "tls_accept",
    [CONN_H2_SESSION] = "h2_session",
    [CONN_CLOSED] = "closed",
};

#define TO(s) (1u << (s))

/* Where each state may go (docs/internals/connections.md, "Transitions"). Any state may close;
 * nothing leaves closed. A request is judged in read_head and goes to resolving (a name not in
 * the DNS cache), connecting (a handshake in progress), or straight to forwarding or tunnel
 * (connected at once, or a pooled connection); any of those may end in sluice's own reply.
 * connecting stays connecting from one judged address to the next, and from TCP to TLS. A
 * stale pooled connection sends the request again from forwarding, on a new connection. An
 * exchange or a reply done, the connection reads the next head. A tunnel whose first bytes
 * are judged (tunnel_check) opens, or carries HTTP (read_head), or is refused (replying: a TLS
 * alert), or, intercepted, has its TLS terminated (tls_accept), which then carries HTTP/1.1
 * (read_head) or HTTP/2 (h2_session, whose streams are connections of their own); a session
 * only ends.
 * A WebSocket handshake's 101 makes forwarding a tunnel. A tunnel only ends. A request held
 * for an operator's answer (held) is read again from its head once answered. */
static const unsigned conn_state_moves[CONN_STATE__COUNT] = {
    [CONN_READ_HEAD] = TO(CONN_RESOLVING) | TO(CONN_CONNECTING) | TO(CONN_FORWARDING) |
		       TO(CONN_TUNNEL_CHECK) | TO(CONN_TUNNEL) | TO(CONN_REPLYING) | TO(CONN_HELD) |
		       TO(CONN_CLOSED),
    [CONN_HELD] = TO(CONN_READ_HEAD) | TO(CONN_CLOSED),
    [CONN_RESOLVING] = TO(CONN_CONNECTING) | TO(CONN_FORWARDING) | TO(CONN_TUNNEL_CHECK) |
		       TO(CONN_TUNNEL) | TO(CONN_REPLYING) | TO(CONN_CLOSED),
    [CONN_CONNECTING] = TO(CONN_CONNECTING) | TO(CONN_FORWARDING) | TO(CONN_TUNNEL_CHECK) |
			TO(CONN_TUNNEL) | TO(CONN_REPLYING) | TO(CONN_CLOSED),
    [CONN_TUNNEL_CHECK] = TO(CONN_TUNNEL) | TO(CONN_READ_HEAD) | TO(CONN_TLS_ACCEPT) |
			  TO(CONN_REPLYING) | TO(CONN_CLOSED),
    [CONN_TLS_ACCEPT] = TO(CONN_READ_HEAD) | TO(CONN_H2_SESSION) | TO(CONN_CLOSED),
    [CONN_H2_SESSION] = TO(CONN_CLOSED),
    [CONN_FORWARDING] = TO(CONN_READ_HEAD) | TO(CONN_CONNECTING) | TO(CONN_FORWARDING) |
			TO(CONN_TUNNEL) | TO(CONN_REPLYING) | TO(CONN_CLOSED),
    [CONN_TUNNEL] = TO(CONN_CLOSED),
    [CONN_REPLYING] = TO(CONN_READ_HEAD) | TO(CONN_CLOSED),
    [CONN_CLOSED] = 0,
};

const char *conn_state_name(enum conn_state s)
{
	BUG_ON((unsigned)s >= CONN_STATE__COUNT);
	return conn_state_names[s];
}

bool conn_state_allows(enum conn_state from, enum conn_state to)
{
	BUG_ON((unsigned)from >= CONN_STATE__COUNT || (unsigned)to >= CONN_STATE__COUNT);
	return (conn_state_moves[from] & TO(to)) != 0;
}
