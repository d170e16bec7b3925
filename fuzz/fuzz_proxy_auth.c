/* Fuzz target for parse/proxy_auth: any header value must either be refused or split into a
 * user and password that lie inside the output buffer and hold no control bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse/proxy_auth.h"

#include "fuzz_check.h"

static void check_inside(struct slice s, const char *buf, size_t size)
{
	CHECK(fuzz_slice_inside(s, buf, size));
	for (size_t i = 0; i < s.len; i++)
		CHECK((unsigned char)s.ptr[i] >= 0x20 && s.ptr[i] != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[PROXY_AUTH_MAX];
	struct slice user, password;
	/* An exact-size copy: a read past the input is caught by ASan. */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (proxy_auth_parse_basic(slice_make(copy, size), out, sizeof(out), &user, &password) ==
	    0) {
		check_inside(user, out, sizeof(out));
		check_inside(password, out, sizeof(out));
		/* The password starts right after the first ':'. */
		CHECK(user.ptr + user.len + 1 == password.ptr);
	}
	free(copy);
	return 0;
}
