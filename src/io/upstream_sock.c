#include "io/upstream_sock.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/loop_clock.h"
#include "io/h2_upstream.h"
#include "io/tls_session.h"

static void upstream_sock_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_sock *s = arg;

	/* Unwanted since it was last readable: only now is the interest really dropped. */
	if (!s->want_read) {
		event_del(&s->rd);
		return;
	}
	loop_clock_enter();
	s->on_event(s, EV_READ, s->arg);
	loop_clock_leave();
}

static void upstream_sock_on_write(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_sock *s = arg;
	loop_clock_enter();
	s->on_event(s, EV_WRITE, s->arg);
	loop_clock_leave();
}

/* Until it is handed to someone, nothing listens. */
static void upstream_sock_on_nothing(struct upstream_sock *s, short what, void *arg)
{
}

struct upstream_sock *upstream_sock_new(struct event_base *base, int fd, const char *route_id,
					const struct ip_addr *ip, uint16_t port)
{
	size_t id_len = strlen(route_id);
	struct upstream_sock *s = calloc(1, sizeof(*s) + id_len + 1);

	if (!s) {
		close(fd);
		return NULL;
	}
	s->fd = fd;
	s->ip = *ip;
	s->port = port;
	memcpy(s->route_id, route_id, id_len + 1);
	s->on_event = upstream_sock_on_nothing;
	event_assign(&s->rd, base, fd, EV_READ | EV_PERSIST, upstream_sock_on_read, s);
	event_assign(&s->wr, base, fd, EV_WRITE | EV_PERSIST, upstream_sock_on_write, s);
	return s;
}

void upstream_sock_free(struct upstream_sock *s)
{
	if (!s)
		return;
	event_del(&s->rd);
	event_del(&s->wr);
	h2_upstream_free(s->h2);
	tls_session_free(s->tls);
	close(s->fd);
	free(s);
}

void upstream_sock_hand(struct upstream_sock *s,
			void (*on_event)(struct upstream_sock *s, short what, void *arg), void *arg)
{
	s->on_event = on_event;
	s->arg = arg;
}

void upstream_sock_want_read(struct upstream_sock *s, bool on)
{
	s->want_read = on;
	if (on && !event_pending(&s->rd, EV_READ, NULL))
		event_add(&s->rd, NULL);
}

void upstream_sock_want_write(struct upstream_sock *s, bool on)
{
	bool pending = event_pending(&s->wr, EV_WRITE, NULL);

	if (on && !pending)
		event_add(&s->wr, NULL);
	else if (!on && pending)
		event_del(&s->wr);
}

void upstream_sock_read_again(struct upstream_sock *s)
{
	if (s->want_read)
		event_active(&s->rd, EV_READ, 0);
}
