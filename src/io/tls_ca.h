/* tls_ca: the deployment's interception CA — generated on first start into tls.state_dir
 * (ca.pem, ca.key; directory 0700, files 0600, written atomically) and loaded on later starts,
 * or loaded from the operator's tls.ca_cert and tls.ca_key. Refuses key material that others
 * can read. Does not mint leaves (io/tls_mint) nor speak TLS. */
#ifndef SLUICE_IO_TLS_CA_H
#define SLUICE_IO_TLS_CA_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>

#include "config/config.h"

struct tls_ca;

/* The CA cfg names (cfg->tls_*), created first when a state_dir holds none. Call before
 * privileges are dropped and seccomp is applied (it reads, and may write, files). Returns NULL
 * with a one-line reason in err. */
struct tls_ca *tls_ca_new(const struct config *cfg, char *err, size_t err_size);
void tls_ca_free(struct tls_ca *ca);

/* Borrowed: valid while ca lives. Read-only, so any thread may use them. */
X509 *tls_ca_cert(const struct tls_ca *ca);
EVP_PKEY *tls_ca_key(const struct tls_ca *ca);
/* The certificate as PEM text (what agents must trust), len bytes, NUL-terminated. */
const char *tls_ca_pem(const struct tls_ca *ca, size_t *len);

#endif
