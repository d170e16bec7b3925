#include "emit/search_answer.h"

#include <stdio.h>
#include <string.h>

#include "emit/json_write.h"

/* SearXNG pages hold about ten results each, whatever its engines return. */
#define SEARX_PAGE 10

static size_t put_encoded(char *out, size_t at, size_t size, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
		if (at + 4 > size)
			return size;
		if (plain) {
			out[at++] = (char)c;
		} else {
			out[at++] = '%';
			out[at++] = hex[c >> 4];
			out[at++] = hex[c & 15];
		}
	}
	return at;
}

size_t search_searx_target(const struct search_query *q, const char *base, char *out, size_t size)
{
	static const char *const times[] = {"", "day", "week", "month", "year"};
	int n = snprintf(out, size, "%s/search?q=", base);
	if (n < 0 || (size_t)n >= size)
		return 0;
	size_t at = put_encoded(out, (size_t)n, size, q->text, q->text_len);
	int m = snprintf(
	    out + at, size - at, "&format=json&pageno=%u%s%s%s%s%s%s%s", q->offset / SEARX_PAGE + 1,
	    q->time ? "&time_range=" : "", times[q->time], q->safesearch >= 0 ? "&safesearch=" : "",
	    q->safesearch >= 0 ? (const char *[]){"0", "1", "2"}[q->safesearch] : "",
	    q->language[0] ? "&language=" : "", q->language, q->news ? "&categories=news" : "");
	if (at >= size || m < 0 || (size_t)m >= size - at)
		return 0;
	return at + (size_t)m;
}

/* ---- JSON answers ------------------------------------------------------------------------- */

/* The host of a URL ("https://a.example/x" → "a.example"). */
static struct slice url_host(struct slice url)
{
	const char *p = memchr(url.ptr, ':', url.len);
	if (!p || (size_t)(p - url.ptr) + 3 > url.len || p[1] != '/' || p[2] != '/')
		return url;
	const char *h = p + 3, *end = url.ptr + url.len, *e = h;
	while (e < end && *e != '/' && *e != '?' && *e != '#')
		e++;
	return slice_make(h, (size_t)(e - h));
}

static void key_str(struct json_write *w, const char *key, struct slice v)
{
	json_write_key(w, key);
	json_write_string(w, v);
}

static void key_null_or(struct json_write *w, const char *key, struct slice v)
{
	json_write_key(w, key);
	if (v.len)
		json_write_string(w, v);
	else
		json_write_null(w);
}

/* A score in 0..1 for the APIs that have one: SearXNG's own grows with how many engines agree,
 * so it is scaled against the first result's. */
static double score_of(const struct searx_result *r, double top, unsigned i)
{
	if (r->has_score && top > 0)
		return r->score / top;
	return 1.0 / (1.0 + i);
}

static void tavily(struct json_write *w, const struct search_query *q, const struct searx_result *r,
		   unsigned n, unsigned took_ms)
{
	double top = n && r[0].has_score ? r[0].score : 0;
	key_str(w, "query", slice_make(q->text, q->asked_len));
	json_write_key(w, "follow_up_questions");
	json_write_null(w);
	json_write_key(w, "answer");
	json_write_null(w);
	json_write_key(w, "images");
	json_write_array(w);
	json_write_end(w);
	json_write_key(w, "results");
	json_write_array(w);
	for (unsigned i = 0; i < n; i++) {
		json_write_object(w);
		key_str(w, "title", r[i].title);
		key_str(w, "url", r[i].url);
		key_str(w, "content", r[i].content);
		json_write_key(w, "score");
		json_write_double(w, score_of(&r[i], top, i));
		json_write_key(w, "raw_content");
		json_write_null(w);
		if (r[i].published.len)
			key_str(w, "published_date", r[i].published);
		json_write_end(w);
	}
	json_write_end(w);
	json_write_key(w, "response_time");
	json_write_double(w, took_ms / 1000.0);
}

static void brave(struct json_write *w, const struct search_query *q, const struct searx_result *r,
		  unsigned n)
{
	json_write_key(w, "type");
	json_write_cstr(w, "search");
	json_write_key(w, "query");
	json_write_object(w);
	key_str(w, "original", slice_make(q->text, q->asked_len));
	json_write_key(w, "more_results_available");
	json_write_bool(w, n > 0);
	json_write_end(w);
	json_write_key(w, "web");
	json_write_object(w);
	json_write_key(w, "type");
	json_write_cstr(w, "search");
	json_write_key(w, "results");
	json_write_array(w);
	for (unsigned i = 0; i < n; i++) {
		struct slice host = url_host(r[i].url);
		json_write_object(w);
		json_write_key(w, "type");
		json_write_cstr(w, "search_result");
		key_str(w, "title", r[i].title);
		key_str(w, "url", r[i].url);
		key_str(w, "description", r[i].content);
		if (r[i].published.len)
			key_str(w, "page_age", r[i].published);
		json_write_key(w, "is_source_local");
		json_write_bool(w, false);
		json_write_key(w, "is_source_both");
		json_write_bool(w, false);
		json_write_key(w, "family_friendly");
		json_write_bool(w, true);
		json_write_key(w, "meta_url");
		json_write_object(w);
		key_str(w, "netloc", host);
		key_str(w, "hostname", host);
		json_write_end(w);
		json_write_end(w);
	}
	json_write_end(w);
	json_write_key(w, "family_friendly");
	json_write_bool(w, true);
	json_write_end(w);
}

static void exa(struct json_write *w, const struct search_query *q, const struct searx_result *r,
		unsigned n)
{
	double top = n && r[0].has_score ? r[0].score : 0;
	json_write_key(w, "requestId");
	json_write_cstr(w, "sluice");
	json_write_key(w, "resolvedSearchType");
	json_write_cstr(w, "keyword");
	json_write_key(w, "results");
	json_write_array(w);
	for (unsigned i = 0; i < n; i++) {
		json_write_object(w);
		key_str(w, "id", r[i].url);
		key_str(w, "url", r[i].url);
		key_str(w, "title", r[i].title);
		json_write_key(w, "score");
		json_write_double(w, score_of(&r[i], top, i));
		key_null_or(w, "publishedDate", r[i].published);
		json_write_key(w, "author");
		json_write_null(w);
		key_str(w, "text", r[i].content);
		json_write_end(w);
	}
	json_write_end(w);
	json_write_key(w, "costDollars");
	json_write_object(w);
	json_write_key(w, "total");
	json_write_int(w, 0);
	json_write_end(w);
}

/* SerpAPI's organic_results and Serper's organic: the same rows. */
static void organic(struct json_write *w, const char *key, const struct search_query *q,
		    const struct searx_result *r, unsigned n, bool serpapi)
{
	json_write_key(w, key);
	json_write_array(w);
	for (unsigned i = 0; i < n; i++) {
		json_write_object(w);
		json_write_key(w, "position");
		json_write_int(w, q->offset + i + 1);
		key_str(w, "title", r[i].title);
		key_str(w, "link", r[i].url);
		if (serpapi) {
			key_str(w, "displayed_link", url_host(r[i].url));
			key_str(w, "source", url_host(r[i].url));
		}
		key_str(w, "snippet", r[i].content);
		if (r[i].published.len)
			key_str(w, "date", r[i].published);
		json_write_end(w);
	}
	json_write_end(w);
}

static void serpapi(struct json_write *w, const struct search_query *q,
		    const struct searx_result *r, unsigned n, unsigned took_ms, double total)
{
	json_write_key(w, "search_metadata");
	json_write_object(w);
	json_write_key(w, "id");
	json_write_cstr(w, "sluice");
	json_write_key(w, "status");
	json_write_cstr(w, "Success");
	json_write_key(w, "total_time_taken");
	json_write_double(w, took_ms / 1000.0);
	json_write_end(w);
	json_write_key(w, "search_parameters");
	json_write_object(w);
	json_write_key(w, "engine");
	json_write_cstr(w, "google");
	key_str(w, "q", slice_make(q->text, q->asked_len));
	json_write_end(w);
	json_write_key(w, "search_information");
	json_write_object(w);
	json_write_key(w, "total_results");
	json_write_int(w, (int64_t)(total > n ? total : n));
	key_str(w, "query_displayed", slice_make(q->text, q->asked_len));
	json_write_end(w);
	organic(w, "organic_results", q, r, n, true);
}

static void serper(struct json_write *w, const struct search_query *q, const struct searx_result *r,
		   unsigned n)
{
	json_write_key(w, "searchParameters");
	json_write_object(w);
	key_str(w, "q", slice_make(q->text, q->asked_len));
	json_write_key(w, "type");
	json_write_cstr(w, "search");
	json_write_key(w, "num");
	json_write_int(w, q->count);
	json_write_key(w, "engine");
	json_write_cstr(w, "google");
	json_write_end(w);
	organic(w, "organic", q, r, n, false);
	json_write_key(w, "credits");
	json_write_int(w, 1);
}

static void google(struct json_write *w, const struct search_query *q, const struct searx_result *r,
		   unsigned n, unsigned took_ms, double total)
{
	char count[24];
	snprintf(count, sizeof(count), "%lld", (long long)(total > n ? total : n));
	json_write_key(w, "kind");
	json_write_cstr(w, "customsearch#search");
	json_write_key(w, "queries");
	json_write_object(w);
	json_write_key(w, "request");
	json_write_array(w);
	json_write_object(w);
	key_str(w, "searchTerms", slice_make(q->text, q->asked_len));
	json_write_key(w, "count");
	json_write_int(w, n);
	json_write_key(w, "startIndex");
	json_write_int(w, q->offset + 1);
	json_write_key(w, "totalResults");
	json_write_cstr(w, count);
	json_write_end(w);
	json_write_end(w);
	json_write_end(w);
	json_write_key(w, "searchInformation");
	json_write_object(w);
	json_write_key(w, "searchTime");
	json_write_double(w, took_ms / 1000.0);
	json_write_key(w, "totalResults");
	json_write_cstr(w, count);
	json_write_key(w, "formattedTotalResults");
	json_write_cstr(w, count);
	json_write_end(w);
	json_write_key(w, "items");
	json_write_array(w);
	for (unsigned i = 0; i < n; i++) {
		json_write_object(w);
		json_write_key(w, "kind");
		json_write_cstr(w, "customsearch#result");
		key_str(w, "title", r[i].title);
		key_str(w, "htmlTitle", r[i].title);
		key_str(w, "link", r[i].url);
		key_str(w, "displayLink", url_host(r[i].url));
		key_str(w, "snippet", r[i].content);
		key_str(w, "htmlSnippet", r[i].content);
		key_str(w, "formattedUrl", r[i].url);
		json_write_end(w);
	}
	json_write_end(w);
}

static void bing(struct json_write *w, const struct search_query *q, const struct searx_result *r,
		 unsigned n, double total)
{
	json_write_key(w, "_type");
	json_write_cstr(w, "SearchResponse");
	json_write_key(w, "queryContext");
	json_write_object(w);
	key_str(w, "originalQuery", slice_make(q->text, q->asked_len));
	json_write_end(w);
	json_write_key(w, "webPages");
	json_write_object(w);
	json_write_key(w, "totalEstimatedMatches");
	json_write_int(w, (int64_t)(total > n ? total : n));
	json_write_key(w, "value");
	json_write_array(w);
	for (unsigned i = 0; i < n; i++) {
		char id[64];
		snprintf(id, sizeof(id), "https://api.bing.microsoft.com/api/v7/#WebPages.%u", i);
		json_write_object(w);
		json_write_key(w, "id");
		json_write_cstr(w, id);
		key_str(w, "name", r[i].title);
		key_str(w, "url", r[i].url);
		key_str(w, "displayUrl", r[i].url);
		key_str(w, "snippet", r[i].content);
		if (r[i].published.len)
			key_str(w, "dateLastCrawled", r[i].published);
		json_write_key(w, "isFamilyFriendly");
		json_write_bool(w, true);
		json_write_end(w);
	}
	json_write_end(w);
	json_write_end(w);
}

/* ---- HTML pages --------------------------------------------------------------------------- */

static bool html_put(struct buf *out, const char *s, size_t n)
{
	return buf_append(out, s, n, SEARCH_ANSWER_MAX);
}

static bool html_text(struct buf *out, struct slice s)
{
	size_t run = 0;
	for (size_t i = 0; i < s.len; i++) {
		const char *esc = NULL;
		switch (s.ptr[i]) {
		case '&':
			esc = "&amp;";
			break;
		case '<':
			esc = "&lt;";
			break;
		case '>':
			esc = "&gt;";
			break;
		case '"':
			esc = "&quot;";
			break;
		case '\'':
			esc = "&#39;";
			break;
		}
		if (!esc) {
			run++;
			continue;
		}
		if (!html_put(out, s.ptr + i - run, run) || !html_put(out, esc, strlen(esc)))
			return false;
		run = 0;
	}
	return run == 0 || html_put(out, s.ptr + s.len - run, run);
}

static bool html_cstr(struct buf *out, const char *s)
{
	return html_put(out, s, strlen(s));
}

/* DuckDuckGo's html.duckduckgo.com/html: div.result > div.result__body > h2.result__title >
 * a.result__a, a.result__url, a.result__snippet — what its scrapers select. */
static bool duckduckgo(struct buf *out, const struct search_query *q, const struct searx_result *r,
		       unsigned n)
{
	bool ok = html_cstr(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>") &&
		  html_text(out, slice_make(q->text, q->asked_len)) &&
		  html_cstr(out, " at DuckDuckGo</title></head><body><div id=\"links\" "
				 "class=\"results\">\n");
	for (unsigned i = 0; ok && i < n; i++) {
		ok =
		    html_cstr(out, "<div class=\"result results_links results_links_deep "
				   "web-result \"><div class=\"links_main links_deep "
				   "result__body\"><h2 class=\"result__title\"><a rel=\"nofollow\" "
				   "class=\"result__a\" href=\"") &&
		    html_text(out, r[i].url) && html_cstr(out, "\">") &&
		    html_text(out, r[i].title) &&
		    html_cstr(out,
			      "</a></h2><div class=\"result__extras\"><div "
			      "class=\"result__extras__url\"><a class=\"result__url\" href=\"") &&
		    html_text(out, r[i].url) && html_cstr(out, "\">") &&
		    html_text(out, url_host(r[i].url)) &&
		    html_cstr(out, "</a></div></div><a class=\"result__snippet\" href=\"") &&
		    html_text(out, r[i].url) && html_cstr(out, "\">") &&
		    html_text(out, r[i].content) &&
		    html_cstr(out, "</a><div class=\"clear\"></div></div></div>\n");
	}
	if (ok && n == 0)
		ok = html_cstr(out, "<div class=\"no-results\">No results.</div>\n");
	return ok && html_cstr(out, "</div></body></html>\n");
}

/* Google's /search for clients without JavaScript: each result a div.g (the class older
 * scrapers look for, with an h3 title and a -webkit-line-clamp description) that is also
 * div.ezO2md (newer ones: span.CVA68e title, span.FrIlee description), its link /url?q=. */
static bool google_html(struct buf *out, const struct search_query *q, const struct searx_result *r,
			unsigned n)
{
	bool ok = html_cstr(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>") &&
		  html_text(out, slice_make(q->text, q->asked_len)) &&
		  html_cstr(out, " - Google Search</title></head><body><div id=\"main\">\n");
	for (unsigned i = 0; ok && i < n; i++) {
		char link[8192];
		size_t at = (size_t)snprintf(link, sizeof(link), "/url?q=");
		at = put_encoded(link, at, sizeof(link) - 8, r[i].url.ptr, r[i].url.len);
		memcpy(link + at, "&sa=U", 6);
		ok = html_cstr(out, "<div class=\"g ezO2md\"><a href=\"") &&
		     html_text(out, slice_from_cstr(link)) &&
		     html_cstr(out, "\"><h3><span class=\"CVA68e\">") &&
		     html_text(out, r[i].title) &&
		     html_cstr(out, "</span></h3></a><div style=\"-webkit-line-clamp:2\"><span "
				    "class=\"FrIlee\">") &&
		     html_text(out, r[i].content) && html_cstr(out, "</span></div></div>\n");
	}
	return ok && html_cstr(out, "</div></body></html>\n");
}

bool search_answer_format(const struct search_query *q, const struct searx_answer *a, unsigned skip,
			  unsigned took_ms, struct buf *out, const char **content_type)
{
	unsigned n = a->n_results > skip ? a->n_results - skip : 0;
	const struct searx_result *r = a->results + (a->n_results > skip ? skip : a->n_results);
	struct json_write w;

	if (n > q->count)
		n = q->count;
	if (q->api == SEARCH_DUCKDUCKGO || q->api == SEARCH_GOOGLE_HTML) {
		*content_type = "text/html; charset=utf-8";
		return q->api == SEARCH_DUCKDUCKGO ? duckduckgo(out, q, r, n)
						   : google_html(out, q, r, n);
	}
	*content_type = "application/json";
	json_write_init(&w, out, SEARCH_ANSWER_MAX);
	json_write_object(&w);
	switch (q->api) {
	case SEARCH_TAVILY:
		tavily(&w, q, r, n, took_ms);
		break;
	case SEARCH_BRAVE:
		brave(&w, q, r, n);
		break;
	case SEARCH_EXA:
		exa(&w, q, r, n);
		break;
	case SEARCH_SERPAPI:
		serpapi(&w, q, r, n, took_ms, a->number_of_results);
		break;
	case SEARCH_SERPER:
		serper(&w, q, r, n);
		break;
	case SEARCH_GOOGLE:
		google(&w, q, r, n, took_ms, a->number_of_results);
		break;
	case SEARCH_BING:
		bing(&w, q, r, n, a->number_of_results);
		break;
	default:
		break;
	}
	json_write_end(&w);
	return json_write_ok(&w);
}

/* ---- errors ------------------------------------------------------------------------------- */

static const char *google_status(unsigned status)
{
	switch (status) {
	case 400:
		return "INVALID_ARGUMENT";
	case 429:
		return "RESOURCE_EXHAUSTED";
	case 504:
		return "DEADLINE_EXCEEDED";
	default:
		return "UNAVAILABLE";
	}
}

static const char *brave_code(unsigned status)
{
	switch (status) {
	case 400:
		return "VALIDATION";
	case 429:
		return "RATE_LIMITED";
	default:
		return "UPSTREAM_ERROR";
	}
}

bool search_error_format(enum search_api api, unsigned status, const char *message, struct buf *out,
			 const char **content_type)
{
	struct json_write w;

	if (api == SEARCH_DUCKDUCKGO || api == SEARCH_GOOGLE_HTML) {
		*content_type = "text/html; charset=utf-8";
		return html_cstr(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"
				      "Search unavailable</title></head><body><p>") &&
		       html_text(out, slice_from_cstr(message)) &&
		       html_cstr(out, "</p></body></html>\n");
	}
	*content_type = "application/json";
	json_write_init(&w, out, SEARCH_ANSWER_MAX);
	json_write_object(&w);
	switch (api) {
	case SEARCH_TAVILY: /* {"detail": {"error": "..."}} */
		json_write_key(&w, "detail");
		json_write_object(&w);
		json_write_key(&w, "error");
		json_write_cstr(&w, message);
		json_write_end(&w);
		break;
	case SEARCH_BRAVE:
		json_write_key(&w, "type");
		json_write_cstr(&w, "ErrorResponse");
		json_write_key(&w, "error");
		json_write_object(&w);
		json_write_key(&w, "id");
		json_write_cstr(&w, "sluice");
		json_write_key(&w, "status");
		json_write_int(&w, status);
		json_write_key(&w, "code");
		json_write_cstr(&w, brave_code(status));
		json_write_key(&w, "detail");
		json_write_cstr(&w, message);
		json_write_end(&w);
		break;
	case SEARCH_EXA:
		json_write_key(&w, "requestId");
		json_write_cstr(&w, "sluice");
		json_write_key(&w, "error");
		json_write_cstr(&w, message);
		break;
	case SEARCH_SERPAPI:
		json_write_key(&w, "error");
		json_write_cstr(&w, message);
		break;
	case SEARCH_SERPER:
		json_write_key(&w, "message");
		json_write_cstr(&w, message);
		json_write_key(&w, "statusCode");
		json_write_int(&w, status);
		break;
	case SEARCH_GOOGLE:
		json_write_key(&w, "error");
		json_write_object(&w);
		json_write_key(&w, "code");
		json_write_int(&w, status);
		json_write_key(&w, "message");
		json_write_cstr(&w, message);
		json_write_key(&w, "errors");
		json_write_array(&w);
		json_write_object(&w);
		json_write_key(&w, "message");
		json_write_cstr(&w, message);
		json_write_key(&w, "domain");
		json_write_cstr(&w, "global");
		json_write_key(&w, "reason");
		json_write_cstr(&w, status == 429   ? "rateLimitExceeded"
				    : status == 400 ? "invalid"
						    : "backendError");
		json_write_end(&w);
		json_write_end(&w);
		json_write_key(&w, "status");
		json_write_cstr(&w, google_status(status));
		json_write_end(&w);
		break;
	case SEARCH_BING:
		json_write_key(&w, "_type");
		json_write_cstr(&w, "ErrorResponse");
		json_write_key(&w, "errors");
		json_write_array(&w);
		json_write_object(&w);
		json_write_key(&w, "code");
		json_write_cstr(&w, status == 429   ? "RateLimitExceeded"
				    : status == 400 ? "InvalidRequest"
						    : "ServerError");
		json_write_key(&w, "message");
		json_write_cstr(&w, message);
		json_write_end(&w);
		json_write_end(&w);
		break;
	default:
		break;
	}
	json_write_end(&w);
	return json_write_ok(&w);
}
