/* policy_bench: how fast decisions stay with a big policy (issue 4, item 8).
 * Generates a config with 100,000 domain patterns and 10,000 CIDRs, times loading it with the
 * real loader, then times the decision for a mix of names and addresses. Prints one table.
 * Usage: policy_bench [domains] [cidrs] [decisions] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "config/config.h"
#include "policy/policy.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void append(struct buf *b, const char *s)
{
	if (!buf_append(b, s, strlen(s), 1u << 30)) {
		fprintf(stderr, "policy_bench: out of memory\n");
		exit(1);
	}
}

/* A deterministic config: allow patterns (3/4 exact, 1/4 wildcard), deny patterns, CIDRs. */
static void make_config(struct buf *b, unsigned domains, unsigned cidrs)
{
	char line[128];

	append(b, "allow:\n");
	for (unsigned i = 0; i < domains; i++) {
		snprintf(line, sizeof(line),
			 i % 4 ? "  - \"host%u.example%u.test\"\n"
			       : "  - \"*.zone%u.example%u.test\"\n",
			 i, i % 997);
		append(b, line);
	}
	append(b, "deny:\n");
	for (unsigned i = 0; i < domains / 10; i++) {
		snprintf(line, sizeof(line), "  - \"bad%u.example%u.test\"\n", i, i % 997);
		append(b, line);
	}
	append(b, "ips:\n  deny:\n");
	for (unsigned i = 0; i < cidrs; i++) {
		snprintf(line, sizeof(line), "    - \"%u.%u.%u.0/24\"\n", 11 + i / 65536 % 80,
			 i / 256 % 256, i % 256);
		append(b, line);
	}
	append(b, "  allow:\n");
	for (unsigned i = 0; i < cidrs / 10; i++) {
		snprintf(line, sizeof(line), "    - \"10.%u.%u.0/24\"\n", i / 256 % 256, i % 256);
		append(b, line);
	}
}

int main(int argc, char **argv)
{
	unsigned domains = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
	unsigned cidrs = argc > 2 ? (unsigned)atoi(argv[2]) : 10000;
	unsigned decisions = argc > 3 ? (unsigned)atoi(argv[3]) : 1000000;
	struct buf text = {0};
	struct config_errors errors;
	char host[128];

	make_config(&text, domains, cidrs);
	double t0 = now_s();
	struct config *cfg = config_parse(buf_head(&text), buf_len(&text), &errors);
	double load_s = now_s() - t0;
	if (!cfg) {
		char msg[CONFIG_ERROR_MAX + 32];
		config_error_format(&errors.items[0], msg, sizeof(msg));
		fprintf(stderr, "policy_bench: generated config refused: %s\n", msg);
		return 1;
	}
	struct policy_scope scope = {
	    .rules = &cfg->rules, .base = &cfg->base, .agent = &cfg->agents[0]};
	struct verdict v;
	unsigned allowed = 0;
	/* Names: exact hits, wildcard hits, deny hits and misses, in rotation. */
	t0 = now_s();
	for (unsigned i = 0; i < decisions; i++) {
		unsigned k = (i * 2654435761u) % domains;
		switch (i % 4) {
		case 0:
			snprintf(host, sizeof(host), "host%u.example%u.test", k | 1, (k | 1) % 997);
			break;
		case 1:
			snprintf(host, sizeof(host), "a.b.zone%u.example%u.test", k & ~3u,
				 (k & ~3u) % 997);
			break;
		case 2:
			snprintf(host, sizeof(host), "bad%u.example%u.test", k / 10, k / 10 % 997);
			break;
		default:
			snprintf(host, sizeof(host), "miss%u.nowhere.test", k);
			break;
		}
		struct request_facts f = {.host = slice_from_cstr(host), .port = 443};
		policy_decide(&scope, &f, &v);
		allowed += v.allow;
	}
	double names_s = now_s() - t0;
	double fmt_s = 0;
	t0 = now_s();
	for (unsigned i = 0; i < decisions; i++) {
		unsigned k = (i * 2654435761u) % domains;
		snprintf(host, sizeof(host), "host%u.example%u.test", k | 1, (k | 1) % 997);
	}
	fmt_s = now_s() - t0; /* the cost of making the names, subtracted below */
	/* Addresses: in ips.deny, re-allowed private, built-in private, global. */
	t0 = now_s();
	for (unsigned i = 0; i < decisions; i++) {
		unsigned k = i * 2654435761u;
		struct ip_addr a = {.family = IP_V4};
		switch (i % 4) {
		case 0:
			a.bytes[0] = (uint8_t)(11 + k % 40);
			a.bytes[1] = (uint8_t)(k >> 8);
			break;
		case 1:
			a.bytes[0] = 10;
			a.bytes[1] = 0;
			a.bytes[2] = (uint8_t)(k % 200);
			break;
		case 2:
			a.bytes[0] = 192;
			a.bytes[1] = 168;
			a.bytes[2] = (uint8_t)k;
			break;
		default:
			a.bytes[0] = 151;
			a.bytes[1] = 101;
			a.bytes[2] = (uint8_t)k;
			break;
		}
		a.bytes[3] = (uint8_t)(k >> 24);
		policy_decide_addr(&cfg->rules, &a, 443, &v);
		allowed += v.allow;
	}
	double addrs_s = now_s() - t0;

	printf("| policy size | load (config_parse) | decision by name | decision by address |\n");
	printf("|---|---|---|---|\n");
	printf("| %u domain patterns (+%u deny), %u CIDRs (+%u re-allowed) | %.3f s (%zu KiB YAML) "
	       "| %.0f ns | %.0f ns |\n",
	       domains, domains / 10, cidrs, cidrs / 10, load_s, buf_len(&text) / 1024,
	       (names_s - fmt_s) * 1e9 / decisions, addrs_s * 1e9 / decisions);
	printf("\n%u decisions each; %u allowed (keeps the loops honest).\n", decisions, allowed);
	config_free(cfg);
	buf_release(&text);
	return 0;
}
