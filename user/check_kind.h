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
 * serve's settings of a kind (YAML tls:, query_response:... in checks and modules) are a struct
 * that starts with struct serve_kind_cfg, naming its row; serve (cmd_serve.c, serve_http.c) finds
 * the row by that name and calls its serve_* hooks.
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
#include <linux/types.h>
#include "libsynprobe.h"

struct serve_buf;
struct sp_kind_row;

#define SP_KIND_ROWS_MAX 8	/* rows in sp_completing_kinds[] at most */
#define SP_KIND_OPTIONS_MAX 64	/* long options of a command and of every row, with the end row */
#define SP_KIND_ARG_MAX 64	/* bytes of one check's kind_arg (arg_size) */
#define SP_KIND_RESULT_MAX 1024 /* bytes of a copied kind_result (result_size) */

#define SP_KIND_KEPT_MAX 1024	/* bytes of serve's per-check state of a row (kept_size) */

/*
 * The head of serve's compiled settings of a completing kind (e.g. struct serve_l7): interned
 * by the kind's file, read-only and valid until exit, so settings copy it by pointer.
 */
struct serve_kind_cfg {
	const char *row; /* the row's name (sp_kind_row_by_name()) */
};

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

/* Storage for what serve keeps per check across runs for a row (kept_size bytes). */
union sp_kind_kept_buf {
	max_align_t align;
	unsigned char bytes[SP_KIND_KEPT_MAX];
};

/* One serve check as a row's serve_metrics() sees it (filled by cmd_serve.c). */
struct sp_kind_serve_check {
	const char *labels;  /* its labels, `name="value",...` without braces */
	const void *cfg;     /* its settings of this row's kind (a serve_kind_cfg), or NULL */
	bool has_last;	     /* it has run (or failed to start) at least once */
	bool last_success;   /* the last run was a success (outcome open) */
	__u64 last_rtt_ns;   /* the last run's handshake RTT, 0: none */
	const void *result;  /* the last run's kind_result if it was this row's, else NULL */
	const void *kept;    /* this row's kept state (serve_keep()), or NULL when none yet */
};

/*
 * serve_check_at - fills @v with serve's check @i (0 <= i < n) for @row: the accessor cmd_serve.c
 * hands to serve_metrics(), so that its check struct stays private.
 */
typedef void (*sp_kind_serve_check_at)(const void *ctx, size_t i,
					 const struct sp_kind_row *row,
					 struct sp_kind_serve_check *v);

/* A /probe's run as a row's serve_probe_metrics() sees it (filled by serve_http.c). */
struct sp_kind_serve_probe {
	const void *cfg;		/* the module's settings of this row's kind */
	enum synprobe_outcome outcome;
	bool has_rtt;
	__u64 rtt_ns;			/* the handshake RTT when has_rtt */
	const void *result;		/* the run's kind_result (a copy), or NULL */
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

	/*
	 * serve (cmd_serve.c, serve_http.c), with @cfg the row's settings (a serve_kind_cfg
	 * naming this row). Its YAML keys are still read by serve_config.c (parse_l7()).
	 */
	/* serve_active - the settings @cfg make a check of this kind run (else: half-open). */
	bool (*serve_active)(const void *cfg);
	/*
	 * serve_check_opts - as cli_check_opts, from @cfg: fills @arg (arg_size bytes, the
	 * caller's, alive while the check runs) and @copts->kind, kind_arg and close_fin.
	 */
	void (*serve_check_opts)(const void *cfg, const char *host, void *arg,
				 struct synprobe_check_opts *copts);
	size_t kept_size; /* bytes of serve's per-check state of the row (<= SP_KIND_KEPT_MAX) */
	/*
	 * serve_keep - after a check's run with this row's @result: updates @kept (kept_size
	 * bytes, zeroed at the check's start), what the metrics keep across runs (l7: the last
	 * certificate). Returns true when @kept now holds something to show.
	 */
	bool (*serve_keep)(void *kept, const void *result);
	/*
	 * serve_metrics - the row's families on /metrics, over serve's @n checks read through
	 * @at(@ctx, i, this row, &view): every family's HELP and TYPE, then its samples.
	 */
	void (*serve_metrics)(struct serve_buf *b, size_t n, sp_kind_serve_check_at at,
			      const void *ctx);
	/* serve_probe_metrics - a /probe of a module of this kind: the run's families. */
	void (*serve_probe_metrics)(struct serve_buf *b, const struct sp_kind_serve_probe *p);
};

extern const struct sp_kind_row sp_kind_row_l7;

/* The table: NULL-terminated, at most SP_KIND_ROWS_MAX rows. */
extern const struct sp_kind_row *const sp_completing_kinds[];

/* sp_kind_row_of - the row of the engine kind @kind (a result's res->kind), or NULL. */
const struct sp_kind_row *sp_kind_row_of(const struct synprobe_kind *kind);

/* sp_kind_row_by_name - the row named @name ("l7"), or NULL (also for NULL). */
const struct sp_kind_row *sp_kind_row_by_name(const char *name);

/* sp_kind_row_of_cfg - the row of serve's settings @cfg, or NULL when @cfg is NULL. */
const struct sp_kind_row *sp_kind_row_of_cfg(const struct serve_kind_cfg *cfg);

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
