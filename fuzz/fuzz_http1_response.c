/* Fuzz target for http1_response_parse: the first byte picks whether the request was HEAD or
 * CONNECT, the rest is the response; accepted heads must be self-consistent.
 * Does not test the body scanner beyond handing it the bytes after a chunked head. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/http1.h"
#include "parse/http1_body.h"

#include "fuzz_check.h"

/* Below the default so that inputs of modest size reach the limit, too. */
#define FUZZ_MAX_HEADERS 64

static struct http1_response resp;

static void check_accepted(const char *buf, size_t n, bool head, bool connect)
{
	CHECK(resp.error == HTTP1_ERR_NONE);
	CHECK(resp.status >= 100 && resp.status <= 599);
	CHECK(resp.version_minor == 0 || resp.version_minor == 1);
	CHECK(n >= 16 && memcmp(buf, "HTTP/1.", 7) == 0 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
	CHECK(fuzz_slice_inside(resp.reason, buf, n));
	CHECK(resp.n_headers <= FUZZ_MAX_HEADERS);
	for (unsigned i = 0; i < resp.n_headers; i++) {
		CHECK(fuzz_slice_inside(resp.headers[i].name, buf, n));
		CHECK(fuzz_slice_inside(resp.headers[i].value, buf, n));
		CHECK(resp.headers[i].name.len > 0);
	}
	/* RFC 9112 §6.3: these never carry a body, whatever the headers say. */
	if (head || resp.status < 200 || resp.status == 204 || resp.status == 304)
		CHECK(resp.framing == HTTP1_BODY_NONE);
	if (resp.framing == HTTP1_BODY_CLOSE)
		CHECK(!resp.keep_alive);
	for (size_t i = 0; i < n; i++)
		CHECK(buf[i] != '\0' && (buf[i] != '\n' || (i > 0 && buf[i - 1] == '\r')));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool head = data[0] & 1, connect = data[0] & 2;
	const char *buf = (const char *)data + 1;
	size_t len = size - 1;
	int n = http1_response_parse(buf, len, FUZZ_MAX_HEADERS, head, connect, &resp);

	CHECK(n >= -1 && (n < 0 || (size_t)n <= len));
	if (n < 0)
		CHECK(resp.error != HTTP1_ERR_NONE && resp.error_detail != NULL);
	if (n <= 0)
		return 0;
	check_accepted(buf, (size_t)n, head, connect);
	if (resp.framing == HTTP1_BODY_CHUNKED) {
		struct http1_chunked c;
		bool done;
		http1_chunked_init(&c);
		ssize_t r = http1_chunked_parse(&c, buf + n, len - (size_t)n, &done);
		CHECK(r >= -1 && (r < 0 || (size_t)r <= len - (size_t)n));
	}
	/* A prefix of an accepted head needs more bytes. */
	char *copy = malloc((size_t)n - 1);
	CHECK(copy != NULL);
	memcpy(copy, buf, (size_t)n - 1);
	CHECK(http1_response_parse(copy, (size_t)n - 1, FUZZ_MAX_HEADERS, head, connect, &resp) ==
	      0);
	free(copy);
	return 0;
}
