// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_http.c - /metrics, /probe and /healthz of `synprobe serve`, with libmicrohttpd. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <microhttpd.h>
#include "serve_http.h"
#include "serve_metrics.h"
#include "util.h"

#define PROBE_TIMEOUT_DEFAULT_MS 1000
#define PROBE_TIMEOUT_MAX_MS	 60000
/* Taken off Prometheus' scrape timeout so that the answer arrives in time, as blackbox_exporter. */
#define PROBE_TIMEOUT_OFFSET_MS 500
#define CONNECTIONS_MAX		64

static const char *const metrics_type = "text/plain; version=0.0.4; charset=utf-8";

struct serve_http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct serve_req *head, *tail; /* queued for the main thread */
	struct serve_req *live;	       /* every request not answered yet */
	bool stopping;
	pthread_t main_thread;
	int wake_signal;
};

struct serve_req *serve_http_take(struct serve_http *h)
{
	struct serve_req *r;

	pthread_mutex_lock(&h->lock);
	r = h->head;
	if (r) {
		h->head = r->next;
		if (!h->head)
			h->tail = NULL;
		r->queued = false;
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* Called with h->lock held. */
static void answer_locked(struct serve_http *h, struct serve_req *r)
{
	struct serve_req **p;

	for (p = &h->live; *p; p = &(*p)->live_next) {
		if (*p == r) {
			*p = r->live_next;
			break;
		}
	}
	r->done = true;
	pthread_cond_broadcast(&h->cond);
}

void serve_http_done(struct serve_http *h, struct serve_req *r, unsigned int status, char *body)
{
	pthread_mutex_lock(&h->lock);
	r->status = status;
	r->body = body;
	answer_locked(h, r);
	pthread_mutex_unlock(&h->lock);
}

/* Queues @r for the main thread and waits for its answer. False when the server is stopping. */
static bool ask_main_thread(struct serve_http *h, struct serve_req *r)
{
	pthread_mutex_lock(&h->lock);
	if (h->stopping) {
		pthread_mutex_unlock(&h->lock);
		return false;
	}
	r->next = NULL;
	r->queued = true;
	if (h->tail)
		h->tail->next = r;
	else
		h->head = r;
	h->tail = r;
	r->live_next = h->live;
	h->live = r;
	pthread_kill(h->main_thread, h->wake_signal);
	while (!r->done)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	return r->status != 503;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!body)
		body = strdup("");
	if (!body)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
				  const char *text)
{
	return reply(conn, status, "text/plain; charset=utf-8", strdup(text));
}

/* The probe's timeout: ?timeout=, else Prometheus' scrape timeout minus an offset, else 1 s. */
static int probe_timeout(struct MHD_Connection *conn, __u32 *ms, char *msg, size_t len)
{
	const char *s;
	double secs;
	char *end;

	s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "timeout");
	if (s) {
		if (sp_parse_duration_ms(s, ms) || *ms > PROBE_TIMEOUT_MAX_MS) {
			snprintf(
			    msg, len,
			    "timeout '%s': give a duration from 1ms to 60s, such as 500ms or 2s\n",
			    s);
			return -EINVAL;
		}
		return 0;
	}
	*ms = PROBE_TIMEOUT_DEFAULT_MS;
	s = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					"X-Prometheus-Scrape-Timeout-Seconds");
	if (s) {
		errno = 0;
		secs = strtod(s, &end);
		if (!errno && end != s && isfinite(secs) && secs > 0) {
			secs = secs * 1000 - PROBE_TIMEOUT_OFFSET_MS;
			if (secs < 100)
				secs = 100;
			if (secs > PROBE_TIMEOUT_MAX_MS)
				secs = PROBE_TIMEOUT_MAX_MS;
			*ms = (__u32)secs;
		}
	}
	return 0;
}

/* The answer to /probe in blackbox_exporter's form, plus our RTT. */
static char *render_probe(const struct serve_req *r, bool resolved)
{
	const struct serve_probe_result *res = &r->result;
	struct serve_buf b = {};
	bool success = resolved && res->outcome == SYNPROBE_OPEN;

	serve_buf_header(&b, "probe_success", "gauge",
			 "Whether the port answered SYN-ACK (1) or not (0).");
	serve_buf_printf(&b, "probe_success %d\n", success);
	serve_buf_header(&b, "probe_duration_seconds", "gauge",
			 "How long the probe took, in seconds (user space).");
	serve_buf_printf(&b, "probe_duration_seconds ");
	serve_buf_double(&b, (double)r->duration_ns / 1e9);
	serve_buf_printf(&b, "\n");
	if (resolved) {
		serve_buf_header(&b, "probe_ip_protocol", "gauge",
				 "IP version the target was probed over.");
		serve_buf_printf(&b, "probe_ip_protocol %d\n",
				 r->addr.addr.ss_family == AF_INET6 ? 6 : 4);
		serve_buf_header(&b, "synprobe_probe_outcome", "gauge",
				 "The probe's outcome: 1 for the one that happened.");
		for (int o = SYNPROBE_OPEN; o <= SYNPROBE_UNREACHABLE; o++) {
			serve_buf_printf(&b, "synprobe_probe_outcome{");
			serve_buf_label(&b, true, "outcome",
					synprobe_outcome_str((enum synprobe_outcome)o));
			serve_buf_printf(&b, "} %d\n", (int)res->outcome == o);
		}
		serve_buf_header(&b, "synprobe_probe_syn_retransmits", "gauge",
				 "SYNs sent after the first one.");
		serve_buf_printf(&b, "synprobe_probe_syn_retransmits %u\n", res->syn_retransmits);
	}
	if (resolved && res->has_rtt) {
		serve_buf_header(&b, "synprobe_probe_rtt_seconds", "gauge",
				 "Handshake RTT: first SYN out to reply in, at tc, in seconds.");
		serve_buf_printf(&b, "synprobe_probe_rtt_seconds ");
		serve_buf_double(&b, (double)res->rtt_ns / 1e9);
		serve_buf_printf(&b, "\n");
	}
	if (b.oom) {
		free(b.data);
		return NULL;
	}
	return b.data;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static enum MHD_Result handle_probe(struct serve_http *h, struct MHD_Connection *conn)
{
	struct serve_req r = {.tag = SERVE_JOB_PROBE, .kind = SERVE_REQ_PROBE};
	struct sp_target_spec spec;
	char msg[SP_ERR_MAX + 64];
	const char *target;
	bool resolved;
	__u64 t0;

	target = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "target");
	if (!target || !*target)
		return reply_text(conn, MHD_HTTP_BAD_REQUEST,
				  "target parameter is missing: /probe?target=host:port\n");
	if (probe_timeout(conn, &r.timeout_ms, msg, sizeof(msg)))
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, msg);
	if (sp_target_parse(target, 0, &spec, msg, sizeof(msg)) ||
	    strlen(target) >= sizeof(r.target)) {
		strcat(msg, "\n");
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, msg);
	}
	snprintf(r.target, sizeof(r.target), "%s", target);
	t0 = mono_ns();
	/* Resolved here, in the connection's thread: a slow resolver never stalls the loop. */
	resolved = sp_target_resolve(&spec, AF_UNSPEC, false, &r.addr, 1, msg, sizeof(msg)) > 0;
	if (resolved) {
		if (!ask_main_thread(h, &r))
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
	} else {
		r.duration_ns = mono_ns() - t0;
	}
	return reply(conn, MHD_HTTP_OK, metrics_type, render_probe(&r, resolved));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static int first_call_marker;
	struct serve_http *h = cls;
	struct serve_req r = {};

	if (!*con_cls) {
		/* The first call only has the headers: answer on the second. */
		*con_cls = &first_call_marker;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	if (!strcmp(url, "/metrics")) {
		r.kind = SERVE_REQ_METRICS;
		if (!ask_main_thread(h, &r))
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
		return reply(conn, r.status, metrics_type, r.body);
	}
	if (!strcmp(url, "/healthz")) {
		r.kind = SERVE_REQ_HEALTH;
		if (!ask_main_thread(h, &r))
			return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down\n");
		return reply(conn, r.status, "text/plain; charset=utf-8", r.body);
	}
	if (!strcmp(url, "/probe"))
		return handle_probe(h, conn);
	if (!strcmp(url, "/"))
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
			     strdup("<html><head><title>synprobe</title></head><body>"
				    "<h1>synprobe serve</h1><p><a href=\"/metrics\">/metrics</a> "
				    "<a href=\"/healthz\">/healthz</a> "
				    "/probe?target=host:port&amp;timeout=1s</p></body></html>\n"));
	return reply_text(conn, MHD_HTTP_NOT_FOUND,
			  "not found: try /metrics, /probe or /healthz\n");
}

struct serve_http *serve_http_start(const struct sockaddr_storage *addr, socklen_t addrlen,
				    pthread_t main_thread, int wake_signal)
{
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
	struct serve_http *h;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->main_thread = main_thread;
	h->wake_signal = wake_signal;
	if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* MHD_OPTION_SOCK_ADDR ignores the port argument; errno tells why it failed. */
	errno = 0;
	h->daemon =
	    MHD_start_daemon(flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, addr,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)CONNECTIONS_MAX,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30, MHD_OPTION_END);
	if (!h->daemon) {
		err = errno ? errno : EADDRINUSE;
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		free(h);
		errno = err;
		return NULL;
	}
	(void)addrlen;
	return h;
}

void serve_http_stop(struct serve_http *h)
{
	struct serve_req *r;

	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	while ((r = h->live)) {
		r->status = 503;
		r->body = NULL;
		answer_locked(h, r);
	}
	h->head = h->tail = NULL;
	pthread_mutex_unlock(&h->lock);
	MHD_stop_daemon(h->daemon);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h);
}
