// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cmd_check.c - `synprobe check`: a thin client of the engine (libsynprobe.h). */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include "libsynprobe.h"
#include "kind.h"
#include "check_kind.h"
#include "main.h"
#include "output.h"
#include "resolver.h"
#include "target.h"
#include "targets_file.h"
#include "targets_stream.h"
#include "util.h"

#define ADDRS_PER_TARGET_MAX 16
#define IFACES_MAX 32
#define DEFAULT_CONCURRENCY 1024
/*
 * Checks in flight to one address and port. A listener's SYN queue holds its listen() backlog
 * (often 128) before SYN cookies and "Possible SYN flooding" start; 32 stays well below.
 */
#define DEFAULT_PER_TARGET 32

/*
 * -f streams: lines read ahead of the event loop (a thread reads them), lines resolved or being
 * resolved ahead of a free slot, name lookups at once (resolver threads), and how often the
 * progress line is redrawn. Memory follows these and -c, not the file's length.
 */
#define STREAM_READ_AHEAD 1024
#define STREAM_START_AHEAD 512
#define STREAM_RESOLVERS 32
#define PROGRESS_INTERVAL_MS 250
/* Wakes the event loop when the reader or a resolver thread has something for it. */
#define WAKE_SIGNAL SIGUSR1

/* -f: one line of the file while its checks run; freed with its last result. */
struct stream_line {
	char *text;		  /* the target as written */
	unsigned int line;
	unsigned int pending;	  /* checks started and not delivered yet */
	struct stream_line *next; /* the ready list: resolved, waiting for a free slot */
	struct stream_line *live_prev, *live_next; /* every line held, for the clean-up */
	union sp_kind_arg_buf kind_arg; /* a completing kind's argument (check_kind.h) */
	char host[SP_HOST_MAX];
	int n_addrs;
	struct sp_address addrs[]; /* n_addrs, once resolved */
};

/* One address of one target: a check. */
struct job {
	const char *target; /* argv entry, as the user wrote it */
	struct sp_address addr;
	struct synprobe_result res;
	struct sp_flow flow; /* copy of res.flow, which is only valid in the callback */
	bool done;
	/* a completing kind (--tls, --send...): its argument for this check, a copy of its result */
	union sp_kind_arg_buf kind_arg;
	char host[SP_HOST_MAX];
	union sp_kind_result_buf kind_result;
	char detail[512];
};

struct check_args {
	enum method_choice method;
	const char *file; /* -f: targets from this file ("-": stdin); results stream out */
	__u32 concurrency;
	__u32 per_target;
	__u32 rate_per_sec;
	__u32 map_size;
	unsigned int threads;
	struct sockaddr_storage source;
	__u32 timeout_ms;
	__u16 port;
	int family;
	bool all_addresses;
	bool quiet;
	bool force_clsact;
	__u32 close_delay_ms;
	int ifindexes[IFACES_MAX];
	size_t n_ifindexes;
	__u32 mark;
	int bind_ifindex;
	struct sp_kind_cli kinds; /* the completing kinds' options (--tls, --send...) */
};

/* What on_result needs: where results go, and the counts for the summary. */
struct run_ctx {
	bool stream; /* print each result as it completes (-f) instead of at the end */
	bool quiet;
	const char *method;
	int target_w, addr_w;
	unsigned long outcomes[SYNPROBE_OUTCOMES];
	unsigned long socket_evidence;
	/* -f only */
	unsigned long lines_done;  /* lines whose every check is in (bad lines too) */
	unsigned long bad_lines;
	bool progress;		   /* draw the status line (stderr is a terminal, no -q) */
	bool progress_shown;	   /* it is on the screen now */
	bool stdout_tty;
	struct stream_line *live; /* every line held (resolving, ready or in flight) */
};

static volatile sig_atomic_t exiting;
/* The mask synprobe_poll() waits with: SIGINT and SIGTERM are blocked everywhere else. */
static sigset_t wait_mask;

static void sig_handler(int sig)
{
	exiting = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: synprobe check [OPTIONS] TARGET...\n"
		"\n"
		"Half-open TCP check: SYN out, SYN-ACK or RST back, then RST. The target's accept()\n"
		"never returns. The RTT is measured by tc BPF programs, first SYN out to reply in.\n"
		"TARGET is host:port, [ipv6]:port, or host (or an IPv6 address) with -p PORT.\n"
		"All targets are checked at once. Needs root (CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON).\n"
		"\n"
		"Options:\n"
		"  -p, --port PORT        port for targets written without one\n"
		"  -4, --ipv4             resolve names to IPv4 only\n"
		"  -6, --ipv6             resolve names to IPv6 only\n"
		"  -A, --all-addresses    check every address a name resolves to (default: the first)\n"
		"  -f, --file FILE        targets from FILE, one a line, '#' comments ('-': stdin,\n"
		"                         which may be endless); read, resolved and started as slots\n"
		"                         free up; results are printed as they complete, then a\n"
		"                         summary; a name that does not resolve, an error result;\n"
		"                         a bad line is reported, skipped, and makes the exit 2;\n"
		"                         on a terminal, a progress line on stderr\n"
		"  -c, --concurrency N    checks in flight at once (default 1024)\n"
		"      --per-target N     checks in flight to one address and port (default 32, below\n"
		"                         the SYN-flood defence of a listener with a backlog of 128)\n"
		"      --rate R           new SYNs per second at most (default: no limit)\n"
		"      --source ADDR      send from this local address\n"
		"      --mark N           SO_MARK on every check's socket, for policy routing\n"
		"                         ('ip rule fwmark N') and tc programs (root or CAP_NET_ADMIN)\n"
		"      --bind-interface IF  leave by interface IF (SO_BINDTODEVICE); a VRF device\n"
		"                         checks inside that VRF\n"
		"      --threads N        event loops, each with its own sockets (default: one per\n"
		"                         online CPU); the limits above stay global\n"
		"      --map-size N       checks the BPF maps can follow at once (default: the\n"
		"                         concurrency, or the targets if fewer (-f: within the\n"
		"                         first 1024 lines), at least 64); the\n"
		"                         rest are answered from their socket (evidence socket)\n"
		"  -t, --timeout DUR      how long to wait for a reply (default 1s); DUR takes a unit,\n"
		"                         250ms, 2s, 1m; a bare number is seconds\n"
		"  -i, --interface IF     attach to IF (repeat or comma-separate); default: the\n"
		"                         interfaces the routes to the targets leave by ('lo' if local)\n"
		"      --clsact           attach through a clsact qdisc even where TCX links exist\n"
		"  -m, --method METHOD    bpf: half-open, kernel RTT (needs root); connect: a full\n"
		"                         connect() and close(), RTT timed in user space, no privileges\n"
		"                         (the target's accept() returns); auto (default): bpf, or\n"
		"                         connect with a warning when BPF cannot be loaded\n"
		"  -j, --json             JSON Lines: one object per check\n"
		"  -q, --quiet            print nothing; the exit status says it\n"
		"  -v, --verbose          evidence per check, libbpf's warnings, BPF counters;\n"
		"                         -vv adds libbpf's debug log\n"
		"  -h, --help             this text\n"
		"  -V, --version          print the version\n"
		);
	sp_kind_cli_usage(f);
	fprintf(f,
		"Testing:\n"
		"      --test-close-delay DUR  keep each socket open DUR after its reply\n"
		"\n"
		"Exit status: 0 if every target is open, 1 if any is not, 2 for usage or set-up errors.\n"
		"\n"
		"Examples:\n"
		"  synprobe check 10.0.0.5:22                   one target\n"
		"  synprobe check -p 443 example.org [2001:db8::1]:443\n"
		"  synprobe check -t 300ms --json db1:5432 db2:5432\n"
		"  synprobe check -f targets.txt -c 2000 --rate 5000 --json\n");
}

int sp_parse_interfaces(const char *arg, int *ifindexes, size_t *n, size_t max)
{
	char buf[256], *tok, *save = NULL;
	unsigned int idx;

	if (strlen(arg) >= sizeof(buf)) {
		sp_err("interface list '%.40s...' is too long", arg);
		return -EINVAL;
	}
	strcpy(buf, arg);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		idx = if_nametoindex(tok);
		if (!idx) {
			sp_err("interface '%s' not found: see 'ip link' for the interfaces here", tok);
			return -ENODEV;
		}
		if (*n == max) {
			sp_err("more than %zu interfaces given", max);
			return -E2BIG;
		}
		ifindexes[(*n)++] = (int)idx;
	}
	return 0;
}

int sp_parse_mark(const char *arg, __u32 *mark)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v == 0 || v > 0xffffffffULL) {
		sp_err("mark '%s' (--mark): give a number from 1 to 4294967295, decimal or 0x hex as 'ip rule fwmark' takes it",
		       arg);
		return -EINVAL;
	}
	*mark = (__u32)v;
	return 0;
}

int sp_parse_bind_interface(const char *arg, int *ifindex)
{
	unsigned int idx = strlen(arg) < IF_NAMESIZE ? if_nametoindex(arg) : 0;

	if (!idx) {
		sp_err("interface '%s' (--bind-interface) not found: see 'ip link' for the interfaces here (a VRF is its device, e.g. 'ip link show type vrf')",
		       arg);
		return -ENODEV;
	}
	*ifindex = (int)idx;
	return 0;
}

int sp_mark_allowed(__u32 mark)
{
	int fd, err = 0;

	if (!mark)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) && errno == EPERM) {
		sp_err("--mark %u: setting SO_MARK was refused (%s): run as root, or with CAP_NET_ADMIN (or CAP_NET_RAW, kernel 5.17 on)",
		       mark, strerror(EPERM));
		err = -EPERM;
	}
	if (fd >= 0)
		close(fd);
	return err;
}

/* --source: a numeric IPv4 or IPv6 address (with a zone for link-local). */
static int parse_source(const char *s, struct sockaddr_storage *out)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;

	if (getaddrinfo(s, NULL, &hints, &res) || !res) {
		sp_err("source address '%s': give a numeric IPv4 or IPv6 address of this host", s);
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

static int parse_args(int argc, char **argv, struct check_args *a)
{
	static const struct option base[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "ipv4", no_argument, NULL, '4' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "all-addresses", no_argument, NULL, 'A' },
		{ "timeout", required_argument, NULL, 't' },
		{ "interface", required_argument, NULL, 'i' },
		{ "clsact", no_argument, NULL, 'C' },
		{ "method", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "test-close-delay", required_argument, NULL, 'D' },
		{ "file", required_argument, NULL, 'f' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "per-target", required_argument, NULL, 'P' },
		{ "rate", required_argument, NULL, 'R' },
		{ "source", required_argument, NULL, 'S' },
		{ "map-size", required_argument, NULL, 'M' },
		{ "mark", required_argument, NULL, 'K' },
		{ "bind-interface", required_argument, NULL, 'B' },
		{ "threads", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	struct option opts[SP_KIND_OPTIONS_MAX];
	int opt, err;

	/* the command's options, then the completing kinds' (--tls, --send...) */
	err = sp_kind_cli_init(&a->kinds, base, opts);
	if (err)
		return err;

	sp_check_defaults(&a->method, &a->timeout_ms, &a->family, &a->threads);
	a->concurrency = DEFAULT_CONCURRENCY;
	a->per_target = DEFAULT_PER_TARGET;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:46At:i:m:f:c:jqvhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (sp_parse_port(optarg, &a->port)) {
				sp_err("port '%s' (-p): give a number from 1 to 65535", optarg);
				return -EINVAL;
			}
			break;
		case '4':
		case '6':
			if (a->family != AF_UNSPEC && a->family != (opt == '4' ? AF_INET : AF_INET6)) {
				sp_err("-4 and -6 together: give at most one");
				return -EINVAL;
			}
			a->family = opt == '4' ? AF_INET : AF_INET6;
			break;
		case 'A':
			a->all_addresses = true;
			break;
		case 't':
			err = sp_parse_duration_ms(optarg, &a->timeout_ms);
			if (err) {
				sp_err("timeout '%s': give a duration such as 500ms, 2s or 1.5 (seconds), at least 1ms",
				       optarg);
				return -EINVAL;
			}
			break;
		case 'i':
			err = sp_parse_interfaces(optarg, a->ifindexes, &a->n_ifindexes, IFACES_MAX);
			if (err)
				return err;
			break;
		case 'C':
			a->force_clsact = true;
			break;
		case 'm':
			if (sp_parse_method(optarg, &a->method))
				return -EINVAL;
			break;
		case 'j':
			sp_json_output = true;
			break;
		case 'q':
			a->quiet = true;
			break;
		case 'v':
			sp_verbose++;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'V':
			printf("synprobe %s\n", SYNPROBE_VERSION);
			return 1;
		case 'f':
			a->file = optarg;
			break;
		case 'c':
		case 'P':
		case 'R':
		case 'M':
			if (sp_parse_count(optarg, 1000000000, opt == 'c' ? &a->concurrency :
					opt == 'P' ? &a->per_target :
					opt == 'R' ? &a->rate_per_sec : &a->map_size)) {
				sp_err("%s '%s': give a whole number from 1 to 1000000000",
				       opt == 'c' ? "concurrency" : opt == 'P' ? "per-target" :
				       opt == 'R' ? "rate" : "map-size", optarg);
				return -EINVAL;
			}
			break;
		case 'T':
			if (sp_parse_threads(optarg, &a->threads))
				return -EINVAL;
			break;
		case 'S':
			if (parse_source(optarg, &a->source))
				return -EINVAL;
			break;
		case 'K':
			if (sp_parse_mark(optarg, &a->mark))
				return -EINVAL;
			break;
		case 'B':
			if (sp_parse_bind_interface(optarg, &a->bind_ifindex))
				return -ENODEV;
			break;
		case 'D':
			if (sp_parse_duration_ms(optarg, &a->close_delay_ms)) {
				sp_err("--test-close-delay '%s': give a duration such as 500ms", optarg);
				return -EINVAL;
			}
			break;
		case ':':
			return sp_option_error(opt, argv, "check");
		default:
			err = sp_kind_cli_option(&a->kinds, opt, optarg);
			if (err <= 0) {
				if (err)
					return err;
				break;
			}
			return sp_option_error(opt, argv, "check");
		}
	}
	err = sp_kind_cli_finish(&a->kinds);
	if (err)
		return err;
	if (optind >= argc && !a->file) {
		sp_err("no TARGET given: write host:port, e.g. 'synprobe check 127.0.0.1:22', or -f FILE");
		return -EINVAL;
	}
	if (optind < argc && a->file) {
		sp_err("targets given both with -f and as arguments: use one of them");
		return -EINVAL;
	}
	return sp_mark_allowed(a->mark);
}

int sp_parse_method(const char *arg, enum method_choice *choice)
{
	const struct sp_method *m;

	if (!strcmp(arg, "auto")) {
		*choice = METHOD_AUTO;
		return 0;
	}
	/* The rows of the engine's table of TCP phases (user/kind.c). */
	m = sp_method_by_name(arg);
	if (!m) {
		sp_err("method '%s': give auto, bpf or connect", arg);
		return -EINVAL;
	}
	*choice = m->method == SYNPROBE_METHOD_BPF ? METHOD_BPF : METHOD_CONNECT;
	return 0;
}

/*
 * Parses and resolves every TARGET argument before anything is loaded: bad input attaches
 * nothing. @texts: the targets as written.
 */
static int build_jobs(char **texts, size_t n_targets, const struct check_args *a,
		      struct job **jobs_out, size_t *n_jobs)
{
	struct sp_address addrs[ADDRS_PER_TARGET_MAX];
	struct sp_target_spec spec;
	struct job *jobs = NULL, *grown;
	char err[SP_ERR_MAX];
	size_t n = 0, alloc = 0, i;
	int j, rc;

	for (i = 0; i < n_targets; i++) {
		rc = sp_target_parse(texts[i], a->port, &spec, err, sizeof(err));
		if (!rc)
			rc = sp_target_resolve(&spec, a->family, a->all_addresses, addrs,
					       ADDRS_PER_TARGET_MAX, err, sizeof(err));
		if (rc < 0) {
			sp_err("%s", err);
			goto cleanup;
		}
		if (n + rc > alloc) {
			alloc = (n + rc) * 2;
			grown = realloc(jobs, alloc * sizeof(*jobs));
			if (!grown) {
				sp_err("out of memory for %zu checks", n + rc);
				rc = -ENOMEM;
				goto cleanup;
			}
			jobs = grown;
		}
		for (j = 0; j < rc; j++) {
			memset(&jobs[n], 0, sizeof(jobs[n]));
			jobs[n].target = texts[i];
			jobs[n].addr = addrs[j];
			snprintf(jobs[n].host, sizeof(jobs[n].host), "%s", spec.host);
			n++;
		}
	}
	*jobs_out = jobs;
	*n_jobs = n;
	return 0;

cleanup:
	free(jobs);
	return rc;
}

/* Takes the progress line off the screen before a result or an error is printed under it. */
static void progress_clear(struct run_ctx *run)
{
	if (!run->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	run->progress_shown = false;
}

static void stream_line_free(struct run_ctx *run, struct stream_line *l)
{
	if (l->live_prev)
		l->live_prev->live_next = l->live_next;
	else
		run->live = l->live_next;
	if (l->live_next)
		l->live_next->live_prev = l->live_prev;
	free(l->text);
	free(l);
}

/* -f: a check's result as it completes; its line is freed with its last one. */
static void on_stream_result(const struct synprobe_result *res, struct run_ctx *run)
{
	struct stream_line *l = res->user;

	if (!run->quiet) {
		if (run->stdout_tty)
			progress_clear(run);
		if (sp_json_output)
			sp_print_json(stdout, l->text, res, run->method);
		else
			sp_print_human(stdout, l->text, res, run->method, run->target_w,
				       run->addr_w, sp_verbose);
	}
	if (--l->pending)
		return;
	run->lines_done++;
	stream_line_free(run, l);
}

static void on_result(const struct synprobe_result *res, void *ctx)
{
	struct run_ctx *run = ctx;
	struct job *job = res->user;

	run->outcomes[res->outcome]++;
	if (res->evidence == SYNPROBE_EVIDENCE_SOCKET)
		run->socket_evidence++;
	if (run->stream) {
		on_stream_result(res, run);
		return;
	}
	job->done = true;
	job->res = *res;
	if (res->flow) {
		job->flow = *res->flow;
		job->res.flow = &job->flow;
	}
	/* What the kind's result points to is freed after this callback: copies. */
	sp_kind_result_copy(res, &job->kind_result, &job->res);
	if (res->detail) {
		snprintf(job->detail, sizeof(job->detail), "%s", res->detail);
		job->res.detail = job->detail;
	}
}

/* Per-check options: where it leaves from, and a completing kind's when its options are given. */
static struct synprobe_check_opts check_opts(const struct check_args *a,
					     union sp_kind_arg_buf *arg, const char *host)
{
	struct synprobe_check_opts copts = {
		.sz = sizeof(copts),
		.mark = a->mark,
		.bind_ifindex = a->bind_ifindex,
	};

	sp_kind_cli_check_opts(&a->kinds, host, arg, &copts);
	return copts;
}

void sp_open_error(int err)
{
	if (err == EPERM || err == EACCES)
		sp_err("loading the BPF programs was refused (%s): run synprobe as root, or give it CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON",
		       strerror(err));
	else if (err == ENODEV)
		sp_err("an interface given with -i went away: check 'ip link'");
	else if (err == ENOTDIR)
		sp_err("the pin directory is not on a bpffs: mount one (mount -t bpf bpf /sys/fs/bpf) or pick another directory");
	else if (err == EBUSY)
		sp_err("the pin directory is in use by another running synprobe: give this one another --pin directory, or --no-pin");
	else if (err == EPFNOSUPPORT)
		sp_err("an interface given with -i has a link type synprobe cannot parse: it follows Ethernet, veth, VLAN, loopback and L3 devices (tun, WireGuard, GRE, IPIP)");
	else
		sp_err("cannot load or attach the BPF programs (%s): run with -v for libbpf's log",
		       strerror(err));
}

static void print_verbose_footer(struct synprobe *sp)
{
	struct synprobe_engine_stats es;
	enum synprobe_attach_mode modes[IFACES_MAX];
	int ifindexes[IFACES_MAX];
	unsigned int socks = 0, flows = 0;
	char name[IF_NAMESIZE];
	struct sp_stats st;
	size_t i, n;

	n = synprobe_attached(sp, ifindexes, modes, IFACES_MAX);
	for (i = 0; i < n && i < IFACES_MAX; i++)
		fprintf(stderr, "synprobe: attached to %s (%s)\n",
			if_indextoname(ifindexes[i], name) ? name : "?",
			synprobe_attach_mode_str(modes[i]));
	if (!synprobe_read_stats(sp, &st, sizeof(st)))
		fprintf(stderr,
			"synprobe: egress packets %llu, SYNs tracked %llu, SYN retransmits %llu, ACKs dropped %llu, flows map full %llu\n"
			"synprobe: ingress packets %llu, matched %llu, spoofed %llu, duplicate %llu, untracked %llu, ring buffer full %llu\n",
			st.eg_packets, st.eg_syn_tracked, st.eg_syn_retransmits, st.eg_ack_dropped,
			st.eg_flows_full, st.in_packets, st.in_matched, st.in_spoofed,
			st.in_duplicate, st.in_untracked, st.in_ringbuf_full);
	if (!synprobe_count_flows(sp, &socks, &flows))
		fprintf(stderr, "synprobe: flows left in the BPF maps: sp_socks %u, sp_flows %u\n", socks,
			flows);
	synprobe_engine_stats(sp, &es, sizeof(es));
	fprintf(stderr, "synprobe: destinations in the engine's table: %u\n", es.destinations);
	fprintf(stderr, "synprobe: event loops: %u\n", es.threads);
}

/*
 * Why BPF could not be used, in one line, from what synprobe_open() found: kept apart are missing
 * privileges, a kernel below the floor, and a program the verifier rejected (a bug of ours on
 * that kernel). NULL when the load error says nothing more than errno.
 */
static const char *load_reason(const struct synprobe_load_error *le)
{
	static char buf[256];

	switch (le->failure) {
	case SYNPROBE_LOAD_NO_PRIVILEGE:
		snprintf(buf, sizeof(buf), "%s was refused (%s): run as root, or with CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON",
			 le->what, strerror(le->error));
		return buf;
	case SYNPROBE_LOAD_KERNEL_TOO_OLD:
		snprintf(buf, sizeof(buf), "this kernel lacks %s: BPF mode needs kernel 5.8 or later",
			 le->what);
		return buf;
	case SYNPROBE_LOAD_VERIFIER:
		snprintf(buf, sizeof(buf), "the kernel's verifier rejected the BPF program '%s' (%s): a synprobe bug on this kernel, please report it with the log (-vv)",
			 le->what, strerror(le->error));
		return buf;
	case SYNPROBE_LOAD_OTHER:
		snprintf(buf, sizeof(buf), "%s failed (%s)", le->what, strerror(le->error));
		return buf;
	default:
		return NULL;
	}
}

/* The verifier's words after the one error line: its last lines, or with -vv its whole log. */
static void print_verifier_log(const struct synprobe_load_error *le)
{
	const char *text = sp_verbose >= 2 && le->log ? le->log : le->log_tail;
	const char *p = text, *nl;

	if (le->failure != SYNPROBE_LOAD_VERIFIER || sp_json_output)
		return;
	fprintf(stderr, "%s of the verifier's log:\n", text == le->log ? "All" : "The end");
	while (*p) {
		nl = strchr(p, '\n');
		fprintf(stderr, "  | %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl)
			break;
		p = nl + 1;
	}
}

struct synprobe *sp_open_engine(enum method_choice choice, struct synprobe_opts opts,
				const char **method)
{
	struct synprobe_load_error le = { .sz = sizeof(le) };
	const char *reason;
	struct synprobe *sp;
	int err;

	sp_fallback_reason = NULL;
	if (choice != METHOD_CONNECT) {
		*method = sp_method_halfopen.name;
		opts.load_error = &le;
		sp = synprobe_open(&opts);
		if (sp)
			return sp;
		err = errno;
		reason = load_reason(&le);
		/* A missing interface or an unusable one is the user's to fix, not a reason to fall back. */
		if (choice == METHOD_BPF || err == ENODEV || err == EPFNOSUPPORT || err == ENOTDIR ||
		    err == EBUSY) {
			if (reason)
				sp_err("cannot use BPF: %s", reason);
			else
				sp_open_error(err);
			print_verifier_log(&le);
			free(le.log);
			return NULL;
		}
		sp_fallback_reason = reason ? reason : strerror(err);
		sp_warn("cannot use BPF: %s; falling back to --method connect, full handshakes timed in user space",
			sp_fallback_reason);
		print_verifier_log(&le);
		free(le.log);
		opts.load_error = NULL;
	}
	if (opts.n_ifindexes)
		sp_warn("the interface option has no effect with --method connect");
	*method = sp_method_connect.name;
	opts.method = SYNPROBE_METHOD_CONNECT;
	opts.n_ifindexes = 0;
	opts.ifindexes = NULL;
	sp = synprobe_open(&opts);
	if (!sp)
		sp_err("cannot set up the event loop: %s", strerror(errno));
	return sp;
}

/* Column widths for the human lines: the longest target and address. */
static void measure(const struct job *jobs, size_t n_jobs, int *target_w, int *addr_w)
{
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	size_t i;
	int w;

	*target_w = *addr_w = 0;
	for (i = 0; i < n_jobs; i++) {
		w = (int)strlen(jobs[i].target);
		*target_w = w > *target_w ? w : *target_w;
		w = (int)strlen(sp_address_str(&jobs[i].addr.addr, addr, sizeof(addr), NULL));
		*addr_w = w > *addr_w ? w : *addr_w;
	}
}

static void print_summary(struct synprobe *sp, const struct run_ctx *run, size_t n_jobs)
{
	struct synprobe_engine_stats es;

	synprobe_engine_stats(sp, &es, sizeof(es));
	fprintf(stderr,
		"synprobe: %zu checks: %lu open, %lu closed, %lu unreachable, %lu timeout, %lu error; "
		"%llu waits for a local port, %llu for a file descriptor, %lu answered from the socket "
		"(%llu beyond the BPF map)",
		n_jobs, run->outcomes[SYNPROBE_OPEN], run->outcomes[SYNPROBE_CLOSED],
		run->outcomes[SYNPROBE_UNREACHABLE], run->outcomes[SYNPROBE_TIMEOUT],
		run->outcomes[SYNPROBE_ERROR], (unsigned long long)es.port_waits,
		(unsigned long long)es.fd_waits, run->socket_evidence,
		(unsigned long long)es.untracked);
	if (run->outcomes[SYNPROBE_MISMATCH] || run->outcomes[SYNPROBE_TLS_ERROR])
		fprintf(stderr, "; past the handshake: %lu mismatch, %lu tls_error",
			run->outcomes[SYNPROBE_MISMATCH], run->outcomes[SYNPROBE_TLS_ERROR]);
	if (run->bad_lines)
		fprintf(stderr, "; %lu bad lines skipped", run->bad_lines);
	fputc('\n', stderr);
}

static int run_checks(struct job *jobs, size_t n_jobs, const struct check_args *a,
		      struct run_ctx *run)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.ifindexes = a->n_ifindexes ? a->ifindexes : NULL,
		.n_ifindexes = a->n_ifindexes,
		.on_result = on_result,
		.ctx = run,
		.close_delay_ms = a->close_delay_ms,
		.force_clsact = a->force_clsact,
		.wait_sigmask = &wait_mask,
		/* Default: no bigger than what can be in flight, so a short run starts fast. */
		.max_flows = a->map_size ? a->map_size :
			     n_jobs < a->concurrency ? (n_jobs > 64 ? n_jobs : 64) : 0,
		.max_in_flight = a->concurrency,
		.per_target_max = a->per_target,
		.rate_per_sec = a->rate_per_sec,
		.source = a->source,
		.mark = a->mark,
		.bind_ifindex = a->bind_ifindex,
		.threads = a->threads,
	};
	struct synprobe *sp;
	size_t i;
	int err = 0;

	sp = sp_open_engine(a->method, opts, &run->method);
	if (!sp)
		return -EINVAL;
	for (i = 0; i < n_jobs && !exiting; i++) {
		struct synprobe_check_opts copts = check_opts(a, &jobs[i].kind_arg, jobs[i].host);

		err = synprobe_start_ex(sp, (struct sockaddr *)&jobs[i].addr.addr,
					jobs[i].addr.addrlen, a->timeout_ms, &copts, &jobs[i]);
		if (err == -EPFNOSUPPORT) {
			sp_err("the route to '%s' leaves by an interface of a link type synprobe cannot parse: it follows Ethernet, veth, VLAN, loopback and L3 devices (tun, WireGuard, GRE, IPIP); pick one with -i",
			       jobs[i].target);
			goto cleanup;
		} else if (err) {
			sp_err("cannot attach to the interface of the route to '%s' (%s): %s",
			       jobs[i].target, strerror(-err),
			       err == -EPERM ? "run as root" : "check it with 'ip route get'");
			goto cleanup;
		}
	}
	if (sp_verbose)
		fprintf(stderr, "synprobe: %zu checks started\n", n_jobs);
	while (synprobe_in_flight(sp) && !exiting) {
		err = synprobe_poll(sp, -1);
		if (err == -EINTR)
			continue;
		if (err < 0) {
			sp_err("event loop failed: %s", strerror(-err));
			goto cleanup;
		}
	}
	err = 0;
	fflush(stdout);
	if ((run->stream || sp_verbose) && !a->quiet)
		print_summary(sp, run, n_jobs);
	if (sp_verbose && !strcmp(run->method, "bpf"))
		print_verbose_footer(sp);
cleanup:
	synprobe_close(sp);
	return err;
}

/* Arguments mode: every result, in the order of the arguments, once all are in. */
static void print_results(const struct job *jobs, size_t n_jobs, const struct run_ctx *run)
{
	size_t i;

	for (i = 0; i < n_jobs && !run->quiet; i++) {
		if (!jobs[i].done)
			continue;
		if (sp_json_output)
			sp_print_json(stdout, jobs[i].target, &jobs[i].res, run->method);
		else
			sp_print_human(stdout, jobs[i].target, &jobs[i].res, run->method,
				       run->target_w, run->addr_w, sp_verbose);
	}
	fflush(stdout);
}

/* -f: the state of a streamed run, beside the engine. */
struct stream_run {
	const struct check_args *a;
	struct run_ctx *run;
	struct synprobe *sp;
	struct sp_targets_stream *in;
	struct sp_resolver *resolver; /* started with the first name */
	struct stream_line *ready, *ready_tail;
	unsigned int n_ready, n_resolving;
	unsigned long targets;	      /* good lines taken */
	bool read_error;	      /* the reader stopped on an error: exit 2 */
	bool setup_error;	      /* a check could not be started: exit 2 */
	__u64 start_ms, progress_ms;
	int cols;		      /* the terminal's width, for the progress line */
};

static pthread_t main_thread;

static void wake_handler(int sig)
{
	/* Nothing to do: the interrupted wait is the point. */
}

static void wake_main(void *ctx)
{
	pthread_kill(main_thread, WAKE_SIGNAL);
}

/*
 * SIGINT or SIGTERM waiting: they are blocked outside the engine's wait, and a busy engine
 * (results ready at every call) does not wait, so a long run also looks for them itself.
 */
static bool stop_pending(void)
{
	sigset_t pending;

	if (sigpending(&pending))
		return false;
	return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
}

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

/* A line whose name did not resolve (or a literal of the wrong family): an error result. */
static void print_lookup_error(struct run_ctx *run, const char *target, const char *msg)
{
	struct synprobe_result res = { .outcome = SYNPROBE_ERROR };
	json_object *obj;

	run->outcomes[SYNPROBE_ERROR]++;
	if (run->quiet)
		return;
	if (run->stdout_tty)
		progress_clear(run);
	if (!sp_json_output) {
		fprintf(stdout, "%-*s  %-*s  %-11s  %-7s  %s\n", run->target_w, target, run->addr_w,
			"-", synprobe_outcome_str(SYNPROBE_ERROR), run->method, msg);
		return;
	}
	res.timeout_ms = 0;
	obj = sp_result_json(target, &res, run->method);
	json_object_object_add(obj, "address", NULL);
	json_object_object_add(obj, "port", NULL);
	json_object_object_add(obj, "family", NULL);
	json_object_object_add(obj, "timeout_ms", NULL);
	json_object_object_add(obj, "error", json_object_new_string(msg));
	fprintf(stdout, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

static bool is_ip_literal(const struct sp_target_spec *spec)
{
	struct in_addr a4;

	return spec->ipv6_literal || inet_pton(AF_INET, spec->host, &a4) == 1;
}

static void ready_push(struct stream_run *st, struct stream_line *l)
{
	l->next = NULL;
	if (st->ready_tail)
		st->ready_tail->next = l;
	else
		st->ready = l;
	st->ready_tail = l;
	st->n_ready++;
}

/*
 * A line with room for @n addresses (copied from @addrs if not NULL), on the live list; @text is
 * taken on success. NULL without memory.
 */
static struct stream_line *line_new(struct run_ctx *run, char *text, unsigned int line,
				    const struct sp_address *addrs, int n)
{
	struct stream_line *l;

	l = calloc(1, sizeof(*l) + (size_t)n * sizeof(l->addrs[0]));
	if (!l)
		return NULL;
	l->text = text;
	l->line = line;
	l->n_addrs = n;
	if (addrs && n)
		memcpy(l->addrs, addrs, (size_t)n * sizeof(l->addrs[0]));
	l->live_next = run->live;
	if (run->live)
		run->live->live_prev = l;
	run->live = l;
	return l;
}

/* One line from the reader: a bad line is reported, a literal resolved here, a name queued. */
static int take_line(struct stream_run *st, const struct sp_stream_item *item)
{
	struct sp_address addrs[ADDRS_PER_TARGET_MAX];
	const struct check_args *a = st->a;
	struct run_ctx *run = st->run;
	char err[SP_ERR_MAX], *text;
	struct stream_line *l;
	int n;

	if (item->rc < 0) {
		progress_clear(run);
		sp_err("%s", item->err);
		if (item->rc == -EINVAL) {
			run->bad_lines++;
			run->lines_done++;
		} else {
			st->read_error = true;
		}
		return 0;
	}
	text = item->t.text;
	st->targets++;
	if (is_ip_literal(&item->t.spec)) {
		n = sp_target_resolve(&item->t.spec, a->family, a->all_addresses, addrs,
				      ADDRS_PER_TARGET_MAX, err, sizeof(err));
		if (n < 0) {
			print_lookup_error(run, text, err);
			run->lines_done++;
			free(text);
			return 0;
		}
		l = line_new(run, text, item->t.line, addrs, n);
		if (!l)
			goto nomem;
		ready_push(st, l);
		return 0;
	}
	if (!st->resolver) {
		st->resolver = sp_resolver_new(STREAM_RESOLVERS, STREAM_START_AHEAD, wake_main, NULL);
		if (!st->resolver) {
			sp_err("cannot start the resolver threads: %s", strerror(errno));
			free(text);
			return -ENOMEM;
		}
	}
	l = line_new(run, text, item->t.line, NULL, 0);
	if (!l)
		goto nomem;
	n = sp_resolver_submit(st->resolver, &item->t.spec, a->family, a->all_addresses, l);
	if (n) {
		/* Cannot happen: no more lookups are queued than STREAM_START_AHEAD. */
		snprintf(err, sizeof(err), "cannot resolve '%s' now: %s", item->t.spec.host,
			 strerror(-n));
		print_lookup_error(run, text, err);
		run->lines_done++;
		stream_line_free(run, l);
		return 0;
	}
	st->n_resolving++;
	return 0;

nomem:
	free(text);
	sp_err("out of memory at %s line %u", a->file, item->t.line);
	return -ENOMEM;
}

/* The lookups that ended: each line with its addresses to the ready list, or an error result. */
static int collect_lookups(struct stream_run *st)
{
	struct sp_resolve_job *j, *next;
	struct stream_line *l, *resolved;
	int err = 0;

	if (!st->resolver)
		return 0;
	for (j = sp_resolver_collect(st->resolver); j; j = next) {
		next = j->next;
		l = j->user;
		st->n_resolving--;
		if (j->n < 0) {
			print_lookup_error(st->run, l->text, j->err);
			st->run->lines_done++;
			stream_line_free(st->run, l);
		} else {
			resolved = line_new(st->run, l->text, l->line, j->addrs, j->n);
			if (resolved) {
				l->text = NULL;
				ready_push(st, resolved);
			} else {
				err = -ENOMEM;
			}
			stream_line_free(st->run, l);
		}
		free(j);
	}
	if (err)
		sp_err("out of memory for resolved targets");
	return err;
}

/* Starts every check of the ready list's first line. */
static int start_line(struct stream_run *st)
{
	struct stream_line *l = st->ready;
	struct synprobe_check_opts copts;
	struct sp_target_spec spec;
	char msg[SP_ERR_MAX];
	int i, err;

	st->ready = l->next;
	if (!st->ready)
		st->ready_tail = NULL;
	st->n_ready--;
	l->pending = (unsigned int)l->n_addrs;
	if (st->a->kinds.active && sp_target_parse(l->text, st->a->port, &spec, msg, sizeof(msg)) == 0)
		snprintf(l->host, sizeof(l->host), "%s", spec.host);
	copts = check_opts(st->a, &l->kind_arg, l->host);
	for (i = 0; i < l->n_addrs; i++) {
		err = synprobe_start_ex(st->sp, (struct sockaddr *)&l->addrs[i].addr,
					l->addrs[i].addrlen, st->a->timeout_ms, &copts, l);
		if (!err)
			continue;
		progress_clear(st->run);
		if (err == -EPFNOSUPPORT)
			sp_err("the route to '%s' leaves by an interface of a link type synprobe cannot parse: it follows Ethernet, veth, VLAN, loopback and L3 devices (tun, WireGuard, GRE, IPIP); pick one with -i",
			       l->text);
		else
			sp_err("cannot attach to the interface of the route to '%s' (%s): %s",
			       l->text, strerror(-err),
			       err == -EPERM ? "run as root" : "check it with 'ip route get'");
		/* The line, and its checks already started, are ended by the clean-up. */
		st->setup_error = true;
		return err;
	}
	return 0;
}

/*
 * Starts what fits under -c, and takes lines from the reader while fewer than STREAM_START_AHEAD
 * are resolved or resolving: the file is never read further ahead than that.
 */
static int feed(struct stream_run *st)
{
	const struct sp_stream_item *item;
	bool progress = true;
	int err;

	while (progress && !exiting) {
		progress = false;
		while (st->ready && synprobe_in_flight(st->sp) < st->a->concurrency) {
			err = start_line(st);
			if (err)
				return err;
			progress = true;
		}
		while (st->n_ready + st->n_resolving < STREAM_START_AHEAD && !st->read_error &&
		       (item = sp_targets_stream_peek(st->in))) {
			err = take_line(st, item);
			sp_targets_stream_pop(st->in);
			if (err)
				return err;
			progress = true;
		}
	}
	return 0;
}

/* "1h02m", "3m05s", "42s". */
static void format_eta(unsigned long s, char *buf, size_t len)
{
	if (s >= 3600)
		snprintf(buf, len, "%luh%02lum", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%lum%02lus", s / 60, s % 60);
	else
		snprintf(buf, len, "%lus", s);
}

/* The status line on a terminal: at most every PROGRESS_INTERVAL_MS, cut to the terminal's width. */
static void progress_draw(struct stream_run *st)
{
	const struct run_ctx *run = st->run;
	__u64 now = now_ms(), elapsed_ms;
	unsigned long checks = 0;
	char buf[512], eta[32];
	long total;
	double rate;
	int len, i;

	if (!run->progress || now - st->progress_ms < PROGRESS_INTERVAL_MS)
		return;
	st->progress_ms = now;
	elapsed_ms = now - st->start_ms;
	for (i = 0; i < SYNPROBE_OUTCOMES; i++)
		checks += run->outcomes[i];
	rate = elapsed_ms ? checks * 1000.0 / elapsed_ms : 0;
	total = sp_targets_stream_total(st->in);
	if (total >= 0 && (unsigned long)total >= run->lines_done)
		len = snprintf(buf, sizeof(buf), "synprobe: %lu/%ld targets (%lu%%)", run->lines_done,
			       total, total ? run->lines_done * 100 / total : 100);
	else
		len = snprintf(buf, sizeof(buf), "synprobe: %lu targets", run->lines_done);
	len += snprintf(buf + len, sizeof(buf) - len,
			", %u in flight, %.0f checks/s: %lu open, %lu closed, %lu unreachable, %lu timeout, %lu error",
			synprobe_in_flight(st->sp), rate, run->outcomes[SYNPROBE_OPEN],
			run->outcomes[SYNPROBE_CLOSED], run->outcomes[SYNPROBE_UNREACHABLE],
			run->outcomes[SYNPROBE_TIMEOUT], run->outcomes[SYNPROBE_ERROR]);
	if (total >= 0 && (unsigned long)total > run->lines_done && run->lines_done && elapsed_ms) {
		format_eta((unsigned long)((total - run->lines_done) *
					   (elapsed_ms / 1000.0 / run->lines_done)) + 1,
			   eta, sizeof(eta));
		snprintf(buf + len, sizeof(buf) - len, ", ETA %s", eta);
	}
	if (st->cols > 1 && strlen(buf) >= (size_t)st->cols)
		buf[st->cols - 1] = '\0';
	fprintf(stderr, "\r%s\033[K", buf);
	st->run->progress_shown = true;
}

struct first_batch {
	bool all;
	unsigned long targets;
	int target_w, addr_w;
};

/* Widths of the human columns and the count, from the lines read before the engine opens. */
static void scan_first(const struct sp_stream_item *item, void *ctx)
{
	struct first_batch *fb = ctx;
	int w;

	if (item->rc != 1)
		return;
	fb->targets++;
	w = (int)strlen(item->t.text);
	fb->target_w = w > fb->target_w ? w : fb->target_w;
	w = is_ip_literal(&item->t.spec) ? (int)strlen(item->t.spec.host) : 15;
	fb->addr_w = w > fb->addr_w ? w : fb->addr_w;
}

/*
 * Waits for the reader's first lines (a regular file: until it is read STREAM_READ_AHEAD lines
 * ahead or to its end, so a short file sizes the BPF map as before), reporting bad lines, until
 * there is a target to start. Returns 1 with a target, 0 at the end without one, or -EINTR.
 */
static int wait_first_target(struct stream_run *st, bool regular)
{
	const struct sp_stream_item *item;
	unsigned int n;
	bool ended;

	for (;;) {
		if (exiting)
			return -EINTR;
		while ((item = sp_targets_stream_peek(st->in)) && item->rc < 0) {
			take_line(st, item);
			sp_targets_stream_pop(st->in);
		}
		n = sp_targets_stream_queued(st->in, &ended);
		if ((n && (!regular || ended || n == STREAM_READ_AHEAD)) || (!n && ended))
			return n ? 1 : 0;
		sigsuspend(&wait_mask);
	}
}

/*
 * -f: targets are read, resolved and started as slots free up (memory follows what is in flight,
 * not the file's length); each result is printed as it completes. Returns 0, or -1 after a
 * set-up error that was reported.
 */
static int run_stream(const struct check_args *a, struct run_ctx *run)
{
	struct synprobe_opts opts = {
		.sz = sizeof(opts),
		.ifindexes = a->n_ifindexes ? a->ifindexes : NULL,
		.n_ifindexes = a->n_ifindexes,
		.on_result = on_result,
		.ctx = run,
		.close_delay_ms = a->close_delay_ms,
		.force_clsact = a->force_clsact,
		.wait_sigmask = &wait_mask,
		.max_flows = a->map_size,
		.max_in_flight = a->concurrency,
		.per_target_max = a->per_target,
		.rate_per_sec = a->rate_per_sec,
		.source = a->source,
		.mark = a->mark,
		.bind_ifindex = a->bind_ifindex,
		.threads = a->threads,
	};
	struct stream_run st = { .a = a, .run = run };
	bool is_stdin = !strcmp(a->file, "-"), regular = false, ended, flush;
	struct first_batch fb = { .all = a->all_addresses };
	struct stream_line *l;
	struct winsize ws;
	struct stat sb;
	unsigned long n;
	FILE *f = stdin;
	int err = -1, rc;

	if (!is_stdin) {
		f = fopen(a->file, "r");
		if (!f) {
			sp_err("targets file '%s': %s", a->file, strerror(errno));
			return -1;
		}
	}
	regular = !fstat(fileno(f), &sb) && S_ISREG(sb.st_mode);
	run->stdout_tty = isatty(STDOUT_FILENO);
	run->progress = !a->quiet && isatty(STDERR_FILENO);
	st.cols = run->progress && !ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) ? ws.ws_col : 0;
	st.in = sp_targets_stream_open(f, is_stdin ? "stdin" : a->file, a->port, STREAM_READ_AHEAD,
				       run->progress && regular && !is_stdin ? a->file : NULL,
				       wake_main, NULL);
	if (!st.in) {
		sp_err("cannot start reading '%s': %s", a->file, strerror(errno));
		return -1;
	}
	rc = wait_first_target(&st, regular);
	if (rc <= 0) {
		if (!rc && !run->bad_lines && !st.read_error)
			sp_err("targets file '%s' has no targets: write one host:port a line", a->file);
		goto cleanup;
	}
	sp_targets_stream_scan(st.in, scan_first, &fb);
	(void)sp_targets_stream_queued(st.in, &ended);
	/* As before for a file that fits the read-ahead: a map no bigger than its checks. */
	n = fb.targets * (a->all_addresses ? ADDRS_PER_TARGET_MAX : 1);
	if (!opts.max_flows && ended && n < a->concurrency)
		opts.max_flows = n > 64 ? n : 64;
	run->target_w = fb.target_w;
	run->addr_w = fb.addr_w;

	st.sp = sp_open_engine(a->method, opts, &run->method);
	if (!st.sp)
		goto cleanup;
	st.start_ms = st.progress_ms = now_ms();
	flush = !regular; /* a pipe's reader wants each result as it comes */
	for (;;) {
		if (collect_lookups(&st) || feed(&st))
			goto cleanup;
		if (!exiting && stop_pending())
			exiting = 1;
		if (exiting)
			break;
		n = sp_targets_stream_queued(st.in, &ended);
		if ((ended || st.read_error) && !n && !st.ready && !st.n_resolving &&
		    !synprobe_in_flight(st.sp))
			break;
		if (flush)
			fflush(stdout);
		progress_draw(&st);
		rc = synprobe_poll(st.sp, run->progress ? PROGRESS_INTERVAL_MS : -1);
		if (rc < 0 && rc != -EINTR) {
			progress_clear(run);
			sp_err("event loop failed: %s", strerror(-rc));
			goto cleanup;
		}
	}
	progress_clear(run);
	fflush(stdout);
	if (sp_verbose)
		fprintf(stderr, "synprobe: %lu targets read\n", st.targets);
	if (!a->quiet)
		print_summary(st.sp, run, run->outcomes[SYNPROBE_OPEN] +
				 run->outcomes[SYNPROBE_CLOSED] + run->outcomes[SYNPROBE_TIMEOUT] +
				 run->outcomes[SYNPROBE_ERROR] + run->outcomes[SYNPROBE_UNREACHABLE] +
				 run->outcomes[SYNPROBE_MISMATCH] + run->outcomes[SYNPROBE_TLS_ERROR]);
	if (sp_verbose && !strcmp(run->method, "bpf"))
		print_verbose_footer(st.sp);
	err = st.read_error ? -1 : 0;
cleanup:
	progress_clear(run);
	/* Lines still held are freed after the engine and the resolver, which hold them. */
	synprobe_close(st.sp);
	/* Lookups still running are not waited for (a hung DNS server does not delay the exit). */
	sp_resolver_free(st.resolver);
	sp_targets_stream_free(st.in);
	while ((l = run->live))
		stream_line_free(run, l);
	return err;
}

/*
 * No SA_RESTART, and the signals are only unblocked inside the wait (epoll_pwait): one that
 * comes while checks start or results are handled ends the next wait with -EINTR. Blocked before
 * any thread starts, so that they all reach this one.
 */
static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = sig_handler };
	struct sigaction wake = { .sa_handler = wake_handler };
	sigset_t block;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(WAKE_SIGNAL, &wake, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, WAKE_SIGNAL);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	main_thread = pthread_self();
}

int do_check(int argc, char **argv)
{
	struct check_args a = {};
	struct run_ctx run = {};
	struct job *jobs = NULL;
	size_t n_jobs = 0, i;
	int err, rc = SP_EXIT_USAGE;
	bool all_open = true;

	err = parse_args(argc, argv, &a);
	if (err) {
		sp_kind_cli_free(&a.kinds);
		return err > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;
	}
	sp_setup_libbpf_print(sp_verbose);

	run.quiet = a.quiet;
	if (a.file) {
		run.stream = true;
		setup_signals();
		rc = run_stream(&a, &run) || run.bad_lines ? SP_EXIT_USAGE : SP_EXIT_OK;
		sp_kind_cli_free(&a.kinds);
		if (rc)
			return rc;
		for (i = SYNPROBE_CLOSED; i < SYNPROBE_OUTCOMES; i++)
			if (run.outcomes[i])
				all_open = false;
		return exiting || !all_open ? SP_EXIT_NOT_OK : SP_EXIT_OK;
	}

	err = build_jobs(argv + optind, argc - optind, &a, &jobs, &n_jobs);
	if (err)
		goto cleanup;
	setup_signals();
	measure(jobs, n_jobs, &run.target_w, &run.addr_w);
	if (run_checks(jobs, n_jobs, &a, &run))
		goto cleanup;
	print_results(jobs, n_jobs, &run);
	for (i = 0; i < n_jobs; i++)
		if (!jobs[i].done || jobs[i].res.outcome != SYNPROBE_OPEN)
			all_open = false;
	rc = exiting || !all_open ? SP_EXIT_NOT_OK : SP_EXIT_OK;
cleanup:
	free(jobs);
	sp_kind_cli_free(&a.kinds);
	return rc;
}
