#include "policy/search_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

struct search_cache_entry {
	uint64_t hash, stored_ms, used;
	uint64_t gen;
	char *key; /* owned; NULL: a free entry */
	size_t key_len;
	char *body; /* owned */
	size_t body_len;
	const char *ctype;
	unsigned results;
};

struct search_cache {
	unsigned n;
	uint64_t clock; /* use counter, for least recently used */
	struct search_cache_entry entries[];
};

struct search_cache *search_cache_new(unsigned entries)
{
	struct search_cache *c = calloc(1, sizeof(*c) + entries * sizeof(c->entries[0]));
	if (c)
		c->n = entries;
	return c;
}

static void entry_clear(struct search_cache_entry *e)
{
	free(e->key);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

void search_cache_free(struct search_cache *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->n; i++)
		entry_clear(&c->entries[i]);
	free(c);
}

unsigned search_cache_capacity(const struct search_cache *c)
{
	return c ? c->n : 0;
}

void search_cache_key_of(const struct search_query *q, struct search_cache_key *k)
{
	int n = snprintf(k->text, sizeof(k->text), "%u|%u|%u|%d|%d|%s|%d|", (unsigned)q->api,
			 q->count, q->offset, (int)q->time, q->safesearch, q->language, q->news);
	size_t at = n < 0 ? 0 : (size_t)n;
	size_t room = sizeof(k->text) - at;
	size_t t = q->text_len < room ? q->text_len : room;
	memcpy(k->text + at, q->text, t);
	k->len = at + t;
}

static struct search_cache_entry *find(struct search_cache *c, const struct search_cache_key *k,
				       uint64_t h)
{
	for (unsigned i = 0; i < c->n; i++) {
		struct search_cache_entry *e = &c->entries[i];
		if (e->key && e->hash == h && e->key_len == k->len &&
		    memcmp(e->key, k->text, k->len) == 0)
			return e;
	}
	return NULL;
}

bool search_cache_get(struct search_cache *c, const struct search_cache_key *k, uint64_t gen,
		      uint64_t now_ms, unsigned ttl_ms, struct slice *body, const char **ctype,
		      unsigned *results)
{
	if (!c || ttl_ms == 0)
		return false;
	struct search_cache_entry *e = find(c, k, hash_fnv_bytes(HASH_FNV_BASIS, k->text, k->len));
	if (!e)
		return false;
	if (e->gen != gen || now_ms - e->stored_ms >= ttl_ms) {
		entry_clear(e);
		return false;
	}
	e->used = ++c->clock;
	*body = slice_make(e->body, e->body_len);
	*ctype = e->ctype;
	*results = e->results;
	return true;
}

bool search_cache_put(struct search_cache *c, const struct search_cache_key *k, uint64_t gen,
		      uint64_t now_ms, struct slice body, const char *ctype, unsigned results)
{
	if (!c || c->n == 0)
		return false;
	uint64_t h = hash_fnv_bytes(HASH_FNV_BASIS, k->text, k->len);
	struct search_cache_entry *e = find(c, k, h);
	if (!e) {
		/* A free entry, else the least recently used. */
		e = &c->entries[0];
		for (unsigned i = 0; i < c->n && e->key; i++)
			if (!c->entries[i].key || c->entries[i].used < e->used)
				e = &c->entries[i];
	}
	entry_clear(e);
	e->key = malloc(k->len ? k->len : 1);
	e->body = malloc(body.len ? body.len : 1);
	if (!e->key || !e->body) {
		entry_clear(e);
		return false;
	}
	memcpy(e->key, k->text, k->len);
	memcpy(e->body, body.ptr, body.len);
	e->key_len = k->len;
	e->body_len = body.len;
	e->hash = h;
	e->gen = gen;
	e->stored_ms = now_ms;
	e->ctype = ctype;
	e->results = results;
	e->used = ++c->clock;
	return true;
}
