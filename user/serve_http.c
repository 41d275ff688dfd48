// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_http.c - /metrics, /probe and /healthz of `synprobe serve`, with libmicrohttpd. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include "serve_http.h"
#include "serve_metrics.h"
#include "serve_request.h"
#include "util.h"

/* Request line and headers: beyond this MHD answers 431 (or 414) itself. */
#define CONNECTION_MEMORY_BYTES ((size_t)32 * 1024)
/* At exit, how long the answers to requests still open may take to go out. */
#define STOP_GRACE_MS 1000

static const char *const metrics_type = "text/plain; version=0.0.4; charset=utf-8";
static const char *const text_type = "text/plain; charset=utf-8";

/* /probe requests in flight from one client address. */
struct probe_client {
	unsigned char addr[16]; /* IPv4 or IPv6 address bytes */
	sa_family_t family;	/* 0: a free entry */
	unsigned int n;
};

struct serve_http {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct serve_req *head, *tail; /* queued for the main thread */
	struct serve_req *live;	       /* every request not answered yet */
	bool stopping;
	pthread_t main_thread;
	int wake_signal;
	struct serve_http_opts opts;
	unsigned int requests;		/* requests seen and not completed, under lock */
	unsigned int probes;		/* /probe requests in flight, under lock */
	struct probe_client *clients;	/* opts.probe_max entries, under lock */
	enum serve_probe_policy policy; /* under lock */
	struct sp_cidr *allow;		/* SERVE_PROBE_LIST: n_allow networks, under lock */
	size_t n_allow;
	struct serve_module *modules;	/* n_modules, under lock */
	size_t n_modules;
};

void serve_http_opts_fill(struct serve_http_opts *o)
{
	if (!o->max_connections)
		o->max_connections = SERVE_HTTP_CONNECTIONS_DEFAULT;
	if (!o->probe_max)
		o->probe_max = o->max_connections / 4 ? o->max_connections / 4 : 1;
	if (!o->probe_max_per_client)
		o->probe_max_per_client = o->probe_max / 2 ? o->probe_max / 2 : 1;
	if (o->probe_max_per_client > o->probe_max)
		o->probe_max_per_client = o->probe_max;
	if (!o->idle_timeout_s)
		o->idle_timeout_s = SERVE_HTTP_IDLE_TIMEOUT_S_DEFAULT;
	if (!o->probe_timeout_max_ms)
		o->probe_timeout_max_ms = SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_DEFAULT;
}

int serve_http_set_probe_policy(struct serve_http *h, enum serve_probe_policy policy,
				const struct sp_cidr *list, size_t n)
{
	struct sp_cidr *copy = NULL, *old;

	if (policy == SERVE_PROBE_LIST && n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, list, n * sizeof(*copy));
	}
	if (policy != SERVE_PROBE_LIST)
		n = 0;
	pthread_mutex_lock(&h->lock);
	old = h->allow;
	h->policy = policy;
	h->allow = copy;
	h->n_allow = n;
	pthread_mutex_unlock(&h->lock);
	free(old);
	return 0;
}

int serve_http_set_modules(struct serve_http *h, const struct serve_module *modules, size_t n)
{
	struct serve_module *copy = NULL, *old;

	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, modules, n * sizeof(*copy));
	}
	pthread_mutex_lock(&h->lock);
	old = h->modules;
	h->modules = copy;
	h->n_modules = n;
	pthread_mutex_unlock(&h->lock);
	free(old);
	return 0;
}

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

/* Queues @body (malloc'd, owned; NULL: empty) with @status; @hdr: NULL, or one more header
 * @hdr: @val. */
static enum MHD_Result reply_hdr(struct MHD_Connection *conn, unsigned int status,
				 const char *type, char *body, const char *hdr, const char *val)
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
	if (hdr)
		MHD_add_response_header(resp, hdr, val);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status, const char *type,
			     char *body)
{
	return reply_hdr(conn, status, type, body, NULL, NULL);
}

/* A one-line text/plain answer (serve_format_line()), with one more header unless @hdr is NULL. */
static enum MHD_Result __attribute__((format(printf, 5, 6)))
reply_line_hdr(struct MHD_Connection *conn, unsigned int status, const char *hdr, const char *val,
	       const char *fmt, ...)
{
	char line[SERVE_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	serve_format_line(line, sizeof(line), fmt, ap);
	va_end(ap);
	return reply_hdr(conn, status, text_type, strdup(line), hdr, val);
}

#define reply_line(conn, status, ...) reply_line_hdr(conn, status, NULL, NULL, __VA_ARGS__)

/*
 * The answer to /probe in blackbox_exporter's form, plus our RTT. Without a module, the half-open
 * outcomes only (the output as it always was); with one, every outcome and its completing
 * kind's metrics (the row's serve_probe_metrics(), check_kind.h).
 */
static char *render_probe(const struct serve_req *r, bool resolved)
{
	const struct serve_probe_result *res = &r->result;
	struct serve_buf b = {};
	bool success = resolved && res->outcome == SYNPROBE_OPEN;
	int last = r->has_module ? SYNPROBE_OUTCOMES - 1 : SYNPROBE_UNREACHABLE;
	const struct sp_kind_row *row;

	serve_buf_header(&b, "probe_success", "gauge",
			 r->has_module ? "Whether every step of the module's check passed (1) or "
					 "not (0)."
				       : "Whether the port answered SYN-ACK (1) or not (0).");
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
		for (int o = SYNPROBE_OPEN; o <= last; o++) {
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
	row = r->has_module ? sp_kind_row_of_cfg(r->module.kind) : NULL;
	if (resolved && row && row->serve_active && row->serve_active(r->module.kind) &&
	    row->serve_probe_metrics) {
		struct sp_kind_serve_probe p = {
			.cfg = r->module.kind,
			.outcome = res->outcome,
			.has_rtt = res->has_rtt,
			.rtt_ns = res->rtt_ns,
			.result = res->kind_result,
		};

		row->serve_probe_metrics(&b, &p);
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

/* The client's address as a key: family and address bytes. False if MHD cannot tell it. */
static bool client_key(struct MHD_Connection *conn, struct probe_client *key)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	memset(key, 0, sizeof(*key));
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (!ci || !ci->client_addr)
		return false;
	sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		memcpy(key->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(key->addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	else
		return false;
	key->family = sa->sa_family;
	return true;
}

enum probe_slot { SLOT_TAKEN, SLOT_ALL_BUSY, SLOT_CLIENT_BUSY };

/*
 * Takes a /probe slot for the client @key: SLOT_TAKEN (*@client is its entry, for
 * probe_slot_put()), SLOT_ALL_BUSY (opts.probe_max in flight) or SLOT_CLIENT_BUSY
 * (opts.probe_max_per_client in flight from this address).
 */
static enum probe_slot probe_slot_get(struct serve_http *h, const struct probe_client *key,
				      struct probe_client **client)
{
	struct probe_client *c, *free_c = NULL;
	enum probe_slot ret = SLOT_TAKEN;
	unsigned int i;

	pthread_mutex_lock(&h->lock);
	if (h->probes >= h->opts.probe_max) {
		ret = SLOT_ALL_BUSY;
		goto out;
	}
	for (i = 0; i < h->opts.probe_max; i++) {
		c = &h->clients[i];
		if (!c->family) {
			if (!free_c)
				free_c = c;
			continue;
		}
		if (c->family == key->family && !memcmp(c->addr, key->addr, sizeof(c->addr)))
			break;
	}
	if (i == h->opts.probe_max) {
		/* A free entry exists: fewer clients than probes in flight < probe_max. */
		c = free_c;
		memcpy(c->addr, key->addr, sizeof(c->addr));
		c->family = key->family;
		c->n = 0;
	}
	if (c->n >= h->opts.probe_max_per_client) {
		ret = SLOT_CLIENT_BUSY;
		goto out;
	}
	c->n++;
	h->probes++;
	*client = c;
out:
	pthread_mutex_unlock(&h->lock);
	return ret;
}

static void probe_slot_put(struct serve_http *h, struct probe_client *c)
{
	pthread_mutex_lock(&h->lock);
	h->probes--;
	if (!--c->n)
		c->family = 0;
	pthread_mutex_unlock(&h->lock);
}

#define PROBE_OFF_HINT                                                                             \
	"/probe is off: this listener is not on loopback; give --probe-allow CIDR,... (or "        \
	"probe_allow in the config) to allow targets"

/* The policy now; with @sa, whether it allows @sa. */
static enum serve_probe_policy probe_policy(struct serve_http *h, const struct sockaddr *sa,
					    bool *allowed)
{
	enum serve_probe_policy policy;

	pthread_mutex_lock(&h->lock);
	policy = h->policy;
	if (sa)
		*allowed =
		    policy == SERVE_PROBE_ALL ||
		    (policy == SERVE_PROBE_LIST && sp_cidr_list_match(h->allow, h->n_allow, sa));
	pthread_mutex_unlock(&h->lock);
	return policy;
}

/* /probe after its slot is taken: resolve, match the allow list, have it checked, render. */
static enum MHD_Result run_probe(struct serve_http *h, struct MHD_Connection *conn,
				 struct serve_req *r, const struct sp_target_spec *spec)
{
	char msg[SP_ERR_MAX], addr[64];
	bool resolved, allowed = false;
	__u64 t0;

	t0 = mono_ns();
	/* Resolved here, in the connection's thread: a slow resolver never stalls the loop. */
	resolved = sp_target_resolve(spec, AF_UNSPEC, false, &r->addr, 1, msg, sizeof(msg)) > 0;
	/* The address that would be probed is what the list is about, whatever name led to it. */
	if (resolved &&
	    probe_policy(h, (const struct sockaddr *)&r->addr.addr, &allowed) == SERVE_PROBE_OFF)
		return reply_line(conn, MHD_HTTP_FORBIDDEN, PROBE_OFF_HINT);
	if (resolved && !allowed) {
		sp_addr_format((const struct sockaddr *)&r->addr.addr, addr, sizeof(addr));
		return reply_line(
		    conn, MHD_HTTP_FORBIDDEN,
		    "/probe target %s (%.64s%s) is outside the allow list: add a network "
		    "holding it to --probe-allow or probe_allow in the config, e.g. %s/%d",
		    addr, r->target, strlen(r->target) > 64 ? "..." : "", addr,
		    strchr(addr, ':') ? 128 : 32);
	}
	if (resolved) {
		if (!ask_main_thread(h, r))
			return reply_line(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
	} else {
		r->duration_ns = mono_ns() - t0;
	}
	return reply(conn, MHD_HTTP_OK, metrics_type, render_probe(r, resolved));
}

/* /probe, its target and timeout read (@rt): the slot, then run_probe(). */
static enum MHD_Result handle_probe(struct serve_http *h, struct MHD_Connection *conn,
				   const struct serve_route *rt)
{
	struct serve_req r = {.tag = SERVE_JOB_PROBE, .kind = SERVE_REQ_PROBE};
	struct probe_client key, *client = NULL;
	enum MHD_Result ret;

	r.timeout_ms = rt->timeout_ms;
	snprintf(r.target, sizeof(r.target), "%s", rt->target);
	snprintf(r.host, sizeof(r.host), "%s", rt->spec.host);
	r.has_module = rt->has_module;
	r.module = rt->module;
	if (!client_key(conn, &key))
		return reply_line(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "cannot tell the client's address");
	switch (probe_slot_get(h, &key, &client)) {
	case SLOT_ALL_BUSY:
		return reply_line_hdr(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      MHD_HTTP_HEADER_RETRY_AFTER, "1",
				      "too many /probe requests in flight: %u (--probe-max-concurrent); "
				      "retry later",
				      h->opts.probe_max);
	case SLOT_CLIENT_BUSY:
		return reply_line_hdr(conn, MHD_HTTP_TOO_MANY_REQUESTS,
				      MHD_HTTP_HEADER_RETRY_AFTER, "1",
				      "too many /probe requests in flight from your address: %u "
				      "(--probe-max-per-client); retry later",
				      h->opts.probe_max_per_client);
	case SLOT_TAKEN:
		break;
	}
	ret = run_probe(h, conn, &r, &rt->spec);
	probe_slot_put(h, client);
	return ret;
}

/* The parts of @conn's request serve_request.c looks at. */
static void request_of(struct MHD_Connection *conn, const char *url, const char *method,
		       struct serve_request *rq)
{
	rq->method = method;
	rq->url = url;
	rq->content_length =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	rq->transfer_encoding =
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	rq->target = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "target");
	rq->timeout = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "timeout");
	rq->module = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "module");
	rq->scrape_timeout = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							 "X-Prometheus-Scrape-Timeout-Seconds");
}

/*
 * HTTP basic authentication against --web.config.file's basic_auth_users. MHD_YES: go on;
 * otherwise the answer (401, 503 or 500) is queued and its result returned in *@ret.
 */
static bool authenticate(struct serve_http *h, struct MHD_Connection *conn, enum MHD_Result *ret)
{
	char *user, *password = NULL;
	enum web_auth a;

	if (!h->opts.web)
		return true;
	web_server_maybe_reload(h->opts.web);
	if (!web_server_auth_required(h->opts.web))
		return true;
	user = MHD_basic_auth_get_username_password(conn, &password);
	a = web_server_check_auth(h->opts.web, user, password);
	if (password) {
		explicit_bzero(password, strlen(password));
		MHD_free(password);
	}
	if (user)
		MHD_free(user);
	switch (a) {
	case WEB_AUTH_OK:
		return true;
	case WEB_AUTH_DENIED:
		*ret = reply_line_hdr(conn, MHD_HTTP_UNAUTHORIZED, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				      "Basic realm=\"synprobe\"",
				      "unauthorized: give a user and password of basic_auth_users "
				      "(HTTP basic authentication)");
		return false;
	case WEB_AUTH_BUSY:
		*ret = reply_line_hdr(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				      MHD_HTTP_HEADER_RETRY_AFTER, "1",
				      "too many password checks in flight; retry later");
		return false;
	case WEB_AUTH_ERROR:
		break;
	}
	*ret = reply_line(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot check the password");
	return false;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	static int first_call_marker;
	struct serve_http *h = cls;
	struct serve_req r = {};
	struct serve_request rq;
	struct serve_route rt;
	enum MHD_Result ret;

	request_of(conn, url, method, &rq);
	if (!*con_cls) {
		/*
		 * The first call has the headers only. Every endpoint is GET (or HEAD) without a
		 * body: anything else is answered now, from the headers, so that a body is never
		 * waited for (MHD discards the rest and closes the connection after the answer).
		 * Authentication comes first, as in exporter-toolkit: nothing is said to a
		 * client without the password.
		 */
		*con_cls = &first_call_marker;
		pthread_mutex_lock(&h->lock);
		h->requests++;
		pthread_mutex_unlock(&h->lock);
		if (!authenticate(h, conn, &ret))
			return ret;
		serve_request_headers(&rq, &rt);
		if (rt.kind == SERVE_ROUTE_ANSWER)
			return reply_line_hdr(conn, rt.status, rt.hdr, rt.hdr_val, "%s", rt.line);
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* Not announced by the headers; never the case with MHD, dropped all the same. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	/* /probe off: said before anything else, whatever the request. */
	if (!strcmp(url, "/probe") && probe_policy(h, NULL, NULL) == SERVE_PROBE_OFF)
		return reply_line(conn, MHD_HTTP_FORBIDDEN, PROBE_OFF_HINT);
	/* Under the lock: the module, if any, is copied into rt (a reload may swap the table). */
	pthread_mutex_lock(&h->lock);
	serve_request_route(&rq, h->opts.probe_timeout_max_ms, h->modules, h->n_modules, &rt);
	pthread_mutex_unlock(&h->lock);
	switch (rt.kind) {
	case SERVE_ROUTE_METRICS:
		r.kind = SERVE_REQ_METRICS;
		if (!ask_main_thread(h, &r))
			return reply_line(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
		return reply(conn, r.status, metrics_type, r.body);
	case SERVE_ROUTE_HEALTH:
		r.kind = SERVE_REQ_HEALTH;
		if (!ask_main_thread(h, &r))
			return reply_line(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
		return reply(conn, r.status, text_type, r.body);
	case SERVE_ROUTE_PROBE:
		return handle_probe(h, conn, &rt);
	case SERVE_ROUTE_INDEX:
		return reply(conn, MHD_HTTP_OK, "text/html; charset=utf-8",
			     strdup("<html><head><title>synprobe</title></head><body>"
				    "<h1>synprobe serve</h1><p><a href=\"/metrics\">/metrics</a> "
				    "<a href=\"/healthz\">/healthz</a> "
				    "/probe?target=host:port&amp;module=name&amp;timeout=1s</p>"
				    "</body></html>\n"));
	case SERVE_ROUTE_ANSWER:
	case SERVE_ROUTE_NEXT:
		break;
	}
	return reply_line_hdr(conn, rt.status ? rt.status : MHD_HTTP_INTERNAL_SERVER_ERROR,
			      rt.hdr, rt.hdr_val, "%s", rt.line);
}

/*
 * MHD_OPTION_NOTIFY_CONNECTION: with TLS, each session gets the current web settings before its
 * handshake (MHD has made the session and not started the handshake yet), and gives them back
 * when the connection closes.
 */
static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			      enum MHD_ConnectionNotificationCode toe)
{
	struct serve_http *h = cls;
	const union MHD_ConnectionInfo *ci;

	if (!h->opts.web || !web_server_tls(h->opts.web))
		return;
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		web_server_session_end(*socket_context);
		*socket_context = NULL;
		return;
	}
	*socket_context = NULL;
	web_server_maybe_reload(h->opts.web);
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	/* On failure the session keeps MHD's credentials, whose callback refuses the handshake. */
	if (ci && ci->tls_session)
		web_server_session_start(h->opts.web, ci->tls_session, socket_context);
}

/* MHD_OPTION_NOTIFY_COMPLETED: the request's answer is sent (or its connection failed). */
static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct serve_http *h = cls;

	if (!*con_cls)
		return;
	pthread_mutex_lock(&h->lock);
	h->requests--;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

struct serve_http *serve_http_start(const struct sockaddr_storage *addr, socklen_t addrlen,
				    const struct serve_http_opts *opts, pthread_t main_thread,
				    int wake_signal)
{
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
	/* With a listening socket given, MHD takes it and ignores MHD_OPTION_SOCK_ADDR. */
	struct MHD_OptionItem listen_sock[] = {
	    {opts && opts->listen_fd > 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_END,
	     opts ? opts->listen_fd : 0, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	struct serve_http *h;
	bool tls;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	if (opts)
		h->opts = *opts;
	serve_http_opts_fill(&h->opts);
	h->clients = calloc(h->opts.probe_max, sizeof(*h->clients));
	if (!h->clients) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->main_thread = main_thread;
	h->wake_signal = wake_signal;
	h->policy = SERVE_PROBE_OFF;
	if (addr->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	tls = h->opts.web && web_server_tls(h->opts.web);
	if (tls)
		flags |= MHD_USE_TLS;
	/*
	 * MHD_OPTION_SOCK_ADDR ignores the port argument; errno tells why it failed. A thread per
	 * connection: a /probe blocks only its own. /probe requests in flight stay far below the
	 * connection limit (probe_max), so /metrics and /healthz always find a connection; one
	 * address holds at most half the connections; a connection idle for idle_timeout_s is closed.
	 */
	errno = 0;
	h->daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, handle, h, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_ARRAY, listen_sock,
	    MHD_OPTION_CONNECTION_LIMIT, h->opts.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    h->opts.max_connections / 2 ? h->opts.max_connections / 2 : 1,
	    MHD_OPTION_CONNECTION_TIMEOUT, h->opts.idle_timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, CONNECTION_MEMORY_BYTES,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, h, MHD_OPTION_NOTIFY_CONNECTION,
	    notify_connection, h,
	    /* With TLS, MHD wants a certificate: its callback is never used (see above). */
	    tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, web_server_cert_callback,
	    MHD_OPTION_END);
	if (!h->daemon) {
		err = errno ? errno : EADDRINUSE;
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->cond);
		free(h->clients);
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
	struct timespec deadline;

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
	/* Lets the answers go out (for at most STOP_GRACE_MS): MHD_stop_daemon() cuts connections. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += STOP_GRACE_MS * 1000000L;
	deadline.tv_sec += deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	while (h->requests)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &deadline) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&h->lock);
	MHD_stop_daemon(h->daemon);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->cond);
	free(h->clients);
	free(h->allow);
	free(h->modules);
	free(h);
}
