// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* keepalive.c - option parsing of `synprobe keepalive` (see keepalive.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "keepalive.h"
#include "output.h"
#include "util.h"

#define DEFAULT_IDLE_S 2
#define DEFAULT_INTERVAL_S 2
#define DEFAULT_COUNT 3
#define DEFAULT_CONNECT_TIMEOUT_MS 3000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: synprobe keepalive [OPTIONS] TARGET\n"
		"       synprobe keepalive --listen ADDR:PORT [OPTIONS]\n"
		"\n"
		"Opens a full TCP connection to TARGET (the one synprobe command that completes the\n"
		"handshake), turns on SO_KEEPALIVE with the timers below, sends nothing, and reports each\n"
		"keepalive probe the kernel sends and the ACK that answers it, with the probe's RTT,\n"
		"as tc BPF programs see them. When the peer stops answering, the unanswered probes and\n"
		"the time the kernel declares the connection dead (ETIMEDOUT) are reported.\n"
		"With --listen: a server that accepts connections and holds them silently, reporting\n"
		"the probes it receives and the time its kernel takes to answer them.\n"
		"Needs root (CAP_BPF, CAP_NET_ADMIN).\n"
		"\n"
		"Options:\n"
		"      --idle S          seconds of silence before the first probe (default %d)\n"
		"      --interval S      seconds between unanswered probes (default %d)\n"
		"      --count N         unanswered probes before the connection is dead (default %d)\n"
		"  -d, --duration DUR    stop after DUR (500ms, 30s, 5m; a bare number is seconds);\n"
		"                        default: until the connection dies or Ctrl-C\n"
		"  -l, --listen ADDR:PORT  be the server side instead of connecting to a TARGET\n"
		"  -t, --connect-timeout DUR  how long connect() may take (default 3s)\n"
		"  -j, --json            JSON Lines: one object per event\n"
		"  -v, --verbose         libbpf's warnings and the BPF counters at the end\n"
		"  -h, --help            this text\n"
		"\n"
		"Exit status: 0 if the connection was alive at the end, 1 if it died (ETIMEDOUT, reset,\n"
		"closed) or could not be made, 2 for usage or set-up errors.\n"
		"\n"
		"Examples:\n"
		"  synprobe keepalive --idle 2 --interval 2 --count 3 10.0.0.5:12345\n"
		"  synprobe keepalive --listen 0.0.0.0:12345\n"
		"  synprobe keepalive --json -d 30s db1:5432\n",
		DEFAULT_IDLE_S, DEFAULT_INTERVAL_S, DEFAULT_COUNT);
}

int sp_parse_seconds(const char *str, __u32 min, __u32 max, __u32 *s)
{
	unsigned long v;
	char *end;

	if (!str || *str < '0' || *str > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(str, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end == 's')
		end++;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*s = (__u32)v;
	return 0;
}

int sp_keepalive_parse_args(int argc, char **argv, struct sp_keepalive_args *a)
{
	static const struct option opts[] = {
		{ "idle", required_argument, NULL, 'I' },
		{ "interval", required_argument, NULL, 'N' },
		{ "count", required_argument, NULL, 'C' },
		{ "duration", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "connect-timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof(*a));
	a->idle_s = DEFAULT_IDLE_S;
	a->interval_s = DEFAULT_INTERVAL_S;
	a->count = DEFAULT_COUNT;
	a->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	optind = 0; /* 0: glibc re-initialises getopt fully, also when called again (unit tests) */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:l:t:jvh", opts, NULL)) != -1) {
		switch (opt) {
		case 'I':
			if (sp_parse_seconds(optarg, 1, SP_KA_IDLE_MAX_S, &a->idle_s)) {
				sp_err("--idle '%s': give whole seconds from 1 to %d, e.g. --idle 5",
				       optarg, SP_KA_IDLE_MAX_S);
				return -EINVAL;
			}
			break;
		case 'N':
			if (sp_parse_seconds(optarg, 1, SP_KA_INTERVAL_MAX_S, &a->interval_s)) {
				sp_err("--interval '%s': give whole seconds from 1 to %d, e.g. --interval 2",
				       optarg, SP_KA_INTERVAL_MAX_S);
				return -EINVAL;
			}
			break;
		case 'C':
			if (sp_parse_count(optarg, SP_KA_COUNT_MAX, &a->count)) {
				sp_err("--count '%s': give a number of probes from 1 to %d, e.g. --count 3",
				       optarg, SP_KA_COUNT_MAX);
				return -EINVAL;
			}
			break;
		case 'd':
			if (sp_parse_duration_ms(optarg, &a->duration_ms)) {
				sp_err("--duration '%s': give a duration such as 30s, 5m or 1.5 (seconds)",
				       optarg);
				return -EINVAL;
			}
			break;
		case 'l':
			a->listen = optarg;
			break;
		case 't':
			if (sp_parse_duration_ms(optarg, &a->connect_timeout_ms)) {
				sp_err("--connect-timeout '%s': give a duration such as 500ms or 3s",
				       optarg);
				return -EINVAL;
			}
			break;
		case 'j':
			a->json = true;
			sp_json_output = true;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			return sp_option_error(opt, argv, "keepalive");
		default:
			return sp_option_error(opt, argv, "keepalive");
		}
	}
	if (a->listen) {
		if (optind < argc) {
			sp_err("TARGET '%s' given with --listen: give one or the other", argv[optind]);
			return -EINVAL;
		}
		return 0;
	}
	if (optind >= argc) {
		sp_err("no TARGET given: write host:port, e.g. 'synprobe keepalive 127.0.0.1:12345'");
		return -EINVAL;
	}
	if (optind + 1 < argc) {
		sp_err("more than one TARGET ('%s'): keepalive follows one connection", argv[optind + 1]);
		return -EINVAL;
	}
	a->target = argv[optind];
	return 0;
}

