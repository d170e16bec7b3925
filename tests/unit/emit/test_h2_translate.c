/* Tests src/emit/h2_translate.c: an HTTP/2 request's fields into one HTTP/1.1 head (request
 * line, Host from :authority, Cookie crumbs joined, te dropped, chunked framing when a body
 * has no length, CONNECT's authority-form, Connection: close), what is refused (no method, a
 * scheme other than https, CR/LF/NUL anywhere, unknown pseudo-fields, too many bytes), the
 * host field that disagrees with :authority, and a response head into HTTP/2 fields. Toward
 * an HTTP/2 upstream: a request head into fields, a response head back into HTTP/1.1 (what
 * http_flow then parses), trailers both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "emit/h2_translate.h"

static struct h2_request_head h;
static struct buf out;

static int setup(void **state)
{
	h2_request_head_init(&h, NULL, 4096);
	buf_init(&out, NULL);
	return 0;
}

static int teardown(void **state)
{
	h2_request_head_fini(&h);
	buf_release(&out);
	return 0;
}

static enum h2_field_result f(const char *name, const char *value)
{
	return h2_request_head_field(&h, slice_from_cstr(name), slice_from_cstr(value));
}

static void get(const char *path)
{
	f(":method", "GET");
	f(":scheme", "https");
	f(":authority", "api.example.com");
	f(":path", path);
}

/* Writes the head and compares it with want (NULL: refused). */
static void head_is(bool end_stream, const char *want, bool want_chunked)
{
	bool chunked = !want_chunked;
	bool ok = h2_request_head_write(&h, end_stream, &out, &chunked);
	if (!want) {
		assert_false(ok);
		assert_non_null(h.detail);
		return;
	}
	assert_true(ok);
	assert_int_equal(buf_len(&out), strlen(want));
	assert_memory_equal(buf_head(&out), want, strlen(want));
	assert_int_equal(chunked, want_chunked);
}

static void test_get(void **state)
{
	get("/repos/our-org/app?x=1");
	f("user-agent", "curl/7.88.1");
	f("accept", "*/*");
	head_is(true,
		"GET /repos/our-org/app?x=1 HTTP/1.1\r\nhost: api.example.com\r\n"
		"user-agent: curl/7.88.1\r\naccept: */*\r\nconnection: close\r\n\r\n",
		false);
}

static void test_cookies_joined_te_dropped(void **state)
{
	get("/");
	f("cookie", "a=1");
	f("te", "trailers");
	f("cookie", "b=2");
	f("x-y", "z");
	f("cookie", "c=3");
	head_is(true,
		"GET / HTTP/1.1\r\nhost: api.example.com\r\nx-y: z\r\ncookie: a=1; b=2; c=3\r\n"
		"connection: close\r\n\r\n",
		false);
}

static void test_body_framing(void **state)
{
	f(":method", "POST");
	f(":scheme", "https");
	f(":path", "/upload");
	f(":authority", "api.example.com:8443");
	head_is(false,
		"POST /upload HTTP/1.1\r\nhost: api.example.com:8443\r\n"
		"transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
		true);
	buf_release(&out);
	h2_request_head_fini(&h);
	h2_request_head_init(&h, NULL, 4096);
	f(":method", "PUT");
	f(":scheme", "https");
	f(":path", "/x");
	f(":authority", "a.test");
	f("content-length", "5");
	head_is(false,
		"PUT /x HTTP/1.1\r\nhost: a.test\r\ncontent-length: 5\r\nconnection: close\r\n\r\n",
		false);
}

static void test_connect_is_authority_form(void **state)
{
	f(":method", "CONNECT");
	f(":authority", "db.internal:5432");
	head_is(true,
		"CONNECT db.internal:5432 HTTP/1.1\r\nhost: db.internal:5432\r\n"
		"connection: close\r\n\r\n",
		false);
}

static void test_host_field(void **state)
{
	/* The same name once; another name as a second Host line (http_flow's 400). */
	get("/");
	f("host", "API.example.com");
	head_is(true, "GET / HTTP/1.1\r\nhost: api.example.com\r\nconnection: close\r\n\r\n",
		false);
	buf_release(&out);
	h2_request_head_fini(&h);
	h2_request_head_init(&h, NULL, 4096);
	get("/");
	f("host", "evil.test");
	head_is(true,
		"GET / HTTP/1.1\r\nhost: api.example.com\r\nhost: evil.test\r\n"
		"connection: close\r\n\r\n",
		false);
}

static void test_refused(void **state)
{
	static const char *const bad[][2] = {
	    {"x-a", "1\r\nx-injected: 2"},
	    {"x-a", "v\n"},
	    {"x-a\r\nx-b", "v"},
	    {"x:a", "v"},
	    {"", "v"},
	    {":protocol", "websocket"},
	    {":path", "/a\r\n"},
	    {":method", "GET\r\nX"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setup(state);
		get("/");
		f(bad[i][0], bad[i][1]);
		head_is(true, NULL, false);
		assert_int_equal(buf_len(&out), 0);
		teardown(state);
	}
	/* A NUL inside a value. */
	setup(state);
	get("/");
	h2_request_head_field(&h, SLICE_LIT("x-a"), slice_make("a\0b", 3));
	head_is(true, NULL, false);
	teardown(state);
	/* No method; http in TLS; no path. */
	setup(state);
	f(":scheme", "https");
	f(":path", "/");
	head_is(true, NULL, false);
	teardown(state);
	setup(state);
	f(":method", "GET");
	f(":scheme", "http");
	f(":path", "/");
	head_is(true, NULL, false);
	teardown(state);
	setup(state);
	f(":method", "GET");
	f(":scheme", "https");
	head_is(true, NULL, false);
	teardown(state);
}

static void test_too_large(void **state)
{
	char big[1024];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	get("/");
	enum h2_field_result r = H2_FIELD_OK;
	for (int i = 0; i < 8 && r == H2_FIELD_OK; i++)
		r = f("x-big", big);
	assert_int_equal(r, H2_FIELD_TOO_LARGE);
}

static void test_response_fields(void **state)
{
	static const char head[] =
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: t=5\r\n"
	    "Transfer-Encoding: chunked\r\nSet-Cookie: a=1\r\n\r\n";
	static struct http1_response resp;
	static char names[HTTP1_MAX_HEADERS_CAP][H2_TRANSLATE_NAME_MAX];
	static struct h2_field fields[HTTP1_MAX_HEADERS_CAP + 1];
	char status[4];

	assert_true(http1_response_parse(head, sizeof(head) - 1, 100, false, false, &resp) > 0);
	size_t n = h2_response_fields(&resp, status, names, fields);
	assert_int_equal(n, 3);
	assert_true(slice_eq_cstr_nocase(fields[0].name, ":status"));
	assert_memory_equal(fields[0].value.ptr, "200", 3);
	assert_int_equal(fields[1].name.len, 12);
	assert_memory_equal(fields[1].name.ptr, "content-type", 12);
	assert_memory_equal(fields[2].name.ptr, "set-cookie", 10);
	assert_memory_equal(fields[2].value.ptr, "a=1", 3);
}

/* ---- toward an HTTP/2 upstream ---- */

static const char *field_value(const struct h2_field *fs, size_t n, const char *name)
{
	static char v[256];
	for (size_t i = 0; i < n; i++)
		if (fs[i].name.len == strlen(name) &&
		    memcmp(fs[i].name.ptr, name, fs[i].name.len) == 0) {
			memcpy(v, fs[i].value.ptr, fs[i].value.len);
			v[fs[i].value.len] = '\0';
			return v;
		}
	return NULL;
}

static void test_upstream_request_fields(void **state)
{
	static const char head[] = "POST /v1/x?q=1 HTTP/1.1\r\n"
				   "Host: api.example.com\r\n"
				   "X-Token: abc\r\n"
				   "Connection: close, x-hop\r\n"
				   "X-Hop: 1\r\n"
				   "Transfer-Encoding: chunked\r\n"
				   "Expect: 100-continue\r\n"
				   "TE: gzip\r\n"
				   "\r\n";
	static struct http1_request req;
	static struct h2_field fs[HTTP1_MAX_HEADERS_CAP + H2_UPSTREAM_EXTRA_FIELDS];
	char lower[sizeof(head)];
	(void)state;
	assert_int_equal(http1_request_parse(head, sizeof(head) - 1, 64, &req), sizeof(head) - 1);
	size_t n = h2_upstream_request_fields(&req, lower, fs);
	/* the four pseudo-fields first, in order, then x-token, then te: trailers */
	assert_int_equal(n, 6);
	assert_string_equal(field_value(fs, n, ":method"), "POST");
	assert_string_equal(field_value(fs, n, ":scheme"), "https");
	assert_string_equal(field_value(fs, n, ":authority"), "api.example.com");
	assert_string_equal(field_value(fs, n, ":path"), "/v1/x?q=1");
	assert_true(fs[0].name.ptr[0] == ':' && fs[3].name.ptr[0] == ':');
	assert_string_equal(field_value(fs, n, "x-token"), "abc"); /* lower-cased */
	assert_string_equal(field_value(fs, n, "te"), "trailers");
	assert_null(field_value(fs, n, "x-hop"));
	assert_null(field_value(fs, n, "expect"));
	assert_null(field_value(fs, n, "host"));

	/* no Host, or a target that is not origin-form: cannot be said */
	static const char nohost[] = "GET / HTTP/1.1\r\nX: y\r\n\r\n";
	assert_true(http1_request_parse(nohost, sizeof(nohost) - 1, 64, &req) > 0);
	assert_int_equal(h2_upstream_request_fields(&req, lower, fs), 0);
	static const char absolute[] = "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n";
	assert_true(http1_request_parse(absolute, sizeof(absolute) - 1, 64, &req) > 0);
	assert_int_equal(h2_upstream_request_fields(&req, lower, fs), 0);
}

static void response_is(struct h2_response_head *rh, bool was_head, bool ended, const char *want,
			bool want_chunked)
{
	struct buf b;
	bool chunked = !want_chunked;
	buf_init(&b, NULL);
	bool ok = h2_response_head_write(rh, was_head, ended, &b, &chunked);
	if (!want) {
		assert_false(ok);
		assert_non_null(rh->detail);
	} else {
		assert_true(ok);
		assert_int_equal(buf_len(&b), strlen(want));
		assert_memory_equal(buf_head(&b), want, strlen(want));
		assert_int_equal(chunked, want_chunked);
		/* what http_flow then reads */
		static struct http1_response resp;
		assert_int_equal(
		    http1_response_parse(buf_head(&b), buf_len(&b), 64, was_head, false, &resp),
		    (int)strlen(want));
	}
	buf_release(&b);
}

static void rf(struct h2_response_head *rh, const char *name, const char *value)
{
	assert_int_equal(h2_response_head_field(rh, slice_from_cstr(name), slice_from_cstr(value)),
			 H2_FIELD_OK);
}

static void test_response_head(void **state)
{
	struct h2_response_head rh;
	(void)state;

	/* no length: chunked, so that trailers can follow */
	h2_response_head_init(&rh, NULL, 4096);
	rf(&rh, ":status", "200");
	rf(&rh, "content-type", "application/grpc");
	rf(&rh, "connection", "keep-alive"); /* forbidden in HTTP/2: dropped */
	response_is(&rh, false, false,
		    "HTTP/1.1 200 \r\ncontent-type: application/grpc\r\n"
		    "transfer-encoding: chunked\r\n\r\n",
		    true);
	h2_response_head_fini(&rh);

	/* ended with the head (gRPC's trailers-only): content-length: 0 */
	h2_response_head_init(&rh, NULL, 4096);
	rf(&rh, ":status", "200");
	rf(&rh, "grpc-status", "7");
	response_is(&rh, false, true,
		    "HTTP/1.1 200 \r\ngrpc-status: 7\r\ncontent-length: 0\r\n\r\n", false);
	h2_response_head_fini(&rh);

	/* a length, a HEAD, a 204, a 304: no framing added */
	h2_response_head_init(&rh, NULL, 4096);
	rf(&rh, ":status", "200");
	rf(&rh, "content-length", "5");
	response_is(&rh, false, false, "HTTP/1.1 200 \r\ncontent-length: 5\r\n\r\n", false);
	h2_response_head_fini(&rh);
	h2_response_head_init(&rh, NULL, 4096);
	rf(&rh, ":status", "200");
	response_is(&rh, true, false, "HTTP/1.1 200 \r\n\r\n", false);
	h2_response_head_fini(&rh);
	h2_response_head_init(&rh, NULL, 4096);
	rf(&rh, ":status", "204");
	response_is(&rh, false, false, "HTTP/1.1 204 \r\n\r\n", false);
	h2_response_head_fini(&rh);

	/* refused: no :status, a bad one, two, an unknown pseudo-field, CR/LF/NUL in a value */
	const char *bad[][2] = {{":status", "20"}, {":status", "600"}, {":status", "2x0"},
				{":path", "/"},	   {"x-a", "b\r\nc"},  {"x a", "b"}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h2_response_head_init(&rh, NULL, 4096);
		if (strcmp(bad[i][0], ":status") != 0)
			rf(&rh, ":status", "200");
		rf(&rh, bad[i][0], bad[i][1]);
		response_is(&rh, false, false, NULL, false);
		h2_response_head_fini(&rh);
	}
	h2_response_head_init(&rh, NULL, 4096);
	response_is(&rh, false, false, NULL, false);
	h2_response_head_fini(&rh);
	h2_response_head_init(&rh, NULL, 4096);
	rf(&rh, ":status", "200");
	rf(&rh, ":status", "200");
	response_is(&rh, false, false, NULL, false);
	h2_response_head_fini(&rh);

	/* past max: too large */
	h2_response_head_init(&rh, NULL, 16);
	rf(&rh, ":status", "200");
	assert_int_equal(h2_response_head_field(&rh, slice_from_cstr("x-long"),
						slice_from_cstr("0123456789abcdef")),
			 H2_FIELD_TOO_LARGE);
	h2_response_head_fini(&rh);
}

static void test_trailers(void **state)
{
	struct buf b;
	static struct h2_field fs[HTTP1_CHUNKED_MAX_TRAILERS];
	char lower[128];
	(void)state;

	buf_init(&b, NULL);
	assert_true(h2_trailer_line(SLICE_LIT("grpc-status"), SLICE_LIT("0"), &b, 64));
	assert_false(h2_trailer_line(SLICE_LIT("x"), SLICE_LIT("a\nb"), &b, 64));
	assert_false(h2_trailer_line(SLICE_LIT(":status"), SLICE_LIT("200"), &b, 64));
	assert_int_equal(buf_len(&b), strlen("grpc-status: 0\r\n"));
	buf_release(&b);

	static const char section[] = "Grpc-Status: 0\r\n"
				      "grpc-message:  all fine \r\n"
				      "Content-Length: 5\r\n"
				      "Transfer-Encoding: chunked\r\n"
				      "x-sum:abc\r\n";
	size_t n = h2_trailer_fields(slice_make(section, sizeof(section) - 1), lower, fs);
	assert_int_equal(n, 3);
	assert_string_equal(field_value(fs, n, "grpc-status"), "0");
	assert_string_equal(field_value(fs, n, "grpc-message"), "all fine");
	assert_string_equal(field_value(fs, n, "x-sum"), "abc");
	assert_null(field_value(fs, n, "content-length"));
	assert_int_equal(h2_trailer_fields(SLICE_LIT(""), lower, fs), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cookies_joined_te_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_body_framing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connect_is_authority_form, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_host_field, setup, teardown),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
	    cmocka_unit_test(test_response_fields),
	    cmocka_unit_test(test_upstream_request_fields),
	    cmocka_unit_test(test_response_head),
	    cmocka_unit_test(test_trailers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
