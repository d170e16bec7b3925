#include "io/dns_tcp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/bug.h"
#include "io/conn.h"
#include "io/dns_server.h"
#include "io/worker.h"
#include "parse/dns_msg.h"

/* A frame is at most 2 + 65535 bytes; a client may pipeline a few (RFC 7766 §6.2.1.1). */
#define DNS_TCP_IN_MAX (4 * 65537)
/* Answers queued for a client that does not read them: past this, the connection is closed. */
#define DNS_TCP_OUT_MAX (256 * 1024)
/* RFC 7766 §6.2.3: a server closes idle connections; a few seconds is what resolvers use. */
#define DNS_TCP_IDLE_MS 10000

struct dns_tcp {
	struct dns_ask *ask; /* the query whose lookup is in flight */
	bool taking;	     /* dns_tcp_take is running: an answer given within it must not
				take the next query itself */
};

static struct dns_tcp *dns_tcp_state(struct conn *c)
{
	if (!c->proto)
		c->proto = calloc(1, sizeof(struct dns_tcp));
	return c->proto;
}

static void dns_tcp_flush(struct conn *c)
{
	if (conn_flush_client(c) == 1)
		conn_want_client_write(c, false);
}

static const struct dns_stream_ops dns_tcp_stream;

/* Takes the buffered queries in order while none waits for a lookup. */
static void dns_tcp_take(struct conn *c)
{
	struct dns_tcp *t = dns_tcp_state(c);

	if (!t) {
		conn_close(c, REASON_INTERNAL);
		return;
	}
	t->taking = true;
	while (c->state != CONN_CLOSED && !t->ask && c->w->dns) {
		struct slice msg;
		size_t used =
		    dns_msg_tcp_frame(slice_make(buf_head(&c->cin), buf_len(&c->cin)), &msg);
		if (used == 0)
			break;
		/* Dropped from the buffer first, kept in memory: msg stays valid, and an answer
		 * given later finds the next frame at the front. */
		buf_consume_keep(&c->cin, used);
		dns_server_query_stream(c->w->dns, c, &dns_tcp_stream, msg);
	}
	t->taking = false;
	if (c->state == CONN_CLOSED)
		return;
	if (buf_len(&c->cin) == 0)
		buf_release(&c->cin);
	if (c->c_eof && !t->ask && buf_len(&c->cout) == 0) {
		conn_close(c, REASON_ALLOWED);
		return;
	}
	/* A query held for an operator may wait minutes: reading on shows at once a client that
	 * gave up (dns_tcp_on_readable). */
	conn_want_client_read(c, (!t->ask || dns_server_ask_held(t->ask)) && !c->c_eof &&
				     buf_has_room(&c->cin, DNS_TCP_IN_MAX));
}

static void dns_tcp_on_readable(struct conn *c)
{
	conn_set_timeout(c, DNS_TCP_IDLE_MS, REASON_CLIENT_IDLE);
	ssize_t n = conn_read_into(c->cfd, &c->cin, DNS_TCP_IN_MAX);
	if (n == 0)
		c->c_eof = true;
	else if (n == -2) {
		conn_close(c, REASON_CLIENT_CLOSED);
		return;
	} else if (n > 0) {
		conn_touch(c);
	} else if (!buf_has_room(&c->cin, DNS_TCP_IN_MAX)) {
		/* A frame larger than the buffer can never complete. */
		conn_close(c, REASON_HEAD_TOO_LARGE);
		return;
	}
	struct dns_tcp *t = c->proto;
	if (c->c_eof && t && t->ask && dns_server_ask_held(t->ask)) {
		conn_close(c, REASON_CLIENT_CLOSED); /* it leaves the approval queue */
		return;
	}
	dns_tcp_take(c);
}

static void dns_tcp_on_writable(struct conn *c)
{
	dns_tcp_flush(c);
	if (c->state != CONN_CLOSED)
		dns_tcp_take(c);
}

/* Queues one answer, its length prefix first, and writes what it can. */
static void dns_tcp_send(struct conn *c, const uint8_t *msg, size_t len)
{
	uint8_t prefix[2] = {(uint8_t)(len >> 8), (uint8_t)len};

	if (c->state == CONN_CLOSED)
		return;
	if (!buf_append(&c->cout, prefix, 2, DNS_TCP_OUT_MAX) ||
	    !buf_append(&c->cout, msg, len, DNS_TCP_OUT_MAX)) {
		conn_close(c, REASON_CLIENT_CLOSED);
		return;
	}
	dns_tcp_flush(c);
}

/* The query being answered waits for a lookup: no further query is taken until it is done. */
static void dns_tcp_ask_started(struct conn *c, struct dns_ask *ask)
{
	struct dns_tcp *t = c->proto;
	BUG_ON(!t || t->ask);
	t->ask = ask;
}

/* Its lookup was answered (or dropped): with resume, the next query buffered is taken. */
static void dns_tcp_ask_done(struct conn *c, bool resume)
{
	struct dns_tcp *t = c->proto;
	if (!t)
		return;
	t->ask = NULL;
	if (!resume || c->state == CONN_CLOSED)
		return;
	/* A query held for an operator stretched the idle timer: answered, it starts anew. */
	conn_set_timeout(c, DNS_TCP_IDLE_MS, REASON_CLIENT_IDLE);
	if (!t->taking)
		dns_tcp_take(c);
}

static const struct dns_stream_ops dns_tcp_stream = {
    .send = dns_tcp_send,
    .ask_started = dns_tcp_ask_started,
    .ask_done = dns_tcp_ask_done,
};

static void dns_tcp_release(struct conn *c)
{
	struct dns_tcp *t = c->proto;
	if (!t)
		return;
	if (t->ask)
		dns_server_cancel(t->ask);
	free(t);
	c->proto = NULL;
}

/* A DNS connection has no upstream: io/upstream never calls these. */
static void dns_tcp_no_upstream(struct conn *c)
{
	BUG_ON(1);
}

static void dns_tcp_no_upstream_failed(struct conn *c, enum reason why, const char *detail)
{
	BUG_ON(1);
}

/* A DNS connection has no request that a timer or a reload could refuse: it just ends. */
static void dns_tcp_refuse(struct conn *c, enum reason why, const char *detail)
{
	conn_close(c, why);
}

const struct flow_ops dns_tcp_ops = {
    .name = "dns",
    .on_client_readable = dns_tcp_on_readable,
    .on_client_writable = dns_tcp_on_writable,
    .on_upstream_readable = dns_tcp_no_upstream,
    .on_upstream_writable = dns_tcp_no_upstream,
    .on_upstream_ready = dns_tcp_no_upstream,
    .on_upstream_failed = dns_tcp_no_upstream_failed,
    .refuse = dns_tcp_refuse,
    .release = dns_tcp_release,
};
