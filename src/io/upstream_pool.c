#include "io/upstream_pool.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "emit/metrics.h"
#include "io/h2_upstream.h"
#include "io/loop_clock.h"
#include "io/tls_session.h"
#include "io/upstream_sock.h"

/* Idle upstream connections kept per destination address and in all. A destination keeps
 * as many as were busy at once, up to POOL_PER_DEST: a smaller cap makes a loaded origin pay
 * a new TCP handshake for every request beyond it. */
#define POOL_PER_DEST 1024
#define POOL_TOTAL 8192
#define POOL_BUCKETS 256

/* Parked connections sit in a bucket by address and port (most recently parked first) and in
 * one list in the order they were parked, so the idle limit needs one timer for the pool: all
 * wait the same time, and the oldest is always at the head. */
struct upstream_pool {
	struct event_base *base;
	struct metrics *metrics; /* the worker's: parked connections are a gauge */
	struct upstream_sock *buckets[POOL_BUCKETS];
	struct upstream_sock *oldest, *newest;
	struct event *idle_timer; /* armed for the oldest while any is parked */
	unsigned count;
	unsigned idle_ms;
};

static uint64_t pool_now_ms(void)
{
	return loop_clock_ms();
}

static unsigned pool_bucket(const struct ip_addr *ip, uint16_t port)
{
	return hash_fnv_bytes(HASH_FNV_BASIS ^ port, ip->bytes, sizeof(ip->bytes)) % POOL_BUCKETS;
}

static void pool_arm(struct upstream_pool *pool, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	event_add(pool->idle_timer, &tv);
}

/* Appends s to the idle order, parked now. */
static void pool_idle_append(struct upstream_pool *pool, struct upstream_sock *s)
{
	s->parked_ms = pool_now_ms();
	s->idle_next = NULL;
	s->idle_prev = pool->newest;
	if (pool->newest)
		pool->newest->idle_next = s;
	else
		pool->oldest = s;
	pool->newest = s;
	if (!event_pending(pool->idle_timer, EV_TIMEOUT, NULL))
		pool_arm(pool, pool->idle_ms);
}

static void pool_idle_remove(struct upstream_pool *pool, struct upstream_sock *s)
{
	if (s->idle_prev)
		s->idle_prev->idle_next = s->idle_next;
	else
		pool->oldest = s->idle_next;
	if (s->idle_next)
		s->idle_next->idle_prev = s->idle_prev;
	else
		pool->newest = s->idle_prev;
}

/* Takes s out of the pool (its bucket and the idle order); the timer is left to find the next
 * oldest when it fires. */
static void pool_unlink(struct upstream_pool *pool, struct upstream_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		pool->buckets[pool_bucket(&s->ip, s->port)] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pool_idle_remove(pool, s);
	pool->count--;
	metrics_upstream_idle(pool->metrics, false);
}

/* An idle TLS connection can be readable with records that carry no data: a TLS 1.3 session
 * ticket or key update sent after the response. Those are taken in and the connection kept;
 * data, an end or an error make it unusable. */
static bool pool_tls_still_idle(struct upstream_sock *s)
{
	struct buf scratch = {0};
	ssize_t n = tls_session_read_into(s->tls, &scratch, 1);
	buf_release(&scratch);
	return n == -1 && !tls_session_wants_write(s->tls) && !tls_session_pending(s->tls);
}

/* A parked connection became readable: the upstream closed it or sent junk, so it is no longer
 * reusable — unless it is TLS records that carry no data, after which its idle time starts again
 * (it has just shown it is alive). */
static void pool_on_readable(struct upstream_sock *s, short what, void *arg)
{
	struct upstream_pool *pool = arg;

	/* An idle HTTP/2 upstream talks (PING, SETTINGS): its session takes the frames. */
	if (s->h2 ? h2_upstream_idle_read(s->h2) : s->tls && pool_tls_still_idle(s)) {
		pool_idle_remove(pool, s);
		pool_idle_append(pool, s);
		return;
	}
	pool_unlink(pool, s);
	upstream_sock_free(s);
}

/* The idle limit: closes every connection parked idle_ms ago or more (oldest first), then waits
 * for the next. */
static void pool_on_idle_timer(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_pool *pool = arg;
	uint64_t now = pool_now_ms();

	while (pool->oldest && now - pool->oldest->parked_ms >= pool->idle_ms) {
		struct upstream_sock *s = pool->oldest;
		pool_unlink(pool, s);
		upstream_sock_free(s);
	}
	if (pool->oldest)
		pool_arm(pool, (unsigned)(pool->oldest->parked_ms + pool->idle_ms - now));
}

struct upstream_pool *upstream_pool_new(struct event_base *base, unsigned idle_ms,
					struct metrics *metrics)
{
	struct upstream_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->base = base;
	pool->metrics = metrics;
	pool->idle_ms = idle_ms;
	pool->idle_timer = evtimer_new(base, pool_on_idle_timer, pool);
	if (!pool->idle_timer) {
		free(pool);
		return NULL;
	}
	return pool;
}

void upstream_pool_free(struct upstream_pool *pool)
{
	if (!pool)
		return;
	while (pool->oldest) {
		struct upstream_sock *s = pool->oldest;
		pool_unlink(pool, s);
		upstream_sock_free(s);
	}
	event_free(pool->idle_timer);
	free(pool);
}

static bool pool_matches(const struct upstream_sock *s, const char *route_id,
			 const struct ip_addr *ip, uint16_t port)
{
	return s->port == port && ip_addr_eq(&s->ip, ip) && strcmp(s->route_id, route_id) == 0;
}

void upstream_pool_put(struct upstream_pool *pool, struct upstream_sock *s)
{
	unsigned b = pool_bucket(&s->ip, s->port), same = 0;

	for (struct upstream_sock *p = pool->buckets[b]; p && same < POOL_PER_DEST; p = p->next)
		if (p->port == s->port && ip_addr_eq(&p->ip, &s->ip))
			same++;
	if (same >= POOL_PER_DEST || pool->count >= POOL_TOTAL) {
		upstream_sock_free(s);
		return;
	}
	s->prev = NULL;
	s->next = pool->buckets[b];
	if (s->next)
		s->next->prev = s;
	pool->buckets[b] = s;
	pool_idle_append(pool, s);
	pool->count++;
	metrics_upstream_idle(pool->metrics, true);
	upstream_sock_hand(s, pool_on_readable, pool);
	upstream_sock_want_write(s, false);
	upstream_sock_want_read(s, true);
}

void upstream_pool_drop_routes(struct upstream_pool *pool)
{
	for (unsigned b = 0; b < POOL_BUCKETS; b++) {
		struct upstream_sock *s = pool->buckets[b];
		while (s) {
			struct upstream_sock *next = s->next;
			if (s->route_id[0]) {
				pool_unlink(pool, s);
				upstream_sock_free(s);
			}
			s = next;
		}
	}
}

struct upstream_sock *upstream_pool_take(struct upstream_pool *pool, const char *route_id,
					 const struct ip_addr *ip, uint16_t port, bool offers_h2)
{
	for (struct upstream_sock *s = pool->buckets[pool_bucket(ip, port)]; s; s = s->next) {
		if (!pool_matches(s, route_id, ip, port) || (offers_h2 ? !s->offered_h2 : !!s->h2))
			continue;
		pool_unlink(pool, s);
		return s;
	}
	return NULL;
}
