// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* util.c - duration and port parsing (strtod/strtoul with errno checked), duration formatting. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"

static const struct {
	const char *name;
	double ms;
} duration_units[] = {
	{ "ns", 1e-6 }, { "us", 1e-3 }, { "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
};

int sp_parse_duration_ms(const char *s, __u32 *ms)
{
	double value, scale = 1e3; /* a bare number is seconds */
	size_t i, digits;
	char *end;

	/* Only plain decimals: no sign, exponent, hex, "inf" or white space. */
	digits = s ? strspn(s, "0123456789.") : 0;
	if (!digits)
		return -EINVAL;
	errno = 0;
	value = strtod(s, &end);
	if (errno || end != s + digits)
		return -EINVAL;
	if (*end) {
		for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
			if (!strcmp(end, duration_units[i].name))
				break;
		if (i == sizeof(duration_units) / sizeof(duration_units[0]))
			return -EINVAL;
		scale = duration_units[i].ms;
	}
	value = ceil(value * scale);
	if (value < 1 || value > 4294967295.0)
		return -ERANGE;
	*ms = (__u32)value;
	return 0;
}

int sp_parse_port(const char *s, __u16 *port)
{
	unsigned long v;
	char *end;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < 1 || v > 65535)
		return -ERANGE;
	*port = (__u16)v;
	return 0;
}

char *sp_format_ns(__u64 ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%llu ns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.3f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", ns / 1e9);
	return buf;
}
