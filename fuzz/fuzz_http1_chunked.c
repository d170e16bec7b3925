/* Fuzz target for http1_chunked_parse and http1_chunked_decode: the same bytes scanned whole,
 * in two parts at a point taken from the input, and byte by byte must give the same answer,
 * and decoding must agree with the scan and give the same data for every split. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/http1_body.h"

#include "fuzz_check.h"

struct outcome {
	size_t consumed;
	bool done;
	bool error;
	char *data; /* decoded, when decoding */
	size_t data_len;
};

/* Exact-size copies so ASan sees any read past a piece. */
static ssize_t feed(struct http1_chunked *c, const char *data, size_t len, bool *done,
		    struct outcome *decoded)
{
	char *piece = malloc(len ? len : 1);
	ssize_t n;

	CHECK(piece != NULL);
	memcpy(piece, data, len);
	if (decoded) {
		size_t got = (size_t)-1;
		n = http1_chunked_decode(c, piece, len, decoded->data + decoded->data_len, &got,
					 done);
		CHECK(got <= len && (n < 0 ? got == 0 : got <= (size_t)n));
		decoded->data_len += got;
	} else {
		n = http1_chunked_parse(c, piece, len, done);
	}
	free(piece);
	CHECK(n == -1 || (n >= 0 && (size_t)n <= len));
	if (n >= 0 && (size_t)n < len)
		CHECK(*done);
	return n;
}

static struct outcome run(const char *buf, size_t len, size_t first, size_t step, bool decode)
{
	struct http1_chunked c;
	struct outcome out = {0, false, false, NULL, 0};
	size_t off = 0, n = first < len ? first : len;

	if (decode) {
		out.data = malloc(len ? len : 1);
		CHECK(out.data != NULL);
	}
	http1_chunked_init(&c);
	for (;;) {
		ssize_t r = feed(&c, buf + off, n, &out.done, decode ? &out : NULL);
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

static struct outcome scan(const char *buf, size_t len, size_t first, size_t step)
{
	return run(buf, len, first, step, false);
}

static void check_same(struct outcome a, struct outcome b)
{
	CHECK(a.error == b.error && a.done == b.done && (a.error || a.consumed == b.consumed));
}

/* Decoding in pieces frames as the scan did, and its data is the whole decode's. */
static void check_decode(const char *buf, size_t len, struct outcome whole, size_t first,
			 size_t step, const struct outcome *ref)
{
	struct outcome d = run(buf, len, first, step, true);
	check_same(whole, d);
	if (ref && !d.error)
		CHECK(d.data_len == ref->data_len && memcmp(d.data, ref->data, d.data_len) == 0);
	free(d.data);
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
	struct outcome ref = run(buf, len, len, len, true);
	check_same(whole, ref);
	check_decode(buf, len, whole, split, len, &ref);
	check_decode(buf, len, whole, 1, 1, &ref);
	free(ref.data);
	return 0;
}
