/* http_head: the heads sluice rebuilds for a forwarded exchange — the request head it sends the
 * upstream (origin-form target, its own Host, end-to-end headers only, Via, a route's header
 * rules) and the response head it sends the client (end-to-end headers, framing, Connection).
 * Does not parse heads (parse/http1 does), decide anything, or write to a socket. */
#ifndef SLUICE_EMIT_HTTP_HEAD_H
#define SLUICE_EMIT_HTTP_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "parse/http1.h"
#include "policy/route.h"

/* One text put in place of another as a head is written: a credential's placeholder by its
 * secret in the field the credential names (or its query parameter), and on the way back its
 * secret by the placeholder in every response field (policy/credentials). */
#define HTTP_HEAD_SWAP_ALL (-1)	  /* in every field */
#define HTTP_HEAD_SWAP_QUERY (-2) /* from is "name=value": that query parameter of the target */
struct http_head_swap {
	int header; /* the request field's index, or one of the two above */
	struct slice from, to;
};

/* What the request head sent upstream is made of. */
struct http_head_request {
	const struct http1_request *req; /* the head as the client sent it */
	struct slice path;		 /* its target's path and query; "" and "?q" mean "/" */
	const char *host;		 /* the Host sent: the destination or a route's upstream */
	uint16_t port;
	uint16_t default_port;	   /* the scheme's (80, or 443 for https): left out of Host */
	const struct route *route; /* its path rewrite and header rules; NULL when none */
	const char *via;	   /* our pseudonym: "Via: 1.1 <via>" */
	bool websocket; /* a WebSocket handshake: Connection: Upgrade and Upgrade: websocket kept */
	const struct http_head_swap *swaps; /* credentials put in; n_swaps of them */
	unsigned n_swaps;
};

/* Appends the request head to out, which never grows past cap: the method, the origin-form
 * target (rewritten on a route), HTTP/1.0 for a 1.0 client and HTTP/1.1 otherwise, Host, every
 * end-to-end header but the client's Host (and, on a route, those it removes or sets), the
 * route's set headers, Transfer-Encoding: chunked for a chunked body, and Via. Returns false
 * when it does not fit (out then holds part of it). */
bool http_head_format_request(const struct http_head_request *h, struct buf *out, size_t cap);

/* Appends the head sent to the client for one upstream response (a 1xx interim one or the
 * final one) to out, which never grows past cap: the status line in HTTP/1.1 with the
 * upstream's reason phrase and every end-to-end header; for a final response also
 * Transfer-Encoding: chunked when its body is chunked, and Connection: close when the client
 * connection is not kept (or Connection: keep-alive when it is, for an HTTP/1.0 client).
 * Returns false when it does not fit. */
/* The head of a 101 that accepts a WebSocket handshake: the status line, the end-to-end headers,
 * Connection: Upgrade and Upgrade: websocket. False when it does not fit. */
bool http_head_format_switch(const struct http1_response *resp, const struct http_head_swap *swaps,
			     unsigned n_swaps, struct buf *out, size_t cap);
/* swaps (HTTP_HEAD_SWAP_ALL ones) apply to every field value of both. */
bool http_head_format_response(const struct http1_response *resp, bool keep_alive, int client_minor,
			       const struct http_head_swap *swaps, unsigned n_swaps,
			       struct buf *out, size_t cap);

#endif
