/* Fuzz target for http1_request_parse: any bytes, and every accepted head must hold what the
 * rest of sluice relies on (slices inside the buffer, no controls, one framing, stable length).
 * Does not judge policy or forward anything. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/http1.h"
#include "parse/http1_body.h"

#include "fuzz_check.h"

/* Below the default so that inputs of modest size reach the limit, too. */
#define FUZZ_MAX_HEADERS 64

static struct http1_request req;

/* Every line of an accepted head ends in CRLF, and there is no NUL: nothing for another
 * parser to read differently. */
static void check_head_bytes(const char *buf, size_t n)
{
	CHECK(n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
	for (size_t i = 0; i < n; i++) {
		CHECK(buf[i] != '\0');
		if (buf[i] == '\r')
			CHECK(i + 1 < n && buf[i + 1] == '\n');
		if (buf[i] == '\n')
			CHECK(i > 0 && buf[i - 1] == '\r');
	}
}

static void check_fields(const char *buf, size_t n)
{
	int n_cl = 0, n_te = 0;

	CHECK(req.n_headers <= FUZZ_MAX_HEADERS);
	CHECK(req.n_connection_tokens <= HTTP1_MAX_CONNECTION_TOKENS);
	for (unsigned i = 0; i < req.n_headers; i++) {
		struct slice name = req.headers[i].name, value = req.headers[i].value;
		CHECK(fuzz_slice_inside(name, buf, n));
		CHECK(fuzz_slice_inside(value, buf, n));
		CHECK(name.len > 0);
		for (size_t j = 0; j < name.len; j++)
			CHECK(name.ptr[j] > ' ' && name.ptr[j] != ':' &&
			      (unsigned char)name.ptr[j] < 0x7f);
		for (size_t j = 0; j < value.len; j++)
			CHECK(value.ptr[j] == '\t' || (unsigned char)value.ptr[j] >= ' ');
		if (value.len > 0)
			CHECK(value.ptr[0] != ' ' && value.ptr[value.len - 1] != ' ');
		n_cl += slice_eq_cstr_nocase(name, "content-length");
		n_te += slice_eq_cstr_nocase(name, "transfer-encoding");
	}
	CHECK(n_cl + n_te <= 1);
	CHECK(req.framing == (n_te   ? HTTP1_BODY_CHUNKED
			      : n_cl ? HTTP1_BODY_LENGTH
				     : HTTP1_BODY_NONE));
	CHECK(req.host_index < (int)req.n_headers);
}

/* The head length depends only on the head's bytes: a prefix needs more, the head alone
 * parses to the same length. Exact-size copies let ASan catch reads past the end. */
static void check_stable(const char *buf, size_t n)
{
	char *copy = malloc(n);

	CHECK(copy != NULL);
	memcpy(copy, buf, n);
	CHECK(http1_request_parse(copy, n, FUZZ_MAX_HEADERS, &req) == (int)n);
	free(copy);
	copy = malloc(n - 1);
	CHECK(copy != NULL);
	memcpy(copy, buf, n - 1);
	CHECK(http1_request_parse(copy, n - 1, FUZZ_MAX_HEADERS, &req) == 0);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	int n = http1_request_parse(buf, size, FUZZ_MAX_HEADERS, &req);

	CHECK(n >= -1 && (n < 0 || (size_t)n <= size));
	if (n < 0) {
		CHECK(req.error != HTTP1_ERR_NONE && req.error_detail != NULL);
		return 0;
	}
	if (n == 0)
		return 0;
	CHECK(req.error == HTTP1_ERR_NONE);
	CHECK(req.version_minor == 0 || req.version_minor == 1);
	CHECK(fuzz_slice_inside(req.method, buf, (size_t)n));
	CHECK(fuzz_slice_inside(req.target, buf, (size_t)n));
	CHECK(req.method.len > 0 && req.target.len > 0);
	check_head_bytes(buf, (size_t)n);
	check_fields(buf, (size_t)n);
	if (req.framing == HTTP1_BODY_CHUNKED) {
		struct http1_chunked c;
		bool done;
		http1_chunked_init(&c);
		ssize_t r = http1_chunked_parse(&c, buf + n, size - (size_t)n, &done);
		CHECK(r >= -1 && (r < 0 || (size_t)r <= size - (size_t)n));
	}
	check_stable(buf, (size_t)n);
	return 0;
}
