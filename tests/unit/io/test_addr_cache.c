/* Tests src/io/addr_cache.c: what is put is got back with the time it has left, until it
 * expires (TTL capped at an hour, TTL 0 never kept); the first answer for a name wins over later
 * ones while it lives (the consistency rule); a flush drops everything and refuses answers from
 * the old servers; the bound holds by evicting the least recently used entry, one at a time,
 * never the whole cache; and threads hammering it at once agree on every name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "io/addr_cache.h"

#define SOURCE 7
#define T0 1000000 /* a monotonic time, in ms */

static struct ip_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct ip_addr ip;
	memset(&ip, 0, sizeof(ip));
	ip.family = IP_V4;
	ip.bytes[0] = a;
	ip.bytes[1] = b;
	ip.bytes[2] = c;
	ip.bytes[3] = d;
	return ip;
}

static void assert_ip(const struct ip_addr *got, const struct ip_addr *want)
{
	assert_true(ip_addr_eq(got, want));
}

static unsigned entries(struct addr_cache *c)
{
	struct addr_cache_stats st;
	addr_cache_stats(c, &st);
	return st.entries;
}

static void test_put_then_get(void **state)
{
	struct addr_cache *c = addr_cache_new(1024, SOURCE);
	struct ip_addr in[2] = {v4(192, 0, 2, 10), v4(198, 51, 100, 10)}, out[16];
	unsigned ttl = 0;

	assert_int_equal(addr_cache_get(c, "a.test", T0, out, 16, &ttl), -1);
	assert_int_equal(addr_cache_put(c, "a.test", in, 2, 60, SOURCE, T0, out, 16), 2);
	assert_ip(&out[0], &in[0]);
	assert_ip(&out[1], &in[1]);
	memset(out, 0, sizeof(out));
	assert_int_equal(addr_cache_get(c, "a.test", T0 + 500, out, 16, &ttl), 2);
	assert_ip(&out[0], &in[0]);
	assert_ip(&out[1], &in[1]);
	assert_int_equal(ttl, 60); /* 59.5 s left, rounded up */
	/* No more than the caller has room for. */
	assert_int_equal(addr_cache_get(c, "a.test", T0, out, 1, NULL), 1);
	/* Names are told apart exactly. */
	assert_int_equal(addr_cache_get(c, "a.tes", T0, out, 16, NULL), -1);
	assert_int_equal(addr_cache_get(c, "b.test", T0, out, 16, NULL), -1);
	assert_int_equal(entries(c), 1);
	addr_cache_free(c);
}

static void test_expiry_and_ttl_cap(void **state)
{
	struct addr_cache *c = addr_cache_new(1024, SOURCE);
	struct ip_addr in = v4(192, 0, 2, 10), out[16];
	unsigned ttl = 0;

	addr_cache_put(c, "short.test", &in, 1, 30, SOURCE, T0, out, 16);
	assert_int_equal(addr_cache_get(c, "short.test", T0 + 29999, out, 16, &ttl), 1);
	assert_int_equal(ttl, 1);
	assert_int_equal(addr_cache_get(c, "short.test", T0 + 30000, out, 16, &ttl), -1);
	assert_int_equal(entries(c), 0); /* an expired entry met is freed */

	/* A day is kept an hour. */
	addr_cache_put(c, "long.test", &in, 1, 86400, SOURCE, T0, out, 16);
	assert_int_equal(addr_cache_get(c, "long.test", T0, out, 16, &ttl), 1);
	assert_int_equal(ttl, ADDR_CACHE_TTL_MAX_S);
	assert_int_equal(addr_cache_get(c, "long.test", T0 + 3600 * 1000, out, 16, NULL), -1);
	addr_cache_free(c);
}

static void test_ttl0_and_empty_answers_are_not_kept(void **state)
{
	struct addr_cache *c = addr_cache_new(1024, SOURCE);
	struct ip_addr in = v4(192, 0, 2, 10), out[16];

	/* RFC 1035 §3.2.1: TTL 0 is used once, then forgotten. */
	assert_int_equal(addr_cache_put(c, "zero.test", &in, 1, 0, SOURCE, T0, out, 16), 1);
	assert_ip(&out[0], &in);
	assert_int_equal(addr_cache_get(c, "zero.test", T0, out, 16, NULL), -1);
	assert_int_equal(addr_cache_put(c, "none.test", &in, 0, 60, SOURCE, T0, out, 16), 0);
	assert_int_equal(addr_cache_get(c, "none.test", T0, out, 16, NULL), -1);
	assert_int_equal(entries(c), 0);
	addr_cache_free(c);
}

static void test_first_answer_wins_while_it_lives(void **state)
{
	struct addr_cache *c = addr_cache_new(1024, SOURCE);
	struct ip_addr a = v4(192, 0, 2, 10), b[2] = {v4(198, 51, 100, 10), v4(198, 51, 100, 11)};
	struct ip_addr out[16];

	addr_cache_put(c, "rot.test", &a, 1, 60, SOURCE, T0, out, 16);
	/* Another worker's later answer says otherwise: it gets the entry's address. */
	assert_int_equal(addr_cache_put(c, "rot.test", b, 2, 300, SOURCE, T0 + 10, out, 16), 1);
	assert_ip(&out[0], &a);
	/* Even an answer with TTL 0, or from servers the cache no longer takes. */
	assert_int_equal(addr_cache_put(c, "rot.test", b, 2, 0, SOURCE, T0 + 20, out, 16), 1);
	assert_ip(&out[0], &a);
	assert_int_equal(addr_cache_put(c, "rot.test", b, 2, 60, SOURCE + 1, T0 + 20, out, 16), 1);
	assert_ip(&out[0], &a);
	/* The entry kept its own deadline: the later answers did not extend it. */
	unsigned ttl = 0;
	assert_int_equal(addr_cache_get(c, "rot.test", T0 + 59000, out, 16, &ttl), 1);
	assert_ip(&out[0], &a);
	assert_int_equal(ttl, 1);
	/* Once it has expired the next answer is the name's. */
	assert_int_equal(addr_cache_put(c, "rot.test", b, 2, 60, SOURCE, T0 + 60000, out, 16), 2);
	assert_ip(&out[0], &b[0]);
	assert_int_equal(addr_cache_get(c, "rot.test", T0 + 60000, out, 16, NULL), 2);
	assert_ip(&out[1], &b[1]);
	addr_cache_free(c);
}

static void test_flush_drops_all_and_refuses_the_old_source(void **state)
{
	struct addr_cache *c = addr_cache_new(1024, SOURCE);
	struct ip_addr a = v4(192, 0, 2, 10), b = v4(198, 51, 100, 10), out[16];
	char name[32];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		addr_cache_put(c, name, &a, 1, 60, SOURCE, T0, out, 16);
	}
	assert_int_equal(entries(c), 100);
	addr_cache_flush(c, SOURCE + 1);
	assert_int_equal(entries(c), 0);
	assert_int_equal(addr_cache_get(c, "n5.test", T0, out, 16, NULL), -1);
	/* A lookup that was asked at the old servers finishes after the flush: handed back to
	 * its caller, not kept. */
	assert_int_equal(addr_cache_put(c, "n5.test", &a, 1, 60, SOURCE, T0, out, 16), 1);
	assert_ip(&out[0], &a);
	assert_int_equal(addr_cache_get(c, "n5.test", T0, out, 16, NULL), -1);
	/* The new servers' answers are kept. */
	addr_cache_put(c, "n5.test", &b, 1, 60, SOURCE + 1, T0, out, 16);
	assert_int_equal(addr_cache_get(c, "n5.test", T0, out, 16, NULL), 1);
	assert_ip(&out[0], &b);
	addr_cache_free(c);
}

static void test_entries_are_sized_to_their_addresses(void **state)
{
	struct addr_cache *c = addr_cache_new(1024, SOURCE);
	struct ip_addr in[16], out[16];
	struct addr_cache_stats one, sixteen;

	for (int i = 0; i < 16; i++)
		in[i] = v4(192, 0, 2, (uint8_t)i);
	addr_cache_put(c, "api.example.com", in, 1, 60, SOURCE, T0, out, 16);
	addr_cache_stats(c, &one);
	addr_cache_put(c, "www.example.com", in, 16, 60, SOURCE, T0, out, 16);
	addr_cache_stats(c, &sixteen);
	/* docs/dns.md: the per-name figures. */
	assert_true(one.bytes <= 80);
	assert_int_equal(sixteen.bytes - one.bytes, one.bytes + 15 * sizeof(struct ip_addr));
	print_message("entry: %zu bytes for 1 address, %zu for 16 (name of 15 bytes)\n", one.bytes,
		      sixteen.bytes - one.bytes);
	addr_cache_flush(c, SOURCE);
	addr_cache_stats(c, &one);
	assert_int_equal(one.bytes, 0);
	addr_cache_free(c);
}

/* Names spread over every shard; one name read after every insert stays (least recently used
 * goes first); the count never drops (one entry evicted per insert, never a flush) nor passes
 * the bound. */
static void test_eviction_is_bounded_and_least_recently_used(void **state)
{
	enum { MAX = 256, NAMES = 5000 };
	struct addr_cache *c = addr_cache_new(MAX, SOURCE);
	struct ip_addr in = v4(192, 0, 2, 10), out[16];
	struct addr_cache_stats st;
	unsigned before = 0;
	char name[32];

	addr_cache_put(c, "hot.test", &in, 1, 600, SOURCE, T0, out, 16);
	for (int i = 0; i < NAMES; i++) {
		snprintf(name, sizeof(name), "cold%d.test", i);
		addr_cache_put(c, name, &in, 1, 600, SOURCE, T0, out, 16);
		assert_int_equal(addr_cache_get(c, "hot.test", T0, out, 16, NULL), 1);
		unsigned now = entries(c);
		assert_true(now >= before);
		assert_true(now <= MAX);
		before = now;
	}
	addr_cache_stats(c, &st);
	assert_true(st.entries > MAX / 2); /* the shards fill about evenly */
	assert_int_equal(st.evictions, NAMES + 1 - st.entries);
	/* The newest cold names are there, the oldest long gone. */
	assert_int_equal(addr_cache_get(c, "cold0.test", T0, out, 16, NULL), -1);
	snprintf(name, sizeof(name), "cold%d.test", NAMES - 1);
	assert_int_equal(addr_cache_get(c, name, T0, out, 16, NULL), 1);
	addr_cache_free(c);
}

/* ---- threads ---------------------------------------------------------------------------- */

enum { THREADS = 4, RACE_NAMES = 2000 };

struct race {
	struct addr_cache *c;
	unsigned id;
	struct ip_addr got[RACE_NAMES]; /* what put handed this thread for each name */
	unsigned bad;			/* cmocka asserts only on the test's own thread */
};

/* Every thread "resolves" every name with an answer of its own (its id in the address), in
 * its own order, at the same time as the others: each must be handed the same address per
 * name, the one the cache holds. */
static void *race_resolve(void *arg)
{
	struct race *r = arg;
	char name[32];

	for (unsigned k = 0; k < RACE_NAMES; k++) {
		unsigned i = (k * 7919 + r->id * 131) % RACE_NAMES;
		struct ip_addr mine = v4(10, (uint8_t)r->id, (uint8_t)(i >> 8), (uint8_t)i);
		snprintf(name, sizeof(name), "race%u.test", i);
		if (addr_cache_put(r->c, name, &mine, 1, 300, SOURCE, T0, &r->got[i], 1) != 1)
			r->bad++;
	}
	return NULL;
}

static void test_threads_agree_on_every_name(void **state)
{
	static struct race races[THREADS];
	pthread_t th[THREADS];
	struct addr_cache *c = addr_cache_new(RACE_NAMES * 2, SOURCE);
	struct ip_addr held;
	char name[32];

	for (unsigned t = 0; t < THREADS; t++) {
		races[t].c = c;
		races[t].id = t + 1;
		assert_int_equal(pthread_create(&th[t], NULL, race_resolve, &races[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(races[t].bad, 0);
	}
	for (unsigned i = 0; i < RACE_NAMES; i++) {
		snprintf(name, sizeof(name), "race%u.test", i);
		assert_int_equal(addr_cache_get(c, name, T0, &held, 1, NULL), 1);
		assert_int_equal(held.bytes[2], (uint8_t)(i >> 8));
		assert_int_equal(held.bytes[3], (uint8_t)i);
		for (unsigned t = 0; t < THREADS; t++)
			assert_ip(&races[t].got[i], &held);
	}
	addr_cache_free(c);
}

struct hammer {
	struct addr_cache *c;
	unsigned id;
	unsigned bad;
};

/* Puts, gets and (thread 0) flushes on a cache far smaller than the names, with time moving:
 * every address got must be one that was put for that name (it encodes the name). */
static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	uint32_t x = 2463534242u ^ h->id;
	char name[32];

	for (unsigned k = 0; k < 200000; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		unsigned i = x % 3000;
		uint64_t now = T0 + k / 16;
		struct ip_addr out[16], in[3] = {v4(10, (uint8_t)(i >> 8), (uint8_t)i, 1),
						 v4(10, (uint8_t)(i >> 8), (uint8_t)i, 2),
						 v4(10, (uint8_t)(i >> 8), (uint8_t)i, 3)};
		snprintf(name, sizeof(name), "h%u.test", i);
		int n;
		if (x & 1)
			n = (int)addr_cache_put(h->c, name, in, 1 + (x >> 8) % 3, (x >> 4) % 5,
						SOURCE, now, out, 16);
		else
			n = addr_cache_get(h->c, name, now, out, 16, NULL);
		for (int j = 0; j < n; j++)
			if (out[j].bytes[1] != (uint8_t)(i >> 8) || out[j].bytes[2] != (uint8_t)i)
				h->bad++;
		if (h->id == 0 && k % 20000 == 0)
			addr_cache_flush(h->c, SOURCE);
	}
	return NULL;
}

static void test_threads_hammering_keep_it_whole(void **state)
{
	static struct hammer hs[THREADS];
	pthread_t th[THREADS];
	struct addr_cache *c = addr_cache_new(512, SOURCE);
	struct addr_cache_stats st;

	for (unsigned t = 0; t < THREADS; t++) {
		hs[t].c = c;
		hs[t].id = t;
		assert_int_equal(pthread_create(&th[t], NULL, hammer_run, &hs[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(hs[t].bad, 0);
	}
	addr_cache_stats(c, &st);
	assert_true(st.entries <= 512);
	addr_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_then_get),
	    cmocka_unit_test(test_expiry_and_ttl_cap),
	    cmocka_unit_test(test_ttl0_and_empty_answers_are_not_kept),
	    cmocka_unit_test(test_first_answer_wins_while_it_lives),
	    cmocka_unit_test(test_flush_drops_all_and_refuses_the_old_source),
	    cmocka_unit_test(test_entries_are_sized_to_their_addresses),
	    cmocka_unit_test(test_eviction_is_bounded_and_least_recently_used),
	    cmocka_unit_test(test_threads_agree_on_every_name),
	    cmocka_unit_test(test_threads_hammering_keep_it_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
