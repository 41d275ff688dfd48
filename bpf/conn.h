/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * conn.h - the one header shared by bpf/conn.bpf.c and the user side (user/conn.c).
 *
 * The conn programs follow live, established connections that user space registers: keepalive
 * probes and the ACKs answering them, FINs, RSTs and the bytes that come in after our FIN.
 * Types are __u8/__u32/__be16/__u64 so the file compiles against vmlinux.h and <linux/types.h>.
 */
#ifndef __SP_CONN_H
#define __SP_CONN_H

#include "synprobe.h" /* struct sp_tuple, SP_FAMILY_* */

/* Capacity of the connection maps: the most connections followed at once. */
#define SP_CONN_MAX 4096
/* Ring buffer size in bytes (a power of two, a multiple of the page size). */
#define SP_CONN_RINGBUF_BYTES (256 * 1024)

/* Bits of struct sp_conn.flags. */
enum sp_conn_flag {
	SP_CONN_TUPLE_KNOWN = 1 << 0,  /* tuple learned (first egress packet) or registered */
	SP_CONN_SND_KNOWN = 1 << 1,    /* snd_nxt is valid */
	SP_CONN_RCV_KNOWN = 1 << 2,    /* rcv_nxt is valid */
	SP_CONN_PROBE_OUT = 1 << 3,    /* our keepalive probe is out, not answered yet */
	SP_CONN_PROBE_IN = 1 << 4,     /* the peer's probe came in, our answer not out yet */
	SP_CONN_PROBE_CAND = 1 << 5,   /* a pure ACK came in while rcv_nxt was unknown */
	SP_CONN_FIN_OUT = 1 << 6,      /* our FIN went out */
	SP_CONN_FIN_IN = 1 << 7,       /* the peer's FIN came in */
	SP_CONN_RST_OUT = 1 << 8,      /* we sent a RST */
	SP_CONN_RST_IN = 1 << 9,       /* the peer sent a RST */
	SP_CONN_DATA_AFTER_FIN = 1 << 10, /* payload came in after our FIN */
};

/*
 * One followed connection: value of sp_conn_socks (key: the socket cookie, SO_COOKIE).
 * User space creates it with cookie and conn_id set (and, for accepted sockets, tuple and
 * SP_CONN_TUPLE_KNOWN), the rest zero; the BPF programs fill in the rest.
 * Sequence numbers are in host byte order; timestamps are bpf_ktime_get_ns() (CLOCK_MONOTONIC).
 */
struct sp_conn {
	__u64 cookie;
	__u64 probe_out_ts_ns; /* our latest keepalive probe at egress */
	__u64 probe_in_ts_ns;  /* the peer's latest keepalive probe at ingress */
	__u64 fin_out_ts_ns;   /* our first FIN at egress */
	__u64 fin_in_ts_ns;    /* the peer's first FIN at ingress */
	__u64 rst_ts_ns;       /* the first RST, either way */
	__u64 bytes_in;	       /* new payload bytes at ingress once rcv_nxt was known */
	__u64 bytes_after_fin; /* of those, the bytes that came in after our FIN went out */
	struct sp_tuple tuple; /* from synprobe.h: saddr/sport local; key of sp_conn_tuples */
	__u32 conn_id;	  /* user space's handle, opaque to BPF */
	__u32 flags;	  /* enum sp_conn_flag bits */
	__u32 snd_nxt;	  /* next sequence number we send */
	__u32 rcv_nxt;	  /* next sequence number we expect from the peer */
	__u32 cand_seq;	  /* seq of a pure ACK that came in while rcv_nxt was unknown */
	__u32 probes_out; /* keepalive probes we sent */
	__u32 probes_in;  /* keepalive probes the peer sent */
	__u32 pad;
	__u64 cand_ts_ns; /* when that pure ACK came in */
};

/* What an event reports (struct sp_conn_event.type). */
enum sp_conn_event_type {
	SP_CONN_EV_PROBE_OUT = 1, /* our keepalive probe went out (seq = snd_nxt - 1) */
	SP_CONN_EV_ACK_IN = 2,	  /* the ACK answering it came in; rtt_ns set */
	SP_CONN_EV_PROBE_IN = 3,  /* the peer's keepalive probe came in (seq = rcv_nxt - 1) */
	SP_CONN_EV_ACK_OUT = 4,	  /* our answer went out; rtt_ns is the local turn-around */
	SP_CONN_EV_FIN_OUT = 5,
	SP_CONN_EV_FIN_IN = 6,	  /* bytes = bytes_after_fin at that moment */
	SP_CONN_EV_RST_OUT = 7,
	SP_CONN_EV_RST_IN = 8,
	SP_CONN_EV_DATA_AFTER_FIN = 9, /* the first payload after our FIN; bytes = its length */
};

/* One record of the sp_conn_events ring buffer. */
struct sp_conn_event {
	__u64 ts_ns;  /* bpf_ktime_get_ns() when the packet was seen */
	__u64 cookie; /* the connection's socket cookie */
	__u64 rtt_ns; /* ACK events: time since the probe they answer */
	__u64 bytes;  /* see enum sp_conn_event_type */
	__u32 conn_id;
	__u32 seq;    /* the packet's sequence number, host order */
	__u32 ack;    /* the packet's acknowledgement number, host order */
	__u8 type;    /* enum sp_conn_event_type */
	__u8 tcp_flags;
	__u8 pad[2];
};

/* Per-CPU counters (sp_conn_stats, one slot): each packet bumps one counter saying how it left. */
struct sp_conn_stats {
	__u64 eg_packets;
	__u64 eg_untracked; /* socket cookie not registered */
	__u64 eg_not_tcp;
	__u64 eg_tracked;
	__u64 in_packets;
	__u64 in_not_tcp;
	__u64 in_untracked; /* 4-tuple not registered */
	__u64 in_tracked;
	__u64 ringbuf_full; /* an event was lost */
};

#endif /* __SP_CONN_H */
