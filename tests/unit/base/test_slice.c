/* Tests src/base/slice.c: byte-exact and ASCII case-insensitive comparison (no locale, no NUL
 * termination), RFC 9110 OWS trimming, and strict unsigned decimal parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "base/slice.h"

static void test_constructors(void **state)
{
	struct slice a = SLICE_LIT("abc");
	assert_int_equal(a.len, 3);
	struct slice b = slice_from_cstr("abc");
	assert_int_equal(b.len, 3);
	struct slice c = slice_make("abcdef", 2);
	assert_int_equal(c.len, 2);
	assert_int_equal(SLICE_LIT("").len, 0);
}

static void test_eq(void **state)
{
	assert_true(slice_eq(SLICE_LIT("abc"), slice_make("abcdef", 3)));
	assert_false(slice_eq(SLICE_LIT("abc"), SLICE_LIT("abd")));
	assert_false(slice_eq(SLICE_LIT("abc"), SLICE_LIT("ab")));
	assert_false(slice_eq(SLICE_LIT("abc"), SLICE_LIT("ABC")));
	assert_true(slice_eq(slice_make(NULL, 0), SLICE_LIT("")));
	assert_true(slice_eq(slice_make(NULL, 0), slice_make(NULL, 0)));
}

/* Slices are bytes, not C strings: a NUL is a byte like any other. */
static void test_eq_with_nul_bytes(void **state)
{
	assert_true(slice_eq(slice_make("a\0b", 3), slice_make("a\0b", 3)));
	assert_false(slice_eq(slice_make("a\0b", 3), slice_make("a\0c", 3)));
	assert_false(slice_eq(slice_make("a\0", 2), SLICE_LIT("a")));
	assert_false(slice_eq_nocase(slice_make("a\0b", 3), slice_make("a\0c", 3)));
}

static void test_eq_nocase(void **state)
{
	assert_true(slice_eq_nocase(SLICE_LIT("Content-Length"), SLICE_LIT("content-length")));
	assert_true(slice_eq_nocase(SLICE_LIT("CHUNKED"), SLICE_LIT("chunked")));
	assert_false(slice_eq_nocase(SLICE_LIT("chunked"), SLICE_LIT("chunked ")));
	assert_false(slice_eq_nocase(SLICE_LIT("chunked"), SLICE_LIT("chunkee")));
	assert_true(slice_eq_nocase(slice_make(NULL, 0), SLICE_LIT("")));
}

/* Only A-Z fold: '@' (0x40) is not '`' (0x60), '[' is not '{', and no Latin-1 or UTF-8 folding
 * (so "chunKed" with a Kelvin sign or a dotted I never equals "chunked"). */
static void test_eq_nocase_is_ascii_only(void **state)
{
	assert_false(slice_eq_nocase(SLICE_LIT("@"), SLICE_LIT("`")));
	assert_false(slice_eq_nocase(SLICE_LIT("["), SLICE_LIT("{")));
	assert_false(slice_eq_nocase(SLICE_LIT("^"), SLICE_LIT("~")));
	assert_false(slice_eq_nocase(SLICE_LIT("\xc0"), SLICE_LIT("\xe0")));
	assert_false(slice_eq_nocase(SLICE_LIT("chun\xe2\x84\xaa"
					       "ed"),
				     SLICE_LIT("chunked")));
	assert_int_equal(slice_ascii_lower('Z'), 'z');
	assert_int_equal(slice_ascii_lower('z'), 'z');
	assert_int_equal(slice_ascii_lower('@'), '@');
	assert_int_equal(slice_ascii_lower('['), '[');
	assert_int_equal(slice_ascii_lower((char)0xc0), (char)0xc0);
}

static void test_eq_cstr_nocase(void **state)
{
	assert_true(slice_eq_cstr_nocase(SLICE_LIT("Keep-Alive"), "keep-alive"));
	assert_false(slice_eq_cstr_nocase(SLICE_LIT("keep-alive"), "keep-alive2"));
	assert_false(slice_eq_cstr_nocase(slice_make("close\0", 6), "close"));
}

static void assert_trim(const char *in, size_t in_len, const char *want)
{
	struct slice t = slice_trim_ows(slice_make(in, in_len));
	assert_int_equal(t.len, strlen(want));
	assert_memory_equal(t.ptr, want, t.len);
}

static void test_trim_ows(void **state)
{
	assert_trim(" \t value \t ", 11, "value");
	assert_trim("value", 5, "value");
	assert_trim("a b", 3, "a b");
	assert_trim("  ", 2, "");
	assert_trim("", 0, "");
}

/* RFC 9110 §5.6.3: OWS is SP and HTAB only; CR, LF, VT, FF and NUL are not trimmed (they are
 * for the parser to refuse). */
static void test_trim_ows_only_sp_htab(void **state)
{
	assert_trim("\rv\r", 3, "\rv\r");
	assert_trim("\nv\n", 3, "\nv\n");
	assert_trim("\vv\f", 3, "\vv\f");
	struct slice t = slice_trim_ows(slice_make("\0v\0", 3));
	assert_int_equal(t.len, 3);
	assert_trim(" \r ", 3, "\r");
}

static void test_trim_null_empty(void **state)
{
	struct slice t = slice_trim_ows(slice_make(NULL, 0));
	assert_int_equal(t.len, 0);
}

static unsigned long long parse_ok(const char *text)
{
	unsigned long long v = 12345;
	if (!slice_parse_u64(slice_from_cstr(text), &v))
		fail_msg("\"%s\" refused", text);
	return v;
}

static void assert_parse_fails(const char *text, size_t len)
{
	unsigned long long v = 12345;
	if (slice_parse_u64(slice_make(text, len), &v))
		fail_msg("\"%.*s\" accepted as %llu", (int)len, text, v);
	assert_int_equal(v, 12345); /* untouched on failure */
}

static void test_parse_u64(void **state)
{
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("7"), 7);
	assert_int_equal(parse_ok("1234567890"), 1234567890ULL);
	assert_int_equal(parse_ok("007"), 7);
	assert_true(parse_ok("18446744073709551615") == ULLONG_MAX);
	assert_true(parse_ok("18446744073709551610") == ULLONG_MAX - 5);
	assert_true(parse_ok("00000000000000000000000018446744073709551615") == ULLONG_MAX);
}

static void test_parse_u64_overflow(void **state)
{
	assert_parse_fails("18446744073709551616", 20);
	assert_parse_fails("18446744073709551620", 20);
	assert_parse_fails("99999999999999999999", 20);
	assert_parse_fails("184467440737095516150", 21);
}

static void test_parse_u64_refuses_non_digits(void **state)
{
	assert_parse_fails("", 0);
	assert_parse_fails("+1", 2);
	assert_parse_fails("-1", 2);
	assert_parse_fails(" 1", 2);
	assert_parse_fails("1 ", 2);
	assert_parse_fails("0x10", 4);
	assert_parse_fails("1e3", 3);
	assert_parse_fails("1.0", 3);
	assert_parse_fails("1,2", 3);
	assert_parse_fails("1\0", 2);
	assert_parse_fails("/", 1); /* '0' - 1 */
	assert_parse_fails(":", 1); /* '9' + 1 */
	assert_parse_fails("\xb1", 1);
}

/* Only the slice's bytes are read: digits just past its end do not count. */
static void test_parse_u64_respects_length(void **state)
{
	unsigned long long v = 0;
	assert_true(slice_parse_u64(slice_make("12345", 2), &v));
	assert_int_equal(v, 12);
	assert_parse_fails("x1", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_constructors),
	    cmocka_unit_test(test_eq),
	    cmocka_unit_test(test_eq_with_nul_bytes),
	    cmocka_unit_test(test_eq_nocase),
	    cmocka_unit_test(test_eq_nocase_is_ascii_only),
	    cmocka_unit_test(test_eq_cstr_nocase),
	    cmocka_unit_test(test_trim_ows),
	    cmocka_unit_test(test_trim_ows_only_sp_htab),
	    cmocka_unit_test(test_trim_null_empty),
	    cmocka_unit_test(test_parse_u64),
	    cmocka_unit_test(test_parse_u64_overflow),
	    cmocka_unit_test(test_parse_u64_refuses_non_digits),
	    cmocka_unit_test(test_parse_u64_respects_length),
	};
	return cmocka_run_group_tests_name("slice", tests, NULL, NULL);
}
