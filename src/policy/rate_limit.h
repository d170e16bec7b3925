/* rate_limit: a token bucket (rate tokens a second, up to burst), in whole milli-tokens so that
 * no fraction is lost and nothing drifts; the caller passes the time. Does not read a clock,
 * and is not shared between threads (each owner keeps its own, or locks). */
#ifndef SLUICE_POLICY_RATE_LIMIT_H
#define SLUICE_POLICY_RATE_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket {
	uint64_t milli;	  /* tokens held, in thousandths: at most burst * 1000 */
	uint64_t max;	  /* burst * 1000 */
	uint64_t last_ms; /* the latest time seen: refills count from here */
	uint32_t rate;	  /* tokens a second = milli-tokens a millisecond; 0 = unlimited */
};

/* A full bucket at now_ms. rate 0 means unlimited (every take succeeds); a burst of 0 with a
 * rate is taken as 1, since a bucket that holds no token would refuse everything. */
void token_bucket_init(struct token_bucket *tb, uint32_t rate_per_s, uint32_t burst,
		       uint64_t now_ms);
/* Refills for the time since the latest time seen, then takes one token: true when there was
 * one. A now_ms before the latest time seen refills nothing and moves nothing back, so a clock
 * that steps back (or two threads' readings out of order) never credits the same time twice. */
bool token_bucket_take(struct token_bucket *tb, uint64_t now_ms);

#endif
