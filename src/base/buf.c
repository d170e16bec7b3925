#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

static const uint32_t buf_cache_size[BUF_CACHE_SIZES] = {4096, 16384, 65536};

/* How many blocks of each size the cache keeps: BUF_CACHE_MAX_BYTES split evenly by bytes. */
static unsigned buf_cache_max(int k)
{
	return BUF_CACHE_MAX_BYTES / BUF_CACHE_SIZES / buf_cache_size[k];
}

/* The cache size class of exactly `cap` bytes, or -1. */
static int buf_cache_class(uint32_t cap)
{
	for (int k = 0; k < BUF_CACHE_SIZES; k++)
		if (buf_cache_size[k] == cap)
			return k;
	return -1;
}

/* A block of class k: a spare one, or a new one. */
static char *buf_cache_take(struct buf_cache *cache, int k)
{
	void *block = cache->spare[k];

	if (!block) {
		cache->missed++;
		return malloc(buf_cache_size[k]);
	}
	memcpy(&cache->spare[k], block, sizeof(void *));
	cache->n[k]--;
	cache->taken++;
	return block;
}

/* Keeps a block of class k for the next buffer, or frees it when the cache has enough. */
static void buf_cache_give(struct buf_cache *cache, int k, char *block)
{
	if (cache->n[k] >= buf_cache_max(k)) {
		free(block);
		return;
	}
	memcpy(block, &cache->spare[k], sizeof(void *));
	cache->spare[k] = block;
	cache->n[k]++;
}

void buf_cache_fini(struct buf_cache *cache)
{
	for (int k = 0; k < BUF_CACHE_SIZES; k++)
		while (cache->spare[k]) {
			void *block = cache->spare[k];
			memcpy(&cache->spare[k], block, sizeof(void *));
			free(block);
		}
	memset(cache->n, 0, sizeof(cache->n));
}

/* The smallest cache size of at least `need` bytes that max_cap allows, or -1. */
static int buf_cache_fit(size_t need, size_t max_cap)
{
	for (int k = 0; k < BUF_CACHE_SIZES; k++)
		if (buf_cache_size[k] >= need)
			return buf_cache_size[k] <= max_cap ? k : -1;
	return -1;
}

/* Moves the buffer's bytes to a new block of `cap` bytes: of class k from the cache, or (k < 0)
 * from malloc. Returns false when out of memory (the buffer is unchanged). */
static bool buf_regrow(struct buf *b, int k, size_t cap)
{
	char *block = k >= 0 ? buf_cache_take(b->cache, k) : malloc(cap);
	size_t len = buf_len(b);

	if (!block)
		return false;
	if (b->data) {
		memcpy(block, b->data + b->start, len);
		buf_release(b);
	}
	b->data = block;
	b->cap = (uint32_t)cap;
	b->start = 0;
	b->end = (uint32_t)len;
	return true;
}

size_t buf_reserve(struct buf *b, size_t want, size_t max_cap)
{
	if (!b->data) {
		size_t cap = want > max_cap ? max_cap : want;
		if (cap < 4096 && max_cap >= 4096)
			cap = 4096;
		int k = b->cache ? buf_cache_fit(cap, max_cap) : -1;
		if (!buf_regrow(b, k, k >= 0 ? buf_cache_size[k] : cap))
			return 0;
	}
	if (b->cap - b->end >= want)
		return b->cap - b->end;
	if (b->start > 0) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
		if (b->cap - b->end >= want)
			return b->cap - b->end;
	}
	if (b->cap < max_cap) {
		size_t cap = (size_t)b->cap * 2;
		if (cap < b->end + want)
			cap = b->end + want;
		if (cap > max_cap)
			cap = max_cap;
		int k = b->cache ? buf_cache_fit(cap, max_cap) : -1;
		if (k >= 0)
			buf_regrow(b, k, buf_cache_size[k]);
		else {
			char *grown = realloc(b->data, cap);
			if (grown) {
				b->data = grown;
				b->cap = (uint32_t)cap;
			}
		}
	}
	return b->cap - b->end;
}

void buf_consume(struct buf *b, size_t n)
{
	b->start += (uint32_t)n;
	if (b->start == b->end)
		buf_release(b);
}

bool buf_append(struct buf *b, const void *p, size_t n, size_t max_cap)
{
	if (buf_reserve(b, n, max_cap) < n)
		return false;
	memcpy(buf_tail(b), p, n);
	buf_commit(b, n);
	return true;
}

void buf_release(struct buf *b)
{
	int k = b->cache && b->data ? buf_cache_class(b->cap) : -1;

	if (k >= 0)
		buf_cache_give(b->cache, k, b->data);
	else
		free(b->data);
	b->data = NULL;
	b->cap = b->start = b->end = 0;
}

/* Any block may go to any cache (or to free): each is plain malloc memory of at least its cap. */
void buf_move(struct buf *to, struct buf *from)
{
	buf_release(to);
	to->data = from->data;
	to->cap = from->cap;
	to->start = from->start;
	to->end = from->end;
	from->data = NULL;
	from->cap = from->start = from->end = 0;
}

size_t buf_take(struct buf *to, struct buf *from, size_t max_cap)
{
	size_t n = buf_len(from);

	if (n == 0)
		return 0;
	size_t room = buf_reserve(to, n < 16384 ? n : 16384, max_cap);
	if (n > room)
		n = room;
	if (n == 0)
		return 0;
	memcpy(buf_tail(to), buf_head(from), n);
	buf_commit(to, n);
	buf_consume(from, n);
	return n;
}
