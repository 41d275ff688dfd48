/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * parse.h - packet parsing shared by the tc programs (synprobe.bpf.c, conn.bpf.c): Ethernet with
 * VLAN tags (or no link-layer header at all, on L3 devices: tun, WireGuard, GRE, IPIP), IPv4 with
 * options, IPv6 with extension headers (and atomic fragments, RFC 6946), TCP. Each parse_*() helper checks
 * its header against the end of data and returns -1 if it does not fit, as xdp-tools'
 * parsing_helpers.h does. BPF side only; include after vmlinux.h and synprobe.h.
 */
#ifndef __SP_PARSE_H
#define __SP_PARSE_H

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
#define IP6_OFFSET_MF 0xfff9 /* IPv6 fragment offset and M flag: both 0 in an atomic fragment */
#define IPV6_EXT_MAX 6	    /* extension headers walked before giving up */
#define VLAN_MAX 2	    /* stacked VLAN tags walked */
#define L4_OFF_MAX 1024	    /* the IP payload starts at most this far in (else: not parsed) */

#define IPPROTO_ICMPV6 58 /* NEXTHDR_ICMP; not in vmlinux.h as IPPROTO_ICMP is */
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4 /* code of ICMP_DEST_UNREACH: a path-MTU signal */
#define ICMP_TIME_EXCEEDED 11
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_TIME_EXCEED 3
#define IP_DF 0x4000

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct hdr_cursor {
	void *start; /* skb->data */
	void *pos;
	void *end;
};

/*
 * Makes @c->pos one bounded offset from the start that the verifier knows nothing more of: a
 * packet pointer minus a packet pointer is an unknown scalar (the barrier keeps the compiler from
 * folding it away). Where walks over headers of varying length meet, this lets the verifier
 * check what follows once, not once per way the walk went. Returns -1 past L4_OFF_MAX.
 */
static __always_inline int cursor_forget(struct hdr_cursor *c)
{
	__u64 off = c->pos - c->start;

	barrier_var(off);
	if (off > L4_OFF_MAX)
		return -1;
	c->pos = c->start + off;
	return 0;
}

/*
 * Where a packet's headers are, once checked against the end of data. Nothing is copied out of
 * them here: most packets are untracked and leave on their TCP flags alone, so the 4-tuple
 * (pkt_tuple()) and the IP details (pkt_ip_info()) are read only for the packets that need them.
 */
struct pkt {
	void *ip;	    /* struct iphdr or struct ipv6hdr, as family says */
	struct tcphdr *tcp; /* set when proto is TCP */
	void *l4;	    /* start of the IP payload */
	int payload_len;    /* TCP payload bytes per the IP length fields; < 0 when they do not add up */
	__u8 proto; /* IPPROTO_TCP, IPPROTO_ICMP, IPPROTO_ICMPV6, ... */
	__u8 family; /* enum sp_family */
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

/* IPv4: returns the bytes of IP payload, or -1 (fragment). */
static __always_inline int parse_iphdr(struct hdr_cursor *c, struct pkt *pkt)
{
	struct iphdr *iph = c->pos;
	int hdr_len;

	if ((void *)(iph + 1) > c->end || iph->version != 4)
		return -1;
	hdr_len = iph->ihl * 4;
	if (hdr_len < (int)sizeof(*iph))
		return -1;
	if (iph->frag_off & bpf_htons(IP_MF_OFFSET))
		return -1;
	if (c->pos + hdr_len > c->end)
		return -1;
	c->pos += hdr_len;

	pkt->ip = iph;
	pkt->proto = iph->protocol;
	pkt->family = SP_FAMILY_IPV4;
	return bpf_ntohs(iph->tot_len) - hdr_len;
}

/*
 * IPv6: walks the extension headers (with @walk_ext; without, the next header must be the
 * payload's), returns the bytes after them, or -1 (a real fragment, or too many extension headers). An atomic fragment (fragment header with offset 0 and M 0, RFC 6946)
 * is a whole packet, which the kernel accepts: a fragment header last in the chain is skipped
 * when it is one. It is tested after the loop, not in it: a branch more in each iteration
 * multiplies the verifier's states.
 */
static __always_inline int parse_ipv6hdr(struct hdr_cursor *c, struct pkt *pkt, bool walk_ext)
{
	struct ipv6hdr *ip6h = c->pos;
	struct ipv6_opt_hdr *opt;
	struct frag_hdr *frag;
	int payload_len, ext_len;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6h + 1) > c->end || ip6h->version != 6)
		return -1;
	c->pos = ip6h + 1;
	nexthdr = ip6h->nexthdr;
	payload_len = bpf_ntohs(ip6h->payload_len);

	for (i = 0; walk_ext && i < IPV6_EXT_MAX; i++) {
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
		if (cursor_forget(c))
			return -1;
	}
	if (walk_ext && nexthdr == NEXTHDR_FRAGMENT) {
		frag = c->pos;
		if ((void *)(frag + 1) > c->end || (frag->frag_off & bpf_htons(IP6_OFFSET_MF)))
			return -1;
		nexthdr = frag->nexthdr;
		c->pos = frag + 1;
		payload_len -= sizeof(*frag);
	}
	/* A chain longer than IPV6_EXT_MAX, or headers after the fragment header, are not followed. */
	if (nexthdr == NEXTHDR_FRAGMENT || nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_ROUTING ||
	    nexthdr == NEXTHDR_DEST || nexthdr == NEXTHDR_AUTH)
		return -1;

	pkt->ip = ip6h;
	pkt->proto = nexthdr;
	pkt->family = SP_FAMILY_IPV6;
	return payload_len;
}

static __always_inline int parse_tcphdr(struct hdr_cursor *c, struct pkt *pkt, int ip_payload)
{
	struct tcphdr *tcp = c->pos;
	int hdr_len;

	if ((void *)(tcp + 1) > c->end)
		return -1;
	hdr_len = tcp->doff * 4;
	if (hdr_len < (int)sizeof(*tcp))
		return -1;
	pkt->tcp = tcp;
	pkt->payload_len = ip_payload - hdr_len;
	return 0;
}

/*
 * The packet's addresses into @t (zeroed first), as on the wire (saddr: the sender), or with
 * @reverse turned around: our 4-tuple for a packet that came in. The ports too for TCP.
 */
static __always_inline void pkt_tuple(const struct pkt *pkt, struct sp_tuple *t, bool reverse)
{
	__u8 *src = reverse ? t->daddr : t->saddr;
	__u8 *dst = reverse ? t->saddr : t->daddr;

	__builtin_memset(t, 0, sizeof(*t));
	t->family = pkt->family;
	if (pkt->family == SP_FAMILY_IPV4) {
		struct iphdr *iph = pkt->ip;

		__builtin_memcpy(src, &iph->saddr, 4);
		__builtin_memcpy(dst, &iph->daddr, 4);
	} else {
		struct ipv6hdr *ip6h = pkt->ip;

		__builtin_memcpy(src, &ip6h->saddr, 16);
		__builtin_memcpy(dst, &ip6h->daddr, 16);
	}
	if (pkt->tcp) {
		t->sport = reverse ? pkt->tcp->dest : pkt->tcp->source;
		t->dport = reverse ? pkt->tcp->source : pkt->tcp->dest;
	}
}

/* What the IP header says of the packet: TTL (hop limit), TOS (traffic class), IPv4 id and DF. */
struct ip_info {
	__u8 ttl;
	__u8 tos;
	__u16 id;
	bool df;
	__u8 saddr[16]; /* the sender; IPv4 in the first 4 bytes, the rest zero */
};

static __always_inline void pkt_ip_info(const struct pkt *pkt, struct ip_info *info)
{
	__builtin_memset(info, 0, sizeof(*info));
	if (pkt->family == SP_FAMILY_IPV4) {
		struct iphdr *iph = pkt->ip;

		info->ttl = iph->ttl;
		info->tos = iph->tos;
		info->id = bpf_ntohs(iph->id);
		info->df = !!(iph->frag_off & bpf_htons(IP_DF));
		__builtin_memcpy(info->saddr, &iph->saddr, 4);
	} else {
		struct ipv6hdr *ip6h = pkt->ip;

		info->ttl = ip6h->hop_limit;
		info->tos = (bpf_ntohs(*(__be16 *)ip6h) >> 4) & 0xff; /* traffic class */
		__builtin_memcpy(info->saddr, &ip6h->saddr, 16);
	}
}

/*
 * Parses Ethernet (with VLAN tags), then IPv4 or IPv6, then TCP if it is TCP. With @l3 the packet
 * has no link-layer header (tun, WireGuard, GRE, IPIP: ARPHRD_NONE and the tunnel types): it
 * starts at the IP header and skb->protocol says which. @l3 is a constant in each program, so
 * each is compiled for one kind of device and the test costs nothing per packet.
 * Returns 0 with pkt->proto set (and pkt->tcp for TCP), or -1 when the packet is none of these.
 */
static __always_inline int parse_pkt(struct __sk_buff *skb, struct pkt *pkt, bool l3)
{
	void *data = (void *)(long)skb->data;
	struct hdr_cursor c = { .start = data, .pos = data, .end = (void *)(long)skb->data_end };
	int ip_payload;
	__u16 proto;

	if (l3)
		proto = (__u16)skb->protocol;
	else if (parse_ethhdr(&c, &proto) || cursor_forget(&c))
		return -1;
	if (proto == bpf_htons(ETH_P_IP))
		ip_payload = parse_iphdr(&c, pkt);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ip_payload = parse_ipv6hdr(&c, pkt, true);
	else
		return -1;
	if (ip_payload < 0)
		return -1;
	/* What follows is verified once, whichever way the walk over the headers went. */
	if (cursor_forget(&c))
		return -1;
	pkt->l4 = c.pos;
	if (pkt->proto != IPPROTO_TCP)
		return 0;
	return parse_tcphdr(&c, pkt, ip_payload);
}

static __always_inline __u8 tcp_flags(const struct tcphdr *tcp)
{
	return ((const __u8 *)tcp)[13];
}

#endif /* __SP_PARSE_H */
