#include "daemon/jail_trust.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JAIL_TRUST_SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

int jail_trust_prepare(struct jail_trust *t)
{
	const char *tmp = getenv("TMPDIR");

	memset(t, 0, sizeof(*t));
	if (!tmp || tmp[0] != '/' || strlen(tmp) > JAIL_TRUST_PATH_MAX - 40)
		tmp = "/tmp";
	snprintf(t->dir, sizeof(t->dir), "%s/sluice-jail-XXXXXX", tmp);
	if (!mkdtemp(t->dir)) {
		fprintf(stderr,
			"sluice jail: cannot make a directory for the CA bundle in %s: %s\n", tmp,
			strerror(errno));
		return -1;
	}
	snprintf(t->bundle, sizeof(t->bundle), "%s/ca-bundle.pem", t->dir);
	snprintf(t->ca, sizeof(t->ca), "%s/sluice-ca.pem", t->dir);
	t->made = true;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Appends the file at path to fd; a missing file is no error (a system without a bundle). */
static int copy_file(int fd, const char *path)
{
	char buf[16384];
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? 0 : -1;
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write_all(fd, buf, (size_t)n) != 0) {
			rc = -1;
			break;
		}
	}
	close(in);
	/* A bundle that does not end its last line would glue the next certificate to it. */
	return rc == 0 ? write_all(fd, "\n", 1) : rc;
}

static int write_file(const char *path, const char *base, const char *pem, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = (base ? copy_file(fd, base) : 0) == 0 && write_all(fd, pem, len) == 0 ? 0 : -1;
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

int jail_trust_write(const struct jail_trust *t, const char *ca_pem, size_t len)
{
	const char *base = getenv("SSL_CERT_FILE");

	if (!base || !base[0])
		base = JAIL_TRUST_SYSTEM_BUNDLE;
	if (write_file(t->ca, NULL, ca_pem, len) != 0 ||
	    write_file(t->bundle, base, ca_pem, len) != 0) {
		fprintf(stderr, "sluice jail: cannot write the CA bundle in %s: %s\n", t->dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

void jail_trust_env(const struct jail_trust *t)
{
	static const char *const bundle_vars[] = {
	    "SSL_CERT_FILE",
	    "CURL_CA_BUNDLE",
	    "REQUESTS_CA_BUNDLE",
	    "GIT_SSL_CAINFO",
	    "PIP_CERT",
	    "AWS_CA_BUNDLE",
	    "DENO_CERT",
	    "HTTPLIB2_CA_CERTS",
	    "NIX_SSL_CERT_FILE",
	    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
	    "CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE",
	};
	if (!t->made)
		return;
	for (size_t i = 0; i < sizeof(bundle_vars) / sizeof(bundle_vars[0]); i++)
		setenv(bundle_vars[i], t->bundle, 1);
	setenv("NODE_EXTRA_CA_CERTS", t->ca, 1);
}

void jail_trust_remove(struct jail_trust *t)
{
	if (!t->made)
		return;
	unlink(t->bundle);
	unlink(t->ca);
	rmdir(t->dir);
	t->made = false;
}
