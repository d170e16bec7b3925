/* agent: an identity with its own access rules and mode, and how a client is recognised as one
 * (source address, proxy credentials). Pure: the token files and environment variables a config
 * names are read by the daemon, which then stores their SHA-256 here. */
#ifndef SLUICE_POLICY_AGENT_H
#define SLUICE_POLICY_AGENT_H

#include "policy/credentials.h"
#include "policy/request_rules.h"
#include "policy/scan.h"
#include <stdbool.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "base/slice.h"

struct domain_set;
struct cidr_set;

#define AGENT_NAME_MAX 64
#define AGENT_MAX_METHODS 16
#define AGENT_METHOD_MAX 24
#define AGENT_GUIDANCE_MAX 1024
#define AGENT_SOURCE_MAX 512
#define AGENT_DNS_MAX_TYPES 16	      /* dns.types: extra query types an agent may ask */
#define AGENT_DNS_DEFAULT_MAX_TTL 300 /* dns.max_ttl, seconds */
#define AGENT_DNS_DEFAULT_RATE 100    /* dns.rate, queries per second */

enum agent_mode {
	AGENT_ENFORCE, /* denials are enforced (default) */
	AGENT_REPORT,  /* would-be denials are forwarded and logged as "report" */
	AGENT_OPEN,    /* every destination allowed (still never the built-in block) */
	AGENT_ASK,     /* a name or port rule's refusal waits for an operator's answer */
};

enum agent_token_kind {
	AGENT_TOKEN_NONE,   /* no credentials: recognised by source address only */
	AGENT_TOKEN_SHA256, /* match.token_sha256: hex SHA-256 of the token, in the config */
	AGENT_TOKEN_FILE,   /* match.token_file: a file whose content (trailing newline dropped) is
			       the token */
	AGENT_TOKEN_ENV,    /* match.token_env: an environment variable holding the token */
};

/* dns.answer: what an allowed name is answered with. */
enum agent_dns_answer {
	AGENT_DNS_REAL,	 /* the judged global addresses from upstream (default) */
	AGENT_DNS_PROXY, /* sluice's own address, for its transparent listeners */
};

/* dns.denied: the response code of a name the policy refuses. */
enum agent_dns_denied {
	AGENT_DNS_NXDOMAIN, /* "no such name" (default): resolvers cache it and stop asking */
	AGENT_DNS_REFUSED,  /* "not for you": tells the agent a policy is in the way */
};

/* The keys of one dns: section (an agent's, or the top level's in config.base); a has_* false
 * means "inherit". policy_scope_dns gives the effective values. */
struct agent_dns {
	enum agent_dns_answer answer;
	enum agent_dns_denied denied;
	/* query types answered from upstream beyond A, AAAA, CNAME, HTTPS and SVCB, each once */
	uint16_t types[AGENT_DNS_MAX_TYPES];
	unsigned n_types;
	uint32_t max_ttl; /* seconds, 1..86400: the longest TTL an answer carries */
	uint32_t rate;	  /* queries per second (token bucket); 0 = unlimited */
	uint32_t burst;	  /* bucket size, >= 1; unset = twice the effective rate */
	bool has_answer, has_denied, has_types, has_max_ttl, has_rate, has_burst;
};

struct agent {
	char name[AGENT_NAME_MAX + 1]; /* [A-Za-z0-9._-]+, unique; "default" is the fallback */
	int line;		       /* where it is defined (0 for the implicit default) */
	/* recognition */
	struct cidr_set *sources; /* match.source; NULL when not set */
	enum agent_token_kind token_kind;
	char token_source[AGENT_SOURCE_MAX]; /* file path or variable name */
	int token_line, token_column;	     /* where the source is named, for messages */
	uint8_t token_sha256[32];	     /* valid when token_ready */
	bool token_ready;
	/* rules; a NULL set or a has_* false means "inherit the top-level rule" */
	enum agent_mode mode;
	bool has_mode;
	struct domain_set *allow, *deny;
	/* ask: names whose refusal by the allow or ports rule is held for an operator's answer
	 * (as mode ask does for every name); NULL inherits */
	struct domain_set *ask;
	struct domain_set *intercept; /* intercept: (policy/intercept); NULL inherits */
	bool has_ports;
	uint8_t ports[65536 / 8];
	char methods[AGENT_MAX_METHODS][AGENT_METHOD_MAX]; /* upper-case; plain HTTP only */
	unsigned n_methods;
	bool has_methods;
	uint64_t max_request_body; /* bytes, plain HTTP; 0 = unlimited */
	bool has_max_request_body;
	char guidance[AGENT_GUIDANCE_MAX]; /* appended to every denial body; "" = none */
	bool has_guidance;
	struct agent_dns dns;	    /* the agent's dns: keys (the DNS listener) */
	struct request_rules rules; /* rules: the top level's unless has_rules */
	bool has_rules;
	struct credential_list
	    credentials; /* credentials: the top level's unless has_credentials */
	bool has_credentials;
	struct scan_config scan; /* scan: the top level's unless has_scan */
	bool has_scan;
};

/* Proxy credentials as sluice keeps them once read: the user name and the SHA-256 of the token,
 * never the token itself. An open tunnel is identified again with them after a reload. */
struct agent_credentials {
	char user[AGENT_NAME_MAX + 1]; /* "" when the name sent is longer than any agent name */
	uint8_t token_sha256[32];
};

/* Allocates nothing; sets every field to "inherit" / no credentials. */
void agent_init(struct agent *a);
/* Frees the sets the agent owns. */
void agent_fini(struct agent *a);
bool agent_requires_token(const struct agent *a);
/* Fills cr from a Basic user name and token (the token is only hashed). */
void agent_credentials_set(struct agent_credentials *cr, struct slice user, struct slice token);
/* Constant-time comparison of the credentials' token hash with the agent's stored hash. */
bool agent_token_matches(const struct agent *a, const struct agent_credentials *cr);

#endif
