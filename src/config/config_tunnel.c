#include "config/config_tunnel.h"

#include <string.h>

#include "config/config_rules.h"
#include "config/config_value.h"
#include "policy/tunnel_policy.h"

static struct policy_tunnel *reader_tunnel(struct config_reader *r)
{
	return &r->cfg->rules.tunnel;
}

static void read_inspect(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_read_bool(r, path, &reader_tunnel(r)->inspect);
}

/* allow or deny: true for allow, false for deny; -1 after an error. */
static int read_allow_deny(struct config_reader *r, const char *path, const char *what)
{
	static const char *const words[] = {"allow", "deny"};
	int i = config_reader_word(r, path, what, words, ARRAY_SIZE(words));
	return i < 0 ? -1 : i == 0;
}

static void read_missing_sni(struct config_reader *r, const struct config_key *k, const char *path)
{
	int allow = read_allow_deny(r, path, "what to do with a ClientHello without SNI");
	if (allow >= 0)
		reader_tunnel(r)->missing_sni_allow = allow;
}

static void read_ip_sni(struct config_reader *r, const struct config_key *k, const char *path)
{
	int allow = read_allow_deny(r, path, "what to do with an IP address as SNI");
	if (allow >= 0)
		reader_tunnel(r)->ip_sni_allow = allow;
}

static void read_ech(struct config_reader *r, const struct config_key *k, const char *path)
{
	static const char *const words[] = {"outer", "deny"};
	int i = config_reader_word(r, path, "what to do with an encrypted ClientHello", words,
				   ARRAY_SIZE(words));
	if (i >= 0)
		reader_tunnel(r)->ech_deny = i == 1;
}

static void read_opaque_ports(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct policy_tunnel *t = reader_tunnel(r);
	memset(t->opaque_ports, 0, sizeof(t->opaque_ports));
	config_rules_read_port_bitmap(r, path, t->opaque_ports);
}

const struct config_key config_tunnel_keys[5] = {
    {.name = "inspect", .read = read_inspect},
    {.name = "missing_sni", .read = read_missing_sni},
    {.name = "ip_sni", .read = read_ip_sni},
    {.name = "ech", .read = read_ech},
    {.name = "opaque_ports", .read = read_opaque_ports},
};
