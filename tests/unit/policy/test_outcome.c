/* Tests src/policy/outcome.c: how a finished request is classified for the log's "decision" and
 * the metrics, and which reason they show, row by row as the log documents it (docs/logs.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "policy/outcome.h"

struct row {
	const char *what;
	bool allow, report;
	enum reason verdict_reason, result;
	enum outcome want;
	enum reason shown;
};

static const struct row rows[] = {
    {"allowed, completed", true, false, REASON_ALLOWED, REASON_ALLOWED, OUTCOME_ALLOW,
     REASON_ALLOWED},
    {"allowed, client went away", true, false, REASON_ALLOWED, REASON_CLIENT_CLOSED, OUTCOME_ALLOW,
     REASON_CLIENT_CLOSED},
    {"tunnel idled out", true, false, REASON_ALLOWED, REASON_TUNNEL_IDLE, OUTCOME_ALLOW,
     REASON_TUNNEL_IDLE},
    {"keep-alive idled out", true, false, REASON_ALLOWED, REASON_CLIENT_IDLE, OUTCOME_ALLOW,
     REASON_CLIENT_IDLE},
    {"closed by a drain", true, false, REASON_ALLOWED, REASON_SHUTDOWN, OUTCOME_ALLOW,
     REASON_SHUTDOWN},
    {"allowed, then DNS failed", true, false, REASON_ALLOWED, REASON_DNS_ERROR, OUTCOME_ERROR,
     REASON_DNS_ERROR},
    {"allowed, upstream timed out", true, false, REASON_ALLOWED, REASON_UPSTREAM_TIMEOUT,
     OUTCOME_ERROR, REASON_UPSTREAM_TIMEOUT},
    {"denied by name", false, false, REASON_DOMAIN_NOT_ALLOWED, REASON_DOMAIN_NOT_ALLOWED,
     OUTCOME_DENY, REASON_DOMAIN_NOT_ALLOWED},
    {"denied by address after DNS", false, false, REASON_IP_METADATA, REASON_IP_METADATA,
     OUTCOME_DENY, REASON_IP_METADATA},
    {"revoked tunnel, closed after bytes", false, false, REASON_DOMAIN_NOT_ALLOWED,
     REASON_DOMAIN_NOT_ALLOWED, OUTCOME_DENY, REASON_DOMAIN_NOT_ALLOWED},
    {"refused before any decision", false, false, REASON_ALLOWED, REASON_SMUGGLING, OUTCOME_ERROR,
     REASON_SMUGGLING},
    {"head timed out", false, false, REASON_ALLOWED, REASON_HEAD_TIMEOUT, OUTCOME_ERROR,
     REASON_HEAD_TIMEOUT},
    {"report mode, completed", true, true, REASON_PORT_NOT_ALLOWED, REASON_ALLOWED, OUTCOME_REPORT,
     REASON_PORT_NOT_ALLOWED},
    {"report mode, then failed", true, true, REASON_METHOD_NOT_ALLOWED, REASON_CONNECT_REFUSED,
     OUTCOME_REPORT, REASON_METHOD_NOT_ALLOWED},
};

static void test_rows(void **state)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct verdict v = {
		    .allow = r->allow, .report = r->report, .reason = r->verdict_reason};
		if (outcome_classify(&v, r->result) != r->want)
			fail_msg("%s: classified %s, want %s", r->what,
				 outcome_name(outcome_classify(&v, r->result)),
				 outcome_name(r->want));
		if (outcome_reason(&v, r->result) != r->shown)
			fail_msg("%s: shows %s, want %s", r->what,
				 reason_token(outcome_reason(&v, r->result)),
				 reason_token(r->shown));
	}
}

static void test_names(void **state)
{
	assert_string_equal(outcome_name(OUTCOME_ALLOW), "allow");
	assert_string_equal(outcome_name(OUTCOME_DENY), "deny");
	assert_string_equal(outcome_name(OUTCOME_REPORT), "report");
	assert_string_equal(outcome_name(OUTCOME_ERROR), "error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
