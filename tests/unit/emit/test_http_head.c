/* Tests src/emit/http_head.c: the request head sent upstream (origin-form target, sluice's Host,
 * hop-by-hop headers and the client's Host left out, Via, a route's rewrite and header rules,
 * chunked framing, HTTP/1.0 for a 1.0 client) and the response head sent to the client
 * (hop-by-hop headers left out, Connection: close or keep-alive, chunked framing, 1xx as is),
 * and that neither grows a buffer past its cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "emit/http_head.h"

#define CAP 65536

static struct http1_request req;
static struct http1_response resp;
static struct route route;
static struct buf out;
static char text[CAP + 1];

static int setup(void **state)
{
	memset(&route, 0, sizeof(route));
	memset(&out, 0, sizeof(out));
	return 0;
}

static int teardown(void **state)
{
	buf_release(&out);
	return 0;
}

static void parse_request(const char *head)
{
	assert_true(http1_request_parse(head, strlen(head), HTTP1_DEFAULT_MAX_HEADERS, &req) > 0);
}

static void parse_response(const char *head)
{
	assert_true(http1_response_parse(head, strlen(head), HTTP1_DEFAULT_MAX_HEADERS, false,
					 false, &resp) > 0);
}

static const char *out_text(void)
{
	memcpy(text, buf_head(&out), buf_len(&out));
	text[buf_len(&out)] = '\0';
	return text;
}

/* The request head for the parsed request to host:port with our pseudonym "sluice-0000abcd". */
static const char *request_head(const char *path, const char *host, uint16_t port,
				const struct route *rt)
{
	struct http_head_request h = {
	    .req = &req,
	    .path = slice_from_cstr(path),
	    .host = host,
	    .port = port,
	    .default_port = rt && rt->tls ? 443 : 80,
	    .route = rt,
	    .via = "sluice-0000abcd",
	};
	buf_release(&out);
	assert_true(http_head_format_request(&h, &out, CAP));
	return out_text();
}

static const char *response_head(bool keep_alive, int client_minor)
{
	buf_release(&out);
	assert_true(http_head_format_response(&resp, keep_alive, client_minor, NULL, 0, &out, CAP));
	return out_text();
}

static void test_request_origin_form_host_and_via(void **state)
{
	parse_request("GET http://public.test/a/b?q=1 HTTP/1.1\r\n"
		      "Host: public.test\r\n"
		      "Accept: */*\r\n"
		      "\r\n");
	assert_string_equal(request_head("/a/b?q=1", "public.test", 80, NULL),
			    "GET /a/b?q=1 HTTP/1.1\r\n"
			    "Host: public.test\r\n"
			    "Accept: */*\r\n"
			    "Via: 1.1 sluice-0000abcd\r\n"
			    "\r\n");
}

/* RFC 3986 §6.2.3: "http://h" and "http://h?q" ask for "/". */
static void test_request_empty_path_is_slash(void **state)
{
	parse_request("GET http://public.test HTTP/1.1\r\nHost: public.test\r\n\r\n");
	assert_string_equal(
	    request_head("", "public.test", 80, NULL),
	    "GET / HTTP/1.1\r\nHost: public.test\r\nVia: 1.1 sluice-0000abcd\r\n\r\n");
	parse_request("GET http://public.test?q HTTP/1.1\r\nHost: public.test\r\n\r\n");
	assert_string_equal(
	    request_head("?q", "public.test", 80, NULL),
	    "GET /?q HTTP/1.1\r\nHost: public.test\r\nVia: 1.1 sluice-0000abcd\r\n\r\n");
}

static void test_request_host_port_and_ipv6_brackets(void **state)
{
	parse_request("GET http://public.test:8080/ HTTP/1.1\r\nHost: public.test:8080\r\n\r\n");
	assert_non_null(
	    strstr(request_head("/", "public.test", 8080, NULL), "\r\nHost: public.test:8080\r\n"));
	parse_request("GET http://[2001:db8::10]/ HTTP/1.1\r\nHost: [2001:db8::10]\r\n\r\n");
	assert_non_null(
	    strstr(request_head("/", "2001:db8::10", 80, NULL), "\r\nHost: [2001:db8::10]\r\n"));
	assert_non_null(
	    strstr(request_head("/", "2001:db8::10", 81, NULL), "\r\nHost: [2001:db8::10]:81\r\n"));
}

/* RFC 9110 §7.6.1: Connection, the fields it names, and the other hop-by-hop fields stay on this
 * hop; so do the proxy credentials (§11.7). The client's Host is replaced by ours. */
static void test_request_hop_by_hop_headers_dropped(void **state)
{
	parse_request("GET http://public.test/ HTTP/1.1\r\n"
		      "Host: PUBLIC.test\r\n"
		      "Connection: keep-alive, X-Secret\r\n"
		      "Keep-Alive: timeout=5\r\n"
		      "Proxy-Connection: keep-alive\r\n"
		      "TE: trailers\r\n"
		      "Trailer: X-T\r\n"
		      "Upgrade: websocket\r\n"
		      "Proxy-Authorization: Basic YTpi\r\n"
		      "X-Secret: 1\r\n"
		      "X-Kept: yes\r\n"
		      "\r\n");
	assert_string_equal(request_head("/", "public.test", 80, NULL),
			    "GET / HTTP/1.1\r\n"
			    "Host: public.test\r\n"
			    "X-Kept: yes\r\n"
			    "Via: 1.1 sluice-0000abcd\r\n"
			    "\r\n");
}

/* A client Via is kept; ours is added after it (RFC 9110 §7.6.3). */
static void test_request_keeps_a_client_via(void **state)
{
	parse_request("GET http://public.test/ HTTP/1.1\r\nHost: public.test\r\n"
		      "Via: 1.1 other\r\n\r\n");
	assert_string_equal(request_head("/", "public.test", 80, NULL),
			    "GET / HTTP/1.1\r\nHost: public.test\r\nVia: 1.1 other\r\n"
			    "Via: 1.1 sluice-0000abcd\r\n\r\n");
}

/* The body framing header is hop-by-hop; a chunked body is announced again, Content-Length is
 * an end-to-end header and passes as sent. */
static void test_request_body_framing(void **state)
{
	parse_request("POST http://public.test/ HTTP/1.1\r\nHost: public.test\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n");
	assert_string_equal(request_head("/", "public.test", 80, NULL),
			    "POST / HTTP/1.1\r\nHost: public.test\r\n"
			    "Transfer-Encoding: chunked\r\nVia: 1.1 sluice-0000abcd\r\n\r\n");
	parse_request("POST http://public.test/ HTTP/1.1\r\nHost: public.test\r\n"
		      "Content-Length: 5\r\n\r\n");
	assert_string_equal(request_head("/", "public.test", 80, NULL),
			    "POST / HTTP/1.1\r\nHost: public.test\r\n"
			    "Content-Length: 5\r\nVia: 1.1 sluice-0000abcd\r\n\r\n");
}

/* RFC 9112 §6.1: a 1.0 client cannot read chunked; the upstream is asked in 1.0 too. */
static void test_request_http10_client_asks_in_http10(void **state)
{
	parse_request("GET http://public.test/ HTTP/1.0\r\n\r\n");
	assert_string_equal(
	    request_head("/", "public.test", 80, NULL),
	    "GET / HTTP/1.0\r\nHost: public.test\r\nVia: 1.1 sluice-0000abcd\r\n\r\n");
}

static void set_route_header(unsigned i, const char *name, const char *value, bool ready)
{
	strcpy(route.set_headers[i].name, name);
	strcpy(route.set_headers[i].value, value);
	route.set_headers[i].ready = ready;
}

/* On a route: the upstream's Host (its scheme's default port left out), the path rewritten, the
 * route's removed and set headers dropped from what the agent sent, its set headers added. */
static void test_request_on_a_route(void **state)
{
	strcpy(route.host, "search.internal");
	strcpy(route.upstream_host, "searxng");
	route.upstream_port = 8080;
	strcpy(route.upstream_base, "/searx");
	strcpy(route.remove_headers[0], "Cookie");
	route.n_remove_headers = 1;
	set_route_header(0, "Authorization", "Bearer s3cret", true);
	set_route_header(1, "X-Unresolved", "never", false);
	route.n_set_headers = 2;
	parse_request("GET http://search.internal/search?q=x HTTP/1.1\r\n"
		      "Host: search.internal\r\n"
		      "cookie: a=b\r\n"
		      "authorization: Basic agent-made\r\n"
		      "Accept: */*\r\n"
		      "\r\n");
	assert_string_equal(
	    request_head("/search?q=x", route.upstream_host, route.upstream_port, &route),
	    "GET /searx/search?q=x HTTP/1.1\r\n"
	    "Host: searxng:8080\r\n"
	    "Accept: */*\r\n"
	    "Authorization: Bearer s3cret\r\n"
	    "Via: 1.1 sluice-0000abcd\r\n"
	    "\r\n");
	route.tls = true;
	route.upstream_port = 443;
	assert_non_null(
	    strstr(request_head("/", route.upstream_host, 443, &route), "\r\nHost: searxng\r\n"));
	route.tls = false;
	assert_non_null(strstr(request_head("/", route.upstream_host, 443, &route),
			       "\r\nHost: searxng:443\r\n"));
}

static void test_request_does_not_grow_past_cap(void **state)
{
	struct http_head_request h = {
	    .req = &req,
	    .path = SLICE_LIT("/"),
	    .host = "public.test",
	    .port = 80,
	    .default_port = 80,
	    .via = "sluice-0000abcd",
	};
	parse_request("GET http://public.test/ HTTP/1.1\r\nHost: public.test\r\n\r\n");
	size_t len = strlen(request_head("/", "public.test", 80, NULL));
	buf_release(&out);
	assert_true(http_head_format_request(&h, &out, len));
	assert_int_equal(buf_len(&out), len);
	buf_release(&out);
	assert_false(http_head_format_request(&h, &out, len - 1));
	assert_true(buf_len(&out) <= len - 1);
}

static void test_response_hop_by_hop_dropped_and_keep_alive(void **state)
{
	parse_response("HTTP/1.1 200 OK\r\n"
		       "Content-Length: 2\r\n"
		       "Connection: X-Hop\r\n"
		       "X-Hop: 1\r\n"
		       "Keep-Alive: timeout=5\r\n"
		       "Proxy-Authenticate: Basic\r\n"
		       "Server: origin\r\n"
		       "\r\n");
	assert_string_equal(response_head(true, 1),
			    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: origin\r\n\r\n");
	assert_string_equal(response_head(false, 1), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
						     "Server: origin\r\nConnection: close\r\n\r\n");
	/* A 1.0 client keeps the connection only when told (RFC 9112 §9.3). */
	assert_string_equal(response_head(true, 0),
			    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
			    "Server: origin\r\nConnection: keep-alive\r\n\r\n");
}

static void test_response_chunked_announced_again(void **state)
{
	parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_string_equal(response_head(true, 1),
			    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
}

/* The reason phrase is the upstream's, also an empty one; the version is ours. */
static void test_response_status_line(void **state)
{
	parse_response("HTTP/1.0 404 Not Here\r\nContent-Length: 0\r\n\r\n");
	assert_string_equal(response_head(true, 1),
			    "HTTP/1.1 404 Not Here\r\nContent-Length: 0\r\n\r\n");
	parse_response("HTTP/1.1 204 \r\n\r\n");
	assert_string_equal(response_head(true, 1), "HTTP/1.1 204 \r\n\r\n");
}

/* An interim response is relayed without the final one's framing or Connection. */
static void test_response_interim_gets_nothing_added(void **state)
{
	parse_response("HTTP/1.1 100 Continue\r\n\r\n");
	assert_string_equal(response_head(false, 0), "HTTP/1.1 100 Continue\r\n\r\n");
}

static void test_response_does_not_grow_past_cap(void **state)
{
	parse_response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_false(http_head_format_response(&resp, false, 1, NULL, 0, &out, 40));
	assert_true(buf_len(&out) <= 40);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_request_origin_form_host_and_via, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_empty_path_is_slash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_host_port_and_ipv6_brackets, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_request_hop_by_hop_headers_dropped, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_request_keeps_a_client_via, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_body_framing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_http10_client_asks_in_http10, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_request_on_a_route, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_does_not_grow_past_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_hop_by_hop_dropped_and_keep_alive, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_response_chunked_announced_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_status_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_response_interim_gets_nothing_added, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_response_does_not_grow_past_cap, setup, teardown),
	};
	return cmocka_run_group_tests_name("http_head", tests, NULL, NULL);
}
