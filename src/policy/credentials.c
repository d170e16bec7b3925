#include "policy/credentials.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "policy/domain_set.h"

void credentials_fini(struct credential_list *list)
{
	for (unsigned i = 0; i < list->n; i++)
		domain_set_free(list->items[i].hosts);
	/* The secrets were in there. */
	if (list->items)
		explicit_bzero(list->items, list->n * sizeof(*list->items));
	free(list->items);
	list->items = NULL;
	list->n = 0;
}

void credentials_placeholder(const struct credential *c, const char *agent_name, char *out)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char in[CREDENTIAL_NAME_MAX + 64 + 32];

	if (c->placeholder[0]) {
		memcpy(out, c->placeholder, strlen(c->placeholder) + 1);
		return;
	}
	int n = snprintf(in, sizeof(in), "sluice placeholder\n%s\n%s", agent_name, c->name);
	SHA256((const unsigned char *)in, n > 0 ? (size_t)n : 0, digest);
	int len = snprintf(out, CREDENTIAL_PLACEHOLDER_MAX + 1, "sluice-%s-", c->name);
	for (int i = 0; i < 12 && len + 2 <= CREDENTIAL_PLACEHOLDER_MAX; i++) {
		out[len++] = hex_digit_lower(digest[i] >> 4);
		out[len++] = hex_digit_lower(digest[i] & 15);
	}
	out[len] = '\0';
}

bool credentials_cover(const struct credential_list *list, struct slice host)
{
	for (unsigned i = 0; list && i < list->n; i++)
		if (domain_set_match(list->items[i].hosts, host))
			return true;
	return false;
}

static bool contains(struct slice hay, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0 || hay.len < n)
		return false;
	for (size_t i = 0; i + n <= hay.len; i++)
		if (memcmp(hay.ptr + i, needle, n) == 0)
			return true;
	return false;
}

/* The query parameter `name` of target holds exactly value. */
static bool query_has(struct slice target, const char *name, const char *value)
{
	const char *q = memchr(target.ptr, '?', target.len);
	if (!q)
		return false;
	struct slice rest = slice_make(q + 1, target.len - (size_t)(q + 1 - target.ptr));
	size_t nlen = strlen(name), vlen = strlen(value);
	while (rest.len > 0) {
		const char *amp = memchr(rest.ptr, '&', rest.len);
		size_t plen = amp ? (size_t)(amp - rest.ptr) : rest.len;
		if (plen == nlen + 1 + vlen && memcmp(rest.ptr, name, nlen) == 0 &&
		    rest.ptr[nlen] == '=' && memcmp(rest.ptr + nlen + 1, value, vlen) == 0)
			return true;
		if (!amp)
			break;
		rest = slice_make(amp + 1, rest.len - plen - 1);
	}
	return false;
}

/* Where c's placeholder p is in the request: the header's index, -1 for the query, -2 not. */
static int placed(const struct credential *c, const struct http1_request *req, struct slice target,
		  const char *p)
{
	if (c->query[0])
		return query_has(target, c->query, p) ? -1 : -2;
	for (unsigned i = 0; i < req->n_headers; i++)
		if (slice_eq_cstr_nocase(req->headers[i].name, c->header) &&
		    contains(req->headers[i].value, p))
			return (int)i;
	return -2;
}

/* p anywhere in the request: its target or any field value. */
static bool anywhere(const struct http1_request *req, struct slice target, const char *p)
{
	if (contains(target, p))
		return true;
	for (unsigned i = 0; i < req->n_headers; i++)
		if (contains(req->headers[i].value, p))
			return true;
	return false;
}

enum credentials_result credentials_judge(const struct credential_list *list,
					  const char *agent_name, struct slice host,
					  const struct http1_request *req, struct slice target,
					  struct credential_use *uses, unsigned *n,
					  const struct credential **which)
{
	char p[CREDENTIAL_PLACEHOLDER_MAX + 1];

	*n = 0;
	*which = NULL;
	for (unsigned i = 0; list && i < list->n; i++) {
		const struct credential *c = &list->items[i];
		credentials_placeholder(c, agent_name, p);
		bool belongs = domain_set_match(c->hosts, host) != NULL;
		if (!belongs) {
			if (anywhere(req, target, p)) {
				*which = c;
				return CREDENTIALS_MISUSE;
			}
			continue;
		}
		int at = placed(c, req, target, p);
		if (at == -2) {
			if (c->require) {
				*which = c;
				return CREDENTIALS_MISSING;
			}
			continue;
		}
		if (*n == CREDENTIAL_USES_MAX) {
			*which = c;
			return CREDENTIALS_TOO_MANY;
		}
		uses[*n].cred = c;
		uses[*n].header = at;
		memcpy(uses[*n].placeholder, p, strlen(p) + 1);
		(*n)++;
	}
	return CREDENTIALS_OK;
}
