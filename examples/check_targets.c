// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * check_targets.c - half-open checks of HOST PORT pairs through libsynprobe, as tcp-shaker's
 * Checker.CheckAddr does in Go. Build against an installed library:
 *   cc check_targets.c $(pkg-config --cflags --libs synprobe) -o check_targets
 *   ./check_targets 127.0.0.1 22 ::1 8080      (root: the engine loads tc BPF programs)
 * Prints "HOST PORT OUTCOME RTT_NS" per target; exits 0 if every target is open, else 1.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <libsynprobe.h>

static int not_open;

static void on_result(const struct synprobe_result *res, void *ctx)
{
	char **target = res->user;

	printf("%s %s %s %llu\n", target[0], target[1], synprobe_outcome_str(res->outcome),
	       res->has_rtt ? (unsigned long long)res->rtt_ns : 0ULL);
	if (res->outcome != SYNPROBE_OPEN)
		not_open++;
}

int main(int argc, char **argv)
{
	struct synprobe_opts opts = { .sz = sizeof(opts), .on_result = on_result };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai;
	struct synprobe *sp;
	int i, err;

	if (argc < 3 || argc % 2 == 0) {
		fprintf(stderr, "usage: %s HOST PORT [HOST PORT]...\n", argv[0]);
		return 2;
	}
	sp = synprobe_open(&opts);
	if (!sp) {
		fprintf(stderr, "synprobe_open: %s\n", strerror(errno));
		return 2;
	}
	for (i = 1; i + 1 < argc; i += 2) {
		err = getaddrinfo(argv[i], argv[i + 1], &hints, &ai);
		if (err) {
			fprintf(stderr, "%s %s: %s\n", argv[i], argv[i + 1], gai_strerror(err));
			not_open++;
			continue;
		}
		err = synprobe_start(sp, ai->ai_addr, ai->ai_addrlen, 1000, &argv[i]);
		freeaddrinfo(ai);
		if (err) {
			fprintf(stderr, "%s %s: %s\n", argv[i], argv[i + 1], strerror(-err));
			not_open++;
		}
	}
	while (synprobe_in_flight(sp) > 0)
		synprobe_poll(sp, -1);
	synprobe_close(sp);
	return not_open ? 1 : 0;
}
