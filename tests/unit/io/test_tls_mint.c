/* Tests src/io/tls_mint.c with a CA made by src/io/tls_ca.c in a temporary state directory:
 * a leaf names its host and verifies with the CA's key; a name keeps its certificate while
 * cached; the cache stays within its bound; a leaf held by a caller outlives its eviction and
 * the mint itself; and threads minting at once each get a sound leaf for the name they asked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/tls_ca.h"
#include "io/tls_mint.h"

static char dir[] = "/tmp/sluice-test-mint-XXXXXX";
static struct config *cfg;
static struct tls_ca *ca;

static int setup(void **state)
{
	char err[512];

	if (!mkdtemp(dir))
		return -1;
	cfg = config_default();
	snprintf(cfg->tls_state_dir, sizeof(cfg->tls_state_dir), "%s/state", dir);
	ca = tls_ca_new(cfg, err, sizeof(err));
	if (!ca)
		fprintf(stderr, "%s\n", err);
	return ca ? 0 : -1;
}

static int teardown(void **state)
{
	char path[600];

	tls_ca_free(ca);
	snprintf(path, sizeof(path), "%s/state/ca.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state/ca.key", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state", dir);
	rmdir(path);
	rmdir(dir);
	config_free(cfg);
	return 0;
}

/* x is signed by the CA and its one DNS SAN is name. */
static bool leaf_ok(X509 *x, const char *name)
{
	if (!x || X509_verify(x, X509_get0_pubkey(tls_ca_cert(ca))) != 1)
		return false;
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool ok = gens && sk_GENERAL_NAME_num(gens) == 1;
	if (ok) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, 0);
		ok = g->type == GEN_DNS &&
		     (size_t)ASN1_STRING_length(g->d.dNSName) == strlen(name) &&
		     memcmp(ASN1_STRING_get0_data(g->d.dNSName), name, strlen(name)) == 0;
	}
	GENERAL_NAMES_free(gens);
	return ok && X509_check_host(x, name, 0, 0, NULL) == 1;
}

static void test_leaf_names_its_host(void **state)
{
	char err[256];
	struct tls_mint *m = tls_mint_new(ca, 4, err, sizeof(err));
	assert_non_null(m);
	X509 *x = tls_mint_get(m, SLICE_LIT("api.example.test"));
	assert_true(leaf_ok(x, "api.example.test"));
	assert_int_equal(X509_check_private_key(x, tls_mint_key(m)), 1);
	X509_free(x);
	assert_null(tls_mint_get(m, SLICE_LIT("a.test\0b")));
	assert_null(tls_mint_get(m, SLICE_LIT("a.test,DNS:b.test")));
	assert_null(tls_mint_get(m, SLICE_LIT("")));
	tls_mint_free(m);
}

static void test_same_name_same_leaf_and_bounded(void **state)
{
	char err[256], name[32];
	struct tls_mint_stats st;
	struct tls_mint *m = tls_mint_new(ca, 3, err, sizeof(err));

	X509 *a1 = tls_mint_get(m, SLICE_LIT("a.test"));
	X509 *a2 = tls_mint_get(m, SLICE_LIT("a.test"));
	assert_ptr_equal(a1, a2);
	X509_free(a2);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%d.test", i);
		X509_free(tls_mint_get(m, slice_from_cstr(name)));
		tls_mint_stats(m, &st);
		assert_true(st.entries <= 3);
	}
	assert_int_equal(st.evictions, 8);
	/* a.test was evicted while a1 was held: a1 is still whole, and a new one is minted. */
	assert_true(leaf_ok(a1, "a.test"));
	X509 *a3 = tls_mint_get(m, SLICE_LIT("a.test"));
	assert_ptr_not_equal(a3, a1);
	tls_mint_free(m);
	/* And both outlive the mint. */
	assert_true(leaf_ok(a1, "a.test"));
	assert_true(leaf_ok(a3, "a.test"));
	X509_free(a1);
	X509_free(a3);
}

#define THREADS 6
#define ROUNDS 300
#define NAMES 24

struct worker_arg {
	struct tls_mint *m;
	unsigned seed;
	int bad;
};

static void *hammer(void *p)
{
	struct worker_arg *w = p;
	char name[32];

	for (int i = 0; i < ROUNDS; i++) {
		snprintf(name, sizeof(name), "h%u.test", (unsigned)rand_r(&w->seed) % NAMES);
		X509 *x = tls_mint_get(w->m, slice_from_cstr(name));
		w->bad += !leaf_ok(x, name);
		X509_free(x);
	}
	return NULL;
}

static void test_threads_mint_at_once(void **state)
{
	char err[256];
	pthread_t t[THREADS];
	struct worker_arg w[THREADS];
	struct tls_mint_stats st;
	struct tls_mint *m = tls_mint_new(ca, 8, err, sizeof(err));

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker_arg){.m = m, .seed = (unsigned)i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].bad, 0);
	}
	tls_mint_stats(m, &st);
	assert_true(st.entries <= 8);
	assert_int_equal(st.hits + st.minted, THREADS * ROUNDS);
	tls_mint_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_leaf_names_its_host),
	    cmocka_unit_test(test_same_name_same_leaf_and_bounded),
	    cmocka_unit_test(test_threads_mint_at_once),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
