/* Tests src/policy/scan_decode.c: what each decoder emits for the forms secrets are sent in,
 * what it leaves alone (runs too short to hold one, text without escapes), and that a run's
 * output ends with a newline whatever the split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy/scan_decode.h"

static char out[8192];

/* text through a decoder of kind, one byte at a time; the output as a C string. */
static const char *decode(enum scan_decoding kind, const char *text)
{
	struct scan_decoder d;
	size_t len = 0, got;

	scan_decoder_init(&d, kind);
	for (size_t i = 0; text[i]; i++) {
		assert_int_equal(
		    scan_decoder_feed(&d, text + i, 1, out + len, sizeof(out) - len - 1, &got), 1);
		len += got;
	}
	len += scan_decoder_end(&d, out + len, sizeof(out) - len - 1);
	out[len] = '\0';
	return out;
}

static void test_base64(void **state)
{
	/* standard, URL-safe, padded: each run decoded from its first character */
	assert_string_equal(decode(SCAN_DECODE_BASE64, "k=\"aGVsbG8sIHdvcmxkIQ==\""),
			    "hello, world!\n");
	assert_string_equal(decode(SCAN_DECODE_BASE64, "PDw_fj8-Pj4-PDw_"), "<<?~?>>>><<?\n");
	/* under 12 characters: not decoded */
	assert_string_equal(decode(SCAN_DECODE_BASE64, "the word \"aGVsbG8=\" alone"), "");
	/* wrapped in lines of whole quanta (CR LF or LF): one run */
	assert_string_equal(decode(SCAN_DECODE_BASE64, "aGVsbG8sIHdvcmxk\r\nIQ=="),
			    "hello, world!\n");
	assert_string_equal(decode(SCAN_DECODE_BASE64, "aGVsbG8sIHdvcmxk\nIQ=="),
			    "hello, world!\n");
	/* a line break inside a quantum ends the run: two runs */
	assert_string_equal(decode(SCAN_DECODE_BASE64, "aGVsbG8sIHdvcmx\nkIQ=="), "hello, worl\n");
}

static void test_hex(void **state)
{
	assert_string_equal(decode(SCAN_DECODE_HEX, "0x68656c6c6f2c20776f726c6421 end"),
			    "hello, world!\n");
	assert_string_equal(decode(SCAN_DECODE_HEX, "68656C6C6F2C2077"), "hello, w\n");
	/* 15 digits: not decoded */
	assert_string_equal(decode(SCAN_DECODE_HEX, "68656c6c6f2c207"), "");
}

static void test_percent(void **state)
{
	/* only runs with an escape; '+' is a space; a broken escape is kept as it was */
	assert_string_equal(decode(SCAN_DECODE_PERCENT, "a=plain&b=x%41y+z%zz%4&c=more"),
			    "xAy z%zz%4\n");
	assert_string_equal(decode(SCAN_DECODE_PERCENT, "no escapes here"), "");
	/* double encoding is one layer at a time */
	assert_string_equal(decode(SCAN_DECODE_PERCENT, "%2541"), "%41\n");
	/* a run longer than what is held before its first escape keeps its end */
	static char text[2048];
	memset(text, 'a', 1000);
	memcpy(text + 1000, "%42", 4);
	const char *o = decode(SCAN_DECODE_PERCENT, text);
	size_t n = strlen(o);
	assert_true(n >= SCAN_DECODE_HELD / 2 + 2 && n <= SCAN_DECODE_HELD + 2);
	assert_string_equal(o + n - 3, "aB\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test(test_percent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
