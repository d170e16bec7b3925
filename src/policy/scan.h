/* scan: egress secret scanning (scan: in the configuration, top level and per agent). A set of
 * patterns — the built-in credential formats, the operator's own, and the exact secrets of the
 * agent's credentials — compiled once per configuration into Hyperscan databases, and run over
 * what a request carries: its target (path and query), every header value and its body, each
 * also as it reads once its percent, base64 and hex forms are undone (policy/scan_decode), to
 * decode_depth layers. A pattern may name the hosts its secrets belong to (a GitHub token to
 * GitHub); sent anywhere else, its action applies: block, report, or redact (a header's value
 * replaced). The matched text is never kept: a finding names the pattern and where it was.
 * Pure: no I/O; the compile happens when a configuration is loaded (io/snapshot), the scan on
 * a request's head and body (io/http_flow). */
#ifndef SLUICE_POLICY_SCAN_H
#define SLUICE_POLICY_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "parse/http1.h"
#include "policy/scan_hostname.h"

#define SCAN_RULES_MAX 64
#define SCAN_NAME_MAX 64
#define SCAN_REGEX_MAX 512
#define SCAN_MAX_BODY_DEFAULT (1024 * 1024) /* scan.max_body */
#define SCAN_DECODE_DEPTH_DEFAULT 2	    /* scan.decode_depth */
#define SCAN_DECODE_DEPTH_MAX 3

struct domain_set;
struct credential_list;

enum scan_action {
	SCAN_BLOCK,  /* the request is refused before a byte of it leaves */
	SCAN_REPORT, /* forwarded; the log says what was found */
	/* A header's value is replaced by "[redacted:<pattern>]" and the request forwarded. In the
	 * target or the body, where nothing can be cut out safely, it is a block. */
	SCAN_REDACT,
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
	unsigned decode_depth;		 /* layers of encodings undone, 0..SCAN_DECODE_DEPTH_MAX */
	struct scan_hostnames hostnames; /* scan.hostnames (policy/scan_hostname) */
};

/* The defaults of a scan: section (builtin, block, max_body, decode_depth, hostnames). */
void scan_config_defaults(struct scan_config *sc);
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

/* What a scan found: the pattern, where (e.g. "header authorization", "query (base64)",
 * "body (percent, base64)"), and what is done. */
struct scan_finding {
	const char *name;
	enum scan_action action;
	char where[96];
};

/* Scans a request head bound for host (lower case, no port): its target and its header
 * values. True when something was found that may not go there; *f says what: the first block,
 * else the first redaction, else the first report. redact (req->n_headers entries, cleared
 * here) marks the headers whose values are to be replaced; NULL makes a redaction a block.
 * Uses a scratch space per thread (scan_thread_fini frees it). */
bool scan_request_head(const struct scan_set *set, struct slice host,
		       const struct http1_request *req, struct slice target, struct scan_finding *f,
		       bool *redact);
/* Scans a host name (a request's, a CONNECT's, a DNS question's) for the patterns, without
 * regard to case: a name is sent lower-cased as often as not, and DNS ignores it. True when
 * something in it may not go there (the name is also the destination), *f saying what, in
 * "host". */
bool scan_host_name(const struct scan_set *set, struct slice name, struct scan_finding *f);
/* The value a redacted header is sent with: "[redacted:<name>]" in out. */
struct slice scan_redacted_value(const struct scan_finding *f, char *out, size_t out_size);
/* A request body's scan: its bytes as they are approved to be sent on (chunk framing taken
 * off when chunked), across any split, up to the set's max_body bytes of data. */
struct scan_stream;
/* NULL when the set scans no bodies, or out of memory (the body is then not scanned). host must
 * stay valid while the stream lives. */
struct scan_stream *scan_stream_open(const struct scan_set *set, struct slice host, bool chunked);
/* Feeds the next bytes as sent. True once something that may not go to host was found with
 * action block or redact (*f says what); a report is kept for scan_stream_report. last: these
 * are the body's last bytes (patterns anchored at its end are matched too). Out of memory for
 * a decoded layer is a block too: a body is never passed half-scanned. */
bool scan_stream_feed(struct scan_stream *st, const char *p, size_t n, bool last,
		      struct scan_finding *f);
/* A report found in the body, if any (true, *f says what). */
bool scan_stream_report(const struct scan_stream *st, struct scan_finding *f);
void scan_stream_free(struct scan_stream *st);

/* Frees the calling thread's scratch space (a worker's end). */
void scan_thread_fini(void);

#endif
