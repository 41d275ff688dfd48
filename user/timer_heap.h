/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * timer_heap.h - a binary min-heap of deadlines keyed by slot number: the engine's per-check
 * timers. O(log n) push, remove and update, O(1) peek; one timerfd is armed at the top.
 */
#ifndef __SP_TIMER_HEAP_H
#define __SP_TIMER_HEAP_H

#include <stdbool.h>
#include <linux/types.h>

#define SP_TIMER_NONE ((unsigned int)-1)

struct sp_timer_heap {
	unsigned int *heap; /* slots, ordered by deadline_ns[slot] */
	unsigned int *pos;  /* pos[slot]: index of slot in heap, or SP_TIMER_NONE */
	__u64 *deadline_ns; /* deadline_ns[slot]: CLOCK_MONOTONIC ns */
	unsigned int len;   /* slots in the heap */
	unsigned int cap;   /* slots 0 .. cap-1 can be used */
};

/*
 * sp_timer_heap_reserve - make slots 0 .. @cap-1 usable (grows, never shrinks). Returns 0 or
 * -ENOMEM (the heap is unchanged then). The heap owns its arrays: sp_timer_heap_free().
 */
int sp_timer_heap_reserve(struct sp_timer_heap *h, unsigned int cap);

void sp_timer_heap_free(struct sp_timer_heap *h);

/* sp_timer_heap_set - (re)arm @slot (< cap) for @deadline_ns, whether or not it is armed. */
void sp_timer_heap_set(struct sp_timer_heap *h, unsigned int slot, __u64 deadline_ns);

/* sp_timer_heap_remove - disarm @slot; nothing happens if it is not armed. */
void sp_timer_heap_remove(struct sp_timer_heap *h, unsigned int slot);

/* sp_timer_heap_peek - the earliest deadline and its slot; false if the heap is empty. */
bool sp_timer_heap_peek(const struct sp_timer_heap *h, unsigned int *slot, __u64 *deadline_ns);

#endif
