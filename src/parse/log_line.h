/* log_line: parses one line of sluice's decision log (docs/logs.md) — a flat JSON object (RFC
 * 8259; an array of scalars, a DNS line's "answers", is skipped) — into the fields `sluice
 * report` needs: agent, method, host, port, decision, reason, rule (its start), status, event,
 * and a DNS line's kind and name. Does not allocate, keep a pointer into the line, or judge
 * what the values mean (emit/report does). */
#ifndef SLUICE_PARSE_LOG_LINE_H
#define SLUICE_PARSE_LOG_LINE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

/* Longest line accepted, trailing newline included. sluice writes at most 24576 bytes
 * (LOG_JSON_LINE_MAX); the slack leaves room for lines re-encoded by other tools. */
#define LOG_LINE_MAX (64 * 1024)
/* Longest decoded value kept for a string field. Every field sluice writes is shorter
 * (host: 253 bytes), so a longer value means the line is not one of ours. */
#define LOG_LINE_VALUE_MAX 255

struct log_line_text {
	char bytes[LOG_LINE_VALUE_MAX + 1]; /* decoded, NUL-terminated (may hold NUL bytes too) */
	size_t len;
};

struct log_line {
	struct log_line_text agent; /* empty when the line has no "agent" (logs before issue 4) */
	struct log_line_text method;
	struct log_line_text host;
	struct log_line_text decision;
	struct log_line_text reason;
	/* The first LOG_LINE_VALUE_MAX bytes of "rule" (sluice writes up to 300): enough to tell a
	 * route's line ("route: ...") from the others. Empty when absent. */
	struct log_line_text rule;
	struct log_line_text event; /* "open", "end"; empty when absent (logs before issue 10) */
	unsigned port;		    /* 0..65535 */
	unsigned status;	    /* 0..999; 0 when absent */
	bool has_agent;
	/* "dns" on a DNS listener's line, whose question "name" is then also host (port 0) */
	struct log_line_text kind;
	struct log_line_text name;
};

static inline bool log_line_is_dns(const struct log_line *l)
{
	return l->kind.len == 3 && l->kind.bytes[0] == 'd' && l->kind.bytes[1] == 'n' &&
	       l->kind.bytes[2] == 's';
}

static inline struct slice log_line_slice(const struct log_line_text *t)
{
	return slice_make(t->bytes, t->len);
}

/* Parses one line: optional whitespace, one JSON object, optional whitespace (a trailing "\n" or
 * "\r\n" included). Values are strings, non-negative integers, or (for fields not kept) true,
 * false or null; nested objects, arrays, signs, fractions and exponents are refused. Unknown fields
 * are skipped (but still validated). Strings are decoded (RFC 8259 §7, \uXXXX and surrogate pairs
 * to UTF-8); raw bytes must be valid UTF-8 (RFC 8259 §8.1) and raw control bytes are refused.
 * "host", "port", "decision" and "reason" are required; "agent", "method", "rule", "status"
 * and "event" are optional. A kept field given twice or of the wrong type is refused; so is one
 * longer than LOG_LINE_VALUE_MAX, except "rule", which is kept cut; so are "port" above 65535 and
 * "status" above 999.
 * Returns line.len (> 0) on success; 0 when the text ends before the object does (a cut line, or
 * only whitespace); -1 when malformed, with *detail (may be NULL) set to a static message.
 * Never reads outside line; *out is fully written in every case (zeroed unless success). */
int log_line_parse(struct slice line, struct log_line *out, const char **detail);

#endif
