// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sp_proxy_server - test helper: the server side of the PROXY protocol, written from HAProxy's
 * doc/proxy-protocol.txt on its own (it shares no code with user/proxy_proto.c, whose headers it
 * checks).
 *
 * Usage: sp_proxy_server ADDR PORT
 * Listens on ADDR:PORT (IPv4 or IPv6), prints "listening", then for each connection reads one
 * PROXY header (v1: "PROXY TCP4|TCP6 src dst sport dport\r\n", at most 107 bytes; v2: the
 * 12-byte signature, version 2 with command PROXY or LOCAL, family TCP4/TCP6, the length, the
 * addresses) and prints one JSON line: {"version":2,"command":"PROXY","family":"TCP4",
 * "src":"10.77.0.1","dst":"10.77.0.2","sport":40000,"dport":8080,"peer":"10.77.0.1",
 * "peer_port":40000,"local":"10.77.0.2","local_port":8080} (peer and local: the connection's own
 * addresses), or {"error":"..."}; it then answers "OK PROXY\r\n" (or "BAD ...\r\n") and closes.
 * Exits 0 on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

static const unsigned char sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
				      0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};

static int read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(fd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void addr_str(const struct sockaddr_storage *ss, char *out, size_t len, unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, out, len);
		*port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, out, len);
		*port = ntohs(s->sin6_port);
	}
}

/* Reads and parses the header; fills @json (the fields) or returns -1 with @why. */
static int parse(int fd, char *json, size_t jlen, char *why, size_t wlen)
{
	unsigned char buf[232];
	char src[64], dst[64], proto[8];
	unsigned sport, dport;
	size_t n = 0, alen;
	int fam;

	if (read_full(fd, buf, 16)) {
		snprintf(why, wlen, "fewer than 16 bytes before the end");
		return -1;
	}
	if (!memcmp(buf, sig, 12)) {
		/* v2 (2.2): ver_cmd, fam, len. */
		if ((buf[12] >> 4) != 2) {
			snprintf(why, wlen, "version %u, not 2", buf[12] >> 4);
			return -1;
		}
		if ((buf[12] & 0xf) > 1) {
			snprintf(why, wlen, "command %u is neither LOCAL nor PROXY", buf[12] & 0xf);
			return -1;
		}
		n = (size_t)buf[14] << 8 | buf[15];
		if (n > sizeof(buf) - 16 || read_full(fd, buf + 16, n)) {
			snprintf(why, wlen, "length %zu: more than sent or allowed", n);
			return -1;
		}
		if (buf[13] == 0x11)
			fam = AF_INET, alen = 4;
		else if (buf[13] == 0x21)
			fam = AF_INET6, alen = 16;
		else {
			snprintf(why, wlen, "family/protocol 0x%02x is not TCP4 or TCP6", buf[13]);
			return -1;
		}
		if (n < 2 * alen + 4) {
			snprintf(why, wlen, "length %zu is below the %zu its addresses take", n,
				 2 * alen + 4);
			return -1;
		}
		inet_ntop(fam, buf + 16, src, sizeof(src));
		inet_ntop(fam, buf + 16 + alen, dst, sizeof(dst));
		sport = (unsigned)buf[16 + 2 * alen] << 8 | buf[17 + 2 * alen];
		dport = (unsigned)buf[18 + 2 * alen] << 8 | buf[19 + 2 * alen];
		snprintf(json, jlen,
			 "\"version\":2,\"command\":\"%s\",\"family\":\"%s\",\"length\":%zu,"
			 "\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u",
			 buf[12] & 0xf ? "PROXY" : "LOCAL", fam == AF_INET ? "TCP4" : "TCP6", n,
			 src, dst, sport, dport);
		return 0;
	}
	if (memcmp(buf, "PROXY ", 6)) {
		snprintf(why, wlen, "neither a v2 signature nor 'PROXY '");
		return -1;
	}
	/* v1 (2.1): a line of at most 107 bytes with its CRLF. */
	n = 16;
	while (n < 107 && !(n >= 2 && buf[n - 2] == '\r' && buf[n - 1] == '\n')) {
		if (read_full(fd, buf + n, 1)) {
			snprintf(why, wlen, "the v1 line has no CRLF before the end");
			return -1;
		}
		n++;
	}
	if (buf[n - 2] != '\r' || buf[n - 1] != '\n') {
		snprintf(why, wlen, "the v1 line is longer than 107 bytes");
		return -1;
	}
	buf[n - 2] = '\0';
	if (sscanf((char *)buf, "PROXY %7s %63s %63s %u %u", proto, src, dst, &sport, &dport) !=
		5 ||
	    (strcmp(proto, "TCP4") && strcmp(proto, "TCP6")) || sport > 65535 || dport > 65535) {
		snprintf(why, wlen, "bad v1 line '%s'", (char *)buf);
		return -1;
	}
	snprintf(json, jlen,
		 "\"version\":1,\"command\":\"PROXY\",\"family\":\"%s\",\"length\":%zu,"
		 "\"src\":\"%s\",\"dst\":\"%s\",\"sport\":%u,\"dport\":%u",
		 proto, n, src, dst, sport, dport);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = {}, peer, local;
	struct timeval tv = {.tv_sec = 5};
	char json[512], why[256], p[64], l[64];
	unsigned pport, lport;
	socklen_t len;
	int fd, c, on = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: sp_proxy_server ADDR PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(atoi(argv[2]));
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[1], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(atoi(argv[2]));
		len = sizeof(struct sockaddr_in6);
	} else {
		fprintf(stderr, "sp_proxy_server: bad address %s\n", argv[1]);
		return 2;
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		perror("sp_proxy_server");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		c = accept(fd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		len = sizeof(peer);
		getpeername(c, (struct sockaddr *)&peer, &len);
		len = sizeof(local);
		getsockname(c, (struct sockaddr *)&local, &len);
		addr_str(&peer, p, sizeof(p), &pport);
		addr_str(&local, l, sizeof(l), &lport);
		if (parse(c, json, sizeof(json), why, sizeof(why)) == 0) {
			printf("{%s,\"peer\":\"%s\",\"peer_port\":%u,\"local\":\"%s\",\"local_"
			       "port\":%u}\n",
			       json, p, pport, l, lport);
			(void)!write(c, "OK PROXY\r\n", 10);
		} else {
			printf("{\"error\":\"%s\",\"peer\":\"%s\",\"peer_port\":%u}\n", why, p,
			       pport);
			(void)!write(c, "BAD\r\n", 5);
		}
		fflush(stdout);
		close(c);
	}
}
