// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_conn.c - the tc programs of bpf/conn.bpf.c (sp_conn_egress, sp_conn_ingress) run on
 * crafted Ethernet frames through bpf_prog_test_run_opts(), over IPv4 and IPv6.
 *
 * Each test is a short exchange of one connection, packet by packet, as the kernel would send and
 * receive it: the handshake learned from a registered socket, our keepalive probe and the ACK
 * answering it, the peer's probe and our answer (rcv_nxt known, or learned from the answer on an
 * accepted socket), FINs, RSTs, the payload bytes counted after our FIN; and the packets the
 * programs must leave alone: untracked, not TCP, truncated. After each packet: the return code
 * (always TC_ACT_UNSPEC, the programs never drop), the frame unchanged, the change of every
 * sp_conn_stats counter (summed over the CPUs), the ring-buffer events, and the record.
 *
 * Tracked egress: BPF_PROG_TEST_RUN gives every run a fresh dummy socket, so its cookie is known
 * only inside the run. As tests/bpf/test_bpf.c does, egress runs go through a harness program
 * that copies a template struct sp_conn into sp_conn_socks[cookie of the run's socket] (writing
 * the cookie into the template first) and tail-calls sp_conn_egress on the same skb. Between
 * packets the test carries the record over: after an egress run it reads sp_conn_socks[that
 * cookie] back (and deletes it); before an ingress run it stores the record under TEST_COOKIE
 * with sp_conn_tuples[tuple] = TEST_COOKIE, as user space registers an accepted socket.
 *
 * Needs root (CAP_BPF + CAP_NET_ADMIN). Run: CMOCKA_MESSAGE_OUTPUT=TAP tests/test_conn
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
#include "conn.h"
#include "conn.skel.h"

#define TC_ACT_UNSPEC (-1)
/* Return code of the harness when its own steps fail (it never reached sp_conn_egress). */

#define ETH_HLEN 14
#define FRAME_MAX 512

#define L_ISN 0x11223344u   /* our ISN */
#define P_ISN 0xfffffff0u   /* the peer's ISN: its sequence numbers wrap past 2^32 */
#define TEST_COOKIE 0x53500000c0c0a002ull
#define TEST_CONN_ID 9
#define LOCAL_PORT 40000
#define LOCAL_PORT_OTHER 40001
#define PEER_PORT 80

static const __u8 local_ip4[4] = { 10, 0, 0, 1 };
static const __u8 peer_ip4[4] = { 10, 0, 0, 2 };
static const __u8 local_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const __u8 peer_ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const __u8 local_mac[6] = { 0x02, 0, 0, 0, 0, 1 };
static const __u8 peer_mac[6] = { 0x02, 0, 0, 0, 0, 2 };

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* --- packet builder --- */

struct frame {
	bool ipv6;
	bool udp;	   /* a UDP datagram instead of TCP */
	int vlan_tags;	   /* 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q) */
	bool ext_hop_dest; /* IPv6 hop-by-hop and destination options headers before TCP */
	bool ext_frag;	   /* IPv6 fragment header before TCP */
	__u16 frag_off;	   /* IPv4 flags + fragment offset, 0: DF */
	bool other_port;   /* our side uses LOCAL_PORT_OTHER: a 4-tuple nobody follows */
	__u16 ethertype;   /* written instead of IPv4's or IPv6's (the bytes after stay) */
	__u8 flags;
	__u32 seq;
	__u32 ack;
	int payload_len;
	int cut;	   /* keep only this many bytes of the frame, 0: all */
};

static void put_be16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put_be32(__u8 *p, __u32 v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}

/* Builds @f into @buf, from us to the peer when @outbound, else from the peer; its length. */
static size_t build_frame(const struct frame *f, bool outbound, __u8 *buf, size_t size)
{
	__u16 local_port = f->other_port ? LOCAL_PORT_OTHER : LOCAL_PORT;
	int l4_hdr = f->udp ? 8 : 20, l4_len = l4_hdr + f->payload_len;
	size_t len = 0;
	__u8 *p, *l4;
	int i;

	assert_true(size >= FRAME_MAX && l4_len + 14 + 8 + 40 + 24 <= FRAME_MAX);
	memset(buf, 0, size);
	memcpy(buf, outbound ? peer_mac : local_mac, 6);
	memcpy(buf + 6, outbound ? local_mac : peer_mac, 6);
	len = 12;
	for (i = 0; i < f->vlan_tags; i++, len += 4) {
		put_be16(buf + len, f->vlan_tags == 2 && i == 0 ? 0x88a8 : 0x8100);
		put_be16(buf + len + 2, 100 + i);
	}
	put_be16(buf + len, f->ethertype ? f->ethertype : f->ipv6 ? 0x86dd : 0x0800);
	len += 2;
	p = buf + len;
	if (!f->ipv6) {
		p[0] = 0x45;
		put_be16(p + 2, 20 + l4_len);
		put_be16(p + 4, 0x1234);
		put_be16(p + 6, f->frag_off ? f->frag_off : 0x4000);
		p[8] = 64;
		p[9] = f->udp ? 17 : 6;
		memcpy(p + 12, outbound ? local_ip4 : peer_ip4, 4);
		memcpy(p + 16, outbound ? peer_ip4 : local_ip4, 4);
		len += 20;
	} else {
		int ext_len = (f->ext_hop_dest ? 16 : 0) + (f->ext_frag ? 8 : 0);
		__u8 *next = p + 6;

		put_be32(p, 0x60000000);
		put_be16(p + 4, ext_len + l4_len);
		p[7] = 64;
		memcpy(p + 8, outbound ? local_ip6 : peer_ip6, 16);
		memcpy(p + 24, outbound ? peer_ip6 : local_ip6, 16);
		len += 40;
		if (f->ext_hop_dest) {
			/* Hop-by-hop, then destination options: 8 bytes each, one PadN option. */
			*next = 0;
			next = buf + len;
			buf[len + 2] = 1;
			buf[len + 3] = 4;
			len += 8;
			*next = 60;
			next = buf + len;
			buf[len + 2] = 1;
			buf[len + 3] = 4;
			len += 8;
		}
		if (f->ext_frag) {
			*next = 44;
			next = buf + len;
			put_be16(buf + len + 2, 0x0001); /* offset 0, more fragments */
			put_be32(buf + len + 4, 0x1234);
			len += 8;
		}
		*next = f->udp ? 17 : 6;
	}
	l4 = buf + len;
	put_be16(l4, outbound ? local_port : PEER_PORT);
	put_be16(l4 + 2, outbound ? PEER_PORT : local_port);
	if (f->udp) {
		put_be16(l4 + 4, l4_len);
	} else {
		put_be32(l4 + 4, f->seq);
		put_be32(l4 + 8, f->ack);
		l4[12] = 5 << 4;
		l4[13] = f->flags;
		put_be16(l4 + 14, 502);
	}
	for (i = l4_hdr; i < l4_len; i++)
		l4[i] = 'x';
	len += l4_len;
	if (f->cut && (size_t)f->cut < len)
		len = f->cut;
	return len;
}

/* Our 4-tuple as the programs key sp_conn_tuples. */
static struct sp_tuple local_tuple(bool ipv6, bool other_port)
{
	struct sp_tuple t = {};

	t.family = ipv6 ? SP_FAMILY_IPV6 : SP_FAMILY_IPV4;
	memcpy(t.saddr, ipv6 ? local_ip6 : local_ip4, ipv6 ? 16 : 4);
	memcpy(t.daddr, ipv6 ? peer_ip6 : peer_ip4, ipv6 ? 16 : 4);
	t.sport = htons(other_port ? LOCAL_PORT_OTHER : LOCAL_PORT);
	t.dport = htons(PEER_PORT);
	return t;
}

/* --- the harness for egress runs (see test_bpf.c) --- */

static struct conn_bpf *skel;
static struct ring_buffer *rb;
static int ncpus;
static int harness_fd = -1, harness_conn_fd = -1, harness_jmp_fd = -1;


_Static_assert(offsetof(struct sp_conn, cookie) == 0, "the harness writes the cookie at offset 0");


static int harness_load(void)
{
	int egress_fd = bpf_program__fd(skel->progs.sp_conn_egress);
	__u32 zero = 0;

	harness_conn_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sp_test_conn", sizeof(__u32),
					 sizeof(struct sp_conn), 1, NULL);
	if (harness_conn_fd < 0)
		return -errno;
	harness_jmp_fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "sp_test_cjmp", sizeof(__u32),
					sizeof(__u32), 1, NULL);
	if (harness_jmp_fd < 0)
		return -errno;
	harness_fd = shim_load("sp_test_shim", harness_conn_fd,
			       bpf_map__fd(skel->maps.sp_conn_socks), harness_jmp_fd);
	if (harness_fd < 0)
		return harness_fd;
	if (bpf_map_update_elem(harness_jmp_fd, &zero, &egress_fd, BPF_ANY))
		return -errno;
	return 0;
}

/* --- events, counters, maps --- */

#define EVENTS_MAX 8
static struct sp_conn_event events[EVENTS_MAX];
static int n_events, bad_event_size;

static int on_event(void *ctx, void *data, size_t size)
{
	if (size != sizeof(struct sp_conn_event)) {
		bad_event_size++;
		return 0;
	}
	if (n_events < EVENTS_MAX)
		memcpy(&events[n_events], data, size);
	n_events++;
	return 0;
}

static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	{ "eg_packets", offsetof(struct sp_conn_stats, eg_packets) },
	{ "eg_untracked", offsetof(struct sp_conn_stats, eg_untracked) },
	{ "eg_not_tcp", offsetof(struct sp_conn_stats, eg_not_tcp) },
	{ "eg_tracked", offsetof(struct sp_conn_stats, eg_tracked) },
	{ "in_packets", offsetof(struct sp_conn_stats, in_packets) },
	{ "in_not_tcp", offsetof(struct sp_conn_stats, in_not_tcp) },
	{ "in_untracked", offsetof(struct sp_conn_stats, in_untracked) },
	{ "in_tracked", offsetof(struct sp_conn_stats, in_tracked) },
	{ "ringbuf_full", offsetof(struct sp_conn_stats, ringbuf_full) },
};
#define N_STATS (sizeof(stat_fields) / sizeof(stat_fields[0]))
_Static_assert(N_STATS * sizeof(__u64) == sizeof(struct sp_conn_stats), "stat_fields incomplete");

static __u64 stat_get(const struct sp_conn_stats *s, size_t i)
{
	return *(const __u64 *)((const char *)s + stat_fields[i].off);
}

static void stats_read(struct sp_conn_stats *sum)
{
	struct sp_conn_stats *percpu = calloc(ncpus, sizeof(*percpu));
	__u32 zero = 0;
	size_t i;
	int cpu;

	assert_non_null(percpu);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(skel->maps.sp_conn_stats), &zero, percpu), 0);
	memset(sum, 0, sizeof(*sum));
	for (cpu = 0; cpu < ncpus; cpu++)
		for (i = 0; i < N_STATS; i++)
			*(__u64 *)((char *)sum + stat_fields[i].off) += stat_get(&percpu[cpu], i);
	free(percpu);
}

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

static int socks_fd(void)
{
	return bpf_map__fd(skel->maps.sp_conn_socks);
}

static int tuples_fd(void)
{
	return bpf_map__fd(skel->maps.sp_conn_tuples);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* --- one packet --- */

enum prog {
	EGRESS,		/* through the harness: the run's socket is registered with the record */
	EGRESS_PLAIN,	/* sp_conn_egress itself: the run's socket is nobody's */
	INGRESS,	/* the record under TEST_COOKIE, sp_conn_tuples[its tuple] = TEST_COOKIE */
	INGRESS_PLAIN,	/* the maps as they are */
};

/* Expected counter changes of one run; unnamed counters must not move. */
struct delta {
	__u64 eg_packets, eg_untracked, eg_not_tcp, eg_tracked;
	__u64 in_packets, in_not_tcp, in_untracked, in_tracked, ringbuf_full;
};

/* What a step leaves: the window of the run and the events it emitted (from events[first]). */
struct step_out {
	__u64 t0, t1;
	int first, n;
	__u64 cookie; /* the record's cookie during the run */
};

/*
 * Runs @f once through @p with the connection @conn (updated in place with what the program
 * left), checks the return code, the frame, the counters; returns the window and the events.
 */
static struct step_out step(enum prog p, const struct frame *f, struct sp_conn *conn,
			    const struct delta *want)
{
	bool outbound = p == EGRESS || p == EGRESS_PLAIN;
	struct sp_conn_stats before, after;
	__u8 in[FRAME_MAX], out[FRAME_MAX];
	struct step_out so = { .first = n_events };
	__u64 cookie = TEST_COOKIE;
	struct sp_conn tmpl;
	int prog_fd, err, bad = 0;
	__u32 zero = 0;
	size_t len, i;

	len = build_frame(f, outbound, in, sizeof(in));
	switch (p) {
	case EGRESS:
		assert_int_equal(bpf_map_update_elem(harness_conn_fd, &zero, conn, BPF_ANY), 0);
		prog_fd = harness_fd;
		break;
	case EGRESS_PLAIN:
		prog_fd = bpf_program__fd(skel->progs.sp_conn_egress);
		break;
	case INGRESS:
		conn->cookie = TEST_COOKIE;
		assert_int_equal(bpf_map_update_elem(socks_fd(), &cookie, conn, BPF_ANY), 0);
		assert_int_equal(bpf_map_update_elem(tuples_fd(), &conn->tuple, &cookie, BPF_ANY), 0);
		/* fall through */
	default:
		prog_fd = bpf_program__fd(skel->progs.sp_conn_ingress);
		break;
	}

	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = sizeof(out));
	stats_read(&before);
	so.t0 = now_ns();
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	so.t1 = now_ns();
	if (err)
		print_error("bpf_prog_test_run_opts: %s on a frame of %zu bytes\n", strerror(-err), len);
	assert_int_equal(err, 0);
	stats_read(&after);
	assert_int_equal((int)opts.retval, TC_ACT_UNSPEC);
	/* The programs only read: the frame leaves as it came. */
	assert_int_equal(opts.data_size_out, len);
	assert_memory_equal(out, in, len);
	for (i = 0; i < N_STATS; i++) {
		__u64 got = stat_get(&after, i) - stat_get(&before, i);
		__u64 exp = *(const __u64 *)((const char *)want + stat_fields[i].off);

		if (got != exp) {
			print_error("%s: changed by %llu, expected %llu\n", stat_fields[i].name,
				    (unsigned long long)got, (unsigned long long)exp);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	ring_buffer__consume(rb);
	assert_int_equal(bad_event_size, 0);
	so.n = n_events - so.first;

	if (p == EGRESS) {
		/* The harness wrote the run's cookie into the template; carry the record over. */
		assert_int_equal(bpf_map_lookup_elem(harness_conn_fd, &zero, &tmpl), 0);
		so.cookie = tmpl.cookie;
		assert_true(so.cookie != 0 && so.cookie != TEST_COOKIE);
		assert_int_equal(bpf_map_lookup_elem(socks_fd(), &so.cookie, conn), 0);
		assert_int_equal(conn->cookie, so.cookie);
		assert_int_equal(bpf_map_delete_elem(socks_fd(), &so.cookie), 0);
	} else if (p == INGRESS) {
		so.cookie = TEST_COOKIE;
		assert_int_equal(bpf_map_lookup_elem(socks_fd(), &cookie, conn), 0);
	}
	return so;
}

/* The @i-th event of step @so: its type, the connection, the packet's seq/ack/flags, the time. */
static const struct sp_conn_event *event(const struct step_out *so, int i, __u8 type,
					 const struct frame *f)
{
	const struct sp_conn_event *ev;

	assert_true(i < so->n && so->first + i < EVENTS_MAX);
	ev = &events[so->first + i];
	assert_int_equal(ev->type, type);
	assert_int_equal(ev->cookie, so->cookie);
	assert_int_equal(ev->conn_id, TEST_CONN_ID);
	assert_int_equal(ev->seq, f->seq);
	assert_int_equal(ev->ack, f->ack);
	assert_int_equal(ev->tcp_flags, f->flags);
	assert_int_equal(ev->pad[0], 0);
	assert_int_equal(ev->pad[1], 0);
	return ev;
}

/* --- connection states --- */

struct fam {
	bool ipv6;
};

static const struct fam fam4 = { false }, fam6 = { true };

static bool is6(void **state)
{
	return ((const struct fam *)*state)->ipv6;
}

/* A connecting socket as user space registers it: cookie and conn_id only. */
static struct sp_conn registered(void)
{
	struct sp_conn c = { .conn_id = TEST_CONN_ID };

	return c;
}

/* An established connection as the programs leave it after the handshake. */
static struct sp_conn established(bool ipv6)
{
	struct sp_conn c = registered();

	c.tuple = local_tuple(ipv6, false);
	c.flags = SP_CONN_TUPLE_KNOWN | SP_CONN_SND_KNOWN | SP_CONN_RCV_KNOWN;
	c.snd_nxt = L_ISN + 1;
	c.rcv_nxt = P_ISN + 1;
	return c;
}

static const struct delta EG_TRACKED = { .eg_packets = 1, .eg_tracked = 1 };
static const struct delta IN_TRACKED = { .in_packets = 1, .in_tracked = 1 };

static int test_setup(void **state)
{
	map_clear(socks_fd(), sizeof(__u64));
	map_clear(tuples_fd(), sizeof(struct sp_tuple));
	ring_buffer__consume(rb);
	n_events = 0;
	bad_event_size = 0;
	return 0;
}

/* --- the tests --- */

/* SYN out, SYN-ACK in, ACK out: the tuple, snd_nxt and rcv_nxt learned, no event. */
static void test_handshake(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = registered(), want;
	struct sp_tuple tuple = local_tuple(v6, false);
	struct frame syn = { .ipv6 = v6, .flags = F_SYN, .seq = L_ISN };
	struct frame synack = { .ipv6 = v6, .flags = F_SYN | F_ACK, .seq = P_ISN, .ack = L_ISN + 1 };
	struct frame ack = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN + 1, .ack = P_ISN + 1 };
	struct step_out so;
	__u64 got;

	so = step(EGRESS, &syn, &c, &EG_TRACKED);
	assert_int_equal(so.n, 0);
	want = registered();
	want.cookie = so.cookie;
	want.tuple = tuple;
	want.flags = SP_CONN_TUPLE_KNOWN | SP_CONN_SND_KNOWN;
	want.snd_nxt = L_ISN + 1; /* the SYN takes one */
	assert_memory_equal(&c, &want, sizeof(c));
	/* The ingress program finds the connection by the learned tuple. */
	assert_int_equal(map_count(tuples_fd(), sizeof(tuple)), 1);
	assert_int_equal(bpf_map_lookup_elem(tuples_fd(), &tuple, &got), 0);
	assert_int_equal(got, so.cookie);

	so = step(INGRESS, &synack, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0);
	want.cookie = TEST_COOKIE;
	want.flags |= SP_CONN_RCV_KNOWN;
	want.rcv_nxt = P_ISN + 1;
	assert_memory_equal(&c, &want, sizeof(c));

	/* The handshake's ACK is a pure ACK at snd_nxt: not a keepalive probe. */
	so = step(EGRESS, &ack, &c, &EG_TRACKED);
	assert_int_equal(so.n, 0);
	want.cookie = so.cookie;
	assert_memory_equal(&c, &want, sizeof(c));
}

/* Our keepalive probe (pure ACK, seq = snd_nxt - 1) and the ACK answering it, twice. */
static void test_probe_out_answered(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6), want;
	struct frame probe = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN, .ack = P_ISN + 1 };
	struct frame answer = { .ipv6 = v6, .flags = F_ACK, .seq = P_ISN + 1, .ack = L_ISN + 1 };
	const struct sp_conn_event *ev;
	struct step_out so;
	__u64 probe_ts;
	int round;

	for (round = 1; round <= 2; round++) {
		so = step(EGRESS, &probe, &c, &EG_TRACKED);
		assert_int_equal(so.n, 1);
		ev = event(&so, 0, SP_CONN_EV_PROBE_OUT, &probe);
		assert_in_range(ev->ts_ns, so.t0, so.t1);
		assert_int_equal(ev->rtt_ns, 0);
		assert_int_equal(ev->bytes, 0);
		probe_ts = ev->ts_ns;
		want = established(v6);
		want.cookie = so.cookie;
		want.flags |= SP_CONN_PROBE_OUT;
		want.probes_out = round;
		want.probe_out_ts_ns = probe_ts;
		/* The probe takes no sequence space: snd_nxt stays. */
		assert_memory_equal(&c, &want, sizeof(c));

		so = step(INGRESS, &answer, &c, &IN_TRACKED);
		assert_int_equal(so.n, 1);
		ev = event(&so, 0, SP_CONN_EV_ACK_IN, &answer);
		assert_in_range(ev->ts_ns, so.t0, so.t1);
		assert_int_equal(ev->rtt_ns, ev->ts_ns - probe_ts);
		want.cookie = TEST_COOKIE;
		want.flags &= ~SP_CONN_PROBE_OUT;
		assert_memory_equal(&c, &want, sizeof(c));

		/* A duplicate of the answer answers nothing. */
		so = step(INGRESS, &answer, &c, &IN_TRACKED);
		assert_int_equal(so.n, 0);
		assert_memory_equal(&c, &want, sizeof(c));
	}
}

/* Not probes: a pure ACK at snd_nxt, a 1-byte segment at snd_nxt - 1; an ACK not acking snd_nxt
 * does not answer an outstanding probe. */
static void test_probe_out_lookalikes(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6), want = established(v6);
	struct frame at_nxt = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN + 1, .ack = P_ISN + 1 };
	struct frame garbage = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN, .ack = P_ISN + 1,
				 .payload_len = 1 };
	struct frame probe = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN, .ack = P_ISN + 1 };
	struct frame old_ack = { .ipv6 = v6, .flags = F_ACK, .seq = P_ISN + 1, .ack = L_ISN };
	struct step_out so;

	so = step(EGRESS, &at_nxt, &c, &EG_TRACKED);
	assert_int_equal(so.n, 0);
	want.cookie = so.cookie;
	assert_memory_equal(&c, &want, sizeof(c));

	/* A retransmitted byte ending at snd_nxt: no probe, snd_nxt unchanged. */
	so = step(EGRESS, &garbage, &c, &EG_TRACKED);
	assert_int_equal(so.n, 0);
	want.cookie = so.cookie;
	assert_memory_equal(&c, &want, sizeof(c));

	so = step(EGRESS, &probe, &c, &EG_TRACKED);
	assert_int_equal(so.n, 1);
	event(&so, 0, SP_CONN_EV_PROBE_OUT, &probe);
	assert_true(c.flags & SP_CONN_PROBE_OUT);

	so = step(INGRESS, &old_ack, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0);
	assert_true(c.flags & SP_CONN_PROBE_OUT);
	assert_int_equal(c.snd_nxt, L_ISN + 1);
}

/* The peer's probe (pure ACK, seq = rcv_nxt - 1) and our answer. */
static void test_probe_in_answered(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6), want;
	struct frame probe = { .ipv6 = v6, .flags = F_ACK, .seq = P_ISN, .ack = L_ISN + 1 };
	struct frame answer = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN + 1, .ack = P_ISN + 1 };
	const struct sp_conn_event *ev;
	struct step_out so;
	__u64 probe_ts;

	so = step(INGRESS, &probe, &c, &IN_TRACKED);
	assert_int_equal(so.n, 1);
	ev = event(&so, 0, SP_CONN_EV_PROBE_IN, &probe);
	assert_in_range(ev->ts_ns, so.t0, so.t1);
	probe_ts = ev->ts_ns;
	want = established(v6);
	want.cookie = TEST_COOKIE;
	want.flags |= SP_CONN_PROBE_IN;
	want.probes_in = 1;
	want.probe_in_ts_ns = probe_ts;
	assert_memory_equal(&c, &want, sizeof(c));

	so = step(EGRESS, &answer, &c, &EG_TRACKED);
	assert_int_equal(so.n, 1);
	ev = event(&so, 0, SP_CONN_EV_ACK_OUT, &answer);
	assert_in_range(ev->ts_ns, so.t0, so.t1);
	assert_int_equal(ev->rtt_ns, ev->ts_ns - probe_ts);
	want.cookie = so.cookie;
	want.flags &= ~SP_CONN_PROBE_IN;
	assert_memory_equal(&c, &want, sizeof(c));

	/* Our next pure ACK answers nothing. */
	so = step(EGRESS, &answer, &c, &EG_TRACKED);
	assert_int_equal(so.n, 0);
}

/* An accepted socket (tuple registered, sequence numbers unknown): the peer's pure ACK is only a
 * candidate until our answer acks its seq + 1; then both events, the probe at its own time. */
static void test_probe_in_candidate(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = registered(), want;
	struct frame probe = { .ipv6 = v6, .flags = F_ACK, .seq = P_ISN, .ack = L_ISN + 1 };
	struct frame other = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN + 1, .ack = P_ISN + 7 };
	struct frame answer = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN + 1, .ack = P_ISN + 1 };
	const struct sp_conn_event *ev;
	struct step_out so;
	__u64 cand_ts;

	c.tuple = local_tuple(v6, false);
	c.flags = SP_CONN_TUPLE_KNOWN;
	so = step(INGRESS, &probe, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0);
	want = registered();
	want.cookie = TEST_COOKIE;
	want.tuple = c.tuple;
	want.flags = SP_CONN_TUPLE_KNOWN | SP_CONN_SND_KNOWN | SP_CONN_PROBE_CAND;
	want.snd_nxt = L_ISN + 1; /* what the peer acks */
	want.cand_seq = P_ISN;
	want.cand_ts_ns = c.cand_ts_ns;
	assert_in_range(c.cand_ts_ns, so.t0, so.t1);
	cand_ts = c.cand_ts_ns;
	assert_memory_equal(&c, &want, sizeof(c));

	/* An answer that acks something else is no answer (rcv_nxt is learned from it, though:
	 * use a copy so the candidate stays for the real answer). */
	{
		struct sp_conn copy = c;

		so = step(EGRESS, &other, &copy, &EG_TRACKED);
		assert_int_equal(so.n, 0);
		assert_true(copy.flags & SP_CONN_PROBE_CAND);
		assert_int_equal(copy.probes_in, 0);
	}

	so = step(EGRESS, &answer, &c, &EG_TRACKED);
	assert_int_equal(so.n, 2);
	ev = event(&so, 1, SP_CONN_EV_ACK_OUT, &answer);
	assert_in_range(ev->ts_ns, so.t0, so.t1);
	assert_int_equal(ev->rtt_ns, ev->ts_ns - cand_ts);
	want.cookie = so.cookie;
	want.flags = SP_CONN_TUPLE_KNOWN | SP_CONN_SND_KNOWN | SP_CONN_RCV_KNOWN;
	want.probes_in = 1;
	want.probe_in_ts_ns = cand_ts;
	want.rcv_nxt = P_ISN + 1;
	assert_memory_equal(&c, &want, sizeof(c));

	/* The probe's event stands for the probe, as the one of a known rcv_nxt does: its time
	 * (cand_ts_ns), and its seq and ack (conn.h: "seq = rcv_nxt - 1"), not our answer's. */
	ev = event(&so, 0, SP_CONN_EV_PROBE_IN, &probe);
	assert_int_equal(ev->ts_ns, cand_ts);
}

/* Our FIN: one event, snd_nxt past it; a retransmitted FIN reports nothing. The peer's FIN, at
 * rcv_nxt: one event with the bytes after our FIN (none here). */
static void test_fin_out_in(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6), want;
	struct frame fin = { .ipv6 = v6, .flags = F_FIN | F_ACK, .seq = L_ISN + 1, .ack = P_ISN + 1 };
	struct frame fin_in = { .ipv6 = v6, .flags = F_FIN | F_ACK, .seq = P_ISN + 1,
				.ack = L_ISN + 2 };
	const struct sp_conn_event *ev;
	struct step_out so;

	so = step(EGRESS, &fin, &c, &EG_TRACKED);
	assert_int_equal(so.n, 1);
	ev = event(&so, 0, SP_CONN_EV_FIN_OUT, &fin);
	assert_in_range(ev->ts_ns, so.t0, so.t1);
	want = established(v6);
	want.cookie = so.cookie;
	want.flags |= SP_CONN_FIN_OUT;
	want.fin_out_ts_ns = ev->ts_ns;
	want.snd_nxt = L_ISN + 2; /* the FIN takes one */
	assert_memory_equal(&c, &want, sizeof(c));

	so = step(EGRESS, &fin, &c, &EG_TRACKED);
	assert_int_equal(so.n, 0);
	want.cookie = so.cookie;
	assert_memory_equal(&c, &want, sizeof(c));

	so = step(INGRESS, &fin_in, &c, &IN_TRACKED);
	assert_int_equal(so.n, 1);
	ev = event(&so, 0, SP_CONN_EV_FIN_IN, &fin_in);
	assert_in_range(ev->ts_ns, so.t0, so.t1);
	assert_int_equal(ev->bytes, 0);
	want.cookie = TEST_COOKIE;
	want.flags |= SP_CONN_FIN_IN;
	want.fin_in_ts_ns = ev->ts_ns;
	want.rcv_nxt = P_ISN + 2;
	assert_memory_equal(&c, &want, sizeof(c));

	so = step(INGRESS, &fin_in, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0);
	assert_memory_equal(&c, &want, sizeof(c));
}

/* Payload in: counted once (retransmissions and overlaps are not), apart after our FIN, whose
 * first piece is an event; the peer's FIN then reports the bytes after ours. The peer's
 * sequence numbers wrap past 2^32 on the way. */
static void test_payload_after_fin(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6);
	__u32 r = P_ISN + 1;
	struct frame d_before = { .ipv6 = v6, .flags = F_ACK | F_PSH, .seq = r, .ack = L_ISN + 1,
				  .payload_len = 50 };
	struct frame fin = { .ipv6 = v6, .flags = F_FIN | F_ACK, .seq = L_ISN + 1, .ack = r + 50 };
	struct frame d1 = { .ipv6 = v6, .flags = F_ACK, .seq = r + 50, .ack = L_ISN + 2,
			    .payload_len = 100 };
	struct frame d2 = { .ipv6 = v6, .flags = F_ACK, .seq = r + 150, .ack = L_ISN + 2,
			    .payload_len = 200 };
	/* 100 bytes already seen, then 100 new ones */
	struct frame overlap = { .ipv6 = v6, .flags = F_ACK, .seq = r + 250, .ack = L_ISN + 2,
				 .payload_len = 200 };
	struct frame fin_in = { .ipv6 = v6, .flags = F_FIN | F_ACK, .seq = r + 450,
				.ack = L_ISN + 2 };
	const struct sp_conn_event *ev;
	struct step_out so;

	so = step(INGRESS, &d_before, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0);
	assert_int_equal(c.bytes_in, 50);
	assert_int_equal(c.bytes_after_fin, 0);
	assert_int_equal(c.rcv_nxt, r + 50);
	assert_false(c.flags & SP_CONN_DATA_AFTER_FIN);

	so = step(EGRESS, &fin, &c, &EG_TRACKED);
	assert_int_equal(so.n, 1);
	event(&so, 0, SP_CONN_EV_FIN_OUT, &fin);

	so = step(INGRESS, &d1, &c, &IN_TRACKED);
	assert_int_equal(so.n, 1);
	ev = event(&so, 0, SP_CONN_EV_DATA_AFTER_FIN, &d1);
	assert_in_range(ev->ts_ns, so.t0, so.t1);
	assert_int_equal(ev->bytes, 100);
	assert_int_equal(c.bytes_in, 150);
	assert_int_equal(c.bytes_after_fin, 100);
	assert_true(c.flags & SP_CONN_DATA_AFTER_FIN);
	assert_int_equal(c.rcv_nxt, r + 150);

	so = step(INGRESS, &d2, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0); /* only the first piece is an event */
	assert_int_equal(c.bytes_after_fin, 300);

	so = step(INGRESS, &d1, &c, &IN_TRACKED); /* a retransmission */
	assert_int_equal(so.n, 0);
	assert_int_equal(c.bytes_in, 350);
	assert_int_equal(c.bytes_after_fin, 300);
	assert_int_equal(c.rcv_nxt, r + 350);

	so = step(INGRESS, &overlap, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0);
	assert_int_equal(c.bytes_in, 450);
	assert_int_equal(c.bytes_after_fin, 400);
	assert_int_equal(c.rcv_nxt, r + 450);

	so = step(INGRESS, &fin_in, &c, &IN_TRACKED);
	assert_int_equal(so.n, 1);
	ev = event(&so, 0, SP_CONN_EV_FIN_IN, &fin_in);
	assert_int_equal(ev->bytes, 400);
	assert_int_equal(c.rcv_nxt, r + 451);
	assert_int_equal(c.bytes_in, 450);
}

/* RSTs either way: one event each, the first one's time kept; no sequence learning from them. */
static void test_rst(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6), want;
	struct frame rst_in = { .ipv6 = v6, .flags = F_RST, .seq = P_ISN + 1 };
	struct frame rst_out = { .ipv6 = v6, .flags = F_RST | F_ACK, .seq = L_ISN + 1,
				 .ack = P_ISN + 1 };
	const struct sp_conn_event *ev;
	struct step_out so;
	__u64 first;

	so = step(INGRESS, &rst_in, &c, &IN_TRACKED);
	assert_int_equal(so.n, 1);
	ev = event(&so, 0, SP_CONN_EV_RST_IN, &rst_in);
	first = ev->ts_ns;
	want = established(v6);
	want.cookie = TEST_COOKIE;
	want.flags |= SP_CONN_RST_IN;
	want.rst_ts_ns = first;
	assert_memory_equal(&c, &want, sizeof(c));
	so = step(INGRESS, &rst_in, &c, &IN_TRACKED);
	assert_int_equal(so.n, 0);

	so = step(EGRESS, &rst_out, &c, &EG_TRACKED);
	assert_int_equal(so.n, 1);
	event(&so, 0, SP_CONN_EV_RST_OUT, &rst_out);
	want.cookie = so.cookie;
	want.flags |= SP_CONN_RST_OUT;
	assert_memory_equal(&c, &want, sizeof(c));
	so = step(EGRESS, &rst_out, &c, &EG_TRACKED);
	assert_int_equal(so.n, 0);
}

/* VLAN tags and IPv6 extension headers: the probe is still seen. */
static void test_encapsulated_probe(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6);
	struct frame probe = { .ipv6 = v6, .vlan_tags = 2, .ext_hop_dest = v6, .flags = F_ACK,
			       .seq = L_ISN, .ack = P_ISN + 1 };
	struct frame answer = { .ipv6 = v6, .vlan_tags = 1, .ext_hop_dest = v6, .flags = F_ACK,
				.seq = P_ISN + 1, .ack = L_ISN + 1 };
	struct step_out so;

	so = step(EGRESS, &probe, &c, &EG_TRACKED);
	assert_int_equal(so.n, 1);
	event(&so, 0, SP_CONN_EV_PROBE_OUT, &probe);
	so = step(INGRESS, &answer, &c, &IN_TRACKED);
	assert_int_equal(so.n, 1);
	event(&so, 0, SP_CONN_EV_ACK_IN, &answer);
}

/* Untracked traffic leaves at once: at egress before any parsing (a frame that is not even an
 * IP packet counts as untracked, not as "not TCP"); at ingress after the tuple lookup. */
static void test_untracked(void **state)
{
	bool v6 = is6(state);
	struct sp_conn c = established(v6), keep;
	struct frame probe = { .ipv6 = v6, .flags = F_ACK, .seq = L_ISN, .ack = P_ISN + 1 };
	/* Local experimental EtherType 1 (IEEE 802): nothing the programs could parse. */
	struct frame junk = { .ipv6 = v6, .ethertype = 0x88b5, .flags = F_ACK, .seq = L_ISN,
			      .ack = P_ISN + 1 };
	struct frame other = { .ipv6 = v6, .other_port = true, .flags = F_ACK, .seq = P_ISN,
			       .ack = L_ISN + 1 };
	struct delta eg_untracked = { .eg_packets = 1, .eg_untracked = 1 };
	struct delta in_untracked = { .in_packets = 1, .in_untracked = 1 };
	struct sp_tuple tuple = local_tuple(v6, false);
	struct step_out so;
	__u64 cookie = TEST_COOKIE;

	/* A followed connection exists, but not for the run's socket. */
	c.cookie = TEST_COOKIE;
	assert_int_equal(bpf_map_update_elem(socks_fd(), &cookie, &c, BPF_NOEXIST), 0);
	assert_int_equal(bpf_map_update_elem(tuples_fd(), &tuple, &cookie, BPF_NOEXIST), 0);
	keep = c;

	so = step(EGRESS_PLAIN, &probe, &c, &eg_untracked);
	assert_int_equal(so.n, 0);
	so = step(EGRESS_PLAIN, &junk, &c, &eg_untracked);
	assert_int_equal(so.n, 0);
	/* Another 4-tuple at ingress: the peer's probe of a connection nobody follows. */
	so = step(INGRESS_PLAIN, &other, &c, &in_untracked);
	assert_int_equal(so.n, 0);
	assert_int_equal(bpf_map_lookup_elem(socks_fd(), &cookie, &c), 0);
	assert_memory_equal(&c, &keep, sizeof(c));

	/* The tuple entry is there but the record is gone (unregistered): untracked. */
	assert_int_equal(bpf_map_delete_elem(socks_fd(), &cookie), 0);
	other.other_port = false;
	so = step(INGRESS_PLAIN, &other, &c, &in_untracked);
	assert_int_equal(so.n, 0);
	assert_int_equal(map_count(socks_fd(), sizeof(__u64)), 0);
}

/* Not TCP, fragments and truncated frames of a followed connection: counted as not TCP, the
 * record untouched (at egress not even the tuple is learned). */
static void test_not_tcp_truncated(void **state)
{
	bool v6 = is6(state);
	int ip_hlen = v6 ? 40 : 20;
	struct delta eg_not_tcp = { .eg_packets = 1, .eg_not_tcp = 1 };
	struct delta in_not_tcp = { .in_packets = 1, .in_not_tcp = 1 };
	/*
	 * No frame cut inside the IPv4 or IPv6 header itself: BPF_PROG_TEST_RUN refuses those
	 * (EINVAL, kernel 6.18) before the program runs. Behind a VLAN tag it does not look.
	 */
	const struct frame frames[] = {
		/* cut inside the TCP header (before the flags, then right after them) */
		{ .ipv6 = v6, .flags = F_FIN | F_ACK, .seq = P_ISN + 1, .ack = L_ISN + 1,
		  .cut = ETH_HLEN + ip_hlen + 10 },
		{ .ipv6 = v6, .flags = F_FIN | F_ACK, .seq = P_ISN + 1, .ack = L_ISN + 1,
		  .cut = ETH_HLEN + ip_hlen + 19 },
		/* cut inside a VLAN tag */
		{ .ipv6 = v6, .vlan_tags = 2, .flags = F_ACK, .cut = ETH_HLEN + 2 },
		/* a VLAN tag, then cut inside the IP header */
		{ .ipv6 = v6, .vlan_tags = 1, .flags = F_ACK, .cut = ETH_HLEN + 4 + 8 },
		/* a VLAN tag, then cut inside the IPv4 or IPv6 header's addresses */
		{ .ipv6 = v6, .vlan_tags = 1, .flags = F_ACK, .cut = ETH_HLEN + 4 + ip_hlen - 2 },
		/* ARP's EtherType on a TCP segment */
		{ .ipv6 = v6, .ethertype = 0x0806, .flags = F_ACK, .seq = P_ISN, .ack = L_ISN + 1 },
		/* UDP */
		{ .ipv6 = v6, .udp = true, .payload_len = 30 },
		/* a fragment */
		{ .ipv6 = v6, .ext_frag = v6, .frag_off = v6 ? 0 : 0x2000, .flags = F_FIN | F_ACK,
		  .seq = P_ISN + 1, .ack = L_ISN + 1 },
		/* IPv6: cut inside the extension headers; IPv4: cut inside the TCP options area */
		{ .ipv6 = v6, .ext_hop_dest = v6, .flags = F_ACK, .seq = P_ISN, .ack = L_ISN + 1,
		  .cut = ETH_HLEN + ip_hlen + (v6 ? 12 : 16) },
	};
	struct sp_conn c, want;
	struct step_out so;
	size_t i;

	for (i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
		print_message("# frame %zu\n", i);
		c = established(v6);
		want = c;
		want.cookie = TEST_COOKIE;
		so = step(INGRESS, &frames[i], &c, &in_not_tcp);
		assert_int_equal(so.n, 0);
		assert_memory_equal(&c, &want, sizeof(c));

		map_clear(tuples_fd(), sizeof(struct sp_tuple));
		c = registered();
		so = step(EGRESS, &frames[i], &c, &eg_not_tcp);
		assert_int_equal(so.n, 0);
		want = registered();
		want.cookie = so.cookie;
		assert_memory_equal(&c, &want, sizeof(c));
		assert_int_equal(map_count(tuples_fd(), sizeof(struct sp_tuple)), 0);
	}
}

static int group_setup(void **state)
{
	int err;

	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		print_error("libbpf_num_possible_cpus: %d\n", ncpus);
		return -1;
	}
	skel = conn_bpf__open_and_load();
	if (!skel) {
		print_error("conn_bpf__open_and_load: %s (root needed)\n", strerror(errno));
		return -1;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.sp_conn_events), on_event, NULL, NULL);
	if (!rb) {
		print_error("ring_buffer__new: %s\n", strerror(errno));
		return -1;
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
	if (harness_conn_fd >= 0)
		close(harness_conn_fd);
	ring_buffer__free(rb);
	conn_bpf__destroy(skel);
	return 0;
}

#define BOTH(fn)                                                                          \
	cmocka_unit_test_prestate_setup_teardown(fn, test_setup, NULL, (void *)&fam4),    \
	cmocka_unit_test_prestate_setup_teardown(fn, test_setup, NULL, (void *)&fam6)

int main(void)
{
	struct CMUnitTest tests[] = {
		BOTH(test_handshake),
		BOTH(test_probe_out_answered),
		BOTH(test_probe_out_lookalikes),
		BOTH(test_probe_in_answered),
		BOTH(test_probe_in_candidate),
		BOTH(test_fin_out_in),
		BOTH(test_payload_after_fin),
		BOTH(test_rst),
		BOTH(test_encapsulated_probe),
		BOTH(test_untracked),
		BOTH(test_not_tcp_truncated),
	};
	/* Names with the family: "test_handshake IPv4", "test_handshake IPv6". Static storage:
	 * cmocka keeps the pointers until it returns, and nothing is left to free (ASan). */
	static char names[sizeof(tests) / sizeof(tests[0])][64];
	size_t i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		snprintf(names[i], sizeof(names[i]), "%s IPv%d", tests[i].name, i % 2 ? 6 : 4);
		tests[i].name = names[i];
	}
	return _cmocka_run_group_tests("test_conn", tests, sizeof(tests) / sizeof(tests[0]),
				       group_setup, group_teardown);
}
