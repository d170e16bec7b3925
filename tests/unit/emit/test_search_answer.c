/* Tests src/emit/search_answer.c, src/parse/searx_answer.c and src/policy/search_cache.c:
 * SearXNG's answer read (results without a URL left out, unresponsive engines); every API's
 * answer is JSON whose fields carry the results (and the cut: skip, count); the HTML pages;
 * the SearXNG target; error shapes; the cache's ttl, generation and replacement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit/search_answer.h"
#include "parse/json.h"
#include "policy/search_cache.h"

static const char searx[] =
    "{\"query\": \"q\", \"number_of_results\": 1234, \"results\": ["
    "{\"url\": \"https://a.example/1\", \"title\": \"T\\u00e9 1\", \"content\": \"C1 <b>\", "
    "\"engine\": \"ddg\", \"score\": 4.0, \"publishedDate\": \"2026-01-01T00:00:00\"},"
    "{\"title\": \"infobox without url\"},"
    "{\"url\": \"https://b.example/2?x=1&y=2\", \"title\": \"T2\", \"content\": \"C2\", "
    "\"score\": 2.0},"
    "{\"url\": \"https://c.example/3\", \"title\": \"T3\", \"content\": \"C3\"}],"
    "\"unresponsive_engines\": [[\"google\", \"timeout\"], \"bing\"]}";

static struct searx_answer a;
static struct arena arena;

static struct search_query query(enum search_api api, unsigned count)
{
	struct search_query q = {.api = api, .count = count, .safesearch = -1};
	strcpy(q.text, "egress proxy");
	q.text_len = q.asked_len = strlen(q.text);
	return q;
}

static void test_searx_parse(void **state)
{
	char why[128];
	assert_true(searx_answer_parse(searx, strlen(searx), &arena, &a, why, sizeof(why)));
	assert_int_equal(a.n_results, 3);
	assert_memory_equal(a.results[0].title.ptr, "T\xc3\xa9 1", 4);
	assert_true(a.results[0].has_score && a.results[0].score == 4.0);
	assert_false(a.results[2].has_score);
	assert_int_equal(a.n_unresponsive, 2);
	assert_memory_equal(a.unresponsive[1].ptr, "bing", 4);
	assert_true(a.number_of_results == 1234);
	struct searx_answer b;
	assert_false(searx_answer_parse("{\"x\": 1}", 8, &arena, &b, why, sizeof(why)));
	assert_string_equal(why, "SearXNG's answer has no results list");
	assert_false(searx_answer_parse("<html>", 6, &arena, &b, why, sizeof(why)));
}

/* Formats for api and returns the parsed document. */
static const struct json_value *answer(enum search_api api, unsigned count, unsigned skip)
{
	static struct buf out;
	struct search_query q = query(api, count);
	const char *ctype, *err;
	buf_release(&out);
	assert_true(search_answer_format(&q, &a, skip, 120, &out, &ctype));
	assert_string_equal(ctype, "application/json");
	const struct json_value *v = json_parse(buf_head(&out), buf_len(&out), &arena, &err);
	if (!v)
		fail_msg("%s: %.*s", err, (int)buf_len(&out), buf_head(&out));
	return v;
}

static void expect_str(const struct json_value *o, const char *key, const char *want)
{
	struct slice s;
	if (!json_string(json_get(o, key), &s))
		fail_msg("no string %s", key);
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

static void test_answers(void **state)
{
	const struct json_value *d = answer(SEARCH_TAVILY, 2, 0), *r;
	expect_str(d, "query", "egress proxy");
	r = json_get(d, "results");
	assert_int_equal(r->n, 2);
	expect_str(r->first, "url", "https://a.example/1");
	expect_str(r->first, "content", "C1 <b>");
	double score;
	assert_true(json_number(json_get(r->first->next, "score"), &score) && score == 0.5);

	d = answer(SEARCH_BRAVE, 10, 1);
	r = json_get(json_get(d, "web"), "results");
	assert_int_equal(r->n, 2);
	expect_str(r->first, "url", "https://b.example/2?x=1&y=2");
	expect_str(r->first, "description", "C2");
	expect_str(json_get(r->first, "meta_url"), "hostname", "b.example");

	d = answer(SEARCH_EXA, 10, 0);
	r = json_get(d, "results");
	expect_str(r->first, "id", "https://a.example/1");
	expect_str(r->first, "text", "C1 <b>");
	assert_int_equal(json_get(r->first->next, "publishedDate")->type, JSON_NULL);

	d = answer(SEARCH_SERPAPI, 10, 0);
	r = json_get(d, "organic_results");
	assert_int_equal(r->n, 3);
	double pos;
	assert_true(json_number(json_get(r->first->next->next, "position"), &pos) && pos == 3);
	expect_str(r->first, "link", "https://a.example/1");
	expect_str(r->first, "snippet", "C1 <b>");

	d = answer(SEARCH_SERPER, 1, 0);
	assert_int_equal(json_get(d, "organic")->n, 1);

	d = answer(SEARCH_GOOGLE, 10, 0);
	r = json_get(d, "items");
	expect_str(r->first, "displayLink", "a.example");
	expect_str(json_get(d, "searchInformation"), "totalResults", "1234");

	d = answer(SEARCH_BING, 10, 0);
	r = json_get(json_get(d, "webPages"), "value");
	expect_str(r->first, "name", "T\xc3\xa9 1");
	expect_str(r->first, "url", "https://a.example/1");

	/* skipping past the end: no results, still the schema */
	d = answer(SEARCH_TAVILY, 10, 9);
	assert_int_equal(json_get(d, "results")->n, 0);
}

static void test_html(void **state)
{
	struct buf out = {0};
	const char *ctype;
	struct search_query q = query(SEARCH_DUCKDUCKGO, 10);
	assert_true(search_answer_format(&q, &a, 0, 0, &out, &ctype));
	assert_string_equal(ctype, "text/html; charset=utf-8");
	char *page = strndup(buf_head(&out), buf_len(&out));
	assert_non_null(
	    strstr(page, "class=\"result__a\" href=\"https://b.example/2?x=1&amp;y=2\""));
	assert_non_null(strstr(page, "C1 &lt;b&gt;"));
	free(page);
	buf_release(&out);
	q = query(SEARCH_GOOGLE_HTML, 10);
	assert_true(search_answer_format(&q, &a, 0, 0, &out, &ctype));
	page = strndup(buf_head(&out), buf_len(&out));
	assert_non_null(strstr(
	    page, "<a href=\"/url?q=https%3A%2F%2Fb.example%2F2%3Fx%3D1%26y%3D2&amp;sa=U\">"));
	free(page);
	buf_release(&out);
}

static void test_target_and_errors(void **state)
{
	char t[SEARCH_TARGET_MAX];
	struct search_query q = query(SEARCH_BRAVE, 10);
	q.offset = 25;
	q.time = SEARCH_TIME_WEEK;
	q.safesearch = 1;
	strcpy(q.language, "de");
	q.news = true;
	size_t n = search_searx_target(&q, "/searx", t, sizeof(t));
	assert_int_equal(n, strlen(t));
	assert_string_equal(t, "/searx/search?q=egress%20proxy&format=json&pageno=3&time_range=week"
			       "&safesearch=1&language=de&categories=news");
	assert_int_equal(search_searx_target(&q, "", t, 20), 0);

	struct buf out = {0};
	const char *ctype, *err;
	for (int api = 0; api < SEARCH_APIS; api++) {
		assert_true(
		    search_error_format((enum search_api)api, 429, "slow \"down\"", &out, &ctype));
		if (strcmp(ctype, "application/json") == 0)
			assert_non_null(json_parse(buf_head(&out), buf_len(&out), &arena, &err));
		else
			assert_non_null(
			    memmem(buf_head(&out), buf_len(&out), "slow &quot;down&quot;", 21));
		buf_release(&out);
	}
	assert_true(search_error_format(SEARCH_GOOGLE, 429, "x", &out, &ctype));
	const struct json_value *e =
	    json_get(json_parse(buf_head(&out), buf_len(&out), &arena, &err), "error");
	expect_str(e, "status", "RESOURCE_EXHAUSTED");
	expect_str(json_get(e, "errors")->first, "reason", "rateLimitExceeded");
	buf_release(&out);
}

static void test_cache(void **state)
{
	struct search_cache *c = search_cache_new(2);
	struct search_cache_key k1, k2, k3;
	struct search_query q1 = query(SEARCH_TAVILY, 5), q2 = query(SEARCH_BRAVE, 5),
			    q3 = query(SEARCH_TAVILY, 6);
	struct slice body;
	const char *ctype;
	unsigned n;

	search_cache_key_of(&q1, &k1);
	search_cache_key_of(&q2, &k2);
	search_cache_key_of(&q3, &k3);
	assert_false(k1.len == k2.len && memcmp(k1.text, k2.text, k1.len) == 0);
	assert_true(search_cache_put(c, &k1, 1, 1000, SLICE_LIT("one"), "application/json", 3));
	assert_true(search_cache_get(c, &k1, 1, 1500, 1000, &body, &ctype, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(body.ptr, "one", 3);
	assert_false(search_cache_get(c, &k1, 2, 1500, 1000, &body, &ctype, &n)); /* reload */
	assert_true(search_cache_put(c, &k1, 1, 1000, SLICE_LIT("one"), "application/json", 3));
	assert_false(search_cache_get(c, &k1, 1, 2000, 1000, &body, &ctype, &n)); /* expired */
	assert_false(search_cache_get(c, &k2, 1, 1000, 0, &body, &ctype, &n));	  /* ttl 0 */
	/* two entries: the least recently used goes */
	search_cache_put(c, &k1, 1, 1000, SLICE_LIT("one"), "a", 1);
	search_cache_put(c, &k2, 1, 1000, SLICE_LIT("two"), "a", 1);
	assert_true(search_cache_get(c, &k1, 1, 1001, 1000, &body, &ctype, &n));
	search_cache_put(c, &k3, 1, 1002, SLICE_LIT("three"), "a", 1);
	assert_true(search_cache_get(c, &k1, 1, 1003, 1000, &body, &ctype, &n));
	assert_false(search_cache_get(c, &k2, 1, 1003, 1000, &body, &ctype, &n));
	assert_true(search_cache_get(c, &k3, 1, 1003, 1000, &body, &ctype, &n));
	search_cache_free(c);
}

static int setup(void **state)
{
	arena_init(&arena);
	return 0;
}

static int teardown(void **state)
{
	arena_fini(&arena);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_searx_parse), cmocka_unit_test(test_answers),
	    cmocka_unit_test(test_html),	cmocka_unit_test(test_target_and_errors),
	    cmocka_unit_test(test_cache),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
