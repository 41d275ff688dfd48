/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* util.h - small parsers and formatters shared by the CLI commands. */
#ifndef __SP_UTIL_H
#define __SP_UTIL_H

#include <stddef.h>
#include <linux/types.h>

/*
 * sp_parse_duration_ms - a duration with a unit: "250us", "500ms", "2s", "1.5s", "5m", "1h";
 * a bare number is seconds ("0.5", "3"). Rounded up to whole ms; must be > 0 and fit in __u32.
 * Returns 0 and sets *ms, or -EINVAL (not a duration) or -ERANGE (0 or too large).
 */
int sp_parse_duration_ms(const char *s, __u32 *ms);

/*
 * sp_parse_count - a decimal whole number from 1 to @max (no sign, no white space) into *value.
 * Returns 0, or -EINVAL / -ERANGE.
 */
int sp_parse_count(const char *s, __u32 max, __u32 *value);

/* sp_parse_port - a decimal port 1..65535. Returns 0 and sets *port, or -EINVAL / -ERANGE. */
int sp_parse_port(const char *s, __u16 *port);

/* sp_one_line - each control character but '\t' of @s (a message that echoes input) made '?'. */
void sp_one_line(char *s);

/*
 * sp_format_ns - @ns as a human duration with 3 significant decimals and a unit ("41.2 us",
 * "1.503 ms", "2.000 s") into @buf (@len bytes, 24 is enough). Returns @buf.
 */
char *sp_format_ns(__u64 ns, char *buf, size_t len);

#endif
