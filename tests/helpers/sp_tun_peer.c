// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sp_tun_peer - test helper: the far end of an L3 link, behind a tun device (IFF_TUN | IFF_NO_PI).
 *
 * Usage: sp_tun_peer [-m MSS] IFNAME OPEN CLOSED FILTERED
 * Creates the tun device IFNAME in the network namespace it runs in and answers, for IPv4 and
 * IPv6 and whatever the destination address, each TCP SYN to port
 *   OPEN      with a SYN-ACK (ack = ISN + 1; options MSS (-m, default 1380), and SACK-permitted,
 *             timestamps and window scale 7 where the SYN offered them),
 *   CLOSED    with RST+ACK (seq 0, ack = ISN + 1),
 *   FILTERED  with nothing.
 * Packets to other ports, and what is not TCP (router solicitations, MLD), are counted and
 * ignored. Checksums are computed as a real stack would.
 *
 * Prints "ready IFNAME" once the device exists (the caller then gives it addresses and routes),
 * then one line per TCP packet, received ("in") or sent ("out"), flags as tcpdump writes them:
 *   in S 10.78.0.1 40000 10.78.1.2 8080
 *   out S. 10.78.1.2 8080 10.78.0.1 40000
 * On SIGUSR1 (and goes on) and on SIGTERM or SIGINT (and exits 0), the counts:
 *   counts syn=N synack=N rst_sent=N filtered=N ack=N rst=N rst_bad=N data=N other=N
 * ack:     pure ACKs received, the handshake-completing ACK that synprobe must never let out;
 * rst:     RSTs received that acknowledge our SYN-ACK (ack = our ISN + 1): the check's abort;
 * rst_bad: any other RST received;
 * data:    other TCP segments received (payload, FIN, ...); other: non-TCP or unparsable packets.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

#define PKT_MAX 65536
#define TCPOPT_LEN_MAX 40

static volatile sig_atomic_t stop, report;

static struct {
	unsigned long syn, synack, rst_sent, filtered, ack, rst, rst_bad, data, other;
} cnt;

static uint16_t port_open, port_closed, port_filtered, mss = 1380;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static void print_counts(void)
{
	printf("counts syn=%lu synack=%lu rst_sent=%lu filtered=%lu ack=%lu rst=%lu rst_bad=%lu data=%lu other=%lu\n",
	       cnt.syn, cnt.synack, cnt.rst_sent, cnt.filtered, cnt.ack, cnt.rst, cnt.rst_bad,
	       cnt.data, cnt.other);
	fflush(stdout);
}

/* The one's-complement sum of @len bytes, added to @sum (not folded). */
static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 1) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Our ISN for a flow: fixed by its ports, so a retransmitted SYN gets the same SYN-ACK. */
static uint32_t our_isn(uint16_t sport, uint16_t dport)
{
	return 0x5e000000u ^ ((uint32_t)sport << 12) ^ dport;
}

/* tcpdump's way of writing TCP flags: S, S., R., ., P., F. ... */
static const char *flag_str(uint8_t f, char *buf)
{
	char *p = buf;

	if (f & TH_FIN)
		*p++ = 'F';
	if (f & TH_SYN)
		*p++ = 'S';
	if (f & TH_RST)
		*p++ = 'R';
	if (f & TH_PUSH)
		*p++ = 'P';
	if (f & TH_ACK)
		*p++ = '.';
	if (p == buf)
		*p++ = 'N';
	*p = '\0';
	return buf;
}

/* The parts of a received packet the answer needs. */
struct seg {
	int family;
	uint8_t saddr[16], daddr[16];
	const struct tcphdr *tcp;
	size_t tcp_len; /* header and payload */
	uint8_t ttl;
};

static void log_pkt(const char *dir, int family, const uint8_t *saddr, const uint8_t *daddr,
		    const struct tcphdr *tcp)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN], f[8];

	inet_ntop(family, saddr, s, sizeof(s));
	inet_ntop(family, daddr, d, sizeof(d));
	printf("%s %s %s %u %s %u\n", dir, flag_str(tcp->th_flags, f), s, ntohs(tcp->th_sport), d,
	       ntohs(tcp->th_dport));
}

/* The SYN's options: which of SACK-permitted, timestamps (with its TSval) and wscale it offers. */
struct syn_opts {
	int sack_ok, ts, ws;
	uint32_t tsval;
};

static void parse_syn_opts(const struct tcphdr *tcp, struct syn_opts *o)
{
	const uint8_t *p = (const uint8_t *)(tcp + 1), *end = (const uint8_t *)tcp + tcp->th_off * 4;

	memset(o, 0, sizeof(*o));
	while (p < end) {
		if (*p == TCPOPT_EOL)
			break;
		if (*p == TCPOPT_NOP) {
			p++;
			continue;
		}
		if (p + 2 > end || p[1] < 2 || p + p[1] > end)
			break;
		if (p[0] == TCPOPT_SACK_PERMITTED)
			o->sack_ok = 1;
		else if (p[0] == TCPOPT_WINDOW)
			o->ws = 1;
		else if (p[0] == TCPOPT_TIMESTAMP && p[1] == TCPOLEN_TIMESTAMP) {
			o->ts = 1;
			memcpy(&o->tsval, p + 2, 4);
		}
		p += p[1];
	}
}

/*
 * Sends a TCP segment from @in's destination to its source: @flags, @seq, @ack, and for a SYN-ACK
 * the options the SYN offered. Builds the IP header, the TCP header and both checksums.
 */
static int send_reply(int fd, const struct seg *in, uint8_t flags, uint32_t seq, uint32_t ack,
		      const struct syn_opts *so)
{
	uint8_t pkt[128] = {}, opts[TCPOPT_LEN_MAX] = {};
	size_t ip_len = in->family == AF_INET ? sizeof(struct iphdr) : sizeof(struct ip6_hdr);
	size_t opt_len = 0, tcp_len;
	struct tcphdr *tcp = (struct tcphdr *)(pkt + ip_len);
	uint32_t sum;
	ssize_t n;

	if (so) {
		/* As Linux orders them: MSS, SACK-permitted, timestamps, NOP, window scale. */
		opts[opt_len++] = TCPOPT_MAXSEG;
		opts[opt_len++] = TCPOLEN_MAXSEG;
		opts[opt_len++] = mss >> 8;
		opts[opt_len++] = mss & 0xff;
		if (so->sack_ok && !so->ts) {
			opts[opt_len++] = TCPOPT_NOP;
			opts[opt_len++] = TCPOPT_NOP;
		}
		if (so->sack_ok) {
			opts[opt_len++] = TCPOPT_SACK_PERMITTED;
			opts[opt_len++] = TCPOLEN_SACK_PERMITTED;
		}
		if (so->ts) {
			uint32_t tsval = htonl(0x01020304), tsecr = so->tsval;

			if (!so->sack_ok) {
				opts[opt_len++] = TCPOPT_NOP;
				opts[opt_len++] = TCPOPT_NOP;
			}
			opts[opt_len++] = TCPOPT_TIMESTAMP;
			opts[opt_len++] = TCPOLEN_TIMESTAMP;
			memcpy(opts + opt_len, &tsval, 4);
			memcpy(opts + opt_len + 4, &tsecr, 4);
			opt_len += 8;
		}
		if (so->ws) {
			opts[opt_len++] = TCPOPT_NOP;
			opts[opt_len++] = TCPOPT_WINDOW;
			opts[opt_len++] = TCPOLEN_WINDOW;
			opts[opt_len++] = 7;
		}
		while (opt_len % 4)
			opts[opt_len++] = TCPOPT_EOL;
	}
	tcp_len = sizeof(*tcp) + opt_len;
	tcp->th_sport = in->tcp->th_dport;
	tcp->th_dport = in->tcp->th_sport;
	tcp->th_seq = htonl(seq);
	tcp->th_ack = htonl(ack);
	tcp->th_off = tcp_len / 4;
	tcp->th_flags = flags;
	tcp->th_win = htons(flags & TH_RST ? 0 : 64240);
	memcpy(tcp + 1, opts, opt_len);

	if (in->family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)pkt;
		uint8_t pseudo[12];

		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons(ip_len + tcp_len);
		ip->frag_off = htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_TCP;
		memcpy(&ip->saddr, in->daddr, 4);
		memcpy(&ip->daddr, in->saddr, 4);
		ip->check = csum_fold(csum_add(0, ip, ip_len));
		memcpy(pseudo, in->daddr, 4);
		memcpy(pseudo + 4, in->saddr, 4);
		pseudo[8] = 0;
		pseudo[9] = IPPROTO_TCP;
		pseudo[10] = tcp_len >> 8;
		pseudo[11] = tcp_len & 0xff;
		sum = csum_add(0, pseudo, sizeof(pseudo));
	} else {
		struct ip6_hdr *ip6 = (struct ip6_hdr *)pkt;
		uint8_t pseudo[40] = {};

		ip6->ip6_flow = htonl(6u << 28);
		ip6->ip6_plen = htons(tcp_len);
		ip6->ip6_nxt = IPPROTO_TCP;
		ip6->ip6_hlim = 64;
		memcpy(&ip6->ip6_src, in->daddr, 16);
		memcpy(&ip6->ip6_dst, in->saddr, 16);
		memcpy(pseudo, in->daddr, 16);
		memcpy(pseudo + 16, in->saddr, 16);
		pseudo[34] = tcp_len >> 8;
		pseudo[35] = tcp_len & 0xff;
		pseudo[39] = IPPROTO_TCP;
		sum = csum_add(0, pseudo, sizeof(pseudo));
	}
	tcp->th_sum = csum_fold(csum_add(sum, tcp, tcp_len));

	log_pkt("out", in->family, in->daddr, in->saddr, tcp);
	n = write(fd, pkt, ip_len + tcp_len);
	if (n != (ssize_t)(ip_len + tcp_len)) {
		fprintf(stderr, "sp_tun_peer: write: %s\n", n < 0 ? strerror(errno) : "short");
		return -1;
	}
	return 0;
}

/* Finds the TCP header of an IPv4 or IPv6 packet (no IPv6 extension headers); 0 or -1. */
static int parse(const uint8_t *buf, size_t len, struct seg *s)
{
	memset(s, 0, sizeof(*s));
	if (len >= sizeof(struct iphdr) && buf[0] >> 4 == 4) {
		const struct iphdr *ip = (const struct iphdr *)buf;
		size_t hl = ip->ihl * 4, tot = ntohs(ip->tot_len);

		if (hl < sizeof(*ip) || tot > len || tot < hl || ip->protocol != IPPROTO_TCP ||
		    (ntohs(ip->frag_off) & (IP_MF | IP_OFFMASK)))
			return -1;
		s->family = AF_INET;
		memcpy(s->saddr, &ip->saddr, 4);
		memcpy(s->daddr, &ip->daddr, 4);
		s->tcp = (const struct tcphdr *)(buf + hl);
		s->tcp_len = tot - hl;
	} else if (len >= sizeof(struct ip6_hdr) && buf[0] >> 4 == 6) {
		const struct ip6_hdr *ip6 = (const struct ip6_hdr *)buf;
		size_t plen = ntohs(ip6->ip6_plen);

		if (ip6->ip6_nxt != IPPROTO_TCP || sizeof(*ip6) + plen > len)
			return -1;
		s->family = AF_INET6;
		memcpy(s->saddr, &ip6->ip6_src, 16);
		memcpy(s->daddr, &ip6->ip6_dst, 16);
		s->tcp = (const struct tcphdr *)(ip6 + 1);
		s->tcp_len = plen;
	} else {
		return -1;
	}
	if (s->tcp_len < sizeof(struct tcphdr) || s->tcp->th_off * 4u < sizeof(struct tcphdr) ||
	    s->tcp->th_off * 4u > s->tcp_len)
		return -1;
	return 0;
}

static void handle(int fd, const uint8_t *buf, size_t len)
{
	const struct tcphdr *tcp;
	struct syn_opts so;
	uint16_t sport, dport;
	uint8_t flags;
	struct seg s;

	if (parse(buf, len, &s)) {
		cnt.other++;
		return;
	}
	tcp = s.tcp;
	log_pkt("in", s.family, s.saddr, s.daddr, tcp);
	flags = tcp->th_flags & (TH_SYN | TH_ACK | TH_RST | TH_FIN);
	sport = ntohs(tcp->th_sport);
	dport = ntohs(tcp->th_dport);

	if (flags == TH_SYN) {
		cnt.syn++;
		if (dport == port_open) {
			parse_syn_opts(tcp, &so);
			if (!send_reply(fd, &s, TH_SYN | TH_ACK, our_isn(sport, dport),
					ntohl(tcp->th_seq) + 1, &so))
				cnt.synack++;
		} else if (dport == port_closed) {
			if (!send_reply(fd, &s, TH_RST | TH_ACK, 0, ntohl(tcp->th_seq) + 1, NULL))
				cnt.rst_sent++;
		} else if (dport == port_filtered) {
			cnt.filtered++;
		} else {
			cnt.other++;
		}
	} else if (flags & TH_RST) {
		if (dport == port_open && (flags & TH_ACK) &&
		    ntohl(tcp->th_ack) == our_isn(sport, dport) + 1)
			cnt.rst++;
		else
			cnt.rst_bad++;
	} else if (flags == TH_ACK && s.tcp_len == tcp->th_off * 4u) {
		cnt.ack++;
	} else {
		cnt.data++;
	}
	fflush(stdout);
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: sp_tun_peer [-m MSS] IFNAME OPEN CLOSED FILTERED\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static uint8_t buf[PKT_MAX];
	sigset_t block, none;
	struct pollfd pfd;
	struct ifreq ifr = {};
	int fd, opt;
	ssize_t n;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		if (opt != 'm' || parse_port(optarg, &mss))
			usage();
	}
	if (argc - optind != 4 || strlen(argv[optind]) >= IFNAMSIZ ||
	    parse_port(argv[optind + 1], &port_open) || parse_port(argv[optind + 2], &port_closed) ||
	    parse_port(argv[optind + 3], &port_filtered))
		usage();

	/* The signals are only let in while ppoll() waits: none is missed between test and wait. */
	sigemptyset(&none);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "sp_tun_peer: /dev/net/tun: %s\n", strerror(errno));
		return 1;
	}
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strcpy(ifr.ifr_name, argv[optind]);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		fprintf(stderr, "sp_tun_peer: TUNSETIFF %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	printf("ready %s\n", ifr.ifr_name);
	fflush(stdout);

	while (!stop) {
		if (report) {
			report = 0;
			print_counts();
		}
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		if (ppoll(&pfd, 1, NULL, &none) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "sp_tun_peer: ppoll: %s\n", strerror(errno));
			return 1;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			handle(fd, buf, n);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "sp_tun_peer: read: %s\n", strerror(errno));
			return 1;
		}
	}
	print_counts();
	close(fd);
	return 0;
}
