/* event_ring: a byte ring of records [u32 length][bytes], under a mutex the worker holds for one
 * memcpy per line and the reader for one copy of what is new. Records never wrap: one that
 * would not fit before the end starts again at offset 0, and a zero length marks the skip. */
#include "io/event_ring.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ring_rec {
	uint64_t seq;
	uint32_t off; /* where its record starts */
};

/* Index of the records in the ring, oldest first (a ring of its own). */
#define EVENT_RING_RECS 8192

struct event_ring {
	pthread_mutex_t lock;
	char *bytes;
	uint32_t head;	       /* where the next record goes */
	struct ring_rec *recs; /* recs[seq % EVENT_RING_RECS] */
	uint64_t first, next;  /* sequence numbers held: [first, next) */
	uint64_t dropped;      /* lines too long to keep */
};

struct event_ring *event_ring_new(void)
{
	struct event_ring *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->bytes = malloc(EVENT_RING_BYTES);
	r->recs = calloc(EVENT_RING_RECS, sizeof(*r->recs));
	if (!r->bytes || !r->recs) {
		event_ring_free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void event_ring_free(struct event_ring *r)
{
	if (!r)
		return;
	if (r->bytes && r->recs)
		pthread_mutex_destroy(&r->lock);
	free(r->bytes);
	free(r->recs);
	free(r);
}

/* Lock held: drops the oldest records that overlap [off, off + len). */
static void ring_evict(struct event_ring *r, uint32_t off, uint32_t len)
{
	while (r->first < r->next) {
		const struct ring_rec *o = &r->recs[r->first % EVENT_RING_RECS];
		uint32_t olen;
		memcpy(&olen, r->bytes + o->off, sizeof(olen));
		uint32_t oend = o->off + (uint32_t)sizeof(olen) + olen;
		bool overlaps = o->off < off + len && off < oend;
		if (!overlaps && r->next - r->first < EVENT_RING_RECS)
			return;
		r->first++;
	}
}

void event_ring_push(struct event_ring *r, const char *line, size_t len)
{
	uint32_t need = (uint32_t)(sizeof(uint32_t) + len);

	if (len > EVENT_RING_BYTES / 4) {
		pthread_mutex_lock(&r->lock);
		r->dropped++;
		pthread_mutex_unlock(&r->lock);
		return;
	}
	pthread_mutex_lock(&r->lock);
	uint32_t off = r->head;
	if (off + need > EVENT_RING_BYTES) {
		/* The records between head and the end are the oldest: they go first. */
		while (r->first < r->next && r->recs[r->first % EVENT_RING_RECS].off >= off)
			r->first++;
		off = 0;
	}
	ring_evict(r, off, need);
	uint32_t n32 = (uint32_t)len;
	memcpy(r->bytes + off, &n32, sizeof(n32));
	memcpy(r->bytes + off + sizeof(n32), line, len);
	r->recs[r->next % EVENT_RING_RECS] = (struct ring_rec){r->next, off};
	r->next++;
	r->head = off + need;
	pthread_mutex_unlock(&r->lock);
}

uint64_t event_ring_read(struct event_ring *r, struct event_ring_cursor *cur, char *scratch,
			 size_t scratch_cap, void (*each)(void *arg, const char *line, size_t len),
			 void *arg)
{
	uint64_t missed = 0;
	size_t used = 0;
	uint64_t from, to;

	pthread_mutex_lock(&r->lock);
	missed = r->dropped;
	r->dropped = 0;
	if (cur->seq < r->first) {
		missed += r->first - cur->seq;
		cur->seq = r->first;
	}
	from = cur->seq;
	to = r->next;
	/* Copied as [u32 length][bytes], as in the ring: at most the ring's size in all. */
	for (uint64_t s = from; s < to; s++) {
		const struct ring_rec *rec = &r->recs[s % EVENT_RING_RECS];
		uint32_t len;
		memcpy(&len, r->bytes + rec->off, sizeof(len));
		if (used + sizeof(len) + len > scratch_cap) {
			to = s;
			break;
		}
		memcpy(scratch + used, r->bytes + rec->off, sizeof(len) + len);
		used += sizeof(len) + len;
	}
	pthread_mutex_unlock(&r->lock);
	cur->seq = to;
	for (size_t at = 0; at < used;) {
		uint32_t len;
		memcpy(&len, scratch + at, sizeof(len));
		each(arg, scratch + at + sizeof(len), len);
		at += sizeof(len) + len;
	}
	return missed;
}
