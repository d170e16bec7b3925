/* Fuzz target for the decoders (policy/scan_decode): for each decoding, text decoded in one go
 * and decoded in pieces split anywhere through the smallest output buffer it allows give the
 * same bytes, and never more than the buffer holds; and data encoded by an independent
 * encoder (base64, hex, every byte percent-escaped) between separators decodes to exactly
 * itself. Input: the first byte picks the split, the rest is the text (and the data). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/scan_decode.h"

#include "fuzz_check.h"

#define OUT_MAX (1 << 17)

static char whole[OUT_MAX], pieces[OUT_MAX], encoded[OUT_MAX];

/* All of in through d, out_size bytes of buffer at a time, split at `split`. */
static size_t decode(enum scan_decoding kind, const char *in, size_t n, size_t split,
		     size_t out_size, char *out)
{
	struct scan_decoder d;
	size_t len = 0, got;

	scan_decoder_init(&d, kind);
	for (size_t from = 0, to = split; from < n; to = n) {
		while (from < to) {
			CHECK(len + out_size <= OUT_MAX);
			size_t used =
			    scan_decoder_feed(&d, in + from, to - from, out + len, out_size, &got);
			CHECK(used > 0 && used <= to - from && got <= out_size);
			from += used;
			len += got;
		}
	}
	CHECK(len + SCAN_DECODE_SLACK <= OUT_MAX);
	len += scan_decoder_end(&d, out + len, SCAN_DECODE_SLACK);
	return len;
}

static size_t encode(enum scan_decoding kind, const uint8_t *p, size_t n, char *out)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char hex[] = "0123456789abcdef";
	size_t len = 0;

	out[len++] = '"';
	for (size_t i = 0; i < n; i++) {
		if (kind == SCAN_DECODE_HEX) {
			out[len++] = hex[p[i] >> 4];
			out[len++] = hex[p[i] & 15];
		} else if (kind == SCAN_DECODE_PERCENT) {
			out[len++] = '%';
			out[len++] = hex[p[i] >> 4];
			out[len++] = hex[p[i] & 15];
		} else if (i % 3 == 0) {
			uint32_t v = (uint32_t)p[i] << 16;
			v |= i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0;
			v |= i + 2 < n ? p[i + 2] : 0;
			out[len++] = b64[v >> 18];
			out[len++] = b64[(v >> 12) & 63];
			if (i + 1 < n)
				out[len++] = b64[(v >> 6) & 63];
			if (i + 2 < n)
				out[len++] = b64[v & 63];
		}
	}
	out[len++] = '"';
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 16384)
		return 0;
	const char *text = (const char *)data + 1;
	size_t n = size - 1, split = n ? data[0] % (n + 1) : 0;

	for (int k = 0; k < SCAN_DECODINGS; k++) {
		size_t a = decode((enum scan_decoding)k, text, n, n, OUT_MAX / 2, whole);
		size_t b =
		    decode((enum scan_decoding)k, text, n, split, SCAN_DECODE_SLACK + 1, pieces);
		CHECK(a == b && memcmp(whole, pieces, a) == 0);
		/* Each run's output ends with a newline. */
		CHECK(a == 0 || whole[a - 1] == '\n');

		size_t min = k == SCAN_DECODE_HEX ? SCAN_DECODE_HEX_MIN / 2 : 9;
		if (n < min || n > 4096)
			continue;
		size_t e = encode((enum scan_decoding)k, (const uint8_t *)text, n, encoded);
		size_t c = decode((enum scan_decoding)k, encoded, e, split % (e + 1),
				  SCAN_DECODE_SLACK + 1, pieces);
		CHECK(c == n + 1 && memcmp(pieces, text, n) == 0 && pieces[n] == '\n');
	}
	return 0;
}
