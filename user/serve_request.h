/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve_request.h - what serve's HTTP endpoint makes of a request, apart from the connection:
 * pure functions of the request line's parts and headers (libmicrohttpd hands them over), so
 * that they can be fuzzed (tests/fuzz/fuzz_serve_request.c) and unit-tested without a socket.
 * What depends on the server's state (the /probe allow list and slots, authentication) stays in
 * serve_http.c.
 */
#ifndef __SP_SERVE_REQUEST_H
#define __SP_SERVE_REQUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <linux/types.h>
#include "serve_config.h"
#include "target.h"

/* The longest one-line answer, newline and NUL included; echoed input beyond is cut with "...". */
#define SERVE_LINE_MAX 512
/* /probe's timeout without ?timeout= or a scrape timeout header. */
#define SERVE_PROBE_TIMEOUT_DEFAULT_MS 1000
/* Taken off Prometheus' scrape timeout so that the answer arrives in time, as blackbox_exporter. */
#define SERVE_PROBE_TIMEOUT_OFFSET_MS 500
/* The shortest timeout made from a scrape timeout header. */
#define SERVE_PROBE_TIMEOUT_MIN_MS 100

enum serve_route_kind {
	SERVE_ROUTE_NEXT,    /* serve_request_headers(): nothing to say, go on */
	SERVE_ROUTE_ANSWER,  /* answer @status with @line (and the header @hdr: @hdr_val) */
	SERVE_ROUTE_METRICS, /* /metrics */
	SERVE_ROUTE_HEALTH,  /* /healthz */
	SERVE_ROUTE_PROBE,   /* /probe: @target, @spec, @timeout_ms (and @module) are filled */
	SERVE_ROUTE_INDEX,   /* / */
};

struct serve_route {
	enum serve_route_kind kind;
	unsigned int status;	   /* SERVE_ROUTE_ANSWER: an HTTP status, 4xx */
	const char *hdr;	   /* SERVE_ROUTE_ANSWER: one more header (static), or NULL */
	const char *hdr_val;	   /* its value (static) */
	char line[SERVE_LINE_MAX]; /* SERVE_ROUTE_ANSWER: one line, ending with '\n' */
	char target[SERVE_TARGET_MAX];
	struct sp_target_spec spec;
	__u32 timeout_ms;
	bool has_module;	     /* ?module= named one of the modules: @module is its copy */
	struct serve_module module;
};

/* The parts of a request the functions below look at; NULL: absent. */
struct serve_request {
	const char *method;
	const char *url;	       /* the path, without the query */
	const char *content_length;    /* header Content-Length */
	const char *transfer_encoding; /* header Transfer-Encoding */
	const char *target;	       /* ?target= */
	const char *timeout;	       /* ?timeout= */
	const char *module;	       /* ?module= */
	const char *scrape_timeout;    /* header X-Prometheus-Scrape-Timeout-Seconds */
};

/*
 * serve_request_headers - what the headers alone decide: 405 for a method other than GET and
 * HEAD, 413 for a request that announces a body (so that a body is never waited for); else
 * SERVE_ROUTE_NEXT. Fills @rt (kind, status, hdr, line).
 */
void serve_request_headers(const struct serve_request *rq, struct serve_route *rt);

/*
 * serve_request_route - the endpoint of @rq, and for /probe its target, module and timeout.
 * The request's timeout: ?timeout= (a duration), else the scrape timeout header minus
 * SERVE_PROBE_TIMEOUT_OFFSET_MS (at least SERVE_PROBE_TIMEOUT_MIN_MS). ?module= names one of
 * @modules (@n_modules entries, copied into @rt; NULL when none): its timeout, if it has one,
 * and the request's, the shorter wins. Without either, SERVE_PROBE_TIMEOUT_DEFAULT_MS. Whatever
 * it is, it is cut to @probe_timeout_max_ms (>= 1), never refused, as blackbox_exporter does. A
 * bad target or timeout, an unknown module: 400; an unknown path: 404.
 */
void serve_request_route(const struct serve_request *rq, __u32 probe_timeout_max_ms,
			 const struct serve_module *modules, size_t n_modules,
			 struct serve_route *rt);

/*
 * serve_format_line - @fmt formatted into @buf (@len >= 8 bytes) as one line: control characters
 * (of the client's input it may echo) shown as '?', cut with "..." where it does not fit, ended
 * with exactly one newline. Returns @buf.
 */
char *serve_format_line(char *buf, size_t len, const char *fmt, va_list ap);

#endif
