/* Tests src/emit/h2_translate.c: an HTTP/2 request's fields into one HTTP/1.1 head (request
 * line, Host from :authority, Cookie crumbs joined, te dropped, chunked framing when a body
 * has no length, CONNECT's authority-form, Connection: close), what is refused (no method, a
 * scheme other than https, CR/LF/NUL anywhere, unknown pseudo-fields, too many bytes), the
 * host field that disagrees with :authority, and a response head into HTTP/2 fields. */
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
