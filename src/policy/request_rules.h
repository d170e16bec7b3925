/* request_rules: rules that judge a plain HTTP request by more than its host (rules: in the
 * configuration, top level and per agent): for a host pattern, the methods and the paths (glob
 * patterns on the normalised path, parse/url_path) it may be asked, or must not, and header
 * fields it must not carry. The first rule whose host, methods and path match decides; a host
 * that some rule names but no rule matches is refused. Pure: no I/O; policy.c applies them. */
#ifndef SLUICE_POLICY_REQUEST_RULES_H
#define SLUICE_POLICY_REQUEST_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"

#define REQUEST_RULES_MAX 256
#define REQUEST_RULE_MAX_METHODS 16
#define REQUEST_RULE_METHOD_MAX 24
#define REQUEST_RULE_MAX_PATHS 32
#define REQUEST_RULE_PATH_MAX 512
#define REQUEST_RULE_MAX_HEADERS 16
#define REQUEST_RULE_HEADER_MAX 64
#define REQUEST_RULE_MAX_HEADERS_ALLOW 48
/* "**" segments in one path pattern at most: matching costs a power of their number. */
#define REQUEST_RULE_MAX_GLOBSTARS 3
#define REQUEST_RULE_LABEL_MAX 96

struct domain_set;

struct request_rule {
	char label[REQUEST_RULE_LABEL_MAX]; /* "rules[2]", "agents[coder].rules[0]": the log's rule
					     */
	struct domain_set *hosts;
	bool deny;							 /* action: deny */
	char methods[REQUEST_RULE_MAX_METHODS][REQUEST_RULE_METHOD_MAX]; /* upper case; none: any */
	unsigned n_methods;
	char paths[REQUEST_RULE_MAX_PATHS][REQUEST_RULE_PATH_MAX]; /* none: any */
	unsigned n_paths;
	char headers_deny[REQUEST_RULE_MAX_HEADERS][REQUEST_RULE_HEADER_MAX]; /* lower case */
	unsigned n_headers_deny;
	/* headers_allow: when set, the only fields the request may carry besides those HTTP needs
	 * to frame and route it (request_rules_header_always_allowed); lower case */
	char headers_allow[REQUEST_RULE_MAX_HEADERS_ALLOW][REQUEST_RULE_HEADER_MAX];
	unsigned n_headers_allow;
	bool has_headers_allow;
	uint64_t max_request_body; /* bytes, when has_max_request_body: replaces the agent's */
	bool has_max_request_body;
};

struct request_rules {
	struct request_rule *items; /* owned */
	unsigned n;
};

void request_rules_fini(struct request_rules *rules);

/* True when some rule's host pattern matches host (normalised, no port). */
bool request_rules_cover(const struct request_rules *rules, struct slice host);

enum request_rules_result {
	REQUEST_RULES_NONE,	/* no rule names the host: the rules say nothing */
	REQUEST_RULES_ALLOW,	/* the first matching rule allows */
	REQUEST_RULES_DENY,	/* the first matching rule denies */
	REQUEST_RULES_NO_MATCH, /* rules name the host, none matches the method and path */
	REQUEST_RULES_HEADER,	/* the first matching rule allows, but a header it denies is sent */
	REQUEST_RULES_HEADER_NOT_ALLOWED, /* ... or one its headers_allow does not list */
};

/* The rules for one request: host (normalised), method, path (normalised, no query), and the
 * names of the header fields sent (any case). *which is the deciding rule (ALLOW, DENY,
 * HEADER, HEADER_NOT_ALLOWED) and *header, for the last two, the field's name (as the rule
 * writes it, or as the request sent it). */
enum request_rules_result request_rules_match(const struct request_rules *rules, struct slice host,
					      struct slice method, struct slice path,
					      const struct slice *header_names, unsigned n_headers,
					      const struct request_rule **which,
					      struct slice *header);

/* The fields headers_allow need not list: those that frame the message, route it to the host
 * or belong to the connection (Host, Content-Length, Transfer-Encoding, the hop-by-hop set,
 * Proxy-Authorization). */
bool request_rules_header_always_allowed(struct slice name);

/* A path pattern against a path: segments split at '/'; "**" as a whole segment matches any
 * number of segments (none too), "*" within a segment any run of bytes but '/', anything else
 * itself: "/repos/our-org/" followed by "**" matches "/repos/our-org" and everything under
 * it. */
bool request_rules_path_match(const char *pattern, struct slice path);

/* Whether pattern is one request_rules_path_match takes: starts with '/', at most
 * REQUEST_RULE_MAX_GLOBSTARS "**", each "**" a whole segment, no "***". False with *detail. */
bool request_rules_pattern_ok(struct slice pattern, const char **detail);

#endif
