#include "parse/searx_answer.h"

#include <stdio.h>
#include <string.h>

#include "parse/json.h"

static struct slice field(const struct json_value *o, const char *key)
{
	struct slice s = {0};
	json_string(json_get(o, key), &s);
	return s;
}

bool searx_answer_parse(const char *body, size_t len, struct arena *a, struct searx_answer *out,
			char *why, size_t why_size)
{
	const char *err;
	const struct json_value *doc = json_parse(body, len, a, &err);

	memset(out, 0, sizeof(*out));
	if (!doc) {
		snprintf(why, why_size, "SearXNG's answer is not JSON: %s", err);
		return false;
	}
	const struct json_value *results = json_get(doc, "results");
	if (!results || results->type != JSON_ARRAY) {
		snprintf(why, why_size, "SearXNG's answer has no results list");
		return false;
	}
	for (const struct json_value *r = results->first; r && out->n_results < SEARX_RESULTS_MAX;
	     r = r->next) {
		struct searx_result *x = &out->results[out->n_results];
		if (r->type != JSON_OBJECT)
			continue;
		x->url = field(r, "url");
		if (x->url.len == 0)
			continue;
		x->title = field(r, "title");
		x->content = field(r, "content");
		x->engine = field(r, "engine");
		x->published = field(r, "publishedDate");
		x->has_score = json_number(json_get(r, "score"), &x->score);
		out->n_results++;
	}
	/* [["google", "timeout"], ...] */
	const struct json_value *un = json_get(doc, "unresponsive_engines");
	for (const struct json_value *e = un && un->type == JSON_ARRAY ? un->first : NULL;
	     e && out->n_unresponsive < SEARX_UNRESPONSIVE_MAX; e = e->next) {
		struct slice name;
		if (e->type == JSON_ARRAY && json_string(e->first, &name))
			out->unresponsive[out->n_unresponsive++] = name;
		else if (json_string(e, &name))
			out->unresponsive[out->n_unresponsive++] = name;
	}
	json_number(json_get(doc, "number_of_results"), &out->number_of_results);
	return true;
}
