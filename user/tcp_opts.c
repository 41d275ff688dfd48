// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tcp_opts.c - parse the SYN-ACK's TCP options in user space. The tc ingress program only copies
 * them (at most 40 bytes) into the event, so the per-packet program has no loop to verify and
 * loads on every kernel from the floor up; the walk, and its tests, live here.
 */
#include <string.h>
#include "tcp_opts.h"

void sp_tcp_opts_parse(const __u8 *buf, size_t len, struct sp_tcp_opts *out)
{
	size_t off = 0;
	__u8 kind, opt_len;

	memset(out, 0, sizeof(*out));
	if (len > SP_TCP_OPTS_MAX)
		len = SP_TCP_OPTS_MAX;
	while (off < len) {
		kind = buf[off];
		if (kind == TCP_OPT_EOL)
			break;
		if (kind == TCP_OPT_NOP) {
			off++;
			continue;
		}
		if (off + 1 >= len) {
			out->opts |= SP_OPT_MALFORMED; /* no room for the length byte */
			break;
		}
		opt_len = buf[off + 1];
		if (opt_len < 2 || off + opt_len > len) {
			out->opts |= SP_OPT_MALFORMED;
			break;
		}
		if (kind == TCP_OPT_MSS && opt_len == 4) {
			out->mss = (__u16)(buf[off + 2] << 8 | buf[off + 3]);
			out->opts |= SP_OPT_MSS;
		} else if (kind == TCP_OPT_WSCALE && opt_len == 3) {
			out->wscale = buf[off + 2];
			out->opts |= SP_OPT_WSCALE;
		} else if (kind == TCP_OPT_SACK_PERM && opt_len == 2) {
			out->opts |= SP_OPT_SACK_PERM;
		} else if (kind == TCP_OPT_TIMESTAMPS && opt_len == 10) {
			out->opts |= SP_OPT_TIMESTAMPS;
		}
		off += opt_len;
	}
}

void sp_flow_parse_tcp_opts(struct sp_flow *flow)
{
	struct sp_tcp_opts o;

	if (flow->reply != SP_REPLY_SYN_ACK)
		return;
	sp_tcp_opts_parse(flow->reply_tcp_opts, flow->reply_tcp_opts_len, &o);
	flow->reply_mss = o.mss;
	flow->reply_wscale = o.wscale;
	flow->reply_opts = (flow->reply_opts & (SP_OPT_DF | SP_OPT_MALFORMED)) | o.opts;
}
