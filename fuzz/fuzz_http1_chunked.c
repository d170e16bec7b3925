/* Fuzz target for http1_chunked_parse: the same bytes scanned whole, in two parts at a point
 * taken from the input, and byte by byte must give the same answer.
 * Does not check data contents: the scanner only frames them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/http1_body.h"

#include "fuzz_check.h"

struct outcome {
	size_t consumed;
	bool done;
	bool error;
};

/* Exact-size copies so ASan sees any read past a piece. */
static ssize_t feed(struct http1_chunked *c, const char *data, size_t len, bool *done)
{
	char *piece = malloc(len ? len : 1);
	ssize_t n;

	CHECK(piece != NULL);
	memcpy(piece, data, len);
	n = http1_chunked_parse(c, piece, len, done);
	free(piece);
	CHECK(n == -1 || (n >= 0 && (size_t)n <= len));
	if (n >= 0 && (size_t)n < len)
		CHECK(*done);
	return n;
}

static struct outcome scan(const char *buf, size_t len, size_t first, size_t step)
{
	struct http1_chunked c;
	struct outcome out = {0, false, false};
	size_t off = 0, n = first < len ? first : len;

	http1_chunked_init(&c);
	for (;;) {
		ssize_t r = feed(&c, buf + off, n, &out.done);
		if (r < 0) {
			CHECK(c.error_detail != NULL && !out.done);
			out.error = true;
			return out;
		}
		out.consumed += (size_t)r;
		off += n;
		if (out.done || off >= len)
			return out;
		n = step < len - off ? step : len - off;
	}
}

static void check_same(struct outcome a, struct outcome b)
{
	CHECK(a.error == b.error && a.done == b.done && (a.error || a.consumed == b.consumed));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t split = ((size_t)data[0] << 8 | data[1]) % size;
	const char *buf = (const char *)data + 2;
	size_t len = size - 2;
	struct outcome whole = scan(buf, len, len, len);

	check_same(whole, scan(buf, len, split, len));
	check_same(whole, scan(buf, len, 1, 1));
	check_same(whole, scan(buf, len, split, 7));
	return 0;
}
