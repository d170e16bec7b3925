/* tls_mint: a leaf is minted outside the lock (an ECDSA signature, tens of microseconds) so that
 * workers minting different names do not queue; the first of two racing mints of one name is
 * kept and the second freed, so a name has one certificate at a time. */
#include "io/tls_mint.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/name_lru.h"

/* RFC 5280 Appendix A: ub-common-name is 64; a longer name is in the SAN only. */
#define TLS_MINT_CN_MAX 64

struct tls_mint {
	const struct tls_ca *ca;
	EVP_PKEY *key;
	pthread_mutex_t lock;
	struct name_lru *cache; /* name -> X509 *, one reference each; under lock */
	unsigned long long minted, hits, evictions;
};

static void tls_mint_drop(void *value)
{
	X509_free(value);
}

struct tls_mint *tls_mint_new(const struct tls_ca *ca, unsigned cache_max, char *err,
			      size_t err_size)
{
	struct tls_mint *m = calloc(1, sizeof(*m));

	if (!m || pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m);
		snprintf(err, err_size, "tls: out of memory");
		return NULL;
	}
	m->ca = ca;
	/* Caches the CA's extensions (its key identifier, read for every leaf's AKI) now, before
	 * threads share the certificate. */
	X509_check_ca(tls_ca_cert(ca));
	m->key = EVP_EC_gen("P-256");
	m->cache = name_lru_new(cache_max);
	if (!m->key || !m->cache) {
		snprintf(err, err_size, "tls: cannot make the leaf key or cache");
		tls_mint_free(m);
		return NULL;
	}
	return m;
}

void tls_mint_free(struct tls_mint *m)
{
	if (!m)
		return;
	name_lru_free(m->cache, tls_mint_drop);
	EVP_PKEY_free(m->key);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

EVP_PKEY *tls_mint_key(const struct tls_mint *m)
{
	return m->key;
}

/* A name a certificate may carry: letters, digits, '-', '_' and '.', or an IP literal. Anything
 * else (a NUL, a comma, a space) is refused here rather than escaped into a SAN. */
static bool tls_mint_name_ok(struct slice name)
{
	if (name.len == 0 || name.len > 253)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		char c = name.ptr[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return false;
	}
	return true;
}

/* RFC 5280 §4.2.1.6: a DNS name as an IA5String, an address as its 4 or 16 octets. */
static bool tls_mint_add_san(X509 *x, const char *name)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen = GENERAL_NAME_new();
	ASN1_OCTET_STRING *ip = a2i_IPADDRESS(name);
	bool ok = false;

	if (!gens || !gen)
		goto out;
	if (ip) {
		GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
		ip = NULL;
	} else if (strchr(name, ':')) {
		goto out; /* neither a host name nor an address */
	} else {
		ASN1_IA5STRING *dns = ASN1_IA5STRING_new();
		if (!dns || !ASN1_STRING_set(dns, name, -1)) {
			ASN1_IA5STRING_free(dns);
			goto out;
		}
		GENERAL_NAME_set0_value(gen, GEN_DNS, dns);
	}
	if (!sk_GENERAL_NAME_push(gens, gen))
		goto out;
	gen = NULL;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) == 1;
out:
	ASN1_OCTET_STRING_free(ip);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return ok;
}

static bool tls_mint_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	bool ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* From an hour ago (clients with a slow clock) to TLS_MINT_VALID_DAYS, inside the CA's own
 * validity: a leaf outlasting its issuer fails verification anyway. */
static bool tls_mint_validity(X509 *x, X509 *ca)
{
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TLS_MINT_VALID_DAYS, 0, NULL))
		return false;
	if (ASN1_TIME_compare(X509_get0_notBefore(x), X509_get0_notBefore(ca)) < 0 &&
	    !X509_set1_notBefore(x, X509_get0_notBefore(ca)))
		return false;
	if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(ca)) > 0 &&
	    !X509_set1_notAfter(x, X509_get0_notAfter(ca)))
		return false;
	return true;
}

static bool tls_mint_serial(X509 *x)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return false;
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x40);
	BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
	bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok;
}

static X509 *tls_mint_make(struct tls_mint *m, const char *name, size_t len)
{
	X509 *ca = tls_ca_cert(m->ca);
	X509 *x = X509_new();
	X509V3_CTX ctx;

	if (!x || !X509_set_version(x, 2) || !tls_mint_serial(x) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca)) || !tls_mint_validity(x, ca) ||
	    !X509_set_pubkey(x, m->key))
		goto fail;
	if (len <= TLS_MINT_CN_MAX &&
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)name, -1, -1, 0))
		goto fail;
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (!tls_mint_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    !tls_mint_add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    !tls_mint_add_ext(x, &ctx, NID_ext_key_usage, "serverAuth") ||
	    !tls_mint_add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    !tls_mint_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always") ||
	    !tls_mint_add_san(x, name) || X509_sign(x, tls_ca_key(m->ca), EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	ERR_clear_error();
	X509_free(x);
	return NULL;
}

/* The cached leaf for name with a reference for the caller, or NULL. Under m->lock. */
static X509 *tls_mint_cached(struct tls_mint *m, struct slice name)
{
	X509 *x = name_lru_get(m->cache, name);

	if (x)
		X509_up_ref(x);
	return x;
}

X509 *tls_mint_get(struct tls_mint *m, struct slice name)
{
	char text[NAME_LRU_KEY_MAX + 1];
	X509 *x, *evicted = NULL;

	if (!tls_mint_name_ok(name))
		return NULL;
	pthread_mutex_lock(&m->lock);
	x = tls_mint_cached(m, name);
	m->hits += x != NULL;
	pthread_mutex_unlock(&m->lock);
	if (x)
		return x;
	memcpy(text, name.ptr, name.len);
	text[name.len] = '\0';
	X509 *fresh = tls_mint_make(m, text, name.len);
	if (!fresh)
		return NULL;
	pthread_mutex_lock(&m->lock);
	m->minted++;
	x = tls_mint_cached(m, name);
	if (!x) {
		void *ev = NULL;
		/* The cache's reference is fresh's own; the caller gets a second one. */
		if (name_lru_put(m->cache, name, fresh, &ev)) {
			X509_up_ref(fresh);
			m->evictions += ev != NULL;
			evicted = ev;
		}
		x = fresh;
		fresh = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	/* Outside the lock; only the cache's reference goes: a caller holding its own keeps it. */
	X509_free(evicted);
	X509_free(fresh);
	return x;
}

void tls_mint_stats(struct tls_mint *m, struct tls_mint_stats *out)
{
	pthread_mutex_lock(&m->lock);
	out->entries = name_lru_count(m->cache);
	out->minted = m->minted;
	out->hits = m->hits;
	out->evictions = m->evictions;
	pthread_mutex_unlock(&m->lock);
}
