// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_keepalive.c - `synprobe keepalive` options: sp_keepalive_parse_args(), sp_parse_seconds(). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "keepalive.h"
#include "output.h"

#define ARGS_MAX 16

/* One command line: argv after "synprobe", NULL-terminated; expected rc and fields. */
struct args_case {
	const char *argv[ARGS_MAX];
	int rc;
	const char *target;
	const char *listen;
	__u32 idle_s, interval_s, count, duration_ms;
};

static const struct args_case args_cases[] = {
	{ { "keepalive", "10.0.0.1:80" }, 0, "10.0.0.1:80", NULL, 2, 2, 3, 0 },
	{ { "keepalive", "--idle", "1", "--interval", "1", "--count", "3", "h:1" },
	  0, "h:1", NULL, 1, 1, 3, 0 },
	{ { "keepalive", "--idle", "5s", "-d", "30s", "h:1" }, 0, "h:1", NULL, 5, 2, 3, 30000 },
	{ { "keepalive", "h:1", "--duration", "1.5" }, 0, "h:1", NULL, 2, 2, 3, 1500 },
	{ { "keepalive", "--listen", "0.0.0.0:12345" }, 0, NULL, "0.0.0.0:12345", 2, 2, 3, 0 },
	{ { "keepalive", "-l", "[::]:1", "-j" }, 0, NULL, "[::]:1", 2, 2, 3, 0 },
	{ { "keepalive", "--idle", "32767", "--count", "127", "h:1" }, 0, "h:1", NULL, 32767, 2, 127, 0 },
	/* bad input: one error line, -EINVAL */
	{ .argv = { "keepalive" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "a:1", "b:2" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--listen", "0.0.0.0:1", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--idle", "0", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--idle", "32768", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--idle", "1.5", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--interval", "-1", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--count", "128", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--count", "3s", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--count", "3m", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--count", "1.5", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--duration", "soon", "h:1" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--idle" }, .rc = -EINVAL },
	{ .argv = { "keepalive", "--bogus", "h:1" }, .rc = -EINVAL },
};

static void test_parse_args(void **state)
{
	struct sp_keepalive_args a;
	char *argv[ARGS_MAX];
	size_t i;
	int argc, rc;

	for (i = 0; i < sizeof(args_cases) / sizeof(args_cases[0]); i++) {
		const struct args_case *c = &args_cases[i];

		/* getopt_long() permutes argv: give it a writable copy. */
		for (argc = 0; c->argv[argc]; argc++)
			argv[argc] = (char *)c->argv[argc];
		argv[argc] = NULL;
		rc = sp_keepalive_parse_args(argc, argv, &a);
		sp_json_output = false;
		if (rc != c->rc)
			fail_msg("case %zu (%s %s): rc %d, expected %d", i, c->argv[1] ?: "",
				 c->argv[2] ?: "", rc, c->rc);
		if (rc)
			continue;
		if (c->target)
			assert_string_equal(a.target, c->target);
		else
			assert_null(a.target);
		if (c->listen)
			assert_string_equal(a.listen, c->listen);
		else
			assert_null(a.listen);
		assert_int_equal(a.idle_s, c->idle_s);
		assert_int_equal(a.interval_s, c->interval_s);
		assert_int_equal(a.count, c->count);
		assert_int_equal(a.duration_ms, c->duration_ms);
	}
}

static void test_parse_seconds(void **state)
{
	__u32 s = 4242;

	assert_int_equal(sp_parse_seconds("7", 1, 10, &s), 0);
	assert_int_equal(s, 7);
	assert_int_equal(sp_parse_seconds("10s", 1, 10, &s), 0);
	assert_int_equal(s, 10);
	s = 4242;
	assert_int_equal(sp_parse_seconds("11", 1, 10, &s), -ERANGE);
	assert_int_equal(sp_parse_seconds("0", 1, 10, &s), -ERANGE);
	assert_int_equal(sp_parse_seconds("", 1, 10, &s), -EINVAL);
	assert_int_equal(sp_parse_seconds("1ms", 1, 10, &s), -EINVAL);
	assert_int_equal(sp_parse_seconds(" 1", 1, 10, &s), -EINVAL);
	assert_int_equal(sp_parse_seconds("99999999999999999999999", 1, 10, &s), -ERANGE);
	assert_int_equal(s, 4242);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_parse_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
