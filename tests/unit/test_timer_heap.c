// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_timer_heap.c - sp_timer_heap against a brute-force model: random set/remove sequences,
 * the order of peek, re-arming, removing what is not armed, growth, equal deadlines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "timer_heap.h"

#define MODEL_MAX 512

/* The model: which slots are armed, and for when. */
struct model {
	bool armed[MODEL_MAX];
	__u64 deadline[MODEL_MAX];
	unsigned int cap;
};

/* xorshift64*: the same sequence on every run, so a failure can be replayed. */
static __u64 rng_state;

static __u64 rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned int rng_below(unsigned int n)
{
	return (unsigned int)(rng() % n);
}

/*
 * Everything the heap's arrays must say: len is the count of armed slots, heap[] and pos[]
 * are inverse, the heap property holds, every deadline is the model's. Returns the number of
 * problems found (printed).
 */
static unsigned int heap_consistent(const struct sp_timer_heap *h, const struct model *m)
{
	unsigned int i, slot, armed = 0, bad = 0;

	for (slot = 0; slot < m->cap; slot++) {
		if (!m->armed[slot]) {
			if (h->pos[slot] != SP_TIMER_NONE) {
				print_error("# slot %u not armed but pos %u\n", slot, h->pos[slot]);
				bad++;
			}
			continue;
		}
		armed++;
		if (h->pos[slot] >= h->len || h->heap[h->pos[slot]] != slot) {
			print_error("# slot %u armed but pos %u (len %u)\n", slot, h->pos[slot], h->len);
			bad++;
			continue;
		}
		if (h->deadline_ns[slot] != m->deadline[slot]) {
			print_error("# slot %u deadline %llu, expected %llu\n", slot,
				    (unsigned long long)h->deadline_ns[slot],
				    (unsigned long long)m->deadline[slot]);
			bad++;
		}
	}
	if (h->len != armed) {
		print_error("# len %u, %u slots armed\n", h->len, armed);
		bad++;
	}
	for (i = 1; i < h->len && i < m->cap; i++) {
		if (h->deadline_ns[h->heap[(i - 1) / 2]] > h->deadline_ns[h->heap[i]]) {
			print_error("# heap property broken at index %u\n", i);
			bad++;
		}
	}
	return bad;
}

/* peek must give the earliest deadline, and a slot that is armed for it. */
static unsigned int peek_matches(const struct sp_timer_heap *h, const struct model *m)
{
	unsigned int slot, i, found = 0;
	__u64 deadline, min = UINT64_MAX;
	bool any = false, got;

	for (i = 0; i < m->cap; i++) {
		if (m->armed[i] && (!any || m->deadline[i] < min)) {
			min = m->deadline[i];
			any = true;
		}
	}
	slot = 12345;
	deadline = 67890;
	got = sp_timer_heap_peek(h, &slot, &deadline);
	if (got != any) {
		print_error("# peek returned %d with %s armed\n", got, any ? "slots" : "nothing");
		return 1;
	}
	if (!any)
		return 0;
	if (deadline != min) {
		print_error("# peek: deadline %llu, earliest is %llu\n", (unsigned long long)deadline,
			    (unsigned long long)min);
		found++;
	}
	if (slot >= m->cap || !m->armed[slot] || m->deadline[slot] != min) {
		print_error("# peek: slot %u is not armed for the earliest deadline\n", slot);
		found++;
	}
	return found;
}

static void model_init(struct sp_timer_heap *h, struct model *m, unsigned int cap)
{
	memset(h, 0, sizeof(*h));
	memset(m, 0, sizeof(*m));
	m->cap = cap;
	assert_int_equal(sp_timer_heap_reserve(h, cap), 0);
	assert_true(h->cap >= cap);
}

static void do_set(struct sp_timer_heap *h, struct model *m, unsigned int slot, __u64 deadline)
{
	sp_timer_heap_set(h, slot, deadline);
	m->armed[slot] = true;
	m->deadline[slot] = deadline;
}

static void do_remove(struct sp_timer_heap *h, struct model *m, unsigned int slot)
{
	sp_timer_heap_remove(h, slot);
	m->armed[slot] = false;
}

/*
 * Random operations against the model, checked after every one. Deadlines come from a small
 * range in some rounds (many ties) and from the whole __u64 range in others.
 */
static void test_random_against_model(void **state)
{
	static const unsigned int caps[] = { 1, 2, 3, 7, 64, 300, MODEL_MAX };
	static const __u64 ranges[] = { 4, 1000, 0 /* full range */ };
	struct sp_timer_heap h;
	struct model m;
	unsigned int c, r, op, slot, bad = 0;
	__u64 deadline;

	rng_state = 0x9e3779b97f4a7c15ULL;
	for (c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		for (r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
			model_init(&h, &m, caps[c]);
			for (op = 0; op < 4000 && !bad; op++) {
				slot = rng_below(m.cap);
				deadline = ranges[r] ? rng() % ranges[r] : rng();
				switch (rng_below(10)) {
				case 0 ... 4: /* set: arm, or re-arm an armed slot */
					do_set(&h, &m, slot, deadline);
					break;
				case 5 ... 7: /* remove, armed or not */
					do_remove(&h, &m, slot);
					break;
				case 8: /* the engine's pattern: expire the earliest */
					if (sp_timer_heap_peek(&h, &slot, &deadline))
						do_remove(&h, &m, slot);
					break;
				case 9: /* re-arm the earliest later (close_delay after a reply) */
					if (sp_timer_heap_peek(&h, &slot, &deadline))
						do_set(&h, &m, slot, deadline + rng_below(100));
					break;
				}
				bad += heap_consistent(&h, &m);
				bad += peek_matches(&h, &m);
				if (bad)
					print_error("# cap %u, range %llu: wrong after operation %u\n",
						    caps[c], (unsigned long long)ranges[r], op);
			}
			sp_timer_heap_free(&h);
		}
	}
	assert_int_equal(bad, 0);
}

/* Taking the earliest until empty yields every armed slot once, deadlines never decreasing. */
static void test_peek_order(void **state)
{
	struct sp_timer_heap h;
	struct model m;
	bool seen[MODEL_MAX] = {};
	unsigned int i, slot, n = 0, armed = 0, bad = 0;
	__u64 deadline, last = 0;

	rng_state = 42;
	model_init(&h, &m, MODEL_MAX);
	for (i = 0; i < MODEL_MAX; i++) {
		if (rng_below(4) == 0)
			continue; /* some slots stay unarmed */
		do_set(&h, &m, i, rng() % 100000);
		armed++;
	}
	while (sp_timer_heap_peek(&h, &slot, &deadline)) {
		if (deadline < last || seen[slot] || !m.armed[slot] || m.deadline[slot] != deadline) {
			print_error("# pop %u: slot %u deadline %llu after %llu\n", n, slot,
				    (unsigned long long)deadline, (unsigned long long)last);
			bad++;
			break;
		}
		seen[slot] = true;
		last = deadline;
		do_remove(&h, &m, slot);
		n++;
	}
	assert_int_equal(bad, 0);
	assert_int_equal(n, armed);
	assert_int_equal(h.len, 0);
	sp_timer_heap_free(&h);
}

/* set on an armed slot moves it, earlier or later; it is never in the heap twice. */
static void test_rearm_armed_slot(void **state)
{
	struct sp_timer_heap h;
	struct model m;
	unsigned int slot;
	__u64 deadline;

	model_init(&h, &m, 8);
	do_set(&h, &m, 0, 100);
	do_set(&h, &m, 1, 200);
	do_set(&h, &m, 2, 300);

	/* later than every other: slot 1 comes first now */
	do_set(&h, &m, 0, 1000);
	assert_int_equal(h.len, 3);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, 1);
	assert_int_equal(deadline, 200);

	/* earlier than every other */
	do_set(&h, &m, 2, 50);
	assert_int_equal(h.len, 3);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, 2);
	assert_int_equal(deadline, 50);

	/* the same deadline again */
	do_set(&h, &m, 2, 50);
	assert_int_equal(h.len, 3);
	assert_int_equal(heap_consistent(&h, &m), 0);

	/* the one in front, re-armed behind: order 1, 0, 2 */
	do_set(&h, &m, 2, 5000);
	assert_int_equal(heap_consistent(&h, &m), 0);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, 1);
	do_remove(&h, &m, 1);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, 0);
	assert_int_equal(deadline, 1000);
	do_remove(&h, &m, 0);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, 2);
	assert_int_equal(deadline, 5000);
	do_remove(&h, &m, 2);
	assert_false(sp_timer_heap_peek(&h, &slot, &deadline));
	sp_timer_heap_free(&h);
}

/* remove of a slot that is not armed (never, or no more) changes nothing. */
static void test_remove_unarmed_slot(void **state)
{
	struct sp_timer_heap h;
	struct model m;
	unsigned int heap_before[8], slot;
	__u64 deadline;

	model_init(&h, &m, 8);
	/* on an empty heap */
	do_remove(&h, &m, 3);
	assert_int_equal(h.len, 0);
	assert_false(sp_timer_heap_peek(&h, &slot, &deadline));

	do_set(&h, &m, 1, 10);
	do_set(&h, &m, 4, 5);
	do_set(&h, &m, 6, 7);
	memcpy(heap_before, h.heap, h.len * sizeof(*h.heap));
	do_remove(&h, &m, 0);  /* never armed */
	do_remove(&h, &m, 7);  /* the last slot, never armed */
	assert_int_equal(h.len, 3);
	assert_memory_equal(h.heap, heap_before, 3 * sizeof(*h.heap));
	assert_int_equal(heap_consistent(&h, &m), 0);

	/* removed twice: the second time is a no-op, the others stay */
	do_remove(&h, &m, 4);
	do_remove(&h, &m, 4);
	assert_int_equal(h.len, 2);
	assert_int_equal(heap_consistent(&h, &m), 0);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, 6);
	assert_int_equal(deadline, 7);
	sp_timer_heap_free(&h);
}

/* Growth keeps every armed slot and its deadline; new slots start unarmed; no shrinking. */
static void test_reserve_growth_keeps_content(void **state)
{
	struct sp_timer_heap h;
	struct model m;
	unsigned int i, cap, slot;
	__u64 deadline;

	rng_state = 7;
	model_init(&h, &m, 2);
	for (cap = 2; cap <= MODEL_MAX; cap *= 2) {
		assert_int_equal(sp_timer_heap_reserve(&h, cap), 0);
		assert_int_equal(h.cap, cap);
		m.cap = cap;
		/* the new half: unarmed */
		for (i = cap / 2; i < cap; i++)
			assert_int_equal(h.pos[i], SP_TIMER_NONE);
		assert_int_equal(heap_consistent(&h, &m), 0);
		/* arm some of the old and the new slots */
		for (i = 0; i < cap; i += 1 + rng_below(3))
			do_set(&h, &m, i, rng() % 1000);
		assert_int_equal(heap_consistent(&h, &m), 0);
		assert_int_equal(peek_matches(&h, &m), 0);
	}
	/* smaller or equal: nothing changes */
	assert_int_equal(sp_timer_heap_reserve(&h, 1), 0);
	assert_int_equal(sp_timer_heap_reserve(&h, MODEL_MAX), 0);
	assert_int_equal(h.cap, MODEL_MAX);
	assert_int_equal(heap_consistent(&h, &m), 0);
	/* and the content still comes out in order */
	while (sp_timer_heap_peek(&h, &slot, &deadline)) {
		assert_true(m.armed[slot]);
		assert_int_equal(m.deadline[slot], deadline);
		do_remove(&h, &m, slot);
		assert_int_equal(heap_consistent(&h, &m), 0);
	}
	sp_timer_heap_free(&h);
	assert_null(h.heap);
	assert_int_equal(h.cap, 0);
	assert_int_equal(h.len, 0);
}

/* Many slots on one deadline (a burst of checks started in the same ns), then extremes. */
static void test_many_equal_deadlines(void **state)
{
	struct sp_timer_heap h;
	struct model m;
	unsigned int order[MODEL_MAX], i, j, tmp, slot, n = 0;
	__u64 deadline;

	rng_state = 99;
	model_init(&h, &m, MODEL_MAX);
	for (i = 0; i < MODEL_MAX; i++)
		do_set(&h, &m, i, 777);
	assert_int_equal(heap_consistent(&h, &m), 0);
	/* remove in a random order: the top is always some armed slot at 777 */
	for (i = 0; i < MODEL_MAX; i++)
		order[i] = i;
	for (i = MODEL_MAX - 1; i > 0; i--) {
		j = rng_below(i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < MODEL_MAX / 2; i++) {
		do_remove(&h, &m, order[i]);
		assert_int_equal(peek_matches(&h, &m), 0);
	}
	assert_int_equal(heap_consistent(&h, &m), 0);
	/* one of them earlier, then the extremes of __u64 */
	do_set(&h, &m, order[MODEL_MAX - 1], 776);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, order[MODEL_MAX - 1]);
	do_set(&h, &m, order[MODEL_MAX - 2], UINT64_MAX);
	do_set(&h, &m, order[MODEL_MAX - 3], 0);
	assert_true(sp_timer_heap_peek(&h, &slot, &deadline));
	assert_int_equal(slot, order[MODEL_MAX - 3]);
	assert_int_equal(deadline, 0);
	assert_int_equal(heap_consistent(&h, &m), 0);
	/* everything out: 0, 776, 777 x (the rest), UINT64_MAX */
	while (sp_timer_heap_peek(&h, &slot, &deadline)) {
		if (n == 0)
			assert_int_equal(deadline, 0);
		else if (n == 1)
			assert_int_equal(deadline, 776);
		else if (h.len == 1)
			assert_true(deadline == UINT64_MAX);
		else
			assert_int_equal(deadline, 777);
		do_remove(&h, &m, slot);
		n++;
	}
	assert_int_equal(n, MODEL_MAX / 2);
	sp_timer_heap_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_peek_order),
		cmocka_unit_test(test_rearm_armed_slot),
		cmocka_unit_test(test_remove_unarmed_slot),
		cmocka_unit_test(test_reserve_growth_keeps_content),
		cmocka_unit_test(test_many_equal_deadlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
