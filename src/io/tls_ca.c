/* tls_ca: OpenSSL 3 for the key and certificate; plain POSIX for the files, so that every
 * permission check is on the descriptor actually read (fstat after open, no symlinks). */
#include "io/tls_ca.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A PEM certificate or key is a few KiB; a bundle file is not what these keys take. */
#define TLS_CA_FILE_MAX (256u * 1024)
#define TLS_CA_PATH_MAX (CONFIG_TLS_PATH_MAX + 32)
/* RFC 5280 §4.1.2.5: ten years; leaves are cut to the CA's end (io/tls_mint). */
#define TLS_CA_VALID_DAYS 3652

struct tls_ca {
	X509 *cert;
	EVP_PKEY *key;
	char *pem;
	size_t pem_len;
};

/* ---- files ----------------------------------------------------------------------------- */

/* The key (or the state directory) must be this user's, or root's where the operator gave the
 * file (root-owned material is as trusted as the daemon), and closed to group and others. */
static bool tls_ca_private_ok(const struct stat *st, const char *path, bool root_ok, char *err,
			      size_t err_size)
{
	if (st->st_uid != geteuid() && !(root_ok && st->st_uid == 0)) {
		snprintf(err, err_size,
			 "tls: %s is owned by uid %u, not by uid %u that sluice runs as; chown it",
			 path, (unsigned)st->st_uid, (unsigned)geteuid());
		return false;
	}
	if (st->st_mode & 077) {
		snprintf(err, err_size,
			 "tls: %s is accessible by group or others (mode %04o); chmod %s it", path,
			 (unsigned)(st->st_mode & 07777), S_ISDIR(st->st_mode) ? "700" : "600");
		return false;
	}
	return true;
}

/* Reads path whole into a memory BIO. private: the file holds a key (see tls_ca_private_ok).
 * Returns NULL with err set. */
static BIO *tls_ca_read(const char *path, bool private, bool root_ok, char *err, size_t err_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char *data = NULL;
	BIO *bio = NULL;

	if (fd < 0) {
		snprintf(err, err_size, "tls: cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TLS_CA_FILE_MAX) {
		snprintf(err, err_size, "tls: %s is not a regular file of at most %u bytes", path,
			 TLS_CA_FILE_MAX);
		goto out;
	}
	if (private && !tls_ca_private_ok(&st, path, root_ok, err, err_size))
		goto out;
	data = malloc((size_t)st.st_size + 1);
	ssize_t n = data ? read(fd, data, (size_t)st.st_size) : -1;
	if (n != st.st_size) {
		snprintf(err, err_size, "tls: cannot read %s", path);
		goto out;
	}
	/* BIO_new_mem_buf does not copy: the BIO is built over a copy it then owns. */
	bio = BIO_new(BIO_s_mem());
	if (bio && BIO_write(bio, data, (int)n) != (int)n) {
		BIO_free(bio);
		bio = NULL;
	}
	if (!bio)
		snprintf(err, err_size, "tls: out of memory reading %s", path);
out:
	if (data)
		OPENSSL_cleanse(data, (size_t)st.st_size);
	free(data);
	close(fd);
	return bio;
}

/* Writes data to dir/name through a temporary file renamed into place, so a crash leaves the
 * old file or the new one, never half of one. */
static int tls_ca_write(const char *dir, const char *name, const char *data, size_t len, char *err,
			size_t err_size)
{
	char path[TLS_CA_PATH_MAX], tmp[TLS_CA_PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, err_size, "tls: cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	/* fchmod: the umask may have taken bits from 0600; none may be added back. */
	bool ok = off == len && fchmod(fd, 0600) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, err_size, "tls: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* The rename itself is durable only once the directory is synced. */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- certificates ---------------------------------------------------------------------- */

static bool tls_ca_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	bool ok = ext && X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* RFC 5280 §4.1.2.2: positive, at most 20 octets; 128 random bits leave nothing to guess. */
static bool tls_ca_random_serial(X509 *x)
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return false;
	b[0] &= 0x7f;
	b[0] |= 0x40; /* no leading zero octet: always 16 octets */
	BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
	bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok;
}

static X509 *tls_ca_make_cert(EVP_PKEY *key)
{
	unsigned char r[8];
	char cn[64];
	X509 *x = X509_new();
	X509V3_CTX ctx;

	if (!x || RAND_bytes(r, sizeof(r)) != 1)
		goto fail;
	/* The random part tells two deployments' CAs apart in a trust store listing. */
	int o = snprintf(cn, sizeof(cn), "sluice interception CA ");
	for (size_t i = 0; i < sizeof(r); i++)
		o += snprintf(cn + o, sizeof(cn) - (size_t)o, "%02x", r[i]);
	X509_NAME *name = X509_get_subject_name(x);
	if (!X509_set_version(x, 2) || !tls_ca_random_serial(x) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), TLS_CA_VALID_DAYS, 0, NULL) ||
	    !X509_set_pubkey(x, key))
		goto fail;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	/* pathlen:0 — this CA signs leaves only, never another CA. */
	if (!tls_ca_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !tls_ca_add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !tls_ca_add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    X509_sign(x, key, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* PEM text of the key (PKCS#8) or of the certificate, in a fresh buffer the caller frees. */
static char *tls_ca_to_pem(EVP_PKEY *key, X509 *cert, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL, *data;

	if (!bio)
		return NULL;
	int ok = key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
		     : PEM_write_bio_X509(bio, cert);
	long n = ok ? BIO_get_mem_data(bio, &data) : 0;
	if (n > 0 && (out = malloc((size_t)n + 1)) != NULL) {
		memcpy(out, data, (size_t)n);
		out[n] = '\0';
		*len = (size_t)n;
	}
	BIO_free(bio); /* a memory BIO clears nothing: the key text stays in freed memory only
			  as long as OpenSSL's allocator keeps it */
	return out;
}

/* ---- the two sources ------------------------------------------------------------------- */

static int tls_ca_parse(struct tls_ca *ca, const char *cert_path, const char *key_path,
			bool root_ok, char *err, size_t err_size)
{
	BIO *kb = tls_ca_read(key_path, true, root_ok, err, err_size);
	if (!kb)
		return -1;
	ca->key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	BIO_free(kb);
	if (!ca->key) {
		snprintf(err, err_size,
			 "tls: %s holds no PEM private key (or one with a passphrase)", key_path);
		return -1;
	}
	BIO *cb = tls_ca_read(cert_path, false, root_ok, err, err_size);
	if (!cb)
		return -1;
	ca->cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
	BIO_free(cb);
	if (!ca->cert) {
		snprintf(err, err_size, "tls: %s holds no PEM certificate", cert_path);
		return -1;
	}
	if (X509_check_ca(ca->cert) != 1) {
		snprintf(err, err_size,
			 "tls: %s is not a CA certificate (basicConstraints CA:TRUE)", cert_path);
		return -1;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		snprintf(err, err_size, "tls: %s is not the key of %s", key_path, cert_path);
		return -1;
	}
	return 0;
}

static int tls_ca_generate(struct tls_ca *ca, const char *dir, char *err, size_t err_size)
{
	size_t klen = 0, clen = 0;

	ca->key = EVP_EC_gen("P-256");
	ca->cert = ca->key ? tls_ca_make_cert(ca->key) : NULL;
	char *kpem = ca->cert ? tls_ca_to_pem(ca->key, NULL, &klen) : NULL;
	char *cpem = kpem ? tls_ca_to_pem(NULL, ca->cert, &clen) : NULL;
	int rc = -1;
	if (!cpem)
		snprintf(err, err_size, "tls: cannot generate the CA (OpenSSL: %s)",
			 ERR_reason_error_string(ERR_get_error()));
	/* The key first: a ca.pem on disk always has its key beside it. */
	else if (tls_ca_write(dir, "ca.key", kpem, klen, err, err_size) == 0 &&
		 tls_ca_write(dir, "ca.pem", cpem, clen, err, err_size) == 0)
		rc = 0;
	if (kpem)
		OPENSSL_cleanse(kpem, klen);
	free(kpem);
	free(cpem);
	return rc;
}

/* The state directory: created 0700 when missing, refused when others may enter it (they
 * could swap the files sluice trusts). */
static int tls_ca_state_dir(const char *dir, char *err, size_t err_size)
{
	struct stat st;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, err_size, "tls: cannot create tls.state_dir %s: %s", dir,
			 strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, err_size, "tls: tls.state_dir %s is not a directory", dir);
		return -1;
	}
	return tls_ca_private_ok(&st, dir, false, err, err_size) ? 0 : -1;
}

static int tls_ca_from_state(struct tls_ca *ca, const char *dir, char *err, size_t err_size)
{
	char cert[TLS_CA_PATH_MAX], key[TLS_CA_PATH_MAX];
	struct stat st;

	if (tls_ca_state_dir(dir, err, err_size) != 0)
		return -1;
	snprintf(cert, sizeof(cert), "%s/ca.pem", dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	bool have_key = lstat(key, &st) == 0, have_cert = lstat(cert, &st) == 0;
	if (!have_key && !have_cert)
		return tls_ca_generate(ca, dir, err, err_size);
	if (have_key != have_cert) {
		snprintf(err, err_size,
			 "tls: %s has %s but not %s; restore it, or remove both to make a new CA "
			 "(agents must then trust the new one)",
			 dir, have_key ? "ca.key" : "ca.pem", have_key ? "ca.pem" : "ca.key");
		return -1;
	}
	return tls_ca_parse(ca, cert, key, false, err, err_size);
}

static int tls_ca_keep_pem(struct tls_ca *ca, char *err, size_t err_size)
{
	ca->pem = tls_ca_to_pem(NULL, ca->cert, &ca->pem_len);
	if (ca->pem)
		return 0;
	snprintf(err, err_size, "tls: out of memory");
	return -1;
}

struct tls_ca *tls_ca_new(const struct config *cfg, char *err, size_t err_size)
{
	struct tls_ca *ca = calloc(1, sizeof(*ca));
	int rc;

	if (!ca) {
		snprintf(err, err_size, "tls: out of memory");
		return NULL;
	}
	if (cfg->tls_ca_cert[0])
		rc = tls_ca_parse(ca, cfg->tls_ca_cert, cfg->tls_ca_key, true, err, err_size);
	else
		rc = tls_ca_from_state(ca, cfg->tls_state_dir, err, err_size);
	if (rc != 0 || tls_ca_keep_pem(ca, err, err_size) != 0) {
		tls_ca_free(ca);
		return NULL;
	}
	return ca;
}

void tls_ca_free(struct tls_ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
	free(ca->pem);
	free(ca);
}

X509 *tls_ca_cert(const struct tls_ca *ca)
{
	return ca->cert;
}

EVP_PKEY *tls_ca_key(const struct tls_ca *ca)
{
	return ca->key;
}

const char *tls_ca_pem(const struct tls_ca *ca, size_t *len)
{
	*len = ca->pem_len;
	return ca->pem;
}
