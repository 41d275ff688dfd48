// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* util.c - duration and port parsing (strtod/strtoul with errno checked), duration formatting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

static const struct {
	const char *name;
	unsigned long long ns;
} duration_units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60000000000ULL },
	{ "h", 3600000000000ULL },
};

#define NSEC_PER_MSEC 1000000ULL
#define DIGITS_MAX 18 /* fits in unsigned long long with room to scale */

int sp_parse_duration_ms(const char *s, __u32 *ms)
{
	unsigned __int128 total_ns, frac_ns;
	unsigned long long whole = 0, frac = 0, frac_div = 1, unit_ns = NSEC_PER_MSEC * 1000;
	size_t i, n_whole, n_frac = 0;
	const char *p, *unit;

	/* Only plain decimals, parsed as integers (no float rounding): no sign, exponent, hex. */
	if (!s)
		return -EINVAL;
	n_whole = strspn(s, "0123456789");
	p = s + n_whole;
	if (*p == '.') {
		n_frac = strspn(p + 1, "0123456789");
		unit = p + 1 + n_frac;
	} else {
		unit = p;
	}
	if (n_whole + n_frac == 0)
		return -EINVAL;
	if (n_whole > DIGITS_MAX)
		return -ERANGE;
	for (i = 0; i < n_whole; i++)
		whole = whole * 10 + (s[i] - '0');
	/* Digits past the 18th of the fraction are below a nanosecond of any unit: they only round up. */
	for (i = 0; i < n_frac; i++) {
		if (i < DIGITS_MAX) {
			frac = frac * 10 + (p[1 + i] - '0');
			frac_div *= 10;
		} else if (p[1 + i] != '0') {
			frac += 1; /* ceil: whatever is left makes it a little more */
			break;
		}
	}
	if (*unit) {
		for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
			if (!strcmp(unit, duration_units[i].name))
				break;
		if (i == sizeof(duration_units) / sizeof(duration_units[0]))
			return -EINVAL;
		unit_ns = duration_units[i].ns;
	}
	frac_ns = ((unsigned __int128)frac * unit_ns + frac_div - 1) / frac_div;
	total_ns = (unsigned __int128)whole * unit_ns + frac_ns;
	total_ns = (total_ns + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC; /* now ms, rounded up */
	if (total_ns < 1 || total_ns > 4294967295U)
		return -ERANGE;
	*ms = (__u32)total_ns;
	return 0;
}

int sp_parse_count(const char *s, __u32 max, __u32 *value)
{
	unsigned long v;
	char *end;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL; /* junk after the digits, however many there are */
	if (errno == ERANGE)
		return -ERANGE;
	if (errno)
		return -EINVAL;
	if (v < 1 || v > max)
		return -ERANGE;
	*value = (__u32)v;
	return 0;
}

int sp_parse_port(const char *s, __u16 *port)
{
	__u32 v;
	int err;

	err = sp_parse_count(s, 65535, &v);
	if (!err)
		*port = (__u16)v;
	return err;
}

void sp_one_line(char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			*s = '?';
}

char *sp_format_ns(__u64 ns, char *buf, size_t len)
{
	/* The unit is chosen after rounding: 999999 ns is "1.000 ms", not "1000.0 us". */
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 999950)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 999999500)
		snprintf(buf, len, "%.3f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", ns / 1e9);
	return buf;
}
