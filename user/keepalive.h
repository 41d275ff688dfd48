/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* keepalive.h - the testable parts of `synprobe keepalive` (user/cmd_keepalive.c). */
#ifndef __SP_KEEPALIVE_H
#define __SP_KEEPALIVE_H

#include <stdbool.h>
#include <linux/types.h>

/* Limits of the kernel's setsockopt() (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT). */
#define SP_KA_IDLE_MAX_S 32767
#define SP_KA_INTERVAL_MAX_S 32767
#define SP_KA_COUNT_MAX 127

struct sp_keepalive_args {
	const char *target;	 /* TARGET (argv entry), NULL with --listen */
	const char *listen;	 /* --listen ADDR:PORT (argv entry), NULL for the client */
	__u32 idle_s;		 /* TCP_KEEPIDLE */
	__u32 interval_s;	 /* TCP_KEEPINTVL */
	__u32 count;		 /* TCP_KEEPCNT */
	__u32 duration_ms;	 /* how long to run; 0: until the connection dies or a signal */
	__u32 connect_timeout_ms;
	int verbose;		 /* -v count */
	bool json;
};

/*
 * sp_keepalive_parse_args - parse `synprobe keepalive` arguments (@argv[0] is "keepalive") into
 * @a, defaults filled in. Returns 0, 1 when --help was printed (exit 0), or -EINVAL after one
 * error line (exit 2).
 */
int sp_keepalive_parse_args(int argc, char **argv, struct sp_keepalive_args *a);

/*
 * sp_parse_seconds - whole seconds, "5" or "5s", from @min to @max. Returns 0 and sets *@s, or
 * -EINVAL (not a whole number of seconds) or -ERANGE (outside @min..@max).
 */
int sp_parse_seconds(const char *str, __u32 min, __u32 max, __u32 *s);

#endif
