// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_expect.c - libFuzzer harness for the send/expect steps (user/expect.c): the patterns of
 * --expect (compiled by PCRE2) and the replies a hostile server sends, in any cut.
 *
 * Input: up to the first NUL, the pattern (one step, and a second step with the same pattern
 * when byte 0 of the rest is odd); the rest, the reply, handed in as reads whose sizes come from
 * the reply's own bytes, then EOF. Invariants: a pattern that does not compile gives -EINVAL and
 * a one-line message; the state only ever moves forward (RECV until DONE or MISMATCH); a
 * mismatch has a one-line reason; no more than the steps' number of matches.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "expect.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size), *reply;
	struct sp_exchange *x = NULL;
	struct sp_steps *sts;
	enum sp_xchg_state st = SP_XCHG_RECV;
	size_t plen, rlen, off = 0, cut;
	unsigned int steps = 1;
	char err[256], *pattern;
	const __u8 *d;
	size_t dl;
	int rc;

	if (!nul)
		return 0;
	plen = (size_t)(nul - data);
	pattern = malloc(plen + 1);
	CHECK(pattern);
	memcpy(pattern, data, plen);
	pattern[plen] = '\0';
	reply = nul + 1;
	rlen = size - plen - 1;
	sts = sp_steps_new();
	CHECK(sts);
	err[0] = '\0';
	rc = sp_steps_add(sts, NULL, 0, pattern, err, sizeof(err));
	if (rc) {
		CHECK((rc == -EINVAL || rc == -E2BIG) && err[0] && !strchr(err, '\n'));
		goto out;
	}
	if (rlen && (reply[0] & 1)) {
		CHECK(sp_steps_add(sts, (const __u8 *)"x", 1, pattern, err, sizeof(err)) == 0);
		steps = 2;
	}
	x = sp_exchange_new(sts);
	CHECK(x);
	while (off <= rlen) {
		st = sp_exchange_next(x, &d, &dl);
		if (st == SP_XCHG_SEND) {
			sp_exchange_sent(x, dl);
			continue;
		}
		if (st != SP_XCHG_RECV)
			break;
		cut = off < rlen ? (reply[off] % 64) + 1 : 0;
		if (cut > rlen - off)
			cut = rlen - off;
		/* reply[0] & 2: the reply does not end, the deadline does (kind_l7.c). */
		st = sp_exchange_received(x, reply + off, cut,
					  off + cut == rlen && !(rlen && (reply[0] & 2)));
		off += cut;
		if (st == SP_XCHG_DONE || st == SP_XCHG_MISMATCH || cut == 0)
			break;
	}
	if (st == SP_XCHG_RECV || st == SP_XCHG_SEND) {
		st = sp_exchange_deadline(x);
		CHECK(st == SP_XCHG_DONE || st == SP_XCHG_MISMATCH || st == SP_XCHG_TIMEOUT);
		CHECK(sp_exchange_next(x, &d, &dl) == st);
		if (st == SP_XCHG_TIMEOUT)
			CHECK(sp_exchange_reason(x)[0] && !strchr(sp_exchange_reason(x), '\n') &&
			      strstr(sp_exchange_reason(x), "before the deadline"));
	}
	CHECK(sp_exchange_matched(x) <= steps);
	if (st == SP_XCHG_MISMATCH) {
		CHECK(sp_exchange_reason(x)[0] && !strchr(sp_exchange_reason(x), '\n'));
		CHECK(sp_exchange_received(x, reply, rlen, true) == SP_XCHG_MISMATCH);
	}
out:
	sp_exchange_free(x);
	sp_steps_free(sts);
	free(pattern);
	return 0;
}
