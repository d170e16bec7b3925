/* snapshot: one loaded configuration shared read-only by every worker, reference-counted
 * across threads so a reload can replace it while requests in flight finish under the old one.
 * Workers count their own connections on it without atomics (worker.c); only the per-worker
 * holds touch this counter. Does not parse or validate. */
#ifndef SLUICE_IO_SNAPSHOT_H
#define SLUICE_IO_SNAPSHOT_H

#include <stdatomic.h>
#include <stdint.h>

#include "parse/config.h"

struct snapshot {
	struct config *cfg;
	uint64_t generation; /* 1 for the first load, +1 per successful reload */
	atomic_uint refs;
};

/* Takes ownership of cfg; the caller holds the first reference. */
struct snapshot *snapshot_new(struct config *cfg, uint64_t generation);
void snapshot_ref(struct snapshot *s);
/* Drops a reference; the last one frees the configuration. */
void snapshot_unref(struct snapshot *s);

#endif
