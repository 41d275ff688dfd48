// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_serve_request.c - libFuzzer harness for serve_request_headers() and serve_request_route()
 * (user/serve_request.c): what serve's HTTP endpoint makes of a request's method, path, query
 * parameters target, timeout and module, and headers Content-Length, Transfer-Encoding and
 * X-Prometheus-Scrape-Timeout-Seconds, as libmicrohttpd hands them over (NUL-terminated,
 * unescaped: any byte but NUL).
 *
 * Input: byte 0 says which of the 8 fields are present (bit i: field i); bytes 1-4 give
 * --probe-timeout-max (1 + u32 % SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_LIMIT ms); the rest is the
 * fields in order method, url, content_length, transfer_encoding, target, timeout,
 * scrape_timeout, module, separated by NUL bytes; each is copied to a heap buffer of exactly its
 * size. The modules are a fixed table (one without a timeout, one of 5s, one of 200ms).
 *
 * Invariants, from serve_request.h. Headers: NEXT, or ANSWER 405 (with "Allow: GET, HEAD", for a
 * method other than GET and HEAD) or 413 (a body announced). Route: /metrics, /healthz and / are
 * theirs whatever the query; /probe is PROBE or ANSWER 400; anything else ANSWER 404. PROBE: the
 * target as given, 1 to SERVE_TARGET_MAX - 1 characters, a host and a port >= 1, and a timeout of
 * 1 ms to the max; without ?timeout= and the header, min(SERVE_PROBE_TIMEOUT_DEFAULT_MS, max)
 * (or min(the module's timeout, max) when it has one). With ?module=: PROBE only for a name of
 * the table (its copy, and a timeout at most the module's), else ANSWER 400; without: no module.
 * Every ANSWER line is NUL-terminated within SERVE_LINE_MAX, ends with its only '\n', and holds
 * no other control character (it may echo the client's bytes).
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "serve_request.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define FIELDS 8
/* serve_http.h's SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_LIMIT (that header pulls in libmicrohttpd). */
#define TIMEOUT_MAX_LIMIT_MS 600000

static const struct serve_module modules[] = {
    {.name = "banner"},
    {.name = "tls_web", .timeout_ms = 5000},
    {.name = "fast", .timeout_ms = 200},
};

static void check_line(const struct serve_route *rt)
{
	const char *nul = memchr(rt->line, '\0', sizeof(rt->line));
	const char *p;

	CHECK(nul && nul > rt->line && nul[-1] == '\n');
	for (p = rt->line; p < nul - 1; p++)
		CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[FIELDS] = {};
	const char *f[FIELDS] = {};
	struct serve_request rq;
	struct serve_route rt;
	const uint8_t *p, *end, *z;
	__u32 max_ms, raw, want;
	size_t i, n;

	if (size < 5)
		return 0;
	memcpy(&raw, data + 1, 4);
	max_ms = 1 + raw % TIMEOUT_MAX_LIMIT_MS;
	p = data + 5;
	end = data + size;
	for (i = 0; i < FIELDS; i++) {
		z = memchr(p, '\0', (size_t)(end - p));
		n = z ? (size_t)(z - p) : (size_t)(end - p);
		if (data[0] & (1u << i)) {
			field[i] = malloc(n + 1);
			CHECK(field[i]);
			memcpy(field[i], p, n);
			field[i][n] = '\0';
			f[i] = field[i];
		}
		p = z ? z + 1 : end;
	}
	rq = (struct serve_request){
	    .method = f[0],
	    .url = f[1],
	    .content_length = f[2],
	    .transfer_encoding = f[3],
	    .target = f[4],
	    .timeout = f[5],
	    .scrape_timeout = f[6],
	    .module = f[7],
	};

	serve_request_headers(&rq, &rt);
	CHECK(rt.kind == SERVE_ROUTE_NEXT || rt.kind == SERVE_ROUTE_ANSWER);
	if (rt.kind == SERVE_ROUTE_ANSWER) {
		check_line(&rt);
		CHECK(rt.status == 405 || rt.status == 413);
		CHECK((rt.status == 405) ==
		      !(rq.method && (!strcmp(rq.method, "GET") || !strcmp(rq.method, "HEAD"))));
		if (rt.status == 405)
			CHECK(rt.hdr && !strcmp(rt.hdr, "Allow") && rt.hdr_val);
	}

	serve_request_route(&rq, max_ms, modules, sizeof(modules) / sizeof(modules[0]), &rt);
	switch (rt.kind) {
	case SERVE_ROUTE_METRICS:
		CHECK(rq.url && !strcmp(rq.url, "/metrics"));
		break;
	case SERVE_ROUTE_HEALTH:
		CHECK(rq.url && !strcmp(rq.url, "/healthz"));
		break;
	case SERVE_ROUTE_INDEX:
		CHECK(rq.url && !strcmp(rq.url, "/"));
		break;
	case SERVE_ROUTE_PROBE:
		CHECK(rq.url && !strcmp(rq.url, "/probe") && rq.target);
		CHECK(memchr(rt.target, '\0', sizeof(rt.target)));
		CHECK(*rt.target && !strcmp(rt.target, rq.target));
		CHECK(*rt.spec.host && rt.spec.port >= 1);
		CHECK(rt.timeout_ms >= 1 && rt.timeout_ms <= max_ms);
		CHECK(rt.has_module == !!rq.module);
		if (rq.module)
			CHECK(!strcmp(rt.module.name, rq.module));
		want = rt.has_module && rt.module.timeout_ms ? rt.module.timeout_ms
							     : SERVE_PROBE_TIMEOUT_DEFAULT_MS;
		if (!rq.timeout && !rq.scrape_timeout)
			CHECK(rt.timeout_ms == (max_ms < want ? max_ms : want));
		if (rt.has_module && rt.module.timeout_ms)
			CHECK(rt.timeout_ms <= rt.module.timeout_ms);
		break;
	case SERVE_ROUTE_ANSWER:
		check_line(&rt);
		if (rq.url && !strcmp(rq.url, "/probe"))
			CHECK(rt.status == 400);
		else
			CHECK(rt.status == 404);
		break;
	default:
		CHECK(0);
	}
	for (i = 0; i < FIELDS; i++)
		free(field[i]);
	return 0;
}
