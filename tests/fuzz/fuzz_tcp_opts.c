// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_tcp_opts.c - libFuzzer harness for sp_tcp_opts_parse() and sp_flow_parse_tcp_opts()
 * (user/tcp_opts.c), the walk over the SYN-ACK's TCP options that the tc ingress program copies.
 *
 * Input: byte 0 is the length to tell the parser (0..255, so lengths past SP_TCP_OPTS_MAX are
 * tried too), the rest are the option bytes. They are copied into a heap buffer of exactly that
 * many bytes (the lesser of the two), so ASan sees any read past the end. Invariants: only
 * option bits come out, MSS and window scale are 0 unless their bit is set, the result does not
 * depend on bytes past min(len, 40), and the flow wrapper keeps the kernel's bits.
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tcp_opts.h"

#define OPT_BITS (SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS | SP_OPT_MALFORMED)

/* abort() rather than assert(): stays on under -DNDEBUG, and libFuzzer reports it as a crash. */
#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_tcp_opts out, again;
	struct sp_flow *flow;
	size_t len, n, cap;
	uint8_t *buf;

	if (size < 1)
		return 0;
	len = data[0];
	data++;
	size--;
	/* The parser may read min(len, 40) bytes: give it exactly those, or fewer if the input is
	 * short (then len says more than there is and it must not matter: see below). */
	cap = len < SP_TCP_OPTS_MAX ? len : SP_TCP_OPTS_MAX;
	if (size < cap)
		return 0; /* the contract: @buf holds min(len, 40) bytes */
	n = cap;
	buf = malloc(n ? n : 1);
	CHECK(buf);
	memcpy(buf, data, n);

	memset(&out, 0x5a, sizeof(out));
	sp_tcp_opts_parse(buf, len, &out);
	CHECK((out.opts & ~OPT_BITS) == 0);
	CHECK((out.opts & SP_OPT_MSS) || out.mss == 0);
	CHECK((out.opts & SP_OPT_WSCALE) || out.wscale == 0);
	/* Nothing is found in an empty list, and an empty list is not malformed. */
	if (len == 0)
		CHECK(out.opts == 0);

	/* Any len >= 40 is 40: the same answer. */
	if (len >= SP_TCP_OPTS_MAX) {
		sp_tcp_opts_parse(buf, SP_TCP_OPTS_MAX, &again);
		CHECK(memcmp(&again, &out, sizeof(out)) == 0);
	}
	/* Deterministic: a second walk of the same bytes gives the same answer. */
	sp_tcp_opts_parse(buf, len, &again);
	CHECK(memcmp(&again, &out, sizeof(out)) == 0);

	/* The flow wrapper: the copy as the kernel leaves it, with its bits kept. */
	flow = calloc(1, sizeof(*flow));
	CHECK(flow);
	flow->reply = SP_REPLY_SYN_ACK;
	flow->reply_opts = SP_OPT_DF | (len & 1 ? SP_OPT_MALFORMED : 0);
	flow->reply_tcp_opts_len = (__u8)len;
	memcpy(flow->reply_tcp_opts, buf, n);
	sp_flow_parse_tcp_opts(flow);
	CHECK(flow->reply_mss == out.mss);
	CHECK(flow->reply_wscale == out.wscale);
	CHECK(flow->reply_opts == (SP_OPT_DF | (len & 1 ? SP_OPT_MALFORMED : 0) | out.opts));
	free(flow);

	free(buf);
	return 0;
}
