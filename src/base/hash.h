/* hash: FNV-1a and murmur3's fmix32 finaliser for sluice's in-memory hash tables (pool,
 * resolver cache, metrics series, domain sets, report hosts, agent slots). The values are never
 * stored or sent, so the function can change freely. Does not compare keys or size tables. */
#ifndef SLUICE_BASE_HASH_H
#define SLUICE_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_BASIS 2166136261u

static inline uint32_t hash_fnv_byte(uint32_t h, unsigned char byte)
{
	return (h ^ byte) * 16777619u;
}

static inline uint32_t hash_fnv_bytes(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = hash_fnv_byte(h, b[i]);
	return h;
}

static inline uint32_t hash_fnv_str(uint32_t h, const char *s)
{
	for (; *s; s++)
		h = hash_fnv_byte(h, (unsigned char)*s);
	return h;
}

/* FNV-1a's low bits are weak for keys that differ in one byte; a table indexed by the low bits
 * spreads them with this (murmur3 fmix32). */
static inline uint32_t hash_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

#endif
