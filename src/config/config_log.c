#include "config/config_log.h"

#include "config/config_reader.h"
#include "config/config_value.h"

static void read_log_file(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	const char *detail;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "a file path", &s))
		return;
	if (!config_value_file_path_ok(s, CONFIG_LOG_FILE_MAX - 1, &detail)) {
		config_reader_quote(s, q);
		config_reader_error(r, r->ev.start_mark, "%s: %s is not a valid file path: %s",
				    path, q, detail);
		return;
	}
	config_value_copy(r->cfg->log_file, sizeof(r->cfg->log_file), s);
}

/* Query strings often carry what should not sit in a log (tokens, search terms): dropped unless
 * the operator asks for them. */
static void read_log_query(struct config_reader *r, const struct config_key *k, const char *path)
{
	struct slice s;
	char q[QUOTE_MAX];

	if (!config_reader_scalar_value(r, path, "keep or drop", &s))
		return;
	if (slice_eq(s, SLICE_LIT("keep")) || slice_eq(s, SLICE_LIT("drop"))) {
		r->cfg->log_query = slice_eq(s, SLICE_LIT("keep"));
		return;
	}
	config_reader_quote(s, q);
	config_reader_error(r, r->ev.start_mark, "%s: %s is not keep or drop", path, q);
}

const struct config_key config_log_keys[] = {
    {.name = "file", .read = read_log_file},
    {.name = "query", .read = read_log_query},
};
