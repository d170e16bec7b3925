/* buf: a byte buffer with a read and a write offset, allocated when data arrives and released
 * when drained (into a bounded cache of spare blocks, when it has one), so that an idle
 * connection holds no user-space buffer. Does not grow past the capacity its owner asks for,
 * and does no I/O. */
#ifndef SLUICE_BASE_BUF_H
#define SLUICE_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Spare blocks of the sizes buffers take most (4, 16 and 64 KiB): what a drained buffer gives
 * back and the next one takes, so that a buffer filled and drained on every request costs no
 * malloc or free. One per worker, used by that thread alone; each size holds at most a few
 * blocks (BUF_CACHE_MAX_BYTES in all), beyond which memory goes back to malloc. */
#define BUF_CACHE_SIZES 3
#define BUF_CACHE_MAX_BYTES (768u * 1024)
struct buf_cache {
	void *spare[BUF_CACHE_SIZES]; /* each spare block's first bytes point to the next */
	unsigned n[BUF_CACHE_SIZES];
	uint64_t taken, missed; /* blocks taken from the cache, and allocated because it had none */
};

struct buf {
	char *data;
	struct buf_cache *cache; /* where its memory comes from and goes; NULL: malloc and free */
	uint32_t cap;
	uint32_t start; /* first unread byte */
	uint32_t end;	/* one past the last written byte */
};

/* An empty buffer whose memory comes from cache (NULL: none). A zeroed struct buf is an empty
 * buffer without a cache. */
static inline void buf_init(struct buf *b, struct buf_cache *cache)
{
	*b = (struct buf){.cache = cache};
}
/* Frees the spare blocks; the buffers that used the cache must hold no memory by then. */
void buf_cache_fini(struct buf_cache *cache);

static inline size_t buf_len(const struct buf *b)
{
	return b->end - b->start;
}

static inline const char *buf_head(const struct buf *b)
{
	/* An empty buffer may hold no memory at all: never offset a null pointer. */
	return b->data ? b->data + b->start : "";
}

/* Makes room for at least `want` more bytes at the end, allocating or compacting, never
 * growing the capacity past `max_cap`. Returns the free space (0 only when full or out of
 * memory). */
size_t buf_reserve(struct buf *b, size_t want, size_t max_cap);
static inline char *buf_tail(struct buf *b)
{
	return b->data + b->end;
}
static inline void buf_commit(struct buf *b, size_t n)
{
	b->end += (uint32_t)n;
}
/* True when more bytes fit without growing past max_cap (allocates nothing). */
static inline bool buf_has_room(const struct buf *b, size_t max_cap)
{
	return !b->data || b->cap - buf_len(b) > 0 || b->cap < max_cap;
}
/* Drops n bytes from the front; releases the memory once the buffer is empty. */
void buf_consume(struct buf *b, size_t n);
/* Drops n bytes from the front but keeps the memory even when empty, so that slices into it
 * stay valid until the next write to the buffer. */
static inline void buf_consume_keep(struct buf *b, size_t n)
{
	b->start += (uint32_t)n;
}
/* Puts back the n bytes buf_consume_keep dropped last, when nothing was written since (they
 * are still there): a request held for an answer is read again from its head. */
static inline void buf_unconsume(struct buf *b, size_t n)
{
	b->start -= (uint32_t)n;
}
/* Appends bytes (reserving up to max_cap). Returns false when they do not fit. */
bool buf_append(struct buf *b, const void *p, size_t n, size_t max_cap);
/* Gives the memory back (to the cache, when it has room for it); the buffer is empty after. */
void buf_release(struct buf *b);
/* Moves from the front of `from` to the end of `to` as many bytes as `to` takes (growing it by
 * 16 KiB at most, never past max_cap). Returns how many moved. */
size_t buf_take(struct buf *to, struct buf *from, size_t max_cap);
/* Hands from's bytes and memory to `to` (which is released first); from is left empty. */
void buf_move(struct buf *to, struct buf *from);

#endif
