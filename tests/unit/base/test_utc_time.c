/* Tests src/base/utc_time.c: RFC 3339 UTC times written and read back, offsets, leap days, and
 * every malformed shape refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/utc_time.h"

static void test_round_trip(void **state)
{
	char t[UTC_TIME_TEXT_MAX];
	int64_t s;
	utc_time_format(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00Z");
	utc_time_format(1796409000, t);
	assert_string_equal(t, "2026-12-04T18:30:00Z");
	assert_true(utc_time_parse(SLICE_LIT("2026-12-04T18:30:00Z"), &s));
	assert_int_equal(s, 1796409000);
	for (int64_t v = 0; v < INT64_C(253402300799); v += INT64_C(86399) * 37) {
		utc_time_format(v, t);
		assert_true(utc_time_parse(slice_from_cstr(t), &s));
		assert_int_equal(s, v);
	}
}

static void test_offsets_and_fractions(void **state)
{
	int64_t s;
	assert_true(utc_time_parse(SLICE_LIT("2026-12-04T20:30:00+02:00"), &s));
	assert_int_equal(s, 1796409000);
	assert_true(utc_time_parse(SLICE_LIT("2026-12-04T18:30:00.123Z"), &s));
	assert_int_equal(s, 1796409000);
	assert_true(utc_time_parse(SLICE_LIT("2024-02-29T00:00:00Z"), &s));
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
	    "2026-12-04T18:30:00",	"2026-12-04 18:30:00Z",
	    "2025-02-29T00:00:00Z",	"2026-13-01T00:00:00Z",
	    "1969-12-31T23:59:59Z",	"2026-12-04T24:00:00Z",
	    "2026-12-04T18:30:00.Z",	"2026-12-04T18:30:00Zx",
	    "2026-12-04T18:30:00+0200", "",
	};
	int64_t s;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(utc_time_parse(slice_from_cstr(bad[i]), &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_offsets_and_fractions),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
