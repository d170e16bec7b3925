#include "io/tunnel.h"

#include <sys/socket.h>

#include "io/conn.h"
#include "io/worker.h"

#define TUNNEL_BUF (64 * 1024)

static const char tunnel_established[] = "HTTP/1.1 200 Connection established\r\n\r\n";

/* Moves what `from_buf` holds to `to_fd`, then reads more from `from_fd` while the
 * destination keeps up. Returns false when the connection was closed. Each direction
 * half-closes on its own (RFC 9110 §9.3.6: a CONNECT tunnel ends when both sides close). */
static bool tunnel_move(struct conn *c, int from_fd, int to_fd, struct buf *from_buf,
			bool *from_eof, bool *to_shut, uint64_t *counter, bool to_is_client)
{
	for (;;) {
		while (buf_len(from_buf) > 0) {
			ssize_t n = conn_write_from(to_fd, from_buf, buf_len(from_buf));
			if (n == -1) {
				/* Backpressure: stop reading until the other side drains. */
				if (to_is_client) {
					conn_want_client_write(c, true);
					conn_want_upstream_read(c, false);
				} else {
					conn_want_upstream_write(c, true);
					conn_want_client_read(c, false);
				}
				return true;
			}
			if (n < 0) {
				conn_close(c, to_is_client ? REASON_CLIENT_CLOSED : REASON_ALLOWED);
				return false;
			}
			*counter += (uint64_t)n;
			conn_touch(c);
		}
		if (to_is_client)
			conn_want_client_write(c, false);
		else
			conn_want_upstream_write(c, false);
		if (*from_eof)
			break;
		ssize_t n = conn_read_into(from_fd, from_buf, TUNNEL_BUF);
		if (n == -1)
			break;
		if (n <= 0) {
			*from_eof = true;
			break;
		}
	}
	if (*from_eof && !*to_shut) {
		shutdown(to_fd, SHUT_WR);
		*to_shut = true;
	}
	if (to_is_client)
		conn_want_upstream_read(c, !*from_eof);
	else
		conn_want_client_read(c, !*from_eof);
	if (c->c_eof && c->u_eof && buf_len(&c->cin) == 0 && buf_len(&c->uin) == 0) {
		conn_close(c, REASON_ALLOWED);
		return false;
	}
	return true;
}

static void tunnel_up(struct conn *c)
{
	tunnel_move(c, c->cfd, c->ufd, &c->cin, &c->c_eof, &c->u_shut_wr, &c->req.bytes_up, false);
}

static void tunnel_down(struct conn *c)
{
	/* The 200 goes out before any upstream byte. */
	while (buf_len(&c->cout) > 0) {
		ssize_t n = conn_write_from(c->cfd, &c->cout, buf_len(&c->cout));
		if (n == -1) {
			conn_want_client_write(c, true);
			conn_want_upstream_read(c, false);
			return;
		}
		if (n < 0) {
			conn_close(c, REASON_CLIENT_CLOSED);
			return;
		}
	}
	tunnel_move(c, c->ufd, c->cfd, &c->uin, &c->u_eof, &c->c_shut_wr, &c->req.bytes_down,
		    true);
}

void tunnel_start(struct conn *c)
{
	c->state = CONN_TUNNEL;
	c->req.status = 200;
	if (!buf_append(&c->cout, tunnel_established, sizeof(tunnel_established) - 1,
			sizeof(tunnel_established))) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	conn_set_timeout(c, c->w->cfg->tunnel_idle_ms, REASON_TUNNEL_IDLE);
	/* Bytes the client sent right after the CONNECT head are already the tunnel's. */
	tunnel_down(c);
	if (!c->closed && buf_len(&c->cout) == 0)
		tunnel_up(c);
}

void tunnel_on_client_readable(struct conn *c)
{
	tunnel_up(c);
}

void tunnel_on_upstream_writable(struct conn *c)
{
	tunnel_up(c);
}

void tunnel_on_upstream_readable(struct conn *c)
{
	tunnel_down(c);
}

void tunnel_on_client_writable(struct conn *c)
{
	bool had_reply = buf_len(&c->cout) > 0;
	tunnel_down(c);
	/* Once the 200 is out, client → upstream may start too. */
	if (had_reply && !c->closed && buf_len(&c->cout) == 0)
		tunnel_up(c);
}

void tunnel_release(struct conn *c)
{
	(void)c;
}
