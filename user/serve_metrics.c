// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_metrics.c - Prometheus text exposition helpers for `synprobe serve`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "serve_metrics.h"

const double serve_rtt_bucket_s[SERVE_RTT_BUCKETS] = {
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01,     0.025,   0.05,	 0.1,	  0.25,	  0.5,	   1,	   2,	  3,	  5,
};

static bool buf_reserve(struct serve_buf *b, size_t more)
{
	size_t cap;
	char *data;

	if (b->oom)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more + 1)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data) {
		b->oom = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

void serve_buf_printf(struct serve_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void serve_buf_label(struct serve_buf *b, bool first, const char *name, const char *value)
{
	const char *p;

	serve_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
	for (p = value; *p; p++) {
		if (*p == '\\')
			serve_buf_printf(b, "\\\\");
		else if (*p == '"')
			serve_buf_printf(b, "\\\"");
		else if (*p == '\n')
			serve_buf_printf(b, "\\n");
		else
			serve_buf_printf(b, "%c", *p);
	}
	serve_buf_printf(b, "\"");
}

void serve_buf_header(struct serve_buf *b, const char *name, const char *type, const char *help)
{
	serve_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void serve_buf_double(struct serve_buf *b, double v)
{
	if (isinf(v))
		serve_buf_printf(b, v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		serve_buf_printf(b, "NaN");
	else
		serve_buf_printf(b, "%.9g", v);
}

void serve_histogram_observe(struct serve_histogram *h, __u64 ns)
{
	double s = (double)ns / 1e9;
	size_t i;

	for (i = 0; i < SERVE_RTT_BUCKETS; i++)
		if (s <= serve_rtt_bucket_s[i])
			break;
	h->counts[i]++;
	h->count++;
	h->sum_s += s;
}

void serve_buf_histogram(struct serve_buf *b, const char *name, const char *labels,
			 const struct serve_histogram *h)
{
	const char *sep = *labels ? "," : "";
	__u64 cum = 0;
	size_t i;

	for (i = 0; i < SERVE_RTT_BUCKETS; i++) {
		cum += h->counts[i];
		serve_buf_printf(b, "%s_bucket{%s%sle=\"", name, labels, sep);
		serve_buf_double(b, serve_rtt_bucket_s[i]);
		serve_buf_printf(b, "\"} %llu\n", (unsigned long long)cum);
	}
	serve_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
			 (unsigned long long)h->count);
	serve_buf_printf(b, "%s_sum{%s} ", name, labels);
	serve_buf_double(b, h->sum_s);
	serve_buf_printf(b, "\n%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
}
