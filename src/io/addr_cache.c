#include "io/addr_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "base/hash.h"

/* A power of two; the shard is taken from the hash's top bits, the bucket from its low bits.
 * 64 shards: with a handful of workers, two of them want the same shard at the same moment
 * about once in 64 cache operations, and hold it for a copy of a few addresses. */
#define ADDR_CACHE_SHARD_BITS 6
#define ADDR_CACHE_SHARDS (1u << ADDR_CACHE_SHARD_BITS)
/* Keeps shards on cache lines of their own: workers locking neighbouring shards do not
 * bounce one line between their cores. */
#define ADDR_CACHE_LINE 64

struct addr_cache_entry {
	struct addr_cache_entry *next;		/* the bucket's chain */
	struct addr_cache_entry *older, *newer; /* the shard's use order */
	uint64_t expires_ms;
	uint32_t hash;
	uint8_t n_addrs;
	struct ip_addr addrs[]; /* n_addrs of them, then the name and its NUL */
};

struct addr_cache_shard {
	_Alignas(ADDR_CACHE_LINE) pthread_mutex_t lock;
	struct addr_cache_entry **buckets;
	struct addr_cache_entry *newest, *oldest;
	unsigned count;
	uint64_t evictions;
	size_t bytes;
};

struct addr_cache {
	_Atomic uint64_t source;
	unsigned shard_max; /* entries per shard */
	uint32_t bucket_mask;
	struct addr_cache_shard *shards;
};

static const char *entry_name(const struct addr_cache_entry *e)
{
	return (const char *)(e->addrs + e->n_addrs);
}

static size_t entry_size(unsigned n_addrs, size_t name_len)
{
	size_t size = offsetof(struct addr_cache_entry, addrs) + n_addrs * sizeof(struct ip_addr) +
		      name_len + 1;
	return size < sizeof(struct addr_cache_entry) ? sizeof(struct addr_cache_entry) : size;
}

static uint32_t name_hash(const char *name)
{
	return hash_mix(hash_fnv_str(HASH_FNV_BASIS, name));
}

static struct addr_cache_shard *shard_of(struct addr_cache *c, uint32_t h)
{
	return &c->shards[h >> (32 - ADDR_CACHE_SHARD_BITS)];
}

static void lru_unlink(struct addr_cache_shard *s, struct addr_cache_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		s->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		s->newest = e->older;
	e->older = e->newer = NULL;
}

static void lru_push(struct addr_cache_shard *s, struct addr_cache_entry *e)
{
	e->older = s->newest;
	e->newer = NULL;
	if (s->newest)
		s->newest->newer = e;
	else
		s->oldest = e;
	s->newest = e;
}

/* Unlinks *link's entry from its chain and the use order, and frees it. */
static void shard_drop(struct addr_cache_shard *s, struct addr_cache_entry **link)
{
	struct addr_cache_entry *e = *link;

	*link = e->next;
	lru_unlink(s, e);
	s->count--;
	s->bytes -= entry_size(e->n_addrs, strlen(entry_name(e)));
	free(e);
}

/* The live entry for name, or NULL. Expired entries met on the way are freed: a chain holds
 * few, so the walk stays short. Called with the shard locked. */
static struct addr_cache_entry *shard_find(struct addr_cache *c, struct addr_cache_shard *s,
					   uint32_t h, const char *name, uint64_t now_ms)
{
	struct addr_cache_entry **link = &s->buckets[h & c->bucket_mask];

	while (*link) {
		struct addr_cache_entry *e = *link;
		if (e->expires_ms <= now_ms) {
			shard_drop(s, link);
			continue;
		}
		if (e->hash == h && strcmp(entry_name(e), name) == 0)
			return e;
		link = &e->next;
	}
	return NULL;
}

/* Room for one more: the shard's least recently used entry goes (expired or not). */
static void shard_evict_one(struct addr_cache *c, struct addr_cache_shard *s)
{
	struct addr_cache_entry *victim = s->oldest;
	struct addr_cache_entry **link = &s->buckets[victim->hash & c->bucket_mask];

	while (*link != victim)
		link = &(*link)->next;
	shard_drop(s, link);
	s->evictions++;
}

static unsigned entry_copy(const struct addr_cache_entry *e, struct ip_addr *out, unsigned max)
{
	unsigned n = e->n_addrs < max ? e->n_addrs : max;
	memcpy(out, e->addrs, n * sizeof(*out));
	return n;
}

struct addr_cache *addr_cache_new(unsigned max_entries, uint64_t source)
{
	struct addr_cache *c = calloc(1, sizeof(*c));
	unsigned per_shard = (max_entries + ADDR_CACHE_SHARDS - 1) / ADDR_CACHE_SHARDS;
	uint32_t buckets = 1;

	if (!c)
		return NULL;
	if (per_shard == 0)
		per_shard = 1;
	/* A load of at most one entry per bucket. */
	while (buckets < per_shard)
		buckets <<= 1;
	atomic_init(&c->source, source);
	c->shard_max = per_shard;
	c->bucket_mask = buckets - 1;
	c->shards = aligned_alloc(ADDR_CACHE_LINE, ADDR_CACHE_SHARDS * sizeof(*c->shards));
	if (!c->shards) {
		free(c);
		return NULL;
	}
	memset(c->shards, 0, ADDR_CACHE_SHARDS * sizeof(*c->shards));
	for (unsigned i = 0; i < ADDR_CACHE_SHARDS; i++)
		pthread_mutex_init(&c->shards[i].lock, NULL);
	for (unsigned i = 0; i < ADDR_CACHE_SHARDS; i++) {
		struct addr_cache_shard *s = &c->shards[i];
		s->buckets = calloc(buckets, sizeof(*s->buckets));
		if (!s->buckets) {
			addr_cache_free(c);
			return NULL;
		}
	}
	return c;
}

static void shard_clear(struct addr_cache_shard *s)
{
	struct addr_cache_entry *e = s->oldest, *next;

	for (; e; e = next) {
		next = e->newer;
		free(e);
	}
	s->newest = s->oldest = NULL;
	s->count = 0;
	s->bytes = 0;
}

void addr_cache_free(struct addr_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < ADDR_CACHE_SHARDS; i++) {
		struct addr_cache_shard *s = &c->shards[i];
		shard_clear(s);
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

int addr_cache_get(struct addr_cache *c, const char *name, uint64_t now_ms, struct ip_addr *out,
		   unsigned max, unsigned *ttl_s)
{
	uint32_t h = name_hash(name);
	struct addr_cache_shard *s = shard_of(c, h);
	int n = -1;

	pthread_mutex_lock(&s->lock);
	struct addr_cache_entry *e = shard_find(c, s, h, name, now_ms);
	if (e) {
		n = (int)entry_copy(e, out, max);
		if (ttl_s)
			*ttl_s = (unsigned)((e->expires_ms - now_ms + 999) / 1000);
		lru_unlink(s, e);
		lru_push(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* The entry an answer would become, made before the shard is locked so that the lock is held
 * for pointer moves and copies only. NULL when the answer is not kept or memory is short. */
static struct addr_cache_entry *entry_new(uint32_t h, const char *name, const struct ip_addr *addrs,
					  unsigned n, unsigned ttl_s, uint64_t now_ms)
{
	size_t name_len = strlen(name);
	struct addr_cache_entry *e;

	/* TTL 0 means "do not cache" (RFC 1035 §3.2.1): that is what keeps a short-TTL
	 * rebinding name from being pinned by us. */
	if (ttl_s == 0 || n == 0)
		return NULL;
	BUG_ON(n > ADDR_CACHE_MAX_ADDRS);
	e = malloc(entry_size(n, name_len));
	if (!e)
		return NULL;
	e->next = e->older = e->newer = NULL;
	e->expires_ms =
	    now_ms + (uint64_t)(ttl_s > ADDR_CACHE_TTL_MAX_S ? ADDR_CACHE_TTL_MAX_S : ttl_s) * 1000;
	e->hash = h;
	e->n_addrs = (uint8_t)n;
	memcpy(e->addrs, addrs, n * sizeof(*addrs));
	memcpy((char *)(e->addrs + n), name, name_len + 1);
	return e;
}

unsigned addr_cache_put(struct addr_cache *c, const char *name, const struct ip_addr *addrs,
			unsigned n, unsigned ttl_s, uint64_t source, uint64_t now_ms,
			struct ip_addr *out, unsigned max)
{
	uint32_t h = name_hash(name);
	struct addr_cache_shard *s = shard_of(c, h);
	struct addr_cache_entry *fresh = entry_new(h, name, addrs, n, ttl_s, now_ms);
	unsigned got;

	pthread_mutex_lock(&s->lock);
	struct addr_cache_entry *e = shard_find(c, s, h, name, now_ms);
	if (e) {
		got = entry_copy(e, out, max);
		lru_unlink(s, e);
		lru_push(s, e);
	} else {
		got = n < max ? n : max;
		memmove(out, addrs, got * sizeof(*out));
		/* Read under the lock: a flush changes the source before it takes each shard's
		 * lock, so an answer from the old servers either lands before the flush empties
		 * this shard or sees the new source here. */
		if (fresh && atomic_load(&c->source) == source) {
			if (s->count >= c->shard_max)
				shard_evict_one(c, s);
			uint32_t b = h & c->bucket_mask;
			fresh->next = s->buckets[b];
			s->buckets[b] = fresh;
			lru_push(s, fresh);
			s->count++;
			s->bytes += entry_size(n, strlen(name));
			fresh = NULL;
		}
	}
	pthread_mutex_unlock(&s->lock);
	free(fresh);
	return got;
}

void addr_cache_flush(struct addr_cache *c, uint64_t source)
{
	atomic_store(&c->source, source);
	for (unsigned i = 0; i < ADDR_CACHE_SHARDS; i++) {
		struct addr_cache_shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		shard_clear(s);
		memset(s->buckets, 0, ((size_t)c->bucket_mask + 1) * sizeof(*s->buckets));
		pthread_mutex_unlock(&s->lock);
	}
}

void addr_cache_stats(struct addr_cache *c, struct addr_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < ADDR_CACHE_SHARDS; i++) {
		struct addr_cache_shard *s = &c->shards[i];
		pthread_mutex_lock(&s->lock);
		out->entries += s->count;
		out->evictions += s->evictions;
		out->bytes += s->bytes;
		pthread_mutex_unlock(&s->lock);
	}
}
