#include "policy/rate_limit.h"

#define MILLI_PER_TOKEN 1000u

void token_bucket_init(struct token_bucket *tb, uint32_t rate_per_s, uint32_t burst,
		       uint64_t now_ms)
{
	if (burst == 0)
		burst = 1;
	tb->rate = rate_per_s;
	tb->max = (uint64_t)burst * MILLI_PER_TOKEN;
	tb->milli = tb->max;
	tb->last_ms = now_ms;
}

/* rate tokens a second is rate milli-tokens a millisecond: elapsed * rate, exactly. */
static void token_bucket_refill(struct token_bucket *tb, uint64_t now_ms)
{
	uint64_t elapsed, room = tb->max - tb->milli;

	if (now_ms <= tb->last_ms)
		return;
	elapsed = now_ms - tb->last_ms;
	tb->last_ms = now_ms;
	/* Compared by division so that a long idle time cannot overflow the product. */
	if (elapsed >= room / tb->rate + 1)
		tb->milli = tb->max;
	else
		tb->milli += elapsed * tb->rate;
}

bool token_bucket_take(struct token_bucket *tb, uint64_t now_ms)
{
	if (tb->rate == 0)
		return true;
	token_bucket_refill(tb, now_ms);
	if (tb->milli < MILLI_PER_TOKEN)
		return false;
	tb->milli -= MILLI_PER_TOKEN;
	return true;
}
