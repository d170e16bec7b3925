#include "io/tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "io/conn.h"
#include "io/tls_session.h"
#include "io/worker.h"

/* User-space relay: read size and the most a direction buffers. */
#define TUNNEL_READ 16384
#define TUNNEL_BUF (64 * 1024)
/* Most bytes one splice() moves into the pipe (the pipe's capacity bounds it anyway). */
#define TUNNEL_SPLICE_CHUNK (1 << 20)

struct tunnel_side {
	int from_fd, to_fd;
	struct buf *from_buf;
	bool *from_eof, *to_shut;
	uint64_t *counter;
	struct tunnel_dir *dir;
	bool to_is_client;
};

/* Either side speaks TLS through sluice (an intercepted client, an https route upstream): bytes
 * must be decrypted and sealed again, so nothing is spliced. */
static bool tunnel_tls(const struct conn *c)
{
	return c->ctls || conn_upstream_tls(c);
}

/* The TLS session the direction reads from, NULL for plain TCP. */
static struct tls_session *tunnel_source_tls(const struct conn *c, const struct tunnel_side *s)
{
	return s->to_is_client ? conn_upstream_tls(c) : c->ctls;
}

static ssize_t tunnel_read(struct conn *c, const struct tunnel_side *s)
{
	return s->to_is_client ? conn_upstream_read(c, s->from_buf, TUNNEL_BUF)
			       : conn_client_read(c, s->from_buf, TUNNEL_BUF);
}

static ssize_t tunnel_write(struct conn *c, const struct tunnel_side *s)
{
	size_t n = buf_len(s->from_buf);
	return s->to_is_client ? conn_client_write(c, s->from_buf, n)
			       : conn_upstream_write(c, s->from_buf, n);
}

/* The direction's end: a TLS destination hears close_notify first (RFC 8446 §6.1), then the
 * socket half-closes. */
static void tunnel_shut(struct conn *c, const struct tunnel_side *s)
{
	struct tls_session *to = s->to_is_client ? c->ctls : conn_upstream_tls(c);
	if (to)
		tls_session_shutdown(to);
	shutdown(s->to_fd, SHUT_WR);
}

static void tunnel_block_on_write(struct conn *c, const struct tunnel_side *s)
{
	/* Backpressure: stop reading until the other side drains. */
	if (s->to_is_client) {
		conn_want_client_write(c, true);
		conn_want_upstream_read(c, false);
	} else {
		conn_want_upstream_write(c, true);
		conn_want_client_read(c, false);
	}
}

/* Flushes what the direction holds (user buffer, then pipe). Returns 1 when empty, 0 when
 * the destination is full, -1 when the connection was closed. */
static int tunnel_flush(struct conn *c, const struct tunnel_side *s)
{
	while (buf_len(s->from_buf) > 0) {
		ssize_t n = tunnel_write(c, s);
		if (n == -1)
			return 0;
		if (n < 0) {
			conn_close(c,
				   s->to_is_client ? REASON_CLIENT_CLOSED : REASON_UPSTREAM_CLOSED);
			return -1;
		}
		*s->counter += (uint64_t)n;
		conn_touch(c);
	}
	while (s->dir->in_pipe > 0) {
		ssize_t n = splice(s->dir->pipe[0], NULL, s->to_fd, NULL, s->dir->in_pipe,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			s->dir->in_pipe -= (uint32_t)n;
			*s->counter += (uint64_t)n;
			conn_touch(c);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		conn_close(c, s->to_is_client ? REASON_CLIENT_CLOSED : REASON_UPSTREAM_CLOSED);
		return -1;
	}
	return 1;
}

/* Reads the next bytes of the direction, into the pipe (bulk) or the buffer. Returns 1 when
 * something was read, 2 when that emptied the source, 0 when the source has nothing now, -1
 * at end of stream, -2 when the connection was closed. */
static int tunnel_fill(struct conn *c, const struct tunnel_side *s)
{
	struct worker *w = c->w;
	struct tunnel_dir *d = s->dir;

	if (d->splicing && (d->pipe[0] >= 0 || pipe_pool_take(&w->pipes, d->pipe))) {
		ssize_t n = splice(s->from_fd, NULL, d->pipe[1], NULL, TUNNEL_SPLICE_CHUNK,
				   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			d->in_pipe += (uint32_t)n;
			return 1;
		}
		if (n == 0)
			return -1;
		if (errno == EAGAIN || errno == EINTR) {
			/* Idle: the (empty) pipe goes back to the pool; an idle tunnel holds none.
			 */
			pipe_pool_put(&w->pipes, d->pipe);
			if (w->splice_mode == SPLICE_AUTO)
				d->splicing = false;
			return 0;
		}
		if (errno != EINVAL && errno != ENOSYS) {
			conn_close(c,
				   s->to_is_client ? REASON_UPSTREAM_CLOSED : REASON_CLIENT_CLOSED);
			return -2;
		}
		/* splice unsupported for this pair: copy through user space from now on. */
		pipe_pool_put(&w->pipes, d->pipe);
	}
	d->splicing = false;
	ssize_t n = tunnel_read(c, s);
	if (n == -1)
		return 0;
	if (n == 0)
		return -1;
	if (n < 0) {
		conn_close(c, s->to_is_client ? REASON_UPSTREAM_CLOSED : REASON_CLIENT_CLOSED);
		return -2;
	}
	/* A full read means a bulk transfer: move the rest through a pipe, without copies. */
	if (!tunnel_tls(c) && (w->splice_mode == SPLICE_ALWAYS ||
			       (w->splice_mode == SPLICE_AUTO && n >= TUNNEL_READ)))
		d->splicing = true;
	/* A short read took all the socket had: asking again would only hear EAGAIN, and the
	 * read event (level-triggered) says when more comes — unless TLS still holds bytes,
	 * which no event announces. */
	struct tls_session *tls = tunnel_source_tls(c, s);
	return n < TUNNEL_READ && !(tls && tls_session_pending(tls)) ? 2 : 1;
}

/* Both sides have closed and nothing is left to deliver. */
static bool tunnel_done(const struct conn *c)
{
	return c->c_eof && c->u_eof && buf_len(&c->cin) == 0 && buf_len(&c->uin) == 0 &&
	       c->up.in_pipe == 0 && c->down.in_pipe == 0;
}

/* Moves one direction as far as it goes; reads only when may_read (not when the tunnel has
 * just opened: the source has said nothing yet that its read event would not announce). Each
 * direction half-closes on its own (RFC 9110 §9.3.6: a tunnel ends when both sides have
 * closed). Returns false once closed. */
static bool tunnel_move(struct conn *c, const struct tunnel_side *s, bool may_read)
{
	bool drained = !may_read;

	for (;;) {
		int flushed = tunnel_flush(c, s);
		if (flushed < 0)
			return false;
		if (flushed == 0) {
			tunnel_block_on_write(c, s);
			return true;
		}
		if (*s->from_eof || drained)
			break;
		int filled = tunnel_fill(c, s);
		if (filled == -2)
			return false;
		if (filled == 0)
			break;
		if (filled < 0) {
			*s->from_eof = true;
			break;
		}
		drained = filled == 2;
	}
	if (s->to_is_client)
		conn_want_client_write(c, false);
	else
		conn_want_upstream_write(c, false);
	/* The last side to finish needs no half-close: close() sends the same FIN. */
	if (tunnel_done(c)) {
		conn_close(c, REASON_ALLOWED);
		return false;
	}
	if (*s->from_eof && !*s->to_shut) {
		tunnel_shut(c, s);
		*s->to_shut = true;
	}
	if (s->to_is_client)
		conn_want_upstream_read(c, !*s->from_eof);
	else
		conn_want_client_read(c, !*s->from_eof);
	return true;
}

static void tunnel_up(struct conn *c, bool may_read)
{
	struct tunnel_side s = {c->cfd,	       c->us->fd,	 &c->cin, &c->c_eof,
				&c->u_shut_wr, &c->req.bytes_up, &c->up,  false};
	tunnel_move(c, &s, may_read);
}

static void tunnel_down(struct conn *c, bool may_read)
{
	struct tunnel_side s = {c->us->fd,	    c->cfd,   &c->uin, &c->u_eof, &c->c_shut_wr,
				&c->req.bytes_down, &c->down, true};

	/* The 200 goes out before any upstream byte. */
	while (buf_len(&c->cout) > 0) {
		ssize_t n = conn_client_write(c, &c->cout, buf_len(&c->cout));
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
	conn_log_open(c); /* once: the 200 is out, the tunnel is open */
	tunnel_move(c, &s, may_read);
}

/* The CONNECT's upstream is connected: answer 200 and start relaying. A transparent TLS
 * client (req.tunnel_silent) asked nothing of a proxy: it gets no 200, and the ClientHello it
 * sent, still in cin, is the first thing relayed upstream. */
static void tunnel_on_upstream_ready(struct conn *c)
{
	conn_set_state(c, CONN_TUNNEL);
	if (!c->req.tunnel_silent)
		c->req.status = 200;
	if (!c->req.tunnel_silent &&
	    !buf_append(&c->cout, TUNNEL_ESTABLISHED, TUNNEL_ESTABLISHED_LEN,
			TUNNEL_ESTABLISHED_LEN + 1)) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	conn_set_timeout(c, c->cfg->tunnel_idle_ms, REASON_TUNNEL_IDLE);
	/* Bytes the client sent right after the CONNECT head are already the tunnel's; neither
	 * side is read before its read event says it has something (a client waits for the 200,
	 * and what a server sends first comes with its event). */
	tunnel_down(c, false);
	if (c->state != CONN_CLOSED && buf_len(&c->cout) == 0)
		tunnel_up(c, false);
	/* Except what TLS decrypted already, which no read event will announce. */
	if (c->state != CONN_CLOSED && c->ctls && tls_session_pending(c->ctls))
		conn_client_read_again(c);
	if (c->state != CONN_CLOSED && conn_upstream_tls(c) &&
	    tls_session_pending(conn_upstream_tls(c)))
		conn_upstream_read_again(c);
}

static void tunnel_on_client_readable(struct conn *c)
{
	tunnel_up(c, true);
}

static void tunnel_on_upstream_writable(struct conn *c)
{
	tunnel_up(c, true);
}

static void tunnel_on_upstream_readable(struct conn *c)
{
	tunnel_down(c, true);
}

static void tunnel_on_client_writable(struct conn *c)
{
	bool had_reply = buf_len(&c->cout) > 0;
	tunnel_down(c, true);
	/* Once the 200 is out, client → upstream may start too. */
	if (had_reply && c->state != CONN_CLOSED && buf_len(&c->cout) == 0)
		tunnel_up(c, true);
}

static void tunnel_release_dir(struct worker *w, struct tunnel_dir *d)
{
	if (d->in_pipe == 0)
		pipe_pool_put(&w->pipes, d->pipe);
	else
		pipe_pool_discard(d->pipe);
	d->in_pipe = 0;
}

static void tunnel_release(struct conn *c)
{
	tunnel_release_dir(c->w, &c->up);
	tunnel_release_dir(c->w, &c->down);
}

/* An open tunnel never sets its upstream up again, and has no reply to give: were it asked to
 * (or to refuse), it just ends. */
static void tunnel_on_upstream_failed(struct conn *c, enum reason why, const char *detail)
{
	conn_close(c, why);
}

const struct flow_ops tunnel_ops = {
    .name = "tunnel",
    .on_client_readable = tunnel_on_client_readable,
    .on_client_writable = tunnel_on_client_writable,
    .on_upstream_readable = tunnel_on_upstream_readable,
    .on_upstream_writable = tunnel_on_upstream_writable,
    .on_upstream_ready = tunnel_on_upstream_ready,
    .on_upstream_failed = tunnel_on_upstream_failed,
    .refuse = tunnel_on_upstream_failed,
    .release = tunnel_release,
};
