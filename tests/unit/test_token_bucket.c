// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_token_bucket.c - sp_token_bucket: no limit, the burst, exact refill (also at rates that
 * do not divide 1e9), wait_ns to the nanosecond, huge elapsed times, time going backwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "token_bucket.h"

#define NANO 1000000000ULL
#define T0 1000000000000ULL /* an arbitrary CLOCK_MONOTONIC start: 1000 s */

/* Rates of the tests: some divide 1e9, most do not; the last is the most the engine takes. */
static const __u64 rates[] = { 1, 2, 3, 7, 13, 999, 1000, 2000, 3333, 65537, 999999937,
			       NANO, 3 * NANO + 1, UINT32_MAX };

/* Takes every token there is at @now; returns how many. */
static __u64 drain(struct sp_token_bucket *tb, __u64 now)
{
	__u64 n = 0;

	while (sp_token_bucket_take(tb, now))
		n++;
	return n;
}

static __u64 rng_state;

static __u64 rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* Rate 0 is no limit: every take succeeds, at any time, and there is never a wait. */
static void test_unlimited_always_takes(void **state)
{
	struct sp_token_bucket tb;
	unsigned int i;

	sp_token_bucket_init(&tb, 0, 0, T0);
	for (i = 0; i < 100000; i++)
		assert_true(sp_token_bucket_take(&tb, T0));
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0), 0);
	assert_true(sp_token_bucket_take(&tb, 0)); /* before the start */
	assert_true(sp_token_bucket_take(&tb, UINT64_MAX));
	assert_int_equal(sp_token_bucket_wait_ns(&tb, 0), 0);
}

/* A fresh bucket holds exactly @burst tokens (burst 0 means 1), and no more at the same ns. */
static void test_full_bucket_gives_burst(void **state)
{
	static const __u64 bursts[] = { 0, 1, 2, 21, 1000, 65536 };
	size_t r, b;
	unsigned int bad = 0;

	for (r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		for (b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
			struct sp_token_bucket tb;
			__u64 expect = bursts[b] ? bursts[b] : 1, got;

			sp_token_bucket_init(&tb, rates[r], bursts[b], T0);
			got = drain(&tb, T0);
			if (got != expect) {
				print_error("# rate %llu burst %llu: %llu tokens at once\n",
					    (unsigned long long)rates[r],
					    (unsigned long long)bursts[b], (unsigned long long)got);
				bad++;
			}
			if (sp_token_bucket_wait_ns(&tb, T0) == 0) {
				print_error("# rate %llu burst %llu: empty, yet no wait\n",
					    (unsigned long long)rates[r],
					    (unsigned long long)bursts[b]);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* A bucket that is full or nearly full saves no more than @burst, however long it waits. */
static void test_full_bucket_saves_no_more(void **state)
{
	struct sp_token_bucket tb;

	/* full from the start: 10 ms at 1000/s would be 10 tokens more */
	sp_token_bucket_init(&tb, 1000, 5, T0);
	assert_int_equal(drain(&tb, T0 + 10000000), 5);
	/* full, then asked at several times: still 5 */
	sp_token_bucket_init(&tb, 1000, 5, T0);
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0 + 1000000), 0);
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0 + 2000000), 0);
	assert_int_equal(drain(&tb, T0 + 3000000), 5);
	/* one token short, then 3 tokens' worth of time: back to 5, not 7 */
	sp_token_bucket_init(&tb, 1000, 5, T0);
	assert_true(sp_token_bucket_take(&tb, T0));
	assert_int_equal(drain(&tb, T0 + 3000000), 5);
	/* half a token short, then one token's worth: 5, and the next is a whole ms away */
	sp_token_bucket_init(&tb, 1000, 5, T0);
	assert_true(sp_token_bucket_take(&tb, T0));
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0 + 500000), 0);
	assert_int_equal(drain(&tb, T0 + 1500000), 5);
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0 + 1500000), 1000000);
}

/* The engine's own bucket: rate 2000, burst 2000/100 + 1 = 21. */
static void test_engine_bucket(void **state)
{
	struct sp_token_bucket tb;
	__u64 t;

	sp_token_bucket_init(&tb, 2000, 2000 / 100 + 1, T0);
	assert_int_equal(drain(&tb, T0), 21);
	/* one token every 500 us, exactly */
	for (t = T0 + 500000; t <= T0 + NANO; t += 500000) {
		assert_false(sp_token_bucket_take(&tb, t - 1));
		assert_true(sp_token_bucket_take(&tb, t));
		assert_false(sp_token_bucket_take(&tb, t));
	}
	/* after 1 s of the empty bucket: 2000 tokens spent, the burst never exceeded */
	assert_int_equal(drain(&tb, T0 + 100 * NANO), 21);
}

/*
 * Exact refill: taking greedily at random times, the tokens taken by time T are burst +
 * floor((T - T0) * rate / 1e9), to the token, for rates that do not divide 1e9 as well. The
 * steps are kept short enough that the bucket never fills (a full bucket drops the rest).
 */
static void test_refill_exact(void **state)
{
	const __u64 burst = 1000;
	size_t r;
	unsigned int step, bad = 0;

	rng_state = 0x123456789abcdefULL;
	for (r = 0; r < sizeof(rates) / sizeof(rates[0]) && !bad; r++) {
		struct sp_token_bucket tb;
		__u64 rate = rates[r], t = T0, taken, max_step;

		/* at most burst - 1 tokens a step: after a drain the bucket is below 1 token */
		max_step = (burst - 1) * NANO / rate;
		if (max_step > 10 * NANO)
			max_step = 10 * NANO;
		sp_token_bucket_init(&tb, rate, burst, T0);
		taken = drain(&tb, t);
		for (step = 0; step < 2000; step++) {
			unsigned __int128 expect;

			t += 1 + rng() % max_step;
			taken += drain(&tb, t);
			expect = burst + (unsigned __int128)(t - T0) * rate / NANO;
			if (taken != expect) {
				print_error("# rate %llu: %llu tokens by +%llu ns, expected %llu\n",
					    (unsigned long long)rate, (unsigned long long)taken,
					    (unsigned long long)(t - T0), (unsigned long long)expect);
				bad++;
				break;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* Rate 3: 1e9/3 is not whole. The first token after a drain comes at 333333334 ns, not 333. */
static void test_refill_rate_not_dividing(void **state)
{
	struct sp_token_bucket tb;

	/* burst 2: the bucket is never full below, so no fraction is cut off at the top */
	sp_token_bucket_init(&tb, 3, 2, T0);
	assert_int_equal(drain(&tb, T0), 2);
	assert_false(sp_token_bucket_take(&tb, T0 + 333333333));
	assert_true(sp_token_bucket_take(&tb, T0 + 333333334));
	/* the third of a nano-token left over is kept: the next comes 333333333 ns later */
	assert_false(sp_token_bucket_take(&tb, T0 + 666666666));
	assert_true(sp_token_bucket_take(&tb, T0 + 666666667));
	assert_false(sp_token_bucket_take(&tb, T0 + 999999999));
	assert_true(sp_token_bucket_take(&tb, T0 + NANO));
	/* burst 1: the bucket is full at 333333334 ns and the 2 nano-tokens beyond are dropped */
	sp_token_bucket_init(&tb, 3, 1, T0);
	assert_int_equal(drain(&tb, T0), 1);
	assert_true(sp_token_bucket_take(&tb, T0 + 333333334));
	assert_false(sp_token_bucket_take(&tb, T0 + 666666667));
	assert_true(sp_token_bucket_take(&tb, T0 + 666666668));
	/* three a second, every second, with no drift */
	assert_int_equal(drain(&tb, T0 + NANO), 0);
	sp_token_bucket_init(&tb, 3, 100, T0);
	drain(&tb, T0);
	assert_int_equal(drain(&tb, T0 + 10 * NANO), 30);
}

/*
 * wait_ns after a take was refused: a token is there exactly @wait ns later, and not 1 ns
 * earlier. Checked on copies, at random fill levels and rates.
 */
static void test_wait_ns_exact(void **state)
{
	unsigned int i, bad = 0;

	rng_state = 0xfeedfaceULL;
	for (i = 0; i < 20000 && bad < 5; i++) {
		struct sp_token_bucket tb, early, late, again;
		__u64 rate = i < 14 * 100 ? rates[i % 14] : 1 + rng() % (4 * NANO);
		__u64 burst = 1 + rng() % 50, t = T0, wait;

		sp_token_bucket_init(&tb, rate, burst, t);
		drain(&tb, t);
		/* some time, but not a whole token's worth: a partial fill */
		t += rng() % (NANO / rate + 1);
		drain(&tb, t);
		wait = sp_token_bucket_wait_ns(&tb, t);
		if (wait == 0) {
			print_error("# rate %llu: no token, yet wait 0\n", (unsigned long long)rate);
			bad++;
			continue;
		}
		/* asking again at the same time changes nothing */
		again = tb;
		if (sp_token_bucket_wait_ns(&again, t) != wait) {
			print_error("# rate %llu: wait_ns not stable\n", (unsigned long long)rate);
			bad++;
		}
		early = tb;
		late = tb;
		if (sp_token_bucket_take(&early, t + wait - 1)) {
			print_error("# rate %llu: a token 1 ns before the wait of %llu ns\n",
				    (unsigned long long)rate, (unsigned long long)wait);
			bad++;
		}
		if (!sp_token_bucket_take(&late, t + wait)) {
			print_error("# rate %llu: no token after the wait of %llu ns\n",
				    (unsigned long long)rate, (unsigned long long)wait);
			bad++;
		}
		if (sp_token_bucket_wait_ns(&tb, t + wait) != 0) {
			print_error("# rate %llu: still a wait after the wait\n",
				    (unsigned long long)rate);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* A full bucket needs no wait; a rate of 1 after a drain waits a whole second. */
static void test_wait_ns_simple(void **state)
{
	struct sp_token_bucket tb;

	sp_token_bucket_init(&tb, 1, 1, T0);
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0), 0);
	assert_true(sp_token_bucket_take(&tb, T0));
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0), NANO);
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0 + 400000000), 600000000);
	sp_token_bucket_init(&tb, 2000, 21, T0);
	drain(&tb, T0);
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0), 500000);
	/* rate above 1e9: less than a ns to the next token rounds up to 1 ns */
	sp_token_bucket_init(&tb, 3 * NANO, 1, T0);
	drain(&tb, T0);
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0), 1);
}

/* Huge elapsed times: the bucket fills to the burst, exactly, and never wraps around. */
static void test_no_overflow_huge_elapsed(void **state)
{
	static const __u64 bursts[] = { 1, 21, 1000003 };
	static const __u64 huge_rates[] = { 1, 1000, NANO, UINT32_MAX };
	size_t r, b;
	unsigned int bad = 0;

	for (r = 0; r < sizeof(huge_rates) / sizeof(huge_rates[0]); r++) {
		for (b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
			struct sp_token_bucket tb;
			__u64 got;

			/* from 0 to the end of time */
			sp_token_bucket_init(&tb, huge_rates[r], bursts[b], 0);
			drain(&tb, 0);
			got = drain(&tb, UINT64_MAX);
			if (got != bursts[b]) {
				print_error("# rate %llu burst %llu: %llu tokens after 584 years\n",
					    (unsigned long long)huge_rates[r],
					    (unsigned long long)bursts[b], (unsigned long long)got);
				bad++;
			}
			if (sp_token_bucket_wait_ns(&tb, UINT64_MAX) == 0 ||
			    sp_token_bucket_wait_ns(&tb, UINT64_MAX) > NANO) {
				print_error("# rate %llu burst %llu: wrong wait at the end of time\n",
					    (unsigned long long)huge_rates[r],
					    (unsigned long long)bursts[b]);
				bad++;
			}
			/* elapsed * rate just above 2^64 nano-tokens (where that time exists) */
			if (UINT64_MAX / huge_rates[r] >= UINT64_MAX - T0)
				continue;
			sp_token_bucket_init(&tb, huge_rates[r], bursts[b], T0);
			drain(&tb, T0);
			got = drain(&tb, T0 + UINT64_MAX / huge_rates[r] + 1);
			if (got != bursts[b]) {
				print_error("# rate %llu burst %llu: %llu tokens past 2^64 nano-tokens\n",
					    (unsigned long long)huge_rates[r],
					    (unsigned long long)bursts[b], (unsigned long long)got);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* Time going backwards: refused, nothing added, and the refill does not restart from there. */
static void test_time_backwards(void **state)
{
	struct sp_token_bucket tb, before;
	const __u64 rate = 1000; /* a token a ms */

	sp_token_bucket_init(&tb, rate, 5, T0);
	drain(&tb, T0);
	before = tb;
	assert_false(sp_token_bucket_take(&tb, T0 - 1));
	assert_false(sp_token_bucket_take(&tb, T0 - 10 * NANO));
	assert_false(sp_token_bucket_take(&tb, 0));
	assert_memory_equal(&tb, &before, sizeof(tb));
	assert_int_equal(sp_token_bucket_wait_ns(&tb, T0 - NANO), 1000000);
	assert_memory_equal(&tb, &before, sizeof(tb));
	/* had last_ns gone back, 1 ms - 1 ns after T0 would have tokens: it must not */
	assert_false(sp_token_bucket_take(&tb, T0 + 999999));
	assert_true(sp_token_bucket_take(&tb, T0 + 1000000));
	/* a full bucket stays at its burst when time goes back and forth */
	sp_token_bucket_init(&tb, rate, 5, T0);
	assert_true(sp_token_bucket_take(&tb, T0 - 5)); /* tokens already there can be taken */
	assert_int_equal(drain(&tb, T0 - 5), 4);
	assert_int_equal(drain(&tb, T0), 0);
	assert_int_equal(drain(&tb, T0 + 5000000), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unlimited_always_takes),
		cmocka_unit_test(test_full_bucket_gives_burst),
		cmocka_unit_test(test_full_bucket_saves_no_more),
		cmocka_unit_test(test_engine_bucket),
		cmocka_unit_test(test_refill_exact),
		cmocka_unit_test(test_refill_rate_not_dividing),
		cmocka_unit_test(test_wait_ns_exact),
		cmocka_unit_test(test_wait_ns_simple),
		cmocka_unit_test(test_no_overflow_huge_elapsed),
		cmocka_unit_test(test_time_backwards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
