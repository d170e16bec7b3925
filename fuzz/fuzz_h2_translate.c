/* Fuzz target for h2_translate. Request side: whatever fields an HTTP/2 client sends, the
 * HTTP/1.1 head written for http_flow is refused by its parser or is exactly one whole head:
 * never an incomplete one (the body would be read as head) nor one followed by more bytes (a
 * second, unjudged request). Upstream side (flags bit 2): whatever fields an HTTP/2 origin
 * answers with, the response head written for http_flow is refused or parses as exactly
 * itself, and its trailers, as lines, make a trailer section the chunked parser takes whole
 * (no field can end the section early or smuggle bytes after it). Input: a flags byte (bit 0:
 * end of stream; bit 1: start with a valid GET, or :status 200; bit 3: the request was HEAD),
 * then records [name length][name][value length][value]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emit/h2_translate.h"
#include "parse/http1.h"

#include "fuzz_check.h"

/* The next record of data[*i..size), false at the end. */
static bool next_record(const uint8_t *data, size_t size, size_t *i, struct slice *name,
			struct slice *value)
{
	if (*i >= size)
		return false;
	size_t nlen = data[(*i)++];
	if (nlen > size - *i)
		return false;
	*name = slice_make((const char *)data + *i, nlen);
	*i += nlen;
	if (*i >= size)
		return false;
	size_t vlen = data[(*i)++];
	if (vlen > size - *i)
		return false;
	*value = slice_make((const char *)data + *i, vlen);
	*i += vlen;
	return true;
}

static void fuzz_upstream(const uint8_t *data, size_t size)
{
	static struct http1_response resp;
	static struct h2_field fields[HTTP1_CHUNKED_MAX_TRAILERS];
	struct h2_response_head h;
	struct buf out, trailers;
	struct slice name, value;
	size_t i = 1;
	bool chunked, ended = data[0] & 1, was_head = data[0] & 8;

	h2_response_head_init(&h, NULL, 8192);
	buf_init(&out, NULL);
	buf_init(&trailers, NULL);
	if (data[0] & 2)
		h2_response_head_field(&h, SLICE_LIT(":status"), SLICE_LIT("200"));
	while (next_record(data, size, &i, &name, &value)) {
		/* a record whose name starts with '~' is a trailer */
		if (name.len > 0 && name.ptr[0] == '~') {
			name = slice_make(name.ptr + 1, name.len - 1);
			h2_trailer_line(name, value, &trailers, 4096);
			continue;
		}
		if (h2_response_head_field(&h, name, value) != H2_FIELD_OK)
			break;
	}
	if (h2_response_head_write(&h, was_head, ended, &out, &chunked)) {
		int rc = http1_response_parse(buf_head(&out), buf_len(&out), HTTP1_MAX_HEADERS_CAP,
					      was_head, false, &resp);
		CHECK(rc == -1 || (size_t)rc == buf_len(&out));
		CHECK(rc == -1 || chunked == (resp.framing == HTTP1_BODY_CHUNKED));
		CHECK(rc == -1 || resp.status == h.status);
	} else {
		CHECK(h.detail != NULL);
	}
	/* The section as h2_upstream ends a chunked body with it. */
	struct buf body;
	buf_init(&body, NULL);
	size_t want = buf_len(&trailers) + 5;
	if (buf_append(&body, "0\r\n", 3, want) &&
	    buf_append(&body, buf_head(&trailers), buf_len(&trailers), want) &&
	    buf_append(&body, "\r\n", 2, want)) {
		struct http1_chunked ck;
		char kept[4096 + 8], lower[4096 + 8];
		bool done = false;
		http1_chunked_init(&ck);
		http1_chunked_keep_trailers(&ck, kept, sizeof(kept));
		ssize_t used = http1_chunked_parse(&ck, buf_head(&body), buf_len(&body), &done);
		/* h2_trailer_line writes only lines the scanner accepts: it refuses the section
		 * only for holding more fields than its limit */
		CHECK((used == -1 && ck.n_trailers > HTTP1_CHUNKED_MAX_TRAILERS) ||
		      ((size_t)used == buf_len(&body) && done));
		if (used > 0) {
			CHECK(ck.trailers_len == buf_len(&trailers));
			size_t n =
			    h2_trailer_fields(slice_make(kept, ck.trailers_len), lower, fields);
			for (size_t k = 0; k < n; k++)
				CHECK(fields[k].name.len > 0 && fields[k].name.ptr[0] != ':');
		}
	}
	buf_release(&body);
	buf_release(&trailers);
	buf_release(&out);
	h2_response_head_fini(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http1_request req;
	struct h2_request_head h;
	struct buf out;
	size_t i = 1;
	bool chunked;

	if (size < 1)
		return 0;
	if (data[0] & 4) {
		fuzz_upstream(data, size);
		return 0;
	}
	h2_request_head_init(&h, NULL, 8192);
	buf_init(&out, NULL);
	if (data[0] & 2) {
		h2_request_head_field(&h, SLICE_LIT(":method"), SLICE_LIT("GET"));
		h2_request_head_field(&h, SLICE_LIT(":scheme"), SLICE_LIT("https"));
		h2_request_head_field(&h, SLICE_LIT(":authority"), SLICE_LIT("a.test"));
		h2_request_head_field(&h, SLICE_LIT(":path"), SLICE_LIT("/"));
	}
	while (i < size) {
		size_t nlen = data[i++];
		if (nlen > size - i)
			break;
		struct slice name = slice_make((const char *)data + i, nlen);
		i += nlen;
		if (i >= size)
			break;
		size_t vlen = data[i++];
		if (vlen > size - i)
			break;
		struct slice value = slice_make((const char *)data + i, vlen);
		i += vlen;
		if (h2_request_head_field(&h, name, value) != H2_FIELD_OK)
			break;
	}
	if (h2_request_head_write(&h, data[0] & 1, &out, &chunked)) {
		int rc =
		    http1_request_parse(buf_head(&out), buf_len(&out), HTTP1_MAX_HEADERS_CAP, &req);
		CHECK(rc == -1 || (size_t)rc == buf_len(&out));
		if (rc > 0) {
			CHECK(req.method.len == strlen(h.method) &&
			      memcmp(req.method.ptr, h.method, req.method.len) == 0);
			CHECK(!req.keep_alive);
		}
	} else {
		CHECK(h.detail != NULL);
	}
	h2_request_head_fini(&h);
	buf_release(&out);
	return 0;
}
