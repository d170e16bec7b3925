/* hold: the held connection keeps its request head at the front of cin, unparsed, and keeps
 * reading (a client that gives up is seen at once and leaves the queue); once answered, its
 * protocol reads the head again, as if it had just arrived, knowing the outcome. */
#include "io/hold.h"

#include "io/conn.h"
#include "io/worker.h"

bool hold_begin(struct conn *c, const struct pending_request *p, void (*resume)(struct conn *c))
{
	struct conn_request *r = &c->req;
	uint64_t id =
	    approval_store_hold(c->w->approvals, c->w->index, p, c->cfg->approvals.max_pending);

	if (!id) {
		r->hold_outcome = HOLD_BUSY;
		return false;
	}
	r->hold_id = id;
	r->hold_resume = resume;
	conn_set_state(c, CONN_HELD);
	conn_set_timeout(c, c->cfg->approvals.timeout_ms, REASON_APPROVAL_TIMEOUT);
	return true;
}

void hold_on_wake(struct worker *w)
{
	struct conn *next;

	for (struct conn *c = w->conns; c; c = next) {
		next = c->next;
		if (c->state != CONN_HELD)
			continue;
		struct conn_request *r = &c->req;
		enum approval_answer a = approval_store_answer_of(w->approvals, r->hold_id,
								  r->hold_by, sizeof(r->hold_by));
		switch (a) {
		case APPROVAL_WAITING:
			continue;
		case APPROVAL_ONCE:
			conn_resume_held(c, HOLD_ONCE);
			break;
		case APPROVAL_AGENT:
		case APPROVAL_ALL:
			conn_resume_held(c, HOLD_APPROVED);
			break;
		case APPROVAL_DENY:
			conn_resume_held(c, HOLD_DENIED);
			break;
		}
	}
}
