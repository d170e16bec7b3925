/* search_flow: a search API's request answered from SearXNG (search: in the configuration).
 * http_flow hands over a request it judged to be one (its head read and allowed); this reads
 * the body whole, reads the query in the API's terms (parse/search_request), asks SearXNG
 * through the search route with a request of its own — the client's key and headers stay here
 * — and answers in the API's schema (emit/search_answer) with sluice's own reply, so the
 * connection goes on as after any reply. Per agent a rate (search.rate) and per worker a cache
 * (search.cache_ttl). SearXNG's failures become the API's error shape with Proxy-Status. The
 * request's state is c->req.search; while it is set, http_flow passes its events here. */
#ifndef SLUICE_IO_SEARCH_FLOW_H
#define SLUICE_IO_SEARCH_FLOW_H

#include <stdbool.h>

#include "base/slice.h"
#include "parse/http1.h"
#include "parse/search_api.h"
#include "policy/reason.h"

struct conn;
struct search_state;

/* The request in c (head req, already consumed from cin; target its path and query) is a
 * search of api: takes it over. */
void search_flow_begin(struct conn *c, const struct http1_request *req, struct slice target,
		       enum search_api api);
void search_flow_on_client_readable(struct conn *c);
void search_flow_on_upstream_ready(struct conn *c);
void search_flow_on_upstream_readable(struct conn *c);
void search_flow_on_upstream_writable(struct conn *c);
/* The upstream could not be had, or a timer ran out: the API's error. */
void search_flow_fail(struct conn *c, enum reason why, const char *detail);
void search_flow_free(struct search_state *st);

#endif
