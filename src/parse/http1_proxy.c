#include "parse/http1_proxy.h"

#include <string.h>

bool http1_proxy_via_names(const struct http1_request *req, struct slice pseudonym)
{
	if (pseudonym.len == 0)
		return false;
	for (unsigned i = 0; i < req->n_headers; i++) {
		struct slice v = req->headers[i].value;
		if (!slice_eq_cstr_nocase(req->headers[i].name, "via") || v.len < pseudonym.len)
			continue;
		for (size_t at = 0; at + pseudonym.len <= v.len; at++)
			if (memcmp(v.ptr + at, pseudonym.ptr, pseudonym.len) == 0)
				return true;
	}
	return false;
}

bool http1_proxy_host_agrees(const struct http1_request *req, const struct authority *dest)
{
	struct authority host;
	const char *detail;

	if (req->host_index < 0)
		return req->version_minor == 0;
	if (authority_parse(req->headers[req->host_index].value, dest->port, &host, &detail) != 0)
		return false;
	return host.kind == dest->kind && host.port == dest->port &&
	       host.name_len == dest->name_len && memcmp(host.name, dest->name, host.name_len) == 0;
}

static bool lists_upgrade(const struct slice *tokens, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (slice_eq_cstr_nocase(tokens[i], "upgrade"))
			return true;
	return false;
}

/* Exactly one Upgrade field, whose value is "websocket". */
static bool upgrades_to_websocket(const struct http1_header *h, unsigned n)
{
	int found = -1;
	for (unsigned i = 0; i < n; i++) {
		if (!slice_eq_cstr_nocase(h[i].name, "upgrade"))
			continue;
		if (found >= 0)
			return false;
		found = (int)i;
	}
	return found >= 0 && slice_eq_cstr_nocase(slice_trim_ows(h[found].value), "websocket");
}

bool http1_proxy_websocket_request(const struct http1_request *req)
{
	return slice_eq_cstr_nocase(req->method, "GET") && req->version_minor == 1 &&
	       req->framing == HTTP1_BODY_NONE &&
	       lists_upgrade(req->connection_tokens, req->n_connection_tokens) &&
	       upgrades_to_websocket(req->headers, req->n_headers);
}

bool http1_proxy_websocket_accepted(const struct http1_response *resp)
{
	return resp->status == 101 &&
	       lists_upgrade(resp->connection_tokens, resp->n_connection_tokens) &&
	       upgrades_to_websocket(resp->headers, resp->n_headers);
}
