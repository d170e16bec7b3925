#include "base/arena.h"

#include <stdlib.h>
#include <string.h>

struct arena_block {
	struct arena_block *next;
	size_t used;
	char data[ARENA_BLOCK];
};

void arena_init(struct arena *a)
{
	a->head = NULL;
}

void arena_fini(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}

char *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;

	if (n == 0 || n > ARENA_BLOCK)
		return NULL;
	/* Only the newest block is tried: the strings are small next to a block, so the tail
	 * that a new block leaves unused is small too. */
	if (b == NULL || ARENA_BLOCK - b->used < n) {
		b = malloc(sizeof(*b));
		if (b == NULL)
			return NULL;
		b->next = a->head;
		b->used = 0;
		a->head = b;
	}
	char *p = b->data + b->used;
	b->used += n;
	return p;
}

char *arena_copy(struct arena *a, const char *p, size_t n)
{
	char *text = n < ARENA_BLOCK ? arena_alloc(a, n + 1) : NULL;

	if (text == NULL)
		return NULL;
	memcpy(text, p, n);
	text[n] = '\0';
	return text;
}
