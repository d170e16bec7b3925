/* Tests src/emit/json_write.c: commas and nesting, escapes, UTF-8 kept and invalid bytes made
 * U+FFFD, numbers in their shortest exact form, and the bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "emit/json_write.h"

static void expect(struct buf *b, const char *want)
{
	assert_int_equal(buf_len(b), strlen(want));
	assert_memory_equal(buf_head(b), want, buf_len(b));
	buf_release(b);
}

static void test_document(void **state)
{
	struct buf b = {0};
	struct json_write w;
	json_write_init(&w, &b, 4096);

	json_write_object(&w);
	json_write_key(&w, "results");
	json_write_array(&w);
	for (int i = 0; i < 2; i++) {
		json_write_object(&w);
		json_write_key(&w, "title");
		json_write_cstr(&w, i ? "caf\xc3\xa9 \"q\"\n" : "a\\b\x01");
		json_write_key(&w, "position");
		json_write_int(&w, i + 1);
		json_write_end(&w);
	}
	json_write_end(&w);
	json_write_key(&w, "score");
	json_write_double(&w, 0.1);
	json_write_key(&w, "big");
	json_write_double(&w, 1e21);
	json_write_key(&w, "nan");
	json_write_double(&w, NAN);
	json_write_key(&w, "ok");
	json_write_bool(&w, true);
	json_write_key(&w, "bad");
	json_write_cstr(&w, "x\xff\xc3y\xed\xa0\x80");
	json_write_end(&w);
	assert_true(json_write_ok(&w));
	expect(&b, "{\"results\":[{\"title\":\"a\\\\b\\u0001\",\"position\":1},"
		   "{\"title\":\"caf\xc3\xa9 \\\"q\\\"\\n\",\"position\":2}],\"score\":0.1,"
		   "\"big\":1e+21,\"nan\":null,\"ok\":true,"
		   "\"bad\":\"x\xef\xbf\xbd\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");
}

static void test_bounds(void **state)
{
	struct buf b = {0};
	struct json_write w;

	json_write_init(&w, &b, 8);
	json_write_cstr(&w, "longer than eight");
	assert_false(json_write_ok(&w));
	buf_release(&b);
	/* unclosed, and closed once too often */
	json_write_init(&w, &b, 64);
	json_write_array(&w);
	assert_false(json_write_ok(&w));
	json_write_end(&w);
	assert_true(json_write_ok(&w));
	json_write_end(&w);
	assert_false(json_write_ok(&w));
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_document),
	    cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
