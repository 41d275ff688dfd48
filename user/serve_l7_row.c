// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * serve_l7_row.c - the l7 row's serve hooks (struct sp_kind_row, check_kind.h): a check's
 * settings (serve_l7.h) into the engine's options, what is kept across runs, and the metrics of
 * the checks' last runs and of a /probe. The metric names and texts are serve's of before the
 * table, byte for byte.
 */
#include <stdio.h>
#include <string.h>
#include "serve_l7.h"
#include "serve_metrics.h"

bool serve_l7_active(const void *cfg)
{
	const struct serve_l7 *l7 = cfg;

	return l7 && l7->active;
}

void serve_l7_check_opts(const void *cfg, const char *host, void *arg,
			 struct synprobe_check_opts *copts)
{
	const struct serve_l7 *l7 = cfg;
	struct sp_l7_arg *a = arg;

	a->opts = &l7->opts;
	a->host = host;
	copts->kind = &sp_kind_l7;
	copts->kind_arg = a;
	copts->close_fin = l7->spec.close_given && l7->spec.close_fin;
}

bool serve_l7_keep(void *kept, const void *result)
{
	const struct sp_l7_result *l7 = result;
	struct serve_l7_kept *k = kept;

	if (l7->tls && l7->info.has_cert) {
		k->has_cert = true;
		k->cert = l7->info;
	}
	return k->has_cert;
}

static void family(struct serve_buf *b, const char *name, const char *type, const char *help)
{
	serve_buf_header(b, name, type, help);
}

/* The metrics of completing checks (tls, query_response): only for those that have them. */
void serve_l7_metrics(struct serve_buf *b, size_t n, sp_kind_serve_check_at at, const void *ctx)
{
	const struct serve_l7_kept *k;
	const struct sp_l7_result *l7;
	const struct serve_l7 *cfg;
	struct sp_kind_serve_check c;
	size_t i;

	family(b, "synprobe_tls_cert_not_after_seconds", "gauge",
	       "notAfter of the leaf certificate of the last TLS handshake that got one, Unix time.");
	for (i = 0; i < n; i++) {
		at(ctx, i, &sp_kind_row_l7, &c);
		k = c.kept;
		if (k && k->has_cert)
			serve_buf_printf(b, "synprobe_tls_cert_not_after_seconds{%s} %lld\n",
					 c.labels, (long long)k->cert.not_after);
	}
	family(b, "synprobe_tls_cert_earliest_not_after_seconds", "gauge",
	       "The earliest notAfter of the certificates the server sent (leaf and chain), Unix time.");
	for (i = 0; i < n; i++) {
		at(ctx, i, &sp_kind_row_l7, &c);
		k = c.kept;
		if (k && k->has_cert)
			serve_buf_printf(b,
					 "synprobe_tls_cert_earliest_not_after_seconds{%s} %lld\n",
					 c.labels, (long long)k->cert.earliest_not_after);
	}
	family(b, "synprobe_tls_handshake_seconds", "gauge",
	       "The last run's TLS handshake, first ClientHello write to its end, in seconds.");
	for (i = 0; i < n; i++) {
		at(ctx, i, &sp_kind_row_l7, &c);
		l7 = c.result;
		if (l7 && l7->tls && l7->info.handshake_ns)
			serve_buf_printf(b, "synprobe_tls_handshake_seconds{%s} %.9f\n", c.labels,
					 (double)l7->info.handshake_ns / 1e9);
	}
	family(b, "synprobe_phase_seconds", "gauge",
	       "The last run of a completing check, by phase: tcp (the handshake RTT at tc), tls, "
	       "first_byte (handshakes' end to the first reply byte), in seconds.");
	for (i = 0; i < n; i++) {
		at(ctx, i, &sp_kind_row_l7, &c);
		l7 = c.result;
		if (!l7)
			continue;
		if (c.last_rtt_ns)
			serve_buf_printf(b, "synprobe_phase_seconds{%s,phase=\"tcp\"} %.9f\n",
					 c.labels, (double)c.last_rtt_ns / 1e9);
		if (l7->tls && l7->info.handshake_ns)
			serve_buf_printf(b, "synprobe_phase_seconds{%s,phase=\"tls\"} %.9f\n",
					 c.labels, (double)l7->info.handshake_ns / 1e9);
		if (l7->first_byte_ns)
			serve_buf_printf(b, "synprobe_phase_seconds{%s,phase=\"first_byte\"} %.9f\n",
					 c.labels, (double)l7->first_byte_ns / 1e9);
	}
	family(b, "synprobe_expect_matched", "gauge",
	       "1 if every query_response step of the last run matched, else 0.");
	for (i = 0; i < n; i++) {
		at(ctx, i, &sp_kind_row_l7, &c);
		cfg = c.cfg;
		l7 = c.result;
		if (c.has_last && cfg && cfg->spec.n_steps)
			serve_buf_printf(b, "synprobe_expect_matched{%s} %d\n", c.labels,
					 l7 && l7->steps && c.last_success);
	}
}

/* GnuTLS's "TLS1.3" as blackbox_exporter's probe_tls_version_info labels it: "TLS 1.3". */
static const char *tls_version_label(const char *v)
{
	static const char *const names[][2] = {
	    {"TLS1.0", "TLS 1.0"}, {"TLS1.1", "TLS 1.1"}, {"TLS1.2", "TLS 1.2"},
	    {"TLS1.3", "TLS 1.3"},
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(v, names[i][0]))
			return names[i][1];
	return "unknown";
}

static void render_seconds(struct serve_buf *b, const char *series, __u64 ns)
{
	serve_buf_printf(b, "%s ", series);
	serve_buf_double(b, (double)ns / 1e9);
	serve_buf_printf(b, "\n");
}

/*
 * The metrics of a module's probe past the handshake: blackbox_exporter's tcp prober's names
 * where it has them (prober/tcp.go, prober/tls.go), ours for the rest. What did not happen is
 * absent, not 0: no certificate, no certificate metrics.
 */
void serve_l7_probe_metrics(struct serve_buf *b, const struct sp_kind_serve_probe *p)
{
	const struct sp_l7_result *l7 = p->result;
	const struct serve_l7 *m = p->cfg;
	bool steps = m && m->spec.n_steps;

	/*
	 * blackbox's tcp prober always has it: 1 only when a reply was read to its end without a
	 * match; a timeout or a read error leaves it 0 (prober/tcp.go returns on the scanner's
	 * error before setting it).
	 */
	serve_buf_header(b, "probe_failed_due_to_regex", "gauge",
			 "Whether the probe failed because a query_response expect did not match.");
	serve_buf_printf(b, "probe_failed_due_to_regex %d\n",
			 p->outcome == SYNPROBE_MISMATCH && l7 && l7->expect_failed);
	if (steps) {
		serve_buf_header(b, "synprobe_probe_expect_matched", "gauge",
				 "1 if every query_response step matched, else 0.");
		serve_buf_printf(b, "synprobe_probe_expect_matched %d\n",
				 l7 && l7->steps && p->outcome == SYNPROBE_OPEN);
	}
	if (!l7)
		return;
	if (l7->tls && l7->info.has_cert) {
		serve_buf_header(b, "probe_ssl_earliest_cert_expiry", "gauge",
				 "The earliest notAfter of the certificates the server sent, Unix "
				 "time.");
		serve_buf_printf(b, "probe_ssl_earliest_cert_expiry %lld\n",
				 (long long)l7->info.earliest_not_after);
	}
	if (l7->tls && l7->info.version[0]) {
		serve_buf_header(b, "probe_tls_version_info", "gauge",
				 "The TLS version negotiated: 1 for it.");
		serve_buf_printf(b, "probe_tls_version_info{");
		serve_buf_label(b, true, "version", tls_version_label(l7->info.version));
		serve_buf_printf(b, "} 1\n");
	}
	if (l7->tls && l7->info.handshake_ns) {
		serve_buf_header(b, "synprobe_probe_tls_handshake_seconds", "gauge",
				 "The TLS handshake, first ClientHello write to its end, in seconds.");
		render_seconds(b, "synprobe_probe_tls_handshake_seconds", l7->info.handshake_ns);
	}
	if (p->has_rtt || (l7->tls && l7->info.handshake_ns) || l7->first_byte_ns) {
		serve_buf_header(b, "synprobe_probe_phase_seconds", "gauge",
				 "By phase: tcp (the handshake RTT), tls, first_byte (handshakes' "
				 "end to the first reply byte), in seconds.");
		if (p->has_rtt)
			render_seconds(b, "synprobe_probe_phase_seconds{phase=\"tcp\"}",
				       p->rtt_ns);
		if (l7->tls && l7->info.handshake_ns)
			render_seconds(b, "synprobe_probe_phase_seconds{phase=\"tls\"}",
				       l7->info.handshake_ns);
		if (l7->first_byte_ns)
			render_seconds(b, "synprobe_probe_phase_seconds{phase=\"first_byte\"}",
				       l7->first_byte_ns);
	}
}
