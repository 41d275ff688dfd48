/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * check_kind.h - the table of completing kinds, CLI and serve side: one row (struct sp_kind_row)
 * per completing kind (a public struct synprobe_kind run by the engine after the handshake, see
 * libsynprobe.h), carrying what shows and configures it: its options, its JSON keys and text,
 * its result's size. check, ping and output.c go through the table and no longer name a kind.
 *
 *	row		file		engine kind	options
 *	sp_kind_row_l7	l7_cli.c	sp_kind_l7	--tls --sni --ca --insecure --alpn --send
 *							--expect --proxy-protocol --close
 *
 * The library (libsynprobe) does not see this table: GnuTLS and PCRE2 stay out of it.
 * A new completing kind: a file with its struct synprobe_kind and its `const struct sp_kind_row
 * sp_kind_row_NAME` (the hooks it needs; a NULL hook does nothing), the extern below, and the
 * row in check_kind.c's sp_completing_kinds[]. Its getopt values must not collide with another
 * row's (l7 uses 0x200 to 0x2ff).
 */
#ifndef __SP_CHECK_KIND_H
#define __SP_CHECK_KIND_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <json-c/json.h>
#include "libsynprobe.h"

#define SP_KIND_ROWS_MAX 8	/* rows in sp_completing_kinds[] at most */
#define SP_KIND_OPTIONS_MAX 64	/* long options of a command and of every row, with the end row */
#define SP_KIND_ARG_MAX 64	/* bytes of one check's kind_arg (arg_size) */
#define SP_KIND_RESULT_MAX 1024 /* bytes of a copied kind_result (result_size) */

/* Storage for one check's kind_arg, aligned for any row's struct. */
union sp_kind_arg_buf {
	max_align_t align;
	unsigned char bytes[SP_KIND_ARG_MAX];
};

/* Storage for a copy of a check's kind_result (synprobe_result.kind_result). */
union sp_kind_result_buf {
	max_align_t align;
	unsigned char bytes[SP_KIND_RESULT_MAX];
};

struct sp_kind_row {
	const char *name;		   /* "l7" */
	const struct synprobe_kind *kind;  /* the engine's part: synprobe_check_opts.kind */
	/*
	 * result_size - sizeof the kind's synprobe_result.kind_result, a plain struct without
	 * pointers: callers that keep a result past on_result copy it with memcpy() into a
	 * union sp_kind_result_buf (at most SP_KIND_RESULT_MAX).
	 */
	size_t result_size;
	/*
	 * json - adds the kind's keys to @obj (check -j, ping -j): each key is
	 * always there, null when the check did not get that far. @res->kind is this row's kind;
	 * @res->kind_result may be NULL.
	 */
	void (*json)(json_object *obj, const struct synprobe_result *res);
	/*
	 * text - check's human line: what the kind ran (e.g. "  TLS1.3 TLS_AES_..."), when no
	 * error or detail is printed in its place. Prints nothing when it has nothing to say.
	 */
	void (*text)(FILE *f, const struct synprobe_result *res);
	/* ping_text - the end of ping's line: " key=value" pairs (units: durations formatted). */
	void (*ping_text)(FILE *f, const struct synprobe_result *res);

	/* CLI (check and ping): the options are gathered while getopt runs, then compiled. */
	const struct option *long_options; /* ends with a zero row; appended to the command's */
	size_t cli_size;		   /* bytes of the row's option state (zeroed by the caller) */
	/*
	 * cli_option - getopt's @opt with @arg into @cli: 0, 1 when @opt is not this row's, or a
	 * negative errno after one error line naming the option.
	 */
	int (*cli_option)(void *cli, int opt, const char *arg);
	/*
	 * cli_finish - after getopt: checks the options together and compiles them. Sets
	 * *@active when the kind runs in this run (some option of the row was given). 0, or a
	 * negative errno after one error line. cli_free() frees what it made, also on error.
	 */
	int (*cli_finish)(void *cli, bool *active);
	/*
	 * cli_check_opts - an active row's settings of one check to @host (the target's host as
	 * written): fills @arg (arg_size bytes, the caller's, alive while the check runs) and
	 * @copts->kind, kind_arg (= @arg) and close_fin.
	 */
	void (*cli_check_opts)(const void *cli, const char *host, void *arg,
			       struct synprobe_check_opts *copts);
	size_t arg_size;		   /* bytes of one check's kind_arg (<= SP_KIND_ARG_MAX) */
	void (*cli_free)(void *cli);	   /* what cli_finish() made; not @cli itself */
	void (*cli_usage)(FILE *f);	   /* the options' help lines (check's and ping's --help) */
};

extern const struct sp_kind_row sp_kind_row_l7;

/* The table: NULL-terminated, at most SP_KIND_ROWS_MAX rows. */
extern const struct sp_kind_row *const sp_completing_kinds[];

/* sp_kind_row_of - the row of the engine kind @kind (a result's res->kind), or NULL. */
const struct sp_kind_row *sp_kind_row_of(const struct synprobe_kind *kind);

/*
 * A command's completing-kind options: each row's state (allocated by sp_kind_cli_init()), and
 * after sp_kind_cli_finish() the row that runs (at most one), or NULL for a plain check.
 */
struct sp_kind_cli {
	void *state[SP_KIND_ROWS_MAX];
	const struct sp_kind_row *active;
	void *active_state;
};

/*
 * sp_kind_cli_init - @c zeroed, with each row's option state allocated. @base: the command's
 * long options (ending with a zero row); @out gets them, then every row's (the same order as
 * the table), for getopt_long. 0, or -ENOMEM / -E2BIG after one error line.
 */
int sp_kind_cli_init(struct sp_kind_cli *c, const struct option *base,
		     struct option out[SP_KIND_OPTIONS_MAX]);

/* sp_kind_cli_option - gives @opt to the rows: 0, 1 when no row takes it, or a negative errno. */
int sp_kind_cli_option(struct sp_kind_cli *c, int opt, const char *arg);

/*
 * sp_kind_cli_finish - each row's cli_finish(); sets c->active. 0, or a negative errno after
 * one error line (two rows active: their options cannot be given together).
 */
int sp_kind_cli_finish(struct sp_kind_cli *c);

/*
 * sp_kind_cli_check_opts - one check's settings: @copts unchanged when no row is active, else
 * the active row's cli_check_opts() with @arg as its kind_arg storage.
 */
void sp_kind_cli_check_opts(const struct sp_kind_cli *c, const char *host,
			    union sp_kind_arg_buf *arg, struct synprobe_check_opts *copts);

/* sp_kind_cli_usage - every row's help lines. */
void sp_kind_cli_usage(FILE *f);

/* sp_kind_cli_free - what init and finish made; @c may be zeroed or partly made. */
void sp_kind_cli_free(struct sp_kind_cli *c);

/*
 * sp_kind_result_copy - copies @res's kind_result into @buf and points @copy->kind_result at it
 * (@copy: a copy of @res kept past on_result). A kind without a row, or no result: NULL.
 */
void sp_kind_result_copy(const struct synprobe_result *res, union sp_kind_result_buf *buf,
			 struct synprobe_result *copy);

#endif /* __SP_CHECK_KIND_H */
