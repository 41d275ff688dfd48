/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve_l7.h - serve's checks past the TCP handshake (YAML tls:, query_response:,
 * proxy_protocol:, close:), compiled once per distinct setting into the l7 kind's options.
 *
 * struct serve_settings is copied by value (defaults into checks, checks into file_sd's merged
 * set, into the running checks) and compared by serve_check_config_equal(); the compiled TLS
 * credentials and PCRE2 patterns cannot be copied that way. So each distinct setting is
 * compiled once and interned in a process-wide table: settings hold a pointer that stays valid
 * until exit, and two settings are alike exactly when the pointers are equal. The key is the
 * setting's canonical text plus the CA file's identity (device, inode, size, mtime): a changed
 * CA file is read again at the next load. At most SERVE_L7_MAX distinct settings per process.
 */
#ifndef __SP_SERVE_L7_H
#define __SP_SERVE_L7_H

#include <stdbool.h>
#include <stddef.h>
#include "check_kind.h"
#include "expect.h"
#include "kind_l7.h"

#define SERVE_L7_MAX 1024

/* What the YAML says (pointers: the caller's until serve_l7_get() copies them). */
struct serve_l7_spec {
	bool tls, insecure;
	const char *sni, *ca_file, *alpn; /* NULL: not given */
	unsigned int n_steps;
	const char *sends[SP_EXPECT_STEPS_MAX];	  /* C escapes, as --send; NULL: none */
	const char *expects[SP_EXPECT_STEPS_MAX]; /* PCRE2, as --expect; NULL: none */
	enum sp_proxy_version proxy;
	bool close_given, close_fin;
};

struct serve_l7 {
	struct serve_kind_cfg base; /* first: row "l7" (check_kind.h); settings point here */
	struct serve_l7_spec spec;  /* its strings owned by this object */
	bool active;		   /* some setting completes the connection: the kind runs */
	struct sp_l7_opts opts;	   /* what synprobe_check_opts.kind_arg points to (via sp_l7_arg) */
	struct sp_tls_config *tls_cfg;
	struct sp_steps *steps;
	char *key;
	struct serve_l7 *next;
};

/*
 * serve_l7_get - the compiled, interned object of @spec (copied), created at the first call with
 * that setting. Returns it (valid until exit, shared, read-only), or NULL with one line in @err:
 * the CA file or the ALPN list (sp_tls_config_new()), a send's escapes or a pattern (the step is
 * named "[I].send" / "[I].expect"), --close without a completing setting, or the table full.
 */
const struct serve_l7 *serve_l7_get(const struct serve_l7_spec *spec, char *err, size_t errlen);

/*
 * The l7 row's serve hooks (serve_l7_row.c; struct sp_kind_row in check_kind.h): @cfg is a
 * struct serve_l7 (its base), @kept a struct serve_l7_kept.
 */
struct serve_l7_kept {
	bool has_cert;		 /* cert is from the last handshake that got a certificate */
	struct sp_tls_info cert;
};

bool serve_l7_active(const void *cfg);
void serve_l7_check_opts(const void *cfg, const char *host, void *arg,
			 struct synprobe_check_opts *copts);
bool serve_l7_keep(void *kept, const void *result);
void serve_l7_metrics(struct serve_buf *b, size_t n, sp_kind_serve_check_at at, const void *ctx);
void serve_l7_probe_metrics(struct serve_buf *b, const struct sp_kind_serve_probe *p);

#endif
