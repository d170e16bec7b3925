/* Tests src/policy/rate_limit.c: a token bucket starts full, refills at exactly rate tokens a
 * second (no fraction lost over many small steps), never above burst, never for a clock that
 * steps back, and rate 0 is unlimited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy/rate_limit.h"

/* Takes until the bucket refuses (at most limit times); returns how many it gave. */
static unsigned drain(struct token_bucket *tb, uint64_t now_ms, unsigned limit)
{
	unsigned n = 0;
	while (n < limit && token_bucket_take(tb, now_ms))
		n++;
	return n;
}

static void test_starts_full_with_burst(void **state)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 50, 200, 1000);
	assert_int_equal(drain(&tb, 1000, 1000), 200);
	assert_false(token_bucket_take(&tb, 1000));
}

static void test_refills_at_rate(void **state)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 10, 10, 0);
	assert_int_equal(drain(&tb, 0, 100), 10);
	/* 10 a second: one every 100 ms, none before. */
	assert_false(token_bucket_take(&tb, 99));
	assert_true(token_bucket_take(&tb, 100));
	assert_false(token_bucket_take(&tb, 100));
	assert_int_equal(drain(&tb, 600, 100), 5);
	/* A second later the bucket holds 10 again. */
	assert_int_equal(drain(&tb, 1600, 100), 10);
}

/* Milli-tokens: a rate that is no whole number of tokens a millisecond loses nothing across
 * many small steps (3 a second, asked every millisecond for ten seconds: exactly 30). The
 * bucket is big enough here never to be full, where a refill is cut at burst by design. */
static void test_no_drift_in_small_steps(void **state)
{
	struct token_bucket tb;
	unsigned got = 0;

	token_bucket_init(&tb, 3, 100, 0);
	assert_int_equal(drain(&tb, 0, 1000), 100);
	for (uint64_t t = 1; t <= 10000; t++)
		got += token_bucket_take(&tb, t);
	assert_int_equal(got, 30);
	/* 7 a second over 1 s asked at uneven times: the seventh token is due at 1000 exactly. */
	token_bucket_init(&tb, 7, 10, 0);
	assert_int_equal(drain(&tb, 0, 1000), 10);
	got = 0;
	for (uint64_t t = 13; t <= 1000; t += 13)
		got += token_bucket_take(&tb, t);
	got += token_bucket_take(&tb, 1000);
	assert_int_equal(got, 7);
}

static void test_never_above_burst(void **state)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 100, 5, 0);
	assert_int_equal(drain(&tb, 0, 100), 5);
	/* An hour idle, or an idle time whose product with the rate would overflow. */
	assert_int_equal(drain(&tb, 3600u * 1000, 100), 5);
	/* A refill just past what fills the bucket: 1000 a second is a token a millisecond, and
	 * 2 ms after emptying a one-token bucket it holds one, not two. */
	token_bucket_init(&tb, 1000, 1, 0);
	assert_int_equal(drain(&tb, 0, 100), 1);
	assert_int_equal(drain(&tb, 2, 100), 1);
	assert_int_equal(drain(&tb, 3, 100), 1);
	token_bucket_init(&tb, 1000000, 3, 0);
	assert_int_equal(drain(&tb, 0, 100), 3);
	assert_int_equal(drain(&tb, UINT64_MAX, 100), 3);
	assert_int_equal(drain(&tb, UINT64_MAX, 100), 0);
}

/* A clock that steps back refills nothing and does not move the bucket's time back, so the same
 * interval is never credited twice; the bucket never goes below empty. */
static void test_clock_going_backwards(void **state)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 10, 2, 10000);
	assert_int_equal(drain(&tb, 10000, 100), 2);
	assert_false(token_bucket_take(&tb, 5000));
	assert_false(token_bucket_take(&tb, 0));
	assert_false(token_bucket_take(&tb, 9999));
	/* Back at the latest time seen: still nothing; 100 ms after it, one token. */
	assert_false(token_bucket_take(&tb, 10000));
	assert_false(token_bucket_take(&tb, 10099));
	assert_true(token_bucket_take(&tb, 10100));
	assert_false(token_bucket_take(&tb, 10100));
	/* A step back after the refill credits nothing either. */
	assert_false(token_bucket_take(&tb, 10050));
	assert_true(token_bucket_take(&tb, 10200));
}

static void test_rate_zero_is_unlimited(void **state)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 0, 0, 0);
	assert_int_equal(drain(&tb, 0, 100000), 100000);
	assert_true(token_bucket_take(&tb, 0));
}

static void test_burst_zero_is_one(void **state)
{
	struct token_bucket tb;

	token_bucket_init(&tb, 1, 0, 0);
	assert_int_equal(drain(&tb, 0, 10), 1);
	assert_int_equal(drain(&tb, 1000, 10), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_starts_full_with_burst),
	    cmocka_unit_test(test_refills_at_rate),
	    cmocka_unit_test(test_no_drift_in_small_steps),
	    cmocka_unit_test(test_never_above_burst),
	    cmocka_unit_test(test_clock_going_backwards),
	    cmocka_unit_test(test_rate_zero_is_unlimited),
	    cmocka_unit_test(test_burst_zero_is_one),
	};
	return cmocka_run_group_tests_name("rate_limit", tests, NULL, NULL);
}
