/* Tests for src/parse/http1_body.c: the chunked body scanner. Every message is scanned whole,
 * byte by byte and in every two-part split, and all ways must agree: a proxy reads bodies in
 * whatever pieces the network delivers. Pieces are exact-size heap copies for ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/http1_body.h"

/* What a whole scan ended with: bytes claimed by the message, done, or an error. */
struct outcome {
	size_t consumed;
	bool done;
	bool error;
};

static ssize_t feed(struct http1_chunked *c, const char *data, size_t len, bool *done)
{
	char *piece = malloc(len ? len : 1);
	ssize_t n;

	assert_non_null(piece);
	memcpy(piece, data, len);
	n = http1_chunked_parse(c, piece, len, done);
	free(piece);
	assert_true(n == -1 || (n >= 0 && (size_t)n <= len));
	return n;
}

/* Feeds raw in pieces of `step` bytes, with a first piece of `first` bytes. */
static struct outcome scan_pieces(const char *raw, size_t len, size_t first, size_t step)
{
	struct http1_chunked c;
	struct outcome out = {0, false, false};
	size_t off = 0, n = first < len ? first : len;

	http1_chunked_init(&c);
	for (;;) {
		ssize_t r = feed(&c, raw + off, n, &out.done);

		if (r < 0) {
			out.error = true;
			assert_non_null(c.error_detail);
			return out;
		}
		out.consumed += (size_t)r;
		/* Bytes are claimed up to the end of the message and no further. */
		if ((size_t)r < n)
			assert_true(out.done);
		off += n;
		if (out.done || off >= len)
			return out;
		n = step < len - off ? step : len - off;
	}
}

/* After an error, how much the earlier calls claimed depends on the split: not compared. */
static void assert_same(struct outcome a, struct outcome b, const char *how, size_t at)
{
	if ((!a.error && a.consumed != b.consumed) || a.done != b.done || a.error != b.error)
		fail_msg("%s at %zu: consumed %zu/%zu done %d/%d error %d/%d", how, at, a.consumed,
			 b.consumed, a.done, b.done, a.error, b.error);
}

/* Scans raw every way and checks all agree; returns the whole-buffer outcome. */
static struct outcome scan_every_split(const char *raw, size_t len)
{
	struct outcome whole = scan_pieces(raw, len, len, len);

	assert_same(whole, scan_pieces(raw, len, 1, 1), "byte by byte", 0);
	for (size_t i = 0; i <= len; i++)
		assert_same(whole, scan_pieces(raw, len, i, len), "two-part split", i);
	return whole;
}

/* A complete message, optionally followed by bytes of the next one that must not be claimed. */
static void assert_message(const char *raw, size_t len, size_t message_len)
{
	struct outcome o = scan_every_split(raw, len);

	assert_false(o.error);
	assert_true(o.done);
	assert_int_equal(o.consumed, message_len);
}

static void assert_refused(const char *raw, size_t len)
{
	struct outcome o = scan_every_split(raw, len);

	assert_true(o.error);
	assert_false(o.done);
}

/* Not yet complete and not wrong: every byte claimed, no error, not done. */
static void assert_incomplete(const char *raw, size_t len)
{
	struct outcome o = scan_every_split(raw, len);

	assert_false(o.error);
	assert_false(o.done);
	assert_int_equal(o.consumed, len);
}

#define MESSAGE(lit) assert_message((lit), sizeof(lit) - 1, sizeof(lit) - 1)
#define REFUSED(lit) assert_refused((lit), sizeof(lit) - 1)
#define INCOMPLETE(lit) assert_incomplete((lit), sizeof(lit) - 1)

#define REFUSE(fn, lit)                                                                            \
	static void fn(void **state)                                                               \
	{                                                                                          \
		REFUSED(lit);                                                                      \
	}

/* ---- accepted ---- */

static void test_single_chunk(void **state)
{
	MESSAGE("5\r\nhello\r\n0\r\n\r\n");
}

static void test_empty_body(void **state)
{
	MESSAGE("0\r\n\r\n");
	MESSAGE("000\r\n\r\n");
}

static void test_several_chunks_hex_sizes(void **state)
{
	MESSAGE("1\r\na\r\nA\r\n0123456789\r\nb\r\nhello world\r\n10\r\n0123456789abcdef\r\n"
		"0\r\n\r\n");
}

static void test_data_is_opaque(void **state)
{
	/* CR, LF, NUL and "0\r\n\r\n" inside chunk-data are data, not framing. */
	MESSAGE("9\r\n0\r\n\r\n\0\r\n\n\r\n0\r\n\r\n");
}

static void test_sixteen_digit_size(void **state)
{
	MESSAGE("0000000000000003\r\nabc\r\n0\r\n\r\n");
	INCOMPLETE("ffffffffffffffff\r\nabc");
	INCOMPLETE("7fffffffffffffff\r\n");
}

/* Decodes raw whole and byte by byte: both give want, and stop where the message ends. */
static void assert_decoded(const char *raw, size_t len, const char *want, size_t want_len,
			   size_t want_consumed)
{
	char out[256];
	size_t got = 0, total = 0, consumed = 0;
	bool done = false;
	struct http1_chunked c;

	http1_chunked_init(&c);
	assert_int_equal(http1_chunked_decode(&c, raw, len, out, &got, &done),
			 (ssize_t)want_consumed);
	assert_true(done);
	assert_int_equal(got, want_len);
	assert_memory_equal(out, want, want_len);
	http1_chunked_init(&c);
	done = false;
	for (size_t i = 0; i < len && !done; i++) {
		ssize_t n = http1_chunked_decode(&c, raw + i, 1, out + total, &got, &done);
		assert_true(n >= 0);
		consumed += (size_t)n;
		total += got;
	}
	assert_true(done);
	assert_int_equal(consumed, want_consumed);
	assert_int_equal(total, want_len);
	assert_memory_equal(out, want, want_len);
}

static void test_decode_gives_the_data_alone(void **state)
{
	static const char raw[] = "5;ext=\"x\"\r\nhello\r\n1\r\n \r\n6\r\nworld!\r\n0\r\n"
				  "Trailer-Field: t\r\n\r\nGET / HTTP/1.1\r\n";
	assert_decoded(raw, sizeof(raw) - 1, "hello world!", 12,
		       sizeof(raw) - 1 - (sizeof("GET / HTTP/1.1\r\n") - 1));
	/* Framing inside data is data. */
	assert_decoded("9\r\n0\r\n\r\n\0\r\n\n\r\n0\r\n\r\n", 19, "0\r\n\r\n\0\r\n\n", 9, 19);
	assert_decoded("0\r\n\r\n", 5, "", 0, 5);
}

/* gRPC's status travels in trailers: the decoder keeps the field lines, whatever the split. */
static void test_decode_keeps_trailers_when_asked(void **state)
{
	static const char raw[] = "2\r\nok\r\n0\r\ngrpc-status: 0\r\ngrpc-message: fine\r\n\r\n";
	const char *want = "grpc-status: 0\r\ngrpc-message: fine\r\n";
	(void)state;
	for (size_t split = 0; split <= sizeof(raw) - 1; split++) {
		struct http1_chunked c;
		char out[sizeof(raw)], trailers[64];
		size_t got = 0, got2 = 0;
		bool done = false;
		http1_chunked_init(&c);
		http1_chunked_keep_trailers(&c, trailers, sizeof(trailers));
		assert_int_equal(http1_chunked_decode(&c, raw, split, out, &got, &done),
				 (ssize_t)split);
		assert_int_equal(http1_chunked_decode(&c, raw + split, sizeof(raw) - 1 - split,
						      out + got, &got2, &done),
				 (ssize_t)(sizeof(raw) - 1 - split));
		assert_true(done);
		assert_int_equal(got + got2, 2);
		assert_int_equal(c.trailers_len, strlen(want));
		assert_memory_equal(trailers, want, strlen(want));
	}
	/* No trailers: nothing kept. A section past the caller's room is refused, not cut. */
	struct http1_chunked c;
	char out[64], small[8];
	size_t got;
	bool done;
	http1_chunked_init(&c);
	http1_chunked_keep_trailers(&c, small, sizeof(small));
	assert_int_equal(http1_chunked_decode(&c, "0\r\n\r\n", 5, out, &got, &done), 5);
	assert_true(done);
	assert_int_equal(c.trailers_len, 0);
	http1_chunked_init(&c);
	http1_chunked_keep_trailers(&c, small, sizeof(small));
	assert_int_equal(http1_chunked_decode(&c, "0\r\nx-long: 123\r\n\r\n", 20, out, &got, &done),
			 -1);
	assert_string_equal(c.error_detail, "trailer section too large");
}

static void test_decode_refuses_what_the_scan_refuses(void **state)
{
	char out[64];
	size_t got = 99;
	bool done;
	struct http1_chunked c;

	http1_chunked_init(&c);
	assert_int_equal(http1_chunked_decode(&c, "3\r\nabcX", 8, out, &got, &done), -1);
	assert_int_equal(got, 0);
	assert_false(done);
	assert_non_null(c.error_detail);
}

static void test_stops_at_message_end(void **state)
{
	static const char msg[] = "3\r\nabc\r\n0\r\n\r\n";
	static const char raw[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n";

	assert_message(raw, sizeof(raw) - 1, sizeof(msg) - 1);
	assert_message("0\r\n\r\n0\r\n\r\n", 10, 5);
}

static void test_extensions(void **state)
{
	MESSAGE("5;foo=bar\r\nhello\r\n0\r\n\r\n");
	MESSAGE("5;foo\r\nhello\r\n0;last\r\n\r\n");
	MESSAGE("5;a=b;c;d=e\r\nhello\r\n0\r\n\r\n");
	MESSAGE("5;name=\"quoted \\\" value; with=stuff\"\r\nhello\r\n0\r\n\r\n");
	MESSAGE("5;q=\"\";r=\"caf\xc3\xa9\\\t\"\r\nhello\r\n0\r\n\r\n");
}

static void test_trailers(void **state)
{
	MESSAGE("5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\t\r\n\r\n");
}

static void test_max_trailers(void **state)
{
	char raw[2048];
	size_t len = (size_t)snprintf(raw, sizeof(raw), "0\r\n");

	for (int i = 0; i < HTTP1_CHUNKED_MAX_TRAILERS; i++)
		len += (size_t)snprintf(raw + len, sizeof(raw) - len, "T%d: v\r\n", i);
	len += (size_t)snprintf(raw + len, sizeof(raw) - len, "\r\n");
	assert_message(raw, len, len);
}

static void test_max_line(void **state)
{
	/* A chunk-size line of exactly HTTP1_CHUNKED_MAX_LINE bytes, CRLF included. */
	char raw[HTTP1_CHUNKED_MAX_LINE + 16];
	size_t len = 0;

	raw[len++] = '1';
	raw[len++] = ';';
	while (len < HTTP1_CHUNKED_MAX_LINE - 2)
		raw[len++] = 'x';
	memcpy(raw + len, "\r\na\r\n0\r\n\r\n", 10);
	assert_message(raw, len + 10, len + 10);
}

static void test_every_prefix_incomplete(void **state)
{
	static const char raw[] = "5;e=\"v\"\r\nhello\r\n0\r\nT: 1\r\n\r\n";

	for (size_t i = 0; i < sizeof(raw) - 1; i++)
		assert_incomplete(raw, i);
}

static void test_calls_after_done(void **state)
{
	struct http1_chunked c;
	bool done = false;

	http1_chunked_init(&c);
	assert_int_equal(feed(&c, "0\r\n\r\n", 5, &done), 5);
	assert_true(done);
	assert_int_equal(feed(&c, "GET", 3, &done), 0);
	assert_true(done);
}

static void test_error_is_sticky(void **state)
{
	struct http1_chunked c;
	bool done = true;

	http1_chunked_init(&c);
	assert_int_equal(feed(&c, "z", 1, &done), -1);
	assert_false(done);
	assert_non_null(c.error_detail);
	assert_int_equal(feed(&c, "0\r\n\r\n", 5, &done), -1);
	assert_int_equal(feed(&c, "", 0, &done), -1);
}

static bool is_tchar_ref(int c)
{
	return c > 0 && c < 0x80 &&
	       (strchr("!#$%&'*+-.^_`|~", c) != NULL || (c >= '0' && c <= '9') ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

static bool scan_ok(const char *raw, size_t len)
{
	struct outcome o = scan_pieces(raw, len, len, len);

	return !o.error && o.done && o.consumed == len;
}

/* Trailer names take exactly the tchar set of head field names (a ':' ends the name). */
static void test_trailer_name_bytes(void **state)
{
	for (int c = 0; c < 256; c++) {
		char raw[] = "0\r\nX?Y: v\r\n\r\n";
		raw[4] = (char)c;
		bool ok = is_tchar_ref(c) || c == ':';
		if (scan_ok(raw, sizeof(raw) - 1) != ok)
			fail_msg("byte 0x%02x in a trailer name", c);
	}
}

/* Trailer values take VCHAR, obs-text, SP and HTAB, like head field values. */
static void test_trailer_value_bytes(void **state)
{
	for (int c = 0; c < 256; c++) {
		char raw[] = "0\r\nX: a?b\r\n\r\n";
		raw[7] = (char)c;
		bool ok = c == '\t' || (c >= 0x20 && c != 0x7f);
		if (scan_ok(raw, sizeof(raw) - 1) != ok)
			fail_msg("byte 0x%02x in a trailer value", c);
	}
}

/* ---- refused: sizes ---- */

REFUSE(test_size_not_hex, "g\r\nabc\r\n0\r\n\r\n")
REFUSE(test_size_empty, "\r\nabc\r\n0\r\n\r\n")
REFUSE(test_size_0x_prefix, "0x5\r\nhello\r\n0\r\n\r\n")
REFUSE(test_size_plus, "+5\r\nhello\r\n0\r\n\r\n")
REFUSE(test_size_minus, "-5\r\nhello\r\n0\r\n\r\n")
REFUSE(test_size_leading_space, " 5\r\nhello\r\n0\r\n\r\n")
REFUSE(test_size_trailing_space, "5 \r\nhello\r\n0\r\n\r\n")
REFUSE(test_size_trailing_tab, "5\t\r\nhello\r\n0\r\n\r\n")
REFUSE(test_size_overflow, "ffffffffffffffffff\r\nabc\r\n0\r\n\r\n")
REFUSE(test_size_seventeen_digits, "00000000000000005\r\nhello\r\n0\r\n\r\n")
REFUSE(test_size_bare_lf, "5\nhello\r\n0\r\n\r\n")
REFUSE(test_size_bare_cr, "5\rhello\r\n0\r\n\r\n")
REFUSE(test_size_nul, "5\0\r\nhello\r\n0\r\n\r\n")

/* ---- refused: extensions ---- */

REFUSE(test_ext_empty_name, "5;\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_missing_name, "5;=x\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_empty_value, "5;a=\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_space_before_semicolon, "5 ;a=b\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_space_after_semicolon, "5; a=b\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_space_around_equals, "5;a = b\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_unterminated_quote, "5;a=\"b\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_control_in_quote, "5;a=\"b\x01\"\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_text_after_quote, "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n")
REFUSE(test_ext_bare_lf, "5;a=b\nhello\r\n0\r\n\r\n")

/* ---- refused: data framing ---- */

REFUSE(test_data_too_long, "5\r\nhelloX\r\n0\r\n\r\n")
REFUSE(test_data_missing_crlf, "5\r\nhello0\r\n\r\n")
REFUSE(test_data_bare_lf, "5\r\nhello\n0\r\n\r\n")
REFUSE(test_data_bare_cr, "5\r\nhello\r0\r\n\r\n")

/* ---- refused: trailers and the end ---- */

REFUSE(test_trailer_obs_fold, "0\r\nX: a\r\n b\r\n\r\n")
REFUSE(test_trailer_leading_space, "0\r\n X: a\r\n\r\n")
REFUSE(test_trailer_space_before_colon, "0\r\nX : a\r\n\r\n")
REFUSE(test_trailer_empty_name, "0\r\n: a\r\n\r\n")
REFUSE(test_trailer_no_colon, "0\r\nX\r\n\r\n")
REFUSE(test_trailer_nul, "0\r\nX: a\0b\r\n\r\n")
REFUSE(test_trailer_bare_lf, "0\r\nX: a\n\r\n")
REFUSE(test_trailer_bare_cr, "0\r\nX: a\rb\r\n\r\n")
REFUSE(test_trailer_obs_text_in_name, "0\r\nX\xc3\xa9: a\r\n\r\n")
REFUSE(test_final_bare_lf, "0\r\n\n")
REFUSE(test_final_bare_cr, "0\r\n\rX")

static void test_too_many_trailers(void **state)
{
	char raw[2048];
	size_t len = (size_t)snprintf(raw, sizeof(raw), "0\r\n");

	for (int i = 0; i < HTTP1_CHUNKED_MAX_TRAILERS + 1; i++)
		len += (size_t)snprintf(raw + len, sizeof(raw) - len, "T%d: v\r\n", i);
	len += (size_t)snprintf(raw + len, sizeof(raw) - len, "\r\n");
	assert_refused(raw, len);
}

static void test_size_line_too_long(void **state)
{
	char raw[HTTP1_CHUNKED_MAX_LINE + 16];
	size_t len = 0;

	raw[len++] = '1';
	raw[len++] = ';';
	while (len < HTTP1_CHUNKED_MAX_LINE - 1)
		raw[len++] = 'x';
	memcpy(raw + len, "\r\na\r\n0\r\n\r\n", 10);
	assert_refused(raw, len + 10);
}

static void test_trailer_line_too_long(void **state)
{
	char raw[HTTP1_CHUNKED_MAX_LINE + 16];
	size_t len = (size_t)snprintf(raw, sizeof(raw), "0\r\nX: ");

	while (len < HTTP1_CHUNKED_MAX_LINE + 3)
		raw[len++] = 'v';
	memcpy(raw + len, "\r\n\r\n", 4);
	assert_refused(raw, len + 4);
}

#define T(fn) cmocka_unit_test(fn)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_single_chunk),
	    T(test_decode_gives_the_data_alone),
	    T(test_decode_keeps_trailers_when_asked),
	    T(test_decode_refuses_what_the_scan_refuses),
	    T(test_empty_body),
	    T(test_several_chunks_hex_sizes),
	    T(test_data_is_opaque),
	    T(test_sixteen_digit_size),
	    T(test_stops_at_message_end),
	    T(test_extensions),
	    T(test_trailers),
	    T(test_max_trailers),
	    T(test_max_line),
	    T(test_every_prefix_incomplete),
	    T(test_calls_after_done),
	    T(test_trailer_name_bytes),
	    T(test_trailer_value_bytes),
	    T(test_error_is_sticky),
	    T(test_size_not_hex),
	    T(test_size_empty),
	    T(test_size_0x_prefix),
	    T(test_size_plus),
	    T(test_size_minus),
	    T(test_size_leading_space),
	    T(test_size_trailing_space),
	    T(test_size_trailing_tab),
	    T(test_size_overflow),
	    T(test_size_seventeen_digits),
	    T(test_size_bare_lf),
	    T(test_size_bare_cr),
	    T(test_size_nul),
	    T(test_ext_empty_name),
	    T(test_ext_missing_name),
	    T(test_ext_empty_value),
	    T(test_ext_space_before_semicolon),
	    T(test_ext_space_after_semicolon),
	    T(test_ext_space_around_equals),
	    T(test_ext_unterminated_quote),
	    T(test_ext_control_in_quote),
	    T(test_ext_text_after_quote),
	    T(test_ext_bare_lf),
	    T(test_data_too_long),
	    T(test_data_missing_crlf),
	    T(test_data_bare_lf),
	    T(test_data_bare_cr),
	    T(test_trailer_obs_fold),
	    T(test_trailer_leading_space),
	    T(test_trailer_space_before_colon),
	    T(test_trailer_empty_name),
	    T(test_trailer_no_colon),
	    T(test_trailer_nul),
	    T(test_trailer_bare_lf),
	    T(test_trailer_bare_cr),
	    T(test_trailer_obs_text_in_name),
	    T(test_final_bare_lf),
	    T(test_final_bare_cr),
	    T(test_too_many_trailers),
	    T(test_size_line_too_long),
	    T(test_trailer_line_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
