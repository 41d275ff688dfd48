// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_bpf.c - the tc programs of bpf/synprobe.bpf.c run on crafted Ethernet frames through
 * bpf_prog_test_run_opts(), one cmocka test per row of the case table.
 *
 * Each case names the program, describes its frame (built by the small packet builder below),
 * the map state to set up first, and what must come out: the return code, the sp_socks and
 * sp_flows entries, the ring-buffer event and the change of every sp_stats counter (summed over
 * the CPUs, before and after).
 *
 * Tracked egress: BPF_PROG_TEST_RUN gives every run a fresh dummy socket (net/bpf/test_run.c,
 * bpf_prog_test_run_skb(): sk_alloc() + skb->sk = sk), so bpf_get_socket_cookie() returns a
 * cookie nobody knows before the run. Those cases run a small harness program instead: it reads
 * the cookie of that same skb, copies a template struct sp_flow into sp_socks[cookie] (and writes
 * the cookie back into the template so the test can find the record), then tail-calls the real
 * sp_tc_egress on the same skb. The egress program thus sees a socket that user space registered,
 * exactly as after synprobe's getsockopt(SO_COOKIE) + map update, and its return code is the run's.
 *
 * Needs root (CAP_BPF + CAP_NET_ADMIN). Run: CMOCKA_MESSAGE_OUTPUT=TAP tests/test_bpf
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cookie_shim.h"
#include "synprobe.h"
#include "synprobe.skel.h"
#include "tcp_opts.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2

#define ETH_HLEN 14
#define FRAME_MAX 512

#define TEST_ISN 0x11223344u   /* our ISN in every tracked flow */
#define PEER_ISN 0xa0b0c0d0u   /* the peer's ISN: seq of its SYN-ACK */
#define TEST_COOKIE 0x53500000c0c0a001ull
#define TEST_CHECK_ID 7
#define OLD_SYN_TS 1000 /* syn_ts_ns of a pre-populated flow: far in the past */
#define LOCAL_PORT 40000
#define LOCAL_PORT_OTHER 40001
#define PEER_PORT 80

static const __u8 local_ip4[4] = { 10, 0, 0, 1 };
static const __u8 peer_ip4[4] = { 10, 0, 0, 2 };
static const __u8 local_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const __u8 peer_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
/* A router on the path: the source of ICMP errors, never the target. */
static const __u8 router_ip4[4] = { 10, 0, 9, 254 };
static const __u8 router_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 9, [15] = 0xfe };
static const __u8 local_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
static const __u8 peer_mac[6] = { 0x02, 0, 0, 0, 0, 2 };

/* TCP flags, byte 13 of the header. */
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define F_ECE 0x40
#define F_CWR 0x80

#define IP4_DF 0x4000
#define IP4_MF 0x2000

/* ICMP (RFC 792) and ICMPv6 (RFC 4443, RFC 4861) types and codes. */
#define ICMP4_ECHO_REPLY 0
#define ICMP4_DEST_UNREACH 3
#define ICMP4_HOST_UNREACH 1	    /* code */
#define ICMP4_PKT_FILTERED 13	    /* code: communication administratively prohibited */
#define ICMP4_REDIRECT 5
#define ICMP4_REDIR_HOST 1	    /* code */
#define ICMP4_ECHO 8
#define ICMP4_TIME_EXCEEDED 11
#define ICMP4_EXC_TTL 0		    /* code */
#define ICMP6_DEST_UNREACH 1
#define ICMP6_ADM_PROHIBITED 1	    /* code */
#define ICMP6_ADDR_UNREACH 3	    /* code */
#define ICMP6_PKT_TOOBIG 2
#define ICMP6_TIME_EXCEED 3
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define ICMP6_NEIGH_SOLICIT 135
#define ICMP_HLEN 8 /* type, code, checksum and the 4-byte rest of the header */

/* What the frame carries above Ethernet. */
enum l3 {
	L3_IPV4,
	L3_IPV6,
	L3_ARP,
};

/* Input of the packet builder. Zero fields give a plain TCP segment without payload. */
struct frame {
	enum l3 l3;
	bool udp;	   /* a UDP datagram instead of TCP */
	int vlan_tags;	   /* 0, 1 (802.1Q) or 2 (802.1ad outer + 802.1Q inner) */
	__u8 tcp_flags;
	__u32 seq;
	__u32 ack;
	__u16 window;
	__u8 ttl;	   /* 0: 64 */
	__u8 tos;	   /* IPv4 TOS or IPv6 traffic class */
	const __u8 *tcp_opts; /* TCP options, a multiple of 4 bytes */
	int tcp_opts_len;
	int doff;	   /* TCP data offset field, 0: what the options make it */
	int payload_len;   /* bytes after the TCP or UDP header */
	int ip_opt_bytes;  /* IPv4 options (a multiple of 4) */
	int ihl;	   /* IPv4 header length field, 0: what the options make it */
	__u16 frag_off;	   /* IPv4 flags + fragment offset, 0: DF as Linux sends */
	bool ext_hop_dest; /* IPv6 hop-by-hop and destination options headers before TCP */
	bool ext_frag;	   /* IPv6 fragment header before TCP (after hop-by-hop + dest. options) */
	__u16 ip6_frag_off; /* its offset and flags field: offset << 3, M = 1; 0: an atomic fragment */
	bool other_port;   /* our side uses LOCAL_PORT_OTHER: a 4-tuple nobody tracks */
	int pad_to;	   /* Ethernet padding up to this many bytes */
	int cut;	   /* keep only this many bytes of the frame, 0: all */
	/*
	 * ICMP (in IPv4) or ICMPv6 (in IPv6) instead of TCP, between the router and us. An error
	 * type quotes our SYN as we sent it (our 4-tuple, LOCAL_PORT_OTHER with other_port); any
	 * other type carries payload_len bytes of data. tcp_* fields, seq and ack are unused.
	 */
	bool icmp;
	__u8 icmp_type;
	__u8 icmp_code;
	__u32 quote_seq;   /* sequence number of the quoted SYN */
	bool quote_udp;	   /* the error quotes a UDP datagram of ours instead of the SYN */
	bool quote_in_data; /* any type: the data is our SYN as an error would quote it */
	bool icmp_other_family; /* ICMPv6 (58) in IPv4, ICMPv4 (1) in IPv6; the quote is still of l3 */
	int quote_len;	   /* bytes of the quoted packet kept, 0: its IP header + 8 (RFC 792) */
};

enum run_prog {
	RUN_INGRESS,	     /* sp_tc_ingress; the frame comes from the peer */
	RUN_EGRESS,	     /* sp_tc_egress; the frame goes to the peer */
	RUN_EGRESS_TRACKED,  /* sp_tc_egress through the harness: the socket is in sp_socks */
};

/* Map state set up before the run. */
enum pre_state {
	PRE_NONE,	     /* empty maps */
	PRE_SYN_SENT,	     /* ingress: sp_socks[TEST_COOKIE] in SYN_SENT, sp_flows[tuple] */
	PRE_FLOWS_ONLY,	     /* ingress: sp_flows[tuple] whose sp_socks record is gone */
	PRE_REGISTERED,	     /* harness: the socket registered, no SYN seen yet */
	PRE_EG_SYN_SENT,     /* harness: the socket's first SYN already learned */
};

/* What must have become of the tracked record. */
enum expect_flow {
	FLOW_UNCHANGED,	     /* sp_socks and sp_flows exactly as set up */
	FLOW_SPOOFED,	     /* ingress: as set up, but the record's spoofed count went up */
	FLOW_REPLIED,	     /* ingress: reply recorded, sp_flows entry gone */
	FLOW_LEARNED,	     /* egress: SYN learned, sp_flows[tuple] = cookie */
	FLOW_RETRANSMIT,     /* egress: retransmission counted */
};

struct bpf_case {
	const char *name;
	enum run_prog prog;
	struct frame frame;
	enum pre_state pre;
	int runs;	     /* the frame is run this many times, 0: once */
	int expect_err;	     /* of bpf_prog_test_run_opts(): 0 or a negative errno */
	int expect_rc;	     /* return code of the program, each run */
	enum expect_flow flow;
	__u8 expect_reply;   /* enum sp_reply, with FLOW_REPLIED */
	__u16 expect_mss;    /* with FLOW_REPLIED: what the TCP options give */
	__u8 expect_wscale;
	__u8 expect_opts;    /* enum sp_reply_opt bits, SP_OPT_DF aside (taken from the frame) */
	int expect_events;   /* ring-buffer events over all runs */
	__u8 loop;	     /* PRE_SYN_SENT: the record's event loop (rings 0 and 1 exist) */
	__u8 flow_flags;     /* PRE_EG_SYN_SENT: enum sp_flow_flag bits of the record */
	struct sp_stats delta;
};

/* Counter names for messages and for summing the per-CPU values. */
static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	{ "eg_packets", offsetof(struct sp_stats, eg_packets) },
	{ "eg_not_tcp", offsetof(struct sp_stats, eg_not_tcp) },
	{ "eg_other_tcp", offsetof(struct sp_stats, eg_other_tcp) },
	{ "eg_untracked", offsetof(struct sp_stats, eg_untracked) },
	{ "eg_syn_tracked", offsetof(struct sp_stats, eg_syn_tracked) },
	{ "eg_syn_retransmits", offsetof(struct sp_stats, eg_syn_retransmits) },
	{ "eg_ack_dropped", offsetof(struct sp_stats, eg_ack_dropped) },
	{ "eg_flows_full", offsetof(struct sp_stats, eg_flows_full) },
	{ "in_packets", offsetof(struct sp_stats, in_packets) },
	{ "in_not_tcp", offsetof(struct sp_stats, in_not_tcp) },
	{ "in_other_tcp", offsetof(struct sp_stats, in_other_tcp) },
	{ "in_other_icmp", offsetof(struct sp_stats, in_other_icmp) },
	{ "in_untracked", offsetof(struct sp_stats, in_untracked) },
	{ "in_matched", offsetof(struct sp_stats, in_matched) },
	{ "in_spoofed", offsetof(struct sp_stats, in_spoofed) },
	{ "in_duplicate", offsetof(struct sp_stats, in_duplicate) },
	{ "in_ringbuf_full", offsetof(struct sp_stats, in_ringbuf_full) },
	{ "in_ring_missing", offsetof(struct sp_stats, in_ring_missing) },
	{ "eg_ack_passed", offsetof(struct sp_stats, eg_ack_passed) },
};
#define N_STATS (sizeof(stat_fields) / sizeof(stat_fields[0]))
/* A counter added to struct sp_stats must be added above too. */
_Static_assert(N_STATS * sizeof(__u64) == sizeof(struct sp_stats), "stat_fields incomplete");

/* The program, its maps and the harness, shared by all cases (group set-up/tear-down). */
static struct synprobe_bpf *skel;
static struct ring_buffer *rb;
static int ncpus;
static int harness_fd = -1;	  /* the cookie harness program */
static int harness_flow_fd = -1;  /* ARRAY[1] of struct sp_flow: the template */
static int harness_jmp_fd = -1;	  /* PROG_ARRAY[1]: sp_tc_egress */

/* Events collected by on_event() during one case. */
#define EVENTS_MAX 4
static struct sp_flow events[EVENTS_MAX];
static int n_events;
static int event_ring = -1;
static int ring_fds[2] = { -1, -1 };
static int bad_event_size;

static int on_event(void *ctx, void *data, size_t size)
{
	/* ctx: the loop whose ring the event came through, as an integer. */
	event_ring = (int)(long)ctx;
	if (size != sizeof(struct sp_flow)) {
		bad_event_size++;
		return 0;
	}
	if (n_events < EVENTS_MAX)
		memcpy(&events[n_events], data, sizeof(struct sp_flow));
	n_events++;
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	/* The clock of bpf_ktime_get_ns(). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* --- packet builder --- */

struct builder {
	__u8 *buf;
	size_t len;
	size_t size;
};

/* Reserves @n zeroed bytes at the end of the frame. */
static __u8 *put(struct builder *b, size_t n)
{
	__u8 *p = b->buf + b->len;

	assert_true(b->len + n <= b->size);
	memset(p, 0, n);
	b->len += n;
	return p;
}

static void put_be16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put_be32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static __u16 ip4_checksum(const __u8 *hdr, size_t len)
{
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (hdr[i] << 8) | hdr[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* An ICMP error (it quotes the packet it is about), not an informational message. */
static bool icmp_is_error(const struct frame *f)
{
	if ((f->l3 == L3_IPV6) != f->icmp_other_family) /* ICMPv6 */
		return f->icmp_type < 128; /* RFC 4443, 2.1 */
	/* RFC 792: unreachable, source quench, redirect, time exceeded, parameter problem */
	return f->icmp_type == 3 || f->icmp_type == 4 || f->icmp_type == 5 ||
	       f->icmp_type == 11 || f->icmp_type == 12;
}

/*
 * The packet an ICMP error of @f quotes: our SYN (no options) or, quote_udp, a UDP datagram,
 * from local to peer, as we sent it. Returns its length; the error keeps quote_len bytes of it.
 */
static size_t build_quoted(const struct frame *f, __u8 *q, size_t size)
{
	__u16 local_port = f->other_port ? LOCAL_PORT_OTHER : LOCAL_PORT;
	int l4_len = f->quote_udp ? 8 + 12 : 20;
	int ip_len = f->l3 == L3_IPV6 ? 40 : 20;
	__u8 *l4 = q + ip_len;

	assert_true((size_t)(ip_len + l4_len) <= size);
	memset(q, 0, ip_len + l4_len);
	if (f->l3 == L3_IPV6) {
		put_be32(q, 0x60000000);
		put_be16(q + 4, l4_len);
		q[6] = f->quote_udp ? 17 : 6;
		q[7] = 64;
		memcpy(q + 8, local_ip6, 16);
		memcpy(q + 24, peer_ip6, 16);
	} else {
		q[0] = 0x45;
		put_be16(q + 2, ip_len + l4_len);
		put_be16(q + 4, 0x4321);
		put_be16(q + 6, IP4_DF);
		q[8] = 64;
		q[9] = f->quote_udp ? 17 : 6;
		memcpy(q + 12, local_ip4, 4);
		memcpy(q + 16, peer_ip4, 4);
		put_be16(q + 10, ip4_checksum(q, ip_len));
	}
	put_be16(l4, local_port);
	put_be16(l4 + 2, PEER_PORT);
	if (f->quote_udp) {
		put_be16(l4 + 4, l4_len);
		memset(l4 + 8, 'u', l4_len - 8);
	} else {
		put_be32(l4 + 4, f->quote_seq);
		l4[12] = 5 << 4;
		l4[13] = F_SYN;
		put_be16(l4 + 14, 64240);
	}
	return ip_len + l4_len;
}

/*
 * Builds the frame of @f into @buf and returns its length. @outbound: from us to the peer
 * (egress), else from the peer to us (ingress); ICMP is between us and the router instead.
 * TCP, UDP and ICMP checksums are left zero: the programs do not look at them.
 */
static size_t build_frame(const struct frame *f, bool outbound, __u8 *buf, size_t size)
{
	struct builder b = { .buf = buf, .size = size };
	__u16 local_port = f->other_port ? LOCAL_PORT_OTHER : LOCAL_PORT;
	__u16 sport = outbound ? local_port : PEER_PORT;
	__u16 dport = outbound ? PEER_PORT : local_port;
	int l4_hdr = f->icmp ? ICMP_HLEN : f->udp ? 8 : 20 + f->tcp_opts_len;
	int l4_len = l4_hdr + f->payload_len;
	bool icmp6 = (f->l3 == L3_IPV6) != f->icmp_other_family;
	__u8 proto = f->icmp ? (icmp6 ? 58 : 1) : f->udp ? 17 : 6;
	const __u8 *remote4 = f->icmp ? router_ip4 : peer_ip4;
	const __u8 *remote6 = f->icmp ? router_ip6 : peer_ip6;
	__u8 quoted[128];
	size_t quoted_len = 0;
	__u8 *p, *l4;
	int i;

	if (f->icmp && (icmp_is_error(f) || f->quote_in_data)) {
		quoted_len = build_quoted(f, quoted, sizeof(quoted));
		if (f->quote_len) {
			assert_true((size_t)f->quote_len <= quoted_len);
			quoted_len = f->quote_len;
		} else {
			/* Its IP header and 8 bytes of TCP or UDP. */
			quoted_len = (f->l3 == L3_IPV6 ? 40 : 20) + 8;
		}
		l4_len = l4_hdr + quoted_len;
	}

	memset(buf, 0, size);
	p = put(&b, 12);
	memcpy(p, outbound ? peer_mac : local_mac, 6);
	memcpy(p + 6, outbound ? local_mac : peer_mac, 6);
	for (i = 0; i < f->vlan_tags; i++) {
		p = put(&b, 4);
		/* TPID, then the TCI: VLAN 100 + i */
		put_be16(p, f->vlan_tags == 2 && i == 0 ? 0x88a8 : 0x8100);
		put_be16(p + 2, 100 + i);
	}
	p = put(&b, 2);

	if (f->l3 == L3_ARP) {
		/* ARP request, RFC 826: who has peer_ip4, tell local_ip4 */
		put_be16(p, 0x0806);
		p = put(&b, 28);
		put_be16(p, 1);
		put_be16(p + 2, 0x0800);
		p[4] = 6;
		p[5] = 4;
		put_be16(p + 6, 1);
		memcpy(p + 8, local_mac, 6);
		memcpy(p + 14, local_ip4, 4);
		memcpy(p + 24, peer_ip4, 4);
	} else if (f->l3 == L3_IPV4) {
		int hdr_len = 20 + f->ip_opt_bytes;
		int ihl = f->ihl ? f->ihl : hdr_len / 4;

		put_be16(p, 0x0800);
		p = put(&b, hdr_len);
		p[0] = 0x40 | (ihl & 0x0f);
		p[1] = f->tos;
		put_be16(p + 2, hdr_len + l4_len);
		put_be16(p + 4, 0x1234);
		put_be16(p + 6, f->frag_off ? f->frag_off : IP4_DF);
		p[8] = f->ttl ? f->ttl : 64;
		p[9] = proto;
		memcpy(p + 12, outbound ? local_ip4 : remote4, 4);
		memcpy(p + 16, outbound ? remote4 : local_ip4, 4);
		/* Options: NOPs, then End of Option List in the last byte. */
		for (i = 20; i < hdr_len - 1; i++)
			p[i] = 1;
		put_be16(p + 10, ip4_checksum(p, hdr_len));
	} else {
		int ext_len = (f->ext_hop_dest ? 16 : 0) + (f->ext_frag ? 8 : 0);
		__u8 *next;

		put_be16(p, 0x86dd);
		p = put(&b, 40);
		put_be32(p, 0x60000000 | (__u32)f->tos << 20);
		put_be16(p + 4, ext_len + l4_len);
		next = p + 6; /* the Next Header field to fill in as the chain grows */
		p[7] = f->ttl ? f->ttl : 64;
		memcpy(p + 8, outbound ? local_ip6 : remote6, 16);
		memcpy(p + 24, outbound ? remote6 : local_ip6, 16);
		if (f->ext_hop_dest) {
			/* Hop-by-hop, then destination options: 8 bytes each, one PadN option. */
			*next = 0;
			p = put(&b, 8);
			p[2] = 1;
			p[3] = 4;
			next = p;
			*next = 60;
			p = put(&b, 8);
			p[2] = 1;
			p[3] = 4;
			next = p;
		}
		if (f->ext_frag) {
			/* Fragment header: offset and M flag as given, identification 0x1234 */
			*next = 44;
			p = put(&b, 8);
			put_be16(p + 2, f->ip6_frag_off);
			put_be32(p + 4, 0x1234);
			next = p;
		}
		*next = proto;
	}

	if (f->icmp) {
		l4 = put(&b, l4_len);
		l4[0] = f->icmp_type;
		l4[1] = f->icmp_code;
		if (quoted_len) {
			/* Rest of the header: unused, the next-hop MTU of "packet too big", or the
			 * gateway of a redirect. */
			if (f->l3 == L3_IPV6 && f->icmp_type == ICMP6_PKT_TOOBIG)
				put_be32(l4 + 4, 1280);
			if (f->l3 == L3_IPV4 && f->icmp_type == ICMP4_REDIRECT)
				memcpy(l4 + 4, router_ip4, 4);
			memcpy(l4 + ICMP_HLEN, quoted, quoted_len);
		} else if (f->l3 == L3_IPV6 && f->icmp_type == ICMP6_NEIGH_SOLICIT) {
			/* Reserved, then the target address (RFC 4861, 4.3): who has local_ip6 */
			assert_true(f->payload_len >= 16);
			memcpy(l4 + ICMP_HLEN, local_ip6, 16);
		} else {
			/* Echo: identifier and sequence number, then the data. */
			put_be16(l4 + 4, 0x5350);
			put_be16(l4 + 6, 1);
			for (i = ICMP_HLEN; i < l4_len; i++)
				l4[i] = 'x';
		}
	} else if (f->l3 != L3_ARP) {
		l4 = put(&b, l4_len);
		put_be16(l4, sport);
		put_be16(l4 + 2, dport);
		if (f->udp) {
			put_be16(l4 + 4, l4_len);
		} else {
			put_be32(l4 + 4, f->seq);
			put_be32(l4 + 8, f->ack);
			l4[12] = (f->doff ? f->doff : l4_hdr / 4) << 4;
			l4[13] = f->tcp_flags;
			put_be16(l4 + 14, f->window);
			if (f->tcp_opts_len)
				memcpy(l4 + 20, f->tcp_opts, f->tcp_opts_len);
		}
		for (i = l4_hdr; i < l4_len; i++)
			l4[i] = 'x';
	}

	if ((int)b.len < f->pad_to)
		put(&b, f->pad_to - b.len);
	if (f->cut && f->cut < (int)b.len)
		b.len = f->cut;
	return b.len;
}

/* Our side of the 4-tuple, as the programs key sp_flows. */
static struct sp_tuple local_tuple(const struct frame *f)
{
	struct sp_tuple t = {};

	if (f->l3 == L3_IPV6) {
		t.family = SP_FAMILY_IPV6;
		memcpy(t.saddr, local_ip6, 16);
		memcpy(t.daddr, peer_ip6, 16);
	} else {
		t.family = SP_FAMILY_IPV4;
		memcpy(t.saddr, local_ip4, 4);
		memcpy(t.daddr, peer_ip4, 4);
	}
	t.sport = htons(f->other_port ? LOCAL_PORT_OTHER : LOCAL_PORT);
	t.dport = htons(PEER_PORT);
	return t;
}

/* A check whose first SYN went out at OLD_SYN_TS with TEST_ISN, as the egress program leaves it. */
static struct sp_flow syn_sent_flow(const struct frame *f, __u64 cookie)
{
	struct sp_flow flow = {
		.cookie = cookie,
		.syn_ts_ns = OLD_SYN_TS,
		.last_syn_ts_ns = OLD_SYN_TS,
		.check_id = TEST_CHECK_ID,
		.isn = TEST_ISN,
		.syn_retransmits = 2,
		.state = SP_FLOW_SYN_SENT,
	};
	struct frame ours = *f;

	ours.other_port = false; /* the tracked flow is always the LOCAL_PORT one */
	flow.tuple = local_tuple(&ours);
	return flow;
}

/* --- the harness for tracked egress cases --- */



/* Creates the harness maps and program; 0 or a negative errno. */
static int harness_load(void)
{
	int egress_fd = bpf_program__fd(skel->progs.sp_tc_egress);
	__u32 zero = 0;

	harness_flow_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sp_test_flow", sizeof(__u32),
					 sizeof(struct sp_flow), 1, NULL);
	if (harness_flow_fd < 0)
		return -errno;
	harness_jmp_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "sp_test_jmp", sizeof(__u32),
					sizeof(__u32), 1, NULL);
	if (harness_jmp_fd < 0)
		return -errno;
	harness_fd = shim_load("sp_test_shim", harness_flow_fd, bpf_map__fd(skel->maps.sp_socks),
			       harness_jmp_fd);
	if (harness_fd < 0)
		return harness_fd;
	if (bpf_map_update_elem(harness_jmp_fd, &zero, &egress_fd, BPF_ANY))
		return -errno;
	return 0;
}

/* --- map and counter helpers --- */

static void map_clear(int fd, size_t key_size)
{
	__u8 key[sizeof(struct sp_tuple)];

	assert_true(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(fd, NULL, key))
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
}

static int map_count(int fd, size_t key_size)
{
	__u8 key[sizeof(struct sp_tuple)], next[sizeof(struct sp_tuple)];
	void *prev = NULL;
	int n = 0;

	assert_true(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static __u64 stat_get(const struct sp_stats *s, size_t i)
{
	return *(const __u64 *)((const char *)s + stat_fields[i].off);
}

static void stat_add(struct sp_stats *s, size_t i, __u64 v)
{
	*(__u64 *)((char *)s + stat_fields[i].off) += v;
}

/* sp_stats summed over the CPUs. */
static void stats_read(struct sp_stats *sum)
{
	struct sp_stats *percpu = calloc(ncpus, sizeof(*percpu));
	__u32 zero = 0;
	size_t i;
	int cpu;

	assert_non_null(percpu);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.sp_stats), &zero, percpu), 0);
	memset(sum, 0, sizeof(*sum));
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = 0; i < N_STATS; i++)
			stat_add(sum, i, stat_get(&percpu[cpu], i));
	free(percpu);
}

/* Every counter moved by exactly what the case says (all others by 0). */
static void stats_check(const struct sp_stats *before, const struct sp_stats *after,
			const struct sp_stats *want)
{
	int bad = 0;
	size_t i;

	for (i = 0; i < N_STATS; i++) {
		__u64 got = stat_get(after, i) - stat_get(before, i);

		if (got != stat_get(want, i)) {
			print_error("%s: changed by %llu, expected %llu\n", stat_fields[i].name,
				    (unsigned long long)got, (unsigned long long)stat_get(want, i));
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

/* --- the case runner --- */

static int case_setup(void **state)
{
	map_clear(bpf_map__fd(skel->maps.sp_socks), sizeof(__u64));
	map_clear(bpf_map__fd(skel->maps.sp_flows), sizeof(struct sp_tuple));
	ring_buffer__consume(rb);
	n_events = 0;
	bad_event_size = 0;
	return 0;
}

static void run_case(void **state)
{
	const struct bpf_case *c = *state;
	int socks_fd = bpf_map__fd(skel->maps.sp_socks);
	int flows_fd = bpf_map__fd(skel->maps.sp_flows);
	bool outbound = c->prog != RUN_INGRESS;
	struct sp_tuple tuple = local_tuple(&c->frame);
	struct sp_flow pre = {}, rec, want, tmpl, parsed;
	struct sp_stats before, after;
	__u8 in[FRAME_MAX], out[FRAME_MAX];
	int runs = c->runs ? c->runs : 1;
	int socks_before, flows_before, prog_fd, err, i;
	__u64 cookie = TEST_COOKIE, got_cookie, t0, t1;
	__u32 zero = 0;
	size_t len;

	len = build_frame(&c->frame, outbound, in, sizeof(in));

	/* Map state before the run. */
	switch (c->pre) {
	case PRE_NONE:
		break;
	case PRE_SYN_SENT:
		pre = syn_sent_flow(&c->frame, TEST_COOKIE);
		pre.loop = c->loop;
		assert_int_equal(bpf_map_update_elem(socks_fd, &cookie, &pre, BPF_NOEXIST), 0);
		err = bpf_map_update_elem(flows_fd, &pre.tuple, &cookie, BPF_NOEXIST);
		assert_int_equal(err, 0);
		break;
	case PRE_FLOWS_ONLY:
		pre = syn_sent_flow(&c->frame, TEST_COOKIE);
		err = bpf_map_update_elem(flows_fd, &pre.tuple, &cookie, BPF_NOEXIST);
		assert_int_equal(err, 0);
		break;
	case PRE_REGISTERED:
		pre.check_id = TEST_CHECK_ID;
		pre.state = SP_FLOW_REGISTERED;
		break;
	case PRE_EG_SYN_SENT:
		pre = syn_sent_flow(&c->frame, 0);
		pre.flags = c->flow_flags;
		break;
	}
	if (c->prog == RUN_EGRESS_TRACKED) {
		assert_true(c->pre == PRE_REGISTERED || c->pre == PRE_EG_SYN_SENT);
		assert_int_equal(bpf_map_update_elem(harness_flow_fd, &zero, &pre, BPF_ANY), 0);
		prog_fd = harness_fd;
	} else if (c->prog == RUN_EGRESS) {
		prog_fd = bpf_program__fd(skel->progs.sp_tc_egress);
	} else {
		prog_fd = bpf_program__fd(skel->progs.sp_tc_ingress);
	}
	socks_before = map_count(socks_fd, sizeof(__u64));
	flows_before = map_count(flows_fd, sizeof(struct sp_tuple));

	stats_read(&before);
	t0 = now_ns();
	for (i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out));

		err = bpf_prog_test_run_opts(prog_fd, &opts);
		if (err)
			err = -errno;
		assert_int_equal(err, c->expect_err);
		if (err)
			continue;
		assert_int_equal((int)opts.retval, c->expect_rc);
		/* The programs only read: the frame leaves as it came. */
		assert_int_equal(opts.data_size_out, len);
		assert_memory_equal(out, in, len);
		ring_buffer__consume(rb);
	}
	t1 = now_ns();
	stats_read(&after);
	stats_check(&before, &after, &c->delta);

	assert_int_equal(bad_event_size, 0);
	assert_int_equal(n_events, c->expect_events);
	/* The event went through the ring of the record's loop. */
	if (c->expect_events)
		assert_int_equal(event_ring, c->loop);

	/* The harness wrote the cookie of the run's socket into the template. */
	if (c->prog == RUN_EGRESS_TRACKED) {
		assert_int_equal(runs, 1);
		assert_int_equal(bpf_map_lookup_elem(harness_flow_fd, &zero, &tmpl), 0);
		cookie = tmpl.cookie;
		assert_true(cookie != 0);
		pre.cookie = cookie;
	}

	switch (c->flow) {
	case FLOW_UNCHANGED:
		assert_int_equal(map_count(socks_fd, sizeof(__u64)),
				 socks_before + (c->prog == RUN_EGRESS_TRACKED));
		assert_int_equal(map_count(flows_fd, sizeof(struct sp_tuple)), flows_before);
		if (c->pre == PRE_SYN_SENT || c->prog == RUN_EGRESS_TRACKED) {
			assert_int_equal(bpf_map_lookup_elem(socks_fd, &cookie, &rec), 0);
			assert_memory_equal(&rec, &pre, sizeof(rec));
		}
		if (c->pre == PRE_SYN_SENT || c->pre == PRE_FLOWS_ONLY) {
			assert_int_equal(bpf_map_lookup_elem(flows_fd, &pre.tuple, &got_cookie), 0);
			assert_int_equal(got_cookie, TEST_COOKIE);
		}
		break;

	case FLOW_SPOOFED:
		assert_int_equal(c->pre, PRE_SYN_SENT);
		assert_int_equal(map_count(socks_fd, sizeof(__u64)), socks_before);
		assert_int_equal(map_count(flows_fd, sizeof(struct sp_tuple)), flows_before);
		assert_int_equal(bpf_map_lookup_elem(flows_fd, &pre.tuple, &got_cookie), 0);
		assert_int_equal(got_cookie, TEST_COOKIE);
		assert_int_equal(bpf_map_lookup_elem(socks_fd, &cookie, &rec), 0);
		want = pre;
		want.spoofed = pre.spoofed + runs;
		assert_memory_equal(&rec, &want, sizeof(rec));
		break;

	case FLOW_REPLIED:
		assert_int_equal(c->pre, PRE_SYN_SENT);
		assert_int_equal(map_count(socks_fd, sizeof(__u64)), socks_before);
		assert_int_equal(map_count(flows_fd, sizeof(struct sp_tuple)), flows_before - 1);
		assert_int_equal(bpf_map_lookup_elem(flows_fd, &pre.tuple, &got_cookie), -ENOENT);
		assert_int_equal(bpf_map_lookup_elem(socks_fd, &cookie, &rec), 0);
		assert_in_range(rec.reply_ts_ns, t0, t1);
		assert_int_equal(rec.state, SP_FLOW_REPLIED);
		assert_int_equal(rec.reply, c->expect_reply);
		want = pre;
		want.reply_ts_ns = rec.reply_ts_ns;
		want.state = SP_FLOW_REPLIED;
		want.reply = c->expect_reply;
		if (c->frame.icmp) {
			/* No TCP header of the peer's: the IP fields, the type and the code. */
			assert_int_equal(rec.icmp_type, c->frame.icmp_type);
			assert_int_equal(rec.icmp_code, c->frame.icmp_code);
			want.icmp_type = c->frame.icmp_type;
			want.icmp_code = c->frame.icmp_code;
		} else {
			assert_int_equal(rec.reply_seq, c->frame.seq);
			want.reply_seq = c->frame.seq;
			want.reply_window = c->frame.window;
			want.reply_tcp_flags = c->frame.tcp_flags;
		}
		want.reply_ttl = c->frame.ttl ? c->frame.ttl : 64;
		want.reply_tos = c->frame.tos;
		want.reply_mss = c->expect_mss;
		want.reply_wscale = c->expect_wscale;
		want.reply_opts = c->expect_opts;
		if (c->frame.l3 == L3_IPV6) {
			memcpy(want.reply_from, c->frame.icmp ? router_ip6 : peer_ip6, 16);
			if (c->frame.icmp)
				assert_memory_equal(rec.reply_from, router_ip6, 16);
		} else {
			memcpy(want.reply_from, c->frame.icmp ? router_ip4 : peer_ip4, 4);
			if (c->frame.icmp)
				assert_memory_equal(rec.reply_from, router_ip4, 4);
			want.reply_ip_id = 0x1234;
			if (!c->frame.frag_off)
				want.reply_opts |= SP_OPT_DF;
		}
		/*
		 * The kernel copies the SYN-ACK's options as they are and parses none of them: the
		 * copy is the frame's, and the expected MSS, window scale and bits are what the
		 * engine's parse of it gives (user/tcp_opts.c), as synprobe sees them.
		 */
		assert_int_equal(rec.reply_mss, 0);
		assert_int_equal(rec.reply_wscale, 0);
		assert_int_equal(rec.reply_opts & (SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM |
						   SP_OPT_TIMESTAMPS), 0);
		if (!c->frame.icmp && !c->frame.doff && c->expect_reply == SP_REPLY_SYN_ACK) {
			assert_int_equal(rec.reply_tcp_opts_len, c->frame.tcp_opts_len);
			if (c->frame.tcp_opts_len)
				assert_memory_equal(rec.reply_tcp_opts, c->frame.tcp_opts,
						    c->frame.tcp_opts_len);
		}
		if (c->expect_reply != SP_REPLY_SYN_ACK)
			assert_int_equal(rec.reply_tcp_opts_len, 0);
		/* A data offset that claims more options than the frame holds: nothing copied, and
		 * the kernel's MALFORMED bit (the parse of nothing cannot set it). */
		if (!c->frame.icmp && c->frame.doff && c->expect_reply == SP_REPLY_SYN_ACK &&
		    c->frame.doff * 4 - 20 > c->frame.tcp_opts_len + c->frame.payload_len) {
			assert_int_equal(rec.reply_tcp_opts_len, 0);
			assert_true(rec.reply_opts & SP_OPT_MALFORMED);
		}
		want.reply_tcp_opts_len = rec.reply_tcp_opts_len;
		memcpy(want.reply_tcp_opts, rec.reply_tcp_opts, sizeof(want.reply_tcp_opts));
		parsed = rec;
		sp_flow_parse_tcp_opts(&parsed);
		assert_memory_equal(&parsed, &want, sizeof(parsed));
		/* The event is the record as it was at the reply. */
		if (!c->expect_events)
			break;
		assert_int_equal(events[0].cookie, TEST_COOKIE);
		assert_int_equal(events[0].check_id, TEST_CHECK_ID);
		assert_int_equal(events[0].isn, TEST_ISN);
		assert_memory_equal(&events[0], &rec, sizeof(rec));
		break;

	case FLOW_LEARNED:
		assert_int_equal(c->pre, PRE_REGISTERED);
		assert_int_equal(map_count(flows_fd, sizeof(struct sp_tuple)), flows_before + 1);
		assert_int_equal(bpf_map_lookup_elem(flows_fd, &tuple, &got_cookie), 0);
		assert_int_equal(got_cookie, cookie);
		assert_int_equal(bpf_map_lookup_elem(socks_fd, &cookie, &rec), 0);
		assert_in_range(rec.syn_ts_ns, t0, t1);
		want = pre;
		want.syn_ts_ns = rec.syn_ts_ns;
		want.last_syn_ts_ns = rec.syn_ts_ns;
		want.tuple = tuple;
		want.isn = c->frame.seq;
		want.state = SP_FLOW_SYN_SENT;
		assert_memory_equal(&rec, &want, sizeof(rec));
		break;

	case FLOW_RETRANSMIT:
		assert_int_equal(c->pre, PRE_EG_SYN_SENT);
		assert_int_equal(map_count(flows_fd, sizeof(struct sp_tuple)), flows_before);
		assert_int_equal(bpf_map_lookup_elem(socks_fd, &cookie, &rec), 0);
		assert_in_range(rec.last_syn_ts_ns, t0, t1);
		want = pre;
		want.last_syn_ts_ns = rec.last_syn_ts_ns;
		want.syn_retransmits = pre.syn_retransmits + 1;
		assert_memory_equal(&rec, &want, sizeof(rec));
		break;
	}
}

/* --- the cases --- */

/* A Linux SYN-ACK's options: MSS 1460, SACK permitted, timestamps, NOP, window scale 7. */
static const __u8 linux_synack_opts[20] = {
	2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7,
};
/* MSS 1400, then an option of length 0: the walk must stop there. */
static const __u8 bad_len_opts[8] = { 2, 4, 0x05, 0x78, 3, 0, 1, 1 };
/* NOP padding around MSS 1460, window scale 8, SACK-permitted, timestamps (ending the header). */
static const __u8 nop_padded_opts[28] = {
	1, 1, 1, 1, 2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2,
	1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0, 0,
};
/*
 * MSS 1400, EOL, then SACK-permitted and window scale 7 that the walk must not reach. A walk
 * that read EOL as a NOP would record them; one that read it as kind 0 of length 4 would find
 * an option running past the header.
 */
static const __u8 eol_early_opts[12] = { 2, 4, 0x05, 0x78, 0, 4, 2, 3, 3, 7, 1, 1 };
/* EOL first: the MSS behind it does not count. */
static const __u8 eol_first_opts[8] = { 0, 1, 2, 4, 0x05, 0xb4, 1, 1 };
/* Window scale 7, SACK-permitted of length 1, then an MSS the walk must not reach. */
static const __u8 len1_opts[12] = { 1, 3, 3, 7, 4, 1, 2, 4, 0x05, 0xb4, 1, 1 };
/* MSS 1460, then timestamps (length 10) starting 2 bytes before the end of the header. */
static const __u8 past_end_opts[8] = { 2, 4, 0x05, 0xb4, 1, 1, 8, 10 };
/* MSS 1460, then SACK-permitted's kind in the last byte: no room for its length. */
static const __u8 no_len_byte_opts[8] = { 2, 4, 0x05, 0xb4, 1, 1, 1, 4 };
/* Experimental kind 254 (RFC 6994, ExID 0xf989, length 6), kind 30 (length 4), then MSS 1460,
 * SACK-permitted, window scale 2, EOL. */
static const __u8 unknown_kind_opts[20] = {
	254, 6, 0xf9, 0x89, 0xaa, 0xbb, 30, 4, 0, 1, 2, 4, 0x05, 0xb4, 4, 2, 3, 3, 2, 0,
};
/* The largest option area, all NOPs: every bpf_loop() step used, nothing recorded. */
static const __u8 nop40_opts[40] = { [0 ... 39] = 1 };
/* 36 NOPs, then MSS 1460 in the last 4 bytes of the largest option area. */
static const __u8 nop36_mss_opts[40] = { [0 ... 35] = 1, 2, 4, 0x05, 0xb4 };
/* 37 NOPs, then window scale 14 in the last 3 bytes of the largest option area. */
static const __u8 nop37_wscale_opts[40] = { [0 ... 36] = 1, 3, 3, 14 };
/* MSS with length 3 (ignored, but stepped over by its length), window scale 7, NOP, NOP. */
static const __u8 mss_len3_opts[8] = { 2, 3, 0x05, 3, 3, 7, 1, 1 };

static const struct bpf_case cases[] = {
	/* ingress: replies to a tracked flow */
	{
		.name = "ingress IPv4 SYN-ACK acking ISN+1: matched, event, flow removed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 64240, .ttl = 57 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK of loop 1's check: its event goes through ring 1",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 64240, .ttl = 57 },
		.pre = PRE_SYN_SENT,
		.loop = 1,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK of a loop without a ring: recorded, counted, no event",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 64240, .ttl = 57 },
		.pre = PRE_SYN_SENT,
		.loop = 7,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 0,
		.delta = { .in_packets = 1, .in_ring_missing = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK acking ISN+1: matched, event, flow removed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .ttl = 63 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK with ECE (ECN set-up): matched, flags kept",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK | F_ECE, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 29200, .ttl = 120 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK with Linux's options: MSS, wscale, SACK, TS recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65160, .ttl = 64, .tos = 0x10,
			   .tcp_opts = linux_synack_opts, .tcp_opts_len = 20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_wscale = 7,
		.expect_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK with Linux's options and traffic class 0xb8",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 64800, .ttl = 64, .tos = 0xb8,
			   .tcp_opts = linux_synack_opts, .tcp_opts_len = 20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_wscale = 7,
		.expect_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK with an option of length 0: matched, malformed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 1000, .tcp_opts = bad_len_opts,
			   .tcp_opts_len = 8 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1400,
		.expect_opts = SP_OPT_MSS | SP_OPT_MALFORMED,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		/* The kernel discards it (tcp_v4_rcv(): pskb_may_pull(doff * 4)): not a reply. */
		.name = "ingress IPv4 SYN-ACK whose data offset (60) runs past the IP length: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 1000, .doff = 15 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv6 RST+ACK whose data offset (24) runs past the IP length: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_RST | F_ACK, .seq = 0,
			   .ack = TEST_ISN + 1, .window = 0, .doff = 6 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK with a wrong ack: spoofed, flow kept, no event",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 2, .window = 64240 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK with a wrong ack (ISN): spoofed, flow kept, no event",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN, .window = 64240 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress IPv4 RST+ACK acking ISN+1: matched as RST",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_RST | F_ACK, .seq = 0,
			   .ack = TEST_ISN + 1, .window = 0, .ttl = 64 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_RST,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 RST+ACK acking ISN+1: matched as RST",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_RST | F_ACK, .seq = 0,
			   .ack = TEST_ISN + 1, .window = 0, .ttl = 64 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_RST,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 RST+ACK with a wrong ack: spoofed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_RST | F_ACK, .ack = TEST_ISN + 1000 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress IPv4 RST without ACK (ack field right): spoofed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_RST, .seq = TEST_ISN + 1,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress IPv6 RST without ACK (ack field right): spoofed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_RST, .seq = TEST_ISN + 1,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK twice: second one untracked, one event",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 64240, .ttl = 57 },
		.pre = PRE_SYN_SENT,
		.runs = 2,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 2, .in_matched = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK twice: second one untracked, one event",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 64240, .ttl = 57 },
		.pre = PRE_SYN_SENT,
		.runs = 2,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 2, .in_matched = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress IPv4 lone SYN (no ACK) on a tracked 4-tuple: other TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN, .seq = PEER_ISN },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_tcp = 1 },
	},

	/* ingress: traffic that is not ours */
	{
		.name = "ingress IPv4 SYN-ACK for an untracked 4-tuple: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .other_port = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK for an untracked 4-tuple: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .other_port = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress IPv4 RST+ACK with empty maps: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_RST | F_ACK, .ack = TEST_ISN + 1 },
		.pre = PRE_NONE,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK, sp_flows entry without sp_socks record: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_FLOWS_ONLY,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress IPv4 UDP: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .udp = true, .payload_len = 12 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv6 UDP: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .udp = true, .payload_len = 12 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ARP: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_ARP },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 plain ACK on a tracked 4-tuple: other TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_ACK, .seq = PEER_ISN + 1,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_tcp = 1 },
	},
	{
		.name = "ingress IPv6 plain ACK on a tracked 4-tuple: other TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_ACK, .seq = PEER_ISN + 1,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_tcp = 1 },
	},

	/* ingress: truncated and unusual headers (tracked flow, right ack: only parsing decides) */
	{
		/* bpf_test_init() refuses data shorter than ETH_HLEN: the program never runs. */
		.name = "ingress frame cut inside the Ethernet header (13 bytes): test_run refuses",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .ack = TEST_ISN + 1,
			   .cut = ETH_HLEN - 1 },
		.pre = PRE_SYN_SENT,
		.expect_err = -EINVAL,
		.flow = FLOW_UNCHANGED,
		.delta = {},
	},
	{
		.name = "ingress frame cut inside the 802.1Q tag: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .vlan_tags = 1, .tcp_flags = F_SYN | F_ACK,
			   .ack = TEST_ISN + 1, .cut = ETH_HLEN + 2 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		/*
		 * Since 2025 test_run refuses an IPv4/IPv6 frame shorter than its IP header
		 * (net/bpf/test_run.c, skb_headlen() < sizeof(struct iphdr)). A VLAN tag hides the
		 * IP ethertype from that check: the tagged cases below reach the program.
		 */
		.name = "ingress untagged IPv4 cut inside the IPv4 header: refused by test_run",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .ack = TEST_ISN + 1,
			   .cut = ETH_HLEN + 19 },
		.pre = PRE_SYN_SENT,
		.expect_err = -EINVAL,
		.flow = FLOW_UNCHANGED,
		.delta = {},
	},
	{
		.name = "ingress 802.1Q frame of Ethernet + tag alone (inner IPv4): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .vlan_tags = 1, .tcp_flags = F_SYN | F_ACK,
			   .ack = TEST_ISN + 1, .cut = ETH_HLEN + 4 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress 802.1Q IPv4 cut inside the IPv4 header: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .vlan_tags = 1, .tcp_flags = F_SYN | F_ACK,
			   .ack = TEST_ISN + 1, .cut = ETH_HLEN + 4 + 19 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 cut inside the IP options: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .ip_opt_bytes = 8, .tcp_flags = F_SYN | F_ACK,
			   .ack = TEST_ISN + 1, .cut = ETH_HLEN + 24 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress 802.1Q IPv6 cut inside the IPv6 header: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .vlan_tags = 1, .tcp_flags = F_SYN | F_ACK,
			   .ack = TEST_ISN + 1, .cut = ETH_HLEN + 4 + 39 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv6 cut inside an extension header: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_hop_dest = true, .tcp_flags = F_SYN | F_ACK,
			   .ack = TEST_ISN + 1, .cut = ETH_HLEN + 40 + 12 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 cut inside the TCP header: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .ack = TEST_ISN + 1,
			   .cut = ETH_HLEN + 20 + 19 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv6 cut inside the TCP header: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .ack = TEST_ISN + 1,
			   .cut = ETH_HLEN + 40 + 14 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 with IP options (ihl 7) SYN-ACK: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .ip_opt_bytes = 8, .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1, .window = 1024, .ttl = 33 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 with ihl 4: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .ihl = 4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 first fragment (MF, offset 0): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .frag_off = IP4_MF, .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 later fragment (offset 185): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .frag_off = 185, .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv6 hop-by-hop + destination options SYN-ACK: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_hop_dest = true, .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1, .window = 4096, .ttl = 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 first fragment (offset 0, M=1): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_frag = true, .ip6_frag_off = 0x0001,
			   .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		/* A later fragment: masking only the M flag would let it through. */
		.name = "ingress IPv6 last fragment (offset 185, M=0): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_frag = true, .ip6_frag_off = 185 << 3,
			   .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN, .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv6 middle fragment (offset 1, M=1): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_frag = true, .ip6_frag_off = 1 << 3 | 1,
			   .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN, .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		/*
		 * RFC 6946: an atomic fragment (offset 0, M=0) is a whole packet; the kernel takes it.
		 * With options, so the copy shows the TCP header was found 8 bytes further in.
		 */
		.name = "ingress IPv6 SYN-ACK in an atomic fragment (offset 0, M=0): matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_frag = true, .ip6_frag_off = 0,
			   .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN, .ack = TEST_ISN + 1,
			   .window = 64800, .tcp_opts = linux_synack_opts, .tcp_opts_len = 20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_wscale = 7,
		.expect_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		/* The two reserved bits are not the offset or M: the kernel ignores them (RFC 8200). */
		.name = "ingress IPv6 SYN-ACK in an atomic fragment with its reserved bits set: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_frag = true, .ip6_frag_off = 0x0006,
			   .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN, .ack = TEST_ISN + 1,
			   .window = 64800 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 RST+ACK in an atomic fragment: matched as RST",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_frag = true, .tcp_flags = F_RST | F_ACK,
			   .seq = 0, .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_RST,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK, hop-by-hop + dest. options + atomic fragment: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_hop_dest = true, .ext_frag = true,
			   .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN, .ack = TEST_ISN + 1,
			   .window = 64800, .tcp_opts = linux_synack_opts, .tcp_opts_len = 20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_wscale = 7,
		.expect_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK, hop-by-hop + dest. options + first fragment: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_hop_dest = true, .ext_frag = true,
			   .ip6_frag_off = 0x0001, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv6 atomic fragment cut inside the fragment header: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .ext_frag = true, .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1, .cut = ETH_HLEN + 40 + 4 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress IPv4 802.1Q-tagged SYN-ACK: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .vlan_tags = 1, .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1, .window = 512, .ttl = 250 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 802.1Q-tagged RST+ACK: matched as RST",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .vlan_tags = 1, .tcp_flags = F_RST | F_ACK,
			   .ack = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_RST,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 QinQ (802.1ad + 802.1Q) SYN-ACK: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .vlan_tags = 2, .tcp_flags = F_SYN | F_ACK,
			   .seq = PEER_ISN, .ack = TEST_ISN + 1, .window = 8192 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},

	/* ingress: SYN-ACK options (the walk of opt_step()) */
	{
		.name = "ingress IPv4 SYN-ACK with NOP-padded MSS, wscale, SACK, TS: all recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = nop_padded_opts,
			   .tcp_opts_len = 28 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_wscale = 8,
		.expect_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK with NOP-padded MSS, wscale, SACK, TS: all recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = nop_padded_opts,
			   .tcp_opts_len = 28 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_wscale = 8,
		.expect_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK, EOL after MSS: walk stops, later options not read",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = eol_early_opts,
			   .tcp_opts_len = 12 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1400,
		.expect_opts = SP_OPT_MSS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK whose options start with EOL: nothing recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = eol_first_opts,
			   .tcp_opts_len = 8 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK, option of length 1: malformed, earlier wscale kept",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = len1_opts,
			   .tcp_opts_len = 12 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_wscale = 7,
		.expect_opts = SP_OPT_WSCALE | SP_OPT_MALFORMED,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK, option of length 1: malformed, earlier wscale kept",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = len1_opts,
			   .tcp_opts_len = 12 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_wscale = 7,
		.expect_opts = SP_OPT_WSCALE | SP_OPT_MALFORMED,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK with TS running past the header: malformed, MSS kept",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = past_end_opts,
			   .tcp_opts_len = 8 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_opts = SP_OPT_MSS | SP_OPT_MALFORMED,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK, kind in the last byte (no length): malformed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = no_len_byte_opts,
			   .tcp_opts_len = 8 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_opts = SP_OPT_MSS | SP_OPT_MALFORMED,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK, unknown kinds 254 and 30 skipped, the rest recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = unknown_kind_opts,
			   .tcp_opts_len = 20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_wscale = 2,
		.expect_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK, 40 bytes of NOPs: nothing recorded, not malformed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = nop40_opts,
			   .tcp_opts_len = 40 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK with 36 NOPs then MSS in the last 4 bytes: recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = nop36_mss_opts,
			   .tcp_opts_len = 40 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_mss = 1460,
		.expect_opts = SP_OPT_MSS,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv6 SYN-ACK, 37 NOPs then wscale in the last 3 bytes: recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = nop37_wscale_opts,
			   .tcp_opts_len = 40 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_wscale = 14,
		.expect_opts = SP_OPT_WSCALE,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress IPv4 SYN-ACK, MSS of length 3: ignored, wscale after it recorded",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ACK, .seq = PEER_ISN,
			   .ack = TEST_ISN + 1, .window = 65535, .tcp_opts = mss_len3_opts,
			   .tcp_opts_len = 8 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_SYN_ACK,
		.expect_wscale = 7,
		.expect_opts = SP_OPT_WSCALE,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},

	/* ICMP and ICMPv6 from a router on the path: errors quoting our SYN, and the rest */
	{
		.name = "ingress ICMP unreachable, admin-prohibited (3/13) from a router: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN, .ttl = 250,
			   .tos = 0xc0 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress ICMP unreachable, host unreachable (3/1) from a router: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_HOST_UNREACH, .quote_seq = TEST_ISN, .ttl = 61 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress ICMP time exceeded (11/0) from a router: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_TIME_EXCEEDED,
			   .icmp_code = ICMP4_EXC_TTL, .quote_seq = TEST_ISN, .ttl = 254,
			   .tos = 0xc0 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress ICMP unreachable quoting the whole SYN (40 bytes): matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN,
			   .quote_len = 20 + 20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress 802.1Q-tagged ICMP unreachable (3/13): matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN, .vlan_tags = 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable, admin-prohibited (1/1) from a router: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADM_PROHIBITED, .quote_seq = TEST_ISN, .ttl = 60,
			   .tos = 0x20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable, address unreachable (1/3), router: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADDR_UNREACH, .quote_seq = TEST_ISN, .ttl = 63 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		/* A path-MTU signal, not an answer: the kernel retransmits and the check waits on. */
		.name = "ingress ICMPv6 packet too big (2/0) quoting our SYN: not an answer",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_PKT_TOOBIG,
			   .icmp_code = 0, .quote_seq = TEST_ISN, .ttl = 62 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMP fragmentation needed (3/4) quoting our SYN: not an answer",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = 4, .quote_seq = TEST_ISN, .ttl = 62 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		/*
		 * RFC 4443, 1: ICMPv6 is IPv6's. An ICMP (protocol 1) unreachable inside IPv6,
		 * quoting our IPv6 SYN with the right ISN, would be believed by a program that read
		 * the ICMP type by the protocol and the quote by the family.
		 */
		.name = "ingress ICMPv4 unreachable (3/13) inside IPv6 quoting our SYN: not believed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_other_family = true,
			   .icmp_type = ICMP4_DEST_UNREACH, .icmp_code = ICMP4_PKT_FILTERED,
			   .quote_seq = TEST_ISN },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable (1/1) inside IPv4 quoting our SYN: not believed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_other_family = true,
			   .icmp_type = ICMP6_DEST_UNREACH, .icmp_code = ICMP6_ADM_PROHIBITED,
			   .quote_seq = TEST_ISN },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMPv6 time exceeded (3/0) inside IPv4 quoting our SYN: not believed",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_other_family = true,
			   .icmp_type = ICMP6_TIME_EXCEED, .icmp_code = 0, .quote_seq = TEST_ISN },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMPv6 time exceeded (3/0) from a router: matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_TIME_EXCEED,
			   .icmp_code = 0, .quote_seq = TEST_ISN, .ttl = 255 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable quoting the whole SYN (60 bytes): matched",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADM_PROHIBITED, .quote_seq = TEST_ISN,
			   .quote_len = 40 + 20 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 1, .in_matched = 1 },
	},
	{
		.name = "ingress ICMP unreachable twice: second one untracked, one event",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_HOST_UNREACH, .quote_seq = TEST_ISN },
		.pre = PRE_SYN_SENT,
		.runs = 2,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 2, .in_matched = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable twice: second one untracked, one event",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADDR_UNREACH, .quote_seq = TEST_ISN },
		.pre = PRE_SYN_SENT,
		.runs = 2,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_REPLIED,
		.expect_reply = SP_REPLY_ICMP,
		.expect_events = 1,
		.delta = { .in_packets = 2, .in_matched = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress ICMP unreachable quoting seq ISN+1: spoofed, flow kept",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN + 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress ICMP time exceeded quoting seq 0: spoofed, flow kept",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_TIME_EXCEEDED,
			   .icmp_code = ICMP4_EXC_TTL },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable quoting seq ISN-1: spoofed, flow kept",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADM_PROHIBITED, .quote_seq = TEST_ISN - 1 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_SPOOFED,
		.delta = { .in_packets = 1, .in_spoofed = 1 },
	},
	{
		.name = "ingress ICMP unreachable quoting an untracked 4-tuple: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN,
			   .other_port = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable quoting an untracked 4-tuple: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADM_PROHIBITED, .quote_seq = TEST_ISN,
			   .other_port = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress ICMP unreachable with empty maps: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_HOST_UNREACH, .quote_seq = TEST_ISN },
		.pre = PRE_NONE,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress ICMP unreachable, sp_flows entry, no sp_socks record: untracked",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_HOST_UNREACH, .quote_seq = TEST_ISN },
		.pre = PRE_FLOWS_ONLY,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_untracked = 1 },
	},
	{
		.name = "ingress ICMP cut inside its own header (4 bytes): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN,
			   .cut = ETH_HLEN + 20 + 4 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMPv6 cut inside its own header (4 bytes): not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADM_PROHIBITED, .quote_seq = TEST_ISN,
			   .cut = ETH_HLEN + 40 + 4 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMP unreachable quoting nothing: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN,
			   .cut = ETH_HLEN + 20 + ICMP_HLEN },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMP unreachable, quoted IPv4 header cut (12 bytes): other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN,
			   .quote_len = 12 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable, quoted IPv6 header cut (30 bytes): other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADM_PROHIBITED, .quote_seq = TEST_ISN,
			   .quote_len = 30 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMP unreachable, quoted TCP cut after the ports: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN,
			   .quote_len = 20 + 4 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMP unreachable, quoted TCP cut inside the seq: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_PKT_FILTERED, .quote_seq = TEST_ISN,
			   .quote_len = 20 + 7 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable, quoted TCP cut after the ports: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADM_PROHIBITED, .quote_seq = TEST_ISN,
			   .quote_len = 40 + 4 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable, quoted TCP cut inside the seq: not TCP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = 0, .quote_seq = TEST_ISN, .quote_len = 40 + 6 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_not_tcp = 1 },
	},
	{
		.name = "ingress ICMP unreachable quoting a UDP datagram of ours: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_DEST_UNREACH,
			   .icmp_code = ICMP4_HOST_UNREACH, .quote_seq = TEST_ISN,
			   .quote_udp = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMPv6 unreachable quoting a UDP datagram of ours: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_DEST_UNREACH,
			   .icmp_code = ICMP6_ADDR_UNREACH, .quote_seq = TEST_ISN,
			   .quote_udp = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMP echo request: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_ECHO, .icmp_code = 0,
			   .payload_len = 56 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMP echo reply: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_ECHO_REPLY,
			   .icmp_code = 0, .payload_len = 56 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMPv6 echo request: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_ECHO_REQUEST,
			   .icmp_code = 0, .payload_len = 56 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMPv6 echo reply: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_ECHO_REPLY,
			   .icmp_code = 0, .payload_len = 56 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMPv6 neighbour solicitation: other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_NEIGH_SOLICIT,
			   .icmp_code = 0, .ttl = 255, .payload_len = 16 },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMP echo reply whose data is our SYN (right ISN): other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_ECHO_REPLY,
			   .icmp_code = 0, .quote_seq = TEST_ISN, .quote_in_data = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMPv6 echo reply whose data is our SYN (right ISN): other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV6, .icmp = true, .icmp_type = ICMP6_ECHO_REPLY,
			   .icmp_code = 0, .quote_seq = TEST_ISN, .quote_in_data = true },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "ingress ICMP host redirect quoting our SYN (right ISN): other ICMP",
		.prog = RUN_INGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_REDIRECT,
			   .icmp_code = ICMP4_REDIR_HOST, .quote_seq = TEST_ISN },
		.pre = PRE_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .in_packets = 1, .in_other_icmp = 1 },
	},
	{
		.name = "egress ICMP echo request: not TCP",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV4, .icmp = true, .icmp_type = ICMP4_ECHO, .icmp_code = 0,
			   .payload_len = 56 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_not_tcp = 1 },
	},

	/* egress, straight test_run: the dummy socket's cookie is never in sp_socks */
	{
		.name = "egress IPv4 UDP: not TCP",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV4, .udp = true, .payload_len = 30 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_not_tcp = 1 },
	},
	{
		.name = "egress IPv6 UDP: not TCP",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV6, .udp = true, .payload_len = 30 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_not_tcp = 1 },
	},
	{
		.name = "egress ARP: not TCP",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_ARP },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_not_tcp = 1 },
	},
	{
		.name = "egress IPv4 cut inside the TCP header: not TCP",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN, .seq = TEST_ISN,
			   .cut = ETH_HLEN + 20 + 10 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_not_tcp = 1 },
	},
	{
		.name = "egress IPv4 data segment (ACK+PSH, 100 bytes): other TCP",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_ACK | F_PSH, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1, .payload_len = 100 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_other_tcp = 1 },
	},
	{
		.name = "egress IPv6 data segment (ACK+PSH, 100 bytes): other TCP",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_ACK | F_PSH, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1, .payload_len = 100 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_other_tcp = 1 },
	},
	{
		.name = "egress IPv4 untracked SYN: untracked",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN, .seq = TEST_ISN, .window = 64240 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_untracked = 1 },
	},
	{
		.name = "egress IPv6 untracked SYN: untracked",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN, .seq = TEST_ISN, .window = 64800 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_untracked = 1 },
	},
	{
		.name = "egress IPv4 untracked pure ACK: untracked",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_untracked = 1 },
	},
	{
		.name = "egress IPv6 untracked pure ACK: untracked",
		.prog = RUN_EGRESS,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1 },
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_untracked = 1 },
	},

	/* egress through the harness: the run's own socket is registered in sp_socks */
	{
		.name = "egress IPv4 tracked first SYN: flow learned",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN, .seq = TEST_ISN, .window = 64240 },
		.pre = PRE_REGISTERED,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_LEARNED,
		.delta = { .eg_packets = 1, .eg_syn_tracked = 1 },
	},
	{
		.name = "egress IPv6 tracked first SYN: flow learned",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN, .seq = TEST_ISN, .window = 64800 },
		.pre = PRE_REGISTERED,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_LEARNED,
		.delta = { .eg_packets = 1, .eg_syn_tracked = 1 },
	},
	{
		.name = "egress IPv4 tracked first SYN with ECE+CWR (ECN): flow learned",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN | F_ECE | F_CWR, .seq = TEST_ISN },
		.pre = PRE_REGISTERED,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_LEARNED,
		.delta = { .eg_packets = 1, .eg_syn_tracked = 1 },
	},
	{
		.name = "egress IPv4 tracked SYN retransmission: counted",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_SYN, .seq = TEST_ISN, .window = 64240 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_RETRANSMIT,
		.delta = { .eg_packets = 1, .eg_syn_retransmits = 1 },
	},
	{
		.name = "egress IPv6 tracked SYN retransmission: counted",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_SYN, .seq = TEST_ISN, .window = 64800 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_RETRANSMIT,
		.delta = { .eg_packets = 1, .eg_syn_retransmits = 1 },
	},
	{
		.name = "egress IPv4 tracked pure ACK: dropped (TC_ACT_SHOT)",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_SHOT,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_ack_dropped = 1 },
	},
	{
		.name = "egress IPv6 tracked pure ACK: dropped (TC_ACT_SHOT)",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_SHOT,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_ack_dropped = 1 },
	},
	{
		.name = "egress IPv4 tracked pure ACK of a completing kind: let out",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1 },
		.pre = PRE_EG_SYN_SENT,
		.flow_flags = SP_FLOW_F_COMPLETE,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_ack_passed = 1 },
	},
	{
		.name = "egress IPv6 tracked pure ACK of a completing kind: let out",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1 },
		.pre = PRE_EG_SYN_SENT,
		.flow_flags = SP_FLOW_F_COMPLETE,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_ack_passed = 1 },
	},
	{
		.name = "egress IPv6 tracked pure ACK behind extension headers: dropped",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV6, .ext_hop_dest = true, .tcp_flags = F_ACK,
			   .seq = TEST_ISN + 1, .ack = PEER_ISN + 1 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_SHOT,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_ack_dropped = 1 },
	},
	{
		.name = "egress IPv4 tracked pure ACK with Ethernet padding to 60 bytes: dropped",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1, .pad_to = 60 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_SHOT,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_ack_dropped = 1 },
	},
	{
		.name = "egress IPv4 tracked RST+ACK (the close): passes as other TCP",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV4, .tcp_flags = F_RST | F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_other_tcp = 1 },
	},
	{
		.name = "egress IPv6 tracked ACK with payload: passes as other TCP",
		.prog = RUN_EGRESS_TRACKED,
		.frame = { .l3 = L3_IPV6, .tcp_flags = F_ACK, .seq = TEST_ISN + 1,
			   .ack = PEER_ISN + 1, .payload_len = 1 },
		.pre = PRE_EG_SYN_SENT,
		.expect_rc = TC_ACT_UNSPEC,
		.flow = FLOW_UNCHANGED,
		.delta = { .eg_packets = 1, .eg_other_tcp = 1 },
	},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static int group_setup(void **state)
{
	__u32 i;
	int err;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		print_error("libbpf_num_possible_cpus: %d\n", ncpus);
		return -1;
	}
	skel = synprobe_bpf__open_and_load();
	if (!skel) {
		print_error("synprobe_bpf__open_and_load: %s (root needed)\n", strerror(errno));
		return -1;
	}
	/* Two event loops' rings, in sp_events[0] and [1], as the engine puts them. */
	for (i = 0; i < 2; i++) {
		ring_fds[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0,
					     SP_RINGBUF_BYTES_DEFAULT, NULL);
		if (ring_fds[i] < 0 ||
		    bpf_map_update_elem(bpf_map__fd(skel->maps.sp_events), &i, &ring_fds[i], 0)) {
			print_error("ring %u: %s\n", i, strerror(errno));
			return -1;
		}
		if (!rb)
			rb = ring_buffer__new(ring_fds[i], on_event, (void *)(long)i, NULL);
		else if (ring_buffer__add(rb, ring_fds[i], on_event, (void *)(long)i))
			rb = NULL;
		if (!rb) {
			print_error("ring_buffer__new: %s\n", strerror(errno));
			return -1;
		}
	}
	err = harness_load();
	if (err) {
		print_error("harness: %s\n", strerror(-err));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	if (harness_fd >= 0)
		close(harness_fd);
	if (harness_jmp_fd >= 0)
		close(harness_jmp_fd);
	if (harness_flow_fd >= 0)
		close(harness_flow_fd);
	ring_buffer__free(rb);
	for (int i = 0; i < 2; i++)
		if (ring_fds[i] >= 0)
			close(ring_fds[i]);
	synprobe_bpf__destroy(skel);
	return 0;
}

int main(void)
{
	struct CMUnitTest tests[N_CASES];
	size_t i;

	/* One cmocka test per row, named by the row. */
	for (i = 0; i < N_CASES; i++) {
		tests[i] = (struct CMUnitTest){
			.name = cases[i].name,
			.test_func = run_case,
			.setup_func = case_setup,
			.initial_state = (void *)&cases[i],
		};
	}
	return _cmocka_run_group_tests("test_bpf", tests, N_CASES, group_setup, group_teardown);
}
