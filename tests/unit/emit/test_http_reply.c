/* Tests src/emit/http_reply.c: the status line, the RFC 9209 Proxy-Status header with an RFC 8941
 * sf-string, a Content-Length that frames the body exactly, Connection: close on request, and a
 * body that tells an agent what was blocked, by which rule, and whether retrying can help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit/http_reply.h"

struct reply {
	char raw[HTTP_REPLY_MAX + 1];
	size_t len;
	char head[HTTP_REPLY_MAX + 1]; /* status line and fields, each ending "\r\n" */
	const char *body;
	size_t body_len;
};

static void format(const struct http_reply_facts *f, struct reply *r)
{
	r->len = http_reply_format(f, r->raw);
	assert_true(r->len > 0 && r->len < HTTP_REPLY_MAX);
	r->raw[r->len] = '\0';
	const char *end = strstr(r->raw, "\r\n\r\n");
	assert_non_null(end);
	size_t head_len = (size_t)(end - r->raw) + 2;
	memcpy(r->head, r->raw, head_len);
	r->head[head_len] = '\0';
	r->body = end + 4;
	r->body_len = r->len - (size_t)(r->body - r->raw);
	/* RFC 9112 §2.2: the head is lines ending CRLF; no bare CR or LF, no other controls. */
	for (size_t i = 0; i < head_len; i++) {
		unsigned char c = (unsigned char)r->head[i];
		if (c == '\r')
			assert_int_equal(r->head[i + 1], '\n');
		else if (c == '\n')
			assert_int_equal(r->head[i - 1], '\r');
		else if (c < 0x20 || c >= 0x7f)
			fail_msg("head byte 0x%02x at %zu", c, i);
	}
}

/* The value of the header named `name` (with ": "), or NULL. */
static const char *header(const struct reply *r, const char *name, char *out, size_t cap)
{
	char key[64];
	snprintf(key, sizeof(key), "\r\n%s: ", name);
	const char *at = strstr(r->head, key);
	if (at == NULL)
		return NULL;
	at += strlen(key);
	const char *eol = strstr(at, "\r\n");
	size_t n = (size_t)(eol - at);
	assert_true(n < cap);
	memcpy(out, at, n);
	out[n] = '\0';
	assert_null(strstr(eol, key)); /* exactly once */
	return out;
}

static void assert_body_has(const struct reply *r, const char *part)
{
	char body[HTTP_REPLY_MAX + 1];
	memcpy(body, r->body, r->body_len);
	body[r->body_len] = '\0';
	if (strstr(body, part) == NULL)
		fail_msg("body lacks \"%s\":\n%s", part, body);
}

static void assert_body_lacks(const struct reply *r, const char *part)
{
	char body[HTTP_REPLY_MAX + 1];
	memcpy(body, r->body, r->body_len);
	body[r->body_len] = '\0';
	if (strstr(body, part) != NULL)
		fail_msg("body has \"%s\":\n%s", part, body);
}

static void assert_content_length_exact(const struct reply *r)
{
	char v[64];
	assert_non_null(header(r, "Content-Length", v, sizeof(v)));
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	assert_true(*end == '\0' && end != v);
	assert_int_equal(n, r->body_len);
}

static struct reply rep;

static struct http_reply_facts metadata_facts(void)
{
	return (struct http_reply_facts){
	    .reason = REASON_IP_METADATA,
	    .method = "GET",
	    .host = "169.254.169.254",
	    .port = 80,
	    .rule = "builtin: cloud-metadata 169.254.169.254",
	};
}

static void test_status_line(void **state)
{
	struct http_reply_facts f = metadata_facts();
	format(&f, &rep);
	assert_memory_equal(rep.raw, "HTTP/1.1 403 Forbidden\r\n", 24);
}

static void test_status_line_per_reason(void **state)
{
	for (int r = 1; r < REASON__COUNT; r++) {
		const struct reason_info *info = reason_info((enum reason)r);
		if (info->status == 0)
			continue;
		struct http_reply_facts f = {
		    .reason = (enum reason)r, .host = "h.example", .port = 1};
		char want[64];
		format(&f, &rep);
		snprintf(want, sizeof(want), "HTTP/1.1 %d %s\r\n", info->status,
			 http_reply_status_text(info->status));
		assert_memory_equal(rep.raw, want, strlen(want));
		/* Every status sluice sends has its own reason phrase. */
		assert_string_not_equal(http_reply_status_text(info->status), "Error");
	}
}

static void test_proxy_status_header(void **state)
{
	struct http_reply_facts f = metadata_facts();
	char v[1024];
	format(&f, &rep);
	assert_non_null(header(&rep, "Proxy-Status", v, sizeof(v)));
	assert_string_equal(
	    v, "sluice; error=destination_ip_prohibited; details=\"ip_metadata; rule "
	       "builtin: cloud-metadata 169.254.169.254; policy decision, not a network "
	       "fault: retrying will not help\"");
}

static void test_proxy_status_with_detail(void **state)
{
	struct http_reply_facts f = {.reason = REASON_SMUGGLING,
				     .method = "POST",
				     .detail = "both Content-Length and "
					       "Transfer-Encoding"};
	char v[1024];
	format(&f, &rep);
	assert_memory_equal(rep.raw, "HTTP/1.1 400 Bad Request\r\n", 26);
	assert_non_null(header(&rep, "Proxy-Status", v, sizeof(v)));
	assert_string_equal(v,
			    "sluice; error=http_request_error; details=\"request_smuggling; both "
			    "Content-Length and Transfer-Encoding\"");
}

/* RFC 8941 §3.3.3: '"' and '\' are escaped; nothing outside printable ASCII may appear. */
static void test_proxy_status_sf_string_escaping(void **state)
{
	struct http_reply_facts f = metadata_facts();
	f.rule = "deny: \"q\" \\b";
	f.detail = "cr\rlf\nnul-free \x01\x7f\xc3\xa9 end";
	char v[1024];
	format(&f, &rep);
	assert_non_null(header(&rep, "Proxy-Status", v, sizeof(v)));
	assert_string_equal(v,
			    "sluice; error=destination_ip_prohibited; details=\"ip_metadata; rule "
			    "deny: \\\"q\\\" \\\\b; cr lf nul-free  ??? end; policy decision, "
			    "not a network fault: retrying will not help\"");
}

/* No header injection: a CR LF in any fact stays out of the head's line structure. */
static void test_no_header_injection(void **state)
{
	struct http_reply_facts f = metadata_facts();
	f.rule = "x\r\nSet-Cookie: a=b";
	f.detail = "\r\n\r\nHTTP/1.1 200 OK";
	f.host = "evil\r\nX-Injected: 1";
	format(&f, &rep);
	assert_null(strstr(rep.head, "\r\nSet-Cookie"));
	assert_null(strstr(rep.head, "\r\nX-Injected"));
	assert_content_length_exact(&rep);
}

static void test_content_length_exact(void **state)
{
	for (int r = 1; r < REASON__COUNT; r++) {
		struct http_reply_facts f = {.reason = (enum reason)r,
					     .method = "CONNECT",
					     .host = "example.com",
					     .port = 443,
					     .rule = "deny: example.com",
					     .detail = "some detail"};
		format(&f, &rep);
		assert_content_length_exact(&rep);
		f.host = NULL;
		f.rule = NULL;
		f.detail = NULL;
		f.method = NULL;
		format(&f, &rep);
		assert_content_length_exact(&rep);
	}
}

static void test_content_type_and_no_store(void **state)
{
	struct http_reply_facts f = metadata_facts();
	char v[256];
	format(&f, &rep);
	assert_non_null(header(&rep, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, "text/plain; charset=utf-8");
	assert_non_null(header(&rep, "Cache-Control", v, sizeof(v)));
	assert_string_equal(v, "no-store");
}

static void test_connection_close_only_when_asked(void **state)
{
	struct http_reply_facts f = metadata_facts();
	char v[64];
	format(&f, &rep);
	assert_null(header(&rep, "Connection", v, sizeof(v)));
	f.close = true;
	format(&f, &rep);
	assert_non_null(header(&rep, "Connection", v, sizeof(v)));
	assert_string_equal(v, "close");
	assert_content_length_exact(&rep);
}

static void test_body_names_destination_reason_and_rule(void **state)
{
	struct http_reply_facts f = metadata_facts();
	format(&f, &rep);
	assert_body_has(&rep, "169.254.169.254:80");
	assert_body_has(&rep, "ip_metadata");
	assert_body_has(&rep, reason_info(REASON_IP_METADATA)->summary);
	assert_body_has(&rep, "Rule: builtin: cloud-metadata 169.254.169.254");
	assert_body_has(&rep, "blocked request");
	assert_int_equal(rep.body[rep.body_len - 1], '\n');
}

static void test_body_says_tunnel_for_connect(void **state)
{
	struct http_reply_facts f = {.reason = REASON_DOMAIN_NOT_ALLOWED,
				     .method = "CONNECT",
				     .host = "evil.example",
				     .port = 443,
				     .rule = "allow: no pattern matches"};
	format(&f, &rep);
	assert_body_has(&rep, "blocked tunnel to evil.example:443");
	assert_body_has(&rep, "domain_not_allowed");
	assert_body_has(&rep, "Rule: allow: no pattern matches");
}

/* "fd00::1:443" would not say which part is the port: RFC 3986 §3.2.2 brackets IPv6. */
static void test_body_brackets_ipv6_host(void **state)
{
	struct http_reply_facts f = {.reason = REASON_IP_NON_GLOBAL,
				     .method = "CONNECT",
				     .host = "fd00::1",
				     .port = 443,
				     .rule = "builtin: unique-local fc00::/7"};
	format(&f, &rep);
	assert_body_has(&rep, "[fd00::1]:443");
}

static void test_body_without_rule_has_no_rule_line(void **state)
{
	struct http_reply_facts f = {
	    .reason = REASON_DNS_ERROR, .host = "nx.example", .port = 80, .rule = ""};
	format(&f, &rep);
	assert_body_lacks(&rep, "Rule:");
	f.rule = NULL;
	format(&f, &rep);
	assert_body_lacks(&rep, "Rule:");
}

static void test_body_without_host(void **state)
{
	struct http_reply_facts f = {.reason = REASON_BAD_REQUEST, .detail = "bad request line"};
	format(&f, &rep);
	assert_body_has(&rep, "bad_request");
	assert_body_has(&rep, "Detail: bad request line");
	assert_body_lacks(&rep, "policy decision");
}

static void test_body_policy_reasons_say_policy(void **state)
{
	for (int r = REASON_DOMAIN_DENIED; r <= REASON_PROXY_LOOP; r++) {
		struct http_reply_facts f = {.reason = (enum reason)r,
					     .method = "GET",
					     .host = "example.com",
					     .port = 80,
					     .rule = "deny: example.com"};
		format(&f, &rep);
		assert_body_has(&rep, "policy decision");
		assert_body_has(&rep, "not a network fault");
		assert_body_has(&rep, reason_token((enum reason)r));
		assert_body_has(&rep, "example.com:80");
	}
}

static void test_body_upstream_reasons_say_network(void **state)
{
	for (int r = REASON_DNS_ERROR; r <= REASON_UPSTREAM_TIMEOUT; r++) {
		struct http_reply_facts f = {
		    .reason = (enum reason)r, .method = "GET", .host = "example.com", .port = 8443};
		format(&f, &rep);
		assert_body_has(&rep, "network or upstream failure");
		assert_body_lacks(&rep, "blocked");
		assert_body_has(&rep, reason_token((enum reason)r));
		assert_body_has(&rep, "example.com:8443");
	}
}

/* Facts longer than anything parse/ or policy/ produce still give a bounded, well-framed
 * reply (or none), never a write past the buffers. */
static void test_over_long_facts(void **state)
{
	static char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	struct http_reply_facts f = {.reason = REASON_DOMAIN_DENIED,
				     .method = "GET",
				     .host = big,
				     .port = 443,
				     .rule = big,
				     .detail = big,
				     .close = true};
	size_t len = http_reply_format(&f, rep.raw);
	assert_true(len < HTTP_REPLY_MAX);
	if (len > 0) {
		format(&f, &rep);
		assert_content_length_exact(&rep);
	}
	f.host = "example.com";
	f.detail = NULL;
	f.rule = big;
	format(&f, &rep);
	assert_content_length_exact(&rep);
	assert_body_has(&rep, "example.com:443");
}

/* The longest facts sluice really has: a 253-byte name, a full rule, a parser detail. */
static void test_longest_real_facts_fit(void **state)
{
	static char host[254], rule[300];
	memset(host, 'h', sizeof(host) - 1);
	memset(rule, '"', sizeof(rule) - 1);
	struct http_reply_facts f = {.reason = REASON_NOT_A_PROXY_REQUEST,
				     .method = "CONNECT",
				     .host = host,
				     .port = 65535,
				     .rule = rule,
				     .detail =
					 "a parser detail of some length, as parse/http1 gives",
				     .close = true};
	format(&f, &rep);
	assert_content_length_exact(&rep);
	assert_body_has(&rep, host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_line),
	    cmocka_unit_test(test_status_line_per_reason),
	    cmocka_unit_test(test_proxy_status_header),
	    cmocka_unit_test(test_proxy_status_with_detail),
	    cmocka_unit_test(test_proxy_status_sf_string_escaping),
	    cmocka_unit_test(test_no_header_injection),
	    cmocka_unit_test(test_content_length_exact),
	    cmocka_unit_test(test_content_type_and_no_store),
	    cmocka_unit_test(test_connection_close_only_when_asked),
	    cmocka_unit_test(test_body_names_destination_reason_and_rule),
	    cmocka_unit_test(test_body_says_tunnel_for_connect),
	    cmocka_unit_test(test_body_brackets_ipv6_host),
	    cmocka_unit_test(test_body_without_rule_has_no_rule_line),
	    cmocka_unit_test(test_body_without_host),
	    cmocka_unit_test(test_body_policy_reasons_say_policy),
	    cmocka_unit_test(test_body_upstream_reasons_say_network),
	    cmocka_unit_test(test_over_long_facts),
	    cmocka_unit_test(test_longest_real_facts_fit),
	};
	return cmocka_run_group_tests_name("http_reply", tests, NULL, NULL);
}
