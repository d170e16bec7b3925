/* tls_mint: leaf certificates for the names agents connect to, signed by the deployment CA and
 * kept in a bounded LRU cache (tls.cert_cache). Thread-safe: workers share one. Does not speak
 * TLS nor decide which names are intercepted. */
#ifndef SLUICE_IO_TLS_MINT_H
#define SLUICE_IO_TLS_MINT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/slice.h"
#include "io/tls_ca.h"

/* Leaves live at most this long, and never past the CA's own end. */
#define TLS_MINT_VALID_DAYS 30

struct tls_mint;

/* ca must outlive the mint. cache_max >= 1 leaves are kept. One ECDSA P-256 key is made here
 * and serves every leaf: a leaf's key proves nothing the CA's signature does not already, and
 * reusing it saves a key generation per name. NULL with a reason in err. */
struct tls_mint *tls_mint_new(const struct tls_ca *ca, unsigned cache_max, char *err,
			      size_t err_size);
/* Every leaf handed out stays valid after this (each holds its own reference). */
void tls_mint_free(struct tls_mint *m);

/* The leaf for name (a normalised host name, or an IPv4/IPv6 literal without brackets): subject
 * CN=name (when it fits 64 bytes), SAN DNS:name or IP:name, serverAuth, valid from an hour ago
 * for TLS_MINT_VALID_DAYS. The same name gets the same certificate while it stays cached. The
 * caller owns one reference and X509_free()s it; an entry evicted meanwhile stays valid until
 * then. NULL when name is not a host name or literal, or out of memory. */
X509 *tls_mint_get(struct tls_mint *m, struct slice name);
/* The key of every leaf; borrowed, valid while m lives. */
EVP_PKEY *tls_mint_key(const struct tls_mint *m);

struct tls_mint_stats {
	unsigned entries;
	/* hits: served from the cache; minted: signed (two workers racing for one name both
	 * sign, and one leaf is kept), so hits + minted is every successful get */
	unsigned long long minted, hits, evictions;
};
void tls_mint_stats(struct tls_mint *m, struct tls_mint_stats *out);

#endif
