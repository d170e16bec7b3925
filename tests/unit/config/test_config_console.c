/* Tests src/config/config_console.c's approvals.webhook and webhook_secret_env: a URL split into
 * what the sender needs (io/webhook), and every URL it could not send to, or that would leak a
 * credential into a place it does not belong, refused with why. */
#include "config_test.h"

static void test_webhook_url_split(void **state)
{
	(void)state;
	struct config *cfg = parse_ok("approvals:\n"
				      "  webhook: https://hooks.example.com/services/T0/B0?x=1\n"
				      "  webhook_secret_env: HOOK_KEY\n");
	assert_string_equal(cfg->approvals.webhook.host, "hooks.example.com");
	assert_int_equal(cfg->approvals.webhook.port, 443);
	assert_true(cfg->approvals.webhook.tls);
	assert_string_equal(cfg->approvals.webhook.path, "/services/T0/B0?x=1");
	assert_string_equal(cfg->approvals.webhook.secret_env, "HOOK_KEY");
	config_free(cfg);
	cfg = parse_ok("approvals: {webhook: \"http://[::1]:8080\"}\n");
	assert_string_equal(cfg->approvals.webhook.host, "::1");
	assert_int_equal(cfg->approvals.webhook.port, 8080);
	assert_false(cfg->approvals.webhook.tls);
	assert_string_equal(cfg->approvals.webhook.path, "/");
	config_free(cfg);
	cfg = parse_ok("approvals: {webhook: \"http://hooks.test?q\"}\n");
	assert_string_equal(cfg->approvals.webhook.path, "/?q");
	config_free(cfg);
	/* None by default. */
	cfg = parse_ok("allow: [example.com]\n");
	assert_string_equal(cfg->approvals.webhook.host, "");
	config_free(cfg);
}

static void test_webhook_mistakes_refused(void **state)
{
	(void)state;
	static const struct {
		const char *yaml, *message;
	} cases[] = {
	    {"approvals: {webhook: \"ftp://hooks.test/\"}\n",
	     "approvals.webhook: \"ftp://hooks.test/\" is not a webhook URL: the URL must start "
	     "with http:// or https://"},
	    {"approvals: {webhook: \"https://user:pw@hooks.test/\"}\n",
	     "approvals.webhook: \"https://user:pw@hooks.test/\" is not a webhook URL: userinfo "
	     "(user@) is not allowed; sign the body with webhook_secret_env"},
	    {"approvals: {webhook: \"https://hooks.test/#x\"}\n",
	     "approvals.webhook: \"https://hooks.test/#x\" is not a webhook URL: a fragment "
	     "(#...) is not allowed"},
	    {"approvals: {webhook: \"https:///path\"}\n",
	     "approvals.webhook: \"https:///path\" is not a webhook URL: the host is missing"},
	    {"approvals: {webhook: \"https://hooks.test/a b\"}\n",
	     "approvals.webhook: \"https://hooks.test/a b\" is not a webhook URL: a space or "
	     "control byte in the path"},
	    {"approvals: {webhook_secret_env: \"1BAD\"}\n",
	     "approvals.webhook_secret_env: \"1BAD\" is not an environment variable name "
	     "(letters, digits and '_', not starting with a digit)"},
	    {"approvals: {webhook_secret_env: HOOK_KEY}\n",
	     "approvals.webhook_secret_env signs the webhook's body: set approvals.webhook too"},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_null(parse(cases[i].yaml));
		assert_true(errs.count >= 1);
		if (strcmp(errs.items[0].message, cases[i].message) != 0)
			fail_msg("%s: got \"%s\"", cases[i].yaml, errs.items[0].message);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webhook_url_split),
	    cmocka_unit_test(test_webhook_mistakes_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
