/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve_state.h - the pure logic of `synprobe serve`: the rise/fall state machine (HAProxy's
 * semantics), the schedule (a min-heap of due times) and the jitter. No I/O, no globals.
 */
#ifndef __SP_SERVE_STATE_H
#define __SP_SERVE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

enum serve_state {
	SERVE_UNKNOWN, /* no verdict yet: neither `rise` successes nor `fall` failures in a row */
	SERVE_UP,
	SERVE_DOWN,
};

/*
 * Health of one check. As HAProxy: a target turns UP after `rise` consecutive successes and
 * DOWN after `fall` consecutive failures; any other result keeps the state. A new check starts
 * UNKNOWN and leaves it by the same rule (UP after `rise` successes, DOWN after `fall` failures).
 */
struct serve_health {
	enum serve_state state;
	__u32 successes; /* consecutive successes, up to `rise` */
	__u32 failures;	 /* consecutive failures, up to `fall` */
};

/* "unknown", "up", "down". */
const char *serve_state_str(enum serve_state state);

/*
 * serve_health_update - feed one result (@success: the port was open) with the check's @rise and
 * @fall (>= 1). Returns true when the state changed; the state before is then in *@old (may be
 * NULL).
 */
bool serve_health_update(struct serve_health *h, bool success, __u32 rise, __u32 fall,
			 enum serve_state *old);

/*
 * serve_health_changing - whether the state is in transition: UNKNOWN, or UP with failures, or
 * DOWN with successes since the last change. The fast interval applies then.
 */
bool serve_health_changing(const struct serve_health *h);

/* A min-heap of (due time in ms, id): what is due next. */
struct serve_heap_entry {
	__u64 due_ms;
	__u32 id;
};

struct serve_heap {
	struct serve_heap_entry *e; /* owned: free with serve_heap_free() */
	size_t len, cap;
};

/* serve_heap_push - add (@due_ms, @id). Returns 0 or -ENOMEM. */
int serve_heap_push(struct serve_heap *h, __u64 due_ms, __u32 id);

/* serve_heap_peek - the earliest entry, or NULL when empty; valid until the next change. */
const struct serve_heap_entry *serve_heap_peek(const struct serve_heap *h);

/* serve_heap_pop - remove the earliest entry into *@out. Returns false when empty. */
bool serve_heap_pop(struct serve_heap *h, struct serve_heap_entry *out);

/* serve_heap_free - free the entries and empty @h. */
void serve_heap_free(struct serve_heap *h);

/*
 * serve_rand - the next number of a xorshift64* generator whose state is *@state (any value but
 * 0; seed it once, e.g. from getrandom()).
 */
__u64 serve_rand(__u64 *state);

/*
 * serve_jitter_ms - a delay in [0, @span_ms) from @state (0 when @span_ms is 0): the first run
 * of a check is put at a random phase of its interval so that many checks do not fire at once.
 */
__u32 serve_jitter_ms(__u64 *state, __u32 span_ms);

/*
 * serve_next_due_ms - when a check that started at @start_ms runs next: @start_ms plus @interval_ms
 * moved by up to +-@interval_ms/20 (at most 1 s) of jitter, but never before @now_ms.
 */
__u64 serve_next_due_ms(__u64 *state, __u64 start_ms, __u32 interval_ms, __u64 now_ms);

#endif
