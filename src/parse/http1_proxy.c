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
