/* approvals: the standing answers operators gave to held requests ("this agent may reach this
 * host and port from now on", "every agent may", each until an optional expiry), and the
 * matching policy_decide consults when a name or port rule refuses. Pure: the overlay file
 * they are kept in is read by config/config_approvals and written by io/approval_store. */
#ifndef SLUICE_POLICY_APPROVALS_H
#define SLUICE_POLICY_APPROVALS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/slice.h"
#include "policy/agent.h"

#define APPROVALS_MAX 4096
#define APPROVAL_HOST_MAX 253
#define APPROVAL_BY_MAX 96
#define APPROVAL_ANY_AGENT "*"

struct approval {
	char agent[AGENT_NAME_MAX + 1];	  /* an agent's name, or "*" for every agent */
	char host[APPROVAL_HOST_MAX + 1]; /* normalised (parse/authority), a name or IP text */
	/* 0: the name only (a DNS question's answer): lifts the allow rule, not the ports rule */
	uint16_t port;
	int64_t expires;	      /* Unix seconds; 0 = never */
	int64_t at;		      /* when it was given, Unix seconds */
	char by[APPROVAL_BY_MAX + 1]; /* who gave it ("console 127.0.0.1", "cli") */
};

/* A plain array: copied whole by each worker when it changes (io/approval_store), never shared
 * between threads while in use. */
struct approval_list {
	struct approval *items;
	unsigned n, cap;
};

void approval_list_init(struct approval_list *l);
void approval_list_fini(struct approval_list *l);
/* Replaces dst's items with a copy of src's. Returns 0 or -1 (out of memory; dst unchanged). */
int approval_list_copy(struct approval_list *dst, const struct approval_list *src);
/* Adds a (copied), replacing an approval for the same agent, host and port. Returns 0, or -1
 * when out of memory or APPROVALS_MAX are held. */
int approval_list_put(struct approval_list *l, const struct approval *a);
/* Drops the approvals expired at now. Returns how many were dropped. */
unsigned approval_list_prune(struct approval_list *l, int64_t now);
/* Removes the approval for agent, host and port; false when there was none. */
bool approval_list_remove(struct approval_list *l, const char *agent, struct slice host,
			  uint16_t port);
/* The approval letting agent reach host on port at now: one for the agent or for "*", for
 * that port or (name_only allowed) for port 0. name_only: the question is only whether the
 * name may be reached (a DNS query): an approval for any port answers it. NULL when none. */
const struct approval *approval_list_match(const struct approval_list *l, const char *agent,
					   struct slice host, uint16_t port, bool name_only,
					   int64_t now);

/* An answer's expiry as a duration: digits and one of s, m, h, d ("30m", "8h", "7d"), at most
 * 366 days. False when text is anything else. */
bool approval_parse_expiry(struct slice text, int64_t *secs);

/* What became of a held request, for the protocol that resumes it. */
enum hold_outcome {
	HOLD_NONE,     /* not held (yet): hold it */
	HOLD_ONCE,     /* answered once: this request goes on */
	HOLD_APPROVED, /* a standing approval was made: the policy now lets it through */
	HOLD_DENIED,
	HOLD_TIMEOUT,
	HOLD_BUSY, /* approvals.max_pending requests wait already */
};

/* The log's "approval" field: "once", "approved", "denied", "timeout", "busy"; NULL for
 * HOLD_NONE. */
const char *hold_outcome_name(enum hold_outcome o);
#endif
