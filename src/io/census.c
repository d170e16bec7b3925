/* census: the workers' answers to "what is open now"; see census.h. */
#include "io/census.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"

struct census_slot {
	struct event *wake;
	struct buf answer;
	uint64_t answered; /* the last question this worker answered */
};

struct census {
	pthread_mutex_t lock;
	pthread_cond_t answered;
	uint64_t question; /* bumped by each collect */
	struct census_slot slots[CONFIG_MAX_WORKERS];
};

struct census *census_new(void)
{
	struct census *cs = calloc(1, sizeof(*cs));
	pthread_condattr_t attr;

	if (!cs)
		return NULL;
	/* Waits are timed on the monotonic clock: a wall clock step cannot stretch them. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_mutex_init(&cs->lock, NULL) != 0) {
		free(cs);
		return NULL;
	}
	if (pthread_cond_init(&cs->answered, &attr) != 0) {
		pthread_mutex_destroy(&cs->lock);
		free(cs);
		return NULL;
	}
	pthread_condattr_destroy(&attr);
	return cs;
}

void census_free(struct census *cs)
{
	if (!cs)
		return;
	for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++)
		buf_release(&cs->slots[i].answer);
	pthread_cond_destroy(&cs->answered);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

void census_set_wake(struct census *cs, unsigned index, struct event *ev)
{
	if (!cs || index >= CONFIG_MAX_WORKERS)
		return;
	pthread_mutex_lock(&cs->lock);
	cs->slots[index].wake = ev;
	pthread_mutex_unlock(&cs->lock);
}

void census_answer(struct census *cs, unsigned index, struct buf *lines)
{
	pthread_mutex_lock(&cs->lock);
	struct census_slot *s = &cs->slots[index];
	buf_move(&s->answer, lines);
	s->answered = cs->question;
	pthread_cond_broadcast(&cs->answered);
	pthread_mutex_unlock(&cs->lock);
}

/* True once every worker that can answer has answered the current question. */
static bool census_complete(const struct census *cs, unsigned *missing)
{
	*missing = 0;
	for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++)
		if (cs->slots[i].wake && cs->slots[i].answered != cs->question)
			(*missing)++;
	return *missing == 0;
}

unsigned census_collect(struct census *cs, struct buf *out, size_t max, unsigned wait_ms)
{
	struct timespec deadline;
	unsigned missing;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += wait_ms / 1000;
	deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&cs->lock);
	cs->question++;
	for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++) {
		buf_release(&cs->slots[i].answer);
		if (cs->slots[i].wake)
			event_active(cs->slots[i].wake, EV_TIMEOUT, 0);
	}
	while (!census_complete(cs, &missing))
		if (pthread_cond_timedwait(&cs->answered, &cs->lock, &deadline) == ETIMEDOUT) {
			census_complete(cs, &missing);
			break;
		}
	for (unsigned i = 0; i < CONFIG_MAX_WORKERS; i++) {
		struct buf *a = &cs->slots[i].answer;
		if (cs->slots[i].answered != cs->question)
			continue;
		/* Whole lines only: the last that fits, and no more. */
		size_t room = max > buf_len(out) ? max - buf_len(out) : 0, len = buf_len(a);
		if (len > room) {
			const char *nl = NULL;
			for (size_t k = room; k > 0 && !nl; k--)
				if (buf_head(a)[k - 1] == '\n')
					nl = buf_head(a) + k - 1;
			len = nl ? (size_t)(nl - buf_head(a)) + 1 : 0;
		}
		if (len)
			buf_append(out, buf_head(a), len, max);
		buf_release(a);
	}
	pthread_mutex_unlock(&cs->lock);
	return missing;
}
