// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* l7_cli.c - check's and ping's options past the TCP handshake, into the l7 kind's options. */
#include <errno.h>
#include <string.h>
#include "cescape.h"
#include "l7_cli.h"
#include "output.h"

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
