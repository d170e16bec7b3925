#include "emit/approvals_yaml.h"

#include <stdio.h>
#include <string.h>

#include "base/utc_time.h"

static bool put(struct buf *out, size_t max, const char *s, size_t n)
{
	return buf_append(out, s, n, max);
}

static bool put_cstr(struct buf *out, size_t max, const char *s)
{
	return put(out, max, s, strlen(s));
}

/* A double-quoted YAML scalar: only '"' and '\' need escaping in what approvals hold (config
 * refuses control characters in every field). */
static bool put_quoted(struct buf *out, size_t max, const char *s)
{
	bool ok = put(out, max, "\"", 1);
	for (; ok && *s; s++) {
		if (*s == '"' || *s == '\\')
			ok = put(out, max, "\\", 1);
		ok = ok && put(out, max, s, 1);
	}
	return ok && put(out, max, "\"", 1);
}

bool approvals_yaml_format(const struct approval_list *l, struct buf *out, size_t max)
{
	char t[UTC_TIME_TEXT_MAX], port[8];
	bool ok = put_cstr(out, max,
			   "# Standing approvals, written by sluice (the console and `sluice "
			   "approve`).\n# Read at start and on every reload; `sluice check` "
			   "validates it. Edit with care:\n# sluice rewrites the whole file on "
			   "each answer.\n");

	ok = ok && put_cstr(out, max, l->n ? "approvals:\n" : "approvals: []\n");
	for (unsigned i = 0; ok && i < l->n; i++) {
		const struct approval *a = &l->items[i];
		snprintf(port, sizeof(port), "%u", (unsigned)a->port);
		ok = put_cstr(out, max, "  - agent: ") && put_quoted(out, max, a->agent) &&
		     put_cstr(out, max, "\n    host: ") && put_quoted(out, max, a->host) &&
		     put_cstr(out, max, "\n    port: ") && put_cstr(out, max, port) &&
		     put_cstr(out, max, "\n    by: ") && put_quoted(out, max, a->by);
		if (ok && a->at) {
			utc_time_format(a->at, t);
			ok = put_cstr(out, max, "\n    at: \"") && put_cstr(out, max, t) &&
			     put_cstr(out, max, "\"");
		}
		if (ok && a->expires) {
			utc_time_format(a->expires, t);
			ok = put_cstr(out, max, "\n    expires: \"") && put_cstr(out, max, t) &&
			     put_cstr(out, max, "\"");
		}
		ok = ok && put_cstr(out, max, "\n");
	}
	return ok;
}
