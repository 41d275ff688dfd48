// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sp_delay - test helper: delays every packet of an NFQUEUE by a fixed time.
 *
 * Usage: sp_delay -q QUEUE_NUM -d DELAY_MS
 * Binds to netfilter queue QUEUE_NUM, holds each packet DELAY_MS (CLOCK_MONOTONIC, from when it
 * is read from the queue) and then accepts it, in the order the packets came. Prints "ready" on
 * stdout once bound. On SIGTERM or SIGINT it accepts what it still holds, unbinds and exits 0.
 * Feed it with e.g. `iptables -A INPUT -p tcp --dport 8080 -j NFQUEUE --queue-num 7`; the kernel
 * has no netem, this stands in for `tc qdisc ... netem delay`.
 *
 * One thread: ppoll() on the queue's socket, with the time-out set by the oldest packet held. It
 * asks for SCHED_FIFO so that a busy machine does not add its scheduling delays to the packets'.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/types.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#define HELD_MAX 4096 /* also the kernel queue's length: the FIFO cannot overflow */
#define DELAY_MS_MAX 60000

struct held {
	__u32 id;     /* packet id, host order */
	__u64 due_ns; /* CLOCK_MONOTONIC time of its verdict */
};

static struct held fifo[HELD_MAX];
static unsigned int head, count;
static __u64 delay_ns;
static unsigned long dropped_full;
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	__u32 id;

	if (!ph)
		return 0;
	id = ntohl(ph->packet_id);
	if (count == HELD_MAX) {
		/* Not expected: the kernel queue is no longer than the FIFO. */
		dropped_full++;
		return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
	}
	fifo[(head + count) % HELD_MAX] = (struct held){ .id = id, .due_ns = now_ns() + delay_ns };
	count++;
	return 0;
}

/* Accepts every held packet that is due (all of them with @all); returns 0 or -1. */
static int release(struct nfq_q_handle *qh, bool all)
{
	__u64 now = now_ns();

	while (count && (all || fifo[head].due_ns <= now)) {
		if (nfq_set_verdict(qh, fifo[head].id, NF_ACCEPT, 0, NULL) < 0) {
			fprintf(stderr, "sp_delay: verdict for packet %u: %s\n", fifo[head].id,
				strerror(errno));
			return -1;
		}
		head = (head + 1) % HELD_MAX;
		count--;
	}
	return 0;
}

static int parse_num(const char *arg, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || *out > max)
		return -1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: sp_delay -q QUEUE_NUM -d DELAY_MS\n"
		   "Holds each packet of netfilter queue QUEUE_NUM (0-65535) DELAY_MS ms (0-%d),\n"
		   "then accepts it. Prints \"ready\" once bound; SIGTERM or SIGINT ends it.\n",
		DELAY_MS_MAX);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	unsigned long queue_num = ULONG_MAX, delay_ms = ULONG_MAX;
	struct nfq_q_handle *qh = NULL;
	struct nfq_handle *h = NULL;
	sigset_t block, orig;
	struct timespec ts;
	struct pollfd pfd;
	char buf[65536];
	int opt, fd, n, err = 1;
	__u64 now;

	while ((opt = getopt(argc, argv, ":q:d:h")) != -1) {
		switch (opt) {
		case 'q':
			if (parse_num(optarg, 65535, &queue_num)) {
				fprintf(stderr, "sp_delay: queue number '%s': give 0 to 65535\n",
					optarg);
				return 2;
			}
			break;
		case 'd':
			if (parse_num(optarg, DELAY_MS_MAX, &delay_ms)) {
				fprintf(stderr, "sp_delay: delay '%s': give 0 to %d (ms)\n", optarg,
					DELAY_MS_MAX);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "sp_delay: option -%c needs a value\n", optopt);
			usage(stderr);
			return 2;
		default:
			fprintf(stderr, "sp_delay: unknown option -%c\n", optopt);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sp_delay: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (queue_num == ULONG_MAX || delay_ms == ULONG_MAX) {
		fprintf(stderr, "sp_delay: -q and -d are both required\n");
		usage(stderr);
		return 2;
	}
	delay_ns = (__u64)delay_ms * 1000000ULL;

	if (sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 10 }))
		fprintf(stderr, "sp_delay: warning: no SCHED_FIFO (%s): delays may run late\n",
			strerror(errno));

	/* The signals are only taken inside ppoll(): no race between the check and the wait. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	h = nfq_open();
	if (!h) {
		fprintf(stderr, "sp_delay: nfq_open: %s (root or CAP_NET_ADMIN needed)\n",
			strerror(errno));
		goto cleanup;
	}
	qh = nfq_create_queue(h, (__u16)queue_num, on_packet, NULL);
	if (!qh) {
		fprintf(stderr, "sp_delay: cannot bind to queue %lu: %s (another program bound?)\n",
			queue_num, strerror(errno));
		goto cleanup;
	}
	if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, HELD_MAX) < 0) {
		fprintf(stderr, "sp_delay: cannot set up queue %lu: %s\n", queue_num,
			strerror(errno));
		goto cleanup;
	}
	fd = nfq_fd(h);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	printf("ready\n");
	fflush(stdout);

	while (!stop) {
		if (count) {
			now = now_ns();
			now = fifo[head].due_ns > now ? fifo[head].due_ns - now : 0;
			ts.tv_sec = now / 1000000000ULL;
			ts.tv_nsec = now % 1000000000ULL;
		}
		n = ppoll(&pfd, 1, count ? &ts : NULL, &orig);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "sp_delay: ppoll: %s\n", strerror(errno));
			goto cleanup;
		}
		if (n > 0 && (pfd.revents & POLLIN)) {
			/* Drain the socket: every packet read is stamped as it arrives. */
			while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				nfq_handle_packet(h, buf, n);
			if (n < 0 && errno == ENOBUFS)
				fprintf(stderr, "sp_delay: socket buffer overrun: packets lost\n");
		}
		if (release(qh, false))
			goto cleanup;
	}
	err = 0;

cleanup:
	if (qh) {
		release(qh, true);
		nfq_destroy_queue(qh);
	}
	if (h)
		nfq_close(h);
	if (dropped_full)
		fprintf(stderr, "sp_delay: %lu packets accepted undelayed (FIFO full)\n",
			dropped_full);
	return err;
}
