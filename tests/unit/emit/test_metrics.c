/* Tests for emit/metrics: per-worker counters and their Prometheus text, summed over workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "emit/metrics.h"

static struct metrics w0, w1;
static struct metrics *const two[] = {&w0, &w1};
static struct metrics_process proc;
static char text[1 << 20];

static int setup(void **state)
{
	metrics_init(&w0);
	metrics_init(&w1);
	memset(&proc, 0, sizeof(proc));
	return 0;
}

static int teardown(void **state)
{
	metrics_fini(&w0);
	metrics_fini(&w1);
	return 0;
}

static const char *render(unsigned n)
{
	struct buf b = {0};
	assert_true(metrics_format(two, n, &proc, &b, sizeof(text) - 1));
	assert_true(buf_len(&b) < sizeof(text));
	memcpy(text, buf_head(&b), buf_len(&b));
	text[buf_len(&b)] = '\0';
	buf_release(&b);
	return text;
}

/* The whole line (from its start to its newline) is in the text. */
static void assert_line(const char *t, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = t; (p = strstr(p, line)) != NULL; p++)
		if ((p == t || p[-1] == '\n') && p[n] == '\n')
			return;
	fail_msg("line \"%s\" not in:\n%s", line, t);
}

static void assert_no_line_starting(const char *t, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = t; (p = strstr(p, prefix)) != NULL; p += n)
		if (p == t || p[-1] == '\n')
			fail_msg("unexpected line starting \"%s\" in:\n%s", prefix, t);
}

static enum outcome outcome_named(const char *name)
{
	for (int o = 0; o < OUTCOME__COUNT; o++)
		if (strcmp(outcome_name((enum outcome)o), name) == 0)
			return (enum outcome)o;
	fail_msg("no outcome named %s", name);
	return OUTCOME_ERROR;
}

static void count(struct metrics *m, const char *agent, const char *decision, enum reason why,
		  bool tunnel, uint64_t up, uint64_t down)
{
	struct metrics_request r = {agent, outcome_named(decision), why, tunnel, up, down};
	metrics_count_request(m, &r);
}

static const char empty_text[] =
    "# HELP sluice_requests_total Requests judged (one per decision log end line, CONNECT "
    "included), by agent, decision and reason.\n"
    "# TYPE sluice_requests_total counter\n"
    "# HELP sluice_tunnels_total CONNECT requests (tunnels), by agent, decision and reason.\n"
    "# TYPE sluice_tunnels_total counter\n"
    "# HELP sluice_bytes_up_total Bytes relayed from clients to upstreams (bodies and tunnels), "
    "by agent, counted when the request ends.\n"
    "# TYPE sluice_bytes_up_total counter\n"
    "# HELP sluice_bytes_down_total Bytes relayed from upstreams to clients (bodies and "
    "tunnels), by agent, counted when the request ends.\n"
    "# TYPE sluice_bytes_down_total counter\n"
    "# HELP sluice_connections_open Client connections open now.\n"
    "# TYPE sluice_connections_open gauge\n"
    "sluice_connections_open 0\n"
    "# HELP sluice_connections_total Client connections accepted.\n"
    "# TYPE sluice_connections_total counter\n"
    "sluice_connections_total 0\n"
    "# HELP sluice_upstream_connections_idle Idle keep-alive upstream connections parked for "
    "reuse now.\n"
    "# TYPE sluice_upstream_connections_idle gauge\n"
    "sluice_upstream_connections_idle 0\n"
    "# HELP sluice_upstream_connections_reused_total Requests sent on a parked upstream "
    "connection instead of a new one.\n"
    "# TYPE sluice_upstream_connections_reused_total counter\n"
    "sluice_upstream_connections_reused_total 0\n"
    "# HELP sluice_dns_queries_total Queries to the DNS listener (listen.dns), by decision "
    "and query type.\n"
    "# TYPE sluice_dns_queries_total counter\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"A\"} 0\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"AAAA\"} 0\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"CNAME\"} 0\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"HTTPS\"} 0\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"SVCB\"} 0\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"TXT\"} 0\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"MX\"} 0\n"
    "sluice_dns_queries_total{decision=\"allow\",type=\"other\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"A\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"AAAA\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"CNAME\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"HTTPS\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"SVCB\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"TXT\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"MX\"} 0\n"
    "sluice_dns_queries_total{decision=\"deny\",type=\"other\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"A\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"AAAA\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"CNAME\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"HTTPS\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"SVCB\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"TXT\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"MX\"} 0\n"
    "sluice_dns_queries_total{decision=\"report\",type=\"other\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"A\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"AAAA\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"CNAME\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"HTTPS\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"SVCB\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"TXT\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"MX\"} 0\n"
    "sluice_dns_queries_total{decision=\"error\",type=\"other\"} 0\n"
    "# HELP sluice_dns_lookup_duration_seconds Time from starting a DNS lookup to its answer "
    "or failure (cache hits are not looked up).\n"
    "# TYPE sluice_dns_lookup_duration_seconds histogram\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.0005\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.001\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.0025\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.005\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.01\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.025\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.05\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.1\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.25\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"0.5\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"1\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"2.5\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"5\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"10\"} 0\n"
    "sluice_dns_lookup_duration_seconds_bucket{le=\"+Inf\"} 0\n"
    "sluice_dns_lookup_duration_seconds_sum 0.000000\n"
    "sluice_dns_lookup_duration_seconds_count 0\n"
    "# HELP sluice_upstream_connect_duration_seconds Time from starting a TCP connection to an "
    "upstream address until it is established or fails (pooled connections are not "
    "counted).\n"
    "# TYPE sluice_upstream_connect_duration_seconds histogram\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.0005\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.001\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.0025\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.005\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.01\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.025\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.05\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.1\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.25\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"0.5\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"1\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"2.5\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"5\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"10\"} 0\n"
    "sluice_upstream_connect_duration_seconds_bucket{le=\"+Inf\"} 0\n"
    "sluice_upstream_connect_duration_seconds_sum 0.000000\n"
    "sluice_upstream_connect_duration_seconds_count 0\n"
    "# HELP sluice_reloads_total Configuration reloads (SIGHUP), by result: ok (new policy in "
    "force) or failed (the running policy stayed).\n"
    "# TYPE sluice_reloads_total counter\n"
    "sluice_reloads_total{result=\"failed\"} 0\n"
    "sluice_reloads_total{result=\"ok\"} 0\n"
    "# HELP sluice_policy_generation Generation of the policy in force: 1 at start, +1 per "
    "successful reload.\n"
    "# TYPE sluice_policy_generation gauge\n"
    "sluice_policy_generation 1\n"
    "# HELP sluice_workers Event-loop worker threads.\n"
    "# TYPE sluice_workers gauge\n"
    "sluice_workers 2\n"
    "# HELP sluice_metrics_dropped_series_total Requests not counted by agent, decision and "
    "reason because a worker already holds its maximum number of series.\n"
    "# TYPE sluice_metrics_dropped_series_total counter\n"
    "sluice_metrics_dropped_series_total 0\n"
    "# HELP sluice_log_lines_dropped_total Decision log lines dropped because stdout did not "
    "keep up (over 4 MiB pending per worker).\n"
    "# TYPE sluice_log_lines_dropped_total counter\n"
    "sluice_log_lines_dropped_total 0\n"
    "# HELP sluice_upstream_retries_total Idempotent requests without a body sent again on a "
    "new connection because the reused keep-alive upstream connection closed before "
    "answering.\n"
    "# TYPE sluice_upstream_retries_total counter\n"
    "sluice_upstream_retries_total 0\n"
    "# HELP sluice_tunnels_revoked_total Open CONNECT tunnels closed because the policy in "
    "force after a reload denies them (timeouts.reload_revoke).\n"
    "# TYPE sluice_tunnels_revoked_total counter\n"
    "sluice_tunnels_revoked_total 0\n"
    "# HELP sluice_tls_intercepted_total CONNECT tunnels whose TLS sluice terminated "
    "(intercept:), handshake done.\n"
    "# TYPE sluice_tls_intercepted_total counter\n"
    "sluice_tls_intercepted_total 0\n"
    "# HELP sluice_h2_reset_floods_total Intercepted HTTP/2 sessions ended with GOAWAY "
    "ENHANCE_YOUR_CALM for resetting more running requests than the budget (CVE-2023-44487's "
    "pattern).\n"
    "# TYPE sluice_h2_reset_floods_total counter\n"
    "sluice_h2_reset_floods_total 0\n";

/* The whole exposition of a fresh process, byte for byte: every family has HELP and TYPE,
 * histograms have every bucket, and nothing else is written. */
static void test_fresh_exposition_exact(void **state)
{
	metrics_process_set_generation(&proc, 1);
	assert_string_equal(render(2), empty_text);
}

static void test_requests_by_agent_decision_reason(void **state)
{
	count(&w0, "coder", "allow", REASON_ALLOWED, false, 10, 200);
	count(&w0, "coder", "allow", REASON_ALLOWED, false, 1, 2);
	count(&w0, "coder", "deny", REASON_DOMAIN_NOT_ALLOWED, false, 0, 0);
	count(&w0, "research", "report", REASON_DOMAIN_DENIED, false, 0, 0);
	const char *t = render(1);
	assert_line(
	    t, "sluice_requests_total{agent=\"coder\",decision=\"allow\",reason=\"allowed\"} 2");
	assert_line(t, "sluice_requests_total{agent=\"coder\",decision=\"deny\","
		       "reason=\"domain_not_allowed\"} 1");
	assert_line(t, "sluice_requests_total{agent=\"research\",decision=\"report\","
		       "reason=\"domain_denied\"} 1");
}

static void test_workers_are_summed(void **state)
{
	count(&w0, "coder", "allow", REASON_ALLOWED, false, 5, 50);
	count(&w1, "coder", "allow", REASON_ALLOWED, false, 7, 70);
	count(&w1, "coder", "allow", REASON_ALLOWED, false, 0, 0);
	const char *t = render(2);
	assert_line(
	    t, "sluice_requests_total{agent=\"coder\",decision=\"allow\",reason=\"allowed\"} 3");
	assert_line(t, "sluice_bytes_up_total{agent=\"coder\"} 12");
	assert_line(t, "sluice_bytes_down_total{agent=\"coder\"} 120");
	/* Summed into one line, not one per worker. */
	const char *first = strstr(t, "sluice_requests_total{agent=\"coder\"");
	assert_non_null(first);
	assert_null(strstr(first + 1, "sluice_requests_total{agent=\"coder\""));
}

/* Sorted by agent, decision, reason whatever the order of arrival and the worker. */
static void test_series_sorted(void **state)
{
	count(&w1, "zeta", "allow", REASON_ALLOWED, false, 0, 0);
	count(&w0, "alpha", "error", REASON_DNS_ERROR, false, 0, 0);
	count(&w0, "alpha", "allow", REASON_ALLOWED, false, 0, 0);
	const char *t = render(2);
	const char *a = strstr(t, "sluice_requests_total{agent=\"alpha\",decision=\"allow\"");
	const char *b = strstr(t, "sluice_requests_total{agent=\"alpha\",decision=\"error\"");
	const char *c = strstr(t, "sluice_requests_total{agent=\"zeta\"");
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	assert_true(a < b && b < c);
}

static void test_tunnels_only_connect(void **state)
{
	count(&w0, "coder", "allow", REASON_ALLOWED, true, 100, 1000);
	count(&w0, "coder", "allow", REASON_ALLOWED, false, 1, 1);
	count(&w0, "coder", "deny", REASON_PORT_NOT_ALLOWED, false, 0, 0);
	const char *t = render(1);
	assert_line(
	    t, "sluice_requests_total{agent=\"coder\",decision=\"allow\",reason=\"allowed\"} 2");
	assert_line(
	    t, "sluice_tunnels_total{agent=\"coder\",decision=\"allow\",reason=\"allowed\"} 1");
	/* No tunnel line for a series that never was a CONNECT. */
	assert_no_line_starting(t, "sluice_tunnels_total{agent=\"coder\",decision=\"deny\"");
}

static void test_bytes_by_agent_over_decisions(void **state)
{
	count(&w0, "coder", "allow", REASON_ALLOWED, false, 3, 30);
	count(&w0, "coder", "error", REASON_UPSTREAM_CLOSED, false, 4, 40);
	count(&w1, "research", "allow", REASON_ALLOWED, true, 5, 50);
	const char *t = render(2);
	assert_line(t, "sluice_bytes_up_total{agent=\"coder\"} 7");
	assert_line(t, "sluice_bytes_down_total{agent=\"coder\"} 70");
	assert_line(t, "sluice_bytes_up_total{agent=\"research\"} 5");
	assert_line(t, "sluice_bytes_down_total{agent=\"research\"} 50");
}

/* A request refused before any agent was identified carries an empty agent label. */
static void test_no_agent_is_empty_label(void **state)
{
	count(&w0, NULL, "error", REASON_BAD_REQUEST, false, 0, 0);
	count(&w0, "", "error", REASON_BAD_REQUEST, false, 0, 0);
	const char *t = render(1);
	assert_line(
	    t, "sluice_requests_total{agent=\"\",decision=\"error\",reason=\"bad_request\"} 2");
}

/* Exposition format 0.0.4: backslash, double quote and line feed are escaped in label values. */
static void test_label_escaping(void **state)
{
	count(&w0, "a\"b\\c\nd", "allow", REASON_ALLOWED, false, 1, 0);
	const char *t = render(1);
	assert_line(t, "sluice_requests_total{agent=\"a\\\"b\\\\c\\nd\",decision=\"allow\","
		       "reason=\"allowed\"} 1");
	assert_line(t, "sluice_bytes_up_total{agent=\"a\\\"b\\\\c\\nd\"} 1");
}

/* The longest agent name, made entirely of characters that need escaping, still fits. */
static void test_label_escaping_longest_name(void **state)
{
	char name[AGENT_NAME_MAX + 1], want[2 * AGENT_NAME_MAX + 64];
	memset(name, '"', AGENT_NAME_MAX);
	name[AGENT_NAME_MAX] = '\0';
	count(&w0, name, "allow", REASON_ALLOWED, false, 9, 0);
	int n = snprintf(want, sizeof(want), "sluice_bytes_up_total{agent=\"");
	for (int i = 0; i < AGENT_NAME_MAX; i++)
		n += snprintf(want + n, sizeof(want) - (size_t)n, "\\\"");
	snprintf(want + n, sizeof(want) - (size_t)n, "\"} 9");
	assert_line(render(1), want);
}

static void test_histogram_cumulative(void **state)
{
	metrics_observe_dns(&w0, 400);	    /* ≤ 0.0005 */
	metrics_observe_dns(&w0, 500);	    /* on the bound: le is "less or equal" */
	metrics_observe_dns(&w1, 3000);	    /* ≤ 0.005 */
	metrics_observe_dns(&w1, 20000000); /* above 10 s: only +Inf */
	const char *t = render(2);
	assert_line(t, "sluice_dns_lookup_duration_seconds_bucket{le=\"0.0005\"} 2");
	assert_line(t, "sluice_dns_lookup_duration_seconds_bucket{le=\"0.001\"} 2");
	assert_line(t, "sluice_dns_lookup_duration_seconds_bucket{le=\"0.0025\"} 2");
	assert_line(t, "sluice_dns_lookup_duration_seconds_bucket{le=\"0.005\"} 3");
	assert_line(t, "sluice_dns_lookup_duration_seconds_bucket{le=\"10\"} 3");
	assert_line(t, "sluice_dns_lookup_duration_seconds_bucket{le=\"+Inf\"} 4");
	assert_line(t, "sluice_dns_lookup_duration_seconds_sum 20.003900");
	assert_line(t, "sluice_dns_lookup_duration_seconds_count 4");
	/* The other histogram is separate. */
	assert_line(t, "sluice_upstream_connect_duration_seconds_count 0");
}

static void test_connect_histogram(void **state)
{
	metrics_observe_connect(&w0, 1500);
	metrics_observe_connect(&w1, 250000);
	const char *t = render(2);
	assert_line(t, "sluice_upstream_connect_duration_seconds_bucket{le=\"0.001\"} 0");
	assert_line(t, "sluice_upstream_connect_duration_seconds_bucket{le=\"0.0025\"} 1");
	assert_line(t, "sluice_upstream_connect_duration_seconds_bucket{le=\"0.25\"} 2");
	assert_line(t, "sluice_upstream_connect_duration_seconds_bucket{le=\"+Inf\"} 2");
	assert_line(t, "sluice_upstream_connect_duration_seconds_sum 0.251500");
	assert_line(t, "sluice_upstream_connect_duration_seconds_count 2");
	assert_line(t, "sluice_dns_lookup_duration_seconds_count 0");
}

static void test_connections_gauge(void **state)
{
	metrics_count_conn_open(&w0);
	metrics_count_conn_open(&w0);
	metrics_count_conn_open(&w1);
	metrics_count_conn_close(&w0);
	const char *t = render(2);
	assert_line(t, "sluice_connections_open 2");
	assert_line(t, "sluice_connections_total 3");
}

/* Dropped log lines are counted per worker and summed. */
static void test_log_lines_dropped(void **state)
{
	metrics_count_log_dropped(&w0);
	metrics_count_log_dropped(&w1);
	metrics_count_log_dropped(&w1);
	assert_line(render(2), "sluice_log_lines_dropped_total 3");
}

/* Parked upstream connections are a gauge (parked minus taken or closed), reuses a counter;
 * both summed over workers. */
static void test_upstream_pool(void **state)
{
	metrics_upstream_idle(&w0, true);
	metrics_upstream_idle(&w0, true);
	metrics_upstream_idle(&w1, true);
	metrics_upstream_idle(&w0, false);
	metrics_count_upstream_reused(&w0);
	metrics_count_upstream_reused(&w1);
	metrics_count_upstream_reused(&w1);
	const char *t = render(2);
	assert_line(t, "sluice_upstream_connections_idle 2");
	assert_line(t, "sluice_upstream_connections_reused_total 3");
}

/* Stale-connection retries are counted per worker and summed. */
static void test_upstream_retries(void **state)
{
	metrics_count_upstream_retry(&w0);
	metrics_count_upstream_retry(&w1);
	assert_line(render(2), "sluice_upstream_retries_total 2");
}

static void test_tunnels_revoked(void **state)
{
	metrics_count_tunnel_revoked(&w1);
	assert_line(render(2), "sluice_tunnels_revoked_total 1");
}

static void test_reloads_and_generation(void **state)
{
	metrics_process_set_generation(&proc, 1);
	metrics_process_reload(&proc, true, 2);
	metrics_process_reload(&proc, false, 2);
	metrics_process_reload(&proc, true, 3);
	const char *t = render(1);
	assert_line(t, "sluice_reloads_total{result=\"ok\"} 2");
	assert_line(t, "sluice_reloads_total{result=\"failed\"} 1");
	assert_line(t, "sluice_policy_generation 3");
	assert_line(t, "sluice_workers 1");
}

/* Beyond METRICS_MAX_SERIES distinct series a worker counts the request as dropped, and the
 * series it has keep counting. */
static void test_series_cap_counts_dropped(void **state)
{
	char name[32];
	for (unsigned i = 0; i < METRICS_MAX_SERIES; i++) {
		snprintf(name, sizeof(name), "agent%u", i);
		count(&w0, name, "allow", REASON_ALLOWED, false, 1, 0);
	}
	count(&w0, "one-too-many", "allow", REASON_ALLOWED, false, 1, 0);
	count(&w0, "one-too-many", "deny", REASON_DOMAIN_DENIED, false, 1, 0);
	count(&w0, "agent7", "allow", REASON_ALLOWED, false, 1, 0);
	const char *t = render(1);
	assert_line(t, "sluice_metrics_dropped_series_total 2");
	assert_line(
	    t, "sluice_requests_total{agent=\"agent7\",decision=\"allow\",reason=\"allowed\"} 2");
	assert_line(t, "sluice_requests_total{agent=\"agent4095\",decision=\"allow\","
		       "reason=\"allowed\"} 1");
	assert_null(strstr(t, "one-too-many"));
}

static void test_too_large_fails(void **state)
{
	struct buf b = {0};
	count(&w0, "coder", "allow", REASON_ALLOWED, false, 1, 0);
	assert_false(metrics_format(two, 2, &proc, &b, 256));
	buf_release(&b);
}

/* Same keys seen by different workers in different orders still merge. */
static void test_merge_many_workers_same_keys(void **state)
{
	count(&w0, "a", "allow", REASON_ALLOWED, false, 0, 0);
	count(&w0, "b", "allow", REASON_ALLOWED, false, 0, 0);
	count(&w1, "b", "allow", REASON_ALLOWED, false, 0, 0);
	count(&w1, "a", "allow", REASON_ALLOWED, false, 0, 0);
	count(&w1, "a", "allow", REASON_ALLOWED, false, 0, 0);
	const char *t = render(2);
	assert_line(t,
		    "sluice_requests_total{agent=\"a\",decision=\"allow\",reason=\"allowed\"} 3");
	assert_line(t,
		    "sluice_requests_total{agent=\"b\",decision=\"allow\",reason=\"allowed\"} 2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fresh_exposition_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_requests_by_agent_decision_reason, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_workers_are_summed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_series_sorted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tunnels_only_connect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytes_by_agent_over_decisions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_agent_is_empty_label, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_label_escaping_longest_name, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_histogram_cumulative, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connect_histogram, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_connections_gauge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_log_lines_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upstream_retries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tunnels_revoked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upstream_pool, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reloads_and_generation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_series_cap_counts_dropped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_large_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_merge_many_workers_same_keys, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
