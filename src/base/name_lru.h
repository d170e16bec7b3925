/* name_lru: a bounded map from names (bytes, at most NAME_LRU_KEY_MAX) to caller pointers; when
 * full, a put gives back the least recently used value for the caller to release. Does not own,
 * copy or free the values, and does not lock: its one user (io/tls_mint) holds a mutex. */
#ifndef SLUICE_BASE_NAME_LRU_H
#define SLUICE_BASE_NAME_LRU_H

#include <stdbool.h>

#include "base/slice.h"

/* A DNS name has at most 253 bytes; an IPv6 literal far fewer. */
#define NAME_LRU_KEY_MAX 255

struct name_lru;

/* At most cap entries (cap >= 1). NULL when out of memory. */
struct name_lru *name_lru_new(unsigned cap);
/* Calls drop (when not NULL) on every value still held, then frees the map. */
void name_lru_free(struct name_lru *l, void (*drop)(void *value));

/* The value for key, now the most recently used; NULL when absent. */
void *name_lru_get(struct name_lru *l, struct slice key);
/* Adds key -> value (key must be absent, value not NULL, key.len <= NAME_LRU_KEY_MAX). When
 * the map was full, *evicted gets the least recently used value, whose entry is gone; else
 * NULL. Returns false when out of memory (nothing changed). */
bool name_lru_put(struct name_lru *l, struct slice key, void *value, void **evicted);
unsigned name_lru_count(const struct name_lru *l);

#endif
