/* Tests src/base/buf.c: allocation on demand, compaction before growth, growth up to the owner's
 * cap and never past it, order kept through all of it, memory released once drained, and the
 * bounded cache of spare blocks a drained buffer gives its memory to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/buf.h"

/* Byte i of a test stream: a pattern that shows lost, repeated or reordered bytes. */
static char pattern(size_t i)
{
	return (char)(i * 7 + i / 251);
}

static void append_pattern(struct buf *b, size_t from, size_t n, size_t max_cap)
{
	char tmp[256];
	while (n > 0) {
		size_t k = n < sizeof(tmp) ? n : sizeof(tmp);
		for (size_t i = 0; i < k; i++)
			tmp[i] = pattern(from + i);
		assert_true(buf_append(b, tmp, k, max_cap));
		from += k;
		n -= k;
	}
}

static void assert_pattern(const struct buf *b, size_t from)
{
	const char *p = buf_head(b);
	for (size_t i = 0; i < buf_len(b); i++)
		if (p[i] != pattern(from + i))
			fail_msg("byte %zu: want 0x%02x got 0x%02x", i,
				 (unsigned char)pattern(from + i), (unsigned char)p[i]);
}

static void test_empty_holds_no_memory(void **state)
{
	struct buf b = {0};
	assert_int_equal(buf_len(&b), 0);
	assert_null(b.data);
	buf_release(&b);
	buf_release(&b);
	assert_null(b.data);
}

static void test_reserve_allocates_at_least_a_page(void **state)
{
	struct buf b = {0};
	size_t room = buf_reserve(&b, 10, 65536);
	assert_non_null(b.data);
	assert_true(room >= 4096);
	assert_int_equal(room, b.cap);
	buf_release(&b);
}

static void test_reserve_small_cap(void **state)
{
	struct buf b = {0};
	size_t room = buf_reserve(&b, 100, 512);
	assert_true(room >= 100 && room <= 512);
	assert_true(b.cap <= 512);
	buf_release(&b);
}

static void test_reserve_want_over_cap_gives_cap(void **state)
{
	struct buf b = {0};
	size_t room = buf_reserve(&b, 100000, 8192);
	assert_int_equal(room, 8192);
	assert_int_equal(b.cap, 8192);
	buf_release(&b);
}

static void test_append_then_read(void **state)
{
	struct buf b = {0};
	assert_true(buf_append(&b, "hello", 5, 65536));
	assert_true(buf_append(&b, " world", 6, 65536));
	assert_int_equal(buf_len(&b), 11);
	assert_memory_equal(buf_head(&b), "hello world", 11);
	buf_release(&b);
}

static void test_tail_and_commit(void **state)
{
	struct buf b = {0};
	size_t room = buf_reserve(&b, 3, 4096);
	assert_true(room >= 3);
	memcpy(buf_tail(&b), "abc", 3);
	buf_commit(&b, 3);
	assert_int_equal(buf_len(&b), 3);
	assert_memory_equal(buf_head(&b), "abc", 3);
	assert_int_equal(buf_reserve(&b, 1, 4096), room - 3);
	buf_release(&b);
}

static void test_consume_partial_keeps_rest(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 1000, 65536);
	buf_consume(&b, 300);
	assert_int_equal(buf_len(&b), 700);
	assert_non_null(b.data);
	assert_pattern(&b, 300);
	buf_release(&b);
}

static void test_consume_all_releases_memory(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 1000, 65536);
	buf_consume(&b, 400);
	buf_consume(&b, 600);
	assert_int_equal(buf_len(&b), 0);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	/* And it is usable again. */
	assert_true(buf_append(&b, "x", 1, 65536));
	assert_memory_equal(buf_head(&b), "x", 1);
	buf_release(&b);
}

/* Room at the front is reclaimed before the buffer grows. */
static void test_reserve_compacts_before_growing(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 4096, 65536);
	assert_int_equal(b.cap, 4096);
	buf_consume(&b, 1000);
	size_t room = buf_reserve(&b, 1000, 65536);
	assert_int_equal(b.cap, 4096);
	assert_int_equal(room, 1000);
	assert_int_equal(b.start, 0);
	assert_pattern(&b, 1000);
	append_pattern(&b, 4096, 1000, 65536);
	assert_pattern(&b, 1000);
	buf_release(&b);
}

static void test_reserve_grows_keeping_data(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 4096, 65536);
	append_pattern(&b, 4096, 1, 65536);
	assert_true(b.cap > 4096 && b.cap <= 65536);
	assert_int_equal(buf_len(&b), 4097);
	assert_pattern(&b, 0);
	append_pattern(&b, 4097, 30000, 65536);
	assert_pattern(&b, 0);
	buf_release(&b);
}

static void test_growth_stops_at_max_cap(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 4096, 6000);
	size_t room = buf_reserve(&b, 4096, 6000);
	assert_int_equal(b.cap, 6000);
	assert_int_equal(room, 6000 - 4096);
	assert_pattern(&b, 0);
	buf_release(&b);
}

static void test_reserve_full_returns_zero(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 4096, 4096);
	assert_int_equal(buf_reserve(&b, 1, 4096), 0);
	assert_int_equal(b.cap, 4096);
	buf_release(&b);
}

static void test_append_fails_past_cap(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 4000, 4096);
	assert_false(buf_append(&b,
				"0123456789abcdef0123456789abcdef0123456789abcdef"
				"0123456789abcdef0123456789abcdef0123456789abcdef"
				"0123456789abcdef",
				112, 4096));
	/* Nothing was written: the buffer still holds exactly what it held. */
	assert_int_equal(buf_len(&b), 4000);
	assert_pattern(&b, 0);
	assert_int_equal(b.cap, 4096);
	/* What still fits goes in. */
	append_pattern(&b, 4000, 96, 4096);
	assert_pattern(&b, 0);
	buf_release(&b);
}

static void test_append_larger_than_cap_on_empty_fails(void **state)
{
	static char big[10000];
	struct buf b = {0};
	assert_false(buf_append(&b, big, sizeof(big), 8192));
	assert_int_equal(buf_len(&b), 0);
	buf_release(&b);
}

/* After consuming, a cap-sized append fits again: the free front is reused, not wasted. */
static void test_append_after_consume_reuses_front(void **state)
{
	struct buf b = {0};
	append_pattern(&b, 0, 4096, 4096);
	buf_consume(&b, 2048);
	append_pattern(&b, 4096, 2048, 4096);
	assert_int_equal(buf_len(&b), 4096);
	assert_pattern(&b, 2048);
	assert_int_equal(b.cap, 4096);
	buf_release(&b);
}

/* A long stream through a small buffer: every byte comes out once, in order. */
static void test_stream_through_small_buffer(void **state)
{
	struct buf b = {0};
	size_t in = 0, out = 0;
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(round * 37 % 3000) + 1;
		size_t room = buf_reserve(&b, n, 8192);
		if (room > n)
			room = n;
		for (size_t i = 0; i < room; i++)
			buf_tail(&b)[i] = pattern(in + i);
		buf_commit(&b, room);
		in += room;
		assert_pattern(&b, out);
		size_t take = buf_len(&b) * (size_t)(round % 3) / 2;
		buf_consume(&b, take);
		out += take;
	}
	assert_int_equal(in - out, buf_len(&b));
	buf_release(&b);
}

/* A drained buffer's block goes to the cache and the next buffer gets that very block. */
static void test_cache_reuses_drained_block(void **state)
{
	struct buf_cache cache = {0};
	struct buf a, b;
	buf_init(&a, &cache);
	buf_init(&b, &cache);
	append_pattern(&a, 0, 100, 65536);
	assert_int_equal(a.cap, 4096);
	const char *block = a.data;
	buf_consume(&a, 100);
	assert_null(a.data);
	assert_int_equal(cache.n[0], 1);
	append_pattern(&b, 0, 10, 65536);
	assert_ptr_equal(b.data, block);
	assert_int_equal(cache.n[0], 0);
	assert_int_equal(cache.taken, 1);
	assert_int_equal(cache.missed, 1);
	buf_release(&b);
	buf_cache_fini(&cache);
	assert_null(cache.spare[0]);
}

/* A socket read reserves 16 KiB: one block of that size, not a 4 KiB one grown. */
static void test_cache_read_reservation_is_one_block(void **state)
{
	struct buf_cache cache = {0};
	struct buf b;
	buf_init(&b, &cache);
	assert_int_equal(buf_reserve(&b, 16384, 65536), 16384);
	assert_int_equal(b.cap, 16384);
	buf_release(&b);
	assert_int_equal(cache.n[1], 1);
	buf_cache_fini(&cache);
}

/* Growth moves the bytes to the next block size (4 → 16 → 64 KiB) and gives the old block back. */
static void test_cache_growth_by_block_size_keeps_data(void **state)
{
	struct buf_cache cache = {0};
	struct buf b;
	buf_init(&b, &cache);
	append_pattern(&b, 0, 4096, 65536);
	append_pattern(&b, 4096, 1, 65536);
	assert_int_equal(b.cap, 16384);
	assert_int_equal(cache.n[0], 1);
	assert_pattern(&b, 0);
	buf_consume(&b, 96);
	append_pattern(&b, 4097, 20000, 65536);
	assert_int_equal(b.cap, 65536);
	assert_int_equal(cache.n[1], 1);
	assert_pattern(&b, 96);
	assert_int_equal(buf_len(&b), 4001 + 20000);
	buf_release(&b);
	assert_int_equal(cache.n[2], 1);
	buf_cache_fini(&cache);
}

/* A capacity that is no block size (a small owner's cap) is malloc'd and freed as before. */
static void test_cache_keeps_only_block_sizes(void **state)
{
	struct buf_cache cache = {0};
	struct buf b;
	buf_init(&b, &cache);
	append_pattern(&b, 0, 4096, 6000);
	buf_reserve(&b, 4096, 6000);
	assert_int_equal(b.cap, 6000);
	buf_release(&b);
	buf_init(&b, &cache);
	append_pattern(&b, 0, 100, 512);
	assert_true(b.cap <= 512);
	buf_release(&b);
	assert_int_equal(cache.n[0] + cache.n[1] + cache.n[2], 0);
	buf_cache_fini(&cache);
}

/* However many buffers drain at once, the cache keeps at most its bound; the rest is freed. */
static void test_cache_is_bounded(void **state)
{
	enum { N = 300 };
	static struct buf many[N];
	struct buf_cache cache = {0};
	for (int i = 0; i < N; i++) {
		buf_init(&many[i], &cache);
		assert_int_equal(buf_reserve(&many[i], 16384, 65536), 16384);
	}
	for (int i = 0; i < N; i++)
		buf_release(&many[i]);
	assert_int_equal(cache.n[1], BUF_CACHE_MAX_BYTES / BUF_CACHE_SIZES / 16384);
	assert_true(cache.n[1] < N);
	buf_cache_fini(&cache);
	assert_int_equal(cache.n[1], 0);
}

/* buf_move hands bytes and memory over without a copy; the source is left empty. */
static void test_move_hands_memory_over(void **state)
{
	struct buf_cache cache = {0};
	struct buf from, to;
	buf_init(&from, &cache);
	buf_init(&to, &cache);
	append_pattern(&from, 0, 500, 65536);
	append_pattern(&to, 0, 10, 65536);
	const char *block = from.data;
	buf_move(&to, &from);
	assert_ptr_equal(to.data, block);
	assert_int_equal(buf_len(&to), 500);
	assert_pattern(&to, 0);
	assert_null(from.data);
	assert_int_equal(buf_len(&from), 0);
	assert_ptr_equal(to.cache, &cache);
	assert_int_equal(cache.n[0], 1); /* to's own block, given back */
	buf_release(&to);
	buf_cache_fini(&cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_holds_no_memory),
	    cmocka_unit_test(test_reserve_allocates_at_least_a_page),
	    cmocka_unit_test(test_reserve_small_cap),
	    cmocka_unit_test(test_reserve_want_over_cap_gives_cap),
	    cmocka_unit_test(test_append_then_read),
	    cmocka_unit_test(test_tail_and_commit),
	    cmocka_unit_test(test_consume_partial_keeps_rest),
	    cmocka_unit_test(test_consume_all_releases_memory),
	    cmocka_unit_test(test_reserve_compacts_before_growing),
	    cmocka_unit_test(test_reserve_grows_keeping_data),
	    cmocka_unit_test(test_growth_stops_at_max_cap),
	    cmocka_unit_test(test_reserve_full_returns_zero),
	    cmocka_unit_test(test_append_fails_past_cap),
	    cmocka_unit_test(test_append_larger_than_cap_on_empty_fails),
	    cmocka_unit_test(test_append_after_consume_reuses_front),
	    cmocka_unit_test(test_stream_through_small_buffer),
	    cmocka_unit_test(test_cache_reuses_drained_block),
	    cmocka_unit_test(test_cache_read_reservation_is_one_block),
	    cmocka_unit_test(test_cache_growth_by_block_size_keeps_data),
	    cmocka_unit_test(test_cache_keeps_only_block_sizes),
	    cmocka_unit_test(test_cache_is_bounded),
	    cmocka_unit_test(test_move_hands_memory_over),
	};
	return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
