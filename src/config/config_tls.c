#include "config/config_tls.h"

#include <stddef.h>

#include "config/config_intercept.h"
#include "config/config_limits.h"
#include "config/config_value.h"

/* An absolute path into one of the tls path fields (dst has CONFIG_TLS_PATH_MAX bytes). */
static void read_path(struct config_reader *r, const char *path, const char *what, char *dst)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, what, &s))
		return;
	if (!config_value_file_path_ok(s, CONFIG_TLS_PATH_MAX - 1, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid path: %s", path, q,
				    detail);
		return;
	}
	config_value_copy(dst, CONFIG_TLS_PATH_MAX, s);
}

static void read_state_dir(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_path(r, path, "a directory path", r->cfg->tls_state_dir);
	r->tls_state_dir_given = true;
}

static void read_ca_cert(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_path(r, path, "a file path", r->cfg->tls_ca_cert);
}

static void read_ca_key(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_path(r, path, "a file path", r->cfg->tls_ca_key);
}

static void read_upstream_ca(struct config_reader *r, const struct config_key *k, const char *path)
{
	read_path(r, path, "a file path", r->cfg->tls_upstream_ca);
}

static void read_upstream_http2(struct config_reader *r, const struct config_key *k,
				const char *path)
{
	config_reader_read_bool(r, path, &r->cfg->tls_upstream_http2);
}

const struct config_key config_tls_keys[7] = {
    {.name = "state_dir", .read = read_state_dir},
    {.name = "ca_cert", .read = read_ca_cert},
    {.name = "ca_key", .read = read_ca_key},
    {.name = "cert_cache",
     .read = config_limits_read,
     .field = offsetof(struct config, tls_cert_cache),
     .min = 1,
     .max = CONFIG_TLS_CACHE_MAX},
    {.name = "upstream_ca", .read = read_upstream_ca},
    {.name = "never_intercept", .read = config_intercept_read_never},
    {.name = "upstream_http2", .read = read_upstream_http2},
};

/* The two ways to have a CA exclude each other: a state_dir next to operator files would
 * leave the reader guessing which CA agents must trust. */
void config_tls_read(struct config_reader *r, const struct config_key *k, const char *path)
{
	yaml_mark_t start = r->ev.start_mark;
	unsigned before = config_reader_errors_total(r);
	struct config *cfg = r->cfg;

	cfg->has_tls = true;
	config_reader_section(r, k, path);
	if (config_reader_errors_total(r) != before)
		return;
	bool cert = cfg->tls_ca_cert[0] != '\0', key = cfg->tls_ca_key[0] != '\0';
	if (cert != key)
		config_reader_error(r, start, "%s: set both ca_cert and ca_key, or neither", path);
	else if (cert && r->tls_state_dir_given)
		config_reader_error(r, start,
				    "%s: state_dir is for a generated CA, ca_cert and ca_key for "
				    "your own: set one or the other",
				    path);
}
