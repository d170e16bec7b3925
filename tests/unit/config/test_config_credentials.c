/* Tests src/config/config_credentials.c: a credential as written (header format or query, the
 * secret's source, a fixed placeholder, require), per agent replacing the top level's list,
 * and every refusal: a literal secret, both or neither of header and query, a format without
 * {secret} (or with two), a field sluice writes, a bad placeholder, a missing name or hosts,
 * two credentials with one name or one placeholder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config_test.h"
#include "policy/domain_set.h"

#define HEAD "credentials:\n  - name: api\n    hosts: [api.example.com, \"*.api.example\"]\n"

static void test_credential_read(void **state)
{
	struct config *cfg =
	    parse_ok(HEAD "    header: 'Authorization: Bearer {secret}'\n"
			  "    secret: {env: API_KEY}\n    require: true\n"
			  "agents:\n  - name: a\n    match: {source: [10.0.0.0/8]}\n"
			  "  - name: b\n    match: {source: [10.1.0.0/16]}\n"
			  "    credentials:\n      - name: q\n        hosts: [s.example]\n"
			  "        query: key\n        secret: {file: /run/q}\n"
			  "        placeholder: fixed-placeholder\n");
	const struct credential *c = &cfg->base.credentials.items[0];
	assert_int_equal(cfg->base.credentials.n, 1);
	assert_string_equal(c->name, "api");
	assert_string_equal(c->label, "credentials[0]");
	assert_int_equal(domain_set_count(c->hosts), 2);
	assert_string_equal(c->header, "Authorization");
	assert_string_equal(c->format, "Bearer {secret}");
	assert_int_equal(c->secret_kind, CREDENTIAL_SECRET_ENV);
	assert_string_equal(c->secret_source, "API_KEY");
	assert_true(c->require);
	assert_false(c->ready); /* the daemon reads it */
	assert_false(cfg->agents[0].has_credentials);
	assert_true(cfg->agents[1].has_credentials);
	c = &cfg->agents[1].credentials.items[0];
	assert_string_equal(c->query, "key");
	assert_int_equal(c->secret_kind, CREDENTIAL_SECRET_FILE);
	assert_string_equal(c->placeholder, "fixed-placeholder");
	config_free(cfg);
}

static void test_credential_refusals(void **state)
{
	static const char *const bad[][2] = {
	    {HEAD "    header: 'Authorization: Bearer {secret}'\n    secret: sk-live\n",
	     "a secret is not written in the configuration"},
	    {HEAD "    header: 'A: {secret}'\n    query: k\n    secret: {env: X}\n",
	     "give one of header and query"},
	    {HEAD "    secret: {env: X}\n", "give one of header and query"},
	    {HEAD "    header: 'Authorization: Bearer'\n    secret: {env: X}\n",
	     "the value must hold {secret} exactly once"},
	    {HEAD "    header: 'A: {secret}{secret}'\n    secret: {env: X}\n",
	     "the value must hold {secret} exactly once"},
	    {HEAD "    header: 'Host: {secret}'\n    secret: {env: X}\n",
	     "sluice or HTTP itself writes that field"},
	    {HEAD
	     "    header: 'A: {secret}'\n    secret: {env: X}\n    placeholder: 'a b c d e f'\n",
	     "is not a placeholder"},
	    {"credentials:\n  - hosts: [a.example]\n    header: 'A: {secret}'\n    secret: {env: "
	     "X}\n",
	     "a credential needs a name"},
	    {"credentials:\n  - name: a\n    header: 'A: {secret}'\n    secret: {env: X}\n",
	     "a credential needs hosts"},
	    {HEAD "    header: 'A: {secret}'\n    secret: {env: X}\n"
		  "  - name: api\n    hosts: [b.example]\n    header: 'B: {secret}'\n"
		  "    secret: {env: Y}\n",
	     "the name api is taken by credentials[0]"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct config *cfg = parse(bad[i][0]);
		assert_null(cfg);
		bool found = false;
		for (unsigned e = 0; e < errs.count; e++)
			found = found || strstr(errs.items[e].message, bad[i][1]) != NULL;
		if (!found)
			dump_errors();
		assert_true(found);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_credential_read),
	    cmocka_unit_test(test_credential_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
