/* h2_translate: an HTTP/2 request's fields into the HTTP/1.1 head that http_flow reads, and an
 * HTTP/1.1 response head into HTTP/2 fields (RFC 9113 §8.2-8.3). Pure: io/h2_flow feeds it the
 * fields nghttp2 decoded and sends what it returns. The head it writes is refused by http_flow
 * where a smuggled or ambiguous request would be: a field with CR, LF or NUL never gets in. */
#ifndef SLUICE_EMIT_H2_TRANSLATE_H
#define SLUICE_EMIT_H2_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/slice.h"
#include "parse/http1.h"
#include "parse/http1_body.h"

#define H2_TRANSLATE_METHOD_MAX 32
#define H2_TRANSLATE_AUTHORITY_MAX 300
#define H2_TRANSLATE_NAME_MAX 64 /* a response field name longer than this is dropped */

/* One request's head while its fields arrive. */
struct h2_request_head {
	char method[H2_TRANSLATE_METHOD_MAX + 1];
	char authority[H2_TRANSLATE_AUTHORITY_MAX + 1];
	char host[H2_TRANSLATE_AUTHORITY_MAX + 1]; /* a host field beside :authority */
	bool has_method, has_authority, has_host, has_scheme, scheme_https, has_length;
	bool bad; /* a field no HTTP/1.1 head may carry: the stream is refused */
	struct buf path, fields, cookie;
	size_t max;	    /* bytes the fields may take in all */
	const char *detail; /* why it is bad, static text */
};

enum h2_field_result {
	H2_FIELD_OK,
	H2_FIELD_TOO_LARGE, /* past max: the stream is reset */
};

/* Buffers from cache; max bounds the head (a few times the HTTP/1.1 limit, which http_flow
 * then applies with its 431). */
void h2_request_head_init(struct h2_request_head *h, struct buf_cache *cache, size_t max);
void h2_request_head_fini(struct h2_request_head *h);
/* One field as HPACK gave it (pseudo-fields first). Cookie crumbs are joined into one field,
 * te is dropped (hop-by-hop), an unknown pseudo-field or a byte HTTP/1.1 cannot carry marks
 * the head bad. */
enum h2_field_result h2_request_head_field(struct h2_request_head *h, struct slice name,
					   struct slice value);
/* The HTTP/1.1 head, appended to out: request line (authority-form for CONNECT), Host from
 * :authority (and the host field too when it differs, which http_flow refuses), the fields,
 * Transfer-Encoding: chunked when a body follows without content-length (*chunked is then
 * true: the body must be sent as chunks), Connection: close. False when the head is bad (its
 * detail says why) or does not fit. */
bool h2_request_head_write(struct h2_request_head *h, bool end_stream, struct buf *out,
			   bool *chunked);

struct h2_field {
	struct slice name, value;
};

/* The HTTP/2 fields of a response head: ":status" first (its text in status[4]), then every
 * field but the hop-by-hop ones, names lower-cased into names. out has room for
 * HTTP1_MAX_HEADERS_CAP + 1. Returns how many. */
size_t h2_response_fields(const struct http1_response *resp, char status[4],
			  char names[][H2_TRANSLATE_NAME_MAX], struct h2_field *out);

/* ---- toward an upstream that speaks HTTP/2 (io/h2_upstream) ------------------------------ */

/* Fields of the request h2_upstream_request_fields adds besides the head's own. */
#define H2_UPSTREAM_EXTRA_FIELDS 5

/* The HTTP/2 fields of an HTTP/1.1 request head (the one http_flow sends upstream): :method,
 * :scheme https, :authority from Host, :path from the origin-form target, every other field
 * but the hop-by-hop ones, Host and Expect (names lower-cased into lower, which has room for
 * every name's bytes: the head's length will do), then te: trailers — sluice carries trailers
 * back, and gRPC servers want to be told. out has room for HTTP1_MAX_HEADERS_CAP +
 * H2_UPSTREAM_EXTRA_FIELDS. Returns how many; 0 when the head has no Host or its target is not
 * origin-form. */
size_t h2_upstream_request_fields(const struct http1_request *req, char *lower,
				  struct h2_field *out);

/* An upstream's HTTP/2 response head while its fields arrive, for the HTTP/1.1 head http_flow
 * reads. */
struct h2_response_head {
	int status; /* 0 until :status */
	bool has_length;
	bool bad; /* a field HTTP/1.1 cannot carry, or no usable :status */
	struct buf fields;
	size_t max;
	const char *detail; /* why it is bad, static text */
};

void h2_response_head_init(struct h2_response_head *h, struct buf_cache *cache, size_t max);
void h2_response_head_fini(struct h2_response_head *h);
/* One field as HPACK gave it. The connection-specific fields HTTP/2 forbids are dropped. */
enum h2_field_result h2_response_head_field(struct h2_response_head *h, struct slice name,
					    struct slice value);
/* The HTTP/1.1 head, appended to out: status line, fields, and Transfer-Encoding: chunked when
 * a body follows without content-length (*chunked is then true: DATA goes as chunks, trailers
 * after the last one). ended: the stream ended with the head, so no body follows: it says
 * content-length: 0 instead (gRPC's trailers-only answer stays one HEADERS frame on the
 * client's side). False when the head is bad or does not fit. */
bool h2_response_head_write(struct h2_response_head *h, bool request_was_head, bool ended,
			    struct buf *out, bool *chunked);

/* One trailer field as an HTTP/1.1 trailer line, appended to out (at most max bytes in all).
 * False when HTTP/1.1 cannot carry it: a name that is not a token (a pseudo-field), a control
 * byte in the value. */
bool h2_trailer_line(struct slice name, struct slice value, struct buf *out, size_t max);
/* The HTTP/2 fields of an HTTP/1.1 trailer section (field lines as http1_chunked kept them):
 * names lower-cased into lower (room for the section's length), the fields no trailer may carry
 * (framing, routing, hop-by-hop) dropped. out has room for HTTP1_CHUNKED_MAX_TRAILERS.
 * Returns how many. */
size_t h2_trailer_fields(struct slice section, char *lower, struct h2_field *out);

#endif
