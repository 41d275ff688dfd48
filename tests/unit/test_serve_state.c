// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_serve_state.c - the rise/fall state machine (HAProxy's semantics) from a table of result
 * sequences, the fast-interval rule, the schedule heap and the jitter's bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "serve_state.h"

/*
 * A sequence of results ('+' success, '-' failure) and the state after each one
 * ('?' unknown, 'U' up, 'D' down), with rise and fall.
 */
struct health_case {
	__u32 rise, fall;
	const char *results;
	const char *states;
};

static const struct health_case health_cases[] = {
    /* from unknown: rise successes, or fall failures, in a row */
    {2, 3, "++", "?U"},
    {2, 3, "---", "??D"},
    {2, 3, "+-+-+-", "??????"},
    {2, 3, "+--+", "????"},
    {1, 1, "+-+-", "UDUD"},
    /* UP: only fall failures in a row turn it DOWN; a success resets the count */
    {2, 3, "++--+---", "?UUUUUUD"},
    {2, 3, "++-----", "?UUUDDD"},
    /* DOWN: only rise successes in a row turn it UP */
    {2, 3, "---+-++", "??DDDDU"},
    {3, 2, "--+++", "?DDDU"},
    {3, 2, "--++-+++", "?DDDDDDU"},
    /* a long run does not overflow the counters */
    {2, 2, "++++++++++--", "?UUUUUUUUUUD"},
    {5, 1, "-+++++", "DDDDDU"},
};

static char state_char(enum serve_state s)
{
	return s == SERVE_UP ? 'U' : s == SERVE_DOWN ? 'D' : '?';
}

static void test_health_table(void **state)
{
	const struct health_case *c;
	struct serve_health h;
	enum serve_state before, old;
	bool changed;
	size_t i, j;
	char got[64];

	for (i = 0; i < sizeof(health_cases) / sizeof(health_cases[0]); i++) {
		c = &health_cases[i];
		memset(&h, 0, sizeof(h));
		for (j = 0; c->results[j]; j++) {
			before = h.state;
			old = (enum serve_state) - 1;
			changed =
			    serve_health_update(&h, c->results[j] == '+', c->rise, c->fall, &old);
			got[j] = state_char(h.state);
			if (changed != (h.state != before))
				fail_msg("case %zu step %zu: changed %d but %c -> %c", i, j,
					 changed, state_char(before), got[j]);
			if (changed && old != before)
				fail_msg("case %zu step %zu: old state %d, want %d", i, j, old,
					 before);
		}
		got[j] = '\0';
		if (strcmp(got, c->states))
			fail_msg("case %zu (rise %u fall %u, %s): states %s, want %s", i, c->rise,
				 c->fall, c->results, got, c->states);
	}
}

static void test_unknown_row(void **state)
{
	/* Row "?U" of the table above: the second success gives exactly one change, unknown -> up.
	 */
	struct serve_health h = {};
	enum serve_state old;

	assert_false(serve_health_update(&h, true, 2, 3, &old));
	assert_true(serve_health_update(&h, true, 2, 3, &old));
	assert_int_equal(old, SERVE_UNKNOWN);
	assert_string_equal(serve_state_str(h.state), "up");
	assert_string_equal(serve_state_str(SERVE_DOWN), "down");
	assert_string_equal(serve_state_str(SERVE_UNKNOWN), "unknown");
}

static void test_changing(void **state)
{
	struct serve_health h = {};

	assert_true(serve_health_changing(&h)); /* unknown */
	serve_health_update(&h, true, 1, 3, NULL);
	assert_false(serve_health_changing(&h)); /* up, steady */
	serve_health_update(&h, false, 1, 3, NULL);
	assert_true(serve_health_changing(&h)); /* up with a failure */
	serve_health_update(&h, false, 1, 3, NULL);
	serve_health_update(&h, false, 1, 3, NULL);
	assert_int_equal(h.state, SERVE_DOWN);
	assert_false(serve_health_changing(&h)); /* down, steady */
	h = (struct serve_health){};
	serve_health_update(&h, false, 2, 1, NULL);
	serve_health_update(&h, true, 2, 1, NULL);
	assert_int_equal(h.state, SERVE_DOWN);
	assert_true(serve_health_changing(&h)); /* down with a success */
}

static void test_heap_order(void **state)
{
	static const __u64 due[] = {50, 10, 40, 10, 30, 20, 60, 0, 70, 5};
	struct serve_heap h = {};
	struct serve_heap_entry e;
	__u64 last = 0;
	size_t i, n = 0;

	for (i = 0; i < sizeof(due) / sizeof(due[0]); i++)
		assert_int_equal(serve_heap_push(&h, due[i], (__u32)i), 0);
	assert_int_equal(serve_heap_peek(&h)->due_ms, 0);
	while (serve_heap_pop(&h, &e)) {
		assert_true(e.due_ms >= last);
		assert_int_equal(due[e.id], e.due_ms);
		last = e.due_ms;
		n++;
	}
	assert_int_equal(n, sizeof(due) / sizeof(due[0]));
	assert_null(serve_heap_peek(&h));
	/* many entries: order holds through growth */
	for (i = 0; i < 1000; i++)
		assert_int_equal(serve_heap_push(&h, (i * 7919) % 1000, (__u32)i), 0);
	for (i = 0; i < 1000; i++) {
		assert_true(serve_heap_pop(&h, &e));
		assert_int_equal(e.due_ms, i);
	}
	serve_heap_free(&h);
}

static void test_jitter(void **state)
{
	__u64 rng = 12345, due, min = UINT64_MAX, max = 0;
	__u32 j;
	int i;

	assert_int_equal(serve_jitter_ms(&rng, 0), 0);
	for (i = 0; i < 10000; i++) {
		j = serve_jitter_ms(&rng, 1000);
		assert_true(j < 1000);
		/* next run: 1000 ms interval, +-50 ms */
		due = serve_next_due_ms(&rng, 10000, 1000, 0);
		assert_true(due >= 10950 && due <= 11050);
		min = due < min ? due : min;
		max = due > max ? due : max;
	}
	assert_true(max - min > 80); /* it does spread */
	/* never before now */
	assert_int_equal(serve_next_due_ms(&rng, 10000, 1000, 20000), 20000);
	/* at most 1 s of jitter for long intervals */
	due = serve_next_due_ms(&rng, 0, 3600000, 0);
	assert_true(due >= 3599000 && due <= 3601000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_health_table), cmocka_unit_test(test_unknown_row),
	    cmocka_unit_test(test_changing),	 cmocka_unit_test(test_heap_order),
	    cmocka_unit_test(test_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
