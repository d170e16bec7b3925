/* Tests src/policy/scan_hostname.c: names that carry encoded data in a label are flagged (a
 * long label, or a dense wordless run between hyphens), the host names real services use are
 * not, and names under hosts: are left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "policy/domain_set.h"
#include "policy/scan_hostname.h"

static bool flagged(const struct scan_hostnames *h, const char *name, char *why)
{
	return scan_hostname_flagged(h, slice_from_cstr(name), why, 96);
}

static void test_encoded(void **state)
{
	static const char *const names[] = {
	    /* hex of "ghp_a1B2c3D4e5F6g7H8" in one label */
	    "6768705f6131423263334434653546366737483869.x.workers.dev",
	    /* base32, as dnscat and iodine send it */
	    "mfrggzdfmztwq2lknnwg23tpobyxe43uov3ho6dzpi.t.example",
	    /* base64url-ish, split over labels */
	    "z2hwx2exqjjjm0q0ztvgnmc3sdhp.ouowazfmmm0ztjrvnva2.t.example",
	    /* 53 characters of words is still too long a label */
	    "thequickbrownfoxjumpsoverthelazydogandkeepsonrunningx.example",
	    /* a dense run between hyphens */
	    "a-0f3c9b2e71d84a6c5e9f0b1d-b.example",
	};
	struct scan_hostnames h;
	char why[96];
	scan_hostnames_defaults(&h);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		why[0] = '\0';
		assert_true(flagged(&h, names[i], why));
		assert_true(strncmp(why, "label ", 6) == 0);
	}
	assert_true(flagged(&h, names[3], why));
	assert_string_equal(why, "label 1 is 53 characters (max_label 52)");
	assert_true(flagged(&h, "x.6768705f6131423263334434653546366737483869.example", why));
	assert_true(strncmp(why, "label 2 looks encoded (42 characters, ", 38) == 0);
	/* off */
	h.enabled = false;
	assert_false(flagged(&h, names[0], why));
}

static void test_benign(void **state)
{
	static const char *const names[] = {
	    "api.github.com",
	    "objects.githubusercontent.com",
	    "copilot-proxy.githubusercontent.com",
	    "my-load-balancer-1234567890.us-east-1.elb.amazonaws.com",
	    "vpce-0123456789abcdef0-abcdefgh.s3.us-east-1.vpce.amazonaws.com",
	    "123e4567-e89b-12d3-a456-426614174000.example.com",
	    "d111111abcdef8.cloudfront.net",
	    "productionresultssa0.blob.core.windows.net",
	    "objectstorageprodeastus2.blob.core.windows.net",
	    "storage-googleapis-europe-west1.example",
	    "xn--bcher-kva-international.example",
	    "internationalization.example",
	    "thisisaverylongsubdomain.example",
	    "configurationmanagement.example",
	    "project-id-default-rtdb.firebaseio.com",
	    "myapp-h7bgc3ejdzd5c7f3.z01.azurefd.net",
	    "pypi.org",
	    "files.pythonhosted.org",
	    "registry.npmjs.org",
	    "huggingface.co",
	    "cdn-lfs-us-1.hf.co",
	    "generativelanguage.googleapis.com",
	    "bedrock-runtime.us-east-1.amazonaws.com",
	    "a",
	};
	struct scan_hostnames h;
	char why[96];
	scan_hostnames_defaults(&h);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flagged(&h, names[i], why))
			fail_msg("%s flagged: %s", names[i], why);
}

/* The thresholds move the line; hosts: exempts names under it. */
static void test_settings(void **state)
{
	struct scan_hostnames h;
	const char *detail;
	char why[96];
	scan_hostnames_defaults(&h);

	const char *lambda = "abcdefghij0123456789klmnopqrstuv.lambda-url.us-east-1.on.aws";
	assert_true(flagged(&h, lambda, why));
	h.hosts = domain_set_new();
	assert_int_equal(domain_set_add(h.hosts, SLICE_LIT("*.on.aws"), &detail), 0);
	assert_false(flagged(&h, lambda, why));
	scan_hostnames_fini(&h);
	assert_null(h.hosts);

	scan_hostnames_defaults(&h);
	h.max_label = 10;
	assert_true(flagged(&h, "configuration.example", why));
	scan_hostnames_defaults(&h);
	h.entropy_tenths = 50; /* denser than hex can be */
	assert_false(flagged(&h, "6768705f6131423263334434653546366737483869.example", why));
	scan_hostnames_defaults(&h);
	h.min_length = 50;
	assert_false(flagged(&h, "6768705f6131423263334434653546366737483869.example", why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encoded),
	    cmocka_unit_test(test_benign),
	    cmocka_unit_test(test_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
