/* config_redact: a configuration with its secrets taken out; see config_redact.h. */
#include "config/config_redact.h"

#include <string.h>
#include <yaml.h>

/* Deeper than any configuration sluice reads (config_reader refuses those anyway). */
#define REDACT_DEPTH 64
#define REDACT_KEY_MAX 32

struct redact_frame {
	bool mapping;
	bool want_key;		  /* a mapping's next node is a key */
	char key[REDACT_KEY_MAX]; /* the key of the value being read ("" when not a short scalar) */
};

struct redact {
	struct redact_frame frames[REDACT_DEPTH];
	unsigned depth;
	struct buf *out;
	size_t max;
	bool full;
};

static int redact_write(void *arg, unsigned char *p, size_t n)
{
	struct redact *r = arg;
	if (!buf_append(r->out, p, n, r->max)) {
		r->full = true;
		return 0;
	}
	return 1;
}

static const char *frame_key(const struct redact *r, unsigned up)
{
	if (up >= r->depth)
		return "";
	const struct redact_frame *f = &r->frames[r->depth - 1 - up];
	return f->mapping ? f->key : "";
}

/* Whether the scalar about to be read as a value is one that may be a secret. */
static bool redact_secret_value(const struct redact *r)
{
	if (r->depth == 0 || !r->frames[r->depth - 1].mapping || r->frames[r->depth - 1].want_key)
		return false;
	const char *k = frame_key(r, 0);
	if (strcmp(k, "token_sha256") == 0 || strcmp(k, "secret") == 0)
		return true;
	/* A chat hook's URL is its credential (Slack's carries it in the path). */
	if (strcmp(k, "webhook") == 0 && strcmp(frame_key(r, 1), "approvals") == 0)
		return true;
	/* headers: {set: {Name: value}}: the value given as text */
	return strcmp(frame_key(r, 1), "set") == 0 && strcmp(frame_key(r, 2), "headers") == 0;
}

/* A node ended in the frame on top: in a mapping, a key is followed by its value and a value
 * by the next key. */
static void redact_node_done(struct redact *r)
{
	if (r->depth == 0)
		return;
	struct redact_frame *f = &r->frames[r->depth - 1];
	if (!f->mapping)
		return;
	if (!f->want_key)
		f->key[0] = '\0';
	f->want_key = !f->want_key;
}

static bool redact_push(struct redact *r, bool mapping)
{
	if (r->depth == REDACT_DEPTH)
		return false;
	struct redact_frame *f = &r->frames[r->depth++];
	f->mapping = mapping;
	f->want_key = mapping;
	f->key[0] = '\0';
	return true;
}

bool config_redact(const char *text, size_t len, struct buf *out, size_t max)
{
	yaml_parser_t parser;
	yaml_emitter_t emitter;
	yaml_event_t ev;
	struct redact r = {.out = out, .max = max};
	bool ok = true, done = false;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	yaml_emitter_initialize(&emitter);
	yaml_emitter_set_output(&emitter, redact_write, &r);
	yaml_emitter_set_unicode(&emitter, 1);
	yaml_emitter_set_width(&emitter, 100);
	yaml_emitter_set_indent(&emitter, 2);
	while (ok && !done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			ok = false;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		switch (ev.type) {
		case YAML_SCALAR_EVENT: {
			struct redact_frame *f = r.depth ? &r.frames[r.depth - 1] : NULL;
			if (f && f->mapping && f->want_key) {
				size_t n = ev.data.scalar.length;
				if (n < REDACT_KEY_MAX) {
					memcpy(f->key, ev.data.scalar.value, n);
					f->key[n] = '\0';
				} else {
					f->key[0] = '\0';
				}
			} else if (redact_secret_value(&r)) {
				yaml_event_t hidden;
				yaml_char_t *anchor = ev.data.scalar.anchor;
				yaml_scalar_event_initialize(&hidden, anchor, NULL,
							     (yaml_char_t *)CONFIG_REDACTED, -1, 1,
							     1, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
				yaml_event_delete(&ev);
				ev = hidden;
			}
			redact_node_done(&r);
			break;
		}
		case YAML_ALIAS_EVENT:
			redact_node_done(&r);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			/* a mapping or list where a secret's text would be: not a secret's shape,
			 * kept (it is {env: ...} or {file: ...}) */
			ok = redact_push(&r, ev.type == YAML_MAPPING_START_EVENT);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			r.depth--;
			redact_node_done(&r);
			break;
		default:
			break;
		}
		if (!ok) {
			yaml_event_delete(&ev);
			break;
		}
		if (!yaml_emitter_emit(&emitter, &ev))
			ok = false;
	}
	if (ok)
		ok = yaml_emitter_flush(&emitter) && !r.full;
	yaml_emitter_delete(&emitter);
	yaml_parser_delete(&parser);
	return ok;
}
