#include "policy/scan_hostname.h"

#include <math.h>
#include <stdio.h>

#include "policy/domain_set.h"
#include "policy/scan.h"

void scan_hostnames_defaults(struct scan_hostnames *h)
{
	*h = (struct scan_hostnames){
	    .enabled = true,
	    .max_label = SCAN_HOSTNAME_MAX_LABEL,
	    .min_length = SCAN_HOSTNAME_MIN_LENGTH,
	    .entropy_tenths = SCAN_HOSTNAME_ENTROPY_TENTHS,
	    .action = SCAN_BLOCK,
	};
}

void scan_hostnames_fini(struct scan_hostnames *h)
{
	domain_set_free(h->hosts);
	h->hosts = NULL;
}

/* Shannon entropy of s in bits per character. */
static double run_entropy(struct slice s)
{
	unsigned counts[256] = {0};
	double h = 0;

	for (size_t i = 0; i < s.len; i++)
		counts[(unsigned char)s.ptr[i]]++;
	for (unsigned c = 0; c < 256; c++) {
		if (!counts[c])
			continue;
		double p = (double)counts[c] / (double)s.len;
		h -= p * log2(p);
	}
	return h;
}

static unsigned run_vowels(struct slice s)
{
	unsigned n = 0;
	for (size_t i = 0; i < s.len; i++)
		n += s.ptr[i] == 'a' || s.ptr[i] == 'e' || s.ptr[i] == 'i' || s.ptr[i] == 'o' ||
		     s.ptr[i] == 'u' || s.ptr[i] == 'y';
	return n;
}

/* A run between hyphens that looks like encoded data rather than words. */
static bool run_encoded(const struct scan_hostnames *h, struct slice run, double *bits)
{
	if (run.len < h->min_length)
		return false;
	*bits = run_entropy(run);
	return *bits * 10 >= h->entropy_tenths && run_vowels(run) * 3 < run.len;
}

static bool label_flagged(const struct scan_hostnames *h, struct slice label, unsigned at,
			  char *why, size_t why_size)
{
	if (label.len > h->max_label) {
		snprintf(why, why_size, "label %u is %zu characters (max_label %u)", at, label.len,
			 h->max_label);
		return true;
	}
	for (size_t i = 0; i < label.len;) {
		size_t j = i;
		while (j < label.len && label.ptr[j] != '-')
			j++;
		double bits;
		if (run_encoded(h, slice_make(label.ptr + i, j - i), &bits)) {
			snprintf(why, why_size,
				 "label %u looks encoded (%zu characters, %.1f bits each)", at,
				 j - i, bits);
			return true;
		}
		i = j + 1;
	}
	return false;
}

bool scan_hostname_flagged(const struct scan_hostnames *h, struct slice name, char *why,
			   size_t why_size)
{
	if (!h->enabled || name.len == 0)
		return false;
	if (h->hosts && domain_set_match(h->hosts, name))
		return false;
	unsigned at = 1;
	for (size_t i = 0; i < name.len; at++) {
		size_t j = i;
		while (j < name.len && name.ptr[j] != '.')
			j++;
		if (label_flagged(h, slice_make(name.ptr + i, j - i), at, why, why_size))
			return true;
		i = j + 1;
	}
	return false;
}
