/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * token_bucket.h - the rate limit on new SYNs (--rate): @rate_per_sec tokens a second, at most
 * @burst saved up. Integer arithmetic in nano-tokens: no drift over long runs.
 */
#ifndef __SP_TOKEN_BUCKET_H
#define __SP_TOKEN_BUCKET_H

#include <stdbool.h>
#include <linux/types.h>

struct sp_token_bucket {
	__u64 rate_per_sec; /* 0: unlimited */
	__u64 burst;	    /* tokens that can be saved up, >= 1 */
	__u64 nano_tokens;  /* tokens * 1e9 */
	__u64 last_ns;	    /* CLOCK_MONOTONIC ns of the last refill */
};

/* sp_token_bucket_init - a full bucket at @now_ns. @burst 0 means 1. */
void sp_token_bucket_init(struct sp_token_bucket *tb, __u64 rate_per_sec, __u64 burst,
			  __u64 now_ns);

/* sp_token_bucket_take - take one token at @now_ns; false if there is none (try again later). */
bool sp_token_bucket_take(struct sp_token_bucket *tb, __u64 now_ns);

/* sp_token_bucket_wait_ns - ns from @now_ns until a token is there (0: now). */
__u64 sp_token_bucket_wait_ns(struct sp_token_bucket *tb, __u64 now_ns);

#endif
