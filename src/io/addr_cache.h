/* addr_cache: the process's one cache of resolved names (name -> addresses, until a deadline),
 * shared by every worker's resolver, so that a name means the same addresses on every worker
 * for as long as its entry lives. Thread-safe: sharded by name, a mutex per shard, so that two
 * workers rarely wait for each other. Bounded: at most max_entries names, and a full shard gives
 * up its least recently used entry (one, never the whole cache). Entries are sized to the
 * addresses they hold. Does not resolve (io/resolver does) and reads no clock: callers pass
 * the time, in monotonic milliseconds. */
#ifndef SLUICE_IO_ADDR_CACHE_H
#define SLUICE_IO_ADDR_CACHE_H

#include <stdint.h>

#include "base/ip_addr.h"

/* The longest TTL kept; a longer one is cut to this. */
#define ADDR_CACHE_TTL_MAX_S 3600
/* The addresses one name keeps at most (more are dropped by the caller, io/resolver). */
#define ADDR_CACHE_MAX_ADDRS 16
/* The process's bound (daemon/main and daemon/jail). */
#define ADDR_CACHE_DEFAULT_MAX 16384

struct addr_cache;

/* source names the DNS servers the answers come from (resolver_servers_key): answers offered
 * for another source are not kept. max_entries is rounded up to a multiple of the shard
 * count. NULL when out of memory. */
struct addr_cache *addr_cache_new(unsigned max_entries, uint64_t source);
void addr_cache_free(struct addr_cache *c);

/* Copies up to max addresses of name's entry into out and returns how many, or -1 when there
 * is no entry or it has expired. When ttl_s is not NULL it gets the seconds the entry has left,
 * rounded up. */
int addr_cache_get(struct addr_cache *c, const char *name, uint64_t now_ms, struct ip_addr *out,
		   unsigned max, unsigned *ttl_s);

/* Offers a fresh answer for name (n addresses, ttl_s seconds, from source) and puts into out
 * (room for max) the addresses every user of the name gets now. The first answer wins: when
 * an unexpired entry exists (another worker resolved the name meanwhile), it stays, and out
 * gets its addresses, not the answer's. Otherwise the answer is kept (unless its TTL is 0, it
 * has no address, or source is not the cache's any more) and out gets the answer. Returns the
 * number of addresses in out (0: no entry and an empty answer). */
unsigned addr_cache_put(struct addr_cache *c, const char *name, const struct ip_addr *addrs,
			unsigned n, unsigned ttl_s, uint64_t source, uint64_t now_ms,
			struct ip_addr *out, unsigned max);

/* Drops every entry and keeps, from now on, only answers from source: a reload that changed
 * the DNS servers must not hand out what the old servers said, not even from a lookup still
 * in flight. */
void addr_cache_flush(struct addr_cache *c, uint64_t source);

struct addr_cache_stats {
	unsigned entries;
	uint64_t evictions; /* entries given up for room (not expired, not flushed) */
	size_t bytes;	    /* heap held by the entries (the tables not counted) */
};
void addr_cache_stats(struct addr_cache *c, struct addr_cache_stats *out);

#endif
