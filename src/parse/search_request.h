/* search_request: what a search API's client asks, read in that API's own terms — a query
 * string (Brave, SerpAPI, Google, Bing, the HTML pages), a JSON body (Tavily, Exa, Serper) or
 * a form (DuckDuckGo's POST) — into one query for SearXNG: the text (with the domain filters
 * as site: terms), how many results and from where, time range, safe search, language,
 * category. The client's API key is not read: whatever it sent stays at sluice. Pure: no I/O;
 * the caller has the whole body (io/search_flow). */
#ifndef SLUICE_PARSE_SEARCH_REQUEST_H
#define SLUICE_PARSE_SEARCH_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "parse/search_api.h"

#define SEARCH_QUERY_MAX 1024	      /* the text, site: terms and all */
#define SEARCH_REQUEST_BODY_MAX 65536 /* a JSON or form body read whole */
#define SEARCH_COUNT_MAX 50	      /* results one answer carries, whatever is asked */

enum search_time {
	SEARCH_TIME_ANY,
	SEARCH_TIME_DAY,
	SEARCH_TIME_WEEK,
	SEARCH_TIME_MONTH,
	SEARCH_TIME_YEAR
};

struct search_query {
	enum search_api api;
	char text[SEARCH_QUERY_MAX + 1]; /* as asked, then " site:a.com -site:b.com" */
	size_t text_len;
	size_t asked_len; /* of text, what the client asked (the log's query) */
	unsigned count;	  /* results wanted: the API's default, at most SEARCH_COUNT_MAX */
	unsigned offset;  /* results to skip before the first */
	enum search_time time;
	int safesearch;	   /* -1: SearXNG's default; 0 off, 1 moderate, 2 strict */
	char language[16]; /* "" or a tag like "en", "de-CH" */
	bool news;	   /* the news category rather than general */
};

/* Reads a request of api: query is the target's query string (after '?', "" when none), body
 * the whole request body and content_type its Content-Type (for the form of DuckDuckGo's POST).
 * False with why (for the API's 400: "query is required") when it cannot be answered. */
bool search_request_parse(enum search_api api, struct slice query, struct slice body,
			  struct slice content_type, struct search_query *out, char *why,
			  size_t why_size);

/* The value of name in a query string or form (a=1&b=2), percent-decoded with '+' a space, into
 * out (NUL-terminated, cut to out_size - 1). False when it is not there. */
bool search_form_value(struct slice form, const char *name, char *out, size_t out_size,
		       size_t *len);

#endif
