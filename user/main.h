/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* main.h - the CLI's command table (as bpftool's struct cmd) and what its commands share. */
#ifndef __SP_MAIN_H
#define __SP_MAIN_H

#include <stdbool.h>
#include <stddef.h>
#include "libsynprobe.h"

/* Exit status of every command. */
enum sp_exit {
	SP_EXIT_OK = 0,	   /* every target open */
	SP_EXIT_NOT_OK = 1, /* some target not open (or the run was interrupted) */
	SP_EXIT_USAGE = 2, /* bad usage or set-up error */
};

struct cmd {
	const char *name;
	int (*func)(int argc, char **argv);
	const char *summary;
};

/* -v count: 1 adds the evidence, libbpf's warnings and the BPF counters; 2 libbpf's debug log. */
extern int sp_verbose;

/* sp_setup_libbpf_print - libbpf's messages by @verbosity (0: none, 1: warnings, 2: debug). */
void sp_setup_libbpf_print(int verbosity);

/* -m/--method of the commands that check. */
enum method_choice {
	METHOD_AUTO,	/* bpf, or connect with a warning when BPF cannot be loaded */
	METHOD_BPF,	/* bpf or nothing */
	METHOD_CONNECT, /* connect, never BPF */
};

/* sp_parse_method - "auto", "bpf" or "connect" into @choice; else one error line and -EINVAL. */
int sp_parse_method(const char *arg, enum method_choice *choice);

/*
 * sp_parse_interfaces - a comma-separated list of interface names into @ifindexes (@n of @max
 * used, appended to). On an unknown name or too many: one error line, -ENODEV or -E2BIG.
 */
int sp_parse_interfaces(const char *arg, int *ifindexes, size_t *n, size_t max);

/*
 * sp_parse_mark - --mark: a number from 1 to 4294967295 (decimal, or hex with 0x, as `ip rule
 * fwmark` writes it) into @mark. On bad input: one error line, -EINVAL.
 */
int sp_parse_mark(const char *arg, __u32 *mark);

/*
 * sp_parse_bind_interface - --bind-interface: an interface name (a VRF device selects its VRF)
 * into @ifindex. An unknown name: one error line naming it, -ENODEV.
 */
int sp_parse_bind_interface(const char *arg, int *ifindex);

/*
 * sp_mark_allowed - whether this process may set SO_MARK @mark (CAP_NET_ADMIN, or CAP_NET_RAW
 * from kernel 5.17); 0 (also for @mark 0), or one error line and -EPERM.
 */
int sp_mark_allowed(__u32 mark);

/*
 * sp_open_engine - synprobe_open() with @opts and the method @choice; METHOD_AUTO falls back to
 * method connect with one warning line that gives the reason (also in sp_fallback_reason) when
 * BPF cannot be loaded. Sets *method to "bpf" or "connect". Returns the engine, or NULL after
 * printing one error line (and, for a program the verifier rejected, the end of its log).
 */
struct synprobe *sp_open_engine(enum method_choice choice, struct synprobe_opts opts,
				const char **method);

/*
 * sp_parse_threads - --threads N: event loops, 1 to SP_MAX_LOOPS (64), into @threads; else one
 * error line naming the option and -EINVAL.
 */
int sp_parse_threads(const char *arg, unsigned int *threads);

/* sp_threads_default - event loops without --threads: the online CPUs, 1 to SP_MAX_LOOPS. */
unsigned int sp_threads_default(void);

/* -t/--timeout of check and ping without the option. */
#define SP_DEFAULT_TIMEOUT_MS 1000

/*
 * sp_check_defaults - the engine settings check and ping start from, before their options:
 * --method auto, a 1 s timeout (SP_DEFAULT_TIMEOUT_MS), either address family, and
 * sp_threads_default() event loops.
 */
void sp_check_defaults(enum method_choice *method, __u32 *timeout_ms, int *family,
		       unsigned int *threads);

/* sp_open_error - the one error line for a synprobe_open() failure with positive errno @err. */
void sp_open_error(int err);

int do_check(int argc, char **argv);
int do_cleanup(int argc, char **argv);
int do_keepalive(int argc, char **argv);
int do_halfclose(int argc, char **argv);
int do_ping(int argc, char **argv);
int do_serve(int argc, char **argv);

#endif
