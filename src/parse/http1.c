/* http1: strict HTTP/1.1 request and response heads (RFC 9110, RFC 9112); see http1.h.
 * One pass over the bytes with a 256-entry class table; no allocation, no copies. */
#include "parse/http1.h"

#include <limits.h>
#include <string.h>

enum {
	CC_TCHAR = 1, /* RFC 9110 §5.6.2 tchar */
	CC_VCHAR = 2, /* VCHAR or obs-text: RFC 9110 §5.5 field-vchar */
	CC_WS = 4,    /* SP or HTAB: RFC 9110 §5.6.3 OWS */
};

/* 0 for every control (CR, LF, NUL, DEL, ...): a scan stops on them, and the byte it stopped
 * on says what was wrong. */
/* clang-format off */
static const unsigned char http1_cc[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x20  SP ! " # $ % & ' ( ) * + , - . / */
	4, 3, 2, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, 2,
	/* 0x30  0-9 : ; < = > ? */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2,
	/* 0x40  @ A-O */
	2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	/* 0x50  P-Z [ \ ] ^ _ */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 3, 3,
	/* 0x60  ` a-o */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
	/* 0x70  p-z { | } ~ DEL */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 3, 2, 3, 0,
	/* 0x80-0xff: obs-text */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};
/* clang-format on */

bool http1_is_tchar(unsigned char ch)
{
	return (http1_cc[ch] & CC_TCHAR) != 0;
}

bool http1_is_field_char(unsigned char ch)
{
	return (http1_cc[ch] & (CC_VCHAR | CC_WS)) != 0;
}

/* Parse state shared by requests and responses; results are copied out at the end. */
struct head {
	struct http1_header *headers;
	unsigned *n_headers;
	unsigned max_headers;
	struct slice *conn_tokens;
	unsigned *n_conn_tokens;
	enum http1_error error;
	const char *detail;
	uint64_t content_length;
	int version_minor;
	int host_index;
	bool is_request;
	bool has_cl, has_te;
	bool conn_close, conn_keep_alive, expect_continue;
};

static int fail(struct head *h, enum http1_error error, const char *detail)
{
	h->error = error;
	h->detail = detail;
	return -1;
}

static const char *scan(const char *p, const char *end, unsigned mask)
{
	while (p < end && (http1_cc[(unsigned char)*p] & mask))
		p++;
	return p;
}

/* Names the byte at p that the grammar did not allow there; `expected` when it is printable. */
static const char *bad_byte(const char *p, const char *end, const char *expected)
{
	unsigned char c = (unsigned char)*p;

	if (c == '\r')
		return (p + 1 < end && p[1] == '\n') ? expected : "bare CR";
	if (c == '\n')
		return "bare LF";
	if (c == '\0')
		return "NUL byte";
	if (c < 0x20 || c == 0x7f)
		return "control character";
	return expected;
}

/* RFC 9112 §2.2: a line ends in CRLF; a bare CR or LF is refused, never read as a line end. */
static int crlf_parse(struct head *h, const char **pp, const char *end, const char *expected)
{
	const char *p = *pp;

	if (p == end)
		return 0;
	if (*p != '\r')
		return fail(h, HTTP1_ERR_MALFORMED, bad_byte(p, end, expected));
	if (p + 1 == end)
		return 0;
	if (p[1] != '\n')
		return fail(h, HTTP1_ERR_MALFORMED, "bare CR");
	*pp = p + 2;
	return 1;
}

/* RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive. */
static int version_parse(struct head *h, const char *v, size_t len)
{
	if (len != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return fail(h, HTTP1_ERR_MALFORMED, "malformed HTTP-version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return fail(h, HTTP1_ERR_VERSION, "HTTP version not supported");
	h->version_minor = v[7] - '0';
	return 1;
}

/* RFC 9112 §3: request-line = method SP request-target SP HTTP-version CRLF, single SPs. */
static int request_line_parse(struct http1_request *req, struct head *h, const char **pp,
			      const char *end)
{
	const char *p = *pp, *start = p;
	int rc;

	if (*p == '\r' || *p == '\n')
		return fail(h, HTTP1_ERR_MALFORMED, "empty line before request-line");
	p = scan(p, end, CC_TCHAR);
	if (p == end)
		return 0;
	if (*p != ' ' || p == start)
		return fail(h, HTTP1_ERR_MALFORMED, bad_byte(p, end, "malformed method"));
	req->method = slice_make(start, (size_t)(p - start));
	start = ++p;
	p = scan(p, end, CC_VCHAR);
	if (p == end)
		return 0;
	if (*p != ' ' || p == start)
		return fail(h, HTTP1_ERR_MALFORMED, bad_byte(p, end, "malformed request-target"));
	req->target = slice_make(start, (size_t)(p - start));
	start = ++p;
	p = scan(p, end, CC_VCHAR);
	rc = crlf_parse(h, &p, end, "malformed HTTP-version");
	if (rc <= 0)
		return rc;
	if (version_parse(h, start, (size_t)(p - 2 - start)) < 0)
		return -1;
	*pp = p;
	return 1;
}

/* RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF; the SP
 * before an empty reason is optional here, as many servers omit it. */
static int status_line_parse(struct http1_response *resp, struct head *h, const char **pp,
			     const char *end)
{
	const char *p = *pp, *start = p;
	int status = 0, rc;

	if (*p == '\r' || *p == '\n')
		return fail(h, HTTP1_ERR_MALFORMED, "empty line before status-line");
	p = scan(p, end, CC_VCHAR);
	if (p == end)
		return 0;
	if (*p != ' ')
		return fail(h, HTTP1_ERR_MALFORMED, bad_byte(p, end, "malformed status-line"));
	if (version_parse(h, start, (size_t)(p - start)) < 0)
		return -1;
	start = ++p;
	while (p < end && *p >= '0' && *p <= '9' && p - start < 4)
		status = status * 10 + (*p++ - '0');
	if (p - start > 3 || (p < end && p - start != 3))
		return fail(h, HTTP1_ERR_MALFORMED, "malformed status-code");
	if (p == end)
		return 0;
	if (status < 100 || status > 599)
		return fail(h, HTTP1_ERR_MALFORMED, "status-code out of range");
	resp->status = status;
	start = p;
	if (*p == ' ') {
		start = p + 1;
		p = scan(start, end, CC_VCHAR | CC_WS);
	}
	rc = crlf_parse(h, &p, end, "malformed reason-phrase");
	if (rc <= 0)
		return rc;
	resp->reason = slice_make(start, (size_t)(p - 2 - start));
	*pp = p;
	return 1;
}

static bool name_is(struct slice name, const char *lower, size_t len)
{
	return name.len == len && slice_eq_nocase(name, slice_make(lower, len));
}

#define NAME_IS(name, lit) name_is((name), (lit), sizeof(lit) - 1)

/* True when some case spelling of "chunked" is inside s ("Chunked", "xchunked", ...). */
static bool contains_chunked_nocase(struct slice s)
{
	static const struct slice chunked = {"chunked", 7};

	for (size_t i = 0; i + chunked.len <= s.len; i++)
		if (slice_eq_nocase(slice_make(s.ptr + i, chunked.len), chunked))
			return true;
	return false;
}

/* Every Transfer-Encoding value but exactly "chunked" is refused; this picks the refusal.
 * A well-formed coding list that sluice cannot forward is 501 (RFC 9112 §6.1). Anything a
 * second parser could read as chunked when we do not, or the reverse, is smuggling: a case
 * variant or "xchunked", chunked twice (RFC 9112 §7) or not last (§6.3 ¶4), empty
 * elements ("chunked,"), parameters. */
static int te_refuse(struct head *h, struct slice value)
{
	const char *p = value.ptr, *end = value.ptr + value.len;
	unsigned n_chunked = 0;
	bool chunked_last = false;

	for (;;) {
		const char *start = scan(p, end, CC_WS);

		p = scan(start, end, CC_TCHAR);
		struct slice coding = slice_make(start, (size_t)(p - start));
		p = scan(p, end, CC_WS);
		if (coding.len == 0 || (p < end && *p != ','))
			return fail(h, HTTP1_ERR_SMUGGLING, "malformed Transfer-Encoding list");
		chunked_last = contains_chunked_nocase(coding);
		if (chunked_last && !slice_eq(coding, SLICE_LIT("chunked")))
			return fail(h, HTTP1_ERR_SMUGGLING,
				    "Transfer-Encoding is not exactly \"chunked\"");
		n_chunked += chunked_last;
		if (p == end)
			break;
		p++;
	}
	if (n_chunked > 1 || (n_chunked == 1 && !chunked_last))
		return fail(h, HTTP1_ERR_SMUGGLING, "chunked repeated or not the last coding");
	return fail(h, HTTP1_ERR_TE_UNSUPPORTED, "transfer coding other than chunked");
}

/* RFC 9112 §6.1, §6.3: sluice forwards exactly one framing, so only a lone, exact "chunked"
 * passes. A second field, even an equal one, is refused rather than combined. */
static int transfer_encoding_apply(struct head *h, struct slice value)
{
	if (h->has_te)
		return fail(h, HTTP1_ERR_SMUGGLING, "multiple Transfer-Encoding fields");
	h->has_te = true;
	if (h->has_cl)
		return fail(h, HTTP1_ERR_SMUGGLING, "both Transfer-Encoding and Content-Length");
	/* RFC 9112 §6.1: TE in an HTTP/1.0 message means the framing is faulty. */
	if (h->version_minor == 0)
		return fail(h, HTTP1_ERR_SMUGGLING, "Transfer-Encoding in an HTTP/1.0 message");
	if (slice_eq(value, SLICE_LIT("chunked")))
		return 1;
	return te_refuse(h, value);
}

/* RFC 9112 §6.3 ¶5, RFC 9110 §8.6: Content-Length = 1*DIGIT. Lists ("5, 5"), signs, inner
 * whitespace and second fields (even equal ones, which RFC 9110 lets a recipient merge) are
 * refused: nothing is left for two parsers to read two ways. The cap keeps the length
 * representable as a signed 64-bit size downstream. */
static int content_length_apply(struct head *h, struct slice value)
{
	unsigned long long n;

	if (h->has_cl)
		return fail(h, HTTP1_ERR_SMUGGLING, "multiple Content-Length fields");
	h->has_cl = true;
	if (h->has_te)
		return fail(h, HTTP1_ERR_SMUGGLING, "both Transfer-Encoding and Content-Length");
	if (!slice_parse_u64(value, &n) || n > INT64_MAX)
		return fail(h, HTTP1_ERR_SMUGGLING, "invalid Content-Length");
	h->content_length = n;
	return 1;
}

/* RFC 9110 §7.6.1: a proxy drops the fields a Connection option names. Naming a framing or
 * routing field would make the next hop see a different message than we judged. */
static bool connection_option_forbidden(struct slice option)
{
	return NAME_IS(option, "connection") || NAME_IS(option, "content-length") ||
	       NAME_IS(option, "transfer-encoding") || NAME_IS(option, "host");
}

static int connection_option_add(struct head *h, struct slice option)
{
	if (connection_option_forbidden(option))
		return fail(h, HTTP1_ERR_SMUGGLING, "Connection names a framing or routing field");
	if (*h->n_conn_tokens == HTTP1_MAX_CONNECTION_TOKENS)
		return fail(h, HTTP1_ERR_MALFORMED, "too many Connection options");
	if (NAME_IS(option, "close"))
		h->conn_close = true;
	else if (NAME_IS(option, "keep-alive"))
		h->conn_keep_alive = true;
	h->conn_tokens[(*h->n_conn_tokens)++] = option;
	return 1;
}

/* RFC 9110 §7.6.1: Connection = #connection-option; empty list elements are skipped
 * (§5.6.1), every other element must be a token. */
static int connection_apply(struct head *h, struct slice value)
{
	const char *p = value.ptr, *end = value.ptr + value.len;

	while (p < end) {
		const char *start = scan(p, end, CC_WS);

		p = scan(start, end, CC_TCHAR);
		struct slice option = slice_make(start, (size_t)(p - start));
		p = scan(p, end, CC_WS);
		if (p < end && *p != ',')
			return fail(h, HTTP1_ERR_MALFORMED, "malformed Connection list");
		if (option.len > 0 && connection_option_add(h, option) < 0)
			return -1;
		if (p < end)
			p++;
	}
	return 1;
}

/* Applies the fields that change how the message is framed or routed. */
static int field_apply(struct head *h, struct slice name, struct slice value, unsigned index)
{
	switch (name.len) {
	case 4:
		if (h->is_request && NAME_IS(name, "host")) {
			/* RFC 9112 §3.2: more than one Host is a 400. */
			if (h->host_index >= 0)
				return fail(h, HTTP1_ERR_MALFORMED, "multiple Host fields");
			h->host_index = (int)index;
		}
		break;
	case 6:
		/* RFC 9110 §10.1.1: the expectation is case-insensitive. */
		if (h->is_request && NAME_IS(name, "expect") && NAME_IS(value, "100-continue"))
			h->expect_continue = true;
		break;
	case 10:
		if (NAME_IS(name, "connection"))
			return connection_apply(h, value);
		break;
	case 14:
		if (NAME_IS(name, "content-length"))
			return content_length_apply(h, value);
		break;
	case 17:
		if (NAME_IS(name, "transfer-encoding"))
			return transfer_encoding_apply(h, value);
		break;
	}
	return 1;
}

/* RFC 9112 §5: field-line = field-name ":" OWS field-value OWS CRLF. No whitespace before
 * the colon (§5.1), no obs-fold (§5.2), no controls but HTAB in the value (RFC 9110 §5.5). */
static int field_line_parse(struct head *h, const char **pp, const char *end)
{
	const char *p = *pp, *name = p, *colon, *value, *value_end;
	int rc;

	if (*p == ' ' || *p == '\t')
		return fail(h, HTTP1_ERR_MALFORMED, "obs-fold or whitespace before a field line");
	p = scan(p, end, CC_TCHAR);
	if (p == end)
		return 0;
	if (*p == ' ' || *p == '\t')
		return fail(h, HTTP1_ERR_MALFORMED, "whitespace between field name and colon");
	if (*p != ':')
		return fail(h, HTTP1_ERR_MALFORMED, bad_byte(p, end, "invalid field name"));
	if (p == name)
		return fail(h, HTTP1_ERR_MALFORMED, "empty field name");
	colon = p;
	value = scan(p + 1, end, CC_WS);
	value_end = scan(value, end, CC_VCHAR | CC_WS);
	p = value_end;
	rc = crlf_parse(h, &p, end, "invalid field value");
	if (rc <= 0)
		return rc;
	while (value_end > value && (value_end[-1] == ' ' || value_end[-1] == '\t'))
		value_end--;
	if (*h->n_headers == h->max_headers)
		return fail(h, HTTP1_ERR_TOO_MANY_HEADERS, "too many header fields");
	unsigned index = (*h->n_headers)++;
	struct http1_header *f = &h->headers[index];
	f->name = slice_make(name, (size_t)(colon - name));
	f->value = slice_make(value, (size_t)(value_end - value));
	*pp = p;
	return field_apply(h, f->name, f->value, index);
}

/* Field lines up to and including the empty line that ends the head (RFC 9112 §2.1). */
static int fields_parse(struct head *h, const char **pp, const char *end)
{
	for (;;) {
		const char *p = *pp;
		int rc;

		if (p == end)
			return 0;
		if (*p == '\r') {
			rc = crlf_parse(h, &p, end, NULL);
			if (rc > 0)
				*pp = p;
			return rc;
		}
		rc = field_line_parse(h, pp, end);
		if (rc <= 0)
			return rc;
	}
}

static void head_init(struct head *h, bool is_request, struct http1_header *headers,
		      unsigned *n_headers, unsigned max_headers, struct slice *conn_tokens,
		      unsigned *n_conn_tokens)
{
	memset(h, 0, sizeof(*h));
	h->is_request = is_request;
	h->headers = headers;
	h->n_headers = n_headers;
	h->max_headers = max_headers == 0		       ? 1
			 : max_headers > HTTP1_MAX_HEADERS_CAP ? HTTP1_MAX_HEADERS_CAP
							       : max_headers;
	h->conn_tokens = conn_tokens;
	h->n_conn_tokens = n_conn_tokens;
	h->host_index = -1;
	*n_headers = 0;
	*n_conn_tokens = 0;
}

/* The request-line, then the field lines. Returns the head length, 0 or -1. */
static int head_parse(struct head *h, void *start_line, const char *buf, size_t len)
{
	const char *p = buf, *end;
	int rc;

	if (len == 0)
		return 0;
	end = buf + (len > INT_MAX ? INT_MAX : len);
	if (h->is_request)
		rc = request_line_parse(start_line, h, &p, end);
	else
		rc = status_line_parse(start_line, h, &p, end);
	if (rc > 0)
		rc = fields_parse(h, &p, end);
	return rc > 0 ? (int)(p - buf) : rc;
}

int http1_request_prefix(const char *buf, size_t len)
{
	size_t n = len < HTTP1_PREFIX_METHOD_MAX + 1 ? len : HTTP1_PREFIX_METHOD_MAX + 1;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == ' ')
			return i > 0;
		if (!((c >= 'A' && c <= 'Z') || c == '-'))
			return 0;
	}
	return len > HTTP1_PREFIX_METHOD_MAX ? 0 : -1;
}

int http1_request_parse(const char *buf, size_t len, unsigned max_headers,
			struct http1_request *req)
{
	struct head h;
	int rc;

	head_init(&h, true, req->headers, &req->n_headers, max_headers, req->connection_tokens,
		  &req->n_connection_tokens);
	req->method = req->target = slice_make(buf, 0);
	rc = head_parse(&h, req, buf, len);
	req->version_minor = h.version_minor;
	req->framing = h.has_te	  ? HTTP1_BODY_CHUNKED
		       : h.has_cl ? HTTP1_BODY_LENGTH
				  : HTTP1_BODY_NONE;
	req->content_length = h.content_length;
	/* RFC 9112 §9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive". */
	req->keep_alive = !h.conn_close && (h.version_minor == 1 || h.conn_keep_alive);
	req->expect_continue = h.expect_continue;
	req->host_index = h.host_index;
	req->error = h.error;
	req->error_detail = h.detail;
	return rc;
}

/* RFC 9112 §6.3, in its order: no body after HEAD or for 1xx, 204, 304; a 2xx to CONNECT is a
 * tunnel; then chunked, then Content-Length, else the body runs until the upstream closes. */
static enum http1_framing response_framing(const struct head *h, int status, bool was_head,
					   bool was_connect)
{
	if (was_head || status < 200 || status == 204 || status == 304)
		return HTTP1_BODY_NONE;
	if (was_connect && status < 300)
		return HTTP1_BODY_NONE;
	if (h->has_te)
		return HTTP1_BODY_CHUNKED;
	if (h->has_cl)
		return HTTP1_BODY_LENGTH;
	return HTTP1_BODY_CLOSE;
}

int http1_response_parse(const char *buf, size_t len, unsigned max_headers, bool request_was_head,
			 bool request_was_connect, struct http1_response *resp)
{
	struct head h;
	int rc;

	head_init(&h, false, resp->headers, &resp->n_headers, max_headers, resp->connection_tokens,
		  &resp->n_connection_tokens);
	resp->status = 0;
	resp->reason = slice_make(buf, 0);
	rc = head_parse(&h, resp, buf, len);
	resp->version_minor = h.version_minor;
	resp->framing = response_framing(&h, resp->status, request_was_head, request_was_connect);
	resp->content_length = h.content_length;
	resp->keep_alive = !h.conn_close && (h.version_minor == 1 || h.conn_keep_alive) &&
			   resp->framing != HTTP1_BODY_CLOSE;
	resp->error = h.error;
	resp->error_detail = h.detail;
	return rc;
}

bool http1_header_is_hop_by_hop(struct slice name, const struct slice *connection_tokens,
				unsigned n_connection_tokens)
{
	/* RFC 9110 §7.6.1, plus the proxy credentials of §11.7 that belong to this hop. */
	static const struct slice hop_by_hop[] = {
	    {"connection", 10},
	    {"keep-alive", 10},
	    {"proxy-connection", 16},
	    {"te", 2},
	    {"trailer", 7},
	    {"transfer-encoding", 17},
	    {"upgrade", 7},
	    {"proxy-authorization", 19},
	    {"proxy-authenticate", 18},
	};

	/* Lengths first: this runs for every header of every request and response, and most
	 * names match no entry's length. */
	for (size_t i = 0; i < sizeof(hop_by_hop) / sizeof(hop_by_hop[0]); i++)
		if (name.len == hop_by_hop[i].len && slice_eq_nocase(name, hop_by_hop[i]))
			return true;
	for (unsigned i = 0; i < n_connection_tokens; i++)
		if (name.len == connection_tokens[i].len &&
		    slice_eq_nocase(name, connection_tokens[i]))
			return true;
	return false;
}

bool http1_method_is_idempotent(struct slice method)
{
	static const struct slice idempotent[] = {
	    {"GET", 3}, {"HEAD", 4}, {"OPTIONS", 7}, {"TRACE", 5}, {"PUT", 3}, {"DELETE", 6},
	};

	for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++)
		if (slice_eq(method, idempotent[i]))
			return true;
	return false;
}

int http1_header_find(const struct http1_header *headers, unsigned n, const char *name)
{
	struct slice want = slice_from_cstr(name);

	for (unsigned i = 0; i < n; i++)
		if (slice_eq_nocase(headers[i].name, want))
			return (int)i;
	return -1;
}
