/* census: what every worker has open right now, for the console's /api/connections. A
 * connection belongs to its worker's thread, so the admin thread never walks another thread's
 * list: it asks each worker (an event on its loop), each worker writes its own list
 * (io/conn_census) and hands it over here, and the admin thread waits a bounded time for the
 * answers. The request path never sees any of this: a worker works on it only when asked. */
#ifndef SLUICE_IO_CENSUS_H
#define SLUICE_IO_CENSUS_H

#include <stddef.h>

#include "base/buf.h"

struct census;
struct event;

/* NULL when out of memory. */
struct census *census_new(void);
void census_free(struct census *cs);
/* The event that makes worker `index` answer (NULL: it answers no more, e.g. it has ended). */
void census_set_wake(struct census *cs, unsigned index, struct event *ev);

/* Worker `index`: its answer, one JSON object per line. lines is a buffer without a cache (its
 * memory moves to the admin thread) and is left empty. */
void census_answer(struct census *cs, unsigned index, struct buf *lines);

/* Admin thread: asks every worker and appends their answers to out (at most max bytes, whole
 * lines), waiting at most wait_ms for all of them. Returns how many workers did not answer in
 * time (their part is missing). */
unsigned census_collect(struct census *cs, struct buf *out, size_t max, unsigned wait_ms);

#endif
