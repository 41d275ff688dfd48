// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sp_l7_client - test helper: the L7 modules (cescape.c, proxy_proto.c, expect.c,
 * tls_client.c) driven end to end over one plain non-blocking connect(), the way a check kind
 * of the engine will drive them: PROXY header, TLS handshake, send/expect steps, then a close
 * with RST (SO_LINGER {1, 0}). It checks the modules against real servers (openssl s_server,
 * banner servers, sp_proxy_server) before the engine runs them.
 *
 * Usage: sp_l7_client [-t MS] [--host NAME] [--tls] [--sni NAME] [--ca FILE] [--insecure]
 *                     [--alpn LIST] [--proxy-protocol v1|v2] [--send STR] [--expect RE]...
 *                     ADDR PORT
 * Each --send starts a step; an --expect belongs to the step before it, or starts one of its
 * own if that step has one already. Prints one JSON object: outcome (open, mismatch, tls_error,
 * timeout, error), error, connect_ns, tls_* keys, expect_matched, first_byte_ns. Exit 0 when
 * open, 1 otherwise, 2 on usage errors (one line naming the input).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <json-c/json.h>
#include "cescape.h"
#include "expect.h"
#include "proxy_proto.h"
#include "tls_client.h"

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* Waits until @fd is readable or writable (@write), or the deadline: 0, or -ETIMEDOUT. */
static int wait_fd(int fd, bool write, __u64 deadline)
{
	struct pollfd p = {.fd = fd, .events = write ? POLLOUT : POLLIN};
	__u64 now = now_ns();
	int rc;

	if (now >= deadline)
		return -ETIMEDOUT;
	rc = poll(&p, 1, (int)((deadline - now) / 1000000 + 1));
	return rc > 0 ? 0 : -ETIMEDOUT;
}

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v && *v ? json_object_new_string(v) : NULL);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'H'},
	    {"tls", no_argument, NULL, 'T'},
	    {"sni", required_argument, NULL, 'S'},
	    {"ca", required_argument, NULL, 'C'},
	    {"insecure", no_argument, NULL, 'k'},
	    {"alpn", required_argument, NULL, 'A'},
	    {"proxy-protocol", required_argument, NULL, 'P'},
	    {"send", required_argument, NULL, 's'},
	    {"expect", required_argument, NULL, 'e'},
	    {NULL, 0, NULL, 0},
	};
	struct sp_tls_opts topts = {};
	enum sp_proxy_version pv = SP_PROXY_NONE;
	const char *outcome = "open", *sends[SP_EXPECT_STEPS_MAX] = {},
		   *expects[SP_EXPECT_STEPS_MAX] = {};
	struct sockaddr_storage ss = {}, local;
	struct sp_exchange *x = NULL;
	struct sp_steps *sts = NULL;
	struct sp_tls *tls = NULL;
	struct sp_tls_config *tcfg = NULL;
	const char *host = NULL;
	struct sp_tls_info info = {};
	struct linger lg = {1, 0};
	__u8 send_buf[SP_SEND_MAX], hdr[SP_PROXY_HEADER_MAX], rbuf[2048];
	char err[512] = "", when[40];
	__u64 start, deadline, connect_ns = 0, first_byte_ns = 0;
	bool use_tls = false, steps = false;
	int opt, fd = -1, rc, n_steps = 0, timeout_ms = 2000, i, ret = 2;
	const __u8 *data;
	size_t len, sent;
	socklen_t slen;
	ssize_t n;
	json_object *o;

	while ((opt = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'H':
			host = optarg;
			break;
		case 'T':
			use_tls = true;
			break;
		case 'S':
			topts.sni = optarg;
			break;
		case 'C':
			topts.ca_file = optarg;
			break;
		case 'k':
			topts.insecure = true;
			break;
		case 'A':
			topts.alpn = optarg;
			break;
		case 'P':
			if (sp_proxy_version_parse(optarg, &pv)) {
				fprintf(stderr, "Error: --proxy-protocol '%s': give v1 or v2\n",
					optarg);
				return 2;
			}
			break;
		case 's':
		case 'e':
			if (opt == 's' || n_steps == 0 || expects[n_steps - 1]) {
				if (n_steps == SP_EXPECT_STEPS_MAX) {
					fprintf(stderr, "Error: more than %d steps\n",
						SP_EXPECT_STEPS_MAX);
					return 2;
				}
				n_steps++;
			}
			if (opt == 's')
				sends[n_steps - 1] = optarg;
			else
				expects[n_steps - 1] = optarg;
			steps = true;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: sp_l7_client [options] ADDR PORT\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[optind], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(atoi(argv[optind + 1]));
	} else if (inet_pton(AF_INET6, argv[optind], &((struct sockaddr_in6 *)&ss)->sin6_addr) ==
		   1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(atoi(argv[optind + 1]));
	} else {
		fprintf(stderr, "Error: address '%s': give an IPv4 or IPv6 address\n",
			argv[optind]);
		return 2;
	}
	if (!host)
		host = argv[optind];
	if (use_tls) {
		tcfg = sp_tls_config_new(&topts, err, sizeof(err));
		if (!tcfg) {
			fprintf(stderr, "Error: %s\n", err);
			return 2;
		}
	}
	sts = sp_steps_new();
	for (i = 0; steps && i < n_steps; i++) {
		len = 0;
		if (sends[i] && sp_cescape_parse(sends[i], send_buf, sizeof(send_buf), &len, err,
						 sizeof(err))) {
			fprintf(stderr, "Error: --send '%s': %s\n", sends[i], err);
			goto cleanup;
		}
		if (sp_steps_add(sts, send_buf, len, expects[i], err, sizeof(err))) {
			fprintf(stderr, "Error: %s\n", err);
			goto cleanup;
		}
	}
	x = sp_exchange_new(sts);

	start = now_ns();
	deadline = start + (__u64)timeout_ms * 1000000ULL;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(fd, (struct sockaddr *)&ss, sizeof(ss)) && errno != EINPROGRESS) {
		snprintf(err, sizeof(err), "%s", strerror(errno));
		outcome = "error";
		goto out;
	}
	if (wait_fd(fd, true, deadline)) {
		outcome = "timeout";
		goto out;
	}
	slen = sizeof(rc);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &rc, &slen);
	if (rc) {
		snprintf(err, sizeof(err), "%s", strerror(rc));
		outcome = rc == ECONNREFUSED ? "closed" : "error";
		goto out;
	}
	connect_ns = now_ns() - start;

	if (pv != SP_PROXY_NONE) {
		slen = sizeof(local);
		getsockname(fd, (struct sockaddr *)&local, &slen);
		rc = sp_proxy_header(pv, (struct sockaddr *)&local, (struct sockaddr *)&ss, hdr,
				     sizeof(hdr));
		/* A fresh socket's buffer takes 108 bytes: one write. */
		if (rc < 0 || write(fd, hdr, (size_t)rc) != rc) {
			snprintf(err, sizeof(err), "PROXY header not sent");
			outcome = "error";
			goto out;
		}
	}
	if (use_tls) {
		tls = sp_tls_new(fd, tcfg, host, err, sizeof(err));
		if (!tls) {
			fprintf(stderr, "Error: %s\n", err);
			goto cleanup;
		}
		while ((rc = sp_tls_handshake(tls)) == -EAGAIN)
			if (wait_fd(fd, sp_tls_wants_write(tls), deadline)) {
				outcome = "timeout";
				snprintf(err, sizeof(err), "TLS handshake not done in %d ms",
					 timeout_ms);
				goto out;
			}
		if (rc) {
			outcome = "tls_error";
			snprintf(err, sizeof(err), "%s", sp_tls_error(tls));
			goto out;
		}
	}
	for (;;) {
		enum sp_xchg_state st = sp_exchange_next(x, &data, &len);

		if (st == SP_XCHG_DONE)
			break;
		if (st == SP_XCHG_MISMATCH) {
			outcome = "mismatch";
			snprintf(err, sizeof(err), "%s", sp_exchange_reason(x));
			break;
		}
		if (st == SP_XCHG_TIMEOUT) {
			outcome = "timeout";
			snprintf(err, sizeof(err), "%s", sp_exchange_reason(x));
			break;
		}
		if (st == SP_XCHG_SEND) {
			n = tls ? sp_tls_send(tls, data, len) : write(fd, data, len);
			if (n < 0 && !tls)
				n = errno == EAGAIN ? -EAGAIN : -errno;
			if (n == -EAGAIN) {
				if (wait_fd(fd, true, deadline))
					goto late;
				continue;
			}
			if (n < 0) {
				outcome = "error";
				snprintf(err, sizeof(err), "send: %s",
					 tls ? sp_tls_error(tls) : strerror((int)-n));
				break;
			}
			sent = (size_t)n;
			sp_exchange_sent(x, sent);
			continue;
		}
		n = tls ? sp_tls_recv(tls, rbuf, sizeof(rbuf)) : read(fd, rbuf, sizeof(rbuf));
		if (n < 0 && !tls)
			n = errno == EAGAIN ? -EAGAIN : -errno;
		if (n == -EAGAIN) {
			if (wait_fd(fd, false, deadline))
				goto late;
			continue;
		}
		if (n > 0 && !first_byte_ns)
			first_byte_ns = now_ns() - start;
		sp_exchange_received(x, rbuf, n > 0 ? (size_t)n : 0, n <= 0);
		continue;
	late:
		/* The deadline: a last match, else a timeout (as the kind, kind_l7.c). */
		sp_exchange_deadline(x);
	}
out:
	o = json_object_new_object();
	add_str(o, "outcome", outcome);
	add_str(o, "error", err);
	json_object_object_add(o, "connect_ns",
			       connect_ns ? json_object_new_int64((int64_t)connect_ns) : NULL);
	if (tls) {
		sp_tls_get_info(tls, &info);
		json_object_object_add(
		    o, "tls_handshake_ns",
		    info.handshake_ns ? json_object_new_int64((int64_t)info.handshake_ns) : NULL);
		add_str(o, "tls_version", info.version);
		add_str(o, "tls_cipher", info.cipher);
		add_str(o, "tls_alpn", info.alpn);
		sp_rfc3339(info.not_after, when, sizeof(when));
		add_str(o, "tls_cert_not_after", info.has_cert ? when : NULL);
		sp_rfc3339(info.earliest_not_after, when, sizeof(when));
		add_str(o, "tls_cert_earliest_not_after", info.has_cert ? when : NULL);
		add_str(o, "tls_cert_subject", info.subject);
		add_str(o, "tls_cert_issuer", info.issuer);
		json_object_object_add(o, "tls_cert_chain_len",
				       json_object_new_int(info.chain_len));
		json_object_object_add(o, "tls_verified", json_object_new_boolean(info.verified));
	}
	if (steps)
		json_object_object_add(o, "expect_matched",
				       json_object_new_int(sp_exchange_matched(x)));
	json_object_object_add(o, "first_byte_ns",
			       first_byte_ns ? json_object_new_int64((int64_t)first_byte_ns)
					     : NULL);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	ret = strcmp(outcome, "open") ? 1 : 0;
cleanup: /* a usage error (ret 2) comes here too: nothing is left for LeakSanitizer */
	sp_tls_free(tls);
	sp_tls_config_free(tcfg);
	sp_exchange_free(x);
	sp_steps_free(sts);
	if (fd >= 0)
		close(fd); /* SO_LINGER {1, 0}: RST */
	return ret;
}
