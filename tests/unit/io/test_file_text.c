/* Tests src/io/file_text.c: a file comes back whole and NUL-terminated whatever its size up to
 * the limit (across the reader's growth steps); one byte past the limit is EFBIG, not a
 * truncated read; a missing file says ENOENT (callers treat it as "none yet") and a directory
 * says EISDIR, so that errors name the real cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/file_text.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sluice-file-text-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/f", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

/* A file of n bytes, byte i being 'a' + i % 26. */
static void write_file(size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), f);
	assert_int_equal(fclose(f), 0);
}

static void reads_whole_files_up_to_the_limit(void **state)
{
	(void)state;
	const size_t sizes[] = {0, 1, 8190, 8191, 8192, 100000, 1u << 20};
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		write_file(sizes[k]);
		size_t len = 99;
		char *text = file_text_read(path, 1u << 20, &len);
		assert_non_null(text);
		assert_int_equal(len, sizes[k]);
		assert_int_equal(text[len], '\0');
		for (size_t i = 0; i < len; i++)
			if (text[i] != 'a' + (int)(i % 26))
				fail_msg("byte %zu of a %zu-byte file is wrong", i, len);
		free(text);
	}
}

static void one_byte_past_the_limit_is_too_large(void **state)
{
	(void)state;
	size_t len;
	write_file(4097);
	errno = 0;
	assert_null(file_text_read(path, 4096, &len));
	assert_int_equal(errno, EFBIG);
	write_file(4096);
	char *text = file_text_read(path, 4096, &len);
	assert_non_null(text);
	assert_int_equal(len, 4096);
	free(text);
}

static void missing_and_directory_say_why(void **state)
{
	(void)state;
	size_t len;
	unlink(path);
	assert_null(file_text_read(path, 4096, &len));
	assert_int_equal(errno, ENOENT);
	assert_null(file_text_read(dir, 4096, &len));
	assert_int_equal(errno, EISDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_whole_files_up_to_the_limit),
	    cmocka_unit_test(one_byte_past_the_limit_is_too_large),
	    cmocka_unit_test(missing_and_directory_say_why),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
