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
 *            through the sp_events ring buffer.
 * Untracked traffic leaves both programs with TC_ACT_UNSPEC (TCX_NEXT) after the fewest steps.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "synprobe.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60

#define IP_MF_OFFSET 0x3fff /* IPv4 MF flag and fragment offset */
#define IPV6_EXT_MAX 6	    /* extension headers walked before giving up */
#define VLAN_MAX 2	    /* stacked VLAN tags walked */

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SP_RINGBUF_BYTES_DEFAULT);
} sp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp_stats);
} sp_stats SEC(".maps");

struct hdr_cursor {
	void *pos;
	void *end;
};

/* What the programs need of a TCP packet. tuple is as on the wire: saddr is the sender. */
struct tcp_pkt {
	struct sp_tuple tuple;
	struct tcphdr *tcp;
	int payload_len; /* TCP payload bytes per the IP length fields; < 0 when they do not add up */
	__u8 ttl;
};

/* Each parse_*() helper checks its header against the end of data and returns -1 if it does not fit. */

static __always_inline int parse_ethhdr(struct hdr_cursor *c, __u16 *proto)
{
	struct ethhdr *eth = c->pos;
	struct vlan_hdr *vlan;
	__u16 h_proto;
	int i;

	if ((void *)(eth + 1) > c->end)
		return -1;
	c->pos = eth + 1;
	h_proto = eth->h_proto;

	for (i = 0; i < VLAN_MAX; i++) {
		if (h_proto != bpf_htons(ETH_P_8021Q) && h_proto != bpf_htons(ETH_P_8021AD))
			break;
		vlan = c->pos;
		if ((void *)(vlan + 1) > c->end)
			return -1;
		h_proto = vlan->h_vlan_encapsulated_proto;
		c->pos = vlan + 1;
	}
	*proto = h_proto;
	return 0;
}

/* IPv4: fills addresses and TTL, returns the bytes of IP payload, or -1 (not TCP, fragment). */
static __always_inline int parse_iphdr(struct hdr_cursor *c, struct tcp_pkt *pkt)
{
	struct iphdr *iph = c->pos;
	int hdr_len;

	if ((void *)(iph + 1) > c->end)
		return -1;
	hdr_len = iph->ihl * 4;
	if (hdr_len < (int)sizeof(*iph) || iph->protocol != IPPROTO_TCP)
		return -1;
	if (iph->frag_off & bpf_htons(IP_MF_OFFSET))
		return -1;
	if (c->pos + hdr_len > c->end)
		return -1;
	c->pos += hdr_len;

	pkt->tuple.family = SP_FAMILY_IPV4;
	__builtin_memcpy(pkt->tuple.saddr, &iph->saddr, 4);
	__builtin_memcpy(pkt->tuple.daddr, &iph->daddr, 4);
	pkt->ttl = iph->ttl;
	return bpf_ntohs(iph->tot_len) - hdr_len;
}

/* IPv6: walks extension headers, returns the bytes after them, or -1 (not TCP, fragment). */
static __always_inline int parse_ipv6hdr(struct hdr_cursor *c, struct tcp_pkt *pkt)
{
	struct ipv6hdr *ip6h = c->pos;
	struct ipv6_opt_hdr *opt;
	int payload_len, ext_len;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6h + 1) > c->end)
		return -1;
	c->pos = ip6h + 1;
	nexthdr = ip6h->nexthdr;
	payload_len = bpf_ntohs(ip6h->payload_len);

	for (i = 0; i < IPV6_EXT_MAX; i++) {
		if (nexthdr != NEXTHDR_HOP && nexthdr != NEXTHDR_ROUTING && nexthdr != NEXTHDR_DEST &&
		    nexthdr != NEXTHDR_AUTH)
			break;
		opt = c->pos;
		if ((void *)(opt + 1) > c->end)
			return -1;
		/* AH counts its length in 4-byte units minus 2, the others in 8-byte units minus 1. */
		if (nexthdr == NEXTHDR_AUTH)
			ext_len = (opt->hdrlen + 2) * 4;
		else
			ext_len = (opt->hdrlen + 1) * 8;
		nexthdr = opt->nexthdr;
		if (c->pos + ext_len > c->end)
			return -1;
		c->pos += ext_len;
		payload_len -= ext_len;
	}
	if (nexthdr != IPPROTO_TCP) /* also NEXTHDR_FRAGMENT: fragments are not followed */
		return -1;

	pkt->tuple.family = SP_FAMILY_IPV6;
	__builtin_memcpy(pkt->tuple.saddr, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->tuple.daddr, &ip6h->daddr, 16);
	pkt->ttl = ip6h->hop_limit;
	return payload_len;
}

static __always_inline int parse_tcphdr(struct hdr_cursor *c, struct tcp_pkt *pkt, int ip_payload)
{
	struct tcphdr *tcp = c->pos;
	int hdr_len;

	if ((void *)(tcp + 1) > c->end)
		return -1;
	hdr_len = tcp->doff * 4;
	if (hdr_len < (int)sizeof(*tcp))
		return -1;
	pkt->tcp = tcp;
	pkt->tuple.sport = tcp->source;
	pkt->tuple.dport = tcp->dest;
	pkt->payload_len = ip_payload - hdr_len;
	return 0;
}

/* Parses Ethernet (with VLAN tags), IPv4 or IPv6, and the TCP header. 0 if it is TCP, else -1. */
static __always_inline int parse_tcp_pkt(struct __sk_buff *skb, struct tcp_pkt *pkt)
{
	struct hdr_cursor c = {
		.pos = (void *)(long)skb->data,
		.end = (void *)(long)skb->data_end,
	};
	int ip_payload;
	__u16 proto;

	if (parse_ethhdr(&c, &proto))
		return -1;
	if (proto == bpf_htons(ETH_P_IP))
		ip_payload = parse_iphdr(&c, pkt);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ip_payload = parse_ipv6hdr(&c, pkt);
	else
		return -1;
	if (ip_payload < 0)
		return -1;
	return parse_tcphdr(&c, pkt, ip_payload);
}

static __always_inline __u8 tcp_flags(const struct tcphdr *tcp)
{
	return ((const __u8 *)tcp)[13];
}

static __always_inline struct sp_stats *get_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sp_stats, &zero);
}

SEC("tc")
int sp_tc_egress(struct __sk_buff *skb)
{
	struct tcp_pkt pkt = {};
	struct sp_stats *stats;
	struct sp_flow *flow;
	__u64 cookie, now;
	__u8 flags;
	bool syn, pure_ack;

	stats = get_stats();
	if (!stats)
		return TC_ACT_UNSPEC;
	stats->eg_packets++;

	if (parse_tcp_pkt(skb, &pkt)) {
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

	flow->tuple = pkt.tuple;
	flow->isn = bpf_ntohl(pkt.tcp->seq);
	flow->syn_ts_ns = now;
	flow->last_syn_ts_ns = now;
	if (bpf_map_update_elem(&sp_flows, &pkt.tuple, &cookie, BPF_ANY)) {
		/* Left REGISTERED: user space falls back to the socket's own result. */
		stats->eg_flows_full++;
		return TC_ACT_UNSPEC;
	}
	flow->state = SP_FLOW_SYN_SENT;
	stats->eg_syn_tracked++;
	return TC_ACT_UNSPEC;
}

SEC("tc")
int sp_tc_ingress(struct __sk_buff *skb)
{
	struct tcp_pkt pkt = {};
	struct sp_tuple key = {};
	struct sp_stats *stats;
	struct sp_flow *flow, *event;
	__u64 *cookie;
	__u8 flags;

	stats = get_stats();
	if (!stats)
		return TC_ACT_UNSPEC;
	stats->in_packets++;

	if (parse_tcp_pkt(skb, &pkt)) {
		stats->in_not_tcp++;
		return TC_ACT_UNSPEC;
	}
	flags = tcp_flags(pkt.tcp);
	if ((flags & (TCP_SYN | TCP_ACK)) != (TCP_SYN | TCP_ACK) && !(flags & TCP_RST)) {
		stats->in_other_tcp++;
		return TC_ACT_UNSPEC;
	}

	/* Our 4-tuple is the reply's, turned around. */
	__builtin_memcpy(key.saddr, pkt.tuple.daddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, pkt.tuple.saddr, sizeof(key.daddr));
	key.sport = pkt.tuple.dport;
	key.dport = pkt.tuple.sport;
	key.family = pkt.tuple.family;

	cookie = bpf_map_lookup_elem(&sp_flows, &key);
	if (!cookie) {
		stats->in_untracked++;
		return TC_ACT_UNSPEC;
	}
	flow = bpf_map_lookup_elem(&sp_socks, cookie);
	if (!flow) {
		stats->in_untracked++;
		return TC_ACT_UNSPEC;
	}
	/* RFC 9293, 3.10.7.3: in SYN-SENT only a segment whose ACK acknowledges our SYN counts. */
	if (!(flags & TCP_ACK) || bpf_ntohl(pkt.tcp->ack_seq) != flow->isn + 1) {
		stats->in_spoofed++;
		return TC_ACT_UNSPEC;
	}
	/* Exactly one event per flow: only the program run that deletes the 4-tuple reports. */
	if (bpf_map_delete_elem(&sp_flows, &key)) {
		stats->in_duplicate++;
		return TC_ACT_UNSPEC;
	}

	flow->reply_ts_ns = bpf_ktime_get_ns();
	flow->reply = (flags & TCP_RST) ? SP_REPLY_RST : SP_REPLY_SYN_ACK;
	flow->reply_seq = bpf_ntohl(pkt.tcp->seq);
	flow->reply_window = bpf_ntohs(pkt.tcp->window);
	flow->reply_ttl = pkt.ttl;
	flow->reply_tcp_flags = flags;
	flow->state = SP_FLOW_REPLIED;

	event = bpf_ringbuf_reserve(&sp_events, sizeof(*event), 0);
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
