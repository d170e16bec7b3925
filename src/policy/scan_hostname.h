/* scan_hostname: names that carry data in their labels. An agent that may reach a wildcard
 * (*.workers.dev, *.ngrok.app, a zone whose name server someone else runs) can send a secret
 * out by asking for <encoded secret>.attacker.workers.dev — over DNS, in a CONNECT, in a Host
 * — with no byte of payload. Encoded data makes long labels without the vowels of words; a
 * name is flagged when one of its labels is longer than max_label, or has a run of
 * min_length or more characters between hyphens that is at once dense (Shannon entropy of at
 * least `entropy` bits per character) and wordless (under a third vowels, counting y, where
 * the compound words of real host names have more). Pure: no I/O. */
#ifndef SLUICE_POLICY_SCAN_HOSTNAME_H
#define SLUICE_POLICY_SCAN_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"

#define SCAN_HOSTNAME_MAX_LABEL 52	/* default max_label */
#define SCAN_HOSTNAME_MIN_LENGTH 20	/* default min_length */
#define SCAN_HOSTNAME_ENTROPY_TENTHS 25 /* default entropy: 2.5 bits per character */

struct domain_set;

struct scan_hostnames {
	bool enabled;		  /* default true in a scan: section */
	unsigned max_label;	  /* 1..63 */
	unsigned min_length;	  /* 8..63 */
	unsigned entropy_tenths;  /* 10..60 */
	int action;		  /* enum scan_action */
	bool has_action;	  /* else scan.action */
	struct domain_set *hosts; /* names under which labels may carry data (owned; NULL: none) */
};

void scan_hostnames_defaults(struct scan_hostnames *h);
void scan_hostnames_fini(struct scan_hostnames *h);

/* Whether name (lower case, no trailing dot) is flagged; when it is, why says which label
 * and what about it ("label 1 is 60 characters", "label 1 looks encoded (24 characters,
 * 3.9 bits each)"). Names under h->hosts are not. */
bool scan_hostname_flagged(const struct scan_hostnames *h, struct slice name, char *why,
			   size_t why_size);

#endif
