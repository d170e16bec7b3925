/* Tests src/parse/json.c: the grammar (values, nesting, numbers, escapes, surrogate pairs into
 * UTF-8), what is refused and where the error says it is (control characters, bad UTF-8, lone
 * surrogates, trailing text, too deep), and the getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/json.h"

static struct arena a;

static const struct json_value *parse(const char *text, const char **err)
{
	return json_parse(text, strlen(text), &a, err);
}

static void test_values(void **state)
{
	const char *err = NULL;
	const struct json_value *v =
	    parse(" {\"q\": \"caf\\u00e9 \\ud83d\\ude00\", \"n\": -12.5e1, \"ok\": true,"
		  " \"list\": [1, null, false, {}], \"q\": \"second\"} ",
		  &err);
	assert_non_null(v);
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->n, 5);
	struct slice s;
	assert_true(json_string(json_get(v, "q"), &s)); /* the first of two */
	assert_int_equal(s.len, strlen("caf\xc3\xa9 \xf0\x9f\x98\x80"));
	assert_memory_equal(s.ptr, "caf\xc3\xa9 \xf0\x9f\x98\x80", s.len);
	double d;
	assert_true(json_number(json_get(v, "n"), &d));
	assert_true(d == -125.0);
	bool b;
	assert_true(json_bool(json_get(v, "ok"), &b) && b);
	const struct json_value *list = json_get(v, "list");
	assert_int_equal(list->type, JSON_ARRAY);
	assert_int_equal(list->n, 4);
	assert_int_equal(list->first->next->type, JSON_NULL);
	assert_int_equal(list->first->next->next->next->type, JSON_OBJECT);
	assert_null(json_get(v, "missing"));
	assert_null(json_get(list, "q"));
	assert_false(json_string(json_get(v, "n"), &s));
	/* a plain string points into the input */
	const char *text = "[\"plain\"]";
	v = json_parse(text, strlen(text), &a, &err);
	assert_ptr_equal(v->first->string.ptr, text + 2);
	/* scalars alone are documents */
	assert_non_null(parse("0", &err));
	assert_non_null(parse("\"\"", &err));
}

static void test_refused(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
	    {"", "line 1, column 1: expected a value"},
	    {"{\"a\": 1,}", "line 1, column 9: expected a member name"},
	    {"[1 2]", "line 1, column 4: expected ',' or ']'"},
	    {"{\"a\" 1}", "line 1, column 6: expected ':'"},
	    {"01", "line 1, column 2: text after the value"},
	    {"1.", "line 1, column 3: a fraction needs digits"},
	    {"-", "line 1, column 2: expected a value"},
	    {"1e+", "line 1, column 4: an exponent needs digits"},
	    {"[\"a\nb\"]", "line 1, column 4: a control character in a string"},
	    {"\"\\x\"", "line 1, column 2: an unknown escape"},
	    {"\"\\u12\"", "line 1, column 2: a \\u escape needs four hex digits"},
	    {"\"\\udc00\"", "line 1, column 2: a lone low surrogate"},
	    {"\"\\ud800x\"", "line 1, column 2: a high surrogate without its low one"},
	    {"\"\xc0\xaf\"", "line 1, column 2: not UTF-8"},
	    {"\"\xed\xa0\x80\"", "line 1, column 2: not UTF-8"},
	    {"\"abc", "line 1, column 5: an unterminated string"},
	    {"nul", "line 1, column 1: expected a value"},
	    {"{}\n ]", "line 2, column 2: text after the value"},
	    {"NaN", "line 1, column 1: expected a value"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = NULL;
		if (parse(cases[i].text, &err))
			fail_msg("accepted %s", cases[i].text);
		assert_string_equal(err, cases[i].err);
	}
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	const char *err;
	assert_null(json_parse(deep, sizeof(deep), &a, &err));
	assert_non_null(strstr(err, "nested too deep"));
	assert_non_null(json_parse(deep + 100 - JSON_DEPTH_MAX, 2 * JSON_DEPTH_MAX, &a, &err));
}

static int setup(void **state)
{
	arena_init(&a);
	return 0;
}

static int teardown(void **state)
{
	arena_fini(&a);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
