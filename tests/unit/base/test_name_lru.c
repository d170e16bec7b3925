/* Tests for base/name_lru: bounded, least recently used first out, keys compared as bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/name_lru.h"

static int vals[64];

static void put(struct name_lru *l, const char *k, int *v, void *expect_evicted)
{
	void *ev = (void *)1;
	assert_true(name_lru_put(l, slice_from_cstr(k), v, &ev));
	assert_ptr_equal(ev, expect_evicted);
}

static void test_get_after_put(void **state)
{
	struct name_lru *l = name_lru_new(4);
	assert_non_null(l);
	assert_null(name_lru_get(l, SLICE_LIT("a.test")));
	put(l, "a.test", &vals[0], NULL);
	put(l, "b.test", &vals[1], NULL);
	assert_ptr_equal(name_lru_get(l, SLICE_LIT("a.test")), &vals[0]);
	assert_ptr_equal(name_lru_get(l, SLICE_LIT("b.test")), &vals[1]);
	assert_null(name_lru_get(l, SLICE_LIT("a.tes")));
	assert_null(name_lru_get(l, SLICE_LIT("a.test.")));
	assert_int_equal(name_lru_count(l), 2);
	name_lru_free(l, NULL);
}

static void test_full_evicts_least_recent(void **state)
{
	struct name_lru *l = name_lru_new(3);
	put(l, "a", &vals[0], NULL);
	put(l, "b", &vals[1], NULL);
	put(l, "c", &vals[2], NULL);
	/* a is used again: b is now the least recent. */
	assert_ptr_equal(name_lru_get(l, SLICE_LIT("a")), &vals[0]);
	put(l, "d", &vals[3], &vals[1]);
	assert_null(name_lru_get(l, SLICE_LIT("b")));
	assert_int_equal(name_lru_count(l), 3);
	put(l, "e", &vals[4], &vals[2]);
	put(l, "f", &vals[5], &vals[0]);
	assert_ptr_equal(name_lru_get(l, SLICE_LIT("d")), &vals[3]);
	assert_ptr_equal(name_lru_get(l, SLICE_LIT("e")), &vals[4]);
	assert_ptr_equal(name_lru_get(l, SLICE_LIT("f")), &vals[5]);
	assert_int_equal(name_lru_count(l), 3);
	name_lru_free(l, NULL);
}

static void test_capacity_one(void **state)
{
	struct name_lru *l = name_lru_new(1);
	put(l, "a", &vals[0], NULL);
	put(l, "b", &vals[1], &vals[0]);
	assert_null(name_lru_get(l, SLICE_LIT("a")));
	assert_ptr_equal(name_lru_get(l, SLICE_LIT("b")), &vals[1]);
	name_lru_free(l, NULL);
	assert_null(name_lru_new(0));
}

static int dropped;
static void drop(void *v)
{
	dropped++;
}

static void test_many_names_bounded_and_dropped(void **state)
{
	struct name_lru *l = name_lru_new(50);
	char name[32];
	unsigned evictions = 0;

	for (int i = 0; i < 1000; i++) {
		void *ev;
		snprintf(name, sizeof(name), "host%d.test", i);
		assert_true(name_lru_put(l, slice_from_cstr(name), &vals[i % 64], &ev));
		evictions += ev != NULL;
		assert_true(name_lru_count(l) <= 50);
	}
	assert_int_equal(evictions, 950);
	/* The newest 50 are there, the older ones are not. */
	snprintf(name, sizeof(name), "host%d.test", 999);
	assert_non_null(name_lru_get(l, slice_from_cstr(name)));
	snprintf(name, sizeof(name), "host%d.test", 950);
	assert_non_null(name_lru_get(l, slice_from_cstr(name)));
	snprintf(name, sizeof(name), "host%d.test", 949);
	assert_null(name_lru_get(l, slice_from_cstr(name)));
	dropped = 0;
	name_lru_free(l, drop);
	assert_int_equal(dropped, 50);
}

static void test_longest_key(void **state)
{
	char k[NAME_LRU_KEY_MAX];
	memset(k, 'a', sizeof(k));
	struct name_lru *l = name_lru_new(2);
	void *ev;
	assert_true(name_lru_put(l, slice_make(k, sizeof(k)), &vals[0], &ev));
	assert_ptr_equal(name_lru_get(l, slice_make(k, sizeof(k))), &vals[0]);
	assert_null(name_lru_get(l, slice_make(k, sizeof(k) - 1)));
	name_lru_free(l, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_after_put),
	    cmocka_unit_test(test_full_evicts_least_recent),
	    cmocka_unit_test(test_capacity_one),
	    cmocka_unit_test(test_many_names_bounded_and_dropped),
	    cmocka_unit_test(test_longest_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
