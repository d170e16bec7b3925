/* Tests src/policy/reason.c: every reason has one stable, unique token, a status, a summary, and
 * (when it refuses a request) an error type from the RFC 9209 §2.3 registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "policy/reason.h"

/* RFC 9209 §2.3 and the IANA HTTP Proxy-Status Parameters registry. */
static const char *const registry[] = {
    "dns_timeout",
    "dns_error",
    "destination_not_found",
    "destination_unavailable",
    "destination_ip_prohibited",
    "destination_ip_unroutable",
    "connection_refused",
    "connection_terminated",
    "connection_timeout",
    "connection_read_timeout",
    "connection_write_timeout",
    "connection_limit_reached",
    "tls_protocol_error",
    "tls_certificate_error",
    "tls_alert_received",
    "http_request_error",
    "http_request_denied",
    "http_response_incomplete",
    "http_response_header_section_size",
    "http_response_header_size",
    "http_response_body_size",
    "http_response_trailer_section_size",
    "http_response_trailer_size",
    "http_response_transfer_coding",
    "http_response_content_coding",
    "http_response_timeout",
    "http_upgrade_failed",
    "http_protocol_error",
    "proxy_internal_response",
    "proxy_internal_error",
    "proxy_configuration_error",
    "proxy_loop_detected",
};

static bool in_registry(const char *type)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i], type) == 0)
			return true;
	return false;
}

/* A reason that sends the client a reply (status 0 means the connection just ends). */
static bool is_refusal(enum reason r)
{
	return r != REASON_ALLOWED && reason_info(r)->status != 0;
}

static void test_every_reason_has_info(void **state)
{
	for (int r = 0; r < REASON__COUNT; r++) {
		const struct reason_info *info = reason_info((enum reason)r);
		assert_non_null(info);
		if (info->token == NULL || info->token[0] == '\0')
			fail_msg("reason %d has no token", r);
		if (info->summary == NULL || info->summary[0] == '\0')
			fail_msg("reason %s has no summary", info->token);
		assert_non_null(info->proxy_status);
	}
}

/* Tokens are log values and metric labels: lower-case snake case, nothing to escape. */
static void test_tokens_are_label_safe(void **state)
{
	for (int r = 0; r < REASON__COUNT; r++) {
		const char *t = reason_token((enum reason)r);
		for (const char *p = t; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
				fail_msg("token \"%s\" has byte 0x%02x", t, (unsigned char)*p);
		assert_true(t[0] >= 'a' && t[0] <= 'z');
		assert_true(strlen(t) <= 40); /* log_json caps the reason field at 40 */
	}
}

static void test_tokens_are_unique(void **state)
{
	for (int a = 0; a < REASON__COUNT; a++)
		for (int b = a + 1; b < REASON__COUNT; b++)
			if (strcmp(reason_token((enum reason)a), reason_token((enum reason)b)) == 0)
				fail_msg("reasons %d and %d share token %s", a, b,
					 reason_token((enum reason)a));
}

static void test_token_matches_info(void **state)
{
	for (int r = 0; r < REASON__COUNT; r++)
		assert_ptr_equal(reason_token((enum reason)r), reason_info((enum reason)r)->token);
}

static void test_refusals_have_error_status(void **state)
{
	for (int r = 0; r < REASON__COUNT; r++) {
		int status = reason_info((enum reason)r)->status;
		if (r == REASON_ALLOWED || status == 0)
			continue;
		if (status < 400 || status > 599)
			fail_msg("%s: status %d", reason_token((enum reason)r), status);
	}
}

static void test_refusals_use_registered_error_type(void **state)
{
	for (int r = 0; r < REASON__COUNT; r++) {
		if (!is_refusal((enum reason)r))
			continue;
		const char *type = reason_info((enum reason)r)->proxy_status;
		if (!in_registry(type))
			fail_msg("%s: \"%s\" is not an RFC 9209 error type",
				 reason_token((enum reason)r), type);
	}
}

static void test_allowed(void **state)
{
	assert_string_equal(reason_token(REASON_ALLOWED), "allowed");
	assert_int_equal(reason_info(REASON_ALLOWED)->status, 200);
}

/* Ends without a reply: the client has gone or the exchange is over. */
static void test_silent_endings(void **state)
{
	assert_int_equal(reason_info(REASON_CLIENT_CLOSED)->status, 0);
	assert_int_equal(reason_info(REASON_CLIENT_IDLE)->status, 0);
	assert_int_equal(reason_info(REASON_TUNNEL_IDLE)->status, 0);
}

/* A connection still open when the drain deadline passes is closed, not answered. */
static void test_shutdown(void **state)
{
	assert_string_equal(reason_token(REASON_SHUTDOWN), "shutdown");
	assert_int_equal(reason_info(REASON_SHUTDOWN)->status, 0);
	assert_string_equal(reason_info(REASON_SHUTDOWN)->proxy_status, "");
}

static void test_policy_reasons_are_403(void **state)
{
	for (int r = REASON_DOMAIN_DENIED; r <= REASON_PROXY_LOOP; r++) {
		if (r == REASON_BODY_TOO_LARGE || r == REASON_AUTH_REQUIRED ||
		    r == REASON_CONNECTION_LIMIT)
			continue;
		assert_int_equal(reason_info((enum reason)r)->status, 403);
	}
	assert_int_equal(reason_info(REASON_BODY_TOO_LARGE)->status, 413);
	assert_int_equal(reason_info(REASON_AUTH_REQUIRED)->status, 407);
	assert_int_equal(reason_info(REASON_CONNECTION_LIMIT)->status, 429);
	assert_string_equal(reason_info(REASON_CONNECTION_LIMIT)->proxy_status,
			    "connection_limit_reached");
}

static void test_address_refusals_are_ip_prohibited(void **state)
{
	assert_string_equal(reason_info(REASON_IP_NON_GLOBAL)->proxy_status,
			    "destination_ip_prohibited");
	assert_string_equal(reason_info(REASON_IP_METADATA)->proxy_status,
			    "destination_ip_prohibited");
	assert_string_equal(reason_info(REASON_IP_DENIED)->proxy_status,
			    "destination_ip_prohibited");
}

static void test_name_refusals_are_request_denied(void **state)
{
	assert_string_equal(reason_info(REASON_DOMAIN_DENIED)->proxy_status, "http_request_denied");
	assert_string_equal(reason_info(REASON_DOMAIN_NOT_ALLOWED)->proxy_status,
			    "http_request_denied");
	assert_string_equal(reason_info(REASON_PORT_NOT_ALLOWED)->proxy_status,
			    "http_request_denied");
}

static void test_proxy_loop(void **state)
{
	assert_string_equal(reason_token(REASON_PROXY_LOOP), "proxy_loop");
	assert_string_equal(reason_info(REASON_PROXY_LOOP)->proxy_status, "proxy_loop_detected");
}

static void test_client_protocol_errors_are_4xx_or_50x(void **state)
{
	assert_int_equal(reason_info(REASON_BAD_REQUEST)->status, 400);
	assert_int_equal(reason_info(REASON_SMUGGLING)->status, 400);
	assert_int_equal(reason_info(REASON_BAD_AUTHORITY)->status, 400);
	assert_int_equal(reason_info(REASON_HEAD_TOO_LARGE)->status, 431);
	assert_int_equal(reason_info(REASON_HEAD_TIMEOUT)->status, 408);
	assert_int_equal(reason_info(REASON_VERSION)->status, 505);
	assert_int_equal(reason_info(REASON_TE_UNSUPPORTED)->status, 501);
	assert_string_equal(reason_info(REASON_SMUGGLING)->proxy_status, "http_request_error");
}

static void test_upstream_failures(void **state)
{
	assert_int_equal(reason_info(REASON_DNS_ERROR)->status, 502);
	assert_string_equal(reason_info(REASON_DNS_ERROR)->proxy_status, "dns_error");
	assert_int_equal(reason_info(REASON_DNS_TIMEOUT)->status, 504);
	assert_string_equal(reason_info(REASON_DNS_TIMEOUT)->proxy_status, "dns_timeout");
	assert_string_equal(reason_info(REASON_CONNECT_REFUSED)->proxy_status,
			    "connection_refused");
	assert_int_equal(reason_info(REASON_CONNECT_TIMEOUT)->status, 504);
	assert_string_equal(reason_info(REASON_CONNECT_TIMEOUT)->proxy_status,
			    "connection_timeout");
	assert_int_equal(reason_info(REASON_UPSTREAM_TIMEOUT)->status, 504);
	assert_int_equal(reason_info(REASON_INTERNAL)->status, 500);
	assert_string_equal(reason_info(REASON_INTERNAL)->proxy_status, "proxy_internal_error");
}

/* The log's "ended" (docs/logs.md): every reason says who ends a request with it. */
static void test_who_ends(void **state)
{
	static const char *const tokens[] = {"done",   "client",   "upstream", "timeout",
					     "policy", "shutdown", "sluice"};
	for (int r = 0; r < REASON__COUNT; r++) {
		const char *by = reason_by_token(reason_info((enum reason)r)->by);
		bool known = false;
		for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
			known |= strcmp(by, tokens[i]) == 0;
		if (!known)
			fail_msg("%s: ended by \"%s\"", reason_token((enum reason)r), by);
	}
	assert_int_equal(reason_info(REASON_ALLOWED)->by, REASON_BY_DONE);
	for (int r = REASON_DOMAIN_DENIED; r <= REASON_LOOPBACK_NAME; r++)
		assert_int_equal(reason_info((enum reason)r)->by, REASON_BY_POLICY);
	assert_int_equal(reason_info(REASON_BAD_REQUEST)->by, REASON_BY_CLIENT);
	assert_int_equal(reason_info(REASON_CLIENT_CLOSED)->by, REASON_BY_CLIENT);
	assert_int_equal(reason_info(REASON_DNS_ERROR)->by, REASON_BY_UPSTREAM);
	assert_int_equal(reason_info(REASON_UPSTREAM_CLOSED)->by, REASON_BY_UPSTREAM);
	assert_int_equal(reason_info(REASON_UPSTREAM_TLS)->by, REASON_BY_UPSTREAM);
	assert_int_equal(reason_info(REASON_HEAD_TIMEOUT)->by, REASON_BY_TIMEOUT);
	assert_int_equal(reason_info(REASON_DNS_TIMEOUT)->by, REASON_BY_TIMEOUT);
	assert_int_equal(reason_info(REASON_CONNECT_TIMEOUT)->by, REASON_BY_TIMEOUT);
	assert_int_equal(reason_info(REASON_UPSTREAM_TIMEOUT)->by, REASON_BY_TIMEOUT);
	assert_int_equal(reason_info(REASON_TUNNEL_IDLE)->by, REASON_BY_TIMEOUT);
	assert_int_equal(reason_info(REASON_SHUTDOWN)->by, REASON_BY_SHUTDOWN);
	assert_int_equal(reason_info(REASON_INTERNAL)->by, REASON_BY_SLUICE);
	assert_int_equal(reason_info(REASON_DNS_BUSY)->by, REASON_BY_SLUICE);
}

/* The DNS listener's reasons: their tokens, who ends a query with them, and the DNS answer each
 * means (dns_policy_rcode turns DENIED into the agent's dns.denied). */
static void test_dns_reasons(void **state)
{
	static const struct {
		enum reason r;
		const char *token;
		enum reason_by by;
		enum reason_rcode rcode;
	} rows[] = {
	    {REASON_DNS_BAD_NAME, "dns_bad_name", REASON_BY_CLIENT, REASON_RCODE_DENIED},
	    {REASON_DNS_TYPE, "dns_type", REASON_BY_POLICY, REASON_RCODE_REFUSED},
	    {REASON_DNS_RATE_LIMITED, "dns_rate_limited", REASON_BY_POLICY, REASON_RCODE_REFUSED},
	    {REASON_DNS_INTERNAL_ANSWER, "dns_internal_answer", REASON_BY_POLICY,
	     REASON_RCODE_REFUSED},
	    {REASON_DNS_UPSTREAM_FAILED, "dns_upstream_failed", REASON_BY_UPSTREAM,
	     REASON_RCODE_SERVFAIL},
	    {REASON_DNS_MALFORMED, "dns_malformed", REASON_BY_CLIENT, REASON_RCODE_FORMERR},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct reason_info *info = reason_info(rows[i].r);
		assert_string_equal(info->token, rows[i].token);
		assert_int_equal(info->by, rows[i].by);
		assert_int_equal(info->rcode, rows[i].rcode);
	}
	assert_int_equal(reason_info(REASON_DNS_RATE_LIMITED)->status, 429);
	assert_string_equal(reason_info(REASON_DNS_INTERNAL_ANSWER)->proxy_status,
			    "destination_ip_prohibited");
	assert_string_equal(reason_info(REASON_DNS_UPSTREAM_FAILED)->proxy_status, "dns_error");
}

/* A name the policy refuses gets the agent's dns.denied; what sluice cannot answer, SERVFAIL. */
static void test_rcodes(void **state)
{
	assert_int_equal(reason_info(REASON_ALLOWED)->rcode, REASON_RCODE_NOERROR);
	assert_int_equal(reason_info(REASON_DOMAIN_DENIED)->rcode, REASON_RCODE_DENIED);
	assert_int_equal(reason_info(REASON_DOMAIN_NOT_ALLOWED)->rcode, REASON_RCODE_DENIED);
	assert_int_equal(reason_info(REASON_LOOPBACK_NAME)->rcode, REASON_RCODE_DENIED);
	assert_int_equal(reason_info(REASON_ROUTE_NOT_ALLOWED)->rcode, REASON_RCODE_DENIED);
	assert_int_equal(reason_info(REASON_UNKNOWN_AGENT)->rcode, REASON_RCODE_REFUSED);
	assert_int_equal(reason_info(REASON_IP_NON_GLOBAL)->rcode, REASON_RCODE_REFUSED);
	assert_int_equal(reason_info(REASON_DNS_ERROR)->rcode, REASON_RCODE_SERVFAIL);
	assert_int_equal(reason_info(REASON_DNS_TIMEOUT)->rcode, REASON_RCODE_SERVFAIL);
	assert_int_equal(reason_info(REASON_DNS_BUSY)->rcode, REASON_RCODE_SERVFAIL);
	assert_int_equal(reason_info(REASON_INTERNAL)->rcode, REASON_RCODE_SERVFAIL);
	/* A held query an operator denied is refused as the name rule would; one that got no
	 * answer (or no place in the queue) must not be cached as a fact about the name. */
	assert_int_equal(reason_info(REASON_APPROVAL_DENIED)->rcode, REASON_RCODE_DENIED);
	assert_int_equal(reason_info(REASON_APPROVAL_TIMEOUT)->rcode, REASON_RCODE_SERVFAIL);
	assert_int_equal(reason_info(REASON_APPROVAL_BUSY)->rcode, REASON_RCODE_SERVFAIL);
	/* Only allowed answers NOERROR: a refusal never looks like an empty answer. */
	for (int r = 1; r < REASON__COUNT; r++)
		assert_int_not_equal(reason_info((enum reason)r)->rcode, REASON_RCODE_NOERROR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_reason_has_info),
	    cmocka_unit_test(test_tokens_are_label_safe),
	    cmocka_unit_test(test_tokens_are_unique),
	    cmocka_unit_test(test_token_matches_info),
	    cmocka_unit_test(test_refusals_have_error_status),
	    cmocka_unit_test(test_refusals_use_registered_error_type),
	    cmocka_unit_test(test_allowed),
	    cmocka_unit_test(test_silent_endings),
	    cmocka_unit_test(test_shutdown),
	    cmocka_unit_test(test_who_ends),
	    cmocka_unit_test(test_policy_reasons_are_403),
	    cmocka_unit_test(test_address_refusals_are_ip_prohibited),
	    cmocka_unit_test(test_name_refusals_are_request_denied),
	    cmocka_unit_test(test_proxy_loop),
	    cmocka_unit_test(test_client_protocol_errors_are_4xx_or_50x),
	    cmocka_unit_test(test_upstream_failures),
	    cmocka_unit_test(test_dns_reasons),
	    cmocka_unit_test(test_rcodes),
	};
	return cmocka_run_group_tests_name("reason", tests, NULL, NULL);
}
