#include "daemon/ca_cmd.h"

#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "daemon/config_file.h"
#include "io/tls_ca.h"
#include "io/tls_mint.h"

#define CA_CMD_MINT_MAX 64

static void ca_cmd_usage(FILE *out)
{
	fputs("usage: sluice ca export [-c FILE]\n"
	      "\n"
	      "Prints the certificate (PEM) of the CA that sluice signs intercepted TLS with, for\n"
	      "agent images to trust. With tls.state_dir (default /var/lib/sluice) the CA is made\n"
	      "there first when it holds none. See docs/tls.md.\n",
	      out);
}

/* mint: one leaf per name from one cache, every leaf held until all are minted and then
 * printed in order: a name given twice prints the same certificate while it stays cached
 * (tls.cert_cache), and a leaf evicted meanwhile must still print whole. For tests; not in the
 * usage. */
static int ca_cmd_mint(const struct config *cfg, const struct tls_ca *ca, char **names, int n)
{
	char err[512];
	struct tls_mint *m = tls_mint_new(ca, cfg->tls_cert_cache, err, sizeof(err));
	X509 *leaves[CA_CMD_MINT_MAX] = {0};
	int rc = 0;

	if (!m) {
		fprintf(stderr, "sluice: %s\n", err);
		return 1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		leaves[i] = tls_mint_get(m, slice_from_cstr(names[i]));
		if (!leaves[i]) {
			fprintf(stderr, "sluice: ca mint: cannot mint a certificate for '%s'\n",
				names[i]);
			rc = 1;
		}
	}
	tls_mint_free(m);
	for (int i = 0; i < n; i++) {
		if (rc == 0 && !PEM_write_X509(stdout, leaves[i]))
			rc = 1;
		X509_free(leaves[i]);
	}
	return rc;
}

int ca_cmd_main(int argc, char **argv)
{
	const char *path = NULL;
	char *names[CA_CMD_MINT_MAX];
	int n_names = 0;

	if (argc < 2 || (strcmp(argv[1], "export") != 0 && strcmp(argv[1], "mint") != 0)) {
		ca_cmd_usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	bool mint = strcmp(argv[1], "mint") == 0;
	for (int i = 2; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			path = argv[++i];
		} else if (mint && argv[i][0] != '-' && n_names < CA_CMD_MINT_MAX) {
			names[n_names++] = argv[i];
		} else {
			fprintf(stderr, "sluice: ca: unexpected argument '%s'\n", argv[i]);
			ca_cmd_usage(stderr);
			return 2;
		}
	}
	/* The secrets the config names are not needed to export a certificate. */
	struct config *cfg = path ? config_file_parse(path) : config_default();
	if (!cfg)
		return 1;
	char err[512];
	struct tls_ca *ca = tls_ca_new(cfg, err, sizeof(err));
	int rc = 1;
	if (!ca) {
		fprintf(stderr, "sluice: %s\n", err);
	} else if (mint) {
		rc = ca_cmd_mint(cfg, ca, names, n_names);
	} else {
		size_t len;
		const char *pem = tls_ca_pem(ca, &len);
		rc = fwrite(pem, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : 1;
		if (rc != 0)
			fprintf(stderr, "sluice: ca export: cannot write to stdout\n");
	}
	tls_ca_free(ca);
	config_free(cfg);
	return rc;
}
