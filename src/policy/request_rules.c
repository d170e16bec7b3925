#include "policy/request_rules.h"

#include <stdlib.h>
#include <string.h>

#include "policy/domain_set.h"

void request_rules_fini(struct request_rules *rules)
{
	for (unsigned i = 0; i < rules->n; i++)
		domain_set_free(rules->items[i].hosts);
	free(rules->items);
	rules->items = NULL;
	rules->n = 0;
}

bool request_rules_cover(const struct request_rules *rules, struct slice host)
{
	for (unsigned i = 0; i < rules->n; i++)
		if (domain_set_match(rules->items[i].hosts, host))
			return true;
	return false;
}

static bool method_matches(const struct request_rule *r, struct slice method)
{
	if (r->n_methods == 0)
		return true;
	for (unsigned i = 0; i < r->n_methods; i++)
		if (strlen(r->methods[i]) == method.len &&
		    memcmp(r->methods[i], method.ptr, method.len) == 0)
			return true;
	return false;
}

/* One segment against one pattern segment with '*' (iterative, with one backtrack point). */
static bool segment_match(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

/* The next segment of text from *at (just after a '/'): its bytes and length; *at moves past
 * it and its '/'. */
static struct slice next_segment(struct slice text, size_t *at, bool *more)
{
	const char *slash = memchr(text.ptr + *at, '/', text.len - *at);
	size_t end = slash ? (size_t)(slash - text.ptr) : text.len;
	struct slice seg = slice_make(text.ptr + *at, end - *at);
	*more = slash != NULL;
	*at = slash ? end + 1 : text.len;
	return seg;
}

static bool glob(struct slice p, size_t pat, bool p_more, struct slice s, size_t sat, bool s_more)
{
	for (;;) {
		if (!p_more)
			return !s_more;
		size_t pnext = pat, snext = sat;
		bool pm, sm;
		struct slice pseg = next_segment(p, &pnext, &pm);
		if (pseg.len == 2 && pseg.ptr[0] == '*' && pseg.ptr[1] == '*') {
			/* Zero segments, then one more at a time. */
			if (glob(p, pnext, pm, s, sat, s_more))
				return true;
			while (s_more) {
				next_segment(s, &sat, &s_more);
				if (glob(p, pnext, pm, s, sat, s_more))
					return true;
			}
			return false;
		}
		if (!s_more)
			return false;
		struct slice sseg = next_segment(s, &snext, &sm);
		if (!segment_match(pseg.ptr, pseg.len, sseg.ptr, sseg.len))
			return false;
		pat = pnext;
		p_more = pm;
		sat = snext;
		s_more = sm;
	}
}

bool request_rules_path_match(const char *pattern, struct slice path)
{
	struct slice p = slice_from_cstr(pattern);
	if (p.len == 0 || p.ptr[0] != '/' || path.len == 0 || path.ptr[0] != '/')
		return false;
	return glob(p, 1, true, path, 1, true);
}

bool request_rules_pattern_ok(struct slice pattern, const char **detail)
{
	unsigned globstars = 0;
	size_t at = 1;
	bool more = true;

	if (pattern.len == 0 || pattern.ptr[0] != '/') {
		*detail = "a path pattern starts with '/'";
		return false;
	}
	while (more) {
		struct slice seg = next_segment(pattern, &at, &more);
		const char *dstar = NULL;
		for (size_t i = 0; i + 1 < seg.len; i++)
			if (seg.ptr[i] == '*' && seg.ptr[i + 1] == '*')
				dstar = seg.ptr + i;
		if (!dstar)
			continue;
		if (seg.len != 2) {
			*detail = "\"**\" must be a whole segment, between two '/' or at the end";
			return false;
		}
		if (++globstars > REQUEST_RULE_MAX_GLOBSTARS) {
			*detail = "at most 3 \"**\" in one pattern";
			return false;
		}
	}
	return true;
}

static bool header_sent(const struct slice *names, unsigned n, const char *lower)
{
	for (unsigned i = 0; i < n; i++)
		if (slice_eq_cstr_nocase(names[i], lower))
			return true;
	return false;
}

bool request_rules_header_always_allowed(struct slice name)
{
	static const char *const always[] = {
	    "host",
	    "content-length",
	    "transfer-encoding",
	    "connection",
	    "keep-alive",
	    "te",
	    "trailer",
	    "upgrade",
	    "proxy-connection",
	    "proxy-authorization",
	};
	for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		if (slice_eq_cstr_nocase(name, always[i]))
			return true;
	return false;
}

/* The first field sent that the rule's headers_allow does not let through, or -1. */
static int header_not_allowed(const struct request_rule *r, const struct slice *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool listed = request_rules_header_always_allowed(names[i]);
		for (unsigned k = 0; k < r->n_headers_allow && !listed; k++)
			listed = slice_eq_cstr_nocase(names[i], r->headers_allow[k]);
		if (!listed)
			return (int)i;
	}
	return -1;
}

enum request_rules_result request_rules_match(const struct request_rules *rules, struct slice host,
					      struct slice method, struct slice path,
					      const struct slice *header_names, unsigned n_headers,
					      const struct request_rule **which,
					      struct slice *header)
{
	bool named = false;

	*which = NULL;
	*header = SLICE_LIT("");
	for (unsigned i = 0; i < rules->n; i++) {
		const struct request_rule *r = &rules->items[i];
		if (!domain_set_match(r->hosts, host))
			continue;
		named = true;
		if (!method_matches(r, method))
			continue;
		bool path_ok = r->n_paths == 0;
		for (unsigned k = 0; k < r->n_paths && !path_ok; k++)
			path_ok = request_rules_path_match(r->paths[k], path);
		if (!path_ok)
			continue;
		*which = r;
		if (r->deny)
			return REQUEST_RULES_DENY;
		for (unsigned k = 0; k < r->n_headers_deny; k++) {
			if (header_sent(header_names, n_headers, r->headers_deny[k])) {
				*header = slice_from_cstr(r->headers_deny[k]);
				return REQUEST_RULES_HEADER;
			}
		}
		int unlisted =
		    r->has_headers_allow ? header_not_allowed(r, header_names, n_headers) : -1;
		if (unlisted >= 0) {
			*header = header_names[unlisted];
			return REQUEST_RULES_HEADER_NOT_ALLOWED;
		}
		return REQUEST_RULES_ALLOW;
	}
	return named ? REQUEST_RULES_NO_MATCH : REQUEST_RULES_NONE;
}
