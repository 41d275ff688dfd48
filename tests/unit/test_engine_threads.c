// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_engine_threads.c - the engine with several event loops (opts.threads, issue 11 item 1):
 * 20,000 checks over 4 loops, each result delivered exactly once, to the thread that polls, with
 * the outcome its target calls for, and never more running than max_in_flight; an engine closed
 * with checks in flight on every loop ends them all.
 * Method connect (no BPF): every target is on this machine's loopback, a closed port on one of
 * 4,096 addresses 127.3.x.y (refused at once) or a listener of the test's own on 127.0.0.1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "libsynprobe.h"

#define N_CHECKS 20000
#define LOOPS 4
#define MAX_IN_FLIGHT 64

struct run {
	struct synprobe *sp;
	int listen_fd;
	pthread_t poller;
	unsigned char seen[N_CHECKS];
	unsigned int results, wrong_outcome, wrong_thread, over_limit, max_running;
};

/* Check i: every fourth the listener, the others a closed port on 127.3.x.y. */
static bool target_open(unsigned int i)
{
	return i % 4 == 0;
}

static void target(const struct run *r, unsigned int i, struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);

	if (target_open(i)) {
		getsockname(r->listen_fd, (struct sockaddr *)sin, &len);
		return;
	}
	*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(1) };
	sin->sin_addr.s_addr = htonl(0x7f030000 + i % 4096);
}

static void on_result(const struct synprobe_result *res, void *ctx)
{
	struct run *r = ctx;
	unsigned int i = (unsigned int)(uintptr_t)res->user - 1;
	struct synprobe_engine_stats es;
	int fd;

	if (i >= N_CHECKS)
		return;
	r->seen[i]++;
	r->results++;
	if (res->outcome != (target_open(i) ? SYNPROBE_OPEN : SYNPROBE_CLOSED))
		r->wrong_outcome++;
	if (!pthread_equal(pthread_self(), r->poller))
		r->wrong_thread++;
	synprobe_engine_stats(r->sp, &es, sizeof(es));
	if (es.running > r->max_running)
		r->max_running = es.running;
	if (es.running > MAX_IN_FLIGHT)
		r->over_limit++;
	/* The full handshakes of method connect fill the listener's queue: empty it. */
	while ((fd = accept4(r->listen_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0)
		close(fd);
}

static int listener(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4096), 0);
	return fd;
}

static void test_each_result_once(void **state)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_CONNECT,
		.threads = LOOPS,
		.max_in_flight = MAX_IN_FLIGHT,
		.on_result = on_result,
	};
	struct synprobe_engine_stats es;
	struct run *r = calloc(1, sizeof(*r));
	unsigned int i, missing = 0, twice = 0;
	struct sockaddr_in sin;

	assert_non_null(r);
	r->listen_fd = listener();
	r->poller = pthread_self();
	opts.ctx = r;
	r->sp = synprobe_open(&opts);
	assert_non_null(r->sp);
	for (i = 0; i < N_CHECKS; i++) {
		target(r, i, &sin);
		assert_int_equal(synprobe_start(r->sp, (struct sockaddr *)&sin, sizeof(sin), 5000,
						(void *)(uintptr_t)(i + 1)), 0);
	}
	while (synprobe_in_flight(r->sp))
		assert_true(synprobe_poll(r->sp, 5000) >= 0);
	synprobe_engine_stats(r->sp, &es, sizeof(es));
	for (i = 0; i < N_CHECKS; i++) {
		missing += r->seen[i] == 0;
		twice += r->seen[i] > 1;
	}
	print_message("# %u results, %u missing, %u twice, %u wrong outcomes, at most %u running\n",
		      r->results, missing, twice, r->wrong_outcome, r->max_running);
	assert_int_equal(es.threads, LOOPS);
	assert_int_equal(es.delivered, N_CHECKS);
	assert_int_equal(r->results, N_CHECKS);
	assert_int_equal(missing, 0);
	assert_int_equal(twice, 0);
	assert_int_equal(r->wrong_outcome, 0);
	assert_int_equal(r->wrong_thread, 0);
	assert_int_equal(r->over_limit, 0);
	/* The limit was reached (less the check being delivered): it could have been exceeded. */
	assert_true(r->max_running >= MAX_IN_FLIGHT - 1);
	synprobe_close(r->sp);
	close(r->listen_fd);
	free(r);
}

static void test_close_with_checks_in_flight(void **state)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_CONNECT,
		.threads = LOOPS,
		.on_result = on_result,
	};
	struct run *r = calloc(1, sizeof(*r));
	struct sockaddr_in sin;
	unsigned int i;

	assert_non_null(r);
	r->listen_fd = listener();
	r->poller = pthread_self();
	opts.ctx = r;
	r->sp = synprobe_open(&opts);
	assert_non_null(r->sp);
	for (i = 0; i < 2000; i++) {
		target(r, i, &sin);
		assert_int_equal(synprobe_start(r->sp, (struct sockaddr *)&sin, sizeof(sin), 5000,
						(void *)(uintptr_t)(i + 1)), 0);
	}
	assert_true(synprobe_poll(r->sp, 0) >= 0);
	/* Checks are running in every loop and waiting in their lists: all end, none delivered. */
	synprobe_close(r->sp);
	assert_true(r->results < 2000);
	close(r->listen_fd);
	free(r);
}

static void test_threads_bounds(void **state)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_CONNECT,
		.threads = SP_MAX_LOOPS + 1,
		.on_result = on_result,
	};
	struct synprobe *sp;

	assert_null(synprobe_open(&opts));
	opts.threads = SP_MAX_LOOPS;
	sp = synprobe_open(&opts);

	assert_non_null(sp);
	synprobe_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_result_once),
		cmocka_unit_test(test_close_with_checks_in_flight),
		cmocka_unit_test(test_threads_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
