#include "emit/http_head.h"

#include <stdio.h>
#include <string.h>

#include "parse/authority.h"

static bool head_append_str(struct buf *out, size_t cap, const char *s)
{
	return buf_append(out, s, strlen(s), cap);
}

/* Where `from` starts in s at or after i, or s.len. */
static size_t head_find(struct slice s, size_t i, struct slice from)
{
	for (; from.len > 0 && i + from.len <= s.len; i++)
		if (memcmp(s.ptr + i, from.ptr, from.len) == 0)
			return i;
	return s.len;
}

/* Appends s with every `from` in it written as `to`. */
static bool head_append_swapped(struct buf *out, size_t cap, struct slice s, struct slice from,
				struct slice to)
{
	size_t i = 0;
	for (size_t at; (at = head_find(s, i, from)) < s.len; i = at + from.len)
		if (!buf_append(out, s.ptr + i, at - i, cap) ||
		    !buf_append(out, to.ptr, to.len, cap))
			return false;
	return buf_append(out, s.ptr + i, s.len - i, cap);
}

/* The swap for field i, if any. */
static const struct http_head_swap *head_swap_for(const struct http_head_swap *swaps,
						  unsigned n_swaps, int i)
{
	for (unsigned k = 0; k < n_swaps; k++)
		if (swaps[k].header == i || swaps[k].header == HTTP_HEAD_SWAP_ALL)
			return &swaps[k];
	return NULL;
}

/* A field value with the swaps that apply to field i. Every HTTP_HEAD_SWAP_ALL one applies
 * (a response may echo more than one secret); a request field has one of its own at most. */
static bool head_append_value(struct buf *out, size_t cap, struct slice v,
			      const struct http_head_swap *swaps, unsigned n_swaps, int i)
{
	static _Thread_local char scratch[2][16384];
	unsigned turn = 0;

	for (unsigned k = 0; k < n_swaps; k++) {
		const struct http_head_swap *s = &swaps[k];
		if ((s->header != i && s->header != HTTP_HEAD_SWAP_ALL) ||
		    head_find(v, 0, s->from) == v.len)
			continue;
		struct buf tmp = {.data = scratch[turn], .cap = sizeof(scratch[turn])};
		if (!head_append_swapped(&tmp, sizeof(scratch[turn]), v, s->from, s->to))
			return false;
		v = slice_make(scratch[turn], buf_len(&tmp));
		turn ^= 1;
	}
	return buf_append(out, v.ptr, v.len, cap);
}

/* Appends "Name: value\r\n" for each header a proxy forwards (RFC 9110 §7.6.1), leaving out
 * the header at index `skip` and, on a route, the headers the route removes or sets; swaps
 * put credentials in (or take them out). */
static bool head_copy_headers(struct buf *out, size_t cap, const struct http1_header *h, unsigned n,
			      const struct slice *tokens, unsigned n_tokens, int skip,
			      const struct route *route, const struct http_head_swap *swaps,
			      unsigned n_swaps)
{
	for (unsigned i = 0; i < n; i++) {
		if ((int)i == skip || http1_header_is_hop_by_hop(h[i].name, tokens, n_tokens) ||
		    (route && route_drops_header(route, h[i].name)))
			continue;
		if (!buf_append(out, h[i].name.ptr, h[i].name.len, cap) ||
		    !buf_append(out, ": ", 2, cap))
			return false;
		if (!(swaps && head_swap_for(swaps, n_swaps, (int)i)
			  ? head_append_value(out, cap, h[i].value, swaps, n_swaps, (int)i)
			  : buf_append(out, h[i].value.ptr, h[i].value.len, cap)) ||
		    !buf_append(out, "\r\n", 2, cap))
			return false;
	}
	return true;
}

/* The target with its query parameters swapped: "name=value" only where a parameter starts
 * (after '?' or '&') and ends (at '&' or the end). */
static bool head_swap_query(struct slice path, const struct http_head_swap *swaps, unsigned n_swaps,
			    char *out, size_t size, struct slice *result)
{
	struct buf b = {.data = out, .cap = (uint32_t)size};
	const char *q = memchr(path.ptr, '?', path.len);
	bool any = false;

	if (!q)
		return true;
	size_t i = (size_t)(q - path.ptr) + 1;
	if (!buf_append(&b, path.ptr, i, size))
		return false;
	while (i <= path.len) {
		const char *amp = memchr(path.ptr + i, '&', path.len - i);
		size_t end = amp ? (size_t)(amp - path.ptr) : path.len;
		struct slice param = slice_make(path.ptr + i, end - i);
		struct slice put = param;
		for (unsigned k = 0; k < n_swaps; k++)
			if (swaps[k].header == HTTP_HEAD_SWAP_QUERY &&
			    slice_eq(param, swaps[k].from)) {
				put = swaps[k].to;
				any = true;
			}
		if (!buf_append(&b, put.ptr, put.len, size) ||
		    (amp && !buf_append(&b, "&", 1, size)))
			return false;
		if (!amp)
			break;
		i = end + 1;
	}
	if (any)
		*result = slice_make(out, buf_len(&b));
	return true;
}

/* Appends the route's header rules: set values (resolved secrets included) replace whatever
 * the agent sent, which head_copy_headers dropped. */
static bool head_append_route_headers(struct buf *out, size_t cap, const struct route *route)
{
	for (unsigned i = 0; i < route->n_set_headers; i++) {
		const struct route_header_set *h = &route->set_headers[i];
		if (!h->ready)
			continue;
		if (!head_append_str(out, cap, h->name) || !head_append_str(out, cap, ": ") ||
		    !head_append_str(out, cap, h->value) || !head_append_str(out, cap, "\r\n"))
			return false;
	}
	return true;
}

/* The decimal digits of v (at most 65535) at out; returns how many. */
static size_t head_u16(char *out, unsigned v)
{
	char digits[5];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < sizeof(digits));
	for (size_t i = 0; i < n; i++)
		out[i] = digits[n - 1 - i];
	return n;
}

/* The Host value: the name (an IPv6 literal in brackets) and ":port" unless port is 0. Written
 * by hand: snprintf cost a tenth of the head's assembly, on every request. */
static void head_host(char *out, size_t size, const char *name, bool v6, unsigned port)
{
	size_t len = strlen(name), n = 0;

	if (len > size - 9) /* room for brackets, ":65535" and the NUL */
		len = size - 9;
	if (v6)
		out[n++] = '[';
	memcpy(out + n, name, len);
	n += len;
	if (v6)
		out[n++] = ']';
	if (port) {
		out[n++] = ':';
		n += head_u16(out + n, port);
	}
	out[n] = '\0';
}

bool http_head_format_request(const struct http_head_request *h, struct buf *out, size_t cap)
{
	const struct http1_request *req = h->req;
	const struct route *route = h->route;
	char host[AUTHORITY_NAME_MAX + 16], rewritten[ROUTE_PREFIX_MAX * 2 + 8192];
	struct slice path = h->path;
	bool v6 = strchr(h->host, ':') != NULL;

	head_host(host, sizeof(host), h->host, v6, h->port == h->default_port ? 0 : h->port);
	if (route) {
		int n = route_rewrite_path(route, path, rewritten, sizeof(rewritten));
		if (n < 0)
			return false;
		path = slice_make(rewritten, (size_t)n);
	}
	static _Thread_local char with_query[ROUTE_PREFIX_MAX * 2 + 8192 + 16384];
	if (h->n_swaps &&
	    !head_swap_query(path, h->swaps, h->n_swaps, with_query, sizeof(with_query), &path))
		return false;
	/* An HTTP/1.0 client cannot read chunked responses: asking the upstream in 1.0 makes it
	 * delimit the body by length or close instead (RFC 9112 §6.1), with no re-framing. */
	const char *version =
	    req->version_minor == 0 ? " HTTP/1.0\r\nHost: " : " HTTP/1.1\r\nHost: ";
	/* "http://h" and "http://h?q" mean path "/" (RFC 3986 §6.2.3). */
	const char *lead = path.len == 0 || path.ptr[0] == '?' ? " /" : " ";
	if (!buf_append(out, req->method.ptr, req->method.len, cap) ||
	    !head_append_str(out, cap, lead) || !buf_append(out, path.ptr, path.len, cap) ||
	    !head_append_str(out, cap, version) || !head_append_str(out, cap, host) ||
	    !head_append_str(out, cap, "\r\n"))
		return false;
	if (!head_copy_headers(out, cap, req->headers, req->n_headers, req->connection_tokens,
			       req->n_connection_tokens, req->host_index, route, h->swaps,
			       h->n_swaps))
		return false;
	return (!route || head_append_route_headers(out, cap, route)) &&
	       (req->framing != HTTP1_BODY_CHUNKED ||
		head_append_str(out, cap, "Transfer-Encoding: chunked\r\n")) &&
	       (!h->websocket ||
		head_append_str(out, cap, "Connection: Upgrade\r\nUpgrade: websocket\r\n")) &&
	       head_append_str(out, cap, "Via: 1.1 ") && head_append_str(out, cap, h->via) &&
	       head_append_str(out, cap, "\r\n\r\n");
}

/* "HTTP/1.1 NNN reason\r\n" and the end-to-end headers; by hand: snprintf cost as much as the
 * rest of the head's assembly. */
static bool head_status_and_headers(const struct http1_response *resp,
				    const struct http_head_swap *swaps, unsigned n_swaps,
				    struct buf *out, size_t cap)
{
	char line[64];

	memcpy(line, "HTTP/1.1 ", 9);
	size_t n =
	    9 + head_u16(line + 9,
			 (unsigned)(resp->status > 0 && resp->status < 1000 ? resp->status : 0));
	line[n++] = ' ';
	line[n] = '\0';
	return head_append_str(out, cap, line) &&
	       buf_append(out, resp->reason.ptr, resp->reason.len, cap) &&
	       head_append_str(out, cap, "\r\n") &&
	       head_copy_headers(out, cap, resp->headers, resp->n_headers, resp->connection_tokens,
				 resp->n_connection_tokens, -1, NULL, swaps, n_swaps);
}

bool http_head_format_switch(const struct http1_response *resp, const struct http_head_swap *swaps,
			     unsigned n_swaps, struct buf *out, size_t cap)
{
	return head_status_and_headers(resp, swaps, n_swaps, out, cap) &&
	       head_append_str(out, cap, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
}

bool http_head_format_response(const struct http1_response *resp, bool keep_alive, int client_minor,
			       const struct http_head_swap *swaps, unsigned n_swaps,
			       struct buf *out, size_t cap)
{
	if (!head_status_and_headers(resp, swaps, n_swaps, out, cap))
		return false;
	if (resp->status >= 200) {
		if (resp->framing == HTTP1_BODY_CHUNKED &&
		    !head_append_str(out, cap, "Transfer-Encoding: chunked\r\n"))
			return false;
		if (!keep_alive && !head_append_str(out, cap, "Connection: close\r\n"))
			return false;
		if (keep_alive && client_minor == 0 &&
		    !head_append_str(out, cap, "Connection: keep-alive\r\n"))
			return false;
	}
	return head_append_str(out, cap, "\r\n");
}
