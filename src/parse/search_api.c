#include "parse/search_api.h"

#include <string.h>

struct search_api_spec {
	const char *name, *host, *host2; /* host2: a second spelling ("" none) */
	const char *method;		 /* "GET", "POST", or "" for either */
	const char *paths[3];		 /* exact paths; NULL ends */
};

static const struct search_api_spec specs[SEARCH_APIS] = {
    [SEARCH_TAVILY] = {"tavily", "api.tavily.com", "", "POST", {"/search"}},
    [SEARCH_BRAVE] = {"brave", "api.search.brave.com", "", "GET", {"/res/v1/web/search"}},
    [SEARCH_EXA] = {"exa", "api.exa.ai", "", "POST", {"/search"}},
    [SEARCH_SERPAPI] = {"serpapi", "serpapi.com", "", "GET", {"/search.json", "/search"}},
    [SEARCH_SERPER] = {"serper", "google.serper.dev", "", "POST", {"/search"}},
    [SEARCH_GOOGLE] = {"google",
		       "www.googleapis.com",
		       "customsearch.googleapis.com",
		       "GET",
		       {"/customsearch/v1"}},
    [SEARCH_BING] = {"bing", "api.bing.microsoft.com", "", "GET", {"/v7.0/search"}},
    [SEARCH_DUCKDUCKGO] = {"duckduckgo", "html.duckduckgo.com", "", "", {"/html", "/html/"}},
    [SEARCH_GOOGLE_HTML] = {"google_html", "www.google.com", "google.com", "GET", {"/search"}},
};

const char *search_api_name(enum search_api api)
{
	return api < SEARCH_APIS ? specs[api].name : "?";
}

bool search_api_from_name(struct slice name, enum search_api *out)
{
	for (unsigned i = 0; i < SEARCH_APIS; i++)
		if (slice_eq(name, slice_from_cstr(specs[i].name))) {
			*out = (enum search_api)i;
			return true;
		}
	return false;
}

static bool spec_host(const struct search_api_spec *s, struct slice host)
{
	return slice_eq(host, slice_from_cstr(s->host)) ||
	       (s->host2[0] && slice_eq(host, slice_from_cstr(s->host2)));
}

int search_api_match(unsigned enabled, struct slice host, struct slice method, struct slice path)
{
	for (unsigned i = 0; i < SEARCH_APIS; i++) {
		const struct search_api_spec *s = &specs[i];
		if (!(enabled & (1u << i)) || !spec_host(s, host))
			continue;
		if (s->method[0] && !slice_eq(method, slice_from_cstr(s->method)))
			continue;
		if (!s->method[0] && !slice_eq(method, SLICE_LIT("GET")) &&
		    !slice_eq(method, SLICE_LIT("POST")))
			continue;
		for (unsigned k = 0; k < 3 && s->paths[k]; k++)
			if (slice_eq(path, slice_from_cstr(s->paths[k])))
				return (int)i;
	}
	return -1;
}

bool search_api_host(unsigned enabled, struct slice host)
{
	for (unsigned i = 0; i < SEARCH_APIS; i++)
		if ((enabled & (1u << i)) && spec_host(&specs[i], host))
			return true;
	return false;
}
