/* Tests src/io/event_ring.c: lines come out whole and in order, a reader that falls behind is
 * told how many it missed and resumes at the oldest kept, and wrapping past the end keeps
 * every remaining line intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "io/event_ring.h"

struct seen {
	unsigned n;
	long last;
	bool bad;
};

static void each(void *arg, const char *line, size_t len)
{
	struct seen *s = arg;
	long v = strtol(line + 5, NULL, 10);
	char want[64];
	int n = snprintf(want, sizeof(want), "line %ld ", v);
	/* every line is "line N " padded with 'x' to a length that depends on N */
	bool ok = len == (size_t)(n + v % 300) && memcmp(line, want, (size_t)n) == 0;
	for (size_t i = (size_t)n; ok && i < len; i++)
		ok = line[i] == 'x';
	if (!ok || (s->n && v != s->last + 1))
		s->bad = true;
	s->last = v;
	s->n++;
}

static void push(struct event_ring *r, long v)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "line %ld ", v);
	memset(line + n, 'x', (size_t)(v % 300));
	event_ring_push(r, line, (size_t)n + (size_t)(v % 300));
}

static void test_order_loss_and_wrap(void **state)
{
	struct event_ring *r = event_ring_new();
	char *scratch = malloc(EVENT_RING_BYTES);
	struct event_ring_cursor cur = {0};
	struct seen s = {0};

	assert_non_null(r);
	for (long v = 0; v < 1000; v++)
		push(r, v);
	assert_int_equal(event_ring_read(r, &cur, scratch, EVENT_RING_BYTES, each, &s), 0);
	assert_int_equal(s.n, 1000);
	assert_false(s.bad);
	/* Far more than the ring holds: the reader misses the oldest, the rest come whole. */
	for (long v = 1000; v < 60000; v++)
		push(r, v);
	struct seen t = {0};
	uint64_t missed = event_ring_read(r, &cur, scratch, EVENT_RING_BYTES, each, &t);
	assert_true(missed > 0);
	assert_int_equal(missed + t.n, 59000);
	assert_false(t.bad);
	assert_int_equal(t.last, 59999);
	/* Nothing new: nothing read. */
	struct seen u = {0};
	assert_int_equal(event_ring_read(r, &cur, scratch, EVENT_RING_BYTES, each, &u), 0);
	assert_int_equal(u.n, 0);
	free(scratch);
	event_ring_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_loss_and_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
