// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_keepalive.c - `synprobe keepalive`: hold an idle connection with TCP keepalive on and report
 * each probe the kernel sends and the ACK that answers it, as the conn BPF programs see them at
 * tc egress and ingress; with --listen, the server side: probes received and answered.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include "conn.h"
#include "keepalive.h"
#include "main.h"
#include "output.h"
#include "target.h"
#include "util.h"

#define LISTEN_CONNS_MAX 64
#define ADDR_STR_MAX (INET6_ADDRSTRLEN + IF_NAMESIZE + 10)

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
}

/* One followed connection, on either side. */
struct ka_conn {
	int fd;
	__u64 cookie;
	__u64 t0_ns; /* connected / accepted: probe times are relative to it */
	char peer[ADDR_STR_MAX];
	__u32 probes, answered, unanswered;
	__u64 rtt_min_ns, rtt_max_ns, rtt_sum_ns;
	bool pending; /* a probe waits for its answer */
	__u64 pending_ts_ns;
};

struct ka_ctx {
	const struct sp_keepalive_args *a;
	struct ka_conn *conns;
	size_t n_conns;
	bool server;
};

static struct ka_conn *find_conn(struct ka_ctx *k, __u32 conn_id)
{
	return conn_id < k->n_conns && k->conns[conn_id].fd >= 0 ? &k->conns[conn_id] : NULL;
}

static void print_probe(struct ka_ctx *k, struct ka_conn *c, __u64 sent_ns, bool answered,
			__u64 rtt_ns)
{
	char t[16], r[16];
	__u64 rel = sent_ns > c->t0_ns ? sent_ns - c->t0_ns : 0;
	json_object *obj;

	if (k->a->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "event", json_object_new_string("probe"));
		json_object_object_add(obj, "peer", json_object_new_string(c->peer));
		json_object_object_add(obj, "direction",
				       json_object_new_string(k->server ? "in" : "out"));
		json_object_object_add(obj, "probe", json_object_new_int64(c->probes));
		json_object_object_add(obj, "time_ns", json_object_new_int64((int64_t)rel));
		json_object_object_add(obj, "answered", json_object_new_boolean(answered));
		json_object_object_add(obj, "rtt_ns",
				       answered ? json_object_new_int64((int64_t)rtt_ns) : NULL);
		sp_json_line(obj);
		return;
	}
	sp_format_ns(rel, t, sizeof(t));
	if (!answered)
		printf("probe %-3u %s %s  at +%s  unanswered\n", c->probes,
		       k->server ? "from" : "to", c->peer, t);
	else
		printf("probe %-3u %s %s  at +%s  %s  rtt_ns %llu (%s)\n", c->probes,
		       k->server ? "from" : "to", c->peer, t,
		       k->server ? "answered in" : "answered", (unsigned long long)rtt_ns,
		       sp_format_ns(rtt_ns, r, sizeof(r)));
	fflush(stdout);
}

static void on_event(const struct sp_conn_event *ev, void *ctx)
{
	struct ka_ctx *k = ctx;
	struct ka_conn *c = find_conn(k, ev->conn_id);
	bool probe = ev->type == (k->server ? SP_CONN_EV_PROBE_IN : SP_CONN_EV_PROBE_OUT);
	bool answer = ev->type == (k->server ? SP_CONN_EV_ACK_OUT : SP_CONN_EV_ACK_IN);

	if (!c || c->cookie != ev->cookie)
		return;
	if (sp_verbose && !k->a->json)
		fprintf(stderr, "synprobe: %s %s seq %u ack %u\n", c->peer,
			sp_conn_event_name(ev->type), ev->seq, ev->ack);
	if (probe) {
		if (c->pending) {
			c->unanswered++;
			print_probe(k, c, c->pending_ts_ns, false, 0);
		}
		c->probes++;
		c->pending = true;
		c->pending_ts_ns = ev->ts_ns;
	} else if (answer && c->pending) {
		c->pending = false;
		c->answered++;
		c->rtt_sum_ns += ev->rtt_ns;
		if (!c->rtt_min_ns || ev->rtt_ns < c->rtt_min_ns)
			c->rtt_min_ns = ev->rtt_ns;
		if (ev->rtt_ns > c->rtt_max_ns)
			c->rtt_max_ns = ev->rtt_ns;
		print_probe(k, c, c->pending_ts_ns, true, ev->rtt_ns);
	}
}

/* The final line of a connection: @error is 0 while alive, else the errno that ended it. */
static void print_summary(struct ka_ctx *k, struct ka_conn *c, int error, __u64 end_ns)
{
	char t[16], mn[16], avg[16], mx[16];
	const char *end = !error ? "alive" : error == EPIPE ? "closed" : "dead";
	__u64 rel = end_ns - c->t0_ns, avg_ns = c->answered ? c->rtt_sum_ns / c->answered : 0;
	json_object *obj;

	if (c->pending) {
		/* The probe the kernel gave up on. */
		c->unanswered++;
		print_probe(k, c, c->pending_ts_ns, false, 0);
		c->pending = false;
	}
	if (k->a->json) {
		if (error) {
			obj = json_object_new_object();
			json_object_object_add(obj, "event", json_object_new_string("dead"));
			json_object_object_add(obj, "peer", json_object_new_string(c->peer));
			json_object_object_add(obj, "error",
					       json_object_new_string(error == ETIMEDOUT ? "ETIMEDOUT" :
								      error == ECONNRESET ? "ECONNRESET" :
								      error == EPIPE ? "EOF" :
								      strerror(error)));
			json_object_object_add(obj, "time_ns", json_object_new_int64((int64_t)rel));
			sp_json_line(obj);
		}
		obj = json_object_new_object();
		json_object_object_add(obj, "event", json_object_new_string("summary"));
		json_object_object_add(obj, "peer", json_object_new_string(c->peer));
		json_object_object_add(obj, "probes", json_object_new_int64(c->probes));
		json_object_object_add(obj, "answered", json_object_new_int64(c->answered));
		json_object_object_add(obj, "unanswered", json_object_new_int64(c->unanswered));
		json_object_object_add(obj, "rtt_min_ns", c->answered ?
				       json_object_new_int64((int64_t)c->rtt_min_ns) : NULL);
		json_object_object_add(obj, "rtt_avg_ns", c->answered ?
				       json_object_new_int64((int64_t)avg_ns) : NULL);
		json_object_object_add(obj, "rtt_max_ns", c->answered ?
				       json_object_new_int64((int64_t)c->rtt_max_ns) : NULL);
		json_object_object_add(obj, "duration_ns", json_object_new_int64((int64_t)rel));
		json_object_object_add(obj, "alive", json_object_new_boolean(!error));
		sp_json_line(obj);
		return;
	}
	sp_format_ns(rel, t, sizeof(t));
	if (error == ETIMEDOUT)
		printf("dead  %s  at +%s: the kernel declared the connection dead (ETIMEDOUT) after %u unanswered probes\n",
		       c->peer, t, c->unanswered);
	else if (error == ECONNRESET)
		printf("dead  %s  at +%s: the peer reset the connection (ECONNRESET)\n", c->peer, t);
	else if (error == EPIPE)
		printf("closed  %s  at +%s: the peer closed the connection (EOF)\n", c->peer, t);
	else if (error)
		printf("dead  %s  at +%s: %s\n", c->peer, t, strerror(error));
	if (c->answered)
		printf("summary %s: %u probes, %u answered, %u unanswered; rtt min %s, avg %s, max %s; %s after %s\n",
		       c->peer, c->probes, c->answered, c->unanswered,
		       sp_format_ns(c->rtt_min_ns, mn, sizeof(mn)),
		       sp_format_ns(avg_ns, avg, sizeof(avg)),
		       sp_format_ns(c->rtt_max_ns, mx, sizeof(mx)), end, t);
	else
		printf("summary %s: %u probes, 0 answered, %u unanswered; %s after %s\n", c->peer,
		       c->probes, c->unanswered, end, t);
	fflush(stdout);
}

/*
 * What the socket says when poll() wakes it: 0 if still alive (data was read and dropped),
 * else the errno that ended it (EPIPE for an orderly close by the peer).
 */
static int socket_state(int fd)
{
	char buf[4096];
	ssize_t n;

	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0)
		return 0;
	if (n == 0)
		return EPIPE;
	if (errno == EAGAIN || errno == EINTR)
		return 0;
	return errno;
}

static int keepalive_opts(int fd, const struct sp_keepalive_args *a)
{
	int one = 1, idle = (int)a->idle_s, intvl = (int)a->interval_s, cnt = (int)a->count;

	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) ||
	    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)))
		return -errno;
	return 0;
}

/* @arg resolved to its first address; on failure one error line, prefixed by @what. */
static int resolve_one(const char *arg, const char *what, struct sp_address *addr)
{
	struct sp_target_spec spec;
	char err[SP_ERR_MAX];
	int rc;

	if (sp_target_parse(arg, 0, &spec, err, sizeof(err))) {
		sp_err("%s%s", what, err);
		return -EINVAL;
	}
	rc = sp_target_resolve(&spec, AF_UNSPEC, false, addr, 1, err, sizeof(err));
	if (rc < 0) {
		sp_err("%s%s", what, err);
		return rc;
	}
	return 0;
}

static void print_bpf_stats(struct sp_conn_obs *o)
{
	struct sp_conn_stats st;

	if (!sp_verbose || sp_conn_read_stats(o, &st))
		return;
	fprintf(stderr,
		"synprobe: egress packets %llu, tracked %llu, untracked %llu; ingress packets %llu, tracked %llu, untracked %llu; ring buffer full %llu\n",
		st.eg_packets, st.eg_tracked, st.eg_untracked, st.in_packets, st.in_tracked,
		st.in_untracked, st.ringbuf_full);
}

static __u64 deadline_ns(const struct sp_keepalive_args *a, __u64 start_ns)
{
	return a->duration_ms ? start_ns + (__u64)a->duration_ms * 1000000ull : 0;
}

/* poll() timeout in ms to @deadline (0: none, -1). */
static int timeout_to(__u64 deadline)
{
	__u64 now = sp_mono_ns();

	if (!deadline)
		return -1;
	if (now >= deadline)
		return 0;
	return (int)((deadline - now + 999999) / 1000000);
}

static int run_client(const struct sp_keepalive_args *a, struct sp_conn_obs **op, struct ka_ctx *k)
{
	struct sockaddr_storage local;
	struct sp_address addr;
	struct ka_conn *c = &k->conns[0];
	struct pollfd pfd[2];
	socklen_t len = sizeof(local);
	char lstr[ADDR_STR_MAX], msg[512];
	__u64 deadline;
	int err, state = 0;
	json_object *obj;

	err = resolve_one(a->target, "", &addr);
	if (err)
		return SP_EXIT_USAGE;
	*op = sp_conn_open(on_event, k);
	if (!*op) {
		sp_err("cannot load the BPF programs (%s): run synprobe as root, -v for libbpf's log",
		       strerror(errno));
		return SP_EXIT_USAGE;
	}
	err = sp_conn_attach_for(*op, (struct sockaddr *)&addr.addr);
	if (err) {
		sp_err("%s", sp_conn_attach_strerror(err, a->target, msg, sizeof(msg)));
		return SP_EXIT_USAGE;
	}
	c->fd = socket(addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		sp_err("socket(): %s", strerror(errno));
		return SP_EXIT_USAGE;
	}
	err = keepalive_opts(c->fd, a);
	if (!err)
		err = sp_conn_register(*op, c->fd, 0, false, &c->cookie);
	if (err) {
		sp_err("cannot set up the socket for %s: %s", a->target, strerror(-err));
		return SP_EXIT_USAGE;
	}
	sp_addr_port_str(&addr.addr, c->peer, sizeof(c->peer));
	err = sp_connect_timeout(c->fd, (struct sockaddr *)&addr.addr, addr.addrlen,
				 a->connect_timeout_ms);
	if (err) {
		sp_err("cannot connect to %s (%s): is something listening there?", a->target,
		       strerror(-err));
		return SP_EXIT_NOT_OK;
	}
	c->t0_ns = sp_mono_ns();
	getsockname(c->fd, (struct sockaddr *)&local, &len);
	sp_addr_port_str(&local, lstr, sizeof(lstr));
	if (a->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "event", json_object_new_string("connected"));
		json_object_object_add(obj, "local", json_object_new_string(lstr));
		json_object_object_add(obj, "peer", json_object_new_string(c->peer));
		json_object_object_add(obj, "idle_s", json_object_new_int64(a->idle_s));
		json_object_object_add(obj, "interval_s", json_object_new_int64(a->interval_s));
		json_object_object_add(obj, "count", json_object_new_int64(a->count));
		sp_json_line(obj);
	} else {
		printf("connected %s -> %s; keepalive idle %u s, interval %u s, count %u\n", lstr,
		       c->peer, a->idle_s, a->interval_s, a->count);
		fflush(stdout);
	}

	deadline = deadline_ns(a, c->t0_ns);
	pfd[0] = (struct pollfd){ .fd = c->fd, .events = POLLIN | POLLRDHUP };
	pfd[1] = (struct pollfd){ .fd = sp_conn_poll_fd(*op), .events = POLLIN };
	while (!exiting && !state) {
		err = poll(pfd, 2, timeout_to(deadline));
		if (err < 0 && errno == EINTR)
			continue;
		if (err < 0) {
			sp_err("poll(): %s", strerror(errno));
			return SP_EXIT_USAGE;
		}
		if (err == 0)
			break; /* --duration is over */
		if (pfd[1].revents)
			sp_conn_consume(*op);
		if (pfd[0].revents)
			state = socket_state(c->fd);
	}
	/* The ring buffer may still hold the last probe: read it before the summary. */
	sp_conn_consume(*op);
	print_summary(k, c, state, sp_mono_ns());
	print_bpf_stats(*op);
	return state ? SP_EXIT_NOT_OK : SP_EXIT_OK;
}

static void close_conn(struct ka_ctx *k, struct sp_conn_obs *o, struct ka_conn *c, int error)
{
	print_summary(k, c, error, sp_mono_ns());
	sp_conn_unregister(o, c->cookie);
	close(c->fd);
	c->fd = -1;
}

static void accept_one(struct ka_ctx *k, struct sp_conn_obs *o, int lfd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	struct ka_conn *c = NULL;
	json_object *obj;
	size_t i;
	int fd, err;

	fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (i = 0; i < k->n_conns && !c; i++)
		if (k->conns[i].fd < 0)
			c = &k->conns[i];
	if (!c) {
		sp_warn("more than %d connections held: closing the new one", LISTEN_CONNS_MAX);
		close(fd);
		return;
	}
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->t0_ns = sp_mono_ns();
	sp_addr_port_str(&peer, c->peer, sizeof(c->peer));
	err = sp_conn_attach_for(o, (struct sockaddr *)&peer);
	if (!err)
		err = sp_conn_register(o, fd, (__u32)(c - k->conns), true, &c->cookie);
	if (err) {
		sp_warn("cannot follow the connection from %s (%s): closing it", c->peer,
			strerror(-err));
		close(fd);
		c->fd = -1;
		return;
	}
	if (k->a->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "event", json_object_new_string("accepted"));
		json_object_object_add(obj, "peer", json_object_new_string(c->peer));
		sp_json_line(obj);
	} else {
		printf("accepted %s\n", c->peer);
		fflush(stdout);
	}
}

static int run_server(const struct sp_keepalive_args *a, struct sp_conn_obs **op, struct ka_ctx *k)
{
	struct pollfd pfd[LISTEN_CONNS_MAX + 2];
	struct sp_address addr;
	int lfd = -1, one = 1, err, rc;
	__u64 deadline;
	size_t i;
	json_object *obj;

	if (resolve_one(a->listen, "--listen: ", &addr))
		return SP_EXIT_USAGE;
	*op = sp_conn_open(on_event, k);
	if (!*op) {
		sp_err("cannot load the BPF programs (%s): run synprobe as root, -v for libbpf's log",
		       strerror(errno));
		return SP_EXIT_USAGE;
	}
	lfd = socket(addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&addr.addr, addr.addrlen) || listen(lfd, 64)) {
		sp_err("cannot listen on %s (%s): is the address local and the port free?",
		       a->listen, strerror(errno));
		rc = SP_EXIT_USAGE;
		goto cleanup;
	}
	if (a->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "event", json_object_new_string("listening"));
		json_object_object_add(obj, "listen", json_object_new_string(a->listen));
		sp_json_line(obj);
	} else {
		printf("listening on %s\n", a->listen);
		fflush(stdout);
	}
	deadline = deadline_ns(a, sp_mono_ns());
	while (!exiting) {
		pfd[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sp_conn_poll_fd(*op), .events = POLLIN };
		for (i = 0; i < k->n_conns; i++)
			pfd[i + 2] = (struct pollfd){ .fd = k->conns[i].fd,
						      .events = POLLIN | POLLRDHUP };
		err = poll(pfd, k->n_conns + 2, timeout_to(deadline));
		if (err < 0 && errno == EINTR)
			continue;
		if (err < 0) {
			sp_err("poll(): %s", strerror(errno));
			rc = SP_EXIT_USAGE;
			goto cleanup;
		}
		if (err == 0)
			break;
		if (pfd[1].revents)
			sp_conn_consume(*op);
		for (i = 0; i < k->n_conns; i++) {
			if (k->conns[i].fd < 0 || !pfd[i + 2].revents)
				continue;
			err = socket_state(k->conns[i].fd);
			if (err) {
				sp_conn_consume(*op);
				close_conn(k, *op, &k->conns[i], err);
			}
		}
		if (pfd[0].revents)
			accept_one(k, *op, lfd);
	}
	sp_conn_consume(*op);
	for (i = 0; i < k->n_conns; i++)
		if (k->conns[i].fd >= 0)
			close_conn(k, *op, &k->conns[i], 0);
	print_bpf_stats(*op);
	rc = SP_EXIT_OK;
cleanup:
	if (lfd >= 0)
		close(lfd);
	return rc;
}

int do_keepalive(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sig_handler };
	struct ka_conn conns[LISTEN_CONNS_MAX];
	struct sp_keepalive_args a;
	struct sp_conn_obs *o = NULL;
	struct ka_ctx k = { .a = &a, .conns = conns };
	size_t i;
	int rc;

	rc = sp_keepalive_parse_args(argc, argv, &a);
	if (rc)
		return rc > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;
	sp_verbose = a.verbose;
	sp_setup_libbpf_print(sp_verbose);
	for (i = 0; i < LISTEN_CONNS_MAX; i++)
		conns[i].fd = -1;
	k.server = a.listen != NULL;
	k.n_conns = k.server ? LISTEN_CONNS_MAX : 1;
	/* No SA_RESTART: a signal ends poll() with EINTR. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = k.server ? run_server(&a, &o, &k) : run_client(&a, &o, &k);
	for (i = 0; i < k.n_conns; i++)
		if (conns[i].fd >= 0)
			close(conns[i].fd);
	/* Unregisters every connection and detaches the programs. */
	sp_conn_close(o);
	return rc;
}
