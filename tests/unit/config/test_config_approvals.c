/* Tests src/config/config_approvals.c and src/emit/approvals_yaml.c: what sluice writes to
 * approvals.file reads back the same, and a file with mistakes is refused with their
 * positions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config/config_approvals.h"
#include "emit/approvals_yaml.h"

static void test_written_file_reads_back(void **state)
{
	struct approval_list l, back;
	struct approval a = {.port = 443, .expires = 1796409000, .at = 1796400000};
	struct approval b = {.port = 0};
	struct approval c = {.port = 8443};
	struct config_errors errors;
	struct buf text = {0};

	strcpy(a.agent, "builder");
	strcpy(a.host, "api.example.com");
	strcpy(a.by, "al\"ice via console 127.0.0.1");
	strcpy(b.agent, "*");
	strcpy(b.host, "b.example.com");
	strcpy(b.by, "cli");
	/* An IPv6 literal is kept as the log shows it, bare: it reads back the same. */
	strcpy(c.agent, "builder");
	strcpy(c.host, "2001:db8::1");
	strcpy(c.by, "cli");
	approval_list_init(&l);
	approval_list_init(&back);
	approval_list_put(&l, &a);
	approval_list_put(&l, &b);
	approval_list_put(&l, &c);
	assert_true(approvals_yaml_format(&l, &text, 1 << 20));
	assert_int_equal(config_approvals_parse(buf_head(&text), buf_len(&text), &back, &errors),
			 0);
	assert_int_equal(back.n, 3);
	assert_memory_equal(&back.items[0], &a, sizeof(a));
	assert_memory_equal(&back.items[1], &b, sizeof(b));
	assert_memory_equal(&back.items[2], &c, sizeof(c));
	/* Written by hand, bracketed or in another spelling: the same address. */
	const char *spellings[] = {"\"[2001:DB8:0::1]\"", "\"2001:db8:0:0::0:1\""};
	for (unsigned i = 0; i < 2; i++) {
		char doc[256];
		snprintf(doc, sizeof(doc),
			 "approvals:\n  - agent: builder\n    host: %s\n    port: 1\n",
			 spellings[i]);
		assert_int_equal(config_approvals_parse(doc, strlen(doc), &back, &errors), 0);
		assert_int_equal(back.n, 1);
		assert_string_equal(back.items[0].host, "2001:db8::1");
	}
	/* An empty list, and an empty file, are no approvals. */
	l.n = 0;
	buf_release(&text);
	assert_true(approvals_yaml_format(&l, &text, 1 << 20));
	assert_int_equal(config_approvals_parse(buf_head(&text), buf_len(&text), &back, &errors),
			 0);
	assert_int_equal(back.n, 0);
	assert_int_equal(config_approvals_parse("", 0, &back, &errors), 0);
	buf_release(&text);
	approval_list_fini(&l);
	approval_list_fini(&back);
}

static void test_mistakes_refused(void **state)
{
	static const char text[] = "approvals:\n"
				   "  - agent: builder\n"
				   "    host: \"bad host\"\n"
				   "    port: 80\n"
				   "  - agent: b\n"
				   "    host: a.test\n"
				   "    port: 80\n"
				   "    expires: tomorrow\n"
				   "extra: 1\n";
	struct approval_list l;
	struct config_errors errors;
	char e[CONFIG_ERROR_MAX + 32];

	approval_list_init(&l);
	assert_int_equal(config_approvals_parse(text, sizeof(text) - 1, &l, &errors), -1);
	assert_true(errors.count >= 3);
	config_error_format(&errors.items[0], e, sizeof(e));
	assert_non_null(strstr(e, "3:11: approvals[0].host: \"bad host\" is not a host"));
	assert_int_equal(l.n, 0);
	approval_list_fini(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_written_file_reads_back),
	    cmocka_unit_test(test_mistakes_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
