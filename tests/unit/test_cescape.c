// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_cescape.c - C escapes of --send into bytes: every escape, binary output, every error. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cescape.h"

struct good_case {
	const char *in;
	const char *want; /* bytes */
	size_t want_len;
};

static const struct good_case good_cases[] = {
    {"", "", 0},
    {"PING", "PING", 4},
    {"PING\\r\\n", "PING\r\n", 6},
    {"a\\tb\\\\c\\\"d\\'e", "a\tb\\c\"d'e", 9},
    {"\\a\\b\\e\\f\\v\\?", "\a\b\x1b\f\v?", 6},
    {"\\x00", "\0", 1},
    {"\\x0", "\0", 1},
    {"\\xff\\xFF\\xaB", "\xff\xff\xab", 3},
    {"\\x41B", "AB", 2}, /* two hex digits at most */
    {"\\x4g", "\x04g", 2},
    {"\\0", "\0", 1},
    {"a\\0b", "a\0b", 3},
    {"\\101\\60", "A0", 2},
    {"\\1234", "S4", 2}, /* three octal digits at most */
    {"\\377", "\xff", 1},
    {"\\08",
     "\0"
     "8",
     2},
    {"\\r\\n\\r\\n", "\r\n\r\n", 4},
    {"\xc3\xa9", "\xc3\xa9", 2}, /* bytes pass through as they are */
};

static void test_good(void **state)
{
	__u8 out[64];
	char err[256];
	size_t i, len;

	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		len = 99;
		err[0] = '\0';
		if (sp_cescape_parse(good_cases[i].in, out, sizeof(out), &len, err, sizeof(err)))
			fail_msg("'%s': %s", good_cases[i].in, err);
		if (len != good_cases[i].want_len || memcmp(out, good_cases[i].want, len))
			fail_msg("'%s': %zu bytes, want %zu", good_cases[i].in, len,
				 good_cases[i].want_len);
	}
}

struct bad_case {
	const char *in;
	int rc;
	const char *want; /* a part of the message */
};

static const struct bad_case bad_cases[] = {
    {"abc\\", -EINVAL, "a '\\' ends the text (at 4)"},
    {"\\q", -EINVAL, "unknown escape '\\q' at 1"},
    {"ab\\x", -EINVAL, "'\\x' at 3 has no hex digit"},
    {"\\xg", -EINVAL, "'\\x' at 1 has no hex digit"},
    {"\\400", -EINVAL, "octal escape at 1 is above \\377"},
    {"\\\x01", -EINVAL, "unknown escape at 1"},
};

static void test_bad(void **state)
{
	__u8 out[64];
	char err[256];
	size_t i, len;
	int rc;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		len = 99;
		err[0] = '\0';
		rc = sp_cescape_parse(bad_cases[i].in, out, sizeof(out), &len, err, sizeof(err));
		if (rc != bad_cases[i].rc)
			fail_msg("case %zu: rc %d, want %d", i, rc, bad_cases[i].rc);
		if (!strstr(err, bad_cases[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad_cases[i].want);
		assert_null(strchr(err, '\n'));
		assert_int_equal(len, 0);
	}
}

/* The output is bounded: exactly @cap bytes fit, one more does not (escaped or not). */
static void test_bounds(void **state)
{
	__u8 out[4];
	char err[256];
	size_t len;

	assert_int_equal(sp_cescape_parse("abcd", out, 4, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_int_equal(sp_cescape_parse("abcde", out, 4, &len, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "more than 4 bytes"));
	assert_int_equal(sp_cescape_parse("\\x00\\x00\\x00\\x00", out, 4, &len, err, sizeof(err)),
			 0);
	assert_int_equal(len, 4);
	assert_int_equal(sp_cescape_parse("\\0\\0\\0\\0\\0", out, 4, &len, err, sizeof(err)),
			 -E2BIG);
	assert_int_equal(sp_cescape_parse("", out, 0, &len, err, sizeof(err)), 0);
	assert_int_equal(sp_cescape_parse("a", out, 0, &len, err, sizeof(err)), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
