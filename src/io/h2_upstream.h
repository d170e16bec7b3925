/* h2_upstream: HTTP/2 toward an upstream whose TLS chose "h2" in ALPN, spoken for one HTTP/1.1
 * request at a time. http_flow writes its request as HTTP/1.1 bytes and reads the response as
 * HTTP/1.1 bytes, as through any upstream socket; here they become one stream's HEADERS and
 * DATA, and the answer's HEADERS, DATA and trailers become a head and a body again (chunked
 * when the upstream gave no length, its trailers after the last chunk: gRPC's status travels
 * there). Between requests the connection is pooled as an HTTP/1.1 one is; each request is a
 * new stream on it. Owns no socket: its frames go through the upstream's TLS session. Does not
 * judge, connect or decide where a request goes. */
#ifndef SLUICE_IO_H2_UPSTREAM_H
#define SLUICE_IO_H2_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"

struct tls_session;
struct h2_upstream;

/* Over tls (borrowed: its holder frees it after h2_upstream_free), whose handshake chose h2.
 * The connection preface and SETTINGS go out with the first write. max_head bounds a response
 * head, as for an HTTP/1.1 upstream (http_flow counts its fields). NULL when out of memory. */
struct h2_upstream *h2_upstream_new(struct tls_session *tls, struct buf_cache *cache,
				    size_t max_head);
void h2_upstream_free(struct h2_upstream *h);

/* The same returns as conn_upstream_read and conn_upstream_write. A write takes a request's
 * HTTP/1.1 bytes (its head, then its body by the head's framing); a read gives the response's.
 * A read returns 0 when the upstream closed the connection, -2 when it reset the stream or
 * broke the protocol. */
ssize_t h2_upstream_read(struct h2_upstream *h, struct buf *b, size_t max_cap);
ssize_t h2_upstream_write(struct h2_upstream *h, struct buf *b, size_t n);
/* Response bytes (or TLS bytes) wait that no socket event will announce. */
bool h2_upstream_pending(const struct h2_upstream *h);
/* The last write stopped at the stream's flow-control window, not at the socket: writability
 * will not help, the upstream's WINDOW_UPDATE will (seen by the next read). */
bool h2_upstream_write_blocked(const struct h2_upstream *h);
/* No request in progress, nothing unsent, the session alive: another request may use it. */
bool h2_upstream_reusable(const struct h2_upstream *h);
/* Parked in the pool and readable: takes the frames an idle upstream sends (PING, SETTINGS,
 * WINDOW_UPDATE). False when the connection is no longer reusable (GOAWAY, closed, junk). */
bool h2_upstream_idle_read(struct h2_upstream *h);

#endif
