/* config_test: what the tests of config/ share: parse a text, assert its errors by position and
 * message, look at the rules it built. Holds no test of its own. */
#ifndef SLUICE_TESTS_CONFIG_TEST_H
#define SLUICE_TESTS_CONFIG_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"
#include "policy/cidr_set.h"
#include "policy/domain_set.h"

static struct config_errors errs;

static inline struct config *parse(const char *yaml)
{
	return config_parse(yaml, strlen(yaml), &errs);
}

static inline void dump_errors(void)
{
	char line[CONFIG_ERROR_MAX + 32];
	for (unsigned i = 0; i < errs.count; i++) {
		config_error_format(&errs.items[i], line, sizeof(line));
		print_message("  error: %s\n", line);
	}
}

static inline struct config *parse_ok(const char *yaml)
{
	struct config *cfg = parse(yaml);
	if (!cfg)
		dump_errors();
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	return cfg;
}

static inline void assert_error(unsigned i, int line, int column, const char *message)
{
	assert_true(i < errs.count);
	assert_string_equal(errs.items[i].message, message);
	assert_int_equal(errs.items[i].line, line);
	assert_int_equal(errs.items[i].column, column);
}

/* For messages that end in another module's detail text: only our part is asserted. */
static inline void assert_error_prefix(unsigned i, int line, int column, const char *prefix)
{
	assert_true(i < errs.count);
	if (strncmp(errs.items[i].message, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", errs.items[i].message,
			 prefix);
	assert_int_equal(errs.items[i].line, line);
	assert_int_equal(errs.items[i].column, column);
}

/* The text is refused with exactly one error. */
static inline void refused(const char *yaml, int line, int column, const char *message)
{
	assert_null(parse(yaml));
	if (errs.count != 1)
		dump_errors();
	assert_int_equal(errs.count, 1);
	assert_error(0, line, column, message);
}

static inline void refused_prefix(const char *yaml, int line, int column, const char *prefix)
{
	assert_null(parse(yaml));
	if (errs.count != 1)
		dump_errors();
	assert_int_equal(errs.count, 1);
	assert_error_prefix(0, line, column, prefix);
}

static inline bool allows_name(const struct config *cfg, const char *name)
{
	return domain_set_match(cfg->rules.allow, slice_from_cstr(name)) != NULL;
}

static inline bool denies_name(const struct config *cfg, const char *name)
{
	return domain_set_match(cfg->rules.deny, slice_from_cstr(name)) != NULL;
}

static inline bool port_ok(const struct config *cfg, unsigned port)
{
	return policy_rules_port_allowed(&cfg->rules, (uint16_t)port);
}

static inline void assert_v4(const struct ip_addr *a, uint8_t b0, uint8_t b1, uint8_t b2,
			     uint8_t b3)
{
	assert_int_equal(a->family, IP_V4);
	assert_int_equal(a->bytes[0], b0);
	assert_int_equal(a->bytes[1], b1);
	assert_int_equal(a->bytes[2], b2);
	assert_int_equal(a->bytes[3], b3);
}

static inline void assert_v6_loopback(const struct ip_addr *a)
{
	static const uint8_t lo[16] = {[15] = 1};
	assert_int_equal(a->family, IP_V6);
	assert_memory_equal(a->bytes, lo, 16);
}

static inline void assert_inherits_everything(const struct agent *a)
{
	assert_false(a->has_mode);
	assert_int_equal(a->mode, AGENT_ENFORCE);
	assert_null(a->allow);
	assert_null(a->deny);
	assert_false(a->has_ports);
	assert_false(a->has_methods);
	assert_int_equal(a->n_methods, 0);
	assert_false(a->has_max_request_body);
	assert_false(a->has_guidance);
	assert_string_equal(a->guidance, "");
}

static inline void assert_implicit_default_agent_only(const struct config *cfg)
{
	assert_int_equal(cfg->n_agents, 1);
	assert_int_equal(cfg->default_agent, 0);
	assert_string_equal(cfg->agents[0].name, "default");
	assert_int_equal(cfg->agents[0].line, 0);
	assert_null(cfg->agents[0].sources);
	assert_int_equal(cfg->agents[0].token_kind, AGENT_TOKEN_NONE);
	assert_inherits_everything(&cfg->agents[0]);
}

/* A route with host and upstream, and fields on line 4. */
static inline void route_refused(const char *fields, int column, const char *message)
{
	char yaml[512];
	snprintf(yaml, sizeof(yaml),
		 "routes:\n  - host: r.internal\n    upstream: \"http://h\"\n    %s\n", fields);
	refused(yaml, 4, column, message);
}

#endif
