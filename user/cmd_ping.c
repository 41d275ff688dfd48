// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_ping.c - `synprobe ping`: one half-open check per interval, each from a fresh source port,
 * a line per probe and, at the end or on SIGINT, the summary in iputils ping's form.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include <netinet/in.h>
#include "check_kind.h"
#include "libsynprobe.h"
#include "main.h"
#include "output.h"
#include "target.h"
#include "util.h"

#define IFACES_MAX 32

struct ping_args {
	enum method_choice method;
	__u32 count; /* 0: until SIGINT */
	__u32 interval_ms;
	__u32 timeout_ms;
	__u16 port;
	int family;
	bool quiet;
	unsigned int threads;
	int ifindexes[IFACES_MAX];
	size_t n_ifindexes;
	__u32 mark;
	int bind_ifindex;
	struct sp_kind_cli kinds; /* the completing kinds' options (--tls, --send...) */
};

/* What the summary is made of. RTTs in ns, as doubles for the mean and deviation. */
struct ping_stats {
	const char *target;
	const char *method;
	__u32 sent, open, closed, unreachable, lost, errors;
	__u32 with_rtt;
	double rtt_min_ns, rtt_max_ns, rtt_sum_ns, rtt_sum_sq_ns;
	bool user_space_rtt;
};

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: synprobe ping [OPTIONS] TARGET\n"
		"\n"
		"One half-open check (SYN, SYN-ACK or RST, RST) of TARGET per interval, each from a\n"
		"fresh source port, a line per probe, and on exit or Ctrl-C a summary as ping's:\n"
		"sent, open, lost, and min/avg/max/mdev of the kernel-measured RTT.\n"
		"TARGET is host:port, [ipv6]:port, or a host with -p PORT.\n"
		"\n"
		"Options:\n"
		"  -c, --count N          stop after N probes (default: until Ctrl-C)\n"
		"  -i, --interval DUR     time between probes (default 1s); DUR as 200ms, 2s, 1.5\n"
		"  -t, --timeout DUR      how long each probe waits for a reply (default 1s)\n"
		"  -p, --port PORT        port for a target written without one\n"
		"  -4, -6                 resolve the name to IPv4 / IPv6 only\n"
		"  -I, --interface IF     attach to IF (default: the route's interface)\n"
		"      --mark N           SO_MARK on each probe's socket (policy routing, tc programs)\n"
		"      --bind-interface IF  leave by IF (SO_BINDTODEVICE); a VRF device: inside it\n"
		"  -m, --method METHOD    auto (default), bpf or connect, as in 'synprobe check'\n"
		"      --threads N        event loops of the engine, as in 'synprobe check'\n"
		"  -j, --json             JSON Lines: one object per probe (with \"seq\"), then the summary\n"
		"  -q, --quiet            only the summary\n"
		"  -h, --help             this text\n");
	sp_kind_cli_usage(f);
	fprintf(f,
		"\n"
		"Exit status: 0 if every probe found the port open, 1 if not, 2 for usage errors.\n"
		"A probe that ends mismatch, tls_error, or timeout past the handshake counts as an\n"
		"error in the summary, not as lost.\n"
		"\n"
		"Example:\n"
		"  synprobe ping -c 20 -i 200ms 10.0.0.5:443\n"
		"  synprobe ping -c 5 --tls example.org:443\n");
}

static int parse_count(const char *s, __u32 *count)
{
	if (sp_parse_count(s, 1000000000, count)) {
		sp_err("count '%s': give a whole number from 1 to 1000000000", s);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct ping_args *a)
{
	static const struct option base[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "interval", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "port", required_argument, NULL, 'p' },
		{ "ipv4", no_argument, NULL, '4' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "interface", required_argument, NULL, 'I' },
		{ "method", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
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
	a->interval_ms = 1000;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":c:i:t:p:46I:m:jqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (parse_count(optarg, &a->count))
				return -EINVAL;
			break;
		case 'i':
		case 't':
			if (sp_parse_duration_ms(optarg, opt == 'i' ? &a->interval_ms : &a->timeout_ms)) {
				sp_err("%s '%s': give a duration such as 500ms, 2s or 1.5 (seconds), at least 1ms",
				       opt == 'i' ? "interval" : "timeout", optarg);
				return -EINVAL;
			}
			break;
		case 'p':
			if (sp_parse_port(optarg, &a->port)) {
				sp_err("port '%s' (-p): give a number from 1 to 65535", optarg);
				return -EINVAL;
			}
			break;
		case '4':
		case '6':
			a->family = opt == '4' ? AF_INET : AF_INET6;
			break;
		case 'I':
			if (sp_parse_interfaces(optarg, a->ifindexes, &a->n_ifindexes, IFACES_MAX))
				return -EINVAL;
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
		case 'T':
			if (sp_parse_threads(optarg, &a->threads))
				return -EINVAL;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case 'K':
			if (sp_parse_mark(optarg, &a->mark))
				return -EINVAL;
			break;
		case 'B':
			if (sp_parse_bind_interface(optarg, &a->bind_ifindex))
				return -ENODEV;
			break;
		case ':':
			return sp_option_error(opt, argv, "ping");
		default:
			err = sp_kind_cli_option(&a->kinds, opt, optarg);
			if (err <= 0) {
				if (err)
					return err;
				break;
			}
			return sp_option_error(opt, argv, "ping");
		}
	}
	err = sp_kind_cli_finish(&a->kinds);
	if (err)
		return err;
	if (argc - optind != 1) {
		sp_err(optind >= argc ? "no TARGET given: write host:port, e.g. 'synprobe ping 127.0.0.1:22'" :
					"ping takes one TARGET: use 'synprobe check' for several");
		return -EINVAL;
	}
	return sp_mark_allowed(a->mark);
}

/*
 * A probe past the handshake (--tls, --expect...): its kind's pairs at the end of its line
 * (the row's ping_text: "tls=TLS1.3 tls_handshake=1.21 ms first_byte=310 us"). A half-open
 * probe's line gets nothing.
 */
static void print_kind(const struct synprobe_result *res)
{
	const struct sp_kind_row *row = sp_kind_row_of(res->kind);

	if (row && row->ping_text)
		row->ping_text(stdout, res);
}

static void on_probe(const struct synprobe_result *res, void *ctx)
{
	struct ping_stats *st = ctx;
	unsigned long seq = (unsigned long)(uintptr_t)res->user;
	char rtt[32];

	switch (res->outcome) {
	case SYNPROBE_OPEN:
		st->open++;
		break;
	case SYNPROBE_CLOSED:
		st->closed++;
		break;
	case SYNPROBE_UNREACHABLE:
		st->unreachable++;
		break;
	case SYNPROBE_TIMEOUT:
		/* The TCP handshake was answered, the reply past it never came: not a lost probe. */
		if (res->kind_result)
			st->errors++;
		else
			st->lost++;
		break;
	case SYNPROBE_ERROR:
	case SYNPROBE_MISMATCH:	 /* a completing kind's failures count as errors */
	case SYNPROBE_TLS_ERROR:
		st->errors++;
		break;
	}
	if (res->has_rtt) {
		double ns = (double)res->rtt_ns;

		if (!st->with_rtt || ns < st->rtt_min_ns)
			st->rtt_min_ns = ns;
		if (!st->with_rtt || ns > st->rtt_max_ns)
			st->rtt_max_ns = ns;
		st->rtt_sum_ns += ns;
		st->rtt_sum_sq_ns += ns * ns;
		st->with_rtt++;
		st->user_space_rtt |= res->rtt_user_space;
	}
	if (st->method == NULL)
		return;
	if (sp_json_output) {
		json_object *obj = sp_result_json(st->target, res, st->method);

		json_object_object_add(obj, "seq", json_object_new_int64((int64_t)seq));
		printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(obj);
	} else {
		printf("seq=%lu %s %s", seq, st->target, synprobe_outcome_str(res->outcome));
		if (res->has_rtt)
			printf(" rtt=%s%s", sp_format_ns(res->rtt_ns, rtt, sizeof(rtt)),
			       res->rtt_user_space ? " (user space)" : "");
		if (res->detail)
			printf(" (%s)", res->detail);
		else if (res->error)
			printf(" (%s)", strerror(res->error));
		if (res->flow && res->flow->state == SP_FLOW_REPLIED && res->flow->reply != SP_REPLY_ICMP)
			printf(" ttl=%u", res->flow->reply_ttl);
		if (res->syn_retransmits)
			printf(" syn_retransmits=%u", res->syn_retransmits);
		print_kind(res);
		printf("\n");
	}
	fflush(stdout);
}

static void print_summary(const struct ping_stats *st, double elapsed_ms)
{
	double avg = 0, mdev = 0;
	__u32 answered = st->open + st->closed + st->unreachable;

	if (st->with_rtt) {
		avg = st->rtt_sum_ns / st->with_rtt;
		/* mdev as iputils computes it: sqrt(E[x^2] - E[x]^2). */
		mdev = sqrt(fmax(0, st->rtt_sum_sq_ns / st->with_rtt - avg * avg));
	}
	if (sp_json_output) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "summary", json_object_new_boolean(true));
		json_object_object_add(obj, "target", json_object_new_string(st->target));
		json_object_object_add(obj, "method", json_object_new_string(st->method));
		json_object_object_add(obj, "sent", json_object_new_int64(st->sent));
		json_object_object_add(obj, "open", json_object_new_int64(st->open));
		json_object_object_add(obj, "closed", json_object_new_int64(st->closed));
		json_object_object_add(obj, "unreachable", json_object_new_int64(st->unreachable));
		json_object_object_add(obj, "lost", json_object_new_int64(st->lost));
		json_object_object_add(obj, "errors", json_object_new_int64(st->errors));
		json_object_object_add(obj, "loss_percent",
				       json_object_new_double(st->sent ? 100.0 * st->lost / st->sent : 0));
		json_object_object_add(obj, "time_ms", json_object_new_int64((int64_t)elapsed_ms));
		json_object_object_add(obj, "rtt_min_ns",
				       st->with_rtt ? json_object_new_int64((int64_t)st->rtt_min_ns) : NULL);
		json_object_object_add(obj, "rtt_avg_ns",
				       st->with_rtt ? json_object_new_int64((int64_t)avg) : NULL);
		json_object_object_add(obj, "rtt_max_ns",
				       st->with_rtt ? json_object_new_int64((int64_t)st->rtt_max_ns) : NULL);
		json_object_object_add(obj, "rtt_mdev_ns",
				       st->with_rtt ? json_object_new_int64((int64_t)mdev) : NULL);
		printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(obj);
		return;
	}
	printf("\n--- %s synprobe ping statistics (method %s) ---\n", st->target, st->method);
	printf("%u probes sent, %u answered (%u open, %u closed, %u unreachable), %u lost, %u errors, %.0f%% loss, time %.0fms\n",
	       st->sent, answered, st->open, st->closed, st->unreachable, st->lost, st->errors,
	       st->sent ? 100.0 * st->lost / st->sent : 0.0, elapsed_ms);
	if (st->with_rtt)
		printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms%s\n", st->rtt_min_ns / 1e6,
		       avg / 1e6, st->rtt_max_ns / 1e6, mdev / 1e6,
		       st->user_space_rtt ? " (user space)" : "");
}

static __u64 mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int do_ping(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sig_handler };
	struct ping_args a = {};
	struct ping_stats st = {};
	struct sp_target_spec spec;
	struct sp_address addr;
	struct synprobe *sp = NULL;
	char err_msg[SP_ERR_MAX];
	__u64 start_ms, next_ms, now;
	const char *method = NULL;
	sigset_t block, wait_mask;
	struct synprobe_check_opts copts = { .sz = sizeof(copts) };
	union sp_kind_arg_buf kind_arg;
	int err, wait_ms;

	err = parse_args(argc, argv, &a);
	if (err) {
		sp_kind_cli_free(&a.kinds);
		return err > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;
	}
	if (sp_target_parse(argv[optind], a.port, &spec, err_msg, sizeof(err_msg)) ||
	    sp_target_resolve(&spec, a.family, false, &addr, 1, err_msg, sizeof(err_msg)) < 0) {
		sp_err("%s", err_msg);
		sp_kind_cli_free(&a.kinds);
		return SP_EXIT_USAGE;
	}
	copts.mark = a.mark;
	copts.bind_ifindex = a.bind_ifindex;
	sp_kind_cli_check_opts(&a.kinds, spec.host, &kind_arg, &copts);
	st.target = argv[optind];

	/* Signals are unblocked only inside the wait (epoll_pwait), so none is lost before it. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sp = sp_open_engine(a.method,
			    (struct synprobe_opts){
				    .sz = sizeof(struct synprobe_opts),
				    .ifindexes = a.n_ifindexes ? a.ifindexes : NULL,
				    .n_ifindexes = a.n_ifindexes,
				    .on_result = on_probe,
				    .ctx = &st,
				    .wait_sigmask = &wait_mask,
				    .mark = a.mark,
				    .bind_ifindex = a.bind_ifindex,
				    .threads = a.threads,
			    },
			    &method);
	if (!sp) {
		sp_kind_cli_free(&a.kinds);
		return SP_EXIT_USAGE;
	}
	/* Lines only once the method is known; a quiet run keeps method NULL in the callback. */
	st.method = a.quiet ? NULL : method;

	start_ms = next_ms = mono_ms();
	while (!exiting && ((!a.count || st.sent < a.count) || synprobe_in_flight(sp))) {
		now = mono_ms();
		if ((!a.count || st.sent < a.count) && now >= next_ms) {
			err = synprobe_start_ex(sp, (struct sockaddr *)&addr.addr, addr.addrlen,
						a.timeout_ms, &copts, (void *)(uintptr_t)(st.sent + 1));
			if (err) {
				sp_err("cannot start probe %u of '%s': %s", st.sent + 1, st.target,
				       strerror(-err));
				goto cleanup;
			}
			st.sent++;
			next_ms += a.interval_ms;
			continue;
		}
		wait_ms = (!a.count || st.sent < a.count) ? (int)(next_ms - now) : -1;
		err = synprobe_poll(sp, wait_ms);
		if (err < 0 && err != -EINTR) {
			sp_err("event loop failed: %s", strerror(-err));
			goto cleanup;
		}
	}
	err = 0;
cleanup:
	/* Probes still in flight at Ctrl-C are neither answered nor lost: they are not counted. */
	st.sent -= synprobe_in_flight(sp);
	synprobe_close(sp);
	sp_kind_cli_free(&a.kinds);
	st.method = method;
	print_summary(&st, (double)(mono_ms() - start_ms));
	if (err)
		return SP_EXIT_USAGE;
	return st.sent && st.open == st.sent ? SP_EXIT_OK : SP_EXIT_NOT_OK;
}
