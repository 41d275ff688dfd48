// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_util.c - sp_parse_duration_ms(), sp_parse_port() and sp_format_ns() from tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "util.h"

#define SENTINEL_MS 424242
#define SENTINEL_PORT 4242

struct duration_case {
	const char *in;
	int rc;		/* expected return code */
	__u32 ms;	/* expected *ms when rc is 0 */
};

static const struct duration_case duration_cases[] = {
	/* the forms of the help text */
	{ "500ms", 0, 500 },
	{ "2s", 0, 2000 },
	{ "1.5s", 0, 1500 },
	{ "1m", 0, 60000 },
	{ "1h", 0, 3600000 },
	/* a bare number is seconds */
	{ "1", 0, 1000 },
	{ "0.5", 0, 500 },
	{ "3", 0, 3000 },
	{ ".5s", 0, 500 },
	/* rounded up to whole ms */
	{ "250us", 0, 1 },
	{ "999us", 0, 1 },
	{ "1000us", 0, 1 },
	{ "1001us", 0, 2 },
	{ "1ns", 0, 1 },
	{ "1.5ms", 0, 2 },
	{ "0.0005", 0, 1 },
	/* exact decimals must not gain a ms from binary floating point */
	{ "2.007s", 0, 2007 },
	{ "4.35s", 0, 4350 },
	{ "0.3m", 0, 18000 },
	{ "1.1h", 0, 3960000 },
	/* the largest that fits in __u32 */
	{ "4294967295ms", 0, 4294967295U },
	{ "4294967.295s", 0, 4294967295U },
	{ "71582m", 0, 4294920000U },
	{ "1193h", 0, 4294800000U },
	/* not a duration */
	{ "", -EINVAL, 0 },
	{ "abc", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ "1e3", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "5 s", -EINVAL, 0 },
	{ " 5s", -EINVAL, 0 },
	{ "5s ", -EINVAL, 0 },
	{ "10d", -EINVAL, 0 },
	{ "5S", -EINVAL, 0 },
	{ "5sec", -EINVAL, 0 },
	{ "ms", -EINVAL, 0 },
	{ ".", -EINVAL, 0 },
	{ "1..5s", -EINVAL, 0 },
	{ "1.2.3", -EINVAL, 0 },
	{ "inf", -EINVAL, 0 },
	{ "nan", -EINVAL, 0 },
	/* zero or too large */
	{ "0", -ERANGE, 0 },
	{ "0ms", -ERANGE, 0 },
	{ "0.0s", -ERANGE, 0 },
	{ "4294967296ms", -ERANGE, 0 },
	{ "4294968s", -ERANGE, 0 },
	{ "71583m", -ERANGE, 0 },
	{ "1194h", -ERANGE, 0 },
	{ "99999999999999999999", -ERANGE, 0 },
};

static void test_parse_duration_table(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
		const struct duration_case *c = &duration_cases[i];
		__u32 ms = SENTINEL_MS;
		int rc = sp_parse_duration_ms(c->in, &ms);

		if (rc != c->rc) {
			print_error("# duration '%s': returned %d, expected %d\n", c->in, rc,
				    c->rc);
			bad++;
		} else if (rc == 0 && ms != c->ms) {
			print_error("# duration '%s': %u ms, expected %u ms\n", c->in, ms, c->ms);
			bad++;
		} else if (rc != 0 && ms != SENTINEL_MS) {
			print_error("# duration '%s': failed but changed *ms to %u\n", c->in, ms);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_parse_duration_null(void **state)
{
	__u32 ms = SENTINEL_MS;

	assert_int_equal(sp_parse_duration_ms(NULL, &ms), -EINVAL);
	assert_int_equal(ms, SENTINEL_MS);
}

/* A number with more digits than a double holds is still a number: too large, not "not one". */
static void test_parse_duration_overflowing_double(void **state)
{
	char in[402];
	__u32 ms = SENTINEL_MS;

	memset(in, '9', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(sp_parse_duration_ms(in, &ms), -ERANGE);
	assert_int_equal(ms, SENTINEL_MS);
}

struct port_case {
	const char *in;
	int rc;
	__u16 port;
};

static const struct port_case port_cases[] = {
	{ "1", 0, 1 },
	{ "22", 0, 22 },
	{ "080", 0, 80 },
	{ "65535", 0, 65535 },
	{ "0", -ERANGE, 0 },
	{ "65536", -ERANGE, 0 },
	{ "99999999999", -ERANGE, 0 },
	{ "999999999999999999999999999", -ERANGE, 0 },
	/* Junk after too many digits is junk, not a number too large. */
	{ "9999999999999999999x", -EINVAL, 0 },
	{ "99999999999999999999999999s", -EINVAL, 0 },
	{ "", -EINVAL, 0 },
	{ "abc", -EINVAL, 0 },
	{ "http", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ " 80", -EINVAL, 0 },
	{ "80 ", -EINVAL, 0 },
	{ "8o", -EINVAL, 0 },
	{ "0x50", -EINVAL, 0 },
	{ "80.0", -EINVAL, 0 },
};

static void test_parse_port_table(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(port_cases) / sizeof(port_cases[0]); i++) {
		const struct port_case *c = &port_cases[i];
		__u16 port = SENTINEL_PORT;
		int rc = sp_parse_port(c->in, &port);

		if (rc != c->rc) {
			print_error("# port '%s': returned %d, expected %d\n", c->in, rc, c->rc);
			bad++;
		} else if (rc == 0 && port != c->port) {
			print_error("# port '%s': %u, expected %u\n", c->in, port, c->port);
			bad++;
		} else if (rc != 0 && port != SENTINEL_PORT) {
			print_error("# port '%s': failed but changed *port to %u\n", c->in, port);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_parse_port_null(void **state)
{
	__u16 port = SENTINEL_PORT;

	assert_int_equal(sp_parse_port(NULL, &port), -EINVAL);
	assert_int_equal(port, SENTINEL_PORT);
}

struct format_case {
	__u64 ns;
	const char *out;
};

/* Each unit from its first value to its last; a value that rounds up belongs to the next unit. */
static const struct format_case format_cases[] = {
	{ 0, "0 ns" },
	{ 1, "1 ns" },
	{ 999, "999 ns" },
	{ 1000, "1.0 us" },
	{ 41200, "41.2 us" },
	{ 999949, "999.9 us" },
	{ 999999, "1.000 ms" },
	{ 1000000, "1.000 ms" },
	{ 1503000, "1.503 ms" },
	{ 999999499, "999.999 ms" },
	{ 999999999, "1.000 s" },
	{ 1000000000, "1.000 s" },
	{ 2000000000, "2.000 s" },
	/* the longest timeout (UINT32_MAX ms) still fits the 16 bytes the header promises */
	{ 4294967295000000ULL, "4294967.295 s" },
};

static void test_format_ns_table(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		const struct format_case *c = &format_cases[i];
		char buf[16];
		char *ret = sp_format_ns(c->ns, buf, sizeof(buf));

		if (ret != buf) {
			print_error("# format %llu: did not return its buffer\n",
				    (unsigned long long)c->ns);
			bad++;
		} else if (strcmp(buf, c->out)) {
			print_error("# format %llu: '%s', expected '%s'\n",
				    (unsigned long long)c->ns, buf, c->out);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_format_ns_short_buffer(void **state)
{
	char buf[5];

	/* snprintf semantics: cut, always terminated */
	sp_format_ns(1503000, buf, sizeof(buf));
	assert_string_equal(buf, "1.50");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_duration_table),
		cmocka_unit_test(test_parse_duration_null),
		cmocka_unit_test(test_parse_duration_overflowing_double),
		cmocka_unit_test(test_parse_port_table),
		cmocka_unit_test(test_parse_port_null),
		cmocka_unit_test(test_format_ns_table),
		cmocka_unit_test(test_format_ns_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
