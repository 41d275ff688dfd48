// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * l7_cli.c - the l7 kind's row in the table of completing kinds (check_kind.h): check's and
 * ping's options past the TCP handshake, compiled into the l7 kind's options, and what its
 * result shows (JSON keys, check's and ping's lines).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "cescape.h"
#include "check_kind.h"
#include "l7_cli.h"
#include "output.h"
#include "serve_l7.h"
#include "util.h"

_Static_assert(sizeof(struct sp_l7_result) <= SP_KIND_RESULT_MAX,
	       "struct sp_l7_result must fit union sp_kind_result_buf");
_Static_assert(sizeof(struct sp_l7_arg) <= SP_KIND_ARG_MAX,
	       "struct sp_l7_arg must fit union sp_kind_arg_buf");
_Static_assert(sizeof(struct serve_l7_kept) <= SP_KIND_KEPT_MAX,
	       "struct serve_l7_kept must fit union sp_kind_kept_buf");

int sp_l7_cli_option(struct sp_l7_cli *c, int opt, const char *arg)
{
	switch (opt) {
	case SP_L7_OPT_TLS:
		c->tls = true;
		return 0;
	case SP_L7_OPT_SNI:
		if (!*arg || strlen(arg) > 253) {
			sp_err("--sni '%.40s': give a host name of 1 to 253 characters", arg);
			return -EINVAL;
		}
		c->sni = arg;
		c->tls_opt = c->tls_opt ? c->tls_opt : "--sni";
		return 0;
	case SP_L7_OPT_CA:
		c->ca = arg;
		c->tls_opt = c->tls_opt ? c->tls_opt : "--ca";
		return 0;
	case SP_L7_OPT_INSECURE:
		c->insecure = true;
		c->tls_opt = c->tls_opt ? c->tls_opt : "--insecure";
		return 0;
	case SP_L7_OPT_ALPN:
		c->alpn = arg;
		c->tls_opt = c->tls_opt ? c->tls_opt : "--alpn";
		return 0;
	case SP_L7_OPT_SEND:
	case SP_L7_OPT_EXPECT:
		if (opt == SP_L7_OPT_SEND || c->n_steps == 0 || c->expects[c->n_steps - 1]) {
			if (c->n_steps == SP_EXPECT_STEPS_MAX) {
				sp_err("more than %d --send/--expect steps: use fewer",
				       SP_EXPECT_STEPS_MAX);
				return -EINVAL;
			}
			c->n_steps++;
		}
		if (opt == SP_L7_OPT_SEND)
			c->sends[c->n_steps - 1] = arg;
		else
			c->expects[c->n_steps - 1] = arg;
		return 0;
	case SP_L7_OPT_PROXY:
		if (sp_proxy_version_parse(arg, &c->proxy)) {
			sp_err("--proxy-protocol '%s': give v1 or v2", arg);
			return -EINVAL;
		}
		return 0;
	case SP_L7_OPT_CLOSE:
		if (strcmp(arg, "fin") && strcmp(arg, "rst")) {
			sp_err("--close '%s': give fin or rst", arg);
			return -EINVAL;
		}
		c->close_given = true;
		c->close_fin = !strcmp(arg, "fin");
		return 0;
	}
	return 1;
}

int sp_l7_cli_finish(struct sp_l7_cli *c)
{
	struct sp_tls_opts topts = {
		.sni = c->sni, .ca_file = c->ca, .insecure = c->insecure, .alpn = c->alpn,
	};
	__u8 buf[SP_SEND_MAX];
	char err[512];
	unsigned int i;
	size_t len;

	if (c->tls_opt && !c->tls) {
		sp_err("%s is an option of TLS checks: add --tls", c->tls_opt);
		return -EINVAL;
	}
	if (c->ca && c->insecure) {
		sp_err("--ca and --insecure together: --insecure verifies nothing, give one");
		return -EINVAL;
	}
	c->active = c->tls || c->n_steps || c->proxy != SP_PROXY_NONE;
	if (c->close_given && !c->active) {
		sp_err("--close applies to checks that complete the connection (--tls, --send, --expect, --proxy-protocol); a half-open check always ends with RST");
		return -EINVAL;
	}
	if (!c->active)
		return 0;
	if (c->tls) {
		c->tls_cfg = sp_tls_config_new(&topts, err, sizeof(err));
		if (!c->tls_cfg) {
			sp_err("%s", err);
			return -EINVAL;
		}
	}
	c->steps = sp_steps_new();
	if (!c->steps) {
		sp_err("out of memory for the --send/--expect steps");
		return -ENOMEM;
	}
	for (i = 0; i < c->n_steps; i++) {
		len = 0;
		if (c->sends[i] &&
		    sp_cescape_parse(c->sends[i], buf, sizeof(buf), &len, err, sizeof(err))) {
			sp_err("--send '%s': %s", c->sends[i], err);
			return -EINVAL;
		}
		if (sp_steps_add(c->steps, buf, len, c->expects[i], err, sizeof(err))) {
			sp_err("--expect '%s': %s", c->expects[i] ? c->expects[i] : "", err);
			return -EINVAL;
		}
	}
	c->opts.tls = c->tls_cfg;
	c->opts.steps = c->steps;
	c->opts.proxy = c->proxy;
	return 0;
}

void sp_l7_cli_free(struct sp_l7_cli *c)
{
	sp_tls_config_free(c->tls_cfg);
	sp_steps_free(c->steps);
	c->tls_cfg = NULL;
	c->steps = NULL;
}

void sp_l7_cli_usage(FILE *f)
{
	/* The same words as the man pages' and the README's table of these options. */
	fprintf(f,
		"Past the handshake (these complete the connection: the target's accept() returns;\n"
		"the TCP handshake is still timed by the tc programs):\n"
		"      --tls              TLS handshake (GnuTLS); the certificate chain and name are\n"
		"                         verified\n"
		"      --sni NAME         the server name to send and verify (default: the target's\n"
		"                         host; none is sent for an address, which is then verified\n"
		"                         against the certificate's IP SANs)\n"
		"      --ca FILE          verify against the PEM certificates in FILE (default: the\n"
		"                         system's trust store)\n"
		"      --insecure         verify nothing; expiry, subject and issuer are still reported\n"
		"      --alpn LIST        ALPN protocols to offer, comma-separated (h2,http/1.1)\n"
		"      --send STR         send STR; C escapes \\r \\n \\t \\0 \\\\ \\xHH \\NNN (at most\n"
		"                         4096 bytes); starts a step\n"
		"      --expect REGEX     the reply must match REGEX (PCRE2, multi-line) before the\n"
		"                         timeout; it pairs with the --send before it; repeat the pair\n"
		"                         for more steps (16 at most); an --expect first reads a banner\n"
		"      --proxy-protocol v1|v2  send a PROXY protocol header first (HAProxy's\n"
		"                         check-send-proxy), with the connection's own addresses and\n"
		"                         ports\n"
		"      --close fin|rst    how the connection ends (default rst: SO_LINGER {1, 0}, no\n"
		"                         TIME_WAIT left behind)\n"
		"  Outcomes: mismatch (a reply did not match), tls_error (the handshake or the\n"
		"  certificate failed); both say why.\n");
}

static const struct option l7_long_options[] = {
	{ "tls", no_argument, NULL, SP_L7_OPT_TLS },
	{ "sni", required_argument, NULL, SP_L7_OPT_SNI },
	{ "ca", required_argument, NULL, SP_L7_OPT_CA },
	{ "insecure", no_argument, NULL, SP_L7_OPT_INSECURE },
	{ "alpn", required_argument, NULL, SP_L7_OPT_ALPN },
	{ "send", required_argument, NULL, SP_L7_OPT_SEND },
	{ "expect", required_argument, NULL, SP_L7_OPT_EXPECT },
	{ "proxy-protocol", required_argument, NULL, SP_L7_OPT_PROXY },
	{ "close", required_argument, NULL, SP_L7_OPT_CLOSE },
	{ NULL, 0, NULL, 0 },
};

static int l7_cli_option(void *cli, int opt, const char *arg)
{
	return sp_l7_cli_option(cli, opt, arg);
}

static int l7_cli_finish(void *cli, bool *active)
{
	struct sp_l7_cli *c = cli;
	int err;

	err = sp_l7_cli_finish(c);
	*active = !err && c->active;
	return err;
}

static void l7_cli_check_opts(const void *cli, const char *host, void *arg,
			      struct synprobe_check_opts *copts)
{
	const struct sp_l7_cli *c = cli;
	struct sp_l7_arg *a = arg;

	a->opts = &c->opts;
	a->host = host;
	copts->kind = &sp_kind_l7;
	copts->kind_arg = a;
	copts->close_fin = c->close_fin;
}

static void l7_cli_free(void *cli)
{
	sp_l7_cli_free(cli);
}

static json_object *json_str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

/* The keys of an l7 check (--tls, --send...): each present, null when not reached. */
static void l7_json(json_object *obj, const struct synprobe_result *res)
{
	const struct sp_l7_result *l7 = res->kind_result;
	const struct sp_tls_info *ti = l7 && l7->tls ? &l7->info : NULL;
	char when[40];

	json_object_object_add(obj, "tls_handshake_ns",
			       ti && ti->handshake_ns ?
				       json_object_new_int64((int64_t)ti->handshake_ns) : NULL);
	json_object_object_add(obj, "tls_version", json_str_or_null(ti ? ti->version : NULL));
	json_object_object_add(obj, "tls_cipher", json_str_or_null(ti ? ti->cipher : NULL));
	json_object_object_add(obj, "tls_alpn", json_str_or_null(ti ? ti->alpn : NULL));
	sp_rfc3339(ti ? ti->not_after : 0, when, sizeof(when));
	json_object_object_add(obj, "tls_cert_not_after",
			       ti && ti->has_cert ? json_object_new_string(when) : NULL);
	sp_rfc3339(ti ? ti->earliest_not_after : 0, when, sizeof(when));
	json_object_object_add(obj, "tls_cert_earliest_not_after",
			       ti && ti->has_cert ? json_object_new_string(when) : NULL);
	json_object_object_add(obj, "tls_cert_subject",
			       json_str_or_null(ti && ti->has_cert ? ti->subject : NULL));
	json_object_object_add(obj, "tls_cert_issuer",
			       json_str_or_null(ti && ti->has_cert ? ti->issuer : NULL));
	json_object_object_add(obj, "tls_verified",
			       ti && ti->has_cert ? json_object_new_boolean(ti->verified) : NULL);
	json_object_object_add(obj, "expect_matched",
			       l7 && l7->steps ? json_object_new_int((int)l7->expect_matched) :
						 NULL);
	json_object_object_add(obj, "first_byte_ns",
			       l7 && l7->first_byte_ns ?
				       json_object_new_int64((int64_t)l7->first_byte_ns) : NULL);
}

/* check's line: the TLS the check ran ("  TLS1.3 TLS_AES_256_GCM_SHA384"). */
static void l7_text(FILE *f, const struct synprobe_result *res)
{
	const struct sp_l7_result *l7 = res->kind_result;

	if (l7 && l7->tls && l7->info.version[0])
		fprintf(f, "  %s %s", l7->info.version, l7->info.cipher);
}

/*
 * ping's line: the TLS version, the handshake time and the first reply byte's, when there were
 * such ("tls=TLS1.3 tls_handshake=1.21 ms first_byte=310 us").
 */
static void l7_ping_text(FILE *f, const struct synprobe_result *res)
{
	const struct sp_l7_result *l7 = res->kind_result;
	char t[32];

	if (!l7)
		return;
	if (l7->tls && l7->info.version[0])
		fprintf(f, " tls=%s", l7->info.version);
	if (l7->tls && l7->info.handshake_ns)
		fprintf(f, " tls_handshake=%s", sp_format_ns(l7->info.handshake_ns, t, sizeof(t)));
	if (l7->first_byte_ns)
		fprintf(f, " first_byte=%s", sp_format_ns(l7->first_byte_ns, t, sizeof(t)));
}

const struct sp_kind_row sp_kind_row_l7 = {
	.name = "l7",
	.kind = &sp_kind_l7,
	.result_size = sizeof(struct sp_l7_result),
	.json = l7_json,
	.text = l7_text,
	.ping_text = l7_ping_text,
	.long_options = l7_long_options,
	.cli_size = sizeof(struct sp_l7_cli),
	.cli_option = l7_cli_option,
	.cli_finish = l7_cli_finish,
	.cli_check_opts = l7_cli_check_opts,
	.arg_size = sizeof(struct sp_l7_arg),
	.cli_free = l7_cli_free,
	.cli_usage = sp_l7_cli_usage,
	.serve_active = serve_l7_active,
	.serve_check_opts = serve_l7_check_opts,
	.kept_size = sizeof(struct serve_l7_kept),
	.serve_keep = serve_l7_keep,
	.serve_metrics = serve_l7_metrics,
	.serve_probe_metrics = serve_l7_probe_metrics,
};
