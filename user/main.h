/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* main.h - the CLI's command table (as bpftool's struct cmd) and what its commands share. */
#ifndef __SP_MAIN_H
#define __SP_MAIN_H

#include <stdbool.h>

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

int do_check(int argc, char **argv);

#endif
