/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * synprobe.h - the one header shared by the BPF programs (bpf/synprobe.bpf.c) and the user side.
 *
 * Only what crosses the kernel/user boundary lives here: map keys and values, the ring-buffer
 * record and the per-CPU counters. Types are __u8/__u32/__be16/__u64 so the file compiles against
 * vmlinux.h (BPF side) and <linux/types.h> (user side) alike.
 */
#ifndef __SYNPROBE_H
#define __SYNPROBE_H

/* Default capacity of the flow maps: the most checks that can be tracked in flight at once. */
#define SP_MAX_FLOWS_DEFAULT 65536
/*
 * Ring buffer size in bytes in the object (a power of two, a multiple of the page size); the
 * engine resizes it before load to hold one event per check that can be in flight.
 */
#define SP_RINGBUF_BYTES_DEFAULT (1 << 20)
/*
 * Event loops at most: sp_events is an array of ring buffers, one per loop of the engine, and a
 * check's record (struct sp_flow.loop) says whose ring its reply goes to.
 */
#define SP_MAX_LOOPS 64

/* Address family of a 4-tuple. Our own numbers: AF_INET is not visible to BPF code. */
enum sp_family {
	SP_FAMILY_IPV4 = 4,
	SP_FAMILY_IPV6 = 6,
};

/* Life of a tracked socket, as the BPF side sees it (struct sp_flow.state). */
enum sp_flow_state {
	SP_FLOW_REGISTERED = 0, /* put in sp_socks by user space, before connect() */
	SP_FLOW_SYN_SENT = 1,	/* the first SYN went out: 4-tuple, ISN and timestamp known */
	SP_FLOW_REPLIED = 2,	/* a reply that acknowledges ISN + 1 came in */
};

/* What answered the SYN (struct sp_flow.reply). */
enum sp_reply {
	SP_REPLY_NONE = 0,
	SP_REPLY_SYN_ACK = 1, /* SYN+ACK with ack = ISN + 1: the port is open */
	SP_REPLY_RST = 2,     /* RST+ACK with ack = ISN + 1: the port is closed (RFC 9293, 3.10.7.3) */
	SP_REPLY_ICMP = 3,    /* ICMP/ICMPv6 error quoting our SYN (its 4-tuple and ISN) */
};

/* What user space asks of the BPF side for one check (struct sp_flow.flags). */
enum sp_flow_flag {
	/*
	 * A completing check kind (TLS, send/expect): the tc egress program lets the socket's pure
	 * ACKs out, the handshake-completing one included, instead of dropping them. The SYN and
	 * the SYN-ACK are still stamped: the check's rtt_ns stays the kernel's.
	 */
	SP_FLOW_F_COMPLETE = 1 << 0,
};

/*
 * TCP options and IP bits of the reply (struct sp_flow.reply_opts). SP_OPT_DF, and SP_OPT_MALFORMED
 * when the options could not be copied, come from the tc ingress program; the option bits from
 * the engine's parse of reply_tcp_opts (user/tcp_opts.c), which the kernel only copies.
 */
enum sp_reply_opt {
	SP_OPT_MSS = 1 << 0,	     /* MSS option present (value in reply_mss) */
	SP_OPT_WSCALE = 1 << 1,	     /* window scale present (shift in reply_wscale) */
	SP_OPT_SACK_PERM = 1 << 2,   /* SACK-permitted */
	SP_OPT_TIMESTAMPS = 1 << 3,  /* TCP timestamps (RFC 7323) */
	SP_OPT_MALFORMED = 1 << 4,   /* an option's length ran past the header or was < 2, or the
				      * header said more options than the packet had */
	SP_OPT_DF = 1 << 5,	     /* IPv4 don't-fragment bit set */
};

/* Bytes of options a TCP header can hold: data offset 15 words, minus the 20-byte header. */
#define SP_TCP_OPTS_MAX 40

/*
 * A TCP 4-tuple seen from our side: saddr/sport are local, daddr/dport the target.
 * IPv4 addresses use the first 4 bytes of the 16; the rest is zero. Ports in network byte order.
 * Key of sp_flows.
 */
struct sp_tuple {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 family; /* enum sp_family */
	__u8 pad[3];
};

/*
 * One tracked check: value of sp_socks (key: the socket cookie, SO_COOKIE) and the record sent
 * through the ring buffer sp_events[loop] when a believed reply arrives. User space creates it
 * with cookie, check_id and loop set and the rest zero; the BPF programs fill in the rest, except the
 * parsed options (reply_mss, reply_wscale, and the option bits of reply_opts), which the engine
 * fills from the raw reply_tcp_opts: the kernel copies them and user space walks them, so the
 * per-packet program stays small (and loads on every kernel from the floor up).
 * Timestamps are bpf_ktime_get_ns(): CLOCK_MONOTONIC, in ns.
 */
struct sp_flow {
	__u64 cookie;	      /* socket cookie of the checking socket */
	__u64 syn_ts_ns;      /* first SYN at tc egress */
	__u64 last_syn_ts_ns; /* latest SYN (retransmission) at tc egress */
	__u64 reply_ts_ns;    /* believed reply at tc ingress */
	struct sp_tuple tuple;
	__u8 reply_from[16];   /* source address of the reply: the target, or the router of an ICMP error */
	__u32 check_id;	       /* user space's handle for the check, opaque to BPF */
	__u32 isn;	       /* our initial sequence number, host byte order */
	__u32 syn_retransmits; /* SYNs sent after the first one, same ISN */
	__u32 spoofed;	       /* replies for our 4-tuple that did not acknowledge or quote our ISN */
	__u32 reply_seq;       /* sequence number of the reply (the peer's ISN for a SYN-ACK) */
	__u16 reply_window;    /* raw window field of the reply, host byte order */
	__u16 reply_mss;       /* MSS option of the reply, 0 if absent (engine, from reply_tcp_opts) */
	__u16 reply_ip_id;     /* IPv4 identification field of the reply, host order (0 for IPv6) */
	__u8 reply_ttl;	       /* IPv4 TTL or IPv6 hop limit of the reply */
	__u8 reply_tos;	       /* IPv4 TOS or IPv6 traffic class: DSCP and the ECN bits */
	__u8 reply_tcp_flags;  /* byte 13 of the reply's TCP header (CWR..FIN) */
	__u8 reply_wscale;     /* window scale shift of the reply (if SP_OPT_WSCALE; engine) */
	__u8 reply_opts;       /* enum sp_reply_opt bits */
	__u8 icmp_type;	       /* for SP_REPLY_ICMP: ICMP or ICMPv6 type and code */
	__u8 icmp_code;
	__u8 state;	       /* enum sp_flow_state */
	__u8 reply;	       /* enum sp_reply */
	__u8 reply_tcp_opts_len; /* bytes in reply_tcp_opts: 0 to SP_TCP_OPTS_MAX */
	__u8 loop;	       /* the event loop that owns the check: its ring in sp_events (user) */
	__u8 flags;	       /* enum sp_flow_flag bits (user) */
	__u8 pad[2];
	__u8 reply_tcp_opts[SP_TCP_OPTS_MAX]; /* the SYN-ACK's TCP options as on the wire */
};

/*
 * Per-CPU counters (sp_stats, a one-slot BPF_MAP_TYPE_PERCPU_ARRAY). Each packet bumps the
 * `*_packets` counter of its program and exactly one counter that says how it left.
 */
struct sp_stats {
	/* tc egress */
	__u64 eg_packets;	  /* every packet the program ran on */
	__u64 eg_not_tcp;	  /* not IPv4/IPv6 TCP, a fragment, or truncated headers */
	__u64 eg_other_tcp;	  /* TCP that is neither a SYN nor a pure ACK: left at once */
	__u64 eg_untracked;	  /* SYN or pure ACK of a socket not in sp_socks */
	__u64 eg_syn_tracked;	  /* first SYN of a tracked socket: flow learned */
	__u64 eg_syn_retransmits; /* SYN retransmission of a tracked socket */
	__u64 eg_ack_dropped;	  /* pure ACK of a tracked socket: dropped, no handshake completes */
	__u64 eg_flows_full;	  /* sp_flows had no room for a new flow */
	/* tc ingress */
	__u64 in_packets;	  /* every packet the program ran on */
	__u64 in_not_tcp;	  /* neither TCP nor ICMP/ICMPv6, a fragment, or truncated headers */
	__u64 in_other_tcp;	  /* TCP without SYN+ACK or RST: left at once */
	__u64 in_other_icmp;	  /* ICMP that is not an error about a TCP packet: left at once */
	__u64 in_untracked;	  /* SYN-ACK, RST or ICMP error whose 4-tuple is not in sp_flows (also
				   * the peer's retransmitted SYN-ACK after the first was reported) */
	__u64 in_matched;	  /* believed reply: acknowledges (or, ICMP, quotes) our ISN */
	__u64 in_spoofed;	  /* tracked 4-tuple, but not our ISN (or RST without ACK): ignored */
	__u64 in_duplicate;	  /* believed reply that lost the race to report its flow (another CPU) */
	__u64 in_ringbuf_full;	  /* bpf_ringbuf_reserve() failed: the event was lost */
	__u64 in_ring_missing;	  /* sp_events had no ring at the flow's loop: the event was lost */
	/* tc egress, again (added last: the layout of the counters above stays) */
	__u64 eg_ack_passed;	  /* pure ACK of a tracked socket with SP_FLOW_F_COMPLETE: let out */
};

#endif /* __SYNPROBE_H */
