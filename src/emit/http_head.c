#include "emit/http_head.h"

#include <stdio.h>
#include <string.h>

#include "parse/authority.h"

static bool head_append_str(struct buf *out, size_t cap, const char *s)
{
	return buf_append(out, s, strlen(s), cap);
}

/* Appends "Name: value\r\n" for each header a proxy forwards (RFC 9110 §7.6.1), leaving out
 * the header at index `skip` and, on a route, the headers the route removes or sets. */
static bool head_copy_headers(struct buf *out, size_t cap, const struct http1_header *h, unsigned n,
			      const struct slice *tokens, unsigned n_tokens, int skip,
			      const struct route *route)
{
	for (unsigned i = 0; i < n; i++) {
		if ((int)i == skip || http1_header_is_hop_by_hop(h[i].name, tokens, n_tokens) ||
		    (route && route_drops_header(route, h[i].name)))
			continue;
		if (!buf_append(out, h[i].name.ptr, h[i].name.len, cap) ||
		    !buf_append(out, ": ", 2, cap) ||
		    !buf_append(out, h[i].value.ptr, h[i].value.len, cap) ||
		    !buf_append(out, "\r\n", 2, cap))
			return false;
	}
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
			       req->n_connection_tokens, req->host_index, route))
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
static bool head_status_and_headers(const struct http1_response *resp, struct buf *out, size_t cap)
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
				 resp->n_connection_tokens, -1, NULL);
}

bool http_head_format_switch(const struct http1_response *resp, struct buf *out, size_t cap)
{
	return head_status_and_headers(resp, out, cap) &&
	       head_append_str(out, cap, "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
}

bool http_head_format_response(const struct http1_response *resp, bool keep_alive, int client_minor,
			       struct buf *out, size_t cap)
{
	if (!head_status_and_headers(resp, out, cap))
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
