// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* main.c - synprobe's command table and entry point. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "main.h"
#include "output.h"
#include "util.h"

int sp_verbose;

static int do_help(int argc, char **argv);
static int do_version(int argc, char **argv);

static const struct cmd cmds[] = {
	{ "check", do_check, "half-open TCP check of targets, RTT measured in the kernel" },
	{ "ping", do_ping, "one half-open check per interval, with ping's summary" },
	{ "serve", do_serve, "the long-running prober: YAML config, rise/fall, Prometheus metrics" },
	{ "keepalive", do_keepalive, "hold a connection, report keepalive probes and their RTT" },
	{ "halfclose", do_halfclose, "half-close test server and client: is half-close honoured?" },
	{ "cleanup", do_cleanup, "remove the tc filters that killed runs left on clsact hooks" },
	{ "help", do_help, "this text" },
	{ "version", do_version, "print the version" },
	{ NULL, NULL, NULL },
};

int sp_parse_threads(const char *arg, unsigned int *threads)
{
	__u32 n;

	if (sp_parse_count(arg, SP_MAX_LOOPS, &n)) {
		sp_err("threads '%s': give a whole number of event loops from 1 to %d", arg,
		       SP_MAX_LOOPS);
		return -EINVAL;
	}
	*threads = n;
	return 0;
}

unsigned int sp_threads_default(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* One event loop per online CPU: 1.36x the checks/s of one loop on 2 CPUs (make bench). */
	if (n < 1)
		return 1;
	return n > SP_MAX_LOOPS ? SP_MAX_LOOPS : (unsigned int)n;
}

void sp_check_defaults(enum method_choice *method, __u32 *timeout_ms, int *family,
		       unsigned int *threads)
{
	*method = METHOD_AUTO;
	*timeout_ms = SP_DEFAULT_TIMEOUT_MS;
	*family = AF_UNSPEC;
	*threads = sp_threads_default();
}

static int libbpf_verbosity;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && libbpf_verbosity < 2)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void sp_setup_libbpf_print(int verbosity)
{
	/* libbpf's own messages only with -v (debug with -vv): without, our one-line error says it. */
	libbpf_verbosity = verbosity;
	libbpf_set_print(verbosity ? libbpf_print : NULL);
}

static int do_help(int argc, char **argv)
{
	const struct cmd *c;

	printf("Usage: synprobe COMMAND [OPTIONS] ...\n\n"
	       "check and ping tell whether TCP services are alive without opening a connection\n"
	       "to them (SYN, SYN-ACK, RST), with the handshake RTT measured by tc BPF programs.\n"
	       "keepalive and halfclose watch live connections the same way.\n\n"
	       "Commands:\n");
	for (c = cmds; c->name; c++)
		printf("  %-9s %s\n", c->name, c->summary);
	printf("\n'synprobe COMMAND --help' for a command's options.\n");
	return SP_EXIT_OK;
}

static int do_version(int argc, char **argv)
{
	printf("synprobe %s (libbpf %s)\n", SYNPROBE_VERSION, libbpf_version_string());
	return SP_EXIT_OK;
}

/*
 * A check holds a socket: the usual soft limit of 1024 descriptors would cap what runs at once.
 * Raising the soft limit to the hard one needs no privilege; the engine also waits for a free
 * descriptor (EMFILE) rather than failing a check.
 */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	const struct cmd *c;

	sp_setup_libbpf_print(0);
	raise_nofile();
	if (argc < 2) {
		do_help(0, NULL);
		return SP_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))
		return do_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		return do_version(argc - 1, argv + 1);
	for (c = cmds; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->func(argc - 1, argv + 1);
	sp_err("unknown command '%s': see 'synprobe help'", argv[1]);
	return SP_EXIT_USAGE;
}
