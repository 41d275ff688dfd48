// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_outcome.c - sp_decide_outcome(), one table row per rule of its order of belief. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include "outcome.h"

#define SYN_TS 1000000000ULL	  /* first SYN at tc egress */
#define REPLY_TS 1000041200ULL	  /* reply 41.2 us later */
#define REPLY_BY 2000000000ULL	  /* start + a 1 s timeout */

struct outcome_case {
	const char *name;
	/* what the engine observed */
	bool has_rec;
	__u8 state;		/* enum sp_flow_state */
	__u8 reply;		/* enum sp_reply */
	__u64 syn_ts_ns;
	__u64 reply_ts_ns;
	__u32 syn_retransmits;
	__u64 reply_by_ns;
	int connect_err;
	bool sock_connected;
	int sock_err;
	__u64 user_rtt_ns;
	/* what it must decide */
	enum synprobe_outcome outcome;
	enum synprobe_evidence evidence;
	bool has_rtt;
	bool rtt_user_space;
	__u64 rtt_ns;
	__u64 res_syn_ts_ns;
	__u64 res_reply_ts_ns;
	__u32 res_syn_retransmits;
	int error;
};

static const struct outcome_case outcome_cases[] = {
	/* 1. a BPF-observed reply, in time: the kernel RTT */
	{
		.name = "syn-ack in time: open, bpf, rtt = reply_ts - syn_ts",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = REPLY_TS - SYN_TS, .res_syn_ts_ns = SYN_TS, .res_reply_ts_ns = REPLY_TS,
	},
	{
		.name = "rst in time: closed, bpf, rtt",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_RST,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_CLOSED, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = REPLY_TS - SYN_TS, .res_syn_ts_ns = SYN_TS, .res_reply_ts_ns = REPLY_TS,
	},
	{
		.name = "icmp error quoting our SYN, in time: unreachable, bpf, rtt",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_ICMP,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_UNREACHABLE, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = REPLY_TS - SYN_TS, .res_syn_ts_ns = SYN_TS, .res_reply_ts_ns = REPLY_TS,
	},
	{
		.name = "syn-ack after 3 syn retransmits: retransmits passed through",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = SYN_TS + 700000000ULL, .syn_retransmits = 3,
		.reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = 700000000ULL, .res_syn_ts_ns = SYN_TS,
		.res_reply_ts_ns = SYN_TS + 700000000ULL, .res_syn_retransmits = 3,
	},
	{
		.name = "syn-ack stamped exactly at reply_by_ns: still in time",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_BY, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = REPLY_BY - SYN_TS, .res_syn_ts_ns = SYN_TS, .res_reply_ts_ns = REPLY_BY,
	},
	{
		.name = "reply and a connect error: the reply wins",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS, .reply_by_ns = REPLY_BY,
		.connect_err = ENETUNREACH, .sock_err = EHOSTUNREACH,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = REPLY_TS - SYN_TS, .res_syn_ts_ns = SYN_TS, .res_reply_ts_ns = REPLY_TS,
	},
	/* replies not believed */
	{
		.name = "syn-ack stamped 1 ns after reply_by_ns: timeout",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_BY + 1, .syn_retransmits = 2,
		.reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.res_syn_ts_ns = SYN_TS, .res_syn_retransmits = 2,
	},
	{
		.name = "rst stamped after reply_by_ns: timeout",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_RST,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_BY + 5000000ULL, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.res_syn_ts_ns = SYN_TS,
	},
	{
		.name = "icmp error stamped after reply_by_ns: timeout",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_ICMP,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_BY + 1, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.res_syn_ts_ns = SYN_TS,
	},
	{
		.name = "REPLIED record with reply NONE: not a reply, timeout",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_NONE,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.res_syn_ts_ns = SYN_TS,
	},
	{
		.name = "reply stamped before the SYN: not believed, timeout",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = SYN_TS - 1, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.res_syn_ts_ns = SYN_TS,
	},
	/* 2. a local connect() error */
	{
		.name = "connect error without a record: error, no evidence",
		.reply_by_ns = REPLY_BY, .connect_err = ENETUNREACH,
		.outcome = SYNPROBE_ERROR, .evidence = SYNPROBE_EVIDENCE_NONE, .error = ENETUNREACH,
	},
	{
		.name = "connect error with a registered record: error, no SYN time",
		.has_rec = true, .state = SP_FLOW_REGISTERED, .reply_by_ns = REPLY_BY,
		.connect_err = EADDRNOTAVAIL,
		.outcome = SYNPROBE_ERROR, .evidence = SYNPROBE_EVIDENCE_NONE,
		.error = EADDRNOTAVAIL,
	},
	{
		.name = "connect error with a SYN_SENT record: error, SYN time kept",
		.has_rec = true, .state = SP_FLOW_SYN_SENT, .syn_ts_ns = SYN_TS,
		.syn_retransmits = 1, .reply_by_ns = REPLY_BY, .connect_err = ENETUNREACH,
		.outcome = SYNPROBE_ERROR, .evidence = SYNPROBE_EVIDENCE_NONE, .error = ENETUNREACH,
		.res_syn_ts_ns = SYN_TS, .res_syn_retransmits = 1,
	},
	{
		.name = "connect error and a connected socket: the connect error wins",
		.reply_by_ns = REPLY_BY, .connect_err = EACCES, .sock_connected = true,
		.outcome = SYNPROBE_ERROR, .evidence = SYNPROBE_EVIDENCE_NONE, .error = EACCES,
	},
	/* 3. the socket's own state */
	{
		.name = "socket connected, no BPF reply: open, socket, no rtt",
		.has_rec = true, .state = SP_FLOW_SYN_SENT, .syn_ts_ns = SYN_TS,
		.reply_by_ns = REPLY_BY, .sock_connected = true,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_SOCKET,
		.res_syn_ts_ns = SYN_TS,
	},
	{
		.name = "socket connected without a record: open, socket",
		.reply_by_ns = REPLY_BY, .sock_connected = true,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_SOCKET,
	},
	{
		.name = "socket ECONNREFUSED: closed, socket, no rtt",
		.has_rec = true, .state = SP_FLOW_SYN_SENT, .syn_ts_ns = SYN_TS,
		.reply_by_ns = REPLY_BY, .sock_err = ECONNREFUSED,
		.outcome = SYNPROBE_CLOSED, .evidence = SYNPROBE_EVIDENCE_SOCKET,
		.res_syn_ts_ns = SYN_TS,
	},
	{
		.name = "socket EHOSTUNREACH: unreachable, socket, error set",
		.has_rec = true, .state = SP_FLOW_SYN_SENT, .syn_ts_ns = SYN_TS,
		.syn_retransmits = 1, .reply_by_ns = REPLY_BY, .sock_err = EHOSTUNREACH,
		.outcome = SYNPROBE_UNREACHABLE, .evidence = SYNPROBE_EVIDENCE_SOCKET,
		.error = EHOSTUNREACH, .res_syn_ts_ns = SYN_TS, .res_syn_retransmits = 1,
	},
	{
		.name = "socket ENETUNREACH: unreachable, socket, error set",
		.reply_by_ns = REPLY_BY, .sock_err = ENETUNREACH,
		.outcome = SYNPROBE_UNREACHABLE, .evidence = SYNPROBE_EVIDENCE_SOCKET,
		.error = ENETUNREACH,
	},
	{
		.name = "socket EHOSTUNREACH with a user rtt: unreachable, no rtt",
		.reply_by_ns = REPLY_BY, .sock_err = EHOSTUNREACH, .user_rtt_ns = 5000,
		.outcome = SYNPROBE_UNREACHABLE, .evidence = SYNPROBE_EVIDENCE_SOCKET,
		.error = EHOSTUNREACH,
	},
	{
		.name = "another SO_ERROR (ETIMEDOUT): error, socket, error set",
		.has_rec = true, .state = SP_FLOW_SYN_SENT, .syn_ts_ns = SYN_TS,
		.syn_retransmits = 6, .reply_by_ns = REPLY_BY, .sock_err = ETIMEDOUT,
		.outcome = SYNPROBE_ERROR, .evidence = SYNPROBE_EVIDENCE_SOCKET,
		.error = ETIMEDOUT, .res_syn_ts_ns = SYN_TS, .res_syn_retransmits = 6,
	},
	/* method connect: the socket's open and closed carry the user-space RTT */
	{
		.name = "connect method, socket connected: open, socket, user-space rtt",
		.reply_by_ns = REPLY_BY, .sock_connected = true, .user_rtt_ns = 52000,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_SOCKET, .has_rtt = true,
		.rtt_user_space = true, .rtt_ns = 52000,
	},
	{
		.name = "connect method, ECONNREFUSED: closed, socket, user-space rtt",
		.reply_by_ns = REPLY_BY, .sock_err = ECONNREFUSED, .user_rtt_ns = 48000,
		.outcome = SYNPROBE_CLOSED, .evidence = SYNPROBE_EVIDENCE_SOCKET, .has_rtt = true,
		.rtt_user_space = true, .rtt_ns = 48000,
	},
	{
		.name = "a BPF reply and a user rtt: the kernel rtt wins",
		.has_rec = true, .state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS, .reply_by_ns = REPLY_BY,
		.sock_connected = true, .user_rtt_ns = 99000,
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = REPLY_TS - SYN_TS, .res_syn_ts_ns = SYN_TS, .res_reply_ts_ns = REPLY_TS,
	},
	{
		.name = "connect error and a user rtt: error, no rtt",
		.reply_by_ns = REPLY_BY, .connect_err = ENETUNREACH, .user_rtt_ns = 1000,
		.outcome = SYNPROBE_ERROR, .evidence = SYNPROBE_EVIDENCE_NONE, .error = ENETUNREACH,
	},
	/* 4. nothing */
	{
		.name = "nothing at all: timeout",
		.reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
	},
	{
		.name = "only a SYN_SENT record: timeout, SYN time and retransmits kept",
		.has_rec = true, .state = SP_FLOW_SYN_SENT, .syn_ts_ns = SYN_TS,
		.syn_retransmits = 5, .reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.res_syn_ts_ns = SYN_TS, .res_syn_retransmits = 5,
	},
	{
		.name = "only a REGISTERED record: timeout, no SYN time",
		.has_rec = true, .state = SP_FLOW_REGISTERED, .syn_ts_ns = SYN_TS,
		.reply_by_ns = REPLY_BY,
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
	},
};

/* Compares one field; prints the row and the field on a mismatch. */
static int check_u64(const char *row, const char *field, __u64 got, __u64 want)
{
	if (got == want)
		return 0;
	print_error("# %s: %s is %llu, expected %llu\n", row, field, (unsigned long long)got,
		    (unsigned long long)want);
	return 1;
}

static void test_decide_outcome_table(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(outcome_cases) / sizeof(outcome_cases[0]); i++) {
		const struct outcome_case *c = &outcome_cases[i];
		struct sp_flow rec;
		struct sp_observed obs = {
			.rec = c->has_rec ? &rec : NULL,
			.reply_by_ns = c->reply_by_ns,
			.connect_err = c->connect_err,
			.sock_connected = c->sock_connected,
			.sock_err = c->sock_err,
			.user_rtt_ns = c->user_rtt_ns,
		};
		struct synprobe_result res;
		int n = 0;

		memset(&rec, 0, sizeof(rec));
		rec.state = c->state;
		rec.reply = c->reply;
		rec.syn_ts_ns = c->syn_ts_ns;
		rec.last_syn_ts_ns = c->syn_ts_ns;
		rec.reply_ts_ns = c->reply_ts_ns;
		rec.syn_retransmits = c->syn_retransmits;
		/* garbage in every field: each one it owns must be written */
		memset(&res, 0xa5, sizeof(res));

		sp_decide_outcome(&obs, &res);

		n += check_u64(c->name, "outcome", res.outcome, c->outcome);
		n += check_u64(c->name, "evidence", res.evidence, c->evidence);
		n += check_u64(c->name, "has_rtt", res.has_rtt, c->has_rtt);
		n += check_u64(c->name, "rtt_user_space", res.rtt_user_space, c->rtt_user_space);
		n += check_u64(c->name, "rtt_ns", res.rtt_ns, c->rtt_ns);
		n += check_u64(c->name, "syn_ts_ns", res.syn_ts_ns, c->res_syn_ts_ns);
		n += check_u64(c->name, "reply_ts_ns", res.reply_ts_ns, c->res_reply_ts_ns);
		n += check_u64(c->name, "syn_retransmits", res.syn_retransmits,
			       c->res_syn_retransmits);
		n += check_u64(c->name, "error", res.error, c->error);
		bad += n != 0;
	}
	assert_int_equal(bad, 0);
}

/* The fields it does not own (addresses, timeout, flow, user) are left as the engine set them. */
static void test_decide_outcome_leaves_other_fields(void **state)
{
	struct sp_flow rec = {
		.state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS,
	};
	struct sp_observed obs = { .rec = &rec, .reply_by_ns = REPLY_BY };
	struct synprobe_result res, before;
	int user;

	memset(&res, 0, sizeof(res));
	res.addr.ss_family = AF_INET6;
	res.local.ss_family = AF_INET6;
	res.timeout_ms = 1000;
	res.flow = &rec;
	res.user = &user;
	before = res;

	sp_decide_outcome(&obs, &res);

	assert_int_equal(res.outcome, SYNPROBE_OPEN);
	assert_memory_equal(&res.addr, &before.addr, sizeof(res.addr));
	assert_memory_equal(&res.local, &before.local, sizeof(res.local));
	assert_int_equal(res.timeout_ms, 1000);
	assert_ptr_equal(res.flow, &rec);
	assert_ptr_equal(res.user, &user);
}

/* The record is only read. */
static void test_decide_outcome_does_not_touch_record(void **state)
{
	struct sp_flow rec = {
		.state = SP_FLOW_REPLIED, .reply = SP_REPLY_RST, .syn_retransmits = 1,
		.syn_ts_ns = SYN_TS, .reply_ts_ns = REPLY_TS, .reply_ttl = 64,
	};
	struct sp_flow copy = rec;
	struct sp_observed obs = { .rec = &rec, .reply_by_ns = REPLY_BY };
	struct synprobe_result res = {};

	sp_decide_outcome(&obs, &res);
	assert_int_equal(res.outcome, SYNPROBE_CLOSED);
	assert_memory_equal(&rec, &copy, sizeof(rec));
}

struct icmp_name_case {
	int family;
	__u8 type;
	__u8 code;
	const char *name;
};

static const struct icmp_name_case icmp_name_cases[] = {
	{ AF_INET, 3, 0, "net-unreachable" },
	{ AF_INET, 3, 1, "host-unreachable" },
	{ AF_INET, 3, 3, "port-unreachable" },
	{ AF_INET, 3, 4, "frag-needed" },
	{ AF_INET, 3, 13, "admin-prohibited" },
	{ AF_INET, 3, 15, "precedence-cutoff" },
	{ AF_INET, 3, 16, "icmp-3-16" },
	{ AF_INET, 11, 0, "ttl-exceeded" },
	{ AF_INET, 11, 1, "reassembly-time-exceeded" },
	{ AF_INET, 0, 0, "icmp-0-0" },
	{ AF_INET6, 1, 0, "no-route" },
	{ AF_INET6, 1, 1, "admin-prohibited" },
	{ AF_INET6, 1, 3, "addr-unreachable" },
	{ AF_INET6, 1, 4, "port-unreachable" },
	{ AF_INET6, 1, 7, "source-routing-header-error" },
	{ AF_INET6, 1, 8, "icmpv6-1-8" },
	{ AF_INET6, 2, 0, "packet-too-big" },
	{ AF_INET6, 3, 0, "hop-limit-exceeded" },
	{ AF_INET6, 3, 1, "reassembly-time-exceeded" },
	{ AF_INET6, 255, 255, "icmpv6-255-255" },
};

static void test_icmp_name_table(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(icmp_name_cases) / sizeof(icmp_name_cases[0]); i++) {
		const struct icmp_name_case *c = &icmp_name_cases[i];
		const char *name = synprobe_icmp_name(c->family, c->type, c->code);

		if (strcmp(name, c->name)) {
			print_error("# icmp%s %u/%u: '%s', expected '%s'\n",
				    c->family == AF_INET6 ? "v6" : "", c->type, c->code, name,
				    c->name);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void test_initial_ttl(void **state)
{
	static const struct {
		__u8 ttl;
		__u8 initial;
	} cases[] = {
		{ 1, 32 },   { 32, 32 },   { 33, 64 },	 { 52, 64 },   { 64, 64 },
		{ 65, 128 }, { 128, 128 }, { 129, 255 }, { 254, 255 }, { 255, 255 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(synprobe_initial_ttl(cases[i].ttl), cases[i].initial);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide_outcome_table),
		cmocka_unit_test(test_decide_outcome_leaves_other_fields),
		cmocka_unit_test(test_decide_outcome_does_not_touch_record),
		cmocka_unit_test(test_icmp_name_table),
		cmocka_unit_test(test_initial_ttl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
