/* config_rules: the rules allow, deny, ips.allow, ips.deny and ports, at the top level or in an
 * agent, into the policy's domain and CIDR sets. Does not decide (policy/ does). */
#ifndef SLUICE_CONFIG_CONFIG_RULES_H
#define SLUICE_CONFIG_CONFIG_RULES_H

#include "config/config_reader.h"

/* At the top level the rules of every agent; in an agents[] item that agent's own (a set, even
 * an empty one, replaces the inherited rule). */
void config_rules_read_allow(struct config_reader *r, const struct config_key *k, const char *path);
void config_rules_read_deny(struct config_reader *r, const struct config_key *k, const char *path);
/* ask: the names whose refusal is held for an operator (an agent's, or cfg->base's). */
void config_rules_read_ask(struct config_reader *r, const struct config_key *k, const char *path);
/* A list read by items into a new domain set that replaces *slot (kept when the list is not
 * one). */
void config_rules_read_domain_set(struct config_reader *r, const char *path,
				  const struct config_list *items, struct domain_set **slot);
/* host: (rules, credentials, scan patterns): one domain pattern, no port, or a list of them,
 * added to set. */
void config_rules_read_hosts(struct config_reader *r, const char *path, struct domain_set *set);
/* Returns what config_reader_list returns (-1 also when out of memory). */
int config_rules_read_cidrs(struct config_reader *r, const char *path, struct cidr_set **slot);
/* A list of ports, "low-high" ranges and "*" at path, marked in bitmap (bit p for port p), as
 * ports: reads them; returns how many items, or -1. */
int config_rules_read_port_bitmap(struct config_reader *r, const char *path, uint8_t *bitmap);
/* At the top level collected into r->ports (applied to the rules at the end); in an agents[]
 * item straight into that agent's bitmap. */
void config_rules_read_ports(struct config_reader *r, const struct config_key *k, const char *path);
/* Applies the top-level ports, once the whole file is read, to the policy rules. */
void config_rules_finish(struct config_reader *r);
/* The keys of ips: allow, deny. */
extern const struct config_key config_rules_ips_keys[2];

#endif
