/* Tests src/config/config_redact.c: what /api/policy shows of a configuration holds none of its
 * secrets — the agents' and the console's token hashes, a credential's inline secret, the text
 * values of routes' headers.set — while where a secret comes from ({env: ...}, {file: ...}) and
 * everything else stay, comments are dropped, and the result is still a configuration sluice
 * reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/config_redact.h"

#define HASH "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char config_text[] = "# an old token: sk-commented-out\n"
				  "listen: {admin: 127.0.0.1:9901}\n"
				  "console: {token_sha256: " HASH "}\n"
				  "allow: [example.com, \"*.github.com\"]\n"
				  "agents:\n"
				  "  - name: coder\n"
				  "    match: {token_sha256: " HASH "}\n"
				  "    allow: [pypi.org]\n"
				  "  - name: other\n"
				  "    match: {token_env: OTHER_TOKEN}\n"
				  "routes:\n"
				  "  - host: docs.internal\n"
				  "    upstream: http://127.0.0.1:8080\n"
				  "    headers:\n"
				  "      set:\n"
				  "        X-Api-Key: sk-live-route-secret\n"
				  "        X-From-Env: {env: DOCS_KEY}\n"
				  "      remove: [Cookie]\n"
				  "credentials:\n"
				  "  - name: openai\n"
				  "    hosts: [api.openai.com]\n"
				  "    header: \"Authorization: Bearer {secret}\"\n"
				  "    secret: {file: /run/secrets/openai}\n";

static char *redact(const char *text)
{
	struct buf out = {0};
	assert_true(config_redact(text, strlen(text), &out, 1 << 20));
	assert_true(buf_append(&out, "", 1, 1 << 20));
	char *s = strdup(buf_head(&out));
	buf_release(&out);
	return s;
}

static void test_secrets_are_gone_and_the_rest_stays(void **state)
{
	(void)state;
	char *s = redact(config_text);

	assert_null(strstr(s, HASH));
	assert_null(strstr(s, "sk-live-route-secret"));
	assert_null(strstr(s, "sk-commented-out"));
	/* Twice for the tokens, once for the header. */
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, CONFIG_REDACTED)); p++)
		n++;
	assert_int_equal(n, 3);
	/* Where secrets come from, and the policy itself, are shown. */
	const char *kept[] = {"OTHER_TOKEN",	 "DOCS_KEY",	   "/run/secrets/openai",
			      "Bearer {secret}", "*.github.com",   "pypi.org",
			      "docs.internal",	 "api.openai.com", "Cookie"};
	for (unsigned i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (!strstr(s, kept[i]))
			fail_msg("%s is missing from:\n%s", kept[i], s);
	free(s);
}

static void test_a_secret_given_inline_is_hidden(void **state)
{
	(void)state;
	char *s = redact("credentials:\n  - name: a\n    hosts: [x.test]\n"
			 "    header: \"X-Key: {secret}\"\n    secret: \"sk-inline-one\"\n");
	assert_null(strstr(s, "sk-inline-one"));
	assert_non_null(strstr(s, "secret: \"" CONFIG_REDACTED "\""));
	free(s);
	/* A chat hook's URL is its secret; webhook_secret_env names where one comes from. */
	s = redact("approvals:\n  webhook: https://hooks.slack.com/services/T0/B0/sk-hook-path\n"
		   "  webhook_secret_env: HOOK_KEY\nroutes: [{host: webhook.test}]\n");
	assert_null(strstr(s, "sk-hook-path"));
	assert_non_null(strstr(s, "webhook: \"" CONFIG_REDACTED "\""));
	assert_non_null(strstr(s, "HOOK_KEY"));
	assert_non_null(strstr(s, "webhook.test"));
	free(s);
	/* A key that only ends like one is not taken for it. */
	s = redact("agents: [{name: my_secret, allow: [secret.example]}]\n");
	assert_non_null(strstr(s, "secret.example"));
	assert_null(strstr(s, CONFIG_REDACTED));
	free(s);
}

static void test_the_result_still_reads(void **state)
{
	(void)state;
	/* Re-written from its parse, a configuration without secrets reads as the original. */
	char *s = redact("allow: [example.com]\nports: [80, 443]\nmode: report\n"
			 "guidance: ask the operator\n");
	struct config_errors errors;
	struct config *cfg = config_parse(s, strlen(s), &errors);
	assert_non_null(cfg);
	assert_int_equal(cfg->base.mode, AGENT_REPORT);
	assert_string_equal(cfg->base.guidance, "ask the operator");
	config_free(cfg);
	free(s);
}

static void test_not_yaml_is_refused(void **state)
{
	(void)state;
	struct buf out = {0};
	assert_false(config_redact("a: [unclosed\n", 13, &out, 1 << 20));
	buf_release(&out);
	/* Too small a buffer: refused, not cut short. */
	assert_false(config_redact(config_text, strlen(config_text), &out, 64));
	buf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secrets_are_gone_and_the_rest_stays),
	    cmocka_unit_test(test_a_secret_given_inline_is_hidden),
	    cmocka_unit_test(test_the_result_still_reads),
	    cmocka_unit_test(test_not_yaml_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
