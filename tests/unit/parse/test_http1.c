/* Tests for src/parse/http1.c: strict request and response heads. Every refusal is its own
 * test, named after the spelling it refuses. Inputs are copied to exact-size heap buffers so
 * ASan catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse/http1.h"

static struct http1_request req;
static struct http1_response resp;
static char *last_buf; /* the copy the last parse read, for slice checks */

static char *copy_exact(const char *raw, size_t len)
{
	char *buf = malloc(len ? len : 1);

	assert_non_null(buf);
	memcpy(buf, raw, len);
	return buf;
}

/* The header-count limit the helpers pass; tests of the limit change it and restore it. */
static unsigned max_headers = HTTP1_DEFAULT_MAX_HEADERS;

static int request_parse_raw(const char *raw, size_t len)
{
	free(last_buf);
	last_buf = copy_exact(raw, len);
	return http1_request_parse(last_buf, len, max_headers, &req);
}

static int response_parse_raw(const char *raw, size_t len, bool head, bool connect)
{
	free(last_buf);
	last_buf = copy_exact(raw, len);
	return http1_response_parse(last_buf, len, max_headers, head, connect, &resp);
}

#define REQUEST(lit) request_parse_raw((lit), sizeof(lit) - 1)
#define RESPONSE(lit) response_parse_raw((lit), sizeof(lit) - 1, false, false)
#define RESPONSE_TO(lit, head, connect)                                                            \
	response_parse_raw((lit), sizeof(lit) - 1, (head), (connect))

static bool slice_is(struct slice s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static int teardown(void **state)
{
	free(last_buf);
	last_buf = NULL;
	return 0;
}

/* A refused request: -1, the given error, and a detail text for the log and the 400 body. */
static void assert_request_refused(const char *raw, size_t len, enum http1_error error)
{
	assert_int_equal(request_parse_raw(raw, len), -1);
	assert_int_equal(req.error, error);
	assert_non_null(req.error_detail);
}

static void assert_response_refused(const char *raw, size_t len, enum http1_error error)
{
	assert_int_equal(response_parse_raw(raw, len, false, false), -1);
	assert_int_equal(resp.error, error);
	assert_non_null(resp.error_detail);
}

#define REFUSE_REQUEST(fn, lit, err)                                                               \
	static void fn(void **state)                                                               \
	{                                                                                          \
		assert_request_refused((lit), sizeof(lit) - 1, (err));                             \
	}

#define REFUSE_RESPONSE(fn, lit, err)                                                              \
	static void fn(void **state)                                                               \
	{                                                                                          \
		assert_response_refused((lit), sizeof(lit) - 1, (err));                            \
	}

#define RL "POST /upload HTTP/1.1\r\nHost: example.com\r\n"

/* ---- smuggling spellings: each one refused on its own ---- */

REFUSE_REQUEST(test_te_chunked_trailing_comma, RL "Transfer-Encoding: chunked,\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_chunked_capitalised, RL "Transfer-Encoding: Chunked\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_chunked_upper_case, RL "Transfer-Encoding: CHUNKED\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_chunked_then_gzip, RL "Transfer-Encoding: chunked, gzip\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_xchunked, RL "Transfer-Encoding: xchunked\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_chunked_twice_in_list, RL "Transfer-Encoding: chunked, chunked\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_leading_comma, RL "Transfer-Encoding: , chunked\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_with_parameter, RL "Transfer-Encoding: chunked;q=1\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_empty, RL "Transfer-Encoding:\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_chunked_inner_space, RL "Transfer-Encoding: chun ked\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_gzip_unsupported, RL "Transfer-Encoding: gzip\r\n\r\n",
	       HTTP1_ERR_TE_UNSUPPORTED)
REFUSE_REQUEST(test_te_gzip_then_chunked_unsupported, RL "Transfer-Encoding: gzip, chunked\r\n\r\n",
	       HTTP1_ERR_TE_UNSUPPORTED)
REFUSE_REQUEST(test_te_and_cl, RL "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_and_te, RL "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_twice, RL "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_te_in_http10,
	       "POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_space_before_colon, RL "Content-Length : 5\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_te_tab_before_colon, RL "Transfer-Encoding\t: chunked\r\n\r\n",
	       HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_cl_plus_sign, RL "Content-Length: +5\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_minus_sign, RL "Content-Length: -1\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_list, RL "Content-Length: 5, 5\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_list_no_space, RL "Content-Length: 5,5\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_inner_space, RL "Content-Length:  5 5\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_hex, RL "Content-Length: 0x5\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_empty, RL "Content-Length:\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_above_int64, RL "Content-Length: 9223372036854775808\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_above_uint64, RL "Content-Length: 18446744073709551616\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_twice_equal, RL "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_cl_twice_differing, RL "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_obs_fold, RL "X-A: one\r\n two\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_obs_fold_tab, RL "X-A: one\r\n\ttwo\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_space_before_first_field, "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
	       HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_bare_lf_field_line, RL "X-A: 1\nX-B: 2\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_bare_lf_request_line, "GET / HTTP/1.1\nHost: a\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_bare_lf_end_of_head, RL "\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_bare_cr_in_value, RL "X-A: 1\r2\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_bare_cr_line_end, RL "X-A: 1\rX-B: 2\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_bare_cr_end_of_head, RL "\rX", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_bare_cr_in_target, "GET /a\rb HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_nul_in_value, RL "X-A: a\0b\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_nul_in_name, RL "X-\0A: a\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_vt_in_value, RL "X-A: a\vb\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_del_in_value,
	       RL "X-A: a\x7f"
		  "b\r\n\r\n",
	       HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_space_in_name, RL "X A: b\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_obs_text_in_name, RL "X-\xc3\xa9: b\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_empty_name, RL ": b\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_no_colon, RL "X-A\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_connection_connection, RL "Connection: connection\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_connection_content_length, RL "Connection: content-length\r\n\r\n",
	       HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_connection_transfer_encoding,
	       RL "Connection: keep-alive, Transfer-Encoding\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_connection_host, RL "Connection: HOST\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_REQUEST(test_connection_non_token, RL "Connection: close; x\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_connection_two_tokens_no_comma, RL "Connection: close keep-alive\r\n\r\n",
	       HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_connection_too_many,
	       RL "Connection: a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, "
		  "a16, a17\r\n\r\n",
	       HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_host_twice, "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_version_2_0, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", HTTP1_ERR_VERSION)
REFUSE_REQUEST(test_version_1_2, "GET / HTTP/1.2\r\nHost: a\r\n\r\n", HTTP1_ERR_VERSION)
REFUSE_REQUEST(test_version_0_9, "GET / HTTP/0.9\r\n\r\n", HTTP1_ERR_VERSION)
REFUSE_REQUEST(test_version_lower_case, "GET / http/1.1\r\nHost: a\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_version_two_digit_major, "GET / HTTP/11.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_version_missing, "GET /\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_version_trailing_space, "GET / HTTP/1.1 \r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_request_line_double_space, "GET  / HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_request_line_tab, "GET\t/ HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_request_line_empty_method, " / HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_method_non_token, "GE(T / HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_target_control, "GET /a\x01 HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_target_del, "GET /a\x7f HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_leading_empty_line, "\r\nGET / HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_REQUEST(test_leading_bare_lf, "\nGET / HTTP/1.1\r\n\r\n", HTTP1_ERR_MALFORMED)

/* A head of `start` then n field lines "X-i: v"; returns its length. The buffer is sized for
 * more than HTTP1_MAX_HEADERS_CAP fields. */
static char many_buf[32768];

static size_t head_with_fields(const char *start, int n)
{
	size_t len = (size_t)snprintf(many_buf, sizeof(many_buf), "%s", start);

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(many_buf + len, sizeof(many_buf) - len, "X-%d: v\r\n", i);
	len += (size_t)snprintf(many_buf + len, sizeof(many_buf) - len, "\r\n");
	return len;
}

#define GET_LINE "GET / HTTP/1.1\r\n"
#define OK_LINE "HTTP/1.1 200 OK\r\n"

/* One field over the default limit (100): 431, not a truncated head. */
static void test_too_many_headers(void **state)
{
	size_t len = head_with_fields(GET_LINE, HTTP1_DEFAULT_MAX_HEADERS + 1);

	assert_request_refused(many_buf, len, HTTP1_ERR_TOO_MANY_HEADERS);
}

static void test_exactly_max_headers(void **state)
{
	size_t len = head_with_fields(GET_LINE, HTTP1_DEFAULT_MAX_HEADERS);

	assert_int_equal(request_parse_raw(many_buf, len), (int)len);
	assert_int_equal(req.n_headers, HTTP1_DEFAULT_MAX_HEADERS);
}

/* With max_headers set to `configured`: a request head of `enforced` fields is accepted whole,
 * one more field is refused. */
static void assert_request_header_limit(unsigned configured, int enforced)
{
	size_t len;

	max_headers = configured;
	len = head_with_fields(GET_LINE, enforced);
	assert_int_equal(request_parse_raw(many_buf, len), (int)len);
	assert_int_equal(req.n_headers, enforced);
	len = head_with_fields(GET_LINE, enforced + 1);
	assert_request_refused(many_buf, len, HTTP1_ERR_TOO_MANY_HEADERS);
	max_headers = HTTP1_DEFAULT_MAX_HEADERS;
}

/* limits.max_request_headers: the limit the caller passes is the one enforced. */
static void test_configured_header_limit(void **state)
{
	assert_request_header_limit(5, 5);
	assert_request_header_limit(300, 300);
}

/* A limit above the array size is clamped to it (never a write past the array); 0 means 1. */
static void test_header_limit_clamped(void **state)
{
	assert_request_header_limit(100000, HTTP1_MAX_HEADERS_CAP);
	assert_request_header_limit(0, 1);
}

/* limits.max_response_headers: the same limit applies to a response head. */
static void test_response_header_limit(void **state)
{
	size_t len;

	max_headers = 10;
	len = head_with_fields(OK_LINE, 10);
	assert_int_equal(response_parse_raw(many_buf, len, false, false), (int)len);
	assert_int_equal(resp.n_headers, 10);
	len = head_with_fields(OK_LINE, 11);
	assert_int_equal(response_parse_raw(many_buf, len, false, false), -1);
	assert_int_equal(resp.error, HTTP1_ERR_TOO_MANY_HEADERS);
	max_headers = HTTP1_DEFAULT_MAX_HEADERS;
}

/* ---- accepted requests ---- */

static void test_get_absolute_form(void **state)
{
	static const char raw[] = "GET http://example.com/a?b=c HTTP/1.1\r\n"
				  "Host: example.com\r\n"
				  "User-Agent:   curl/8.0  \r\n"
				  "\r\n";

	assert_int_equal(REQUEST(raw), sizeof(raw) - 1);
	assert_int_equal(req.error, HTTP1_ERR_NONE);
	assert_true(slice_is(req.method, "GET"));
	assert_true(slice_is(req.target, "http://example.com/a?b=c"));
	assert_int_equal(req.version_minor, 1);
	assert_int_equal(req.n_headers, 2);
	assert_true(slice_is(req.headers[0].name, "Host"));
	assert_true(slice_is(req.headers[0].value, "example.com"));
	assert_true(slice_is(req.headers[1].name, "User-Agent"));
	assert_true(slice_is(req.headers[1].value, "curl/8.0"));
	assert_int_equal(req.host_index, 0);
	assert_int_equal(req.framing, HTTP1_BODY_NONE);
	assert_true(req.keep_alive);
	assert_false(req.expect_continue);
	/* Slices point into the caller's buffer: no copies. */
	assert_ptr_equal(req.method.ptr, last_buf);
	assert_ptr_equal(req.headers[0].value.ptr,
			 last_buf + strlen("GET http://example.com/a?b=c HTTP/1.1\r\nHost: "));
}

static void test_connect_authority_form(void **state)
{
	static const char raw[] = "CONNECT example.com:443 HTTP/1.1\r\n"
				  "Host: example.com:443\r\n"
				  "Proxy-Authorization: Basic YTpi\r\n"
				  "\r\n";

	assert_int_equal(REQUEST(raw), sizeof(raw) - 1);
	assert_true(slice_is(req.method, "CONNECT"));
	assert_true(slice_is(req.target, "example.com:443"));
	assert_int_equal(req.framing, HTTP1_BODY_NONE);
	assert_int_equal(req.host_index, 0);
}

static void test_post_content_length(void **state)
{
	static const char raw[] = "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";

	assert_int_equal(REQUEST(raw), sizeof(raw) - 1 - 5);
	assert_int_equal(req.framing, HTTP1_BODY_LENGTH);
	assert_int_equal(req.content_length, 5);
}

static void test_content_length_limits(void **state)
{
	assert_int_equal(REQUEST(RL "Content-Length: 0\r\n\r\n"), sizeof(RL) + 20);
	assert_int_equal(req.framing, HTTP1_BODY_LENGTH);
	assert_int_equal(req.content_length, 0);
	assert_true(REQUEST(RL "Content-Length: 0005\r\n\r\n") > 0);
	assert_int_equal(req.content_length, 5);
	assert_true(REQUEST(RL "Content-Length: 9223372036854775807\r\n\r\n") > 0);
	assert_int_equal(req.content_length, INT64_MAX);
	assert_true(REQUEST(RL "Content-Length:\t7 \r\n\r\n") > 0);
	assert_int_equal(req.content_length, 7);
}

static void test_post_chunked(void **state)
{
	static const char raw[] = RL "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";

	assert_int_equal(REQUEST(raw), sizeof(RL "Transfer-Encoding: chunked\r\n\r\n") - 1);
	assert_int_equal(req.framing, HTTP1_BODY_CHUNKED);
	assert_int_equal(REQUEST(RL "transfer-encoding:  chunked \r\n\r\n"),
			 sizeof(RL "transfer-encoding:  chunked \r\n\r\n") - 1);
	assert_int_equal(req.framing, HTTP1_BODY_CHUNKED);
}

static void test_pipelined_requests(void **state)
{
	static const char first[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
	static const char raw[] = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
				  "GET /b HTTP/1.1\r\nHost: b\r\n\r\n";

	assert_int_equal(REQUEST(raw), sizeof(first) - 1);
	assert_true(slice_is(req.target, "/a"));
	assert_int_equal(req.n_headers, 1);
	/* The next request starts where the first ended. */
	int n = http1_request_parse(last_buf + sizeof(first) - 1, sizeof(first) - 1,
				    HTTP1_DEFAULT_MAX_HEADERS, &req);
	assert_int_equal(n, sizeof(first) - 1);
	assert_true(slice_is(req.target, "/b"));
}

/* Every proper prefix of a valid head is "need more", never an error or a short head. */
static void assert_prefixes_need_more(const char *raw, size_t len, bool response)
{
	for (size_t i = 0; i < len; i++) {
		int rc =
		    response ? response_parse_raw(raw, i, false, false) : request_parse_raw(raw, i);
		if (rc != 0)
			fail_msg("prefix of %zu bytes returned %d", i, rc);
	}
	int rc =
	    response ? response_parse_raw(raw, len, false, false) : request_parse_raw(raw, len);
	assert_int_equal(rc, (int)len);
}

static void test_incomplete_request_prefixes(void **state)
{
	static const char raw[] = "POST http://h.example/p?q HTTP/1.1\r\n"
				  "Host: h.example\r\n"
				  "Connection: keep-alive, X-Hop\r\n"
				  "Expect: 100-continue\r\n"
				  "X-Empty:\r\n"
				  "X-Obs: caf\xc3\xa9\t \r\n"
				  "Content-Length: 12\r\n"
				  "\r\n";

	assert_prefixes_need_more(raw, sizeof(raw) - 1, false);
	assert_prefixes_need_more("GET / HTTP/1.0\r\n\r\n", 18, false);
}

static void test_incomplete_response_prefixes(void **state)
{
	static const char raw[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n";

	assert_prefixes_need_more(raw, sizeof(raw) - 1, true);
	assert_prefixes_need_more("HTTP/1.1 204\r\n\r\n", 16, true);
	assert_prefixes_need_more("HTTP/1.0 404 \r\n\r\n", 17, true);
}

static void test_keep_alive_semantics(void **state)
{
	assert_true(REQUEST("GET / HTTP/1.1\r\n\r\n") > 0);
	assert_true(req.keep_alive);
	assert_true(REQUEST("GET / HTTP/1.1\r\nConnection: close\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(REQUEST("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(REQUEST("GET / HTTP/1.0\r\n\r\n") > 0);
	assert_int_equal(req.version_minor, 0);
	assert_false(req.keep_alive);
	assert_true(REQUEST("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") > 0);
	assert_true(req.keep_alive);
	assert_true(REQUEST("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n") > 0);
	assert_false(req.keep_alive);
	assert_true(REQUEST("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
			    "Connection: close\r\n\r\n") > 0);
	assert_false(req.keep_alive);
}

static void test_connection_tokens(void **state)
{
	assert_true(REQUEST("GET / HTTP/1.1\r\nConnection: , close,,X-Hop ,\r\n"
			    "Connection: Upgrade\r\nConnection:\r\n\r\n") > 0);
	assert_int_equal(req.n_connection_tokens, 3);
	assert_true(slice_is(req.connection_tokens[0], "close"));
	assert_true(slice_is(req.connection_tokens[1], "X-Hop"));
	assert_true(slice_is(req.connection_tokens[2], "Upgrade"));
	assert_false(req.keep_alive);
	assert_true(REQUEST(RL "Connection: a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, "
			       "a13, a14, a15, a16\r\n\r\n") > 0);
	assert_int_equal(req.n_connection_tokens, HTTP1_MAX_CONNECTION_TOKENS);
}

static void test_expect_continue(void **state)
{
	assert_true(REQUEST(RL "Expect: 100-Continue\r\nContent-Length: 3\r\n\r\n") > 0);
	assert_true(req.expect_continue);
	assert_true(REQUEST(RL "Expect: something\r\n\r\n") > 0);
	assert_false(req.expect_continue);
}

static void test_host_variants(void **state)
{
	assert_true(REQUEST("GET / HTTP/1.1\r\nX: 1\r\nHost:\r\n\r\n") > 0);
	assert_int_equal(req.host_index, 1);
	assert_int_equal(req.headers[1].value.len, 0);
	assert_true(REQUEST("GET / HTTP/1.1\r\nX: 1\r\n\r\n") > 0);
	assert_int_equal(req.host_index, -1);
}

static void test_values_obs_text_and_ows(void **state)
{
	assert_true(REQUEST(RL "X-Name: \t caf\xc3\xa9 au  lait\t\r\n\r\n") > 0);
	assert_true(slice_is(req.headers[1].value, "caf\xc3\xa9 au  lait"));
	assert_true(REQUEST(RL "X-Empty:   \r\n\r\n") > 0);
	assert_int_equal(req.headers[1].value.len, 0);
}

static bool is_tchar_ref(int c)
{
	return c > 0 && c < 0x80 &&
	       (strchr("!#$%&'*+-.^_`|~", c) != NULL || (c >= '0' && c <= '9') ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
}

/* Field names take exactly the RFC 9110 tchar set (a ':' just ends the name early). */
static void test_name_bytes(void **state)
{
	for (int c = 0; c < 256; c++) {
		char raw[] = "GET / HTTP/1.1\r\nX?Y: v\r\n\r\n";
		raw[17] = (char)c;
		int rc = request_parse_raw(raw, sizeof(raw) - 1);
		bool ok = is_tchar_ref(c) || c == ':';
		if (ok ? rc != (int)sizeof(raw) - 1 : rc != -1)
			fail_msg("byte 0x%02x in a field name gave %d", c, rc);
	}
}

/* Field values take VCHAR, obs-text, SP and HTAB; every other control is refused. */
static void test_value_bytes(void **state)
{
	for (int c = 0; c < 256; c++) {
		char raw[] = "GET / HTTP/1.1\r\nX: a?b\r\n\r\n";
		raw[20] = (char)c;
		int rc = request_parse_raw(raw, sizeof(raw) - 1);
		bool ok = c == '\t' || (c >= 0x20 && c != 0x7f);
		if (ok ? rc != (int)sizeof(raw) - 1 : rc != -1)
			fail_msg("byte 0x%02x in a field value gave %d", c, rc);
	}
}

/* The request-target takes anything but controls and SP. */
static void test_target_bytes(void **state)
{
	for (int c = 0; c < 256; c++) {
		char raw[] = "GET /?x HTTP/1.1\r\n\r\n";
		raw[5] = (char)c;
		int rc = request_parse_raw(raw, sizeof(raw) - 1);
		bool ok = c > 0x20 && c != 0x7f;
		if (ok ? rc != (int)sizeof(raw) - 1 : rc != -1)
			fail_msg("byte 0x%02x in a request-target gave %d", c, rc);
	}
}

/* A bad line is refused as soon as it is complete, before the head ends. */
static void test_refused_before_head_complete(void **state)
{
	assert_request_refused(RL "Content-Length: 5, 5\r\n", sizeof(RL) + 21, HTTP1_ERR_SMUGGLING);
	assert_request_refused("GET / HTTP/1.1\nHo", 17, HTTP1_ERR_MALFORMED);
}

static void test_error_reset_between_parses(void **state)
{
	assert_request_refused(RL "X: \0\r\n\r\n", sizeof(RL) + 6, HTTP1_ERR_MALFORMED);
	assert_true(REQUEST("GET / HTTP/1.1\r\n\r\n") > 0);
	assert_int_equal(req.error, HTTP1_ERR_NONE);
	assert_null(req.error_detail);
	assert_int_equal(REQUEST(""), 0);
}

/* ---- responses ---- */

REFUSE_RESPONSE(test_response_te_and_cl,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		HTTP1_ERR_SMUGGLING)
REFUSE_RESPONSE(test_response_cl_twice,
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
		"Content-Length: 4\r\n\r\n",
		HTTP1_ERR_SMUGGLING)
REFUSE_RESPONSE(test_response_te_chunked_capitalised,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n", HTTP1_ERR_SMUGGLING)
REFUSE_RESPONSE(test_response_te_gzip, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		HTTP1_ERR_TE_UNSUPPORTED)
REFUSE_RESPONSE(test_response_te_http10, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		HTTP1_ERR_SMUGGLING)
REFUSE_RESPONSE(test_response_version_2, "HTTP/2.0 200 OK\r\n\r\n", HTTP1_ERR_VERSION)
REFUSE_RESPONSE(test_response_version_lower, "http/1.1 200 OK\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_status_two_digits, "HTTP/1.1 20 OK\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_status_four_digits, "HTTP/1.1 2000 OK\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_status_below_100, "HTTP/1.1 099 OK\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_status_above_599, "HTTP/1.1 600 OK\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_status_letters, "HTTP/1.1 2x0 OK\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_reason_control, "HTTP/1.1 200 O\x01K\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_bare_lf, "HTTP/1.1 200 OK\nX: y\r\n\r\n", HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_obs_fold, "HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n",
		HTTP1_ERR_MALFORMED)
REFUSE_RESPONSE(test_response_connection_content_length,
		"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 1\r\n\r\n",
		HTTP1_ERR_SMUGGLING)
REFUSE_RESPONSE(test_response_leading_empty_line, "\r\nHTTP/1.1 200 OK\r\n\r\n",
		HTTP1_ERR_MALFORMED)

static void test_response_200_content_length(void **state)
{
	static const char raw[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

	assert_int_equal(RESPONSE(raw), sizeof(raw) - 1 - 5);
	assert_int_equal(resp.version_minor, 1);
	assert_int_equal(resp.status, 200);
	assert_true(slice_is(resp.reason, "OK"));
	assert_int_equal(resp.framing, HTTP1_BODY_LENGTH);
	assert_int_equal(resp.content_length, 5);
	assert_true(resp.keep_alive);
}

static void test_response_chunked(void **state)
{
	assert_true(RESPONSE("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_CHUNKED);
	assert_true(resp.keep_alive);
}

static void test_response_close_delimited(void **state)
{
	assert_true(RESPONSE("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n") > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_CLOSE);
	assert_false(resp.keep_alive);
}

static void test_response_bodiless_statuses(void **state)
{
	assert_true(RESPONSE("HTTP/1.1 204 No Content\r\n\r\n") > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
	assert_true(resp.keep_alive);
	assert_true(RESPONSE("HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n") > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
	assert_true(resp.keep_alive);
	assert_true(RESPONSE_TO("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, false) > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
	assert_true(
	    RESPONSE_TO("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, false) > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
}

static void test_response_1xx(void **state)
{
	static const char raw[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";

	assert_int_equal(RESPONSE(raw), 25);
	assert_int_equal(resp.status, 100);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
	assert_true(RESPONSE("HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n") > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
}

static void test_response_101(void **state)
{
	assert_true(RESPONSE("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			     "Upgrade: websocket\r\n\r\n") > 0);
	assert_int_equal(resp.status, 101);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
	assert_int_equal(resp.n_connection_tokens, 1);
}

static void test_response_to_connect(void **state)
{
	assert_true(RESPONSE_TO("HTTP/1.1 200 Connection established\r\n\r\n", false, true) > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_NONE);
	assert_true(
	    RESPONSE_TO("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\n", false, true) > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_LENGTH);
}

static void test_response_reason_variants(void **state)
{
	assert_int_equal(RESPONSE("HTTP/1.1 200\r\n\r\n"), 16);
	assert_int_equal(resp.reason.len, 0);
	assert_int_equal(RESPONSE("HTTP/1.1 200 \r\n\r\n"), 17);
	assert_int_equal(resp.reason.len, 0);
	assert_true(RESPONSE("HTTP/1.1 404 Not \xc3\xa9 Found\t\r\n\r\n") > 0);
	assert_true(slice_is(resp.reason, "Not \xc3\xa9 Found\t"));
	assert_int_equal(resp.status, 404);
}

static void test_response_keep_alive(void **state)
{
	assert_true(RESPONSE("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n") > 0);
	assert_false(resp.keep_alive);
	assert_true(RESPONSE("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n"
			     "Connection: keep-alive\r\n\r\n") > 0);
	assert_true(resp.keep_alive);
	assert_true(RESPONSE("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n") >
		    0);
	assert_false(resp.keep_alive);
	/* Close-delimited framing ends the connection whatever Connection says. */
	assert_true(RESPONSE("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n") > 0);
	assert_int_equal(resp.framing, HTTP1_BODY_CLOSE);
	assert_false(resp.keep_alive);
}

/* ---- hop-by-hop and lookup ---- */

static void test_hop_by_hop(void **state)
{
	static const char *const hop[] = {
	    "Connection",
	    "keep-alive",
	    "PROXY-CONNECTION",
	    "TE",
	    "Trailer",
	    "Transfer-Encoding",
	    "Upgrade",
	    "Proxy-Authorization",
	    "proxy-authenticate",
	};
	struct slice tokens[] = {SLICE_LIT("X-Hop")};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		assert_true(http1_header_is_hop_by_hop(slice_from_cstr(hop[i]), NULL, 0));
	assert_false(http1_header_is_hop_by_hop(SLICE_LIT("Content-Length"), NULL, 0));
	assert_false(http1_header_is_hop_by_hop(SLICE_LIT("Host"), NULL, 0));
	assert_false(http1_header_is_hop_by_hop(SLICE_LIT("Trailers"), NULL, 0));
	assert_false(http1_header_is_hop_by_hop(SLICE_LIT("x-hop"), NULL, 0));
	assert_true(http1_header_is_hop_by_hop(SLICE_LIT("x-hop"), tokens, 1));
	assert_false(http1_header_is_hop_by_hop(SLICE_LIT("x-ho"), tokens, 1));
}

static void test_header_find(void **state)
{
	assert_true(REQUEST("GET / HTTP/1.1\r\nA: 1\r\nhost: h\r\nHOST-X: 2\r\n\r\n") > 0);
	assert_int_equal(http1_header_find(req.headers, req.n_headers, "Host"), 1);
	assert_int_equal(http1_header_find(req.headers, req.n_headers, "a"), 0);
	assert_int_equal(http1_header_find(req.headers, req.n_headers, "Cookie"), -1);
	assert_int_equal(http1_header_find(req.headers, 0, "a"), -1);
	assert_true(REQUEST("GET / HTTP/1.1\r\nX: 1\r\nx: 2\r\n\r\n") > 0);
	assert_int_equal(http1_header_find(req.headers, req.n_headers, "X"), 0);
}

static void test_idempotent_methods(void **state)
{
	(void)state;
	static const char *const yes[] = {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"};
	static const char *const no[] = {"POST", "PATCH", "CONNECT", "get",	 "Get",
					 "GETX", "GE",	  "",	     "PROPFIND", "DELETE "};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(http1_method_is_idempotent(slice_from_cstr(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(http1_method_is_idempotent(slice_from_cstr(no[i])));
}

#define T(fn) cmocka_unit_test_teardown(fn, teardown)

/* The first bytes of a tunnel: an HTTP request line begins so, anything else does not. */
static void test_request_prefix(void **state)
{
	assert_int_equal(http1_request_prefix("GET / HTTP/1.1\r\n", 16), 1);
	assert_int_equal(http1_request_prefix("PROPFIND /", 10), 1);
	assert_int_equal(http1_request_prefix("GE", 2), -1);
	assert_int_equal(http1_request_prefix("", 0), -1);
	assert_int_equal(http1_request_prefix(" GET", 4), 0);
	assert_int_equal(http1_request_prefix("SSH-2.0-OpenSSH\r\n", 17), 0); /* '-' then '.' */
	assert_int_equal(http1_request_prefix("\x16\x03\x01", 3), 0);
	assert_int_equal(http1_request_prefix("AAAAAAAAAAAAAAAAAAAAAAAAA", 25), 0); /* too long */
	assert_int_equal(http1_request_prefix("AAAAAAAAAAAAAAAAAAAAAAAA", 24), -1);
	assert_int_equal(http1_request_prefix("SSH-2.0-OpenSSH_9.2p1 Debian", 28), 0);
	assert_int_equal(http1_request_prefix("get / HTTP/1.1", 14), 0);
	assert_int_equal(http1_request_prefix("VERSION-CONTROL /", 17), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_prefix),
	    T(test_idempotent_methods),
	    T(test_te_chunked_trailing_comma),
	    T(test_te_chunked_capitalised),
	    T(test_te_chunked_upper_case),
	    T(test_te_chunked_then_gzip),
	    T(test_te_xchunked),
	    T(test_te_chunked_twice_in_list),
	    T(test_te_leading_comma),
	    T(test_te_with_parameter),
	    T(test_te_empty),
	    T(test_te_chunked_inner_space),
	    T(test_te_gzip_unsupported),
	    T(test_te_gzip_then_chunked_unsupported),
	    T(test_te_and_cl),
	    T(test_cl_and_te),
	    T(test_te_twice),
	    T(test_te_in_http10),
	    T(test_cl_space_before_colon),
	    T(test_te_tab_before_colon),
	    T(test_cl_plus_sign),
	    T(test_cl_minus_sign),
	    T(test_cl_list),
	    T(test_cl_list_no_space),
	    T(test_cl_inner_space),
	    T(test_cl_hex),
	    T(test_cl_empty),
	    T(test_cl_above_int64),
	    T(test_cl_above_uint64),
	    T(test_cl_twice_equal),
	    T(test_cl_twice_differing),
	    T(test_obs_fold),
	    T(test_obs_fold_tab),
	    T(test_space_before_first_field),
	    T(test_bare_lf_field_line),
	    T(test_bare_lf_request_line),
	    T(test_bare_lf_end_of_head),
	    T(test_bare_cr_in_value),
	    T(test_bare_cr_line_end),
	    T(test_bare_cr_end_of_head),
	    T(test_bare_cr_in_target),
	    T(test_nul_in_value),
	    T(test_nul_in_name),
	    T(test_vt_in_value),
	    T(test_del_in_value),
	    T(test_space_in_name),
	    T(test_obs_text_in_name),
	    T(test_empty_name),
	    T(test_no_colon),
	    T(test_connection_connection),
	    T(test_connection_content_length),
	    T(test_connection_transfer_encoding),
	    T(test_connection_host),
	    T(test_connection_non_token),
	    T(test_connection_two_tokens_no_comma),
	    T(test_connection_too_many),
	    T(test_host_twice),
	    T(test_version_2_0),
	    T(test_version_1_2),
	    T(test_version_0_9),
	    T(test_version_lower_case),
	    T(test_version_two_digit_major),
	    T(test_version_missing),
	    T(test_version_trailing_space),
	    T(test_request_line_double_space),
	    T(test_request_line_tab),
	    T(test_request_line_empty_method),
	    T(test_method_non_token),
	    T(test_target_control),
	    T(test_target_del),
	    T(test_leading_empty_line),
	    T(test_leading_bare_lf),
	    T(test_too_many_headers),
	    T(test_exactly_max_headers),
	    T(test_configured_header_limit),
	    T(test_header_limit_clamped),
	    T(test_response_header_limit),
	    T(test_get_absolute_form),
	    T(test_connect_authority_form),
	    T(test_post_content_length),
	    T(test_content_length_limits),
	    T(test_post_chunked),
	    T(test_pipelined_requests),
	    T(test_incomplete_request_prefixes),
	    T(test_incomplete_response_prefixes),
	    T(test_keep_alive_semantics),
	    T(test_connection_tokens),
	    T(test_expect_continue),
	    T(test_host_variants),
	    T(test_values_obs_text_and_ows),
	    T(test_name_bytes),
	    T(test_value_bytes),
	    T(test_target_bytes),
	    T(test_refused_before_head_complete),
	    T(test_error_reset_between_parses),
	    T(test_response_te_and_cl),
	    T(test_response_cl_twice),
	    T(test_response_te_chunked_capitalised),
	    T(test_response_te_gzip),
	    T(test_response_te_http10),
	    T(test_response_version_2),
	    T(test_response_version_lower),
	    T(test_response_status_two_digits),
	    T(test_response_status_four_digits),
	    T(test_response_status_below_100),
	    T(test_response_status_above_599),
	    T(test_response_status_letters),
	    T(test_response_reason_control),
	    T(test_response_bare_lf),
	    T(test_response_obs_fold),
	    T(test_response_connection_content_length),
	    T(test_response_leading_empty_line),
	    T(test_response_200_content_length),
	    T(test_response_chunked),
	    T(test_response_close_delimited),
	    T(test_response_bodiless_statuses),
	    T(test_response_1xx),
	    T(test_response_101),
	    T(test_response_to_connect),
	    T(test_response_reason_variants),
	    T(test_response_keep_alive),
	    T(test_hop_by_hop),
	    T(test_header_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
