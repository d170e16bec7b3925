#include "policy/domain_set.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/hash.h"
#include "parse/authority.h"

/* An open-addressing hash table (linear probing, load <= 1/2) keyed by (kind, name): exact
 * patterns by their name, wildcards "*.example.com" by the suffix "example.com". The hash is
 * FNV-1a run from the LAST byte to the first, so one right-to-left pass over a looked-up name
 * yields the hash of every parent suffix: a lookup costs O(name length) plus one probe per
 * label, whatever the size of the set. Pattern text lives in fixed blocks that never move, so
 * the pointers domain_set_match returns stay valid until domain_set_free. */

#define MAX_LABELS (AUTHORITY_NAME_MAX / 2 + 1)

struct slot {
	const char *text; /* the stored pattern; NULL = empty slot */
	uint32_t hash;
	uint16_t key_len; /* length of the key (the name, or the suffix after "*.") */
	bool wild;
};

struct domain_set {
	struct slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t used;
	bool any;	       /* "*" was added */
	struct arena patterns; /* the text of every stored pattern */
	/* Port-pinned patterns ("api.example.com:8443"): one nested set per distinct port. Few
	 * ports are ever pinned, so a short array beats another hash level. */
	struct pinned_set {
		uint16_t port;
		struct domain_set *set;
	} * pinned;
	unsigned n_pinned;
};

static const char any_text[] = "*";

static uint32_t fnv_step(uint32_t h, char c)
{
	return hash_fnv_byte(h, (unsigned char)slice_ascii_lower(c));
}

/* Separates exact from wildcard keys before spreading the low bits. */
static uint32_t hash_final(uint32_t h, bool wild)
{
	return hash_mix(h ^ (wild ? 0x9e3779b9u : 0));
}

static uint32_t hash_key(struct slice key, bool wild)
{
	uint32_t h = HASH_FNV_BASIS;
	for (size_t i = key.len; i > 0; i--)
		h = fnv_step(h, key.ptr[i - 1]);
	return hash_final(h, wild);
}

static struct slice slot_key(const struct slot *s)
{
	return slice_make(s->wild ? s->text + 2 : s->text, s->key_len);
}

static const struct slot *probe(const struct domain_set *set, struct slice key, bool wild,
				uint32_t hash)
{
	if (set->cap == 0)
		return NULL;
	size_t mask = set->cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		const struct slot *s = &set->slots[i];
		if (s->text == NULL)
			return NULL;
		if (s->hash == hash && s->wild == wild && slice_eq_nocase(slot_key(s), key))
			return s;
	}
}

struct domain_set *domain_set_new(void)
{
	return calloc(1, sizeof(struct domain_set));
}

void domain_set_free(struct domain_set *set)
{
	if (set == NULL)
		return;
	arena_fini(&set->patterns);
	for (unsigned i = 0; i < set->n_pinned; i++)
		domain_set_free(set->pinned[i].set);
	free(set->pinned);
	free(set->slots);
	free(set);
}

static int grow(struct domain_set *set)
{
	size_t cap = set->cap ? set->cap * 2 : 16;
	struct slot *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < set->cap; i++) {
		const struct slot *s = &set->slots[i];
		if (s->text == NULL)
			continue;
		size_t j = s->hash & (cap - 1);
		while (slots[j].text != NULL)
			j = (j + 1) & (cap - 1);
		slots[j] = *s;
	}
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

/* Validates one pattern into its normalised name (without "*.") and whether it is a wildcard.
 * Names follow parse/authority's rules exactly, so a pattern can only be written in a form a
 * normalised request host can take. */
static int pattern_check(struct slice p, struct authority *a, bool *wild, const char **detail)
{
	if (p.len == 0) {
		*detail = "empty domain pattern";
		return -1;
	}
	*wild = p.len >= 2 && p.ptr[0] == '*' && p.ptr[1] == '.';
	struct slice name = *wild ? slice_make(p.ptr + 2, p.len - 2) : p;
	if (memchr(name.ptr, '*', name.len) != NULL || (p.ptr[0] == '*' && !*wild)) {
		*detail =
		    "'*' must be the whole first label (\"*.example.com\") or the whole pattern";
		return -1;
	}
	if (name.len == 0) {
		*detail = "nothing after \"*.\" in domain pattern";
		return -1;
	}
	if (memchr(name.ptr, ':', name.len) != NULL) {
		*detail = "a domain pattern holds no port or IPv6 address";
		return -1;
	}
	if (authority_parse_host(name, a, detail) != 0)
		return -1;
	if (a->kind != HOST_NAME) {
		*detail = "an IP address is not a domain pattern (use an ips rule)";
		return -1;
	}
	return 0;
}

static int store(struct domain_set *set, const struct authority *a, bool wild, uint32_t hash)
{
	if ((set->used + 1) * 2 > set->cap && grow(set) != 0)
		return -1;
	size_t off = wild ? 2 : 0;
	char *text = arena_alloc(&set->patterns, off + a->name_len + 1);
	if (text == NULL)
		return -1;
	memcpy(text, "*.", off);
	memcpy(text + off, a->name, a->name_len + 1);
	size_t i = hash & (set->cap - 1);
	while (set->slots[i].text != NULL)
		i = (i + 1) & (set->cap - 1);
	set->slots[i] = (struct slot){text, hash, (uint16_t)a->name_len, wild};
	set->used++;
	return 0;
}

int domain_set_add(struct domain_set *set, struct slice pattern, const char **detail)
{
	const char *unused;
	if (detail == NULL)
		detail = &unused;
	if (pattern.len == 1 && pattern.ptr[0] == '*') {
		set->any = true;
		return 0;
	}
	struct authority a;
	bool wild;
	if (pattern_check(pattern, &a, &wild, detail) != 0)
		return -1;
	struct slice key = slice_make(a.name, a.name_len);
	uint32_t hash = hash_key(key, wild);
	if (probe(set, key, wild, hash) != NULL)
		return 0;
	if (store(set, &a, wild, hash) != 0) {
		*detail = "out of memory";
		return -1;
	}
	return 0;
}

/* Exact first, then wildcards from the nearest parent ("*.b.example.com" before
 * "*.example.com"), then "*". */
const char *domain_set_match(const struct domain_set *set, struct slice name)
{
	if (name.len > 0 && name.ptr[name.len - 1] == '.')
		name.len--;
	if (name.len == 0)
		return NULL;
	if (name.len <= AUTHORITY_NAME_MAX) {
		size_t starts[MAX_LABELS];
		uint32_t hashes[MAX_LABELS];
		unsigned n = 0;
		uint32_t h = HASH_FNV_BASIS;
		for (size_t i = name.len; i > 0; i--) {
			h = fnv_step(h, name.ptr[i - 1]);
			/* A dot at i - 2 > 0 starts a parent suffix below a non-empty label. */
			if (i >= 3 && name.ptr[i - 2] == '.' && n < MAX_LABELS) {
				starts[n] = i - 1;
				hashes[n++] = h;
			}
		}
		const struct slot *s = probe(set, name, false, hash_final(h, false));
		if (s != NULL)
			return s->text;
		while (n-- > 0) {
			struct slice suffix =
			    slice_make(name.ptr + starts[n], name.len - starts[n]);
			s = probe(set, suffix, true, hash_final(hashes[n], true));
			if (s != NULL)
				return s->text;
		}
	}
	return set->any ? any_text : NULL;
}

unsigned domain_set_count(const struct domain_set *set)
{
	unsigned n = (unsigned)set->used + (set->any ? 1u : 0u);
	for (unsigned i = 0; i < set->n_pinned; i++)
		n += domain_set_count(set->pinned[i].set);
	return n;
}

static struct domain_set *pinned_find(const struct domain_set *set, uint16_t port)
{
	for (unsigned i = 0; i < set->n_pinned; i++)
		if (set->pinned[i].port == port)
			return set->pinned[i].set;
	return NULL;
}

int domain_set_add_port(struct domain_set *set, struct slice pattern, uint16_t port,
			const char **detail)
{
	const char *unused;
	if (detail == NULL)
		detail = &unused;
	if (port == 0) {
		*detail = "port 0 is not a valid port";
		return -1;
	}
	struct domain_set *sub = pinned_find(set, port);
	if (sub == NULL) {
		struct pinned_set *grown =
		    realloc(set->pinned, (set->n_pinned + 1) * sizeof(*set->pinned));
		if (grown == NULL) {
			*detail = "out of memory";
			return -1;
		}
		set->pinned = grown;
		sub = domain_set_new();
		if (sub == NULL) {
			*detail = "out of memory";
			return -1;
		}
		set->pinned[set->n_pinned].port = port;
		set->pinned[set->n_pinned++].set = sub;
	}
	return domain_set_add(sub, pattern, detail);
}

const char *domain_set_match_port(const struct domain_set *set, struct slice name, uint16_t port,
				  uint16_t *pinned_port)
{
	const struct domain_set *sub = pinned_find(set, port);
	const char *text = sub ? domain_set_match(sub, name) : NULL;

	if (pinned_port)
		*pinned_port = text ? port : 0;
	return text ? text : domain_set_match(set, name);
}

const char *domain_set_match_pinned(const struct domain_set *set, struct slice name,
				    unsigned *cursor, uint16_t *port)
{
	while (*cursor < set->n_pinned) {
		const struct pinned_set *p = &set->pinned[(*cursor)++];
		const char *text = domain_set_match(p->set, name);
		if (text) {
			*port = p->port;
			return text;
		}
	}
	return NULL;
}
