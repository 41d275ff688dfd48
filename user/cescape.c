// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cescape.c - C escapes into bytes (cescape.h). */
#include <errno.h>
#include <stdio.h>
#include "cescape.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte of a one-letter escape, or -1. */
static int simple_escape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case '\\':
		return '\\';
	case '"':
		return '"';
	case '\'':
		return '\'';
	case '?':
		return '?';
	case 'a':
		return '\a';
	case 'b':
		return '\b';
	case 'e':
		return 0x1b;
	case 'f':
		return '\f';
	case 'v':
		return '\v';
	}
	return -1;
}

int sp_cescape_parse(const char *in, __u8 *out, size_t cap, size_t *len, char *err, size_t errlen)
{
	size_t n = 0, i = 0, at;
	int v, d, k;

	*len = 0;
	while (in[i]) {
		if (n == cap) {
			snprintf(err, errlen, "more than %zu bytes: send less at once", cap);
			return -E2BIG;
		}
		if (in[i] != '\\') {
			out[n++] = (__u8)in[i++];
			continue;
		}
		at = i + 1; /* 1-based position of the backslash */
		i++;
		if (!in[i]) {
			snprintf(err, errlen,
				 "a '\\' ends the text (at %zu): write '\\\\' for a backslash", at);
			return -EINVAL;
		}
		if (in[i] == 'x') {
			i++;
			v = hex_digit(in[i]);
			if (v < 0) {
				snprintf(
				    err, errlen,
				    "'\\x' at %zu has no hex digit after it: write \\x00 to \\xff",
				    at);
				return -EINVAL;
			}
			i++;
			d = hex_digit(in[i]);
			if (d >= 0) {
				v = v * 16 + d;
				i++;
			}
			out[n++] = (__u8)v;
			continue;
		}
		if (in[i] >= '0' && in[i] <= '7') {
			v = 0;
			for (k = 0; k < 3 && in[i] >= '0' && in[i] <= '7'; k++)
				v = v * 8 + (in[i++] - '0');
			if (v > 0xff) {
				snprintf(err, errlen,
					 "octal escape at %zu is above \\377: write at most 3 "
					 "digits up to \\377",
					 at);
				return -EINVAL;
			}
			out[n++] = (__u8)v;
			continue;
		}
		v = simple_escape(in[i]);
		if (v < 0) {
			if ((unsigned char)in[i] >= 0x20 && (unsigned char)in[i] < 0x7f)
				snprintf(err, errlen,
					 "unknown escape '\\%c' at %zu: use \\r \\n \\t \\0 \\\\ "
					 "\\xHH or \\NNN (octal)",
					 in[i], at);
			else
				snprintf(err, errlen,
					 "unknown escape at %zu: use \\r \\n \\t \\0 \\\\ \\xHH or "
					 "\\NNN (octal)",
					 at);
			return -EINVAL;
		}
		out[n++] = (__u8)v;
		i++;
	}
	*len = n;
	return 0;
}
