/* tunnel: the opaque two-way relay behind CONNECT — backpressure, half-close in each
 * direction, an idle timeout. Does not look at the bytes or decide anything. */
#ifndef SLUICE_IO_TUNNEL_H
#define SLUICE_IO_TUNNEL_H

struct conn;

/* The upstream is connected: answer 200 and start relaying. */
void tunnel_start(struct conn *c);
void tunnel_on_client_readable(struct conn *c);
void tunnel_on_client_writable(struct conn *c);
void tunnel_on_upstream_readable(struct conn *c);
void tunnel_on_upstream_writable(struct conn *c);
/* Frees tunnel-only resources (called by conn_close). */
void tunnel_release(struct conn *c);

#endif
