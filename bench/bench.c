// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench - the load generator of `make bench` (bench/run.sh drives it; not a test).
 *
 * bench run -m METHOD -c CONC -n COUNT -a ADDR -p PORT0 [-P NPORTS] [-t TIMEOUT_MS]
 *           [-i IFNAME] [-F MAX_FLOWS] [-T PER_TARGET] [-j THREADS] [-r RECORDS]
 *	Runs COUNT checks of ADDR:PORT0..PORT0+NPORTS-1 (round robin), CONC in flight: a new check
 *	starts from the completion of the last one. METHOD is
 *	  bpf      the synprobe engine (libsynprobe, method bpf), started from on_result;
 *	  plain    a half-open loop with no BPF: non-blocking connect() with TCP_QUICKACK 0 and
 *		   SO_LINGER {1, 0}, epoll, SO_ERROR and close() on EPOLLOUT (the kernel sends RST);
 *	  connect  a full connect() and close() (FIN) loop, epoll on EPOLLOUT.
 *	-i IFNAME gives the engine its interface (no route lookup per check), -F sizes its BPF
 *	maps (default: CONC), -T sets its opts.per_target_max (default 0: no cap; checks beyond it
 *	wait in the engine's queue), -j its event loops (opts.threads, default 1). -r writes
 *	"SPORT DPORT RTT_NS" per check, in completion order: the kernel RTT for bpf, connect() to
 *	EPOLLOUT for plain and connect.
 *	Prints one line of key=value: counts, wall and CPU time, RSS, BPF map memory.
 *
 * bench idle -i IFNAME
 *	Loads the engine and attaches it to IFNAME, prints "attached", and waits for SIGTERM or
 *	SIGINT with no check in flight (the programs only see other traffic).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "libsynprobe.h"

#define NSEC_PER_SEC 1000000000ULL
#define EVENTS_MAX 1024

enum method {
	M_BPF,
	M_PLAIN,
	M_CONNECT,
};

struct args {
	enum method method;
	unsigned int conc;
	unsigned long count;
	struct in_addr addr;
	unsigned int port0;
	unsigned int nports;
	unsigned int timeout_ms;
	const char *ifname;
	unsigned int max_flows;
	unsigned int per_target_max;
	unsigned int threads;
	const char *records;
};

/* Totals of a run. */
struct tally {
	unsigned long started;
	unsigned long done;
	unsigned long open, closed, timeout, error, unreachable;
	unsigned long evidence_socket;
	unsigned long first_errno;
};

/* One connection of the plain and connect loops. */
struct conn {
	int fd;
	__u16 dport;
	__u64 start_ns;
};

struct bench {
	struct args a;
	struct tally t;
	FILE *rec;
	struct synprobe *sp;
	int start_err;
	/* plain / connect */
	int epfd;
	struct conn *conns;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Busy CPU time of the whole machine (all CPUs: user, nice, system, irq, softirq), seconds. */
static double host_busy_s(void)
{
	unsigned long long v[10] = {};
	double busy = 0;
	FILE *f;
	int i;

	f = fopen("/proc/stat", "r");
	if (!f)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8)
		for (i = 0; i < 7; i++)
			if (i != 3 && i != 4) /* idle, iowait; and steal (7) is not ours either */
				busy += v[i];
	fclose(f);
	return busy / sysconf(_SC_CLK_TCK);
}

static double proc_cpu_s(double *user, double *sys)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*user = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	*sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	return *user + *sys;
}

/* A line "KEY: N kB" of /proc/self/status, in kB (0 if absent). */
static unsigned long status_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	unsigned long v = 0;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoul(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/*
 * The memory of every BPF map this process holds, as the kernel accounts it: the "memlock"
 * line of each map fd's fdinfo (what bpftool map show prints as bytes_memlock). Returns the
 * total; @hash gets that of the hash maps alone (the flow maps).
 */
static unsigned long long bpf_map_memlock(unsigned int *n_maps, unsigned long long *hash)
{
	char path[300], link[64], line[128];
	unsigned long long total = 0, memlock;
	struct dirent *de;
	unsigned int type;
	ssize_t len;
	DIR *d;
	FILE *f;

	*n_maps = 0;
	*hash = 0;
	d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		if (strcmp(link, "anon_inode:bpf-map"))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%s", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		type = 0;
		memlock = 0;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "map_type:", 9))
				type = strtoul(line + 9, NULL, 10);
			else if (!strncmp(line, "memlock:", 8))
				memlock = strtoull(line + 8, NULL, 10);
		}
		fclose(f);
		total += memlock;
		if (type == 1) /* BPF_MAP_TYPE_HASH */
			*hash += memlock;
		(*n_maps)++;
	}
	closedir(d);
	return total;
}

static void target_of(const struct bench *b, unsigned long i, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr = b->a.addr;
	sin->sin_port = htons(b->a.port0 + i % b->a.nports);
}

static void record(struct bench *b, unsigned int sport, unsigned int dport, __u64 rtt_ns)
{
	if (b->rec)
		fprintf(b->rec, "%u %u %llu\n", sport, dport, (unsigned long long)rtt_ns);
}

static void count_errno(struct bench *b, int err)
{
	b->t.error++;
	if (!b->t.first_errno)
		b->t.first_errno = err;
}

/* --- method bpf: the engine --- */

static void bpf_start_next(struct bench *b)
{
	struct sockaddr_in sin;
	int err;

	if (b->t.started >= b->a.count || b->start_err || stop)
		return;
	target_of(b, b->t.started, &sin);
	err = synprobe_start(b->sp, (struct sockaddr *)&sin, sizeof(sin), b->a.timeout_ms, NULL);
	if (err) {
		b->start_err = err;
		return;
	}
	b->t.started++;
}

static void on_result(const struct synprobe_result *res, void *ctx)
{
	const struct sockaddr_in *local = (const struct sockaddr_in *)&res->local;
	const struct sockaddr_in *dst = (const struct sockaddr_in *)&res->addr;
	struct bench *b = ctx;

	b->t.done++;
	switch (res->outcome) {
	case SYNPROBE_OPEN:
		b->t.open++;
		break;
	case SYNPROBE_CLOSED:
		b->t.closed++;
		break;
	case SYNPROBE_TIMEOUT:
		b->t.timeout++;
		break;
	case SYNPROBE_UNREACHABLE:
		b->t.unreachable++;
		break;
	case SYNPROBE_ERROR:
		count_errno(b, res->error);
		break;
	default: /* the outcomes past the handshake: bench runs no check kind */
		break;
	}
	if (res->evidence == SYNPROBE_EVIDENCE_SOCKET)
		b->t.evidence_socket++;
	/* Only the kernel's RTT: a check the BPF side did not track has a user-space one. */
	if (res->has_rtt && !res->rtt_user_space && local->sin_family == AF_INET)
		record(b, ntohs(local->sin_port), ntohs(dst->sin_port), res->rtt_ns);
	bpf_start_next(b);
}

static int bpf_open(struct bench *b)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.method = SYNPROBE_METHOD_BPF,
		.max_flows = b->a.max_flows ? b->a.max_flows : b->a.conc,
		.per_target_max = b->a.per_target_max,
		.threads = b->a.threads,
		.on_result = on_result,
		.ctx = b,
	};
	int ifindex, err;

	if (b->a.ifname) {
		ifindex = if_nametoindex(b->a.ifname);
		if (!ifindex) {
			fprintf(stderr, "Error: interface %s: %s\n", b->a.ifname, strerror(errno));
			return -ENODEV;
		}
		opts.ifindexes = &ifindex;
		opts.n_ifindexes = 1;
	}
	b->sp = synprobe_open(&opts);
	if (!b->sp) {
		err = -errno;
		fprintf(stderr, "Error: synprobe_open: %s\n", strerror(errno));
		return err;
	}
	return 0;
}

static int loop_bpf(struct bench *b)
{
	unsigned int i;
	int err;

	for (i = 0; i < b->a.conc; i++)
		bpf_start_next(b);
	while (synprobe_in_flight(b->sp) && !b->start_err) {
		err = synprobe_poll(b->sp, -1);
		if (err == -EINTR)
			continue;
		if (err < 0) {
			fprintf(stderr, "Error: synprobe_poll: %s\n", strerror(-err));
			return err;
		}
	}
	if (b->start_err) {
		fprintf(stderr, "Error: synprobe_start: %s\n", strerror(-b->start_err));
		return b->start_err;
	}
	return stop ? -EINTR : 0;
}

/* --- methods plain and connect: our own epoll loop --- */

/* Starts the next check in slot @i; a check that fails at once is counted and replaced. */
static void sock_start_next(struct bench *b, unsigned int i)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = i };
	struct conn *c = &b->conns[i];
	struct sockaddr_in sin;
	int zero = 0;

	while (b->t.started < b->a.count && !stop) {
		target_of(b, b->t.started, &sin);
		b->t.started++;
		c->dport = ntohs(sin.sin_port);
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		if (c->fd < 0)
			goto failed;
		if (b->a.method == M_PLAIN &&
		    (setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero)) ||
		     setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger))))
			goto failed;
		c->start_ns = now_ns();
		if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) && errno != EINPROGRESS)
			goto failed;
		if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev))
			goto failed;
		return;
failed:
		count_errno(b, errno);
		b->t.done++;
		if (c->fd >= 0)
			close(c->fd);
	}
	c->fd = -1;
}

static void sock_finish(struct bench *b, unsigned int i, __u64 now)
{
	struct conn *c = &b->conns[i];
	struct sockaddr_in local;
	socklen_t len = sizeof(int);
	int soerr = 0;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
	if (!soerr) {
		b->t.open++;
		if (b->rec) {
			len = sizeof(local);
			if (!getsockname(c->fd, (struct sockaddr *)&local, &len))
				record(b, ntohs(local.sin_port), c->dport, now - c->start_ns);
		}
	} else if (soerr == ECONNREFUSED) {
		b->t.closed++;
	} else {
		count_errno(b, soerr);
	}
	close(c->fd);
	c->fd = -1;
	b->t.done++;
}

/* Ends the checks older than the timeout (nothing came: no reply at all). */
static void sock_expire(struct bench *b)
{
	__u64 now = now_ns(), limit = (__u64)b->a.timeout_ms * 1000000ULL;
	unsigned int i;

	for (i = 0; i < b->a.conc; i++) {
		if (b->conns[i].fd < 0 || now - b->conns[i].start_ns < limit)
			continue;
		close(b->conns[i].fd);
		b->conns[i].fd = -1;
		b->t.timeout++;
		b->t.done++;
		sock_start_next(b, i);
	}
}

static int sock_open(struct bench *b)
{
	unsigned int i;

	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0)
		return -errno;
	b->conns = calloc(b->a.conc, sizeof(*b->conns));
	if (!b->conns)
		return -ENOMEM;
	for (i = 0; i < b->a.conc; i++)
		b->conns[i].fd = -1;
	return 0;
}

static int loop_sock(struct bench *b)
{
	struct epoll_event events[EVENTS_MAX];
	unsigned int i;
	int n, k;
	__u64 now;

	for (i = 0; i < b->a.conc; i++)
		sock_start_next(b, i);
	while (b->t.done < b->t.started && !stop) {
		n = epoll_wait(b->epfd, events, EVENTS_MAX, 100);
		if (n < 0 && errno != EINTR)
			return -errno;
		now = now_ns();
		for (k = 0; k < n; k++) {
			i = events[k].data.u32;
			sock_finish(b, i, now);
			sock_start_next(b, i);
		}
		if (n <= 0)
			sock_expire(b);
	}
	return stop ? -EINTR : 0;
}

/* --- main --- */

static int parse_ul(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *out > max)
		return -1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: bench run -m bpf|plain|connect -c CONC -n COUNT -a ADDR -p PORT0 [-P NPORTS]\n"
		   "                 [-t TIMEOUT_MS] [-i IFNAME] [-F MAX_FLOWS] [-T PER_TARGET] [-j THREADS]\n"
		   "                 [-r RECORDS]\n"
		   "       bench idle -i IFNAME\n");
}

static int parse_args(int argc, char **argv, struct args *a)
{
	unsigned long v;
	int opt;

	a->nports = 1;
	a->timeout_ms = 2000;
	while ((opt = getopt(argc, argv, "m:c:n:a:p:P:t:i:F:T:j:r:h")) != -1) {
		switch (opt) {
		case 'm':
			if (!strcmp(optarg, "bpf"))
				a->method = M_BPF;
			else if (!strcmp(optarg, "plain"))
				a->method = M_PLAIN;
			else if (!strcmp(optarg, "connect"))
				a->method = M_CONNECT;
			else
				goto bad;
			break;
		case 'c':
			if (parse_ul(optarg, 1000000, &v) || !v)
				goto bad;
			a->conc = v;
			break;
		case 'n':
			if (parse_ul(optarg, 1000000000, &v))
				goto bad;
			a->count = v;
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &a->addr) != 1)
				goto bad;
			break;
		case 'p':
			if (parse_ul(optarg, 65535, &v) || !v)
				goto bad;
			a->port0 = v;
			break;
		case 'P':
			if (parse_ul(optarg, 65535, &v) || !v)
				goto bad;
			a->nports = v;
			break;
		case 't':
			if (parse_ul(optarg, 3600000, &v) || !v)
				goto bad;
			a->timeout_ms = v;
			break;
		case 'i':
			a->ifname = optarg;
			break;
		case 'F':
			if (parse_ul(optarg, 1 << 24, &v))
				goto bad;
			a->max_flows = v;
			break;
		case 'T':
			if (parse_ul(optarg, 1 << 24, &v))
				goto bad;
			a->per_target_max = v;
			break;
		case 'j':
			if (parse_ul(optarg, SP_MAX_LOOPS, &v) || !v)
				goto bad;
			a->threads = v;
			break;
		case 'r':
			a->records = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	return 0;
bad:
	fprintf(stderr, "Error: bad option -%c '%s'\n", opt, optarg ? optarg : "");
	usage(stderr);
	return -EINVAL;
}

static int cmd_idle(struct args *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench b = { .a = *a };
	int err;

	if (!a->ifname) {
		fprintf(stderr, "Error: idle needs -i IFNAME\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	b.a.conc = 1;
	err = bpf_open(&b);
	if (err)
		return 1;
	printf("attached\n");
	fflush(stdout);
	while (!stop) {
		err = synprobe_poll(b.sp, 1000);
		if (err < 0 && err != -EINTR)
			break;
	}
	synprobe_close(b.sp);
	return 0;
}

static int cmd_run(struct args *a)
{
	static const char *const names[] = { "bpf", "plain", "connect" };
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench b = { .a = *a, .epfd = -1 };
	double u0, s0, u1, s1, host0, host1, wall;
	unsigned long long memlock = 0, memlock_hash = 0;
	struct sp_stats st = {};
	unsigned long rss_base, rss_end, rss_peak;
	unsigned int n_maps = 0, i;
	__u64 t0, t1;
	int err, ret = 1;

	if (!a->conc || !a->count || !a->port0 || !a->addr.s_addr) {
		fprintf(stderr, "Error: run needs -m, -c, -n, -a and -p\n");
		usage(stderr);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (a->records) {
		b.rec = fopen(a->records, "w");
		if (!b.rec) {
			fprintf(stderr, "Error: %s: %s\n", a->records, strerror(errno));
			return 1;
		}
	}
	err = a->method == M_BPF ? bpf_open(&b) : sock_open(&b);
	if (err)
		goto cleanup;
	rss_base = status_kb("VmRSS");

	proc_cpu_s(&u0, &s0);
	host0 = host_busy_s();
	t0 = now_ns();
	err = a->method == M_BPF ? loop_bpf(&b) : loop_sock(&b);
	t1 = now_ns();
	host1 = host_busy_s();
	proc_cpu_s(&u1, &s1);
	if (err)
		goto cleanup;

	if (b.sp)
		synprobe_read_stats(b.sp, &st, sizeof(st));
	rss_end = status_kb("VmRSS");
	rss_peak = status_kb("VmHWM");
	if (b.sp)
		memlock = bpf_map_memlock(&n_maps, &memlock_hash);
	wall = (t1 - t0) / 1e9;
	printf("method=%s conc=%u checks=%lu open=%lu closed=%lu timeout=%lu error=%lu "
	       "unreachable=%lu evidence_socket=%lu first_errno=%lu wall_s=%.4f checks_per_s=%.1f "
	       "user_s=%.3f sys_s=%.3f host_cpu_s=%.2f rss_base_kb=%lu rss_end_kb=%lu rss_peak_kb=%lu "
	       "bpf_maps=%u bpf_memlock=%llu bpf_memlock_hash=%llu max_flows=%u ringbuf_full=%llu "
	       "flows_full=%llu acks_dropped=%llu syn_retransmits=%llu per_target_max=%u threads=%u\n",
	       names[a->method], a->conc, b.t.done, b.t.open, b.t.closed, b.t.timeout, b.t.error,
	       b.t.unreachable, b.t.evidence_socket, b.t.first_errno, wall, b.t.done / wall,
	       u1 - u0, s1 - s0, host1 - host0, rss_base, rss_end, rss_peak, n_maps, memlock, memlock_hash,
	       a->method == M_BPF ? (a->max_flows ? a->max_flows : a->conc) : 0,
	       (unsigned long long)st.in_ringbuf_full, (unsigned long long)st.eg_flows_full,
	       (unsigned long long)st.eg_ack_dropped, (unsigned long long)st.eg_syn_retransmits,
	       a->method == M_BPF ? a->per_target_max : 0, a->method == M_BPF ? (a->threads ? a->threads : 1) : 1);
	ret = 0;
cleanup:
	if (b.sp) {
		unsigned int socks = 0, flows = 0;

		if (!synprobe_count_flows(b.sp, &socks, &flows) && (socks || flows))
			fprintf(stderr, "bench: flows left in the maps: sp_socks %u sp_flows %u\n",
				socks, flows);
		synprobe_close(b.sp);
	}
	if (b.conns) {
		for (i = 0; i < a->conc; i++)
			if (b.conns[i].fd >= 0)
				close(b.conns[i].fd);
		free(b.conns);
	}
	if (b.epfd >= 0)
		close(b.epfd);
	if (b.rec)
		fclose(b.rec);
	return ret;
}

int main(int argc, char **argv)
{
	struct args a = {};
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (parse_args(argc - 1, argv + 1, &a))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "run"))
		return cmd_run(&a);
	if (!strcmp(cmd, "idle"))
		return cmd_idle(&a);
	usage(stderr);
	return 2;
}
