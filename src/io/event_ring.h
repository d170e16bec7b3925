/* event_ring: one worker's decision log lines for the console (io/console), a bounded ring the
 * worker writes and the admin thread reads: the worker never waits for the reader (a line
 * that finds the ring full overwrites the oldest, and the reader is told how many it missed)
 * and never allocates. Does not format lines (emit/log_json) nor serve them. */
#ifndef SLUICE_IO_EVENT_RING_H
#define SLUICE_IO_EVENT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVENT_RING_BYTES (1u << 20)

struct event_ring;

/* NULL when out of memory. */
struct event_ring *event_ring_new(void);
void event_ring_free(struct event_ring *r);
/* Worker: one line (its newline included), copied; a line longer than a quarter of the ring is
 * dropped (counted as missed). */
void event_ring_push(struct event_ring *r, const char *line, size_t len);

/* The reader's place: the sequence number of the next line it wants. */
struct event_ring_cursor {
	uint64_t seq;
};

/* Admin thread: calls each for every line since the cursor (oldest first), copied out of the
 * ring under its lock into scratch (EVENT_RING_BYTES takes all of it) first, so that each
 * runs without the lock; returns how many lines were missed (the ring wrapped past them) and
 * advances the cursor past the lines given. */
uint64_t event_ring_read(struct event_ring *r, struct event_ring_cursor *cur, char *scratch,
			 size_t scratch_cap, void (*each)(void *arg, const char *line, size_t len),
			 void *arg);

#endif
