/* buf: a byte buffer with a read and a write offset, allocated when data arrives and released
 * when drained, so that an idle connection holds no user-space buffer.
 * Does not grow past the capacity its owner asks for, and does no I/O. */
#ifndef SLUICE_BASE_BUF_H
#define SLUICE_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	uint32_t cap;
	uint32_t start; /* first unread byte */
	uint32_t end;	/* one past the last written byte */
};

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
/* Appends bytes (reserving up to max_cap). Returns false when they do not fit. */
bool buf_append(struct buf *b, const void *p, size_t n, size_t max_cap);
void buf_release(struct buf *b);

#endif
