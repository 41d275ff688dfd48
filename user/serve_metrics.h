/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve_metrics.h - Prometheus text exposition (format 0.0.4) for `synprobe serve`: a growing
 * text buffer, label escaping, and the RTT histogram. Pure: no I/O, no globals.
 */
#ifndef __SP_SERVE_METRICS_H
#define __SP_SERVE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* A text buffer that grows; on allocation failure it keeps what it has and sets oom. */
struct serve_buf {
	char *data; /* NUL-terminated; owned: free() it, or take it */
	size_t len, cap;
	bool oom;
};

/* serve_buf_printf - append formatted text. */
void serve_buf_printf(struct serve_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* serve_buf_label - append `name="value"` with the value escaped (\\, \" and \n), comma first
 * unless @first. */
void serve_buf_label(struct serve_buf *b, bool first, const char *name, const char *value);

/* serve_buf_header - append the "# HELP" and "# TYPE" lines of a metric family. */
void serve_buf_header(struct serve_buf *b, const char *name, const char *type, const char *help);

/*
 * RTT histogram buckets, upper bounds in seconds: 5 us to 5 s, fine enough for the 5-50 us RTTs
 * of a LAN or loopback and for the ms of a WAN.
 */
#define SERVE_RTT_BUCKETS 20
extern const double serve_rtt_bucket_s[SERVE_RTT_BUCKETS];

struct serve_histogram {
	__u64 counts[SERVE_RTT_BUCKETS + 1]; /* per bucket (not cumulative); the last is +Inf */
	__u64 count;
	double sum_s;
};

/* serve_histogram_observe - count one RTT of @ns nanoseconds. */
void serve_histogram_observe(struct serve_histogram *h, __u64 ns);

/*
 * serve_buf_histogram - append the _bucket (cumulative, with le), _sum and _count lines of @h for
 * metric @name; @labels is the label text without braces ("check=\"web\"", may be "").
 */
void serve_buf_histogram(struct serve_buf *b, const char *name, const char *labels,
			 const struct serve_histogram *h);

/* serve_format_double - a sample value as Prometheus writes it ("0.000034", "+Inf", "1e-06"). */
void serve_buf_double(struct serve_buf *b, double v);

#endif
