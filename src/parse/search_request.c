#include "parse/search_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/hex.h"
#include "parse/json.h"

bool search_form_value(struct slice form, const char *name, char *out, size_t out_size, size_t *len)
{
	size_t name_len = strlen(name);

	for (size_t i = 0; i <= form.len;) {
		size_t j = i;
		while (j < form.len && form.ptr[j] != '&')
			j++;
		struct slice pair = slice_make(form.ptr + i, j - i);
		const char *eq = memchr(pair.ptr, '=', pair.len);
		size_t key_len = eq ? (size_t)(eq - pair.ptr) : pair.len;
		if (key_len == name_len && memcmp(pair.ptr, name, name_len) == 0) {
			size_t o = 0;
			for (size_t k = key_len + (eq ? 1 : 0); k < pair.len && o + 1 < out_size;
			     k++) {
				int hi, lo;
				char c = pair.ptr[k];
				if (c == '+') {
					c = ' ';
				} else if (c == '%' && k + 2 < pair.len &&
					   (hi = hex_value(pair.ptr[k + 1])) >= 0 &&
					   (lo = hex_value(pair.ptr[k + 2])) >= 0) {
					c = (char)(hi * 16 + lo);
					k += 2;
				}
				out[o++] = c;
			}
			out[o] = '\0';
			if (len)
				*len = o;
			return true;
		}
		i = j + 1;
	}
	return false;
}

/* ---- building the query ----------------------------------------------------------------- */

static bool set_text(struct search_query *q, struct slice s, char *why, size_t why_size)
{
	/* Leading and trailing spaces are not a query. */
	while (s.len && (s.ptr[0] == ' ' || s.ptr[0] == '\t'))
		s = slice_make(s.ptr + 1, s.len - 1);
	while (s.len && (s.ptr[s.len - 1] == ' ' || s.ptr[s.len - 1] == '\t'))
		s.len--;
	if (s.len == 0) {
		snprintf(why, why_size, "the query is empty");
		return false;
	}
	if (s.len > SEARCH_QUERY_MAX / 2) {
		snprintf(why, why_size, "the query is longer than %d bytes", SEARCH_QUERY_MAX / 2);
		return false;
	}
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.ptr[i] < 0x20 || s.ptr[i] == 0x7f) {
			snprintf(why, why_size, "the query has a control character");
			return false;
		}
	memcpy(q->text, s.ptr, s.len);
	q->text[s.len] = '\0';
	q->text_len = q->asked_len = s.len;
	return true;
}

/* " site:d" or " -site:d": a domain alone (letters, digits, '.', '-'), so that a filter cannot
 * add other search syntax. */
static bool add_site(struct search_query *q, struct slice d, bool exclude, char *why,
		     size_t why_size)
{
	if (d.len > 7 && memcmp(d.ptr, "http://", 7) == 0)
		d = slice_make(d.ptr + 7, d.len - 7);
	else if (d.len > 8 && memcmp(d.ptr, "https://", 8) == 0)
		d = slice_make(d.ptr + 8, d.len - 8);
	while (d.len && d.ptr[d.len - 1] == '/')
		d.len--;
	bool ok = d.len > 0 && d.len <= 253;
	for (size_t i = 0; ok && i < d.len; i++) {
		char c = d.ptr[i];
		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		     c == '.' || c == '-';
	}
	if (!ok) {
		snprintf(why, why_size, "a domain filter is not a domain");
		return false;
	}
	size_t need = d.len + (exclude ? 7 : 6);
	if (q->text_len + need > SEARCH_QUERY_MAX) {
		snprintf(why, why_size, "too many domain filters");
		return false;
	}
	q->text_len += (size_t)snprintf(q->text + q->text_len, sizeof(q->text) - q->text_len,
					" %ssite:%.*s", exclude ? "-" : "", (int)d.len, d.ptr);
	return true;
}

static void set_count(struct search_query *q, double n)
{
	if (n < 1)
		n = 1;
	q->count = n > SEARCH_COUNT_MAX ? SEARCH_COUNT_MAX : (unsigned)n;
}

static void set_offset(struct search_query *q, double n)
{
	q->offset = n < 0 ? 0 : n > 1000 ? 1000 : (unsigned)n;
}

/* "day", "d", "pd", "qdr:d", "Day" ... */
static enum search_time time_from(struct slice s)
{
	static const struct {
		const char *word;
		enum search_time t;
	} words[] = {
	    {"day", SEARCH_TIME_DAY},	 {"d", SEARCH_TIME_DAY},      {"pd", SEARCH_TIME_DAY},
	    {"qdr:d", SEARCH_TIME_DAY},	 {"week", SEARCH_TIME_WEEK},  {"w", SEARCH_TIME_WEEK},
	    {"pw", SEARCH_TIME_WEEK},	 {"qdr:w", SEARCH_TIME_WEEK}, {"month", SEARCH_TIME_MONTH},
	    {"m", SEARCH_TIME_MONTH},	 {"pm", SEARCH_TIME_MONTH},   {"qdr:m", SEARCH_TIME_MONTH},
	    {"year", SEARCH_TIME_YEAR},	 {"y", SEARCH_TIME_YEAR},     {"py", SEARCH_TIME_YEAR},
	    {"qdr:y", SEARCH_TIME_YEAR},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (slice_eq_nocase(s, slice_from_cstr(words[i].word)))
			return words[i].t;
	return SEARCH_TIME_ANY;
}

static enum search_time time_from_days(double days)
{
	return days <= 0    ? SEARCH_TIME_ANY
	       : days <= 1  ? SEARCH_TIME_DAY
	       : days <= 7  ? SEARCH_TIME_WEEK
	       : days <= 31 ? SEARCH_TIME_MONTH
			    : SEARCH_TIME_YEAR;
}

/* Google's dateRestrict: d5, w2, m6, y1. */
static enum search_time time_from_restrict(struct slice s)
{
	if (s.len < 1)
		return SEARCH_TIME_ANY;
	double n = s.len > 1 ? strtod(s.ptr + 1, NULL) : 1;
	switch (s.ptr[0] | 0x20) {
	case 'd':
		return time_from_days(n);
	case 'w':
		return time_from_days(n * 7);
	case 'm':
		return time_from_days(n * 30);
	case 'y':
		return SEARCH_TIME_YEAR;
	}
	return SEARCH_TIME_ANY;
}

static int safe_from(struct slice s)
{
	if (slice_eq_nocase(s, SLICE_LIT("off")))
		return 0;
	if (slice_eq_nocase(s, SLICE_LIT("moderate")) || slice_eq_nocase(s, SLICE_LIT("medium")))
		return 1;
	if (slice_eq_nocase(s, SLICE_LIT("strict")) || slice_eq_nocase(s, SLICE_LIT("active")) ||
	    slice_eq_nocase(s, SLICE_LIT("high")))
		return 2;
	return -1;
}

/* A language tag, as SearXNG takes it: "en", "en-US"; Google's "lang_en" and DuckDuckGo's
 * region "us-en" read as their language. Anything else is left out. */
static void set_language(struct search_query *q, struct slice s)
{
	if (s.len > 5 && memcmp(s.ptr, "lang_", 5) == 0)
		s = slice_make(s.ptr + 5, s.len - 5);
	if (s.len == 5 && s.ptr[2] == '-' && q->api == SEARCH_DUCKDUCKGO)
		s = slice_make(s.ptr + 3, 2);
	if (s.len < 2 || s.len >= sizeof(q->language))
		return;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c == '-' && i > 1)))
			return;
	}
	memcpy(q->language, s.ptr, s.len);
	q->language[s.len] = '\0';
}

/* ---- query strings ---------------------------------------------------------------------- */

struct form_reader {
	struct slice form;
	char value[SEARCH_QUERY_MAX + 1];
	size_t len;
};

static bool form_get(struct form_reader *f, const char *name)
{
	return search_form_value(f->form, name, f->value, sizeof(f->value), &f->len);
}

static struct slice form_slice(const struct form_reader *f)
{
	return slice_make(f->value, f->len);
}

static double form_number(struct form_reader *f, const char *name, double otherwise)
{
	if (!form_get(f, name) || f->len == 0)
		return otherwise;
	char *end;
	double v = strtod(f->value, &end);
	return *end ? otherwise : v;
}

static bool read_form(struct search_query *q, struct slice form, char *why, size_t why_size)
{
	struct form_reader f = {.form = form};
	enum search_api api = q->api;

	if (!form_get(&f, "q")) {
		snprintf(why, why_size, "the q parameter is required");
		return false;
	}
	if (!set_text(q, form_slice(&f), why, why_size))
		return false;
	switch (api) {
	case SEARCH_BRAVE:
		set_count(q, form_number(&f, "count", 20));
		if (q->count > 20)
			q->count = 20;
		/* Brave's offset counts pages of count results. */
		set_offset(q, form_number(&f, "offset", 0) * q->count);
		if (form_get(&f, "safesearch"))
			q->safesearch = safe_from(form_slice(&f));
		if (form_get(&f, "freshness"))
			q->time = time_from(form_slice(&f));
		if (form_get(&f, "search_lang"))
			set_language(q, form_slice(&f));
		break;
	case SEARCH_SERPAPI:
	case SEARCH_GOOGLE_HTML:
		set_count(q, form_number(&f, "num", 10));
		set_offset(q, form_number(&f, "start", 0));
		if (form_get(&f, "hl"))
			set_language(q, form_slice(&f));
		if (form_get(&f, "safe"))
			q->safesearch = safe_from(form_slice(&f));
		if (form_get(&f, "tbs"))
			q->time = time_from(form_slice(&f));
		if (form_get(&f, "tbm") && slice_eq(form_slice(&f), SLICE_LIT("nws")))
			q->news = true;
		break;
	case SEARCH_GOOGLE:
		set_count(q, form_number(&f, "num", 10));
		if (q->count > 10)
			q->count = 10;
		set_offset(q, form_number(&f, "start", 1) - 1);
		if (form_get(&f, "safe"))
			q->safesearch = safe_from(form_slice(&f));
		if (form_get(&f, "lr") || form_get(&f, "hl"))
			set_language(q, form_slice(&f));
		if (form_get(&f, "dateRestrict"))
			q->time = time_from_restrict(form_slice(&f));
		if (form_get(&f, "siteSearch") && f.len) {
			char site[256];
			size_t n = f.len < sizeof(site) ? f.len : sizeof(site) - 1;
			memcpy(site, f.value, n);
			bool exclude = form_get(&f, "siteSearchFilter") &&
				       slice_eq(form_slice(&f), SLICE_LIT("e"));
			if (!add_site(q, slice_make(site, n), exclude, why, why_size))
				return false;
		}
		break;
	case SEARCH_BING:
		set_count(q, form_number(&f, "count", 10));
		set_offset(q, form_number(&f, "offset", 0));
		if (form_get(&f, "safeSearch"))
			q->safesearch = safe_from(form_slice(&f));
		if (form_get(&f, "freshness"))
			q->time = time_from(form_slice(&f));
		if (form_get(&f, "setLang") || form_get(&f, "mkt"))
			set_language(q, form_slice(&f));
		break;
	case SEARCH_DUCKDUCKGO:
		set_count(q, 10);
		set_offset(q, form_number(&f, "s", 0));
		if (form_get(&f, "df"))
			q->time = time_from(form_slice(&f));
		if (form_get(&f, "kl"))
			set_language(q, form_slice(&f));
		break;
	default:
		break;
	}
	return true;
}

/* ---- JSON bodies -------------------------------------------------------------------------- */

static bool json_num(const struct json_value *o, const char *key, double *out)
{
	return json_number(json_get(o, key), out);
}

static bool read_sites(struct search_query *q, const struct json_value *list, bool exclude,
		       char *why, size_t why_size)
{
	if (!list || list->type == JSON_NULL)
		return true;
	if (list->type != JSON_ARRAY) {
		snprintf(why, why_size, "a domain filter must be a list of domains");
		return false;
	}
	for (const struct json_value *d = list->first; d; d = d->next) {
		struct slice s;
		if (!json_string(d, &s)) {
			snprintf(why, why_size, "a domain filter must be a list of domains");
			return false;
		}
		if (!add_site(q, s, exclude, why, why_size))
			return false;
	}
	return true;
}

static bool read_json(struct search_query *q, struct slice body, char *why, size_t why_size)
{
	struct arena a;
	const char *err;
	bool ok = false;
	struct slice s;
	double n;

	arena_init(&a);
	const struct json_value *o = json_parse(body.ptr, body.len, &a, &err);
	const char *query_key = q->api == SEARCH_SERPER ? "q" : "query";
	if (!o) {
		snprintf(why, why_size, "the body is not JSON: %s", err);
		goto out;
	}
	if (o->type == JSON_ARRAY && q->api == SEARCH_SERPER) {
		snprintf(why, why_size, "batches of queries are not answered; send one at a time");
		goto out;
	}
	if (o->type != JSON_OBJECT) {
		snprintf(why, why_size, "the body must be a JSON object");
		goto out;
	}
	if (!json_string(json_get(o, query_key), &s)) {
		snprintf(why, why_size, "%s is required (a string)", query_key);
		goto out;
	}
	if (!set_text(q, s, why, why_size))
		goto out;
	switch (q->api) {
	case SEARCH_TAVILY:
		set_count(q, json_num(o, "max_results", &n) ? n : 5);
		if (json_string(json_get(o, "time_range"), &s))
			q->time = time_from(s);
		else if (json_num(o, "days", &n))
			q->time = time_from_days(n);
		if (json_string(json_get(o, "topic"), &s) && slice_eq(s, SLICE_LIT("news")))
			q->news = true;
		if (!read_sites(q, json_get(o, "include_domains"), false, why, why_size) ||
		    !read_sites(q, json_get(o, "exclude_domains"), true, why, why_size))
			goto out;
		break;
	case SEARCH_EXA:
		set_count(q, json_num(o, "numResults", &n) ? n : 10);
		if (json_string(json_get(o, "category"), &s) && slice_eq(s, SLICE_LIT("news")))
			q->news = true;
		if (!read_sites(q, json_get(o, "includeDomains"), false, why, why_size) ||
		    !read_sites(q, json_get(o, "excludeDomains"), true, why, why_size))
			goto out;
		break;
	case SEARCH_SERPER:
		set_count(q, json_num(o, "num", &n) ? n : 10);
		if (json_num(o, "page", &n))
			set_offset(q, (n - 1) * q->count);
		if (json_string(json_get(o, "hl"), &s))
			set_language(q, s);
		if (json_string(json_get(o, "tbs"), &s))
			q->time = time_from(s);
		break;
	default:
		break;
	}
	ok = true;
out:
	arena_fini(&a);
	return ok;
}

bool search_request_parse(enum search_api api, struct slice query, struct slice body,
			  struct slice content_type, struct search_query *out, char *why,
			  size_t why_size)
{
	memset(out, 0, sizeof(*out));
	out->api = api;
	out->safesearch = -1;
	out->count = 10;
	switch (api) {
	case SEARCH_TAVILY:
	case SEARCH_EXA:
	case SEARCH_SERPER:
		return read_json(out, body, why, why_size);
	case SEARCH_DUCKDUCKGO:
		/* Its form posts q in the body; a link puts it in the query. */
		if (body.len && (content_type.len == 0 ||
				 (content_type.len >= 33 &&
				  slice_eq_nocase(slice_make(content_type.ptr, 33),
						  SLICE_LIT("application/x-www-form-urlencoded")))))
			return read_form(out, body, why, why_size);
		return read_form(out, query, why, why_size);
	default:
		return read_form(out, query, why, why_size);
	}
}
