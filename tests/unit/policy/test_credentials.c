/* Tests src/policy/credentials.c: derived placeholders (stable, one per agent and credential, in
 * a form every header and query carries), and judging a request: the placeholder where the
 * credential goes becomes a use, anywhere toward another host it is misuse, require without it
 * is missing; a look-alike query parameter is not the credential's. Also the head that
 * emit/http_head writes from the uses: the secret in, and out of the response again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit/http_head.h"
#include "policy/credentials.h"
#include "policy/domain_set.h"

static struct credential items[2];
static struct credential_list list = {items, 2};

static int setup(void **state)
{
	const char *detail;
	memset(items, 0, sizeof(items));
	strcpy(items[0].name, "api");
	strcpy(items[0].label, "credentials[0]");
	items[0].hosts = domain_set_new();
	domain_set_add(items[0].hosts, SLICE_LIT("api.example.com"), &detail);
	strcpy(items[0].header, "Authorization");
	strcpy(items[0].format, "Bearer {secret}");
	strcpy(items[0].secret, "SECRET-1");
	items[0].secret_len = 8;
	items[0].ready = true;
	strcpy(items[1].name, "search");
	strcpy(items[1].label, "credentials[1]");
	items[1].hosts = domain_set_new();
	domain_set_add(items[1].hosts, SLICE_LIT("*.search.example"), &detail);
	strcpy(items[1].query, "key");
	strcpy(items[1].placeholder, "fixed-placeholder-1");
	strcpy(items[1].secret, "s e/cret");
	items[1].secret_len = 8;
	items[1].ready = true;
	return 0;
}

static int teardown(void **state)
{
	domain_set_free(items[0].hosts);
	domain_set_free(items[1].hosts);
	return 0;
}

static void test_placeholders(void **state)
{
	char a[CREDENTIAL_PLACEHOLDER_MAX + 1], b[CREDENTIAL_PLACEHOLDER_MAX + 1],
	    a2[CREDENTIAL_PLACEHOLDER_MAX + 1];

	credentials_placeholder(&items[0], "coder", a);
	credentials_placeholder(&items[0], "reviewer", b);
	credentials_placeholder(&items[0], "coder", a2);
	assert_string_equal(a, a2); /* stable */
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(a), strlen("sluice-api-") + 24);
	assert_memory_equal(a, "sluice-api-", 11);
	for (const char *p = a + 11; *p; p++)
		assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
	/* the secret is no part of it */
	strcpy(items[0].secret, "OTHER-22");
	credentials_placeholder(&items[0], "coder", a2);
	assert_string_equal(a, a2);
	credentials_placeholder(&items[1], "coder", a);
	assert_string_equal(a, "fixed-placeholder-1");
}

static struct http1_request req;

static void parse(const char *head)
{
	assert_true(http1_request_parse(head, strlen(head), 64, &req) > 0);
}

static enum credentials_result judge(const char *host, const char *agent,
				     struct credential_use *uses, unsigned *n,
				     const struct credential **which)
{
	return credentials_judge(&list, agent, slice_from_cstr(host), &req, req.target, uses, n,
				 which);
}

static void test_judge(void **state)
{
	struct credential_use uses[CREDENTIAL_USES_MAX];
	unsigned n;
	const struct credential *which;
	char ph[CREDENTIAL_PLACEHOLDER_MAX + 1], head[512];

	credentials_placeholder(&items[0], "coder", ph);
	snprintf(head, sizeof(head),
		 "GET /v1 HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer %s\r\n\r\n",
		 ph);
	parse(head);
	assert_int_equal(judge("api.example.com", "coder", uses, &n, &which), CREDENTIALS_OK);
	assert_int_equal(n, 1);
	assert_ptr_equal(uses[0].cred, &items[0]);
	assert_int_equal(uses[0].header, 1);
	assert_string_equal(uses[0].placeholder, ph);
	/* another agent's placeholder: not this agent's credential, and no misuse either */
	assert_int_equal(judge("api.example.com", "reviewer", uses, &n, &which), CREDENTIALS_OK);
	assert_int_equal(n, 0);
	/* toward another host: misuse, wherever it is */
	assert_int_equal(judge("evil.example", "coder", uses, &n, &which), CREDENTIALS_MISUSE);
	assert_ptr_equal(which, &items[0]);
	snprintf(head, sizeof(head), "GET /x?y=%s HTTP/1.1\r\nHost: evil.example\r\n\r\n", ph);
	parse(head);
	assert_int_equal(judge("evil.example", "coder", uses, &n, &which), CREDENTIALS_MISUSE);
	snprintf(head, sizeof(head), "GET /x HTTP/1.1\r\nHost: evil.example\r\nX: a%sb\r\n\r\n",
		 ph);
	parse(head);
	assert_int_equal(judge("evil.example", "coder", uses, &n, &which), CREDENTIALS_MISUSE);
	/* the fixed query placeholder: only as the value of its parameter */
	parse("GET /q?a=1&key=fixed-placeholder-1 HTTP/1.1\r\nHost: s.search.example\r\n\r\n");
	assert_int_equal(judge("s.search.example", "coder", uses, &n, &which), CREDENTIALS_OK);
	assert_int_equal(n, 1);
	assert_int_equal(uses[0].header, -1);
	parse("GET /q?xkey=fixed-placeholder-1 HTTP/1.1\r\nHost: s.search.example\r\n\r\n");
	assert_int_equal(judge("s.search.example", "coder", uses, &n, &which), CREDENTIALS_OK);
	assert_int_equal(n, 0);
	/* require */
	items[0].require = true;
	parse("GET / HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer nope\r\n\r\n");
	assert_int_equal(judge("api.example.com", "coder", uses, &n, &which), CREDENTIALS_MISSING);
	assert_ptr_equal(which, &items[0]);
	items[0].require = false;
	assert_int_equal(judge("api.example.com", "coder", uses, &n, &which), CREDENTIALS_OK);
	assert_int_equal(n, 0);
}

static void test_head_swaps(void **state)
{
	struct credential_use uses[CREDENTIAL_USES_MAX];
	unsigned n;
	const struct credential *which;
	char ph[CREDENTIAL_PLACEHOLDER_MAX + 1], head[512];
	struct buf out;

	credentials_placeholder(&items[0], "coder", ph);
	snprintf(head, sizeof(head),
		 "GET /v1?key=%s HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer %s\r\n"
		 "X-Other: %s\r\n\r\n",
		 ph, ph, ph);
	parse(head);
	assert_int_equal(judge("api.example.com", "coder", uses, &n, &which), CREDENTIALS_OK);
	struct http_head_swap swaps[] = {
	    {uses[0].header, slice_from_cstr(ph), SLICE_LIT("SECRET-1")},
	    {HTTP_HEAD_SWAP_QUERY, SLICE_LIT("key=fixed-placeholder-1"), SLICE_LIT("key=s%20e")},
	};
	struct http_head_request h = {.req = &req,
				      .path = req.target,
				      .host = "api.example.com",
				      .port = 80,
				      .default_port = 80,
				      .via = "sluice",
				      .swaps = swaps,
				      .n_swaps = 2};
	buf_init(&out, NULL);
	assert_true(http_head_format_request(&h, &out, 4096));
	char *text = strndup(buf_head(&out), buf_len(&out));
	/* the credential's own field alone; the same placeholder elsewhere goes as it came */
	assert_non_null(strstr(text, "Authorization: Bearer SECRET-1\r\n"));
	snprintf(head, sizeof(head), "X-Other: %s\r\n", ph);
	assert_non_null(strstr(text, head));
	free(text);
	buf_release(&out);

	/* the query parameter, exactly */
	parse("GET /q?a=1&key=fixed-placeholder-1&b=key=fixed-placeholder-1 HTTP/1.1\r\n"
	      "Host: s.search.example\r\n\r\n");
	h.req = &req;
	h.path = req.target;
	h.swaps = &swaps[1];
	h.n_swaps = 1;
	buf_init(&out, NULL);
	assert_true(http_head_format_request(&h, &out, 4096));
	const char *want = "GET /q?a=1&key=s%20e&b=key=fixed-placeholder-1 HTTP/1.1\r\n";
	assert_memory_equal(buf_head(&out), want, strlen(want));
	buf_release(&out);

	/* a response that echoes the secret, twice in one field and in another */
	static struct http1_response resp;
	const char *r = "HTTP/1.1 200 OK\r\nX-Echo: SECRET-1,SECRET-1\r\nX-B: aSECRET-1b\r\n"
			"Content-Length: 0\r\n\r\n";
	assert_true(http1_response_parse(r, strlen(r), 64, false, false, &resp) > 0);
	struct http_head_swap back = {HTTP_HEAD_SWAP_ALL, SLICE_LIT("SECRET-1"), SLICE_LIT("PH")};
	buf_init(&out, NULL);
	assert_true(http_head_format_response(&resp, true, 1, &back, 1, &out, 4096));
	text = strndup(buf_head(&out), buf_len(&out));
	assert_non_null(strstr(text, "X-Echo: PH,PH\r\n"));
	assert_non_null(strstr(text, "X-B: aPHb\r\n"));
	assert_null(strstr(text, "SECRET"));
	free(text);
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_placeholders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_judge, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_head_swaps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
