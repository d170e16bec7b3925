#include "policy/cidr_set.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/bug.h"

/* A path-compressed binary radix (PATRICIA) tree per family. Nodes live in one growable array
 * and refer to each other by index, so the set is freed in one go and a lookup touches at most
 * one node per distinct prefix length on the path: O(address bits). */

#define NIL UINT32_MAX

struct cidr_node {
	uint8_t key[16]; /* the prefix, host bits zero */
	uint8_t len;	 /* prefix length in bits (0..128) */
	bool is_prefix;	 /* false for glue nodes created by a split */
	uint32_t child[2];
};

struct cidr_set {
	struct cidr_node *nodes;
	uint32_t n_nodes, cap;
	uint32_t root[2]; /* [0] IPv4, [1] IPv6 */
	unsigned count;
};

static unsigned bit_at(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1u;
}

static void mask_key(uint8_t *key, unsigned len, unsigned nbytes)
{
	for (unsigned i = len / 8; i < nbytes; i++)
		key[i] &= i == len / 8 ? (uint8_t) ~(0xffu >> (len % 8)) : 0;
}

/* Number of leading bits a and b share, at most limit. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned limit)
{
	unsigned n = 0;
	while (n < limit) {
		uint8_t x = a[n / 8] ^ b[n / 8];
		if (n % 8 == 0 && x == 0 && n + 8 <= limit) {
			n += 8;
			continue;
		}
		if (bit_at(a, n) != bit_at(b, n))
			break;
		n++;
	}
	return n;
}

struct cidr_set *cidr_set_new(void)
{
	struct cidr_set *set = calloc(1, sizeof(*set));
	if (set == NULL)
		return NULL;
	set->root[0] = NIL;
	set->root[1] = NIL;
	return set;
}

void cidr_set_free(struct cidr_set *set)
{
	if (set == NULL)
		return;
	free(set->nodes);
	free(set);
}

static int reserve(struct cidr_set *set, uint32_t extra)
{
	if (set->n_nodes + extra <= set->cap)
		return 0;
	uint32_t cap = set->cap ? set->cap * 2 : 64;
	if (cap < set->cap || cap > UINT32_MAX / 2)
		return -1;
	struct cidr_node *grown = realloc(set->nodes, (size_t)cap * sizeof(*grown));
	if (grown == NULL)
		return -1;
	set->nodes = grown;
	set->cap = cap;
	return 0;
}

static uint32_t new_node(struct cidr_set *set, const uint8_t *key, unsigned len, bool is_prefix)
{
	uint32_t i = set->n_nodes++;
	struct cidr_node *n = &set->nodes[i];
	memcpy(n->key, key, sizeof(n->key));
	mask_key(n->key, len, sizeof(n->key));
	n->len = (uint8_t)len;
	n->is_prefix = is_prefix;
	n->child[0] = n->child[1] = NIL;
	return i;
}

/* Places key/len at *link, splitting the node there when they diverge inside its prefix. */
static void split_at(struct cidr_set *set, uint32_t *link, const uint8_t *key, unsigned len,
		     unsigned common)
{
	uint32_t old = *link;
	if (common == len) {
		/* key/len is a proper prefix of the old node: it becomes its parent. */
		uint32_t m = new_node(set, key, len, true);
		set->nodes[m].child[bit_at(set->nodes[old].key, len)] = old;
		*link = m;
		return;
	}
	uint32_t glue = new_node(set, key, common, false);
	uint32_t leaf = new_node(set, key, len, true);
	set->nodes[glue].child[bit_at(key, common)] = leaf;
	set->nodes[glue].child[bit_at(set->nodes[old].key, common)] = old;
	*link = glue;
}

/* Returns 1 when a new prefix was added, 0 when it was already there. Needs two free nodes. */
static int insert(struct cidr_set *set, uint32_t *root, const uint8_t *key, unsigned len)
{
	uint32_t *link = root;
	while (*link != NIL) {
		struct cidr_node *n = &set->nodes[*link];
		unsigned limit = n->len < len ? n->len : len;
		unsigned common = common_bits(n->key, key, limit);
		if (common < n->len) {
			split_at(set, link, key, len, common);
			return 1;
		}
		if (n->len == len) {
			int added = !n->is_prefix;
			n->is_prefix = true;
			return added;
		}
		link = &n->child[bit_at(key, n->len)];
	}
	*link = new_node(set, key, len, true);
	return 1;
}

int cidr_set_add(struct cidr_set *set, const struct ip_addr *addr, unsigned prefix_len)
{
	BUG_ON(addr->family != IP_V4 && addr->family != IP_V6);
	if (prefix_len > ip_addr_bits(addr) || reserve(set, 2) != 0)
		return -1;
	uint8_t key[16] = {0};
	memcpy(key, addr->bytes, ip_addr_bits(addr) / 8);
	mask_key(key, prefix_len, sizeof(key));
	/* The root link lives in the set, not the node array, so growing the array cannot move
	 * it; reserve() above means no growth happens during the walk anyway. */
	set->count += (unsigned)insert(set, &set->root[addr->family == IP_V6], key, prefix_len);
	return 0;
}

/* The node of the longest prefix covering addr, or NULL. */
static const struct cidr_node *longest(const struct cidr_set *set, const struct ip_addr *addr)
{
	BUG_ON(addr->family != IP_V4 && addr->family != IP_V6);
	unsigned bits = ip_addr_bits(addr);
	const struct cidr_node *best = NULL;
	uint32_t i = set->root[addr->family == IP_V6];
	while (i != NIL) {
		const struct cidr_node *n = &set->nodes[i];
		if (n->len > bits || common_bits(n->key, addr->bytes, n->len) < n->len)
			break;
		if (n->is_prefix)
			best = n;
		if (n->len == bits)
			break;
		i = n->child[bit_at(addr->bytes, n->len)];
	}
	return best;
}

bool cidr_set_match(const struct cidr_set *set, const struct ip_addr *addr,
		    unsigned *matched_prefix_len)
{
	const struct cidr_node *n = longest(set, addr);
	if (n != NULL && matched_prefix_len != NULL)
		*matched_prefix_len = n->len;
	return n != NULL;
}

bool cidr_set_match_text(const struct cidr_set *set, const struct ip_addr *addr, char *out,
			 size_t out_size)
{
	const struct cidr_node *n = longest(set, addr);
	if (n == NULL)
		return false;
	struct ip_addr prefix = {.family = addr->family};
	memcpy(prefix.bytes, n->key, sizeof(prefix.bytes));
	char text[IP_ADDR_TEXT_MAX + 4];
	size_t len = ip_addr_format(&prefix, text);
	text[len++] = '/';
	if (n->len >= 100)
		text[len++] = (char)('0' + n->len / 100);
	if (n->len >= 10)
		text[len++] = (char)('0' + n->len / 10 % 10);
	text[len++] = (char)('0' + n->len % 10);
	/* A short buffer truncates the text but never turns a match into a miss. */
	if (out_size > 0) {
		size_t keep = len < out_size - 1 ? len : out_size - 1;
		memcpy(out, text, keep);
		out[keep] = '\0';
	}
	return true;
}

unsigned cidr_set_count(const struct cidr_set *set)
{
	return set->count;
}
