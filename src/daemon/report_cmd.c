#include "daemon/report_cmd.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "config/config.h"
#include "emit/report.h"
#include "parse/log_line.h"

/* The read buffer holds one longest line plus room to read the next block; memory stays fixed
 * whatever the length of a line (longer ones are skipped, not gathered). */
#define REPORT_CMD_READ_BUF (2 * LOG_LINE_MAX)
/* Largest YAML text held before it is written. The report's caps keep it far below this. */
#define REPORT_CMD_OUTPUT_MAX (1024u << 20)
/* Largest config file read for -c, as the daemon's (MAIN_CONFIG_MAX). */
#define REPORT_CMD_CONFIG_MAX (16u << 20)

struct report_cmd_stats {
	unsigned long long lines, malformed, cut, too_long, bad_agent, bad_host, truncated;
	char first[512]; /* "FILE:LINE: why" of the first line skipped */
};

struct report_cmd_reader {
	FILE *f;
	char *buf;
	size_t start, end;
	unsigned long long lineno;
	bool eof, skipping;
};

static void report_cmd_usage(FILE *out)
{
	fputs(
	    "usage: sluice report [-c FILE] [--agent NAME] [--only-report] [FILE...]\n"
	    "\n"
	    "Reads sluice decision logs (JSON lines; stdin when no FILE, or for \"-\") and prints\n"
	    "a suggested `agents:` policy: per agent, an allow list of every destination it\n"
	    "reached (\"allow\") or would have been denied (\"report\"), to move from report mode\n"
	    "to enforce in one step. Routes are never suggested: routes[].agents governs them,\n"
	    "and each agent's entry says which routes it used. See docs/report.md.\n"
	    "\n"
	    "  -c, --config FILE  the config: its routes' hosts are routes in every line\n"
	    "  --agent NAME       only this agent\n"
	    "  --only-report      suggest from \"report\" lines only, not from \"allow\" lines\n"
	    "  --include-allowed  suggest from \"allow\" lines too (the default)\n",
	    out);
}

static void report_cmd_note(struct report_cmd_stats *st, const char *file,
			    unsigned long long lineno, const char *why)
{
	if (st->first[0] == '\0')
		snprintf(st->first, sizeof(st->first), "%s:%llu: %s", file, lineno, why);
}

/* The next line (without its '\n') in *line. Returns 1; 2 when a line longer than LOG_LINE_MAX
 * was dropped whole (r->lineno is its number); 0 at the end of the file; -1 on a read error. */
static int report_cmd_next(struct report_cmd_reader *r, struct slice *line)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		if (nl != NULL) {
			size_t at = r->start, len = (size_t)(nl - (r->buf + at));
			r->start = at + len + 1;
			r->lineno++;
			if (r->skipping || len > LOG_LINE_MAX) {
				r->skipping = false;
				return 2;
			}
			*line = slice_make(r->buf + at, len);
			return 1;
		}
		if (r->skipping || r->end - r->start > LOG_LINE_MAX) {
			r->skipping = true;
			r->start = r->end = 0;
		}
		if (r->eof && r->skipping) {
			r->skipping = false;
			r->lineno++;
			return 2;
		}
		if (r->eof && r->end == r->start)
			return 0;
		if (r->eof) {
			*line = slice_make(r->buf + r->start, r->end - r->start);
			r->start = r->end;
			r->lineno++;
			return 1;
		}
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		size_t n = fread(r->buf + r->end, 1, REPORT_CMD_READ_BUF - r->end, r->f);
		if (n == 0 && ferror(r->f))
			return -1;
		r->eof = n == 0;
		r->end += n;
	}
}

static bool report_cmd_blank(struct slice line)
{
	for (size_t i = 0; i < line.len; i++)
		if (line.ptr[i] != ' ' && line.ptr[i] != '\t' && line.ptr[i] != '\r')
			return false;
	return true;
}

/* Feeds one line to the report. Returns -1 only when out of memory. */
static int report_cmd_line(struct report *rep, struct slice line, const char *file,
			   unsigned long long lineno, struct report_cmd_stats *st)
{
	struct log_line parsed;
	const char *detail;

	if (report_cmd_blank(line))
		return 0;
	st->lines++;
	int rc = log_line_parse(line, &parsed, &detail);
	if (rc <= 0) {
		*(rc == 0 ? &st->cut : &st->malformed) += 1;
		report_cmd_note(st, file, lineno, detail);
		return 0;
	}
	switch (report_add(rep, &parsed)) {
	case REPORT_BAD_AGENT:
		st->bad_agent++;
		report_cmd_note(st, file, lineno, "not a valid agent name");
		break;
	case REPORT_BAD_HOST:
		st->bad_host++;
		report_cmd_note(st, file, lineno, "the host is not a host name or IP address");
		break;
	case REPORT_TRUNCATED:
		st->truncated++;
		break;
	case REPORT_NO_MEMORY:
		return -1;
	default:
		break;
	}
	return 0;
}

/* Returns 0, or 1 after printing why the file could not be read. */
static int report_cmd_file(struct report *rep, const char *path, char *buf,
			   struct report_cmd_stats *st)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "stdin" : path;
	struct report_cmd_reader r = {
	    is_stdin ? stdin : fopen(path, "rb"), buf, 0, 0, 0, false, false};
	struct slice line;
	int rc;

	if (r.f == NULL) {
		fprintf(stderr, "sluice report: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((rc = report_cmd_next(&r, &line)) > 0) {
		if (rc == 2) {
			st->too_long++;
			report_cmd_note(st, name, r.lineno, "line longer than 64 KiB");
		} else if (report_cmd_line(rep, line, name, r.lineno, st) != 0) {
			fprintf(stderr, "sluice report: out of memory\n");
			rc = -2;
			break;
		}
	}
	if (rc == -1)
		fprintf(stderr, "sluice report: cannot read %s: %s\n", name, strerror(errno));
	if (!is_stdin)
		fclose(r.f);
	return rc < 0 ? 1 : 0;
}

static void report_cmd_part(unsigned long long n, const char *what, bool *first)
{
	if (n == 0)
		return;
	fprintf(stderr, "%s%llu %s", *first ? "" : ", ", n, what);
	*first = false;
}

/* One summary line on stderr for every line that was skipped, whatever their number. */
static void report_cmd_warn(const struct report_cmd_stats *st)
{
	unsigned long long skipped =
	    st->malformed + st->cut + st->too_long + st->bad_agent + st->bad_host;
	bool first = true;

	if (skipped > 0) {
		fprintf(stderr, "sluice report: skipped %llu of %llu lines (", skipped,
			st->lines + st->too_long);
		report_cmd_part(st->malformed, "malformed", &first);
		report_cmd_part(st->cut, "cut short", &first);
		report_cmd_part(st->too_long, "longer than 64 KiB", &first);
		report_cmd_part(st->bad_agent, "with an invalid agent name", &first);
		report_cmd_part(st->bad_host, "with an invalid host", &first);
		fprintf(stderr, ")%s%s\n", st->first[0] ? "; first: " : "", st->first);
	}
	if (st->truncated > 0)
		fprintf(stderr,
			"sluice report: %llu lines not counted: a memory cap was reached (see the "
			"\"truncated\" notes in the output)\n",
			st->truncated);
}

static int report_cmd_print(const struct report *rep)
{
	struct buf out = {0};
	int rc = 0;

	if (!report_format(rep, &out, REPORT_CMD_OUTPUT_MAX)) {
		fprintf(stderr, "sluice report: out of memory\n");
		rc = 1;
	} else if (fwrite(buf_head(&out), 1, buf_len(&out), stdout) != buf_len(&out) ||
		   fflush(stdout) != 0) {
		fprintf(stderr, "sluice report: cannot write the output: %s\n", strerror(errno));
		rc = 1;
	}
	buf_release(&out);
	return rc;
}

/* The whole file, NUL-terminated, or NULL with errno set. */
static char *report_cmd_read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t cap = 0;

	*len = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *grown = cap <= REPORT_CMD_CONFIG_MAX ? realloc(text, cap) : NULL;
			if (grown == NULL) {
				free(text);
				fclose(f);
				errno = cap > REPORT_CMD_CONFIG_MAX ? EFBIG : ENOMEM;
				return NULL;
			}
			text = grown;
		}
		size_t n = fread(text + *len, 1, cap - *len - 1, f);
		if (n == 0)
			break;
		*len += n;
	}
	bool failed = ferror(f);
	fclose(f);
	if (failed) {
		free(text);
		errno = EIO;
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

/* -c FILE: every route host of the config is a route host of the report. The config is only
 * parsed: the secrets it names are not read, so the report runs where they are not. Returns 0,
 * or 1 after printing why. */
static int report_cmd_config(struct report *rep, const char *path)
{
	struct config_errors errors;
	size_t len;
	char *text = report_cmd_read_all(path, &len);

	if (text == NULL) {
		fprintf(stderr, "sluice report: cannot read %s: %s\n", path, strerror(errno));
		return 1;
	}
	memset(&errors, 0, sizeof(errors));
	struct config *cfg = config_parse(text, len, &errors);
	free(text);
	if (cfg == NULL) {
		for (unsigned i = 0; i < errors.count; i++) {
			char msg[CONFIG_ERROR_MAX + 32];
			config_error_format(&errors.items[i], msg, sizeof(msg));
			fprintf(stderr, "%s:%s\n", path, msg);
		}
		fprintf(stderr, "sluice report: %s is not a valid config (sluice check -c %s)\n",
			path, path);
		return 1;
	}
	int rc = 0;
	for (unsigned i = 0; i < cfg->n_routes && rc == 0; i++)
		if (report_add_route_host(rep, slice_from_cstr(cfg->routes[i].host)) != 0) {
			fprintf(stderr, "sluice report: out of memory\n");
			rc = 1;
		}
	config_free(cfg);
	return rc;
}

/* One option at argv[*i]. Returns 1 when it was one, 0 when it is a file name, -1 after a usage
 * message, -2 for --help. */
static int report_cmd_option(int argc, char **argv, int *i, struct report_options *opt,
			     const char **config)
{
	const char *a = argv[*i];

	if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
		return -2;
	if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && *i + 1 < argc) {
		*config = argv[++*i];
	} else if (strncmp(a, "--config=", 9) == 0 && a[9] != '\0') {
		*config = a + 9;
	} else if (strcmp(a, "--only-report") == 0) {
		opt->only_report = true;
	} else if (strcmp(a, "--include-allowed") == 0) {
		opt->only_report = false;
	} else if (strcmp(a, "--agent") == 0 && *i + 1 < argc) {
		opt->agent = slice_from_cstr(argv[++*i]);
	} else if (strncmp(a, "--agent=", 8) == 0) {
		opt->agent = slice_from_cstr(a + 8);
	} else if (a[0] == '-' && a[1] != '\0') {
		fprintf(stderr, "sluice report: unknown or incomplete option '%s'\n", a);
		return -1;
	} else {
		return 0;
	}
	if (opt->agent.ptr != NULL && opt->agent.len == 0) {
		fprintf(stderr, "sluice report: --agent needs a name\n");
		return -1;
	}
	return 1;
}

/* Options may come before or after files; "--" ends them. Returns the number of files (stored in
 * files), -1 after a usage message, or -2 for --help. */
static int report_cmd_args(int argc, char **argv, struct report_options *opt, const char **config,
			   char **files)
{
	int n = 0;
	bool options = true;

	for (int i = 1; i < argc; i++) {
		int rc = 0;
		if (options && strcmp(argv[i], "--") == 0) {
			options = false;
			continue;
		}
		if (options)
			rc = report_cmd_option(argc, argv, &i, opt, config);
		if (rc < 0)
			return rc;
		if (rc == 0)
			files[n++] = argv[i];
	}
	return n;
}

static int report_cmd_run(struct report *rep, char **files, int n, struct slice agent, char *buf)
{
	struct report_cmd_stats st = {0};
	char *stdin_only[] = {"-"};
	int rc = 0;

	if (n == 0) {
		files = stdin_only;
		n = 1;
	}
	for (int i = 0; i < n && rc == 0; i++)
		rc = report_cmd_file(rep, files[i], buf, &st);
	report_cmd_warn(&st);
	if (rc != 0)
		return rc;
	if (report_agent_count(rep) == 0) {
		fprintf(stderr, "sluice report: no usable log line%s%.*s\n",
			agent.len ? " for agent " : "", (int)agent.len, agent.ptr);
		return 1;
	}
	return report_cmd_print(rep);
}

int report_cmd_main(int argc, char **argv)
{
	struct report_options opt = {0};
	const char *config = NULL;
	char **files = calloc((size_t)argc + 1, sizeof(*files));
	char *buf = malloc(REPORT_CMD_READ_BUF);
	struct report *rep = NULL;
	int n, rc = 1;

	if (files == NULL || buf == NULL) {
		fprintf(stderr, "sluice report: out of memory\n");
		goto done;
	}
	n = report_cmd_args(argc, argv, &opt, &config, files);
	if (n < 0) {
		report_cmd_usage(n == -2 ? stdout : stderr);
		rc = n == -2 ? 0 : 2;
		goto done;
	}
	if (opt.agent.len > REPORT_AGENT_NAME_MAX) {
		fprintf(stderr, "sluice report: --agent: a name is at most %d bytes\n",
			REPORT_AGENT_NAME_MAX);
		rc = 2;
		goto done;
	}
	rep = report_new(&opt);
	if (rep == NULL)
		fprintf(stderr, "sluice report: out of memory\n");
	else if (config == NULL || report_cmd_config(rep, config) == 0)
		rc = report_cmd_run(rep, files, n, opt.agent, buf);
done:
	report_free(rep);
	free(buf);
	free(files);
	return rc;
}
