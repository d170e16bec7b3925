/* name_lru: chained hash buckets (a power of two at least the capacity, so chains stay short)
 * and one doubly linked recency list, head the most recent. */
#include "base/name_lru.h"

#include <stdlib.h>
#include <string.h>

#include "base/bug.h"
#include "base/hash.h"

struct name_lru_entry {
	struct name_lru_entry *chain;	    /* next in the bucket */
	struct name_lru_entry *prev, *next; /* recency list */
	void *value;
	size_t len;
	char key[NAME_LRU_KEY_MAX];
};

struct name_lru {
	struct name_lru_entry **buckets;
	unsigned mask; /* buckets - 1 */
	unsigned cap, count;
	struct name_lru_entry *head, *tail;
};

struct name_lru *name_lru_new(unsigned cap)
{
	struct name_lru *l = calloc(1, sizeof(*l));
	unsigned n = 1;

	if (!l || cap == 0) {
		free(l);
		return NULL;
	}
	while (n < cap && n < (1u << 30))
		n <<= 1;
	l->buckets = calloc(n, sizeof(*l->buckets));
	if (!l->buckets) {
		free(l);
		return NULL;
	}
	l->mask = n - 1;
	l->cap = cap;
	return l;
}

void name_lru_free(struct name_lru *l, void (*drop)(void *value))
{
	if (!l)
		return;
	for (struct name_lru_entry *e = l->head, *next; e; e = next) {
		next = e->next;
		if (drop)
			drop(e->value);
		free(e);
	}
	free(l->buckets);
	free(l);
}

static unsigned name_lru_bucket(const struct name_lru *l, struct slice key)
{
	return hash_fnv_bytes(HASH_FNV_BASIS, key.ptr, key.len) & l->mask;
}

static void name_lru_unlink(struct name_lru *l, struct name_lru_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static void name_lru_push_front(struct name_lru *l, struct name_lru_entry *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	l->head = e;
	if (!l->tail)
		l->tail = e;
}

void *name_lru_get(struct name_lru *l, struct slice key)
{
	struct name_lru_entry *e = l->buckets[name_lru_bucket(l, key)];

	for (; e; e = e->chain)
		if (e->len == key.len && memcmp(e->key, key.ptr, key.len) == 0)
			break;
	if (!e)
		return NULL;
	name_lru_unlink(l, e);
	name_lru_push_front(l, e);
	return e->value;
}

/* Takes e out of its bucket's chain (it is there: every listed entry is). */
static void name_lru_unchain(struct name_lru *l, struct name_lru_entry *e)
{
	struct name_lru_entry **p = &l->buckets[name_lru_bucket(l, slice_make(e->key, e->len))];

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
}

bool name_lru_put(struct name_lru *l, struct slice key, void *value, void **evicted)
{
	struct name_lru_entry *e;

	BUG_ON(key.len > NAME_LRU_KEY_MAX || value == NULL);
	*evicted = NULL;
	if (l->count == l->cap) {
		/* Reuse the oldest entry's memory: a full cache never allocates. */
		e = l->tail;
		name_lru_unlink(l, e);
		name_lru_unchain(l, e);
		*evicted = e->value;
		l->count--;
	} else {
		e = malloc(sizeof(*e));
		if (!e)
			return false;
	}
	memcpy(e->key, key.ptr, key.len);
	e->len = key.len;
	e->value = value;
	unsigned b = name_lru_bucket(l, key);
	e->chain = l->buckets[b];
	l->buckets[b] = e;
	name_lru_push_front(l, e);
	l->count++;
	return true;
}

unsigned name_lru_count(const struct name_lru *l)
{
	return l->count;
}
