/* Tests for config/config_tunnel: the tunnel: section's defaults, every key, and each refusal
 * with its line:column. */
#include "config_test.h"

#include "policy/tunnel_policy.h"

static void test_tunnel_defaults(void **state)
{
	struct config *cfg = parse_ok("");
	const struct policy_tunnel *t = &cfg->rules.tunnel;
	assert_true(t->inspect);
	assert_true(t->missing_sni_allow);
	assert_false(t->ip_sni_allow);
	assert_false(t->ech_deny);
	for (unsigned p = 0; p <= 65535; p++)
		assert_true(tunnel_policy_inspects(t, (uint16_t)p));
	config_free(cfg);
}

static void test_tunnel_every_key(void **state)
{
	struct config *cfg = parse_ok("tunnel:\n"
				      "  missing_sni: deny\n"
				      "  ip_sni: allow\n"
				      "  ech: deny\n"
				      "  opaque_ports: [22, \"5432-5433\"]\n");
	const struct policy_tunnel *t = &cfg->rules.tunnel;
	assert_true(t->inspect);
	assert_false(t->missing_sni_allow);
	assert_true(t->ip_sni_allow);
	assert_true(t->ech_deny);
	assert_false(tunnel_policy_inspects(t, 22));
	assert_false(tunnel_policy_inspects(t, 5432));
	assert_false(tunnel_policy_inspects(t, 5433));
	assert_true(tunnel_policy_inspects(t, 5434));
	assert_true(tunnel_policy_inspects(t, 443));
	config_free(cfg);
	cfg = parse_ok("tunnel:\n  inspect: false\n");
	assert_false(tunnel_policy_inspects(&cfg->rules.tunnel, 443));
	config_free(cfg);
}

static void test_tunnel_refused(void **state)
{
	refused("tunnel:\n  inspect: sometimes\n", 2, 12,
		"tunnel.inspect: expected true or false, got a string");
	refused("tunnel:\n  missing_sni: maybe\n", 2, 16,
		"tunnel.missing_sni: \"maybe\" is not what to do with a ClientHello without SNI "
		"(valid: allow, deny)");
	refused("tunnel:\n  ech: strip\n", 2, 8,
		"tunnel.ech: \"strip\" is not what to do with an encrypted ClientHello (valid: "
		"outer, deny)");
	refused("tunnel:\n  opaque_ports: [70000]\n", 2, 18,
		"tunnel.opaque_ports[0]: \"70000\" is not a valid port: out of range (1-65535)");
	refused("tunnel:\n  sni: off\n", 2, 3,
		"unknown key \"sni\" in tunnel (valid: inspect, missing_sni, ip_sni, ech, "
		"opaque_ports)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tunnel_defaults),
	    cmocka_unit_test(test_tunnel_every_key),
	    cmocka_unit_test(test_tunnel_refused),
	};
	return cmocka_run_group_tests_name("config_tunnel", tests, NULL, NULL);
}
