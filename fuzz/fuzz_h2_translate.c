/* Fuzz target for h2_translate's request side: whatever fields an HTTP/2 client sends, the
 * HTTP/1.1 head written for http_flow is refused by its parser or is exactly one whole head:
 * never an incomplete one (the body would be read as head) nor one followed by more bytes (a
 * second, unjudged request). Input: a flags byte (bit 0: end of stream; bit 1: start with a
 * valid GET), then records [name length][name][value length][value]. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emit/h2_translate.h"
#include "parse/http1.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http1_request req;
	struct h2_request_head h;
	struct buf out;
	size_t i = 1;
	bool chunked;

	if (size < 1)
		return 0;
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
