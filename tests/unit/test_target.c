// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_target.c - sp_target_parse() on every accepted and rejected TARGET form, and
 * sp_target_resolve() on numeric hosts and "localhost" only: no test ever asks DNS.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include "target.h"

struct parse_ok_case {
	const char *arg;
	__u16 default_port; /* -p, 0 when not given */
	const char *host;
	__u16 port;
	bool ipv6_literal;
};

static const struct parse_ok_case parse_ok_cases[] = {
	/* host:port */
	{ "example.com:80", 0, "example.com", 80, false },
	{ "localhost:22", 0, "localhost", 22, false },
	{ "127.0.0.1:8080", 0, "127.0.0.1", 8080, false },
	{ "h:1", 0, "h", 1, false },
	{ "h:65535", 0, "h", 65535, false },
	{ "h:080", 0, "h", 80, false },
	/* [ipv6]:port */
	{ "[::1]:80", 0, "::1", 80, true },
	{ "[2001:db8::1]:65535", 0, "2001:db8::1", 65535, true },
	{ "[::ffff:192.0.2.1]:80", 0, "::ffff:192.0.2.1", 80, true },
	/* a port in the target wins over -p */
	{ "127.0.0.1:8080", 443, "127.0.0.1", 8080, false },
	{ "example.com:80", 443, "example.com", 80, false },
	{ "[::1]:80", 443, "::1", 80, true },
	/* host, [ipv6] or a bare IPv6 with -p */
	{ "example.com", 443, "example.com", 443, false },
	{ "127.0.0.1", 1, "127.0.0.1", 1, false },
	{ "[::1]", 443, "::1", 443, true },
	{ "[2001:db8::1]", 22, "2001:db8::1", 22, true },
	{ "::1", 443, "::1", 443, true },
	{ "2001:db8::1", 22, "2001:db8::1", 22, true },
	{ "::", 22, "::", 22, true },
	/* zone ids, by name or by number */
	{ "fe80::1%lo", 22, "fe80::1%lo", 22, true },
	{ "[fe80::1%lo]:80", 0, "fe80::1%lo", 80, true },
	{ "[fe80::1%lo]", 8080, "fe80::1%lo", 8080, true },
	{ "[fe80::1%1]:80", 0, "fe80::1%1", 80, true },
};

static void test_parse_accepted(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(parse_ok_cases) / sizeof(parse_ok_cases[0]); i++) {
		const struct parse_ok_case *c = &parse_ok_cases[i];
		struct sp_target_spec t;
		char err[SP_ERR_MAX] = "";
		int rc = sp_target_parse(c->arg, c->default_port, &t, err, sizeof(err));

		if (rc) {
			print_error("# '%s' -p %u: returned %d (%s), expected 0\n", c->arg,
				    c->default_port, rc, err);
			bad++;
		} else if (strcmp(t.host, c->host) || t.port != c->port ||
			   t.ipv6_literal != c->ipv6_literal) {
			print_error("# '%s' -p %u: host '%s' port %u ipv6 %d,"
				    " expected '%s' %u %d\n", c->arg, c->default_port, t.host,
				    t.port, t.ipv6_literal, c->host, c->port, c->ipv6_literal);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

struct parse_bad_case {
	const char *arg;
	__u16 default_port;
	const char *names; /* how the message names the input */
	const char *fix;   /* what the message tells the user to do */
};

static const struct parse_bad_case parse_bad_cases[] = {
	{ "", 0, "empty target", "write host:port" },
	{ "", 443, "empty target", "write host:port" },
	/* ports */
	{ "h:0", 0, "'h:0'", "from 1 to 65535" },
	{ "h:0", 443, "'h:0'", "from 1 to 65535" },
	{ "h:65536", 0, "'h:65536'", "from 1 to 65535" },
	{ "h:99999999999", 0, "'h:99999999999'", "from 1 to 65535" },
	{ "h:http", 0, "'h:http'", "from 1 to 65535" },
	{ "h:-1", 0, "'h:-1'", "from 1 to 65535" },
	{ "h:+80", 0, "'h:+80'", "from 1 to 65535" },
	{ "h:80 ", 0, "'h:80 '", "from 1 to 65535" },
	{ "host:", 0, "'host:'", "from 1 to 65535" },
	{ "host:", 443, "'host:'", "from 1 to 65535" },
	{ "[::1]:", 0, "'[::1]:'", "from 1 to 65535" },
	{ "[::1]:0", 0, "'[::1]:0'", "from 1 to 65535" },
	{ "[::1]:65536", 0, "'[::1]:65536'", "from 1 to 65535" },
	/* hosts */
	{ ":80", 0, "':80'", "write host:port" },
	{ "[]:80", 0, "'[]:80'", "write " },
	{ "[::1", 0, "'[::1'", "write [ipv6]:port" },
	{ "[::1", 443, "'[::1'", "write [ipv6]:port" },
	{ "[::1]x", 0, "'[::1]x'", "write [ipv6]:port" },
	{ "[::1]80", 0, "'[::1]80'", "write [ipv6]:port" },
	{ "[zz::1]:80", 0, "'[zz::1]:80'", "write " },
	{ "1:2:3", 0, "'1:2:3'", "write [ipv6]:port or host:port" },
	{ "1:2:3", 443, "'1:2:3'", "write [ipv6]:port or host:port" },
	{ "h:80:90", 0, "'h:80:90'", "write [ipv6]:port or host:port" },
	{ "fe80::1%nosuch0", 22, "'fe80::1%nosuch0'", "write [ipv6]:port or host:port" },
	/* no port anywhere */
	{ "example.com", 0, "'example.com'", "give -p PORT" },
	{ "127.0.0.1", 0, "'127.0.0.1'", "give -p PORT" },
	{ "::1", 0, "'::1'", "write [::1]:port or give -p PORT" },
	{ "[::1]", 0, "'[::1]'", "write [::1]:port or give -p PORT" },
};

static void test_parse_rejected(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(parse_bad_cases) / sizeof(parse_bad_cases[0]); i++) {
		const struct parse_bad_case *c = &parse_bad_cases[i];
		struct sp_target_spec t;
		char err[SP_ERR_MAX] = "";
		int rc = sp_target_parse(c->arg, c->default_port, &t, err, sizeof(err));

		if (rc != -EINVAL) {
			print_error("# '%s' -p %u: returned %d, expected -EINVAL\n", c->arg,
				    c->default_port, rc);
			bad++;
		} else if (!strstr(err, c->names) || !strstr(err, c->fix)) {
			print_error("# '%s' -p %u: message \"%s\" lacks \"%s\" or \"%s\"\n", c->arg,
				    c->default_port, err, c->names, c->fix);
			bad++;
		} else if (strchr(err, '\n')) {
			print_error("# '%s': message \"%s\" is not one line\n", c->arg, err);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_parse_null(void **state)
{
	struct sp_target_spec t;
	char err[SP_ERR_MAX] = "";

	assert_int_equal(sp_target_parse(NULL, 443, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty target"));
}

/* 255 characters is the longest host; 256 is refused with a message that names the input. */
static void test_parse_host_length(void **state)
{
	char arg[SP_HOST_MAX + 8], err[SP_ERR_MAX] = "";
	struct sp_target_spec t;

	memset(arg, 'a', SP_HOST_MAX - 1);
	strcpy(arg + SP_HOST_MAX - 1, ":80");
	assert_int_equal(sp_target_parse(arg, 0, &t, err, sizeof(err)), 0);
	assert_int_equal(strlen(t.host), SP_HOST_MAX - 1);
	assert_int_equal(t.port, 80);

	memset(arg, 'a', SP_HOST_MAX);
	strcpy(arg + SP_HOST_MAX, ":80");
	assert_int_equal(sp_target_parse(arg, 0, &t, err, sizeof(err)), -EINVAL);
	/* the input, shortened: its first 40 characters */
	arg[40] = '\0';
	assert_non_null(strstr(err, arg));
	assert_non_null(strstr(err, "255"));

	/* the same without a port, and inside brackets */
	memset(arg, 'a', SP_HOST_MAX + 4);
	arg[SP_HOST_MAX + 4] = '\0';
	assert_int_equal(sp_target_parse(arg, 443, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "255"));
	arg[0] = '[';
	strcpy(arg + SP_HOST_MAX + 1, "]:80");
	assert_int_equal(sp_target_parse(arg, 0, &t, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "255"));
}

/* Parse @arg (which must be valid) and resolve it. */
static int parse_resolve(const char *arg, __u16 default_port, int family, bool all,
			 struct sp_address *out, size_t max, char *err, size_t errlen)
{
	struct sp_target_spec t;

	assert_int_equal(sp_target_parse(arg, default_port, &t, err, errlen), 0);
	return sp_target_resolve(&t, family, all, out, max, err, errlen);
}

static void assert_in4(const struct sp_address *a, const char *addr, __u16 port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->addr;
	struct in_addr want;

	assert_int_equal(inet_pton(AF_INET, addr, &want), 1);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(a->addrlen, sizeof(*sin));
	assert_int_equal(sin->sin_addr.s_addr, want.s_addr);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void assert_in6(const struct sp_address *a, const char *addr, __u16 port, __u32 scope_id)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->addr;
	struct in6_addr want;

	assert_int_equal(inet_pton(AF_INET6, addr, &want), 1);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(a->addrlen, sizeof(*sin6));
	assert_memory_equal(&sin6->sin6_addr, &want, sizeof(want));
	assert_int_equal(ntohs(sin6->sin6_port), port);
	assert_int_equal(sin6->sin6_scope_id, scope_id);
}

static void test_resolve_ipv4_literal(void **state)
{
	struct sp_address a[4];
	char err[SP_ERR_MAX] = "", buf[64];
	__u16 port = 0;

	assert_int_equal(parse_resolve("127.0.0.1:80", 0, AF_UNSPEC, false, a, 4, err,
				       sizeof(err)), 1);
	assert_in4(&a[0], "127.0.0.1", 80);
	assert_int_equal(parse_resolve("192.0.2.1", 443, AF_INET, true, a, 4, err, sizeof(err)), 1);
	assert_in4(&a[0], "192.0.2.1", 443);
	assert_string_equal(sp_address_str(&a[0].addr, buf, sizeof(buf), &port), "192.0.2.1");
	assert_int_equal(port, 443);
}

static void test_resolve_ipv6_literal(void **state)
{
	struct sp_address a[4];
	char err[SP_ERR_MAX] = "", buf[64];
	__u16 port = 0;

	assert_int_equal(parse_resolve("[2001:db8::1]:443", 0, AF_UNSPEC, true, a, 4, err,
				       sizeof(err)), 1);
	assert_in6(&a[0], "2001:db8::1", 443, 0);
	assert_int_equal(parse_resolve("::1", 22, AF_INET6, false, a, 4, err, sizeof(err)), 1);
	assert_in6(&a[0], "::1", 22, 0);
	assert_string_equal(sp_address_str(&a[0].addr, buf, sizeof(buf), &port), "::1");
	assert_int_equal(port, 22);
}

static void test_resolve_zone(void **state)
{
	unsigned int lo = if_nametoindex("lo");
	struct sp_address a[4];
	char err[SP_ERR_MAX] = "", buf[64];
	__u16 port = 0;

	assert_int_not_equal(lo, 0);
	assert_int_equal(parse_resolve("[fe80::1%lo]:80", 0, AF_UNSPEC, true, a, 4, err,
				       sizeof(err)), 1);
	assert_in6(&a[0], "fe80::1", 80, lo);
	assert_string_equal(sp_address_str(&a[0].addr, buf, sizeof(buf), &port), "fe80::1%lo");
	assert_int_equal(port, 80);

	assert_int_equal(parse_resolve("fe80::1%lo", 22, AF_INET6, false, a, 4, err, sizeof(err)),
			 1);
	assert_in6(&a[0], "fe80::1", 22, lo);
}

/* -4 with an IPv6 literal and -6 with an IPv4 literal: -ENOENT, and the message says why. */
static void test_resolve_wrong_family(void **state)
{
	struct sp_address a[4];
	char err[SP_ERR_MAX] = "";

	assert_int_equal(parse_resolve("[::1]:80", 0, AF_INET, true, a, 4, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "'::1'"));
	assert_non_null(strstr(err, "IPv4"));
	assert_non_null(strstr(err, "drop -4"));

	err[0] = '\0';
	assert_int_equal(parse_resolve("2001:db8::1", 80, AF_INET, false, a, 4, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "'2001:db8::1'"));
	assert_non_null(strstr(err, "drop -4"));

	err[0] = '\0';
	assert_int_equal(parse_resolve("127.0.0.1:80", 0, AF_INET6, true, a, 4, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "'127.0.0.1'"));
	assert_non_null(strstr(err, "IPv6"));
	assert_non_null(strstr(err, "drop -6"));
}

static bool is_loopback(const struct sp_address *a)
{
	if (a->addr.ss_family == AF_INET)
		return ntohl(((const struct sockaddr_in *)&a->addr)->sin_addr.s_addr) >> 24 == 127;
	if (a->addr.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->addr)->sin6_addr);
	return false;
}

/* "localhost" from the system's /etc/hosts: loopback addresses only, each once. */
static void test_resolve_localhost(void **state)
{
	struct sp_address a[16];
	char err[SP_ERR_MAX] = "";
	int n, i, j;

	assert_int_equal(parse_resolve("localhost:80", 0, AF_UNSPEC, false, a, 16, err,
				       sizeof(err)), 1);
	assert_true(is_loopback(&a[0]));

	n = parse_resolve("localhost", 80, AF_UNSPEC, true, a, 16, err, sizeof(err));
	assert_true(n >= 1);
	for (i = 0; i < n; i++) {
		assert_true(is_loopback(&a[i]));
		assert_int_equal(ntohs(((struct sockaddr_in *)&a[i].addr)->sin_port), 80);
		for (j = 0; j < i; j++)
			assert_memory_not_equal(&a[i].addr, &a[j].addr, sizeof(a[i].addr));
	}

	assert_int_equal(parse_resolve("localhost:22", 0, AF_INET, true, a, 16, err, sizeof(err)),
			 1);
	assert_in4(&a[0], "127.0.0.1", 22);
}

/* What a child that resolved "localhost" against a private /etc/hosts reports. */
struct dedup_report {
	int setup_errno; /* unshare() or mount() failed with this; nothing else is valid */
	int n_all;
	int n_first;
	int n_max1;
	struct sp_address all[8];
	struct sp_address first;
	char err[SP_ERR_MAX];
};

static const char dedup_hosts[] = "127.0.0.1 localhost\n"
				  "127.0.0.1 localhost\n"
				  "::1 localhost\n"
				  "::1 localhost ip6-localhost\n"
				  "127.0.0.1 localhost\n";

/*
 * In a child with its own mount namespace, bind-mount @hosts over /etc/hosts and resolve
 * "localhost": a file with the same address on several lines makes getaddrinfo() repeat it.
 */
static void dedup_child(const char *hosts, int wfd)
{
	struct dedup_report r = {};
	struct sp_target_spec t = { .host = "localhost", .port = 80 };

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL)) {
		r.setup_errno = errno;
	} else {
		r.n_all = sp_target_resolve(&t, AF_UNSPEC, true, r.all, 8, r.err, sizeof(r.err));
		r.n_first = sp_target_resolve(&t, AF_UNSPEC, false, &r.first, 1, r.err,
					      sizeof(r.err));
		r.n_max1 = sp_target_resolve(&t, AF_UNSPEC, true, r.all + 7, 1, r.err,
					     sizeof(r.err));
	}
	if (write(wfd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
	_exit(0);
}

static void test_resolve_all_deduplicates(void **state)
{
	char hosts[] = "/tmp/sp-test-hosts.XXXXXX";
	struct dedup_report r;
	int fds[2], fd, status, i, j, v4 = 0, v6 = 0;
	size_t got = 0;
	ssize_t rc;
	pid_t pid;

	fd = mkstemp(hosts);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, dedup_hosts, strlen(dedup_hosts)), strlen(dedup_hosts));
	close(fd);
	assert_int_equal(pipe(fds), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dedup_child(hosts, fds[1]);
	}
	close(fds[1]);
	while (got < sizeof(r)) {
		rc = read(fds[0], (char *)&r + got, sizeof(r) - got);
		if (rc <= 0)
			break;
		got += rc;
	}
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(hosts);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, sizeof(r));
	if (r.setup_errno == EPERM)
		skip(); /* needs CAP_SYS_ADMIN: run as root */
	assert_int_equal(r.setup_errno, 0);

	/* three lines of 127.0.0.1 and two of ::1: one address each */
	assert_int_equal(r.n_all, 2);
	for (i = 0; i < r.n_all; i++) {
		v4 += r.all[i].addr.ss_family == AF_INET;
		v6 += r.all[i].addr.ss_family == AF_INET6;
		for (j = 0; j < i; j++)
			assert_memory_not_equal(&r.all[i].addr, &r.all[j].addr,
						sizeof(r.all[i].addr));
	}
	assert_int_equal(v4, 1);
	assert_int_equal(v6, 1);
	for (i = 0; i < r.n_all; i++) {
		if (r.all[i].addr.ss_family == AF_INET)
			assert_in4(&r.all[i], "127.0.0.1", 80);
		else
			assert_in6(&r.all[i], "::1", 80, 0);
	}
	/* without all: the first of the same list */
	assert_int_equal(r.n_first, 1);
	assert_memory_equal(&r.first, &r.all[0], sizeof(r.first));
	/* @max bounds the output */
	assert_int_equal(r.n_max1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_accepted),
		cmocka_unit_test(test_parse_rejected),
		cmocka_unit_test(test_parse_null),
		cmocka_unit_test(test_parse_host_length),
		cmocka_unit_test(test_resolve_ipv4_literal),
		cmocka_unit_test(test_resolve_ipv6_literal),
		cmocka_unit_test(test_resolve_zone),
		cmocka_unit_test(test_resolve_wrong_family),
		cmocka_unit_test(test_resolve_localhost),
		cmocka_unit_test(test_resolve_all_deduplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
