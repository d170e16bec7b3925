#include "daemon/tls_setup.h"

#include <stdio.h>
#include <string.h>

#include "io/tls_ca.h"
#include "io/tls_mint.h"
#include "io/tls_session.h"

int tls_setup_new(const struct config *cfg, struct tls_setup *t, const char *who)
{
	char err[512];

	memset(t, 0, sizeof(*t));
	if (!cfg->has_tls)
		return 0;
	t->ca = tls_ca_new(cfg, err, sizeof(err));
	if (t->ca)
		t->mint = tls_mint_new(t->ca, cfg->tls_cert_cache, err, sizeof(err));
	if (t->mint)
		t->server = tls_server_context_new(err, sizeof(err));
	if (!t->server) {
		fprintf(stderr, "%s: %s\n", who, err);
		tls_setup_free(t);
		return -1;
	}
	return 0;
}

void tls_setup_free(struct tls_setup *t)
{
	tls_server_context_free(t->server);
	tls_mint_free(t->mint);
	tls_ca_free(t->ca);
	memset(t, 0, sizeof(*t));
}
