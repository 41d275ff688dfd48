// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * synprobe.bpf.c - tc egress and ingress programs that follow half-open TCP checks.
 *
 * User space puts each checking socket in sp_socks (key: socket cookie) before connect().
 *   egress:  the socket's first SYN teaches us its 4-tuple, ISN and send time (sp_flows maps the
 *            4-tuple back to the cookie); SYN retransmissions are counted; the pure ACK that would
 *            complete the handshake is dropped, so the peer never sees an established connection.
 *   ingress: a SYN-ACK or RST for a tracked 4-tuple is believed only if it acknowledges ISN + 1
 *            (RFC 9293, 3.10.7.3); the first believed reply is stamped and sent to user space
 *            through the ring buffer of the engine loop that owns the check (sp_events[loop]).
 * Untracked traffic leaves both programs with TC_ACT_UNSPEC (TCX_NEXT) after the fewest steps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "synprobe.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_MAX_FLOWS_DEFAULT);
	__type(key, __u64); /* socket cookie */
	__type(value, struct sp_flow);
} sp_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_MAX_FLOWS_DEFAULT);
	__type(key, struct sp_tuple);
	__type(value, __u64); /* socket cookie: key of sp_socks */
} sp_flows SEC(".maps");

/* One ring buffer per event loop of the engine (user space puts them in; libbpf-tools style). */
struct sp_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SP_RINGBUF_BYTES_DEFAULT);
};

/*
 * The rings by loop number (struct sp_flow.loop): a reply reaches the loop that owns its check
 * with no lock in user space. Array of maps with ring buffers: kernel 5.8, as the kernel's own
 * selftest test_ringbuf_multi.c does.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, SP_MAX_LOOPS);
	__type(key, __u32);
	__array(values, struct sp_ring);
} sp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp_stats);
} sp_stats SEC(".maps");

static __always_inline struct sp_stats *get_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sp_stats, &zero);
}

static __always_inline int egress(struct __sk_buff *skb, bool l3)
{
	struct pkt pkt = {};
	struct sp_stats *stats;
	struct sp_flow *flow;
	__u64 cookie, now;
	__u8 flags;
	bool syn, pure_ack;

	stats = get_stats();
	if (!stats)
		return TC_ACT_UNSPEC;
	stats->eg_packets++;

	if (parse_pkt(skb, &pkt, l3) || !pkt.tcp) {
		stats->eg_not_tcp++;
		return TC_ACT_UNSPEC;
	}
	flags = tcp_flags(pkt.tcp) & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN);
	syn = flags == TCP_SYN;
	pure_ack = flags == TCP_ACK && pkt.payload_len == 0;
	if (!syn && !pure_ack) {
		stats->eg_other_tcp++;
		return TC_ACT_UNSPEC;
	}

	cookie = bpf_get_socket_cookie(skb);
	flow = bpf_map_lookup_elem(&sp_socks, &cookie);
	if (!flow) {
		stats->eg_untracked++;
		return TC_ACT_UNSPEC;
	}

	if (pure_ack) {
		if (flow->flags & SP_FLOW_F_COMPLETE) {
			/* A completing kind (TLS, send/expect): its handshake completes. */
			stats->eg_ack_passed++;
			return TC_ACT_UNSPEC;
		}
		/* The handshake-completing ACK (NOTES-kernel.md item 3): the check ends at SYN-ACK. */
		stats->eg_ack_dropped++;
		return TC_ACT_SHOT;
	}

	now = bpf_ktime_get_ns();
	if (flow->state != SP_FLOW_REGISTERED) {
		/* Linux retransmits the SYN with the same ISN; the RTT stays measured from the first. */
		__sync_fetch_and_add(&flow->syn_retransmits, 1);
		flow->last_syn_ts_ns = now;
		stats->eg_syn_retransmits++;
		return TC_ACT_UNSPEC;
	}

	pkt_tuple(&pkt, &flow->tuple, false);
	flow->isn = bpf_ntohl(pkt.tcp->seq);
	flow->syn_ts_ns = now;
	flow->last_syn_ts_ns = now;
	if (bpf_map_update_elem(&sp_flows, &flow->tuple, &cookie, BPF_ANY)) {
		/* Left REGISTERED: user space falls back to the socket's own result. */
		stats->eg_flows_full++;
		return TC_ACT_UNSPEC;
	}
	flow->state = SP_FLOW_SYN_SENT;
	stats->eg_syn_tracked++;
	return TC_ACT_UNSPEC;
}

/* The check that owns our 4-tuple @key, or NULL. */
static __always_inline struct sp_flow *lookup_flow(const struct sp_tuple *key)
{
	__u64 *cookie;

	cookie = bpf_map_lookup_elem(&sp_flows, key);
	if (!cookie)
		return NULL;
	return bpf_map_lookup_elem(&sp_socks, cookie);
}

/*
 * Copies the SYN-ACK's TCP options, as they are, into @flow->reply_tcp_opts: the engine parses them
 * (user/tcp_opts.c), so that no option walk runs in the kernel. Each bound is a test of its own,
 * which the 6.1 verifier follows: a length of 1 to SP_TCP_OPTS_MAX bytes reaches the helper.
 */
static __always_inline void copy_tcp_opts(struct __sk_buff *skb, struct tcphdr *tcp,
					  struct sp_flow *flow)
{
	__u32 hdr_len = tcp->doff * 4, len, off;

	if (hdr_len <= sizeof(*tcp))
		return;
	len = hdr_len - sizeof(*tcp);
	if (len > SP_TCP_OPTS_MAX)
		return;
	off = (void *)(tcp + 1) - (void *)(long)skb->data;
	if (bpf_skb_load_bytes(skb, off, flow->reply_tcp_opts, len)) {
		flow->reply_opts |= SP_OPT_MALFORMED; /* the header says more than the packet has */
		return;
	}
	flow->reply_tcp_opts_len = len;
}

/* Stamps the believed reply's IP-level details into @flow and sends it to user space. */
static __always_inline int report_reply(struct sp_flow *flow, const struct pkt *pkt,
					struct sp_stats *stats, __u64 now)
{
	struct sp_flow *event;
	struct ip_info ip;
	__u32 loop;
	void *ring;

	pkt_ip_info(pkt, &ip);
	flow->reply_ts_ns = now;
	__builtin_memcpy(flow->reply_from, ip.saddr, sizeof(flow->reply_from));
	flow->reply_ttl = ip.ttl;
	flow->reply_tos = ip.tos;
	flow->reply_ip_id = ip.id;
	if (ip.df)
		flow->reply_opts |= SP_OPT_DF;
	flow->state = SP_FLOW_REPLIED;

	loop = flow->loop;
	ring = bpf_map_lookup_elem(&sp_events, &loop);
	if (!ring) {
		/* Not one of the engine's loops: user space finds the reply at the deadline. */
		stats->in_ring_missing++;
		return TC_ACT_UNSPEC;
	}
	event = bpf_ringbuf_reserve(ring, sizeof(*event), 0);
	if (!event) {
		/* User space still finds the reply in sp_socks when the check's deadline comes. */
		stats->in_ringbuf_full++;
		return TC_ACT_UNSPEC;
	}
	__builtin_memcpy(event, flow, sizeof(*event));
	bpf_ringbuf_submit(event, 0);
	stats->in_matched++;
	return TC_ACT_UNSPEC;
}

/* A SYN-ACK or RST: believed only if it acknowledges ISN + 1. */
static __always_inline int tcp_reply(struct __sk_buff *skb, struct pkt *pkt, struct sp_stats *stats)
{
	struct tcphdr *tcp = pkt->tcp;
	struct sp_tuple key;
	struct sp_flow *flow;
	__u64 now;
	__u8 flags;

	flags = tcp_flags(tcp);
	if ((flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK) && !(flags & TCP_RST)) {
		stats->in_other_tcp++;
		return TC_ACT_UNSPEC;
	}
	/* A data offset past the IP length: the kernel discards the segment (tcp_v4_rcv() and
	 * tcp_v6_rcv(), pskb_may_pull(doff * 4)), so no socket of ours ever sees it. */
	if (pkt->payload_len < 0) {
		stats->in_not_tcp++;
		return TC_ACT_UNSPEC;
	}
	/* Stamped before the lookups and the copy, which are not part of the RTT. */
	now = bpf_ktime_get_ns();

	/* Our 4-tuple is the reply's, turned around. */
	pkt_tuple(pkt, &key, true);

	flow = lookup_flow(&key);
	if (!flow) {
		stats->in_untracked++;
		return TC_ACT_UNSPEC;
	}
	/* RFC 9293, 3.10.7.3: in SYN-SENT only a segment whose ACK acknowledges our SYN counts. */
	if (!(flags & TCP_ACK) || bpf_ntohl(tcp->ack_seq) != flow->isn + 1) {
		__sync_fetch_and_add(&flow->spoofed, 1);
		stats->in_spoofed++;
		return TC_ACT_UNSPEC;
	}
	/* Exactly one event per flow: only the program run that deletes the 4-tuple reports. */
	if (bpf_map_delete_elem(&sp_flows, &key)) {
		stats->in_duplicate++;
		return TC_ACT_UNSPEC;
	}

	flow->reply = (flags & TCP_RST) ? SP_REPLY_RST : SP_REPLY_SYN_ACK;
	flow->reply_seq = bpf_ntohl(tcp->seq);
	flow->reply_window = bpf_ntohs(tcp->window);
	flow->reply_tcp_flags = flags;
	if (flow->reply == SP_REPLY_SYN_ACK)
		copy_tcp_opts(skb, tcp, flow);
	return report_reply(flow, pkt, stats, now);
}

/* The first 8 bytes of the TCP header quoted in an ICMP error (RFC 792 guarantees no more). */
struct quoted_tcp {
	__be16 source;
	__be16 dest;
	__be32 seq;
};

/*
 * An ICMP or ICMPv6 error about one of our SYNs: destination unreachable, time exceeded. The quoted
 * IP and TCP headers name our 4-tuple; believed only if the quoted sequence number is our ISN.
 * Fragmentation needed (ICMP 3/4) and packet too big (ICMPv6 2) are not answers: they ask for a
 * smaller packet, the kernel retransmits, and the check waits on.
 */
static __always_inline int icmp_reply(struct __sk_buff *skb, struct pkt *pkt, struct sp_stats *stats)
{
	struct hdr_cursor c = {
		.start = (void *)(long)skb->data,
		.pos = pkt->l4,
		.end = (void *)(long)skb->data_end,
	};
	struct sp_tuple key;
	struct quoted_tcp *q;
	struct pkt inner = {};
	struct sp_flow *flow;
	__u8 *icmp = c.pos;
	__u8 type, code;
	__u64 now;
	int err;

	if ((void *)(icmp + 8) > c.end) {
		stats->in_not_tcp++;
		return TC_ACT_UNSPEC;
	}
	type = icmp[0];
	code = icmp[1];
	if (pkt->proto == IPPROTO_ICMP ?
		    ((type != ICMP_DEST_UNREACH && type != ICMP_TIME_EXCEEDED) ||
		     (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)) :
		    (type != ICMPV6_DEST_UNREACH && type != ICMPV6_TIME_EXCEED)) {
		stats->in_other_icmp++;
		return TC_ACT_UNSPEC;
	}
	c.pos = icmp + 8;
	now = bpf_ktime_get_ns();

	if (pkt->family == SP_FAMILY_IPV4)
		err = parse_iphdr(&c, &inner) < 0;
	else
		/* Our SYN as sent: Linux puts no extension header on it, so none is walked. */
		err = parse_ipv6hdr(&c, &inner, false) < 0;
	if (err || inner.proto != IPPROTO_TCP) {
		stats->in_other_icmp++;
		return TC_ACT_UNSPEC;
	}
	q = c.pos;
	if ((void *)(q + 1) > c.end) {
		stats->in_not_tcp++;
		return TC_ACT_UNSPEC;
	}

	/* The quoted packet is our SYN as sent: its 4-tuple is ours as it stands. */
	pkt_tuple(&inner, &key, false);
	key.sport = q->source;
	key.dport = q->dest;
	flow = lookup_flow(&key);
	if (!flow) {
		stats->in_untracked++;
		return TC_ACT_UNSPEC;
	}
	if (bpf_ntohl(q->seq) != flow->isn) {
		__sync_fetch_and_add(&flow->spoofed, 1);
		stats->in_spoofed++;
		return TC_ACT_UNSPEC;
	}
	if (bpf_map_delete_elem(&sp_flows, &key)) {
		stats->in_duplicate++;
		return TC_ACT_UNSPEC;
	}
	flow->reply = SP_REPLY_ICMP;
	flow->icmp_type = type;
	flow->icmp_code = code;
	return report_reply(flow, pkt, stats, now);
}

static __always_inline int ingress(struct __sk_buff *skb, bool l3)
{
	struct pkt pkt = {};
	struct sp_stats *stats;

	stats = get_stats();
	if (!stats)
		return TC_ACT_UNSPEC;
	stats->in_packets++;

	if (parse_pkt(skb, &pkt, l3)) {
		stats->in_not_tcp++;
		return TC_ACT_UNSPEC;
	}
	if (pkt.tcp)
		return tcp_reply(skb, &pkt, stats);
	/* ICMP only in IPv4, ICMPv6 only in IPv6 (RFC 4443, 1). */
	if ((pkt.proto == IPPROTO_ICMP && pkt.family == SP_FAMILY_IPV4) ||
	    (pkt.proto == IPPROTO_ICMPV6 && pkt.family == SP_FAMILY_IPV6))
		return icmp_reply(skb, &pkt, stats);
	stats->in_not_tcp++;
	return TC_ACT_UNSPEC;
}

/*
 * The programs user space attaches: one pair for devices with an Ethernet header (and lo), one
 * for L3 devices, whose packets start at the IP header (tun, WireGuard, GRE, IPIP). Kernel
 * program names hold 15 characters.
 */
SEC("tc")
int sp_tc_egress(struct __sk_buff *skb)
{
	return egress(skb, false);
}

SEC("tc")
int sp_tc_ingress(struct __sk_buff *skb)
{
	return ingress(skb, false);
}

SEC("tc")
int sp_tc_eg_l3(struct __sk_buff *skb)
{
	return egress(skb, true);
}

SEC("tc")
int sp_tc_in_l3(struct __sk_buff *skb)
{
	return ingress(skb, true);
}
