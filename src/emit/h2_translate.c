#include "emit/h2_translate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void h2_request_head_init(struct h2_request_head *h, struct buf_cache *cache, size_t max)
{
	memset(h, 0, sizeof(*h));
	buf_init(&h->path, cache);
	buf_init(&h->fields, cache);
	buf_init(&h->cookie, cache);
	h->max = max;
}

void h2_request_head_fini(struct h2_request_head *h)
{
	buf_release(&h->path);
	buf_release(&h->fields);
	buf_release(&h->cookie);
}

static void mark_bad(struct h2_request_head *h, const char *detail)
{
	if (!h->bad)
		h->detail = detail;
	h->bad = true;
}

/* No byte that ends a line or a string in HTTP/1.1: it would split the field, or the head. */
static bool bytes_ok(struct slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] == '\r' || s.ptr[i] == '\n' || s.ptr[i] == '\0')
			return false;
	return true;
}

static bool name_ok(struct slice s)
{
	if (s.len == 0 || !bytes_ok(s))
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] == ':' || s.ptr[i] == ' ' || s.ptr[i] == '\t')
			return false;
	return true;
}

static size_t held(const struct h2_request_head *h)
{
	return buf_len(&h->path) + buf_len(&h->fields) + buf_len(&h->cookie);
}

/* Appends the parts to b, counted against h->max. */
static enum h2_field_result add(struct h2_request_head *h, struct buf *b, struct slice a,
				const char *sep, struct slice v, const char *end)
{
	size_t seplen = strlen(sep), endlen = strlen(end);
	size_t n = a.len + seplen + v.len + endlen;
	if (held(h) + n > h->max)
		return H2_FIELD_TOO_LARGE;
	size_t want = buf_len(b) + n;
	if (!buf_append(b, a.ptr, a.len, want) || !buf_append(b, sep, seplen, want) ||
	    !buf_append(b, v.ptr, v.len, want) || !buf_append(b, end, endlen, want))
		return H2_FIELD_TOO_LARGE;
	return H2_FIELD_OK;
}

static bool copy_small(char *dst, size_t cap, struct slice v)
{
	if (v.len >= cap)
		return false;
	memcpy(dst, v.ptr, v.len);
	dst[v.len] = '\0';
	return true;
}

static enum h2_field_result pseudo_field(struct h2_request_head *h, struct slice name,
					 struct slice value)
{
	if (slice_eq_cstr_nocase(name, ":method")) {
		if (h->has_method || !copy_small(h->method, sizeof(h->method), value))
			mark_bad(h, "bad :method");
		h->has_method = true;
	} else if (slice_eq_cstr_nocase(name, ":authority")) {
		if (h->has_authority || !copy_small(h->authority, sizeof(h->authority), value))
			mark_bad(h, "bad :authority");
		h->has_authority = true;
	} else if (slice_eq_cstr_nocase(name, ":scheme")) {
		if (h->has_scheme)
			mark_bad(h, "two :scheme fields");
		h->has_scheme = true;
		h->scheme_https = slice_eq_cstr_nocase(value, "https");
	} else if (slice_eq_cstr_nocase(name, ":path")) {
		if (buf_len(&h->path) > 0 || value.len == 0)
			mark_bad(h, "bad :path");
		return add(h, &h->path, SLICE_LIT(""), "", value, "");
	} else {
		mark_bad(h, "unknown pseudo-field");
	}
	return H2_FIELD_OK;
}

enum h2_field_result h2_request_head_field(struct h2_request_head *h, struct slice name,
					   struct slice value)
{
	if (name.len > 0 && name.ptr[0] == ':') {
		if (!bytes_ok(value))
			mark_bad(h, "control byte in a pseudo-field");
		return pseudo_field(h, name, value);
	}
	if (!name_ok(name) || !bytes_ok(value)) {
		mark_bad(h, "a field name or value HTTP/1.1 cannot carry");
		return H2_FIELD_OK;
	}
	/* RFC 9113 §8.2.3: the crumbs of Cookie are one field in HTTP/1.1. */
	if (slice_eq_cstr_nocase(name, "cookie")) {
		bool first = buf_len(&h->cookie) == 0;
		if (!first)
			h->cookie.end -= 2; /* the next crumb goes on the same line */
		return add(h, &h->cookie, first ? SLICE_LIT("cookie") : SLICE_LIT(""),
			   first ? ": " : "; ", value, "\r\n");
	}
	if (slice_eq_cstr_nocase(name, "te"))
		return H2_FIELD_OK;
	if (slice_eq_cstr_nocase(name, "host")) {
		if (h->has_host || !copy_small(h->host, sizeof(h->host), value))
			mark_bad(h, "bad host field");
		h->has_host = true;
		return H2_FIELD_OK;
	}
	if (slice_eq_cstr_nocase(name, "content-length"))
		h->has_length = true;
	return add(h, &h->fields, name, ": ", value, "\r\n");
}

bool h2_request_head_write(struct h2_request_head *h, bool end_stream, struct buf *out,
			   bool *chunked)
{
	bool connect = strcmp(h->method, "CONNECT") == 0;
	size_t max = buf_len(out) + h->max + 2 * H2_TRANSLATE_AUTHORITY_MAX + 128;

	*chunked = false;
	if (!h->has_method)
		mark_bad(h, "no :method");
	/* Inside TLS the scheme is https; a CONNECT has none (http_flow refuses it in a tunnel,
	 * with the log). */
	else if (!connect && (!h->scheme_https || buf_len(&h->path) == 0))
		mark_bad(h, "missing :path, or :scheme is not https");
	if (h->bad)
		return false;
	const char *target = connect ? h->authority : buf_head(&h->path);
	size_t target_len = connect ? strlen(h->authority) : buf_len(&h->path);
	bool ok = buf_append(out, h->method, strlen(h->method), max) &&
		  buf_append(out, " ", 1, max) && buf_append(out, target, target_len, max) &&
		  buf_append(out, " HTTP/1.1\r\n", 11, max);
	/* A host field that differs from :authority makes two Host lines, which http_flow
	 * refuses (RFC 9113 §8.3.1 lets them differ; a proxy that picked one would be fooled). */
	if (h->has_authority)
		ok = ok && buf_append(out, "host: ", 6, max) &&
		     buf_append(out, h->authority, strlen(h->authority), max) &&
		     buf_append(out, "\r\n", 2, max);
	if (h->has_host && (!h->has_authority || strcasecmp(h->host, h->authority) != 0))
		ok = ok && buf_append(out, "host: ", 6, max) &&
		     buf_append(out, h->host, strlen(h->host), max) &&
		     buf_append(out, "\r\n", 2, max);
	ok = ok && buf_append(out, buf_head(&h->fields), buf_len(&h->fields), max) &&
	     buf_append(out, buf_head(&h->cookie), buf_len(&h->cookie), max);
	if (!end_stream && !h->has_length) {
		ok = ok && buf_append(out, "transfer-encoding: chunked\r\n", 28, max);
		*chunked = true;
	}
	ok = ok && buf_append(out, "connection: close\r\n\r\n", 21, max);
	if (!ok)
		h->detail = "the head does not fit";
	return ok;
}

size_t h2_response_fields(const struct http1_response *resp, char status[4],
			  char names[][H2_TRANSLATE_NAME_MAX], struct h2_field *out)
{
	size_t n = 0;

	snprintf(status, 4, "%03d", (resp->status % 1000 + 1000) % 1000);
	out[n++] = (struct h2_field){SLICE_LIT(":status"), slice_make(status, 3)};
	/* HTTP/2 names are lower case; the connection-specific fields of HTTP/1.1 have no place
	 * in it (RFC 9113 §8.2.2). */
	for (unsigned i = 0; i < resp->n_headers && i < HTTP1_MAX_HEADERS_CAP; i++) {
		const struct http1_header *f = &resp->headers[i];
		if (f->name.len == 0 || f->name.len >= H2_TRANSLATE_NAME_MAX ||
		    http1_header_is_hop_by_hop(f->name, resp->connection_tokens,
					       resp->n_connection_tokens))
			continue;
		for (size_t k = 0; k < f->name.len; k++)
			names[i][k] = slice_ascii_lower(f->name.ptr[k]);
		out[n++] = (struct h2_field){slice_make(names[i], f->name.len), f->value};
	}
	return n;
}

/* ---- toward an upstream that speaks HTTP/2 ------------------------------------------------ */

static struct h2_field lowered(struct slice name, struct slice value, char **lower)
{
	for (size_t k = 0; k < name.len; k++)
		(*lower)[k] = slice_ascii_lower(name.ptr[k]);
	struct h2_field f = {slice_make(*lower, name.len), value};
	*lower += name.len;
	return f;
}

size_t h2_upstream_request_fields(const struct http1_request *req, char *lower,
				  struct h2_field *out)
{
	size_t n = 0;

	if (req->host_index < 0 || req->target.len == 0 || req->target.ptr[0] != '/')
		return 0;
	out[n++] = (struct h2_field){SLICE_LIT(":method"), req->method};
	out[n++] = (struct h2_field){SLICE_LIT(":scheme"), SLICE_LIT("https")};
	out[n++] = (struct h2_field){SLICE_LIT(":authority"), req->headers[req->host_index].value};
	out[n++] = (struct h2_field){SLICE_LIT(":path"), req->target};
	for (unsigned i = 0; i < req->n_headers && i < HTTP1_MAX_HEADERS_CAP; i++) {
		const struct http1_header *f = &req->headers[i];
		/* Expect: the body is on its way already (h2_flow reads it at once). */
		if ((int)i == req->host_index || slice_eq_cstr_nocase(f->name, "expect") ||
		    http1_header_is_hop_by_hop(f->name, req->connection_tokens,
					       req->n_connection_tokens))
			continue;
		out[n++] = lowered(f->name, f->value, &lower);
	}
	out[n++] = (struct h2_field){SLICE_LIT("te"), SLICE_LIT("trailers")};
	return n;
}

void h2_response_head_init(struct h2_response_head *h, struct buf_cache *cache, size_t max)
{
	memset(h, 0, sizeof(*h));
	buf_init(&h->fields, cache);
	h->max = max;
}

void h2_response_head_fini(struct h2_response_head *h)
{
	buf_release(&h->fields);
}

static void response_bad(struct h2_response_head *h, const char *detail)
{
	if (!h->bad)
		h->detail = detail;
	h->bad = true;
}

/* RFC 9113 §8.2.2: fields that say how one connection is used. */
static bool connection_specific(struct slice name)
{
	static const char *const names[] = {"connection", "keep-alive", "proxy-connection",
					    "transfer-encoding", "upgrade"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (slice_eq_cstr_nocase(name, names[i]))
			return true;
	return false;
}

enum h2_field_result h2_response_head_field(struct h2_response_head *h, struct slice name,
					    struct slice value)
{
	if (name.len > 0 && name.ptr[0] == ':') {
		if (!slice_eq(name, SLICE_LIT(":status")) || h->status != 0 || value.len != 3 ||
		    value.ptr[0] < '1' || value.ptr[0] > '5' || value.ptr[1] < '0' ||
		    value.ptr[1] > '9' || value.ptr[2] < '0' || value.ptr[2] > '9') {
			response_bad(h, "bad :status or an unknown pseudo-field");
			return H2_FIELD_OK;
		}
		h->status =
		    (value.ptr[0] - '0') * 100 + (value.ptr[1] - '0') * 10 + (value.ptr[2] - '0');
		return H2_FIELD_OK;
	}
	if (!name_ok(name) || !bytes_ok(value)) {
		response_bad(h, "a field name or value HTTP/1.1 cannot carry");
		return H2_FIELD_OK;
	}
	if (connection_specific(name))
		return H2_FIELD_OK;
	if (slice_eq_cstr_nocase(name, "content-length"))
		h->has_length = true;
	size_t n = name.len + value.len + 4;
	if (buf_len(&h->fields) + n > h->max)
		return H2_FIELD_TOO_LARGE;
	size_t want = buf_len(&h->fields) + n;
	if (!buf_append(&h->fields, name.ptr, name.len, want) ||
	    !buf_append(&h->fields, ": ", 2, want) ||
	    !buf_append(&h->fields, value.ptr, value.len, want) ||
	    !buf_append(&h->fields, "\r\n", 2, want))
		return H2_FIELD_TOO_LARGE;
	return H2_FIELD_OK;
}

bool h2_response_head_write(struct h2_response_head *h, bool request_was_head, bool ended,
			    struct buf *out, bool *chunked)
{
	char line[32];

	*chunked = false;
	if (h->status == 0)
		response_bad(h, "no :status");
	if (h->bad)
		return false;
	/* No reason phrase: HTTP/2 has none to pass on, and RFC 9112 §4 lets it be empty. */
	int len = snprintf(line, sizeof(line), "HTTP/1.1 %d \r\n", h->status);
	bool bodiless = request_was_head || h->status < 200 || h->status == 204 || h->status == 304;
	size_t max = buf_len(out) + (size_t)len + buf_len(&h->fields) + 32;
	bool ok = buf_append(out, line, (size_t)len, max) &&
		  buf_append(out, buf_head(&h->fields), buf_len(&h->fields), max);
	if (!bodiless && !h->has_length && ended)
		ok = ok && buf_append(out, "content-length: 0\r\n", 19, max);
	else if (!bodiless && !h->has_length) {
		ok = ok && buf_append(out, "transfer-encoding: chunked\r\n", 28, max);
		*chunked = true;
	}
	ok = ok && buf_append(out, "\r\n", 2, max);
	if (!ok)
		h->detail = "the head does not fit";
	return ok;
}

bool h2_trailer_line(struct slice name, struct slice value, struct buf *out, size_t max)
{
	/* What RFC 9112's trailer section takes, and nothing that could end it early. */
	if (name.len == 0)
		return false;
	for (size_t i = 0; i < name.len; i++)
		if (!http1_is_tchar((unsigned char)name.ptr[i]))
			return false;
	for (size_t i = 0; i < value.len; i++)
		if (!http1_is_field_char((unsigned char)value.ptr[i]))
			return false;
	return buf_append(out, name.ptr, name.len, max) && buf_append(out, ": ", 2, max) &&
	       buf_append(out, value.ptr, value.len, max) && buf_append(out, "\r\n", 2, max);
}

/* RFC 9110 §6.5.1: what a trailer must not carry, beside the hop-by-hop fields. */
static bool trailer_forbidden(struct slice name)
{
	static const char *const names[] = {"content-length", "content-type", "content-encoding",
					    "content-range",  "host",	      "authorization",
					    "set-cookie",     "cookie"};
	if (http1_header_is_hop_by_hop(name, NULL, 0))
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (slice_eq_cstr_nocase(name, names[i]))
			return true;
	return false;
}

size_t h2_trailer_fields(struct slice section, char *lower, struct h2_field *out)
{
	size_t n = 0;
	struct slice rest = section;

	while (rest.len > 0 && n < HTTP1_CHUNKED_MAX_TRAILERS) {
		const char *eol = memchr(rest.ptr, '\n', rest.len);
		size_t line_len = eol ? (size_t)(eol - rest.ptr) + 1 : rest.len;
		struct slice line = slice_make(rest.ptr, line_len);
		rest = slice_make(rest.ptr + line_len, rest.len - line_len);
		while (line.len > 0 &&
		       (line.ptr[line.len - 1] == '\n' || line.ptr[line.len - 1] == '\r'))
			line.len--;
		const char *colon = memchr(line.ptr, ':', line.len);
		if (!colon || colon == line.ptr)
			continue;
		struct slice name = slice_make(line.ptr, (size_t)(colon - line.ptr));
		struct slice value = slice_make(colon + 1, line.len - name.len - 1);
		value = slice_trim_ows(value);
		if (trailer_forbidden(name))
			continue;
		out[n++] = lowered(name, value, &lower);
	}
	return n;
}
