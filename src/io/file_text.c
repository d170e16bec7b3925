/* file_text: a whole file read into memory; see file_text.h. */
#include "io/file_text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

char *file_text_read(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	errno = 0;
	for (;;) {
		/* Grows in doubling steps to max + 2: room for one byte past max, which says the
		 * file is too large, and the NUL. */
		if (*len + 1 >= cap) {
			size_t want = cap ? cap * 2 : 8192;
			if (want > max + 2)
				want = max + 2;
			char *grown = want > cap ? realloc(text, want) : NULL;
			if (!grown) {
				free(text);
				fclose(f);
				errno = want > cap ? ENOMEM : EFBIG;
				return NULL;
			}
			text = grown;
			cap = want;
		}
		size_t n = fread(text + *len, 1, cap - *len - 1, f);
		if (n == 0)
			break;
		*len += n;
		if (*len > max) {
			free(text);
			fclose(f);
			errno = EFBIG;
			return NULL;
		}
	}
	/* fread's errno (EISDIR for a directory), kept past fclose. */
	int failed = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (failed) {
		free(text);
		errno = failed;
		return NULL;
	}
	text[*len] = '\0';
	return text;
}
