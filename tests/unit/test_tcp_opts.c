// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_tcp_opts.c - sp_tcp_opts_parse(), the user-space walk over the SYN-ACK's TCP options that
 * the tc ingress program only copies, one cmocka test per row of a case table: what real stacks
 * send, EOL and NOP, every way an option can lie about its length, the 40-byte edges, known
 * kinds with wrong lengths, duplicates. Then sp_flow_parse_tcp_opts(): the kernel's bits kept,
 * replies other than a SYN-ACK left alone.
 *
 * Every case's bytes sit in a buffer filled past @len with a poison that, if read, would parse as
 * options (MSS 0x7777, window scale 0x77): a walk that reads past @len records them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "tcp_opts.h"

#define ALL_BITS (SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS | SP_OPT_MALFORMED)
#define BUF_MAX 64 /* room for the case bytes, and poison after them */

struct opts_case {
	const char *name;
	__u8 bytes[BUF_MAX]; /* the options; unused bytes up to BUF_MAX are poison (see below) */
	size_t len;	     /* what the parser is told */
	__u16 mss;
	__u8 wscale;
	__u8 opts;
};

/* Linux's SYN-ACK: MSS 1460, SACK permitted, timestamps, NOP, window scale 7 (20 bytes). */
#define LINUX_SYNACK 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7
/* 36 NOPs: what leaves 4 bytes of a 40-byte option area. */
#define NOP4 1, 1, 1, 1
#define NOP36 NOP4, NOP4, NOP4, NOP4, NOP4, NOP4, NOP4, NOP4, NOP4

static const struct opts_case cases[] = {
	{
		.name = "Linux SYN-ACK: MSS 1460, SACK-perm, TS, wscale 7",
		.bytes = { LINUX_SYNACK },
		.len = 20,
		.mss = 1460, .wscale = 7,
		.opts = SP_OPT_MSS | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS | SP_OPT_WSCALE,
	},
	{
		/* FreeBSD-like: MSS, NOP, wscale 6, SACK-perm, TS, all NOP-aligned. */
		.name = "NOP-padded MSS 1460, wscale 8, SACK-perm, TS",
		.bytes = { 1, 1, 1, 1, 2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2,
			   1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0 },
		.len = 28,
		.mss = 1460, .wscale = 8,
		.opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
	},
	{
		/* EOL read as NOP would record SACK and wscale; as a kind with length 4, malformed. */
		.name = "EOL after MSS: nothing behind it is read",
		.bytes = { 2, 4, 0x05, 0x78, 0, 4, 2, 3, 3, 7, 1, 1 },
		.len = 12,
		.mss = 1400,
		.opts = SP_OPT_MSS,
	},
	{
		.name = "EOL first: the MSS behind it does not count",
		.bytes = { 0, 1, 2, 4, 0x05, 0xb4, 1, 1 },
		.len = 8,
	},
	{
		/* Zero bytes inside an option are its data, not EOL. */
		.name = "MSS 0 and TS of zeros: zero data bytes are not EOL",
		.bytes = { 2, 4, 0, 0, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 1 },
		.len = 18,
		.mss = 0, .wscale = 0,
		.opts = SP_OPT_MSS | SP_OPT_TIMESTAMPS | SP_OPT_WSCALE,
	},
	{
		/* Length 0 would loop for ever on a walk that added it to the offset. */
		.name = "option of length 0 after MSS: malformed, MSS kept, nothing after",
		.bytes = { 2, 4, 0x05, 0x78, 3, 0, 1, 1, 3, 3, 9, 1 },
		.len = 12,
		.mss = 1400,
		.opts = SP_OPT_MSS | SP_OPT_MALFORMED,
	},
	{
		.name = "option of length 1 after wscale: malformed, wscale kept, MSS after not read",
		.bytes = { 1, 3, 3, 7, 4, 1, 2, 4, 0x05, 0xb4, 1, 1 },
		.len = 12,
		.wscale = 7,
		.opts = SP_OPT_WSCALE | SP_OPT_MALFORMED,
	},
	{
		.name = "unknown kind of length 0 first: malformed, nothing recorded",
		.bytes = { 99, 0, 2, 4, 0x05, 0xb4 },
		.len = 6,
		.opts = SP_OPT_MALFORMED,
	},
	{
		.name = "TS running 2 bytes past the end: malformed, MSS kept, TS not set",
		.bytes = { 2, 4, 0x05, 0xb4, 1, 1, 8, 10 },
		.len = 8,
		.mss = 1460,
		.opts = SP_OPT_MSS | SP_OPT_MALFORMED,
	},
	{
		.name = "option of length 255: malformed",
		.bytes = { 3, 3, 5, 30, 255, 1, 1, 1 },
		.len = 8,
		.wscale = 5,
		.opts = SP_OPT_WSCALE | SP_OPT_MALFORMED,
	},
	{
		/* The poison after len would complete it: MSS 0x0404 if read past the end. */
		.name = "MSS cut by len (3 of its 4 bytes): malformed, not recorded",
		.bytes = { 2, 4, 0x05 },
		.len = 3,
		.opts = SP_OPT_MALFORMED,
	},
	{
		.name = "kind in the last byte, no room for its length: malformed, MSS kept",
		.bytes = { 2, 4, 0x05, 0xb4, 1, 1, 1, 4 },
		.len = 8,
		.mss = 1460,
		.opts = SP_OPT_MSS | SP_OPT_MALFORMED,
	},
	{
		.name = "lone MSS kind, len 1: malformed",
		.bytes = { 2 },
		.len = 1,
		.opts = SP_OPT_MALFORMED,
	},
	{
		.name = "lone NOP, len 1: nothing, not malformed",
		.bytes = { 1 },
		.len = 1,
	},
	{
		/* RFC 6994 experimental kind 254 (ExID 0xf989), kind 30 (MPTCP), SACK blocks (5). */
		.name = "unknown kinds 254, 30 and 5 skipped by their length, the rest recorded",
		.bytes = { 254, 6, 0xf9, 0x89, 0xaa, 0xbb, 30, 4, 0, 1, 5, 10, 2, 4, 3, 3, 9, 9, 9, 9,
			   2, 4, 0x05, 0xb4, 4, 2, 3, 3, 2, 0 },
		.len = 30,
		.mss = 1460, .wscale = 2,
		.opts = SP_OPT_MSS | SP_OPT_SACK_PERM | SP_OPT_WSCALE,
	},
	{
		.name = "40 NOPs: nothing, not malformed",
		.bytes = { NOP36, NOP4 },
		.len = 40,
	},
	{
		.name = "36 NOPs then MSS in the last 4 bytes of 40: recorded",
		.bytes = { NOP36, 2, 4, 0x23, 0x28 },
		.len = 40,
		.mss = 9000,
		.opts = SP_OPT_MSS,
	},
	{
		.name = "37 NOPs then wscale 14 in the last 3 bytes of 40: recorded",
		.bytes = { NOP36, 1, 3, 3, 14 },
		.len = 40,
		.wscale = 14,
		.opts = SP_OPT_WSCALE,
	},
	{
		.name = "38 NOPs then SACK-perm in the last 2 bytes of 40: recorded",
		.bytes = { NOP36, 1, 1, 4, 2 },
		.len = 40,
		.opts = SP_OPT_SACK_PERM,
	},
	{
		/* Bytes 40..43 hold a whole MSS: a parser that did not cap len would record it. */
		.name = "len 44 is treated as 40: an MSS in bytes 40..43 is not read",
		.bytes = { NOP36, NOP4, 2, 4, 0x05, 0xb4 },
		.len = 44,
	},
	{
		.name = "len 255 is treated as 40: TS at 36 runs past 40, malformed",
		.bytes = { NOP36, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 },
		.len = 255,
		.opts = SP_OPT_MALFORMED,
	},
	{
		.name = "len 0: nothing, not malformed, the bytes there unread",
		.bytes = { LINUX_SYNACK },
		.len = 0,
	},
	{
		/* Length 3 is not an MSS: the value is not believed, the walk goes on by 3. */
		.name = "MSS of length 3: skipped, not believed; wscale after it recorded",
		.bytes = { 2, 3, 0x05, 3, 3, 6, 1, 1 },
		.len = 8,
		.wscale = 6,
		.opts = SP_OPT_WSCALE,
	},
	{
		.name = "MSS of length 2 and of length 6: both skipped, not malformed",
		.bytes = { 2, 2, 2, 6, 0x05, 0xb4, 0, 0, 4, 2 },
		.len = 10,
		.opts = SP_OPT_SACK_PERM,
	},
	{
		.name = "wscale of length 4 and 2: skipped; SACK-perm after them recorded",
		.bytes = { 3, 4, 7, 0, 3, 2, 4, 2 },
		.len = 8,
		.opts = SP_OPT_SACK_PERM,
	},
	{
		.name = "SACK-perm of length 3, TS of length 8 and 12: skipped, MSS after recorded",
		.bytes = { 4, 3, 0, 8, 8, 1, 2, 3, 4, 5, 6, 8, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
			   2, 4, 0x02, 0x18 },
		.len = 27,
		.mss = 536,
		.opts = SP_OPT_MSS,
	},
	{
		/* Each valid MSS overwrites the last: the walk keeps the last one it believed. */
		.name = "two MSS options (1460, then 536): the last wins",
		.bytes = { 2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18 },
		.len = 8,
		.mss = 536,
		.opts = SP_OPT_MSS,
	},
	{
		.name = "MSS 1460, then an MSS of length 3: the valid one stays",
		.bytes = { 2, 4, 0x05, 0xb4, 2, 3, 0x02, 1 },
		.len = 8,
		.mss = 1460,
		.opts = SP_OPT_MSS,
	},
	{
		.name = "two wscale options (3, then 9): the last wins",
		.bytes = { 3, 3, 3, 3, 3, 9, 1, 1 },
		.len = 8,
		.wscale = 9,
		.opts = SP_OPT_WSCALE,
	},
	{
		/* RFC 7323 caps the shift's use at 14; the parser reports what was sent. */
		.name = "wscale 255: kept as sent",
		.bytes = { 3, 3, 255, 1 },
		.len = 4,
		.wscale = 255,
		.opts = SP_OPT_WSCALE,
	},
	{
		.name = "MSS 65535: both bytes, big-endian",
		.bytes = { 2, 4, 0xff, 0xff },
		.len = 4,
		.mss = 65535,
		.opts = SP_OPT_MSS,
	},
	{
		.name = "MSS 0x0102: byte order",
		.bytes = { 2, 4, 0x01, 0x02 },
		.len = 4,
		.mss = 0x0102,
		.opts = SP_OPT_MSS,
	},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/*
 * Poison after @len: MSS 0x7777 and wscale 0x77, repeated. Read by a walk that runs past @len
 * (or past 40), it would set SP_OPT_MSS or SP_OPT_WSCALE with those values, or run on into
 * malformed territory with other results than the case expects.
 */
static void fill(__u8 *buf, const struct opts_case *c)
{
	static const __u8 poison[7] = { 2, 4, 0x77, 0x77, 3, 3, 0x77 };
	size_t given = sizeof(c->bytes), start, i;

	/* The bytes the case gives (up to its last non-zero one), also past len (len 0, len 44). */
	while (given > 0 && c->bytes[given - 1] == 0)
		given--;
	start = c->len > given ? c->len : given;
	memcpy(buf, c->bytes, BUF_MAX);
	for (i = start; i < BUF_MAX; i++)
		buf[i] = poison[(i - start) % sizeof(poison)];
}

/*
 * @n bytes of @src copied to the end of a page that a PROT_NONE page follows: a read one byte past
 * them faults, with or without ASan. Returns the copy; guarded_free() unmaps it.
 */
static __u8 *guarded_copy(const __u8 *src, size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	__u8 *map;

	assert_true(n <= (size_t)page);
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mprotect(map + page, page, PROT_NONE), 0);
	memcpy(map + page - n, src, n);
	return map + page - n;
}

static void guarded_free(__u8 *p, size_t n)
{
	long page = sysconf(_SC_PAGESIZE);

	munmap(p + n - page, 2 * page);
}

static void run_case(void **state)
{
	const struct opts_case *c = *state;
	struct sp_tcp_opts out, again;
	__u8 buf[256], *g;

	memset(buf, 0x77, sizeof(buf)); /* beyond BUF_MAX too: len 255 may look there */
	fill(buf, c);
	memset(&out, 0xa5, sizeof(out)); /* the parser zeroes it first */
	sp_tcp_opts_parse(buf, c->len, &out);
	assert_int_equal(out.opts, c->opts);
	assert_int_equal(out.mss, c->mss);
	assert_int_equal(out.wscale, c->wscale);
	/* Invariants: only option bits, and values only with their bit. */
	assert_int_equal(out.opts & ~ALL_BITS, 0);
	if (!(out.opts & SP_OPT_MSS))
		assert_int_equal(out.mss, 0);
	if (!(out.opts & SP_OPT_WSCALE))
		assert_int_equal(out.wscale, 0);

	/* The same bytes right before an unmapped page: nothing past @len is read (capped at 40). */
	g = guarded_copy(buf, c->len);
	sp_tcp_opts_parse(g, c->len, &again);
	guarded_free(g, c->len);
	assert_memory_equal(&again, &out, sizeof(out));
}

/* Every prefix of Linux's options: what was read before the cut stays, the cut is malformed. */
static void test_every_prefix_of_linux_opts(void **state)
{
	static const __u8 linux_opts[20] = { LINUX_SYNACK };
	struct sp_tcp_opts out;
	size_t len;

	for (len = 0; len <= sizeof(linux_opts); len++) {
		__u8 buf[20];
		__u8 want = 0;

		/* Only the first len bytes are the options; the rest looks like a whole MSS. */
		memset(buf, 0, sizeof(buf));
		memcpy(buf, linux_opts, len);
		if (len < sizeof(buf))
			memcpy(buf + len, (const __u8[]){ 2, 4, 0x77, 0x77 },
			       sizeof(buf) - len < 4 ? sizeof(buf) - len : 4);
		sp_tcp_opts_parse(buf, len, &out);
		/* MSS 0..3, SACK-perm 4..5, TS 6..15, NOP 16, wscale 17..19. */
		if (len >= 4)
			want |= SP_OPT_MSS;
		if (len >= 6)
			want |= SP_OPT_SACK_PERM;
		if (len >= 16)
			want |= SP_OPT_TIMESTAMPS;
		if (len == 20)
			want |= SP_OPT_WSCALE;
		/* A cut inside an option (not at its end, and not right after the NOP). */
		if (len != 0 && len != 4 && len != 6 && len != 16 && len != 17 && len != 20)
			want |= SP_OPT_MALFORMED;
		assert_int_equal(out.opts, want);
		assert_int_equal(out.mss, len >= 4 ? 1460 : 0);
		assert_int_equal(out.wscale, len == 20 ? 7 : 0);
	}
}

/* The flow of a believed SYN-ACK as the kernel hands it over: raw options, DF and maybe MALFORMED. */
static struct sp_flow synack_flow(__u8 kernel_bits)
{
	static const __u8 linux_opts[20] = { LINUX_SYNACK };
	struct sp_flow f = {
		.reply = SP_REPLY_SYN_ACK,
		.state = SP_FLOW_REPLIED,
		.reply_opts = kernel_bits,
		.reply_tcp_opts_len = sizeof(linux_opts),
		.reply_window = 65160,
	};

	memcpy(f.reply_tcp_opts, linux_opts, sizeof(linux_opts));
	return f;
}

/* The parse adds the option bits and values; the kernel's DF and MALFORMED stay. */
static void test_flow_keeps_kernel_bits(void **state)
{
	static const __u8 kernel_bits[] = { 0, SP_OPT_DF, SP_OPT_MALFORMED, SP_OPT_DF | SP_OPT_MALFORMED };
	size_t i;

	for (i = 0; i < sizeof(kernel_bits); i++) {
		struct sp_flow f = synack_flow(kernel_bits[i]), want = f;

		sp_flow_parse_tcp_opts(&f);
		want.reply_mss = 1460;
		want.reply_wscale = 7;
		want.reply_opts = kernel_bits[i] | SP_OPT_MSS | SP_OPT_SACK_PERM |
				  SP_OPT_TIMESTAMPS | SP_OPT_WSCALE;
		assert_memory_equal(&f, &want, sizeof(f));
		/* Parsing again changes nothing. */
		sp_flow_parse_tcp_opts(&f);
		assert_memory_equal(&f, &want, sizeof(f));
	}
}

/* The kernel could not copy the options (data offset past the packet): len 0, MALFORMED kept. */
static void test_flow_no_copy_malformed(void **state)
{
	struct sp_flow f = synack_flow(SP_OPT_DF | SP_OPT_MALFORMED), want;

	memset(f.reply_tcp_opts, 0, sizeof(f.reply_tcp_opts));
	f.reply_tcp_opts_len = 0;
	want = f;
	sp_flow_parse_tcp_opts(&f);
	assert_memory_equal(&f, &want, sizeof(f));
}

/* A malformed copy sets MALFORMED from the parse, next to DF. */
static void test_flow_parse_malformed(void **state)
{
	struct sp_flow f = synack_flow(SP_OPT_DF);

	f.reply_tcp_opts_len = 7; /* MSS, SACK-perm, then TS cut after its length byte */
	sp_flow_parse_tcp_opts(&f);
	assert_int_equal(f.reply_opts, SP_OPT_DF | SP_OPT_MSS | SP_OPT_SACK_PERM | SP_OPT_MALFORMED);
	assert_int_equal(f.reply_mss, 1460);
	assert_int_equal(f.reply_wscale, 0);
}

/*
 * A corrupt length over 40 reads no more than the 40-byte array: 39 NOPs, then an MSS kind in
 * the last byte has no room for its length. The flow is on the heap at its exact size, so ASan
 * would also see a read past the array (it is the struct's last member).
 */
static void test_flow_len_over_max(void **state)
{
	struct sp_flow *f = test_malloc(sizeof(*f));

	*f = synack_flow(SP_OPT_DF);
	memset(f->reply_tcp_opts, 1, sizeof(f->reply_tcp_opts));
	f->reply_tcp_opts[SP_TCP_OPTS_MAX - 1] = 2;
	f->reply_tcp_opts_len = 200;
	sp_flow_parse_tcp_opts(f);
	assert_int_equal(f->reply_opts, SP_OPT_DF | SP_OPT_MALFORMED);
	assert_int_equal(f->reply_mss, 0);
	test_free(f);
}

/* RST, ICMP and no reply: the flow is left exactly as it is, raw bytes or not. */
static void test_flow_ignores_other_replies(void **state)
{
	static const __u8 replies[] = { SP_REPLY_NONE, SP_REPLY_RST, SP_REPLY_ICMP, 200 };
	size_t i;

	for (i = 0; i < sizeof(replies); i++) {
		struct sp_flow f = synack_flow(SP_OPT_DF), want;

		f.reply = replies[i];
		f.reply_mss = 1234; /* not touched, not even zeroed */
		f.reply_wscale = 3;
		want = f;
		sp_flow_parse_tcp_opts(&f);
		assert_memory_equal(&f, &want, sizeof(f));
	}
}

int main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_every_prefix_of_linux_opts),
		cmocka_unit_test(test_flow_keeps_kernel_bits),
		cmocka_unit_test(test_flow_no_copy_malformed),
		cmocka_unit_test(test_flow_parse_malformed),
		cmocka_unit_test(test_flow_len_over_max),
		cmocka_unit_test(test_flow_ignores_other_replies),
	};
	struct CMUnitTest tests[N_CASES + sizeof(fixed) / sizeof(fixed[0])];
	size_t i;

	/* One test per row of the table, named by the row, then the fixed tests. */
	for (i = 0; i < N_CASES; i++) {
		tests[i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.initial_state = (void *)&cases[i],
		};
	}
	memcpy(tests + N_CASES, fixed, sizeof(fixed));
	return _cmocka_run_group_tests("test_tcp_opts", tests, sizeof(tests) / sizeof(tests[0]),
				       NULL, NULL);
}
