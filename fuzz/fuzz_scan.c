/* Fuzz target for the scanner wrapper (policy/scan): whatever request head an agent sends,
 * scanning it with the built-in set and a credential's secret never reads outside the head,
 * and a finding always names a pattern and where it was; a secret planted in the head (the
 * credential's, bound for another host) is always found, as it is and base64-encoded; and a
 * head whose every header is redacted says which. Input: a request head (parsed by
 * parse/http1; heads it refuses are skipped). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/http1.h"
#include "policy/credentials.h"
#include "policy/domain_set.h"
#include "policy/scan.h"

#include "fuzz_check.h"

static struct scan_set *fuzz_set(void)
{
	static struct scan_set *set;
	static struct credential cred = {
	    .name = "api", .secret = "fuzz-secret-value", .ready = true};
	static struct credential_list creds = {&cred, 1};
	const char *detail;
	char err[256];

	if (set)
		return set;
	cred.secret_len = strlen(cred.secret);
	cred.hosts = domain_set_new();
	domain_set_add(cred.hosts, SLICE_LIT("api.example"), &detail);
	struct scan_config sc;
	scan_config_defaults(&sc);
	set = scan_set_new(&sc, &creds, err, sizeof(err));
	CHECK(set != NULL);
	return set;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http1_request req;
	static bool redact[HTTP1_MAX_HEADERS_CAP];
	struct scan_finding f;

	if (http1_request_parse((const char *)data, size, HTTP1_MAX_HEADERS_CAP, &req) <= 0)
		return 0;
	struct scan_set *set = fuzz_set();
	if (scan_request_head(set, SLICE_LIT("other.example"), &req, req.target, &f, redact)) {
		CHECK(f.name != NULL && f.name[0] != '\0');
		CHECK(f.where[0] != '\0');
		if (f.action != SCAN_REDACT)
			for (unsigned i = 0; i < req.n_headers; i++)
				CHECK(!redact[i]);
	}
	/* Its target as a host name: a finding is in "host". */
	if (scan_host_name(set, req.target, &f))
		CHECK(strcmp(f.where, "host") == 0 && f.name && f.name[0]);
	/* The same head with the secret in one more field is always caught, in either form. */
	static const struct slice planted[] = {SLICE_LIT("fuzz-secret-value"),
					       SLICE_LIT("ZnV6ei1zZWNyZXQtdmFsdWU=")};
	for (unsigned k = 0; k < 2 && req.n_headers < HTTP1_MAX_HEADERS_CAP; k++) {
		req.headers[req.n_headers++] =
		    (struct http1_header){SLICE_LIT("X-Planted"), planted[k]};
		CHECK(scan_request_head(set, SLICE_LIT("other.example"), &req, req.target, &f,
					redact));
		CHECK(f.action == SCAN_BLOCK);
		req.n_headers--;
	}
	return 0;
}
