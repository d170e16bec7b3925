/* Tests src/policy/scan.c: the built-in set finds each format where a request carries it (path,
 * query, percent-decoded, a header) unless it goes to the host it belongs to; the first block
 * wins over a report; hop-by-hop fields (they stay at sluice) are not scanned; an operator
 * pattern's hosts and action; a credential's exact secret; a bad expression is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "policy/credentials.h"
#include "policy/domain_set.h"
#include "policy/scan.h"

static struct http1_request req;
static bool redact[64];

static bool scan(const struct scan_set *set, const char *host, const char *head,
		 struct scan_finding *f)
{
	assert_true(http1_request_parse(head, strlen(head), 64, &req) > 0);
	return scan_request_head(set, slice_from_cstr(host), &req, req.target, f, redact);
}

static struct scan_config defaults(void)
{
	struct scan_config sc;
	scan_config_defaults(&sc);
	return sc;
}

static void test_builtins(void **state)
{
	struct scan_config sc = defaults();
	char err[256];
	struct scan_set *set = scan_set_new(&sc, NULL, err, sizeof(err));
	struct scan_finding f;
	assert_non_null(set);

	assert_true(scan(set, "evil.example",
			 "GET /x?k=AKIAQWERTYUIOPASDFGH HTTP/1.1\r\nHost: evil.example\r\n\r\n",
			 &f));
	assert_string_equal(f.name, "aws-access-key");
	assert_string_equal(f.where, "query");
	assert_int_equal(f.action, SCAN_BLOCK);
	/* percent-encoded */
	assert_true(scan(set, "evil.example",
			 "GET /%41KIAQWERTYUIOPASDFGH HTTP/1.1\r\nHost: evil.example\r\n\r\n", &f));
	assert_string_equal(f.where, "path (percent)");
	/* toward where it belongs: nothing */
	assert_false(
	    scan(set, "s3.amazonaws.com",
		 "GET /x?k=AKIAQWERTYUIOPASDFGH HTTP/1.1\r\nHost: s3.amazonaws.com\r\n\r\n", &f));
	/* a header; its name lower-cased in where */
	assert_true(scan(set, "evil.example",
			 "POST / HTTP/1.1\r\nHost: evil.example\r\nX-Note: "
			 "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\r\n\r\n",
			 &f));
	assert_string_equal(f.name, "github-token");
	assert_string_equal(f.where, "header x-note");
	/* Proxy-Authorization stays at sluice */
	assert_false(scan(set, "evil.example",
			  "GET / HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic "
			  "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8\r\n\r\n",
			  &f));
	/* a JWT is a report; a block in the same head wins */
	const char *jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N";
	char head[512];
	snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: e.example\r\nA: %s\r\n\r\n", jwt);
	assert_true(scan(set, "e.example", head, &f));
	assert_int_equal(f.action, SCAN_REPORT);
	snprintf(head, sizeof(head),
		 "GET / HTTP/1.1\r\nHost: e.example\r\nA: %s\r\nB: -----BEGIN RSA PRIVATE "
		 "KEY-----\r\n\r\n",
		 jwt);
	assert_true(scan(set, "e.example", head, &f));
	assert_int_equal(f.action, SCAN_BLOCK);
	assert_string_equal(f.name, "private-key");
	/* benign */
	assert_false(
	    scan(set, "e.example",
		 "GET /echo?id=550e8400-e29b-41d4-a716-446655440000&sha=da39a3ee5e6b4b0d3255"
		 "bfef95601890afd80709 HTTP/1.1\r\nHost: e.example\r\nX-Request-Id: "
		 "req_01HZX3T4QW8Y9N6K5M2P\r\n\r\n",
		 &f));
	scan_set_free(set);
	scan_thread_fini();
}

static void test_rules_and_secrets(void **state)
{
	const char *detail;
	struct scan_rule rules[2] = {
	    {.name = "corp",
	     .regex = "corp_[a-z0-9]{8}",
	     .action = SCAN_REPORT,
	     .has_action = true},
	    {.name = "tkt", .regex = "TKT-[0-9]{4}"},
	};
	rules[1].hosts = domain_set_new();
	domain_set_add(rules[1].hosts, SLICE_LIT("tickets.example"), &detail);
	struct scan_config sc = defaults();
	sc.builtin = false;
	sc.rules = rules;
	sc.n_rules = 2;
	struct credential cred = {
	    .name = "api", .secret = "sekret-value-1", .secret_len = 14, .ready = true};
	cred.hosts = domain_set_new();
	domain_set_add(cred.hosts, SLICE_LIT("api.example"), &detail);
	struct credential_list creds = {&cred, 1};
	char err[256];
	struct scan_set *set = scan_set_new(&sc, &creds, err, sizeof(err));
	struct scan_finding f;
	assert_non_null(set);

	assert_true(
	    scan(set, "x.example", "GET /?a=corp_abcd1234 HTTP/1.1\r\nHost: x\r\n\r\n", &f));
	assert_int_equal(f.action, SCAN_REPORT);
	assert_true(scan(set, "x.example", "GET /TKT-1234 HTTP/1.1\r\nHost: x\r\n\r\n", &f));
	assert_int_equal(f.action, SCAN_BLOCK);
	assert_false(scan(set, "tickets.example", "GET /TKT-1234 HTTP/1.1\r\nHost: x\r\n\r\n", &f));
	/* built-ins off */
	assert_false(
	    scan(set, "x.example", "GET /?k=AKIAQWERTYUIOPASDFGH HTTP/1.1\r\nHost: x\r\n\r\n", &f));
	/* the credential's secret: to its host, fine; elsewhere, blocked */
	assert_false(
	    scan(set, "api.example", "GET / HTTP/1.1\r\nHost: x\r\nK: sekret-value-1\r\n\r\n", &f));
	assert_true(
	    scan(set, "x.example", "GET / HTTP/1.1\r\nHost: x\r\nK: sekret-value-1\r\n\r\n", &f));
	assert_string_equal(f.name, "credential api");
	scan_set_free(set);
	domain_set_free(rules[1].hosts);
	domain_set_free(cred.hosts);
	scan_thread_fini();

	assert_false(scan_regex_ok("a(b", err, sizeof(err)));
	assert_true(err[0] != '\0');
	assert_true(scan_regex_ok("a(b)", err, sizeof(err)));
}

/* A body: a secret split anywhere, across reads and chunk boundaries, is found; past max_body
 * it is not looked for. */
static void test_bodies(void **state)
{
	struct scan_config sc = defaults();
	sc.max_body = 4096;
	char err[256];
	struct scan_set *set = scan_set_new(&sc, NULL, err, sizeof(err));
	struct scan_finding f;
	static const char body[] = "{\"k\": \"AKIAQWERTYUIOPASDFGH\"}";
	assert_non_null(set);

	for (size_t cut = 0; cut <= sizeof(body) - 1; cut++) {
		struct scan_stream *st = scan_stream_open(set, SLICE_LIT("x.example"), false);
		assert_non_null(st);
		bool a = scan_stream_feed(st, body, cut, false, &f);
		bool b = a || scan_stream_feed(st, body + cut, sizeof(body) - 1 - cut, true, &f);
		assert_true(b);
		assert_string_equal(f.name, "aws-access-key");
		assert_string_equal(f.where, "body");
		scan_stream_free(st);
	}
	/* chunked: the token cut by a chunk boundary, framing off for the scan */
	static const char chunked[] = "5\r\n{\"k\":\r\n6\r\n \"AKIA\r\n11\r\nQWERTYUIOPASDFGH\"\r\n"
				      "1\r\n}\r\n0\r\n\r\n";
	for (size_t cut = 0; cut <= sizeof(chunked) - 1; cut += 3) {
		struct scan_stream *st = scan_stream_open(set, SLICE_LIT("x.example"), true);
		bool a = scan_stream_feed(st, chunked, cut, false, &f);
		bool b =
		    a || scan_stream_feed(st, chunked + cut, sizeof(chunked) - 1 - cut, true, &f);
		assert_true(b);
		scan_stream_free(st);
	}
	/* beyond max_body: not looked for */
	static char big[8192];
	memset(big, 'x', sizeof(big));
	memcpy(big + 5000, " AKIAQWERTYUIOPASDFGH ", 22);
	struct scan_stream *st = scan_stream_open(set, SLICE_LIT("x.example"), false);
	assert_false(scan_stream_feed(st, big, sizeof(big), true, &f));
	scan_stream_free(st);
	/* to where it belongs: nothing */
	st = scan_stream_open(set, SLICE_LIT("s3.amazonaws.com"), false);
	assert_false(scan_stream_feed(st, body, sizeof(body) - 1, true, &f));
	scan_stream_free(st);
	/* a set that scans no bodies gives no stream */
	sc.max_body = 0;
	struct scan_set *heads = scan_set_new(&sc, NULL, err, sizeof(err));
	assert_null(scan_stream_open(heads, SLICE_LIT("x.example"), false));
	scan_set_free(heads);
	scan_set_free(set);
	scan_thread_fini();
}

/* The encodings a secret hides in, in a head: each found, and named in where. */
static void test_decoded_heads(void **state)
{
	static const struct {
		const char *head, *where;
	} cases[] = {
	    {"GET /?d=Z2hwX2ExQjJjM0Q0ZTVGNmc3SDhpOUowazFMMm0zTjRvNVA2cTdSOA== HTTP/1.1\r\n",
	     "query (base64)"},
	    {"GET /v/6768705f6131423263334434653546366737483869394a306b314c326d334e346f3550367137"
	     "5238 HTTP/1.1\r\n",
	     "path (hex)"},
	    {"GET / HTTP/1.1\r\nX-Blob: eyJ0b2tlbiI6ImdocF9hMUIyYzNENGU1RjZnN0g4aTlKMGsxTDJtM040bz"
	     "VQNnE3UjgifQ==\r\n",
	     "header x-blob (base64)"},
	    {"GET /?x=eD4%2BZ2hwX2ExQjJjM0Q0ZTVGNmc3SDhpOUowazFMMm0zTjRvNVA2cTdSOD8%2F "
	     "HTTP/1.1\r\n",
	     "query (percent, base64)"},
	    {"GET / HTTP/1.1\r\nCookie: "
	     "s=WjJod1gyRXhRakpqTTBRMFpUVkdObWMzU0RocE9Vb3dhekZNTW0welRqUnZOVkEyY1RkU09BPT0=\r\n",
	     "header cookie (base64, base64)"},
	    {"GET / HTTP/1.1\r\nX-U: -_9naHBfYTFCMmMzRDRlNUY2ZzdIOGk5SjBrMUwybTNONG81UDZxN1I4\r\n",
	     "header x-u (base64)"},
	};
	struct scan_config sc = defaults();
	char err[256], head[512];
	struct scan_set *set = scan_set_new(&sc, NULL, err, sizeof(err));
	struct scan_finding f;
	assert_non_null(set);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(head, sizeof(head), "%sHost: e.example\r\n\r\n", cases[i].head);
		assert_true(scan(set, "e.example", head, &f));
		assert_string_equal(f.name, "github-token");
		assert_string_equal(f.where, cases[i].where);
	}
	scan_set_free(set);
	/* decode_depth bounds the layers: 1 finds base64, not base64 in base64; 0 neither */
	sc.decode_depth = 1;
	set = scan_set_new(&sc, NULL, err, sizeof(err));
	snprintf(head, sizeof(head), "%sHost: e.example\r\n\r\n", cases[0].head);
	assert_true(scan(set, "e.example", head, &f));
	snprintf(head, sizeof(head), "%sHost: e.example\r\n\r\n", cases[4].head);
	assert_false(scan(set, "e.example", head, &f));
	scan_set_free(set);
	sc.decode_depth = 0;
	set = scan_set_new(&sc, NULL, err, sizeof(err));
	snprintf(head, sizeof(head), "%sHost: e.example\r\n\r\n", cases[0].head);
	assert_false(scan(set, "e.example", head, &f));
	scan_set_free(set);
	scan_thread_fini();
}

/* redact: every header a redact pattern matches in is marked, the rest are not; in the target
 * there is nothing to cut out, so it blocks; a block elsewhere in the head still wins. */
static void test_redact(void **state)
{
	struct scan_config sc = defaults();
	sc.action = SCAN_REDACT;
	char err[256];
	struct scan_set *set = scan_set_new(&sc, NULL, err, sizeof(err));
	struct scan_finding f;
	assert_non_null(set);

	assert_true(
	    scan(set, "e.example",
		 "GET / HTTP/1.1\r\nHost: e.example\r\nA: fine\r\nB: key "
		 "AKIAQWERTYUIOPASDFGH\r\nC: also fine\r\nD: Z2hwX2ExQjJjM0Q0ZTVGNmc3SDhpOUowaz"
		 "FMMm0zTjRvNVA2cTdSOA==\r\nE: AKIAQWERTYUIOPASDFGH\r\n\r\n",
		 &f));
	assert_int_equal(f.action, SCAN_REDACT);
	assert_false(redact[0] || redact[1] || redact[3]);
	assert_true(redact[2] && redact[4] && redact[5]);
	char text[96];
	struct slice v = scan_redacted_value(&f, text, sizeof(text));
	assert_int_equal(v.len, strlen("[redacted:aws-access-key]"));
	assert_memory_equal(v.ptr, "[redacted:aws-access-key]", v.len);
	/* in the query: a block */
	assert_true(scan(set, "e.example",
			 "GET /?k=AKIAQWERTYUIOPASDFGH HTTP/1.1\r\nHost: e.example\r\n\r\n", &f));
	assert_int_equal(f.action, SCAN_BLOCK);
	/* no room for redactions: a block */
	static const char plain[] = "GET / HTTP/1.1\r\nB: AKIAQWERTYUIOPASDFGH\r\n\r\n";
	assert_true(http1_request_parse(plain, sizeof(plain) - 1, 64, &req) > 0);
	assert_true(scan_request_head(set, SLICE_LIT("e.example"), &req, req.target, &f, NULL));
	assert_int_equal(f.action, SCAN_BLOCK);
	/* a JWT stays a report */
	assert_true(scan(set, "e.example",
			 "GET / HTTP/1.1\r\nA: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
			 "dozjgNryP4J3jVmNHl0w5N\r\n\r\n",
			 &f));
	assert_int_equal(f.action, SCAN_REPORT);
	assert_false(redact[0]);
	scan_set_free(set);
	scan_thread_fini();
}

/* Bodies in their encodings, split at every byte: MIME-wrapped base64 with the token across a
 * line break, a form's percent-encoded base64, hex. */
static void test_decoded_bodies(void **state)
{
	static const struct {
		const char *body, *where;
	} cases[] = {
	    {"--b\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	     "U29tZSB0ZXh0IHRoYXQgZ29lcyBvbiBmb3IgYSB3aGlsZSBiZWZvcmUgdGhlIHRva2VuIGdocF9h\r\n"
	     "MUIyYzNENGU1RjZnN0g4aTlKMGsxTDJtM040bzVQNnE3UjggYW5kIGFmdGVyIGl0LCBtb3JlIHRl\r\n"
	     "eHQu\r\n--b--\r\n",
	     "body (base64)"},
	    {"a=1&x=eD4%2BZ2hwX2ExQjJjM0Q0ZTVGNmc3SDhpOUowazFMMm0zTjRvNVA2cTdSOD8%2F&b=2",
	     "body (percent, base64)"},
	    {"{\"h\":\"6768705f6131423263334434653546366737483869394a306b314c326d334e346f35503671"
	     "375238\"}",
	     "body (hex)"},
	};
	struct scan_config sc = defaults();
	char err[256];
	struct scan_set *set = scan_set_new(&sc, NULL, err, sizeof(err));
	struct scan_finding f;
	assert_non_null(set);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].body);
		for (size_t cut = 0; cut <= n; cut++) {
			struct scan_stream *st =
			    scan_stream_open(set, SLICE_LIT("x.example"), false);
			assert_non_null(st);
			bool a = scan_stream_feed(st, cases[i].body, cut, false, &f);
			bool b = a || scan_stream_feed(st, cases[i].body + cut, n - cut, true, &f);
			assert_true(b);
			assert_string_equal(f.name, "github-token");
			assert_string_equal(f.where, cases[i].where);
			scan_stream_free(st);
		}
	}
	scan_set_free(set);
	scan_thread_fini();
}

/* A host name is scanned without regard to case; a name under a pattern's hosts is its own. */
static void test_host_names(void **state)
{
	struct scan_config sc = defaults();
	char err[256];
	struct scan_set *set = scan_set_new(&sc, NULL, err, sizeof(err));
	struct scan_finding f;
	assert_non_null(set);

	assert_true(scan_host_name(set, SLICE_LIT("akiaqwertyuiopasdfgh.t.example"), &f));
	assert_string_equal(f.name, "aws-access-key");
	assert_string_equal(f.where, "host");
	assert_true(scan_host_name(
	    set, SLICE_LIT("x.GHP_A1B2C3D4E5F6G7H8I9J0K1L2M3N4O5P6Q7R8.example"), &f));
	assert_string_equal(f.name, "github-token");
	assert_false(scan_host_name(set, SLICE_LIT("akiaqwertyuiopasdfgh.s3.amazonaws.com"), &f));
	assert_false(scan_host_name(set, SLICE_LIT("api.github.com"), &f));
	assert_false(scan_host_name(NULL, SLICE_LIT("akiaqwertyuiopasdfgh.t.example"), &f));
	scan_set_free(set);
	scan_thread_fini();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builtins),   cmocka_unit_test(test_rules_and_secrets),
	    cmocka_unit_test(test_bodies),     cmocka_unit_test(test_decoded_heads),
	    cmocka_unit_test(test_redact),     cmocka_unit_test(test_decoded_bodies),
	    cmocka_unit_test(test_host_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
