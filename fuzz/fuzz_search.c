/* Fuzz target for the search pieces an agent and SearXNG feed (parse/search_request,
 * parse/searx_answer, emit/search_answer): whatever the bytes, a request either reads as a
 * query within its bounds (text, count) or is refused with a reason; the SearXNG target for it
 * fits or is refused; and an answer SearXNG sends, in any API's shape, is valid JSON (the HTML
 * pages never carry a raw '<' from it). Input: the first byte picks the API, the rest is both
 * the request (query string and body) and SearXNG's answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emit/search_answer.h"
#include "parse/json.h"
#include "parse/search_request.h"
#include "parse/searx_answer.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct search_query q;
	static struct searx_answer a;
	char why[256], target[SEARCH_TARGET_MAX];

	if (size < 1 || size > 65536)
		return 0;
	enum search_api api = (enum search_api)(data[0] % SEARCH_APIS);
	struct slice rest = slice_make((const char *)data + 1, size - 1);
	if (search_request_parse(api, rest, rest, SLICE_LIT(""), &q, why, sizeof(why))) {
		CHECK(q.text_len > 0 && q.text_len <= SEARCH_QUERY_MAX &&
		      q.asked_len <= q.text_len);
		CHECK(strlen(q.text) <= q.text_len); /* a NUL inside only from %00 */
		CHECK(q.count >= 1 && q.count <= SEARCH_COUNT_MAX);
		size_t n = search_searx_target(&q, "/base", target, sizeof(target));
		CHECK(n == 0 || n == strlen(target));
	} else {
		CHECK(why[0] != '\0');
	}
	struct arena arena;
	arena_init(&arena);
	if (searx_answer_parse(rest.ptr, rest.len, &arena, &a, why, sizeof(why))) {
		struct search_query fixed = {.count = 10, .safesearch = -1};
		memcpy(fixed.text, "q", 2);
		fixed.text_len = fixed.asked_len = 1;
		for (unsigned k = 0; k < SEARCH_APIS; k++) {
			struct buf out = {0};
			const char *ctype, *err;
			fixed.api = (enum search_api)k;
			if (search_answer_format(&fixed, &a, data[0] % 12, 5, &out, &ctype)) {
				if (strcmp(ctype, "application/json") == 0) {
					struct arena b;
					arena_init(&b);
					CHECK(json_parse(buf_head(&out), buf_len(&out), &b, &err));
					arena_fini(&b);
				}
			}
			buf_release(&out);
		}
	}
	arena_fini(&arena);
	return 0;
}
