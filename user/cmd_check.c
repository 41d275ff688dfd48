// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cmd_check.c - `synprobe check`: a thin client of the engine (libsynprobe.h). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include "libsynprobe.h"
#include "main.h"
#include "output.h"
#include "target.h"
#include "targets_file.h"
#include "util.h"

#define ADDRS_PER_TARGET_MAX 16
#define IFACES_MAX 32
#define DEFAULT_TIMEOUT_MS 1000
#define DEFAULT_CONCURRENCY 1024
/*
 * Checks in flight to one address and port. A listener's SYN queue holds its listen() backlog
 * (often 128) before SYN cookies and "Possible SYN flooding" start; 32 stays well below.
 */
#define DEFAULT_PER_TARGET 32

/* One address of one target: a check. */
struct job {
	const char *target; /* argv entry, as the user wrote it */
	struct sp_address addr;
	struct synprobe_result res;
	struct sp_flow flow; /* copy of res.flow, which is only valid in the callback */
	bool done;
};

struct check_args {
	enum method_choice method;
	const char *file; /* -f: targets from this file ("-": stdin); results stream out */
	__u32 concurrency;
	__u32 per_target;
	__u32 rate_per_sec;
	__u32 map_size;
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
};

/* What on_result needs: where results go, and the counts for the summary. */
struct run_ctx {
	bool stream; /* print each result as it completes (-f) instead of at the end */
	bool quiet;
	const char *method;
	int target_w, addr_w;
	unsigned long outcomes[SYNPROBE_UNREACHABLE + 1];
	unsigned long socket_evidence;
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
		"  -f, --file FILE        targets from FILE, one a line, '#' comments ('-': stdin);\n"
		"                         results are printed as they complete, then a summary\n"
		"  -c, --concurrency N    checks in flight at once (default 1024)\n"
		"      --per-target N     checks in flight to one address and port (default 32, below\n"
		"                         the SYN-flood defence of a listener with a backlog of 128)\n"
		"      --rate R           new SYNs per second at most (default: no limit)\n"
		"      --source ADDR      send from this local address\n"
		"      --mark N           SO_MARK on every check's socket, for policy routing\n"
		"                         ('ip rule fwmark N') and tc programs (root or CAP_NET_ADMIN)\n"
		"      --bind-interface IF  leave by interface IF (SO_BINDTODEVICE); a VRF device\n"
		"                         checks inside that VRF\n"
		"      --map-size N       checks the BPF maps can follow at once (default: the\n"
		"                         concurrency, or the targets if fewer, at least 64); the\n"
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
	static const struct option opts[] = {
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
		{ NULL, 0, NULL, 0 },
	};
	int opt, err;

	a->timeout_ms = DEFAULT_TIMEOUT_MS;
	a->concurrency = DEFAULT_CONCURRENCY;
	a->per_target = DEFAULT_PER_TARGET;
	a->family = AF_UNSPEC;
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
			return sp_option_error(opt, argv, "check");
		}
	}
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
	if (!strcmp(arg, "auto"))
		*choice = METHOD_AUTO;
	else if (!strcmp(arg, "bpf"))
		*choice = METHOD_BPF;
	else if (!strcmp(arg, "connect"))
		*choice = METHOD_CONNECT;
	else {
		sp_err("method '%s': give auto, bpf or connect", arg);
		return -EINVAL;
	}
	return 0;
}

/*
 * Parses and resolves every TARGET before anything is loaded: bad input attaches nothing.
 * @texts: the targets as written; @lines: their line in @file (NULL for arguments).
 */
static int build_jobs(char **texts, const unsigned int *lines, size_t n_targets, const char *file,
		      const struct check_args *a, struct job **jobs_out, size_t *n_jobs)
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
			if (lines)
				sp_err("%s:%u: %s", file, lines[i], err);
			else
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

static void on_result(const struct synprobe_result *res, void *ctx)
{
	struct run_ctx *run = ctx;
	struct job *job = res->user;

	run->outcomes[res->outcome]++;
	if (res->evidence == SYNPROBE_EVIDENCE_SOCKET)
		run->socket_evidence++;
	job->done = true;
	if (run->stream) {
		if (run->quiet)
			return;
		if (sp_json_output)
			sp_print_json(stdout, job->target, res, run->method);
		else
			sp_print_human(stdout, job->target, res, run->method, run->target_w,
				       run->addr_w, sp_verbose);
		return;
	}
	job->res = *res;
	if (res->flow) {
		job->flow = *res->flow;
		job->res.flow = &job->flow;
	}
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
	if (!synprobe_read_stats(sp, &st))
		fprintf(stderr,
			"synprobe: egress packets %llu, SYNs tracked %llu, SYN retransmits %llu, ACKs dropped %llu, flows map full %llu\n"
			"synprobe: ingress packets %llu, matched %llu, spoofed %llu, duplicate %llu, untracked %llu, ring buffer full %llu\n",
			st.eg_packets, st.eg_syn_tracked, st.eg_syn_retransmits, st.eg_ack_dropped,
			st.eg_flows_full, st.in_packets, st.in_matched, st.in_spoofed,
			st.in_duplicate, st.in_untracked, st.in_ringbuf_full);
	if (!synprobe_count_flows(sp, &socks, &flows))
		fprintf(stderr, "synprobe: flows left in the BPF maps: sp_socks %u, sp_flows %u\n", socks,
			flows);
	synprobe_engine_stats(sp, &es);
	fprintf(stderr, "synprobe: destinations in the engine's table: %u\n", es.destinations);
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
	struct synprobe_load_error le = {};
	const char *reason;
	struct synprobe *sp;
	int err;

	sp_fallback_reason = NULL;
	if (choice != METHOD_CONNECT) {
		*method = "bpf";
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
	*method = "connect";
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

	synprobe_engine_stats(sp, &es);
	fprintf(stderr,
		"synprobe: %zu checks: %lu open, %lu closed, %lu unreachable, %lu timeout, %lu error; "
		"%llu waits for a local port, %llu for a file descriptor, %lu answered from the socket "
		"(%llu beyond the BPF map)\n",
		n_jobs, run->outcomes[SYNPROBE_OPEN], run->outcomes[SYNPROBE_CLOSED],
		run->outcomes[SYNPROBE_UNREACHABLE], run->outcomes[SYNPROBE_TIMEOUT],
		run->outcomes[SYNPROBE_ERROR], (unsigned long long)es.port_waits,
		(unsigned long long)es.fd_waits, run->socket_evidence,
		(unsigned long long)es.untracked);
}

static int run_checks(struct job *jobs, size_t n_jobs, const struct check_args *a,
		      struct run_ctx *run)
{
	struct synprobe_opts opts = {
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
	};
	struct synprobe *sp;
	size_t i;
	int err = 0;

	sp = sp_open_engine(a->method, opts, &run->method);
	if (!sp)
		return -EINVAL;
	for (i = 0; i < n_jobs && !exiting; i++) {
		err = synprobe_start(sp, (struct sockaddr *)&jobs[i].addr.addr, jobs[i].addr.addrlen,
				     a->timeout_ms, &jobs[i]);
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

/* Reads -f FILE into @list and the arrays build_jobs() takes. */
static int read_targets_file(const struct check_args *a, struct sp_target_list *list,
			     char ***texts, unsigned int **lines)
{
	char err[SP_ERR_MAX];
	FILE *f = stdin;
	size_t i;
	int rc;

	if (strcmp(a->file, "-")) {
		f = fopen(a->file, "r");
		if (!f) {
			sp_err("targets file '%s': %s", a->file, strerror(errno));
			return -errno;
		}
	}
	rc = sp_targets_file_read(f, strcmp(a->file, "-") ? a->file : "stdin", a->port, list, err,
				  sizeof(err));
	if (f != stdin)
		fclose(f);
	if (rc) {
		sp_err("%s", err);
		return rc;
	}
	if (!list->n) {
		sp_err("targets file '%s' has no targets: write one host:port a line", a->file);
		return -EINVAL;
	}
	*texts = calloc(list->n, sizeof(**texts));
	*lines = calloc(list->n, sizeof(**lines));
	if (!*texts || !*lines) {
		sp_err("out of memory for %zu targets", list->n);
		return -ENOMEM;
	}
	for (i = 0; i < list->n; i++) {
		(*texts)[i] = list->items[i].text;
		(*lines)[i] = list->items[i].line;
	}
	return 0;
}

int do_check(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sig_handler };
	struct sp_target_list list = {};
	struct check_args a = {};
	struct run_ctx run = {};
	struct job *jobs = NULL;
	unsigned int *lines = NULL;
	char **texts = NULL;
	size_t n_jobs = 0, i;
	int err, rc = SP_EXIT_USAGE;
	bool all_open = true;
	sigset_t block;

	err = parse_args(argc, argv, &a);
	if (err)
		return err > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;
	sp_setup_libbpf_print(sp_verbose);

	if (a.file) {
		if (read_targets_file(&a, &list, &texts, &lines))
			goto cleanup;
		err = build_jobs(texts, lines, list.n, a.file, &a, &jobs, &n_jobs);
	} else {
		err = build_jobs(argv + optind, NULL, argc - optind, NULL, &a, &jobs, &n_jobs);
	}
	if (err)
		goto cleanup;

	/*
	 * No SA_RESTART, and the signals are only unblocked inside the wait (epoll_pwait): one that
	 * comes while checks start or results are handled ends the next wait with -EINTR.
	 */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);

	run.stream = a.file != NULL;
	run.quiet = a.quiet;
	measure(jobs, n_jobs, &run.target_w, &run.addr_w);
	if (run_checks(jobs, n_jobs, &a, &run))
		goto cleanup;
	if (!run.stream)
		print_results(jobs, n_jobs, &run);
	for (i = 0; i < n_jobs; i++)
		if (!jobs[i].done || (!run.stream && jobs[i].res.outcome != SYNPROBE_OPEN))
			all_open = false;
	if (run.stream && run.outcomes[SYNPROBE_OPEN] != n_jobs)
		all_open = false;
	rc = exiting || !all_open ? SP_EXIT_NOT_OK : SP_EXIT_OK;
cleanup:
	free(jobs);
	free(texts);
	free(lines);
	sp_target_list_free(&list);
	return rc;
}
