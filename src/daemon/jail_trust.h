/* jail_trust: what a jailed command trusts when the policy intercepts. sluice answers its
 * intercepted HTTPS with leaves of its own CA, and relays every other tunnel end to end, so the
 * command needs both: a bundle of the system's CAs plus sluice's, in a private directory made
 * before the fork and removed when the jail ends, named by the variables TLS clients read. */
#ifndef SLUICE_DAEMON_JAIL_TRUST_H
#define SLUICE_DAEMON_JAIL_TRUST_H

#include <stdbool.h>
#include <stddef.h>

#define JAIL_TRUST_PATH_MAX 128

struct jail_trust {
	char dir[JAIL_TRUST_PATH_MAX];	       /* mkdtemp'd, mode 0700 */
	char bundle[JAIL_TRUST_PATH_MAX + 16]; /* the system's CAs and sluice's */
	char ca[JAIL_TRUST_PATH_MAX + 16]; /* sluice's alone (NODE_EXTRA_CA_CERTS adds to Node's) */
	bool made;
};

/* Before the fork: the directory. -1 with the reason on stderr. */
int jail_trust_prepare(struct jail_trust *t);
/* The parent, once the CA is loaded: both files. The system bundle is $SSL_CERT_FILE when set,
 * else Debian's (and Alpine's) /etc/ssl/certs/ca-certificates.crt when present. */
int jail_trust_write(const struct jail_trust *t, const char *ca_pem, size_t len);
/* The child, before exec: SSL_CERT_FILE (OpenSSL, Python, Go, Ruby), CURL_CA_BUNDLE,
 * REQUESTS_CA_BUNDLE, GIT_SSL_CAINFO, PIP_CERT, AWS_CA_BUNDLE, DENO_CERT, HTTPLIB2_CA_CERTS,
 * NIX_SSL_CERT_FILE, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH and CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE
 * name the bundle; NODE_EXTRA_CA_CERTS the CA (Node adds it to its own roots). */
void jail_trust_env(const struct jail_trust *t);
/* The parent, once the command has ended. */
void jail_trust_remove(struct jail_trust *t);

#endif
