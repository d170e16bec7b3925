/* outcome: what became of a finished request, as the log's "decision" and the metrics' label
 * say it: allowed, denied by policy, forwarded in report mode, or failed. Classifies a verdict
 * and the reason the request ended; does not decide anything itself (policy does). */
#ifndef SLUICE_POLICY_OUTCOME_H
#define SLUICE_POLICY_OUTCOME_H

#include "policy/policy.h"

enum outcome {
	OUTCOME_ALLOW,	/* allowed, and it ended normally */
	OUTCOME_DENY,	/* refused by the policy */
	OUTCOME_REPORT, /* report mode: forwarded, though the policy would have refused it */
	OUTCOME_ERROR,	/* not understood, or allowed and then failed */
	OUTCOME__COUNT
};

/* result: what ended the request (REASON_ALLOWED when it completed). */
enum outcome outcome_classify(const struct verdict *v, enum reason result);
/* The reason the log and metrics show: the policy's for a denial or a report, else what ended
 * the request. */
enum reason outcome_reason(const struct verdict *v, enum reason result);
/* "allow", "deny", "report", "error": static storage. */
const char *outcome_name(enum outcome o);

#endif
