// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_request.c - the request logic of serve's HTTP endpoint, apart from libmicrohttpd. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "serve_request.h"
#include "util.h"

char *serve_format_line(char *buf, size_t len, const char *fmt, va_list ap)
{
	size_t n, i;
	int w;

	w = vsnprintf(buf, len, fmt, ap);
	if (w < 0)
		buf[0] = '\0';
	n = strlen(buf);
	if (w >= 0 && (size_t)w > len - 2) {
		/* Cut: room for "...", the newline and the NUL. */
		n = len - 5;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	while (n && buf[n - 1] == '\n')
		n--;
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[n++] = '\n';
	buf[n] = '\0';
	return buf;
}

static void __attribute__((format(printf, 3, 4)))
answer(struct serve_route *rt, unsigned int status, const char *fmt, ...)
{
	va_list ap;

	rt->kind = SERVE_ROUTE_ANSWER;
	rt->status = status;
	va_start(ap, fmt);
	serve_format_line(rt->line, sizeof(rt->line), fmt, ap);
	va_end(ap);
}

void serve_request_headers(const struct serve_request *rq, struct serve_route *rt)
{
	const char *len = rq->content_length;

	memset(rt, 0, sizeof(*rt));
	rt->kind = SERVE_ROUTE_NEXT;
	if (!rq->method || (strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD"))) {
		answer(rt, 405, "method %.32s not allowed: only GET (and HEAD)",
		       rq->method ? rq->method : "(none)");
		rt->hdr = "Allow";
		rt->hdr_val = "GET, HEAD";
		return;
	}
	/* A Content-Length other than 0, or a Transfer-Encoding: a body would follow. */
	if (rq->transfer_encoding || (len && strspn(len, "0") != strlen(len)))
		answer(rt, 413, "request body not accepted: send GET without a body");
}

/*
 * The probe's timeout (see serve_request_route()), with @module_ms (0: none); 0 or -EINVAL with
 * the 400 answer in @rt.
 */
static int probe_timeout(const struct serve_request *rq, __u32 module_ms, __u32 max_ms,
			 struct serve_route *rt)
{
	bool given = false;
	double secs;
	char *end;

	if (rq->timeout) {
		if (sp_parse_duration_ms(rq->timeout, &rt->timeout_ms)) {
			answer(rt, 400,
			       "timeout parameter '%.64s%s': give a duration such as 500ms or 2s",
			       rq->timeout, strlen(rq->timeout) > 64 ? "..." : "");
			return -EINVAL;
		}
		given = true;
	} else if (rq->scrape_timeout) {
		errno = 0;
		secs = strtod(rq->scrape_timeout, &end);
		if (!errno && end != rq->scrape_timeout && isfinite(secs) && secs > 0) {
			secs = secs * 1000 - SERVE_PROBE_TIMEOUT_OFFSET_MS;
			if (secs < SERVE_PROBE_TIMEOUT_MIN_MS)
				secs = SERVE_PROBE_TIMEOUT_MIN_MS;
			if (secs > max_ms)
				secs = max_ms;
			rt->timeout_ms = (__u32)secs;
			given = true;
		}
	}
	if (!given)
		rt->timeout_ms = module_ms ? module_ms : SERVE_PROBE_TIMEOUT_DEFAULT_MS;
	else if (module_ms && module_ms < rt->timeout_ms)
		rt->timeout_ms = module_ms;
	/* A longer one is cut, not refused: blackbox_exporter does the same with a module's
	 * timeout longer than the scrape's, and an answer within the scrape beats a 400 that
	 * turns the target's every scrape into a failure. */
	if (rt->timeout_ms > max_ms)
		rt->timeout_ms = max_ms;
	return 0;
}

/* The module named @name among @modules (@n entries), or NULL. */
static const struct serve_module *module_find(const struct serve_module *modules, size_t n,
					      const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(modules[i].name, name))
			return &modules[i];
	return NULL;
}

static void route_probe(const struct serve_request *rq, __u32 max_ms,
			const struct serve_module *modules, size_t n_modules, struct serve_route *rt)
{
	const struct serve_module *m = NULL;
	char msg[SP_ERR_MAX];

	if (!rq->target || !*rq->target) {
		answer(rt, 400, "target parameter is missing: /probe?target=host:port");
		return;
	}
	if (strlen(rq->target) >= sizeof(rt->target)) {
		answer(rt, 400,
		       "target parameter is longer than %zu characters: give host:port or "
		       "[ipv6]:port",
		       sizeof(rt->target) - 1);
		return;
	}
	if (rq->module) {
		m = module_find(modules, n_modules, rq->module);
		if (!m) {
			answer(rt, 400,
			       "unknown module %.64s%s: define it under modules: in the config",
			       rq->module, strlen(rq->module) > 64 ? "..." : "");
			return;
		}
		rt->has_module = true;
		rt->module = *m;
	}
	if (probe_timeout(rq, m ? m->timeout_ms : 0, max_ms, rt))
		return;
	if (sp_target_parse(rq->target, 0, &rt->spec, msg, sizeof(msg))) {
		answer(rt, 400, "%s", msg);
		return;
	}
	snprintf(rt->target, sizeof(rt->target), "%s", rq->target);
	rt->kind = SERVE_ROUTE_PROBE;
}

void serve_request_route(const struct serve_request *rq, __u32 probe_timeout_max_ms,
			 const struct serve_module *modules, size_t n_modules,
			 struct serve_route *rt)
{
	const char *url = rq->url ? rq->url : "";

	memset(rt, 0, sizeof(*rt));
	if (!strcmp(url, "/metrics"))
		rt->kind = SERVE_ROUTE_METRICS;
	else if (!strcmp(url, "/healthz"))
		rt->kind = SERVE_ROUTE_HEALTH;
	else if (!strcmp(url, "/probe"))
		route_probe(rq, probe_timeout_max_ms ? probe_timeout_max_ms : 1, modules, n_modules,
			    rt);
	else if (!strcmp(url, "/"))
		rt->kind = SERVE_ROUTE_INDEX;
	else
		answer(rt, 404, "not found: try /metrics, /probe or /healthz");
}
