#include "io/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/conn.h"
#include "io/sockaddr.h"
#include "io/worker.h"

/* How many clients one readiness event accepts before yielding to other events. */
#define LISTENER_ACCEPT_BATCH 64
/* Pause after running out of descriptors, then try again. */
#define LISTENER_EMFILE_PAUSE_MS 100
/* While out of descriptors the pause repeats every 100 ms: say so at most once a second. */
#define LISTENER_EMFILE_LOG_MS 1000

struct listener {
	struct worker *w;
	const struct flow_ops *ops; /* what its clients speak */
	int fd;
	struct event *accept_ev;
	struct event *resume_ev;
	char text[SOCKADDR_TEXT_MAX];
	/* TCP_NODELAY is set on the listening socket, and Linux gives it to every accepted one:
	 * one setsockopt per listener instead of one per connection. */
	bool nodelay_inherited;
	uint64_t warned_ms;  /* when the last "pausing accepts" line was written; 0 = never */
	unsigned unreported; /* pauses since then */
};

static void listener_warn_paused(struct listener *l, int err)
{
	uint64_t now = conn_now_ms();

	if (l->warned_ms != 0 && now - l->warned_ms < LISTENER_EMFILE_LOG_MS) {
		l->unreported++;
		return;
	}
	if (l->unreported > 0)
		fprintf(stderr,
			"sluice: accept on %s: %s; pausing accepts (%u more since last said)\n",
			l->text, strerror(err), l->unreported);
	else
		fprintf(stderr, "sluice: accept on %s: %s; pausing accepts\n", l->text,
			strerror(err));
	l->warned_ms = now ? now : 1;
	l->unreported = 0;
}

/* limits.max_connections reached: a best-effort 503 that says why (RFC 9209
 * connection_limit_reached), then close. Never blocks: the reply fits any socket buffer. */
static void listener_refuse_over_limit(int fd)
{
	static const char reply[] =
	    "HTTP/1.1 503 Service Unavailable\r\n"
	    "Proxy-Status: sluice; error=connection_limit_reached; "
	    "details=\"limits.max_connections\"\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 114\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "sluice egress proxy: too many connections right now (limits.max_connections). "
	    "Retry later with fewer connections.\n";
	ssize_t ignored = send(fd, reply, sizeof(reply) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)ignored;
	close(fd);
}

static void listener_on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	for (int i = 0; i < LISTENER_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			if (l->w->n_conns >= l->w->max_conns) {
				listener_refuse_over_limit(cfd);
				continue;
			}
			if (!l->nodelay_inherited) {
				int one = 1;
				setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			}
			conn_accept(l->w, cfd, (struct sockaddr *)&peer, l->ops);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* Keep serving the connections we have; accept again shortly. */
			struct timeval tv = {0, LISTENER_EMFILE_PAUSE_MS * 1000};
			listener_warn_paused(l, errno);
			event_del(l->accept_ev);
			event_add(l->resume_ev, &tv);
		}
		return;
	}
}

static void listener_on_resume(evutil_socket_t fd, short what, void *arg)
{
	listener_resume(arg);
}

/* The startup line's words for what a listener serves, by its protocol's name. */
static const char *listener_label(const struct flow_ops *ops)
{
	if (strcmp(ops->name, "dns") == 0)
		return "dns (tcp) ";
	if (strcmp(ops->name, "transparent_tls") == 0)
		return "transparent_tls ";
	if (strcmp(ops->name, "transparent_http") == 0)
		return "transparent_http ";
	return "http://";
}

/* Puts a listening socket on the worker's loop; frees it on failure. */
static struct listener *listener_start(struct listener *l)
{
	struct worker *w = l->w;
	int one = 1;

	l->nodelay_inherited = setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0;
	l->accept_ev = event_new(w->base, l->fd, EV_READ | EV_PERSIST, listener_on_accept, l);
	l->resume_ev = event_new(w->base, -1, 0, listener_on_resume, l);
	if (!l->accept_ev || !l->resume_ev) {
		listener_free(l);
		return NULL;
	}
	event_add(l->accept_ev, NULL);
	if (w->index == 0)
		fprintf(stderr, "sluice: listening on %s%s\n", listener_label(l->ops), l->text);
	return l;
}

struct listener *listener_new(struct worker *w, const struct config_endpoint *at,
			      const struct flow_ops *ops)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_from_ip(&ss, &at->addr, at->port);
	struct listener *l = calloc(1, sizeof(*l));
	int one = 1;

	if (!l)
		return NULL;
	l->w = w;
	l->ops = ops;
	sockaddr_format(&at->addr, at->port, l->text);
	l->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		fprintf(stderr, "sluice: socket for %s: %s\n", l->text, strerror(errno));
		free(l);
		return NULL;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Each worker binds its own socket to the same address; the kernel spreads new
	 * connections across them, so no accept lock or hand-off is needed. */
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(l->fd, (struct sockaddr *)&ss, len) != 0 || listen(l->fd, 1024) != 0) {
		fprintf(stderr, "sluice: cannot listen on %s: %s\n", l->text, strerror(errno));
		close(l->fd);
		free(l);
		return NULL;
	}
	return listener_start(l);
}

struct listener *listener_adopt(struct worker *w, int fd, const struct flow_ops *ops)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct listener *l = calloc(1, sizeof(*l));
	struct ip_addr ip;
	uint16_t port = 0;

	if (!l) {
		close(fd);
		return NULL;
	}
	l->w = w;
	l->ops = ops;
	l->fd = fd;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    sockaddr_to_ip((struct sockaddr *)&ss, &ip, &port) == 0)
		sockaddr_format(&ip, port, l->text);
	else
		snprintf(l->text, sizeof(l->text), "fd %d", fd);
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "sluice: cannot adopt listener %s: %s\n", l->text, strerror(errno));
		close(fd);
		free(l);
		return NULL;
	}
	return listener_start(l);
}

void listener_free(struct listener *l)
{
	if (!l)
		return;
	if (l->accept_ev)
		event_free(l->accept_ev);
	if (l->resume_ev)
		event_free(l->resume_ev);
	close(l->fd);
	free(l);
}

void listener_resume(struct listener *l)
{
	event_add(l->accept_ev, NULL);
}

static bool listener_known(const struct policy_rules *rules, const struct ip_addr *ip,
			   uint16_t port)
{
	for (unsigned i = 0; i < rules->n_listeners; i++)
		if (rules->listeners[i].port == port && ip_addr_eq(&rules->listeners[i].addr, ip))
			return true;
	return false;
}

void listener_expand_wildcards(struct policy_rules *rules)
{
	static const uint8_t zero[16];
	struct ifaddrs *ifs, *ifa;
	unsigned n = rules->n_listeners;

	if (getifaddrs(&ifs) != 0)
		return;
	for (unsigned i = 0; i < n; i++) {
		const struct policy_listener l = rules->listeners[i];
		if (memcmp(l.addr.bytes, zero, sizeof(zero)) != 0)
			continue;
		for (ifa = ifs; ifa; ifa = ifa->ifa_next) {
			struct ip_addr ip;
			uint16_t ignored;
			if (!ifa->ifa_addr || sockaddr_to_ip(ifa->ifa_addr, &ip, &ignored) != 0 ||
			    ip.family != l.addr.family || listener_known(rules, &ip, l.port) ||
			    rules->n_listeners == POLICY_MAX_LISTENERS)
				continue;
			rules->listeners[rules->n_listeners].addr = ip;
			rules->listeners[rules->n_listeners++].port = l.port;
		}
	}
	freeifaddrs(ifs);
}
