/* BUG_ON: invariants that only a programming error can break.
 * Does not validate input from the network: that is returned as an error, never asserted. */
#ifndef SLUICE_BASE_BUG_H
#define SLUICE_BASE_BUG_H

#include <stdio.h>
#include <stdlib.h>

#define BUG_ON(cond)                                                                               \
	do {                                                                                       \
		if (__builtin_expect(!!(cond), 0)) {                                               \
			fprintf(stderr, "sluice: BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#endif
