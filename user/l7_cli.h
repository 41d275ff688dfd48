/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * l7_cli.h - the options of check and ping that go past the TCP handshake (--tls, --sni, --ca,
 * --insecure, --alpn, --send, --expect, --proxy-protocol, --close), gathered while getopt runs
 * and compiled once into the l7 kind's options (kind_l7.h). Commands reach them through the l7
 * row of the table of completing kinds (sp_kind_row_l7 in l7_cli.c, check_kind.h).
 */
#ifndef __SP_L7_CLI_H
#define __SP_L7_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "expect.h"
#include "kind_l7.h"

/* getopt_long values of the options (above every short option's character). */
enum sp_l7_opt {
	SP_L7_OPT_TLS = 0x200,
	SP_L7_OPT_SNI,
	SP_L7_OPT_CA,
	SP_L7_OPT_INSECURE,
	SP_L7_OPT_ALPN,
	SP_L7_OPT_SEND,
	SP_L7_OPT_EXPECT,
	SP_L7_OPT_PROXY,
	SP_L7_OPT_CLOSE,
};

/* The options as given (pointers into argv), then what they compile to. */
struct sp_l7_cli {
	bool tls, insecure, close_given, close_fin;
	const char *sni, *ca, *alpn, *tls_opt; /* tls_opt: the first TLS option without --tls */
	const char *sends[SP_EXPECT_STEPS_MAX];
	const char *expects[SP_EXPECT_STEPS_MAX];
	unsigned int n_steps;
	enum sp_proxy_version proxy;
	/* sp_l7_cli_finish() */
	bool active; /* a completing kind runs: some option above was given */
	struct sp_l7_opts opts;
	struct sp_tls_config *tls_cfg;
	struct sp_steps *steps;
};

/*
 * sp_l7_cli_option - takes getopt's @opt (enum sp_l7_opt) with @arg. Each --send starts a step;
 * an --expect joins the step before it, or starts one when that step has one already. Returns
 * 0, 1 when @opt is not one of these, or -EINVAL after one error line naming the option.
 */
int sp_l7_cli_option(struct sp_l7_cli *c, int opt, const char *arg);

/*
 * sp_l7_cli_finish - checks the options together and compiles them (the CA file read, the
 * patterns compiled, the escapes parsed): 0, or -EINVAL after one error line.
 */
int sp_l7_cli_finish(struct sp_l7_cli *c);

/* sp_l7_cli_free - what sp_l7_cli_finish() made. */
void sp_l7_cli_free(struct sp_l7_cli *c);

/* sp_l7_cli_usage - the help lines of these options. */
void sp_l7_cli_usage(FILE *f);

#endif /* __SP_L7_CLI_H */
