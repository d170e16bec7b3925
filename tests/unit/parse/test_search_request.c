/* Tests src/parse/search_request.c and src/parse/search_api.c: which API a request is; each
 * API's parameters into one query (count, offset, time, safe search, language, news, domain
 * filters as site: terms); what is refused (no query, not JSON, a filter that is not a domain,
 * Serper's batches); form values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "parse/search_api.h"
#include "parse/search_request.h"

static struct search_query q;
static char why[256];

static bool parse(enum search_api api, const char *query, const char *body)
{
	return search_request_parse(api, slice_from_cstr(query), slice_from_cstr(body),
				    SLICE_LIT("application/json"), &q, why, sizeof(why));
}

static void test_match(void **state)
{
	assert_int_equal(search_api_match(SEARCH_APIS_ALL, SLICE_LIT("api.tavily.com"),
					  SLICE_LIT("POST"), SLICE_LIT("/search")),
			 SEARCH_TAVILY);
	assert_int_equal(search_api_match(SEARCH_APIS_ALL, SLICE_LIT("api.tavily.com"),
					  SLICE_LIT("GET"), SLICE_LIT("/search")),
			 -1);
	assert_int_equal(search_api_match(SEARCH_APIS_ALL, SLICE_LIT("serpapi.com"),
					  SLICE_LIT("GET"), SLICE_LIT("/search")),
			 SEARCH_SERPAPI);
	assert_int_equal(search_api_match(SEARCH_APIS_ALL, SLICE_LIT("html.duckduckgo.com"),
					  SLICE_LIT("POST"), SLICE_LIT("/html/")),
			 SEARCH_DUCKDUCKGO);
	assert_int_equal(search_api_match(SEARCH_APIS_ALL, SLICE_LIT("google.com"),
					  SLICE_LIT("GET"), SLICE_LIT("/search")),
			 SEARCH_GOOGLE_HTML);
	/* not enabled */
	assert_int_equal(search_api_match(1u << SEARCH_BRAVE, SLICE_LIT("api.tavily.com"),
					  SLICE_LIT("POST"), SLICE_LIT("/search")),
			 -1);
	assert_true(search_api_host(SEARCH_APIS_ALL, SLICE_LIT("api.exa.ai")));
	assert_false(search_api_host(SEARCH_APIS_ALL, SLICE_LIT("exa.ai")));
	enum search_api api;
	assert_true(search_api_from_name(SLICE_LIT("google_html"), &api));
	assert_int_equal(api, SEARCH_GOOGLE_HTML);
	assert_false(search_api_from_name(SLICE_LIT("altavista"), &api));
}

static void test_json_apis(void **state)
{
	assert_true(parse(SEARCH_TAVILY, "",
			  "{\"query\": \" rust \", \"max_results\": 3, \"days\": 5, \"topic\": "
			  "\"news\", \"include_domains\": [\"https://docs.rs/\"], "
			  "\"exclude_domains\": [\"reddit.com\"]}"));
	assert_string_equal(q.text, "rust site:docs.rs -site:reddit.com");
	assert_int_equal(q.asked_len, 4);
	assert_int_equal(q.count, 3);
	assert_int_equal(q.time, SEARCH_TIME_WEEK);
	assert_true(q.news);
	assert_true(parse(SEARCH_TAVILY, "", "{\"query\": \"x\"}"));
	assert_int_equal(q.count, 5); /* Tavily's default */
	assert_true(parse(SEARCH_EXA, "", "{\"query\": \"x\", \"numResults\": 500}"));
	assert_int_equal(q.count, SEARCH_COUNT_MAX);
	assert_true(parse(SEARCH_SERPER, "",
			  "{\"q\": \"x\", \"num\": 10, \"page\": 3, \"tbs\": \"qdr:y\"}"));
	assert_int_equal(q.offset, 20);
	assert_int_equal(q.time, SEARCH_TIME_YEAR);

	assert_false(parse(SEARCH_TAVILY, "", "{\"max_results\": 3}"));
	assert_string_equal(why, "query is required (a string)");
	assert_false(parse(SEARCH_TAVILY, "", "{\"query\": \"   \"}"));
	assert_string_equal(why, "the query is empty");
	assert_false(parse(SEARCH_TAVILY, "", "not json"));
	assert_non_null(strstr(why, "the body is not JSON"));
	assert_false(
	    parse(SEARCH_TAVILY, "", "{\"query\": \"x\", \"include_domains\": [\"a.com OR b\"]}"));
	assert_string_equal(why, "a domain filter is not a domain");
	assert_false(parse(SEARCH_SERPER, "", "[{\"q\": \"a\"}, {\"q\": \"b\"}]"));
	assert_non_null(strstr(why, "batches"));
	assert_false(parse(SEARCH_EXA, "", "{\"query\": \"a\\u0000b\"}"));
	assert_string_equal(why, "the query has a control character");
}

static void test_query_apis(void **state)
{
	assert_true(parse(SEARCH_BRAVE,
			  "q=go+lang&count=5&offset=2&safesearch=strict&freshness=pd"
			  "&search_lang=de",
			  ""));
	assert_string_equal(q.text, "go lang");
	assert_int_equal(q.count, 5);
	assert_int_equal(q.offset, 10);
	assert_int_equal(q.safesearch, 2);
	assert_int_equal(q.time, SEARCH_TIME_DAY);
	assert_string_equal(q.language, "de");
	assert_true(parse(SEARCH_GOOGLE,
			  "q=zig&num=20&start=11&siteSearch=ziglang.org"
			  "&siteSearchFilter=e&lr=lang_fr&dateRestrict=m2&safe=off",
			  ""));
	assert_string_equal(q.text, "zig -site:ziglang.org");
	assert_int_equal(q.count, 10); /* Google's cap */
	assert_int_equal(q.offset, 10);
	assert_int_equal(q.time, SEARCH_TIME_YEAR);
	assert_string_equal(q.language, "fr");
	assert_int_equal(q.safesearch, 0);
	assert_true(parse(SEARCH_BING,
			  "q=%E2%9C%93+ok&count=50&offset=7&freshness=Month"
			  "&setLang=en-GB",
			  ""));
	assert_string_equal(q.text, "\xe2\x9c\x93 ok");
	assert_int_equal(q.count, 50);
	assert_int_equal(q.time, SEARCH_TIME_MONTH);
	assert_string_equal(q.language, "en-GB");
	assert_true(parse(SEARCH_SERPAPI, "engine=google&q=a&tbm=nws&hl=es", ""));
	assert_true(q.news);
	assert_string_equal(q.language, "es");
	assert_true(search_request_parse(
	    SEARCH_DUCKDUCKGO, SLICE_LIT(""), SLICE_LIT("q=duck&s=30&df=w&kl=us-en"),
	    SLICE_LIT("application/x-www-form-urlencoded"), &q, why, sizeof(why)));
	assert_string_equal(q.text, "duck");
	assert_int_equal(q.offset, 30);
	assert_string_equal(q.language, "en");
	assert_false(parse(SEARCH_BRAVE, "count=5", ""));
	assert_string_equal(why, "the q parameter is required");
	/* a language that is not a tag is left out */
	assert_true(parse(SEARCH_BRAVE, "q=a&search_lang=en%26x", ""));
	assert_string_equal(q.language, "");
}

static void test_form_value(void **state)
{
	char out[16];
	size_t len;
	assert_true(search_form_value(SLICE_LIT("a=1&b=x%41+y&c"), "b", out, sizeof(out), &len));
	assert_string_equal(out, "xA y");
	assert_true(search_form_value(SLICE_LIT("a=1&b=x&c"), "c", out, sizeof(out), &len));
	assert_int_equal(len, 0);
	assert_false(search_form_value(SLICE_LIT("ab=1"), "a", out, sizeof(out), &len));
	/* cut to the room */
	assert_true(
	    search_form_value(SLICE_LIT("a=0123456789abcdefghij"), "a", out, sizeof(out), &len));
	assert_int_equal(len, 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_json_apis),
	    cmocka_unit_test(test_query_apis),
	    cmocka_unit_test(test_form_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
