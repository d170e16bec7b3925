/* fuzz_check: the assertions the fuzz targets share. A failed one aborts, which libFuzzer and
 * the corpus replay (fuzz/replay_main.c) both report with the input that did it.
 * Holds no target's own invariants. */
#ifndef SLUICE_FUZZ_CHECK_H
#define SLUICE_FUZZ_CHECK_H

#include <stddef.h>
#include <stdlib.h>

#include "base/slice.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* The slice is empty or lies wholly inside buf[0..len). */
static inline int fuzz_slice_inside(struct slice s, const char *buf, size_t len)
{
	return s.len == 0 || (s.ptr >= buf && s.len <= len && (size_t)(s.ptr - buf) <= len - s.len);
}

#endif
