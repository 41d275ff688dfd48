// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* token_bucket.c - token bucket in nano-tokens. */
#include "token_bucket.h"

#define NANO 1000000000ULL

void sp_token_bucket_init(struct sp_token_bucket *tb, __u64 rate_per_sec, __u64 burst,
			  __u64 now_ns)
{
	tb->rate_per_sec = rate_per_sec;
	tb->burst = burst ? burst : 1;
	tb->nano_tokens = tb->burst * NANO;
	tb->last_ns = now_ns;
}

static void refill(struct sp_token_bucket *tb, __u64 now_ns)
{
	unsigned __int128 add;
	__u64 cap = tb->burst * NANO;

	if (now_ns <= tb->last_ns)
		return;
	add = (unsigned __int128)(now_ns - tb->last_ns) * tb->rate_per_sec;
	tb->last_ns = now_ns;
	if (add >= cap - tb->nano_tokens)
		tb->nano_tokens = cap;
	else
		tb->nano_tokens += (__u64)add;
}

bool sp_token_bucket_take(struct sp_token_bucket *tb, __u64 now_ns)
{
	if (!tb->rate_per_sec)
		return true;
	refill(tb, now_ns);
	if (tb->nano_tokens < NANO)
		return false;
	tb->nano_tokens -= NANO;
	return true;
}

__u64 sp_token_bucket_wait_ns(struct sp_token_bucket *tb, __u64 now_ns)
{
	if (!tb->rate_per_sec)
		return 0;
	refill(tb, now_ns);
	if (tb->nano_tokens >= NANO)
		return 0;
	/* Rounded up, so that the token is really there after the wait. */
	return (NANO - tb->nano_tokens + tb->rate_per_sec - 1) / tb->rate_per_sec;
}
