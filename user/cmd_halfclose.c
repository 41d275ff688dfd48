// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_halfclose.c - `synprobe halfclose server|client`: does a peer (a server, a proxy, a load
 * balancer) keep sending after we shut down our write side? The server streams a file or
 * generated data; the client reads, shuts down its write side after --write-timeout and reads on
 * until EOF. The conn BPF programs stamp each FIN and count the bytes that come after ours; the
 * client ends with a verdict.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include "conn.h"
#include "halfclose.h"
#include "main.h"
#include "output.h"
#include "target.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 5000
#define ADDR_STR_MAX (INET6_ADDRSTRLEN + IF_NAMESIZE + 10)

static volatile sig_atomic_t exiting;

static void sig_handler(int sig)
{
	exiting = 1;
}

/* One JSON log line on stderr: time, level, msg, and @fields (owned, may be NULL) under @role. */
static void hc_log(int min_level, int level, const char *role, const char *msg, json_object *fields)
{
	static const char *const upper[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	char tbuf[64], frac[16];
	struct timespec ts;
	struct tm tm;
	json_object *obj;

	if (level < min_level) {
		json_object_put(fields);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(frac, sizeof(frac), ".%09ldZ", ts.tv_nsec);
	strncat(tbuf, frac, sizeof(tbuf) - strlen(tbuf) - 1);
	obj = json_object_new_object();
	json_object_object_add(obj, "time", json_object_new_string(tbuf));
	json_object_object_add(obj, "level", json_object_new_string(upper[level]));
	json_object_object_add(obj, "msg", json_object_new_string(msg));
	json_object_object_add(obj, role, fields ? fields : json_object_new_object());
	fprintf(stderr, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

/* A fields object with one string, for the common log line. */
static json_object *fields_str(const char *k, const char *v)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, k, json_object_new_string(v));
	return o;
}

static void add_u64(json_object *o, const char *k, __u64 v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: synprobe halfclose server|client [OPTIONS]\n"
		   "\n"
		   "Half-close test: 'synprobe halfclose server --help' and\n"
		   "'synprobe halfclose client --help' for each role.\n");
}

/* @arg resolved to its first address; on failure one error line, prefixed by @what. */
static int resolve(const char *arg, const char *what, struct sp_address *addr)
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

/* ---- server ---- */

struct hc_source {
	int fd;	     /* the --file, or -1 for generated data */
	__u64 size;
	char *buf;   /* one chunk */
	__u32 chunk;
};

/* Fills @s->buf with the chunk at @off; returns its length, or a negative errno. */
static ssize_t source_chunk(struct hc_source *s, __u64 off)
{
	size_t n = s->size - off < s->chunk ? (size_t)(s->size - off) : s->chunk;
	ssize_t got;
	size_t i;

	if (s->fd < 0) {
		for (i = 0; i < n; i++)
			s->buf[i] = (char)('a' + (off + i) % 26);
		return (ssize_t)n;
	}
	got = pread(s->fd, s->buf, n, (off_t)off);
	return got < 0 ? -errno : got;
}

/* Streams the source to one client; keeps sending after its EOF. */
static void serve_one(const struct sp_hc_server_args *a, struct hc_source *src, int fd,
		      const char *peer)
{
	__u64 sent = 0, start = sp_mono_ns(), now, due;
	ssize_t len = 0, off = 0, n;
	bool eof = false;
	struct pollfd pfd;
	char rbuf[4096];
	json_object *f;
	int timeout;

	f = fields_str("client", peer);
	add_u64(f, "chunk", a->chunk_bytes);
	hc_log(a->log_level, SP_LOG_INFO, "server", "start to stream with chunk", f);
	while (!exiting && (sent < src->size || off < len)) {
		pfd = (struct pollfd){ .fd = fd, .events = eof ? 0 : POLLIN };
		timeout = -1;
		due = 0;
		if (a->rate_bytes_s)
			due = start + sent * 1000000000ull / a->rate_bytes_s;
		now = sp_mono_ns();
		if (due > now)
			timeout = (int)((due - now + 999999) / 1000000);
		else
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			n = recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT);
			if (n == 0 && !eof) {
				eof = true;
				f = fields_str("client", peer);
				add_u64(f, "sent", sent);
				hc_log(a->log_level, SP_LOG_INFO, "server",
				       "got EOF from the client, still streaming", f);
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				f = fields_str("client", peer);
				json_object_object_add(f, "error", json_object_new_string(strerror(errno)));
				add_u64(f, "sent", sent);
				hc_log(a->log_level, SP_LOG_ERROR, "server", "connection failed", f);
				return;
			}
		}
		if (!(pfd.revents & POLLOUT))
			continue;
		if (off == len) {
			len = source_chunk(src, sent);
			off = 0;
			if (len <= 0) {
				hc_log(a->log_level, SP_LOG_ERROR, "server", "cannot read the file",
				       fields_str("error", strerror(len ? (int)-len : EIO)));
				return;
			}
			sent += (__u64)len;
		}
		n = send(fd, src->buf + off, (size_t)(len - off), MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			f = fields_str("client", peer);
			json_object_object_add(f, "error", json_object_new_string(strerror(errno)));
			add_u64(f, "sent", sent - (__u64)(len - off));
			hc_log(a->log_level, SP_LOG_WARN, "server", "the client closed the connection", f);
			return;
		}
		if (n > 0)
			off += n;
	}
	f = fields_str("client", peer);
	add_u64(f, "size", sent);
	hc_log(a->log_level, SP_LOG_INFO, "server", "finish streaming with chunk", f);
}

static int run_server(const struct sp_hc_server_args *a)
{
	struct hc_source src = { .fd = -1, .size = a->size_bytes, .chunk = a->chunk_bytes };
	struct sockaddr_storage peer;
	struct sp_address addr;
	int lfd = -1, cfd, one = 1, rc = SP_EXIT_USAGE;
	char pstr[ADDR_STR_MAX];
	struct pollfd pfd;
	socklen_t plen;
	struct stat st;
	json_object *f;

	if (resolve(a->listen, "--listen: ", &addr))
		return SP_EXIT_USAGE;
	if (a->file) {
		src.fd = open(a->file, O_RDONLY | O_CLOEXEC);
		if (src.fd < 0 || fstat(src.fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
			sp_err("--file '%s': %s: give a readable, non-empty regular file", a->file,
			       src.fd < 0 ? strerror(errno) : "not a regular file or empty");
			goto cleanup;
		}
		src.size = (__u64)st.st_size;
	}
	src.buf = malloc(src.chunk);
	if (!src.buf) {
		sp_err("out of memory for a chunk of %u bytes", src.chunk);
		goto cleanup;
	}
	f = fields_str("listen", a->listen);
	json_object_object_add(f, "file", a->file ? json_object_new_string(a->file) : NULL);
	add_u64(f, "chunk", a->chunk_bytes);
	add_u64(f, "rate_bytes_s", a->rate_bytes_s);
	hc_log(a->log_level, SP_LOG_INFO, "server", "new server", f);
	f = fields_str("listen", a->listen);
	add_u64(f, "size", src.size);
	hc_log(a->log_level, SP_LOG_INFO, "server", "ready to send data", f);

	lfd = socket(addr.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&addr.addr, addr.addrlen) || listen(lfd, 16)) {
		sp_err("cannot listen on %s (%s): is the address local and the port free?",
		       a->listen, strerror(errno));
		goto cleanup;
	}
	hc_log(a->log_level, SP_LOG_INFO, "server", "start the server",
	       fields_str("listen", a->listen));
	while (!exiting) {
		pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
		if (poll(&pfd, 1, -1) <= 0)
			continue;
		plen = sizeof(peer);
		cfd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (cfd < 0)
			continue;
		sp_addr_port_str(&peer, pstr, sizeof(pstr));
		serve_one(a, &src, cfd, pstr);
		close(cfd);
		hc_log(a->log_level, SP_LOG_INFO, "server", "finish handling",
		       fields_str("client", pstr));
	}
	rc = SP_EXIT_OK;
cleanup:
	if (lfd >= 0)
		close(lfd);
	if (src.fd >= 0)
		close(src.fd);
	free(src.buf);
	return rc;
}

/* ---- client ---- */

struct hc_client {
	const struct sp_hc_client_args *a;
	__u64 t0_ns;
};

static void on_event(const struct sp_conn_event *ev, void *ctx)
{
	struct hc_client *c = ctx;
	json_object *f = json_object_new_object();

	json_object_object_add(f, "event", json_object_new_string(sp_conn_event_name(ev->type)));
	add_u64(f, "time_ns", ev->ts_ns > c->t0_ns ? ev->ts_ns - c->t0_ns : 0);
	if (ev->type == SP_CONN_EV_FIN_IN || ev->type == SP_CONN_EV_DATA_AFTER_FIN)
		add_u64(f, "bytes", ev->bytes);
	hc_log(c->a->log_level, SP_LOG_DEBUG, "client", "seen on the wire", f);
}

static void print_verdict(const struct sp_hc_client_args *a, const struct sp_hc_figures *fig,
			  enum sp_hc_verdict v, const char *why, __u64 t0)
{
	static const char *const key[] = { "honoured", "not_honoured", "inconclusive" };
	json_object *obj;
	char t1[16], t2[16];

	if (a->json) {
		obj = json_object_new_object();
		json_object_object_add(obj, "server", json_object_new_string(a->server));
		json_object_object_add(obj, "verdict", json_object_new_string(key[v]));
		json_object_object_add(obj, "reason", json_object_new_string(why));
		add_u64(obj, "bytes_read", fig->bytes_read);
		add_u64(obj, "bytes_after_fin", fig->bytes_after_fin);
		json_object_object_add(obj, "expect_bytes", fig->expect_bytes ?
				       json_object_new_int64((int64_t)fig->expect_bytes) : NULL);
		json_object_object_add(obj, "fin_out_ns", fig->fin_out ?
				       json_object_new_int64((int64_t)(fig->fin_out_ns - t0)) : NULL);
		json_object_object_add(obj, "fin_in_ns", fig->fin_in ?
				       json_object_new_int64((int64_t)(fig->fin_in_ns - t0)) : NULL);
		json_object_object_add(obj, "rst_in", json_object_new_boolean(fig->rst_in));
		json_object_object_add(obj, "eof", json_object_new_boolean(fig->eof));
		/* Without expect_bytes: what the peer can have sent after our FIN from its queue. */
		json_object_object_add(obj, "queue_bound_bytes", fig->expect_bytes ? NULL :
				       json_object_new_int64((int64_t)sp_hc_queue_bound(fig)));
		sp_json_line(obj);
		return;
	}
	printf("%s: %s\n", sp_hc_verdict_str(v), why);
	if (fig->fin_out && fig->fin_in)
		printf("  our FIN out at +%s, the peer's FIN in at +%s; %llu bytes read, %llu after our FIN\n",
		       sp_format_ns(fig->fin_out_ns - t0, t1, sizeof(t1)),
		       sp_format_ns(fig->fin_in_ns - t0, t2, sizeof(t2)),
		       (unsigned long long)fig->bytes_read,
		       (unsigned long long)fig->bytes_after_fin);
	else if (fig->fin_out)
		printf("  our FIN out at +%s, no FIN from the peer; %llu bytes read, %llu after our FIN\n",
		       sp_format_ns(fig->fin_out_ns - t0, t1, sizeof(t1)),
		       (unsigned long long)fig->bytes_read,
		       (unsigned long long)fig->bytes_after_fin);
	fflush(stdout);
}

static int run_client(const struct sp_hc_client_args *a)
{
	struct hc_client hc = { .a = a };
	struct sp_hc_figures fig = { .expect_bytes = a->expect_bytes,
				     .peer_buffer = a->peer_buffer };
	__u64 wdl, rdl, now, cookie = 0;
	struct sp_conn_obs *o = NULL;
	struct sp_address addr;
	struct pollfd pfd[2];
	bool shut = false;
	enum sp_hc_verdict v;
	char why[512], *buf = NULL;
	int fd = -1, err, rc = SP_EXIT_USAGE, timeout, rcvbuf = 0;
	socklen_t rcvbuf_len;
	struct sp_conn st;
	json_object *f;
	ssize_t n;

	if (resolve(a->server, "--server: ", &addr))
		return SP_EXIT_USAGE;
	buf = malloc(a->buf_size);
	if (!buf) {
		sp_err("out of memory for a read buffer of %u bytes", a->buf_size);
		goto cleanup;
	}
	o = sp_conn_open(on_event, &hc);
	if (!o) {
		sp_err("cannot load the BPF programs (%s): run synprobe as root", strerror(errno));
		goto cleanup;
	}
	err = sp_conn_attach_for(o, (struct sockaddr *)&addr.addr);
	if (err) {
		sp_err("%s", sp_conn_attach_strerror(err, a->server, why, sizeof(why)));
		goto cleanup;
	}
	fd = socket(addr.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sp_err("socket(): %s", strerror(errno));
		goto cleanup;
	}
	err = sp_conn_register(o, fd, 0, false, &cookie);
	if (err) {
		sp_err("cannot follow the connection in BPF: %s", strerror(-err));
		goto cleanup;
	}
	f = fields_str("server", a->server);
	add_u64(f, "read_timeout_ms", a->read_timeout_ms);
	add_u64(f, "write_timeout_ms", a->write_timeout_ms);
	hc_log(a->log_level, SP_LOG_INFO, "client", "new client", f);
	err = sp_connect_timeout(fd, (struct sockaddr *)&addr.addr, addr.addrlen,
				 CONNECT_TIMEOUT_MS);
	if (err) {
		sp_err("cannot connect to %s (%s): is the server up?", a->server, strerror(-err));
		rc = SP_EXIT_NOT_OK;
		goto cleanup;
	}
	hc.t0_ns = sp_mono_ns();
	wdl = hc.t0_ns + (__u64)a->write_timeout_ms * 1000000ull;
	rdl = hc.t0_ns + (__u64)a->read_timeout_ms * 1000000ull;
	hc_log(a->log_level, SP_LOG_INFO, "client", "start to read",
	       fields_str("server", a->server));
	pfd[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sp_conn_poll_fd(o), .events = POLLIN };
	while (!exiting && !fig.eof && !fig.read_error) {
		now = sp_mono_ns();
		if (!shut && now >= wdl) {
			shutdown(fd, SHUT_WR);
			shut = true;
			f = fields_str("server", a->server);
			add_u64(f, "timeout_ms", a->write_timeout_ms);
			add_u64(f, "total", fig.bytes_read);
			hc_log(a->log_level, SP_LOG_INFO, "client", "write timeout is expired", f);
		}
		if (now >= rdl) {
			f = fields_str("server", a->server);
			add_u64(f, "timeout_ms", a->read_timeout_ms);
			add_u64(f, "total", fig.bytes_read);
			hc_log(a->log_level, SP_LOG_WARN, "client", "read timeout is expired", f);
			break;
		}
		timeout = (int)(((shut || rdl < wdl ? rdl : wdl) - now + 999999) / 1000000);
		if (poll(pfd, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			sp_err("poll(): %s", strerror(errno));
			goto cleanup;
		}
		if (pfd[1].revents)
			sp_conn_consume(o);
		if (!pfd[0].revents)
			continue;
		/* Read what is there: at most 64 reads before the timers are looked at again. */
		for (int i = 0; i < 64; i++) {
			n = recv(fd, buf, a->buf_size, MSG_DONTWAIT);
			if (n > 0) {
				fig.bytes_read += (__u64)n;
				continue;
			}
			if (n == 0) {
				fig.eof = true;
				f = fields_str("server", a->server);
				add_u64(f, "total", fig.bytes_read);
				hc_log(a->log_level, SP_LOG_INFO, "client", "got EOF", f);
			} else if (errno != EAGAIN && errno != EINTR) {
				fig.read_error = errno;
				f = fields_str("server", a->server);
				json_object_object_add(f, "error",
						       json_object_new_string(strerror(errno)));
				add_u64(f, "total", fig.bytes_read);
				hc_log(a->log_level, SP_LOG_ERROR, "client", "read failed", f);
			}
			break;
		}
	}
	if (exiting) {
		sp_err("interrupted after %llu bytes: no verdict", (unsigned long long)fig.bytes_read);
		rc = SP_EXIT_NOT_OK;
		goto cleanup;
	}
	/* Autotuning only grows it: at the end it is at least what it was when our FIN went out. */
	rcvbuf_len = sizeof(rcvbuf);
	if (!getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rcvbuf_len) && rcvbuf > 0)
		fig.rcvbuf_bytes = (__u64)rcvbuf;
	sp_conn_consume(o);
	if (!sp_conn_lookup(o, cookie, &st)) {
		fig.fin_out = st.flags & SP_CONN_FIN_OUT;
		fig.fin_in = st.flags & SP_CONN_FIN_IN;
		fig.rst_in = st.flags & SP_CONN_RST_IN;
		fig.fin_out_ns = st.fin_out_ts_ns;
		fig.fin_in_ns = st.fin_in_ts_ns;
		fig.bytes_after_fin = st.bytes_after_fin;
	}
	hc_log(a->log_level, SP_LOG_INFO, "client", "finish handling",
	       fields_str("server", a->server));
	v = sp_hc_verdict(&fig, why, sizeof(why));
	print_verdict(a, &fig, v, why, hc.t0_ns);
	rc = v == SP_HC_HONOURED ? SP_EXIT_OK : SP_EXIT_NOT_OK;
cleanup:
	if (fd >= 0)
		close(fd);
	/* Unregisters the connection and detaches the programs. */
	sp_conn_close(o);
	free(buf);
	return rc;
}

int do_halfclose(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = sig_handler };
	struct sp_hc_server_args sa_args;
	struct sp_hc_client_args ca_args;
	int rc;

	if (argc < 2) {
		sp_err("no role given: write 'synprobe halfclose server' or 'synprobe halfclose client'");
		return SP_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return SP_EXIT_OK;
	}
	/* No SA_RESTART: a signal ends poll() with EINTR. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "server")) {
		rc = sp_hc_parse_server(argc - 1, argv + 1, &sa_args);
		if (rc)
			return rc > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;
		return run_server(&sa_args);
	}
	if (!strcmp(argv[1], "client")) {
		rc = sp_hc_parse_client(argc - 1, argv + 1, &ca_args);
		if (rc)
			return rc > 0 ? SP_EXIT_OK : SP_EXIT_USAGE;
		sp_setup_libbpf_print(0);
		return run_client(&ca_args);
	}
	sp_err("unknown role '%s': write 'synprobe halfclose server' or 'synprobe halfclose client'",
	       argv[1]);
	return SP_EXIT_USAGE;
}
