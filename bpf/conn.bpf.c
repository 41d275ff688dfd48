// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * conn.bpf.c - tc egress and ingress programs that follow live TCP connections registered by
 * user space (synprobe keepalive, synprobe halfclose).
 *
 * User space puts each socket in sp_conn_socks (key: socket cookie): a connecting socket before
 * connect(), an accepted one with its 4-tuple (from getsockname/getpeername) in sp_conn_tuples.
 *   egress:  found by socket cookie; the first packet teaches the 4-tuple. Reports our keepalive
 *            probes (a pure ACK whose seq is one below the next sequence number), our answers to
 *            the peer's probes, our FIN and RST.
 *   ingress: found by 4-tuple. Reports the ACK answering our probe (with its RTT), the peer's
 *            probes, its FIN and RST, and counts the new payload bytes, apart those after our FIN.
 * Events go to user space through the sp_conn_events ring buffer, stamped with bpf_ktime_get_ns().
 * Untracked traffic leaves with TC_ACT_UNSPEC: at egress before any parsing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "synprobe.h"
#include "conn.h"
#include "parse.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_CONN_MAX);
	__type(key, __u64); /* socket cookie */
	__type(value, struct sp_conn);
} sp_conn_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SP_CONN_MAX);
	__type(key, struct sp_tuple);
	__type(value, __u64); /* socket cookie: key of sp_conn_socks */
} sp_conn_tuples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, SP_CONN_RINGBUF_BYTES);
} sp_conn_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sp_conn_stats);
} sp_conn_stats SEC(".maps");

/* Sequence-space comparison: true when @a comes after @b (RFC 9293, 3.4). */
static __always_inline bool seq_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

static __always_inline struct sp_conn_stats *get_stats(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&sp_conn_stats, &zero);
}

/* What one packet of a followed connection tells, in host byte order. */
struct seg {
	__u64 now;
	__u32 seq;
	__u32 ack;
	__u32 len; /* payload bytes */
	__u8 flags;
	bool pure_ack; /* ACK only, no payload */
};

static __always_inline void emit(struct sp_conn *c, const struct seg *s, __u8 type, __u64 ts_ns,
				 __u64 rtt_ns, __u64 bytes, struct sp_conn_stats *st)
{
	struct sp_conn_event *ev;

	ev = bpf_ringbuf_reserve(&sp_conn_events, sizeof(*ev), 0);
	if (!ev) {
		st->ringbuf_full++;
		return;
	}
	ev->ts_ns = ts_ns;
	ev->cookie = c->cookie;
	ev->rtt_ns = rtt_ns;
	ev->bytes = bytes;
	ev->conn_id = c->conn_id;
	ev->seq = s->seq;
	ev->ack = s->ack;
	ev->type = type;
	ev->tcp_flags = s->flags;
	ev->pad[0] = 0;
	ev->pad[1] = 0;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void read_seg(const struct pkt *pkt, struct seg *s)
{
	s->now = bpf_ktime_get_ns();
	s->seq = bpf_ntohl(pkt->tcp->seq);
	s->ack = bpf_ntohl(pkt->tcp->ack_seq);
	s->len = pkt->payload_len > 0 ? pkt->payload_len : 0;
	s->flags = tcp_flags(pkt->tcp);
	s->pure_ack = (s->flags & (TCP_SYN | TCP_ACK | TCP_RST | TCP_FIN)) == TCP_ACK && !s->len;
}

/* The sequence number after a segment: payload, SYN and FIN each take sequence space. */
static __always_inline __u32 seg_end(const struct seg *s)
{
	return s->seq + s->len + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);
}

static __always_inline int conn_egress(struct __sk_buff *skb, bool l3)
{
	struct sp_conn_stats *st;
	struct pkt pkt = {};
	struct sp_conn *c;
	struct seg s;
	__u64 cookie;
	__u32 end;

	st = get_stats();
	if (!st)
		return TC_ACT_UNSPEC;
	st->eg_packets++;
	cookie = bpf_get_socket_cookie(skb);
	c = bpf_map_lookup_elem(&sp_conn_socks, &cookie);
	if (!c) {
		st->eg_untracked++;
		return TC_ACT_UNSPEC;
	}
	if (parse_pkt(skb, &pkt, l3) || !pkt.tcp) {
		st->eg_not_tcp++;
		return TC_ACT_UNSPEC;
	}
	st->eg_tracked++;
	read_seg(&pkt, &s);

	if (!(c->flags & SP_CONN_TUPLE_KNOWN)) {
		pkt_tuple(&pkt, &c->tuple, false);
		if (!bpf_map_update_elem(&sp_conn_tuples, &c->tuple, &cookie, BPF_ANY))
			c->flags |= SP_CONN_TUPLE_KNOWN;
	}
	if (s.flags & TCP_RST) {
		if (!(c->flags & SP_CONN_RST_OUT)) {
			c->flags |= SP_CONN_RST_OUT;
			if (!c->rst_ts_ns)
				c->rst_ts_ns = s.now;
			emit(c, &s, SP_CONN_EV_RST_OUT, s.now, 0, 0, st);
		}
		return TC_ACT_UNSPEC;
	}
	/* Our keepalive probe: tcp_xmit_probe_skb() sends snd_una - 1, which no data follows. */
	if (s.pure_ack && (c->flags & SP_CONN_SND_KNOWN) && s.seq == c->snd_nxt - 1) {
		c->probes_out++;
		c->probe_out_ts_ns = s.now;
		c->flags |= SP_CONN_PROBE_OUT;
		emit(c, &s, SP_CONN_EV_PROBE_OUT, s.now, 0, 0, st);
		return TC_ACT_UNSPEC;
	}
	if (s.pure_ack) {
		/* Our answer to the peer's probe. */
		if (c->flags & SP_CONN_PROBE_IN) {
			c->flags &= ~SP_CONN_PROBE_IN;
			emit(c, &s, SP_CONN_EV_ACK_OUT, s.now, s.now - c->probe_in_ts_ns, 0, st);
		} else if ((c->flags & SP_CONN_PROBE_CAND) && s.ack == c->cand_seq + 1) {
			/*
			 * rcv_nxt was unknown: the answer, acking the probe's seq + 1, says what it
			 * was. The probe itself carried seq cand_seq and acked our next seq, s.seq.
			 */
			struct seg probe = { .seq = c->cand_seq, .ack = s.seq, .flags = TCP_ACK };

			c->flags &= ~SP_CONN_PROBE_CAND;
			c->probes_in++;
			c->probe_in_ts_ns = c->cand_ts_ns;
			emit(c, &probe, SP_CONN_EV_PROBE_IN, c->cand_ts_ns, 0, 0, st);
			emit(c, &s, SP_CONN_EV_ACK_OUT, s.now, s.now - c->cand_ts_ns, 0, st);
		}
	}
	/* Our ACK field is what we expect next from the peer. */
	if ((s.flags & TCP_ACK) &&
	    (!(c->flags & SP_CONN_RCV_KNOWN) || seq_after(s.ack, c->rcv_nxt))) {
		c->rcv_nxt = s.ack;
		c->flags |= SP_CONN_RCV_KNOWN;
	}
	end = seg_end(&s);
	if (!(c->flags & SP_CONN_SND_KNOWN) || seq_after(end, c->snd_nxt)) {
		c->snd_nxt = end;
		c->flags |= SP_CONN_SND_KNOWN;
	}
	if ((s.flags & TCP_FIN) && !(c->flags & SP_CONN_FIN_OUT)) {
		c->flags |= SP_CONN_FIN_OUT;
		c->fin_out_ts_ns = s.now;
		emit(c, &s, SP_CONN_EV_FIN_OUT, s.now, 0, 0, st);
	}
	return TC_ACT_UNSPEC;
}

static __always_inline int conn_ingress(struct __sk_buff *skb, bool l3)
{
	struct sp_tuple key = {};
	struct sp_conn_stats *st;
	struct pkt pkt = {};
	struct sp_conn *c;
	__u32 end, from, newb;
	__u64 *cookie;
	struct seg s;

	st = get_stats();
	if (!st)
		return TC_ACT_UNSPEC;
	st->in_packets++;
	if (parse_pkt(skb, &pkt, l3) || !pkt.tcp) {
		st->in_not_tcp++;
		return TC_ACT_UNSPEC;
	}
	/* Our 4-tuple is the packet's, turned around. */
	pkt_tuple(&pkt, &key, true);
	cookie = bpf_map_lookup_elem(&sp_conn_tuples, &key);
	if (!cookie) {
		st->in_untracked++;
		return TC_ACT_UNSPEC;
	}
	c = bpf_map_lookup_elem(&sp_conn_socks, cookie);
	if (!c) {
		st->in_untracked++;
		return TC_ACT_UNSPEC;
	}
	st->in_tracked++;
	read_seg(&pkt, &s);

	if (s.flags & TCP_RST) {
		if (!(c->flags & SP_CONN_RST_IN)) {
			c->flags |= SP_CONN_RST_IN;
			if (!c->rst_ts_ns)
				c->rst_ts_ns = s.now;
			emit(c, &s, SP_CONN_EV_RST_IN, s.now, 0, 0, st);
		}
		return TC_ACT_UNSPEC;
	}
	if (s.flags & TCP_ACK) {
		if (!(c->flags & SP_CONN_SND_KNOWN)) {
			c->snd_nxt = s.ack;
			c->flags |= SP_CONN_SND_KNOWN;
		}
		/* The answer to our probe acknowledges the probe's seq + 1, that is snd_nxt. */
		if ((c->flags & SP_CONN_PROBE_OUT) && s.ack == c->snd_nxt) {
			c->flags &= ~SP_CONN_PROBE_OUT;
			emit(c, &s, SP_CONN_EV_ACK_IN, s.now, s.now - c->probe_out_ts_ns, 0, st);
		}
	}
	if (s.pure_ack) {
		if (!(c->flags & SP_CONN_RCV_KNOWN)) {
			/* Decided when our answer goes out (egress). */
			c->cand_seq = s.seq;
			c->cand_ts_ns = s.now;
			c->flags |= SP_CONN_PROBE_CAND;
		} else if (s.seq == c->rcv_nxt - 1) {
			c->probes_in++;
			c->probe_in_ts_ns = s.now;
			c->flags |= SP_CONN_PROBE_IN;
			emit(c, &s, SP_CONN_EV_PROBE_IN, s.now, 0, 0, st);
		}
		return TC_ACT_UNSPEC;
	}

	end = seg_end(&s);
	if (s.flags & TCP_SYN) {
		c->rcv_nxt = end;
		c->flags |= SP_CONN_RCV_KNOWN;
	} else if (s.len && (c->flags & SP_CONN_RCV_KNOWN)) {
		/* Count new bytes only: retransmissions and overlaps are not counted twice. */
		from = seq_after(s.seq, c->rcv_nxt) ? s.seq : c->rcv_nxt;
		newb = seq_after(s.seq + s.len, from) ? s.seq + s.len - from : 0;
		c->bytes_in += newb;
		if ((c->flags & SP_CONN_FIN_OUT) && newb) {
			c->bytes_after_fin += newb;
			if (!(c->flags & SP_CONN_DATA_AFTER_FIN)) {
				c->flags |= SP_CONN_DATA_AFTER_FIN;
				emit(c, &s, SP_CONN_EV_DATA_AFTER_FIN, s.now, 0, newb, st);
			}
		}
	}
	if (!(c->flags & SP_CONN_RCV_KNOWN) || seq_after(end, c->rcv_nxt)) {
		c->rcv_nxt = end;
		c->flags |= SP_CONN_RCV_KNOWN;
	}
	if ((s.flags & TCP_FIN) && !(c->flags & SP_CONN_FIN_IN)) {
		c->flags |= SP_CONN_FIN_IN;
		c->fin_in_ts_ns = s.now;
		emit(c, &s, SP_CONN_EV_FIN_IN, s.now, 0, c->bytes_after_fin, st);
	}
	return TC_ACT_UNSPEC;
}

/*
 * The programs user space attaches: one pair for devices with an Ethernet header (and lo), one
 * for L3 devices (tun, WireGuard, GRE, IPIP), whose packets start at the IP header.
 */
SEC("tc")
int sp_conn_egress(struct __sk_buff *skb)
{
	return conn_egress(skb, false);
}

SEC("tc")
int sp_conn_ingress(struct __sk_buff *skb)
{
	return conn_ingress(skb, false);
}

SEC("tc")
int sp_conn_eg_l3(struct __sk_buff *skb)
{
	return conn_egress(skb, true);
}

SEC("tc")
int sp_conn_in_l3(struct __sk_buff *skb)
{
	return conn_ingress(skb, true);
}
