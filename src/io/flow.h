/* flow: what a protocol gives the connection core — one table of callbacks that conn dispatches
 * a connection's socket events through, and that upstream reports the upstream's set-up to.
 * Does not hold state or know any protocol: http_flow and tunnel each export a table. */
#ifndef SLUICE_IO_FLOW_H
#define SLUICE_IO_FLOW_H

#include <stdbool.h>

#include "policy/reason.h"

struct conn;
struct authority;
struct agent_credentials;

/* A connection runs one protocol at a time (c->ops), chosen at accept by its listener and
 * switched at most once (conn_switch_ops: HTTP hands a CONNECT, and the transparent TLS listener
 * a judged ClientHello, over to the tunnel). Every slot
 * is set; none is called on a closed connection. */
struct flow_ops {
	const char *name; /* "http1", "transparent_http", "transparent_tls", "tunnel", "dns" */
	void (*on_client_readable)(struct conn *c);
	void (*on_client_writable)(struct conn *c);
	void (*on_upstream_readable)(struct conn *c);
	void (*on_upstream_writable)(struct conn *c);
	/* The upstream is connected (TLS done), or was taken from the pool. */
	void (*on_upstream_ready)(struct conn *c);
	/* The upstream could not be had: why, and a detail for the reply (may be NULL). The
	 * upstream half is already closed. */
	void (*on_upstream_failed)(struct conn *c, enum reason why, const char *detail);
	/* Refuses the request in flight in the protocol's own bytes and closes once that is
	 * written: what conn's timer does when a head, DNS, connect or upstream timeout runs out,
	 * and what reload_revoke does to a tunnel a reload denies before it opens. HTTP's is an
	 * HTTP reply (conn_reply_error), the transparent TLS listener's a TLS alert. */
	void (*refuse)(struct conn *c, enum reason why, const char *detail);
	/* Frees what the protocol holds beyond conn's own sockets and buffers: when it is switched
	 * away from, and when the connection closes. */
	void (*release)(struct conn *c);
};

/* Where a checked tunnel goes that carries HTTP (tunnel_check, then tls_accept for an
 * intercepted one): set by the protocol that hands the connection over (http_flow) in c->proto,
 * so that neither needs any of it. */
struct tunnel_check_exit {
	/* Takes the connection over, reading the request in cin. -1 when out of memory. */
	int (*carry_http)(struct conn *c);
	/* The same inside sluice's TLS session with the client (c->ctls), once tls_accept has it
	 * up: each request is intercepted HTTPS. */
	int (*carry_https)(struct conn *c);
	/* The same when the client chose HTTP/2 in ALPN (io/h2_flow): each stream is a request,
	 * on a connection of conn_child_new speaking stream_ops, started by start_stream with its
	 * HTTP/1.1 head in cin, bound to the tunnel's dest and credentials. start_stream returns
	 * -1 when out of memory (nothing started). */
	int (*carry_h2)(struct conn *c);
	const struct flow_ops *stream_ops;
	int (*start_stream)(struct conn *c, const struct authority *dest,
			    const struct agent_credentials *cred, bool has_cred);
};

#endif
