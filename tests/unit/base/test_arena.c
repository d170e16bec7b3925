/* Tests src/base/arena.c: strings stay valid while later ones spill into new blocks, copies are
 * bounded and terminated, and one allocation gets at most a block. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/arena.h"

/* Strings stay where they were put while later ones fill the block and spill into new ones. */
static void test_strings_stay_valid_across_blocks(void **state)
{
	struct arena a;
	char *first, *texts[2000];
	char want[32];

	arena_init(&a);
	first = arena_copy(&a, "example.com", 11);
	assert_non_null(first);
	for (int i = 0; i < 2000; i++) { /* ~20 bytes each: three blocks */
		int n = snprintf(want, sizeof(want), "host-%d.example", i);
		texts[i] = arena_copy(&a, want, (size_t)n);
		assert_non_null(texts[i]);
	}
	assert_string_equal(first, "example.com");
	for (int i = 0; i < 2000; i++) {
		snprintf(want, sizeof(want), "host-%d.example", i);
		assert_string_equal(texts[i], want);
	}
	arena_fini(&a);
	assert_null(a.head);
}

/* arena_copy stops at n (the source need not be NUL-terminated) and adds the NUL. */
static void test_copy_is_bounded_and_terminated(void **state)
{
	struct arena a = {0};
	char *t = arena_copy(&a, "abcdef", 3);

	assert_string_equal(t, "abc");
	assert_string_equal(arena_copy(&a, "", 0), "");
	arena_fini(&a);
}

/* A whole block is the most one allocation gets; 0 bytes is refused rather than aliased. */
static void test_size_limits(void **state)
{
	struct arena a = {0};
	static char big[ARENA_BLOCK];

	assert_non_null(arena_alloc(&a, ARENA_BLOCK));
	assert_null(arena_alloc(&a, ARENA_BLOCK + 1));
	assert_null(arena_alloc(&a, 0));
	memset(big, 'x', sizeof(big));
	assert_non_null(arena_copy(&a, big, ARENA_BLOCK - 1));
	assert_null(arena_copy(&a, big, ARENA_BLOCK));
	arena_fini(&a);
	arena_fini(&a); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings_stay_valid_across_blocks),
	    cmocka_unit_test(test_copy_is_bounded_and_terminated),
	    cmocka_unit_test(test_size_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
