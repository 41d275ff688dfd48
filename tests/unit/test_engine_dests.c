// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_engine_dests.c - the engine's per-target table follows what is in flight (issue 10,
 * item 3): 100,000 checks of distinct addresses, one after the other, never hold more than a
 * bound set by the idle entries it keeps (DEST_IDLE_MAX, 16,384: the table is rebuilt when half
 * full, at four times what it keeps), not one entry per address ever checked.
 * Method connect (no BPF, no privilege); every target is a closed port on this machine's own
 * loopback range (127.x.y.z), refused at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "libsynprobe.h"

#define N_TARGETS 100000
#define IDLE_KEPT 16384

static unsigned int results;

static void on_result(const struct synprobe_result *res, void *ctx)
{
	results++;
}

static void test_table_follows_what_is_in_flight(void **state)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_CONNECT,
		.on_result = on_result,
	};
	struct synprobe_engine_stats es;
	unsigned int i, max_seen = 0;
	struct synprobe *sp;

	sp = synprobe_open(&opts);
	assert_non_null(sp);
	for (i = 0; i < N_TARGETS; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1) };

		/* 127.1.0.1 onwards: distinct addresses, all on lo. */
		sin.sin_addr.s_addr = htonl(0x7f010001 + i);
		assert_int_equal(synprobe_start(sp, (struct sockaddr *)&sin, sizeof(sin), 1000, NULL), 0);
		while (synprobe_in_flight(sp))
			assert_true(synprobe_poll(sp, 1000) >= 0);
		synprobe_engine_stats(sp, &es, sizeof(es));
		if (es.destinations > max_seen)
			max_seen = es.destinations;
	}
	assert_int_equal(results, N_TARGETS);
	/* Without the rebuilds that drop idle entries, this was N_TARGETS. */
	assert_true(max_seen < 4 * IDLE_KEPT);
	synprobe_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_follows_what_is_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
