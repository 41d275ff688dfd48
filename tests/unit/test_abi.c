// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_abi.c - the size rule of the structs libsynprobe.h shares with its callers (its ABI note,
 * libbpf's OPTS_VALID()): a caller's smaller sz works and the fields beyond it read as zero; a
 * larger sz with non-zero bytes beyond the known fields, or sz 0, gives EINVAL; the structs the
 * library fills are written within the caller's size only.
 * Method connect (no BPF): the one check made is of a closed port on 127.0.0.1, refused at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "libsynprobe.h"

#define offsetofend(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

static unsigned int results;
static enum synprobe_outcome last_outcome;

static void on_result(const struct synprobe_result *res, void *ctx)
{
	results++;
	last_outcome = res->outcome;
}

/* One check of a closed port through @copts (NULL allowed); returns synprobe_start_ex()'s. */
static int check_closed(struct synprobe *sp, const struct synprobe_check_opts *copts)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1) };
	int err;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	results = 0;
	err = synprobe_start_ex(sp, (struct sockaddr *)&sin, sizeof(sin), 1000, copts, NULL);
	while (!err && synprobe_in_flight(sp))
		assert_true(synprobe_poll(sp, 1000) >= 0);
	return err;
}

/* A caller built against a newer header: its struct with fields this library does not know. */
struct newer_opts {
	struct synprobe_opts o;
	__u64 appended[2];
};

static void test_opts_sz(void **state)
{
	struct synprobe_opts opts = {
		.method = SYNPROBE_METHOD_CONNECT,
		.on_result = on_result,
		/* beyond the smaller sz below: refused (above SP_MAX_LOOPS) if it were read */
		.threads = SP_MAX_LOOPS + 1,
	};
	struct newer_opts newer = {
		.o = { .method = SYNPROBE_METHOD_CONNECT, .on_result = on_result },
	};
	struct synprobe *sp;

	/* sz 0: not set */
	errno = 0;
	assert_null(synprobe_open(&opts));
	assert_int_equal(errno, EINVAL);

	/* an older caller's sz: up to ctx; threads beyond it reads as 0 (one loop) */
	opts.sz = offsetofend(struct synprobe_opts, ctx);
	sp = synprobe_open(&opts);
	assert_non_null(sp);
	assert_int_equal(check_closed(sp, NULL), 0);
	assert_int_equal(results, 1);
	assert_int_equal(last_outcome, SYNPROBE_CLOSED);
	synprobe_close(sp);

	/* the same with this header's sz reads threads, and refuses it */
	opts.sz = sizeof(opts);
	errno = 0;
	assert_null(synprobe_open(&opts));
	assert_int_equal(errno, EINVAL);
	/* reserved is a field this library does not know yet: it must be 0 */
	opts.threads = 0;
	opts.reserved = 1;
	errno = 0;
	assert_null(synprobe_open(&opts));
	assert_int_equal(errno, EINVAL);

	/* a newer caller's larger sz: fine while the fields it adds are zero */
	newer.o.sz = sizeof(newer);
	sp = synprobe_open(&newer.o);
	assert_non_null(sp);
	synprobe_close(sp);
	/* ... and EINVAL once one of them is set: an option this library cannot honour */
	newer.appended[1] = 1;
	errno = 0;
	assert_null(synprobe_open(&newer.o));
	assert_int_equal(errno, EINVAL);
}

struct newer_check_opts {
	struct synprobe_check_opts o;
	__u64 appended;
};

static int kind_start(const void *arg, int fd, const struct sockaddr *target, __u64 start_ns,
		      __u64 connected_ns, void **state)
{
	return SYNPROBE_KIND_DONE;
}

static void test_check_opts_sz(void **state)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_CONNECT,
		.on_result = on_result,
	};
	struct synprobe_check_opts copts = {
		.mark = 0,
		/* beyond the smaller sz below: a kind without start, refused if it were read */
		.kind = &(struct synprobe_kind){ .sz = sizeof(struct synprobe_kind), .name = "x" },
	};
	struct newer_check_opts newer = { .o = { .sz = sizeof(newer) } };
	struct synprobe_kind kind = { .name = "done", .start = kind_start };
	struct synprobe *sp;

	sp = synprobe_open(&opts);
	assert_non_null(sp);

	assert_int_equal(check_closed(sp, &copts), -EINVAL); /* sz 0 */
	copts.sz = offsetofend(struct synprobe_check_opts, bind_ifindex);
	assert_int_equal(check_closed(sp, &copts), 0);
	assert_int_equal(results, 1);
	assert_int_equal(last_outcome, SYNPROBE_CLOSED); /* a plain connect: no kind was read */
	copts.sz = sizeof(copts);
	assert_int_equal(check_closed(sp, &copts), -EINVAL); /* a kind without start */

	assert_int_equal(check_closed(sp, &newer.o), 0);
	newer.appended = 1;
	assert_int_equal(check_closed(sp, &newer.o), -EINVAL);

	/* a kind's sz: 0, then below the first version's (it ends at free), then right */
	copts.kind = &kind;
	assert_int_equal(check_closed(sp, &copts), -EINVAL);
	kind.sz = offsetofend(struct synprobe_kind, result);
	assert_int_equal(check_closed(sp, &copts), -EINVAL);
	kind.sz = sizeof(kind);
	assert_int_equal(check_closed(sp, &copts), 0);
	assert_int_equal(results, 1);
	synprobe_close(sp);
}

static void test_load_error_sz(void **state)
{
	struct synprobe_load_error le;
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_CONNECT,
		.on_result = on_result,
		.load_error = &le,
	};
	struct synprobe *sp;
	size_t i;

	memset(&le, 0, sizeof(le));
	errno = 0;
	assert_null(synprobe_open(&opts)); /* sz 0 */
	assert_int_equal(errno, EINVAL);

	/* a caller whose struct ends at error: nothing beyond is written */
	memset(&le, 0xaa, sizeof(le));
	le.sz = offsetofend(struct synprobe_load_error, error);
	sp = synprobe_open(&opts);
	assert_non_null(sp);
	assert_int_equal(le.sz, offsetofend(struct synprobe_load_error, error));
	assert_int_equal(le.failure, SYNPROBE_LOAD_OK);
	for (i = le.sz; i < sizeof(le); i++)
		assert_int_equal(((unsigned char *)&le)[i], 0xaa);
	synprobe_close(sp);
}

static void test_stats_sz(void **state)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_CONNECT,
		.on_result = on_result,
	};
	struct {
		struct synprobe_engine_stats es;
		unsigned char appended[16];
	} buf;
	struct synprobe *sp;
	size_t i, sz = offsetofend(struct synprobe_engine_stats, delivered);

	sp = synprobe_open(&opts);
	assert_non_null(sp);
	assert_int_equal(check_closed(sp, NULL), 0);

	/* an older caller's size: the fields that fit, nothing beyond */
	memset(&buf, 0xaa, sizeof(buf));
	synprobe_engine_stats(sp, &buf.es, sz);
	assert_int_equal(buf.es.started, 1);
	assert_int_equal(buf.es.delivered, 1);
	for (i = sz; i < sizeof(buf); i++)
		assert_int_equal(((unsigned char *)&buf)[i], 0xaa);

	/* a newer caller's: all this library knows, and zeroes for what it does not */
	memset(&buf, 0xaa, sizeof(buf));
	synprobe_engine_stats(sp, &buf.es, sizeof(buf));
	assert_int_equal(buf.es.threads, 1);
	for (i = 0; i < sizeof(buf.appended); i++)
		assert_int_equal(buf.appended[i], 0);

	/* the BPF counters: none with method connect, and the buffer zeroed within its size */
	memset(&buf, 0xaa, sizeof(buf));
	assert_int_equal(synprobe_read_stats(sp, (struct sp_stats *)&buf, 8), -EOPNOTSUPP);
	assert_int_equal(*(__u64 *)&buf, 0);
	assert_int_equal(((unsigned char *)&buf)[8], 0xaa);
	synprobe_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_sz),
		cmocka_unit_test(test_check_opts_sz),
		cmocka_unit_test(test_load_error_sz),
		cmocka_unit_test(test_stats_sz),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
