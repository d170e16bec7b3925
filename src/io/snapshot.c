#include "io/snapshot.h"

#include <stdlib.h>

struct snapshot *snapshot_new(struct config *cfg, uint64_t generation)
{
	struct snapshot *s = malloc(sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = cfg;
	s->generation = generation;
	atomic_init(&s->refs, 1);
	return s;
}

void snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void snapshot_unref(struct snapshot *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	config_free(s->cfg);
	free(s);
}
