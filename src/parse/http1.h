/* http1: strict, bounded, non-allocating parser for HTTP/1.1 request and response heads
 * (RFC 9110, RFC 9112). Header bytes are referenced in place as slices into the caller's buffer.
 * Does not read bodies (http1_body does), decide policy, or repair anything ambiguous: every
 * ambiguity is refused (docs/security.md, guarantee 4). */
#ifndef SLUICE_PARSE_HTTP1_H
#define SLUICE_PARSE_HTTP1_H

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"

/* Header fields per head: the default limit, and the most a configuration may allow (the
 * arrays below are sized by the cap, so a larger limit needs no allocation). */
#define HTTP1_DEFAULT_MAX_HEADERS 100
#define HTTP1_MAX_HEADERS_CAP 1000
#define HTTP1_MAX_CONNECTION_TOKENS 16

struct http1_header {
	struct slice name;  /* as received (case preserved) */
	struct slice value; /* OWS trimmed */
};

enum http1_framing {
	HTTP1_BODY_NONE,    /* no body */
	HTTP1_BODY_LENGTH,  /* Content-Length bytes */
	HTTP1_BODY_CHUNKED, /* Transfer-Encoding: chunked (exactly that, RFC 9112 §6.1) */
	HTTP1_BODY_CLOSE,   /* responses only: body runs until the upstream closes */
};

/* Why a head was refused; each maps to a status the caller sends before closing. */
enum http1_error {
	HTTP1_ERR_NONE = 0,
	HTTP1_ERR_MALFORMED,	    /* 400: syntax, controls, obs-fold, bare CR/LF, ... */
	HTTP1_ERR_SMUGGLING,	    /* 400: CL+TE, any duplicate CL or TE, a CL that is not
				     * 1*DIGIT, a TE spelling of chunked that is not exactly
				     * "chunked", TE in HTTP/1.0, Connection naming a framing
				     * or routing field */
	HTTP1_ERR_TOO_MANY_HEADERS, /* 431 */
	HTTP1_ERR_VERSION,	    /* 505: not HTTP/1.0 or HTTP/1.1 */
	HTTP1_ERR_TE_UNSUPPORTED,   /* 501: a transfer coding other than chunked */
};

struct http1_request {
	struct slice method;
	struct slice target; /* request-target as sent: absolute-form, authority-form, ... */
	int version_minor;   /* 0 or 1 */
	struct http1_header headers[HTTP1_MAX_HEADERS_CAP];
	unsigned n_headers;
	/* Derived from the headers: */
	enum http1_framing framing; /* NONE, LENGTH or CHUNKED */
	uint64_t content_length;    /* when framing == LENGTH; at most INT64_MAX */
	bool keep_alive;	    /* 1.1 unless "close"; 1.0 only with "keep-alive" */
	bool expect_continue;	    /* Expect: 100-continue */
	int host_index;		    /* index of the single Host header, -1 when absent */
	/* Every non-empty element of every Connection field, in order; lower-case not applied. */
	struct slice connection_tokens[HTTP1_MAX_CONNECTION_TOKENS];
	unsigned n_connection_tokens;
	enum http1_error error;	  /* set when the parser returns -1 */
	const char *error_detail; /* static text naming what was wrong, for the log and body */
};

struct http1_response {
	int version_minor;
	int status; /* 100..599 */
	struct slice reason;
	struct http1_header headers[HTTP1_MAX_HEADERS_CAP];
	unsigned n_headers;
	enum http1_framing framing; /* resolved with the request method and status */
	uint64_t content_length;
	bool keep_alive;
	struct slice connection_tokens[HTTP1_MAX_CONNECTION_TOKENS];
	unsigned n_connection_tokens;
	enum http1_error error;
	const char *error_detail;
};

/* The most bytes of method http1_request_prefix looks at: longer is no method a client sends. */
#define HTTP1_PREFIX_METHOD_MAX 24

/* Whether buf[0..len), the first bytes of a stream, begin as an HTTP/1 request line does: a
 * method of 1..HTTP1_PREFIX_METHOD_MAX upper-case letters and '-' (every registered method is
 * so; a looser tchar would take "SSH-2.0-OpenSSH_9.2p1 Debian" for one) and a space. 1 when
 * they do, 0 when they do not, -1 when every byte so far could still begin one. */
int http1_request_prefix(const char *buf, size_t len);

/* Parses one request head from buf[0..len), accepting at most max_headers field lines (clamped
 * to 1..HTTP1_MAX_HEADERS_CAP; one more is HTTP1_ERR_TOO_MANY_HEADERS).
 * Returns the head length (through the blank line) when complete, 0 when more bytes are
 * needed, -1 when malformed (req->error and req->error_detail say why). Never reads past len.
 * Leading empty lines before the request-line are not accepted (strict). Each complete line is
 * checked as soon as it is seen, so a malformed line is refused before the head is complete.
 * `len` above INT_MAX is treated as INT_MAX. */
int http1_request_parse(const char *buf, size_t len, unsigned max_headers,
			struct http1_request *req);

/* Parses one response head. request_was_head and request_was_connect decide the framing of
 * bodiless responses (RFC 9112 §6.3). Same limit and return convention as
 * http1_request_parse. */
int http1_response_parse(const char *buf, size_t len, unsigned max_headers, bool request_was_head,
			 bool request_was_connect, struct http1_response *resp);

/* True when a header must not be forwarded by a proxy: the RFC 9110 §7.6.1 hop-by-hop set
 * (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade),
 * Proxy-Authorization and Proxy-Authenticate, and any field named in connection_tokens. */
bool http1_header_is_hop_by_hop(struct slice name, const struct slice *connection_tokens,
				unsigned n_connection_tokens);

/* True for the idempotent methods of RFC 9110 §9.2.2 (GET, HEAD, OPTIONS, TRACE, PUT, DELETE):
 * those a proxy may send again when a connection fails before any answer (RFC 9112 §9.3.1).
 * Method names are case-sensitive (RFC 9110 §9.1): "get" is not GET. */
bool http1_method_is_idempotent(struct slice method);

/* RFC 9110 §5.6.2 tchar: what field names and methods are made of. */
bool http1_is_tchar(unsigned char ch);
/* RFC 9110 §5.5 field-vchar (VCHAR, obs-text), SP and HTAB: what a field value may hold. */
bool http1_is_field_char(unsigned char ch);

/* The index of the first header named `name` (case-insensitive), or -1. */
int http1_header_find(const struct http1_header *headers, unsigned n, const char *name);

#endif
