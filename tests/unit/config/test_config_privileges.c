/* Tests for config/config_privileges: user and seccomp, syntax only. */
#include "config_test.h"

/* ---- least privilege: user and seccomp ---- */

static void test_user_and_seccomp_defaults(void **state)
{
	struct config *cfg = parse_ok("workers: 1\n");
	assert_string_equal(cfg->user, "");
	assert_true(cfg->seccomp);
	config_free(cfg);
	cfg = config_default();
	assert_string_equal(cfg->user, "");
	assert_true(cfg->seccomp);
	config_free(cfg);
}

static void test_user_name_and_uid(void **state)
{
	struct config *cfg = parse_ok("user: sluice\n");
	assert_string_equal(cfg->user, "sluice");
	config_free(cfg);
	cfg = parse_ok("user: \"_svc.sluice-1\"\n");
	assert_string_equal(cfg->user, "_svc.sluice-1");
	config_free(cfg);
	cfg = parse_ok("user: 65534\n");
	assert_string_equal(cfg->user, "65534");
	config_free(cfg);
	cfg = parse_ok("user: abcdefghijklmnopqrstuvwxyz012345\n");
	assert_string_equal(cfg->user, "abcdefghijklmnopqrstuvwxyz012345");
	config_free(cfg);
}

static void test_user_bad_characters_refused(void **state)
{
	assert_null(parse("user: \"no body\"\n"));
	assert_error(0, 1, 7,
		     "user: \"no body\" is not a valid user: a user name has only letters, digits, "
		     "'.', '_' and '-'");
}

static void test_user_leading_dash_refused(void **state)
{
	assert_null(parse("user: -x\n"));
	assert_error(0, 1, 7,
		     "user: \"-x\" is not a valid user: a user name does not start with '-'");
}

static void test_user_too_long_refused(void **state)
{
	assert_null(parse("user: abcdefghijklmnopqrstuvwxyz0123456\n"));
	assert_error(0, 1, 7,
		     "user: \"abcdefghijklmnopqrstuvwxyz0123456\" is not a valid user: a user name "
		     "has 1 to 32 characters");
}

static void test_user_uid_out_of_range_refused(void **state)
{
	assert_null(parse("user: 4294967295\n"));
	assert_error(0, 1, 7,
		     "user: \"4294967295\" is not a valid user: a numeric uid is below 4294967295");
	assert_null(parse("user: 0065534\n"));
	assert_error_prefix(0, 1, 7, "user: \"0065534\" is not a valid user: leading zeros");
}

static void test_user_empty_or_list_refused(void **state)
{
	assert_null(parse("user:\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("user: [a]\n"));
	assert_int_equal(errs.count, 1);
	assert_null(parse("user: yes\n"));
	assert_int_equal(errs.count, 1);
}

static void test_seccomp_false_and_true(void **state)
{
	struct config *cfg = parse_ok("seccomp: false\n");
	assert_false(cfg->seccomp);
	config_free(cfg);
	cfg = parse_ok("seccomp: true\n");
	assert_true(cfg->seccomp);
	config_free(cfg);
	cfg = parse_ok("seccomp: off\n");
	assert_false(cfg->seccomp);
	config_free(cfg);
}

static void test_seccomp_not_boolean_refused(void **state)
{
	assert_null(parse("seccomp: \"false\"\n"));
	assert_error(0, 1, 10, "seccomp: expected true or false, got a string");
	assert_null(parse("seccomp: 0\n"));
	assert_error(0, 1, 10, "seccomp: expected true or false, got a number");
	assert_null(parse("seccomp:\n"));
	assert_int_equal(errs.count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_user_and_seccomp_defaults),
	    cmocka_unit_test(test_user_name_and_uid),
	    cmocka_unit_test(test_user_bad_characters_refused),
	    cmocka_unit_test(test_user_leading_dash_refused),
	    cmocka_unit_test(test_user_too_long_refused),
	    cmocka_unit_test(test_user_uid_out_of_range_refused),
	    cmocka_unit_test(test_user_empty_or_list_refused),
	    cmocka_unit_test(test_seccomp_false_and_true),
	    cmocka_unit_test(test_seccomp_not_boolean_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
