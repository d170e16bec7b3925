/* dns_server: the DNS listener for agents on one worker (listen.dns, UDP): each query's agent
 * found by its source address, rate-limited, judged, and answered from the resolver's cache or
 * a lookup through it (never for a name the policy refuses), one log line each.
 * Does not parse or build messages (parse/dns_msg, emit/dns_reply), decide (policy/dns_policy)
 * or speak to name servers itself (io/resolver). */
#ifndef SLUICE_IO_DNS_SERVER_H
#define SLUICE_IO_DNS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

struct conn;
struct worker;
struct dns_ask;
struct dns_server;

/* Binds a UDP socket on each listen.dns address of w's configuration (SO_REUSEPORT: every
 * worker binds its own). Returns NULL (having said why on stderr) when one cannot be bound; a
 * configuration without listen.dns gets a server with no socket. */
struct dns_server *dns_server_new(struct worker *w);
/* Like dns_server_new, but serves fds, UDP sockets already bound (made inside another network
 * namespace by `sluice jail`), instead of binding listen.dns; each answers from the address it
 * is bound to. Takes the fds: they are closed on failure. */
struct dns_server *dns_server_adopt(struct worker *w, const int *fds, unsigned n);
/* Stops taking queries (a drain); the lookups in flight are still answered. */
void dns_server_stop(struct dns_server *s);
/* How a stream transport (io/dns_tcp) takes its answers: send queues one answer; a query that
 * waits for a lookup is announced by ask_started and ended by ask_done (resume: the next query
 * may be taken). A table, so that the server never names the transport. */
struct dns_stream_ops {
	void (*send)(struct conn *c, const uint8_t *msg, size_t len);
	void (*ask_started)(struct conn *c, struct dns_ask *ask);
	void (*ask_done)(struct conn *c, bool resume);
};

/* One query that came over a stream on c, without its length prefix: answered through ops, now
 * or when its lookup ends. */
void dns_server_query_stream(struct dns_server *s, struct conn *c, const struct dns_stream_ops *ops,
			     struct slice msg);
/* Whether the query waits for an operator (approvals) rather than for a lookup. */
bool dns_server_ask_held(const struct dns_ask *a);
/* The worker's approvals wake-up: answers (or sends on) every held query that was answered. */
void dns_server_on_approval(struct dns_server *s);
/* Drops a lookup (or a held query) whose connection is closing: no answer. */
void dns_server_cancel(struct dns_ask *a);
/* Cancels the lookups in flight (unanswered) and closes the sockets. */
void dns_server_free(struct dns_server *s);

#endif
