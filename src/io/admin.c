/* admin: one request per connection (Connection: close), a small head limit and one deadline
 * for the whole exchange; heads go through the same strict parser as proxy requests. */
#include "io/admin.h"
#include "io/console.h"
#include "io/tls_mint.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "emit/http_reply.h"
#include "io/sockaddr.h"
#include "parse/http1.h"

/* A probe or a scrape sends a few hundred bytes of head. */
#define ADMIN_HEAD_MAX 8192
/* Whole exchange, read and write: a stalled client frees its slot within this. */
#define ADMIN_DEADLINE_MS 5000
#define ADMIN_MAX_CONNS 64
#define ADMIN_METRICS_MAX (64u << 20)
#define ADMIN_REPLY_HEAD_MAX 256

struct admin_conn {
	struct admin *a;
	struct admin_conn *prev, *next;
	int fd;
	struct event rd, wr, timer;
	char peer[SOCKADDR_TEXT_MAX];
	char in[ADMIN_HEAD_MAX];
	size_t in_len;
	struct buf out;
};

struct admin {
	struct event_base *base;
	int fd;
	struct event *accept_ev;
	struct metrics *workers[CONFIG_MAX_WORKERS];
	unsigned n_workers;
	const struct metrics_process *proc;
	bool ready; /* written by any thread with __atomic */
	bool started;
	pthread_t thread;
	struct admin_conn *conns;
	unsigned n_conns;
	char text[SOCKADDR_TEXT_MAX];
	char *ca_pem;		 /* the interception CA's certificate, or NULL */
	struct tls_mint *mint;	 /* its leaves, or NULL */
	struct console *console; /* the console's page and APIs, or NULL */
	size_t ca_pem_len;
};

/* Frees the connection; its socket is closed unless keep_fd (handed to the console). */
static void admin_conn_end(struct admin_conn *ac, bool keep_fd)
{
	struct admin *a = ac->a;

	event_del(&ac->rd);
	event_del(&ac->wr);
	event_del(&ac->timer);
	if (!keep_fd)
		close(ac->fd);
	buf_release(&ac->out);
	if (ac->prev)
		ac->prev->next = ac->next;
	else
		a->conns = ac->next;
	if (ac->next)
		ac->next->prev = ac->prev;
	a->n_conns--;
	free(ac);
}

static void admin_conn_close(struct admin_conn *ac)
{
	admin_conn_end(ac, false);
}

/* ---- replies --------------------------------------------------------------------------- */

/* Queues status line, headers and (unless HEAD) body. Returns false when out of memory. */
static bool admin_reply(struct admin_conn *ac, int status, const char *type, const char *body,
			size_t len, bool head_only)
{
	char head[ADMIN_REPLY_HEAD_MAX];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n%sConnection: close\r\n\r\n",
			 status, http_reply_status_text(status), type, len,
			 status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head))
		return false;
	size_t total = (size_t)n + (head_only ? 0 : len);
	if (!buf_append(&ac->out, head, (size_t)n, total))
		return false;
	return head_only || len == 0 || buf_append(&ac->out, body, len, total);
}

static bool admin_reply_text(struct admin_conn *ac, int status, const char *text, bool head_only)
{
	return admin_reply(ac, status, "text/plain; charset=utf-8", text, strlen(text), head_only);
}

static bool admin_reply_metrics(struct admin_conn *ac, bool head_only)
{
	struct admin *a = ac->a;
	struct buf body = {0};
	bool ok = metrics_format(a->workers, a->n_workers, a->proc, &body, ADMIN_METRICS_MAX);
	if (ok && a->mint) {
		struct tls_mint_stats st;
		tls_mint_stats(a->mint, &st);
		struct metrics_tls_certs t = {st.entries, st.minted, st.hits, st.evictions};
		ok = metrics_format_tls_certs(&t, &body, ADMIN_METRICS_MAX);
	}

	if (ok)
		ok = admin_reply(ac, 200, "text/plain; version=0.0.4; charset=utf-8",
				 buf_head(&body), buf_len(&body), head_only);
	buf_release(&body);
	if (!ok) {
		buf_release(&ac->out);
		return admin_reply_text(ac, 500, "cannot render the metrics\n", head_only);
	}
	return true;
}

/* The path of an origin-form target (RFC 9112 §3.2.1), query dropped; empty for any other
 * form, which no admin resource answers (a proxy request sent here is a 404, never proxied). */
static struct slice admin_path(struct slice target)
{
	if (target.len == 0 || target.ptr[0] != '/')
		return slice_make("", 0);
	const char *q = memchr(target.ptr, '?', target.len);
	return slice_make(target.ptr, q ? (size_t)(q - target.ptr) : target.len);
}

static bool admin_route(struct admin_conn *ac, const struct http1_request *req)
{
	struct slice path = admin_path(req->target);
	bool get = slice_eq(req->method, SLICE_LIT("GET"));
	bool head = slice_eq(req->method, SLICE_LIT("HEAD"));
	int which = slice_eq(path, SLICE_LIT("/healthz"))   ? 1
		    : slice_eq(path, SLICE_LIT("/readyz"))  ? 2
		    : slice_eq(path, SLICE_LIT("/metrics")) ? 3
		    : slice_eq(path, SLICE_LIT("/ca.pem"))  ? 4
							    : 0;

	if (which == 4 && !ac->a->ca_pem)
		return admin_reply_text(
		    ac, 404, "not found: no TLS CA is loaded (see tls: in docs/config.md)\n", head);
	if (which == 0)
		return admin_reply_text(ac, 404,
					"not found: this is sluice's admin listener "
					"(/healthz, /readyz, /metrics, /ca.pem, the console at / "
					"and /api/), not a proxy\n",
					head);
	if (!get && !head)
		return admin_reply_text(ac, 405, "method not allowed: use GET or HEAD\n", false);
	if (which == 1)
		return admin_reply_text(ac, 200, "ok\n", head);
	if (which == 4)
		return admin_reply(ac, 200, "application/x-pem-file", ac->a->ca_pem,
				   ac->a->ca_pem_len, head);
	if (which == 2)
		return __atomic_load_n(&ac->a->ready, __ATOMIC_ACQUIRE)
			   ? admin_reply_text(ac, 200, "ready\n", head)
			   : admin_reply_text(ac, 503, "not ready\n", head);
	return admin_reply_metrics(ac, head);
}

/* ---- connection events ----------------------------------------------------------------- */

static void admin_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *ac = arg;

	while (buf_len(&ac->out) > 0) {
		ssize_t n = send(ac->fd, buf_head(&ac->out), buf_len(&ac->out), MSG_NOSIGNAL);
		if (n > 0) {
			buf_consume(&ac->out, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			event_add(&ac->wr, NULL);
			return;
		}
		break;
	}
	admin_conn_close(ac);
}

static void admin_respond(struct admin_conn *ac)
{
	struct http1_request req;
	int rc = http1_request_parse(ac->in, ac->in_len, HTTP1_DEFAULT_MAX_HEADERS, &req);
	bool ok;

	if (rc == 0 && ac->in_len < sizeof(ac->in))
		return; /* need more */
	/* An action's small JSON body follows its head in the same buffer. */
	size_t body_len = rc > 0 && req.framing == HTTP1_BODY_LENGTH ? req.content_length : 0;
	if (rc > 0 && req.framing == HTTP1_BODY_CHUNKED) {
		rc = -1;
	} else if (rc > 0 && body_len > sizeof(ac->in) - (size_t)rc) {
		event_del(&ac->rd);
		if (!admin_reply_text(ac, 413, "request body too large\n", false))
			admin_conn_close(ac);
		else
			admin_on_write(ac->fd, EV_WRITE, ac);
		return;
	} else if (rc > 0 && ac->in_len < (size_t)rc + body_len) {
		return; /* the rest of the body */
	}
	event_del(&ac->rd);
	enum console_outcome co = CONSOLE_NOT_MINE;
	if (rc > 0 && ac->a->console)
		co = console_handle(ac->a->console, &req, slice_make(ac->in + rc, body_len),
				    ac->peer, &ac->out);
	if (co == CONSOLE_STREAM) {
		int fd = ac->fd;
		struct console *console = ac->a->console;
		struct buf out = ac->out;
		ac->out = (struct buf){0};
		admin_conn_end(ac, true);
		console_stream(console, fd, &out);
		return;
	}
	if (co == CONSOLE_REPLIED)
		ok = true;
	else if (rc > 0)
		ok = admin_route(ac, &req);
	else if (rc == 0)
		ok = admin_reply_text(ac, 431, "request head too large\n", false);
	else
		ok = admin_reply_text(ac, 400, "bad request\n", false);
	if (!ok) {
		admin_conn_close(ac);
		return;
	}
	admin_on_write(ac->fd, EV_WRITE, ac);
}

static void admin_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn *ac = arg;

	for (;;) {
		ssize_t n = recv(ac->fd, ac->in + ac->in_len, sizeof(ac->in) - ac->in_len, 0);
		if (n > 0) {
			ac->in_len += (size_t)n;
			admin_respond(ac);
			return;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		/* End of stream or error before a whole head: nothing to answer. */
		admin_conn_close(ac);
		return;
	}
}

static void admin_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	admin_conn_close(arg);
}

static void admin_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct admin *a = arg;
	struct timeval deadline = {ADMIN_DEADLINE_MS / 1000, (ADMIN_DEADLINE_MS % 1000) * 1000};

	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		int cfd =
		    accept4(fd, (struct sockaddr *)&peer, &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		struct admin_conn *ac =
		    a->n_conns < ADMIN_MAX_CONNS ? calloc(1, sizeof(*ac)) : NULL;
		if (!ac) {
			close(cfd);
			continue;
		}
		ac->a = a;
		ac->fd = cfd;
		struct ip_addr ip;
		uint16_t port;
		if (sockaddr_to_ip((const struct sockaddr *)&peer, &ip, &port) == 0)
			ip_addr_format(&ip, ac->peer);
		else
			memcpy(ac->peer, "unknown", sizeof("unknown"));
		event_assign(&ac->rd, a->base, cfd, EV_READ | EV_PERSIST, admin_on_read, ac);
		event_assign(&ac->wr, a->base, cfd, EV_WRITE, admin_on_write, ac);
		event_assign(&ac->timer, a->base, -1, 0, admin_on_deadline, ac);
		ac->next = a->conns;
		if (a->conns)
			a->conns->prev = ac;
		a->conns = ac;
		a->n_conns++;
		event_add(&ac->rd, NULL);
		event_add(&ac->timer, &deadline);
	}
}

/* ---- life ------------------------------------------------------------------------------ */

static int admin_bind(struct admin *a, const struct config_endpoint *at)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from_ip(&ss, &at->addr, at->port);
	int one = 1;

	sockaddr_format(&at->addr, at->port, a->text);
	a->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		fprintf(stderr, "sluice: admin socket for %s: %s\n", a->text, strerror(errno));
		return -1;
	}
	/* SO_REUSEADDR only: with SO_REUSEPORT a second process could share the port. */
	setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(a->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(a->fd, (struct sockaddr *)&ss, len) != 0 || listen(a->fd, 64) != 0) {
		fprintf(stderr, "sluice: cannot listen on %s (listen.admin): %s\n", a->text,
			strerror(errno));
		return -1;
	}
	return 0;
}

struct admin *admin_new(const struct config_endpoint *at, struct metrics *const *workers,
			unsigned n, const struct metrics_process *proc)
{
	struct admin *a = calloc(1, sizeof(*a));

	if (!a || n > CONFIG_MAX_WORKERS) {
		free(a);
		fprintf(stderr, "sluice: cannot set up the admin listener\n");
		return NULL;
	}
	a->fd = -1;
	memcpy(a->workers, workers, n * sizeof(*workers));
	a->n_workers = n;
	a->proc = proc;
	if (admin_bind(a, at) != 0) {
		admin_free(a);
		return NULL;
	}
	a->base = event_base_new();
	a->accept_ev =
	    a->base ? event_new(a->base, a->fd, EV_READ | EV_PERSIST, admin_on_accept, a) : NULL;
	if (!a->accept_ev || event_add(a->accept_ev, NULL) != 0) {
		fprintf(stderr, "sluice: cannot set up the admin listener's event loop\n");
		admin_free(a);
		return NULL;
	}
	fprintf(stderr, "sluice: admin (health, readiness, metrics) on http://%s\n", a->text);
	return a;
}

static void *admin_thread(void *arg)
{
	struct admin *a = arg;
	event_base_dispatch(a->base);
	return NULL;
}

int admin_set_console(struct admin *a, const struct config *cfg, const struct console_sources *src)
{
	a->console = console_new(a->base, cfg, src, a->workers, a->n_workers);
	return a->console ? 0 : -1;
}

void admin_set_policy(struct admin *a, const struct config *cfg, uint64_t generation)
{
	if (a && a->console)
		console_set_policy(a->console, cfg, generation);
}

void admin_set_mint(struct admin *a, struct tls_mint *mint)
{
	a->mint = mint;
}

int admin_set_ca_pem(struct admin *a, const char *pem, size_t len)
{
	char *copy = malloc(len);

	if (!copy)
		return -1;
	memcpy(copy, pem, len);
	free(a->ca_pem);
	a->ca_pem = copy;
	a->ca_pem_len = len;
	return 0;
}

int admin_start(struct admin *a)
{
	if (pthread_create(&a->thread, NULL, admin_thread, a) != 0) {
		fprintf(stderr, "sluice: cannot start the admin thread\n");
		return -1;
	}
	a->started = true;
	return 0;
}

void admin_set_ready(struct admin *a, bool ready)
{
	__atomic_store_n(&a->ready, ready, __ATOMIC_RELEASE);
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	if (a->started) {
		event_base_loopbreak(a->base);
		pthread_join(a->thread, NULL);
	}
	while (a->conns)
		admin_conn_close(a->conns);
	console_free(a->console);
	if (a->accept_ev)
		event_free(a->accept_ev);
	if (a->base)
		event_base_free(a->base);
	if (a->fd >= 0)
		close(a->fd);
	free(a->ca_pem);
	free(a);
}
