// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_cidr.c - the CIDR networks of serve's /probe allow list: every accepted and refused form,
 * host bits, prefix bounds, v4-mapped addresses (matched as IPv4), lists, loopback listeners.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "cidr.h"

/* A sockaddr for @text, IPv4 or IPv6. */
static struct sockaddr_storage sa_of(const char *text)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
	} else {
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

struct parse_ok_case {
	const char *in;
	const char *out; /* sp_cidr_format() of the result */
};

static const struct parse_ok_case parse_ok_cases[] = {
    {"10.0.0.0/8", "10.0.0.0/8"},
    {"0.0.0.0/0", "0.0.0.0/0"},
    {"192.0.2.1/32", "192.0.2.1/32"},
    {"192.0.2.1", "192.0.2.1/32"}, /* a bare address: the host */
    {"192.0.2.128/25", "192.0.2.128/25"},
    {"10.0.0.0/008", "10.0.0.0/8"},
    {"::/0", "::/0"},
    {"fd00::/8", "fd00::/8"},
    {"2001:db8::/32", "2001:db8::/32"},
    {"2001:db8::1/128", "2001:db8::1/128"},
    {"2001:db8::1", "2001:db8::1/128"},
    {"::1", "::1/128"},
    {"2001:db8:0:0:8000::/65", "2001:db8:0:0:8000::/65"},
    /* v4-mapped networks of prefix >= 96 are the IPv4 networks they map */
    {"::ffff:10.0.0.0/104", "10.0.0.0/8"},
    {"::ffff:192.0.2.1", "192.0.2.1/32"},
    {"::ffff:0.0.0.0/96", "0.0.0.0/0"},
    /* ::/96 (IPv4-compatible, deprecated) is no mapped network: IPv6 as written */
    {"::/96", "::/96"},
};

static void test_parse_ok(void **state)
{
	char msg[SP_CIDR_ERR_MAX], buf[SP_CIDR_STR_MAX];
	struct sp_cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_ok_cases) / sizeof(parse_ok_cases[0]); i++) {
		const struct parse_ok_case *t = &parse_ok_cases[i];

		msg[0] = '\0';
		if (sp_cidr_parse(t->in, &c, msg, sizeof(msg)))
			fail_msg("'%s' refused: %s", t->in, msg);
		sp_cidr_format(&c, buf, sizeof(buf));
		if (strcmp(buf, t->out))
			fail_msg("'%s' parsed as %s, want %s", t->in, buf, t->out);
	}
}

struct parse_bad_case {
	const char *in;
	const char *msg; /* the whole message */
};

static const struct parse_bad_case parse_bad_cases[] = {
    {"", "empty network: write a CIDR such as 10.0.0.0/8 or fd00::/8"},
    {"10.0.0.1/8", "'10.0.0.1/8' has host bits set: write the network 10.0.0.0/8 (or "
		   "10.0.0.1/32 for the host alone)"},
    {"192.0.2.129/25", "'192.0.2.129/25' has host bits set: write the network 192.0.2.128/25 "
		       "(or 192.0.2.129/32 for the host alone)"},
    {"0.0.0.1/0", "'0.0.0.1/0' has host bits set: write the network 0.0.0.0/0 (or 0.0.0.1/32 "
		  "for the host alone)"},
    {"fd00::1/8", "'fd00::1/8' has host bits set: write the network fd00::/8 (or fd00::1/128 "
		  "for the host alone)"},
    {"::ffff:10.0.0.1/104", "'::ffff:10.0.0.1/104' has host bits set: write the network "
			    "::ffff:10.0.0.0/104 (or ::ffff:10.0.0.1/128 for the host alone)"},
    {"10.0.0.0/33", "'10.0.0.0/33': the prefix length of an IPv4 network is a number from 0 to "
		    "32, as in 10.0.0.0/8"},
    {"fd00::/129", "'fd00::/129': the prefix length of an IPv6 network is a number from 0 to "
		   "128, as in fd00::/8"},
    {"10.0.0.0/", "'10.0.0.0/': the prefix length of an IPv4 network is a number from 0 to 32, "
		  "as in 10.0.0.0/8"},
    {"10.0.0.0/-1", "'10.0.0.0/-1': the prefix length of an IPv4 network is a number from 0 to "
		    "32, as in 10.0.0.0/8"},
    {"10.0.0.0/+8", "'10.0.0.0/+8': the prefix length of an IPv4 network is a number from 0 to "
		    "32, as in 10.0.0.0/8"},
    {"10.0.0.0/8 ", "'10.0.0.0/8 ': the prefix length of an IPv4 network is a number from 0 to "
		    "32, as in 10.0.0.0/8"},
    {"10.0.0.0/8/8", "'10.0.0.0/8/8': the prefix length of an IPv4 network is a number from 0 "
		     "to 32, as in 10.0.0.0/8"},
    {"10.0.0.0/99999999999", "'10.0.0.0/99999999999': the prefix length of an IPv4 network is "
			     "a number from 0 to 32, as in 10.0.0.0/8"},
    {"/8", "'/8' has no address before '/': write a CIDR such as 10.0.0.0/8 or fd00::/8"},
    {"10.0.0/8", "'10.0.0/8': '10.0.0' is not an IPv4 or IPv6 address: write a CIDR such as "
		 "10.0.0.0/8 or fd00::/8 (no names, no zone ids)"},
    {"example.com/24", "'example.com/24': 'example.com' is not an IPv4 or IPv6 address: write a "
		       "CIDR such as 10.0.0.0/8 or fd00::/8 (no names, no zone ids)"},
    {"fe80::1%lo/64", "'fe80::1%lo/64': 'fe80::1%lo' is not an IPv4 or IPv6 address: write a "
		      "CIDR such as 10.0.0.0/8 or fd00::/8 (no names, no zone ids)"},
    {"[fd00::]/8", "'[fd00::]/8': '[fd00::]' is not an IPv4 or IPv6 address: write a CIDR such "
		   "as 10.0.0.0/8 or fd00::/8 (no names, no zone ids)"},
    {" 10.0.0.0/8", "' 10.0.0.0/8': ' 10.0.0.0' is not an IPv4 or IPv6 address: write a CIDR "
		    "such as 10.0.0.0/8 or fd00::/8 (no names, no zone ids)"},
};

static void test_parse_bad(void **state)
{
	char msg[SP_CIDR_ERR_MAX];
	struct sp_cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(parse_bad_cases) / sizeof(parse_bad_cases[0]); i++) {
		const struct parse_bad_case *t = &parse_bad_cases[i];

		msg[0] = '\0';
		if (sp_cidr_parse(t->in, &c, msg, sizeof(msg)) != -EINVAL)
			fail_msg("'%s' accepted", t->in);
		if (strcmp(msg, t->msg))
			fail_msg("'%s': message\n  %s\nwant\n  %s", t->in, msg, t->msg);
	}
}

static void test_parse_long_input_cut(void **state)
{
	char in[300], msg[SP_CIDR_ERR_MAX];
	struct sp_cidr c;

	(void)state;
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(sp_cidr_parse(in, &c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "...' is too long for a network"));
	assert_true(strlen(msg) < 160);
	in[40] = '/';
	assert_int_equal(sp_cidr_parse(in, &c, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "is not an IPv4 or IPv6 address"));
	assert_non_null(strstr(msg, "...'"));
}

struct match_case {
	const char *cidr, *addr;
	bool match;
};

static const struct match_case match_cases[] = {
    {"10.0.0.0/8", "10.1.2.3", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"192.0.2.128/25", "192.0.2.128", true},
    {"192.0.2.128/25", "192.0.2.255", true},
    {"192.0.2.128/25", "192.0.2.127", false},
    {"192.0.2.1/32", "192.0.2.1", true},
    {"192.0.2.1/32", "192.0.2.2", false},
    {"0.0.0.0/0", "255.255.255.255", true},
    {"0.0.0.0/0", "::1", false},
    {"::/0", "2001:db8::1", true},
    {"::/0", "10.0.0.1", false},
    {"2001:db8::/32", "2001:db8:ffff::1", true},
    {"2001:db8::/32", "2001:db9::1", false},
    {"2001:db8::8000:0:0:0/65", "2001:db8::ffff:0:0:1", true},
    {"2001:db8::8000:0:0:0/65", "2001:db8::7fff:0:0:1", false},
    /* v4-mapped addresses are matched as IPv4 */
    {"10.0.0.0/8", "::ffff:10.9.9.9", true},
    {"10.0.0.0/8", "::ffff:11.9.9.9", false},
    {"0.0.0.0/0", "::ffff:1.2.3.4", true},
    {"::/0", "::ffff:1.2.3.4", false},
    {"::ffff:10.0.0.0/104", "10.2.3.4", true},
    {"::ffff:10.0.0.0/104", "::ffff:10.2.3.4", true},
    /* not mapped: ::a.b.c.d (compatible) and 64:ff9b::/96 (NAT64) are IPv6 */
    {"10.0.0.0/8", "::10.0.0.1", false},
    {"10.0.0.0/8", "64:ff9b::10.0.0.1", false},
    {"64:ff9b::/96", "64:ff9b::10.0.0.1", true},
};

static void test_match(void **state)
{
	char msg[SP_CIDR_ERR_MAX];
	struct sockaddr_storage ss;
	struct sp_cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *t = &match_cases[i];

		if (sp_cidr_parse(t->cidr, &c, msg, sizeof(msg)))
			fail_msg("'%s' refused: %s", t->cidr, msg);
		ss = sa_of(t->addr);
		if (sp_cidr_match(&c, (struct sockaddr *)&ss) != t->match)
			fail_msg("%s in %s: got %d, want %d", t->addr, t->cidr, !t->match,
				 t->match);
	}
}

static void test_match_other_family(void **state)
{
	struct sockaddr_storage ss = {.ss_family = AF_UNIX};
	char msg[SP_CIDR_ERR_MAX];
	struct sp_cidr c;

	(void)state;
	assert_int_equal(sp_cidr_parse("0.0.0.0/0", &c, msg, sizeof(msg)), 0);
	assert_false(sp_cidr_match(&c, (struct sockaddr *)&ss));
	assert_false(sp_addr_is_loopback((struct sockaddr *)&ss));
}

static void test_list(void **state)
{
	struct sp_cidr list[4];
	char msg[SP_CIDR_ERR_MAX];
	struct sockaddr_storage ss;
	size_t n = 0;

	(void)state;
	assert_int_equal(sp_cidr_parse_list("10.0.0.0/8,fd00::/8", list, 4, &n, msg, sizeof(msg)),
			 0);
	assert_int_equal(n, 2);
	/* repeated: appended */
	assert_int_equal(sp_cidr_parse_list("192.0.2.1", list, 4, &n, msg, sizeof(msg)), 0);
	assert_int_equal(n, 3);
	ss = sa_of("fd00::5");
	assert_true(sp_cidr_list_match(list, n, (struct sockaddr *)&ss));
	ss = sa_of("192.0.2.1");
	assert_true(sp_cidr_list_match(list, n, (struct sockaddr *)&ss));
	ss = sa_of("192.0.2.2");
	assert_false(sp_cidr_list_match(list, n, (struct sockaddr *)&ss));
	assert_false(sp_cidr_list_match(list, 0, (struct sockaddr *)&ss));

	/* errors leave the list as it was */
	assert_int_equal(sp_cidr_parse_list("1.0.0.0/8,2.0.0.0/8", list, 4, &n, msg, sizeof(msg)),
			 -E2BIG);
	assert_string_equal(msg, "more than 4 networks: merge some into larger ones");
	assert_int_equal(n, 3);
	assert_int_equal(sp_cidr_parse_list("1.0.0.0/8,,2.0.0.0/8", list, 8, &n, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "an empty item in the list: write networks separated by commas, "
				 "such as 10.0.0.0/8,fd00::/8");
	assert_int_equal(sp_cidr_parse_list("1.0.0.0/8,", list, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(sp_cidr_parse_list("", list, 8, &n, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(sp_cidr_parse_list("1.0.0.0/8,1.2.3.4/8", list, 8, &n, msg, sizeof(msg)),
			 -EINVAL);
	assert_non_null(strstr(msg, "'1.2.3.4/8' has host bits set"));
	assert_int_equal(n, 3);
}

static void test_loopback(void **state)
{
	static const struct {
		const char *addr;
		bool loopback;
	} cases[] = {
	    {"127.0.0.1", true},
	    {"127.255.0.9", true},
	    {"::1", true},
	    {"::ffff:127.0.0.1", true},
	    {"128.0.0.1", false},
	    {"10.77.0.1", false},
	    {"0.0.0.0", false},
	    {"::", false},
	    {"::2", false},
	    {"fe80::1", false},
	    {"::ffff:10.0.0.1", false},
	    {"::127.0.0.1", false},
	};
	struct sockaddr_storage ss;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ss = sa_of(cases[i].addr);
		if (sp_addr_is_loopback((struct sockaddr *)&ss) != cases[i].loopback)
			fail_msg("%s: loopback %d, want %d", cases[i].addr, !cases[i].loopback,
				 cases[i].loopback);
	}
}

static void test_addr_format(void **state)
{
	struct sockaddr_storage ss;
	char buf[64];

	(void)state;
	ss = sa_of("::ffff:10.1.2.3");
	assert_string_equal(sp_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "10.1.2.3");
	ss = sa_of("2001:db8::1");
	assert_string_equal(sp_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)),
			    "2001:db8::1");
	ss.ss_family = AF_UNIX;
	assert_string_equal(sp_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_parse_long_input_cut),
	    cmocka_unit_test(test_match),
	    cmocka_unit_test(test_match_other_family),
	    cmocka_unit_test(test_list),
	    cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_addr_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
