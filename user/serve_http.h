/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve_http.h - the HTTP endpoint of `synprobe serve` (libmicrohttpd, a thread per connection).
 *
 * The engine is single-threaded, so the HTTP threads never touch it: each request that needs the
 * engine (/metrics, /probe, /healthz) is queued, the main thread is woken with a signal (which
 * interrupts its epoll_pwait() in synprobe_poll()), takes the request with serve_http_take(),
 * answers it with serve_http_done() (at once, or when a probe's result comes), and the
 * connection's thread sends the answer.
 */
#ifndef __SP_SERVE_HTTP_H
#define __SP_SERVE_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "cidr.h"
#include "check_kind.h"
#include "libsynprobe.h"
#include "serve_config.h"
#include "target.h"
#include "web_server.h"

enum serve_req_kind {
	SERVE_REQ_METRICS, /* the main thread renders /metrics into body */
	SERVE_REQ_PROBE,   /* the main thread runs one check of addr and fills result */
	SERVE_REQ_HEALTH,  /* the main thread answers: its loop is alive */
};

/* Tells apart what the engine's `user` pointer points to: a check or an HTTP request. */
enum serve_job_tag {
	SERVE_JOB_CHECK = 1,
	SERVE_JOB_PROBE = 2,
};

/* The part of a /probe request's result the answer is made of. */
struct serve_probe_result {
	enum synprobe_outcome outcome;
	bool has_rtt;
	__u64 rtt_ns;
	__u32 syn_retransmits;
	int error; /* positive errno, or 0 */
	/* a module's completing check ran: a copy of its kind's result (NULL: none) */
	const void *kind_result;
	union sp_kind_result_buf kind_result_buf;
};

struct serve_req {
	enum serve_job_tag tag; /* SERVE_JOB_PROBE: first, as in every engine `user` */
	enum serve_req_kind kind;
	/* probe input, filled by the HTTP thread */
	char target[SERVE_TARGET_MAX];
	struct sp_address addr;
	__u32 timeout_ms;
	bool has_module;	     /* ?module=: module is a copy of it (its kind lives until exit) */
	struct serve_module module;
	char host[SP_HOST_MAX];	     /* the target's host, for TLS's SNI and name check */
	union sp_kind_arg_buf kind_arg; /* the kind's argument while the check runs (main thread) */
	__u64 start_ns; /* CLOCK_MONOTONIC, when the main thread started the check */
	/* output, filled by the main thread before serve_http_done() */
	struct serve_probe_result result;
	__u64 duration_ns;
	unsigned int status; /* HTTP status */
	char *body;	     /* malloc'd; NULL for a probe (the HTTP thread renders it) */
	/* private to serve_http.c */
	bool done;
	bool queued;
	struct serve_req *next;	     /* queue */
	struct serve_req *live_next; /* every request not yet answered */
};

struct serve_http;

/*
 * Limits of the HTTP endpoint, so that /metrics and /healthz are answered whatever /probe clients
 * do: /probe requests in flight are capped (all clients together, and per client address) well
 * below the connection limit and answered 503 / 429 beyond; a connection that sends nothing is
 * closed after the idle timeout; a request with a body is answered 405 or 413 from its headers.
 * A field left 0 takes its default.
 */
#define SERVE_HTTP_CONNECTIONS_DEFAULT 256
#define SERVE_HTTP_IDLE_TIMEOUT_S_DEFAULT 5
/* The longest /probe timeout by default; a longer one asked for is cut to it. */
#define SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_DEFAULT 60000
/* --probe-timeout-max is at most this: a probe holds a connection and a slot that long. */
#define SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_LIMIT 600000
struct serve_http_opts {
	unsigned int max_connections;	   /* default SERVE_HTTP_CONNECTIONS_DEFAULT; half of them
					    * per client address */
	unsigned int probe_max;		   /* /probe in flight, default max_connections / 4 */
	unsigned int probe_max_per_client; /* /probe in flight per client address, default
					    * probe_max / 2 */
	unsigned int idle_timeout_s;	   /* default SERVE_HTTP_IDLE_TIMEOUT_S_DEFAULT */
	__u32 probe_timeout_max_ms;	   /* default SERVE_HTTP_PROBE_TIMEOUT_MAX_MS_DEFAULT */
	int listen_fd; /* > 0: a listening socket to serve on instead of binding the address (made
			* before a privilege drop), owned by the server once started
			* (serve_http_stop() closes it); 0: bind the address */
	struct web_server *web;		   /* --web.config.file: TLS and basic auth; NULL: plain
					    * HTTP, no auth. Not owned; outlives the server */
};

/* Which /probe targets are checked. */
enum serve_probe_policy {
	SERVE_PROBE_ALL,  /* every target: a loopback listener without an allow list */
	SERVE_PROBE_LIST, /* the targets whose address lies in the allow list (403 for others) */
	SERVE_PROBE_OFF,  /* none, 403 with a hint: a listener off loopback without a list */
};

/* serve_http_opts_fill - every 0 of @o replaced by its default; per client at most probe_max. */
void serve_http_opts_fill(struct serve_http_opts *o);

/*
 * serve_http_start - listen on @addr and serve /metrics, /probe and /healthz within @opts (NULL:
 * the defaults). Requests for the main thread are signalled to @main_thread with @wake_signal,
 * which that thread must block outside its waits (and give to the engine's wait_sigmask unblocked).
 * Call with every signal the process handles blocked: the HTTP threads inherit the mask. Returns
 * the server, or NULL with errno (EADDRINUSE, EACCES, ...).
 */
struct serve_http *serve_http_start(const struct sockaddr_storage *addr, socklen_t addrlen,
				    const struct serve_http_opts *opts, pthread_t main_thread,
				    int wake_signal);

/*
 * serve_http_set_probe_policy - from now on, /probe checks what @policy allows; @list (@n
 * networks, copied) for SERVE_PROBE_LIST. Starts with SERVE_PROBE_OFF. Returns 0 or -ENOMEM
 * (the policy stays as it was).
 */
int serve_http_set_probe_policy(struct serve_http *h, enum serve_probe_policy policy,
				const struct sp_cidr *list, size_t n);

/*
 * serve_http_set_modules - from now on, /probe?module= picks among @modules (@n entries,
 * copied; n <= SERVE_MODULES_MAX). A request routed before keeps its own copy of its module,
 * so the old table may go at once. Returns 0 or -ENOMEM (the table stays as it was).
 */
int serve_http_set_modules(struct serve_http *h, const struct serve_module *modules, size_t n);

/* serve_http_take - the next request queued for the main thread, or NULL. */
struct serve_req *serve_http_take(struct serve_http *h);

/*
 * serve_http_done - answer @r: for METRICS and HEALTH, @status and @body (malloc'd, ownership
 * passes; NULL gives an empty body); for PROBE, r->result and r->duration_ns filled (status and
 * body ignored). @r must not be used after.
 */
void serve_http_done(struct serve_http *h, struct serve_req *r, unsigned int status, char *body);

/*
 * serve_http_stop - answer every request still pending with 503, stop the threads, free @h.
 * NULL is accepted. Requests given to the engine must not be delivered after this.
 */
void serve_http_stop(struct serve_http *h);

#endif
