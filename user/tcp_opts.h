/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* tcp_opts.h - the SYN-ACK's TCP options, copied raw by the tc ingress program, parsed here. */
#ifndef __SP_TCP_OPTS_H
#define __SP_TCP_OPTS_H

#include <stddef.h>
#include <linux/types.h>
#include "synprobe.h"

/* Option kinds (IANA "TCP Option Kind Numbers"). */
#define TCP_OPT_EOL 0	     /* end of option list (RFC 9293, 3.2) */
#define TCP_OPT_NOP 1	     /* no-operation (RFC 9293, 3.2) */
#define TCP_OPT_MSS 2	     /* maximum segment size, length 4 (RFC 9293, 3.2) */
#define TCP_OPT_WSCALE 3     /* window scale, length 3 (RFC 7323, 2.2) */
#define TCP_OPT_SACK_PERM 4  /* SACK permitted, length 2 (RFC 2018, 2) */
#define TCP_OPT_TIMESTAMPS 8 /* timestamps, length 10 (RFC 7323, 3.2) */

/* What the options say, as struct sp_flow keeps it. */
struct sp_tcp_opts {
	__u16 mss;    /* valid with SP_OPT_MSS */
	__u8 wscale;  /* valid with SP_OPT_WSCALE: the shift as sent (RFC 7323 caps its use at 14) */
	__u8 opts;    /* SP_OPT_MSS, SP_OPT_WSCALE, SP_OPT_SACK_PERM, SP_OPT_TIMESTAMPS, SP_OPT_MALFORMED */
};

/*
 * sp_tcp_opts_parse - walk @len bytes of TCP options at @buf (0 <= @len <= SP_TCP_OPTS_MAX; more
 * is treated as SP_TCP_OPTS_MAX) into @out, which is zeroed first.
 *
 * EOL ends the walk; NOP is one byte; every other option has a length byte that counts its kind
 * and length bytes too (RFC 9293, 3.2). An option whose length is < 2 or runs past @len ends the
 * walk with SP_OPT_MALFORMED; what was read before it stays. A known option with an unexpected
 * length is skipped, not believed. Unknown kinds are skipped. Pure: no allocation, no errors.
 */
void sp_tcp_opts_parse(const __u8 *buf, size_t len, struct sp_tcp_opts *out);

/*
 * sp_flow_parse_tcp_opts - fill @flow's reply_mss, reply_wscale and the option bits of
 * reply_opts from its raw reply_tcp_opts (reply_tcp_opts_len bytes), for a SYN-ACK. Keeps the
 * bits the kernel set (SP_OPT_DF, SP_OPT_MALFORMED). Other replies are left as they are.
 */
void sp_flow_parse_tcp_opts(struct sp_flow *flow);

#endif
