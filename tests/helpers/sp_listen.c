// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sp_listen - test helper: a TCP listener that counts what accept() returns.
 *
 * Usage: sp_listen [-b BACKLOG] ADDR PORT [PORT...]
 * Listens on ADDR (IPv4 or IPv6) at each PORT, prints "listening" on stdout once every socket
 * listens, accepts and closes connections, and on SIGTERM or SIGINT prints "accepted N" and exits 0.
 * SIGUSR1 prints "accepted N" and goes on.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define PORTS_MAX 16

static volatile sig_atomic_t stop, report;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		report = 1;
	else
		stop = 1;
}

static int listen_on(const char *addr, const char *port_str, int backlog)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, port = atoi(port_str);

	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		len = sizeof(*sin6);
	} else {
		fprintf(stderr, "sp_listen: bad address %s\n", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&ss, len) || listen(fd, backlog)) {
		fprintf(stderr, "sp_listen: %s port %s: %s\n", addr, port_str, strerror(errno));
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, wait_mask;
	struct pollfd pfds[PORTS_MAX];
	int backlog = 128, n = 0, i, fd, argi = 1;
	unsigned long accepted = 0;

	if (argc > 2 && !strcmp(argv[1], "-b")) {
		backlog = atoi(argv[2]);
		argi = 3;
	}
	if (argc - argi < 2 || argc - argi - 1 > PORTS_MAX) {
		fprintf(stderr, "usage: sp_listen [-b BACKLOG] ADDR PORT [PORT...]\n");
		return 2;
	}
	for (i = argi + 1; i < argc; i++) {
		fd = listen_on(argv[argi], argv[i], backlog);
		if (fd < 0)
			return 1;
		pfds[n].fd = fd;
		pfds[n].events = POLLIN;
		n++;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	/* The signals are let in only inside ppoll(): none is lost between the flag test and it. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	printf("listening\n");
	fflush(stdout);

	while (!stop) {
		if (report) {
			report = 0;
			printf("accepted %lu\n", accepted);
			fflush(stdout);
		}
		if (ppoll(pfds, n, NULL, &wait_mask) < 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!(pfds[i].revents & POLLIN))
				continue;
			while ((fd = accept4(pfds[i].fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				accepted++;
				close(fd);
			}
		}
	}
	printf("accepted %lu\n", accepted);
	fflush(stdout);
	return 0;
}
