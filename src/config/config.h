/* config: YAML text (libyaml) to a validated, immutable configuration and policy snapshot, every
 * error with line:column. Opens no socket, resolves no name, reads no file but the text given. */
#ifndef SLUICE_CONFIG_CONFIG_H
#define SLUICE_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ip_addr.h"
#include "policy/agent.h"
#include "policy/policy.h"
#include "policy/route.h"
#include "policy/search.h"

#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_WORKERS 64
#define CONFIG_MAX_AGENTS 4096
#define CONFIG_MAX_ROUTES 256
#define CONFIG_MAX_RESOLVERS 8
#define CONFIG_MAX_ERRORS 32
#define CONFIG_ERROR_MAX 320
#define CONFIG_USER_MAX 32	      /* useradd's limit on a user name */
#define CONFIG_LOG_FILE_MAX 512	      /* log.file, with its NUL */
#define CONFIG_MAX_DNS_PROXY_ADDRS 8  /* dns.proxy_addresses */
#define CONFIG_TLS_PATH_MAX 512	      /* tls.state_dir, ca_cert, ca_key, upstream_ca, with NUL */
#define CONFIG_TLS_CACHE_MAX 1048576  /* tls.cert_cache */
#define CONFIG_APPROVALS_FILE_MAX 512 /* approvals.file, with its NUL */
#define CONFIG_WEBHOOK_URL_MAX 1024   /* approvals.webhook, with its NUL */
#define CONSOLE_DECISIONS_DEFAULT 1000
#define CONSOLE_DECISIONS_MAX 100000
#define APPROVALS_TIMEOUT_DEFAULT_MS 60000
#define APPROVALS_TIMEOUT_MAX_MS 600000
#define APPROVALS_PENDING_DEFAULT 256
#define APPROVALS_PENDING_MAX 10000

/* console: what the admin listener's console keeps and who may use it (io/admin). */
struct console_config {
	unsigned decisions; /* /api/decisions' ring */
	bool has_token;	    /* every /api/ request then needs Authorization: Bearer */
	uint8_t token_sha256[32];
};

/* approvals: how long a request waits for an operator, and where standing answers are kept
 * (io/approval_store). */
struct approvals_config {
	unsigned timeout_ms;
	unsigned max_pending; /* entries waiting at once; a request beyond is refused */
	char file[CONFIG_APPROVALS_FILE_MAX]; /* "" = answers kept in memory only */
	/* webhook: POSTed each new pending request (io/webhook); host "" = none */
	struct {
		char host[256]; /* a name or IP text (no brackets) */
		uint16_t port;
		bool tls;
		char path[CONFIG_WEBHOOK_URL_MAX]; /* with its query; "/" at least */
		char secret_env[64]; /* signs the body (HMAC-SHA256) with this variable's value */
	} webhook;
};
#define CONFIG_TLS_STATE_DIR_DEFAULT "/var/lib/sluice"

struct config_endpoint {
	struct ip_addr addr;
	uint16_t port;
};

struct config_error {
	int line, column; /* 1-based; 0 when the error has no position */
	char message[CONFIG_ERROR_MAX];
};

struct config_errors {
	struct config_error items[CONFIG_MAX_ERRORS];
	unsigned count;	  /* errors stored */
	unsigned dropped; /* errors beyond CONFIG_MAX_ERRORS */
};

struct config {
	struct config_endpoint listen_http[CONFIG_MAX_LISTEN]; /* default 127.0.0.1:3128 */
	unsigned n_listen_http;
	bool has_admin; /* listen.admin given: health and metrics listener */
	struct config_endpoint admin;
	/* listen.dns: the DNS listener for agents, UDP and TCP on each address; default none */
	struct config_endpoint listen_dns[CONFIG_MAX_LISTEN];
	unsigned n_listen_dns;
	/* listen.transparent_http and listen.transparent_tls: where agents that were answered with
	 * sluice's own address (dns.answer: proxy) connect, the destination named by the Host
	 * header or the TLS SNI; default none */
	struct config_endpoint listen_transparent_http[CONFIG_MAX_LISTEN];
	unsigned n_listen_transparent_http;
	struct config_endpoint listen_transparent_tls[CONFIG_MAX_LISTEN];
	unsigned n_listen_transparent_tls;
	struct config_endpoint resolvers[CONFIG_MAX_RESOLVERS]; /* empty: use /etc/resolv.conf */
	unsigned n_resolvers;
	/* timeouts, milliseconds */
	unsigned head_timeout_ms;     /* timeouts.request_head, default 10000 */
	unsigned idle_timeout_ms;     /* timeouts.client_idle (keep-alive), default 60000 */
	unsigned connect_timeout_ms;  /* timeouts.connect, default 10000 */
	unsigned upstream_timeout_ms; /* timeouts.upstream_response, default 60000 */
	unsigned tunnel_idle_ms;      /* timeouts.tunnel_idle, default 300000 */
	unsigned dns_timeout_ms;      /* timeouts.dns, default 5000 */
	unsigned drain_ms;	      /* timeouts.drain, default 30000; 0 = stop at once */
	unsigned tls_handshake_ms;    /* timeouts.tls_handshake (intercepted clients), 10000 */
	/* timeouts.reload_revoke, default 3000: how long a tunnel the new policy denies stays open
	 * after a reload; 0 = tunnels keep the policy they were opened under */
	unsigned reload_revoke_ms;
	/* limits */
	unsigned max_head_bytes;       /* limits.max_request_head, default 65536 */
	unsigned max_request_headers;  /* limits.max_request_headers, default 100 */
	unsigned max_response_head;    /* limits.max_response_head, default 65536 */
	unsigned max_response_headers; /* limits.max_response_headers, default 100 */
	unsigned max_connections;      /* limits.max_connections, default 10000 */
	/* limits.max_connections_per_agent: client connections one agent may hold at once;
	 * 0 = no per-agent limit (default) */
	unsigned max_connections_per_agent;
	/* limits.max_pending_dns: DNS lookups in flight at once, default 1000; 0 = no limit */
	unsigned max_pending_dns;
	unsigned workers; /* event-loop threads; 0 = one per core (default) */
	/* user: the account to run as once the listeners are bound (a name, or digits for a
	 * numeric uid); empty = stay as started. Resolved by the daemon, not here. */
	char user[CONFIG_USER_MAX + 1];
	bool seccomp; /* seccomp: the system call allow-list, default true */
	/* log.file: the decision log goes to this file (an absolute path) instead of stdout,
	 * reopened on SIGUSR1; empty = stdout (default). Opened by the daemon, not here. */
	char log_file[CONFIG_LOG_FILE_MAX];
	bool log_query; /* log.query: keep (true) or drop (default) the ?query of a logged path */
	/* dns.proxy_addresses: what dns.answer: proxy answers with, A records for the IPv4 ones and
	 * AAAA for the IPv6 ones; empty (default) = the address of the listener the query arrived
	 * on. Literal addresses, none unspecified. */
	struct ip_addr dns_proxy_addrs[CONFIG_MAX_DNS_PROXY_ADDRS];
	unsigned n_dns_proxy_addrs;
	/* allow, deny, ips.allow, ips.deny, ports, and listeners: every TCP address sluice listens
	 * on (listen.http, listen.admin, listen.dns, listen.transparent_*) */
	struct policy_rules rules;
	/* Top-level mode, methods, max_request_body, guidance and dns (has_* set when given): what
	 * every agent inherits along with rules. Its name, match and sets stay empty. */
	struct agent base;
	/* The agents list in file order; without one, a single implicit agent "default" (line 0,
	 * everything inherited). */
	struct agent *agents;
	unsigned n_agents;
	int default_agent;    /* index of the agent named "default", or -1 */
	struct route *routes; /* routes in file order */
	unsigned n_routes;
	struct search_config search; /* search: the APIs answered from SearXNG */
	/* The file as the console's /api/policy shows it, secrets redacted (config_redact);
	 * NUL-terminated, NULL when it could not be made (out of memory). */
	char *policy_text;
	struct console_config console;
	struct approvals_config approvals;
	/* tls: given (even empty), or any intercept pattern = the daemon loads (or creates) the
	 * interception CA at start. */
	bool has_tls;
	/* Some intercept list (top level or an agent's) is not empty: each snapshot loads the
	 * tls.upstream_ca verification context. The lists live in rules and the agents. */
	bool intercepts;
	/* tls.state_dir (default /var/lib/sluice): where a generated CA lives; unused when
	 * tls.ca_cert and tls.ca_key name the operator's own CA (both or neither; absolute) */
	char tls_state_dir[CONFIG_TLS_PATH_MAX];
	char tls_ca_cert[CONFIG_TLS_PATH_MAX];
	char tls_ca_key[CONFIG_TLS_PATH_MAX];
	unsigned tls_cert_cache; /* tls.cert_cache: leaf certificates kept, default 1024 */
	/* tls.upstream_ca: CAs an intercepted upstream's certificate may chain to besides the
	 * system store; "" (default) = the system store alone */
	char tls_upstream_ca[CONFIG_TLS_PATH_MAX];
	/* tls.upstream_http2 (default true): an intercepted HTTP/2 stream's request offers h2 to
	 * its upstream too; false keeps every upstream HTTP/1.1 */
	bool tls_upstream_http2;
};

/* Parses and validates YAML text (need not be NUL-terminated). Returns a new config, or NULL
 * with errors filled in: every error found (not just the first), in document order, a libyaml
 * syntax error last. errors may be NULL. An empty text (or only comments) is the default
 * configuration. Callers prefix messages with the file name themselves. */
struct config *config_parse(const char *text, size_t len, struct config_errors *errors);
/* The embedded default configuration (no file). */
struct config *config_default(void);
void config_free(struct config *cfg);
/* "line:col: message" text of one error ("message" alone when it has no position). */
void config_error_format(const struct config_error *e, char *out, size_t out_size);

#endif
