/* search_api: the search APIs sluice answers from SearXNG (search: in the configuration), each
 * known by the host and path its clients call — Tavily, Brave, Exa, SerpAPI, Serper, Google
 * Programmable Search, Bing v7, and the HTML result pages of DuckDuckGo and Google that
 * scrapers read. Pure data and matching: what a request is, not what to do with it
 * (parse/search_request reads it, emit/search_answer writes the answer, policy/search says
 * who may). */
#ifndef SLUICE_PARSE_SEARCH_API_H
#define SLUICE_PARSE_SEARCH_API_H

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"

enum search_api {
	SEARCH_TAVILY,
	SEARCH_BRAVE,
	SEARCH_EXA,
	SEARCH_SERPAPI,
	SEARCH_SERPER,
	SEARCH_GOOGLE,
	SEARCH_BING,
	SEARCH_DUCKDUCKGO,  /* html.duckduckgo.com/html: the HTML page */
	SEARCH_GOOGLE_HTML, /* www.google.com/search: the HTML page */
	SEARCH_APIS
};

#define SEARCH_APIS_ALL ((1u << SEARCH_APIS) - 1)

/* "tavily", "brave", "exa", "serpapi", "serper", "google", "bing", "duckduckgo",
 * "google_html": the names of search.apis and of the log's search_api field. */
const char *search_api_name(enum search_api api);
/* The API of that name; false when there is none. */
bool search_api_from_name(struct slice name, enum search_api *out);

/* The API a request is — host (normalised, no port), method and path (no query) — among those
 * in `enabled` (a mask of 1 << api), or -1. */
int search_api_match(unsigned enabled, struct slice host, struct slice method, struct slice path);
/* Whether host is the host of one of the enabled APIs (a CONNECT to it is answered by sluice,
 * so intercepted, never connected to). */
bool search_api_host(unsigned enabled, struct slice host);

#endif
