#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

size_t buf_reserve(struct buf *b, size_t want, size_t max_cap)
{
	if (!b->data) {
		size_t cap = want > max_cap ? max_cap : want;
		if (cap < 4096 && max_cap >= 4096)
			cap = 4096;
		b->data = malloc(cap);
		if (!b->data)
			return 0;
		b->cap = (uint32_t)cap;
		b->start = b->end = 0;
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
		char *grown = realloc(b->data, cap);
		if (grown) {
			b->data = grown;
			b->cap = (uint32_t)cap;
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
	free(b->data);
	b->data = NULL;
	b->cap = b->start = b->end = 0;
}
