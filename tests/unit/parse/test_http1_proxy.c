/* Tests src/parse/http1_proxy.c: a request that names this proxy's pseudonym in Via has looped
 * back; Host must name the target's host and port (RFC 9112 §3.2.2, refused when it does not). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "parse/http1_proxy.h"

static struct http1_request req;
static char text[1024];

static void parse(const char *head)
{
	snprintf(text, sizeof(text), "%s", head);
	assert_true(http1_request_parse(text, strlen(text), 100, &req) > 0);
}

static struct authority target(const char *authority)
{
	struct authority a;
	const char *detail;
	assert_int_equal(authority_parse(slice_from_cstr(authority), 80, &a, &detail), 0);
	return a;
}

static void test_via_names_the_pseudonym(void **state)
{
	const struct slice us = SLICE_LIT("sluice-0a1b2c3d");

	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
	assert_false(http1_proxy_via_names(&req, us));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nVia: 1.1 squid\r\n\r\n");
	assert_false(http1_proxy_via_names(&req, us));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nVIA: 1.0 x, 1.1 "
	      "sluice-0a1b2c3d\r\n\r\n");
	assert_true(http1_proxy_via_names(&req, us));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nVia: 1.1 x\r\n"
	      "Via: 1.1 sluice-0a1b2c3d (sluice)\r\n\r\n");
	assert_true(http1_proxy_via_names(&req, us));
	/* Another sluice's pseudonym is not ours; an empty one matches nothing. */
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nVia: 1.1 sluice-ffffffff\r\n\r\n");
	assert_false(http1_proxy_via_names(&req, us));
	assert_false(http1_proxy_via_names(&req, SLICE_LIT("")));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\nVia: sluice-0a1b\r\n\r\n");
	assert_false(http1_proxy_via_names(&req, us));
}

static void test_host_agrees_with_the_target(void **state)
{
	struct authority t = target("a.test");

	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test\r\n\r\n");
	assert_true(http1_proxy_host_agrees(&req, &t));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: A.Test.\r\n\r\n");
	assert_true(http1_proxy_host_agrees(&req, &t));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test:80\r\n\r\n");
	assert_true(http1_proxy_host_agrees(&req, &t));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: b.test\r\n\r\n");
	assert_false(http1_proxy_host_agrees(&req, &t));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test:8080\r\n\r\n");
	assert_false(http1_proxy_host_agrees(&req, &t));
	parse("GET http://a.test/ HTTP/1.1\r\nHost: a.test@b.test\r\n\r\n");
	assert_false(http1_proxy_host_agrees(&req, &t));
	/* HTTP/1.1 needs Host; HTTP/1.0 may leave it out. */
	parse("GET http://a.test/ HTTP/1.1\r\n\r\n");
	assert_false(http1_proxy_host_agrees(&req, &t));
	parse("GET http://a.test/ HTTP/1.0\r\n\r\n");
	assert_true(http1_proxy_host_agrees(&req, &t));
	/* An address is compared as the address it denotes. */
	t = target("169.254.169.254");
	parse("GET http://169.254.169.254/ HTTP/1.1\r\nHost: 2852039166\r\n\r\n");
	assert_true(http1_proxy_host_agrees(&req, &t));
}

#define WS_HEAD(method, version, extra)                                                            \
	method " http://a.test/chat HTTP/" version "\r\nHost: a.test\r\n" extra "\r\n"

static void test_websocket_request(void **state)
{
	parse(WS_HEAD("GET", "1.1", "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
	assert_true(http1_proxy_websocket_request(&req));
	parse(WS_HEAD("GET", "1.1", "Connection: keep-alive, upgrade\r\nUpgrade:  WebSocket \r\n"));
	assert_true(http1_proxy_websocket_request(&req));
	/* Not one: another protocol, a list, two fields, no Connection token, not GET, 1.0, a body.
	 */
	parse(WS_HEAD("GET", "1.1", "Connection: Upgrade\r\nUpgrade: h2c\r\n"));
	assert_false(http1_proxy_websocket_request(&req));
	parse(WS_HEAD("GET", "1.1", "Connection: Upgrade\r\nUpgrade: websocket, h2c\r\n"));
	assert_false(http1_proxy_websocket_request(&req));
	parse(WS_HEAD("GET", "1.1",
		      "Connection: Upgrade\r\nUpgrade: websocket\r\nUpgrade: websocket\r\n"));
	assert_false(http1_proxy_websocket_request(&req));
	parse(WS_HEAD("GET", "1.1", "Upgrade: websocket\r\n"));
	assert_false(http1_proxy_websocket_request(&req));
	parse(WS_HEAD("POST", "1.1", "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
	assert_false(http1_proxy_websocket_request(&req));
	parse(WS_HEAD("GET", "1.0", "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
	assert_false(http1_proxy_websocket_request(&req));
	parse(WS_HEAD("GET", "1.1",
		      "Connection: Upgrade\r\nUpgrade: websocket\r\nContent-Length: 1\r\n"));
	assert_false(http1_proxy_websocket_request(&req));
}

static void test_websocket_accepted(void **state)
{
	static struct http1_response resp;
	static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\n\r\n";
	static const char other[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n"
				    "Connection: Upgrade\r\n\r\n";
	assert_true(http1_response_parse(ok, strlen(ok), 100, false, false, &resp) > 0);
	assert_true(http1_proxy_websocket_accepted(&resp));
	assert_true(http1_response_parse(other, strlen(other), 100, false, false, &resp) > 0);
	assert_false(http1_proxy_websocket_accepted(&resp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_via_names_the_pseudonym),
	    cmocka_unit_test(test_websocket_request),
	    cmocka_unit_test(test_websocket_accepted),
	    cmocka_unit_test(test_host_agrees_with_the_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
