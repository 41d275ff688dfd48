/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cescape.h - C escapes in the text of --send (and serve's query_response send:), into bytes.
 *
 * The escapes are C's (ISO C11 6.4.4.4) as printf(1) and HAProxy's tcp-check send take them:
 * \r \n \t \0 \\ \" \' \a \b \e \f \v, \xHH (exactly one or two hex digits, so "\x41B" is "AB"),
 * and \NNN (one to three octal digits, at most \377). The result is binary: it may hold NUL bytes,
 * so it has a length and no terminator is counted.
 */
#ifndef __SP_CESCAPE_H
#define __SP_CESCAPE_H

#include <stddef.h>
#include <linux/types.h>

/* The most bytes one --send gives (a payload, not a file). */
#define SP_SEND_MAX 4096

/*
 * sp_cescape_parse - the bytes of @in (a NUL-terminated string, C escapes decoded) into @out
 * (@cap bytes), their number into *@len.
 * Returns 0, or -EINVAL (a bad escape: a trailing '\', an unknown letter, \x without a hex digit,
 * an octal escape above \377) or -E2BIG (more than @cap bytes), with one line in @err (@errlen
 * bytes) that names the escape, its position (1-based) and the fix. *@len is then 0.
 */
int sp_cescape_parse(const char *in, __u8 *out, size_t cap, size_t *len, char *err, size_t errlen);

#endif
