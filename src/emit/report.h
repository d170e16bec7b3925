/* report: accumulates decision log lines and writes a suggested YAML `agents:` snippet: per agent,
 * an allow list of what it reached ("allow") or would have been denied ("report") — so that an
 * operator can move agents from report mode to enforce in one step (docs/report.md) — and the
 * routes it used, which no allow entry governs (routes[].agents does).
 * Does not read files or print (daemon/report_cmd does) and does not decide policy. */
#ifndef SLUICE_EMIT_REPORT_H
#define SLUICE_EMIT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "parse/log_line.h"

/* Memory stays bounded whatever the log holds: past a cap, lines are counted, not stored, and
 * the output says so. */
#define REPORT_MAX_AGENTS 4096
#define REPORT_MAX_HOSTS 100000		 /* distinct destinations kept per agent */
#define REPORT_MAX_ENTRIES_TOTAL 1000000 /* distinct destinations kept over all agents */
#define REPORT_AGENT_NAME_MAX 64	 /* as AGENT_NAME_MAX (policy/agent.h) */
/* Wildcards are considered at suffixes of 2 to this many labels. */
#define REPORT_SUFFIX_LABELS_MAX 8
/* Collapse threshold: this many distinct names below one suffix suggest "*.suffix". */
#define REPORT_COLLAPSE_MIN 3
/* Route hosts known at once (from the config and learned from the log); a config holds at most
 * 256 (CONFIG_MAX_ROUTES). */
#define REPORT_MAX_ROUTE_HOSTS 4096

struct report_options {
	/* Suggest only from "report" lines. By default "allow" lines count too: an enforced policy
	 * must go on allowing what is allowed today. */
	bool only_report;
	/* Only lines of this agent; empty = every agent. Lines without an "agent" field (logs
	 * written before agents existed) belong to "default". */
	struct slice agent;
};

/* What report_add did with one line. */
enum report_use {
	REPORT_SUGGESTED,  /* counted toward the agent's allow list */
	REPORT_SUMMARISED, /* a route, or refused by the built-in block or a deny rule: in a comment
			    * only */
	REPORT_COUNTED,	   /* counted for the agent but suggests nothing (a denial, an error) */
	REPORT_FILTERED,   /* another agent than asked for, or a line with no agent ("agent":"") */
	REPORT_OPEN_LINE,  /* a tunnel's open line: its end line counts the request */
	REPORT_BAD_AGENT,  /* the agent name is not a valid agent name */
	REPORT_BAD_HOST,   /* the host is not a host name or IP address */
	REPORT_TRUNCATED,  /* a cap was reached: counted in the truncation note only */
	REPORT_NO_MEMORY,
};

struct report;

/* Copies what it needs from opt (agent is copied). NULL on allocation failure or an agent
 * filter longer than REPORT_AGENT_NAME_MAX. */
struct report *report_new(const struct report_options *opt);
void report_free(struct report *r);
/* A line is a route's when its rule starts with "route: ", its reason is route_not_allowed or
 * route_needs_http, or its host is a known route host. Route lines are never suggested as allow
 * entries: a route is matched by host before any allow rule (io/http_flow), so an entry for its
 * host would never be used. Their hosts become known route hosts, so that lines whose rule does
 * not name the route (a methods or max_request_body verdict) are recognised too, whatever their
 * order in the log. */
enum report_use report_add(struct report *r, const struct log_line *line);
/* Makes host (a route's `host`, e.g. from the config) a known route host. Returns 0; -1 when the
 * host is not a name, past REPORT_MAX_ROUTE_HOSTS or out of memory. */
int report_add_route_host(struct report *r, struct slice host);
/* Number of agents the output will show (0: nothing usable was added). */
size_t report_agent_count(const struct report *r);
/* Appends the YAML snippet to out (which it grows up to max_cap). Deterministic: agents by
 * name; allow patterns by request count (descending), then text. Returns false when out of
 * memory or past max_cap (out then holds a prefix). */
bool report_format(const struct report *r, struct buf *out, size_t max_cap);

#endif
