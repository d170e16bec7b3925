#include "policy/route.h"

#include <string.h>

const struct route *route_find(const struct route *routes, unsigned n, const struct authority *dest)
{
	if (dest->kind != HOST_NAME)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (strcmp(routes[i].host, dest->name) == 0)
			return &routes[i];
	return NULL;
}

bool route_allows_agent(const struct route *r, const char *agent_name)
{
	if (r->n_agents == 0)
		return true;
	for (unsigned i = 0; i < r->n_agents; i++)
		if (strcmp(r->agents[i], agent_name) == 0)
			return true;
	return false;
}

static bool out_add(char *out, size_t out_size, size_t *len, const char *p, size_t n)
{
	if (*len + n >= out_size)
		return false;
	memcpy(out + *len, p, n);
	*len += n;
	out[*len] = '\0';
	return true;
}

int route_rewrite_path(const struct route *r, struct slice path, char *out, size_t out_size)
{
	size_t len = 0, from_len = strlen(r->rewrite_from);

	if (out_size == 0)
		return -1;
	out[0] = '\0';
	if (!out_add(out, out_size, &len, r->upstream_base, strlen(r->upstream_base)))
		return -1;
	if (path.len == 0 || path.ptr[0] == '?') {
		/* "http://h" and "http://h?q" have the path "/" (RFC 3986 §6.2.3). */
		if (!out_add(out, out_size, &len, "/", 1))
			return -1;
	} else if (from_len > 0 && path.len >= from_len &&
		   memcmp(path.ptr, r->rewrite_from, from_len) == 0) {
		if (!out_add(out, out_size, &len, r->rewrite_to, strlen(r->rewrite_to)))
			return -1;
		path.ptr += from_len;
		path.len -= from_len;
		/* "/api/" → "/" must not produce "//x" nor drop the separator of "/apix". */
		if (len > 0 && out[len - 1] == '/' && path.len > 0 && path.ptr[0] == '/') {
			path.ptr++;
			path.len--;
		}
	}
	if (!out_add(out, out_size, &len, path.ptr, path.len))
		return -1;
	/* The result must be origin-form: judged on the bytes, not as a C string (a path that
	 * began with a NUL byte once passed for an empty result). */
	if (len == 0 || out[0] != '/')
		return -1;
	return (int)len;
}

bool route_drops_header(const struct route *r, struct slice name)
{
	for (unsigned i = 0; i < r->n_remove_headers; i++)
		if (slice_eq_cstr_nocase(name, r->remove_headers[i]))
			return true;
	for (unsigned i = 0; i < r->n_set_headers; i++)
		if (slice_eq_cstr_nocase(name, r->set_headers[i].name))
			return true;
	return false;
}
