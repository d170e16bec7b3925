/* Tests src/policy/conn_state.c: every state has its documented name, and the table allows the
 * moves of docs/internals/connections.md and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "policy/conn_state.h"

static void test_names(void **state)
{
	static const char *const want[CONN_STATE__COUNT] = {
	    "read_head",  "resolving", "connecting", "forwarding", "tunnel_check", "tls_accept",
	    "h2_session", "tunnel",    "replying",   "held",	   "closed",
	};
	for (unsigned s = 0; s < CONN_STATE__COUNT; s++)
		assert_string_equal(conn_state_name((enum conn_state)s), want[s]);
}

/* The whole table, row by row: 1 where `from` (row) may move to `to` (column). */
static void test_moves(void **state)
{
	/* to: read_head resolving connecting forwarding tunnel_check tls_accept h2_session tunnel
	 * replying held closed */
	static const bool allowed[CONN_STATE__COUNT][CONN_STATE__COUNT] = {
	    [CONN_READ_HEAD] = {0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},
	    [CONN_RESOLVING] = {0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1},
	    [CONN_CONNECTING] = {0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1},
	    [CONN_FORWARDING] = {1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1},
	    [CONN_TUNNEL_CHECK] = {1, 0, 0, 0, 0, 1, 0, 1, 1, 0, 1},
	    [CONN_TLS_ACCEPT] = {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1},
	    [CONN_H2_SESSION] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	    [CONN_TUNNEL] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	    [CONN_REPLYING] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	    [CONN_HELD] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
	    [CONN_CLOSED] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	};
	for (unsigned from = 0; from < CONN_STATE__COUNT; from++)
		for (unsigned to = 0; to < CONN_STATE__COUNT; to++)
			if (conn_state_allows(from, to) != allowed[from][to])
				fail_msg("%s -> %s: %s", conn_state_name(from), conn_state_name(to),
					 allowed[from][to] ? "refused" : "allowed");
}

/* What the table says in words. */
static void test_rules(void **state)
{
	for (unsigned s = 0; s < CONN_STATE__COUNT; s++) {
		/* Every state may end, and an ended connection moves nowhere. */
		assert_true(s == CONN_CLOSED || conn_state_allows(s, CONN_CLOSED));
		assert_false(conn_state_allows(CONN_CLOSED, s));
		/* A request is judged in read_head: nothing else starts one. */
		assert_true(s == CONN_READ_HEAD || !conn_state_allows(s, CONN_RESOLVING));
		/* An open tunnel never goes back to HTTP; one whose first bytes are being judged
		 * may (HTTP inside a CONNECT, each request judged). */
		assert_true(s == CONN_CLOSED || !conn_state_allows(CONN_TUNNEL, s));
	}
	assert_true(conn_state_allows(CONN_FORWARDING, CONN_TUNNEL)); /* a WebSocket's 101 */
	assert_false(conn_state_allows(CONN_FORWARDING, CONN_TUNNEL_CHECK));
	/* Only a judged ClientHello is answered by sluice's own TLS. */
	assert_true(conn_state_allows(CONN_TUNNEL_CHECK, CONN_TLS_ACCEPT));
	assert_false(conn_state_allows(CONN_READ_HEAD, CONN_TLS_ACCEPT));
	/* HTTP/2 only after sluice's own TLS chose it, and a session only ends. */
	assert_true(conn_state_allows(CONN_TLS_ACCEPT, CONN_H2_SESSION));
	assert_false(conn_state_allows(CONN_READ_HEAD, CONN_H2_SESSION));
	assert_false(conn_state_allows(CONN_H2_SESSION, CONN_READ_HEAD));
	assert_false(conn_state_allows(CONN_REPLYING, CONN_REPLYING));
	assert_false(conn_state_allows(CONN_READ_HEAD, CONN_READ_HEAD));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_moves),
	    cmocka_unit_test(test_rules),
	};
	return cmocka_run_group_tests_name("conn_state", tests, NULL, NULL);
}
