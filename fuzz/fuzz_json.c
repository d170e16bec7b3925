/* Fuzz target for parse/json and emit/json_write: whatever the bytes, the parser stays inside
 * them and its bounds; a document it accepts, written back by the writer, is valid JSON that
 * parses to the same tree (strings byte for byte, numbers to the same double). Input: any
 * bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emit/json_write.h"
#include "parse/json.h"

#include "fuzz_check.h"

static void json_roundtrip_write(struct json_write *w, const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		json_write_null(w);
		break;
	case JSON_FALSE:
	case JSON_TRUE:
		json_write_bool(w, v->type == JSON_TRUE);
		break;
	case JSON_NUMBER:
		json_write_double(w, v->number);
		break;
	case JSON_STRING:
		json_write_string(w, v->string);
		break;
	case JSON_ARRAY:
	case JSON_OBJECT:
		if (v->type == JSON_ARRAY)
			json_write_array(w);
		else
			json_write_object(w);
		for (const struct json_value *m = v->first; m; m = m->next) {
			if (v->type == JSON_OBJECT)
				json_write_key_slice(w, m->key);
			json_roundtrip_write(w, m);
		}
		json_write_end(w);
		break;
	}
}

/* Same shape, keys and values. */
static int json_roundtrip_equal(const struct json_value *a, const struct json_value *b)
{
	if (a->type != b->type || a->n != b->n)
		return 0;
	if (a->type == JSON_STRING &&
	    (a->string.len != b->string.len ||
	     (a->string.len && memcmp(a->string.ptr, b->string.ptr, a->string.len))))
		return 0;
	if (a->type == JSON_NUMBER && !(a->number == b->number || (a->number != a->number)))
		return 0;
	for (const struct json_value *x = a->first, *y = b->first; x && y; x = x->next, y = y->next)
		if (x->key.len != y->key.len ||
		    (x->key.len && memcmp(x->key.ptr, y->key.ptr, x->key.len)) ||
		    !json_roundtrip_equal(x, y))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a, b;
	const char *err;
	struct buf out = {0};
	struct json_write w;

	if (size > 65536)
		return 0;
	arena_init(&a);
	arena_init(&b);
	const struct json_value *v = json_parse((const char *)data, size, &a, &err);
	if (v) {
		json_write_init(&w, &out, 1u << 22);
		json_roundtrip_write(&w, v);
		/* Too deep for the writer is its refusal, not a bug. */
		if (json_write_ok(&w)) {
			const struct json_value *again =
			    json_parse(buf_head(&out), buf_len(&out), &b, &err);
			CHECK(again != NULL);
			CHECK(json_roundtrip_equal(v, again));
		}
	} else {
		CHECK(err && strncmp(err, "line ", 5) == 0);
	}
	buf_release(&out);
	arena_fini(&a);
	arena_fini(&b);
	return 0;
}
