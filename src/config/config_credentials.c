#include "config/config_credentials.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_headers.h"
#include "config/config_rules.h"
#include "config/config_value.h"
#include "policy/agent.h"
#include "policy/credentials.h"
#include "policy/domain_set.h"
#include "policy/route.h"

/* The credential being read: the last of the list being filled. */
static struct credential *reader_cred(struct config_reader *r)
{
	struct agent *a = r->agent ? r->agent : &r->cfg->base;
	return &a->credentials.items[a->credentials.n - 1];
}

static void read_name(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct credential *c = reader_cred(r);
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a credential name", &s))
		return;
	if (!config_value_is_agent_name(s) || s.len > CREDENTIAL_NAME_MAX) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not a credential name (letters, digits, '.', '_' "
				    "and '-', at most %d)",
				    path, q, CREDENTIAL_NAME_MAX);
		return;
	}
	config_value_copy(c->name, sizeof(c->name), s);
}

static void read_hosts(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_rules_read_hosts(r, path, reader_cred(r)->hosts);
}

/* The fields sluice writes or HTTP frames with: a secret there would break the request. */
static bool header_refused(struct slice name)
{
	static const char *const names[] = {"host",
					    "content-length",
					    "transfer-encoding",
					    "connection",
					    "upgrade",
					    "te",
					    "trailer",
					    "keep-alive",
					    "proxy-connection",
					    "proxy-authorization",
					    "via",
					    "cookie2"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (slice_eq_cstr_nocase(name, names[i]))
			return true;
	return false;
}

/* header: "Name: format", the format holding {secret} once. */
static void read_header(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct credential *c = reader_cred(r);
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path,
					 "a header like \"Authorization: Bearer {secret}\"", &s))
		return;
	config_reader_quote(s, q);
	const char *colon = memchr(s.ptr, ':', s.len);
	struct slice name = slice_make(s.ptr, colon ? (size_t)(colon - s.ptr) : s.len);
	struct slice format =
	    colon ? slice_trim_ows(slice_make(colon + 1, s.len - name.len - 1)) : SLICE_LIT("");
	if (!colon || !config_value_is_token(name) || name.len > CREDENTIAL_HEADER_MAX) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not \"Name: value\" with a header field name", path,
				    q);
		return;
	}
	if (header_refused(name)) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s: sluice or HTTP itself writes that field", path, q);
		return;
	}
	const char *first = memmem(format.ptr, format.len, "{secret}", 8);
	if (!first ||
	    memmem(first + 8, format.len - (size_t)(first + 8 - format.ptr), "{secret}", 8)) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s: the value must hold {secret} exactly once", path, q);
		return;
	}
	if (format.len > CREDENTIAL_FORMAT_MAX ||
	    config_value_unprintable(format, '\t') < format.len) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s: the value is too long or holds a byte a header "
				    "cannot",
				    path, q);
		return;
	}
	config_value_copy(c->header, sizeof(c->header), name);
	config_value_copy(c->format, sizeof(c->format), format);
}

static void read_query(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct credential *c = reader_cred(r);
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a query parameter name", &s))
		return;
	if (!config_value_is_token(s) || s.len > CREDENTIAL_HEADER_MAX ||
	    memchr(s.ptr, '&', s.len) || memchr(s.ptr, '=', s.len)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a query parameter name",
				    path, q);
		return;
	}
	config_value_copy(c->query, sizeof(c->query), s);
}

static void read_secret(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct credential *c = reader_cred(r);
	static struct route_header_set h; /* 8 KiB; the reader runs on one thread */
	yaml_mark_t start = r->ev.start_mark;
	unsigned before = config_reader_errors_total(r);

	memset(&h, 0, sizeof(h));
	if (r->ev.type == YAML_SCALAR_EVENT) {
		config_reader_error(
		    r, start,
		    "%s: give {env: NAME} or {file: /path}: a secret is not written "
		    "in the configuration",
		    path);
		config_reader_skip(r);
		return;
	}
	config_headers_read_value(r, &h, path);
	if (config_reader_errors_total(r) == before && h.kind != ROUTE_VALUE_LITERAL) {
		c->secret_kind =
		    h.kind == ROUTE_VALUE_ENV ? CREDENTIAL_SECRET_ENV : CREDENTIAL_SECRET_FILE;
		memcpy(c->secret_source, h.source, sizeof(c->secret_source));
		c->secret_line = h.line;
		c->secret_column = h.column;
	}
	explicit_bzero(&h, sizeof(h));
}

/* A fixed placeholder: what the agent's environment holds instead of the secret. Long enough
 * not to turn up in a request by chance, and made of characters every header and query can
 * carry unencoded. */
static void read_placeholder(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct credential *c = reader_cred(r);
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_string(r, path, "a placeholder", &s))
		return;
	config_reader_quote(s, q);
	bool ok = s.len >= 8 && s.len <= CREDENTIAL_PLACEHOLDER_MAX;
	for (size_t i = 0; ok && i < s.len; i++) {
		char ch = s.ptr[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';
	}
	if (!ok) {
		config_reader_error(r, r->ev.start_mark,
				    "%s: %s is not a placeholder (8 to %d letters, digits, '-', "
				    "'_', '.' or '~')",
				    path, q, CREDENTIAL_PLACEHOLDER_MAX);
		return;
	}
	config_value_copy(c->placeholder, sizeof(c->placeholder), s);
}

static void read_require(struct config_reader *r, const struct config_key *k, const char *path)
{
	config_reader_read_bool(r, path, &reader_cred(r)->require);
}

static const struct config_key cred_keys[] = {
    {.name = "name", .read = read_name},       {.name = "hosts", .read = read_hosts},
    {.name = "header", .read = read_header},   {.name = "query", .read = read_query},
    {.name = "secret", .read = read_secret},   {.name = "placeholder", .read = read_placeholder},
    {.name = "require", .read = read_require},
};

/* What one credential must have, once read; and no two of a list may share a name or a
 * placeholder (the placeholder is what tells them apart in a request). */
static void cred_check(struct config_reader *r, yaml_mark_t start, const char *path,
		       const struct credential_list *list)
{
	const struct credential *c = &list->items[list->n - 1];

	if (!c->name[0])
		config_reader_error(r, start, "%s: a credential needs a name", path);
	if (domain_set_count(c->hosts) == 0)
		config_reader_error(r, start, "%s: a credential needs hosts (domain patterns)",
				    path);
	if (!c->header[0] == !c->query[0])
		config_reader_error(r, start, "%s: give one of header and query", path);
	if (!c->secret_source[0])
		config_reader_error(r, start,
				    "%s: a credential needs a secret ({env: NAME} or "
				    "{file: /path})",
				    path);
	for (unsigned i = 0; i + 1 < list->n; i++) {
		const struct credential *o = &list->items[i];
		if (c->name[0] && strcmp(o->name, c->name) == 0)
			config_reader_error(r, start, "%s: the name %s is taken by %s", path,
					    c->name, o->label);
		if (c->placeholder[0] && strcmp(o->placeholder, c->placeholder) == 0)
			config_reader_error(r, start, "%s: the placeholder is %s's too", path,
					    o->label);
	}
}

static void cred_item(struct config_reader *r, const char *path, void *ctx)
{
	struct agent *a = ctx;
	yaml_mark_t start = r->ev.start_mark;

	if (a->credentials.n == CREDENTIALS_MAX) {
		config_reader_error(r, start, "%s: too many credentials (at most %d)", path,
				    CREDENTIALS_MAX);
		config_reader_skip(r);
		return;
	}
	struct credential *items =
	    realloc(a->credentials.items, (a->credentials.n + 1) * sizeof(*items));
	struct domain_set *hosts = domain_set_new();
	if (items)
		a->credentials.items = items;
	if (!items || !hosts) {
		domain_set_free(hosts);
		config_reader_error(r, start, "%s: out of memory", path);
		config_reader_skip(r);
		return;
	}
	struct credential *c = &a->credentials.items[a->credentials.n++];
	memset(c, 0, sizeof(*c));
	c->hosts = hosts;
	snprintf(c->label, sizeof(c->label), "%s", path);
	config_reader_mapping(r, path, cred_keys, ARRAY_SIZE(cred_keys));
	cred_check(r, start, path, &a->credentials);
}

static const struct config_list cred_list = {
    .items = "credentials", .item = "a credential", .read = cred_item, .mappings = true};

void config_credentials_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct agent *a = r->agent ? r->agent : &r->cfg->base;

	credentials_fini(&a->credentials);
	a->has_credentials = r->ev.type == YAML_SEQUENCE_START_EVENT;
	config_reader_list(r, path, &cred_list, a);
}
