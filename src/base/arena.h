/* arena: many small byte strings that live and die together (domain patterns of a policy,
 * host names of a report), carved from 16 KiB blocks and freed all at once.
 * Does not free one string, grow one in place, or hand out more than a block. */
#ifndef SLUICE_BASE_ARENA_H
#define SLUICE_BASE_ARENA_H

#include <stddef.h>

#define ARENA_BLOCK 16384

struct arena_block;

/* Zero-initialised (or arena_init) it is empty and owns nothing. */
struct arena {
	struct arena_block *head;
};

void arena_init(struct arena *a);
/* Frees every block; the arena is empty again. */
void arena_fini(struct arena *a);
/* n bytes (not initialised) that stay valid until arena_fini; NULL when out of memory or when
 * n is 0 or more than ARENA_BLOCK. */
char *arena_alloc(struct arena *a, size_t n);
/* A NUL-terminated copy of p[0..n), or NULL as for arena_alloc(n + 1). */
char *arena_copy(struct arena *a, const char *p, size_t n);

#endif
