/* Fuzzes parse/log_line and emit/report: the input is split on '\n' into log lines, each parsed
 * from an exact-size heap copy (a read past the line is caught) and fed to a report, which is then
 * formatted. Whatever the bytes: the parser returns -1, 0 or the whole length, its fields stay
 * within their documented bounds, and the report is YAML that libyaml reads, holding no control
 * byte but '\n'. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "emit/report.h"
#include "parse/log_line.h"

#include "fuzz_check.h"

static void check_text(const struct log_line_text *t)
{
	CHECK(t->len <= LOG_LINE_VALUE_MAX);
	CHECK(t->bytes[t->len] == '\0');
}

static void parse_one(struct report *rep, const uint8_t *data, size_t len)
{
	char *copy = malloc(len ? len : 1);
	struct log_line line;
	const char *detail = NULL;

	CHECK(copy != NULL);
	memcpy(copy, data, len);
	int rc = log_line_parse(slice_make(copy, len), &line, &detail);
	CHECK(rc == -1 || rc == 0 || (rc > 0 && (size_t)rc == len));
	CHECK((rc > 0) == (detail == NULL));
	check_text(&line.agent);
	check_text(&line.method);
	check_text(&line.host);
	check_text(&line.decision);
	check_text(&line.reason);
	check_text(&line.event);
	CHECK(line.port <= 65535 && line.status <= 999);
	if (rc > 0) {
		enum report_use use = report_add(rep, &line);
		CHECK(use != REPORT_NO_MEMORY);
		/* A tunnel's open line never counts: its end line does. */
		CHECK((use == REPORT_OPEN_LINE) ==
		      (line.event.len == 4 && memcmp(line.event.bytes, "open", 4) == 0));
	} else
		CHECK(line.port == 0 && line.host.len == 0 && !line.has_agent);
	free(copy);
}

static void check_yaml(const char *text, size_t len)
{
	yaml_parser_t parser;
	yaml_document_t doc;

	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)text[i] >= 0x20 || text[i] == '\n');
	CHECK(len > 0 && text[len - 1] == '\n');
	CHECK(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	CHECK(yaml_parser_load(&parser, &doc));
	CHECK(yaml_document_get_root_node(&doc) != NULL);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the options, so that both modes and the agent filter are reached. */
	bool only_report = size > 0 && (data[0] & 1);
	struct report_options opt = {only_report,
				     (size > 0 && (data[0] & 2)) ? SLICE_LIT("a") : SLICE_LIT("")};
	struct report *rep = report_new(&opt);
	struct buf out = {0};
	size_t start = size > 0 ? 1 : 0;

	CHECK(rep != NULL);
	for (size_t i = start; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			parse_one(rep, data + start, i - start);
			start = i + 1;
		}
	}
	CHECK(report_format(rep, &out, 64u << 20));
	check_yaml(buf_head(&out), buf_len(&out));
	buf_release(&out);
	report_free(rep);
	return 0;
}
