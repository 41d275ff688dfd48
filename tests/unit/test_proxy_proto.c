// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_proxy_proto.c - PROXY protocol headers against the bytes HAProxy's proxy-protocol.txt
 * gives: v1 lines for IPv4 and IPv6, v2 headers byte by byte (signature, 0x21, family 0x11/0x21,
 * length 12/36, addresses, ports in network order), IPv4-mapped addresses, too small buffers,
 * mixed families.
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
#include "proxy_proto.h"

static struct sockaddr_storage v4(const char *a, unsigned short port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, a, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *a, unsigned short port)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, a, &sin6->sin6_addr), 1);
	return ss;
}

static void test_v1(void **state)
{
	struct sockaddr_storage s = v4("192.168.0.1", 56324), d = v4("192.168.0.11", 443);
	struct sockaddr_storage s6 = v6("fd00::1", 1), d6;
	__u8 buf[SP_PROXY_HEADER_MAX];
	int n;

	/* The spec's own example (2.1). */
	n = sp_proxy_header(SP_PROXY_V1, (struct sockaddr *)&s, (struct sockaddr *)&d, buf,
			    sizeof(buf));
	assert_int_equal(n, strlen("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"));
	assert_memory_equal(buf, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", n);
	d6 = v6("fd00::2", 65535);
	n = sp_proxy_header(SP_PROXY_V1, (struct sockaddr *)&s6, (struct sockaddr *)&d6, buf,
			    sizeof(buf));
	assert_int_equal(n, strlen("PROXY TCP6 fd00::1 fd00::2 1 65535\r\n"));
	assert_memory_equal(buf, "PROXY TCP6 fd00::1 fd00::2 1 65535\r\n", n);
	/* The longest line (spec: 107 bytes at most) fits SP_PROXY_HEADER_MAX. */
	s6 = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	d6 = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	n = sp_proxy_header(SP_PROXY_V1, (struct sockaddr *)&s6, (struct sockaddr *)&d6, buf,
			    sizeof(buf));
	assert_int_equal(n, 104);
	assert_true(n <= 107);
	/* One byte short: -ENOSPC, never a cut line. */
	assert_int_equal(
	    sp_proxy_header(SP_PROXY_V1, (struct sockaddr *)&s6, (struct sockaddr *)&d6, buf, 104),
	    -ENOSPC);
}

static void test_v2_ipv4(void **state)
{
	static const __u8 want[] = {
	    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, /* sig */
	    0x21,		 /* version 2, PROXY */
	    0x11,		 /* AF_INET, STREAM */
	    0x00, 0x0c,		 /* 12 bytes follow */
	    10,	  77,	0,    1, /* src */
	    10,	  77,	0,    2, /* dst */
	    0xdb, 0xc4,		 /* 56260 */
	    0x1f, 0x90,		 /* 8080 */
	};
	struct sockaddr_storage s = v4("10.77.0.1", 56260), d = v4("10.77.0.2", 8080);
	__u8 buf[SP_PROXY_HEADER_MAX];
	int n;

	n = sp_proxy_header(SP_PROXY_V2, (struct sockaddr *)&s, (struct sockaddr *)&d, buf,
			    sizeof(buf));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(sp_proxy_header(SP_PROXY_V2, (struct sockaddr *)&s, (struct sockaddr *)&d,
					 buf, sizeof(want) - 1),
			 -ENOSPC);
	/* IPv4-mapped IPv6 on both sides is IPv4 on the wire. */
	s = v6("::ffff:10.77.0.1", 56260);
	d = v6("::ffff:10.77.0.2", 8080);
	n = sp_proxy_header(SP_PROXY_V2, (struct sockaddr *)&s, (struct sockaddr *)&d, buf,
			    sizeof(buf));
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_v2_ipv6(void **state)
{
	struct sockaddr_storage s = v6("fd77::1", 1), d = v6("fd77::2", 443);
	__u8 buf[SP_PROXY_HEADER_MAX];
	int n;

	n = sp_proxy_header(SP_PROXY_V2, (struct sockaddr *)&s, (struct sockaddr *)&d, buf,
			    sizeof(buf));
	assert_int_equal(n, 16 + 36);
	assert_memory_equal(buf, SP_PROXY_V2_SIG, SP_PROXY_V2_SIG_LEN);
	assert_int_equal(buf[12], 0x21);
	assert_int_equal(buf[13], 0x21);
	assert_int_equal(buf[14], 0);
	assert_int_equal(buf[15], 36);
	assert_memory_equal(buf + 16, &((struct sockaddr_in6 *)&s)->sin6_addr, 16);
	assert_memory_equal(buf + 32, &((struct sockaddr_in6 *)&d)->sin6_addr, 16);
	assert_int_equal(buf[48] << 8 | buf[49], 1);
	assert_int_equal(buf[50] << 8 | buf[51], 443);
}

static void test_bad(void **state)
{
	struct sockaddr_storage s = v4("10.0.0.1", 1), d = v6("fd00::2", 2), u = {};
	__u8 buf[SP_PROXY_HEADER_MAX];
	enum sp_proxy_version v;

	assert_int_equal(sp_proxy_header(SP_PROXY_V2, (struct sockaddr *)&s, (struct sockaddr *)&d,
					 buf, sizeof(buf)),
			 -EAFNOSUPPORT);
	u.ss_family = AF_UNIX;
	assert_int_equal(sp_proxy_header(SP_PROXY_V1, (struct sockaddr *)&u, (struct sockaddr *)&u,
					 buf, sizeof(buf)),
			 -EAFNOSUPPORT);
	assert_int_equal(sp_proxy_header(SP_PROXY_NONE, (struct sockaddr *)&s,
					 (struct sockaddr *)&s, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(sp_proxy_version_parse("v1", &v), 0);
	assert_int_equal(v, SP_PROXY_V1);
	assert_int_equal(sp_proxy_version_parse("v2", &v), 0);
	assert_int_equal(v, SP_PROXY_V2);
	assert_int_equal(sp_proxy_version_parse("v3", &v), -EINVAL);
	assert_int_equal(sp_proxy_version_parse("", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1),
	    cmocka_unit_test(test_v2_ipv4),
	    cmocka_unit_test(test_v2_ipv6),
	    cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
