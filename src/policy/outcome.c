#include "policy/outcome.h"

#include "base/bug.h"

/* Ways an allowed request ends that are not failures: the client went away, a tunnel or a
 * keep-alive connection idled out, a drain closed it. */
static bool outcome_normal_end(enum reason result)
{
	switch (result) {
	case REASON_ALLOWED:
	case REASON_CLIENT_CLOSED:
	case REASON_TUNNEL_IDLE:
	case REASON_CLIENT_IDLE:
	case REASON_SHUTDOWN:
		return true;
	default:
		return false;
	}
}

enum outcome outcome_classify(const struct verdict *v, enum reason result)
{
	if (v->report)
		return OUTCOME_REPORT;
	if (!v->allow && v->reason != REASON_ALLOWED)
		return OUTCOME_DENY;
	return v->allow && outcome_normal_end(result) ? OUTCOME_ALLOW : OUTCOME_ERROR;
}

enum reason outcome_reason(const struct verdict *v, enum reason result)
{
	/* Refused before any decision (a protocol error), or allowed: what ended it. */
	if ((v->allow && !v->report) || (!v->allow && v->reason == REASON_ALLOWED))
		return result;
	return v->reason;
}

const char *outcome_name(enum outcome o)
{
	static const char *const names[OUTCOME__COUNT] = {
	    [OUTCOME_ALLOW] = "allow",
	    [OUTCOME_DENY] = "deny",
	    [OUTCOME_REPORT] = "report",
	    [OUTCOME_ERROR] = "error",
	};
	BUG_ON((unsigned)o >= OUTCOME__COUNT);
	return names[o];
}
