/* search_answer: what sluice sends for a search it answers from SearXNG — the SearXNG request
 * target for a query, and the answer in the asking API's own schema (field names and types its
 * SDKs parse: Tavily results[{title,url,content,score}], Brave web.results[{title,url,
 * description}], SerpAPI organic_results and Serper organic [{position,title,link,snippet}],
 * Exa results[{id,url,title,text}], Google items[{title,link,displayLink,snippet}], Bing
 * webPages.value[{name,url,snippet}]), or a results page in the HTML that scrapers of
 * DuckDuckGo and Google read; and each API's error shape. Pure: writes into a buffer. */
#ifndef SLUICE_EMIT_SEARCH_ANSWER_H
#define SLUICE_EMIT_SEARCH_ANSWER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "parse/search_request.h"
#include "parse/searx_answer.h"

#define SEARCH_ANSWER_MAX (1024 * 1024) /* an answer body, at most */
#define SEARCH_TARGET_MAX (SEARCH_QUERY_MAX * 3 + 256)

/* The path and query of the SearXNG request for q: base (the route's upstream path, "" or
 * "/searx") + "/search?q=...&format=json&pageno=N[&time_range=..][&safesearch=..]
 * [&language=..][&categories=news]". The length, or 0 when it does not fit. */
size_t search_searx_target(const struct search_query *q, const char *base, char *out, size_t size);

/* The answer body for q from SearXNG's answer a (at most q->count results, from the page's
 * q->offset % per-page), appended to out; *content_type names it. took_ms: SearXNG's time,
 * for the fields that report one. False when it does not fit. */
bool search_answer_format(const struct search_query *q, const struct searx_answer *a, unsigned skip,
			  unsigned took_ms, struct buf *out, const char **content_type);

/* The API's error body for an HTTP status (400, 429, 502, 504) and a message, appended to out;
 * *content_type names it. */
bool search_error_format(enum search_api api, unsigned status, const char *message, struct buf *out,
			 const char **content_type);

#endif
