// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_duration.c - libFuzzer harness for the small number parsers of the command line and the
 * config: sp_parse_duration_ms(), sp_parse_count() and sp_parse_port() (user/util.c),
 * sp_parse_size_bytes() (user/halfclose.c), sp_parse_seconds() (user/keepalive.c) and
 * serve_parse_duration_ms() (user/serve_config.c).
 *
 * Input: the whole input is one string (cut at a NUL, as argv would), copied into a heap buffer
 * of exactly its length + 1, and given to every parser, counts with the bounds their callers use.
 * UBSan catches overflow. Invariants, each against the parser's header:
 * - durations: 1..UINT32_MAX ms; within a millisecond of strtold()'s reading, rounded up; a
 *   trailing 0 of the fraction changes nothing; a bare number is seconds; -ERANGE only for 0,
 *   too large, or more than 18 whole digits;
 * - counts and ports: 1..max, strtoul()'s value, decimal digits only;
 * - sizes: 1..2^62, the number times its unit, and a multiple of the unit;
 * - seconds: min..max, with at most an 's' after the digits;
 * - Prometheus durations (serve): the sum of the pairs, and the same as sp_parse_duration_ms()
 *   for one whole number with ms, s, m or h;
 * - shards (serve --shard, user/serve_shard.c): 0 <= K < N, written back as the input when it
 *   has no leading zeros; one message line otherwise.
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "halfclose.h"
#include "keepalive.h"
#include "output.h"
#include "serve_config.h"
#include "serve_shard.h"
#include "util.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

/*
 * halfclose.c and keepalive.c also hold their option parsers, which print through output.c; that
 * would bring json-c and the engine along. Those parsers are not called here: the messages they
 * would print abort.
 */
bool sp_json_output;

void sp_err(const char *fmt, ...)
{
	abort();
}

int sp_option_error(int opt, char **argv, const char *command)
{
	abort();
}

static bool all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* The unit of sp_parse_duration_ms() in ms (a bare number: s), or 0 if not one. */
static long double util_unit_ms(const char *unit)
{
	static const struct {
		const char *name;
		long double ms;
	} units[] = {
		{ "", 1000.0L }, { "ns", 1e-6L }, { "us", 1e-3L }, { "ms", 1.0L },
		{ "s", 1000.0L }, { "m", 60000.0L }, { "h", 3600000.0L },
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(unit, units[i].name))
			return units[i].ms;
	return 0;
}

static void check_duration(const char *s, size_t len)
{
	size_t n_whole, n_frac = 0;
	const char *p, *unit;
	long double v, unit_ms;
	__u32 ms = 0xdeadbeef, ms2;
	char *t;
	int rc;

	rc = sp_parse_duration_ms(s, &ms);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE);

	/* The syntax, independently: digits, an optional '.' and digits, a known unit. */
	n_whole = strspn(s, "0123456789");
	p = s + n_whole;
	if (*p == '.')
		n_frac = strspn(p + 1, "0123456789");
	unit = *p == '.' ? p + 1 + n_frac : p;
	unit_ms = util_unit_ms(unit);
	if (n_whole + n_frac == 0 || unit_ms == 0) {
		/* More than 18 whole digits is -ERANGE before the unit is looked at. */
		CHECK(rc == -EINVAL || (rc == -ERANGE && n_whole > 18));
		return;
	}
	CHECK(rc != -EINVAL);
	if (n_whole > 18) {
		CHECK(rc == -ERANGE);
		return;
	}
	/* strtold() reads the number itself; 1e-15 covers its rounding. */
	t = strndup(s, (size_t)(unit - s));
	CHECK(t);
	v = strtold(t, NULL) * unit_ms;
	free(t);
	if (rc == -ERANGE) {
		CHECK(v == 0 || v > 4294967295.0L * (1 - 1e-15L));
		return;
	}
	CHECK(ms >= 1);
	CHECK((long double)ms >= v * (1 - 1e-15L));	  /* rounded up ... */
	CHECK((long double)ms - 1 < v * (1 + 1e-15L) + 1e-9L); /* ... by less than 1 ms */

	/* A trailing 0 of the fraction (or a ".0") changes nothing; a bare number is seconds. */
	if (len < 100) {
		char buf[128];
		size_t cut = (size_t)(unit - s);

		memcpy(buf, s, cut);
		if (*p == '.')
			buf[cut++] = '0';
		else {
			buf[cut++] = '.';
			buf[cut++] = '0';
		}
		strcpy(buf + cut, unit);
		CHECK(sp_parse_duration_ms(buf, &ms2) == 0 && ms2 == ms);
		if (!*unit) {
			snprintf(buf, sizeof(buf), "%ss", s);
			CHECK(sp_parse_duration_ms(buf, &ms2) == 0 && ms2 == ms);
		}
	}
}

static void check_count(const char *s, __u32 max)
{
	__u32 v = 0xdeadbeef;
	unsigned long long ref;
	int rc;

	rc = sp_parse_count(s, max, &v);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE);
	if (*s < '0' || *s > '9') {
		CHECK(rc == -EINVAL);
		return;
	}
	/* Junk after the digits is -EINVAL, however many digits come first; then too many is -ERANGE. */
	if (!all_digits(s)) {
		CHECK(rc == -EINVAL);
		return;
	}
	errno = 0;
	ref = strtoull(s, NULL, 10);
	if (errno == ERANGE) {
		CHECK(rc == -ERANGE);
		return;
	}
	CHECK(rc != -EINVAL);
	if (ref < 1 || ref > max) {
		CHECK(rc == -ERANGE);
		return;
	}
	CHECK(rc == 0 && v == ref && v >= 1 && v <= max);
}

static void check_port(const char *s)
{
	__u32 v;
	__u16 port = 0xbeef;
	int rc;

	rc = sp_parse_port(s, &port);
	CHECK(rc == sp_parse_count(s, 65535, &v));
	if (!rc)
		CHECK(port >= 1 && port == v);
}

static void check_size(const char *s)
{
	unsigned int shift = 0;
	unsigned long long ref;
	__u64 bytes = 0xdeadbeef;
	const char *end;
	int rc;

	rc = sp_parse_size_bytes(s, &bytes);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE);
	end = s + strspn(s, "0123456789");
	if (end == s) {
		CHECK(rc == -EINVAL);
		return;
	}
	/* Too many digits is -ERANGE before the unit is looked at. */
	errno = 0;
	ref = strtoull(s, NULL, 10);
	if (errno == ERANGE) {
		CHECK(rc == -ERANGE);
		return;
	}
	if (*end) {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default:
			CHECK(rc == -EINVAL);
			return;
		}
		if (end[1] && strcasecmp(end + 1, "b") && strcasecmp(end + 1, "ib")) {
			CHECK(rc == -EINVAL);
			return;
		}
	}
	if (ref == 0 || ref > (1ULL << (62 - shift))) {
		CHECK(rc == -ERANGE);
		return;
	}
	CHECK(rc == 0);
	CHECK(bytes >= 1 && bytes <= (1ULL << 62));
	CHECK(bytes == ref << shift && bytes % (1ULL << shift) == 0);
}

static void check_seconds(const char *s, __u32 min, __u32 max)
{
	__u32 v = 0xdeadbeef;
	int rc;

	rc = sp_parse_seconds(s, min, max, &v);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE);
	if (!rc) {
		size_t n = strspn(s, "0123456789");

		CHECK(n > 0 && (s[n] == '\0' || (s[n] == 's' && s[n + 1] == '\0')));
		CHECK(v >= min && v <= max && v == strtoul(s, NULL, 10));
	}
}

static void check_serve_duration(const char *s)
{
	static const struct {
		const char *name;
		__u64 ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 } };
	__u32 ms = 0xdeadbeef, ms2;
	unsigned __int128 total = 0;
	const char *p = s, *num;
	bool single, syntax_ok = *s != '\0', too_big = false;
	size_t i, n, ulen, pairs = 0;
	unsigned long long v;
	int rc;

	rc = serve_parse_duration_ms(s, &ms);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE);

	/* The pairs, independently (unit: the lower-case letters after the digits). */
	while (*p && syntax_ok) {
		num = p;
		n = strspn(p, "0123456789");
		if (!n) {
			syntax_ok = false;
			break;
		}
		p += n;
		ulen = strspn(p, "abcdefghijklmnopqrstuvwxyz");

		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ulen && !strncmp(p, units[i].name, ulen))
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			syntax_ok = false;
			break;
		}
		/* A number above UINT32_MAX is -ERANGE on its own. */
		errno = 0;
		v = strtoull(num, NULL, 10);
		if (errno == ERANGE || v > UINT32_MAX)
			too_big = true;
		else
			total += (unsigned __int128)v * units[i].ms;
		p += ulen;
		pairs++;
	}
	if (!syntax_ok) {
		/* -ERANGE may come first, from a number too large before the bad part. */
		CHECK(rc == -EINVAL || rc == -ERANGE);
		return;
	}
	if (too_big || total > UINT32_MAX) {
		CHECK(rc == -ERANGE);
		return;
	}
	CHECK(rc == 0 && ms == (__u32)total);

	/* One whole number with ms, s, m or h: what sp_parse_duration_ms() reads too. */
	n = strspn(s, "0123456789");
	single = pairs == 1 && n <= 18 && strcmp(s + n, "d");
	if (single && ms > 0)
		CHECK(sp_parse_duration_ms(s, &ms2) == 0 && ms2 == ms);
}

/* serve --shard K/N: a good K/N written back is the input (no leading zeros), else one line. */
static void check_shard(const char *s)
{
	struct serve_shard sh = {.index = 7, .count = 7};
	char msg[SERVE_SHARD_ERR_MAX], back[32];
	const char *n;

	msg[0] = '\0';
	if (serve_shard_parse(s, &sh, msg, sizeof(msg))) {
		CHECK(msg[0] && !strchr(msg, '\n'));
		CHECK(sh.index == 7 && sh.count == 7);
		return;
	}
	CHECK(sh.count >= 1 && sh.index < sh.count);
	CHECK(serve_hashmod(s, sh.count) < sh.count);
	snprintf(back, sizeof(back), "%u/%u", sh.index, sh.count);
	n = strchr(s, '/') + 1;
	if ((s[0] != '0' || s[1] == '/') && n[0] != '0')
		CHECK(!strcmp(back, s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = strnlen((const char *)data, size);
	char *s;

	s = malloc(len + 1);
	CHECK(s);
	memcpy(s, data, len);
	s[len] = '\0';

	check_duration(s, len);
	check_count(s, 1000000000); /* check -c, --per-target, ping -c */
	check_count(s, 128);	    /* serve --probe-max-per-client */
	check_count(s, UINT32_MAX);
	check_port(s);
	check_size(s);
	check_seconds(s, 1, SP_KA_IDLE_MAX_S);
	check_seconds(s, 1, SP_KA_COUNT_MAX);
	check_seconds(s, 0, UINT32_MAX);
	check_serve_duration(s);
	check_shard(s);

	free(s);
	return 0;
}
