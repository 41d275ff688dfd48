// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kind_l7.c - the "l7" check kind (struct synprobe_kind): once the engine has the TCP handshake
 * (timed by the tc programs), a PROXY header (proxy_proto.c), a TLS handshake (tls_client.c,
 * GnuTLS) and send/expect steps (expect.c, PCRE2), each non-blocking on the check's loop: every
 * callback does what the socket allows and says what to wait for next.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "kind_l7.h"

enum l7_phase {
	L7_TLS,
	L7_STEPS,
	L7_DONE,
};

struct l7_state {
	int fd;
	const struct sp_l7_opts *opts;
	struct sp_tls *tls;
	struct sp_exchange *x;
	enum l7_phase phase;
	enum synprobe_outcome outcome; /* OPEN, MISMATCH, TLS_ERROR, TIMEOUT or ERROR */
	int error;		       /* positive errno with ERROR */
	__u64 ready_ns;		       /* when the exchange could start (after TLS) */
	struct sp_l7_result res;
	const char *end;	       /* what ended the reply: "the peer closed"...; NULL: not yet */
	bool read_failed;	       /* a read failed (end says how): not a reply's end */
	char read_err[64];
	char detail[512];
};

static __u64 l7_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static int l7_fail(struct l7_state *s, enum synprobe_outcome outcome, int error, const char *why)
{
	s->phase = L7_DONE;
	s->outcome = outcome;
	s->error = error;
	snprintf(s->detail, sizeof(s->detail), "%s", why);
	return SYNPROBE_KIND_DONE;
}

/* A reply did not match: why, and what ended it (the peer, a read error, the deadline). */
static int l7_mismatch(struct l7_state *s)
{
	l7_fail(s, SYNPROBE_MISMATCH, 0, sp_exchange_reason(s->x));
	/* Read to its end (or the buffer's) without a match: blackbox's probe_failed_due_to_regex */
	s->res.expect_failed = !s->read_failed;
	if (s->end)
		snprintf(s->detail + strlen(s->detail), sizeof(s->detail) - strlen(s->detail),
			 " (%s)", s->end);
	return SYNPROBE_KIND_DONE;
}

/* Runs the steps as far as the socket allows. */
static int l7_steps(struct l7_state *s)
{
	__u8 buf[2048];
	const __u8 *data;
	size_t len;
	ssize_t n;

	for (;;) {
		enum sp_xchg_state st = sp_exchange_next(s->x, &data, &len);

		if (st == SP_XCHG_DONE) {
			s->phase = L7_DONE;
			return SYNPROBE_KIND_DONE;
		}
		if (st == SP_XCHG_MISMATCH)
			return l7_mismatch(s);
		if (st == SP_XCHG_SEND) {
			n = s->tls ? sp_tls_send(s->tls, data, len) : write(s->fd, data, len);
			if (n < 0 && !s->tls)
				n = errno == EAGAIN ? -EAGAIN : -errno;
			if (n == -EAGAIN)
				return s->tls && !sp_tls_wants_write(s->tls) ? SYNPROBE_KIND_READ :
									     SYNPROBE_KIND_WRITE;
			if (n < 0) {
				snprintf(s->detail, sizeof(s->detail), "send: %s",
					 s->tls ? sp_tls_error(s->tls) : strerror((int)-n));
				s->phase = L7_DONE;
				s->outcome = SYNPROBE_ERROR;
				s->error = s->tls ? EPROTO : (int)-n;
				return SYNPROBE_KIND_DONE;
			}
			sp_exchange_sent(s->x, (size_t)n);
			continue;
		}
		n = s->tls ? sp_tls_recv(s->tls, buf, sizeof(buf)) : read(s->fd, buf, sizeof(buf));
		if (n < 0 && !s->tls)
			n = errno == EAGAIN ? -EAGAIN : -errno;
		if (n == -EAGAIN)
			return s->tls && sp_tls_wants_write(s->tls) ? SYNPROBE_KIND_WRITE :
								       SYNPROBE_KIND_READ;
		if (n > 0 && !s->res.first_byte_ns)
			s->res.first_byte_ns = l7_now_ns() - s->ready_ns;
		if (n == 0) {
			s->end = "the peer closed";
		} else if (n < 0 && s->tls) {
			s->end = sp_tls_error(s->tls); /* "TLS receive failed: ..." */
			s->read_failed = true;
		} else if (n < 0) {
			s->read_failed = true;
			snprintf(s->read_err, sizeof(s->read_err), "read: %s", strerror((int)-n));
			s->end = s->read_err;
		}
		/* An error or the peer's close: what came is all there is. */
		sp_exchange_received(s->x, buf, n > 0 ? (size_t)n : 0, n <= 0);
	}
}

static int l7_tls(struct l7_state *s)
{
	int rc = sp_tls_handshake(s->tls);

	if (rc == -EAGAIN)
		return sp_tls_wants_write(s->tls) ? SYNPROBE_KIND_WRITE : SYNPROBE_KIND_READ;
	sp_tls_get_info(s->tls, &s->res.info);
	if (rc)
		return l7_fail(s, SYNPROBE_TLS_ERROR, 0, sp_tls_error(s->tls));
	s->phase = L7_STEPS;
	s->ready_ns = l7_now_ns();
	if (!s->x) {
		s->phase = L7_DONE;
		return SYNPROBE_KIND_DONE;
	}
	return l7_steps(s);
}

static int l7_start(const void *arg, int fd, const struct sockaddr *target, __u64 start_ns,
		    __u64 connected_ns, void **state)
{
	const struct sp_l7_arg *a = arg;
	struct sockaddr_storage local;
	__u8 hdr[SP_PROXY_HEADER_MAX];
	socklen_t len = sizeof(local);
	struct l7_state *s;
	char err[256];
	int n;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*state = s;
	s->fd = fd;
	s->opts = a->opts;
	s->outcome = SYNPROBE_OPEN;
	s->ready_ns = connected_ns;
	if (s->opts->steps && sp_steps_count(s->opts->steps)) {
		s->res.steps = true;
		s->x = sp_exchange_new(s->opts->steps);
		if (!s->x)
			return -ENOMEM;
	}
	if (s->opts->proxy != SP_PROXY_NONE) {
		if (getsockname(fd, (struct sockaddr *)&local, &len))
			return -errno;
		n = sp_proxy_header(s->opts->proxy, (struct sockaddr *)&local, target, hdr,
				    sizeof(hdr));
		if (n < 0)
			return n;
		/* A fresh socket's send buffer takes the 108 bytes at most: one write. */
		if (write(fd, hdr, (size_t)n) != n)
			return l7_fail(s, SYNPROBE_ERROR, errno ? errno : EIO,
				       "PROXY header not sent in one write");
	}
	if (s->opts->tls) {
		s->res.tls = true;
		s->tls = sp_tls_new(fd, s->opts->tls, a->host, err, sizeof(err));
		if (!s->tls)
			return l7_fail(s, SYNPROBE_TLS_ERROR, 0, err);
		s->phase = L7_TLS;
		return l7_tls(s);
	}
	s->phase = L7_STEPS;
	if (!s->x) {
		s->phase = L7_DONE;
		return SYNPROBE_KIND_DONE;
	}
	return l7_steps(s);
}

static int l7_on_event(void *state, unsigned int epoll_events)
{
	struct l7_state *s = state;

	if (s->phase == L7_TLS)
		return l7_tls(s);
	if (s->phase == L7_STEPS)
		return l7_steps(s);
	return SYNPROBE_KIND_DONE;
}

static void l7_on_deadline(void *state)
{
	struct l7_state *s = state;
	enum sp_xchg_state st;
	char phase[128];

	if (!s || s->phase == L7_DONE)
		return;
	if (s->phase == L7_TLS) {
		/* A server that accepts and then hangs: no reply is a timeout, not a TLS error. */
		sp_tls_get_info(s->tls, &s->res.info);
		sp_tls_phase(s->tls, phase, sizeof(phase));
		snprintf(s->detail, sizeof(s->detail),
			 "the TLS handshake did not end before the deadline: %s", phase);
		s->phase = L7_DONE;
		s->outcome = SYNPROBE_TIMEOUT;
		return;
	}
	/*
	 * What was read is matched once more; a step still waiting for its reply (or still
	 * sending) is a timeout: the reply did not come, it was not a wrong one.
	 */
	st = sp_exchange_deadline(s->x);
	if (st == SP_XCHG_DONE) {
		s->phase = L7_DONE;
		return;
	}
	if (st == SP_XCHG_MISMATCH) {
		l7_mismatch(s);
		return;
	}
	l7_fail(s, SYNPROBE_TIMEOUT, 0, sp_exchange_reason(s->x));
}

static void l7_result(void *state, struct synprobe_result *res)
{
	struct l7_state *s = state;

	if (!s)
		return;
	if (s->x)
		s->res.expect_matched = sp_exchange_matched(s->x);
	res->kind_result = &s->res;
	if (res->outcome != SYNPROBE_OPEN)
		return;
	res->outcome = s->outcome;
	if (s->outcome == SYNPROBE_ERROR)
		res->error = s->error;
	if (s->outcome != SYNPROBE_OPEN)
		res->detail = s->detail;
}

static void l7_free(void *state)
{
	struct l7_state *s = state;

	if (!s)
		return;
	sp_tls_free(s->tls);
	sp_exchange_free(s->x);
	free(s);
}

const struct synprobe_kind sp_kind_l7 = {
	.sz = sizeof(struct synprobe_kind),
	.name = "l7",
	.start = l7_start,
	.on_event = l7_on_event,
	.on_deadline = l7_on_deadline,
	.result = l7_result,
	.free = l7_free,
};
