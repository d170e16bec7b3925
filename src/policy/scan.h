/* scan: egress secret scanning (scan: in the configuration, top level and per agent). A set of
 * patterns — the built-in credential formats, the operator's own, and the exact secrets of the
 * agent's credentials — compiled once per configuration into one Hyperscan database, and run
 * over what a request carries: its target (path and query, percent-decoded) and every header
 * value. A pattern may name the hosts its secrets belong to (a GitHub token to GitHub); sent
 * anywhere else, its action applies: block or report. The matched text is never kept: a
 * finding names the pattern and where it was. Pure: no I/O; the compile happens when a
 * configuration is loaded (io/snapshot), the scan on a request's head (io/http_flow). */
#ifndef SLUICE_POLICY_SCAN_H
#define SLUICE_POLICY_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "parse/http1.h"

#define SCAN_RULES_MAX 64
#define SCAN_NAME_MAX 64
#define SCAN_REGEX_MAX 512
#define SCAN_MAX_BODY_DEFAULT (1024 * 1024) /* scan.max_body */

struct domain_set;
struct credential_list;

enum scan_action {
	SCAN_BLOCK,  /* the request is refused before a byte of it leaves */
	SCAN_REPORT, /* forwarded; the log says what was found */
};

/* One of the operator's patterns (scan.patterns). */
struct scan_rule {
	char name[SCAN_NAME_MAX + 1];
	char regex[SCAN_REGEX_MAX + 1];
	struct domain_set *hosts; /* where its matches may go; NULL: nowhere (owned) */
	enum scan_action action;
	bool has_action; /* else scan.action */
};

/* An agent's scan: section (or the top level's). */
struct scan_config {
	bool enabled;		 /* a scan: section was given */
	uint64_t max_body;	 /* request body bytes scanned (scan.max_body); 0: bodies are not */
	bool builtin;		 /* the built-in patterns (default true) */
	enum scan_action action; /* for the built-ins, the credentials and rules without one */
	struct scan_rule *rules; /* owned */
	unsigned n_rules;
};

void scan_config_fini(struct scan_config *sc);

/* The built-in patterns, for the docs and the tests: name, Hyperscan expression, the hosts
 * their matches belong to (a comma-separated list of domain patterns, "" for none). */
struct scan_builtin {
	const char *name, *regex, *hosts;
	enum scan_action action; /* its own default: a JWT is reported, not blocked */
};
extern const struct scan_builtin scan_builtins[];
extern const unsigned scan_builtins_count;

/* A compiled set: sc's patterns and the exact secrets of creds (which belong to their
 * credential's hosts). */
struct scan_set;
/* NULL with the reason in err when a pattern does not compile (the operator's: its name and
 * Hyperscan's message) or out of memory. creds may be NULL. */
struct scan_set *scan_set_new(const struct scan_config *sc, const struct credential_list *creds,
			      char *err, size_t err_size);
void scan_set_free(struct scan_set *set);
/* Checks that one expression compiles; false with Hyperscan's message in err. */
bool scan_regex_ok(const char *regex, char *err, size_t err_size);

/* What a scan found first: the pattern, where (e.g. "header authorization", "query", "path"),
 * and what to do. */
struct scan_finding {
	const char *name;
	enum scan_action action;
	char where[80];
};

/* Scans a request head bound for host (lower case, no port): its target and its header
 * values. True when something was found that may not go there (*f says what: the first block,
 * else the first report). Uses a scratch space per thread (scan_thread_fini frees it). */
bool scan_request_head(const struct scan_set *set, struct slice host,
		       const struct http1_request *req, struct slice target,
		       struct scan_finding *f);
/* A request body's scan: its bytes as they are approved to be sent on (chunk framing taken
 * off when chunked), across any split, up to the set's max_body bytes of data. */
struct scan_stream;
/* NULL when the set scans no bodies, or out of memory (the body is then not scanned). host must
 * stay valid while the stream lives. */
struct scan_stream *scan_stream_open(const struct scan_set *set, struct slice host, bool chunked);
/* Feeds the next bytes as sent. True once something that may not go to host was found with
 * action block (*f says what); a report is kept for scan_stream_report. last: these are the
 * body's last bytes (patterns anchored at its end are matched too). */
bool scan_stream_feed(struct scan_stream *st, const char *p, size_t n, bool last,
		      struct scan_finding *f);
/* A report found in the body, if any (true, *f says what). */
bool scan_stream_report(const struct scan_stream *st, struct scan_finding *f);
void scan_stream_free(struct scan_stream *st);

/* Frees the calling thread's scratch space (a worker's end). */
void scan_thread_fini(void);

#endif
