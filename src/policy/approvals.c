#include "policy/approvals.h"

#include <stdlib.h>
#include <string.h>

void approval_list_init(struct approval_list *l)
{
	memset(l, 0, sizeof(*l));
}

void approval_list_fini(struct approval_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static bool approval_list_reserve(struct approval_list *l, unsigned want)
{
	if (want <= l->cap)
		return true;
	unsigned cap = l->cap ? l->cap * 2 : 16;
	while (cap < want)
		cap *= 2;
	struct approval *items = realloc(l->items, (size_t)cap * sizeof(*items));
	if (!items)
		return false;
	l->items = items;
	l->cap = cap;
	return true;
}

int approval_list_copy(struct approval_list *dst, const struct approval_list *src)
{
	if (!approval_list_reserve(dst, src->n))
		return -1;
	if (src->n)
		memcpy(dst->items, src->items, (size_t)src->n * sizeof(*src->items));
	dst->n = src->n;
	return 0;
}

static int approval_list_find(const struct approval_list *l, const char *agent, struct slice host,
			      uint16_t port)
{
	for (unsigned i = 0; i < l->n; i++) {
		const struct approval *a = &l->items[i];
		if (a->port == port && strcmp(a->agent, agent) == 0 &&
		    slice_eq(slice_from_cstr(a->host), host))
			return (int)i;
	}
	return -1;
}

int approval_list_put(struct approval_list *l, const struct approval *a)
{
	int i = approval_list_find(l, a->agent, slice_from_cstr(a->host), a->port);

	if (i >= 0) {
		l->items[i] = *a;
		return 0;
	}
	if (l->n >= APPROVALS_MAX || !approval_list_reserve(l, l->n + 1))
		return -1;
	l->items[l->n++] = *a;
	return 0;
}

unsigned approval_list_prune(struct approval_list *l, int64_t now)
{
	unsigned kept = 0, dropped = 0;

	for (unsigned i = 0; i < l->n; i++) {
		if (l->items[i].expires && l->items[i].expires <= now) {
			dropped++;
			continue;
		}
		l->items[kept++] = l->items[i];
	}
	l->n = kept;
	return dropped;
}

bool approval_list_remove(struct approval_list *l, const char *agent, struct slice host,
			  uint16_t port)
{
	int i = approval_list_find(l, agent, host, port);

	if (i < 0)
		return false;
	memmove(&l->items[i], &l->items[i + 1],
		(size_t)(l->n - (unsigned)i - 1) * sizeof(*l->items));
	l->n--;
	return true;
}

const struct approval *approval_list_match(const struct approval_list *l, const char *agent,
					   struct slice host, uint16_t port, bool name_only,
					   int64_t now)
{
	if (!l)
		return NULL;
	for (unsigned i = 0; i < l->n; i++) {
		const struct approval *a = &l->items[i];
		if (a->expires && a->expires <= now)
			continue;
		if (!name_only && a->port != port && a->port != 0)
			continue;
		if (strcmp(a->agent, APPROVAL_ANY_AGENT) != 0 && strcmp(a->agent, agent) != 0)
			continue;
		if (slice_eq(slice_from_cstr(a->host), host))
			return a;
	}
	return NULL;
}

bool approval_parse_expiry(struct slice t, int64_t *secs)
{
	int64_t v = 0;
	size_t i = 0;

	while (i < t.len && t.ptr[i] >= '0' && t.ptr[i] <= '9' && i < 9)
		v = v * 10 + (t.ptr[i++] - '0');
	if (i == 0 || i + 1 != t.len)
		return false;
	switch (t.ptr[i]) {
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	default:
		return false;
	}
	if (v == 0 || v > 366 * 86400)
		return false;
	*secs = v;
	return true;
}

const char *hold_outcome_name(enum hold_outcome o)
{
	static const char *const names[] = {
	    [HOLD_ONCE] = "once",	[HOLD_APPROVED] = "approved", [HOLD_DENIED] = "denied",
	    [HOLD_TIMEOUT] = "timeout", [HOLD_BUSY] = "busy",
	};
	return o > HOLD_NONE && o <= HOLD_BUSY ? names[o] : NULL;
}
