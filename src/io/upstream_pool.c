#include "io/upstream_pool.h"

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "emit/metrics.h"
#include "io/tls_client.h"

/* Idle upstream connections kept per destination address and in all. A destination keeps
 * as many as were busy at once, up to POOL_PER_DEST: a smaller cap makes a loaded origin pay
 * a new TCP handshake for every request beyond it. */
#define POOL_PER_DEST 1024
#define POOL_TOTAL 8192
#define POOL_BUCKETS 256

struct pooled {
	struct pooled *prev, *next; /* within the bucket */
	struct upstream_pool *pool;
	int fd;
	struct tls_client *tls; /* NULL for plain TCP */
	struct ip_addr ip;
	uint16_t port;
	struct event ev;
	char route_id[]; /* "" for a connection judged by its address alone */
};

struct upstream_pool {
	struct event_base *base;
	struct metrics *metrics; /* the worker's: parked connections are a gauge */
	struct pooled *buckets[POOL_BUCKETS];
	unsigned count;
	unsigned idle_ms;
};

static unsigned pool_bucket(const struct ip_addr *ip, uint16_t port)
{
	return hash_fnv_bytes(HASH_FNV_BASIS ^ port, ip->bytes, sizeof(ip->bytes)) % POOL_BUCKETS;
}

static void pool_unlink(struct upstream_pool *pool, struct pooled *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		pool->buckets[pool_bucket(&p->ip, p->port)] = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pool->count--;
	metrics_upstream_idle(pool->metrics, false);
	event_del(&p->ev);
}

static void pooled_free(struct pooled *p)
{
	tls_client_free(p->tls); /* close_notify, best effort */
	close(p->fd);
	free(p);
}

/* An idle TLS connection can be readable with records that carry no data: a TLS 1.3 session
 * ticket or key update sent after the response. Those are taken in and the connection kept;
 * data, an end or an error make it unusable. */
static bool pooled_tls_still_idle(struct pooled *p)
{
	struct buf scratch = {0};
	ssize_t n = tls_client_read_into(p->tls, &scratch, 1);
	buf_release(&scratch);
	return n == -1 && !tls_client_wants_write(p->tls) && !tls_client_pending(p->tls);
}

static void pool_on_event(evutil_socket_t fd, short what, void *arg);

/* Idle for the pool's idle time from now; a TLS connection re-armed after records that carry
 * no data starts its idle time again (it has just shown it is alive). */
static void pooled_arm(struct pooled *p)
{
	unsigned ms = p->pool->idle_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	event_assign(&p->ev, p->pool->base, p->fd, EV_READ, pool_on_event, p);
	event_add(&p->ev, &tv);
}

/* An idle pooled connection became readable (the upstream closed it or sent junk) or its idle
 * time ran out: either way it is no longer reusable. */
static void pool_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct pooled *p = arg;
	if ((what & EV_READ) && p->tls && pooled_tls_still_idle(p)) {
		pooled_arm(p);
		return;
	}
	pool_unlink(p->pool, p);
	pooled_free(p);
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
	return pool;
}

void upstream_pool_free(struct upstream_pool *pool)
{
	if (!pool)
		return;
	for (unsigned b = 0; b < POOL_BUCKETS; b++)
		while (pool->buckets[b]) {
			struct pooled *p = pool->buckets[b];
			pool_unlink(pool, p);
			pooled_free(p);
		}
	free(pool);
}

static bool pooled_matches(const struct pooled *p, const char *route_id, const struct ip_addr *ip,
			   uint16_t port)
{
	return p->port == port && ip_addr_eq(&p->ip, ip) && strcmp(p->route_id, route_id) == 0;
}

void upstream_pool_put(struct upstream_pool *pool, int fd, struct tls_client *tls,
		       const char *route_id, const struct ip_addr *ip, uint16_t port)
{
	unsigned b = pool_bucket(ip, port), same = 0;
	size_t id_len = strlen(route_id);

	for (struct pooled *p = pool->buckets[b]; p && same < POOL_PER_DEST; p = p->next)
		if (p->port == port && ip_addr_eq(&p->ip, ip))
			same++;
	struct pooled *p = same < POOL_PER_DEST && pool->count < POOL_TOTAL
			       ? malloc(sizeof(*p) + id_len + 1)
			       : NULL;
	if (!p) {
		tls_client_free(tls);
		close(fd);
		return;
	}
	p->pool = pool;
	p->fd = fd;
	p->tls = tls;
	memcpy(p->route_id, route_id, id_len + 1);
	p->ip = *ip;
	p->port = port;
	p->prev = NULL;
	p->next = pool->buckets[b];
	if (p->next)
		p->next->prev = p;
	pool->buckets[b] = p;
	pool->count++;
	metrics_upstream_idle(pool->metrics, true);
	pooled_arm(p);
}

void upstream_pool_drop_routes(struct upstream_pool *pool)
{
	for (unsigned b = 0; b < POOL_BUCKETS; b++) {
		struct pooled *p = pool->buckets[b];
		while (p) {
			struct pooled *next = p->next;
			if (p->route_id[0]) {
				pool_unlink(pool, p);
				pooled_free(p);
			}
			p = next;
		}
	}
}

int upstream_pool_take(struct upstream_pool *pool, const char *route_id, const struct ip_addr *ip,
		       uint16_t port, struct tls_client **tls)
{
	for (struct pooled *p = pool->buckets[pool_bucket(ip, port)]; p; p = p->next) {
		if (!pooled_matches(p, route_id, ip, port))
			continue;
		int fd = p->fd;
		*tls = p->tls;
		pool_unlink(pool, p);
		free(p);
		return fd;
	}
	*tls = NULL;
	return -1;
}
